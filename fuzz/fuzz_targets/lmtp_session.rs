//! Fuzz target `lmtp_session`: the LMTP server ([`LmtpServer::serve`]) over a duplex pipe and
//! the real embedded store, with the fuzz input as the client's bytes.
//!
//! Input: a control byte ([`tern_fuzz::input`]), then client bytes. The prefix (bits 3–4):
//! 0 none, 1 `LHLO`, 2 `LHLO` + `MAIL FROM`, 3 `LHLO` + `MAIL FROM` + `RCPT TO` the local
//! user, so DATA/BDAT content is reached directly. Bit 6 (`extra & 1`) declares a SIZE in
//! MAIL FROM; bit 7 (`extra & 2`) makes the message size limit tiny (512 octets).
//!
//! Asserts: nothing panics; the session ends within the time limit once the client has
//! closed (or shutdown was asked); every reply is well-formed
//! ([`tern_fuzz::smtp_wire::check`]) and carries an enhanced status code where RFC 2034
//! asks for one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tern_fuzz::backend::{Backend, DOMAIN, USER, backend};
use tern_fuzz::input::SessionInput;
use tern_fuzz::{drive, smtp_wire};
use tern_smtp::{LmtpConfig, LmtpServer, SessionLimits};

const HOSTNAME: &str = "lmtp.example.test";
/// How long a session may run after the client's last byte.
const LIMIT: Duration = Duration::from_secs(20);

struct Servers {
    normal: Arc<LmtpServer>,
    tight: Arc<LmtpServer>,
}

fn servers(b: &'static Backend) -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let server = |max_message_size| {
            let config = LmtpConfig {
                hostname: HOSTNAME.into(),
                max_message_size,
                local_domains: vec![DOMAIN.into()],
                max_recipients: 8,
                sieve: Default::default(),
            };
            let limits = SessionLimits {
                idle_timeout: Duration::from_secs(10),
                write_timeout: Duration::from_secs(10),
                max_errors: 20,
            };
            LmtpServer::with_limits(b.mail.clone(), config, limits)
        };
        Servers {
            normal: server(64 * 1024),
            tight: server(512),
        }
    })
}

fn prefix(input: &SessionInput) -> Vec<u8> {
    let mut p = Vec::new();
    if input.prefix >= 1 {
        p.extend_from_slice(b"LHLO client.example.test\r\n");
    }
    if input.prefix >= 2 {
        p.extend_from_slice(b"MAIL FROM:<sender@example.org>");
        if input.extra & 1 != 0 {
            p.extend_from_slice(b" SIZE=300 BODY=8BITMIME");
        }
        p.extend_from_slice(b"\r\n");
    }
    if input.prefix >= 3 {
        p.extend_from_slice(format!("RCPT TO:<{USER}>\r\n").as_bytes());
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
    let chunks = input.chunks(&prefix(&input));
    let transcript = b.block_on(async {
        b.reset().await;
        drive::session(
            chunks,
            input.shutdown,
            LIMIT,
            |stream, shutdown| async move {
                let peer = SocketAddr::from(([127, 0, 0, 1], 40000));
                server.serve(stream, Some(peer), shutdown).await;
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
    let checked = smtp_wire::check(&transcript.output)
        .and_then(|replies| smtp_wire::require_enhanced(&replies, HOSTNAME));
    if let Err(e) = checked {
        panic!(
            "malformed LMTP output: {e}\n--- output ---\n{}",
            String::from_utf8_lossy(&transcript.output)
        );
    }
});
