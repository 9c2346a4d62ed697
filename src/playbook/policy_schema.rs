//! The policy schema: the serde structs of a policy file as written in TOML, with the
//! lookups the playbook makes in them (a rule's outcome, an action's templates, a language's
//! list). Plain data; whether a file's values make sense is `validate.rs`'s business.

use super::vocabulary::{Channel, Priority, Responder, RuleId};
use crate::labels::{Action, Intent, Lang};
use serde::{Deserialize, Serialize};

/// A policy as written in TOML, before validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Language of the replies used when a language has no templates for an action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) fallback_lang: Option<Lang>,
    pub(super) brand: Brand,
    pub(super) thresholds: Thresholds,
    pub(super) signals: Signals,
    pub(super) rules: Rules,
    pub(super) keywords: Keywords,
    pub(super) templates: Templates,
    /// The reply linter's phrase lists and thresholds; a file without `[lint]` gets the
    /// default policy's.
    #[serde(default = "default_lint")]
    pub(super) lint: Lint,
}

/// Values of the reply placeholders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Brand {
    /// `{brand}`
    pub name: String,
    /// `{support_email}`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_email: Option<String>,
    /// `{support_phone}`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_phone: Option<String>,
    /// `{hours}`: when the support team answers, e.g. "09:00–18:00".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<String>,
}

/// Every probability threshold the rules compare scores with; all in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// The accuracy the brand wants from the decisions it automates: a decision whose
    /// (calibrated) confidence falls below the cut-off that keeps the automated ones this
    /// accurate needs review, and never goes to a bot.
    pub automated_accuracy: f64,
    /// A comment is deleted and its author banned when the abusive head and the abuse intent
    /// both reach `ban_intent` and the stronger of them reaches `abuse_delete`.
    pub abuse_delete: f64,
    /// What each of the two abuse signals must reach for a ban (the evidence must agree).
    pub ban_intent: f64,
    /// A top intent (not abuse) this probable is not overridden by the abusive head alone.
    pub intent_over_abusive: f64,
    /// max(abusive, intent abuse) from which a comment is hidden pending review.
    pub abuse_review: f64,
    pub spam: f64,
    /// Complaint probability from which a crisis word escalates.
    pub crisis_complaint: f64,
    /// Probability of the `signals.rsra_intents` that, after a brand answer, counts as
    /// attacking again or staying unsatisfied (RSRA), for heads without a follow-up head.
    pub rsra_attack: f64,
    /// The follow-up head's probability that counts as attacking again (RSRA).
    pub rsra_follow_up: f64,
    pub complaint: f64,
    pub misinformation: f64,
    pub troll: f64,
    /// question + request probability from which the comment is answered.
    pub answer: f64,
    /// question + request probability from which a bot may answer a simple request.
    pub answer_bot: f64,
    pub praise: f64,
    pub other: f64,
    /// Largest gap between a risky top intent and the runner-up that escalates.
    pub uncertain_margin: f64,
    /// Negative sentiment from which an author may be very angry.
    pub angry_negative: f64,
    /// Abusive probability that, with `angry_negative`, makes an author very angry.
    pub angry_abusive: f64,
}

impl Thresholds {
    pub(super) fn named(&self) -> [(&'static str, f64); 19] {
        [
            ("automated_accuracy", self.automated_accuracy),
            ("abuse_delete", self.abuse_delete),
            ("ban_intent", self.ban_intent),
            ("intent_over_abusive", self.intent_over_abusive),
            ("abuse_review", self.abuse_review),
            ("spam", self.spam),
            ("crisis_complaint", self.crisis_complaint),
            ("rsra_attack", self.rsra_attack),
            ("rsra_follow_up", self.rsra_follow_up),
            ("complaint", self.complaint),
            ("misinformation", self.misinformation),
            ("troll", self.troll),
            ("answer", self.answer),
            ("answer_bot", self.answer_bot),
            ("praise", self.praise),
            ("other", self.other),
            ("uncertain_margin", self.uncertain_margin),
            ("angry_negative", self.angry_negative),
            ("angry_abusive", self.angry_abusive),
        ]
    }
}

/// Parameters of the facts read from the text and the thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signals {
    /// Brand answers in the thread before a new attack means RSRA (wait).
    pub min_brand_replies: u32,
    /// The intents whose probability, after a brand answer, means the author is still
    /// attacking or unsatisfied (RSRA).
    pub rsra_intents: Vec<Intent>,
    /// Words (runs of letters) a comment needs before its author can be banned: never on
    /// emoji or a single token.
    pub ban_min_words: u32,
    /// A run of this many digits is an order or phone number (private details).
    pub details_min_digits: u32,
    /// A run of this many '!' is shouting.
    pub shout_min_exclamations: u32,
    /// Capital letters count as shouting only in a text with at least this many letters…
    pub shout_min_letters: u32,
    /// …and when at least this share of its letters are capitals.
    pub shout_caps_ratio: f64,
    /// Intents too costly to get wrong: a close call between one of them and another intent
    /// is escalated.
    pub risky_intents: Vec<Intent>,
}

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The playbook line this rule implements (one line, English).
    pub guideline: String,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder: Option<Responder>,
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respond_within_minutes: Option<u32>,
    pub priority: Priority,
    /// Responder instead of `responder` when the author is very angry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub angry_responder: Option<Responder>,
    /// Channel instead of `channel` when the text carries or asks for private details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details_channel: Option<Channel>,
}

/// One [`Outcome`] per rule, keyed by rule id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rules {
    pub abuse_delete: Outcome,
    pub spam_hide: Outcome,
    pub personal_data_hide: Outcome,
    pub complaint_escalate: Outcome,
    pub rsra_wait: Outcome,
    pub abuse_review: Outcome,
    pub complaint_rsr: Outcome,
    pub misinformation_correct: Outcome,
    pub troll_ignore: Outcome,
    pub answer_bot: Outcome,
    pub answer_agent: Outcome,
    pub praise_thank: Outcome,
    pub other_acknowledge: Outcome,
    pub uncertain_escalate: Outcome,
}

impl Rules {
    pub fn get(&self, rule: RuleId) -> &Outcome {
        match rule {
            RuleId::AbuseDelete => &self.abuse_delete,
            RuleId::AbuseReview => &self.abuse_review,
            RuleId::SpamHide => &self.spam_hide,
            RuleId::PersonalDataHide => &self.personal_data_hide,
            RuleId::ComplaintEscalate => &self.complaint_escalate,
            RuleId::RsraWait => &self.rsra_wait,
            RuleId::ComplaintRsr => &self.complaint_rsr,
            RuleId::MisinformationCorrect => &self.misinformation_correct,
            RuleId::TrollIgnore => &self.troll_ignore,
            RuleId::AnswerBot => &self.answer_bot,
            RuleId::AnswerAgent => &self.answer_agent,
            RuleId::PraiseThank => &self.praise_thank,
            RuleId::OtherAcknowledge => &self.other_acknowledge,
            RuleId::UncertainEscalate => &self.uncertain_escalate,
        }
    }
}

/// A list of strings per language (keywords or reply variants).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerLang {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ro: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bg: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ru: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub en: Vec<String>,
}

/// The templates of actions that do not reply.
static NO_TEMPLATES: PerLang = PerLang {
    ro: Vec::new(),
    bg: Vec::new(),
    ru: Vec::new(),
    en: Vec::new(),
};

impl PerLang {
    pub fn get(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Ro => &self.ro,
            Lang::Bg => &self.bg,
            Lang::Ru => &self.ru,
            Lang::En => &self.en,
        }
    }

    #[cfg(test)]
    pub fn get_mut(&mut self, lang: Lang) -> &mut Vec<String> {
        match lang {
            Lang::Ro => &mut self.ro,
            Lang::Bg => &mut self.bg,
            Lang::Ru => &mut self.ru,
            Lang::En => &mut self.en,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        Lang::ALL.iter().all(|&lang| self.get(lang).is_empty())
    }
}

/// The keyword lists the rules consult, per language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keywords {
    /// Simple requests a bot may answer: order status, delivery time, opening hours, booking,
    /// finding a product.
    pub simple_request: PerLang,
    /// Threats, legal and regulator words, health and safety words: a complaint carrying one
    /// is escalated.
    pub crisis: PerLang,
    /// Words of requests that need order, account or personal details.
    pub private_details: PerLang,
    /// Insults and obscenities that, with the abusive head at `abuse_review`, are enough
    /// evidence for a ban.
    pub abuse: PerLang,
    /// Words of a calm, cooperative follow-up (thanks, please, could you…): an author who
    /// writes them after an answer is willing to talk, so RSRA does not silence them.
    pub calm: PerLang,
}

impl Keywords {
    pub(super) fn named(&self) -> [(&'static str, &PerLang); 5] {
        [
            ("simple_request", &self.simple_request),
            ("crisis", &self.crisis),
            ("private_details", &self.private_details),
            ("abuse", &self.abuse),
            ("calm", &self.calm),
        ]
    }
}

/// Reply variants per replying action and language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    #[serde(default)]
    pub answer: PerLang,
    #[serde(default)]
    pub thank: PerLang,
    #[serde(default)]
    pub resolve: PerLang,
    #[serde(default)]
    pub acknowledge: PerLang,
    #[serde(default)]
    pub correct: PerLang,
    #[serde(default)]
    pub escalate: PerLang,
    /// The private message after hiding a comment (personal data posted in public).
    #[serde(default)]
    pub hide: PerLang,
}

impl Templates {
    /// The variants of an action; none for actions that do not reply.
    pub fn get(&self, action: Action) -> &PerLang {
        match action {
            Action::Answer => &self.answer,
            Action::Thank => &self.thank,
            Action::Resolve => &self.resolve,
            Action::Acknowledge => &self.acknowledge,
            Action::Correct => &self.correct,
            Action::Escalate => &self.escalate,
            Action::Hide => &self.hide,
            Action::Wait | Action::Ignore | Action::DeleteAndBan => &NO_TEMPLATES,
        }
    }
}

/// The reply linter's settings (`[lint]`): how sure the heads must be, when capitals shout,
/// and the phrase lists per language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lint {
    /// Negative sentiment of the reply (the sentiment head on the reply itself) from which a
    /// reply with an exclamation mark reads as emotional.
    pub emotional_negative: f64,
    /// Abusive probability of the reply from which it is insulting.
    pub insulting_abusive: f64,
    /// The reply head's probability, per sentence, from which its kind is found. The head is
    /// shifted so that 0.5 is the threshold picked on the calibration split.
    #[serde(default = "half")]
    pub head_min: f64,
    /// Exclamation marks in a row that shout.
    pub shout_min_exclamations: u32,
    /// Capital letters in a row of capitalised words that shout.
    pub shout_min_letters: u32,
    pub phrases: LintPhrases,
}

fn half() -> f64 {
    0.5
}

/// Phrase lists per language (grammar in `lint/text.rs`: `word*`, `#` a number, `_` any word,
/// `..` up to four words).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintPhrases {
    pub accusing: PerLang,
    pub emotional: PerLang,
    pub insulting: PerLang,
    pub dismissive: PerLang,
    /// Words of a joke; with a laughing emoji or alone, under a problem.
    pub joking: PerLang,
    pub vague_deflection: PerLang,
    /// An apology (RSR's S).
    pub apology: PerLang,
    /// A concrete next step: a channel, what will happen, when (RSR's R).
    pub next_step: PerLang,
    /// Words that introduce personal data (an address, a birth date, an ID) when a number
    /// follows.
    pub personal: PerLang,
    /// Words that give the brand's own line ("call us on", "позвоните по номеру"): a phone
    /// number after them in the sentence is a channel, not the customer's personal data.
    #[serde(default)]
    pub brand_line: PerLang,
}

impl LintPhrases {
    pub fn named(&self) -> [(&'static str, &PerLang); 10] {
        [
            ("accusing", &self.accusing),
            ("emotional", &self.emotional),
            ("insulting", &self.insulting),
            ("dismissive", &self.dismissive),
            ("joking", &self.joking),
            ("vague_deflection", &self.vague_deflection),
            ("apology", &self.apology),
            ("next_step", &self.next_step),
            ("personal", &self.personal),
            ("brand_line", &self.brand_line),
        ]
    }
}

/// The default policy's `[lint]`, for policy files written before the linter.
fn default_lint() -> Lint {
    let mut file: toml::Table =
        toml::from_str(include_str!("default_policy.toml")).expect("the default policy parses");
    let lint = file.remove("lint").expect("the default policy has [lint]");
    lint.try_into().expect("the default [lint] is valid")
}
