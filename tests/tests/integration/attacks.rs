//! Requests crafted to crash, stall or bloat the server, and inputs at the edge of every range:
//! each gets a clear error, and the server stays up and quick.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::{TestApp, first_error};

/// `levels` of `open`, a `1`, and `levels` of `close`.
fn nested(open: &str, close: &str, levels: usize) -> String {
    format!("{}1{}", open.repeat(levels), close.repeat(levels))
}

async fn post_body(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app.client.post(app.url("/graphql")).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn assert_alive(app: &TestApp) {
    let started = Instant::now();
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "healthz took {:?}",
        started.elapsed()
    );
    let data = app
        .data("{ services(first: 1) { totalCount } }", json!({}))
        .await;
    assert!(
        data["services"]["totalCount"]
            .as_u64()
            .is_some_and(|n| n > 0)
    );
}

/// Asserts a refusal with BAD_USER_INPUT (at HTTP 200 or a 4xx).
fn assert_refused(status: u16, body: &Value, what: &str) {
    assert!(
        status == 200 || (400..500).contains(&status),
        "{what}: status {status}: {body}"
    );
    assert_eq!(first_error(body).0, "BAD_USER_INPUT", "{what}: {body}");
}

#[tokio::test]
async fn nesting_hidden_behind_any_line_terminator_is_refused_everywhere() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let depth = 5_000;
    for terminator in ["\n", "\r\n", "\r"] {
        let comment = format!("# a comment{terminator}");
        let list = nested("[", "]", depth);
        let object = nested("{a: ", "}", depth);
        let documents = [
            format!("{comment}{{ services(filter: {{ categories: {list} }}) {{ totalCount }} }}"),
            format!("{comment}query($v: [[ID]] = {list}) {{ __typename }}"),
            format!("{comment}{{ __typename @skip(if: {object}) }}"),
            format!("{comment}mutation {{ importOpenReferral(document: {object}) {{ created }} }}"),
            format!("\u{feff}{comment}{{ services(first: 1) {{ totalCount }} }} {list}"),
        ];
        for document in &documents {
            let what = format!("{terminator:?} {}", &document[..60.min(document.len())]);
            let (status, body) = post_body(&app, Some(&admin), &json!({ "query": document })).await;
            assert_refused(status, &body, &what);

            // The same by GET, where a GET may carry it.
            let response = app
                .client
                .get(app.url("/graphql"))
                .query(&[("query", document.as_str())])
                .send()
                .await
                .expect("the server answers a GET");
            let status = response.status().as_u16();
            assert!(
                (400..500).contains(&status) || status == 200,
                "{what}: {status}"
            );
        }
    }
    // Strings the parser ends differently from a naive scan.
    let list = nested("[", "]", depth);
    for trick in [
        format!("{{ a(b: \"x\\\"\", c: {list}) }}"),
        format!("{{ a(b: \"\"\" \\\"\"\" \"\"\", c: {list}) }}"),
        format!("{{ a(b: \"\"\"\n{list}) }}"),
        format!("{{ a(b: \"unterminated\r{list}) }}"),
    ] {
        let (status, body) = post_body(&app, None, &json!({ "query": trick })).await;
        assert_refused(status, &body, &trick[..40]);
    }
    assert_alive(&app).await;
}

#[tokio::test]
async fn fragment_bombs_are_refused_before_validation_and_health_stays_quick() {
    let app = TestApp::spawn().await;
    // Ten fragments, each spreading the one before ten times: 10^9 selections once expanded.
    let mut bomb = String::from("query { ...F9 }\nfragment F0 on Query { __typename }\n");
    for n in 1..10 {
        let spreads = format!("...F{} ", n - 1).repeat(10);
        bomb.push_str(&format!("fragment F{n} on Query {{ {spreads} }}\n"));
    }
    assert!(bomb.len() < 1_000, "a small document: {} bytes", bomb.len());
    let mut in_flight = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let request = app
            .client
            .post(app.url("/graphql"))
            .json(&json!({ "query": bomb }));
        in_flight.spawn(async move {
            let started = Instant::now();
            let body: Value = request
                .send()
                .await
                .expect("answered")
                .json()
                .await
                .expect("JSON");
            (started.elapsed(), body)
        });
    }
    assert_alive(&app).await;
    // A long chain of spreads: each is a level when the query runs.
    let chain = |links: usize| {
        let mut query = String::from("query { ...F0 }\n");
        for n in 0..links {
            query.push_str(&format!("fragment F{n} on Query {{ ...F{} }}\n", n + 1));
        }
        query.push_str(&format!(
            "fragment F{links} on Query {{ services(first: 1) {{ totalCount }} }}"
        ));
        query
    };
    let (code, message) = app.error(&chain(1_000), json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");
    assert!(message.contains("nested too deeply"), "{message}");
    let data = app.data(&chain(25), json!({})).await;
    assert!(data["services"]["totalCount"].as_u64().is_some(), "{data}");
    while let Some(done) = in_flight.join_next().await {
        let (took, body) = done.expect("the request task");
        let (code, message) = first_error(&body);
        assert_eq!(code, "BAD_USER_INPUT", "{body}");
        assert!(message.contains("expands"), "{message}");
        assert!(took < Duration::from_secs(5), "refused after {took:?}");
    }
}

#[tokio::test]
async fn list_fields_count_in_the_complexity_so_cycles_cannot_amplify() {
    let app = TestApp::spawn().await;
    // parent { children { ... } } through the taxonomy, as deep as the depth limit allows.
    let mut cycle = String::from("id name");
    for _ in 0..6 {
        cycle = format!("id name children {{ id name parent {{ {cycle} }} }}");
    }
    let query = format!("{{ taxonomyTerms {{ {cycle} }} }}");
    let (code, message) = app.error(&query, json!({})).await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.to_lowercase().contains("complex"), "{message}");

    // An ordinary tree and a page of services with their lists stay within the limit.
    app.data(
        "{ taxonomyTerms { id name children { id name children { id name } } } }",
        json!({}),
    )
    .await;
    app.data(
        "{ services(first: 100) { edges { node { id name locations { postcode } phones { number } \
         contacts { name } schedules { weekday } serviceAreas { name } taxonomyTerms { name } } } } }",
        json!({}),
    )
    .await;
    assert_alive(&app).await;
}

#[tokio::test]
async fn numbers_lists_strings_and_dates_at_the_edges_are_refused_or_clamped() {
    let app = TestApp::spawn().await;
    for days in [2_147_483_647_i64, 36_501, -1] {
        for query in [
            "query($d: Int) { services(filter: { verifiedWithinDays: $d }) { totalCount } }",
            "query($d: Int) { search(text: \"baby\", filter: { verifiedWithinDays: $d }) { totalCount } }",
        ] {
            let (code, message) = app.error(query, json!({ "d": days })).await;
            assert_eq!(code, "BAD_USER_INPUT", "{days}: {message}");
            assert!(message.contains("verifiedWithinDays"), "{message}");
        }
    }
    app.data(
        "{ services(filter: { verifiedWithinDays: 36500 }) { totalCount } }",
        json!({}),
    )
    .await;

    // Long lists of repeats are taken once each; too many different values are refused.
    let modes: Vec<&str> = ["HOME_VISIT", "GROUP", "ONLINE"].repeat(333);
    let audiences: Vec<&str> = ["MOTHERS", "FATHERS"].repeat(1_000);
    let languages: Vec<&str> = ["en", "pl"].repeat(500);
    for query in [
        "query($m: [DeliveryMode!], $a: [Audience!], $l: [String!]) { services(filter: { deliveryModes: $m, audiences: $a, languages: $l }) { totalCount } }",
        "query($m: [DeliveryMode!], $a: [Audience!], $l: [String!]) { search(text: \"group\", filter: { deliveryModes: $m, audiences: $a, languages: $l }) { totalCount } }",
    ] {
        app.data(query, json!({ "m": modes, "a": audiences, "l": languages }))
            .await;
    }
    let many: Vec<String> = validate_codes().take(60).collect();
    let (code, message) = app
        .error(
            "query($l: [String!]) { services(filter: { languages: $l }) { totalCount } }",
            json!({ "l": many }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("filter.languages"), "{message}");

    // Control characters, by variable and in the document.
    let (code, _) = app
        .error(
            "mutation($e: String!) { login(email: $e, password: \"whatever it is\") { token } }",
            json!({ "e": "someone\u{0}@example.org" }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (code, _) = app
        .error(
            "{ search(text: \"baby\\u0000\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");

    // Dates in impossible years.
    let (code, message) = app
        .error(
            "query($t: DateTime) { events(from: $t) { totalCount } }",
            json!({ "t": "+10000-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");

    // The Open Referral face: pages and dates out of range are a 400, never a 500.
    for path in [
        "/openreferral/organizations?page=9223372036854775807",
        "/openreferral/taxonomies?page=9223372036854775807",
        "/openreferral/services?page=9223372036854775807",
        "/openreferral/taxonomy_terms?page=18446744073709551615",
        "/openreferral/services?per_page=9223372036854775807",
        "/openreferral/services?modified_after=10000-01-01",
        "/openreferral/services?modified_after=%2B10000-01-01T00:00:00Z",
    ] {
        let response = app
            .client
            .get(app.url(path))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status().as_u16(), 400, "{path}");
    }
    // A page past the end is an empty page.
    let response = app
        .client
        .get(app.url("/openreferral/organizations?page=1000000"))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["empty"], true, "{body}");
    assert_alive(&app).await;
}

/// Distinct two-letter codes.
fn validate_codes() -> impl Iterator<Item = String> {
    (b'a'..=b'z').flat_map(|a| (b'a'..=b'z').map(move |b| format!("{}{}", a as char, b as char)))
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::spawn().await;
    let token = app.partner_token().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let response = app
            .client
            .post(app.url("/graphql"))
            .header("authorization", format!("{scheme} {token}"))
            .json(&json!({ "query": "{ me { role } }" }))
            .send()
            .await
            .expect("answered");
        assert_eq!(response.status().as_u16(), 200, "{scheme}");
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["data"]["me"]["role"], "PARTNER", "{scheme}: {body}");
    }
    let response = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", format!("Basic {token}"))
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 401);
}

#[tokio::test]
async fn failed_logins_elsewhere_cannot_lock_the_owner_out() {
    let app = TestApp::spawn().await;
    let email = format!("lead-{}@example.org", uuid::Uuid::new_v4().simple());
    let password = "the owner's long pass phrase";
    signpost_api::store::accounts::create_user(
        &app.db,
        &email,
        password,
        entity::Role::Admin,
        None,
    )
    .await
    .expect("the account");
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";
    // Guesses from another address (127.0.0.2 is loopback too).
    let attacker = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("a client");
    let mut codes = Vec::new();
    for guess in 0..8 {
        let body: Value = attacker
            .post(app.url("/graphql"))
            .json(&json!({ "query": login, "variables": { "e": email, "p": format!("guess {guess}") } }))
            .send()
            .await
            .expect("answered")
            .json()
            .await
            .expect("JSON");
        codes.push(first_error(&body).0);
    }
    assert_eq!(
        codes.last().map(String::as_str),
        Some("RATE_LIMITED"),
        "{codes:?}"
    );

    // The owner, from their own address, still signs in.
    let data = app.data(login, json!({ "e": email, "p": password })).await;
    assert!(data["login"]["token"].is_string(), "{data}");
    // The attacker stays locked out, even with the right password.
    let body: Value = attacker
        .post(app.url("/graphql"))
        .json(&json!({ "query": login, "variables": { "e": email, "p": password } }))
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("JSON");
    assert_eq!(first_error(&body).0, "RATE_LIMITED", "{body}");
}

#[tokio::test]
async fn an_alias_flood_of_searches_is_refused_as_too_complex() {
    let app = TestApp::spawn().await;
    let text = "baby ".repeat(90);
    let one = |n: usize| format!("s{n}: search(text: \"{text}\", first: 1) {{ totalCount }}");
    let flood: Vec<String> = (0..30).map(one).collect();
    let (code, message) = app
        .error(&format!("{{ {} }}", flood.join(" ")), json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.to_lowercase().contains("complex"), "{message}");
    // A few searches in one document are fine.
    let few: Vec<String> = (0..3).map(one).collect();
    app.data(&format!("{{ {} }}", few.join(" ")), json!({}))
        .await;
}

#[tokio::test]
async fn introspection_cannot_multiply_a_response() {
    let app = TestApp::spawn().await;
    // fields { type { ofType { fields { ... } } } }: each level multiplies by a type's fields.
    let mut chain = String::from("name");
    // Within the depth limit, so only the introspection bound refuses it.
    for _ in 0..3 {
        chain = format!(
            "name fields {{ name type {{ name fields {{ {chain} }} ofType {{ name fields {{ {chain} }} }} }} }}"
        );
    }
    for query in [
        format!("{{ __schema {{ types {{ {chain} }} }} }}"),
        format!("{{ __type(name: \"Service\") {{ {chain} }} }}"),
    ] {
        let started = Instant::now();
        let (code, message) = app.error(&query, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{message}");
        assert!(message.contains("introspection"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // Aliased copies of the whole schema.
    let copies: Vec<String> = (0..50)
        .map(|n| format!("s{n}: __schema {{ types {{ name fields {{ name args {{ name }} }} }} }}"))
        .collect();
    let (code, message) = app
        .error(&format!("{{ {} }}", copies.join(" ")), json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT", "{message}");
    assert!(message.contains("introspection"), "{message}");

    // The standard introspection query (as GraphiQL sends it) still works.
    let standard = "query IntrospectionQuery { __schema { queryType { name } mutationType { name } \
        subscriptionType { name } types { ...FullType } directives { name description locations \
        args { ...InputValue } } } } \
        fragment FullType on __Type { kind name description fields(includeDeprecated: true) { \
        name description args { ...InputValue } type { ...TypeRef } isDeprecated \
        deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } \
        enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } \
        possibleTypes { ...TypeRef } } \
        fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue } \
        fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { \
        kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }";
    let data = app.data(standard, json!({})).await;
    assert!(
        data["__schema"]["types"]
            .as_array()
            .is_some_and(|t| t.len() > 20)
    );
    assert_alive(&app).await;
}
