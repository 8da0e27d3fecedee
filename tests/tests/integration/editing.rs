//! The editing mutations through the real server: every input checked and refused naming the
//! field at fault with nothing partial written, optimistic concurrency, the audit trail and the
//! change feed, read-your-writes search, verification, events, listing reports and the
//! replacement of a listing's children.

use chrono::{Duration, Utc};
use entity::{
    ChangeOp, attribute, audit_event, change, contact, event, listing_report, location,
    organization, phone, schedule, service, service_area, service_at_location, taxonomy_term,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder,
};
use serde_json::{Value, json};
use tests::{TestApp, first_error};
use uuid::Uuid;

/// The fields of a service the tests read back.
const SERVICE_FIELDS: &str = "fragment S on Service {
    id name version status assuredDate assurer languages
    organization { id }
    phones { number description visibility }
    serviceAreas { kind name postcodePrefix latitude longitude radiusKm }
    locations { id name address1 city postcode latitude longitude }
    contacts { name title email phone visibility }
    schedules { weekday opensAt closesAt description }
    taxonomyTerms { id }
}";

fn create_service_query() -> String {
    format!(
        "mutation($input: ServiceInput!) {{ createService(input: $input) {{ ...S }} }} {SERVICE_FIELDS}"
    )
}

fn update_service_query() -> String {
    format!(
        "mutation($id: ID!, $v: Int!, $input: ServiceInput!) {{ updateService(id: $id, expectedVersion: $v, input: $input) {{ ...S }} }} {SERVICE_FIELDS}"
    )
}

fn archive_service_query() -> String {
    format!(
        "mutation($id: ID!, $v: Int!) {{ archiveService(id: $id, expectedVersion: $v) {{ ...S }} }} {SERVICE_FIELDS}"
    )
}

fn verify_service_query() -> String {
    format!("mutation($id: ID!) {{ verifyService(id: $id) {{ ...S }} }} {SERVICE_FIELDS}")
}

const CREATE_ORGANIZATION: &str = "mutation($input: OrganizationInput!) { createOrganization(input: $input) { id name email website phone } }";
const UPDATE_ORGANIZATION: &str = "mutation($id: ID!, $input: OrganizationInput!) { updateOrganization(id: $id, input: $input) { id name email website phone } }";
const CREATE_EVENT: &str = "mutation($input: EventInput!) { createEvent(input: $input) { id title startsAt endsAt postcode latitude longitude service { id } } }";
const REPORT: &str =
    "mutation($s: ID!, $m: String!) { reportListingProblem(serviceId: $s, message: $m) }";
const AUDIT_LOG: &str =
    "query($id: ID!) { auditLog(entityId: $id) { actor action entity entityId before after at } }";

/// How many rows every table an edit may touch holds.
#[derive(Debug, PartialEq, Eq)]
struct Counts {
    services: u64,
    service_areas: u64,
    phones: u64,
    locations: u64,
    service_locations: u64,
    contacts: u64,
    schedules: u64,
    attributes: u64,
    organizations: u64,
    events: u64,
    listing_reports: u64,
    audit_events: u64,
    changes: u64,
}

async fn counts(app: &TestApp) -> Counts {
    let db = &app.db;
    Counts {
        services: service::Entity::find().count(db).await.expect("count"),
        service_areas: service_area::Entity::find().count(db).await.expect("count"),
        phones: phone::Entity::find().count(db).await.expect("count"),
        locations: location::Entity::find().count(db).await.expect("count"),
        service_locations: service_at_location::Entity::find()
            .count(db)
            .await
            .expect("count"),
        contacts: contact::Entity::find().count(db).await.expect("count"),
        schedules: schedule::Entity::find().count(db).await.expect("count"),
        attributes: attribute::Entity::find().count(db).await.expect("count"),
        organizations: organization::Entity::find().count(db).await.expect("count"),
        events: event::Entity::find().count(db).await.expect("count"),
        listing_reports: listing_report::Entity::find()
            .count(db)
            .await
            .expect("count"),
        audit_events: audit_event::Entity::find().count(db).await.expect("count"),
        changes: change::Entity::find().count(db).await.expect("count"),
    }
}

/// The seeded organisations, in name order.
async fn organizations(app: &TestApp) -> Vec<organization::Model> {
    organization::Entity::find()
        .order_by_asc(organization::Column::Name)
        .all(&app.db)
        .await
        .expect("organisations")
}

/// Some seeded taxonomy term ids.
async fn term_ids(app: &TestApp) -> Vec<String> {
    let terms = taxonomy_term::Entity::find()
        .order_by_asc(taxonomy_term::Column::Name)
        .all(&app.db)
        .await
        .expect("terms");
    assert!(terms.len() >= 4, "the demo taxonomy has terms");
    terms.iter().map(|t| t.id.to_string()).collect()
}

/// A valid listing with children of every kind.
fn service_input(organization: &str, name: &str, terms: &[String]) -> Value {
    json!({
        "organizationId": organization,
        "name": name,
        "alternateName": "Drop-in group",
        "description": "A friendly weekly group for parents and babies under one.",
        "url": "https://example.org/groups/baby",
        "email": "hello@example.org",
        "levelOfNeed": "UNIVERSAL",
        "eligibility": {
            "fromPregnancy": true,
            "minAgeMonths": 0,
            "maxAgeMonths": 12,
            "audiences": ["MOTHERS", "FATHERS"],
            "description": "Parents and carers of babies under one"
        },
        "referral": {
            "selfReferral": true,
            "professionalReferral": false,
            "instructions": "Just turn up"
        },
        "deliveryModes": ["IN_PERSON", "GROUP"],
        "languages": ["en", "cy"],
        "free": true,
        "feesDescription": "Free",
        "fundingSource": "The council",
        "serviceAreas": [
            { "kind": "NATIONAL", "name": "Everywhere" },
            { "kind": "POSTCODE_PREFIX", "name": "Cheltenham", "postcodePrefix": "GL50" },
            {
                "kind": "RADIUS", "name": "Around the hub",
                "latitude": 51.9, "longitude": -2.07, "radiusKm": 10
            }
        ],
        "locations": [
            {
                "name": "The family hub", "address1": "1 High Street", "city": "Cheltenham",
                "postcode": "GL50 3AB", "latitude": 51.9, "longitude": -2.07,
                "accessibility": "Step-free access"
            }
        ],
        "contacts": [
            {
                "name": "Sam Jones", "title": "Coordinator", "email": "sam@example.org",
                "phone": "01632 960000", "visibility": "PUBLIC"
            }
        ],
        "phones": [
            { "number": "01632 960001", "description": "Bookings" },
            { "number": "+44 7700 900000", "description": "Text line", "visibility": "PROFESSIONAL" }
        ],
        "schedules": [
            { "weekday": 1, "opensAt": "09:30", "closesAt": "11:30", "description": "Drop-in" }
        ],
        "taxonomyTermIds": [terms[0], terms[1]]
    })
}

/// `base` with each JSON-pointer edit applied (the last segment may name a new key).
fn edited(base: &Value, edits: &[(&str, Value)]) -> Value {
    let mut out = base.clone();
    for (pointer, value) in edits {
        let (parent, key) = pointer
            .rsplit_once('/')
            .unwrap_or_else(|| panic!("{pointer} is not a JSON pointer"));
        let target = out
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("no {parent} in the input"));
        match target {
            Value::Object(map) => {
                map.insert(key.to_owned(), value.clone());
            }
            Value::Array(items) => {
                let index: usize = key.parse().expect("an array index");
                items[index] = value.clone();
            }
            other => panic!("cannot set {key} in {other}"),
        }
    }
    out
}

/// An invalid input: the edits that break a valid one, the field the error must name and what
/// it must say.
struct Case {
    edits: Vec<(&'static str, Value)>,
    field: String,
    says: &'static str,
}

/// A case whose error names a field other than the one edited.
fn case(edits: Vec<(&'static str, Value)>, field: &str, says: &'static str) -> Case {
    Case {
        edits,
        field: field.to_owned(),
        says,
    }
}

/// A case whose error names the edited field (`/phones/0/number` is `input.phones[0].number`).
fn at(pointer: &'static str, value: Value, says: &'static str) -> Case {
    let mut field = String::from("input");
    for part in pointer.split('/').skip(1) {
        if part.chars().all(|c| c.is_ascii_digit()) {
            field.push_str(&format!("[{part}]"));
        } else {
            field.push('.');
            field.push_str(part);
        }
    }
    Case {
        edits: vec![(pointer, value)],
        field,
        says,
    }
}

fn long(n: usize) -> Value {
    Value::String("x".repeat(n))
}

fn many(n: usize, item: Value) -> Value {
    Value::Array(vec![item; n])
}

/// Every rule a `ServiceInput` is held to, each broken once.
fn invalid_services(terms: &[String]) -> Vec<Case> {
    let nobody = Uuid::new_v4().to_string();
    let too_many = "at most 50 items, not 51";
    vec![
        // Lengths and text.
        at("/name", json!(""), "must not be empty"),
        at("/name", json!("   "), "must not be empty"),
        at("/name", json!("A"), "at least 2 characters"),
        at("/name", long(301), "at most 300 characters"),
        at("/name", json!("Baby\u{7}club"), "control characters"),
        at("/description", json!("Too short"), "at least 20 characters"),
        at("/description", long(5_001), "at most 5000 characters"),
        at("/alternateName", long(301), "at most 300"),
        at("/eligibility/description", long(2_001), "at most 2000"),
        at("/referral/instructions", long(2_001), "at most 2000"),
        at("/feesDescription", long(2_001), "at most 2000"),
        at("/fundingSource", long(301), "at most 300"),
        at("/serviceAreas/0/name", json!(" "), "must not be empty"),
        at("/serviceAreas/1/name", long(301), "at most 300"),
        at("/locations/0/name", long(301), "at most 300"),
        at("/locations/0/address1", long(301), "at most 300"),
        at("/locations/0/city", long(121), "at most 120"),
        at("/locations/0/accessibility", long(2_001), "at most 2000"),
        at("/contacts/0/name", long(301), "at most 300"),
        at("/contacts/0/title", long(301), "at most 300"),
        at("/phones/1/description", long(301), "at most 300"),
        at("/schedules/0/description", long(501), "at most 500"),
        // Email addresses.
        at("/email", json!("not-an-email"), "not an email address"),
        at("/email", json!("someone@localhost"), "not an email address"),
        at("/email", json!("a b@example.org"), "not an email address"),
        at(
            "/email",
            json!(format!("{}@example.org", "a".repeat(250))),
            "at most 254 characters",
        ),
        at(
            "/contacts/0/email",
            json!("sam@@example.org"),
            "not an email address",
        ),
        // URLs.
        at(
            "/url",
            json!("example.org"),
            "not an absolute http or https URL",
        ),
        at(
            "/url",
            json!("ftp://example.org/file"),
            "must be an http or https URL",
        ),
        at("/url", json!("javascript:alert(1)"), "http or https"),
        at(
            "/url",
            json!("https://user:secret@example.org/"),
            "user name or password",
        ),
        at(
            "/url",
            json!(format!("https://example.org/{}", "a".repeat(2_048))),
            "at most 2048 characters",
        ),
        // UK phone numbers.
        at("/phones/0/number", json!(""), "must not be empty"),
        at(
            "/phones/0/number",
            json!("+1 202 555 0100"),
            "only digits, spaces and a leading +44",
        ),
        at("/phones/1/number", json!("01632-960000"), "only digits"),
        at(
            "/phones/0/number",
            json!("+44 01632 960000"),
            "without the 0",
        ),
        at(
            "/phones/0/number",
            json!("1632 960000"),
            "start with 0 or +44",
        ),
        at(
            "/phones/0/number",
            json!("0033 123 456 789"),
            "must be a UK number",
        ),
        at("/phones/0/number", json!("0163 296"), "10 or 11 digits"),
        at("/contacts/0/phone", json!("(01632) 960000"), "only digits"),
        // UK postcodes.
        at(
            "/locations/0/postcode",
            json!("GL50"),
            "must be a full postcode",
        ),
        at("/locations/0/postcode", json!("12345"), "not a UK postcode"),
        at(
            "/locations/0/postcode",
            json!("GL50-3AB"),
            "not a UK postcode",
        ),
        // Postcode prefixes.
        at(
            "/serviceAreas/1/postcodePrefix",
            json!("GL50 3AB"),
            "not a postcode area or district",
        ),
        at(
            "/serviceAreas/1/postcodePrefix",
            json!("GL500"),
            "not a postcode area or district",
        ),
        at(
            "/serviceAreas/1/postcodePrefix",
            json!("  "),
            "must not be empty",
        ),
        at(
            "/serviceAreas/1/postcodePrefix",
            Value::Null,
            "needed for POSTCODE_PREFIX",
        ),
        // RADIUS catchments: a radius and a centre within Great Britain and Northern Ireland.
        at("/serviceAreas/2/radiusKm", Value::Null, "needed for RADIUS"),
        case(
            vec![
                ("/serviceAreas/2/latitude", Value::Null),
                ("/serviceAreas/2/longitude", Value::Null),
            ],
            "input.serviceAreas[2].latitude",
            "needed for RADIUS",
        ),
        case(
            vec![("/serviceAreas/2/longitude", Value::Null)],
            "input.serviceAreas[2]",
            "give both latitude and longitude",
        ),
        case(
            vec![("/serviceAreas/2/latitude", json!(48.85))],
            "input.serviceAreas[2]",
            "latitude must be between 49.5 and 61.5",
        ),
        case(
            vec![("/serviceAreas/2/longitude", json!(2.35))],
            "input.serviceAreas[2]",
            "longitude must be between -8.8 and 2.2",
        ),
        at(
            "/serviceAreas/2/radiusKm",
            json!(0),
            "above 0 and at most 500 km",
        ),
        at("/serviceAreas/2/radiusKm", json!(-5), "above 0"),
        at("/serviceAreas/2/radiusKm", json!(500.5), "at most 500 km"),
        // Locations' positions.
        case(
            vec![("/locations/0/latitude", json!(62.0))],
            "input.locations[0]",
            "latitude must be between 49.5 and 61.5",
        ),
        case(
            vec![("/locations/0/longitude", json!(-9.0))],
            "input.locations[0]",
            "longitude must be between -8.8 and 2.2",
        ),
        case(
            vec![("/locations/0/latitude", Value::Null)],
            "input.locations[0]",
            "give both latitude and longitude",
        ),
        // Ages.
        at(
            "/eligibility/minAgeMonths",
            json!(-1),
            "between 0 and 60 months",
        ),
        at(
            "/eligibility/maxAgeMonths",
            json!(61),
            "between 0 and 60 months",
        ),
        case(
            vec![
                ("/eligibility/minAgeMonths", json!(24)),
                ("/eligibility/maxAgeMonths", json!(12)),
            ],
            "input.eligibility.minAgeMonths",
            "must not be above input.eligibility.maxAgeMonths",
        ),
        // Languages.
        case(
            vec![("/languages", json!(["en", "xx"]))],
            "input.languages[1]",
            "unknown ISO 639-1 language code",
        ),
        case(
            vec![("/languages", json!(["eng"]))],
            "input.languages[0]",
            "two-letter ISO 639-1",
        ),
        case(
            vec![("/languages", json!(["en-GB"]))],
            "input.languages[0]",
            "two-letter ISO 639-1",
        ),
        // Opening hours.
        at("/schedules/0/opensAt", json!("9:30"), "HH:MM"),
        at("/schedules/0/closesAt", json!("24:00"), "HH:MM"),
        at("/schedules/0/opensAt", json!("09:30:00"), "HH:MM"),
        case(
            vec![
                ("/schedules/0/opensAt", json!("17:00")),
                ("/schedules/0/closesAt", json!("09:00")),
            ],
            "input.schedules[0].closesAt",
            "must be after input.schedules[0].opensAt",
        ),
        at(
            "/schedules/0/closesAt",
            json!("09:30"),
            "must be after input.schedules[0].opensAt",
        ),
        at(
            "/schedules/0/weekday",
            json!(0),
            "from 1 (Monday) to 7 (Sunday)",
        ),
        at(
            "/schedules/0/weekday",
            json!(8),
            "from 1 (Monday) to 7 (Sunday)",
        ),
        // Taxonomy terms and the organisation.
        case(
            vec![("/taxonomyTermIds", json!([terms[0], nobody]))],
            "input.taxonomyTermIds[1]",
            "no such taxonomy term",
        ),
        case(
            vec![("/taxonomyTermIds", json!(["not-a-term"]))],
            "input.taxonomyTermIds[0]",
            "not a valid id",
        ),
        at("/organizationId", json!(nobody), "no such organisation"),
        at("/organizationId", json!("org-1"), "not a valid id"),
        // Too many children.
        at(
            "/phones",
            many(51, json!({ "number": "01632 960001" })),
            too_many,
        ),
        at(
            "/serviceAreas",
            many(51, json!({ "kind": "NATIONAL", "name": "UK" })),
            too_many,
        ),
        at(
            "/locations",
            many(51, json!({ "name": "A hall" })),
            too_many,
        ),
        at("/contacts", many(51, json!({ "name": "Sam" })), too_many),
        at(
            "/schedules",
            many(60, json!({ "weekday": 2 })),
            "at most 50 items, not 60",
        ),
        at("/taxonomyTermIds", many(51, json!(terms[0])), too_many),
        at("/languages", many(51, json!("en")), too_many),
        // Referral routes.
        case(
            vec![
                ("/referral/selfReferral", json!(false)),
                ("/referral/professionalReferral", json!(false)),
            ],
            "input.referral",
            "self-referrals, professional referrals or both",
        ),
    ]
}

/// Values a `ServiceInput` refuses while the request is read, before any resolver runs: the
/// edit, the argument path the error must name (as GraphQL writes it) and what it must say.
fn invalid_service_values() -> Vec<(&'static str, Value, &'static str, &'static str)> {
    vec![
        (
            "/status",
            json!("CLOSED_FOREVER"),
            "input.status",
            "CLOSED_FOREVER",
        ),
        (
            "/levelOfNeed",
            json!("URGENT"),
            "input.levelOfNeed",
            "URGENT",
        ),
        (
            "/eligibility/audiences",
            json!(["MOTHERS", "GRANDPARENTS"]),
            "input.eligibility.audiences.1",
            "GRANDPARENTS",
        ),
        (
            "/deliveryModes",
            json!(["CARRIER_PIGEON"]),
            "input.deliveryModes.0",
            "CARRIER_PIGEON",
        ),
        (
            "/serviceAreas/0/kind",
            json!("GALAXY"),
            "input.serviceAreas.0.kind",
            "GALAXY",
        ),
        (
            "/phones/1/visibility",
            json!("SECRET"),
            "input.phones.1.visibility",
            "SECRET",
        ),
        (
            "/contacts/0/visibility",
            json!("PRIVATE"),
            "input.contacts.0.visibility",
            "PRIVATE",
        ),
        (
            "/referral/selfReferral",
            json!("yes"),
            "input.referral.selfReferral",
            "expected type \"Boolean\"",
        ),
        (
            "/schedules/0/weekday",
            json!("Monday"),
            "input.schedules.0.weekday",
            "expected type \"Int\"",
        ),
    ]
}

/// Asserts `body` is a BAD_USER_INPUT error whose message starts with `field` and says `says`.
fn assert_refused(body: &Value, field: &str, says: &str, what: &str) {
    let (code, message) = first_error(body);
    assert_eq!(code, "BAD_USER_INPUT", "{what}: {body}");
    assert!(
        message.starts_with(&format!("{field}: ")),
        "{what}: {message:?} does not name {field}"
    );
    assert!(
        message.contains(says),
        "{what}: {message:?} does not say {says:?}"
    );
    assert!(
        body["data"].is_null(),
        "{what}: a refused write returned data: {body}"
    );
}

async fn create_service(app: &TestApp, token: &str, input: &Value) -> Value {
    let data = app
        .data_as(
            Some(token),
            &create_service_query(),
            json!({ "input": input }),
        )
        .await;
    data["createService"].clone()
}

async fn update_service(
    app: &TestApp,
    token: &str,
    id: &str,
    version: i64,
    input: &Value,
) -> Value {
    let data = app
        .data_as(
            Some(token),
            &update_service_query(),
            json!({ "id": id, "v": version, "input": input }),
        )
        .await;
    data["updateService"].clone()
}

async fn location_exists(app: &TestApp, id: Uuid) -> bool {
    location::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .is_some()
}

fn uuid_of(value: &Value) -> Uuid {
    value
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_else(|| panic!("{value} is not an id"))
}

async fn service_row(app: &TestApp, id: Uuid) -> service::Model {
    service::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("the service")
}

async fn changes_of(app: &TestApp, id: Uuid) -> Vec<change::Model> {
    change::Entity::find()
        .filter(change::Column::EntityId.eq(id))
        .order_by_asc(change::Column::Seq)
        .all(&app.db)
        .await
        .expect("changes")
}

async fn audits_of(app: &TestApp, id: Uuid) -> Vec<audit_event::Model> {
    audit_event::Entity::find()
        .filter(audit_event::Column::EntityId.eq(id))
        .order_by_asc(audit_event::Column::At)
        .all(&app.db)
        .await
        .expect("audit events")
}

/// The ids a free-text search (ACTIVE listings, the default) finds.
async fn search_ids(app: &TestApp, text: &str) -> Vec<String> {
    let data = app
        .data(
            "query($t: String) { search(text: $t, first: 50) { edges { node { id } } } }",
            json!({ "t": text }),
        )
        .await;
    data["search"]["edges"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn service_inputs_are_checked_naming_the_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let org = organizations(&app).await[0].id.to_string();
    let terms = term_ids(&app).await;
    let valid = service_input(&org, "Rhymetime for babies", &terms);
    let existing = create_service(&app, &admin, &valid).await;
    let id = existing["id"].as_str().expect("id").to_owned();
    let row_before = service_row(&app, uuid_of(&existing["id"])).await;
    let before = counts(&app).await;

    let cases = invalid_services(&terms);
    assert!(cases.len() > 60);
    for case in &cases {
        let input = edited(&valid, &case.edits);
        let what = format!("createService with {:?}", case.edits);
        let body = app
            .graphql_as(
                Some(&admin),
                &create_service_query(),
                json!({ "input": input }),
            )
            .await;
        assert_refused(&body, &case.field, case.says, &what);

        let what = format!("updateService with {:?}", case.edits);
        let body = app
            .graphql_as(
                Some(&admin),
                &update_service_query(),
                json!({ "id": id, "v": 1, "input": input }),
            )
            .await;
        assert_refused(&body, &case.field, case.says, &what);
    }
    for (pointer, value, path, says) in invalid_service_values() {
        let input = edited(&valid, &[(pointer, value)]);
        for (query, vars) in [
            (create_service_query(), json!({ "input": input })),
            (
                update_service_query(),
                json!({ "id": id, "v": 1, "input": input }),
            ),
        ] {
            let body = app.graphql_as(Some(&admin), &query, vars).await;
            let (code, message) = first_error(&body);
            assert_eq!(code, "BAD_USER_INPUT", "{pointer}: {body}");
            assert!(
                message.contains(&format!("\"{path}\"")) && message.contains(says),
                "{pointer}: {message}"
            );
            assert!(body["data"].is_null(), "{pointer}: {body}");
        }
    }
    // A date that is no date: refused as the request is read, naming the field.
    let input = edited(&valid, &[("/fundingEndsOn", json!("31/03/2027"))]);
    let body = app
        .graphql_as(
            Some(&admin),
            &create_service_query(),
            json!({ "input": input }),
        )
        .await;
    let (code, message) = first_error(&body);
    assert_eq!(code, "BAD_USER_INPUT", "{body}");
    assert!(
        message.contains("input.fundingEndsOn") && message.contains("Date"),
        "{message}"
    );
    // The listing's own id, on update.
    let body = app
        .graphql_as(
            Some(&admin),
            &update_service_query(),
            json!({ "id": "listing-1", "v": 1, "input": valid }),
        )
        .await;
    assert_refused(&body, "id", "not a valid id", "updateService with a bad id");

    assert_eq!(
        counts(&app).await,
        before,
        "a refused write changed something"
    );
    assert_eq!(
        service_row(&app, row_before.id).await,
        row_before,
        "a refused update changed the listing"
    );
}

#[tokio::test]
async fn organization_inputs_are_checked_naming_the_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let existing = organizations(&app).await.remove(0);
    let valid = json!({
        "name": "Cheltenham Baby Bank",
        "description": "Clothes, cots and prams for families who need them.",
        "email": "info@example.org",
        "website": "https://example.org/",
        "phone": "01632 960123",
        "charityNumber": "1234567",
        "companyNumber": "01234567"
    });
    let before = counts(&app).await;
    let cases = vec![
        at("/name", json!(""), "must not be empty"),
        at("/name", json!("A"), "at least 2 characters"),
        at("/name", long(301), "at most 300 characters"),
        at("/name", json!("Bank\u{1b}[31m"), "control characters"),
        at("/description", long(5_001), "at most 5000"),
        at("/email", json!("info.example.org"), "not an email address"),
        at("/email", json!("info@example.123"), "not an email address"),
        at(
            "/website",
            json!("www.example.org"),
            "not an absolute http or https URL",
        ),
        at(
            "/website",
            json!("mailto:info@example.org"),
            "http or https",
        ),
        at("/phone", json!("+33 1 23 45 67 89"), "only digits"),
        at("/phone", json!("01632 9601234"), "10 or 11 digits"),
        at("/charityNumber", long(33), "at most 32"),
        at("/companyNumber", long(33), "at most 32"),
    ];
    for case in &cases {
        let input = edited(&valid, &case.edits);
        let body = app
            .graphql_as(Some(&admin), CREATE_ORGANIZATION, json!({ "input": input }))
            .await;
        assert_refused(
            &body,
            &case.field,
            case.says,
            &format!("createOrganization with {:?}", case.edits),
        );
        let body = app
            .graphql_as(
                Some(&admin),
                UPDATE_ORGANIZATION,
                json!({ "id": existing.id.to_string(), "input": input }),
            )
            .await;
        assert_refused(
            &body,
            &case.field,
            case.says,
            &format!("updateOrganization with {:?}", case.edits),
        );
    }
    let body = app
        .graphql_as(
            Some(&admin),
            UPDATE_ORGANIZATION,
            json!({ "id": "org-1", "input": valid }),
        )
        .await;
    assert_refused(
        &body,
        "id",
        "not a valid id",
        "updateOrganization with a bad id",
    );
    assert_eq!(
        counts(&app).await,
        before,
        "a refused write changed something"
    );
    let after = organization::Entity::find_by_id(existing.id)
        .one(&app.db)
        .await
        .expect("query")
        .expect("the organisation");
    assert_eq!(after, existing, "a refused update changed the organisation");

    // The valid input is written, normalised.
    let data = app
        .data_as(Some(&admin), CREATE_ORGANIZATION, json!({ "input": valid }))
        .await;
    assert_eq!(data["createOrganization"]["name"], "Cheltenham Baby Bank");
    assert_eq!(
        data["createOrganization"]["website"],
        "https://example.org/"
    );
}

#[tokio::test]
async fn event_and_report_inputs_are_checked_naming_the_field_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let org = organizations(&app).await[0].id.to_string();
    let terms = term_ids(&app).await;
    let listing = create_service(&app, &admin, &service_input(&org, "Baby massage", &terms)).await;
    let service_id = listing["id"].as_str().expect("id").to_owned();
    let starts = Utc::now() + Duration::days(3);
    let time = |offset: Duration| (starts + offset).to_rfc3339();
    let valid = json!({
        "serviceId": service_id,
        "title": "Baby massage taster",
        "description": "Bring a towel.",
        "startsAt": time(Duration::zero()),
        "endsAt": time(Duration::hours(2)),
        "placeName": "The family hub",
        "address": "1 High Street, Cheltenham",
        "postcode": "GL50 3AB",
        "latitude": 51.9,
        "longitude": -2.07
    });
    let before = counts(&app).await;
    let cases = vec![
        at("/serviceId", json!("listing-1"), "not a valid id"),
        at("/title", json!(" "), "must not be empty"),
        at("/title", json!("A"), "at least 2 characters"),
        at("/title", long(301), "at most 300 characters"),
        at("/description", long(5_001), "at most 5000"),
        at("/placeName", long(301), "at most 300"),
        at("/address", long(501), "at most 500"),
        at("/postcode", json!("GL50"), "must be a full postcode"),
        at("/postcode", json!("not a postcode"), "not a UK postcode"),
        case(
            vec![("/latitude", json!(40.0))],
            "input",
            "latitude must be between 49.5 and 61.5",
        ),
        case(
            vec![("/longitude", json!(3.0))],
            "input",
            "longitude must be between -8.8 and 2.2",
        ),
        case(
            vec![("/longitude", Value::Null)],
            "input",
            "give both latitude and longitude",
        ),
        at(
            "/endsAt",
            json!(time(-Duration::minutes(1))),
            "must be after input.startsAt",
        ),
        at(
            "/endsAt",
            json!(time(Duration::zero())),
            "must be after input.startsAt",
        ),
        at(
            "/endsAt",
            json!(time(Duration::days(14) + Duration::minutes(1))),
            "an event may last at most 14 days",
        ),
    ];
    for case in &cases {
        let input = edited(&valid, &case.edits);
        let body = app
            .graphql_as(Some(&admin), CREATE_EVENT, json!({ "input": input }))
            .await;
        assert_refused(
            &body,
            &case.field,
            case.says,
            &format!("createEvent with {:?}", case.edits),
        );
    }
    let body = app
        .graphql_as(
            Some(&admin),
            CREATE_EVENT,
            json!({ "input": edited(&valid, &[("/startsAt", json!("next Tuesday"))]) }),
        )
        .await;
    let (code, message) = first_error(&body);
    assert_eq!(code, "BAD_USER_INPUT", "{body}");
    assert!(
        message.contains("input.startsAt") && message.contains("DateTime"),
        "{message}"
    );
    // An event of a listing that does not exist.
    let body = app
        .graphql_as(
            Some(&admin),
            CREATE_EVENT,
            json!({ "input": edited(&valid, &[("/serviceId", json!(Uuid::new_v4().to_string()))]) }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");

    // Reports, anonymous as they usually are.
    let reports = vec![
        (
            "listing-1",
            json!("The phone number is wrong"),
            "serviceId",
            "not a valid id",
        ),
        (
            service_id.as_str(),
            json!(""),
            "message",
            "must not be empty",
        ),
        (
            service_id.as_str(),
            json!("bad"),
            "message",
            "at least 5 characters",
        ),
        (
            service_id.as_str(),
            long(2_001),
            "message",
            "at most 2000 characters",
        ),
        (
            service_id.as_str(),
            json!("Wrong\u{0}number"),
            "message",
            "control characters",
        ),
    ];
    for (id, message, field, says) in &reports {
        let body = app.graphql(REPORT, json!({ "s": id, "m": message })).await;
        assert_refused(&body, field, says, &format!("report {id} {message}"));
    }
    let body = app
        .graphql(
            REPORT,
            json!({ "s": Uuid::new_v4().to_string(), "m": "This listing is out of date" }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
    assert_eq!(
        counts(&app).await,
        before,
        "a refused write changed something"
    );

    // The valid event is written.
    let data = app
        .data_as(Some(&admin), CREATE_EVENT, json!({ "input": valid }))
        .await;
    assert_eq!(data["createEvent"]["title"], "Baby massage taster");
    assert_eq!(data["createEvent"]["postcode"], "GL50 3AB");
}

#[tokio::test]
async fn concurrent_updates_with_one_version_let_exactly_one_win() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let org = organizations(&app).await[0].id.to_string();
    let terms = term_ids(&app).await;
    let created = create_service(
        &app,
        &admin,
        &service_input(&org, "Bumps and babies", &terms),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    let uuid = uuid_of(&created["id"]);
    assert_eq!(created["version"], 1);

    for round in 1..=5_i64 {
        let before = counts(&app).await;
        let audits_before = audits_of(&app, uuid).await.len();
        let changes_before = changes_of(&app, uuid).await.len();
        let names = [format!("Left edit {round}"), format!("Right edit {round}")];
        let inputs = names
            .iter()
            .map(|name| service_input(&org, name, &terms))
            .collect::<Vec<_>>();
        let query = update_service_query();
        let (left, right) = tokio::join!(
            app.post_as(
                Some(&admin),
                &query,
                json!({ "id": id, "v": round, "input": inputs[0] }),
            ),
            app.post_as(
                Some(&admin),
                &query,
                json!({ "id": id, "v": round, "input": inputs[1] }),
            ),
        );
        assert_eq!((left.0, right.0), (200, 200), "{left:?} {right:?}");
        let outcomes = [&left.1, &right.1];
        let winners: Vec<usize> = (0..2)
            .filter(|&i| outcomes[i].get("errors").is_none())
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {left:?} {right:?}");
        let winner = winners[0];
        let loser = outcomes[1 - winner];
        let (code, message) = first_error(loser);
        assert_eq!(code, "CONFLICT", "round {round}: {loser}");
        assert!(message.contains("expectedVersion"), "{message}");
        assert!(loser["data"].is_null(), "{loser}");
        let won = &outcomes[winner]["data"]["updateService"];
        assert_eq!(won["name"], names[winner].as_str());
        assert_eq!(won["version"], round + 1);

        let row = service_row(&app, uuid).await;
        assert_eq!(
            row.name, names[winner],
            "the database holds the winner's edit"
        );
        assert_eq!(
            i64::from(row.version),
            round + 1,
            "the version went up by one"
        );
        let audits = audits_of(&app, uuid).await;
        assert_eq!(audits.len(), audits_before + 1, "one audit row per win");
        let last = audits.last().expect("an audit row");
        assert_eq!(last.action, "service.update");
        assert_eq!(
            last.after
                .as_ref()
                .and_then(|a| a["service"]["name"].as_str()),
            Some(names[winner].as_str())
        );
        let changes = changes_of(&app, uuid).await;
        assert_eq!(changes.len(), changes_before + 1, "one change row per win");
        assert_eq!(changes.last().map(|c| c.op), Some(ChangeOp::Update));
        let after = counts(&app).await;
        assert_eq!(after.audit_events, before.audit_events + 1);
        assert_eq!(after.changes, before.changes + 1);
        assert_eq!(after.services, before.services);
        assert_eq!(after.phones, before.phones, "children were replaced once");
        assert_eq!(after.locations, before.locations);
    }

    // Stale writes, one at a time, are refused too and change nothing.
    let current = service_row(&app, uuid).await;
    assert_eq!(current.version, 6);
    let before = counts(&app).await;
    let body = app
        .graphql_as(
            Some(&admin),
            &update_service_query(),
            json!({ "id": id, "v": 5, "input": service_input(&org, "Stale edit", &terms) }),
        )
        .await;
    assert_eq!(first_error(&body).0, "CONFLICT", "{body}");
    let body = app
        .graphql_as(
            Some(&admin),
            &archive_service_query(),
            json!({ "id": id, "v": 1 }),
        )
        .await;
    assert_eq!(first_error(&body).0, "CONFLICT", "{body}");
    let body = app
        .graphql_as(
            Some(&admin),
            &archive_service_query(),
            json!({ "id": id, "v": 7 }),
        )
        .await;
    assert_eq!(
        first_error(&body).0,
        "CONFLICT",
        "a version from the future: {body}"
    );
    assert_eq!(service_row(&app, uuid).await, current);
    assert_eq!(counts(&app).await, before);

    // Two archives of the current version: one wins.
    let query = archive_service_query();
    let (left, right) = tokio::join!(
        app.post_as(Some(&admin), &query, json!({ "id": id, "v": 6 })),
        app.post_as(Some(&admin), &query, json!({ "id": id, "v": 6 })),
    );
    let codes: Vec<String> = [&left.1, &right.1]
        .iter()
        .map(|body| {
            if body.get("errors").is_none() {
                "OK".to_owned()
            } else {
                first_error(body).0
            }
        })
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert_eq!(sorted, ["CONFLICT", "OK"], "{left:?} {right:?}");
    let row = service_row(&app, uuid).await;
    assert_eq!(row.version, 7);
    assert_eq!(row.status, entity::ServiceStatus::Defunct);
    // An unknown listing is not found, not a conflict.
    let body = app
        .graphql_as(
            Some(&admin),
            &archive_service_query(),
            json!({ "id": Uuid::new_v4().to_string(), "v": 1 }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn the_audit_log_and_change_feed_record_every_write_in_order() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let org = organizations(&app).await[0].id;
    let terms = term_ids(&app).await;
    let email = format!("editor-{}@example.org", Uuid::new_v4().simple());
    let editor = app
        .sign_in_new(&email, entity::Role::Editor, Some(org))
        .await;
    let org = org.to_string();

    let created =
        create_service(&app, &editor, &service_input(&org, "Stay and play", &terms)).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let uuid = uuid_of(&created["id"]);
    let updated = update_service(
        &app,
        &editor,
        &id,
        1,
        &service_input(&org, "Stay, play and sing", &terms),
    )
    .await;
    assert_eq!(updated["version"], 2);
    let verified = app
        .data_as(Some(&editor), &verify_service_query(), json!({ "id": id }))
        .await;
    assert_eq!(verified["verifyService"]["version"], 3);
    let archived = app
        .data_as(
            Some(&editor),
            &archive_service_query(),
            json!({ "id": id, "v": 3 }),
        )
        .await;
    assert_eq!(archived["archiveService"]["status"], "DEFUNCT");
    assert_eq!(archived["archiveService"]["version"], 4);

    // Only admins read the audit log.
    let body = app
        .graphql_as(Some(&editor), AUDIT_LOG, json!({ "id": id }))
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    let body = app.graphql(AUDIT_LOG, json!({ "id": id })).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");

    let data = app
        .data_as(Some(&admin), AUDIT_LOG, json!({ "id": id }))
        .await;
    let log = data["auditLog"].as_array().expect("a log");
    let actions: Vec<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(
        actions,
        [
            "service.create",
            "service.update",
            "service.verify",
            "service.archive"
        ],
        "{log:#?}"
    );
    for entry in log {
        assert_eq!(entry["actor"], email.as_str());
        assert_eq!(entry["entity"], "service");
        assert_eq!(entry["entityId"], id.as_str());
        assert!(entry["after"].is_object(), "{entry}");
    }
    let times: Vec<&str> = log.iter().filter_map(|e| e["at"].as_str()).collect();
    let parsed: Vec<chrono::DateTime<chrono::FixedOffset>> = times
        .iter()
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("a time"))
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    let (create, update, verify, archive) = (&log[0], &log[1], &log[2], &log[3]);
    assert!(create["before"].is_null(), "{create}");
    assert_eq!(create["after"]["service"]["name"], "Stay and play");
    assert_eq!(create["after"]["service"]["version"], 1);
    assert_eq!(
        create["after"]["phones"].as_array().map(Vec::len),
        Some(2),
        "the snapshot holds the children"
    );
    assert_eq!(update["before"]["service"]["name"], "Stay and play");
    assert_eq!(update["after"]["service"]["name"], "Stay, play and sing");
    assert_eq!(update["before"]["service"]["version"], 1);
    assert_eq!(update["after"]["service"]["version"], 2);
    assert!(
        verify["before"]["service"]["assured_date"].is_null(),
        "{verify}"
    );
    assert!(
        verify["after"]["service"]["assured_date"].is_string(),
        "{verify}"
    );
    assert_eq!(verify["after"]["service"]["assurer"], email.as_str());
    assert_eq!(archive["before"]["service"]["status"], "ACTIVE");
    assert_eq!(archive["after"]["service"]["status"], "DEFUNCT");
    assert_eq!(archive["after"]["service"]["name"], "Stay, play and sing");

    // The database agrees, actor id included.
    let rows = audits_of(&app, uuid).await;
    assert_eq!(rows.len(), 4);
    let user = entity::app_user::Entity::find()
        .filter(entity::app_user::Column::Email.eq(email.as_str()))
        .one(&app.db)
        .await
        .expect("query")
        .expect("the editor");
    assert!(rows.iter().all(|r| r.actor_id == Some(user.id)));

    // One change row per write, in commit order.
    let changes = changes_of(&app, uuid).await;
    let ops: Vec<ChangeOp> = changes.iter().map(|c| c.op).collect();
    assert_eq!(
        ops,
        [
            ChangeOp::Create,
            ChangeOp::Update,
            ChangeOp::Update,
            ChangeOp::Archive
        ]
    );
    assert!(changes.iter().all(|c| c.entity == "service"));
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    let newest = change::Entity::find()
        .order_by_desc(change::Column::Seq)
        .one(&app.db)
        .await
        .expect("query")
        .expect("a change");
    assert_eq!(newest.seq, changes[3].seq, "the archive was the last write");

    // Organisations and events are audited too.
    let org_data = app
        .data_as(
            Some(&admin),
            CREATE_ORGANIZATION,
            json!({ "input": { "name": "Audited Org" } }),
        )
        .await;
    let org_id = org_data["createOrganization"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    app.data_as(
        Some(&admin),
        UPDATE_ORGANIZATION,
        json!({ "id": org_id, "input": { "name": "Audited Organisation" } }),
    )
    .await;
    let data = app
        .data_as(Some(&admin), AUDIT_LOG, json!({ "id": org_id }))
        .await;
    let log = data["auditLog"].as_array().expect("a log");
    assert_eq!(log.len(), 2, "{log:#?}");
    assert_eq!(log[0]["action"], "organization.create");
    assert!(log[0]["before"].is_null());
    assert_eq!(log[1]["action"], "organization.update");
    assert_eq!(log[1]["before"]["name"], "Audited Org");
    assert_eq!(log[1]["after"]["name"], "Audited Organisation");
    let ops: Vec<ChangeOp> = changes_of(&app, Uuid::parse_str(&org_id).expect("an id"))
        .await
        .iter()
        .map(|c| c.op)
        .collect();
    assert_eq!(ops, [ChangeOp::Create, ChangeOp::Update]);
}

#[tokio::test]
async fn writes_are_searchable_when_the_mutation_returns() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let org = organizations(&app).await[0].id.to_string();
    let terms = term_ids(&app).await;
    assert!(search_ids(&app, "zanzibarine").await.is_empty());

    let created = create_service(
        &app,
        &admin,
        &service_input(&org, "Zanzibarine baby club", &terms),
    )
    .await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(
        search_ids(&app, "zanzibarine").await.contains(&id),
        "a created listing is found at once"
    );

    let updated = update_service(
        &app,
        &admin,
        &id,
        1,
        &service_input(&org, "Quixotical baby club", &terms),
    )
    .await;
    assert_eq!(updated["name"], "Quixotical baby club");
    assert!(
        search_ids(&app, "quixotical").await.contains(&id),
        "an updated listing is found by its new name at once"
    );
    assert!(
        !search_ids(&app, "zanzibarine").await.contains(&id),
        "and no longer by its old one"
    );

    let verified = app
        .data_as(Some(&admin), &verify_service_query(), json!({ "id": id }))
        .await;
    let version = verified["verifyService"]["version"]
        .as_i64()
        .expect("version");
    assert!(search_ids(&app, "quixotical").await.contains(&id));

    app.data_as(
        Some(&admin),
        &archive_service_query(),
        json!({ "id": id, "v": version }),
    )
    .await;
    assert!(
        !search_ids(&app, "quixotical").await.contains(&id),
        "an archived listing leaves the default (ACTIVE) search at once"
    );
    let data = app
        .data_as(
            Some(&admin),
            "query($t: String) { search(text: $t, filter: { statuses: [DEFUNCT] }) { edges { node { id status } } } }",
            json!({ "t": "quixotical" }),
        )
        .await;
    let edges = data["search"]["edges"].as_array().expect("edges");
    assert!(
        edges
            .iter()
            .any(|e| e["node"]["id"] == id.as_str() && e["node"]["status"] == "DEFUNCT"),
        "{edges:?}"
    );
}

#[tokio::test]
async fn verification_events_and_listing_reports() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let org = organizations(&app).await[0].id;
    let terms = term_ids(&app).await;
    let email = format!("editor-{}@example.org", Uuid::new_v4().simple());
    let editor = app
        .sign_in_new(&email, entity::Role::Editor, Some(org))
        .await;
    let org = org.to_string();
    let created =
        create_service(&app, &editor, &service_input(&org, "Sling library", &terms)).await;
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(created["assuredDate"].is_null());
    assert!(created["assurer"].is_null());

    // Verification: today, by the caller, and a new version.
    let day_before = Utc::now().date_naive();
    let verified = app
        .data_as(Some(&editor), &verify_service_query(), json!({ "id": id }))
        .await;
    let day_after = Utc::now().date_naive();
    let verified = &verified["verifyService"];
    let assured = verified["assuredDate"].as_str().expect("an assured date");
    assert!(
        [day_before, day_after]
            .iter()
            .any(|d| d.format("%Y-%m-%d").to_string() == assured),
        "{assured} is not today"
    );
    assert_eq!(verified["assurer"], email.as_str());
    assert_eq!(verified["version"], 2);
    let row = service_row(&app, uuid_of(&created["id"])).await;
    assert_eq!(
        row.assured_date.map(|d| d.format("%Y-%m-%d").to_string()),
        Some(assured.to_owned())
    );
    assert_eq!(row.assurer.as_deref(), Some(email.as_str()));
    let body = app
        .graphql(&verify_service_query(), json!({ "id": id }))
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");

    // An event far from the demo directory's, found near where it is.
    let starts = Utc::now() + Duration::days(2);
    let data = app
        .data_as(
            Some(&editor),
            CREATE_EVENT,
            json!({ "input": {
                "serviceId": id,
                "title": "Sling fitting pop-up",
                "startsAt": starts.to_rfc3339(),
                "endsAt": (starts + Duration::hours(3)).to_rfc3339(),
                "placeName": "The library",
                "postcode": "eh1 1aa",
                "latitude": 55.95,
                "longitude": -3.19
            } }),
        )
        .await;
    let event = &data["createEvent"];
    let event_id = event["id"].as_str().expect("id").to_owned();
    assert_eq!(event["postcode"], "EH1 1AA");
    assert_eq!(event["service"]["id"], id.as_str());
    let events = app
        .data(
            "query($near: NearInput, $from: DateTime, $to: DateTime) { events(near: $near, from: $from, to: $to, first: 50) { edges { distanceKm node { id title } } } }",
            json!({
                "near": { "latitude": 55.951, "longitude": -3.19, "radiusKm": 5 },
                "from": Utc::now().to_rfc3339(),
                "to": (Utc::now() + Duration::days(7)).to_rfc3339(),
            }),
        )
        .await;
    let edges = events["events"]["edges"].as_array().expect("edges");
    let found = edges
        .iter()
        .find(|e| e["node"]["id"] == event_id.as_str())
        .unwrap_or_else(|| panic!("the new event is not near itself: {edges:?}"));
    assert_eq!(found["node"]["title"], "Sling fitting pop-up");
    assert!(
        found["distanceKm"].as_f64().is_some_and(|d| d < 1.0),
        "{found}"
    );
    let data = app
        .data_as(Some(&admin), AUDIT_LOG, json!({ "id": event_id }))
        .await;
    assert_eq!(data["auditLog"][0]["action"], "event.create");
    assert_eq!(data["auditLog"][0]["actor"], email.as_str());
    let body = app
        .graphql(
            CREATE_EVENT,
            json!({ "input": {
                "serviceId": id,
                "title": "Anonymous event",
                "startsAt": starts.to_rfc3339(),
                "endsAt": (starts + Duration::hours(1)).to_rfc3339()
            } }),
        )
        .await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");

    // Reports: anyone may file one, up to ten an hour from one address.
    for i in 0..10 {
        let data = app
            .data(
                REPORT,
                json!({ "s": id, "m": format!("The opening hours are wrong ({i})") }),
            )
            .await;
        assert_eq!(data["reportListingProblem"], true);
    }
    let body = app
        .graphql(REPORT, json!({ "s": id, "m": "One report too many" }))
        .await;
    let (code, message) = first_error(&body);
    assert_eq!(code, "RATE_LIMITED", "{body}");
    assert!(message.contains("too many reports"), "{message}");
    let stored = listing_report::Entity::find()
        .filter(listing_report::Column::ServiceId.eq(uuid_of(&created["id"])))
        .all(&app.db)
        .await
        .expect("reports");
    assert_eq!(stored.len(), 10, "the refused report was not stored");
    assert!(
        stored
            .iter()
            .all(|r| r.reporter_id.is_none() && r.reporter_address.is_some())
    );
    // A signed-in caller is counted on its own.
    let data = app
        .data_as(
            Some(&editor),
            REPORT,
            json!({ "s": id, "m": "The phone line has changed" }),
        )
        .await;
    assert_eq!(data["reportListingProblem"], true);

    // Admins see and resolve them.
    let reports_query = "query($all: Boolean!) { listingReports(includeResolved: $all) { id serviceId message createdAt resolvedAt resolutionNote } }";
    let body = app.graphql(reports_query, json!({ "all": false })).await;
    assert_eq!(first_error(&body).0, "UNAUTHENTICATED", "{body}");
    let body = app
        .graphql_as(Some(&editor), reports_query, json!({ "all": false }))
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    let data = app
        .data_as(Some(&admin), reports_query, json!({ "all": false }))
        .await;
    let open = data["listingReports"].as_array().expect("reports");
    let ours: Vec<&Value> = open
        .iter()
        .filter(|r| r["serviceId"] == id.as_str())
        .collect();
    assert_eq!(ours.len(), 11, "{open:?}");
    assert_eq!(
        ours[0]["message"], "The phone line has changed",
        "newest first"
    );
    assert!(ours.iter().all(|r| r["resolvedAt"].is_null()));
    let report_id = ours[0]["id"].as_str().expect("id").to_owned();

    let resolve = "mutation($id: ID!, $note: String) { resolveListingReport(id: $id, note: $note) { id resolvedAt resolutionNote } }";
    let body = app
        .graphql_as(
            Some(&editor),
            resolve,
            json!({ "id": report_id, "note": "Fixed" }),
        )
        .await;
    assert_eq!(first_error(&body).0, "FORBIDDEN", "{body}");
    let data = app
        .data_as(
            Some(&admin),
            resolve,
            json!({ "id": report_id, "note": "Phone number updated" }),
        )
        .await;
    let resolved = &data["resolveListingReport"];
    assert_eq!(resolved["id"], report_id.as_str());
    assert!(resolved["resolvedAt"].is_string(), "{resolved}");
    assert_eq!(resolved["resolutionNote"], "Phone number updated");
    let data = app
        .data_as(Some(&admin), reports_query, json!({ "all": false }))
        .await;
    let open = data["listingReports"].as_array().expect("reports");
    assert!(open.iter().all(|r| r["id"] != report_id.as_str()));
    assert_eq!(
        open.iter()
            .filter(|r| r["serviceId"] == id.as_str())
            .count(),
        10
    );
    let data = app
        .data_as(Some(&admin), reports_query, json!({ "all": true }))
        .await;
    let all = data["listingReports"].as_array().expect("reports");
    let again = all
        .iter()
        .find(|r| r["id"] == report_id.as_str())
        .expect("a resolved report is listed with includeResolved");
    assert_eq!(again["resolutionNote"], "Phone number updated");
    let body = app
        .graphql_as(
            Some(&admin),
            resolve,
            json!({ "id": Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(first_error(&body).0, "NOT_FOUND", "{body}");
}

#[tokio::test]
async fn an_update_replaces_the_children_and_removes_unused_locations() {
    let app = TestApp::spawn().await;
    let admin = app.admin_token().await;
    let orgs = organizations(&app).await;
    let org = orgs[0].id.to_string();
    let terms = term_ids(&app).await;
    let mut input = service_input(&org, "Antenatal classes", &terms);
    input["locations"] = json!([
        { "name": "North hall", "postcode": "GL51 9AA", "latitude": 51.91, "longitude": -2.1 },
        { "name": "South hall", "postcode": "GL53 7AN", "latitude": 51.88, "longitude": -2.06 }
    ]);
    let created = create_service(&app, &admin, &input).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let uuid = uuid_of(&created["id"]);
    let old_locations: Vec<Uuid> = created["locations"]
        .as_array()
        .expect("locations")
        .iter()
        .map(|l| uuid_of(&l["id"]))
        .collect();
    assert_eq!(old_locations.len(), 2);
    assert_eq!(created["phones"].as_array().map(Vec::len), Some(2));
    assert_eq!(created["serviceAreas"].as_array().map(Vec::len), Some(3));
    assert_eq!(created["taxonomyTerms"].as_array().map(Vec::len), Some(2));

    // Another listing shares the north hall, so it must outlive this listing's use of it.
    let other = service::Entity::find()
        .filter(service::Column::Id.ne(uuid))
        .one(&app.db)
        .await
        .expect("query")
        .expect("another listing");
    service_at_location::Model {
        id: Uuid::new_v4(),
        service_id: other.id,
        location_id: old_locations[0],
        position: 99,
    }
    .into_active_model()
    .insert(&app.db)
    .await
    .expect("share the location");
    let before = counts(&app).await;

    let replacement = edited(
        &input,
        &[
            (
                "/phones",
                json!([{ "number": "0800 123 4567", "description": "Freephone" }]),
            ),
            (
                "/serviceAreas",
                json!([{ "kind": "POSTCODE_PREFIX", "name": "Gloucester", "postcodePrefix": "gl1" }]),
            ),
            (
                "/locations",
                json!([{ "name": "West hall", "postcode": "gl2 0aa", "latitude": 51.86, "longitude": -2.27 }]),
            ),
            ("/contacts", json!([])),
            (
                "/schedules",
                json!([
                    { "weekday": 3, "opensAt": "13:00", "closesAt": "15:00" },
                    { "weekday": 5, "opensAt": "10:00", "closesAt": "12:00" }
                ]),
            ),
            ("/taxonomyTermIds", json!([terms[2]])),
            ("/languages", json!(["PL"])),
        ],
    );
    let updated = update_service(&app, &admin, &id, 1, &replacement).await;
    assert_eq!(
        updated["phones"],
        json!([{ "number": "0800 123 4567", "description": "Freephone", "visibility": "PUBLIC" }])
    );
    assert_eq!(
        updated["serviceAreas"],
        json!([{
            "kind": "POSTCODE_PREFIX", "name": "Gloucester", "postcodePrefix": "GL1",
            "latitude": null, "longitude": null, "radiusKm": null
        }])
    );
    let locations = updated["locations"].as_array().expect("locations");
    assert_eq!(locations.len(), 1);
    assert_eq!(locations[0]["name"], "West hall");
    assert_eq!(locations[0]["postcode"], "GL2 0AA");
    let new_location = uuid_of(&locations[0]["id"]);
    assert!(!old_locations.contains(&new_location));
    assert_eq!(updated["contacts"], json!([]));
    assert_eq!(updated["schedules"].as_array().map(Vec::len), Some(2));
    assert_eq!(updated["schedules"][0]["weekday"], 3);
    assert_eq!(updated["taxonomyTerms"], json!([{ "id": terms[2] }]));
    assert_eq!(updated["languages"], json!(["pl"]));

    // The database holds exactly the new children.
    let db = &app.db;
    let phones = phone::Entity::find()
        .filter(phone::Column::ServiceId.eq(uuid))
        .all(db)
        .await
        .expect("phones");
    assert_eq!(phones.len(), 1);
    assert_eq!(phones[0].number, "0800 123 4567");
    let areas = service_area::Entity::find()
        .filter(service_area::Column::ServiceId.eq(uuid))
        .all(db)
        .await
        .expect("areas");
    assert_eq!(areas.len(), 1);
    assert_eq!(areas[0].postcode_prefix.as_deref(), Some("GL1"));
    let links = service_at_location::Entity::find()
        .filter(service_at_location::Column::ServiceId.eq(uuid))
        .all(db)
        .await
        .expect("links");
    assert_eq!(
        links.iter().map(|l| l.location_id).collect::<Vec<_>>(),
        [new_location]
    );
    let attributes = attribute::Entity::find()
        .filter(attribute::Column::LinkId.eq(uuid))
        .all(db)
        .await
        .expect("attributes");
    assert_eq!(
        attributes
            .iter()
            .map(|a| a.taxonomy_term_id.to_string())
            .collect::<Vec<_>>(),
        [terms[2].clone()]
    );
    let contacts = contact::Entity::find()
        .filter(contact::Column::ServiceId.eq(uuid))
        .count(db)
        .await
        .expect("contacts");
    assert_eq!(contacts, 0);
    let still = |location: Uuid| location_exists(&app, location);
    assert!(still(old_locations[0]).await, "a shared location is kept");
    assert!(
        !still(old_locations[1]).await,
        "an unused location is removed"
    );
    assert!(still(new_location).await);
    let after = counts(&app).await;
    assert_eq!(after.services, before.services);
    assert_eq!(after.phones, before.phones - 1);
    assert_eq!(after.service_areas, before.service_areas - 2);
    assert_eq!(
        after.locations, before.locations,
        "one unused location gone, one new, one shared kept"
    );
    assert_eq!(after.service_locations, before.service_locations - 1);
    assert_eq!(after.contacts, before.contacts - 1);
    assert_eq!(after.schedules, before.schedules + 1);
    assert_eq!(after.attributes, before.attributes - 1);

    // Emptying the lists removes every child, and the listing's own location.
    let empty = edited(
        &replacement,
        &[
            ("/phones", json!([])),
            ("/serviceAreas", json!([])),
            ("/locations", json!([])),
            ("/schedules", json!([])),
            ("/taxonomyTermIds", json!([])),
        ],
    );
    let emptied = update_service(&app, &admin, &id, 2, &empty).await;
    for list in [
        "phones",
        "serviceAreas",
        "locations",
        "contacts",
        "schedules",
        "taxonomyTerms",
    ] {
        assert_eq!(emptied[list], json!([]), "{list}");
    }
    assert!(!still(new_location).await, "an unused location is removed");
    assert!(still(old_locations[0]).await);
    let last = counts(&app).await;
    assert_eq!(last.locations, after.locations - 1);
    assert_eq!(last.phones, after.phones - 1);
    assert_eq!(last.service_areas, after.service_areas - 1);
    assert_eq!(last.schedules, after.schedules - 2);
    assert_eq!(last.attributes, after.attributes - 1);
    assert_eq!(last.service_locations, after.service_locations - 1);
}
