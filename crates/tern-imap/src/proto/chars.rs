//! Character classes of the IMAP grammar (RFC 9051 §9), shared by the parser, the framer and
//! the encoders so that what we write is exactly what we would accept.

/// RFC 9051 `ATOM-CHAR`: any CHAR (0x01–0x7f) except `atom-specials`
/// (`(` `)` `{` SP CTL `%` `*` `"` `\` `]`).
pub fn is_atom_char(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// RFC 9051 `ASTRING-CHAR` = ATOM-CHAR / resp-specials (`]`).
pub fn is_astring_char(b: u8) -> bool {
    is_atom_char(b) || b == b']'
}

/// RFC 9051 `list-char` = ATOM-CHAR / list-wildcards / resp-specials.
pub fn is_list_char(b: u8) -> bool {
    is_astring_char(b) || b == b'%' || b == b'*'
}

/// RFC 9051 `tag`: 1*<any ASTRING-CHAR except "+">.
pub fn is_tag_char(b: u8) -> bool {
    b != b'+' && is_astring_char(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        for b in [
            b'a', b'Z', b'0', b'.', b'!', b'#', b'$', b'&', b'+', b'-', b'[', b'^', b'~',
        ] {
            assert!(is_atom_char(b), "{}", b as char);
        }
        for b in [
            b'(', b')', b'{', b' ', b'%', b'*', b'"', b'\\', b']', 0x00, 0x1f, 0x7f, 0x80,
        ] {
            assert!(!is_atom_char(b), "{b:#x}");
        }
        assert!(is_astring_char(b']') && !is_astring_char(b'%'));
        assert!(is_list_char(b'%') && is_list_char(b'*') && !is_list_char(b'('));
        assert!(!is_tag_char(b'+') && is_tag_char(b'A'));
    }
}
