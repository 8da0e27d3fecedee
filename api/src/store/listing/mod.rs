//! The listing aggregate: a service with everything that belongs to it, loaded in one place.
//!
//! Every reader of a whole listing (the search indexer, the Open Referral export and REST
//! face, the audit snapshot and GraphQL's prefetch) goes through [`load_many`], which costs one
//! statement per relation asked for, whatever the number of services (in chunks of 5,000 ids),
//! or, reading every listing in id order (the export), [`load_range`]. The search index's
//! rebuild reads listings in place order, 500 listed ids at a time, two such reads at once.

use std::collections::{HashMap, HashSet};

use entity::{
    attribute, contact, location, organization, phone, schedule, service, service_area,
    service_at_location, taxonomy, taxonomy_term,
};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::find_by_ids;

pub mod card;

/// A service with its organisation, catchments, places, contacts, phone lines, opening times
/// and taxonomy terms, each list in its stored order. Languages, eligibility, referral routes
/// and costs are columns of the service row itself.
#[derive(Clone, Debug)]
pub struct ServiceRecord {
    /// The service row.
    pub service: service::Model,
    /// The organisation that runs it (loaded when [`Parts::organization`] is asked for).
    pub organization: Option<organization::Model>,
    /// Where it takes families from.
    pub areas: Vec<service_area::Model>,
    /// Where it is delivered, with the link rows that place them.
    pub locations: Vec<ServiceLocation>,
    /// Named contacts, of every visibility: readers filter for their audience.
    pub contacts: Vec<contact::Model>,
    /// Phone lines, of every visibility.
    pub phones: Vec<phone::Model>,
    /// Regular opening times.
    pub schedules: Vec<schedule::Model>,
    /// Taxonomy terms, with the attribute rows that attach them.
    pub terms: Vec<ServiceTerm>,
}

/// A place a service is delivered at.
#[derive(Clone, Debug)]
pub struct ServiceLocation {
    /// The `service_at_location` row.
    pub link: service_at_location::Model,
    /// The location it names.
    pub location: location::Model,
}

/// A taxonomy term attached to a service.
#[derive(Clone, Debug)]
pub struct ServiceTerm {
    /// The `attribute` row that attaches it.
    pub attribute: attribute::Model,
    /// The term.
    pub term: taxonomy_term::Model,
    /// The taxonomy the term belongs to, when it names one.
    pub taxonomy: Option<taxonomy::Model>,
}

/// Which relations [`load_many`] loads; the service row always comes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Parts {
    /// The organisation that runs the service.
    pub organization: bool,
    /// Its service areas (catchments).
    pub areas: bool,
    /// Its places, with their links.
    pub locations: bool,
    /// Its named contacts.
    pub contacts: bool,
    /// Its phone lines.
    pub phones: bool,
    /// Its opening times.
    pub schedules: bool,
    /// Its taxonomy terms.
    pub terms: bool,
    /// The taxonomy of each of its terms (with `terms`; what the HSDS encoder writes out).
    pub taxonomies: bool,
}

impl Parts {
    /// Everything: what the export, the indexer and the audit snapshot read.
    pub const ALL: Parts = Parts {
        organization: true,
        areas: true,
        locations: true,
        contacts: true,
        phones: true,
        schedules: true,
        terms: true,
        taxonomies: true,
    };

    /// The service rows alone.
    pub const NONE: Parts = Parts {
        organization: false,
        areas: false,
        locations: false,
        contacts: false,
        phones: false,
        schedules: false,
        terms: false,
        taxonomies: false,
    };
}

impl ServiceRecord {
    /// A record of `service` with no relations loaded.
    pub fn bare(service: service::Model) -> Self {
        Self {
            service,
            organization: None,
            areas: Vec::new(),
            locations: Vec::new(),
            contacts: Vec::new(),
            phones: Vec::new(),
            schedules: Vec::new(),
            terms: Vec::new(),
        }
    }

    /// The service's id.
    pub fn id(&self) -> Uuid {
        self.service.id
    }
}

fn unique(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(*id)).collect()
}

/// Groups rows by a key, each group in `(position, id)` order.
fn grouped<T>(
    rows: Vec<T>,
    key: impl Fn(&T) -> Uuid,
    position: impl Fn(&T) -> (i32, Uuid),
) -> HashMap<Uuid, Vec<T>> {
    let mut out: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        out.entry(key(&row)).or_default().push(row);
    }
    for group in out.values_mut() {
        group.sort_by_key(|row| position(row));
    }
    out
}

fn by_id<T>(rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> HashMap<Uuid, T> {
    rows.into_iter().map(|row| (id(&row), row)).collect()
}

/// The listings of `ids`, in that order; ids with no service are left out. Loads the service
/// rows and then one statement per relation in `parts` (two for places and for terms, and one
/// for the terms' taxonomies).
pub async fn load_many(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
    parts: Parts,
) -> Result<Vec<ServiceRecord>, DbErr> {
    let ids = unique(ids.iter().copied());
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = find_by_ids::<service::Entity, _>(db, service::Column::Id, &ids).await?;
    let order: HashMap<Uuid, usize> = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.sort_by_key(|row| order.get(&row.id).copied().unwrap_or(usize::MAX));
    load_with(db, rows, parts).await
}

/// The listings whose ids lie between `first` and `last` (both included), in id order, with
/// the relations in `parts`. Each statement reads a range of an index on the service's id
/// where [`load_many`] looks up every id of a list: what a reader of every listing in id
/// order (the export) asks for, a range at a time.
pub async fn load_range(
    db: &impl ConnectionTrait,
    first: Uuid,
    last: Uuid,
    parts: Parts,
) -> Result<Vec<ServiceRecord>, DbErr> {
    if first > last {
        return Ok(Vec::new());
    }
    let keys = Keys::Between(first, last);
    let mut rows = keys
        .rows::<service::Entity, _>(db, service::Column::Id)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    rows.sort_by_key(|row| row.id);
    load_keyed(db, rows, parts, keys).await
}

/// The listings of service rows already in hand, in their order, with the relations in
/// `parts` (the service rows are not read again).
pub async fn load_with(
    db: &impl ConnectionTrait,
    rows: Vec<service::Model>,
    parts: Parts,
) -> Result<Vec<ServiceRecord>, DbErr> {
    let ids: Vec<Uuid> = unique(rows.iter().map(|row| row.id));
    load_keyed(db, rows, parts, Keys::Listed(&ids)).await
}

/// Which services' related rows a load reads: those of listed ids, or of every id in a range.
#[derive(Clone, Copy, Debug)]
enum Keys<'a> {
    Listed(&'a [Uuid]),
    Between(Uuid, Uuid),
}

impl Keys<'_> {
    /// The rows of `E` whose `column` (a service's id) is among these keys.
    async fn rows<E, C>(self, db: &impl ConnectionTrait, column: C) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        C: ColumnTrait,
    {
        match self {
            Keys::Listed(ids) => find_by_ids::<E, _>(db, column, ids).await,
            Keys::Between(first, last) => {
                E::find().filter(column.between(first, last)).all(db).await
            }
        }
    }
}

/// [`load_with`] for rows whose related rows `keys` selects: every service in `rows` is among
/// them (the related rows of a service not in `rows` are left out).
async fn load_keyed(
    db: &impl ConnectionTrait,
    rows: Vec<service::Model>,
    parts: Parts,
    keys: Keys<'_>,
) -> Result<Vec<ServiceRecord>, DbErr> {
    let organizations = if parts.organization {
        let org_ids = unique(rows.iter().map(|row| row.organization_id));
        by_id(
            find_by_ids::<organization::Entity, _>(db, organization::Column::Id, &org_ids).await?,
            |o| o.id,
        )
    } else {
        HashMap::new()
    };
    let mut areas = if parts.areas {
        let rows = keys
            .rows::<service_area::Entity, _>(db, service_area::Column::ServiceId)
            .await?;
        grouped(rows, |a| a.service_id, |a| (a.position, a.id))
    } else {
        HashMap::new()
    };
    let mut places: HashMap<Uuid, Vec<ServiceLocation>> = HashMap::new();
    if parts.locations {
        let links = keys
            .rows::<service_at_location::Entity, _>(db, service_at_location::Column::ServiceId)
            .await?;
        let location_ids = unique(links.iter().map(|link| link.location_id));
        let locations = by_id(
            find_by_ids::<location::Entity, _>(db, location::Column::Id, &location_ids).await?,
            |l| l.id,
        );
        for (service_id, links) in grouped(links, |l| l.service_id, |l| (l.position, l.id)) {
            let here = links
                .into_iter()
                .filter_map(|link| {
                    let location = locations.get(&link.location_id)?.clone();
                    Some(ServiceLocation { link, location })
                })
                .collect();
            places.insert(service_id, here);
        }
    }
    let mut contacts = if parts.contacts {
        let rows = keys
            .rows::<contact::Entity, _>(db, contact::Column::ServiceId)
            .await?;
        grouped(rows, |c| c.service_id, |c| (c.position, c.id))
    } else {
        HashMap::new()
    };
    let mut phones = if parts.phones {
        let rows = keys
            .rows::<phone::Entity, _>(db, phone::Column::ServiceId)
            .await?;
        grouped(rows, |p| p.service_id, |p| (p.position, p.id))
    } else {
        HashMap::new()
    };
    let mut schedules = if parts.schedules {
        let rows = keys
            .rows::<schedule::Entity, _>(db, schedule::Column::ServiceId)
            .await?;
        grouped(rows, |s| s.service_id, |s| (s.position, s.id))
    } else {
        HashMap::new()
    };
    let mut terms: HashMap<Uuid, Vec<ServiceTerm>> = HashMap::new();
    if parts.terms {
        let attributes: Vec<attribute::Model> = keys
            .rows::<attribute::Entity, _>(db, attribute::Column::LinkId)
            .await?
            .into_iter()
            .filter(|a| a.link_entity == attribute::LINK_ENTITY_SERVICE)
            .collect();
        let term_ids = unique(attributes.iter().map(|a| a.taxonomy_term_id));
        let term_rows = by_id(
            find_by_ids::<taxonomy_term::Entity, _>(db, taxonomy_term::Column::Id, &term_ids)
                .await?,
            |t| t.id,
        );
        let taxonomy_ids = unique(term_rows.values().filter_map(|t| t.taxonomy_id));
        let taxonomies = if !parts.taxonomies || taxonomy_ids.is_empty() {
            HashMap::new()
        } else {
            by_id(
                find_by_ids::<taxonomy::Entity, _>(db, taxonomy::Column::Id, &taxonomy_ids).await?,
                |t| t.id,
            )
        };
        for (service_id, attached) in grouped(attributes, |a| a.link_id, |a| (a.position, a.id)) {
            let here = attached
                .into_iter()
                .filter_map(|attribute| {
                    let term = term_rows.get(&attribute.taxonomy_term_id)?.clone();
                    let taxonomy = term.taxonomy_id.and_then(|t| taxonomies.get(&t).cloned());
                    Some(ServiceTerm {
                        attribute,
                        term,
                        taxonomy,
                    })
                })
                .collect();
            terms.insert(service_id, here);
        }
    }
    let mut seen = HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|row| seen.insert(row.id))
        .map(|service| {
            let id = service.id;
            ServiceRecord {
                organization: organizations.get(&service.organization_id).cloned(),
                areas: areas.remove(&id).unwrap_or_default(),
                locations: places.remove(&id).unwrap_or_default(),
                contacts: contacts.remove(&id).unwrap_or_default(),
                phones: phones.remove(&id).unwrap_or_default(),
                schedules: schedules.remove(&id).unwrap_or_default(),
                terms: terms.remove(&id).unwrap_or_default(),
                service,
            }
        })
        .collect())
}

mod check;
mod write;

pub use check::{Field, Invalid, MAX_EXTENT_BYTES, MAX_FEED_AGE_MONTHS, Source, check};
pub use write::{After, ListingWrite, Scope, begin, insert_rows, write};

/// A listing as the rows that store it, ready for [`check`] and [`write`]: every row carries
/// its own id, its service's id and its position.
#[derive(Clone, Debug, PartialEq)]
pub struct ListingRows {
    /// The service row, with its version and times as they are to be stored.
    pub service: service::Model,
    /// Where it takes families from.
    pub areas: Vec<service_area::Model>,
    /// The links to the places it is delivered at.
    pub links: Vec<service_at_location::Model>,
    /// Places written with the listing, for a [`Scope::Whole`] write; empty when the links name
    /// places that are records of their own, written beforehand.
    pub places: Vec<location::Model>,
    /// Named contacts.
    pub contacts: Vec<contact::Model>,
    /// Phone lines.
    pub phones: Vec<phone::Model>,
    /// Regular opening times.
    pub schedules: Vec<schedule::Model>,
    /// The attribute rows that attach its taxonomy terms.
    pub attributes: Vec<attribute::Model>,
}

impl ListingRows {
    /// A service row without children, for a write that keeps the stored ones.
    pub fn service_only(service: service::Model) -> Self {
        Self {
            service,
            areas: Vec::new(),
            links: Vec::new(),
            places: Vec::new(),
            contacts: Vec::new(),
            phones: Vec::new(),
            schedules: Vec::new(),
            attributes: Vec::new(),
        }
    }
}

/// A service and its children as JSON, for the audit log's before and after.
pub async fn snapshot(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<serde_json::Value>, DbErr> {
    let parts = Parts {
        organization: false,
        taxonomies: false,
        ..Parts::ALL
    };
    let Some(record) = load_many(db, &[id], parts).await?.pop() else {
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
    Ok(Some(serde_json::json!({
        "service": record.service,
        "serviceAreas": record.areas,
        "locations": locations,
        "contacts": record.contacts,
        "phones": record.phones,
        "schedules": record.schedules,
        "taxonomyTermIds": terms,
    })))
}
