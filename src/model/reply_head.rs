//! The reply head: what the reply linter learns from labelled draft replies
//! (`datasets/replies`) beyond its phrase lists. One logistic regression per fault kind over
//! the unit mean states of the encoder's layers named in its card (concatenated; the sentence
//! vector for a card without layers) of **one sentence** of a draft; each kind's bias is shifted so
//! that 0.5 is the threshold picked on the calibration split. `tact lint --train` writes it to
//! `models/reply_head.json` (committed, compiled in); the model layer knows the kinds only by
//! name, their meaning is the playbook's.

use super::ModelError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const BUILTIN: &str = include_str!("../../models/reply_head.json");

/// What the head is and how it was made, for `/v1/info` and the model card.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReplyHeadCard {
    pub embedding_dim: usize,
    pub trained_at: String,
    pub command: String,
    /// `trained_at` of the heads (and so of the adapters) whose encoder made the vectors: a
    /// head trained on another encoder's vectors is stale.
    pub encoder_heads_trained_at: String,
    /// The encoder layers (counted from 1) whose unit means, concatenated, the head reads;
    /// empty: the sentence embedding alone (heads written before it existed).
    #[serde(default)]
    pub layers: Vec<usize>,
    /// Free-form facts: sentences per split, calibration figures per kind.
    #[serde(default)]
    pub training: serde_json::Value,
}

/// One kind's logistic regression.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindWeights {
    pub kind: String,
    pub weights: Vec<f32>,
    pub bias: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplyHead {
    pub card: ReplyHeadCard,
    pub kinds: Vec<KindWeights>,
}

impl ReplyHead {
    /// The head committed in `models/`; `None` when it has no kinds.
    pub fn builtin() -> Result<Option<Self>, ModelError> {
        let head = Self::parse(Path::new("models/reply_head.json"), BUILTIN)?;
        Ok((!head.kinds.is_empty()).then_some(head))
    }

    /// A head from a file written by `tact lint --train`.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let json = std::fs::read_to_string(path).map_err(|e| err(path, e.to_string()))?;
        Self::parse(path, &json)
    }

    fn parse(path: &Path, json: &str) -> Result<Self, ModelError> {
        let head: ReplyHead = serde_json::from_str(json).map_err(|e| err(path, e.to_string()))?;
        for k in &head.kinds {
            if k.weights.len() != head.card.embedding_dim {
                return Err(err(
                    path,
                    format!(
                        "kind {}: {} weights for {}-dimensional vectors",
                        k.kind,
                        k.weights.len(),
                        head.card.embedding_dim
                    ),
                ));
            }
            if !k.bias.is_finite() || k.weights.iter().any(|w| !w.is_finite()) {
                return Err(err(
                    path,
                    format!("kind {}: a weight is not finite", k.kind),
                ));
            }
        }
        Ok(head)
    }

    /// Writes the head as JSON.
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let json = serde_json::to_string_pretty(self).map_err(|e| err(path, e.to_string()))?;
        std::fs::write(path, json + "\n").map_err(|e| err(path, e.to_string()))
    }

    /// How many vectors of the encoder's width the head reads.
    pub fn depths(&self) -> usize {
        self.card.layers.len().max(1)
    }

    /// Each kind's probability for one sentence's features, in the order of `kinds`.
    pub fn scores(&self, embedding: &[f32]) -> Vec<f32> {
        self.kinds
            .iter()
            .map(|k| sigmoid(dot(&k.weights, embedding) + k.bias))
            .collect()
    }
}

fn err(path: &Path, message: String) -> ModelError {
    ModelError::Heads {
        path: PathBuf::from(path),
        message,
    }
}

pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(weights: Vec<f32>, bias: f32) -> ReplyHead {
        ReplyHead {
            card: ReplyHeadCard {
                embedding_dim: 2,
                ..ReplyHeadCard::default()
            },
            kinds: vec![KindWeights {
                kind: "accusing".to_string(),
                weights,
                bias,
            }],
        }
    }

    #[test]
    fn scores_are_the_logistic_of_each_kind() {
        let h = head(vec![1.0, -2.0], 0.5);
        let p = h.scores(&[1.0, 1.0])[0];
        assert!((p - sigmoid(-0.5)).abs() < 1e-6, "{p}");
    }

    #[test]
    fn saved_heads_load_back_and_bad_ones_are_refused_naming_the_kind() {
        let dir = std::env::temp_dir().join(format!("tact-reply-head-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("reply_head.json");
        head(vec![0.25, 0.5], 1.0).save(&path).unwrap();
        let back = ReplyHead::load(&path).unwrap();
        assert_eq!(back.kinds[0].weights, vec![0.25, 0.5]);

        head(vec![0.25], 1.0).save(&path).unwrap();
        let e = ReplyHead::load(&path).unwrap_err().to_string();
        assert!(
            e.contains("kind accusing: 1 weights for 2-dimensional"),
            "{e}"
        );
        head(vec![f32::NAN, 0.0], 1.0).save(&path).unwrap_or(());
        // serde_json writes NaN as null, which does not parse back as a weight.
        assert!(ReplyHead::load(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
