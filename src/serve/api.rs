//! The JSON the service takes and gives, as types: what the handlers build and serialise is
//! what /openapi.json describes (derived from these types; the schemas of the core's own
//! types — comment, decision, labels — are in `schemas.rs`).

use crate::comment::Comment;
use crate::labels::{Action, Intent, Lang, Sentiment};
use crate::model::heads::HeadsCard;
use crate::model::{CpuTier, WeightFormat};
use crate::pipeline::Decided;
use crate::playbook::ScoreTable;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of /v1/decide and /v1/classify: one comment (SPEC §4), or up to the server's
/// `max_comments` (default 64) of them, answered in the same order.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum CommentsRequest {
    One(Comment),
    Batch {
        #[schema(min_items = 1)]
        comments: Vec<Comment>,
    },
}

impl CommentsRequest {
    /// The comments, and whether they came as a batch (which shapes the answer).
    pub fn into_comments(self) -> (Vec<Comment>, bool) {
        match self {
            CommentsRequest::One(comment) => (vec![comment], false),
            CommentsRequest::Batch { comments } => (comments, true),
        }
    }
}

/// One decision (SPEC §3) for one comment; `{"decisions": [...]}` for a batch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum DecideResponse {
    One(Box<Decided>),
    Batch { decisions: Vec<Decided> },
}

/// A comment's scores, without a decision.
#[derive(Debug, Serialize, ToSchema)]
pub struct Classification {
    /// The comment's id; `null` when it had none.
    pub id: Option<String>,
    /// Given by the caller, or detected.
    pub lang: Lang,
    pub scores: ScoreTable,
    /// Tokens the model read.
    pub tokens: usize,
    /// The text was longer than the token limit; the scores rest on its beginning.
    pub truncated: bool,
}

/// One classification for one comment; `{"classifications": [...]}` for a batch.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ClassifyResponse {
    One(Classification),
    Batch {
        classifications: Vec<Classification>,
    },
}

/// Every error response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable; clients branch on it.
    #[schema(schema_with = super::schemas::error_code)]
    pub code: String,
    /// For people; starts with the field at fault (`comments[3].text: missing`).
    pub message: String,
}

/// What /health and /ready answer when all is well.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: String,
}

/// What is serving: the model, its heads, the labels, the policy and the limits.
#[derive(Debug, Serialize, ToSchema)]
pub struct Info {
    /// tact's version.
    pub version: String,
    pub model: ModelInfo,
    /// The heads' card (`models/heads.json`): training command, date, data, metrics.
    #[schema(value_type = Object)]
    pub heads: HeadsCard,
    pub labels: LabelSets,
    pub policy: PolicyInfo,
    pub limits: Limits,
    /// The store, `null` with `--store off`.
    pub store: Option<StoreInfo>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StoreInfo {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Where it is, without a password.
    pub location: String,
    /// Comment texts are kept (`--store-text`), for `retention_days`.
    pub store_text: bool,
    pub retention_days: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ModelInfo {
    pub encoder: String,
    /// How the encoder's Q4_0 weights run: `int8` (integer kernels), `f32` (dequantised, candle) or `q4`.
    #[schema(value_type = String)]
    pub weight_format: WeightFormat,
    /// The instruction set of the int8 kernels (`avx512`, `avx-vnni`, `avx2`, `plain`);
    /// `null` on the candle paths.
    #[schema(value_type = Option<String>)]
    pub cpu_tier: Option<CpuTier>,
    pub hidden_size: usize,
    /// Tokens per comment; the rest of a longer comment is not read.
    pub max_tokens: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LabelSets {
    pub intent: Vec<Intent>,
    pub sentiment: Vec<Sentiment>,
    pub action: Vec<Action>,
    pub lang: Vec<Lang>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyInfo {
    /// sha256 of the canonical policy (as `tact policy` prints it).
    pub digest: String,
    /// The policy file, or `default`.
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Limits {
    pub max_comments: usize,
    pub max_body_bytes: usize,
    /// Comments waiting for the model, at most; beyond it, 429.
    pub max_queue: usize,
    /// Expected queueing time, at most; beyond it, 429.
    pub max_queue_wait_ms: u64,
    /// Comments per forward pass.
    pub max_batch_size: usize,
    /// Padded tokens per forward pass.
    pub max_batch_tokens: usize,
    pub request_timeout_ms: u64,
    pub api_key_required: bool,
}
