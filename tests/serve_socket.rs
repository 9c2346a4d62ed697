//! The service over real sockets on 127.0.0.1: a client round trip and a graceful shutdown
//! that drains an in-flight request (in process, and the `tact serve` binary on SIGTERM),
//! body limits on bodies streamed without a Content-Length, and the connection limits: header
//! and body timeouts, idle keep-alive connections closed, a cap on open connections.

mod common;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};
use tact::serve::{AppState, ModelStatus, ServeConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `config` on an ephemeral loopback port until `stop` is sent.
async fn start_server(
    config: ServeConfig,
) -> (
    SocketAddr,
    AppState,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let model = common::pipeline();
    let state = AppState::start(config, None, move || Ok(model)).unwrap();
    state.until_ready().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tact::serve::serve(listener, state.clone(), async {
        stopped.await.ok();
    }));
    (addr, state, stop, server)
}

/// A batch of long comments: several forward passes, so it is still in flight when the
/// shutdown starts.
fn long_batch(n: usize) -> String {
    let text =
        "The blender I got yesterday leaks all over the counter and nobody answers. ".repeat(30);
    let comments: Vec<Value> = (0..n)
        .map(|i| json!({"id": format!("c-{i}"), "text": text}))
        .collect();
    json!({ "comments": comments }).to_string()
}

async fn metric(client: &reqwest::Client, addr: SocketAddr, name: &str) -> f64 {
    let text = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name}"))
        .parse()
        .unwrap()
}

/// Waits until the server has tokenised `n` requests (their comments are then queued).
async fn until_tokenised(client: &reqwest::Client, addr: SocketAddr, n: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric(client, addr, "tact_tokenization_duration_seconds_count").await < n {
        assert!(
            Instant::now() < deadline,
            "the request never reached the queue"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn post_json(client: reqwest::Client, url: String, body: String) -> (u16, Value) {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap())
}

#[tokio::test]
async fn serves_over_a_socket_and_drains_in_flight_requests_on_shutdown() {
    // Deadlines are not what this tests: a loaded machine may run the batch slowly.
    let (addr, state, stop, server) = start_server(ServeConfig {
        max_queue_wait: Duration::from_secs(60),
        ..ServeConfig::default()
    })
    .await;
    let client = reqwest::Client::new();
    let (status, decision) = post_json(
        client.clone(),
        format!("http://{addr}/v1/decide"),
        json!({"id": "c-1", "text": "Do you deliver to Cluj on Sundays?"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{decision}");
    assert_eq!(decision["id"], "c-1");

    let in_flight = tokio::spawn(post_json(
        client.clone(),
        format!("http://{addr}/v1/decide"),
        long_batch(24),
    ));
    until_tokenised(&client, addr, 2.0).await;
    stop.send(()).unwrap();
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    let ids: Vec<&str> = body["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 24);
    assert_eq!(ids[23], "c-23");
    tokio::time::timeout(Duration::from_secs(30), server)
        .await
        .expect("the server stops once drained")
        .unwrap();
    assert!(matches!(state.status(), ModelStatus::Stopped));
    let after = reqwest::Client::new()
        .get(format!("http://{addr}/health"))
        .send()
        .await;
    assert!(after.is_err(), "still listening after shutdown");
}

/// Sends raw HTTP/1.1 and returns the status line and the body.
async fn raw_request(addr: SocketAddr, head: &str, chunks: &[&[u8]]) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in chunks {
        // The server may answer and close before reading everything; that is the point.
        if stream.write_all(chunk).await.is_err() {
            break;
        }
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).to_string();
    let status = response.lines().next().unwrap_or("").to_string();
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_string());
    (status, body)
}

#[tokio::test]
async fn body_limits_hold_for_streamed_and_declared_sizes() {
    let (addr, _state, stop, server) = start_server(ServeConfig {
        max_body_bytes: 1024,
        ..ServeConfig::default()
    })
    .await;
    let filler = vec![b' '; 800];
    let chunk = format!(
        "{:x}\r\n{}\r\n",
        filler.len(),
        String::from_utf8_lossy(&filler)
    );
    let (status, body) = raw_request(
        addr,
        "POST /v1/decide HTTP/1.1\r\nhost: tact\r\ncontent-type: application/json\r\n\
         transfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        &[chunk.as_bytes(), chunk.as_bytes(), b"0\r\n\r\n"],
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(body.contains("\"body_too_large\""), "{body}");

    let (status, body) = raw_request(
        addr,
        "POST /v1/decide HTTP/1.1\r\nhost: tact\r\ncontent-type: application/json\r\n\
         content-length: 100000000\r\nconnection: close\r\n\r\n",
        &[b"{\"text\": \""],
    )
    .await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert!(body.contains("\"body_too_large\""), "{body}");
    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn the_binary_drains_in_flight_requests_on_sigterm_and_exits_cleanly() {
    // Its own store file: the default one is the user's.
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("tact.db").display());
    let mut served = common::served::start(&["--store", &store]).await;
    let addr = served.addr;
    let client = reqwest::Client::new();
    let in_flight = tokio::spawn(post_json(
        client.clone(),
        format!("http://{addr}/v1/decide"),
        long_batch(16),
    ));
    until_tokenised(&client, addr, 1.0).await;
    let killed = Command::new("kill")
        .args(["-TERM", &served.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (status, body) = in_flight.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["decisions"].as_array().unwrap().len(), 16);
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = served.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit}");
}

#[tokio::test]
async fn the_server_stops_when_the_model_fails_to_load() {
    let state = AppState::start(ServeConfig::default(), None, || {
        anyhow::bail!("heads.safetensors: empty file")
    })
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let served = tact::serve::serve(listener, state.clone(), std::future::pending());
    tokio::time::timeout(Duration::from_secs(30), served)
        .await
        .expect("the server stops by itself");
    assert!(
        matches!(state.status(), ModelStatus::Failed(why) if why.contains("empty file")),
        "the reason is kept for `tact serve` to report"
    );
}

/// Reads until the server closes the connection (or `within` passes: then `None`).
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> Option<String> {
    let mut response = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut response))
        .await
        .ok()
        .map(|_| String::from_utf8_lossy(&response).to_string())
}

#[tokio::test]
async fn half_sent_headers_idle_connections_and_slow_bodies_time_out() {
    let (addr, _state, stop, server) = start_server(ServeConfig {
        header_read_timeout: Duration::from_millis(300),
        body_read_timeout: Duration::from_millis(300),
        ..ServeConfig::default()
    })
    .await;
    // Headers never finished: closed without an answer.
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"POST /v1/decide HTTP/1.1\r\nhost: tact\r\n")
        .await
        .unwrap();
    let closed = read_until_closed(&mut half, Duration::from_secs(5)).await;
    assert_eq!(closed.as_deref(), Some(""), "half-sent headers kept open");

    // A keep-alive connection that answered once, then sits idle: closed.
    let mut idle = tokio::net::TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: tact\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut idle, Duration::from_secs(5))
        .await
        .expect("the idle connection was kept open");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // A body that stops half-way: 408, and the connection closes.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(
        b"POST /v1/decide HTTP/1.1\r\nhost: tact\r\ncontent-type: application/json\r\n\
          content-length: 100\r\n\r\n{\"text\": \"",
    )
    .await
    .unwrap();
    let answer = read_until_closed(&mut slow, Duration::from_secs(5))
        .await
        .expect("the slow body was waited for forever");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"body_timeout\""), "{answer}");
    stop.send(()).unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn open_connections_are_capped_and_a_closed_one_makes_room() {
    let (addr, _state, stop, server) = start_server(ServeConfig {
        max_connections: 2,
        ..ServeConfig::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /health HTTP/1.1\r\nhost: tact\r\n\r\n")
            .await
            .unwrap();
        let mut buffer = [0u8; 12];
        stream.read_exact(&mut buffer).await.unwrap();
        assert_eq!(&buffer, b"HTTP/1.1 200");
        held.push(stream);
    }
    // The kernel completes the handshake, but tact does not take the connection yet.
    let mut third = tokio::net::TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /health HTTP/1.1\r\nhost: tact\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let waiting = read_until_closed(&mut third, Duration::from_millis(500)).await;
    assert_eq!(
        waiting, None,
        "a third connection was served over the cap of 2"
    );
    drop(held.pop());
    let answer = read_until_closed(&mut third, Duration::from_secs(5))
        .await
        .expect("the third connection was never served");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    stop.send(()).unwrap();
    server.await.unwrap();
}
