//! Fuzz target `legacy_login`: tern-legacy's login exchanges (migration mode's relay) on
//! arbitrary legacy-server output. The first byte picks IMAP or POP3 and the login kind
//! (the user's password, or an administrator's); the rest is what the server sends, then
//! EOF.
//!
//! Asserts, besides "never panics" and "never hangs" (EOF ends every wait):
//! - a login succeeds only if the server said so: IMAP's tagged `T2 OK`, POP3's `+OK` after
//!   the greeting;
//! - what is handed to the relay as already received is a suffix of the server's output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tern_legacy::{AdminStyle, Login};
use tokio::io::AsyncWriteExt;

fuzz_target!(|data: &[u8]| {
    let Some((&head, output)) = data.split_first() else {
        return;
    };
    let login = if head & 2 == 0 {
        Login::User {
            login: "alice".into(),
            password: "pw".into(),
        }
    } else {
        Login::Admin {
            style: AdminStyle::DovecotMaster,
            admin: "root".into(),
            password: "s".into(),
            user: "alice".into(),
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        server.write_all(output).await.expect("duplex write");
        server.shutdown().await.expect("duplex shutdown");
        if head & 1 == 0 {
            if let Ok((_caps, pending)) = tern_legacy::imap::login_on(client, &login).await {
                assert!(output.windows(5).any(|w| w == b"T2 OK" || w == b"T2 ok"));
                assert!(output.ends_with(&pending));
            }
        } else if let Ok(pending) = tern_legacy::pop3::login_on(client, &login).await {
            assert!(output.starts_with(b"+OK"));
            assert!(output.ends_with(&pending));
        }
    });
});
