//! Database work, by domain. Functions take a connection and plain Rust values and return the
//! store's own [`Error`]; GraphQL types and error codes stay in `graphql` and `error`, HTTP
//! statuses in `openreferral`.

pub mod accounts;
pub mod audit;
pub mod changes;
pub mod editing;
pub mod error;
pub mod event;
pub mod listing;
pub mod openreferral;
pub mod organization;
pub mod records;
pub mod service;
pub mod taxonomy;

use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
    sea_query::{Expr, ExprTrait, SimpleExpr},
};
use uuid::Uuid;

pub use error::{Error, Result};

/// Keyset position after a row ordered by a text key then id.
#[derive(Clone, Debug)]
pub struct After {
    /// The sort key of the last row seen.
    pub key: String,
    /// The id of the last row seen.
    pub id: Uuid,
}

/// `(key > after.key) OR (key = after.key AND id > after.id)`.
pub fn keyset_after<C: ColumnTrait>(key: C, id: C, after: &After) -> Condition {
    Condition::any().add(key.gt(after.key.clone())).add(
        Condition::all()
            .add(key.eq(after.key.clone()))
            .add(id.gt(after.id)),
    )
}

/// A JSON list column holds any of `codes` (codes are fixed upper-case tokens or ISO codes).
pub fn json_list_contains_any(column: &'static str, codes: &[String]) -> Condition {
    codes.iter().fold(Condition::any(), |any, code| {
        let pattern = format!("%\"{}\"%", code.replace(['%', '"', '\\'], ""));
        any.add::<SimpleExpr>(Expr::cust(format!("CAST({column} AS TEXT)")).like(pattern))
    })
}

/// Loads the rows of `E` whose `column` is one of `ids`, in chunks the databases accept.
pub async fn find_by_ids<E, C>(
    db: &impl sea_orm::ConnectionTrait,
    column: C,
    ids: &[Uuid],
) -> Result<Vec<E::Model>, sea_orm::DbErr>
where
    E: EntityTrait,
    C: ColumnTrait,
{
    let mut rows = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(5_000) {
        rows.extend(
            E::find()
                .filter(column.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    Ok(rows)
}

/// Starts a write transaction. On SQLite the write lock is taken at `BEGIN IMMEDIATE`, so
/// concurrent writers queue (on the busy timeout) and then read what the previous one
/// committed; a deferred transaction would read first and fail with `SQLITE_BUSY` when it came
/// to write, an internal error where the caller should get CONFLICT.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, sea_orm::DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}
