//! Where an account's mail lives during a migration: on Tern, still on the legacy server,
//! or being moved between the two (issue 6's non-disruptive cutover).
//!
//! Outside migration mode there is no [`Homes`] and every account is [`Home::Local`]. In
//! migration mode (`[migration]` in the config) the protocol servers ask before they serve
//! an account:
//! - IMAP and POP3 log a [`Home::Legacy`] user in on the legacy server and relay the
//!   session there; a [`Home::Moving`] user is told to try again shortly.
//! - SMTP and LMTP accept mail for a legacy user into the outbound queue, which hands it
//!   to the legacy server (and delivers it into Tern instead when the user was cut over in
//!   the meantime); a moving user's mail is deferred with a 4xx.
//!
//! ## Invariants
//! - A user is never served from two places at once: the cutover first marks the user
//!   [`Home::Moving`], waits until every running server has closed the user's relayed
//!   sessions ([`Homes::changes`] tells servers to look again), copies the final delta,
//!   and only then marks the user [`Home::Local`].
//! - When the answer is unknown (the state cannot be read), callers treat it as
//!   [`Home::Moving`]: a temporary failure, never a guess.
use async_trait::async_trait;
use tokio::sync::watch;

/// Where an account is served from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Home {
    /// Served by Tern.
    Local,
    /// Not cut over yet: served by the legacy server, through Tern.
    Legacy,
    /// Being cut over right now: neither, for a few seconds; clients are asked to retry.
    Moving,
}

impl Home {
    pub fn as_str(self) -> &'static str {
        match self {
            Home::Local => "local",
            Home::Legacy => "legacy",
            Home::Moving => "moving",
        }
    }

    pub fn parse(s: &str) -> Option<Home> {
        match s {
            "local" => Some(Home::Local),
            "legacy" => Some(Home::Legacy),
            "moving" => Some(Home::Moving),
            _ => None,
        }
    }
}

/// The migration state, as the protocol servers see it.
#[async_trait]
pub trait Homes: Send + Sync + 'static {
    /// Where `account` (the directory's canonical account name) is served from.
    async fn home(&self, account: &str) -> Result<Home, String>;

    /// Bumped whenever some account's home changes; a relayed session watches it and
    /// closes when its user is no longer [`Home::Legacy`].
    fn changes(&self) -> watch::Receiver<u64>;

    /// Registers a relayed session of `account` with the legacy server; dropping the
    /// returned guard ends it. A server acknowledges a user's move only once the user has
    /// no relayed session left.
    fn relay(&self, account: &str) -> Box<dyn Send + Sync>;
}
