//! Signpost itself: its server process, the GraphQL every query kind sends, and the admin
//! update phase that measures how soon an edit is searchable.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Mutex,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::{
    http::HttpConn,
    load::Target,
    measure::{Latency, percentiles},
    model::{PAGE, Place, Query},
    procs::{self, Server},
};

const SEARCH: &str = "query($text: String, $filter: ServiceFilter, $near: NearInput, $sort: SearchSort) { \
    search(text: $text, filter: $filter, near: $near, sort: $sort, first: 20) { totalCount \
    edges { distanceKm node { id name organization { name } } } } }";
/// The search with every facet counted.
const SEARCH_FACETS: &str = "query($text: String, $filter: ServiceFilter, $near: NearInput, $sort: SearchSort) { \
    search(text: $text, filter: $filter, near: $near, sort: $sort, first: 20) { totalCount \
    facets { categories { value label count } levelOfNeed { value label count } \
    audiences { value label count } deliveryModes { value label count } \
    referralRoutes { value label count } languages { value label count } } \
    edges { distanceKm node { id name organization { name } } } } }";
/// The search with where each result matched.
const SEARCH_HIGHLIGHTS: &str = "query($text: String, $filter: ServiceFilter, $near: NearInput, $sort: SearchSort) { \
    search(text: $text, filter: $filter, near: $near, sort: $sort, first: 20) { totalCount \
    edges { distanceKm highlights { field snippet } node { id name organization { name } } } } }";
const FETCH: &str = "query($id: ID!) { service(id: $id) { id name description levelOfNeed \
    organization { id name } locations { name city postcode latitude longitude } \
    taxonomyTerms { id name } phones { number } referral { selfReferral professionalReferral instructions } \
    eligibility { fromPregnancy minAgeMonths maxAgeMonths audiences } } }";
const LISTING: &str = "query($filter: ServiceFilter, $after: String) { services(filter: $filter, first: 20, after: $after) { \
    edges { node { id name levelOfNeed organization { name } taxonomyTerms { name } locations { name postcode } } } \
    pageInfo { endCursor hasNextPage } } }";
const SUGGEST: &str = "query($prefix: String!) { suggest(prefix: $prefix, limit: 8) }";
/// Everything `updateService` needs, in the input's shape.
const EDITABLE: &str = "query($id: ID!) { service(id: $id) { version organization { id } name alternateName \
    description url email status levelOfNeed \
    eligibility { fromPregnancy minAgeMonths maxAgeMonths audiences description } \
    referral { selfReferral professionalReferral instructions } deliveryModes languages free \
    feesDescription fundingSource fundingEndsOn \
    serviceAreas { kind name postcodePrefix latitude longitude radiusKm } \
    locations { name city postcode latitude longitude accessibility } \
    contacts { name title email phone visibility } phones { number description visibility } \
    schedules { weekday opensAt closesAt description } taxonomyTerms { id } } }";
const UPDATE: &str = "mutation($id: ID!, $version: Int!, $input: ServiceInput!) { \
    updateService(id: $id, expectedVersion: $version, input: $input) { id version } }";
const FIND: &str =
    "query($text: String) { search(text: $text, first: 20) { edges { node { id } } } }";

/// Where listing page `n` of a category starts: the cursor of the page before.
type Cursors = HashMap<(Option<String>, u32), Option<String>>;

/// What a search asks for beside its page of names and organisations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SearchShape {
    /// Nothing more: the search row.
    Plain,
    /// Every facet's counts.
    Facets,
    /// Each result's highlights.
    Highlights,
}

impl SearchShape {
    /// The rows beside the plain search's.
    pub const EXTRA: [SearchShape; 2] = [SearchShape::Facets, SearchShape::Highlights];

    fn query(self) -> &'static str {
        match self {
            SearchShape::Plain => SEARCH,
            SearchShape::Facets => SEARCH_FACETS,
            SearchShape::Highlights => SEARCH_HIGHLIGHTS,
        }
    }

    /// Its name as a class of `bench drive`.
    pub fn drive_name(self) -> &'static str {
        match self {
            SearchShape::Plain => "search",
            SearchShape::Facets => "facets",
            SearchShape::Highlights => "highlights",
        }
    }

    /// The row's name.
    pub fn name(self) -> &'static str {
        match self {
            SearchShape::Plain => "Signpost",
            SearchShape::Facets => FACETS_NAME,
            SearchShape::Highlights => HIGHLIGHTS_NAME,
        }
    }
}

/// The row of searches that also count every facet.
pub const FACETS_NAME: &str = "search with facets";
/// The row of searches that also ask where each result matched.
pub const HIGHLIGHTS_NAME: &str = "search with highlights";

/// The Signpost GraphQL endpoint as a load target.
pub struct Signpost {
    pub addr: SocketAddr,
    /// What its searches ask for.
    shape: SearchShape,
    /// The cursors of listing pages walked so far, shared by all connections (as clients
    /// following "next page" links hold them); a page not yet known is walked to once.
    cursors: Mutex<Cursors>,
}

impl Signpost {
    /// A target at `addr`.
    pub fn new(addr: SocketAddr) -> Self {
        Self::shaped(addr, SearchShape::Plain)
    }

    /// A target at `addr` whose searches ask for `shape`.
    pub fn shaped(addr: SocketAddr, shape: SearchShape) -> Self {
        Signpost {
            addr,
            shape,
            cursors: Mutex::new(HashMap::new()),
        }
    }
}

/// A connection.
pub struct SignpostConn {
    http: HttpConn,
}

fn near(place: &Place, radius_km: Option<f64>) -> Value {
    json!({ "postcode": place.postcode, "radiusKm": radius_km })
}

fn filter(category: &Option<String>, age: &Option<f64>) -> Value {
    json!({ "categories": category.as_ref().map(|c| vec![c]), "infantAgeMonths": age })
}

/// The `data` of a GraphQL answer; errors are errors.
pub fn data(answer: Value) -> Result<Value> {
    if let Some(errors) = answer.get("errors") {
        bail!("GraphQL errors: {errors}");
    }
    answer.get("data").cloned().context("no data")
}

fn edge_ids(list: &Value) -> Vec<String> {
    list["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl Signpost {
    async fn graphql(conn: &mut HttpConn, query: &str, variables: Value) -> Result<Value> {
        data(
            conn.post_json(
                "/graphql",
                &[],
                &json!({ "query": query, "variables": variables }),
            )
            .await?,
        )
    }

    async fn listing(
        &self,
        conn: &mut SignpostConn,
        category: &Option<String>,
        page: u32,
    ) -> Result<Value> {
        // The cursor of the page before, walking from the first page when not yet known.
        let mut after: Option<String> = None;
        for p in 0..page {
            let known = self
                .cursors
                .lock()
                .ok()
                .and_then(|c| c.get(&(category.clone(), p + 1)).cloned());
            if let Some(known) = known {
                after = known;
                continue;
            }
            let variables = json!({ "filter": filter(category, &None), "after": after });
            let data = Self::graphql(&mut conn.http, LISTING, variables).await?;
            let info = &data["services"]["pageInfo"];
            after = info["endCursor"].as_str().map(str::to_owned);
            if let Ok(mut cursors) = self.cursors.lock() {
                cursors.insert((category.clone(), p + 1), after.clone());
            }
        }
        let variables = json!({ "filter": filter(category, &None), "after": after });
        Self::graphql(&mut conn.http, LISTING, variables).await
    }
}

#[async_trait::async_trait]
impl Target for Signpost {
    type Conn = SignpostConn;

    fn name(&self) -> &str {
        self.shape.name()
    }

    async fn connect(&self) -> Result<SignpostConn> {
        Ok(SignpostConn {
            http: HttpConn::connect(self.addr).await?,
        })
    }

    async fn run(&self, conn: &mut SignpostConn, query: &Query) -> Result<Vec<String>> {
        match query {
            Query::Keyword {
                text,
                category,
                infant_age_months,
                near: place,
                radius_km,
            } => {
                let variables = json!({
                    "text": text,
                    "filter": filter(category, infant_age_months),
                    "near": place.as_ref().map(|p| near(p, *radius_km)),
                });
                let data = Self::graphql(&mut conn.http, self.shape.query(), variables).await?;
                Ok(edge_ids(&data["search"]))
            }
            Query::Distance {
                category,
                infant_age_months,
                near: place,
                radius_km,
            } => {
                let variables = json!({
                    "filter": filter(category, infant_age_months),
                    "near": near(place, Some(*radius_km)),
                    "sort": "DISTANCE",
                });
                let data = Self::graphql(&mut conn.http, self.shape.query(), variables).await?;
                Ok(edge_ids(&data["search"]))
            }
            Query::Fetch { id } => {
                let data = Self::graphql(&mut conn.http, FETCH, json!({ "id": id })).await?;
                match data["service"]["id"].as_str() {
                    Some(found) if found == id => Ok(vec![id.clone()]),
                    _ => bail!("service {id} not found"),
                }
            }
            Query::Listing { category, page } => {
                let data = self.listing(conn, category, *page).await?;
                let ids = edge_ids(&data["services"]);
                if ids.len() > PAGE {
                    bail!("a page of {} services", ids.len());
                }
                Ok(ids)
            }
            Query::Suggest { prefix } => {
                let data =
                    Self::graphql(&mut conn.http, SUGGEST, json!({ "prefix": prefix })).await?;
                if !data["suggest"].is_array() {
                    bail!("no suggestions list");
                }
                Ok(Vec::new())
            }
        }
    }
}

/// How a Signpost server process is started.
#[derive(Clone, Debug)]
pub struct Install {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    /// `DATABASE_URL`, when not the embedded SQLite file of `data_dir`.
    pub database_url: Option<String>,
}

impl Install {
    fn command(&self, core: Option<usize>) -> tokio::process::Command {
        let mut cmd = match core {
            Some(core) => procs::pinned(core, &self.binary),
            // Commands (import, reindex) run on every core, as they would on this machine.
            None => procs::on_cores(&procs::all_cores(), &self.binary),
        };
        cmd.env("SIGNPOST_DATA_DIR", &self.data_dir)
            .env("SIGNPOST_SEED_DEMO", "false")
            .env("SIGNPOST_RATE_LIMIT_ANONYMOUS", "0")
            .env("SIGNPOST_RATE_LIMIT_TOKEN", "0")
            .env("RUST_LOG", "warn");
        match &self.database_url {
            Some(url) => cmd.env("DATABASE_URL", url),
            None => cmd.env_remove("DATABASE_URL"),
        };
        cmd
    }

    /// Runs a command of the `signpost` binary to completion, feeding `stdin`; returns stdout.
    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<String> {
        let mut cmd = self.command(None);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().context("cannot start signpost")?;
        if let (Some(mut pipe), Some(text)) = (child.stdin.take(), stdin) {
            pipe.write_all(text.as_bytes()).await?;
        }
        let out = child.wait_with_output().await?;
        if !out.status.success() {
            bail!(
                "signpost {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a command of the `signpost` binary to completion, its output to `log`; returns its
    /// peak resident memory in MiB (its `VmHWM`, read every 10 ms while it runs: growth in its
    /// last few milliseconds can be missed).
    pub async fn run_measured(&self, args: &[&str], log: &Path) -> Result<f64> {
        let log = std::fs::File::create(log)?;
        let mut child = self
            .command(None)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start signpost")?;
        let pid = child.id().context("signpost exited at once")?;
        let mut peak: f64 = 0.0;
        let status = loop {
            if let Ok(now) = procs::peak_rss_mib(pid) {
                peak = peak.max(now);
            }
            tokio::select! {
                status = child.wait() => break status?,
                () = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        };
        if !status.success() {
            bail!("signpost {}: {status}; see its log", args.join(" "));
        }
        Ok(peak)
    }

    /// Starts `signpost serve` pinned to `core` and waits until it answers a search.
    pub async fn serve(&self, core: usize, log: &Path) -> Result<Server> {
        let port = procs::free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = std::fs::File::create(log)?;
        let mut cmd = self.command(Some(core));
        cmd.arg("serve")
            .env("SIGNPOST_BIND", addr.to_string())
            .stdout(log.try_clone()?)
            .stderr(log);
        let started = Instant::now();
        let child = cmd.spawn().context("cannot start signpost serve")?;
        let mut server = Server {
            child,
            addr,
            started,
        };
        procs::wait_until(&mut server, Duration::from_secs(600), answers_search).await?;
        Ok(server)
    }
}

/// Whether a server answers a search.
pub async fn answers_search(addr: SocketAddr) -> bool {
    let Ok(mut conn) = HttpConn::connect(addr).await else {
        return false;
    };
    let body = json!({ "query": "{ search(text: \"baby\", first: 1) { totalCount } }" });
    match conn.post_json("/graphql", &[], &body).await {
        Ok(answer) => answer["data"]["search"]["totalCount"].is_number(),
        Err(_) => false,
    }
}

/// Creates an admin account and signs in; returns a bearer token. The account may exist from
/// an earlier run on the same data, and adding it may meet the running server's write on the
/// same SQLite file: it is added again (a few times, a second apart) until the sign-in works.
pub async fn admin_token(install: &Install, addr: SocketAddr) -> Result<String> {
    let email = "bench-admin@example.org";
    let password = "benchmark password 1001";
    let mut conn = HttpConn::connect(addr).await?;
    let mut added = Ok(String::new());
    for attempt in 0..5 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        added = install
            .run(
                &[
                    "user",
                    "add",
                    "--email",
                    email,
                    "--role",
                    "admin",
                    "--password-stdin",
                ],
                Some(password),
            )
            .await;
        let login = Signpost::graphql(
            &mut conn,
            "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
            json!({ "e": email, "p": password }),
        )
        .await;
        if let Ok(data) = login
            && let Some(token) = data["login"]["token"].as_str()
        {
            return Ok(token.to_owned());
        }
    }
    match added {
        Ok(_) => bail!("the bench admin cannot sign in"),
        Err(err) => Err(err.context("the bench admin cannot be added")),
    }
}

/// Freshness: each update's latency on the instance that took it (which answers once the edit
/// is searchable there) and the time from its answer until a search on a second instance
/// finds it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Freshness {
    pub updates: usize,
    pub same_instance: Latency,
    pub other_instance: Latency,
    /// Searches on the first instance right after the answer that did not find the edit.
    pub same_instance_misses: usize,
}

/// A word no listing holds, unique to update `n`.
fn marker(n: usize) -> String {
    marked("freshmark", n)
}

/// `prefix` followed by letters unique to `n`.
pub fn marked(prefix: &str, n: usize) -> String {
    let mut word = String::from(prefix);
    let mut x = n + 26 * 26;
    while x > 0 {
        word.push(char::from(b'a' + (x % 26) as u8));
        x /= 26;
    }
    word
}

async fn found(conn: &mut HttpConn, word: &str, id: &str) -> Result<bool> {
    let data = Signpost::graphql(conn, FIND, json!({ "text": word })).await?;
    Ok(edge_ids(&data["search"]).iter().any(|x| x == id))
}

/// The `updateService` request that appends `word` to a service's description, as an admin would
/// make it: the listing is read, then written back whole with the version read.
pub async fn edit_request(
    writer: &mut HttpConn,
    headers: &[(&str, &str)],
    id: &str,
    word: &str,
) -> Result<Value> {
    let body = json!({ "query": EDITABLE, "variables": { "id": id } });
    let current = data(writer.post_json("/graphql", headers, &body).await?)?;
    let mut service = current["service"].clone();
    let version = service["version"].clone();
    let input = service.as_object_mut().context("no service")?;
    let organization = input.remove("organization").unwrap_or_default();
    let terms = input.remove("taxonomyTerms").unwrap_or_default();
    input.remove("version");
    input.insert("organizationId".into(), organization["id"].clone());
    input.insert(
        "taxonomyTermIds".into(),
        Value::Array(
            terms
                .as_array()
                .map(|t| t.iter().map(|x| x["id"].clone()).collect())
                .unwrap_or_default(),
        ),
    );
    // An earlier edit's word is replaced, so that repeated edits do not grow the listing.
    let description = input["description"].as_str().unwrap_or_default();
    let description = description
        .rsplit_once(" Updated: ")
        .map_or(description, |(before, _)| before)
        .to_owned();
    input.insert(
        "description".into(),
        Value::String(format!("{description} Updated: {word}.")),
    );
    Ok(json!({
        "query": UPDATE,
        "variables": { "id": id, "version": version, "input": Value::Object(input.clone()) },
    }))
}

/// Edits each service's description on `first` and waits for it to be searchable on `second`.
pub async fn updates(
    first: SocketAddr,
    second: SocketAddr,
    token: &str,
    ids: &[String],
) -> Result<Freshness> {
    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str())];
    let mut writer = HttpConn::connect(first).await?;
    let mut reader_same = HttpConn::connect(first).await?;
    let mut reader_other = HttpConn::connect(second).await?;
    let (mut same, mut other, mut misses) = (Vec::new(), Vec::new(), 0);
    for (n, id) in ids.iter().enumerate() {
        let word = marker(n);
        let body = edit_request(&mut writer, &headers, id, &word).await?;
        let began = Instant::now();
        data(writer.post_json("/graphql", &headers, &body).await?)?;
        let answered = Instant::now();
        same.push((answered - began).as_micros() as u64);
        if !found(&mut reader_same, &word, id).await? {
            misses += 1;
        }
        let deadline = answered + Duration::from_secs(30);
        loop {
            if found(&mut reader_other, &word, id).await? {
                other.push(answered.elapsed().as_micros() as u64);
                break;
            }
            if Instant::now() > deadline {
                bail!("update {n} was not searchable on the second instance after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    Ok(Freshness {
        updates: ids.len(),
        same_instance: percentiles(same, 0, 0.0),
        other_instance: percentiles(other, 0, 0.0),
        same_instance_misses: misses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn install(binary: &str) -> Install {
        Install {
            binary: PathBuf::from(binary),
            data_dir: PathBuf::from("unused"),
            database_url: None,
        }
    }

    fn args(cmd: &tokio::process::Command) -> Vec<String> {
        let cmd = cmd.as_std();
        std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn servers_run_on_their_core_and_commands_on_every_core() {
        let signpost = install("/opt/signpost");
        assert_eq!(
            args(&signpost.command(Some(0))),
            ["taskset", "-c", "0", "/opt/signpost"]
        );
        // The bench pins itself to the load core, which a child would inherit: a command
        // names every core instead.
        let every = procs::all_cores();
        assert_eq!(
            args(&signpost.command(None)),
            ["taskset", "-c", every.as_str(), "/opt/signpost"]
        );
    }

    /// How many cores a process started by `cmd` may run on (`nproc` reads its own mask).
    async fn cores_of(mut cmd: tokio::process::Command) -> usize {
        let output = cmd.output().await.expect("nproc runs");
        assert!(output.status.success());
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .expect("a count")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_command_may_use_every_core_even_from_a_pinned_process() {
        let cores = std::fs::read_to_string("/proc/cpuinfo")
            .expect("/proc/cpuinfo")
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        if cores > 1 {
            // Pin this thread (it starts the children) to one core, as the bench pins itself;
            // a child started plainly inherits that.
            let thread = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
            let tid = thread.file_name().expect("a thread id").to_string_lossy();
            let pinned = std::process::Command::new("taskset")
                .args(["-cp", "0", tid.as_ref()])
                .stdout(std::process::Stdio::null())
                .status()
                .expect("taskset");
            assert!(pinned.success());
            assert_eq!(cores_of(tokio::process::Command::new("nproc")).await, 1);
        }
        assert_eq!(cores_of(install("nproc").command(None)).await, cores);
    }
}
