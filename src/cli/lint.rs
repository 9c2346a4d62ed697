//! `tact lint`: checks a draft reply against the reply guidelines (prints the findings, or
//! the linter's JSON with `--json`), or with `--eval` measures the linter on labelled draft
//! replies. Pure rules: no model is loaded.

use super::PolicyArgs;
use crate::data::Split;
use crate::labels::{Intent, Lang};
use crate::playbook::lint::{Draft, Report};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug, Clone)]
pub struct LintArgs {
    /// The draft reply (required unless --eval).
    #[arg(required_unless_present = "eval")]
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
    #[command(flatten)]
    pub policy: PolicyArgs,
}

pub fn run(args: &LintArgs) -> anyhow::Result<ExitCode> {
    let playbook = args.policy.load()?;
    if !args.eval.is_empty() {
        let records = crate::eval::lint::read_records(&args.eval, args.split)
            .map_err(anyhow::Error::msg)
            .context("--eval")?;
        anyhow::ensure!(!records.is_empty(), "--eval: nothing to measure");
        let measured = crate::eval::lint::evaluate(playbook.linter(), &records, args.split);
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
    let report = playbook.linter().lint(&Draft {
        reply,
        comment: args.comment.as_deref(),
        intent: args.intent,
        lang: args.lang,
        scores: None,
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
