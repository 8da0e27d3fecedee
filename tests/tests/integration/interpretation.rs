//! The family read from the professional's words: who the search is for, a pregnancy, the
//! baby's age, languages and a bereavement act as filters (explicit filters win), the result
//! says what was read, and `interpret: false` undoes it.

use serde_json::{Value, json};
use tests::{Options, TestApp};

const SEARCH: &str = "query($text: String, $filter: ServiceFilter, $interpret: Boolean) { \
    search(text: $text, filter: $filter, interpret: $interpret, first: 50) { totalCount \
      interpretation { applied audiences pregnant bereaved infantAgeMonths languages phrases } \
      edges { unconfirmed node { id name eligibility { fromPregnancy minAgeMonths maxAgeMonths audiences } } } } }";

async fn search(app: &TestApp, text: &str, filter: Value, interpret: bool) -> Value {
    let data = app
        .data(
            SEARCH,
            json!({ "text": text, "filter": filter, "interpret": interpret }),
        )
        .await;
    data["search"].clone()
}

fn nodes(result: &Value) -> Vec<Value> {
    result["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["node"].clone())
        .collect()
}

fn audiences(node: &Value) -> Vec<String> {
    node["eligibility"]["audiences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_father_is_not_shown_mothers_only_services_and_the_reading_can_be_undone() {
    let app = TestApp::spawn().await;
    let text = "dad struggling with low mood, baby 4 months";
    let read = search(&app, text, json!({}), true).await;
    let interpretation = &read["interpretation"];
    assert_eq!(interpretation["applied"], true);
    assert_eq!(interpretation["audiences"], json!(["FATHERS"]));
    assert_eq!(interpretation["infantAgeMonths"], json!(4.0));
    assert_eq!(interpretation["pregnant"], false);
    let shown = nodes(&read);
    assert!(!shown.is_empty());
    for node in &shown {
        let who = audiences(node);
        assert!(
            who.iter()
                .any(|a| ["FATHERS", "CO_PARENTS", "WHOLE_FAMILY"].contains(&a.as_str())),
            "{} is for {who:?}, not a father",
            node["name"]
        );
        let eligibility = &node["eligibility"];
        assert!(
            eligibility["minAgeMonths"]
                .as_f64()
                .is_none_or(|m| m <= 4.0)
        );
        assert!(
            eligibility["maxAgeMonths"]
                .as_f64()
                .is_none_or(|m| m >= 4.0)
        );
    }
    let raw = search(&app, text, json!({}), false).await;
    assert_eq!(raw["interpretation"]["applied"], false);
    assert_eq!(raw["interpretation"]["audiences"], json!(["FATHERS"]));
    assert!(
        nodes(&raw).iter().any(|n| audiences(n) == ["MOTHERS"]),
        "without the reading, mothers-only services match the words"
    );
    assert!(raw["totalCount"].as_u64() > read["totalCount"].as_u64());
}

#[tokio::test]
async fn explicit_filters_win_over_the_words() {
    let app = TestApp::spawn().await;
    let result = search(
        &app,
        "mum with a 4 month old, pregnant again",
        json!({ "infantAgeMonths": 10.0, "pregnant": false }),
        true,
    )
    .await;
    let interpretation = &result["interpretation"];
    assert_eq!(
        interpretation["infantAgeMonths"],
        Value::Null,
        "the filter's age wins"
    );
    assert_eq!(
        interpretation["pregnant"], false,
        "the filter's pregnancy wins"
    );
    assert_eq!(interpretation["audiences"], json!(["MOTHERS"]));
    for node in nodes(&result) {
        let eligibility = &node["eligibility"];
        assert!(
            eligibility["maxAgeMonths"]
                .as_f64()
                .is_none_or(|m| m >= 10.0)
        );
    }
    let pregnant = search(&app, "expecting her first baby, anxious", json!({}), true).await;
    assert_eq!(pregnant["interpretation"]["pregnant"], true);
    let shown = nodes(&pregnant);
    assert!(!shown.is_empty());
    for node in shown {
        assert_eq!(
            node["eligibility"]["fromPregnancy"], true,
            "{}",
            node["name"]
        );
    }
}

#[tokio::test]
async fn a_search_without_words_reads_nothing() {
    let app = TestApp::spawn().await;
    let result = search(&app, "", json!({}), true).await;
    assert_eq!(result["interpretation"], Value::Null);
    let plain = search(&app, "health visiting", json!({}), true).await;
    let interpretation = &plain["interpretation"];
    assert_eq!(interpretation["audiences"], json!([]));
    assert_eq!(interpretation["phrases"], json!([]));
    assert_eq!(interpretation["infantAgeMonths"], Value::Null);
}

const IMPORT: &str = "mutation($document: JSON!) { importOpenReferral(document: $document) { failed { path message } } }";

const DADS: &str = "00000000-0000-4000-8000-000000000021";
const BUMPS: &str = "00000000-0000-4000-8000-000000000022";
const DROP_IN: &str = "00000000-0000-4000-8000-000000000023";
const LOSS: &str = "00000000-0000-4000-8000-000000000024";
const AFTER_BIRTH: &str = "00000000-0000-4000-8000-000000000025";

/// A feed whose services say who they are for only in words, all UK-wide.
fn feed() -> Value {
    let organization =
        json!({ "id": "00000000-0000-4000-8000-000000000020", "name": "Northfield Families" });
    let service = |id: &str, name: &str, description: &str, eligibility: Option<&str>| {
        json!({
            "id": id,
            "name": name,
            "description": description,
            "eligibility_description": eligibility,
            "organization": organization,
            "service_areas": [{ "id": format!("10{}", &id[2..]), "name": "UK", "extent": "UK", "extent_type": "text" }],
        })
    };
    json!([
        service(
            DADS,
            "Northfield dads' line",
            "A phone line for parents feeling low.",
            Some("Dads and male carers only.")
        ),
        service(
            BUMPS,
            "Northfield bumps line",
            "A phone line for parents feeling low.",
            Some("Expectant parents; support ends at the birth.")
        ),
        service(
            DROP_IN,
            "Northfield talk line",
            "A phone line for parents feeling low.",
            None
        ),
        service(
            LOSS,
            "Northfield loss line",
            "A phone line for parents feeling low.",
            Some("For bereaved parents whose baby has died.")
        ),
        service(
            AFTER_BIRTH,
            "Northfield new parents line",
            "A phone line for parents feeling low.",
            Some("From pregnancy until the baby is one.")
        ),
    ])
}

async fn ids(app: &TestApp, text: &str, filter: Value) -> Vec<(String, Value)> {
    let data = app
        .data(
            "query($text: String, $filter: ServiceFilter) { search(text: $text, filter: $filter, first: 20) { edges { unconfirmed node { id } } } }",
            json!({ "text": text, "filter": filter }),
        )
        .await;
    data["search"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["node"]["id"].as_str().unwrap_or_default().to_owned(),
                e["unconfirmed"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_feed_written_in_words_is_filtered_by_the_family_and_unknown_fits_are_marked() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let admin = app.admin_token().await;
    let data = app
        .data_as(Some(&admin), IMPORT, json!({ "document": feed() }))
        .await;
    assert_eq!(data["importOpenReferral"]["failed"], json!([]), "{data}");
    let postcode = json!({ "coversPostcode": "GL50 3PR" });
    let shown = |found: &[(String, Value)]| -> Vec<String> {
        found.iter().map(|(id, _)| id.clone()).collect()
    };

    let mum = shown(&ids(&app, "mum feeling low, baby 4 months", postcode.clone()).await);
    assert!(
        !mum.contains(&DADS.to_owned()),
        "a fathers-only line for a mother"
    );
    assert!(
        !mum.contains(&BUMPS.to_owned()),
        "a pregnancy-only line after the birth"
    );
    assert!(
        !mum.contains(&LOSS.to_owned()),
        "a bereavement line for a family not bereaved"
    );
    assert!(
        mum.contains(&AFTER_BIRTH.to_owned()) && mum.contains(&DROP_IN.to_owned()),
        "{mum:?}"
    );

    let dad = shown(&ids(&app, "dad feeling low", postcode.clone()).await);
    assert!(dad.contains(&DADS.to_owned()), "{dad:?}");
    let loss = shown(&ids(&app, "baby died, parents feeling low", postcode.clone()).await);
    assert!(loss.contains(&LOSS.to_owned()), "{loss:?}");

    // Unknown is not no: the talk line says nothing of pregnancy; kept, below, and marked.
    let pregnant = ids(
        &app,
        "feeling low",
        json!({ "coversPostcode": "GL50 3PR", "pregnant": true }),
    )
    .await;
    let order = shown(&pregnant);
    let known = order
        .iter()
        .position(|id| id == AFTER_BIRTH)
        .expect("the known fit is shown");
    let unknown = order
        .iter()
        .position(|id| id == DROP_IN)
        .expect("the unknown fit is kept");
    assert!(known < unknown, "{order:?}");
    assert_eq!(pregnant[known].1, json!([]));
    assert_eq!(pregnant[unknown].1, json!(["PREGNANCY"]));
    let aged = ids(
        &app,
        "feeling low",
        json!({ "coversPostcode": "GL50 3PR", "infantAgeMonths": 3 }),
    )
    .await;
    let talk = aged.iter().find(|(id, _)| id == DROP_IN).expect("kept");
    assert_eq!(talk.1, json!(["AGE"]));
}
