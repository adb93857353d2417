//! Character classes of the IMAP grammar (RFC 9051 §9), shared by the parser, the framer and
//! the encoders so that what we write is exactly what we would accept.

/// Class bits of every octet, computed at compile time from the grammar's definitions
/// below ([`atom_char_by_definition`]): the parser asks for every octet of every command,
/// the encoders for every octet of every astring, so a lookup beats the comparisons.
const ATOM: u8 = 1;
const ASTRING: u8 = 2;
const LIST: u8 = 4;
const TAG: u8 = 8;

static CLASSES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let atom = atom_char_by_definition(c);
        let astring = atom || c == b']';
        let list = astring || c == b'%' || c == b'*';
        let tag = astring && c != b'+';
        t[b] = (atom as u8 * ATOM)
            | (astring as u8 * ASTRING)
            | (list as u8 * LIST)
            | (tag as u8 * TAG);
        b += 1;
    }
    t
};

/// RFC 9051 `ATOM-CHAR`: any CHAR (0x01–0x7f) except `atom-specials`
/// (`(` `)` `{` SP CTL `%` `*` `"` `\` `]`).
const fn atom_char_by_definition(b: u8) -> bool {
    b > 0x20 && b < 0x7f && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// RFC 9051 `ATOM-CHAR`: any CHAR (0x01–0x7f) except `atom-specials`
/// (`(` `)` `{` SP CTL `%` `*` `"` `\` `]`).
#[inline]
pub fn is_atom_char(b: u8) -> bool {
    CLASSES[b as usize] & ATOM != 0
}

/// RFC 9051 `ASTRING-CHAR` = ATOM-CHAR / resp-specials (`]`).
#[inline]
pub fn is_astring_char(b: u8) -> bool {
    CLASSES[b as usize] & ASTRING != 0
}

/// RFC 9051 `list-char` = ATOM-CHAR / list-wildcards / resp-specials.
#[inline]
pub fn is_list_char(b: u8) -> bool {
    CLASSES[b as usize] & LIST != 0
}

/// RFC 9051 `tag`: 1*<any ASTRING-CHAR except "+">.
#[inline]
pub fn is_tag_char(b: u8) -> bool {
    CLASSES[b as usize] & TAG != 0
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

    #[test]
    fn table_matches_the_grammar() {
        for b in 0..=255u8 {
            let atom = b > 0x20
                && b < 0x7f
                && !matches!(b, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']');
            assert_eq!(is_atom_char(b), atom, "{b:#x}");
            assert_eq!(is_astring_char(b), atom || b == b']', "{b:#x}");
            assert_eq!(
                is_list_char(b),
                atom || matches!(b, b']' | b'%' | b'*'),
                "{b:#x}"
            );
            assert_eq!(is_tag_char(b), (atom || b == b']') && b != b'+', "{b:#x}");
        }
    }
}
