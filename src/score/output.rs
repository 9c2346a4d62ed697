//! Writing answers in input order. Answers arrive out of order (the model runs batches
//! grouped by length); early ones wait in a window until the lines before them are written,
//! and the window is bounded by what the model has in flight. Each answer is written whole and
//! in order, and the output is flushed after every batch, so an interrupted run leaves a clean
//! prefix plus at most one torn answer (see `resume`).

use super::answer::{csv_header, Answer};
use super::summary::Tally;
use indicatif::ProgressBar;
use std::collections::BTreeMap;
use std::io::Write;
use std::time::Instant;

/// The output formats `tact score` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Jsonl,
    Csv,
}

impl OutputFormat {
    /// `.csv` is CSV; anything else (and stdout) is JSON Lines.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => OutputFormat::Csv,
            _ => OutputFormat::Jsonl,
        }
    }
}

enum Encoding {
    Jsonl {
        out: std::io::BufWriter<Box<dyn Write + Send>>,
        scratch: Vec<u8>,
    },
    Csv(Box<csv::Writer<Box<dyn Write + Send>>>),
}

pub struct OrderedWriter {
    encoding: Encoding,
    /// The next line to write.
    next: u64,
    /// Answers that came before their turn.
    waiting: BTreeMap<u64, Answer>,
    tally: Tally,
    progress: Option<ProgressBar>,
    started: Instant,
}

impl OrderedWriter {
    /// `first_line` is the first line this run answers (> 1 when resuming); the CSV header is
    /// written only when `write_header`.
    pub fn new(
        out: Box<dyn Write + Send>,
        format: OutputFormat,
        write_header: bool,
        first_line: u64,
        progress: Option<ProgressBar>,
    ) -> anyhow::Result<Self> {
        let encoding = match format {
            OutputFormat::Jsonl => Encoding::Jsonl {
                out: std::io::BufWriter::with_capacity(1 << 16, out),
                scratch: Vec::with_capacity(4096),
            },
            OutputFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .terminator(csv::Terminator::Any(b'\n'))
                    .buffer_capacity(1 << 16)
                    .from_writer(out);
                if write_header {
                    w.write_record(csv_header())?;
                }
                Encoding::Csv(Box::new(w))
            }
        };
        Ok(OrderedWriter {
            encoding,
            next: first_line,
            waiting: BTreeMap::new(),
            tally: Tally::default(),
            progress,
            started: Instant::now(),
        })
    }

    /// Takes a batch of answers (any lines), writes every answer whose turn has come, and
    /// flushes.
    pub fn accept(&mut self, answers: Vec<Answer>) -> anyhow::Result<()> {
        for answer in answers {
            self.waiting.insert(answer.line, answer);
        }
        let mut last_offset = None;
        while let Some(answer) = self.waiting.remove(&self.next) {
            self.write(&answer)?;
            self.tally.count(&answer);
            last_offset = Some(answer.offset);
            self.next += 1;
        }
        if let Some(offset) = last_offset {
            self.flush()?;
            if let Some(bar) = &self.progress {
                let rate = self.tally.decided as f64 / self.started.elapsed().as_secs_f64();
                bar.set_message(format!(
                    "{} lines, {} errors, {rate:.1} texts/s",
                    self.tally.lines,
                    self.tally.errors()
                ));
                bar.set_position(offset);
            }
        }
        Ok(())
    }

    fn write(&mut self, answer: &Answer) -> anyhow::Result<()> {
        match &mut self.encoding {
            Encoding::Jsonl { out, scratch } => {
                scratch.clear();
                answer.write_json(scratch);
                out.write_all(scratch)?;
            }
            Encoding::Csv(w) => w.write_record(answer.to_csv_row())?,
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.encoding {
            Encoding::Jsonl { out, .. } => out.flush(),
            Encoding::Csv(w) => w.flush(),
        }
    }

    /// Flushes the answers written and drops those still waiting for an earlier line (the
    /// run stopped before answering it): the output ends at its last line answered in order.
    pub fn stop(mut self) -> anyhow::Result<Tally> {
        self.waiting.clear();
        self.finish()
    }

    /// Flushes what is left; every answer must have been written by now.
    pub fn finish(mut self) -> anyhow::Result<Tally> {
        anyhow::ensure!(
            self.waiting.is_empty(),
            "line {} was never answered",
            self.next
        );
        self.flush()?;
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        Ok(self.tally)
    }
}
