//! Comment → decision, end to end: the one path every front end (HTTP, archive scorer,
//! `tact decide`, the evaluator) goes through, split in three steps so a server can run them
//! where they belong: [`Pipeline::prepare`] (language, tokenisation: cheap, any thread),
//! [`Pipeline::infer`] (the model: its own thread, batched), [`Pipeline::decide`] (the
//! playbook: pure).

use crate::classify::{length_sorted_batches, Classified, Classifier};
use crate::comment::Comment;
use crate::labels::Lang;
use crate::model::{ModelError, Tokens};
use crate::playbook::{Calibration, Cut, Decision, Input, Playbook};
use serde::{Deserialize, Serialize};

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
}

pub struct Pipeline {
    pub classifier: Classifier,
    pub playbook: Playbook,
}

impl Pipeline {
    /// Puts the model and the playbook together, the decision confidence calibrated with the
    /// calibration that came with the heads (if any).
    pub fn new(classifier: Classifier, playbook: Playbook) -> Result<Self, ModelError> {
        let calibration = decision_calibration(&classifier.heads).map_err(|e| {
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
        let tokens: Vec<Tokens> = batch.iter().map(|p| p.tokens.clone()).collect();
        self.classifier.classify_tokens(&tokens)
    }

    pub fn decide(&self, prepared: &Prepared, classified: &Classified) -> Decided {
        Decided {
            decision: self.playbook.decide_input(&Input {
                comment: &prepared.comment,
                lang: prepared.lang,
                scores: &classified.scores,
                history: None,
                cut: classified.cut.map(|c| Cut {
                    head: c.head,
                    tail: c.tail,
                    total: c.total,
                }),
            }),
            tokens: classified.tokens,
            truncated: classified.truncated,
        }
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
        let tokens: Vec<Tokens> = prepared.iter().map(|p| p.tokens.clone()).collect();
        let mut out: Vec<Option<Decided>> = vec![None; prepared.len()];
        for chunk in length_sorted_batches(&tokens, batch_size) {
            let batch: Vec<&Prepared> = chunk.iter().map(|&i| &prepared[i]).collect();
            for (&i, c) in chunk.iter().zip(self.infer(&batch)?) {
                out[i] = Some(self.decide(&prepared[i], &c));
            }
        }
        Ok(out
            .into_iter()
            .map(|d| d.expect("every comment is in one batch"))
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
