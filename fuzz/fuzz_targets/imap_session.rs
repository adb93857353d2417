//! Fuzz target `imap_session`: the real IMAP session loop ([`ImapServer::handle`]) over the
//! real embedded store, with the fuzz input as the client's bytes.
//!
//! Input: a control byte ([`tern_fuzz::input`]), then client bytes. The prefix (bits 3–4)
//! puts the session in a state first: 0 none (not authenticated), 1 `LOGIN`,
//! 2 `LOGIN` + `SELECT INBOX`, 3 `LOGIN` + `ENABLE CONDSTORE UTF8=ACCEPT` + `SELECT INBOX`.
//! Bit 6 of the control byte (`extra & 1`) turns on IMAP4rev2 (`ENABLE IMAP4rev2`) after
//! LOGIN, bit 7 (`extra & 2`) makes the limits tight (short lines and literals), so the
//! limit paths are reached with small inputs.
//!
//! Asserts: nothing panics (a panic in the session task would abort the process: the
//! runtime is current-thread and the session future is polled inline); the session ends
//! within the time limit once the client has closed (or shutdown was asked); every
//! response is well-formed ([`tern_fuzz::imap_wire::check`]).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tern_fuzz::backend::{Backend, PASSWORD, USER, backend};
use tern_fuzz::input::SessionInput;
use tern_fuzz::{drive, imap_wire};
use tern_imap::{ImapConfig, ImapServer};
use tern_net::{Conn, ConnInfo};

/// How long a session may run after the client's last byte.
const LIMIT: Duration = Duration::from_secs(20);

fn config(tight: bool) -> ImapConfig {
    let mut c = ImapConfig::new("imap.example.test");
    c.allow_plaintext = true;
    c.tls = None;
    c.auth_failure_delay = Duration::ZERO;
    c.max_auth_failures = 3;
    c.preauth_timeout = Duration::from_secs(10);
    c.idle_timeout = Duration::from_secs(10);
    if tight {
        c.max_line = 256;
        c.max_literal = 512;
        c.max_message_size = 2048;
    } else {
        c.max_line = 8 * 1024;
        c.max_literal = 16 * 1024;
        c.max_message_size = 64 * 1024;
    }
    c
}

struct Servers {
    normal: Arc<ImapServer>,
    tight: Arc<ImapServer>,
}

fn servers(b: &'static Backend) -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| Servers {
        normal: ImapServer::new(b.mail.clone(), config(false)),
        tight: ImapServer::new(b.mail.clone(), config(true)),
    })
}

fn prefix(input: &SessionInput) -> Vec<u8> {
    let mut p = Vec::new();
    if input.prefix == 0 {
        return p;
    }
    p.extend_from_slice(format!("L1 LOGIN {USER} {PASSWORD}\r\n").as_bytes());
    if input.extra & 1 != 0 {
        p.extend_from_slice(b"L2 ENABLE IMAP4rev2\r\n");
    }
    match input.prefix {
        2 => p.extend_from_slice(b"L3 SELECT INBOX\r\n"),
        3 => p.extend_from_slice(b"L3 ENABLE CONDSTORE UTF8=ACCEPT\r\nL4 SELECT INBOX\r\n"),
        _ => {}
    }
    p
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = SessionInput::parse(data) else {
        return;
    };
    let b = backend();
    let server = if input.extra & 2 != 0 {
        servers(b).tight.clone()
    } else {
        servers(b).normal.clone()
    };
    let prefix = prefix(&input);
    let chunks = input.chunks(&prefix);
    let transcript = b.block_on(async {
        b.reset().await;
        drive::session(
            chunks,
            input.shutdown,
            LIMIT,
            |stream, shutdown| async move {
                let info = ConnInfo {
                    peer: SocketAddr::from(([192, 0, 2, 1], 40000)),
                    local: SocketAddr::from(([192, 0, 2, 2], 143)),
                    tls: false,
                };
                server.handle(Conn::new(stream, info), shutdown).await;
            },
        )
        .await
    });
    tern_fuzz::show(&transcript);
    tern_fuzz::check_shutdown(&transcript);
    assert!(
        transcript.finished,
        "the session did not end within {LIMIT:?} of the client closing"
    );
    let mut client = prefix;
    client.extend_from_slice(input.client);
    if let Err(e) = imap_wire::check(&transcript.output, &client) {
        panic!(
            "malformed IMAP output: {e}\n--- output ---\n{}",
            String::from_utf8_lossy(&transcript.output)
        );
    }
});
