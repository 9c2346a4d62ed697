//! Reading a policy: the canonical form and digest, and every way a file can be refused.

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
    // `#` also appears inside [lint] phrases ("within # days"): comments are whole lines.
    assert!(
        !canonical.lines().any(|l| l.trim_start().starts_with('#')),
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
