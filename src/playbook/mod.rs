//! The playbook: turns a comment's calibrated scores, its text and its thread into a
//! [`Decision`] — what to do, who does it, where, how fast, how sure tact is, which rule and
//! guideline of SPEC §1 that rests on, and a suggested reply in the comment's language.
//! Pure rules over plain data: no model, no I/O beyond reading a policy file. Everything
//! tunable (thresholds, deadlines, responders, keywords, reply templates) is in the
//! [`Policy`]; the rules and their order are in `rules.rs`. docs/playbook.md documents the
//! decision, the rules and the policy file.
//!
//! Inside, each file uses only files listed before it: `vocabulary` (rule ids, responders,
//! channels, priorities); `policy_schema` (the policy file's serde structs); `keywords` and
//! `placeholders` (the grammar of its keyword lists and reply templates); `policy_error`,
//! `validate` and `policy` (reading and checking a policy); `history`, `personal` and
//! `signals` (facts about a comment); `decision` (the Decision JSON); `templates` (replies);
//! `rules`; `calibration`; and this file, which puts a decision together. `lint/` (the reply
//! linter) uses the policy's schema, `personal` and the language detector; validation runs
//! it over every template, so it comes before `validate`.

mod calibration;
mod decision;
#[cfg(test)]
pub(crate) mod fixtures;
mod history;
mod keywords;
pub mod lint;
mod personal;
mod placeholders;
mod policy;
mod policy_error;
mod policy_schema;
mod rules;
mod signals;
mod templates;
mod validate;
mod vocabulary;

pub use calibration::{Calibration, Sample};
pub use decision::{Decision, Labelled, Reply, ScoreTable};
pub use history::{answers_in, History, HistorySource};
pub use personal::PersonalKind;
pub use placeholders::TemplateProblem;
pub use policy::{Policy, DEFAULT_POLICY_TOML};
pub use policy_error::PolicyError;
pub use validate::TemplateReply;
pub use vocabulary::{action_replies, Channel, Priority, Responder, RuleId};

use crate::comment::{Comment, Scores};
use crate::labels::Lang;
use decision::round4;
use rules::Firing;
use signals::{Facts, Lexicon};
use templates::Replies;

/// What the model read of a long text: its first `head` and last `tail` tokens of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub head: usize,
    pub tail: usize,
    pub total: usize,
}

/// Everything a decision rests on.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    pub comment: &'a Comment,
    /// The comment's language as resolved by the caller (given or detected).
    pub lang: Lang,
    /// The model's calibrated probabilities.
    pub scores: &'a Scores,
    /// The author's history; `None`: summarised from the comment's thread.
    pub history: Option<History>,
    /// Set when the text was too long to read whole.
    pub cut: Option<Cut>,
}

/// A policy, ready to decide: keyword lists compiled, reply templates filled, and the
/// decision-confidence calibration with its review cut-off.
#[derive(Debug, Clone)]
pub struct Playbook {
    policy: Policy,
    lexicon: Lexicon,
    replies: Replies,
    linter: lint::Linter,
    calibration: Option<Calibration>,
    /// Decisions less confident than this need review.
    review_below: f32,
}

impl Playbook {
    /// A playbook whose confidences are the rules' raw ones: a decision needs review below
    /// the policy's `automated_accuracy` itself.
    pub fn new(policy: Policy) -> Self {
        Playbook {
            lexicon: Lexicon::compile(&policy),
            replies: Replies::fill_all(&policy),
            linter: policy.linter(),
            calibration: None,
            review_below: policy.thresholds.automated_accuracy as f32,
            policy,
        }
    }

    /// The same playbook with the decision confidence calibrated (see [`Calibration`]).
    pub fn calibrated(mut self, calibration: Option<Calibration>) -> Self {
        let target = self.policy.thresholds.automated_accuracy;
        self.review_below = match &calibration {
            Some(c) => c.cutoff(target),
            None => target as f32,
        };
        self.calibration = calibration;
        self
    }

    /// The policy in force (for `tact policy` and `/v1/info`).
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The reply linter of the policy in force.
    pub fn linter(&self) -> &lint::Linter {
        &self.linter
    }

    /// The calibration in force, if any.
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// The confidence below which a decision needs review.
    pub fn review_below(&self) -> f32 {
        self.review_below
    }

    /// Decides what to do with a comment, its history read from its thread.
    pub fn decide(&self, comment: &Comment, lang: Lang, scores: &Scores) -> Decision {
        self.decide_input(&Input {
            comment,
            lang,
            scores,
            history: None,
            cut: None,
        })
    }

    /// The raw rule that fires and its uncalibrated confidence (for `tact calibrate`).
    pub fn fire_raw(&self, input: &Input) -> (RuleId, f32) {
        let firing = rules::fire(&self.policy, &self.facts(input), input.scores);
        (firing.rule, firing.confidence)
    }

    fn facts(&self, input: &Input) -> Facts {
        let history = input
            .history
            .unwrap_or_else(|| History::from_thread(&input.comment.thread));
        let (comment, lang, scores) = (input.comment, input.lang, input.scores);
        Facts::gather(&self.policy, &self.lexicon, comment, lang, scores, history)
    }

    /// Decides what to do with a comment.
    pub fn decide_input(&self, input: &Input) -> Decision {
        let &Input {
            comment,
            lang,
            scores,
            ..
        } = input;
        let facts = self.facts(input);
        let Firing {
            rule,
            confidence: raw,
            mut reasons,
            forced_review,
        } = rules::fire(&self.policy, &facts, scores);
        let outcome = self.policy.rules.get(rule);
        if let Some(cut) = input.cut {
            reasons.push(format!(
                "long text: read its first {} and last {} of {} tokens",
                cut.head, cut.tail, cut.total
            ));
        }
        let confidence = match &self.calibration {
            Some(c) => c.apply(outcome.action, raw),
            None => raw,
        };

        let mut responder = outcome.responder;
        if let (Some(angry_responder), Some(angry)) = (outcome.angry_responder, &facts.very_angry) {
            responder = Some(angry_responder);
            reasons.push(format!(
                "very angry ({angry}): responder {}",
                angry_responder.as_str()
            ));
        }
        let mut channel = outcome.channel;
        if let (Some(details_channel), Some(details)) =
            (outcome.details_channel, &facts.private_details)
        {
            channel = details_channel;
            reasons.push(format!(
                "private details ({details}): channel {}",
                details_channel.as_str()
            ));
        }

        let review = self.review_below;
        let unsure = confidence < review;
        if unsure {
            let target = self.policy.thresholds.automated_accuracy * 100.0;
            reasons.push(format!(
                "confidence {confidence:.2} < {review:.2} (automated decisions {target:.0}% right): needs review"
            ));
        }
        let needs_review = forced_review || unsure;
        if needs_review && responder == Some(Responder::Bot) {
            responder = Some(Responder::Agent);
            reasons.push("responder agent, not bot: a bot replies only when sure".to_string());
        }

        // A reply is due exactly when someone is to write it; validation gave every rule with
        // a responder templates. The id keeps a comment's reply stable; without one, its
        // text does.
        let key = comment
            .id
            .as_deref()
            .filter(|id| !id.is_empty())
            .unwrap_or(&comment.text);
        let chosen = responder
            .is_some()
            .then(|| self.replies.choose(outcome.action, lang, key))
            .flatten();
        if let Some(fallback) = chosen.as_ref().and_then(|c| c.fell_back_to) {
            reasons.push(format!(
                "no {} templates in {lang}: reply in {fallback} (fallback_lang)",
                outcome.action
            ));
        }

        let (intent, intent_p) = scores.top_intent();
        let (sentiment, sentiment_p) = scores.top_sentiment();
        Decision {
            id: comment.id.clone(),
            lang,
            intent: Labelled {
                label: intent,
                confidence: round4(intent_p),
            },
            sentiment: Labelled {
                label: sentiment,
                confidence: round4(sentiment_p),
            },
            scores: ScoreTable {
                follow_up: scores
                    .follow_up
                    .filter(|_| facts.history.brand_answers > 0)
                    .map(round4),
                ..ScoreTable::from_scores(scores)
            },
            action: outcome.action,
            confidence: round4(confidence.clamp(0.0, 1.0)),
            responder,
            channel,
            respond_within_minutes: outcome.respond_within_minutes,
            priority: outcome.priority,
            rule,
            reasons,
            guideline: outcome.guideline.clone(),
            needs_review,
            reply: chosen.map(|c| c.reply),
        }
    }
}

#[cfg(test)]
mod tests;
