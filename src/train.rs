//! `tact train`: fits the classification heads on labelled records (SPEC §5).
//!
//! The objective is [`crate::objective`]'s (partial labels, each training only its head), the
//! same as `tact tune`'s but over frozen sentence vectors. Only the train split is fitted; the
//! calibration split picks the epoch and the temperatures; the test split is never read here.
//! Sentence vectors come from the on-disk cache, so retraining takes seconds; everything is
//! seeded.

use crate::data::{read_records, split_of, Record, Split};
use crate::embed_cache::EmbeddingCache;
use crate::labels::{Intent, Sentiment};
use crate::model::heads::{HeadNets, HeadsCard, Temperatures};
use crate::model::Encoder;
use crate::objective::{self, LossWeights, Rng, Targets};
use anyhow::Context;
use candle_core::{Device, Tensor};
use candle_nn::Optimizer;
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
    /// Weight of the corpora's binary labels' loss against each other head's.
    pub corpus_label_weight: f32,
    /// The command line, recorded in the card.
    pub command: String,
    /// Adapters merged into the encoder the vectors come from (kept in the new card).
    pub adapters: Option<crate::model::Adapters>,
    /// How the adapters were trained (`training.tune` of the card they came with), kept in
    /// the new card so a refit does not lose their provenance.
    pub tune_facts: Option<serde_json::Value>,
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

pub struct TrainSummary {
    pub card: HeadsCard,
}

/// The train and calibration splits of labelled files (the test split is never read).
pub struct Splits {
    pub train: Vec<Record>,
    pub calib: Vec<Record>,
    pub files: usize,
    pub skipped: usize,
}

/// Reads every file of `data` and keeps its train split (at most `max_train` records per
/// file, a stable sample) and its calibration split (at most `max_calib` per file).
pub fn read_splits(data: &[PathBuf], max_train: usize, max_calib: usize) -> anyhow::Result<Splits> {
    let files = expand_inputs(data)?;
    anyhow::ensure!(!files.is_empty(), "no training files found in {data:?}");
    let (mut all_train, mut all_calib) = (Vec::new(), Vec::new());
    let mut skipped = 0usize;
    for f in &files {
        let (records, bad) = read_records(f).with_context(|| format!("reading {}", f.display()))?;
        for b in &bad {
            tracing::warn!("skipped {b}");
        }
        skipped += bad.len();
        let (mut train, mut calib) = (Vec::new(), Vec::new());
        for r in records {
            match split_of(&r.id) {
                Split::Train => train.push(r),
                Split::Calib => calib.push(r),
                Split::Test => {}
            }
        }
        crate::data::stable_sample(&mut train, max_train);
        crate::data::stable_sample(&mut calib, max_calib);
        all_train.extend(train);
        all_calib.extend(calib);
    }
    eprintln!(
        "{} train and {} calibration records from {} files ({skipped} bad lines skipped)",
        all_train.len(),
        all_calib.len(),
        files.len()
    );
    Ok(Splits {
        train: all_train,
        calib: all_calib,
        files: files.len(),
        skipped,
    })
}

pub fn run(encoder: &Encoder, cfg: &TrainConfig) -> anyhow::Result<TrainSummary> {
    let Splits { train, calib, .. } = read_splits(&cfg.data, cfg.max_per_source, usize::MAX)?;

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
    let t_calib = Targets::of(&calib.iter().collect::<Vec<_>>());
    let weights = LossWeights {
        labels: cfg.corpus_label_weight,
    };

    let mut rng = Rng(cfg.seed.max(1));
    let (varmap, nets) = objective::seeded_heads(&mut rng, dim, cfg.hidden, true, true)?;
    let mut opt = candle_nn::AdamW::new(
        varmap.all_vars(),
        candle_nn::ParamsAdamW {
            lr: cfg.learning_rate,
            weight_decay: 1e-4,
            ..Default::default()
        },
    )?;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let bs = cfg.batch_size.max(1);
    // Each head has its own parameters, so each keeps those of the epoch where its own
    // calibration loss was lowest (the heads overfit at different speeds).
    let prefixes: Vec<&str> = HeadNets::names(true, true).iter().map(|h| h.0).collect();
    let mut best: Vec<Option<(f32, usize, HashMap<String, Tensor>)>> = vec![None; prefixes.len()];
    for epoch in 0..cfg.epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(bs) {
            let records: Vec<&Record> = chunk.iter().map(|&i| &train[i]).collect();
            let rows: Vec<u32> = chunk.iter().map(|&i| i as u32).collect();
            let xb = x_train.index_select(&Tensor::new(rows, &Device::Cpu)?, 0)?;
            let t = Targets::of(&records);
            if let Ok(loss) = objective::total_loss(&nets, &xb, &t, weights) {
                opt.backward_step(&loss)?;
            }
        }
        let l = objective::head_losses(&nets, &x_calib, &t_calib)?;
        eprintln!(
            "epoch {:>2}: calibration loss intent {:.4} sentiment {:.4} abusive {:.4} labels {:.4} follow-up {:.4}",
            epoch + 1,
            l[0],
            l[1],
            l[2],
            l[3],
            l[4]
        );
        for (head, prefix) in prefixes.iter().enumerate() {
            if best[head].as_ref().is_none_or(|b| l[head] < b.0) {
                let snapshot = varmap
                    .data()
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|(k, _)| k.starts_with(&format!("{prefix}.")))
                    .map(|(k, v)| Ok((k.clone(), v.as_tensor().copy()?)))
                    .collect::<candle_core::Result<_>>()?;
                best[head] = Some((l[head], epoch + 1, snapshot));
            }
        }
    }
    let best: Vec<(f32, usize, HashMap<String, Tensor>)> = best
        .into_iter()
        .collect::<Option<_>>()
        .context("no epochs were run")?;
    let best_epoch: BTreeMap<&str, usize> = prefixes
        .iter()
        .zip(&best)
        .map(|(name, b)| (*name, b.1))
        .collect();
    {
        let data = varmap.data().lock().unwrap();
        for (k, v) in best.iter().flat_map(|b| &b.2) {
            data[k].set(v)?;
        }
    }
    let temps = objective::fit_temperatures(&nets, &x_calib, &t_calib)?;
    let calibrated: Vec<f32> = (0..objective::HEADS)
        .map(|h| {
            objective::head_loss(&nets, &x_calib, &t_calib, h, temps[h])
                .and_then(|l| l.map_or(Ok(0.0), |l| l.to_scalar::<f32>()))
        })
        .collect::<candle_core::Result<_>>()?;
    let t_train = Targets::of(&train.iter().collect::<Vec<_>>());

    std::fs::create_dir_all(&cfg.out_dir)?;
    varmap.save(cfg.out_dir.join("heads.safetensors"))?;
    if let Some(a) = &cfg.adapters {
        a.save(&cfg.out_dir.join(&a.card.file))?;
    }
    let count = per_source;
    let card = HeadsCard {
        embedding_dim: dim,
        hidden_dim: cfg.hidden,
        temperature: Temperatures {
            intent: temps[0] as f32,
            sentiment: temps[1] as f32,
            abusive: temps[2] as f32,
            labels: temps[3] as f32,
            follow_up: temps[4] as f32,
        },
        labels_head: true,
        follow_up_head: true,
        adapters: cfg.adapters.as_ref().map(|a| a.card.clone()),
        // New heads make the old decision calibration meaningless: `tact calibrate` again.
        decisions: None,
        max_tokens: encoder.max_tokens(),
        weight_format: format!("{:?}", encoder.format()).to_lowercase(),
        trained_at: crate::model::heads::utc_date(),
        command: cfg.command.clone(),
        seed: cfg.seed,
        training: serde_json::json!({
            "intents": Intent::ALL.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
            "sentiments": Sentiment::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "train_records_per_source": count(&train),
            "calibration_records_per_source": count(&calib),
            "targets": {"intent": t_train.intent.len(), "sentiment": t_train.sentiment.len(), "abusive": t_train.abusive.len(), "labels": t_train.labels.len(), "follow_up": t_train.follow_up.len()},
            "max_per_source": cfg.max_per_source,
            "epochs_run": cfg.epochs,
            "best_epoch": best_epoch,
            "learning_rate": cfg.learning_rate,
            "corpus_label_weight": cfg.corpus_label_weight,
            "calibration_loss": {"intent": calibrated[0], "sentiment": calibrated[1], "abusive": calibrated[2], "labels": calibrated[3], "follow_up": calibrated[4]},
        }),
    };
    let mut card = card;
    if let Some(facts) = &cfg.tune_facts {
        card.training["tune"] = facts.clone();
    }
    std::fs::write(
        cfg.out_dir.join("heads.json"),
        serde_json::to_string_pretty(&card)? + "\n",
    )?;
    eprintln!("best epochs {best_epoch:?}; temperatures intent {:.2} sentiment {:.2} abusive {:.2} labels {:.2} follow-up {:.2}; wrote {}", temps[0], temps[1], temps[2], temps[3], temps[4], cfg.out_dir.display());
    Ok(TrainSummary { card })
}

/// Records per source, for model cards.
pub fn per_source(records: &[Record]) -> serde_json::Value {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    records
        .iter()
        .for_each(|r| *counts.entry(r.source.clone()).or_default() += 1);
    serde_json::json!(counts)
}

/// Where sentence vectors are cached by default: beside the encoder's files.
pub fn default_cache_dir() -> PathBuf {
    crate::model::fetch::default_model_dir().join("embedding-cache")
}
