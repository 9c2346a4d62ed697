//! The multilingual-e5-small encoder (a 12-layer BERT), CPU only: texts → sentence vectors.
//!
//! [`Encoder`] puts the tokenizer ([`super::tokens`]) in front of one of two engines. The
//! weights arrive as Q4_0 blocks and can run three ways ([`WeightFormat`]): re-quantised to
//! int8 for integer dot products ([`super::int8`], the fast path), dequantised to f32 once at
//! load (candle's f32 matmuls, the reference), or kept as Q4_0 and multiplied by candle's
//! quantised matmul (both in [`super::candle_bert`]).

use super::candle_bert::Bert;
use super::cpu_tier::CpuTier;
use super::int8::Int8Bert;
use super::lora::Adapters;
use super::q4file::{Q4File, Shape};
use super::tokens::{QueryTokenizer, Tokens};
use super::weight_format::WeightFormat;
use super::ModelError;
use std::borrow::Borrow;
use std::path::Path;

pub struct Encoder {
    tokenizer: QueryTokenizer,
    engine: Engine,
    shape: Shape,
    format: WeightFormat,
    /// [`Adapters::digest`] of the adapters merged at load, if any.
    adapters: Option<String>,
}

/// The forward pass the weight format runs on.
enum Engine {
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
    /// The instruction set of the int8 path's kernels ([`CpuTier::detect`]: the best this CPU
    /// has); loading fails if the CPU lacks it. The candle paths ignore it.
    pub cpu_tier: CpuTier,
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
        let tokenizer = QueryTokenizer::load(tokenizer, max_tokens)?;
        let engine = match format {
            WeightFormat::Int8 => {
                Engine::Int8(Int8Bert::load(&file, threads, config.cpu_tier, adapters)?)
            }
            WeightFormat::F32 | WeightFormat::Q4 => {
                Engine::Candle(Bert::load(&file, format, adapters)?)
            }
        };
        Ok(Self {
            tokenizer,
            engine,
            shape: file.shape,
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
        match &self.engine {
            Engine::Int8(bert) => bert.install(work),
            Engine::Candle(_) => work(),
        }
    }

    /// Threads the forward pass runs on.
    pub fn threads(&self) -> usize {
        match &self.engine {
            Engine::Int8(bert) => bert.threads(),
            Engine::Candle(_) => candle_core::utils::get_num_threads(),
        }
    }

    /// The instruction set the int8 kernels run; `None` on the candle paths.
    pub fn cpu_tier(&self) -> Option<CpuTier> {
        match &self.engine {
            Engine::Int8(bert) => Some(bert.tier()),
            Engine::Candle(_) => None,
        }
    }

    pub fn max_tokens(&self) -> usize {
        self.tokenizer.max_tokens()
    }

    pub fn format(&self) -> WeightFormat {
        self.format
    }

    /// The digest of the adapters merged into the weights; `None` for the plain encoder.
    pub fn adapters_digest(&self) -> Option<&str> {
        self.adapters.as_deref()
    }

    /// Tokenises one text (see [`QueryTokenizer::tokenize`]).
    pub fn tokenize(&self, text: &str) -> Result<Tokens, ModelError> {
        self.tokenizer.tokenize(text)
    }

    /// Sentence embeddings (L2-normalised) for a batch of tokenised texts, owned or borrowed.
    pub fn embed_tokens(&self, batch: &[impl Borrow<Tokens>]) -> Result<Vec<Vec<f32>>, ModelError> {
        let batch = borrowed(batch);
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        self.embed_tokens_at(&batch, &[self.shape.layers])
    }

    /// Per text, the unit means of the hidden states after each of `at` layers (counted from
    /// 1 to the encoder's depth), concatenated in the order of `at`: features of several
    /// depths for a head that reads more than the sentence embedding.
    pub fn embed_tokens_at(
        &self,
        batch: &[impl Borrow<Tokens>],
        at: &[usize],
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let batch = borrowed(batch);
        if let Some(&bad) = at.iter().find(|&&l| l == 0 || l > self.shape.layers) {
            return Err(ModelError::Config(format!(
                "layer {bad} is not in 1..={}",
                self.shape.layers
            )));
        }
        if batch.is_empty() || at.is_empty() {
            return Ok(vec![Vec::new(); batch.len()]);
        }
        match &self.engine {
            Engine::Candle(bert) => bert.embed_at(&batch, at),
            Engine::Int8(bert) => bert.embed_at(&batch, at),
        }
    }

    /// The hidden states of every token after the first `layers` layers (int8 path only), one
    /// `[len × hidden]` vector per text: the frozen part of the encoder that `tact tune` runs
    /// once, with the numerics serving uses.
    pub fn hidden_states(
        &self,
        batch: &[impl Borrow<Tokens>],
        layers: usize,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        match &self.engine {
            Engine::Int8(bert) => bert.hidden_states(&borrowed(batch), layers),
            Engine::Candle(_) => Err(ModelError::Config(
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

/// The engines read a batch as references, so that callers never copy token ids into one.
fn borrowed(batch: &[impl Borrow<Tokens>]) -> Vec<&Tokens> {
    batch.iter().map(Borrow::borrow).collect()
}
