//! The Open Referral UK 3.0 read API (`/openreferral/...`, merged into the app's router) and the HSDS export.
//!
//! Read-only and public: only ACTIVE services are listed or fetched, and only PUBLIC contacts
//! and phone lines appear. Errors are JSON bodies `{"code": 400, "message": "..."}`.

pub mod import;
pub mod mapping;
pub mod routes;

use std::sync::Arc;

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::http::AppState;

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
}

impl From<sea_orm::DbErr> for OrError {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for OrError {
    fn into_response(self) -> Response {
        let body = json!({ "code": self.status.as_u16(), "message": self.message });
        (self.status, Json(body)).into_response()
    }
}

/// The shared state the routes read.
pub type State = Arc<AppState>;

/// Writes every service of every status, fully nested, as one JSON array ordered by id.
pub async fn export(
    db: &impl ConnectionTrait,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let services = mapping::export_services(db).await?;
    serde_json::to_writer_pretty(&mut *out, &services)?;
    writeln!(out)?;
    Ok(())
}
