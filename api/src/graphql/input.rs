//! Reading mutation input fields: ids and the optional email addresses, web addresses, phone
//! numbers and positions every domain's inputs share, each error naming the field at fault.

use async_graphql::ID;

use crate::{
    error::{ApiError, ApiResult},
    validate,
};

/// Reads an id argument or input field; the message names `field` like every other check here.
pub(super) fn id_arg(id: &ID, field: &str) -> ApiResult<uuid::Uuid> {
    validate::uuid(field, id.as_str()).map_err(ApiError::from)
}

/// An optional email address: blank is none, anything else must be valid.
pub(super) fn opt_email(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| validate::email(field, v))
        .transpose()
        .map_err(ApiError::from)
}

/// An optional web address: blank is none, anything else must be valid.
pub(super) fn opt_url(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| validate::url(field, v))
        .transpose()
        .map_err(ApiError::from)
}

/// An optional UK phone number: blank is none, anything else must be valid.
pub(super) fn opt_phone(field: &str, value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| validate::uk_phone(field, v))
        .transpose()
        .map_err(ApiError::from)
}

/// An optional position: both coordinates or neither, and valid WGS84 when given.
pub(super) fn point(
    field: &str,
    latitude: Option<f64>,
    longitude: Option<f64>,
) -> ApiResult<(Option<f64>, Option<f64>)> {
    match (latitude, longitude) {
        (Some(lat), Some(lon)) => {
            validate::latitude_longitude(field, lat, lon)?;
            Ok((Some(lat), Some(lon)))
        }
        (None, None) => Ok((None, None)),
        _ => Err(ApiError::bad_input(format!(
            "{field}: give both latitude and longitude, or neither"
        ))),
    }
}
