//! The SASL mechanisms ManageSieve AUTHENTICATE offers (RFC 5804 §2.1): PLAIN (RFC 4616) and LOGIN
//! (draft-murchison-sasl-login), as a sans-I/O exchange. The session sends each challenge as a
//! base64 string and feeds the client's decoded string back in. (A copy of tern-pop3's: the
//! shared `tern-sasl` crate was not usable yet when this was written; switch to it.)
//!
//! Both mechanisms carry a password in the clear, so the session offers them only where
//! plaintext authentication is allowed (TLS, or `allow_plaintext`).

/// The mechanisms offered, in the `SASL` capability order.
pub(crate) const MECHANISMS: [&str; 2] = ["PLAIN", "LOGIN"];

/// Where an exchange stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Send `+ <base64 of this>` and read a response.
    Challenge(Vec<u8>),
    /// The client gave its credentials.
    Done {
        authzid: Option<String>,
        authcid: String,
        password: String,
    },
}

/// Why an exchange failed before credentials could be checked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SaslError {
    #[error("Unsupported authentication mechanism")]
    UnknownMechanism,
    #[error("Malformed PLAIN response")]
    MalformedPlain,
    #[error("Credentials are not UTF-8")]
    NotUtf8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mechanism {
    Plain,
    Login,
}

/// One AUTH exchange.
#[derive(Debug)]
pub(crate) struct Exchange {
    mechanism: Mechanism,
    username: Option<String>,
}

impl Exchange {
    /// Starts an exchange for a mechanism name (already upper-case).
    pub(crate) fn new(mechanism: &str) -> Result<Exchange, SaslError> {
        let mechanism = match mechanism {
            "PLAIN" => Mechanism::Plain,
            "LOGIN" => Mechanism::Login,
            _ => return Err(SaslError::UnknownMechanism),
        };
        Ok(Exchange {
            mechanism,
            username: None,
        })
    }

    /// Advances with the client's decoded response; `None`: no initial response was sent.
    pub(crate) fn step(&mut self, response: Option<&[u8]>) -> Result<Step, SaslError> {
        match (self.mechanism, response) {
            // RFC 4616 §2: the server's first challenge is empty.
            (Mechanism::Plain, None) => Ok(Step::Challenge(Vec::new())),
            (Mechanism::Plain, Some(r)) => parse_plain(r),
            (Mechanism::Login, None) => Ok(Step::Challenge(b"Username:".to_vec())),
            (Mechanism::Login, Some(r)) => {
                let text = String::from_utf8(r.to_vec()).map_err(|_| SaslError::NotUtf8)?;
                match self.username.take() {
                    None => {
                        self.username = Some(text);
                        Ok(Step::Challenge(b"Password:".to_vec()))
                    }
                    Some(user) => Ok(Step::Done {
                        authzid: None,
                        authcid: user,
                        password: text,
                    }),
                }
            }
        }
    }
}

/// `message = [authzid] UTF8NUL authcid UTF8NUL passwd` (RFC 4616 §2).
fn parse_plain(r: &[u8]) -> Result<Step, SaslError> {
    let mut parts = r.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::MalformedPlain);
    };
    if authcid.is_empty() {
        return Err(SaslError::MalformedPlain);
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| SaslError::NotUtf8);
    Ok(Step::Done {
        authzid: (!authzid.is_empty()).then(|| text(authzid)).transpose()?,
        authcid: text(authcid)?,
        password: text(password)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_with_and_without_initial_response() {
        let mut ex = Exchange::new("PLAIN").unwrap();
        assert_eq!(ex.step(None).unwrap(), Step::Challenge(vec![]));
        assert_eq!(
            ex.step(Some(b"\0fred\0secret")).unwrap(),
            Step::Done {
                authzid: None,
                authcid: "fred".into(),
                password: "secret".into()
            }
        );
        let mut ex = Exchange::new("PLAIN").unwrap();
        assert_eq!(
            ex.step(Some(b"admin\0fred\0pw")).unwrap(),
            Step::Done {
                authzid: Some("admin".into()),
                authcid: "fred".into(),
                password: "pw".into()
            }
        );
        for bad in [&b"fred\0secret"[..], b"", b"\0\0pw", b"a\0b\0c\0d"] {
            assert_eq!(
                ex.step(Some(bad)),
                Err(SaslError::MalformedPlain),
                "{bad:?}"
            );
        }
        assert_eq!(ex.step(Some(b"\0fr\xffed\0pw")), Err(SaslError::NotUtf8));
    }

    #[test]
    fn login_asks_for_user_then_password() {
        let mut ex = Exchange::new("LOGIN").unwrap();
        assert_eq!(
            ex.step(None).unwrap(),
            Step::Challenge(b"Username:".to_vec())
        );
        assert_eq!(
            ex.step(Some(b"fred")).unwrap(),
            Step::Challenge(b"Password:".to_vec())
        );
        assert_eq!(
            ex.step(Some(b"pw")).unwrap(),
            Step::Done {
                authzid: None,
                authcid: "fred".into(),
                password: "pw".into()
            }
        );
    }

    #[test]
    fn unknown_mechanisms_are_refused() {
        for m in ["GSSAPI", "CRAM-MD5", "SCRAM-SHA-256", "plain"] {
            assert_eq!(
                Exchange::new(m).err(),
                Some(SaslError::UnknownMechanism),
                "{m}"
            );
        }
    }
}
