//! The Decision JSON of SPEC §3 — the one object every front end (HTTP, archive scoring,
//! `tact decide`) emits — and the small enums it carries: who responds, where, how urgently.
//!
//! Field names are the wire names; fields may be added but none renamed.

use super::rules::RuleId;
use crate::comment::Scores;
use crate::labels::{Action, Intent, Lang, Sentiment};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who should carry out a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Responder {
    /// An automatic answer; only ever chosen for confident decisions.
    Bot,
    /// A member of the moderation team.
    Agent,
    /// A calm, experienced person (angry authors, legal or safety matters).
    Senior,
}

impl Responder {
    pub fn as_str(self) -> &'static str {
        match self {
            Responder::Bot => "bot",
            Responder::Agent => "agent",
            Responder::Senior => "senior",
        }
    }
}

/// Where the reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Public,
    Private,
    /// Answer publicly, then move to DM / e-mail / phone for order or account details.
    PublicThenPrivate,
    /// Nothing is posted (ignore, wait, hide, delete and ban).
    None,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Public => "public",
            Channel::Private => "private",
            Channel::PublicThenPrivate => "public_then_private",
            Channel::None => "none",
        }
    }
}

/// How the decision ranks in the moderation queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

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

/// Whether an action posts something, and so takes reply templates, a responder and a channel.
pub fn action_replies(action: Action) -> bool {
    !matches!(
        action,
        Action::Wait | Action::Ignore | Action::Hide | Action::DeleteAndBan
    )
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
    fn enum_names_match_their_serde_names() {
        for r in [Responder::Bot, Responder::Agent, Responder::Senior] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for c in [
            Channel::Public,
            Channel::Private,
            Channel::PublicThenPrivate,
            Channel::None,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(serde_json::to_value(Priority::Urgent).unwrap(), "urgent");
    }

    #[test]
    fn only_silent_actions_have_no_reply() {
        let silent: Vec<Action> = Action::ALL
            .iter()
            .copied()
            .filter(|&a| !action_replies(a))
            .collect();
        assert_eq!(
            silent,
            [
                Action::Wait,
                Action::Ignore,
                Action::Hide,
                Action::DeleteAndBan
            ]
        );
    }

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
