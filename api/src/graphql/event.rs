//! The `Event` type, the `events` query and the `createEvent` mutation with its `EventInput`.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::Utc;
use entity::event;

use super::{
    input::{id_arg, point},
    loaders::Loaders,
    pagination::{Page, PageInfo, connection, decode_after, encode_cursor, page_after, page_size},
    place::NearInput,
    scalars::DateTime,
    searchable,
    service::Service,
    state,
};
use crate::{
    auth::Caller,
    error::{ApiError, ApiResult},
    store::{self, event::EventAfter},
    validate,
};

/// A dated session or pop-up of a service, such as an information-bus stop.
#[derive(Clone, Debug)]
pub struct Event(pub event::Model);

#[Object]
impl Event {
    /// The event's id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// Its title.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// What happens there.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// When it starts.
    async fn starts_at(&self) -> DateTime {
        DateTime(self.0.starts_at)
    }
    /// When it ends.
    async fn ends_at(&self) -> DateTime {
        DateTime(self.0.ends_at)
    }
    /// The venue's name.
    async fn place_name(&self) -> Option<&str> {
        self.0.place_name.as_deref()
    }
    /// The venue's address.
    async fn address(&self) -> Option<&str> {
        self.0.address.as_deref()
    }
    /// The venue's postcode.
    async fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    /// WGS84 latitude.
    async fn latitude(&self) -> Option<f64> {
        self.0.latitude
    }
    /// WGS84 longitude.
    async fn longitude(&self) -> Option<f64> {
        self.0.longitude
    }
    /// The service running it.
    async fn service(&self, ctx: &Context<'_>) -> async_graphql::Result<Service> {
        let found = ctx
            .data::<Loaders>()?
            .service
            .load_one(self.0.service_id)
            .await
            .map_err(ApiError::from)?;
        let model = found.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!("event {} has no service", self.0.id))
        })?;
        Ok(Service(model))
    }
}

/// A page of events.
#[derive(Clone, Debug, SimpleObject)]
pub struct EventConnection {
    /// How many events match in all.
    pub total_count: i64,
    /// This page.
    pub edges: Vec<EventEdge>,
    /// Paging.
    pub page_info: PageInfo,
}

/// An event with its cursor.
#[derive(Clone, Debug, SimpleObject)]
pub struct EventEdge {
    /// Pass as `after` to continue after this event.
    pub cursor: String,
    /// Kilometres from `near`, when given and the event has a position.
    pub distance_km: Option<f64>,
    /// The event.
    pub node: Event,
}

impl From<Page<EventEdge>> for EventConnection {
    fn from(page: Page<EventEdge>) -> Self {
        Self {
            total_count: page.total_count,
            edges: page.edges,
            page_info: page.page_info,
        }
    }
}

/// The most events a `near` search measures in one window.
const MAX_EVENTS_NEAR: u64 = 10_000;

fn distance(near: &search::Near, event: &event::Model) -> Option<f64> {
    Some(search::geo::distance_km(
        near.latitude,
        near.longitude,
        event.latitude?,
        event.longitude?,
    ))
}

/// Decodes a start-order cursor.
fn event_after(after: Option<&str>) -> ApiResult<Option<EventAfter>> {
    decode_after(after, 2, |parts| {
        let starts_at = chrono::DateTime::parse_from_rfc3339(&parts[0])
            .ok()?
            .with_timezone(&chrono::Utc);
        let id = parts[1].parse().ok()?;
        Some(EventAfter { starts_at, id })
    })
}

/// Event queries.
#[derive(Default)]
pub struct EventQuery;

#[Object]
impl EventQuery {
    /// Events of active services in start order, overlapping [`from`, `to`) when given; with
    /// `near`, each with its distance, and only those within `near.radiusKm` when given.
    #[graphql(complexity = "first.unwrap_or(20).clamp(0, 100) as usize * child_complexity + 1")]
    async fn events(
        &self,
        ctx: &Context<'_>,
        near: Option<NearInput>,
        from: Option<DateTime>,
        to: Option<DateTime>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<EventConnection> {
        let first = page_size(first.unwrap_or(20))?;
        if let (Some(from), Some(to)) = (from, to)
            && to.0 < from.0
        {
            return Err(ApiError::bad_input("to must not be before from").into());
        }
        let after_key = event_after(after.as_deref())?;
        let near = near.map(|n| n.resolve(ctx)).transpose()?;
        let db = &state(ctx)?.db;
        let (from, to) = (from.map(|f| f.0), to.map(|t| t.0));
        let (rows, has_next, total) = match &near {
            None => store::event::list(db, from, to, first, after_key.as_ref()).await?,
            Some(near) => {
                // Events in the window are few: measure them all, then page.
                let (all, _, _) = store::event::list(db, from, to, MAX_EVENTS_NEAR, None).await?;
                let within: Vec<event::Model> = all
                    .into_iter()
                    .filter(|e| match (near.radius_km, distance(near, e)) {
                        (Some(radius), Some(km)) => km <= radius,
                        (Some(_), None) => false,
                        (None, _) => true,
                    })
                    .collect();
                let total = within.len() as u64;
                let page_len = usize::try_from(first).unwrap_or(usize::MAX);
                let (page, has_next) = page_after(within, page_len, |e| {
                    after_key
                        .as_ref()
                        .is_some_and(|a| (e.starts_at, e.id) <= (a.starts_at, a.id))
                });
                (page, has_next, total)
            }
        };
        Ok(connection(
            rows,
            |row| encode_cursor(&[&row.starts_at.to_rfc3339(), &row.id.to_string()]),
            |cursor, row| EventEdge {
                cursor,
                distance_km: near
                    .as_ref()
                    .and_then(|n| distance(n, &row))
                    .map(|d| (d * 100.0).round() / 100.0),
                node: Event(row),
            },
            has_next,
            after.is_some(),
            total,
        )
        .into())
    }
}

/// A dated session or pop-up.
#[derive(Clone, Debug, InputObject)]
pub struct EventInput {
    /// The service running it.
    pub service_id: ID,
    /// Its title.
    pub title: String,
    /// What happens.
    pub description: Option<String>,
    /// When it starts.
    pub starts_at: DateTime,
    /// When it ends (after the start, at most 14 days later).
    pub ends_at: DateTime,
    /// The venue.
    pub place_name: Option<String>,
    /// The venue's address.
    pub address: Option<String>,
    /// The venue's postcode.
    pub postcode: Option<String>,
    /// WGS84 latitude.
    pub latitude: Option<f64>,
    /// WGS84 longitude.
    pub longitude: Option<f64>,
}

/// Event mutations.
#[derive(Default)]
pub struct EventMutation;

#[Object]
impl EventMutation {
    /// Adds a dated session or pop-up to a listing.
    async fn create_event(
        &self,
        ctx: &Context<'_>,
        input: EventInput,
    ) -> async_graphql::Result<Event> {
        let caller = ctx.data::<Caller>()?;
        caller.require_authenticated()?;
        let service_id = id_arg(&input.service_id, "input.serviceId")?;
        validate::ordered_times("input", input.starts_at.0, input.ends_at.0)?;
        let (latitude, longitude) = point("input", input.latitude, input.longitude)?;
        let postcode = input
            .postcode
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| validate::uk_postcode("input.postcode", p))
            .transpose()?;
        let now = Utc::now();
        let draft = event::Model {
            id: uuid::Uuid::nil(),
            service_id,
            title: validate::text("input.title", &input.title, 2, 300)?,
            description: validate::optional_text(
                "input.description",
                input.description.as_deref(),
                5_000,
            )?,
            starts_at: input.starts_at.0,
            ends_at: input.ends_at.0,
            place_name: validate::optional_text(
                "input.placeName",
                input.place_name.as_deref(),
                300,
            )?,
            address: validate::optional_text("input.address", input.address.as_deref(), 500)?,
            postcode,
            latitude,
            longitude,
            created_at: now,
            updated_at: now,
        };
        let (saved, seq) = store::editing::create_event(&state(ctx)?.db, caller, draft).await?;
        searchable(ctx, seq).await?;
        Ok(Event(saved))
    }
}
