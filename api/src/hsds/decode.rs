//! HSDS 3 / Open Referral UK JSON into Signpost's rows: the shape of a document and the records
//! in it, read field by field, with no database.
//!
//! Accepted documents: an array of fully nested services, a page of `/services` (`contents`),
//! one service object, or an object of top-level arrays (`services`, `organizations`,
//! `locations`, `taxonomies`, `taxonomy_terms`, and child arrays such as `phones` or
//! `service_at_locations` linked by `service_id`). HSDS fields with no home in Signpost are
//! kept in the record's `extra` column. A record that cannot be read is an [`ImportError`]
//! naming its JSON path.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use entity::{
    Audience, DeliveryMode, EligibilitySources, LevelOfNeed, Provenance, ServiceAreaKind,
    ServiceStatus, StringList, ValueSource, Visibility, attribute, codes, contact,
    eligibility_field, event, location, organization, phone, schedule, service, service_area,
    service_at_location, taxonomy, taxonomy_term,
};
use search::eligibility::{Found as Read, Reading, Rules};
use serde_json::{Map, Value};
use uuid::Uuid;

use search::areas::{Place, Reading as PlaceReading};

use crate::{
    hsds::encode::{derived_id, without_nulls},
    store::listing::{Field, Invalid, ListingRows},
    validate::MAX_EVENT_DAYS,
};

/// A record that cannot be imported: where in the document, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportError {
    /// A JSON Pointer into the document, such as `/contents/3/organization/id`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl From<Invalid> for ImportError {
    fn from(invalid: Invalid) -> Self {
        Self {
            path: invalid.path,
            message: invalid.message,
        }
    }
}

/// A document that is not an Open Referral document at all.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);

// ---------------------------------------------------------------------------------------------
// The document's shape.

/// The records of a document, each with its JSON path.
#[derive(Debug, Default)]
pub struct Shaped {
    /// Services, fully nested (a tabular document's child arrays attached).
    pub services: Vec<(String, Value)>,
    /// Top-level organisations.
    pub organizations: Vec<(String, Value)>,
    /// Top-level taxonomies.
    pub taxonomies: Vec<(String, Value)>,
    /// Top-level taxonomy terms.
    pub terms: Vec<(String, Value)>,
    /// Top-level locations (their addresses and accessibility attached).
    pub locations: Vec<(String, Value)>,
}

/// Child arrays of a tabular document, linked to their service by `service_id`.
const SERVICE_CHILDREN: &[&str] = &[
    "service_at_locations",
    "phones",
    "contacts",
    "schedules",
    "service_areas",
    "attributes",
    "languages",
    "cost_options",
    "funding",
];

/// Child arrays of a tabular document, linked to their location by `location_id`.
const LOCATION_CHILDREN: &[&str] = &["addresses", "accessibility"];

/// The top-level arrays that make an object a tabular document.
const TABLES: &[&str] = &[
    "services",
    "organizations",
    "taxonomies",
    "taxonomy_terms",
    "locations",
];

fn listed(items: &[Value], prefix: &str) -> Vec<(String, Value)> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{prefix}/{i}"), v.clone()))
        .collect()
}

/// The records of a document, whichever of the accepted shapes it has.
pub fn shape(document: &Value) -> Result<Shaped, ShapeError> {
    match document {
        Value::Array(items) => Ok(Shaped {
            services: listed(items, ""),
            ..Shaped::default()
        }),
        Value::Object(map) => {
            if let Some(contents) = map.get("contents") {
                let items = contents
                    .as_array()
                    .ok_or_else(|| ShapeError("/contents: expected an array of services".into()))?;
                return Ok(Shaped {
                    services: listed(items, "/contents"),
                    ..Shaped::default()
                });
            }
            if TABLES.iter().any(|k| map.contains_key(*k)) {
                return tabular(map);
            }
            if map.contains_key("id") && map.contains_key("name") {
                return Ok(Shaped {
                    services: vec![(String::new(), document.clone())],
                    ..Shaped::default()
                });
            }
            Err(ShapeError(
                "expected an array of services, a page of services (contents) or an object \
                 of arrays (services, organizations, locations, taxonomy_terms, ...)"
                    .into(),
            ))
        }
        _ => Err(ShapeError("expected a JSON array or object".into())),
    }
}

/// The array at `map[key]`; empty when absent or null.
fn table(map: &Map<String, Value>, key: &str) -> Result<Vec<Value>, ShapeError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => Ok(items.clone()),
        Some(_) => Err(ShapeError(format!("/{key}: expected an array"))),
    }
}

/// An object of top-level arrays, its child arrays attached to their parents.
fn tabular(map: &Map<String, Value>) -> Result<Shaped, ShapeError> {
    let mut services = table(map, "services")?;
    for key in SERVICE_CHILDREN {
        let link = if *key == "attributes" {
            "link_id"
        } else {
            "service_id"
        };
        attach(&mut services, key, table(map, key)?, link);
    }
    let mut locations = table(map, "locations")?;
    for key in LOCATION_CHILDREN {
        attach(&mut locations, key, table(map, key)?, "location_id");
    }
    Ok(Shaped {
        services: listed(&services, "/services"),
        organizations: listed(&table(map, "organizations")?, "/organizations"),
        taxonomies: listed(&table(map, "taxonomies")?, "/taxonomies"),
        terms: listed(&table(map, "taxonomy_terms")?, "/taxonomy_terms"),
        locations: listed(&locations, "/locations"),
    })
}

/// Puts each of `rows` into `parents[..][key]`, the parent whose `id` its `link` names (a
/// parent that already nests that array keeps its own).
fn attach(parents: &mut [Value], key: &str, rows: Vec<Value>, link: &str) {
    if rows.is_empty() {
        return;
    }
    let mut by_parent: HashMap<String, Vec<Value>> = HashMap::new();
    for row in rows {
        if let Some(id) = row.get(link).and_then(Value::as_str) {
            by_parent.entry(id.to_owned()).or_default().push(row);
        }
    }
    for parent in parents {
        let Some(id) = parent.get("id").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if let (Some(rows), Value::Object(obj)) = (by_parent.remove(&id), &mut *parent)
            && !obj.contains_key(key)
        {
            obj.insert(key.to_owned(), Value::Array(rows));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Reading fields.

fn err(path: &str, message: impl Into<String>) -> ImportError {
    ImportError {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// A UUID given as a string.
pub fn parse_uuid(value: &Value) -> Option<Uuid> {
    value.as_str().and_then(|s| Uuid::parse_str(s.trim()).ok())
}

/// The UUID at `obj[key]`; an error naming `path/key` when it is missing or not a UUID.
fn uuid_at(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Uuid, ImportError> {
    let at = format!("{path}/{key}");
    match obj.get(key) {
        None | Some(Value::Null) => Err(err(&at, format!("{key} is required"))),
        Some(value) => parse_uuid(value).ok_or_else(|| {
            err(
                &at,
                format!("{key} is not a UUID: {}", short(&value.to_string())),
            )
        }),
    }
}

/// An optional UUID; an error when present but not a UUID.
fn opt_uuid_at(
    obj: &Map<String, Value>,
    key: &str,
    path: &str,
) -> Result<Option<Uuid>, ImportError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(_) => uuid_at(obj, key, path).map(Some),
    }
}

fn short(text: &str) -> String {
    if text.chars().count() > 60 {
        format!("{}...", text.chars().take(60).collect::<String>())
    } else {
        text.to_owned()
    }
}

/// A string field (numbers and booleans as text); none when missing or null.
fn text(obj: &Map<String, Value>, key: &str) -> Option<String> {
    match obj.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A string field that is not blank.
fn filled(obj: &Map<String, Value>, key: &str) -> Option<String> {
    text(obj, key).filter(|s| !s.trim().is_empty())
}

/// A required string field that is not blank.
fn required(obj: &Map<String, Value>, key: &str, path: &str) -> Result<String, ImportError> {
    filled(obj, key).ok_or_else(|| err(&format!("{path}/{key}"), format!("{key} is required")))
}

/// A number field (numbers or numeric strings); an error when present but not a number.
fn number(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<f64>, ImportError> {
    let not_a_number = || err(&format!("{path}/{key}"), format!("{key} is not a number"));
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| not_a_number()),
        Some(_) => Err(not_a_number()),
    }
}

fn array<'a>(obj: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn objects<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> impl Iterator<Item = &'a Map<String, Value>> {
    array(obj, key).iter().filter_map(Value::as_object)
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ImportError> {
    value
        .as_object()
        .ok_or_else(|| err(path, "expected an object"))
}

/// The members of `obj` not in `known` and not null.
fn extra_of(obj: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    obj.iter()
        .filter(|(k, v)| !v.is_null() && !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), without_nulls(v.clone())))
        .collect()
}

/// `extra` as the value of an `extra` column: none when empty.
fn extra_column(extra: Map<String, Value>) -> Option<Value> {
    (!extra.is_empty()).then_some(Value::Object(extra))
}

/// A Signpost extension field holding a list of codes (`"audiences": ["FATHERS"]`): the codes
/// `parse` knows, in the feed's order without repeats; `None` when the field is absent.
fn code_list(
    extra: &Map<String, Value>,
    key: &str,
    parse: fn(&str) -> Option<&'static str>,
) -> Option<StringList> {
    let items = extra.get(key)?.as_array()?;
    let mut codes: Vec<String> = Vec::new();
    for code in items.iter().filter_map(Value::as_str) {
        if let Some(code) = parse(code.trim().to_ascii_uppercase().as_str())
            && !codes.iter().any(|c| c == code)
        {
            codes.push(code.to_owned());
        }
    }
    Some(StringList(codes))
}

fn position(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(i32::MAX)
}

/// Years as months; within a few hundredths of a whole month (the export rounds years to two
/// places) the whole month.
fn months(years: f64) -> f64 {
    let months = years * 12.0;
    if (months - months.round()).abs() < 0.07 {
        months.round()
    } else {
        months
    }
}

fn parse_date(value: &str) -> Option<NaiveDate> {
    let value = value.trim();
    NaiveDate::parse_from_str(value.get(..10).unwrap_or(value), "%Y-%m-%d").ok()
}

/// An ISO 639-1 code for a language object or string: by its code (ISO 639-1, with any region
/// such as `en-GB`, or ISO 639-3 / 639-2), else by its English name.
fn language_code(value: &Value) -> Option<String> {
    let (code, name) = match value {
        Value::String(s) => (Some(s.clone()), Some(s.clone())),
        Value::Object(obj) => (filled(obj, "code"), filled(obj, "name")),
        _ => (None, None),
    };
    let by_code = code.and_then(|code| {
        let code = code.trim().to_ascii_lowercase();
        let base = code.split(['-', '_']).next().unwrap_or(&code).to_owned();
        codes::language_by_code(&base).or_else(|| codes::language_by_code3(&base))
    });
    by_code
        .or_else(|| codes::language_by_english_name(&name?))
        .map(|language| language.code.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Records other than services.

/// Records found inside another record (an organisation or places nested in a service, a
/// taxonomy named by a term), each with its JSON path, in the order found. A record found in
/// a service that cannot be imported is kept when it could be read.
#[derive(Debug, Default)]
pub struct Found {
    /// Organisations.
    pub organizations: Vec<(String, organization::Model)>,
    /// Taxonomies.
    pub taxonomies: Vec<(String, taxonomy::Model)>,
    /// Taxonomy terms.
    pub terms: Vec<(String, taxonomy_term::Model)>,
    /// Locations.
    pub locations: Vec<(String, location::Model)>,
}

const ORGANIZATION_KEYS: &[&str] = &[
    "id",
    "name",
    "description",
    "email",
    "website",
    "phones",
    "organization_identifiers",
    // Nested collections HSDS repeats elsewhere.
    "services",
    "locations",
];

const LOCATION_KEYS: &[&str] = &[
    "id",
    "location_type",
    "organization_id",
    "name",
    "latitude",
    "longitude",
    "addresses",
    "accessibility",
];

/// The `id` of the record at `path`.
pub fn record_id(value: &Value, path: &str) -> Result<Uuid, ImportError> {
    uuid_at(object(value, path)?, "id", path)
}

/// An organisation.
pub fn organization(value: &Value, path: &str) -> Result<organization::Model, ImportError> {
    let obj = object(value, path)?;
    let id = uuid_at(obj, "id", path)?;
    let name = required(obj, "name", path)?;
    let identifiers = Identifiers::of(obj);
    let mut extra = extra_of(obj, ORGANIZATION_KEYS);
    if !identifiers.other.is_empty() {
        extra.insert(
            "other_organization_identifiers".into(),
            Value::Array(identifiers.other),
        );
    }
    let now = Utc::now();
    Ok(organization::Model {
        id,
        name,
        description: filled(obj, "description"),
        email: filled(obj, "email"),
        website: filled(obj, "website").or_else(|| filled(obj, "url")),
        phone: objects(obj, "phones").find_map(|p| filled(p, "number")),
        charity_number: identifiers.charity,
        company_number: identifiers.company,
        extra: extra_column(extra),
        created_at: now,
        updated_at: now,
    })
}

/// An organisation's identifiers: its charity and company numbers, and the rest as given.
struct Identifiers {
    charity: Option<String>,
    company: Option<String>,
    other: Vec<Value>,
}

impl Identifiers {
    fn of(obj: &Map<String, Value>) -> Self {
        let mut out = Self {
            charity: None,
            company: None,
            other: Vec::new(),
        };
        for item in array(obj, "organization_identifiers") {
            let Some(ident) = item.as_object() else {
                continue;
            };
            let scheme = text(ident, "identifier_scheme")
                .unwrap_or_default()
                .to_ascii_uppercase();
            let kind = text(ident, "identifier_type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let number = filled(ident, "identifier");
            if (scheme == "GB-CHC" || kind.contains("charity")) && out.charity.is_none() {
                out.charity = number;
            } else if (scheme == "GB-COH" || kind.contains("company")) && out.company.is_none() {
                out.company = number;
            } else {
                out.other.push(item.clone());
            }
        }
        out
    }
}

/// A taxonomy.
pub fn taxonomy(value: &Value, path: &str) -> Result<taxonomy::Model, ImportError> {
    let obj = object(value, path)?;
    Ok(taxonomy::Model {
        id: uuid_at(obj, "id", path)?,
        name: required(obj, "name", path)?,
        description: filled(obj, "description"),
        uri: filled(obj, "uri"),
        version: filled(obj, "version"),
    })
}

/// A taxonomy term; the taxonomy it describes (`taxonomy_detail`) or names (`taxonomy`) goes
/// into `found`.
pub fn term(
    value: &Value,
    path: &str,
    found: &mut Found,
) -> Result<taxonomy_term::Model, ImportError> {
    let obj = object(value, path)?;
    let id = uuid_at(obj, "id", path)?;
    let name = required(obj, "name", path)?;
    let parent_id = opt_uuid_at(obj, "parent_id", path)?;
    let mut taxonomy_id = opt_uuid_at(obj, "taxonomy_id", path)?;
    if let Some(detail) = obj.get("taxonomy_detail").filter(|v| v.is_object()) {
        let detail_path = format!("{path}/taxonomy_detail");
        let row = taxonomy(detail, &detail_path)?;
        taxonomy_id = Some(row.id);
        found.taxonomies.push((detail_path, row));
    } else if let Some(tax_name) = filled(obj, "taxonomy") {
        // A vocabulary named but not described: one taxonomy per name.
        let id =
            taxonomy_id.unwrap_or_else(|| derived_id(Uuid::nil(), &format!("taxonomy:{tax_name}")));
        let row = taxonomy::Model {
            id,
            name: tax_name,
            description: None,
            uri: None,
            version: None,
        };
        found.taxonomies.push((format!("{path}/taxonomy"), row));
        taxonomy_id = Some(id);
    }
    Ok(taxonomy_term::Model {
        id,
        taxonomy_id,
        code: filled(obj, "code"),
        name,
        description: filled(obj, "description"),
        parent_id,
        position: 0,
    })
}

/// A location; `organization_id` is its owner when it names none (a location nested in a
/// service belongs to the service's organisation).
pub fn location(
    value: &Value,
    path: &str,
    organization_id: Option<Uuid>,
) -> Result<location::Model, ImportError> {
    let obj = object(value, path)?;
    let id = uuid_at(obj, "id", path)?;
    let addresses = array(obj, "addresses");
    let address = addresses
        .iter()
        .filter_map(Value::as_object)
        .find(|a| text(a, "address_type").as_deref() == Some("physical"))
        .or_else(|| addresses.iter().find_map(Value::as_object));
    let mut extra = extra_of(obj, LOCATION_KEYS);
    if let Some(kind) = filled(obj, "location_type").filter(|k| k != "physical") {
        extra.insert("original_location_type".into(), Value::String(kind));
    }
    let (address_1, city, region, postcode) = match address {
        Some(a) => {
            let city = filled(a, "city");
            let region = filled(a, "region")
                .or_else(|| filled(a, "state_province").filter(|s| Some(s) != city.as_ref()));
            (
                filled(a, "address_1"),
                city,
                region,
                filled(a, "postal_code"),
            )
        }
        None => (None, None, None, None),
    };
    let accessibility: Vec<String> = objects(obj, "accessibility")
        .filter_map(|a| filled(a, "description"))
        .collect();
    let organization_id = opt_uuid_at(obj, "organization_id", path)?.or(organization_id);
    let now = Utc::now();
    Ok(location::Model {
        id,
        organization_id,
        name: filled(obj, "name"),
        address_1,
        city,
        region,
        postcode,
        latitude: number(obj, "latitude", path)?,
        longitude: number(obj, "longitude", path)?,
        accessibility: (!accessibility.is_empty()).then(|| accessibility.join("\n")),
        extra: extra_column(extra),
        created_at: now,
        updated_at: now,
    })
}

// ---------------------------------------------------------------------------------------------
// Services.

const SERVICE_KEYS: &[&str] = &[
    "id",
    "organization_id",
    "organization",
    "name",
    "alternate_name",
    "description",
    "url",
    "email",
    "status",
    "application_process",
    "fees_description",
    "eligibility_description",
    "minimum_age",
    "maximum_age",
    "assured_date",
    "assurer_email",
    "last_modified",
    "languages",
    "cost_options",
    "funding",
    "service_at_locations",
    "contacts",
    "phones",
    "schedules",
    "service_areas",
    "attributes",
    // Signpost's events have a table of their own.
    "events",
];

/// A service read from a document: its rows, and what the import needs besides.
#[derive(Clone, Debug)]
pub struct DecodedService {
    /// Its JSON path.
    pub path: String,
    /// The record as given (the audit log's `after`).
    pub source: Value,
    /// The service and its children (`places` stays empty: locations are records of their own).
    pub rows: ListingRows,
    /// The feed's `last_modified`.
    pub last_modified: Option<DateTime<Utc>>,
    /// The Signpost extension fields the feed gave; the service row holds defaults for the rest.
    pub given: Given,
    /// Where its references and children are in the document.
    pub paths: Paths,
    /// Its dated sessions and pop-ups (the `events` extension, see [`events`]).
    pub events: Vec<event::Model>,
    /// What was read only in part or not at all (a catchment kept as text), with its path.
    pub warnings: Vec<ImportError>,
    /// Where each eligibility value came from, every field named (a field the feed gave is
    /// named GIVEN, where an editor's confirmation leaves it unnamed).
    pub sources: EligibilitySources,
}

/// Signpost extension fields a feed gave (absent ones keep a stored listing's values).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Given {
    /// `level_of_need`.
    pub level_of_need: Option<LevelOfNeed>,
    /// `self_referral`.
    pub self_referral: Option<bool>,
    /// `professional_referral`.
    pub professional_referral: Option<bool>,
    /// `from_pregnancy`.
    pub from_pregnancy: Option<bool>,
    /// `audiences`, the known codes.
    pub audiences: Option<StringList>,
    /// `delivery_modes`, the known codes.
    pub delivery_modes: Option<StringList>,
    /// `funding_ends_on`, when the service's funding ends.
    pub funding_ends_on: Option<NaiveDate>,
}

/// JSON paths of a service's parts, one per row of [`ListingRows`] where there are rows.
#[derive(Clone, Debug, Default)]
pub struct Paths {
    /// The organisation (nested, or named by `organization_id`).
    pub organization: String,
    /// The location each link names.
    pub locations: Vec<String>,
    /// The term each attribute names.
    pub attributes: Vec<String>,
    /// The HSDS service area each catchment comes from.
    pub areas: Vec<String>,
    /// The HSDS schedule each opening time comes from.
    pub schedules: Vec<String>,
    /// Each phone line.
    pub phones: Vec<String>,
}

impl DecodedService {
    /// The id of the service.
    pub fn id(&self) -> Uuid {
        self.rows.service.id
    }

    /// A field of the listing as a JSON path into the document, for [`crate::store::listing::check`].
    pub fn path_of(&self, field: Field) -> String {
        let at = |paths: &[String], i: usize, key: &str| match paths.get(i) {
            Some(path) => format!("{path}/{key}"),
            None => self.path.clone(),
        };
        let path = &self.path;
        let paths = &self.paths;
        match field {
            Field::Name => format!("{path}/name"),
            Field::MinAge => format!("{path}/minimum_age"),
            Field::MaxAge => format!("{path}/maximum_age"),
            Field::Referral => path.clone(),
            Field::Language(_) => format!("{path}/languages"),
            Field::Audience(_) => format!("{path}/audiences"),
            Field::DeliveryMode(_) => format!("{path}/delivery_modes"),
            Field::Area(i)
            | Field::AreaPrefix(i)
            | Field::AreaLatitude(i)
            | Field::AreaRadius(i)
            | Field::AreaCode(i)
            | Field::AreaExtent(i) => at(&paths.areas, i, "extent"),
            Field::Place(i) => paths
                .locations
                .get(i)
                .cloned()
                .unwrap_or_else(|| path.clone()),
            Field::PhoneNumber(i) => at(&paths.phones, i, "number"),
            Field::Weekday(i) => at(&paths.schedules, i, "byday"),
            Field::Opens(i) => at(&paths.schedules, i, "opens_at"),
            Field::Closes(i) => at(&paths.schedules, i, "closes_at"),
        }
    }
}

/// A service, fully nested or with references by id. Records nested in it go into `found`
/// as they are read; `top_locations` are the document's top-level locations, read again where
/// a service names one (so that a service naming a broken location fails with it).
pub fn service(
    value: &Value,
    path: &str,
    top_locations: &HashMap<Uuid, &Value>,
    rules: &Rules,
    found: &mut Found,
) -> Result<DecodedService, ImportError> {
    let obj = object(value, path)?;
    let id = uuid_at(obj, "id", path)?;
    let name = required(obj, "name", path)?;
    let (organization_id, organization_path) = organization_of(obj, path, found)?;
    let status = status(obj, path)?;
    let min_age = number(obj, "minimum_age", path)?;
    let max_age = number(obj, "maximum_age", path)?;
    let assured_date = assured_date(obj, path)?;
    let last_modified = filled(obj, "last_modified")
        .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
        .map(|d| d.with_timezone(&Utc));
    let mut extra = extra_of(obj, SERVICE_KEYS);
    let languages = languages(obj, &mut extra);
    let (free, fees_description) = costs(obj);
    let reader = Service { id, path };
    let (links, location_paths) = reader.places(obj, organization_id, top_locations, found)?;
    let contacts = reader.contacts(obj)?;
    let (phones, phone_paths) = reader.phones(obj)?;
    let (schedules, schedule_paths) = reader.schedules(obj)?;
    let mut warnings = Vec::new();
    let (areas, area_paths) = reader.areas(obj, &mut extra, &mut warnings)?;
    let (attributes, attribute_paths) = reader.attributes(obj, found)?;
    let given = extensions(&extra, path)?;
    let said = Said {
        obj,
        given: &given,
        min_age,
        max_age,
        languages,
        // A Signpost record gives every value as a field, and where each came from.
        recorded: extra
            .get("eligibility_sources")
            .map(|v| serde_json::from_value::<EligibilitySources>(v.clone()).unwrap_or_default())
            .or_else(|| {
                (extra.contains_key("from_pregnancy") && extra.contains_key("audiences"))
                    .then(EligibilitySources::default)
            }),
    };
    let eligibility = said.eligibility(rules);
    // Read into columns, and written from them by the encoder: never kept as unknown keys.
    for key in super::SERVICE_EXTENSION_KEYS {
        extra.remove(*key);
    }
    let events = events(obj, id, path)?;
    let now = Utc::now();
    let row = service::Model {
        id,
        organization_id,
        name,
        alternate_name: filled(obj, "alternate_name"),
        description: text(obj, "description").unwrap_or_default(),
        url: filled(obj, "url"),
        email: filled(obj, "email"),
        status,
        assured_date,
        // `assurer` (a Signpost extension) names an assurer who is not an email address.
        assurer: filled(obj, "assurer_email").or_else(|| filled(obj, "assurer")),
        version: 1,
        level_of_need: eligibility.level_of_need,
        from_pregnancy: eligibility.from_pregnancy,
        min_age_months: eligibility.min_age_months,
        max_age_months: eligibility.max_age_months,
        audiences: eligibility.audiences,
        eligibility_description: filled(obj, "eligibility_description"),
        self_referral: eligibility.self_referral,
        professional_referral: eligibility.professional_referral,
        referral_instructions: filled(obj, "application_process"),
        delivery_modes: given.delivery_modes.clone().unwrap_or_default(),
        languages: eligibility.languages,
        free,
        fees_description: filled(obj, "fees_description").or(fees_description),
        funding_source: objects(obj, "funding").find_map(|f| filled(f, "source")),
        funding_ends_on: given.funding_ends_on,
        extra: extra_column(extra),
        eligibility_sources: eligibility.sources.clone().into_column(),
        created_at: now,
        updated_at: last_modified.unwrap_or(now),
    };
    Ok(DecodedService {
        path: path.to_owned(),
        source: value.clone(),
        rows: ListingRows {
            service: row,
            areas,
            links,
            places: Vec::new(),
            contacts,
            phones,
            schedules,
            attributes,
        },
        last_modified,
        given,
        paths: Paths {
            organization: organization_path,
            locations: location_paths,
            attributes: attribute_paths,
            areas: area_paths,
            schedules: schedule_paths,
            phones: phone_paths,
        },
        events,
        warnings,
        sources: eligibility.sources,
    })
}

// ---------------------------------------------------------------------------------------------
// Eligibility: the feed's fields first, then its words.

/// What a service record says about its eligibility in fields.
struct Said<'a> {
    obj: &'a Map<String, Value>,
    given: &'a Given,
    /// HSDS `minimum_age`, in years.
    min_age: Option<f64>,
    /// HSDS `maximum_age`, in years.
    max_age: Option<f64>,
    /// The languages the record lists.
    languages: StringList,
    /// Where a Signpost record's values came from (its `eligibility_sources`); such a record
    /// gives every value as a field, so its words are not read.
    recorded: Option<EligibilitySources>,
}

/// A service's eligibility values and where each came from.
struct Eligibility {
    from_pregnancy: bool,
    min_age_months: Option<f64>,
    max_age_months: Option<f64>,
    audiences: StringList,
    languages: StringList,
    level_of_need: LevelOfNeed,
    self_referral: bool,
    professional_referral: bool,
    sources: EligibilitySources,
}

fn given_source() -> Provenance {
    Provenance {
        source: ValueSource::Given,
        phrase: None,
    }
}

fn text_source<T>(read: &Read<T>) -> Provenance {
    Provenance {
        source: ValueSource::Text,
        phrase: Some(read.phrase.clone()),
    }
}

fn unknown_source() -> Provenance {
    Provenance {
        source: ValueSource::Unknown,
        phrase: None,
    }
}

/// The first of `readings` that says something about a value.
fn first_read<T: Clone>(
    readings: &[&Reading],
    get: impl Fn(&Reading) -> &Option<Read<T>>,
) -> Option<Read<T>> {
    readings.iter().find_map(|r| get(r).clone())
}

impl Said<'_> {
    /// The values: each field the record gives, else what its words say (eligibility
    /// description, then description, then name; referral instructions first for the
    /// referral route), else the column's default, marked unknown.
    fn eligibility(self, rules: &Rules) -> Eligibility {
        let given = self.given;
        let mut out = Eligibility {
            from_pregnancy: given.from_pregnancy.unwrap_or(false),
            min_age_months: self.min_age.map(months),
            max_age_months: self.max_age.map(months),
            audiences: given.audiences.clone().unwrap_or_default(),
            languages: self.languages.clone(),
            level_of_need: given.level_of_need.unwrap_or(LevelOfNeed::Universal),
            self_referral: given.self_referral.unwrap_or(true),
            professional_referral: given.professional_referral.unwrap_or(true),
            sources: EligibilitySources::default(),
        };
        if let Some(mut recorded) = self.recorded {
            recorded
                .0
                .retain(|field, _| eligibility_field::ALL.contains(&field.as_str()));
            for field in eligibility_field::ALL {
                recorded
                    .0
                    .entry(field.to_owned())
                    .or_insert_with(given_source);
            }
            out.sources = recorded;
            return out;
        }
        let read = |key: &str| {
            filled(self.obj, key)
                .map(|text| rules.read_listing(&text))
                .unwrap_or_default()
        };
        let (eligibility, description) = (read("eligibility_description"), read("description"));
        let (name, referral) = (read("name"), read("application_process"));
        let words = Reading::merge(&[eligibility.clone(), description.clone()]);
        let who = [&eligibility, &description, &name];
        let mut sources = EligibilitySources::default();
        let mut note = |field: &str, provenance: Provenance| {
            sources.0.insert(field.to_owned(), provenance);
        };

        // Ages.
        let min = match (self.min_age, &words.min_age_months) {
            (Some(_), _) => Some(given_source()),
            (None, Some(read)) if out.max_age_months.is_none_or(|max| read.value <= max) => {
                out.min_age_months = Some(read.value);
                Some(text_source(read))
            }
            _ => None,
        };
        note(
            eligibility_field::MIN_AGE_MONTHS,
            min.unwrap_or_else(unknown_source),
        );
        let max = match (self.max_age, &words.max_age_months) {
            (Some(_), _) => Some(given_source()),
            (None, Some(read)) if out.min_age_months.is_none_or(|min| read.value >= min) => {
                out.max_age_months = Some(read.value);
                Some(text_source(read))
            }
            _ => None,
        };
        note(
            eligibility_field::MAX_AGE_MONTHS,
            max.unwrap_or_else(unknown_source),
        );

        // From pregnancy: a service that starts after the birth is not.
        let pregnancy = match (given.from_pregnancy, &words.from_pregnancy) {
            (Some(_), _) => given_source(),
            (None, _) if self.min_age.is_some_and(|years| years > 0.0) => given_source(),
            (None, Some(read)) => {
                out.from_pregnancy = read.value;
                text_source(read)
            }
            (None, None) => unknown_source(),
        };
        note(eligibility_field::FROM_PREGNANCY, pregnancy);

        // Who it is for, and the languages of a language or community group.
        let community = first_read(&who, |r| &r.languages);
        let audiences = match (&given.audiences, first_read(&who, |r| &r.audiences)) {
            (Some(_), _) => given_source(),
            (None, Some(read)) => {
                out.audiences = StringList(
                    read.value
                        .iter()
                        .filter(|code| Audience::parse(code).is_some())
                        .cloned()
                        .collect(),
                );
                text_source(&read)
            }
            (None, None) => match &community {
                Some(read) => text_source(read),
                None => unknown_source(),
            },
        };
        if audiences.source != ValueSource::Given
            && community.is_some()
            && !out.audiences.contains(Audience::LanguageCommunity.as_str())
        {
            out.audiences
                .0
                .push(Audience::LanguageCommunity.as_str().to_owned());
        }
        note(eligibility_field::AUDIENCES, audiences);
        let mut languages = if self.languages.0.is_empty() {
            unknown_source()
        } else {
            given_source()
        };
        if let Some(read) = &community {
            let mut added = false;
            for code in &read.value {
                if codes::language_by_code(code).is_some() && !out.languages.contains(code) {
                    out.languages.0.push(code.clone());
                    added = true;
                }
            }
            if added {
                languages = text_source(read);
            }
        }
        note(eligibility_field::LANGUAGES, languages);

        // Level of need.
        let level = match (given.level_of_need, first_read(&who, |r| &r.level_of_need)) {
            (Some(_), _) => given_source(),
            (None, Some(read)) => {
                out.level_of_need = match read.value {
                    search::eligibility::level::SPECIALIST => LevelOfNeed::Specialist,
                    search::eligibility::level::TARGETED => LevelOfNeed::Targeted,
                    _ => LevelOfNeed::Universal,
                };
                text_source(&read)
            }
            (None, None) => unknown_source(),
        };
        note(eligibility_field::LEVEL_OF_NEED, level);

        // The referral route: a family may refer itself unless the words say only
        // professionals may.
        let route = first_read(&[&referral, &eligibility, &description], |r| {
            &r.self_referral
        });
        let referral = match (given.self_referral.or(given.professional_referral), route) {
            (Some(_), _) => given_source(),
            (None, Some(read)) => {
                out.self_referral = read.value;
                out.professional_referral = true;
                text_source(&read)
            }
            (None, None) => unknown_source(),
        };
        note(eligibility_field::REFERRAL, referral);
        out.sources = sources;
        out
    }
}

/// The service's organisation, nested (into `found`) or named by id, with its path.
fn organization_of(
    obj: &Map<String, Value>,
    path: &str,
    found: &mut Found,
) -> Result<(Uuid, String), ImportError> {
    match obj.get("organization") {
        Some(org) if org.is_object() => {
            let org_path = format!("{path}/organization");
            let row = organization(org, &org_path)?;
            let id = row.id;
            found.organizations.push((org_path.clone(), row));
            Ok((id, org_path))
        }
        _ => Ok((
            uuid_at(obj, "organization_id", path)?,
            format!("{path}/organization_id"),
        )),
    }
}

fn status(obj: &Map<String, Value>, path: &str) -> Result<ServiceStatus, ImportError> {
    let Some(given) = filled(obj, "status") else {
        return Ok(ServiceStatus::Active);
    };
    codes::status_by_code(&given).ok_or_else(|| {
        err(
            &format!("{path}/status"),
            format!("unknown status {given:?} (active, inactive, defunct or temporarily closed)"),
        )
    })
}

fn assured_date(obj: &Map<String, Value>, path: &str) -> Result<Option<NaiveDate>, ImportError> {
    let Some(given) = filled(obj, "assured_date") else {
        return Ok(None);
    };
    parse_date(&given).map(Some).ok_or_else(|| {
        err(
            &format!("{path}/assured_date"),
            "assured_date is not a date (YYYY-MM-DD)",
        )
    })
}

/// The ISO 639-1 codes of the service's languages, without repeats; languages with no code
/// are kept in `extra` (`unmapped_languages`).
fn languages(obj: &Map<String, Value>, extra: &mut Map<String, Value>) -> StringList {
    let mut languages = Vec::new();
    let mut unmapped = Vec::new();
    for item in array(obj, "languages") {
        match language_code(item) {
            Some(code) if !languages.contains(&code) => languages.push(code),
            Some(_) => {}
            None => unmapped.push(item.clone()),
        }
    }
    if !unmapped.is_empty() {
        extra.insert("unmapped_languages".into(), Value::Array(unmapped));
    }
    StringList(languages)
}

/// Whether the service is free, and the first charge's description.
fn costs(obj: &Map<String, Value>) -> (bool, Option<String>) {
    let costs: Vec<&Map<String, Value>> = objects(obj, "cost_options").collect();
    let amount = |c: &Map<String, Value>| c.get("amount").and_then(Value::as_f64);
    let is_free = |c: &Map<String, Value>| {
        amount(c) == Some(0.0)
            || text(c, "option").is_some_and(|o| o.to_ascii_lowercase().contains("free"))
    };
    let free = !costs.is_empty()
        && costs.iter().any(|c| is_free(c))
        && !costs.iter().any(|c| amount(c).is_some_and(|a| a > 0.0));
    let fees = costs
        .iter()
        .filter(|c| !is_free(c))
        .find_map(|c| filled(c, "amount_description").or_else(|| filled(c, "option")));
    (free, fees)
}

/// The Signpost extension fields among the service's unknown members.
fn extensions(extra: &Map<String, Value>, path: &str) -> Result<Given, ImportError> {
    let flag = |key: &str| extra.get(key).and_then(Value::as_bool);
    let funding_ends_on = match extra.get("funding_ends_on") {
        None => None,
        Some(value) => Some(value.as_str().and_then(parse_date).ok_or_else(|| {
            err(
                &format!("{path}/funding_ends_on"),
                "funding_ends_on is not a date (YYYY-MM-DD)",
            )
        })?),
    };
    Ok(Given {
        level_of_need: extra
            .get("level_of_need")
            .and_then(Value::as_str)
            .and_then(|l| match l.trim().to_ascii_uppercase().as_str() {
                "UNIVERSAL" => Some(LevelOfNeed::Universal),
                "TARGETED" => Some(LevelOfNeed::Targeted),
                "SPECIALIST" => Some(LevelOfNeed::Specialist),
                _ => None,
            }),
        self_referral: flag("self_referral"),
        professional_referral: flag("professional_referral"),
        from_pregnancy: flag("from_pregnancy"),
        audiences: code_list(extra, "audiences", |c| {
            Audience::parse(c).map(Audience::as_str)
        }),
        delivery_modes: code_list(extra, "delivery_modes", |c| {
            DeliveryMode::parse(c).map(DeliveryMode::as_str)
        }),
        funding_ends_on,
    })
}

/// A contact's or phone line's Signpost extension key `visibility`: `PUBLIC` (the default) or
/// `PROFESSIONAL` (shown to signed-in partners and staff only, never exported).
fn visibility(obj: &Map<String, Value>, path: &str) -> Result<Visibility, ImportError> {
    match filled(obj, "visibility") {
        None => Ok(Visibility::Public),
        Some(value) => serde_json::from_value(Value::String(value.trim().to_ascii_uppercase()))
            .map_err(|_| {
                err(
                    &format!("{path}/visibility"),
                    "visibility is PUBLIC or PROFESSIONAL",
                )
            }),
    }
}

/// The `events` extension of the service `service_id` at `path`: Signpost's dated sessions and
/// pop-ups (an information-bus stop, say), which HSDS has no object for. Objects with `id`,
/// `title`, `starts_at` and `ends_at` (RFC 3339 date and time with an offset), and optionally
/// `description`, `place_name`, `address`, `postcode`, `latitude` and `longitude`.
fn events(
    obj: &Map<String, Value>,
    service_id: Uuid,
    path: &str,
) -> Result<Vec<event::Model>, ImportError> {
    let mut events = Vec::new();
    for (i, item) in array(obj, "events").iter().enumerate() {
        let e_path = format!("{path}/events/{i}");
        let e = object(item, &e_path)?;
        let id = uuid_at(e, "id", &e_path)?;
        let title = filled(e, "title")
            .ok_or_else(|| err(&format!("{e_path}/title"), "an event needs a title"))?;
        let time = |key: &str| {
            filled(e, key)
                .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| {
                    err(
                        &format!("{e_path}/{key}"),
                        format!("{key} is not a date and time (RFC 3339)"),
                    )
                })
        };
        let starts_at = time("starts_at")?;
        let ends_at = time("ends_at")?;
        if ends_at <= starts_at || ends_at - starts_at > TimeDelta::days(MAX_EVENT_DAYS) {
            return Err(err(
                &format!("{e_path}/ends_at"),
                format!("ends_at must be after starts_at, by at most {MAX_EVENT_DAYS} days"),
            ));
        }
        let now = Utc::now();
        events.push(event::Model {
            id,
            service_id,
            title,
            description: filled(e, "description"),
            starts_at,
            ends_at,
            place_name: filled(e, "place_name"),
            address: filled(e, "address"),
            postcode: filled(e, "postcode"),
            latitude: number(e, "latitude", &e_path)?,
            longitude: number(e, "longitude", &e_path)?,
            created_at: now,
            updated_at: now,
        });
    }
    Ok(events)
}

/// A service being read: its id and path, for its children.
struct Service<'a> {
    id: Uuid,
    path: &'a str,
}

/// Rows read from an array, with the JSON path of each.
type WithPaths<T> = (Vec<T>, Vec<String>);

impl Service<'_> {
    /// The objects of the array `key`, each with its path.
    fn items<'v>(
        &self,
        obj: &'v Map<String, Value>,
        key: &str,
    ) -> impl Iterator<Item = Result<(String, &'v Map<String, Value>), ImportError>> {
        let prefix = format!("{}/{key}", self.path);
        array(obj, key).iter().enumerate().map(move |(i, item)| {
            let at = format!("{prefix}/{i}");
            object(item, &at).map(|o| (at, o))
        })
    }

    /// The links to the places the service is delivered at (a place named twice is linked
    /// once); nested locations and the top-level locations named go into `found`.
    fn places(
        &self,
        obj: &Map<String, Value>,
        organization_id: Uuid,
        top_locations: &HashMap<Uuid, &Value>,
        found: &mut Found,
    ) -> Result<WithPaths<service_at_location::Model>, ImportError> {
        let mut links = Vec::new();
        let mut paths = Vec::new();
        let mut seen = HashSet::new();
        for item in self.items(obj, "service_at_locations") {
            let (sal_path, sal) = item?;
            let sal_id = uuid_at(sal, "id", &sal_path)?;
            let location_id = match sal.get("location").filter(|l| l.is_object()) {
                Some(nested) => {
                    let loc_path = format!("{sal_path}/location");
                    let row = location(nested, &loc_path, Some(organization_id))?;
                    let id = row.id;
                    found.locations.push((loc_path.clone(), row));
                    paths.push(loc_path);
                    id
                }
                None => {
                    let id = uuid_at(sal, "location_id", &sal_path)?;
                    let loc_path = format!("{sal_path}/location_id");
                    if let Some(top) = top_locations.get(&id) {
                        let row = location(top, &loc_path, None)?;
                        found.locations.push((loc_path.clone(), row));
                    }
                    paths.push(loc_path);
                    id
                }
            };
            if seen.insert(location_id) {
                links.push(service_at_location::Model {
                    id: sal_id,
                    service_id: self.id,
                    location_id,
                    position: position(links.len()),
                });
            }
        }
        Ok((links, paths))
    }

    /// Named contacts, with the first of their phones (public unless the `visibility` extension
    /// says otherwise).
    fn contacts(&self, obj: &Map<String, Value>) -> Result<Vec<contact::Model>, ImportError> {
        let mut contacts = Vec::new();
        for item in self.items(obj, "contacts") {
            let (c_path, c) = item?;
            contacts.push(contact::Model {
                id: uuid_at(c, "id", &c_path)?,
                service_id: self.id,
                name: filled(c, "name"),
                title: filled(c, "title"),
                email: filled(c, "email"),
                phone: objects(c, "phones").find_map(|p| filled(p, "number")),
                visibility: visibility(c, &c_path)?,
                position: position(contacts.len()),
            });
        }
        Ok(contacts)
    }

    /// Phone lines (public unless the `visibility` extension says otherwise).
    fn phones(&self, obj: &Map<String, Value>) -> Result<WithPaths<phone::Model>, ImportError> {
        let mut phones = Vec::new();
        let mut paths = Vec::new();
        for item in self.items(obj, "phones") {
            let (p_path, p) = item?;
            let number = filled(p, "number")
                .ok_or_else(|| err(&format!("{p_path}/number"), "a phone needs a number"))?;
            phones.push(phone::Model {
                id: uuid_at(p, "id", &p_path)?,
                service_id: self.id,
                number,
                description: filled(p, "description"),
                visibility: visibility(p, &p_path)?,
                position: position(phones.len()),
            });
            paths.push(p_path);
        }
        Ok((phones, paths))
    }

    /// Opening times: one row per weekday of a weekly schedule (`byday`), one row for any
    /// other schedule.
    fn schedules(
        &self,
        obj: &Map<String, Value>,
    ) -> Result<WithPaths<schedule::Model>, ImportError> {
        let mut schedules = Vec::new();
        let mut paths = Vec::new();
        for item in self.items(obj, "schedules") {
            let (s_path, s) = item?;
            for mut row in self.openings(s, uuid_at(s, "id", &s_path)?) {
                row.position = position(schedules.len());
                schedules.push(row);
                paths.push(s_path.clone());
            }
        }
        Ok((schedules, paths))
    }

    /// The opening rows of the HSDS schedule `s` whose id is `sid`.
    fn openings(&self, s: &Map<String, Value>, sid: Uuid) -> Vec<schedule::Model> {
        let weekly = text(s, "freq").is_none_or(|f| f.eq_ignore_ascii_case("weekly"));
        let days: Vec<(String, i32)> = if weekly {
            text(s, "byday")
                .unwrap_or_default()
                .split(',')
                .filter_map(|d| {
                    codes::weekday_by_byday(d).map(|w| (d.trim().to_ascii_uppercase(), w))
                })
                .collect()
        } else {
            Vec::new()
        };
        let row = schedule::Model {
            id: sid,
            service_id: self.id,
            weekday: None,
            opens_at: filled(s, "opens_at").map(|t| codes::time_from_hsds(&t)),
            closes_at: filled(s, "closes_at").map(|t| codes::time_from_hsds(&t)),
            description: filled(s, "description"),
            position: 0,
        };
        if days.is_empty() {
            return vec![row];
        }
        days.into_iter()
            .enumerate()
            .map(|(n, (code, day))| schedule::Model {
                id: if n == 0 {
                    sid
                } else {
                    derived_id(sid, &format!("byday:{code}"))
                },
                weekday: Some(day),
                ..row.clone()
            })
            .collect()
    }

    /// Catchments Signpost can search by; a service area that cannot be read in full is kept
    /// in `extra` (`unmapped_service_areas`) and reported in `warnings` with its path.
    fn areas(
        &self,
        obj: &Map<String, Value>,
        extra: &mut Map<String, Value>,
        warnings: &mut Vec<ImportError>,
    ) -> Result<WithPaths<service_area::Model>, ImportError> {
        let mut areas = Vec::new();
        let mut paths = Vec::new();
        let mut unmapped = Vec::new();
        for (i, item) in array(obj, "service_areas").iter().enumerate() {
            let a_path = format!("{}/service_areas/{i}", self.path);
            let a = object(item, &a_path)?;
            let (found, unread) = self.catchments(a, uuid_at(a, "id", &a_path)?);
            if let Some((field, message)) = unread {
                unmapped.push(item.clone());
                warnings.push(ImportError {
                    path: format!("{a_path}/{field}"),
                    message,
                });
            }
            for mut area in found {
                area.position = position(areas.len());
                areas.push(area);
                paths.push(a_path.clone());
            }
        }
        if !unmapped.is_empty() {
            extra.insert("unmapped_service_areas".into(), Value::Array(unmapped));
        }
        Ok((areas, paths))
    }

    /// The catchments an HSDS service area `a` (id `aid`) describes, and what of it could not
    /// be read (the field, and why). A GeoJSON extent is a point (with the radius its
    /// description gives) or a polygon; a text extent names places (see
    /// [`search::areas::Areas::read_text`]). Without a readable extent, the description is
    /// read when it is nothing but places, then the name, then the places the description
    /// names among other words.
    fn catchments(
        &self,
        a: &Map<String, Value>,
        aid: Uuid,
    ) -> (Vec<service_area::Model>, Option<(&'static str, String)>) {
        let name = text(a, "name").unwrap_or_default();
        let description = filled(a, "description");
        let extent_type = text(a, "extent_type")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let extent = match a.get("extent") {
            Some(Value::Object(geometry)) => Some(Value::Object(geometry.clone()).to_string()),
            _ => filled(a, "extent"),
        };
        let base = service_area::Model {
            id: aid,
            service_id: self.id,
            kind: ServiceAreaKind::National,
            name: name.clone(),
            postcode_prefix: None,
            latitude: None,
            longitude: None,
            radius_km: None,
            area_code: None,
            extent: None,
            position: 0,
        };
        let geojson = extent_type == "geojson"
            || (extent_type.is_empty()
                && extent.as_deref().is_some_and(|e| e.trim().starts_with('{')));
        let mut problem = None;
        if let Some(extent) = &extent {
            if geojson {
                if let Some((lon, lat)) = geojson_point(extent) {
                    let radius_km = description.as_deref().and_then(|d| {
                        d.strip_prefix("Within ")?
                            .strip_suffix(" km of the point")?
                            .trim()
                            .parse::<f64>()
                            .ok()
                    });
                    let row = service_area::Model {
                        kind: ServiceAreaKind::Radius,
                        latitude: Some(lat),
                        longitude: Some(lon),
                        radius_km,
                        ..base
                    };
                    return (vec![row], None);
                }
                if extent.len() <= MAX_EXTENT_BYTES
                    && search::geo::geojson_polygons(extent).is_some()
                {
                    let row = service_area::Model {
                        kind: ServiceAreaKind::Polygon,
                        extent: Some(extent.clone()),
                        ..base
                    };
                    return (vec![row], None);
                }
                problem = Some((
                    "extent",
                    "the GeoJSON extent is not a Point, Polygon or MultiPolygon".to_owned(),
                ));
            } else if matches!(extent_type.as_str(), "" | "text" | "postcode") {
                let reading = search::areas::embedded().read_text(extent, false);
                if !reading.places.is_empty() {
                    return (rows_of(&base, &reading.places), unread(&reading, "extent"));
                }
                problem = Some(("extent", format!("could not read the catchment {extent:?}")));
            } else {
                problem = Some(("extent_type", format!("a {extent_type} extent is not read")));
            }
        }
        // The area's own words: its description when that is only places ("The whole of the
        // United Kingdom"), its name, then places its description names in passing.
        let areas = search::areas::embedded();
        let told = description
            .as_deref()
            .map(|d| areas.read_text(d, false))
            .filter(search::areas::Reading::complete);
        let named = areas.read_text(&name, false);
        let said = description.as_deref().map(|d| areas.read_text(d, true));
        let (reading, field) = match (told, named, said) {
            (Some(told), _, _) => (told, "description"),
            (None, named, _) if named.complete() => (named, "name"),
            (None, _, Some(said)) if !said.places.is_empty() => (said, "description"),
            (None, named, _) if !named.places.is_empty() => (named, "name"),
            _ => {
                let problem = problem.unwrap_or_else(|| {
                    let words = [name.trim(), description.as_deref().unwrap_or_default()]
                        .into_iter()
                        .filter(|w| !w.is_empty())
                        .collect::<Vec<_>>()
                        .join(": ");
                    ("name", format!("could not read the catchment {words:?}"))
                });
                return (Vec::new(), Some(problem));
            }
        };
        let rows = rows_of(&base, &reading.places);
        (rows, problem.or_else(|| unread(&reading, field)))
    }

    /// Taxonomy terms; terms given in full go into `found`.
    fn attributes(
        &self,
        obj: &Map<String, Value>,
        found: &mut Found,
    ) -> Result<WithPaths<attribute::Model>, ImportError> {
        let mut attributes = Vec::new();
        let mut paths = Vec::new();
        for item in self.items(obj, "attributes") {
            let (a_path, a) = item?;
            let term_id = match a.get("taxonomy_term").filter(|t| t.is_object()) {
                Some(nested) => {
                    let term_path = format!("{a_path}/taxonomy_term");
                    let row = term(nested, &term_path, found)?;
                    let id = row.id;
                    found.terms.push((term_path, row));
                    id
                }
                None => uuid_at(a, "taxonomy_term_id", &a_path)?,
            };
            paths.push(format!("{a_path}/taxonomy_term_id"));
            attributes.push(attribute::Model {
                id: uuid_at(a, "id", &a_path)?,
                link_id: self.id,
                link_entity: attribute::LINK_ENTITY_SERVICE.to_owned(),
                link_type: filled(a, "link_type"),
                taxonomy_term_id: term_id,
                value: text(a, "value"),
                position: position(attributes.len()),
            });
        }
        Ok((attributes, paths))
    }
}

/// The largest GeoJSON extent kept as a polygon.
const MAX_EXTENT_BYTES: usize = crate::store::listing::MAX_EXTENT_BYTES;

/// The rows of the places one service area names: the first keeps the area's id, the others
/// get ids derived from it and the place.
fn rows_of(base: &service_area::Model, places: &[Place]) -> Vec<service_area::Model> {
    places
        .iter()
        .enumerate()
        .map(|(n, place)| {
            let (kind, key, prefix, code) = match place {
                Place::National => (ServiceAreaKind::National, "national".to_owned(), None, None),
                Place::Area(code) => (
                    ServiceAreaKind::AdministrativeArea,
                    format!("area:{code}"),
                    None,
                    Some(code.clone()),
                ),
                Place::Prefix(prefix) | Place::Sector(prefix) => (
                    ServiceAreaKind::PostcodePrefix,
                    format!("postcode:{prefix}"),
                    Some(prefix.clone()),
                    None,
                ),
            };
            service_area::Model {
                id: if n == 0 {
                    base.id
                } else {
                    derived_id(base.id, &key)
                },
                kind,
                postcode_prefix: prefix,
                area_code: code,
                ..base.clone()
            }
        })
        .collect()
}

/// The words of a reading that were not read, as a report's message.
fn unread(reading: &PlaceReading, field: &'static str) -> Option<(&'static str, String)> {
    (!reading.unread.is_empty()).then(|| {
        (
            field,
            format!(
                "could not read {} of the catchment",
                reading
                    .unread
                    .iter()
                    .map(|w| format!("{w:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// The longitude and latitude of a GeoJSON `Point`.
fn geojson_point(extent: &str) -> Option<(f64, f64)> {
    let geometry = serde_json::from_str::<Value>(extent).ok()?;
    if geometry.get("type")?.as_str()? != "Point" {
        return None;
    }
    let c = geometry.get("coordinates")?.as_array()?;
    Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use entity::ServiceAreaKind;
    use serde_json::{Value, json};

    use super::{DecodedService, Found, language_code, service};

    const SERVICE_ID: &str = "8a1b2c3d-0000-4000-8000-000000000001";

    /// A service with the one service area given.
    fn decoded(area: Value) -> DecodedService {
        let mut area = area;
        area["id"] = json!("8a1b2c3d-0000-4000-8000-0000000000a1");
        let record = json!({
            "id": SERVICE_ID,
            "name": "Perinatal team",
            "organization_id": "8a1b2c3d-0000-4000-8000-0000000000f1",
            "service_areas": [area],
        });
        service(
            &record,
            "/services/3",
            &HashMap::new(),
            search::eligibility::Rules::built_in(),
            &mut Found::default(),
        )
        .expect("decodes")
    }

    /// The catchment rows read, as `KIND value` strings.
    fn read(area: Value) -> Vec<String> {
        decoded(area)
            .rows
            .areas
            .iter()
            .map(|a| match a.kind {
                ServiceAreaKind::National => "NATIONAL".to_owned(),
                ServiceAreaKind::PostcodePrefix => {
                    format!("PREFIX {}", a.postcode_prefix.as_deref().unwrap_or("?"))
                }
                ServiceAreaKind::Radius => "RADIUS".to_owned(),
                ServiceAreaKind::AdministrativeArea => {
                    format!("AREA {}", a.area_code.as_deref().unwrap_or("?"))
                }
                ServiceAreaKind::Polygon => "POLYGON".to_owned(),
            })
            .collect()
    }

    fn text(extent: &str) -> Vec<String> {
        read(json!({ "name": "Catchment", "extent": extent, "extent_type": "text" }))
    }

    #[test]
    fn country_words_name_the_whole_uk_or_one_country() {
        for uk in ["UK", "United Kingdom", "nationwide", "UK-wide", "National"] {
            assert_eq!(text(uk), ["NATIONAL"], "{uk}");
        }
        assert_eq!(text("England"), ["AREA E92000001"]);
        assert_eq!(text("Wales"), ["AREA W92000004"]);
        assert_eq!(text("Scotland"), ["AREA S92000003"]);
        assert_eq!(
            text("England and Wales"),
            ["AREA E92000001", "AREA W92000004"]
        );
        assert_eq!(
            text("Great Britain"),
            ["AREA E92000001", "AREA S92000003", "AREA W92000004"]
        );
    }

    #[test]
    fn postcode_lists_are_areas_districts_and_sectors() {
        assert_eq!(
            text("M33, m41; WA14"),
            ["PREFIX M33", "PREFIX M41", "PREFIX WA14"]
        );
        assert_eq!(text("GL, BS"), ["PREFIX GL", "PREFIX BS"]);
        assert_eq!(text("S17 3, S17 4"), ["PREFIX S17 3", "PREFIX S17 4"]);
        assert_eq!(text("M33, England"), ["PREFIX M33", "AREA E92000001"]);
        let rows =
            decoded(json!({ "name": "x", "extent": "M33, M33 , M41", "extent_type": "postcode" }));
        assert_eq!(rows.rows.areas.len(), 2, "a repeated prefix is one row");
        assert_ne!(rows.rows.areas[0].id, rows.rows.areas[1].id);
    }

    #[test]
    fn authorities_are_read_by_name_or_code() {
        assert_eq!(text("Trafford"), ["AREA E08000009"]);
        assert_eq!(text("Trafford Council"), ["AREA E08000009"]);
        assert_eq!(text("E08000009"), ["AREA E08000009"]);
        assert_eq!(text("Gloucestershire"), ["AREA E10000013"]);
        assert_eq!(
            text("Norfolk and Waveney"),
            ["AREA E10000020", "AREA E07000206"]
        );
        assert_eq!(text("Greater Manchester"), ["AREA E11000001"]);
        assert_eq!(text("Royal Borough of Greenwich"), ["AREA E09000011"]);
        assert_eq!(text("City of Bristol"), ["AREA E06000023"]);
        assert_eq!(text("Bristol City Council"), ["AREA E06000023"]);
        assert_eq!(text("County of Herefordshire"), ["AREA E06000019"]);
        assert_eq!(
            text("Manchester, Salford & Trafford"),
            ["AREA E08000003", "AREA E08000006", "AREA E08000009"]
        );
        assert_eq!(text("Bath and North East Somerset"), ["AREA E06000022"]);
        assert_eq!(text("the Vale of Glamorgan"), ["AREA W06000014"]);
    }

    #[test]
    fn polygons_are_kept_as_given() {
        let polygon = r#"{"type":"Polygon","coordinates":[[[-2.4,53.4],[-2.2,53.4],[-2.2,53.5],[-2.4,53.5],[-2.4,53.4]]]}"#;
        let d = decoded(json!({ "name": "Sale", "extent": polygon, "extent_type": "geojson" }));
        assert_eq!(d.rows.areas[0].kind, ServiceAreaKind::Polygon);
        assert_eq!(d.rows.areas[0].extent.as_deref(), Some(polygon));
        assert!(d.warnings.is_empty());
        let feature = json!({ "type": "Feature", "properties": {}, "geometry": {
            "type": "MultiPolygon",
            "coordinates": [[[[-2.4,53.4],[-2.2,53.4],[-2.2,53.5],[-2.4,53.4]]]] } });
        assert_eq!(
            read(json!({ "name": "x", "extent": feature.to_string(), "extent_type": "geojson" })),
            ["POLYGON"]
        );
        assert_eq!(
            read(json!({ "name": "x", "extent": feature, "extent_type": "geojson" })),
            ["POLYGON"],
            "an extent given as an object"
        );
        assert_eq!(
            read(
                json!({ "name": "x", "extent": r#"{"type":"Point","coordinates":[-2.07,51.9]}"#,
                "extent_type": "geojson", "description": "Within 5 km of the point" })
            ),
            ["RADIUS"]
        );
    }

    #[test]
    fn without_an_extent_the_name_then_the_description_is_read() {
        assert_eq!(read(json!({ "name": "Trafford" })), ["AREA E08000009"]);
        assert_eq!(
            read(
                json!({ "name": "Our area", "description": "Families living in Stockport or Tameside." })
            ),
            ["AREA E08000007", "AREA E08000008"]
        );
        assert_eq!(
            read(json!({ "name": "England", "description": "The whole of the United Kingdom" })),
            ["NATIONAL"],
            "a description that is only a place is the fuller statement"
        );
    }

    #[test]
    fn what_cannot_be_read_is_kept_and_reported_with_its_path() {
        let d = decoded(
            json!({ "name": "Our patch", "extent": "Sale and Altrincham", "extent_type": "text" }),
        );
        assert!(d.rows.areas.is_empty());
        assert_eq!(d.warnings.len(), 1);
        assert_eq!(d.warnings[0].path, "/services/3/service_areas/0/extent");
        assert!(
            d.warnings[0].message.contains("Sale and Altrincham"),
            "{:?}",
            d.warnings
        );
        let extra = d.rows.service.extra.expect("extra");
        assert_eq!(
            extra["unmapped_service_areas"][0]["extent"],
            "Sale and Altrincham"
        );

        let d =
            decoded(json!({ "name": "Norfolk and Lowestoft", "extent": "Norfolk and Lowestoft" }));
        assert_eq!(d.rows.areas.len(), 1, "Norfolk is read");
        assert_eq!(d.rows.areas[0].area_code.as_deref(), Some("E10000020"));
        assert!(
            d.warnings[0].message.contains("Lowestoft"),
            "{:?}",
            d.warnings
        );
        assert_eq!(d.warnings[0].path, "/services/3/service_areas/0/extent");

        for (area, field) in [
            (
                json!({ "name": "x", "extent": "<kml/>", "extent_type": "kml" }),
                "extent_type",
            ),
            (
                json!({ "name": "x", "extent": "{\"type\":\"Polygon\",\"coordinates\":[]}", "extent_type": "geojson" }),
                "extent",
            ),
            (json!({ "name": "parts of Kent" }), "name"),
        ] {
            let d = decoded(area.clone());
            assert!(d.rows.areas.is_empty(), "{area}");
            assert_eq!(
                d.warnings[0].path,
                format!("/services/3/service_areas/0/{field}"),
                "{area}"
            );
        }
    }

    #[test]
    fn languages_map_by_code_three_letter_code_or_english_name() {
        for (given, want) in [
            (json!("en"), Some("en")),
            (json!({ "code": "en-GB" }), Some("en")),
            (json!({ "code": "wel" }), Some("cy")),
            (json!({ "code": "cym" }), Some("cy")),
            (json!({ "code": "urd" }), Some("ur")),
            (json!({ "code": "ger" }), Some("de")),
            (json!({ "name": "Polish" }), Some("pl")),
            (json!({ "name": "norwegian bokmål" }), Some("nb")),
            (json!({ "code": "xx", "name": "Klingon" }), None),
            (json!({ "code": "iw" }), None),
            (json!("sh"), None),
            (json!(3), None),
        ] {
            assert_eq!(language_code(&given).as_deref(), want, "{given}");
        }
    }
}

#[cfg(test)]
mod eligibility_tests {
    use std::collections::HashMap;

    use entity::{LevelOfNeed, ValueSource, eligibility_field as field, service};
    use search::eligibility::Rules;
    use serde_json::{Value, json};

    use super::{DecodedService, Found};

    fn decoded(extra: Value) -> DecodedService {
        let mut record = json!({
            "id": "00000000-0000-4000-8000-000000000011",
            "organization_id": "00000000-0000-4000-8000-000000000001",
            "name": "Baby group",
            "description": "A weekly group.",
        });
        if let (Value::Object(record), Value::Object(extra)) = (&mut record, extra) {
            record.extend(extra);
        }
        match super::service(
            &record,
            "",
            &HashMap::new(),
            Rules::built_in(),
            &mut Found::default(),
        ) {
            Ok(decoded) => decoded,
            Err(err) => panic!("{err:?}"),
        }
    }

    fn source(service: &DecodedService, name: &str) -> (ValueSource, Option<String>) {
        let provenance = service.sources.of(name);
        (provenance.source, provenance.phrase)
    }

    fn text(phrase: &str) -> (ValueSource, Option<String>) {
        (ValueSource::Text, Some(phrase.to_owned()))
    }

    #[test]
    fn eligibility_in_words_is_read_with_its_phrases() {
        let d = decoded(json!({
            "eligibility_description": "Women only, from 20 weeks of pregnancy until the baby is one.",
            "description": "A specialist team.",
            "application_process": "Referral by a GP, midwife or health visitor only.",
        }));
        let row: &service::Model = &d.rows.service;
        assert!(row.from_pregnancy);
        assert_eq!(row.max_age_months, Some(12.0));
        assert_eq!(row.min_age_months, None);
        assert_eq!(row.audiences.0, ["MOTHERS"]);
        assert_eq!(row.level_of_need, LevelOfNeed::Specialist);
        assert!(!row.self_referral && row.professional_referral);
        assert_eq!(
            source(&d, field::FROM_PREGNANCY),
            text("from 20 weeks of pregnancy")
        );
        assert_eq!(
            source(&d, field::MAX_AGE_MONTHS),
            text("until the baby is one")
        );
        assert_eq!(source(&d, field::AUDIENCES), text("Women"));
        assert_eq!(source(&d, field::LEVEL_OF_NEED), text("specialist"));
        assert_eq!(source(&d, field::REFERRAL), text("Referral by a GP"));
        assert_eq!(source(&d, field::MIN_AGE_MONTHS).0, ValueSource::Unknown);
        assert_eq!(source(&d, field::LANGUAGES).0, ValueSource::Unknown);
        assert_eq!(row.eligibility_sources.as_ref(), Some(&d.sources));
    }

    #[test]
    fn fields_come_before_words_and_parents_ages_are_not_read() {
        let d = decoded(json!({
            "eligibility_description": "Adults aged 18 and over. Babies under two. Dads only.",
            "minimum_age": 0.5,
            "audiences": ["MOTHERS"],
            "languages": ["en"],
        }));
        let row = &d.rows.service;
        assert_eq!(row.min_age_months, Some(6.0));
        assert_eq!(row.max_age_months, Some(24.0));
        assert_eq!(row.audiences.0, ["MOTHERS"], "the field wins");
        assert!(
            !row.from_pregnancy,
            "a service from six months is not for pregnancy"
        );
        assert_eq!(source(&d, field::MIN_AGE_MONTHS).0, ValueSource::Given);
        assert_eq!(source(&d, field::MAX_AGE_MONTHS), text("under two"));
        assert_eq!(source(&d, field::AUDIENCES).0, ValueSource::Given);
        assert_eq!(source(&d, field::FROM_PREGNANCY).0, ValueSource::Given);
        assert_eq!(source(&d, field::LANGUAGES).0, ValueSource::Given);

        let parents = decoded(json!({ "eligibility_description": "Adults aged 18 and over." }));
        assert_eq!(parents.rows.service.min_age_months, None);
        assert_eq!(
            source(&parents, field::MIN_AGE_MONTHS).0,
            ValueSource::Unknown
        );
        assert_eq!(source(&parents, field::AUDIENCES), text("Adults"));
        assert!(parents.rows.service.audiences.0.is_empty());
    }

    #[test]
    fn a_community_group_adds_its_languages_and_the_name_says_who() {
        let d = decoded(json!({
            "name": "Roma mothers and babies group",
            "languages": [{ "name": "Slovak" }],
        }));
        let row = &d.rows.service;
        assert_eq!(row.languages.0, ["sk", "cs", "ro"]);
        assert_eq!(row.audiences.0, ["LANGUAGE_COMMUNITY", "MOTHERS"]);
        assert_eq!(source(&d, field::LANGUAGES), text("Roma mothers"));
        assert_eq!(source(&d, field::FROM_PREGNANCY).0, ValueSource::Unknown);
    }

    #[test]
    fn a_signpost_record_is_taken_as_it_is_with_its_provenance() {
        let d = decoded(json!({
            "eligibility_description": "Dads only, under two.",
            "from_pregnancy": false,
            "audiences": [],
        }));
        assert!(
            d.rows.service.audiences.0.is_empty(),
            "its words are not read"
        );
        assert_eq!(d.rows.service.max_age_months, None);
        assert_eq!(d.rows.service.eligibility_sources, None);

        let d = decoded(json!({
            "from_pregnancy": true,
            "audiences": ["FATHERS"],
            "eligibility_sources": {
                "audiences": { "source": "TEXT", "phrase": "dads" },
                "minAgeMonths": { "source": "UNKNOWN" },
                "nonsense": { "source": "TEXT" },
            },
        }));
        assert_eq!(source(&d, field::AUDIENCES), text("dads"));
        assert_eq!(source(&d, field::MIN_AGE_MONTHS).0, ValueSource::Unknown);
        assert_eq!(source(&d, field::FROM_PREGNANCY).0, ValueSource::Given);
        assert!(!d.sources.0.contains_key("nonsense"));
        assert!(
            d.rows.service.extra.is_none(),
            "the extension key is not kept as unknown"
        );
    }
}
