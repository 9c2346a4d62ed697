//! `tact train`: fits the classification heads on labelled records (SPEC §5).
//!
//! The objective is [`crate::objective`]'s (partial labels, each training only its head), the
//! same as `tact tune`'s but over frozen sentence vectors. Only the train split is fitted; the
//! calibration split picks the epoch and the temperatures; the test split is never read here.
//! Sentence vectors come from the on-disk cache, so retraining takes seconds; everything is
//! seeded. Nothing is trained on garbage: the settings are checked first ([`limits`], shared
//! with `tact tune`), `--out` is made and probed for writing before any work, a loss that is not
//! finite stops the run naming its epoch, and heads with a non-finite weight are never written.

use crate::data::{read_records, split_of, Record, Split};
use crate::embed_cache::EmbeddingCache;
use crate::labels::{Intent, Sentiment};
use crate::model::heads::{self, HeadNets, HeadsCard, Temperatures};
use crate::model::Encoder;
use crate::objective::{self, LossWeights, Rng, Targets};
use anyhow::Context;
use candle_core::{Device, Tensor};
use candle_nn::{Optimizer, VarMap};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

pub mod reply_head;

/// The ranges of the training settings. The command line's parsers check them as the flags are
/// read (so garbage never reaches a run), and the configs' `validate` checks them again for
/// library callers. Each returns the value, or what is wrong with it.
pub mod limits {
    /// Finite and in (0, 1]: above 1 AdamW's steps are as large as the weights themselves.
    pub fn learning_rate(v: f64) -> Result<f64, String> {
        if v.is_finite() && v > 0.0 && v <= 1.0 {
            Ok(v)
        } else {
            Err(format!("must be a finite number in (0, 1], got {v}"))
        }
    }

    pub fn at_least_one(v: usize) -> Result<usize, String> {
        if v >= 1 {
            Ok(v)
        } else {
            Err(format!("must be at least 1, got {v}"))
        }
    }

    /// Finite and ≥ 0 (weight decay, a loss weight, minutes).
    pub fn non_negative(v: f64) -> Result<f64, String> {
        if v.is_finite() && v >= 0.0 {
            Ok(v)
        } else {
            Err(format!("must be a finite number ≥ 0, got {v}"))
        }
    }

    /// Finite and > 0 (a clipping norm, a LoRA alpha).
    pub fn positive(v: f64) -> Result<f64, String> {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(format!("must be a finite number above 0, got {v}"))
        }
    }

    /// In [0, 1) (a dropout rate, a share of the steps).
    pub fn fraction(v: f64) -> Result<f64, String> {
        if (0.0..1.0).contains(&v) {
            Ok(v)
        } else {
            Err(format!("must be in [0, 1), got {v}"))
        }
    }
}

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

impl TrainConfig {
    /// Rejects settings that cannot train, naming the flag.
    pub fn validate(&self) -> anyhow::Result<()> {
        let checks = [
            ("--epochs", limits::at_least_one(self.epochs).map(drop)),
            ("--hidden", limits::at_least_one(self.hidden).map(drop)),
            (
                "--max-per-source",
                limits::at_least_one(self.max_per_source).map(drop),
            ),
            (
                "batch size",
                limits::at_least_one(self.batch_size).map(drop),
            ),
            (
                "--learning-rate",
                limits::learning_rate(self.learning_rate).map(drop),
            ),
            (
                "--corpus-label-weight",
                limits::non_negative(self.corpus_label_weight as f64).map(drop),
            ),
        ];
        for (flag, check) in checks {
            check.map_err(|problem| anyhow::anyhow!("{flag} {problem}"))?;
        }
        Ok(())
    }
}

/// Makes `dir` (and its parents) and checks that a file can be written there, so that a run
/// learns before its work, not after, that its results have nowhere to go.
pub fn prepare_out_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("--out {}: cannot create the directory", dir.display()))?;
    let probe = dir.join(format!(".tact-write-check-{}", std::process::id()));
    std::fs::File::create(&probe)
        .with_context(|| format!("--out {}: cannot write there", dir.display()))?;
    std::fs::remove_file(&probe)
        .with_context(|| format!("--out {}: cannot remove {}", dir.display(), probe.display()))
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
/// file, a stable sample) and its calibration split (at most `max_calib` per file). Both must
/// be non-empty: the first is what is fitted, the second picks the epoch and the temperatures.
pub fn read_splits(data: &[PathBuf], max_train: usize, max_calib: usize) -> anyhow::Result<Splits> {
    let files = expand_inputs(data)?;
    anyhow::ensure!(!files.is_empty(), "no training files found in {data:?}");
    let (mut all_train, mut all_calib) = (Vec::new(), Vec::new());
    let (mut read, mut skipped) = (0usize, 0usize);
    for f in &files {
        let (records, bad) = read_records(f).with_context(|| format!("reading {}", f.display()))?;
        for b in &bad {
            tracing::warn!("skipped {b}");
        }
        skipped += bad.len();
        read += records.len();
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
    let names = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let why = |split: &str| match read {
        0 => format!("no usable record in {names} ({skipped} bad lines skipped)"),
        n => format!(
            "none of the {n} records of {names} is in the {split} split (a hash of its id \
             decides: 70% train, 10% calibration, 20% test)"
        ),
    };
    anyhow::ensure!(
        !all_train.is_empty(),
        "no training records: {}",
        why("train")
    );
    anyhow::ensure!(
        !all_calib.is_empty(),
        "no calibration records (they pick the epoch and fit the temperatures): {}",
        why("calibration")
    );
    Ok(Splits {
        train: all_train,
        calib: all_calib,
        files: files.len(),
        skipped,
    })
}

pub fn run(encoder: &Encoder, cfg: &TrainConfig) -> anyhow::Result<TrainSummary> {
    cfg.validate()?;
    prepare_out_dir(&cfg.out_dir)?;
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
    let fitted = fit(&matrix(&train)?, &train, &matrix(&calib)?, &calib, cfg)?;
    let Fitted {
        varmap,
        best_epoch,
        temps,
        calibrated,
    } = fitted;
    let t_train = Targets::of(&train.iter().collect::<Vec<_>>());

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
    heads::save(
        &cfg.out_dir,
        &weights_of(&varmap),
        &card,
        cfg.adapters.as_ref(),
    )?;
    eprintln!("best epochs {best_epoch:?}; temperatures intent {:.2} sentiment {:.2} abusive {:.2} labels {:.2} follow-up {:.2}; wrote {}", temps[0], temps[1], temps[2], temps[3], temps[4], cfg.out_dir.display());
    Ok(TrainSummary { card })
}

/// Heads fitted on sentence vectors, each with the parameters of the epoch where its own
/// calibration loss was lowest, and their temperatures.
struct Fitted {
    varmap: VarMap,
    best_epoch: BTreeMap<&'static str, usize>,
    temps: [f64; objective::HEADS],
    /// Each head's calibration loss at its temperature.
    calibrated: Vec<f32>,
}

/// One head at its best epoch so far: its calibration loss, the epoch, its parameters.
type Snapshot = (f32, usize, HashMap<String, Tensor>);

/// Fits the heads on `x_train` (one row per record of `train`), picking each head's epoch and
/// temperature on `x_calib` / `calib`. A loss that is not finite stops the fit with an error
/// naming the epoch.
fn fit(
    x_train: &Tensor,
    train: &[Record],
    x_calib: &Tensor,
    calib: &[Record],
    cfg: &TrainConfig,
) -> anyhow::Result<Fitted> {
    let dim = x_train.dim(1)?;
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
    // Each head has its own parameters, so each keeps those of the epoch where its own
    // calibration loss was lowest (the heads overfit at different speeds).
    let prefixes: Vec<&'static str> = HeadNets::names(true, true).iter().map(|h| h.0).collect();
    let mut best: Vec<Option<Snapshot>> = vec![None; prefixes.len()];
    let stopped = |epoch: usize, what: String| {
        anyhow::anyhow!(
            "training stopped in epoch {epoch} of {}: {what}; nothing was written (a lower \
             --learning-rate, now {}, may help)",
            cfg.epochs,
            cfg.learning_rate
        )
    };
    for epoch in 1..=cfg.epochs {
        rng.shuffle(&mut order);
        for chunk in order.chunks(cfg.batch_size) {
            let records: Vec<&Record> = chunk.iter().map(|&i| &train[i]).collect();
            let rows: Vec<u32> = chunk.iter().map(|&i| i as u32).collect();
            let xb = x_train.index_select(&Tensor::new(rows, &Device::Cpu)?, 0)?;
            let t = Targets::of(&records);
            if let Ok(loss) = objective::total_loss(&nets, &xb, &t, weights) {
                let value = loss.to_scalar::<f32>()?;
                if !value.is_finite() {
                    return Err(stopped(epoch, format!("the training loss became {value}")));
                }
                opt.backward_step(&loss)?;
            }
        }
        let l = objective::head_losses(&nets, x_calib, &t_calib)?;
        eprintln!(
            "epoch {epoch:>2}: calibration loss intent {:.4} sentiment {:.4} abusive {:.4} labels {:.4} follow-up {:.4}",
            l[0], l[1], l[2], l[3], l[4]
        );
        if let Some((head, value)) = prefixes.iter().zip(l).find(|(_, v)| !v.is_finite()) {
            return Err(stopped(
                epoch,
                format!("the {head} head's calibration loss became {value}"),
            ));
        }
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
                best[head] = Some((l[head], epoch, snapshot));
            }
        }
    }
    let best: Vec<Snapshot> = best
        .into_iter()
        .collect::<Option<_>>()
        .context("no epochs were run")?;
    let best_epoch: BTreeMap<&'static str, usize> = prefixes
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
    let temps = objective::fit_temperatures(&nets, x_calib, &t_calib)?;
    let calibrated: Vec<f32> = (0..objective::HEADS)
        .map(|h| {
            objective::head_loss(&nets, x_calib, &t_calib, h, temps[h])
                .and_then(|l| l.map_or(Ok(0.0), |l| l.to_scalar::<f32>()))
        })
        .collect::<candle_core::Result<_>>()?;
    Ok(Fitted {
        varmap,
        best_epoch,
        temps,
        calibrated,
    })
}

/// The heads' parameters by name, as [`heads::save`] writes them.
fn weights_of(varmap: &VarMap) -> HashMap<String, Tensor> {
    varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` records whose ids fall in `split`, each with a sentiment and an abusive label.
    fn records(n: usize, split: Split) -> Vec<Record> {
        (0..)
            .map(|i| format!("r{i}"))
            .filter(|id| split_of(id) == split)
            .take(n)
            .enumerate()
            .map(|(i, id)| {
                let sentiment = ["negative", "neutral", "positive"][i % 3];
                crate::data::parse_record(&format!(
                    r#"{{"id":"{id}","text":"text {i}","lang":"en","sentiment":"{sentiment}","labels":{{"abusive":{}}}}}"#,
                    i % 2
                ))
                .unwrap()
            })
            .collect()
    }

    fn write_records(path: &Path, records: &[Record]) {
        let lines: Vec<String> = records
            .iter()
            .map(|r| {
                serde_json::json!({"id": r.id, "text": r.text, "lang": "en", "sentiment": r.sentiment.map(|s| s.as_str())})
                    .to_string()
            })
            .collect();
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    /// A row per record whose first column tells the sentiments apart, so there is something
    /// to learn.
    fn vectors(records: &[Record], dim: usize) -> Tensor {
        let flat: Vec<f32> = records
            .iter()
            .flat_map(|r| {
                let s = r.sentiment.map_or(0.0, |s| s.index() as f32);
                (0..dim).map(move |k| if k == 0 { s } else { 0.1 * k as f32 })
            })
            .collect();
        Tensor::from_vec(flat, (records.len(), dim), &Device::Cpu).unwrap()
    }

    fn config(out: &Path) -> TrainConfig {
        TrainConfig {
            data: Vec::new(),
            out_dir: out.to_path_buf(),
            cache_dir: out.join("cache"),
            max_per_source: 100,
            epochs: 3,
            hidden: 8,
            learning_rate: 1e-2,
            seed: 7,
            batch_size: 16,
            corpus_label_weight: 0.5,
            command: String::new(),
            adapters: None,
            tune_facts: None,
        }
    }

    #[test]
    fn limits_refuse_garbage_and_keep_sane_values() {
        for bad in [f64::NAN, f64::INFINITY, 1e6, 1.5, 0.0, -1e-3] {
            assert!(limits::learning_rate(bad).is_err(), "{bad}");
        }
        assert_eq!(limits::learning_rate(1e-3), Ok(1e-3));
        assert_eq!(limits::learning_rate(1.0), Ok(1.0));
        assert!(limits::at_least_one(0).is_err());
        assert!(limits::non_negative(f64::NAN).is_err());
        assert!(limits::non_negative(-0.1).is_err());
        assert_eq!(limits::non_negative(0.0), Ok(0.0));
        assert!(limits::positive(0.0).is_err());
        assert!(limits::fraction(1.0).is_err());
    }

    #[test]
    fn validate_names_the_flag_at_fault() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                TrainConfig {
                    learning_rate: f64::NAN,
                    ..config(dir.path())
                },
                "--learning-rate must be a finite number in (0, 1], got NaN",
            ),
            (
                TrainConfig {
                    epochs: 0,
                    ..config(dir.path())
                },
                "--epochs must be at least 1",
            ),
            (
                TrainConfig {
                    corpus_label_weight: f32::INFINITY,
                    ..config(dir.path())
                },
                "--corpus-label-weight",
            ),
        ];
        for (cfg, want) in cases {
            let err = cfg.validate().unwrap_err().to_string();
            assert!(err.contains(want), "{want}: {err}");
        }
        config(dir.path()).validate().unwrap();
    }

    #[test]
    fn the_out_directory_is_made_or_named_when_it_cannot_be() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/heads");
        prepare_out_dir(&nested).unwrap();
        assert!(nested.is_dir());
        assert_eq!(
            std::fs::read_dir(&nested).unwrap().count(),
            0,
            "no probe left"
        );
        // Under a regular file no directory can be made, whoever runs the test (root too).
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = format!("{:#}", prepare_out_dir(&file.join("heads")).unwrap_err());
        assert!(err.starts_with("--out "), "{err}");
        assert!(
            err.contains(&file.join("heads").display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn splits_without_training_or_calibration_records_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let err = |path: &Path| {
            read_splits(&[path.to_path_buf()], 100, 100)
                .err()
                .expect("refused")
                .to_string()
        };
        std::fs::write(&path, "").unwrap();
        let e = err(&path);
        assert!(e.starts_with("no training records"), "{e}");
        assert!(e.contains("no usable record in "), "{e}");
        write_records(&path, &records(5, Split::Test));
        let e = err(&path);
        assert!(e.starts_with("no training records"), "{e}");
        assert!(e.contains("none of the 5 records"), "{e}");
        write_records(&path, &records(5, Split::Train));
        let e = err(&path);
        assert!(e.starts_with("no calibration records"), "{e}");
        let both = [records(5, Split::Train), records(2, Split::Calib)].concat();
        write_records(&path, &both);
        let splits = read_splits(&[path], 100, 100).unwrap();
        assert_eq!((splits.train.len(), splits.calib.len()), (5, 2));
    }

    #[test]
    fn fitting_learns_on_clean_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let (train, calib) = (records(60, Split::Train), records(15, Split::Calib));
        let fitted = fit(
            &vectors(&train, 4),
            &train,
            &vectors(&calib, 4),
            &calib,
            &config(dir.path()),
        )
        .unwrap();
        assert!(fitted.calibrated.iter().all(|l| l.is_finite()));
        assert_eq!(fitted.best_epoch.len(), 5);
    }

    #[test]
    fn a_loss_that_is_not_finite_stops_training_naming_the_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let (train, calib) = (records(40, Split::Train), records(10, Split::Calib));
        let poisoned = |x: Tensor| {
            let mut v = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            v[5] = f32::NAN;
            Tensor::from_vec(v, x.shape(), &Device::Cpu).unwrap()
        };
        let cfg = config(dir.path());
        let cases = [
            // A NaN in a training vector: the first batch's loss.
            (
                poisoned(vectors(&train, 4)),
                vectors(&calib, 4),
                "training stopped in epoch 1 of 3: the training loss became NaN",
            ),
            // A NaN in a calibration vector: the epoch's calibration loss.
            (
                vectors(&train, 4),
                poisoned(vectors(&calib, 4)),
                "training stopped in epoch 1 of 3: the sentiment head's calibration loss became NaN",
            ),
        ];
        for (train_vectors, calib_vectors, expected) in cases {
            let err = fit(&train_vectors, &train, &calib_vectors, &calib, &cfg)
                .err()
                .unwrap()
                .to_string();
            assert!(err.starts_with(expected), "{err}");
        }
    }
}
