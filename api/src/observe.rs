//! What operators see: a request id and span on every request, and the metrics `/metrics`
//! exports beyond its basic counters (request latency by GraphQL operation, HTTP statuses,
//! GraphQL errors by code, connections, the database pool and the index's lag).

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        LazyLock, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use async_graphql::{
    Response, Value,
    parser::types::{DocumentOperations, ExecutableDocument, Selection},
};
use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
};
use sea_orm::{DatabaseConnection, DbBackend};
use tracing::Instrument as _;

use crate::indexing::Indexer;

/// The header carrying a request's id, taken from the client when sane and always echoed.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The longest request id taken from a client.
pub const MAX_REQUEST_ID: usize = 64;
/// Distinct operation names measured separately; later ones count as `other`.
pub const MAX_OPERATION_NAMES: usize = 100;
/// Distinct error codes counted separately; later ones count as `other`.
pub const MAX_ERROR_CODES: usize = 50;
/// How long `/metrics` waits for the index's lag before leaving it out.
pub const LAG_TIMEOUT: Duration = Duration::from_millis(500);

/// Upper bounds (seconds) of the latency histogram's buckets.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::default);
    &METRICS
}

/// Counters and histograms shared by every server in the process.
#[derive(Default)]
pub struct Metrics {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    connections_refused: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
    operations: Mutex<BTreeMap<String, Histogram>>,
    errors: Mutex<BTreeMap<String, u64>>,
}

/// Counts an open connection for as long as it lives.
pub struct OpenConnection(());

impl Drop for OpenConnection {
    fn drop(&mut self) {
        metrics().connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Counts a connection accepted for service; it counts as open until the guard is dropped.
    pub fn connection_opened(&self) -> OpenConnection {
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        self.connections_total.fetch_add(1, Ordering::Relaxed);
        OpenConnection(())
    }

    /// Counts a connection refused because too many were open.
    pub fn connection_refused(&self) {
        self.connections_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an HTTP response by status.
    pub fn count_status(&self, status: u16) {
        *lock(&self.statuses).entry(status).or_default() += 1;
    }

    /// Records how long a GraphQL operation took.
    pub fn observe_operation(&self, label: OperationLabel, elapsed: Duration) {
        let mut operations = lock(&self.operations);
        let name = match label {
            OperationLabel::RootField(name) => name,
            OperationLabel::Named(name) if !is_name(&name) => "other".to_owned(),
            OperationLabel::Named(name) => {
                let named = operations
                    .keys()
                    .filter(|key| !key.starts_with(ROOT_PREFIX))
                    .count();
                if operations.contains_key(&name) || named < MAX_OPERATION_NAMES {
                    name
                } else {
                    "other".to_owned()
                }
            }
            OperationLabel::Unknown => "invalid".to_owned(),
        };
        operations
            .entry(name)
            .or_default()
            .observe(elapsed.as_secs_f64());
    }

    /// Counts the errors of a GraphQL response by `extensions.code`.
    pub fn count_errors(&self, response: &Response) {
        if response.errors.is_empty() {
            return;
        }
        let mut errors = lock(&self.errors);
        for error in &response.errors {
            let code = match error.extensions.as_ref().and_then(|ext| ext.get("code")) {
                Some(Value::String(code)) => code.as_str(),
                Some(Value::Enum(code)) => code.as_str(),
                _ => "none",
            };
            let code =
                if is_name(code) && (errors.contains_key(code) || errors.len() < MAX_ERROR_CODES) {
                    code
                } else {
                    "other"
                };
            *errors.entry(code.to_owned()).or_default() += 1;
        }
    }

    /// Writes these metrics in the Prometheus text format.
    fn render(&self, out: &mut String) {
        gauge(
            out,
            "signpost_http_connections",
            "Connections open.",
            self.connections_open.load(Ordering::Relaxed),
        );
        counter(
            out,
            "signpost_http_connections_total",
            "Connections accepted for service.",
            self.connections_total.load(Ordering::Relaxed),
        );
        counter(
            out,
            "signpost_http_connections_refused_total",
            "Connections refused with HTTP 503 (or closed) because too many were open.",
            self.connections_refused.load(Ordering::Relaxed),
        );
        out.push_str(
            "# HELP signpost_http_requests_total HTTP responses by status.\n\
             # TYPE signpost_http_requests_total counter\n",
        );
        for (status, count) in lock(&self.statuses).iter() {
            let _ = writeln!(
                out,
                "signpost_http_requests_total{{status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP signpost_graphql_errors_total GraphQL errors by extensions.code.\n\
             # TYPE signpost_graphql_errors_total counter\n",
        );
        for (code, count) in lock(&self.errors).iter() {
            let _ = writeln!(
                out,
                "signpost_graphql_errors_total{{code=\"{code}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP signpost_graphql_duration_seconds GraphQL operation latency by operation \
             name (the root field when unnamed; `other` beyond the first names, `invalid` for \
             documents refused before execution).\n\
             # TYPE signpost_graphql_duration_seconds histogram\n",
        );
        for (name, histogram) in lock(&self.operations).iter() {
            let name = name.strip_prefix(ROOT_PREFIX).unwrap_or(name);
            histogram.render(out, "signpost_graphql_duration_seconds", "operation", name);
        }
    }
}

/// Writes the process's metrics, the database pool's and the index's lag (left out when the
/// database does not answer within [`LAG_TIMEOUT`]).
pub async fn render(out: &mut String, db: &DatabaseConnection, indexer: &Indexer) {
    metrics().render(out);
    let pool = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            Some((
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ))
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            Some((
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            ))
        }
        _ => None,
    };
    if let Some((size, idle, max)) = pool {
        let idle = u64::try_from(idle).unwrap_or(u64::MAX);
        let size = u64::from(size);
        gauge(
            out,
            "signpost_db_pool_connections_in_use",
            "Database connections lent to requests.",
            size.saturating_sub(idle),
        );
        gauge(
            out,
            "signpost_db_pool_connections_idle",
            "Database connections open and idle.",
            idle,
        );
        gauge(
            out,
            "signpost_db_pool_connections_max",
            "The most database connections the pool opens.",
            u64::from(max),
        );
    }
    match tokio::time::timeout(LAG_TIMEOUT, indexer.lag()).await {
        Ok(Ok(lag)) => gauge(
            out,
            "signpost_index_lag",
            "Change-feed entries not yet applied to the search index.",
            u64::try_from(lag).unwrap_or(0),
        ),
        Ok(Err(err)) => tracing::debug!(error = %err, "cannot read the change feed's head"),
        Err(_) => tracing::debug!("the change feed's head did not answer in time"),
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = write!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"
    );
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = write!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
    );
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A GraphQL name (letters, digits, underscores) of a sane length, safe as a label value.
fn is_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A latency histogram with the buckets of [`BUCKETS`].
#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if let Some(bucket) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            self.buckets[bucket] += 1;
        }
        self.count += 1;
        self.sum += seconds;
    }

    fn render(&self, out: &mut String, name: &str, label: &str, value: &str) {
        let mut cumulative = 0;
        for (bound, count) in BUCKETS.iter().zip(self.buckets) {
            cumulative += count;
            let _ = writeln!(
                out,
                "{name}_bucket{{{label}=\"{value}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = write!(
            out,
            "{name}_bucket{{{label}=\"{value}\",le=\"+Inf\"}} {count}\n\
             {name}_sum{{{label}=\"{value}\"}} {sum}\n\
             {name}_count{{{label}=\"{value}\"}} {count}\n",
            count = self.count,
            sum = self.sum,
        );
    }
}

/// Root fields are kept apart from operation names in the table (they are bounded by the
/// schema, so they do not count against [`MAX_OPERATION_NAMES`]).
const ROOT_PREFIX: &str = "\u{0}";

/// What a GraphQL request is measured as.
#[derive(Debug, PartialEq, Eq)]
pub enum OperationLabel {
    /// An unnamed operation, by its first root field (checked by validation).
    RootField(String),
    /// A named operation.
    Named(String),
    /// A document refused before execution.
    Unknown,
}

impl OperationLabel {
    /// The label of the operation `document` runs when the request names `operation_name`:
    /// that name, the name of the document's one named operation, or an unnamed operation's
    /// first root field. It stands only if the operation then runs ([`Self::unless_refused`]).
    pub fn of(document: &ExecutableDocument, operation_name: Option<&str>) -> Self {
        if let Some(name) = operation_name {
            return Self::Named(name.to_owned());
        }
        match &document.operations {
            DocumentOperations::Single(operation) => match operation
                .node
                .selection_set
                .node
                .items
                .first()
                .map(|s| &s.node)
            {
                Some(Selection::Field(field)) => {
                    Self::RootField(format!("{ROOT_PREFIX}{}", field.node.name.node))
                }
                _ => Self::Unknown,
            },
            DocumentOperations::Multiple(operations) if operations.len() == 1 => operations
                .keys()
                .next()
                .map_or(Self::Unknown, |name| Self::Named(name.to_string())),
            DocumentOperations::Multiple(_) => Self::Unknown,
        }
    }

    /// This label if `response` is that of an operation that ran; [`Self::Unknown`] if the
    /// document was refused before running (by validation, its limits or an unknown operation
    /// name: errors with no path, and no data). Errors raised while running carry the path of
    /// their field.
    pub fn unless_refused(self, response: &Response) -> Self {
        let refused = !response.errors.is_empty()
            && matches!(response.data, Value::Null)
            && response.errors.iter().all(|error| error.path.is_empty());
        if refused { Self::Unknown } else { self }
    }
}

/// Gives every request an id (the client's `x-request-id` when it is a short token, else a
/// new one), runs it in a span carrying the id, echoes the id in the response and counts the
/// response's status.
pub async fn request_context(request: Request, next: Next) -> axum::response::Response {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| is_request_id(value))
        .map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned);
    // At ERROR level so that the span, and so the id, is there whatever level lines inside it
    // are logged at under any filter.
    let span = tracing::error_span!("request", request_id = %id);
    let mut response = next.run(request).instrument(span).await;
    metrics().count_status(response.status().as_u16());
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

/// A request id a client may choose: 1 to [`MAX_REQUEST_ID`] letters, digits, `-`, `_`, `.`.
fn is_request_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_REQUEST_ID
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_clients_are_short_tokens() {
        assert!(is_request_id("abc-123_x.y"));
        assert!(!is_request_id(""));
        assert!(!is_request_id("has space"));
        assert!(!is_request_id("line\nbreak"));
        assert!(!is_request_id(&"a".repeat(MAX_REQUEST_ID + 1)));
    }

    #[test]
    fn operation_names_beyond_the_cap_count_as_other() {
        let metrics = Metrics::default();
        let moment = Duration::from_millis(1);
        for n in 0..MAX_OPERATION_NAMES + 20 {
            metrics.observe_operation(OperationLabel::Named(format!("Op{n}")), moment);
        }
        metrics.observe_operation(OperationLabel::Named("Op0".to_owned()), moment);
        metrics.observe_operation(
            OperationLabel::RootField(format!("{ROOT_PREFIX}search")),
            moment,
        );
        metrics.observe_operation(OperationLabel::Named("not a name!".to_owned()), moment);
        let mut out = String::new();
        metrics.render(&mut out);
        let count = |operation: &str| {
            let prefix =
                format!("signpost_graphql_duration_seconds_count{{operation=\"{operation}\"}} ");
            out.lines()
                .find_map(|line| line.strip_prefix(&prefix)?.parse::<u64>().ok())
        };
        assert_eq!(count("Op0"), Some(2));
        assert_eq!(count(&format!("Op{}", MAX_OPERATION_NAMES - 1)), Some(1));
        assert_eq!(count(&format!("Op{MAX_OPERATION_NAMES}")), None);
        assert_eq!(count("other"), Some(21));
        assert_eq!(count("search"), Some(1));
    }

    #[tokio::test]
    async fn operations_are_labelled_by_name_or_root_field_unless_refused() {
        let schema = crate::graphql::build_schema(None, false);
        let label = async |query: &str, name: Option<&str>| {
            let mut request = async_graphql::Request::new(query);
            if let Some(name) = name {
                request = request.operation_name(name);
            }
            let document = async_graphql::parser::parse_query(query).expect("parses");
            let label = OperationLabel::of(&document, name);
            label.unless_refused(&schema.execute(request).await)
        };
        let root = |field: &str| OperationLabel::RootField(format!("{ROOT_PREFIX}{field}"));
        let named = |name: &str| OperationLabel::Named(name.to_owned());
        let two = "query A { __typename } query B { __typename }";

        assert_eq!(label("{ __typename }", None).await, root("__typename"));
        assert_eq!(
            label("query Probe { __typename }", None).await,
            named("Probe")
        );
        assert_eq!(label(two, Some("B")).await, named("B"));
        // A resolver's error (here: no database behind the schema) carries its field's path:
        // the operation ran.
        assert_eq!(
            label("{ services(first: 1) { totalCount } }", None).await,
            root("services")
        );
        // Refused before running: validation, a missing or unknown operation name.
        assert_eq!(
            label("{ noSuchField }", None).await,
            OperationLabel::Unknown
        );
        assert_eq!(label(two, None).await, OperationLabel::Unknown);
        assert_eq!(
            label("{ __typename }", Some("Nope")).await,
            OperationLabel::Unknown
        );
    }

    #[test]
    fn histograms_are_cumulative() {
        let mut histogram = Histogram::default();
        histogram.observe(0.003);
        histogram.observe(0.2);
        histogram.observe(100.0);
        let mut out = String::new();
        histogram.render(&mut out, "h", "operation", "x");
        assert!(
            out.contains("h_bucket{operation=\"x\",le=\"0.005\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("h_bucket{operation=\"x\",le=\"0.25\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("h_bucket{operation=\"x\",le=\"30\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("h_bucket{operation=\"x\",le=\"+Inf\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("h_count{operation=\"x\"} 3\n"), "{out}");
    }
}
