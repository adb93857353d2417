//! The Unix-domain socket listener: what Postfix's `smtpd_sasl_path = private/auth` connects
//! to (a path relative to Postfix's queue directory, where smtpd may be chrooted).
//!
//! ## Invariants
//! - The socket appears at its path already with its mode and owner: it is bound under a
//!   temporary name in the same directory, given its permissions, then renamed into place.
//! - A socket left at the path by an earlier run is replaced; a socket something still
//!   listens on, or anything that is not a socket, is not (binding fails and says why).
//! - On shutdown the socket file is removed, if it is still the one this listener made.
use crate::AuthSocketServer;
use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tern_net::Shutdown;
use tokio::sync::Semaphore;

/// Where and how the socket is made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnixSocketOptions {
    pub path: PathBuf,
    /// Permission bits (e.g. `0o660`: the owner and group may connect).
    pub mode: u32,
    /// Owner and group ids to give the socket (root only); `None` keeps the process's.
    pub owner: Option<u32>,
    pub group: Option<u32>,
}

/// A bound Unix socket.
#[derive(Debug)]
pub struct UnixListener {
    path: PathBuf,
    inode: u64,
    inner: tokio::net::UnixListener,
}

impl UnixListener {
    /// Binds now (so "ready" means the socket exists). Must run inside a tokio runtime.
    pub fn bind(options: &UnixSocketOptions) -> io::Result<UnixListener> {
        let path = &options.path;
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                if std::os::unix::net::UnixStream::connect(path).is_ok() {
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        "another process is listening on this socket",
                    ));
                }
            }
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "exists and is not a socket: not replacing it",
                ));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let temporary = temporary_name(path);
        let _ = std::fs::remove_file(&temporary);
        let inner = tokio::net::UnixListener::bind(&temporary)?;
        let placed = (|| {
            std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(options.mode))?;
            if options.owner.is_some() || options.group.is_some() {
                std::os::unix::fs::chown(&temporary, options.owner, options.group)?;
            }
            std::fs::rename(&temporary, path)?;
            std::fs::metadata(path)
        })();
        match placed {
            Ok(meta) => Ok(UnixListener {
                path: path.clone(),
                inode: meta.ino(),
                inner,
            }),
            Err(e) => {
                let _ = std::fs::remove_file(&temporary);
                Err(e)
            }
        }
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Accepts until shutdown, one task per connection, at most `max_connections` at once;
    /// then removes the socket file and returns when every connection has ended.
    pub async fn serve(
        self,
        server: Arc<AuthSocketServer>,
        max_connections: usize,
        shutdown: Shutdown,
    ) {
        let permits = max_connections.clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let slots = Arc::new(Semaphore::new(permits));
        let mut stop = shutdown.clone();
        loop {
            let permit = tokio::select! {
                p = slots.clone().acquire_owned() => p.expect("semaphore never closed"),
                _ = stop.wait() => break,
            };
            let stream = tokio::select! {
                r = self.inner.accept() => match r {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        tracing::warn!(path = %self.path.display(), error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop.wait() => break,
            };
            let peer = match stream.peer_cred() {
                Ok(cred) => format!(
                    "unix:pid={},uid={}",
                    cred.pid().map_or_else(|| "?".into(), |p| p.to_string()),
                    cred.uid()
                ),
                Err(_) => "unix".into(),
            };
            let server = server.clone();
            let conn_shutdown = shutdown.clone();
            tokio::spawn(async move {
                let _slot = permit;
                server.handle(stream, peer, conn_shutdown).await;
            });
        }
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.inode);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
        drop(self.inner);
        let _all = slots.acquire_many(permits as u32).await;
    }
}

/// `DIR/.NAME.tern-PID`: in the socket's directory, so the rename stays on one file system.
fn temporary_name(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "auth".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.tern-{}", std::process::id()))
}
