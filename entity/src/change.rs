//! `change`: the ordered feed of listing changes that the search index and partners apply.

use sea_orm::entity::prelude::*;

use crate::enums::ChangeOp;

/// A feed row; `seq` is assigned in commit order.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "change")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub entity: String,
    pub entity_id: Uuid,
    pub op: ChangeOp,
    pub at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
