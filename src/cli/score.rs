//! The flags of `tact score`, and how they become the scorer's [`ScoreConfig`].

use super::store::{parse_location, StoreArgs, StoreChoice};
use super::{ModelArgs, PolicyArgs};
use crate::score::input::{Delimiter, InputFormat};
use crate::score::output::OutputFormat;
use crate::score::shard::Shard;
use crate::score::ScoreConfig;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The flags of `tact score`.
#[derive(Args, Debug, Clone)]
pub struct ScoreArgs {
    /// The archive: JSON Lines of comments, or CSV with a header; `-` reads stdin.
    #[arg(default_value = "-", env = "TACT_SCORE_INPUT")]
    pub input: PathBuf,
    /// Where the answers go; `-` is stdout.
    #[arg(short, long, default_value = "-", env = "TACT_SCORE_OUTPUT")]
    pub output: PathBuf,
    /// Input format (default: from the extension, `.csv` or else JSON Lines).
    #[arg(long, value_enum, env = "TACT_SCORE_FORMAT")]
    pub format: Option<InputFormat>,
    /// Output format (default: from the extension, `.csv` or else JSON Lines).
    #[arg(long, value_enum, env = "TACT_SCORE_OUTPUT_FORMAT")]
    pub output_format: Option<OutputFormat>,
    /// CSV column holding the comment's text.
    #[arg(long, default_value = "text", env = "TACT_TEXT_COLUMN")]
    pub text_column: String,
    /// CSV column holding the comment's id (default: `id`, when the header has it).
    #[arg(long, env = "TACT_ID_COLUMN")]
    pub id_column: Option<String>,
    /// CSV column holding the author's id (default: `author_id`, when the header has it).
    #[arg(long, env = "TACT_AUTHOR_COLUMN")]
    pub author_column: Option<String>,
    /// Continue an interrupted output: keep its whole answers, cut a torn last one, and
    /// answer the input records after them.
    #[arg(long, env = "TACT_SCORE_RESUME")]
    pub resume: bool,
    /// Replace an existing output (without this or --resume, an existing output is refused).
    #[arg(long, env = "TACT_SCORE_OVERWRITE", conflicts_with = "resume")]
    pub overwrite: bool,
    /// Exit with status 1 when any record could not be decided (every record is still answered).
    #[arg(long, env = "TACT_SCORE_STRICT")]
    pub strict: bool,
    /// CSV field delimiter: `,`, `;` or `tab` (default: sniffed from the header line).
    #[arg(long, env = "TACT_SCORE_DELIMITER", value_parser = Delimiter::parse)]
    pub delimiter: Option<Delimiter>,
    /// The longest line (and CSV record) read, in bytes; a longer one is answered
    /// `line_too_long` without being held in memory.
    #[arg(long, default_value_t = 1 << 20, env = "TACT_SCORE_MAX_LINE_BYTES")]
    pub max_line_bytes: usize,
    /// The most physical lines one CSV record may span (inside quotes); past it, the quote is
    /// taken as never closed and the record answered `bad_quote`.
    #[arg(long, default_value_t = 100, env = "TACT_SCORE_MAX_RECORD_LINES")]
    pub max_record_lines: u64,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Comments the model thread sorts by length at a time. Larger cuts padding (at 2048 the
    /// batches are nearly those of sorting the whole bench corpus) and costs a few MB; answers
    /// reach the output a window at a time.
    #[arg(long, default_value_t = 2048, env = "TACT_SCORE_WINDOW")]
    pub window: usize,
    /// Also record every decision in a store's audit log, each decided with its author's
    /// history there (RSRA across the archive): `--store` alone is the default SQLite file
    /// (as `tact serve` uses it), or `sqlite:PATH`, `postgres://USER@HOST/DB`. Off unless
    /// given (`TACT_STORE` does not turn it on). Put it after INPUT, or write `--store=…`.
    #[arg(long, env = "TACT_SCORE_STORE", num_args = 0..=1, default_missing_value = "sqlite",
          value_parser = parse_location)]
    pub store: Option<StoreChoice>,
    #[command(flatten)]
    pub store_args: StoreArgs,
    /// Answer one shard of the input: `I/N` (0 ≤ I < N) takes the records that start in the
    /// I-th of N equal byte ranges, numbered as in the whole input; `auto` reads I from
    /// `JOB_COMPLETION_INDEX` (a Kubernetes Indexed Job) and N from `TACT_SHARD_COUNT`. Join
    /// the shards' outputs with `tact score merge`.
    #[arg(long, env = "TACT_SCORE_SHARD", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(subcommand)]
    pub then: Option<ScoreCommand>,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ScoreCommand {
    /// Join the outputs of every shard of one input (`--shard`) into one, in input order;
    /// a missing, unfinished or doubled shard, or a line answered twice or not at all, is an
    /// error that names the lines.
    Merge {
        /// The shards' outputs, in any order.
        #[arg(required = true)]
        outputs: Vec<PathBuf>,
        /// The joined output.
        #[arg(short, long)]
        output: PathBuf,
        /// The outputs' format (default: from the extension, `.csv` or else JSON Lines).
        #[arg(long, value_enum)]
        output_format: Option<OutputFormat>,
    },
}

/// `I/N`, or `auto` from a Kubernetes Indexed Job's environment.
fn parse_shard(value: &str) -> Result<Shard, String> {
    if value != "auto" {
        return Shard::parse(value);
    }
    let var = |name: &str, why: &str| {
        std::env::var(name).map_err(|_| format!("--shard auto: {name} is not set ({why})"))
    };
    let index = var("JOB_COMPLETION_INDEX", "a Kubernetes Indexed Job sets it")?;
    let count = var("TACT_SHARD_COUNT", "set it to the Job's completions")?;
    Shard::parse(&format!("{index}/{count}"))
}

/// Runs `tact score merge`.
pub fn merge(
    outputs: &[PathBuf],
    output: &Path,
    format: Option<OutputFormat>,
) -> anyhow::Result<()> {
    let format = format.unwrap_or_else(|| OutputFormat::from_path(output));
    let merged = crate::score::shard::merge(outputs, output, format)?;
    eprintln!(
        "merged {} shards: lines 1-{}, each answered once, into {}",
        merged.shards,
        merged.lines,
        output.display()
    );
    Ok(())
}

/// The scorer's configuration from its flags.
pub fn score_config(args: &ScoreArgs) -> ScoreConfig {
    ScoreConfig {
        input: args.input.clone(),
        output: args.output.clone(),
        format: args.format,
        output_format: args.output_format,
        text_column: args.text_column.clone(),
        id_column: args.id_column.clone(),
        author_column: args.author_column.clone(),
        resume: args.resume,
        overwrite: args.overwrite,
        strict: args.strict,
        delimiter: args.delimiter,
        max_line_bytes: args.max_line_bytes,
        max_record_lines: args.max_record_lines,
        window: args.window,
        batch_size: args.model.batch_size,
        // Scoring waits for the store as long as it takes: the timeout is serve's.
        store: args.store.as_ref().and_then(|choice| {
            let timeout = Duration::from_millis(crate::store::DEFAULT_TIMEOUT_MS);
            args.store_args.config(choice, timeout)
        }),
        shard: args.shard,
    }
}
