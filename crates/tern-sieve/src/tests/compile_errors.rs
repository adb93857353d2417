//! Compile errors carry the line and column of the offending token; every RFC example in
//! the other test files compiles (they would panic otherwise).

use crate::{CompileOptions, compile, compile_with};

#[test]
fn errors_with_positions() {
    let rows: &[(&str, u32, u32, &str)] = &[
        (
            "require \"fileinto\";\nrequire \"frobnicate\";",
            2,
            9,
            "unsupported extension",
        ),
        (
            "require [\"fileinto\",\n   \"regex\"];",
            2,
            4,
            "unsupported extension",
        ),
        ("keep;\n  fileinto \"x\";", 2, 3, "requires \"fileinto\""),
        ("if true {\n  reject \"x\";\n}", 2, 3, "requires \"reject\""),
        (
            "if header :regex \"a\" \"b\" { }",
            1,
            11,
            "unknown tagged argument :regex",
        ),
        (
            "require \"fileinto\";\nfileinto :copy \"x\";",
            2,
            10,
            "requires \"copy\"",
        ),
        (
            "if address :user \"to\" \"x\" {}",
            1,
            12,
            "requires \"subaddress\"",
        ),
        (
            "if header :value \"gt\" \"x\" \"1\" {}",
            1,
            11,
            "requires \"relational\"",
        ),
        ("if header :is :contains \"a\" \"b\" {}", 1, 15, "conflicts"),
        ("if header :is :is \"a\" \"b\" {}", 1, 15, "duplicate"),
        ("if header \"a\" {}", 1, 4, "takes 2 positional arguments"),
        ("if size 100 {}", 1, 4, ":over or :under"),
        (
            "if header :comparator \"i;frob\" \"a\" \"b\" {}",
            1,
            23,
            "unknown comparator",
        ),
        (
            "if header :contains :comparator \"i;ascii-numeric\" \"a\" \"b\" {}",
            1,
            33,
            "requires \"comparator-i;ascii-numeric\"",
        ),
        (
            "require \"comparator-i;ascii-numeric\";\nif header :contains :comparator \"i;ascii-numeric\" \"a\" \"b\" {}",
            2,
            11,
            "cannot be used with this comparator",
        ),
        ("frobnicate;", 1, 1, "unknown command"),
        ("if frob {}", 1, 4, "unknown test"),
        ("keep", 1, 5, "expected ';'"),
        ("keep;\nelse { keep; }", 2, 1, "without a preceding if"),
        (
            "if true { keep; }\nkeep;\nelsif true { keep; }",
            3,
            1,
            "without a preceding if",
        ),
        (
            "keep;\nrequire \"fileinto\";",
            2,
            1,
            "require must come before",
        ),
        ("if true {\n keep;\n", 1, 9, "missing '}'"),
        ("discard \"x\";", 1, 9, "takes 0 positional"),
        ("keep;\n\"x\";", 2, 1, "expected a command name"),
        ("redirect \"not an address\";", 1, 10, "invalid address"),
        (
            "require \"variables\";\nset \"a-b\" \"x\";",
            2,
            5,
            "invalid variable name",
        ),
        (
            "require \"date\";\nif date \"date\" \"fortnight\" \"1\" {}",
            2,
            16,
            "unknown date part",
        ),
        (
            "require \"date\";\nif date :zone \"CET\" \"date\" \"year\" \"1\" {}",
            2,
            15,
            "invalid zone",
        ),
        (
            "require \"index\";\nif header :last \"a\" \"b\" {}",
            2,
            11,
            ":last requires :index",
        ),
        (
            "require \"vacation\";\nvacation :seconds 5 \"x\";",
            2,
            10,
            "requires \"vacation-seconds\"",
        ),
        (
            "require \"vacation\";\nvacation :days \"x\" \"y\";",
            2,
            16,
            "needs a number",
        ),
        ("if header \"a\" [\"b\", 1] {}", 1, 21, "expected a string"),
        (
            "if anyof (true false) {}",
            1,
            16,
            "true does not take a test",
        ),
        ("if anyof (true, false {}", 1, 23, "expected ',' or ')'"),
        ("/* unterminated", 1, 1, "unterminated comment"),
        ("if header \"a\" \"b {}", 1, 15, "unterminated string"),
        (
            "require \"reject\";\nreject text:\nno end\n",
            2,
            8,
            "unterminated multi-line",
        ),
        (
            "if size :over 99999999999999999999 {}",
            1,
            15,
            "number too large",
        ),
        ("if exists \"bad name:\" {}", 1, 11, "invalid header name"),
        (
            "require \"include\";\ninclude \"../x\";",
            2,
            9,
            "invalid script name",
        ),
        (
            "require \"variables\";\nglobal \"x\";",
            2,
            1,
            "requires \"include\"",
        ),
        ("if true keep;", 1, 9, "true does not take a test"),
        ("if true;", 1, 1, "if needs a block"),
        (
            "require \"imap4flags\";\nkeep :flags;",
            2,
            6,
            ":flags needs a value",
        ),
        ("if not (true, false) {}", 1, 4, "exactly one test"),
    ];
    let mut failures = Vec::new();
    for (script, line, column, msg) in rows {
        match compile(script) {
            Ok(_) => failures.push(format!("{script:?}: compiled")),
            Err(e) => {
                if (e.line, e.column) != (*line, *column) || !e.message.contains(msg) {
                    failures.push(format!(
                        "{script:?}: expected {line}:{column} {msg:?}, got {e}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn display_format_and_options() {
    let e = compile("keep;\n  frob;").unwrap_err();
    assert_eq!(e.to_string(), "line 2, column 3: unknown command \"frob\"");
    let opts = CompileOptions {
        max_script_size: 10,
        ..CompileOptions::default()
    };
    assert!(compile_with("keep; keep; keep;", &opts).is_err());
    let deep = format!("{}keep;{}", "if true {".repeat(100), "}".repeat(100));
    let e = compile(&deep).unwrap_err();
    assert!(e.message.contains("nesting too deep"), "{e}");
    let tests = format!("if {}true{} {{}}", "not ".repeat(200), "");
    assert!(compile(&tests).is_err());
    let ok = format!("{}keep;{}", "if true {".repeat(20), "}".repeat(20));
    assert!(compile(&ok).is_ok());
}

#[test]
fn every_listed_extension_is_accepted() {
    for ext in crate::EXTENSIONS {
        compile(&format!("require \"{ext}\";")).unwrap_or_else(|e| panic!("{ext}: {e}"));
    }
}
