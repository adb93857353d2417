//! `tern sieve ...`: an account's Sieve scripts, for operators and help-desk staff.
//!
//! ```text
//! tern sieve list ADDRESS [--json]
//! tern sieve get ADDRESS NAME
//! tern sieve put ADDRESS NAME FILE|-        (compiled first: errors as line/column, exit 1)
//! tern sieve activate ADDRESS NAME | --none
//! tern sieve delete ADDRESS NAME
//! tern sieve vacation ADDRESS --subject S --message-file F [--until YYYY-MM-DD] [--days N]
//! tern sieve vacation ADDRESS --off
//! ```
//!
//! `vacation` writes a script named [`VACATION_SCRIPT`] and activates it. When the user had
//! another active script, the generated one ends with `include :personal` of it, so the
//! user's own filters keep working, and `--off` activates that script again.
//!
//! Safe while `tern serve` runs on the same data folder (the store is shared through SQLite).
use super::Globals;
use crate::backends::Backends;
use crate::config::Settings;
use anyhow::{Context, bail};
use clap::Subcommand;
use serde::Serialize;
use std::io::Read;
use std::process::ExitCode;
use tern_store::AccountId;

/// The script `tern sieve vacation` manages.
pub const VACATION_SCRIPT: &str = "tern-vacation";
/// The comment line that remembers the script the vacation script includes.
const PREVIOUS_MARK: &str = "# tern-previous: ";

#[derive(Subcommand, Debug)]
pub enum SieveCommand {
    /// List an account's scripts (the active one marked).
    List {
        address: String,
        #[arg(long)]
        json: bool,
    },
    /// Print a script's source.
    Get { address: String, name: String },
    /// Store a script from FILE (or standard input with `-`), after compiling it.
    Put {
        address: String,
        name: String,
        file: String,
    },
    /// Make a script the active one (`--none`: no script is active).
    Activate {
        address: String,
        #[arg(required_unless_present = "none")]
        name: Option<String>,
        #[arg(long, conflicts_with = "name")]
        none: bool,
    },
    /// Delete a script (not the active one).
    Delete { address: String, name: String },
    /// Set up (or, with --off, end) an out-of-office reply for an account.
    Vacation {
        address: String,
        #[arg(long, required_unless_present = "off")]
        subject: Option<String>,
        /// The reply's text, UTF-8.
        #[arg(long, value_name = "FILE", required_unless_present = "off")]
        message_file: Option<String>,
        /// Last day of the absence (YYYY-MM-DD); no replies after it.
        #[arg(long, value_name = "DATE")]
        until: Option<String>,
        /// Days before the same sender gets another reply (default 7).
        #[arg(long, default_value_t = 7)]
        days: u32,
        /// Turn the vacation reply off (and re-activate the script it included).
        #[arg(long, conflicts_with_all = ["subject", "message_file", "until"])]
        off: bool,
    },
}

#[derive(Serialize)]
struct ScriptJson<'a> {
    name: &'a str,
    active: bool,
    size: u64,
}

pub fn run(globals: &Globals, cmd: SieveCommand) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    super::runtime()?.block_on(run_async(&settings, cmd))
}

async fn run_async(settings: &Settings, cmd: SieveCommand) -> anyhow::Result<ExitCode> {
    let backends = Backends::open(settings).await?;
    let mail = &backends.mail;
    let open = |address: String| async move {
        let account = mail
            .directory
            .lookup(address.trim())
            .await
            .with_context(|| format!("cannot look up {address}"))?
            .ok_or_else(|| anyhow::anyhow!("{address}: no such account"))?;
        let id = mail.open_account(&account).await?;
        anyhow::Ok(id)
    };
    let store = &mail.store;
    match cmd {
        SieveCommand::List { address, json } => {
            let id = open(address).await?;
            let scripts = store.sieve_scripts(id).await?;
            if json {
                let rows: Vec<ScriptJson> = scripts
                    .iter()
                    .map(|s| ScriptJson {
                        name: &s.name,
                        active: s.active,
                        size: s.size,
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for s in &scripts {
                    let mark = if s.active { "\tactive" } else { "" };
                    println!("{}\t{} octets{mark}", s.name, s.size);
                }
            }
        }
        SieveCommand::Get { address, name } => {
            let id = open(address).await?;
            let script = store
                .sieve_script(id, &name)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no script named {name:?}"))?;
            print!("{}", script.content);
        }
        SieveCommand::Put {
            address,
            name,
            file,
        } => {
            let source = read_source(&file)?;
            if let Err(e) = compile(settings, &source) {
                eprintln!("tern: {file}: {e}");
                return Ok(ExitCode::FAILURE);
            }
            let id = open(address).await?;
            check_name_and_count(settings, store.as_ref(), id, &name).await?;
            store.put_sieve_script(id, &name, &source).await?;
            println!("stored {name} ({} octets)", source.len());
        }
        SieveCommand::Activate {
            address,
            name,
            none,
        } => {
            let id = open(address).await?;
            let name = if none { None } else { name };
            store
                .set_active_sieve_script(id, name.as_deref())
                .await
                .map_err(|e| anyhow::anyhow!("cannot activate: {e}"))?;
            match name {
                Some(n) => println!("activated {n}"),
                None => println!("no script is active"),
            }
        }
        SieveCommand::Delete { address, name } => {
            let id = open(address).await?;
            store
                .delete_sieve_script(id, &name)
                .await
                .map_err(|e| anyhow::anyhow!("cannot delete {name:?}: {e}"))?;
            println!("deleted {name}");
        }
        SieveCommand::Vacation {
            address,
            subject,
            message_file,
            until,
            days,
            off,
        } => {
            let id = open(address).await?;
            if off {
                return vacation_off(store.as_ref(), id).await;
            }
            let (Some(subject), Some(file)) = (subject, message_file) else {
                bail!("--subject and --message-file are required");
            };
            let message = read_source(&file)?;
            if let Some(d) = &until {
                check_date(d)?;
            }
            let previous = match store.active_sieve_script(id).await? {
                Some(s) if s.name == VACATION_SCRIPT => previous_of(&s.content),
                Some(s) => Some(s.name),
                None => None,
            };
            let source = vacation_script(
                &subject,
                &message,
                until.as_deref(),
                days,
                previous.as_deref(),
            );
            if let Err(e) = compile(settings, &source) {
                bail!("the generated vacation script does not compile: {e}");
            }
            store.put_sieve_script(id, VACATION_SCRIPT, &source).await?;
            store
                .set_active_sieve_script(id, Some(VACATION_SCRIPT))
                .await?;
            match previous {
                Some(p) => println!("vacation reply on ({VACATION_SCRIPT} active, includes {p})"),
                None => println!("vacation reply on ({VACATION_SCRIPT} active)"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn compile(settings: &Settings, source: &str) -> Result<(), tern_sieve::CompileError> {
    let options = tern_sieve::CompileOptions {
        max_script_size: settings.sieve_max_script_size as usize,
        ..tern_sieve::CompileOptions::default()
    };
    tern_sieve::compile_with(source, &options).map(|_| ())
}

/// The same name and count rules ManageSieve applies.
async fn check_name_and_count(
    settings: &Settings,
    store: &dyn tern_store::MailStore,
    id: AccountId,
    name: &str,
) -> anyhow::Result<()> {
    if name.is_empty() || name.chars().any(char::is_control) || name.chars().count() > 128 {
        bail!("invalid script name {name:?}");
    }
    let scripts = store.sieve_scripts(id).await?;
    if !scripts.iter().any(|s| s.name == name) && scripts.len() >= settings.sieve_max_scripts {
        bail!(
            "the account already has {} scripts ([sieve] max_scripts)",
            scripts.len()
        );
    }
    Ok(())
}

async fn vacation_off(
    store: &dyn tern_store::MailStore,
    id: AccountId,
) -> anyhow::Result<ExitCode> {
    let Some(script) = store.sieve_script(id, VACATION_SCRIPT).await? else {
        println!("no vacation reply was set");
        return Ok(ExitCode::SUCCESS);
    };
    if script.active {
        let previous = previous_of(&script.content);
        let still_there = match &previous {
            Some(p) => store.sieve_script(id, p).await?.is_some(),
            None => false,
        };
        let next = previous.filter(|_| still_there);
        store.set_active_sieve_script(id, next.as_deref()).await?;
    }
    store.delete_sieve_script(id, VACATION_SCRIPT).await?;
    println!("vacation reply off");
    Ok(ExitCode::SUCCESS)
}

fn previous_of(content: &str) -> Option<String> {
    content
        .lines()
        .find_map(|l| l.strip_prefix(PREVIOUS_MARK))
        .map(|p| p.trim_end().to_string())
        .filter(|p| !p.is_empty() && p != VACATION_SCRIPT)
}

/// The generated script: vacation until the end of `until` (by `currentdate`), then the
/// user's previous script through `include :personal`.
fn vacation_script(
    subject: &str,
    message: &str,
    until: Option<&str>,
    days: u32,
    previous: Option<&str>,
) -> String {
    let mut require = vec!["vacation"];
    if until.is_some() {
        require.extend(["date", "relational"]);
    }
    if previous.is_some() {
        require.push("include");
    }
    let list = require
        .iter()
        .map(|r| quote(r))
        .collect::<Vec<_>>()
        .join(", ");
    let mut s = String::new();
    s.push_str(
        "# Generated by `tern sieve vacation`; `tern sieve vacation ADDRESS --off` ends it.\r\n",
    );
    if let Some(p) = previous {
        s.push_str(&format!("{PREVIOUS_MARK}{p}\r\n"));
    }
    s.push_str(&format!("require [{list}];\r\n"));
    let days = days.max(1);
    let action = format!(
        "vacation :days {days} :subject {} {};\r\n",
        quote(subject),
        quote(message)
    );
    match until {
        Some(date) => {
            s.push_str(&format!(
                "if currentdate :value \"le\" \"date\" {} {{\r\n    {action}}}\r\n",
                quote(date)
            ));
        }
        None => s.push_str(&action),
    }
    if let Some(p) = previous {
        s.push_str(&format!("include :personal {};\r\n", quote(p)));
    }
    s
}

/// A Sieve quoted string (RFC 5228 §2.4.2): `"` and `\` escaped; line ends as CRLF.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.replace("\r\n", "\n").chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn check_date(d: &str) -> anyhow::Result<()> {
    let ok = d.len() == 10
        && d.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !ok {
        bail!("--until {d:?}: expected a date as YYYY-MM-DD");
    }
    Ok(())
}

fn read_source(file: &str) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    if file == "-" {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
    } else {
        bytes = std::fs::read(file).with_context(|| format!("cannot read {file}"))?;
    }
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{file} is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_vacation_scripts_compile() {
        for (until, previous) in [
            (None, None),
            (Some("2026-12-24"), None),
            (Some("2026-12-24"), Some("filters")),
            (None, Some("my \"old\" one")),
        ] {
            let s = vacation_script("Away \"now\"", "Back soon.\nBye\\", until, 3, previous);
            if let Err(e) = tern_sieve::compile(&s) {
                panic!("{e}\n{s}");
            }
            assert_eq!(previous_of(&s).as_deref(), previous, "{s}");
        }
    }
}
