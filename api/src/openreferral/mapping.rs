//! Signpost rows as HSDS 3 / Open Referral UK 3.0 JSON objects.
//!
//! Only public data: contacts and phone lines marked PROFESSIONAL never appear. Objects that
//! Signpost keeps as columns rather than rows (languages, cost options, funding, addresses,
//! organisation identifiers, organisation phones) get stable ids derived from their parent's id.
//! Related rows are loaded in batches: one query per relation for a whole page of services.

use std::collections::{HashMap, HashSet};

use chrono::SecondsFormat;
use entity::{
    ServiceAreaKind, Visibility, attribute, codes, contact, location, organization, phone,
    schedule, service, service_area, service_at_location, taxonomy, taxonomy_term,
};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::store::find_by_ids;

/// An age in months as years, to two decimal places.
pub fn years(months: f64) -> f64 {
    (months / 12.0 * 100.0).round() / 100.0
}

/// A stable id for an object Signpost derives from a column of `parent` (`label` tells which).
pub fn derived_id(parent: Uuid, label: &str) -> Uuid {
    // FNV-1a over the label, twice with different offsets, mixed into the parent's bits.
    let fnv = |offset: u64| {
        label.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    let mixed = parent.as_u128()
        ^ (u128::from(fnv(0xcbf2_9ce4_8422_2325)) << 64)
        ^ u128::from(fnv(0x8422_2325_cbf2_9ce4));
    uuid::Builder::from_random_bytes(mixed.to_be_bytes()).into_uuid()
}

/// Drops `null` members from objects, recursively: the profile's schemas type fields as
/// strings or numbers, so an absent value is left out rather than sent as null.
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// Adds the keys of a row's `extra` column that the object does not already have.
fn merge_extra(object: &mut Value, extra: Option<&Value>) {
    if let (Value::Object(target), Some(Value::Object(extra))) = (object, extra) {
        for (key, value) in extra {
            if !target.contains_key(key) {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

/// An email address as far as the profile's `email` format goes.
fn looks_like_email(value: &str) -> bool {
    value
        .split_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !value.contains(char::is_whitespace)
}

/// An organisation's one-to-one fields (the list shape).
pub fn organization_summary(org: &organization::Model) -> Value {
    let mut out = json!({
        "id": org.id,
        "name": org.name,
        "description": org.description.clone().unwrap_or_default(),
        "email": org.email,
        "website": org.website,
    });
    merge_extra(&mut out, org.extra.as_ref());
    without_nulls(out)
}

/// An organisation with its phone and its charity and company numbers as identifiers.
pub fn organization_full(org: &organization::Model) -> Value {
    let mut identifiers = Vec::new();
    if let Some(number) = org
        .charity_number
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        identifiers.push(json!({
            "id": derived_id(org.id, "charity_number"),
            "organization_id": org.id,
            "identifier_scheme": "GB-CHC",
            "identifier_type": "Registered charity number",
            "identifier": number,
        }));
    }
    if let Some(number) = org
        .company_number
        .as_deref()
        .filter(|n| !n.trim().is_empty())
    {
        identifiers.push(json!({
            "id": derived_id(org.id, "company_number"),
            "organization_id": org.id,
            "identifier_scheme": "GB-COH",
            "identifier_type": "Company number",
            "identifier": number,
        }));
    }
    let phones: Vec<Value> = org
        .phone
        .iter()
        .filter(|n| !n.trim().is_empty())
        .map(|number| {
            json!({
                "id": derived_id(org.id, "phone"),
                "organization_id": org.id,
                "number": number,
            })
        })
        .collect();
    let mut out = json!({
        "id": org.id,
        "name": org.name,
        "description": org.description.clone().unwrap_or_default(),
        "email": org.email,
        "website": org.website,
        "phones": phones,
        "organization_identifiers": identifiers,
    });
    merge_extra(&mut out, org.extra.as_ref());
    without_nulls(out)
}

/// A taxonomy.
pub fn taxonomy_json(tax: &taxonomy::Model) -> Value {
    without_nulls(json!({
        "id": tax.id,
        "name": tax.name,
        "description": tax.description.clone().unwrap_or_default(),
        "uri": tax.uri,
        "version": tax.version,
    }))
}

/// A taxonomy term with its taxonomy (`taxonomy` is the vocabulary's name).
pub fn taxonomy_term_json(
    term: &taxonomy_term::Model,
    taxonomies: &HashMap<Uuid, taxonomy::Model>,
) -> Value {
    let tax = term.taxonomy_id.and_then(|id| taxonomies.get(&id));
    without_nulls(json!({
        "id": term.id,
        "code": term.code,
        "name": term.name,
        "description": term.description.clone().unwrap_or_default(),
        "parent_id": term.parent_id,
        "taxonomy": tax.map(|t| t.name.clone()),
        "taxonomy_id": term.taxonomy_id,
        "taxonomy_detail": tax.map(taxonomy_json),
    }))
}

/// A location's one-to-one fields.
pub fn location_summary(loc: &location::Model) -> Value {
    let mut out = json!({
        "id": loc.id,
        "location_type": "physical",
        "organization_id": loc.organization_id,
        "name": loc.name,
        "latitude": loc.latitude,
        "longitude": loc.longitude,
    });
    // Nulls go first, so that `extra` can keep an owner the directory does not hold.
    out = without_nulls(out);
    merge_extra(&mut out, loc.extra.as_ref());
    without_nulls(out)
}

/// A location with its physical address and accessibility notes.
pub fn location_full(loc: &location::Model) -> Value {
    let mut out = location_summary(loc);
    let mut addresses = Vec::new();
    if let Some(postcode) = loc.postcode.as_deref().filter(|p| !p.trim().is_empty()) {
        addresses.push(json!({
            "id": derived_id(loc.id, "address"),
            "location_id": loc.id,
            "address_1": loc.address_1.clone().or_else(|| loc.name.clone()).unwrap_or_default(),
            "city": loc.city.clone().or_else(|| loc.region.clone()).unwrap_or_default(),
            "region": loc.region,
            "state_province": loc.region.clone().or_else(|| loc.city.clone()).unwrap_or_default(),
            "postal_code": postcode,
            "country": "GB",
            "address_type": "physical",
        }));
    }
    let accessibility: Vec<Value> = loc
        .accessibility
        .iter()
        .filter(|a| !a.trim().is_empty())
        .map(|text| {
            json!({
                "id": derived_id(loc.id, "accessibility"),
                "location_id": loc.id,
                "description": text,
            })
        })
        .collect();
    if let Value::Object(map) = &mut out {
        map.insert("addresses".into(), without_nulls(Value::Array(addresses)));
        map.insert("accessibility".into(), Value::Array(accessibility));
    }
    out
}

/// A service's one-to-one fields (the list shape), without its organisation.
pub fn service_summary(svc: &service::Model) -> Value {
    let mut out = json!({
        "id": svc.id,
        "organization_id": svc.organization_id,
        "name": svc.name,
        "alternate_name": svc.alternate_name,
        "description": svc.description,
        "url": svc.url,
        "email": svc.email,
        "status": codes::status_code(svc.status),
        "application_process": svc.referral_instructions,
        "fees_description": svc.fees_description,
        "eligibility_description": svc.eligibility_description,
        "minimum_age": svc.min_age_months.map(years),
        "maximum_age": svc.max_age_months.map(years),
        "assured_date": svc.assured_date.map(|d| d.format("%Y-%m-%d").to_string()),
        "assurer_email": svc.assurer.as_deref().filter(|a| looks_like_email(a)),
        "last_modified": svc.updated_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    merge_extra(&mut out, svc.extra.as_ref());
    without_nulls(out)
}

/// Inserts `key: value` into an object.
fn put(object: &mut Value, key: &str, value: Value) {
    if let Value::Object(map) = object {
        map.insert(key.to_owned(), value);
    }
}

/// List-shaped services (one-to-one fields and the organisation) for `ids`, in that order;
/// unknown ids are skipped.
pub async fn summary_services(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> Result<Vec<Value>, DbErr> {
    let services = find_by_ids::<service::Entity, _>(db, service::Column::Id, ids).await?;
    let org_ids: Vec<Uuid> = unique(services.iter().map(|s| s.organization_id));
    let orgs: HashMap<Uuid, organization::Model> =
        find_by_ids::<organization::Entity, _>(db, organization::Column::Id, &org_ids)
            .await?
            .into_iter()
            .map(|o| (o.id, o))
            .collect();
    let by_id: HashMap<Uuid, service::Model> = services.into_iter().map(|s| (s.id, s)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.get(id))
        .map(|svc| {
            let mut out = service_summary(svc);
            if let Some(org) = orgs.get(&svc.organization_id) {
                put(&mut out, "organization", organization_summary(org));
            }
            out
        })
        .collect())
}

fn unique(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(*id)).collect()
}

/// Groups rows by a key, keeping each group ordered by `position`.
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

/// Everything about a page of services, loaded with one query per relation.
struct Related {
    orgs: HashMap<Uuid, organization::Model>,
    sals: HashMap<Uuid, Vec<service_at_location::Model>>,
    locations: HashMap<Uuid, location::Model>,
    contacts: HashMap<Uuid, Vec<contact::Model>>,
    phones: HashMap<Uuid, Vec<phone::Model>>,
    schedules: HashMap<Uuid, Vec<schedule::Model>>,
    areas: HashMap<Uuid, Vec<service_area::Model>>,
    attributes: HashMap<Uuid, Vec<attribute::Model>>,
    terms: HashMap<Uuid, taxonomy_term::Model>,
    taxonomies: HashMap<Uuid, taxonomy::Model>,
}

async fn load_related(
    db: &impl ConnectionTrait,
    services: &[service::Model],
) -> Result<Related, DbErr> {
    let ids: Vec<Uuid> = services.iter().map(|s| s.id).collect();
    let org_ids = unique(services.iter().map(|s| s.organization_id));
    let orgs = find_by_ids::<organization::Entity, _>(db, organization::Column::Id, &org_ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let sal_rows = find_by_ids::<service_at_location::Entity, _>(
        db,
        service_at_location::Column::ServiceId,
        &ids,
    )
    .await?;
    let location_ids = unique(sal_rows.iter().map(|s| s.location_id));
    let locations = find_by_ids::<location::Entity, _>(db, location::Column::Id, &location_ids)
        .await?
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let sals = grouped(sal_rows, |s| s.service_id, |s| (s.position, s.id));
    let contacts = find_by_ids::<contact::Entity, _>(db, contact::Column::ServiceId, &ids)
        .await?
        .into_iter()
        .filter(|c| c.visibility == Visibility::Public)
        .collect();
    let contacts = grouped(contacts, |c| c.service_id, |c| (c.position, c.id));
    let phones = find_by_ids::<phone::Entity, _>(db, phone::Column::ServiceId, &ids)
        .await?
        .into_iter()
        .filter(|p| p.visibility == Visibility::Public)
        .collect();
    let phones = grouped(phones, |p| p.service_id, |p| (p.position, p.id));
    let schedules =
        find_by_ids::<schedule::Entity, _>(db, schedule::Column::ServiceId, &ids).await?;
    let schedules = grouped(schedules, |s| s.service_id, |s| (s.position, s.id));
    let areas =
        find_by_ids::<service_area::Entity, _>(db, service_area::Column::ServiceId, &ids).await?;
    let areas = grouped(areas, |a| a.service_id, |a| (a.position, a.id));
    let attributes = find_by_ids::<attribute::Entity, _>(db, attribute::Column::LinkId, &ids)
        .await?
        .into_iter()
        .filter(|a| a.link_entity == attribute::LINK_ENTITY_SERVICE)
        .collect::<Vec<_>>();
    let term_ids = unique(attributes.iter().map(|a| a.taxonomy_term_id));
    let attributes = grouped(attributes, |a| a.link_id, |a| (a.position, a.id));
    let terms: HashMap<Uuid, taxonomy_term::Model> =
        find_by_ids::<taxonomy_term::Entity, _>(db, taxonomy_term::Column::Id, &term_ids)
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    let taxonomy_ids = unique(terms.values().filter_map(|t| t.taxonomy_id));
    let taxonomies = find_by_ids::<taxonomy::Entity, _>(db, taxonomy::Column::Id, &taxonomy_ids)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();
    Ok(Related {
        orgs,
        sals,
        locations,
        contacts,
        phones,
        schedules,
        areas,
        attributes,
        terms,
        taxonomies,
    })
}

fn service_area_json(area: &service_area::Model) -> Value {
    let (extent, extent_type, description) = match area.kind {
        ServiceAreaKind::National => (
            None,
            None,
            Some("The whole of the United Kingdom".to_owned()),
        ),
        ServiceAreaKind::PostcodePrefix => (
            area.postcode_prefix
                .as_ref()
                .map(|p| Value::String(p.clone())),
            Some("text"),
            area.postcode_prefix
                .as_ref()
                .map(|p| format!("Postcodes starting {p}")),
        ),
        ServiceAreaKind::Radius => match (area.latitude, area.longitude) {
            (Some(lat), Some(lon)) => (
                Some(Value::String(
                    json!({ "type": "Point", "coordinates": [lon, lat] }).to_string(),
                )),
                Some("geojson"),
                area.radius_km
                    .map(|r| format!("Within {r} km of the point")),
            ),
            _ => (None, None, None),
        },
    };
    without_nulls(json!({
        "id": area.id,
        "service_id": area.service_id,
        "name": area.name,
        "description": description,
        "extent": extent,
        "extent_type": extent_type,
    }))
}

fn schedule_json(row: &schedule::Model) -> Value {
    let day = row.weekday.and_then(codes::weekday).map(|day| day.byday);
    without_nulls(json!({
        "id": row.id,
        "service_id": row.service_id,
        "freq": day.map(|_| "WEEKLY"),
        "interval": day.map(|_| 1),
        "byday": day,
        "opens_at": row.opens_at.as_deref().map(codes::time_to_hsds),
        "closes_at": row.closes_at.as_deref().map(codes::time_to_hsds),
        "description": row.description,
    }))
}

fn attribute_json(row: &attribute::Model, related: &Related) -> Value {
    let term = related
        .terms
        .get(&row.taxonomy_term_id)
        .map(|t| taxonomy_term_json(t, &related.taxonomies));
    without_nulls(json!({
        "id": row.id,
        "link_id": row.link_id,
        "link_type": row.link_type,
        "link_entity": row.link_entity,
        "taxonomy_term_id": row.taxonomy_term_id,
        "value": row.value,
        "taxonomy_term": term,
    }))
}

/// The rows grouped under `id` (none when it has none).
fn of<T>(groups: &HashMap<Uuid, Vec<T>>, id: Uuid) -> &[T] {
    groups.get(&id).map_or(&[][..], Vec::as_slice)
}

fn full_service(svc: &service::Model, related: &Related) -> Value {
    let mut out = service_summary(svc);
    let org = related
        .orgs
        .get(&svc.organization_id)
        .map(organization_full);
    let languages: Vec<Value> = svc
        .languages
        .0
        .iter()
        .map(|code| {
            without_nulls(json!({
                "id": derived_id(svc.id, &format!("language:{code}")),
                "service_id": svc.id,
                "code": code,
                "name": codes::language_by_code(code).map(|language| language.english),
            }))
        })
        .collect();
    let mut cost_options = Vec::new();
    if svc.free {
        cost_options.push(json!({
            "id": derived_id(svc.id, "cost_option"),
            "service_id": svc.id,
            "option": "Free",
            "currency": "GBP",
            "amount": 0,
        }));
    } else if let Some(fees) = &svc.fees_description {
        cost_options.push(json!({
            "id": derived_id(svc.id, "cost_option"),
            "service_id": svc.id,
            "option": "Fees apply",
            "currency": "GBP",
            "amount_description": fees,
        }));
    }
    let funding: Vec<Value> = svc
        .funding_source
        .iter()
        .map(|source| {
            json!({
                "id": derived_id(svc.id, "funding"),
                "service_id": svc.id,
                "source": source,
            })
        })
        .collect();
    let sals: Vec<Value> = of(&related.sals, svc.id)
        .iter()
        .map(|sal| {
            let mut item = json!({
                "id": sal.id,
                "service_id": sal.service_id,
                "location_id": sal.location_id,
            });
            if let Some(loc) = related.locations.get(&sal.location_id) {
                put(&mut item, "location", location_full(loc));
            }
            item
        })
        .collect();
    let contacts: Vec<Value> = of(&related.contacts, svc.id)
        .iter()
        .map(|c| {
            let phones: Vec<Value> = c
                .phone
                .iter()
                .filter(|n| !n.trim().is_empty())
                .map(|number| {
                    json!({
                        "id": derived_id(c.id, "phone"),
                        "contact_id": c.id,
                        "number": number,
                    })
                })
                .collect();
            without_nulls(json!({
                "id": c.id,
                "service_id": c.service_id,
                "name": c.name,
                "title": c.title,
                "email": c.email,
                "phones": phones,
            }))
        })
        .collect();
    let phones: Vec<Value> = of(&related.phones, svc.id)
        .iter()
        .map(|p| {
            without_nulls(json!({
                "id": p.id,
                "service_id": p.service_id,
                "number": p.number,
                "description": p.description,
            }))
        })
        .collect();
    let schedules: Vec<Value> = of(&related.schedules, svc.id)
        .iter()
        .map(schedule_json)
        .collect();
    let areas: Vec<Value> = of(&related.areas, svc.id)
        .iter()
        .map(service_area_json)
        .collect();
    let attributes: Vec<Value> = of(&related.attributes, svc.id)
        .iter()
        .map(|a| attribute_json(a, related))
        .collect();
    if let Some(org) = org {
        put(&mut out, "organization", org);
    }
    put(&mut out, "languages", Value::Array(languages));
    put(&mut out, "cost_options", Value::Array(cost_options));
    put(&mut out, "funding", Value::Array(funding));
    put(&mut out, "service_at_locations", Value::Array(sals));
    put(&mut out, "contacts", Value::Array(contacts));
    put(&mut out, "phones", Value::Array(phones));
    put(&mut out, "schedules", Value::Array(schedules));
    put(&mut out, "service_areas", Value::Array(areas));
    put(&mut out, "attributes", Value::Array(attributes));
    out
}

/// Fully nested HSDS services for `ids`, in that order (unknown ids are skipped), whatever
/// their status; with public contacts and phone lines only.
pub async fn full_services(db: &impl ConnectionTrait, ids: &[Uuid]) -> Result<Vec<Value>, DbErr> {
    let services = find_by_ids::<service::Entity, _>(db, service::Column::Id, ids).await?;
    let related = load_related(db, &services).await?;
    let by_id: HashMap<Uuid, &service::Model> = services.iter().map(|s| (s.id, s)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.get(id))
        .map(|svc| full_service(svc, &related))
        .collect())
}

/// How many services one batch of the export loads.
const EXPORT_BATCH: usize = 200;

/// Every service of every status as a fully nested HSDS object, ordered by id.
pub async fn export_services(db: &impl ConnectionTrait) -> Result<Vec<Value>, DbErr> {
    let ids: Vec<Uuid> = service::Entity::find()
        .select_only()
        .column(service::Column::Id)
        .order_by_asc(service::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(EXPORT_BATCH) {
        out.extend(full_services(db, chunk).await?);
    }
    Ok(out)
}
