//! Eligibility read from a feed's words, through the real server: the values and where each
//! came from (given, read from which words, or unknown), an editor's change or confirmation
//! making a value given, a re-import keeping what an editor gave, and the admins' review.

use entity::Role;
use serde_json::{Value, json};
use tests::{Options, TestApp, first_error};

const IMPORT: &str = r#"
mutation($document: JSON!) {
  importOpenReferral(document: $document) { imported unchanged failed { path message } }
}"#;

const SERVICE: &str = r#"
query($id: ID!) {
  service(id: $id) {
    id version levelOfNeed languages
    referral { selfReferral professionalReferral }
    eligibility {
      fromPregnancy minAgeMonths maxAgeMonths audiences
      provenance { field source phrase }
    }
  }
}"#;

const REVIEW: &str = r#"
query($first: Int, $after: String) {
  eligibilityReview(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id name } }
  }
}"#;

const CONFIRM: &str = r#"
mutation($id: ID!, $fields: [EligibilityField!]!) {
  confirmEligibility(serviceId: $id, fields: $fields) {
    version eligibility { provenance { field source phrase } }
  }
}"#;

const UPDATE: &str = r#"
mutation($id: ID!, $v: Int!, $input: ServiceInput!) {
  updateService(id: $id, expectedVersion: $v, input: $input) {
    version eligibility { audiences provenance { field source phrase } }
  }
}"#;

const ORG: &str = "00000000-0000-4000-8000-000000000001";
const DADS: &str = "00000000-0000-4000-8000-000000000011";
const BUMPS: &str = "00000000-0000-4000-8000-000000000012";
const SOMALI: &str = "00000000-0000-4000-8000-000000000013";
const HELPLINE: &str = "00000000-0000-4000-8000-000000000014";

/// An HSDS 3 document whose services say who they are for only in words.
fn document() -> Value {
    let organization = json!({ "id": ORG, "name": "Northfield Family Charity" });
    json!([
        {
            "id": DADS,
            "name": "Northfield dads' group",
            "description": "A friendly weekly group where dads meet, play and talk.",
            "eligibility_description": "For dads and male carers of children under two.",
            "application_process": "Self-refer online or ask your health visitor.",
            "organization": organization,
            "languages": [{ "name": "English" }]
        },
        {
            "id": BUMPS,
            "name": "Northfield bumps clinic",
            "description": "A secondary care clinic for moderate to severe anxiety in pregnancy.",
            "eligibility_description": "Expectant mothers only; support ends at the birth.",
            "application_process": "Professional referral only.",
            "organization": organization
        },
        {
            "id": SOMALI,
            "name": "Hooyo coffee morning",
            "description": "A relaxed coffee morning with a Somali-speaking midwife.",
            "eligibility_description": "For Somali-speaking mothers and babies under one.",
            "organization": organization,
            "languages": [{ "name": "English" }]
        },
        {
            "id": HELPLINE,
            "name": "Northfield parent line",
            "description": "A telephone line for parents who need to talk.",
            "eligibility_description": "Parents and carers of babies aged 6 weeks to 6 months.",
            "minimum_age": 0,
            "organization": organization
        }
    ])
}

async fn import(app: &TestApp, admin: &str) {
    let data = app
        .data_as(Some(admin), IMPORT, json!({ "document": document() }))
        .await;
    assert_eq!(data["importOpenReferral"]["failed"], json!([]), "{data}");
}

async fn service(app: &TestApp, id: &str) -> Value {
    let data = app.data_as(None, SERVICE, json!({ "id": id })).await;
    data["service"].clone()
}

/// The provenance of `field` as `(source, phrase)`.
fn source_of(service: &Value, field: &str) -> (String, Value) {
    let provenance = service
        .pointer("/eligibility/provenance")
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("no provenance in {service}"));
    let found = provenance
        .iter()
        .find(|p| p["field"] == field)
        .unwrap_or_else(|| panic!("no {field} in {service}"));
    (
        found["source"].as_str().unwrap_or_default().to_owned(),
        found["phrase"].clone(),
    )
}

fn text(phrase: &str) -> (String, Value) {
    ("TEXT".to_owned(), json!(phrase))
}

fn given() -> (String, Value) {
    ("GIVEN".to_owned(), Value::Null)
}

fn unknown() -> (String, Value) {
    ("UNKNOWN".to_owned(), Value::Null)
}

#[tokio::test]
async fn eligibility_written_in_words_is_read_with_its_provenance() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let admin = app.admin_token().await;
    import(&app, &admin).await;

    let dads = service(&app, DADS).await;
    assert_eq!(
        dads["eligibility"]["audiences"],
        json!(["FATHERS"]),
        "{dads}"
    );
    assert_eq!(dads["eligibility"]["maxAgeMonths"], json!(24.0));
    assert_eq!(dads["eligibility"]["minAgeMonths"], Value::Null);
    assert_eq!(dads["eligibility"]["fromPregnancy"], json!(false));
    assert_eq!(dads["referral"]["selfReferral"], json!(true));
    assert_eq!(source_of(&dads, "AUDIENCES"), text("dads; male carers"));
    assert_eq!(source_of(&dads, "MAX_AGE_MONTHS"), text("under two"));
    assert_eq!(source_of(&dads, "FROM_PREGNANCY"), text("under two"));
    assert_eq!(source_of(&dads, "MIN_AGE_MONTHS"), unknown());
    assert_eq!(source_of(&dads, "REFERRAL"), text("Self-refer online"));
    assert_eq!(source_of(&dads, "LANGUAGES"), given());
    assert_eq!(source_of(&dads, "LEVEL_OF_NEED"), unknown());

    let bumps = service(&app, BUMPS).await;
    assert_eq!(
        bumps["eligibility"]["fromPregnancy"],
        json!(true),
        "{bumps}"
    );
    assert_eq!(bumps["eligibility"]["maxAgeMonths"], json!(0.0));
    assert_eq!(bumps["eligibility"]["audiences"], json!(["MOTHERS"]));
    assert_eq!(bumps["levelOfNeed"], "SPECIALIST");
    assert_eq!(bumps["referral"]["selfReferral"], json!(false));
    assert_eq!(bumps["referral"]["professionalReferral"], json!(true));
    assert_eq!(
        source_of(&bumps, "FROM_PREGNANCY"),
        text("Expectant mothers only")
    );
    assert_eq!(
        source_of(&bumps, "MAX_AGE_MONTHS"),
        text("Expectant mothers only")
    );
    assert_eq!(source_of(&bumps, "LEVEL_OF_NEED"), text("secondary care"));
    assert_eq!(
        source_of(&bumps, "REFERRAL"),
        text("Professional referral only")
    );
    assert_eq!(source_of(&bumps, "LANGUAGES"), unknown());

    let somali = service(&app, SOMALI).await;
    let mut audiences: Vec<String> =
        serde_json::from_value(somali["eligibility"]["audiences"].clone()).unwrap_or_default();
    audiences.sort();
    assert_eq!(audiences, ["LANGUAGE_COMMUNITY", "MOTHERS"], "{somali}");
    assert_eq!(somali["languages"], json!(["en", "so"]));
    assert_eq!(somali["eligibility"]["maxAgeMonths"], json!(12.0));
    assert_eq!(source_of(&somali, "LANGUAGES"), text("Somali-speaking"));

    let line = service(&app, HELPLINE).await;
    assert_eq!(line["eligibility"]["audiences"], json!([]), "{line}");
    assert_eq!(
        line["eligibility"]["minAgeMonths"],
        json!(0.0),
        "the field comes first"
    );
    assert_eq!(line["eligibility"]["maxAgeMonths"], json!(6.0));
    assert_eq!(source_of(&line, "MIN_AGE_MONTHS"), given());
    assert_eq!(
        source_of(&line, "MAX_AGE_MONTHS"),
        text("aged 6 weeks to 6 months")
    );
    assert_eq!(source_of(&line, "AUDIENCES"), text("Parents and carers"));

    // Importing the same document again changes nothing.
    let again = app
        .data_as(Some(&admin), IMPORT, json!({ "document": document() }))
        .await;
    assert_eq!(
        again["importOpenReferral"]["unchanged"],
        json!(4),
        "{again}"
    );

    // The export says where the values came from, and reads back the same.
    let exported = export(&app).await;
    let dads_out = exported
        .iter()
        .find(|s| s["id"] == DADS)
        .unwrap_or_else(|| panic!("no {DADS} in the export"));
    assert_eq!(
        dads_out["eligibility_sources"]["audiences"]["source"], "TEXT",
        "{dads_out}"
    );
}

async fn export(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    signpost_api::hsds::encode::export(&app.db, &mut out)
        .await
        .unwrap_or_else(|err| panic!("the export failed: {err}"));
    let document: Value =
        serde_json::from_slice(&out).unwrap_or_else(|err| panic!("the export is not JSON: {err}"));
    let services = document
        .get("services")
        .or_else(|| document.get("contents"))
        .unwrap_or(&document);
    services.as_array().cloned().unwrap_or_default()
}

/// The `ServiceInput` of the dads' group as an editor saves it, with `audiences`.
fn dads_input(audiences: Value) -> Value {
    json!({
        "organizationId": ORG,
        "name": "Northfield dads' group",
        "description": "A friendly weekly group where dads meet, play and talk.",
        "levelOfNeed": "UNIVERSAL",
        "eligibility": {
            "fromPregnancy": false,
            "maxAgeMonths": 24,
            "audiences": audiences,
            "description": "For dads and male carers of children under two."
        },
        "referral": { "selfReferral": true, "professionalReferral": true },
        "languages": ["en"]
    })
}

#[tokio::test]
async fn an_editor_makes_a_value_given_and_a_reimport_keeps_it() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let admin = app.admin_token().await;
    import(&app, &admin).await;
    let org = uuid::Uuid::parse_str(ORG).unwrap_or_default();
    let editor = app
        .sign_in_new("editor@northfield.example", Role::Editor, Some(org))
        .await;

    // Saving the listing with a changed audience makes the audience given; the values the
    // editor left as they were keep their provenance.
    let before = service(&app, DADS).await;
    let version = before["version"].as_i64().unwrap_or_default();
    let data = app
        .data_as(
            Some(&editor),
            UPDATE,
            json!({ "id": DADS, "v": version, "input": dads_input(json!(["FATHERS", "CARERS"])) }),
        )
        .await;
    let updated = &data["updateService"];
    assert_eq!(source_of(updated, "AUDIENCES"), given(), "{updated}");
    assert_eq!(source_of(updated, "MAX_AGE_MONTHS"), text("under two"));

    // Confirming a value read from the words makes it given without changing it.
    let data = app
        .data_as(
            Some(&editor),
            CONFIRM,
            json!({ "id": DADS, "fields": ["MAX_AGE_MONTHS"] }),
        )
        .await;
    let confirmed = &data["confirmEligibility"];
    assert_eq!(
        source_of(confirmed, "MAX_AGE_MONTHS"),
        given(),
        "{confirmed}"
    );
    assert_eq!(source_of(confirmed, "MIN_AGE_MONTHS"), unknown());
    let after = service(&app, DADS).await;
    assert_eq!(after["eligibility"]["maxAgeMonths"], json!(24.0));

    // The feed, imported again, does not undo what the editor gave.
    let data = app
        .data_as(Some(&admin), IMPORT, json!({ "document": document() }))
        .await;
    assert_eq!(data["importOpenReferral"]["failed"], json!([]), "{data}");
    let reimported = service(&app, DADS).await;
    assert_eq!(
        reimported["eligibility"]["audiences"],
        json!(["FATHERS", "CARERS"]),
        "{reimported}"
    );
    assert_eq!(source_of(&reimported, "AUDIENCES"), given());
    assert_eq!(source_of(&reimported, "MAX_AGE_MONTHS"), given());
    assert_eq!(
        source_of(&reimported, "REFERRAL"),
        text("Self-refer online")
    );

    // A partner may not confirm it.
    let stranger = app.partner_token().await;
    let body = app
        .graphql_as(
            Some(&stranger),
            CONFIRM,
            json!({ "id": DADS, "fields": ["AUDIENCES"] }),
        )
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn admins_review_listings_read_from_words_and_others_may_not() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let admin = app.admin_token().await;
    import(&app, &admin).await;

    let first = app
        .data_as(Some(&admin), REVIEW, json!({ "first": 3 }))
        .await;
    let page = &first["eligibilityReview"];
    assert_eq!(page["totalCount"], json!(4), "{page}");
    assert_eq!(page["pageInfo"]["hasNextPage"], json!(true));
    let rest = app
        .data_as(
            Some(&admin),
            REVIEW,
            json!({ "first": 3, "after": page["pageInfo"]["endCursor"] }),
        )
        .await;
    let mut names: Vec<String> = [page, &rest["eligibilityReview"]]
        .iter()
        .flat_map(|p| p["edges"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e["node"]["name"].as_str().map(str::to_owned))
        .collect();
    let in_order = names.clone();
    names.sort();
    assert_eq!(in_order, names, "name order");
    assert_eq!(names.len(), 4);

    let org = uuid::Uuid::parse_str(ORG).unwrap_or_default();
    let editor = app
        .sign_in_new("editor@northfield.example", Role::Editor, Some(org))
        .await;
    let body = app.graphql_as(Some(&editor), REVIEW, json!({})).await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    let body = app.graphql_as(None, REVIEW, json!({})).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");

    // Once every value of a listing is confirmed it leaves the review.
    let fields = [
        "FROM_PREGNANCY",
        "MIN_AGE_MONTHS",
        "MAX_AGE_MONTHS",
        "AUDIENCES",
        "LANGUAGES",
        "LEVEL_OF_NEED",
        "REFERRAL",
    ];
    app.data_as(
        Some(&admin),
        CONFIRM,
        json!({ "id": DADS, "fields": fields }),
    )
    .await;
    let after = app.data_as(Some(&admin), REVIEW, json!({})).await;
    assert_eq!(
        after["eligibilityReview"]["totalCount"],
        json!(3),
        "{after}"
    );
}
