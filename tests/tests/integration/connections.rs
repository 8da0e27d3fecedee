//! Slow and excess clients: header and idle timeouts, the connection cap, and a graceful
//! shutdown bounded by its deadline (in-process, and SIGTERM to the real binary).

use std::time::{Duration, Instant};

use signpost_api::config::Settings;
use tests::{Options, ServerProcess, TestApp};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Far longer than any timeout these tests configure: reaching it means the server hung.
const HANG: Duration = Duration::from_secs(20);

fn quiet(settings: &mut Settings) {
    // Only the limit under test may close connections.
    settings.header_timeout = Duration::from_secs(120);
    settings.idle_timeout = Duration::from_secs(120);
}

async fn connect(address: std::net::SocketAddr) -> TcpStream {
    TcpStream::connect(address)
        .await
        .unwrap_or_else(|err| panic!("cannot connect to {address}: {err}"))
}

/// Sends `bytes` on `stream`.
async fn send(stream: &mut TcpStream, bytes: &str) {
    stream
        .write_all(bytes.as_bytes())
        .await
        .unwrap_or_else(|err| panic!("cannot send: {err}"));
}

/// Reads until the server closes the connection (or resets it); `None` when it is still open
/// after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut received = Vec::new();
    let mut chunk = [0_u8; 4096];
    let closed = tokio::time::timeout(limit, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    closed
        .ok()
        .map(|()| String::from_utf8_lossy(&received).into_owned())
}

/// Sends a keep-alive `GET /healthz` and reads its whole response, leaving the connection open
/// and idle.
async fn healthz_keep_alive(stream: &mut TcpStream) {
    send(stream, "GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n").await;
    let mut received = Vec::new();
    let mut chunk = [0_u8; 1024];
    let read = tokio::time::timeout(HANG, async {
        while !received.ends_with(b"\r\n\r\nok") {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    let text = String::from_utf8_lossy(&received);
    assert!(
        read.is_ok() && text.starts_with("HTTP/1.1 200") && text.ends_with("ok"),
        "no answer to /healthz: {text:?}"
    );
}

/// A client that does not pool connections, so each request is a connection of its own.
fn unpooled() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(HANG)
        .build()
        .unwrap_or_else(|err| panic!("{err}"))
}

#[tokio::test]
async fn a_half_sent_request_head_is_closed_after_the_header_timeout() {
    let app = TestApp::spawn_with_settings(Options { seed_demo: false }, |settings| {
        quiet(settings);
        settings.header_timeout = Duration::from_secs(1);
    })
    .await;
    let mut slow = connect(app.address).await;
    send(
        &mut slow,
        "POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: appl",
    )
    .await;
    assert!(
        read_until_closed(&mut slow, HANG).await.is_some(),
        "a connection that sent half a request head was still open after {HANG:?}"
    );
    // The server itself is unaffected.
    let response = unpooled()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let app = TestApp::spawn_with_settings(Options { seed_demo: false }, |settings| {
        quiet(settings);
        settings.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut idle = connect(app.address).await;
    healthz_keep_alive(&mut idle).await;
    assert!(
        read_until_closed(&mut idle, HANG).await.is_some(),
        "an idle keep-alive connection was still open after {HANG:?}"
    );
}

#[tokio::test]
async fn connections_beyond_the_cap_get_503_until_one_closes() {
    let app = TestApp::spawn_with_settings(Options { seed_demo: false }, |settings| {
        quiet(settings);
        settings.max_connections = 2;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(app.address).await;
        healthz_keep_alive(&mut stream).await;
        held.push(stream);
    }
    let client = unpooled();
    let refused = client
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("the refusal was not an HTTP answer: {err}"));
    assert_eq!(refused.status(), 503, "a third connection was served");
    let retry_after = refused
        .headers()
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    assert!(
        retry_after
            .as_deref()
            .is_some_and(|secs| secs.parse::<u64>().is_ok()),
        "no Retry-After in the refusal: {retry_after:?}"
    );
    let body = refused.text().await.unwrap_or_default();
    assert!(body.contains("too many connections"), "{body}");

    // Once a connection closes, new clients are served again.
    drop(held.pop());
    let started = Instant::now();
    loop {
        let status = client
            .get(app.url("/healthz"))
            .send()
            .await
            .map(|response| response.status().as_u16())
            .map_err(|err| err.to_string());
        if status == Ok(200) {
            break;
        }
        assert!(
            started.elapsed() < HANG,
            "still refused {HANG:?} after a connection closed: {status:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn shutdown_finishes_requests_in_flight_and_closes_slow_clients_by_the_deadline() {
    let grace = Duration::from_secs(3);
    let mut app = TestApp::spawn_with_settings(Options { seed_demo: false }, |settings| {
        quiet(settings);
        settings.shutdown_grace = grace;
    })
    .await;
    let address = app.address;

    // A client that sent half a request head, and one idle between requests.
    let mut half_head = connect(address).await;
    send(&mut half_head, "GET /healthz HTTP/1.1\r\nhost: local").await;
    let mut idle = connect(address).await;
    healthz_keep_alive(&mut idle).await;
    // A request in flight that the client finishes during shutdown...
    let query = r#"{"query":"{ __typename }"}"#;
    let (start, rest) = query.split_at(10);
    let mut in_flight = connect(address).await;
    send(
        &mut in_flight,
        &format!(
            "POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n{start}",
            query.len()
        ),
    )
    .await;
    // ...and one that never finishes.
    let mut stuck = connect(address).await;
    send(
        &mut stuck,
        "POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: 1000\r\n\r\n{\"query\":",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = tokio::spawn(async move {
        let started = Instant::now();
        app.stop().await;
        (app, started.elapsed())
    });
    // The listener closes once shutdown begins.
    let began = Instant::now();
    while TcpStream::connect(address).await.is_ok() {
        assert!(
            began.elapsed() < HANG,
            "new connections were still accepted {HANG:?} after shutdown began"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    send(&mut in_flight, rest).await;
    let answer = read_until_closed(&mut in_flight, HANG)
        .await
        .unwrap_or_default();
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("\"__typename\":\"Query\""),
        "the request in flight was not finished: {answer:?}"
    );

    let stopped = tokio::time::timeout(grace + HANG, stopping).await;
    let elapsed = match stopped {
        Ok(Ok((_app, elapsed))) => elapsed,
        Ok(Err(err)) => panic!("the server task failed: {err}"),
        Err(_) => panic!(
            "the server had not stopped {:?} after shutdown began",
            grace + HANG
        ),
    };
    assert!(
        elapsed < grace + Duration::from_secs(10),
        "shutdown took {elapsed:?} with a grace period of {grace:?}"
    );
    for (name, stream) in [
        ("half-sent head", &mut half_head),
        ("idle", &mut idle),
        ("stuck request", &mut stuck),
    ] {
        assert!(
            read_until_closed(stream, Duration::from_secs(5))
                .await
                .is_some(),
            "the {name} connection is still open after shutdown"
        );
    }
}

#[tokio::test]
async fn sigterm_with_a_slow_client_exits_within_the_deadline() {
    let mut server = ServerProcess::start(&[
        ("SIGNPOST_SHUTDOWN_GRACE_SECS", "2"),
        ("SIGNPOST_HEADER_TIMEOUT_SECS", "600"),
        ("SIGNPOST_IDLE_TIMEOUT_SECS", "600"),
    ])
    .await;
    let mut slow = connect(server.address).await;
    send(&mut slow, "POST /graphql HTTP/1.1\r\nhost: local").await;
    let mut stuck = connect(server.address).await;
    send(
        &mut stuck,
        "POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n\
         content-length: 1000\r\n\r\n{",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.terminate();
    let status = server.wait(Duration::from_secs(30)).await;
    let stderr = String::from_utf8_lossy(&server.stderr()).into_owned();
    match status {
        Some(status) => assert!(status.success(), "signpost exited with {status}:\n{stderr}"),
        None => panic!("signpost was still running 30 s after SIGTERM:\n{stderr}"),
    }
}
