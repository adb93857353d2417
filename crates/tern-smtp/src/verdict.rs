//! What the gateway filters (rspamd, clamd, milters) concluded about a message, carried from
//! the DATA checks to delivery: Sieve's `spamtest`/`virustest` (RFC 5235) read it, and the
//! gateway's "deliver to Junk" action sets [`Verdict::junk`].
//!
//! Nothing here is read from the message's own header fields: a sender could forge those.
//! LMTP deliveries (no gateway in front of them) carry the default, "not tested".

/// The filters' conclusions about one message.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// RFC 5235 §3.2 spamtest value: `None` or `Some(0)` = not tested, `1` = surely not
    /// spam ... `10` = surely spam.
    pub spamtest: Option<u8>,
    /// RFC 5235 §3.3 spamtestplus percentage, 0..=100, when the filter gave a score.
    pub spam_percent: Option<u8>,
    /// RFC 5235 §3.4 virustest value: `None` or `Some(0)` = not tested, `1` = clean ...
    /// `5` = surely infected.
    pub virustest: Option<u8>,
    /// The gateway's action was "deliver to Junk": local recipients get it in their Junk
    /// mailbox instead of INBOX (a Sieve `fileinto` still wins).
    pub junk: bool,
}
