//! Sequence sets (RFC 9051 §9 `sequence-set`, RFC 5182 `$`).

use super::lexer::{Cursor, PResult, fail};
use crate::proto::command::{SeqBound, SequenceSet};

/// `sequence-set = (seq-number / seq-range) ["," sequence-set]` or `$`
/// (`seq-last-command`, RFC 5182 §2: only standalone).
pub(crate) fn sequence_set(c: &mut Cursor<'_>) -> PResult<SequenceSet> {
    if c.eat(b'$') {
        return Ok(SequenceSet::Saved);
    }
    let mut ranges = Vec::new();
    loop {
        let a = seq_number(c)?;
        let b = if c.eat(b':') { seq_number(c)? } else { a };
        ranges.push((a, b));
        if !c.eat(b',') {
            return Ok(SequenceSet::Ranges(ranges));
        }
    }
}

/// `seq-number = nz-number / "*"`.
fn seq_number(c: &mut Cursor<'_>) -> PResult<SeqBound> {
    if c.eat(b'*') {
        return Ok(SeqBound::Star);
    }
    match c.peek() {
        Some(b) if b.is_ascii_digit() => match c.number() {
            Ok(0) | Err(_) => fail("Invalid sequence set"),
            Ok(n) => Ok(SeqBound::Num(n)),
        },
        _ => fail("Invalid sequence set"),
    }
}

/// Whether the input starts a sequence set (a digit, `*` or `$`): search keys use this.
pub(crate) fn at_sequence_set(c: &Cursor<'_>) -> bool {
    c.peek()
        .is_some_and(|b| b.is_ascii_digit() || b == b'*' || b == b'$')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::encode::sequence_set_string;
    use crate::proto::parse::ParseOptions;
    use SeqBound::*;

    fn parse(s: &str) -> PResult<SequenceSet> {
        let mut c = Cursor::new(s.as_bytes(), &[], ParseOptions::default(), false);
        let set = sequence_set(&mut c)?;
        c.end()?;
        Ok(set)
    }

    #[test]
    fn valid_sets() {
        let cases: &[(&str, SequenceSet)] = &[
            ("1", SequenceSet::Ranges(vec![(Num(1), Num(1))])),
            ("*", SequenceSet::Ranges(vec![(Star, Star)])),
            ("$", SequenceSet::Saved),
            ("2:4", SequenceSet::Ranges(vec![(Num(2), Num(4))])),
            ("4:2", SequenceSet::Ranges(vec![(Num(4), Num(2))])),
            (
                "1:3,5,7:*",
                SequenceSet::Ranges(vec![(Num(1), Num(3)), (Num(5), Num(5)), (Num(7), Star)]),
            ),
            ("*:4", SequenceSet::Ranges(vec![(Star, Num(4))])),
            (
                "4294967295",
                SequenceSet::Ranges(vec![(Num(u32::MAX), Num(u32::MAX))]),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).as_ref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn invalid_sets() {
        for input in [
            "",
            "0",
            "1:0",
            "1,",
            ",1",
            "1::2",
            "a",
            "4294967296",
            "$,1",
            "1:$",
            "-1",
        ] {
            assert!(parse(input).is_err(), "{input:?} should fail");
        }
    }

    /// Encoding a list of numbers and parsing it back gives the same numbers, in order.
    #[test]
    fn encode_parse_round_trip() {
        let lists: Vec<Vec<u32>> = vec![
            vec![1],
            vec![1, 2, 3, 5],
            vec![3, 2, 1],
            (1..200).filter(|n| n % 7 != 0).collect(),
            vec![u32::MAX - 2, u32::MAX - 1, u32::MAX],
            (1..50).map(|n| n * n).collect(),
        ];
        for nums in lists {
            let text = sequence_set_string(&nums);
            let SequenceSet::Ranges(ranges) = parse(&text).unwrap() else {
                panic!("not ranges")
            };
            let mut back = Vec::new();
            for (a, b) in ranges {
                let (Num(a), Num(b)) = (a, b) else {
                    panic!("star")
                };
                assert!(a <= b);
                back.extend(a..=b);
            }
            assert_eq!(back, nums, "{text}");
        }
    }
}
