//! `tact tune`: fine-tunes the encoder with LoRA adapters and trains the heads with them, on
//! the CPU, from the same data and objective as `tact train` ([`crate::objective`]).
//!
//! Only the encoder's upper layers are tuned. The lower ones are run once over every text by
//! the int8 encoder — the numerics serving uses — and their token states are kept in memory;
//! each step then runs the upper layers in candle ([`net`]) with autograd. The calibration
//! split picks the epoch and, after the adapters are merged into the int8 encoder as serving
//! will run it, fits the heads' temperatures. Everything is seeded; a checkpoint
//! ([`state`]) is written every few minutes and at every epoch's end, and `--resume` continues
//! from it with the same result as an uninterrupted run.

pub mod net;
pub mod state;

use crate::data::Record;
use crate::model::heads::HeadNets;
use crate::model::lora::{AdapterCard, MATRICES};
use crate::model::q4file::Q4File;
use crate::model::{Adapters, Encoder, EncoderConfig, ModelFiles, Tokens, WeightFormat};
use crate::objective::{self, LossWeights, Rng, Targets};
use anyhow::Context;
use candle_core::Tensor;
use net::UpperLayers;
use state::{AdamW, Checkpoint, Progress};
use std::path::PathBuf;
use std::time::Instant;

/// Everything a run depends on; parsed and checked by the CLI layer.
#[derive(Debug, Clone)]
pub struct TuneConfig {
    pub data: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub checkpoint_dir: PathBuf,
    pub resume: bool,
    /// Train-split records per source file (a stable sample).
    pub max_per_source: usize,
    /// Calibration-split records per source file.
    pub max_calib_per_source: usize,
    /// How many times each brand-set record is seen per epoch (it is small and it is what
    /// the intent head learns from).
    pub brand_repeat: usize,
    /// Tokens per text while training (serving keeps its own limit).
    pub max_train_tokens: usize,
    /// Upper encoder layers that get adapters.
    pub layers: usize,
    pub rank: usize,
    pub alpha: f32,
    pub dropout: f32,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr_adapters: f64,
    pub lr_heads: f64,
    /// Share of all steps spent warming the learning rate up (then linear decay to 0).
    pub warmup: f64,
    pub clip: f64,
    pub weight_decay: f64,
    pub hidden: usize,
    pub corpus_label_weight: f32,
    pub seed: u64,
    pub threads: usize,
    /// The int8 kernels' instruction set.
    pub cpu_tier: crate::model::CpuTier,
    pub checkpoint_minutes: f64,
    /// Epochs of the final heads' refit on the merged encoder's vectors.
    pub head_epochs: usize,
    /// Stop after this many steps in this session (tests and time-boxed runs); a later
    /// `--resume` goes on.
    pub stop_after: Option<usize>,
    pub command: String,
}

impl TuneConfig {
    /// Rejects settings that cannot train, with the flag named (the ranges of
    /// [`crate::train::limits`], which the command line also checks as it reads the flags).
    pub fn validate(&self) -> anyhow::Result<()> {
        use crate::train::limits;
        let checks = [
            (
                "--lr-adapters",
                limits::learning_rate(self.lr_adapters).map(drop),
            ),
            ("--lr-heads", limits::learning_rate(self.lr_heads).map(drop)),
            ("--clip", limits::positive(self.clip).map(drop)),
            ("--alpha", limits::positive(self.alpha as f64).map(drop)),
            ("--dropout", limits::fraction(self.dropout as f64).map(drop)),
            ("--warmup", limits::fraction(self.warmup).map(drop)),
            (
                "--weight-decay",
                limits::non_negative(self.weight_decay).map(drop),
            ),
            (
                "--corpus-label-weight",
                limits::non_negative(self.corpus_label_weight as f64).map(drop),
            ),
            (
                "--checkpoint-minutes",
                limits::non_negative(self.checkpoint_minutes).map(drop),
            ),
            ("--epochs", limits::at_least_one(self.epochs).map(drop)),
            (
                "--batch-size",
                limits::at_least_one(self.batch_size).map(drop),
            ),
            ("--rank", limits::at_least_one(self.rank).map(drop)),
            ("--layers", limits::at_least_one(self.layers).map(drop)),
            (
                "--brand-repeat",
                limits::at_least_one(self.brand_repeat).map(drop),
            ),
            ("--hidden", limits::at_least_one(self.hidden).map(drop)),
            (
                "--head-epochs",
                limits::at_least_one(self.head_epochs).map(drop),
            ),
            (
                "--max-per-source",
                limits::at_least_one(self.max_per_source).map(drop),
            ),
            (
                "--max-calib-per-source",
                limits::at_least_one(self.max_calib_per_source).map(drop),
            ),
        ];
        for (flag, check) in checks {
            check.map_err(|problem| anyhow::anyhow!("{flag} {problem}"))?;
        }
        anyhow::ensure!(
            self.max_train_tokens >= 3,
            "--max-train-tokens must be at least 3, got {}",
            self.max_train_tokens
        );
        Ok(())
    }

    /// A digest of what determines the result, so a checkpoint resumes only its own run.
    fn digest(&self, records: &[Record]) -> String {
        let settings = format!(
            "{:?}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
            self.data,
            self.max_per_source,
            self.max_calib_per_source,
            self.brand_repeat,
            self.max_train_tokens,
            self.layers,
            self.rank,
            self.alpha,
            self.dropout,
            self.epochs,
            self.batch_size,
            self.lr_adapters,
            self.lr_heads,
            self.warmup,
            self.clip,
            self.weight_decay,
            self.hidden,
            self.corpus_label_weight
        );
        let mut h = crate::data::fnv1a(&format!("{settings}|{}", self.seed));
        for r in records {
            h = h.rotate_left(5) ^ crate::data::fnv1a(&r.id) ^ crate::data::fnv1a(&r.text);
        }
        format!("{h:016x}")
    }
}

pub struct TuneSummary {
    /// The step reached when this session stopped early; `None` when the run finished and
    /// wrote its models.
    pub stopped_at: Option<usize>,
    /// Calibration loss after each finished epoch.
    pub epoch_losses: Vec<f32>,
}

/// The order of one epoch: shuffled, then grouped into batches of similar length (little
/// padding) whose order is shuffled again. Depends only on the seed and the epoch.
fn epoch_batches(
    items: &[usize],
    lens: &[usize],
    batch: usize,
    seed: u64,
    epoch: usize,
) -> Vec<Vec<usize>> {
    let mut rng = Rng(seed
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
        .wrapping_add(epoch as u64 + 1)
        | 1);
    let mut order = items.to_vec();
    rng.shuffle(&mut order);
    let mut batches = Vec::new();
    for window in order.chunks(batch * 32) {
        let mut w = window.to_vec();
        w.sort_by_key(|&i| lens[i]);
        batches.extend(w.chunks(batch).map(|c| c.to_vec()));
    }
    rng.shuffle(&mut batches);
    batches
}

/// Learning-rate multiplier at `step` of `total`: linear warm-up, then linear decay to 0.
fn schedule(step: usize, total: usize, warmup: f64) -> f64 {
    let warm = ((total as f64) * warmup).ceil().max(1.0);
    let s = step as f64 + 1.0;
    if s <= warm {
        s / warm
    } else {
        ((total as f64 - s) / (total as f64 - warm).max(1.0)).max(0.0)
    }
}

/// Calibration loss (the heads' losses summed), no dropout.
fn calib_pass(
    upper: &UpperLayers,
    nets: &HeadNets,
    states: &[Vec<f32>],
    records: &[&Record],
    idx: &[usize],
    batch: usize,
) -> anyhow::Result<f32> {
    let mut order = idx.to_vec();
    order.sort_by_key(|&i| states[i].len());
    let mut pooled = Vec::new();
    let mut recs = Vec::new();
    for chunk in order.chunks(batch * 2) {
        let s: Vec<&[f32]> = chunk.iter().map(|&i| states[i].as_slice()).collect();
        pooled.push(upper.forward(&s, None)?.detach());
        recs.extend(chunk.iter().map(|&i| records[i]));
    }
    let x = Tensor::cat(&pooled, 0)?;
    let l = objective::head_losses(nets, &x, &Targets::of(&recs))?;
    Ok(l.iter().sum())
}

/// candle allocates a fresh buffer for every tensor, and glibc hands buffers over 128 KiB
/// back to the kernel when freed: training then spent three times its compute in page faults
/// (measured: 13 texts/s, 190 s of system time for 60 steps; 55 texts/s with these settings).
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; called before training allocates.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}

pub fn run(files: &ModelFiles, cfg: &TuneConfig) -> anyhow::Result<TuneSummary> {
    cfg.validate()?;
    // The models are written at the end of a long run: a bad --out is found out now.
    crate::train::prepare_out_dir(&cfg.out_dir)?;
    keep_freed_memory();
    let started = Instant::now();
    let splits =
        crate::train::read_splits(&cfg.data, cfg.max_per_source, cfg.max_calib_per_source)?;
    let records: Vec<&Record> = splits.train.iter().chain(&splits.calib).collect();
    let (n_train, n_all) = (splits.train.len(), records.len());
    let run_id = cfg.digest(&splits.train);

    let file = Q4File::read(&files.weights)?;
    let shape = file.shape;
    anyhow::ensure!(
        cfg.layers <= shape.layers,
        "--layers {} but the encoder has {} layers",
        cfg.layers,
        shape.layers
    );
    let first = shape.layers - cfg.layers;
    let lower = Encoder::load(
        &files.weights,
        &files.tokenizer,
        &EncoderConfig {
            format: WeightFormat::Int8,
            max_tokens: cfg.max_train_tokens,
            threads: cfg.threads,
            cpu_tier: cfg.cpu_tier,
            adapters: None,
        },
    )?;
    let t0 = Instant::now();
    let tokens: Vec<Tokens> = lower.install(|| {
        use rayon::prelude::*;
        records
            .par_iter()
            .map(|r| lower.tokenize(&r.text))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let token_refs: Vec<&Tokens> = tokens.iter().collect();
    let states = crate::model::batching::in_input_order(&token_refs, 64, |batch| {
        lower.hidden_states(batch, first)
    })?;
    let token_count: usize = tokens.iter().map(|t| t.ids.len()).sum();
    eprintln!(
        "lower {first} layers (int8) over {n_all} texts, {token_count} tokens: {:.0} s",
        t0.elapsed().as_secs_f64()
    );
    drop(lower);
    let lens: Vec<usize> = tokens.iter().map(|t| t.ids.len()).collect();

    let mut rng = Rng(cfg.seed.max(1));
    let card = AdapterCard {
        file: "adapters.safetensors".into(),
        rank: cfg.rank,
        alpha: cfg.alpha,
        layers: (first..shape.layers).collect(),
        matrices: MATRICES.iter().map(|m| m.to_string()).collect(),
    };
    let upper = UpperLayers::new(&file, &card, cfg.dropout, &mut rng)?;
    drop(file);
    let dim = shape.hidden;
    let (varmap, nets) = objective::seeded_heads(&mut rng, dim, cfg.hidden, true, false)?;
    let mut params: Vec<(String, candle_core::Var, usize)> = upper
        .vars
        .iter()
        .map(|(k, v)| (format!("adapter.{k}"), v.clone(), 0))
        .collect();
    let mut head_vars: Vec<(String, candle_core::Var)> = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    head_vars.sort_by(|a, b| a.0.cmp(&b.0));
    params.extend(
        head_vars
            .into_iter()
            .map(|(k, v)| (format!("head.{k}"), v, 1)),
    );
    let mut opt = AdamW::new(params, cfg.weight_decay)?;

    let mut items: Vec<usize> = (0..n_train).collect();
    for _ in 1..cfg.brand_repeat {
        items.extend((0..n_train).filter(|&i| records[i].source == "tact_brand"));
    }
    let calib_idx: Vec<usize> = (n_train..n_all).collect();
    let steps_per_epoch = items.len().div_ceil(cfg.batch_size);
    let total = steps_per_epoch * cfg.epochs;
    let checkpoint = Checkpoint::new(&cfg.checkpoint_dir)?;
    let mut progress = Progress {
        run: run_id.clone(),
        step: 0,
        epoch_losses: Vec::new(),
        seconds: 0.0,
    };
    if cfg.resume {
        match checkpoint.restore(&mut opt, &run_id)? {
            Some(p) => {
                eprintln!("resuming at step {} of {total}", p.step);
                progress = p;
            }
            None => eprintln!(
                "no checkpoint in {}: starting afresh",
                cfg.checkpoint_dir.display()
            ),
        }
    }
    let weights = LossWeights {
        labels: cfg.corpus_label_weight,
    };
    let session_start = progress.step;
    let session = Instant::now();
    let mut last_save = Instant::now();
    let mut smoothed: Option<f32> = None;
    let bar = progress_bar(total as u64, progress.step as u64);
    let mut order: Option<(usize, Vec<Vec<usize>>)> = None;
    while progress.step < total {
        if cfg
            .stop_after
            .is_some_and(|n| progress.step - session_start >= n)
        {
            progress.seconds += session.elapsed().as_secs_f64();
            checkpoint.save(&opt, &progress)?;
            bar.finish_and_clear();
            return Ok(TuneSummary {
                stopped_at: Some(progress.step),
                epoch_losses: progress.epoch_losses,
            });
        }
        let (epoch, k) = (
            progress.step / steps_per_epoch,
            progress.step % steps_per_epoch,
        );
        // A function of the seed and the epoch, so a resumed run needs no saved order.
        if order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            order = Some((
                epoch,
                epoch_batches(&items, &lens, cfg.batch_size, cfg.seed, epoch),
            ));
        }
        let batch = &order.as_ref().expect("just set").1[k];
        let s: Vec<&[f32]> = batch.iter().map(|&i| states[i].as_slice()).collect();
        let mut drop_rng = Rng((cfg.seed ^ 0xd1b5_4a32_d192_ed03)
            .wrapping_add(progress.step as u64 * 0x9e37_79b9)
            | 1);
        let x = upper.forward(&s, Some(&mut drop_rng))?;
        let recs: Vec<&Record> = batch.iter().map(|&i| records[i]).collect();
        let loss = objective::total_loss(&nets, &x, &Targets::of(&recs), weights)?;
        let value = loss.to_scalar::<f32>()?;
        anyhow::ensure!(
            value.is_finite(),
            "the loss became {value} at step {}: lower the learning rates",
            progress.step
        );
        let f = schedule(progress.step, total, cfg.warmup);
        opt.step(&loss, &[cfg.lr_adapters * f, cfg.lr_heads * f], cfg.clip)?;
        progress.step += 1;
        smoothed = Some(smoothed.map_or(value, |m| 0.98 * m + 0.02 * value));
        let done = progress.step - session_start;
        let rate = (done * cfg.batch_size) as f64 / session.elapsed().as_secs_f64();
        bar.set_position(progress.step as u64);
        bar.set_message(format!(
            "epoch {} loss {:.4} {rate:.0} texts/s",
            epoch + 1,
            smoothed.unwrap_or(value)
        ));
        if bar.is_hidden() && (progress.step.is_multiple_of(50) || progress.step == total) {
            let eta = (total - progress.step) as f64 * cfg.batch_size as f64 / rate.max(1e-9);
            eprintln!(
                "step {}/{total} epoch {} loss {:.4} {rate:.0} texts/s eta {:.0} min",
                progress.step,
                epoch + 1,
                smoothed.unwrap_or(value),
                eta / 60.0
            );
        }
        if progress.step.is_multiple_of(steps_per_epoch) {
            let l = calib_pass(&upper, &nets, &states, &records, &calib_idx, cfg.batch_size)?;
            bar.suspend(|| eprintln!("epoch {}: calibration loss {l:.4}", epoch + 1));
            progress.epoch_losses.push(l);
            checkpoint.save_epoch(&opt, epoch + 1)?;
        }
        if progress.step.is_multiple_of(steps_per_epoch)
            || last_save.elapsed().as_secs_f64() >= cfg.checkpoint_minutes * 60.0
        {
            let mut p = progress.clone();
            p.seconds += session.elapsed().as_secs_f64();
            checkpoint.save(&opt, &p)?;
            last_save = Instant::now();
        }
    }
    bar.finish_and_clear();
    progress.seconds += session.elapsed().as_secs_f64();

    let best = progress
        .epoch_losses
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map(|(e, _)| e + 1)
        .context("no epoch finished")?;
    checkpoint.load_epoch(&opt, best)?;
    eprintln!(
        "best epoch {best} (calibration losses {:?})",
        progress.epoch_losses
    );
    let adapters = Adapters::from_tensors(card.clone(), &upper.tensors())?;
    drop(upper);

    // The final heads are refitted, over many cheap epochs, on the very vectors serving
    // computes (adapters merged, int8): on the calibration split they beat the jointly trained
    // heads, which saw each text twice and through the f32 upper layers.
    let served = Encoder::load(
        &files.weights,
        &files.tokenizer,
        &EncoderConfig {
            format: WeightFormat::Int8,
            max_tokens: crate::classify::DEFAULT_MAX_TOKENS,
            threads: cfg.threads,
            cpu_tier: cfg.cpu_tier,
            adapters: Some(adapters.clone()),
        },
    )?;
    let refit = crate::train::run(
        &served,
        &crate::train::TrainConfig {
            data: cfg.data.clone(),
            out_dir: cfg.out_dir.clone(),
            cache_dir: cfg.checkpoint_dir.join("embedding-cache"),
            max_per_source: cfg.max_per_source,
            epochs: cfg.head_epochs,
            hidden: cfg.hidden,
            learning_rate: cfg.lr_heads,
            seed: cfg.seed,
            batch_size: 256,
            corpus_label_weight: cfg.corpus_label_weight,
            command: cfg.command.clone(),
            adapters: Some(adapters),
            tune_facts: None,
        },
    )?;
    let mut card_out = refit.card;
    card_out.training["tune"] = serde_json::json!({
        "method": "LoRA adapters on the upper encoder layers, trained jointly with heads (tact tune); the heads were then refitted on the merged int8 encoder's vectors",
        "train_records_per_source": crate::train::per_source(&splits.train),
        "calibration_records_per_source": crate::train::per_source(&splits.calib),
        "train_tokens": lens[..n_train].iter().sum::<usize>(),
        "texts_per_epoch": items.len(),
        "steps": total,
        "epochs_run": cfg.epochs,
        "best_epoch": best,
        "calibration_loss_per_epoch": progress.epoch_losses,
        "recipe": {
            "tuned_layers": cfg.layers, "rank": cfg.rank, "alpha": cfg.alpha, "dropout": cfg.dropout,
            "lr_adapters": cfg.lr_adapters, "lr_heads": cfg.lr_heads, "warmup": cfg.warmup, "clip": cfg.clip,
            "weight_decay": cfg.weight_decay, "batch_size": cfg.batch_size, "max_train_tokens": cfg.max_train_tokens,
            "max_per_source": cfg.max_per_source, "max_calib_per_source": cfg.max_calib_per_source,
            "brand_repeat": cfg.brand_repeat, "corpus_label_weight": cfg.corpus_label_weight,
            "head_epochs": cfg.head_epochs,
        },
        "training_seconds": progress.seconds.round(),
        "total_seconds_this_session": started.elapsed().as_secs_f64().round(),
        "threads": rayon::current_num_threads(),
    });
    std::fs::write(
        cfg.out_dir.join("heads.json"),
        serde_json::to_string_pretty(&card_out)? + "\n",
    )?;
    eprintln!(
        "wrote {} ({:.0} s training the adapters, {:.0} s in all this session)",
        cfg.out_dir.display(),
        progress.seconds,
        started.elapsed().as_secs_f64()
    );
    Ok(TuneSummary {
        stopped_at: None,
        epoch_losses: progress.epoch_losses,
    })
}

/// A bar on a terminal; hidden otherwise (the loop then prints a line every 50 steps).
fn progress_bar(total: u64, at: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(total);
    bar.set_position(at);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg} ETA {eta}")
            .expect("a valid template"),
    );
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        assert!((schedule(0, 100, 0.1) - 0.1).abs() < 1e-9);
        assert!((schedule(9, 100, 0.1) - 1.0).abs() < 1e-9);
        assert!(schedule(50, 100, 0.1) < 1.0 && schedule(50, 100, 0.1) > 0.4);
        assert_eq!(schedule(99, 100, 0.1), 0.0);
    }

    #[test]
    fn epochs_cover_every_item_once_in_length_grouped_batches() {
        let items: Vec<usize> = (0..1000).collect();
        let lens: Vec<usize> = (0..1000).map(|i| (i * 37) % 90 + 3).collect();
        let a = epoch_batches(&items, &lens, 16, 42, 0);
        assert_eq!(a, epoch_batches(&items, &lens, 16, 42, 0), "seeded");
        assert_ne!(
            a,
            epoch_batches(&items, &lens, 16, 42, 1),
            "a new order each epoch"
        );
        let mut all: Vec<usize> = a.concat();
        all.sort();
        assert_eq!(all, items);
        let spread: usize = a
            .iter()
            .map(|b| {
                b.iter().map(|&i| lens[i]).max().unwrap()
                    - b.iter().map(|&i| lens[i]).min().unwrap()
            })
            .sum::<usize>()
            / a.len();
        assert!(
            spread < 20,
            "batches group similar lengths: mean spread {spread}"
        );
    }
}
