//! Typed settings: defaults, then environment variables.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;

/// Everything the server needs to start. Secrets never reach the log (`Debug` hides them).
#[derive(Clone)]
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
    /// `SIGNPOST_JWT_SECRET`: the HS256 secret (at least 32 bytes); unset means a random secret
    /// kept in `jwt-secret` in the data directory. Never logged.
    pub jwt_secret: Option<String>,
    /// `SIGNPOST_JWT_PUBLIC_KEY`: an external identity provider's RS256 or EdDSA public key, as
    /// PEM text or the path of a PEM file.
    pub jwt_public_key: Option<String>,
    /// `SIGNPOST_JWT_ISSUER` (default `signpost`).
    pub jwt_issuer: String,
    /// `SIGNPOST_JWT_AUDIENCE` (default `signpost-api`).
    pub jwt_audience: String,
    /// `SIGNPOST_RATE_LIMIT_ANONYMOUS`: requests a minute from one address without a token
    /// (default 600; 0 turns the limit off).
    pub rate_limit_anonymous: u32,
    /// `SIGNPOST_RATE_LIMIT_TOKEN`: requests a minute with one token (default 3000; 0 turns it off).
    pub rate_limit_token: u32,
    /// `SIGNPOST_PRODUCTION`: production mode turns GraphQL field suggestions off (default false).
    pub production: bool,
    /// `SIGNPOST_HEADER_TIMEOUT_SECS`: how long a client may take to send a request's head,
    /// counted from the connection opening or the previous response (default 10).
    pub header_timeout: Duration,
    /// `SIGNPOST_IDLE_TIMEOUT_SECS`: a connection on which nothing moves for this long while no
    /// request is being handled is closed (default 60).
    pub idle_timeout: Duration,
    /// `SIGNPOST_MAX_CONNECTIONS`: connections served at once; more are answered with HTTP 503
    /// and closed (default 512).
    pub max_connections: usize,
    /// `SIGNPOST_SHUTDOWN_GRACE_SECS`: on SIGTERM, how long requests in flight may take to finish
    /// before the remaining connections are closed (default 20).
    pub shutdown_grace: Duration,
    /// `SIGNPOST_DB_ACQUIRE_TIMEOUT_MS`: the longest a request waits for a database connection
    /// before it is answered `UNAVAILABLE` (default 2,000 ms).
    pub db_acquire_timeout: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database_url.as_ref().map(|_| "<set>"))
            .field("data_dir", &self.data_dir)
            .field("bind", &self.bind)
            .field("request_timeout", &self.request_timeout)
            .field("seed_demo", &self.seed_demo)
            .field("feed_poll_interval", &self.feed_poll_interval)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<hidden>"))
            .field("jwt_public_key", &self.jwt_public_key.is_some())
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("rate_limit_anonymous", &self.rate_limit_anonymous)
            .field("rate_limit_token", &self.rate_limit_token)
            .field("production", &self.production)
            .field("header_timeout", &self.header_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("db_acquire_timeout", &self.db_acquire_timeout)
            .finish()
    }
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
            jwt_secret: None,
            jwt_public_key: None,
            jwt_issuer: "signpost".to_owned(),
            jwt_audience: "signpost-api".to_owned(),
            rate_limit_anonymous: 600,
            rate_limit_token: 3_000,
            production: false,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 512,
            shutdown_grace: Duration::from_secs(20),
            db_acquire_timeout: Duration::from_millis(2_000),
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
        for (name, slot) in [
            ("SIGNPOST_HEADER_TIMEOUT_SECS", &mut settings.header_timeout),
            ("SIGNPOST_IDLE_TIMEOUT_SECS", &mut settings.idle_timeout),
        ] {
            if let Some(secs) = lookup(name) {
                let secs: u64 = secs
                    .parse()
                    .with_context(|| format!("{name} is not a whole number: {secs}"))?;
                *slot = Duration::from_secs(secs.max(1));
            }
        }
        if let Some(secs) = lookup("SIGNPOST_SHUTDOWN_GRACE_SECS") {
            let secs: u64 = secs.parse().with_context(|| {
                format!("SIGNPOST_SHUTDOWN_GRACE_SECS is not a whole number: {secs}")
            })?;
            settings.shutdown_grace = Duration::from_secs(secs);
        }
        if let Some(max) = lookup("SIGNPOST_MAX_CONNECTIONS") {
            let max: usize = max.parse().with_context(|| {
                format!("SIGNPOST_MAX_CONNECTIONS is not a whole number: {max}")
            })?;
            settings.max_connections = max.max(1);
        }
        if let Some(ms) = lookup("SIGNPOST_FEED_POLL_MS") {
            let ms: u64 = ms
                .parse()
                .with_context(|| format!("SIGNPOST_FEED_POLL_MS is not a whole number: {ms}"))?;
            settings.feed_poll_interval = Duration::from_millis(ms.max(10));
        }
        if let Some(ms) = lookup("SIGNPOST_DB_ACQUIRE_TIMEOUT_MS") {
            let ms: u64 = ms.parse().with_context(|| {
                format!("SIGNPOST_DB_ACQUIRE_TIMEOUT_MS is not a whole number: {ms}")
            })?;
            settings.db_acquire_timeout = Duration::from_millis(ms.max(100));
        }
        settings.jwt_secret = lookup("SIGNPOST_JWT_SECRET").filter(|s| !s.is_empty());
        settings.jwt_public_key =
            lookup("SIGNPOST_JWT_PUBLIC_KEY").filter(|s| !s.trim().is_empty());
        if let Some(issuer) = lookup("SIGNPOST_JWT_ISSUER").filter(|s| !s.is_empty()) {
            settings.jwt_issuer = issuer;
        }
        if let Some(audience) = lookup("SIGNPOST_JWT_AUDIENCE").filter(|s| !s.is_empty()) {
            settings.jwt_audience = audience;
        }
        for (name, slot) in [
            (
                "SIGNPOST_RATE_LIMIT_ANONYMOUS",
                &mut settings.rate_limit_anonymous,
            ),
            ("SIGNPOST_RATE_LIMIT_TOKEN", &mut settings.rate_limit_token),
        ] {
            if let Some(value) = lookup(name) {
                *slot = value
                    .parse()
                    .with_context(|| format!("{name} is not a whole number: {value}"))?;
            }
        }
        if let Some(production) = lookup("SIGNPOST_PRODUCTION") {
            settings.production =
                parse_bool(&production).context("SIGNPOST_PRODUCTION must be true or false")?;
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

/// How the binary writes its logs to standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines, coloured only when standard error is a terminal.
    #[default]
    Text,
    /// One JSON object a line, with the current spans (and so the request id).
    Json,
}

impl LogFormat {
    /// `SIGNPOST_LOG_FORMAT` (`text`, the default, or `json`) from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        match std::env::var("SIGNPOST_LOG_FORMAT") {
            Ok(value) => Self::parse(&value),
            Err(std::env::VarError::NotPresent) => Ok(Self::Text),
            Err(err) => Err(err).context("SIGNPOST_LOG_FORMAT is not valid text"),
        }
    }

    /// Reads a log format name.
    pub fn parse(value: &str) -> anyhow::Result<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "" | "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            other => anyhow::bail!("SIGNPOST_LOG_FORMAT must be text or json, not {other}"),
        }
    }
}
