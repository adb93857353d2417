//! GSSAPI (RFC 4752), server side, with no security layer.
//!
//! The Kerberos work (accepting the context with the keytab, wrap/unwrap) sits behind
//! [`GssAcceptor`] / [`GssContext`], implemented by `tern-kerberos` on MIT krb5; this file is
//! the mechanism's state machine and owns the RFC 4752 rules:
//!
//! 1. The client's tokens go to `gss_accept_sec_context` until the context is established;
//!    each output token is a challenge. A token produced by the call that establishes the
//!    context is sent too, and the client answers it with an empty response (§3.1).
//! 2. The server sends a wrapped 4-octet message: the security layers it offers (only
//!    `0x01`, none) and its maximum message size (0: no layer, nothing to size).
//! 3. The client answers with a wrapped message: the layer it chose (must be `0x01`), its
//!    maximum size, and the authorization identity (UTF-8, possibly empty).
//! 4. The client principal is mapped to a login ([`GssAcceptor::login_for`]) and looked up
//!    in the directory; a non-empty authzid must name that same account.
use crate::plain::utf8;
use crate::{Authenticator, SaslError};
use async_trait::async_trait;
use tern_directory::Account;

/// The "no security layer" bit (RFC 4752 §3.3).
pub const LAYER_NONE: u8 = 0x01;

/// Creates GSS-API security contexts for the service's own principal (a keytab).
pub trait GssAcceptor: Send + Sync + 'static {
    /// A fresh acceptor context for one exchange.
    fn context(&self) -> Result<Box<dyn GssContext>, String>;

    /// The login to look up for an authenticated client principal (`user@REALM`), or
    /// `None` to refuse it (e.g. a realm we do not serve).
    fn login_for(&self, principal: &str) -> Option<String>;
}

/// One acceptor security context. Implementations run the blocking GSS-API calls off the
/// async threads (with a timeout) and report failures as text for the log.
#[async_trait]
pub trait GssContext: Send {
    /// Feeds one client token: the reply token (possibly empty) and whether the context is
    /// now established.
    async fn accept(&mut self, token: Vec<u8>) -> Result<(Vec<u8>, bool), String>;
    /// Wraps a message with integrity protection (no confidentiality).
    async fn wrap(&mut self, message: Vec<u8>) -> Result<Vec<u8>, String>;
    /// Unwraps (verifies) a client message.
    async fn unwrap(&mut self, message: Vec<u8>) -> Result<Vec<u8>, String>;
    /// The authenticated client principal (`user@REALM`), once established.
    fn client_principal(&self) -> Result<String, String>;
}

enum Phase {
    /// Exchanging context tokens.
    Context,
    /// The last context token was sent; expecting an empty response.
    TokenSent,
    /// The wrapped layer offer was sent; expecting the client's wrapped choice.
    LayerOffered,
    Over,
}

/// The state of one GSSAPI exchange.
pub(crate) struct GssServer {
    ctx: Box<dyn GssContext>,
    phase: Phase,
}

/// What a step produced.
pub(crate) enum GssStep {
    Challenge(Vec<u8>),
    Done(Account),
}

impl GssServer {
    pub(crate) fn new(acceptor: &dyn GssAcceptor) -> Result<GssServer, SaslError> {
        let ctx = acceptor
            .context()
            .map_err(|e| SaslError::failed(format!("GSSAPI: no acceptor context: {e}")))?;
        Ok(GssServer {
            ctx,
            phase: Phase::Context,
        })
    }

    pub(crate) async fn step(
        &mut self,
        sasl: &Authenticator,
        response: Option<&[u8]>,
    ) -> Result<GssStep, SaslError> {
        let fail = |e: String| SaslError::failed(format!("GSSAPI: {e}"));
        match self.phase {
            Phase::Context => {
                // No initial response: ask for the first token with an empty challenge.
                let Some(token) = response else {
                    return Ok(GssStep::Challenge(Vec::new()));
                };
                if token.is_empty() {
                    return Err(SaslError::Malformed("Expected a GSS-API token"));
                }
                let (reply, established) = self.ctx.accept(token.to_vec()).await.map_err(fail)?;
                if !established {
                    return Ok(GssStep::Challenge(reply));
                }
                if !reply.is_empty() {
                    self.phase = Phase::TokenSent;
                    return Ok(GssStep::Challenge(reply));
                }
                self.offer_layers().await
            }
            Phase::TokenSent => {
                if response.is_some_and(|r| !r.is_empty()) {
                    return Err(SaslError::Malformed("Expected an empty response"));
                }
                self.offer_layers().await
            }
            Phase::LayerOffered => {
                let wrapped = response.unwrap_or_default().to_vec();
                let message = self.ctx.unwrap(wrapped).await.map_err(fail)?;
                self.phase = Phase::Over;
                let (layer, authzid) = parse_layer_choice(&message)?;
                if layer != LAYER_NONE {
                    return Err(SaslError::failed(format!(
                        "GSSAPI: client chose security layer {layer:#04x}, only none is offered"
                    )));
                }
                let principal = self.ctx.client_principal().map_err(fail)?;
                let acceptor = sasl
                    .gssapi()
                    .ok_or_else(|| SaslError::failed("GSSAPI: no acceptor"))?;
                let Some(login) = acceptor.login_for(&principal) else {
                    return Err(SaslError::failed(format!(
                        "GSSAPI: principal {principal} is not from a served realm"
                    )));
                };
                let account = match sasl.directory().lookup(&login).await? {
                    Some(a) if a.enabled => a,
                    Some(_) => return Err(SaslError::failed("account disabled")),
                    None => {
                        return Err(SaslError::failed(format!(
                            "GSSAPI: no account for principal {principal}"
                        )));
                    }
                };
                tracing::debug!(%principal, account = %account.name, "GSSAPI principal mapped");
                // The principal itself is an acceptable spelling of "myself".
                let authzid = authzid.filter(|a| !a.eq_ignore_ascii_case(&principal));
                Ok(GssStep::Done(
                    sasl.authorize(account, authzid.as_deref()).await?,
                ))
            }
            Phase::Over => Err(SaslError::Malformed("The exchange is over")),
        }
    }

    /// Step 2: the wrapped offer "no security layer, max size 0".
    async fn offer_layers(&mut self) -> Result<GssStep, SaslError> {
        let offer = vec![LAYER_NONE, 0, 0, 0];
        let wrapped = self
            .ctx
            .wrap(offer)
            .await
            .map_err(|e| SaslError::failed(format!("GSSAPI: wrap: {e}")))?;
        self.phase = Phase::LayerOffered;
        Ok(GssStep::Challenge(wrapped))
    }
}

/// The client's unwrapped answer: `layer(1) max-size(3) authzid(*)`.
pub(crate) fn parse_layer_choice(message: &[u8]) -> Result<(u8, Option<String>), SaslError> {
    if message.len() < 4 {
        return Err(SaslError::Malformed(
            "Malformed GSSAPI security layer message",
        ));
    }
    let authzid = &message[4..];
    let authzid = (!authzid.is_empty()).then(|| utf8(authzid)).transpose()?;
    Ok((message[0], authzid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_choice() {
        assert_eq!(parse_layer_choice(&[1, 0, 0, 0]).unwrap(), (1, None));
        assert_eq!(
            parse_layer_choice(b"\x01\x00\xff\xffcarol").unwrap(),
            (1, Some("carol".into()))
        );
        assert!(parse_layer_choice(&[1, 0, 0]).is_err());
        assert!(parse_layer_choice(b"\x01\0\0\0\xff").is_err());
    }
}
