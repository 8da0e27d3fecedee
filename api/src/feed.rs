//! The `change` feed: every write to a listing appends a row in the same transaction.

use chrono::Utc;
use entity::{ChangeOp, change};
use sea_orm::{
    ActiveValue::{NotSet, Set},
    ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryOrder, QuerySelect,
};
use uuid::Uuid;

/// Takes the feed's write lock for the rest of the transaction, so that sequence numbers are
/// committed in order (PostgreSQL assigns them before commit; SQLite has one writer anyway).
pub async fn lock(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("LOCK TABLE change IN SHARE ROW EXCLUSIVE MODE")
            .await?;
    }
    Ok(())
}

/// A feed row to insert.
pub fn row(entity: &str, id: Uuid, op: ChangeOp) -> change::ActiveModel {
    change::ActiveModel {
        seq: NotSet,
        entity: Set(entity.to_owned()),
        entity_id: Set(id),
        op: Set(op),
        at: Set(Utc::now()),
    }
}

/// Appends one change (call [`lock`] first in the same transaction) and returns its sequence number.
pub async fn record(
    txn: &impl ConnectionTrait,
    entity: &str,
    id: Uuid,
    op: ChangeOp,
) -> Result<i64, DbErr> {
    let inserted = change::Entity::insert(row(entity, id, op))
        .exec(txn)
        .await?;
    Ok(inserted.last_insert_id)
}

/// The newest sequence number, or 0 for an empty feed.
pub async fn head(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let newest = change::Entity::find()
        .select_only()
        .column(change::Column::Seq)
        .order_by_desc(change::Column::Seq)
        .limit(1)
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(newest.unwrap_or(0))
}
