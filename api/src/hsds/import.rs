//! The Open Referral import: an HSDS 3 / Open Referral UK document into the directory.
//!
//! The inverse of the export: exporting, importing into an empty database and exporting again
//! gives the same JSON. [`super::decode`] reads the document's records; here they are planned
//! (references resolved against the document and the directory, each service checked as a
//! listing with [`listing::check`]) and handed to the store chunk by chunk: organisations,
//! taxonomies, terms, locations and events to [`crate::store::records`], services to the
//! listing writer, [`listing::write`]. This module decides what goes in which transaction and
//! what the report says; it runs no query of its own.
//!
//! Records are upserted by their UUIDs; a record whose rows already hold what the feed says is
//! left alone (no new version, audit or change row). A record that cannot be imported is
//! reported with its JSON path while the rest go in, one transaction per chunk; in strict mode
//! the whole document is one transaction and nothing is written when any record fails.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::Utc;
use entity::{
    ChangeOp, ValueSource, Visibility, eligibility_field, event, location, organization, service,
    taxonomy, taxonomy_term,
};
use sea_orm::DatabaseConnection;
use search::eligibility::Rules;
use serde_json::{Map, Value, json};
use uuid::Uuid;

pub use super::decode::ImportError;
use super::decode::{self, DecodedService, Found};
/// Who imports, for the audit log.
pub use crate::store::audit::Actor;
use crate::store::{
    self,
    listing::{self, After, ListingRows, ListingWrite, Parts, ServiceRecord, Source},
    records::{self, FeedTransaction, Kind, Records},
};

/// The largest document the command line accepts, in bytes.
pub const CLI_MAX_BYTES: usize = 50 * 1024 * 1024;
/// Records written per transaction outside strict mode.
const CHUNK: usize = 500;

/// What an import did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct ImportReport {
    /// Records created or changed.
    pub imported: usize,
    /// Records that already held what the feed says.
    pub unchanged: usize,
    /// Records that could not be imported.
    pub failed: Vec<ImportError>,
    /// What was imported but not read in full, such as a catchment kept as text, with the
    /// path of the field.
    pub warnings: Vec<ImportError>,
    /// The last change-feed position written (0 when nothing was written).
    pub last_seq: i64,
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
    Database(#[from] store::Error),
}

impl From<decode::ShapeError> for DocumentError {
    fn from(err: decode::ShapeError) -> Self {
        Self::Shape(err.0)
    }
}

/// Imports a document given as bytes, refusing it when it is bigger than `max_bytes`.
pub async fn import_bytes(
    db: &DatabaseConnection,
    actor: &Actor,
    bytes: &[u8],
    strict: bool,
    max_bytes: usize,
) -> Result<ImportReport, DocumentError> {
    import_bytes_with_rules(db, actor, bytes, strict, max_bytes, Rules::built_in()).await
}

/// Imports a document given as bytes, as [`import_bytes`] does, reading eligibility from the
/// listings' words with `rules`.
pub async fn import_bytes_with_rules(
    db: &DatabaseConnection,
    actor: &Actor,
    bytes: &[u8],
    strict: bool,
    max_bytes: usize,
    rules: &Rules,
) -> Result<ImportReport, DocumentError> {
    if bytes.len() > max_bytes {
        return Err(DocumentError::TooLarge {
            size: bytes.len(),
            limit: max_bytes,
        });
    }
    let document: Value =
        serde_json::from_slice(bytes).map_err(|err| DocumentError::NotJson(err.to_string()))?;
    import_document_with_rules(db, actor, &document, strict, rules).await
}

/// Imports a parsed document, reading eligibility with the built-in rules.
pub async fn import_document(
    db: &DatabaseConnection,
    actor: &Actor,
    document: &Value,
    strict: bool,
) -> Result<ImportReport, DocumentError> {
    import_document_with_rules(db, actor, document, strict, Rules::built_in()).await
}

/// Imports a parsed document, reading eligibility from the listings' words with `rules`.
pub async fn import_document_with_rules(
    db: &DatabaseConnection,
    actor: &Actor,
    document: &Value,
    strict: bool,
    rules: &Rules,
) -> Result<ImportReport, DocumentError> {
    let mut failed = Vec::new();
    let plan = Plan::of(db, document, rules, &mut failed).await?;
    let warnings = plan
        .services
        .iter()
        .flat_map(|service| service.warnings.iter().cloned())
        .collect();
    let mut report = ImportReport {
        failed,
        warnings,
        ..ImportReport::default()
    };
    let units = plan.units();
    if strict {
        if report.failed.is_empty() {
            write_whole(db, actor, &plan, &units, &mut report).await?;
        }
    } else {
        write_chunks(db, actor, &plan, &units, &mut report).await?;
    }
    Ok(report)
}

/// A one-line summary of a report, for the command line.
pub fn summary(report: &ImportReport) -> String {
    let mut out = format!(
        "imported {}, unchanged {}, failed {}",
        report.imported,
        report.unchanged,
        report.failed.len()
    );
    let at = |path: &str| if path.is_empty() { "/" } else { path }.to_owned();
    for failure in &report.failed {
        out.push_str(&format!("\n  {}: {}", at(&failure.path), failure.message));
    }
    if !report.warnings.is_empty() {
        out.push_str(&format!("\nwarnings {}", report.warnings.len()));
        for warning in &report.warnings {
            out.push_str(&format!("\n  {}: {}", at(&warning.path), warning.message));
        }
    }
    out
}

/// The JSON of a report (for scripts).
pub fn report_json(report: &ImportReport) -> Value {
    json!({
        "imported": report.imported,
        "unchanged": report.unchanged,
        "failed": report.failed,
        "warnings": report.warnings,
    })
}

// ---------------------------------------------------------------------------------------------
// The plan: every record of the document as the rows it becomes.

#[derive(Clone, Debug)]
struct Planned<T> {
    path: String,
    /// Counted in the report (a top-level record, not one nested in a service).
    counted: bool,
    row: T,
}

/// Adds a record to `records` unless its id is there already (the first one read stays; a
/// top-level record is counted however often it is nested too).
fn note<T>(
    records: &mut BTreeMap<Uuid, Planned<T>>,
    id: Uuid,
    path: String,
    counted: bool,
    row: T,
) {
    records
        .entry(id)
        .and_modify(|p| p.counted |= counted)
        .or_insert(Planned { path, counted, row });
}

#[derive(Default)]
struct Plan {
    organizations: BTreeMap<Uuid, Planned<organization::Model>>,
    taxonomies: BTreeMap<Uuid, Planned<taxonomy::Model>>,
    terms: BTreeMap<Uuid, Planned<taxonomy_term::Model>>,
    locations: BTreeMap<Uuid, Planned<location::Model>>,
    services: Vec<DecodedService>,
    service_ids: HashSet<Uuid>,
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

impl Unit {
    /// The id of this unit when it is a record of `kind`.
    fn id_of(self, kind: Kind) -> Option<Uuid> {
        match (self, kind) {
            (Unit::Organization(id), Kind::Organization)
            | (Unit::Taxonomy(id), Kind::Taxonomy)
            | (Unit::Term(id), Kind::Term)
            | (Unit::Location(id), Kind::Location) => Some(id),
            _ => None,
        }
    }
}

/// Records `result`'s error, if any, among `failed`.
fn collect<T>(result: Result<T, ImportError>, failed: &mut Vec<ImportError>) {
    if let Err(err) = result {
        failed.push(err);
    }
}

impl Plan {
    /// Reads every record of `document`, resolves references and leaves out (reporting them
    /// in `failed`) the records that cannot be imported.
    async fn of(
        db: &DatabaseConnection,
        document: &Value,
        rules: &Rules,
        failed: &mut Vec<ImportError>,
    ) -> Result<Self, DocumentError> {
        let shaped = decode::shape(document)?;
        let mut plan = Self::default();
        for (path, value) in &shaped.organizations {
            collect(plan.add_organization(value, path), failed);
        }
        for (path, value) in &shaped.taxonomies {
            collect(plan.add_taxonomy(value, path), failed);
        }
        for (index, (path, value)) in shaped.terms.iter().enumerate() {
            // A vocabulary given as its own list keeps the list's order.
            collect(plan.add_term(value, path, Some(index)), failed);
        }
        for (path, value) in &shaped.locations {
            collect(plan.add_location(value, path), failed);
        }
        let top_locations: HashMap<Uuid, &Value> = shaped
            .locations
            .iter()
            .filter_map(|(_, v)| Some((decode::parse_uuid(v.get("id")?)?, v)))
            .collect();
        for (path, value) in &shaped.services {
            collect(plan.add_service(value, path, &top_locations, rules), failed);
        }
        plan.resolve_references(db, failed).await?;
        Ok(plan)
    }

    fn path_of(&self, unit: &Unit) -> &str {
        match unit {
            Unit::Organization(id) => self.organizations.get(id).map_or("", |p| &p.path),
            Unit::Taxonomy(id) => self.taxonomies.get(id).map_or("", |p| &p.path),
            Unit::Term(id) => self.terms.get(id).map_or("", |p| &p.path),
            Unit::Location(id) => self.locations.get(id).map_or("", |p| &p.path),
            Unit::Service(i) => self.services.get(*i).map_or("", |p| &p.path),
        }
    }

    fn add_organization(&mut self, value: &Value, path: &str) -> Result<(), ImportError> {
        let row = decode::organization(value, path)?;
        note(&mut self.organizations, row.id, path.to_owned(), true, row);
        Ok(())
    }

    fn add_taxonomy(&mut self, value: &Value, path: &str) -> Result<(), ImportError> {
        let row = decode::taxonomy(value, path)?;
        note(&mut self.taxonomies, row.id, path.to_owned(), true, row);
        Ok(())
    }

    fn add_term(
        &mut self,
        value: &Value,
        path: &str,
        index: Option<usize>,
    ) -> Result<(), ImportError> {
        let mut found = Found::default();
        let row = decode::term(value, path, &mut found);
        self.add_found(found);
        let mut row = row?;
        if let Some(index) = index {
            row.position = i32::try_from(index).unwrap_or(i32::MAX);
        }
        note(&mut self.terms, row.id, path.to_owned(), true, row);
        Ok(())
    }

    fn add_location(&mut self, value: &Value, path: &str) -> Result<(), ImportError> {
        let row = decode::location(value, path, None)?;
        note(&mut self.locations, row.id, path.to_owned(), true, row);
        Ok(())
    }

    /// Adds records found inside others (not counted in the report).
    fn add_found(&mut self, found: Found) {
        for (path, row) in found.organizations {
            note(&mut self.organizations, row.id, path, false, row);
        }
        for (path, row) in found.taxonomies {
            note(&mut self.taxonomies, row.id, path, false, row);
        }
        for (path, row) in found.terms {
            note(&mut self.terms, row.id, path, false, row);
        }
        for (path, row) in found.locations {
            note(&mut self.locations, row.id, path, false, row);
        }
    }

    /// Adds a service, read and checked as a listing; the records nested in it are added
    /// even when it cannot be.
    fn add_service(
        &mut self,
        value: &Value,
        path: &str,
        top_locations: &HashMap<Uuid, &Value>,
        rules: &Rules,
    ) -> Result<(), ImportError> {
        let id = decode::record_id(value, path)?;
        if !self.service_ids.insert(id) {
            return Err(ImportError {
                path: format!("{path}/id"),
                message: "this service appears earlier in the document".into(),
            });
        }
        let mut found = Found::default();
        let decoded = decode::service(value, path, top_locations, rules, &mut found);
        self.add_found(found);
        let decoded = decoded?;
        listing::check(&decoded.rows, Source::Feed, &|field| decoded.path_of(field))?;
        self.services.push(decoded);
        Ok(())
    }

    /// Checks references to records outside the document against the database; drops what
    /// cannot be satisfied, reporting the records concerned.
    async fn resolve_references(
        &mut self,
        db: &DatabaseConnection,
        failed: &mut Vec<ImportError>,
    ) -> store::Result<()> {
        let known = Known::look_up(db, self).await?;
        self.keep_unknown_owners(&known);
        self.resolve_terms(&known, failed);
        self.keep_resolved_services(&known, failed);
        Ok(())
    }

    /// Locations whose organisation is neither in the document nor the directory keep the
    /// place and wait for the owner: its id goes into `extra`.
    fn keep_unknown_owners(&mut self, known: &Known) {
        for loc in self.locations.values_mut() {
            let Some(org) = loc.row.organization_id else {
                continue;
            };
            if self.organizations.contains_key(&org) || known.organizations.contains(&org) {
                continue;
            }
            loc.row.organization_id = None;
            let mut extra = match loc.row.extra.take() {
                Some(Value::Object(map)) => map,
                _ => Map::new(),
            };
            extra.insert("organization_id".into(), Value::String(org.to_string()));
            loc.row.extra = Some(Value::Object(extra));
        }
    }

    /// Terms naming an unknown taxonomy fail; a parent named but not given becomes a
    /// placeholder that keeps the hierarchy until a feed describes it.
    fn resolve_terms(&mut self, known: &Known, failed: &mut Vec<ImportError>) {
        let has_taxonomy =
            |id: &Uuid| self.taxonomies.contains_key(id) || known.taxonomies.contains(id);
        let mut bad_terms = HashSet::new();
        let mut stubs = Vec::new();
        for term in self.terms.values() {
            if let Some(parent) = term.row.parent_id
                && !self.terms.contains_key(&parent)
                && !known.terms.contains(&parent)
            {
                stubs.push(taxonomy_term::Model {
                    id: parent,
                    taxonomy_id: term.row.taxonomy_id.filter(has_taxonomy),
                    code: None,
                    name: "(unnamed parent term)".to_owned(),
                    description: None,
                    parent_id: None,
                    position: 0,
                });
            }
            if let Some(tax) = term.row.taxonomy_id
                && !has_taxonomy(&tax)
            {
                failed.push(ImportError {
                    path: format!("{}/taxonomy_id", term.path),
                    message: "no taxonomy with this id in the document or the directory".into(),
                });
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
    }

    /// Services whose organisation, terms and places are in the document or the directory
    /// stay; the others fail, naming the first reference that is not.
    fn keep_resolved_services(&mut self, known: &Known, failed: &mut Vec<ImportError>) {
        let services = std::mem::take(&mut self.services);
        for service in services {
            match self.unresolved(&service, known) {
                Some(problem) => failed.push(problem),
                None => self.services.push(service),
            }
        }
    }

    fn unresolved(&self, service: &DecodedService, known: &Known) -> Option<ImportError> {
        let rows = &service.rows;
        let missing = |path: Option<&String>, what: &str| ImportError {
            path: path.cloned().unwrap_or_default(),
            message: format!("no {what} with this id in the document or the directory"),
        };
        let org = rows.service.organization_id;
        if !self.organizations.contains_key(&org) && !known.organizations.contains(&org) {
            return Some(missing(Some(&service.paths.organization), "organization"));
        }
        if let Some(i) = rows.attributes.iter().position(|a| {
            !self.terms.contains_key(&a.taxonomy_term_id)
                && !known.terms.contains(&a.taxonomy_term_id)
        }) {
            return Some(missing(service.paths.attributes.get(i), "taxonomy term"));
        }
        if let Some(i) = rows.links.iter().position(|l| {
            !self.locations.contains_key(&l.location_id)
                && !known.locations.contains(&l.location_id)
        }) {
            return Some(missing(service.paths.locations.get(i), "location"));
        }
        None
    }

    /// Every record in the order they can be written.
    fn units(&self) -> Vec<Unit> {
        let mut units: Vec<Unit> = self
            .organizations
            .keys()
            .map(|id| Unit::Organization(*id))
            .collect();
        units.extend(self.taxonomies.keys().map(|id| Unit::Taxonomy(*id)));
        units.extend(self.terms_parents_first().into_iter().map(Unit::Term));
        units.extend(self.locations.keys().map(|id| Unit::Location(*id)));
        units.extend((0..self.services.len()).map(Unit::Service));
        units
    }

    /// The terms' ids, each parent before its children.
    fn terms_parents_first(&self) -> Vec<Uuid> {
        let mut ordered = Vec::with_capacity(self.terms.len());
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
                    ordered.push(*id);
                }
                !ready
            });
            if remaining.len() == before {
                // A cycle: write the rest anyway; the database reports the loop.
                ordered.append(&mut remaining);
            }
        }
        ordered
    }
}

/// Ids the document refers to but does not give, found in the directory.
struct Known {
    organizations: HashSet<Uuid>,
    terms: HashSet<Uuid>,
    taxonomies: HashSet<Uuid>,
    locations: HashSet<Uuid>,
}

impl Known {
    async fn look_up(db: &DatabaseConnection, plan: &Plan) -> store::Result<Self> {
        let wanted = Wanted::of(plan);
        Ok(Self {
            organizations: records::stored(db, Kind::Organization, &wanted.organizations).await?,
            terms: records::stored(db, Kind::Term, &wanted.terms).await?,
            taxonomies: records::stored(db, Kind::Taxonomy, &wanted.taxonomies).await?,
            locations: records::stored(db, Kind::Location, &wanted.locations).await?,
        })
    }
}

/// Ids the document refers to but does not give.
struct Wanted {
    organizations: Vec<Uuid>,
    terms: Vec<Uuid>,
    taxonomies: Vec<Uuid>,
    locations: Vec<Uuid>,
}

impl Wanted {
    fn of(plan: &Plan) -> Self {
        fn distinct(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
            ids.collect::<HashSet<_>>().into_iter().collect()
        }
        Self {
            organizations: distinct(
                plan.services
                    .iter()
                    .map(|s| s.rows.service.organization_id)
                    .chain(
                        plan.locations
                            .values()
                            .filter_map(|l| l.row.organization_id),
                    )
                    .filter(|id| !plan.organizations.contains_key(id)),
            ),
            terms: distinct(
                plan.services
                    .iter()
                    .flat_map(|s| s.rows.attributes.iter().map(|a| a.taxonomy_term_id))
                    .chain(plan.terms.values().filter_map(|t| t.row.parent_id))
                    .filter(|id| !plan.terms.contains_key(id)),
            ),
            taxonomies: distinct(
                plan.terms
                    .values()
                    .filter_map(|t| t.row.taxonomy_id)
                    .filter(|id| !plan.taxonomies.contains_key(id)),
            ),
            locations: distinct(
                plan.services
                    .iter()
                    .flat_map(|s| s.rows.links.iter().map(|l| l.location_id))
                    .filter(|id| !plan.locations.contains_key(id)),
            ),
        }
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

    /// Counts a record in the report, when it is a top-level one.
    fn count(&mut self, counted: bool, changed: bool) {
        match (counted, changed) {
            (false, _) => {}
            (true, true) => self.imported += 1,
            (true, false) => self.unchanged += 1,
        }
    }

    /// Counts the records of one kind, each with whether the store wrote it.
    fn count_each<T>(&mut self, planned: &[&Planned<T>], written: &[bool]) {
        for (planned, written) in planned.iter().zip(written) {
            self.count(planned.counted, *written);
        }
    }
}

/// Why writing failed, in words: the database's own message for a database error.
fn cause(err: &store::Error) -> String {
    match err {
        store::Error::Unavailable(cause) | store::Error::Database(cause) => cause.to_string(),
        store::Error::Internal(cause) => cause.to_string(),
        other => other.to_string(),
    }
}

/// Strict mode: the whole document in one transaction, or nothing.
async fn write_whole(
    db: &DatabaseConnection,
    actor: &Actor,
    plan: &Plan,
    units: &[Unit],
    report: &mut ImportReport,
) -> store::Result<()> {
    match write_transaction(db, actor, plan, units).await? {
        Ok(outcome) => outcome.add_to(report),
        Err(err) => report.failed.push(ImportError {
            path: String::new(),
            message: format!("nothing was imported: {}", cause(&err)),
        }),
    }
    Ok(())
}

/// A transaction per chunk; a chunk that fails is written again record by record, so that
/// only the records at fault are left out.
async fn write_chunks(
    db: &DatabaseConnection,
    actor: &Actor,
    plan: &Plan,
    units: &[Unit],
    report: &mut ImportReport,
) -> store::Result<()> {
    for chunk in units.chunks(CHUNK) {
        if let Ok(outcome) = write_transaction(db, actor, plan, chunk).await? {
            outcome.add_to(report);
            continue;
        }
        for unit in chunk {
            match write_transaction(db, actor, plan, std::slice::from_ref(unit)).await? {
                Ok(outcome) => outcome.add_to(report),
                Err(err) => report.failed.push(ImportError {
                    path: plan.path_of(unit).to_owned(),
                    message: format!("cannot be written: {}", cause(&err)),
                }),
            }
        }
    }
    Ok(())
}

/// Writes `units` in a transaction of their own: committed when they all go in, rolled back
/// (returning why) otherwise.
async fn write_transaction(
    db: &DatabaseConnection,
    actor: &Actor,
    plan: &Plan,
    units: &[Unit],
) -> store::Result<store::Result<Outcome>> {
    let txn = FeedTransaction::begin(db, actor).await?;
    let written = write_units(&txn, plan, units).await;
    txn.finish(written).await
}

/// The planned records of one kind among `units`, in their order.
fn planned<'p, T>(
    units: &[Unit],
    kind: Kind,
    of_kind: &'p BTreeMap<Uuid, Planned<T>>,
) -> Vec<&'p Planned<T>> {
    units
        .iter()
        .filter_map(|unit| unit.id_of(kind))
        .filter_map(|id| of_kind.get(&id))
        .collect()
}

/// The rows of `planned`, for the store.
fn rows<'p, T>(planned: &[&'p Planned<T>]) -> Vec<&'p T> {
    planned.iter().map(|p| &p.row).collect()
}

/// Writes a chunk: the organisations, taxonomies, terms and places among `units` first, then
/// the services and their events.
async fn write_units(
    txn: &FeedTransaction<'_>,
    plan: &Plan,
    units: &[Unit],
) -> store::Result<Outcome> {
    let mut outcome = Outcome::default();
    let organizations = planned(units, Kind::Organization, &plan.organizations);
    let taxonomies = planned(units, Kind::Taxonomy, &plan.taxonomies);
    let terms = planned(units, Kind::Term, &plan.terms);
    let locations = planned(units, Kind::Location, &plan.locations);
    let written = txn
        .write_records(&Records {
            organizations: rows(&organizations),
            taxonomies: rows(&taxonomies),
            terms: rows(&terms),
            locations: rows(&locations),
        })
        .await?;
    outcome.count_each(&organizations, &written.organizations);
    outcome.count_each(&taxonomies, &written.taxonomies);
    outcome.count_each(&terms, &written.terms);
    outcome.count_each(&locations, &written.locations);

    let services: Vec<&DecodedService> = units
        .iter()
        .filter_map(|u| match u {
            Unit::Service(i) => plan.services.get(*i),
            _ => None,
        })
        .collect();
    let seq = write_services(txn, &services, &mut outcome).await?;
    // Signpost's `events` extension on the services.
    let events: Vec<&event::Model> = services.iter().flat_map(|s| &s.events).collect();
    let seq = match txn.write_events(&events).await? {
        true => txn.last_seq().await?,
        false => seq,
    };
    outcome.last_seq = match (seq, written.changes) {
        (0, true) => txn.last_seq().await?,
        (seq, _) => seq,
    };
    Ok(outcome)
}

/// What [`write_services`] reads of a stored listing to tell whether a feed changes it.
const STORED_CHILDREN: Parts = Parts {
    organization: false,
    taxonomies: false,
    ..Parts::ALL
};

/// Services, through the listing writer: new ones are created, changed ones replaced (their
/// children only when the feed changes them), unchanged ones left alone. Returns the last
/// feed position written (0 when none was).
async fn write_services(
    txn: &FeedTransaction<'_>,
    services: &[&DecodedService],
    outcome: &mut Outcome,
) -> store::Result<i64> {
    if services.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = services.iter().map(|s| s.id()).collect();
    let stored: HashMap<Uuid, ServiceRecord> = txn
        .stored_listings(&ids, STORED_CHILDREN)
        .await?
        .into_iter()
        .map(|record| (record.id(), record))
        .collect();
    let mut batch = Vec::new();
    for decoded in services {
        let write = match stored.get(&decoded.id()) {
            None => Some(creation(decoded)),
            Some(current) => replacement(decoded, current),
        };
        match write {
            Some(write) => {
                outcome.imported += 1;
                batch.push(write);
            }
            None => outcome.unchanged += 1,
        }
    }
    txn.write_listings(batch).await
}

/// A new listing, as the feed gives it.
fn creation(decoded: &DecodedService) -> ListingWrite {
    ListingWrite {
        rows: decoded.rows.clone(),
        op: ChangeOp::Create,
        children: true,
        action: "service.import",
        before: None,
        after: After::Given(decoded.source.clone()),
    }
}

/// The stored listing `current` as the feed gives it now, or none when the feed changes
/// nothing.
fn replacement(decoded: &DecodedService, current: &ServiceRecord) -> Option<ListingWrite> {
    let stored = &current.service;
    let mut row = with_kept_fields(decoded, stored);
    let same_time = decoded
        .last_modified
        .is_none_or(|t| t.timestamp() == stored.updated_at.timestamp());
    let same_children = same_children(&decoded.rows, current);
    if row == *stored && same_time && same_children {
        return None;
    }
    row.version = stored.version + 1;
    row.updated_at = decoded.last_modified.unwrap_or_else(Utc::now);
    Some(ListingWrite {
        rows: ListingRows {
            service: row,
            ..decoded.rows.clone()
        },
        op: ChangeOp::Update,
        children: !same_children,
        action: "service.import",
        before: serde_json::to_value(stored).ok(),
        after: After::Given(decoded.source.clone()),
    })
}

/// The feed's service row over the stored one: the version and times stay, the Signpost
/// fields the feed does not give keep their stored values, and so does an eligibility value
/// the feed does not give as a field once an editor has given or confirmed it (a value read
/// from the feed's words, or unknown, is read again).
fn with_kept_fields(decoded: &DecodedService, stored: &service::Model) -> service::Model {
    let given = &decoded.given;
    let mut row = service::Model {
        version: stored.version,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        delivery_modes: given
            .delivery_modes
            .clone()
            .unwrap_or_else(|| stored.delivery_modes.clone()),
        funding_ends_on: given.funding_ends_on.or(stored.funding_ends_on),
        ..decoded.rows.service.clone()
    };
    let mut sources = decoded.sources.clone();
    let stored_sources = stored.eligibility_sources.as_ref();
    for field in eligibility_field::ALL {
        if decoded.sources.source(field) == ValueSource::Given {
            continue;
        }
        // Confirmed by an editor: named nowhere in a listing that keeps provenance.
        let confirmed = stored_sources.is_some_and(|s| !s.0.contains_key(field));
        // Before provenance was kept, a Signpost field the feed left out kept its value.
        let extension = !matches!(
            field,
            eligibility_field::MIN_AGE_MONTHS
                | eligibility_field::MAX_AGE_MONTHS
                | eligibility_field::LANGUAGES
        );
        let kept =
            extension && stored_sources.is_none_or(|s| s.source(field) == ValueSource::Given);
        if !(confirmed || kept) {
            continue;
        }
        match stored_sources.and_then(|s| s.0.get(field)) {
            Some(provenance) => {
                sources.0.insert(field.to_owned(), provenance.clone());
            }
            None => {
                sources.0.remove(field);
            }
        }
        match field {
            eligibility_field::FROM_PREGNANCY => row.from_pregnancy = stored.from_pregnancy,
            eligibility_field::MIN_AGE_MONTHS => row.min_age_months = stored.min_age_months,
            eligibility_field::MAX_AGE_MONTHS => row.max_age_months = stored.max_age_months,
            eligibility_field::AUDIENCES => row.audiences = stored.audiences.clone(),
            eligibility_field::LANGUAGES => row.languages = stored.languages.clone(),
            eligibility_field::LEVEL_OF_NEED => row.level_of_need = stored.level_of_need,
            _ => {
                row.self_referral = stored.self_referral;
                row.professional_referral = stored.professional_referral;
            }
        }
    }
    row.eligibility_sources = sources.into_column();
    row
}

/// Whether the stored listing already has the children a feed gives: its public contacts and
/// phone lines, and the others the feed names (see [`Scope::Published`]).
fn same_children(rows: &ListingRows, current: &ServiceRecord) -> bool {
    let named_contacts: HashSet<Uuid> = rows.contacts.iter().map(|c| c.id).collect();
    let named_phones: HashSet<Uuid> = rows.phones.iter().map(|p| p.id).collect();
    let public_contacts = current
        .contacts
        .iter()
        .filter(|c| c.visibility == Visibility::Public || named_contacts.contains(&c.id));
    let public_phones = current
        .phones
        .iter()
        .filter(|p| p.visibility == Visibility::Public || named_phones.contains(&p.id));
    rows.areas == current.areas
        && rows.schedules == current.schedules
        && rows.contacts.iter().eq(public_contacts)
        && rows.phones.iter().eq(public_phones)
        && rows
            .links
            .iter()
            .eq(current.locations.iter().map(|l| &l.link))
        && rows
            .attributes
            .iter()
            .eq(current.terms.iter().map(|t| &t.attribute))
}
