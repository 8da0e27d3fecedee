//! The rules every stored listing obeys, whoever gives it: [`check`].

use entity::{Audience, DeliveryMode, ServiceAreaKind, codes, schedule, service, service_area};

use crate::store::{Error, Result};

use super::ListingRows;

/// The oldest age a feed may give, in months (150 years): feeds list services for every age,
/// and what they say is kept.
pub const MAX_FEED_AGE_MONTHS: f64 = 1_800.0;

/// Who gives a listing, which decides how much [`check`] asks of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// An editor, through the editing API: the directory's own bounds hold as well (infants up
    /// to 60 months, the youngest age not above the oldest, places and catchments within
    /// Great Britain and Northern Ireland, a radius for a RADIUS catchment, opening before
    /// closing, at least one referral route).
    Editor,
    /// A published feed (an HSDS document): what it says is kept wherever a listing can hold
    /// it (ages up to 150 years, catchments and opening times as published).
    Feed,
}

/// A field of a listing, as [`check`] names the one at fault; each caller writes it in its own
/// terms (`input.serviceAreas[2].radiusKm`, `/services/4/service_areas/0/extent`). Indexes
/// count the rows of [`ListingRows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The service's name.
    Name,
    /// The youngest age.
    MinAge,
    /// The oldest age.
    MaxAge,
    /// The referral routes.
    Referral,
    /// A language code.
    Language(usize),
    /// An audience code.
    Audience(usize),
    /// A delivery mode code.
    DeliveryMode(usize),
    /// A catchment as a whole.
    Area(usize),
    /// A catchment's postcode prefix.
    AreaPrefix(usize),
    /// A catchment's centre.
    AreaLatitude(usize),
    /// A catchment's radius.
    AreaRadius(usize),
    /// A catchment's administrative area code.
    AreaCode(usize),
    /// A catchment's GeoJSON polygon.
    AreaExtent(usize),
    /// A place written with the listing.
    Place(usize),
    /// A phone line's number.
    PhoneNumber(usize),
    /// An opening time's weekday.
    Weekday(usize),
    /// An opening time's opening.
    Opens(usize),
    /// An opening time's closing.
    Closes(usize),
}

/// A rule a listing breaks: the field at fault, as the caller names it, and what is wrong
/// (lowercase, without a trailing period).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invalid {
    /// The field, in the caller's terms.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl From<Invalid> for Error {
    /// An invalid-input error whose message is `"{path}: {message}"`, like every other input
    /// check.
    fn from(invalid: Invalid) -> Self {
        Error::Invalid(format!("{}: {}", invalid.path, invalid.message))
    }
}

fn invalid(path: String, message: impl Into<String>) -> Invalid {
    Invalid {
        path,
        message: message.into(),
    }
}

/// Reads a [`crate::validate`] error, whose message starts with the `path` it was given.
fn from_validate(path: &str) -> impl Fn(Error) -> Invalid + '_ {
    move |err| {
        let text = err.to_string();
        let message = text
            .strip_prefix(path)
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&text)
            .to_owned();
        invalid(path.to_owned(), message)
    }
}

/// The rules a listing obeys before it is stored, whoever gives it: its name, ages, codes
/// (languages, audiences, delivery modes, weekdays), catchments consistent with their kind,
/// phone numbers, and for editors the directory's own bounds (see [`Source`]). `path` names
/// the field at fault in the caller's terms; the first broken rule is reported.
pub fn check(
    rows: &ListingRows,
    source: Source,
    path: &dyn Fn(Field) -> String,
) -> Result<(), Invalid> {
    let service = &rows.service;
    if service.name.trim().is_empty() {
        return Err(invalid(path(Field::Name), "must not be empty"));
    }
    check_ages(service, source, path)?;
    check_codes(service, path)?;
    for (i, area) in rows.areas.iter().enumerate() {
        check_area(i, area, source, path)?;
    }
    if source == Source::Editor {
        for (i, place) in rows.places.iter().enumerate() {
            check_point(path(Field::Place(i)), place.latitude, place.longitude)?;
        }
    }
    for (i, phone) in rows.phones.iter().enumerate() {
        if phone.number.trim().is_empty() {
            return Err(invalid(path(Field::PhoneNumber(i)), "must not be empty"));
        }
    }
    for (i, opening) in rows.schedules.iter().enumerate() {
        check_opening(i, opening, source, path)?;
    }
    if source == Source::Editor && !service.self_referral && !service.professional_referral {
        return Err(invalid(
            path(Field::Referral),
            "a service takes self-referrals, professional referrals or both",
        ));
    }
    Ok(())
}

fn check_ages(
    service: &service::Model,
    source: Source,
    path: &dyn Fn(Field) -> String,
) -> Result<(), Invalid> {
    let (min, max) = (service.min_age_months, service.max_age_months);
    match source {
        Source::Editor => {
            let (min_path, max_path) = (path(Field::MinAge), path(Field::MaxAge));
            crate::validate::age_range(&min_path, &max_path, min, max).map_err(|err| {
                // The message starts with whichever of the two it names.
                let text = err.to_string();
                let at = if text.starts_with(&format!("{max_path}: ")) {
                    &max_path
                } else {
                    &min_path
                };
                from_validate(at)(err)
            })
        }
        Source::Feed => {
            for (field, age) in [(Field::MinAge, min), (Field::MaxAge, max)] {
                if age.is_some_and(|months| !(0.0..=MAX_FEED_AGE_MONTHS).contains(&months)) {
                    return Err(invalid(path(field), "must be an age from 0 to 150 years"));
                }
            }
            Ok(())
        }
    }
}

fn check_codes(service: &service::Model, path: &dyn Fn(Field) -> String) -> Result<(), Invalid> {
    for (i, code) in service.languages.0.iter().enumerate() {
        let at = path(Field::Language(i));
        crate::validate::language(&at, code).map_err(from_validate(&at))?;
    }
    for (i, code) in service.audiences.0.iter().enumerate() {
        if Audience::parse(code).is_none() {
            return Err(invalid(
                path(Field::Audience(i)),
                format!("unknown audience {code:?}"),
            ));
        }
    }
    for (i, code) in service.delivery_modes.0.iter().enumerate() {
        if DeliveryMode::parse(code).is_none() {
            return Err(invalid(
                path(Field::DeliveryMode(i)),
                format!("unknown delivery mode {code:?}"),
            ));
        }
    }
    Ok(())
}

/// A catchment holds the fields of its kind and no others: a postcode area, district or sector
/// for POSTCODE_PREFIX, a centre (and for editors a radius) for RADIUS, a known GSS code for
/// ADMINISTRATIVE_AREA, a GeoJSON polygon for POLYGON, nothing for NATIONAL.
fn check_area(
    i: usize,
    area: &service_area::Model,
    source: Source,
    path: &dyn Fn(Field) -> String,
) -> Result<(), Invalid> {
    let has_centre =
        area.latitude.is_some() || area.longitude.is_some() || area.radius_km.is_some();
    let set = [
        ("postcode prefix", area.postcode_prefix.is_some()),
        ("centre or radius", has_centre),
        ("area code", area.area_code.is_some()),
        ("extent", area.extent.is_some()),
    ];
    let own = match area.kind {
        ServiceAreaKind::National => "",
        ServiceAreaKind::PostcodePrefix => "postcode prefix",
        ServiceAreaKind::Radius => "centre or radius",
        ServiceAreaKind::AdministrativeArea => "area code",
        ServiceAreaKind::Polygon => "extent",
    };
    if let Some((other, _)) = set.iter().find(|(name, on)| *on && *name != own) {
        return Err(invalid(
            path(Field::Area(i)),
            format!(
                "a {} catchment has no {other}",
                sea_orm::ActiveEnum::to_value(&area.kind)
            ),
        ));
    }
    match area.kind {
        ServiceAreaKind::National => {}
        ServiceAreaKind::PostcodePrefix => {
            let at = path(Field::AreaPrefix(i));
            let Some(prefix) = &area.postcode_prefix else {
                return Err(invalid(at, "needed for POSTCODE_PREFIX"));
            };
            let sector = source == Source::Feed
                && search::geo::normalise_sector(prefix).as_ref() == Some(prefix);
            if !sector && search::geo::normalise_prefix(prefix).as_ref() != Some(prefix) {
                return Err(invalid(at, "not a postcode area or district"));
            }
        }
        ServiceAreaKind::Radius => {
            if source == Source::Editor {
                check_point(path(Field::Area(i)), area.latitude, area.longitude)?;
                if area.radius_km.is_none() {
                    return Err(invalid(path(Field::AreaRadius(i)), "needed for RADIUS"));
                }
            }
            if area.latitude.is_none() || area.longitude.is_none() {
                return Err(invalid(path(Field::AreaLatitude(i)), "needed for RADIUS"));
            }
            if let (Source::Editor, Some(radius)) = (source, area.radius_km) {
                let at = path(Field::AreaRadius(i));
                crate::validate::radius_km(&at, radius).map_err(from_validate(&at))?;
            }
        }
        ServiceAreaKind::AdministrativeArea => {
            let at = path(Field::AreaCode(i));
            let Some(code) = &area.area_code else {
                return Err(invalid(at, "needed for ADMINISTRATIVE_AREA"));
            };
            if search::areas::embedded().get(code).is_none() {
                return Err(invalid(at, "not a known ONS area code"));
            }
        }
        ServiceAreaKind::Polygon => {
            let at = path(Field::AreaExtent(i));
            let Some(extent) = &area.extent else {
                return Err(invalid(at, "needed for POLYGON"));
            };
            if extent.len() > MAX_EXTENT_BYTES {
                return Err(invalid(
                    at,
                    format!("a polygon of at most {MAX_EXTENT_BYTES} bytes of GeoJSON"),
                ));
            }
            if search::geo::geojson_polygons(extent).is_none() {
                return Err(invalid(at, "not a GeoJSON Polygon or MultiPolygon"));
            }
        }
    }
    Ok(())
}

/// The largest GeoJSON text a POLYGON catchment may hold.
pub const MAX_EXTENT_BYTES: usize = 1_000_000;

/// A position an editor gives: both coordinates or neither, within Great Britain and Northern
/// Ireland.
fn check_point(at: String, latitude: Option<f64>, longitude: Option<f64>) -> Result<(), Invalid> {
    match (latitude, longitude) {
        (Some(lat), Some(lon)) => {
            crate::validate::latitude_longitude(&at, lat, lon).map_err(from_validate(&at))
        }
        (None, None) => Ok(()),
        _ => Err(invalid(at, "give both latitude and longitude, or neither")),
    }
}

fn check_opening(
    i: usize,
    opening: &schedule::Model,
    source: Source,
    path: &dyn Fn(Field) -> String,
) -> Result<(), Invalid> {
    if let Some(day) = opening.weekday
        && codes::weekday(day).is_none()
    {
        return Err(invalid(
            path(Field::Weekday(i)),
            "must be from 1 (Monday) to 7 (Sunday)",
        ));
    }
    if source == Source::Editor
        && let (Some(opens), Some(closes)) = (&opening.opens_at, &opening.closes_at)
        // Zero-padded HH:MM strings order as the times do.
        && opens >= closes
    {
        return Err(invalid(
            path(Field::Closes(i)),
            format!("must be after {}", path(Field::Opens(i))),
        ));
    }
    Ok(())
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use chrono::Utc;
    use entity::{LevelOfNeed, ServiceStatus, StringList, Visibility, location, phone};
    use uuid::Uuid;

    use super::*;

    fn listing() -> ListingRows {
        let now = Utc::now();
        let id = Uuid::new_v4();
        ListingRows {
            service: service::Model {
                id,
                organization_id: Uuid::new_v4(),
                name: "Baby massage".to_owned(),
                alternate_name: None,
                description: "Gentle massage for babies and their parents.".to_owned(),
                url: None,
                email: None,
                status: ServiceStatus::Active,
                assured_date: None,
                assurer: None,
                version: 1,
                level_of_need: LevelOfNeed::Universal,
                from_pregnancy: false,
                min_age_months: Some(0.0),
                max_age_months: Some(12.0),
                audiences: StringList(vec!["MOTHERS".to_owned()]),
                eligibility_description: None,
                self_referral: true,
                professional_referral: true,
                referral_instructions: None,
                delivery_modes: StringList(vec!["GROUP".to_owned()]),
                languages: StringList(vec!["en".to_owned(), "cy".to_owned()]),
                free: true,
                fees_description: None,
                funding_source: None,
                funding_ends_on: None,
                extra: None,
                eligibility_sources: None,
                created_at: now,
                updated_at: now,
            },
            areas: vec![area(ServiceAreaKind::PostcodePrefix)],
            links: Vec::new(),
            places: Vec::new(),
            contacts: Vec::new(),
            phones: Vec::new(),
            schedules: vec![opening(Some(1), Some("09:00"), Some("17:30"))],
            attributes: Vec::new(),
        }
    }

    fn area(kind: ServiceAreaKind) -> service_area::Model {
        service_area::Model {
            id: Uuid::new_v4(),
            service_id: Uuid::nil(),
            kind,
            name: "Cheltenham".to_owned(),
            postcode_prefix: (kind == ServiceAreaKind::PostcodePrefix).then(|| "GL50".to_owned()),
            latitude: (kind == ServiceAreaKind::Radius).then_some(51.9),
            longitude: (kind == ServiceAreaKind::Radius).then_some(-2.07),
            radius_km: (kind == ServiceAreaKind::Radius).then_some(5.0),
            area_code: (kind == ServiceAreaKind::AdministrativeArea)
                .then(|| "E10000013".to_owned()),
            extent: None,
            position: 0,
        }
    }

    fn opening(weekday: Option<i32>, opens: Option<&str>, closes: Option<&str>) -> schedule::Model {
        schedule::Model {
            id: Uuid::new_v4(),
            service_id: Uuid::nil(),
            weekday,
            opens_at: opens.map(str::to_owned),
            closes_at: closes.map(str::to_owned),
            description: None,
            position: 0,
        }
    }

    /// Fields named as the editing input names them.
    fn named(field: Field) -> String {
        format!("{field:?}")
    }

    fn refused(rows: &ListingRows, source: Source) -> Invalid {
        check(rows, source, &named).unwrap_err()
    }

    #[test]
    fn a_valid_listing_passes_for_both_sources() {
        let mut rows = listing();
        rows.areas.push(area(ServiceAreaKind::Radius));
        rows.areas.push(area(ServiceAreaKind::National));
        rows.schedules.push(opening(None, None, None));
        rows.schedules.push(opening(Some(7), Some("10:00"), None));
        assert_eq!(check(&rows, Source::Editor, &named), Ok(()));
        assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
    }

    #[test]
    fn ages_hold_to_the_bounds_of_their_source() {
        let mut rows = listing();
        rows.service.max_age_months = Some(216.0);
        let invalid = refused(&rows, Source::Editor);
        assert_eq!(invalid.path, "MaxAge");
        assert!(
            invalid.message.contains("between 0 and 60 months"),
            "{invalid:?}"
        );
        assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
        rows.service.max_age_months = Some(MAX_FEED_AGE_MONTHS + 1.0);
        assert_eq!(refused(&rows, Source::Feed).path, "MaxAge");
        rows.service.max_age_months = Some(12.0);
        rows.service.min_age_months = Some(-1.0);
        assert_eq!(refused(&rows, Source::Feed).path, "MinAge");
        rows.service.min_age_months = Some(24.0);
        let invalid = refused(&rows, Source::Editor);
        assert_eq!(invalid.path, "MinAge");
        assert_eq!(invalid.message, "must not be above MaxAge");
        assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
    }

    #[test]
    fn codes_must_be_known() {
        let mut rows = listing();
        rows.service.languages.0.push("xx".to_owned());
        for source in [Source::Editor, Source::Feed] {
            let invalid = refused(&rows, source);
            assert_eq!(invalid.path, "Language(2)");
            assert!(invalid.message.contains("unknown ISO 639-1"), "{invalid:?}");
        }
        let mut rows = listing();
        rows.service.audiences.0.push("NOBODY".to_owned());
        assert_eq!(refused(&rows, Source::Feed).path, "Audience(1)");
        let mut rows = listing();
        rows.service.delivery_modes.0.push("PIGEON".to_owned());
        assert_eq!(refused(&rows, Source::Feed).path, "DeliveryMode(1)");
    }

    #[test]
    fn administrative_areas_and_polygons_hold_known_codes_and_geojson() {
        let mut rows = listing();
        rows.areas = vec![area(ServiceAreaKind::AdministrativeArea)];
        assert_eq!(check(&rows, Source::Editor, &named), Ok(()));
        rows.areas[0].area_code = Some("E99999999".to_owned());
        let invalid = refused(&rows, Source::Feed);
        assert_eq!(invalid.path, "AreaCode(0)");
        assert_eq!(invalid.message, "not a known ONS area code");
        rows.areas[0].area_code = None;
        assert_eq!(refused(&rows, Source::Editor).path, "AreaCode(0)");
        rows.areas[0].area_code = Some("E10000013".to_owned());
        rows.areas[0].postcode_prefix = Some("GL".to_owned());
        assert_eq!(refused(&rows, Source::Feed).path, "Area(0)");

        let mut rows = listing();
        rows.areas = vec![area(ServiceAreaKind::Polygon)];
        assert_eq!(refused(&rows, Source::Editor).path, "AreaExtent(0)");
        rows.areas[0].extent = Some(r#"{"type":"Point","coordinates":[0,51]}"#.to_owned());
        assert_eq!(
            refused(&rows, Source::Editor).message,
            "not a GeoJSON Polygon or MultiPolygon"
        );
        rows.areas[0].extent = Some(
            r#"{"type":"Polygon","coordinates":[[[-2.1,51.8],[-2.0,51.8],[-2.0,51.9],[-2.1,51.8]]]}"#
                .to_owned(),
        );
        assert_eq!(check(&rows, Source::Editor, &named), Ok(()));

        // A sector is a feed's prefix, not an editor's.
        let mut rows = listing();
        rows.areas[0].postcode_prefix = Some("GL50 3".to_owned());
        assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
        assert_eq!(refused(&rows, Source::Editor).path, "AreaPrefix(0)");
    }

    #[test]
    fn catchments_hold_the_fields_of_their_kind() {
        let mut rows = listing();
        rows.areas[0].postcode_prefix = None;
        let invalid = refused(&rows, Source::Feed);
        assert_eq!(invalid.path, "AreaPrefix(0)");
        assert_eq!(invalid.message, "needed for POSTCODE_PREFIX");
        rows.areas[0].postcode_prefix = Some("GL50 3AB".to_owned());
        assert_eq!(
            refused(&rows, Source::Feed).message,
            "not a postcode area or district"
        );
        let mut rows = listing();
        rows.areas = vec![area(ServiceAreaKind::National)];
        rows.areas[0].latitude = Some(51.9);
        assert_eq!(refused(&rows, Source::Feed).path, "Area(0)");

        let mut rows = listing();
        rows.areas = vec![area(ServiceAreaKind::Radius)];
        rows.areas[0].radius_km = None;
        assert_eq!(refused(&rows, Source::Editor).path, "AreaRadius(0)");
        assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
        rows.areas[0].radius_km = Some(501.0);
        assert!(
            refused(&rows, Source::Editor)
                .message
                .contains("at most 500 km")
        );
        rows.areas[0].radius_km = Some(5.0);
        rows.areas[0].longitude = None;
        let invalid = refused(&rows, Source::Editor);
        assert_eq!(invalid.path, "Area(0)");
        assert!(invalid.message.contains("give both latitude and longitude"));
        assert_eq!(refused(&rows, Source::Feed).path, "AreaLatitude(0)");
        rows.areas[0].latitude = None;
        let invalid = refused(&rows, Source::Editor);
        assert_eq!(invalid.path, "AreaLatitude(0)");
        assert_eq!(invalid.message, "needed for RADIUS");
        rows.areas[0].latitude = Some(48.85);
        rows.areas[0].longitude = Some(2.35);
        let invalid = refused(&rows, Source::Editor);
        assert!(
            invalid
                .message
                .contains("latitude must be between 49.5 and 61.5")
        );
        // Feeds publish catchments anywhere.
        assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
    }

    #[test]
    fn openings_name_a_weekday_and_editors_open_before_closing() {
        for day in [0, 8, -1, i32::MAX] {
            let mut rows = listing();
            rows.schedules[0].weekday = Some(day);
            for source in [Source::Editor, Source::Feed] {
                let invalid = refused(&rows, source);
                assert_eq!(invalid.path, "Weekday(0)");
                assert!(invalid.message.contains("1 (Monday) to 7 (Sunday)"));
            }
        }
        for (opens, closes) in [("17:00", "09:00"), ("09:00", "09:00")] {
            let mut rows = listing();
            rows.schedules = vec![opening(Some(2), Some(opens), Some(closes))];
            let invalid = refused(&rows, Source::Editor);
            assert_eq!(invalid.path, "Closes(0)");
            assert_eq!(invalid.message, "must be after Opens(0)");
            assert_eq!(check(&rows, Source::Feed, &named), Ok(()));
        }
    }

    #[test]
    fn editors_give_a_referral_route_and_places_within_bounds() {
        let mut rows = listing();
        rows.service.self_referral = false;
        rows.service.professional_referral = false;
        let invalid = refused(&rows, Source::Editor);
        assert_eq!(invalid.path, "Referral");
        assert!(
            invalid
                .message
                .contains("self-referrals, professional referrals or both")
        );
        assert_eq!(check(&rows, Source::Feed, &named), Ok(()));

        let mut rows = listing();
        let now = Utc::now();
        rows.places.push(location::Model {
            id: Uuid::new_v4(),
            organization_id: None,
            name: None,
            address_1: None,
            city: None,
            region: None,
            postcode: None,
            latitude: Some(62.0),
            longitude: Some(0.0),
            accessibility: None,
            extra: None,
            created_at: now,
            updated_at: now,
        });
        let invalid = refused(&rows, Source::Editor);
        assert_eq!(invalid.path, "Place(0)");
        assert!(
            invalid
                .message
                .contains("latitude must be between 49.5 and 61.5")
        );
        rows.places[0].latitude = None;
        assert!(refused(&rows, Source::Editor).message.contains("give both"));
    }

    #[test]
    fn names_and_phone_numbers_are_not_blank() {
        let mut rows = listing();
        rows.service.name = "  ".to_owned();
        assert_eq!(refused(&rows, Source::Feed).path, "Name");
        let mut rows = listing();
        rows.phones.push(phone::Model {
            id: Uuid::new_v4(),
            service_id: Uuid::nil(),
            number: " ".to_owned(),
            description: None,
            visibility: Visibility::Public,
            position: 0,
        });
        let invalid = refused(&rows, Source::Feed);
        assert_eq!(invalid.path, "PhoneNumber(0)");
        assert_eq!(invalid.message, "must not be empty");
    }

    #[test]
    fn an_invalid_listing_is_a_bad_input_naming_the_field() {
        let invalid = invalid("input.referral".to_owned(), "a service takes both");
        let Error::Invalid(message) = Error::from(invalid) else {
            panic!("not a bad input");
        };
        assert_eq!(message, "input.referral: a service takes both");
    }
}
