//! The partner change feed: a partner applying it from the beginning mirrors the directory.

use std::collections::BTreeMap;

use entity::service;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use tests::TestApp;

const FEED: &str = "query($after: String) { changes(after: $after, first: 50) { totalCount edges { cursor node { seq entity entityId op } } pageInfo { hasNextPage endCursor } } }";

/// Applies the feed from `after` to a mirror of service names; returns the last cursor.
async fn apply(
    app: &TestApp,
    token: &str,
    mut after: Value,
    mirror: &mut BTreeMap<String, String>,
) -> Value {
    let mut last_seq = 0;
    loop {
        let data = app
            .data_as(Some(token), FEED, json!({ "after": after }))
            .await;
        let feed = &data["changes"];
        for edge in feed["edges"].as_array().into_iter().flatten() {
            let node = &edge["node"];
            let seq = node["seq"].as_i64().expect("seq");
            assert!(seq > last_seq, "the feed comes in commit order");
            last_seq = seq;
            if node["entity"] != "service" {
                continue;
            }
            let id = node["entityId"].as_str().expect("id").to_owned();
            let found = app
                .data_as(
                    Some(token),
                    "query($id: ID!) { service(id: $id) { name status } }",
                    json!({ "id": id }),
                )
                .await;
            match found["service"]["name"].as_str() {
                Some(name) => mirror.insert(
                    id,
                    format!(
                        "{name} ({})",
                        found["service"]["status"].as_str().unwrap_or_default()
                    ),
                ),
                None => mirror.remove(&id),
            };
        }
        if feed["pageInfo"]["endCursor"].is_string() {
            after = feed["pageInfo"]["endCursor"].clone();
        }
        if feed["pageInfo"]["hasNextPage"] != true {
            return after;
        }
    }
}

async fn directory(app: &TestApp) -> BTreeMap<String, String> {
    service::Entity::find()
        .all(&app.db)
        .await
        .expect("services")
        .into_iter()
        .map(|s| {
            (
                s.id.to_string(),
                format!(
                    "{} ({})",
                    s.name,
                    serde_json::to_value(s.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_partner_applying_the_feed_mirrors_the_directory() {
    let app = TestApp::spawn().await;
    let (code, _) = app.error("{ changes { totalCount } }", json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");

    let partner = app.partner_token().await;
    let mut mirror = BTreeMap::new();
    let cursor = apply(&app, &partner, Value::Null, &mut mirror).await;
    assert_eq!(mirror, directory(&app).await);

    // Edits after the partner's last sync arrive after its cursor.
    let admin = app.admin_token().await;
    let first = app
        .data_as(
            Some(&admin),
            "{ services(first: 2) { edges { node { id version organization { id } } } } }",
            json!({}),
        )
        .await;
    let edges = first["services"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    let org = edges[0]["node"]["organization"]["id"].clone();
    let created = app
        .data_as(
            Some(&admin),
            "mutation($org: ID!) { createService(input: { organizationId: $org, name: \"Feed test group\", description: \"A weekly group created to test the partner change feed.\", levelOfNeed: UNIVERSAL, eligibility: {}, referral: { selfReferral: true, professionalReferral: true } }) { id version } }",
            json!({ "org": org }),
        )
        .await;
    assert!(created["createService"]["id"].is_string());
    let target = &edges[1]["node"];
    app.data_as(
        Some(&admin),
        "mutation($id: ID!, $v: Int!) { archiveService(id: $id, expectedVersion: $v) { status } }",
        json!({ "id": target["id"], "v": target["version"] }),
    )
    .await;
    let before = mirror.len();
    apply(&app, &partner, cursor, &mut mirror).await;
    assert_eq!(mirror.len(), before + 1);
    assert_eq!(mirror, directory(&app).await);

    let (code, _) = app
        .error("{ changes(first: 5000) { totalCount } }", json!({}))
        .await;
    assert_eq!(
        code, "UNAUTHENTICATED",
        "anonymous is refused before the page size is read"
    );
    let body = app
        .graphql_as(
            Some(&partner),
            "{ changes(first: 5000) { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(tests::first_error(&body).0, "BAD_USER_INPUT");
}

#[tokio::test]
async fn feed_replay_equals_the_directory_after_random_edits() {
    let seed = fastrand::u64(..);
    println!("feed replay seed: {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let app = TestApp::spawn().await;
    let partner = app.partner_token().await;
    let admin = app.admin_token().await;
    let mut mirror = BTreeMap::new();
    let mut cursor = apply(&app, &partner, Value::Null, &mut mirror).await;
    let listing = "query($s: [ServiceStatus!]) { services(first: 100, filter: { statuses: $s }) { edges { node { id version status organization { id } } } } }";
    for step in 0..15 {
        let all = app
            .data_as(
                Some(&admin),
                listing,
                json!({ "s": ["ACTIVE", "INACTIVE", "TEMPORARILY_CLOSED"] }),
            )
            .await;
        let nodes = all["services"]["edges"].as_array().expect("edges").clone();
        let node = &nodes[rng.usize(..nodes.len())]["node"];
        match rng.u8(..4) {
            0 => {
                app.data_as(
                    Some(&admin),
                    "mutation($org: ID!, $n: String!) { createService(input: { organizationId: $org, name: $n, description: \"A listing created by the feed replay test.\", levelOfNeed: TARGETED, eligibility: {}, referral: { selfReferral: true, professionalReferral: false } }) { id } }",
                    json!({ "org": node["organization"]["id"], "n": format!("Replay listing {step}") }),
                )
                .await;
            }
            1 => {
                app.data_as(
                    Some(&admin),
                    "mutation($id: ID!, $v: Int!) { archiveService(id: $id, expectedVersion: $v) { id } }",
                    json!({ "id": node["id"], "v": node["version"] }),
                )
                .await;
            }
            2 => {
                app.data_as(
                    Some(&admin),
                    "mutation($id: ID!) { verifyService(id: $id) { id } }",
                    json!({ "id": node["id"] }),
                )
                .await;
            }
            _ => {
                app.data_as(
                    Some(&admin),
                    "mutation($id: ID!, $v: Int!, $org: ID!, $n: String!) { updateService(id: $id, expectedVersion: $v, input: { organizationId: $org, name: $n, description: \"A listing renamed by the feed replay test.\", levelOfNeed: UNIVERSAL, eligibility: {}, referral: { selfReferral: true, professionalReferral: true } }) { id } }",
                    json!({ "id": node["id"], "v": node["version"], "org": node["organization"]["id"], "n": format!("Renamed listing {step}") }),
                )
                .await;
            }
        }
        if rng.bool() {
            cursor = apply(&app, &partner, cursor, &mut mirror).await;
        }
    }
    apply(&app, &partner, cursor, &mut mirror).await;
    assert_eq!(mirror, directory(&app).await, "seed {seed}");
}
