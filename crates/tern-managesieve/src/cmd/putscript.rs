//! PUTSCRIPT (RFC 5804 §2.6) and CHECKSCRIPT (§2.12): the script is compiled by the same
//! compiler delivery uses, so a stored script always compiled when it was stored. A syntax
//! error is answered `NO "line L, column C: message"`.
use crate::error::SieveError;
use crate::session::{CmdResult, Flow, Session};

/// Size, UTF-8 and compile checks shared by PUTSCRIPT and CHECKSCRIPT.
fn compile(s: &Session, content: Vec<u8>) -> Result<String, SieveError> {
    let max = s.server.config.max_script_size;
    if content.len() as u64 > max {
        return Err(SieveError::TooLarge(max));
    }
    let source = String::from_utf8(content).map_err(|_| SieveError::NotUtf8)?;
    let options = tern_sieve::CompileOptions {
        max_script_size: max as usize,
        ..tern_sieve::CompileOptions::default()
    };
    tern_sieve::compile_with(&source, &options).map_err(SieveError::Compile)?;
    Ok(source)
}

/// Refuses a new script name when the account already has `max_scripts`.
pub(crate) async fn check_count(s: &mut Session, name: &str) -> Result<(), SieveError> {
    let id = s.login()?.id;
    let max = s.server.config.max_scripts;
    let store = s.server.mail.store.clone();
    let scripts = store.sieve_scripts(id).await?;
    if !scripts.iter().any(|x| x.name == name) && scripts.len() >= max {
        return Err(SieveError::TooManyScripts(max));
    }
    Ok(())
}

pub(crate) async fn put(s: &mut Session, name: &str, content: Vec<u8>) -> CmdResult {
    let source = compile(s, content)?;
    check_count(s, name).await?;
    let id = s.login()?.id;
    s.server
        .mail
        .store
        .put_sieve_script(id, name, &source)
        .await?;
    tracing::info!(peer = %s.peer(), user = %s.login()?.account.name, script = %name,
        size = source.len(), "ManageSieve PUTSCRIPT");
    s.out.ok(None, "Script stored");
    Ok(Flow::Continue)
}

pub(crate) fn check(s: &mut Session, content: Vec<u8>) -> CmdResult {
    compile(s, content)?;
    s.out.ok(None, "Script is valid");
    Ok(Flow::Continue)
}
