//! Well-formedness of an IMAP server's output (RFC 9051 §2.2.2, §7 and the grammar in §9).
//!
//! The output is split into responses: a line up to CRLF, and when it ends with a literal
//! announcement (`{n}` or BINARY's `~{n}`) the `n` octets that follow and the rest of the
//! response after them, up to the next CRLF (which may announce another literal). Each
//! response must begin with one of
//! - `* ` and an upper-case keyword or `number SP keyword` (untagged; `OK`, `NO`, `BAD`,
//!   `BYE`, `PREAUTH` followed by SP, since `resp-cond-*` require it);
//! - `+ ` (a continuation request: `"+" SP (resp-text / base64)`);
//! - `tag SP (OK / NO / BAD) SP`, where the tag is `1*<ASTRING-CHAR except "+">` and was
//!   sent by the client (the server never invents tags).
//!
//! Outside literals no line holds NUL, CR or LF. The first response is the greeting
//! (`* OK`, `* PREAUTH` or `* BYE`). A `[` opening resp-text must be closed on that line.
//! Responses carrying data in the s-expression syntax (FETCH, LIST, LSUB, STATUS) must have
//! balanced parentheses and terminated quoted strings ([`check_sexp`]).
//!
//! After a tagged `OK DEFLATE active` (COMPRESS, RFC 4978) the rest is compressed and is not
//! checked.

/// Checks `output`; `client` is everything the client sent (for the tag check).
pub fn check(output: &[u8], client: &[u8]) -> Result<(), String> {
    let mut pos = 0;
    let mut first = true;
    while pos < output.len() {
        let start = pos;
        let mut head: Option<&[u8]> = None;
        loop {
            let Some(eol) = find_crlf(output, pos) else {
                return Err(format!(
                    "unterminated line at {pos}: {:?}",
                    lossy(&output[pos..])
                ));
            };
            let segment = &output[pos..eol];
            if let Some(bad) = segment.iter().find(|b| matches!(b, 0 | b'\r' | b'\n')) {
                return Err(format!(
                    "octet {bad:#04x} outside a literal at {pos}: {:?}",
                    lossy(segment)
                ));
            }
            if head.is_none() {
                head = Some(segment);
            }
            pos = eol + 2;
            match literal_len(segment) {
                Some(Ok(n)) => {
                    if output.len() - pos < n {
                        return Err(format!(
                            "literal of {n} octets announced at {start} runs past the end"
                        ));
                    }
                    pos += n;
                }
                Some(Err(e)) => return Err(format!("{e} at {start}")),
                None => break,
            }
        }
        let head = head.unwrap_or_default();
        check_head(head, first, client).map_err(|e| format!("{e}: {:?}", lossy(head)))?;
        let response = &output[start..pos - 2];
        if wants_sexp(head) {
            check_sexp(response).map_err(|e| format!("{e}: {:?}", lossy(response)))?;
        }
        if is_deflate_ok(head) {
            return Ok(());
        }
        first = false;
    }
    Ok(())
}

/// The first line of a response.
fn check_head(head: &[u8], first: bool, client: &[u8]) -> Result<(), String> {
    if first {
        let greeting = [&b"* OK "[..], b"* PREAUTH ", b"* BYE "];
        if !greeting.iter().any(|g| head.starts_with(g)) {
            return Err("greeting is not * OK / PREAUTH / BYE".into());
        }
    }
    if let Some(rest) = head.strip_prefix(b"* ") {
        return check_untagged(rest);
    }
    if head.starts_with(b"+ ") {
        return Ok(());
    }
    let Some(sp) = head.iter().position(|&b| b == b' ') else {
        return Err("neither untagged, continuation nor tagged".into());
    };
    let (tag, rest) = (&head[..sp], &head[sp + 1..]);
    if tag.is_empty() || !tag.iter().all(|&b| is_tag_char(b)) {
        return Err("invalid tag".into());
    }
    if memchr::memmem::find(client, tag).is_none() {
        return Err("tag the client never sent".into());
    }
    let text = [&b"OK "[..], b"NO ", b"BAD "]
        .iter()
        .find_map(|c| rest.strip_prefix(*c))
        .ok_or("tagged response is not OK / NO / BAD followed by SP")?;
    check_resp_text(text)
}

fn check_untagged(rest: &[u8]) -> Result<(), String> {
    let (first, after) = split_word(rest);
    if first.is_empty() {
        return Err("empty untagged response".into());
    }
    if first.iter().all(u8::is_ascii_digit) {
        let (keyword, _) = split_word(after);
        return if is_keyword(keyword) {
            Ok(())
        } else {
            Err("number not followed by a keyword".into())
        };
    }
    if !is_keyword(first) {
        return Err("untagged response without a keyword".into());
    }
    let status = [&b"OK"[..], b"NO", b"BAD", b"BYE", b"PREAUTH"];
    if status.contains(&first) {
        let Some(text) = rest[first.len()..].strip_prefix(b" ") else {
            return Err("status response without SP".into());
        };
        return check_resp_text(text);
    }
    Ok(())
}

/// `resp-text = ["[" resp-text-code "]" SP] [text]`: a code opened is closed.
fn check_resp_text(text: &[u8]) -> Result<(), String> {
    if text.first() == Some(&b'[') && !text.contains(&b']') {
        return Err("unclosed response code".into());
    }
    Ok(())
}

fn split_word(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == b' ') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

fn is_keyword(w: &[u8]) -> bool {
    !w.is_empty()
        && w[0].is_ascii_uppercase()
        && w.iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// `ASTRING-CHAR` except `+`: CHAR minus atom-specials (but `]` allowed).
pub fn is_tag_char(b: u8) -> bool {
    (0x21..0x7f).contains(&b) && !b"(){%*\"\\+".contains(&b)
}

fn wants_sexp(head: &[u8]) -> bool {
    let Some(rest) = head.strip_prefix(b"* ") else {
        return false;
    };
    let (first, after) = split_word(rest);
    let keyword = if first.iter().all(u8::is_ascii_digit) {
        split_word(after).0
    } else {
        first
    };
    matches!(keyword, b"FETCH" | b"LIST" | b"LSUB" | b"STATUS")
}

fn is_deflate_ok(head: &[u8]) -> bool {
    match head.iter().position(|&b| b == b' ') {
        Some(sp) if head[0] != b'*' && head[0] != b'+' => {
            head[sp + 1..].starts_with(b"OK DEFLATE active")
        }
        _ => false,
    }
}

/// `Some(Ok(n))` when the segment ends with a literal announcement `{n}` / `~{n}`.
fn literal_len(segment: &[u8]) -> Option<Result<usize, String>> {
    let body = segment.strip_suffix(b"}")?;
    let open = body.iter().rposition(|&b| b == b'{')?;
    let digits = &body[open + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        std::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse::<usize>().ok())
            .ok_or_else(|| "literal length out of range".to_string()),
    )
}

/// Balanced parentheses, terminated quoted strings (`\` escapes only `"` and `\`), and
/// literals whose octets are present, over a whole response (CRLFs inside literals only).
pub fn check_sexp(response: &[u8]) -> Result<(), String> {
    let mut depth: usize = 0;
    let mut i = 0;
    while i < response.len() {
        match response[i] {
            b'(' => depth += 1,
            b')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced ')' at {i}"))?
            }
            b'"' => {
                i += 1;
                loop {
                    match response.get(i) {
                        None => return Err("unterminated quoted string".into()),
                        Some(b'"') => break,
                        Some(b'\\') => match response.get(i + 1) {
                            Some(b'"' | b'\\') => i += 2,
                            _ => return Err(format!("bad escape in quoted string at {i}")),
                        },
                        Some(b'\r' | b'\n') => return Err("CR/LF in quoted string".into()),
                        Some(_) => i += 1,
                    }
                }
            }
            b'{' => {
                let close = response[i..]
                    .iter()
                    .position(|&b| b == b'}')
                    .map(|p| i + p)
                    .ok_or("unclosed literal announcement")?;
                let digits = &response[i + 1..close];
                let n: usize = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| format!("bad literal length at {i}"))?;
                if response.get(close + 1..close + 3) != Some(b"\r\n") {
                    return Err(format!("literal announcement at {i} not followed by CRLF"));
                }
                i = close + 3 + n;
                if i > response.len() {
                    return Err("literal runs past the response".into());
                }
                continue;
            }
            b'\r' | b'\n' => return Err(format!("line break outside a literal at {i}")),
            _ => {}
        }
        i += 1;
    }
    if depth != 0 {
        return Err(format!("{depth} unclosed '('"));
    }
    Ok(())
}

fn find_crlf(s: &[u8], from: usize) -> Option<usize> {
    memchr::memmem::find(&s[from..], b"\r\n").map(|i| from + i)
}

fn lossy(b: &[u8]) -> String {
    let shown = &b[..b.len().min(300)];
    String::from_utf8_lossy(shown).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: &[u8] = b"a1 LOGIN x y\r\na2 FETCH 1 BODY[]\r\n";

    #[test]
    fn accepts_a_normal_transcript() {
        let out = b"* OK [CAPABILITY IMAP4rev2] ready\r\n\
a1 OK [CAPABILITY IMAP4rev2] Logged in\r\n\
* 3 EXISTS\r\n\
* LIST (\\HasNoChildren) \"/\" INBOX\r\n\
* 1 FETCH (UID 1 BODY[] {5}\r\nab\r\nc FLAGS (\\Seen))\r\n\
* 2 FETCH (BINARY[1] ~{3}\r\n\0\r\n)\r\n\
+ Ready\r\n\
a2 OK FETCH done\r\n";
        check(out, CLIENT).unwrap();
    }

    #[test]
    fn rejects_malformed_output() {
        let bad: &[&[u8]] = &[
            b"a1 OK hi\r\n",                                    // greeting missing
            b"* OK hi\r\na1 OK done",                           // unterminated
            b"* OK hi\r\nzz OK done\r\n",                       // tag never sent
            b"* OK hi\r\na1 YES done\r\n",                      // not OK/NO/BAD
            b"* OK hi\r\na1 OK\r\n",                            // no SP after OK
            b"* OK hi\r\n* 1 FETCH (BODY[] {9}\r\nab)\r\n",     // literal past the end
            b"* OK hi\r\n* 1 FETCH (FLAGS (\\Seen)\r\n",        // unbalanced
            b"* OK hi\r\n* LIST () \"/\" \"IN\nBOX\"\r\n",      // LF in a line
            b"* OK hi\r\n* lower case\r\n",                     // no keyword
            b"* OK hi\r\n+\r\n",                                // continuation without SP
            b"* OK hi\r\na1 OK [CAPABILITY IMAP4rev2 done\r\n", // unclosed code
            b"* OK hi\r\n* OK\r\n",                             // status without SP
        ];
        for out in bad {
            assert!(check(out, CLIENT).is_err(), "accepted {:?}", lossy(out));
        }
    }

    #[test]
    fn stops_after_compress() {
        let out = b"* OK hi\r\na1 OK DEFLATE active\r\n\x78\x9c\xff\x00garbage";
        check(out, CLIENT).unwrap();
    }

    #[test]
    fn sexp_rules() {
        check_sexp(b"(a \"b\\\"c\" {2}\r\n)) (d))").unwrap();
        assert!(check_sexp(b"(a").is_err());
        assert!(check_sexp(b"a)").is_err());
        assert!(check_sexp(b"(\"a)").is_err());
        assert!(check_sexp(b"(\"a\\x\")").is_err());
        assert!(check_sexp(b"({5}\r\nab)").is_err());
    }
}
