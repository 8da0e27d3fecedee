//! The API's error type: what the client is told (with `extensions.code`) and what is logged.

use std::sync::Arc;

use sea_orm::{DbErr, RuntimeErr, sqlx};

/// An error a request can end in. Client-facing messages are lowercase without a trailing period.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request's input is wrong; the message names the field.
    #[error("{0}")]
    BadUserInput(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials without the right to do this.
    #[error("{0}")]
    Forbidden(String),
    /// The record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The record changed meanwhile, or would clash with another.
    #[error("{0}")]
    Conflict(String),
    /// Too many requests; try again later.
    #[error("{0}")]
    RateLimited(String),
    /// The database cannot be reached just now (no connection within the acquire timeout, or
    /// the connection failed); the same request may succeed when retried. The cause is logged.
    #[error("the database is unavailable; try again shortly")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else: logged, and reported to the client as a generic message.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// A bad-input error naming the field.
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::BadUserInput(message.into())
    }

    /// The value of `extensions.code`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUserInput(_) => "BAD_USER_INPUT",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    /// A database error as the client should see it: [`ApiError::Unavailable`] when the database
    /// could not be reached (see [`db_unavailable`]), [`ApiError::Internal`] otherwise. Every
    /// conversion from [`DbErr`] goes through here.
    pub fn from_db(err: DbErr) -> Self {
        if db_unavailable(&err) {
            Self::Unavailable(err.into())
        } else {
            Self::Internal(err.into())
        }
    }

    /// Logs the cause of an internal or unavailable error (the client sees a generic message).
    pub fn log(&self, what: &str) {
        match self {
            Self::Internal(cause) => tracing::error!(error = ?cause, "{what}"),
            Self::Unavailable(cause) => {
                tracing::warn!(error = %cause, "{what}: database unavailable")
            }
            _ => {}
        }
    }
}

/// Seconds a client is asked to wait (`Retry-After`) before retrying a request that found the
/// database unavailable.
pub const RETRY_AFTER_SECS: u64 = 2;

/// Whether a database error means the database could not be reached, so that the same request
/// may succeed later: no pooled connection within the acquire timeout, a closed pool, a failed
/// or broken connection (refused, reset, closed, any I/O or TLS error), a PostgreSQL connection
/// exception (SQLSTATE class 08), a server shutting down or starting (57P01-57P03) or out of
/// connections (53300), and SQLite's busy database. Constraint violations, bad SQL, decoding
/// failures and the like are not: they stay internal errors (or conflicts, where mapped).
pub fn db_unavailable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(err))
        | DbErr::Exec(RuntimeErr::SqlxError(err))
        | DbErr::Query(RuntimeErr::SqlxError(err)) => sqlx_unavailable(err),
        // sea-orm's own connection errors ("Disconnected" after the connection was closed).
        DbErr::Conn(RuntimeErr::Internal(_)) => true,
        _ => false,
    }
}

fn sqlx_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return false;
            };
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some()
            {
                code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03" | "53300")
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                // The primary result code is the low byte of the extended one: SQLITE_BUSY.
                code.parse::<i32>().is_ok_and(|code| code & 0xff == 5)
            } else {
                false
            }
        }
        _ => false,
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        Self::from_db(err)
    }
}

impl From<Arc<DbErr>> for ApiError {
    fn from(err: Arc<DbErr>) -> Self {
        // Loaders share one error among their callers; the classification reads it in place.
        Self::from_db(Arc::unwrap_or_clone(err))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.log("request failed");
        let code = err.code();
        use async_graphql::ErrorExtensions;
        async_graphql::Error::new(err.to_string()).extend_with(|_, ext| ext.set("code", code))
    }
}

/// The result type of resolvers and store functions.
pub type ApiResult<T> = Result<T, ApiError>;
