//! The Markdown table and the JSON file of a run.

use std::{fmt::Write, path::Path};

use anyhow::Result;

use crate::{
    run::{Figures, Results},
    soak::Soak,
};

fn num(x: f64) -> String {
    if !x.is_finite() {
        return "n/a".to_owned();
    }
    let whole = x.round() as i64;
    let digits = whole.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if whole < 0 {
        out.insert(0, '-');
    }
    out
}

fn ms(x: f64) -> String {
    if !x.is_finite() {
        "n/a".to_owned()
    } else if x < 1.0 {
        format!("{x:.3}")
    } else if x < 100.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.0}")
    }
}

fn ratio(a: f64, b: Option<f64>) -> String {
    match b {
        Some(b) if b > 0.0 && a.is_finite() => format!("{:.1}×", a / b),
        _ => "n/a".to_owned(),
    }
}

fn find<'a>(r: &'a Results, system: &str, class: &str) -> Option<&'a Figures> {
    r.figures
        .iter()
        .find(|f| f.system == system && f.class == class)
}

const SIGNPOST: &str = "Signpost";
const PG: &str = "PostgreSQL FTS";
const TS: &str = "Typesense 0.24.1";

/// Renders the Markdown report.
pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let m = &r.machine;
    let _ = writeln!(s, "# Benchmark results\n");
    let _ = writeln!(
        s,
        "Written by `cargo run --release -p bench --{}` on {}. Do not edit by hand: run it again.\n",
        if r.quick {
            " --quick".to_owned()
        } else if r.phase_seconds == 8.0 && r.repeats == 3 {
            format!(" --size {}{}", r.services, soak_option(r))
        } else {
            format!(
                " --size {} --seconds {} --repeats {}{}",
                r.services,
                r.phase_seconds,
                r.repeats,
                soak_option(r)
            )
        },
        r.date
    );
    let _ = writeln!(
        s,
        "**Machine:** {} ({} cores, {} GiB), {}, {}. Servers pinned to core 0 and the load \
         generator to core 1 (`taskset`); closed loop with {} connections; each measurement \
         repeated {} times ({} s phases, after a warm-up) and the median reported.\n",
        m.cpu, m.cores, m.memory_gib, m.kernel, m.rustc, r.connections, r.repeats, r.phase_seconds
    );
    let _ = writeln!(
        s,
        "**Data:** {} generated services (seed {}), {:.0} MiB of Open Referral feed, generated in \
         {:.1} s and loaded through `signpost import` into {}. **Queries:** {} from the seeded \
         query file (45% keyword with filters, 20% filter and distance, 15% fetch by id from a hot \
         set, 10% nested listing pages, 10% suggestions), the same for every system.\n",
        num(r.services as f64),
        r.seed,
        r.feed_mib,
        r.generate_seconds,
        r.database,
        num(r.queries as f64)
    );

    let signpost = find(r, SIGNPOST, "search").map(|f| f.throughput);
    let pg = find(r, PG, "search").map(|f| f.throughput);
    let ts = find(r, TS, "search").map(|f| f.throughput);
    let _ = writeln!(s, "## Search (keyword and filter-plus-distance queries)\n");
    let _ = writeln!(
        s,
        "| system | throughput (req/s) | Signpost ÷ it | p50 / p99 / p99.9 at half load (ms) | unloaded p50 (ms) | server CPU per request (µs) | overlap@10 with Signpost | results in top 10 |"
    );
    let _ = writeln!(s, "|---|---:|---:|---|---:|---:|---:|---:|");
    let overlap_of = |name: &str| r.overlap.iter().find(|o| o.system == name);
    let mut row = |f: &Figures| {
        let (ov, mean) = match (f.system.as_str(), overlap_of(&f.system)) {
            (SIGNPOST, _) => (
                "1.00".to_owned(),
                r.overlap.first().map_or("n/a".to_owned(), |o| {
                    format!("{:.1}", o.signpost_mean_results)
                }),
            ),
            (_, Some(o)) => (
                format!("{:.2}", o.overlap_at_10),
                format!("{:.1}", o.mean_results),
            ),
            _ => ("–".to_owned(), "–".to_owned()),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} / {} / {} | {} | {} | {} | {} |",
            f.system,
            num(f.throughput),
            ratio(signpost.unwrap_or(f64::NAN), Some(f.throughput)),
            ms(f.half_load.p50_ms),
            ms(f.half_load.p99_ms),
            ms(f.half_load.p999_ms),
            ms(f.unloaded.p50_ms),
            f.cpu_us_per_request.map_or("n/a".to_owned(), num),
            ov,
            mean
        );
    };
    for f in r.figures.iter().filter(|f| f.class == "search") {
        row(f);
    }
    if let Some(e) = &r.engine {
        let _ = writeln!(
            s,
            "| engine floor (`search` crate in process, one thread) | {} | {} | – | {} | {} | – | – |",
            num(e.per_second),
            ratio(signpost.unwrap_or(f64::NAN), Some(e.per_second)),
            ms(e.latency.p50_ms),
            num(e.cpu_us_per_request)
        );
    }
    let _ = writeln!(
        s,
        "\nThe ceiling rows answer every request the same way (`GET /plain`, and `{{ __typename }}` \
         through async-graphql) on the same stack and pinning. PostgreSQL's CPU is spread over \
         its backends and is not counted. Overlap@10 is the share of Signpost's top ten a \
         system also returns in its top ten, over the first {} search queries.\n",
        r.overlap.first().map_or(0, |o| o.queries)
    );

    let _ = writeln!(s, "## Other query classes\n");
    let _ = writeln!(
        s,
        "| class | system | throughput (req/s) | p50 / p99 / p99.9 at half load (ms) | unloaded p50 (ms) | server CPU per request (µs) |"
    );
    let _ = writeln!(s, "|---|---|---:|---|---:|---:|");
    for f in r.figures.iter().filter(|f| f.class != "search") {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} / {} / {} | {} | {} |",
            f.class,
            f.system,
            num(f.throughput),
            ms(f.half_load.p50_ms),
            ms(f.half_load.p99_ms),
            ms(f.half_load.p999_ms),
            ms(f.unloaded.p50_ms),
            f.cpu_us_per_request.map_or("n/a".to_owned(), num)
        );
    }

    let _ = writeln!(s, "\n## Loading, start, memory and freshness\n");
    let _ = writeln!(s, "| figure | value |\n|---|---|");
    let _ = writeln!(
        s,
        "| Signpost import (`signpost import`, {} files) | {:.1} s ({} services/s) |",
        r.services.div_ceil(10_000),
        r.import_seconds,
        num(r.services as f64 / r.import_seconds)
    );
    let _ = writeln!(
        s,
        "| full index build from the database (`signpost reindex`) | {:.2} s ({} documents/s) |",
        r.index_build_seconds,
        num(r.index_docs_per_second)
    );
    let _ = writeln!(
        s,
        "| cold start to first search answer | {:.2} s |",
        r.cold_start_seconds
    );
    let _ = writeln!(
        s,
        "| Signpost peak RSS (whole run) | {:.0} MiB |",
        r.peak_rss_mib
    );
    if let Some(f) = &r.freshness {
        let _ = writeln!(
            s,
            "| update to searchable, same instance ({} updates; the mutation answers once searchable) | p50 {} ms, p99 {} ms |",
            f.updates,
            ms(f.same_instance.p50_ms),
            ms(f.same_instance.p99_ms)
        );
        let _ = writeln!(
            s,
            "| update answered to searchable on a second instance | p50 {} ms, p99 {} ms |",
            ms(f.other_instance.p50_ms),
            ms(f.other_instance.p99_ms)
        );
    }
    for l in &r.peers_loaded {
        let _ = writeln!(
            s,
            "| {} load and index | {:.1} s ({} documents/s) |",
            l.system,
            l.seconds,
            num(l.docs_per_second)
        );
    }

    if let Some(soak) = &r.soak {
        soak_section(&mut s, soak);
    }

    let _ = writeln!(s, "\n## Targets (at 100k services)\n");
    let _ = writeln!(s, "| target | aim | this run |\n|---|---|---|");
    let search = find(r, SIGNPOST, "search");
    let _ = writeln!(
        s,
        "| search throughput ÷ PostgreSQL FTS | ≥ 20× | {} |",
        ratio(signpost.unwrap_or(f64::NAN), pg)
    );
    let _ = writeln!(
        s,
        "| search throughput ÷ Typesense | ≥ 6× | {} |",
        ratio(signpost.unwrap_or(f64::NAN), ts)
    );
    if let Some(f) = search {
        let _ = writeln!(
            s,
            "| p99 at half load | < 5 ms | {} ms |",
            ms(f.half_load.p99_ms)
        );
        let _ = writeln!(
            s,
            "| unloaded p50 | < 0.6 ms | {} ms |",
            ms(f.unloaded.p50_ms)
        );
        if let (Some(cpu), Some(e)) = (f.cpu_us_per_request, &r.engine) {
            let _ = writeln!(
                s,
                "| HTTP + GraphQL CPU per search above the engine floor | < 300 µs | {} µs |",
                num(cpu - e.cpu_us_per_request)
            );
        }
    }
    let _ = writeln!(
        s,
        "| full index build | < 10 s | {:.2} s |",
        r.index_build_seconds
    );
    if let Some(f) = &r.freshness {
        let _ = writeln!(
            s,
            "| update to searchable p99, same instance | < 100 ms | {} ms |",
            ms(f.same_instance.p99_ms)
        );
        let _ = writeln!(
            s,
            "| update to searchable p99, second instance | < 1 s | {} ms |",
            ms(f.other_instance.p99_ms)
        );
    }
    let _ = writeln!(
        s,
        "| peak RSS | < 300 MB | {:.0} MB |",
        r.peak_rss_mib * 1.048_576
    );
    if !r.notes.is_empty() {
        let _ = writeln!(s, "\n## Notes\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

/// ` --soak N` when the run had a soak phase of its own asking.
fn soak_option(r: &Results) -> String {
    r.soak
        .as_ref()
        .map_or(String::new(), |soak| format!(" --soak {:.0}", soak.seconds))
}

/// The soak's summary and its windows.
fn soak_section(s: &mut String, soak: &Soak) {
    let _ = writeln!(s, "\n## Soak\n");
    let _ = writeln!(
        s,
        "The whole query mix on an open-loop schedule and admin edits alongside, together at \
         about {:.0}% of the measured capacity (reads fill what the edits leave), for {:.0} s; \
         latency counts from each request's scheduled start.\n",
        crate::soak::LOAD_SHARE * 100.0,
        soak.seconds
    );
    let _ = writeln!(s, "| figure | value |\n|---|---|");
    let _ = writeln!(
        s,
        "| asked for | {} reads/s and {:.1} edits/s (capacity of the mix {} /s) |",
        num(soak.read_rate),
        soak.edit_rate,
        num(soak.capacity_per_second)
    );
    let _ = writeln!(
        s,
        "| reads | {} (p50 {} ms, p99 {} ms, p99.9 {} ms) |",
        num(soak.reads.requests as f64),
        ms(soak.reads.p50_ms),
        ms(soak.reads.p99_ms),
        ms(soak.reads.p999_ms)
    );
    let _ = writeln!(
        s,
        "| edits | {} at {:.1} /s (p50 {} ms, p99 {} ms) |",
        num(soak.edits.requests as f64),
        soak.edits_per_second,
        ms(soak.edits.p50_ms),
        ms(soak.edits.p99_ms)
    );
    let errors = if soak.errors.is_empty() {
        "none".to_owned()
    } else {
        soak.errors
            .iter()
            .map(|(kind, n)| format!("{kind} × {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(s, "| errors | {errors} |");
    let drift = if soak.p99_first_ms > 0.0 {
        format!(
            " ({:+.0}%)",
            (soak.p99_last_ms / soak.p99_first_ms - 1.0) * 100.0
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "| read p99, first window → last | {} ms → {} ms{drift} |",
        ms(soak.p99_first_ms),
        ms(soak.p99_last_ms)
    );
    let _ = writeln!(
        s,
        "| Signpost RSS, start → end (max) | {:.0} → {:.0} MiB ({:+.0} MiB; max {:.0} MiB) |",
        soak.rss_start_mib,
        soak.rss_end_mib,
        soak.rss_end_mib - soak.rss_start_mib,
        soak.rss_max_mib
    );
    let _ = writeln!(
        s,
        "\n| window (from s, {:.0} s each) | reads | errors | p50 ms | p99 ms |\n|---|---|---|---|---|",
        soak.window_seconds
    );
    for w in &soak.windows {
        let _ = writeln!(
            s,
            "| {:.0} | {} | {} | {} | {} |",
            w.start_seconds,
            num(w.requests as f64),
            w.errors,
            ms(w.p50_ms),
            ms(w.p99_ms)
        );
    }
}

/// Writes the Markdown report to `out` and the run's JSON into `json_dir`.
pub fn write(r: &Results, out: &Path, json_dir: &Path) -> Result<()> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(out, markdown(r))?;
    std::fs::create_dir_all(json_dir)?;
    let stamp = r.date.replace([' ', ':'], "-").replace("-UTC", "");
    let name = format!("{stamp}-{}.json", r.services);
    std::fs::write(json_dir.join(name), serde_json::to_vec_pretty(r)?)?;
    Ok(())
}
