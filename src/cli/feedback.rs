//! `tact feedback export`: moderators' overrides in the store, written as labelled JSON Lines
//! (SPEC §5, `source: "feedback"`) that `tact train` and `tact eval` read.

use crate::store::{Location, Retention, Store};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args, Debug)]
pub struct FeedbackArgs {
    #[command(subcommand)]
    pub command: FeedbackCommand,
}

#[derive(Subcommand, Debug)]
pub enum FeedbackCommand {
    /// Write the overrides as labelled JSON Lines (SPEC §5); only those whose comment text the
    /// store still holds (`--store-text`, within `--retention-days`) can be written.
    Export(ExportArgs),
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The store: `sqlite` (the default file, as `tact serve` uses it), `sqlite:PATH` or
    /// `postgres://USER@HOST/DB`.
    #[arg(long, env = "TACT_STORE", default_value = "sqlite", value_parser = Location::parse)]
    pub store: Location,
    /// Where the records go; `-` is stdout.
    #[arg(short, long, default_value = "-", env = "TACT_FEEDBACK_OUTPUT")]
    pub output: PathBuf,
}

pub fn run(args: FeedbackArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        FeedbackCommand::Export(args) => export(&args),
    }
}

fn export(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    let described = args.store.describe();
    // Opening a SQLite store creates it: a mistyped path would export nothing, silently.
    if let Location::Sqlite(path) = &args.store {
        anyhow::ensure!(path.is_file(), "there is no store at {described} (--store)");
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the store's runtime")?;
    let (overrides, skipped) = runtime
        .block_on(async {
            let store = Store::open(args.store.clone(), Retention::default()).await?;
            let overrides = store.overrides().await;
            store.close().await;
            overrides
        })
        .with_context(|| format!("reading the overrides from the store {described}"))?;

    let stdout = args.output.as_os_str() == "-";
    let name = if stdout {
        "stdout".to_string()
    } else {
        args.output.display().to_string()
    };
    let mut out: Box<dyn Write> = if stdout {
        Box::new(std::io::stdout().lock())
    } else {
        let file =
            std::fs::File::create(&args.output).with_context(|| format!("writing {name}"))?;
        Box::new(std::io::BufWriter::new(file))
    };
    for record in &overrides {
        serde_json::to_writer(&mut out, record)?;
        out.write_all(b"\n")
            .with_context(|| format!("writing {name}"))?;
    }
    out.flush().with_context(|| format!("writing {name}"))?;
    eprintln!(
        "{} overrides written to {name}; {skipped} skipped: their comment text was not stored \
         (--store-text) or has expired",
        overrides.len()
    );
    Ok(ExitCode::SUCCESS)
}
