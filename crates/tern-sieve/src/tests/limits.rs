//! Limits: pathological scripts and messages end with a RuntimeError, not a stall.

use super::*;
use crate::Script;

fn run_limits(script: &Script, msg: &[u8], limits: &Limits) -> Result<Outcome, RuntimeError> {
    execute(script, msg, &envelope(), &TestEnv::default(), limits)
}

#[test]
fn many_headers_with_matches_hit_the_step_limit() {
    let mut msg = String::new();
    for i in 0..10_000 {
        msg.push_str(&format!("X-H: {}{i}\r\n", "a".repeat(200)));
    }
    msg.push_str("\r\nbody\r\n");
    let keys: Vec<String> = (0..50).map(|i| format!("\"*a*a*a*b{i}*\"")).collect();
    let script = compile(&format!(
        "if header :matches \"X-H\" [{}] {{ discard; }}",
        keys.join(",")
    ))
    .unwrap();
    // A fifth of the default budget keeps the debug-build test short; the default is the
    // same check, five times longer.
    let limits = Limits {
        max_steps: 200_000,
        ..Limits::default()
    };
    let r = run_limits(&script, msg.as_bytes(), &limits);
    assert_eq!(r, Err(RuntimeError::StepLimit));
    // With a generous limit the same script completes (the limit, not a bug, stopped it).
    let small = compile("if header :matches \"X-H\" \"*zz*\" { discard; }").unwrap();
    assert_eq!(
        run_limits(&small, msg.as_bytes(), &Limits::default())
            .unwrap()
            .actions,
        vec![keep()]
    );
}

#[test]
fn huge_variables_are_truncated_and_bounded() {
    let script = compile(
        "require [\"variables\", \"fileinto\"];\nset \"a\" \"0123456789\";\n\
         set \"a\" \"${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}\";\n\
         set \"a\" \"${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}\";\n\
         set \"a\" \"${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}\";\n\
         set \"a\" \"${a}${a}${a}${a}${a}${a}${a}${a}${a}${a}\";\n\
         set :length \"n\" \"${a}\"; fileinto \"${n}\";",
    )
    .unwrap();
    let limits = Limits {
        max_variable_size: 4096,
        ..Limits::default()
    };
    assert_eq!(
        run_limits(&script, MSG_A.as_bytes(), &limits)
            .unwrap()
            .actions,
        vec![fileinto("4096")]
    );
}

#[test]
fn action_and_redirect_limits() {
    let many: String = (0..100).map(|i| format!("fileinto \"f{i}\";")).collect();
    let script = compile(&format!("require \"fileinto\";{many}")).unwrap();
    assert_eq!(
        run_limits(&script, MSG_A.as_bytes(), &Limits::default()),
        Err(RuntimeError::TooManyActions)
    );
    let redirects: String = (0..10)
        .map(|i| format!("redirect \"r{i}@example.com\";"))
        .collect();
    let script = compile(&redirects).unwrap();
    assert_eq!(
        run_limits(&script, MSG_A.as_bytes(), &Limits::default()),
        Err(RuntimeError::TooManyRedirects)
    );
}

#[test]
fn long_scripts_are_bounded_by_steps() {
    // 50,000 tests in one anyof: cheap each, but counted.
    let tests = vec!["false"; 50_000].join(",");
    let script = compile(&format!("if anyof({tests}) {{ discard; }}")).unwrap();
    let limits = Limits {
        max_steps: 10_000,
        ..Limits::default()
    };
    assert_eq!(
        run_limits(&script, MSG_A.as_bytes(), &limits),
        Err(RuntimeError::StepLimit)
    );
    assert_eq!(
        run_limits(&script, MSG_A.as_bytes(), &Limits::default())
            .unwrap()
            .actions,
        vec![keep()]
    );
}

#[test]
fn scripts_are_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Script>();
    let s = compile("keep;").unwrap();
    let t = s.clone();
    assert!(std::sync::Arc::ptr_eq(&s.inner, &t.inner));
}

#[test]
fn body_rules_work_on_big_messages() {
    let attachment =
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\r\n"
            .repeat(60_000);
    let msg = format!(
        "Subject: big\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nplease find the report attached\r\n--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n{attachment}--b--\r\n"
    );
    assert!(msg.len() > 4_000_000);
    let script = compile(
        "require [\"body\", \"fileinto\"];\nif body :text :contains \"report\" { fileinto \"reports\"; }\nif body :raw :contains \"nothing-like-this\" { discard; }",
    )
    .unwrap();
    assert_eq!(
        run_limits(&script, msg.as_bytes(), &Limits::default())
            .unwrap()
            .actions,
        vec![fileinto("reports")]
    );
}
