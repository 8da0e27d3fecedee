//! The family read from the professional's words: who the search is for, a pregnancy, the
//! baby's age, languages and a bereavement act as filters (explicit filters win), the result
//! says what was read, and `interpret: false` undoes it.

use serde_json::{Value, json};
use tests::TestApp;

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
