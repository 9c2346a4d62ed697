//! The reply linter: checks a person's draft reply against the guidelines of SPEC §1 before it
//! is posted — never accuse the customer, show emotion, insult, belittle the problem, joke
//! about it or deflect vaguely; answer a complaint with respond–apologise–resolve, in the
//! commenter's language, calmly, without repeating their personal data. Pure code over plain
//! data: the draft, what it answers, and (optionally) the encoder's scores of the draft: its
//! sentiment and abusive heads, and the reply head's per sentence ([`sentences`]).
//!
//! Spans are **Unicode character offsets** (code points, what JavaScript's `Array.from(text)`
//! indexes), start inclusive, end exclusive. Findings name the kind of personal data, never
//! its value, and the linter logs nothing about the text.

mod detect;
mod messages;
mod text;

use super::personal::Published;
use super::policy_schema::{Brand, Lint, LintPhrases, PerLang};
use crate::labels::{Intent, Lang};
use serde::{Deserialize, Serialize};
use text::Phrase;

pub use messages::message;

/// A guideline a reply can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Accusing,
    Emotional,
    Insulting,
    Dismissive,
    JokingAboutProblem,
    VagueDeflection,
    MissingApology,
    MissingNextStep,
    WrongLanguage,
    PersonalData,
    Shouting,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Accusing,
        Kind::Emotional,
        Kind::Insulting,
        Kind::Dismissive,
        Kind::JokingAboutProblem,
        Kind::VagueDeflection,
        Kind::MissingApology,
        Kind::MissingNextStep,
        Kind::WrongLanguage,
        Kind::PersonalData,
        Kind::Shouting,
    ];

    /// The kinds a sentence's meaning breaks (the first six of [`Kind::ALL`]): what the reply
    /// head learns.
    pub const MEANING: &'static [Kind] = Kind::ALL.split_at(6).0;

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Accusing => "accusing",
            Kind::Emotional => "emotional",
            Kind::Insulting => "insulting",
            Kind::Dismissive => "dismissive",
            Kind::JokingAboutProblem => "joking_about_problem",
            Kind::VagueDeflection => "vague_deflection",
            Kind::MissingApology => "missing_apology",
            Kind::MissingNextStep => "missing_next_step",
            Kind::WrongLanguage => "wrong_language",
            Kind::PersonalData => "personal_data",
            Kind::Shouting => "shouting",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// Errors break a guideline outright; warnings are something missing or overdone.
    pub fn severity(self) -> Severity {
        match self {
            Kind::MissingApology
            | Kind::MissingNextStep
            | Kind::VagueDeflection
            | Kind::Shouting => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One broken guideline, where it is, and what to write instead, in the reply's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    /// `[start, end)` in Unicode characters of the reply.
    pub span: [usize; 2],
    pub message: String,
    pub suggestion: String,
}

/// Respond, apologise, resolve: which parts of RSR the reply has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rsr {
    pub respond: bool,
    pub apologise: bool,
    pub resolve: bool,
}

/// The linter's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// No finding at all.
    pub ok: bool,
    pub findings: Vec<Finding>,
    pub rsr: Rsr,
}

/// The encoder's heads on the reply itself, as plain numbers.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplyScores {
    /// Probability that the reply's sentiment is negative.
    pub negative: f64,
    pub abusive: f64,
    /// The reply head's probabilities for each sentence of [`sentences`], in order.
    pub sentences: Vec<SentenceFaults>,
}

/// The reply head on one sentence of the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceFaults {
    /// `[start, end)` in Unicode characters of the reply, as [`sentences`] gives it.
    pub span: [usize; 2],
    /// Probability per kind the head knows.
    pub faults: Vec<(Kind, f64)>,
}

/// The reply's sentences, `[start, end)` in Unicode characters: what the reply head scores
/// one at a time.
pub fn sentences(reply: &str) -> Vec<[usize; 2]> {
    text::Text::new(reply, Lang::En)
        .sentences
        .iter()
        .map(|s| [s.start, s.end])
        .collect()
}

/// A draft reply and what is known of what it answers.
#[derive(Debug, Clone, Copy, Default)]
pub struct Draft<'a> {
    pub reply: &'a str,
    /// The comment it answers.
    pub comment: Option<&'a str>,
    /// The comment's intent, when known (given, or from the model).
    pub intent: Option<Intent>,
    /// The language the reply must be in (the comment's); detected from the comment when
    /// `None`.
    pub lang: Option<Lang>,
    pub scores: Option<&'a ReplyScores>,
}

/// One language's phrase lists, compiled.
#[derive(Debug, Clone, Default)]
struct Lists {
    accusing: Vec<Phrase>,
    emotional: Vec<Phrase>,
    insulting: Vec<Phrase>,
    dismissive: Vec<Phrase>,
    joking: Vec<Phrase>,
    vague_deflection: Vec<Phrase>,
    apology: Vec<Phrase>,
    next_step: Vec<Phrase>,
    personal: Vec<Phrase>,
    brand_line: Vec<Phrase>,
}

/// A phrase of `[lint]` that has nothing to match: its key (`lint.phrases.LIST.LANG #N`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyPhrase {
    pub key: String,
    pub phrase: String,
}

/// The linter of a policy: its `[lint]` lists compiled, its brand's own contacts known.
#[derive(Debug, Clone)]
pub struct Linter {
    /// Indexed like [`Lang::ALL`].
    lists: Vec<Lists>,
    published: Published,
    emotional_negative: f64,
    insulting_abusive: f64,
    head_min: f64,
    shout_min_exclamations: usize,
    shout_min_letters: usize,
}

fn compile(list: &PerLang, lang: Lang) -> Vec<Phrase> {
    list.get(lang)
        .iter()
        .filter_map(|p| Phrase::parse(p, lang))
        .collect()
}

impl Linter {
    /// Compiles `[lint]`; a phrase with nothing to match is an error naming it.
    pub fn new(lint: &Lint, brand: &Brand) -> Result<Linter, EmptyPhrase> {
        check_phrases(&lint.phrases)?;
        let p = &lint.phrases;
        let lists = Lang::ALL
            .iter()
            .map(|&lang| Lists {
                accusing: compile(&p.accusing, lang),
                emotional: compile(&p.emotional, lang),
                insulting: compile(&p.insulting, lang),
                dismissive: compile(&p.dismissive, lang),
                joking: compile(&p.joking, lang),
                vague_deflection: compile(&p.vague_deflection, lang),
                apology: compile(&p.apology, lang),
                next_step: compile(&p.next_step, lang),
                personal: compile(&p.personal, lang),
                brand_line: compile(&p.brand_line, lang),
            })
            .collect();
        Ok(Linter {
            lists,
            published: Published::new(
                brand.support_phone.as_deref(),
                brand.support_email.as_deref(),
            ),
            emotional_negative: lint.emotional_negative,
            insulting_abusive: lint.insulting_abusive,
            head_min: lint.head_min,
            shout_min_exclamations: lint.shout_min_exclamations as usize,
            shout_min_letters: lint.shout_min_letters as usize,
        })
    }

    /// Lints a draft reply.
    pub fn lint(&self, draft: &Draft) -> Report {
        detect::lint(self, draft)
    }
}

fn check_phrases(phrases: &LintPhrases) -> Result<(), EmptyPhrase> {
    for (name, list) in phrases.named() {
        for &lang in Lang::ALL {
            for (i, phrase) in list.get(lang).iter().enumerate() {
                if Phrase::parse(phrase, lang).is_none() {
                    return Err(EmptyPhrase {
                        key: format!("lint.phrases.{name}.{lang} #{}", i + 1),
                        phrase: phrase.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
