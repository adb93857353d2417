//! Value syntaxes shared by config keys and CLI arguments: sizes, durations, `addr:port`.
//!
//! Sizes are decimal like the quota defaults elsewhere in Tern (`200MB` = 200,000,000 octets);
//! the binary `KiB`/`MiB`/`GiB` spellings are accepted too (the parser is tern-mail's, so the
//! config, the CLI and the protocols agree). Durations take `s`/`m`/`h`/`d`.
use serde::{Deserialize, Deserializer, de};
use std::fmt;
use std::time::Duration;

/// Parses `123`, `10KB`, `50MB`, `1GB`, `1.5GB`, `64KiB` (tern-mail's rules, shared with
/// the rest of Tern), with the reason as text for a config error.
pub fn parse_size(text: &str) -> Result<u64, String> {
    tern_mail::parse_size(text).map_err(|e| e.to_string())
}

/// Parses `30s`, `5m`, `1h`, `2d`, `90` (seconds), or a sum such as `1h30m`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let bad = || format!("{text:?} is not a duration (use a number with s, m, h or d)");
    let mut total: u64 = 0;
    let mut rest = t;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        if split == 0 {
            return Err(bad());
        }
        let n: u64 = rest[..split].parse().map_err(|_| bad())?;
        let unit = rest[split..].chars().next().ok_or_else(bad)?;
        let secs = match unit.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        total = n
            .checked_mul(secs)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        rest = &rest[split + 1..];
    }
    Ok(Duration::from_secs(total))
}

/// Checks `addr:port` for a listener or a peer: `0.0.0.0:143`, `[::]:993`, `localhost:24`.
pub fn check_addr_port(text: &str) -> Result<(), String> {
    if text.parse::<std::net::SocketAddr>().is_ok() {
        return Ok(());
    }
    let bad = |why: &str| format!("{text:?} is not addr:port ({why})");
    let (host, port) = text.rsplit_once(':').ok_or_else(|| bad("no port"))?;
    port.parse::<u16>().map_err(|_| bad("bad port"))?;
    if host.is_empty() {
        return Err(bad("no address"));
    }
    if host.contains(':') || host.starts_with('[') {
        return Err(bad("IPv6 addresses go in brackets, like [::1]:143"));
    }
    let hostname_ok = host
        .split('.')
        .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !hostname_ok {
        return Err(bad("bad host name"));
    }
    Ok(())
}

/// A size in octets, written `50MB` (or a bare integer of octets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tern_mail::format_size(self.0))
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Size, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size such as \"50MB\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom("a size cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration, written `30s`, `5m`, `1h`, `2d` (or a bare integer of seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Dur, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"30s\" or \"30m\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Dur, E> {
                u64::try_from(v)
                    .map(|s| Dur(Duration::from_secs(s)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Dur, E> {
                Ok(Dur(Duration::from_secs(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Dur, E> {
                parse_duration(v).map(Dur).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_config_spelling() {
        let cases: &[(&str, Option<u64>)] = &[
            ("123", Some(123)),
            ("50MB", Some(50_000_000)),
            ("200MB", Some(200_000_000)),
            ("1.5GB", Some(1_500_000_000)),
            ("64KiB", Some(65_536)),
            ("", None),
            ("lots", None),
            ("5XB", None),
            ("-1MB", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_size(text).ok(), *want, "{text:?}");
        }
        let size: Size = toml::Value::String("2GB".into()).try_into().unwrap();
        assert_eq!(size, Size(2_000_000_000));
        let size: Size = toml::Value::Integer(512).try_into().unwrap();
        assert_eq!(size, Size(512));
        assert!(toml::Value::Integer(-1).try_into::<Size>().is_err());
    }

    #[test]
    fn durations() {
        let cases: &[(&str, Option<u64>)] = &[
            ("30s", Some(30)),
            ("5m", Some(300)),
            ("1h", Some(3600)),
            ("2d", Some(172_800)),
            ("1h30m", Some(5400)),
            ("90", Some(90)),
            ("", None),
            ("m", None),
            ("5w", None),
            ("5 m", None),
            ("-5s", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_duration(text).ok().map(|d| d.as_secs()),
                *want,
                "{text:?}"
            );
        }
    }

    #[test]
    fn addr_ports() {
        for ok in [
            "0.0.0.0:143",
            "[::]:993",
            "[::1]:0",
            "127.0.0.1:24",
            "localhost:10143",
        ] {
            assert!(check_addr_port(ok).is_ok(), "{ok}");
        }
        for bad in [
            "143",
            "0.0.0.0",
            ":143",
            "::1:143",
            "host:99999",
            "a b:1",
            "host:",
        ] {
            assert!(check_addr_port(bad).is_err(), "{bad}");
        }
    }
}
