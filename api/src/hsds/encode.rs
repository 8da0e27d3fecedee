//! Signpost's listings as HSDS 3 / Open Referral UK 3.0 JSON objects.
//!
//! Only public data: contacts and phone lines marked PROFESSIONAL never appear. Objects that
//! Signpost keeps as columns rather than rows (languages, cost options, funding, addresses,
//! organisation identifiers, organisation phones) get stable ids derived from their parent's id.
//! A service is encoded from its [`ServiceRecord`], loaded by [`crate::store::listing`].

use chrono::SecondsFormat;
use entity::{
    ServiceAreaKind, Visibility, codes, location, organization, schedule, service, service_area,
    taxonomy, taxonomy_term,
};
use sea_orm::{ActiveEnum, ConnectionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::store::{
    self,
    listing::{Parts, ServiceRecord, ServiceTerm},
};

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
    let schemes = [
        (
            &org.charity_number,
            "charity_number",
            "GB-CHC",
            "Registered charity number",
        ),
        (
            &org.company_number,
            "company_number",
            "GB-COH",
            "Company number",
        ),
    ];
    let identifiers: Vec<Value> = schemes
        .into_iter()
        .filter_map(|(number, label, scheme, kind)| {
            let number = number.as_deref().filter(|n| !n.trim().is_empty())?;
            Some(json!({
                "id": derived_id(org.id, label),
                "organization_id": org.id,
                "identifier_scheme": scheme,
                "identifier_type": kind,
                "identifier": number,
            }))
        })
        .collect();
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

/// A taxonomy term with its taxonomy (`taxonomy` is the vocabulary's name), when the term
/// names one.
pub fn taxonomy_term_json(term: &taxonomy_term::Model, tax: Option<&taxonomy::Model>) -> Value {
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
        // Signpost's extensions (see `super::SERVICE_EXTENSION_KEYS`).
        "level_of_need": svc.level_of_need.to_value(),
        "from_pregnancy": svc.from_pregnancy,
        "audiences": &svc.audiences.0,
        "delivery_modes": &svc.delivery_modes.0,
        "self_referral": svc.self_referral,
        "professional_referral": svc.professional_referral,
        "funding_ends_on": svc.funding_ends_on.map(|d| d.format("%Y-%m-%d").to_string()),
        "assurer": svc.assurer.as_deref().filter(|a| !looks_like_email(a)),
        // Where the eligibility values came from; absent when every one was given.
        "eligibility_sources": svc.eligibility_sources,
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

/// A service in the list shape: its one-to-one fields and its organisation's.
pub fn summary_service(record: &ServiceRecord) -> Value {
    let mut out = service_summary(&record.service);
    if let Some(org) = &record.organization {
        put(&mut out, "organization", organization_summary(org));
    }
    out
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
        // The code as the extent (read back as itself), the area's name as the description.
        ServiceAreaKind::AdministrativeArea => (
            area.area_code.as_ref().map(|c| Value::String(c.clone())),
            Some("text"),
            area.area_code
                .as_deref()
                .and_then(|c| search::areas::embedded().get(c))
                .map(|a| a.name.clone()),
        ),
        // The polygon as it was given.
        ServiceAreaKind::Polygon => (
            area.extent.as_ref().map(|e| Value::String(e.clone())),
            Some("geojson"),
            None,
        ),
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

fn attribute_json(attached: &ServiceTerm) -> Value {
    let row = &attached.attribute;
    let term = taxonomy_term_json(&attached.term, attached.taxonomy.as_ref());
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

/// A fully nested HSDS service, whatever its status, with its public contacts and phone lines
/// only.
pub fn full_service(record: &ServiceRecord) -> Value {
    let svc = &record.service;
    let mut out = service_summary(svc);
    let org = record.organization.as_ref().map(organization_full);
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
    let sals: Vec<Value> = record
        .locations
        .iter()
        .map(|place| {
            let sal = &place.link;
            let mut item = json!({
                "id": sal.id,
                "service_id": sal.service_id,
                "location_id": sal.location_id,
            });
            put(&mut item, "location", location_full(&place.location));
            item
        })
        .collect();
    let contacts: Vec<Value> = record
        .contacts
        .iter()
        .filter(|c| c.visibility == Visibility::Public)
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
    let phones: Vec<Value> = record
        .phones
        .iter()
        .filter(|p| p.visibility == Visibility::Public)
        .map(|p| {
            without_nulls(json!({
                "id": p.id,
                "service_id": p.service_id,
                "number": p.number,
                "description": p.description,
            }))
        })
        .collect();
    let schedules: Vec<Value> = record.schedules.iter().map(schedule_json).collect();
    let areas: Vec<Value> = record.areas.iter().map(service_area_json).collect();
    let attributes: Vec<Value> = record.terms.iter().map(attribute_json).collect();
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

/// How many services one batch of the export loads.
const EXPORT_BATCH: usize = 200;

/// Writes every service of every status, fully nested, as one JSON array ordered by id.
pub async fn export(
    db: &impl ConnectionTrait,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let ids = store::openreferral::all_service_ids(db).await?;
    let mut services = Vec::with_capacity(ids.len());
    // The ids come in order, so each batch is the range from its first id to its last.
    for chunk in ids.chunks(EXPORT_BATCH) {
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let records = store::listing::load_range(db, *first, *last, Parts::ALL).await?;
        services.extend(records.iter().map(full_service));
    }
    serde_json::to_writer_pretty(&mut *out, &services)?;
    writeln!(out)?;
    Ok(())
}
