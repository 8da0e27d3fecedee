//! `schedule`: regular opening hours (HSDS `schedule`, reduced to weekly hours).

use sea_orm::entity::prelude::*;

/// A weekly opening row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "schedule")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub service_id: Uuid,
    /// 1 = Monday .. 7 = Sunday; null when the description says it all.
    pub weekday: Option<i32>,
    /// "HH:MM", UK local time.
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    pub description: Option<String>,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
