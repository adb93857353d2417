//! The fake server for the generator's floor: an IMAP listener that answers LOGIN, SELECT
//! (`* 0 EXISTS`) and IDLE at once, and an LMTP listener whose every delivery writes
//! `* n EXISTS` to every idling session (n = deliveries so far) before its 250. No store, no
//! wake-up machinery: what latency the generator then measures is its own (and that of one
//! loop writing n short lines), the floor below which no server's figure means anything.
//!
//! Single-threaded, like the generator. Prints `up` once listening, then for each delivery a
//! JSON line with the time its loop of writes took (`fanout_ms`: the fake server's own share
//! of the floor). Runs until its standard input closes.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};

type Idlers = Arc<Mutex<Vec<Arc<OwnedWriteHalf>>>>;

pub async fn serve(imap: SocketAddr, lmtp: SocketAddr) -> Result<()> {
    let imap_l = TcpListener::bind(imap).await.context("bind IMAP")?;
    let lmtp_l = TcpListener::bind(lmtp).await.context("bind LMTP")?;
    let idlers: Idlers = Arc::default();
    println!("up");
    let i = idlers.clone();
    tokio::spawn(async move {
        while let Ok((s, _)) = imap_l.accept().await {
            tokio::spawn(imap_session(s, i.clone()));
        }
    });
    tokio::spawn(async move {
        let mut n = 0u64;
        while let Ok((s, _)) = lmtp_l.accept().await {
            // One LMTP session at a time: the count of deliveries stays in order.
            if let Err(e) = lmtp_session(s, &idlers, &mut n).await {
                eprintln!("fake LMTP: {e:#}");
            }
        }
    });
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    while stdin.next_line().await?.is_some() {}
    Ok(())
}

async fn imap_session(s: TcpStream, idlers: Idlers) {
    let _ = s.set_nodelay(true);
    let (r, w) = s.into_split();
    let w = Arc::new(w);
    let mut lines = BufReader::new(r).lines();
    if write(&w, b"* OK fake ready\r\n").await.is_err() {
        return;
    }
    let mut idle_tag: Option<String> = None;
    while let Ok(Some(line)) = lines.next_line().await {
        let mut parts = line.split_ascii_whitespace();
        let (Some(tag), cmd) = (parts.next(), parts.next()) else {
            continue;
        };
        let reply = match cmd.map(str::to_ascii_uppercase).as_deref() {
            None if tag.eq_ignore_ascii_case("DONE") => match idle_tag.take() {
                Some(t) => {
                    idlers.lock().unwrap().retain(|x| !Arc::ptr_eq(x, &w));
                    format!("{t} OK IDLE done\r\n")
                }
                None => "* BAD DONE without IDLE\r\n".into(),
            },
            Some("SELECT") => format!("* 0 EXISTS\r\n{tag} OK [READ-WRITE] done\r\n"),
            Some("IDLE") => {
                idle_tag = Some(tag.to_string());
                idlers.lock().unwrap().push(w.clone());
                "+ idling\r\n".into()
            }
            Some("LOGOUT") => format!("* BYE bye\r\n{tag} OK done\r\n"),
            _ => format!("{tag} OK done\r\n"),
        };
        if write(&w, reply.as_bytes()).await.is_err() {
            break;
        }
    }
    idlers.lock().unwrap().retain(|x| !Arc::ptr_eq(x, &w));
}

async fn lmtp_session(s: TcpStream, idlers: &Idlers, n: &mut u64) -> Result<()> {
    s.set_nodelay(true)?;
    let (r, mut w) = s.into_split();
    let mut lines = BufReader::new(r).lines();
    w.write_all(b"220 fake LMTP\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "LHLO" => b"250-fake\r\n250 PIPELINING\r\n",
            "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 ok\r\n",
            "QUIT" => {
                w.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            "DATA" => {
                w.write_all(b"354 go\r\n").await?;
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                }
                *n += 1;
                let t = Instant::now();
                let sessions = fan_out(idlers, format!("* {n} EXISTS\r\n").as_bytes());
                // Its own share of the floor: the loop of writes, reported on stdout.
                println!(
                    "{}",
                    json!({"delivery": *n, "sessions": sessions, "fanout_ms": t.elapsed().as_secs_f64() * 1e3})
                );
                b"250 2.0.0 delivered\r\n"
            }
            _ => b"500 what\r\n",
        };
        w.write_all(reply).await?;
    }
    Ok(())
}

/// Writes `line` to every idler at once; a socket that takes only part of it now gets the
/// rest from a task of its own. Returns the number of idlers.
fn fan_out(idlers: &Idlers, line: &[u8]) -> usize {
    let list = idlers.lock().unwrap().clone();
    let sessions = list.len();
    for w in list {
        match w.try_write(line) {
            Ok(k) if k == line.len() => {}
            Ok(k) => {
                let rest = line[k..].to_vec();
                tokio::spawn(async move { write(&w, &rest).await });
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let rest = line.to_vec();
                tokio::spawn(async move { write(&w, &rest).await });
            }
            Err(_) => {}
        }
    }
    sessions
}

/// Writes all of `buf` through a shared write half.
async fn write(w: &OwnedWriteHalf, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        w.writable().await?;
        match w.try_write(buf) {
            Ok(k) => buf = &buf[k..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
