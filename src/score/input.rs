//! Reading an archive: JSON Lines of SPEC §4 objects or CSV with a header, one record at a
//! time, into a [`Comment`] or the reason the record could not be read ([`LineError`]).
//! Nothing is held beyond the current record, so any archive size reads in flat memory.
//!
//! Record numbers start at 1. In JSON Lines a record is a physical line (a blank one is a bad
//! record, not skipped); in CSV it is a data record after the header, which may span several
//! physical lines, so each record also carries the physical line it starts on.

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
}

/// Which CSV columns hold what; `None` for `id`/`author` means "use it if the header has it".
#[derive(Debug, Clone)]
pub struct CsvColumns {
    pub text: String,
    pub id: Option<String>,
    pub author: Option<String>,
}

/// Reads records one by one; `Ok(None)` at the end. An `Err` is an unreadable input (fatal).
pub trait RecordReader: Send {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>>;
    /// Reads past `n` records without parsing them into comments (resuming). Returns how many
    /// were there.
    fn skip(&mut self, n: u64) -> anyhow::Result<u64>;
    /// Input bytes consumed so far.
    fn offset(&self) -> u64;
}

pub fn open(
    input: Box<dyn BufRead + Send>,
    format: InputFormat,
    columns: &CsvColumns,
) -> anyhow::Result<Box<dyn RecordReader>> {
    Ok(match format {
        InputFormat::Jsonl => Box::new(JsonLinesReader::new(input)),
        InputFormat::Csv => Box::new(CsvReader::new(input, columns)?),
    })
}

pub struct JsonLinesReader<R> {
    input: R,
    buf: Vec<u8>,
    line: u64,
    offset: u64,
}

impl<R: BufRead> JsonLinesReader<R> {
    pub fn new(input: R) -> Self {
        JsonLinesReader {
            input,
            buf: Vec::with_capacity(4096),
            line: 0,
            offset: 0,
        }
    }

    /// The next physical line without its terminator, in `self.buf`; false at the end.
    fn read_line(&mut self) -> anyhow::Result<bool> {
        // One huge line must not keep its buffer for the rest of the run.
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::with_capacity(4096);
        }
        self.buf.clear();
        let n = self.input.read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        self.offset += n as u64;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        Ok(true)
    }
}

impl<R: BufRead + Send> RecordReader for JsonLinesReader<R> {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        if !self.read_line()? {
            return Ok(None);
        }
        Ok(Some(Record {
            line: self.line,
            source_line: None,
            offset: self.offset,
            comment: parse_json_line(&self.buf),
        }))
    }

    fn skip(&mut self, n: u64) -> anyhow::Result<u64> {
        let mut skipped = 0;
        while skipped < n && self.read_line()? {
            skipped += 1;
        }
        Ok(skipped)
    }

    fn offset(&self) -> u64 {
        self.offset
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

pub struct CsvReader<R> {
    reader: csv::Reader<R>,
    record: csv::ByteRecord,
    fields: usize,
    text: usize,
    id: Option<usize>,
    author: Option<usize>,
    line: u64,
}

impl<R: std::io::Read> CsvReader<R> {
    /// Reads the header and finds the columns; a missing text column (or a missing column the
    /// user named) is fatal: nothing in the file could be read as intended.
    pub fn new(input: R, columns: &CsvColumns) -> anyhow::Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(true)
            .from_reader(input);
        let header: Vec<String> = reader
            .byte_headers()?
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let h = String::from_utf8_lossy(h);
                // Spreadsheet exports often start with a byte-order mark.
                let h = if i == 0 {
                    h.trim_start_matches('\u{feff}')
                } else {
                    &h
                };
                h.trim().to_string()
            })
            .collect();
        let find = |name: &str| header.iter().position(|h| h == name);
        let text = find(&columns.text).ok_or_else(|| {
            anyhow::anyhow!(
                "the CSV header has no text column {:?} (columns: {}); name it with --text-column",
                columns.text,
                header.join(", ")
            )
        })?;
        let optional = |given: &Option<String>, default: &str| -> anyhow::Result<Option<usize>> {
            match given {
                Some(name) => find(name).map(Some).ok_or_else(|| {
                    anyhow::anyhow!(
                        "the CSV header has no column {name:?} (columns: {})",
                        header.join(", ")
                    )
                }),
                None => Ok(find(default)),
            }
        };
        Ok(CsvReader {
            id: optional(&columns.id, "id")?,
            author: optional(&columns.author, "author_id")?,
            fields: header.len(),
            text,
            reader,
            record: csv::ByteRecord::new(),
            line: 0,
        })
    }

    fn comment(&self) -> Result<Comment, LineError> {
        let field = |i: Option<usize>, what: &str| -> Result<Option<String>, LineError> {
            match i.and_then(|i| self.record.get(i)) {
                None => Ok(None),
                Some(bytes) => match std::str::from_utf8(bytes) {
                    Ok(s) if s.trim().is_empty() => Ok(None),
                    Ok(s) => Ok(Some(s.to_string())),
                    Err(e) => Err(LineError::new(
                        ErrorCode::InvalidUtf8,
                        format!("invalid UTF-8 in the {what} at byte {}", e.valid_up_to()),
                    )),
                },
            }
        };
        let id = field(self.id, "id")?;
        if self.record.len() != self.fields {
            return Err(LineError::new(
                ErrorCode::FieldCount,
                format!(
                    "{} fields, the header has {}",
                    self.record.len(),
                    self.fields
                ),
            )
            .with_id(id));
        }
        let author_id = field(self.author, "author").map_err(|e| e.with_id(id.clone()))?;
        let text = match self.record.get(self.text) {
            None => return Err(LineError::new(ErrorCode::MissingText, "no text field").with_id(id)),
            Some(bytes) => std::str::from_utf8(bytes).map_err(|e| {
                LineError::new(
                    ErrorCode::InvalidUtf8,
                    format!("invalid UTF-8 in the text at byte {}", e.valid_up_to()),
                )
                .with_id(id.clone())
            })?,
        };
        if text.trim().is_empty() {
            return Err(LineError::new(ErrorCode::EmptyText, "the text is empty").with_id(id));
        }
        Ok(Comment {
            id,
            text: text.to_string(),
            author_id,
            ..Comment::default()
        })
    }
}

impl<R: std::io::Read + Send> RecordReader for CsvReader<R> {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        if !self.reader.read_byte_record(&mut self.record)? {
            return Ok(None);
        }
        self.line += 1;
        Ok(Some(Record {
            line: self.line,
            source_line: self.record.position().map(|p| p.line()),
            offset: self.reader.position().byte(),
            comment: self.comment(),
        }))
    }

    fn skip(&mut self, n: u64) -> anyhow::Result<u64> {
        let mut skipped = 0;
        while skipped < n && self.reader.read_byte_record(&mut self.record)? {
            self.line += 1;
            skipped += 1;
        }
        Ok(skipped)
    }

    fn offset(&self) -> u64 {
        self.reader.position().byte()
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

    #[test]
    fn csv_records_span_lines_and_keep_their_first_line() {
        let data = "id,text\n1,\"two\nlines, one comma\"\n2,\"\"\n3,a,b\n";
        let columns = CsvColumns {
            text: "text".into(),
            id: None,
            author: None,
        };
        let mut r = CsvReader::new(data.as_bytes(), &columns).unwrap();
        let first = r.next_record().unwrap().unwrap();
        assert_eq!((first.line, first.source_line), (1, Some(2)));
        assert_eq!(first.comment.unwrap().text, "two\nlines, one comma");
        let second = r.next_record().unwrap().unwrap();
        assert_eq!((second.line, second.source_line), (2, Some(4)));
        assert_eq!(second.comment.unwrap_err().code, ErrorCode::EmptyText);
        let third = r.next_record().unwrap().unwrap();
        let err = third.comment.unwrap_err();
        assert_eq!(
            (err.code, err.id.as_deref()),
            (ErrorCode::FieldCount, Some("3"))
        );
        assert!(r.next_record().unwrap().is_none());
    }
}
