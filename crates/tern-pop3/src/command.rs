//! Parsing one POP3 command line (CRLF already removed) into a [`Command`]. No I/O.
//!
//! RFC 1939 §3: a case-insensitive keyword, then arguments separated by a space. This
//! parser accepts runs of spaces between arguments, except that USER and PASS take the rest
//! of the line verbatim (RFC 1939 §7 allows spaces in a password: "the POP3 server may treat
//! spaces in the argument as part of the password").

/// A message number as the client wrote it (1-based; 0 and out-of-range numbers parse and
/// are refused against the maildrop).
pub(crate) type Msn = u32;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// RFC 2449 §5.
    Capa,
    /// RFC 2595 §4.
    Stls,
    User(String),
    Pass(String),
    /// RFC 5034 §4. `mechanism: None` is the bare `AUTH` listing (RFC 1734 draft form).
    Auth {
        mechanism: Option<String>,
        initial: Option<String>,
    },
    Stat,
    List(Option<Msn>),
    Uidl(Option<Msn>),
    Retr(Msn),
    /// `TOP msg n`: headers and the first `n` body lines.
    Top(Msn, u32),
    Dele(Msn),
    Noop,
    Rset,
    Quit,
}

/// Why a line is not a command; mapped to `-ERR` by the session.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ParseError {
    #[error("Unknown command")]
    Unknown,
    #[error("{0}")]
    Syntax(&'static str),
}

/// Parses a command line.
pub(crate) fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::Syntax("Invalid characters"))?;
    let (keyword, rest) = match line.split_once(' ') {
        Some((k, r)) => (k, Some(r)),
        None => (line, None),
    };
    let upper = keyword.to_ascii_uppercase();
    let args: Vec<&str> = rest
        .map(|r| r.split(' ').filter(|a| !a.is_empty()).collect())
        .unwrap_or_default();
    let cmd = match upper.as_str() {
        "CAPA" => none(&args, Command::Capa)?,
        "STLS" => none(&args, Command::Stls)?,
        "USER" => Command::User(verbatim(rest, "USER needs a name")?),
        "PASS" => Command::Pass(verbatim(rest, "PASS needs a password")?),
        "AUTH" => match args.as_slice() {
            [] => Command::Auth {
                mechanism: None,
                initial: None,
            },
            [m] => Command::Auth {
                mechanism: Some(m.to_ascii_uppercase()),
                initial: None,
            },
            [m, ir] => Command::Auth {
                mechanism: Some(m.to_ascii_uppercase()),
                initial: Some((*ir).to_string()),
            },
            _ => return Err(ParseError::Syntax("Too many arguments")),
        },
        "STAT" => none(&args, Command::Stat)?,
        "LIST" => Command::List(optional_msn(&args)?),
        "UIDL" => Command::Uidl(optional_msn(&args)?),
        "RETR" => Command::Retr(one_msn(&args)?),
        "DELE" => Command::Dele(one_msn(&args)?),
        "TOP" => match args.as_slice() {
            [m, n] => Command::Top(msn(m)?, lines(n)?),
            _ => {
                return Err(ParseError::Syntax(
                    "TOP needs a message number and a line count",
                ));
            }
        },
        "NOOP" => none(&args, Command::Noop)?,
        "RSET" => none(&args, Command::Rset)?,
        "QUIT" => none(&args, Command::Quit)?,
        _ => return Err(ParseError::Unknown),
    };
    Ok(cmd)
}

fn none(args: &[&str], cmd: Command) -> Result<Command, ParseError> {
    if args.is_empty() {
        Ok(cmd)
    } else {
        Err(ParseError::Syntax("Too many arguments"))
    }
}

fn verbatim(rest: Option<&str>, missing: &'static str) -> Result<String, ParseError> {
    match rest {
        Some(r) if !r.is_empty() => Ok(r.to_string()),
        _ => Err(ParseError::Syntax(missing)),
    }
}

fn optional_msn(args: &[&str]) -> Result<Option<Msn>, ParseError> {
    match args {
        [] => Ok(None),
        [m] => msn(m).map(Some),
        _ => Err(ParseError::Syntax("Too many arguments")),
    }
}

fn one_msn(args: &[&str]) -> Result<Msn, ParseError> {
    match args {
        [m] => msn(m),
        [] => Err(ParseError::Syntax("Message number required")),
        _ => Err(ParseError::Syntax("Too many arguments")),
    }
}

/// Digits only. A number too large for any maildrop becomes `u32::MAX` (no such message).
fn msn(s: &str) -> Result<Msn, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Syntax("Invalid message number"));
    }
    Ok(s.parse().unwrap_or(u32::MAX))
}

/// TOP's line count: a non-negative number (RFC 1939 §7); huge values mean "all".
fn lines(s: &str) -> Result<u32, ParseError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::Syntax("Invalid line count"));
    }
    Ok(s.parse().unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1939_examples_and_variants() {
        use Command::*;
        let table: &[(&str, Command)] = &[
            ("CAPA", Capa),
            ("capa", Capa),
            ("STLS", Stls),
            ("USER mrose", User("mrose".into())),
            ("PASS secret", Pass("secret".into())),
            (
                "PASS with spaces  inside ",
                Pass("with spaces  inside ".into()),
            ),
            ("user alice@example.test", User("alice@example.test".into())),
            ("STAT", Stat),
            ("LIST", List(None)),
            ("LIST 2", List(Some(2))),
            ("list  3", List(Some(3))),
            ("UIDL", Uidl(None)),
            ("UIDL 1", Uidl(Some(1))),
            ("RETR 1", Retr(1)),
            ("DELE 1", Dele(1)),
            ("TOP 1 10", Top(1, 10)),
            ("TOP 1 0", Top(1, 0)),
            ("TOP 1 99999999999", Top(1, u32::MAX)),
            ("RETR 99999999999", Retr(u32::MAX)),
            ("RETR 0", Retr(0)),
            ("NOOP", Noop),
            ("RSET", Rset),
            ("QUIT", Quit),
            (
                "AUTH",
                Auth {
                    mechanism: None,
                    initial: None,
                },
            ),
            (
                "AUTH plain",
                Auth {
                    mechanism: Some("PLAIN".into()),
                    initial: None,
                },
            ),
            (
                "AUTH PLAIN AGFsaWNlAHB3",
                Auth {
                    mechanism: Some("PLAIN".into()),
                    initial: Some("AGFsaWNlAHB3".into()),
                },
            ),
            (
                "AUTH PLAIN =",
                Auth {
                    mechanism: Some("PLAIN".into()),
                    initial: Some("=".into()),
                },
            ),
        ];
        for (line, want) in table {
            assert_eq!(parse(line.as_bytes()).as_ref(), Ok(want), "{line:?}");
        }
    }

    #[test]
    fn malformed_lines() {
        let table: &[(&[u8], ParseError)] = &[
            (b"", ParseError::Unknown),
            (b"FOO", ParseError::Unknown),
            (
                b"APOP mrose c4c9334bac560ecc979e58001b3e22fb",
                ParseError::Unknown,
            ),
            (b"LAST", ParseError::Unknown),
            (b"RETR", ParseError::Syntax("Message number required")),
            (b"RETR x", ParseError::Syntax("Invalid message number")),
            (b"RETR -1", ParseError::Syntax("Invalid message number")),
            (b"RETR 1 2", ParseError::Syntax("Too many arguments")),
            (b"DELE", ParseError::Syntax("Message number required")),
            (b"LIST 1 2", ParseError::Syntax("Too many arguments")),
            (
                b"TOP 1",
                ParseError::Syntax("TOP needs a message number and a line count"),
            ),
            (b"TOP 1 -1", ParseError::Syntax("Invalid line count")),
            (b"STAT now", ParseError::Syntax("Too many arguments")),
            (b"QUIT please", ParseError::Syntax("Too many arguments")),
            (b"USER", ParseError::Syntax("USER needs a name")),
            (b"USER ", ParseError::Syntax("USER needs a name")),
            (b"PASS", ParseError::Syntax("PASS needs a password")),
            (b"AUTH PLAIN a b", ParseError::Syntax("Too many arguments")),
            (b"USER \xff", ParseError::Syntax("Invalid characters")),
        ];
        for (line, want) in table {
            assert_eq!(
                parse(line).as_ref(),
                Err(want),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
