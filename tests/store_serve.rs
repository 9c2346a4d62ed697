//! The store through the HTTP service (`oneshot`, the real encoder), on a SQLite file and on a
//! fresh PostgreSQL database: RSRA from an author's history with no thread sent, the audit
//! log, moderators' feedback, the brand's replies, and forgetting (checked with SQL, not the
//! API). Then a store that is down (decisions still answered) and one that is off.

mod common;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request};
use axum::Router;
use common::app::{call, get, post, ready_app_with_store, Answer};
use serde_json::{json, Value};
use sqlx::{AnyConnection, Connection, Row};
use std::sync::Arc;
use std::time::Duration;
use tact::serve::ServeConfig;
use tact::store::{Location, Retention, Store};

const KEY: &str = "store-serve-key";
const AUTHOR: &str = "author-zq-4711";
const COMPLAINT: &str = "My order 5531 never arrived, third time I write!";
const HOSTILE: &str = "Still nothing. Typical, you are hopeless.";
const BRAND_REPLY: &str = "We are sorry: a courier brings it tomorrow morning.";
const SENT_REPLY: &str = "A new parcel left our warehouse today, tracking in your inbox.";

fn config() -> ServeConfig {
    ServeConfig {
        api_key: Some(KEY.to_string()),
        ..ServeConfig::default()
    }
}

fn with_key(mut request: Request<Body>) -> Request<Body> {
    let bearer = HeaderValue::from_str(&format!("Bearer {KEY}")).unwrap();
    request.headers_mut().insert(header::AUTHORIZATION, bearer);
    request
}

fn delete(path: &str) -> Request<Body> {
    Request::delete(path).body(Body::empty()).unwrap()
}

/// Each store route, as a request without the key.
fn store_routes(decision_id: &str) -> Vec<Request<Body>> {
    let feedback = json!({"decision_id": decision_id, "verdict": "accepted"});
    vec![
        get(&format!("/v1/authors/{AUTHOR}")),
        delete(&format!("/v1/authors/{AUTHOR}")),
        get(&format!("/v1/decisions/{decision_id}")),
        post("/v1/feedback", feedback.to_string()),
        post("/v1/replies", json!({"author_id": AUTHOR}).to_string()),
    ]
}

/// A decision answered 200.
async fn decide(app: &Router, comment: Value) -> Value {
    let answer = call(app, with_key(post("/v1/decide", comment.to_string()))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

async fn feedback(app: &Router, body: Value) -> Answer {
    call(app, with_key(post("/v1/feedback", body.to_string()))).await
}

/// An app on a fresh store that keeps texts (so forgetting has texts to blank).
async fn app_on(location: Location) -> Router {
    let retention = Retention {
        store_text: true,
        ..Retention::default()
    };
    let store = Store::open(location, retention).await.unwrap();
    ready_app_with_store(config(), Some(Arc::new(store)))
        .await
        .1
}

#[tokio::test]
async fn the_store_routes_remember_answer_and_forget_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tact.db");
    let app = app_on(Location::Sqlite(path.clone())).await;
    remember_answer_and_forget(&app, &format!("sqlite://{}", path.display())).await;
}

#[tokio::test]
async fn the_store_routes_remember_answer_and_forget_on_postgres() {
    let Some(url) = common::postgres::fresh_database().await else {
        return;
    };
    let app = app_on(Location::Postgres(url.clone())).await;
    remember_answer_and_forget(&app, &url).await;
}

/// The whole life of one author's history, through the API; `database` is the store's URL,
/// for the checks made with SQL.
async fn remember_answer_and_forget(app: &Router, database: &str) {
    let info = call(app, with_key(get("/v1/info"))).await.json();
    let backend = database.split(':').next().unwrap();
    assert_eq!(info["store"]["backend"], backend, "{}", info["store"]);
    let (complaint, hostile) = rsra_from_history(app).await;
    audit_log_and_feedback(app, &complaint, &hostile).await;
    let answer = call(app, with_key(get(&format!("/v1/authors/{AUTHOR}")))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let author = answer.json();
    // Two comments; two answers (the reply posted, the reply reported sent); the hostile one
    // came after an answer.
    for (count, n) in [
        ("comments", 2),
        ("brand_answers", 2),
        ("follow_ups", 1),
        ("hostile_follow_ups", 1),
    ] {
        assert_eq!(author[count], n, "{count}: {author}");
    }
    assert_eq!(author["recent_decisions"].as_array().unwrap().len(), 2);
    assert_eq!(author["recent_replies"].as_array().unwrap().len(), 2);
    assert!(
        author["actions"].to_string().contains("\"wait\""),
        "{author}"
    );
    for request in store_routes(&hostile) {
        call(app, request).await.error(401, "unauthorized");
    }
    forget_and_check_with_sql(app, database, &[complaint, hostile]).await;
}

/// The complaint, the brand's reply through the API, then the author's hostile follow-up with
/// no thread: RSRA fires from the stored history. Returns both decision ids.
async fn rsra_from_history(app: &Router) -> (String, String) {
    let first = decide(
        app,
        json!({"id": "cmt-zq-1", "author_id": AUTHOR, "text": COMPLAINT, "lang": "en"}),
    )
    .await;
    assert!(first.get("history").is_none(), "{first}");
    let complaint = first["decision_id"].as_str().unwrap().to_string();
    let reply = json!({"author_id": AUTHOR, "comment_id": "cmt-zq-1", "text": BRAND_REPLY});
    for recorded in [true, false] {
        let answer = call(app, with_key(post("/v1/replies", reply.to_string()))).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(answer.json()["recorded"], recorded, "{}", answer.text);
    }
    let second = decide(
        app,
        json!({"id": "cmt-zq-2", "author_id": AUTHOR, "text": HOSTILE, "lang": "en"}),
    )
    .await;
    assert_eq!(second["action"], "wait", "{second}");
    assert_eq!(second["rule"], "rsra-wait", "{second}");
    let reasons = second["reasons"].as_array().unwrap();
    assert!(
        reasons
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("author history")),
        "{second}"
    );
    let hostile = second["decision_id"].as_str().unwrap().to_string();
    assert_ne!(hostile, complaint);
    (complaint, hostile)
}

/// The audit-log entries, and each verdict and its errors.
async fn audit_log_and_feedback(app: &Router, complaint: &str, hostile: &str) {
    let accepted = json!({"decision_id": complaint, "verdict": "accepted", "moderator": "ana"});
    for recorded in [true, false] {
        let answer = feedback(app, accepted.clone()).await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        assert_eq!(answer.json()["recorded"], recorded, "{}", answer.text);
    }
    let overridden = json!({"decision_id": hostile, "verdict": "overridden",
        "action": "escalate", "intent": "complaint"});
    assert_eq!(feedback(app, overridden).await.status, 201);
    let sent = json!({"decision_id": complaint, "verdict": "reply_sent", "reply": SENT_REPLY});
    assert_eq!(feedback(app, sent).await.status, 201);
    let no_action = json!({"decision_id": hostile, "verdict": "overridden"});
    let why = feedback(app, no_action).await.error(422, "invalid_input");
    assert!(why.starts_with("action"), "{why}");
    let unknown = json!({"decision_id": "d-000000000000000000000000", "verdict": "accepted"});
    feedback(app, unknown).await.error(404, "not_found");
    let extra = json!({"decision_id": complaint, "verdict": "accepted", "mood": "fine"});
    let why = feedback(app, extra).await.error(422, "invalid_input");
    assert!(why.contains("mood"), "{why}");

    let answer = call(app, with_key(get(&format!("/v1/decisions/{hostile}")))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let entry = answer.json();
    assert_eq!(entry["decision_id"], hostile);
    assert_eq!(entry["origin"], "http");
    assert_eq!(entry["author_id"], AUTHOR);
    assert_eq!(entry["comment_id"], "cmt-zq-2");
    assert_eq!(entry["text"], HOSTILE);
    assert_eq!(entry["decision"]["rule"], "rsra-wait", "{entry}");
    let verdicts = entry["feedback"].as_array().unwrap();
    assert_eq!(verdicts.len(), 1, "{entry}");
    assert_eq!(verdicts[0]["verdict"], "overridden");
    assert_eq!(verdicts[0]["action"], "escalate");
    let answer = call(app, with_key(get(&format!("/v1/decisions/{complaint}")))).await;
    assert_eq!(answer.json()["feedback"].as_array().unwrap().len(), 2);
    let missing = call(
        app,
        with_key(get("/v1/decisions/d-000000000000000000000000")),
    )
    .await;
    missing.error(404, "not_found");
}

/// DELETE /v1/authors/{id}, then the database itself: no row names the author or holds
/// their texts, and the brand's replies to them are gone; the decisions stay, anonymous.
async fn forget_and_check_with_sql(app: &Router, database: &str, decisions: &[String]) {
    let answer = call(app, with_key(delete(&format!("/v1/authors/{AUTHOR}")))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let forgotten = &answer.json()["forgotten"];
    let expected = json!({"history": 1, "decisions": 2, "texts": 2, "replies": 2, "feedback": 3});
    assert_eq!(forgotten, &expected);
    let again = call(app, with_key(get(&format!("/v1/authors/{AUTHOR}")))).await;
    again.error(404, "not_found");

    sqlx::any::install_default_drivers();
    let mut db = AnyConnection::connect(database).await.unwrap();
    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql);
    assert_eq!(
        count("SELECT COUNT(*) FROM replies")
            .fetch_one(&mut db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM authors")
            .fetch_one(&mut db)
            .await
            .unwrap(),
        0
    );
    let labels = count("SELECT COUNT(*) FROM author_labels");
    assert_eq!(labels.fetch_one(&mut db).await.unwrap(), 0);
    let kept = count("SELECT COUNT(*) FROM decisions");
    assert_eq!(kept.fetch_one(&mut db).await.unwrap(), 2);
    // Every text column of every row that is left: none holds the author, a comment id or a text.
    let personal = [
        AUTHOR,
        "cmt-zq-",
        COMPLAINT,
        HOSTILE,
        BRAND_REPLY,
        SENT_REPLY,
    ];
    for sql in [
        "SELECT decision_id, comment_id, author_id, decision, text FROM decisions",
        "SELECT feedback_id, decision_id, author_id, reply_text, moderator FROM feedback",
    ] {
        let rows = sqlx::query(sql).fetch_all(&mut db).await.unwrap();
        assert!(!rows.is_empty(), "{sql}");
        for row in rows {
            for column in 0..row.len() {
                let value: Option<String> = row.try_get(column).unwrap();
                let value = value.unwrap_or_default();
                assert!(
                    !personal.iter().any(|p| value.contains(p)),
                    "{sql}: column {column} still holds {value:?}"
                );
            }
        }
    }
    for blanked in [
        "SELECT COUNT(*) FROM decisions WHERE author_id IS NOT NULL OR comment_id IS NOT NULL \
         OR text IS NOT NULL OR text_expires_at IS NOT NULL",
        "SELECT COUNT(*) FROM feedback WHERE author_id IS NOT NULL OR reply_text IS NOT NULL",
    ] {
        assert_eq!(
            count(blanked).fetch_one(&mut db).await.unwrap(),
            0,
            "{blanked}"
        );
    }
    let ids = count("SELECT COUNT(*) FROM decisions WHERE decision_id = $1 OR decision_id = $2");
    let ids = ids.bind(&decisions[0]).bind(&decisions[1]);
    assert_eq!(
        ids.fetch_one(&mut db).await.unwrap(),
        2,
        "the audit log keeps both"
    );
    db.close().await.unwrap();
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_store_that_is_down_leaves_decisions_standing_and_its_routes_answer_503() {
    let url = format!("postgres://tact@127.0.0.1:{}/tact", closed_port());
    let store = Store::connect_lazy(Location::Postgres(url), Retention::default()).unwrap();
    let config = ServeConfig {
        store_timeout: Duration::from_millis(300),
        ..config()
    };
    let (_, app) = ready_app_with_store(config, Some(Arc::new(store))).await;
    let decision = decide(
        &app,
        json!({"id": "cmt-zq-9", "author_id": AUTHOR, "text": COMPLAINT, "lang": "en"}),
    )
    .await;
    assert_eq!(decision["history"], "unavailable", "{decision}");
    assert!(decision["action"].is_string(), "{decision}");
    let metrics = call(&app, with_key(get("/metrics"))).await.text;
    let unavailable: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("tact_store_unavailable_total{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(unavailable > 0.0, "{metrics}");
    // Together: each waits for the pool to give up on the server.
    let calls = store_routes(decision["decision_id"].as_str().unwrap_or("d-0"))
        .into_iter()
        .map(|request| {
            let app = app.clone();
            tokio::spawn(async move { call(&app, with_key(request)).await })
        });
    for answer in calls.collect::<Vec<_>>() {
        answer.await.unwrap().error(503, "store_unavailable");
    }
}

#[tokio::test]
async fn with_the_store_off_its_routes_answer_503_store_off() {
    let (_, app) = ready_app_with_store(config(), None).await;
    let decision = decide(
        &app,
        json!({"id": "cmt-zq-8", "author_id": AUTHOR, "text": COMPLAINT, "lang": "en"}),
    )
    .await;
    assert!(decision.get("decision_id").is_none(), "{decision}");
    assert!(decision.get("history").is_none(), "{decision}");
    for request in store_routes("d-000000000000000000000000") {
        call(&app, with_key(request)).await.error(503, "store_off");
    }
    // Their bodies are read as decide's are: a compressed one is refused before anything else.
    let mut gzipped = post("/v1/replies", r#"{"author_id": "u-1"}"#);
    gzipped
        .headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    call(&app, with_key(gzipped))
        .await
        .error(415, "unsupported_encoding");
}
