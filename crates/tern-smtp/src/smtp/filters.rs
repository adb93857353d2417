//! The gateway filters as one of the DATA checks (`checks`): builds what the filters are
//! told about the transaction and hands the staged message to [`crate::gateway`].
//!
//! A milter's `discard` is answered `250` here (as an `Err` reply: nothing is delivered).

use super::SmtpServer;
use super::checks::CheckInput;
use crate::gateway::{MessageInfo, Passed};
use crate::prepend::{HeaderEdits, MessageView};
use crate::reply::Reply;
use crate::verdict::Verdict;
use std::net::SocketAddr;

impl SmtpServer {
    /// Whether a gateway filter runs for messages of this listener.
    pub(super) fn filters_apply(&self) -> bool {
        self.config.gateway.applies(self.config.mode)
    }

    /// Runs the gateway filters on the staged message.
    pub(super) async fn filter_check(
        &self,
        input: &CheckInput,
        view: &MessageView,
        edits: &mut HeaderEdits,
        verdict: &mut Verdict,
    ) -> Result<(), Reply> {
        if !self.filters_apply() {
            return Ok(());
        }
        let info = MessageInfo {
            peer: input.peer.map(|ip| SocketAddr::new(ip, 0)),
            helo: input.helo.clone(),
            from: input.mail_from.clone(),
            recipients: input.recipients.clone(),
            hostname: self.config.hostname.clone(),
            user: input.user.clone(),
            queue_id: input.id.clone(),
        };
        let gateway = &self.config.gateway;
        match gateway
            .check(self.config.mode, &info, view, edits, verdict)
            .await?
        {
            Passed::Deliver => Ok(()),
            Passed::Discard => Err(Reply::new(
                250,
                [2, 0, 0],
                format!("Message accepted, id {}", input.id),
            )),
        }
    }
}
