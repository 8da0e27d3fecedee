//! Places: the `NearInput` a search or event listing measures distance from, postcode
//! resolution (with the error naming the field), and the `geocode` query.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use search::{
    Coverage, Near,
    geo::{GeoError, GeoPoint, Precision},
};

use super::state;
use crate::error::{ApiError, ApiResult};

/// How exact a resolved position is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum GeoPrecision {
    /// The postcode's own position.
    FullPostcode,
    /// The centroid of the postcode's sector.
    Sector,
    /// The centroid of the postcode district.
    District,
}

/// A resolved postcode.
#[derive(Clone, Debug, SimpleObject)]
#[graphql(name = "GeoPoint")]
pub struct GeoPointOut {
    /// The postcode as resolved ("GL51 9AA", or the sector or district used).
    pub postcode: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
    /// How exact the position is.
    pub precision: GeoPrecision,
}

/// A place to measure distance from: a postcode, or a latitude and longitude.
#[derive(Clone, Debug, Default, InputObject)]
pub struct NearInput {
    /// A UK postcode, sector or district.
    pub postcode: Option<String>,
    /// WGS84 latitude (with `longitude`, instead of a postcode).
    pub latitude: Option<f64>,
    /// WGS84 longitude.
    pub longitude: Option<f64>,
    /// Keep services within this many kilometres (of their nearest location).
    pub radius_km: Option<f64>,
}

/// The largest radius a search may ask for.
pub const MAX_RADIUS_KM: f64 = 1_000.0;

/// A postcode resolved, or a clear error naming the field.
pub fn resolve_postcode(ctx: &Context<'_>, postcode: &str, field: &str) -> ApiResult<GeoPoint> {
    let geo = state(ctx)
        .map_err(|_| ApiError::Internal(anyhow::anyhow!("no state")))?
        .indexer
        .geo()
        .clone();
    geo.resolve(postcode).map_err(|err| match err {
        GeoError::NotAPostcode => ApiError::bad_input(format!("{field}: not a UK postcode")),
        GeoError::UnknownPostcode => ApiError::bad_input(format!("{field}: unknown postcode")),
    })
}

/// Where a resolved postcode lies, for catchment matching.
pub fn coverage_of(point: &GeoPoint) -> Coverage {
    Coverage::of(point)
}

impl NearInput {
    /// Validates and resolves the input.
    pub fn resolve(&self, ctx: &Context<'_>) -> ApiResult<Near> {
        if let Some(radius) = self.radius_km
            && !(radius > 0.0 && radius <= MAX_RADIUS_KM)
        {
            return Err(ApiError::bad_input(format!(
                "near.radiusKm must be above 0 and at most {MAX_RADIUS_KM}"
            )));
        }
        match (&self.postcode, self.latitude, self.longitude) {
            (Some(postcode), None, None) => {
                let point = resolve_postcode(ctx, postcode, "near.postcode")?;
                Ok(Near {
                    latitude: point.latitude,
                    longitude: point.longitude,
                    radius_km: self.radius_km,
                    coverage: Some(coverage_of(&point)),
                })
            }
            (None, Some(latitude), Some(longitude)) => {
                if !(-90.0..=90.0).contains(&latitude) || !(-180.0..=180.0).contains(&longitude) {
                    return Err(ApiError::bad_input(
                        "near.latitude and near.longitude must be WGS84 degrees",
                    ));
                }
                let geo = state(ctx)
                    .map_err(|_| ApiError::Internal(anyhow::anyhow!("no state")))?
                    .indexer
                    .geo()
                    .clone();
                let coverage = geo
                    .nearest_sector(latitude, longitude, 5.0)
                    .and_then(|sector| geo.resolve(&sector).ok().map(|point| coverage_of(&point)));
                Ok(Near {
                    latitude,
                    longitude,
                    radius_km: self.radius_km,
                    coverage,
                })
            }
            _ => Err(ApiError::bad_input(
                "near needs either postcode, or latitude and longitude",
            )),
        }
    }
}

/// Place queries.
#[derive(Default)]
pub struct PlaceQuery;

#[Object]
impl PlaceQuery {
    /// Resolves a UK postcode (or sector, or district) to a position, offline.
    async fn geocode(
        &self,
        ctx: &Context<'_>,
        postcode: String,
    ) -> async_graphql::Result<GeoPointOut> {
        let point = resolve_postcode(ctx, &postcode, "postcode")?;
        Ok(GeoPointOut {
            postcode: point.postcode,
            latitude: point.latitude,
            longitude: point.longitude,
            precision: match point.precision {
                Precision::FullPostcode => GeoPrecision::FullPostcode,
                Precision::Sector => GeoPrecision::Sector,
                Precision::District => GeoPrecision::District,
            },
        })
    }
}
