//! Every way a POP3 command can fail, and its `-ERR` line: mapped to the wire here only.
//!
//! Response codes (in brackets) follow RFC 2449 §8 (`[IN-USE]`) and RFC 3206 (`[AUTH]`,
//! `[SYS/TEMP]`, `[SYS/PERM]`). Store and directory details go to the log, never to the
//! client.
use crate::command::ParseError;
use tern_directory::DirectoryError;
use tern_sasl::SaslError;
use tern_store::StoreError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum Pop3Error {
    /// Credentials refused. The reason is for the log only.
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    /// SASL authorization identity names another account.
    #[error("authorization identity refused")]
    NotAuthorized,
    /// Plaintext credentials before TLS without `allow_plaintext`.
    #[error("plaintext authentication disallowed on a non-secure connection")]
    PlaintextDisallowed,
    /// The client answered a SASL challenge with `*` (RFC 5034 §4).
    #[error("authentication cancelled by the client")]
    AuthCancelled,
    /// Another POP3 session holds the maildrop.
    #[error("maildrop locked by another POP3 session")]
    InUse,
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// QUIT could not commit the deletions (RFC 1939 §6); the session closes.
    #[error("deletions not committed: {0}")]
    NotRemoved(StoreError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// An unknown mechanism or a malformed SASL message (the text is the mechanism's).
    #[error(transparent)]
    Sasl(SaslError),
    #[error("invalid base64 in a SASL response")]
    Base64,
    #[error("no such message")]
    NoSuchMessage,
    #[error("message {0} is already deleted")]
    Deleted(u32),
    #[error("command not valid in this state")]
    WrongState,
    /// PASS without USER.
    #[error("PASS without USER")]
    NoUser,
    /// STLS refused (already TLS, not configured).
    #[error("STLS refused: {0}")]
    Stls(&'static str),
    /// A command line over the limit (discarded up to its LF).
    #[error("line too long")]
    LineTooLong,
    /// Input ended while a command was reading more (SASL): EOF, timeout or shutdown.
    #[error("input ended: {0:?}")]
    Ended(crate::session::End),
    /// Migration mode: the legacy server could not be reached or refused Tern's login
    /// (the reason is for the log).
    #[error("legacy server: {0}")]
    Unavailable(String),
    /// Migration mode: the user is being cut over right now.
    #[error("mailbox being moved")]
    Moving,
    /// The connection failed: the session ends without another word.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<SaslError> for Pop3Error {
    fn from(e: SaslError) -> Pop3Error {
        match e {
            SaslError::Failed { reason } => Pop3Error::AuthFailed(reason),
            SaslError::NotAuthorized { .. } => Pop3Error::NotAuthorized,
            SaslError::Unavailable(e) => Pop3Error::Directory(e),
            other => Pop3Error::Sasl(other),
        }
    }
}

/// What the session does about an error besides writing its `-ERR` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// Counted, delayed, and after too many the connection closes.
    AuthFailure,
    /// Counted; after too many the connection closes.
    BadCommand,
    /// Reply and carry on.
    Reply,
    /// Reply, then close.
    Close,
}

impl Pop3Error {
    pub(crate) fn severity(&self) -> Severity {
        match self {
            Pop3Error::AuthFailed(_) | Pop3Error::NotAuthorized => Severity::AuthFailure,
            Pop3Error::Parse(_) | Pop3Error::WrongState | Pop3Error::LineTooLong => {
                Severity::BadCommand
            }
            Pop3Error::NotRemoved(_) => Severity::Close,
            _ => Severity::Reply,
        }
    }

    /// The response code and text of the `-ERR` line.
    pub(crate) fn wire(&self) -> (Option<&'static str>, String) {
        let (code, text) = match self {
            Pop3Error::AuthFailed(_) => (Some("AUTH"), "Authentication failed"),
            Pop3Error::NotAuthorized => (Some("AUTH"), "Not authorized to act as that user"),
            Pop3Error::PlaintextDisallowed => (
                Some("AUTH"),
                "Plaintext authentication disallowed on non-secure (SSL/TLS) connections",
            ),
            Pop3Error::AuthCancelled => (None, "Authentication cancelled"),
            Pop3Error::InUse => (Some("IN-USE"), "Mailbox is locked by another POP3 session"),
            Pop3Error::Directory(_) => (
                Some("SYS/TEMP"),
                "Authentication service temporarily unavailable",
            ),
            Pop3Error::Store(StoreError::BlobMissing(_)) => (
                Some("SYS/PERM"),
                "Message content is missing from the store",
            ),
            Pop3Error::Store(_) => (
                Some("SYS/TEMP"),
                "Mailbox temporarily unavailable, try again later",
            ),
            Pop3Error::NotRemoved(_) => (Some("SYS/TEMP"), "Some deleted messages not removed"),
            Pop3Error::Parse(e) => return (None, e.to_string()),
            Pop3Error::Sasl(e) => return (None, e.to_string()),
            Pop3Error::Base64 => (None, "Invalid base64 data"),
            Pop3Error::NoSuchMessage => (None, "No such message"),
            Pop3Error::Deleted(n) => return (None, format!("Message {n} is already deleted")),
            Pop3Error::WrongState => (None, "Command not valid in this state"),
            Pop3Error::NoUser => (None, "No user name given; send USER first"),
            Pop3Error::Stls(why) => (None, *why),
            Pop3Error::LineTooLong => (None, "line too long"),
            Pop3Error::Unavailable(_) => (
                Some("SYS/TEMP"),
                "Your mailbox is temporarily unavailable; try again later",
            ),
            Pop3Error::Moving => (
                Some("SYS/TEMP"),
                "Your mailbox is being moved; try again in a minute",
            ),
            Pop3Error::Ended(_) | Pop3Error::Io(_) => (None, "Connection ended"),
        };
        (code, text.to_string())
    }

    /// Whether the error is the server's fault (logged as a warning).
    pub(crate) fn is_internal(&self) -> bool {
        matches!(
            self,
            Pop3Error::Directory(_)
                | Pop3Error::Store(_)
                | Pop3Error::NotRemoved(_)
                | Pop3Error::Unavailable(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_codes() {
        let table: Vec<(Pop3Error, Option<&str>, &str)> = vec![
            (
                Pop3Error::AuthFailed("wrong password".into()),
                Some("AUTH"),
                "Authentication failed",
            ),
            (
                Pop3Error::InUse,
                Some("IN-USE"),
                "Mailbox is locked by another POP3 session",
            ),
            (
                Pop3Error::Store(StoreError::Backend("disk on fire".into())),
                Some("SYS/TEMP"),
                "Mailbox temporarily unavailable, try again later",
            ),
            (
                Pop3Error::Store(StoreError::BlobMissing("x".into())),
                Some("SYS/PERM"),
                "Message content is missing from the store",
            ),
            (
                Pop3Error::Parse(ParseError::Unknown),
                None,
                "Unknown command",
            ),
            (Pop3Error::LineTooLong, None, "line too long"),
            (Pop3Error::Deleted(3), None, "Message 3 is already deleted"),
        ];
        for (err, code, text) in table {
            let (c, t) = err.wire();
            assert_eq!((c, t.as_str()), (code, text), "{err:?}");
            assert!(
                !t.contains("fire"),
                "internal details never reach the client"
            );
        }
    }
}
