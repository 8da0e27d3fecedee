//! Events: dated sessions and pop-ups, in start order.

use chrono::{DateTime, Utc};
use entity::{ServiceStatus, event, service};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, QueryTrait,
};
use uuid::Uuid;

use super::Result;

/// Keyset position after an event.
#[derive(Clone, Debug)]
pub struct EventAfter {
    /// The start of the last event seen.
    pub starts_at: DateTime<Utc>,
    /// The id of the last event seen.
    pub id: Uuid,
}

/// One page of events of active services that end after `from` and start before `to`,
/// ordered by start time then id.
pub async fn list(
    db: &DatabaseConnection,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    first: u64,
    after: Option<&EventAfter>,
) -> Result<(Vec<event::Model>, bool, u64)> {
    let active = service::Entity::find()
        .select_only()
        .column(service::Column::Id)
        .filter(service::Column::Status.eq(ServiceStatus::Active))
        .into_query();
    let mut cond = Condition::all().add(event::Column::ServiceId.in_subquery(active));
    if let Some(from) = from {
        cond = cond.add(event::Column::EndsAt.gt(from));
    }
    if let Some(to) = to {
        cond = cond.add(event::Column::StartsAt.lt(to));
    }
    let total = event::Entity::find().filter(cond.clone()).count(db).await?;
    if let Some(after) = after {
        cond = cond.add(
            Condition::any()
                .add(event::Column::StartsAt.gt(after.starts_at))
                .add(
                    Condition::all()
                        .add(event::Column::StartsAt.eq(after.starts_at))
                        .add(event::Column::Id.gt(after.id)),
                ),
        );
    }
    let mut rows = event::Entity::find()
        .filter(cond)
        .order_by_asc(event::Column::StartsAt)
        .order_by_asc(event::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    Ok((rows, has_next, total))
}
