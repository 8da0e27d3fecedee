//! `SCALE.md`: the newest full run of each size side by side, read back from the runs' JSON
//! files, to show how each cost grows with the number of listings.

use std::{collections::BTreeMap, fmt::Write, path::Path};

use anyhow::Result;
use serde_json::Value;

use crate::report::{ms, num};

/// One run as its JSON file gives it (fields a run of an older version lacks read as absent).
struct Run {
    file: String,
    json: Value,
}

impl Run {
    fn services(&self) -> u64 {
        self.json["services"].as_u64().unwrap_or(0)
    }

    fn text(&self, key: &str) -> String {
        match self.json[key].as_str() {
            Some(text) if !text.is_empty() => text.to_owned(),
            _ => "–".to_owned(),
        }
    }

    fn number(&self, key: &str) -> Option<f64> {
        self.json[key].as_f64()
    }

    /// Signpost's figures for a class.
    fn signpost(&self, class: &str) -> Option<&Value> {
        self.json["figures"]
            .as_array()?
            .iter()
            .find(|f| f["system"] == "Signpost" && f["class"] == class)
    }

    /// The engine floor's figures for a kind of search query.
    fn engine_class(&self, class: &str) -> Option<&Value> {
        self.json["engine"]["classes"]
            .as_array()?
            .iter()
            .find(|c| c["class"] == class)
    }

    /// The kinds of search query the engine floor measured, in its order.
    fn engine_classes(&self) -> Vec<String> {
        self.json["engine"]["classes"]
            .as_array()
            .map(|classes| {
                classes
                    .iter()
                    .filter_map(|c| c["class"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Every full (not quick) run among the JSON files in `dir`, oldest first. File names start
/// with the run's date, so name order is date order. Runs that do not record their commit (made
/// before runs did) are left out: what they measured cannot be told apart from later code.
fn full_runs(dir: &Path) -> Result<Vec<Run>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    names.sort();
    let mut runs = Vec::new();
    for name in names {
        let Ok(bytes) = std::fs::read(dir.join(&name)) else {
            continue;
        };
        let Ok(json) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        if json["quick"].as_bool() != Some(false)
            || json["commit"].as_str().is_none_or(str::is_empty)
        {
            continue;
        }
        runs.push(Run { file: name, json });
    }
    Ok(runs)
}

/// The newest run of each size and database among `runs` (oldest first), smallest size first.
fn newest_by_size(runs: &[Run]) -> Vec<&Run> {
    let mut by_size = BTreeMap::new();
    for run in runs {
        // One run for each size and database: a PostgreSQL run does not hide the SQLite one.
        by_size.insert((run.services(), run.text("database")), run);
    }
    by_size.into_values().collect()
}

fn or_dash(value: Option<f64>, show: impl Fn(f64) -> String) -> String {
    value.map_or_else(|| "–".to_owned(), show)
}

/// Renders the scale report of `runs` (the newest of each size, smallest first); `all` (every
/// full run) gives each larger run the run it is compared with.
fn markdown(runs: &[&Run], all: &[Run]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmark results by size\n");
    let _ = writeln!(
        s,
        "Written by every full run of `cargo run --release -p bench -- --size N` (or by \
         `bench scale`) from the newest run of each size in `bench/results/` that records its \
         commit. Do not edit by hand: run it again. Each size's \
         whole table is `RESULTS.md` (100,000 services) or `RESULTS-<size>.md`. How costs grow \
         is read only between runs on the same machine and database: each larger run is \
         compared with the newest run of 100,000 services (else of the smallest size) there, \
         which may be of another commit (both are named).\n"
    );
    let _ = writeln!(s, "## Runs\n");
    let _ = writeln!(
        s,
        "| services | date | commit | machine | database | cores for import and reindex | import (s) | `signpost reindex` (s) | docs/s | its peak RSS (MiB) | the server's peak RSS (MiB) |"
    );
    let _ = writeln!(s, "|---:|---|---|---|---|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            num(run.services() as f64),
            run.text("date"),
            run.text("commit"),
            machine(run),
            run.text("database"),
            command_cores(run),
            or_dash(run.number("import_seconds"), |x| format!("{x:.1}")),
            or_dash(run.number("index_build_seconds"), |x| format!("{x:.1}")),
            or_dash(run.number("index_docs_per_second"), num),
            or_dash(run.number("index_build_rss_mib"), num),
            or_dash(run.number("peak_rss_mib"), num),
        );
    }

    let _ = writeln!(s, "\n## The engine floor by kind of search query\n");
    let _ = writeln!(
        s,
        "The `search` crate in process on one thread, the same seeded query file at each size: \
         mean µs a search (p99 µs; median matches).\n"
    );
    let mut classes: Vec<String> = Vec::new();
    for run in runs {
        for class in run.engine_classes() {
            if !classes.contains(&class) {
                classes.push(class);
            }
        }
    }
    let _ = write!(s, "| services | all kinds: CPU µs a search |");
    for class in &classes {
        let _ = write!(s, " {class} |");
    }
    let _ = writeln!(s);
    let _ = writeln!(s, "|---:|---:|{}", "---:|".repeat(classes.len()));
    for run in runs {
        let _ = write!(
            s,
            "| {} | {} |",
            num(run.services() as f64),
            or_dash(run.json["engine"]["cpu_us_per_request"].as_f64(), num)
        );
        for class in &classes {
            let cell = run.engine_class(class).map_or_else(
                || "–".to_owned(),
                |c| {
                    format!(
                        "{} ({}; {})",
                        or_dash(c["mean_us"].as_f64(), num),
                        or_dash(c["p99_us"].as_f64(), num),
                        or_dash(c["median_matches"].as_f64(), num)
                    )
                },
            );
            let _ = write!(s, " {cell} |");
        }
        let _ = writeln!(s);
    }
    growth(&mut s, runs, all, &classes);

    let _ = writeln!(s, "\n## Through the server\n");
    let _ = writeln!(
        s,
        "Signpost's closed-loop throughput (req/s) and server CPU per request (µs) by query \
         class, and the search's latency.\n"
    );
    let _ = writeln!(
        s,
        "| services | search (req/s) | CPU µs a search | search p50 / p99 at half load (ms) | unloaded search p50 (ms) | fetch (req/s; µs) | listing (req/s; µs) | suggest (req/s; µs) |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---|---:|---:|---:|---:|");
    for run in runs {
        let class = |name: &str| {
            run.signpost(name).map_or_else(
                || "–".to_owned(),
                |f| {
                    format!(
                        "{}; {}",
                        or_dash(f["throughput"].as_f64(), num),
                        or_dash(f["cpu_us_per_request"].as_f64(), num)
                    )
                },
            )
        };
        let search = run.signpost("search");
        let field = |path: &[&str]| {
            search.and_then(|f| path.iter().try_fold(f, |v, key| v.get(key))?.as_f64())
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} / {} | {} | {} | {} | {} |",
            num(run.services() as f64),
            or_dash(field(&["throughput"]), num),
            or_dash(field(&["cpu_us_per_request"]), num),
            or_dash(field(&["half_load", "p50_ms"]), ms),
            or_dash(field(&["half_load", "p99_ms"]), ms),
            or_dash(field(&["unloaded", "p50_ms"]), ms),
            class("fetch"),
            class("listing"),
            class("suggest"),
        );
    }
    let _ = writeln!(s, "\nFrom the files:");
    for run in runs {
        let _ = writeln!(
            s,
            "- {}: `bench/results/{}`",
            num(run.services() as f64),
            run.file
        );
    }
    s
}

/// The size other sizes' growth is read from, where a machine has a run of it.
const REFERENCE_SERVICES: u64 = 100_000;

/// The machine a run was made on, as the runs' table names it.
fn machine(run: &Run) -> String {
    let machine = &run.json["machine"];
    format!(
        "{} ({} cores)",
        machine["cpu"].as_str().unwrap_or("–"),
        machine["cores"].as_u64().unwrap_or(0)
    )
}

/// How many cores a run's import and reindex could use: one where the run does not say (the
/// bench ran them on its load generator's core until runs recorded it).
fn command_cores(run: &Run) -> u64 {
    run.json["command_cores"].as_u64().unwrap_or(1)
}

/// The run a larger run's growth is read from: the newest of 100,000 services, else of the
/// smallest size below it, made on the same machine and database.
fn reference<'a>(large: &Run, all: &'a [Run]) -> Option<&'a Run> {
    let alike: Vec<&Run> = all
        .iter()
        .filter(|run| {
            run.services() > 0
                && run.services() < large.services()
                && run.text("database") == large.text("database")
                && machine(run) == machine(large)
        })
        .collect();
    let newest_of = |size: u64| {
        alike
            .iter()
            .rev()
            .find(|run| run.services() == size)
            .copied()
    };
    newest_of(REFERENCE_SERVICES)
        .or_else(|| newest_of(alike.iter().map(|run| run.services()).min()?))
}

/// A line per kind of search query for each size above the reference size (100,000 services,
/// else the smallest): how its mean engine cost grew against how the number of listings grew,
/// measured on the same machine and database.
fn growth(s: &mut String, runs: &[&Run], all: &[Run], classes: &[String]) {
    let smallest = runs.iter().map(|run| run.services()).min().unwrap_or(0);
    let reference_size = if runs.iter().any(|run| run.services() == REFERENCE_SERVICES) {
        REFERENCE_SERVICES
    } else {
        smallest
    };
    let mean = |run: &Run, class: Option<&str>| match class {
        None => run.json["engine"]["cpu_us_per_request"].as_f64(),
        Some(class) => run.engine_class(class)?["mean_us"].as_f64(),
    };
    for &large in runs.iter().filter(|run| run.services() > reference_size) {
        let Some(base) = reference(large, all) else {
            let _ = writeln!(
                s,
                "\n{} services ({}): no smaller run on {} to compare with.",
                num(large.services() as f64),
                large.text("database"),
                machine(large)
            );
            continue;
        };
        let listings = large.services() as f64 / base.services() as f64;
        let commits = if base.text("commit") == large.text("commit") {
            format!("commit {}", large.text("commit"))
        } else {
            format!(
                "commits {} and {}",
                base.text("commit"),
                large.text("commit")
            )
        };
        let _ = writeln!(
            s,
            "\nFrom {} to {} services ({listings:.0}× the listings, {}, {}; {commits}), the mean engine cost:\n",
            num(base.services() as f64),
            num(large.services() as f64),
            large.text("database"),
            machine(large)
        );
        let kinds = std::iter::once(("all kinds", None))
            .chain(classes.iter().map(|c| (c.as_str(), Some(c.as_str()))));
        for (label, class) in kinds {
            if let (Some(from), Some(to)) = (mean(base, class), mean(large, class))
                && from > 0.0
            {
                let _ = writeln!(
                    s,
                    "- {label}: {} µs to {} µs, {:.1}×",
                    num(from),
                    num(to),
                    to / from
                );
            }
        }
    }
}

/// Rewrites `out` from the newest full run of each size in `json_dir`.
pub fn write(json_dir: &Path, out: &Path) -> Result<()> {
    let all = full_runs(json_dir)?;
    let runs = newest_by_size(&all);
    if runs.is_empty() {
        return Ok(());
    }
    std::fs::write(out, markdown(&runs, &all))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(services: u64, quick: bool, keyword_mean: f64) -> Value {
        serde_json::json!({
            "date": "2026-12-03 05:21 UTC",
            "commit": "abc1234",
            "machine": { "cpu": "AMD EPYC", "cores": 2 },
            "services": services,
            "quick": quick,
            "database": "SQLite (embedded)",
            "import_seconds": 33.0,
            "index_build_seconds": 29.0,
            "index_docs_per_second": 3442.0,
            "index_build_rss_mib": 288.0,
            "peak_rss_mib": 421.5,
            "figures": [
                { "system": "Signpost", "class": "search", "throughput": 988.0,
                  "cpu_us_per_request": 1012.0,
                  "half_load": { "p50_ms": 2.54, "p99_ms": 5.58 },
                  "unloaded": { "p50_ms": 1.21 } },
                { "system": "Signpost", "class": "fetch", "throughput": 5265.0,
                  "cpu_us_per_request": 189.0 },
                { "system": "Typesense 0.24.1", "class": "fetch", "throughput": 1.0 }
            ],
            "engine": { "cpu_us_per_request": 554.0, "classes": [
                { "class": "keyword", "mean_us": keyword_mean, "p99_us": 1781,
                  "median_matches": 38998 }
            ] }
        })
    }

    #[test]
    fn the_newest_full_run_of_each_size_is_read_and_compared() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let runs = [
            ("2026-12-01-10-00-100000.json", run(100_000, false, 900.0)),
            ("2026-12-03-05-21-100000.json", run(100_000, false, 535.0)),
            ("2026-12-03-06-00-1000000.json", {
                let mut large = run(1_000_000, false, 1605.0);
                large["command_cores"] = 2.into();
                large
            }),
            ("2026-12-01-16-33-10000.json", run(10_000, false, 100.0)),
            // A quick run is left out.
            ("2026-12-04-00-00-100000.json", run(100_000, true, 1.0)),
        ];
        for (name, json) in runs {
            std::fs::write(dir.path().join(name), json.to_string())?;
        }
        // A run on PostgreSQL is kept beside the SQLite run of its size.
        let mut postgres = run(100_000, false, 700.0);
        postgres["database"] = "PostgreSQL".into();
        std::fs::write(
            dir.path().join("2026-12-03-07-00-100000.json"),
            postgres.to_string(),
        )?;
        // So are a run that does not say what it measured and a file that is not a run.
        let mut unknown = run(500_000, false, 1.0);
        unknown["commit"] = Value::Null;
        std::fs::write(
            dir.path().join("2026-12-05-00-00-500000.json"),
            unknown.to_string(),
        )?;
        std::fs::write(dir.path().join("notes.json"), b"not json")?;

        let all = full_runs(dir.path())?;
        let runs = newest_by_size(&all);
        let sizes: Vec<u64> = runs.iter().map(|run| run.services()).collect();
        assert_eq!(sizes, [10_000, 100_000, 100_000, 1_000_000]);
        assert_eq!(runs[1].file, "2026-12-03-07-00-100000.json");
        assert_eq!(runs[2].file, "2026-12-03-05-21-100000.json");

        let text = markdown(&runs, &all);
        assert!(
            text.contains("| 100,000 | 2026-12-03 05:21 UTC | abc1234 | AMD EPYC (2 cores) | SQLite (embedded) | 1 | 33.0 | 29.0 | 3,442 | 288 | 422 |"),
            "{text}"
        );
        // A run that records the cores its import and reindex could use shows them; one that
        // does not (above) ran them on one core.
        assert!(
            text.contains("| 1,000,000 | 2026-12-03 05:21 UTC | abc1234 | AMD EPYC (2 cores) | SQLite (embedded) | 2 | 33.0 |"),
            "{text}"
        );
        assert!(
            text.contains("| 100,000 | 554 | 535 (1,781; 38,998) |"),
            "{text}"
        );
        // Growth is counted from the reference size, 100,000, not from the smaller run.
        assert!(
            text.contains(
                "From 100,000 to 1,000,000 services (10× the listings, SQLite (embedded), \
                 AMD EPYC (2 cores); commit abc1234)"
            ),
            "{text}"
        );
        assert!(!text.contains("From 10,000"), "{text}");
        assert!(
            text.contains("- keyword: 535 µs to 1,605 µs, 3.0×"),
            "{text}"
        );
        assert!(
            text.contains("| 100,000 | 988 | 1,012 | 2.54 / 5.58 | 1.21 | 5,265; 189 | – | – |"),
            "{text}"
        );
        Ok(())
    }

    #[test]
    fn growth_is_read_only_between_runs_on_one_machine() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let on = |cpu: &str, commit: &str, services: u64, keyword_mean: f64| {
            let mut json = run(services, false, keyword_mean);
            json["machine"]["cpu"] = cpu.into();
            json["commit"] = commit.into();
            json
        };
        let runs = [
            // An older 100,000 on the first machine, then the newest one on another.
            (
                "2026-12-04-10-00-100000.json",
                on("AMD EPYC", "aaa1111", 100_000, 250.0),
            ),
            (
                "2026-12-04-11-00-500000.json",
                on("AMD EPYC", "bbb2222", 500_000, 850.0),
            ),
            (
                "2026-12-05-07-00-100000.json",
                on("Intel Xeon", "ccc3333", 100_000, 330.0),
            ),
            (
                "2026-12-05-08-00-1000000.json",
                on("Intel Xeon", "ccc3333", 1_000_000, 3_300.0),
            ),
            // Alone on its machine.
            (
                "2026-12-05-09-00-2000000.json",
                on("ARM", "ddd4444", 2_000_000, 9_000.0),
            ),
        ];
        for (name, json) in runs {
            std::fs::write(dir.path().join(name), json.to_string())?;
        }
        let all = full_runs(dir.path())?;
        let text = markdown(&newest_by_size(&all), &all);
        // 500,000 is compared with the 100,000 of its own machine, not the newest 100,000.
        assert!(
            text.contains(
                "From 100,000 to 500,000 services (5× the listings, SQLite (embedded), \
                 AMD EPYC (2 cores); commits aaa1111 and bbb2222), the mean engine cost:\n\n\
                 - all kinds: 554 µs to 554 µs, 1.0×\n\
                 - keyword: 250 µs to 850 µs, 3.4×"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "From 100,000 to 1,000,000 services (10× the listings, SQLite (embedded), \
                 Intel Xeon (2 cores); commit ccc3333), the mean engine cost:\n\n\
                 - all kinds: 554 µs to 554 µs, 1.0×\n\
                 - keyword: 330 µs to 3,300 µs, 10.0×"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "2,000,000 services (SQLite (embedded)): no smaller run on ARM (2 cores) to \
                 compare with."
            ),
            "{text}"
        );
        assert_eq!(text.matches("\nFrom 100,000 to").count(), 2, "{text}");
        Ok(())
    }
}
