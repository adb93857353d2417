//! Command outcomes and the one place where failures map to the wire (RFC 9051 §7.1,
//! RFC 5530 response codes). User errors → NO, syntax → BAD, server faults → NO [SERVERBUG]
//! and a log line.

use tern_store::StoreError;

/// A tagged OK: optional response code (without brackets) and text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub code: Option<String>,
    pub text: String,
}

impl Done {
    pub fn ok(text: impl Into<String>) -> Done {
        Done {
            code: None,
            text: text.into(),
        }
    }
    pub fn with_code(code: impl Into<String>, text: impl Into<String>) -> Done {
        Done {
            code: Some(code.into()),
            text: text.into(),
        }
    }
}

/// A failed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CmdError {
    No {
        code: Option<String>,
        text: String,
    },
    Bad {
        code: Option<String>,
        text: String,
    },
    /// Close the connection after `* BYE text` (LOGOUT sends its tagged OK after the BYE).
    Bye(String),
}

impl CmdError {
    pub fn no(text: impl Into<String>) -> CmdError {
        CmdError::No {
            code: None,
            text: text.into(),
        }
    }
    pub fn no_code(code: impl Into<String>, text: impl Into<String>) -> CmdError {
        CmdError::No {
            code: Some(code.into()),
            text: text.into(),
        }
    }
    pub fn bad(text: impl Into<String>) -> CmdError {
        CmdError::Bad {
            code: None,
            text: text.into(),
        }
    }
}

impl From<StoreError> for CmdError {
    fn from(e: StoreError) -> CmdError {
        match e {
            StoreError::OverQuota => CmdError::no_code("OVERQUOTA", "Quota exceeded"),
            StoreError::NoSuchMailbox => CmdError::no_code("NONEXISTENT", "No such mailbox"),
            StoreError::MailboxExists => {
                CmdError::no_code("ALREADYEXISTS", "Mailbox already exists")
            }
            StoreError::Invalid(why) => CmdError::no_code("CANNOT", why),
            other => {
                tracing::error!(error = %other, "store failure");
                CmdError::no_code("SERVERBUG", "Internal error, try again later")
            }
        }
    }
}

pub type CmdResult = Result<Done, CmdError>;
