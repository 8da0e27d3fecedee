//! Abusive or malformed requests get a clear error (a GraphQL error with `extensions.code`, or a
//! 4xx), never a 500, a panic or a crashed process.

use serde_json::{Value, json};
use tests::{TestApp, first_error};

async fn post_raw(
    app: &TestApp,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn assert_alive(app: &TestApp) {
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    let data = app
        .data("{ services(first: 1) { totalCount } }", json!({}))
        .await;
    assert!(
        data["services"]["totalCount"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
}

#[tokio::test]
async fn page_sizes_are_bounded() {
    let app = TestApp::spawn().await;
    for query in [
        "{ services(first: 101) { totalCount } }",
        "{ services(first: -1) { totalCount } }",
        "{ organizations(first: 1000) { totalCount } }",
        "{ events(first: 500) { totalCount } }",
        "{ organizations(first: 1) { edges { node { services(first: 101) { totalCount } } } } }",
    ] {
        let (code, message) = app.error(query, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{query}");
        assert!(message.contains("first"), "{message}");
    }
}

#[tokio::test]
async fn depth_complexity_aliases_and_directives_are_limited() {
    let app = TestApp::spawn().await;
    let mut deep = String::from("id");
    for _ in 0..6 {
        deep = format!("services(first: 1) {{ edges {{ node {{ organization {{ {deep} }} }} }} }}");
    }
    let deep = format!("{{ organizations(first: 1) {{ edges {{ node {{ {deep} }} }} }} }}");
    let (code, message) = app.error(&deep, json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(
        message.to_lowercase().contains("nested too deep"),
        "{message}"
    );

    let complex = "{ organizations(first: 100) { edges { node { services(first: 100) { edges { node { id name description } } } } } } }";
    let (code, message) = app.error(complex, json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.to_lowercase().contains("complex"), "{message}");

    let aliases: String = (0..300).map(|i| format!("a{i}: __typename ")).collect();
    let (code, message) = app.error(&format!("{{ {aliases} }}"), json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("aliases"), "{message}");

    let directives: String = (0..60)
        .map(|i| format!("d{i}: __typename @include(if: true) "))
        .collect();
    let (code, message) = app.error(&format!("{{ {directives} }}"), json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("directives"), "{message}");

    let same_field: String = "@include(if: true) ".repeat(20);
    let (code, _) = app
        .error(&format!("{{ __typename {same_field} }}"), json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert_alive(&app).await;
}

#[tokio::test]
async fn deeply_nested_values_are_refused_before_parsing() {
    let app = TestApp::spawn().await;
    let depth = 8_000;
    let query = format!(
        "{{ services(filter: {{ categories: {}\"x\"{} }}) {{ totalCount }} }}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let (code, message) = app.error(&query, json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("nested too deeply"), "{message}");

    let objects = format!(
        "{{ services(filter: {}) {{ totalCount }} }}",
        "{a: ".repeat(depth) + &"}".repeat(depth)
    );
    let (code, _) = app.error(&objects, json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");

    // Deep JSON in the variables is refused by the JSON reader's own limit.
    let variables = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let body = format!("{{\"query\":\"{{ __typename }}\",\"variables\":{{\"v\":{variables}}}}}");
    let (status, _) = post_raw(&app, "application/json", body).await;
    assert!((400..500).contains(&status), "status {status}");
    assert_alive(&app).await;
}

#[tokio::test]
async fn batches_are_limited() {
    let app = TestApp::spawn().await;
    let one = json!({ "query": "{ services(first: 1) { totalCount } }" });
    let (status, body) = post_raw(&app, "application/json", json!([one, one]).to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().map(Vec::len), Some(2));
    let six: Vec<Value> = (0..6).map(|_| one.clone()).collect();
    let (status, body) = post_raw(&app, "application/json", Value::Array(six).to_string()).await;
    assert_eq!(status, 400);
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT");
    let (status, _) = post_raw(&app, "application/json", "[]").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn get_serves_graphiql_and_queries_but_not_mutations() {
    let app = TestApp::spawn().await;
    let page = app
        .client
        .get(app.url("/graphql"))
        .send()
        .await
        .expect("graphiql");
    assert_eq!(page.status(), 200);
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .to_lowercase()
            .contains("graphiql")
    );

    let query = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ services(first: 2) { totalCount } }")])
        .send()
        .await
        .expect("get query");
    assert_eq!(query.status(), 200);
    let body: Value = query.json().await.expect("json");
    assert!(body["data"]["services"]["totalCount"].as_u64().is_some());

    // The same document by POST first: a kept parse must not let it through a GET.
    let (status, _) = post_raw(
        &app,
        "application/json",
        json!({ "query": "mutation { __typename }" }).to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let mutation = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { __typename }")])
        .send()
        .await
        .expect("get mutation");
    assert_eq!(mutation.status(), 405);
    let body: Value = mutation.json().await.expect("json");
    let (code, message) = first_error(&body);
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("POST"), "{message}");
}

#[tokio::test]
async fn a_document_sent_again_is_checked_again_with_its_variables() {
    let app = TestApp::spawn().await;
    let query = "query($t: String) { search(text: $t, first: 1) { totalCount } }";
    for _ in 0..2 {
        let (status, body) = post_raw(
            &app,
            "application/json",
            json!({ "query": query, "variables": { "t": "low mood" } }).to_string(),
        )
        .await;
        assert_eq!(status, 200);
        assert!(
            body["data"]["search"]["totalCount"].as_u64().is_some(),
            "{body}"
        );
    }
    let (_, body) = post_raw(
        &app,
        "application/json",
        json!({ "query": query, "variables": { "t": "low\u{0}mood" } }).to_string(),
    )
    .await;
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT", "{body}");
    // A refused document is refused every time.
    let deep = format!("{{ a{} }}", "(b: [".repeat(50));
    for _ in 0..2 {
        let (_, body) = post_raw(
            &app,
            "application/json",
            json!({ "query": deep }).to_string(),
        )
        .await;
        assert_eq!(first_error(&body).0, "BAD_USER_INPUT", "{body}");
    }
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_clear_errors() {
    let app = TestApp::spawn().await;
    let (status, body) = post_raw(&app, "application/json", "{ not json").await;
    assert_eq!(status, 400);
    assert_eq!(first_error(&body).0, "BAD_USER_INPUT");

    let (status, _) = post_raw(&app, "text/plain", "{ services { totalCount } }").await;
    assert_eq!(status, 415);

    let huge =
        json!({ "query": format!("{{ __typename }} # {}", "x".repeat(70 * 1024)) }).to_string();
    let (status, _) = post_raw(&app, "application/json", huge).await;
    assert_eq!(status, 413);

    for query in [
        "{ services {",
        "{ nope }",
        "query { services(first: \"ten\") { totalCount } }",
        "}}}",
    ] {
        let (code, _) = app.error(query, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{query}");
    }
    assert_alive(&app).await;
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let ready = app
        .client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["database"], "ok");
    assert!(app.metric("signpost_db_statements_total").await > 0);
}
