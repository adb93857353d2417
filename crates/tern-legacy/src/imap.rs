//! Logging in on the legacy IMAP server as a user.
//!
//! Greeting (`* OK`; `* BYE` or `* PREAUTH` refuse), `STARTTLS` when asked, then
//! `AUTHENTICATE PLAIN` with the response on a continuation line (works whether or not the
//! server has SASL-IR, and carries any octets a password holds), then `CAPABILITY` when the
//! login reply did not carry the list. Returns the session and the capability list the
//! client should be told.
use crate::lines::Lines;
use crate::{Endpoint, LegacyError, Login, Session, TlsMode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// A logged-in legacy IMAP session and its capabilities (`IMAP4rev1 IDLE ...`).
pub struct ImapSession {
    pub session: Session,
    pub capabilities: String,
}

pub async fn login(endpoint: &Endpoint, login: &Login) -> Result<ImapSession, LegacyError> {
    let conn = endpoint.connect().await?;
    let mut lines = Lines::new(conn);
    greeting(&mut lines).await?;
    if endpoint.tls == TlsMode::StartTls {
        lines.send(b"T1 STARTTLS").await?;
        let (status, text) = tagged(&mut lines, "T1", &mut None).await?;
        if status != "OK" {
            return Err(LegacyError::Protocol(format!("STARTTLS: {status} {text}")));
        }
        let conn = endpoint.start_tls(lines.into_conn_for_tls()?).await?;
        lines = Lines::new(conn);
    }
    let capabilities = authenticate(&mut lines, login).await?;
    Ok(ImapSession {
        session: lines.into_session(),
        capabilities,
    })
}

/// The login exchange on any stream, without TLS (fuzzing): the capabilities and the
/// octets the server sent past the login's end.
#[doc(hidden)]
pub async fn login_on<S>(stream: S, login: &Login) -> Result<(String, Vec<u8>), LegacyError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut lines = Lines::new(stream);
    greeting(&mut lines).await?;
    let caps = authenticate(&mut lines, login).await?;
    Ok((caps, lines.into_parts().1))
}

async fn greeting<S>(lines: &mut Lines<S>) -> Result<(), LegacyError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let greeting = lines.line().await?;
    if !starts_with_ci(&greeting, "* OK") {
        return Err(LegacyError::Protocol(format!("greeting: {greeting}")));
    }
    Ok(())
}

/// `AUTHENTICATE PLAIN`, then CAPABILITY if the reply did not carry it.
async fn authenticate<S>(lines: &mut Lines<S>, login: &Login) -> Result<String, LegacyError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    lines.send(b"T2 AUTHENTICATE PLAIN").await?;
    let reply = lines.line().await?;
    if !reply.starts_with('+') {
        let text = reply.trim_start_matches("T2 ").to_string();
        return Err(LegacyError::Refused(text));
    }
    lines
        .send(BASE64.encode(login.plain_message()).as_bytes())
        .await?;
    let mut caps = None;
    let (status, text) = tagged(lines, "T2", &mut caps).await?;
    match status.as_str() {
        "OK" => {}
        "NO" | "BAD" => return Err(LegacyError::Refused(format!("{status} {text}"))),
        _ => return Err(LegacyError::Protocol(format!("{status} {text}"))),
    }
    if let Some(c) = code_capability(&text) {
        caps = Some(c);
    }
    if caps.is_none() {
        lines.send(b"T3 CAPABILITY").await?;
        let (status, text) = tagged(lines, "T3", &mut caps).await?;
        if status != "OK" {
            return Err(LegacyError::Protocol(format!(
                "CAPABILITY: {status} {text}"
            )));
        }
    }
    Ok(caps.unwrap_or_else(|| "IMAP4rev1".into()))
}

/// Reads up to the tagged reply for `tag`: (status, rest of the line); untagged
/// `* CAPABILITY` lines on the way are kept in `caps`.
async fn tagged<S>(
    lines: &mut Lines<S>,
    tag: &str,
    caps: &mut Option<String>,
) -> Result<(String, String), LegacyError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    loop {
        let line = lines.line().await?;
        if let Some(rest) = line.strip_prefix("* ") {
            if starts_with_ci(rest, "CAPABILITY ") {
                *caps = Some(rest["CAPABILITY ".len()..].trim().to_string());
            } else if starts_with_ci(rest, "BYE") {
                return Err(LegacyError::Protocol(line));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
            let (status, text) = rest.split_once(' ').unwrap_or((rest, ""));
            return Ok((status.to_ascii_uppercase(), text.to_string()));
        }
        // A continuation or something else: not expected here.
        return Err(LegacyError::Protocol(format!("unexpected: {line}")));
    }
}

/// The list in a `[CAPABILITY ...]` response code.
fn code_capability(text: &str) -> Option<String> {
    let rest = text.strip_prefix('[')?;
    let (code, _) = rest.split_once(']')?;
    if starts_with_ci(code, "CAPABILITY ") {
        Some(code["CAPABILITY ".len()..].trim().to_string())
    } else {
        None
    }
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capability_codes() {
        assert_eq!(
            code_capability("[CAPABILITY IMAP4rev1 IDLE] Logged in").as_deref(),
            Some("IMAP4rev1 IDLE")
        );
        assert_eq!(code_capability("[ALERT] hi"), None);
        assert_eq!(code_capability("Logged in"), None);
    }
}
