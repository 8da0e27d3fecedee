//! A schema-driven fuzz test: every root query and mutation field, called with random typed and
//! extreme arguments as anonymous, partner and admin callers. However odd the input, the answer
//! is never a 5xx, and every error carries a code other than INTERNAL.
//!
//! Seeded (`FUZZ_SEED` picks another seed) and bounded: a fixed number of calls a field, and a
//! minute at most.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use serde_json::{Map, Value, json};
use tests::TestApp;

/// Calls per root field.
const CALLS_PER_FIELD: usize = 40;
/// The whole run's time bound (every field still gets at least one call).
const TIME_BOUND: Duration = Duration::from_secs(60);
/// The codes an error may carry.
const CODES: [&str; 7] = [
    "BAD_USER_INPUT",
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "RATE_LIMITED",
    "UNAVAILABLE",
];

const TYPE_REF: &str = "fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }";

/// The schema as introspection tells it: types by name.
struct Schema {
    types: HashMap<String, Value>,
    query: Vec<Value>,
    mutation: Vec<Value>,
}

async fn introspect(app: &TestApp) -> Schema {
    let query = format!(
        "{{ __schema {{ queryType {{ name }} mutationType {{ name }} types {{ kind name \
         fields {{ name args {{ name type {{ ...T }} }} type {{ ...T }} }} \
         inputFields {{ name type {{ ...T }} }} enumValues {{ name }} }} }} }} {TYPE_REF}"
    );
    let data = app.data(&query, json!({})).await;
    let schema = &data["__schema"];
    let types: HashMap<String, Value> = schema["types"]
        .as_array()
        .expect("types")
        .iter()
        .map(|t| (t["name"].as_str().unwrap_or_default().to_owned(), t.clone()))
        .collect();
    let fields_of = |root: &Value| -> Vec<Value> {
        root["name"]
            .as_str()
            .and_then(|name| types.get(name))
            .and_then(|t| t["fields"].as_array().cloned())
            .unwrap_or_default()
    };
    let query = fields_of(&schema["queryType"]);
    let mutation = fields_of(&schema["mutationType"]);
    Schema {
        types,
        query,
        mutation,
    }
}

/// The GraphQL spelling of a type reference (`[ID!]!`).
fn type_name(t: &Value) -> String {
    match t["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", type_name(&t["ofType"])),
        Some("LIST") => format!("[{}]", type_name(&t["ofType"])),
        _ => t["name"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The named type under any wrappers.
fn named(t: &Value) -> &Value {
    match t["kind"].as_str() {
        Some("NON_NULL" | "LIST") => named(&t["ofType"]),
        _ => t,
    }
}

struct Fuzzer<'a> {
    rng: fastrand::Rng,
    schema: &'a Schema,
    ids: Vec<String>,
}

impl Fuzzer<'_> {
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.rng.usize(..items.len())].clone()
    }

    /// A random value of type `t` (wrappers included); `depth` bounds input-object recursion.
    fn value(&mut self, t: &Value, depth: usize) -> Value {
        match t["kind"].as_str() {
            Some("NON_NULL") => self.value(&t["ofType"], depth),
            Some("LIST") => {
                let len = self.pick(&[0, 1, 2, 3, 60, 1_000]);
                let one = self.value(&t["ofType"], depth + 1);
                (0..len)
                    .map(|i| {
                        if i < 3 {
                            self.value(&t["ofType"], depth + 1)
                        } else {
                            one.clone()
                        }
                    })
                    .collect()
            }
            Some("ENUM") => {
                let name = t["name"].as_str().unwrap_or_default();
                let values: Vec<Value> = self.schema.types[name]["enumValues"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if values.is_empty() {
                    Value::Null
                } else {
                    self.pick(&values)["name"].clone()
                }
            }
            Some("INPUT_OBJECT") => {
                let name = t["name"].as_str().unwrap_or_default();
                let fields: Vec<Value> = self.schema.types[name]["inputFields"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let mut object = Map::new();
                for field in fields {
                    let required = field["type"]["kind"] == "NON_NULL";
                    if depth < 4 && (required || self.rng.bool()) {
                        let value = self.value(&field["type"], depth + 1);
                        object.insert(field["name"].as_str().unwrap_or_default().to_owned(), value);
                    }
                }
                Value::Object(object)
            }
            _ => self.scalar(t["name"].as_str().unwrap_or_default()),
        }
    }

    fn scalar(&mut self, name: &str) -> Value {
        match name {
            "Int" => json!(self.pick(&[
                0_i64,
                1,
                -1,
                5,
                20,
                100,
                101,
                730,
                731,
                36_500,
                i64::from(i32::MAX),
                i64::from(i32::MIN)
            ])),
            "Float" => json!(self.pick(&[
                0.0, -1.0, 0.5, 4.0, 60.0, 61.0, 500.0, 1e-300, 1e308, -1e308, 51.9, -2.07
            ])),
            "Boolean" => json!(self.rng.bool()),
            "ID" => {
                let known = self.pick(&self.ids.clone());
                json!(self.pick(&[
                    known.clone(),
                    known,
                    uuid::Uuid::new_v4().to_string(),
                    "not-an-id".to_owned(),
                    String::new(),
                    "00000000-0000-0000-0000-000000000000".to_owned(),
                ]))
            }
            "Date" => json!(self.pick(&[
                "2026-01-31",
                "1900-01-01",
                "2200-12-31",
                "1899-12-31",
                "0000-00-00",
                "+10000-01-01",
                "2026-02-30",
                "yesterday"
            ])),
            "DateTime" => json!(self.pick(&[
                "2026-01-31T09:30:00Z",
                "2026-12-31T23:59:59+14:00",
                "1900-01-01T00:00:00Z",
                "9999-12-31T23:59:59Z",
                "+10000-01-01T00:00:00Z",
                "2026-13-01T00:00:00Z",
                "now"
            ])),
            "JSON" => self.pick(&[
                json!([]),
                json!({}),
                json!("text"),
                json!(1),
                json!([{ "id": "x", "name": "" }]),
                json!([{ "id": uuid::Uuid::new_v4().to_string(), "name": "Fuzz service", "status": "active", "organization": { "id": uuid::Uuid::new_v4().to_string(), "name": "Fuzz org" } }]),
                json!({ "contents": [{ "id": 5, "name": [1, 2] }] }),
            ]),
            // String and any custom scalar spelled as text.
            _ => json!(self.pick(&[
                String::new(),
                "a".to_owned(),
                "baby 4 months low mood".to_owned(),
                "GL50 1AA".to_owned(),
                "gl50".to_owned(),
                "ZZ99 9ZZ".to_owned(),
                "someone@example.org".to_owned(),
                "https://example.org/x".to_owned(),
                "x".repeat(5_000),
                "\u{1F476}\u{200D}\u{1F37C} ñ ü ß".to_owned(),
                "'; DROP TABLE service; --".to_owned(),
                "%_\\*?[]{}()\"".to_owned(),
                "AND OR NOT \"unclosed".to_owned(),
                "en".to_owned(),
                "09:30".to_owned(),
                "a long enough pass phrase".to_owned(),
            ])),
        }
    }

    /// A selection set for type `t`, leaves first, a little way down.
    fn selection(&mut self, t: &Value, depth: usize) -> String {
        let t = named(t);
        let name = t["name"].as_str().unwrap_or_default();
        match t["kind"].as_str() {
            Some("OBJECT") => {}
            Some("INTERFACE" | "UNION") => return "{ __typename }".to_owned(),
            _ => return String::new(),
        }
        let fields: Vec<Value> = self.schema.types[name]["fields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mut parts = vec!["__typename".to_owned()];
        let mut objects = 0;
        for field in fields {
            let needs_args = field["args"]
                .as_array()
                .is_some_and(|args| args.iter().any(|a| a["type"]["kind"] == "NON_NULL"));
            if needs_args {
                continue;
            }
            let inner = named(&field["type"]);
            let field_name = field["name"].as_str().unwrap_or_default();
            match inner["kind"].as_str() {
                Some("SCALAR" | "ENUM") => parts.push(field_name.to_owned()),
                Some("OBJECT" | "INTERFACE" | "UNION")
                    if depth < 3 && objects < 3 && self.rng.u8(..3) > 0 =>
                {
                    objects += 1;
                    let below = self.selection(&field["type"], depth + 1);
                    parts.push(format!("{field_name} {below}"));
                }
                _ => {}
            }
        }
        format!("{{ {} }}", parts.join(" "))
    }

    /// One call of a root field: the document and its variables.
    fn call(&mut self, operation: &str, field: &Value) -> (String, Value) {
        let mut definitions = Vec::new();
        let mut arguments = Vec::new();
        let mut variables = Map::new();
        for arg in field["args"].as_array().cloned().unwrap_or_default() {
            let required = arg["type"]["kind"] == "NON_NULL";
            if !required && self.rng.u8(..3) == 0 {
                continue;
            }
            let name = arg["name"].as_str().unwrap_or_default().to_owned();
            definitions.push(format!("${name}: {}", type_name(&arg["type"])));
            arguments.push(format!("{name}: ${name}"));
            variables.insert(name, self.value(&arg["type"], 0));
        }
        let definitions = if definitions.is_empty() {
            String::new()
        } else {
            format!("({})", definitions.join(", "))
        };
        let arguments = if arguments.is_empty() {
            String::new()
        } else {
            format!("({})", arguments.join(", "))
        };
        let selection = self.selection(&field["type"], 0);
        let name = field["name"].as_str().unwrap_or_default();
        (
            format!("{operation} Fuzz{definitions} {{ {name}{arguments} {selection} }}"),
            Value::Object(variables),
        )
    }
}

/// Ids the fuzzer may use: real ones from the demo directory, so calls reach past "not found".
async fn known_ids(app: &TestApp) -> Vec<String> {
    let data = app
        .data(
            "{ services(first: 20) { edges { node { id organization { id } taxonomyTerms { id } locations { id } } } } events(first: 5) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let mut ids = Vec::new();
    collect_ids(&data, &mut ids);
    ids.sort();
    ids.dedup();
    ids
}

fn collect_ids(value: &Value, ids: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "id"
                    && let Some(id) = value.as_str()
                {
                    ids.push(id.to_owned());
                }
                collect_ids(value, ids);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_ids(item, ids)),
        _ => {}
    }
}

#[tokio::test]
async fn no_input_to_any_root_field_gets_a_server_error() {
    let app = TestApp::spawn_with_settings(tests::Options::default(), |settings| {
        settings.rate_limit_anonymous = 0;
        settings.rate_limit_token = 0;
    })
    .await;
    let schema = introspect(&app).await;
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1001_u64);
    let ids = known_ids(&app).await;
    assert!(!ids.is_empty());
    let admin = app.admin_token().await;
    let partner = app.partner_token().await;
    let callers = [None, Some(partner.as_str()), Some(admin.as_str())];
    let mut fuzzer = Fuzzer {
        rng: fastrand::Rng::with_seed(seed),
        schema: &schema,
        ids,
    };
    let roots: Vec<(&str, Value)> = schema
        .query
        .iter()
        .map(|f| ("query", f.clone()))
        .chain(schema.mutation.iter().map(|f| ("mutation", f.clone())))
        .collect();
    assert!(roots.len() > 20, "{} root fields", roots.len());
    let started = Instant::now();
    let mut calls = 0;
    let mut failures = Vec::new();
    for round in 0..CALLS_PER_FIELD {
        if round > 0 && started.elapsed() > TIME_BOUND {
            break;
        }
        for (operation, field) in &roots {
            let (document, variables) = fuzzer.call(operation, field);
            let caller = callers[fuzzer.rng.usize(..callers.len())];
            let mut request = app
                .client
                .post(app.url("/graphql"))
                .json(&json!({ "query": document, "variables": variables }));
            if let Some(token) = caller {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("the server answers");
            calls += 1;
            let status = response.status().as_u16();
            let text = response.text().await.unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let bad_codes: Vec<String> = body["errors"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|error| {
                    let code = error["extensions"]["code"].as_str().unwrap_or("<none>");
                    (!CODES.contains(&code)).then(|| format!("{code}: {}", error["message"]))
                })
                .collect();
            if status >= 500 || body.is_null() || !bad_codes.is_empty() {
                let shown: String = variables.to_string().chars().take(600).collect();
                failures.push(format!(
                    "HTTP {status} {bad_codes:?}\n  {document}\n  variables: {shown}\n  body: {}",
                    text.chars().take(300).collect::<String>()
                ));
            }
        }
    }
    eprintln!(
        "fuzz: seed {seed}, {calls} calls over {} root fields in {:?}",
        roots.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed (seed {seed}):\n{}",
        failures.len(),
        failures.join("\n")
    );
    let health = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
}
