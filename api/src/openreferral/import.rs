//! The Open Referral import: HSDS 3 / Open Referral UK JSON into Signpost's rows.
//!
//! The inverse of [`super::mapping`]: exporting, importing into an empty database and exporting
//! again gives the same JSON. Accepted documents: an array of fully nested services, a page of
//! `/services` (`contents`), one service object, or an object of top-level arrays (`services`,
//! `organizations`, `locations`, `taxonomies`, `taxonomy_terms`, and child arrays such as
//! `phones` or `service_at_locations` linked by `service_id`).
//!
//! Records are upserted by their UUIDs; a record whose rows already hold what the feed says is
//! left alone (no new version, audit or change row). HSDS fields with no home in Signpost are
//! kept in the record's `extra` column. A record that cannot be imported is reported with its
//! JSON path while the rest go in, one transaction per chunk; in strict mode the whole document
//! is one transaction and nothing is written when any record fails.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use entity::{
    Audience, ChangeOp, DeliveryMode, LevelOfNeed, ServiceAreaKind, ServiceStatus, StringList,
    Visibility, attribute, audit_event, change, codes, contact, event, location, organization,
    phone, schedule, service, service_area, service_at_location, taxonomy, taxonomy_term,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection,
    DatabaseTransaction, DbErr, EntityTrait, IntoActiveModel, QueryFilter, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::mapping::derived_id;
use crate::{
    feed,
    store::{audit, find_by_ids},
    validate::MAX_EVENT_DAYS,
};

/// The largest document the command line accepts, in bytes.
pub const CLI_MAX_BYTES: usize = 50 * 1024 * 1024;
/// Records written per transaction outside strict mode.
const CHUNK: usize = 500;
/// Bound parameters per multi-row insert (well under SQLite's and PostgreSQL's limits).
const MAX_PARAMS: usize = 20_000;

/// What an import did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ImportReport {
    /// Records created or changed.
    pub imported: usize,
    /// Records that already held what the feed says.
    pub unchanged: usize,
    /// Records that could not be imported.
    pub failed: Vec<ImportError>,
    /// The last change-feed position written (0 when nothing was written).
    pub last_seq: i64,
}

/// A record that could not be imported: where in the document, and why.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ImportError {
    /// A JSON Pointer into the document, such as `/contents/3/organization/id`.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// A document that cannot be imported at all.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// Bigger than the configured maximum.
    #[error("the document is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON.
    #[error("the document is not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an Open Referral document.
    #[error("{0}")]
    Shape(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Who imports, for the audit log.
pub use crate::store::audit::Actor;

/// Imports a document given as bytes, refusing it when it is bigger than `max_bytes`.
pub async fn import_bytes(
    db: &DatabaseConnection,
    actor: &Actor,
    bytes: &[u8],
    strict: bool,
    max_bytes: usize,
) -> Result<ImportReport, DocumentError> {
    if bytes.len() > max_bytes {
        return Err(DocumentError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let document: Value =
        serde_json::from_slice(bytes).map_err(|err| DocumentError::NotJson(err.to_string()))?;
    import_document(db, actor, &document, strict).await
}

/// Imports a parsed document.
pub async fn import_document(
    db: &DatabaseConnection,
    actor: &Actor,
    document: &Value,
    strict: bool,
) -> Result<ImportReport, DocumentError> {
    let shaped = shape(document)?;
    let mut plan = Plan::default();
    let mut failed = Vec::new();
    for (path, value) in &shaped.organizations {
        if let Err(err) = plan.add_organization(value, path, true) {
            failed.push(err);
        }
    }
    for (path, value) in &shaped.taxonomies {
        if let Err(err) = plan.add_taxonomy(value, path, true) {
            failed.push(err);
        }
    }
    for (index, (path, value)) in shaped.terms.iter().enumerate() {
        match plan.add_term(value, path, true) {
            // A vocabulary given as its own list keeps the list's order.
            Ok(id) => plan.place_term(id, index),
            Err(err) => failed.push(err),
        }
    }
    for (path, value) in &shaped.locations {
        if let Err(err) = plan.add_location(value, path, None, true) {
            failed.push(err);
        }
    }
    let locations_by_id: HashMap<Uuid, &Value> = shaped
        .locations
        .iter()
        .filter_map(|(_, v)| Some((parse_uuid(v.get("id")?)?, v)))
        .collect();
    for (path, value) in &shaped.services {
        if let Err(err) = plan.add_service(value, path, &locations_by_id) {
            failed.push(err);
        }
    }
    plan.resolve_references(db, &mut failed).await?;
    if strict && !failed.is_empty() {
        return Ok(ImportReport {
            failed,
            ..ImportReport::default()
        });
    }
    let units = plan.units();
    let mut report = ImportReport {
        failed,
        ..ImportReport::default()
    };
    if strict {
        let txn = begin(db).await?;
        match write_units(&txn, &plan, &units, actor).await {
            Ok(outcome) => {
                txn.commit().await?;
                outcome.add_to(&mut report);
            }
            Err(err) => {
                txn.rollback().await?;
                report.failed.push(ImportError {
                    path: String::new(),
                    message: format!("nothing was imported: {err}"),
                });
            }
        }
        return Ok(report);
    }
    for chunk in units.chunks(CHUNK) {
        let txn = begin(db).await?;
        match write_units(&txn, &plan, chunk, actor).await {
            Ok(outcome) => {
                txn.commit().await?;
                outcome.add_to(&mut report);
            }
            Err(_) => {
                txn.rollback().await?;
                // Find the culprits: each record on its own.
                for unit in chunk {
                    let txn = begin(db).await?;
                    match write_units(&txn, &plan, std::slice::from_ref(unit), actor).await {
                        Ok(outcome) => {
                            txn.commit().await?;
                            outcome.add_to(&mut report);
                        }
                        Err(err) => {
                            txn.rollback().await?;
                            report.failed.push(ImportError {
                                path: plan.path_of(unit).to_owned(),
                                message: format!("cannot be written: {err}"),
                            });
                        }
                    }
                }
            }
        }
    }
    Ok(report)
}

async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let txn = db
        .begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        })
        .await?;
    feed::lock(&txn).await?;
    Ok(txn)
}

// ---------------------------------------------------------------------------------------------
// The document's shape.

/// The records of a document, each with its JSON path.
#[derive(Default)]
struct Shaped {
    services: Vec<(String, Value)>,
    organizations: Vec<(String, Value)>,
    taxonomies: Vec<(String, Value)>,
    terms: Vec<(String, Value)>,
    locations: Vec<(String, Value)>,
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

fn listed(items: &[Value], prefix: &str) -> Vec<(String, Value)> {
    items
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{prefix}/{i}"), v.clone()))
        .collect()
}

fn shape(document: &Value) -> Result<Shaped, DocumentError> {
    match document {
        Value::Array(items) => Ok(Shaped {
            services: listed(items, ""),
            ..Shaped::default()
        }),
        Value::Object(map) => {
            if let Some(contents) = map.get("contents") {
                let items = contents.as_array().ok_or_else(|| {
                    DocumentError::Shape("/contents: expected an array of services".into())
                })?;
                return Ok(Shaped {
                    services: listed(items, "/contents"),
                    ..Shaped::default()
                });
            }
            let arrays = [
                "services",
                "organizations",
                "taxonomies",
                "taxonomy_terms",
                "locations",
            ];
            if !arrays.iter().any(|k| map.contains_key(*k)) {
                if map.contains_key("id") && map.contains_key("name") {
                    return Ok(Shaped {
                        services: vec![(String::new(), document.clone())],
                        ..Shaped::default()
                    });
                }
                return Err(DocumentError::Shape(
                    "expected an array of services, a page of services (contents) or an object \
                     of arrays (services, organizations, locations, taxonomy_terms, ...)"
                        .into(),
                ));
            }
            let array = |key: &str| -> Result<Vec<Value>, DocumentError> {
                match map.get(key) {
                    None | Some(Value::Null) => Ok(Vec::new()),
                    Some(Value::Array(items)) => Ok(items.clone()),
                    Some(_) => Err(DocumentError::Shape(format!("/{key}: expected an array"))),
                }
            };
            let mut services = array("services")?;
            // Tabular documents: attach child arrays to their services.
            for key in SERVICE_CHILDREN {
                let rows = array(key)?;
                if rows.is_empty() {
                    continue;
                }
                let link = if *key == "attributes" {
                    "link_id"
                } else {
                    "service_id"
                };
                let mut by_service: HashMap<String, Vec<Value>> = HashMap::new();
                for row in rows {
                    if let Some(id) = row.get(link).and_then(Value::as_str) {
                        by_service.entry(id.to_owned()).or_default().push(row);
                    }
                }
                for svc in &mut services {
                    let Some(id) = svc.get("id").and_then(Value::as_str).map(str::to_owned) else {
                        continue;
                    };
                    if let (Some(rows), Value::Object(obj)) = (by_service.remove(&id), &mut *svc)
                        && !obj.contains_key(*key)
                    {
                        obj.insert((*key).to_owned(), Value::Array(rows));
                    }
                }
            }
            let mut locations = array("locations")?;
            for key in ["addresses", "accessibility"] {
                let rows = array(key)?;
                let mut by_location: HashMap<String, Vec<Value>> = HashMap::new();
                for row in rows {
                    if let Some(id) = row.get("location_id").and_then(Value::as_str) {
                        by_location.entry(id.to_owned()).or_default().push(row);
                    }
                }
                for loc in &mut locations {
                    let Some(id) = loc.get("id").and_then(Value::as_str).map(str::to_owned) else {
                        continue;
                    };
                    if let (Some(rows), Value::Object(obj)) = (by_location.remove(&id), &mut *loc)
                        && !obj.contains_key(key)
                    {
                        obj.insert(key.to_owned(), Value::Array(rows));
                    }
                }
            }
            Ok(Shaped {
                services: listed(&services, "/services"),
                organizations: listed(&array("organizations")?, "/organizations"),
                taxonomies: listed(&array("taxonomies")?, "/taxonomies"),
                terms: listed(&array("taxonomy_terms")?, "/taxonomy_terms"),
                locations: listed(&locations, "/locations"),
            })
        }
        _ => Err(DocumentError::Shape(
            "expected a JSON array or object".into(),
        )),
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

fn parse_uuid(value: &Value) -> Option<Uuid> {
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

/// A number field (numbers or numeric strings); an error when present but not a number.
fn number(obj: &Map<String, Value>, key: &str, path: &str) -> Result<Option<f64>, ImportError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| err(&format!("{path}/{key}"), format!("{key} is not a number"))),
        Some(_) => Err(err(
            &format!("{path}/{key}"),
            format!("{key} is not a number"),
        )),
    }
}

fn array<'a>(obj: &'a Map<String, Value>, key: &str) -> &'a [Value] {
    obj.get(key)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ImportError> {
    value
        .as_object()
        .ok_or_else(|| err(path, "expected an object"))
}

/// The members of `obj` not in `known` and not null, or none when there are none.
fn extra_of(obj: &Map<String, Value>, known: &[&str]) -> Option<Map<String, Value>> {
    let extra: Map<String, Value> = obj
        .iter()
        .filter(|(k, v)| !v.is_null() && !known.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), super::mapping::without_nulls(v.clone())))
        .collect();
    (!extra.is_empty()).then_some(extra)
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
// The plan: every record of the document as the rows it becomes.

/// A service and its children as rows.
#[derive(Clone, Debug)]
struct ServicePlan {
    path: String,
    source: Value,
    row: service::Model,
    last_modified: Option<DateTime<Utc>>,
    /// The organization, when not given here, is looked up by id.
    organization_path: String,
    sals: Vec<service_at_location::Model>,
    location_paths: Vec<String>,
    contacts: Vec<contact::Model>,
    phones: Vec<phone::Model>,
    schedules: Vec<schedule::Model>,
    areas: Vec<service_area::Model>,
    attributes: Vec<attribute::Model>,
    attribute_paths: Vec<String>,
    /// Signpost-only fields the feed gave (kept in `extra`); the rest keep their current value.
    level_of_need: Option<LevelOfNeed>,
    self_referral: Option<bool>,
    professional_referral: Option<bool>,
    from_pregnancy: Option<bool>,
    audiences: Option<StringList>,
    delivery_modes: Option<StringList>,
    funding_ends_on: Option<NaiveDate>,
    /// The `events` extension (see [`read_events`]).
    events: Vec<event::Model>,
}

#[derive(Clone, Debug)]
struct Planned<T> {
    path: String,
    /// Counted in the report (a top-level record, not one nested in a service).
    counted: bool,
    row: T,
}

#[derive(Default)]
struct Plan {
    organizations: BTreeMap<Uuid, Planned<organization::Model>>,
    taxonomies: BTreeMap<Uuid, Planned<taxonomy::Model>>,
    terms: BTreeMap<Uuid, Planned<taxonomy_term::Model>>,
    locations: BTreeMap<Uuid, Planned<location::Model>>,
    services: Vec<ServicePlan>,
    service_ids: HashSet<Uuid>,
    /// Records that are in no table yet and not in the document either.
    failed: HashSet<Uuid>,
}

/// One record to write, in dependency order.
#[derive(Clone, Copy, Debug)]
enum Unit {
    Organization(Uuid),
    Taxonomy(Uuid),
    Term(Uuid),
    Location(Uuid),
    Service(usize),
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

impl Plan {
    fn path_of(&self, unit: &Unit) -> &str {
        match unit {
            Unit::Organization(id) => self.organizations.get(id).map_or("", |p| &p.path),
            Unit::Taxonomy(id) => self.taxonomies.get(id).map_or("", |p| &p.path),
            Unit::Term(id) => self.terms.get(id).map_or("", |p| &p.path),
            Unit::Location(id) => self.locations.get(id).map_or("", |p| &p.path),
            Unit::Service(i) => self.services.get(*i).map_or("", |p| &p.path),
        }
    }

    /// Sets the position of a planned term.
    fn place_term(&mut self, id: Uuid, index: usize) {
        if let Some(term) = self.terms.get_mut(&id) {
            term.row.position = position(index);
        }
    }

    fn add_organization(
        &mut self,
        value: &Value,
        path: &str,
        counted: bool,
    ) -> Result<Uuid, ImportError> {
        let obj = object(value, path)?;
        let id = uuid_at(obj, "id", path)?;
        let name =
            filled(obj, "name").ok_or_else(|| err(&format!("{path}/name"), "name is required"))?;
        let mut charity_number = None;
        let mut company_number = None;
        let mut other_identifiers = Vec::new();
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
            if (scheme == "GB-CHC" || kind.contains("charity")) && charity_number.is_none() {
                charity_number = number;
            } else if (scheme == "GB-COH" || kind.contains("company")) && company_number.is_none() {
                company_number = number;
            } else {
                other_identifiers.push(item.clone());
            }
        }
        let mut extra = extra_of(obj, ORGANIZATION_KEYS).unwrap_or_default();
        if !other_identifiers.is_empty() {
            extra.insert(
                "other_organization_identifiers".into(),
                Value::Array(other_identifiers),
            );
        }
        let phone = array(obj, "phones")
            .iter()
            .filter_map(Value::as_object)
            .find_map(|p| filled(p, "number"));
        let now = Utc::now();
        let row = organization::Model {
            id,
            name,
            description: filled(obj, "description"),
            email: filled(obj, "email"),
            website: filled(obj, "website").or_else(|| filled(obj, "url")),
            phone,
            charity_number,
            company_number,
            extra: (!extra.is_empty()).then_some(Value::Object(extra)),
            created_at: now,
            updated_at: now,
        };
        self.organizations
            .entry(id)
            .and_modify(|p| p.counted |= counted)
            .or_insert(Planned {
                path: path.to_owned(),
                counted,
                row,
            });
        Ok(id)
    }

    fn add_taxonomy(
        &mut self,
        value: &Value,
        path: &str,
        counted: bool,
    ) -> Result<Uuid, ImportError> {
        let obj = object(value, path)?;
        let id = uuid_at(obj, "id", path)?;
        let name =
            filled(obj, "name").ok_or_else(|| err(&format!("{path}/name"), "name is required"))?;
        let row = taxonomy::Model {
            id,
            name,
            description: filled(obj, "description"),
            uri: filled(obj, "uri"),
            version: filled(obj, "version"),
        };
        self.taxonomies
            .entry(id)
            .and_modify(|p| p.counted |= counted)
            .or_insert(Planned {
                path: path.to_owned(),
                counted,
                row,
            });
        Ok(id)
    }

    fn add_term(&mut self, value: &Value, path: &str, counted: bool) -> Result<Uuid, ImportError> {
        let obj = object(value, path)?;
        let id = uuid_at(obj, "id", path)?;
        let name =
            filled(obj, "name").ok_or_else(|| err(&format!("{path}/name"), "name is required"))?;
        let parent_id = opt_uuid_at(obj, "parent_id", path)?;
        let mut taxonomy_id = opt_uuid_at(obj, "taxonomy_id", path)?;
        if let Some(detail) = obj.get("taxonomy_detail").filter(|v| v.is_object()) {
            taxonomy_id =
                Some(self.add_taxonomy(detail, &format!("{path}/taxonomy_detail"), false)?);
        } else if let Some(tax_name) = filled(obj, "taxonomy") {
            // A vocabulary named but not described: one taxonomy per name.
            let id = taxonomy_id
                .unwrap_or_else(|| derived_id(Uuid::nil(), &format!("taxonomy:{tax_name}")));
            self.taxonomies.entry(id).or_insert(Planned {
                path: format!("{path}/taxonomy"),
                counted: false,
                row: taxonomy::Model {
                    id,
                    name: tax_name,
                    description: None,
                    uri: None,
                    version: None,
                },
            });
            taxonomy_id = Some(id);
        }
        let row = taxonomy_term::Model {
            id,
            taxonomy_id,
            code: filled(obj, "code"),
            name,
            description: filled(obj, "description"),
            parent_id,
            position: 0,
        };
        self.terms
            .entry(id)
            .and_modify(|p| p.counted |= counted)
            .or_insert(Planned {
                path: path.to_owned(),
                counted,
                row,
            });
        Ok(id)
    }

    fn add_location(
        &mut self,
        value: &Value,
        path: &str,
        organization_id: Option<Uuid>,
        counted: bool,
    ) -> Result<Uuid, ImportError> {
        let obj = object(value, path)?;
        let id = uuid_at(obj, "id", path)?;
        let addresses = array(obj, "addresses");
        let address = addresses
            .iter()
            .filter_map(Value::as_object)
            .find(|a| text(a, "address_type").as_deref() == Some("physical"))
            .or_else(|| addresses.iter().find_map(Value::as_object));
        let mut extra = extra_of(obj, LOCATION_KEYS).unwrap_or_default();
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
        let accessibility = array(obj, "accessibility")
            .iter()
            .filter_map(Value::as_object)
            .filter_map(|a| filled(a, "description"))
            .collect::<Vec<_>>();
        let organization_id = opt_uuid_at(obj, "organization_id", path)?.or(organization_id);
        let now = Utc::now();
        let row = location::Model {
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
            extra: (!extra.is_empty()).then_some(Value::Object(extra)),
            created_at: now,
            updated_at: now,
        };
        self.locations
            .entry(id)
            .and_modify(|p| p.counted |= counted)
            .or_insert(Planned {
                path: path.to_owned(),
                counted,
                row,
            });
        Ok(id)
    }

    fn add_service(
        &mut self,
        value: &Value,
        path: &str,
        top_locations: &HashMap<Uuid, &Value>,
    ) -> Result<(), ImportError> {
        let obj = object(value, path)?;
        let id = uuid_at(obj, "id", path)?;
        if !self.service_ids.insert(id) {
            return Err(err(
                &format!("{path}/id"),
                "this service appears earlier in the document",
            ));
        }
        let name =
            filled(obj, "name").ok_or_else(|| err(&format!("{path}/name"), "name is required"))?;
        let (organization_id, organization_path) = match obj.get("organization") {
            Some(org) if org.is_object() => {
                let org_path = format!("{path}/organization");
                (self.add_organization(org, &org_path, false)?, org_path)
            }
            _ => (
                uuid_at(obj, "organization_id", path)?,
                format!("{path}/organization_id"),
            ),
        };
        let status = match filled(obj, "status") {
            None => ServiceStatus::Active,
            Some(s) => codes::status_by_code(&s).ok_or_else(|| {
                err(
                    &format!("{path}/status"),
                    format!(
                        "unknown status {s:?} (active, inactive, defunct or temporarily closed)"
                    ),
                )
            })?,
        };
        let min_age = number(obj, "minimum_age", path)?;
        let max_age = number(obj, "maximum_age", path)?;
        for (key, age) in [("minimum_age", min_age), ("maximum_age", max_age)] {
            if age.is_some_and(|a| !(0.0..=150.0).contains(&a)) {
                return Err(err(
                    &format!("{path}/{key}"),
                    format!("{key} must be an age in years"),
                ));
            }
        }
        let assured_date = match filled(obj, "assured_date") {
            None => None,
            Some(d) => Some(parse_date(&d).ok_or_else(|| {
                err(
                    &format!("{path}/assured_date"),
                    "assured_date is not a date (YYYY-MM-DD)",
                )
            })?),
        };
        let last_modified = filled(obj, "last_modified")
            .and_then(|s| DateTime::parse_from_rfc3339(s.trim()).ok())
            .map(|d| d.with_timezone(&Utc));

        let mut extra = extra_of(obj, SERVICE_KEYS).unwrap_or_default();

        // Languages.
        let mut languages = Vec::new();
        let mut unmapped_languages = Vec::new();
        for item in array(obj, "languages") {
            match language_code(item) {
                Some(code) if !languages.contains(&code) => languages.push(code),
                Some(_) => {}
                None => unmapped_languages.push(item.clone()),
            }
        }
        if !unmapped_languages.is_empty() {
            extra.insert(
                "unmapped_languages".into(),
                Value::Array(unmapped_languages),
            );
        }

        // Cost options.
        let costs: Vec<&Map<String, Value>> = array(obj, "cost_options")
            .iter()
            .filter_map(Value::as_object)
            .collect();
        let is_free = |c: &Map<String, Value>| {
            c.get("amount").and_then(Value::as_f64) == Some(0.0)
                || text(c, "option").is_some_and(|o| o.to_ascii_lowercase().contains("free"))
        };
        let free = !costs.is_empty()
            && costs.iter().any(|c| is_free(c))
            && !costs.iter().any(|c| {
                c.get("amount")
                    .and_then(Value::as_f64)
                    .is_some_and(|a| a > 0.0)
            });
        let fees_description = filled(obj, "fees_description").or_else(|| {
            costs
                .iter()
                .filter(|c| !is_free(c))
                .find_map(|c| filled(c, "amount_description").or_else(|| filled(c, "option")))
        });
        let funding_source = array(obj, "funding")
            .iter()
            .filter_map(Value::as_object)
            .find_map(|f| filled(f, "source"));

        // Where.
        let mut sals = Vec::new();
        let mut location_paths = Vec::new();
        let mut seen_locations = HashSet::new();
        for (i, item) in array(obj, "service_at_locations").iter().enumerate() {
            let sal_path = format!("{path}/service_at_locations/{i}");
            let sal = object(item, &sal_path)?;
            let sal_id = uuid_at(sal, "id", &sal_path)?;
            let location_id = match sal.get("location").filter(|l| l.is_object()) {
                Some(loc) => {
                    let loc_path = format!("{sal_path}/location");
                    let id = self.add_location(loc, &loc_path, Some(organization_id), false)?;
                    location_paths.push(loc_path);
                    id
                }
                None => {
                    let id = uuid_at(sal, "location_id", &sal_path)?;
                    if let Some(loc) = top_locations.get(&id) {
                        self.add_location(loc, &format!("{sal_path}/location_id"), None, false)?;
                    }
                    location_paths.push(format!("{sal_path}/location_id"));
                    id
                }
            };
            if seen_locations.insert(location_id) {
                sals.push(service_at_location::Model {
                    id: sal_id,
                    service_id: id,
                    location_id,
                    position: position(sals.len()),
                });
            }
        }

        // Contacts and phone lines.
        let mut contacts = Vec::new();
        for (i, item) in array(obj, "contacts").iter().enumerate() {
            let c_path = format!("{path}/contacts/{i}");
            let c = object(item, &c_path)?;
            let phone = array(c, "phones")
                .iter()
                .filter_map(Value::as_object)
                .find_map(|p| filled(p, "number"));
            contacts.push(contact::Model {
                id: uuid_at(c, "id", &c_path)?,
                service_id: id,
                name: filled(c, "name"),
                title: filled(c, "title"),
                email: filled(c, "email"),
                phone,
                visibility: visibility(c, &c_path)?,
                position: position(contacts.len()),
            });
        }
        let mut phones = Vec::new();
        for (i, item) in array(obj, "phones").iter().enumerate() {
            let p_path = format!("{path}/phones/{i}");
            let p = object(item, &p_path)?;
            let number = filled(p, "number")
                .ok_or_else(|| err(&format!("{p_path}/number"), "a phone needs a number"))?;
            phones.push(phone::Model {
                id: uuid_at(p, "id", &p_path)?,
                service_id: id,
                number,
                description: filled(p, "description"),
                visibility: visibility(p, &p_path)?,
                position: position(phones.len()),
            });
        }

        // Opening hours: one row per weekday.
        let mut schedules = Vec::new();
        for (i, item) in array(obj, "schedules").iter().enumerate() {
            let s_path = format!("{path}/schedules/{i}");
            let s = object(item, &s_path)?;
            let sid = uuid_at(s, "id", &s_path)?;
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
            let opens_at = filled(s, "opens_at").map(|t| codes::time_from_hsds(&t));
            let closes_at = filled(s, "closes_at").map(|t| codes::time_from_hsds(&t));
            let description = filled(s, "description");
            if days.is_empty() {
                schedules.push(schedule::Model {
                    id: sid,
                    service_id: id,
                    weekday: None,
                    opens_at,
                    closes_at,
                    description,
                    position: position(schedules.len()),
                });
            } else {
                for (n, (code, day)) in days.into_iter().enumerate() {
                    schedules.push(schedule::Model {
                        id: if n == 0 {
                            sid
                        } else {
                            derived_id(sid, &format!("byday:{code}"))
                        },
                        service_id: id,
                        weekday: Some(day),
                        opens_at: opens_at.clone(),
                        closes_at: closes_at.clone(),
                        description: description.clone(),
                        position: position(schedules.len()),
                    });
                }
            }
        }

        // Catchments.
        let mut areas = Vec::new();
        let mut unmapped_areas = Vec::new();
        for (i, item) in array(obj, "service_areas").iter().enumerate() {
            let a_path = format!("{path}/service_areas/{i}");
            let a = object(item, &a_path)?;
            let aid = uuid_at(a, "id", &a_path)?;
            let name = text(a, "name").unwrap_or_default();
            let description = filled(a, "description");
            let extent = filled(a, "extent");
            let extent_type = text(a, "extent_type")
                .unwrap_or_default()
                .to_ascii_lowercase();
            let base = service_area::Model {
                id: aid,
                service_id: id,
                kind: ServiceAreaKind::National,
                name: name.clone(),
                postcode_prefix: None,
                latitude: None,
                longitude: None,
                radius_km: None,
                position: 0,
            };
            let mut found = Vec::new();
            match extent {
                None => {
                    let says = format!("{name} {}", description.clone().unwrap_or_default())
                        .to_ascii_lowercase();
                    if says.contains("united kingdom") || says.contains("national") {
                        found.push(base);
                    }
                }
                Some(extent) if extent_type == "geojson" => {
                    let point = serde_json::from_str::<Value>(&extent).ok().and_then(|g| {
                        if g.get("type")?.as_str()? != "Point" {
                            return None;
                        }
                        let c = g.get("coordinates")?.as_array()?;
                        Some((c.first()?.as_f64()?, c.get(1)?.as_f64()?))
                    });
                    if let Some((lon, lat)) = point {
                        let radius_km = description.as_deref().and_then(|d| {
                            d.strip_prefix("Within ")?
                                .strip_suffix(" km of the point")?
                                .trim()
                                .parse::<f64>()
                                .ok()
                        });
                        found.push(service_area::Model {
                            kind: ServiceAreaKind::Radius,
                            latitude: Some(lat),
                            longitude: Some(lon),
                            radius_km,
                            ..base
                        });
                    }
                }
                Some(extent) if matches!(extent_type.as_str(), "" | "text" | "postcode") => {
                    let prefixes: Option<Vec<String>> = extent
                        .split([',', ';'])
                        .filter(|p| !p.trim().is_empty())
                        .map(search::geo::normalise_prefix)
                        .collect();
                    let mut prefixes = prefixes.unwrap_or_default();
                    // A prefix given twice is one catchment.
                    let mut seen = HashSet::new();
                    prefixes.retain(|p| seen.insert(p.clone()));
                    for (n, prefix) in prefixes.into_iter().enumerate() {
                        found.push(service_area::Model {
                            id: if n == 0 {
                                aid
                            } else {
                                derived_id(aid, &format!("postcode:{prefix}"))
                            },
                            kind: ServiceAreaKind::PostcodePrefix,
                            postcode_prefix: Some(prefix),
                            ..base.clone()
                        });
                    }
                }
                Some(_) => {}
            }
            if found.is_empty() {
                unmapped_areas.push(item.clone());
            }
            for mut area in found {
                area.position = position(areas.len());
                areas.push(area);
            }
        }
        if !unmapped_areas.is_empty() {
            extra.insert(
                "unmapped_service_areas".into(),
                Value::Array(unmapped_areas),
            );
        }

        // Taxonomy terms.
        let mut attributes = Vec::new();
        let mut attribute_paths = Vec::new();
        for (i, item) in array(obj, "attributes").iter().enumerate() {
            let a_path = format!("{path}/attributes/{i}");
            let a = object(item, &a_path)?;
            let term_id = match a.get("taxonomy_term").filter(|t| t.is_object()) {
                Some(term) => self.add_term(term, &format!("{a_path}/taxonomy_term"), false)?,
                None => uuid_at(a, "taxonomy_term_id", &a_path)?,
            };
            attribute_paths.push(format!("{a_path}/taxonomy_term_id"));
            attributes.push(attribute::Model {
                id: uuid_at(a, "id", &a_path)?,
                link_id: id,
                link_entity: attribute::LINK_ENTITY_SERVICE.to_owned(),
                link_type: filled(a, "link_type"),
                taxonomy_term_id: term_id,
                value: text(a, "value"),
                position: position(attributes.len()),
            });
        }

        let level_of_need =
            extra
                .get("level_of_need")
                .and_then(Value::as_str)
                .and_then(|l| match l.trim().to_ascii_uppercase().as_str() {
                    "UNIVERSAL" => Some(LevelOfNeed::Universal),
                    "TARGETED" => Some(LevelOfNeed::Targeted),
                    "SPECIALIST" => Some(LevelOfNeed::Specialist),
                    _ => None,
                });
        let self_referral = extra.get("self_referral").and_then(Value::as_bool);
        let professional_referral = extra.get("professional_referral").and_then(Value::as_bool);
        let from_pregnancy = extra.get("from_pregnancy").and_then(Value::as_bool);
        let audiences = code_list(&extra, "audiences", |c| {
            Audience::parse(c).map(Audience::as_str)
        });
        let delivery_modes = code_list(&extra, "delivery_modes", |c| {
            DeliveryMode::parse(c).map(DeliveryMode::as_str)
        });
        let funding_ends_on = match extra.get("funding_ends_on") {
            None => None,
            Some(value) => Some(value.as_str().and_then(parse_date).ok_or_else(|| {
                err(
                    &format!("{path}/funding_ends_on"),
                    "funding_ends_on is not a date (YYYY-MM-DD)",
                )
            })?),
        };
        let events = read_events(obj, id, path)?;
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
            level_of_need: level_of_need.unwrap_or(LevelOfNeed::Universal),
            from_pregnancy: from_pregnancy.unwrap_or(false),
            min_age_months: min_age.map(months),
            max_age_months: max_age.map(months),
            audiences: audiences.clone().unwrap_or_default(),
            eligibility_description: filled(obj, "eligibility_description"),
            self_referral: self_referral.unwrap_or(true),
            professional_referral: professional_referral.unwrap_or(true),
            referral_instructions: filled(obj, "application_process"),
            delivery_modes: delivery_modes.clone().unwrap_or_default(),
            languages: StringList(languages),
            free,
            fees_description,
            funding_source,
            funding_ends_on,
            extra: (!extra.is_empty()).then_some(Value::Object(extra)),
            created_at: now,
            updated_at: last_modified.unwrap_or(now),
        };
        self.services.push(ServicePlan {
            path: path.to_owned(),
            source: value.clone(),
            row,
            last_modified,
            organization_path,
            sals,
            location_paths,
            contacts,
            phones,
            schedules,
            areas,
            attributes,
            attribute_paths,
            level_of_need,
            self_referral,
            professional_referral,
            from_pregnancy,
            audiences,
            delivery_modes,
            funding_ends_on,
            events,
        });
        Ok(())
    }

    /// Checks references to records outside the document against the database; drops what
    /// cannot be satisfied, reporting the records concerned.
    async fn resolve_references(
        &mut self,
        db: &DatabaseConnection,
        failed: &mut Vec<ImportError>,
    ) -> Result<(), DbErr> {
        // Organisations named by id only.
        let wanted_orgs: Vec<Uuid> = self
            .services
            .iter()
            .map(|s| s.row.organization_id)
            .chain(
                self.locations
                    .values()
                    .filter_map(|l| l.row.organization_id),
            )
            .filter(|id| !self.organizations.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let known_orgs: HashSet<Uuid> =
            find_by_ids::<organization::Entity, _>(db, organization::Column::Id, &wanted_orgs)
                .await?
                .into_iter()
                .map(|o| o.id)
                .collect();
        let wanted_terms: Vec<Uuid> = self
            .services
            .iter()
            .flat_map(|s| s.attributes.iter().map(|a| a.taxonomy_term_id))
            .chain(self.terms.values().filter_map(|t| t.row.parent_id))
            .filter(|id| !self.terms.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let known_terms: HashSet<Uuid> =
            find_by_ids::<taxonomy_term::Entity, _>(db, taxonomy_term::Column::Id, &wanted_terms)
                .await?
                .into_iter()
                .map(|t| t.id)
                .collect();
        let wanted_taxonomies: Vec<Uuid> = self
            .terms
            .values()
            .filter_map(|t| t.row.taxonomy_id)
            .filter(|id| !self.taxonomies.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let known_taxonomies: HashSet<Uuid> =
            find_by_ids::<taxonomy::Entity, _>(db, taxonomy::Column::Id, &wanted_taxonomies)
                .await?
                .into_iter()
                .map(|t| t.id)
                .collect();
        let wanted_locations: Vec<Uuid> = self
            .services
            .iter()
            .flat_map(|s| s.sals.iter().map(|l| l.location_id))
            .filter(|id| !self.locations.contains_key(id))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let known_locations: HashSet<Uuid> =
            find_by_ids::<location::Entity, _>(db, location::Column::Id, &wanted_locations)
                .await?
                .into_iter()
                .map(|l| l.id)
                .collect();

        let orgs: HashSet<Uuid> = self.organizations.keys().copied().collect();
        for loc in self.locations.values_mut() {
            if let Some(org) = loc.row.organization_id
                && !orgs.contains(&org)
                && !known_orgs.contains(&org)
            {
                // Keep the place; its owner is unknown here, so the id waits in `extra`.
                loc.row.organization_id = None;
                let mut extra = match loc.row.extra.take() {
                    Some(Value::Object(map)) => map,
                    _ => Map::new(),
                };
                extra.insert("organization_id".into(), Value::String(org.to_string()));
                loc.row.extra = Some(Value::Object(extra));
            }
        }
        let mut bad_terms = HashSet::new();
        let mut stubs = Vec::new();
        let term_ids: HashSet<Uuid> = self.terms.keys().copied().collect();
        for term in self.terms.values_mut() {
            if let Some(parent) = term.row.parent_id
                && !term_ids.contains(&parent)
                && !known_terms.contains(&parent)
            {
                // The parent is named but not given: a placeholder keeps the hierarchy until
                // a feed describes it.
                stubs.push(taxonomy_term::Model {
                    id: parent,
                    taxonomy_id: term.row.taxonomy_id.filter(|t| {
                        self.taxonomies.contains_key(t) || known_taxonomies.contains(t)
                    }),
                    code: None,
                    name: "(unnamed parent term)".to_owned(),
                    description: None,
                    parent_id: None,
                    position: 0,
                });
            }
            if let Some(tax) = term.row.taxonomy_id
                && !self.taxonomies.contains_key(&tax)
                && !known_taxonomies.contains(&tax)
            {
                failed.push(err(
                    &format!("{}/taxonomy_id", term.path),
                    "no taxonomy with this id in the document or the directory",
                ));
                bad_terms.insert(term.row.id);
            }
        }
        for id in &bad_terms {
            self.terms.remove(id);
        }
        for stub in stubs {
            let path = self
                .terms
                .values()
                .find(|t| t.row.parent_id == Some(stub.id))
                .map(|t| format!("{}/parent_id", t.path))
                .unwrap_or_default();
            self.terms.entry(stub.id).or_insert(Planned {
                path,
                counted: false,
                row: stub,
            });
        }
        // Parents first, so that every parent row exists when its children are written.
        let mut kept = Vec::new();
        for service in std::mem::take(&mut self.services) {
            let problem = if !orgs.contains(&service.row.organization_id)
                && !known_orgs.contains(&service.row.organization_id)
            {
                Some(err(
                    &service.organization_path,
                    "no organization with this id in the document or the directory",
                ))
            } else if let Some(i) = service.attributes.iter().position(|a| {
                !self.terms.contains_key(&a.taxonomy_term_id)
                    && !known_terms.contains(&a.taxonomy_term_id)
            }) {
                Some(err(
                    service.attribute_paths.get(i).map_or("", String::as_str),
                    "no taxonomy term with this id in the document or the directory",
                ))
            } else if let Some(i) = service.sals.iter().position(|l| {
                !self.locations.contains_key(&l.location_id)
                    && !known_locations.contains(&l.location_id)
            }) {
                Some(err(
                    service.location_paths.get(i).map_or("", String::as_str),
                    "no location with this id in the document or the directory",
                ))
            } else {
                None
            };
            match problem {
                Some(problem) => {
                    failed.push(problem);
                    self.failed.insert(service.row.id);
                }
                None => kept.push(service),
            }
        }
        self.services = kept;
        Ok(())
    }

    /// Every record in the order they can be written.
    fn units(&self) -> Vec<Unit> {
        let mut units: Vec<Unit> = self
            .organizations
            .keys()
            .map(|id| Unit::Organization(*id))
            .collect();
        units.extend(self.taxonomies.keys().map(|id| Unit::Taxonomy(*id)));
        // Terms, parents before children.
        let mut placed: HashSet<Uuid> = HashSet::new();
        let mut remaining: Vec<Uuid> = self.terms.keys().copied().collect();
        while !remaining.is_empty() {
            let before = remaining.len();
            remaining.retain(|id| {
                let parent = self.terms.get(id).and_then(|t| t.row.parent_id);
                let ready = parent.is_none_or(|p| {
                    placed.contains(&p) || !self.terms.contains_key(&p) || p == *id
                });
                if ready {
                    placed.insert(*id);
                    units.push(Unit::Term(*id));
                }
                !ready
            });
            if remaining.len() == before {
                // A cycle: write the rest anyway; the database reports the loop.
                units.extend(remaining.drain(..).map(Unit::Term));
            }
        }
        units.extend(self.locations.keys().map(|id| Unit::Location(*id)));
        units.extend((0..self.services.len()).map(Unit::Service));
        units
    }
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// What a chunk wrote.
#[derive(Default)]
struct Outcome {
    imported: usize,
    unchanged: usize,
    last_seq: i64,
}

impl Outcome {
    fn add_to(&self, report: &mut ImportReport) {
        report.imported += self.imported;
        report.unchanged += self.unchanged;
        report.last_seq = report.last_seq.max(self.last_seq);
    }
}

/// Feed and audit rows gathered while writing a chunk.
struct Journal<'a> {
    actor: &'a Actor,
    changes: Vec<change::ActiveModel>,
    audits: Vec<audit_event::ActiveModel>,
}

impl Journal<'_> {
    fn record(
        &mut self,
        entity: &str,
        id: Uuid,
        op: ChangeOp,
        before: Option<Value>,
        after: Option<Value>,
        feed_row: bool,
    ) {
        self.audits.push(audit::row(
            self.actor,
            &format!("{entity}.import"),
            entity,
            id,
            before,
            after,
        ));
        if feed_row {
            self.changes.push(feed::row(entity, id, op));
        }
    }
}

/// Inserts rows in as few statements as the databases' parameter limits allow.
async fn insert_rows<A>(
    txn: &impl ConnectionTrait,
    rows: Vec<A>,
    columns: usize,
) -> Result<(), DbErr>
where
    A: ActiveModelTrait + Send,
{
    let per = (MAX_PARAMS / columns.max(1)).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let batch: Vec<A> = rows.by_ref().take(per).collect();
        A::Entity::insert_many(batch)
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Counts a top-level record in the report.
fn count(outcome: &mut Outcome, counted: bool, changed: bool) {
    if counted {
        if changed {
            outcome.imported += 1;
        } else {
            outcome.unchanged += 1;
        }
    }
}

/// A row with creation and update times, which an import keeps and sets itself.
trait Timestamped: Clone + PartialEq + serde::Serialize {
    fn id(&self) -> Uuid;
    fn created_at(&self) -> chrono::DateTime<Utc>;
    fn with_times(
        &self,
        created_at: chrono::DateTime<Utc>,
        updated_at: chrono::DateTime<Utc>,
    ) -> Self;
    fn updated_at(&self) -> chrono::DateTime<Utc>;
}

macro_rules! timestamped {
    ($($module:ident),+) => {$(
        impl Timestamped for $module::Model {
            fn id(&self) -> Uuid {
                self.id
            }
            fn created_at(&self) -> chrono::DateTime<Utc> {
                self.created_at
            }
            fn updated_at(&self) -> chrono::DateTime<Utc> {
                self.updated_at
            }
            fn with_times(&self, created_at: chrono::DateTime<Utc>, updated_at: chrono::DateTime<Utc>) -> Self {
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
    columns: usize,
    /// Whether a new record gets an audit and feed row (an update always does).
    journal_creates: bool,
}

/// Inserts new records and updates changed ones, leaving unchanged ones alone.
async fn upsert_stamped<E>(
    txn: &DatabaseTransaction,
    ids: &[Uuid],
    planned: &BTreeMap<Uuid, Planned<E::Model>>,
    how: Stamped<E::Column>,
    journal: &mut Journal<'_>,
    outcome: &mut Outcome,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    E::Model: Timestamped + IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + sea_orm::ActiveModelBehavior + Send,
{
    if ids.is_empty() {
        return Ok(());
    }
    let existing: HashMap<Uuid, E::Model> = find_by_ids::<E, _>(txn, how.id_column, ids)
        .await?
        .into_iter()
        .map(|row| (row.id(), row))
        .collect();
    let mut inserts = Vec::new();
    for id in ids {
        let Some(planned) = planned.get(id) else {
            continue;
        };
        match existing.get(id) {
            Some(current) if same(&planned.row, current) => count(outcome, planned.counted, false),
            Some(current) => {
                let row = planned.row.with_times(current.created_at(), Utc::now());
                row.clone()
                    .into_active_model()
                    .reset_all()
                    .update(txn)
                    .await?;
                journal.record(
                    how.entity,
                    *id,
                    ChangeOp::Update,
                    serde_json::to_value(current).ok(),
                    serde_json::to_value(&row).ok(),
                    true,
                );
                count(outcome, planned.counted, true);
            }
            None => {
                if how.journal_creates {
                    journal.record(
                        how.entity,
                        *id,
                        ChangeOp::Create,
                        None,
                        serde_json::to_value(&planned.row).ok(),
                        true,
                    );
                }
                inserts.push(planned.row.clone().into_active_model());
                count(outcome, planned.counted, true);
            }
        }
    }
    insert_rows(txn, inserts, how.columns).await
}

async fn write_units(
    txn: &DatabaseTransaction,
    plan: &Plan,
    units: &[Unit],
    actor: &Actor,
) -> Result<Outcome, DbErr> {
    let mut outcome = Outcome::default();
    let mut journal = Journal {
        actor,
        changes: Vec::new(),
        audits: Vec::new(),
    };
    let pick = |f: fn(&Unit) -> Option<Uuid>| -> Vec<Uuid> { units.iter().filter_map(f).collect() };

    // Organisations.
    let ids = pick(|u| match u {
        Unit::Organization(id) => Some(*id),
        _ => None,
    });
    upsert_stamped::<organization::Entity>(
        txn,
        &ids,
        &plan.organizations,
        Stamped {
            entity: "organization",
            id_column: organization::Column::Id,
            columns: 11,
            journal_creates: true,
        },
        &mut journal,
        &mut outcome,
    )
    .await?;

    // Taxonomies.
    let ids = pick(|u| match u {
        Unit::Taxonomy(id) => Some(*id),
        _ => None,
    });
    if !ids.is_empty() {
        let existing: HashMap<Uuid, taxonomy::Model> =
            find_by_ids::<taxonomy::Entity, _>(txn, taxonomy::Column::Id, &ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
        let mut inserts = Vec::new();
        for id in &ids {
            let Some(planned) = plan.taxonomies.get(id) else {
                continue;
            };
            match existing.get(id) {
                Some(current) if *current == planned.row => {
                    count(&mut outcome, planned.counted, false);
                }
                Some(_) => {
                    planned
                        .row
                        .clone()
                        .into_active_model()
                        .reset_all()
                        .update(txn)
                        .await?;
                    count(&mut outcome, planned.counted, true);
                }
                None => {
                    inserts.push(planned.row.clone().into_active_model());
                    count(&mut outcome, planned.counted, true);
                }
            }
        }
        insert_rows(txn, inserts, 5).await?;
    }

    // Taxonomy terms, in the order given (parents first); inserted one by one so that a
    // parent in the same chunk exists before its children.
    let ids = pick(|u| match u {
        Unit::Term(id) => Some(*id),
        _ => None,
    });
    if !ids.is_empty() {
        let existing: HashMap<Uuid, taxonomy_term::Model> =
            find_by_ids::<taxonomy_term::Entity, _>(txn, taxonomy_term::Column::Id, &ids)
                .await?
                .into_iter()
                .map(|t| (t.id, t))
                .collect();
        let mut inserts = Vec::new();
        for id in &ids {
            let Some(planned) = plan.terms.get(id) else {
                continue;
            };
            match existing.get(id) {
                Some(current)
                    if taxonomy_term::Model {
                        position: current.position,
                        ..planned.row.clone()
                    } == *current =>
                {
                    count(&mut outcome, planned.counted, false);
                }
                Some(current) => {
                    let row = taxonomy_term::Model {
                        position: current.position,
                        ..planned.row.clone()
                    };
                    row.clone()
                        .into_active_model()
                        .reset_all()
                        .update(txn)
                        .await?;
                    journal.record(
                        "taxonomy_term",
                        *id,
                        ChangeOp::Update,
                        serde_json::to_value(current).ok(),
                        serde_json::to_value(&row).ok(),
                        true,
                    );
                    count(&mut outcome, planned.counted, true);
                }
                None => {
                    inserts.push(planned.row.clone().into_active_model());
                    count(&mut outcome, planned.counted, true);
                }
            }
        }
        // Parents come first in `inserts`; a batch boundary never splits them wrongly because
        // batches run in order.
        insert_rows(txn, inserts, 7).await?;
    }

    // Locations.
    let ids = pick(|u| match u {
        Unit::Location(id) => Some(*id),
        _ => None,
    });
    upsert_stamped::<location::Entity>(
        txn,
        &ids,
        &plan.locations,
        Stamped {
            entity: "location",
            id_column: location::Column::Id,
            columns: 13,
            journal_creates: false,
        },
        &mut journal,
        &mut outcome,
    )
    .await?;

    // Services.
    let indexes: Vec<usize> = units
        .iter()
        .filter_map(|u| match u {
            Unit::Service(i) => Some(*i),
            _ => None,
        })
        .collect();
    if !indexes.is_empty() {
        write_services(txn, plan, &indexes, &mut journal, &mut outcome).await?;
        write_events(txn, plan, &indexes, &mut journal).await?;
    }

    if !journal.changes.is_empty() {
        insert_rows(txn, std::mem::take(&mut journal.changes), 4).await?;
        outcome.last_seq = feed::head(txn).await?;
    }
    insert_rows(txn, std::mem::take(&mut journal.audits), 9).await?;
    Ok(outcome)
}

/// A service's current children.
#[derive(Default, PartialEq)]
struct Children {
    sals: Vec<service_at_location::Model>,
    contacts: Vec<contact::Model>,
    phones: Vec<phone::Model>,
    schedules: Vec<schedule::Model>,
    areas: Vec<service_area::Model>,
    attributes: Vec<attribute::Model>,
}

async fn write_services(
    txn: &DatabaseTransaction,
    plan: &Plan,
    indexes: &[usize],
    journal: &mut Journal<'_>,
    outcome: &mut Outcome,
) -> Result<(), DbErr> {
    let plans: Vec<&ServicePlan> = indexes
        .iter()
        .filter_map(|i| plan.services.get(*i))
        .collect();
    let ids: Vec<Uuid> = plans.iter().map(|p| p.row.id).collect();
    let existing: HashMap<Uuid, service::Model> =
        find_by_ids::<service::Entity, _>(txn, service::Column::Id, &ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    let known: Vec<Uuid> = existing.keys().copied().collect();
    let private = private_children(&plans);
    let named = |service_id: Uuid, id: Uuid| {
        private
            .get(&service_id)
            .is_some_and(|ids| ids.contains(&id))
    };
    let mut children: HashMap<Uuid, Children> = HashMap::new();
    for row in find_by_ids::<service_at_location::Entity, _>(
        txn,
        service_at_location::Column::ServiceId,
        &known,
    )
    .await?
    {
        children.entry(row.service_id).or_default().sals.push(row);
    }
    for row in find_by_ids::<contact::Entity, _>(txn, contact::Column::ServiceId, &known).await? {
        if row.visibility == Visibility::Public || named(row.service_id, row.id) {
            children
                .entry(row.service_id)
                .or_default()
                .contacts
                .push(row);
        }
    }
    for row in find_by_ids::<phone::Entity, _>(txn, phone::Column::ServiceId, &known).await? {
        if row.visibility == Visibility::Public || named(row.service_id, row.id) {
            children.entry(row.service_id).or_default().phones.push(row);
        }
    }
    for row in find_by_ids::<schedule::Entity, _>(txn, schedule::Column::ServiceId, &known).await? {
        children
            .entry(row.service_id)
            .or_default()
            .schedules
            .push(row);
    }
    for row in
        find_by_ids::<service_area::Entity, _>(txn, service_area::Column::ServiceId, &known).await?
    {
        children.entry(row.service_id).or_default().areas.push(row);
    }
    for row in find_by_ids::<attribute::Entity, _>(txn, attribute::Column::LinkId, &known).await? {
        if row.link_entity == attribute::LINK_ENTITY_SERVICE {
            children
                .entry(row.link_id)
                .or_default()
                .attributes
                .push(row);
        }
    }
    for c in children.values_mut() {
        c.sals.sort_by_key(|r| (r.position, r.id));
        c.contacts.sort_by_key(|r| (r.position, r.id));
        c.phones.sort_by_key(|r| (r.position, r.id));
        c.schedules.sort_by_key(|r| (r.position, r.id));
        c.areas.sort_by_key(|r| (r.position, r.id));
        c.attributes.sort_by_key(|r| (r.position, r.id));
    }

    let mut new_services = Vec::new();
    let mut replaced: Vec<Uuid> = Vec::new();
    let mut new_children = Children::default();
    for p in plans {
        let id = p.row.id;
        let desired = Children {
            sals: p.sals.clone(),
            contacts: p.contacts.clone(),
            phones: p.phones.clone(),
            schedules: p.schedules.clone(),
            areas: p.areas.clone(),
            attributes: p.attributes.clone(),
        };
        let (op, before) = match existing.get(&id) {
            Some(current) => {
                // Signpost-only fields the feed does not give keep their current values.
                let mut row = service::Model {
                    version: current.version,
                    created_at: current.created_at,
                    updated_at: current.updated_at,
                    level_of_need: p.level_of_need.unwrap_or(current.level_of_need),
                    self_referral: p.self_referral.unwrap_or(current.self_referral),
                    professional_referral: p
                        .professional_referral
                        .unwrap_or(current.professional_referral),
                    from_pregnancy: p.from_pregnancy.unwrap_or(current.from_pregnancy),
                    audiences: p
                        .audiences
                        .clone()
                        .unwrap_or_else(|| current.audiences.clone()),
                    delivery_modes: p
                        .delivery_modes
                        .clone()
                        .unwrap_or_else(|| current.delivery_modes.clone()),
                    funding_ends_on: p.funding_ends_on.or(current.funding_ends_on),
                    ..p.row.clone()
                };
                let stamp_same = p
                    .last_modified
                    .is_none_or(|t| t.timestamp() == current.updated_at.timestamp());
                let kids = children.remove(&id).unwrap_or_default();
                if row == *current && stamp_same && kids == desired {
                    outcome.unchanged += 1;
                    continue;
                }
                row.version = current.version + 1;
                row.updated_at = p.last_modified.unwrap_or_else(Utc::now);
                row.into_active_model().reset_all().update(txn).await?;
                outcome.imported += 1;
                journal.record(
                    "service",
                    id,
                    ChangeOp::Update,
                    serde_json::to_value(current).ok(),
                    Some(p.source.clone()),
                    true,
                );
                if kids == desired {
                    continue;
                }
                replaced.push(id);
                continue_with_children(&mut new_children, desired);
                continue;
            }
            None => {
                new_services.push(p.row.clone().into_active_model());
                (ChangeOp::Create, None)
            }
        };
        outcome.imported += 1;
        journal.record("service", id, op, before, Some(p.source.clone()), true);
        continue_with_children(&mut new_children, desired);
    }

    if !replaced.is_empty() {
        for chunk in replaced.chunks(5_000) {
            let ids = chunk.to_vec();
            service_at_location::Entity::delete_many()
                .filter(service_at_location::Column::ServiceId.is_in(ids.clone()))
                .exec(txn)
                .await?;
            let named: Vec<Uuid> = chunk
                .iter()
                .filter_map(|id| private.get(id))
                .flatten()
                .copied()
                .collect();
            contact::Entity::delete_many()
                .filter(contact::Column::ServiceId.is_in(ids.clone()))
                .filter(
                    Condition::any()
                        .add(contact::Column::Visibility.eq(Visibility::Public))
                        .add(contact::Column::Id.is_in(named.clone())),
                )
                .exec(txn)
                .await?;
            phone::Entity::delete_many()
                .filter(phone::Column::ServiceId.is_in(ids.clone()))
                .filter(
                    Condition::any()
                        .add(phone::Column::Visibility.eq(Visibility::Public))
                        .add(phone::Column::Id.is_in(named)),
                )
                .exec(txn)
                .await?;
            schedule::Entity::delete_many()
                .filter(schedule::Column::ServiceId.is_in(ids.clone()))
                .exec(txn)
                .await?;
            service_area::Entity::delete_many()
                .filter(service_area::Column::ServiceId.is_in(ids.clone()))
                .exec(txn)
                .await?;
            attribute::Entity::delete_many()
                .filter(attribute::Column::LinkId.is_in(ids))
                .filter(attribute::Column::LinkEntity.eq(attribute::LINK_ENTITY_SERVICE))
                .exec(txn)
                .await?;
        }
    }
    insert_rows(txn, new_services, 29).await?;
    let Children {
        sals,
        contacts,
        phones,
        schedules,
        areas,
        attributes,
    } = new_children;
    insert_rows(
        txn,
        sals.into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
        4,
    )
    .await?;
    insert_rows(
        txn,
        contacts
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
        8,
    )
    .await?;
    insert_rows(
        txn,
        phones
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
        6,
    )
    .await?;
    insert_rows(
        txn,
        schedules
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
        7,
    )
    .await?;
    insert_rows(
        txn,
        areas
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
        9,
    )
    .await?;
    insert_rows(
        txn,
        attributes
            .into_iter()
            .map(IntoActiveModel::into_active_model)
            .collect(),
        7,
    )
    .await?;
    Ok(())
}

/// The ids of the contacts and phone lines the feed gives as not public, by service: these are
/// the feed's to replace like public ones, while other non-public rows are the directory's own.
fn private_children(plans: &[&ServicePlan]) -> HashMap<Uuid, Vec<Uuid>> {
    plans
        .iter()
        .map(|p| {
            let contacts = p.contacts.iter().map(|c| (c.id, c.visibility));
            let phones = p.phones.iter().map(|l| (l.id, l.visibility));
            let ids = contacts
                .chain(phones)
                .filter(|(_, visibility)| *visibility != Visibility::Public)
                .map(|(id, _)| id)
                .collect::<Vec<_>>();
            (p.row.id, ids)
        })
        .filter(|(_, ids)| !ids.is_empty())
        .collect()
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

// ---------------------------------------------------------------------------------------------
// Events: Signpost's dated sessions and pop-ups of a service (an information-bus stop, say),
// which HSDS has no object for. A service lists them under the extension key `events`.

/// The `events` extension of the service `service_id` at `path`: objects with `id`, `title`,
/// `starts_at` and `ends_at` (RFC 3339 date and time with an offset), and optionally
/// `description`, `place_name`, `address`, `postcode`, `latitude` and `longitude`.
fn read_events(
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

/// Writes the events of the services at `indexes`, upserting by id: a new event is created and
/// a changed one updated, each with an audit and a change row; events the feed does not list
/// are left as they are.
async fn write_events(
    txn: &DatabaseTransaction,
    plan: &Plan,
    indexes: &[usize],
    journal: &mut Journal<'_>,
) -> Result<(), DbErr> {
    let planned: Vec<&event::Model> = indexes
        .iter()
        .filter_map(|i| plan.services.get(*i))
        .flat_map(|p| &p.events)
        .collect();
    if planned.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = planned.iter().map(|e| e.id).collect();
    let existing: HashMap<Uuid, event::Model> =
        find_by_ids::<event::Entity, _>(txn, event::Column::Id, &ids)
            .await?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
    let mut inserts = Vec::new();
    for row in planned {
        match existing.get(&row.id) {
            Some(current) => {
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
                    true,
                );
            }
            None => {
                journal.record(
                    "event",
                    row.id,
                    ChangeOp::Create,
                    None,
                    serde_json::to_value(row).ok(),
                    true,
                );
                inserts.push(row.clone().into_active_model());
            }
        }
    }
    insert_rows(txn, inserts, 13).await
}

fn continue_with_children(all: &mut Children, desired: Children) {
    all.sals.extend(desired.sals);
    all.contacts.extend(desired.contacts);
    all.phones.extend(desired.phones);
    all.schedules.extend(desired.schedules);
    all.areas.extend(desired.areas);
    all.attributes.extend(desired.attributes);
}

/// A one-line summary of a report, for the command line.
pub fn summary(report: &ImportReport) -> String {
    let mut out = format!(
        "imported {}, unchanged {}, failed {}",
        report.imported,
        report.unchanged,
        report.failed.len()
    );
    for failure in &report.failed {
        out.push_str(&format!(
            "\n  {}: {}",
            if failure.path.is_empty() {
                "/"
            } else {
                &failure.path
            },
            failure.message
        ));
    }
    out
}

/// The JSON of a report (for scripts).
pub fn report_json(report: &ImportReport) -> Value {
    json!({
        "imported": report.imported,
        "unchanged": report.unchanged,
        "failed": report.failed,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::language_code;

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
