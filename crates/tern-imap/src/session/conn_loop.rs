//! The connection loop: greeting, framing, literals, dispatch, sync, timeouts, shutdown.
//!
//! One task per connection runs [`run`]. The loop reads into a small fixed buffer, feeds
//! the [`Framer`], and acts on its events: whole commands are parsed and dispatched (or
//! answered `BAD`), announced literals are accepted (`+ Ready for literal data`), refused,
//! or — for APPEND — streamed into the blob store (`append_stream`). Commands that need the
//! connection itself (STARTTLS, AUTHENTICATE, IDLE, COMPRESS) live in `flows`.
//!
//! ## Invariants
//! - Output is written between commands (or at a continuation request): a command fills
//!   `Session::out` (and `Session::pending`), then the loop syncs the selected mailbox,
//!   appends the tagged line and flushes. The one exception: the loop lends the connection
//!   to each dispatched command, and a command writing a large response (FETCH) flushes
//!   through it as it goes (`session::output`), so no response is held whole in memory.
//! - Expunges are held back after FETCH, STORE, SEARCH, SORT and THREAD by sequence number
//!   (RFC 9051 §7.5.1) and announced after any other command.
//! - Between commands, and during IDLE, the selected mailbox's changes are pushed only as
//!   [`Loop::push_options`] allows: in IDLE without NOTIFY (RFC 2177), otherwise only with a
//!   NOTIFY SELECTED/SELECTED-DELAYED filter (RFC 5465 §3.1, §4). The sync after every
//!   command is unconditional (RFC 9051 §7: the client's view must follow the mailbox).
//! - Memory per idle connection stays small: a 4 KiB read buffer, an empty framer, an
//!   output buffer shrunk after large responses, and the selected mailbox's view. The
//!   connection's future is kept small too: commands, NOTIFY output, APPEND, AUTHENTICATE
//!   and the other rare paths run in boxed futures of their own, allocated while they run,
//!   so a session waiting for input or in IDLE does not carry the state of the largest
//!   command (10.5 KiB before, measured with `size_of_val`).
//! - Before authentication the connection has `preauth_timeout` in total; afterwards it is
//!   logged out after `idle_timeout` without input (IDLE included), RFC 9051 §5.4.
//! - I/O errors end the session without a word; nothing half-received is ever stored.

use super::append_stream::AppendState;
use super::io::dead_conn;
use super::{ExpungePolicy, Session, State, SyncOptions};
use crate::cmd::{self, CmdError, CmdResult};
use crate::proto::command::{By, Command, CommandBody};
use crate::proto::framing::{Event, Framer, FramerConfig, LiteralStart};
use crate::proto::parse::parse_command_with;
use crate::server::ImapServer;
use std::io;
use std::sync::Arc;
use tern_net::{Conn, Shutdown};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// Read buffer size: one TLS record's worth is plenty.
const READ_BUF: usize = 4096;
/// Output capacity kept between commands.
const KEEP_OUT: usize = 4096;
/// Frames larger than this make the loop start a fresh framer afterwards (drops capacity).
const BIG_FRAME: usize = 64 * 1024;
/// Largest literal accepted before authentication (a password literal, not a mailbox).
const PREAUTH_LITERAL: usize = 8192;
/// Consecutive BAD responses after which the client is disconnected.
const MAX_BAD: u32 = 100;

/// What the loop does after an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    Close,
}

/// Why waiting for input ended without input.
pub(super) enum Wake {
    /// Bytes were pushed into the framer.
    Input,
    /// The peer closed, the deadline passed or shutdown was asked: the BYE (if any) is
    /// written; close.
    Closed,
}

pub(super) struct Loop {
    pub(super) s: Session,
    pub(super) conn: Conn,
    pub(super) framer: Framer,
    pub(super) rbuf: Box<[u8]>,
    pub(super) shutdown: Shutdown,
    started: Instant,
    pub(super) last_input: Instant,
    pub(super) append: Option<AppendState>,
    bad_in_a_row: u32,
    /// The store's change channel closed (the store is going away): stop polling it.
    pub(super) events_closed: bool,
    /// The running command added messages itself (APPEND, COPY, MOVE): the sync after it
    /// sends no NOTIFY MessageNew FETCH for them (RFC 5465 §5.2 SHOULD NOT).
    pub(super) own_adds: bool,
}

/// Serves one connection until LOGOUT, error, timeout or shutdown.
pub async fn run(server: Arc<ImapServer>, conn: Conn, shutdown: Shutdown) {
    let s = Session::new(server, conn.info.clone());
    let framer = Framer::new(framer_config(&s));
    let now = Instant::now();
    let mut lp = Loop {
        s,
        conn,
        framer,
        rbuf: vec![0u8; READ_BUF].into_boxed_slice(),
        shutdown,
        started: now,
        last_input: now,
        append: None,
        bad_in_a_row: 0,
        events_closed: false,
        own_adds: false,
    };
    match lp.serve().await {
        Ok(()) => {}
        Err(e) => tracing::debug!(peer = %lp.s.conn.peer, error = %e, "IMAP connection ended"),
    }
    let _ = lp.conn.shutdown().await;
}

/// Limits for the framer: the largest literal anyone may send is an APPEND message;
/// other commands' literals are checked by the loop against `max_literal`.
pub(super) fn framer_config(s: &Session) -> FramerConfig {
    let c = &s.server.config;
    FramerConfig {
        max_line: c.max_line,
        max_literal: c.max_message_size.max(c.max_literal as u64),
        max_buffered: c.max_literal.saturating_add(c.max_line),
    }
}

impl Loop {
    async fn serve(&mut self) -> io::Result<()> {
        if self.shutdown.is_shutdown() {
            self.s.untagged("BYE Server shutting down");
            return self.flush_out().await;
        }
        let caps = cmd::capability::capabilities(&self.s);
        let host = self.s.server.config.hostname.clone();
        self.s
            .untagged(format!("OK [CAPABILITY {caps}] {host} Tern ready"));
        self.flush_out().await?;
        loop {
            let event = match self.framer.next_event() {
                Some(e) => e,
                None => match self.wait_input(true).await? {
                    Wake::Input => continue,
                    Wake::Closed => return Ok(()),
                },
            };
            if self.handle(event).await? == Flow::Close {
                return Ok(());
            }
        }
    }

    /// The deadline of the current wait: total pre-auth time, or idle time afterwards.
    pub(super) fn deadline(&self) -> Instant {
        match self.s.state {
            State::NotAuthenticated => self.started + self.s.server.config.preauth_timeout,
            _ => self.last_input + self.s.server.config.idle_timeout,
        }
    }

    /// Waits for input, pushing it into the framer. With `notify`, change events are
    /// delivered meanwhile when the client set NOTIFY and no command is in progress.
    pub(super) async fn wait_input(&mut self, notify: bool) -> io::Result<Wake> {
        loop {
            let watch = notify
                && !self.events_closed
                && self.s.notify.as_ref().is_some_and(|n| n.is_active())
                && self.append.is_none()
                && !self.framer.in_command()
                && self.s.auth().is_some();
            let deadline = self.deadline();
            tokio::select! {
                r = self.conn.read(&mut self.rbuf) => {
                    let n = r?;
                    if n == 0 {
                        return Ok(Wake::Closed);
                    }
                    self.framer.push(&self.rbuf[..n]);
                    self.last_input = Instant::now();
                    return Ok(Wake::Input);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.s.untagged("BYE Autologout; idle for too long");
                    self.flush_out().await?;
                    return Ok(Wake::Closed);
                }
                _ = self.shutdown.wait() => {
                    self.s.untagged("BYE Server shutting down");
                    self.flush_out().await?;
                    return Ok(Wake::Closed);
                }
                ev = self.s.events.recv(), if watch => {
                    self.deliver_events(ev, false).await?;
                    if self.s.state_is_logout() {
                        return Ok(Wake::Closed);
                    }
                }
            }
        }
    }

    /// Acts on a change event (and any queued behind it) outside a command (`idle`: during
    /// IDLE): NOTIFY output for other mailboxes, and the selected mailbox's sync when
    /// [`Loop::push_options`] allows one. Flushes.
    pub(super) async fn deliver_events(
        &mut self,
        first: Result<tern_store::ChangeEvent, tokio::sync::broadcast::error::RecvError>,
        idle: bool,
    ) -> io::Result<()> {
        use tokio::sync::broadcast::error::{RecvError, TryRecvError};
        let active = self.s.notify.as_ref().is_some_and(|n| n.is_active());
        let mut next = Some(first);
        let mut resync = false;
        let mut lagged = false;
        // The newest change of the selected mailbox among the events.
        let mut woken_at = 0;
        while let Some(ev) = next.take() {
            match ev {
                Ok(ev) => {
                    if let tern_store::ChangeEvent::Mailbox {
                        mailbox,
                        what,
                        modseq,
                        ..
                    } = ev
                        && what.messages()
                        && self.s.selected().is_some_and(|m| m.id() == mailbox)
                    {
                        resync = true;
                        woken_at = woken_at.max(modseq);
                    }
                    if active && let Err(e) = Box::pin(cmd::notify::on_event(&mut self.s, ev)).await
                    {
                        tracing::debug!(error = ?e, "NOTIFY event failed");
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    resync = true;
                    lagged = true;
                }
                Err(RecvError::Closed) => self.events_closed = true,
            }
            next = match self.s.events.try_recv() {
                Ok(ev) => Some(Ok(ev)),
                Err(TryRecvError::Lagged(n)) => Some(Err(RecvError::Lagged(n))),
                Err(_) => None,
            };
        }
        if lagged
            && active
            && let Err(e) = Box::pin(cmd::notify::rescan(&mut self.s)).await
        {
            tracing::debug!(error = ?e, "NOTIFY rescan after missed events failed");
        }
        if resync && let Some(mut opts) = self.push_options(idle) {
            // After missed events, only a fresh read is known to hold them.
            opts.woken_at = (!lagged).then_some(woken_at);
            self.sync(opts, true).await;
        }
        self.flush_out().await
    }

    /// How the selected mailbox's changes may be pushed while no command runs (`idle`:
    /// during IDLE), or `None` when they wait for the next command.
    ///
    /// - No NOTIFY yet: only during IDLE, everything (RFC 2177).
    /// - NOTIFY with SELECTED or SELECTED-DELAYED message events: what they ask for, any
    ///   time; SELECTED-DELAYED holds expunges back outside IDLE (RFC 5465 §6.1). Flag
    ///   changes only with FlagChange (§5.1).
    /// - NOTIFY without such a filter, or NOTIFY NONE: nothing, in IDLE too (§3.1, §4).
    pub(super) fn push_options(&self, idle: bool) -> Option<SyncOptions> {
        match &self.s.notify {
            None => idle.then_some(SyncOptions::all(ExpungePolicy::Announce)),
            Some(n) => n.selected_events().map(|sel| SyncOptions {
                expunge: if sel.delayed && !idle {
                    ExpungePolicy::Defer
                } else {
                    ExpungePolicy::Announce
                },
                flags: sel.flags,
                woken_at: None,
            }),
        }
    }

    /// Brings the selected mailbox up to date; a mailbox deleted under us ends the session.
    /// With `fetch_new`, messages announced as new also get NOTIFY's MessageNew FETCH.
    pub(super) async fn sync(&mut self, opts: SyncOptions, fetch_new: bool) {
        match Box::pin(self.s.sync_selected_with(opts)).await {
            Ok(report) => {
                if fetch_new
                    && !report.added.is_empty()
                    && let Err(e) =
                        Box::pin(cmd::notify::fetch_new(&mut self.s, &report.added)).await
                {
                    tracing::debug!(error = ?e, "NOTIFY MessageNew FETCH failed");
                }
            }
            Err(tern_store::StoreError::NoSuchMailbox) => {
                self.s.deselect();
                self.s.untagged("BYE The selected mailbox was deleted");
                self.s.state = State::Logout;
            }
            Err(e) => tracing::warn!(error = %e, "IMAP sync of the selected mailbox failed"),
        }
    }

    async fn handle(&mut self, event: Event) -> io::Result<Flow> {
        match event {
            Event::Frame(frame) => {
                let big = frame.bytes.len() > BIG_FRAME;
                let flow = if self.append.is_some() {
                    Box::pin(self.finish_append(frame)).await?
                } else {
                    match parse_command_with(&frame, self.s.parse_opts()) {
                        Ok(cmd) => {
                            drop(frame);
                            self.execute(cmd).await?
                        }
                        Err(e) => self.bad(e.tag.as_deref(), &e.reason).await?,
                    }
                };
                if big && !self.framer.in_command() && self.framer.buffered_len() == 0 {
                    self.framer = Framer::new(framer_config(&self.s));
                }
                Ok(flow)
            }
            Event::LiteralStart(l) => Box::pin(self.literal_start(l)).await,
            Event::LiteralData(chunk) => {
                Box::pin(self.append_data(&chunk)).await;
                Ok(Flow::Continue)
            }
            Event::LiteralEnd => {
                Box::pin(self.append_end()).await;
                Ok(Flow::Continue)
            }
            Event::LiteralTooLarge { tag, .. } => {
                self.append = None;
                let limit = self.s.server.config.max_message_size;
                self.reply(
                    tag.as_deref(),
                    Err(CmdError::no_code(
                        "TOOBIG",
                        format!("Literal exceeds the size limit of {limit} octets"),
                    )),
                )
                .await
            }
            Event::LineTooLong { tag } => {
                self.append = None;
                self.bad(tag.as_deref(), "Command line too long").await
            }
            // Only asked for inside AUTHENTICATE and IDLE, which read it themselves.
            Event::RawLine(_) => Ok(Flow::Continue),
        }
    }

    /// A literal was announced: APPEND streams, others are buffered within limits.
    async fn literal_start(&mut self, l: LiteralStart) -> io::Result<Flow> {
        if l.command.as_deref() == Some("APPEND") {
            return self.append_literal(l).await;
        }
        let limit = if self.s.auth().is_some() {
            self.s.server.config.max_literal
        } else {
            PREAUTH_LITERAL.min(self.s.server.config.max_literal)
        };
        if l.len > limit as u64 {
            let _ = self.framer.refuse_literal();
            return self
                .reply(
                    l.tag.as_deref(),
                    Err(CmdError::Bad {
                        code: Some("TOOBIG".into()),
                        text: format!("Literal exceeds the limit of {limit} octets"),
                    }),
                )
                .await;
        }
        if self.framer.accept_literal().is_err() {
            return self.bad(l.tag.as_deref(), "Command too large").await;
        }
        if l.sync {
            self.s.raw(b"+ Ready for literal data\r\n");
            self.flush_out().await?;
        }
        Ok(Flow::Continue)
    }

    async fn execute(&mut self, cmd: Command) -> io::Result<Flow> {
        let Command { tag, body } = cmd;
        self.s.tag.clear();
        self.s.tag.push_str(&tag);
        match body {
            CommandBody::Logout => {
                self.s.untagged("BYE Logging out");
                self.s.state = State::Logout;
                self.s
                    .raw(format!("{tag} OK LOGOUT completed\r\n").as_bytes());
                self.flush_out().await?;
                Ok(Flow::Close)
            }
            CommandBody::StartTls => Box::pin(self.starttls(&tag)).await,
            CommandBody::Authenticate { mechanism, initial } => {
                Box::pin(self.authenticate(&tag, &mechanism, initial)).await
            }
            CommandBody::Idle => self.idle(&tag).await,
            CommandBody::Compress(mechanism) => Box::pin(self.compress(&tag, &mechanism)).await,
            body => {
                self.own_adds = matches!(body, CommandBody::Copy { .. } | CommandBody::Move { .. });
                let policy = expunge_policy(&body);
                self.s.tag.clone_from(&tag);
                let result = self.dispatch_lending(body).await?;
                self.finish(&tag, result, policy).await
            }
        }
    }

    /// Runs a command with the connection lent to it (see `session::output`); a write error
    /// during the command ends the session.
    async fn dispatch_lending(&mut self, body: CommandBody) -> io::Result<CmdResult> {
        let info = self.conn.info.clone();
        let conn = std::mem::replace(&mut self.conn, dead_conn(info));
        self.s.pending.lend(conn);
        let result = Box::pin(cmd::dispatch(&mut self.s, body)).await;
        let (conn, error) = self.s.pending.take_back();
        if let Some(conn) = conn {
            self.conn = conn;
        }
        match error {
            Some(e) => Err(e),
            None => Ok(result),
        }
    }

    /// After a command: sync the selected mailbox, write the tagged response, flush.
    pub(super) async fn finish(
        &mut self,
        tag: &str,
        result: CmdResult,
        policy: ExpungePolicy,
    ) -> io::Result<Flow> {
        let own_adds = std::mem::take(&mut self.own_adds);
        if self.s.auth().is_some() {
            self.sync(SyncOptions::all(policy), !own_adds).await;
        }
        self.reply(Some(tag), result).await
    }

    /// Writes the tagged (or untagged, without a tag) response and flushes.
    pub(super) async fn reply(&mut self, tag: Option<&str>, result: CmdResult) -> io::Result<Flow> {
        let (status, code, text) = match result {
            Ok(done) => {
                self.bad_in_a_row = 0;
                ("OK", done.code, done.text)
            }
            Err(CmdError::No { code, text }) => {
                self.bad_in_a_row = 0;
                ("NO", code, text)
            }
            Err(CmdError::Bad { code, text }) => {
                self.bad_in_a_row += 1;
                ("BAD", code, text)
            }
            Err(CmdError::Bye(text)) => {
                self.s.untagged(format!("BYE {text}"));
                self.s.state = State::Logout;
                self.flush_out().await?;
                return Ok(Flow::Close);
            }
        };
        let mut line = format!("{} {status} ", tag.unwrap_or("*"));
        if let Some(code) = code {
            line.push('[');
            line.push_str(&code);
            line.push_str("] ");
        }
        line.push_str(&text);
        line.push_str("\r\n");
        self.s.raw(line.as_bytes());
        if self.bad_in_a_row >= MAX_BAD {
            self.s.bye_after = Some("Too many invalid commands".into());
        }
        if let Some(bye) = self.s.bye_after.take() {
            self.s.untagged(format!("BYE {bye}"));
            self.s.state = State::Logout;
        }
        self.flush_out().await?;
        if let Some(relay) = self.s.relay.take() {
            Box::pin(self.relay_legacy(relay)).await?;
            return Ok(Flow::Close);
        }
        Ok(if self.s.state_is_logout() {
            Flow::Close
        } else {
            Flow::Continue
        })
    }

    pub(super) async fn bad(&mut self, tag: Option<&str>, reason: &str) -> io::Result<Flow> {
        self.reply(tag, Err(CmdError::bad(reason))).await
    }

    /// Writes pending output and flushes; shrinks the buffer after a large response.
    pub(super) async fn flush_out(&mut self) -> io::Result<()> {
        self.s
            .pending
            .write_to(&mut self.conn, &mut self.s.out)
            .await?;
        self.conn.flush().await?;
        if self.s.out.capacity() > 16 * KEEP_OUT {
            self.s.out = Vec::with_capacity(KEEP_OUT);
        }
        Ok(())
    }
}

/// RFC 9051 §7.5.1: no EXPUNGE after FETCH, STORE or SEARCH by sequence number (nor
/// SORT/THREAD, which are searches); UID forms may announce them.
fn expunge_policy(body: &CommandBody) -> ExpungePolicy {
    match body {
        CommandBody::Fetch { by: By::Seq, .. }
        | CommandBody::Store { by: By::Seq, .. }
        | CommandBody::Search { by: By::Seq, .. }
        | CommandBody::Sort { by: By::Seq, .. }
        | CommandBody::Thread { by: By::Seq, .. } => ExpungePolicy::Defer,
        _ => ExpungePolicy::Announce,
    }
}
