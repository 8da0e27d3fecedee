//! The Open Referral UK 3.0 read API under `/openreferral`: every endpoint and parameter, each
//! response validated against the profile's JSON Schemas (the OpenAPI's response schemas with
//! their raw-GitHub `$ref`s served from the local copies in `tests/fixtures/openreferral`), the errors, and
//! the HSDS export.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Mutex, OnceLock},
};

use entity::{LevelOfNeed, ServiceStatus, StringList, service};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};
use tests::TestApp;

/// Where the profile's schemas live on GitHub; their `$ref`s use these addresses.
const RAW: &str = "https://raw.githubusercontent.com/openreferral/uk-profile/main/";

/// The specifications directory: `SIGNPOST_SPECS_DIR`, or the copies in `tests/fixtures/openreferral`.
fn specs_dir() -> PathBuf {
    std::env::var_os("SIGNPOST_SPECS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/openreferral"))
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

/// Every `.json` file under `dir`, with its path relative to `root`.
fn json_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            json_files(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            let rel = path
                .strip_prefix(root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
}

/// The profile's schemas, loaded once, and validators built from them.
struct Profile {
    registry: jsonschema::Registry<'static>,
    openapi: Value,
    validators: Mutex<HashMap<String, std::sync::Arc<jsonschema::Validator>>>,
}

fn profile() -> &'static Profile {
    static PROFILE: OnceLock<Profile> = OnceLock::new();
    PROFILE.get_or_init(|| {
        let root = specs_dir().join("oruk-profile");
        let mut files = Vec::new();
        json_files(&root, &root.join("schema"), &mut files);
        assert!(!files.is_empty(), "no schemas under {}", root.display());
        // Each file is registered under the raw-GitHub address the `$ref`s name.
        let resources = files.iter().map(|(rel, path)| {
            (
                format!("{RAW}{rel}"),
                jsonschema::Resource::from_contents(read_json(path)),
            )
        });
        let registry = jsonschema::Registry::new()
            .extend(resources)
            .expect("schema addresses")
            .prepare()
            .expect("the profile's schemas");
        Profile {
            registry,
            openapi: read_json(&root.join("schema/openapi.json")),
            validators: Mutex::new(HashMap::new()),
        }
    })
}

impl Profile {
    /// Inlines the OpenAPI document's own `#/...` references.
    fn inline(&self, node: &Value) -> Value {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref")
                    && let Some(pointer) = reference.strip_prefix('#')
                {
                    let target = self.openapi.pointer(pointer).expect("a local reference");
                    return self.inline(target);
                }
                Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), self.inline(v)))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.inline(v)).collect()),
            other => other.clone(),
        }
    }

    /// The response schema of an ORUK endpoint (`"/services/{id}"`), or of the HSDS
    /// organisation endpoints, which the ORUK OpenAPI does not list.
    fn schema(&self, endpoint: &str) -> Value {
        match endpoint {
            "/organizations" => json!({
                "allOf": [self.inline(&json!({ "$ref": "#/components/schemas/Page" }))],
                "properties": { "contents": { "type": "array", "items": {
                    "$ref": format!("{RAW}schema/compiled/organization_list.json")
                } } },
                "required": ["total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"]
            }),
            "/organizations/{id}" => {
                json!({ "$ref": format!("{RAW}schema/organization.json") })
            }
            "/export" => json!({
                "type": "array",
                "items": { "$ref": format!("{RAW}schema/compiled/service.json") }
            }),
            _ => {
                let schema = self
                    .openapi
                    .pointer(&format!(
                        "/paths/{}/get/responses/200/content/application~1json/schema",
                        endpoint.replace('~', "~0").replace('/', "~1")
                    ))
                    .unwrap_or_else(|| panic!("no response schema for {endpoint}"));
                self.inline(schema)
            }
        }
    }

    fn validator(&self, endpoint: &str) -> std::sync::Arc<jsonschema::Validator> {
        let mut cache = self.validators.lock().expect("the validator cache");
        cache
            .entry(endpoint.to_owned())
            .or_insert_with(|| {
                std::sync::Arc::new(
                    jsonschema::options()
                        .with_registry(&self.registry)
                        .should_validate_formats(true)
                        .build(&self.schema(endpoint))
                        .unwrap_or_else(|err| panic!("the schema of {endpoint}: {err}")),
                )
            })
            .clone()
    }

    /// Panics with every schema error of `body` as a response of `endpoint`.
    fn assert_valid(&self, endpoint: &str, what: &str, body: &Value) {
        let validator = self.validator(endpoint);
        let errors: Vec<String> = validator
            .iter_errors(body)
            .take(5)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what} does not match the schema of {endpoint}: {errors:#?}"
        );
    }
}

/// GETs a path under `/openreferral`, returning the status and the JSON body.
async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app
        .client
        .get(app.url(&format!("/openreferral{path}")))
        .send()
        .await
        .expect("a response");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.expect("a JSON body");
    (status, body)
}

/// GETs a path that must answer 200 with a body valid for `endpoint`.
async fn ok(app: &TestApp, endpoint: &str, path: &str) -> Value {
    let (status, body) = get(app, path).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    profile().assert_valid(endpoint, &format!("GET {path}"), &body);
    body
}

/// The ids of a page's contents.
fn ids(page: &Value) -> Vec<String> {
    page["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .map(|c| c["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Every item of a list endpoint, page by page (`query` without `page`).
async fn all_pages(app: &TestApp, endpoint: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let sep = if query.is_empty() { "" } else { "&" };
        let body = ok(
            app,
            endpoint,
            &format!("{endpoint}?{query}{sep}page={page}"),
        )
        .await;
        out.extend(
            body["contents"]
                .as_array()
                .expect("contents")
                .iter()
                .cloned(),
        );
        if body["last_page"] == true {
            assert_eq!(body["total_items"].as_u64(), Some(out.len() as u64));
            return out;
        }
        page += 1;
        assert!(page < 100, "too many pages");
    }
}

#[tokio::test]
async fn every_endpoint_answers_in_the_profiles_shape() {
    let app = TestApp::spawn().await;
    let profile = profile();
    // The schemas bite: a service without a name, with a bad status, is refused.
    let refused = profile
        .validator("/services/{id}")
        .iter_errors(&json!({ "id": "not-a-uuid", "status": "open" }))
        .count();
    assert!(refused >= 3, "the service schema let a bad body through");

    for root in ["", "/"] {
        let body = ok(&app, "/", root).await;
        assert_eq!(body["version"], "HSDS-UK-3.0");
        assert!(
            body["openapi_url"]
                .as_str()
                .is_some_and(|u| u.starts_with("https://"))
        );
    }

    // Like the validator: first, middle and last pages, then items by the listed ids.
    let lists = [
        ("/services", "/services/{id}"),
        ("/taxonomies", "/taxonomies/{id}"),
        ("/taxonomy_terms", "/taxonomy_terms/{id}"),
        ("/service_at_locations", "/service_at_locations/{id}"),
        ("/organizations", "/organizations/{id}"),
    ];
    for (list, item) in lists {
        let first = ok(&app, list, list).await;
        let total_pages = first["total_pages"].as_u64().expect("total_pages");
        assert_eq!(first["page_number"], 1);
        assert_eq!(first["first_page"], true);
        assert_eq!(first["empty"], false, "{list} is empty");
        assert_eq!(first["last_page"], total_pages == 1);
        for page in [total_pages.div_ceil(2), total_pages] {
            let body = ok(&app, list, &format!("{list}?page={page}")).await;
            assert_eq!(body["page_number"], page);
            assert_eq!(body["last_page"], page == total_pages);
        }
        for id in ids(&first).iter().take(3) {
            let body = ok(&app, item, &item.replace("{id}", id)).await;
            if item == "/service_at_locations/{id}" {
                // The profile names the service schema: the service, with this location only.
                let links = body["service_at_locations"].as_array().expect("links");
                assert_eq!(links.len(), 1);
                assert_eq!(links[0]["id"], id.as_str());
                assert!(links[0]["location"]["id"].is_string());
            } else {
                assert_eq!(body["id"], id.as_str());
            }
        }
    }

    // The page arithmetic.
    let all = all_pages(&app, "/services", "per_page=7").await;
    let first = ok(&app, "/services", "/services?per_page=7").await;
    let total = first["total_items"].as_u64().expect("total");
    assert_eq!(all.len() as u64, total);
    assert_eq!(first["size"], 7);
    assert_eq!(first["total_pages"].as_u64(), Some(total.div_ceil(7)));
    let unique: HashSet<&str> = all.iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(unique.len(), all.len(), "pages overlap");
    let names: Vec<&str> = all.iter().filter_map(|s| s["name"].as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "plain listing is by name");
    assert!(all.iter().all(|s| s["status"] == "active"));
    let beyond = ok(&app, "/services", "/services?page=1000").await;
    assert_eq!(beyond["empty"], true);
    assert_eq!(beyond["size"], 0);
    let capped = ok(&app, "/services", "/services?per_page=1000").await;
    assert_eq!(capped["size"].as_u64(), Some(total.min(100)));
    let default = ok(&app, "/services", "/services").await;
    assert_eq!(default["size"].as_u64(), Some(total.min(50)));

    // One list item carries the organisation; full items validate as full services.
    let item = &default["contents"][0];
    assert!(item["organization"]["name"].is_string());
    assert!(item.get("service_at_locations").is_none());
    let full = ok(&app, "/services", "/services?full=true&per_page=5").await;
    for service in full["contents"].as_array().expect("contents") {
        profile.assert_valid("/services/{id}", "a full=true item", service);
        assert!(service["schedules"].is_array());
    }
    let minimal = ok(&app, "/services", "/services?minimal=true").await;
    let keys: HashSet<&str> = minimal["contents"][0]
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        HashSet::from(["id", "name", "status", "last_modified"])
    );
}

/// A demo service rich in related data: two locations' worth of fields, a professional contact.
const BABY_BOND: &str = "806c6330-6a12-49e8-aac6-bea6d5e6d845";

/// Signpost's extension keys come from the listing as it is now: an edit shows in the next
/// answer, whatever an earlier feed left among the record's unknown keys.
#[tokio::test]
async fn signpost_extension_keys_follow_the_listing_not_an_old_feed() {
    let app = TestApp::spawn().await;
    let id: uuid::Uuid = BABY_BOND.parse().expect("a uuid");
    let row = service::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("the database")
        .expect("the demo service");
    let mut edit = row.into_active_model();
    edit.level_of_need = Set(LevelOfNeed::Specialist);
    edit.self_referral = Set(false);
    edit.audiences = Set(StringList(vec!["FATHERS".to_owned()]));
    edit.funding_ends_on = Set(chrono::NaiveDate::from_ymd_opt(2028, 3, 31));
    // What an earlier import would have kept, and an edit since made stale.
    edit.extra = Set(Some(json!({
        "level_of_need": "UNIVERSAL",
        "self_referral": true,
        "audiences": ["MOTHERS"],
        "wait_time": "about two weeks",
    })));
    edit.update(&app.db).await.expect("an update");

    let body = ok(&app, "/services/{id}", &format!("/services/{BABY_BOND}")).await;
    assert_eq!(body["level_of_need"], "SPECIALIST");
    assert_eq!(body["self_referral"], false);
    assert_eq!(body["audiences"], json!(["FATHERS"]));
    assert_eq!(body["funding_ends_on"], "2028-03-31");
    assert_eq!(
        body["wait_time"], "about two weeks",
        "other unknown keys stay"
    );
    let listed = ok(&app, "/services", "/services?per_page=100").await;
    let item = listed["contents"]
        .as_array()
        .expect("contents")
        .iter()
        .find(|s| s["id"] == BABY_BOND)
        .expect("listed");
    assert_eq!(item["level_of_need"], "SPECIALIST");
}

#[tokio::test]
async fn a_full_service_maps_signposts_fields_to_hsds() {
    let app = TestApp::spawn().await;
    let id: uuid::Uuid = BABY_BOND.parse().expect("a uuid");
    let row = service::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .expect("the database")
        .expect("the demo service");
    let mut edit = row.clone().into_active_model();
    edit.extra = Set(Some(
        json!({ "wait_time": "about two weeks", "name": "not this" }),
    ));
    edit.update(&app.db).await.expect("an update");

    let body = ok(&app, "/services/{id}", &format!("/services/{BABY_BOND}")).await;
    assert_eq!(body["name"], row.name.as_str());
    assert_eq!(body["status"], "active");
    assert_eq!(
        body["wait_time"], "about two weeks",
        "extra keys are merged back"
    );
    assert_eq!(body["minimum_age"], 0.0);
    assert_eq!(body["maximum_age"], 2.0, "24 months is 2 years");
    let languages: Vec<&str> = body["languages"]
        .as_array()
        .expect("languages")
        .iter()
        .filter_map(|l| l["code"].as_str())
        .collect();
    assert_eq!(languages, ["en", "ur"]);
    assert_eq!(body["cost_options"][0]["option"], "Free");
    assert_eq!(body["organization"]["id"], row.organization_id.to_string());
    assert!(
        body["organization"]["organization_identifiers"]
            .as_array()
            .is_some_and(|ids| ids.iter().any(|i| i["identifier_scheme"] == "GB-CHC"))
    );
    let schedule = &body["schedules"][0];
    assert_eq!(schedule["freq"], "WEEKLY");
    assert_eq!(schedule["byday"], "MO");
    assert_eq!(schedule["opens_at"], "09:30:00");
    let area = &body["service_areas"][0];
    assert_eq!(area["extent"], "M15");
    assert_eq!(area["extent_type"], "text");
    let attribute = &body["attributes"][0];
    assert!(attribute["taxonomy_term"]["name"].is_string());
    assert!(attribute["taxonomy_term"]["taxonomy_detail"]["name"].is_string());
    // Public lines only.
    let text = body.to_string();
    assert!(text.contains("01632 960140"), "the public phone line");
    assert!(
        !text.contains("01632 960141"),
        "a professional phone line leaked"
    );
    assert!(
        !text.contains("Samira Haq"),
        "a professional contact leaked"
    );
    assert!(body["contacts"].as_array().is_some_and(|c| c.len() == 1));

    // A located service's address.
    let located = all_pages(&app, "/service_at_locations", "per_page=100").await;
    let link = &located[0];
    let one = ok(
        &app,
        "/service_at_locations/{id}",
        &format!("/service_at_locations/{}", link["id"].as_str().expect("id")),
    )
    .await;
    let location = &one["service_at_locations"][0]["location"];
    assert!(location["latitude"].is_number());
    let address = &location["addresses"][0];
    assert_eq!(address["country"], "GB");
    assert_eq!(address["address_type"], "physical");
    assert!(address["postal_code"].is_string());

    // Services that are not ACTIVE are not served.
    let inactive = service::Entity::find()
        .all(&app.db)
        .await
        .expect("services")
        .into_iter()
        .find(|s| s.status != ServiceStatus::Active)
        .expect("a demo service that is not active");
    let (status, error) = get(&app, &format!("/services/{}", inactive.id)).await;
    assert_eq!(status, 404, "{error}");
    let listed = all_pages(&app, "/services", "per_page=100").await;
    assert!(
        listed
            .iter()
            .all(|s| s["id"] != inactive.id.to_string().as_str())
    );
}

/// The ids a `/services` query lists (all pages).
async fn service_ids(app: &TestApp, query: &str) -> Vec<String> {
    all_pages(app, "/services", &format!("per_page=100&{query}"))
        .await
        .iter()
        .map(|s| s["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn service_parameters_filter_and_combine() {
    let app = TestApp::spawn().await;
    let everything: BTreeMap<String, Value> =
        all_pages(&app, "/services", "per_page=100&full=true")
            .await
            .into_iter()
            .map(|s| (s["id"].as_str().expect("id").to_owned(), s))
            .collect();
    let all_ids: HashSet<String> = everything.keys().cloned().collect();
    let subset = |ids: &[String]| ids.iter().all(|id| all_ids.contains(id));

    // Text search through the index, best match first.
    let found = service_ids(&app, "search=postnatal+depression").await;
    assert!(!found.is_empty() && found.len() < all_ids.len());
    assert!(subset(&found));

    // Taxonomy term (with its descendants) and taxonomy.
    let terms = all_pages(&app, "/taxonomy_terms", "per_page=100").await;
    let used: HashMap<String, usize> = everything.values().fold(HashMap::new(), |mut m, s| {
        for a in s["attributes"].as_array().into_iter().flatten() {
            *m.entry(
                a["taxonomy_term_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
            .or_default() += 1;
        }
        m
    });
    let term = terms
        .iter()
        .find(|t| used.contains_key(t["id"].as_str().unwrap_or_default()))
        .expect("a term in use");
    let term_id = term["id"].as_str().expect("id");
    let by_term = service_ids(&app, &format!("taxonomy_term_id={term_id}")).await;
    let descendants: HashSet<&str> = terms
        .iter()
        .filter(|t| t["id"] == term_id || t["parent_id"] == term_id)
        .filter_map(|t| t["id"].as_str())
        .collect();
    let expected: HashSet<String> =
        everything
            .values()
            .filter(|s| {
                s["attributes"].as_array().into_iter().flatten().any(|a| {
                    descendants.contains(a["taxonomy_term_id"].as_str().unwrap_or_default())
                })
            })
            .filter_map(|s| s["id"].as_str().map(str::to_owned))
            .collect();
    assert_eq!(by_term.iter().cloned().collect::<HashSet<_>>(), expected);
    let taxonomy_id = term["taxonomy_id"].as_str().expect("a taxonomy");
    let by_taxonomy = service_ids(&app, &format!("taxonomy_id={taxonomy_id}")).await;
    assert!(by_taxonomy.len() >= by_term.len());
    assert!(
        service_ids(&app, &format!("taxonomy_id={}", uuid::Uuid::new_v4()))
            .await
            .is_empty()
    );

    // Organisation.
    let some = everything.values().next().expect("a service");
    let org = some["organization_id"].as_str().expect("org");
    let by_org = service_ids(&app, &format!("organization_id={org}")).await;
    assert!(by_org.contains(&some["id"].as_str().expect("id").to_owned()));
    assert!(
        by_org
            .iter()
            .all(|id| everything[id]["organization_id"] == org)
    );
    let org_body = ok(
        &app,
        "/organizations/{id}",
        &format!("/organizations/{org}"),
    )
    .await;
    assert_eq!(
        org_body["services"].as_array().map(Vec::len),
        Some(by_org.len())
    );

    // Modified after.
    assert_eq!(
        service_ids(&app, "modified_after=2000-01-01").await.len(),
        all_ids.len()
    );
    assert!(
        service_ids(&app, "modified_after=2999-01-01T00:00:00Z")
            .await
            .is_empty()
    );

    // Ages, in years: minimum_age at least, maximum_age at most.
    let young = service_ids(&app, "maximum_age=1").await;
    assert!(!young.is_empty());
    assert!(young.iter().all(|id| {
        everything[id]["maximum_age"]
            .as_f64()
            .is_some_and(|a| a <= 1.0)
    }));
    let older = service_ids(&app, "minimum_age=0.5").await;
    assert!(older.iter().all(|id| {
        everything[id]["minimum_age"]
            .as_f64()
            .is_some_and(|a| a >= 0.5)
    }));

    // Day and times: one opening row matches them all.
    let monday = service_ids(&app, "day=MO&start_time=09:00&end_time=17:00:00").await;
    assert!(!monday.is_empty());
    for id in &monday {
        let schedules = everything[id]["schedules"].as_array().expect("schedules");
        assert!(schedules.iter().any(|s| s["byday"] == "MO"
            && s["opens_at"].as_str().is_some_and(|t| t >= "09:00:00")
            && s["closes_at"].as_str().is_some_and(|t| t <= "17:00:00")));
    }
    assert_eq!(
        service_ids(&app, "day=monday").await,
        service_ids(&app, "day=MO").await
    );

    // Postcode: catchment; with proximity (km): within reach, nearest first.
    let covering = service_ids(&app, "postcode=M33+7ZF").await;
    assert!(!covering.is_empty() && covering.len() < all_ids.len());
    let near = service_ids(&app, "postcode=M33+7ZF&proximity=5").await;
    assert!(!near.is_empty() && near.len() < all_ids.len());
    let wider = service_ids(&app, "postcode=M33+7ZF&proximity=50").await;
    assert!(wider.len() >= near.len());

    // Everything combines with AND.
    let combined = service_ids(&app, &format!("postcode=M33+7ZF&organization_id={org}")).await;
    let both: HashSet<&String> = covering.iter().filter(|id| by_org.contains(id)).collect();
    assert_eq!(combined.iter().collect::<HashSet<_>>(), both);
    let text_and_age = service_ids(&app, "search=baby&maximum_age=2").await;
    assert!(text_and_age.iter().all(|id| {
        young.contains(id)
            || everything[id]["maximum_age"]
                .as_f64()
                .is_some_and(|a| a <= 2.0)
    }));

    // The same filters on service_at_locations.
    let links = all_pages(
        &app,
        "/service_at_locations",
        "per_page=100&postcode=M33+7ZF&proximity=5",
    )
    .await;
    assert!(!links.is_empty());
    assert!(
        links
            .iter()
            .all(|l| near.contains(&l["service_id"].as_str().unwrap_or_default().to_owned()))
    );
    let org_links = all_pages(
        &app,
        "/service_at_locations",
        &format!("per_page=100&organization_id={org}"),
    )
    .await;
    assert!(
        org_links
            .iter()
            .all(|l| l["service"]["organization_id"] == org)
    );
    let term_pages = all_pages(
        &app,
        "/taxonomy_terms",
        &format!("taxonomy_id={taxonomy_id}"),
    )
    .await;
    assert_eq!(
        term_pages.len(),
        terms
            .iter()
            .filter(|t| t["taxonomy_id"] == taxonomy_id)
            .count()
    );
}

#[tokio::test]
async fn bad_input_is_a_400_and_unknown_ids_a_404() {
    let app = TestApp::spawn_with(tests::Options { seed_demo: false }).await;
    let unknown = "00000000-0000-4000-8000-000000000000";
    for endpoint in [
        "services",
        "organizations",
        "taxonomies",
        "taxonomy_terms",
        "service_at_locations",
    ] {
        let (status, body) = get(&app, &format!("/{endpoint}/{unknown}")).await;
        assert_eq!(status, 404, "{endpoint}: {body}");
        assert_eq!(body["code"], 404);
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains(unknown))
        );
        let (status, body) = get(&app, &format!("/{endpoint}/not-a-uuid")).await;
        assert_eq!(status, 400, "{endpoint}: {body}");
        assert!(
            body["message"]
                .as_str()
                .is_some_and(|m| m.contains("not a UUID"))
        );
        for bad in ["page=0", "page=-1", "page=x", "per_page=0", "per_page=2.5"] {
            let (status, body) = get(&app, &format!("/{endpoint}?{bad}")).await;
            assert_eq!(status, 400, "{endpoint}?{bad}: {body}");
        }
        // An empty directory still answers a valid, empty page.
        let body = ok(&app, &format!("/{endpoint}"), &format!("/{endpoint}")).await;
        assert_eq!(body["empty"], true);
        assert_eq!(body["total_items"], 0);
    }
    for (query, word) in [
        ("taxonomy_term_id=x", "taxonomy_term_id"),
        ("taxonomy_id=x", "taxonomy_id"),
        ("organization_id=x", "organization_id"),
        ("modified_after=yesterday", "modified_after"),
        ("modified_after=2025-13-40", "modified_after"),
        ("minimum_age=old", "minimum_age"),
        ("maximum_age=-1", "maximum_age"),
        ("day=someday", "day"),
        ("start_time=25:00", "start_time"),
        ("end_time=noon", "end_time"),
        ("postcode=not+a+postcode", "postcode"),
        ("postcode=ZZ9", "postcode"),
        ("proximity=5", "proximity"),
        ("postcode=M33+7ZF&proximity=far", "proximity"),
        ("postcode=M33+7ZF&proximity=0", "proximity"),
        ("full=perhaps", "full"),
        ("minimal=2", "minimal"),
    ] {
        // `full` and `minimal` are parameters of `/services` only.
        let endpoints: &[&str] = if matches!(word, "full" | "minimal") {
            &["/services"]
        } else {
            &["/services", "/service_at_locations"]
        };
        for endpoint in endpoints {
            let (status, body) = get(&app, &format!("{endpoint}?{query}")).await;
            assert_eq!(status, 400, "{endpoint}?{query}: {body}");
            assert_eq!(body["code"], 400);
            assert!(
                body["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with(word)),
                "{query}: {body}"
            );
        }
    }
    let long = "a".repeat(501);
    let (status, _) = get(&app, &format!("/services?search={long}")).await;
    assert_eq!(status, 400);
    let (status, _) = get(&app, "/nothing-here").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_export_holds_the_full_listing_and_every_other_status() {
    let app = TestApp::spawn().await;
    let mut out = Vec::new();
    signpost_api::hsds::encode::export(&app.db, &mut out)
        .await
        .expect("the export");
    let exported: Vec<Value> = serde_json::from_slice(&out).expect("a JSON array");
    profile().assert_valid("/export", "the export", &Value::Array(exported.clone()));
    let count = service::Entity::find()
        .all(&app.db)
        .await
        .expect("services")
        .len();
    assert_eq!(exported.len(), count, "every service, whatever its status");
    let order: Vec<&str> = exported.iter().filter_map(|s| s["id"].as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    assert_eq!(order, sorted, "ordered by id");
    let statuses: HashSet<&str> = exported
        .iter()
        .filter_map(|s| s["status"].as_str())
        .collect();
    assert!(statuses.contains("temporarily closed") && statuses.contains("defunct"));
    assert!(!String::from_utf8_lossy(&out).contains("Samira Haq"));

    // The active part is exactly what `/services?full=true` serves.
    let mut active: Vec<Value> = exported
        .into_iter()
        .filter(|s| s["status"] == "active")
        .collect();
    let mut served = all_pages(&app, "/services", "full=true&per_page=100").await;
    let by_id = |a: &Value, b: &Value| a["id"].as_str().cmp(&b["id"].as_str());
    active.sort_by(by_id);
    served.sort_by(by_id);
    assert_eq!(active.len(), served.len());
    assert_eq!(active, served);
}
