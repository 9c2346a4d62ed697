//! The policy: every threshold, deadline, responder, keyword list and reply template the
//! playbook applies, as data. The default is compiled in from `default_policy.toml`; a brand
//! replaces it with its own file. A policy is validated when it is read, so a [`Policy`] value
//! is always one the playbook can apply: every rule can fire, and every reply it may need
//! exists in every language.

use super::decision::{Channel, Priority, Responder};
use super::rules::RuleId;
use super::templates::TemplateProblem;
use crate::labels::{Action, Intent, Lang};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The default policy's text, as `tact policy` prints it before canonicalisation.
pub const DEFAULT_POLICY_TOML: &str = include_str!("default_policy.toml");

/// A validated policy. Build it with [`Policy::default_policy`], [`Policy::from_toml_str`] or
/// [`Policy::load`]; there is no other way, so a `Policy` is always one the playbook can apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    file: PolicyFile,
}

/// Read access to the validated contents, for the playbook's modules.
impl std::ops::Deref for Policy {
    type Target = PolicyFile;

    fn deref(&self) -> &PolicyFile {
        &self.file
    }
}

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

/// Why a policy cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("policy file {}: {source}", path.display())]
    InFile {
        path: PathBuf,
        source: Box<PolicyError>,
    },
    /// Syntax, a missing or unknown key, an unknown action/intent/language name; the message
    /// gives the line and column.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("{key} = {value} is outside [0, 1]")]
    OutOfRange { key: String, value: f64 },
    #[error("{key} = 0, but it must be at least 1: {why}")]
    Zero { key: String, why: &'static str },
    #[error("rule {rule} can never fire: {why}")]
    NeverFires { rule: RuleId, why: String },
    #[error("thresholds.{key} = 0 makes rule {rule} fire on every comment, so the rules after it can never fire")]
    ShadowsLaterRules { key: &'static str, rule: RuleId },
    #[error("rules.{rule}: {why}")]
    Outcome { rule: RuleId, why: String },
    #[error("{key} = {keyword:?} has no letters or digits to match")]
    EmptyKeyword { key: String, keyword: String },
    #[error("templates.{action} has no variants for {lang}{}", missing_fallback(*.fallback))]
    MissingTemplates {
        action: Action,
        lang: Lang,
        fallback: Option<Lang>,
    },
    #[error("{key}: {problem}")]
    Template {
        key: String,
        problem: TemplateProblem,
    },
}

fn missing_fallback(fallback: Option<Lang>) -> String {
    match fallback {
        None => ", and no fallback_lang is set".to_string(),
        Some(lang) => format!(", nor for fallback_lang {lang}"),
    }
}

impl Policy {
    /// The policy compiled into tact.
    pub fn default_policy() -> Policy {
        Policy::from_toml_str(DEFAULT_POLICY_TOML).expect("the default policy is valid")
    }

    /// Parses and validates a policy.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        let policy = Policy {
            file: toml::from_str(text)?,
        };
        policy.validate()?;
        Ok(policy)
    }

    /// Reads, parses and validates a policy file; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::from_toml_str(&text).map_err(|source| PolicyError::InFile {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// The action a rule decides under this policy.
    pub fn action_of(&self, rule: RuleId) -> Action {
        self.rules.get(rule).action
    }

    /// The accuracy wanted from automated decisions.
    pub fn automated_accuracy(&self) -> f64 {
        self.thresholds.automated_accuracy
    }

    /// The canonical TOML of the policy: every key, in a fixed order, without comments.
    /// Reading it back gives the same policy.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(&self.file).expect("a policy is plain TOML data")
    }

    /// sha256 (hex) of [`Policy::to_toml_string`]: identifies the policy in force regardless
    /// of the comments and layout of the file it came from.
    pub fn digest(&self) -> String {
        Sha256::digest(self.to_toml_string().as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default policy's text with one line replaced; panics if the line is not there.
    fn default_with(line: &str, replacement: &str) -> String {
        assert!(DEFAULT_POLICY_TOML.contains(line), "no line {line:?}");
        DEFAULT_POLICY_TOML.replacen(line, replacement, 1)
    }

    /// The default policy with one value set (or removed, with `None`) at a dotted path.
    fn edited(path: &str, value: Option<toml::Value>) -> Result<Policy, PolicyError> {
        let mut table: toml::Table = toml::from_str(DEFAULT_POLICY_TOML).unwrap();
        let (parents, last) = path.rsplit_once('.').unwrap_or(("", path));
        let mut node = &mut table;
        for key in parents.split('.').filter(|k| !k.is_empty()) {
            node = node
                .entry(key)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .unwrap();
        }
        match value {
            Some(value) => node.insert(last.to_string(), value),
            None => node.remove(last),
        };
        Policy::from_toml_str(&toml::to_string(&table).unwrap())
    }

    fn error(path: &str, value: Option<toml::Value>) -> String {
        edited(path, value).unwrap_err().to_string()
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.contains(needle)).unwrap() + 1
    }

    #[test]
    fn default_policy_round_trips_through_its_canonical_toml() {
        let policy = Policy::default_policy();
        let canonical = policy.to_toml_string();
        assert_eq!(Policy::from_toml_str(&canonical).unwrap(), policy);
        assert!(canonical.contains("[rules.complaint-rsr]"), "{canonical}");
        assert!(
            !canonical.contains('#'),
            "the canonical form has no comments"
        );
    }

    #[test]
    fn digest_identifies_the_policy_not_its_layout() {
        let policy = Policy::default_policy();
        let digest = policy.digest();
        assert_eq!(digest.len(), 64);
        assert!(digest
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        let relaid = Policy::from_toml_str(&policy.to_toml_string()).unwrap();
        assert_eq!(relaid.digest(), digest);
        let stricter = edited("thresholds.spam", Some(0.7.into())).unwrap();
        assert_ne!(stricter.digest(), digest);
    }

    #[test]
    fn threshold_outside_unit_interval_names_the_key() {
        assert_eq!(
            error("thresholds.abuse_delete", Some(1.3.into())),
            "thresholds.abuse_delete = 1.3 is outside [0, 1]"
        );
        assert_eq!(
            error("signals.shout_caps_ratio", Some((-0.1).into())),
            "signals.shout_caps_ratio = -0.1 is outside [0, 1]"
        );
    }

    #[test]
    fn unknown_action_is_reported_with_its_line() {
        let text = default_with(
            "action = \"delete_and_ban\"",
            "action = \"delete_and_bann\"",
        );
        let message = Policy::from_toml_str(&text).unwrap_err().to_string();
        let line = line_of(&text, "delete_and_bann");
        assert!(message.contains(&format!("line {line}")), "{message}");
        assert!(
            message.contains("unknown variant `delete_and_bann`"),
            "{message}"
        );
        assert!(
            message.contains("`delete_and_ban`"),
            "lists the choices: {message}"
        );
    }

    #[test]
    fn templates_for_an_unknown_or_silent_action_are_rejected() {
        let text = default_with("[templates.thank]", "[templates.thanks]");
        let message = Policy::from_toml_str(&text).unwrap_err().to_string();
        assert!(message.contains("unknown field `thanks`"), "{message}");
        assert!(message.contains(&format!("line {}", line_of(&text, "[templates.thanks]"))));
        let silent = error("templates.wait.en", Some(vec!["Hold on"].into()));
        assert!(silent.contains("unknown field `wait`"), "{silent}");
    }

    #[test]
    fn misspelt_keys_are_not_ignored() {
        let message = error("thresholds.abuse_delet", Some(0.9.into()));
        assert!(message.contains("unknown field `abuse_delet`"), "{message}");
        let missing = error("thresholds.automated_accuracy", None);
        assert!(
            missing.contains("missing field `automated_accuracy`"),
            "{missing}"
        );
    }

    #[test]
    fn syntax_errors_give_the_line() {
        let text = default_with("automated_accuracy = 0.90", "automated_accuracy = 0.90.1");
        let message = Policy::from_toml_str(&text).unwrap_err().to_string();
        let line = line_of(&text, "automated_accuracy = 0.90.1");
        assert!(message.contains(&format!("line {line}")), "{message}");
    }

    #[test]
    fn review_threshold_must_be_below_delete_threshold() {
        assert_eq!(
            error("thresholds.abuse_review", Some(0.9.into())),
            "rule abuse-review can never fire: thresholds.abuse_review = 0.9 is not below \
             thresholds.abuse_delete = 0.7"
        );
    }

    #[test]
    fn a_zero_threshold_shadows_the_rules_after_it() {
        assert_eq!(
            error("thresholds.spam", Some(0.0.into())),
            "thresholds.spam = 0 makes rule spam-hide fire on every comment, so the rules \
             after it can never fire"
        );
        // The last rule of the ordered pass shadows the uncertain fallback.
        assert!(matches!(
            edited("thresholds.other", Some(0.0.into())),
            Err(PolicyError::ShadowsLaterRules {
                rule: RuleId::OtherAcknowledge,
                ..
            })
        ));
    }

    #[test]
    fn rules_left_without_keywords_or_intents_can_never_fire() {
        assert_eq!(
            error("keywords.crisis", Some(toml::Table::new().into())),
            "rule complaint-escalate can never fire: keywords.crisis is empty"
        );
        assert_eq!(
            error("keywords.simple_request", Some(toml::Table::new().into())),
            "rule answer-bot can never fire: keywords.simple_request is empty"
        );
        let empty: Vec<String> = Vec::new();
        assert_eq!(
            error("signals.risky_intents", Some(empty.into())),
            "rule uncertain-escalate can never fire: signals.risky_intents is empty"
        );
    }

    #[test]
    fn a_ban_needs_words() {
        assert_eq!(
            error("signals.ban_min_words", Some(0.into())),
            "signals.ban_min_words = 0, but it must be at least 1: an emoji alone could get its \
             author banned"
        );
    }

    #[test]
    fn rsra_needs_at_least_one_brand_answer() {
        assert_eq!(
            error("signals.min_brand_replies", Some(0.into())),
            "signals.min_brand_replies = 0, but it must be at least 1: rsra-wait would silence \
             comments the brand never answered"
        );
    }

    #[test]
    fn outcomes_must_fit_their_action() {
        assert_eq!(
            error("rules.troll-ignore.responder", Some("agent".into())),
            "rules.troll-ignore: action ignore posts no reply, so it takes no responder"
        );
        // Hiding may be followed by a private message, and only a private one.
        assert_eq!(
            error("rules.spam-hide.responder", Some("agent".into())),
            "rules.spam-hide: action hide with a responder replies in private, so its channel \
             must be \"private\""
        );
        assert_eq!(
            error("rules.personal-data-hide.respond_within_minutes", None),
            "rules.personal-data-hide: action hide replies, so it needs respond_within_minutes"
        );
        assert_eq!(
            error("rules.complaint-rsr.responder", None),
            "rules.complaint-rsr: action resolve replies, so it needs a responder"
        );
        assert_eq!(
            error("rules.praise-thank.channel", Some("none".into())),
            "rules.praise-thank: action thank replies, so its channel cannot be \"none\""
        );
        assert_eq!(
            error("rules.troll-ignore.respond_within_minutes", Some(10.into())),
            "rules.troll-ignore: action ignore asks nothing of anyone, so it takes no \
             respond_within_minutes"
        );
    }

    #[test]
    fn keywords_need_something_to_match() {
        assert_eq!(
            error("keywords.crisis.en", Some(vec!["police", "!!"].into())),
            "keywords.crisis.en #2 = \"!!\" has no letters or digits to match"
        );
    }

    #[test]
    fn every_language_needs_templates_unless_a_fallback_has_them() {
        assert_eq!(
            error("templates.resolve.bg", None),
            "templates.resolve has no variants for bg, and no fallback_lang is set"
        );
        let mut table: toml::Table = toml::from_str(DEFAULT_POLICY_TOML).unwrap();
        table["templates"]["resolve"]
            .as_table_mut()
            .unwrap()
            .remove("bg");
        table.insert("fallback_lang".into(), "en".into());
        let with_fallback = toml::to_string(&table).unwrap();
        assert!(Policy::from_toml_str(&with_fallback).is_ok());
        table.insert("fallback_lang".into(), "bg".into());
        let message = Policy::from_toml_str(&toml::to_string(&table).unwrap())
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "templates.resolve has no variants for bg, nor for fallback_lang bg"
        );
    }

    #[test]
    fn template_placeholders_must_be_known_and_set() {
        let variants = vec!["Спасибо!", "Спасибо, {brnd}!"];
        assert_eq!(
            error("templates.thank.ru", Some(variants.into())),
            "templates.thank.ru #2: unknown placeholder {brnd} (known: {brand}, \
             {support_email}, {support_phone}, {hours})"
        );
        let message = error("brand.support_phone", None);
        assert!(
            message.ends_with("{support_phone} is used but brand.support_phone is not set"),
            "{message}"
        );
    }

    #[test]
    fn load_names_the_file() {
        let path = std::env::temp_dir().join(format!("tact-policy-{}.toml", std::process::id()));
        std::fs::write(&path, default_with("spam = 0.60", "spam = 2.0")).unwrap();
        let message = Policy::load(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            message,
            format!(
                "policy file {}: thresholds.spam = 2 is outside [0, 1]",
                path.display()
            )
        );
        let missing = Policy::load(&path).unwrap_err().to_string();
        assert!(
            missing.starts_with(&format!("cannot read policy file {}", path.display())),
            "{missing}"
        );
    }
}
