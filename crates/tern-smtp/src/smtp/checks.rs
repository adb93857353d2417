//! The DATA checks: what runs between "the message is durable in the blob store" and
//! delivery. Each check reads the staged message ([`MessageView`]), may refuse it (its
//! [`Reply`] is the answer to DATA/BDAT), may add or remove header fields (one shared
//! [`HeaderEdits`]) and may change the [`Verdict`] (deliver to Junk, Sieve spamtest). After
//! the last check the edits are applied in ONE re-stage ([`crate::prepend`]).
//!
//! Order: message authentication first (MX only: SPF, DKIM, DMARC, ARC, whose
//! `Authentication-Results:` the filters may read), then the gateway filters.
//!
//! Invariant: the checks see the client's octets exactly ([`MessageView::content`]), never
//! a field another check added; nothing is delivered or queued before every check passed.

use super::SmtpServer;
use crate::body::Finished;
use crate::prepend::{HeaderEdits, MessageView};
use crate::reply::Reply;
use crate::verdict::Verdict;
use std::net::IpAddr;

/// What the checks know about the transaction (owned: no reference to the session state
/// lives across their awaits).
pub(super) struct CheckInput {
    pub id: String,
    /// The client's address (absent only in tests without a socket).
    pub peer: Option<IpAddr>,
    /// The EHLO/HELO name ("unknown" when none was given).
    pub helo: String,
    /// The reverse-path; empty for `<>`.
    pub mail_from: String,
    /// The client authenticated (submission): inbound checks do not apply.
    pub authenticated: bool,
    /// The forward-paths as the client gave them (for the gateway filters).
    pub recipients: Vec<String>,
    /// The authenticated account's name.
    pub user: Option<String>,
}

/// A message that passed every check.
pub(super) struct Checked {
    pub finished: Finished,
    pub verdict: Verdict,
}

impl SmtpServer {
    /// Runs every DATA check and applies their header edits.
    pub(super) async fn data_checks(
        &self,
        input: &CheckInput,
        finished: Finished,
    ) -> Result<Checked, Reply> {
        let mut verdict = Verdict::default();
        if !self.has_data_checks(input) {
            return Ok(Checked { finished, verdict });
        }
        let view = MessageView::open(&self.mail, &finished).await?;
        let mut edits = HeaderEdits::new();
        self.msgauth_check(input, &view, &mut edits, &mut verdict)
            .await?;
        // The gateway filters (rspamd, clamd, milters): `filters`, `crate::gateway`.
        self.filter_check(input, &view, &mut edits, &mut verdict)
            .await?;
        let finished = view.apply(&self.mail, finished, &edits).await?;
        Ok(Checked { finished, verdict })
    }

    /// Whether any check applies to this message (none: no need to map the blob).
    /// Each check adds its condition here.
    fn has_data_checks(&self, input: &CheckInput) -> bool {
        self.msgauth_applies(input) || self.filters_apply()
    }
}
