//! Result pages and readers' fetches by id are answered from the cards stored in the search
//! index: the same values as the database, no SQL statement for what a card holds, and a card
//! follows edits to the listing and to its organisation.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tests::TestApp;

use crate::browse::SERVICE_FIELDS;

/// What a search result card on the web client and the benchmark's fetch ask for: all of it
/// is on the card.
const CARD_FIELDS: &str = r#"
  id name alternateName description url email status levelOfNeed
  eligibility { fromPregnancy minAgeMonths maxAgeMonths audiences description }
  referral { selfReferral professionalReferral instructions }
  deliveryModes languages free feesDescription assuredDate version
  organization { id name }
  serviceAreas { kind name postcodePrefix }
  locations { name address1 city postcode latitude longitude accessibility }
  phones { number description visibility }
  taxonomyTerms { id code name parent { code name } }
"#;

async fn statements(app: &TestApp) -> u64 {
    app.metric("signpost_db_statements_total").await
}

#[tokio::test]
async fn search_results_hold_the_same_values_as_the_database() {
    let app = TestApp::spawn().await;
    let partner = app.partner_token().await;
    let admin = app.admin_token().await;
    let query = format!(
        "{{ search(first: 100, filter: {{ statuses: [ACTIVE, INACTIVE, DEFUNCT, TEMPORARILY_CLOSED] }}) \
         {{ edges {{ node {{ {SERVICE_FIELDS} }} }} }} }}"
    );
    let found = app.data_as(Some(&partner), &query, json!({})).await;
    let nodes = found["search"]["edges"].as_array().expect("edges").clone();
    assert!(nodes.len() > 10, "the demo directory: {}", nodes.len());
    let one = format!("query($id: ID!) {{ service(id: $id) {{ {SERVICE_FIELDS} }} }}");
    for edge in nodes {
        let node = &edge["node"];
        let id = node["id"].as_str().expect("id");
        // Admins read the database; a partner's fetch reads the card.
        let stored = app.data_as(Some(&admin), &one, json!({ "id": id })).await;
        assert_eq!(node, &stored["service"], "search result {id}");
        let fetched = app.data_as(Some(&partner), &one, json!({ "id": id })).await;
        assert_eq!(&fetched["service"], &stored["service"], "fetch by id {id}");
    }
}

#[tokio::test]
async fn a_result_page_and_a_fetch_by_id_read_no_database_rows() {
    let app = TestApp::spawn().await;
    let search = format!(
        "{{ search(text: \"baby\", first: 20) {{ totalCount \
         facets {{ categories {{ value label count }} levelOfNeed {{ value count }} }} \
         edges {{ node {{ {CARD_FIELDS} }} }} }} }}"
    );
    // The first request warms what is read once (the access log's and the schema's).
    let first = app.data(&search, json!({})).await;
    let edges = first["search"]["edges"].as_array().expect("edges").clone();
    assert!(!edges.is_empty());
    assert!(
        first["search"]["facets"]["categories"]
            .as_array()
            .is_some_and(|c| c.iter().all(|f| f["label"] != f["value"])),
        "every category facet is labelled with its term's name: {}",
        first["search"]["facets"]["categories"]
    );
    // A listing by catchment is answered by the index, from the cards too.
    let by_catchment = format!(
        "{{ services(filter: {{ coversPostcode: \"M33 7XW\" }}, first: 20) {{ totalCount \
         edges {{ node {{ {CARD_FIELDS} }} }} }} }}"
    );
    let listed = app.data(&by_catchment, json!({})).await;
    assert!(
        listed["services"]["edges"]
            .as_array()
            .is_some_and(|e| !e.is_empty()),
        "{listed}"
    );
    // So is any reader's listing.
    let by_level = format!(
        "{{ services(filter: {{ levelOfNeed: [TARGETED, SPECIALIST] }}, first: 20) {{ totalCount \
         edges {{ node {{ {CARD_FIELDS} }} }} pageInfo {{ endCursor }} }} }}"
    );
    let by_level_page = app.data(&by_level, json!({})).await;
    assert!(
        by_level_page["services"]["totalCount"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{by_level_page}"
    );
    // A search asking for its total or cursors only reads no listing at all.
    let counted = "{ search(text: \"baby\") { totalCount } \
        cursors: search(text: \"baby\", first: 5) { edges { cursor } pageInfo { endCursor } } }";
    let counted_page = app.data(counted, json!({})).await;
    assert_eq!(
        counted_page["search"]["totalCount"],
        first["search"]["totalCount"]
    );
    assert_eq!(
        counted_page["cursors"]["edges"].as_array().map(Vec::len),
        Some(5),
        "{counted_page}"
    );
    let before = statements(&app).await;
    assert_eq!(app.data(counted, json!({})).await, counted_page);
    let again = app.data(&search, json!({})).await;
    assert_eq!(again, first);
    assert_eq!(app.data(&by_catchment, json!({})).await, listed);
    assert_eq!(app.data(&by_level, json!({})).await, by_level_page);
    let fetch = format!("query($id: ID!) {{ service(id: $id) {{ {CARD_FIELDS} }} }}");
    for edge in &edges {
        let got = app.data(&fetch, json!({ "id": edge["node"]["id"] })).await;
        assert_eq!(got["service"], edge["node"]);
    }
    assert_eq!(
        statements(&app).await - before,
        0,
        "a result page, listings and fetches of card fields run no SQL"
    );
    // Fields beyond the card are read from the database.
    let id = edges[0]["node"]["id"].clone();
    let before = statements(&app).await;
    let data = app
        .data(
            "query($id: ID!) { service(id: $id) { id contacts { name } schedules { weekday } } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(data["service"]["id"], id);
    assert!(statements(&app).await > before);
}

#[tokio::test]
async fn a_page_showing_fewer_fields_reads_less_of_its_cards_and_the_same_values() {
    let app = TestApp::spawn().await;
    let whole = format!(
        "{{ search(text: \"baby\", first: 20) {{ edges {{ node {{ {CARD_FIELDS} }} }} }} }}"
    );
    // Names and organisations only (the card's head), and one of the card's lists.
    let names = "{ search(text: \"baby\", first: 20) { edges { node { id name levelOfNeed \
        eligibility { audiences } organization { id name } } } } }";
    let places = "{ search(text: \"baby\", first: 20) { edges { node { id \
        locations { name postcode } } } } }";
    for query in [whole.as_str(), names, places] {
        app.data(query, json!({})).await;
    }
    let before = statements(&app).await;
    let whole_page = app.data(&whole, json!({})).await;
    let names_page = app.data(names, json!({})).await;
    let places_page = app.data(places, json!({})).await;
    assert_eq!(
        statements(&app).await - before,
        0,
        "a page of any fields of the card runs no SQL"
    );
    let edges = |page: &Value| page["search"]["edges"].as_array().cloned().expect("edges");
    let (whole_edges, names_edges, places_edges) =
        (edges(&whole_page), edges(&names_page), edges(&places_page));
    assert!(!whole_edges.is_empty());
    assert_eq!(whole_edges.len(), names_edges.len());
    assert_eq!(whole_edges.len(), places_edges.len());
    for ((whole, names), places) in whole_edges.iter().zip(&names_edges).zip(&places_edges) {
        let (whole, names, places) = (&whole["node"], &names["node"], &places["node"]);
        assert_eq!(names["id"], whole["id"]);
        assert_eq!(names["name"], whole["name"]);
        assert_eq!(names["levelOfNeed"], whole["levelOfNeed"]);
        assert_eq!(
            names["eligibility"]["audiences"],
            whole["eligibility"]["audiences"]
        );
        assert_eq!(names["organization"], whole["organization"]);
        assert_eq!(places["id"], whole["id"]);
        let wanted: Vec<Value> = whole["locations"]
            .as_array()
            .expect("locations")
            .iter()
            .map(|l| json!({ "name": l["name"], "postcode": l["postcode"] }))
            .collect();
        assert_eq!(places["locations"], Value::Array(wanted));
    }
    assert!(
        whole_edges.iter().any(|e| e["node"]["locations"]
            .as_array()
            .is_some_and(|l| !l.is_empty())),
        "some result has a place"
    );
}

#[tokio::test]
async fn each_field_of_a_page_reads_the_same_whether_or_not_the_page_shows_the_cards_texts() {
    // A page that shows none of a listing's own texts (web address, email, eligibility and
    // referral texts, languages, ...) passes them over in its cards. Each field of a listing,
    // shown alone, must then read as it does beside a text (which has the cards read whole).
    let app = TestApp::spawn().await;
    let fields = [
        "__typename",
        "name",
        "alternateName",
        "description",
        "url",
        "email",
        "status",
        "levelOfNeed",
        "eligibility { fromPregnancy minAgeMonths maxAgeMonths audiences description }",
        "referral { selfReferral professionalReferral instructions }",
        "deliveryModes",
        "languages",
        "free",
        "feesDescription",
        "fundingSource",
        "fundingEndsOn",
        "assuredDate",
        "assurer",
        "lastModified",
        "version",
        "organization { id name description email website phone }",
        "locations { id name postcode }",
        "serviceAreas { kind name postcodePrefix }",
        "contacts { name email }",
        "phones { number description }",
        "schedules { weekday opensAt closesAt }",
        "taxonomyTerms { id code name }",
        "events { id }",
    ];
    let page = |node: &str| {
        format!(
            "{{ search(text: \"baby\", first: 30) {{ edges {{ distanceKm node {{ id {node} }} }} }} }}"
        )
    };
    let edges = |page: &Value| page["search"]["edges"].as_array().cloned().expect("edges");
    for field in fields {
        // A text beside it: the web address, or for that field the referral's instructions.
        let (text, key) = if field == "url" {
            ("referral { instructions }", "referral")
        } else {
            ("url", "url")
        };
        let alone = edges(&app.data(&page(field), json!({})).await);
        let beside = edges(&app.data(&page(&format!("{field} {text}")), json!({})).await);
        assert!(alone.len() > 5, "{field}: {alone:?}");
        assert_eq!(alone.len(), beside.len(), "{field}");
        for (alone, beside) in alone.iter().zip(&beside) {
            let mut beside = beside.clone();
            let node = beside["node"].as_object_mut().expect("a node");
            assert!(node.remove(key).is_some(), "{field}");
            assert_eq!(alone, &beside, "{field}");
        }
        let shown = |edge: &Value| {
            let name = field.split_whitespace().next().unwrap_or(field);
            match &edge["node"][name] {
                Value::Null | Value::Bool(false) => false,
                Value::String(text) => !text.is_empty(),
                Value::Array(items) => !items.is_empty(),
                _ => true,
            }
        };
        // (A field no listing of the page shows would compare nothing.)
        assert!(alone.iter().any(shown), "{field}: no listing shows it");
    }
}

#[tokio::test]
async fn descriptions_read_apart_from_the_cards_are_each_listings_own() {
    // The index reads a hit's description only for a page that shows it, or whose events'
    // `service` the page's rows answer: both must show the whole of each listing's own.
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();
    let window = json!({
        "from": now.to_rfc3339(),
        "to": (now + chrono::Duration::days(60)).to_rfc3339(),
    });
    let upcoming = app
        .data(
            "query($from: DateTime, $to: DateTime) { events(from: $from, to: $to, first: 100) \
             { edges { node { service { id name } } } } }",
            window.clone(),
        )
        .await;
    let with_events: Vec<(String, String)> = upcoming["events"]["edges"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            let service = &e["node"]["service"];
            (
                service["id"].as_str().expect("id").to_owned(),
                service["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    assert!(
        !with_events.is_empty(),
        "the demo directory has upcoming events"
    );
    let admin = app.admin_token().await;
    let described = "query($text: String) { search(text: $text, first: 50) { edges { node { \
        id description } } } }";
    let through_events = "query($text: String, $from: DateTime, $to: DateTime) { \
        search(text: $text, first: 50) { edges { node { id \
        events(from: $from, to: $to) { service { id description } } } } } }";
    let whole = "query($id: ID!) { service(id: $id) { description } }";
    let mut checked_events = 0;
    for text in ["baby", "postnatal depression", with_events[0].1.as_str()] {
        let page = app.data(described, json!({ "text": text })).await;
        let edges = page["search"]["edges"].as_array().expect("edges").clone();
        assert!(!edges.is_empty(), "{text}");
        let mut vars = window.clone();
        vars["text"] = json!(text);
        let evented = app.data(through_events, vars).await;
        for (edge, other) in edges
            .iter()
            .zip(evented["search"]["edges"].as_array().expect("edges"))
        {
            let id = &edge["node"]["id"];
            // Admins read the database.
            let stored = app.data_as(Some(&admin), whole, json!({ "id": id })).await;
            let description = &stored["service"]["description"];
            assert!(description.as_str().is_some_and(|d| !d.is_empty()), "{id}");
            assert_eq!(&edge["node"]["description"], description, "{text}: {id}");
            assert_eq!(&other["node"]["id"], id);
            for event in other["node"]["events"].as_array().expect("events") {
                assert_eq!(&event["service"]["id"], id);
                assert_eq!(
                    &event["service"]["description"], description,
                    "{text}: {id}"
                );
                checked_events += 1;
            }
        }
    }
    assert!(checked_events > 0, "some result had an upcoming event");
}

/// Polls `check` until it holds or five seconds pass.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let began = Instant::now();
    while !check().await {
        assert!(
            began.elapsed() < Duration::from_secs(5),
            "not within five seconds: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn cards_follow_edits_to_the_listing_and_its_organisation() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let found = app
        .data(
            "{ search(text: \"baby\", first: 1) { edges { node { id version organization { id name } } } } }",
            json!({}),
        )
        .await;
    let node = found["search"]["edges"][0]["node"].clone();
    let (service, organization) = (node["id"].clone(), node["organization"]["id"].clone());

    let renamed = app
        .data_as(
            Some(&admin),
            "mutation($id: ID!) { updateOrganization(id: $id, input: { name: \"Renamed Trust\" }) { name } }",
            json!({ "id": organization }),
        )
        .await;
    assert_eq!(renamed["updateOrganization"]["name"], "Renamed Trust");
    let by_id = "query($id: ID!) { service(id: $id) { version organization { name } } }";
    eventually("the card shows the organisation's new name", async || {
        let data = app.data(by_id, json!({ "id": service })).await;
        data["service"]["organization"]["name"] == "Renamed Trust"
    })
    .await;
    let searched = app
        .data(
            "{ search(text: \"Renamed Trust\", first: 50) { edges { node { id organization { name } } } } }",
            json!({}),
        )
        .await;
    let edges = searched["search"]["edges"].as_array().expect("edges");
    assert!(
        edges
            .iter()
            .any(|e| e["node"]["id"] == service
                && e["node"]["organization"]["name"] == "Renamed Trust"),
        "{searched}"
    );

    // Verifying the listing bumps its version; the mutation answers once searchable, so the
    // reader's next fetch already shows it.
    let verified = app
        .data_as(
            Some(&admin),
            "mutation($id: ID!) { verifyService(id: $id) { version assuredDate } }",
            json!({ "id": service }),
        )
        .await;
    let data: Value = app.data(by_id, json!({ "id": service })).await;
    assert_eq!(
        data["service"]["version"],
        verified["verifyService"]["version"]
    );
}

#[tokio::test]
async fn readers_do_not_see_listings_that_are_not_active_through_their_cards() {
    let app = TestApp::spawn().await;
    let partner = app.partner_token().await;
    let query = "{ search(first: 1, filter: { statuses: [DEFUNCT, INACTIVE, TEMPORARILY_CLOSED] }) { edges { node { id status } } } }";
    let found = app.data_as(Some(&partner), query, json!({})).await;
    let Some(node) = found["search"]["edges"][0]["node"].as_object().cloned() else {
        // The demo directory always holds a listing that is not active.
        panic!("no listing that is not active: {found}");
    };
    let by_id = "query($id: ID!) { service(id: $id) { id status } }";
    let anonymous = app.data(by_id, json!({ "id": node["id"] })).await;
    assert_eq!(anonymous["service"], Value::Null);
    let seen = app
        .data_as(Some(&partner), by_id, json!({ "id": node["id"] }))
        .await;
    assert_eq!(seen["service"]["status"], node["status"]);
}

/// Every page of `services(filter)` as `token` reads it, `first` at a time: the nodes in order
/// and the total.
async fn listing(app: &TestApp, token: &str, filter: &Value, first: i32) -> (Vec<Value>, u64) {
    let query = format!(
        "query($after: String, $first: Int!, $filter: ServiceFilter) {{ \
         services(first: $first, after: $after, filter: $filter) {{ totalCount \
         edges {{ node {{ {SERVICE_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    let mut after = Value::Null;
    let mut nodes = Vec::new();
    loop {
        let data = app
            .data_as(
                Some(token),
                &query,
                json!({ "after": after, "first": first, "filter": filter }),
            )
            .await;
        let page = &data["services"];
        let edges = page["edges"].as_array().expect("edges");
        assert!(edges.len() <= usize::try_from(first).unwrap_or_default());
        nodes.extend(edges.iter().map(|e| e["node"].clone()));
        let total = page["totalCount"].as_u64().expect("totalCount");
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            return (nodes, total);
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn a_readers_listing_is_the_databases_listing_from_the_cards() {
    let app = TestApp::spawn().await;
    let partner = app.partner_token().await;
    let admin = app.admin_token().await;
    // A feed's listing that says nothing of pregnancy or ages: a search asking for pregnancy
    // keeps it (marked unconfirmed), a list of services open from pregnancy does not.
    let imported = app
        .data_as(
            Some(&admin),
            "mutation($document: JSON!) { importOpenReferral(document: $document) { failed { message } } }",
            json!({ "document": [{
                "id": "00000000-0000-4000-8000-0000000000a1",
                "name": "Eastfield parent line",
                "description": "A telephone line for parents who need to talk.",
                "organization": { "id": "00000000-0000-4000-8000-0000000000a0", "name": "Eastfield Trust" }
            }] }),
        )
        .await;
    assert_eq!(
        imported["importOpenReferral"]["failed"],
        json!([]),
        "{imported}"
    );
    let every_status = json!(["ACTIVE", "INACTIVE", "DEFUNCT", "TEMPORARILY_CLOSED"]);
    let (all, _) = listing(&app, &admin, &json!({ "statuses": every_status }), 100).await;
    let first = |path: &dyn Fn(&Value) -> Option<Value>| {
        all.iter().find_map(path).expect("a demo listing has it")
    };
    let term = first(&|n| {
        n["taxonomyTerms"][0]["parent"]["id"]
            .as_str()
            .map(Value::from)
    });
    let organization = first(&|n| n["organization"]["id"].as_str().map(Value::from));
    let filters = [
        json!({}),
        json!({ "statuses": every_status }),
        json!({ "statuses": ["INACTIVE", "TEMPORARILY_CLOSED"] }),
        json!({ "categories": [term] }),
        json!({ "levelOfNeed": ["TARGETED", "SPECIALIST"] }),
        json!({ "audiences": ["FATHERS"] }),
        json!({ "deliveryModes": ["HOME_VISIT"] }),
        json!({ "infantAgeMonths": 18 }),
        json!({ "pregnant": true }),
        json!({ "selfReferral": true, "freeOnly": true }),
        json!({ "languages": ["cy", "pl"] }),
        json!({ "organizationId": organization }),
        json!({ "verifiedWithinDays": 365 }),
        json!({ "pregnant": true, "infantAgeMonths": 3, "statuses": every_status }),
    ];
    for filter in filters {
        // Admins read the database; a partner's list comes from the index and its cards.
        let (mut stored, stored_total) = listing(&app, &admin, &filter, 100).await;
        let (indexed, indexed_total) = listing(&app, &partner, &filter, 7).await;
        assert!(
            !stored.is_empty() || filter == json!({ "languages": ["cy", "pl"] }),
            "{filter} matches demo listings"
        );
        assert_eq!(indexed_total, stored_total, "{filter}: totals");
        // The index orders names without regard to case.
        let key = |n: &Value| {
            (
                n["name"].as_str().unwrap_or_default().to_lowercase(),
                n["id"].as_str().unwrap_or_default().to_owned(),
            )
        };
        stored.sort_by_key(key);
        assert_eq!(indexed.len(), stored.len(), "{filter}: listings");
        for (indexed, stored) in indexed.iter().zip(&stored) {
            assert_eq!(indexed, stored, "{filter}");
        }
    }
}

/// Every field of a search edge that a page answers from what it holds, with aliases and
/// type names (the order is the response's order).
const EDGE_FIELDS: &str = r#"
  __typename cursor score km: distanceKm unconfirmed
  highlights { field snippet }
  coverage { __typename covered known area kind }
  node {
    __typename id name alternateName description url email status levelOfNeed
    referral { selfReferral professionalReferral instructions }
    languages free feesDescription fundingSource fundingEndsOn assuredDate assurer
    lastModified version
    org: organization { __typename id name description website email phone charityNumber }
    organization { name }
  }
"#;

/// The body of a search answered by the server, as sent.
async fn search_body(app: &TestApp, edges: &str, variables: &Value) -> String {
    let query = format!(
        "query($text: String, $near: NearInput, $filter: ServiceFilter) {{ \
         search(text: $text, near: $near, filter: $filter, first: 50) {{ totalCount \
         edges {{ {edges} }} }} }}"
    );
    app.client
        .post(app.url("/graphql"))
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("search")
        .text()
        .await
        .expect("body")
}

#[tokio::test]
async fn a_page_of_plain_fields_answers_as_the_field_by_field_executor_does() {
    let app = TestApp::spawn().await;
    // Searches whose edges carry distances, coverage and highlights, with filters that mark
    // listings unconfirmed (the demo's listings state all they are asked).
    let searches = [
        json!({ "text": "low mood baby", "near": { "postcode": "GL50 3AB" } }),
        json!({ "text": "dad struggling", "filter": { "pregnant": true, "coversPostcode": "M33 7XW" } }),
        json!({ "text": "feeding", "filter": { "infantAgeMonths": 4 } }),
        json!({ "near": { "postcode": "M16 0RA", "radiusKm": 40 } }),
    ];
    let mut shown = String::new();
    for variables in searches {
        let plain = search_body(&app, EDGE_FIELDS, &variables).await;
        // A fragment leaves every field to the executor.
        let executed = search_body(
            &app,
            &format!("... on SearchEdge {{ {EDGE_FIELDS} }}"),
            &variables,
        )
        .await;
        let parsed: Value = serde_json::from_str(&plain).expect("JSON");
        assert!(parsed.get("errors").is_none(), "{plain}");
        let edges = parsed["data"]["search"]["edges"].as_array().expect("edges");
        assert!(!edges.is_empty(), "{variables}: no results");
        // Byte for byte: the same values, in the same order.
        if let Some(at) = plain
            .bytes()
            .zip(executed.bytes())
            .position(|(a, b)| a != b)
        {
            let around = |body: &str| {
                body.get(at.saturating_sub(200)..)
                    .unwrap_or(body)
                    .chars()
                    .take(400)
                    .collect::<String>()
            };
            panic!(
                "{variables}: the answers part at byte {at}:\none pass: {}\nexecutor: {}",
                around(&plain),
                around(&executed)
            );
        }
        assert_eq!(
            plain.len(),
            executed.len(),
            "{variables}: one answer is longer"
        );
        shown.push_str(&plain);
    }
    // Between them the searches show every kind of value.
    for value in [
        "\"km\":1",
        "\"km\":null",
        "\"covered\":true",
        "\"covered\":false",
        "<b>",
        "\"org\":{\"__typename\":\"Organization\"",
        "\"fundingEndsOn\":\"",
        "\"kind\":\"POSTCODE_",
    ] {
        assert!(shown.contains(value), "no {value} in the answers");
    }
}
