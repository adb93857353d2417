//! RFC 5322 §3.4 address lists → RFC 9051 §7.5.2 ENVELOPE address structures.
//!
//! The parser works on the raw (unfolded, not decoded) header value: display names keep
//! their RFC 2047 encoded-words, as ENVELOPE requires. It is lenient the way mail readers
//! are (obsolete routes, comments as names, missing domains, unbalanced quotes) and never
//! fails: the worst input yields an empty list.
//!
//! Group syntax (`name: a@x, b@y;`) becomes RFC 9051's markers: a start entry whose
//! `mailbox` is the group name and whose `host` is NIL, the members, then an end entry with
//! everything NIL. A non-group address therefore always has a host: one written without a
//! domain gets [`MISSING_DOMAIN`] (and one without a local part [`MISSING_MAILBOX`]), as
//! Dovecot does, so that clients never mistake it for a group marker.
use tern_store::Address;

/// Host given to an address written without one (so it cannot look like a group marker).
pub const MISSING_DOMAIN: &str = "MISSING_DOMAIN";
/// Mailbox given to an address written without a local part.
pub const MISSING_MAILBOX: &str = "MISSING_MAILBOX";

/// Parses an address-list header value (From, To, Cc, ...).
pub fn parse_address_list(value: &str) -> Vec<Address> {
    let tokens = tokenize(value);
    let mut p = Parser {
        toks: &tokens,
        pos: 0,
        out: Vec::new(),
    };
    p.list();
    p.out
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    /// An atom (or a run of atext and stray characters).
    Atom(String),
    /// A quoted string, unquoted.
    Quoted(String),
    /// A domain literal, brackets kept.
    Literal(String),
    Comment(String),
    Special(char),
}

#[derive(Clone, Debug)]
struct Token {
    kind: Kind,
    /// Whether white space (or a comment) came before the token.
    space_before: bool,
}

fn tokenize(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                space = true;
                i += 1;
            }
            '(' => {
                let mut depth = 0usize;
                let mut text = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    i += 1;
                    match c {
                        '\\' if i < chars.len() => {
                            text.push(chars[i]);
                            i += 1;
                        }
                        '(' => {
                            if depth > 0 {
                                text.push(c);
                            }
                            depth += 1;
                        }
                        ')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                            text.push(c);
                        }
                        _ => text.push(c),
                    }
                }
                out.push(Token {
                    kind: Kind::Comment(text),
                    space_before: space,
                });
                space = true;
            }
            '"' => {
                i += 1;
                let mut text = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    i += 1;
                    match c {
                        '\\' if i < chars.len() => {
                            text.push(chars[i]);
                            i += 1;
                        }
                        '"' => break,
                        '\r' | '\n' => {}
                        _ => text.push(c),
                    }
                }
                out.push(Token {
                    kind: Kind::Quoted(text),
                    space_before: space,
                });
                space = false;
            }
            '[' => {
                let mut text = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    i += 1;
                    if c == '\\' && i < chars.len() {
                        text.push(chars[i]);
                        i += 1;
                        continue;
                    }
                    if !matches!(c, ' ' | '\t' | '\r' | '\n') {
                        text.push(c);
                    }
                    if c == ']' {
                        break;
                    }
                }
                out.push(Token {
                    kind: Kind::Literal(text),
                    space_before: space,
                });
                space = false;
            }
            '<' | '>' | '@' | ',' | ';' | ':' | '.' => {
                out.push(Token {
                    kind: Kind::Special(c),
                    space_before: space,
                });
                space = false;
                i += 1;
            }
            _ => {
                let mut text = String::new();
                while i < chars.len() {
                    let c = chars[i];
                    if matches!(
                        c,
                        ' ' | '\t'
                            | '\r'
                            | '\n'
                            | '('
                            | '"'
                            | '['
                            | '<'
                            | '>'
                            | '@'
                            | ','
                            | ';'
                            | ':'
                            | '.'
                    ) {
                        break;
                    }
                    text.push(c);
                    i += 1;
                }
                out.push(Token {
                    kind: Kind::Atom(text),
                    space_before: space,
                });
                space = false;
            }
        }
    }
    out
}

struct Parser<'t> {
    toks: &'t [Token],
    pos: usize,
    out: Vec<Address>,
}

/// Words collected before we know what they are (a display name, a local part, a group name).
#[derive(Default)]
struct Words {
    phrase: String,
    compact: String,
    any: bool,
}

impl Words {
    fn push(&mut self, text: &str, space_before: bool) {
        if self.any && space_before {
            self.phrase.push(' ');
        }
        self.phrase.push_str(text);
        self.compact.push_str(text);
        self.any = true;
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Kind> {
        self.toks.get(self.pos).map(|t| &t.kind)
    }

    fn at_special(&self, c: char) -> bool {
        self.peek() == Some(&Kind::Special(c))
    }

    fn list(&mut self) {
        while self.pos < self.toks.len() {
            match self.peek() {
                Some(Kind::Special(',' | ';' | '>')) => self.pos += 1,
                _ => self.entry(false),
            }
        }
    }

    /// One mailbox or group, up to (not including) the `,` or `;` that ends it.
    fn entry(&mut self, in_group: bool) {
        let mut words = Words::default();
        let mut comment: Option<String> = None;
        while let Some(tok) = self.toks.get(self.pos) {
            match &tok.kind {
                Kind::Atom(t) | Kind::Quoted(t) | Kind::Literal(t) => {
                    words.push(t, tok.space_before);
                    self.pos += 1;
                }
                Kind::Special('.') => {
                    words.push(".", tok.space_before);
                    self.pos += 1;
                }
                Kind::Comment(c) => {
                    comment = Some(c.trim().to_string());
                    self.pos += 1;
                }
                Kind::Special('<') => {
                    self.pos += 1;
                    self.angle_addr(words.any.then_some(words.phrase));
                    self.skip_to_separator();
                    return;
                }
                Kind::Special(':') if !in_group => {
                    self.pos += 1;
                    self.group(words.phrase);
                    return;
                }
                Kind::Special(':') => {
                    // A group inside a group is not allowed; keep the text.
                    words.push(":", tok.space_before);
                    self.pos += 1;
                }
                Kind::Special('@') => {
                    self.pos += 1;
                    let domain = self.domain(&mut comment);
                    self.push_mailbox(
                        comment.filter(|c| !c.is_empty()),
                        None,
                        Some(words.compact),
                        domain,
                    );
                    self.skip_to_separator();
                    return;
                }
                Kind::Special('>') => self.pos += 1,
                Kind::Special(_) => break,
            }
        }
        // Reached `,`, `;` or the end: a bare word list without `@` or `<>`.
        if words.any {
            self.push_mailbox(
                comment.filter(|c| !c.is_empty()),
                None,
                Some(words.phrase),
                None,
            );
        }
    }

    fn group(&mut self, name: String) {
        self.out.push(Address {
            name: None,
            adl: None,
            mailbox: Some(name),
            host: None,
        });
        while self.pos < self.toks.len() {
            match self.peek() {
                Some(Kind::Special(';')) => {
                    self.pos += 1;
                    break;
                }
                Some(Kind::Special(',' | '>')) => self.pos += 1,
                _ => self.entry(true),
            }
        }
        self.out.push(Address::default());
    }

    /// After `<`: `[route ":"] local "@" domain ">"`.
    fn angle_addr(&mut self, name: Option<String>) {
        let mut adl = String::new();
        if self.at_special('@') {
            // Obsolete source route (RFC 5322 §4.4): "@a,@b:".
            let start = self.pos;
            while let Some(kind) = self.peek() {
                match kind {
                    Kind::Special(':') => {
                        self.pos += 1;
                        break;
                    }
                    Kind::Special('>') => break,
                    Kind::Special(c) => adl.push(*c),
                    Kind::Atom(t) | Kind::Literal(t) | Kind::Quoted(t) => adl.push_str(t),
                    Kind::Comment(_) => {}
                }
                self.pos += 1;
            }
            if !self.toks[start..self.pos]
                .iter()
                .any(|t| t.kind == Kind::Special(':'))
            {
                // Not a route after all ("<@x>"): read it as a local part-less address.
                self.pos = start;
                adl.clear();
            }
        }
        let mut local = String::new();
        let mut domain = None;
        let mut ignored = None;
        while let Some(kind) = self.peek() {
            match kind {
                Kind::Special('>') => {
                    self.pos += 1;
                    break;
                }
                Kind::Special('@') => {
                    self.pos += 1;
                    domain = self.domain(&mut ignored);
                    if self.at_special('>') {
                        self.pos += 1;
                    }
                    break;
                }
                Kind::Special(',' | ';') => break,
                Kind::Special(c) => {
                    local.push(*c);
                    self.pos += 1;
                }
                Kind::Atom(t) | Kind::Quoted(t) | Kind::Literal(t) => {
                    local.push_str(t);
                    self.pos += 1;
                }
                Kind::Comment(_) => self.pos += 1,
            }
        }
        if name.is_none() && local.is_empty() && domain.is_none() {
            // "<>": the null address; nothing to list.
            return;
        }
        let adl = (!adl.is_empty()).then_some(adl);
        self.push_mailbox(name, adl, Some(local), domain);
    }

    /// After `@`: dot-separated words or a literal, up to a separator.
    fn domain(&mut self, comment: &mut Option<String>) -> Option<String> {
        let mut domain = String::new();
        while let Some(kind) = self.peek() {
            match kind {
                Kind::Atom(t) | Kind::Literal(t) | Kind::Quoted(t) => domain.push_str(t),
                Kind::Special('.') => domain.push('.'),
                Kind::Comment(c) => *comment = Some(c.trim().to_string()),
                Kind::Special(_) => break,
            }
            self.pos += 1;
        }
        (!domain.is_empty()).then_some(domain)
    }

    fn skip_to_separator(&mut self) {
        while let Some(kind) = self.peek() {
            if matches!(kind, Kind::Special(',' | ';')) {
                break;
            }
            self.pos += 1;
        }
    }

    fn push_mailbox(
        &mut self,
        name: Option<String>,
        adl: Option<String>,
        mailbox: Option<String>,
        host: Option<String>,
    ) {
        let mailbox = mailbox.filter(|m| !m.is_empty());
        let name = name.filter(|n| !n.is_empty());
        self.out.push(Address {
            name,
            adl,
            mailbox: Some(mailbox.unwrap_or_else(|| MISSING_MAILBOX.to_string())),
            host: Some(host.unwrap_or_else(|| MISSING_DOMAIN.to_string())),
        });
    }
}

/// `mailbox@host` of an address (empty parts left out), for display keys.
pub fn addr_spec(a: &Address) -> String {
    match (&a.mailbox, &a.host) {
        (Some(m), Some(h)) => format!("{m}@{h}"),
        (Some(m), None) => m.clone(),
        (None, Some(h)) => h.clone(),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: Option<&str>, mailbox: &str, host: &str) -> Address {
        Address {
            name: name.map(str::to_string),
            adl: None,
            mailbox: Some(mailbox.to_string()),
            host: Some(host.to_string()),
        }
    }

    fn group_start(name: &str) -> Address {
        Address {
            mailbox: Some(name.to_string()),
            ..Address::default()
        }
    }

    #[test]
    fn table() {
        let cases: Vec<(&str, Vec<Address>)> = vec![
            ("", vec![]),
            ("   ", vec![]),
            ("joe@example.test", vec![a(None, "joe", "example.test")]),
            (
                "Joe Q. Public <john.q.public@example.com>",
                vec![a(Some("Joe Q. Public"), "john.q.public", "example.com")],
            ),
            (
                "\"Doe, John\" <john@x.test>, mary@y.test",
                vec![
                    a(Some("Doe, John"), "john", "x.test"),
                    a(None, "mary", "y.test"),
                ],
            ),
            (
                "=?utf-8?q?J=C3=B6rg?= <j@x.test>",
                vec![a(Some("=?utf-8?q?J=C3=B6rg?="), "j", "x.test")],
            ),
            (
                "john@x.test (John Smith)",
                vec![a(Some("John Smith"), "john", "x.test")],
            ),
            (
                "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
                vec![a(Some("Pete"), "pete", "silly.test")],
            ),
            ("\"john doe\"@x.test", vec![a(None, "john doe", "x.test")]),
            ("user@[192.0.2.1]", vec![a(None, "user", "[192.0.2.1]")]),
            ("<>", vec![]),
            ("undisclosed", vec![a(None, "undisclosed", MISSING_DOMAIN)]),
            ("<@x>", vec![a(None, MISSING_MAILBOX, "x")]),
            (
                "Name <unterminated@x.test",
                vec![a(Some("Name"), "unterminated", "x.test")],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_address_list(input), want, "input {input:?}");
        }
    }

    #[test]
    fn groups_use_rfc9051_markers() {
        assert_eq!(
            parse_address_list("undisclosed-recipients:;"),
            vec![group_start("undisclosed-recipients"), Address::default()]
        );
        assert_eq!(
            parse_address_list(
                "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, x@y.test"
            ),
            vec![
                group_start("A Group"),
                a(Some("Ed Jones"), "c", "a.test"),
                a(None, "joe", "where.test"),
                a(Some("John"), "jdoe", "one.test"),
                Address::default(),
                a(None, "x", "y.test"),
            ]
        );
        // Unterminated group: closed at the end.
        assert_eq!(
            parse_address_list("g: a@b.test"),
            vec![group_start("g"), a(None, "a", "b.test"), Address::default()]
        );
    }

    #[test]
    fn obsolete_route_is_the_adl() {
        let got = parse_address_list("Mary <@relay1.test,@relay2.test:mary@x.test>");
        assert_eq!(
            got,
            vec![Address {
                name: Some("Mary".into()),
                adl: Some("@relay1.test,@relay2.test".into()),
                mailbox: Some("mary".into()),
                host: Some("x.test".into()),
            }]
        );
    }

    #[test]
    fn garbage_never_panics_and_never_yields_false_markers() {
        let inputs = [
            "\"unterminated",
            "(unterminated comment",
            "((((",
            "))))",
            "<<<>>>",
            "@@@",
            ":::;;;",
            "a@",
            "@b",
            "[",
            "\\",
            ",,,",
            "a <b@c> d <e@f>",
            "\u{0}\u{ffff}<\u{1F600}@\u{e9}>",
        ];
        for input in inputs {
            let list = parse_address_list(input);
            // Outside groups every entry has a host.
            let mut in_group = false;
            for addr in &list {
                if addr.host.is_none() {
                    in_group = addr.mailbox.is_some();
                } else {
                    assert!(addr.mailbox.is_some(), "{input:?} → {list:?}");
                }
            }
            assert!(!in_group, "{input:?}: unbalanced group markers {list:?}");
        }
    }
}
