//! The soak phase: the query file's mix of reads on an open-loop schedule at a steady share of
//! the measured capacity, with admin edits alongside, for a long time; it reports errors by
//! kind, p99 per window (the drift from the first window to the last) and the server's memory.

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Result;
use serde::Serialize;
use tokio::sync::{Mutex, mpsc};

use crate::{
    http::HttpConn,
    load::Target,
    measure::{Latency, percentiles},
    model::Query,
    procs,
    signpost::{self, Signpost},
};

/// The share of the measured capacity the soak asks for, reads and edits together.
pub const LOAD_SHARE: f64 = 0.8;
/// Edits a second, as a share of the capacity (at least one every two seconds, at most ten a
/// second).
const EDIT_SHARE: f64 = 0.01;
/// Connections of the read pool.
const POOL: usize = 64;

/// What one window of the soak saw.
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    /// Seconds from the soak's start to the window's.
    pub start_seconds: f64,
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// The soak's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Soak {
    /// The soak's length (requests still running at its end are waited for).
    pub seconds: f64,
    /// The closed-loop capacity of the read mix, from the measured classes.
    pub capacity_per_second: f64,
    /// Reads a second asked for (see [`rates`]).
    pub read_rate: f64,
    /// Edits a second asked for, and achieved.
    pub edit_rate: f64,
    pub edits_per_second: f64,
    /// Read latency over the whole soak, from each request's scheduled start.
    pub reads: Latency,
    /// Edit latency (read the listing, then `updateService`).
    pub edits: Latency,
    /// Failed requests by kind (`read:` or `edit:`, then the GraphQL code, the HTTP status or
    /// `connection`).
    pub errors: BTreeMap<String, u64>,
    pub window_seconds: f64,
    pub windows: Vec<Window>,
    /// Read p99 of the first and the last whole window.
    pub p99_first_ms: f64,
    pub p99_last_ms: f64,
    /// The server's resident memory before, after and at most during the soak.
    pub rss_start_mib: f64,
    pub rss_end_mib: f64,
    pub rss_max_mib: f64,
}

/// The length of a window: a minute, or a fifth of a soak shorter than two minutes.
pub fn window_length(soak: Duration) -> Duration {
    if soak >= Duration::from_secs(120) {
        Duration::from_secs(60)
    } else {
        (soak / 5).max(Duration::from_millis(200))
    }
}

/// What went wrong with a request, in a few words.
fn kind(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    if let Some(at) = text.find("\"code\":\"") {
        let code = &text[at + 8..];
        return code.split('"').next().unwrap_or("GraphQL").to_owned();
    }
    if let Some(at) = text.find("HTTP ") {
        let status = &text[at..];
        return status.split(':').next().unwrap_or("HTTP").trim().to_owned();
    }
    if text.contains("GraphQL errors") {
        return "GraphQL error".to_owned();
    }
    "connection".to_owned()
}

/// One finished read: when it was due (seconds from the start), and its latency or error.
struct Sample {
    due: f64,
    outcome: Result<u64, String>,
}

/// The read and edit rates: edits at [`EDIT_SHARE`] of the capacity, each taking the server
/// about `edit_cost` (the measured update latency), and reads filling the rest of
/// [`LOAD_SHARE`] of the server's time (at least a tenth of it).
pub fn rates(capacity: f64, edit_cost: Duration) -> (f64, f64) {
    let edit_rate = (capacity * EDIT_SHARE).clamp(0.5, 10.0);
    let edit_busy = edit_rate * edit_cost.as_secs_f64();
    let read_share = (LOAD_SHARE - edit_busy).max(LOAD_SHARE / 10.0);
    ((capacity * read_share).max(1.0), edit_rate)
}

/// Runs the soak against a running Signpost (process `pid`) for `length`: `queries` in order
/// and edits of `services` (round robin, with `token`) at the [`rates`] for `capacity`.
#[allow(clippy::too_many_arguments)]
pub async fn soak(
    target: &Arc<Signpost>,
    pid: u32,
    token: &str,
    queries: &Arc<Vec<Query>>,
    services: &[String],
    capacity: f64,
    edit_cost: Duration,
    length: Duration,
) -> Result<Soak> {
    let (read_rate, edit_rate) = rates(capacity, edit_cost);
    let window = window_length(length);
    let rss_start = procs::rss_mib(pid)?;
    eprintln!(
        "  soak: {:.0} s at {read_rate:.0} reads/s and {edit_rate:.1} edits/s ({:.0}% of a capacity of {capacity:.0}/s)",
        length.as_secs_f64(),
        LOAD_SHARE * 100.0
    );

    let (idle_tx, idle_rx) = mpsc::unbounded_channel();
    for _ in 0..POOL {
        let _ = idle_tx.send(target.connect().await?);
    }
    let idle_rx = Arc::new(Mutex::new(idle_rx));
    let (sample_tx, mut sample_rx) = mpsc::unbounded_channel::<Sample>();
    let start = Instant::now() + Duration::from_millis(20);
    let end = start + length;

    // Memory, sampled as the soak runs.
    let sampler = tokio::spawn(async move {
        let mut max = rss_start;
        while Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Ok(rss) = procs::rss_mib(pid) {
                max = max.max(rss);
            }
        }
        max
    });

    // Edits, one at a time on their own connection.
    let editor = {
        let addr = target.addr;
        let services = services.to_vec();
        let auth = format!("Bearer {token}");
        tokio::spawn(async move {
            let headers = [("authorization", auth.as_str())];
            let interval = Duration::from_secs_f64(1.0 / edit_rate);
            let (mut samples, mut errors) = (Vec::new(), BTreeMap::<String, u64>::new());
            let mut writer = HttpConn::connect(addr).await.ok();
            let mut n = 0;
            while !services.is_empty() && start + interval.mul_f64(n as f64) < end {
                tokio::time::sleep_until((start + interval.mul_f64(n as f64)).into()).await;
                let id = &services[n % services.len()];
                let word = signpost::marked("soakmark", n);
                n += 1;
                let began = Instant::now();
                let outcome = match writer.as_mut() {
                    Some(conn) => async {
                        let body = signpost::edit_request(conn, &headers, id, &word).await?;
                        signpost::data(conn.post_json("/graphql", &headers, &body).await?)
                    }
                    .await
                    .map(|_| ()),
                    None => Err(anyhow::anyhow!("no connection")),
                };
                match outcome {
                    Ok(()) => samples.push(began.elapsed().as_micros() as u64),
                    Err(err) => {
                        *errors.entry(format!("edit: {}", kind(&err))).or_default() += 1;
                        writer = HttpConn::connect(addr).await.ok();
                    }
                }
            }
            (samples, errors)
        })
    };

    // Reads on a fixed schedule; latency counts from each request's due time.
    let scheduler = {
        let target = target.clone();
        let queries = queries.clone();
        tokio::spawn(async move {
            let interval = Duration::from_secs_f64(1.0 / read_rate);
            let mut n = 0usize;
            loop {
                let due = start + interval.mul_f64(n as f64);
                if due >= end {
                    break;
                }
                tokio::time::sleep_until(due.into()).await;
                let (target, queries) = (target.clone(), queries.clone());
                let (idle_tx, idle_rx, sample_tx) =
                    (idle_tx.clone(), idle_rx.clone(), sample_tx.clone());
                tokio::spawn(async move {
                    let Some(mut conn) = idle_rx.lock().await.recv().await else {
                        return;
                    };
                    let query = &queries[n % queries.len()];
                    let outcome = target.run(&mut conn, query).await;
                    let micros = due.elapsed().as_micros() as u64;
                    let outcome = match outcome {
                        Ok(_) => Ok(micros),
                        Err(err) => {
                            let kind = kind(&err);
                            if kind == "connection"
                                && let Ok(fresh) = target.connect().await
                            {
                                conn = fresh;
                            }
                            Err(kind)
                        }
                    };
                    let _ = sample_tx.send(Sample {
                        due: (due - start).as_secs_f64(),
                        outcome,
                    });
                    let _ = idle_tx.send(conn);
                });
                n += 1;
            }
        })
    };

    // Gather the reads as they finish, into windows.
    let windows_count = (length.as_secs_f64() / window.as_secs_f64())
        .ceil()
        .max(1.0) as usize;
    let mut binned: Vec<(Vec<u64>, u64)> = vec![(Vec::new(), 0); windows_count];
    let mut all = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let collect = async {
        while let Some(sample) = sample_rx.recv().await {
            let bin = ((sample.due / window.as_secs_f64()) as usize).min(windows_count - 1);
            match sample.outcome {
                Ok(micros) => {
                    binned[bin].0.push(micros);
                    all.push(micros);
                }
                Err(kind) => {
                    binned[bin].1 += 1;
                    *errors.entry(format!("read: {kind}")).or_default() += 1;
                }
            }
        }
    };
    // The channel closes when the scheduler and every request it started are done.
    let (scheduled, ()) = tokio::join!(scheduler, collect);
    scheduled?;
    let (edit_samples, edit_errors) = editor.await?;
    let rss_max = sampler.await?;
    let rss_end = procs::rss_mib(pid)?;

    let read_errors: u64 = errors.values().sum();
    errors.extend(edit_errors);
    let windows: Vec<Window> = binned
        .into_iter()
        .enumerate()
        .map(|(i, (samples, errors))| {
            let latency = percentiles(samples, errors, read_rate);
            Window {
                start_seconds: i as f64 * window.as_secs_f64(),
                requests: latency.requests,
                errors,
                p50_ms: latency.p50_ms,
                p99_ms: latency.p99_ms,
            }
        })
        .collect();
    // The last window may be cut short; drift compares whole windows.
    let whole = (length.as_secs_f64() / window.as_secs_f64())
        .floor()
        .max(1.0) as usize;
    let p99_first_ms = windows.first().map_or(f64::NAN, |w| w.p99_ms);
    let p99_last_ms = windows
        .get(whole.min(windows.len()) - 1)
        .map_or(f64::NAN, |w| w.p99_ms);
    let edits = edit_samples.len() as f64;
    let soak = Soak {
        seconds: length.as_secs_f64(),
        capacity_per_second: capacity,
        read_rate,
        edit_rate,
        edits_per_second: edits / length.as_secs_f64(),
        reads: percentiles(all, read_errors, read_rate),
        edits: percentiles(edit_samples, 0, edit_rate),
        errors,
        window_seconds: window.as_secs_f64(),
        windows,
        p99_first_ms,
        p99_last_ms,
        rss_start_mib: rss_start,
        rss_end_mib: rss_end,
        rss_max_mib: rss_max.max(rss_end),
    };
    eprintln!(
        "  soak: {} reads (p99 {:.2} ms; first window {:.2} ms, last {:.2} ms), {} edits, {} errors, RSS {:.0} -> {:.0} MiB (max {:.0})",
        soak.reads.requests,
        soak.reads.p99_ms,
        soak.p99_first_ms,
        soak.p99_last_ms,
        soak.edits.requests,
        soak.errors.values().sum::<u64>(),
        soak.rss_start_mib,
        soak.rss_end_mib,
        soak.rss_max_mib
    );
    Ok(soak)
}

/// The closed-loop capacity of a mix of classes: each class takes its share of the time at its
/// own measured rate.
pub fn mix_capacity(shares_and_rates: &[(f64, f64)]) -> f64 {
    let time: f64 = shares_and_rates
        .iter()
        .filter(|(share, rate)| *share > 0.0 && *rate > 0.0)
        .map(|(share, rate)| share / rate)
        .sum();
    if time > 0.0 { 1.0 / time } else { f64::NAN }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_grouped_by_kind() {
        let graphql = anyhow::anyhow!(
            "GraphQL errors: [{{\"message\":\"x\",\"extensions\":{{\"code\":\"UNAVAILABLE\"}}}}]"
        );
        assert_eq!(kind(&graphql), "UNAVAILABLE");
        let http = anyhow::anyhow!("/graphql: HTTP 503 Service Unavailable: {{}}");
        assert_eq!(kind(&http), "HTTP 503 Service Unavailable");
        assert_eq!(kind(&anyhow::anyhow!("connection closed")), "connection");
    }

    #[test]
    fn a_mix_takes_each_class_at_its_own_rate() {
        // Half the requests at 100/s and half at 300/s: 150 a second in all.
        let capacity = mix_capacity(&[(0.5, 100.0), (0.5, 300.0)]);
        assert!((capacity - 150.0).abs() < 1e-9);
        assert!(mix_capacity(&[]).is_nan());
    }

    #[test]
    fn edits_take_their_share_of_the_load() {
        // 1,000/s: 10 edits a second of 20 ms each keep the server busy a fifth of the time.
        let (reads, edits) = rates(1_000.0, Duration::from_millis(20));
        assert!((edits - 10.0).abs() < 1e-9);
        assert!((reads - 600.0).abs() < 1e-6);
        // Edits costlier than the whole share still leave some reads.
        let (reads, _) = rates(100.0, Duration::from_secs(2));
        assert!((reads - 8.0).abs() < 1e-6);
    }

    #[test]
    fn windows_are_minutes_or_a_fifth_of_a_short_soak() {
        assert_eq!(
            window_length(Duration::from_secs(600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            window_length(Duration::from_secs(5)),
            Duration::from_secs(1)
        );
    }
}
