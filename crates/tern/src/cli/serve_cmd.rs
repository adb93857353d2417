//! `tern serve`: runs the server in the foreground until SIGTERM or SIGINT.
use super::Globals;
use std::process::ExitCode;

pub fn run(globals: &Globals) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    // `settings()` has set KRB5_CONFIG/KRB5_KTNAME/KRB5_CLIENT_KTNAME before any thread.
    super::runtime()?.block_on(crate::serve::serve(settings))?;
    Ok(ExitCode::SUCCESS)
}
