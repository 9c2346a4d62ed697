//! The multilingual-e5-small encoder (a 12-layer BERT) on candle, CPU only.
//!
//! Tokenisation and inference are separate steps so that callers can tokenise off the model's
//! thread and group texts by length before batching. A batch is padded to its longest text and
//! carries an attention mask, so padding changes no vector; sentence vectors are the mean of
//! the final hidden states over real tokens only, L2-normalised, as E5 was trained.
//!
//! The weights arrive as Q4_0 blocks. They can run three ways ([`WeightFormat`]): re-quantised
//! to int8 for integer dot products ([`super::int8`], the fast path), dequantised to f32 once
//! at load (candle's f32 matmuls, the reference), or kept as Q4_0 and multiplied by candle's
//! quantised matmul. The word-embedding table stays Q4_0 in every case (250k rows would be
//! 384 MB as f32); only the rows of the tokens in a batch are dequantised.

use super::int8::Int8Bert;
use super::lora::{dense_weight, matrix_shape, Adapters};
use super::q4file::{dequantize_q4, Q4File, Shape, Q4_BLOCK, Q4_BLOCK_BYTES};
use super::ModelError;
use candle_core::quantized::{ggml_file::qtensor_from_ggml, GgmlDType, QMatMul};
use candle_core::{DType, Device, Module, Tensor};
use std::path::Path;
use tokenizers::Tokenizer;

/// E5 was trained with this prefix on queries; classification inputs are queries.
pub const QUERY_PREFIX: &str = "query: ";

/// How the linear layers' weights are held and multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// Int8 weights (one scale per output), u8 activations (one scale per token), integer dot
    /// products with AVX-512 VNNI; unpadded batches. The default where the CPU has VNNI.
    Int8,
    /// Dequantised to f32 at load; candle's f32 matmuls. The reference, and the default on
    /// CPUs without VNNI.
    F32,
    /// Kept as Q4_0 blocks; candle's quantised matmul (activations quantised to Q8_0).
    Q4,
}

impl WeightFormat {
    /// The fastest format this CPU runs well.
    pub fn best_for_this_cpu() -> Self {
        if super::gemm::has_vnni() {
            WeightFormat::Int8
        } else {
            WeightFormat::F32
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Int8 => "int8",
            WeightFormat::F32 => "f32",
            WeightFormat::Q4 => "q4",
        }
    }
}

impl std::fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One tokenised text, ready for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    /// The text had more tokens than the limit; the ids are its first and last ones.
    pub truncated: bool,
    /// Where a long text was cut; `None` when it was read whole.
    pub cut: Option<TokenCut>,
}

/// A long text read as its head and its tail: a review's complaint is often in its last
/// paragraph, its topic in its first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCut {
    /// Tokens kept from the start (`<s>` and the prefix included).
    pub head: usize,
    /// Tokens kept from the end (`</s>` included).
    pub tail: usize,
    /// Tokens of the whole text; a lower bound when a very long text was first cut by bytes.
    pub total: usize,
}

pub struct Encoder {
    tokenizer: Tokenizer,
    backend: Backend,
    shape: Shape,
    max_tokens: usize,
    format: WeightFormat,
    /// [`Adapters::digest`] of the adapters merged at load, if any.
    adapters: Option<String>,
}

enum Backend {
    Candle(Bert),
    Int8(Int8Bert),
}

/// How to load an [`Encoder`].
#[derive(Debug, Clone)]
pub struct EncoderConfig {
    pub format: WeightFormat,
    /// Tokens per text, specials and prefix included; the rest is cut.
    pub max_tokens: usize,
    /// The int8 path's pool (0 = one per core); the candle paths use candle's own.
    pub threads: usize,
    /// LoRA adapters merged into the weights at load (`None`: the plain encoder).
    pub adapters: Option<Adapters>,
}

impl Encoder {
    /// Loads the encoder from the weights file and the tokenizer file.
    pub fn load(
        weights: &Path,
        tokenizer: &Path,
        config: &EncoderConfig,
    ) -> Result<Self, ModelError> {
        let (format, max_tokens, threads) = (config.format, config.max_tokens, config.threads);
        let adapters = config.adapters.as_ref();
        let file = Q4File::read(weights)?;
        if let Some(a) = adapters {
            a.check(&file.shape)?;
        }
        if max_tokens < 3 || max_tokens > file.shape.max_positions {
            return Err(ModelError::Config(format!(
                "max tokens must be between 3 and {}, got {max_tokens}",
                file.shape.max_positions
            )));
        }
        let mut tokenizer = Tokenizer::from_file(tokenizer).map_err(|e| ModelError::Tokenizer {
            path: tokenizer.to_path_buf(),
            message: e.to_string(),
        })?;
        // Texts over the limit are cut in `tokenize` (head + tail), not by the tokenizer.
        tokenizer
            .with_truncation(None)
            .map_err(|e| ModelError::Config(e.to_string()))?;
        tokenizer.with_padding(None);
        let backend = match format {
            WeightFormat::Int8 => Backend::Int8(Int8Bert::load(&file, threads, adapters)?),
            WeightFormat::F32 | WeightFormat::Q4 => {
                Backend::Candle(Bert::load(&file, format, adapters)?)
            }
        };
        Ok(Self {
            tokenizer,
            backend,
            shape: file.shape,
            max_tokens,
            format,
            adapters: adapters.map(Adapters::digest),
        })
    }

    pub fn hidden_size(&self) -> usize {
        self.shape.hidden
    }

    /// Runs `work` on the threads the forward pass runs on (the int8 pool), so that other
    /// per-text work shares them instead of competing with them; on candle, runs it here.
    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        match &self.backend {
            Backend::Int8(bert) => bert.install(work),
            Backend::Candle(_) => work(),
        }
    }

    /// Threads the forward pass runs on.
    pub fn threads(&self) -> usize {
        match &self.backend {
            Backend::Int8(bert) => bert.threads(),
            Backend::Candle(_) => candle_core::utils::get_num_threads(),
        }
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// The digest of the adapters merged into the weights; `None` for the plain encoder.
    pub fn adapters_digest(&self) -> Option<&str> {
        self.adapters.as_deref()
    }

    /// Tokenises one text with the `query: ` prefix, keeping at most `max_tokens` tokens: a
    /// longer text keeps its first quarter and its last three quarters of the limit.
    pub fn tokenize(&self, text: &str) -> Result<Tokens, ModelError> {
        // A token spans far fewer than 64 bytes, so keeping that many bytes of each end keeps
        // every token the limit lets through, while a megabyte-long comment costs no more
        // than a long one.
        let keep = self.max_tokens * 64;
        let bytes_cut = text.len() > 2 * keep;
        let input = if bytes_cut {
            let head = floor_char_boundary(text, keep);
            let tail = ceil_char_boundary(text, text.len() - keep);
            format!("{QUERY_PREFIX}{} … {}", &text[..head], &text[tail..])
        } else {
            format!("{QUERY_PREFIX}{text}")
        };
        let enc = self
            .tokenizer
            .encode_fast(input, true)
            .map_err(|e| ModelError::Inference(format!("tokenizer: {e}")))?;
        let ids = enc.get_ids();
        if ids.len() <= self.max_tokens && !bytes_cut {
            return Ok(Tokens {
                ids: ids.to_vec(),
                truncated: false,
                cut: None,
            });
        }
        let max = self.max_tokens.min(ids.len());
        let head = max / 4;
        let tail = max - head;
        let mut kept = ids[..head].to_vec();
        kept.extend_from_slice(&ids[ids.len() - tail..]);
        Ok(Tokens {
            ids: kept,
            truncated: true,
            cut: Some(TokenCut {
                head,
                tail,
                total: ids.len(),
            }),
        })
    }

    /// Sentence embeddings (L2-normalised) for a batch of tokenised texts.
    pub fn embed_tokens(&self, batch: &[Tokens]) -> Result<Vec<Vec<f32>>, ModelError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        match &self.backend {
            Backend::Candle(bert) => bert.embed(batch),
            Backend::Int8(bert) => bert.embed(batch),
        }
    }

    /// The hidden states of every token after the first `layers` layers (int8 path only), one
    /// `[len × hidden]` vector per text: the frozen part of the encoder that `tact tune` runs
    /// once, with the numerics serving uses.
    pub fn hidden_states(
        &self,
        batch: &[Tokens],
        layers: usize,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        match &self.backend {
            Backend::Int8(bert) => bert.hidden_states(batch, layers),
            Backend::Candle(_) => Err(ModelError::Config(
                "hidden states are read from the int8 encoder: use --weights int8".into(),
            )),
        }
    }

    /// The weights file's shape (layers, widths).
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Tokenises and embeds, in one batch.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, ModelError> {
        let tokens = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>, _>>()?;
        self.embed_tokens(&tokens)
    }
}

fn ceil_char_boundary(s: &str, min: usize) -> usize {
    (min..=s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len())
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}

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

/// Word + position + token-type embeddings, before their layer norm; shared by both backends.
pub(super) struct TokenEmbeddings {
    vocab: usize,
    hidden: usize,
    /// Q4_0 blocks of the [vocab, hidden] word-embedding table.
    word_blocks: Vec<u8>,
    /// Position embeddings + token-type 0 embedding, folded: [max_positions, hidden].
    position_and_type: Vec<f32>,
}

impl TokenEmbeddings {
    pub(super) fn load(file: &Q4File) -> Result<Self, ModelError> {
        let s = file.shape;
        let h = s.hidden;
        let word_blocks = file.q4_blocks("emb.word", s.vocab, h)?.to_vec();
        let mut position_and_type = file.f32s("emb.pos", s.max_positions * h)?;
        let token_type = file.f32s("emb.type", s.type_vocab * h)?;
        for row in position_and_type.chunks_exact_mut(h) {
            row.iter_mut()
                .zip(&token_type[..h])
                .for_each(|(p, t)| *p += t);
        }
        Ok(Self {
            vocab: s.vocab,
            hidden: h,
            word_blocks,
            position_and_type,
        })
    }

    /// Writes the embedding of token `id` at position `pos` into `out` (`hidden` long).
    pub(super) fn write(&self, id: u32, pos: usize, out: &mut [f32]) -> Result<(), ModelError> {
        let (id, h) = (id as usize, self.hidden);
        if id >= self.vocab {
            return Err(ModelError::Inference(format!(
                "token id {id} outside the vocabulary"
            )));
        }
        let row_bytes = h / Q4_BLOCK * Q4_BLOCK_BYTES;
        dequantize_q4(&self.word_blocks[id * row_bytes..(id + 1) * row_bytes], out);
        let pos = &self.position_and_type[pos * h..(pos + 1) * h];
        out.iter_mut().zip(pos).for_each(|(o, e)| *o += e);
        Ok(())
    }
}

struct Bert {
    shape: Shape,
    embeddings: TokenEmbeddings,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

impl Bert {
    fn load(
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
    fn embeddings(&self, batch: &[Tokens], len: usize) -> Result<Tensor, ModelError> {
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

    fn embed(&self, batch: &[Tokens]) -> Result<Vec<Vec<f32>>, ModelError> {
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
        for layer in &self.layers {
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
        }
        let x = x.reshape((n, len, h))?;
        let summed = x.broadcast_mul(&mask.unsqueeze(2)?)?.sum(1)?;
        let counts = mask.sum_keepdim(1)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?;
        let unit = mean.broadcast_div(&norm)?;
        Ok(unit.to_dtype(DType::F32)?.to_vec2()?)
    }
}
