//! Catchments as publishers write them (issue 12): country words, postcode lists and sectors,
//! authorities by name and ONS code, GeoJSON polygons, an area's name or description; what
//! cannot be read is reported with its path and listed for admins. Imported over HTTP, then
//! searched with `coversPostcode` (SQLite, and PostgreSQL when `DATABASE_URL` names one).

use serde_json::{Value, json};
use tests::{Options, TestApp};

const IMPORT: &str = r#"
mutation($document: JSON!) {
  importOpenReferral(document: $document) {
    imported failed { path message } warnings { path message }
  }
}"#;

const COVERS: &str = r#"query($postcode: String!) {
  search(filter: { coversPostcode: $postcode }, first: 50) { edges { node { name } } }
}"#;

fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// A polygon around the centroid of sector M33 7 (Sale) and of no other sector.
const SALE_POLYGON: &str = r#"{"type":"Polygon","coordinates":[[[-2.326,53.4235],[-2.318,53.4235],[-2.318,53.4285],[-2.326,53.4285],[-2.326,53.4235]]]}"#;

/// Services with one service area each, as an array of fully nested services.
fn document() -> Value {
    let areas: Vec<(&str, Value)> = vec![
        (
            "UK helpline",
            json!({ "name": "UK", "extent": "UK-wide", "extent_type": "text" }),
        ),
        (
            "England line",
            json!({ "name": "England", "extent": "England", "extent_type": "text" }),
        ),
        (
            "Wales line",
            json!({ "name": "Wales", "extent": "Wales", "extent_type": "text" }),
        ),
        (
            "Trafford team",
            json!({ "name": "Trafford", "extent": "Trafford Council", "extent_type": "text" }),
        ),
        (
            "Greater Manchester team",
            json!({ "name": "GM", "extent": "Greater Manchester", "extent_type": "text" }),
        ),
        (
            "Gloucestershire team",
            json!({ "name": "Glos", "extent": "E10000013", "extent_type": "text" }),
        ),
        (
            "Sale polygon team",
            json!({ "name": "Sale", "extent": SALE_POLYGON, "extent_type": "geojson" }),
        ),
        (
            "Sale sector team",
            json!({ "name": "Sale", "extent": "M33 7", "extent_type": "text" }),
        ),
        ("Stockport by name", json!({ "name": "Stockport" })),
        (
            "Cheltenham by description",
            json!({ "name": "Our patch", "description": "Families registered with a GP in Cheltenham." }),
        ),
        (
            "Unread catchment",
            json!({ "name": "Our patch", "extent": "Sale and Altrincham", "extent_type": "text" }),
        ),
        (
            "Norfolk and Waveney team",
            json!({ "name": "Norfolk and Waveney", "extent": "Norfolk and Waveney", "extent_type": "text" }),
        ),
    ];
    let services: Vec<Value> = areas
        .into_iter()
        .enumerate()
        .map(|(n, (name, mut area))| {
            let n = u32::try_from(n).unwrap_or_default();
            area["id"] = json!(id(2_000 + n));
            json!({
                "id": id(1_000 + n),
                "name": name,
                "description": "Perinatal mental health support.",
                "organization": { "id": id(1), "name": "Catchment trust", "description": "A trust." },
                "service_areas": [area],
            })
        })
        .collect();
    Value::Array(services)
}

async fn covering(app: &TestApp, postcode: &str) -> Vec<String> {
    let data = app.data(COVERS, json!({ "postcode": postcode })).await;
    let mut names: Vec<String> = data["search"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["node"]["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn catchments_in_every_form_are_searched_by_postcode() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let token = app.admin_token().await;
    let data = app
        .data_as(Some(&token), IMPORT, json!({ "document": document() }))
        .await;
    let report = &data["importOpenReferral"];
    assert_eq!(report["failed"], json!([]), "{report}");
    assert_eq!(report["imported"], 12, "{report}");
    assert_eq!(
        report["warnings"][0]["path"], "/10/service_areas/0/extent",
        "{report}"
    );
    assert!(
        report["warnings"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Sale and Altrincham")),
        "{report}"
    );
    assert_eq!(
        report["warnings"].as_array().map(Vec::len),
        Some(1),
        "{report}"
    );

    // Sale, Trafford, Greater Manchester, England.
    assert_eq!(
        covering(&app, "M33 7AB").await,
        [
            "England line",
            "Greater Manchester team",
            "Sale polygon team",
            "Sale sector team",
            "Trafford team",
            "UK helpline"
        ]
    );
    // Sale too, another sector: outside the polygon and the sector.
    assert_eq!(
        covering(&app, "M33 4AA").await,
        [
            "England line",
            "Greater Manchester team",
            "Trafford team",
            "UK helpline"
        ]
    );
    // Stockport: Greater Manchester, not Trafford.
    assert_eq!(
        covering(&app, "SK1 3AA").await,
        [
            "England line",
            "Greater Manchester team",
            "Stockport by name",
            "UK helpline"
        ]
    );
    // Cheltenham: Gloucestershire by its code, Cheltenham by the description.
    assert_eq!(
        covering(&app, "GL50 3AB").await,
        [
            "Cheltenham by description",
            "England line",
            "Gloucestershire team",
            "UK helpline"
        ]
    );
    // Cardiff: Wales is not England.
    assert_eq!(
        covering(&app, "CF10 1AA").await,
        ["UK helpline", "Wales line"]
    );
    // Lowestoft was in Waveney (abolished in 2019, now East Suffolk); Ipswich was not.
    assert_eq!(
        covering(&app, "NR32 1AA").await,
        ["England line", "Norfolk and Waveney team", "UK helpline"]
    );
    assert_eq!(
        covering(&app, "NR1 1AA").await,
        ["England line", "Norfolk and Waveney team", "UK helpline"]
    );
    assert_eq!(
        covering(&app, "IP1 1AA").await,
        ["England line", "UK helpline"]
    );
    // Edinburgh: only the whole UK.
    assert_eq!(covering(&app, "EH1 1AA").await, ["UK helpline"]);
    // A bare district resolves to the areas its sectors agree on.
    assert_eq!(
        covering(&app, "M33").await,
        [
            "England line",
            "Greater Manchester team",
            "Trafford team",
            "UK helpline"
        ]
    );

    // The kinds and their fields read back through GraphQL.
    let areas = app
        .data(
            "query($id: ID!) { service(id: $id) { serviceAreas { kind areaCode areaName extent } } }",
            json!({ "id": id(1_003) }),
        )
        .await;
    assert_eq!(
        areas["service"]["serviceAreas"],
        json!([{ "kind": "ADMINISTRATIVE_AREA", "areaCode": "E08000009", "areaName": "Trafford", "extent": null }])
    );
    let areas = app
        .data(
            "query($id: ID!) { service(id: $id) { serviceAreas { kind extent } } }",
            json!({ "id": id(1_006) }),
        )
        .await;
    assert_eq!(areas["service"]["serviceAreas"][0]["kind"], "POLYGON");
    assert_eq!(areas["service"]["serviceAreas"][0]["extent"], SALE_POLYGON);

    // Admins see what was not read.
    let unread = app
        .data_as(
            Some(&token),
            "{ unreadCatchments(first: 5) { totalCount edges { node { name } areas } } }",
            json!({}),
        )
        .await;
    assert_eq!(unread["unreadCatchments"]["totalCount"], 1, "{unread}");
    let edge = &unread["unreadCatchments"]["edges"][0];
    assert_eq!(edge["node"]["name"], "Unread catchment");
    assert_eq!(edge["areas"][0]["extent"], "Sale and Altrincham");
    let (code, _) = app
        .error("{ unreadCatchments { totalCount } }", json!({}))
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
}

fn service_input(areas: Value) -> Value {
    json!({
        "organizationId": id(1),
        "name": "Edited catchment",
        "description": "Perinatal mental health support.",
        "levelOfNeed": "UNIVERSAL",
        "eligibility": { "fromPregnancy": true, "audiences": [] },
        "referral": { "selfReferral": true, "professionalReferral": true },
        "deliveryModes": [],
        "languages": ["en"],
        "free": true,
        "serviceAreas": areas,
    })
}

#[tokio::test]
async fn editors_set_administrative_areas_and_polygons() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let token = app.admin_token().await;
    let data = app
        .data_as(Some(&token), IMPORT, json!({ "document": document() }))
        .await;
    assert_eq!(data["importOpenReferral"]["failed"], json!([]));
    let create = "mutation($input: ServiceInput!) { createService(input: $input) { id } }";
    let created = app
        .data_as(
            Some(&token),
            create,
            json!({ "input": service_input(json!([
                { "kind": "ADMINISTRATIVE_AREA", "name": "Stockport", "areaCode": "e08000007" },
                { "kind": "POLYGON", "name": "Sale", "extent": SALE_POLYGON }
            ])) }),
        )
        .await;
    assert!(created["createService"]["id"].is_string(), "{created}");
    assert!(
        covering(&app, "SK1 3AA")
            .await
            .contains(&"Edited catchment".to_owned())
    );
    assert!(
        covering(&app, "M33 7AB")
            .await
            .contains(&"Edited catchment".to_owned())
    );
    assert!(
        !covering(&app, "M33 4AA")
            .await
            .contains(&"Edited catchment".to_owned())
    );

    for (area, field, message) in [
        (
            json!({ "kind": "ADMINISTRATIVE_AREA", "name": "Nowhere", "areaCode": "E99999999" }),
            "input.serviceAreas[0].areaCode",
            "not a known ONS area code",
        ),
        (
            json!({ "kind": "ADMINISTRATIVE_AREA", "name": "Nowhere" }),
            "input.serviceAreas[0].areaCode",
            "needed for ADMINISTRATIVE_AREA",
        ),
        (
            json!({ "kind": "POLYGON", "name": "Nowhere", "extent": "{\"type\":\"Point\",\"coordinates\":[0,51]}" }),
            "input.serviceAreas[0].extent",
            "not a GeoJSON Polygon or MultiPolygon",
        ),
    ] {
        let body = app
            .graphql_as(
                Some(&token),
                create,
                json!({ "input": service_input(json!([area])) }),
            )
            .await;
        let (code, text) = tests::first_error(&body);
        assert_eq!(code, "BAD_USER_INPUT", "{body}");
        assert!(text.contains(field) && text.contains(message), "{body}");
    }
}

#[tokio::test]
async fn the_command_line_import_reports_unread_catchments_by_path() {
    let mut app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let settings = app.settings();
    app.stop().await;
    let file = settings.data_dir.join("feed.json");
    std::fs::write(&file, document().to_string()).expect("the feed is written");
    let output = tests::signpost_command(&settings)
        .arg("import")
        .arg(&file)
        .output()
        .expect("signpost import runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("imported 12"), "{stdout}");
    assert!(stdout.contains("warnings 1"), "{stdout}");
    assert!(
        stdout.contains("/10/service_areas/0/extent: could not read"),
        "{stdout}"
    );
}

const COVERAGE: &str = r#"query($filter: ServiceFilter, $near: NearInput) {
  search(filter: $filter, near: $near, first: 50) {
    totalCount
    edges { coverage { covered known area kind } unconfirmed node { id name } }
  }
}"#;

/// Services beyond [`document`]'s: a postcode district, and a catchment that cannot be read
/// for a service that meets in Sale.
fn more_services() -> Value {
    let service = |n: u32, name: &str, extent: &str, venue: Option<&str>| {
        let mut service = json!({
            "id": id(1_100 + n),
            "name": name,
            "description": "Perinatal mental health support.",
            "organization": { "id": id(1), "name": "Catchment trust", "description": "A trust." },
            "service_areas": [{ "id": id(2_100 + n), "name": "Our patch", "extent": extent, "extent_type": "text" }],
        });
        if let Some(postcode) = venue {
            service["service_at_locations"] = json!([{
                "id": id(3_100 + n),
                "location": {
                    "id": id(4_100 + n),
                    "location_type": "physical",
                    "name": "Family hub",
                    "addresses": [{ "id": id(5_100 + n), "address_1": "1 School Road", "city": "Sale", "postal_code": postcode, "country": "GB", "address_type": "physical" }]
                }
            }]);
        }
        service
    };
    json!([
        service(0, "Sale district team", "M33", None),
        service(
            1,
            "Unread catchment meeting in Sale",
            "Sale and Altrincham",
            Some("M33 7XW")
        ),
        service(
            2,
            "Unread catchment meeting in Stockport",
            "Sale and Altrincham",
            Some("SK1 3AA")
        ),
    ])
}

/// Each hit's name with its `coverage`, from a search with these variables.
async fn coverage_by_name(app: &TestApp, variables: Value) -> Vec<(String, Value)> {
    let data = app.data(COVERAGE, variables).await;
    let edges = data["search"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        data["search"]["totalCount"].as_u64(),
        Some(edges.len() as u64),
        "{data}"
    );
    let mut out: Vec<(String, Value)> = edges
        .iter()
        .map(|e| {
            (
                e["node"]["name"].as_str().unwrap_or_default().to_owned(),
                e["coverage"].clone(),
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[tokio::test]
async fn each_hit_says_whether_and_through_which_area_it_covers_the_postcode() {
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let token = app.admin_token().await;
    for document in [document(), more_services()] {
        let data = app
            .data_as(Some(&token), IMPORT, json!({ "document": document }))
            .await;
        assert_eq!(data["importOpenReferral"]["failed"], json!([]), "{data}");
    }
    let yes = |kind: &str, area: &str| json!({ "covered": true, "known": true, "area": area, "kind": kind });
    let no = json!({ "covered": false, "known": true, "area": null, "kind": null });
    let unstated = json!({ "covered": false, "known": false, "area": null, "kind": null });
    let expected: Vec<(&str, Value)> = vec![
        ("Cheltenham by description", no.clone()),
        ("England line", yes("COUNTRY", "England")),
        ("Gloucestershire team", no.clone()),
        (
            "Greater Manchester team",
            yes("ADMINISTRATIVE_AREA", "Greater Manchester"),
        ),
        ("Norfolk and Waveney team", no.clone()),
        (
            "Sale district team",
            yes("POSTCODE_DISTRICT", "postcode district M33"),
        ),
        (
            "Sale polygon team",
            yes("POSTCODE_SECTOR", "postcode sector M33 7"),
        ),
        (
            "Sale sector team",
            yes("POSTCODE_SECTOR", "postcode sector M33 7"),
        ),
        ("Stockport by name", no.clone()),
        ("Trafford team", yes("ADMINISTRATIVE_AREA", "Trafford")),
        ("UK helpline", yes("NATIONAL", "United Kingdom")),
        ("Unread catchment", unstated.clone()),
        (
            "Unread catchment meeting in Sale",
            json!({ "covered": true, "known": false, "area": "postcode district M33", "kind": "VENUE_DISTRICT" }),
        ),
        ("Unread catchment meeting in Stockport", unstated.clone()),
        ("Wales line", no.clone()),
    ];
    let expected: Vec<(String, Value)> = expected
        .into_iter()
        .map(|(name, coverage)| (name.to_owned(), coverage))
        .collect();

    // Every service, near a postcode in Sale: each says whether it covers it.
    let everything = coverage_by_name(&app, json!({ "near": { "postcode": "M33 7AB" } })).await;
    assert_eq!(everything, expected);

    // The filter keeps exactly those that say covered, and they say so again there.
    let kept = coverage_by_name(&app, json!({ "filter": { "coversPostcode": "M33 7AB" } })).await;
    let covered: Vec<(String, Value)> = expected
        .iter()
        .filter(|(_, coverage)| coverage["covered"] == true)
        .cloned()
        .collect();
    assert_eq!(kept, covered);
    assert_eq!(
        covering(&app, "M33 7AB").await,
        covered
            .iter()
            .map(|(name, _)| name.clone())
            .collect::<Vec<_>>()
    );
    // The filter's postcode wins over near's.
    let cardiff = coverage_by_name(
        &app,
        json!({ "filter": { "coversPostcode": "CF10 1AA" }, "near": { "postcode": "M33 7AB" } }),
    )
    .await;
    assert_eq!(
        cardiff,
        [
            ("UK helpline".to_owned(), yes("NATIONAL", "United Kingdom")),
            ("Wales line".to_owned(), yes("COUNTRY", "Wales")),
        ]
    );
    // Another sector of Sale: the sector and the polygon no longer cover it, the district does.
    let elsewhere = coverage_by_name(&app, json!({ "near": { "postcode": "M33 4AA" } })).await;
    let of = |name: &str| {
        elsewhere
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c.clone())
            .unwrap_or_default()
    };
    assert_eq!(of("Sale sector team"), no);
    assert_eq!(of("Sale polygon team"), no);
    assert_eq!(
        of("Sale district team"),
        yes("POSTCODE_DISTRICT", "postcode district M33")
    );

    // No postcode, or a point rather than a postcode: no coverage.
    for variables in [
        json!({}),
        json!({ "near": { "latitude": 53.4255, "longitude": -2.322 } }),
    ] {
        let hits = coverage_by_name(&app, variables.clone()).await;
        assert_eq!(hits.len(), expected.len(), "{variables}");
        assert!(
            hits.iter().all(|(_, c)| c.is_null()),
            "{variables}: {hits:?}"
        );
    }
}
