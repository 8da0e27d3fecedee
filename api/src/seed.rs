//! The demo directory: sample listings kept in `data/demo-directory.json`, loaded into an empty
//! database. Contact details in it are fictitious.

use std::collections::HashMap;

use anyhow::{Context, bail};
use chrono::{
    DateTime, Datelike, Days, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday,
};
use entity::{
    Audience, ChangeOp, DeliveryMode, LevelOfNeed, ServiceAreaKind, ServiceStatus, StringList,
    Visibility, attribute, contact, event, location, organization, phone, schedule, service,
    service_area, service_at_location, taxonomy, taxonomy_term,
};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait,
    TransactionTrait,
};
use serde::Deserialize;
use uuid::Uuid;

use crate::feed;

/// The demo directory, compiled into the binary so it seeds from anywhere.
pub const DEMO_DIRECTORY: &str = include_str!("../../data/demo-directory.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Directory {
    taxonomy: TaxonomyIn,
    taxonomy_terms: Vec<TermIn>,
    organizations: Vec<OrganizationIn>,
    locations: Vec<LocationIn>,
    services: Vec<ServiceIn>,
    events: Vec<EventIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaxonomyIn {
    id: Uuid,
    name: String,
    description: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermIn {
    id: Uuid,
    code: String,
    name: String,
    description: Option<String>,
    parent_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationIn {
    id: Uuid,
    name: String,
    description: Option<String>,
    email: Option<String>,
    website: Option<String>,
    phone: Option<String>,
    charity_number: Option<String>,
    company_number: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationIn {
    id: Uuid,
    organization_id: Option<Uuid>,
    name: Option<String>,
    address_1: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postcode: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    accessibility: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceIn {
    id: Uuid,
    organization_id: Uuid,
    name: String,
    alternate_name: Option<String>,
    description: String,
    url: Option<String>,
    email: Option<String>,
    status: ServiceStatus,
    assured_days_ago: Option<u64>,
    assurer: Option<String>,
    level_of_need: LevelOfNeed,
    from_pregnancy: bool,
    min_age_months: Option<f64>,
    max_age_months: Option<f64>,
    audiences: Vec<Audience>,
    eligibility_description: Option<String>,
    self_referral: bool,
    professional_referral: bool,
    referral_instructions: Option<String>,
    delivery_modes: Vec<DeliveryMode>,
    languages: Vec<String>,
    free: bool,
    fees_description: Option<String>,
    funding_source: Option<String>,
    funding_ends_on: Option<NaiveDate>,
    taxonomy_terms: Vec<String>,
    location_ids: Vec<Uuid>,
    service_areas: Vec<AreaIn>,
    contacts: Vec<ContactIn>,
    phones: Vec<PhoneIn>,
    schedules: Vec<ScheduleIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaIn {
    kind: ServiceAreaKind,
    name: String,
    postcode_prefix: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
    radius_km: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactIn {
    name: Option<String>,
    title: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    visibility: Visibility,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneIn {
    number: String,
    description: Option<String>,
    visibility: Visibility,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleIn {
    weekday: Option<i32>,
    opens_at: Option<String>,
    closes_at: Option<String>,
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventIn {
    id: Uuid,
    service_id: Uuid,
    title: String,
    description: Option<String>,
    day_offset: u64,
    starts_at: String,
    ends_at: String,
    place_name: Option<String>,
    address: Option<String>,
    postcode: Option<String>,
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// What a seed run did.
#[derive(Debug, PartialEq, Eq)]
pub enum SeedOutcome {
    /// The demo directory was loaded.
    Seeded {
        organizations: usize,
        services: usize,
        events: usize,
    },
    /// The database already held listings; nothing was written.
    AlreadyPopulated,
}

/// Loads the demo directory into `db` when it holds no organisations or services yet, in one
/// transaction, with a `change` feed row for every organisation, service and event.
pub async fn seed_demo(db: &DatabaseConnection) -> anyhow::Result<SeedOutcome> {
    let directory: Directory =
        serde_json::from_str(DEMO_DIRECTORY).context("the demo directory file is not valid")?;
    if organization::Entity::find().count(db).await? > 0
        || service::Entity::find().count(db).await? > 0
    {
        return Ok(SeedOutcome::AlreadyPopulated);
    }
    let now = Utc::now();
    let txn = db.begin().await?;
    feed::lock(&txn).await?;
    let outcome = insert_directory(&txn, &directory, now).await?;
    txn.commit().await?;
    Ok(outcome)
}

/// Inserts rows in chunks that every database accepts.
async fn insert_all<A>(db: &impl ConnectionTrait, rows: Vec<A>) -> anyhow::Result<()>
where
    A: ActiveModelTrait + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(200).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec(db)
            .await?;
    }
    Ok(())
}

async fn insert_directory(
    db: &impl ConnectionTrait,
    dir: &Directory,
    now: DateTime<Utc>,
) -> anyhow::Result<SeedOutcome> {
    let today = now.date_naive();
    insert_all(
        db,
        vec![taxonomy::ActiveModel::from(taxonomy::Model {
            id: dir.taxonomy.id,
            name: dir.taxonomy.name.clone(),
            description: dir.taxonomy.description.clone(),
            uri: None,
            version: dir.taxonomy.version.clone(),
        })],
    )
    .await?;

    let term_ids: HashMap<&str, Uuid> = dir
        .taxonomy_terms
        .iter()
        .map(|t| (t.code.as_str(), t.id))
        .collect();
    // Parents first, so the self-referencing foreign key holds.
    let mut terms: Vec<(usize, &TermIn)> = dir.taxonomy_terms.iter().enumerate().collect();
    terms.sort_by_key(|(_, term)| term.parent_code.is_some());
    let mut term_rows = Vec::new();
    for (position, term) in terms {
        let parent_id = match &term.parent_code {
            Some(code) => Some(
                *term_ids
                    .get(code.as_str())
                    .with_context(|| format!("term {} names unknown parent {code}", term.code))?,
            ),
            None => None,
        };
        term_rows.push(taxonomy_term::ActiveModel::from(taxonomy_term::Model {
            id: term.id,
            taxonomy_id: Some(dir.taxonomy.id),
            code: Some(term.code.clone()),
            name: term.name.clone(),
            description: term.description.clone(),
            parent_id,
            position: i32::try_from(position)?,
        }));
    }
    let (parents, children): (Vec<_>, Vec<_>) = term_rows
        .into_iter()
        .partition(|row| row.parent_id.as_ref().is_none());
    insert_all(db, parents).await?;
    insert_all(db, children).await?;

    let mut changes = Vec::new();
    insert_all(
        db,
        dir.organizations
            .iter()
            .map(|org| {
                changes.push(feed::row("organization", org.id, ChangeOp::Create));
                organization::ActiveModel::from(organization::Model {
                    id: org.id,
                    name: org.name.clone(),
                    description: org.description.clone(),
                    email: org.email.clone(),
                    website: org.website.clone(),
                    phone: org.phone.clone(),
                    charity_number: org.charity_number.clone(),
                    company_number: org.company_number.clone(),
                    extra: None,
                    created_at: now,
                    updated_at: now,
                })
            })
            .collect(),
    )
    .await?;

    insert_all(
        db,
        dir.locations
            .iter()
            .map(|loc| {
                location::ActiveModel::from(location::Model {
                    id: loc.id,
                    organization_id: loc.organization_id,
                    name: loc.name.clone(),
                    address_1: loc.address_1.clone(),
                    city: loc.city.clone(),
                    region: loc.region.clone(),
                    postcode: loc.postcode.clone(),
                    latitude: loc.latitude,
                    longitude: loc.longitude,
                    accessibility: loc.accessibility.clone(),
                    extra: None,
                    created_at: now,
                    updated_at: now,
                })
            })
            .collect(),
    )
    .await?;

    let mut services = Vec::new();
    let mut areas = Vec::new();
    let mut links = Vec::new();
    let mut attributes = Vec::new();
    let mut contacts = Vec::new();
    let mut phones = Vec::new();
    let mut schedules = Vec::new();
    for svc in &dir.services {
        if let (Some(min), Some(max)) = (svc.min_age_months, svc.max_age_months)
            && min > max
        {
            bail!(
                "service {} has min_age_months above max_age_months",
                svc.name
            );
        }
        changes.push(feed::row("service", svc.id, ChangeOp::Create));
        services.push(service::ActiveModel::from(service::Model {
            id: svc.id,
            organization_id: svc.organization_id,
            name: svc.name.clone(),
            alternate_name: svc.alternate_name.clone(),
            description: svc.description.clone(),
            url: svc.url.clone(),
            email: svc.email.clone(),
            status: svc.status,
            assured_date: svc
                .assured_days_ago
                .and_then(|days| today.checked_sub_days(Days::new(days))),
            assurer: svc.assurer.clone(),
            version: 1,
            level_of_need: svc.level_of_need,
            from_pregnancy: svc.from_pregnancy,
            min_age_months: svc.min_age_months,
            max_age_months: svc.max_age_months,
            audiences: StringList(
                svc.audiences
                    .iter()
                    .map(|a| a.as_str().to_owned())
                    .collect(),
            ),
            eligibility_description: svc.eligibility_description.clone(),
            self_referral: svc.self_referral,
            professional_referral: svc.professional_referral,
            referral_instructions: svc.referral_instructions.clone(),
            delivery_modes: StringList(
                svc.delivery_modes
                    .iter()
                    .map(|m| m.as_str().to_owned())
                    .collect(),
            ),
            languages: StringList(
                svc.languages
                    .iter()
                    .map(|l| l.to_ascii_lowercase())
                    .collect(),
            ),
            free: svc.free,
            fees_description: svc.fees_description.clone(),
            funding_source: svc.funding_source.clone(),
            funding_ends_on: svc.funding_ends_on,
            extra: None,
            created_at: now,
            updated_at: now,
        }));
        for (position, area) in svc.service_areas.iter().enumerate() {
            areas.push(service_area::ActiveModel::from(service_area::Model {
                id: Uuid::new_v4(),
                service_id: svc.id,
                kind: area.kind,
                name: area.name.clone(),
                postcode_prefix: area
                    .postcode_prefix
                    .as_ref()
                    .map(|prefix| prefix.replace(' ', "").to_ascii_uppercase()),
                latitude: area.latitude,
                longitude: area.longitude,
                radius_km: area.radius_km,
                position: i32::try_from(position)?,
            }));
        }
        for (position, location_id) in svc.location_ids.iter().enumerate() {
            links.push(service_at_location::ActiveModel::from(
                service_at_location::Model {
                    id: Uuid::new_v4(),
                    service_id: svc.id,
                    location_id: *location_id,
                    position: i32::try_from(position)?,
                },
            ));
        }
        for (position, code) in svc.taxonomy_terms.iter().enumerate() {
            let term = *term_ids
                .get(code.as_str())
                .with_context(|| format!("service {} names unknown term {code}", svc.name))?;
            attributes.push(attribute::ActiveModel::from(attribute::Model {
                id: Uuid::new_v4(),
                link_id: svc.id,
                link_entity: attribute::LINK_ENTITY_SERVICE.to_owned(),
                link_type: None,
                taxonomy_term_id: term,
                value: None,
                position: i32::try_from(position)?,
            }));
        }
        for (position, c) in svc.contacts.iter().enumerate() {
            contacts.push(contact::ActiveModel::from(contact::Model {
                id: Uuid::new_v4(),
                service_id: svc.id,
                name: c.name.clone(),
                title: c.title.clone(),
                email: c.email.clone(),
                phone: c.phone.clone(),
                visibility: c.visibility,
                position: i32::try_from(position)?,
            }));
        }
        for (position, p) in svc.phones.iter().enumerate() {
            phones.push(phone::ActiveModel::from(phone::Model {
                id: Uuid::new_v4(),
                service_id: svc.id,
                number: p.number.clone(),
                description: p.description.clone(),
                visibility: p.visibility,
                position: i32::try_from(position)?,
            }));
        }
        for (position, s) in svc.schedules.iter().enumerate() {
            schedules.push(schedule::ActiveModel::from(schedule::Model {
                id: Uuid::new_v4(),
                service_id: svc.id,
                weekday: s.weekday,
                opens_at: s.opens_at.clone(),
                closes_at: s.closes_at.clone(),
                description: s.description.clone(),
                position: i32::try_from(position)?,
            }));
        }
    }
    insert_all(db, services).await?;
    insert_all(db, areas).await?;
    insert_all(db, links).await?;
    insert_all(db, attributes).await?;
    insert_all(db, contacts).await?;
    insert_all(db, phones).await?;
    insert_all(db, schedules).await?;

    let mut events = Vec::new();
    for ev in &dir.events {
        let day = today
            .checked_add_days(Days::new(ev.day_offset))
            .context("event day is out of range")?;
        changes.push(feed::row("event", ev.id, ChangeOp::Create));
        events.push(event::ActiveModel::from(event::Model {
            id: ev.id,
            service_id: ev.service_id,
            title: ev.title.clone(),
            description: ev.description.clone(),
            starts_at: uk_local_to_utc(day, parse_time(&ev.starts_at)?),
            ends_at: uk_local_to_utc(day, parse_time(&ev.ends_at)?),
            place_name: ev.place_name.clone(),
            address: ev.address.clone(),
            postcode: ev.postcode.clone(),
            latitude: ev.latitude,
            longitude: ev.longitude,
            created_at: now,
            updated_at: now,
        }));
    }
    insert_all(db, events).await?;
    insert_all(db, changes).await?;

    Ok(SeedOutcome::Seeded {
        organizations: dir.organizations.len(),
        services: dir.services.len(),
        events: dir.events.len(),
    })
}

fn parse_time(text: &str) -> anyhow::Result<NaiveTime> {
    NaiveTime::parse_from_str(text, "%H:%M")
        .with_context(|| format!("{text} is not a time as HH:MM"))
}

/// The last Sunday of a month, for the UK's summer time rules.
fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let next_month = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }?;
    let mut day = next_month.pred_opt()?;
    while day.weekday() != Weekday::Sun {
        day = day.pred_opt()?;
    }
    Some(day)
}

/// Converts a UK wall-clock time to UTC: British Summer Time runs from 01:00 UTC on the last
/// Sunday of March to 01:00 UTC on the last Sunday of October.
pub fn uk_local_to_utc(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let local = NaiveDateTime::new(day, time);
    let as_utc = Utc.from_utc_datetime(&local);
    let bst = match (last_sunday(day.year(), 3), last_sunday(day.year(), 10)) {
        (Some(start), Some(end)) => {
            let starts = Utc.from_utc_datetime(&start.and_hms_opt(1, 0, 0).unwrap_or_default());
            let ends = Utc.from_utc_datetime(&end.and_hms_opt(1, 0, 0).unwrap_or_default());
            let shifted = as_utc - chrono::Duration::hours(1);
            shifted >= starts && shifted < ends
        }
        _ => false,
    };
    if bst {
        as_utc - chrono::Duration::hours(1)
    } else {
        as_utc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uk_times_follow_summer_time() {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default();
        let winter = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap_or_default();
        let summer = NaiveDate::from_ymd_opt(2026, 7, 15).unwrap_or_default();
        assert_eq!(
            uk_local_to_utc(winter, noon).to_rfc3339(),
            "2026-01-15T12:00:00+00:00"
        );
        assert_eq!(
            uk_local_to_utc(summer, noon).to_rfc3339(),
            "2026-07-15T11:00:00+00:00"
        );
    }

    #[test]
    fn demo_directory_parses() {
        let parsed: Result<Directory, _> = serde_json::from_str(DEMO_DIRECTORY);
        assert!(parsed.is_ok(), "{:?}", parsed.err());
    }
}
