//! `tern check-config`: every config problem at once, as `FILE: KEY: REASON`, exit 1; or
//! `config OK`.
use super::Globals;
use std::process::ExitCode;

pub fn run(globals: &Globals) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings_only() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    println!("config OK ({})", settings.source.label());
    Ok(ExitCode::SUCCESS)
}
