//! A page of services with every nested relation costs a fixed number of SQL statements.

use entity::{
    attribute, contact, event, phone, schedule, service, service_area, service_at_location,
};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter};
use serde_json::json;
use tests::TestApp;
use uuid::Uuid;

use crate::browse::SERVICE_FIELDS;

/// Copies a fully populated service `copies` times, children included.
async fn clone_service(app: &TestApp, source: &service::Model, copies: usize) {
    let db = &app.db;
    let areas = service_area::Entity::find()
        .filter(service_area::Column::ServiceId.eq(source.id))
        .all(db)
        .await
        .expect("areas");
    let contacts = contact::Entity::find()
        .filter(contact::Column::ServiceId.eq(source.id))
        .all(db)
        .await
        .expect("contacts");
    let phones = phone::Entity::find()
        .filter(phone::Column::ServiceId.eq(source.id))
        .all(db)
        .await
        .expect("phones");
    let schedules = schedule::Entity::find()
        .filter(schedule::Column::ServiceId.eq(source.id))
        .all(db)
        .await
        .expect("schedules");
    let links = service_at_location::Entity::find()
        .filter(service_at_location::Column::ServiceId.eq(source.id))
        .all(db)
        .await
        .expect("links");
    let terms = attribute::Entity::find()
        .filter(attribute::Column::LinkId.eq(source.id))
        .all(db)
        .await
        .expect("terms");
    let events = event::Entity::find()
        .filter(event::Column::ServiceId.eq(source.id))
        .all(db)
        .await
        .expect("events");
    for n in 0..copies {
        let id = Uuid::new_v4();
        let mut copy = source.clone();
        copy.id = id;
        copy.name = format!("{} (copy {n})", source.name);
        copy.into_active_model()
            .reset_all()
            .insert(db)
            .await
            .expect("service copy");
        for mut row in areas.clone() {
            (row.id, row.service_id) = (Uuid::new_v4(), id);
            row.into_active_model()
                .reset_all()
                .insert(db)
                .await
                .expect("area");
        }
        for mut row in contacts.clone() {
            (row.id, row.service_id) = (Uuid::new_v4(), id);
            row.into_active_model()
                .reset_all()
                .insert(db)
                .await
                .expect("contact");
        }
        for mut row in phones.clone() {
            (row.id, row.service_id) = (Uuid::new_v4(), id);
            row.into_active_model()
                .reset_all()
                .insert(db)
                .await
                .expect("phone");
        }
        for mut row in schedules.clone() {
            (row.id, row.service_id) = (Uuid::new_v4(), id);
            row.into_active_model()
                .reset_all()
                .insert(db)
                .await
                .expect("schedule");
        }
        for mut row in links.clone() {
            (row.id, row.service_id) = (Uuid::new_v4(), id);
            row.into_active_model()
                .reset_all()
                .insert(db)
                .await
                .expect("link");
        }
        for mut row in terms.clone() {
            (row.id, row.link_id) = (Uuid::new_v4(), id);
            row.into_active_model()
                .reset_all()
                .insert(db)
                .await
                .expect("term");
        }
        for mut row in events.clone() {
            (row.id, row.service_id) = (Uuid::new_v4(), id);
            row.into_active_model()
                .reset_all()
                .insert(db)
                .await
                .expect("event");
        }
    }
}

async fn statements_for(app: &TestApp, query: &str) -> u64 {
    let before = app.metric("signpost_db_statements_total").await;
    let data = app.data(query, json!({})).await;
    assert!(data.is_object());
    app.metric("signpost_db_statements_total").await - before
}

#[tokio::test]
async fn a_page_of_100_services_costs_a_fixed_number_of_statements() {
    let app = TestApp::spawn().await;
    // The richest active service (events and schedules included), copied until 100 are active.
    let events = event::Entity::find().all(&app.db).await.expect("events");
    let schedules = schedule::Entity::find()
        .all(&app.db)
        .await
        .expect("schedules");
    let source = service::Entity::find()
        .filter(service::Column::Status.eq(entity::ServiceStatus::Active))
        .all(&app.db)
        .await
        .expect("services")
        .into_iter()
        .max_by_key(|s| {
            events.iter().filter(|e| e.service_id == s.id).count() * 10
                + schedules.iter().filter(|r| r.service_id == s.id).count()
        })
        .expect("an active service");
    clone_service(&app, &source, 100).await;

    let page = |first: usize| {
        format!(
            "{{ services(first: {first}) {{ totalCount edges {{ cursor node {{ {SERVICE_FIELDS} }} }} }} }}"
        )
    };
    let hundred = statements_for(&app, &page(100)).await;
    let ten = statements_for(&app, &page(10)).await;
    let one = statements_for(&app, &page(1)).await;
    println!("statements for a page of 100 services with all nested relations: {hundred}");
    assert_eq!(hundred, ten, "statements must not grow with the page");
    // A relation with no keys at all (say, no term of the page has a parent) costs nothing.
    assert!(one <= ten, "statements must not grow with the page");
    assert!(hundred <= 20, "{hundred} statements");

    let orgs = |first: usize| {
        format!(
            "{{ organizations(first: {first}) {{ edges {{ node {{ name services(first: 5) {{ edges {{ node {{ {SERVICE_FIELDS} }} }} }} }} }} }} }}"
        )
    };
    let thirty = statements_for(&app, &orgs(30)).await;
    let two = statements_for(&app, &orgs(2)).await;
    assert!(
        two <= thirty && thirty <= 20,
        "organisations: {two} for 2, {thirty} for 30"
    );
}
