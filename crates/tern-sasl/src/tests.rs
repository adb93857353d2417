//! Exchanges against a real internal directory (SQLite in a temporary folder).
use super::*;
use crate::scram::{ScramServer, ScramStep, StaticScramStore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tern_directory::internal::{HashParams, InternalDirectory};

async fn directory() -> (tempfile::TempDir, InternalDirectory) {
    let dir = tempfile::tempdir().unwrap();
    let d = InternalDirectory::open_in(dir.path())
        .unwrap()
        .with_hash_params(HashParams::insecure_fast())
        .unwrap();
    d.add_user("fred@example.test", Some("secret"), None)
        .await
        .unwrap();
    d.add_user("admin@example.test", Some("pw"), None)
        .await
        .unwrap();
    (dir, d)
}

fn done(step: Step) -> Account {
    match step {
        Step::Done(s) => s.account,
        Step::Challenge(c) => panic!("unexpected challenge {c:?}"),
    }
}

fn challenge(step: Step) -> Vec<u8> {
    match step {
        Step::Challenge(c) => c,
        Step::Done(s) => panic!("unexpected success {:?}", s.account),
    }
}

#[tokio::test]
async fn plain_with_and_without_initial_response() {
    let (_tmp, d) = directory().await;
    let sasl = Authenticator::new(Arc::new(d));
    let mut ex = sasl.start("plain").unwrap();
    assert_eq!(challenge(ex.step(None).await.unwrap()), b"");
    let account = done(ex.step(Some(b"\0fred\0secret")).await.unwrap());
    assert_eq!(account.name, "fred@example.test");
    // The authzid may name the same account in another spelling.
    let mut ex = sasl.start("PLAIN").unwrap();
    let step = ex.step(Some(b"fred@example.test\0fred\0secret")).await;
    assert_eq!(done(step.unwrap()).name, "fred@example.test");
    // ...but not another account.
    let mut ex = sasl.start("PLAIN").unwrap();
    let r = ex.step(Some(b"admin\0fred\0secret")).await;
    assert!(matches!(r, Err(SaslError::NotAuthorized { .. })), "{r:?}");
    // Wrong password, unknown user, malformed.
    let mut ex = sasl.start("PLAIN").unwrap();
    let r = ex.step(Some(b"\0fred\0wrong")).await;
    assert!(matches!(r, Err(SaslError::Failed { .. })), "{r:?}");
    let mut ex = sasl.start("PLAIN").unwrap();
    let r = ex.step(Some(b"\0nobody\0secret")).await;
    assert!(matches!(r, Err(SaslError::Failed { .. })), "{r:?}");
    let mut ex = sasl.start("PLAIN").unwrap();
    let r = ex.step(Some(b"fred\0secret")).await;
    assert!(
        matches!(r, Err(SaslError::Malformed(MALFORMED_PLAIN))),
        "{r:?}"
    );
    // The exchange is over after an error.
    assert!(ex.step(Some(b"\0fred\0secret")).await.is_err());
}

#[tokio::test]
async fn login_asks_for_user_then_password() {
    let (_tmp, d) = directory().await;
    d.set_enabled("admin@example.test", false).await.unwrap();
    let sasl = Authenticator::new(Arc::new(d));
    let mut ex = sasl.start("LOGIN").unwrap();
    assert_eq!(challenge(ex.step(None).await.unwrap()), b"Username:");
    assert_eq!(
        challenge(ex.step(Some(b"fred")).await.unwrap()),
        b"Password:"
    );
    assert_eq!(
        done(ex.step(Some(b"secret")).await.unwrap()).name,
        "fred@example.test"
    );
    // A disabled account is refused even with the right password.
    let mut ex = sasl.start("LOGIN").unwrap();
    challenge(ex.step(Some(b"admin")).await.unwrap());
    let r = ex.step(Some(b"pw")).await;
    assert!(matches!(r, Err(SaslError::Failed { .. })), "{r:?}");
    let mut ex = sasl.start("LOGIN").unwrap();
    let r = ex.step(Some(b"fr\xffed")).await;
    assert!(matches!(r, Err(SaslError::Malformed(NOT_UTF8))), "{r:?}");
}

#[tokio::test]
async fn only_offered_mechanisms_start() {
    let (_tmp, d) = directory().await;
    let sasl = Authenticator::new(Arc::new(d));
    assert_eq!(sasl.mechanism_names(), ["PLAIN", "LOGIN"]);
    for m in ["GSSAPI", "CRAM-MD5", "SCRAM-SHA-256", "", "PLAINX"] {
        assert!(
            matches!(sasl.start(m), Err(SaslError::UnknownMechanism)),
            "{m}"
        );
    }
    // GSSAPI and SCRAM need their back ends even when configured.
    let sasl = sasl.with_mechanisms(&Mechanism::ALL);
    assert_eq!(sasl.mechanism_names(), ["PLAIN", "LOGIN"]);
    let sasl = sasl.with_scram(StaticScramStore(vec![]).into());
    assert_eq!(sasl.mechanism_names(), ["PLAIN", "LOGIN", "SCRAM-SHA-256"]);
    let sasl = sasl.with_mechanisms(&[Mechanism::ScramSha256, Mechanism::Plain]);
    assert_eq!(sasl.mechanism_names(), ["SCRAM-SHA-256", "PLAIN"]);
    assert!(sasl.offers("scram-sha-256") && !sasl.offers("LOGIN"));
}

fn user_account() -> Account {
    Account {
        name: "user@example.test".into(),
        addresses: vec!["user@example.test".into()],
        quota_bytes: None,
        enabled: true,
        display_name: None,
        groups: vec![],
        ..Default::default()
    }
}

/// The RFC 7677 §3 exchange, byte for byte (user "user", password "pencil").
#[tokio::test]
async fn scram_rfc7677_example() {
    let (_tmp, d) = directory().await;
    let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
    let keys = ScramKeys::derive("pencil", &salt, 4096);
    let sasl = Authenticator::new(Arc::new(d))
        .with_scram(StaticScramStore(vec![(user_account(), keys)]).into());
    let mut server = ScramServer::with_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    let ScramStep::Challenge(first) = server
        .step(&sasl, Some(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
        .await
        .unwrap()
    else {
        panic!("expected server-first");
    };
    assert_eq!(
        String::from_utf8(first).unwrap(),
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let client_final = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    let ScramStep::Done(account, last) = server
        .step(&sasl, Some(client_final.as_bytes()))
        .await
        .unwrap()
    else {
        panic!("expected success");
    };
    assert_eq!(account.name, "user@example.test");
    assert_eq!(
        String::from_utf8(last).unwrap(),
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    );
    // One bit off in the proof fails.
    let mut server = ScramServer::with_nonce("%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0");
    server
        .step(&sasl, Some(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"))
        .await
        .unwrap();
    let bad = client_final.replace("p=dHzb", "p=dHzc");
    let r = server.step(&sasl, Some(bad.as_bytes())).await;
    assert!(matches!(r, Err(SaslError::Failed { .. })));
}

/// Through the exchange: the server-final message is a last challenge, answered empty.
#[tokio::test]
async fn scram_exchange_and_unknown_user() {
    let (_tmp, d) = directory().await;
    let keys = ScramKeys::derive("pencil", b"0123456789abcdef", 4096);
    let sasl = Authenticator::new(Arc::new(d))
        .with_mechanisms(&[Mechanism::ScramSha256])
        .with_scram(StaticScramStore(vec![(user_account(), keys)]).into());
    let mut ex = sasl.start("SCRAM-SHA-256").unwrap();
    let first = challenge(ex.step(Some(b"n,,n=user,r=abc")).await.unwrap());
    let first = String::from_utf8(first).unwrap();
    let nonce = first.split(',').next().unwrap().strip_prefix("r=").unwrap();
    assert!(nonce.starts_with("abc") && nonce.len() > 10);
    let final_ = client_final("pencil", b"0123456789abcdef", "n=user,r=abc", &first);
    let v = challenge(ex.step(Some(final_.as_bytes())).await.unwrap());
    assert!(v.starts_with(b"v="));
    let r = ex.step(Some(b"x")).await;
    assert!(r.is_err(), "only an empty response completes");
    let mut ex = sasl.start("SCRAM-SHA-256").unwrap();
    challenge(ex.step(Some(b"n,,n=user,r=abc")).await.unwrap());
    // (a fresh server nonce each time: the earlier final message does not replay)
    assert!(ex.step(Some(final_.as_bytes())).await.is_err());
    // Unknown users get a salt too, and fail at the proof.
    let mut ex = sasl.start("SCRAM-SHA-256").unwrap();
    let first = challenge(ex.step(Some(b"n,,n=ghost,r=abc")).await.unwrap());
    let first = String::from_utf8(first).unwrap();
    assert!(first.contains(",s=") && first.ends_with(",i=4096"));
    let final_ = client_final("pencil", b"0123456789abcdef", "n=ghost,r=abc", &first);
    let r = ex.step(Some(final_.as_bytes())).await;
    assert!(matches!(r, Err(SaslError::Failed { .. })), "{r:?}");
    // Success data in the outcome instead (the auth socket).
    let mut ex = sasl.start("SCRAM-SHA-256").unwrap().final_data_in_success();
    let first = challenge(ex.step(Some(b"n,,n=user,r=abc")).await.unwrap());
    let first = String::from_utf8(first).unwrap();
    let final_ = client_final("pencil", b"0123456789abcdef", "n=user,r=abc", &first);
    match ex.step(Some(final_.as_bytes())).await.unwrap() {
        Step::Done(s) => assert!(s.data.unwrap().starts_with(b"v=")),
        other => panic!("{other:?}"),
    }
}

/// A client's final message (what a SCRAM client computes).
fn client_final(password: &str, salt: &[u8], bare: &str, server_first: &str) -> String {
    use hmac::{Hmac, Mac};
    use sha2::{Digest, Sha256};
    let nonce = server_first
        .split(',')
        .next()
        .unwrap()
        .strip_prefix("r=")
        .unwrap();
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, 4096, &mut salted);
    let mac = |k: &[u8], d: &[u8]| {
        let mut m = Hmac::<Sha256>::new_from_slice(k).unwrap();
        m.update(d);
        m.finalize().into_bytes().to_vec()
    };
    let client_key = mac(&salted, b"Client Key");
    let stored = Sha256::digest(&client_key);
    let without = format!("c=biws,r={nonce}");
    let auth = format!("{bare},{server_first},{without}");
    let sig = mac(&stored, auth.as_bytes());
    let proof: Vec<u8> = client_key.iter().zip(sig).map(|(a, b)| a ^ b).collect();
    format!("{without},p={}", B64.encode(proof))
}

/// The internal directory stores a secret at `user add` / `passwd`; SCRAM works with it,
/// and a user whose password is cleared cannot use SCRAM any more.
#[tokio::test]
async fn scram_with_the_internal_directory() {
    let (_tmp, d) = directory().await;
    let secret = d.scram_sha256("fred").await.unwrap().unwrap().1;
    let keys = ScramKeys::parse(&secret).unwrap();
    assert_eq!(keys.iterations, 4096);
    assert_eq!(keys, ScramKeys::derive("secret", &keys.salt, 4096));
    let store: Arc<InternalDirectory> = Arc::new(d.clone());
    let sasl = Authenticator::new(Arc::new(d.clone()))
        .with_mechanisms(&[Mechanism::ScramSha256])
        .with_scram(store);
    let mut ex = sasl.start("SCRAM-SHA-256").unwrap();
    let first = challenge(ex.step(Some(b"n,,n=fred,r=xyz")).await.unwrap());
    let first = String::from_utf8(first).unwrap();
    let final_ = client_final("secret", &keys.salt, "n=fred,r=xyz", &first);
    challenge(ex.step(Some(final_.as_bytes())).await.unwrap());
    assert_eq!(
        done(ex.step(Some(b"")).await.unwrap()).name,
        "fred@example.test"
    );
    // A wrong password gives a wrong proof.
    let mut ex = sasl.start("SCRAM-SHA-256").unwrap();
    let first = challenge(ex.step(Some(b"n,,n=fred,r=xyz")).await.unwrap());
    let first = String::from_utf8(first).unwrap();
    let final_ = client_final("Secret", &keys.salt, "n=fred,r=xyz", &first);
    assert!(ex.step(Some(final_.as_bytes())).await.is_err());
    d.clear_password("fred@example.test").await.unwrap();
    assert!(d.scram_sha256("fred").await.unwrap().is_none());
    for bad in [
        "",
        "SCRAM-SHA-256$x:AA==$AA==:AA==",
        "SCRAM-SHA-1$4096:AA==$AA==:AA==",
    ] {
        assert!(ScramKeys::parse(bad).is_none(), "{bad}");
    }
}
