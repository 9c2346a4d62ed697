//! The HTTP service through `tower::ServiceExt::oneshot`: every route, every error, batching
//! and the shutdown and timeout paths, on the real encoder (heads: the committed ones, or
//! random ones of the same shape until trained heads are committed; no assertion here
//! depends on what the heads predict). The real-socket tests are in serve_socket.rs.

mod common;

use axum::http::{header, StatusCode};
use common::app::{call, default_app, get, post, ready_app};
use serde_json::{json, Value};
use std::time::Duration;
use tact::playbook::Policy;
use tact::serve::{app, AppState, ServeConfig};

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

const DECISION_KEYS: [&str; 18] = [
    "action",
    "channel",
    "confidence",
    "guideline",
    "id",
    "intent",
    "lang",
    "needs_review",
    "priority",
    "reasons",
    "reply",
    "respond_within_minutes",
    "responder",
    "rule",
    "scores",
    "sentiment",
    "tokens",
    "truncated",
];

#[tokio::test]
async fn decide_answers_one_comment_with_the_spec_decision_and_timing_headers() {
    let app = default_app().await;
    let answer = call(
        &app,
        post(
            "/v1/decide",
            json!({"id": "c-1", "text": "Comanda 5531 nu a ajuns nici azi!", "lang": "ro"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let decision = answer.json();
    assert_eq!(keys(&decision), DECISION_KEYS);
    assert_eq!(decision["id"], "c-1");
    assert_eq!(decision["lang"], "ro");
    assert_eq!(decision["truncated"], false);
    assert_eq!(decision["scores"]["intent"].as_object().unwrap().len(), 9);
    for name in [
        "x-tokenization-time",
        "x-queue-time",
        "x-inference-time",
        "x-total-time",
    ] {
        let ms: f64 = answer.headers[name].to_str().unwrap().parse().unwrap();
        assert!(ms >= 0.0, "{name}: {ms}");
    }
    let total: f64 = answer.headers["x-total-time"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let inference: f64 = answer.headers["x-inference-time"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        inference > 0.0 && inference <= total,
        "{inference} ms of {total} ms"
    );
}

#[tokio::test]
async fn decide_answers_a_batch_in_order_and_as_each_comment_alone() {
    let app = default_app().await;
    let comments = [
        "Do you deliver to Cluj on Sundays?",
        "Блендерът, който получих вчера, тече.",
        "Super fast delivery, thank you!",
        "Earn $500/day from home, DM me",
        "Они закрывают все магазины в следующем месяце и оставляют себе депозиты.",
    ];
    let batch: Vec<Value> = comments
        .iter()
        .enumerate()
        .map(|(i, text)| json!({"id": format!("c-{i}"), "text": text}))
        .collect();
    let answer = call(
        &app,
        post("/v1/decide", json!({ "comments": batch }).to_string()),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = answer.json();
    assert_eq!(keys(&body), ["decisions"]);
    let decisions = body["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), comments.len());
    for (i, (decision, comment)) in decisions.iter().zip(&batch).enumerate() {
        assert_eq!(decision["id"], format!("c-{i}"));
        let alone = call(&app, post("/v1/decide", comment.to_string()))
            .await
            .json();
        assert_eq!(decision["action"], alone["action"], "{comment}");
        assert_eq!(decision["rule"], alone["rule"], "{comment}");
        assert_eq!(decision["lang"], alone["lang"], "{comment}");
        // Padding is masked out, so a comment scores the same in any batch.
        let (a, b) = (
            decision["scores"]["abusive"].as_f64().unwrap(),
            alone["scores"]["abusive"].as_f64().unwrap(),
        );
        assert!((a - b).abs() < 2e-3, "{comment}: {a} vs {b}");
    }
    let langs: Vec<&str> = decisions
        .iter()
        .map(|d| d["lang"].as_str().unwrap())
        .collect();
    assert_eq!(langs, ["en", "bg", "en", "en", "ru"]);
}

#[tokio::test]
async fn classify_answers_scores_only() {
    let app = default_app().await;
    let one = call(
        &app,
        post(
            "/v1/classify",
            json!({"id": "x", "text": "Super fast delivery, thank you!"}).to_string(),
        ),
    )
    .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    let classification = one.json();
    assert_eq!(
        keys(&classification),
        ["id", "lang", "scores", "tokens", "truncated"]
    );
    assert_eq!(classification["id"], "x");
    let intent_sum: f64 = classification["scores"]["intent"]
        .as_object()
        .unwrap()
        .values()
        .map(|p| p.as_f64().unwrap())
        .sum();
    assert!((intent_sum - 1.0).abs() < 1e-3, "{intent_sum}");
    assert!(one.headers.contains_key("x-inference-time"));

    let batch = call(
        &app,
        post(
            "/v1/classify",
            json!({"comments": [{"text": "Mulțumesc frumos pentru livrare!"}, {"text": "Спасибо большое за быструю доставку!"}]})
                .to_string(),
        ),
    )
    .await
    .json();
    assert_eq!(keys(&batch), ["classifications"]);
    let langs: Vec<&str> = batch["classifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["lang"].as_str().unwrap())
        .collect();
    assert_eq!(langs, ["ro", "ru"]);
}

#[tokio::test]
async fn a_very_long_comment_is_decided_on_its_truncated_text() {
    let app = default_app().await;
    let text = "The blender I got yesterday leaks all over the counter. ".repeat(20_000);
    assert!(text.len() > 1_000_000);
    let answer = call(
        &app,
        post("/v1/decide", json!({ "text": text }).to_string()),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{}",
        &answer.text[..200.min(answer.text.len())]
    );
    let decision = answer.json();
    assert_eq!(decision["truncated"], true);
    assert_eq!(decision["tokens"], tact::classify::DEFAULT_MAX_TOKENS);
    // Read head and tail, and the reasons say so.
    let reasons: Vec<&str> = decision["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.starts_with("long text: read its first 64 and last 192 of ")),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn health_is_up_while_the_model_loads_and_ready_waits_for_it() {
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let model = common::pipeline();
    let state = AppState::start(ServeConfig::default(), None, move || {
        wait.recv().ok();
        Ok(model)
    })
    .unwrap();
    let app = app(state.clone());
    assert_eq!(
        call(&app, get("/health")).await.json(),
        json!({"status": "ok"})
    );
    let message = call(&app, get("/ready")).await.error(503, "not_ready");
    assert_eq!(message, "the model is not ready: loading the model");
    call(&app, post("/v1/decide", r#"{"text": "salut"}"#))
        .await
        .error(503, "not_ready");
    call(&app, get("/v1/info")).await.error(503, "not_ready");
    release.send(()).unwrap();
    state.until_ready().await.unwrap();
    assert_eq!(
        call(&app, get("/ready")).await.json(),
        json!({"status": "ready"})
    );
}

#[tokio::test]
async fn a_model_that_fails_to_load_keeps_ready_at_503_with_the_reason() {
    let state = AppState::start(ServeConfig::default(), None, || {
        anyhow::bail!("no weights in /nowhere")
    })
    .unwrap();
    assert_eq!(
        state.until_ready().await.unwrap_err(),
        "no weights in /nowhere"
    );
    let app = app(state);
    let message = call(&app, get("/ready")).await.error(503, "not_ready");
    assert!(message.contains("no weights in /nowhere"), "{message}");
    assert_eq!(call(&app, get("/health")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn info_reports_model_heads_labels_policy_and_limits() {
    let app = default_app().await;
    let answer = call(&app, get("/v1/info")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let info = answer.json();
    assert_eq!(
        keys(&info),
        ["heads", "labels", "limits", "model", "policy", "store", "version"]
    );
    assert!(info["store"].is_null(), "this app runs without a store");
    assert_eq!(info["policy"]["digest"], Policy::default_policy().digest());
    assert_eq!(info["policy"]["source"], "default");
    assert_eq!(
        info["model"]["max_tokens"],
        tact::classify::DEFAULT_MAX_TOKENS
    );
    assert_eq!(info["model"]["hidden_size"], 384);
    let int8 = info["model"]["weight_format"] == "int8";
    let tier = tact::model::CpuTier::detect();
    assert_eq!(
        info["model"]["cpu_tier"],
        if int8 {
            json!(tier.name())
        } else {
            json!(null)
        }
    );
    assert_eq!(info["heads"]["embedding_dim"], 384);
    assert_eq!(info["labels"]["lang"], json!(["ro", "bg", "ru", "en"]));
    assert_eq!(info["labels"]["intent"].as_array().unwrap().len(), 9);
    assert_eq!(info["labels"]["action"].as_array().unwrap().len(), 10);
    assert_eq!(info["limits"]["max_comments"], 64);
    assert_eq!(info["limits"]["request_timeout_ms"], 30_000);
    assert_eq!(info["limits"]["max_queue_wait_ms"], 1_000);
    assert_eq!(info["limits"]["api_key_required"], false);
}

#[tokio::test]
async fn metrics_count_requests_batches_and_times() {
    let app = default_app().await;
    call(
        &app,
        post("/v1/decide", r#"{"text": "Where is my order?"}"#),
    )
    .await;
    call(&app, post("/v1/decide", r#"{"text": ""}"#)).await;
    let answer = call(&app, get("/metrics")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    let text = answer.text;
    for line in [
        r#"tact_http_requests_total{route="/v1/decide",status="200"} 1"#,
        r#"tact_http_requests_total{route="/v1/decide",status="422"} 1"#,
        "tact_queue_depth 0",
        "tact_comments_total 1",
        "tact_batch_size_count 1",
        "tact_tokenization_duration_seconds_count 1",
        "tact_queue_duration_seconds_count 1",
        "tact_inference_duration_seconds_count 1",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}` in:\n{text}");
    }
    assert!(
        text.contains(r#"tact_http_request_duration_seconds_count{route="/v1/decide"} 2"#),
        "{text}"
    );
    assert!(text.contains("tact_batch_tokens_bucket"), "{text}");
}

#[tokio::test]
async fn concurrent_requests_share_forward_passes() {
    // However slow the machine, all 24 are admitted.
    let (_, app) = ready_app(ServeConfig {
        max_queue_wait: Duration::from_secs(60),
        ..ServeConfig::default()
    })
    .await;
    let texts: Vec<String> = (0..24)
        .map(|i| format!("Comanda {i} nu a ajuns, când vine?"))
        .collect();
    let requests = texts.iter().map(|text| {
        let app = app.clone();
        let body = json!({ "text": text }).to_string();
        tokio::spawn(async move { call(&app, post("/v1/decide", body)).await.status })
    });
    for request in requests.collect::<Vec<_>>() {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    let metrics = call(&app, get("/metrics")).await.text;
    let passes: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("tact_batch_size_count "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        passes < 24,
        "24 concurrent comments took {passes} forward passes"
    );
}

#[tokio::test]
async fn openapi_describes_every_route_and_the_decision() {
    let app = default_app().await;
    let doc = call(&app, get("/openapi.json")).await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(
        keys(&doc["paths"]),
        [
            "/docs",
            "/health",
            "/metrics",
            "/openapi.json",
            "/ready",
            "/v1/authors/{author_id}",
            "/v1/classify",
            "/v1/decide",
            "/v1/decisions/{decision_id}",
            "/v1/feedback",
            "/v1/figures",
            "/v1/info",
            "/v1/lint",
            "/v1/queue",
            "/v1/replies"
        ]
    );
    let schemas = &doc["components"]["schemas"];
    // The store adds two fields (absent with the store off, as in this app).
    let mut with_store: Vec<&str> = DECISION_KEYS.to_vec();
    with_store.extend(["decision_id", "history"]);
    with_store.sort();
    assert_eq!(keys(&schemas["Decision"]["properties"]), with_store);
    assert_eq!(schemas["Comment"]["required"], json!(["text"]));
    let decide = &doc["paths"]["/v1/decide"]["post"];
    for status in ["200", "400", "401", "413", "422", "429", "503", "504"] {
        assert!(decide["responses"][status].is_object(), "no {status}");
    }
    assert_eq!(
        decide["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/CommentsRequest"
    );
    let codes = schemas["ErrorDetail"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap();
    assert!(codes.contains(&json!("queue_full")));
}

#[tokio::test]
async fn docs_page_shows_every_route_with_an_example() {
    let app = default_app().await;
    let answer = call(&app, get("/docs")).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    for route in [
        "POST /v1/decide",
        "POST /v1/classify",
        "GET /v1/info",
        "GET /health",
        "GET /ready",
        "GET /metrics",
        "GET /openapi.json",
    ] {
        assert!(answer.text.contains(route), "{route}");
    }
    assert!(answer
        .text
        .contains("curl -s http://127.0.0.1:8080/v1/decide -H"));
    assert!(answer.text.contains("<code>queue_full</code>"));
}

#[tokio::test]
async fn malformed_json_and_invalid_utf8_are_400() {
    let app = default_app().await;
    let message = call(&app, post("/v1/decide", r#"{"text": "salut""#))
        .await
        .error(400, "invalid_json");
    assert!(
        message.starts_with("body: EOF while parsing an object"),
        "{message}"
    );
    call(&app, post("/v1/classify", ""))
        .await
        .error(400, "invalid_json");
    let message = call(
        &app,
        post("/v1/decide", b"{\"text\": \"caf\xe9\"}".to_vec()),
    )
    .await
    .error(400, "invalid_utf8");
    assert_eq!(message, "body: invalid UTF-8 at byte 13");
}

#[tokio::test]
async fn missing_empty_or_ill_typed_fields_are_422_naming_the_field() {
    let app = default_app().await;
    for (route, body, message) in [
        ("/v1/decide", json!({"id": "c-1"}), "text: missing"),
        ("/v1/decide", json!({"text": " \n "}), "text: empty"),
        (
            "/v1/classify",
            json!({"text": ["a"]}),
            "text: expected a string, got an array",
        ),
        (
            "/v1/decide",
            json!({"comments": [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"lang": "ro"}]}),
            "comments[3].text: missing",
        ),
        (
            "/v1/decide",
            json!({"text": "a", "thread": [{"text": "b", "from_brand": "yes"}]}),
            "thread[0].from_brand: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "/v1/classify",
            json!({"comments": "a"}),
            "comments: expected an array of comments, got a string",
        ),
    ] {
        let got = call(&app, post(route, body.to_string()))
            .await
            .error(422, "invalid_input");
        assert_eq!(got, message, "{body}");
    }
}

#[tokio::test]
async fn too_many_comments_is_422() {
    let app = default_app().await;
    let comments: Vec<Value> = (0..65)
        .map(|i| json!({ "text": format!("c {i}") }))
        .collect();
    let message = call(
        &app,
        post("/v1/decide", json!({ "comments": comments }).to_string()),
    )
    .await
    .error(422, "too_many_comments");
    assert_eq!(message, "comments: 65 comments, at most 64 per request");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let (_, app) = ready_app(ServeConfig {
        max_body_bytes: 1024,
        ..ServeConfig::default()
    })
    .await;
    let body = json!({ "text": "a".repeat(2000) }).to_string();
    let message = call(&app, post("/v1/decide", body))
        .await
        .error(413, "body_too_large");
    assert_eq!(message, "body: larger than the limit of 1024 bytes");
}

#[tokio::test]
async fn a_full_queue_answers_429_with_retry_after() {
    let (_, app) = ready_app(ServeConfig {
        max_queue: 2,
        max_comments: 2,
        max_batch_size: 1,
        ..ServeConfig::default()
    })
    .await;
    let long = "The blender I got yesterday leaks all over the counter. ".repeat(40);
    let body = json!({"comments": [{"text": long}, {"text": long}]}).to_string();
    let requests: Vec<_> = (0..12)
        .map(|_| {
            let app = app.clone();
            let body = body.clone();
            tokio::spawn(async move { call(&app, post("/v1/decide", body)).await })
        })
        .collect();
    let mut refused = 0;
    for request in requests {
        let answer = request.await.unwrap();
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            refused += 1;
            let message = answer.error(429, "queue_full");
            assert!(message.starts_with("the queue is full"), "{message}");
            let retry: u64 = answer.headers[header::RETRY_AFTER]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
        } else {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        }
    }
    assert!(
        refused > 0,
        "12 requests of 2 long comments never filled a queue of 2"
    );
}

#[tokio::test]
async fn requests_while_shutting_down_get_503() {
    let (state, app) = ready_app(ServeConfig::default()).await;
    state.begin_shutdown();
    let answer = call(&app, post("/v1/decide", r#"{"text": "salut"}"#)).await;
    assert_eq!(answer.headers[header::CONNECTION], "close");
    answer.error(503, "shutting_down");
    call(&app, post("/v1/classify", r#"{"text": "salut"}"#))
        .await
        .error(503, "shutting_down");
    call(&app, get("/ready")).await.error(503, "shutting_down");
    assert_eq!(call(&app, get("/health")).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_over_the_timeout_is_504_and_its_queued_comments_are_dropped() {
    let (_, app) = ready_app(ServeConfig {
        request_timeout: Duration::from_secs(1),
        // So the comments wait past the timeout rather than expire first.
        max_queue_wait: Duration::from_secs(60),
        max_batch_size: 1,
        ..ServeConfig::default()
    })
    .await;
    // 64 comments of 256 tokens, one per forward pass: several seconds of work, tokenised in
    // a few milliseconds.
    let long = "Comanda a venit spartă și nimeni nu răspunde la telefon. ".repeat(40);
    let comments: Vec<Value> = (0..64).map(|_| json!({ "text": long })).collect();
    let message = call(
        &app,
        post("/v1/decide", json!({ "comments": comments }).to_string()),
    )
    .await
    .error(504, "timeout");
    assert_eq!(message, "the request took longer than 1000 ms");
    // The model finishes the pass it is in, then drops the rest rather than run it for nobody.
    let mut abandoned = 0;
    let mut metrics = String::new();
    for _ in 0..300 {
        metrics = call(&app, get("/metrics")).await.text;
        abandoned = metrics
            .lines()
            .find_map(|l| l.strip_prefix("tact_comments_abandoned_total "))
            .unwrap()
            .parse()
            .unwrap();
        if abandoned > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(abandoned > 0, "no queued comment was dropped:\n{metrics}");
}

#[tokio::test]
async fn the_api_key_guards_the_api_but_not_the_probes() {
    let (_, app) = ready_app(ServeConfig {
        api_key: Some("s3cret".to_string()),
        ..ServeConfig::default()
    })
    .await;
    let body = r#"{"text": "Where is my order?"}"#;
    let answer = call(&app, post("/v1/decide", body)).await;
    assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Bearer");
    answer.error(401, "unauthorized");
    for (path, key) in [
        ("/v1/decide", "Bearer wrong"),
        ("/v1/classify", "s3cret"),
        ("/v1/decide", "Basic s3cret"),
    ] {
        let mut request = post(path, body);
        request
            .headers_mut()
            .insert(header::AUTHORIZATION, key.parse().unwrap());
        call(&app, request).await.error(401, "unauthorized");
    }
    for authorization in ["Bearer s3cret", "bearer s3cret"] {
        let mut request = post("/v1/decide", body);
        request
            .headers_mut()
            .insert(header::AUTHORIZATION, authorization.parse().unwrap());
        assert_eq!(call(&app, request).await.status, StatusCode::OK);
    }
    call(&app, get("/metrics")).await.error(401, "unauthorized");
    call(&app, get("/v1/info")).await.error(401, "unauthorized");
    for open in ["/health", "/ready", "/openapi.json", "/docs"] {
        assert_eq!(call(&app, get(open)).await.status, StatusCode::OK, "{open}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let app = default_app().await;
    let message = call(&app, get("/v2/decide")).await.error(404, "not_found");
    assert_eq!(message, "no route /v2/decide");
    let answer = call(&app, get("/v1/decide")).await;
    assert_eq!(answer.headers[header::ALLOW], "POST");
    let message = answer.error(405, "method_not_allowed");
    assert_eq!(message, "GET is not allowed on /v1/decide");
}
