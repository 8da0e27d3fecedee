//! The load generator: closed-loop saturation, open-loop latency at a fixed rate (measured from
//! each request's scheduled start, so a stalled server cannot hide its queue), and unloaded
//! latency from a single connection.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Result, bail};
use serde::Serialize;
use tokio::sync::{Mutex, mpsc};

use crate::{load::Target, model::Query};

/// What one closed-loop run saw.
#[derive(Clone, Debug, Serialize)]
pub struct Closed {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub per_second: f64,
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize)]
pub struct Latency {
    pub requests: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// The rate asked for (open loop), or achieved (unloaded).
    pub rate: f64,
}

/// Percentiles of sorted samples (microseconds).
pub fn percentiles(mut samples: Vec<u64>, errors: u64, rate: f64) -> Latency {
    samples.sort_unstable();
    let at = |q: f64| {
        if samples.is_empty() {
            return 0.0;
        }
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i] as f64 / 1000.0
    };
    Latency {
        requests: samples.len() as u64,
        errors,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        p999_ms: at(0.999),
        rate,
    }
}

/// Opens `n` connections.
async fn connections<T: Target>(target: &Arc<T>, n: usize) -> Result<Vec<T::Conn>> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(target.connect().await?);
    }
    Ok(out)
}

/// Runs every query once on one connection and fails on the first wrong answer, so that a
/// broken system is not measured.
pub async fn check<T: Target>(target: &Arc<T>, queries: &[Query]) -> Result<()> {
    let mut conn = target.connect().await?;
    for query in queries {
        if let Err(err) = target.run(&mut conn, query).await {
            bail!("{} cannot answer {query:?}: {err:#}", target.name());
        }
    }
    Ok(())
}

/// Closed loop: `conns` connections each sending its next query as soon as the last answered,
/// for `duration`.
pub async fn closed<T: Target>(
    target: &Arc<T>,
    queries: &Arc<Vec<Query>>,
    conns: usize,
    duration: Duration,
) -> Result<Closed> {
    let opened = connections(target, conns).await?;
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (n, mut conn) in opened.into_iter().enumerate() {
        let (target, queries) = (target.clone(), queries.clone());
        let (done, errors, stop) = (done.clone(), errors.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = n * queries.len() / conns.max(1);
            while !stop.load(Ordering::Relaxed) {
                let query = &queries[i % queries.len()];
                i += 1;
                match target.run(&mut conn, query).await {
                    Ok(_) => {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        // A failing request may fail at once (a server that went away):
                        // without a yield, the loop would never let the phase's timer fire.
                        tokio::task::yield_now().await;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let seconds = start.elapsed().as_secs_f64();
    for task in tasks {
        let _ = task.await;
    }
    let requests = done.load(Ordering::Relaxed);
    Ok(Closed {
        requests,
        errors: errors.load(Ordering::Relaxed),
        seconds,
        per_second: requests as f64 / seconds,
    })
}

/// The first `count` queries in order, one at a time on one connection (cycling through the
/// file when it holds fewer): the same requests every run, for counting the work a request
/// costs the server rather than timing it.
pub async fn sequence<T: Target>(
    target: &Arc<T>,
    queries: &Arc<Vec<Query>>,
    count: u64,
) -> Result<Closed> {
    let mut conn = target.connect().await?;
    let (mut requests, mut errors) = (0, 0);
    let start = Instant::now();
    for query in queries.iter().cycle().take(usize::try_from(count)?) {
        match target.run(&mut conn, query).await {
            Ok(_) => requests += 1,
            Err(_) => errors += 1,
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    Ok(Closed {
        requests,
        errors,
        seconds,
        per_second: requests as f64 / seconds,
    })
}

/// Connections of the open loop's pool.
const OPEN_POOL: usize = 64;

/// Open loop: requests start on a fixed schedule of `rate` per second for `duration`, each on
/// the next idle connection of a pool; latency counts from the scheduled start, so waiting for
/// a connection counts too.
pub async fn open<T: Target>(
    target: &Arc<T>,
    queries: &Arc<Vec<Query>>,
    rate: f64,
    duration: Duration,
) -> Result<Latency> {
    let (idle_tx, idle_rx) = mpsc::unbounded_channel::<T::Conn>();
    for conn in connections(target, OPEN_POOL).await? {
        let _ = idle_tx.send(conn);
    }
    let idle_rx = Arc::new(Mutex::new(idle_rx));
    let (sample_tx, mut sample_rx) = mpsc::unbounded_channel::<Option<u64>>();
    let total = (rate * duration.as_secs_f64()).max(1.0) as usize;
    let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = Vec::with_capacity(total);
    for n in 0..total {
        let due = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(due.into()).await;
        let (target, queries) = (target.clone(), queries.clone());
        let (idle_tx, idle_rx, sample_tx) = (idle_tx.clone(), idle_rx.clone(), sample_tx.clone());
        tasks.push(tokio::spawn(async move {
            let Some(mut conn) = idle_rx.lock().await.recv().await else {
                let _ = sample_tx.send(None);
                return;
            };
            let query = &queries[n % queries.len()];
            let outcome = target.run(&mut conn, query).await;
            let micros = due.elapsed().as_micros() as u64;
            let _ = sample_tx.send(outcome.ok().map(|_| micros));
            let _ = idle_tx.send(conn);
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    drop(sample_tx);
    let (mut samples, mut errors) = (Vec::with_capacity(total), 0);
    while let Some(sample) = sample_rx.recv().await {
        match sample {
            Some(micros) => samples.push(micros),
            None => errors += 1,
        }
    }
    Ok(percentiles(samples, errors, rate))
}

/// One connection, one request at a time, for `duration`: latency without queueing.
pub async fn unloaded<T: Target>(
    target: &Arc<T>,
    queries: &Arc<Vec<Query>>,
    duration: Duration,
) -> Result<Latency> {
    let mut conn = target.connect().await?;
    let mut samples = Vec::new();
    let mut errors = 0;
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < duration {
        let query = &queries[i % queries.len()];
        i += 1;
        let began = Instant::now();
        match target.run(&mut conn, query).await {
            Ok(_) => samples.push(began.elapsed().as_micros() as u64),
            Err(_) => errors += 1,
        }
    }
    let rate = samples.len() as f64 / start.elapsed().as_secs_f64();
    Ok(percentiles(samples, errors, rate))
}

/// The median of some numbers (the middle one, or the mean of the middle two).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A system whose every answer fails at once, as when its server has gone away.
    struct Gone;

    #[async_trait::async_trait]
    impl Target for Gone {
        type Conn = ();

        fn name(&self) -> &str {
            "gone"
        }

        async fn connect(&self) -> Result<()> {
            Ok(())
        }

        async fn run(&self, _conn: &mut (), _query: &Query) -> Result<Vec<String>> {
            bail!("connection refused")
        }
    }

    #[test]
    fn a_closed_loop_ends_on_time_when_every_request_fails() {
        let (sent, received) = std::sync::mpsc::channel();
        // On a thread of its own, so that a loop that never ends fails the test instead of
        // holding it up.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            let queries = Arc::new(vec![Query::Suggest {
                prefix: "ba".to_owned(),
            }]);
            let closed = runtime.block_on(closed(
                &Arc::new(Gone),
                &queries,
                4,
                Duration::from_millis(50),
            ));
            let _ = sent.send(closed.map(|c| (c.requests, c.errors)));
        });
        let (requests, errors) = received
            .recv_timeout(Duration::from_secs(30))
            .expect("the closed loop never ended")
            .expect("the closed loop ran");
        assert_eq!(requests, 0);
        assert!(errors > 0);
    }
}
