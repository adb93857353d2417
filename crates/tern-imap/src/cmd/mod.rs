//! One file per command. Each exposes `pub async fn run(s: &mut Session, cmd: CommandBody)
//! -> CmdResult` (destructuring its own variant), so this table is the only place that knows
//! every command. Commands that need the connection itself (STARTTLS, AUTHENTICATE, IDLE,
//! APPEND's streamed literals, COMPRESS) are driven by the connection loop, which calls into
//! their files.

pub mod error;

pub mod acl;
pub mod append;
pub mod authenticate;
pub mod capability;
pub mod check;
pub mod close;
pub mod copy;
pub mod create;
pub mod delete;
pub mod enable;
pub mod expunge;
pub mod fetch;
pub mod id;
pub mod legacy;
pub mod list;
pub mod login;
pub mod metadata;
pub mod namespace;
pub mod notify;
pub mod quota;
pub mod rename;
pub mod search;
pub mod select;
pub mod sort;
pub mod status;
pub mod store;
pub mod subscribe;
pub mod thread;

// Shared logic of the selected-state message commands (helper E2).
pub mod condstore;
pub mod fetch_body;
pub mod fetch_write;
pub mod mime_decode;
pub mod objectid;
pub mod search_eval;
pub mod search_exec;
pub mod search_text;
pub mod seqset;
pub mod thread_algo;

pub use error::{CmdError, CmdResult, Done};

use crate::proto::command::CommandBody;
use crate::session::{Session, State};

/// Which states a command is valid in (RFC 9051 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    Any,
    NotAuthenticated,
    Authenticated,
    Selected,
}

/// The state a command needs.
pub fn need(cmd: &CommandBody) -> Need {
    use CommandBody::*;
    match cmd {
        Capability | Noop | Logout | Id(_) => Need::Any,
        StartTls | Login { .. } | Authenticate { .. } => Need::NotAuthenticated,
        Close
        | Unselect
        | Expunge
        | UidExpunge(_)
        | Search { .. }
        | Sort { .. }
        | Thread { .. }
        | Fetch { .. }
        | Store { .. }
        | Copy { .. }
        | Move { .. }
        | Check => Need::Selected,
        _ => Need::Authenticated,
    }
}

/// Checks the state, then runs a command that needs no connection I/O.
pub async fn dispatch(s: &mut Session, cmd: CommandBody) -> CmdResult {
    let ok = matches!(
        (need(&cmd), &s.state),
        (Need::Any, _)
            | (Need::NotAuthenticated, State::NotAuthenticated)
            | (
                Need::Authenticated,
                State::Authenticated(_) | State::Selected(..)
            )
            | (Need::Selected, State::Selected(..))
    );
    if !ok {
        return Err(CmdError::bad(match need(&cmd) {
            Need::NotAuthenticated => "Already authenticated",
            Need::Selected => "No mailbox selected",
            _ => "Not authenticated",
        }));
    }
    use CommandBody as C;
    match cmd {
        C::Capability => capability::run(s, cmd).await,
        C::Noop => check::noop(s, cmd).await,
        C::Check => check::run(s, cmd).await,
        C::Logout => Err(CmdError::Bye("Logging out".into())),
        C::Id(_) => id::run(s, cmd).await,
        C::Login { .. } => login::run(s, cmd).await,
        C::Enable(_) => enable::run(s, cmd).await,
        C::Select { .. } => select::run(s, cmd).await,
        C::Create { .. } => create::run(s, cmd).await,
        C::Delete(_) => delete::run(s, cmd).await,
        C::Rename { .. } => rename::run(s, cmd).await,
        C::Subscribe(_) | C::Unsubscribe(_) => subscribe::run(s, cmd).await,
        C::List(_) | C::Lsub { .. } => list::run(s, cmd).await,
        C::Namespace => namespace::run(s, cmd).await,
        C::Status { .. } => status::run(s, cmd).await,
        C::GetQuota(_) | C::GetQuotaRoot(_) | C::SetQuota { .. } => quota::run(s, cmd).await,
        C::GetAcl(_)
        | C::SetAcl { .. }
        | C::DeleteAcl { .. }
        | C::ListRights { .. }
        | C::MyRights(_) => acl::run(s, cmd).await,
        C::GetMetadata { .. } | C::SetMetadata { .. } => metadata::run(s, cmd).await,
        C::Notify(_) => notify::run(s, cmd).await,
        C::Close | C::Unselect => close::run(s, cmd).await,
        C::Expunge | C::UidExpunge(_) => expunge::run(s, cmd).await,
        C::Search { .. } => search::run(s, cmd).await,
        C::Sort { .. } => sort::run(s, cmd).await,
        C::Thread { .. } => thread::run(s, cmd).await,
        C::Fetch { .. } => fetch::run(s, cmd).await,
        C::Store { .. } => store::run(s, cmd).await,
        C::Copy { .. } | C::Move { .. } => copy::run(s, cmd).await,
        C::Append { .. } => append::run(s, cmd).await,
        // Driven by the connection loop (they need the connection itself).
        C::StartTls | C::Authenticate { .. } | C::Idle | C::Compress(_) => Err(CmdError::bad(
            "command must be handled by the connection loop",
        )),
    }
}
