//! Shared set-up for the integration tests: the real encoder, fetched on first use into the
//! same cache as the CLI (or `TACT_MODEL_DIR`), loaded once per test binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use tact::classify::{Classifier, ModelConfig, DEFAULT_MAX_TOKENS};
use tact::model::{fetch, Encoder, ModelFiles, WeightFormat};

pub fn model_dir() -> PathBuf {
    std::env::var_os("TACT_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(fetch::default_model_dir)
}

pub fn files() -> &'static ModelFiles {
    static FILES: OnceLock<ModelFiles> = OnceLock::new();
    FILES.get_or_init(|| ModelFiles::ensure(&model_dir()).expect("model files"))
}

pub fn encoder(format: WeightFormat) -> &'static Encoder {
    static F32: OnceLock<Encoder> = OnceLock::new();
    static Q4: OnceLock<Encoder> = OnceLock::new();
    let cell = match format {
        WeightFormat::F32 => &F32,
        WeightFormat::Q4 => &Q4,
    };
    cell.get_or_init(|| {
        let f = files();
        Encoder::load(&f.weights, &f.tokenizer, format, 512).expect("encoder")
    })
}

pub fn config() -> ModelConfig {
    ModelConfig {
        model_dir: model_dir(),
        heads_dir: None,
        weight_format: WeightFormat::F32,
        max_tokens: DEFAULT_MAX_TOKENS,
    }
}

pub fn classifier() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(|| Classifier::load(&config()).expect("classifier"))
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (na * nb)
}

/// A heads directory for tests that run the `tact` binary or load the pipeline: `None` when
/// the committed heads load (use them), otherwise random heads of the right shape written
/// once per test binary, so the plumbing is tested before trained heads are committed.
pub fn heads_dir() -> Option<PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        if tact::model::Heads::builtin().is_ok() {
            return None;
        }
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("random-heads-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("heads dir");
        let varmap = candle_nn::VarMap::new();
        let vb = candle_nn::VarBuilder::from_varmap(
            &varmap,
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        );
        let dim = encoder(WeightFormat::F32).hidden_size();
        tact::model::heads::HeadNets::new(vb, dim, 8).expect("random heads");
        varmap
            .save(dir.join("heads.safetensors"))
            .expect("heads.safetensors");
        let card = serde_json::json!({
            "embedding_dim": dim, "hidden_dim": 8,
            "temperature": {"intent": 1.0, "sentiment": 1.0, "abusive": 1.0},
            "max_tokens": DEFAULT_MAX_TOKENS, "weight_format": "f32",
            "trained_at": "", "command": "random heads for tests", "seed": 0
        });
        std::fs::write(dir.join("heads.json"), card.to_string()).expect("heads.json");
        Some(dir)
    })
    .clone()
}

/// The model configuration with [`heads_dir`]'s heads.
pub fn config_with_test_heads() -> ModelConfig {
    ModelConfig {
        heads_dir: heads_dir(),
        ..config()
    }
}
