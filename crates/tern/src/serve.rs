//! `tern serve`: open the backends, bind every listener, report ready, serve until a signal.
//!
//! ## Order of events (scripts and tests rely on it)
//! 1. The data folder exists (created if absent), the TLS certificate is loaded or generated.
//! 2. The store and directory are open.
//! 3. Every listener is bound; a port that cannot be bound stops the start with an error
//!    naming its config key.
//! 4. One line per listener, `SERVICE listening on ADDR:PORT` (the real port when the
//!    config says `:0`), then `tern: ready`, on stdout.
//! 5. SIGTERM or SIGINT: listeners close at once, connections get the shutdown signal and
//!    `limits.shutdown_grace` to finish; what is left is dropped. A second signal stops now.
use crate::backends::Backends;
use crate::config::Settings;
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use tern_imap::{ImapConfig, ImapServer};
use tern_managesieve::{ManageSieveConfig, ManageSieveLimits, ManageSieveServer};
use tern_net::{Listener, Shutdown, TlsConfig, TlsMode};
use tern_pop3::{Pop3Config, Pop3Limits, Pop3Server};
use tern_smtp::{LmtpConfig, LmtpServer, Mode, Outbound, SessionLimits, SmtpConfig, SmtpServer};
use tokio::task::JoinSet;

/// Blobs younger than this are never collected (longer than any delivery between a blob's
/// fsync and its metadata commit).
const GC_GRACE_SECONDS: u64 = 3600;

pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("data_dir: cannot create {}", settings.data_dir.display()))?;
    let tls = tern_net::load_or_generate(
        &settings.data_dir,
        &settings.hostname,
        settings.tls_cert.as_deref(),
        settings.tls_key.as_deref(),
    )
    .context("tls: cannot set up the server certificate")?;
    let mut backends = Backends::open(&settings).await?;
    // Migration mode: who is still on the legacy server (before the queue takes `mail`).
    let migration = crate::migration_mode::setup(&settings, &mut backends)?;
    // Before any listener: the queue sweeps spool files a crash left without an entry.
    let queue = crate::outbound::open_queue(&settings, &backends)?;

    if settings.listeners.is_empty() {
        tracing::warn!("[listen] names no service: nothing to serve");
    }
    let mut bound = Vec::with_capacity(settings.listeners.len());
    for spec in &settings.listeners {
        let mode = match spec.service {
            "imaps" | "pop3s" | "submissions" => TlsMode::Implicit,
            _ => TlsMode::Plain,
        };
        let listener = Listener::bind(&spec.addr, mode)
            .await
            .with_context(|| format!("listen.{}: cannot listen on {}", spec.service, spec.addr))?
            .with_handshake_timeout(settings.tls_handshake_timeout);
        bound.push((spec.service, listener));
    }
    let auth_socket = match &settings.auth_socket {
        Some(options) => Some(tern_authsock::UnixListener::bind(options).with_context(|| {
            format!("auth.socket: cannot listen on {}", options.path.display())
        })?),
        None => None,
    };

    let (stop, shutdown) = Shutdown::new();
    let msgauth = crate::msgauth::setup(&settings)?;
    let services = Services::new(
        &settings,
        &backends,
        &tls,
        Arc::new(queue.clone()),
        &msgauth,
        migration.as_ref().map(|m| &m.legacy),
    );
    let mut listeners = JoinSet::new();
    for (service, listener) in bound {
        println!("{service} listening on {}", listener.local_addr);
        services.spawn(
            service,
            listener,
            &tls,
            settings.max_connections,
            &shutdown,
            &mut listeners,
        );
    }
    if let Some(socket) = auth_socket {
        println!("auth listening on {}", socket.path().display());
        let server = services.authsock.clone();
        listeners.spawn(socket.serve(server, settings.max_connections, shutdown.clone()));
    }
    let gc = backends.spawn_gc(
        settings.blob_gc_interval,
        GC_GRACE_SECONDS,
        shutdown.clone(),
    );
    let queue_worker = queue.spawn(shutdown.clone(), settings.shutdown_grace);
    let homes_task = migration.as_ref().map(|m| m.spawn(shutdown.clone()));
    let provision =
        crate::cli::provision_serve::spawn(&settings, backends.mail.clone(), shutdown.clone());
    let _directory_control = backends.spawn_directory_control(&settings.data_dir, shutdown.clone());
    print_welcome(&settings);
    println!("tern: ready");

    wait_for_signal().await;
    tracing::info!("shutting down");
    let _ = stop.send(true);
    let grace = settings.shutdown_grace;
    tokio::select! {
        _ = async { while listeners.join_next().await.is_some() {} } => {}
        _ = tokio::time::sleep(grace) => {
            tracing::warn!(?grace, "connections still open after the grace period: dropping them");
        }
        _ = wait_for_signal() => tracing::warn!("second signal: stopping now"),
    }
    listeners.abort_all();
    // The worker gives attempts in progress the same grace, then drops them (their
    // recipients stay pending).
    let _ = tokio::time::timeout(grace + Duration::from_secs(1), queue_worker).await;
    gc.abort();
    if let Some(p) = provision {
        p.abort();
    }
    if let Some(task) = homes_task {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    backends.close().await;
    Ok(())
}

/// The protocol servers, one per service, shared by all of that service's listeners.
struct Services {
    imap: Arc<ImapServer>,
    pop3: Arc<Pop3Server>,
    lmtp: Arc<LmtpServer>,
    /// Port 25: mail for the local domains from anyone, never relayed.
    mx: Arc<SmtpServer>,
    /// Ports 587 (STARTTLS) and 465 (implicit TLS): AUTH before MAIL.
    submission: Arc<SmtpServer>,
    /// Port 4190: users' Sieve scripts (RFC 5804).
    managesieve: Arc<ManageSieveServer>,
    /// The Dovecot-compatible SASL auth socket (`[listen] auth`, `[auth] socket`).
    authsock: Arc<tern_authsock::AuthSocketServer>,
}

impl Services {
    fn new(
        settings: &Settings,
        backends: &Backends,
        tls: &TlsConfig,
        queue: Arc<dyn Outbound>,
        msgauth: &crate::msgauth::MsgAuth,
        legacy: Option<&crate::config::migration::Legacy>,
    ) -> Services {
        // One SASL layer for IMAP, POP3, submission and ManageSieve (`crate::sasl_setup`).
        let sasl = crate::sasl_setup::authenticator(settings, backends.mail.directory.clone());
        let mut imap = ImapConfig::new(settings.hostname.clone());
        imap.allow_plaintext = settings.allow_plaintext;
        imap.tls = Some(tls.clone());
        imap.max_message_size = settings.max_message_size;
        imap.max_line = settings.max_line_length;
        imap.max_literal = settings.max_literal_size;
        imap.preauth_timeout = settings.preauth_timeout;
        imap.idle_timeout = settings.imap_idle_timeout;
        // POP3 on 110 offers STLS with the same certificate; 995 is implicit TLS, done by
        // the listener before the session starts.
        let pop3 = Pop3Config {
            hostname: settings.hostname.clone(),
            allow_plaintext: settings.allow_plaintext,
            tls: Some(tls.clone()),
            idle_timeout: settings.pop3_idle_timeout,
        };
        let pop3_limits = Pop3Limits {
            preauth_timeout: settings.preauth_timeout,
            ..Pop3Limits::default()
        };
        let lmtp = LmtpConfig {
            hostname: settings.hostname.clone(),
            max_message_size: settings.max_message_size,
            local_domains: settings.local_domains.clone(),
            max_recipients: settings.max_recipients,
            sieve: sieve_settings(settings),
        };
        let lmtp_limits = SessionLimits {
            idle_timeout: settings.lmtp_timeout,
            write_timeout: settings.lmtp_timeout,
            ..SessionLimits::default()
        };
        // One set of abuse counters and one gateway for every SMTP listener.
        let abuse = tern_smtp::limits::AbuseLimits::new(settings.rate_limits.clone());
        let gateway = Arc::new(settings.gateway.clone());
        let smtp_config = |mode| {
            let mut c = SmtpConfig::new(
                settings.hostname.clone(),
                settings.local_domains.clone(),
                mode,
            );
            c.max_message_size = settings.max_message_size;
            c.max_recipients = settings.max_recipients;
            c.tls = Some(tls.clone());
            c.allow_plaintext = settings.allow_plaintext;
            c.tls_handshake_timeout = settings.tls_handshake_timeout;
            c.sasl = Some(sasl.clone());
            c.gateway = gateway.clone();
            c.abuse = abuse.clone();
            c.sieve = sieve_settings(settings);
            match mode {
                Mode::Mx => c.verifier = msgauth.verifier.clone(),
                Mode::Submission => c.dkim_keys = msgauth.keys.clone(),
            }
            c
        };
        // RFC 5321 §4.5.3.2: every server timeout at least 5 minutes (the default).
        let smtp_limits = SessionLimits {
            idle_timeout: settings.smtp_timeout,
            write_timeout: settings.smtp_timeout,
            ..SessionLimits::default()
        };
        let mut managesieve = ManageSieveConfig::new(settings.hostname.clone());
        managesieve.allow_plaintext = settings.allow_plaintext;
        managesieve.tls = Some(tls.clone());
        managesieve.idle_timeout = settings.imap_idle_timeout;
        managesieve.max_script_size = settings.sieve_max_script_size;
        managesieve.max_scripts = settings.sieve_max_scripts;
        managesieve.max_redirects = settings.sieve_max_redirects;
        let managesieve_limits = ManageSieveLimits {
            preauth_timeout: settings.preauth_timeout,
            max_line: settings.max_line_length.min(64 * 1024),
            ..ManageSieveLimits::default()
        };
        // The MX never relays (AUTH is submission-only, so a remote RCPT is `554 relay access
        // denied`): it holds the queue for Sieve redirects and vacation replies only, as LMTP
        // does. Submission also queues mail for remote recipients.
        Services {
            mx: SmtpServer::with_options(
                backends.mail.clone(),
                smtp_config(Mode::Mx),
                smtp_limits.clone(),
                Some(queue.clone()),
            ),
            submission: SmtpServer::with_options(
                backends.mail.clone(),
                smtp_config(Mode::Submission),
                smtp_limits,
                Some(queue.clone()),
            ),
            managesieve: ManageSieveServer::with_sasl(
                backends.mail.clone(),
                managesieve,
                managesieve_limits,
                sasl.clone(),
            ),
            imap: ImapServer::build(
                backends.mail.clone(),
                imap,
                sasl.clone(),
                legacy.and_then(|l| l.imap.clone()),
            ),
            pop3: Pop3Server::with_legacy(
                backends.mail.clone(),
                pop3,
                pop3_limits,
                sasl.clone(),
                legacy.and_then(|l| l.pop3.clone()),
            ),
            authsock: tern_authsock::AuthSocketServer::new(
                sasl.clone(),
                crate::authsock_setup::server_config(settings),
            ),
            lmtp: LmtpServer::with_options(backends.mail.clone(), lmtp, lmtp_limits, Some(queue)),
        }
    }

    fn spawn(
        &self,
        service: &'static str,
        listener: Listener,
        tls: &TlsConfig,
        max_connections: usize,
        shutdown: &Shutdown,
        tasks: &mut JoinSet<()>,
    ) {
        let implicit = (listener.mode() == TlsMode::Implicit).then(|| tls.clone());
        let shutdown = shutdown.clone();
        match service {
            "imap" | "imaps" => {
                let server = self.imap.clone();
                tasks.spawn(listener.serve(
                    implicit,
                    max_connections,
                    shutdown,
                    move |conn, sd| server.clone().handle(conn, sd),
                ));
            }
            "managesieve" => {
                let server = self.managesieve.clone();
                tasks.spawn(listener.serve(
                    implicit,
                    max_connections,
                    shutdown,
                    move |conn, sd| server.clone().handle(conn, sd),
                ));
            }
            "pop3" | "pop3s" => {
                let server = self.pop3.clone();
                tasks.spawn(listener.serve(
                    implicit,
                    max_connections,
                    shutdown,
                    move |conn, sd| server.clone().handle(conn, sd),
                ));
            }
            "lmtp" => {
                let server = self.lmtp.clone();
                tasks.spawn(listener.serve(
                    implicit,
                    max_connections,
                    shutdown,
                    move |conn, sd| server.clone().handle(conn, sd),
                ));
            }
            "smtp" | "submission" | "submissions" => {
                let server = if service == "smtp" {
                    self.mx.clone()
                } else {
                    self.submission.clone()
                };
                tasks.spawn(listener.serve(
                    implicit,
                    max_connections,
                    shutdown,
                    move |conn, sd| server.clone().handle(conn, sd),
                ));
            }
            "auth" => {
                if !listener.local_addr.ip().is_loopback() {
                    tracing::warn!(addr = %listener.local_addr,
                        "listen.auth is not on loopback: the auth socket protocol has no TLS");
                }
                let server = self.authsock.clone();
                tasks.spawn(
                    listener.serve(None, max_connections, shutdown, move |conn, sd| {
                        let peer = conn.info.peer.to_string();
                        server.clone().handle(conn, peer, sd)
                    }),
                );
            }
            // The config check refuses services that are not implemented yet.
            other => unreachable!("service {other} passed the config check"),
        }
    }
}

/// `[sieve]` as delivery applies it (LMTP and both SMTP front ends).
fn sieve_settings(settings: &Settings) -> tern_smtp::SieveSettings {
    let mut sieve = tern_smtp::SieveSettings {
        max_script_size: settings.sieve_max_script_size as usize,
        ..tern_smtp::SieveSettings::default()
    };
    sieve.limits.max_redirects = settings.sieve_max_redirects;
    sieve
}

fn print_welcome(settings: &Settings) {
    println!("data in {}", settings.data_dir.display());
    if settings.tls_cert.is_none() {
        let (cert, _) = tern_net::tls::generated_paths(&settings.data_dir);
        println!("TLS: self-signed certificate {}", cert.display());
    }
    if settings.default_listeners {
        println!("listening on the default ports (no [listen] in the config)");
    }
    let domain = settings
        .local_domains
        .first()
        .map_or("example.test", String::as_str);
    println!("add a user: tern user add alice@{domain} --password-stdin");
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "no SIGTERM handler; only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Used by the GC loop: sleeps `every`, or returns false on shutdown.
pub async fn tick(every: Duration, shutdown: &mut Shutdown) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(every) => true,
        _ = shutdown.wait() => false,
    }
}
