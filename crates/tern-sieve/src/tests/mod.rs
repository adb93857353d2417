//! In-crate tests: RFC examples compiled and run on sample messages with exact outcomes,
//! compile errors with positions, limits, and the vacation checks.

mod compile_errors;
mod extensions;
mod include;
mod limits;
mod rfc5228;
mod vacation;

use std::collections::HashMap;

use crate::{Action, Envelope, Environment, Limits, Outcome, RuntimeError, compile, execute};

/// RFC 5228 §1.2 message A.
pub const MSG_A: &str = "Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)\r
From: coyote@desert.example.org\r
To: roadrunner@acme.example.com\r
Subject: I have a present for you\r
\r
Look, I'm sorry about the whole anvil thing, and I really\r
didn't mean to try and drop it on you from the top of the\r
cliff.  I want to try to make it up to you.  I've got some\r
great birdseed over here at my place--top of the line\r
stuff--and if you come by, I'll have it all wrapped up\r
for you.  I'm really sorry for all the problems I've caused\r
for you over the years, but I know we can work this out.\r
--\r
Wile E. Coyote   \"Super Genius\"   coyote@desert.example.org\r
";

/// RFC 5228 §1.2 message B.
pub const MSG_B: &str = "From: youcouldberich!@reply-by-postal-mail.invalid\r
Sender: b1ff@de.res.example.com\r
To: rube@landru.example.com\r
Date:  Mon, 31 Mar 1997 18:26:10 -0800\r
Subject: $$$ YOU, TOO, CAN BE A MILLIONAIRE! $$$\r
\r
YOU MAY HAVE ALREADY WON TEN MILLION DOLLARS, BUT I DOUBT\r
IT!  SO JUST CALL 1-900-CALL-ME-NOW!  ...\r
";

pub struct TestEnv {
    pub mailboxes: Vec<String>,
    pub scripts: HashMap<(String, bool), String>,
    pub spam: Option<u8>,
    pub spam_percent: Option<u8>,
    pub virus: Option<u8>,
    pub own: Vec<String>,
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv {
            mailboxes: vec!["INBOX".into(), "Partners".into()],
            scripts: HashMap::new(),
            spam: None,
            spam_percent: None,
            virus: None,
            own: vec!["roadrunner@acme.example.com".into()],
        }
    }
}

impl Environment for TestEnv {
    fn mailbox_exists(&self, name: &str) -> bool {
        self.mailboxes.iter().any(|m| m == name)
    }
    fn include(&self, name: &str, global: bool) -> Option<String> {
        self.scripts.get(&(name.to_string(), global)).cloned()
    }
    fn spamtest(&self) -> Option<u8> {
        self.spam
    }
    fn spam_percent(&self) -> Option<u8> {
        self.spam_percent
    }
    fn virustest(&self) -> Option<u8> {
        self.virus
    }
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339("2007-07-04T10:30:00+02:00").unwrap()
    }
    fn own_addresses(&self) -> Vec<String> {
        self.own.clone()
    }
}

pub fn envelope() -> Envelope {
    Envelope {
        from: "coyote@desert.example.org".into(),
        to: "roadrunner+sieve@acme.example.com".into(),
        auth: None,
    }
}

/// Compiles (panicking with the error) and runs with default limits.
pub fn run_with(
    script: &str,
    msg: &str,
    env: &TestEnv,
    envelope: &Envelope,
) -> Result<Outcome, RuntimeError> {
    let s = compile(script).unwrap_or_else(|e| panic!("compile failed: {e}\n{script}"));
    execute(&s, msg.as_bytes(), envelope, env, &Limits::default())
}

pub fn actions(script: &str, msg: &str) -> Vec<Action> {
    run_with(script, msg, &TestEnv::default(), &envelope())
        .unwrap_or_else(|e| panic!("run failed: {e}\n{script}"))
        .actions
}

pub fn keep() -> Action {
    Action::Keep { flags: vec![] }
}

pub fn keep_flags(flags: &[&str]) -> Action {
    Action::Keep {
        flags: flags.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn fileinto(m: &str) -> Action {
    Action::FileInto {
        mailbox: m.into(),
        flags: vec![],
        create: false,
    }
}

pub fn redirect(a: &str) -> Action {
    Action::Redirect { address: a.into() }
}

/// Runs each (script, message, expected actions) row, reporting every failing row.
pub fn check_table(rows: &[(&str, &str, Vec<Action>)]) {
    let mut failures = Vec::new();
    for (i, (script, msg, expected)) in rows.iter().enumerate() {
        let got = std::panic::catch_unwind(|| actions(script, msg));
        match got {
            Ok(got) if got == *expected => {}
            Ok(got) => failures.push(format!(
                "row {i}: expected {expected:?}, got {got:?}\n{script}"
            )),
            Err(_) => failures.push(format!("row {i}: panicked\n{script}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
