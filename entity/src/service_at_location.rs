//! `service_at_location`: where a service is delivered (HSDS `service_at_location`).

use sea_orm::entity::prelude::*;

/// A service delivered at a location.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "service_at_location")]
pub struct Model {
    /// The link's id (HSDS `service_at_location.id`), kept from feeds and given in exports.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The service delivered.
    pub service_id: Uuid,
    /// The place it is delivered at; a service links each place at most once.
    pub location_id: Uuid,
    /// Order among the service's places, from 0.
    pub position: i32,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
