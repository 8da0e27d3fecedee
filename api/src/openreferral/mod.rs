//! The Open Referral UK 3.0 read API (`/openreferral/...`, merged into the app's router): the
//! REST face over the store, answering with the objects of [`crate::hsds::encode`].
//!
//! Read-only and public: only ACTIVE services are listed or fetched, and only PUBLIC contacts
//! and phone lines appear. Errors are JSON bodies `{"code": 400, "message": "..."}`.

pub mod routes;

use std::sync::Arc;

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::indexing::Indexer;

pub use routes::router;

/// The version `GET /` reports: the Open Referral UK profile of HSDS 3.0.
pub const VERSION: &str = "HSDS-UK-3.0";
/// Where the profile is documented.
pub const PROFILE_URL: &str =
    "https://github.com/OpenReferralUK/uk-profile/blob/main/docs/index.md";
/// The OpenAPI document this API follows.
pub const OPENAPI_URL: &str =
    "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/openapi.json";

/// An error answer of the Open Referral API.
#[derive(Debug)]
pub struct OrError {
    status: StatusCode,
    message: String,
}

impl OrError {
    /// 400 with a message naming the parameter.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 with a message naming what was not found.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    /// 500, logging the cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "open referral request failed");
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "internal error".into(),
        }
    }

    /// 503 with `Retry-After`: the database could not be reached; the cause is logged.
    pub fn unavailable(cause: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %cause, "open referral request failed: database unavailable");
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: "the database is unavailable; try again shortly".into(),
        }
    }
}

impl From<crate::store::Error> for OrError {
    /// 404 and 400 with the store's message for a missing record and bad input; 503 when the
    /// database could not be reached, 500 otherwise (the same classification as GraphQL's
    /// `UNAVAILABLE` and `INTERNAL`).
    fn from(err: crate::store::Error) -> Self {
        use crate::store::Error;
        match err {
            Error::NotFound(message) => Self::not_found(message),
            Error::Invalid(message) => Self::bad_request(message),
            Error::Unavailable(cause) => Self::unavailable(cause),
            Error::Database(cause) => Self::internal(cause),
            Error::Internal(cause) => Self::internal(format!("{cause:#}")),
            other => Self::internal(other),
        }
    }
}

impl From<sea_orm::DbErr> for OrError {
    /// Classified by the store, like every database error (see [`crate::store::Error`]).
    fn from(err: sea_orm::DbErr) -> Self {
        crate::store::Error::from(err).into()
    }
}

impl IntoResponse for OrError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(crate::error::RETRY_AFTER_SECS),
            );
        }
        response
    }
}

/// What the routes read: the database and the search index (for free text and postcodes).
/// The application's state provides it through axum's `FromRef`.
#[derive(Clone)]
pub struct RestState {
    /// The database.
    pub db: DatabaseConnection,
    /// The search index and the geocoder.
    pub indexer: Arc<Indexer>,
}
