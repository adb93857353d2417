//! Message analysis at delivery (mail-parser → MessageMeta).
use tern_store::MessageMeta;

/// Parses a message once. Never fails: unparsable input yields a best-effort meta
/// (a single text/plain part spanning the message).
pub fn analyze(message: &[u8]) -> MessageMeta {
    let _ = message;
    todo!("helper C")
}
