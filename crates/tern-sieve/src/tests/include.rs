//! RFC 6609 include: personal/global, :once, :optional, return, global variables,
//! recursion and depth.

use super::*;

fn env_with(scripts: &[(&str, bool, &str)]) -> TestEnv {
    let mut env = TestEnv::default();
    for (name, global, src) in scripts {
        env.scripts
            .insert((name.to_string(), *global), src.to_string());
    }
    env
}

#[test]
fn rfc6609_examples() {
    let main = r#"require ["include"];
include :personal "always_allow";
include :global "spam_tests";
include :personal "spam_tests";
include :personal "mailing_lists";
"#;
    let env = env_with(&[
        (
            "always_allow",
            false,
            "if address :is \"from\" \"boss@example.com\" { keep; }",
        ),
        (
            "spam_tests",
            true,
            "require \"reject\"; if header :contains \"Subject\" \"$$$\" { reject \"spam\"; }",
        ),
        (
            "spam_tests",
            false,
            "require \"fileinto\"; if header :contains \"Subject\" \"money\" { fileinto \"spam\"; }",
        ),
        (
            "mailing_lists",
            false,
            "require \"fileinto\"; if exists \"List-Id\" { fileinto \"lists\"; }",
        ),
    ]);
    let s = compile(main).unwrap();
    assert_eq!(
        s.includes(),
        vec![
            ("always_allow".to_string(), false),
            ("spam_tests".to_string(), true),
            ("spam_tests".to_string(), false),
            ("mailing_lists".to_string(), false),
        ]
    );
    let run = |msg: &str| run_with(main, msg, &env, &envelope()).unwrap().actions;
    assert_eq!(
        run(MSG_B),
        vec![Action::Reject {
            reason: "spam".into()
        }]
    );
    assert_eq!(
        run("List-Id: <l.example.org>\r\nSubject: x\r\n\r\n"),
        vec![fileinto("lists")]
    );
    assert_eq!(run(MSG_A), vec![keep()]);

    // Global variables (RFC 6609 §3.3 example).
    let main = r#"require ["variables", "include", "relational", "fileinto"];
global "test";
global "test_mailbox";

set "test" "$$";
include "subject_tests";

set "test" "Make money";
include "subject_tests";

if string :count "eq" "${test_mailbox}" "1"
{
    fileinto "${test_mailbox}";
    stop;
}
"#;
    let env = env_with(&[(
        "subject_tests",
        false,
        r#"require ["variables", "include"];
global ["test", "test_mailbox"];

if header :contains "Subject" "${test}"
{
    set "test_mailbox" "spam-${test}";
}"#,
    )]);
    assert_eq!(
        run_with(main, MSG_B, &env, &envelope()).unwrap().actions,
        vec![fileinto("spam-$$")]
    );
    assert_eq!(
        run_with(main, MSG_A, &env, &envelope()).unwrap().actions,
        vec![keep()]
    );
}

#[test]
fn once_optional_return_and_scopes() {
    let env = env_with(&[
        (
            "counter",
            false,
            "require [\"include\", \"variables\", \"fileinto\"]; global \"n\"; set \"n\" \"${n}x\"; fileinto \"n${n}\"; return; fileinto \"never\";",
        ),
        (
            "local",
            false,
            "require [\"variables\", \"fileinto\"]; fileinto \"local[${v}]\"; set \"v\" \"inner\";",
        ),
        ("stopper", false, "stop;"),
    ]);
    let run = |s: &str| run_with(s, MSG_A, &env, &envelope());
    assert_eq!(
        run("require [\"include\", \"variables\"]; global \"n\"; include \"counter\"; include :once \"counter\"; include \"counter\";")
            .unwrap()
            .actions,
        vec![fileinto("nx"), fileinto("nxx")]
    );
    // Non-global variables are per script.
    assert_eq!(
        run("require [\"include\", \"variables\", \"fileinto\"]; set \"v\" \"outer\"; include \"local\"; fileinto \"${v}\";")
            .unwrap()
            .actions,
        vec![fileinto("local[]"), fileinto("outer")]
    );
    // stop in an included script ends everything.
    assert_eq!(
        run("require [\"include\"]; include \"stopper\"; discard;")
            .unwrap()
            .actions,
        vec![keep()]
    );
    assert_eq!(
        run("require [\"include\"]; include :optional \"missing\"; discard;")
            .unwrap()
            .actions,
        vec![Action::Discard]
    );
    assert!(matches!(
        run("require [\"include\"]; include \"missing\";"),
        Err(RuntimeError::Include(_))
    ));
    assert!(matches!(
        run("require [\"include\"]; include :global \"counter\";"),
        Err(RuntimeError::Include(_))
    ));
}

#[test]
fn recursion_and_bad_scripts_are_errors() {
    let env = env_with(&[
        ("a", false, "require \"include\"; include \"b\";"),
        ("b", false, "require \"include\"; include \"a\";"),
        ("self", false, "require \"include\"; include \"self\";"),
        ("broken", false, "if true {"),
        ("nofileinto", false, "fileinto \"x\";"),
    ]);
    for name in ["a", "self", "broken", "nofileinto"] {
        let script = format!("require \"include\"; include \"{name}\";");
        let r = run_with(&script, MSG_A, &env, &envelope());
        assert!(matches!(r, Err(RuntimeError::Include(_))), "{name}: {r:?}");
    }
    // Depth: a chain deeper than the limit.
    let mut env = TestEnv::default();
    for i in 0..20 {
        env.scripts.insert(
            (format!("s{i}"), false),
            format!("require \"include\"; include \"s{}\";", i + 1),
        );
    }
    env.scripts.insert(("s20".into(), false), "keep;".into());
    let r = run_with(
        "require \"include\"; include \"s0\";",
        MSG_A,
        &env,
        &envelope(),
    );
    assert!(
        matches!(r, Err(RuntimeError::Include(ref m)) if m.contains("deeper")),
        "{r:?}"
    );
    let limits = Limits {
        max_include_depth: 32,
        ..Limits::default()
    };
    let s = compile("require \"include\"; include \"s0\";").unwrap();
    assert_eq!(
        execute(&s, MSG_A.as_bytes(), &envelope(), &env, &limits)
            .unwrap()
            .actions,
        vec![keep()]
    );
}
