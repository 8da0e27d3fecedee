//! `organization`: who runs services (HSDS `organization`).

use sea_orm::entity::prelude::*;

/// An organisation row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    /// The organisation's id (HSDS `organization.id`), kept from feeds and given in exports.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organisation's official or public name.
    pub name: String,
    /// What the organisation does, in words.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// The organisation's contact email address.
    pub email: Option<String>,
    /// The organisation's web site (HSDS `website`; a feed's `url` when it gives no website).
    pub website: Option<String>,
    /// The main phone number; exported as the organisation's one HSDS `phones` entry.
    pub phone: Option<String>,
    /// Its registered charity number; exported as an identifier of scheme `GB-CHC`.
    pub charity_number: Option<String>,
    /// Its Companies House number; exported as an identifier of scheme `GB-COH`.
    pub company_number: Option<String>,
    /// HSDS fields with no home in Signpost's model, kept for export.
    pub extra: Option<Json>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
