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
        for line in SECTORS_CSV.lines().skip(1) {
            let mut parts = line.split(',');
            let (Some(name), Some(lat), Some(lon), Some(count)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
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
            return Ok(GeoPoint {
                postcode: full,
                latitude,
                longitude,
                precision: Precision::FullPostcode,
                parsed,
            });
        }
        if let Some(sector) = parsed.sector() {
            let (latitude, longitude) =
                *self.sectors.get(&sector).ok_or(GeoError::UnknownPostcode)?;
            let postcode = parsed.full().unwrap_or(sector);
            return Ok(GeoPoint {
                postcode,
                latitude,
                longitude,
                precision: Precision::Sector,
                parsed,
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
            parsed,
        })
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

/// Degrees of longitude that surely cover `km` either side of a point at `latitude` (with a
/// margin, so that a box test can rule points out before the exact distance is computed).
pub fn longitude_span(latitude: f64, km: f64) -> f64 {
    let cos = latitude.abs().min(89.0).to_radians().cos();
    // Along the parallel of the box's edge nearest a pole a degree is shortest.
    let edge = (latitude.abs() + km / 111.0).min(89.0).to_radians().cos();
    km * 1.01 / (111.0 * cos.min(edge)) + 1e-6
}

/// Great-circle distance in kilometres (haversine, mean Earth radius).
pub fn distance_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let dphi = (lat2 - lat1).to_radians();
    let dlambda = (lon2 - lon1).to_radians();
    let a = (dphi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (dlambda / 2.0).sin().powi(2);
    2.0 * 6_371.008_8 * a.sqrt().min(1.0).asin()
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
    fn distances_are_great_circle_kilometres() {
        // Cheltenham to Gloucester is about 12 km.
        let d = distance_km(51.8994, -2.0783, 51.8642, -2.2380);
        assert!((10.0..13.0).contains(&d), "{d}");
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
