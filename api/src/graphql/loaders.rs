//! DataLoaders for every relation, so a page of results costs a fixed number of statements.

use std::{collections::HashMap, sync::Arc};

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::{
    attribute, contact, event, location, organization, phone, schedule, service, service_area,
    service_at_location, taxonomy_term,
};
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::store::{
    find_by_ids,
    listing::{Parts, ServiceRecord, card::Card},
};

/// A loader with a cache that lives as long as its request.
pub type RequestLoader<T> = DataLoader<T, HashMapCache>;

/// The loaders of one request (cached within it, never across requests).
pub struct Loaders {
    /// Organisations by id.
    pub organization: RequestLoader<ById<organization::Entity>>,
    /// Services by id.
    pub service: RequestLoader<ById<service::Entity>>,
    /// Taxonomy terms by id.
    pub taxonomy_term: RequestLoader<ById<taxonomy_term::Entity>>,
    /// A service's areas.
    pub service_areas: RequestLoader<ByService<service_area::Entity>>,
    /// A service's contacts.
    pub contacts: RequestLoader<ByService<contact::Entity>>,
    /// A service's phone lines.
    pub phones: RequestLoader<ByService<phone::Entity>>,
    /// A service's opening times.
    pub schedules: RequestLoader<ByService<schedule::Entity>>,
    /// A service's events.
    pub events: RequestLoader<ByService<event::Entity>>,
    /// A service's places, in order.
    pub locations: RequestLoader<ServiceLocations>,
    /// A service's taxonomy terms, in order.
    pub terms: RequestLoader<ServiceTerms>,
    /// A term's children.
    pub term_children: RequestLoader<TermChildren>,
    /// An organisation's services.
    pub organization_services: RequestLoader<OrganizationServices>,
}

impl Loaders {
    /// Fresh loaders over `db`.
    pub fn new(db: &DatabaseConnection) -> Self {
        fn make<T: Loader<Uuid>>(loader: T) -> RequestLoader<T> {
            // No waiting for more keys: resolvers prefetch a whole page's keys at once, and
            // the default 1 ms wait (on a timer thread) was most of an unloaded search.
            DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default())
                .delay(std::time::Duration::ZERO)
        }
        Self {
            organization: make(ById::new(db)),
            service: make(ById::new(db)),
            taxonomy_term: make(ById::new(db)),
            service_areas: make(ByService::new(db)),
            contacts: make(ByService::new(db)),
            phones: make(ByService::new(db)),
            schedules: make(ByService::new(db)),
            events: make(ByService::new(db)),
            locations: make(ServiceLocations(db.clone())),
            terms: make(ServiceTerms(db.clone())),
            term_children: make(TermChildren(db.clone())),
            organization_services: make(OrganizationServices(db.clone())),
        }
    }
}

impl Loaders {
    /// Feeds the loaders of the relations in `parts` with listings loaded in one go, so that
    /// their resolvers read them from the request's cache. Every listing gets an entry for each
    /// such relation (empty when it has no rows), so the cache remembers that too.
    pub async fn feed(&self, records: &[ServiceRecord], parts: Parts) {
        if parts.organization {
            self.organization
                .feed_many(
                    records
                        .iter()
                        .filter_map(|r| r.organization.clone())
                        .map(|org| (org.id, org)),
                )
                .await;
        }
        if parts.areas {
            self.service_areas
                .feed_many(records.iter().map(|r| (r.id(), r.areas.clone())))
                .await;
        }
        if parts.locations {
            let places =
                |r: &ServiceRecord| r.locations.iter().map(|l| l.location.clone()).collect();
            self.locations
                .feed_many(records.iter().map(|r| (r.id(), places(r))))
                .await;
        }
        if parts.contacts {
            self.contacts
                .feed_many(records.iter().map(|r| (r.id(), r.contacts.clone())))
                .await;
        }
        if parts.phones {
            self.phones
                .feed_many(records.iter().map(|r| (r.id(), r.phones.clone())))
                .await;
        }
        if parts.schedules {
            self.schedules
                .feed_many(records.iter().map(|r| (r.id(), r.schedules.clone())))
                .await;
        }
        if parts.terms {
            let terms = |r: &ServiceRecord| r.terms.iter().map(|t| t.term.clone()).collect();
            self.terms
                .feed_many(records.iter().map(|r| (r.id(), terms(r))))
                .await;
        }
    }
}

impl Loaders {
    /// Feeds the loaders with the `parts` cards hold (of
    /// [`crate::store::listing::card::PARTS`]) but the service row, which the prefetch that
    /// calls this feeds like any page's rows.
    pub async fn feed_cards(&self, cards: &[Card], parts: Parts) {
        if parts.organization {
            self.organization
                .feed_many(
                    cards
                        .iter()
                        .filter_map(|c| c.organization.clone())
                        .map(|org| (org.id, org)),
                )
                .await;
        }
        if parts.areas {
            self.service_areas
                .feed_many(cards.iter().map(|c| (c.service.id, c.areas.clone())))
                .await;
        }
        if parts.locations {
            self.locations
                .feed_many(cards.iter().map(|c| (c.service.id, c.locations.clone())))
                .await;
        }
        if parts.phones {
            self.phones
                .feed_many(cards.iter().map(|c| (c.service.id, c.phones.clone())))
                .await;
        }
        if parts.terms {
            self.terms
                .feed_many(cards.iter().map(|c| (c.service.id, c.terms.clone())))
                .await;
        }
    }
}

/// The rows a list loader holds for `key` (none when it has none).
pub async fn children<T, M>(
    loader: &RequestLoader<T>,
    key: Uuid,
) -> Result<Vec<M>, crate::error::ApiError>
where
    T: Loader<Uuid, Value = Vec<M>, Error = Arc<DbErr>>,
    M: Send + Sync + Clone + 'static,
{
    Ok(loader.load_one(key).await?.unwrap_or_default())
}

/// An entity with a UUID primary key column `id`.
pub trait HasId: EntityTrait {
    /// The primary key column.
    fn id_column() -> Self::Column;
    /// A row's id.
    fn id_of(model: &Self::Model) -> Uuid;
}

/// A child table of `service`, ordered by `position`.
pub trait ServiceChild: EntityTrait {
    /// The `service_id` column.
    fn service_column() -> Self::Column;
    /// The ordering column.
    fn order_column() -> Self::Column;
    /// A row's service id.
    fn service_of(model: &Self::Model) -> Uuid;
}

macro_rules! has_id {
    ($($module:ident),+) => {$(
        impl HasId for $module::Entity {
            fn id_column() -> Self::Column {
                $module::Column::Id
            }
            fn id_of(model: &Self::Model) -> Uuid {
                model.id
            }
        }
    )+};
}
has_id!(organization, service, taxonomy_term, location);

macro_rules! service_child {
    ($($module:ident by $order:ident),+) => {$(
        impl ServiceChild for $module::Entity {
            fn service_column() -> Self::Column {
                $module::Column::ServiceId
            }
            fn order_column() -> Self::Column {
                $module::Column::$order
            }
            fn service_of(model: &Self::Model) -> Uuid {
                model.service_id
            }
        }
    )+};
}
service_child!(
    service_area by Position,
    contact by Position,
    phone by Position,
    schedule by Position,
    event by StartsAt
);

/// Loads rows by primary key.
pub struct ById<E> {
    db: DatabaseConnection,
    entity: std::marker::PhantomData<fn() -> E>,
}

impl<E> ById<E> {
    fn new(db: &DatabaseConnection) -> Self {
        Self {
            db: db.clone(),
            entity: std::marker::PhantomData,
        }
    }
}

impl<E> Loader<Uuid> for ById<E>
where
    E: HasId + 'static,
    E::Model: Sync + Clone,
{
    type Value = E::Model;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, E::Model>, Self::Error> {
        let rows = find_by_ids::<E, _>(&self.db, E::id_column(), keys).await?;
        Ok(rows.into_iter().map(|row| (E::id_of(&row), row)).collect())
    }
}

/// Loads a service's child rows, in order.
pub struct ByService<E> {
    db: DatabaseConnection,
    entity: std::marker::PhantomData<fn() -> E>,
}

impl<E> ByService<E> {
    fn new(db: &DatabaseConnection) -> Self {
        Self {
            db: db.clone(),
            entity: std::marker::PhantomData,
        }
    }
}

/// Groups rows under their key, keeping their order; every requested key gets an entry (empty
/// when it has no rows), so the request cache remembers that too.
fn group<T>(keys: &[Uuid], rows: Vec<T>, key: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        grouped.entry(key(&row)).or_default().push(row);
    }
    grouped
}

impl<E> Loader<Uuid> for ByService<E>
where
    E: ServiceChild + 'static,
    E::Model: Sync + Clone,
{
    type Value = Vec<E::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Vec<E::Model>>, Self::Error> {
        let rows = E::find()
            .filter(E::service_column().is_in(keys.iter().copied()))
            .order_by_asc(E::order_column())
            .all(&self.db)
            .await?;
        Ok(group(keys, rows, E::service_of))
    }
}

/// Loads the locations a service is delivered at.
pub struct ServiceLocations(DatabaseConnection);

impl Loader<Uuid> for ServiceLocations {
    type Value = Vec<location::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let links = service_at_location::Entity::find()
            .filter(service_at_location::Column::ServiceId.is_in(keys.iter().copied()))
            .order_by_asc(service_at_location::Column::Position)
            .all(&self.0)
            .await?;
        let ids: Vec<Uuid> = links.iter().map(|link| link.location_id).collect();
        let locations: HashMap<Uuid, location::Model> =
            find_by_ids::<location::Entity, _>(&self.0, location::Column::Id, &ids)
                .await?
                .into_iter()
                .map(|row| (row.id, row))
                .collect();
        let mut out: HashMap<Uuid, Vec<location::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for link in links {
            if let Some(found) = locations.get(&link.location_id) {
                out.entry(link.service_id).or_default().push(found.clone());
            }
        }
        Ok(out)
    }
}

/// Loads a service's taxonomy terms (through `attribute`).
pub struct ServiceTerms(DatabaseConnection);

impl Loader<Uuid> for ServiceTerms {
    type Value = Vec<taxonomy_term::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let links = attribute::Entity::find()
            .filter(attribute::Column::LinkId.is_in(keys.iter().copied()))
            .order_by_asc(attribute::Column::Position)
            .all(&self.0)
            .await?;
        let ids: Vec<Uuid> = links.iter().map(|link| link.taxonomy_term_id).collect();
        let terms: HashMap<Uuid, taxonomy_term::Model> =
            find_by_ids::<taxonomy_term::Entity, _>(&self.0, taxonomy_term::Column::Id, &ids)
                .await?
                .into_iter()
                .map(|row| (row.id, row))
                .collect();
        let mut out: HashMap<Uuid, Vec<taxonomy_term::Model>> =
            keys.iter().map(|k| (*k, Vec::new())).collect();
        for link in links {
            if let Some(found) = terms.get(&link.taxonomy_term_id) {
                out.entry(link.link_id).or_default().push(found.clone());
            }
        }
        Ok(out)
    }
}

/// Loads a term's children.
pub struct TermChildren(DatabaseConnection);

impl Loader<Uuid> for TermChildren {
    type Value = Vec<taxonomy_term::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = taxonomy_term::Entity::find()
            .filter(taxonomy_term::Column::ParentId.is_in(keys.iter().copied()))
            .order_by_asc(taxonomy_term::Column::Position)
            .order_by_asc(taxonomy_term::Column::Name)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |row| row.parent_id.unwrap_or_default()))
    }
}

/// Loads an organisation's active services, ordered by name then id (paged in memory).
pub struct OrganizationServices(DatabaseConnection);

impl Loader<Uuid> for OrganizationServices {
    type Value = Vec<service::Model>;
    type Error = Arc<DbErr>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, Self::Value>, Self::Error> {
        let rows = service::Entity::find()
            .filter(service::Column::OrganizationId.is_in(keys.iter().copied()))
            .filter(service::Column::Status.eq(entity::ServiceStatus::Active))
            .order_by_asc(service::Column::Name)
            .order_by_asc(service::Column::Id)
            .all(&self.0)
            .await?;
        Ok(group(keys, rows, |row| row.organization_id))
    }
}
