//! APPEND with streamed literals: each message's octets go into a [`Stager`] (a blob being
//! written) as they arrive, so a 50 MB APPEND never sits in memory. The checks that can be
//! made before the octets come (mailbox, rights, APPENDLIMIT, quota) are made at the
//! literal's announcement, so a refused synchronizing literal is never sent by the client.
//!
//! ## Invariants
//! - Nothing is committed before the framer delivers the complete command and it parses;
//!   a dropped connection or a syntax error after the literal leaves only unreferenced
//!   blobs (collected later).
//! - A failure while receiving (the blob store failing) is remembered and reported when the
//!   command ends; the rest of the command is still consumed, so the stream stays in sync.

use super::ExpungePolicy;
use super::conn_loop::{Flow, Loop};
use crate::cmd::CmdError;
use crate::cmd::append::{Target, commit, ingest_error, internal_date};
use crate::proto::command::{Command, CommandBody};
use crate::proto::framing::{Frame, LiteralStart};
use crate::proto::parse::{parse_append_head, parse_command_with};
use std::io;
use tern_mail::{Staged, Stager};

/// An APPEND being received.
pub(super) struct AppendState {
    target: Target,
    /// Messages received so far, in order.
    staged: Vec<Staged>,
    /// The message being received.
    stager: Option<Stager>,
    /// The first failure while receiving.
    error: Option<CmdError>,
}

impl Loop {
    /// An APPEND literal was announced: decide before its octets come.
    pub(super) async fn append_literal(&mut self, l: LiteralStart) -> io::Result<Flow> {
        let head = match parse_append_head(self.framer.pending(), self.s.parse_opts()) {
            Ok(h) => h,
            Err(e) => {
                // Not a message literal (e.g. the mailbox name sent as a literal): buffer
                // it like any other when small; the whole command is parsed at its end.
                if self.append.is_none()
                    && l.len <= self.s.server.config.max_literal as u64
                    && self.framer.accept_literal().is_ok()
                {
                    if l.sync {
                        self.s.raw(b"+ Ready for literal data\r\n");
                        self.flush_out().await?;
                    }
                    return Ok(Flow::Continue);
                }
                let _ = self.framer.refuse_literal();
                self.append = None;
                return self
                    .bad(e.tag.as_deref().or(l.tag.as_deref()), &e.reason)
                    .await;
            }
        };
        if head.index == 0 || self.append.is_none() {
            match Target::open(&self.s, &head.mailbox).await {
                Ok(target) => {
                    self.append = Some(AppendState {
                        target,
                        staged: Vec::new(),
                        stager: None,
                        error: None,
                    })
                }
                Err(e) => return self.refuse_append(&head.tag, e).await,
            }
        }
        let st = self.append.as_mut().expect("set above");
        if let Some(e) = st.error.take() {
            return self.refuse_append(&head.tag, e).await;
        }
        if let Err(e) = st.target.admit(&self.s, head.len).await {
            return self.refuse_append(&head.tag, e).await;
        }
        let limit = self.s.server.config.max_message_size;
        match self.s.server.mail.stager(limit).await {
            Ok(stager) => st.stager = Some(stager),
            Err(e) => return self.refuse_append(&head.tag, ingest_error(e, limit)).await,
        }
        if self.framer.stream_literal().is_err() {
            return self
                .refuse_append(&head.tag, CmdError::bad("Literal not pending"))
                .await;
        }
        if l.sync {
            self.s.raw(b"+ Ready for literal data\r\n");
            self.flush_out().await?;
        }
        Ok(Flow::Continue)
    }

    async fn refuse_append(&mut self, tag: &str, e: CmdError) -> io::Result<Flow> {
        let _ = self.framer.refuse_literal();
        self.append = None;
        self.reply(Some(tag), Err(e)).await
    }

    /// Octets of the message being received.
    pub(super) async fn append_data(&mut self, chunk: &[u8]) {
        let Some(st) = self.append.as_mut() else {
            return;
        };
        let Some(stager) = st.stager.as_mut() else {
            return;
        };
        if let Err(e) = stager.write(chunk).await {
            let limit = self.s.server.config.max_message_size;
            st.error.get_or_insert(ingest_error(e, limit));
            st.stager = None;
        }
    }

    /// The message's literal is complete: make its blob durable and analyze it.
    pub(super) async fn append_end(&mut self) {
        let Some(st) = self.append.as_mut() else {
            return;
        };
        let Some(stager) = st.stager.take() else {
            return;
        };
        match stager.finish().await {
            Ok(staged) => st.staged.push(staged),
            Err(e) => {
                let limit = self.s.server.config.max_message_size;
                st.error.get_or_insert(ingest_error(e, limit));
            }
        }
    }

    /// The whole APPEND has arrived: parse it and commit every message at once.
    pub(super) async fn finish_append(&mut self, frame: Frame) -> io::Result<Flow> {
        let st = self.append.take().expect("caller checked");
        let cmd = match parse_command_with(&frame, self.s.parse_opts()) {
            Ok(c) => c,
            Err(e) => return self.bad(e.tag.as_deref(), &e.reason).await,
        };
        drop(frame);
        let Command {
            tag,
            body: CommandBody::Append { messages, .. },
        } = cmd
        else {
            return self.bad(None, "Expected APPEND").await;
        };
        if let Some(e) = st.error {
            return self.reply(Some(&tag), Err(e)).await;
        }
        if messages.len() != st.staged.len() || messages.iter().any(|m| !m.data.is_empty()) {
            return self
                .bad(Some(&tag), "APPEND messages must be sent as literals")
                .await;
        }
        let batch = st
            .staged
            .into_iter()
            .zip(messages)
            .map(|(staged, m)| (staged, st.target.flags(&m.flags), internal_date(m.date)))
            .collect();
        let result = commit(&mut self.s, &st.target, batch).await;
        self.own_adds = true;
        self.finish(&tag, result, ExpungePolicy::Announce).await
    }
}
