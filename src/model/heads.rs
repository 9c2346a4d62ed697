//! Classification heads over the encoder's sentence vectors: intent (9-way softmax),
//! sentiment (3-way softmax) and an independent `abusive` probability (sigmoid).
//!
//! Each head is a small MLP (one hidden GELU layer) followed by temperature scaling, fitted on
//! a validation split after training so that a confidence of 0.8 is right about 80% of the
//! time. The weights live in `models/heads.safetensors`, their description and temperatures in
//! `models/heads.json`; both are written by `tact train` and committed, so running tact needs
//! no training.

use super::ModelError;
use crate::comment::Scores;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The committed heads, relative to the repository (and compiled into the binary).
pub const HEADS_JSON: &str = include_str!("../../models/heads.json");
pub const HEADS_WEIGHTS: &[u8] = include_bytes!("../../models/heads.safetensors");

/// What `models/heads.json` says about the heads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeadsCard {
    pub embedding_dim: usize,
    pub hidden_dim: usize,
    /// Softmax/sigmoid temperature per head, fitted on the calibration split.
    pub temperature: Temperatures,
    pub max_tokens: usize,
    pub weight_format: String,
    pub trained_at: String,
    pub command: String,
    pub seed: u64,
    /// Free-form training facts (data counts, validation metrics) for /v1/info and the card.
    #[serde(default)]
    pub training: serde_json::Value,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Temperatures {
    pub intent: f32,
    pub sentiment: f32,
    pub abusive: f32,
}

/// One MLP head: embedding → hidden (GELU) → logits.
pub struct Mlp {
    hidden: Linear,
    out: Linear,
}

impl Mlp {
    pub fn new(
        vb: VarBuilder,
        input: usize,
        hidden: usize,
        outputs: usize,
    ) -> candle_core::Result<Self> {
        Ok(Self {
            hidden: candle_nn::linear(input, hidden, vb.pp("hidden"))?,
            out: candle_nn::linear(hidden, outputs, vb.pp("out"))?,
        })
    }

    /// Raw logits, before temperature.
    pub fn logits(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.out.forward(&self.hidden.forward(x)?.gelu_erf()?)
    }
}

/// The three heads, built from one [`VarBuilder`] (so training and inference share code).
pub struct HeadNets {
    pub intent: Mlp,
    pub sentiment: Mlp,
    pub abusive: Mlp,
}

impl HeadNets {
    pub fn new(vb: VarBuilder, input: usize, hidden: usize) -> candle_core::Result<Self> {
        Ok(Self {
            intent: Mlp::new(vb.pp("intent"), input, hidden, 9)?,
            sentiment: Mlp::new(vb.pp("sentiment"), input, hidden, 3)?,
            abusive: Mlp::new(vb.pp("abusive"), input, hidden, 1)?,
        })
    }
}

pub struct Heads {
    nets: HeadNets,
    pub card: HeadsCard,
}

impl Heads {
    /// The heads committed in `models/`, compiled into the binary.
    pub fn builtin() -> Result<Self, ModelError> {
        Self::from_parts(
            Path::new("models/heads.json"),
            HEADS_JSON,
            HEADS_WEIGHTS.to_vec(),
        )
    }

    /// Heads from a directory holding `heads.json` and `heads.safetensors`.
    pub fn load(dir: &Path) -> Result<Self, ModelError> {
        let json_path = dir.join("heads.json");
        let read_err = |path: &Path, e: std::io::Error| ModelError::Heads {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let json = std::fs::read_to_string(&json_path).map_err(|e| read_err(&json_path, e))?;
        let weights_path = dir.join("heads.safetensors");
        let weights = std::fs::read(&weights_path).map_err(|e| read_err(&weights_path, e))?;
        Self::from_parts(&json_path, &json, weights)
    }

    fn from_parts(json_path: &Path, json: &str, weights: Vec<u8>) -> Result<Self, ModelError> {
        let err = |path: PathBuf, message: String| ModelError::Heads { path, message };
        let card: HeadsCard =
            serde_json::from_str(json).map_err(|e| err(json_path.to_path_buf(), e.to_string()))?;
        let weights_path = json_path.with_file_name("heads.safetensors");
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| err(weights_path.clone(), e.to_string()))?;
        let nets = HeadNets::new(vb, card.embedding_dim, card.hidden_dim)
            .map_err(|e| err(weights_path, e.to_string()))?;
        Ok(Self { nets, card })
    }

    pub fn from_nets(nets: HeadNets, card: HeadsCard) -> Self {
        Self { nets, card }
    }

    /// Calibrated scores for a batch of sentence vectors.
    pub fn scores(&self, embeddings: &[Vec<f32>]) -> Result<Vec<Scores>, ModelError> {
        if embeddings.is_empty() {
            return Ok(Vec::new());
        }
        let dim = self.card.embedding_dim;
        let flat: Vec<f32> = embeddings.iter().flatten().copied().collect();
        let x = Tensor::from_vec(flat, (embeddings.len(), dim), &Device::Cpu)?;
        let t = self.card.temperature;
        let intent = softmax_rows(&self.nets.intent.logits(&x)?, t.intent)?;
        let sentiment = softmax_rows(&self.nets.sentiment.logits(&x)?, t.sentiment)?;
        let abusive = (self.nets.abusive.logits(&x)? / t.abusive as f64)?;
        let abusive = candle_nn::ops::sigmoid(&abusive)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(intent
            .into_iter()
            .zip(sentiment)
            .zip(abusive)
            .map(|((i, s), a)| Scores {
                intent: i.try_into().expect("9 intents"),
                sentiment: s.try_into().expect("3 sentiments"),
                abusive: a,
            })
            .collect())
    }
}

fn softmax_rows(logits: &Tensor, temperature: f32) -> candle_core::Result<Vec<Vec<f32>>> {
    candle_nn::ops::softmax_last_dim(&(logits / temperature as f64)?)?.to_vec2()
}
