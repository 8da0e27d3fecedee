//! The listing aggregate: a service with everything that belongs to it, loaded in one place.
//!
//! Every reader of a whole listing (the search indexer, the Open Referral export and REST
//! face, the audit snapshot and GraphQL's prefetch) goes through [`load_many`], which costs one
//! statement per relation asked for, whatever the number of services (in chunks of 5,000 ids).

use std::collections::{HashMap, HashSet};

use entity::{
    attribute, contact, location, organization, phone, schedule, service, service_area,
    service_at_location, taxonomy, taxonomy_term,
};
use sea_orm::{ConnectionTrait, DbErr};
use uuid::Uuid;

use super::find_by_ids;

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
    /// Its taxonomy terms, with their taxonomies.
    pub terms: bool,
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
/// rows and then one statement per relation in `parts` (two for places and for terms).
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

/// The listings of service rows already in hand, in their order, with the relations in
/// `parts` (the service rows are not read again).
pub async fn load_with(
    db: &impl ConnectionTrait,
    rows: Vec<service::Model>,
    parts: Parts,
) -> Result<Vec<ServiceRecord>, DbErr> {
    let ids: Vec<Uuid> = unique(rows.iter().map(|row| row.id));
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
        let rows =
            find_by_ids::<service_area::Entity, _>(db, service_area::Column::ServiceId, &ids)
                .await?;
        grouped(rows, |a| a.service_id, |a| (a.position, a.id))
    } else {
        HashMap::new()
    };
    let mut places: HashMap<Uuid, Vec<ServiceLocation>> = HashMap::new();
    if parts.locations {
        let links = find_by_ids::<service_at_location::Entity, _>(
            db,
            service_at_location::Column::ServiceId,
            &ids,
        )
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
        let rows = find_by_ids::<contact::Entity, _>(db, contact::Column::ServiceId, &ids).await?;
        grouped(rows, |c| c.service_id, |c| (c.position, c.id))
    } else {
        HashMap::new()
    };
    let mut phones = if parts.phones {
        let rows = find_by_ids::<phone::Entity, _>(db, phone::Column::ServiceId, &ids).await?;
        grouped(rows, |p| p.service_id, |p| (p.position, p.id))
    } else {
        HashMap::new()
    };
    let mut schedules = if parts.schedules {
        let rows =
            find_by_ids::<schedule::Entity, _>(db, schedule::Column::ServiceId, &ids).await?;
        grouped(rows, |s| s.service_id, |s| (s.position, s.id))
    } else {
        HashMap::new()
    };
    let mut terms: HashMap<Uuid, Vec<ServiceTerm>> = HashMap::new();
    if parts.terms {
        let attributes: Vec<attribute::Model> =
            find_by_ids::<attribute::Entity, _>(db, attribute::Column::LinkId, &ids)
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
        let taxonomies = if taxonomy_ids.is_empty() {
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

// ---------------------------------------------------------------------------------------------
// Checking and writing a listing: the rules every stored listing obeys, and the one writer of
// a service with its children, its audit row and its change-feed row.

pub use writing::{
    After, Field, Invalid, ListingRows, ListingWrite, MAX_FEED_AGE_MONTHS, Scope, Source, begin,
    check, insert_rows, write,
};

/// The checks and the writer (see [`check`] and [`write`]).
mod writing {
    use std::collections::HashSet;

    use entity::{
        Audience, ChangeOp, DeliveryMode, ServiceAreaKind, Visibility, attribute, codes, contact,
        location, phone, schedule, service, service_area, service_at_location,
    };
    use sea_orm::{
        ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
        DbErr, EntityTrait, IntoActiveModel, Iterable, QueryFilter, sea_query::OnConflict,
    };
    use serde_json::Value;
    use uuid::Uuid;

    use crate::{
        feed,
        store::{
            Error, Result,
            audit::{self, Actor},
            find_by_ids,
        },
    };

    /// Bound parameters per multi-row insert (well under SQLite's and PostgreSQL's limits).
    const MAX_PARAMS: usize = 20_000;

    /// The oldest age a feed may give, in months (150 years): feeds list services for every age,
    /// and what they say is kept.
    pub const MAX_FEED_AGE_MONTHS: f64 = 1_800.0;

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

    /// Who gives a listing, which decides how much [`check`] asks of it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Source {
        /// An editor, through the editing API: the directory's own bounds hold as well (infants up
        /// to 60 months, the youngest age not above the oldest, places and catchments within
        /// Great Britain and Northern Ireland, a radius for a RADIUS catchment, opening before
        /// closing, at least one referral route).
        Editor,
        /// A published feed (an HSDS document): what it says is kept wherever a listing can hold
        /// it (ages up to 150 years, catchments and opening times as published).
        Feed,
    }

    /// A field of a listing, as [`check`] names the one at fault; each caller writes it in its own
    /// terms (`input.serviceAreas[2].radiusKm`, `/services/4/service_areas/0/extent`). Indexes
    /// count the rows of [`ListingRows`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Field {
        /// The service's name.
        Name,
        /// The youngest age.
        MinAge,
        /// The oldest age.
        MaxAge,
        /// The referral routes.
        Referral,
        /// A language code.
        Language(usize),
        /// An audience code.
        Audience(usize),
        /// A delivery mode code.
        DeliveryMode(usize),
        /// A catchment as a whole.
        Area(usize),
        /// A catchment's postcode prefix.
        AreaPrefix(usize),
        /// A catchment's centre.
        AreaLatitude(usize),
        /// A catchment's radius.
        AreaRadius(usize),
        /// A place written with the listing.
        Place(usize),
        /// A phone line's number.
        PhoneNumber(usize),
        /// An opening time's weekday.
        Weekday(usize),
        /// An opening time's opening.
        Opens(usize),
        /// An opening time's closing.
        Closes(usize),
    }

    /// A rule a listing breaks: the field at fault, as the caller names it, and what is wrong
    /// (lowercase, without a trailing period).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Invalid {
        /// The field, in the caller's terms.
        pub path: String,
        /// What is wrong.
        pub message: String,
    }

    impl From<Invalid> for Error {
        /// An invalid-input error whose message is `"{path}: {message}"`, like every other input
        /// check.
        fn from(invalid: Invalid) -> Self {
            Error::Invalid(format!("{}: {}", invalid.path, invalid.message))
        }
    }

    fn invalid(path: String, message: impl Into<String>) -> Invalid {
        Invalid {
            path,
            message: message.into(),
        }
    }

    /// Reads a [`crate::validate`] error, whose message starts with the `path` it was given.
    fn from_validate(path: &str) -> impl Fn(Error) -> Invalid + '_ {
        move |err| {
            let text = err.to_string();
            let message = text
                .strip_prefix(path)
                .and_then(|rest| rest.strip_prefix(": "))
                .unwrap_or(&text)
                .to_owned();
            invalid(path.to_owned(), message)
        }
    }

    /// The rules a listing obeys before it is stored, whoever gives it: its name, ages, codes
    /// (languages, audiences, delivery modes, weekdays), catchments consistent with their kind,
    /// phone numbers, and for editors the directory's own bounds (see [`Source`]). `path` names
    /// the field at fault in the caller's terms; the first broken rule is reported.
    pub fn check(
        rows: &ListingRows,
        source: Source,
        path: &dyn Fn(Field) -> String,
    ) -> Result<(), Invalid> {
        let service = &rows.service;
        if service.name.trim().is_empty() {
            return Err(invalid(path(Field::Name), "must not be empty"));
        }
        check_ages(service, source, path)?;
        check_codes(service, path)?;
        for (i, area) in rows.areas.iter().enumerate() {
            check_area(i, area, source, path)?;
        }
        if source == Source::Editor {
            for (i, place) in rows.places.iter().enumerate() {
                check_point(path(Field::Place(i)), place.latitude, place.longitude)?;
            }
        }
        for (i, phone) in rows.phones.iter().enumerate() {
            if phone.number.trim().is_empty() {
                return Err(invalid(path(Field::PhoneNumber(i)), "must not be empty"));
            }
        }
        for (i, opening) in rows.schedules.iter().enumerate() {
            check_opening(i, opening, source, path)?;
        }
        if source == Source::Editor && !service.self_referral && !service.professional_referral {
            return Err(invalid(
                path(Field::Referral),
                "a service takes self-referrals, professional referrals or both",
            ));
        }
        Ok(())
    }

    fn check_ages(
        service: &service::Model,
        source: Source,
        path: &dyn Fn(Field) -> String,
    ) -> Result<(), Invalid> {
        let (min, max) = (service.min_age_months, service.max_age_months);
        match source {
            Source::Editor => {
                let (min_path, max_path) = (path(Field::MinAge), path(Field::MaxAge));
                crate::validate::age_range(&min_path, &max_path, min, max).map_err(|err| {
                    // The message starts with whichever of the two it names.
                    let text = err.to_string();
                    let at = if text.starts_with(&format!("{max_path}: ")) {
                        &max_path
                    } else {
                        &min_path
                    };
                    from_validate(at)(err)
                })
            }
            Source::Feed => {
                for (field, age) in [(Field::MinAge, min), (Field::MaxAge, max)] {
                    if age.is_some_and(|months| !(0.0..=MAX_FEED_AGE_MONTHS).contains(&months)) {
                        return Err(invalid(path(field), "must be an age from 0 to 150 years"));
                    }
                }
                Ok(())
            }
        }
    }

    fn check_codes(
        service: &service::Model,
        path: &dyn Fn(Field) -> String,
    ) -> Result<(), Invalid> {
        for (i, code) in service.languages.0.iter().enumerate() {
            let at = path(Field::Language(i));
            crate::validate::language(&at, code).map_err(from_validate(&at))?;
        }
        for (i, code) in service.audiences.0.iter().enumerate() {
            if Audience::parse(code).is_none() {
                return Err(invalid(
                    path(Field::Audience(i)),
                    format!("unknown audience {code:?}"),
                ));
            }
        }
        for (i, code) in service.delivery_modes.0.iter().enumerate() {
            if DeliveryMode::parse(code).is_none() {
                return Err(invalid(
                    path(Field::DeliveryMode(i)),
                    format!("unknown delivery mode {code:?}"),
                ));
            }
        }
        Ok(())
    }

    /// A catchment holds the fields of its kind and no others: a postcode area or district for
    /// POSTCODE_PREFIX, a centre (and for editors a radius) for RADIUS, nothing for NATIONAL.
    fn check_area(
        i: usize,
        area: &service_area::Model,
        source: Source,
        path: &dyn Fn(Field) -> String,
    ) -> Result<(), Invalid> {
        let has_centre =
            area.latitude.is_some() || area.longitude.is_some() || area.radius_km.is_some();
        match area.kind {
            ServiceAreaKind::National => {
                if area.postcode_prefix.is_some() || has_centre {
                    return Err(invalid(
                        path(Field::Area(i)),
                        "a NATIONAL catchment has no postcode prefix, centre or radius",
                    ));
                }
            }
            ServiceAreaKind::PostcodePrefix => {
                let at = path(Field::AreaPrefix(i));
                let Some(prefix) = &area.postcode_prefix else {
                    return Err(invalid(at, "needed for POSTCODE_PREFIX"));
                };
                if search::geo::normalise_prefix(prefix).as_ref() != Some(prefix) {
                    return Err(invalid(at, "not a postcode area or district"));
                }
                if has_centre {
                    return Err(invalid(
                        path(Field::Area(i)),
                        "a POSTCODE_PREFIX catchment has no centre or radius",
                    ));
                }
            }
            ServiceAreaKind::Radius => {
                if area.postcode_prefix.is_some() {
                    return Err(invalid(
                        path(Field::Area(i)),
                        "a RADIUS catchment has no postcode prefix",
                    ));
                }
                if source == Source::Editor {
                    check_point(path(Field::Area(i)), area.latitude, area.longitude)?;
                    if area.radius_km.is_none() {
                        return Err(invalid(path(Field::AreaRadius(i)), "needed for RADIUS"));
                    }
                }
                if area.latitude.is_none() || area.longitude.is_none() {
                    return Err(invalid(path(Field::AreaLatitude(i)), "needed for RADIUS"));
                }
                if let (Source::Editor, Some(radius)) = (source, area.radius_km) {
                    let at = path(Field::AreaRadius(i));
                    crate::validate::radius_km(&at, radius).map_err(from_validate(&at))?;
                }
            }
        }
        Ok(())
    }

    /// A position an editor gives: both coordinates or neither, within Great Britain and Northern
    /// Ireland.
    fn check_point(
        at: String,
        latitude: Option<f64>,
        longitude: Option<f64>,
    ) -> Result<(), Invalid> {
        match (latitude, longitude) {
            (Some(lat), Some(lon)) => {
                crate::validate::latitude_longitude(&at, lat, lon).map_err(from_validate(&at))
            }
            (None, None) => Ok(()),
            _ => Err(invalid(at, "give both latitude and longitude, or neither")),
        }
    }

    fn check_opening(
        i: usize,
        opening: &schedule::Model,
        source: Source,
        path: &dyn Fn(Field) -> String,
    ) -> Result<(), Invalid> {
        if let Some(day) = opening.weekday
            && codes::weekday(day).is_none()
        {
            return Err(invalid(
                path(Field::Weekday(i)),
                "must be from 1 (Monday) to 7 (Sunday)",
            ));
        }
        if source == Source::Editor
            && let (Some(opens), Some(closes)) = (&opening.opens_at, &opening.closes_at)
            // Zero-padded HH:MM strings order as the times do.
            && opens >= closes
        {
            return Err(invalid(
                path(Field::Closes(i)),
                format!("must be after {}", path(Field::Opens(i))),
            ));
        }
        Ok(())
    }

    /// How far a write reaches, which decides what rewriting a listing's children removes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Scope {
        /// The whole listing, as an editor gives it: every contact and phone line is replaced, and
        /// the places are the listing's own, written with it and removed with it when no other
        /// listing uses them.
        Whole,
        /// What an HSDS feed publishes: public contacts and phone lines are replaced while private
        /// ones stay, and places are records of their own, written beforehand; only the links to
        /// them are replaced.
        Published,
    }

    /// What the audit row of a write says the listing became.
    #[derive(Clone, Debug)]
    pub enum After {
        /// The listing as stored once written, read back in the transaction (the audit snapshot).
        Snapshot,
        /// A document given by the caller, such as the feed record it was imported from.
        Given(Value),
    }

    /// One listing for [`write`].
    #[derive(Clone, Debug)]
    pub struct ListingWrite {
        /// The rows, as [`check`]ed and as they are to be stored.
        pub rows: ListingRows,
        /// [`ChangeOp::Create`] inserts the service row; any other op replaces it.
        pub op: ChangeOp,
        /// Whether the children are written: a new listing's always are; when false, a stored
        /// listing keeps the children it has.
        pub children: bool,
        /// The audit action, such as `service.update` or `service.import`.
        pub action: &'static str,
        /// What the audit row says the listing was.
        pub before: Option<Value>,
        /// What the audit row says the listing became.
        pub after: After,
    }

    /// Starts a write that appends to the change feed: a write transaction (see
    /// [`crate::store::begin_write`]) holding the feed's lock, so that PostgreSQL writers queue on it too
    /// and sequence numbers are committed in order.
    pub async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
        let txn = crate::store::begin_write(db).await?;
        feed::lock(&txn).await?;
        Ok(txn)
    }

    /// Writes listings in the caller's transaction (started with [`begin`]): each service row,
    /// its children (catchments, places and their links, contacts, phone lines, opening times,
    /// taxonomy terms) within `scope`, one `audit_event` row by `actor` and one `change` row per
    /// listing. Costs a fixed number of statements per batch, whatever its size (multi-row inserts
    /// and deletes; one read per [`After::Snapshot`]). Returns the last change-feed position
    /// written (0 for an empty batch).
    pub async fn write(
        txn: &impl ConnectionTrait,
        actor: &Actor,
        scope: Scope,
        batch: Vec<ListingWrite>,
    ) -> Result<i64> {
        if batch.is_empty() {
            return Ok(0);
        }
        write_service_rows(txn, &batch).await?;
        let rewritten: Vec<Uuid> = batch
            .iter()
            .filter(|w| w.children && w.op != ChangeOp::Create)
            .map(|w| w.rows.service.id)
            .collect();
        clear_children(txn, scope, &rewritten).await?;
        insert_children(txn, batch.iter().filter(|w| w.children).map(|w| &w.rows)).await?;
        journal(txn, actor, batch).await
    }

    /// Inserts the new service rows and replaces the others, a statement per few hundred rows.
    async fn write_service_rows(
        txn: &impl ConnectionTrait,
        batch: &[ListingWrite],
    ) -> Result<(), DbErr> {
        let (created, replaced): (Vec<&ListingWrite>, Vec<&ListingWrite>) =
            batch.iter().partition(|w| w.op == ChangeOp::Create);
        let rows = |writes: Vec<&ListingWrite>| -> Vec<service::ActiveModel> {
            writes
                .into_iter()
                .map(|w| w.rows.service.clone().into_active_model())
                .collect()
        };
        insert_rows(txn, rows(created)).await?;
        let replace = OnConflict::column(service::Column::Id)
            .update_columns(service::Column::iter().filter(|c| !matches!(c, service::Column::Id)))
            .to_owned();
        for chunk in rows(replaced).chunks(per_statement::<service::Entity>()) {
            service::Entity::insert_many(chunk.to_vec())
                .on_conflict(replace.clone())
                .exec_without_returning(txn)
                .await?;
        }
        Ok(())
    }

    /// Removes the children of the services `ids` that a write of `scope` replaces.
    async fn clear_children(
        txn: &impl ConnectionTrait,
        scope: Scope,
        ids: &[Uuid],
    ) -> Result<(), DbErr> {
        for chunk in ids.chunks(5_000) {
            let ids = chunk.to_vec();
            service_area::Entity::delete_many()
                .filter(service_area::Column::ServiceId.is_in(ids.clone()))
                .exec(txn)
                .await?;
            schedule::Entity::delete_many()
                .filter(schedule::Column::ServiceId.is_in(ids.clone()))
                .exec(txn)
                .await?;
            attribute::Entity::delete_many()
                .filter(attribute::Column::LinkId.is_in(ids.clone()))
                .filter(attribute::Column::LinkEntity.eq(attribute::LINK_ENTITY_SERVICE))
                .exec(txn)
                .await?;
            let mut contacts = contact::Entity::delete_many()
                .filter(contact::Column::ServiceId.is_in(ids.clone()));
            let mut phones =
                phone::Entity::delete_many().filter(phone::Column::ServiceId.is_in(ids.clone()));
            if scope == Scope::Published {
                contacts = contacts.filter(contact::Column::Visibility.eq(Visibility::Public));
                phones = phones.filter(phone::Column::Visibility.eq(Visibility::Public));
            }
            contacts.exec(txn).await?;
            phones.exec(txn).await?;
            let old_places: Vec<Uuid> = match scope {
                Scope::Whole => {
                    let mut seen = HashSet::new();
                    find_by_ids::<service_at_location::Entity, _>(
                        txn,
                        service_at_location::Column::ServiceId,
                        &ids,
                    )
                    .await?
                    .into_iter()
                    .map(|link| link.location_id)
                    .filter(|id| seen.insert(*id))
                    .collect()
                }
                Scope::Published => Vec::new(),
            };
            service_at_location::Entity::delete_many()
                .filter(service_at_location::Column::ServiceId.is_in(ids))
                .exec(txn)
                .await?;
            remove_unused_places(txn, &old_places).await?;
        }
        Ok(())
    }

    /// Deletes the places among `ids` that no listing links to any more.
    async fn remove_unused_places(txn: &impl ConnectionTrait, ids: &[Uuid]) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        let still_used: HashSet<Uuid> = find_by_ids::<service_at_location::Entity, _>(
            txn,
            service_at_location::Column::LocationId,
            ids,
        )
        .await?
        .into_iter()
        .map(|link| link.location_id)
        .collect();
        let unused: Vec<Uuid> = ids
            .iter()
            .copied()
            .filter(|id| !still_used.contains(id))
            .collect();
        for chunk in unused.chunks(5_000) {
            location::Entity::delete_many()
                .filter(location::Column::Id.is_in(chunk.iter().copied()))
                .exec(txn)
                .await?;
        }
        Ok(())
    }

    /// Inserts the children of `listings`, a statement per kind (and per few thousand rows).
    async fn insert_children<'a>(
        txn: &impl ConnectionTrait,
        listings: impl Iterator<Item = &'a ListingRows>,
    ) -> Result<(), DbErr> {
        fn rows<M: Clone + IntoActiveModel<A>, A: ActiveModelTrait>(list: &[M]) -> Vec<A> {
            list.iter()
                .cloned()
                .map(IntoActiveModel::into_active_model)
                .collect()
        }
        let (mut areas, mut places, mut links) = (Vec::new(), Vec::new(), Vec::new());
        let (mut contacts, mut phones, mut schedules, mut attributes) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for listing in listings {
            areas.extend(rows(&listing.areas));
            places.extend(rows(&listing.places));
            links.extend(rows(&listing.links));
            contacts.extend(rows(&listing.contacts));
            phones.extend(rows(&listing.phones));
            schedules.extend(rows(&listing.schedules));
            attributes.extend(rows(&listing.attributes));
        }
        insert_rows(txn, areas).await?;
        // Places before the links that name them.
        insert_rows(txn, places).await?;
        insert_rows(txn, links).await?;
        insert_rows(txn, contacts).await?;
        insert_rows(txn, phones).await?;
        insert_rows(txn, schedules).await?;
        insert_rows(txn, attributes).await
    }

    /// Writes the audit and change-feed rows of `batch`; returns the last feed position.
    async fn journal(
        txn: &impl ConnectionTrait,
        actor: &Actor,
        batch: Vec<ListingWrite>,
    ) -> Result<i64> {
        let mut audits = Vec::with_capacity(batch.len());
        let mut changes = Vec::with_capacity(batch.len());
        for write in batch {
            let id = write.rows.service.id;
            let after = match write.after {
                After::Given(document) => Some(document),
                After::Snapshot => crate::store::editing::snapshot(txn, id).await?,
            };
            audits.push(audit::row(
                actor,
                write.action,
                "service",
                id,
                write.before,
                after,
            ));
            changes.push((id, write.op));
        }
        insert_rows(txn, audits).await?;
        if let [(id, op)] = changes[..] {
            return Ok(feed::record(txn, "service", id, op).await?);
        }
        let rows = changes
            .into_iter()
            .map(|(id, op)| feed::row("service", id, op))
            .collect();
        insert_rows(txn, rows).await?;
        Ok(feed::head(txn).await?)
    }

    /// Rows of `E` per multi-row statement, within [`MAX_PARAMS`] bound parameters.
    fn per_statement<E: EntityTrait>() -> usize {
        let columns = E::Column::iter().count().max(1);
        (MAX_PARAMS / columns).max(1)
    }

    /// Inserts rows in as few statements as the databases' parameter limits allow.
    pub async fn insert_rows<A>(txn: &impl ConnectionTrait, rows: Vec<A>) -> Result<(), DbErr>
    where
        A: ActiveModelTrait + Send,
    {
        let per = per_statement::<A::Entity>();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let batch: Vec<A> = rows.by_ref().take(per).collect();
            A::Entity::insert_many(batch)
                .exec_without_returning(txn)
                .await?;
        }
        Ok(())
    }

    #[cfg(test)]
    #[expect(clippy::unwrap_used, reason = "tests")]
    mod tests {
        use chrono::Utc;
        use entity::{LevelOfNeed, ServiceStatus, StringList};

        use super::*;

        fn listing() -> ListingRows {
            let now = Utc::now();
            let id = Uuid::new_v4();
            ListingRows {
                service: service::Model {
                    id,
                    organization_id: Uuid::new_v4(),
                    name: "Baby massage".to_owned(),
                    alternate_name: None,
                    description: "Gentle massage for babies and their parents.".to_owned(),
                    url: None,
                    email: None,
                    status: ServiceStatus::Active,
                    assured_date: None,
                    assurer: None,
                    version: 1,
                    level_of_need: LevelOfNeed::Universal,
                    from_pregnancy: false,
                    min_age_months: Some(0.0),
                    max_age_months: Some(12.0),
                    audiences: StringList(vec!["MOTHERS".to_owned()]),
                    eligibility_description: None,
                    self_referral: true,
                    professional_referral: true,
                    referral_instructions: None,
                    delivery_modes: StringList(vec!["GROUP".to_owned()]),
                    languages: StringList(vec!["en".to_owned(), "cy".to_owned()]),
                    free: true,
                    fees_description: None,
                    funding_source: None,
                    funding_ends_on: None,
                    extra: None,
                    created_at: now,
                    updated_at: now,
                },
                areas: vec![area(ServiceAreaKind::PostcodePrefix)],
                links: Vec::new(),
                places: Vec::new(),
                contacts: Vec::new(),
                phones: Vec::new(),
                schedules: vec![opening(Some(1), Some("09:00"), Some("17:30"))],
                attributes: Vec::new(),
            }
        }

        fn area(kind: ServiceAreaKind) -> service_area::Model {
            service_area::Model {
                id: Uuid::new_v4(),
                service_id: Uuid::nil(),
                kind,
                name: "Cheltenham".to_owned(),
                postcode_prefix: (kind == ServiceAreaKind::PostcodePrefix)
                    .then(|| "GL50".to_owned()),
                latitude: (kind == ServiceAreaKind::Radius).then_some(51.9),
                longitude: (kind == ServiceAreaKind::Radius).then_some(-2.07),
                radius_km: (kind == ServiceAreaKind::Radius).then_some(5.0),
                position: 0,
            }
        }

        fn opening(
            weekday: Option<i32>,
            opens: Option<&str>,
            closes: Option<&str>,
        ) -> schedule::Model {
            schedule::Model {
                id: Uuid::new_v4(),
                service_id: Uuid::nil(),
                weekday,
                opens_at: opens.map(str::to_owned),
                closes_at: closes.map(str::to_owned),
                description: None,
                position: 0,
            }
        }

        /// Fields named as the editing input names them.
        fn named(field: Field) -> String {
            format!("{field:?}")
        }

        fn refused(rows: &ListingRows, source: Source) -> Invalid {
            check(rows, source, &named).unwrap_err()
        }

        #[test]
        fn a_valid_listing_passes_for_both_sources() {
            let mut rows = listing();
            rows.areas.push(area(ServiceAreaKind::Radius));
            rows.areas.push(area(ServiceAreaKind::National));
            rows.schedules.push(opening(None, None, None));
            rows.schedules.push(opening(Some(7), Some("10:00"), None));
            assert_eq!(check(&rows, Source::Editor, &named), Ok(()));
            assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
        }

        #[test]
        fn ages_hold_to_the_bounds_of_their_source() {
            let mut rows = listing();
            rows.service.max_age_months = Some(216.0);
            let invalid = refused(&rows, Source::Editor);
            assert_eq!(invalid.path, "MaxAge");
            assert!(
                invalid.message.contains("between 0 and 60 months"),
                "{invalid:?}"
            );
            assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
            rows.service.max_age_months = Some(MAX_FEED_AGE_MONTHS + 1.0);
            assert_eq!(refused(&rows, Source::Feed).path, "MaxAge");
            rows.service.max_age_months = Some(12.0);
            rows.service.min_age_months = Some(-1.0);
            assert_eq!(refused(&rows, Source::Feed).path, "MinAge");
            rows.service.min_age_months = Some(24.0);
            let invalid = refused(&rows, Source::Editor);
            assert_eq!(invalid.path, "MinAge");
            assert_eq!(invalid.message, "must not be above MaxAge");
            assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
        }

        #[test]
        fn codes_must_be_known() {
            let mut rows = listing();
            rows.service.languages.0.push("xx".to_owned());
            for source in [Source::Editor, Source::Feed] {
                let invalid = refused(&rows, source);
                assert_eq!(invalid.path, "Language(2)");
                assert!(invalid.message.contains("unknown ISO 639-1"), "{invalid:?}");
            }
            let mut rows = listing();
            rows.service.audiences.0.push("NOBODY".to_owned());
            assert_eq!(refused(&rows, Source::Feed).path, "Audience(1)");
            let mut rows = listing();
            rows.service.delivery_modes.0.push("PIGEON".to_owned());
            assert_eq!(refused(&rows, Source::Feed).path, "DeliveryMode(1)");
        }

        #[test]
        fn catchments_hold_the_fields_of_their_kind() {
            let mut rows = listing();
            rows.areas[0].postcode_prefix = None;
            let invalid = refused(&rows, Source::Feed);
            assert_eq!(invalid.path, "AreaPrefix(0)");
            assert_eq!(invalid.message, "needed for POSTCODE_PREFIX");
            rows.areas[0].postcode_prefix = Some("GL50 3AB".to_owned());
            assert_eq!(
                refused(&rows, Source::Feed).message,
                "not a postcode area or district"
            );
            let mut rows = listing();
            rows.areas = vec![area(ServiceAreaKind::National)];
            rows.areas[0].latitude = Some(51.9);
            assert_eq!(refused(&rows, Source::Feed).path, "Area(0)");

            let mut rows = listing();
            rows.areas = vec![area(ServiceAreaKind::Radius)];
            rows.areas[0].radius_km = None;
            assert_eq!(refused(&rows, Source::Editor).path, "AreaRadius(0)");
            assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
            rows.areas[0].radius_km = Some(501.0);
            assert!(
                refused(&rows, Source::Editor)
                    .message
                    .contains("at most 500 km")
            );
            rows.areas[0].radius_km = Some(5.0);
            rows.areas[0].longitude = None;
            let invalid = refused(&rows, Source::Editor);
            assert_eq!(invalid.path, "Area(0)");
            assert!(invalid.message.contains("give both latitude and longitude"));
            assert_eq!(refused(&rows, Source::Feed).path, "AreaLatitude(0)");
            rows.areas[0].latitude = None;
            let invalid = refused(&rows, Source::Editor);
            assert_eq!(invalid.path, "AreaLatitude(0)");
            assert_eq!(invalid.message, "needed for RADIUS");
            rows.areas[0].latitude = Some(48.85);
            rows.areas[0].longitude = Some(2.35);
            let invalid = refused(&rows, Source::Editor);
            assert!(
                invalid
                    .message
                    .contains("latitude must be between 49.5 and 61.5")
            );
            // Feeds publish catchments anywhere.
            assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
        }

        #[test]
        fn openings_name_a_weekday_and_editors_open_before_closing() {
            for day in [0, 8, -1, i32::MAX] {
                let mut rows = listing();
                rows.schedules[0].weekday = Some(day);
                for source in [Source::Editor, Source::Feed] {
                    let invalid = refused(&rows, source);
                    assert_eq!(invalid.path, "Weekday(0)");
                    assert!(invalid.message.contains("1 (Monday) to 7 (Sunday)"));
                }
            }
            for (opens, closes) in [("17:00", "09:00"), ("09:00", "09:00")] {
                let mut rows = listing();
                rows.schedules = vec![opening(Some(2), Some(opens), Some(closes))];
                let invalid = refused(&rows, Source::Editor);
                assert_eq!(invalid.path, "Closes(0)");
                assert_eq!(invalid.message, "must be after Opens(0)");
                assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
            }
        }

        #[test]
        fn editors_give_a_referral_route_and_places_within_bounds() {
            let mut rows = listing();
            rows.service.self_referral = false;
            rows.service.professional_referral = false;
            let invalid = refused(&rows, Source::Editor);
            assert_eq!(invalid.path, "Referral");
            assert!(
                invalid
                    .message
                    .contains("self-referrals, professional referrals or both")
            );
            assert_eq!(check(&rows, Source::Feed, &named), Ok(()));

            let mut rows = listing();
            let now = Utc::now();
            rows.places.push(location::Model {
                id: Uuid::new_v4(),
                organization_id: None,
                name: None,
                address_1: None,
                city: None,
                region: None,
                postcode: None,
                latitude: Some(62.0),
                longitude: Some(0.0),
                accessibility: None,
                extra: None,
                created_at: now,
                updated_at: now,
            });
            let invalid = refused(&rows, Source::Editor);
            assert_eq!(invalid.path, "Place(0)");
            assert!(
                invalid
                    .message
                    .contains("latitude must be between 49.5 and 61.5")
            );
            rows.places[0].latitude = None;
            assert!(refused(&rows, Source::Editor).message.contains("give both"));
        }

        #[test]
        fn names_and_phone_numbers_are_not_blank() {
            let mut rows = listing();
            rows.service.name = "  ".to_owned();
            assert_eq!(refused(&rows, Source::Feed).path, "Name");
            let mut rows = listing();
            rows.phones.push(phone::Model {
                id: Uuid::new_v4(),
                service_id: Uuid::nil(),
                number: " ".to_owned(),
                description: None,
                visibility: Visibility::Public,
                position: 0,
            });
            let invalid = refused(&rows, Source::Feed);
            assert_eq!(invalid.path, "PhoneNumber(0)");
            assert_eq!(invalid.message, "must not be empty");
        }

        #[test]
        fn an_invalid_listing_is_a_bad_input_naming_the_field() {
            let invalid = invalid("input.referral".to_owned(), "a service takes both");
            let Error::Invalid(message) = Error::from(invalid) else {
                panic!("not a bad input");
            };
            assert_eq!(message, "input.referral: a service takes both");
        }
    }
}
