//! A page of services with every nested relation costs a fixed number of SQL statements, and so
//! does loading listings with `store::listing::load_many` or `load_range`.

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

/// The statements one query runs, sent as `token`'s.
async fn statements_for(app: &TestApp, token: Option<&str>, query: &str) -> u64 {
    let before = app.metric("signpost_db_statements_total").await;
    let data = app.data_as(token, query, json!({})).await;
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
    // Editors read the listings from the database; readers from the index's cards, with what
    // a card does not hold from the database.
    let admin = app.admin_token().await;
    for token in [Some(admin.as_str()), None] {
        let hundred = statements_for(&app, token, &page(100)).await;
        let ten = statements_for(&app, token, &page(10)).await;
        let one = statements_for(&app, token, &page(1)).await;
        println!("statements for a page of 100 services with all nested relations: {hundred}");
        assert_eq!(hundred, ten, "statements must not grow with the page");
        // A relation with no keys at all (say, no term of the page has a parent) costs nothing.
        assert!(one <= ten, "statements must not grow with the page");
        assert!(hundred <= 20, "{hundred} statements");
    }

    let orgs = |first: usize| {
        format!(
            "{{ organizations(first: {first}) {{ edges {{ node {{ name services(first: 5) {{ edges {{ node {{ {SERVICE_FIELDS} }} }} }} }} }} }} }}"
        )
    };
    let thirty = statements_for(&app, None, &orgs(30)).await;
    let two = statements_for(&app, None, &orgs(2)).await;
    assert!(
        two <= thirty && thirty <= 20,
        "organisations: {two} for 2, {thirty} for 30"
    );
}

/// The ids of `rows` as `key` orders them (ties by id).
fn ids_by<T, K: Ord>(
    mut rows: Vec<T>,
    key: impl Fn(&T) -> (K, Uuid),
    id: impl Fn(&T) -> Uuid,
) -> Vec<Uuid> {
    rows.sort_by_key(|row| key(row));
    rows.iter().map(id).collect()
}

#[tokio::test]
async fn load_many_returns_listings_in_the_order_asked_with_every_relation() {
    use signpost_api::store::listing::{Parts, ServiceRecord, load_many};

    let app = TestApp::spawn().await;
    let db = &app.db;
    let mut services = service::Entity::find().all(db).await.expect("services");
    assert!(services.len() > 10, "the demo directory has services");
    // An order no index keeps: by name, descending.
    services.sort_by(|a, b| b.name.cmp(&a.name).then(b.id.cmp(&a.id)));
    let wanted: Vec<Uuid> = services.iter().map(|s| s.id).collect();
    // An unknown id is left out and a repeated one comes once.
    let mut asked = wanted.clone();
    asked.insert(3, Uuid::new_v4());
    asked.push(wanted[0]);

    let before = app.metric("signpost_db_statements_total").await;
    let records = load_many(db, &asked, Parts::ALL).await.expect("load_many");
    let for_all = app.metric("signpost_db_statements_total").await - before;
    let got: Vec<Uuid> = records.iter().map(ServiceRecord::id).collect();
    assert_eq!(got, wanted, "in the order asked, unknown ids left out");

    for record in &records {
        let id = record.id();
        let here = |what: &str| format!("{what} of {}", record.service.name);
        let org = record.organization.as_ref().expect("organisation");
        assert_eq!(
            org.id,
            record.service.organization_id,
            "{}",
            here("organisation")
        );
        let areas = service_area::Entity::find()
            .filter(service_area::Column::ServiceId.eq(id))
            .all(db)
            .await
            .expect("areas");
        assert_eq!(
            record.areas.iter().map(|a| a.id).collect::<Vec<_>>(),
            ids_by(areas, |a| (a.position, a.id), |a| a.id),
            "{}",
            here("areas")
        );
        let contacts = contact::Entity::find()
            .filter(contact::Column::ServiceId.eq(id))
            .all(db)
            .await
            .expect("contacts");
        assert_eq!(
            record.contacts.iter().map(|c| c.id).collect::<Vec<_>>(),
            ids_by(contacts, |c| (c.position, c.id), |c| c.id),
            "{}",
            here("contacts")
        );
        let phones = phone::Entity::find()
            .filter(phone::Column::ServiceId.eq(id))
            .all(db)
            .await
            .expect("phones");
        assert_eq!(
            record.phones.iter().map(|p| p.id).collect::<Vec<_>>(),
            ids_by(phones, |p| (p.position, p.id), |p| p.id),
            "{}",
            here("phones")
        );
        let schedules = schedule::Entity::find()
            .filter(schedule::Column::ServiceId.eq(id))
            .all(db)
            .await
            .expect("schedules");
        assert_eq!(
            record.schedules.iter().map(|s| s.id).collect::<Vec<_>>(),
            ids_by(schedules, |s| (s.position, s.id), |s| s.id),
            "{}",
            here("schedules")
        );
        let links = service_at_location::Entity::find()
            .filter(service_at_location::Column::ServiceId.eq(id))
            .all(db)
            .await
            .expect("links");
        let mut links_in_order = links.clone();
        links_in_order.sort_by_key(|l| (l.position, l.id));
        assert_eq!(
            record
                .locations
                .iter()
                .map(|l| (l.link.id, l.location.id))
                .collect::<Vec<_>>(),
            links_in_order
                .iter()
                .map(|l| (l.id, l.location_id))
                .collect::<Vec<_>>(),
            "{}",
            here("locations")
        );
        let attributes = attribute::Entity::find()
            .filter(attribute::Column::LinkId.eq(id))
            .filter(attribute::Column::LinkEntity.eq(attribute::LINK_ENTITY_SERVICE))
            .all(db)
            .await
            .expect("attributes");
        let mut attributes_in_order = attributes.clone();
        attributes_in_order.sort_by_key(|a| (a.position, a.id));
        assert_eq!(
            record
                .terms
                .iter()
                .map(|t| (t.attribute.id, t.term.id))
                .collect::<Vec<_>>(),
            attributes_in_order
                .iter()
                .map(|a| (a.id, a.taxonomy_term_id))
                .collect::<Vec<_>>(),
            "{}",
            here("terms")
        );
        for term in &record.terms {
            assert_eq!(
                term.taxonomy.as_ref().map(|t| t.id),
                term.term.taxonomy_id,
                "{}",
                here("taxonomies")
            );
        }
    }

    // Every relation is exercised: some listing has rows of each.
    let full = |r: &&ServiceRecord| {
        !r.areas.is_empty()
            && !r.locations.is_empty()
            && !r.contacts.is_empty()
            && !r.phones.is_empty()
            && !r.schedules.is_empty()
            && r.terms.iter().any(|t| t.taxonomy.is_some())
    };
    let rich = records
        .iter()
        .find(full)
        .expect("a listing with every relation");

    // One listing costs what all of them cost.
    let before = app.metric("signpost_db_statements_total").await;
    let one = load_many(db, &[rich.id()], Parts::ALL)
        .await
        .expect("load_many");
    let for_one = app.metric("signpost_db_statements_total").await - before;
    assert_eq!(one.len(), 1);
    assert_eq!(
        for_one,
        for_all,
        "statements for one listing and for {}",
        records.len()
    );
}

#[tokio::test]
async fn load_range_reads_the_listings_between_two_ids_as_load_many_reads_them() {
    use signpost_api::store::listing::{Parts, ServiceRecord, load_many, load_range};

    let app = TestApp::spawn().await;
    let db = &app.db;
    let mut ids: Vec<Uuid> = service::Entity::find()
        .all(db)
        .await
        .expect("services")
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.sort_unstable();
    assert!(ids.len() > 10, "the demo directory has services");
    // Every relation is read, for the services inside the range alone.
    let inside = &ids[2..ids.len() - 3];
    let (first, last) = (inside[0], inside[inside.len() - 1]);
    let before = app.metric("signpost_db_statements_total").await;
    let ranged = load_range(db, first, last, Parts::ALL)
        .await
        .expect("load_range");
    let for_range = app.metric("signpost_db_statements_total").await - before;
    let before = app.metric("signpost_db_statements_total").await;
    let listed = load_many(db, inside, Parts::ALL).await.expect("load_many");
    let for_list = app.metric("signpost_db_statements_total").await - before;
    assert_eq!(
        for_range, for_list,
        "one statement per relation, as for a list of ids"
    );
    assert_eq!(
        ranged.iter().map(ServiceRecord::id).collect::<Vec<_>>(),
        inside,
        "the services from the first id to the last, in id order"
    );
    assert!(
        listed.iter().any(|r| !r.areas.is_empty()
            && !r.locations.is_empty()
            && !r.contacts.is_empty()
            && !r.phones.is_empty()
            && !r.schedules.is_empty()
            && !r.terms.is_empty()),
        "some listing in the range has rows of every relation"
    );
    for (ranged, listed) in ranged.iter().zip(&listed) {
        assert_eq!(
            format!("{ranged:?}"),
            format!("{listed:?}"),
            "the listing read by range is the one read by id"
        );
    }

    // A range of one id, a range with no service in it and a reversed range.
    let one = load_range(db, first, first, Parts::ALL)
        .await
        .expect("load_range");
    assert_eq!(
        one.iter().map(ServiceRecord::id).collect::<Vec<_>>(),
        [first]
    );
    let mut after = first.as_u128();
    after += 1;
    let gap = (
        Uuid::from_u128(after),
        Uuid::from_u128(inside[1].as_u128() - 1),
    );
    if gap.0 <= gap.1 {
        let none = load_range(db, gap.0, gap.1, Parts::ALL)
            .await
            .expect("load_range");
        assert!(none.is_empty(), "no service between two neighbouring ids");
    }
    let reversed = load_range(db, last, first, Parts::ALL)
        .await
        .expect("load_range");
    assert!(reversed.is_empty(), "a reversed range holds nothing");
}
