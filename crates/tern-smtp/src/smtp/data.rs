//! DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030): the message, streamed into one blob with
//! the trace fields in front (RFC 5321 §4.4) and, in submission, the header fix-up.
//!
//! Sequence rules as for LMTP: DATA and BDAT need at least one accepted RCPT (`503 5.5.1`);
//! DATA may not follow BDAT nor carry BODY=BINARYMIME (RFC 3030 §3). BDAT octets are always
//! read off the wire, even when the command is refused; a failed chunk fails the transaction
//! (RFC 3030 §2).

use super::transaction::{RcptKind, Transaction};
use super::{Mode, SmtpServer, State};
use crate::body::MessageBody;
use crate::data::{Discard, receive_bdat, receive_data};
use crate::envelope::BodyType;
use crate::headers::HeaderFixup;
use crate::reply::Reply;
use crate::session::{Session, SessionEnd};
use crate::trace::{TraceInfo, trace_fields};
use tern_net::Conn;

/// What opening a body needs, computed from the state before any await.
pub(super) struct BodyPlan {
    fields: Vec<u8>,
    received_at: tern_store::Timestamp,
    fixup: Option<HeaderFixup>,
    /// Octets of `fields` that are the `Return-Path:` field (not sent on by the queue).
    pub return_path_len: u64,
}

impl SmtpServer {
    pub(super) async fn data(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
    ) -> Result<(), SessionEnd> {
        let Some(tx) = state.tx.as_ref() else {
            return session.protocol_error(&Reply::bad_sequence("Need MAIL before DATA"));
        };
        if tx.envelope.recipients.is_empty() {
            return session.protocol_error(&Reply::bad_sequence("No valid recipients"));
        }
        if tx.bdat.is_some() {
            return session.protocol_error(&Reply::bad_sequence("DATA after BDAT"));
        }
        if tx.envelope.body == BodyType::BinaryMime {
            return session.protocol_error(&Reply::bad_sequence("BODY=BINARYMIME requires BDAT"));
        }
        let plan = self.body_plan(state, tx);
        let return_path_len = plan.return_path_len;
        let mut body = match self.open_body(plan).await {
            Ok(body) => body,
            Err(reply) => {
                state.tx = None;
                session.reply(&reply);
                return Ok(());
            }
        };
        session.reply(&Reply::plain(354, "End data with <CR><LF>.<CR><LF>"));
        receive_data(session, &mut body).await?;
        let Some(tx) = state.tx.take() else {
            unreachable!("checked above")
        };
        self.finish(session, state, tx, body, return_path_len).await;
        Ok(())
    }

    pub(super) async fn bdat(
        &self,
        session: &mut Session<Conn>,
        state: &mut State,
        chunk_size: usize,
        is_last: bool,
    ) -> Result<(), SessionEnd> {
        let ready = state
            .tx
            .as_ref()
            .is_some_and(|tx| !tx.envelope.recipients.is_empty());
        if !ready {
            // Not a protocol error: after a failed chunk a pipelining client legitimately
            // sends the chunks that follow.
            receive_bdat(session, chunk_size, &mut Discard).await?;
            session.reply(&Reply::bad_sequence("No valid transaction for BDAT"));
            return Ok(());
        }
        if let Some(tx) = state.tx.as_ref()
            && tx.bdat.is_none()
        {
            let plan = self.body_plan(state, tx);
            let return_path_len = plan.return_path_len;
            match self.open_body(plan).await {
                Ok(body) => {
                    if let Some(tx) = state.tx.as_mut() {
                        tx.bdat = Some(body);
                        tx.return_path_len = return_path_len;
                    }
                }
                Err(reply) => {
                    receive_bdat(session, chunk_size, &mut Discard).await?;
                    state.tx = None;
                    session.reply(&reply);
                    return Ok(());
                }
            }
        }
        let Some(body) = state.tx.as_mut().and_then(|tx| tx.bdat.as_mut()) else {
            unreachable!("opened above")
        };
        receive_bdat(session, chunk_size, body).await?;
        if is_last {
            let Some(mut tx) = state.tx.take() else {
                unreachable!("checked above")
            };
            let Some(body) = tx.bdat.take() else {
                unreachable!("opened above")
            };
            let return_path_len = tx.return_path_len;
            self.finish(session, state, tx, body, return_path_len).await;
        } else if let Some(reply) = body.failure_reply() {
            state.tx = None;
            session.reply(&reply);
        } else {
            session.reply(&Reply::new(
                250,
                [2, 0, 0],
                format!("{chunk_size} octets received"),
            ));
        }
        Ok(())
    }

    /// Starts the message body. Takes no `&State`: a reference to the state must not live
    /// across an await (the body it may hold is `Send` but not `Sync`).
    async fn open_body(&self, plan: BodyPlan) -> Result<MessageBody, Reply> {
        MessageBody::open(
            &self.mail,
            &plan.fields,
            self.config.max_message_size,
            plan.received_at,
            plan.fixup,
        )
        .await
    }

    /// The trace fields (RFC 5321 §4.4, RFC 3848 protocol keywords) and, in submission, the
    /// header fix-up for the transaction in progress.
    fn body_plan(&self, state: &State, tx: &Transaction) -> BodyPlan {
        let (date, received_at) = crate::trace::now();
        let single = match tx.envelope.recipients.as_slice() {
            [only] if !matches!(only.kind, RcptKind::Local { group: true, .. }) => {
                Some(only.address.as_str())
            }
            _ => None,
        };
        let extended = state.helo.as_ref().is_some_and(|h| h.extended);
        let protocol = match (
            tx.envelope.smtputf8,
            extended,
            state.tls,
            state.auth.is_some(),
        ) {
            (false, false, _, _) => "SMTP",
            (false, true, false, false) => "ESMTP",
            (false, true, true, false) => "ESMTPS",
            (false, true, false, true) => "ESMTPA",
            (false, true, true, true) => "ESMTPSA",
            (true, _, false, false) => "UTF8SMTP",
            (true, _, true, false) => "UTF8SMTPS",
            (true, _, false, true) => "UTF8SMTPA",
            (true, _, true, true) => "UTF8SMTPSA",
        };
        let fields = trace_fields(&TraceInfo {
            helo: state.helo.as_ref().map_or("unknown", |h| h.name.as_str()),
            peer: state.peer,
            hostname: &self.config.hostname,
            protocol,
            id: &tx.id,
            from: &tx.envelope.from,
            single_recipient: single,
            date: &date,
        });
        let return_path_len = memchr::memmem::find(&fields, b"\r\n").map_or(0, |p| p as u64 + 2);
        let fixup = (self.config.mode == Mode::Submission).then(|| {
            let message_id = format!(
                "<{}.{:016x}@{}>",
                tx.id,
                rand::random::<u64>(),
                self.config.hostname
            );
            HeaderFixup::new(date.clone(), message_id)
        });
        BodyPlan {
            fields,
            received_at,
            fixup,
            return_path_len,
        }
    }
}
