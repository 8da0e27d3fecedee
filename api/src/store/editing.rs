//! Editing listings: every write, in one transaction, changes the rows, appends an
//! `audit_event` (who, what, before and after) and a `change` feed row.

use chrono::Utc;
use entity::{
    ChangeOp, EligibilitySources, ServiceStatus, attribute, audit_event, contact,
    eligibility_field, event, listing_report, location, organization, phone, schedule, service,
    service_area, service_at_location,
};
use sea_orm::{
    ActiveModelTrait,
    ActiveValue::Set,
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
    sea_query::{Expr, ExprTrait},
};
use serde_json::json;
use uuid::Uuid;

use super::{
    Error, Result,
    audit::{self, Actor},
    listing::{self, After, Field, ListingRows, ListingWrite, Scope, Source, begin},
};
use crate::{auth::Caller, feed};

/// A service with its children as an editor gives them, the input read and normalised; the
/// store assigns the ids, checks the whole listing ([`super::listing::check`]) and writes it.
#[derive(Clone, Debug)]
pub struct ServiceDraft {
    /// The service row; `id`, `version`, `assured_*` and timestamps are set by the store.
    pub service: service::Model,
    /// Catchments.
    pub areas: Vec<service_area::Model>,
    /// Places of the listing's own (ids and owner are set by the store).
    pub locations: Vec<location::Model>,
    /// Named contacts, of every visibility.
    pub contacts: Vec<contact::Model>,
    /// Phone lines, of every visibility.
    pub phones: Vec<phone::Model>,
    /// Regular opening times.
    pub schedules: Vec<schedule::Model>,
    /// Taxonomy term ids, in order.
    pub terms: Vec<Uuid>,
}

impl ServiceDraft {
    /// The draft as the rows of the listing `id`: ids and positions for every child, and
    /// places of the listing's own (its organisation's, created `now`).
    fn into_rows(self, id: Uuid, now: chrono::DateTime<Utc>) -> ListingRows {
        let organization_id = self.service.organization_id;
        let places: Vec<location::Model> = self
            .locations
            .into_iter()
            .map(|place| location::Model {
                id: Uuid::new_v4(),
                organization_id: Some(organization_id),
                created_at: now,
                updated_at: now,
                ..place
            })
            .collect();
        let links = places
            .iter()
            .enumerate()
            .map(|(position, place)| service_at_location::Model {
                id: Uuid::new_v4(),
                service_id: id,
                location_id: place.id,
                position: position_of(position),
            })
            .collect();
        ListingRows {
            service: service::Model { id, ..self.service },
            areas: positioned(self.areas, |position, area| service_area::Model {
                id: Uuid::new_v4(),
                service_id: id,
                position,
                ..area
            }),
            links,
            places,
            contacts: positioned(self.contacts, |position, row| contact::Model {
                id: Uuid::new_v4(),
                service_id: id,
                position,
                ..row
            }),
            phones: positioned(self.phones, |position, row| phone::Model {
                id: Uuid::new_v4(),
                service_id: id,
                position,
                ..row
            }),
            schedules: positioned(self.schedules, |position, row| schedule::Model {
                id: Uuid::new_v4(),
                service_id: id,
                position,
                ..row
            }),
            attributes: positioned(self.terms, |position, term| attribute::Model {
                id: Uuid::new_v4(),
                link_id: id,
                link_entity: attribute::LINK_ENTITY_SERVICE.to_owned(),
                link_type: None,
                taxonomy_term_id: term,
                value: None,
                position,
            }),
        }
    }
}

/// `rows` in order, each given its position.
fn positioned<T, R>(rows: Vec<T>, with: impl Fn(i32, T) -> R) -> Vec<R> {
    rows.into_iter()
        .enumerate()
        .map(|(index, row)| with(position_of(index), row))
        .collect()
}

fn position_of(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// A listing's field as the editing input names it (`input.serviceAreas[2].radiusKm`).
fn input_path(field: Field) -> String {
    match field {
        Field::Name => "input.name".to_owned(),
        Field::MinAge => "input.eligibility.minAgeMonths".to_owned(),
        Field::MaxAge => "input.eligibility.maxAgeMonths".to_owned(),
        Field::Referral => "input.referral".to_owned(),
        Field::Language(i) => format!("input.languages[{i}]"),
        Field::Audience(i) => format!("input.eligibility.audiences[{i}]"),
        Field::DeliveryMode(i) => format!("input.deliveryModes[{i}]"),
        Field::Area(i) => format!("input.serviceAreas[{i}]"),
        Field::AreaPrefix(i) => format!("input.serviceAreas[{i}].postcodePrefix"),
        Field::AreaLatitude(i) => format!("input.serviceAreas[{i}].latitude"),
        Field::AreaRadius(i) => format!("input.serviceAreas[{i}].radiusKm"),
        Field::AreaCode(i) => format!("input.serviceAreas[{i}].areaCode"),
        Field::AreaExtent(i) => format!("input.serviceAreas[{i}].extent"),
        Field::Place(i) => format!("input.locations[{i}]"),
        Field::PhoneNumber(i) => format!("input.phones[{i}].number"),
        Field::Weekday(i) => format!("input.schedules[{i}].weekday"),
        Field::Opens(i) => format!("input.schedules[{i}].opensAt"),
        Field::Closes(i) => format!("input.schedules[{i}].closesAt"),
    }
}

/// The service row as stored now, read back in the transaction that wrote it.
async fn stored(txn: &DatabaseTransaction, id: Uuid) -> Result<service::Model> {
    service::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or_else(|| Error::NotFound("no service with this id".into()))
}

/// Writes one listing through the listing writer and commits; returns the service row as
/// stored and the feed position to wait for.
async fn write_and_commit(
    txn: DatabaseTransaction,
    caller: &Caller,
    write: ListingWrite,
) -> Result<(service::Model, i64)> {
    let id = write.rows.service.id;
    let seq = listing::write(&txn, &Actor::from(caller), Scope::Whole, vec![write]).await?;
    let written = stored(&txn, id).await?;
    txn.commit().await?;
    Ok((written, seq))
}

/// Creates a listing; returns it with the feed position to wait for.
pub async fn create_service(
    db: &DatabaseConnection,
    caller: &Caller,
    draft: ServiceDraft,
) -> Result<(service::Model, i64)> {
    caller.require_editor_of(draft.service.organization_id)?;
    let now = Utc::now();
    let id = Uuid::new_v4();
    let mut rows = draft.into_rows(id, now);
    rows.service = service::Model {
        version: 1,
        created_at: now,
        updated_at: now,
        ..rows.service
    };
    listing::check(&rows, Source::Editor, &input_path)?;
    let txn = begin(db).await?;
    let write = ListingWrite {
        rows,
        op: ChangeOp::Create,
        children: true,
        action: "service.create",
        before: None,
        after: After::Snapshot,
    };
    write_and_commit(txn, caller, write).await
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
    let mut rows = draft.into_rows(id, Utc::now());
    listing::check(&rows, Source::Editor, &input_path)?;
    let txn = begin(db).await?;
    let current = editable(&txn, caller, id).await?;
    caller.require_editor_of(rows.service.organization_id)?;
    let before = listing::snapshot(&txn, id).await?;
    bump_version(&txn, id, expected_version).await?;
    let eligibility_sources = edited_sources(&current, &rows.service);
    rows.service = service::Model {
        version: expected_version + 1,
        assured_date: current.assured_date,
        assurer: current.assurer.clone(),
        extra: current.extra.clone(),
        eligibility_sources,
        created_at: current.created_at,
        updated_at: Utc::now(),
        ..rows.service
    };
    let write = ListingWrite {
        rows,
        op: ChangeOp::Update,
        children: true,
        action: "service.update",
        before,
        after: After::Snapshot,
    };
    write_and_commit(txn, caller, write).await
}

/// The provenance of an edited listing's eligibility: a value the editor changed is given; the
/// others keep where they came from (an edit of a phone number confirms nothing).
fn edited_sources(current: &service::Model, edited: &service::Model) -> Option<EligibilitySources> {
    let mut sources = current.eligibility_sources.clone()?;
    let changed = [
        (
            eligibility_field::FROM_PREGNANCY,
            current.from_pregnancy != edited.from_pregnancy,
        ),
        (
            eligibility_field::MIN_AGE_MONTHS,
            current.min_age_months != edited.min_age_months,
        ),
        (
            eligibility_field::MAX_AGE_MONTHS,
            current.max_age_months != edited.max_age_months,
        ),
        (
            eligibility_field::AUDIENCES,
            current.audiences != edited.audiences,
        ),
        (
            eligibility_field::LANGUAGES,
            current.languages != edited.languages,
        ),
        (
            eligibility_field::LEVEL_OF_NEED,
            current.level_of_need != edited.level_of_need,
        ),
        (
            eligibility_field::REFERRAL,
            current.self_referral != edited.self_referral
                || current.professional_referral != edited.professional_referral,
        ),
    ];
    for (field, changed) in changed {
        if changed {
            sources.confirm(field);
        }
    }
    sources.into_column()
}

/// Confirms the eligibility values `fields` (keys of [`eligibility_field`]) of the listing
/// `id` as given, without changing them, when `expected_version` (the stored version when none
/// is given) is current.
pub async fn confirm_eligibility(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
    expected_version: Option<i32>,
    fields: &[&str],
) -> Result<(service::Model, i64)> {
    let confirm = |row: &mut service::Model| {
        if let Some(mut sources) = row.eligibility_sources.take() {
            for field in fields {
                sources.confirm(field);
            }
            row.eligibility_sources = sources.into_column();
        }
    };
    amend(
        db,
        caller,
        id,
        expected_version,
        Amendment {
            action: "service.confirm_eligibility",
            op: ChangeOp::Update,
            change: &confirm,
        },
    )
    .await
}

/// Takes a listing out of the directory (status DEFUNCT) when `expected_version` is current.
pub async fn archive_service(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
    expected_version: i32,
) -> Result<(service::Model, i64)> {
    let archive = |row: &mut service::Model| row.status = ServiceStatus::Defunct;
    amend(
        db,
        caller,
        id,
        Some(expected_version),
        Amendment {
            action: "service.archive",
            op: ChangeOp::Archive,
            change: &archive,
        },
    )
    .await
}

/// Records that a listing was checked today.
pub async fn verify_service(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<(service::Model, i64)> {
    let verify = |row: &mut service::Model| {
        row.assured_date = Some(Utc::now().date_naive());
        row.assurer = Some(caller.label());
    };
    amend(
        db,
        caller,
        id,
        None,
        Amendment {
            action: "service.verify",
            op: ChangeOp::Update,
            change: &verify,
        },
    )
    .await
}

/// A change to a listing's service row alone, its children kept.
struct Amendment<'a> {
    /// The audit action.
    action: &'static str,
    /// The change-feed operation.
    op: ChangeOp,
    /// What changes in the row.
    change: &'a (dyn Fn(&mut service::Model) + Sync),
}

/// Applies `amendment` to the listing `id` through the listing writer, when `expected_version`
/// (the stored version when none is given) is current.
async fn amend(
    db: &DatabaseConnection,
    caller: &Caller,
    id: Uuid,
    expected_version: Option<i32>,
    amendment: Amendment<'_>,
) -> Result<(service::Model, i64)> {
    let txn = begin(db).await?;
    let current = editable(&txn, caller, id).await?;
    let expected = expected_version.unwrap_or(current.version);
    let before = listing::snapshot(&txn, id).await?;
    bump_version(&txn, id, expected).await?;
    let mut row = service::Model {
        version: expected + 1,
        updated_at: Utc::now(),
        ..current
    };
    (amendment.change)(&mut row);
    let write = ListingWrite {
        rows: ListingRows::service_only(row),
        op: amendment.op,
        children: false,
        action: amendment.action,
        before,
        after: After::Snapshot,
    };
    write_and_commit(txn, caller, write).await
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
    kind: Option<&str>,
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
        kind: kind.map(str::to_owned),
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
