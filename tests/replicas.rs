//! `tact serve` replicas (the binary: real processes, real sockets) sharing one fresh
//! PostgreSQL database: an author's history written through one replica decides through the
//! other, and a replica killed with SIGKILL while 32 clients write leaves every decision it
//! acknowledged in the audit log exactly once, its author's history counted with it.

mod common;

use common::served::Served;
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection, Row};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 32;

/// A replica on `database`. Small limits for a small machine; a store timeout long enough
/// that a busy replica still records every decision it answers.
async fn start_replica(database: &str) -> Served {
    common::served::start(&[
        "--store",
        database,
        "--threads",
        "1",
        "--batch-size",
        "8",
        "--max-queue",
        "256",
        "--max-queue-wait-ms",
        "20000",
        "--store-timeout-ms",
        "20000",
    ])
    .await
}

/// POSTs `body` as JSON; the status and the parsed answer, or the transport error.
async fn post(
    client: &reqwest::Client,
    url: String,
    body: &Value,
) -> reqwest::Result<(u16, Value)> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Ok((status, value))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_history_written_through_one_replica_decides_through_the_other() {
    let Some(database) = common::postgres::fresh_database().await else {
        return;
    };
    let (a, b) = tokio::join!(start_replica(&database), start_replica(&database));
    let client = reqwest::Client::new();
    let author = "author-replicas-1";
    let complaint = json!({"id": "rep-1", "author_id": author, "lang": "en",
        "text": "My order 5531 never arrived, third time I write!"});
    let (status, first) = post(&client, a.url("/v1/decide"), &complaint)
        .await
        .unwrap();
    assert_eq!(status, 200, "{first}");
    assert!(first["decision_id"].is_string(), "{first}");
    assert!(first.get("history").is_none(), "{first}");
    let reply = json!({"author_id": author, "comment_id": "rep-1",
        "text": "We are sorry: a courier brings it tomorrow."});
    let (status, recorded) = post(&client, a.url("/v1/replies"), &reply).await.unwrap();
    assert_eq!(status, 201, "{recorded}");
    // No thread: only the history replica A wrote says the brand answered.
    let follow_up = json!({"id": "rep-2", "author_id": author, "lang": "en",
        "text": "Still nothing. Typical, you are hopeless."});
    let (status, second) = post(&client, b.url("/v1/decide"), &follow_up)
        .await
        .unwrap();
    assert_eq!(status, 200, "{second}");
    assert_eq!(second["action"], "wait", "{second}");
    assert_eq!(second["rule"], "rsra-wait", "{second}");
    assert!(
        second["reasons"].to_string().contains("author history"),
        "{second}"
    );
}

/// What the clients saw: the decision ids answered 200, and the requests that failed.
#[derive(Default)]
struct Seen {
    acknowledged: Vec<String>,
    failed: usize,
}

/// One client: single-comment decide requests, each with its own comment id, until `stop`
/// or until the server is gone.
async fn client_writes(
    url: String,
    client_no: usize,
    stop: Arc<AtomicBool>,
    acknowledged: Arc<AtomicUsize>,
) -> Seen {
    let client = reqwest::Client::new();
    let mut seen = Seen::default();
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let comment = json!({"id": format!("kill-{client_no}-{n}"),
            "author_id": format!("author-kill-{client_no}"), "lang": "en",
            "text": format!("Order {n} never came and nobody answers my messages.")});
        match post(&client, url.clone(), &comment).await {
            Ok((200, decision)) => {
                assert!(decision.get("history").is_none(), "{decision}");
                let id = decision["decision_id"].as_str().unwrap();
                seen.acknowledged.push(id.to_string());
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            Ok((status, body)) => panic!("{status}: {body}"),
            Err(_) => {
                seen.failed += 1;
                break;
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_a_replica_acknowledged_before_kill_9_is_logged_exactly_once() {
    let Some(database) = common::postgres::fresh_database().await else {
        return;
    };
    let mut replica = start_replica(&database).await;
    let stop = Arc::new(AtomicBool::new(false));
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let url = replica.url("/v1/decide");
            tokio::spawn(client_writes(url, n, stop.clone(), acknowledged.clone()))
        })
        .collect();
    // Mid-way: after a second, once every client could have had an answer.
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1)
        || acknowledged.load(Ordering::SeqCst) < CLIENTS
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "too few answers"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGKILL (what `Child::kill` sends on Unix): no shutdown, no draining.
    replica.child.kill().unwrap();
    replica.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    let mut seen = Seen::default();
    for client in clients {
        let one = client.await.unwrap();
        seen.acknowledged.extend(one.acknowledged);
        seen.failed += one.failed;
    }
    assert!(
        !seen.acknowledged.is_empty(),
        "nothing was decided before the kill"
    );
    assert!(seen.failed > 0, "no request was in flight at the kill");
    let distinct: HashSet<&String> = seen.acknowledged.iter().collect();
    assert_eq!(
        distinct.len(),
        seen.acknowledged.len(),
        "one id per comment"
    );

    let mut db = AnyConnection::connect(&database).await.unwrap();
    for id in &seen.acknowledged {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decisions WHERE decision_id = $1")
            .bind(id)
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(n, 1, "decision {id}");
    }
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decisions")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert!(rows as usize >= seen.acknowledged.len());
    // A decision and its author's history are one transaction: the counts agree.
    let logged: HashMap<String, i64> =
        sqlx::query("SELECT author_id, COUNT(*) AS n FROM decisions GROUP BY author_id")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("author_id"), r.get("n")))
            .collect();
    let counted: HashMap<String, i64> = sqlx::query("SELECT author_id, comments FROM authors")
        .fetch_all(&mut db)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("author_id"), r.get("comments")))
        .collect();
    assert_eq!(logged, counted);
    db.close().await.unwrap();
}
