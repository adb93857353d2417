//! The Dovecot-compatible SASL auth socket in `tern serve` (crates/tern-authsock), for a
//! Postfix kept in front (`smtpd_sasl_type = dovecot`):
//!
//! - `[listen] auth = ["127.0.0.1:12345"]`: over TCP (`smtpd_sasl_path =
//!   inet:127.0.0.1:12345`). The protocol has no TLS: keep it on loopback.
//! - `[auth] socket = "/var/spool/postfix/private/auth"`: on a Unix socket
//!   (`smtpd_sasl_path = private/auth`, relative to Postfix's queue directory), with
//!   `socket_mode` (octal, default `0660`), `socket_owner` and `socket_group` (names from
//!   `/etc/passwd` and `/etc/group`, or numeric ids; setting them needs root).
//!
//! Both serve the same mechanisms as IMAP, POP3 and submission (`crate::sasl_setup`), with
//! `[auth] allow_plaintext` deciding whether PLAIN/LOGIN work for remote users who reached
//! Postfix without TLS.
use crate::config::{Auth, Settings};
use std::path::Path;
use tern_authsock::{AuthSocketConfig, UnixSocketOptions};

/// `[auth] socket_mode` when absent: the owner and group may connect.
pub const DEFAULT_MODE: u32 = 0o660;

/// `[auth] socket*`: the mode, owner and group parse; the socket's directory exists and
/// nothing but a socket sits at its path.
pub fn check(auth: &Auth, err: &mut impl FnMut(&str, String)) {
    let Some(path) = &auth.socket else {
        for (key, set) in [
            ("auth.socket_mode", auth.socket_mode.is_some()),
            ("auth.socket_owner", auth.socket_owner.is_some()),
            ("auth.socket_group", auth.socket_group.is_some()),
        ] {
            if set {
                err(key, "only used with auth.socket".into());
            }
        }
        return;
    };
    if let Err(errors) = unix_options(auth) {
        for (key, reason) in errors {
            err(key, reason);
        }
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        err(
            "auth.socket",
            format!("directory {} does not exist", dir.display()),
        );
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        use std::os::unix::fs::FileTypeExt;
        if !meta.file_type().is_socket() {
            err(
                "auth.socket",
                format!("{} exists and is not a socket", path.display()),
            );
        }
    }
}

/// The Unix socket `[auth] socket` asks for, if any; every problem as `(key, reason)`.
pub fn unix_options(auth: &Auth) -> Result<Option<UnixSocketOptions>, Vec<(&'static str, String)>> {
    let Some(path) = &auth.socket else {
        return Ok(None);
    };
    let mut errors = Vec::new();
    let mode = match auth.socket_mode.as_deref().map(parse_mode) {
        None => DEFAULT_MODE,
        Some(Ok(mode)) => mode,
        Some(Err(e)) => {
            errors.push(("auth.socket_mode", e));
            DEFAULT_MODE
        }
    };
    let mut id = |key, value: Option<&String>, db| match value {
        None => None,
        Some(name) => match lookup_id(name, db) {
            Ok(id) => Some(id),
            Err(e) => {
                errors.push((key, e));
                None
            }
        },
    };
    let owner = id(
        "auth.socket_owner",
        auth.socket_owner.as_ref(),
        "/etc/passwd",
    );
    let group = id(
        "auth.socket_group",
        auth.socket_group.as_ref(),
        "/etc/group",
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Some(UnixSocketOptions {
        path: path.clone(),
        mode,
        owner,
        group,
    }))
}

/// The auth socket server's settings.
pub fn server_config(settings: &Settings) -> AuthSocketConfig {
    AuthSocketConfig {
        allow_plaintext: settings.allow_plaintext,
        max_line: settings.max_line_length,
        handshake_timeout: settings.preauth_timeout,
        ..AuthSocketConfig::default()
    }
}

/// `"0660"`, `"660"` or `"0o660"`: permission bits, nothing above `0777`.
fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| !digits.is_empty() && digits.len() <= 4 && *m <= 0o777)
        .filter(|_| digits.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        .ok_or_else(|| format!("{s:?} is not an octal mode such as \"0660\""))
}

/// A numeric id, or the id of `name` in `db` (`/etc/passwd` or `/etc/group`: the third
/// field of the line whose first field is the name).
fn lookup_id(name: &str, db: &str) -> Result<u32, String> {
    if let Ok(id) = name.parse::<u32>() {
        return Ok(id);
    }
    let text = std::fs::read_to_string(db).map_err(|e| format!("cannot read {db}: {e}"))?;
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let entry = fields.next()?;
            let id = fields.nth(1)?.parse().ok()?;
            (entry == name).then_some(id)
        })
        .next()
        .ok_or_else(|| format!("{name:?} is not in {db}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(parse_mode("0660"), Ok(0o660));
        assert_eq!(parse_mode("660"), Ok(0o660));
        assert_eq!(parse_mode("0o600"), Ok(0o600));
        for bad in [
            "",
            "0o",
            "8",
            "0668",
            "01777",
            "rw-rw----",
            "-1",
            "00000660",
        ] {
            assert!(parse_mode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ids_by_number_or_name() {
        assert_eq!(lookup_id("0", "/etc/passwd"), Ok(0));
        assert_eq!(lookup_id("root", "/etc/passwd"), Ok(0));
        assert_eq!(lookup_id("root", "/etc/group"), Ok(0));
        assert!(lookup_id("no-such-user-here", "/etc/passwd").is_err());
    }
}
