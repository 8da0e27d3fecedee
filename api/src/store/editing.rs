//! Editing listings: every write, in one transaction, changes the rows, appends an
//! `audit_event` (who, what, before and after) and a `change` feed row.

use chrono::Utc;
use entity::{
    ChangeOp, ServiceStatus, attribute, audit_event, contact, event, listing_report, location,
    organization, phone, schedule, service, service_area, service_at_location,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Error, Result,
    audit::{self, Actor},
};
use crate::{auth::Caller, feed};

/// A validated service with its children, ready to write (ids of children are assigned here).
#[derive(Clone, Debug)]
pub struct ServiceDraft {
    /// The service row; `id`, `version`, `assured_*` and timestamps are set by the store.
    pub service: service::Model,
    pub areas: Vec<service_area::Model>,
    pub locations: Vec<location::Model>,
    pub contacts: Vec<contact::Model>,
    pub phones: Vec<phone::Model>,
    pub schedules: Vec<schedule::Model>,
    pub terms: Vec<Uuid>,
}

/// A service and its children as JSON, for the audit log.
pub async fn snapshot(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<Value>> {
    let parts = super::listing::Parts {
        organization: false,
        ..super::listing::Parts::ALL
    };
    let Some(record) = super::listing::load_many(db, &[id], parts).await?.pop() else {
        return Ok(None);
    };
    // Each place once, however many times the service links it.
    let mut seen = std::collections::HashSet::new();
    let locations: Vec<&location::Model> = record
        .locations
        .iter()
        .map(|place| &place.location)
        .filter(|location| seen.insert(location.id))
        .collect();
    let terms: Vec<Uuid> = record
        .terms
        .iter()
        .map(|t| t.attribute.taxonomy_term_id)
        .collect();
    Ok(Some(json!({
        "service": record.service,
        "serviceAreas": record.areas,
        "locations": locations,
        "contacts": record.contacts,
        "phones": record.phones,
        "schedules": record.schedules,
        "taxonomyTermIds": terms,
    })))
}

/// Replaces a service's children with the draft's.
async fn write_children(txn: &DatabaseTransaction, id: Uuid, draft: &ServiceDraft) -> Result<()> {
    service_area::Entity::delete_many()
        .filter(service_area::Column::ServiceId.eq(id))
        .exec(txn)
        .await?;
    contact::Entity::delete_many()
        .filter(contact::Column::ServiceId.eq(id))
        .exec(txn)
        .await?;
    phone::Entity::delete_many()
        .filter(phone::Column::ServiceId.eq(id))
        .exec(txn)
        .await?;
    schedule::Entity::delete_many()
        .filter(schedule::Column::ServiceId.eq(id))
        .exec(txn)
        .await?;
    attribute::Entity::delete_many()
        .filter(attribute::Column::LinkId.eq(id))
        .exec(txn)
        .await?;
    let old_links = service_at_location::Entity::find()
        .filter(service_at_location::Column::ServiceId.eq(id))
        .all(txn)
        .await?;
    service_at_location::Entity::delete_many()
        .filter(service_at_location::Column::ServiceId.eq(id))
        .exec(txn)
        .await?;
    for link in old_links {
        // A location nothing else uses goes with the listing.
        let still_used = service_at_location::Entity::find()
            .filter(service_at_location::Column::LocationId.eq(link.location_id))
            .one(txn)
            .await?
            .is_some();
        if !still_used {
            location::Entity::delete_by_id(link.location_id)
                .exec(txn)
                .await?;
        }
    }
    let now = Utc::now();
    for (position, area) in draft.areas.iter().enumerate() {
        let row = service_area::Model {
            id: Uuid::new_v4(),
            service_id: id,
            position: position_of(position),
            ..area.clone()
        };
        row.into_active_model().insert(txn).await?;
    }
    for (position, place) in draft.locations.iter().enumerate() {
        let location_id = Uuid::new_v4();
        let row = location::Model {
            id: location_id,
            organization_id: Some(draft.service.organization_id),
            created_at: now,
            updated_at: now,
            ..place.clone()
        };
        row.into_active_model().insert(txn).await?;
        let link = service_at_location::Model {
            id: Uuid::new_v4(),
            service_id: id,
            location_id,
            position: position_of(position),
        };
        link.into_active_model().insert(txn).await?;
    }
    for (position, row) in draft.contacts.iter().enumerate() {
        let row = contact::Model {
            id: Uuid::new_v4(),
            service_id: id,
            position: position_of(position),
            ..row.clone()
        };
        row.into_active_model().insert(txn).await?;
    }
    for (position, row) in draft.phones.iter().enumerate() {
        let row = phone::Model {
            id: Uuid::new_v4(),
            service_id: id,
            position: position_of(position),
            ..row.clone()
        };
        row.into_active_model().insert(txn).await?;
    }
    for (position, row) in draft.schedules.iter().enumerate() {
        let row = schedule::Model {
            id: Uuid::new_v4(),
            service_id: id,
            position: position_of(position),
            ..row.clone()
        };
        row.into_active_model().insert(txn).await?;
    }
    for (position, term) in draft.terms.iter().enumerate() {
        let row = attribute::Model {
            id: Uuid::new_v4(),
            link_id: id,
            link_entity: attribute::LINK_ENTITY_SERVICE.to_owned(),
            link_type: None,
            taxonomy_term_id: *term,
            value: None,
            position: position_of(position),
        };
        row.into_active_model().insert(txn).await?;
    }
    Ok(())
}

fn position_of(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// Starts a listing write: a write transaction (see [`super::begin_write`]) holding the feed
/// lock, so that PostgreSQL writers queue on it too.
async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction> {
    let txn = super::begin_write(db).await?;
    feed::lock(&txn).await?;
    Ok(txn)
}

/// Creates a listing; returns it with the feed position to wait for.
pub async fn create_service(
    db: &DatabaseConnection,
    caller: &Caller,
    draft: ServiceDraft,
) -> Result<(service::Model, i64)> {
    caller.require_editor_of(draft.service.organization_id)?;
    let txn = begin(db).await?;
    let now = Utc::now();
    let id = Uuid::new_v4();
    let row = service::Model {
        id,
        version: 1,
        created_at: now,
        updated_at: now,
        ..draft.service.clone()
    };
    let created = row.into_active_model().insert(&txn).await?;
    write_children(&txn, id, &draft).await?;
    let after = snapshot(&txn, id).await?;
    audit::record(
        &txn,
        &Actor::from(caller),
        "service.create",
        "service",
        id,
        None,
        after,
    )
    .await?;
    let seq = feed::record(&txn, "service", id, ChangeOp::Create).await?;
    txn.commit().await?;
    Ok((created, seq))
}

/// Loads a service for a write by `caller`, checking it exists and may be edited.
async fn editable(txn: &DatabaseTransaction, caller: &Caller, id: Uuid) -> Result<service::Model> {
    let current = service::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::NotFound("no service with this id".into()))?;
    caller.require_editor_of(current.organization_id)?;
    Ok(current)
}

/// Bumps the version when it is still `expected`; CONFLICT otherwise.
async fn bump_version(txn: &DatabaseTransaction, id: Uuid, expected: i32) -> Result<()> {
    let result = service::Entity::update_many()
        .col_expr(
            service::Column::Version,
            Expr::col(service::Column::Version).add(1),
        )
        .filter(service::Column::Id.eq(id))
        .filter(service::Column::Version.eq(expected))
        .exec(txn)
        .await?;
    if result.rows_affected == 0 {
        return Err(Error::Conflict(format!(
            "expectedVersion: the listing changed since version {expected}; reload it and try again"
        )));
    }
    Ok(())
}

/// Replaces a listing when `expected_version` is current.
pub async fn update_service(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
    expected_version: i32,
    draft: ServiceDraft,
) -> Result<(service::Model, i64)> {
    let txn = begin(db).await?;
    let current = editable(&txn, caller, id).await?;
    caller.require_editor_of(draft.service.organization_id)?;
    let before = snapshot(&txn, id).await?;
    bump_version(&txn, id, expected_version).await?;
    let mut active = service::Model {
        id,
        version: expected_version + 1,
        assured_date: current.assured_date,
        assurer: current.assurer.clone(),
        extra: current.extra.clone(),
        created_at: current.created_at,
        updated_at: Utc::now(),
        ..draft.service.clone()
    }
    .into_active_model();
    active = active.reset_all();
    let updated = active.update(&txn).await?;
    write_children(&txn, id, &draft).await?;
    let after = snapshot(&txn, id).await?;
    audit::record(
        &txn,
        &Actor::from(caller),
        "service.update",
        "service",
        id,
        before,
        after,
    )
    .await?;
    let seq = feed::record(&txn, "service", id, ChangeOp::Update).await?;
    txn.commit().await?;
    Ok((updated, seq))
}

/// Takes a listing out of the directory (status DEFUNCT) when `expected_version` is current.
pub async fn archive_service(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
    expected_version: i32,
) -> Result<(service::Model, i64)> {
    let txn = begin(db).await?;
    editable(&txn, caller, id).await?;
    let before = snapshot(&txn, id).await?;
    bump_version(&txn, id, expected_version).await?;
    let current = service::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::NotFound("no service with this id".into()))?;
    let mut active = current.into_active_model();
    active.status = Set(ServiceStatus::Defunct);
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    let after = snapshot(&txn, id).await?;
    audit::record(
        &txn,
        &Actor::from(caller),
        "service.archive",
        "service",
        id,
        before,
        after,
    )
    .await?;
    let seq = feed::record(&txn, "service", id, ChangeOp::Archive).await?;
    txn.commit().await?;
    Ok((updated, seq))
}

/// Records that a listing was checked today.
pub async fn verify_service(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<(service::Model, i64)> {
    let txn = begin(db).await?;
    let current = editable(&txn, caller, id).await?;
    let before = snapshot(&txn, id).await?;
    bump_version(&txn, id, current.version).await?;
    let mut active = service::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::NotFound("no service with this id".into()))?
        .into_active_model();
    active.assured_date = Set(Some(Utc::now().date_naive()));
    active.assurer = Set(Some(caller.label()));
    active.updated_at = Set(Utc::now());
    let updated = active.update(&txn).await?;
    let after = snapshot(&txn, id).await?;
    audit::record(
        &txn,
        &Actor::from(caller),
        "service.verify",
        "service",
        id,
        before,
        after,
    )
    .await?;
    let seq = feed::record(&txn, "service", id, ChangeOp::Update).await?;
    txn.commit().await?;
    Ok((updated, seq))
}

/// Creates or updates an organisation (creating needs an admin; updating, its editor).
pub async fn save_organization(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Option<Uuid>,
    draft: organization::Model,
) -> Result<(organization::Model, i64)> {
    let txn = begin(db).await?;
    let now = Utc::now();
    let (saved, before, op) = match id {
        None => {
            caller.require_admin()?;
            let row = organization::Model {
                id: Uuid::new_v4(),
                created_at: now,
                updated_at: now,
                ..draft
            };
            (
                row.into_active_model().insert(&txn).await?,
                None,
                ChangeOp::Create,
            )
        }
        Some(id) => {
            let current = organization::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or_else(|| Error::NotFound("no organisation with this id".into()))?;
            caller.require_editor_of(id)?;
            let before = serde_json::to_value(&current).ok();
            let row = organization::Model {
                id,
                created_at: current.created_at,
                updated_at: now,
                extra: current.extra.clone(),
                ..draft
            };
            (
                row.into_active_model().reset_all().update(&txn).await?,
                before,
                ChangeOp::Update,
            )
        }
    };
    let action = if op == ChangeOp::Create {
        "organization.create"
    } else {
        "organization.update"
    };
    audit::record(
        &txn,
        &Actor::from(caller),
        action,
        "organization",
        saved.id,
        before,
        serde_json::to_value(&saved).ok(),
    )
    .await?;
    let seq = feed::record(&txn, "organization", saved.id, op).await?;
    txn.commit().await?;
    Ok((saved, seq))
}

/// Creates an event of a service.
pub async fn create_event(
    db: &DatabaseConnection,
    caller: &Caller,
    draft: event::Model,
) -> Result<(event::Model, i64)> {
    let txn = begin(db).await?;
    editable(&txn, caller, draft.service_id).await?;
    let now = Utc::now();
    let row = event::Model {
        id: Uuid::new_v4(),
        created_at: now,
        updated_at: now,
        ..draft
    };
    let created = row.into_active_model().insert(&txn).await?;
    audit::record(
        &txn,
        &Actor::from(caller),
        "event.create",
        "event",
        created.id,
        None,
        serde_json::to_value(&created).ok(),
    )
    .await?;
    let seq = feed::record(&txn, "event", created.id, ChangeOp::Create).await?;
    txn.commit().await?;
    Ok((created, seq))
}

/// Files a "this listing is wrong" report.
pub async fn report_problem(
    db: &DatabaseConnection,
    caller: &Caller,
    service_id: Uuid,
    message: String,
    address: Option<String>,
) -> Result<()> {
    if service::Entity::find_by_id(service_id)
        .one(db)
        .await?
        .is_none()
    {
        return Err(Error::NotFound("serviceId: no service with this id".into()));
    }
    let row = listing_report::Model {
        id: Uuid::new_v4(),
        service_id,
        message,
        reporter_id: caller.actor_id(),
        reporter_address: address,
        created_at: Utc::now(),
        resolved_at: None,
        resolved_by: None,
        resolution_note: None,
    };
    row.into_active_model().insert(db).await?;
    Ok(())
}

/// Open (or all) listing reports, newest first.
pub async fn reports(
    db: &DatabaseConnection,
    include_resolved: bool,
) -> Result<Vec<listing_report::Model>> {
    let mut query = listing_report::Entity::find().order_by_desc(listing_report::Column::CreatedAt);
    if !include_resolved {
        query = query.filter(listing_report::Column::ResolvedAt.is_null());
    }
    Ok(query.all(db).await?)
}

/// Marks a report resolved, with its audit row in the same transaction.
pub async fn resolve_report(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
    note: Option<String>,
) -> Result<listing_report::Model> {
    let txn = super::begin_write(db).await?;
    let report = listing_report::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::NotFound("no report with this id".into()))?;
    let mut active = report.into_active_model();
    active.resolved_at = Set(Some(Utc::now()));
    active.resolved_by = Set(caller.actor_id());
    active.resolution_note = Set(note);
    let resolved = active.update(&txn).await?;
    let after =
        json!({ "resolved_at": resolved.resolved_at, "resolution_note": resolved.resolution_note });
    audit::record(
        &txn,
        &Actor::from(caller),
        "report.resolve",
        "listing_report",
        resolved.id,
        None,
        Some(after),
    )
    .await?;
    txn.commit().await?;
    Ok(resolved)
}

/// The audit history of a record, oldest first.
pub async fn audit_log(
    db: &DatabaseConnection,
    entity_id: Uuid,
) -> Result<Vec<audit_event::Model>> {
    Ok(audit_event::Entity::find()
        .filter(audit_event::Column::EntityId.eq(entity_id))
        .order_by_asc(audit_event::Column::At)
        .all(db)
        .await?)
}
