//! The demo directory is browsable through GraphQL with every nested field.

use std::collections::HashSet;

use entity::{change, organization, service};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use tests::TestApp;

/// Every field of a service, nested relations included.
pub const SERVICE_FIELDS: &str = r#"
  id name alternateName description url email status levelOfNeed
  eligibility { fromPregnancy minAgeMonths maxAgeMonths audiences description }
  referral { selfReferral professionalReferral instructions }
  deliveryModes languages free feesDescription fundingSource fundingEndsOn assuredDate assurer
  lastModified version
  organization { id name description website email phone }
  locations { id name address1 city postcode latitude longitude accessibility }
  serviceAreas { kind name postcodePrefix latitude longitude radiusKm }
  contacts { name title email phone visibility }
  phones { number description visibility }
  schedules { weekday opensAt closesAt description }
  taxonomyTerms { id code name description parent { id name } children { id } }
  events { id title startsAt endsAt placeName postcode latitude longitude service { id } }
"#;

/// Every service of the directory, all statuses, walking the connection page by page.
pub async fn all_services(app: &TestApp, page: i32) -> Vec<Value> {
    let query = format!(
        "query($after: String, $first: Int!) {{ services(first: $first, after: $after, \
         filter: {{ statuses: [ACTIVE, INACTIVE, DEFUNCT, TEMPORARILY_CLOSED] }}) {{ totalCount \
         edges {{ cursor node {{ {SERVICE_FIELDS} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
    );
    // Listings of every status need credentials.
    let token = app.partner_token().await;
    let mut after = Value::Null;
    let mut out = Vec::new();
    loop {
        let data = app
            .data_as(
                Some(&token),
                &query,
                json!({ "after": after, "first": page }),
            )
            .await;
        let conn = &data["services"];
        out.extend(
            conn["edges"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| e["node"].clone()),
        );
        if conn["pageInfo"]["hasNextPage"] != json!(true) {
            assert_eq!(conn["totalCount"].as_u64(), Some(out.len() as u64));
            return out;
        }
        after = conn["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn demo_directory_is_seeded_with_its_change_feed() {
    let app = TestApp::spawn().await;
    let services = service::Entity::find().count(&app.db).await.expect("count");
    let organizations = organization::Entity::find()
        .count(&app.db)
        .await
        .expect("count");
    assert!(services >= 80, "only {services} services");
    assert!(organizations >= 30, "only {organizations} organisations");
    let changes = change::Entity::find().count(&app.db).await.expect("count");
    assert!(
        changes >= services + organizations,
        "every seeded record is in the change feed"
    );

    // A restart on the same database seeds nothing twice.
    let app = app.restart().await;
    assert_eq!(
        service::Entity::find().count(&app.db).await.expect("count"),
        services
    );
}

#[tokio::test]
async fn every_nested_field_of_the_demo_directory_resolves() {
    let app = TestApp::spawn().await;
    let services = all_services(&app, 25).await;
    assert!(services.len() >= 80);
    let ids: HashSet<&str> = services.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(ids.len(), services.len(), "paging returned a service twice");

    let nonempty = |field: &str| {
        services
            .iter()
            .filter(|s| s[field].as_array().is_some_and(|a| !a.is_empty()))
            .count()
    };
    for field in [
        "locations",
        "serviceAreas",
        "contacts",
        "phones",
        "schedules",
        "taxonomyTerms",
        "events",
    ] {
        assert!(nonempty(field) > 0, "no service has {field}");
    }
    for service in &services {
        assert!(service["organization"]["name"].is_string());
        assert!(
            service["description"]
                .as_str()
                .is_some_and(|d| d.split_whitespace().count() >= 40)
        );
        for event in service["events"].as_array().into_iter().flatten() {
            assert_eq!(event["service"]["id"], service["id"]);
        }
    }
    let kinds: HashSet<&str> = services
        .iter()
        .flat_map(|s| s["serviceAreas"].as_array().into_iter().flatten())
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert_eq!(kinds.len(), 3, "catchments of all three kinds: {kinds:?}");
    let levels: HashSet<&str> = services
        .iter()
        .filter_map(|s| s["levelOfNeed"].as_str())
        .collect();
    assert_eq!(levels.len(), 3);
    let audiences: HashSet<&str> = services
        .iter()
        .flat_map(|s| {
            s["eligibility"]["audiences"]
                .as_array()
                .into_iter()
                .flatten()
        })
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(audiences.len(), 5, "every audience: {audiences:?}");
    let modes: HashSet<&str> = services
        .iter()
        .flat_map(|s| s["deliveryModes"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(modes.len(), 5, "every delivery mode: {modes:?}");
}

#[tokio::test]
async fn anonymous_callers_see_public_lines_only() {
    let app = TestApp::spawn().await;
    let query = "{ services(first: 100) { edges { node { status phones { visibility } contacts { visibility } } } } }";
    let lines = |data: &Value| -> Vec<String> {
        data["services"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|e| {
                let node = &e["node"];
                node["phones"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(node["contacts"].as_array().into_iter().flatten())
            })
            .filter_map(|line| line["visibility"].as_str().map(str::to_owned))
            .collect()
    };
    let anonymous = app.data(query, json!({})).await;
    let seen = lines(&anonymous);
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|v| v == "PUBLIC"),
        "a professional-only line leaked"
    );
    let token = app.partner_token().await;
    let partner = app.data_as(Some(&token), query, json!({})).await;
    assert!(
        lines(&partner)
            .iter()
            .filter(|v| *v == "PROFESSIONAL")
            .count()
            >= 10,
        "partners see professional lines"
    );
}

#[tokio::test]
async fn organizations_taxonomy_and_events_are_browsable() {
    let app = TestApp::spawn().await;
    let data = app
        .data(
            "{ organizations(first: 100) { totalCount edges { cursor node { id name services(first: 3) { totalCount edges { node { id organization { id } } } pageInfo { hasNextPage } } } } } }",
            json!({}),
        )
        .await;
    let orgs = data["organizations"]["edges"].as_array().expect("edges");
    assert!(orgs.len() >= 30);
    assert_eq!(
        data["organizations"]["totalCount"].as_u64(),
        Some(orgs.len() as u64)
    );
    let names: Vec<&str> = orgs
        .iter()
        .filter_map(|e| e["node"]["name"].as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "organisations come in name order");
    for org in orgs {
        for svc in org["node"]["services"]["edges"]
            .as_array()
            .into_iter()
            .flatten()
        {
            assert_eq!(svc["node"]["organization"]["id"], org["node"]["id"]);
        }
        let total = org["node"]["services"]["totalCount"]
            .as_u64()
            .unwrap_or_default();
        assert_eq!(
            org["node"]["services"]["pageInfo"]["hasNextPage"],
            json!(total > 3)
        );
    }

    let terms = app
        .data(
            "{ taxonomyTerms { id name parent { id } children { id parent { id } } } }",
            json!({}),
        )
        .await;
    let terms = terms["taxonomyTerms"].as_array().expect("terms");
    assert!(terms.len() >= 20);
    let top: Vec<&Value> = terms.iter().filter(|t| t["parent"].is_null()).collect();
    assert!(top.len() >= 4 && top.len() < terms.len());
    for term in &top {
        for child in term["children"].as_array().into_iter().flatten() {
            assert_eq!(child["parent"]["id"], term["id"]);
        }
    }

    let now = chrono::Utc::now();
    let from = now.to_rfc3339();
    let to = (now + chrono::Duration::days(30)).to_rfc3339();
    let events = app
        .data(
            "query($from: DateTime, $to: DateTime) { events(from: $from, to: $to, first: 100) { totalCount edges { node { title startsAt endsAt service { name status } } } } }",
            json!({ "from": from, "to": to }),
        )
        .await;
    let edges = events["events"]["edges"].as_array().expect("events");
    assert!(
        edges.len() >= 8,
        "at least 8 upcoming events, got {}",
        edges.len()
    );
    let starts: Vec<&str> = edges
        .iter()
        .filter_map(|e| e["node"]["startsAt"].as_str())
        .collect();
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "events come in start order");
    assert!(
        edges
            .iter()
            .all(|e| e["node"]["service"]["status"] == "ACTIVE")
    );

    let none = app
        .data(
            "query($from: DateTime) { events(from: $from) { totalCount } }",
            json!({ "from": (now + chrono::Duration::days(400)).to_rfc3339() }),
        )
        .await;
    assert_eq!(none["events"]["totalCount"], 0);
}

#[tokio::test]
async fn single_records_by_id() {
    let app = TestApp::spawn().await;
    let page = app
        .data(
            "{ services(first: 1) { edges { node { id name organization { id name } } } } }",
            json!({}),
        )
        .await;
    let node = &page["services"]["edges"][0]["node"];
    let one = app
        .data(
            "query($id: ID!) { service(id: $id) { id name } }",
            json!({ "id": node["id"] }),
        )
        .await;
    assert_eq!(one["service"]["name"], node["name"]);
    let org = app
        .data(
            "query($id: ID!) { organization(id: $id) { name } }",
            json!({ "id": node["organization"]["id"] }),
        )
        .await;
    assert_eq!(org["organization"]["name"], node["organization"]["name"]);

    let missing = app
        .data(
            "{ service(id: \"00000000-0000-4000-8000-000000000000\") { id } }",
            json!({}),
        )
        .await;
    assert!(missing["service"].is_null());
    let (code, message) = app
        .error("{ service(id: \"not-an-id\") { id } }", json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    assert!(message.contains("id"), "{message}");
}

#[tokio::test]
async fn cursors_page_through_without_gaps_or_repeats() {
    let app = TestApp::spawn().await;
    let by_sevens = all_services(&app, 7).await;
    let at_once = all_services(&app, 100).await;
    let ids = |list: &[Value]| list.iter().map(|s| s["id"].clone()).collect::<Vec<_>>();
    assert_eq!(ids(&by_sevens), ids(&at_once));

    let (code, _) = app
        .error(
            "{ services(after: \"bm90IGEgY3Vyc29y\") { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
    let (code, _) = app
        .error("{ services(after: \"%%%\") { totalCount } }", json!({}))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");
}
