//! `location`: a physical place (HSDS `location` with its physical `address` folded in).

use sea_orm::entity::prelude::*;

/// A location row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "location")]
pub struct Model {
    /// The place's id (HSDS `location.id`), kept from feeds and given in exports.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The organisation that maintains the place; null when a feed names none.
    pub organization_id: Option<Uuid>,
    /// The venue's name (HSDS `location.name`).
    pub name: Option<String>,
    /// The first line of the physical address (HSDS `address_1`).
    pub address_1: Option<String>,
    /// The town or city (HSDS `city`).
    pub city: Option<String>,
    /// The county or region (HSDS `region`, or `state_province` when it differs from the city).
    pub region: Option<String>,
    /// The postcode (HSDS `postal_code`); normalised (`GL50 3AB`) when an editor gives it.
    pub postcode: Option<String>,
    /// WGS84 latitude in degrees; null when the place has no position.
    pub latitude: Option<f64>,
    /// WGS84 longitude in degrees; null when the place has no position.
    pub longitude: Option<f64>,
    /// Access information in words; a feed's HSDS `accessibility` descriptions, one a line.
    #[sea_orm(column_type = "Text", nullable)]
    pub accessibility: Option<String>,
    /// HSDS fields with no home in Signpost's model (such as a non-physical `location_type`).
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
