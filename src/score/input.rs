//! Reading an archive: what a record is, why one could not be read ([`LineError`], the error
//! codes of the output), the input formats and how they are read, and the JSON Lines reader;
//! the CSV reader is `csv_input`. Lines are read with the cap of `lines`, and nothing is held
//! beyond the current record, so any archive reads in flat memory.
//!
//! Record numbers start at 1. In JSON Lines a record is a physical line (a blank one is a bad
//! record, not skipped); in CSV it is a data record after the header, which may span several
//! physical lines, so each record also carries the physical line it starts on.

use super::lines::{Line, LineReader};
use crate::comment::Comment;
use serde::Serialize;
use std::io::BufRead;

/// Why a record has no decision. The wire names are the `error.code` of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// An empty or whitespace-only line (JSON Lines).
    BlankLine,
    InvalidUtf8,
    InvalidJson,
    /// No `text` field, or no text column in a short CSV record.
    MissingText,
    /// A text that is empty or only whitespace.
    EmptyText,
    /// Valid JSON of the wrong shape: not an object, or a field of the wrong type or value.
    WrongType,
    /// A CSV record with more or fewer fields than the header (often an unquoted comma).
    FieldCount,
    /// A line longer than `--max-line-bytes`; skipped without being held.
    LineTooLong,
    /// A CSV record whose quoted field does not close properly (see `csv_input`).
    BadQuote,
    /// The tokenizer or the model failed on this text.
    ModelError,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlankLine => "blank_line",
            ErrorCode::InvalidUtf8 => "invalid_utf8",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::MissingText => "missing_text",
            ErrorCode::EmptyText => "empty_text",
            ErrorCode::WrongType => "wrong_type",
            ErrorCode::FieldCount => "field_count",
            ErrorCode::LineTooLong => "line_too_long",
            ErrorCode::BadQuote => "bad_quote",
            ErrorCode::ModelError => "model_error",
        }
    }
}

/// A record that could not be decided, with its id when that much could be read.
#[derive(Debug, Clone, PartialEq)]
pub struct LineError {
    pub code: ErrorCode,
    pub message: String,
    pub id: Option<String>,
}

impl LineError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        LineError {
            code,
            message: message.into(),
            id: None,
        }
    }

    /// A line over `--max-line-bytes`, which was skipped.
    pub(crate) fn too_long(bytes: u64, cap: usize) -> Self {
        LineError::new(
            ErrorCode::LineTooLong,
            format!("the line is {bytes} bytes, over the cap of {cap} (--max-line-bytes)"),
        )
    }

    pub(crate) fn with_id(mut self, id: Option<String>) -> Self {
        self.id = id;
        self
    }
}

/// One record of the archive, read.
#[derive(Debug)]
pub struct Record {
    /// 1-based record number: what output line `line` answers.
    pub line: u64,
    /// The physical line the record starts on, for CSV (where the two differ).
    pub source_line: Option<u64>,
    /// Input bytes consumed up to the end of this record (for the progress bar).
    pub offset: u64,
    pub comment: Result<Comment, LineError>,
}

/// The archive formats `tact score` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    Jsonl,
    Csv,
}

impl InputFormat {
    /// `.csv` is CSV; anything else (`.jsonl`, `.ndjson`, `.json`, stdin) is JSON Lines.
    pub fn from_path(path: &std::path::Path) -> Self {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("csv") => InputFormat::Csv,
            _ => InputFormat::Jsonl,
        }
    }

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Jsonl => "jsonl",
            InputFormat::Csv => "csv",
        }
    }
}

/// How an archive is read: what decides which bytes make record *i*.
#[derive(Debug, Clone, Copy)]
pub struct Reading {
    pub format: InputFormat,
    /// CSV only; `None` before the header is read means "sniff it".
    pub delimiter: Option<Delimiter>,
    pub max_line_bytes: usize,
    /// CSV only.
    pub max_record_lines: u64,
}

/// The byte between two fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delimiter(pub u8);

impl Delimiter {
    const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];

    /// `--delimiter`: `,`, `;`, or a tab written as `tab`, `\t` or the character itself.
    pub fn parse(value: &str) -> Result<Self, String> {
        match value {
            "," => Ok(Delimiter(b',')),
            ";" => Ok(Delimiter(b';')),
            "tab" | "\\t" | "\t" => Ok(Delimiter(b'\t')),
            other => Err(format!("{other:?} is not `,`, `;` or `tab`")),
        }
    }

    /// The candidate that occurs most often outside quotes in the header line; on a tie the
    /// first of `,` `;` tab, and `,` when none occurs (a one-column file).
    pub fn sniff(header_line: &[u8]) -> Self {
        let mut counts = [0usize; 3];
        let mut quoted = false;
        for &b in header_line {
            if b == b'"' {
                quoted = !quoted;
            } else if !quoted {
                if let Some(i) = Self::CANDIDATES.iter().position(|&c| c == b) {
                    counts[i] += 1;
                }
            }
        }
        let best = (0..3).fold(0, |best, i| if counts[i] > counts[best] { i } else { best });
        Delimiter(Self::CANDIDATES[best])
    }

    pub fn name(self) -> &'static str {
        match self.0 {
            b';' => ";",
            b'\t' => "tab",
            _ => ",",
        }
    }
}

/// Reads records one by one; `Ok(None)` at the end. An `Err` is an unreadable input (fatal).
pub trait RecordReader: Send {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>>;
    /// Reads past `n` records without parsing them into comments (resuming). Returns how many
    /// were there.
    fn skip(&mut self, n: u64) -> anyhow::Result<u64>;
    /// Input bytes consumed so far.
    fn offset(&self) -> u64;
    /// The CSV delimiter in force, given or sniffed (`None` for JSON Lines).
    fn delimiter(&self) -> Option<Delimiter> {
        None
    }
}

pub struct JsonLinesReader<R> {
    lines: LineReader<R>,
    max_line_bytes: usize,
}

impl<R: BufRead> JsonLinesReader<R> {
    /// `max_line_bytes`: longer lines are answered `line_too_long` without being held.
    pub fn new(input: R, max_line_bytes: usize) -> Self {
        JsonLinesReader {
            lines: LineReader::new(input, max_line_bytes),
            max_line_bytes,
        }
    }
}

impl<R: BufRead + Send> RecordReader for JsonLinesReader<R> {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        let Some(read) = self.lines.next_line()? else {
            return Ok(None);
        };
        let comment = match &read.line {
            // A byte-order mark is no part of the first record (editors on Windows add one).
            Line::Bytes(bytes) if read.number == 1 => {
                parse_json_line(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes))
            }
            Line::Bytes(bytes) => parse_json_line(bytes),
            Line::TooLong { bytes } => Err(LineError::too_long(*bytes, self.max_line_bytes)),
        };
        Ok(Some(Record {
            line: read.number,
            source_line: None,
            offset: read.end_offset,
            comment,
        }))
    }

    fn skip(&mut self, n: u64) -> anyhow::Result<u64> {
        let mut skipped = 0;
        while skipped < n && self.lines.next_line()?.is_some() {
            skipped += 1;
        }
        Ok(skipped)
    }

    fn offset(&self) -> u64 {
        self.lines.offset()
    }
}

/// One JSON Lines line (without its terminator) → a comment, or why not.
pub fn parse_json_line(bytes: &[u8]) -> Result<Comment, LineError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(LineError::new(ErrorCode::BlankLine, "blank line"));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        LineError::new(
            ErrorCode::InvalidUtf8,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    let mut value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| LineError::new(ErrorCode::InvalidJson, e.to_string()))?;
    let Some(object) = value.as_object_mut() else {
        return Err(LineError::new(
            ErrorCode::WrongType,
            format!("expected a JSON object, got {}", json_kind(&value)),
        ));
    };
    // Exports often number their comments; an id is only a label, so a number is read as one.
    for key in ["id", "author_id"] {
        if let Some(serde_json::Value::Number(n)) = object.get(key) {
            let label = n.to_string();
            object.insert(key.to_string(), serde_json::Value::String(label));
        }
    }
    let id = object
        .get("id")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    match object.get("text") {
        None | Some(serde_json::Value::Null) => {
            return Err(LineError::new(ErrorCode::MissingText, "no \"text\" field").with_id(id))
        }
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => {
            return Err(LineError::new(ErrorCode::EmptyText, "the text is empty").with_id(id))
        }
        Some(serde_json::Value::String(_)) => {}
        Some(other) => {
            return Err(LineError::new(
                ErrorCode::WrongType,
                format!("\"text\" must be a string, got {}", json_kind(other)),
            )
            .with_id(id))
        }
    }
    serde_json::from_value::<Comment>(value)
        .map_err(|e| LineError::new(ErrorCode::WrongType, e.to_string()).with_id(id))
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(line: &str) -> ErrorCode {
        parse_json_line(line.as_bytes()).unwrap_err().code
    }

    #[test]
    fn each_kind_of_bad_line_has_its_code() {
        assert_eq!(code("   "), ErrorCode::BlankLine);
        assert_eq!(code("{\"text\": \"a\""), ErrorCode::InvalidJson);
        assert_eq!(code("[1, 2]"), ErrorCode::WrongType);
        assert_eq!(code("{\"id\": \"x\"}"), ErrorCode::MissingText);
        assert_eq!(code("{\"text\": \"  \"}"), ErrorCode::EmptyText);
        assert_eq!(code("{\"text\": 5}"), ErrorCode::WrongType);
        assert_eq!(
            code("{\"text\": \"a\", \"lang\": \"fr\"}"),
            ErrorCode::WrongType
        );
        assert_eq!(
            code("{\"text\": \"a\", \"thread\": \"x\"}"),
            ErrorCode::WrongType
        );
        let err = parse_json_line(b"{\"id\": \"c\", \"text\": \"\xff\"}").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidUtf8);
    }

    #[test]
    fn the_id_is_kept_when_it_could_be_read() {
        let err = parse_json_line(br#"{"id": 17, "text": ""}"#).unwrap_err();
        assert_eq!(err.id.as_deref(), Some("17"));
        let ok = parse_json_line(br#"{"id": 17, "text": "hi", "author_id": 4}"#).unwrap();
        assert_eq!(ok.id.as_deref(), Some("17"));
        assert_eq!(ok.author_id.as_deref(), Some("4"));
    }

    fn read_all(data: &[u8], cap: usize) -> Vec<Result<Comment, LineError>> {
        let mut r = JsonLinesReader::new(data, cap);
        let mut out = Vec::new();
        while let Some(record) = r.next_record().unwrap() {
            assert_eq!(record.line, out.len() as u64 + 1);
            out.push(record.comment);
        }
        out
    }

    #[test]
    fn a_byte_order_mark_opens_the_file_not_a_record() {
        let data = b"\xef\xbb\xbf{\"text\": \"first\"}\n\xef\xbb\xbf{\"text\": \"second\"}\n";
        let got = read_all(data, 1 << 20);
        assert_eq!(got[0].as_ref().unwrap().text, "first");
        // Anywhere else it is a stray character, as any other.
        assert_eq!(got[1].as_ref().unwrap_err().code, ErrorCode::InvalidJson);
    }

    #[test]
    fn a_line_over_the_cap_is_answered_and_the_next_one_read() {
        let long = format!("{{\"text\": \"{}\"}}", "x".repeat(100));
        let data = format!("{{\"text\": \"a\"}}\n{long}\n{{\"text\": \"b\"}}");
        let got = read_all(data.as_bytes(), 64);
        let err = got[1].as_ref().unwrap_err();
        assert_eq!(err.code, ErrorCode::LineTooLong);
        assert!(err.message.contains("112 bytes") && err.message.contains("--max-line-bytes"));
        assert_eq!(got[2].as_ref().unwrap().text, "b");
    }

    #[test]
    fn the_delimiter_is_sniffed_from_the_header_line_or_given() {
        assert_eq!(Delimiter::sniff(b"id;text;\"a,b,c\""), Delimiter(b';'));
        assert_eq!(Delimiter::sniff(b"id\ttext"), Delimiter(b'\t'));
        assert_eq!(Delimiter::sniff(b"text"), Delimiter(b','));
        assert_eq!(Delimiter::sniff(b"a;b,c"), Delimiter(b','));
        for (given, byte) in [(",", b','), (";", b';'), ("tab", b'\t'), ("\\t", b'\t')] {
            assert_eq!(Delimiter::parse(given), Ok(Delimiter(byte)));
        }
        assert!(Delimiter::parse("|").unwrap_err().contains("\"|\""));
        // The header's delimiter wins even when a quoted name holds others.
        assert_eq!(Delimiter::sniff(b"\"a;b;c\",text"), Delimiter(b','));
    }
}
