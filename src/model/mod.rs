//! The model layer: obtaining the encoder's files ([`fetch`]), reading the Q4_0 weights
//! ([`q4file`]), which instruction set the int8 kernels run ([`cpu_tier`]), tokenising ([`tokens`]), the BERT encoder ([`encoder`], on the engine of
//! [`candle_bert`] or of [`int8`]), running it over many texts in batches of similar length
//! ([`batching`]) the classification heads over its sentence vectors ([`heads`]) and the reply linter's head
//! ([`reply_head`]). Nothing
//! here knows about HTTP, archives or the playbook.

pub mod batching;
mod candle_bert;
pub mod cpu_tier;
mod embeddings;
pub mod encoder;
pub mod fetch;
pub mod heads;
mod int8;
pub mod lora;
pub mod q4file;
pub mod reply_head;
pub mod tokens;
pub mod weight_format;

pub use cpu_tier::CpuTier;
pub use encoder::{Encoder, EncoderConfig};
pub use heads::Heads;
pub use lora::{AdapterCard, Adapters};
pub use reply_head::ReplyHead;
pub use tokens::{TokenCut, Tokens};
pub use weight_format::WeightFormat;

use std::path::{Path, PathBuf};

/// Every way loading or running the model can fail.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    #[error(transparent)]
    Format(#[from] q4file::FormatError),
    #[error(transparent)]
    Cpu(#[from] cpu_tier::TierUnavailable),
    #[error("tokenizer {path}: {message}")]
    Tokenizer { path: PathBuf, message: String },
    #[error("heads {path}: {message}")]
    Heads { path: PathBuf, message: String },
    #[error("adapters {path}: {message}")]
    Adapters { path: PathBuf, message: String },
    #[error("model configuration: {0}")]
    Config(String),
    #[error("inference: {0}")]
    Inference(String),
    #[error("inference: {0}")]
    Candle(#[from] candle_core::Error),
}

/// Where the encoder's two files are, once fetched and verified.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub weights: PathBuf,
    pub tokenizer: PathBuf,
}

impl ModelFiles {
    /// Finds (fetching on first use) and verifies both files in `dir`.
    pub fn ensure(dir: &Path) -> Result<Self, ModelError> {
        Ok(Self {
            weights: fetch::ensure(&fetch::WEIGHTS, dir)?,
            tokenizer: fetch::ensure(&fetch::TOKENIZER, dir)?,
        })
    }
}

/// The unit means an engine keeps while it runs, for the layers a caller asked for (counted
/// from 1, in the caller's order, a layer asked twice kept twice).
pub(crate) struct LayerMeans<'a> {
    at: &'a [usize],
    /// Per asked layer, one unit mean per text (empty until that layer has run).
    means: Vec<Vec<Vec<f32>>>,
}

impl<'a> LayerMeans<'a> {
    pub(crate) fn new(at: &'a [usize]) -> Self {
        LayerMeans {
            at,
            means: vec![Vec::new(); at.len()],
        }
    }

    /// How many layers must run.
    pub(crate) fn deepest(&self) -> usize {
        self.at.iter().copied().max().unwrap_or(0)
    }

    /// Whether layer `done` was asked for.
    pub(crate) fn wants(&self, done: usize) -> bool {
        self.at.contains(&done)
    }

    /// Keeps the means after layer `done` wherever that layer was asked for.
    pub(crate) fn keep(&mut self, done: usize, means: Vec<Vec<f32>>) {
        for (slot, _) in self
            .means
            .iter_mut()
            .zip(self.at)
            .filter(|(_, &l)| l == done)
        {
            slot.clone_from(&means);
        }
    }

    /// Per text, its means concatenated in the order asked.
    pub(crate) fn per_text(self, texts: usize) -> Vec<Vec<f32>> {
        (0..texts)
            .map(|t| {
                self.means
                    .iter()
                    .flat_map(|m| m[t].iter().copied())
                    .collect()
            })
            .collect()
    }
}
