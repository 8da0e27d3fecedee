//! Opening the database (embedded SQLite by default, PostgreSQL by URL) and migrating it.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, sqlx::sqlite::SqliteJournalMode};

use crate::config::Settings;

/// The file name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "signpost.db";

/// How long the server waits at start for a database that cannot be reached yet.
pub const STARTUP_WAIT: Duration = Duration::from_secs(10);

/// Counts the SQL statements the server runs (exported on `/metrics`).
#[derive(Debug, Default)]
pub struct StatementCounter(AtomicU64);

impl StatementCounter {
    /// Statements run so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Connects to the configured database and counts its statements into `counter`.
pub async fn connect(
    settings: &Settings,
    counter: Arc<StatementCounter>,
) -> anyhow::Result<DatabaseConnection> {
    let mut options = match &settings.database_url {
        Some(url) => {
            let mut options = ConnectOptions::new(url.clone());
            options.max_connections(16).min_connections(1);
            options
        }
        None => {
            std::fs::create_dir_all(&settings.data_dir).with_context(|| {
                format!(
                    "cannot create the data directory {}",
                    settings.data_dir.display()
                )
            })?;
            let path = settings.data_dir.join(SQLITE_FILE);
            let mut options = ConnectOptions::new(format!("sqlite://{}?mode=rwc", path.display()));
            options
                .max_connections(8)
                .min_connections(1)
                .map_sqlx_sqlite_opts(|opts| {
                    opts.journal_mode(SqliteJournalMode::Wal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                        // Rows are handed to the reader one at a time, each a wake-up when it
                        // waits: room for more lets SQLite's thread run on meanwhile. 4,096
                        // holds the rows of one read of a rebuild (the catchments of 1,000
                        // listings) and bounds what a slow reader leaves queued to a few MB.
                        .row_buffer_size(4_096)
                });
            options
        }
    };
    options
        .acquire_timeout(settings.db_acquire_timeout)
        .sqlx_logging(false);
    // A database that is still starting is waited for (up to STARTUP_WAIT), even though each
    // attempt gives up after the short acquire timeout that requests use.
    let started = Instant::now();
    let mut db = loop {
        match Database::connect(options.clone()).await {
            Ok(db) => break db,
            Err(err)
                if crate::store::error::db_unavailable(&err)
                    && started.elapsed() < STARTUP_WAIT =>
            {
                tracing::warn!(error = %err, "the database is not reachable yet; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(err) => return Err(err).context("cannot connect to the database"),
        }
    };
    db.set_metric_callback(move |_info| {
        counter.0.fetch_add(1, Ordering::Relaxed);
    });
    Ok(db)
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("migrating the database failed")
}
