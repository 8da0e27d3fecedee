//! The Markdown table and the JSON file of a run.

use std::{fmt::Write, path::Path};

use anyhow::Result;

use crate::{
    run::{Figures, Results},
    signpost,
    soak::Soak,
    web::{self, FirstLoad, WebClient},
};

pub fn num(x: f64) -> String {
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

pub fn ms(x: f64) -> String {
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
         generator to core 1 (`taskset`), commands (`signpost import`, `signpost reindex`) \
         free to use every core; closed loop with {} connections; each measurement \
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
    // Signpost's own figures from a peer's comparison (over more queries than the page's in a
    // quick run), else from the page's.
    let reference = r
        .overlap
        .iter()
        .find(|o| o.system != web::NAME)
        .or(r.overlap.first());
    let signpost_cpu = find(r, SIGNPOST, "search").and_then(|f| f.cpu_us_per_request);
    let mut row = |f: &Figures| {
        let cpu = match (f.cpu_us_per_request, f.system.as_str()) {
            (Some(cpu), web::NAME | signpost::FACETS_NAME | signpost::HIGHLIGHTS_NAME) => format!(
                "{} ({} the GraphQL search's)",
                num(cpu),
                ratio(cpu, signpost_cpu)
            ),
            (cpu, _) => cpu.map_or("n/a".to_owned(), num),
        };
        let (ov, mean) = match (f.system.as_str(), overlap_of(&f.system)) {
            (SIGNPOST, _) => (
                "1.00".to_owned(),
                reference.map_or("n/a".to_owned(), |o| {
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
            cpu,
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
    if let Some(e) = r.engine.as_ref().filter(|e| !e.classes.is_empty()) {
        let _ = writeln!(
            s,
            "\nThe engine floor by kind of search query (the same run):\n\n\
             | kind | searches | mean (µs) | p50 (µs) | p99 (µs) | median matches |\n\
             |---|---:|---:|---:|---:|---:|"
        );
        for c in &e.classes {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                c.class,
                num(c.requests as f64),
                num(c.mean_us),
                num(c.p50_us as f64),
                num(c.p99_us as f64),
                num(c.median_matches as f64)
            );
        }
    }
    let _ = writeln!(
        s,
        "\nThe {} row is the web client's `GET /` for the same search queries on the same \
         server, rendered to HTML ({} results a page; the notes say how the queries map onto \
         the page); its CPU per page is also given as a multiple of the GraphQL search's, and its \
         overlap@10 is over its first {} queries.",
        web::NAME,
        web::PAGE_RESULTS,
        overlap_of(web::NAME).map_or(0, |o| o.queries)
    );
    let _ = writeln!(
        s,
        "The {} and {} rows are the same GraphQL searches also asking for every facet's counts \
         (categories, level of need, audiences, delivery modes, referral routes, languages) or \
         for each result's highlights; their CPU is also given as a multiple of the plain \
         search's.",
        signpost::FACETS_NAME,
        signpost::HIGHLIGHTS_NAME
    );
    let _ = writeln!(
        s,
        "The ceiling rows answer every request the same way (`GET /plain`, and `{{ __typename }}` \
         through async-graphql) on the same stack and pinning. PostgreSQL's CPU is spread over \
         its backends and is not counted. Overlap@10 is the share of Signpost's top ten a \
         system also returns in its top ten, over the first {} search queries.\n",
        reference.map_or(0, |o| o.queries)
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

    web_section(&mut s, &r.web);

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
        "| full index build from the database (`signpost reindex`) | {:.2} s ({} documents/s), peak RSS {} MiB |",
        r.index_build_seconds,
        num(r.index_docs_per_second),
        num(r.index_build_rss_mib)
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

    let _ = writeln!(
        s,
        "\n## Targets (the aims are for 100k services; this run has {})\n",
        num(r.services as f64)
    );
    let _ = writeln!(s, "| target | aim | this run |\n|---|---|---|");
    let search = find(r, SIGNPOST, "search");
    let _ = writeln!(
        s,
        "| search throughput | ≥ 5,000 req/s | {} req/s |",
        signpost.map_or_else(|| "n/a".to_owned(), num)
    );
    let _ = writeln!(
        s,
        "| search throughput ÷ PostgreSQL FTS | ≥ 30× | {} |",
        ratio(signpost.unwrap_or(f64::NAN), pg)
    );
    let _ = writeln!(
        s,
        "| search throughput ÷ Typesense | ≥ 30× | {} |",
        ratio(signpost.unwrap_or(f64::NAN), ts)
    );
    for (class, aim) in [
        ("fetch", 8_000.0),
        ("listing", 1_000.0),
        ("suggest", 10_000.0),
    ] {
        if let Some(f) = find(r, SIGNPOST, class) {
            let _ = writeln!(
                s,
                "| {class} throughput | ≥ {} req/s | {} req/s |",
                num(aim),
                num(f.throughput)
            );
        }
    }
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
        if let Some(cpu) = f.cpu_us_per_request {
            let _ = writeln!(s, "| server CPU per search | ≤ 200 µs | {} µs |", num(cpu));
        }
        if let Some(e) = &r.engine {
            let _ = writeln!(
                s,
                "| engine floor, mean CPU per search | ≤ 90 µs | {} µs |",
                num(e.cpu_us_per_request)
            );
        }
        if let (Some(cpu), Some(e)) = (f.cpu_us_per_request, &r.engine) {
            let _ = writeln!(
                s,
                "| HTTP + GraphQL CPU per search above the engine floor | < 300 µs | {} µs |",
                num(cpu - e.cpu_us_per_request)
            );
        }
    }
    for (n, load) in r.web.first_loads.iter().enumerate() {
        let page = html_size(load);
        let _ = writeln!(
            s,
            "| first-load weight of {} (HTML + CSS + JS and the icons the CSS names, gzipped) | < 100 KB | {} KB with the HTML gzipped; {} KB as sent (the HTML, {} KB, is not compressed) |",
            if n == 0 {
                "the search page `/`".to_owned()
            } else {
                format!("a results page `{}`", load.page)
            },
            kb(load.gzip_bytes),
            kb(load.wire_bytes),
            kb(page)
        );
    }
    let _ = writeln!(
        s,
        "| full index build | < 10 s | {:.2} s |",
        r.index_build_seconds
    );
    let _ = writeln!(
        s,
        "| full index build, peak RSS | < 300 MB | {:.0} MB |",
        r.index_build_rss_mib * 1.048_576
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
        "| server peak RSS (whole run) | < 300 MB | {:.0} MB |",
        r.peak_rss_mib * 1.048_576
    );
    if !r.notes.is_empty() {
        let _ = writeln!(s, "\n## Notes\n");
        for n in &r.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    if !r.quick {
        let _ = writeln!(
            s,
            "\nThe newest run of each size, side by side: [SCALE.md](SCALE.md)."
        );
    }
    s
}

/// Bytes in KB (1,024 bytes), one decimal.
fn kb(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / 1024.0)
}

/// The page's own bytes as sent.
fn html_size(load: &FirstLoad) -> u64 {
    load.resources
        .iter()
        .filter(|r| r.kind == "page")
        .map(|r| r.wire_bytes)
        .sum()
}

/// The first-load weights: per page, every file a first visit fetches.
fn web_section(s: &mut String, web: &WebClient) {
    if web.first_loads.is_empty() {
        return;
    }
    let _ = writeln!(s, "\n## Web client\n");
    let _ = writeln!(
        s,
        "The first visit to a page (no cookie, nothing cached, `Accept-Encoding: gzip`): the page \
         and every same-origin file it has a browser fetch (stylesheets, the module script and the \
         modules it imports, images the stylesheets name, which a browser fetches only when a rule \
         using them applies: counted anyway). Bytes are response bodies, headers not counted; KB \
         is 1,024 bytes. The server does not compress pages (they carry a CSRF token beside what \
         the visitor typed): their gzipped size is computed here (gzip level 6), to compare with \
         the aim.\n"
    );
    for load in &web.first_loads {
        let shown = match load.results {
            None => "the search form, no search".to_owned(),
            Some(1) => "1 result shown".to_owned(),
            Some(n) => format!("{n} results shown"),
        };
        let _ = writeln!(s, "**`{}`** ({shown})\n", load.page);
        let _ = writeln!(
            s,
            "| file | kind | sent as | bytes on the wire | bytes decoded | gzipped |\n|---|---|---|---:|---:|---:|"
        );
        for f in &load.resources {
            let (sent, gzipped) = match (&f.encoding, f.gzip_bytes) {
                (Some(encoding), _) => (encoding.clone(), num(f.wire_bytes as f64)),
                (None, Some(g)) => (
                    "uncompressed".to_owned(),
                    format!("{} (gzipped here)", num(g as f64)),
                ),
                (None, None) => ("uncompressed".to_owned(), "n/a".to_owned()),
            };
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} | {} | {} |",
                f.path,
                f.kind,
                sent,
                num(f.wire_bytes as f64),
                num(f.raw_bytes as f64),
                gzipped
            );
        }
        let _ = writeln!(
            s,
            "| **total** ({} files) | | | **{}** ({} KB) | {} | **{}** ({} KB) |\n",
            load.resources.len(),
            num(load.wire_bytes as f64),
            kb(load.wire_bytes),
            num(load.resources.iter().map(|f| f.raw_bytes).sum::<u64>() as f64),
            num(load.gzip_bytes as f64),
            kb(load.gzip_bytes)
        );
    }
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
