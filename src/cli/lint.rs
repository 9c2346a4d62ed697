//! `tact lint`: checks a draft reply against the reply guidelines (prints the findings, or
//! the linter's JSON with `--json`), with `--eval` measures the linter on labelled draft
//! replies, with `--train` fits the reply head on them. The model scores the reply (sentiment,
//! abusive, the reply head per sentence) unless `--rules-only`.

use super::{ModelArgs, PolicyArgs};
use crate::data::Split;
use crate::labels::{Intent, Lang};
use crate::playbook::lint::{Draft, Report};
use crate::reply_scores;
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug, Clone)]
pub struct LintArgs {
    /// The draft reply (required unless --eval or --train).
    #[arg(required_unless_present_any = ["eval", "train"])]
    pub reply: Option<String>,
    /// The comment the reply answers (its language is the one the reply must be in).
    #[arg(long, env = "TACT_LINT_COMMENT")]
    pub comment: Option<String>,
    /// The comment's intent (question, complaint, …): a complaint needs an apology and a next
    /// step. Without it, a reply that apologises is read as answering a complaint.
    #[arg(long, env = "TACT_LINT_INTENT")]
    pub intent: Option<Intent>,
    /// The language the reply must be in (ro, bg, ru, en); detected from --comment when absent.
    #[arg(long, env = "TACT_LINT_LANG")]
    pub lang: Option<Lang>,
    /// Print the linter's JSON ({"ok", "findings", "rsr"}), or the measurement as JSON.
    #[arg(long, env = "TACT_LINT_JSON")]
    pub json: bool,
    /// Measure the linter on labelled draft replies (files, or folders of *.jsonl, e.g.
    /// datasets/replies) instead of linting one.
    #[arg(long, env = "TACT_LINT_EVAL", num_args = 1.., conflicts_with_all = ["reply", "comment", "intent", "lang"])]
    pub eval: Vec<PathBuf>,
    /// With --eval: only the records of this split.
    #[arg(long, env = "TACT_LINT_SPLIT", value_enum, requires = "eval")]
    pub split: Option<Split>,
    /// Fit the reply head on labelled draft replies (files, or folders of *.jsonl, e.g.
    /// datasets/replies) and the policy's templates (as good replies): the train and
    /// calibration splits are fitted, cross-validation picks each kind's threshold, the test
    /// split is not read. Writes OUT/reply_head.json.
    #[arg(long, env = "TACT_LINT_TRAIN", num_args = 1.., conflicts_with_all = ["reply", "comment", "intent", "lang", "eval", "rules_only"])]
    pub train: Vec<PathBuf>,
    /// With --train: the folder reply_head.json is written to.
    #[arg(
        long,
        env = "TACT_LINT_OUT",
        default_value = "models",
        requires = "train"
    )]
    pub out: PathBuf,
    /// Phrase lists and the reply's shape only: no model is loaded (faster to start; misses
    /// what the encoder's heads and the reply head catch).
    #[arg(long, env = "TACT_LINT_RULES_ONLY")]
    pub rules_only: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub model: ModelArgs,
}

pub fn run(args: &LintArgs) -> anyhow::Result<ExitCode> {
    if !args.train.is_empty() {
        return train(args);
    }
    let playbook = args.policy.load()?;
    let classifier = match args.rules_only {
        true => None,
        false => Some(args.model.load()?),
    };
    let score = |replies: &[&str]| {
        classifier
            .as_ref()
            .map(|c| reply_scores::score(c, replies, args.model.batch_size))
            .transpose()
            .context("scoring the reply")
    };
    if !args.eval.is_empty() {
        let records = crate::eval::lint::read_records(&args.eval, args.split)
            .map_err(anyhow::Error::msg)
            .context("--eval")?;
        anyhow::ensure!(!records.is_empty(), "--eval: nothing to measure");
        let replies: Vec<&str> = records.iter().map(|r| r.reply.as_str()).collect();
        let scores = score(&replies)?;
        let measured =
            crate::eval::lint::evaluate(playbook.linter(), &records, scores.as_deref(), args.split);
        if args.json {
            println!("{}", serde_json::to_string(&measured)?);
        } else {
            print!("{}", measured.table());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let reply = args.reply.as_deref().unwrap_or_default();
    anyhow::ensure!(
        !reply.trim().is_empty(),
        "the reply is empty: nothing to lint"
    );
    let scores = score(&[reply])?;
    let report = playbook.linter().lint(&Draft {
        reply,
        comment: args.comment.as_deref(),
        intent: args.intent,
        lang: args.lang,
        scores: scores.as_ref().map(|s| &s[0]),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(reply, &report);
    }
    // Like a linter: status 1 when the draft breaks a guideline.
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `--train`: fits the reply head and prints what each kind reached on the calibration split.
fn train(args: &LintArgs) -> anyhow::Result<ExitCode> {
    let records = crate::eval::lint::read_records(&args.train, None)
        .map_err(anyhow::Error::msg)
        .context("--train")?;
    let templates: Vec<String> = args
        .policy
        .load()?
        .policy()
        .templates_as_replies()
        .into_iter()
        .map(|t| t.reply)
        .collect();
    crate::train::prepare_out_dir(&args.out)?;
    let classifier = args.model.load()?;
    let out = args.out.join("reply_head.json");
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let fits = crate::train::reply_head::run(&classifier, &records, &templates, &out, &command)?;
    println!("| kind | L2 | positive sentences | 5-fold P / R / F1 |");
    println!("|---|---|---|---|");
    for f in &fits {
        println!(
            "| `{}` | {} | {} | {:.2} / {:.2} / {:.2} |",
            f.kind, f.l2, f.positives, f.cv_precision, f.cv_recall, f.cv_f1
        );
    }
    eprintln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}

fn print_report(reply: &str, report: &Report) {
    if report.ok {
        println!("ok");
    }
    let chars: Vec<char> = reply.chars().collect();
    for f in &report.findings {
        let [start, end] = f.span;
        let quoted: String = if f.kind == crate::playbook::lint::Kind::PersonalData {
            // Personal data is pointed at, never printed.
            "…".to_string()
        } else {
            chars[start..end].iter().collect()
        };
        println!(
            "{} {} [{start}, {end}) \"{quoted}\"\n  {}\n  → {}",
            f.severity.as_str(),
            f.kind,
            f.message,
            f.suggestion
        );
    }
    println!(
        "rsr: respond {}, apologise {}, resolve {}",
        report.rsr.respond, report.rsr.apologise, report.rsr.resolve
    );
}
