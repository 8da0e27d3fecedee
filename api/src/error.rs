//! The API's error type: what the client is told (with `extensions.code`) and what is logged.

use std::sync::Arc;

use sea_orm::DbErr;

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
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        Self::Internal(err.into())
    }
}

impl From<Arc<DbErr>> for ApiError {
    fn from(err: Arc<DbErr>) -> Self {
        Self::Internal(anyhow::anyhow!("{err}"))
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        if let ApiError::Internal(cause) = &err {
            tracing::error!(error = ?cause, "request failed");
        }
        let code = err.code();
        use async_graphql::ErrorExtensions;
        async_graphql::Error::new(err.to_string()).extend_with(|_, ext| ext.set("code", code))
    }
}

/// The result type of resolvers and store functions.
pub type ApiResult<T> = Result<T, ApiError>;
