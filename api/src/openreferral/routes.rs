//! The Open Referral UK 3.0 endpoints: `/`, `/services`, `/organizations`, `/taxonomies`,
//! `/taxonomy_terms` and `/service_at_locations`, each with `/{id}`.
//!
//! Lists answer the profile's page shape (`total_items`, `total_pages`, `page_number`, `size`,
//! `first_page`, `last_page`, `empty`, `contents`). Service filters combine with AND. Free text
//! and postcode searches go through the search index; everything else reads the database.

use std::collections::{HashMap, HashSet};

use axum::{
    Json, Router,
    extract::{FromRef, Path, RawQuery, State as AxumState},
    routing::{MethodRouter, get},
};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use entity::{codes, taxonomy_term};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{OPENAPI_URL, OrError, PROFILE_URL, RestState, VERSION};
use crate::{
    hsds::encode,
    store::{
        self,
        listing::{Parts, ServiceRecord},
        openreferral::ServiceCriteria,
    },
};

/// The highest page number (or page size, before it is capped) a request may name.
const MAX_PAGE: u64 = 1_000_000;
/// The page size when `per_page` is not given.
pub const DEFAULT_PER_PAGE: u64 = 50;
/// The largest page size; larger requests are served this many.
pub const MAX_PER_PAGE: u64 = 100;
/// The most index hits one filtered search considers.
const MAX_SEARCH_HITS: usize = 10_000;
/// The largest `proximity`, in kilometres.
const MAX_PROXIMITY_KM: f64 = 1_000.0;
/// The longest `search` text.
const MAX_SEARCH_CHARS: usize = 500;

/// Where the API is served.
pub const PREFIX: &str = "/openreferral";

/// The Open Referral routes under [`PREFIX`] (with and without a trailing slash for `/`), to be
/// merged into the router of an application whose state provides the face's own.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    RestState: FromRef<S>,
{
    let routes: [(&str, MethodRouter<S>); 12] = [
        ("/services", get(services)),
        ("/services/{id}", get(service_by_id)),
        ("/organizations", get(organizations)),
        ("/organizations/{id}", get(organization_by_id)),
        ("/taxonomies", get(taxonomies)),
        ("/taxonomies/{id}", get(taxonomy_by_id)),
        ("/taxonomy_terms", get(taxonomy_terms)),
        ("/taxonomy_terms/{id}", get(taxonomy_term_by_id)),
        ("/service_at_locations", get(service_at_locations)),
        ("/service_at_locations/{id}", get(service_at_location_by_id)),
        ("/", get(root)),
        ("/{*rest}", get(unknown_path)),
    ];
    routes.into_iter().fold(
        Router::new().route(PREFIX, get(root)),
        |router, (path, handler)| router.route(&format!("{PREFIX}{path}"), handler),
    )
}

type Answer = Result<Json<Value>, OrError>;

async fn root() -> Json<Value> {
    Json(json!({
        "version": VERSION,
        "profile": PROFILE_URL,
        "openapi_url": OPENAPI_URL,
    }))
}

async fn unknown_path(Path(rest): Path<String>) -> OrError {
    OrError::not_found(format!("no such endpoint: /{rest}"))
}

/// Query parameters; empty values count as absent and a repeated name keeps its last value.
struct Params(HashMap<String, String>);

impl Params {
    fn parse(raw: Option<String>) -> Self {
        let pairs = url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        Self(pairs)
    }

    fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn uuid(&self, name: &str) -> Result<Option<Uuid>, OrError> {
        self.text(name)
            .map(|v| {
                Uuid::parse_str(v)
                    .map_err(|_| OrError::bad_request(format!("{name}: {v:?} is not a UUID")))
            })
            .transpose()
    }

    fn flag(&self, name: &str) -> Result<bool, OrError> {
        match self.text(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "0" | "no") => Ok(false),
            Some("true" | "1" | "yes") => Ok(true),
            Some(_) => Err(OrError::bad_request(format!(
                "{name}: must be true or false"
            ))),
        }
    }

    fn number(&self, name: &str, max: f64) -> Result<Option<f64>, OrError> {
        self.text(name)
            .map(|v| match v.parse::<f64>() {
                Ok(n) if n.is_finite() && (0.0..=max).contains(&n) => Ok(n),
                _ => Err(OrError::bad_request(format!(
                    "{name}: must be a number from 0 to {max}"
                ))),
            })
            .transpose()
    }

    fn paging(&self) -> Result<Paging, OrError> {
        let whole = |name: &str, default: u64| -> Result<u64, OrError> {
            match self.text(name) {
                None => Ok(default),
                Some(v) => match v.parse::<u64>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
                    _ => Err(OrError::bad_request(format!(
                        "{name}: must be a whole number from 1 to {MAX_PAGE}"
                    ))),
                },
            }
        };
        Ok(Paging {
            page: whole("page", 1)?,
            per_page: whole("per_page", DEFAULT_PER_PAGE)?.min(MAX_PER_PAGE),
        })
    }
}

/// A requested page.
#[derive(Clone, Copy, Debug)]
struct Paging {
    page: u64,
    per_page: u64,
}

impl Paging {
    fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }

    /// This page's part of a whole list.
    fn slice<T>(self, items: &[T]) -> &[T] {
        let start = usize::try_from(self.offset())
            .unwrap_or(usize::MAX)
            .min(items.len());
        let end = start
            .saturating_add(usize::try_from(self.per_page).unwrap_or(usize::MAX))
            .min(items.len());
        &items[start..end]
    }

    /// The profile's page object around `contents`.
    fn answer(self, total: u64, contents: Vec<Value>) -> Json<Value> {
        let total_pages = total.div_ceil(self.per_page).max(1);
        Json(json!({
            "total_items": total,
            "total_pages": total_pages,
            "page_number": self.page,
            "size": contents.len(),
            "first_page": self.page == 1,
            "last_page": self.page >= total_pages,
            "empty": contents.is_empty(),
            "contents": contents,
        }))
    }
}

fn parse_id(id: &str) -> Result<Uuid, OrError> {
    Uuid::parse_str(id.trim())
        .map_err(|_| OrError::bad_request(format!("id: {id:?} is not a UUID")))
}

/// What `/services` and `/service_at_locations` filter by: free text and a place go to the
/// search index, the rest to the database.
struct ServiceQuery {
    text: Option<String>,
    place: Option<search::geo::GeoPoint>,
    proximity_km: Option<f64>,
    criteria: ServiceCriteria,
}

/// A date-time (RFC 3339, or without offset meaning UTC) or a date (from its midnight UTC), in
/// a year Signpost takes.
fn parse_datetime(name: &str, value: &str) -> Result<DateTime<Utc>, OrError> {
    let at = parse_any_datetime(name, value)?;
    if crate::validate::sane_year(at) {
        Ok(at)
    } else {
        let years = crate::validate::YEARS;
        Err(OrError::bad_request(format!(
            "{name}: the year must be from {} to {}",
            years.start(),
            years.end()
        )))
    }
}

fn parse_any_datetime(name: &str, value: &str) -> Result<DateTime<Utc>, OrError> {
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(at) = NaiveDateTime::parse_from_str(value, format) {
            return Ok(at.and_utc());
        }
    }
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        return Ok(day.and_time(NaiveTime::MIN).and_utc());
    }
    Err(OrError::bad_request(format!(
        "{name}: {value:?} is not a date-time (e.g. 2025-01-31T09:00:00Z) or a date (2025-01-31)"
    )))
}

/// A time of day ("HH:MM" or "HH:MM:SS", optionally with "Z") as Signpost's "HH:MM".
fn parse_time(name: &str, value: &str) -> Result<String, OrError> {
    let bare = value.trim_end_matches(['Z', 'z']);
    NaiveTime::parse_from_str(bare, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(bare, "%H:%M"))
        .map(|t| t.format("%H:%M").to_string())
        .map_err(|_| OrError::bad_request(format!("{name}: {value:?} is not a time like 09:30")))
}

/// A day as 1 (Monday) .. 7 (Sunday), from "MO".."SU" or an English day name.
fn parse_day(value: &str) -> Result<i32, OrError> {
    codes::weekday_by_name(value).ok_or_else(|| {
        OrError::bad_request(format!(
            "day: {value:?} is not a day (MO, TU, WE, TH, FR, SA, SU or a day name)"
        ))
    })
}

impl ServiceQuery {
    fn from_params(params: &Params, state: &RestState) -> Result<Self, OrError> {
        let text = params.text("search").map(str::to_owned);
        if text
            .as_ref()
            .is_some_and(|t| t.chars().count() > MAX_SEARCH_CHARS)
        {
            return Err(OrError::bad_request(format!(
                "search: must be at most {MAX_SEARCH_CHARS} characters"
            )));
        }
        let place = params
            .text("postcode")
            .map(|postcode| {
                state.indexer.geo().resolve(postcode).map_err(|err| {
                    OrError::bad_request(match err {
                        search::geo::GeoError::NotAPostcode => {
                            format!("postcode: {postcode:?} is not a UK postcode")
                        }
                        search::geo::GeoError::UnknownPostcode => {
                            format!("postcode: {postcode:?} is an unknown postcode")
                        }
                    })
                })
            })
            .transpose()?;
        let proximity_km = params.number("proximity", MAX_PROXIMITY_KM)?;
        if proximity_km.is_some() && place.is_none() {
            return Err(OrError::bad_request(
                "proximity: needs a postcode to measure from",
            ));
        }
        if proximity_km.is_some_and(|p| p <= 0.0) {
            return Err(OrError::bad_request("proximity: must be above 0"));
        }
        let criteria = ServiceCriteria {
            taxonomy_term_id: params.uuid("taxonomy_term_id")?,
            taxonomy_id: params.uuid("taxonomy_id")?,
            organization_id: params.uuid("organization_id")?,
            modified_after: params
                .text("modified_after")
                .map(|v| parse_datetime("modified_after", v))
                .transpose()?,
            minimum_age_months: params.number("minimum_age", 150.0)?.map(|y| y * 12.0),
            maximum_age_months: params.number("maximum_age", 150.0)?.map(|y| y * 12.0),
            weekday: params.text("day").map(parse_day).transpose()?,
            start_time: params
                .text("start_time")
                .map(|v| parse_time("start_time", v))
                .transpose()?,
            end_time: params
                .text("end_time")
                .map(|v| parse_time("end_time", v))
                .transpose()?,
        };
        Ok(Self {
            text,
            place,
            proximity_km,
            criteria,
        })
    }

    /// The matching ACTIVE services' ids: by relevance (or distance) when searching text or a
    /// place, by name otherwise.
    async fn service_ids(&self, state: &RestState) -> Result<Vec<Uuid>, OrError> {
        if self.text.is_none() && self.place.is_none() {
            return Ok(store::openreferral::active_service_ids(&state.db, &self.criteria).await?);
        }
        let hits = self.search(state).await?;
        Ok(store::openreferral::active_among(&state.db, &self.criteria, hits).await?)
    }

    /// The search index's answer for the text and place, in its order.
    async fn search(&self, state: &RestState) -> Result<Vec<Uuid>, OrError> {
        let coverage = self.place.as_ref().map(search::Coverage::of);
        let near = match (&self.place, self.proximity_km) {
            (Some(point), Some(radius)) => Some(search::Near {
                latitude: point.latitude,
                longitude: point.longitude,
                radius_km: Some(radius),
                coverage: coverage.clone(),
            }),
            _ => None,
        };
        let sort = match (&self.text, &near) {
            (Some(_), _) => search::Sort::Relevance,
            (None, Some(_)) => search::Sort::Distance,
            (None, None) => search::Sort::Name,
        };
        let request = search::SearchRequest {
            text: self.text.clone(),
            filter: search::Filter {
                // Without a radius, the postcode must lie in the service's catchment.
                covers: if near.is_none() { coverage } else { None },
                organization_id: self.criteria.organization_id,
                ..search::Filter::default()
            },
            near,
            sort,
            first: MAX_SEARCH_HITS,
            after: None,
            today: search::day_number(Utc::now().date_naive()),
            facets: false,
            highlights: false,
            coverage_of: None,
            cards: search::Cards::None,
        };
        let results = state
            .indexer
            .read(move |index| index.search(&request))
            .await
            .map_err(OrError::internal)?
            .map_err(OrError::internal)?;
        Ok(results.hits.into_iter().map(|hit| hit.id).collect())
    }
}

/// The listings of `ids` with `parts`, in that order (unknown ids are left out).
async fn records(
    state: &RestState,
    ids: &[Uuid],
    parts: Parts,
) -> Result<Vec<ServiceRecord>, OrError> {
    Ok(store::listing::load_many(&state.db, ids, parts).await?)
}

/// List-shaped services (one-to-one fields and the organisation) for `ids`, in that order.
async fn summaries(state: &RestState, ids: &[Uuid]) -> Result<Vec<Value>, OrError> {
    let parts = Parts {
        organization: true,
        ..Parts::NONE
    };
    Ok(records(state, ids, parts)
        .await?
        .iter()
        .map(encode::summary_service)
        .collect())
}

/// The fully nested service `id`, whatever its status.
async fn full_service(state: &RestState, id: Uuid) -> Result<Option<Value>, OrError> {
    Ok(records(state, &[id], Parts::ALL)
        .await?
        .first()
        .map(encode::full_service))
}

async fn services(AxumState(state): AxumState<RestState>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw);
    let paging = params.paging()?;
    let full = params.flag("full")?;
    let minimal = params.flag("minimal")?;
    let query = ServiceQuery::from_params(&params, &state)?;
    let ids = query.service_ids(&state).await?;
    let page = paging.slice(&ids);
    let contents = if full {
        records(&state, page, Parts::ALL)
            .await?
            .iter()
            .map(encode::full_service)
            .collect()
    } else if minimal {
        summaries(&state, page)
            .await?
            .into_iter()
            .map(|s| {
                json!({
                    "id": s["id"],
                    "name": s["name"],
                    "status": s["status"],
                    "last_modified": s["last_modified"],
                })
            })
            .collect()
    } else {
        summaries(&state, page).await?
    };
    Ok(paging.answer(ids.len() as u64, contents))
}

/// An ACTIVE service's row, or 404.
async fn active_service(state: &RestState, id: Uuid) -> Result<(), OrError> {
    store::openreferral::active_service(&state.db, id)
        .await?
        .map(|_| ())
        .ok_or_else(|| OrError::not_found(format!("no service with id {id}")))
}

async fn service_by_id(AxumState(state): AxumState<RestState>, Path(id): Path<String>) -> Answer {
    let id = parse_id(&id)?;
    active_service(&state, id).await?;
    full_service(&state, id)
        .await?
        .map(Json)
        .ok_or_else(|| OrError::not_found(format!("no service with id {id}")))
}

async fn organizations(AxumState(state): AxumState<RestState>, RawQuery(raw): RawQuery) -> Answer {
    let paging = Params::parse(raw).paging()?;
    let (total, rows) =
        store::openreferral::organization_page(&state.db, paging.offset(), paging.per_page).await?;
    Ok(paging.answer(
        total,
        rows.iter().map(encode::organization_summary).collect(),
    ))
}

async fn organization_by_id(
    AxumState(state): AxumState<RestState>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id(&id)?;
    let org = store::openreferral::organization(&state.db, id)
        .await?
        .ok_or_else(|| OrError::not_found(format!("no organization with id {id}")))?;
    let services: Vec<Value> = store::openreferral::active_services_of(&state.db, id)
        .await?
        .iter()
        .map(encode::service_summary)
        .collect();
    let mut out = encode::organization_full(&org);
    if let Value::Object(map) = &mut out {
        map.insert("services".into(), Value::Array(services));
    }
    Ok(Json(out))
}

async fn taxonomies(AxumState(state): AxumState<RestState>, RawQuery(raw): RawQuery) -> Answer {
    let paging = Params::parse(raw).paging()?;
    let (total, rows) =
        store::openreferral::taxonomy_page(&state.db, paging.offset(), paging.per_page).await?;
    Ok(paging.answer(total, rows.iter().map(encode::taxonomy_json).collect()))
}

async fn taxonomy_by_id(AxumState(state): AxumState<RestState>, Path(id): Path<String>) -> Answer {
    let id = parse_id(&id)?;
    let row = store::openreferral::taxonomy(&state.db, id)
        .await?
        .ok_or_else(|| OrError::not_found(format!("no taxonomy with id {id}")))?;
    Ok(Json(encode::taxonomy_json(&row)))
}

async fn taxonomy_terms(AxumState(state): AxumState<RestState>, RawQuery(raw): RawQuery) -> Answer {
    let params = Params::parse(raw);
    let paging = params.paging()?;
    let taxonomy_id = params.uuid("taxonomy_id")?;
    let parent_id = params.uuid("parent_id")?;
    let terms: Vec<taxonomy_term::Model> = store::taxonomy::all_terms(&state.db)
        .await?
        .into_iter()
        .filter(|t| taxonomy_id.is_none_or(|id| t.taxonomy_id == Some(id)))
        .filter(|t| parent_id.is_none_or(|id| t.parent_id == Some(id)))
        .collect();
    let taxonomies = store::openreferral::all_taxonomies(&state.db).await?;
    let contents = paging
        .slice(&terms)
        .iter()
        .map(|t| encode::taxonomy_term_json(t, t.taxonomy_id.and_then(|id| taxonomies.get(&id))))
        .collect();
    Ok(paging.answer(terms.len() as u64, contents))
}

async fn taxonomy_term_by_id(
    AxumState(state): AxumState<RestState>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id(&id)?;
    let (term, taxonomy) = store::openreferral::taxonomy_term(&state.db, id)
        .await?
        .ok_or_else(|| OrError::not_found(format!("no taxonomy term with id {id}")))?;
    Ok(Json(encode::taxonomy_term_json(&term, taxonomy.as_ref())))
}

/// `ids` without repeats, in their first order.
fn unique(ids: impl Iterator<Item = Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.filter(|id| seen.insert(*id)).collect()
}

async fn service_at_locations(
    AxumState(state): AxumState<RestState>,
    RawQuery(raw): RawQuery,
) -> Answer {
    let params = Params::parse(raw);
    let paging = params.paging()?;
    let query = ServiceQuery::from_params(&params, &state)?;
    let service_ids = query.service_ids(&state).await?;
    let mut links = store::openreferral::service_at_locations(&state.db, &service_ids).await?;
    if let (Some(point), Some(radius)) = (&query.place, query.proximity_km) {
        // Only the places within the radius.
        let location_ids = unique(links.iter().map(|l| l.location_id));
        let near: HashSet<Uuid> = store::openreferral::locations(&state.db, &location_ids)
            .await?
            .into_values()
            .filter(|l| match (l.latitude, l.longitude) {
                (Some(lat), Some(lon)) => {
                    search::geo::distance_km(point.latitude, point.longitude, lat, lon) <= radius
                }
                _ => false,
            })
            .map(|l| l.id)
            .collect();
        links.retain(|l| near.contains(&l.location_id));
    }
    let page = paging.slice(&links);
    let page_locations: Vec<Uuid> = page.iter().map(|l| l.location_id).collect();
    let locations = store::openreferral::locations(&state.db, &page_locations).await?;
    let page_services = unique(page.iter().map(|l| l.service_id));
    let services: HashMap<String, Value> = summaries(&state, &page_services)
        .await?
        .into_iter()
        .map(|s| (s["id"].as_str().unwrap_or_default().to_owned(), s))
        .collect();
    let contents = page
        .iter()
        .map(|link| {
            let mut item = json!({
                "id": link.id,
                "service_id": link.service_id,
                "location_id": link.location_id,
            });
            if let Value::Object(map) = &mut item {
                if let Some(loc) = locations.get(&link.location_id) {
                    map.insert("location".into(), encode::location_summary(loc));
                }
                if let Some(svc) = services.get(&link.service_id.to_string()) {
                    map.insert("service".into(), svc.clone());
                }
            }
            item
        })
        .collect();
    Ok(paging.answer(links.len() as u64, contents))
}

/// The service at a location, as the profile names it: the fully nested service, with only
/// this location among its `service_at_locations`.
async fn service_at_location_by_id(
    AxumState(state): AxumState<RestState>,
    Path(id): Path<String>,
) -> Answer {
    let id = parse_id(&id)?;
    let missing = || OrError::not_found(format!("no service_at_location with id {id}"));
    let link = store::openreferral::service_at_location(&state.db, id)
        .await?
        .ok_or_else(missing)?;
    match active_service(&state, link.service_id).await {
        Err(err) if err.status == axum::http::StatusCode::NOT_FOUND => return Err(missing()),
        other => other?,
    };
    let mut service = full_service(&state, link.service_id)
        .await?
        .ok_or_else(missing)?;
    if let Some(Value::Array(links)) = service.get_mut("service_at_locations") {
        let wanted = id.to_string();
        links.retain(|l| l["id"].as_str() == Some(wanted.as_str()));
    }
    Ok(Json(service))
}
