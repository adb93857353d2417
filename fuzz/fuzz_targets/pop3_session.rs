//! Fuzz target `pop3_session`: the whole POP3 session ([`Pop3Server::handle`]) over a duplex
//! pipe and the real embedded store (INBOX holds the seed messages), with the fuzz input as
//! the client's bytes.
//!
//! Input: a control byte ([`tern_fuzz::input`]), then client bytes. The prefix (bits 3–4):
//! 0 none (AUTHORIZATION state), 1 `USER`/`PASS`, 2 `AUTH PLAIN` with an initial response,
//! 3 `AUTH PLAIN` answered after the `+ ` continuation; 1–3 reach the TRANSACTION state.
//! Bit 6 (`extra & 1`) makes the limits tight (64-octet lines, one bad command allowed).
//!
//! Asserts: nothing panics; the session ends within the time limit once the client has
//! closed (or shutdown was asked); the output is well-formed
//! ([`tern_fuzz::pop3_wire::check`]: status lines, dot-stuffed multi-line bodies ending
//! with `.`, CRLF line ends only).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tern_fuzz::backend::{Backend, PASSWORD, USER, backend};
use tern_fuzz::input::SessionInput;
use tern_fuzz::{drive, pop3_wire};
use tern_net::{Conn, ConnInfo};
use tern_pop3::{Pop3Config, Pop3Limits, Pop3Server};

/// How long a session may run after the client's last byte.
const LIMIT: Duration = Duration::from_secs(20);
/// base64 of `\0fuzz@example.test\0secret` (RFC 4616 PLAIN).
const PLAIN: &str = "AGZ1enpAZXhhbXBsZS50ZXN0AHNlY3JldA==";

struct Servers {
    normal: Arc<Pop3Server>,
    tight: Arc<Pop3Server>,
}

fn servers(b: &'static Backend) -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let config = Pop3Config {
            hostname: "pop.example.test".into(),
            allow_plaintext: true,
            tls: None,
            idle_timeout: Duration::from_secs(10),
        };
        let limits = |max_line, max_bad_commands| Pop3Limits {
            preauth_timeout: Duration::from_secs(10),
            auth_failure_delay: Duration::ZERO,
            max_auth_failures: 3,
            max_line,
            max_bad_commands,
        };
        Servers {
            normal: Pop3Server::with_limits(b.mail.clone(), config.clone(), limits(1024, 10)),
            tight: Pop3Server::with_limits(b.mail.clone(), config, limits(64, 1)),
        }
    })
}

fn prefix(input: &SessionInput) -> Vec<u8> {
    match input.prefix {
        1 => format!("USER {USER}\r\nPASS {PASSWORD}\r\n").into_bytes(),
        2 => format!("AUTH PLAIN {PLAIN}\r\n").into_bytes(),
        3 => format!("AUTH PLAIN\r\n{PLAIN}\r\n").into_bytes(),
        _ => Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = SessionInput::parse(data) else {
        return;
    };
    let b = backend();
    let server = if input.extra & 1 != 0 {
        servers(b).tight.clone()
    } else {
        servers(b).normal.clone()
    };
    let chunks = input.chunks(&prefix(&input));
    let transcript = b.block_on(async {
        b.reset().await;
        drive::session(
            chunks,
            input.shutdown,
            LIMIT,
            |stream, shutdown| async move {
                let info = ConnInfo {
                    peer: SocketAddr::from(([192, 0, 2, 1], 40000)),
                    local: SocketAddr::from(([192, 0, 2, 2], 110)),
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
    if let Err(e) = pop3_wire::check(&transcript.output) {
        panic!(
            "malformed POP3 output: {e}\n--- output ---\n{}",
            String::from_utf8_lossy(&transcript.output)
        );
    }
});
