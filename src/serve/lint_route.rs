//! `POST /v1/lint`: the reply linter over HTTP. The body names the draft and what it answers;
//! the answer is the linter's JSON (`{"ok", "findings", "rsr"}`). The reply and each of its
//! sentences go through the engine's queue like comments (the model thread scores them:
//! sentiment, abusive, the reply head), then the playbook of the policy in force lints the
//! draft with those scores; a reply is bounded so that one request cannot hold the model long.

use super::api::ErrorBody;
use super::error::AppError;
use super::input::JsonBody;
use super::AppState;
use crate::classify::{Backend, Classified};
use crate::comment::Comment;
use crate::labels::{Intent, Lang};
use crate::playbook::lint::{Draft, Report};
use crate::reply_scores;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;

/// Longest reply linted, in characters: a reply under a comment, with room to spare.
pub const MAX_REPLY_CHARS: usize = 5_000;

/// `POST /v1/lint` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LintRequest {
    /// The draft reply.
    pub reply: String,
    /// The comment it answers; the reply must be in its language.
    #[serde(default)]
    pub comment: Option<String>,
    /// The comment's intent, when known: a complaint needs an apology and a next step.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "complaint")]
    pub intent: Option<Intent>,
    /// The language the reply must be in; detected from `comment` when absent.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "ro")]
    pub lang: Option<Lang>,
}

/// Check a draft reply against the reply guidelines before it is posted.
///
/// Findings: `accusing`, `emotional`, `insulting`, `dismissive`, `joking_about_problem`,
/// `vague_deflection`, `missing_apology`, `missing_next_step`, `wrong_language`,
/// `personal_data`, `shouting`; each with a severity, a span in Unicode characters of the
/// reply (`[start, end)`), and a message and suggestion in the reply's language.
#[utoipa::path(
    post,
    path = "/v1/lint",
    tag = "moderation",
    request_body(content = LintRequest, example = json!({
        "reply": "As clearly stated in our terms, you should have checked the parcel.",
        "comment": "The TV arrived with a cracked screen.", "intent": "complaint"})),
    responses(
        (status = 200, description = "`{\"ok\": bool, \"findings\": [{\"kind\", \"severity\", \"span\": [start, end], \"message\", \"suggestion\"}], \"rsr\": {\"respond\", \"apologise\", \"resolve\"}}`", body = Object),
        (status = 400, description = "Malformed JSON or invalid UTF-8", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 422, description = "Missing, empty, too long or ill-typed field", body = ErrorBody),
        (status = 503, description = "Not ready (the model is loading), shutting down, or the queue is full", body = ErrorBody),
    ),
    security((), ("api_key" = []))
)]
pub async fn lint(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LintRequest>,
) -> Result<Json<Report>, AppError> {
    if request.reply.trim().is_empty() {
        return Err(AppError::InvalidInput(
            "reply: empty; send the draft reply to check".to_string(),
        ));
    }
    let chars = request.reply.chars().count();
    if chars > MAX_REPLY_CHARS {
        return Err(AppError::InvalidInput(format!(
            "reply: {chars} characters, at most {MAX_REPLY_CHARS}"
        )));
    }
    let pipeline = state.engine().admit()?;
    let comments = reply_scores::texts(&request.reply)
        .into_iter()
        .map(|text| Comment {
            text,
            ..Comment::default()
        })
        .collect();
    let (inferred, _) = state.engine().classify(comments).await?;
    let classified: Vec<Classified> = inferred.into_iter().map(|i| i.classified).collect();
    let kinds = reply_scores::head_kinds(pipeline.classifier.reply_head());
    let scores = reply_scores::read(&request.reply, &classified, &kinds);
    Ok(Json(pipeline.playbook.linter().lint(&Draft {
        reply: &request.reply,
        comment: request.comment.as_deref(),
        intent: request.intent,
        lang: request.lang,
        scores: Some(&scores),
    })))
}
