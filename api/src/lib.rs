//! Signpost: a GraphQL directory of first 1001 days services (perinatal mental health, infant
//! mental health and family support), for professionals signposting families.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod graphql;
pub mod http;
pub mod seed;
pub mod store;

use std::{
    net::SocketAddr,
    sync::{Arc, atomic::AtomicU64},
};

use anyhow::Context;
use sea_orm::DatabaseConnection;
use tokio::net::TcpListener;

use crate::{
    config::Settings,
    db::StatementCounter,
    graphql::{Shared, build_schema},
    http::{AppState, router},
    seed::SeedOutcome,
};

/// A server bound to its address, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    db: DatabaseConnection,
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
        let schema = build_schema(Some(Shared { db: db.clone() }));
        let state = Arc::new(AppState {
            schema,
            db: db.clone(),
            statements,
            operations: AtomicU64::new(0),
        });
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        Ok(Self {
            listener,
            router: router(state, settings.request_timeout),
            db,
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

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the server stopped with an error")?;
        self.db
            .close()
            .await
            .context("closing the database failed")?;
        Ok(())
    }
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
