//! The playbook: turns a comment's calibrated scores, its text and its thread into a
//! [`Decision`] — what to do, who does it, where, how fast, how sure tact is, which rule and
//! guideline of SPEC §1 that rests on, and a suggested reply in the comment's language.
//! Pure rules over plain data: no model, no I/O beyond reading a policy file. Everything
//! tunable (thresholds, deadlines, responders, keywords, reply templates) is in the
//! [`Policy`]; the rules and their order are in `rules.rs`. docs/playbook.md documents the
//! decision, the rules and the policy file.

mod calibration;
mod decision;
mod history;
mod personal;
mod policy;
mod rules;
mod signals;
mod templates;

pub use calibration::{Calibration, Sample};
pub use decision::{
    action_replies, Channel, Decision, Labelled, Priority, Reply, Responder, ScoreTable,
};
pub use history::{History, HistorySource};
pub use personal::PersonalKind;
pub use policy::{Policy, PolicyError, DEFAULT_POLICY_TOML};
pub use rules::RuleId;
pub use templates::TemplateProblem;

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
            scores: ScoreTable::from_scores(scores),
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
mod tests {
    use super::*;
    use crate::comment::ThreadMessage;
    use crate::labels::{Action, Intent};

    /// Scores with one dominant intent; the rest of the mass spread evenly, a neutral author.
    fn scores(intent: Intent, p: f32) -> Scores {
        let mut scores = Scores {
            intent: [(1.0 - p) / 8.0; 9],
            sentiment: [0.2, 0.6, 0.2],
            abusive: 0.02,
            labels: None,
        };
        scores.intent[intent.index()] = p;
        scores
    }

    /// Sets the negative sentiment, the rest mostly neutral.
    fn negative(mut scores: Scores, p: f32) -> Scores {
        scores.sentiment = [p, (1.0 - p) * 0.8, (1.0 - p) * 0.2];
        scores
    }

    /// Scores split between two intents.
    fn split(a: Intent, pa: f32, b: Intent, pb: f32) -> Scores {
        let mut scores = scores(a, pa);
        let rest = (1.0 - pa - pb) / 7.0;
        for (i, p) in scores.intent.iter_mut().enumerate() {
            if i != a.index() {
                *p = rest;
            }
        }
        scores.intent[b.index()] = pb;
        scores
    }

    fn comment(id: &str, text: &str) -> Comment {
        Comment {
            id: Some(id.to_string()),
            text: text.to_string(),
            ..Comment::default()
        }
    }

    fn answered_thread() -> Vec<ThreadMessage> {
        vec![
            ThreadMessage {
                text: "Comanda a venit spartă.".into(),
                from_brand: false,
            },
            ThreadMessage {
                text: "Ne pare rău! Ne scrieți numărul comenzii în privat?".into(),
                from_brand: true,
            },
        ]
    }

    fn playbook() -> Playbook {
        Playbook::new(Policy::default_policy())
    }

    fn decide(text: &str, lang: Lang, scores: &Scores) -> Decision {
        playbook().decide(&comment("c-1", text), lang, scores)
    }

    #[test]
    fn abuse_above_delete_threshold_deletes_and_bans() {
        let mut s = scores(Intent::Troll, 0.6);
        s.abusive = 0.93;
        let d = decide("...", Lang::Ro, &s);
        assert_eq!(
            (d.rule, d.action),
            (RuleId::AbuseDelete, Action::DeleteAndBan)
        );
        assert_eq!(d.confidence, 0.93);
        assert_eq!(
            (d.responder, d.channel, d.reply),
            (None, Channel::None, None)
        );
        assert_eq!(d.priority, Priority::Urgent);
        assert_eq!(d.reasons, ["abusive 0.93 >= 0.70"]);
        assert!(!d.needs_review);
    }

    #[test]
    fn abuse_intent_counts_like_the_abusive_signal() {
        let d = decide("...", Lang::Bg, &scores(Intent::Abuse, 0.9));
        assert_eq!(d.rule, RuleId::AbuseDelete);
        assert_eq!(d.reasons, ["intent abuse 0.90 >= 0.70"]);
    }

    #[test]
    fn borderline_abuse_is_hidden_for_review() {
        let mut s = scores(Intent::Complaint, 0.6);
        s.abusive = 0.65;
        let d = decide("...", Lang::En, &s);
        assert_eq!((d.rule, d.action), (RuleId::AbuseReview, Action::Hide));
        assert!(
            d.needs_review,
            "hiding borderline abuse always needs review"
        );
        assert_eq!(
            d.reasons[..2],
            ["abusive 0.65 >= 0.60", "abusive 0.65 < 0.70"]
        );
        assert_eq!(d.reply, None);
    }

    #[test]
    fn spam_is_hidden() {
        let d = decide(
            "Earn $500/day from home, DM me",
            Lang::En,
            &scores(Intent::Spam, 0.9),
        );
        assert_eq!((d.rule, d.action), (RuleId::SpamHide, Action::Hide));
        assert_eq!((d.responder, d.reply), (None, None));
        assert_eq!(d.respond_within_minutes, Some(120));
    }

    #[test]
    fn trolls_are_ignored_with_nothing_due() {
        let d = decide(
            "lol nobody buys this garbage",
            Lang::En,
            &scores(Intent::Troll, 0.8),
        );
        assert_eq!((d.rule, d.action), (RuleId::TrollIgnore, Action::Ignore));
        assert_eq!((d.respond_within_minutes, d.reply), (None, None));
        assert_eq!(d.channel, Channel::None);
    }

    #[test]
    fn complaint_gets_rsr_from_an_agent_within_the_hour() {
        let s = negative(scores(Intent::Complaint, 0.91), 0.7);
        let d = decide("Blenderul primit ieri curge.", Lang::Ro, &s);
        assert_eq!((d.rule, d.action), (RuleId::ComplaintRsr, Action::Resolve));
        assert_eq!(d.responder, Some(Responder::Agent));
        assert_eq!(d.channel, Channel::Public);
        assert_eq!(d.respond_within_minutes, Some(60));
        assert_eq!(d.confidence, 0.91);
        assert_eq!(d.reasons, ["intent complaint 0.91 >= 0.50"]);
        assert!(d.guideline.starts_with("RSR"));
        let reply = d.reply.unwrap();
        assert!(
            reply.template.starts_with("resolve.ro."),
            "{}",
            reply.template
        );
        assert!(
            reply.text.contains("Ne pare") || reply.text.contains("scuze"),
            "{}",
            reply.text
        );
    }

    #[test]
    fn complaint_with_order_details_moves_to_a_private_channel() {
        let s = scores(Intent::Complaint, 0.9);
        for (text, lang, fact) in [
            ("Comanda 55317 nu a ajuns", Lang::Ro, "a number of 5 digits"),
            (
                "Мне списали деньги с карты дважды",
                Lang::Ru,
                "the word \"карты\" (ru)",
            ),
            (
                "Charged twice, write me at ana@example.com",
                Lang::En,
                "an e-mail address",
            ),
            (
                "Nu mi-ați returnat banii pe card",
                Lang::Ro,
                "the word \"card*\" (ro)",
            ),
        ] {
            let d = decide(text, lang, &s);
            assert_eq!(
                d.channel,
                Channel::PublicThenPrivate,
                "{text}: {:?}",
                d.reasons
            );
            let why = format!("private details ({fact}): channel public_then_private");
            assert!(d.reasons.contains(&why), "{text}: {:?}", d.reasons);
        }
        let plain = decide("The blender leaks", Lang::En, &s);
        assert_eq!(plain.channel, Channel::Public);
    }

    #[test]
    fn very_angry_complaint_goes_to_a_senior() {
        let s = negative(scores(Intent::Complaint, 0.9), 0.9);
        let shouting = decide("AM AȘTEPTAT DOUĂ SĂPTĂMÂNI PENTRU NIMIC", Lang::Ro, &s);
        assert_eq!(shouting.responder, Some(Responder::Senior));
        assert!(shouting
            .reasons
            .iter()
            .any(|r| r.contains("capital letters")));
        let bangs = decide("Two weeks and nothing!!!", Lang::En, &s);
        assert_eq!(bangs.responder, Some(Responder::Senior));
        // Negative alone is not "very angry".
        let calm = decide("Two weeks and nothing.", Lang::En, &s);
        assert_eq!(calm.responder, Some(Responder::Agent));
        let mut rude = s.clone();
        rude.abusive = 0.4;
        assert_eq!(
            decide("Two weeks.", Lang::En, &rude).responder,
            Some(Responder::Senior)
        );
    }

    #[test]
    fn crisis_words_on_a_complaint_escalate() {
        let s = negative(scores(Intent::Complaint, 0.7), 0.8);
        for (text, lang) in [
            ("Vă dau în judecată, merg la ANPC", Lang::Ro),
            ("Ще сигнализирам КЗП", Lang::Bg),
            ("Пожалуюсь в Роспотребнадзор", Lang::Ru),
            ("My son got food poisoning from your soup", Lang::En),
            ("shte vi sadq", Lang::Bg),
        ] {
            let d = decide(text, lang, &s);
            assert_eq!(d.rule, RuleId::ComplaintEscalate, "{text}");
            assert_eq!(
                (d.action, d.responder),
                (Action::Escalate, Some(Responder::Senior))
            );
            assert!(d
                .reply
                .unwrap()
                .template
                .starts_with(&format!("escalate.{lang}.")));
        }
        // The same words without a complaint behind them do not escalate.
        let question = decide(
            "Do you deliver to the police station?",
            Lang::En,
            &scores(Intent::Question, 0.9),
        );
        assert_eq!(question.action, Action::Answer);
    }

    #[test]
    fn author_attacking_again_after_an_answer_is_awaited() {
        let s = negative(scores(Intent::Complaint, 0.84), 0.85);
        let mut c = comment("c-2", "Tot nimic, sunteți o bătaie de joc.");
        c.thread = answered_thread();
        let d = playbook().decide(&c, Lang::Ro, &s);
        assert_eq!((d.rule, d.action), (RuleId::RsraWait, Action::Wait));
        assert_eq!(
            (d.responder, d.reply, d.respond_within_minutes),
            (None, None, None)
        );
        assert!(
            d.reasons[0].contains("already answered 1 time(s)"),
            "{:?}",
            d.reasons
        );
        assert_eq!(
            d.reasons[1..],
            [
                "intent complaint+troll 0.86 >= 0.50",
                "sentiment negative 0.85 >= 0.50"
            ]
        );
    }

    #[test]
    fn rsra_needs_an_answer_to_the_author_and_a_new_attack() {
        let s = negative(scores(Intent::Complaint, 0.8), 0.85);
        // The brand's own post opening the thread is not an answer.
        let mut c = comment("c-3", "Your new menu is worse.");
        c.thread = vec![ThreadMessage {
            text: "Our new menu is here!".into(),
            from_brand: true,
        }];
        assert_eq!(
            playbook().decide(&c, Lang::En, &s).rule,
            RuleId::ComplaintRsr
        );
        // A calm follow-up question after the answer is answered.
        c.thread = answered_thread();
        let question = scores(Intent::Question, 0.9);
        assert_eq!(
            playbook().decide(&c, Lang::En, &question).action,
            Action::Answer
        );
    }

    #[test]
    fn abuse_beats_rsra() {
        let mut s = negative(scores(Intent::Troll, 0.8), 0.9);
        s.abusive = 0.95;
        let mut c = comment("c-4", "...");
        c.thread = answered_thread();
        assert_eq!(
            playbook().decide(&c, Lang::Ro, &s).rule,
            RuleId::AbuseDelete
        );
    }

    #[test]
    fn rsra_beats_complaint_and_crisis_beats_rsra() {
        let s = negative(scores(Intent::Complaint, 0.9), 0.9);
        let mut c = comment("c-5", "Still broken.");
        assert_eq!(
            playbook().decide(&c, Lang::En, &s).rule,
            RuleId::ComplaintRsr
        );
        c.thread = answered_thread();
        assert_eq!(playbook().decide(&c, Lang::En, &s).rule, RuleId::RsraWait);
        c.text = "Still broken. My lawyer will hear about this.".into();
        assert_eq!(
            playbook().decide(&c, Lang::En, &s).rule,
            RuleId::ComplaintEscalate
        );
    }

    #[test]
    fn misinformation_is_corrected_publicly_within_the_hour() {
        let text = "Închid toate magazinele luna viitoare și păstrează avansurile.";
        let d = decide(text, Lang::Ro, &scores(Intent::Misinformation, 0.8));
        assert_eq!(
            (d.rule, d.action),
            (RuleId::MisinformationCorrect, Action::Correct)
        );
        assert_eq!(
            (d.responder, d.channel),
            (Some(Responder::Agent), Channel::Public)
        );
        assert_eq!(d.respond_within_minutes, Some(60));
        assert!(d.reply.unwrap().template.starts_with("correct.ro."));
    }

    #[test]
    fn a_sure_simple_request_goes_to_a_bot() {
        let s = scores(Intent::Request, 0.95);
        for (text, lang) in [
            ("Cand ajunge comanda mea?", Lang::Ro),
            ("Кога ще пристигне поръчката ми?", Lang::Bg),
            ("kogda pridet moj zakaz?", Lang::Ru),
            ("Are you open on Sunday?", Lang::En),
        ] {
            let d = decide(text, lang, &s);
            assert_eq!(d.rule, RuleId::AnswerBot, "{text}: {:?}", d.reasons);
            assert_eq!(
                (d.action, d.responder),
                (Action::Answer, Some(Responder::Bot))
            );
            assert_eq!(d.respond_within_minutes, Some(5));
        }
    }

    #[test]
    fn complex_unsure_or_angry_questions_go_to_an_agent() {
        let complex = decide(
            "Can your blender crush ice for smoothies?",
            Lang::En,
            &scores(Intent::Question, 0.95),
        );
        assert_eq!(
            (complex.rule, complex.responder),
            (RuleId::AnswerAgent, Some(Responder::Agent))
        );
        assert!(complex
            .reasons
            .contains(&"no bot: not a simple request".to_string()));

        // 0.70 request + 0.0375 question.
        let unsure = decide(
            "Where is my order?",
            Lang::En,
            &scores(Intent::Request, 0.7),
        );
        assert_eq!(unsure.rule, RuleId::AnswerAgent);
        let why = "no bot: confidence 0.74 < 0.85".to_string();
        assert!(unsure.reasons.contains(&why), "{:?}", unsure.reasons);

        let angry = negative(scores(Intent::Request, 0.95), 0.9);
        let d = decide("WHERE IS MY ORDER 5531???!!!", Lang::En, &angry);
        assert_eq!(
            (d.rule, d.responder),
            (RuleId::AnswerAgent, Some(Responder::Senior))
        );
        assert_eq!(d.channel, Channel::PublicThenPrivate);
    }

    #[test]
    fn question_and_request_add_up() {
        let d = decide(
            "Do you have it in blue?",
            Lang::En,
            &split(Intent::Question, 0.4, Intent::Request, 0.4),
        );
        assert_eq!(d.action, Action::Answer);
        assert_eq!(d.confidence, 0.8);
        assert_eq!(d.reasons[0], "intent question+request 0.80 >= 0.50");
    }

    #[test]
    fn praise_is_thanked_by_a_bot_within_a_day() {
        let d = decide(
            "Super fast delivery, thank you!",
            Lang::En,
            &scores(Intent::Praise, 0.9),
        );
        assert_eq!((d.rule, d.action), (RuleId::PraiseThank, Action::Thank));
        assert_eq!(d.responder, Some(Responder::Bot));
        assert_eq!(d.respond_within_minutes, Some(1440));
        assert!(
            d.reply.unwrap().text.contains("Acme"),
            "the brand placeholder is filled"
        );
    }

    #[test]
    fn other_is_acknowledged() {
        let d = decide("@maria uite", Lang::Ro, &scores(Intent::Other, 0.8));
        assert_eq!(
            (d.rule, d.action),
            (RuleId::OtherAcknowledge, Action::Acknowledge)
        );
        assert!(d.reply.unwrap().template.starts_with("acknowledge.ro."));
    }

    #[test]
    fn an_unsure_decision_needs_review_and_never_goes_to_a_bot() {
        let d = decide("Mersi", Lang::Ro, &scores(Intent::Praise, 0.55));
        assert_eq!(d.rule, RuleId::PraiseThank);
        assert!(d.needs_review);
        assert_eq!(d.responder, Some(Responder::Agent));
        assert!(d
            .reasons
            .contains(&"confidence 0.55 < 0.60: needs review".to_string()));
        let sure = decide("Mersi", Lang::Ro, &scores(Intent::Praise, 0.65));
        assert!(!sure.needs_review);
        assert_eq!(sure.responder, Some(Responder::Bot));
    }

    #[test]
    fn a_close_call_on_a_risky_intent_is_escalated() {
        let s = split(Intent::Complaint, 0.42, Intent::Misinformation, 0.38);
        let d = decide("Am auzit că vindeți produse expirate", Lang::Ro, &s);
        assert_eq!(
            (d.rule, d.action),
            (RuleId::UncertainEscalate, Action::Escalate)
        );
        assert_eq!(d.responder, Some(Responder::Senior));
        assert!(d.needs_review);
        // Confidence: the mass of the risky intents (complaint, misinformation, abuse).
        let rest = (1.0 - 0.42 - 0.38) / 7.0;
        assert!(
            (d.confidence - (0.8 + rest)).abs() < 1e-4,
            "{}",
            d.confidence
        );
    }

    #[test]
    fn an_unsure_harmless_call_follows_the_top_intent_with_review() {
        let d = decide(
            "ok",
            Lang::En,
            &split(Intent::Praise, 0.45, Intent::Other, 0.35),
        );
        assert_eq!((d.rule, d.action), (RuleId::PraiseThank, Action::Thank));
        assert!(d.needs_review);
        assert_eq!(d.responder, Some(Responder::Agent));
        // A risky top intent far ahead of the runner-up is not a close call.
        let far = decide(
            "hm",
            Lang::En,
            &split(Intent::Complaint, 0.45, Intent::Other, 0.1),
        );
        assert_eq!(far.rule, RuleId::ComplaintRsr);
        assert!(far.needs_review);
    }

    #[test]
    fn reply_variant_is_stable_per_comment_and_spread_over_comments() {
        let book = playbook();
        let s = scores(Intent::Praise, 0.9);
        let template = |id: &str| {
            book.decide(&comment(id, "Mulțumesc!"), Lang::Ro, &s)
                .reply
                .unwrap()
                .template
        };
        let used: std::collections::BTreeSet<String> =
            (0..30).map(|i| template(&format!("c-{i}"))).collect();
        assert_eq!(
            used.into_iter().collect::<Vec<_>>(),
            ["thank.ro.1", "thank.ro.2", "thank.ro.3"]
        );
        assert_eq!(template("c-7"), template("c-7"));
        // Without an id the text picks the variant, still deterministically.
        let anonymous = Comment {
            text: "Mulțumesc!".into(),
            ..Comment::default()
        };
        let first = book.decide(&anonymous, Lang::Ro, &s).reply;
        assert_eq!(first, book.decide(&anonymous, Lang::Ro, &s).reply);
    }

    #[test]
    fn a_language_without_templates_falls_back_and_says_so() {
        let mut table: toml::Table = toml::from_str(DEFAULT_POLICY_TOML).unwrap();
        table["templates"]["thank"]
            .as_table_mut()
            .unwrap()
            .remove("bg");
        table.insert("fallback_lang".into(), "en".into());
        let policy = Policy::from_toml_str(&toml::to_string(&table).unwrap()).unwrap();
        let d = Playbook::new(policy).decide(
            &comment("c-1", "Благодаря!"),
            Lang::Bg,
            &scores(Intent::Praise, 0.9),
        );
        assert!(d.reply.unwrap().template.starts_with("thank.en."));
        assert!(d
            .reasons
            .contains(&"no thank templates in bg: reply in en (fallback_lang)".to_string()));
    }

    #[test]
    fn placeholders_are_filled_from_the_brand() {
        let mut table: toml::Table = toml::from_str(DEFAULT_POLICY_TOML).unwrap();
        table["brand"]["name"] = "Florăria Ana".into();
        table["brand"]["support_email"] = "ajutor@florariaana.ro".into();
        let policy = Policy::from_toml_str(&toml::to_string(&table).unwrap()).unwrap();
        let book = Playbook::new(policy);
        let texts: Vec<String> = (0..12)
            .filter_map(|i| {
                book.decide(
                    &comment(&format!("c-{i}"), "?"),
                    Lang::Ro,
                    &scores(Intent::Complaint, 0.9),
                )
                .reply
            })
            .map(|r| r.text)
            .collect();
        assert!(texts.iter().all(|t| !t.contains('{')), "{texts:?}");
        assert!(
            texts.iter().any(|t| t.contains("ajutor@florariaana.ro")),
            "{texts:?}"
        );
    }

    #[test]
    fn default_templates_cover_every_language_with_concrete_channels() {
        let policy = Policy::default_policy();
        for &action in Action::ALL.iter().filter(|&&a| action_replies(a)) {
            for &lang in Lang::ALL {
                assert!(
                    policy.templates.get(action).get(lang).len() >= 3,
                    "{action}.{lang}"
                );
            }
        }
        // Never a vague "contact support": each resolve and escalate variant names a channel.
        let concrete = [
            "{support_email}",
            "{support_phone}",
            "privat",
            "лично съобщение",
            "личные сообщения",
            "private message",
        ];
        for action in [Action::Resolve, Action::Escalate] {
            for &lang in Lang::ALL {
                for text in policy.templates.get(action).get(lang) {
                    assert!(
                        concrete.iter().any(|c| text.contains(c)),
                        "{action}.{lang}: {text}"
                    );
                }
            }
        }
        // Romanian is written with comma-below ș and ț, not the cedilla look-alikes.
        for &action in Action::ALL {
            for text in policy.templates.get(action).get(Lang::Ro) {
                assert!(!text.contains(['ş', 'ţ', 'Ş', 'Ţ']), "{text}");
            }
        }
    }

    #[test]
    fn decision_json_has_the_spec_shape() {
        let d = decide(
            "Blenderul curge.",
            Lang::Ro,
            &negative(scores(Intent::Complaint, 0.91), 0.88),
        );
        let json = serde_json::to_value(&d).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut expected = [
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
        expected.sort();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort();
        assert_eq!(keys_sorted, expected);
        assert_eq!(json["id"], "c-1");
        assert_eq!(
            json["intent"],
            serde_json::json!({"label": "complaint", "confidence": 0.91})
        );
        assert_eq!(json["sentiment"]["label"], "negative");
        assert_eq!(json["scores"]["intent"]["complaint"], 0.91);
        assert_eq!(json["scores"]["sentiment"]["negative"], 0.88);
        assert_eq!(json["scores"]["intent"].as_object().unwrap().len(), 9);
        assert_eq!(json["action"], "resolve");
        assert_eq!(json["responder"], "agent");
        assert_eq!(json["channel"], "public");
        assert_eq!(json["priority"], "high");
        assert_eq!(json["rule"], "complaint-rsr");
        assert_eq!(json["reasons"][0], "intent complaint 0.91 >= 0.50");
        assert!(json["reply"]["text"].is_string() && json["reply"]["template"].is_string());
        assert_eq!(serde_json::from_value::<Decision>(json).unwrap(), d);

        // No reply due, no id: both null, never missing.
        let quiet = playbook().decide(
            &Comment {
                text: "lol".into(),
                ..Comment::default()
            },
            Lang::En,
            &scores(Intent::Troll, 0.9),
        );
        let json = serde_json::to_value(&quiet).unwrap();
        for key in ["id", "reply", "responder", "respond_within_minutes"] {
            assert!(json[key].is_null(), "{key}: {json}");
        }
        assert_eq!(json["channel"], "none");
        assert_eq!(json["action"], "ignore");
    }
}
