//! `services(filter)` returns exactly the services a direct reading of the listings selects.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Value, json};
use tests::TestApp;

use crate::browse::all_services;

async fn ids_for(app: &TestApp, token: &str, filter: Value) -> BTreeSet<String> {
    let data = app
        .data_as(
            Some(token),
            "query($f: ServiceFilter) { services(filter: $f, first: 100) { totalCount edges { node { id } } pageInfo { hasNextPage } } }",
            json!({ "f": filter }),
        )
        .await;
    let conn = &data["services"];
    assert_eq!(
        conn["pageInfo"]["hasNextPage"], false,
        "the demo fits on one page"
    );
    let ids: BTreeSet<String> = conn["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(conn["totalCount"].as_u64(), Some(ids.len() as u64));
    ids
}

fn expected(services: &[Value], keep: impl Fn(&Value) -> bool) -> BTreeSet<String> {
    services
        .iter()
        .filter(|s| keep(s))
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect()
}

fn has(list: &Value, value: &str) -> bool {
    list.as_array()
        .is_some_and(|items| items.iter().any(|item| item == value))
}

/// Whether a service (as JSON) belongs in a filter's result.
type Predicate = Box<dyn Fn(&Value) -> bool>;

fn active(s: &Value) -> bool {
    s["status"] == "ACTIVE"
}

#[tokio::test]
async fn every_filter_matches_a_direct_reading_of_the_listings() {
    let app = TestApp::spawn().await;
    let services = all_services(&app, 100).await;
    let token = app.partner_token().await;
    let today = chrono::Utc::now().date_naive();

    let cases: Vec<(Value, Predicate)> = vec![
        (json!({}), Box::new(active)),
        (
            json!({ "statuses": ["INACTIVE", "DEFUNCT", "TEMPORARILY_CLOSED"] }),
            Box::new(|s: &Value| s["status"] != "ACTIVE"),
        ),
        (
            json!({ "levelOfNeed": ["SPECIALIST"] }),
            Box::new(|s: &Value| active(s) && s["levelOfNeed"] == "SPECIALIST"),
        ),
        (
            json!({ "audiences": ["FATHERS"] }),
            Box::new(|s: &Value| active(s) && has(&s["eligibility"]["audiences"], "FATHERS")),
        ),
        (
            json!({ "deliveryModes": ["HOME_VISIT", "PHONE"] }),
            Box::new(|s: &Value| {
                active(s)
                    && (has(&s["deliveryModes"], "HOME_VISIT") || has(&s["deliveryModes"], "PHONE"))
            }),
        ),
        (
            json!({ "infantAgeMonths": 4 }),
            Box::new(|s: &Value| {
                let min = s["eligibility"]["minAgeMonths"].as_f64();
                let max = s["eligibility"]["maxAgeMonths"].as_f64();
                active(s) && min.is_none_or(|m| m <= 4.0) && max.is_none_or(|m| m >= 4.0)
            }),
        ),
        (
            json!({ "pregnant": true }),
            Box::new(|s: &Value| active(s) && s["eligibility"]["fromPregnancy"] == true),
        ),
        (
            json!({ "selfReferral": true }),
            Box::new(|s: &Value| active(s) && s["referral"]["selfReferral"] == true),
        ),
        (
            json!({ "freeOnly": true }),
            Box::new(|s: &Value| active(s) && s["free"] == true),
        ),
        (
            json!({ "languages": ["pl"] }),
            Box::new(|s: &Value| active(s) && has(&s["languages"], "pl")),
        ),
        (
            json!({ "verifiedWithinDays": 365 }),
            Box::new(move |s: &Value| {
                let assured = s["assuredDate"]
                    .as_str()
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
                active(s) && assured.is_some_and(|d| (today - d).num_days() <= 365)
            }),
        ),
        (
            json!({ "levelOfNeed": ["TARGETED"], "audiences": ["FATHERS", "CO_PARENTS"], "infantAgeMonths": 6, "selfReferral": true }),
            Box::new(|s: &Value| {
                let max = s["eligibility"]["maxAgeMonths"].as_f64();
                let min = s["eligibility"]["minAgeMonths"].as_f64();
                active(s)
                    && s["levelOfNeed"] == "TARGETED"
                    && (has(&s["eligibility"]["audiences"], "FATHERS")
                        || has(&s["eligibility"]["audiences"], "CO_PARENTS"))
                    && min.is_none_or(|m| m <= 6.0)
                    && max.is_none_or(|m| m >= 6.0)
                    && s["referral"]["selfReferral"] == true
            }),
        ),
    ];
    for (filter, keep) in cases {
        let want = expected(&services, keep);
        assert!(!want.is_empty(), "the demo has services for {filter}");
        assert_eq!(
            ids_for(&app, &token, filter.clone()).await,
            want,
            "filter {filter}"
        );
    }

    let org = services[0]["organization"]["id"]
        .as_str()
        .expect("org id")
        .to_owned();
    let want = expected(&services, |s| {
        active(s) && s["organization"]["id"] == org.as_str()
    });
    assert_eq!(
        ids_for(&app, &token, json!({ "organizationId": org })).await,
        want
    );
}

#[tokio::test]
async fn a_category_matches_its_descendants() {
    let app = TestApp::spawn().await;
    let services = all_services(&app, 100).await;
    let token = app.partner_token().await;
    let terms = app
        .data(
            "{ taxonomyTerms { id parent { id } children { id } } }",
            json!({}),
        )
        .await;
    let mut checked = 0;
    for term in terms["taxonomyTerms"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["parent"].is_null())
    {
        let mut family: HashSet<String> = term["children"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        let id = term["id"].as_str().expect("id").to_owned();
        family.insert(id.clone());
        let want = expected(&services, |s| {
            active(s)
                && s["taxonomyTerms"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["id"].as_str().is_some_and(|tid| family.contains(tid)))
        });
        assert_eq!(
            ids_for(&app, &token, json!({ "categories": [id] })).await,
            want
        );
        checked += usize::from(!want.is_empty());
    }
    assert!(
        checked >= 4,
        "top-level categories with services: {checked}"
    );
}

#[tokio::test]
async fn bad_filter_values_are_refused_with_the_field_named() {
    let app = TestApp::spawn().await;
    for (filter, field) in [
        (json!({ "infantAgeMonths": -1 }), "infantAgeMonths"),
        (json!({ "infantAgeMonths": 5000 }), "infantAgeMonths"),
        (json!({ "verifiedWithinDays": -3 }), "verifiedWithinDays"),
        (json!({ "languages": ["english"] }), "languages"),
        (json!({ "categories": ["perinatal"] }), "categories"),
        (json!({ "organizationId": "42" }), "organizationId"),
        (json!({ "levelOfNeed": ["URGENT"] }), "URGENT"),
    ] {
        let body = app
            .graphql(
                "query($f: ServiceFilter) { services(filter: $f) { totalCount } }",
                json!({ "f": filter }),
            )
            .await;
        let (code, message) = tests::first_error(&body);
        assert_eq!(code, "BAD_USER_INPUT", "{filter}: {body}");
        assert!(message.contains(field), "{filter}: {message}");
    }
}
