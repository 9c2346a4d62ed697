//! LoRA adapters for the encoder's linear layers, as `tact tune` writes them.
//!
//! An adapter adds a low-rank update to a frozen weight: `W' = W + (alpha / rank) · B·A`, with
//! `A` `[rank, inputs]` and `B` `[outputs, rank]`. tact never runs the adapters as extra
//! matmuls: [`Adapters::merge`] folds them into the dequantised weights at load, before the
//! int8 quantisation, so a tuned encoder runs at the plain encoder's speed. The weights live in
//! `adapters.safetensors` (tensors `l{layer}.{matrix}.a` / `.b`); their shape (rank, alpha,
//! layers, matrices) is described by [`AdapterCard`] in `heads.json`, because the heads are
//! trained with them and mean nothing without them.

use super::q4file::{dequantize_q4, Q4File, Shape};
use super::ModelError;
use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The linear layers of one encoder layer that can carry an adapter, with (outputs, inputs).
pub fn matrix_shape(shape: &Shape, matrix: &str) -> Option<(usize, usize)> {
    let (h, ff) = (shape.hidden, shape.intermediate);
    Some(match matrix {
        "q" | "k" | "v" | "ao" => (h, h),
        "fi" => (ff, h),
        "fo" => (h, ff),
        _ => return None,
    })
}

/// One linear layer's weight (`matrix` of [`MATRICES`] in `layer`), dequantised
/// to `[outputs][inputs]` f32, with its adapter merged in when there is one.
pub fn dense_weight(
    file: &Q4File,
    layer: usize,
    matrix: &str,
    adapters: Option<&Adapters>,
) -> Result<Vec<f32>, super::ModelError> {
    let (rows, cols) = matrix_shape(&file.shape, matrix)
        .ok_or_else(|| super::ModelError::Config(format!("unknown matrix {matrix:?}")))?;
    let mut w = vec![0f32; rows * cols];
    dequantize_q4(
        file.q4_blocks(&format!("l{layer}.{matrix}.w"), rows, cols)?,
        &mut w,
    );
    if let Some(a) = adapters {
        a.merge(layer, matrix, &mut w, cols);
    }
    Ok(w)
}

/// Every matrix an adapter may target, in the encoder's order.
pub const MATRICES: [&str; 6] = ["q", "k", "v", "ao", "fi", "fo"];

/// What `heads.json` says about the adapters trained with the heads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdapterCard {
    /// File name, beside `heads.json`.
    pub file: String,
    pub rank: usize,
    pub alpha: f32,
    /// Encoder layers (0-based) that carry adapters.
    pub layers: Vec<usize>,
    /// Matrices of each of those layers that carry adapters (names of [`MATRICES`]).
    pub matrices: Vec<String>,
}

impl AdapterCard {
    pub fn scale(&self) -> f32 {
        self.alpha / self.rank as f32
    }
}

/// One adapter's two factors, row-major.
#[derive(Debug, Clone)]
struct Pair {
    a: Vec<f32>,
    b: Vec<f32>,
    /// The adapted matrix's (outputs, inputs).
    dims: [usize; 2],
}

/// Loaded, validated adapters.
#[derive(Debug, Clone)]
pub struct Adapters {
    pub card: AdapterCard,
    /// Where they came from, for errors.
    pub path: PathBuf,
    pairs: HashMap<(usize, String), Pair>,
}

fn err(path: &Path, message: String) -> ModelError {
    ModelError::Adapters {
        path: path.to_path_buf(),
        message,
    }
}

impl Adapters {
    /// Reads `bytes` (a safetensors file, named `path` in errors) and checks it against the
    /// card: every tensor present, two-dimensional with the card's rank, finite, and nothing
    /// else in the file. [`Adapters::check`] then checks it against the encoder.
    pub fn from_bytes(path: &Path, bytes: &[u8], card: &AdapterCard) -> Result<Self, ModelError> {
        if card.rank == 0 {
            return Err(err(path, "rank must be at least 1".into()));
        }
        if !card.alpha.is_finite() || card.alpha <= 0.0 {
            return Err(err(
                path,
                format!("alpha must be positive, got {}", card.alpha),
            ));
        }
        let mut tensors = candle_core::safetensors::load_buffer(bytes, &Device::Cpu)
            .map_err(|e| err(path, format!("not a safetensors file: {e}")))?;
        let mut pairs = HashMap::new();
        for &layer in &card.layers {
            for matrix in &card.matrices {
                let mut take = |part: &str| -> Result<(Vec<f32>, [usize; 2]), ModelError> {
                    let name = format!("l{layer}.{matrix}.{part}");
                    let t = tensors
                        .remove(&name)
                        .ok_or_else(|| err(path, format!("tensor {name} is missing")))?;
                    let &[rows, cols] = t.dims() else {
                        return Err(err(
                            path,
                            format!(
                                "tensor {name} has shape {:?}, expected two dimensions",
                                t.dims()
                            ),
                        ));
                    };
                    let v = t
                        .to_dtype(candle_core::DType::F32)
                        .and_then(|t| t.flatten_all())
                        .and_then(|t| t.to_vec1::<f32>())
                        .map_err(|e| err(path, format!("tensor {name}: {e}")))?;
                    if let Some(bad) = v.iter().position(|x| !x.is_finite()) {
                        return Err(err(
                            path,
                            format!("tensor {name} holds a non-finite value at {bad}"),
                        ));
                    }
                    Ok((v, [rows, cols]))
                };
                let (a, a_dims) = take("a")?;
                let (b, b_dims) = take("b")?;
                if a_dims[0] != card.rank || b_dims[1] != card.rank {
                    return Err(err(
                        path,
                        format!(
                            "l{layer}.{matrix}: factors of shape {a_dims:?} and {b_dims:?} do not have rank {}",
                            card.rank
                        ),
                    ));
                }
                pairs.insert(
                    (layer, matrix.clone()),
                    Pair {
                        a,
                        b,
                        dims: [b_dims[0], a_dims[1]],
                    },
                );
            }
        }
        if let Some(extra) = tensors.keys().min() {
            return Err(err(
                path,
                format!("unexpected tensor {extra} (not described by the card)"),
            ));
        }
        Ok(Self {
            card: card.clone(),
            path: path.to_path_buf(),
            pairs,
        })
    }

    /// Reads the adapters named by `card` from the directory `dir`.
    pub fn load(dir: &Path, card: &AdapterCard) -> Result<Self, ModelError> {
        let path: PathBuf = dir.join(&card.file);
        let bytes = std::fs::read(&path).map_err(|e| err(&path, e.to_string()))?;
        Self::from_bytes(&path, &bytes, card)
    }

    /// Builds adapters from tensors in memory (as `tact tune` holds them).
    pub fn from_tensors(
        card: AdapterCard,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<Self, ModelError> {
        let path = PathBuf::from("(in memory)");
        let mut pairs = HashMap::new();
        for &layer in &card.layers {
            for matrix in &card.matrices {
                let get = |part: &str| -> Result<(Vec<f32>, usize), ModelError> {
                    let name = format!("l{layer}.{matrix}.{part}");
                    let t = tensors
                        .get(&name)
                        .ok_or_else(|| err(&path, format!("tensor {name} is missing")))?;
                    Ok((t.flatten_all()?.to_vec1::<f32>()?, t.dim(0)?))
                };
                let ((a, _), (b, outputs)) = (get("a")?, get("b")?);
                let inputs = a.len() / card.rank;
                pairs.insert(
                    (layer, matrix.clone()),
                    Pair {
                        a,
                        b,
                        dims: [outputs, inputs],
                    },
                );
            }
        }
        Ok(Self { card, path, pairs })
    }

    /// Writes the adapters as `adapters.safetensors` does (tensors `l{layer}.{matrix}.a|b`).
    pub fn save(&self, path: &Path) -> Result<(), ModelError> {
        let mut tensors = HashMap::new();
        for ((layer, matrix), p) in &self.pairs {
            let rank = self.card.rank;
            let [outputs, inputs] = p.dims;
            tensors.insert(
                format!("l{layer}.{matrix}.a"),
                Tensor::from_vec(p.a.clone(), (rank, inputs), &Device::Cpu)?,
            );
            tensors.insert(
                format!("l{layer}.{matrix}.b"),
                Tensor::from_vec(p.b.clone(), (outputs, rank), &Device::Cpu)?,
            );
        }
        candle_core::safetensors::save(&tensors, path)?;
        Ok(())
    }

    /// A short digest of every factor's values: tells one set of adapters from another (the
    /// embedding cache keys its files by it).
    pub fn digest(&self) -> String {
        let mut keys: Vec<&(usize, String)> = self.pairs.keys().collect();
        keys.sort();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for k in keys {
            let p = &self.pairs[k];
            for v in p.a.iter().chain(&p.b) {
                for b in v.to_le_bytes() {
                    h = (h ^ b as u64).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        format!("{h:016x}")
    }

    /// Checks the adapters fit an encoder of this shape.
    pub fn check(&self, shape: &Shape) -> Result<(), ModelError> {
        for ((layer, matrix), pair) in &self.pairs {
            if *layer >= shape.layers {
                return Err(err(
                    &self.path,
                    format!(
                        "layer {layer} does not exist (the encoder has {})",
                        shape.layers
                    ),
                ));
            }
            let (outputs, inputs) = matrix_shape(shape, matrix)
                .ok_or_else(|| err(&self.path, format!("unknown matrix {matrix:?}")))?;
            if pair.dims != [outputs, inputs] {
                return Err(err(
                    &self.path,
                    format!(
                        "l{layer}.{matrix} adapts a {}×{} matrix, the encoder's is {outputs}×{inputs}",
                        pair.dims[0], pair.dims[1]
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Adds `scale · B·A` to `weight` (`[outputs][inputs]`, row-major) when this layer and
    /// matrix carry an adapter.
    pub fn merge(&self, layer: usize, matrix: &str, weight: &mut [f32], inputs: usize) {
        let Some(p) = self.pairs.get(&(layer, matrix.to_string())) else {
            return;
        };
        let (rank, scale) = (self.card.rank, self.card.scale());
        for (o, row) in weight.chunks_exact_mut(inputs).enumerate() {
            let b_row = &p.b[o * rank..(o + 1) * rank];
            for (k, &b) in b_row.iter().enumerate() {
                let f = scale * b;
                if f == 0.0 {
                    continue;
                }
                let a_row = &p.a[k * inputs..(k + 1) * inputs];
                row.iter_mut().zip(a_row).for_each(|(w, a)| *w += f * a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> Shape {
        Shape {
            hidden: 4,
            layers: 2,
            heads: 1,
            intermediate: 8,
            vocab: 10,
            max_positions: 8,
            type_vocab: 1,
            layer_norm_eps: 1e-12,
        }
    }

    fn card() -> AdapterCard {
        AdapterCard {
            file: "adapters.safetensors".into(),
            rank: 2,
            alpha: 4.0,
            layers: vec![1],
            matrices: vec!["q".into(), "fi".into()],
        }
    }

    fn tensors(fill: f32) -> HashMap<String, Tensor> {
        let s = shape();
        let mut t = HashMap::new();
        for m in ["q", "fi"] {
            let (o, i) = matrix_shape(&s, m).unwrap();
            let a: Vec<f32> = (0..2 * i).map(|k| fill * (k as f32 + 1.0) / 10.0).collect();
            let b: Vec<f32> = (0..o * 2).map(|k| (k as f32 - 3.0) / 7.0).collect();
            t.insert(
                format!("l1.{m}.a"),
                Tensor::from_vec(a, (2, i), &Device::Cpu).unwrap(),
            );
            t.insert(
                format!("l1.{m}.b"),
                Tensor::from_vec(b, (o, 2), &Device::Cpu).unwrap(),
            );
        }
        t
    }

    fn bytes(t: &HashMap<String, Tensor>) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.safetensors");
        candle_core::safetensors::save(t, &p).unwrap();
        std::fs::read(p).unwrap()
    }

    #[test]
    fn merge_adds_scaled_low_rank_product() {
        let t = tensors(1.0);
        let ad = Adapters::from_bytes(Path::new("x"), &bytes(&t), &card()).unwrap();
        ad.check(&shape()).unwrap();
        let mut w = vec![0.5f32; 4 * 4];
        ad.merge(1, "q", &mut w, 4);
        let a = t["l1.q.a"].to_vec2::<f32>().unwrap();
        let b = t["l1.q.b"].to_vec2::<f32>().unwrap();
        for o in 0..4 {
            for i in 0..4 {
                let want = 0.5 + 2.0 * (b[o][0] * a[0][i] + b[o][1] * a[1][i]);
                assert!((w[o * 4 + i] - want).abs() < 1e-6);
            }
        }
        // Layers and matrices without an adapter are left alone.
        let mut untouched = vec![0.5f32; 16];
        ad.merge(0, "q", &mut untouched, 4);
        ad.merge(1, "k", &mut untouched, 4);
        assert!(untouched.iter().all(|&v| v == 0.5));
    }

    #[test]
    fn bad_files_get_precise_errors() {
        let s = shape();
        let path = Path::new("models/adapters.safetensors");
        let msg = |b: &[u8], c: &AdapterCard| match Adapters::from_bytes(path, b, c) {
            Ok(a) => a.check(&s).unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(msg(b"garbage", &card()).contains("not a safetensors file"));
        let mut missing = tensors(1.0);
        missing.remove("l1.fi.b");
        assert!(msg(&bytes(&missing), &card()).contains("tensor l1.fi.b is missing"));
        let mut wrong = tensors(1.0);
        wrong.insert(
            "l1.q.a".into(),
            Tensor::zeros((3, 4), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        assert!(msg(&bytes(&wrong), &card()).contains("do not have rank 2"));
        let mut wide = tensors(1.0);
        wide.insert(
            "l1.q.a".into(),
            Tensor::zeros((2, 6), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        assert!(
            msg(&bytes(&wide), &card()).contains("l1.q adapts a 4×6 matrix, the encoder's is 4×4")
        );
        let nan = tensors(f32::NAN);
        assert!(msg(&bytes(&nan), &card()).contains("non-finite"));
        let mut extra = tensors(1.0);
        extra.insert(
            "l0.q.a".into(),
            Tensor::zeros((2, 4), candle_core::DType::F32, &Device::Cpu).unwrap(),
        );
        assert!(msg(&bytes(&extra), &card()).contains("unexpected tensor l0.q.a"));
        let far = AdapterCard {
            layers: vec![5],
            ..card()
        };
        let mut renamed = HashMap::new();
        for (k, v) in tensors(1.0) {
            renamed.insert(k.replace("l1.", "l5."), v);
        }
        assert!(msg(&bytes(&renamed), &far).contains("layer 5 does not exist"));
        let text = msg(b"garbage", &card());
        assert!(text.contains("models/adapters.safetensors"), "{text}");
    }
}
