//! Rules that look at more than one key, or at the machine: run after the schema walk, on
//! whatever part of the file was well-formed, so their errors join the schema's.
use super::Config;
use super::schema::KeyError;
use std::collections::HashMap;
use std::path::Path;

/// Services `tern serve` can run today. The others have config keys already; naming one
/// with an address is an error until its issue lands, rather than a silently dead port.
pub const IMPLEMENTED_SERVICES: &[&str] = &[
    "smtp",
    "submission",
    "submissions",
    "imap",
    "imaps",
    "pop3",
    "pop3s",
    "managesieve",
    "lmtp",
    "auth",
];

/// Directory kinds implemented today.
pub const IMPLEMENTED_DIRECTORIES: &[&str] = &["internal", "ldap", "active-directory"];

pub fn check(config: &Config, errors: &mut Vec<KeyError>) {
    super::gateway::check(
        config.spam.as_ref(),
        config.virus.as_ref(),
        config.milter.as_ref(),
        errors,
    );
    super::provision::check(&config.provision, errors);
    // A kind the schema already refused leaves nothing sound to check the rest against.
    let kind_refused = errors.iter().any(|e| e.key == "directory.kind");
    let mut err = |key: &str, reason: String| {
        errors.push(KeyError {
            key: key.to_string(),
            reason,
        })
    };

    check_outbound(&config.outbound, &mut err);
    if config.outbound.dane == Some(true) && config.dns.nameservers.is_empty() {
        err(
            "outbound.dane",
            "needs [dns] nameservers: the resolvers trusted to validate DNSSEC (e.g. an Unbound on 127.0.0.1)"
                .into(),
        );
    }
    if let Some(m) = &config.migration {
        for (key, reason) in m.check() {
            err(key, reason);
        }
    }
    if let Some(h) = &config.hostname
        && !is_domain_name(h)
    {
        err("hostname", format!("{h:?} is not a host name"));
    }
    if let Some(d) = &config.data_dir
        && d.exists()
        && !d.is_dir()
    {
        err(
            "data_dir",
            format!("{} exists and is not a directory", d.display()),
        );
    }
    for (i, d) in config.local_domains.iter().enumerate() {
        if !is_domain_name(d) {
            err(
                &format!("local_domains[{i}]"),
                format!("{d:?} is not a domain name"),
            );
        }
    }

    if let Some(listen) = &config.listen {
        let mut seen: HashMap<&str, String> = HashMap::new();
        for (service, addrs) in listen.services() {
            for (i, addr) in addrs.iter().enumerate() {
                let key = format!("listen.{service}[{i}]");
                if !IMPLEMENTED_SERVICES.contains(&service) {
                    err(&key, format!("{service} is not implemented yet"));
                    continue;
                }
                // Port 0 (any free port) may repeat; a fixed address twice cannot bind.
                if !addr.ends_with(":0") {
                    if let Some(first) = seen.get(addr.as_str()) {
                        err(&key, format!("{addr} is already used by {first}"));
                    } else {
                        seen.insert(addr, key.clone());
                    }
                }
            }
        }
    }

    match (&config.tls.cert, &config.tls.key) {
        (Some(_), None) => err("tls.key", "tls.cert is set but tls.key is missing".into()),
        (None, Some(_)) => err("tls.cert", "tls.key is set but tls.cert is missing".into()),
        _ => {}
    }
    for (key, path) in [("tls.cert", &config.tls.cert), ("tls.key", &config.tls.key)] {
        if let Some(p) = path {
            check_readable(p, key, &mut err);
        }
    }

    if let Some(q) = config.quota.default
        && q.0 == 0
    {
        err("quota.default", "must be larger than 0".into());
    }

    if let Some(dir) = config.directory.as_ref().filter(|_| !kind_refused) {
        let kind = dir.kind.as_deref().unwrap_or("internal");
        if dir.kind.is_none() {
            err(
                "directory.kind",
                "missing (internal, ldap or active-directory)".into(),
            );
        } else if !IMPLEMENTED_DIRECTORIES.contains(&kind) {
            err(
                "directory.kind",
                format!("{kind:?} is not a directory kind (internal, ldap or active-directory)"),
            );
        }
        if kind == "internal" {
            let ldap_only = [
                ("urls", !dir.urls.is_empty()),
                ("base_dn", dir.base_dn.is_some()),
                ("bind_dn", dir.bind_dn.is_some()),
                ("bind_password_file", dir.bind_password_file.is_some()),
                ("bind_mechanism", dir.bind_mechanism.is_some()),
                ("bind_keytab", dir.bind_keytab.is_some()),
                ("bind_principal", dir.bind_principal.is_some()),
                ("sasl_host", dir.sasl_host.is_some()),
                ("mail_group", dir.mail_group.is_some()),
                ("quota_attribute", dir.quota_attribute.is_some()),
                ("ca_file", dir.ca_file.is_some()),
                ("starttls", dir.starttls.is_some()),
                ("timeout", dir.timeout.is_some()),
                ("pool_size", dir.pool_size.is_some()),
                ("page_size", dir.page_size.is_some()),
                ("user_filter", dir.user_filter.is_some()),
                ("address_filter", dir.address_filter.is_some()),
                ("group_filter", dir.group_filter.is_some()),
                ("cache", dir.cache != Default::default()),
            ];
            for (key, set) in ldap_only {
                if set {
                    err(
                        &format!("directory.{key}"),
                        "only used with kind = \"ldap\" or \"active-directory\"".into(),
                    );
                }
            }
        } else {
            if dir.urls.is_empty() {
                err("directory.urls", format!("required for kind = {kind:?}"));
            }
            for (i, url) in dir.urls.iter().enumerate() {
                if !(url.starts_with("ldap://") || url.starts_with("ldaps://")) {
                    err(
                        &format!("directory.urls[{i}]"),
                        format!("{url:?} is not an ldap:// or ldaps:// URL"),
                    );
                }
            }
            if dir.base_dn.is_none() {
                err("directory.base_dn", format!("required for kind = {kind:?}"));
            }
            if dir.bind_mechanism.as_deref() == Some("gssapi") {
                crate::backends::directory::check_gssapi_bind(
                    kind,
                    dir,
                    config.kerberos.is_some(),
                    &mut err,
                );
                if let Some(p) = &dir.bind_keytab {
                    check_readable(p, "directory.bind_keytab", &mut err);
                }
            } else {
                if dir.bind_dn.is_some() != dir.bind_password_file.is_some() {
                    err(
                        "directory.bind_password_file",
                        "bind_dn and bind_password_file go together".into(),
                    );
                }
                if let Some(p) = &dir.bind_password_file {
                    check_readable(p, "directory.bind_password_file", &mut err);
                }
                for (key, set) in [
                    ("bind_keytab", dir.bind_keytab.is_some()),
                    ("bind_principal", dir.bind_principal.is_some()),
                    ("sasl_host", dir.sasl_host.is_some()),
                ] {
                    if set {
                        err(
                            &format!("directory.{key}"),
                            "only used with bind_mechanism = \"gssapi\"".into(),
                        );
                    }
                }
            }
            crate::backends::check_ldap_config(kind, dir, &mut err);
        }
    }

    if let Some(k) = &config.kerberos {
        crate::sasl_setup::check_kerberos(k, &mut err);
    }
    if let Some(m) = &config.auth.mechanisms {
        crate::sasl_setup::check_mechanisms(m, config.kerberos.as_ref(), &mut err);
    }
    crate::authsock_setup::check(&config.auth, &mut err);

    let l = &config.limits;
    if l.max_recipients == Some(0) {
        err("limits.max_recipients", "must be at least 1".into());
    }
    if l.max_connections == Some(0) {
        err("limits.max_connections", "must be at least 1".into());
    }
    if let Some(s) = l.max_message_size
        && s.0 == 0
    {
        err("limits.max_message_size", "must be larger than 0".into());
    }
    if let Some(s) = l.max_line_length
        && s.0 < 1000
    {
        // Below 1000 octets even SMTP's minimum text line (RFC 5321 §4.5.3.1.6) breaks;
        // RFC 7162 §4 asks IMAP servers for at least 8192.
        err(
            "limits.max_line_length",
            "must be at least 1000 octets".into(),
        );
    }
    for (key, d) in [
        ("limits.preauth_timeout", l.preauth_timeout),
        ("limits.imap_idle_timeout", l.imap_idle_timeout),
        ("limits.pop3_idle_timeout", l.pop3_idle_timeout),
        ("limits.lmtp_timeout", l.lmtp_timeout),
        ("limits.smtp_timeout", l.smtp_timeout),
        ("limits.tls_handshake_timeout", l.tls_handshake_timeout),
        ("limits.blob_gc_interval", l.blob_gc_interval),
    ] {
        if d.is_some_and(|d| d.0.is_zero()) {
            err(key, "must be longer than 0s".into());
        }
    }
}

fn check_readable(path: &Path, key: &str, err: &mut impl FnMut(&str, String)) {
    if let Err(e) = std::fs::File::open(path) {
        err(key, format!("cannot read {}: {e}", path.display()));
    }
}

/// A DNS name: dot-separated labels of letters, digits and hyphens (RFC 1123 §2.1).
pub fn is_domain_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// `[outbound]`: credentials come in pairs, and never go to the smarthost in the clear.
fn check_outbound(o: &super::Outbound, err: &mut impl FnMut(&str, String)) {
    if o.smarthost_user.is_some() != o.smarthost_password_file.is_some() {
        err(
            "outbound.smarthost_user",
            "smarthost_user and smarthost_password_file go together".into(),
        );
    }
    if o.smarthost_user.is_some() && o.smarthost.is_none() {
        err(
            "outbound.smarthost_user",
            "credentials without a smarthost".into(),
        );
    }
    if o.smarthost_user.is_some() && o.smarthost_tls.as_deref() == Some("none") {
        err(
            "outbound.smarthost_tls",
            "\"none\" would send the smarthost credentials in the clear: use \"starttls\" or \"tls\"".into(),
        );
    }
    if let Some(path) = &o.smarthost_password_file {
        check_readable(path, "outbound.smarthost_password_file", err);
    }
    if o.port == Some(0) {
        err("outbound.port", "must be a port number (1-65535)".into());
    }
    for (key, path) in [
        ("outbound.tls_ca_file", &o.tls_ca_file),
        ("outbound.smarthost_ca_file", &o.smarthost_ca_file),
    ] {
        if let Some(path) = path {
            check_pem_certificates(path, key, err);
        }
    }
}

/// A readable file with at least one PEM certificate (a CA bundle).
fn check_pem_certificates(path: &Path, key: &str, err: &mut impl FnMut(&str, String)) {
    match std::fs::read(path) {
        Err(e) => err(key, format!("cannot read {}: {e}", path.display())),
        Ok(pem) if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => {
            err(key, format!("no PEM certificate in {}", path.display()))
        }
        Ok(_) => {}
    }
}
