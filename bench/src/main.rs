//! `bench`: generates a directory, loads it through Signpost's own import, and measures Signpost
//! against its ceiling (bare axum, async-graphql), its engine floor (the `search` crate in
//! process) and its peers (PostgreSQL full-text search, Typesense) in one run; writes
//! `bench/RESULTS.md` (`bench/RESULTS-<services>.md` at other sizes), a JSON file per run and
//! `bench/SCALE.md`, the newest run of each size side by side.

mod ceiling;
mod dataset;
mod engine;
mod http;
mod load;
mod measure;
mod model;
mod peers;
mod procs;
mod queries;
mod report;
mod run;
mod scale;
mod signpost;
mod soak;
mod web;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};

/// The server's allocator (see `api/src/main.rs`), so that the engine floor and the ceilings,
/// which run in this process, allocate as the server does.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Signpost's benchmark.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: run::Options,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the ceiling endpoints (`GET /plain`, `POST /graphql`) on an address.
    #[command(hide = true)]
    Ceiling {
        #[arg(long)]
        addr: SocketAddr,
    },
    /// Run the search queries of a query file against an index directory in process and print
    /// the measurement as JSON.
    #[command(hide = true)]
    Engine {
        #[arg(long)]
        index: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long)]
        seconds: f64,
    },
    /// Write the first page (top ten ids) of the first search queries of a query file, as
    /// ranked by the index in a directory, to a JSON file: run once per engine, then compare
    /// two such files with `rank-diff`.
    Ranks {
        #[arg(long)]
        index: PathBuf,
        #[arg(long)]
        queries: PathBuf,
        #[arg(long, default_value_t = 300)]
        count: usize,
        /// The day the freshness of listings is judged on (YYYY-MM-DD); default today.
        #[arg(long)]
        today: Option<chrono::NaiveDate>,
        /// How many times to rank the queries on the same open index; every pass must rank
        /// them the same. Under an instruction counter, two passes less one are the cost of
        /// searches that find their words' scores and filters kept, as a running server's do.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
        passes: u16,
        #[arg(long)]
        out: PathBuf,
    },
    /// Compare two `ranks` files of the same queries: overlap@10, the share with the same top
    /// three, and the queries whose top three changed.
    RankDiff { old: PathBuf, new: PathBuf },
    /// Rewrite the table of runs by size from the runs' JSON files (a full run does this
    /// itself).
    Scale {
        #[arg(long, default_value = "bench/results")]
        json_dir: PathBuf,
        #[arg(long, default_value = "bench/SCALE.md")]
        out: PathBuf,
    },
    /// Drive a running Signpost with one class of a query file (a closed loop, or with
    /// `--requests` a fixed sequence on one connection), for profiling.
    Drive {
        #[arg(long)]
        addr: SocketAddr,
        #[arg(long)]
        queries: PathBuf,
        /// search, fetch, listing or suggest; page: the search queries as the web client's
        /// search page; facets or highlights: the search queries counting every facet, or
        /// asking where each result matched.
        #[arg(long, default_value = "search")]
        class: String,
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Instead of a closed loop for `--seconds`: the first this many queries of the
        /// class, in order, one at a time on one connection (the same requests every run, for
        /// counting instructions with callgrind). The closed loop's settings do not apply.
        #[arg(long, conflicts_with_all = ["seconds", "connections"])]
        requests: Option<u64>,
    },
}

fn read_queries(path: &std::path::Path) -> Result<queries::QueryFile> {
    Ok(serde_json::from_slice(&std::fs::read(path).with_context(
        || format!("cannot read {}", path.display()),
    )?)?)
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Ceiling { addr }) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(ceiling::serve(addr)),
        Some(Command::Engine {
            index,
            queries,
            seconds,
        }) => {
            let file = read_queries(&queries)?;
            let floor = engine::floor(
                &index,
                dataset::term_names()?,
                &file.queries,
                Duration::from_secs_f64(seconds),
            )?;
            println!("{}", serde_json::to_string(&floor)?);
            Ok(())
        }
        Some(Command::Ranks {
            index,
            queries,
            count,
            today,
            passes,
            out,
        }) => {
            let file = read_queries(&queries)?;
            let today =
                search::day_number(today.unwrap_or_else(|| chrono::Utc::now().date_naive()));
            let ranked = engine::rankings(
                &index,
                dataset::term_names()?,
                &file.queries,
                count,
                today,
                usize::from(passes),
            )?;
            std::fs::write(&out, serde_json::to_vec_pretty(&ranked)?)
                .with_context(|| format!("cannot write {}", out.display()))?;
            println!("{} queries ranked into {}", ranked.len(), out.display());
            Ok(())
        }
        Some(Command::RankDiff { old, new }) => {
            let read = |path: &PathBuf| -> Result<Vec<engine::Ranked>> {
                Ok(serde_json::from_slice(&std::fs::read(path).with_context(
                    || format!("cannot read {}", path.display()),
                )?)?)
            };
            let diff = engine::rank_diff(&read(&old)?, &read(&new)?)?;
            println!(
                "{} queries: overlap@10 {:.3}, same top 3 {:.1}%, same number of matches {:.1}%",
                diff.queries,
                diff.overlap_at_10,
                diff.same_top_3 * 100.0,
                diff.same_total * 100.0
            );
            for (query, what, a, b) in &diff.changed {
                println!("  query {query} {what:?}: top 3 {a:?} -> {b:?}");
            }
            Ok(())
        }
        Some(Command::Scale { json_dir, out }) => {
            scale::write(&json_dir, &out)?;
            println!("wrote {}", out.display());
            Ok(())
        }
        Some(Command::Drive {
            addr,
            queries,
            class,
            seconds,
            connections,
            requests,
        }) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run::drive(
                addr,
                &queries,
                &class,
                seconds,
                connections,
                requests,
            )),
        // The load generator runs on one thread, on the core the servers do not use.
        None => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run::run(cli.options)),
    }
}
