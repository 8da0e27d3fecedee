//! The reads behind the Open Referral REST face and the HSDS export: services by the profile's
//! filters, organisations, taxonomies and terms, and the places services are delivered at.
//! Whole listings come from [`super::listing`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use entity::{
    ServiceStatus, attribute, location, organization, schedule, service, service_at_location,
    taxonomy, taxonomy_term,
};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
    sea_query::{Query, SimpleExpr},
};
use uuid::Uuid;

use super::find_by_ids;

/// The profile's service filters that the database answers (free text and postcodes go to the
/// search index). Every given criterion must hold.
#[derive(Clone, Debug, Default)]
pub struct ServiceCriteria {
    /// Services of this organisation.
    pub organization_id: Option<Uuid>,
    /// Services changed at or after this time.
    pub modified_after: Option<DateTime<Utc>>,
    /// Services whose minimum age is at least this many months (no minimum counts as 0).
    pub minimum_age_months: Option<f64>,
    /// Services whose maximum age is at most this many months.
    pub maximum_age_months: Option<f64>,
    /// Services with this term or one of its descendants.
    pub taxonomy_term_id: Option<Uuid>,
    /// Services with a term of this taxonomy.
    pub taxonomy_id: Option<Uuid>,
    /// One opening row on this day (1 Monday .. 7 Sunday) ...
    pub weekday: Option<i32>,
    /// ... opening at or after this time ("HH:MM") ...
    pub start_time: Option<String>,
    /// ... and closing at or before this time ("HH:MM").
    pub end_time: Option<String>,
}

/// The services with an attached term that `terms` holds for.
fn services_with_terms(terms: SimpleExpr) -> SimpleExpr {
    service::Column::Id.in_subquery(
        Query::select()
            .column(attribute::Column::LinkId)
            .from(attribute::Entity)
            .and_where(attribute::Column::LinkEntity.eq(attribute::LINK_ENTITY_SERVICE))
            .and_where(terms)
            .to_owned(),
    )
}

/// The SQL condition for ACTIVE services meeting `criteria`.
async fn condition(
    db: &impl ConnectionTrait,
    criteria: &ServiceCriteria,
) -> Result<Condition, DbErr> {
    const EPSILON: f64 = 1e-6;
    let mut cond = Condition::all().add(service::Column::Status.eq(ServiceStatus::Active));
    if let Some(org) = criteria.organization_id {
        cond = cond.add(service::Column::OrganizationId.eq(org));
    }
    if let Some(after) = criteria.modified_after {
        cond = cond.add(service::Column::UpdatedAt.gte(after));
    }
    if let Some(months) = criteria.minimum_age_months {
        // A service without a minimum age starts from birth.
        let mut any = Condition::any().add(service::Column::MinAgeMonths.gte(months - EPSILON));
        if months <= EPSILON {
            any = any.add(service::Column::MinAgeMonths.is_null());
        }
        cond = cond.add(any);
    }
    if let Some(months) = criteria.maximum_age_months {
        cond = cond.add(service::Column::MaxAgeMonths.lte(months + EPSILON));
    }
    if let Some(term) = criteria.taxonomy_term_id {
        let hierarchy = taxonomy_term::Entity::find().all(db).await?;
        let terms = super::taxonomy::descendants(&hierarchy, &[term]);
        cond = cond.add(services_with_terms(
            attribute::Column::TaxonomyTermId.is_in(terms),
        ));
    }
    if let Some(taxonomy) = criteria.taxonomy_id {
        cond = cond.add(services_with_terms(
            attribute::Column::TaxonomyTermId.in_subquery(
                Query::select()
                    .column(taxonomy_term::Column::Id)
                    .from(taxonomy_term::Entity)
                    .and_where(taxonomy_term::Column::TaxonomyId.eq(taxonomy))
                    .to_owned(),
            ),
        ));
    }
    if criteria.weekday.is_some() || criteria.start_time.is_some() || criteria.end_time.is_some() {
        // One opening row must meet every given part.
        let mut rows = Query::select();
        rows.column(schedule::Column::ServiceId)
            .from(schedule::Entity);
        if let Some(day) = criteria.weekday {
            rows.and_where(schedule::Column::Weekday.eq(day));
        }
        if let Some(start) = &criteria.start_time {
            rows.and_where(schedule::Column::OpensAt.gte(start.clone()));
        }
        if let Some(end) = &criteria.end_time {
            rows.and_where(schedule::Column::ClosesAt.lte(end.clone()));
        }
        cond = cond.add(service::Column::Id.in_subquery(rows.to_owned()));
    }
    Ok(cond)
}

/// The ids of the ACTIVE services meeting `criteria`, ordered by name then id.
pub async fn active_service_ids(
    db: &impl ConnectionTrait,
    criteria: &ServiceCriteria,
) -> Result<Vec<Uuid>, DbErr> {
    let cond = condition(db, criteria).await?;
    service::Entity::find()
        .select_only()
        .column(service::Column::Id)
        .filter(cond)
        .order_by_asc(service::Column::Name)
        .order_by_asc(service::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// Those of `candidates` that are ACTIVE services meeting `criteria`, in the candidates' order.
pub async fn active_among(
    db: &impl ConnectionTrait,
    criteria: &ServiceCriteria,
    candidates: Vec<Uuid>,
) -> Result<Vec<Uuid>, DbErr> {
    let cond = condition(db, criteria).await?;
    let mut kept: HashSet<Uuid> = HashSet::new();
    for chunk in candidates.chunks(5_000) {
        let rows: Vec<Uuid> = service::Entity::find()
            .select_only()
            .column(service::Column::Id)
            .filter(cond.clone())
            .filter(service::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db)
            .await?;
        kept.extend(rows);
    }
    Ok(candidates
        .into_iter()
        .filter(|id| kept.contains(id))
        .collect())
}

/// The ids of every service of every status, in id order (the export's order).
pub async fn all_service_ids(db: &impl ConnectionTrait) -> Result<Vec<Uuid>, DbErr> {
    service::Entity::find()
        .select_only()
        .column(service::Column::Id)
        .order_by_asc(service::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// An ACTIVE service's row; none when there is no such service or it is not ACTIVE.
pub async fn active_service(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<service::Model>, DbErr> {
    Ok(service::Entity::find_by_id(id)
        .one(db)
        .await?
        .filter(|s| s.status == ServiceStatus::Active))
}

/// A page of organisations ordered by name then id, with the number of all organisations.
pub async fn organization_page(
    db: &impl ConnectionTrait,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<organization::Model>), DbErr> {
    let total = organization::Entity::find().count(db).await?;
    let rows = organization::Entity::find()
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((total, rows))
}

/// One organisation by id.
pub async fn organization(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<organization::Model>, DbErr> {
    organization::Entity::find_by_id(id).one(db).await
}

/// An organisation's ACTIVE services, ordered by name then id.
pub async fn active_services_of(
    db: &impl ConnectionTrait,
    organization_id: Uuid,
) -> Result<Vec<service::Model>, DbErr> {
    service::Entity::find()
        .filter(service::Column::OrganizationId.eq(organization_id))
        .filter(service::Column::Status.eq(ServiceStatus::Active))
        .order_by_asc(service::Column::Name)
        .order_by_asc(service::Column::Id)
        .all(db)
        .await
}

/// A page of taxonomies ordered by name then id, with the number of all taxonomies.
pub async fn taxonomy_page(
    db: &impl ConnectionTrait,
    offset: u64,
    limit: u64,
) -> Result<(u64, Vec<taxonomy::Model>), DbErr> {
    let total = taxonomy::Entity::find().count(db).await?;
    let rows = taxonomy::Entity::find()
        .order_by_asc(taxonomy::Column::Name)
        .order_by_asc(taxonomy::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    Ok((total, rows))
}

/// One taxonomy by id.
pub async fn taxonomy(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<taxonomy::Model>, DbErr> {
    taxonomy::Entity::find_by_id(id).one(db).await
}

/// Every taxonomy, by id.
pub async fn all_taxonomies(
    db: &impl ConnectionTrait,
) -> Result<HashMap<Uuid, taxonomy::Model>, DbErr> {
    Ok(taxonomy::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect())
}

/// One taxonomy term by id, with its taxonomy when it names one.
pub async fn taxonomy_term(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<(taxonomy_term::Model, Option<taxonomy::Model>)>, DbErr> {
    let Some(term) = taxonomy_term::Entity::find_by_id(id).one(db).await? else {
        return Ok(None);
    };
    let taxonomy = match term.taxonomy_id {
        Some(taxonomy_id) => taxonomy(db, taxonomy_id).await?,
        None => None,
    };
    Ok(Some((term, taxonomy)))
}

/// One `service_at_location` row by id.
pub async fn service_at_location(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<service_at_location::Model>, DbErr> {
    service_at_location::Entity::find_by_id(id).one(db).await
}

/// The `service_at_location` rows of `service_ids`: the services in the order given, each
/// one's rows in their stored order.
pub async fn service_at_locations(
    db: &impl ConnectionTrait,
    service_ids: &[Uuid],
) -> Result<Vec<service_at_location::Model>, DbErr> {
    let order: HashMap<Uuid, usize> = service_ids
        .iter()
        .enumerate()
        .map(|(n, id)| (*id, n))
        .collect();
    let mut links = find_by_ids::<service_at_location::Entity, _>(
        db,
        service_at_location::Column::ServiceId,
        service_ids,
    )
    .await?;
    links.sort_by_key(|l| (order.get(&l.service_id).copied(), l.position, l.id));
    Ok(links)
}

/// The locations of `ids`, by id (unknown ids are left out).
pub async fn locations(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, location::Model>, DbErr> {
    Ok(
        find_by_ids::<location::Entity, _>(db, location::Column::Id, ids)
            .await?
            .into_iter()
            .map(|l| (l.id, l))
            .collect(),
    )
}
