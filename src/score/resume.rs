//! `--resume`: how much of an existing output is a clean answer prefix. Answers are written
//! in input order and each ends with a newline, so an interrupted run (even kill -9 mid-write)
//! leaves complete answers for lines 1..n, then at most one torn answer. The torn one is cut
//! away and the run continues at input record n + 1.
//!
//! A complete answer ends with a newline, parses, and carries `line` = its position; an output
//! whose answers are numbered otherwise is not this input's output, and resuming it is refused.

use super::answer::csv_header;
use super::output::OutputFormat;
use anyhow::{bail, Context};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The clean prefix of an existing output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanPrefix {
    /// Input records already answered.
    pub answered: u64,
    /// Bytes to keep; everything after is a torn answer.
    pub bytes: u64,
    /// The CSV header is among the kept bytes (always false for JSON Lines).
    pub has_header: bool,
}

/// `lines_before`: the input lines before the output's first answer (a shard's; 0 otherwise).
pub fn clean_prefix(
    path: &Path,
    format: OutputFormat,
    lines_before: u64,
) -> anyhow::Result<CleanPrefix> {
    let file = File::open(path).with_context(|| format!("reading {}", path.display()))?;
    match format {
        OutputFormat::Jsonl => jsonl_prefix(file, lines_before),
        OutputFormat::Csv => csv_prefix(file, lines_before),
    }
    .with_context(|| format!("resuming {}", path.display()))
}

/// Whether `bytes` is a complete JSON answer numbered `expected`. `Ok(false)`: torn (not
/// JSON); `Err`: a whole answer for another line.
fn json_answer_is(bytes: &[u8], expected: u64) -> anyhow::Result<bool> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return Ok(false);
    };
    match value.get("line").and_then(|l| l.as_u64()) {
        Some(line) if line == expected => Ok(true),
        Some(line) => bail!(
            "answer {expected} of the output says \"line\": {line}; \
             it is not the output of this input (use --overwrite to start again)"
        ),
        None => Ok(false),
    }
}

fn jsonl_prefix(mut file: File, lines_before: u64) -> anyhow::Result<CleanPrefix> {
    // Only the last answers need parsing: the ends of the last three lines are enough to cut
    // a torn line, including one torn right before its newline.
    let mut line_ends: VecDeque<u64> = VecDeque::from([0]);
    let mut lines = 0u64;
    let mut pos = 0u64;
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        for (i, _) in chunk[..n].iter().enumerate().filter(|(_, &b)| b == b'\n') {
            lines += 1;
            line_ends.push_back(pos + i as u64 + 1);
            if line_ends.len() > 3 {
                line_ends.pop_front();
            }
        }
        pos += n as u64;
    }
    // Check the last newline-terminated line; if it does not parse, it is the torn one and
    // the line before it must be whole.
    for _ in 0..2 {
        if lines == 0 {
            break;
        }
        let end = line_ends.pop_back().expect("one end per line");
        let start = *line_ends.back().unwrap_or(&0);
        let mut bytes = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut bytes)?;
        if json_answer_is(&bytes, lines_before + lines)? {
            return Ok(CleanPrefix {
                answered: lines,
                bytes: end,
                has_header: false,
            });
        }
        lines -= 1;
        if line_ends.is_empty() {
            break;
        }
    }
    if lines == 0 {
        return Ok(CleanPrefix {
            answered: 0,
            bytes: 0,
            has_header: false,
        });
    }
    bail!("two answers in a row at the end of the output are not whole JSON; it is not a tact score output (use --overwrite to start again)")
}

/// A CSV record read back, with where it starts.
struct CsvRecord {
    start: u64,
    fields: usize,
    line: Option<u64>,
}

fn csv_prefix(mut file: File, lines_before: u64) -> anyhow::Result<CleanPrefix> {
    let len = file.metadata()?.len();
    let header = csv_header();
    let header_line = format!("{}\n", header.join(","));
    if len <= header_line.len() as u64 {
        let mut start = Vec::new();
        file.read_to_end(&mut start)?;
        if !header_line.as_bytes().starts_with(&start) {
            bail!("the output does not start with tact score's CSV header (use --overwrite to start again)");
        }
        // A header torn before its newline is written again.
        let whole = start.len() == header_line.len();
        return Ok(CleanPrefix {
            answered: 0,
            bytes: if whole { len } else { 0 },
            has_header: whole,
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(&mut file);
    let mut record = csv::ByteRecord::new();
    let mut records = 0u64;
    let mut last: Option<CsvRecord> = None;
    let mut before_last: Option<CsvRecord> = None;
    while reader.read_byte_record(&mut record)? {
        if records == 0 && last.is_none() {
            if !record.iter().eq(header.iter().map(|h| h.as_bytes())) {
                bail!("the output's first row is not tact score's CSV header (use --overwrite to start again)");
            }
            last = Some(CsvRecord {
                start: 0,
                fields: record.len(),
                line: Some(0),
            });
            continue;
        }
        records += 1;
        before_last = last.take();
        last = Some(CsvRecord {
            start: record.position().map_or(0, |p| p.byte()),
            fields: record.len(),
            line: std::str::from_utf8(&record[0])
                .ok()
                .and_then(|s| s.parse().ok()),
        });
    }
    drop(reader);
    let last = last.expect("the header was read");
    if records == 0 {
        return Ok(CleanPrefix {
            answered: 0,
            bytes: header_line.len() as u64,
            has_header: true,
        });
    }
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(last.start))?;
    file.read_to_end(&mut tail)?;
    // Outside quotes, an even number of quote characters has been seen.
    let whole = tail.last() == Some(&b'\n')
        && tail.iter().filter(|&&b| b == b'"').count() % 2 == 0
        && last.fields == header.len();
    let numbered = |r: &CsvRecord, expected: u64| -> anyhow::Result<()> {
        match r.line {
            Some(line) if line == expected => Ok(()),
            _ => bail!(
                "answer {expected} of the output is numbered {:?}; it is not the output of this input (use --overwrite to start again)",
                r.line
            ),
        }
    };
    if whole {
        numbered(&last, lines_before + records)?;
        return Ok(CleanPrefix {
            answered: records,
            bytes: len,
            has_header: true,
        });
    }
    if records > 1 {
        numbered(
            &before_last.expect("an answer before the torn one"),
            lines_before + records - 1,
        )?;
    }
    Ok(CleanPrefix {
        answered: records - 1,
        bytes: last.start,
        has_header: true,
    })
}
