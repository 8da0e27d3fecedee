//! The `Event` type and the `events` query.

use async_graphql::{Context, ID, Object, SimpleObject};
use entity::event;

use super::{
    loaders::Loaders,
    pagination::{PageInfo, decode_cursor, encode_cursor, page_info, page_size},
    scalars::DateTime,
    search::NearInput,
    service::Service,
    state,
};
use crate::{
    error::{ApiError, ApiResult},
    store::{self, event::EventAfter},
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

fn event_after(after: Option<&str>) -> ApiResult<Option<EventAfter>> {
    let invalid = || ApiError::bad_input("after is not a cursor from this connection");
    after
        .map(|cursor| {
            let parts = decode_cursor(cursor, 2)?;
            let starts_at = chrono::DateTime::parse_from_rfc3339(&parts[0])
                .map_err(|_| invalid())?
                .with_timezone(&chrono::Utc);
            let id = parts[1].parse().map_err(|_| invalid())?;
            Ok(EventAfter { starts_at, id })
        })
        .transpose()
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
                let rest: Vec<event::Model> = within
                    .into_iter()
                    .filter(|e| {
                        after_key
                            .as_ref()
                            .is_none_or(|a| (e.starts_at, e.id) > (a.starts_at, a.id))
                    })
                    .collect();
                let page_len = usize::try_from(first).unwrap_or(usize::MAX);
                let has_next = rest.len() > page_len;
                (rest.into_iter().take(page_len).collect(), has_next, total)
            }
        };
        let edges: Vec<EventEdge> = rows
            .into_iter()
            .map(|row| EventEdge {
                cursor: encode_cursor(&[&row.starts_at.to_rfc3339(), &row.id.to_string()]),
                distance_km: near
                    .as_ref()
                    .and_then(|n| distance(n, &row))
                    .map(|d| (d * 100.0).round() / 100.0),
                node: Event(row),
            })
            .collect();
        let cursors: Vec<String> = edges.iter().map(|edge| edge.cursor.clone()).collect();
        Ok(EventConnection {
            total_count: i64::try_from(total).unwrap_or(i64::MAX),
            page_info: page_info(&cursors, has_next, after.is_some()),
            edges,
        })
    }
}
