use super::*;
use tern_store::{Address, Envelope};

fn text_plain(size: u64, lines: u32) -> BodyPart {
    BodyPart {
        content_type: "text".into(),
        subtype: "plain".into(),
        params: vec![("charset".into(), "US-ASCII".into())],
        encoding: "7BIT".into(),
        header_start: 0,
        body_start: 100,
        end: 100 + size,
        lines,
        ..BodyPart::default()
    }
}

fn enc(part: &BodyPart, form: BodyForm) -> String {
    let mut out = Vec::new();
    body_structure(&mut out, part, form, EncodeOptions::default());
    String::from_utf8(out).unwrap()
}

/// RFC 9051 §7.5.2's BODYSTRUCTURE example, as we spell it (types as stored, lower case).
#[test]
fn single_text_part() {
    let part = text_plain(3028, 92);
    assert_eq!(
        enc(&part, BodyForm::Body),
        "(\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)"
    );
    assert_eq!(
        enc(&part, BodyForm::BodyStructure),
        "(\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92 NIL NIL NIL NIL)"
    );
}

#[test]
fn multipart_with_extension_data() {
    let image = BodyPart {
        content_type: "image".into(),
        subtype: "png".into(),
        params: vec![("name".into(), "a b.png".into())],
        id: Some("<img1@x>".into()),
        description: Some("A picture".into()),
        encoding: "base64".into(),
        md5: Some("Q2hlY2sgSW50ZWdyaXR5IQ==".into()),
        disposition: Some((
            "attachment".into(),
            vec![("filename".into(), "a b.png".into())],
        )),
        language: vec!["en".into(), "de".into()],
        location: Some("http://x/a.png".into()),
        header_start: 500,
        body_start: 600,
        end: 1600,
        ..BodyPart::default()
    };
    let root = BodyPart {
        content_type: "multipart".into(),
        subtype: "mixed".into(),
        params: vec![("boundary".into(), "XyZ".into())],
        disposition: None,
        language: vec!["fr".into()],
        parts: vec![text_plain(10, 1), image],
        ..BodyPart::default()
    };
    assert_eq!(
        enc(&root, BodyForm::Body),
        "((\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 1)\
         (\"image\" \"png\" (\"NAME\" \"a b.png\") \"<img1@x>\" \"A picture\" \"base64\" 1000) \"mixed\")"
    );
    assert_eq!(
        enc(&root, BodyForm::BodyStructure),
        "((\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 1 NIL NIL NIL NIL)\
         (\"image\" \"png\" (\"NAME\" \"a b.png\") \"<img1@x>\" \"A picture\" \"base64\" 1000 \
         \"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"attachment\" (\"FILENAME\" \"a b.png\")) (\"en\" \"de\") \
         \"http://x/a.png\") \"mixed\" (\"BOUNDARY\" \"XyZ\") NIL \"fr\" NIL)"
    );
}

#[test]
fn message_rfc822_carries_envelope_and_body() {
    let env = Envelope {
        subject: Some("inner".into()),
        from: vec![Address {
            name: None,
            adl: None,
            mailbox: Some("a".into()),
            host: Some("b.test".into()),
        }],
        ..Envelope::default()
    };
    let part = BodyPart {
        content_type: "message".into(),
        subtype: "rfc822".into(),
        encoding: "7BIT".into(),
        body_start: 10,
        end: 60,
        lines: 4,
        message: Some(Box::new((env, text_plain(20, 2)))),
        ..BodyPart::default()
    };
    assert_eq!(
        enc(&part, BodyForm::Body),
        "(\"message\" \"rfc822\" NIL NIL NIL \"7BIT\" 50 \
         (NIL \"inner\" ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) ((NIL NIL \"a\" \"b.test\")) NIL NIL NIL NIL NIL) \
         (\"text\" \"plain\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 20 2) 4)"
    );
}

#[test]
fn degenerate_parts_stay_grammatical() {
    // A multipart without children is written as a basic part; empty encoding → 7BIT;
    // a non-text basic part has no line count.
    let empty_multi = BodyPart {
        content_type: "multipart".into(),
        subtype: "mixed".into(),
        ..BodyPart::default()
    };
    assert_eq!(
        enc(&empty_multi, BodyForm::Body),
        "(\"multipart\" \"mixed\" NIL NIL NIL \"7BIT\" 0)"
    );
    let message_without_inner = BodyPart {
        content_type: "message".into(),
        subtype: "rfc822".into(),
        encoding: "8bit".into(),
        end: 5,
        ..BodyPart::default()
    };
    assert_eq!(
        enc(&message_without_inner, BodyForm::BodyStructure),
        "(\"message\" \"rfc822\" NIL NIL NIL \"8bit\" 5 NIL NIL NIL NIL)"
    );
}
