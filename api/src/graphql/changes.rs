//! `changes`: the partner sync feed, every create, update and archive in commit order.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use super::{
    pagination::{Page, PageInfo, connection, decode_after, encode_cursor},
    scalars::DateTime,
    state,
};
use crate::{auth::Caller, error::ApiError, store};

/// The most changes one page may hold.
pub const MAX_CHANGES_PAGE: i32 = 1_000;

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
#[graphql(remote = "entity::ChangeOp")]
pub enum ChangeOp {
    /// Created.
    Create,
    /// Changed.
    Update,
    /// Taken out of the directory (its status says why).
    Archive,
    /// Removed.
    Delete,
}

/// One change.
#[derive(Clone, Debug, SimpleObject)]
pub struct Change {
    /// The feed position (increasing in commit order).
    pub seq: i64,
    /// The kind of record: "service", "organization", "event", ...
    pub entity: String,
    /// The record's id; fetch it (for example with `service(id:)`) to mirror it.
    pub entity_id: ID,
    /// What happened.
    pub op: ChangeOp,
    /// When.
    pub at: DateTime,
}

/// A change with its cursor.
#[derive(Clone, Debug, SimpleObject)]
pub struct ChangeEdge {
    /// Pass as `after` to continue after this change.
    pub cursor: String,
    /// The change.
    pub node: Change,
}

/// A page of the change feed.
#[derive(Clone, Debug, SimpleObject)]
pub struct ChangeConnection {
    /// Changes after the cursor in all.
    pub total_count: i64,
    /// This page.
    pub edges: Vec<ChangeEdge>,
    /// Paging.
    pub page_info: PageInfo,
}

impl From<Page<ChangeEdge>> for ChangeConnection {
    fn from(page: Page<ChangeEdge>) -> Self {
        Self {
            total_count: page.total_count,
            edges: page.edges,
            page_info: page.page_info,
        }
    }
}

/// The change feed query.
#[derive(Default)]
pub struct ChangesQuery;

#[Object]
impl ChangesQuery {
    /// The partner sync feed, oldest first (partners and staff). Apply it from the beginning,
    /// fetching each changed record, and keep the last cursor to continue later.
    #[graphql(complexity = "first.unwrap_or(100).clamp(0, 100) as usize * child_complexity + 1")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        #[graphql(default = 100)] first: Option<i32>,
    ) -> async_graphql::Result<ChangeConnection> {
        ctx.data::<Caller>()?.require_authenticated()?;
        let first = first.unwrap_or(100);
        if !(0..=MAX_CHANGES_PAGE).contains(&first) {
            return Err(ApiError::bad_input(format!(
                "first must be between 0 and {MAX_CHANGES_PAGE}"
            ))
            .into());
        }
        let from: i64 =
            decode_after(after.as_deref(), 1, |parts| parts[0].parse().ok())?.unwrap_or(0);
        let first = u64::try_from(first).unwrap_or_default();
        let page = store::changes::page(&state(ctx)?.db, from, first).await?;
        Ok(connection(
            page.rows,
            |row| encode_cursor(&[&row.seq.to_string()]),
            |cursor, row| ChangeEdge {
                cursor,
                node: Change {
                    seq: row.seq,
                    entity: row.entity,
                    entity_id: ID(row.entity_id.to_string()),
                    op: row.op.into(),
                    at: DateTime(row.at),
                },
            },
            page.has_next_page,
            after.is_some(),
            page.total_count,
        )
        .into())
    }
}
