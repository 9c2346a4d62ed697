//! The routes behind the moderators' page (`oneshot`, the real encoder, a SQLite store): the
//! page is served without the key and holds no comment, the queue and the figures need the
//! key, their parameters are checked, a verdict takes an item out of the queue, and a decision
//! tried with `?record=false` is not recorded.

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use common::app::{call, get, post, ready_app_with_store};
use serde_json::{json, Value};
use std::sync::Arc;
use tact::playbook::Priority;
use tact::serve::ServeConfig;
use tact::store::{Location, Retention, Store};

const KEY: &str = "review-api-key";

fn with_key(mut request: Request<Body>) -> Request<Body> {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {KEY}").parse().unwrap(),
    );
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_serves_the_page_and_takes_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let retention = Retention {
        store_text: true,
        ..Retention::default()
    };
    let store = Store::open(Location::Sqlite(dir.path().join("t.db")), retention)
        .await
        .unwrap();
    let config = ServeConfig {
        api_key: Some(KEY.to_string()),
        ..ServeConfig::default()
    };
    let (_, app) = ready_app_with_store(config, Some(Arc::new(store))).await;

    // The page and its assets: no key, no data, a strict content policy.
    for (path, kind) in [
        ("/", "text/html"),
        ("/ui", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
    ] {
        let answer = call(&app, get(path)).await;
        assert_eq!(answer.status, 200, "{path}");
        let content_type = answer.headers[header::CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        let policy = answer.headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(policy.contains("script-src 'self'"), "{policy}");
    }
    for path in ["/v1/queue", "/v1/figures"] {
        call(&app, get(path)).await.error(401, "unauthorized");
    }

    let comments = json!({"comments": [
        {"id": "c-complaint", "author_id": "u-1", "text": "My order 5531 never arrived, third time I write!"},
        {"id": "c-praise", "author_id": "u-2", "text": "Thank you, super fast delivery!",
         "thread": [{"text": "Is my parcel on its way?", "from_brand": false},
                    {"text": "Yes, it arrives today.", "from_brand": true}]},
        {"id": "c-spam", "text": "Buy cheap followers now at spam.example, 1000 for 1$"}
    ]});
    let decided = call(&app, with_key(post("/v1/decide", comments.to_string()))).await;
    assert_eq!(decided.status, 200, "{}", decided.text);
    let decisions = decided.json()["decisions"].as_array().unwrap().clone();
    let queue = call(&app, with_key(get("/v1/queue"))).await;
    assert_eq!(queue.status, 200, "{}", queue.text);
    let queue = queue.json();
    let items = queue["items"].as_array().unwrap();
    let in_queue: Vec<&str> = items
        .iter()
        .map(|i| i["comment_id"].as_str().unwrap())
        .collect();
    // Each of the three waits for a person: a reply to send, or spam hidden pending review.
    assert_eq!(in_queue.len(), 3, "{queue}");
    let ranks: Vec<Priority> = items
        .iter()
        .map(|i| serde_json::from_value(i["decision"]["priority"].clone()).unwrap())
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] >= w[1]),
        "by priority: {ranks:?}"
    );
    let praise = items
        .iter()
        .find(|i| i["comment_id"] == "c-praise")
        .unwrap();
    assert_eq!(praise["text"], "Thank you, super fast delivery!");
    assert_eq!(praise["thread"][1]["from_brand"], true);

    // Filters and their errors.
    let only_u1 = call(&app, with_key(get("/v1/queue?author=u-1")))
        .await
        .json();
    assert_eq!(only_u1["items"].as_array().unwrap().len(), 1);
    let action = decisions[2]["action"].as_str().unwrap();
    let by_action = call(
        &app,
        with_key(get(&format!("/v1/queue?action={action}&lang=en"))),
    )
    .await
    .json();
    assert!(by_action["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["decision"]["action"] == action));
    for (query, field) in [
        ("lang=xx", "lang"),
        ("limit=0", "limit"),
        ("days=1000", "days"),
        ("action=shout", "action"),
        ("colour=red", "colour"),
    ] {
        let message = call(&app, with_key(get(&format!("/v1/queue?{query}"))))
            .await
            .error(422, "invalid_input");
        assert!(message.contains(field), "{query}: {message}");
    }
    call(&app, with_key(get("/v1/figures?hours=0")))
        .await
        .error(422, "invalid_input");

    // A verdict takes the item out, and the figures count it.
    let first = items[0]["decision_id"].as_str().unwrap();
    let verdict = json!({"decision_id": first, "verdict": "overridden", "action": "escalate"});
    let given = call(&app, with_key(post("/v1/feedback", verdict.to_string()))).await;
    assert_eq!(given.status, 201, "{}", given.text);
    let after = call(&app, with_key(get("/v1/queue"))).await.json();
    let left: Vec<&str> = after["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["decision_id"].as_str().unwrap())
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&first));
    let figures = call(&app, with_key(get("/v1/figures"))).await.json();
    assert_eq!(figures["decided"], 3, "{figures}");
    assert_eq!(figures["reviewed"], 1, "{figures}");
    let overridden: Vec<&Value> = figures["by_action"].as_array().unwrap().iter().collect();
    assert_eq!(overridden.len(), 1);
    assert_eq!(overridden[0]["overridden"], 1);

    // Trying the policy records nothing.
    let tried = call(
        &app,
        with_key(post(
            "/v1/decide?record=false",
            json!({"id": "c-try", "author_id": "u-9", "text": "Where is my refund?"}).to_string(),
        )),
    )
    .await;
    assert_eq!(tried.status, 200, "{}", tried.text);
    assert!(tried.json().get("decision_id").is_none(), "{}", tried.text);
    let figures = call(&app, with_key(get("/v1/figures"))).await.json();
    assert_eq!(figures["decided"], 3, "nothing recorded: {figures}");
    call(&app, with_key(get("/v1/authors/u-9")))
        .await
        .error(404, "not_found");
    let message = call(
        &app,
        with_key(post(
            "/v1/decide?record=maybe",
            json!({"text": "hi"}).to_string(),
        )),
    )
    .await
    .error(422, "invalid_input");
    assert!(message.contains("record"), "{message}");
}
