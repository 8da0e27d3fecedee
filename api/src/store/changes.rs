//! Reading the `change` feed, for partners who mirror the directory. Rows are appended by
//! `crate::feed` in the transaction of each write.

use entity::change;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::Result;

/// One page of the feed.
#[derive(Debug)]
pub struct ChangePage {
    /// The changes, oldest first.
    pub rows: Vec<change::Model>,
    /// Whether more changes follow this page.
    pub has_next_page: bool,
    /// How many changes come after the starting position in all.
    pub total_count: u64,
}

/// The first `first` changes after feed position `after` (0 for the beginning), in feed order.
pub async fn page(db: &DatabaseConnection, after: i64, first: u64) -> Result<ChangePage> {
    let query = change::Entity::find().filter(change::Column::Seq.gt(after));
    let total_count = query.clone().count(db).await?;
    let mut rows = query
        .order_by_asc(change::Column::Seq)
        .limit(first.saturating_add(1))
        .all(db)
        .await?;
    let keep = usize::try_from(first).unwrap_or(usize::MAX);
    let has_next_page = rows.len() > keep;
    rows.truncate(keep);
    Ok(ChangePage {
        rows,
        has_next_page,
        total_count,
    })
}
