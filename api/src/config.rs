//! Typed settings: defaults, then environment variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;

/// Everything the server needs to start. Secrets never reach the log.
#[derive(Clone, Debug)]
pub struct Settings {
    /// `DATABASE_URL`: a `postgres://` URL; unset means the embedded SQLite file in the data directory.
    pub database_url: Option<String>,
    /// `SIGNPOST_DATA_DIR`: where the SQLite file and the search index live (default `./signpost-data`).
    pub data_dir: PathBuf,
    /// `SIGNPOST_BIND`: the listening address (default `127.0.0.1:8080`).
    pub bind: SocketAddr,
    /// `SIGNPOST_REQUEST_TIMEOUT_SECS`: the longest a request may take (default 30).
    pub request_timeout: Duration,
    /// `SIGNPOST_SEED_DEMO`: seed the demo directory into an empty database on start (default true).
    pub seed_demo: bool,
    /// `SIGNPOST_FEED_POLL_MS`: how often the change feed is polled when no PostgreSQL
    /// notification arrives (default 250 ms).
    pub feed_poll_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: None,
            data_dir: PathBuf::from("signpost-data"),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            request_timeout: Duration::from_secs(30),
            seed_demo: true,
            feed_poll_interval: Duration::from_millis(250),
        }
    }
}

impl Settings {
    /// The defaults overridden by the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The defaults overridden by whatever `lookup` finds (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut settings = Self::default();
        if let Some(url) = lookup("DATABASE_URL").filter(|url| !url.trim().is_empty()) {
            settings.database_url = Some(url);
        }
        if let Some(dir) = lookup("SIGNPOST_DATA_DIR").filter(|dir| !dir.trim().is_empty()) {
            settings.data_dir = PathBuf::from(dir);
        }
        if let Some(bind) = lookup("SIGNPOST_BIND") {
            settings.bind = bind.parse().with_context(|| {
                format!("SIGNPOST_BIND is not an address such as 127.0.0.1:8080: {bind}")
            })?;
        }
        if let Some(secs) = lookup("SIGNPOST_REQUEST_TIMEOUT_SECS") {
            let secs: u64 = secs.parse().with_context(|| {
                format!("SIGNPOST_REQUEST_TIMEOUT_SECS is not a whole number: {secs}")
            })?;
            settings.request_timeout = Duration::from_secs(secs.max(1));
        }
        if let Some(ms) = lookup("SIGNPOST_FEED_POLL_MS") {
            let ms: u64 = ms
                .parse()
                .with_context(|| format!("SIGNPOST_FEED_POLL_MS is not a whole number: {ms}"))?;
            settings.feed_poll_interval = Duration::from_millis(ms.max(10));
        }
        if let Some(seed) = lookup("SIGNPOST_SEED_DEMO") {
            settings.seed_demo =
                parse_bool(&seed).context("SIGNPOST_SEED_DEMO must be true or false")?;
        }
        Ok(settings)
    }
}

fn parse_bool(value: &str) -> anyhow::Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => anyhow::bail!("not a boolean: {other}"),
    }
}
