//! The BERT forward pass on candle: f32 weights (the reference) or Q4_0 weights with candle's
//! quantised matmul. A batch is padded to its longest text and carries an attention mask, so
//! padding changes no vector; sentence vectors are the mean of the final hidden states over
//! real tokens only, L2-normalised, as E5 was trained (and, for a head that asks, the same
//! means after earlier layers).

use super::embeddings::TokenEmbeddings;
use super::lora::{dense_weight, matrix_shape, Adapters};
use super::q4file::{Q4File, Shape};
use super::tokens::Tokens;
use super::weight_format::WeightFormat;
use super::{LayerMeans, ModelError};
use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul};
use candle_core::{DType, Device, Module, Tensor};

enum Linear {
    F32 { weight_t: Tensor, bias: Tensor },
    Q4 { weight: QMatMul, bias: Tensor },
}

impl Linear {
    fn load(
        file: &Q4File,
        layer: usize,
        matrix: &str,
        format: WeightFormat,
        adapters: Option<&Adapters>,
    ) -> Result<Self, ModelError> {
        let (rows, cols) = matrix_shape(&file.shape, matrix).expect("a known matrix");
        let name = format!("l{layer}.{matrix}");
        let blocks = file.q4_blocks(&format!("{name}.w"), rows, cols)?;
        let bias = Tensor::from_vec(file.f32s(&format!("{name}.b"), rows)?, rows, &Device::Cpu)?;
        Ok(match format {
            WeightFormat::Q4 if adapters.is_some() => {
                return Err(ModelError::Config(
                    "adapters cannot be merged into Q4_0 weights: use --weights int8 or f32".into(),
                ))
            }
            WeightFormat::F32 | WeightFormat::Int8 => {
                let w = dense_weight(file, layer, matrix, adapters)?;
                // Stored transposed so the matmul reads the weight contiguously.
                let weight_t = Tensor::from_vec(w, (rows, cols), &Device::Cpu)?
                    .t()?
                    .contiguous()?;
                Linear::F32 { weight_t, bias }
            }
            WeightFormat::Q4 => {
                let q = qtensor_from_ggml(GgmlDType::Q4_0, blocks, vec![rows, cols], &Device::Cpu)?;
                Linear::Q4 {
                    weight: QMatMul::from_qtensor(q)?,
                    bias,
                }
            }
        })
    }

    /// `x`: [tokens, in] → [tokens, out].
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Linear::F32 { weight_t, bias } => x.matmul(weight_t)?.broadcast_add(bias),
            Linear::Q4 { weight, bias } => weight.forward(x)?.broadcast_add(bias),
        }
    }
}

struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    fn load(file: &Q4File, name: &str, size: usize, eps: f32) -> Result<Self, ModelError> {
        Ok(Self {
            weight: Tensor::from_vec(file.f32s(&format!("{name}.w"), size)?, size, &Device::Cpu)?,
            bias: Tensor::from_vec(file.f32s(&format!("{name}.b"), size)?, size, &Device::Cpu)?,
            eps,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    ffn_in: Linear,
    ffn_out: Linear,
    output_norm: LayerNorm,
}

pub(super) struct Bert {
    shape: Shape,
    embeddings: TokenEmbeddings,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl Bert {
    pub(super) fn load(
        file: &Q4File,
        format: WeightFormat,
        adapters: Option<&Adapters>,
    ) -> Result<Self, ModelError> {
        let s = file.shape;
        let h = s.hidden;
        let eps = s.layer_norm_eps;
        let layers = (0..s.layers)
            .map(|l| {
                let lin = |n: &str| Linear::load(file, l, n, format, adapters);
                Ok(Layer {
                    query: lin("q")?,
                    key: lin("k")?,
                    value: lin("v")?,
                    attention_out: lin("ao")?,
                    attention_norm: LayerNorm::load(file, &format!("l{l}.aln"), h, eps)?,
                    ffn_in: lin("fi")?,
                    ffn_out: lin("fo")?,
                    output_norm: LayerNorm::load(file, &format!("l{l}.oln"), h, eps)?,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        Ok(Self {
            shape: s,
            embeddings: TokenEmbeddings::load(file)?,
            embedding_norm: LayerNorm::load(file, "emb.ln", h, eps)?,
            layers,
        })
    }

    /// Word + position + type embeddings for a padded batch: [batch × len, hidden].
    fn embeddings(&self, batch: &[&Tokens], len: usize) -> Result<Tensor, ModelError> {
        let h = self.shape.hidden;
        let mut x = vec![0f32; batch.len() * len * h];
        for (b, tokens) in batch.iter().enumerate() {
            for (p, &id) in tokens.ids.iter().enumerate() {
                let out = &mut x[(b * len + p) * h..(b * len + p + 1) * h];
                self.embeddings.write(id, p, out)?;
            }
        }
        Ok(Tensor::from_vec(x, (batch.len() * len, h), &Device::Cpu)?)
    }

    /// Per text, the unit means of the hidden states after each of `at` layers (counted from
    /// 1), concatenated in the order of `at`; `&[layers]` is the sentence embedding.
    pub(super) fn embed_at(
        &self,
        batch: &[&Tokens],
        at: &[usize],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let s = self.shape;
        let (n, h, heads) = (batch.len(), s.hidden, s.heads);
        let head_dim = h / heads;
        let len = batch.iter().map(|t| t.ids.len()).max().unwrap_or(0);
        if len == 0 || len > s.max_positions {
            return Err(ModelError::Inference(format!(
                "sequence length {len} is not in 1..={}",
                s.max_positions
            )));
        }
        let mask: Vec<f32> = batch
            .iter()
            .flat_map(|t| (0..len).map(move |p| if p < t.ids.len() { 1.0 } else { 0.0 }))
            .collect();
        let mask = Tensor::from_vec(mask, (n, len), &Device::Cpu)?;
        // Additive attention bias: 0 on real tokens, a large negative on padding.
        let bias = ((mask.clone() - 1.0)? * 1e9)?.reshape((n, 1, 1, len))?;

        let mut x = self.embedding_norm.forward(&self.embeddings(batch, len)?)?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((n, len, heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let unit_mean = |x: &Tensor| -> candle_core::Result<Vec<Vec<f32>>> {
            let x = x.reshape((n, len, h))?;
            let summed = x.broadcast_mul(&mask.unsqueeze(2)?)?.sum(1)?;
            let mean = summed.broadcast_div(&mask.sum_keepdim(1)?)?;
            let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
            mean.broadcast_div(&norm)?.to_dtype(DType::F32)?.to_vec2()
        };
        let mut means = LayerMeans::new(at);
        for (done, layer) in (1..).zip(&self.layers[..means.deepest()]) {
            let q = split(layer.query.forward(&x)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((n * len, h))?;
            let attended = layer.attention_out.forward(&context)?;
            x = layer.attention_norm.forward(&(attended + &x)?)?;
            let mid = layer.ffn_in.forward(&x)?.gelu_erf()?;
            let out = layer.ffn_out.forward(&mid)?;
            x = layer.output_norm.forward(&(out + &x)?)?;
            if means.wants(done) {
                means.keep(done, unit_mean(&x)?);
            }
        }
        Ok(means.per_text(n))
    }
}
