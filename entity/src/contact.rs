//! `contact`: a named person for a service (HSDS `contact`), public or professional-only.

use sea_orm::entity::prelude::*;

use crate::enums::Visibility;

/// A contact row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "contact")]
pub struct Model {
    /// The contact's id (HSDS `contact.id`), kept from feeds and given in exports.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The service this person is a contact for.
    pub service_id: Uuid,
    /// The person's name.
    pub name: Option<String>,
    /// Their job title or role (HSDS `title`).
    pub title: Option<String>,
    /// Their email address.
    pub email: Option<String>,
    /// Their phone number; exported as the contact's one HSDS `phones` entry.
    pub phone: Option<String>,
    /// Who may see it; PROFESSIONAL contacts reach authenticated callers only, never HSDS output.
    pub visibility: Visibility,
    /// Order among the service's contacts, from 0.
    pub position: i32,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
