//! Robustness of the session loop: deterministic pseudo-random streams of near-IMAP input
//! (commands, tags, literals of every kind, stray CR/LF, 8-bit and NUL octets), before and
//! after login. After each stream the connection must still answer a NOOP, or have ended
//! with `* BYE` — never a silent drop (which is what a panicking session task looks like),
//! nor a hang.

mod common;

use common::{Client, TestServer, message};
use std::time::Duration;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const WORDS: &[&str] = &[
    "NOOP",
    "LOGIN",
    "AUTHENTICATE",
    "SELECT",
    "EXAMINE",
    "CREATE",
    "DELETE",
    "RENAME",
    "SUBSCRIBE",
    "LIST",
    "LSUB",
    "STATUS",
    "APPEND",
    "IDLE",
    "ENABLE",
    "ID",
    "NAMESPACE",
    "FETCH",
    "STORE",
    "SEARCH",
    "UID",
    "COPY",
    "MOVE",
    "EXPUNGE",
    "CLOSE",
    "UNSELECT",
    "COMPRESS",
    "NOTIFY",
    "SETACL",
    "GETQUOTAROOT",
    "GETMETADATA",
    "SORT",
    "THREAD",
    "CAPABILITY",
    "STARTTLS",
    "INBOX",
    "\"Sent\"",
    "(",
    ")",
    "[",
    "]",
    "*",
    "%",
    "1:*",
    "$",
    "(FLAGS)",
    "BODY[]",
    "RETURN",
    "(SUBSCRIBED)",
    "PLAIN",
    "DEFLATE",
    "SET",
    "NONE",
    "NIL",
    "\"\"",
    "\\Seen",
    "+FLAGS",
    "CHARSET",
    "UTF-8",
    "QRESYNC",
    "(CONDSTORE)",
    "DONE",
];

fn stream(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..rng.below(12) + 1 {
        match rng.below(10) {
            0 => {
                let n = rng.below(40);
                out.extend((0..n).map(|_| rng.next() as u8));
            }
            1 => out.extend_from_slice(b"\r\n"),
            2 => out.extend_from_slice(b"\n"),
            3 => {
                let n = rng.below(30);
                let kind = rng.pick(&["{N}", "{N+}", "~{N}", "~{N+}", "{999999999999}", "{N"]);
                out.extend_from_slice(kind.replace('N', &n.to_string()).as_bytes());
                out.extend_from_slice(b"\r\n");
                out.extend((0..n).map(|_| b"abc \r\n\0\xff"[rng.below(8)]));
            }
            _ => {
                out.extend_from_slice(format!("t{} ", rng.below(100)).as_bytes());
                for _ in 0..rng.below(5) + 1 {
                    out.extend_from_slice(rng.pick(WORDS).as_bytes());
                    out.push(b' ');
                }
                out.extend_from_slice(b"\r\n");
            }
        }
    }
    out
}

/// After the garbage, a NOOP must be answered, or the server must have said BYE.
async fn still_sane(c: &mut Client, seed: u64, input: &[u8]) {
    for _ in 0..3 {
        c.send_raw(b"\r\nDONE\r\n*\r\n").await;
        c.send_raw(&[b'x'; 64]).await;
        c.send_raw(b"\r\nzz NOOP\r\n").await;
    }
    let mut seen_bye = false;
    loop {
        match c.line_within(Duration::from_secs(10)).await {
            Ok(Some(l)) => {
                if l.starts_with("zz ") {
                    return;
                }
                // BYE, or a layer change the garbage asked for (our plaintext then ends
                // the TLS handshake or the DEFLATE stream): closing is fine.
                if l.starts_with("* BYE")
                    || l.ends_with(" OK Begin TLS negotiation now")
                    || l.ends_with(" OK DEFLATE active")
                {
                    seen_bye = true;
                }
            }
            Ok(None) => {
                assert!(
                    seen_bye,
                    "seed {seed}: connection dropped without BYE after {:?}",
                    String::from_utf8_lossy(input)
                );
                return;
            }
            Err(()) => panic!(
                "seed {seed}: no answer after {:?}",
                String::from_utf8_lossy(input)
            ),
        }
    }
}

#[tokio::test]
async fn random_streams_never_break_the_session() {
    let srv = TestServer::start_with(|c| {
        c.allow_plaintext = true;
        c.auth_failure_delay = Duration::from_millis(1);
        c.max_literal = 4096;
    })
    .await;
    srv.add_user("alice@example.test", "pw").await;
    let mut setup = srv.login("alice@example.test", "pw").await;
    setup.append("INBOX", "", &message("one")).await;
    setup.append("INBOX", "\\Seen", &message("two")).await;

    for seed in 1..=400u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let input = stream(&mut rng);
        let mut c = if seed % 2 == 0 {
            let mut c = srv.login("alice@example.test", "pw").await;
            c.ok("SELECT INBOX").await;
            c
        } else {
            srv.connect().await
        };
        c.send_raw(&input).await;
        still_sane(&mut c, seed, &input).await;
    }
    // The mailbox is still intact and usable.
    let st = setup.ok("STATUS INBOX (MESSAGES)").await;
    assert!(st[0].starts_with("* STATUS INBOX (MESSAGES "), "{st:?}");
}
