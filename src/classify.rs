//! Texts → calibrated scores: the encoder and the heads put together.
//!
//! [`Classifier`] is what the front ends (HTTP, archive scorer, evaluator, CLI) hold. It is
//! synchronous and CPU-bound; the server runs it on its own thread. [`Backend`] is the seam
//! between the pipeline and the model: what the pipeline needs, so that tests of the paths
//! around the model can run on a fake (`fake`, built for tests only) without the encoder's files.

use crate::comment::Scores;
use crate::model::batching::in_input_order;
use crate::model::{
    CpuTier, Encoder, EncoderConfig, Heads, ModelError, ModelFiles, ReplyHead, TokenCut, Tokens,
    WeightFormat,
};
use std::path::PathBuf;

/// What the pipeline and its front ends need from the model: tokenising a text, scoring a
/// batch of tokenised texts, the heads the scores come from (their card, their calibration)
/// and what the encoder is.
pub trait Backend {
    fn tokenize(&self, text: &str) -> Result<Tokens, ModelError>;
    /// Scores a batch of tokenised texts (one forward pass), one result per text, in order.
    fn classify_tokens(&self, batch: &[&Tokens]) -> Result<Vec<Classified>, ModelError>;
    fn heads(&self) -> &Heads;
    /// The reply linter's head, whose kinds name [`Classified::faults`]; `None` without one.
    fn reply_head(&self) -> Option<&ReplyHead>;
    fn encoder_info(&self) -> EncoderInfo;
}

/// What the encoder is, as a server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncoderInfo {
    pub weight_format: WeightFormat,
    /// The instruction set of the int8 kernels; `None` on the candle paths.
    pub cpu_tier: Option<CpuTier>,
    /// Length of the sentence vectors.
    pub hidden_size: usize,
    /// Tokens per text; the rest of a longer text is cut.
    pub max_tokens: usize,
}

/// How to build a [`Classifier`]; every field has a CLI flag and an env var.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    /// Where the encoder's files are cached (fetched there on first use).
    pub model_dir: PathBuf,
    /// A directory with `heads.json` + `heads.safetensors` (and the reply linter's
    /// `reply_head.json`, when it has one); `None` = the committed heads.
    pub heads_dir: Option<PathBuf>,
    pub weight_format: WeightFormat,
    /// The int8 kernels' instruction set (this CPU must have it).
    pub cpu_tier: CpuTier,
    /// Tokens per text (including `<s>`, `</s>` and the `query: ` prefix); the rest is cut.
    pub max_tokens: usize,
    /// Threads for the int8 encoder (0 = one per core).
    pub threads: usize,
}

/// The default token limit: p95 of real comments is ~60 tokens, and 256 keeps a long
/// review's opening (where the point usually is) without letting one text stall a batch.
pub const DEFAULT_MAX_TOKENS: usize = 256;

/// Scores for one text, with what the encoder saw of it.
#[derive(Debug, Clone)]
pub struct Classified {
    pub scores: Scores,
    pub tokens: usize,
    pub truncated: bool,
    /// Where a long text was cut (head + tail).
    pub cut: Option<TokenCut>,
    /// The reply head's probability per kind (read as a sentence of a draft reply), in the
    /// order of its kinds; empty without a reply head.
    pub faults: Vec<f32>,
}

pub struct Classifier {
    pub encoder: Encoder,
    pub heads: Heads,
    pub reply_head: Option<ReplyHead>,
}

impl Classifier {
    pub fn load(config: &ModelConfig) -> Result<Self, ModelError> {
        let files = ModelFiles::ensure(&config.model_dir)?;
        let heads = match &config.heads_dir {
            Some(dir) => Heads::load(dir)?,
            None => Heads::builtin()?,
        };
        let encoder = Encoder::load(
            &files.weights,
            &files.tokenizer,
            &EncoderConfig {
                format: config.weight_format,
                max_tokens: config.max_tokens,
                threads: config.threads,
                cpu_tier: config.cpu_tier,
                adapters: heads.adapters.clone(),
            },
        )?;
        if heads.card.embedding_dim != encoder.hidden_size() {
            return Err(ModelError::Config(format!(
                "the heads expect {}-dimensional vectors, the encoder gives {}",
                heads.card.embedding_dim,
                encoder.hidden_size()
            )));
        }
        let reply_head = match &config.heads_dir {
            Some(dir) if dir.join("reply_head.json").exists() => {
                Some(ReplyHead::load(&dir.join("reply_head.json"))?)
            }
            _ => ReplyHead::builtin()?,
        };
        if let Some(head) = &reply_head {
            let depth = encoder.shape().layers;
            if let Some(bad) = head.card.layers.iter().find(|&&l| l == 0 || l > depth) {
                return Err(ModelError::Config(format!(
                    "the reply head reads layer {bad}; the encoder has layers 1..={depth}"
                )));
            }
            if head.card.embedding_dim != encoder.hidden_size() * head.depths() {
                return Err(ModelError::Config(format!(
                    "the reply head expects {}-dimensional vectors, the encoder gives {} \
                     ({} per layer read)",
                    head.card.embedding_dim,
                    encoder.hidden_size() * head.depths(),
                    encoder.hidden_size()
                )));
            }
            if head.card.encoder_heads_trained_at != heads.card.trained_at {
                tracing::warn!(
                    "the reply head was trained with the encoder of other heads; run `tact lint --train`"
                );
            }
        }
        Ok(Self {
            encoder,
            heads,
            reply_head,
        })
    }

    /// Tokenises and scores texts, batching them by length `batch_size` at a time.
    pub fn classify(
        &self,
        texts: &[&str],
        batch_size: usize,
    ) -> Result<Vec<Classified>, ModelError> {
        let tokens = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>, _>>()?;
        let tokens: Vec<&Tokens> = tokens.iter().collect();
        in_input_order(&tokens, batch_size, |batch| self.classify_tokens(batch))
    }
}

impl Backend for Classifier {
    fn tokenize(&self, text: &str) -> Result<Tokens, ModelError> {
        self.encoder.tokenize(text)
    }

    fn classify_tokens(&self, batch: &[&Tokens]) -> Result<Vec<Classified>, ModelError> {
        // The sentence embedding, then the layers the reply head reads: one pass for both.
        let hidden = self.encoder.hidden_size();
        let mut at = vec![self.encoder.shape().layers];
        if let Some(head) = &self.reply_head {
            at.extend(&head.card.layers);
        }
        let vectors = self.encoder.embed_tokens_at(batch, &at)?;
        let embeddings: Vec<&[f32]> = vectors.iter().map(|v| &v[..hidden]).collect();
        let scores = self.heads.scores(&embeddings)?;
        Ok(scores
            .into_iter()
            .zip(&vectors)
            .zip(batch)
            .map(|((scores, vector), t)| Classified {
                scores,
                tokens: t.ids.len(),
                truncated: t.truncated,
                cut: t.cut,
                faults: self.reply_head.as_ref().map_or_else(Vec::new, |h| {
                    // A head without layers reads the sentence embedding.
                    let features = if h.card.layers.is_empty() {
                        &vector[..hidden]
                    } else {
                        &vector[hidden..]
                    };
                    h.scores(features)
                }),
            })
            .collect())
    }

    fn heads(&self) -> &Heads {
        &self.heads
    }

    fn reply_head(&self) -> Option<&ReplyHead> {
        self.reply_head.as_ref()
    }

    fn encoder_info(&self) -> EncoderInfo {
        EncoderInfo {
            weight_format: self.encoder.format(),
            cpu_tier: self.encoder.cpu_tier(),
            hidden_size: self.encoder.hidden_size(),
            max_tokens: self.encoder.max_tokens(),
        }
    }
}

#[cfg(test)]
pub mod fake;
