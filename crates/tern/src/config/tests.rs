use super::*;

fn errors_of(text: &str) -> Vec<String> {
    match parse("t.toml", text) {
        Ok(_) => vec![],
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn empty_file_is_the_defaults() {
    assert_eq!(parse("t.toml", "").unwrap(), Config::default());
}

#[test]
fn full_file_parses() {
    let text = r#"
hostname = "mail.example.test"
data_dir = "/var/lib/tern"
local_domains = ["example.test", "Example.ORG"]
[listen]
imap = ["127.0.0.1:0", "[::1]:0"]
imaps = ["127.0.0.1:0"]
pop3 = ["127.0.0.1:0"]
pop3s = ["127.0.0.1:0"]
lmtp = ["127.0.0.1:24"]
[quota]
default = "1GB"
[auth]
allow_plaintext = true
[dns]
nameservers = ["127.0.0.1:53"]
[outbound]
smarthost = "relay.example.test:587"
[directory]
kind = "internal"
[limits]
max_message_size = "25MB"
max_connections = 100
imap_idle_timeout = "31m"
pop3_idle_timeout = "15m"
preauth_timeout = 30
metadata_cache = "8MiB"
"#;
    let c = parse("t.toml", text).unwrap();
    assert_eq!(c.quota.default, Some(Size(1_000_000_000)));
    assert_eq!(c.limits.max_message_size, Some(Size(25_000_000)));
    assert_eq!(
        c.limits.imap_idle_timeout,
        Some(Dur(std::time::Duration::from_secs(31 * 60)))
    );
    let s = Settings::resolve(Source::Defaults, c, None);
    assert_eq!(s.local_domains, ["example.test", "example.org"]);
    assert!(!s.default_listeners);
    let services: Vec<_> = s.listeners.iter().map(|l| l.service).collect();
    assert_eq!(services, ["lmtp", "imap", "imap", "imaps", "pop3", "pop3s"]);
    assert_eq!(s.max_connections, 100);
    assert_eq!(s.pop3_idle_timeout, std::time::Duration::from_secs(15 * 60));
    assert_eq!(s.metadata_cache, 8 << 20);
    assert!(s.allow_plaintext);
    let d = Settings::resolve(Source::Defaults, Config::default(), None);
    assert_eq!(d.metadata_cache, 256 << 20);
}

#[test]
fn every_schema_key_is_a_config_field() {
    // A sample value for every key in the schema must be accepted by serde: the schema and
    // the typed config cannot drift apart silently.
    let toml::Value::Table(table) = schema::sample(schema::Kind::Table(schema::ROOT)) else {
        unreachable!()
    };
    Config::deserialize(toml::Value::Table(table)).unwrap();
}

#[test]
fn unknown_keys_are_refused_at_every_level_by_serde_too() {
    for text in ["bogus = 1", "[listen]\nbogus = []", "[limits]\nbogus = 1"] {
        let table: toml::Table = text.parse().unwrap();
        assert!(
            Config::deserialize(toml::Value::Table(table)).is_err(),
            "{text}"
        );
    }
}

#[test]
fn all_errors_are_reported_at_once() {
    let text = r#"
hostname = 12
colour = "blue"
[listen]
imap = ["127.0.0.1:143", "nonsense"]
http = ["127.0.0.1:8080"]
lmtp = "127.0.0.1:24"
[tls]
cert = "/nonexistent/cert.pem"
[quota]
default = "lots"
[directory]
kind = "active-directory"
[limits]
max_message_size = "5XB"
imap_idle_timeout = "5 weeks"
max_connections = -3
"#;
    let errors = errors_of(text);
    let expect = [
        "t.toml: hostname: expected a string, found the integer 12",
        "t.toml: colour: unknown key",
        "t.toml: listen.imap[1]: \"nonsense\" is not addr:port",
        "t.toml: listen.http[0]: http is not implemented yet",
        "t.toml: listen.lmtp: expected a list of strings",
        "t.toml: tls.key: tls.cert is set but tls.key is missing",
        "t.toml: tls.cert: cannot read /nonexistent/cert.pem",
        "t.toml: quota.default: invalid size \"lots\"",
        "t.toml: directory.urls: required",
        "t.toml: limits.max_message_size: unknown size unit \"XB\"",
        "t.toml: limits.imap_idle_timeout: \"5 weeks\" is not a duration",
        "t.toml: limits.max_connections: -3 is out of range",
    ];
    for want in expect {
        assert!(
            errors.iter().any(|e| e.starts_with(want)),
            "missing {want:?} in:\n{}",
            errors.join("\n")
        );
    }
    assert_eq!(errors.len(), expect.len() + 1, "{}", errors.join("\n")); // + base_dn required
}

#[test]
fn syntax_error_names_the_line() {
    let errors = errors_of("hostname = \"a\"\n\n[listen\nimap = []\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("t.toml: line 3: TOML syntax error"),
        "{errors:?}"
    );
}

#[test]
fn duplicate_fixed_addresses_are_refused_but_port_zero_repeats() {
    let errors = errors_of("[listen]\nimap = [\"127.0.0.1:0\", \"127.0.0.1:0\"]\n");
    assert!(errors.is_empty(), "{errors:?}");
    let errors = errors_of("[listen]\nimap = [\"127.0.0.1:1143\"]\nimaps = [\"127.0.0.1:1143\"]\n");
    assert_eq!(
        errors,
        ["t.toml: listen.imaps[0]: 127.0.0.1:1143 is already used by listen.imap[0]"]
    );
}

#[test]
fn internal_directory_refuses_ldap_keys() {
    let errors = errors_of("[directory]\nkind = \"internal\"\nbase_dn = \"DC=x\"\n");
    assert_eq!(
        errors,
        ["t.toml: directory.base_dn: only used with kind = \"ldap\" or \"active-directory\""]
    );
}

#[test]
fn outbound_dane_key() {
    let c = parse(
        "t.toml",
        "[dns]\nnameservers = [\"127.0.0.1:53\"]\n[outbound]\ndane = true\n",
    )
    .unwrap();
    assert_eq!(c.outbound.dane, Some(true));
    assert_eq!(parse("t.toml", "").unwrap().outbound.dane, None);
    assert_eq!(
        errors_of("[outbound]\ndane = true\n"),
        [
            "t.toml: outbound.dane: needs [dns] nameservers: the resolvers trusted to validate DNSSEC (e.g. an Unbound on 127.0.0.1)"
        ]
    );
    assert_eq!(
        errors_of("[outbound]\ndane = \"may\"\n"),
        ["t.toml: outbound.dane: expected true or false, found the string \"may\""]
    );
    // Without the key, or with it off, no resolver is required.
    assert!(errors_of("[outbound]\ndane = false\n").is_empty());
}

#[test]
fn outbound_mta_sts_keys() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(
        &ca,
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let not_pem = dir.path().join("key.txt");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    let ok = format!(
        "[outbound]\nmta_sts = false\ntls_ca_file = {:?}\n",
        ca.display().to_string()
    );
    let c = parse("t.toml", &ok).unwrap();
    assert_eq!(
        (c.outbound.mta_sts, c.outbound.tls_ca_file),
        (Some(false), Some(ca.clone()))
    );
    let errors = errors_of(&format!(
        "[outbound]\nmta_sts = \"yes\"\ntls_ca_file = {:?}\n",
        not_pem.display().to_string()
    ));
    assert_eq!(
        errors,
        [
            "t.toml: outbound.mta_sts: expected true or false, found the string \"yes\""
                .to_string(),
            format!(
                "t.toml: outbound.tls_ca_file: no PEM certificate in {}",
                not_pem.display()
            ),
        ]
    );
    let missing = errors_of("[outbound]\ntls_ca_file = \"/nonexistent/ca.pem\"\n");
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0].starts_with("t.toml: outbound.tls_ca_file: cannot read /nonexistent/ca.pem"),
        "{missing:?}"
    );
}

#[test]
fn defaults_listen_on_documented_ports() {
    let addrs = |as_root| -> Vec<(&'static str, String)> {
        default_listeners(as_root)
            .into_iter()
            .map(|l| (l.service, l.addr))
            .collect()
    };
    let want = |list: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        list.iter().map(|(s, a)| (*s, a.to_string())).collect()
    };
    assert_eq!(
        addrs(false),
        want(&[
            ("smtp", "0.0.0.0:10025"),
            ("submission", "0.0.0.0:10587"),
            ("submissions", "0.0.0.0:10465"),
            ("imap", "0.0.0.0:10143"),
            ("imaps", "0.0.0.0:10993"),
            ("pop3", "0.0.0.0:10110"),
            ("pop3s", "0.0.0.0:10995"),
            ("managesieve", "0.0.0.0:14190"),
            ("lmtp", "127.0.0.1:10024"),
        ])
    );
    assert_eq!(
        addrs(true),
        want(&[
            ("smtp", "0.0.0.0:25"),
            ("submission", "0.0.0.0:587"),
            ("submissions", "0.0.0.0:465"),
            ("imap", "0.0.0.0:143"),
            ("imaps", "0.0.0.0:993"),
            ("pop3", "0.0.0.0:110"),
            ("pop3s", "0.0.0.0:995"),
            ("managesieve", "0.0.0.0:4190"),
            ("lmtp", "127.0.0.1:24"),
        ]),
        "LMTP stays on loopback"
    );
    for spec in default_listeners(false) {
        assert!(
            check::IMPLEMENTED_SERVICES.contains(&spec.service),
            "default listener {} is not an implemented service",
            spec.service
        );
    }
}

#[test]
fn pop3_timeouts_default_to_the_rfc_minimum_and_refuse_zero() {
    let s = Settings::resolve(Source::Defaults, Config::default(), None);
    // RFC 1939 §3: an autologout timer of at least 10 minutes.
    assert_eq!(s.pop3_idle_timeout, std::time::Duration::from_secs(600));
    assert_eq!(
        errors_of("[limits]\npop3_idle_timeout = \"0s\"\n"),
        ["t.toml: limits.pop3_idle_timeout: must be longer than 0s"]
    );
}

#[test]
fn smtp_timeout_defaults_to_the_rfc_minimum_and_refuses_zero() {
    let s = Settings::resolve(Source::Defaults, Config::default(), None);
    // RFC 5321 §4.5.3.2.7: the server timeout is at least 5 minutes.
    assert_eq!(s.smtp_timeout, std::time::Duration::from_secs(300));
    assert_eq!(s.max_recipients, 1000);
    let c = parse("t.toml", "[limits]\nsmtp_timeout = \"10m\"\n").unwrap();
    let s = Settings::resolve(Source::Defaults, c, None);
    assert_eq!(s.smtp_timeout, std::time::Duration::from_secs(600));
    assert_eq!(
        errors_of("[limits]\nsmtp_timeout = \"0s\"\n"),
        ["t.toml: limits.smtp_timeout: must be longer than 0s"]
    );
}

#[test]
fn example_file_in_the_repository_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tern.example.toml");
    let text = std::fs::read_to_string(path).unwrap();
    if let Err(e) = parse("tern.example.toml", &text) {
        panic!("{e}");
    }
}

#[test]
fn listen_services_match_the_schema() {
    let names: Vec<&str> = Listen::default()
        .services()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    let keys: Vec<&str> = schema::LISTEN.iter().map(|f| f.key).collect();
    assert_eq!(names, keys);
}

#[test]
fn gssapi_service_bind_keys() {
    let ad = "[directory]\nkind = \"active-directory\"\nurls = [\"ldap://127.0.0.2\"]\n\
              base_dn = \"DC=example,DC=test\"\nbind_mechanism = \"gssapi\"\n";
    // The keytab is required; a password is not wanted.
    let errors = errors_of(&format!("{ad}bind_dn = \"CN=x\"\n"));
    assert!(
        errors.contains(&"t.toml: directory.bind_keytab: required for bind_mechanism = \"gssapi\" (the service account's client keytab)".to_string()),
        "{errors:?}"
    );
    assert!(
        errors.iter().any(|e| e
            .starts_with("t.toml: directory.bind_dn: not used with bind_mechanism = \"gssapi\"")),
        "{errors:?}"
    );
    // kind = "ldap" has no implied realm: [kerberos] must say it.
    let ldap = ad.replace("active-directory", "ldap");
    let errors = errors_of(&format!("{ldap}bind_keytab = \"/dev/null\"\n"));
    assert_eq!(
        errors,
        [
            "t.toml: directory.bind_mechanism: \"gssapi\" with kind = \"ldap\" needs [kerberos] (realm and KDCs)"
        ]
    );
    // AD: the base DN names the realm.
    assert_eq!(
        errors_of(&format!(
            "{ad}bind_keytab = \"/dev/null\"\nsasl_host = \"dc1.example.test\"\n"
        )),
        Vec::<String>::new()
    );
    // GSSAPI-only keys with a simple bind.
    let errors = errors_of(&ad.replace("gssapi", "simple").replace(
        "bind_mechanism = \"simple\"\n",
        "bind_mechanism = \"simple\"\nsasl_host = \"dc1\"\n",
    ));
    assert_eq!(
        errors,
        ["t.toml: directory.sasl_host: only used with bind_mechanism = \"gssapi\""]
    );
    let errors = errors_of(&ad.replace("gssapi", "kerberos"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("t.toml: directory.bind_mechanism: "),
        "{errors:?}"
    );
}
