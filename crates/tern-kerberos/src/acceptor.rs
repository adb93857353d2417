//! The GSS-API acceptor for SASL GSSAPI: contexts accepted with any key in the keytab.
use crate::verify::name_text;
use crate::{Kerberos, KerberosConfig};
use async_trait::async_trait;
use libgssapi::context::{SecurityContext, ServerCtx};
use std::sync::{Arc, Mutex};
use tern_sasl::{GssAcceptor, GssContext};

/// A [`GssAcceptor`] backed by the process keytab (`KRB5_KTNAME`, from [`crate::prepare_environment`]).
#[derive(Clone, Debug)]
pub struct Acceptor {
    kerberos: Kerberos,
}

impl Acceptor {
    pub fn new(kerberos: Kerberos) -> Acceptor {
        Acceptor { kerberos }
    }

    /// As a [`tern_sasl::Authenticator::with_gssapi`] argument.
    pub fn shared(kerberos: Kerberos) -> Arc<dyn GssAcceptor> {
        Arc::new(Acceptor::new(kerberos))
    }

    fn config(&self) -> &KerberosConfig {
        self.kerberos.config()
    }
}

impl GssAcceptor for Acceptor {
    fn context(&self) -> Result<Box<dyn GssContext>, String> {
        Ok(Box::new(Context {
            kerberos: self.kerberos.clone(),
            // GSS_C_NO_CREDENTIAL: any service principal with a key in the keytab.
            ctx: Arc::new(Mutex::new(Some(ServerCtx::new(None)))),
        }))
    }

    fn login_for(&self, principal: &str) -> Option<String> {
        self.config().login_for(principal)
    }
}

/// One exchange's context. It moves to a blocking thread for each call; a call that timed
/// out leaves it taken, and the exchange fails.
struct Context {
    kerberos: Kerberos,
    ctx: Arc<Mutex<Option<ServerCtx>>>,
}

impl Context {
    async fn with_ctx<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut ServerCtx) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let slot = self.ctx.clone();
        self.kerberos
            .blocking(move || {
                let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
                let ctx = guard.as_mut().ok_or("context lost after a timeout")?;
                f(ctx)
            })
            .await
            .map_err(|e| e.to_string())?
    }
}

#[async_trait]
impl GssContext for Context {
    async fn accept(&mut self, token: Vec<u8>) -> Result<(Vec<u8>, bool), String> {
        self.with_ctx(move |ctx| {
            let out = ctx
                .step(&token, None)
                .map_err(|e| format!("accept_sec_context: {e}"))?;
            let reply = out.map(|b| b.to_vec()).unwrap_or_default();
            Ok((reply, ctx.is_complete()))
        })
        .await
    }

    async fn wrap(&mut self, message: Vec<u8>) -> Result<Vec<u8>, String> {
        self.with_ctx(move |ctx| {
            ctx.wrap(false, &message)
                .map(|b| b.to_vec())
                .map_err(|e| format!("wrap: {e}"))
        })
        .await
    }

    async fn unwrap(&mut self, message: Vec<u8>) -> Result<Vec<u8>, String> {
        self.with_ctx(move |ctx| {
            ctx.unwrap(&message)
                .map(|b| b.to_vec())
                .map_err(|e| format!("unwrap: {e}"))
        })
        .await
    }

    fn client_principal(&self) -> Result<String, String> {
        let guard = self.ctx.lock().unwrap_or_else(|p| p.into_inner());
        let ctx = guard.as_ref().ok_or("context lost after a timeout")?;
        ctx.source_name()
            .and_then(|n| name_text(&n))
            .map_err(|e| format!("source name: {e}"))
    }
}
