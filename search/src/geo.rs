//! Offline UK postcode geography: parsing, the GB postcode-sector table (derived from OS
//! Code-Point Open, see `data/README.md`), optional full-postcode precision, and distances.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read},
    path::Path,
};

use crate::osgb::osgb36_to_wgs84;

/// The sector table compiled into the binary.
const SECTORS_CSV: &str = include_str!("../../data/postcode-sectors.csv");

/// How exact a resolved position is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// The postcode's own position (after `signpost import-postcodes`).
    FullPostcode,
    /// The centroid of the postcode's sector ("GL50 3").
    Sector,
    /// The centroid of the postcode district ("GL50").
    District,
}

/// Why a postcode could not be resolved.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GeoError {
    /// Not shaped like a UK postcode.
    #[error("not a UK postcode")]
    NotAPostcode,
    /// Well formed, but not in the table.
    #[error("unknown postcode")]
    UnknownPostcode,
}

/// A parsed UK postcode: the outward code, and the inward code when given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Postcode {
    /// The postcode area letters ("GL").
    pub area: String,
    /// The outward code, or district ("GL50").
    pub outward: String,
    /// The inward code ("3AB"), or its sector digit alone ("3"), when given.
    pub inward: Option<String>,
}

impl Postcode {
    /// Parses a full postcode ("gl50 3ab"), a sector ("GL50 3") or a district ("GL50").
    pub fn parse(input: &str) -> Result<Self, GeoError> {
        let compact: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        if compact.len() > 8 || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(GeoError::NotAPostcode);
        }
        let has_space = input.trim().contains(' ');
        // A full postcode ends in digit + two letters.
        let bytes = compact.as_bytes();
        let full = bytes.len() >= 5
            && bytes[bytes.len() - 3].is_ascii_digit()
            && bytes[bytes.len() - 2].is_ascii_alphabetic()
            && bytes[bytes.len() - 1].is_ascii_alphabetic();
        let (outward, inward) = if full {
            (
                &compact[..compact.len() - 3],
                Some(compact[compact.len() - 3..].to_owned()),
            )
        } else if has_space && bytes.len() >= 3 && bytes[bytes.len() - 1].is_ascii_digit() {
            (
                &compact[..compact.len() - 1],
                Some(compact[compact.len() - 1..].to_owned()),
            )
        } else {
            (compact.as_str(), None)
        };
        let area = valid_outward(outward).ok_or(GeoError::NotAPostcode)?;
        Ok(Self {
            area,
            outward: outward.to_owned(),
            inward,
        })
    }

    /// The sector ("GL50 3"), when the inward code was given.
    pub fn sector(&self) -> Option<String> {
        let digit = self.inward.as_ref()?.chars().next()?;
        Some(format!("{} {}", self.outward, digit))
    }

    /// The whole postcode with its space ("GL50 3AB"), when complete.
    pub fn full(&self) -> Option<String> {
        self.inward
            .as_ref()
            .filter(|inward| inward.len() == 3)
            .map(|inward| format!("{} {inward}", self.outward))
    }
}

/// Checks an outward code (A9, A99, AA9, AA99, A9A, AA9A) and returns its area letters.
fn valid_outward(outward: &str) -> Option<String> {
    let letters: String = outward
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .collect();
    if letters.is_empty() || letters.len() > 2 {
        return None;
    }
    let rest = &outward[letters.len()..];
    let rest_bytes = rest.as_bytes();
    let ok = match rest_bytes {
        [d] => d.is_ascii_digit(),
        [d, e] => d.is_ascii_digit() && (e.is_ascii_digit() || e.is_ascii_alphabetic()),
        _ => false,
    };
    ok.then_some(letters)
}

/// The UK's postcode areas (with the Channel Islands' and the Isle of Man's): the letters every
/// postcode starts with.
pub const POSTCODE_AREAS: &[&str] = &[
    "AB", "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "BT", "CA", "CB", "CF", "CH",
    "CM", "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT", "DY", "E",
    "EC", "EH", "EN", "EX", "FK", "FY", "G", "GL", "GU", "GY", "HA", "HD", "HG", "HP", "HR", "HS",
    "HU", "HX", "IG", "IM", "IP", "IV", "JE", "KA", "KT", "KW", "KY", "L", "LA", "LD", "LE", "LL",
    "LN", "LS", "LU", "M", "ME", "MK", "ML", "N", "NE", "NG", "NN", "NP", "NR", "NW", "OL", "OX",
    "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM", "S", "SA", "SE", "SG", "SK", "SL", "SM",
    "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN", "TQ", "TR", "TS", "TW",
    "UB", "W", "WA", "WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
];

/// Validates a catchment prefix: a postcode area ("GL") or district ("GL50") of a real area,
/// upper-cased, without spaces. Two letters that name no area ("UK") are not a prefix.
pub fn normalise_prefix(input: &str) -> Option<String> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let area = if !compact.is_empty()
        && compact.len() <= 2
        && compact.chars().all(|c| c.is_ascii_alphabetic())
    {
        compact.clone()
    } else {
        valid_outward(&compact)?
    };
    POSTCODE_AREAS.contains(&area.as_str()).then_some(compact)
}

/// Validates a postcode sector ("s17 3" -> "S17 3"): a district of a real area, a space, and
/// the sector digit.
pub fn normalise_sector(input: &str) -> Option<String> {
    let parsed = Postcode::parse(input).ok()?;
    let inward = parsed.inward.as_ref()?;
    (inward.len() == 1 && POSTCODE_AREAS.contains(&parsed.area.as_str()))
        .then(|| format!("{} {inward}", parsed.outward))
}

/// A resolved position.
#[derive(Clone, Debug, PartialEq)]
pub struct GeoPoint {
    /// The postcode as resolved, normalised ("GL50 3AB", "GL50 3" or "GL50").
    pub postcode: String,
    /// WGS84 latitude.
    pub latitude: f64,
    /// WGS84 longitude.
    pub longitude: f64,
    /// How exact the position is.
    pub precision: Precision,
    /// The parsed postcode.
    pub parsed: Postcode,
    /// GSS codes of the areas it lies in (district, county, metropolitan county or region,
    /// country): its sector's, or for a district the codes all its sectors share.
    pub codes: Vec<String>,
}

#[derive(Clone, Debug)]
struct Sector {
    name: String,
    latitude: f64,
    longitude: f64,
}

/// Resolves postcodes to positions, offline.
#[derive(Debug)]
pub struct Geocoder {
    sectors: HashMap<String, (f64, f64)>,
    /// Each sector's area codes, with the areas they lie within.
    codes: HashMap<String, Vec<String>>,
    /// The codes every sector of a district shares.
    district_codes: HashMap<String, Vec<String>>,
    /// Sectors sorted by latitude, for radius look-ups.
    by_latitude: Vec<Sector>,
    districts: HashMap<String, (f64, f64)>,
    full: Option<FullPostcodes>,
}

impl Geocoder {
    /// The embedded sector table alone.
    pub fn embedded() -> Self {
        let mut sectors = HashMap::new();
        let mut sums: HashMap<String, (f64, f64, f64)> = HashMap::new();
        let mut by_latitude = Vec::new();
        let mut codes = HashMap::new();
        let mut district_codes: HashMap<String, Vec<String>> = HashMap::new();
        let areas = crate::areas::embedded();
        for line in SECTORS_CSV.lines().skip(1) {
            let mut parts = line.split(',');
            let (Some(name), Some(lat), Some(lon), Some(count)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let mut here: Vec<String> = Vec::new();
            for code in parts.filter(|c| !c.is_empty()) {
                for code in areas.with_ancestors(code) {
                    if !here.contains(&code) {
                        here.push(code);
                    }
                }
            }
            if let Some((district, _)) = name.split_once(' ') {
                match district_codes.get_mut(district) {
                    Some(shared) => shared.retain(|c| here.contains(c)),
                    None => {
                        district_codes.insert(district.to_owned(), here.clone());
                    }
                }
            }
            codes.insert(name.to_owned(), here);
            let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) else {
                continue;
            };
            let weight = count.trim().parse::<f64>().unwrap_or(1.0).max(1.0);
            if let Some((district, _)) = name.split_once(' ') {
                let entry = sums.entry(district.to_owned()).or_default();
                entry.0 += lat * weight;
                entry.1 += lon * weight;
                entry.2 += weight;
            }
            sectors.insert(name.to_owned(), (lat, lon));
            by_latitude.push(Sector {
                name: name.to_owned(),
                latitude: lat,
                longitude: lon,
            });
        }
        by_latitude.sort_by(|a, b| a.latitude.total_cmp(&b.latitude));
        let districts = sums
            .into_iter()
            .map(|(d, (la, lo, w))| (d, (la / w, lo / w)))
            .collect();
        Self {
            sectors,
            codes,
            district_codes,
            by_latitude,
            districts,
            full: None,
        }
    }

    /// Adds full-postcode precision from a file written by [`write_full_postcodes`].
    pub fn with_full_postcodes(mut self, path: &Path) -> std::io::Result<Self> {
        self.full = Some(FullPostcodes::open(path)?);
        Ok(self)
    }

    /// Whether full-postcode precision is loaded.
    pub fn has_full_postcodes(&self) -> bool {
        self.full.is_some()
    }

    /// How many sectors the table holds.
    pub fn sector_count(&self) -> usize {
        self.sectors.len()
    }

    /// Resolves a full postcode, a sector or a district.
    pub fn resolve(&self, input: &str) -> Result<GeoPoint, GeoError> {
        let parsed = Postcode::parse(input)?;
        if let (Some(full), Some(table)) = (parsed.full(), &self.full)
            && let Some((latitude, longitude)) = table.get(&full)
        {
            let codes = self.sector_codes(parsed.sector().as_deref());
            return Ok(GeoPoint {
                postcode: full,
                latitude,
                longitude,
                precision: Precision::FullPostcode,
                parsed,
                codes,
            });
        }
        if let Some(sector) = parsed.sector() {
            let (latitude, longitude) =
                *self.sectors.get(&sector).ok_or(GeoError::UnknownPostcode)?;
            let codes = self.sector_codes(Some(&sector));
            let postcode = parsed.full().unwrap_or(sector);
            return Ok(GeoPoint {
                postcode,
                latitude,
                longitude,
                precision: Precision::Sector,
                parsed,
                codes,
            });
        }
        let (latitude, longitude) = *self
            .districts
            .get(&parsed.outward)
            .ok_or(GeoError::UnknownPostcode)?;
        Ok(GeoPoint {
            postcode: parsed.outward.clone(),
            latitude,
            longitude,
            precision: Precision::District,
            codes: self
                .district_codes
                .get(&parsed.outward)
                .cloned()
                .unwrap_or_default(),
            parsed,
        })
    }

    /// A sector's area codes (none for an unknown sector).
    pub fn sector_codes(&self, sector: Option<&str>) -> Vec<String> {
        sector
            .and_then(|s| self.codes.get(s))
            .cloned()
            .unwrap_or_default()
    }

    /// Every sector whose centroid lies inside a GeoJSON `Polygon` or `MultiPolygon` (holes
    /// excluded), given bare or in a `Feature`, `FeatureCollection` or `GeometryCollection`;
    /// `None` when the text holds no polygon.
    pub fn sectors_in_geojson(&self, geojson: &str) -> Option<Vec<String>> {
        let polygons = geojson_polygons(geojson)?;
        let mut out = Vec::new();
        for polygon in &polygons {
            let Some((min_lat, max_lat, min_lon, max_lon)) = polygon.bounds() else {
                continue;
            };
            let start = self.by_latitude.partition_point(|s| s.latitude < min_lat);
            out.extend(
                self.by_latitude[start..]
                    .iter()
                    .take_while(|s| s.latitude <= max_lat)
                    .filter(|s| (min_lon..=max_lon).contains(&s.longitude))
                    .filter(|s| polygon.contains(s.longitude, s.latitude))
                    .map(|s| s.name.clone()),
            );
        }
        out.sort();
        out.dedup();
        Some(out)
    }

    /// The sector whose centroid is nearest the point, within `max_km`.
    pub fn nearest_sector(&self, latitude: f64, longitude: f64, max_km: f64) -> Option<String> {
        let dlat = max_km / 111.0;
        let start = self
            .by_latitude
            .partition_point(|s| s.latitude < latitude - dlat);
        self.by_latitude[start..]
            .iter()
            .take_while(|s| s.latitude <= latitude + dlat)
            .map(|s| (distance_km(latitude, longitude, s.latitude, s.longitude), s))
            .filter(|(d, _)| *d <= max_km)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, s)| s.name.clone())
    }

    /// Every sector whose centroid lies within `radius_km` of the point.
    pub fn sectors_within(&self, latitude: f64, longitude: f64, radius_km: f64) -> Vec<String> {
        let dlat = radius_km / 111.0;
        let start = self
            .by_latitude
            .partition_point(|s| s.latitude < latitude - dlat);
        let dlon = longitude_span(latitude, radius_km);
        self.by_latitude[start..]
            .iter()
            .take_while(|s| s.latitude <= latitude + dlat)
            .filter(|s| (s.longitude - longitude).abs() <= dlon)
            .filter(|s| distance_km(latitude, longitude, s.latitude, s.longitude) <= radius_km)
            .map(|s| s.name.clone())
            .collect()
    }
}

/// A GeoJSON polygon: its outer ring, then its holes, as (longitude, latitude) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Polygon {
    /// The outer ring first, then the holes.
    pub rings: Vec<Vec<(f64, f64)>>,
}

impl Polygon {
    /// (min latitude, max latitude, min longitude, max longitude) of the outer ring.
    fn bounds(&self) -> Option<(f64, f64, f64, f64)> {
        let outer = self.rings.first().filter(|r| !r.is_empty())?;
        let mut b = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(lon, lat) in outer {
            b = (b.0.min(lat), b.1.max(lat), b.2.min(lon), b.3.max(lon));
        }
        Some(b)
    }

    /// Whether the point is inside the outer ring and outside every hole.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        let mut rings = self.rings.iter();
        rings.next().is_some_and(|outer| in_ring(outer, lon, lat))
            && !rings.any(|hole| in_ring(hole, lon, lat))
    }
}

/// Even-odd ray casting.
fn in_ring(ring: &[(f64, f64)], x: f64, y: f64) -> bool {
    let mut inside = false;
    let mut j = ring.len().wrapping_sub(1);
    for i in 0..ring.len() {
        let (xi, yi) = ring[i];
        let (xj, yj) = ring[j];
        if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

/// The polygons of a GeoJSON text: a `Polygon` or `MultiPolygon`, bare or in a `Feature`,
/// `FeatureCollection` or `GeometryCollection`. `None` when it is not JSON, holds no polygon, or
/// a polygon is malformed (a ring of fewer than four points, or a coordinate that is not a
/// WGS84 longitude and latitude).
pub fn geojson_polygons(geojson: &str) -> Option<Vec<Polygon>> {
    let value: serde_json::Value = serde_json::from_str(geojson).ok()?;
    let mut out = Vec::new();
    collect_polygons(&value, &mut out, 0)?;
    (!out.is_empty()).then_some(out)
}

fn collect_polygons(value: &serde_json::Value, out: &mut Vec<Polygon>, depth: u8) -> Option<()> {
    if depth > 4 {
        return None;
    }
    match value.get("type")?.as_str()? {
        "Polygon" => out.push(polygon(value.get("coordinates")?)?),
        "MultiPolygon" => {
            for p in value.get("coordinates")?.as_array()? {
                out.push(polygon(p)?);
            }
        }
        "Feature" => collect_polygons(value.get("geometry")?, out, depth + 1)?,
        "FeatureCollection" => {
            for f in value.get("features")?.as_array()? {
                collect_polygons(f, out, depth + 1)?;
            }
        }
        "GeometryCollection" => {
            for g in value.get("geometries")?.as_array()? {
                collect_polygons(g, out, depth + 1)?;
            }
        }
        _ => return None,
    }
    Some(())
}

fn polygon(coordinates: &serde_json::Value) -> Option<Polygon> {
    let rings = coordinates
        .as_array()?
        .iter()
        .map(|ring| {
            let points = ring
                .as_array()?
                .iter()
                .map(|p| {
                    let p = p.as_array()?;
                    let (lon, lat) = (p.first()?.as_f64()?, p.get(1)?.as_f64()?);
                    ((-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat))
                        .then_some((lon, lat))
                })
                .collect::<Option<Vec<_>>>()?;
            (points.len() >= 4).then_some(points)
        })
        .collect::<Option<Vec<_>>>()?;
    (!rings.is_empty()).then_some(Polygon { rings })
}

/// Degrees of longitude that surely cover `km` either side of a point at `latitude` (with a
/// margin, so that a box test can rule points out before the exact distance is computed).
pub fn longitude_span(latitude: f64, km: f64) -> f64 {
    let cos = latitude.abs().min(89.0).to_radians().cos();
    // Along the parallel of the box's edge nearest a pole a degree is shortest.
    let edge = (latitude.abs() + km / 111.0).min(89.0).to_radians().cos();
    km * 1.01 / (111.0 * cos.min(edge)) + 1e-6
}

/// Mean Earth radius in kilometres.
pub(crate) const EARTH_KM: f64 = 6_371.008_8;

/// Great-circle distance in kilometres (haversine, mean Earth radius).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    Origin::new(lat1, lon1).distance_km(lat2, lon2)
}

/// A point many distances are measured from: its latitude's cosine is worked out once.
/// [`Origin::distance_km`] gives exactly what [`distance_km`] does from the same point.
#[derive(Clone, Copy, Debug)]
pub struct Origin {
    latitude: f64,
    longitude: f64,
    cos_latitude: f64,
}

impl Origin {
    /// Distances from `(latitude, longitude)`, in degrees.
    pub fn new(latitude: f64, longitude: f64) -> Self {
        Origin {
            latitude,
            longitude,
            cos_latitude: latitude.to_radians().cos(),
        }
    }

    /// Great-circle distance in kilometres to a point (haversine, mean Earth radius).
    #[inline]
    pub fn distance_km(&self, latitude: f64, longitude: f64) -> f64 {
        self.distance_km_from_cos(latitude, longitude, cosine_of_latitude(latitude))
    }

    /// [`Origin::distance_km`] to a point whose [`cosine_of_latitude`] is known: the same
    /// distance, bit for bit.
    #[inline]
    pub fn distance_km_from_cos(&self, latitude: f64, longitude: f64, cos_latitude: f64) -> f64 {
        let dphi = (latitude - self.latitude).to_radians();
        let dlambda = (longitude - self.longitude).to_radians();
        let a = (dphi / 2.0).sin().powi(2)
            + self.cos_latitude * cos_latitude * (dlambda / 2.0).sin().powi(2);
        2.0 * EARTH_KM * a.sqrt().min(1.0).asin()
    }
}

/// The cosine of a latitude in degrees, as [`Origin::distance_km`] works it out.
#[inline]
pub fn cosine_of_latitude(latitude: f64) -> f64 {
    latitude.to_radians().cos()
}

/// A point (degrees) on the unit sphere.
pub fn unit_vector(latitude: f64, longitude: f64) -> [f64; 3] {
    let (phi, lambda) = (latitude.to_radians(), longitude.to_radians());
    [
        phi.cos() * lambda.cos(),
        phi.cos() * lambda.sin(),
        phi.sin(),
    ]
}

/// A point on the unit sphere kept in single precision: enough to tell, from the chord, most
/// points within a distance of another from those beyond it (see [`ChordRadius`]).
pub fn unit_vector_f32(latitude: f64, longitude: f64) -> [f32; 3] {
    #[expect(
        clippy::cast_possible_truncation,
        reason = "single precision, see ChordRadius"
    )]
    unit_vector(latitude, longitude).map(|c| c as f32)
}

/// A distance from a point, to tell which points lie within it without measuring most of
/// them. The great-circle distance and the chord between two points grow together
/// (d = 2R asin(chord / 2)), so a point whose squared chord is clearly below that of the
/// distance lies within it and one clearly above lies beyond. "Clearly" allows for the single
/// precision points are kept in (an error of at most 2.2e-7 times the chord) and more; points
/// in between, at the very edge, are measured with [`distance_km`], whose answer is the one
/// given for every point.
#[derive(Clone, Copy, Debug)]
pub struct ChordRadius {
    km: f64,
    /// The point measured from.
    from: (f64, f64),
    unit: [f64; 3],
    /// Below this squared chord a point surely lies within; above `beyond`, surely not.
    within: f64,
    beyond: f64,
}

impl ChordRadius {
    /// `km` from `(latitude, longitude)`.
    pub fn new((latitude, longitude): (f64, f64), km: f64) -> Self {
        let (within, beyond) = if (0.0..=10_000.0).contains(&km) {
            let chord = 2.0 * (km / (2.0 * EARTH_KM)).sin();
            let margin = 1e-6 * chord + 1e-9 * chord * chord + 1e-12;
            (chord * chord - margin, chord * chord + margin)
        } else {
            // Far distances (or none) are always measured.
            (f64::NEG_INFINITY, f64::INFINITY)
        };
        ChordRadius {
            km,
            from: (latitude, longitude),
            unit: unit_vector(latitude, longitude),
            within,
            beyond,
        }
    }

    #[inline]
    fn chord2(&self, unit: &[f32; 3]) -> f64 {
        let [x, y, z] = self.unit;
        (x - f64::from(unit[0])).powi(2)
            + (y - f64::from(unit[1])).powi(2)
            + (z - f64::from(unit[2])).powi(2)
    }

    /// Whether the point kept on the unit sphere as `unit` lies within the distance, as
    /// `distance_km(from, point) <= km` tells: the point's `(latitude, longitude)` are read
    /// only when it lies at the edge.
    #[inline]
    pub fn holds(&self, unit: &[f32; 3], point: impl FnOnce() -> (f64, f64)) -> bool {
        let chord2 = self.chord2(unit);
        if chord2 < self.within {
            true
        } else if chord2 > self.beyond {
            false
        } else {
            let (latitude, longitude) = point();
            distance_km(self.from.0, self.from.1, latitude, longitude) <= self.km
        }
    }

    /// Whether the point `unit` on the unit sphere (in double precision) surely lies within
    /// the distance, by a margin wider than any rounding of a point near it: `false` says
    /// nothing.
    #[inline]
    pub fn surely_holds(&self, unit: [f64; 3]) -> bool {
        let [x, y, z] = self.unit;
        (x - unit[0]).powi(2) + (y - unit[1]).powi(2) + (z - unit[2]).powi(2) < self.within
    }

    /// Whether the point kept as `unit` surely lies farther than the distance: `false` says
    /// nothing.
    #[inline]
    pub fn surely_beyond(&self, unit: &[f32; 3]) -> bool {
        self.chord2(unit) > self.beyond
    }
}

/// Fixed-width records: 8 bytes of postcode (no space, right-padded), then f32 latitude and
/// longitude, little-endian; sorted by postcode.
const RECORD: usize = 16;

#[derive(Debug)]
struct FullPostcodes {
    data: Vec<u8>,
}

fn record_key(postcode: &str) -> [u8; 8] {
    let mut key = [b' '; 8];
    for (slot, byte) in key.iter_mut().zip(postcode.bytes().filter(|b| *b != b' ')) {
        *slot = byte;
    }
    key
}

impl FullPostcodes {
    fn open(path: &Path) -> std::io::Result<Self> {
        let data = std::fs::read(path)?;
        if !data.len().is_multiple_of(RECORD) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the postcode file is damaged",
            ));
        }
        Ok(Self { data })
    }

    fn get(&self, postcode: &str) -> Option<(f64, f64)> {
        let key = record_key(postcode);
        let count = self.data.len() / RECORD;
        let (mut lo, mut hi) = (0usize, count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let record = &self.data[mid * RECORD..(mid + 1) * RECORD];
            match record[..8].cmp(&key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    let lat = f32::from_le_bytes([record[8], record[9], record[10], record[11]]);
                    let lon = f32::from_le_bytes([record[12], record[13], record[14], record[15]]);
                    return Some((f64::from(lat), f64::from(lon)));
                }
            }
        }
        None
    }
}

/// Reads Code-Point Open CSV rows (`postcode,quality,easting,northing[,...]`, optionally
/// quoted, with or without a header) and returns the postcodes with WGS84 positions. Rows
/// without coordinates (quality 90) are skipped.
pub fn read_code_point_csv(reader: impl Read) -> std::io::Result<Vec<(String, f64, f64)>> {
    let mut out = Vec::new();
    for line in BufReader::new(reader).lines() {
        let line = line?;
        let fields: Vec<&str> = line
            .trim_end_matches('\r')
            .split(',')
            .map(|f| f.trim().trim_matches('"'))
            .collect();
        if fields.len() < 4 {
            continue;
        }
        let (Ok(quality), Ok(easting), Ok(northing)) = (
            fields[1].parse::<u32>(),
            fields[2].parse::<f64>(),
            fields[3].parse::<f64>(),
        ) else {
            continue; // a header or a malformed row
        };
        if quality >= 90 || (easting == 0.0 && northing == 0.0) {
            continue;
        }
        let Ok(parsed) = Postcode::parse(fields[0]) else {
            continue;
        };
        let Some(full) = parsed.full() else { continue };
        let (lat, lon) = osgb36_to_wgs84(easting, northing);
        out.push((full, lat, lon));
    }
    Ok(out)
}

/// Reads every Code-Point Open CSV (`.csv` or gzipped `.csv.gz`) under `dir`.
pub fn read_code_point_dir(dir: &Path) -> std::io::Result<Vec<(String, f64, f64)>> {
    let mut rows = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if name.ends_with(".csv.gz") {
            let file = std::fs::File::open(&path)?;
            rows.extend(read_code_point_csv(flate2::read::GzDecoder::new(file))?);
        } else if name.ends_with(".csv") {
            rows.extend(read_code_point_csv(std::fs::File::open(&path)?)?);
        }
    }
    Ok(rows)
}

/// Writes the full-postcode file that [`Geocoder::with_full_postcodes`] reads.
pub fn write_full_postcodes(
    mut rows: Vec<(String, f64, f64)>,
    path: &Path,
) -> std::io::Result<usize> {
    rows.sort_by_key(|row| record_key(&row.0));
    rows.dedup_by(|a, b| record_key(&a.0) == record_key(&b.0));
    let mut data = Vec::with_capacity(rows.len() * RECORD);
    for (postcode, lat, lon) in &rows {
        data.extend_from_slice(&record_key(postcode));
        #[expect(
            clippy::cast_possible_truncation,
            reason = "f32 keeps postcode positions to about a metre"
        )]
        let (lat, lon) = (*lat as f32, *lon as f32);
        data.extend_from_slice(&lat.to_le_bytes());
        data.extend_from_slice(&lon.to_le_bytes());
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &data)?;
    std::fs::rename(&tmp, path)?;
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_radius_on_the_chord_keeps_what_the_distance_keeps() {
        let mut rng = fastrand::Rng::with_seed(5);
        let (mut at_edge, mut checked) = (0, 0);
        for _ in 0..2_000 {
            let from = (rng.f64() * 170.0 - 85.0, rng.f64() * 360.0 - 180.0);
            let km = [0.0, 0.01, 0.5, 3.0, 10.0, 30.0, 500.0, 9_000.0, 15_000.0][rng.usize(..9)];
            let radius = ChordRadius::new(from, km);
            for _ in 0..50 {
                // Points around the radius's edge, some on it to the last bit.
                let spread = (km / 111.0).max(1e-4) * 1.5;
                let mut to = (
                    (from.0 + (rng.f64() - 0.5) * 2.0 * spread).clamp(-90.0, 90.0),
                    from.1 + (rng.f64() - 0.5) * 2.0 * spread,
                );
                let on_edge = rng.bool();
                let radius = if !on_edge {
                    radius
                } else {
                    // A distance some point lies at exactly.
                    to.1 = from.1 + (rng.f64() - 0.5) * spread;
                    ChordRadius::new(from, distance_km(from.0, from.1, to.0, to.1))
                };
                let unit = unit_vector_f32(to.0, to.1);
                let measured = distance_km(from.0, from.1, to.0, to.1) <= radius.km;
                assert_eq!(
                    radius.holds(&unit, || to),
                    measured,
                    "{from:?} {to:?} {}",
                    radius.km
                );
                if radius.surely_beyond(&unit) {
                    assert!(!measured, "{from:?} {to:?} {}", radius.km);
                }
                let chord2 = radius.chord2(&unit);
                if !on_edge && (1.0..=500.0).contains(&radius.km) {
                    checked += 1;
                    if (radius.within..=radius.beyond).contains(&chord2) {
                        at_edge += 1;
                    }
                }
            }
        }
        // At the distances searched, only the points at the very edge are measured.
        assert!(
            checked > 5_000 && at_edge < checked / 100,
            "{at_edge} of {checked}"
        );
    }

    #[test]
    fn catchment_prefixes_name_real_postcode_areas() {
        assert_eq!(normalise_prefix(" gl "), Some("GL".to_owned()));
        assert_eq!(normalise_prefix("m33"), Some("M33".to_owned()));
        assert_eq!(normalise_prefix("EC1A"), Some("EC1A".to_owned()));
        for not_an_area in ["UK", "GB", "ZZ", "UK1", "Q1", "England", ""] {
            assert_eq!(normalise_prefix(not_an_area), None, "{not_an_area}");
        }
        assert_eq!(POSTCODE_AREAS.len(), 124);
    }

    #[test]
    fn postcodes_parse_in_their_shapes() {
        let p = Postcode::parse(" gl50 3ab ").expect("full");
        assert_eq!((p.area.as_str(), p.outward.as_str()), ("GL", "GL50"));
        assert_eq!(p.sector().as_deref(), Some("GL50 3"));
        assert_eq!(p.full().as_deref(), Some("GL50 3AB"));
        assert_eq!(
            Postcode::parse("SW1A1AA")
                .expect("no space")
                .full()
                .as_deref(),
            Some("SW1A 1AA")
        );
        assert_eq!(
            Postcode::parse("M33 7")
                .expect("sector")
                .sector()
                .as_deref(),
            Some("M33 7")
        );
        assert_eq!(Postcode::parse("m33").expect("district").inward, None);
        for bad in [
            "",
            "hello",
            "12345",
            "GL50 3A",
            "GLX50 3AB",
            "G",
            "GL50 3AB!",
            "GL50-3AB",
            "'; DROP",
        ] {
            assert_eq!(Postcode::parse(bad), Err(GeoError::NotAPostcode), "{bad}");
        }
    }

    #[test]
    fn the_sector_table_resolves_real_places() {
        let geo = Geocoder::embedded();
        assert!(geo.sector_count() > 10_000);
        let cheltenham = geo.resolve("GL50 3AB").expect("known");
        assert_eq!(cheltenham.precision, Precision::Sector);
        assert!(
            (cheltenham.latitude - 51.90).abs() < 0.02
                && (cheltenham.longitude + 2.08).abs() < 0.02
        );
        let district = geo.resolve("GL50").expect("district");
        assert_eq!(district.precision, Precision::District);
        assert_eq!(geo.resolve("ZZ99 9ZZ"), Err(GeoError::UnknownPostcode));
        let near: Vec<String> = geo.sectors_within(cheltenham.latitude, cheltenham.longitude, 2.0);
        assert!(near.contains(&"GL50 3".to_owned()));
        assert!(!near.iter().any(|s| s.starts_with("M33")));
    }

    #[test]
    fn places_carry_the_codes_of_their_areas() {
        let geo = Geocoder::embedded();
        // Sale: Trafford, in Greater Manchester, in England.
        let sale = geo.resolve("M33 7AB").expect("known");
        assert_eq!(sale.codes, ["E08000009", "E11000001", "E92000001"]);
        // Cheltenham: a district in a county.
        let cheltenham = geo.resolve("GL50 3").expect("known");
        assert_eq!(cheltenham.codes, ["E07000078", "E10000013", "E92000001"]);
        // Camden: a London borough, in London.
        assert!(
            geo.resolve("NW1 0")
                .expect("known")
                .codes
                .contains(&"E12000007".to_owned())
        );
        // A district takes the codes all its sectors share.
        assert_eq!(
            geo.resolve("M33").expect("district").codes,
            ["E08000009", "E11000001", "E92000001"]
        );
        assert_eq!(normalise_sector(" s17 3"), Some("S17 3".to_owned()));
        assert_eq!(normalise_sector("S17"), None);
        assert_eq!(normalise_sector("UK1 3"), None);
    }

    #[test]
    fn polygons_hold_the_sectors_whose_centroids_are_inside() {
        let geo = Geocoder::embedded();
        // A box around Sale's sectors, with a hole around M33 7's centroid.
        let polygon = r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[
            [[-2.36,53.40],[-2.29,53.40],[-2.29,53.44],[-2.36,53.44],[-2.36,53.40]],
            [[-2.325,53.423],[-2.318,53.423],[-2.318,53.429],[-2.325,53.429],[-2.325,53.423]]]}}"#;
        let sectors = geo.sectors_in_geojson(polygon).expect("a polygon");
        for inside in ["M33 2", "M33 3", "M33 4", "M33 5", "M33 6"] {
            assert!(
                sectors.contains(&inside.to_owned()),
                "{inside}: {sectors:?}"
            );
        }
        assert!(!sectors.contains(&"M33 7".to_owned()), "in the hole");
        assert!(!sectors.iter().any(|s| s.starts_with("SK")), "{sectors:?}");
        let multi = r#"{"type":"MultiPolygon","coordinates":[
            [[[-2.36,53.40],[-2.29,53.40],[-2.29,53.44],[-2.36,53.40]]],
            [[[-2.10,51.88],[-2.06,51.88],[-2.06,51.92],[-2.10,51.92],[-2.10,51.88]]]]}"#;
        let sectors = geo.sectors_in_geojson(multi).expect("a multipolygon");
        assert!(sectors.contains(&"GL50 3".to_owned()), "{sectors:?}");
        for not_a_polygon in [
            r#"{"type":"Point","coordinates":[-2.07,51.9]}"#,
            r#"{"type":"Polygon","coordinates":[]}"#,
            r#"{"type":"Polygon","coordinates":[[[0,0],[1,1]]]}"#,
            "Trafford",
        ] {
            assert_eq!(
                geo.sectors_in_geojson(not_a_polygon),
                None,
                "{not_a_polygon}"
            );
        }
    }

    #[test]
    fn distances_are_great_circle_kilometres() {
        // Cheltenham to Gloucester is about 12 km.
        let d = distance_km(51.8994, -2.0783, 51.8642, -2.2380);
        assert!((10.0..13.0).contains(&d), "{d}");
    }

    #[test]
    fn a_distance_from_an_origin_is_the_haversine_to_the_last_bit() {
        // The haversine as written out in full, each cosine worked out where it is used.
        let haversine = |lat1: f64, lon1: f64, lat2: f64, lon2: f64| {
            let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
            let dphi = (lat2 - lat1).to_radians();
            let dlambda = (lon2 - lon1).to_radians();
            let a = (dphi / 2.0).sin().powi(2)
                + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
            2.0 * EARTH_KM * a.sqrt().min(1.0).asin()
        };
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |span: f64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            #[expect(clippy::cast_precision_loss, reason = "a test's random fraction")]
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            (unit - 0.5) * span
        };
        for _ in 0..10_000 {
            let (lat1, lon1, lat2, lon2) = (next(180.0), next(360.0), next(180.0), next(360.0));
            // Near points too, as a search measures them.
            let (near_lat, near_lon) = (lat1 + next(0.2), lon1 + next(0.2));
            let origin = Origin::new(lat1, lon1);
            for (lat, lon) in [(lat2, lon2), (near_lat, near_lon), (lat1, lon1)] {
                let expected = haversine(lat1, lon1, lat, lon);
                assert_eq!(origin.distance_km(lat, lon).to_bits(), expected.to_bits());
                assert_eq!(
                    distance_km(lat1, lon1, lat, lon).to_bits(),
                    expected.to_bits()
                );
            }
        }
    }

    #[test]
    fn full_postcodes_round_trip_through_their_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let csv = "\"GL50 3AB\",10,394127,222223\r\nGL50 3AD,10,394200,222300\r\nXX,90,0,0\r\n";
        let rows = read_code_point_csv(csv.as_bytes()).expect("read");
        assert_eq!(rows.len(), 2);
        let path = dir.path().join("postcodes.bin");
        assert_eq!(write_full_postcodes(rows, &path).expect("write"), 2);
        let geo = Geocoder::embedded()
            .with_full_postcodes(&path)
            .expect("open");
        let point = geo.resolve("gl503ab").expect("full");
        assert_eq!(point.precision, Precision::FullPostcode);
        assert!((point.latitude - 51.901).abs() < 0.01);
        assert_eq!(
            geo.resolve("GL50 3ZZ").map(|p| p.precision),
            Ok(Precision::Sector)
        );
    }
}
