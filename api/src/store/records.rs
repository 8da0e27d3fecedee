//! Writing the records a feed brings besides listings: organisations, taxonomies, taxonomy
//! terms, places and events, with the audit and change rows they call for, in the transaction
//! a chunk of the feed is written in ([`FeedTransaction`], where its listings go through the
//! listing writer too); and which referenced records are stored already ([`stored`]).
//!
//! A record is upserted by its id: a new one is inserted, a changed one replaced, and one whose
//! row already holds what the feed says is left alone (no audit or change row). The creation
//! and update times are the store's: a feed's own are not compared.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{
    ChangeOp, audit_event, change, event, location, organization, taxonomy, taxonomy_term,
};
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};
use serde_json::Value;
use uuid::Uuid;

use super::{
    Result,
    audit::{self, Actor},
    find_by_ids,
    listing::{self, ListingWrite, Parts, Scope, ServiceRecord, insert_rows},
};
use crate::feed;

/// A kind of record a feed may refer to by id without giving it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An organisation.
    Organization,
    /// A taxonomy.
    Taxonomy,
    /// A taxonomy term.
    Term,
    /// A place (location).
    Location,
}

/// Which of `ids` are stored as records of `kind`, reading the id column alone: a statement
/// per 5,000 ids, none when there are none.
pub async fn stored(db: &impl ConnectionTrait, kind: Kind, ids: &[Uuid]) -> Result<HashSet<Uuid>> {
    match kind {
        Kind::Organization => stored_in(db, organization::Column::Id, ids).await,
        Kind::Taxonomy => stored_in(db, taxonomy::Column::Id, ids).await,
        Kind::Term => stored_in(db, taxonomy_term::Column::Id, ids).await,
        Kind::Location => stored_in(db, location::Column::Id, ids).await,
    }
}

/// Which of `wanted` are stored in the id `column` of its table.
async fn stored_in<C>(
    db: &impl ConnectionTrait,
    column: C,
    wanted: &[Uuid],
) -> Result<HashSet<Uuid>>
where
    C: ColumnTrait,
    C::EntityName: EntityTrait,
{
    let mut found = HashSet::with_capacity(wanted.len());
    for chunk in wanted.chunks(5_000) {
        let ids: Vec<Uuid> = C::EntityName::find()
            .select_only()
            .column(column)
            .filter(column.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        found.extend(ids);
    }
    Ok(found)
}

/// The records of a feed besides its listings, for [`FeedTransaction::write_records`]; each
/// kind in the order it is to be written.
#[derive(Clone, Debug, Default)]
pub struct Records<'a> {
    /// Organisations.
    pub organizations: Vec<&'a organization::Model>,
    /// Taxonomies.
    pub taxonomies: Vec<&'a taxonomy::Model>,
    /// Taxonomy terms, each parent before its children.
    pub terms: Vec<&'a taxonomy_term::Model>,
    /// Places that are records of their own.
    pub locations: Vec<&'a location::Model>,
}

/// What [`FeedTransaction::write_records`] did: for each record given, in the order given,
/// whether it was written (created or changed) rather than left as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Written {
    /// One flag per organisation.
    pub organizations: Vec<bool>,
    /// One flag per taxonomy.
    pub taxonomies: Vec<bool>,
    /// One flag per taxonomy term.
    pub terms: Vec<bool>,
    /// One flag per place.
    pub locations: Vec<bool>,
    /// Whether change-feed rows were appended.
    pub changes: bool,
}

/// A transaction writing (a chunk of) a feed by one actor: begun with the change feed's lock
/// held (see [`listing::begin`]) and ended by [`FeedTransaction::finish`], which commits or
/// rolls back. Every write in it appends its audit and change rows to the same transaction.
pub struct FeedTransaction<'a> {
    txn: DatabaseTransaction,
    actor: &'a Actor,
}

impl<'a> FeedTransaction<'a> {
    /// Begins a transaction of writes by `actor`.
    pub async fn begin(db: &DatabaseConnection, actor: &'a Actor) -> Result<Self> {
        Ok(Self {
            txn: listing::begin(db).await?,
            actor,
        })
    }

    /// Commits when `written` succeeded and rolls back otherwise; returns `written` as it was.
    /// The outer error is the commit's or the rollback's own.
    pub async fn finish<T>(self, written: Result<T>) -> Result<Result<T>> {
        match written {
            Ok(value) => {
                self.txn.commit().await?;
                Ok(Ok(value))
            }
            Err(err) => {
                self.txn.rollback().await?;
                Ok(Err(err))
            }
        }
    }

    /// Writes `records`, kind by kind (organisations, taxonomies, terms, places; a read, the
    /// updates and one multi-row insert for each kind given), then the audit and change rows
    /// gathered, two statements at most. An organisation gets an audit row
    /// (`organization.import`) and a change row when created or changed; a term or a place
    /// when changed; a taxonomy never (nothing is listed by it alone). A stored term keeps its
    /// position.
    pub async fn write_records(&self, records: &Records<'_>) -> Result<Written> {
        let mut journal = Journal::new(self.actor);
        let organizations = upsert_stamped::<organization::Entity>(
            &self.txn,
            &records.organizations,
            Stamped {
                entity: "organization",
                id_column: organization::Column::Id,
                journal_creates: true,
            },
            &mut journal,
        )
        .await?;
        let taxonomies = write_taxonomies(&self.txn, &records.taxonomies).await?;
        let terms = write_terms(&self.txn, &records.terms, &mut journal).await?;
        let locations = upsert_stamped::<location::Entity>(
            &self.txn,
            &records.locations,
            Stamped {
                entity: "location",
                id_column: location::Column::Id,
                journal_creates: false,
            },
            &mut journal,
        )
        .await?;
        let changes = journal.flush(&self.txn).await?;
        Ok(Written {
            organizations,
            taxonomies,
            terms,
            locations,
            changes,
        })
    }

    /// The stored listings among `ids`, with the relations in `parts` (see
    /// [`listing::load_many`]).
    pub async fn stored_listings(&self, ids: &[Uuid], parts: Parts) -> Result<Vec<ServiceRecord>> {
        Ok(listing::load_many(&self.txn, ids, parts).await?)
    }

    /// Writes listings as a feed publishes them ([`Scope::Published`]) through the listing
    /// writer, [`listing::write`]; returns the last change-feed position written (0 for an
    /// empty batch).
    pub async fn write_listings(&self, batch: Vec<ListingWrite>) -> Result<i64> {
        listing::write(&self.txn, self.actor, Scope::Published, batch).await
    }

    /// Writes events, upserting by id: a new event is created and a changed one updated, each
    /// with an audit row (`event.import`) and a change row; events not given are left as they
    /// are. Returns whether any was written.
    pub async fn write_events(&self, events: &[&event::Model]) -> Result<bool> {
        write_events(&self.txn, self.actor, events).await
    }

    /// The newest change-feed position, this transaction's writes included.
    pub async fn last_seq(&self) -> Result<i64> {
        Ok(feed::head(&self.txn).await?)
    }
}

/// Audit and change rows gathered while writing, inserted together by [`Journal::flush`].
struct Journal<'a> {
    actor: &'a Actor,
    changes: Vec<change::ActiveModel>,
    audits: Vec<audit_event::ActiveModel>,
}

impl<'a> Journal<'a> {
    fn new(actor: &'a Actor) -> Self {
        Self {
            actor,
            changes: Vec::new(),
            audits: Vec::new(),
        }
    }

    /// Notes an `{entity}.import` audit row and a change row for the record `id`.
    fn record(
        &mut self,
        entity: &str,
        id: Uuid,
        op: ChangeOp,
        before: Option<Value>,
        after: Option<Value>,
    ) {
        let action = format!("{entity}.import");
        self.audits
            .push(audit::row(self.actor, &action, entity, id, before, after));
        self.changes.push(feed::row(entity, id, op));
    }

    /// Writes the rows gathered; returns whether there were change rows.
    async fn flush(self, txn: &impl ConnectionTrait) -> Result<bool> {
        let changed = !self.changes.is_empty();
        insert_rows(txn, self.changes).await?;
        insert_rows(txn, self.audits).await?;
        Ok(changed)
    }
}

async fn write_events(
    txn: &DatabaseTransaction,
    actor: &Actor,
    planned: &[&event::Model],
) -> Result<bool> {
    if planned.is_empty() {
        return Ok(false);
    }
    let ids: Vec<Uuid> = planned.iter().map(|e| e.id).collect();
    let existing: HashMap<Uuid, event::Model> =
        find_by_ids::<event::Entity, _>(txn, event::Column::Id, &ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
    let mut journal = Journal::new(actor);
    let mut inserts = Vec::new();
    for &row in planned {
        let Some(current) = existing.get(&row.id) else {
            journal.record(
                "event",
                row.id,
                ChangeOp::Create,
                None,
                serde_json::to_value(row).ok(),
            );
            inserts.push(row.clone().into_active_model());
            continue;
        };
        let kept = event::Model {
            created_at: current.created_at,
            updated_at: current.updated_at,
            ..row.clone()
        };
        if kept == *current {
            continue;
        }
        let updated = event::Model {
            updated_at: Utc::now(),
            ..kept
        };
        updated
            .clone()
            .into_active_model()
            .reset_all()
            .update(txn)
            .await?;
        journal.record(
            "event",
            row.id,
            ChangeOp::Update,
            serde_json::to_value(current).ok(),
            serde_json::to_value(&updated).ok(),
        );
    }
    insert_rows(txn, inserts).await?;
    journal.flush(txn).await
}

/// A row with creation and update times, which the store keeps and sets itself.
trait Timestamped: Clone + PartialEq + serde::Serialize {
    fn id(&self) -> Uuid;
    fn created_at(&self) -> DateTime<Utc>;
    fn updated_at(&self) -> DateTime<Utc>;
    fn with_times(&self, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Self;
}

macro_rules! timestamped {
    ($($module:ident),+) => {$(
        impl Timestamped for $module::Model {
            fn id(&self) -> Uuid {
                self.id
            }
            fn created_at(&self) -> DateTime<Utc> {
                self.created_at
            }
            fn updated_at(&self) -> DateTime<Utc> {
                self.updated_at
            }
            fn with_times(&self, created_at: DateTime<Utc>, updated_at: DateTime<Utc>) -> Self {
                Self { created_at, updated_at, ..self.clone() }
            }
        }
    )+};
}
timestamped!(organization, location);

/// Whether two rows differ only in their times.
fn same<T: Timestamped>(planned: &T, current: &T) -> bool {
    planned.with_times(current.created_at(), current.updated_at()) == *current
}

/// How [`upsert_stamped`] writes one kind of record.
struct Stamped<C> {
    entity: &'static str,
    id_column: C,
    /// Whether a new record gets an audit and change row (an update always does).
    journal_creates: bool,
}

/// Inserts new records and updates changed ones, leaving unchanged ones alone; returns, for
/// each of `rows`, whether it was written.
async fn upsert_stamped<E>(
    txn: &DatabaseTransaction,
    rows: &[&E::Model],
    how: Stamped<E::Column>,
    journal: &mut Journal<'_>,
) -> Result<Vec<bool>>
where
    E: EntityTrait,
    E::Model: Timestamped + IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + ActiveModelBehavior + Send,
{
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id()).collect();
    let existing: HashMap<Uuid, E::Model> = find_by_ids::<E, _>(txn, how.id_column, &ids)
        .await?
        .into_iter()
        .map(|row| (row.id(), row))
        .collect();
    let mut inserts = Vec::new();
    let mut written = Vec::with_capacity(rows.len());
    for &planned in rows {
        let id = planned.id();
        match existing.get(&id) {
            Some(current) if same(planned, current) => written.push(false),
            Some(current) => {
                let row = planned.with_times(current.created_at(), Utc::now());
                row.clone()
                    .into_active_model()
                    .reset_all()
                    .update(txn)
                    .await?;
                journal.record(
                    how.entity,
                    id,
                    ChangeOp::Update,
                    serde_json::to_value(current).ok(),
                    serde_json::to_value(&row).ok(),
                );
                written.push(true);
            }
            None => {
                if how.journal_creates {
                    journal.record(
                        how.entity,
                        id,
                        ChangeOp::Create,
                        None,
                        serde_json::to_value(planned).ok(),
                    );
                }
                inserts.push(planned.clone().into_active_model());
                written.push(true);
            }
        }
    }
    insert_rows(txn, inserts).await?;
    Ok(written)
}

/// Taxonomies: inserted or replaced, without audit or change rows.
async fn write_taxonomies(
    txn: &DatabaseTransaction,
    rows: &[&taxonomy::Model],
) -> Result<Vec<bool>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let existing: HashMap<Uuid, taxonomy::Model> =
        find_by_ids::<taxonomy::Entity, _>(txn, taxonomy::Column::Id, &ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    let mut inserts = Vec::new();
    let mut written = Vec::with_capacity(rows.len());
    for &planned in rows {
        match existing.get(&planned.id) {
            Some(current) if current == planned => written.push(false),
            Some(_) => {
                planned
                    .clone()
                    .into_active_model()
                    .reset_all()
                    .update(txn)
                    .await?;
                written.push(true);
            }
            None => {
                inserts.push(planned.clone().into_active_model());
                written.push(true);
            }
        }
    }
    insert_rows(txn, inserts).await?;
    Ok(written)
}

/// Taxonomy terms, in the order given (parents first), keeping each stored term's position.
async fn write_terms(
    txn: &DatabaseTransaction,
    rows: &[&taxonomy_term::Model],
    journal: &mut Journal<'_>,
) -> Result<Vec<bool>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|row| row.id).collect();
    let existing: HashMap<Uuid, taxonomy_term::Model> =
        find_by_ids::<taxonomy_term::Entity, _>(txn, taxonomy_term::Column::Id, &ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    let mut inserts = Vec::new();
    let mut written = Vec::with_capacity(rows.len());
    for &planned in rows {
        let Some(current) = existing.get(&planned.id) else {
            inserts.push(planned.clone().into_active_model());
            written.push(true);
            continue;
        };
        let row = taxonomy_term::Model {
            position: current.position,
            ..planned.clone()
        };
        if row == *current {
            written.push(false);
            continue;
        }
        row.clone()
            .into_active_model()
            .reset_all()
            .update(txn)
            .await?;
        journal.record(
            "taxonomy_term",
            planned.id,
            ChangeOp::Update,
            serde_json::to_value(current).ok(),
            serde_json::to_value(&row).ok(),
        );
        written.push(true);
    }
    // Parents come first in `inserts`, and batches run in order, so every parent row exists
    // when its children are inserted.
    insert_rows(txn, inserts).await?;
    Ok(written)
}
