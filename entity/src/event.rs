//! `event`: a dated session or pop-up of a service (for example an information-bus stop).

use sea_orm::entity::prelude::*;

/// An event row.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "event")]
pub struct Model {
    /// The event's id (from a feed's `events` extension, or random when an editor adds it).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The service running the event.
    pub service_id: Uuid,
    /// What the event is called.
    pub title: String,
    /// What happens there, in words.
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// When it starts.
    pub starts_at: DateTimeUtc,
    /// When it ends: after the start, by at most 14 days.
    pub ends_at: DateTimeUtc,
    /// The venue's name.
    pub place_name: Option<String>,
    /// The venue's address, as free text.
    pub address: Option<String>,
    /// The venue's postcode (normalised, `GL50 3AB`, when an editor gives it).
    pub postcode: Option<String>,
    /// The venue's WGS84 latitude in degrees; null when unknown.
    pub latitude: Option<f64>,
    /// The venue's WGS84 longitude in degrees; null when unknown.
    pub longitude: Option<f64>,
    /// When the row was created.
    pub created_at: DateTimeUtc,
    /// When the row last changed.
    pub updated_at: DateTimeUtc,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
