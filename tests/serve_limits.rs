//! What the service does with hostile or careless requests, through `oneshot` on the real
//! model: compressed bodies, fields it does not know, numbers no field can hold. The
//! socket-level limits (timeouts, the connection cap) are in serve_socket.rs; deadlines are
//! tested on the queue itself (src/serve/queue.rs), where time can be arranged.

mod common;

use axum::http::{header, Request, StatusCode};
use common::app::{call, default_app, post, ready_app};
use tact::serve::ServeConfig;

#[tokio::test]
async fn a_compressed_body_is_415_naming_the_encoding() {
    let app = default_app().await;
    let request = Request::post("/v1/decide")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "gzip")
        .body(axum::body::Body::from(vec![0x1f, 0x8b, 0x08, 0x00]))
        .unwrap();
    let message = call(&app, request).await.error(415, "unsupported_encoding");
    assert_eq!(
        message,
        "content-encoding: gzip is not supported; send the body uncompressed (identity)"
    );
    let identity = Request::post("/v1/decide")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_ENCODING, "identity")
        .body(axum::body::Body::from(r#"{"text": "salut"}"#))
        .unwrap();
    assert_eq!(call(&app, identity).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_fields_are_warned_of_or_refused_when_strict() {
    let body = r#"{"text": "Unde e comanda mea?", "lnag": "ro"}"#;
    let answer = call(&default_app().await, post("/v1/decide", body)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.headers["x-tact-warning"],
        "unknown fields ignored: lnag"
    );
    let known = call(
        &default_app().await,
        post("/v1/classify", r#"{"text": "a b"}"#),
    )
    .await;
    assert!(!known.headers.contains_key("x-tact-warning"));

    let (_, strict) = ready_app(ServeConfig {
        strict_fields: true,
        ..ServeConfig::default()
    })
    .await;
    let message = call(&strict, post("/v1/decide", body))
        .await
        .error(422, "invalid_input");
    assert_eq!(
        message,
        "lnag: unknown field (--strict-fields); a comment has id, text, lang, author_id, thread"
    );
}

#[tokio::test]
async fn a_number_too_large_for_its_field_names_the_field() {
    let app = default_app().await;
    let body = r#"{"comments": [{"text": "a"}, {"text": "b", "author_id": 1e999}]}"#;
    let message = call(&app, post("/v1/decide", body))
        .await
        .error(422, "invalid_input");
    assert!(
        message.starts_with("comments[1].author_id: number out of range"),
        "{message}"
    );
}
