//! Resolving [`SequenceSet`]s against a mailbox: `*` is the largest number in use, ranges
//! may be written backwards (`5:2` = `2:5`, RFC 9051 §9 `seq-range`).

use crate::proto::command::{SeqBound, SequenceSet};

/// The set's ranges as inclusive `(low, high)` pairs with `*` replaced by `largest`
/// (the number of messages for sequence numbers, the highest UID for UIDs; 0 in an empty
/// mailbox). `None` for `$` (the session substitutes its saved result). Ranges are in the
/// order written, possibly overlapping.
pub fn resolve(set: &SequenceSet, largest: u32) -> Option<Vec<(u32, u32)>> {
    match set {
        SequenceSet::Saved => None,
        SequenceSet::Ranges(ranges) => Some(
            ranges
                .iter()
                .map(|&(a, b)| {
                    let a = bound(a, largest);
                    let b = bound(b, largest);
                    (a.min(b), a.max(b))
                })
                .collect(),
        ),
    }
}

/// Whether `n` is in the set, with `*` = `largest`. Always `false` for `$`.
pub fn contains(set: &SequenceSet, n: u32, largest: u32) -> bool {
    resolve(set, largest).is_some_and(|r| r.iter().any(|&(lo, hi)| lo <= n && n <= hi))
}

fn bound(b: SeqBound, largest: u32) -> u32 {
    match b {
        SeqBound::Num(n) => n,
        SeqBound::Star => largest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SeqBound::*;

    #[test]
    fn resolves_star_and_reversed_ranges() {
        let set = SequenceSet::Ranges(vec![(Num(5), Num(2)), (Star, Star), (Num(9), Star)]);
        assert_eq!(resolve(&set, 12), Some(vec![(2, 5), (12, 12), (9, 12)]));
        // RFC 9051 §9: "*:4" in a mailbox of 3 messages is 3:4.
        assert_eq!(
            resolve(&SequenceSet::Ranges(vec![(Star, Num(4))]), 3),
            Some(vec![(3, 4)])
        );
        assert!(contains(&set, 3, 12) && contains(&set, 10, 12) && !contains(&set, 7, 12));
        assert_eq!(resolve(&SequenceSet::Saved, 3), None);
        assert!(!contains(&SequenceSet::Saved, 1, 3));
    }
}
