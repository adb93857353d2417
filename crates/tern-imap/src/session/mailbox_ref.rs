//! Mailbox names as the client sees them ↔ store mailboxes, across namespaces
//! (personal; `Other Users/<owner>/...` for mailboxes shared through ACLs, RFC 2342/4314),
//! with the rights this user holds on each.

/// RFC 4314 rights as a set of letters (`lrswipkxtecda`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rights(u16);

impl Rights {
    pub const LETTERS: &'static str = "lrswipkxtecda";

    /// Every right (the owner's).
    pub fn all() -> Rights {
        Rights((1 << Self::LETTERS.len()) - 1)
    }

    /// Parses rights letters; unknown letters are ignored (RFC 4314 §2.1.1 obsolete `c`/`d`
    /// map onto `k`/`x` and `t`/`e` by the caller if it wants).
    pub fn parse(s: &str) -> Rights {
        let mut r = Rights(0);
        for c in s.chars() {
            if let Some(i) = Self::LETTERS.find(c) {
                r.0 |= 1 << i;
            }
        }
        r
    }

    pub fn has(self, right: char) -> bool {
        Self::LETTERS
            .find(right)
            .map(|i| self.0 & (1 << i) != 0)
            .unwrap_or(false)
    }

    pub fn union(self, other: Rights) -> Rights {
        Rights(self.0 | other.0)
    }

    pub fn minus(self, other: Rights) -> Rights {
        Rights(self.0 & !other.0)
    }

    pub fn letters(self) -> String {
        Self::LETTERS.chars().filter(|c| self.has(*c)).collect()
    }
}

/// The namespace prefix under which other users' shared mailboxes appear.
pub const OTHER_USERS_PREFIX: &str = "Other Users/";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_round_trip() {
        assert_eq!(Rights::parse("lrs").letters(), "lrs");
        assert_eq!(Rights::all().letters(), Rights::LETTERS);
        assert!(!Rights::parse("lr").has('w'));
    }
}
