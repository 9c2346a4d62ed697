//! Why a policy cannot be used: the one error type of reading, parsing and validating a
//! policy file, each variant naming the key at fault.

use super::placeholders::TemplateProblem;
use super::vocabulary::RuleId;
use crate::labels::{Action, Lang};
use std::path::PathBuf;

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
    #[error("{key} = {phrase:?} has no word to match")]
    EmptyPhrase { key: String, phrase: String },
    #[error("{key} breaks the reply guidelines: {kinds} (the linter's findings; rewrite the template or the [lint] phrase that matched)")]
    TemplateLint { key: String, kinds: String },
    #[error("lint.{key} = {value} is outside [1, 1000]")]
    LintCount { key: &'static str, value: u32 },
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
