//! Server responses (RFC 5804 §1.3, §4): `OK`/`NO`/`BYE` with an optional response code and
//! human-readable text, and strings encoded as quoted strings or, when they cannot be quoted
//! (CR, LF, NUL, or long), as literals `{N}`.

/// Longest string sent quoted; longer ones go as literals.
const MAX_QUOTED: usize = 1024;

/// A response code (RFC 5804 §1.3), written in parentheses after `OK`/`NO`/`BYE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Code {
    QuotaMaxSize,
    QuotaMaxScripts,
    NonExistent,
    Active,
    AlreadyExists,
    TryLater,
    EncryptNeeded,
    /// NOOP's `(TAG "x")`.
    Tag(String),
    /// A SASL mechanism's final server data, base64: `(SASL "...")` (RFC 5804 §2.1).
    Sasl(String),
}

impl Code {
    fn write(&self, out: &mut Vec<u8>) {
        let atom = match self {
            Code::QuotaMaxSize => "QUOTA/MAXSIZE",
            Code::QuotaMaxScripts => "QUOTA/MAXSCRIPTS",
            Code::NonExistent => "NONEXISTENT",
            Code::Active => "ACTIVE",
            Code::AlreadyExists => "ALREADYEXISTS",
            Code::TryLater => "TRYLATER",
            Code::EncryptNeeded => "ENCRYPT-NEEDED",
            Code::Tag(tag) => return Code::with_string(out, b"(TAG ", tag),
            Code::Sasl(data) => return Code::with_string(out, b"(SASL ", data),
        };
        out.push(b'(');
        out.extend_from_slice(atom.as_bytes());
        out.push(b')');
    }

    fn with_string(out: &mut Vec<u8>, open: &[u8], value: &str) {
        out.extend_from_slice(open);
        string(out, value.as_bytes());
        out.push(b')');
    }
}

/// Appends `s` as a quoted string, or as a literal when quoting cannot carry it.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() <= MAX_QUOTED && !s.iter().any(|&c| matches!(c, b'\r' | b'\n' | 0));
    if quotable {
        out.push(b'"');
        for &c in s {
            if c == b'"' || c == b'\\' {
                out.push(b'\\');
            }
            out.push(c);
        }
        out.push(b'"');
    } else {
        literal(out, s);
    }
}

/// Appends `s` as a literal `{N}\r\n` + octets.
pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// Buffered response output.
#[derive(Default)]
pub struct Out {
    pub buf: Vec<u8>,
}

impl Out {
    fn status(&mut self, word: &str, code: Option<&Code>, text: &str) {
        self.buf.extend_from_slice(word.as_bytes());
        if let Some(code) = code {
            self.buf.push(b' ');
            code.write(&mut self.buf);
        }
        if !text.is_empty() {
            self.buf.push(b' ');
            string(&mut self.buf, text.as_bytes());
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self, code: Option<&Code>, text: &str) {
        self.status("OK", code, text);
    }

    pub fn no(&mut self, code: Option<&Code>, text: &str) {
        self.status("NO", code, text);
    }

    pub fn bye(&mut self, code: Option<&Code>, text: &str) {
        self.status("BYE", code, text);
    }

    /// A capability line: `"NAME"` or `"NAME" "value"`.
    pub fn capability(&mut self, name: &str, value: Option<&str>) {
        string(&mut self.buf, name.as_bytes());
        if let Some(value) = value {
            self.buf.push(b' ');
            string(&mut self.buf, value.as_bytes());
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A SASL server challenge (already base64) on a line of its own, always as a literal
    /// `{N}`: RFC 5804 §4 allows a quoted string too, but Cyrus's clients (`sivtest`,
    /// timsieved's own form) read only literals, and every client reads those.
    pub fn challenge(&mut self, b64: &str) {
        literal(&mut self.buf, b64.as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Raw bytes (a LISTSCRIPTS line, a GETSCRIPT literal).
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        let mut out = Out::default();
        out.ok(None, "");
        out.no(Some(&Code::QuotaMaxSize), "too \"big\"");
        out.no(Some(&Code::Tag("t 1".into())), "x\\y");
        out.bye(None, "line 1\r\nline 2");
        out.ok(Some(&Code::Sasl("dj1ybWY=".into())), "Logged in");
        out.capability("SASL", Some("PLAIN LOGIN"));
        out.capability("STARTTLS", None);
        out.challenge("");
        out.challenge("VXNlcm5hbWU6");
        assert_eq!(
            String::from_utf8(out.buf).unwrap(),
            "OK\r\nNO (QUOTA/MAXSIZE) \"too \\\"big\\\"\"\r\nNO (TAG \"t 1\") \"x\\\\y\"\r\n\
             BYE {14}\r\nline 1\r\nline 2\r\nOK (SASL \"dj1ybWY=\") \"Logged in\"\r\n\"SASL\" \"PLAIN LOGIN\"\r\n\"STARTTLS\"\r\n\
             {0}\r\n\r\n{12}\r\nVXNlcm5hbWU6\r\n"
        );
    }

    #[test]
    fn long_strings_become_literals() {
        let mut out = Vec::new();
        string(&mut out, &[b'a'; 1025]);
        assert!(out.starts_with(b"{1025}\r\naaa"));
    }
}
