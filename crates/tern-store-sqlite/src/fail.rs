//! The internal error type of database code, so that `?` works on rusqlite, serde_json and
//! [`StoreError`] alike. It is turned back into a [`StoreError`] at the crate's edge.

use tern_store::StoreError;

/// A failed database step. Wraps the [`StoreError`] the caller will see.
#[derive(Debug)]
pub(crate) struct Fail(pub StoreError);

pub(crate) type DbResult<T> = Result<T, Fail>;

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail(e)
    }
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail(StoreError::Backend(format!("sqlite: {e}")))
    }
}

impl From<rusqlite::types::FromSqlError> for Fail {
    fn from(e: rusqlite::types::FromSqlError) -> Self {
        Fail::from(rusqlite::Error::from(e))
    }
}

impl From<serde_json::Error> for Fail {
    fn from(e: serde_json::Error) -> Self {
        Fail(StoreError::Backend(format!("stored metadata: {e}")))
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail(StoreError::from(e))
    }
}

/// Converts a rusqlite error into the public error type (for code outside jobs).
pub(crate) fn sql(e: rusqlite::Error) -> StoreError {
    Fail::from(e).0
}
