//! Archives in shards, for one process (or Kubernetes pod) per shard: `--shard I/N` answers
//! the records that *start* in the I-th of N equal byte ranges of the input, and
//! `tact score merge` joins the shard outputs in input order, checking that every line is
//! answered exactly once.
//!
//! A shard reads the records before its range with the same reader that scores them, counting
//! and not parsing them into comments: every shard sees the same records at the same offsets,
//! so each record falls in exactly one shard — for CSV too, whose quoted fields may hold
//! newlines (a byte cut alone could land inside a record; the reader never does), and even
//! around a malformed quote. That pass costs a read of the bytes before the shard (no model,
//! no JSON parse), and gives the records their global line numbers.
//!
//! Each shard's output records its place (`<out>.tact-score.json`: shard, first line) and, once
//! finished, its last line; `merge` refuses a missing, unfinished, doubled or foreign shard,
//! naming the lines not answered.

use super::answer::csv_header;
use super::fingerprint::{InputFingerprint, ShardSpan};
use super::input::{Record, RecordReader};
use super::output::OutputFormat;
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The I-th (from 0) of N shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// `I/N` with 0 ≤ I < N.
    pub fn parse(value: &str) -> Result<Shard, String> {
        let (i, n) = value
            .split_once('/')
            .ok_or_else(|| format!("{value:?}: give the shard as I/N (e.g. 0/4), or `auto`"))?;
        let number = |s: &str, what: &str| {
            s.trim()
                .parse::<u64>()
                .map_err(|_| format!("{value:?}: {what} {s:?} is not a whole number"))
        };
        let shard = Shard {
            index: number(i, "the shard")?,
            count: number(n, "the count")?,
        };
        if shard.count == 0 || shard.index >= shard.count {
            return Err(format!(
                "{value:?}: the shard must be 0 to {} of {}",
                shard.count.saturating_sub(1),
                shard.count
            ));
        }
        Ok(shard)
    }

    /// The bytes whose records this shard answers, of an input of `size` bytes.
    pub fn byte_range(&self, size: u64) -> Range<u64> {
        let cut = |i: u64| (u128::from(size) * u128::from(i) / u128::from(self.count)) as u64;
        let end = if self.index + 1 == self.count {
            u64::MAX
        } else {
            cut(self.index + 1)
        };
        cut(self.index)..end
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The reader for `--shard` (or the reader as it is without one), and where the shard starts.
/// A shard needs an input file, whose size sets the ranges, and an output file, beside which
/// `merge` reads where it stands.
pub fn place(
    reader: Box<dyn RecordReader>,
    (shard, input): (Option<Shard>, &Path),
    input_bytes: Option<u64>,
    stdout: bool,
) -> anyhow::Result<(Box<dyn RecordReader>, Option<ShardSpan>)> {
    let Some(shard) = shard else {
        return Ok((reader, None));
    };
    let size = input_bytes.ok_or_else(|| {
        anyhow::anyhow!("--shard needs an input file (its size sets the shards), not a pipe")
    })?;
    anyhow::ensure!(
        !stdout,
        "--shard needs an output file: `tact score merge` reads where each shard stands beside it"
    );
    let (reader, span) = enter(reader, shard, size).with_context(|| {
        format!(
            "reading the records of {} before shard {shard}",
            input.display()
        )
    })?;
    Ok((reader, Some(span)))
}

/// Reads past the records that start before the shard's bytes and returns a reader that
/// stops at the first record starting after them, and the shard's first line.
fn enter(
    mut reader: Box<dyn RecordReader>,
    shard: Shard,
    input_bytes: u64,
) -> anyhow::Result<(Box<dyn RecordReader>, ShardSpan)> {
    let range = shard.byte_range(input_bytes);
    let mut before = 0;
    while reader.offset() < range.start {
        if reader.skip(1)? == 0 {
            break;
        }
        before += 1;
    }
    let span = ShardSpan {
        index: shard.index,
        count: shard.count,
        first_line: before + 1,
    };
    Ok((
        Box::new(ShardReader {
            inner: reader,
            end: range.end,
        }),
        span,
    ))
}

/// The records that start before `end`.
struct ShardReader {
    inner: Box<dyn RecordReader>,
    end: u64,
}

impl RecordReader for ShardReader {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        if self.inner.offset() >= self.end {
            return Ok(None);
        }
        self.inner.next_record()
    }

    fn skip(&mut self, n: u64) -> anyhow::Result<u64> {
        let mut skipped = 0;
        while skipped < n && self.inner.offset() < self.end && self.inner.skip(1)? == 1 {
            skipped += 1;
        }
        Ok(skipped)
    }

    fn offset(&self) -> u64 {
        self.inner.offset()
    }

    fn delimiter(&self) -> Option<super::input::Delimiter> {
        self.inner.delimiter()
    }
}

/// What `merge` joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merged {
    pub shards: u64,
    pub lines: u64,
}

/// Joins the outputs of every shard of one input into `to`, in input order, each line once.
pub fn merge(outputs: &[PathBuf], to: &Path, format: OutputFormat) -> anyhow::Result<Merged> {
    anyhow::ensure!(!outputs.is_empty(), "give the shards' outputs to merge");
    let mut shards: Vec<(ShardSpan, InputFingerprint, &PathBuf)> = Vec::new();
    for output in outputs {
        let fingerprint = InputFingerprint::read(output)?;
        let Some(span) = fingerprint.shard else {
            bail!(
                "{} was not scored with --shard: there is nothing to merge it with",
                output.display()
            );
        };
        shards.push((span, fingerprint, output));
    }
    shards.sort_by_key(|(span, _, _)| span.index);
    let (first_span, first_print, first_path) = &shards[0];
    let count = first_span.count;
    for (span, print, path) in &shards[1..] {
        let differences = first_print.differences(print);
        anyhow::ensure!(
            differences.is_empty() && span.count == count,
            "{} and {} are not shards of one input read alike: {}",
            first_path.display(),
            path.display(),
            if span.count != count {
                format!("{} shards then, {} now", count, span.count)
            } else {
                differences.join("; ")
            }
        );
    }
    for pair in shards.windows(2) {
        anyhow::ensure!(
            pair[0].0.index != pair[1].0.index,
            "shard {}/{count} is given twice: {} and {}",
            pair[0].0.index,
            pair[0].2.display(),
            pair[1].2.display()
        );
    }
    // Every shard there, and finished.
    let mut expected_first = 1;
    for index in 0..count {
        let next_first = shards
            .iter()
            .find(|(s, _, _)| s.index > index)
            .map(|(s, _, _)| s.first_line);
        match shards.iter().find(|(s, _, _)| s.index == index) {
            None => bail!(
                "shard {index}/{count} is missing: {} are not answered",
                lines_from(expected_first, next_first)
            ),
            Some((span, print, path)) => match print.done {
                Some(last) => expected_first = last + 1,
                None => {
                    // Its whole answers, a torn last one aside (as --resume reads them).
                    let answered =
                        super::resume::clean_prefix(path, format, span.first_line - 1)?.answered;
                    bail!(
                        "shard {index}/{count} ({}) is unfinished: {} are not answered \
                         (finish it with --resume)",
                        path.display(),
                        lines_from(span.first_line + answered, next_first)
                    )
                }
            },
        }
    }
    // Written aside and renamed into place: a failed merge leaves no output that looks whole.
    let partial = {
        let mut name = to.as_os_str().to_owned();
        name.push(".partial");
        PathBuf::from(name)
    };
    let writing = || format!("writing {}", partial.display());
    let file = std::fs::File::create(&partial).with_context(writing)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut next = 1;
    for (index, (_, _, path)) in shards.iter().enumerate() {
        let copied = copy_lines(path, &mut out, format, next, index == 0)
            .with_context(|| format!("merging {}", path.display()));
        match copied {
            Ok(after) => next = after,
            Err(e) => {
                drop(out);
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        }
    }
    out.flush().with_context(writing)?;
    drop(out);
    std::fs::rename(&partial, to).with_context(|| format!("writing {}", to.display()))?;
    Ok(Merged {
        shards: count,
        lines: next - 1,
    })
}

fn lines_from(first: u64, next_shard_first: Option<u64>) -> String {
    match next_shard_first {
        Some(next) if next > first + 1 => format!("lines {first}-{}", next - 1),
        Some(next) if next == first + 1 => format!("line {first}"),
        Some(_) => "no lines".to_string(),
        None => format!("lines {first} to the end"),
    }
}

/// Copies one shard's answers, checking they are lines `next`, `next + 1`, …; returns the
/// line after its last.
fn copy_lines(
    path: &Path,
    out: &mut impl Write,
    format: OutputFormat,
    mut next: u64,
    with_header: bool,
) -> anyhow::Result<u64> {
    match format {
        OutputFormat::Jsonl => for_each_answer(path, format, |line, answer| {
            in_turn(line, &mut next)?;
            if let Raw::Line(bytes) = answer {
                out.write_all(bytes)?;
            }
            Ok(())
        })?,
        OutputFormat::Csv => {
            let mut rows = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut *out);
            if with_header {
                rows.write_record(csv_header())?;
            }
            for_each_answer(path, format, |line, answer| {
                in_turn(line, &mut next)?;
                if let Raw::Row(row) = answer {
                    rows.write_byte_record(row)?;
                }
                Ok(())
            })?;
            rows.flush()?;
        }
    }
    Ok(next)
}

/// Whether `line` is the one due next (then the next is due).
fn in_turn(line: u64, next: &mut u64) -> anyhow::Result<()> {
    match line.cmp(next) {
        std::cmp::Ordering::Equal => {
            *next += 1;
            Ok(())
        }
        std::cmp::Ordering::Less => bail!("line {line} is answered twice"),
        std::cmp::Ordering::Greater if line == *next + 1 => bail!("line {next} is not answered"),
        std::cmp::Ordering::Greater => bail!("lines {next}-{} are not answered", line - 1),
    }
}

/// One answer as read: a JSON line (with its line end) or a CSV row.
enum Raw<'a> {
    Line(&'a [u8]),
    Row(&'a csv::ByteRecord),
}

/// Calls `each(line, answer)` for every answer of an output.
fn for_each_answer(
    path: &Path,
    format: OutputFormat,
    mut each: impl FnMut(u64, Raw<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    match format {
        OutputFormat::Jsonl => {
            let mut input = BufReader::with_capacity(1 << 20, file);
            let mut raw = Vec::new();
            let mut number = 0;
            while input.read_until(b'\n', &mut raw)? > 0 {
                number += 1;
                #[derive(Deserialize)]
                struct Numbered {
                    line: u64,
                }
                let answer: Numbered = serde_json::from_slice(&raw).with_context(|| {
                    format!("{} line {number} is not an answer", path.display())
                })?;
                each(answer.line, Raw::Line(&raw))?;
                raw.clear();
            }
        }
        OutputFormat::Csv => {
            let mut rows = csv::ReaderBuilder::new()
                .has_headers(true)
                .from_reader(BufReader::with_capacity(1 << 20, file));
            let mut row = csv::ByteRecord::new();
            while rows.read_byte_record(&mut row)? {
                let line = std::str::from_utf8(row.get(0).unwrap_or_default())
                    .ok()
                    .and_then(|l| l.parse::<u64>().ok())
                    .with_context(|| format!("{} has a row with no line number", path.display()))?;
                each(line, Raw::Row(&row))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_given_as_i_of_n_and_cover_every_byte_once() {
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        for bad in ["4/4", "0/0", "x/2", "3", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        let ranges: Vec<Range<u64>> = (0..3)
            .map(|i| Shard { index: i, count: 3 }.byte_range(100))
            .collect();
        assert_eq!(ranges, [0..33, 33..66, 66..u64::MAX]);
        assert_eq!(Shard { index: 0, count: 1 }.byte_range(0), 0..u64::MAX);
    }

    #[test]
    fn missing_lines_are_named() {
        assert_eq!(lines_from(5, Some(9)), "lines 5-8");
        assert_eq!(lines_from(5, Some(6)), "line 5");
        assert_eq!(lines_from(5, None), "lines 5 to the end");
    }
}
