//! Signpost: a GraphQL directory of first 1001 days services (perinatal mental health, infant
//! mental health and family support), for professionals signposting families.

#![warn(missing_docs)]

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod feed;
pub mod graphql;
pub mod hsds;
pub mod http;
pub mod indexing;
pub mod observe;
pub mod openreferral;
pub mod seed;
pub mod server;
pub mod store;
pub mod validate;
pub mod web;

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::AtomicU64},
};

use anyhow::Context;
use sea_orm::DatabaseConnection;
use search::{Index, Synonyms, eligibility::Rules as EligibilityRules, geo::Geocoder};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    config::Settings,
    db::StatementCounter,
    graphql::{Shared, build_schema, guard::DocumentGuard},
    http::{AppState, router},
    indexing::Indexer,
    seed::SeedOutcome,
    server::ConnectionLimits,
};

/// The search index's directory inside the data directory.
pub const INDEX_DIR: &str = "index";
/// The full-postcode file `signpost import-postcodes` writes into the data directory.
pub const POSTCODES_FILE: &str = "postcodes.bin";

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    db: DatabaseConnection,
    indexer: Arc<Indexer>,
    stop_follower: watch::Sender<bool>,
    follower: tokio::task::JoinHandle<()>,
}

/// The geocoder: the embedded sector table, plus full postcodes when they were imported.
pub fn geocoder(settings: &Settings) -> anyhow::Result<Geocoder> {
    let geo = Geocoder::embedded();
    let full = settings.data_dir.join(POSTCODES_FILE);
    if full.exists() {
        return geo
            .with_full_postcodes(&full)
            .with_context(|| format!("cannot read {}", full.display()));
    }
    Ok(geo)
}

/// The synonyms: the built-in list, extended by `synonyms.txt` in the data directory.
pub fn synonyms(settings: &Settings) -> anyhow::Result<Synonyms> {
    let extra_path = settings.data_dir.join("synonyms.txt");
    let extra = match std::fs::read_to_string(&extra_path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read {}", extra_path.display()));
        }
    };
    Ok(Synonyms::parse([
        search::synonyms::BUILT_IN,
        extra.as_str(),
    ]))
}

/// The eligibility rules: the built-in rules, extended by `eligibility-rules.txt` in the data
/// directory.
pub fn eligibility_rules(settings: &Settings) -> anyhow::Result<EligibilityRules> {
    let extra_path = settings.data_dir.join("eligibility-rules.txt");
    let extra = match std::fs::read_to_string(&extra_path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(EligibilityRules::built_in().clone());
        }
        Err(err) => {
            return Err(err).with_context(|| format!("cannot read {}", extra_path.display()));
        }
    };
    EligibilityRules::parse([search::eligibility::BUILT_IN, extra.as_str()])
        .with_context(|| format!("cannot read {}", extra_path.display()))
}

/// Opens this instance's index in the data directory and brings it up to date. An index that
/// cannot be read in full is moved aside (see [`search::dir`]) and rebuilt from the database.
pub async fn open_index(
    settings: &Settings,
    db: &DatabaseConnection,
) -> anyhow::Result<Arc<Indexer>> {
    let dir = settings.data_dir.join(INDEX_DIR);
    let synonyms = synonyms(settings)?;
    let index = tokio::task::spawn_blocking(move || Index::open(&dir, synonyms))
        .await?
        .context("cannot open the search index")?;
    start_indexer(settings, db, index).await
}

/// Gives `index` the taxonomy vocabulary and the geocoder and brings it up to date.
async fn start_indexer(
    settings: &Settings,
    db: &DatabaseConnection,
    index: Index,
) -> anyhow::Result<Arc<Indexer>> {
    let index = Arc::new(index);
    let terms = store::taxonomy::all_terms(db).await?;
    index.set_vocabulary(terms.into_iter().map(|t| (t.name, t.id)).collect());
    let geo = Arc::new(geocoder(settings)?);
    Indexer::start(db.clone(), index, geo).await
}

impl Application {
    /// Connects, migrates, seeds the demo directory into an empty database (when enabled) and
    /// binds the listener.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let statements = Arc::new(StatementCounter::default());
        let db = db::connect(&settings, statements.clone()).await?;
        db::migrate(&db).await?;
        if settings.seed_demo {
            match seed::seed_demo(&db).await? {
                SeedOutcome::Seeded {
                    organizations,
                    services,
                    events,
                } => tracing::info!(
                    organizations,
                    services,
                    events,
                    "seeded the demo directory (sample data)"
                ),
                SeedOutcome::AlreadyPopulated => {}
            }
        }
        // The feed follower has a pool of its own: its polling neither waits for nor counts
        // among the API's statements.
        let feed_db = db::connect(&settings, Arc::default()).await?;
        let indexer = open_index(&settings, &feed_db).await?;
        let (stop_follower, follower_stop) = watch::channel(false);
        let follower = indexer
            .clone()
            .follow(settings.feed_poll_interval, follower_stop);
        let auth = Arc::new(auth::Authenticator::from_settings(&settings, db.clone())?);
        let schema = build_schema(
            Some(Shared {
                db: db.clone(),
                indexer: indexer.clone(),
                auth: auth.clone(),
                eligibility_rules: Arc::new(eligibility_rules(&settings)?),
            }),
            settings.production,
        );
        let state = Arc::new(AppState {
            auth,
            anonymous_limit: http::limiter(settings.rate_limit_anonymous),
            token_limit: http::limiter(settings.rate_limit_token),
            schema,
            db: db.clone(),
            indexer: indexer.clone(),
            statements,
            operations: AtomicU64::new(0),
            guard: DocumentGuard::default(),
        });
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        Ok(Self {
            listener,
            router: router(state, settings.request_timeout),
            limits: ConnectionLimits::from(&settings),
            db,
            indexer,
            stop_follower,
            follower,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// The database connection.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The indexer (the search index and its feed follower).
    pub fn indexer(&self) -> &Arc<Indexer> {
        &self.indexer
    }

    /// Serves until `shutdown` completes, then lets requests in flight finish for up to the
    /// shutdown grace period and closes the remaining connections.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        server::serve(self.listener, self.router, self.limits, shutdown).await;
        let _ = self.stop_follower.send(true);
        let _ = self.follower.await;
        self.indexer.close().await;
        self.db
            .close()
            .await
            .context("closing the database failed")?;
        Ok(())
    }
}

/// Rebuilds the search index of `settings`' data directory from the database; returns how
/// many services it indexed. The new index is built in a directory of its own and then
/// renamed into place, so this works whatever state the old index is in (damaged, missing);
/// a damaged old index is kept aside as on start, a readable one deleted. Refuses while a
/// server holds the index.
pub async fn reindex(settings: &Settings) -> anyhow::Result<u64> {
    let dir = settings.data_dir.join(INDEX_DIR);
    let building = search::dir::building_dir(&dir)?;
    {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || search::dir::ensure_unused(&dir))
            .await?
            .context("cannot rebuild the search index")?;
    }
    let db = db::connect(settings, Arc::default()).await?;
    db::migrate(&db).await?;
    let synonyms = synonyms(settings)?;
    let index = {
        let target = building.clone();
        tokio::task::spawn_blocking(move || Index::create_fresh(&target, synonyms))
            .await?
            .with_context(|| {
                format!("cannot create a new search index in {}", building.display())
            })?
    };
    // A new index has no applied position: starting it builds it from the database.
    let indexer = start_indexer(settings, &db, index).await?;
    let count = indexer.index().num_docs();
    indexer.close().await;
    drop(indexer);
    // A damaged old index is logged where it was kept by the swap itself.
    tokio::task::spawn_blocking(move || search::dir::swap_in(&building, &dir))
        .await?
        .context("cannot put the new search index in place")?;
    Ok(count)
}

/// Loads full Code-Point Open CSVs (`.csv` or `.csv.gz`, found recursively under `dir`) into the
/// data directory for full-postcode precision; returns how many postcodes it wrote.
pub async fn import_postcodes(
    settings: &Settings,
    dir: std::path::PathBuf,
) -> anyhow::Result<usize> {
    std::fs::create_dir_all(&settings.data_dir)?;
    let target = settings.data_dir.join(POSTCODES_FILE);
    tokio::task::spawn_blocking(move || {
        let rows = search::geo::read_code_point_dir(&dir).with_context(|| {
            format!("cannot read Code-Point Open files under {}", dir.display())
        })?;
        if rows.is_empty() {
            anyhow::bail!("no Code-Point Open rows found under {}", dir.display());
        }
        Ok(search::geo::write_full_postcodes(rows, &target)?)
    })
    .await?
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %err, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
