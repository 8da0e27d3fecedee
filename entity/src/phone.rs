//! `phone`: a service's phone line (HSDS `phone`), public or professional-only.

use sea_orm::entity::prelude::*;

use crate::enums::Visibility;

/// A phone row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "phone")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub service_id: Uuid,
    pub number: String,
    pub description: Option<String>,
    pub visibility: Visibility,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
