//! The rules and their order of precedence: which rule fires for a comment's scores and facts,
//! how confident that makes the decision, and the reasons to show for it. What a rule then
//! does (action, responder, channel, deadline) is the policy's
//! [`Outcome`](super::policy_schema::Outcome).
//!
//! Rules are tried in [`RuleId::ALL`] order and the first that fires decides:
//! abuse before everything (it must come down whatever else the comment is) — but a ban only
//! when the evidence agrees (the abusive head and the abuse intent, or a policy word), never
//! on emoji or a single token. Then spam, personal data posted in public (hidden even in a
//! thread under RSRA), crisis escalation (a legal or safety threat reaches a person even in a
//! thread under RSRA), RSRA — read from the author's history, with the mass of every negative
//! intent, unless the follow-up is calm — then less certain abuse, hidden for review unless a
//! confident intent says otherwise, then the intent rules, most costly to miss first. When no
//! rule reaches its threshold, the comment follows its top intent's rule with a review (or,
//! if the policy turns it on, a close call on a risky intent is escalated).

use super::policy::Policy;
use super::signals::Facts;
use super::vocabulary::RuleId;
use crate::comment::Scores;
use crate::labels::Intent;

/// What each rule reads its confidence from, and which rule handles an intent.
impl RuleId {
    /// The intents whose probability mass is the rule's confidence (see [`confidence`]).
    fn basis(self) -> &'static [Intent] {
        match self {
            RuleId::AbuseDelete | RuleId::AbuseReview => &[Intent::Abuse],
            RuleId::SpamHide => &[Intent::Spam],
            RuleId::ComplaintEscalate | RuleId::ComplaintRsr => &[Intent::Complaint],
            // RSRA and personal data read their own evidence (see `confidence`).
            RuleId::RsraWait | RuleId::PersonalDataHide => &[],
            RuleId::MisinformationCorrect => &[Intent::Misinformation],
            RuleId::TrollIgnore => &[Intent::Troll],
            RuleId::AnswerBot | RuleId::AnswerAgent => &[Intent::Question, Intent::Request],
            RuleId::PraiseThank => &[Intent::Praise],
            RuleId::OtherAcknowledge => &[Intent::Other],
            RuleId::UncertainEscalate => &[],
        }
    }

    /// The rule that handles an intent when it is the top one.
    fn for_intent(intent: Intent) -> RuleId {
        match intent {
            Intent::Abuse => RuleId::AbuseReview,
            Intent::Spam => RuleId::SpamHide,
            Intent::Complaint => RuleId::ComplaintRsr,
            Intent::Misinformation => RuleId::MisinformationCorrect,
            Intent::Troll => RuleId::TrollIgnore,
            Intent::Question | Intent::Request => RuleId::AnswerAgent,
            Intent::Praise => RuleId::PraiseThank,
            Intent::Other => RuleId::OtherAcknowledge,
        }
    }
}

/// The rule that fired, with its confidence and reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub rule: RuleId,
    pub confidence: f32,
    pub reasons: Vec<String>,
    /// The rule itself asks for a person's review, whatever its confidence.
    pub forced_review: bool,
}

impl Firing {
    fn new(rule: RuleId, confidence: f32, reasons: Vec<String>) -> Firing {
        Firing {
            rule,
            confidence,
            reasons,
            forced_review: false,
        }
    }
}

fn mass(scores: &Scores, intents: &[Intent]) -> f32 {
    intents.iter().map(|&i| scores.intent_of(i)).sum()
}

/// A rule's confidence: the probability that the comment is what the rule acts on.
fn confidence(rule: RuleId, scores: &Scores, policy: &Policy) -> f32 {
    match rule {
        RuleId::AbuseDelete | RuleId::AbuseReview => {
            scores.abusive.max(scores.intent_of(Intent::Abuse))
        }
        RuleId::UncertainEscalate => mass(scores, &policy.signals.risky_intents),
        RuleId::RsraWait => mass(scores, &policy.signals.rsra_intents),
        // The datum is there or not; how sure the rest of the decision is does not matter.
        RuleId::PersonalDataHide => 1.0,
        _ => mass(scores, rule.basis()),
    }
}

/// What a rule's confidence is read from, for reasons: "intent question+request".
fn basis_label(rule: RuleId, scores: &Scores, policy: &Policy) -> String {
    let intents = match rule {
        RuleId::RsraWait => &policy.signals.rsra_intents,
        _ => rule.basis(),
    };
    if intents == [Intent::Abuse] && scores.abusive >= scores.intent_of(Intent::Abuse) {
        return "abusive".to_string();
    }
    let names: Vec<&str> = intents.iter().map(|i| i.as_str()).collect();
    format!("intent {}", names.join("+"))
}

fn reached(value: f32, threshold: f64) -> bool {
    f64::from(value) >= threshold
}

/// "intent complaint 0.91 >= 0.50".
fn compare(what: &str, value: f32, threshold: f64) -> String {
    let sign = if reached(value, threshold) { ">=" } else { "<" };
    format!("{what} {value:.2} {sign} {threshold:.2}")
}

/// Decides which rule fires. See the module documentation for the order.
pub fn fire(policy: &Policy, facts: &Facts, scores: &Scores) -> Firing {
    let t = &policy.thresholds;
    // The rule's confidence when it reaches `threshold`, with the comparison as a reason.
    let gate = |rule: RuleId, threshold: f64| {
        let p = confidence(rule, scores, policy);
        reached(p, threshold).then(|| {
            let why = compare(&basis_label(rule, scores, policy), p, threshold);
            (p, why)
        })
    };

    if let Some(firing) = ban(policy, facts, scores) {
        return firing;
    }
    if let Some((p, why)) = gate(RuleId::SpamHide, t.spam) {
        return Firing::new(RuleId::SpamHide, p, vec![why]);
    }
    if !facts.personal_data.is_empty() {
        let kinds: Vec<&str> = facts.personal_data.iter().map(|k| k.as_str()).collect();
        let why = format!("personal data in public: {}", kinds.join(", "));
        return Firing::new(RuleId::PersonalDataHide, 1.0, vec![why]);
    }
    if let Some(word) = &facts.crisis {
        if let Some((p, why)) = gate(RuleId::ComplaintEscalate, t.crisis_complaint) {
            let crisis = format!("crisis word {word}");
            return Firing::new(RuleId::ComplaintEscalate, p, vec![crisis, why]);
        }
    }
    let history = &facts.history;
    // Thanks, please, or the order number asked for: someone willing to talk.
    let calm = facts.calm_word.is_some() || facts.gives_number;
    if history.brand_answers >= policy.signals.min_brand_replies as usize && !calm {
        // The head trained on labelled follow-ups, where the heads have it; the mass of the
        // negative intents otherwise.
        let attack = match scores.follow_up {
            Some(p) => reached(p, t.rsra_follow_up)
                .then(|| (p, compare("follow-up keeps attacking", p, t.rsra_follow_up))),
            None => gate(RuleId::RsraWait, t.rsra_attack),
        };
        if let Some((p, why)) = attack {
            let answered = format!(
                "{}: the brand already answered {} time(s) and the author comes back",
                history.source, history.brand_answers
            );
            return Firing::new(RuleId::RsraWait, p, vec![answered, why]);
        }
    }
    let (top, p_top) = scores.top_intent();
    let intent_holds = top != Intent::Abuse
        && reached(p_top, t.intent_over_abusive)
        && !reached(scores.intent_of(Intent::Abuse), t.abuse_review);
    let abuse_review = gate(RuleId::AbuseReview, t.abuse_review).filter(|_| !intent_holds);
    if let Some((p, why)) = abuse_review {
        let mut reasons = vec![why];
        if facts.words < policy.signals.ban_min_words as usize {
            reasons.push(format!(
                "{} word(s): never a ban on emoji or a single token",
                facts.words
            ));
        } else {
            reasons.push("the evidence for a ban does not agree: a person decides".to_string());
        }
        return Firing {
            forced_review: true,
            ..Firing::new(RuleId::AbuseReview, p, reasons)
        };
    }
    let intent_rules = [
        (RuleId::ComplaintRsr, t.complaint),
        (RuleId::MisinformationCorrect, t.misinformation),
        (RuleId::TrollIgnore, t.troll),
        (RuleId::AnswerAgent, t.answer),
        (RuleId::PraiseThank, t.praise),
        (RuleId::OtherAcknowledge, t.other),
    ];
    let firing = intent_rules
        .into_iter()
        .find_map(|(rule, threshold)| {
            gate(rule, threshold).map(|(p, why)| Firing::new(rule, p, vec![why]))
        })
        .unwrap_or_else(|| uncertain(policy, scores));
    choose_answer_responder(policy, facts, firing)
}

/// A ban is the one action that cannot be taken back: it needs words (never emoji or a single
/// token) and agreeing evidence — the abusive head and the abuse intent, or a policy word
/// with the head at least at the review threshold.
fn ban(policy: &Policy, facts: &Facts, scores: &Scores) -> Option<Firing> {
    let t = &policy.thresholds;
    if facts.words < policy.signals.ban_min_words as usize {
        return None;
    }
    let intent = scores.intent_of(Intent::Abuse);
    let head = scores.abusive;
    // Both signals at least at `ban_intent`, the stronger one at `abuse_delete`.
    let (strong, weak) = (head.max(intent), head.min(intent));
    if reached(strong, t.abuse_delete) && reached(weak, t.ban_intent) {
        let reasons = vec![
            compare("abusive", head, t.ban_intent),
            compare("intent abuse", intent, t.ban_intent),
            compare("the stronger", strong, t.abuse_delete),
        ];
        return Some(Firing::new(RuleId::AbuseDelete, weak, reasons));
    }
    let word = facts.abuse_word.as_ref()?;
    let signal = head.max(intent);
    reached(signal, t.abuse_review).then(|| {
        let reasons = vec![
            format!("abuse word {word}"),
            compare(
                &basis_label(RuleId::AbuseDelete, scores, policy),
                signal,
                t.abuse_review,
            ),
        ];
        Firing::new(RuleId::AbuseDelete, signal, reasons)
    })
}

/// No rule reached its threshold: escalate a close call on a risky intent, otherwise follow
/// the top intent's rule and ask for review.
fn uncertain(policy: &Policy, scores: &Scores) -> Firing {
    let (top, p_top) = scores.top_intent();
    let (runner_up, p_second) = Intent::ALL
        .iter()
        .filter(|&&i| i != top)
        .map(|&i| (i, scores.intent_of(i)))
        .fold(
            (top, f32::MIN),
            |best, next| if next.1 > best.1 { next } else { best },
        );
    let mut reasons = vec![format!(
        "no rule reached its threshold; top intent {top} {p_top:.2}, runner-up {runner_up} {p_second:.2}"
    )];
    let gap = p_top - p_second;
    let margin = policy.thresholds.uncertain_margin;
    let rule = if policy.signals.risky_intents.contains(&top) && f64::from(gap) <= margin {
        reasons.push(format!(
            "{top} is a risky call and the gap {gap:.2} <= {margin:.2}"
        ));
        RuleId::UncertainEscalate
    } else {
        let rule = RuleId::for_intent(top);
        reasons.push(format!("following the top intent's rule {rule}"));
        rule
    };
    Firing {
        forced_review: true,
        ..Firing::new(rule, confidence(rule, scores, policy), reasons)
    }
}

/// An answer goes to a bot only for a simple request, when the bot is sure and the author
/// calm; otherwise to an agent.
fn choose_answer_responder(policy: &Policy, facts: &Facts, mut firing: Firing) -> Firing {
    if firing.rule != RuleId::AnswerAgent {
        return firing;
    }
    // A bot must be sure; whether the decision needs review is settled after calibration.
    let bot_threshold = policy.thresholds.answer_bot;
    let why_not_bot = if firing.forced_review {
        "no bot: the decision needs review".to_string()
    } else if let Some(angry) = &facts.very_angry {
        format!("no bot: the author is very angry ({angry})")
    } else if let Some(word) = &facts.simple_request {
        if reached(firing.confidence, bot_threshold) {
            firing.rule = RuleId::AnswerBot;
            firing.reasons.push(format!("simple request: word {word}"));
            firing
                .reasons
                .push(compare("confidence", firing.confidence, bot_threshold));
            return firing;
        }
        format!(
            "no bot: {}",
            compare("confidence", firing.confidence, bot_threshold)
        )
    } else {
        "no bot: not a simple request".to_string()
    };
    firing.reasons.push(why_not_bot);
    firing
}

#[cfg(test)]
mod tests;
