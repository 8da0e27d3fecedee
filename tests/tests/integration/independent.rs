//! The independent evaluation set (`tests/fixtures/independent`): a second HSDS 3.0 directory,
//! written the way publishers write feeds and unlike the demo directory, and health visitors'
//! questions labelled from its facts. Each question is asked as a professional would ask it;
//! the test scores success@3, recall@10 and the violation rate and prints the failing questions.
//!
//! The labels are never changed to make a figure pass.

use std::{collections::HashMap, path::PathBuf};

use chrono::{NaiveDate, Utc};
use entity::service;
use sea_orm::EntityTrait;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use signpost_api::hsds::import::{self, Actor};
use tests::{Options, TestApp};

/// How many results count as "put first".
const TOP: usize = 3;
/// How many results a professional scrolls through.
const PAGE: usize = 10;

/// The day the directory's `assured_date`s are written for; the test moves them forward by
/// the days since, so the directory is as fresh (or as stale) on any day it runs.
const REFERENCE_DATE: &str = "2026-12-01";

// The floors are the figures reached once catchments, eligibility and the family were read
// from words (success@3 0.982, 55 of 56 questions; recall@10 0.971, 67 of 69 relevant
// services; no question with an ineligible service in the top ten, on SQLite and PostgreSQL
// alike), up from 0.411, 0.333 and 3 questions when the set was written. Issue 12's targets
// are 0.95, 0.90 and none. Raise them as the search improves, never lower them.
/// The least success@3 accepted.
const MIN_SUCCESS_AT_3: f64 = 0.98;
/// The least recall@10 accepted.
const MIN_RECALL_AT_10: f64 = 0.97;
// And no question may show a service the family cannot use (asserted below).

const SEARCH: &str = "query($text: String, $filter: ServiceFilter, $near: NearInput) { \
    search(text: $text, filter: $filter, near: $near, first: 10) { edges { node { id name } } } }";

/// One labelled question.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Question {
    /// What the health visitor types.
    text: String,
    /// The family's postcode.
    postcode: String,
    /// The baby's age in months, when known.
    infant_age_months: Option<f64>,
    /// Whether the family is expecting.
    pregnant: Option<bool>,
    /// Services a good answer puts first.
    relevant: Vec<String>,
    /// Services the family cannot use, never to be shown.
    ineligible: Vec<String>,
    /// Why.
    why: String,
}

impl Question {
    fn variables(&self) -> Value {
        let mut filter = Map::new();
        filter.insert("coversPostcode".into(), json!(self.postcode));
        if let Some(months) = self.infant_age_months {
            filter.insert("infantAgeMonths".into(), json!(months));
        }
        if let Some(pregnant) = self.pregnant {
            filter.insert("pregnant".into(), json!(pregnant));
        }
        json!({
            "text": self.text,
            "filter": filter,
            "near": { "postcode": self.postcode },
        })
    }

    fn describe(&self) -> String {
        let mut out = format!("{:?} at {}", self.text, self.postcode);
        if let Some(months) = self.infant_age_months {
            out.push_str(&format!(", baby {months} months"));
        }
        if self.pregnant == Some(true) {
            out.push_str(", pregnant");
        }
        out
    }
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/independent")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// The directory with its `assured_date`s moved from [`REFERENCE_DATE`] to `today`.
fn directory(today: NaiveDate) -> Value {
    let mut document = fixture("directory.json");
    let reference =
        NaiveDate::parse_from_str(REFERENCE_DATE, "%Y-%m-%d").unwrap_or_else(|err| panic!("{err}"));
    let shift = today.signed_duration_since(reference);
    let services = document["contents"].as_array_mut().into_iter().flatten();
    for service in services {
        if let Some(Value::String(date)) = service.get_mut("assured_date") {
            let assured = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .unwrap_or_else(|err| panic!("assured_date {date}: {err}"));
            *date = (assured + shift).format("%Y-%m-%d").to_string();
        }
    }
    document
}

fn questions() -> Vec<Question> {
    serde_json::from_value(fixture("questions.json"))
        .unwrap_or_else(|err| panic!("questions.json: {err}"))
}

/// What one question got.
struct Outcome {
    /// A relevant service in the top three.
    success: bool,
    /// Relevant services in the top ten.
    found: usize,
    /// Ineligible services in the top ten.
    shown_ineligible: Vec<String>,
    /// Relevant services not in the top ten.
    missed: Vec<String>,
    /// The top ten, by name (or the errors, when the search failed).
    top: Vec<String>,
}

async fn ask(app: &TestApp, question: &Question, names: &HashMap<String, String>) -> Outcome {
    let body = app.graphql(SEARCH, question.variables()).await;
    let ids: Vec<String> = body["data"]["search"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|edge| edge["node"]["id"].as_str().map(str::to_owned))
        .take(PAGE)
        .collect();
    let name = |id: &String| names.get(id).cloned().unwrap_or_else(|| id.clone());
    let top = match body.get("errors") {
        Some(errors) => vec![format!("errors: {errors}")],
        None => ids.iter().map(name).collect(),
    };
    Outcome {
        success: ids
            .iter()
            .take(TOP)
            .any(|id| question.relevant.contains(id)),
        found: question
            .relevant
            .iter()
            .filter(|id| ids.contains(id))
            .count(),
        shown_ineligible: question
            .ineligible
            .iter()
            .filter(|id| ids.contains(id))
            .map(name)
            .collect(),
        missed: question
            .relevant
            .iter()
            .filter(|id| !ids.contains(id))
            .map(name)
            .collect(),
        top,
    }
}

/// Services whose catchments or languages the import kept as text it could not read.
async fn unread(app: &TestApp) -> Vec<String> {
    let services = service::Entity::find()
        .all(&app.db)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let mut out = Vec::new();
    for service in services {
        let Some(extra) = &service.extra else {
            continue;
        };
        for key in ["unmapped_service_areas", "unmapped_languages"] {
            if let Some(kept) = extra.get(key) {
                out.push(format!("{} {key}: {kept}", service.name));
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn the_independent_set_scores_at_least_its_floors() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let document = directory(Utc::now().date_naive());
    let report = import::import_document(&app.db, &Actor::system(), &document, false)
        .await
        .unwrap_or_else(|err| panic!("the import failed: {err}"));
    if report.last_seq > 0 {
        app.indexer
            .wait_for(report.last_seq)
            .await
            .unwrap_or_else(|err| panic!("the index did not catch up: {err}"));
    }
    println!(
        "imported {} records, {} refused",
        report.imported,
        report.failed.len()
    );
    for failed in &report.failed {
        println!("  refused {}: {}", failed.path, failed.message);
    }
    let unread = unread(&app).await;
    println!(
        "{} services keep text the import did not read:",
        unread.len()
    );
    for line in &unread {
        println!("  {line}");
    }

    let names: HashMap<String, String> = document["contents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| Some((s["id"].as_str()?.to_owned(), s["name"].as_str()?.to_owned())))
        .collect();
    let questions = questions();
    let mut successes = 0;
    let mut found = 0;
    let mut relevant = 0;
    let mut violations = 0;
    let mut failures = Vec::new();
    for question in &questions {
        let outcome = ask(&app, question, &names).await;
        successes += usize::from(outcome.success);
        found += outcome.found;
        relevant += question.relevant.len();
        violations += usize::from(!outcome.shown_ineligible.is_empty());
        if !outcome.success || !outcome.missed.is_empty() || !outcome.shown_ineligible.is_empty() {
            let mut kinds = Vec::new();
            if !outcome.success {
                kinds.push(format!("nothing relevant in the top {TOP}"));
            }
            if !outcome.missed.is_empty() {
                kinds.push(format!("missed {:?}", outcome.missed));
            }
            if !outcome.shown_ineligible.is_empty() {
                kinds.push(format!("showed ineligible {:?}", outcome.shown_ineligible));
            }
            failures.push(format!(
                "{}\n    why: {}\n    {}\n    top {PAGE}: {:?}",
                question.describe(),
                question.why,
                kinds.join("; "),
                outcome.top
            ));
        }
    }
    let count = questions.len() as f64;
    let success_at_3 = successes as f64 / count;
    let recall_at_10 = found as f64 / relevant.max(1) as f64;
    let violation_rate = violations as f64 / count;
    println!(
        "{} questions: success@{TOP} {success_at_3:.3}, recall@{PAGE} {recall_at_10:.3} \
         ({found} of {relevant}), violation rate {violation_rate:.3} ({violations} questions)",
        questions.len()
    );
    println!("{} questions fell short:", failures.len());
    for failure in &failures {
        println!("{failure}");
    }

    assert!(
        report.failed.is_empty(),
        "the import refused records: {:?}",
        report.failed
    );
    assert!(
        success_at_3 >= MIN_SUCCESS_AT_3,
        "success@{TOP} {success_at_3:.3} is below {MIN_SUCCESS_AT_3}"
    );
    assert!(
        recall_at_10 >= MIN_RECALL_AT_10,
        "recall@{PAGE} {recall_at_10:.3} is below {MIN_RECALL_AT_10}"
    );
    assert!(
        violations == 0,
        "{violations} questions showed a service the family cannot use (none may)"
    );
}
