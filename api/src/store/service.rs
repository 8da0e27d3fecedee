//! Services: filtered, keyset-paginated listing.

use chrono::Utc;
use entity::{Audience, DeliveryMode, LevelOfNeed, ServiceStatus, attribute, service};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::{After, Error, Result, json_list_contains_any, keyset_after, taxonomy};

/// What a caller can narrow a service listing by. Every given criterion must hold (AND);
/// within a list, any value may match (OR).
#[derive(Clone, Debug, Default)]
pub struct ServiceFilter {
    /// Taxonomy terms; a term matches its descendants too.
    pub categories: Vec<Uuid>,
    /// Levels of need the service works at.
    pub level_of_need: Vec<LevelOfNeed>,
    /// Who the service is for.
    pub audiences: Vec<Audience>,
    /// How the service is delivered.
    pub delivery_modes: Vec<DeliveryMode>,
    /// The service's age range contains this infant age.
    pub infant_age_months: Option<f64>,
    /// Only services open from pregnancy.
    pub pregnant: bool,
    /// Only services taking self-referrals.
    pub self_referral: bool,
    /// Only services free to families.
    pub free_only: bool,
    /// ISO 639-1 codes, lower case.
    pub languages: Vec<String>,
    /// Only this organisation's services.
    pub organization_id: Option<Uuid>,
    /// Only listings verified within this many days.
    pub verified_within_days: Option<u32>,
    /// Empty means ACTIVE only.
    pub statuses: Vec<ServiceStatus>,
    /// Only listings with eligibility values read from their words or unknown, for review.
    pub eligibility_to_review: bool,
}

/// One page of services.
#[derive(Debug)]
pub struct ServicePage {
    /// The page's rows, in order.
    pub rows: Vec<service::Model>,
    /// Whether more rows follow.
    pub has_next_page: bool,
    /// How many match in all, when asked for (counting visits every match).
    pub total_count: Option<u64>,
}

/// The SQL condition for `filter`.
async fn condition(db: &DatabaseConnection, filter: &ServiceFilter) -> Result<Condition> {
    let statuses: Vec<ServiceStatus> = if filter.statuses.is_empty() {
        vec![ServiceStatus::Active]
    } else {
        filter.statuses.clone()
    };
    let mut cond = Condition::all().add(service::Column::Status.is_in(statuses));
    if let Some(org) = filter.organization_id {
        cond = cond.add(service::Column::OrganizationId.eq(org));
    }
    if !filter.categories.is_empty() {
        let terms = taxonomy::with_descendants(db, &filter.categories).await?;
        let linked = attribute::Entity::find()
            .select_only()
            .column(attribute::Column::LinkId)
            .filter(attribute::Column::TaxonomyTermId.is_in(terms))
            .into_query();
        cond = cond.add(service::Column::Id.in_subquery(linked));
    }
    if !filter.level_of_need.is_empty() {
        cond = cond.add(service::Column::LevelOfNeed.is_in(filter.level_of_need.clone()));
    }
    if !filter.audiences.is_empty() {
        let codes: Vec<String> = filter
            .audiences
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        cond = cond.add(json_list_contains_any("audiences", &codes));
    }
    if !filter.delivery_modes.is_empty() {
        let codes: Vec<String> = filter
            .delivery_modes
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect();
        cond = cond.add(json_list_contains_any("delivery_modes", &codes));
    }
    if !filter.languages.is_empty() {
        cond = cond.add(json_list_contains_any("languages", &filter.languages));
    }
    if let Some(age) = filter.infant_age_months {
        cond = cond
            .add(
                Condition::any()
                    .add(service::Column::MinAgeMonths.is_null())
                    .add(service::Column::MinAgeMonths.lte(age)),
            )
            .add(
                Condition::any()
                    .add(service::Column::MaxAgeMonths.is_null())
                    .add(service::Column::MaxAgeMonths.gte(age)),
            );
    }
    if filter.pregnant {
        cond = cond.add(service::Column::FromPregnancy.eq(true));
    }
    if filter.self_referral {
        cond = cond.add(service::Column::SelfReferral.eq(true));
    }
    if filter.free_only {
        cond = cond.add(service::Column::Free.eq(true));
    }
    if filter.eligibility_to_review {
        // The column is null when every value is given.
        cond = cond.add(service::Column::EligibilitySources.is_not_null());
    }
    if let Some(since) = filter.verified_within_days.and_then(|days| {
        Utc::now()
            .date_naive()
            .checked_sub_days(chrono::Days::new(u64::from(days)))
    }) {
        cond = cond.add(service::Column::AssuredDate.gte(since));
    }
    Ok(cond)
}

/// A page of services matching `filter`, ordered by name then id, after the keyset position;
/// with the number of all matches when `count`.
pub async fn list(
    db: &DatabaseConnection,
    filter: &ServiceFilter,
    first: u64,
    after: Option<&After>,
    count: bool,
) -> Result<ServicePage> {
    let cond = condition(db, filter).await?;
    let total_count = if count {
        Some(
            service::Entity::find()
                .filter(cond.clone())
                .count(db)
                .await?,
        )
    } else {
        None
    };
    let mut page_cond = cond;
    if let Some(after) = after {
        page_cond = page_cond.add(keyset_after(
            service::Column::Name,
            service::Column::Id,
            after,
        ));
    }
    let mut rows = service::Entity::find()
        .filter(page_cond)
        .order_by_asc(service::Column::Name)
        .order_by_asc(service::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    rows.truncate(usize::try_from(first).map_err(|_| Error::invalid("first is too large"))?);
    Ok(ServicePage {
        rows,
        has_next_page,
        total_count,
    })
}

/// One service by id.
pub async fn get(db: &DatabaseConnection, id: Uuid) -> Result<Option<service::Model>> {
    Ok(service::Entity::find_by_id(id).one(db).await?)
}

/// The services a feed gave catchments the import could not read (kept in
/// `extra.unmapped_service_areas`), in id order: the `limit` after `after`, whether more follow,
/// and how many there are in all.
pub async fn with_unread_catchments(
    db: &DatabaseConnection,
    after: Option<Uuid>,
    limit: usize,
) -> Result<(Vec<service::Model>, bool, u64)> {
    let rows = service::Entity::find()
        .filter(service::Column::Extra.is_not_null())
        .order_by_asc(service::Column::Id)
        .all(db)
        .await?;
    let unread: Vec<service::Model> = rows
        .into_iter()
        .filter(|row| {
            row.extra
                .as_ref()
                .and_then(|extra| extra.get("unmapped_service_areas"))
                .and_then(|areas| areas.as_array())
                .is_some_and(|areas| !areas.is_empty())
        })
        .collect();
    let total = u64::try_from(unread.len()).unwrap_or(u64::MAX);
    let mut page: Vec<service::Model> = unread
        .into_iter()
        .filter(|row| after.is_none_or(|after| row.id > after))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    Ok((page, more, total))
}
