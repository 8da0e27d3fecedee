//! `attribute`: a taxonomy term applied to a service (HSDS `attribute`).

use sea_orm::entity::prelude::*;

/// The entity kind `attribute.link_entity` names for services.
pub const LINK_ENTITY_SERVICE: &str = "service";

/// A service's taxonomy term.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "attribute")]
pub struct Model {
    /// The link's id (HSDS `attribute.id`), kept from feeds and given in exports.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The linked record's id; Signpost links services.
    pub link_id: Uuid,
    /// The kind of record `link_id` names: always [`LINK_ENTITY_SERVICE`] here.
    pub link_entity: String,
    /// HSDS `link_type` (what the term describes, such as eligibility); null from editors.
    pub link_type: Option<String>,
    /// The term applied to the service.
    pub taxonomy_term_id: Uuid,
    /// HSDS `value`: a value the term carries for this service, if a feed gives one.
    pub value: Option<String>,
    /// Order among the service's terms, from 0.
    pub position: i32,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
