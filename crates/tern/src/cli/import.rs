//! `tern import mbox PATH --user ADDRESS [--folder NAME] [--format mboxrd|mboxo]` and
//! `tern import maildir PATH --user ADDRESS`: mail from files (tern-migrate), streamed.
//! Exit status 1 when any message could not be imported.
use super::Globals;
use crate::backends::Backends;
use anyhow::bail;
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;
use tern_migrate::mbox::MboxFormat;

#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// One mbox file into one folder.
    Mbox {
        path: PathBuf,
        #[arg(long, value_name = "ADDRESS")]
        user: String,
        /// Target folder (created if missing; default INBOX).
        #[arg(long, value_name = "NAME", default_value = "INBOX")]
        folder: String,
        /// mboxrd (unquote >+From) or mboxo (unquote one >From).
        #[arg(long, default_value = "mboxrd")]
        format: String,
        #[arg(long)]
        json: bool,
    },
    /// A Maildir++ tree (.Sub.Folder directories become folders).
    Maildir {
        path: PathBuf,
        #[arg(long, value_name = "ADDRESS")]
        user: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(globals: &Globals, cmd: ImportCommand) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    super::runtime()?.block_on(async move {
        let backends = Backends::open(&settings).await?;
        let mail = &backends.mail;
        let (report, json) = match cmd {
            ImportCommand::Mbox {
                path,
                user,
                folder,
                format,
                json,
            } => {
                let format = match format.as_str() {
                    "mboxrd" => MboxFormat::Mboxrd,
                    "mboxo" => MboxFormat::Mboxo,
                    f => bail!("--format {f}: use mboxrd or mboxo"),
                };
                let r = tern_migrate::import::import_mbox(mail, &user, &path, &folder, format)
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                (r, json)
            }
            ImportCommand::Maildir { path, user, json } => {
                let r = tern_migrate::maildir::import_maildir(mail, &user, &path)
                    .await
                    .map_err(|e| anyhow::anyhow!(e))?;
                (r, json)
            }
        };
        if json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.text());
        }
        Ok(if report.skipped == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
