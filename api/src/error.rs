//! The API's error type: what the client is told (with `extensions.code`) and what is logged.

use std::sync::Arc;

use sea_orm::DbErr;

use crate::store;

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

impl From<store::Error> for ApiError {
    /// The store's error as the client sees it: its message under the matching code; a database
    /// that could not be reached is [`ApiError::Unavailable`], any other failure
    /// [`ApiError::Internal`] (logged, with a generic message).
    fn from(err: store::Error) -> Self {
        match err {
            store::Error::Invalid(message) => Self::BadUserInput(message),
            store::Error::Unauthenticated(message) => Self::Unauthenticated(message),
            store::Error::Forbidden(message) => Self::Forbidden(message),
            store::Error::NotFound(message) => Self::NotFound(message),
            store::Error::Conflict(message) => Self::Conflict(message),
            store::Error::TooManyAttempts(message) => Self::RateLimited(message),
            store::Error::Unavailable(cause) => Self::Unavailable(cause.into()),
            store::Error::Database(cause) => Self::Internal(cause.into()),
            store::Error::Internal(cause) => Self::Internal(cause),
        }
    }
}

impl From<DbErr> for ApiError {
    /// Classified by the store (see [`store::error::db_unavailable`]).
    fn from(err: DbErr) -> Self {
        store::Error::from(err).into()
    }
}

impl From<Arc<DbErr>> for ApiError {
    fn from(err: Arc<DbErr>) -> Self {
        // Loaders share one error among their callers; the classification reads it in place.
        Arc::unwrap_or_clone(err).into()
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

impl From<store::Error> for async_graphql::Error {
    /// Through [`ApiError`], so that the client sees its `extensions.code`.
    fn from(err: store::Error) -> Self {
        ApiError::from(err).into()
    }
}

/// The result type of resolvers.
pub type ApiResult<T> = Result<T, ApiError>;
