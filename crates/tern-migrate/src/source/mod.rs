//! The IMAP source: a logged-in session on the legacy server, read-only.
//!
//! Built on async-imap (CRATES.md's pick; imap-proto parses responses, literals included).
//! Every mailbox is opened with EXAMINE and every body read with `BODY.PEEK[]`, so migrating
//! never changes `\Seen` or `\Recent` on the source. Messages are fetched in UID batches so
//! that memory is bounded by one batch, not the mailbox.
pub use tern_legacy::AdminStyle;
pub use tern_legacy::net::TlsOptions;

use crate::profile::Profile;
use async_imap::types::{Flag, NameAttribute};
use async_imap::{Client, Session};
use futures_util::StreamExt;
use std::collections::HashSet;
use tern_legacy::net::{self as conn, Conn};
use tern_store::{Flags, SpecialUse, Timestamp};

pub type ImapSession = Session<Conn>;

/// Errors talking to the source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("login as {login} failed: {reason}")]
    Login { login: String, reason: String },
    #[error("source IMAP error: {0}")]
    Imap(#[from] async_imap::error::Error),
    #[error("source protocol error: {0}")]
    Protocol(String),
    #[error("bad source URL {0:?} (use imap://host:port or imaps://host:port)")]
    Url(String),
}

/// Where the source is.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    /// `Some` for `imaps://`.
    pub tls: Option<TlsOptions>,
}

impl Endpoint {
    pub fn parse(url: &str, tls: TlsOptions) -> Result<Endpoint, SourceError> {
        let (secure, rest) = if let Some(r) = url.strip_prefix("imaps://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("imap://") {
            (false, r)
        } else {
            return Err(SourceError::Url(url.into()));
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (
                h.trim_matches(|c| c == '[' || c == ']').to_string(),
                p.parse().map_err(|_| SourceError::Url(url.into()))?,
            ),
            None => (rest.to_string(), if secure { 993 } else { 143 }),
        };
        if host.is_empty() {
            return Err(SourceError::Url(url.into()));
        }
        Ok(Endpoint {
            host,
            port,
            tls: secure.then_some(tls),
        })
    }
}

/// How to log in as the user on the source.
#[derive(Clone, Debug)]
pub enum Credentials {
    /// The user's own login and password.
    User { login: String, password: String },
    /// An administrator acting as the user.
    Admin {
        style: AdminStyle,
        admin: String,
        password: String,
        user: String,
    },
}

impl Credentials {
    pub fn source_user(&self) -> &str {
        match self {
            Credentials::User { login, .. } => login,
            Credentials::Admin { user, .. } => user,
        }
    }
}

struct Plain(Vec<u8>);
impl async_imap::Authenticator for Plain {
    type Response = Vec<u8>;
    fn process(&mut self, _challenge: &[u8]) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

/// A folder as the source lists it.
#[derive(Clone, Debug)]
pub struct SourceFolder {
    /// The name on the wire (modified UTF-7 unless UTF-8 was enabled).
    pub raw: String,
    pub delimiter: Option<char>,
    pub selectable: bool,
    /// The RFC 6154 role the source announced.
    pub special_use: Option<SpecialUse>,
}

/// EXAMINE's answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct FolderStatus {
    pub uidvalidity: u32,
    pub uidnext: u32,
    pub exists: u32,
    /// 0 when the source has no CONDSTORE.
    pub highestmodseq: u64,
}

/// One message as fetched.
#[derive(Debug)]
pub struct SourceMessage {
    pub uid: u32,
    pub flags: Flags,
    pub internaldate: Timestamp,
    pub modseq: Option<u64>,
    pub body: Vec<u8>,
}

/// A logged-in source session.
pub struct Source {
    session: ImapSession,
    pub profile: Profile,
    pub condstore: bool,
    pub special_use: bool,
}

impl Source {
    /// Connects, logs in and identifies the server.
    pub async fn connect(
        endpoint: &Endpoint,
        creds: &Credentials,
        forced_profile: Option<Profile>,
    ) -> Result<Source, SourceError> {
        let addr = format!("{}:{}", endpoint.host, endpoint.port);
        let conn = conn::connect(&endpoint.host, endpoint.port, endpoint.tls.as_ref())
            .await
            .map_err(|e| SourceError::Connect(addr.clone(), e))?;
        let mut client = Client::new(conn);
        let greeting = client
            .read_response()
            .await
            .map_err(|e| SourceError::Connect(addr.clone(), e))?
            .ok_or_else(|| SourceError::Protocol(format!("{addr} closed before the greeting")))?;
        let greeting_text = match greeting.parsed() {
            imap_proto_response::Response::Data { outcome, .. } => outcome
                .information
                .as_deref()
                .unwrap_or_default()
                .to_string(),
            _ => String::new(),
        };
        let failed = |login: &str, e: async_imap::error::Error| SourceError::Login {
            login: login.to_string(),
            reason: e.to_string(),
        };
        let mut session = match creds {
            Credentials::User { login, password } => client
                .login(login, password)
                .await
                .map_err(|(e, _)| failed(login, e))?,
            Credentials::Admin {
                style: AdminStyle::DovecotMaster,
                admin,
                password,
                user,
            } => {
                let login = format!("{user}*{admin}");
                client
                    .login(&login, password)
                    .await
                    .map_err(|(e, _)| failed(&login, e))?
            }
            Credentials::Admin {
                admin,
                password,
                user,
                ..
            } => {
                let mut token = Vec::new();
                token.extend_from_slice(user.as_bytes());
                token.push(0);
                token.extend_from_slice(admin.as_bytes());
                token.push(0);
                token.extend_from_slice(password.as_bytes());
                client
                    .authenticate("PLAIN", Plain(token))
                    .await
                    .map_err(|(e, _)| failed(&format!("{admin} as {user}"), e))?
            }
        };
        let caps = session.capabilities().await?;
        let condstore = caps.has_str("CONDSTORE") || caps.has_str("QRESYNC");
        let special_use = caps.has_str("SPECIAL-USE");
        let mut profile = forced_profile.or_else(|| Profile::detect(&greeting_text));
        if profile.is_none()
            && caps.has_str("ID")
            && let Ok(Some(id)) = session.id([("name", Some("tern-migrate"))]).await
        {
            profile = id.get("name").and_then(|n| Profile::detect(n));
        }
        if condstore {
            session.run_command_and_check_ok("ENABLE CONDSTORE").await?;
        }
        let mut source = Source {
            session,
            profile: profile.unwrap_or(Profile::Generic),
            condstore,
            special_use,
        };
        source.drain();
        Ok(source)
    }

    /// Drops unsolicited responses (async-imap queues up to 100 and then discards).
    fn drain(&mut self) {
        while self.session.unsolicited_responses.try_recv().is_ok() {}
    }

    /// Every folder, with the roles the server announces.
    pub async fn folders(&mut self) -> Result<Vec<SourceFolder>, SourceError> {
        let pattern = if self.special_use {
            "\"*\" RETURN (SPECIAL-USE)"
        } else {
            "\"*\""
        };
        let mut out = Vec::new();
        {
            let mut names = self.session.list(Some(""), Some(pattern)).await?;
            while let Some(name) = names.next().await {
                let name = name?;
                let mut selectable = true;
                let mut special_use = None;
                for a in name.attributes() {
                    match a {
                        NameAttribute::NoSelect => selectable = false,
                        NameAttribute::Extension(e) if e.eq_ignore_ascii_case("\\NonExistent") => {
                            selectable = false
                        }
                        NameAttribute::All => special_use = Some(SpecialUse::All),
                        NameAttribute::Archive => special_use = Some(SpecialUse::Archive),
                        NameAttribute::Drafts => special_use = Some(SpecialUse::Drafts),
                        NameAttribute::Flagged => special_use = Some(SpecialUse::Flagged),
                        NameAttribute::Junk => special_use = Some(SpecialUse::Junk),
                        NameAttribute::Sent => special_use = Some(SpecialUse::Sent),
                        NameAttribute::Trash => special_use = Some(SpecialUse::Trash),
                        NameAttribute::Extension(e) => {
                            if let Some(u) = SpecialUse::from_attribute(e) {
                                special_use = Some(u);
                            }
                        }
                        _ => {}
                    }
                }
                out.push(SourceFolder {
                    raw: name.name().to_string(),
                    delimiter: name.delimiter().and_then(|d| d.chars().next()),
                    selectable,
                    special_use,
                });
            }
        }
        self.drain();
        Ok(out)
    }

    /// Subscribed folder names (raw).
    pub async fn subscriptions(&mut self) -> Result<Vec<String>, SourceError> {
        let mut out = Vec::new();
        {
            let mut names = self.session.lsub(Some(""), Some("*")).await?;
            while let Some(name) = names.next().await {
                out.push(name?.name().to_string());
            }
        }
        self.drain();
        Ok(out)
    }

    /// Opens a folder read-only.
    pub async fn examine(&mut self, raw: &str) -> Result<FolderStatus, SourceError> {
        let mb = self.session.examine(raw).await?;
        self.drain();
        let uidvalidity = mb
            .uid_validity
            .ok_or_else(|| SourceError::Protocol(format!("EXAMINE {raw}: no UIDVALIDITY")))?;
        Ok(FolderStatus {
            uidvalidity,
            uidnext: mb.uid_next.unwrap_or(0),
            exists: mb.exists,
            highestmodseq: mb.highest_modseq.unwrap_or(0),
        })
    }

    /// Every UID of the examined folder.
    pub async fn uids(&mut self) -> Result<Vec<u32>, SourceError> {
        let set = self.session.uid_search("ALL").await?;
        self.drain();
        let mut v: Vec<u32> = set.into_iter().collect();
        v.sort_unstable();
        Ok(v)
    }

    /// Flags of every message (or of those changed after `changed_since`, with CONDSTORE).
    pub async fn flags(
        &mut self,
        changed_since: Option<u64>,
    ) -> Result<Vec<(u32, Flags, Option<u64>)>, SourceError> {
        let query = match changed_since {
            Some(m) if self.condstore => format!("(UID FLAGS) (CHANGEDSINCE {m})"),
            _ => "(UID FLAGS)".to_string(),
        };
        let mut out = Vec::new();
        {
            let mut fetches = self.session.uid_fetch("1:*", &query).await?;
            while let Some(f) = fetches.next().await {
                let f = f?;
                if let Some(uid) = f.uid {
                    out.push((uid, flags_of(&f), f.modseq));
                }
            }
        }
        self.drain();
        Ok(out)
    }

    /// RFC822.SIZE of the given UIDs.
    pub async fn sizes(&mut self, uids: &[u32]) -> Result<Vec<(u32, u64)>, SourceError> {
        let mut out = Vec::with_capacity(uids.len());
        if uids.is_empty() {
            return Ok(out);
        }
        {
            let mut fetches = self
                .session
                .uid_fetch(uid_set(uids), "(UID RFC822.SIZE)")
                .await?;
            while let Some(f) = fetches.next().await {
                let f = f?;
                if let (Some(uid), Some(size)) = (f.uid, f.size) {
                    out.push((uid, u64::from(size)));
                }
            }
        }
        self.drain();
        Ok(out)
    }

    /// Whole messages of the given UIDs (those that still exist), in UID order.
    pub async fn fetch(&mut self, uids: &[u32]) -> Result<Vec<SourceMessage>, SourceError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uid_set(uids);
        let wanted: HashSet<u32> = uids.iter().copied().collect();
        let mut out = Vec::with_capacity(uids.len());
        {
            let mut fetches = self
                .session
                .uid_fetch(&set, "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
                .await?;
            while let Some(f) = fetches.next().await {
                let f = f?;
                let Some(uid) = f.uid else { continue };
                if !wanted.contains(&uid) {
                    continue;
                }
                let Some(body) = f.body() else {
                    // An unsolicited FLAGS update for a message in the set, not our data.
                    continue;
                };
                let date = f
                    .internal_date()
                    .ok_or_else(|| SourceError::Protocol(format!("UID {uid}: no INTERNALDATE")))?;
                if let Some(size) = f.size
                    && size as usize != body.len()
                {
                    return Err(SourceError::Protocol(format!(
                        "UID {uid}: RFC822.SIZE {size} but BODY[] has {} octets",
                        body.len()
                    )));
                }
                out.push(SourceMessage {
                    uid,
                    flags: flags_of(&f),
                    internaldate: Timestamp {
                        unix: date.timestamp(),
                        offset_minutes: (date.offset().local_minus_utc() / 60) as i16,
                    },
                    modseq: f.modseq,
                    body: body.to_vec(),
                });
            }
        }
        self.drain();
        out.sort_by_key(|m| m.uid);
        Ok(out)
    }

    pub async fn logout(mut self) {
        let _ = self.session.logout().await;
    }
}

mod imap_proto_response {
    pub use async_imap::imap_proto::Response;
}

fn flags_of(f: &async_imap::types::Fetch) -> Flags {
    let mut flags = Flags::default();
    for flag in f.flags() {
        match flag {
            Flag::Seen => flags.system |= Flags::SEEN,
            Flag::Answered => flags.system |= Flags::ANSWERED,
            Flag::Flagged => flags.system |= Flags::FLAGGED,
            Flag::Deleted => flags.system |= Flags::DELETED,
            Flag::Draft => flags.system |= Flags::DRAFT,
            Flag::Custom(k) => flags.insert_name(&k),
            _ => {}
        }
    }
    flags.normalize();
    flags
}

/// A compact UID set (`1:5,7,9:12`) for ascending or unordered UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut v = uids.to_vec();
    v.sort_unstable();
    v.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < v.len() {
        let start = v[i];
        let mut end = start;
        while i + 1 < v.len() && v[i + 1] == end + 1 {
            i += 1;
            end = v[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[9]), "9");
        assert_eq!(uid_set(&[4, 2, 3, 3]), "2:4");
    }

    #[test]
    fn urls() {
        let e = Endpoint::parse("imap://127.0.0.1:10143", TlsOptions::default()).unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.tls.is_none()),
            ("127.0.0.1", 10143, true)
        );
        let e = Endpoint::parse("imaps://mail.example.test", TlsOptions::default()).unwrap();
        assert_eq!((e.port, e.tls.is_some()), (993, true));
        assert!(Endpoint::parse("pop3://x", TlsOptions::default()).is_err());
    }
}
