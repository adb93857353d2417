//! Logging in on the legacy POP3 server as a user.
//!
//! Greeting (`+OK`), `STLS` when asked (RFC 2595), then `AUTH PLAIN` with an initial
//! response (RFC 5034); a server without SASL gets `USER`/`PASS` instead, for a user's own
//! login (an administrator's login needs SASL's authorization identity).
use crate::lines::Lines;
use crate::{Endpoint, LegacyError, Login, Session, TlsMode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

pub async fn login(endpoint: &Endpoint, login: &Login) -> Result<Session, LegacyError> {
    let conn = endpoint.connect().await?;
    let mut lines = Lines::new(conn);
    let greeting = lines.line().await?;
    if !greeting.starts_with("+OK") {
        return Err(LegacyError::Protocol(format!("greeting: {greeting}")));
    }
    if endpoint.tls == TlsMode::StartTls {
        lines.send(b"STLS").await?;
        let reply = lines.line().await?;
        if !reply.starts_with("+OK") {
            return Err(LegacyError::Protocol(format!("STLS: {reply}")));
        }
        let conn = endpoint.start_tls(lines.into_conn_for_tls()?).await?;
        lines = Lines::new(conn);
    }
    let auth = format!("AUTH PLAIN {}", BASE64.encode(login.plain_message()));
    lines.send(auth.as_bytes()).await?;
    let reply = lines.line().await?;
    if reply.starts_with("+OK") {
        return Ok(lines.into_session());
    }
    // `-ERR` to AUTH itself (no SASL, or no PLAIN): the user's own login may use USER/PASS.
    let Login::User {
        login: user,
        password,
    } = login
    else {
        return Err(LegacyError::Refused(reply));
    };
    if user.contains(['\r', '\n', ' ']) || password.contains(['\r', '\n']) {
        return Err(LegacyError::Refused(reply));
    }
    lines.send(format!("USER {user}").as_bytes()).await?;
    let reply = lines.line().await?;
    if !reply.starts_with("+OK") {
        return Err(LegacyError::Refused(reply));
    }
    lines.send(format!("PASS {password}").as_bytes()).await?;
    let reply = lines.line().await?;
    if reply.starts_with("+OK") {
        Ok(lines.into_session())
    } else {
        Err(LegacyError::Refused(reply))
    }
}
