//! The Decision JSON of SPEC §3 — the one object every front end (HTTP, archive scoring,
//! `tact decide`) emits; the small enums it carries are the playbook's vocabulary.
//!
//! Field names are the wire names; fields may be added but none renamed.

use super::vocabulary::{Channel, Priority, Responder, RuleId};
use crate::comment::Scores;
use crate::labels::{Action, Intent, Lang, Sentiment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A label with the model's probability for it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Labelled<L> {
    pub label: L,
    pub confidence: f64,
}

/// Every score the decision rests on, rounded to 4 decimals, keyed by wire name in label order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreTable {
    pub intent: BTreeMap<Intent, f64>,
    pub sentiment: BTreeMap<Sentiment, f64>,
    pub abusive: f64,
    /// After a brand answer, the probability that the follow-up keeps attacking (RSRA); only
    /// where the heads have that head and the brand had answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<f64>,
}

impl ScoreTable {
    pub fn from_scores(scores: &Scores) -> Self {
        ScoreTable {
            intent: Intent::ALL
                .iter()
                .map(|&i| (i, round4(scores.intent_of(i))))
                .collect(),
            sentiment: Sentiment::ALL
                .iter()
                .map(|&s| (s, round4(scores.sentiment_of(s))))
                .collect(),
            abusive: round4(scores.abusive),
            follow_up: None,
        }
    }
}

/// A suggested reply in the comment's language (or the policy's fallback language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    pub text: String,
    /// `<action>.<lang>.<n>`, n counting the policy's variants from 1.
    pub template: String,
}

impl Decision {
    /// Every field of the serialised decision, in order (the OpenAPI schema lists them).
    pub const FIELDS: [&'static str; 16] = [
        "id",
        "lang",
        "intent",
        "sentiment",
        "scores",
        "action",
        "confidence",
        "responder",
        "channel",
        "respond_within_minutes",
        "priority",
        "rule",
        "reasons",
        "guideline",
        "needs_review",
        "reply",
    ];
}

/// What the moderation team should do with one comment, and why (SPEC §3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// The comment's id; `null` when the input had none.
    #[serde(default)]
    pub id: Option<String>,
    pub lang: Lang,
    /// The most probable intent.
    pub intent: Labelled<Intent>,
    /// The most probable sentiment.
    pub sentiment: Labelled<Sentiment>,
    pub scores: ScoreTable,
    pub action: Action,
    /// How sure tact is that `action` is right, from the scores the rule rests on.
    pub confidence: f64,
    /// `null` when nobody replies (wait, ignore, hide, delete_and_ban).
    pub responder: Option<Responder>,
    pub channel: Channel,
    /// Deadline for carrying out the action; `null` when nothing is due (ignore, wait).
    pub respond_within_minutes: Option<u32>,
    pub priority: Priority,
    pub rule: RuleId,
    pub reasons: Vec<String>,
    pub guideline: String,
    pub needs_review: bool,
    /// `null` when no reply is due.
    pub reply: Option<Reply>,
}

/// Rounds a probability to 4 decimals for the JSON. In f64, so that 0.91 stays 0.91 however
/// the decision is serialised (an f32 widened to f64 would print as 0.9100000262260437).
pub fn round4(p: f32) -> f64 {
    (f64::from(p) * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_table_keeps_label_order_and_four_decimals() {
        let scores = Scores {
            intent: [0.123456, 0.0, 0.876544, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            sentiment: [0.5, 0.25, 0.25],
            abusive: 0.00004,
            labels: None,
            follow_up: None,
        };
        let json = serde_json::to_string(&ScoreTable::from_scores(&scores)).unwrap();
        assert!(
            json.starts_with(r#"{"intent":{"question":0.1235,"request":0.0,"complaint":0.8765,"#),
            "{json}"
        );
        assert!(json.ends_with(r#""abusive":0.0}"#), "{json}");
    }
}
