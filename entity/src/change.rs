//! `change`: the ordered feed of listing changes that the search index and partners apply.

use sea_orm::entity::prelude::*;

use crate::enums::ChangeOp;

/// A feed row; `seq` is assigned in commit order.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "change")]
pub struct Model {
    /// The feed position, rising in commit order; readers resume after the last one they saw.
    #[sea_orm(primary_key)]
    pub seq: i64,
    /// The kind of record changed: `service`, `organization`, `location` or `event`.
    pub entity: String,
    /// The changed record's id.
    pub entity_id: Uuid,
    /// What happened to the record.
    pub op: ChangeOp,
    /// When the change was written.
    pub at: DateTimeUtc,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
