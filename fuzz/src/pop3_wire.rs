//! Well-formedness of a POP3 server's output (RFC 1939 §3, RFC 2449 §4 and §8, RFC 5034 §4).
//!
//! Every line ends with CRLF and holds no other CR or LF (message lines included: RETR and
//! TOP send CRLF line ends even for a message stored with bare LFs). A status line is
//! `+OK`, `-ERR` (each alone or followed by SP and text), or a SASL continuation `+ `
//! (with optional base64); it is at most 512 octets with its CRLF (RFC 2449 §4), and a
//! `[` response code after `-ERR ` is closed. The first line is a `+OK` greeting.
//!
//! A multi-line response is told apart from single-line ones without knowing the command:
//! after a `+OK`, a line that is not a status line starts a multi-line body, which must end
//! with a lone `.`; inside it every line starting with `.` is dot-stuffed (`..`). This is
//! sound only when no message or listing line looks like a status line — true of the
//! fuzzing backend's seed messages ([`crate::backend::SEED_MESSAGES`]) and of CAPA, LIST,
//! UIDL and the AUTH mechanism list. Output must not end inside a multi-line body.

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Status,
    /// After `+OK`: a status line, or the first line of a multi-line body.
    MaybeBody,
    Body,
}

/// Checks `output`.
pub fn check(output: &[u8]) -> Result<(), String> {
    let mut state = State::Status;
    let mut pos = 0;
    let mut first = true;
    while pos < output.len() {
        let Some(eol) = memchr::memmem::find(&output[pos..], b"\r\n").map(|i| pos + i) else {
            return Err(format!("unterminated line at {pos}"));
        };
        let line = &output[pos..eol];
        pos = eol + 2;
        let shown = || String::from_utf8_lossy(&line[..line.len().min(300)]).into_owned();
        if line.iter().any(|&b| b == b'\r' || b == b'\n') {
            return Err(format!("bare CR or LF in {:?}", shown()));
        }
        if first {
            if !is_ok(line) {
                return Err(format!("greeting is not +OK: {:?}", shown()));
            }
            first = false;
        }
        let status = is_status(line);
        state = match state {
            State::Status | State::MaybeBody if status => {
                check_status(line).map_err(|e| format!("{e}: {:?}", shown()))?;
                if is_ok(line) {
                    State::MaybeBody
                } else {
                    State::Status
                }
            }
            State::Status => return Err(format!("not a status line: {:?}", shown())),
            State::MaybeBody | State::Body => {
                if line == b"." {
                    State::Status
                } else if line.starts_with(b".") && !line.starts_with(b"..") {
                    return Err(format!(
                        "line starting with '.' not dot-stuffed: {:?}",
                        shown()
                    ));
                } else {
                    State::Body
                }
            }
        };
    }
    if state == State::Body {
        return Err("output ends inside a multi-line response".into());
    }
    Ok(())
}

fn is_ok(line: &[u8]) -> bool {
    line == b"+OK" || line.starts_with(b"+OK ")
}

fn is_err(line: &[u8]) -> bool {
    line == b"-ERR" || line.starts_with(b"-ERR ")
}

fn is_status(line: &[u8]) -> bool {
    is_ok(line) || is_err(line) || line.starts_with(b"+ ")
}

fn check_status(line: &[u8]) -> Result<(), String> {
    if line.len() + 2 > 512 {
        return Err(format!("status line of {} octets", line.len() + 2));
    }
    if let Some(text) = line.strip_prefix(b"-ERR ")
        && text.starts_with(b"[")
        && !text.contains(&b']')
    {
        return Err("unclosed response code".into());
    }
    if let Some(challenge) = line.strip_prefix(b"+ ")
        && !challenge
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
    {
        return Err("SASL challenge is not base64".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_a_normal_transcript() {
        let out = b"+OK ready\r\n+OK\r\nTOP\r\nUSER\r\n.\r\n-ERR [AUTH] no\r\n+ \r\n\
+OK logged in\r\n+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n+OK 120 octets\r\n\
From: a\r\n\r\n..dot\r\n.\r\n+OK\r\n.\r\n+OK bye\r\n";
        check(out).unwrap();
    }

    #[test]
    fn rejects_malformed_output() {
        let bad: &[&[u8]] = &[
            b"-ERR no greeting\r\n",
            b"+OK hi\r\n-ERR x",                  // unterminated
            b"+OK hi\r\nhello\r\n",               // body never ends
            b"+OK hi\r\n+OK\r\n.dot\r\n.\r\n",    // not stuffed
            b"+OK hi\r\n-ERR a\r\nbody\r\n.\r\n", // body after -ERR
            b"+OK hi\r\n+OK\r\na\nb\r\n.\r\n",    // bare LF
            b"+OK hi\r\n-ERR [SYS/TEMP oops\r\n", // unclosed code
            b"+OK hi\r\n+ not base64!\r\n",
            b"+OK hi\r\n+OKAY\r\n", // not a status line
        ];
        for out in bad {
            assert!(
                check(out).is_err(),
                "accepted {:?}",
                String::from_utf8_lossy(out)
            );
        }
        let long = [&b"+OK hi\r\n-ERR "[..], &[b'x'; 600], b"\r\n"].concat();
        assert!(check(&long).is_err());
    }
}
