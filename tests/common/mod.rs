//! Shared set-up for the integration tests: the real encoder, fetched on first use into the
//! same cache as the CLI (or `TACT_MODEL_DIR`), loaded once per test binary.

#![allow(dead_code)]

pub mod app;
pub mod browser;
pub mod harness;
pub mod postgres;
pub mod served;

use std::path::PathBuf;
use std::sync::OnceLock;
use tact::classify::{Classifier, ModelConfig, DEFAULT_MAX_TOKENS};
use tact::model::{fetch, CpuTier, Encoder, EncoderConfig, ModelFiles, WeightFormat};

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
    static INT8: OnceLock<Encoder> = OnceLock::new();
    let cell = match format {
        WeightFormat::F32 => &F32,
        WeightFormat::Q4 => &Q4,
        WeightFormat::Int8 => &INT8,
    };
    cell.get_or_init(|| {
        let f = files();
        Encoder::load(
            &f.weights,
            &f.tokenizer,
            &EncoderConfig {
                format,
                max_tokens: 512,
                threads: 0,
                cpu_tier: CpuTier::detect(),
                adapters: None,
            },
        )
        .expect("encoder")
    })
}

pub fn config() -> ModelConfig {
    ModelConfig {
        model_dir: model_dir(),
        heads_dir: None,
        weight_format: WeightFormat::best_for_this_cpu(),
        cpu_tier: CpuTier::detect(),
        max_tokens: DEFAULT_MAX_TOKENS,
        threads: 0,
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

/// The real model and the default playbook, loaded once per test binary.
pub fn pipeline() -> std::sync::Arc<tact::pipeline::Pipeline> {
    static PIPELINE: OnceLock<std::sync::Arc<tact::pipeline::Pipeline>> = OnceLock::new();
    PIPELINE
        .get_or_init(|| {
            let classifier = Classifier::load(&config()).expect("the model loads");
            let playbook = tact::playbook::Playbook::new(tact::playbook::Policy::default_policy());
            std::sync::Arc::new(tact::pipeline::Pipeline::new(classifier, playbook).unwrap())
        })
        .clone()
}

/// Runs `command` with `input` on its stdin and its stdout and stderr captured.
pub fn run_with_stdin(command: &mut std::process::Command, input: &[u8]) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tact starts");
    let mut stdin = child.stdin.take().expect("a piped stdin");
    // Written from a thread, so a child that answers while reading cannot block on a full pipe.
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("tact runs");
    writer.join().expect("the writer").expect("stdin written");
    out
}

/// The first `n` records of the brand set's `lang` file, written to `dir/tiny.jsonl`: a small
/// labelled file with train and calibration records in it.
pub fn brand_sample_file(lang: &str, n: usize, dir: &std::path::Path) -> PathBuf {
    let text = std::fs::read_to_string(format!("datasets/brand/{lang}.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().take(n).collect();
    let path = dir.join("tiny.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}
