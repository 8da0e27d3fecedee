//! `service_area`: a service's catchment (HSDS `service_area`).

use sea_orm::entity::prelude::*;

use crate::enums::ServiceAreaKind;

/// A catchment row: national, a postcode prefix or sector, a point and radius, an
/// administrative area, or a polygon.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel, serde::Serialize, serde::Deserialize)]
#[sea_orm(table_name = "service_area")]
pub struct Model {
    /// The HSDS service area's id; further postcodes of one imported area get ids derived from it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The service whose catchment this is.
    pub service_id: Uuid,
    /// Which of the fields below are set.
    pub kind: ServiceAreaKind,
    /// A human name such as "Gloucestershire".
    pub name: String,
    /// Upper-case postcode area or district, without spaces ("GL", "GL50", "M33"), or a sector
    /// with its space ("S17 3").
    pub postcode_prefix: Option<String>,
    /// The centre's WGS84 latitude in degrees, for RADIUS only.
    pub latitude: Option<f64>,
    /// The centre's WGS84 longitude in degrees, for RADIUS only.
    pub longitude: Option<f64>,
    /// The radius in kilometres, for RADIUS only (0 to 500 from editors; a feed may omit it).
    pub radius_km: Option<f64>,
    /// The ONS (GSS) code of the area ("E08000009"), for ADMINISTRATIVE_AREA only.
    pub area_code: Option<String>,
    /// The GeoJSON text of the polygon, kept as given, for POLYGON only.
    pub extent: Option<String>,
    /// Order among the service's catchments, from 0.
    pub position: i32,
}

/// No relations are declared: the store loads related rows by their id columns.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
