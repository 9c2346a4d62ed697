//! Classification heads over the encoder's sentence vectors: intent (9-way softmax),
//! sentiment (3-way softmax) and an independent `abusive` probability (sigmoid).
//!
//! Each head is a small MLP (one hidden GELU layer) followed by temperature scaling, fitted on
//! a validation split after training so that a confidence of 0.8 is right about 80% of the
//! time. The weights live in `models/heads.safetensors`, their description and temperatures in
//! `models/heads.json`; both are written by `tact train` and committed, so running tact needs
//! no training. Heads with a non-finite weight or temperature are neither written ([`save`])
//! nor loaded: they would answer every comment with NaN.

use super::lora::{AdapterCard, Adapters};
use super::ModelError;
use crate::comment::Scores;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The committed heads, relative to the repository (and compiled into the binary).
pub const HEADS_JSON: &str = include_str!("../../models/heads.json");
pub const HEADS_WEIGHTS: &[u8] = include_bytes!("../../models/heads.safetensors");
/// The committed adapters (the card says whether the heads use them).
const ADAPTERS: &[u8] = include_bytes!("../../models/adapters.safetensors");

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
    /// The heads also score the corpora's binary labels ([`crate::data::CORPUS_LABELS`]) with
    /// a head of their own, instead of through the intent probabilities.
    #[serde(default)]
    pub labels_head: bool,
    /// The heads also score follow-ups after a brand answer (RSRA) with a head of their own.
    #[serde(default)]
    pub follow_up_head: bool,
    /// LoRA adapters the heads were trained with (`tact tune`); `None`: the plain encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adapters: Option<AdapterCard>,
    /// The decision-confidence calibration fitted with these heads (`tact calibrate`); opaque
    /// here, read by the pipeline. Retraining the heads drops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decisions: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Temperatures {
    pub intent: f32,
    pub sentiment: f32,
    pub abusive: f32,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub labels: f32,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub follow_up: f32,
}

fn one() -> f32 {
    1.0
}

fn is_one(t: &f32) -> bool {
    *t == 1.0
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

/// The heads, built from one [`VarBuilder`] (so training and inference share code).
pub struct HeadNets {
    pub intent: Mlp,
    pub sentiment: Mlp,
    pub abusive: Mlp,
    /// The corpora's binary labels (sigmoids, one per [`crate::data::CORPUS_LABELS`]).
    pub labels: Option<Mlp>,
    /// A follow-up after a brand answer keeps attacking (sigmoid).
    pub follow_up: Option<Mlp>,
}

impl HeadNets {
    pub fn new(
        vb: VarBuilder,
        input: usize,
        hidden: usize,
        labels_head: bool,
        follow_up_head: bool,
    ) -> candle_core::Result<Self> {
        let labels = crate::data::CORPUS_LABELS.len();
        Ok(Self {
            intent: Mlp::new(vb.pp("intent"), input, hidden, 9)?,
            sentiment: Mlp::new(vb.pp("sentiment"), input, hidden, 3)?,
            abusive: Mlp::new(vb.pp("abusive"), input, hidden, 1)?,
            labels: labels_head
                .then(|| Mlp::new(vb.pp("labels"), input, hidden, labels))
                .transpose()?,
            follow_up: follow_up_head
                .then(|| Mlp::new(vb.pp("follow_up"), input, hidden, 1))
                .transpose()?,
        })
    }

    /// Every head with its outputs, in the order their parameters are laid out.
    pub fn names(labels_head: bool, follow_up_head: bool) -> Vec<(&'static str, usize)> {
        let mut heads = vec![("intent", 9), ("sentiment", 3), ("abusive", 1)];
        if labels_head {
            heads.push(("labels", crate::data::CORPUS_LABELS.len()));
        }
        if follow_up_head {
            heads.push(("follow_up", 1));
        }
        heads
    }
}

pub struct Heads {
    nets: HeadNets,
    pub card: HeadsCard,
    /// The adapters the heads were trained with, to be merged into the encoder.
    pub adapters: Option<Adapters>,
}

/// Rows of every matmul the heads run when scoring: about a server batch, so padding wastes
/// little there.
const SCORE_ROWS: usize = 8;

impl Heads {
    /// The heads committed in `models/`, compiled into the binary.
    pub fn builtin() -> Result<Self, ModelError> {
        let json_path = Path::new("models/heads.json");
        let mut heads = Self::from_parts(json_path, HEADS_JSON, HEADS_WEIGHTS.to_vec())?;
        if let Some(card) = &heads.card.adapters {
            let path = json_path.with_file_name(&card.file);
            heads.adapters = Some(Adapters::from_bytes(&path, ADAPTERS, card)?);
        }
        Ok(heads)
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
        let mut heads = Self::from_parts(&json_path, &json, weights)?;
        if let Some(card) = &heads.card.adapters {
            heads.adapters = Some(Adapters::load(dir, card)?);
        }
        Ok(heads)
    }

    fn from_parts(json_path: &Path, json: &str, weights: Vec<u8>) -> Result<Self, ModelError> {
        let err = |path: PathBuf, message: String| ModelError::Heads { path, message };
        let card: HeadsCard =
            serde_json::from_str(json).map_err(|e| err(json_path.to_path_buf(), e.to_string()))?;
        check_temperatures(json_path, &card.temperature)?;
        let weights_path = json_path.with_file_name("heads.safetensors");
        let tensors = candle_core::safetensors::load_buffer(&weights, &Device::Cpu)
            .map_err(|e| err(weights_path.clone(), e.to_string()))?;
        check_finite(&weights_path, &tensors)?;
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
        let nets = HeadNets::new(
            vb,
            card.embedding_dim,
            card.hidden_dim,
            card.labels_head,
            card.follow_up_head,
        )
        .map_err(|e| err(weights_path, e.to_string()))?;
        Ok(Self {
            nets,
            card,
            adapters: None,
        })
    }

    pub fn from_nets(nets: HeadNets, card: HeadsCard, adapters: Option<Adapters>) -> Self {
        Self {
            nets,
            card,
            adapters,
        }
    }

    /// Calibrated scores for a batch of sentence vectors, always computed in blocks of
    /// [`SCORE_ROWS`] rows (the last padded with zeros): a matmul adds in an order that depends
    /// on how many rows it has, and a text's scores must not depend on the batch it came in (a
    /// sharded archive equals a single run, byte for byte).
    pub fn scores<V: AsRef<[f32]>>(&self, embeddings: &[V]) -> Result<Vec<Scores>, ModelError> {
        let dim = self.card.embedding_dim;
        let mut scores = Vec::with_capacity(embeddings.len());
        for block in embeddings.chunks(SCORE_ROWS) {
            let mut flat: Vec<f32> = block.iter().flat_map(|e| e.as_ref()).copied().collect();
            flat.resize(SCORE_ROWS * dim, 0.0);
            let x = Tensor::from_vec(flat, (SCORE_ROWS, dim), &Device::Cpu)?;
            scores.extend(self.score_rows(&x)?.into_iter().take(block.len()));
        }
        Ok(scores)
    }

    /// Scores of every row of `x` (`rows × embedding_dim`).
    fn score_rows(&self, x: &Tensor) -> Result<Vec<Scores>, ModelError> {
        let rows = x.dim(0)?;
        let t = self.card.temperature;
        let intent = softmax_rows(&self.nets.intent.logits(x)?, t.intent)?;
        let sentiment = softmax_rows(&self.nets.sentiment.logits(x)?, t.sentiment)?;
        let abusive = (self.nets.abusive.logits(x)? / t.abusive as f64)?;
        let abusive = candle_nn::ops::sigmoid(&abusive)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let labels: Vec<Option<[f32; 5]>> = match &self.nets.labels {
            Some(head) => candle_nn::ops::sigmoid(&(head.logits(x)? / t.labels as f64)?)?
                .to_vec2::<f32>()?
                .into_iter()
                .map(|row| Some(row.try_into().expect("5 labels")))
                .collect(),
            None => vec![None; rows],
        };
        let follow_up: Vec<Option<f32>> = match &self.nets.follow_up {
            Some(head) => candle_nn::ops::sigmoid(&(head.logits(x)? / t.follow_up as f64)?)?
                .flatten_all()?
                .to_vec1::<f32>()?
                .into_iter()
                .map(Some)
                .collect(),
            None => vec![None; rows],
        };
        Ok(intent
            .into_iter()
            .zip(sentiment)
            .zip(abusive)
            .zip(labels)
            .zip(follow_up)
            .map(|((((i, s), a), labels), follow_up)| Scores {
                intent: i.try_into().expect("9 intents"),
                sentiment: s.try_into().expect("3 sentiments"),
                abusive: a,
                labels,
                follow_up,
            })
            .collect())
    }
}

/// Writes heads into `dir`: their adapters (when given), `heads.safetensors`, then
/// `heads.json` last, since the card is what makes the directory loadable. Nothing is written
/// when a weight or a temperature is not finite.
pub fn save(
    dir: &Path,
    weights: &HashMap<String, Tensor>,
    card: &HeadsCard,
    adapters: Option<&Adapters>,
) -> Result<(), ModelError> {
    let weights_path = dir.join("heads.safetensors");
    let json_path = dir.join("heads.json");
    let refused = |e: ModelError| match e {
        ModelError::Heads { path, message } => ModelError::Heads {
            path,
            message: format!("not written: {message}"),
        },
        other => other,
    };
    check_finite(&weights_path, weights).map_err(refused)?;
    check_temperatures(&json_path, &card.temperature).map_err(refused)?;
    if let Some(a) = adapters {
        a.save(&dir.join(&a.card.file))?;
    }
    candle_core::safetensors::save(weights, &weights_path).map_err(|e| ModelError::Heads {
        path: weights_path.clone(),
        message: e.to_string(),
    })?;
    let json = serde_json::to_string_pretty(card).map_err(|e| ModelError::Heads {
        path: json_path.clone(),
        message: e.to_string(),
    })?;
    std::fs::write(&json_path, json + "\n").map_err(|e| ModelError::Heads {
        path: json_path,
        message: e.to_string(),
    })
}

/// An error naming the first tensor (by name) that holds a NaN or an infinity.
fn check_finite(path: &Path, tensors: &HashMap<String, Tensor>) -> Result<(), ModelError> {
    let mut names: Vec<&String> = tensors.keys().collect();
    names.sort();
    for name in names {
        let values = tensors[name]
            .to_dtype(DType::F32)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())?;
        if let Some(at) = values.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::Heads {
                path: path.to_path_buf(),
                message: format!(
                    "tensor {name} holds a non-finite value ({} at index {at} of {})",
                    values[at],
                    values.len()
                ),
            });
        }
    }
    Ok(())
}

/// Every temperature finite and above 0 (the logits are divided by it).
fn check_temperatures(path: &Path, t: &Temperatures) -> Result<(), ModelError> {
    let named = [
        ("intent", t.intent),
        ("sentiment", t.sentiment),
        ("abusive", t.abusive),
        ("labels", t.labels),
        ("follow_up", t.follow_up),
    ];
    match named.iter().find(|(_, v)| !(v.is_finite() && *v > 0.0)) {
        Some((head, v)) => Err(ModelError::Heads {
            path: path.to_path_buf(),
            message: format!("temperature.{head} = {v}, but it must be a finite number above 0"),
        }),
        None => Ok(()),
    }
}

fn softmax_rows(logits: &Tensor, temperature: f32) -> candle_core::Result<Vec<Vec<f32>>> {
    candle_nn::ops::softmax_last_dim(&(logits / temperature as f64)?)?.to_vec2()
}

/// Today's date (UTC) as YYYY-MM-DD, for model cards.
pub fn utc_date() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    // Howard Hinnant's civil-from-days.
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed heads' tensors, one value of `name` replaced by `value`.
    fn committed_with(name: &str, value: f32) -> HashMap<String, Tensor> {
        let mut tensors =
            candle_core::safetensors::load_buffer(HEADS_WEIGHTS, &Device::Cpu).unwrap();
        let t = &tensors[name];
        let mut v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        v[3] = value;
        let poisoned = Tensor::from_vec(v, t.shape(), &Device::Cpu).unwrap();
        tensors.insert(name.to_string(), poisoned);
        tensors
    }

    fn card() -> HeadsCard {
        serde_json::from_str(HEADS_JSON).unwrap()
    }

    #[test]
    fn saved_heads_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let builtin = Heads::builtin().unwrap();
        let tensors = candle_core::safetensors::load_buffer(HEADS_WEIGHTS, &Device::Cpu).unwrap();
        save(dir.path(), &tensors, &card(), builtin.adapters.as_ref()).unwrap();
        let loaded = Heads::load(dir.path()).unwrap();
        let v = vec![vec![0.01f32; card().embedding_dim]];
        assert_eq!(loaded.scores(&v).unwrap(), builtin.scores(&v).unwrap());
    }

    #[test]
    fn heads_with_a_non_finite_weight_are_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let err = save(
            dir.path(),
            &committed_with("sentiment.out.weight", f32::NAN),
            &card(),
            None,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("heads.safetensors: not written: tensor sentiment.out.weight holds a non-finite value (NaN at index 3 of"), "{err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
        let mut hot = card();
        hot.temperature.abusive = 0.0;
        let tensors = candle_core::safetensors::load_buffer(HEADS_WEIGHTS, &Device::Cpu).unwrap();
        let err = save(dir.path(), &tensors, &hot, None)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("heads.json: not written: temperature.abusive = 0"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "nothing written"
        );
    }

    #[test]
    fn heads_with_a_non_finite_weight_or_temperature_fail_to_load_naming_file_and_tensor() {
        let dir = tempfile::tempdir().unwrap();
        let weights = dir.path().join("heads.safetensors");
        std::fs::write(dir.path().join("heads.json"), HEADS_JSON).unwrap();
        candle_core::safetensors::save(
            &committed_with("intent.hidden.weight", f32::INFINITY),
            &weights,
        )
        .unwrap();
        let err = Heads::load(dir.path()).err().expect("refused").to_string();
        assert_eq!(
            err,
            format!(
                "heads {}: tensor intent.hidden.weight holds a non-finite value (inf at index 3 of {})",
                weights.display(),
                card().embedding_dim * card().hidden_dim
            )
        );
        candle_core::safetensors::save(&committed_with("intent.hidden.weight", 0.5), &weights)
            .unwrap();
        let mut cold = card();
        cold.temperature.sentiment = -1.0;
        let json = dir.path().join("heads.json");
        std::fs::write(&json, serde_json::to_string(&cold).unwrap()).unwrap();
        let err = Heads::load(dir.path()).err().expect("refused").to_string();
        assert!(
            err.starts_with(&format!(
                "heads {}: temperature.sentiment = -1",
                json.display()
            )),
            "{err}"
        );
    }
}
