//! Test fixtures of the playbook's decisions: scores with a dominant intent, comments,
//! threads, and the default playbook to decide with.

use super::{Decision, Playbook, Policy, DEFAULT_POLICY_TOML};
use crate::comment::{Comment, Scores, ThreadMessage};
use crate::labels::{Intent, Lang};

/// Scores with one dominant intent; the rest of the mass spread evenly, a neutral author.
pub(crate) fn scores(intent: Intent, p: f32) -> Scores {
    let mut scores = Scores {
        intent: [(1.0 - p) / 8.0; 9],
        sentiment: [0.2, 0.6, 0.2],
        abusive: 0.02,
        labels: None,
        follow_up: None,
    };
    scores.intent[intent.index()] = p;
    scores
}

/// Sets the negative sentiment, the rest mostly neutral.
pub(super) fn negative(mut scores: Scores, p: f32) -> Scores {
    scores.sentiment = [p, (1.0 - p) * 0.8, (1.0 - p) * 0.2];
    scores
}

/// Scores split between two intents.
pub(super) fn split(a: Intent, pa: f32, b: Intent, pb: f32) -> Scores {
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

pub(super) fn comment(id: &str, text: &str) -> Comment {
    Comment {
        id: Some(id.to_string()),
        text: text.to_string(),
        ..Comment::default()
    }
}

pub(super) fn answered_thread() -> Vec<ThreadMessage> {
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

pub(super) fn playbook() -> Playbook {
    Playbook::new(Policy::default_policy())
}

pub(super) fn decide(text: &str, lang: Lang, scores: &Scores) -> Decision {
    playbook().decide(&comment("c-1", text), lang, scores)
}

/// The default policy with one line replaced; panics if the line is not there.
pub(super) fn policy_with(line: &str, replacement: &str) -> Policy {
    assert!(DEFAULT_POLICY_TOML.contains(line), "no line {line:?}");
    Policy::from_toml_str(&DEFAULT_POLICY_TOML.replacen(line, replacement, 1)).unwrap()
}
