//! Fuzz target `sieve_compile`: arbitrary bytes (UTF-8, lossily) compiled as a Sieve script
//! with small compile limits; a script that compiles is executed on a fixed MIME message
//! with small run limits, with an environment whose `include` returns the fuzzed source
//! itself for "self" (so recursion is exercised) and a small fixed script for other names.
//!
//! Asserts, besides "never panics":
//! - compile is deterministic (same error, same position) and errors have 1-based positions
//!   inside the source;
//! - execute is deterministic, and a successful outcome is consistent: something happens to
//!   the message (keep, fileinto, redirect, reject/ereject or an explicit discard), reject
//!   is never combined with keep/fileinto/redirect/vacation, at most one vacation, no
//!   mailbox filed twice, redirects and actions within the limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_sieve::chrono::{DateTime, FixedOffset};
use tern_sieve::{Action, CompileOptions, Envelope, Environment, Limits};

const MESSAGE: &[u8] = b"Return-Path: <a@example.org>\r
Received: from x by y; Tue, 1 Apr 1997 09:06:31 -0800\r
Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)\r
From: \"Coyote\" <coyote+acme@desert.example.org>\r
To: roadrunner@acme.example.com, =?utf-8?q?R=C3=A9ne?= <rene@example.com>\r
Cc: group: a@b.c, d@e.f;\r
Subject: =?iso-8859-1?q?caf=E9?= $$$ money\r
List-Id: <list.example.org>\r
X-Spam-Score: 7\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"b\"\r
\r
--b\r
Content-Type: text/plain; charset=utf-8\r
Content-Transfer-Encoding: quoted-printable\r
\r
Hello caf=C3=A9 MAKE MONEY FAST\r
--b\r
Content-Type: text/html\r
\r
<p>Hi <b>there</b></p>\r
--b\r
Content-Type: message/rfc822\r
\r
Subject: inner\r
\r
inner body\r
--b--\r
";

struct Env {
    source: String,
}

impl Environment for Env {
    fn mailbox_exists(&self, name: &str) -> bool {
        name == "INBOX" || name == "Junk"
    }
    fn include(&self, name: &str, _global: bool) -> Option<String> {
        match name {
            "self" => Some(self.source.clone()),
            "missing" => None,
            _ => Some("require [\"fileinto\"]; if header :contains \"Subject\" \"money\" { fileinto \"Junk\"; }".into()),
        }
    }
    fn spamtest(&self) -> Option<u8> {
        Some(7)
    }
    fn spam_percent(&self) -> Option<u8> {
        Some(70)
    }
    fn virustest(&self) -> Option<u8> {
        Some(1)
    }
    fn now(&self) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-12-04T10:00:00+01:00").expect("valid time")
    }
    fn own_addresses(&self) -> Vec<String> {
        vec!["roadrunner@acme.example.com".into()]
    }
}

fuzz_target!(|data: &[u8]| {
    let source = String::from_utf8_lossy(data).into_owned();
    let options = CompileOptions {
        max_script_size: 64 * 1024,
        max_nesting: 32,
    };
    let first = tern_sieve::compile_with(&source, &options);
    let second = tern_sieve::compile_with(&source, &options);
    let script = match (first, second) {
        (Ok(s), Ok(_)) => s,
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "compile is not deterministic");
            let lines = source.split('\n').count() as u32;
            assert!(a.line >= 1 && a.line <= lines.max(1), "line out of range: {a}");
            assert!(a.column >= 1, "column out of range: {a}");
            return;
        }
        (a, b) => panic!("compile is not deterministic: {:?} vs {:?}", a.err(), b.err()),
    };
    let _ = script.includes();
    let limits = Limits {
        max_steps: 20_000,
        max_actions: 16,
        max_redirects: 2,
        max_include_depth: 4,
        max_variable_size: 4096,
        max_variables: 64,
    };
    let envelope = Envelope {
        from: "coyote@desert.example.org".into(),
        to: "roadrunner+sieve@acme.example.com".into(),
        auth: Some("coyote@desert.example.org".into()),
    };
    let env = Env { source };
    let run = tern_sieve::execute(&script, MESSAGE, &envelope, &env, &limits);
    let again = tern_sieve::execute(&script, MESSAGE, &envelope, &env, &limits);
    assert_eq!(run, again, "execute is not deterministic");
    let Ok(outcome) = run else { return };
    let acts = &outcome.actions;
    let fate = acts.iter().any(|a| !matches!(a, Action::Vacation(_)));
    assert!(fate, "nothing happens to the message: {acts:?}");
    let rejects = acts
        .iter()
        .filter(|a| matches!(a, Action::Reject { .. } | Action::Ereject { .. }))
        .count();
    assert!(rejects <= 1);
    if rejects == 1 {
        assert!(
            acts.iter()
                .all(|a| matches!(a, Action::Reject { .. } | Action::Ereject { .. } | Action::Discard)),
            "reject combined with other actions: {acts:?}"
        );
    }
    assert!(acts.iter().filter(|a| matches!(a, Action::Vacation(_))).count() <= 1);
    assert!(acts.iter().filter(|a| matches!(a, Action::Keep { .. })).count() <= 1);
    let mut boxes: Vec<&str> = acts
        .iter()
        .filter_map(|a| match a {
            Action::FileInto { mailbox, .. } => Some(mailbox.as_str()),
            _ => None,
        })
        .collect();
    let n = boxes.len();
    boxes.sort();
    boxes.dedup();
    assert_eq!(boxes.len(), n, "a mailbox filed twice: {acts:?}");
    let redirects = acts.iter().filter(|a| matches!(a, Action::Redirect { .. })).count();
    assert!(redirects <= limits.max_redirects);
    assert!(acts.len() <= limits.max_actions + 2);
});
