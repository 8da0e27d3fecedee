//! Organisations: keyset-paginated listing.

use entity::organization;
use sea_orm::{
    Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::{After, Result, keyset_after};

/// One page of organisations, ordered by name then id.
pub async fn list(
    db: &DatabaseConnection,
    first: u64,
    after: Option<&After>,
) -> Result<(Vec<organization::Model>, bool, u64)> {
    let total = organization::Entity::find().count(db).await?;
    let mut cond = Condition::all();
    if let Some(after) = after {
        cond = cond.add(keyset_after(
            organization::Column::Name,
            organization::Column::Id,
            after,
        ));
    }
    let mut rows = organization::Entity::find()
        .filter(cond)
        .order_by_asc(organization::Column::Name)
        .order_by_asc(organization::Column::Id)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(usize::try_from(first).unwrap_or(usize::MAX));
    Ok((rows, has_next, total))
}

/// One organisation by id.
pub async fn get(db: &DatabaseConnection, id: Uuid) -> Result<Option<organization::Model>> {
    Ok(organization::Entity::find_by_id(id).one(db).await?)
}
