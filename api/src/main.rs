//! The `signpost` binary.

use std::io::IsTerminal as _;

use clap::Parser;
use signpost_api::{
    cli::{Cli, run},
    config::LogFormat,
};
use tracing_subscriber::EnvFilter;

/// mimalloc: searches allocate and free many short-lived buffers, which the system allocator
/// spends a quarter of a search's CPU on. Its version 2 (the crate's `v2` feature): version 3
/// kept about 50 MB more resident in a server at 100,000 listings for the same work, and cost
/// as much CPU. C's `malloc` (SQLite's) stays the system's: with mimalloc serving it too (the
/// crate's `override` feature) a rebuild at 100,000 listings ran a few percent faster, but on
/// one core peaked at 310 MiB where it peaks at 240 MiB, SQLite's row copies, allocated on its
/// thread and freed on the reader's, staying with the thread that allocated them. Its memory is
/// not offered to the kernel for huge pages (the crate's `no_thp` feature): a 2 MiB page stays
/// whole while any of it is in use, and each thread's first allocations take one, so that a
/// server at 100,000 listings held 138 MiB of huge pages and 56 MiB more in all for the same
/// work (peak 259-265 MiB against 201-203 MiB, 308 MiB against 243-246 MiB after 200 edits),
/// for the same CPU a request within the spread of six alternating rounds of each.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Each runtime thread's stack: generous, so that the deepest query the limits allow runs with
/// room to spare (parsing and validation grow their stack on demand besides).
const THREAD_STACK_BYTES: usize = 8 * 1024 * 1024;
/// How long exit waits for blocking work still running (index reads, password hashing).
const EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn main() -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run_main());
    runtime.shutdown_timeout(EXIT_WAIT);
    code
}

async fn run_main() -> std::process::ExitCode {
    let format = match LogFormat::from_env() {
        Ok(format) => format,
        Err(err) => {
            eprintln!("error: {err:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
        // Colour codes only for a terminal: a log file or collector gets plain text.
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
    }
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
