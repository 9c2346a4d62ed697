//! The input of SPEC §4 — one comment with what is known of its thread — and the scores the
//! model gives it (SPEC §2). Both are plain data: the classifier fills [`Scores`], the playbook
//! reads both.

use crate::labels::{Intent, Lang, Sentiment};
use serde::{Deserialize, Serialize};

/// One earlier message of the conversation, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadMessage {
    pub text: String,
    #[serde(default)]
    pub from_brand: bool,
}

/// A comment to decide on. Only `text` is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<Lang>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<ThreadMessage>,
}

/// Calibrated probabilities for one comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// One probability per intent, indexed like [`Intent::ALL`]; sums to 1.
    pub intent: [f32; 9],
    /// One probability per sentiment, indexed like [`Sentiment::ALL`]; sums to 1.
    pub sentiment: [f32; 3],
    /// Independent probability that the comment is abusive.
    pub abusive: f32,
    /// Independent probabilities of the corpora's binary labels, indexed like
    /// `CORPUS_LABELS` of the data module, where the heads have that head; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<[f32; 5]>,
    /// Read after a brand answer: the probability that this follow-up keeps attacking or
    /// stays unsatisfied (RSRA's `wait`), from a head trained on labelled follow-ups; `None`
    /// for heads without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up: Option<f32>,
}

impl Scores {
    pub fn intent_of(&self, intent: Intent) -> f32 {
        self.intent[intent.index()]
    }

    pub fn sentiment_of(&self, sentiment: Sentiment) -> f32 {
        self.sentiment[sentiment.index()]
    }

    /// The most probable intent and its probability.
    pub fn top_intent(&self) -> (Intent, f32) {
        argmax(&self.intent, Intent::ALL)
    }

    /// The most probable sentiment and its probability.
    pub fn top_sentiment(&self) -> (Sentiment, f32) {
        argmax(&self.sentiment, Sentiment::ALL)
    }
}

fn argmax<L: Copy>(probs: &[f32], labels: &[L]) -> (L, f32) {
    let (i, p) =
        probs.iter().enumerate().fold(
            (0, f32::MIN),
            |best, (i, &p)| if p > best.1 { (i, p) } else { best },
        );
    (labels[i], p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_is_required() {
        let c: Comment = serde_json::from_str(r#"{"text": "salut"}"#).unwrap();
        assert_eq!(c.text, "salut");
        assert!(c.id.is_none() && c.lang.is_none() && c.thread.is_empty());
    }

    #[test]
    fn top_labels() {
        let mut s = Scores {
            intent: [0.0; 9],
            sentiment: [0.2, 0.3, 0.5],
            abusive: 0.1,
            labels: None,
            follow_up: None,
        };
        s.intent[Intent::Spam.index()] = 0.7;
        s.intent[Intent::Other.index()] = 0.3;
        assert_eq!(s.top_intent(), (Intent::Spam, 0.7));
        assert_eq!(s.top_sentiment(), (Sentiment::Positive, 0.5));
    }
}
