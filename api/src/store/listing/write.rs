//! The one writer of a listing: a service with its children, its audit row and its change-feed
//! row, in the caller's transaction ([`write`]).

use std::collections::HashSet;

use entity::{
    ChangeOp, Visibility, attribute, contact, location, phone, schedule, service, service_area,
    service_at_location,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel, Iterable, QueryFilter,
    sea_query::OnConflict,
};
use serde_json::Value;
use uuid::Uuid;

use crate::{
    feed,
    store::{
        Result,
        audit::{self, Actor},
        find_by_ids,
    },
};

use super::ListingRows;

/// Bound parameters per multi-row insert (well under SQLite's and PostgreSQL's limits).
const MAX_PARAMS: usize = 20_000;

/// How far a write reaches, which decides what rewriting a listing's children removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The whole listing, as an editor gives it: every contact and phone line is replaced, and
    /// the places are the listing's own, written with it and removed with it when no other
    /// listing uses them.
    Whole,
    /// What an HSDS feed publishes: public contacts and phone lines are replaced, and so are
    /// the non-public ones the feed itself names (Signpost's `visibility` extension), while
    /// other private ones stay; places are records of their own, written beforehand; only the
    /// links to them are replaced.
    Published,
}

/// What the audit row of a write says the listing became.
#[derive(Clone, Debug)]
pub enum After {
    /// The listing as stored once written, read back in the transaction (the audit snapshot).
    Snapshot,
    /// A document given by the caller, such as the feed record it was imported from.
    Given(Value),
}

/// One listing for [`write`].
#[derive(Clone, Debug)]
pub struct ListingWrite {
    /// The rows, as [`check`]ed and as they are to be stored.
    pub rows: ListingRows,
    /// [`ChangeOp::Create`] inserts the service row; any other op replaces it.
    pub op: ChangeOp,
    /// Whether the children are written: a new listing's always are; when false, a stored
    /// listing keeps the children it has.
    pub children: bool,
    /// The audit action, such as `service.update` or `service.import`.
    pub action: &'static str,
    /// What the audit row says the listing was.
    pub before: Option<Value>,
    /// What the audit row says the listing became.
    pub after: After,
}

/// Starts a write that appends to the change feed: a write transaction (see
/// [`crate::store::begin_write`]) holding the feed's lock, so that PostgreSQL writers queue on it too
/// and sequence numbers are committed in order.
pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = crate::store::begin_write(db).await?;
    feed::lock(&txn).await?;
    Ok(txn)
}

/// Writes listings in the caller's transaction (started with [`begin`]): each service row,
/// its children (catchments, places and their links, contacts, phone lines, opening times,
/// taxonomy terms) within `scope`, one `audit_event` row by `actor` and one `change` row per
/// listing. Costs a fixed number of statements per batch, whatever its size (multi-row inserts
/// and deletes; one read per [`After::Snapshot`]). Returns the last change-feed position
/// written (0 for an empty batch).
pub async fn write(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    scope: Scope,
    batch: Vec<ListingWrite>,
) -> Result<i64> {
    if batch.is_empty() {
        return Ok(0);
    }
    write_service_rows(txn, &batch).await?;
    let rewritten: Vec<Uuid> = batch
        .iter()
        .filter(|w| w.children && w.op != ChangeOp::Create)
        .map(|w| w.rows.service.id)
        .collect();
    let contacts: Vec<Uuid> = batch
        .iter()
        .flat_map(|w| &w.rows.contacts)
        .map(|c| c.id)
        .collect();
    let phones: Vec<Uuid> = batch
        .iter()
        .flat_map(|w| &w.rows.phones)
        .map(|p| p.id)
        .collect();
    clear_children(txn, scope, &rewritten, (&contacts, &phones)).await?;
    insert_children(txn, batch.iter().filter(|w| w.children).map(|w| &w.rows)).await?;
    journal(txn, actor, batch).await
}

/// Inserts the new service rows and replaces the others, a statement per few hundred rows.
async fn write_service_rows(
    txn: &impl ConnectionTrait,
    batch: &[ListingWrite],
) -> Result<(), DbErr> {
    let (created, replaced): (Vec<&ListingWrite>, Vec<&ListingWrite>) =
        batch.iter().partition(|w| w.op == ChangeOp::Create);
    let rows = |writes: Vec<&ListingWrite>| -> Vec<service::ActiveModel> {
        writes
            .into_iter()
            .map(|w| w.rows.service.clone().into_active_model())
            .collect()
    };
    insert_rows(txn, rows(created)).await?;
    let replace = OnConflict::column(service::Column::Id)
        .update_columns(service::Column::iter().filter(|c| !matches!(c, service::Column::Id)))
        .to_owned();
    for chunk in rows(replaced).chunks(per_statement::<service::Entity>()) {
        service::Entity::insert_many(chunk.to_vec())
            .on_conflict(replace.clone())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Removes the children of the services `ids` that a write of `scope` replaces.
async fn clear_children(
    txn: &impl ConnectionTrait,
    scope: Scope,
    ids: &[Uuid],
    (named_contacts, named_phones): (&[Uuid], &[Uuid]),
) -> Result<(), DbErr> {
    for chunk in ids.chunks(5_000) {
        let ids = chunk.to_vec();
        service_area::Entity::delete_many()
            .filter(service_area::Column::ServiceId.is_in(ids.clone()))
            .exec(txn)
            .await?;
        schedule::Entity::delete_many()
            .filter(schedule::Column::ServiceId.is_in(ids.clone()))
            .exec(txn)
            .await?;
        attribute::Entity::delete_many()
            .filter(attribute::Column::LinkId.is_in(ids.clone()))
            .filter(attribute::Column::LinkEntity.eq(attribute::LINK_ENTITY_SERVICE))
            .exec(txn)
            .await?;
        let mut contacts =
            contact::Entity::delete_many().filter(contact::Column::ServiceId.is_in(ids.clone()));
        let mut phones =
            phone::Entity::delete_many().filter(phone::Column::ServiceId.is_in(ids.clone()));
        if scope == Scope::Published {
            let mut public_or_named =
                Condition::any().add(contact::Column::Visibility.eq(Visibility::Public));
            for chunk in named_contacts.chunks(5_000) {
                public_or_named =
                    public_or_named.add(contact::Column::Id.is_in(chunk.iter().copied()));
            }
            contacts = contacts.filter(public_or_named);
            let mut public_or_named =
                Condition::any().add(phone::Column::Visibility.eq(Visibility::Public));
            for chunk in named_phones.chunks(5_000) {
                public_or_named =
                    public_or_named.add(phone::Column::Id.is_in(chunk.iter().copied()));
            }
            phones = phones.filter(public_or_named);
        }
        contacts.exec(txn).await?;
        phones.exec(txn).await?;
        let old_places: Vec<Uuid> = match scope {
            Scope::Whole => {
                let mut seen = HashSet::new();
                find_by_ids::<service_at_location::Entity, _>(
                    txn,
                    service_at_location::Column::ServiceId,
                    &ids,
                )
                .await?
                .into_iter()
                .map(|link| link.location_id)
                .filter(|id| seen.insert(*id))
                .collect()
            }
            Scope::Published => Vec::new(),
        };
        service_at_location::Entity::delete_many()
            .filter(service_at_location::Column::ServiceId.is_in(ids))
            .exec(txn)
            .await?;
        remove_unused_places(txn, &old_places).await?;
    }
    Ok(())
}

/// Deletes the places among `ids` that no listing links to any more.
async fn remove_unused_places(txn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
    if ids.is_empty() {
        return Ok(());
    }
    let still_used: HashSet<Uuid> = find_by_ids::<service_at_location::Entity, _>(
        txn,
        service_at_location::Column::LocationId,
        ids,
    )
    .await?
    .into_iter()
    .map(|link| link.location_id)
    .collect();
    let unused: Vec<Uuid> = ids
        .iter()
        .copied()
        .filter(|id| !still_used.contains(id))
        .collect();
    for chunk in unused.chunks(5_000) {
        location::Entity::delete_many()
            .filter(location::Column::Id.is_in(chunk.iter().copied()))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Inserts the children of `listings`, a statement per kind (and per few thousand rows).
async fn insert_children<'a>(
    txn: &impl ConnectionTrait,
    listings: impl Iterator<Item = &'a ListingRows>,
) -> Result<(), DbErr> {
    fn rows<M: Clone + IntoActiveModel<A>, A: ActiveModelTrait>(list: &[M]) -> Vec<A> {
        list.iter()
            .cloned()
            .map(IntoActiveModel::into_active_model)
            .collect()
    }
    let (mut areas, mut places, mut links) = (Vec::new(), Vec::new(), Vec::new());
    let (mut contacts, mut phones, mut schedules, mut attributes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for listing in listings {
        areas.extend(rows(&listing.areas));
        places.extend(rows(&listing.places));
        links.extend(rows(&listing.links));
        contacts.extend(rows(&listing.contacts));
        phones.extend(rows(&listing.phones));
        schedules.extend(rows(&listing.schedules));
        attributes.extend(rows(&listing.attributes));
    }
    insert_rows(txn, areas).await?;
    // Places before the links that name them.
    insert_rows(txn, places).await?;
    insert_rows(txn, links).await?;
    insert_rows(txn, contacts).await?;
    insert_rows(txn, phones).await?;
    insert_rows(txn, schedules).await?;
    insert_rows(txn, attributes).await
}

/// Writes the audit and change-feed rows of `batch`; returns the last feed position.
async fn journal(
    txn: &impl ConnectionTrait,
    actor: &Actor,
    batch: Vec<ListingWrite>,
) -> Result<i64> {
    let mut audits = Vec::with_capacity(batch.len());
    let mut changes = Vec::with_capacity(batch.len());
    for write in batch {
        let id = write.rows.service.id;
        let after = match write.after {
            After::Given(document) => Some(document),
            After::Snapshot => super::snapshot(txn, id).await?,
        };
        audits.push(audit::row(
            actor,
            write.action,
            "service",
            id,
            write.before,
            after,
        ));
        changes.push((id, write.op));
    }
    insert_rows(txn, audits).await?;
    if let [(id, op)] = changes[..] {
        return Ok(feed::record(txn, "service", id, op).await?);
    }
    let rows = changes
        .into_iter()
        .map(|(id, op)| feed::row("service", id, op))
        .collect();
    insert_rows(txn, rows).await?;
    Ok(feed::head(txn).await?)
}

/// Rows of `E` per multi-row statement, within [`MAX_PARAMS`] bound parameters.
fn per_statement<E: EntityTrait>() -> usize {
    let columns = E::Column::iter().count().max(1);
    (MAX_PARAMS / columns).max(1)
}

/// Inserts rows in as few statements as the databases' parameter limits allow.
pub async fn insert_rows<A>(txn: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let per = per_statement::<A::Entity>();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(per).collect();
        A::Entity::insert_many(batch)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}
