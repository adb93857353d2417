//! Every way a command can fail, and its `NO`/`BYE` line: mapped to the wire here only.
//!
//! Store and directory details go to the log, never to the client (`NO (TRYLATER)`).
use crate::command::ParseError;
use crate::response::Code;
use tern_directory::DirectoryError;
use tern_sasl::SaslError;
use tern_store::StoreError;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SieveError {
    #[error("authentication failed: {0}")]
    AuthFailed(String),
    #[error("authorization identity refused")]
    NotAuthorized,
    #[error("plaintext authentication disallowed on a non-secure connection")]
    PlaintextDisallowed,
    #[error("authentication cancelled by the client")]
    AuthCancelled,
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// An unknown or unoffered mechanism, or a malformed SASL message (the text is the
    /// mechanism's).
    #[error(transparent)]
    Sasl(SaslError),
    #[error("invalid base64 in a SASL response")]
    Base64,
    #[error("command not valid in this state")]
    WrongState,
    #[error("STARTTLS refused: {0}")]
    StartTls(&'static str),
    /// A malformed command line (framing).
    #[error("{0}")]
    Syntax(String),
    /// A command line over the limit (discarded up to its LF).
    #[error("line too long")]
    LineTooLong,
    /// A script (or literal) larger than `max_script_size`.
    #[error("script larger than {0} octets")]
    TooLarge(u64),
    /// PUTSCRIPT of a new name with `max_scripts` already stored.
    #[error("at most {0} scripts per account")]
    TooManyScripts(usize),
    /// The script does not compile (line, column, message).
    #[error("{0}")]
    Compile(tern_sieve::CompileError),
    #[error("script is not UTF-8")]
    NotUtf8,
    #[error("no such script")]
    NoSuchScript,
    #[error("script already exists")]
    ScriptExists,
    #[error("script is active")]
    ScriptActive,
    /// Input ended while a command was reading more (SASL): EOF, timeout or shutdown.
    #[error("input ended: {0:?}")]
    Ended(crate::session::End),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<SaslError> for SieveError {
    fn from(e: SaslError) -> SieveError {
        match e {
            SaslError::Failed { reason } => SieveError::AuthFailed(reason),
            SaslError::NotAuthorized { .. } => SieveError::NotAuthorized,
            SaslError::Unavailable(e) => SieveError::Directory(e),
            other => SieveError::Sasl(other),
        }
    }
}

impl From<StoreError> for SieveError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchScript => SieveError::NoSuchScript,
            StoreError::ScriptExists => SieveError::ScriptExists,
            StoreError::ScriptActive => SieveError::ScriptActive,
            e => SieveError::Store(e),
        }
    }
}

/// What the session does about an error besides writing its `NO` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Severity {
    /// Counted, delayed, and after too many the connection closes.
    AuthFailure,
    /// Counted; after too many the connection closes.
    BadCommand,
    /// Reply and carry on.
    Reply,
}

impl SieveError {
    pub(crate) fn severity(&self) -> Severity {
        match self {
            SieveError::AuthFailed(_) | SieveError::NotAuthorized => Severity::AuthFailure,
            SieveError::Parse(_) | SieveError::Syntax(_) | SieveError::LineTooLong => {
                Severity::BadCommand
            }
            _ => Severity::Reply,
        }
    }

    /// A server-side failure worth a warning in the log.
    pub(crate) fn is_internal(&self) -> bool {
        matches!(self, SieveError::Store(_) | SieveError::Directory(_))
    }

    /// The response code and text of the `NO` line.
    pub(crate) fn wire(&self) -> (Option<Code>, String) {
        use SieveError as E;
        match self {
            E::AuthFailed(_) | E::NotAuthorized => (None, "Authentication failed".into()),
            E::PlaintextDisallowed => (
                Some(Code::EncryptNeeded),
                "Plaintext authentication requires TLS: use STARTTLS first".into(),
            ),
            E::AuthCancelled => (None, "Authentication cancelled".into()),
            E::Directory(_) | E::Store(_) => (
                Some(Code::TryLater),
                "Temporary server failure, try again later".into(),
            ),
            E::Parse(e) => (None, e.to_string()),
            E::Sasl(e) => (None, e.to_string()),
            E::Base64 => (None, "Invalid base64 in the SASL response".into()),
            E::WrongState => (None, "Command not valid in this state".into()),
            E::StartTls(why) => (None, (*why).into()),
            E::Syntax(why) => (None, format!("Syntax error: {why}")),
            E::LineTooLong => (None, "Line too long".into()),
            E::TooLarge(max) => (
                Some(Code::QuotaMaxSize),
                format!("Script exceeds the maximum size of {max} octets"),
            ),
            E::TooManyScripts(max) => (
                Some(Code::QuotaMaxScripts),
                format!("At most {max} scripts per account"),
            ),
            E::Compile(e) => (None, e.to_string()),
            E::NotUtf8 => (None, "Script is not valid UTF-8".into()),
            E::NoSuchScript => (Some(Code::NonExistent), "No such script".into()),
            E::ScriptExists => (
                Some(Code::AlreadyExists),
                "A script of that name already exists".into(),
            ),
            E::ScriptActive => (Some(Code::Active), "Cannot delete the active script".into()),
            E::Ended(_) | E::Io(_) => (None, "Connection ended".into()),
        }
    }
}
