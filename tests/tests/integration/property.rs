//! On a randomly generated directory, for random filter combinations, the ids the index returns
//! equal the ids computed directly from the database rows.

use std::collections::{BTreeSet, HashMap};

use chrono::{Days, Utc};
use entity::{
    Audience, ChangeOp, DeliveryMode, LevelOfNeed, ServiceAreaKind, ServiceStatus, StringList,
    attribute, location, organization, service, service_area, service_at_location, taxonomy_term,
};
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, TransactionTrait};
use search::geo::{Geocoder, Postcode, distance_km};
use serde_json::{Value, json};
use signpost_api::feed;
use tests::{Options, TestApp};
use uuid::Uuid;

const POSTCODES: &[&str] = &[
    "GL50 3AB", "GL51 9AA", "GL20 5AA", "GL7 1AA", "M33 7XW", "M32 0AA", "OL6 6AA", "BS5 0AA",
    "LS9 7AA",
];
const PREFIXES: &[&str] = &["GL", "GL50", "GL51", "M", "M33", "OL6", "BS5", "LS"];
const LANGUAGES: &[&str] = &["en", "pl", "ur"];

fn pick<'a, T>(rng: &mut fastrand::Rng, items: &'a [T]) -> &'a T {
    &items[rng.usize(..items.len())]
}

fn subset<T: Copy>(rng: &mut fastrand::Rng, items: &[T], chance: u8) -> Vec<T> {
    items
        .iter()
        .copied()
        .filter(|_| rng.u8(..100) < chance)
        .collect()
}

/// Writes a random directory (and its feed) and returns how many services it has.
async fn generate(app: &TestApp, rng: &mut fastrand::Rng, geo: &Geocoder) -> usize {
    let now = Utc::now();
    let today = now.date_naive();
    let txn = app.db.begin().await.expect("begin");
    feed::lock(&txn).await.expect("lock");
    let mut terms = Vec::new();
    for root in 0..3 {
        let root_id = Uuid::new_v4();
        let row = taxonomy_term::Model {
            id: root_id,
            taxonomy_id: None,
            code: None,
            name: format!("Root {root}"),
            description: None,
            parent_id: None,
            position: root,
        };
        row.into_active_model().insert(&txn).await.expect("term");
        terms.push(root_id);
        for child in 0..3 {
            let id = Uuid::new_v4();
            let row = taxonomy_term::Model {
                id,
                taxonomy_id: None,
                code: None,
                name: format!("Child {root}.{child}"),
                description: None,
                parent_id: Some(root_id),
                position: child,
            };
            row.into_active_model().insert(&txn).await.expect("term");
            terms.push(id);
        }
    }
    let mut orgs = Vec::new();
    for n in 0..6 {
        let id = Uuid::new_v4();
        let row = organization::Model {
            id,
            name: format!("Organisation {n}"),
            description: None,
            email: None,
            website: None,
            phone: None,
            charity_number: None,
            company_number: None,
            extra: None,
            created_at: now,
            updated_at: now,
        };
        row.into_active_model().insert(&txn).await.expect("org");
        orgs.push(id);
    }
    let count = 160;
    for n in 0..count {
        let id = Uuid::new_v4();
        let min = if rng.bool() {
            None
        } else {
            Some(f64::from(rng.u8(..13)))
        };
        let max = if rng.bool() {
            None
        } else {
            Some(min.unwrap_or(0.0) + f64::from(rng.u8(..30)))
        };
        let row = service::Model {
            id,
            organization_id: *pick(rng, &orgs),
            name: format!(
                "Service {n} {}",
                pick(rng, &["bonding", "feeding", "sleep", "dads", "perinatal"])
            ),
            alternate_name: None,
            description: "A generated service for the property test of the search index."
                .to_owned(),
            url: None,
            email: None,
            status: *pick(
                rng,
                &[
                    ServiceStatus::Active,
                    ServiceStatus::Active,
                    ServiceStatus::Active,
                    ServiceStatus::Inactive,
                    ServiceStatus::TemporarilyClosed,
                    ServiceStatus::Defunct,
                ],
            ),
            assured_date: if rng.u8(..10) == 0 {
                None
            } else {
                today.checked_sub_days(Days::new(rng.u64(..800)))
            },
            assurer: None,
            version: 1,
            level_of_need: *pick(
                rng,
                &[
                    LevelOfNeed::Universal,
                    LevelOfNeed::Targeted,
                    LevelOfNeed::Specialist,
                ],
            ),
            from_pregnancy: rng.bool(),
            min_age_months: min,
            max_age_months: max,
            audiences: StringList(
                subset(rng, Audience::ALL, 35)
                    .iter()
                    .map(|a| a.as_str().to_owned())
                    .collect(),
            ),
            eligibility_description: None,
            self_referral: rng.bool(),
            professional_referral: rng.bool(),
            referral_instructions: None,
            delivery_modes: StringList(
                subset(rng, DeliveryMode::ALL, 35)
                    .iter()
                    .map(|m| m.as_str().to_owned())
                    .collect(),
            ),
            languages: StringList(
                subset(rng, LANGUAGES, 40)
                    .iter()
                    .map(|l| (*l).to_owned())
                    .collect(),
            ),
            free: rng.u8(..4) > 0,
            fees_description: None,
            funding_source: None,
            funding_ends_on: None,
            extra: None,
            eligibility_sources: None,
            created_at: now,
            updated_at: now,
        };
        row.into_active_model().insert(&txn).await.expect("service");
        for position in 0..rng.i32(0..3) {
            let kind = *pick(
                rng,
                &[
                    ServiceAreaKind::National,
                    ServiceAreaKind::PostcodePrefix,
                    ServiceAreaKind::PostcodePrefix,
                    ServiceAreaKind::Radius,
                ],
            );
            let centre = geo
                .resolve(pick::<&str>(rng, POSTCODES))
                .expect("known postcode");
            let area = service_area::Model {
                id: Uuid::new_v4(),
                service_id: id,
                kind,
                name: "generated".to_owned(),
                postcode_prefix: (kind == ServiceAreaKind::PostcodePrefix)
                    .then(|| (*pick(rng, PREFIXES)).to_owned()),
                latitude: (kind == ServiceAreaKind::Radius)
                    .then_some(centre.latitude + rng.f64() * 0.05),
                longitude: (kind == ServiceAreaKind::Radius)
                    .then_some(centre.longitude - rng.f64() * 0.05),
                radius_km: (kind == ServiceAreaKind::Radius).then(|| 1.0 + rng.f64() * 15.0),
                area_code: None,
                extent: None,
                position,
            };
            area.into_active_model().insert(&txn).await.expect("area");
        }
        for position in 0..rng.i32(0..3) {
            let postcode = pick(rng, POSTCODES);
            let point = geo.resolve(postcode).expect("known postcode");
            let location_id = Uuid::new_v4();
            let row = location::Model {
                id: location_id,
                organization_id: None,
                name: None,
                address_1: None,
                city: None,
                region: None,
                postcode: Some((*postcode).to_owned()),
                latitude: Some(point.latitude + (rng.f64() - 0.5) * 0.01),
                longitude: Some(point.longitude + (rng.f64() - 0.5) * 0.01),
                accessibility: None,
                extra: None,
                created_at: now,
                updated_at: now,
            };
            row.into_active_model()
                .insert(&txn)
                .await
                .expect("location");
            let link = service_at_location::Model {
                id: Uuid::new_v4(),
                service_id: id,
                location_id,
                position,
            };
            link.into_active_model().insert(&txn).await.expect("link");
        }
        for (position, term) in subset(rng, &terms, 15).into_iter().enumerate() {
            let link = attribute::Model {
                id: Uuid::new_v4(),
                link_id: id,
                link_entity: "service".to_owned(),
                link_type: None,
                taxonomy_term_id: term,
                value: None,
                position: i32::try_from(position).unwrap_or_default(),
            };
            link.into_active_model()
                .insert(&txn)
                .await
                .expect("attribute");
        }
        feed::record(&txn, "service", id, ChangeOp::Create)
            .await
            .expect("feed");
    }
    txn.commit().await.expect("commit");
    count
}

/// The directory as read back from the database.
struct Rows {
    services: Vec<service::Model>,
    areas: HashMap<Uuid, Vec<service_area::Model>>,
    locations: HashMap<Uuid, Vec<location::Model>>,
    terms: HashMap<Uuid, Vec<Uuid>>,
    parents: HashMap<Uuid, Option<Uuid>>,
}

async fn read_rows(app: &TestApp) -> Rows {
    let db = &app.db;
    let mut areas: HashMap<Uuid, Vec<service_area::Model>> = HashMap::new();
    for row in service_area::Entity::find().all(db).await.expect("areas") {
        areas.entry(row.service_id).or_default().push(row);
    }
    let all_locations: HashMap<Uuid, location::Model> = location::Entity::find()
        .all(db)
        .await
        .expect("locations")
        .into_iter()
        .map(|l| (l.id, l))
        .collect();
    let mut locations: HashMap<Uuid, Vec<location::Model>> = HashMap::new();
    for link in service_at_location::Entity::find()
        .all(db)
        .await
        .expect("links")
    {
        if let Some(found) = all_locations.get(&link.location_id) {
            locations
                .entry(link.service_id)
                .or_default()
                .push(found.clone());
        }
    }
    let mut terms: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for link in attribute::Entity::find().all(db).await.expect("attributes") {
        terms
            .entry(link.link_id)
            .or_default()
            .push(link.taxonomy_term_id);
    }
    let parents = taxonomy_term::Entity::find()
        .all(db)
        .await
        .expect("terms")
        .into_iter()
        .map(|t| (t.id, t.parent_id))
        .collect();
    Rows {
        services: service::Entity::find().all(db).await.expect("services"),
        areas,
        locations,
        terms,
        parents,
    }
}

/// Where a postcode lies, as the catchment rule reads it.
struct Place {
    area: String,
    district: String,
    sector: Option<(f64, f64)>,
}

fn place(geo: &Geocoder, postcode: &str) -> Place {
    let parsed = Postcode::parse(postcode).expect("postcode");
    let sector = parsed
        .sector()
        .and_then(|s| geo.resolve(&s).ok())
        .map(|p| (p.latitude, p.longitude));
    Place {
        area: parsed.area,
        district: parsed.outward,
        sector,
    }
}

/// The catchment rule, read straight off the rows: national; a prefix naming the postcode's area
/// or district; a circle holding the postcode sector's centroid; or, for a service with no
/// catchment, a location in the same postcode district.
fn covers(rows: &Rows, id: Uuid, place: &Place) -> bool {
    let areas = rows.areas.get(&id).map(Vec::as_slice).unwrap_or_default();
    if areas.is_empty() {
        return rows.locations.get(&id).into_iter().flatten().any(|l| {
            l.postcode
                .as_deref()
                .and_then(|p| Postcode::parse(p).ok())
                .is_some_and(|p| p.outward == place.district)
        });
    }
    areas.iter().any(|a| match a.kind {
        ServiceAreaKind::National => true,
        ServiceAreaKind::PostcodePrefix => a
            .postcode_prefix
            .as_deref()
            .is_some_and(|p| p == place.area || p == place.district),
        ServiceAreaKind::Radius => match (place.sector, a.latitude, a.longitude, a.radius_km) {
            (Some((lat, lon)), Some(clat), Some(clon), Some(r)) => {
                distance_km(clat, clon, lat, lon) <= r
            }
            _ => false,
        },
        // Not generated here: tests/tests/integration/catchments.rs covers them.
        ServiceAreaKind::AdministrativeArea | ServiceAreaKind::Polygon => false,
    })
}

fn code<T: sea_orm::ActiveEnum<Value = String>>(value: T) -> String {
    value.to_value()
}

/// A random filter (as GraphQL input), a random `near`, and the predicate they mean.
fn expected(rows: &Rows, geo: &Geocoder, filter: &Value, near: &Value) -> BTreeSet<Uuid> {
    let today = Utc::now().date_naive();
    let strings = |key: &str| -> Vec<String> {
        filter[key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect()
    };
    let statuses = {
        let s = strings("statuses");
        if s.is_empty() {
            vec!["ACTIVE".to_owned()]
        } else {
            s
        }
    };
    let categories: Vec<Uuid> = strings("categories")
        .iter()
        .filter_map(|c| c.parse().ok())
        .collect();
    let covers_place = filter["coversPostcode"].as_str().map(|p| place(geo, p));
    let near_point = near["postcode"]
        .as_str()
        .map(|p| (geo.resolve(p).expect("near"), place(geo, p)));
    rows.services
        .iter()
        .filter(|s| statuses.contains(&code(s.status)))
        .filter(|s| {
            categories.is_empty()
                || rows.terms.get(&s.id).into_iter().flatten().any(|t| {
                    let mut current = Some(*t);
                    while let Some(id) = current {
                        if categories.contains(&id) {
                            return true;
                        }
                        current = rows.parents.get(&id).copied().flatten();
                    }
                    false
                })
        })
        .filter(|s| {
            let l = strings("levelOfNeed");
            l.is_empty() || l.contains(&code(s.level_of_need))
        })
        .filter(|s| {
            let a = strings("audiences");
            a.is_empty() || a.iter().any(|x| s.audiences.contains(x))
        })
        .filter(|s| {
            let m = strings("deliveryModes");
            m.is_empty() || m.iter().any(|x| s.delivery_modes.contains(x))
        })
        .filter(|s| {
            let l = strings("languages");
            l.is_empty() || l.iter().any(|x| s.languages.contains(x))
        })
        .filter(|s| {
            filter["infantAgeMonths"].as_f64().is_none_or(|age| {
                s.min_age_months.is_none_or(|m| m <= age)
                    && s.max_age_months.is_none_or(|m| m >= age)
            })
        })
        .filter(|s| filter["pregnant"] != true || s.from_pregnancy)
        .filter(|s| filter["selfReferral"] != true || s.self_referral)
        .filter(|s| filter["freeOnly"] != true || s.free)
        .filter(|s| {
            filter["organizationId"]
                .as_str()
                .is_none_or(|o| s.organization_id.to_string() == o)
        })
        .filter(|s| {
            filter["verifiedWithinDays"].as_u64().is_none_or(|d| {
                s.assured_date
                    .is_some_and(|a| (today - a).num_days() <= i64::try_from(d).unwrap_or(i64::MAX))
            })
        })
        .filter(|s| covers_place.as_ref().is_none_or(|p| covers(rows, s.id, p)))
        .filter(|s| match (&near_point, near["radiusKm"].as_f64()) {
            (Some((point, place)), Some(radius)) => {
                let nearest = rows
                    .locations
                    .get(&s.id)
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        Some(distance_km(
                            point.latitude,
                            point.longitude,
                            l.latitude?,
                            l.longitude?,
                        ))
                    })
                    .min_by(f64::total_cmp);
                match nearest {
                    Some(km) => km <= radius,
                    None => covers(rows, s.id, place),
                }
            }
            _ => true,
        })
        .map(|s| s.id)
        .collect()
}

fn random_filter(rng: &mut fastrand::Rng, rows: &Rows) -> (Value, Value) {
    let mut filter = json!({});
    let mut near = json!(null);
    for _ in 0..rng.usize(1..4) {
        match rng.u8(..13) {
            0 => {
                filter["statuses"] = json!(subset(
                    rng,
                    &["ACTIVE", "INACTIVE", "DEFUNCT", "TEMPORARILY_CLOSED"],
                    50
                ))
            }
            1 => {
                filter["levelOfNeed"] =
                    json!(subset(rng, &["UNIVERSAL", "TARGETED", "SPECIALIST"], 50))
            }
            2 => {
                filter["audiences"] = json!(subset(
                    rng,
                    &["MOTHERS", "FATHERS", "CO_PARENTS", "CARERS", "WHOLE_FAMILY"],
                    40
                ))
            }
            3 => {
                filter["deliveryModes"] = json!(subset(
                    rng,
                    &["HOME_VISIT", "IN_PERSON", "GROUP", "ONLINE", "PHONE"],
                    40
                ))
            }
            4 => filter["infantAgeMonths"] = json!(f64::from(rng.u8(..40)) / 2.0),
            5 => filter["pregnant"] = json!(rng.bool()),
            6 => filter["selfReferral"] = json!(true),
            7 => filter["freeOnly"] = json!(true),
            8 => filter["languages"] = json!(subset(rng, LANGUAGES, 50)),
            9 => {
                filter["coversPostcode"] = json!(pick(
                    rng,
                    &[
                        "GL50 3AB", "GL51 9AA", "M33 7XW", "OL6 6AA", "BS5 0AA", "GL50", "LS9 7AA"
                    ]
                ))
            }
            10 => filter["verifiedWithinDays"] = json!(rng.u16(..800)),
            11 => {
                let terms: Vec<&Uuid> = rows.parents.keys().collect();
                filter["categories"] = json!([pick(rng, &terms).to_string()]);
            }
            _ => {
                near =
                    json!({ "postcode": pick(rng, POSTCODES), "radiusKm": 1.0 + rng.f64() * 30.0 })
            }
        }
    }
    (filter, near)
}

async fn search_ids(app: &TestApp, token: &str, filter: &Value, near: &Value) -> BTreeSet<Uuid> {
    let query = "query($f: ServiceFilter, $n: NearInput, $after: String) { search(filter: $f, near: $n, first: 100, after: $after) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }";
    let mut ids = BTreeSet::new();
    let mut after = Value::Null;
    loop {
        let data = app
            .data_as(
                Some(token),
                query,
                json!({ "f": filter, "n": near, "after": after }),
            )
            .await;
        let result = &data["search"];
        ids.extend(
            result["edges"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|e| e["node"]["id"].as_str()?.parse::<Uuid>().ok()),
        );
        if result["pageInfo"]["hasNextPage"] != true {
            assert_eq!(
                result["totalCount"].as_u64(),
                Some(ids.len() as u64),
                "totalCount for {filter} {near}"
            );
            return ids;
        }
        after = result["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn index_results_equal_a_direct_reading_of_the_rows() {
    let seed = std::env::var("PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    println!("property test seed: {seed} (rerun with PROPERTY_SEED={seed})");
    let mut rng = fastrand::Rng::with_seed(seed);
    let app = TestApp::spawn_with(Options { seed_demo: false }).await;
    let geo = Geocoder::embedded();
    generate(&app, &mut rng, &geo).await;
    app.indexer.catch_up().await.expect("catch up");
    let rows = read_rows(&app).await;
    let token = app.partner_token().await;
    let mut nonempty = 0;
    for case in 0..60 {
        let (filter, near) = random_filter(&mut rng, &rows);
        let want = expected(&rows, &geo, &filter, &near);
        let got = search_ids(&app, &token, &filter, &near).await;
        nonempty += usize::from(!want.is_empty());
        assert_eq!(
            got, want,
            "case {case} (seed {seed}): filter {filter} near {near}"
        );
    }
    assert!(
        nonempty >= 20,
        "too few cases selected anything ({nonempty}); seed {seed}"
    );
}
