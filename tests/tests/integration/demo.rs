//! The demo directory: an HSDS document loaded through the importer, as fresh on any day it is
//! seeded, and a document the importer takes again without a change.

use chrono::{NaiveDate, TimeDelta, Utc};
use entity::{Visibility, change, contact, event, phone};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use signpost_api::{
    hsds::import::{self, Actor},
    seed,
};
use tests::TestApp;

/// A demo service verified 34 days before the document's reference date.
const BABY_BOND: &str = "806c6330-6a12-49e8-aac6-bea6d5e6d845";

fn demo_document(today: NaiveDate) -> Value {
    let mut document: Value =
        serde_json::from_str(seed::DEMO_DIRECTORY).unwrap_or_else(|err| panic!("{err}"));
    seed::shift_dates(&mut document, today).unwrap_or_else(|err| panic!("{err}"));
    document
}

fn len(value: &Value) -> usize {
    value.as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn the_demo_directory_imports_again_without_a_change() {
    let app = TestApp::spawn().await;
    let document = demo_document(Utc::now().date_naive());
    let changes = change::Entity::find()
        .count(&app.db)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let report = import::import_document(&app.db, &Actor::system(), &document, true)
        .await
        .unwrap_or_else(|err| panic!("the import failed: {err}"));
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.imported, 0, "{report:?}");
    let records: usize = [
        "taxonomies",
        "taxonomy_terms",
        "organizations",
        "locations",
        "services",
    ]
    .iter()
    .map(|key| len(&document[key]))
    .sum();
    assert_eq!(report.unchanged, records, "{report:?}");
    assert_eq!(
        change::Entity::find().count(&app.db).await.ok(),
        Some(changes),
        "a second import wrote to the change feed"
    );
    // Lines for professionals only came from the document and are still there, once.
    let professional_phones = phone::Entity::find()
        .filter(phone::Column::Visibility.eq(Visibility::Professional))
        .count(&app.db)
        .await
        .unwrap_or_default();
    let professional_contacts = contact::Entity::find()
        .filter(contact::Column::Visibility.eq(Visibility::Professional))
        .count(&app.db)
        .await
        .unwrap_or_default();
    let in_document = |list: &str| {
        document["services"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s[list].as_array().cloned().unwrap_or_default())
            .filter(|line| line["visibility"] == "PROFESSIONAL")
            .count() as u64
    };
    assert!(professional_phones > 0);
    assert_eq!(professional_phones, in_document("phones"));
    assert_eq!(professional_contacts, in_document("contacts"));
}

#[tokio::test]
async fn the_seeded_directory_is_dated_from_today_and_audited() {
    let before = Utc::now();
    let app = TestApp::spawn().await;
    let after = Utc::now();
    let admin = app.admin_token().await;
    let log = app
        .data_as(
            Some(&admin),
            "query($id: ID!) { auditLog(entityId: $id) { action actor } }",
            json!({ "id": BABY_BOND }),
        )
        .await;
    assert_eq!(
        log["auditLog"],
        json!([{ "action": "service.import", "actor": seed::DEMO_ACTOR }])
    );

    // Verified 34 days before the reference date: 34 days before the day it was seeded.
    let data = app
        .data(
            "query($id: ID!) { service(id: $id) { assuredDate } }",
            json!({ "id": BABY_BOND }),
        )
        .await;
    let days_ago = |at: chrono::DateTime<Utc>| {
        (at.date_naive() - TimeDelta::days(34))
            .format("%Y-%m-%d")
            .to_string()
    };
    let assured = data["service"]["assuredDate"].as_str().unwrap_or_default();
    assert!(
        assured == days_ago(before) || assured == days_ago(after),
        "{data}"
    );

    // Every event is upcoming, within three weeks.
    let events = event::Entity::find()
        .all(&app.db)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert!(!events.is_empty());
    for event in events {
        assert!(
            event.starts_at > after && event.starts_at < before + TimeDelta::days(21),
            "{} starts at {}",
            event.title,
            event.starts_at
        );
    }
}
