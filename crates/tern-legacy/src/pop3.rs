//! Logging in on the legacy POP3 server as a user.
//!
//! Greeting (`+OK`), `STLS` when asked (RFC 2595), then `AUTH PLAIN` with an initial
//! response (RFC 5034); a server without SASL gets `USER`/`PASS` instead, for a user's own
//! login (an administrator's login needs SASL's authorization identity).
use crate::lines::Lines;
use crate::{Endpoint, LegacyError, Login, Session, TlsMode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncRead, AsyncWrite};

pub async fn login(endpoint: &Endpoint, login: &Login) -> Result<Session, LegacyError> {
    let conn = endpoint.connect().await?;
    let mut lines = Lines::new(conn);
    greeting(&mut lines).await?;
    if endpoint.tls == TlsMode::StartTls {
        lines.send(b"STLS").await?;
        let reply = lines.line().await?;
        if !reply.starts_with("+OK") {
            return Err(LegacyError::Protocol(format!("STLS: {reply}")));
        }
        let conn = endpoint.start_tls(lines.into_conn_for_tls()?).await?;
        lines = Lines::new(conn);
    }
    authenticate(&mut lines, login).await?;
    Ok(lines.into_session())
}

/// The login exchange on any stream, without TLS (fuzzing): the octets the server sent
/// past the login's end.
#[doc(hidden)]
pub async fn login_on<S>(stream: S, login: &Login) -> Result<Vec<u8>, LegacyError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut lines = Lines::new(stream);
    greeting(&mut lines).await?;
    authenticate(&mut lines, login).await?;
    Ok(lines.into_parts().1)
}

async fn greeting<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut Lines<S>,
) -> Result<(), LegacyError> {
    let greeting = lines.line().await?;
    if !greeting.starts_with("+OK") {
        return Err(LegacyError::Protocol(format!("greeting: {greeting}")));
    }
    Ok(())
}

async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut Lines<S>,
    login: &Login,
) -> Result<(), LegacyError> {
    let auth = format!("AUTH PLAIN {}", BASE64.encode(login.plain_message()));
    lines.send(auth.as_bytes()).await?;
    let reply = lines.line().await?;
    if reply.starts_with("+OK") {
        return Ok(());
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
        Ok(())
    } else {
        Err(LegacyError::Refused(reply))
    }
}
