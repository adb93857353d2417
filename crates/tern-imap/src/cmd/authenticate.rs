//! AUTHENTICATE (RFC 9051 §6.2.2) with SASL-IR (RFC 4959): the PLAIN (RFC 4616) and LOGIN
//! (draft-murchison-sasl-login) mechanisms as a sans-I/O exchange. The connection loop
//! sends each challenge as `+ <base64>`, reads the client's line, and feeds it back here;
//! the final credentials go to [`super::login::complete`].

use super::CmdError;

/// Where a SASL exchange stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Send `+ <base64 of this>` and read a response.
    Challenge(Vec<u8>),
    /// The client gave its credentials.
    Done {
        authzid: Option<String>,
        authcid: String,
        password: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mechanism {
    Plain,
    Login,
}

/// One AUTHENTICATE exchange.
#[derive(Debug)]
pub struct Exchange {
    mechanism: Mechanism,
    username: Option<String>,
}

impl Exchange {
    /// Starts an exchange; `NO [CANNOT]`-style refusal for mechanisms we do not offer.
    pub fn new(mechanism: &str) -> Result<Exchange, CmdError> {
        let mechanism = match mechanism.to_ascii_uppercase().as_str() {
            "PLAIN" => Mechanism::Plain,
            "LOGIN" => Mechanism::Login,
            _ => {
                return Err(CmdError::no_code(
                    "CANNOT",
                    "Unsupported authentication mechanism",
                ));
            }
        };
        Ok(Exchange {
            mechanism,
            username: None,
        })
    }

    /// Advances with the client's (decoded) response; `None` = no initial response yet.
    pub fn step(&mut self, response: Option<&[u8]>) -> Result<Step, CmdError> {
        match (self.mechanism, response) {
            // RFC 4616: the server's first challenge is empty.
            (Mechanism::Plain, None) => Ok(Step::Challenge(Vec::new())),
            (Mechanism::Plain, Some(r)) => parse_plain(r),
            (Mechanism::Login, None) => Ok(Step::Challenge(b"Username:".to_vec())),
            (Mechanism::Login, Some(r)) => {
                let text = String::from_utf8(r.to_vec())
                    .map_err(|_| CmdError::bad("Credentials are not UTF-8"))?;
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
fn parse_plain(r: &[u8]) -> Result<Step, CmdError> {
    let mut parts = r.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CmdError::bad("Malformed PLAIN response"));
    };
    let text = |b: &[u8]| {
        String::from_utf8(b.to_vec()).map_err(|_| CmdError::bad("Credentials are not UTF-8"))
    };
    if authcid.is_empty() {
        return Err(CmdError::bad("Malformed PLAIN response"));
    }
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
        let mut ex = Exchange::new("plain").unwrap();
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
        assert!(ex.step(Some(b"fred\0secret")).is_err());
        assert!(ex.step(Some(b"")).is_err());
        assert!(ex.step(Some(b"\0\0pw")).is_err());
    }

    #[test]
    fn login_mechanism_asks_twice() {
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
        assert!(Exchange::new("GSSAPI").is_err());
    }
}
