//! Tokens → [`Command`] (RFC 5804 §2), no I/O. Command names are case-insensitive; every
//! argument is a string (quoted or literal) except HAVESPACE's size, a number.

use crate::framing::Token;

/// Longest script name accepted, in characters (RFC 5804 §1.6 leaves it to the server).
pub const MAX_NAME_CHARS: usize = 128;

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Authenticate {
        mechanism: String,
        /// The initial response, still base64.
        initial: Option<Vec<u8>>,
    },
    StartTls,
    Logout,
    Capability,
    Noop(Option<String>),
    Unauthenticate,
    HaveSpace {
        name: String,
        size: u64,
    },
    PutScript {
        name: String,
        content: Vec<u8>,
    },
    ListScripts,
    SetActive(String),
    GetScript(String),
    DeleteScript(String),
    RenameScript {
        old: String,
        new: String,
    },
    CheckScript(Vec<u8>),
}

/// Why a command could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("Unknown command {0}")]
    Unknown(String),
    #[error("{0}")]
    Arguments(String),
    #[error("Invalid script name: {0}")]
    BadName(&'static str),
}

/// Parses the tokens of one command.
pub fn parse(tokens: Vec<Token>) -> Result<Command, ParseError> {
    let mut it = tokens.into_iter();
    let name = match it.next() {
        Some(Token::Atom(name)) => name.to_ascii_uppercase(),
        _ => {
            return Err(ParseError::Arguments(
                "a command starts with its name".into(),
            ));
        }
    };
    let args: Vec<Token> = it.collect();
    let want = |n: usize| -> Result<(), ParseError> {
        if args.len() == n {
            Ok(())
        } else {
            Err(ParseError::Arguments(format!(
                "{name} takes {n} argument{}",
                if n == 1 { "" } else { "s" }
            )))
        }
    };
    let cmd = match name.as_str() {
        "AUTHENTICATE" => {
            if args.is_empty() || args.len() > 2 {
                return Err(ParseError::Arguments(
                    "AUTHENTICATE takes a mechanism and an optional initial response".into(),
                ));
            }
            let mechanism = text(&args[0], "mechanism")?.to_ascii_uppercase();
            let initial = args
                .get(1)
                .map(|t| string(t, "initial response"))
                .transpose()?;
            Command::Authenticate { mechanism, initial }
        }
        "STARTTLS" => want(0).map(|()| Command::StartTls)?,
        "LOGOUT" => want(0).map(|()| Command::Logout)?,
        "CAPABILITY" => want(0).map(|()| Command::Capability)?,
        "UNAUTHENTICATE" => want(0).map(|()| Command::Unauthenticate)?,
        "LISTSCRIPTS" => want(0).map(|()| Command::ListScripts)?,
        "NOOP" => {
            if args.len() > 1 {
                return Err(ParseError::Arguments("NOOP takes at most one tag".into()));
            }
            Command::Noop(args.first().map(|t| text(t, "tag")).transpose()?)
        }
        "HAVESPACE" => {
            want(2)?;
            let Token::Number(size) = args[1] else {
                return Err(ParseError::Arguments(
                    "HAVESPACE size must be a number".into(),
                ));
            };
            Command::HaveSpace {
                name: script_name(&args[0])?,
                size,
            }
        }
        "PUTSCRIPT" => {
            want(2)?;
            Command::PutScript {
                name: script_name(&args[0])?,
                content: string(&args[1], "script")?,
            }
        }
        "CHECKSCRIPT" => {
            want(1)?;
            Command::CheckScript(string(&args[0], "script")?)
        }
        // SETACTIVE "" deactivates: the empty name is allowed there only.
        "SETACTIVE" => {
            want(1)?;
            let name = text(&args[0], "script name")?;
            if name.is_empty() {
                Command::SetActive(name)
            } else {
                Command::SetActive(script_name(&args[0])?)
            }
        }
        "GETSCRIPT" => {
            want(1)?;
            Command::GetScript(script_name(&args[0])?)
        }
        "DELETESCRIPT" => {
            want(1)?;
            Command::DeleteScript(script_name(&args[0])?)
        }
        "RENAMESCRIPT" => {
            want(2)?;
            Command::RenameScript {
                old: script_name(&args[0])?,
                new: script_name(&args[1])?,
            }
        }
        _ => return Err(ParseError::Unknown(name)),
    };
    Ok(cmd)
}

/// A string argument's octets (quoted or literal). An atom is accepted too: clients
/// sometimes send a mechanism name bare.
fn string(t: &Token, what: &str) -> Result<Vec<u8>, ParseError> {
    match t {
        Token::Str(s) => Ok(s.clone()),
        Token::Atom(a) => Ok(a.as_bytes().to_vec()),
        Token::Number(_) => Err(ParseError::Arguments(format!("{what} must be a string"))),
    }
}

/// A string argument that must be UTF-8.
fn text(t: &Token, what: &str) -> Result<String, ParseError> {
    String::from_utf8(string(t, what)?)
        .map_err(|_| ParseError::Arguments(format!("{what} is not UTF-8")))
}

/// RFC 5804 §1.6: a script name is non-empty UTF-8 without control characters
/// (0000-001F, 007F-009F, 2028, 2029); its length is bounded here.
fn script_name(t: &Token) -> Result<String, ParseError> {
    let Token::Str(bytes) = t else {
        return Err(ParseError::BadName("must be a string"));
    };
    let name = std::str::from_utf8(bytes).map_err(|_| ParseError::BadName("not UTF-8"))?;
    check_name(name)?;
    Ok(name.to_string())
}

/// The RFC 5804 §1.6 rules for a script name.
pub fn check_name(name: &str) -> Result<(), ParseError> {
    if name.is_empty() {
        return Err(ParseError::BadName("empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ParseError::BadName("too long"));
    }
    if name
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        return Err(ParseError::BadName("control character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Token {
        Token::Str(v.as_bytes().to_vec())
    }

    fn a(v: &str) -> Token {
        Token::Atom(v.into())
    }

    #[test]
    fn commands() {
        let cases: Vec<(Vec<Token>, Command)> = vec![
            (vec![a("capability")], Command::Capability),
            (
                vec![a("Authenticate"), s("plain"), s("AGEAYg==")],
                Command::Authenticate {
                    mechanism: "PLAIN".into(),
                    initial: Some(b"AGEAYg==".to_vec()),
                },
            ),
            (
                vec![a("AUTHENTICATE"), a("LOGIN")],
                Command::Authenticate {
                    mechanism: "LOGIN".into(),
                    initial: None,
                },
            ),
            (
                vec![a("NOOP"), s("STARTTLS-SYNC-42")],
                Command::Noop(Some("STARTTLS-SYNC-42".into())),
            ),
            (
                vec![a("HAVESPACE"), s("s"), Token::Number(10)],
                Command::HaveSpace {
                    name: "s".into(),
                    size: 10,
                },
            ),
            (
                vec![a("PUTSCRIPT"), s("é"), s("keep;")],
                Command::PutScript {
                    name: "é".into(),
                    content: b"keep;".to_vec(),
                },
            ),
            (
                vec![a("SETACTIVE"), s("")],
                Command::SetActive(String::new()),
            ),
            (
                vec![a("RENAMESCRIPT"), s("a"), s("b")],
                Command::RenameScript {
                    old: "a".into(),
                    new: "b".into(),
                },
            ),
            (
                vec![a("CHECKSCRIPT"), s("x")],
                Command::CheckScript(b"x".to_vec()),
            ),
        ];
        for (tokens, want) in cases {
            assert_eq!(parse(tokens.clone()), Ok(want), "{tokens:?}");
        }
    }

    #[test]
    fn refusals() {
        let bad: Vec<Vec<Token>> = vec![
            vec![s("CAPABILITY")],
            vec![a("FROB")],
            vec![a("CAPABILITY"), s("x")],
            vec![a("HAVESPACE"), s("x"), s("10")],
            vec![a("HAVESPACE"), s("x")],
            vec![a("PUTSCRIPT"), s(""), s("keep;")],
            vec![a("PUTSCRIPT"), s("a\nb"), s("keep;")],
            vec![a("PUTSCRIPT"), a("bare"), s("keep;")],
            vec![a("GETSCRIPT"), Token::Str(vec![0xff])],
            vec![a("GETSCRIPT"), s(&"x".repeat(129))],
            vec![a("DELETESCRIPT"), s("a\u{2028}")],
            vec![a("AUTHENTICATE")],
            vec![a("NOOP"), s("a"), s("b")],
            vec![Token::Number(1)],
        ];
        for tokens in bad {
            assert!(parse(tokens.clone()).is_err(), "{tokens:?}");
        }
    }
}
