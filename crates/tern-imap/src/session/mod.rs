//! The IMAP session: state, output buffer, and the connection loop (`run`, in `conn_loop`).
//!
//! Commands (in `crate::cmd`) get `&mut Session`, write untagged responses with
//! [`Session::untagged`] and return a [`crate::cmd::CmdResult`] that the loop turns into the
//! tagged response. After each command the loop calls [`Session::sync_selected`] so the client
//! learns about other sessions' changes (EXISTS, EXPUNGE/VANISHED, FETCH FLAGS).
//!
//! Output is `Session::pending` (segments, possibly referencing blobs, see `output`) followed
//! by `Session::out`. A command that writes a lot (FETCH) writes through
//! [`Session::writer`], which can queue blob ranges without copying them and flush to the
//! connection the loop lends for the command.

mod append_stream;
mod conn_loop;
mod flows;
mod io;
pub mod mailbox_ref;
pub mod output;
mod relay;
pub mod selected;

pub use conn_loop::run;
pub use selected::{ExpungePolicy, SelectedMailbox, SyncOptions, SyncReport};

use crate::server::ImapServer;
use std::sync::Arc;
use tern_directory::Account;
use tern_net::ConnInfo;
use tern_store::{AccountId, ChangeEvent, StoreResult};
use tokio::sync::broadcast;

/// Extensions the client turned on with ENABLE (RFC 5161) or implicitly (CONDSTORE by a
/// CONDSTORE-using command, RFC 7162 §3.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Enabled {
    pub condstore: bool,
    pub qresync: bool,
    pub utf8_accept: bool,
    pub imap4rev2: bool,
}

/// The logged-in user.
#[derive(Clone, Debug)]
pub struct Auth {
    pub account: Account,
    pub account_id: AccountId,
}

/// RFC 9051 §3 states.
pub enum State {
    NotAuthenticated,
    Authenticated(Auth),
    Selected(Auth, Box<SelectedMailbox>),
    Logout,
}

/// One connection's session.
pub struct Session {
    pub server: Arc<ImapServer>,
    pub state: State,
    pub enabled: Enabled,
    pub conn: ConnInfo,
    /// COMPRESS=DEFLATE is active.
    pub compressed: bool,
    /// Pending output: untagged responses of the running command, then its tagged line.
    /// Sent after everything in `pending`.
    pub out: Vec<u8>,
    /// Output queued ahead of `out` (blob ranges of FETCH literals), and the connection
    /// lent for the running command.
    pub pending: output::Pending,
    /// Committed changes from every session and process (the store's notifications).
    pub events: broadcast::Receiver<ChangeEvent>,
    /// Failed authentication attempts on this connection (rate limiting).
    pub auth_failures: u32,
    /// RFC 5465 NOTIFY state, if set (owned by cmd/notify.rs).
    pub notify: Option<crate::cmd::notify::NotifyState>,
    /// Set by a command that must end the connection after its tagged response
    /// (`* BYE <text>` follows it), e.g. too many authentication failures.
    pub bye_after: Option<String>,
    /// The tag of the command being executed (ESEARCH's `(TAG "...")` correlator,
    /// RFC 4731 §3.1); set by the loop before dispatch.
    pub tag: String,
    /// The login and password of a LOGIN or plaintext AUTHENTICATE in progress, kept only
    /// until the login completes (a relay to the legacy server logs in with them).
    pub plaintext: Option<(String, String)>,
    /// Set by a login of a user still on the legacy server: after the tagged OK, the loop
    /// relays the connection there (`cmd::legacy`).
    pub relay: Option<crate::cmd::legacy::Relay>,
}

impl Session {
    pub fn new(server: Arc<ImapServer>, conn: ConnInfo) -> Session {
        let events = server.mail.store.subscribe();
        Session {
            server,
            state: State::NotAuthenticated,
            enabled: Enabled::default(),
            conn,
            compressed: false,
            out: Vec::with_capacity(256),
            pending: output::Pending::default(),
            events,
            auth_failures: 0,
            notify: None,
            bye_after: None,
            tag: String::new(),
            plaintext: None,
            relay: None,
        }
    }

    /// Appends `* <line>\r\n`.
    pub fn untagged(&mut self, line: impl AsRef<[u8]>) {
        self.out.extend_from_slice(b"* ");
        self.out.extend_from_slice(line.as_ref());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Appends raw bytes (a response that carries literals, already CRLF-terminated).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// The selected mailbox (if any) together with a [`output::Writer`] over this session's
    /// output, so that a command can read the view while it writes and flushes.
    pub fn writer(&mut self) -> (Option<&SelectedMailbox>, output::Writer<'_>) {
        let view = match &self.state {
            State::Selected(_, m) => Some(&**m),
            _ => None,
        };
        let w = output::Writer {
            out: &mut self.out,
            pending: &mut self.pending,
            blob: None,
        };
        (view, w)
    }

    /// The logged-in user, if any.
    pub fn auth(&self) -> Option<&Auth> {
        match &self.state {
            State::Authenticated(a) | State::Selected(a, _) => Some(a),
            _ => None,
        }
    }

    pub fn selected(&self) -> Option<&SelectedMailbox> {
        match &self.state {
            State::Selected(_, m) => Some(m),
            _ => None,
        }
    }

    pub fn selected_mut(&mut self) -> Option<&mut SelectedMailbox> {
        match &mut self.state {
            State::Selected(_, m) => Some(m),
            _ => None,
        }
    }

    /// The session is over (LOGOUT, BYE).
    pub fn state_is_logout(&self) -> bool {
        matches!(self.state, State::Logout)
    }

    /// Leaves the selected state (CLOSE, UNSELECT, a failed SELECT).
    pub fn deselect(&mut self) {
        let state = std::mem::replace(&mut self.state, State::Logout);
        self.state = match state {
            State::Selected(a, _) => State::Authenticated(a),
            other => other,
        };
    }

    /// How strings and mailbox names are written for this client (RFC 6855 UTF8=ACCEPT).
    pub fn encode_opts(&self) -> crate::proto::EncodeOptions {
        crate::proto::EncodeOptions {
            utf8: self.enabled.utf8_accept,
        }
    }

    /// How commands are parsed for this client (RFC 6855 UTF8=ACCEPT).
    pub fn parse_opts(&self) -> crate::proto::ParseOptions {
        crate::proto::ParseOptions {
            utf8: self.enabled.utf8_accept,
        }
    }

    /// A mailbox name (stored form) in its wire form for this client: modified UTF-7 or
    /// UTF-8, atom or quoted or literal.
    pub fn wire_mailbox(&self, name: &str) -> String {
        crate::proto::encode::mailbox_string(name, self.encode_opts())
    }

    /// TLS is active on this connection.
    pub fn tls_active(&self) -> bool {
        self.conn.tls
    }

    /// Plaintext LOGIN/AUTHENTICATE PLAIN are allowed now.
    pub fn plaintext_allowed(&self) -> bool {
        self.conn.tls || self.server.config.allow_plaintext
    }

    /// Brings the selected mailbox's view up to date with the store and writes the untagged
    /// responses that tell the client (EXISTS, EXPUNGE or VANISHED, FETCH FLAGS/MODSEQ).
    pub async fn sync_selected(&mut self, policy: ExpungePolicy) -> StoreResult<()> {
        self.sync_selected_with(SyncOptions::all(policy))
            .await
            .map(|_| ())
    }

    /// [`Session::sync_selected`] with the finer options NOTIFY needs; says which messages
    /// were announced as new.
    pub async fn sync_selected_with(&mut self, opts: SyncOptions) -> StoreResult<SyncReport> {
        let store = self.server.mail.store.clone();
        let enabled = self.enabled;
        let mut out = std::mem::take(&mut self.out);
        let result = match &mut self.state {
            State::Selected(_, m) => m.sync(store.as_ref(), enabled, opts, &mut out).await,
            _ => Ok(SyncReport::default()),
        };
        self.out = out;
        result
    }
}
