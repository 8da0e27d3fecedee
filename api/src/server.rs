//! Serving HTTP/1.1 connections: a header read timeout, an idle timeout, a cap on concurrent
//! connections (HTTP 503 beyond it) and a graceful shutdown bounded by a deadline.

use std::{
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};

use axum::{Router, extract::ConnectInfo};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore, watch},
    task::JoinSet,
};
use tower::ServiceExt;

use crate::{config::Settings, observe};

/// Refusals (HTTP 503 for connections over the cap) written at once; connections beyond these
/// are closed without an answer.
const MAX_REFUSALS: usize = 64;
/// The longest a refusal may take to write and close.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(2);
/// While shutting down, a connection with no request in progress and nothing moving for this
/// long is closed without waiting for the deadline.
const DRAIN_IDLE: Duration = Duration::from_millis(500);
/// How long to wait for connection tasks to end once they have been cancelled.
const ABORT_WAIT: Duration = Duration::from_secs(2);

/// The answer to a connection over the cap.
const BUSY_BODY: &str = "the server is busy: too many connections; try again shortly\n";

/// The limits of the connection layer.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    /// How long a client may take to send a request's head, counted from the connection opening
    /// or the previous response.
    pub header_timeout: Duration,
    /// A connection on which nothing moves for this long while no request is being handled is
    /// closed.
    pub idle_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long requests in flight may take to finish once shutdown starts.
    pub shutdown_grace: Duration,
}

impl From<&Settings> for ConnectionLimits {
    fn from(settings: &Settings) -> Self {
        Self {
            header_timeout: settings.header_timeout,
            idle_timeout: settings.idle_timeout,
            max_connections: settings.max_connections.max(1),
            shutdown_grace: settings.shutdown_grace,
        }
    }
}

/// Descriptors kept free beyond the connection cap, for the database, the index and logs.
const RESERVED_FILES: u64 = 256;

/// Raises the process's soft limit on open files to its hard limit (many systems start
/// services at 1,024), and warns when the connection cap does not fit under the result.
pub fn raise_open_file_limit(max_connections: usize) {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let limit = getrlimit(Resource::Nofile);
        let Some(current) = limit.current else {
            return;
        };
        // Linux refuses more than its per-process ceiling (2^20 by default).
        let wanted = limit.maximum.unwrap_or(u64::MAX).min(1 << 20);
        let mut in_force = current;
        if wanted > current {
            match setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(wanted),
                    maximum: limit.maximum,
                },
            ) {
                Ok(()) => {
                    tracing::info!(from = current, to = wanted, "raised the open-file limit");
                    in_force = wanted;
                }
                Err(err) => tracing::debug!(error = %err, "cannot raise the open-file limit"),
            }
        }
        let needed = u64::try_from(max_connections)
            .unwrap_or(u64::MAX)
            .saturating_add(MAX_REFUSALS as u64)
            .saturating_add(RESERVED_FILES);
        if in_force < needed {
            tracing::warn!(
                open_file_limit = in_force,
                max_connections,
                "the open-file limit is too low for SIGNPOST_MAX_CONNECTIONS; lower it or raise \
                 the limit (ulimit -n)"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = max_connections;
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets
/// requests in flight finish for up to the grace period, closes idle and slow connections, and
/// returns once every connection has ended or the deadline has passed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    raise_open_file_limit(limits.max_connections);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let refusals = Arc::new(Semaphore::new(MAX_REFUSALS));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => match permits.clone().try_acquire_owned() {
                    Ok(permit) => {
                        connections.spawn(serve_connection(
                            stream,
                            peer,
                            router.clone(),
                            limits,
                            stopping.clone(),
                            permit,
                        ));
                    }
                    Err(_) => {
                        observe::metrics().connection_refused();
                        if let Ok(permit) = refusals.clone().try_acquire_owned() {
                            connections.spawn(refuse(stream, permit));
                        }
                    }
                },
                Err(err) => {
                    // Out of file descriptors, most likely: wait rather than spin.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    stop.send_replace(true);
    tracing::info!(
        connections = connections.len(),
        grace_secs = limits.shutdown_grace.as_secs_f64(),
        "stopped accepting connections; finishing requests in flight"
    );
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "closing the connections still open at the shutdown deadline"
        );
        if tokio::time::timeout(ABORT_WAIT, connections.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("some connections did not close; exiting anyway");
        }
    }
}

/// Answers a connection over the cap with HTTP 503 and closes it.
async fn refuse(mut stream: TcpStream, _permit: OwnedSemaphorePermit) {
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BUSY_BODY}",
        BUSY_BODY.len()
    );
    let answered = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        // Wait for the request's head first: an HTTP client may treat an answer that comes
        // before its request as a broken connection.
        let mut head = Vec::with_capacity(1024);
        let mut chunk = [0_u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            head.extend_from_slice(&chunk[..n]);
        }
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        // Read what else the client sends until it closes, so that closing does not reset the
        // connection before the client has read the answer.
        while stream.read(&mut chunk).await? > 0 {}
        std::io::Result::Ok(())
    })
    .await;
    if let Ok(Err(err)) = answered {
        tracing::debug!(error = %err, "refusing a connection failed");
    }
}

/// Serves one connection until it ends, times out, or shutdown closes it.
async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _open = observe::metrics().connection_opened();
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service = {
        let activity = activity.clone();
        service_fn(move |mut request: hyper::Request<Incoming>| {
            let busy = Busy::new(activity.clone());
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await;
                drop(busy);
                response
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let check = (limits.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(check.min(DRAIN_IDLE));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut draining = false;
    loop {
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(err) = served {
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
                return;
            }
            _ = stopping.changed(), if !draining => {
                draining = true;
                // Closes the connection at once when it is between requests, or after the
                // response to the request in flight.
                connection.as_mut().graceful_shutdown();
            }
            _ = ticks.tick() => {
                if activity.busy() {
                    continue;
                }
                let quiet = activity.quiet_for();
                if quiet >= limits.idle_timeout || (draining && quiet >= DRAIN_IDLE) {
                    tracing::debug!(%peer, quiet_secs = quiet.as_secs_f64(), "closing an idle connection");
                    return;
                }
            }
        }
    }
}

/// When a connection last moved bytes, and how many of its requests are being handled.
struct Activity {
    started: Instant,
    /// Milliseconds after `started` of the last read or write that moved bytes.
    last: AtomicU64,
    /// Requests being handled (their response not yet produced).
    handling: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            last: AtomicU64::new(0),
            handling: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    fn quiet_for(&self) -> Duration {
        let last = Duration::from_millis(self.last.load(Ordering::Relaxed));
        self.started.elapsed().saturating_sub(last)
    }

    fn busy(&self) -> bool {
        self.handling.load(Ordering::Relaxed) > 0
    }
}

/// Marks a request as being handled for as long as it lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(activity: Arc<Activity>) -> Self {
        activity.handling.fetch_add(1, Ordering::Relaxed);
        Self(activity)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

/// A stream that records when it last moved bytes.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(written)) if written > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
