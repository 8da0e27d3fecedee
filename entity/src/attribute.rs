//! `attribute`: a taxonomy term applied to a service (HSDS `attribute`).

use sea_orm::entity::prelude::*;

/// The entity kind `attribute.link_entity` names for services.
pub const LINK_ENTITY_SERVICE: &str = "service";

/// A service's taxonomy term.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "attribute")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The linked record's id; Signpost links services.
    pub link_id: Uuid,
    pub link_entity: String,
    pub link_type: Option<String>,
    pub taxonomy_term_id: Uuid,
    pub value: Option<String>,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
