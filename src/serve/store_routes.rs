//! The store's routes: an author's history (and forgetting it), an audit-log entry, a
//! moderator's verdict and the brand's replies. Each makes one call into the store; a store
//! that is off answers 503 `store_off`, one that fails 503 `store_unavailable`.

use super::api::ErrorBody;
use super::error::AppError;
use super::input::JsonBody;
use super::AppState;
use crate::labels::{Action, Intent, Sentiment};
use crate::store::{now_ms, reply_id, NewFeedback, NewReply, Verdict};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

/// Ids are the platform's: bounded so that a path or body cannot grow the store without limit.
const MAX_ID_BYTES: usize = 256;
const MAX_REPLY_BYTES: usize = 16 * 1024;

/// `POST /v1/feedback`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    /// The `decision_id` of the decision judged.
    pub decision_id: String,
    /// `accepted`, `overridden` (give `action`, and `intent` / `sentiment` if they were wrong
    /// too) or `reply_sent` (give `reply`, the text actually sent).
    #[schema(value_type = String, example = "overridden")]
    pub verdict: Verdict,
    #[schema(value_type = Option<String>)]
    pub action: Option<Action>,
    #[schema(value_type = Option<String>)]
    pub intent: Option<Intent>,
    #[schema(value_type = Option<String>)]
    pub sentiment: Option<Sentiment>,
    pub reply: Option<String>,
    /// Who gave the verdict (a moderator's handle).
    pub moderator: Option<String>,
}

/// `POST /v1/replies`: the brand answered an author.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    pub author_id: String,
    /// The comment answered.
    pub comment_id: Option<String>,
    /// The reply's own id, if the platform has one (otherwise made from the author, the
    /// comment and the text, so a retry is recorded once).
    pub reply_id: Option<String>,
    /// Kept only with `--store-text`.
    pub text: Option<String>,
}

#[utoipa::path(get, path = "/v1/authors/{author_id}", tag = "memory",
    params(("author_id" = String, Path, description = "The platform's id of the author")),
    responses(
        (status = 200, description = "What the store knows of the author: counts (comments, brand answers, follow-ups after an answer, hostile ones), actions and intents decided, the latest decisions and replies", body = Object),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "The store knows nothing of this author", body = ErrorBody),
        (status = 503, description = "The store is off or unavailable", body = ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn author(
    State(state): State<AppState>,
    Path(author_id): Path<String>,
) -> Result<Response, AppError> {
    check_id("author_id", &author_id)?;
    match state.store()?.author(&author_id).await? {
        Some(summary) => Ok(Json(summary).into_response()),
        None => Err(AppError::NotFound("no history of this author".to_string())),
    }
}

#[utoipa::path(delete, path = "/v1/authors/{author_id}", tag = "memory",
    params(("author_id" = String, Path, description = "The platform's id of the author")),
    responses(
        (status = 200, description = "Forgotten, in one transaction: `{\"forgotten\": {\"history\", \"decisions\", \"texts\", \"replies\", \"feedback\"}}` counts what was removed (decisions keep their scores, action and rule, without author, comment id or text)", body = Object),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 503, description = "The store is off or unavailable", body = ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn forget(
    State(state): State<AppState>,
    Path(author_id): Path<String>,
) -> Result<Response, AppError> {
    check_id("author_id", &author_id)?;
    let forgotten = state.store()?.forget(&author_id).await?;
    // Never the id: forgetting someone must not write them into the log.
    tracing::info!(
        decisions = forgotten.decisions,
        replies = forgotten.replies,
        "an author was forgotten"
    );
    Ok(Json(json!({ "forgotten": forgotten })).into_response())
}

#[utoipa::path(get, path = "/v1/decisions/{decision_id}", tag = "memory",
    params(("decision_id" = String, Path, description = "The `decision_id` a decision was returned with")),
    responses(
        (status = 200, description = "The audit-log entry: time, origin, model and policy versions, the decision as returned, the text (only with --store-text, until it expires) and the verdicts given on it", body = Object),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such decision", body = ErrorBody),
        (status = 503, description = "The store is off or unavailable", body = ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn decision(
    State(state): State<AppState>,
    Path(decision_id): Path<String>,
) -> Result<Response, AppError> {
    check_id("decision_id", &decision_id)?;
    match state.store()?.decision(&decision_id).await? {
        Some(stored) => Ok(Json(stored).into_response()),
        None => Err(AppError::NotFound(format!("no decision {decision_id}"))),
    }
}

#[utoipa::path(post, path = "/v1/feedback", tag = "memory",
    request_body(content = FeedbackRequest, example = json!({"decision_id": "d-3f1c0a9b2e4d5c6b7a8f9e0d", "verdict": "overridden", "action": "wait", "intent": "troll", "moderator": "ana"})),
    responses(
        (status = 201, description = "Recorded: `{\"feedback_id\", \"recorded\"}`; `recorded` is false when the same verdict was already in", body = Object),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "No such decision", body = ErrorBody),
        (status = 422, description = "A missing, unknown or ill-typed field, or an override without its action", body = ErrorBody),
        (status = 503, description = "The store is off or unavailable", body = ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn feedback(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<FeedbackRequest>,
) -> Result<Response, AppError> {
    check_id("decision_id", &request.decision_id)?;
    let wants = |ok: bool, why: &str| {
        ok.then_some(())
            .ok_or_else(|| AppError::InvalidInput(why.into()))
    };
    match request.verdict {
        Verdict::Overridden => wants(
            request.action.is_some(),
            "action: an override names the right action",
        )?,
        Verdict::ReplySent => wants(
            request
                .reply
                .as_deref()
                .is_some_and(|r| !r.trim().is_empty()),
            "reply: give the text that was sent",
        )?,
        Verdict::Accepted => wants(
            request.action.is_none(),
            "action: only an override names an action",
        )?,
    }
    check_text("reply", request.reply.as_deref())?;
    check_text("moderator", request.moderator.as_deref())?;
    let new = NewFeedback {
        decision_id: request.decision_id,
        verdict: request.verdict,
        action: request.action,
        intent: request.intent,
        sentiment: request.sentiment,
        reply: request.reply,
        moderator: request.moderator,
    };
    match state.store()?.record_feedback(&new).await? {
        Some(outcome) => Ok((StatusCode::CREATED, Json(outcome)).into_response()),
        None => Err(AppError::NotFound(format!(
            "no decision {}",
            new.decision_id
        ))),
    }
}

#[utoipa::path(post, path = "/v1/replies", tag = "memory",
    request_body(content = ReplyRequest, example = json!({"author_id": "u-42", "comment_id": "c-1", "text": "We are sorry: a courier brings a new one tomorrow."})),
    responses(
        (status = 201, description = "Recorded: `{\"reply_id\", \"recorded\"}`; `recorded` is false when this reply was already in", body = Object),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 422, description = "A missing, unknown or ill-typed field", body = ErrorBody),
        (status = 503, description = "The store is off or unavailable", body = ErrorBody)),
    security((), ("api_key" = [])))]
pub async fn reply(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<ReplyRequest>,
) -> Result<Response, AppError> {
    check_id("author_id", &request.author_id)?;
    for (field, id) in [
        ("comment_id", &request.comment_id),
        ("reply_id", &request.reply_id),
    ] {
        if let Some(id) = id {
            check_id(field, id)?;
        }
    }
    check_text("text", request.text.as_deref())?;
    let id = request.reply_id.clone().unwrap_or_else(|| {
        let text = request.text.as_deref().unwrap_or("");
        reply_id(&request.author_id, request.comment_id.as_deref(), text, 0)
    });
    let new = NewReply {
        reply_id: id.clone(),
        author_id: request.author_id,
        comment_id: request.comment_id,
        text: request.text,
        sent_at: now_ms(),
    };
    let recorded = state.store()?.record_reply(&new).await?;
    let body = json!({"reply_id": id, "recorded": recorded});
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

fn check_id(field: &str, id: &str) -> Result<(), AppError> {
    if id.trim().is_empty() {
        return Err(AppError::InvalidInput(format!("{field}: empty")));
    }
    if id.len() > MAX_ID_BYTES {
        return Err(AppError::InvalidInput(format!(
            "{field}: {} bytes, at most {MAX_ID_BYTES}",
            id.len()
        )));
    }
    Ok(())
}

fn check_text(field: &str, text: Option<&str>) -> Result<(), AppError> {
    match text {
        Some(t) if t.len() > MAX_REPLY_BYTES => Err(AppError::InvalidInput(format!(
            "{field}: {} bytes, at most {MAX_REPLY_BYTES}",
            t.len()
        ))),
        _ => Ok(()),
    }
}
