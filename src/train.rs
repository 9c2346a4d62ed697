//! `tact train`: fits the classification heads on labelled records (SPEC §5).
//!
//! Records carry partial labels, and each trains only what it carries: an `intent` is a
//! 9-way target; a binary label such as `complaint` or `spam` constrains the probability of
//! the intents that answer it ([`crate::data::intents_for_label`]) with a binary
//! cross-entropy, so a missing label is unknown rather than 0; `sentiment` and `abusive` train
//! their own heads. Only the train split is fitted; the calibration split picks the epoch and
//! the temperatures; the test split is never read here. Sentence vectors come from the
//! on-disk cache, so retraining takes seconds; everything is seeded.

use crate::data::{intents_for_label, read_records, split_of, Record, Split};
use crate::embed_cache::EmbeddingCache;
use crate::labels::{Intent, Sentiment};
use crate::model::heads::{HeadNets, HeadsCard, Temperatures};
use crate::model::Encoder;
use anyhow::Context;
use candle_core::{DType, Device, Tensor, D};
use candle_nn::{Optimizer, VarBuilder, VarMap};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// JSON Lines files, or directories whose `*.jsonl` are all read.
    pub data: Vec<PathBuf>,
    pub out_dir: PathBuf,
    pub cache_dir: PathBuf,
    /// Train-split records kept per source (a stable hash sample), so big corpora don't swamp.
    pub max_per_source: usize,
    pub epochs: usize,
    pub hidden: usize,
    pub learning_rate: f64,
    pub seed: u64,
    pub batch_size: usize,
    /// Weight of a binary corpus label relative to a hand-labelled intent.
    pub corpus_label_weight: f32,
    /// The command line, recorded in the card.
    pub command: String,
}

/// Expands directories into their `*.jsonl` files, sorted for reproducibility.
pub fn expand_inputs(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            inner.sort();
            files.extend(inner);
        } else {
            files.push(p.clone());
        }
    }
    Ok(files)
}

/// One intent target: the probability mass on `mask` should be `y`.
struct IntentTarget {
    row: usize,
    mask: [f32; 9],
    y: f32,
    weight: f32,
}

struct ClassTarget {
    row: usize,
    class: u32,
    weight: f32,
}

struct BinaryTarget {
    row: usize,
    y: f32,
    weight: f32,
}

#[derive(Default)]
struct Targets {
    intent: Vec<IntentTarget>,
    sentiment: Vec<ClassTarget>,
    abusive: Vec<BinaryTarget>,
}

impl Targets {
    fn add(&mut self, r: &Record, row: usize, corpus_weight: f32) {
        if let Some(intent) = r.intent {
            let mut mask = [0f32; 9];
            mask[intent.index()] = 1.0;
            self.intent.push(IntentTarget {
                row,
                mask,
                y: 1.0,
                weight: 1.0,
            });
        }
        for (label, &v) in &r.labels {
            if label == "abusive" {
                self.abusive.push(BinaryTarget {
                    row,
                    y: v as f32,
                    weight: 1.0,
                });
            } else if let (Some(intents), None) = (intents_for_label(label), r.intent) {
                let mut mask = [0f32; 9];
                intents.iter().for_each(|i| mask[i.index()] = 1.0);
                self.intent.push(IntentTarget {
                    row,
                    mask,
                    y: v as f32,
                    weight: corpus_weight,
                });
            }
        }
        if let Some(s) = r.sentiment {
            self.sentiment.push(ClassTarget {
                row,
                class: s.index() as u32,
                weight: 1.0,
            });
        }
    }
}

/// A small deterministic generator for shuffling (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, (self.next() % (i as u64 + 1)) as usize);
        }
    }
}

fn rows_tensor(x: &Tensor, rows: impl Iterator<Item = usize>) -> candle_core::Result<Tensor> {
    let idx: Vec<u32> = rows.map(|r| r as u32).collect();
    let n = idx.len();
    x.index_select(&Tensor::from_vec(idx, n, &Device::Cpu)?, 0)
}

fn weighted_mean(loss: &Tensor, weights: Vec<f32>) -> candle_core::Result<Tensor> {
    let total: f32 = weights.iter().sum();
    let n = weights.len();
    (loss * Tensor::from_vec(weights, n, &Device::Cpu)?)?.sum_all()? / total.max(1e-6) as f64
}

fn intent_loss(
    nets: &HeadNets,
    x: &Tensor,
    t: &[&IntentTarget],
    temp: f64,
) -> candle_core::Result<Tensor> {
    let xb = rows_tensor(x, t.iter().map(|t| t.row))?;
    // `softmax`, not the fused `softmax_last_dim`: only the former has a backward pass.
    let p = candle_nn::ops::softmax(&(nets.intent.logits(&xb)? / temp)?, D::Minus1)?;
    let mask: Vec<f32> = t.iter().flat_map(|t| t.mask).collect();
    let mask = Tensor::from_vec(mask, (t.len(), 9), &Device::Cpu)?;
    // Squeezed into [1e-6, 1 − 1e-6] by an affine map, so the logs stay finite and the
    // gradient never vanishes (a clamp would zero it).
    let ps = (p * mask)?.sum(D::Minus1)?.affine(1.0 - 2e-6, 1e-6)?;
    let y = Tensor::from_vec(
        t.iter().map(|t| t.y).collect::<Vec<_>>(),
        t.len(),
        &Device::Cpu,
    )?;
    let pos = (&y * ps.log()?)?;
    let neg = ((1.0 - &y)? * (1.0 - &ps)?.log()?)?;
    weighted_mean(&(pos + neg)?.neg()?, t.iter().map(|t| t.weight).collect())
}

fn sentiment_loss(
    nets: &HeadNets,
    x: &Tensor,
    t: &[&ClassTarget],
    temp: f64,
) -> candle_core::Result<Tensor> {
    let xb = rows_tensor(x, t.iter().map(|t| t.row))?;
    let logp = candle_nn::ops::log_softmax(&(nets.sentiment.logits(&xb)? / temp)?, D::Minus1)?;
    let classes = Tensor::from_vec(
        t.iter().map(|t| t.class).collect::<Vec<_>>(),
        (t.len(), 1),
        &Device::Cpu,
    )?;
    let nll = logp.gather(&classes, 1)?.squeeze(1)?.neg()?;
    weighted_mean(&nll, t.iter().map(|t| t.weight).collect())
}

fn abusive_loss(
    nets: &HeadNets,
    x: &Tensor,
    t: &[&BinaryTarget],
    temp: f64,
) -> candle_core::Result<Tensor> {
    let xb = rows_tensor(x, t.iter().map(|t| t.row))?;
    let z = (nets.abusive.logits(&xb)?.squeeze(1)? / temp)?;
    let y = Tensor::from_vec(
        t.iter().map(|t| t.y).collect::<Vec<_>>(),
        t.len(),
        &Device::Cpu,
    )?;
    // Stable BCE with logits: max(z,0) − z·y + ln(1 + e^{−|z|}).
    let loss = ((z.relu()? - (&z * &y)?)? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    weighted_mean(&loss, t.iter().map(|t| t.weight).collect())
}

/// Every head parameter, initialised from the seeded generator (candle's CPU generator cannot
/// be seeded): U(−1/√fan_in, 1/√fan_in), as PyTorch's `nn.Linear` does. `HeadNets::new` then
/// finds them in the map instead of drawing its own.
fn seeded_varmap(rng: &mut Rng, dim: usize, hidden: usize) -> candle_core::Result<VarMap> {
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().unwrap();
        for (head, outputs) in [("intent", 9), ("sentiment", 3), ("abusive", 1)] {
            for (layer, rows, cols) in [("hidden", hidden, dim), ("out", outputs, hidden)] {
                let bound = 1.0 / (cols as f32).sqrt();
                let mut init =
                    |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform() * bound).collect() };
                let w = Tensor::from_vec(init(rows * cols), (rows, cols), &Device::Cpu)?;
                let b = Tensor::from_vec(init(rows), rows, &Device::Cpu)?;
                data.insert(
                    format!("{head}.{layer}.weight"),
                    candle_core::Var::from_tensor(&w)?,
                );
                data.insert(
                    format!("{head}.{layer}.bias"),
                    candle_core::Var::from_tensor(&b)?,
                );
            }
        }
    }
    Ok(varmap)
}

/// Calibration-split loss of one head (0 intent, 1 sentiment, 2 abusive) at a temperature.
fn calib_loss(
    nets: &HeadNets,
    x: &Tensor,
    t: &Targets,
    head: usize,
    temp: f64,
) -> candle_core::Result<f32> {
    let loss = match head {
        0 => intent_loss(nets, x, &t.intent.iter().collect::<Vec<_>>(), temp)?,
        1 => sentiment_loss(nets, x, &t.sentiment.iter().collect::<Vec<_>>(), temp)?,
        _ => abusive_loss(nets, x, &t.abusive.iter().collect::<Vec<_>>(), temp)?,
    };
    loss.to_scalar()
}

/// Calibration-split losses of the three heads at the given temperatures.
fn calib_losses(
    nets: &HeadNets,
    x: &Tensor,
    t: &Targets,
    temps: [f64; 3],
) -> candle_core::Result<[f32; 3]> {
    Ok([
        calib_loss(nets, x, t, 0, temps[0])?,
        calib_loss(nets, x, t, 1, temps[1])?,
        calib_loss(nets, x, t, 2, temps[2])?,
    ])
}

pub struct TrainSummary {
    pub card: HeadsCard,
}

pub fn run(encoder: &Encoder, cfg: &TrainConfig) -> anyhow::Result<TrainSummary> {
    let files = expand_inputs(&cfg.data)?;
    anyhow::ensure!(
        !files.is_empty(),
        "no training files found in {:?}",
        cfg.data
    );
    let mut by_split: HashMap<Split, Vec<Record>> = HashMap::new();
    let mut skipped = 0usize;
    for f in &files {
        let (records, bad) = read_records(f).with_context(|| format!("reading {}", f.display()))?;
        for b in &bad {
            tracing::warn!("skipped {b}");
        }
        skipped += bad.len();
        let mut train: Vec<Record> = Vec::new();
        for r in records {
            match split_of(&r.id) {
                Split::Train => train.push(r),
                Split::Calib => by_split.entry(Split::Calib).or_default().push(r),
                Split::Test => {}
            }
        }
        crate::data::stable_sample(&mut train, cfg.max_per_source);
        by_split.entry(Split::Train).or_default().extend(train);
    }
    let train = by_split.remove(&Split::Train).unwrap_or_default();
    let calib = by_split.remove(&Split::Calib).unwrap_or_default();
    eprintln!(
        "{} train and {} calibration records from {} files ({skipped} bad lines skipped)",
        train.len(),
        calib.len(),
        files.len()
    );

    let mut cache = EmbeddingCache::open(&cfg.cache_dir, encoder)?;
    let texts: Vec<&str> = train
        .iter()
        .chain(&calib)
        .map(|r| r.text.as_str())
        .collect();
    cache.fill(encoder, &texts, 32)?;

    let dim = encoder.hidden_size();
    let matrix = |records: &[Record]| -> candle_core::Result<Tensor> {
        let flat: Vec<f32> = records
            .iter()
            .flat_map(|r| cache.get(&r.text).expect("filled").iter().copied())
            .collect();
        Tensor::from_vec(flat, (records.len(), dim), &Device::Cpu)
    };
    let (x_train, x_calib) = (matrix(&train)?, matrix(&calib)?);
    let mut t_train = Targets::default();
    train
        .iter()
        .enumerate()
        .for_each(|(i, r)| t_train.add(r, i, cfg.corpus_label_weight));
    let mut t_calib = Targets::default();
    calib
        .iter()
        .enumerate()
        .for_each(|(i, r)| t_calib.add(r, i, cfg.corpus_label_weight));

    let mut rng = Rng(cfg.seed.max(1));
    let varmap = seeded_varmap(&mut rng, dim, cfg.hidden)?;
    let nets = HeadNets::new(
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
        dim,
        cfg.hidden,
    )?;
    let mut opt = candle_nn::AdamW::new(
        varmap.all_vars(),
        candle_nn::ParamsAdamW {
            lr: cfg.learning_rate,
            weight_decay: 1e-4,
            ..Default::default()
        },
    )?;
    let mut order = (
        (0..t_train.intent.len()).collect::<Vec<_>>(),
        (0..t_train.sentiment.len()).collect::<Vec<_>>(),
        (0..t_train.abusive.len()).collect::<Vec<_>>(),
    );
    let bs = cfg.batch_size;
    let steps = [order.0.len(), order.1.len(), order.2.len()]
        .into_iter()
        .max()
        .unwrap_or(0)
        .div_ceil(bs);
    let mut best: Option<(f32, usize, HashMap<String, Tensor>)> = None;
    for epoch in 0..cfg.epochs {
        rng.shuffle(&mut order.0);
        rng.shuffle(&mut order.1);
        rng.shuffle(&mut order.2);
        for step in 0..steps {
            // Smaller target sets cycle, so every head sees a batch at every step.
            let pick = |o: &Vec<usize>| -> Vec<usize> {
                (0..bs.min(o.len()))
                    .map(|k| o[(step * bs + k) % o.len()])
                    .collect()
            };
            let i: Vec<_> = pick(&order.0)
                .into_iter()
                .map(|k| &t_train.intent[k])
                .collect();
            let s: Vec<_> = pick(&order.1)
                .into_iter()
                .map(|k| &t_train.sentiment[k])
                .collect();
            let a: Vec<_> = pick(&order.2)
                .into_iter()
                .map(|k| &t_train.abusive[k])
                .collect();
            let loss = ((intent_loss(&nets, &x_train, &i, 1.0)?
                + sentiment_loss(&nets, &x_train, &s, 1.0)?)?
                + abusive_loss(&nets, &x_train, &a, 1.0)?)?;
            opt.backward_step(&loss)?;
        }
        let l = calib_losses(&nets, &x_calib, &t_calib, [1.0; 3])?;
        let total: f32 = l.iter().sum();
        eprintln!(
            "epoch {:>2}: calibration loss intent {:.4} sentiment {:.4} abusive {:.4}",
            epoch + 1,
            l[0],
            l[1],
            l[2]
        );
        if best.as_ref().is_none_or(|b| total < b.0) {
            let snapshot = varmap
                .data()
                .lock()
                .unwrap()
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
                .collect::<candle_core::Result<_>>()?;
            best = Some((total, epoch + 1, snapshot));
        }
    }
    let (_, best_epoch, snapshot) = best.context("no epochs were run")?;
    {
        let data = varmap.data().lock().unwrap();
        for (k, v) in &snapshot {
            data[k].set(v)?;
        }
    }

    // Temperature scaling: the T that minimises each head's calibration loss.
    let grid: Vec<f64> = (10..=80).map(|k| k as f64 * 0.05).collect();
    let mut temps = [1.0f64; 3];
    for head in 0..3 {
        let mut best_t = (f32::MAX, 1.0);
        for &t in &grid {
            let l = calib_loss(&nets, &x_calib, &t_calib, head, t)?;
            if l < best_t.0 {
                best_t = (l, t);
            }
        }
        temps[head] = best_t.1;
    }
    let calibrated = calib_losses(&nets, &x_calib, &t_calib, temps)?;

    std::fs::create_dir_all(&cfg.out_dir)?;
    varmap.save(cfg.out_dir.join("heads.safetensors"))?;
    let count = |records: &[Record]| -> serde_json::Value {
        let mut per_source: BTreeMap<String, usize> = BTreeMap::new();
        records
            .iter()
            .for_each(|r| *per_source.entry(r.source.clone()).or_default() += 1);
        serde_json::json!(per_source)
    };
    let card = HeadsCard {
        embedding_dim: dim,
        hidden_dim: cfg.hidden,
        temperature: Temperatures {
            intent: temps[0] as f32,
            sentiment: temps[1] as f32,
            abusive: temps[2] as f32,
        },
        max_tokens: encoder.max_tokens(),
        weight_format: format!("{:?}", encoder.format()).to_lowercase(),
        trained_at: crate::cli::utc_date(),
        command: cfg.command.clone(),
        seed: cfg.seed,
        training: serde_json::json!({
            "intents": Intent::ALL.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
            "sentiments": Sentiment::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "train_records_per_source": count(&train),
            "calibration_records_per_source": count(&calib),
            "targets": {"intent": t_train.intent.len(), "sentiment": t_train.sentiment.len(), "abusive": t_train.abusive.len()},
            "max_per_source": cfg.max_per_source,
            "epochs_run": cfg.epochs,
            "best_epoch": best_epoch,
            "learning_rate": cfg.learning_rate,
            "corpus_label_weight": cfg.corpus_label_weight,
            "calibration_loss": {"intent": calibrated[0], "sentiment": calibrated[1], "abusive": calibrated[2]},
        }),
    };
    std::fs::write(
        cfg.out_dir.join("heads.json"),
        serde_json::to_string_pretty(&card)? + "\n",
    )?;
    eprintln!("best epoch {best_epoch}; temperatures intent {:.2} sentiment {:.2} abusive {:.2}; wrote {}", temps[0], temps[1], temps[2], cfg.out_dir.display());
    Ok(TrainSummary { card })
}

/// Where sentence vectors are cached by default: beside the encoder's files.
pub fn default_cache_dir() -> PathBuf {
    crate::model::fetch::default_model_dir().join("embedding-cache")
}
