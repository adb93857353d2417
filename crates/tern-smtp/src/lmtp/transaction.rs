//! The mail transaction: MAIL FROM, RCPT TO, DATA and BDAT (RFC 2033 §4.2, RFC 3030).
//!
//! Sequence rules (RFC 5321 §4.1.4): MAIL needs LHLO and no open transaction; RCPT needs
//! MAIL; DATA and BDAT need at least one accepted RCPT (RFC 2033 §4.2: otherwise `503`);
//! DATA may not follow BDAT within a transaction, nor carry BODY=BINARYMIME (RFC 3030 §3).
//! BDAT octets are always read off the wire, even when the command is refused.

use super::{LmtpServer, State};
use crate::body::MessageBody;
use crate::data::{Discard, receive_bdat, receive_data};
use crate::envelope::{BodyType, Envelope, check_rcpt};
use crate::queue::QueuedRecipient;
use crate::reply::Reply;
use crate::resolve;
use crate::session::{Session, SessionEnd};
use crate::trace::{TraceInfo, trace_fields};
use smtp_proto::{MailFrom, RcptTo};
use std::collections::HashMap;
use tern_directory::Account;
use tokio::io::{AsyncRead, AsyncWrite};

/// Trace fields to prepend and the time they name.
type Trace = (Vec<u8>, tern_store::Timestamp);

/// An accepted RCPT: the address as the client gave it and where it delivers.
#[derive(Debug)]
pub(crate) struct AcceptedRcpt {
    pub address: String,
    /// Indexes into [`Transaction::targets`].
    pub targets: Vec<usize>,
    /// The address was a group (its reply summarizes the members' results).
    pub group: bool,
    /// Migration mode: indexes into [`Transaction::relayed`] (accounts not cut over yet).
    pub relayed: Vec<usize>,
}

/// A transaction between MAIL FROM and the end of the message (or RSET).
pub(crate) struct Transaction {
    pub envelope: Envelope<AcceptedRcpt>,
    /// Accounts to deliver to, each once, in the order first named.
    pub targets: Vec<Account>,
    by_name: HashMap<String, usize>,
    /// The message body once the first BDAT chunk arrived.
    pub bdat: Option<MessageBody>,
    pub id: String,
    /// Migration mode: accounts still on the legacy server (or being moved), for the
    /// queue, each once.
    pub relayed: Vec<QueuedRecipient>,
}

impl Transaction {
    /// Adds a recipient, sharing delivery targets with earlier recipients.
    fn add(&mut self, address: String, resolved: resolve::Resolved) {
        let resolve::Resolved {
            accounts,
            group,
            relayed: elsewhere,
        } = resolved;
        let mut relayed = Vec::with_capacity(elsewhere.len());
        for account in elsewhere {
            let index = match self.relayed.iter().position(|r| r.address == account.name) {
                Some(i) => i,
                None => {
                    self.relayed.push(QueuedRecipient {
                        address: account.name,
                        notify: None,
                        orcpt: Some(address.clone()),
                        home: true,
                    });
                    self.relayed.len() - 1
                }
            };
            relayed.push(index);
        }
        let mut targets = Vec::with_capacity(accounts.len());
        for account in accounts {
            let next = self.targets.len();
            let index = *self.by_name.entry(account.name.clone()).or_insert(next);
            if index == next {
                self.targets.push(account);
            }
            if !targets.contains(&index) {
                targets.push(index);
            }
        }
        self.envelope.recipients.push(AcceptedRcpt {
            address,
            targets,
            group,
            relayed,
        });
    }
}

impl LmtpServer {
    pub(super) fn mail_from<S>(
        &self,
        session: &mut Session<S>,
        state: &mut State,
        from: MailFrom<String>,
    ) -> Result<(), SessionEnd>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        if state.helo.is_none() {
            return session.protocol_error(&Reply::bad_sequence("Send LHLO first"));
        }
        if state.tx.is_some() {
            return session.protocol_error(&Reply::bad_sequence("Nested MAIL command"));
        }
        match Envelope::from_mail(&from, self.config.max_message_size) {
            Ok(envelope) => {
                session.reply(&envelope.accepted_reply());
                state.tx = Some(Transaction {
                    envelope,
                    targets: Vec::new(),
                    by_name: HashMap::new(),
                    bdat: None,
                    id: self.transaction_id(),
                    relayed: Vec::new(),
                });
            }
            Err(reply) => session.reply(&reply),
        }
        Ok(())
    }

    pub(super) async fn rcpt_to<S>(
        &self,
        session: &mut Session<S>,
        state: &mut State,
        to: RcptTo<String>,
    ) -> Result<(), SessionEnd>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let Some(tx) = state.tx.as_mut() else {
            return session.protocol_error(&Reply::bad_sequence("Need MAIL before RCPT"));
        };
        if tx.bdat.is_some() {
            return session.protocol_error(&Reply::bad_sequence("RCPT after BDAT"));
        }
        if let Err(reply) = check_rcpt(&to) {
            session.reply(&reply);
            return Ok(());
        }
        // RFC 5321 §4.5.3.1.10: 452 for too many recipients; the client retries the rest.
        if tx.envelope.recipients.len() >= self.config.max_recipients {
            session.reply(&Reply::new(452, [4, 5, 3], "Too many recipients"));
            return Ok(());
        }
        let address = to.address;
        match resolve::resolve(
            &self.mail,
            &self.config.local_domains,
            &address,
            tx.envelope.declared_size,
        )
        .await
        {
            Ok(resolved) if !resolved.relayed.is_empty() && self.outbound.is_none() => {
                tracing::warn!(rcpt = %address,
                    "LMTP: recipient on the legacy server, but no queue to reach it");
                session.reply(&Reply::local_error(&format!(
                    "<{}>",
                    resolve::display(&address)
                )));
            }
            Ok(resolved) => {
                session.reply(&Reply::new(
                    250,
                    [2, 1, 5],
                    format!("<{}> recipient ok", resolve::display(&address)),
                ));
                tx.add(address, resolved);
            }
            Err(reply) => session.reply(&reply),
        }
        Ok(())
    }

    pub(super) async fn data<S>(
        &self,
        session: &mut Session<S>,
        state: &mut State,
    ) -> Result<(), SessionEnd>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
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
        let mut body = match self.open_body(self.trace(state)).await {
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
        self.finish(session, tx, body).await;
        Ok(())
    }

    pub(super) async fn bdat<S>(
        &self,
        session: &mut Session<S>,
        state: &mut State,
        chunk_size: usize,
        is_last: bool,
    ) -> Result<(), SessionEnd>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send,
    {
        let ready = state
            .tx
            .as_ref()
            .is_some_and(|tx| !tx.envelope.recipients.is_empty());
        if !ready {
            // Not counted as a protocol error: after a failed chunk a pipelining client
            // legitimately sends the chunks that follow.
            receive_bdat(session, chunk_size, &mut Discard).await?;
            session.reply(&Reply::bad_sequence("No valid transaction for BDAT"));
            return Ok(());
        }
        if state.tx.as_ref().is_some_and(|tx| tx.bdat.is_none()) {
            match self.open_body(self.trace(state)).await {
                Ok(body) => {
                    if let Some(tx) = state.tx.as_mut() {
                        tx.bdat = Some(body);
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
            self.finish(session, tx, body).await;
        } else if let Some(reply) = body.failure_reply() {
            // RFC 3030 §2: a failed chunk fails the transaction.
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

    /// Starts the message body: a stager with the trace fields already written.
    ///
    /// Takes no `&State`: a reference to the state must not live across an await, since the
    /// body it may hold is `Send` but not `Sync` (and the session future must be `Send`).
    async fn open_body(&self, trace: Result<Trace, Reply>) -> Result<MessageBody, Reply> {
        let (fields, received_at) = trace?;
        MessageBody::open(
            &self.mail,
            &fields,
            self.config.max_message_size,
            received_at,
            None,
        )
        .await
    }

    /// The trace fields for the transaction in progress, and the time they name.
    fn trace(&self, state: &State) -> Result<Trace, Reply> {
        let Some(tx) = state.tx.as_ref() else {
            return Err(Reply::bad_sequence("No transaction"));
        };
        let (date, received_at) = crate::trace::now();
        let single = match tx.envelope.recipients.as_slice() {
            [only] if !only.group => Some(only.address.as_str()),
            _ => None,
        };
        let fields = trace_fields(&TraceInfo {
            helo: state.helo.as_deref().unwrap_or("unknown"),
            peer: state.peer,
            hostname: &self.config.hostname,
            protocol: if tx.envelope.smtputf8 {
                "UTF8LMTP"
            } else {
                "LMTP"
            },
            id: &tx.id,
            from: &tx.envelope.from,
            single_recipient: single,
            date: &date,
        });
        Ok((fields, received_at))
    }
}
