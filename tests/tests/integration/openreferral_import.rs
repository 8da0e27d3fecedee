//! The Open Referral import: the specifications' examples, ORUK-like feeds with broken records
//! and unknown fields, idempotence, the export round trip, search right after an import,
//! strict mode, the size limit and a 10,000-service feed.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use entity::{change, service};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{Value, json};
use signpost_api::hsds::import::{self, Actor, DocumentError, ImportReport};
use tests::{Options, TestApp};

const IMPORT: &str = r#"
mutation($document: JSON!, $strict: Boolean = false) {
  importOpenReferral(document: $document, strict: $strict) { imported unchanged failed { path message } }
}"#;

fn specs_dir() -> PathBuf {
    std::env::var_os("SIGNPOST_SPECS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/openreferral"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

async fn empty_app() -> TestApp {
    TestApp::spawn_with(Options { seed_demo: false }).await
}

async fn import(app: &TestApp, document: &Value, strict: bool) -> ImportReport {
    let report = import::import_document(&app.db, &Actor::system(), document, strict)
        .await
        .unwrap_or_else(|err| panic!("the import failed: {err}"));
    if report.last_seq > 0 {
        app.indexer
            .wait_for(report.last_seq)
            .await
            .unwrap_or_else(|err| panic!("the index did not catch up: {err}"));
    }
    report
}

async fn export(app: &TestApp) -> Value {
    let mut out = Vec::new();
    signpost_api::hsds::encode::export(&app.db, &mut out)
        .await
        .unwrap_or_else(|err| panic!("the export failed: {err}"));
    serde_json::from_slice(&out).unwrap_or_else(|err| panic!("the export is not JSON: {err}"))
}

async fn services(app: &TestApp) -> u64 {
    service::Entity::find()
        .count(&app.db)
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

async fn changes(app: &TestApp) -> u64 {
    change::Entity::find()
        .count(&app.db)
        .await
        .unwrap_or_else(|err| panic!("{err}"))
}

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// An ORUK-like service as feeds publish it, with fields Signpost has no column for.
fn feed_service(n: u32, org: u32, name: &str) -> Value {
    json!({
        "id": id(n),
        "name": name,
        "description": format!("{name}: groups and one-to-one support for new parents."),
        "status": "active",
        "minimum_age": 0,
        "maximum_age": 2.5,
        "assured_date": "2025-06-01",
        "wait_time": "Two weeks",
        "alert": "Closed on bank holidays",
        "fees_description": "Free for families in the borough",
        "organization": {
            "id": id(org),
            "name": format!("Organisation {org}"),
            "description": "A charity",
            "website": "https://example.org",
            "organization_identifiers": [
                { "id": id(900_000 + org), "identifier_scheme": "GB-CHC", "identifier_type": "Registered charity number", "identifier": "1234567" }
            ],
            "year_incorporated": 1999
        },
        "service_at_locations": [{
            "id": id(100_000 + n),
            "location": {
                "id": id(200_000 + n),
                "location_type": "physical",
                "name": "Family hub",
                "latitude": 51.9,
                "longitude": -2.07,
                "transportation": "Bus 94",
                "addresses": [{ "id": id(300_000 + n), "address_1": "1 High Street", "city": "Cheltenham", "state_province": "Gloucestershire", "postal_code": "GL50 1AA", "country": "GB", "address_type": "physical" }]
            }
        }],
        "phones": [{ "id": id(400_000 + n), "number": "01234 567890", "description": "Reception", "extension": 12 }],
        "contacts": [{ "id": id(500_000 + n), "name": "Ann", "title": "Coordinator", "email": "ann@example.org", "department": "Families" }],
        "schedules": [{ "id": id(600_000 + n), "freq": "WEEKLY", "byday": "MO,WE", "opens_at": "09:30:00", "closes_at": "12:00:00" }],
        "service_areas": [
            { "id": id(700_000 + n), "name": "Cheltenham", "extent": "GL50, GL51", "extent_type": "text" },
            { "id": id(710_000 + n), "name": "Somewhere", "extent": "{\"type\":\"Polygon\",\"coordinates\":[]}", "extent_type": "geojson" }
        ],
        "languages": [{ "id": id(800_000 + n), "name": "Polish" }, { "id": id(810_000 + n), "code": "urd" }],
        "cost_options": [{ "id": id(820_000 + n), "option": "Free", "amount": 0, "currency": "GBP" }],
        "attributes": [{
            "id": id(830_000 + n),
            "taxonomy_term_id": id(840_000),
            "taxonomy_term": {
                "id": id(840_000),
                "name": "Perinatal mental health support",
                "taxonomy": "DfE Family Hubs",
                "parent_id": id(840_001)
            }
        }]
    })
}

#[tokio::test]
async fn imports_the_specifications_examples() {
    let app = empty_app().await;
    let token = app.admin_token().await;
    let specs = specs_dir().join("examples");
    for file in [
        "specification@3.0/examples/service_full.json",
        "specification@3.0/examples/service_list.json",
        "oruk-validator/Mocks/V3.0-UK-Default/service_full.json",
        "oruk-validator/Mocks/V3.0-UK-Default/service_list.json",
    ] {
        let document = read_json(&specs.join(file));
        let data = app
            .data_as(
                Some(&token),
                IMPORT,
                json!({ "document": document, "strict": false }),
            )
            .await;
        let report = &data["importOpenReferral"];
        println!("{file}: {report}");
        assert_eq!(report["failed"], json!([]), "{file}");
        assert_eq!(
            report["imported"].as_i64().unwrap_or_default()
                + report["unchanged"].as_i64().unwrap_or_default(),
            1,
            "{file}"
        );
    }
    assert_eq!(
        services(&app).await,
        1,
        "every example describes one service"
    );
    let exported = export(&app).await;
    let svc = &exported[0];
    assert_eq!(svc["id"], "ac148810-d857-441c-9679-408f346de14b");
    assert_eq!(svc["minimum_age"], json!(12.0));
    assert_eq!(svc["status"], "active");
    // Fields with no column survive in `extra`.
    assert!(svc["accreditations"].is_string(), "{svc:#}");
    assert!(svc["organization"]["id"].is_string());
    // The last example has no attributes; the specification's has one.
    let full = read_json(&specs.join("specification@3.0/examples/service_full.json"));
    let report = import(&app, &full, false).await;
    assert_eq!(report.imported, 1, "{report:?}");
    let svc = &export(&app).await[0];
    assert_eq!(
        svc["attributes"][0]["taxonomy_term"]["taxonomy_detail"]["uri"],
        "http://example.com"
    );
    // Not an admin: refused.
    let body = app
        .graphql(IMPORT, json!({ "document": [], "strict": false }))
        .await;
    assert!(body["errors"].is_array(), "{body}");
}

#[tokio::test]
async fn oruk_feeds_import_with_broken_records_reported_by_path() {
    let app = empty_app().await;
    let mut broken_org = feed_service(2, 20, "Broken organisation");
    broken_org["organization"]["id"] = json!("org-2");
    let mut bad_status = feed_service(3, 10, "Bad status");
    bad_status["status"] = json!("open");
    let page = json!({
        "total_items": 5, "total_pages": 1, "page_number": 1, "size": 5,
        "first_page": true, "last_page": true, "empty": false,
        "contents": [
            feed_service(1, 10, "Baby massage"),
            broken_org,
            bad_status,
            { "id": "not-a-uuid", "name": "No id" },
            feed_service(5, 10, "Dads group"),
        ]
    });
    let report = import(&app, &page, false).await;
    assert_eq!(report.imported, 2, "{report:?}");
    let paths: Vec<&str> = report.failed.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/contents/1/organization/id",
            "/contents/2/status",
            "/contents/3/id"
        ],
        "{report:?}"
    );
    let exported = export(&app).await;
    let svc = exported
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == id(1).as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(svc["wait_time"], "Two weeks");
    assert_eq!(svc["maximum_age"], json!(2.5));
    assert_eq!(svc["assured_date"], "2025-06-01");
    assert_eq!(svc["organization"]["year_incorporated"], 1999);
    assert_eq!(
        svc["organization"]["organization_identifiers"][0]["identifier"],
        "1234567"
    );
    assert_eq!(
        svc["service_at_locations"][0]["location"]["transportation"],
        "Bus 94"
    );
    assert_eq!(
        svc["service_at_locations"][0]["location"]["addresses"][0]["postal_code"],
        "GL50 1AA"
    );
    let codes: Vec<&str> = svc["languages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["code"].as_str())
        .collect();
    assert_eq!(codes, ["pl", "ur"]);
    let prefixes: Vec<&str> = svc["service_areas"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["extent"].as_str())
        .collect();
    assert_eq!(prefixes, ["GL50", "GL51"]);
    assert_eq!(svc["unmapped_service_areas"][0]["extent_type"], "geojson");
    let days: Vec<&str> = svc["schedules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["byday"].as_str())
        .collect();
    assert_eq!(days, ["MO", "WE"]);
    assert_eq!(svc["cost_options"][0]["option"], "Free");
    assert_eq!(
        svc["attributes"][0]["taxonomy_term"]["taxonomy"],
        "DfE Family Hubs"
    );

    // An object of top-level arrays, as tabular feeds publish it.
    let tabular = json!({
        "organizations": [{ "id": id(30), "name": "Tabular org" }],
        "taxonomy_terms": [{ "id": id(31), "name": "Breastfeeding support", "taxonomy": "Local" }],
        "locations": [{ "id": id(32), "name": "Library", "latitude": 52.0, "longitude": -2.1 }],
        "services": [{ "id": id(33), "name": "Breastfeeding cafe", "organization_id": id(30), "status": "temporarily closed", "description": "Drop in" },
                     { "id": id(34), "name": "Orphan", "organization_id": id(99), "status": "active" }],
        "service_at_locations": [{ "id": id(35), "service_id": id(33), "location_id": id(32) }],
        "attributes": [{ "id": id(36), "link_id": id(33), "link_entity": "service", "taxonomy_term_id": id(31) }],
        "addresses": [{ "id": id(37), "location_id": id(32), "address_1": "Market St", "city": "Gloucester", "postal_code": "GL1 1AA" }],
        "phones": [{ "id": id(38), "service_id": id(33), "number": "0300 000 000" }]
    });
    let report = import(&app, &tabular, false).await;
    assert_eq!(report.imported, 4, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].path, "/services/1/organization_id");
    let exported = export(&app).await;
    let cafe = exported
        .as_array()
        .and_then(|all| all.iter().find(|s| s["id"] == id(33).as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(cafe["status"], "temporarily closed");
    assert_eq!(
        cafe["service_at_locations"][0]["location"]["addresses"][0]["city"],
        "Gloucester"
    );
    assert_eq!(
        cafe["attributes"][0]["taxonomy_term"]["name"],
        "Breastfeeding support"
    );
    assert_eq!(cafe["phones"][0]["number"], "0300 000 000");
}

#[tokio::test]
async fn a_second_import_changes_nothing() {
    let app = empty_app().await;
    let feed = json!([
        feed_service(1, 10, "Baby massage"),
        feed_service(2, 10, "Stay and play")
    ]);
    let first = import(&app, &feed, false).await;
    assert_eq!((first.imported, first.unchanged), (2, 0), "{first:?}");
    let feed_rows = changes(&app).await;
    let before = export(&app).await;
    let second = import(&app, &feed, false).await;
    assert_eq!((second.imported, second.unchanged), (0, 2), "{second:?}");
    assert!(second.failed.is_empty());
    assert_eq!(changes(&app).await, feed_rows, "no new change rows");
    assert_eq!(export(&app).await, before);
    // A change to one field is one new version.
    let mut changed = feed.clone();
    changed[1]["name"] = json!("Stay and play (Tuesdays)");
    let third = import(&app, &changed, false).await;
    assert_eq!((third.imported, third.unchanged), (1, 1), "{third:?}");
    let row = service::Entity::find_by_id(uuid::Uuid::parse_str(&id(2)).unwrap_or_default())
        .one(&app.db)
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("the service"));
    assert_eq!(row.version, 2);
}

#[tokio::test]
async fn the_demo_directory_round_trips() {
    let demo = TestApp::spawn().await;
    let exported = export(&demo).await;
    assert!(exported.as_array().is_some_and(|a| a.len() > 10));
    let app = empty_app().await;
    let report = import(&app, &exported, false).await;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.imported, exported.as_array().map_or(0, Vec::len));
    let again = export(&app).await;
    if again != exported {
        let (a, b) = (
            exported.as_array().cloned().unwrap_or_default(),
            again.as_array().cloned().unwrap_or_default(),
        );
        for (x, y) in a.iter().zip(&b) {
            if x != y {
                panic!("{x:#}\n!=\n{y:#}");
            }
        }
    }
    assert_eq!(again, exported);
    let twice = import(&app, &exported, false).await;
    assert_eq!(twice.imported, 0, "{twice:?}");
}

#[tokio::test]
async fn imported_listings_are_searchable_when_the_import_returns() {
    let app = empty_app().await;
    let token = app.admin_token().await;
    let feed = json!([feed_service(1, 10, "Zyzzogeton baby signing")]);
    let data = app
        .data_as(Some(&token), IMPORT, json!({ "document": feed }))
        .await;
    assert_eq!(data["importOpenReferral"]["imported"], 1, "{data}");
    let found = app
        .data(
            "query($t: String) { search(text: $t, first: 5) { totalCount edges { node { id name } } } }",
            json!({ "t": "zyzzogeton" }),
        )
        .await;
    assert_eq!(found["search"]["totalCount"], 1, "{found}");
    assert_eq!(found["search"]["edges"][0]["node"]["id"], id(1).as_str());
}

#[tokio::test]
async fn strict_imports_write_nothing_on_error() {
    let app = empty_app().await;
    let token = app.admin_token().await;
    let mut broken = feed_service(2, 10, "Broken");
    broken["phones"][0]["id"] = json!(17);
    let feed = json!([feed_service(1, 10, "Fine"), broken]);
    let before = changes(&app).await;
    let data = app
        .data_as(
            Some(&token),
            IMPORT,
            json!({ "document": feed, "strict": true }),
        )
        .await;
    let report = &data["importOpenReferral"];
    assert_eq!(report["imported"], 0, "{report}");
    assert_eq!(report["failed"][0]["path"], "/1/phones/0/id", "{report}");
    assert_eq!(services(&app).await, 0);
    assert_eq!(changes(&app).await, before);
    // Without strict, the good one goes in.
    let report = import(&app, &feed, false).await;
    assert_eq!(report.imported, 1);
    assert_eq!(services(&app).await, 1);
}

#[tokio::test]
async fn documents_past_the_limit_are_refused() {
    let app = empty_app().await;
    let token = app.admin_token().await;
    let many: Vec<Value> = (0..200).map(|n| feed_service(n, 10, "Padding")).collect();
    let document = Value::Array(many);
    let bytes = serde_json::to_vec(&document).unwrap_or_default();
    assert!(bytes.len() > signpost_api::http::MAX_BODY_BYTES);
    let response = app
        .client
        .post(app.url("/graphql"))
        .bearer_auth(&token)
        .json(&json!({ "query": IMPORT, "variables": { "document": document } }))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(
        response.status().as_u16(),
        413,
        "the HTTP body limit bounds the mutation"
    );
    let refused = import::import_bytes(&app.db, &Actor::system(), &bytes, false, 64 * 1024).await;
    assert!(
        matches!(refused, Err(DocumentError::TooLarge { .. })),
        "{refused:?}"
    );
    let not_json = import::import_bytes(&app.db, &Actor::system(), b"{", false, 1024).await;
    assert!(matches!(not_json, Err(DocumentError::NotJson(_))));
    assert_eq!(services(&app).await, 0);
}

#[tokio::test]
async fn ten_thousand_services_import_quickly() {
    let app = empty_app().await;
    let feed: Vec<Value> = (0..10_000u32)
        .map(|n| feed_service(n, 10 + n % 50, &format!("Generated service {n}")))
        .collect();
    let feed = Value::Array(feed);
    let bytes = serde_json::to_vec(&feed).unwrap_or_default();
    let started = std::time::Instant::now();
    let report = import::import_bytes(
        &app.db,
        &Actor::system(),
        &bytes,
        false,
        import::CLI_MAX_BYTES,
    )
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    let imported_in = started.elapsed();
    app.indexer
        .wait_for(report.last_seq)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    println!(
        "imported {} services ({} MiB) in {:.2} s; searchable after {:.2} s",
        report.imported,
        bytes.len() / (1024 * 1024),
        imported_in.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(report.imported, 10_000, "{:?}", report.failed.first());
    assert_eq!(services(&app).await, 10_000);
    let again = Instant::now();
    let second = import::import_bytes(
        &app.db,
        &Actor::system(),
        &bytes,
        false,
        import::CLI_MAX_BYTES,
    )
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    println!(
        "re-imported (all unchanged) in {:.2} s",
        again.elapsed().as_secs_f64()
    );
    assert_eq!(second.unchanged, 10_000);
}

#[tokio::test]
async fn signpost_extension_fields_are_imported_and_filterable() {
    let app = empty_app().await;
    let mut record = feed_service(2, 20, "Dads in mind");
    let mut plain = feed_service(3, 20, "Dads in mind drop-in");
    for (key, value) in [
        ("level_of_need", json!("specialist")),
        ("from_pregnancy", json!(true)),
        (
            "audiences",
            json!(["FATHERS", "co_parents", "FATHERS", "NOBODY"]),
        ),
        ("delivery_modes", json!(["ONLINE", "HOME_VISIT"])),
        ("self_referral", json!(false)),
        ("professional_referral", json!(true)),
    ] {
        record[key] = value;
    }
    // A prefix repeated in one catchment is one prefix, not a failed record.
    record["service_areas"] = json!([
        { "id": id(720_002), "name": "Cheltenham", "extent": "GL50, gl50 ,GL51", "extent_type": "postcode" }
    ]);
    plain["delivery_modes"] = json!(["GROUP"]);
    let report = import(&app, &json!([record, plain]), true).await;
    assert_eq!(report.imported, 2, "{report:?}");
    let areas = app
        .data(
            "query($id: ID!) { service(id: $id) { serviceAreas { postcodePrefix } } }",
            json!({ "id": id(2) }),
        )
        .await;
    assert_eq!(
        areas["service"]["serviceAreas"],
        json!([{ "postcodePrefix": "GL50" }, { "postcodePrefix": "GL51" }]),
        "{areas}"
    );

    let query = r#"query($f: ServiceFilter) { search(text: "dads", filter: $f) { edges { node {
        id levelOfNeed deliveryModes eligibility { fromPregnancy audiences }
        referral { selfReferral professionalReferral } } } } }"#;
    let data = app
        .data(
            query,
            json!({ "f": { "audiences": ["FATHERS"], "deliveryModes": ["ONLINE"], "pregnant": true } }),
        )
        .await;
    let edges = data["search"]["edges"].as_array().expect("edges");
    assert_eq!(edges.len(), 1, "{data}");
    let node = &edges[0]["node"];
    assert_eq!(node["id"], id(2).as_str());
    assert_eq!(node["levelOfNeed"], "SPECIALIST");
    assert_eq!(node["eligibility"]["fromPregnancy"], true);
    assert_eq!(
        node["eligibility"]["audiences"],
        json!(["FATHERS", "CO_PARENTS"])
    );
    assert_eq!(node["deliveryModes"], json!(["ONLINE", "HOME_VISIT"]));
    assert_eq!(node["referral"]["selfReferral"], false);
    assert_eq!(node["referral"]["professionalReferral"], true);

    // A later feed without the fields leaves them as they are; one with them changes them.
    let mut again = feed_service(2, 20, "Dads in mind");
    again["description"] = json!("Dads in mind: now with evening groups.");
    import(&app, &json!([again]), true).await;
    let data = app
        .data(query, json!({ "f": { "audiences": ["FATHERS"] } }))
        .await;
    let node = &data["search"]["edges"][0]["node"];
    assert_eq!(node["levelOfNeed"], "SPECIALIST", "{data}");
    assert_eq!(node["deliveryModes"], json!(["ONLINE", "HOME_VISIT"]));
    let mut changed = again.clone();
    changed["audiences"] = json!(["MOTHERS"]);
    changed["from_pregnancy"] = json!(false);
    import(&app, &json!([changed]), true).await;
    let data = app
        .data(query, json!({ "f": { "audiences": ["MOTHERS"] } }))
        .await;
    let node = &data["search"]["edges"][0]["node"];
    assert_eq!(
        node["eligibility"]["audiences"],
        json!(["MOTHERS"]),
        "{data}"
    );
    assert_eq!(node["eligibility"]["fromPregnancy"], false);
}
