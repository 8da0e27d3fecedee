//! Database faults through the real server: an outage of PostgreSQL behind a TCP proxy the test
//! controls (requests answered quickly with a retryable error, `/readyz` 503 at once, recovery
//! without a restart), and `kill -9` of the `signpost` process during concurrent edits (no
//! acknowledged write lost, the search index equal to the database, read-your-write after the
//! restart).

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    path::Path,
    process::Stdio,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use entity::{ServiceStatus, service};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use tests::{Options, TestApp, TestDatabase, first_error, signpost_binary};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::watch,
};
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// 1. A database outage

/// A TCP proxy in front of the database: while cut, its open connections are closed and new
/// ones are accepted but never answered (as when a network path drops packets), until restored.
struct Proxy {
    address: SocketAddr,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy binds");
        let address = listener.local_addr().expect("the proxy's address");
        let (up, _) = watch::channel(true);
        let state = up.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let mut up = state.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if !*up.borrow_and_update() {
                        // Blackholed: held open without an answer until the database returns.
                        let _ = up.wait_for(|up| *up).await;
                        return;
                    }
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = up.wait_for(|up| !*up) => {
                            // Cut: reset both ends rather than closing them politely.
                            let _ = client.set_zero_linger();
                            let _ = server.set_zero_linger();
                        }
                    }
                });
            }
        });
        Self { address, up, task }
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn restore(&self) {
        self.up.send_replace(true);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `host:port` of a `postgres://` URL (port 5432 when it names none).
fn upstream_of(url: &str) -> String {
    let (_, authority, _) = split_authority(url);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host
        .rsplit_once(':')
        .is_some_and(|(_, port)| port.parse::<u16>().is_ok())
    {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// `url` with its host and port replaced by `address` (the user name is kept).
fn through(url: &str, address: SocketAddr) -> String {
    let (scheme, authority, rest) = split_authority(url);
    let user = authority
        .rsplit_once('@')
        .map_or(String::new(), |(user, _)| format!("{user}@"));
    format!("{scheme}{user}{address}{rest}")
}

/// `scheme://`, the authority, and the path and query of a URL.
fn split_authority(url: &str) -> (&str, &str, &str) {
    let start = url.find("://").expect("a URL with a scheme") + 3;
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    (&url[..start], &url[start..end], &url[end..])
}

/// A read that needs the database: a listing's contacts are not on its card.
const READ: &str = "query($id: ID!) { service(id: $id) { id name contacts { name } } }";
/// What readers are answered from the search index alone: a search, a list and a listing.
const FROM_INDEX: &str = "query($id: ID!) { service(id: $id) { id name } \
     services(first: 2) { totalCount } \
     search(text: \"baby\", first: 2) { totalCount edges { cursor node { id name } } } \
     counted: search(text: \"baby\") { totalCount } }";
const ME: &str = "{ me { id role } }";
const LOGIN: &str =
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }";

/// What one plain HTTP exchange gave: status, `Retry-After` and the JSON body.
struct Answer {
    status: u16,
    retry_after: Option<String>,
    body: Value,
    took: Duration,
}

async fn answer(request: reqwest::RequestBuilder) -> Answer {
    let started = Instant::now();
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        retry_after,
        body,
        took: started.elapsed(),
    }
}

/// The requests the outage test makes.
struct Probes<'a> {
    app: &'a TestApp,
    admin: String,
    service: String,
}

impl Probes<'_> {
    fn graphql(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> reqwest::RequestBuilder {
        let request = self
            .app
            .client
            .post(self.app.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    fn read(&self) -> reqwest::RequestBuilder {
        self.graphql(None, READ, json!({ "id": self.service }))
    }

    fn with_token(&self) -> reqwest::RequestBuilder {
        self.graphql(Some(&self.admin), ME, json!({}))
    }

    fn login(&self) -> reqwest::RequestBuilder {
        self.graphql(
            None,
            LOGIN,
            json!({ "e": "nobody@example.org", "p": "not the password at all" }),
        )
    }

    fn rest_service(&self) -> reqwest::RequestBuilder {
        self.app.client.get(
            self.app
                .url(&format!("/openreferral/services/{}", self.service)),
        )
    }

    fn rest_organizations(&self) -> reqwest::RequestBuilder {
        self.app
            .client
            .get(self.app.url("/openreferral/organizations"))
    }

    fn ready(&self) -> reqwest::RequestBuilder {
        self.app.client.get(self.app.url("/readyz"))
    }

    /// Every probe succeeds.
    async fn assert_served(&self) {
        let (read, me, rest_service, rest_organizations, ready) = tokio::join!(
            answer(self.read()),
            answer(self.with_token()),
            answer(self.rest_service()),
            answer(self.rest_organizations()),
            answer(self.ready()),
        );
        assert_eq!(read.status, 200, "{}", read.body);
        assert!(read.body.get("errors").is_none(), "{:#}", read.body);
        assert_eq!(read.body["data"]["service"]["id"], json!(self.service));
        assert_eq!(me.status, 200, "{}", me.body);
        assert_eq!(me.body["data"]["me"]["role"], "ADMIN", "{}", me.body);
        assert_eq!(rest_service.status, 200, "{}", rest_service.body);
        assert_eq!(rest_service.body["id"], json!(self.service));
        assert_eq!(
            rest_organizations.status, 200,
            "{}",
            rest_organizations.body
        );
        assert_eq!(ready.status, 200, "{}", ready.body);
    }
}

/// Waits until `probe` answers 200 without errors; returns how long that took.
async fn until_served(probe: impl Fn() -> reqwest::RequestBuilder, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let answer = answer(probe()).await;
        if answer.status == 200 && answer.body.get("errors").is_none() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "not served {limit:?} after the database returned: {} {}",
            answer.status,
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_database_outage_is_answered_quickly_and_retryably_and_recovery_needs_no_restart() {
    let Some(admin_url) = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
    else {
        eprintln!(
            "skipped: the database outage test needs PostgreSQL behind a proxy (set TEST_DATABASE_URL)"
        );
        return;
    };
    let proxy = Proxy::start(upstream_of(&admin_url)).await;
    let proxy_address = proxy.address;
    let app = TestApp::spawn_with_settings(Options::default(), |settings| {
        settings.database_url = settings
            .database_url
            .as_deref()
            .map(|url| through(url, proxy_address));
    })
    .await;
    let admin = app.admin_token().await;
    let data = app
        .data(
            "{ services(first: 1) { edges { node { id } } } }",
            json!({}),
        )
        .await;
    let service = data["services"]["edges"][0]["node"]["id"]
        .as_str()
        .expect("a demo service")
        .to_owned();
    let probes = Probes {
        app: &app,
        admin,
        service,
    };
    probes.assert_served().await;

    proxy.cut();
    let (read, me, login, rest_service, rest_organizations, ready) = tokio::join!(
        answer(probes.read()),
        answer(probes.with_token()),
        answer(probes.login()),
        answer(probes.rest_service()),
        answer(probes.rest_organizations()),
        answer(probes.ready()),
    );
    let quickly = Duration::from_secs(5);

    // GraphQL reads: a retryable error in the GraphQL shape, well within the old 10 s wait.
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(first_error(&read.body).0, "UNAVAILABLE", "{:#}", read.body);
    assert!(read.took < quickly, "a read took {:?}", read.took);
    assert_eq!(
        first_error(&login.body).0,
        "UNAVAILABLE",
        "{:#}",
        login.body
    );
    assert!(login.took < quickly, "a login took {:?}", login.took);

    // A token that cannot be checked: 503 and UNAVAILABLE, not 500 and not 401.
    assert_eq!(me.status, 503, "{}", me.body);
    assert_eq!(first_error(&me.body).0, "UNAVAILABLE", "{:#}", me.body);
    assert!(me.retry_after.is_some(), "Retry-After on {}", me.body);
    assert!(
        me.took < quickly,
        "a request with a token took {:?}",
        me.took
    );

    // The Open Referral API: 503 with Retry-After.
    for (what, answer) in [
        ("a service", &rest_service),
        ("organisations", &rest_organizations),
    ] {
        assert_eq!(answer.status, 503, "{what}: {}", answer.body);
        assert_eq!(answer.body["code"], 503, "{what}: {}", answer.body);
        assert!(answer.retry_after.is_some(), "{what}: no Retry-After");
        assert!(answer.took < quickly, "{what} took {:?}", answer.took);
    }

    // Readiness: 503 within about a second.
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(ready.body["database"], "unreachable", "{}", ready.body);
    assert!(
        ready.took < Duration::from_millis(1_500),
        "/readyz took {:?}",
        ready.took
    );
    // Readers' searches, lists and listings come from the index, which needs no database.
    let from_index =
        answer(probes.graphql(None, FROM_INDEX, json!({ "id": probes.service }))).await;
    assert_eq!(from_index.status, 200, "{}", from_index.body);
    assert!(
        from_index.body.get("errors").is_none()
            && from_index.body["data"]["service"]["id"] == json!(probes.service)
            && from_index.body["data"]["services"]["totalCount"].as_u64() > Some(0)
            && from_index.body["data"]["counted"]["totalCount"].as_u64() > Some(0),
        "answered from the index while the database is down: {:#}",
        from_index.body
    );
    // Nothing crashed: the process itself stays healthy.
    let health = answer(app.client.get(app.url("/healthz"))).await;
    assert_eq!(health.status, 200);

    proxy.restore();
    let recovered = until_served(|| probes.read(), Duration::from_secs(15)).await;
    until_served(|| probes.ready(), Duration::from_secs(15)).await;
    probes.assert_served().await;
    eprintln!(
        "database outage: read {:?}, token {:?}, REST {:?}, /readyz {:?} while down; served again {recovered:?} after the database returned",
        read.took, me.took, rest_service.took, ready.took
    );
}

#[test]
fn proxy_urls_are_rewritten() {
    let address = SocketAddr::from(([127, 0, 0, 1], 40_000));
    assert_eq!(
        upstream_of("postgres://postgres@127.0.0.1:5432/test"),
        "127.0.0.1:5432"
    );
    assert_eq!(
        upstream_of("postgres://u:p@db.example/x?sslmode=disable"),
        "db.example:5432"
    );
    assert_eq!(
        through(
            "postgres://postgres@127.0.0.1:5432/signpost_test_1",
            address
        ),
        "postgres://postgres@127.0.0.1:40000/signpost_test_1"
    );
    assert_eq!(
        through("postgres://db.example/x?sslmode=disable", address),
        "postgres://127.0.0.1:40000/x?sslmode=disable"
    );
}

// ---------------------------------------------------------------------------------------------
// 2. kill -9 during concurrent edits

const ADMIN_EMAIL: &str = "admin@example.org";
const ADMIN_PASSWORD: &str = "a long admin pass phrase";
const EDITORS: usize = 8;
const CREATE: &str =
    "mutation($input: ServiceInput!) { createService(input: $input) { id name version } }";
const UPDATE: &str = "mutation($id: ID!, $v: Int!, $input: ServiceInput!) { updateService(id: $id, expectedVersion: $v, input: $input) { id name version } }";

/// A minimal valid listing named `name`.
fn listing(organization: &str, name: &str) -> Value {
    json!({
        "organizationId": organization,
        "name": name,
        "description": "A weekly drop-in group for parents and their babies.",
        "levelOfNeed": "UNIVERSAL",
        "eligibility": {},
        "referral": { "selfReferral": true, "professionalReferral": true },
    })
}

/// A listing name ending in a random word no other listing holds, so searching for the word
/// finds that listing.
fn unique_name() -> String {
    let word: String = (0..12).map(|_| fastrand::lowercase()).collect();
    format!("Parent and baby group {word}")
}

/// The unique word of a name made by [`unique_name`].
fn unique_word(name: &str) -> &str {
    name.rsplit(' ').next().unwrap_or(name)
}

/// A write the server acknowledged: the listing's name and version in its answer.
#[derive(Clone, Debug)]
struct Acked {
    name: String,
    version: i32,
}

/// What one editing client saw.
#[derive(Default)]
struct EditorLog {
    acked: HashMap<String, Acked>,
    /// Listings whose last update got no answer (it may or may not have committed).
    unanswered: HashSet<String>,
    writes: usize,
}

/// A `signpost serve` process.
struct Server {
    child: tokio::process::Child,
    address: SocketAddr,
    log: std::path::PathBuf,
}

impl Server {
    async fn start(db: &TestDatabase, binary: &Path, run: usize) -> Self {
        let address = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            probe.local_addr().expect("its address")
        };
        let log = db.data_dir.path().join(format!("serve-{run}.log"));
        let stderr = std::fs::File::create(&log).expect("a log file");
        let mut command = tokio::process::Command::from(db.command(binary));
        command
            .arg("serve")
            .env("SIGNPOST_BIND", address.to_string())
            .env("SIGNPOST_RATE_LIMIT_ANONYMOUS", "0")
            .env("SIGNPOST_RATE_LIMIT_TOKEN", "0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true);
        let child = command.spawn().expect("signpost serve starts");
        let mut server = Self {
            child,
            address,
            log,
        };
        server.wait_ready().await;
        server
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("signpost serve exited with {status}:\n{}", self.log());
            }
            if let Ok(response) = client.get(self.url("/readyz")).send().await
                && response.status() == 200
            {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "signpost serve was not ready in 120 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn kill(&mut self) {
        // SIGKILL: no shutdown code runs.
        self.child.start_kill().expect("SIGKILL is sent");
        let status = self.child.wait().await.expect("the process ends");
        assert!(!status.success(), "killed, not exited: {status}");
    }
}

/// Runs a `signpost` command to completion with `stdin`.
async fn run(db: &TestDatabase, binary: &Path, args: &[&str], stdin: &str) {
    let mut command = tokio::process::Command::from(db.command(binary));
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("signpost starts");
    if let Some(mut pipe) = child.stdin.take() {
        pipe.write_all(stdin.as_bytes()).await.expect("write stdin");
    }
    let output = child.wait_with_output().await.expect("signpost finishes");
    assert!(
        output.status.success(),
        "signpost {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// POSTs a GraphQL operation with a token; `None` when no answer came (the server is gone).
async fn post(
    client: &reqwest::Client,
    server: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Option<Value> {
    let response = client
        .post(format!("{server}/graphql"))
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .ok()?;
    let status = response.status();
    let body: Value = response.json().await.ok()?;
    assert_eq!(status, 200, "{body}");
    Some(body)
}

/// POSTs a GraphQL operation that must succeed and returns its `data`.
async fn data(
    client: &reqwest::Client,
    server: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> Value {
    let body = post(client, server, token, query, variables)
        .await
        .expect("the server answers");
    assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
    body["data"].clone()
}

/// Creates and updates listings of `organization` until the server stops answering (or `stop`
/// is set), recording every acknowledged write.
async fn editor(
    server: String,
    token: String,
    organization: String,
    stop: Arc<AtomicBool>,
) -> EditorLog {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let mut log = EditorLog::default();
    let mut own: Vec<String> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let name = unique_name();
        let update = if own.is_empty() || fastrand::u8(..3) == 0 {
            None
        } else {
            Some(own[fastrand::usize(..own.len())].clone())
        };
        let body = match &update {
            None => {
                post(
                    &client,
                    &server,
                    &token,
                    CREATE,
                    json!({ "input": listing(&organization, &name) }),
                )
                .await
            }
            Some(id) => {
                let version = log.acked[id].version;
                post(
                    &client,
                    &server,
                    &token,
                    UPDATE,
                    json!({ "id": id, "v": version, "input": listing(&organization, &name) }),
                )
                .await
            }
        };
        let Some(body) = body else {
            if let Some(id) = update {
                log.unanswered.insert(id);
            }
            break;
        };
        assert!(body.get("errors").is_none(), "an edit failed: {body:#}");
        let written = body["data"]
            .as_object()
            .and_then(|data| data.values().next())
            .expect("the written listing");
        let id = written["id"].as_str().expect("an id").to_owned();
        assert_eq!(written["name"], json!(name));
        let acked = Acked {
            name,
            version: written["version"]
                .as_i64()
                .and_then(|v| i32::try_from(v).ok())
                .expect("a version"),
        };
        if update.is_none() {
            own.push(id.clone());
        }
        log.acked.insert(id, acked);
        log.writes += 1;
    }
    log
}

/// Whether a search for `word` finds the listing `id`.
async fn search_finds(
    client: &reqwest::Client,
    server: &str,
    token: &str,
    word: &str,
    id: &str,
) -> bool {
    let found = data(
        client,
        server,
        token,
        "query($t: String!) { search(text: $t, first: 20) { edges { node { id } } } }",
        json!({ "t": word }),
    )
    .await;
    found["search"]["edges"]
        .as_array()
        .is_some_and(|edges| edges.iter().any(|edge| edge["node"]["id"] == json!(id)))
}

#[tokio::test]
async fn kill_9_during_concurrent_edits_loses_no_acknowledged_write() {
    let binary = signpost_binary();
    let db = TestDatabase::create().await;
    run(&db, &binary, &["migrate"], "").await;
    run(
        &db,
        &binary,
        &[
            "user",
            "add",
            "--email",
            ADMIN_EMAIL,
            "--role",
            "admin",
            "--password-stdin",
        ],
        &format!("{ADMIN_PASSWORD}\n"),
    )
    .await;
    let mut server = Server::start(&db, &binary, 1).await;
    let client = reqwest::Client::new();
    let signed_in = client
        .post(server.url("/graphql"))
        .json(&json!({ "query": LOGIN, "variables": { "e": ADMIN_EMAIL, "p": ADMIN_PASSWORD } }))
        .send()
        .await
        .expect("login")
        .json::<Value>()
        .await
        .expect("a JSON answer");
    let token = signed_in["data"]["login"]["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {signed_in}"))
        .to_owned();
    let base = server.url("");
    let created = data(
        &client,
        &base,
        &token,
        "mutation { createOrganization(input: { name: \"Crash Test Family Hub\" }) { id } }",
        json!({}),
    )
    .await;
    let organization = created["createOrganization"]["id"]
        .as_str()
        .expect("an organisation id")
        .to_owned();

    // Eight editors write concurrently; the process is killed while they do.
    let stop = Arc::new(AtomicBool::new(false));
    let editors: Vec<_> = (0..EDITORS)
        .map(|_| {
            tokio::spawn(editor(
                base.clone(),
                token.clone(),
                organization.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(3)).await;
    server.kill().await;
    stop.store(true, Ordering::Relaxed);
    let mut acked: HashMap<String, Acked> = HashMap::new();
    let mut unanswered: HashSet<String> = HashSet::new();
    let mut writes = 0;
    for editor in editors {
        let log = editor.await.expect("an editor's task");
        acked.extend(log.acked);
        unanswered.extend(log.unanswered);
        writes += log.writes;
    }
    assert!(
        writes >= EDITORS,
        "too few writes before the kill: {writes}"
    );

    // Every acknowledged write is in the database with its acknowledged version (an update in
    // flight at the kill may have committed one version more).
    let mut server = Server::start(&db, &binary, 2).await;
    let base = server.url("");
    let conn = db.connect().await;
    let mut current: HashMap<String, service::Model> = HashMap::new();
    for (id, write) in &acked {
        let uuid: Uuid = id.parse().expect("a UUID");
        let row = service::Entity::find_by_id(uuid)
            .one(&conn)
            .await
            .expect("a query")
            .unwrap_or_else(|| panic!("acknowledged listing {id} is lost"));
        let ahead = row.version - write.version;
        if ahead == 0 {
            assert_eq!(row.name, write.name, "listing {id}");
        } else {
            assert!(
                ahead == 1 && unanswered.contains(id),
                "listing {id} is at version {} after acknowledged version {}",
                row.version,
                write.version
            );
        }
        current.insert(id.clone(), row);
    }

    // The index agrees with the database: every listing is served and found by its name, and
    // the index holds as many active listings as the database.
    for (id, row) in &current {
        let served = data(
            &client,
            &base,
            &token,
            "query($id: ID!) { service(id: $id) { name version } }",
            json!({ "id": id }),
        )
        .await;
        assert_eq!(served["service"]["name"], json!(row.name), "listing {id}");
        assert_eq!(
            served["service"]["version"],
            json!(row.version),
            "listing {id}"
        );
        assert!(
            search_finds(&client, &base, &token, unique_word(&row.name), id).await,
            "the index does not find {id} ({})",
            row.name
        );
    }
    let active = service::Entity::find()
        .filter(service::Column::Status.eq(ServiceStatus::Active))
        .count(&conn)
        .await
        .expect("a count");
    let indexed = data(
        &client,
        &base,
        &token,
        "{ search(first: 1) { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(indexed["search"]["totalCount"], json!(active));

    // Read-your-write after the restart.
    let (id, row) = current.iter().next().expect("a listing");
    let name = unique_name();
    let updated = data(
        &client,
        &base,
        &token,
        UPDATE,
        json!({ "id": id, "v": row.version, "input": listing(&organization, &name) }),
    )
    .await;
    assert_eq!(updated["updateService"]["version"], json!(row.version + 1));
    assert!(
        search_finds(&client, &base, &token, unique_word(&name), id).await,
        "an update is not searchable when it returns"
    );
    eprintln!(
        "kill -9 ({}): {writes} acknowledged writes to {} listings, {} unanswered at the kill, none lost",
        if db.on_postgres() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        acked.len(),
        unanswered.len()
    );
    server.kill().await;
    conn.close().await.expect("the test's connection closes");
}
