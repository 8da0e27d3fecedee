//! `phone`: a service's phone line (HSDS `phone`), public or professional-only.

use sea_orm::entity::prelude::*;

use crate::enums::Visibility;

/// A phone row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "phone")]
pub struct Model {
    /// The line's id (HSDS `phone.id`), kept from feeds and given in exports.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The service the line belongs to.
    pub service_id: Uuid,
    /// The phone number, never empty; an editor's is a UK number, spaces kept as given.
    pub number: String,
    /// What the line is for (HSDS `description`).
    pub description: Option<String>,
    /// Who may see it; PROFESSIONAL lines reach authenticated callers only, never HSDS output.
    pub visibility: Visibility,
    /// Order among the service's lines, from 0.
    pub position: i32,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
