//! The HTTP layer: routes, handlers and middleware. [`app`] builds the one router that
//! `tact serve` listens with and the tests call with `oneshot`.
//!
//! A decide or classify request goes: body → [`CommentsRequest`] (input.rs) → one call into
//! the engine (engine.rs: admission, tokenising, the queue, the model thread, the playbook) →
//! JSON with timing headers. Everything around it — auth, the timeout, metrics,
//! logs, panics, unknown routes — answers in the same JSON error shape ([`AppError`]).

use super::api::{
    Classification, ClassifyResponse, CommentsRequest, DecideResponse, ErrorBody, Info, LabelSets,
    Limits, ModelInfo, PolicyInfo, Status, StoreInfo,
};
use super::engine::Timing;
use super::error::AppError;
use super::input::CommentsBody;
use super::{docs_page, lint_route, openapi, review, store_routes, AppState};
use crate::classify::Backend;
use crate::labels::{Action, Intent, Lang, Sentiment};
use crate::playbook::ScoreTable;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tower_http::catch_panic::CatchPanicLayer;

/// The encoder every tact model runs on.
const ENCODER: &str = "multilingual-e5-small (Q4_0)";

pub fn app(state: AppState) -> Router {
    let protected = Router::new()
        .route("/v1/decide", post(decide))
        .route("/v1/classify", post(classify))
        .route("/v1/lint", post(lint_route::lint))
        .route("/v1/info", get(info))
        .route(
            "/v1/authors/{author_id}",
            get(store_routes::author).delete(store_routes::forget),
        )
        .route("/v1/decisions/{decision_id}", get(store_routes::decision))
        .route("/v1/feedback", post(store_routes::feedback))
        .route("/v1/replies", post(store_routes::reply))
        .route("/v1/queue", get(review::queue))
        .route("/v1/figures", get(review::figures))
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            require_api_key,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(docs))
        .route("/", get(review::page))
        .route("/ui", get(review::page))
        .route("/ui/app.js", get(review::script))
        .route("/ui/app.css", get(review::style))
        .merge(protected)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.config().max_body_bytes))
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal("the request handler panicked".to_string()).into_response()
        }))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Times out the request, counts it in the metrics and logs it (never its body).
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let method = request.method().clone();
    let timeout = state.config().request_timeout;
    // Dropping the handler's future on timeout also abandons its queued comments.
    let response = match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::Timeout(timeout).into_response(),
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.0.metrics.record_request(&route, status, elapsed);
    tracing::info!(
        %method,
        route,
        status,
        ms = format_args!("{:.1}", elapsed.as_secs_f64() * 1000.0),
        "request"
    );
    response
}

async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, AppError> {
    if let Some(key) = &state.config().api_key {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        if !given.is_some_and(|token| same_secret(token.as_bytes(), key.as_bytes())) {
            return Err(AppError::Unauthorized);
        }
    }
    Ok(next.run(request).await)
}

/// Compares without stopping at the first difference, so timing does not reveal the key.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn not_found(uri: Uri) -> AppError {
    AppError::NotFound(uri.path().to_string())
}

async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    AppError::MethodNotAllowed {
        method: method.to_string(),
        path: uri.path().to_string(),
    }
}

/// The timing headers (milliseconds), and `x-tact-warning` when there is a warning.
fn headers(timing: &Timing, warning: Option<String>) -> HeaderMap {
    let ms = |d: Duration| {
        HeaderValue::from_str(&format!("{:.3}", d.as_secs_f64() * 1000.0))
            .expect("a number is a valid header value")
    };
    let mut headers = HeaderMap::new();
    for (name, duration) in [
        ("x-tokenization-time", timing.tokenization),
        ("x-queue-time", timing.queue),
        ("x-inference-time", timing.inference),
        ("x-total-time", timing.started.elapsed()),
    ] {
        headers.insert(HeaderName::from_static(name), ms(duration));
    }
    // Field names come from the client: keep what a header can carry.
    if let Some(value) = warning.and_then(|w| HeaderValue::from_str(&w).ok()) {
        headers.insert(HeaderName::from_static("x-tact-warning"), value);
    }
    headers
}

/// Decide what to do with one comment, or a batch.
///
/// Comments from concurrent requests share forward passes, so many clients sending one
/// comment each cost about what one client sending them all does. A comment longer than the
/// token limit is decided on its beginning (`truncated: true`).
#[utoipa::path(
    post,
    path = "/v1/decide",
    tag = "moderation",
    params(DecideParams),
    request_body(content = CommentsRequest, examples(
        ("one comment" = (value = json!({"id": "c-1", "text": "Comanda 5531 nu a ajuns nici azi, e a treia oară când vă scriu!", "lang": "ro"}))),
        ("a batch" = (value = json!({"comments": [
            {"id": "c-1", "text": "Do you deliver to Cluj on Sundays?"},
            {"id": "c-2", "text": "Пожалуйста, верните деньги, заказ так и не пришёл.",
             "thread": [{"text": "Где мой заказ?", "from_brand": false},
                        {"text": "Напишите нам номер заказа в личные сообщения.", "from_brand": true}]}
        ]})))
    )),
    responses(
        (status = 200, description = "One decision, or `{\"decisions\": [...]}` in the order of the comments", body = DecideResponse, headers(
            ("x-tokenization-time" = String, description = "Milliseconds spent detecting languages and tokenising"),
            ("x-queue-time" = String, description = "Milliseconds the longest-waiting comment queued"),
            ("x-inference-time" = String, description = "Milliseconds of the longest forward pass"),
            ("x-total-time" = String, description = "Milliseconds from the body read to the answer"),
            ("x-tact-warning" = String, description = "Present when the body had fields tact does not know, which were ignored: `unknown fields ignored: comments[0].lnag`"))),
        (status = 400, description = "Malformed JSON or invalid UTF-8", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 422, description = "Missing, empty or ill-typed field, or too many comments", body = ErrorBody),
        (status = 429, description = "Queue full; see Retry-After", body = ErrorBody, headers(("retry-after" = u64, description = "Seconds"))),
        (status = 503, description = "Model not ready, or shutting down", body = ErrorBody),
        (status = 504, description = "The request timed out", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
pub async fn decide(
    State(state): State<AppState>,
    params: Result<Query<DecideParams>, QueryRejection>,
    body: CommentsBody,
) -> Result<Response, AppError> {
    let Query(params) = params.map_err(|e| AppError::InvalidInput(e.body_text()))?;
    let warning = body.warning();
    let (comments, batch) = body.request.into_comments();
    let (mut decisions, timing) = state
        .engine()
        .decide(comments, params.record.unwrap_or(true))
        .await?;
    let body = match batch {
        true => DecideResponse::Batch { decisions },
        false => DecideResponse::One(Box::new(decisions.remove(0))),
    };
    Ok((headers(&timing, warning), Json(body)).into_response())
}

/// `POST /v1/decide` parameters.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DecideParams {
    /// `false`: decide without recording in the store (the page's "try the policy"); the
    /// author's history is still read.
    record: Option<bool>,
}

/// Score one comment, or a batch: intent, sentiment and abusive probabilities, no decision.
#[utoipa::path(
    post,
    path = "/v1/classify",
    tag = "moderation",
    request_body(content = CommentsRequest, example = json!({"text": "Super fast delivery, thank you!"})),
    responses(
        (status = 200, description = "One classification, or `{\"classifications\": [...]}` in order", body = ClassifyResponse),
        (status = 400, description = "Malformed JSON or invalid UTF-8", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 422, description = "Missing, empty or ill-typed field, or too many comments", body = ErrorBody),
        (status = 429, description = "Queue full; see Retry-After", body = ErrorBody),
        (status = 503, description = "Model not ready, or shutting down", body = ErrorBody),
        (status = 504, description = "The request timed out", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
pub async fn classify(
    State(state): State<AppState>,
    body: CommentsBody,
) -> Result<Response, AppError> {
    let warning = body.warning();
    let (comments, batch) = body.request.into_comments();
    let (inferred, timing) = state.engine().classify(comments).await?;
    let mut classifications: Vec<Classification> = inferred
        .into_iter()
        .map(|i| Classification {
            id: i.prepared.comment.id,
            lang: i.prepared.lang,
            scores: ScoreTable::from_scores(&i.classified.scores),
            tokens: i.classified.tokens,
            truncated: i.classified.truncated,
        })
        .collect();
    let body = match batch {
        true => ClassifyResponse::Batch { classifications },
        false => ClassifyResponse::One(classifications.remove(0)),
    };
    Ok((headers(&timing, warning), Json(body)).into_response())
}

/// The process is up (says nothing of the model: see /ready).
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, description = "Up", body = Status, example = json!({"status": "ok"}))))]
pub async fn health() -> Json<Status> {
    Json(Status {
        status: "ok".to_string(),
    })
}

/// The model is loaded and warmed up, and the server is not shutting down.
#[utoipa::path(get, path = "/ready", tag = "operations", responses(
    (status = 200, description = "Ready", body = Status, example = json!({"status": "ready"})),
    (status = 503, description = "Loading, failed, or shutting down", body = ErrorBody)))]
pub async fn ready(State(state): State<AppState>) -> Result<Json<Status>, AppError> {
    state.engine().admit()?;
    Ok(Json(Status {
        status: "ready".to_string(),
    }))
}

/// What is serving: model, heads card, labels, policy digest and limits.
#[utoipa::path(get, path = "/v1/info", tag = "operations", responses(
    (status = 200, description = "What is serving", body = Info),
    (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    (status = 503, description = "Model not ready, or shutting down", body = ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn info(State(state): State<AppState>) -> Result<Json<Info>, AppError> {
    let pipeline = state.engine().admit()?;
    let encoder = pipeline.classifier.encoder_info();
    let config = state.config();
    Ok(Json(Info {
        version: env!("CARGO_PKG_VERSION").to_string(),
        model: ModelInfo {
            encoder: ENCODER.to_string(),
            weight_format: encoder.weight_format,
            cpu_tier: encoder.cpu_tier,
            hidden_size: encoder.hidden_size,
            max_tokens: encoder.max_tokens,
        },
        heads: pipeline.classifier.heads().card.clone(),
        labels: LabelSets {
            intent: Intent::ALL.to_vec(),
            sentiment: Sentiment::ALL.to_vec(),
            action: Action::ALL.to_vec(),
            lang: Lang::ALL.to_vec(),
        },
        policy: PolicyInfo {
            digest: pipeline.playbook.policy().digest(),
            source: config.policy_source.clone(),
        },
        limits: Limits {
            max_comments: config.max_comments,
            max_body_bytes: config.max_body_bytes,
            max_queue: config.max_queue,
            max_queue_wait_ms: config.max_queue_wait.as_millis() as u64,
            max_batch_size: config.max_batch_size,
            max_batch_tokens: config.max_batch_tokens,
            request_timeout_ms: config.request_timeout.as_millis() as u64,
            api_key_required: config.api_key.is_some(),
        },
        store: state.store().ok().map(|store| StoreInfo {
            backend: store.backend().to_string(),
            location: store.location().describe(),
            store_text: store.retention().store_text,
            retention_days: store.retention().keep_text.as_secs() / 86_400,
        }),
    }))
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Requests by route and status, queue depth, batch sizes, tokenisation / queue / inference time histograms", content_type = "application/openmetrics-text", body = String),
    (status = 401, description = "Missing or wrong API key", body = ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = &state.0.metrics;
    metrics.queue_depth.set(state.engine().queue_depth() as i64);
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
        .into_response()
}

fn openapi_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        serde_json::to_string_pretty(&openapi::document()).expect("the document serialises")
    })
}

/// This API's OpenAPI 3.1 document, generated from the request and response types.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], openapi_text()).into_response()
}

/// This API's documentation, as a web page.
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, description = "HTML", content_type = "text/html", body = String)))]
pub async fn docs() -> Html<&'static str> {
    static PAGE: OnceLock<String> = OnceLock::new();
    Html(PAGE.get_or_init(|| docs_page::render(&openapi::document())))
}
