//! `search`, `suggest`, `geocode` and `events(near:)` through GraphQL.

use std::collections::HashSet;

use serde_json::{Value, json};
use tests::TestApp;

const SEARCH: &str = r#"
query($text: String, $filter: ServiceFilter, $near: NearInput, $sort: SearchSort, $first: Int, $after: String) {
  search(text: $text, filter: $filter, near: $near, sort: $sort, first: $first, after: $after) {
    totalCount
    edges { cursor score distanceKm highlights { field snippet }
            node { id name status assuredDate locations { latitude longitude } serviceAreas { kind } } }
    pageInfo { hasNextPage endCursor }
    facets {
      categories { value label count } levelOfNeed { value label count } audiences { value label count }
      deliveryModes { value label count } referralRoutes { value label count }
    }
  }
}"#;

async fn search(app: &TestApp, vars: Value) -> Value {
    app.data(SEARCH, vars).await["search"].clone()
}

/// Every hit of a search, page by page.
async fn all_hits(app: &TestApp, mut vars: Value, page: i64) -> (u64, Vec<Value>) {
    vars["first"] = json!(page);
    let mut hits = Vec::new();
    loop {
        let result = search(app, vars.clone()).await;
        hits.extend(result["edges"].as_array().into_iter().flatten().cloned());
        if result["pageInfo"]["hasNextPage"] != true {
            return (result["totalCount"].as_u64().unwrap_or_default(), hits);
        }
        vars["after"] = result["pageInfo"]["endCursor"].clone();
    }
}

fn names(edges: &[Value]) -> Vec<String> {
    edges
        .iter()
        .filter_map(|e| e["node"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn text_search_ranks_highlights_and_counts_facets_over_all_matches() {
    let app = TestApp::spawn().await;
    let result = search(&app, json!({ "text": "postnatal depression", "first": 5 })).await;
    let total = result["totalCount"].as_u64().expect("total");
    assert!(total > 5, "{total}");
    let edges = result["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 5);
    let scores: Vec<f64> = edges.iter().filter_map(|e| e["score"].as_f64()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "scores descend: {scores:?}"
    );
    assert!(edges[0]["highlights"].as_array().is_some_and(|h| {
        h.iter()
            .any(|h| h["snippet"].as_str().is_some_and(|s| s.contains("<b>")))
    }));
    // Facets cover the whole result set, not the page.
    let level_sum: i64 = result["facets"]["levelOfNeed"]
        .as_array()
        .expect("facet")
        .iter()
        .filter_map(|f| f["count"].as_i64())
        .sum();
    assert_eq!(u64::try_from(level_sum).ok(), Some(total));
    let referral = result["facets"]["referralRoutes"]
        .as_array()
        .expect("facet");
    assert!(
        referral
            .iter()
            .any(|f| f["value"] == "SELF" && f["label"] == "Self-referral")
    );
    let categories = result["facets"]["categories"].as_array().expect("facet");
    assert!(categories.iter().all(|f| {
        f["label"]
            .as_str()
            .is_some_and(|l| !l.is_empty() && l != f["value"])
    }));
    assert!(
        edges.iter().all(|e| e["node"]["status"] == "ACTIVE"),
        "default statuses: ACTIVE"
    );
}

#[tokio::test]
async fn cursors_page_through_search_results_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    for vars in [
        json!({ "text": "support for parents" }),
        json!({ "sort": "NAME" }),
        json!({ "near": { "postcode": "M33 7XW" }, "sort": "DISTANCE" }),
        json!({ "sort": "RECENTLY_VERIFIED" }),
    ] {
        let (total, small) = all_hits(&app, vars.clone(), 4).await;
        let (_, big) = all_hits(&app, vars.clone(), 100).await;
        let ids = |hits: &[Value]| {
            hits.iter()
                .map(|h| h["node"]["id"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&small), ids(&big), "{vars}");
        assert_eq!(small.len() as u64, total, "{vars}");
        let unique: HashSet<String> = small
            .iter()
            .filter_map(|h| h["node"]["id"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(unique.len(), small.len());
    }
    // Sorted by name when asked, whatever the text.
    let (_, by_name) = all_hits(&app, json!({ "sort": "NAME" }), 100).await;
    let listed = names(&by_name);
    let mut sorted = listed.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(listed, sorted);
    // A cursor of another sort is refused.
    let first = search(&app, json!({ "sort": "NAME", "first": 1 })).await;
    let body = app
        .graphql(SEARCH, json!({ "sort": "DISTANCE", "near": { "postcode": "GL50 1AA" }, "after": first["pageInfo"]["endCursor"] }))
        .await;
    assert_eq!(tests::first_error(&body).0, "BAD_USER_INPUT");
}

#[tokio::test]
async fn distance_radius_and_catchments() {
    let app = TestApp::spawn().await;
    let near = json!({ "postcode": "GL50 3AB", "radiusKm": 15 });
    let (total, hits) = all_hits(&app, json!({ "near": near, "sort": "DISTANCE" }), 50).await;
    assert!(total > 3);
    let mut last = 0.0;
    let mut seen_null = false;
    for hit in &hits {
        match hit["distanceKm"].as_f64() {
            Some(km) => {
                assert!(!seen_null, "services without a location sort last");
                assert!(km <= 15.0 + 1e-9 && km >= last, "{km} after {last}");
                last = km;
            }
            None => {
                seen_null = true;
                assert!(
                    hit["node"]["locations"]
                        .as_array()
                        .is_some_and(Vec::is_empty)
                );
                assert!(
                    !hit["node"]["serviceAreas"]
                        .as_array()
                        .is_some_and(Vec::is_empty),
                    "kept by its catchment"
                );
            }
        }
    }
    assert!(
        seen_null,
        "national and online services cover Cheltenham and stay in"
    );
    let (_, wide) = all_hits(
        &app,
        json!({ "near": { "postcode": "GL50 3AB", "radiusKm": 200 } }),
        100,
    )
    .await;
    assert!(wide.len() > hits.len());

    // Catchment: services covering a Sale postcode include Trafford's and national ones, and no
    // Gloucestershire-only service.
    let (_, sale) = all_hits(
        &app,
        json!({ "filter": { "coversPostcode": "M33 7XW" } }),
        100,
    )
    .await;
    let sale_names = names(&sale);
    assert!(!sale_names.is_empty());
    let (_, glos) = all_hits(
        &app,
        json!({ "filter": { "coversPostcode": "GL50 3AB" } }),
        100,
    )
    .await;
    let glos_names: HashSet<String> = names(&glos).into_iter().collect();
    let shared: Vec<&String> = sale_names
        .iter()
        .filter(|n| glos_names.contains(*n))
        .collect();
    for hit in sale
        .iter()
        .filter(|h| glos_names.contains(h["node"]["name"].as_str().unwrap_or_default()))
    {
        assert!(
            hit["node"]["serviceAreas"]
                .as_array()
                .is_some_and(|a| a.iter().any(|k| k["kind"] == "NATIONAL")),
            "only national services cover both Sale and Cheltenham: {shared:?}"
        );
    }
    // services(filter: coversPostcode) agrees with search.
    let listed = app
        .data(
            "{ services(filter: { coversPostcode: \"M33 7XW\" }, first: 100) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        listed["services"]["totalCount"].as_u64(),
        Some(sale.len() as u64)
    );
}

#[tokio::test]
async fn freshness_filter_and_geocoding() {
    let app = TestApp::spawn().await;
    let (all, _) = all_hits(&app, json!({}), 100).await;
    let (fresh, hits) = all_hits(
        &app,
        json!({ "filter": { "verifiedWithinDays": 365 } }),
        100,
    )
    .await;
    assert!(fresh < all, "stale listings are filtered out");
    let today = chrono::Utc::now().date_naive();
    for hit in hits {
        let assured = hit["node"]["assuredDate"]
            .as_str()
            .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
        assert!(assured.is_some_and(|d| (today - d).num_days() <= 365));
    }

    let point = app
        .data(
            "{ geocode(postcode: \"gl519aa\") { postcode latitude longitude precision } }",
            json!({}),
        )
        .await;
    assert_eq!(point["geocode"]["postcode"], "GL51 9AA");
    assert_eq!(point["geocode"]["precision"], "SECTOR");
    let district = app
        .data("{ geocode(postcode: \"M33\") { precision } }", json!({}))
        .await;
    assert_eq!(district["geocode"]["precision"], "DISTRICT");
    let (code, message) = app
        .error(
            "{ geocode(postcode: \"hello world\") { postcode } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (code.as_str(), message.contains("not a UK postcode")),
        ("BAD_USER_INPUT", true),
        "{message}"
    );
    let (code, message) = app
        .error(
            "{ geocode(postcode: \"ZZ99 9ZZ\") { postcode } }",
            json!({}),
        )
        .await;
    assert_eq!(
        (code.as_str(), message.contains("unknown postcode")),
        ("BAD_USER_INPUT", true),
        "{message}"
    );
}

#[tokio::test]
async fn suggestions_complete_terms_and_names() {
    let app = TestApp::spawn().await;
    let data = app.data("{ a: suggest(prefix: \"peri\") b: suggest(prefix: \"home-st\", limit: 3) c: suggest(prefix: \"zzzz\") }", json!({})).await;
    let a: Vec<&str> = data["a"]
        .as_array()
        .expect("a")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(!a.is_empty() && a.len() <= 8);
    assert!(a.iter().all(|s| s.to_lowercase().contains("peri")), "{a:?}");
    assert!(data["b"].as_array().is_some_and(|b| b.len() <= 3));
    assert_eq!(data["c"], json!([]));
}

#[tokio::test]
async fn typed_suggestions_say_what_they_name_and_their_ids_resolve() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            "{ typed: suggestions(prefix: \"baby\") { text kind id } plain: suggest(prefix: \"baby\") terms: taxonomyTerms { id name } }",
            json!({}),
        )
        .await;
    let typed = data["typed"].as_array().expect("suggestions");
    assert_eq!(typed.len(), 8, "{typed:?}");
    // The same texts, in the same order, as `suggest`.
    let texts: Vec<&Value> = typed.iter().map(|s| &s["text"]).collect();
    assert_eq!(
        texts,
        data["plain"]
            .as_array()
            .expect("suggest")
            .iter()
            .collect::<Vec<_>>()
    );
    let kinds: Vec<&str> = typed.iter().filter_map(|s| s["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"CATEGORY") && kinds.contains(&"SERVICE"),
        "{kinds:?}"
    );
    // Terms first, then services.
    let first_service = kinds.iter().position(|k| *k == "SERVICE").unwrap_or(0);
    assert!(
        kinds[first_service..].iter().all(|k| *k == "SERVICE"),
        "{kinds:?}"
    );
    let terms = data["terms"].as_array().expect("terms");
    for suggestion in typed {
        let id = suggestion["id"].as_str().expect("an id");
        match suggestion["kind"].as_str() {
            Some("CATEGORY") => assert!(
                terms
                    .iter()
                    .any(|t| t["id"] == id && t["name"] == suggestion["text"]),
                "{suggestion}"
            ),
            Some("SERVICE") => {
                let found = app
                    .data(
                        "query($id: ID!) { service(id: $id) { name status } }",
                        json!({ "id": id }),
                    )
                    .await;
                assert_eq!(found["service"]["name"], suggestion["text"], "{suggestion}");
                assert_eq!(found["service"]["status"], "ACTIVE");
            }
            other => panic!("unexpected kind {other:?}"),
        }
    }
    // Bad input as `suggest` answers it.
    for (query, needle) in [
        (
            "{ suggestions(prefix: \"ba\", limit: 0) { text } }",
            "limit",
        ),
        (
            "{ suggestions(prefix: \"ba\", limit: -1) { text } }",
            "limit",
        ),
        (
            "{ suggestions(prefix: \"ba\", limit: 100000) { text } }",
            "limit",
        ),
    ] {
        let (code, message) = app.error(query, json!({})).await;
        assert_eq!(code, "BAD_USER_INPUT", "{query}");
        assert!(message.contains(needle), "{query}: {message}");
        let plain = query
            .replace("suggestions", "suggest")
            .replace(" { text }", "");
        let (code, plain_message) = app.error(&plain, json!({})).await;
        assert_eq!((code.as_str(), plain_message), ("BAD_USER_INPUT", message));
    }
    let long = "x".repeat(101);
    let (code, message) = app
        .error(
            "query($p: String!) { suggestions(prefix: $p) { text } }",
            json!({ "p": long }),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("prefix"), "{message}");
    let empty = app
        .data(
            "{ a: suggestions(prefix: \"\") { text } b: suggestions(prefix: \"  \") { text } c: suggestions(prefix: \"zzzz\") { text } }",
            json!({}),
        )
        .await;
    assert_eq!(empty, json!({ "a": [], "b": [], "c": [] }));
}

#[tokio::test]
async fn the_languages_facet_counts_what_filtering_by_each_language_finds() {
    let app = TestApp::spawn().await;
    let query = "query($text: String, $filter: ServiceFilter) { search(text: $text, filter: $filter, first: 1) { totalCount facets { languages { value label count } } } }";
    for (text, filter) in [
        (None, json!({})),
        (Some("baby"), json!({})),
        (None, json!({ "levelOfNeed": ["UNIVERSAL", "TARGETED"] })),
    ] {
        let found = app
            .data(query, json!({ "text": text, "filter": filter }))
            .await;
        let total = found["search"]["totalCount"].as_i64().expect("total");
        let languages = found["search"]["facets"]["languages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(languages.len() >= 3, "{text:?} {filter}: {languages:?}");
        let counts: Vec<i64> = languages
            .iter()
            .filter_map(|l| l["count"].as_i64())
            .collect();
        assert!(
            counts.windows(2).all(|w| w[0] >= w[1]),
            "largest first: {counts:?}"
        );
        for language in &languages {
            let code = language["value"].as_str().expect("a code");
            let name = entity::codes::language_by_code(code)
                .map(|l| l.english)
                .unwrap_or_else(|| panic!("{code} is not ISO 639-1"));
            assert_eq!(language["label"], name);
            let count = language["count"].as_i64().expect("a count");
            assert!(count > 0 && count <= total, "{language}");
            let mut narrowed = filter.clone();
            narrowed["languages"] = json!([code]);
            let by_language = app
                .data(query, json!({ "text": text, "filter": narrowed }))
                .await;
            assert_eq!(
                by_language["search"]["totalCount"].as_i64(),
                Some(count),
                "{text:?} {filter} {code}"
            );
        }
    }
    // A language no service offers is not listed, and finds nothing.
    let found = app
        .data(query, json!({ "filter": { "languages": ["kl"] } }))
        .await;
    assert_eq!(found["search"]["totalCount"], 0);
    assert_eq!(found["search"]["facets"]["languages"], json!([]));
}

#[tokio::test]
async fn bad_search_input_gets_clear_errors_or_sensible_results() {
    let app = TestApp::spawn().await;
    for (vars, needle) in [
        (
            json!({ "near": { "postcode": "not a postcode" } }),
            "not a UK postcode",
        ),
        (
            json!({ "near": { "postcode": "ZZ99 9ZZ" } }),
            "unknown postcode",
        ),
        (
            json!({ "filter": { "coversPostcode": "12345" } }),
            "not a UK postcode",
        ),
        (
            json!({ "near": { "postcode": "GL50 3AB", "radiusKm": -5 } }),
            "radiusKm",
        ),
        (json!({ "near": { "latitude": 51.9 } }), "near"),
        (
            json!({ "near": { "latitude": 951.9, "longitude": 2.0 } }),
            "latitude",
        ),
        (
            json!({ "filter": { "infantAgeMonths": 9000 } }),
            "infantAgeMonths",
        ),
        (
            json!({ "filter": { "infantAgeMonths": -2 } }),
            "infantAgeMonths",
        ),
        (json!({ "first": 101 }), "first"),
        (json!({ "after": "garbage" }), "cursor"),
        (json!({ "sort": "DISTANCE" }), "near"),
        (json!({ "text": "x".repeat(600) }), "text"),
    ] {
        let body = app.graphql(SEARCH, vars.clone()).await;
        let (code, message) = tests::first_error(&body);
        assert_eq!(code, "BAD_USER_INPUT", "{vars}");
        assert!(message.contains(needle), "{vars}: {message}");
    }
    for text in [
        "\"unbalanced",
        "dad:",
        "(low mood",
        "baby*",
        "[PND]",
        "a AND OR NOT",
        "\\",
        "{}",
        "''''",
        "💙 perinatal",
    ] {
        let result = search(&app, json!({ "text": text })).await;
        assert!(result["totalCount"].as_u64().is_some(), "{text}");
    }
}

#[tokio::test]
async fn events_near_a_family_in_the_next_two_weeks() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();
    let vars = json!({
        "near": { "postcode": "GL50 3AB", "radiusKm": 40 },
        "from": now.to_rfc3339(),
        "to": (now + chrono::Duration::days(14)).to_rfc3339(),
    });
    let data = app
        .data(
            "query($near: NearInput, $from: DateTime, $to: DateTime) { events(near: $near, from: $from, to: $to, first: 50) { totalCount edges { distanceKm node { title startsAt placeName } } } }",
            vars,
        )
        .await;
    let edges = data["events"]["edges"].as_array().expect("edges");
    assert!(edges.len() >= 4, "the information bus stops: {edges:?}");
    let starts: Vec<&str> = edges
        .iter()
        .filter_map(|e| e["node"]["startsAt"].as_str())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted);
    assert!(
        edges
            .iter()
            .all(|e| e["distanceKm"].as_f64().is_some_and(|d| d <= 40.0))
    );
    let (code, _) = app
        .error(
            "{ events(near: { postcode: \"GL50 3AB\", radiusKm: 0 }) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}
