#!/usr/bin/env python3
"""One-off conversion of the demo directory from its former private format to HSDS 3.

Usage:
    python3 scripts/convert_demo_directory.py OLD.json NEW.json [--reference-date YYYY-MM-DD]

Reads the former `data/demo-directory.json` (taxonomy, taxonomy_terms with parent codes,
organizations, locations, services with codes and `assured_days_ago`, events with
`day_offset`) and writes an HSDS 3 document of top-level arrays that `signpost import`
accepts, with Signpost's extension keys (see the README's Open Referral section):

- `reference_date` at the top level: the day the document's dates are written for;
- on a service: `level_of_need`, `from_pregnancy`, `audiences`, `delivery_modes`,
  `self_referral`, `professional_referral`, `funding_ends_on`, `assurer` and `events`;
- on a contact or phone line: `visibility` (only when not PUBLIC).

Relative dates become absolute ones on the reference date: an assured date `assured_days_ago`
days before it, an event on the day `day_offset` days after it at its UK wall-clock times
(written with the UK offset of that day). Ids the old format left to the loader (contacts,
phones, schedules, catchments, links, attributes) become UUIDs derived from the service id,
so the same input always gives the same output. Standard library only.
"""

import argparse
import datetime
import json
import sys
import uuid
import zoneinfo

UK = zoneinfo.ZoneInfo("Europe/London")
WEEKDAYS = {1: "MO", 2: "TU", 3: "WE", 4: "TH", 5: "FR", 6: "SA", 7: "SU"}
STATUSES = {
    "ACTIVE": "active",
    "INACTIVE": "inactive",
    "DEFUNCT": "defunct",
    "TEMPORARILY_CLOSED": "temporarily closed",
}
LANGUAGES = {
    "en": "English", "ur": "Urdu", "pl": "Polish", "ar": "Arabic", "so": "Somali",
    "bn": "Bengali", "ro": "Romanian", "cy": "Welsh", "pa": "Punjabi",
}


def child_id(parent, label):
    return str(uuid.uuid5(uuid.UUID(parent), label))


def drop_nulls(obj):
    if isinstance(obj, dict):
        return {k: drop_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [drop_nulls(v) for v in obj]
    return obj


def years(months):
    if months is None:
        return None
    value = round(months / 12, 4)
    return int(value) if value == int(value) else value


def hhmmss(text):
    return text + ":00" if text is not None and len(text) == 5 else text


def uk_time(day, hhmm):
    hour, minute = (int(part) for part in hhmm.split(":"))
    local = datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UK)
    return local.isoformat()


def convert(old, reference):
    taxonomy = old["taxonomy"]
    term_ids = {t["code"]: t["id"] for t in old["taxonomy_terms"]}
    doc = {
        "reference_date": reference.isoformat(),
        "taxonomies": [{
            "id": taxonomy["id"],
            "name": taxonomy["name"],
            "description": taxonomy["description"],
            "version": taxonomy["version"],
        }],
        "taxonomy_terms": [{
            "id": t["id"],
            "code": t["code"],
            "name": t["name"],
            "description": t["description"],
            "parent_id": term_ids[t["parent_code"]] if t["parent_code"] else None,
            "taxonomy_id": taxonomy["id"],
        } for t in old["taxonomy_terms"]],
        "organizations": [],
        "locations": [],
        "services": [],
    }
    for o in old["organizations"]:
        identifiers = []
        if o["charity_number"]:
            identifiers.append({
                "id": child_id(o["id"], "charity_number"),
                "identifier_scheme": "GB-CHC",
                "identifier_type": "Registered charity number",
                "identifier": o["charity_number"],
            })
        if o["company_number"]:
            identifiers.append({
                "id": child_id(o["id"], "company_number"),
                "identifier_scheme": "GB-COH",
                "identifier_type": "Company number",
                "identifier": o["company_number"],
            })
        doc["organizations"].append({
            "id": o["id"],
            "name": o["name"],
            "description": o["description"],
            "email": o["email"],
            "website": o["website"],
            "phones": [{"id": child_id(o["id"], "phone"), "number": o["phone"]}] if o["phone"] else [],
            "organization_identifiers": identifiers,
        })
    for loc in old["locations"]:
        doc["locations"].append({
            "id": loc["id"],
            "location_type": "physical",
            "organization_id": loc["organization_id"],
            "name": loc["name"],
            "latitude": loc["latitude"],
            "longitude": loc["longitude"],
            "addresses": [{
                "id": child_id(loc["id"], "address"),
                "address_1": loc["address_1"],
                "city": loc["city"],
                "region": loc["region"],
                "state_province": loc["region"],
                "postal_code": loc["postcode"],
                "country": "GB",
                "address_type": "physical",
            }],
            "accessibility": [
                {"id": child_id(loc["id"], "accessibility"), "description": loc["accessibility"]}
            ] if loc["accessibility"] else [],
        })
    events = {}
    for e in old["events"]:
        events.setdefault(e["service_id"], []).append(e)
    for s in old["services"]:
        sid = s["id"]
        assured = None
        if s["assured_days_ago"] is not None:
            assured = (reference - datetime.timedelta(days=s["assured_days_ago"])).isoformat()
        if s["free"]:
            costs = [{"id": child_id(sid, "cost_option"), "option": "Free", "currency": "GBP", "amount": 0}]
        elif s["fees_description"]:
            costs = [{
                "id": child_id(sid, "cost_option"),
                "option": "Fees apply",
                "currency": "GBP",
                "amount_description": s["fees_description"],
            }]
        else:
            costs = []
        areas = []
        for i, a in enumerate(s["service_areas"]):
            area = {"id": child_id(sid, "service_area:%d" % i), "name": a["name"]}
            if a["kind"] == "NATIONAL":
                area["description"] = "The whole of the United Kingdom"
            elif a["kind"] == "POSTCODE_PREFIX":
                area.update({
                    "description": "Postcodes starting %s" % a["postcode_prefix"],
                    "extent": a["postcode_prefix"],
                    "extent_type": "text",
                })
            elif a["kind"] == "RADIUS":
                point = {"type": "Point", "coordinates": [a["longitude"], a["latitude"]]}
                area.update({
                    "description": "Within %s km of the point" % a["radius_km"],
                    "extent": json.dumps(point, separators=(",", ":")),
                    "extent_type": "geojson",
                })
            else:
                raise ValueError("unknown catchment kind %s" % a["kind"])
            areas.append(area)
        service = {
            "id": sid,
            "organization_id": s["organization_id"],
            "name": s["name"],
            "alternate_name": s["alternate_name"],
            "description": s["description"],
            "url": s["url"],
            "email": s["email"],
            "status": STATUSES[s["status"]],
            "fees_description": s["fees_description"],
            "eligibility_description": s["eligibility_description"],
            "application_process": s["referral_instructions"],
            "minimum_age": years(s["min_age_months"]),
            "maximum_age": years(s["max_age_months"]),
            "assured_date": assured,
            "assurer": s["assurer"],
            "level_of_need": s["level_of_need"],
            "from_pregnancy": s["from_pregnancy"],
            "audiences": s["audiences"],
            "delivery_modes": s["delivery_modes"],
            "self_referral": s["self_referral"],
            "professional_referral": s["professional_referral"],
            "funding_ends_on": s["funding_ends_on"],
            "languages": [{
                "id": child_id(sid, "language:%s" % code),
                "name": LANGUAGES[code],
                "code": code,
            } for code in s["languages"]],
            "cost_options": costs,
            "funding": [
                {"id": child_id(sid, "funding"), "source": s["funding_source"]}
            ] if s["funding_source"] else [],
            "service_at_locations": [{
                "id": child_id(sid, "service_at_location:%s" % lid),
                "location_id": lid,
            } for lid in s["location_ids"]],
            "contacts": [{
                "id": child_id(sid, "contact:%d" % i),
                "name": c["name"],
                "title": c["title"],
                "email": c["email"],
                "phones": [
                    {"id": child_id(sid, "contact:%d:phone" % i), "number": c["phone"]}
                ] if c["phone"] else [],
                "visibility": None if c["visibility"] == "PUBLIC" else c["visibility"],
            } for i, c in enumerate(s["contacts"])],
            "phones": [{
                "id": child_id(sid, "phone:%d" % i),
                "number": p["number"],
                "description": p["description"],
                "visibility": None if p["visibility"] == "PUBLIC" else p["visibility"],
            } for i, p in enumerate(s["phones"])],
            "schedules": [{
                "id": child_id(sid, "schedule:%d" % i),
                "freq": "WEEKLY",
                "interval": 1,
                "byday": WEEKDAYS[x["weekday"]],
                "opens_at": hhmmss(x["opens_at"]),
                "closes_at": hhmmss(x["closes_at"]),
                "description": x["description"],
            } for i, x in enumerate(s["schedules"])],
            "service_areas": areas,
            "attributes": [{
                "id": child_id(sid, "attribute:%s" % code),
                "link_entity": "service",
                "taxonomy_term_id": term_ids[code],
            } for code in s["taxonomy_terms"]],
            "events": [],
        }
        for e in events.get(sid, []):
            day = reference + datetime.timedelta(days=e["day_offset"])
            service["events"].append({
                "id": e["id"],
                "title": e["title"],
                "description": e["description"],
                "starts_at": uk_time(day, e["starts_at"]),
                "ends_at": uk_time(day, e["ends_at"]),
                "place_name": e["place_name"],
                "address": e["address"],
                "postcode": e["postcode"],
                "latitude": e["latitude"],
                "longitude": e["longitude"],
            })
        if not service["events"]:
            del service["events"]
        doc["services"].append(service)
    return drop_nulls(doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--reference-date", default=datetime.date.today().isoformat())
    args = ap.parse_args()
    with open(args.old, encoding="utf-8") as f:
        old = json.load(f)
    doc = convert(old, datetime.date.fromisoformat(args.reference_date))
    with open(args.new, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
