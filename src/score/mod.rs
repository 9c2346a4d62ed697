//! `tact score`: decides every comment of an archive (JSON Lines or CSV), streaming, in
//! flat memory, and answers each input record with exactly one output record, in order.
//!
//! Three threads overlap, joined by bounded channels so nothing piles up: the reader parses
//! records ([`input`], [`csv_input`], lines capped by [`lines`]) and tokenises them; the model
//! thread takes a window of them, runs batches grouped by token length to cut padding and
//! decides each comment with the playbook, exactly as the service does; the writer puts answers
//! back in input order and writes them ([`output`]). Before any of it, an output that is the
//! input is refused ([`same_file`]). `--resume` continues an interrupted output ([`resume`]) of
//! the same input ([`fingerprint`]). With `--store`, every decision also goes to the store's
//! audit log, decided with its author's history ([`audit`]). A summary goes to stderr at the
//! end ([`summary`]); docs/score.md has the figures and the limits.

pub mod answer;
pub mod audit;
pub mod csv_input;
pub mod fingerprint;
pub mod input;
pub mod lines;
pub mod output;
pub mod resume;
pub mod same_file;
pub mod shard;
pub mod summary;

use crate::model::batching::for_each_batch;
use crate::model::Tokens;
use crate::pipeline::{Pipeline, Prepared};
use answer::Answer;
use anyhow::{bail, Context};
use audit::Audit;
use csv_input::{CsvColumns, CsvLimits, CsvReader};
use fingerprint::InputFingerprint;
use indicatif::{ProgressBar, ProgressStyle};
use input::{Delimiter, ErrorCode, InputFormat, JsonLinesReader, LineError, Reading, RecordReader};
use output::{OrderedWriter, OutputFormat};
use rayon::prelude::*;
use resume::CleanPrefix;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::Instant;
use summary::Summary;

/// What `tact score` is to do, as validated values (the flags are in the CLI layer).
#[derive(Debug, Clone)]
pub struct ScoreConfig {
    /// The archive: JSON Lines of comments, or CSV with a header; `-` reads stdin.
    pub input: PathBuf,
    /// Where the answers go; `-` is stdout.
    pub output: PathBuf,
    /// Input format (default: from the extension, `.csv` or else JSON Lines).
    pub format: Option<InputFormat>,
    /// Output format (default: from the extension, `.csv` or else JSON Lines).
    pub output_format: Option<OutputFormat>,
    /// CSV column holding the comment's text.
    pub text_column: String,
    /// CSV column holding the comment's id (default: `id`, when the header has it).
    pub id_column: Option<String>,
    /// CSV column holding the author's id (default: `author_id`, when the header has it).
    pub author_column: Option<String>,
    /// Continue an interrupted output: keep its whole answers, cut a torn last one, and
    /// answer the input records after them.
    pub resume: bool,
    /// Replace an existing output (without this or --resume, an existing output is refused).
    pub overwrite: bool,
    /// Exit with status 1 when any record could not be decided (every record is still answered).
    pub strict: bool,
    /// CSV field delimiter: `,`, `;` or `tab` (default: sniffed from the header line).
    pub delimiter: Option<Delimiter>,
    /// The longest line (and CSV record) read, in bytes; a longer one is answered
    /// `line_too_long` without being held in memory.
    pub max_line_bytes: usize,
    /// The most physical lines one CSV record may span (inside quotes); past it, the quote is
    /// taken as never closed and the record answered `bad_quote`.
    pub max_record_lines: u64,
    /// Comments the model thread sorts by length at a time. Larger cuts padding (at 2048 the
    /// batches are nearly those of sorting the whole bench corpus) and costs a few MB; answers
    /// reach the output a window at a time.
    pub window: usize,
    /// Texts per forward pass.
    pub batch_size: usize,
    /// Record every decision in this store, and decide with the authors' histories it holds.
    pub store: Option<crate::store::StoreConfig>,
    /// Answer only this shard's records ([`shard`]).
    pub shard: Option<shard::Shard>,
}

/// A record read and tokenised, or why it could not be.
struct Ready {
    line: u64,
    source_line: Option<u64>,
    offset: u64,
    prepared: Result<Prepared, LineError>,
}

impl Ready {
    fn answer(&self, outcome: Result<Box<crate::pipeline::Decided>, LineError>) -> Answer {
        Answer {
            line: self.line,
            source_line: self.source_line,
            offset: self.offset,
            outcome,
        }
    }
}

/// Runs `tact score`: 0 when every record was answered; 1 with `--strict` and a bad record;
/// an `Err` (status 2) when the input cannot be read or the output cannot be written.
/// `load` gives the model and the playbook; it is called once the input and output have passed
/// every check.
pub fn command(
    args: ScoreConfig,
    load: impl FnOnce() -> anyhow::Result<Pipeline>,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.window > 0, "--window must be at least 1");
    anyhow::ensure!(
        args.max_line_bytes > 0,
        "--max-line-bytes must be at least 1"
    );
    anyhow::ensure!(
        args.max_record_lines > 0,
        "--max-record-lines must be at least 1"
    );
    let stdin = args.input.as_os_str() == "-";
    let stdout = args.output.as_os_str() == "-";
    let input_format = args
        .format
        .unwrap_or_else(|| InputFormat::from_path(&args.input));
    let output_format = args
        .output_format
        .unwrap_or_else(|| OutputFormat::from_path(&args.output));

    // Everything that can refuse the run does so before the model is loaded, and before
    // anything is opened for writing.
    same_file::refuse_output_that_is_input(&args.input, &args.output)?;
    anyhow::ensure!(
        !(stdout && args.resume),
        "--resume needs an output file, not stdout"
    );
    let reading_input = || format!("reading {}", args.input.display());
    let (mut raw, input_bytes): (Box<dyn Read + Send>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = File::open(&args.input).with_context(reading_input)?;
        let size = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        (Box::new(file), size)
    };
    let head = fingerprint::read_head(&mut raw).with_context(reading_input)?;
    let reading = Reading {
        format: input_format,
        delimiter: args.delimiter,
        max_line_bytes: args.max_line_bytes,
        max_record_lines: args.max_record_lines,
    };
    let columns = CsvColumns {
        text: args.text_column.clone(),
        id: args.id_column.clone(),
        author: args.author_column.clone(),
    };
    let input = std::io::Cursor::new(head.clone()).chain(raw);
    let input = Box::new(std::io::BufReader::with_capacity(1 << 20, input));
    let reader = open_reader(input, &reading, &columns).with_context(reading_input)?;
    let reading = Reading {
        delimiter: reader.delimiter(),
        ..reading
    };
    let (mut reader, span) = shard::place(
        reader,
        (args.shard, &args.input),
        input_bytes.filter(|_| !stdin),
        stdout,
    )?;
    // Lines before the shard's (0 without --shard).
    let before = span.map_or(0, |s| s.first_line - 1);
    let mut fingerprint = InputFingerprint::new(&args.input, input_bytes, &head, &reading);
    fingerprint.shard = span;
    let prefix = if stdout {
        None
    } else {
        existing_output(
            &args.output,
            output_format,
            (args.resume, args.overwrite),
            (&fingerprint, before),
        )?
    };
    let answered = prefix.map_or(0, |p| p.answered);
    let skipped = reader.skip(answered)?;
    if skipped < answered {
        bail!(
            "the output answers {answered} records but the input has only {skipped}; \
             it is not this input's output"
        );
    }

    let audit = args.store.as_ref().map(Audit::open).transpose()?;

    let load_start = Instant::now();
    let pipeline = load()?;
    let load_secs = load_start.elapsed().as_secs_f64();

    let out: Box<dyn Write + Send> = if stdout {
        Box::new(std::io::stdout())
    } else {
        Box::new(open_output(&args.output, prefix, &fingerprint)?)
    };
    let output_name = if stdout {
        "stdout".to_string()
    } else {
        args.output.display().to_string()
    };
    let write_header = prefix.is_none_or(|p| !p.has_header);
    let progress = std::io::stderr()
        .is_terminal()
        .then(|| progress_bar(input_bytes, reader.offset()));
    let writer = OrderedWriter::new(
        out,
        output_format,
        write_header,
        before + answered + 1,
        progress,
    )?;

    let run_start = Instant::now();
    let ran = run_threads(
        &pipeline,
        reader,
        writer,
        audit.as_ref(),
        (args.window, args.batch_size),
    )
    .with_context(|| format!("writing {output_name}"))?;
    let summary = Summary {
        tally: ran.tally,
        resumed_after: answered,
        first_line: before + 1,
        load_secs,
        run_secs: run_start.elapsed().as_secs_f64(),
        stored: audit.as_ref().map(Audit::tally),
    };
    eprintln!("{summary}");
    let last_answered = before + answered + summary.tally.lines;
    if let Some(audit) = audit {
        audit.close();
    }
    // The output holds every line up to the last one written, each decision in it recorded.
    ran.decided.with_context(|| {
        let resume = if stdout {
            ""
        } else {
            "; --resume goes on from there"
        };
        format!(
            "{output_name} answers lines {}-{last_answered}{resume}",
            before + 1
        )
    })?;
    ran.read.with_context(|| {
        format!(
            "reading {} after line {last_answered}",
            args.input.display()
        )
    })?;
    if span.is_some() {
        // Finished: what `merge` checks before joining the shards.
        fingerprint.done = Some(last_answered);
        fingerprint.write(&args.output)?;
    }
    if args.strict && summary.tally.errors() > 0 {
        eprintln!(
            "--strict: {} records could not be decided",
            summary.tally.errors()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// What an existing output holds, if any. An output that exists and is not empty is resumed
/// (`--resume`), replaced (`--overwrite`) or refused: hours of answers are not overwritten
/// by a slip.
fn existing_output(
    path: &Path,
    format: OutputFormat,
    (resume, overwrite): (bool, bool),
    (fingerprint, lines_before): (&InputFingerprint, u64),
) -> anyhow::Result<Option<CleanPrefix>> {
    let exists_with_content = std::fs::metadata(path).is_ok_and(|m| m.len() > 0);
    if !exists_with_content || overwrite {
        return Ok(None);
    }
    if !resume {
        bail!(
            "{} exists; pass --resume to continue it or --overwrite to replace it",
            path.display()
        );
    }
    // The input first: answers of another input (or shard) are named as such.
    fingerprint.check(path)?;
    resume::clean_prefix(path, format, lines_before).map(Some)
}

/// The reader for the input's format.
fn open_reader(
    input: Box<dyn BufRead + Send>,
    reading: &Reading,
    columns: &CsvColumns,
) -> anyhow::Result<Box<dyn RecordReader>> {
    Ok(match reading.format {
        InputFormat::Jsonl => Box::new(JsonLinesReader::new(input, reading.max_line_bytes)),
        InputFormat::Csv => Box::new(CsvReader::new(
            input,
            columns,
            reading.delimiter,
            CsvLimits {
                max_bytes: reading.max_line_bytes,
                max_lines: reading.max_record_lines,
            },
        )?),
    })
}

/// Opens the output: cut to its clean prefix when resuming, created afresh otherwise, with
/// the input it answers recorded beside it (for a regular file: a device cannot be resumed).
fn open_output(
    path: &Path,
    prefix: Option<CleanPrefix>,
    fingerprint: &InputFingerprint,
) -> anyhow::Result<File> {
    let context = || format!("writing {}", path.display());
    match prefix {
        Some(prefix) => {
            let file = OpenOptions::new()
                .append(true)
                .open(path)
                .with_context(context)?;
            file.set_len(prefix.bytes).with_context(context)?;
            Ok(file)
        }
        None => {
            let file = File::create(path).with_context(context)?;
            if file.metadata().with_context(context)?.is_file() {
                fingerprint.write(path)?;
            }
            Ok(file)
        }
    }
}

fn progress_bar(total_bytes: Option<u64>, done_bytes: u64) -> ProgressBar {
    let bar = match total_bytes {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template("{bar:30} {percent:>3}% {msg}, ETA {eta}")
                .expect("a valid template"),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg}, {elapsed}").expect("a valid template"),
        ),
    };
    bar.set_message("loading the first window");
    bar.set_position(done_bytes);
    // Lines skipped by --resume took no time; the rate counts from here.
    bar.reset_eta();
    bar
}

/// What the threads did: the answers written, and how reading and deciding ended (an input
/// that breaks off mid-way, or a store that fails, still gets every record before it
/// answered).
struct Ran {
    tally: summary::Tally,
    read: anyhow::Result<()>,
    decided: anyhow::Result<()>,
}

/// Reader, model and writer threads.
fn run_threads(
    pipeline: &Pipeline,
    reader: Box<dyn RecordReader>,
    mut writer: OrderedWriter,
    audit: Option<&Audit>,
    (window, batch_size): (usize, usize),
) -> anyhow::Result<Ran> {
    let (ready_tx, ready_rx) = sync_channel::<Ready>(window);
    let (answers_tx, answers_rx) = sync_channel::<Vec<Answer>>(4);
    std::thread::scope(|s| -> anyhow::Result<_> {
        let read = std::thread::Builder::new()
            .name("score-reader".into())
            .spawn_scoped(s, move || read_and_prepare(reader, pipeline, ready_tx))?;
        let model = ModelThread {
            pipeline,
            audit,
            window,
            batch_size,
        };
        let decide = std::thread::Builder::new()
            .name("score-model".into())
            .spawn_scoped(s, move || model.run(ready_rx, answers_tx))?;
        // Returning early drops the receiver, which stops the model thread and then the reader.
        let written = (move || {
            for answers in answers_rx {
                writer.accept(answers)?;
            }
            Ok::<_, anyhow::Error>(writer)
        })();
        let decided = decide.join().expect("the model thread does not panic");
        let read = read.join().expect("the reader thread does not panic");
        let writer = written?;
        let tally = match decided {
            Ok(()) => writer.finish()?,
            Err(_) => writer.stop()?,
        };
        Ok(Ran {
            tally,
            read,
            decided,
        })
    })
}

/// Records read before they are prepared together (language, tokens).
const PREPARE_CHUNK: usize = 64;

fn read_and_prepare(
    mut reader: Box<dyn RecordReader>,
    pipeline: &Pipeline,
    ready: SyncSender<Ready>,
) -> anyhow::Result<()> {
    let mut chunk = Vec::with_capacity(PREPARE_CHUNK);
    loop {
        chunk.clear();
        while chunk.len() < PREPARE_CHUNK {
            match reader.next_record()? {
                Some(record) => chunk.push(record),
                None => break,
            }
        }
        if chunk.is_empty() {
            return Ok(());
        }
        // One task per record on the encoder's threads: a thread waiting for its partner
        // inside a forward pass picks them up, instead of a third thread taking turns with
        // the encoder's two and stalling both.
        let items: Vec<Ready> = pipeline.classifier.encoder.install(|| {
            chunk
                .par_drain(..)
                .with_max_len(1)
                .map(|record| Ready {
                    line: record.line,
                    source_line: record.source_line,
                    offset: record.offset,
                    prepared: record.comment.and_then(|comment| {
                        let id = comment.id.clone();
                        pipeline.prepare(comment).map_err(|e| {
                            LineError::new(ErrorCode::ModelError, e.to_string()).with_id(id)
                        })
                    }),
                })
                .collect()
        });
        for item in items {
            if ready.send(item).is_err() {
                // The writer stopped; its error is the one reported.
                return Ok(());
            }
        }
    }
}

/// A window holds at most this many records per comment it can take (see below).
const WINDOW_RECORDS_PER_SLOT: usize = 16;

/// The model thread: what it decides with, and how many comments at a time.
struct ModelThread<'a> {
    pipeline: &'a Pipeline,
    audit: Option<&'a Audit>,
    window: usize,
    batch_size: usize,
}

impl ModelThread<'_> {
    /// Takes up to `window` comments at a time, answers the bad records at once, and runs the
    /// comments in batches of similar length. A window also ends after 16 × `window` records:
    /// where good records are sparse, the bad ones waiting for their turn stay bounded (a few
    /// MB of error answers) while batches stay large enough to run efficiently. Ends early,
    /// with the store's error, when a window cannot be recorded: its answers are not sent.
    fn run(&self, ready: Receiver<Ready>, answers: SyncSender<Vec<Answer>>) -> anyhow::Result<()> {
        let window = self.window;
        let mut input_done = false;
        while !input_done {
            let mut comments: Vec<Ready> = Vec::with_capacity(window);
            let mut failed: Vec<Answer> = Vec::new();
            while comments.len() < window
                && comments.len() + failed.len() < WINDOW_RECORDS_PER_SLOT * window
            {
                match ready.recv() {
                    Ok(item) => match &item.prepared {
                        Ok(_) => comments.push(item),
                        Err(e) => failed.push(item.answer(Err(e.clone()))),
                    },
                    Err(_) => {
                        input_done = true;
                        break;
                    }
                }
            }
            if !failed.is_empty() && answers.send(failed).is_err() {
                return Ok(());
            }
            // The writer stopped (its error is the one reported) when a send fails.
            if self.decide_window(&comments, &answers)?.is_err() {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Decides one window and sends its answers; the inner `Err` says the writer is gone.
    fn decide_window(
        &self,
        comments: &[Ready],
        answers: &SyncSender<Vec<Answer>>,
    ) -> anyhow::Result<Result<(), WriterGone>> {
        let pipeline = self.pipeline;
        let prepared: Vec<&Prepared> = comments
            .iter()
            .map(|c| {
                c.prepared
                    .as_ref()
                    .expect("only comments that were prepared")
            })
            .collect();
        let tokens: Vec<&Tokens> = prepared.iter().map(|p| &p.tokens).collect();
        // With a store, a window is decided in input order once the model has read all of it.
        let mut classified: Vec<Option<crate::classify::Classified>> =
            std::iter::repeat_with(|| None)
                .take(comments.len())
                .collect();
        let sent = for_each_batch(&tokens, self.batch_size, |batch, _| {
            let inputs: Vec<&Prepared> = batch.iter().map(|&i| prepared[i]).collect();
            let decided: Vec<Answer> = match pipeline.infer(&inputs) {
                Ok(results) if self.audit.is_some() => {
                    for (&i, c) in batch.iter().zip(results) {
                        classified[i] = Some(c);
                    }
                    return Ok(());
                }
                Ok(results) => batch
                    .iter()
                    .zip(&results)
                    .map(|(&i, c)| {
                        comments[i].answer(Ok(Box::new(pipeline.decide(prepared[i], c))))
                    })
                    .collect(),
                Err(e) => batch
                    .iter()
                    .map(|&i| {
                        let error = LineError::new(ErrorCode::ModelError, e.to_string())
                            .with_id(prepared[i].comment.id.clone());
                        comments[i].answer(Err(error))
                    })
                    .collect(),
            };
            answers.send(decided)
        });
        if sent.is_err() {
            return Ok(Err(WriterGone));
        }
        let Some(audit) = self.audit else {
            return Ok(Ok(()));
        };
        let (lines, window): (Vec<&Ready>, Vec<(&Prepared, _)>) = comments
            .iter()
            .zip(&prepared)
            .zip(classified)
            .filter_map(|((c, &p), classified)| Some((c, (p, classified?))))
            .unzip();
        let decided = audit.decide_window(pipeline, &window)?;
        let decided = lines
            .iter()
            .zip(decided)
            .map(|(c, d)| c.answer(Ok(Box::new(d))))
            .collect();
        Ok(answers.send(decided).map_err(|_| WriterGone))
    }
}

/// The writer stopped; its error is the one reported.
struct WriterGone;
