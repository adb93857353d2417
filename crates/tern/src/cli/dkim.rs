//! `tern dkim ...`: DKIM signing keys (`[dkim] key_dir`, default `data_dir/dkim`).
//!
//! ```text
//! tern dkim generate DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits 2048]
//! tern dkim list [--json]
//! tern dkim show DOMAIN [--selector S] [--json]
//! ```
//!
//! `generate` writes the private key (mode 0600, never overwriting one) and prints the DNS
//! record to publish; `show` prints it again. `tern serve` loads the keys when it starts.
use super::Globals;
use clap::{Subcommand, ValueEnum};
use serde_json::json;
use std::process::ExitCode;
use tern_msgauth::record::{dns_name, txt_value, zone_line};
use tern_msgauth::{Algorithm, KeyInfo, KeyStore, keys};

#[derive(Subcommand, Debug)]
pub enum DkimCommand {
    /// Generate a signing key for DOMAIN and print the DNS TXT record to publish.
    Generate {
        domain: String,
        /// The selector (the DNS label before `._domainkey`).
        #[arg(long, default_value = "tern")]
        selector: String,
        #[arg(long, value_enum, default_value_t = KeyAlgorithm::Rsa)]
        algorithm: KeyAlgorithm,
        /// RSA modulus size: 2048, 3072 or 4096.
        #[arg(long, default_value_t = 2048)]
        bits: usize,
    },
    /// List the keys.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Print the DNS record(s) of DOMAIN's keys again.
    Show {
        domain: String,
        /// Only this selector.
        #[arg(long)]
        selector: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum KeyAlgorithm {
    /// RSA-SHA256 (RFC 6376): what every verifier supports.
    Rsa,
    /// Ed25519-SHA256 (RFC 8463): short keys; publish it beside an RSA key.
    Ed25519,
}

pub fn run(globals: &Globals, cmd: DkimCommand) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let dir = settings.msgauth.key_dir.clone();
    match cmd {
        DkimCommand::Generate {
            domain,
            selector,
            algorithm,
            bits,
        } => {
            let algorithm = match algorithm {
                KeyAlgorithm::Rsa => Algorithm::RsaSha256,
                KeyAlgorithm::Ed25519 => Algorithm::Ed25519Sha256,
            };
            let key = keys::generate(&dir, &domain, &selector, algorithm, bits)?;
            eprintln!(
                "tern: {} key written to {} (restart tern serve to sign with it); publish:",
                key.algorithm.key_type(),
                key.path.display()
            );
            println!("{}", zone_line(&key));
        }
        DkimCommand::List { json } => {
            let store = KeyStore::load(&dir)?;
            if json {
                let keys: Vec<serde_json::Value> = store.keys().map(key_json).collect();
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else if store.is_empty() {
                println!("no DKIM keys in {}", dir.display());
            } else {
                for k in store.keys() {
                    println!(
                        "{}\t{}\t{}\t{} bits\t{}",
                        k.domain,
                        k.selector,
                        k.algorithm.name(),
                        k.bits,
                        k.path.display()
                    );
                }
            }
        }
        DkimCommand::Show {
            domain,
            selector,
            json,
        } => {
            let store = KeyStore::load(&dir)?;
            let shown: Vec<&KeyInfo> = store
                .domain(&domain)
                .filter(|k| {
                    selector
                        .as_deref()
                        .is_none_or(|s| k.selector.eq_ignore_ascii_case(s))
                })
                .collect();
            if shown.is_empty() {
                eprintln!("tern: no DKIM key for {domain} in {}", dir.display());
                return Ok(ExitCode::FAILURE);
            }
            if json {
                let keys: Vec<serde_json::Value> = shown.into_iter().map(key_json).collect();
                println!("{}", serde_json::to_string_pretty(&keys)?);
            } else {
                for k in shown {
                    println!("{}", zone_line(k));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn key_json(k: &KeyInfo) -> serde_json::Value {
    json!({
        "domain": k.domain,
        "selector": k.selector,
        "algorithm": k.algorithm.name(),
        "bits": k.bits,
        "path": k.path,
        "dns_name": dns_name(k),
        "txt": txt_value(k),
    })
}
