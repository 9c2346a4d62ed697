//! Comment → decision, end to end: the one path every front end (HTTP, archive scorer,
//! `tact decide`, the evaluator) goes through, split in three steps so a server can run them
//! where they belong: [`Pipeline::prepare`] (language, tokenisation: cheap, any thread),
//! [`Pipeline::infer`] (the model: its own thread, batched), [`Pipeline::decide`] (the
//! playbook: pure). It reaches the model only through [`Backend`].

use crate::classify::{Backend, Classified, Classifier};
use crate::comment::Comment;
use crate::labels::Lang;
use crate::model::batching::in_input_order;
use crate::model::{ModelError, Tokens};
use crate::playbook::{Calibration, Cut, Decision, History, Input, Playbook};
use serde::{Deserialize, Serialize};
use sha2::Digest;

/// A comment ready for the model.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub comment: Comment,
    /// Given by the caller, or detected.
    pub lang: Lang,
    pub tokens: Tokens,
}

/// The Decision JSON of SPEC §3, plus what the encoder saw of the text.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Decided {
    #[serde(flatten)]
    pub decision: Decision,
    /// Tokens the model read (including specials and the `query: ` prefix).
    pub tokens: usize,
    /// The text was longer than the token limit; the decision rests on its first and last
    /// tokens (see `reasons`).
    pub truncated: bool,
    /// The id the store records the decision under (`GET /v1/decisions/{id}`, feedback);
    /// absent where no store is in use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_id: Option<String>,
    /// `unavailable` when the store could not be read or written: the decision stands on the
    /// comment and its thread alone and is not in the audit log; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryStatus>,
}

/// What became of the author's history for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryStatus {
    Unavailable,
}

/// The model and the playbook; the model is the real [`Classifier`] but for tests on a fake.
pub struct Pipeline<B = Classifier> {
    pub classifier: B,
    pub playbook: Playbook,
}

impl<B: Backend> Pipeline<B> {
    /// Puts the model and the playbook together, the decision confidence calibrated with the
    /// calibration that came with the heads (if any).
    pub fn new(classifier: B, playbook: Playbook) -> Result<Self, ModelError> {
        let calibration = decision_calibration(classifier.heads()).map_err(|e| {
            ModelError::Config(format!("the heads' decision calibration is invalid: {e}"))
        })?;
        if let Some(c) = &calibration {
            if c.policy_digest != playbook.policy().digest() {
                tracing::warn!(
                    "the decision calibration was fitted with another policy; run `tact calibrate` with this one"
                );
            }
        }
        Ok(Self {
            playbook: playbook.calibrated(calibration),
            classifier,
        })
    }

    pub fn prepare(&self, comment: Comment) -> Result<Prepared, ModelError> {
        let lang = comment
            .lang
            .unwrap_or_else(|| crate::lang::detect(&comment.text));
        let tokens = self.classifier.tokenize(&comment.text)?;
        Ok(Prepared {
            comment,
            lang,
            tokens,
        })
    }

    /// One forward pass over a batch of prepared comments.
    pub fn infer(&self, batch: &[&Prepared]) -> Result<Vec<Classified>, ModelError> {
        let tokens: Vec<&Tokens> = batch.iter().map(|p| &p.tokens).collect();
        self.classifier.classify_tokens(&tokens)
    }

    pub fn decide(&self, prepared: &Prepared, classified: &Classified) -> Decided {
        self.decide_with(prepared, classified, None)
    }

    /// Decides with the author's history as a store knows it (merged with the thread's).
    pub fn decide_with(
        &self,
        prepared: &Prepared,
        classified: &Classified,
        stored: Option<History>,
    ) -> Decided {
        let thread = History::from_thread(&prepared.comment.thread);
        Decided {
            decision: self.playbook.decide_input(&Input {
                comment: &prepared.comment,
                lang: prepared.lang,
                scores: &classified.scores,
                history: Some(thread.or_stored(stored)),
                cut: classified.cut.map(|c| Cut {
                    head: c.head,
                    tail: c.tail,
                    total: c.total,
                }),
            }),
            tokens: classified.tokens,
            truncated: classified.truncated,
            decision_id: None,
            history: None,
        }
    }

    /// What decided, for the audit log: the encoder's weight format and a digest of the heads'
    /// card (which names their training run, adapters and calibration).
    pub fn model_version(&self) -> String {
        let card = serde_json::to_vec(&self.classifier.heads().card).unwrap_or_default();
        let digest = sha2::Sha256::digest(&card);
        let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
        let format = format!("{:?}", self.classifier.encoder_info().weight_format);
        format!("e5-small-{}+heads-{hex}", format.to_lowercase())
    }

    /// Prepares, infers (length-sorted batches) and decides, keeping the input order.
    pub fn decide_all(
        &self,
        comments: Vec<Comment>,
        batch_size: usize,
    ) -> Result<Vec<Decided>, ModelError> {
        let prepared = comments
            .into_iter()
            .map(|c| self.prepare(c))
            .collect::<Result<Vec<_>, _>>()?;
        let tokens: Vec<&Tokens> = prepared.iter().map(|p| &p.tokens).collect();
        let classified = in_input_order(&tokens, batch_size, |batch| {
            self.classifier.classify_tokens(batch)
        })?;
        Ok(prepared
            .iter()
            .zip(&classified)
            .map(|(p, c)| self.decide(p, c))
            .collect())
    }
}

/// The decision-confidence calibration that travels in the heads' card, if any.
pub fn decision_calibration(
    heads: &crate::model::Heads,
) -> Result<Option<Calibration>, serde_json::Error> {
    heads
        .card
        .decisions
        .clone()
        .map(serde_json::from_value)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::fake::FakeBackend;
    use crate::playbook::Policy;

    fn pipeline(model: FakeBackend) -> Pipeline<FakeBackend> {
        Pipeline::new(model, Playbook::new(Policy::default_policy())).unwrap()
    }

    fn comments(texts: &[&str]) -> Vec<Comment> {
        texts
            .iter()
            .map(|t| Comment {
                text: t.to_string(),
                lang: Some(Lang::En),
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn decisions_come_back_in_input_order_across_length_sorted_batches() {
        let p = pipeline(FakeBackend::default());
        let texts = ["one two three four", "one", "one two three", "one two"];
        let decided = p.decide_all(comments(&texts), 2).unwrap();
        let tokens: Vec<usize> = decided.iter().map(|d| d.tokens).collect();
        assert_eq!(tokens, [6, 3, 5, 4]);
        assert!(decided.iter().all(|d| d.decision.lang == Lang::En));
    }

    #[test]
    fn a_tokenizer_failure_fails_the_call_before_the_model_runs() {
        let p = pipeline(FakeBackend {
            fail_tokenizing: Some("bad"),
            ..FakeBackend::default()
        });
        let err = p
            .decide_all(comments(&["fine", "a bad one"]), 8)
            .unwrap_err();
        assert!(err.to_string().contains("tokenizer"), "{err}");
    }

    #[test]
    fn a_model_failure_is_the_callers_error() {
        let p = pipeline(FakeBackend {
            fail_scoring: true,
            ..FakeBackend::default()
        });
        let prepared = p.prepare(comments(&["fine"]).remove(0)).unwrap();
        assert!(p.infer(&[&prepared]).is_err());
        let err = p.decide_all(comments(&["fine"]), 8).unwrap_err();
        assert_eq!(err.to_string(), "inference: fake failure");
    }
}
