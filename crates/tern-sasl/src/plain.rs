//! PLAIN (RFC 4616 §2) message parsing. LOGIN needs no parser: each response is one field.
use crate::{MALFORMED_PLAIN, NOT_UTF8, SaslError};

/// The three fields of a PLAIN message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PlainMessage {
    /// `None` when empty: act as the authentication identity itself.
    pub authzid: Option<String>,
    pub authcid: String,
    pub password: String,
}

/// `message = [authzid] UTF8NUL authcid UTF8NUL passwd`: exactly two NULs, a non-empty
/// authcid, every field UTF-8.
pub(crate) fn parse(r: &[u8]) -> Result<PlainMessage, SaslError> {
    let mut parts = r.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed(MALFORMED_PLAIN));
    };
    if authcid.is_empty() {
        return Err(SaslError::Malformed(MALFORMED_PLAIN));
    }
    Ok(PlainMessage {
        authzid: (!authzid.is_empty()).then(|| utf8(authzid)).transpose()?,
        authcid: utf8(authcid)?,
        password: utf8(password)?,
    })
}

pub(crate) fn utf8(b: &[u8]) -> Result<String, SaslError> {
    String::from_utf8(b.to_vec()).map_err(|_| SaslError::Malformed(NOT_UTF8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields() {
        assert_eq!(
            parse(b"\0fred\0secret").unwrap(),
            PlainMessage {
                authzid: None,
                authcid: "fred".into(),
                password: "secret".into()
            }
        );
        assert_eq!(
            parse(b"admin\0fred\0pw").unwrap().authzid.as_deref(),
            Some("admin")
        );
        // An empty password is a well-formed message (the directory refuses it).
        assert_eq!(parse(b"\0fred\0").unwrap().password, "");
        for bad in [&b"fred\0secret"[..], b"", b"\0\0pw", b"a\0b\0c\0d"] {
            assert!(
                matches!(parse(bad), Err(SaslError::Malformed(MALFORMED_PLAIN))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse(b"\0fr\xffed\0pw"),
            Err(SaslError::Malformed(NOT_UTF8))
        ));
    }
}
