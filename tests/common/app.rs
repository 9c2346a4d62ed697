//! The HTTP app in process, called with `tower::ServiceExt::oneshot` on the real model.

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::Router;
use serde_json::Value;
use std::sync::Arc;
use tact::serve::{app, AppState, ServeConfig};
use tact::store::Store;
use tower::ServiceExt;

/// A ready app with the given limits (the model is shared; each app has its own queue,
/// model thread and metrics).
pub async fn ready_app(config: ServeConfig) -> (AppState, Router) {
    ready_app_with_store(config, None).await
}

/// A ready app that remembers through `store` (`None`: the store is off).
pub async fn ready_app_with_store(
    config: ServeConfig,
    store: Option<Arc<Store>>,
) -> (AppState, Router) {
    let model = super::pipeline();
    let state = AppState::start(config, store, move || Ok(model)).expect("the app starts");
    state.until_ready().await.expect("the model is ready");
    (state.clone(), app(state))
}

pub async fn default_app() -> Router {
    ready_app(ServeConfig::default()).await.1
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts this is the JSON error `code` with `status`, and returns its message.
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        let body = self.json();
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["error"],
            "{body}"
        );
        assert_eq!(body["error"]["code"], code, "{body}");
        body["error"]["message"].as_str().unwrap().to_string()
    }
}

pub async fn call(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

pub fn post(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

pub fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}
