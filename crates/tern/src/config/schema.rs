//! The config file's key tree, checked key by key so that every problem is reported at once.
//!
//! serde stops at the first error; an operator fixing a config one error per run is wasting
//! their time. So the file is first parsed into a [`toml::Table`], walked against [`ROOT`]
//! (unknown keys, wrong types, bad sizes/durations/addresses, each with its dotted key), and
//! every bad entry is removed. What remains is well-formed and is then deserialized by serde
//! into [`super::Config`] (which keeps `deny_unknown_fields` at every level as a second guard).
use super::units;

/// What a key holds.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Str,
    /// A string naming a file.
    Path,
    Bool,
    /// A non-negative integer no larger than the bound.
    UInt(u64),
    /// `50MB` or an integer of octets.
    Size,
    /// `30s`, `5m`... or an integer of seconds.
    Duration,
    /// A list of strings.
    StrList,
    /// A list of `addr:port` strings.
    AddrList,
    /// One `addr:port` string.
    Addr,
    /// A string from a fixed set.
    OneOf(&'static [&'static str]),
    Table(&'static [Field]),
}

/// One key of a table.
#[derive(Clone, Copy, Debug)]
pub struct Field {
    pub key: &'static str,
    pub kind: Kind,
}

const fn f(key: &'static str, kind: Kind) -> Field {
    Field { key, kind }
}

/// `[listen]`: one key per service, in the order of [`super::Listen::services`].
pub const LISTEN: &[Field] = &[
    f("smtp", Kind::AddrList),
    f("submission", Kind::AddrList),
    f("submissions", Kind::AddrList),
    f("lmtp", Kind::AddrList),
    f("imap", Kind::AddrList),
    f("imaps", Kind::AddrList),
    f("pop3", Kind::AddrList),
    f("pop3s", Kind::AddrList),
    f("managesieve", Kind::AddrList),
    f("http", Kind::AddrList),
    f("auth", Kind::AddrList),
];

/// Directory kinds the file may name (whether implemented is checked later).
pub const DIRECTORY_KINDS: &[&str] = &["internal", "ldap", "active-directory"];

/// `[outbound]`: the queue and its SMTP client (crates/tern-queue).
pub const OUTBOUND: &[Field] = &[
    f("smarthost", Kind::Addr),
    f("smarthost_user", Kind::Str),
    f("smarthost_password_file", Kind::Path),
    f("smarthost_tls", Kind::OneOf(&["starttls", "tls", "none"])),
    f("smarthost_ca_file", Kind::Path),
    f("mta_sts", Kind::Bool),
    f("dane", Kind::Bool),
    f("tls_ca_file", Kind::Path),
    f("port", Kind::UInt(65_535)),
    f("max_lifetime", Kind::Duration),
    f("delay_warning", Kind::Duration),
    f("retry_base", Kind::Duration),
    f("retry_max", Kind::Duration),
    f("concurrency", Kind::UInt(10_000)),
    f("concurrency_per_destination", Kind::UInt(1_000)),
    f("connect_timeout", Kind::Duration),
    f("command_timeout", Kind::Duration),
];

/// The whole file.
pub const ROOT: &[Field] = &[
    f("spam", Kind::Table(super::gateway::SPAM)),
    f("virus", Kind::Table(super::gateway::VIRUS)),
    f("milter", Kind::Table(super::gateway::MILTER)),
    f("ratelimit", Kind::Table(super::gateway::RATELIMIT)),
    f("auth_results", Kind::Table(super::msgauth::AUTH_RESULTS)),
    f("dkim", Kind::Table(super::msgauth::DKIM)),
    f("migration", Kind::Table(super::migration::MIGRATION)),
    f("hostname", Kind::Str),
    f("data_dir", Kind::Path),
    f("local_domains", Kind::StrList),
    f("listen", Kind::Table(LISTEN)),
    f(
        "tls",
        Kind::Table(&[f("cert", Kind::Path), f("key", Kind::Path)]),
    ),
    f("quota", Kind::Table(&[f("default", Kind::Size)])),
    f(
        "auth",
        Kind::Table(&[
            f("allow_plaintext", Kind::Bool),
            f("mechanisms", Kind::StrList),
            f("socket", Kind::Path),
            f("socket_mode", Kind::Str),
            f("socket_owner", Kind::Str),
            f("socket_group", Kind::Str),
        ]),
    ),
    f("dns", Kind::Table(&[f("nameservers", Kind::AddrList)])),
    f(
        "sieve",
        Kind::Table(&[
            f("max_script_size", Kind::Size),
            f("max_scripts", Kind::UInt(100_000)),
            f("max_redirects", Kind::UInt(1_000)),
        ]),
    ),
    f("outbound", Kind::Table(OUTBOUND)),
    f("provision", Kind::Table(super::provision::PROVISION)),
    f(
        "directory",
        Kind::Table(&[
            f("kind", Kind::OneOf(DIRECTORY_KINDS)),
            f("urls", Kind::StrList),
            f("base_dn", Kind::Str),
            f("bind_dn", Kind::Str),
            f("bind_password_file", Kind::Path),
            f("bind_mechanism", Kind::OneOf(&["simple", "gssapi"])),
            f("bind_keytab", Kind::Path),
            f("bind_principal", Kind::Str),
            f("sasl_host", Kind::Str),
            f("mail_group", Kind::Str),
            f("quota_attribute", Kind::Str),
            f("ca_file", Kind::Path),
            f("starttls", Kind::Bool),
            f("timeout", Kind::Duration),
            f("pool_size", Kind::UInt(1024)),
            f("page_size", Kind::UInt(100_000)),
            f("user_filter", Kind::Str),
            f("address_filter", Kind::Str),
            f("group_filter", Kind::Str),
            f(
                "cache",
                Kind::Table(&[
                    f("positive_ttl", Kind::Duration),
                    f("negative_ttl", Kind::Duration),
                    f("credential_ttl", Kind::Duration),
                    f("max_entries", Kind::UInt(100_000_000)),
                    f("serve_stale", Kind::Duration),
                ]),
            ),
        ]),
    ),
    f(
        "kerberos",
        Kind::Table(&[
            f("realm", Kind::Str),
            f("kdcs", Kind::AddrList),
            f("keytab", Kind::Path),
            f("service_principals", Kind::StrList),
            f("principal_map", Kind::OneOf(&["localpart", "principal"])),
            f("timeout", Kind::Duration),
        ]),
    ),
    f(
        "limits",
        Kind::Table(&[
            f("max_message_size", Kind::Size),
            f("max_connections", Kind::UInt(1_000_000)),
            f("max_line_length", Kind::Size),
            f("max_literal_size", Kind::Size),
            f("max_recipients", Kind::UInt(100_000)),
            f("preauth_timeout", Kind::Duration),
            f("imap_idle_timeout", Kind::Duration),
            f("pop3_idle_timeout", Kind::Duration),
            f("lmtp_timeout", Kind::Duration),
            f("smtp_timeout", Kind::Duration),
            f("tls_handshake_timeout", Kind::Duration),
            f("shutdown_grace", Kind::Duration),
            f("blob_gc_interval", Kind::Duration),
            f("metadata_cache", Kind::Size),
        ]),
    ),
];

/// A problem with one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyError {
    /// Dotted path, e.g. `listen.imap[1]`; `line N` for a syntax error.
    pub key: String,
    pub reason: String,
}

/// Checks `table` against `fields`, appending one [`KeyError`] per problem and removing each
/// bad entry from `table` (so the rest can still be deserialized and checked).
pub fn check_table(
    table: &mut toml::Table,
    fields: &[Field],
    prefix: &str,
    errors: &mut Vec<KeyError>,
) {
    let keys: Vec<String> = table.keys().cloned().collect();
    for key in keys {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        let Some(field) = fields.iter().find(|f| f.key == key) else {
            let known: Vec<&str> = fields.iter().map(|f| f.key).collect();
            errors.push(KeyError {
                key: path,
                reason: format!("unknown key (known here: {})", known.join(", ")),
            });
            table.remove(&key);
            continue;
        };
        let value = table.get_mut(&key).expect("key listed");
        if !check_value(value, field.kind, &path, errors) {
            table.remove(&key);
        }
    }
}

/// Checks one value; returns whether it is usable. Lists drop only their bad items.
fn check_value(
    value: &mut toml::Value,
    kind: Kind,
    path: &str,
    errors: &mut Vec<KeyError>,
) -> bool {
    let mut err = |reason: String| {
        errors.push(KeyError {
            key: path.to_string(),
            reason,
        })
    };
    match kind {
        Kind::Str | Kind::Path => match value.as_str() {
            Some(s) if s.trim().is_empty() => {
                err("must not be empty".into());
                false
            }
            Some(_) => true,
            None => {
                err(format!("expected a string, found {}", describe(value)));
                false
            }
        },
        Kind::Bool => {
            value.is_bool() || {
                err(format!("expected true or false, found {}", describe(value)));
                false
            }
        }
        Kind::UInt(max) => match value.as_integer() {
            Some(n) if n >= 0 && (n as u64) <= max => true,
            Some(n) => {
                err(format!("{n} is out of range (0 to {max})"));
                false
            }
            None => {
                err(format!("expected an integer, found {}", describe(value)));
                false
            }
        },
        Kind::Size => match value {
            toml::Value::Integer(n) if *n >= 0 => true,
            toml::Value::String(s) => match units::parse_size(s) {
                Ok(_) => true,
                Err(e) => {
                    err(e);
                    false
                }
            },
            _ => {
                err(format!(
                    "expected a size such as \"50MB\", found {}",
                    describe(value)
                ));
                false
            }
        },
        Kind::Duration => match value {
            toml::Value::Integer(n) if *n >= 0 => true,
            toml::Value::String(s) => match units::parse_duration(s) {
                Ok(_) => true,
                Err(e) => {
                    err(e);
                    false
                }
            },
            _ => {
                err(format!(
                    "expected a duration such as \"30s\" or \"5m\", found {}",
                    describe(value)
                ));
                false
            }
        },
        Kind::Addr => match value.as_str() {
            Some(s) => match units::check_addr_port(s) {
                Ok(()) => true,
                Err(e) => {
                    err(e);
                    false
                }
            },
            None => {
                err(format!("expected \"addr:port\", found {}", describe(value)));
                false
            }
        },
        Kind::OneOf(allowed) => match value.as_str() {
            Some(s) if allowed.contains(&s) => true,
            Some(s) => {
                err(format!("{s:?} is not one of {}", allowed.join(", ")));
                false
            }
            None => {
                err(format!(
                    "expected one of {}, found {}",
                    allowed.join(", "),
                    describe(value)
                ));
                false
            }
        },
        Kind::StrList | Kind::AddrList => {
            let Some(items) = value.as_array_mut() else {
                err(format!(
                    "expected a list of strings, found {}",
                    describe(value)
                ));
                return false;
            };
            let mut ok = Vec::with_capacity(items.len());
            for (i, item) in items.drain(..).enumerate() {
                let item_path = format!("{path}[{i}]");
                let item_kind = if matches!(kind, Kind::AddrList) {
                    Kind::Addr
                } else {
                    Kind::Str
                };
                let mut item = item;
                if check_value(&mut item, item_kind, &item_path, errors) {
                    ok.push(item);
                }
            }
            *items = ok;
            true
        }
        Kind::Table(fields) => match value.as_table_mut() {
            Some(t) => {
                check_table(t, fields, path, errors);
                true
            }
            None => {
                err(format!("expected a table, found {}", describe(value)));
                false
            }
        },
    }
}

fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("the string {s:?}"),
        toml::Value::Integer(n) => format!("the integer {n}"),
        toml::Value::Float(x) => format!("the number {x}"),
        toml::Value::Boolean(b) => format!("{b}"),
        toml::Value::Datetime(d) => format!("the date {d}"),
        toml::Value::Array(_) => "a list".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

/// A TOML value exercising `kind` (used by tests to prove the schema and serde agree).
#[cfg(test)]
pub fn sample(kind: Kind) -> toml::Value {
    use toml::Value;
    match kind {
        Kind::Str => Value::String("x".into()),
        Kind::Path => Value::String("/nonexistent/x".into()),
        Kind::Bool => Value::Boolean(true),
        Kind::UInt(_) => Value::Integer(7),
        Kind::Size => Value::String("1MB".into()),
        Kind::Duration => Value::String("5m".into()),
        Kind::StrList => Value::Array(vec![Value::String("x".into())]),
        Kind::AddrList => Value::Array(vec![Value::String("127.0.0.1:0".into())]),
        Kind::Addr => Value::String("127.0.0.1:25".into()),
        Kind::OneOf(v) => Value::String(v[0].into()),
        Kind::Table(fields) => Value::Table(
            fields
                .iter()
                .map(|f| (f.key.to_string(), sample(f.kind)))
                .collect(),
        ),
    }
}
