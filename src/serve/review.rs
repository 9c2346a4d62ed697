//! The moderators' page: the review queue in the browser (`/` and `/ui`), its two assets
//! built into the binary, and the two routes it reads — `GET /v1/queue` (the decisions waiting
//! for a person) and `GET /v1/figures` (the last day's automation and override rates).
//!
//! The page itself holds no comment and is served without the API key; everything it shows
//! comes from routes behind the key, which the page keeps in the tab's session storage and
//! sends as a bearer token (never in a URL). Its clicks go through `POST /v1/feedback`.

use super::error::AppError;
use super::AppState;
use crate::labels::Action;
use crate::store::{now_ms, QueueFilter};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

const PAGE: &str = include_str!("page/index.html");
const SCRIPT: &str = include_str!("page/app.js");
const STYLE: &str = include_str!("page/app.css");

/// Items the queue returns by default, and at most.
const DEFAULT_ITEMS: usize = 500;
const MAX_ITEMS: usize = 1000;
/// How far back the queue looks by default, and at most.
const DEFAULT_DAYS: u32 = 7;
const MAX_DAYS: u32 = 90;

/// Everything the page loads comes from this server; nothing runs inline.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'none'; \
     frame-ancestors 'none'; base-uri 'none'";

pub async fn page() -> Response {
    asset(PAGE, "text/html; charset=utf-8")
}

pub async fn script() -> Response {
    asset(SCRIPT, "text/javascript; charset=utf-8")
}

pub async fn style() -> Response {
    asset(STYLE, "text/css; charset=utf-8")
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// `GET /v1/queue` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueParams {
    /// Only comments in this language (`ro`, `bg`, `ru`, `en`).
    lang: Option<String>,
    /// Only decisions with this action.
    #[param(value_type = Option<String>)]
    action: Option<Action>,
    /// Only decisions by this rule.
    rule: Option<String>,
    /// Only this author's comments.
    author: Option<String>,
    /// Items at most (default 500, at most 1000).
    limit: Option<usize>,
    /// How many days back (default 7, at most 90).
    days: Option<u32>,
}

#[utoipa::path(get, path = "/v1/queue", tag = "memory", params(QueueParams),
    responses(
        (status = 200, description = "`{\"items\": [...], \"more\": bool}`: the decisions waiting for a person (flagged for review, escalated, hidden, or a reply not yet sent, without a verdict), most urgent first: by priority, then by deadline (`due_at_ms`). Each item: `decision_id`, `decided_at`, `due_at_ms`, `comment_id`, `author_id`, `text` and `thread` (only with --store-text), `decision` (without its `scores`, which `GET /v1/decisions/{id}` has)", body = Object),
        (status = 401, description = "Missing or wrong API key", body = super::api::ErrorBody),
        (status = 422, description = "An unknown or ill-typed parameter", body = super::api::ErrorBody),
        (status = 503, description = "The store is off or unavailable", body = super::api::ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn queue(
    State(state): State<AppState>,
    params: Result<Query<QueueParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) = params.map_err(|e| AppError::InvalidInput(e.body_text()))?;
    let limit = bounded("limit", params.limit, DEFAULT_ITEMS, MAX_ITEMS)?;
    let days = bounded("days", params.days, DEFAULT_DAYS, MAX_DAYS)?;
    if let Some(lang) = &params.lang {
        lang.parse::<crate::labels::Lang>().map_err(|_| {
            AppError::InvalidInput(format!("lang: {lang:?} is not ro, bg, ru or en"))
        })?;
    }
    let filter = QueueFilter {
        since: now_ms() - i64::from(days) * 86_400_000,
        lang: params.lang,
        action: params.action,
        rule: params.rule.filter(|r| !r.is_empty()),
        author_id: params.author.filter(|a| !a.is_empty()),
        limit,
    };
    let mut queue = state.store()?.queue(&filter).await?;
    // The page shows labels, not the score tables (a third of each item); the audit log
    // (`GET /v1/decisions/{id}`) keeps them.
    for item in &mut queue.items {
        if let Some(decision) = item.decision.as_object_mut() {
            decision.remove("scores");
        }
    }
    Ok(Json(queue).into_response())
}

/// `GET /v1/figures` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FiguresParams {
    /// The period, in hours back from now (default 24, at most 2160).
    hours: Option<u32>,
}

#[utoipa::path(get, path = "/v1/figures", tag = "memory", params(FiguresParams),
    responses(
        (status = 200, description = "The period's figures: comments `decided`, `automated` (no review asked, not escalated), `reviewed` (given a verdict), their shares, and the override rate per action and per rule (`by_action`, `by_rule`: `{label, reviewed, overridden, rate}`, highest rate first)", body = Object),
        (status = 401, description = "Missing or wrong API key", body = super::api::ErrorBody),
        (status = 422, description = "An unknown or ill-typed parameter", body = super::api::ErrorBody),
        (status = 503, description = "The store is off or unavailable", body = super::api::ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn figures(
    State(state): State<AppState>,
    params: Result<Query<FiguresParams>, QueryRejection>,
) -> Result<Response, AppError> {
    let Query(params) = params.map_err(|e| AppError::InvalidInput(e.body_text()))?;
    let hours = bounded("hours", params.hours, 24, MAX_DAYS * 24)?;
    let since = now_ms() - i64::from(hours) * 3_600_000;
    Ok(Json(state.store()?.figures(since).await?).into_response())
}

/// The value given, or the default; zero and values over `max` are refused.
fn bounded<T>(name: &str, value: Option<T>, default: T, max: T) -> Result<T, AppError>
where
    T: PartialOrd + Default + std::fmt::Display + Copy,
{
    match value {
        None => Ok(default),
        Some(v) if v > T::default() && v <= max => Ok(v),
        Some(v) => Err(AppError::InvalidInput(format!(
            "{name}: {v}, give 1 to {max}"
        ))),
    }
}
