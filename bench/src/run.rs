//! One benchmark run, start to finish.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::{
    ceiling::{Ceiling, CeilingTarget},
    dataset::Dataset,
    engine::Floor,
    load::Target,
    measure::{self, Closed, Latency, median},
    model::{Query, QueryClass},
    peers::{postgres::PgFts, typesense::Typesense},
    procs::{self, Machine, Server},
    queries::QueryFile,
    report, scale,
    signpost::{self, Freshness, Install, SearchShape, Signpost},
    soak::Soak,
    web::{self, SearchPage, WebClient},
};

/// The server's core and the load generator's.
const SERVER_CORE: usize = 0;
const LOAD_CORE: usize = 1;

/// How a run is made.
#[derive(Clone, Debug, clap::Args)]
pub struct Options {
    /// Services to generate: 10k, 100k, 500k, 1m or a number.
    #[arg(long, default_value = "100k")]
    pub size: String,
    /// The smoke run: 10k services, one repeat, short phases (under two minutes).
    #[arg(long)]
    pub quick: bool,
    /// The seed of the dataset and the query file.
    #[arg(long, default_value_t = 1001)]
    pub seed: u64,
    /// Repeats of every measurement (medians are reported); default 3, quick 1.
    #[arg(long)]
    pub repeats: Option<usize>,
    /// Seconds of each closed-loop and open-loop phase; default 8, quick 2.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Connections of the closed loop.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Seconds of a soak phase after the measurements: the query mix at about 80% of the
    /// measured capacity with admin edits alongside, reporting errors by kind, p99 per minute
    /// and memory growth. Off by default; 5 s in a quick run.
    #[arg(long)]
    pub soak: Option<f64>,
    /// Skip PostgreSQL full-text search and Typesense.
    #[arg(long)]
    pub no_peers: bool,
    /// PostgreSQL for the full-text search reference.
    #[arg(
        long,
        env = "BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub postgres_url: String,
    /// Run Signpost on this database instead of its embedded SQLite file.
    #[arg(long)]
    pub database_url: Option<String>,
    /// The `signpost` binary; by default the release build beside this one, built if missing.
    #[arg(long)]
    pub signpost_bin: Option<PathBuf>,
    /// Where data, logs and servers' files go.
    #[arg(long, default_value = "bench/work")]
    pub work: PathBuf,
    /// The Markdown table to (re)write; default `bench/RESULTS.md` at 100k services,
    /// `bench/RESULTS-<services>.md` at other sizes, or `RESULTS.md` in the work directory for a
    /// quick run. A full run also rewrites `SCALE.md` beside it (every size's newest run).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Where the JSON file of the run goes; default `bench/results`, or the work directory for a
    /// quick run.
    #[arg(long)]
    pub json_dir: Option<PathBuf>,
}

/// One system's figures for one class of queries (medians of the repeats).
#[derive(Clone, Debug, Serialize)]
pub struct Figures {
    pub system: String,
    pub class: String,
    pub throughput: f64,
    pub half_load: Latency,
    pub unloaded: Latency,
    /// Server CPU per request at saturation (None when the system's CPU cannot be read).
    pub cpu_us_per_request: Option<f64>,
    pub errors: u64,
    pub repeats: Vec<Closed>,
}

/// How much of Signpost's top ten a system also returns.
#[derive(Clone, Debug, Serialize)]
pub struct Overlap {
    pub system: String,
    pub queries: usize,
    pub overlap_at_10: f64,
    pub mean_results: f64,
    pub signpost_mean_results: f64,
}

/// A peer's load time.
#[derive(Clone, Debug, Serialize)]
pub struct Loaded {
    pub system: String,
    pub seconds: f64,
    pub docs_per_second: f64,
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub date: String,
    /// The commit measured (see [`measured_commit`]), when run from a checkout.
    pub commit: String,
    pub machine: Machine,
    pub services: usize,
    pub seed: u64,
    pub quick: bool,
    pub repeats: usize,
    pub phase_seconds: f64,
    pub connections: usize,
    pub database: String,
    pub queries: usize,
    pub generate_seconds: f64,
    pub feed_mib: f64,
    pub import_seconds: f64,
    /// How many cores `signpost import` and `signpost reindex` could use (runs that do not
    /// record it ran them on the load generator's one core).
    pub command_cores: usize,
    pub index_build_seconds: f64,
    pub index_docs_per_second: f64,
    /// `signpost reindex`'s peak resident memory.
    pub index_build_rss_mib: f64,
    pub cold_start_seconds: f64,
    pub peak_rss_mib: f64,
    pub figures: Vec<Figures>,
    pub engine: Option<Floor>,
    pub freshness: Option<Freshness>,
    pub soak: Option<Soak>,
    /// The web client's first-load weights.
    pub web: WebClient,
    pub peers_loaded: Vec<Loaded>,
    pub overlap: Vec<Overlap>,
    pub notes: Vec<String>,
}

/// The commit measured, when run from a checkout: `HEAD`, with "-dirty" when files other than
/// the benchmark's own results differ from it (an earlier run's tables do not change what runs).
fn measured_commit() -> String {
    let head = procs::command_line("git", &["rev-parse", "--short", "HEAD"]);
    if head.is_empty() {
        return head;
    }
    let changed = procs::command_line(
        "git",
        &[
            "status",
            "--porcelain",
            "--",
            ".",
            ":(exclude)bench/RESULTS*.md",
            ":(exclude)bench/SCALE.md",
            ":(exclude)bench/results",
        ],
    );
    if changed.is_empty() {
        head
    } else {
        format!("{head}-dirty")
    }
}

/// The table a full run of `size` services writes by default: `RESULTS.md` for the reference
/// size, the figures, and one file for each other size.
fn default_table(size: usize) -> String {
    if size == 100_000 {
        "bench/RESULTS.md".to_owned()
    } else {
        format!("bench/RESULTS-{size}.md")
    }
}

fn parse_size(size: &str) -> Result<usize> {
    let s = size.trim().to_ascii_lowercase();
    let (digits, factor) = if let Some(d) = s.strip_suffix('k') {
        (d, 1_000)
    } else if let Some(d) = s.strip_suffix('m') {
        (d, 1_000_000)
    } else {
        (s.as_str(), 1)
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .with_context(|| format!("--size {size}: use 10k, 100k, 500k, 1m or a number"))
}

/// The `signpost` release binary: given, or built beside this one.
fn signpost_binary(options: &Options) -> Result<PathBuf> {
    if let Some(bin) = &options.signpost_bin {
        return Ok(bin.clone());
    }
    let here = std::env::current_exe()?;
    let dir = here.parent().context("no directory")?;
    let profile = if dir.ends_with("release") {
        "--release"
    } else {
        "--profile=dev"
    };
    eprintln!("building the signpost binary ({profile})");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .args([
            "build",
            "-q",
            profile,
            "-p",
            "signpost-api",
            "--bin",
            "signpost",
        ])
        .status()?;
    if !status.success() {
        bail!("cannot build the signpost binary");
    }
    Ok(dir.join("signpost"))
}

/// Measures one target for one class: a warm-up, then per repeat a closed loop at saturation,
/// an open loop at half of that rate and a single connection; medians of the repeats.
async fn figures<T: Target>(
    target: &Arc<T>,
    class: QueryClass,
    queries: &[Query],
    options: &Settings,
    pid: Option<u32>,
) -> Result<Figures> {
    // Queries once each before measuring: a wrong answer stops the run, and every listing
    // page is walked to once.
    let checked = if class == QueryClass::Listing {
        queries.len()
    } else {
        queries.len().min(if options.quick { 100 } else { 300 })
    };
    measure::check(target, &queries[..checked]).await?;
    measured(target, class, queries, options, pid).await
}

/// Puts a row of the search table after the search rows so far: the GraphQL search's (measured
/// first), then the rows measured beside it, in the order they are measured.
fn insert_search_row(all: &mut Vec<Figures>, figures: Figures) {
    let at = all
        .iter()
        .rposition(|f| f.class == QueryClass::Search.name())
        .map_or(all.len(), |i| i + 1);
    all.insert(at, figures);
}

/// [`figures`] for queries already checked.
async fn measured<T: Target>(
    target: &Arc<T>,
    class: QueryClass,
    queries: &[Query],
    options: &Settings,
    pid: Option<u32>,
) -> Result<Figures> {
    let queries: Arc<Vec<Query>> = Arc::new(queries.to_vec());
    measure::closed(target, &queries, options.connections, options.warmup).await?;
    let mut repeats = Vec::new();
    let (mut half, mut single, mut cpu) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..options.repeats {
        let before = pid.map(procs::cpu_seconds).transpose()?;
        let closed = measure::closed(target, &queries, options.connections, options.phase).await?;
        if let (Some(pid), Some(before)) = (pid, before) {
            let used = procs::cpu_seconds(pid)? - before;
            cpu.push(used * 1e6 / closed.requests.max(1) as f64);
        }
        let rate = (closed.per_second / 2.0).max(1.0);
        half.push(measure::open(target, &queries, rate, options.phase).await?);
        single.push(measure::unloaded(target, &queries, options.phase / 2).await?);
        repeats.push(closed);
    }
    let med =
        |f: &dyn Fn(&Latency) -> f64, v: &[Latency]| median(&v.iter().map(f).collect::<Vec<_>>());
    let summary = |v: &[Latency]| Latency {
        requests: v.iter().map(|l| l.requests).sum(),
        errors: v.iter().map(|l| l.errors).sum(),
        p50_ms: med(&|l| l.p50_ms, v),
        p99_ms: med(&|l| l.p99_ms, v),
        p999_ms: med(&|l| l.p999_ms, v),
        rate: med(&|l| l.rate, v),
    };
    let figures = Figures {
        system: target.name().to_owned(),
        class: class.name().to_owned(),
        throughput: median(&repeats.iter().map(|r| r.per_second).collect::<Vec<_>>()),
        half_load: summary(&half),
        unloaded: summary(&single),
        cpu_us_per_request: (!cpu.is_empty()).then(|| median(&cpu)),
        errors: repeats.iter().map(|r| r.errors).sum::<u64>()
            + half.iter().map(|l| l.errors).sum::<u64>(),
        repeats,
    };
    eprintln!(
        "  {:<32} {:<8} {:>9.0}/s  p50 {:.2} ms  p99 {:.2} ms at half load  unloaded p50 {:.3} ms  cpu {}",
        figures.system,
        figures.class,
        figures.throughput,
        figures.half_load.p50_ms,
        figures.half_load.p99_ms,
        figures.unloaded.p50_ms,
        figures
            .cpu_us_per_request
            .map_or("n/a".to_owned(), |c| format!("{c:.0} us/req")),
    );
    Ok(figures)
}

/// Resolved settings.
struct Settings {
    quick: bool,
    repeats: usize,
    phase: Duration,
    warmup: Duration,
    connections: usize,
}

/// The ids each system returns for the first search queries.
async fn answers<T: Target>(target: &Arc<T>, queries: &[Query]) -> Result<Vec<Vec<String>>> {
    let mut conn = target.connect().await?;
    let mut out = Vec::with_capacity(queries.len());
    for query in queries {
        out.push(target.run(&mut conn, query).await?);
    }
    Ok(out)
}

fn overlap(system: &str, signpost: &[Vec<String>], other: &[Vec<String>]) -> Overlap {
    let (mut sum, mut counted) = (0.0, 0);
    for (s, o) in signpost.iter().zip(other) {
        let s10: Vec<&String> = s.iter().take(10).collect();
        if s10.is_empty() {
            continue;
        }
        let shared = o.iter().take(10).filter(|id| s10.contains(id)).count();
        sum += shared as f64 / s10.len() as f64;
        counted += 1;
    }
    let mean = |v: &[Vec<String>]| {
        v.iter().map(|r| r.len().min(10) as f64).sum::<f64>() / v.len().max(1) as f64
    };
    Overlap {
        system: system.to_owned(),
        queries: counted,
        overlap_at_10: if counted == 0 {
            f64::NAN
        } else {
            sum / counted as f64
        },
        mean_results: mean(other),
        signpost_mean_results: mean(signpost),
    }
}

/// PostgreSQL's processes (the postmaster and its backends).
fn postgres_pids() -> Vec<u32> {
    std::process::Command::new("pgrep")
        .args(["-x", "postgres"])
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

fn fresh_dir(path: &Path) -> Result<()> {
    if path.exists() {
        std::fs::remove_dir_all(path)
            .with_context(|| format!("cannot clear {}", path.display()))?;
    }
    std::fs::create_dir_all(path)?;
    Ok(())
}

/// Drives a running Signpost with one class of a query file and prints the throughput.
pub async fn drive(
    addr: std::net::SocketAddr,
    queries: &Path,
    class: &str,
    seconds: f64,
    connections: usize,
    requests: Option<u64>,
) -> Result<()> {
    let file: QueryFile = serde_json::from_slice(&std::fs::read(queries)?)?;
    let duration = Duration::from_secs_f64(seconds);
    let load = Load {
        connections,
        duration,
        requests,
    };
    if class == "page" {
        let target = Arc::new(SearchPage { addr });
        let queries = Arc::new(file.of(QueryClass::Search));
        return drive_target(&target, &queries, load).await;
    }
    if let Some(shape) = SearchShape::EXTRA
        .into_iter()
        .find(|shape| shape.drive_name() == class)
    {
        let target = Arc::new(Signpost::shaped(addr, shape));
        let queries = Arc::new(file.of(QueryClass::Search));
        return drive_target(&target, &queries, load).await;
    }
    let class = QueryClass::ALL
        .into_iter()
        .find(|c| c.name() == class)
        .with_context(|| format!("no query class {class}"))?;
    let target = Arc::new(Signpost::new(addr));
    let queries = Arc::new(file.of(class));
    drive_target(&target, &queries, load).await
}

/// How `drive` loads the server: a closed loop for a time, or a fixed sequence of requests.
#[derive(Clone, Copy)]
struct Load {
    connections: usize,
    duration: Duration,
    requests: Option<u64>,
}

/// Checks a few queries, then runs the closed loop (or the fixed sequence) and prints what it
/// saw.
async fn drive_target<T: Target>(
    target: &Arc<T>,
    queries: &Arc<Vec<Query>>,
    load: Load,
) -> Result<()> {
    measure::check(target, &queries[..queries.len().min(40)]).await?;
    let closed = match load.requests {
        Some(count) => measure::sequence(target, queries, count).await?,
        None => measure::closed(target, queries, load.connections, load.duration).await?,
    };
    println!("{}", serde_json::to_string(&closed)?);
    Ok(())
}

/// Runs the benchmark.
pub async fn run(options: Options) -> Result<()> {
    let machine = Machine::describe();
    let size = if options.quick {
        10_000
    } else {
        parse_size(&options.size)?
    };
    let settings = Settings {
        quick: options.quick,
        repeats: options
            .repeats
            .unwrap_or(if options.quick { 1 } else { 3 })
            .max(1),
        phase: Duration::from_secs_f64(options.seconds.unwrap_or(if options.quick {
            1.5
        } else {
            8.0
        })),
        warmup: Duration::from_secs_f64(if options.quick { 0.5 } else { 3.0 }),
        connections: options.connections.max(1),
    };
    eprintln!(
        "machine: {} ({} cores, {} GiB), {}; {}",
        machine.cpu, machine.cores, machine.memory_gib, machine.kernel, machine.rustc
    );
    if machine.cores < 2 {
        eprintln!("one core only: server and load generator share it");
    }
    let binary = signpost_binary(&options)?;
    procs::pin(
        std::process::id(),
        &LOAD_CORE.min(machine.cores.saturating_sub(1)).to_string(),
    )?;
    let server_core = SERVER_CORE;
    let mut notes = Vec::new();

    let work = options.work.join(format!("{size}"));
    fresh_dir(&work)?;
    let work = work.canonicalize()?;

    // The dataset and the query file.
    eprintln!("generating {size} services (seed {})", options.seed);
    let began = Instant::now();
    let data = Dataset::generate(size, options.seed)?;
    let files = data.write_openreferral(&work.join("feed"), 10_000)?;
    let generate_seconds = began.elapsed().as_secs_f64();
    let feed_bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
        .sum();
    let query_count = if options.quick { 2_000 } else { 5_000 };
    let update_count = if options.quick { 30 } else { 200 };
    let file = QueryFile::generate(&data, query_count, update_count, options.seed + 1);
    let query_path = work.join("queries.json");
    std::fs::write(&query_path, serde_json::to_vec(&file)?)?;

    // Signpost: import through its own path, build the index, start cold.
    let install = Install {
        binary,
        data_dir: work.join("signpost"),
        database_url: options.database_url.clone(),
    };
    install.run(&["migrate"], None).await?;
    eprintln!("importing {} files", files.len());
    let began = Instant::now();
    for f in &files {
        let path = f.to_string_lossy();
        install
            .run(&["import", "--strict", path.as_ref()], None)
            .await?;
    }
    let import_seconds = began.elapsed().as_secs_f64();
    eprintln!("  imported in {import_seconds:.1} s");
    let began = Instant::now();
    let index_build_rss_mib = install
        .run_measured(&["reindex"], &work.join("reindex.log"))
        .await?;
    let index_build_seconds = began.elapsed().as_secs_f64();
    eprintln!("  index built in {index_build_seconds:.2} s, peak RSS {index_build_rss_mib:.0} MiB");
    let server = install
        .serve(server_core, &work.join("signpost.log"))
        .await?;
    let cold_start_seconds = server.started.elapsed().as_secs_f64();
    eprintln!("  cold start to first answer {cold_start_seconds:.2} s");
    let pid = server.pid()?;

    let target = Arc::new(Signpost::new(server.addr));
    let mut all = Vec::new();
    eprintln!("measuring");
    for class in QueryClass::ALL {
        all.push(figures(&target, class, &file.of(class), &settings, Some(pid)).await?);
    }
    let search_queries = file.of(QueryClass::Search);
    let overlap_queries = &search_queries[..search_queries.len().min(300)];
    let signpost_answers = answers(&target, overlap_queries).await?;
    let mut overlaps = Vec::new();

    // The web client's search page: the same search queries as pages from the same server,
    // measured the same way and listed beside the GraphQL search.
    let web_client = {
        let page = Arc::new(SearchPage { addr: server.addr });
        // The pages of the overlap queries, which are also its check (a wrong page stops the
        // run); fewer in a quick run, where a debug build takes tens of ms a page.
        let compared = overlap_queries
            .len()
            .min(if options.quick { 30 } else { 300 });
        let ids = answers(&page, &overlap_queries[..compared]).await?;
        overlaps.push(overlap(web::NAME, &signpost_answers, &ids));
        let figures = measured(
            &page,
            QueryClass::Search,
            &search_queries,
            &settings,
            Some(pid),
        )
        .await?;
        insert_search_row(&mut all, figures);
        notes.push(web::UNMAPPED.to_owned());
        let postcode = search_queries
            .iter()
            .find_map(|q| match q {
                Query::Keyword {
                    near: Some(place), ..
                }
                | Query::Distance { near: place, .. } => Some(place.postcode.clone()),
                _ => None,
            })
            .context("no search query has a postcode")?;
        let results_page = format!(
            "/?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair("q", "low mood")
                .append_pair("postcode", &postcode)
                .finish()
        );
        let mut first_loads = Vec::new();
        for path in ["/", results_page.as_str()] {
            let load = web::first_load(server.addr, path)
                .await
                .with_context(|| format!("the first load of {path}"))?;
            eprintln!(
                "  first load of {path}: {} files, {:.1} KB as sent, {:.1} KB with the page gzipped",
                load.resources.len(),
                load.wire_bytes as f64 / 1024.0,
                load.gzip_bytes as f64 / 1024.0
            );
            first_loads.push(load);
        }
        WebClient { first_loads }
    };

    // The same searches counting every facet, and asking where each result matched: what
    // each costs beside the page alone, listed after the search page.
    for shape in SearchShape::EXTRA {
        let shaped = Arc::new(Signpost::shaped(server.addr, shape));
        let figures = figures(
            &shaped,
            QueryClass::Search,
            &search_queries,
            &settings,
            Some(pid),
        )
        .await?;
        insert_search_row(&mut all, figures);
    }

    // The ceiling on the same stack and pinning.
    {
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], procs::free_port()?).into();
        let mut cmd = procs::pinned(server_core, &std::env::current_exe()?);
        cmd.args(["ceiling", "--addr", &addr.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut ceiling = Server {
            child: cmd.spawn()?,
            addr,
            started: Instant::now(),
        };
        procs::wait_until(&mut ceiling, Duration::from_secs(30), |a| async move {
            tokio::net::TcpStream::connect(a).await.is_ok()
        })
        .await?;
        let cpid = ceiling.pid()?;
        for kind in [Ceiling::Plain, Ceiling::Typename] {
            let t = Arc::new(CeilingTarget { addr, kind });
            all.push(
                figures(
                    &t,
                    QueryClass::Search,
                    &search_queries,
                    &settings,
                    Some(cpid),
                )
                .await?,
            );
        }
        ceiling.stop().await?;
    }

    // Freshness: updates on this instance, searched for on a second one.
    let token = signpost::admin_token(&install, server.addr).await?;
    let edit_cpu_seconds;
    let freshness = {
        let second_install = Install {
            data_dir: work.join("signpost-second"),
            database_url: Some(match &options.database_url {
                Some(url) => url.clone(),
                None => format!(
                    "sqlite://{}?mode=rwc",
                    install.data_dir.join("signpost.db").display()
                ),
            }),
            ..install.clone()
        };
        std::fs::create_dir_all(&second_install.data_dir)?;
        let second = second_install
            .serve(server_core, &work.join("signpost-second.log"))
            .await?;
        let cpu_before = procs::cpu_seconds(pid).ok();
        let fresh = signpost::updates(server.addr, second.addr, &token, &file.updates).await;
        let cpu_after = procs::cpu_seconds(pid).ok();
        second.stop().await?;
        // What an edit costs this server in CPU (its read-your-write check included).
        edit_cpu_seconds = match (cpu_before, cpu_after, &fresh) {
            (Some(before), Some(after), Ok(f)) if f.updates > 0 => {
                Some((after - before) / f.updates as f64)
            }
            _ => None,
        };
        match fresh {
            Ok(f) => {
                eprintln!(
                    "  update to searchable: same instance p50 {:.1} ms p99 {:.1} ms; second instance p50 {:.1} ms p99 {:.1} ms",
                    f.same_instance.p50_ms,
                    f.same_instance.p99_ms,
                    f.other_instance.p50_ms,
                    f.other_instance.p99_ms
                );
                Some(f)
            }
            Err(err) => {
                notes.push(format!("freshness not measured: {err:#}"));
                None
            }
        }
    };
    let peak_rss_mib = procs::peak_rss_mib(pid)?;

    // The soak: the whole query mix at a steady share of its capacity, with edits alongside.
    let soak_seconds = options
        .soak
        .or(options.quick.then_some(5.0))
        .filter(|s| *s > 0.0);
    let soak = match soak_seconds {
        Some(seconds) => {
            let total = file.queries.len().max(1) as f64;
            let shares: Vec<(f64, f64)> = QueryClass::ALL
                .into_iter()
                .filter_map(|class| {
                    let share = file.of(class).len() as f64 / total;
                    all.iter()
                        .find(|f| f.system == target.name() && f.class == class.name())
                        .map(|f| (share, f.throughput))
                })
                .collect();
            let capacity = crate::soak::mix_capacity(&shares);
            // An edit's cost to the server: the CPU it took in the freshness phase (applying it
            // to the index is most of it), else its latency on this instance, else 50 ms.
            let edit_cost = edit_cpu_seconds.unwrap_or_else(|| {
                freshness
                    .as_ref()
                    .map_or(0.05, |f| f.same_instance.p50_ms / 1000.0)
            });
            eprintln!("  an edit costs the server {:.1} ms", edit_cost * 1000.0);
            Some(
                crate::soak::soak(
                    &target,
                    pid,
                    &token,
                    &Arc::new(file.queries.clone()),
                    &file.updates,
                    capacity,
                    Duration::from_secs_f64(edit_cost),
                    Duration::from_secs_f64(seconds),
                )
                .await?,
            )
        }
        None => None,
    };
    server.stop().await?;

    // The engine floor: the same search queries against the same index, in process.
    let engine = {
        let out = procs::pinned(server_core, &std::env::current_exe()?)
            .args(["engine", "--index"])
            .arg(install.data_dir.join("index"))
            .arg("--queries")
            .arg(&query_path)
            .args([
                "--seconds",
                &format!("{}", settings.phase.as_secs_f64() * settings.repeats as f64),
            ])
            .output()
            .await?;
        if !out.status.success() {
            bail!(
                "the engine floor failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let floor: Floor = serde_json::from_slice(&out.stdout)?;
        eprintln!(
            "  engine floor: {:.0} searches/s on one thread, p50 {:.3} ms, {:.0} us CPU each",
            floor.per_second, floor.latency.p50_ms, floor.cpu_us_per_request
        );
        Some(floor)
    };

    // The peers.
    let mut peers_loaded = Vec::new();
    if options.no_peers {
        notes.push("peers skipped (--no-peers)".to_owned());
    } else {
        let docs = data.peer_docs();
        match PgFts::load(&options.postgres_url, &docs).await {
            Ok((pg, took)) => {
                peers_loaded.push(Loaded {
                    system: pg.name().to_owned(),
                    seconds: took.as_secs_f64(),
                    docs_per_second: docs.len() as f64 / took.as_secs_f64(),
                });
                let pg = Arc::new(pg);
                let pids = postgres_pids();
                for p in &pids {
                    let _ = procs::pin(*p, &server_core.to_string());
                }
                let measured = async {
                    for class in QueryClass::ALL {
                        all.push(figures(&pg, class, &file.of(class), &settings, None).await?);
                    }
                    let ids = answers(&pg, overlap_queries).await?;
                    overlaps.push(overlap(pg.name(), &signpost_answers, &ids));
                    anyhow::Ok(())
                }
                .await;
                for p in postgres_pids() {
                    let _ = procs::pin(p, &procs::all_cores());
                }
                measured?;
                crate::peers::postgres::drop_table(&options.postgres_url).await?;
            }
            Err(err) => notes.push(format!("PostgreSQL full-text search not measured: {err:#}")),
        }
        match crate::peers::typesense::locate() {
            Ok(bin) => {
                let dir = work.join("typesense");
                fresh_dir(&dir)?;
                let ts =
                    Typesense::start(&bin, &dir, procs::free_port()?, Some(server_core)).await?;
                let took = ts.load(&docs).await?;
                peers_loaded.push(Loaded {
                    system: ts.name().to_owned(),
                    seconds: took.as_secs_f64(),
                    docs_per_second: docs.len() as f64 / took.as_secs_f64(),
                });
                let tpid = ts.pid();
                let ts = Arc::new(ts);
                for class in QueryClass::ALL {
                    all.push(figures(&ts, class, &file.of(class), &settings, tpid).await?);
                }
                let ids = answers(&ts, overlap_queries).await?;
                overlaps.push(overlap(ts.name(), &signpost_answers, &ids));
                if let Some(p) = tpid {
                    notes.push(format!(
                        "Typesense peak RSS {:.0} MiB",
                        procs::peak_rss_mib(p).unwrap_or(f64::NAN)
                    ));
                }
                ts.stop().await;
            }
            Err(err) => notes.push(format!("Typesense not measured: {err:#}")),
        }
    }

    let results = Results {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        commit: measured_commit(),
        command_cores: machine.cores,
        machine,
        services: size,
        seed: options.seed,
        quick: options.quick,
        repeats: settings.repeats,
        phase_seconds: settings.phase.as_secs_f64(),
        connections: settings.connections,
        database: if options.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite (embedded)"
        }
        .to_owned(),
        queries: file.queries.len(),
        generate_seconds,
        feed_mib: feed_bytes as f64 / 1024.0 / 1024.0,
        import_seconds,
        index_build_seconds,
        index_docs_per_second: size as f64 / index_build_seconds,
        index_build_rss_mib,
        cold_start_seconds,
        peak_rss_mib,
        figures: all,
        engine,
        freshness,
        soak,
        web: web_client,
        peers_loaded,
        overlap: overlaps,
        notes,
    };
    let (out, json_dir) = if options.quick {
        (work.join("RESULTS.md"), work.clone())
    } else {
        (
            PathBuf::from(default_table(size)),
            PathBuf::from("bench/results"),
        )
    };
    let out = options.out.clone().unwrap_or(out);
    let json_dir = options.json_dir.clone().unwrap_or(json_dir);
    report::write(&results, &out, &json_dir)?;
    eprintln!("wrote {}", out.display());
    if !options.quick {
        let scale = out.with_file_name("SCALE.md");
        scale::write(&json_dir, &scale)?;
        eprintln!("wrote {}", scale.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_their_suffixes() -> Result<()> {
        assert_eq!(parse_size("10k")?, 10_000);
        assert_eq!(parse_size(" 500K ")?, 500_000);
        assert_eq!(parse_size("1m")?, 1_000_000);
        assert_eq!(parse_size("2500")?, 2_500);
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999999999m").is_err());
        Ok(())
    }

    #[test]
    fn each_size_has_its_own_table() {
        assert_eq!(default_table(100_000), "bench/RESULTS.md");
        assert_eq!(default_table(500_000), "bench/RESULTS-500000.md");
    }
}
