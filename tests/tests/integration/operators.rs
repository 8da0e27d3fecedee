//! What operators see: plain or JSON logs with request ids, `x-request-id`, and `/metrics`.

use std::time::Duration;

use serde_json::{Value, json};
use tests::{Options, ServerProcess, TestApp};

/// Stops `server` with SIGTERM and returns everything it wrote to standard error.
async fn stop(mut server: ServerProcess) -> Vec<u8> {
    server.terminate();
    let status = server.wait(Duration::from_secs(60)).await;
    let stderr = server.stderr();
    assert!(
        status.is_some_and(|status| status.success()),
        "signpost did not exit cleanly ({status:?}):\n{}",
        String::from_utf8_lossy(&stderr)
    );
    stderr
}

#[tokio::test]
async fn json_logs_carry_the_request_id_on_every_line_of_a_request() {
    let server = ServerProcess::start(&[
        ("SIGNPOST_LOG_FORMAT", "json"),
        ("RUST_LOG", "info,tower_http=debug"),
    ])
    .await;
    let client = reqwest::Client::new();
    let response = client
        .post(server.url("/graphql"))
        .header("x-request-id", "probe-42")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(response.status(), 200);
    assert_eq!(
        response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("probe-42")
    );
    let stderr = stop(server).await;
    let text = String::from_utf8_lossy(&stderr);
    let mut in_requests = 0;
    let mut with_probe = 0;
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("a log line is not JSON ({err}): {line}"));
        assert!(entry["timestamp"].is_string(), "{line}");
        assert!(entry["level"].is_string(), "{line}");
        let spans = entry["spans"].as_array().cloned().unwrap_or_default();
        if !spans.iter().any(|span| span["name"] == "request") {
            continue;
        }
        in_requests += 1;
        let ids: Vec<&str> = spans
            .iter()
            .filter_map(|span| span["request_id"].as_str())
            .collect();
        assert!(
            !ids.is_empty(),
            "a line logged while handling a request carries no request id: {line}"
        );
        if ids.contains(&"probe-42") {
            with_probe += 1;
        }
    }
    assert!(
        in_requests > 0 && with_probe > 0,
        "no line logged while handling the request:\n{text}"
    );
}

#[tokio::test]
async fn logs_have_no_colour_codes_when_standard_error_is_not_a_terminal() {
    let server = ServerProcess::start(&[("RUST_LOG", "info,tower_http=debug")]).await;
    let response = reqwest::get(server.url("/healthz"))
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(response.status(), 200);
    let stderr = stop(server).await;
    let text = String::from_utf8_lossy(&stderr);
    assert!(text.contains("signpost is listening"), "{text}");
    assert!(
        !stderr.contains(&0x1b),
        "escape sequences in a piped log:\n{text}"
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_made() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let id_for = |sent: Option<&'static str>| {
        let mut request = app.client.get(app.url("/healthz"));
        if let Some(sent) = sent {
            request = request.header("x-request-id", sent);
        }
        async move {
            let response = request.send().await.unwrap_or_else(|err| panic!("{err}"));
            response
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("no x-request-id in the response"))
        }
    };
    assert_eq!(id_for(Some("abc-123.x_y")).await, "abc-123.x_y");
    let made = id_for(None).await;
    assert!(
        made.len() >= 16 && made.bytes().all(|b| b.is_ascii_alphanumeric()),
        "{made}"
    );
    assert_ne!(made, id_for(None).await, "request ids repeat");
    let long = "x".repeat(200);
    let long: &'static str = Box::leak(long.into_boxed_str());
    for unfit in ["has spaces", "semi;colon", long] {
        let replaced = id_for(Some(unfit)).await;
        assert_ne!(replaced, unfit);
        assert!(
            replaced.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{replaced}"
        );
    }
}

/// The value of the sample `name` (with its labels) in a Prometheus text page.
fn sample(page: &str, name: &str) -> Option<f64> {
    page.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        (series == name).then(|| value.parse().ok())?
    })
}

#[tokio::test]
async fn metrics_show_latency_by_operation_errors_by_code_pool_and_index_lag() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.data(
            "query MetricsProbeList { services(first: 2) { totalCount } }",
            json!({}),
        )
        .await;
    }
    app.data("{ taxonomyTerms { id } }", json!({})).await;
    let (code, _) = app.error("{ noSuchField }", json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");

    let page = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"))
        .text()
        .await
        .unwrap_or_default();
    let count = sample(
        &page,
        "signpost_graphql_duration_seconds_count{operation=\"MetricsProbeList\"}",
    );
    assert!(count.is_some_and(|n| n >= 3.0), "{page}");
    assert!(
        sample(
            &page,
            "signpost_graphql_duration_seconds_bucket{operation=\"MetricsProbeList\",le=\"+Inf\"}"
        )
        .is_some_and(|n| n >= 3.0),
        "{page}"
    );
    assert!(
        page.contains("# TYPE signpost_graphql_duration_seconds histogram"),
        "{page}"
    );
    assert!(
        sample(
            &page,
            "signpost_graphql_duration_seconds_count{operation=\"taxonomyTerms\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "an unnamed operation is not measured by its root field: {page}"
    );
    assert!(
        sample(
            &page,
            "signpost_graphql_duration_seconds_count{operation=\"invalid\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "a document refused by validation is not measured as invalid: {page}"
    );
    assert!(
        !page.contains("operation=\"noSuchField\""),
        "a refused document is measured by a root field the schema does not have: {page}"
    );
    assert!(
        sample(
            &page,
            "signpost_graphql_errors_total{code=\"BAD_USER_INPUT\"}"
        )
        .is_some_and(|n| n >= 1.0),
        "{page}"
    );
    assert!(
        sample(&page, "signpost_http_requests_total{status=\"200\"}").is_some_and(|n| n >= 5.0),
        "{page}"
    );
    for gauge in [
        "signpost_db_pool_connections_in_use",
        "signpost_db_pool_connections_idle",
        "signpost_db_pool_connections_max",
        "signpost_index_lag",
        "signpost_http_connections",
        // The names that were there before stay.
        "signpost_db_statements_total",
        "signpost_graphql_operations_total",
        "signpost_index_applied_seq",
        "signpost_index_documents",
    ] {
        assert!(sample(&page, gauge).is_some(), "no {gauge} in {page}");
    }
    assert!(
        sample(&page, "signpost_db_pool_connections_max").is_some_and(|n| n >= 1.0),
        "{page}"
    );
}
