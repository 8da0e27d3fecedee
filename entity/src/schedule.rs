//! `schedule`: regular opening hours (HSDS `schedule`, reduced to weekly hours).

use sea_orm::entity::prelude::*;

/// A weekly opening row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "schedule")]
pub struct Model {
    /// The HSDS schedule's id; the other weekdays of one imported schedule get ids derived from it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The service these hours are for.
    pub service_id: Uuid,
    /// 1 = Monday .. 7 = Sunday; null when the description says it all.
    pub weekday: Option<i32>,
    /// "HH:MM", UK local time.
    pub opens_at: Option<String>,
    /// Closing time, as `opens_at`; after the opening time when an editor gives both.
    pub closes_at: Option<String>,
    /// Notes in words, such as "drop-in, no appointment needed" (HSDS `description`).
    pub description: Option<String>,
    /// Order among the service's opening rows, from 0.
    pub position: i32,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
