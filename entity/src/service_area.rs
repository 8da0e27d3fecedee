//! `service_area`: a service's catchment (HSDS `service_area`).

use sea_orm::entity::prelude::*;

use crate::enums::ServiceAreaKind;

/// A catchment row: national, a postcode prefix, or a point and radius.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize)]
#[sea_orm(table_name = "service_area")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub service_id: Uuid,
    pub kind: ServiceAreaKind,
    /// A human name such as "Gloucestershire".
    pub name: String,
    /// Upper-case postcode area or district, without spaces ("GL", "GL50", "M33").
    pub postcode_prefix: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub radius_km: Option<f64>,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
