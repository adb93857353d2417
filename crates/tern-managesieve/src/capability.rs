//! The capability list (RFC 5804 §1.7), sent in the greeting, after STARTTLS and for
//! CAPABILITY. It depends on the state: `STARTTLS` only before TLS (and when configured),
//! the server's SASL mechanisms with PLAIN and LOGIN only where plaintext passwords are
//! acceptable (`auth::offered`), `OWNER` after login.
use crate::session::{Session, State};

pub(crate) fn write(s: &mut Session) {
    let sasl = crate::auth::offered(s).join(" ");
    let config = &s.server.config;
    let starttls =
        !s.tls_active() && config.tls.is_some() && matches!(s.state, State::Unauthenticated);
    let max_redirects = config.max_redirects.to_string();
    let owner = match &s.state {
        State::Authenticated(login) => Some(login.account.name.clone()),
        State::Unauthenticated => None,
    };
    let out = &mut s.out;
    out.capability("IMPLEMENTATION", Some("Tern"));
    out.capability("SASL", Some(&sasl));
    out.capability("SIEVE", Some(&tern_sieve::EXTENSIONS.join(" ")));
    if starttls {
        out.capability("STARTTLS", None);
    }
    out.capability("MAXREDIRECTS", Some(&max_redirects));
    if let Some(owner) = owner {
        out.capability("OWNER", Some(&owner));
    }
    out.capability("VERSION", Some("1.0"));
}
