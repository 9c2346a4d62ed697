//! `tact bench`: the encoder's speed on a corpus, measured the way `ort_anchor.py` measures
//! ONNX Runtime so the figures compare: tokenisation included, batches of N sorted by token
//! length, warm-up first, median of several passes; batch-1 latency on the first texts; the
//! whole pipeline (tokenise, encode, heads, playbook); and the process's peak RSS.

use crate::classify::Classifier;
use crate::model::batching::{for_each_batch, in_input_order};
use crate::model::{Encoder, Tokens};
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct BenchConfig {
    pub batch: usize,
    pub runs: usize,
    /// Texts timed one at a time for the batch-1 latency figures.
    pub latency_texts: usize,
}

#[derive(Debug, Serialize)]
pub struct BenchReport {
    pub texts: usize,
    pub tokens: usize,
    pub batch: usize,
    pub weight_format: crate::model::WeightFormat,
    /// The int8 kernels' instruction set (`None` on the candle paths).
    pub cpu_tier: Option<crate::model::CpuTier>,
    /// The best tier this CPU has, whatever runs.
    pub cpu_best: crate::model::CpuTier,
    pub threads: usize,
    pub encoder_texts_per_s: f64,
    pub encoder_tokens_per_s: f64,
    pub encoder_runs_s: Vec<f64>,
    pub batch1_texts_per_s: f64,
    pub batch1_p50_ms: f64,
    pub batch1_p99_ms: f64,
    pub pipeline_texts_per_s: f64,
    pub peak_rss_mb: f64,
    /// Agreement with the f32 reference encoder on every text (absent for f32 itself).
    pub accuracy: Option<Accuracy>,
}

/// How closely one encoder's vectors follow the reference encoder's, text by text.
#[derive(Debug, Serialize)]
pub struct Accuracy {
    pub reference: crate::model::WeightFormat,
    pub texts: usize,
    pub min_cosine: f64,
    pub mean_cosine: f64,
    /// Line of the corpus (0-based, blank lines skipped) with the lowest cosine.
    pub worst_text: usize,
}

/// Embeds every text with both encoders and compares each pair of vectors.
pub fn accuracy(
    encoder: &Encoder,
    reference: &Encoder,
    texts: &[&str],
    batch: usize,
) -> anyhow::Result<Accuracy> {
    let embed_all = |e: &Encoder| -> anyhow::Result<Vec<Vec<f32>>> {
        let tokens: Vec<Tokens> = texts
            .iter()
            .map(|t| e.tokenize(t))
            .collect::<Result<_, _>>()?;
        let tokens: Vec<&Tokens> = tokens.iter().collect();
        Ok(in_input_order(&tokens, batch, |b| e.embed_tokens(b))?)
    };
    let (got, want) = (embed_all(encoder)?, embed_all(reference)?);
    // Both are unit vectors, so the dot product is the cosine.
    let cosines: Vec<f64> = got
        .iter()
        .zip(&want)
        .map(|(a, b)| a.iter().zip(b).map(|(x, y)| (x * y) as f64).sum())
        .collect();
    let (worst_text, min_cosine) = cosines
        .iter()
        .copied()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap_or((0, 1.0));
    Ok(Accuracy {
        reference: reference.format(),
        texts: texts.len(),
        min_cosine,
        mean_cosine: cosines.iter().sum::<f64>() / cosines.len().max(1) as f64,
        worst_text,
    })
}

/// Peak resident set size of this process (VmHWM), in MiB; 0 where /proc is absent.
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    xs[xs.len() / 2]
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// One pass of the encoder over every text: tokenise, sort by length, embed in batches.
fn encoder_pass(c: &Classifier, texts: &[&str], batch: usize) -> anyhow::Result<f64> {
    let start = Instant::now();
    let tokens: Vec<Tokens> = texts
        .iter()
        .map(|t| c.encoder.tokenize(t))
        .collect::<Result<_, _>>()?;
    let tokens: Vec<&Tokens> = tokens.iter().collect();
    for_each_batch(&tokens, batch, |_, b| c.encoder.embed_tokens(b).map(drop))?;
    Ok(start.elapsed().as_secs_f64())
}

pub fn run(
    c: &Classifier,
    texts: &[&str],
    cfg: &BenchConfig,
    pipeline: impl Fn(&[&str]) -> anyhow::Result<()>,
) -> anyhow::Result<BenchReport> {
    anyhow::ensure!(!texts.is_empty(), "the corpus has no texts");
    let tokens: usize = texts
        .iter()
        .map(|t| c.encoder.tokenize(t).map(|t| t.ids.len()))
        .sum::<Result<_, _>>()?;
    // Warm-up over 10% of the texts, as ort_anchor.py does.
    encoder_pass(c, &texts[..texts.len().div_ceil(10)], cfg.batch)?;
    let runs: Vec<f64> = (0..cfg.runs.max(1))
        .map(|_| encoder_pass(c, texts, cfg.batch))
        .collect::<anyhow::Result<_>>()?;
    let secs = median(runs.clone());

    let mut latencies: Vec<f64> = texts
        .iter()
        .take(cfg.latency_texts)
        .map(|t| {
            let start = Instant::now();
            let tok = c.encoder.tokenize(t)?;
            c.encoder.embed_tokens(&[tok])?;
            Ok(start.elapsed().as_secs_f64() * 1000.0)
        })
        .collect::<anyhow::Result<_>>()?;
    let batch1_secs: f64 = latencies.iter().sum::<f64>() / 1000.0;
    latencies.sort_by(|a, b| a.total_cmp(b));

    let start = Instant::now();
    pipeline(texts)?;
    let pipeline_secs = start.elapsed().as_secs_f64();

    Ok(BenchReport {
        texts: texts.len(),
        tokens,
        batch: cfg.batch,
        weight_format: c.encoder.format(),
        cpu_tier: c.encoder.cpu_tier(),
        cpu_best: crate::model::CpuTier::detect(),
        threads: c.encoder.threads(),
        encoder_texts_per_s: texts.len() as f64 / secs,
        encoder_tokens_per_s: tokens as f64 / secs,
        encoder_runs_s: runs,
        batch1_texts_per_s: latencies.len() as f64 / batch1_secs,
        batch1_p50_ms: percentile(&latencies, 0.5),
        batch1_p99_ms: percentile(&latencies, 0.99),
        pipeline_texts_per_s: texts.len() as f64 / pipeline_secs,
        peak_rss_mb: peak_rss_mb(),
        accuracy: None,
    })
}

impl BenchReport {
    pub fn print_table(&self) {
        let kernels = self
            .cpu_tier
            .map_or("candle".into(), |t| format!("{t} kernels"));
        println!(
            "corpus: {} texts, {} tokens; weights {}, {kernels} (CPU's best: {}); {} threads",
            self.texts, self.tokens, self.weight_format, self.cpu_best, self.threads
        );
        println!("{:<34} {:>12}", "figure", "value");
        let rows = [
            (
                format!("encoder texts/s (batch {}, sorted)", self.batch),
                self.encoder_texts_per_s,
            ),
            (
                format!("encoder tokens/s (batch {}, sorted)", self.batch),
                self.encoder_tokens_per_s,
            ),
            (
                "encoder texts/s (batch 1)".to_string(),
                self.batch1_texts_per_s,
            ),
            ("batch-1 latency p50 (ms)".to_string(), self.batch1_p50_ms),
            ("batch-1 latency p99 (ms)".to_string(), self.batch1_p99_ms),
            ("pipeline texts/s".to_string(), self.pipeline_texts_per_s),
            ("peak RSS (MiB)".to_string(), self.peak_rss_mb),
        ];
        for (name, v) in rows {
            println!("{name:<34} {v:>12.1}");
        }
        if let Some(a) = &self.accuracy {
            println!(
                "cosine to {} on {} texts: min {:.5} (line {}), mean {:.5}",
                a.reference, a.texts, a.min_cosine, a.worst_text, a.mean_cosine
            );
        }
    }
}
