use super::*;
use crate::proto::framing::StreamedLiteral;

fn cur(s: &[u8]) -> Cursor<'_> {
    Cursor::new(s, &[], ParseOptions::default(), false)
}

#[test]
fn strings() {
    type Case = (&'static [u8], Result<&'static [u8], ()>);
    let cases: &[Case] = &[
        (b"atom", Ok(b"atom")),
        (b"a]b", Ok(b"a]b")),
        (b"\"quoted \\\" \\\\ x\"", Ok(b"quoted \" \\ x")),
        (b"\"\"", Ok(b"")),
        (b"{3}\r\nabc", Ok(b"abc")),
        (b"{3+}\r\nabc", Ok(b"abc")),
        (b"{0}\r\n", Ok(b"")),
        ("\"ünï\"".as_bytes(), Ok("ünï".as_bytes())),
        (b"\"a\rb\"", Err(())),
        (b"\"a\\nb\"", Err(())),
        (b"{3}\nabc", Err(())),
        (b"{3}\r\nab", Err(())),
        (b"~{3}\r\nabc", Err(())),
        (b"(x)", Err(())),
        (b"", Err(())),
    ];
    for (input, want) in cases {
        let mut c = cur(input);
        let got = c.astring().and_then(|v| c.end().map(|_| v));
        match want {
            Ok(w) => assert_eq!(got.as_deref(), Ok(*w), "{input:?}"),
            Err(()) => assert!(got.is_err(), "{input:?} gave {got:?}"),
        }
    }
    let mut c = cur(b"NIL nil \"NIL\"");
    assert_eq!(c.nstring(), Ok(None));
    c.sp().unwrap();
    assert_eq!(c.nstring(), Ok(None));
    c.sp().unwrap();
    assert_eq!(c.nstring(), Ok(Some(b"NIL".to_vec())));
    let mut c = cur(b"~{2}\r\n\0\x01");
    assert_eq!(c.nstring8(), Ok(Some(vec![0, 1])));
}

#[test]
fn literals_streamed_and_pending() {
    let input = b"{5}\r\n";
    let streamed = [StreamedLiteral { at: 5, len: 5 }];
    let mut c = Cursor::new(input, &streamed, ParseOptions::default(), false);
    assert_eq!(c.literal(true), Ok((Lit::Streamed(5), false)));
    assert!(c.at_end());
    let mut c = Cursor::new(b"~{7}", &[], ParseOptions::default(), true);
    assert_eq!(c.literal(true), Ok((Lit::Pending(7), true)));
    // Without partial mode the same input is an error.
    assert!(cur(b"{7}").literal(true).is_err());
    // A streamed literal where a buffered string is needed is refused.
    let mut c = Cursor::new(input, &streamed, ParseOptions::default(), false);
    assert!(c.string().is_err());
}

#[test]
fn numbers() {
    assert_eq!(cur(b"4294967295").number(), Ok(u32::MAX));
    assert!(cur(b"4294967296").number().is_err());
    assert_eq!(cur(b"9223372036854775807").number64(), Ok(i64::MAX as u64));
    assert!(cur(b"9223372036854775808").number64().is_err());
    assert!(cur(b"99999999999999999999999").number64().is_err());
    assert!(cur(b"0").nz_number().is_err());
    assert!(cur(b"x").number().is_err());
}

#[test]
fn dates() {
    use crate::proto::datetime::days_from_civil;
    let cases: &[(&[u8], Option<i64>)] = &[
        (b"1-Feb-1994", Some(days_from_civil(1994, 2, 1))),
        (b"01-feb-1994", Some(days_from_civil(1994, 2, 1))),
        (b"\"29-Feb-2024\"", Some(days_from_civil(2024, 2, 29))),
        (b"29-Feb-2023", None),
        (b"0-Jan-2000", None),
        (b"1-Jan-99", None),
        (b"\"1-Jan-2000", None),
        (b"1 Jan 2000", None),
    ];
    for (input, want) in cases {
        let mut c = cur(input);
        let got = c.date().and_then(|d| c.end().map(|_| d)).ok();
        assert_eq!(got, *want, "{input:?}");
    }
    type DateTimeCase = (&'static [u8], Option<(i64, i16)>);
    let dt: &[DateTimeCase] = &[
        (b"\"17-Jul-1996 02:44:25 -0700\"", Some((837_596_665, -420))),
        (b"\" 1-Jan-1970 00:00:00 +0000\"", Some((0, 0))),
        (b"\"1-Jan-1970 05:30:00 +0530\"", Some((0, 330))),
        (b"\"01-Jan-1970 00:00:60 +0000\"", Some((60, 0))),
        (b"\"01-Jan-1970 00:00:00 +0060\"", None),
        (b"\"01-Jan-1970 0:00:00 +0000\"", None),
        (b"\"01-Jan-1970 00:00:00\"", None),
        (b"01-Jan-1970 00:00:00 +0000", None),
    ];
    for (input, want) in dt {
        let mut c = cur(input);
        let got = c.date_time().and_then(|d| c.end().map(|_| d)).ok();
        assert_eq!(got, *want, "{input:?}");
    }
}

#[test]
fn keywords_respect_atom_boundaries() {
    let mut c = cur(b"FLAGS.SILENT");
    assert!(!c.keyword("FLAGS"));
    assert!(c.keyword("FLAGS.SILENT"));
    let mut c = cur(b"flags (");
    assert!(c.keyword("FLAGS"));
    let mut c = cur(b"NILS");
    assert!(c.nstring().is_err());
}

#[test]
fn flags_and_lists() {
    let mut c = cur(b"(\\Seen $Junk \\Deleted)");
    assert_eq!(
        c.flag_list(),
        Ok(vec!["\\Seen".into(), "$Junk".into(), "\\Deleted".into()])
    );
    assert_eq!(cur(b"()").flag_list(), Ok(vec![]));
    assert!(cur(b"(\\Seen ").flag_list().is_err());
    assert!(cur(b"(a  b)").flag_list().is_err());
    assert!(cur(b"(\\)").flag_list().is_err());
}

#[test]
fn text_helpers_match_lossy_conversion() {
    let inputs: [&[u8]; 6] = [
        b"",
        b"A1",
        b"$Forwarded",
        "Grüße".as_bytes(),
        b"bad\xff\xfe",
        b"\xc3",
    ];
    for input in inputs {
        let lossy = String::from_utf8_lossy(input).into_owned();
        assert_eq!(text(input), lossy);
        assert_eq!(text_from_vec(input.to_vec()), lossy);
        assert_eq!(upper_text(input), lossy.to_ascii_uppercase());
    }
}
