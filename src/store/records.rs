//! The plain types that go into the store and come out of it; they serialise as the API's
//! JSON (times in RFC 3339).

use crate::comment::Comment;
use crate::labels::{Action, Intent, Sentiment};
use crate::playbook::{answers_in, Decision};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Which front end decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Http,
    Score,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Http => "http",
            Origin::Score => "score",
        }
    }
}

/// A decision to record, with what it was decided on.
#[derive(Debug, Clone)]
pub struct NewDecision {
    pub decision_id: String,
    pub origin: Origin,
    pub comment_id: Option<String>,
    pub author_id: Option<String>,
    /// The comment's text, only where the store keeps texts (`--store-text`).
    pub text: Option<String>,
    /// The comment's thread as JSON (SPEC §4), kept with the text, for the review queue.
    pub thread: Option<String>,
    /// The brand's answers to the author that the comment's thread shows, oldest first.
    pub thread_answers: Vec<String>,
    pub decision: Decision,
    /// Encoder, weights and heads (see `Pipeline::model_version`).
    pub model: String,
    /// The policy's digest.
    pub policy: String,
}

impl NewDecision {
    /// The entry for a decision on `comment`: its id ([`super::decision_id`]), author, text
    /// (copied only when `keep_text`: comments can be megabytes) and the brand's answers its
    /// thread shows.
    pub fn for_comment(
        origin: Origin,
        comment: &Comment,
        decision: Decision,
        (model, policy): (&str, &str),
        keep_text: bool,
    ) -> NewDecision {
        NewDecision {
            decision_id: super::decision_id(comment),
            origin,
            comment_id: comment.id.clone(),
            author_id: comment.author_id.clone(),
            text: keep_text.then(|| comment.text.clone()),
            thread: (keep_text && !comment.thread.is_empty())
                .then(|| serde_json::to_string(&comment.thread).ok())
                .flatten(),
            thread_answers: answers_in(&comment.thread)
                .map(|m| m.text.clone())
                .collect(),
            decision,
            model: model.to_string(),
            policy: policy.to_string(),
        }
    }
}

/// The counts the playbook's history summary is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AuthorCounts {
    /// The author's decided comments.
    pub comments: u64,
    /// Times the brand answered the author.
    pub brand_answers: u64,
    /// The author's comments after the brand's first answer.
    pub follow_ups: u64,
    /// Of those, the ones that kept attacking (decided `wait`, abuse or troll).
    pub hostile_follow_ups: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelCount {
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentDecision {
    pub decision_id: String,
    pub decided_at: String,
    pub action: Action,
    pub intent: Intent,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecentReply {
    pub reply_id: String,
    pub sent_at: String,
    /// `api`, `thread` (seen in a comment's thread) or `feedback` (reported as sent).
    pub origin: String,
}

/// `GET /v1/authors/{id}`: what the store knows of an author.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuthorSummary {
    pub author_id: String,
    pub first_seen: String,
    pub last_seen: String,
    #[serde(flatten)]
    pub counts: AuthorCounts,
    pub last_answered_at: Option<String>,
    /// How often each action was decided for the author, most frequent first.
    pub actions: Vec<LabelCount>,
    pub intents: Vec<LabelCount>,
    /// The latest decisions (at most 20), newest first.
    pub recent_decisions: Vec<RecentDecision>,
    /// The brand's latest replies (at most 20), newest first.
    pub recent_replies: Vec<RecentReply>,
}

/// A brand reply to record.
#[derive(Debug, Clone)]
pub struct NewReply {
    pub reply_id: String,
    pub author_id: String,
    pub comment_id: Option<String>,
    pub text: Option<String>,
    pub sent_at: i64,
}

/// A moderator's verdict on a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Accepted,
    Overridden,
    ReplySent,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::Overridden => "overridden",
            Verdict::ReplySent => "reply_sent",
        }
    }
}

/// A verdict to record (validated by the caller: an override names its action).
#[derive(Debug, Clone)]
pub struct NewFeedback {
    pub decision_id: String,
    pub verdict: Verdict,
    pub action: Option<Action>,
    pub intent: Option<Intent>,
    pub sentiment: Option<Sentiment>,
    /// The reply actually sent.
    pub reply: Option<String>,
    pub moderator: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackOutcome {
    pub feedback_id: String,
    /// `false`: the same verdict was already recorded.
    pub recorded: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredFeedback {
    pub feedback_id: String,
    pub given_at: String,
    pub verdict: Verdict,
    pub action: Option<Action>,
    pub intent: Option<Intent>,
    pub sentiment: Option<Sentiment>,
    pub reply: Option<String>,
    pub moderator: Option<String>,
}

/// `GET /v1/decisions/{id}`: one audit-log entry.
#[derive(Debug, Clone, Serialize)]
pub struct StoredDecision {
    pub decision_id: String,
    pub decided_at: String,
    /// `http` or `score`.
    pub origin: String,
    /// `null` once the author is forgotten.
    pub comment_id: Option<String>,
    pub author_id: Option<String>,
    pub model: String,
    /// The policy's digest.
    pub policy: String,
    /// The decision as it was returned (SPEC §3), without the comment's id.
    pub decision: serde_json::Value,
    /// Only where texts are stored (`--store-text`), until they expire.
    pub text: Option<String>,
    /// The thread the comment came in, kept and expired with its text.
    pub thread: Option<serde_json::Value>,
    pub text_expires_at: Option<String>,
    pub feedback: Vec<StoredFeedback>,
}

/// What forgetting an author removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Forgotten {
    /// 1 if the store held a history of the author.
    pub history: u64,
    /// Audit-log entries whose author, comment id and text were blanked (their scores,
    /// action and rule stay, as counts without personal data).
    pub decisions: u64,
    /// Comment texts among those.
    pub texts: u64,
    /// The brand's replies to the author, removed.
    pub replies: u64,
    /// Verdicts on the author's decisions whose reply text was removed.
    pub feedback: u64,
}

/// A moderator's override, as a labelled record (SPEC §5) for `tact feedback export`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverrideRecord {
    pub id: String,
    pub text: String,
    pub lang: String,
    pub source: String,
    pub action: Action,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<Intent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
}

/// Counts by label, most frequent first, ties by name.
pub(super) fn ranked(counts: BTreeMap<String, u64>) -> Vec<LabelCount> {
    let mut counts: Vec<LabelCount> = counts
        .into_iter()
        .map(|(label, count)| LabelCount { label, count })
        .collect();
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.label.cmp(&b.label)));
    counts
}
