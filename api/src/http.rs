//! The HTTP surface: `/graphql` (POST, and GET for queries and GraphiQL), the web pages at `/`,
//! health, readiness, metrics, and the protections every request passes through.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::{BatchRequest, ErrorExtensionValues, Request, Response, http::GraphiQLSource};
use axum::{
    Router,
    body::Bytes,
    extract::{ConnectInfo, DefaultBodyLimit, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse},
    routing::get,
};
use sea_orm::DatabaseConnection;
use serde_json::json;
use tower_http::{
    catch_panic::CatchPanicLayer, limit::RequestBodyLimitLayer, timeout::TimeoutLayer,
    trace::TraceLayer,
};

use crate::{
    auth::Caller,
    db::StatementCounter,
    error::ApiError,
    graphql::{
        SignpostSchema,
        guard::{DocumentGuard, FirstPollOnLargeStack, ReadOnlyRequest},
        loaders::Loaders,
    },
    observe::OperationLabel,
};

/// The largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The most operations one batched request may carry.
pub const MAX_BATCH: usize = 5;
/// The largest GraphQL response sent, in bytes; a larger one is replaced by an error.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Requests a minute per caller, keyed by token or address.
pub type Limiter = governor::DefaultKeyedRateLimiter<String>;

/// Builds a per-minute limiter, or none when `per_minute` is 0.
pub fn limiter(per_minute: u32) -> Option<Limiter> {
    std::num::NonZeroU32::new(per_minute)
        .map(|n| governor::RateLimiter::keyed(governor::Quota::per_minute(n)))
}

/// What the HTTP handlers share.
pub struct AppState {
    /// Verifies bearer tokens.
    pub auth: Arc<crate::auth::Authenticator>,
    /// The limit for callers without a token, by address.
    pub anonymous_limit: Option<Limiter>,
    /// The limit for callers with a token, by token.
    pub token_limit: Option<Limiter>,
    /// The GraphQL schema.
    pub schema: SignpostSchema,
    /// The database, for readiness and per-request loaders.
    pub db: DatabaseConnection,
    /// The search index and its feed follower, for readiness.
    pub indexer: Arc<crate::indexing::Indexer>,
    /// SQL statements run, for `/metrics`.
    pub statements: Arc<StatementCounter>,
    /// GraphQL operations executed, for `/metrics`.
    pub operations: AtomicU64,
    /// Checks each GraphQL document before the schema runs it.
    pub guard: DocumentGuard,
}

impl axum::extract::FromRef<Arc<AppState>> for crate::openreferral::RestState {
    /// The Open Referral face's part of the state: the database and the search index.
    fn from_ref(state: &Arc<AppState>) -> Self {
        Self {
            db: state.db.clone(),
            indexer: state.indexer.clone(),
        }
    }
}

/// The application's router with every protection layer.
pub fn router(state: Arc<AppState>, request_timeout: Duration) -> Router {
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::openreferral::router())
        .merge(crate::web::router())
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(too_large_as_json))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(axum::middleware::from_fn(crate::observe::request_context))
        .with_state(state)
}

/// The access log's span for a request: its method and path, never its query string, which
/// carries families' postcodes and the words of a search.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    // tower-http's own target, so that `tower_http=debug` shows it as it shows the default.
    tracing::debug_span!(
        target: "tower_http::trace::make_span",
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

/// A body over the size limit is refused by the limit layers with plain text; clients get the
/// GraphQL error shape instead.
async fn too_large_as_json(response: axum::response::Response) -> axum::response::Response {
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "the request body is larger than {} KiB",
                MAX_BODY_BYTES / 1024
            ),
        );
    }
    response
}

/// A transport-level refusal in the GraphQL error shape.
fn refuse(status: StatusCode, message: &str) -> axum::response::Response {
    let body =
        json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] });
    (status, axum::Json(body)).into_response()
}

/// Authenticates and rate-limits a request; the error is the response to send.
fn rate_limited() -> axum::response::Response {
    let body = json!({ "errors": [{ "message": "too many requests; try again in a minute", "extensions": { "code": "RATE_LIMITED" } }] });
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}

async fn admit(
    state: &AppState,
    headers: &HeaderMap,
    address: SocketAddr,
) -> Result<Caller, axum::response::Response> {
    let caller = match state
        .auth
        .authenticate(headers.get(header::AUTHORIZATION))
        .await
    {
        Ok(caller) => caller,
        Err(err) => {
            // Failed authentications count against the address, like anonymous requests (a
            // token that could not be checked for a database outage is not a failure).
            if !matches!(err, ApiError::Unavailable(_))
                && let Some(limiter) = &state.anonymous_limit
                && limiter.check_key(&address.ip().to_string()).is_err()
            {
                return Err(rate_limited());
            }
            err.log("authentication failed");
            let status = match &err {
                ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                // The token could not be checked; the same request may succeed shortly.
                ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::UNAUTHORIZED,
            };
            let body = json!({ "errors": [{
                "message": err.to_string(),
                "extensions": { "code": err.code() },
            }] });
            let mut response = (status, axum::Json(body)).into_response();
            if status == StatusCode::SERVICE_UNAVAILABLE {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    header::HeaderValue::from(crate::error::RETRY_AFTER_SECS),
                );
            }
            return Err(response);
        }
    };
    let (limiter, key) = match &caller {
        Caller::Anonymous => (&state.anonymous_limit, address.ip().to_string()),
        Caller::Staff { user_id, .. } => (&state.token_limit, user_id.to_string()),
        Caller::Partner { token_id, .. } => (&state.token_limit, token_id.to_string()),
    };
    if let Some(limiter) = limiter
        && limiter.check_key(&key).is_err()
    {
        if limiter.len() > 100_000 {
            limiter.retain_recent();
        }
        return Err(rate_limited());
    }
    Ok(caller)
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let caller = match admit(&state, &headers, address).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return refuse(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as application/json",
        );
    }
    // An array is a batch (serde would otherwise read an empty array as an empty request).
    let parsed = if body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        serde_json::from_slice::<Vec<Request>>(&body).map(BatchRequest::Batch)
    } else {
        serde_json::from_slice::<Request>(&body).map(BatchRequest::Single)
    };
    let batch: BatchRequest = match parsed {
        Ok(batch) => batch,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("the request body is not a GraphQL request: {err}"),
            );
        }
    };
    match batch {
        BatchRequest::Single(request) => {
            let response = execute(&state, request, &caller, address).await;
            json_reply(StatusCode::OK, &response)
        }
        BatchRequest::Batch(requests) => {
            if requests.is_empty() {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    "a batch must hold at least one operation",
                );
            }
            if requests.len() > MAX_BATCH {
                return refuse(
                    StatusCode::BAD_REQUEST,
                    &format!("a batch may hold at most {MAX_BATCH} operations"),
                );
            }
            let mut responses = Vec::with_capacity(requests.len());
            for request in requests {
                responses.push(execute(&state, request, &caller, address).await);
            }
            json_reply(StatusCode::OK, &responses)
        }
    }
}

/// Serialises a GraphQL reply once, refusing it when it is larger than [`MAX_RESPONSE_BYTES`].
fn json_reply(status: StatusCode, reply: &impl serde::Serialize) -> axum::response::Response {
    match serde_json::to_vec(reply) {
        Ok(body) if body.len() <= MAX_RESPONSE_BYTES => {
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Ok(_) => refuse(
            StatusCode::OK,
            &format!(
                "the response would be larger than {} MiB; ask for fewer results or fields",
                MAX_RESPONSE_BYTES / (1024 * 1024)
            ),
        ),
        Err(err) => {
            tracing::error!(error = %err, "cannot serialise a response");
            let body = json!({ "errors": [{ "message": "internal error", "extensions": { "code": "INTERNAL" } }] });
            (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(body)).into_response()
        }
    }
}

async fn graphql_get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> axum::response::Response {
    if query.as_ref().is_some_and(|q| q.len() > MAX_BODY_BYTES) {
        return refuse(
            StatusCode::URI_TOO_LONG,
            &format!("a GET query may be at most {MAX_BODY_BYTES} bytes; send larger ones by POST"),
        );
    }
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Html(
            GraphiQLSource::build()
                .endpoint("/graphql")
                .title("Signpost")
                .finish(),
        )
        .into_response();
    };
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("the query string is not a GraphQL request: {err}"),
            );
        }
    };
    let caller = match admit(&state, &headers, address).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    let response = execute(&state, request.data(ReadOnlyRequest), &caller, address).await;
    let refused_mutation = response
        .errors
        .iter()
        .any(|err| err.message == "mutations must be sent with POST");
    let status = if refused_mutation {
        StatusCode::METHOD_NOT_ALLOWED
    } else {
        StatusCode::OK
    };
    json_reply(status, &response)
}

/// The address a request came from, for rate limits and listing reports.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddress(pub SocketAddr);

/// Runs one operation with fresh loaders and gives every error an `extensions.code`.
pub(crate) async fn execute(
    state: &AppState,
    request: Request,
    caller: &Caller,
    address: SocketAddr,
) -> Response {
    state.operations.fetch_add(1, Ordering::Relaxed);
    let started = Instant::now();
    let mut request = request
        .data(Loaders::new(&state.db))
        .data(caller.clone())
        .data(ClientAddress(address));
    let (mut response, label) = match state.guard.admit(&mut request) {
        Ok(label) => {
            let query_len = request.query.len();
            let response =
                FirstPollOnLargeStack::new(state.schema.execute(request), query_len).await;
            let label = label.unless_refused(&response);
            (response, label)
        }
        Err(refused) => (
            Response::from_errors(vec![refused]),
            OperationLabel::Unknown,
        ),
    };
    crate::observe::metrics().observe_operation(label, started.elapsed());
    for error in &mut response.errors {
        let extensions = error
            .extensions
            .get_or_insert_with(ErrorExtensionValues::default);
        if extensions.get("code").is_none() {
            // Parse, validation and limit errors, and argument coercion failures, are all the
            // caller's input.
            extensions.set("code", "BAD_USER_INPUT");
        }
    }
    crate::observe::metrics().count_errors(&response);
    response
}

async fn healthz() -> &'static str {
    "ok"
}

/// The longest `/readyz` waits for the database before answering 503.
pub const READY_CHECK_TIMEOUT: Duration = Duration::from_millis(800);

async fn readyz(State(state): State<Arc<AppState>>) -> axum::response::Response {
    let not_ready = |body: serde_json::Value| {
        (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
    };
    let unreachable = || not_ready(json!({ "status": "not ready", "database": "unreachable" }));
    // Both checks share one deadline, so an unreachable database is reported within a second
    // rather than after the pool's acquire timeout.
    let checks = async {
        if let Err(err) = state.db.ping().await {
            tracing::warn!(error = %err, "database unreachable");
            return None;
        }
        match state.indexer.lag().await {
            Ok(behind) => Some(behind),
            Err(err) => {
                tracing::warn!(error = %err, "cannot read the change feed");
                None
            }
        }
    };
    match tokio::time::timeout(READY_CHECK_TIMEOUT, checks).await {
        Err(_) => {
            tracing::warn!(
                timeout_ms = READY_CHECK_TIMEOUT.as_millis(),
                "database unreachable: no answer in time"
            );
            unreachable()
        }
        Ok(None) => unreachable(),
        Ok(Some(0)) => (
            StatusCode::OK,
            axum::Json(json!({ "status": "ready", "database": "ok", "index": "current" })),
        )
            .into_response(),
        Ok(Some(behind)) => not_ready(
            json!({ "status": "not ready", "database": "ok", "index": "behind", "behind": behind }),
        ),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    let mut body = format!(
        "# HELP signpost_index_applied_seq Last change-feed sequence applied to the search index.\n\
         # TYPE signpost_index_applied_seq gauge\n\
         signpost_index_applied_seq {}\n\
         # HELP signpost_index_documents Services in the search index.\n\
         # TYPE signpost_index_documents gauge\n\
         signpost_index_documents {}\n\
         # HELP signpost_db_statements_total SQL statements run.\n\
         # TYPE signpost_db_statements_total counter\n\
         signpost_db_statements_total {}\n\
         # HELP signpost_graphql_operations_total GraphQL operations executed.\n\
         # TYPE signpost_graphql_operations_total counter\n\
         signpost_graphql_operations_total {}\n",
        state.indexer.applied(),
        state.indexer.index().num_docs(),
        state.statements.get(),
        state.operations.load(Ordering::Relaxed),
    );
    crate::observe::render(&mut body, &state.db, &state.indexer).await;
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(response: axum::response::Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("the body");
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[tokio::test]
    async fn replies_over_the_size_limit_become_a_clear_error() {
        let small = json!({ "data": { "x": "y".repeat(1_000) } });
        let body = body_of(json_reply(StatusCode::OK, &small)).await;
        assert_eq!(body, small);

        let large = json!({ "data": { "x": "y".repeat(MAX_RESPONSE_BYTES) } });
        let body = body_of(json_reply(StatusCode::OK, &large)).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("larger than 4 MiB")),
            "{body}"
        );
    }
}
