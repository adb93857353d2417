//! # tern-legacy: the legacy server during a migration
//!
//! In migration mode (issue 6's non-disruptive cutover) Tern's IMAP and POP3 listeners
//! serve the users already cut over and relay everyone else to the legacy server, after
//! Tern itself has authenticated them. This crate is the client side of that relay:
//!
//! - [`net`]: TCP, implicit TLS, STARTTLS, the legacy server's certificate check.
//! - [`imap`]: logs in on the legacy IMAP server as the user (the user's own password, or an
//!   administrator's on the user's behalf) and returns its capabilities.
//! - [`pop3`]: the same for POP3.
//! - [`relay`]: copies bytes both ways between the client and the logged-in legacy session
//!   until either side closes or the caller's stop signal fires (the user was cut over).
//!
//! The login exchanges are hand-written: they are a handful of lines each (greeting,
//! STARTTLS, one `AUTHENTICATE PLAIN` or `AUTH PLAIN`, CAPABILITY), after which the bytes
//! are relayed untouched; a general IMAP client library would parse what we must not touch.
//!
//! ## Invariants
//! - Nothing is relayed before the legacy server accepted the login; a refusal or an
//!   unreachable server is reported to the caller, which answers the client itself.
//! - Lines read from the legacy server are bounded ([`MAX_LINE`]); every step has a timeout.
//! - Bytes the legacy server sent after its login reply are not lost: they are handed to
//!   the relay together with the stream.
#![forbid(unsafe_code)]

pub mod imap;
mod lines;
pub mod net;
pub mod pop3;
pub mod relay;

use std::time::Duration;

/// The longest line accepted from the legacy server during a login.
pub const MAX_LINE: usize = 64 * 1024;
/// Connect, TLS handshake and each login reply.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(20);

/// Where the legacy server listens and how to reach it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub tls_options: net::TlsOptions,
}

/// How the connection to the legacy server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP (a legacy server on the same host or a trusted network).
    None,
    /// TLS from the first octet (`imaps://`, `pop3s://`).
    Implicit,
    /// Plain TCP upgraded with STARTTLS / STLS (`imap://...?starttls`).
    StartTls,
}

impl Endpoint {
    /// Parses `SCHEME://host[:port][?starttls]` where SCHEME is `secure` (TLS) or `plain`;
    /// `default_ports` are (plain, secure).
    pub fn parse(
        url: &str,
        plain: &str,
        secure: &str,
        default_ports: (u16, u16),
        tls_options: net::TlsOptions,
    ) -> Result<Endpoint, String> {
        let bad = || format!("{url:?} is not {plain}://host:port or {secure}://host:port");
        let (is_secure, rest) = if let Some(r) = url.strip_prefix(&format!("{secure}://")) {
            (true, r)
        } else if let Some(r) = url.strip_prefix(&format!("{plain}://")) {
            (false, r)
        } else {
            return Err(bad());
        };
        let (rest, starttls) = match rest.split_once('?') {
            Some((r, "starttls")) if !is_secure => (r, true),
            Some(_) => return Err(bad()),
            None => (rest, false),
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() => (
                h.trim_matches(|c| c == '[' || c == ']').to_string(),
                p.parse().map_err(|_| bad())?,
            ),
            Some(_) => return Err(bad()),
            None => (
                rest.to_string(),
                if is_secure {
                    default_ports.1
                } else {
                    default_ports.0
                },
            ),
        };
        if host.is_empty() || host.contains('/') {
            return Err(bad());
        }
        let tls = match (is_secure, starttls) {
            (true, _) => TlsMode::Implicit,
            (false, true) => TlsMode::StartTls,
            (false, false) => TlsMode::None,
        };
        Ok(Endpoint {
            host,
            port,
            tls,
            tls_options,
        })
    }

    pub(crate) async fn connect(&self) -> Result<net::Conn, LegacyError> {
        let implicit = (self.tls == TlsMode::Implicit).then_some(&self.tls_options);
        match tokio::time::timeout(STEP_TIMEOUT, net::connect(&self.host, self.port, implicit))
            .await
        {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(LegacyError::Unreachable(format!(
                "{}:{}: {e}",
                self.host, self.port
            ))),
            Err(_) => Err(LegacyError::Unreachable(format!(
                "{}:{}: timed out",
                self.host, self.port
            ))),
        }
    }

    pub(crate) async fn start_tls(&self, conn: net::Conn) -> Result<net::Conn, LegacyError> {
        match tokio::time::timeout(
            STEP_TIMEOUT,
            net::start_tls(conn, &self.host, &self.tls_options),
        )
        .await
        {
            Ok(Ok(c)) => Ok(c),
            Ok(Err(e)) => Err(LegacyError::Protocol(format!("STARTTLS: {e}"))),
            Err(_) => Err(LegacyError::Protocol("STARTTLS: timed out".into())),
        }
    }
}

/// The three ways a legacy server lets an administrator in as a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminStyle {
    /// SASL PLAIN with authorization identity = user, authentication identity = admin
    /// (RFC 4616; Dovecot master users and Cyrus proxy administrators both accept it).
    PlainAuthzid,
    /// Dovecot's master-user login form: `LOGIN user*admin password`
    /// (`auth_master_user_separator = *`).
    DovecotMaster,
    /// Cyrus's proxy administrator: SASL PLAIN, authzid = user, authcid = an account in
    /// `admins` or `proxyservers`.
    CyrusProxy,
}

impl AdminStyle {
    pub fn parse(s: &str) -> Option<AdminStyle> {
        match s {
            "plain-authzid" => Some(AdminStyle::PlainAuthzid),
            "dovecot-master" => Some(AdminStyle::DovecotMaster),
            "cyrus-proxy" => Some(AdminStyle::CyrusProxy),
            _ => None,
        }
    }
}

/// Who logs in on the legacy server.
#[derive(Clone)]
pub enum Login {
    /// The user, with the password they gave Tern.
    User { login: String, password: String },
    /// An administrator on the user's behalf (for logins without a password: GSSAPI,
    /// SCRAM, or a site that prefers it).
    Admin {
        style: AdminStyle,
        admin: String,
        password: String,
        user: String,
    },
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::User { login, .. } => write!(f, "Login::User({login})"),
            Login::Admin {
                style, admin, user, ..
            } => write!(f, "Login::Admin({style:?}, {admin} for {user})"),
        }
    }
}

impl Login {
    /// The SASL PLAIN message (RFC 4616: authzid NUL authcid NUL password).
    pub(crate) fn plain_message(&self) -> Vec<u8> {
        let (authzid, authcid, password) = match self {
            Login::User { login, password } => (String::new(), login.clone(), password),
            Login::Admin {
                style: AdminStyle::DovecotMaster,
                admin,
                password,
                user,
            } => (String::new(), format!("{user}*{admin}"), password),
            Login::Admin {
                admin,
                password,
                user,
                ..
            } => (user.clone(), admin.clone(), password),
        };
        let mut m = Vec::with_capacity(authzid.len() + authcid.len() + password.len() + 2);
        m.extend_from_slice(authzid.as_bytes());
        m.push(0);
        m.extend_from_slice(authcid.as_bytes());
        m.push(0);
        m.extend_from_slice(password.as_bytes());
        m
    }

    /// The user this login acts as (for logs).
    pub fn user(&self) -> &str {
        match self {
            Login::User { login, .. } => login,
            Login::Admin { user, .. } => user,
        }
    }
}

/// One legacy service (IMAP or POP3) as the relay reaches it.
#[derive(Clone, Debug)]
pub struct Legacy {
    pub endpoint: Endpoint,
    /// The administrator that logs in on a user's behalf when Tern does not have the
    /// user's password (GSSAPI, SCRAM), or always when `prefer_admin`.
    pub admin: Option<Admin>,
    pub prefer_admin: bool,
    /// The legacy server knows users by the local part of their address (`alice`, not
    /// `alice@example.test`): for administrator logins and delivery.
    pub strip_domain: bool,
}

/// An administrator login on the legacy server.
#[derive(Clone)]
pub struct Admin {
    pub style: AdminStyle,
    pub login: String,
    pub password: String,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Admin({:?}, {})", self.style, self.login)
    }
}

impl Legacy {
    /// The name the legacy server knows an account by.
    pub fn user_name(&self, account: &str) -> String {
        match account.rsplit_once('@') {
            Some((local, _)) if self.strip_domain => local.to_string(),
            _ => account.to_string(),
        }
    }

    /// How to log in on the legacy server as `user` (the name the legacy server knows,
    /// [`Legacy::user_name`]), given the password the client gave Tern, if it gave one:
    /// the user's own login under that name (whatever alias or name form the client typed,
    /// Tern has resolved it), else the administrator on their behalf. `None`: no way (no
    /// password and no administrator).
    pub fn login_for(&self, user: &str, password: Option<String>) -> Option<Login> {
        let admin = self.admin.as_ref().map(|a| Login::Admin {
            style: a.style,
            admin: a.login.clone(),
            password: a.password.clone(),
            user: user.to_string(),
        });
        match password {
            Some(password) if !(self.prefer_admin && admin.is_some()) => Some(Login::User {
                login: user.to_string(),
                password,
            }),
            _ => admin,
        }
    }
}

/// Why a legacy session could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    /// Connect or TLS failed, or timed out: try again later.
    #[error("legacy server unreachable: {0}")]
    Unreachable(String),
    /// The legacy server said no to the login (its text, for the log).
    #[error("legacy server refused the login: {0}")]
    Refused(String),
    /// The legacy server answered something unexpected.
    #[error("legacy server protocol error: {0}")]
    Protocol(String),
}

/// A logged-in legacy session: the stream, and what it already sent past its login reply.
pub struct Session {
    pub conn: net::Conn,
    pub pending: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let o = net::TlsOptions::default;
        let e =
            Endpoint::parse("imap://old.example:1143", "imap", "imaps", (143, 993), o()).unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.tls),
            ("old.example", 1143, TlsMode::None)
        );
        let e = Endpoint::parse("imaps://old.example", "imap", "imaps", (143, 993), o()).unwrap();
        assert_eq!((e.port, e.tls), (993, TlsMode::Implicit));
        let e = Endpoint::parse(
            "pop3://[::1]:110?starttls",
            "pop3",
            "pop3s",
            (110, 995),
            o(),
        )
        .unwrap();
        assert_eq!((e.host.as_str(), e.tls), ("::1", TlsMode::StartTls));
        for bad in [
            "http://x",
            "imap://",
            "imap://:143",
            "imap://x:port",
            "imaps://x?starttls",
            "imap://x?other",
        ] {
            assert!(
                Endpoint::parse(bad, "imap", "imaps", (143, 993), o()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn plain_messages() {
        let user = Login::User {
            login: "alice".into(),
            password: "pw".into(),
        };
        assert_eq!(user.plain_message(), b"\0alice\0pw");
        let admin = |style| Login::Admin {
            style,
            admin: "root".into(),
            password: "s".into(),
            user: "bob".into(),
        };
        assert_eq!(
            admin(AdminStyle::PlainAuthzid).plain_message(),
            b"bob\0root\0s"
        );
        assert_eq!(
            admin(AdminStyle::CyrusProxy).plain_message(),
            b"bob\0root\0s"
        );
        assert_eq!(
            admin(AdminStyle::DovecotMaster).plain_message(),
            b"\0bob*root\0s"
        );
    }
}

#[cfg(test)]
mod login_tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Runs a login against a scripted server: its whole output up front, then EOF; returns
    /// the result and what the client sent.
    async fn scripted<T>(
        server_output: &[u8],
        run: impl AsyncFnOnce(tokio::io::DuplexStream) -> T,
    ) -> (T, String) {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        server.write_all(server_output).await.unwrap();
        server.shutdown().await.unwrap();
        let result = run(client).await;
        let mut sent = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            server.read_to_end(&mut sent),
        )
        .await;
        (result, String::from_utf8_lossy(&sent).into_owned())
    }

    fn user() -> Login {
        Login::User {
            login: "alice".into(),
            password: "pw".into(),
        }
    }

    #[tokio::test]
    async fn imap_login_like_dovecot() {
        let out = b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n+ \r\n\
            T2 OK [CAPABILITY IMAP4rev1 IDLE MOVE] Logged in\r\n* 3 EXISTS\r\n";
        let (r, sent) = scripted(out, async |c| imap::login_on(c, &user()).await).await;
        let (caps, pending) = r.unwrap();
        assert_eq!(caps, "IMAP4rev1 IDLE MOVE");
        assert_eq!(pending, b"* 3 EXISTS\r\n");
        assert!(
            sent.starts_with("T2 AUTHENTICATE PLAIN\r\nAGFsaWNlAHB3\r\n"),
            "{sent}"
        );
    }

    #[tokio::test]
    async fn imap_capability_asked_when_missing_and_refusals() {
        let out = b"* OK hi\r\n+\r\nT2 OK done\r\n* CAPABILITY IMAP4rev1 X\r\nT3 OK\r\n";
        let (r, sent) = scripted(out, async |c| imap::login_on(c, &user()).await).await;
        assert_eq!(r.unwrap().0, "IMAP4rev1 X");
        assert!(sent.contains("T3 CAPABILITY\r\n"));
        let out = b"* OK hi\r\n+\r\nT2 NO [AUTHENTICATIONFAILED] nope\r\n";
        let (r, _) = scripted(out, async |c| imap::login_on(c, &user()).await).await;
        assert!(matches!(r, Err(LegacyError::Refused(_))), "{r:?}");
        let out = b"* BYE go away\r\n";
        let (r, _) = scripted(out, async |c| imap::login_on(c, &user()).await).await;
        assert!(matches!(r, Err(LegacyError::Protocol(_))), "{r:?}");
        let (r, _) = scripted(b"* OK hi", async |c| imap::login_on(c, &user()).await).await;
        assert!(r.is_err());
    }

    #[tokio::test]
    async fn pop3_auth_then_user_pass_fallback() {
        let out = b"+OK ready\r\n-ERR no SASL\r\n+OK\r\n+OK logged in\r\n";
        let (r, sent) = scripted(out, async |c| pop3::login_on(c, &user()).await).await;
        assert_eq!(r.unwrap(), b"");
        assert!(sent.contains("USER alice\r\nPASS pw\r\n"), "{sent}");
        // An administrator's login needs SASL: no fallback.
        let admin = Login::Admin {
            style: AdminStyle::PlainAuthzid,
            admin: "root".into(),
            password: "s".into(),
            user: "alice".into(),
        };
        let (r, sent) = scripted(out, async |c| pop3::login_on(c, &admin).await).await;
        assert!(matches!(r, Err(LegacyError::Refused(_))));
        assert!(!sent.contains("USER"));
        let out = b"+OK ready\r\n-ERR [IN-USE] locked\r\n";
        let (r, _) = scripted(out, async |c| pop3::login_on(c, &admin).await).await;
        assert!(matches!(r, Err(LegacyError::Refused(t)) if t.contains("[IN-USE]")));
    }
}
