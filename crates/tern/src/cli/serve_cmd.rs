//! `tern serve`: runs the server in the foreground until SIGTERM or SIGINT.
use super::Globals;
use std::process::ExitCode;

pub fn run(globals: &Globals) -> anyhow::Result<ExitCode> {
    let settings = match globals.settings() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    // Before any thread exists: it sets KRB5_CONFIG/KRB5_KTNAME for this process.
    crate::sasl_setup::prepare_environment(&settings)?;
    super::runtime()?.block_on(crate::serve::serve(settings))?;
    Ok(ExitCode::SUCCESS)
}
