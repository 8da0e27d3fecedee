//! The test harness: starts the real Signpost server on port 0 against a fresh database and
//! speaks GraphQL to it over HTTP.
//!
//! SQLite by default (a fresh data directory per test); with `TEST_DATABASE_URL=postgres://...`
//! each test gets its own PostgreSQL database, dropped afterwards.

use std::{
    io::BufRead as _,
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use anyhow::Context;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};
use signpost_api::{Application, config::Settings, indexing::Indexer, store::audit::Actor};
use tokio::sync::oneshot;

/// A running server for one test.
pub struct TestApp {
    /// The server's address.
    pub address: SocketAddr,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// A direct connection to the server's database, for checks and fixtures.
    pub db: DatabaseConnection,
    /// The server's data directory (kept for the test's life).
    pub data_dir: tempfile::TempDir,
    /// The server's search indexer.
    pub indexer: Arc<Indexer>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    postgres: Option<PostgresDatabase>,
}

/// A PostgreSQL database made for one test and dropped with it.
struct PostgresDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // The test's runtime may be shutting down; drop the database from a runtime of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let admin = Database::connect(admin_url).await?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await?;
                admin.close().await?;
                anyhow::Ok(())
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

impl PostgresDatabase {
    /// A fresh database on `TEST_DATABASE_URL`'s server, or none when it is not set.
    async fn create() -> anyhow::Result<Option<Self>> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            return Ok(None);
        };
        if admin_url.trim().is_empty() {
            return Ok(None);
        }
        let name = format!("signpost_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(admin_url.clone()).await?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        admin.close().await?;
        Ok(Some(Self { admin_url, name }))
    }

    /// The database's URL.
    fn url(&self) -> anyhow::Result<String> {
        with_database(&self.admin_url, &self.name)
    }
}

/// Replaces the database name of a `postgres://` URL.
fn with_database(url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let slash = base
        .rfind('/')
        .context("TEST_DATABASE_URL has no database name")?;
    if slash < "postgres://".len() {
        anyhow::bail!("TEST_DATABASE_URL has no database name");
    }
    let mut out = format!("{}/{}", &base[..slash], name);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

/// How to start a test server.
#[derive(Clone, Debug)]
pub struct Options {
    /// Seed the demo directory (default true).
    pub seed_demo: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self { seed_demo: true }
    }
}

impl TestApp {
    /// A server with the demo directory.
    pub async fn spawn() -> Self {
        Self::spawn_with(Options::default()).await
    }

    /// A server started with `options`. Panics (failing the test) when it cannot start.
    pub async fn spawn_with(options: Options) -> Self {
        match Self::try_spawn(options).await {
            Ok(app) => app,
            Err(err) => panic!("the test server did not start: {err:#}"),
        }
    }

    /// A server started with `options` and settings adjusted by `configure` (which sees the
    /// fresh data directory and, on PostgreSQL, the test database's URL already filled in).
    pub async fn spawn_with_settings(
        options: Options,
        configure: impl FnOnce(&mut Settings),
    ) -> Self {
        match Self::try_spawn_configured(options, configure).await {
            Ok(app) => app,
            Err(err) => panic!("the test server did not start: {err:#}"),
        }
    }

    /// A server on `settings` as they are (no test database is made), keeping `data_dir` for
    /// the test's life; for a data directory prepared beforehand, such as by the CLI.
    pub async fn spawn_on(settings: Settings, data_dir: tempfile::TempDir) -> Self {
        match Self::start(settings, data_dir, None).await {
            Ok(app) => app,
            Err(err) => panic!("the test server did not start: {err:#}"),
        }
    }

    async fn try_spawn(options: Options) -> anyhow::Result<Self> {
        Self::try_spawn_configured(options, |_| ()).await
    }

    async fn try_spawn_configured(
        options: Options,
        configure: impl FnOnce(&mut Settings),
    ) -> anyhow::Result<Self> {
        let data_dir = tempfile::tempdir()?;
        let mut settings = Settings {
            data_dir: data_dir.path().to_path_buf(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed_demo: options.seed_demo,
            ..Settings::default()
        };
        let postgres = PostgresDatabase::create().await?;
        if let Some(pg) = &postgres {
            settings.database_url = Some(pg.url()?);
        }
        configure(&mut settings);
        Self::start(settings, data_dir, postgres).await
    }

    async fn start(
        settings: Settings,
        data_dir: tempfile::TempDir,
        postgres: Option<PostgresDatabase>,
    ) -> anyhow::Result<Self> {
        let app = Application::build(settings).await?;
        let address = app.local_addr()?;
        let db = app.db().clone();
        let indexer = app.indexer().clone();
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = stop.await;
        }));
        Ok(Self {
            address,
            client: reqwest::Client::new(),
            db,
            data_dir,
            indexer,
            shutdown: Some(shutdown),
            server: Some(server),
            postgres,
        })
    }

    /// A second server on the same database with a data directory (and so an index) of its own.
    pub async fn second_instance(&self) -> Self {
        let data_dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let mut settings = Settings {
            data_dir: data_dir.path().to_path_buf(),
            ..self.settings()
        };
        if settings.database_url.is_none() {
            // Share the first server's SQLite file.
            let file = self.data_dir.path().join(signpost_api::db::SQLITE_FILE);
            settings.database_url = Some(format!("sqlite://{}?mode=rwc", file.display()));
        }
        // Instances of one deployment share the token secret, as they would share
        // SIGNPOST_JWT_SECRET; copying keeps the file's owner-only mode.
        let secret = self
            .data_dir
            .path()
            .join(signpost_api::auth::jwt::SECRET_FILE);
        if secret.exists()
            && let Err(err) = std::fs::copy(
                &secret,
                data_dir.path().join(signpost_api::auth::jwt::SECRET_FILE),
            )
        {
            panic!("cannot share the token secret with the second server: {err}");
        }
        match Self::start(settings, data_dir, None).await {
            Ok(app) => app,
            Err(err) => panic!("the second server did not start: {err:#}"),
        }
    }

    /// Whether this server runs on PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Stops this server gracefully and starts a new one on the same database and data directory.
    pub async fn restart(self) -> Self {
        self.restart_after(|_| ()).await
    }

    /// Like [`TestApp::restart`], running `meanwhile` on the data directory while no server runs.
    pub async fn restart_after(mut self, meanwhile: impl FnOnce(&std::path::Path)) -> Self {
        let settings = self.settings();
        self.stop().await;
        // Nothing of the old server may hold the index's writer lock any more.
        let TestApp {
            data_dir,
            postgres,
            indexer,
            db,
            ..
        } = self;
        drop(indexer);
        drop(db);
        meanwhile(data_dir.path());
        match Self::start(settings, data_dir, postgres).await {
            Ok(app) => app,
            Err(err) => panic!("the test server did not restart: {err:#}"),
        }
    }

    /// The settings this server runs with.
    pub fn settings(&self) -> Settings {
        Settings {
            data_dir: self.data_dir.path().to_path_buf(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: self.postgres.as_ref().and_then(|pg| pg.url().ok()),
            ..Settings::default()
        }
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            match server.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => panic!("the server stopped with an error: {err:#}"),
                Err(err) => panic!("the server task failed: {err}"),
            }
        }
    }

    /// A URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// POSTs a GraphQL operation and returns the whole JSON response (data and errors).
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        self.graphql_as(None, query, variables).await
    }

    /// POSTs a GraphQL operation with a bearer token (or none) and returns the HTTP status and
    /// the JSON body.
    pub async fn post_as(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|err| panic!("request failed: {err}"));
        let status = response.status().as_u16();
        let body = response
            .json()
            .await
            .unwrap_or_else(|err| panic!("response is not JSON: {err}"));
        (status, body)
    }

    /// Like [`TestApp::graphql`], with a bearer token; the request must be admitted (HTTP 200).
    pub async fn graphql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let (status, body) = self.post_as(token, query, variables).await;
        assert_eq!(status, 200, "unexpected HTTP status: {body}");
        body
    }

    /// POSTs a GraphQL operation that must succeed and returns its `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        self.data_as(None, query, variables).await
    }

    /// Like [`TestApp::data`], with a bearer token.
    pub async fn data_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.graphql_as(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    /// Adds a staff account directly in the database and signs it in through GraphQL; returns
    /// the token.
    pub async fn sign_in_new(
        &self,
        email: &str,
        role: entity::Role,
        organization: Option<uuid::Uuid>,
    ) -> String {
        let password = "correct horse battery staple";
        signpost_api::store::accounts::create_user(
            &self.db,
            &Actor::command_line(),
            email,
            password,
            role,
            organization,
        )
        .await
        .unwrap_or_else(|err| panic!("cannot add {email}: {err}"));
        let data = self
            .data(
                "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { token } }",
                json!({ "e": email, "p": password }),
            )
            .await;
        data["login"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token in {data}"))
            .to_owned()
    }

    /// An admin's token.
    pub async fn admin_token(&self) -> String {
        let email = format!("admin-{}@example.org", uuid::Uuid::new_v4().simple());
        self.sign_in_new(&email, entity::Role::Admin, None).await
    }

    /// A partner token issued with this server's keys.
    pub async fn partner_token(&self) -> String {
        let auth =
            signpost_api::auth::Authenticator::from_settings(&self.settings(), self.db.clone())
                .unwrap_or_else(|err| panic!("keys: {err}"));
        signpost_api::store::accounts::issue_token(
            &self.db,
            &Actor::command_line(),
            auth.keys(),
            "test partner",
            30,
        )
        .await
        .unwrap_or_else(|err| panic!("cannot issue a token: {err}"))
        .token
    }

    /// POSTs a GraphQL operation that must fail and returns its first error's code and message.
    pub async fn error(&self, query: &str, variables: Value) -> (String, String) {
        let body = self.graphql(query, variables).await;
        first_error(&body)
    }

    /// The value of a counter on `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        let text = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap_or_else(|err| panic!("metrics request failed: {err}"))
            .text()
            .await
            .unwrap_or_default();
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in {text}"))
    }
}

/// A data directory and, when `TEST_DATABASE_URL` is set, a PostgreSQL database of its own
/// (dropped with it), for a server run as a separate process of the `signpost` binary.
pub struct TestDatabase {
    /// The data directory (the SQLite file and the search index).
    pub data_dir: tempfile::TempDir,
    /// The PostgreSQL URL, or none for the embedded SQLite file in the data directory.
    pub database_url: Option<String>,
    postgres: Option<PostgresDatabase>,
}

impl TestDatabase {
    /// A fresh data directory, and a fresh PostgreSQL database when `TEST_DATABASE_URL` is set.
    pub async fn create() -> Self {
        let made = async {
            let data_dir = tempfile::tempdir()?;
            let postgres = PostgresDatabase::create().await?;
            let database_url = postgres.as_ref().map(PostgresDatabase::url).transpose()?;
            anyhow::Ok(Self {
                data_dir,
                database_url,
                postgres,
            })
        };
        made.await
            .unwrap_or_else(|err| panic!("cannot make the test database: {err:#}"))
    }

    /// Whether the database is PostgreSQL.
    pub fn on_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A connection of the test's own to the database, for checks.
    pub async fn connect(&self) -> DatabaseConnection {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rw",
                self.data_dir
                    .path()
                    .join(signpost_api::db::SQLITE_FILE)
                    .display()
            ),
        };
        Database::connect(url)
            .await
            .unwrap_or_else(|err| panic!("cannot connect to the test database: {err}"))
    }

    /// A `signpost` command on this data directory and database, with no other `SIGNPOST_*`
    /// setting from the test's environment and warnings only in its log.
    pub fn command(&self, binary: &std::path::Path) -> Command {
        configured_command(binary, self.data_dir.path(), self.database_url.as_deref())
    }
}

/// The `signpost` binary next to the test binary's directory, built when missing or older.
pub fn signpost_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe()
        .unwrap_or_else(|err| panic!("the test binary's path is unknown: {err}"));
    let dir = exe
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "deps"))
        .and_then(|deps| deps.parent())
        .unwrap_or_else(|| panic!("the test binary does not live in a deps directory"))
        .to_path_buf();
    let binary = dir.join(format!("signpost{}", std::env::consts::EXE_SUFFIX));
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let stale = match (modified(&binary), modified(&exe)) {
        (Some(binary), Some(tests)) => binary < tests,
        _ => true,
    };
    if stale {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "signpost-api", "--bin", "signpost"])
            .status()
            .unwrap_or_else(|err| panic!("cargo does not run: {err}"));
        assert!(status.success(), "building signpost failed");
    }
    assert!(binary.exists(), "no {}", binary.display());
    binary
}

/// A `signpost` command on the data directory and database of `settings`, with no other
/// `SIGNPOST_*` or `DATABASE_URL` from the test's environment and warnings only in its log.
pub fn signpost_command(settings: &Settings) -> Command {
    let mut command = configured_command(
        &signpost_binary(),
        &settings.data_dir,
        settings.database_url.as_deref(),
    );
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// `binary` on `data_dir` and `database_url`, with no other `SIGNPOST_*` or `DATABASE_URL` from
/// the test's environment and warnings only in its log.
pub fn configured_command(
    binary: &std::path::Path,
    data_dir: &std::path::Path,
    database_url: Option<&str>,
) -> Command {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name
            .to_str()
            .is_some_and(|name| name.starts_with("SIGNPOST_") || name == "DATABASE_URL")
        {
            command.env_remove(name);
        }
    }
    command
        .env("SIGNPOST_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

/// A `signpost serve` process on SQLite in a fresh data directory, with standard error piped
/// and collected; killed when dropped.
pub struct ServerProcess {
    /// The address it listens on.
    pub address: SocketAddr,
    /// The data directory (kept for the process's life).
    pub data_dir: tempfile::TempDir,
    child: Child,
    stderr: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// Starts `signpost serve` on a free port with `env` added to a clean environment (no
    /// `SIGNPOST_*` or `DATABASE_URL` of the caller's; no demo data unless `env` asks for it)
    /// and waits until it listens.
    pub async fn start(env: &[(&str, &str)]) -> Self {
        let binary = signpost_binary();
        let data_dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let mut command = Command::new(binary);
        for (name, _) in std::env::vars_os() {
            if name
                .to_str()
                .is_some_and(|name| name.starts_with("SIGNPOST_") || name == "DATABASE_URL")
            {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .env("SIGNPOST_DATA_DIR", data_dir.path())
            .env("SIGNPOST_BIND", "127.0.0.1:0")
            .env("SIGNPOST_SEED_DEMO", "false")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|err| panic!("signpost does not start: {err}"));
        let pipe = child
            .stderr
            .take()
            .unwrap_or_else(|| panic!("no standard error pipe"));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (found, listening) = std::sync::mpsc::channel();
        let collected = stderr.clone();
        let reader = std::thread::spawn(move || {
            let mut pipe = std::io::BufReader::new(pipe);
            let mut line = Vec::new();
            while matches!(pipe.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let text = String::from_utf8_lossy(&line);
                if text.contains("signpost is listening")
                    && let Some(address) = text
                        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
                        .find_map(|word| word.parse::<SocketAddr>().ok())
                {
                    let _ = found.send(address);
                }
                collected
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(&line);
                line.clear();
            }
        });
        let started = Instant::now();
        let address = loop {
            if let Ok(address) = listening.try_recv() {
                break address;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = reader.join();
                let text = String::from_utf8_lossy(
                    &stderr
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                )
                .into_owned();
                panic!("signpost exited ({status}) before listening:\n{text}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "signpost did not start listening within two minutes"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        Self {
            address,
            data_dir,
            child,
            stderr,
            reader: Some(reader),
        }
    }

    /// A URL on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|err| panic!("kill does not run: {err}"));
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `limit` for the process to exit; its status, or `None` when it still runs.
    pub async fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    if let Some(reader) = self.reader.take() {
                        let _ = reader.join();
                    }
                    return Some(status);
                }
                Ok(None) if started.elapsed() < limit => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(None) => return None,
                Err(err) => panic!("cannot wait for signpost: {err}"),
            }
        }
    }

    /// What the process has written to standard error so far.
    pub fn stderr(&self) -> Vec<u8> {
        self.stderr
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The code and message of a response's first error.
pub fn first_error(body: &Value) -> (String, String) {
    let error = &body["errors"][0];
    assert!(error.is_object(), "expected an error, got {body:#}");
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or("<no code>")
            .to_owned(),
        error["message"].as_str().unwrap_or_default().to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x")
                .ok()
                .as_deref(),
            Some("postgres://postgres@127.0.0.1:5432/x")
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "y")
                .ok()
                .as_deref(),
            Some("postgres://u@h/y?sslmode=disable")
        );
    }
}
