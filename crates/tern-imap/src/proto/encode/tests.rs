use super::*;
use tern_store::Flags;

#[test]
fn sequence_sets_compress_in_order() {
    let cases: &[(&[u32], &str)] = &[
        (&[], ""),
        (&[7], "7"),
        (&[1, 2, 3, 5], "1:3,5"),
        (&[1, 3, 5], "1,3,5"),
        (&[4, 5, 6, 7], "4:7"),
        (&[5, 4, 3], "5,4,3"),
        (&[10, 11, 1, 2], "10:11,1:2"),
        (&[u32::MAX - 1, u32::MAX], "4294967294:4294967295"),
    ];
    for (nums, want) in cases {
        assert_eq!(sequence_set_string(nums), *want, "{nums:?}");
    }
}

#[test]
fn flags_and_dates() {
    let flags = Flags::from_names(["\\Seen", "$Junk", "\\Deleted"]);
    let mut out = Vec::new();
    flag_list(&mut out, &flags, &["\\Recent"]);
    assert_eq!(out, b"(\\Recent \\Seen \\Deleted $Junk)");
    out.clear();
    flag_list(&mut out, &Flags::default(), &[]);
    assert_eq!(out, b"()");

    let cases = [
        (837_596_665, -420, "17-Jul-1996 02:44:25 -0700"),
        (0, 0, "01-Jan-1970 00:00:00 +0000"),
        (951_782_400, 330, "29-Feb-2000 05:30:00 +0530"),
        (-1, 0, "31-Dec-1969 23:59:59 +0000"),
    ];
    for (unix, offset, want) in cases {
        let ts = Timestamp {
            unix,
            offset_minutes: offset,
        };
        assert_eq!(internal_date_string(ts), want);
    }
}

#[test]
fn section_labels() {
    let cases = [
        (
            Section {
                part: vec![],
                text: None,
            },
            None,
            "BODY[]",
        ),
        (
            Section {
                part: vec![],
                text: None,
            },
            Some(0),
            "BODY[]<0>",
        ),
        (
            Section {
                part: vec![1, 2],
                text: Some(SectionText::Mime),
            },
            None,
            "BODY[1.2.MIME]",
        ),
        (
            Section {
                part: vec![],
                text: Some(SectionText::HeaderFields {
                    not: true,
                    fields: vec!["From".into(), "X Odd".into()],
                }),
            },
            Some(100),
            "BODY[HEADER.FIELDS.NOT (From \"X Odd\")]<100>",
        ),
        (
            Section {
                part: vec![3],
                text: Some(SectionText::Text),
            },
            None,
            "BODY[3.TEXT]",
        ),
    ];
    for (section, origin, want) in cases {
        let mut out = Vec::new();
        body_section_label(&mut out, &section, origin);
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
    let mut out = Vec::new();
    binary_label(&mut out, &[1, 2], Some(5));
    out.push(b' ');
    binary_size_label(&mut out, &[]);
    assert_eq!(out, b"BINARY[1.2]<5> BINARY.SIZE[]");
}

/// The `format!` definition `internal_date` replaced, for comparison.
fn internal_date_reference(ts: Timestamp) -> String {
    let offset = i64::from(ts.offset_minutes);
    let local = ts.unix + offset * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.abs();
    format!(
        "{day:02}-{}-{year:04} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        abs / 60,
        abs % 60
    )
}

#[test]
fn dates_and_numbers_without_format() {
    let mut unix = -70_000_000_000i64; // year -248
    let offsets = [0i16, 60, -420, 330, -720, 840, i16::MAX, i16::MIN, -1, 59];
    let mut k = 0;
    while unix < 300_000_000_000 {
        // years up to ≈ 11,500: past the four-digit range too
        let ts = Timestamp {
            unix,
            offset_minutes: offsets[k % offsets.len()],
        };
        let mut out = Vec::new();
        internal_date(&mut out, ts);
        let want = internal_date_reference(ts);
        assert_eq!(out, format!("\"{want}\"").into_bytes(), "{ts:?}");
        assert_eq!(internal_date_string(ts), want);
        unix += 7_777_777_777 / 13 + 86_399;
        k += 1;
    }
    for n in [0u64, 1, 9, 10, 99, 100, 4_294_967_295, u64::MAX] {
        let mut out = b"x".to_vec();
        number(&mut out, n);
        assert_eq!(out, format!("x{n}").into_bytes());
    }
}
