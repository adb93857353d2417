//! The outbound queue's wiring: `[outbound]` and `[dns]` turned into a
//! [`tern_queue::QueueConfig`], and the queue opened on the data folder with the blob store's
//! file paths (so the spool hard-links blobs instead of copying them).
use crate::backends::Backends;
use crate::config::Settings;
use anyhow::{Context, bail};
use std::sync::Arc;
use std::time::Duration;
use tern_queue::{Queue, QueueConfig, Smarthost, SmarthostTls};

/// The queue's settings, with its defaults for what the file leaves out.
pub fn queue_config(settings: &Settings) -> anyhow::Result<QueueConfig> {
    let o = &settings.outbound;
    let mut c = QueueConfig::new(
        settings.hostname.clone(),
        settings.local_domains.clone(),
        settings.data_dir.clone(),
    );
    c.nameservers = settings
        .nameservers
        .iter()
        .map(|s| {
            s.parse()
                .with_context(|| format!("dns.nameservers: {s:?} is not an IP address and port"))
        })
        .collect::<anyhow::Result<_>>()?;
    c.mta_sts = o.mta_sts.unwrap_or(true);
    c.dane = o.dane.unwrap_or(false);
    c.tls_ca_file = o.tls_ca_file.clone();
    if let Some(port) = o.port {
        c.remote_port = u16::try_from(port).context("outbound.port")?;
    }
    let dur = |d: &Option<crate::config::units::Dur>, default: Duration| d.map_or(default, |d| d.0);
    c.max_lifetime = dur(&o.max_lifetime, c.max_lifetime);
    c.delay_warning = dur(&o.delay_warning, c.delay_warning);
    c.retry_base = dur(&o.retry_base, c.retry_base);
    c.retry_max = dur(&o.retry_max, c.retry_max);
    c.connect_timeout = dur(&o.connect_timeout, c.connect_timeout);
    c.command_timeout = dur(&o.command_timeout, c.command_timeout);
    if let Some(n) = o.concurrency {
        c.concurrency = n as usize;
    }
    if let Some(n) = o.concurrency_per_destination {
        c.concurrency_per_destination = n as usize;
    }
    if let Some(relay) = &o.smarthost {
        let (host, port) = relay
            .rsplit_once(':')
            .context("outbound.smarthost: expected host:port")?;
        let port: u16 = port.parse().context("outbound.smarthost: bad port")?;
        let tls = match o.smarthost_tls.as_deref() {
            None | Some("starttls") => SmarthostTls::StartTls,
            Some("tls") => SmarthostTls::Implicit,
            Some("none") => SmarthostTls::None,
            Some(other) => bail!("outbound.smarthost_tls: unknown value {other:?}"),
        };
        let auth = match (&o.smarthost_user, &o.smarthost_password_file) {
            (Some(user), Some(file)) => {
                let text = std::fs::read_to_string(file).with_context(|| {
                    format!(
                        "outbound.smarthost_password_file: cannot read {}",
                        file.display()
                    )
                })?;
                let password = text.lines().next().unwrap_or("").to_string();
                Some((user.clone(), password))
            }
            _ => None,
        };
        c.smarthost = Some(Smarthost {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
            port,
            tls,
            auth,
            ca_file: o.smarthost_ca_file.clone(),
        });
    }
    if let Some(m) = &settings.migration {
        c.legacy = m
            .resolve()
            .map_err(|e| anyhow::anyhow!("migration: {e}"))?
            .delivery;
    }
    Ok(c)
}

/// Opens the queue on the data folder (`queue.db`, `queue/`).
pub fn open_queue(settings: &Settings, backends: &Backends) -> anyhow::Result<Queue> {
    let config = queue_config(settings)?;
    let blobs = backends.blobs.clone();
    // Where the file is now: blobs written by an older version are one directory deeper.
    let blob_path: tern_queue::BlobPath = Arc::new(move |id| blobs.locate(id).ok().flatten());
    Queue::open(config, backends.mail.clone(), Some(blob_path))
        .context("cannot open the outbound queue")
}
