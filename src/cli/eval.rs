//! `tact eval` and `tact calibrate`: labelled records scored by the model (directly or through
//! the sentence-vector cache), then measured (`eval`) or used to fit the decision-confidence
//! calibration on the calibration split (`calibrate`).

use super::{ModelArgs, PolicyArgs};
use crate::data::{Record, Split};
use crate::eval::Scored;
use crate::playbook::{Calibration, Input, Playbook, Sample};
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Which labelled records, scored how.
#[derive(Args, Debug, Clone)]
pub struct RecordArgs {
    /// Labelled files (SPEC §5), or directories whose *.jsonl are all read.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// At most this many records per file (a stable sample by id hash), for quick runs.
    #[arg(long, env = "TACT_EVAL_MAX_PER_FILE")]
    pub max_per_file: Option<usize>,
    /// Reuse and extend the sentence-vector cache (fast re-runs; texts/s then counts cache hits).
    #[arg(long, env = "TACT_EVAL_CACHE")]
    pub cache: bool,
    #[arg(long, env = "TACT_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct EvalArgs {
    #[command(flatten)]
    pub records: RecordArgs,
    /// Only the records of this split (`test`: never seen by training or tuning).
    #[arg(long, env = "TACT_EVAL_SPLIT", value_enum)]
    pub split: Option<Split>,
    /// Print one JSON object instead of tables.
    #[arg(long, env = "TACT_EVAL_JSON")]
    pub json: bool,
    /// Also write each decided record (gold action, decision, text) as JSON Lines here.
    #[arg(long, env = "TACT_EVAL_DECISIONS")]
    pub decisions: Option<PathBuf>,
    /// Decide with the raw rule confidences, ignoring the heads' decision calibration.
    #[arg(long, env = "TACT_EVAL_UNCALIBRATED")]
    pub uncalibrated: bool,
    /// Also write an HTML report into this folder: index.html and its SVG images (README,
    /// "The evaluation report"); with --json, its figures are printed under `report`.
    #[arg(long, env = "TACT_EVAL_REPORT")]
    pub report: Option<PathBuf>,
    /// Keep every record text out of the report (the worst confusions show no examples).
    #[arg(long, env = "TACT_EVAL_NO_TEXTS", requires = "report")]
    pub no_texts: bool,
    /// Another models/ folder (heads and adapters, as --heads-dir takes it), measured on the
    /// same records; the report puts its figures beside the model's, with the differences.
    #[arg(long, env = "TACT_EVAL_BASELINE", requires = "report")]
    pub baseline: Option<PathBuf>,
    /// Seeds the report's bootstrap resamples (the same seed gives the same intervals).
    #[arg(long, env = "TACT_EVAL_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Bootstrap resamples behind each of the report's intervals (at least 1).
    #[arg(long, env = "TACT_EVAL_BOOTSTRAP", default_value_t = 1000, value_parser = super::flags::at_least_one)]
    pub bootstrap: usize,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Args, Debug, Clone)]
pub struct CalibrateArgs {
    #[command(flatten)]
    pub records: RecordArgs,
    /// The heads to calibrate; their heads.json gets the calibration.
    #[arg(long, env = "TACT_CALIBRATE_HEADS", default_value = "models")]
    pub heads: PathBuf,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// The records of `split` in the files, and how many bad lines were skipped (each reported).
/// No record at all is an error (the caller says what it then cannot do).
fn read(args: &RecordArgs, split: Option<Split>) -> anyhow::Result<(Vec<Record>, usize)> {
    let mut records = Vec::new();
    let mut skipped = 0;
    let files = crate::train::expand_inputs(&args.files)?;
    for file in &files {
        let (rs, bad) = crate::data::read_records(file)
            .with_context(|| format!("reading {}", file.display()))?;
        for b in &bad {
            eprintln!("skipped {b}");
        }
        skipped += bad.len();
        let mut kept: Vec<_> = rs
            .into_iter()
            .filter(|r| split.is_none_or(|s| crate::data::split_of(&r.id) == s))
            .collect();
        if let Some(max) = args.max_per_file {
            crate::data::stable_sample(&mut kept, max);
        }
        records.extend(kept);
    }
    if skipped > 0 {
        eprintln!("{skipped} bad lines skipped");
    }
    if records.is_empty() {
        let names = files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let of_split = split.map_or(String::new(), |s| {
            format!(
                " of the {} split",
                s.to_possible_value().expect("named").get_name()
            )
        });
        anyhow::bail!(
            "no usable record{of_split} in {} ({skipped} bad lines skipped)",
            if names.is_empty() { "no files" } else { &names }
        );
    }
    Ok((records, skipped))
}

/// The scores of `records`, and the seconds scoring took.
fn score(
    args: &RecordArgs,
    records: &[Record],
    classifier: &crate::classify::Classifier,
    batch_size: usize,
) -> anyhow::Result<(Vec<crate::comment::Scores>, f64)> {
    let texts: Vec<&str> = records.iter().map(|r| r.text.as_str()).collect();
    let start = std::time::Instant::now();
    let cache_dir = args.cache.then(|| {
        args.cache_dir
            .clone()
            .unwrap_or_else(crate::train::default_cache_dir)
    });
    let scores = match cache_dir {
        Some(dir) => {
            let mut cache = crate::embed_cache::EmbeddingCache::open(&dir, &classifier.encoder)?;
            cache.fill(&classifier.encoder, &texts, batch_size)?;
            let vectors: Vec<Vec<f32>> = texts
                .iter()
                .map(|t| cache.get(t).expect("filled").clone())
                .collect();
            classifier.heads.scores(&vectors)?
        }
        None => classifier
            .classify(&texts, batch_size)?
            .into_iter()
            .map(|c| c.scores)
            .collect(),
    };
    Ok((scores, start.elapsed().as_secs_f64()))
}

/// The model of `model` (its heads' decision calibration unless `--uncalibrated`): the
/// records' scores, the seconds scoring took, and `playbook` calibrated for those heads.
/// The model is dropped before returning, so a baseline is never loaded beside it.
fn run_model(
    args: &EvalArgs,
    model: &super::ModelArgs,
    records: &[Record],
    playbook: &Playbook,
) -> anyhow::Result<(Vec<crate::comment::Scores>, f64, Playbook)> {
    let classifier = model.load()?;
    let calibration = if args.uncalibrated {
        None
    } else {
        crate::pipeline::decision_calibration(&classifier.heads)?
    };
    let (scores, seconds) = score(&args.records, records, &classifier, model.batch_size)?;
    Ok((scores, seconds, playbook.clone().calibrated(calibration)))
}

fn zip_scores<'a>(records: &'a [Record], scores: Vec<crate::comment::Scores>) -> Vec<Scored<'a>> {
    records
        .iter()
        .zip(scores)
        .map(|(record, scores)| Scored { record, scores })
        .collect()
}

/// The report's figures for `scored` (and the baseline's models/ folder, measured on the same
/// records), written into `dir`.
fn report(
    args: &EvalArgs,
    dir: &Path,
    scored: &[Scored],
    rows: &[crate::eval::decisions::DecisionRow],
    records: &[Record],
    playbook: &Playbook,
) -> anyhow::Result<crate::eval::report::Figures> {
    use crate::eval::report;
    let baseline = match &args.baseline {
        Some(heads) => {
            let mut model = args.model.clone();
            model.heads_dir = Some(heads.clone());
            let (scores, _, playbook) = run_model(args, &model, records, playbook)
                .with_context(|| format!("measuring the baseline {}", heads.display()))?;
            let scored = zip_scores(records, scores);
            let rows = crate::eval::evaluate(&scored, 0, &playbook, 0.0).1;
            Some((scored, rows))
        }
        None => None,
    };
    let baseline_outcomes = baseline.as_ref().map(|(s, r)| report::outcomes(s, r));
    let options = report::ReportOptions {
        seed: args.seed,
        resamples: args.bootstrap,
        texts: !args.no_texts,
    };
    let figures = report::figures(
        &report::outcomes(scored, rows),
        baseline_outcomes.as_deref(),
        &options,
    )?;
    report::write(dir, &figures).with_context(|| format!("--report {}", dir.display()))?;
    eprintln!("report written to {}", dir.join("index.html").display());
    Ok(figures)
}

pub fn eval(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    // The cheap checks first: a bad policy or nothing to measure is said before the model loads.
    let playbook = args.policy.load()?;
    let (records, skipped) = read(&args.records, args.split).context("nothing to measure")?;
    if let Some(dir) = &args.baseline {
        anyhow::ensure!(
            dir.join("heads.json").is_file(),
            "--baseline {}: no heads.json there (give a models/ folder, as --heads-dir takes it)",
            dir.display()
        );
    }
    let (scores, seconds, playbook) = run_model(args, &args.model, &records, &playbook)?;
    let scored = zip_scores(&records, scores);
    let (mut measured, rows) = crate::eval::evaluate(&scored, skipped, &playbook, seconds);
    if let Some(path) = &args.decisions {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
        );
        for row in &rows {
            serde_json::to_writer(&mut out, row)?;
            writeln!(out)?;
        }
        out.flush()?;
    }
    if let Some(dir) = &args.report {
        measured.report = Some(report(args, dir, &scored, &rows, &records, &playbook)?);
    }
    if args.json {
        println!("{}", serde_json::to_string(&measured)?);
    } else {
        measured.print_tables();
    }
    Ok(ExitCode::SUCCESS)
}

/// The calibration split's decisions (raw confidence, right or wrong), in the language tact
/// detects, as `tact eval` decides them.
fn samples(
    playbook: &Playbook,
    records: &[Record],
    scores: &[crate::comment::Scores],
) -> Vec<Sample> {
    records
        .iter()
        .zip(scores)
        .filter_map(|(r, scores)| {
            let gold = r.action?;
            let comment = r.comment();
            let lang = crate::lang::detect(&r.text);
            let input = Input {
                comment: &comment,
                lang,
                scores,
                history: None,
                cut: None,
            };
            let (rule, raw) = playbook.fire_raw(&input);
            let action = playbook.policy().action_of(rule);
            Some(Sample {
                action,
                raw,
                right: action == gold,
            })
        })
        .collect()
}

pub fn calibrate(args: &CalibrateArgs) -> anyhow::Result<ExitCode> {
    let playbook = args.policy.load()?;
    let (records, _) =
        read(&args.records, Some(Split::Calib)).context("no calibration records to fit on")?;
    let mut model = args.model.clone();
    model.heads_dir = Some(args.heads.clone());
    let classifier = model.load()?;
    let (scores, _) = score(&args.records, &records, &classifier, model.batch_size)?;
    let samples = samples(&playbook, &records, &scores);
    anyhow::ensure!(
        samples.len() >= 50,
        "only {} calibration-split records carry an action; at least 50 are needed",
        samples.len()
    );
    let calibration = Calibration::fit(&samples, &playbook.policy().digest());
    write_into_card(&args.heads, &calibration)?;
    let target = playbook.policy().automated_accuracy();
    eprintln!(
        "calibrated on {} decisions: slope {:.3}, intercept {:.3}; review below {:.3} for {:.0}% accurate automation; written to {}",
        samples.len(),
        calibration.slope,
        calibration.intercept,
        calibration.cutoff(target),
        target * 100.0,
        args.heads.join("heads.json").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Sets `decisions` in `dir/heads.json`, keeping every other key as it is.
fn write_into_card(dir: &Path, calibration: &Calibration) -> anyhow::Result<()> {
    let path = dir.join("heads.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut card: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    card["decisions"] = serde_json::to_value(calibration)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&card)? + "\n")?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}
