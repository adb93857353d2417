//! Runs one protocol session over `tokio::io::duplex`: the server on one end, a client on the
//! other that writes the given chunks (yielding after each), optionally triggers the
//! server's graceful shutdown, then closes its write side and reads everything the server
//! writes until the server closes.
//!
//! ## Invariants
//! - The client reads while it writes, so a server that answers as it goes never blocks
//!   on a full pipe.
//! - The whole session is bounded by a time limit; [`Transcript::finished`] says whether the
//!   server ended (closed its side) within it. A server that is still running after its
//!   client closed and the limit passed is a hang, which the targets report as a failure.
//! - A server that stops reading (it closed, or it refuses more input) just ends the
//!   client's writing; write errors are not failures.
//! - After a shutdown request the client waits [`SHUTDOWN_GRACE`] for the server to end on
//!   its own, then closes its write side; [`Transcript::outlived_shutdown`] records that the
//!   server needed the EOF (it kept waiting for the client despite the shutdown).

use std::future::Future;
use std::time::Duration;
use tern_net::Shutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Capacity of each direction of the duplex pipe.
pub const PIPE_CAPACITY: usize = 8 * 1024;

/// How long a server may take to end after a shutdown request before the client closes.
pub const SHUTDOWN_GRACE: Duration = Duration::from_millis(100);
/// Times the client yields to the server between its last chunk and the shutdown request.
const PRE_SHUTDOWN_YIELDS: usize = 32;

/// What the server wrote.
#[derive(Debug)]
pub struct Transcript {
    pub output: Vec<u8>,
    /// The server closed its side within the limit.
    pub finished: bool,
    /// Shutdown was requested and the server was still running [`SHUTDOWN_GRACE`] later.
    pub outlived_shutdown: bool,
}

/// Runs `serve` (given the server's end of the pipe and a shutdown signal) against a client
/// sending `chunks`. With `shutdown_after_input`, shutdown is signalled once the chunks
/// are written, and the client's write side stays open until the server has ended or
/// [`SHUTDOWN_GRACE`] has passed.
pub async fn session<F, Fut>(
    chunks: Vec<Vec<u8>>,
    shutdown_after_input: bool,
    limit: Duration,
    serve: F,
) -> Transcript
where
    F: FnOnce(DuplexStream, Shutdown) -> Fut,
    Fut: Future<Output = ()>,
{
    let (client, server_end) = tokio::io::duplex(PIPE_CAPACITY);
    let (stop, shutdown) = Shutdown::new();
    let (mut from_server, mut to_server) = tokio::io::split(client);
    let (server_done_tx, mut server_done_rx) = tokio::sync::oneshot::channel::<()>();
    let outlived = std::cell::Cell::new(false);
    let outlived_ref = &outlived;

    let server = async move {
        serve(server_end, shutdown).await;
        let _ = server_done_tx.send(());
    };
    let writer = async move {
        for chunk in &chunks {
            if to_server.write_all(chunk).await.is_err() {
                break;
            }
            tokio::task::yield_now().await;
        }
        if shutdown_after_input {
            // Let the server work through what it has read before it is interrupted, so the
            // shutdown lands in the state the input led to (not always at the first read).
            for _ in 0..PRE_SHUTDOWN_YIELDS {
                tokio::task::yield_now().await;
            }
            let _ = stop.send(true);
            // Keep the client's side open (and `stop` alive) for a while: the server should
            // end on its own.
            tokio::select! {
                _ = &mut server_done_rx => return,
                _ = tokio::time::sleep(SHUTDOWN_GRACE) => outlived_ref.set(true),
            }
            let _ = to_server.shutdown().await;
            let _ = server_done_rx.await;
        } else {
            let _ = to_server.shutdown().await;
            // Keep `stop` alive: dropping it would read as a shutdown request.
            let _ = server_done_rx.await;
            drop(stop);
        }
    };
    let mut output = Vec::new();
    let reader = async {
        let mut buf = [0u8; 4096];
        loop {
            match from_server.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => output.extend_from_slice(&buf[..n]),
            }
        }
    };
    let all = async {
        tokio::join!(server, writer, reader);
    };
    let finished = tokio::time::timeout(limit, all).await.is_ok();
    Transcript {
        output,
        finished,
        outlived_shutdown: outlived.get(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncBufReadExt;

    fn run<F, Fut>(chunks: Vec<Vec<u8>>, shutdown: bool, serve: F) -> Transcript
    where
        F: FnOnce(DuplexStream, Shutdown) -> Fut,
        Fut: Future<Output = ()>,
    {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(session(chunks, shutdown, Duration::from_secs(5), serve))
    }

    /// An echo server of lines, ending at EOF or at shutdown (writing `bye`).
    async fn echo(stream: DuplexStream, mut shutdown: Shutdown) {
        let (r, mut w) = tokio::io::split(stream);
        let mut lines = tokio::io::BufReader::new(r).lines();
        loop {
            tokio::select! {
                line = lines.next_line() => match line {
                    Ok(Some(l)) => w.write_all(format!("{l}!\n").as_bytes()).await.unwrap(),
                    _ => break,
                },
                _ = shutdown.wait() => {
                    w.write_all(b"bye\n").await.unwrap();
                    break;
                }
            }
        }
        w.shutdown().await.unwrap();
    }

    #[test]
    fn collects_output_until_the_server_closes() {
        let t = run(vec![b"a\nb".to_vec(), b"c\n".to_vec()], false, echo);
        assert!(t.finished);
        assert_eq!(t.output, b"a!\nbc!\n");
    }

    #[test]
    fn shutdown_after_input_reaches_the_server() {
        let t = run(vec![b"a\n".to_vec()], true, echo);
        assert!(t.finished);
        assert!(!t.outlived_shutdown);
        assert!(t.output.ends_with(b"bye\n"), "{:?}", t.output);
    }

    #[test]
    fn a_server_ignoring_shutdown_gets_eof_after_the_grace() {
        // A server that never looks at its shutdown signal.
        let (_keep, never) = Shutdown::new();
        let t = run(vec![b"a\n".to_vec()], true, |stream, _shutdown| {
            echo(stream, never)
        });
        assert!(t.finished);
        assert!(t.outlived_shutdown);
        assert_eq!(t.output, b"a!\n");
    }

    #[test]
    fn a_server_that_never_ends_is_reported() {
        let t = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(session(
                vec![],
                false,
                Duration::from_millis(100),
                |_s, _d| std::future::pending::<()>(),
            ));
        assert!(!t.finished);
    }
}
