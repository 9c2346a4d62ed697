//! CSV archives: a header row, then records of RFC 4180 fields separated by `,`, `;` or tab
//! (`--delimiter`, or sniffed from the header line), read one physical line at a time with
//! the caps of [`super::lines`], so no record is held beyond `--max-line-bytes`.
//!
//! A record may span lines only inside a quoted field, and such a record must be well formed:
//! its quotes closed before the end of the input, within `--max-record-lines` lines and
//! `--max-line-bytes` bytes, each closing quote followed by a delimiter or the line end, and
//! the header's number of fields. Otherwise the quote was most likely never closed: the
//! record's first line is answered `bad_quote` and reading starts again on the line after
//! it, so the records an open quote would have swallowed are each answered in turn.

use super::input::{Delimiter, ErrorCode, LineError, Record, RecordReader};
use super::lines::{Line, LineReader, NumberedLine};
use crate::comment::Comment;
use std::collections::VecDeque;
use std::io::BufRead;

/// Which CSV columns hold what; `None` for `id`/`author` means "use it if the header has it".
#[derive(Debug, Clone)]
pub struct CsvColumns {
    pub text: String,
    pub id: Option<String>,
    pub author: Option<String>,
}

/// The caps on one CSV record.
#[derive(Debug, Clone, Copy)]
pub struct CsvLimits {
    /// `--max-line-bytes`: the longest physical line, and the longest record.
    pub max_bytes: usize,
    /// `--max-record-lines`: the most physical lines one record may span.
    pub max_lines: u64,
}

/// The fields of one record: their bytes end to end, and where each ends.
#[derive(Debug, Default)]
struct Fields {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    fn end_field(&mut self) {
        self.ends.push(self.data.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.data[start..end])
    }
}

/// Where the field splitter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: the field's end, or the first of a doubled quote.
    QuoteInQuoted,
}

/// Splits `line` into `fields` from `state`; `Err(column)` (1-based) where a closing quote is
/// followed by something else than a delimiter or the line end. A quote inside an unquoted
/// field is kept as it is.
fn split_line(
    line: &[u8],
    delimiter: u8,
    state: &mut State,
    fields: &mut Fields,
) -> Result<(), usize> {
    for (i, &b) in line.iter().enumerate() {
        *state = match (*state, b) {
            (State::FieldStart, b'"') => State::Quoted,
            (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b) if b == delimiter => {
                fields.end_field();
                State::FieldStart
            }
            (State::FieldStart | State::Unquoted, b) => {
                fields.data.push(b);
                State::Unquoted
            }
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, b) => {
                fields.data.push(b);
                State::Quoted
            }
            (State::QuoteInQuoted, b'"') => {
                fields.data.push(b'"');
                State::Quoted
            }
            (State::QuoteInQuoted, _) => return Err(i + 1),
        };
    }
    Ok(())
}

/// One record as split, before its fields are read as a comment.
enum Raw {
    /// Well formed; the fields are in `CsvReader::fields`.
    Fields { first_line: u64, end_offset: u64 },
    /// Answered with this error.
    Bad {
        first_line: u64,
        end_offset: u64,
        error: LineError,
    },
}

pub struct CsvReader<R> {
    lines: LineReader<R>,
    /// Lines read past a record found malformed, to be read again.
    pending: VecDeque<NumberedLine>,
    delimiter: Delimiter,
    limits: CsvLimits,
    fields: Fields,
    header_fields: usize,
    text: usize,
    id: Option<usize>,
    author: Option<usize>,
    records: u64,
}

impl<R: BufRead> CsvReader<R> {
    /// Reads the header, sniffing the delimiter when `delimiter` is `None`, and finds the
    /// columns; a header that cannot be read or lacks the text column (or a column the user
    /// named) is fatal: nothing in the file could be read as intended.
    pub fn new(
        input: R,
        columns: &CsvColumns,
        delimiter: Option<Delimiter>,
        limits: CsvLimits,
    ) -> anyhow::Result<Self> {
        let mut reader = CsvReader {
            lines: LineReader::new(input, limits.max_bytes),
            pending: VecDeque::new(),
            delimiter: delimiter.unwrap_or(Delimiter(b',')),
            limits,
            fields: Fields::default(),
            header_fields: 0,
            text: 0,
            id: None,
            author: None,
            records: 0,
        };
        let Some(mut first) = reader.next_nonblank()? else {
            anyhow::bail!("the CSV input is empty: it has no header row");
        };
        if let Line::Bytes(b) = &mut first.line {
            // Spreadsheet exports often start with a byte-order mark.
            if b.starts_with(b"\xef\xbb\xbf") {
                b.drain(..3);
            }
            if delimiter.is_none() {
                reader.delimiter = Delimiter::sniff(b);
            }
        }
        reader.pending.push_back(first);
        let header: Vec<String> = match reader.next_raw()? {
            Some(Raw::Fields { .. }) => (0..reader.fields.len())
                .map(|i| {
                    let name = reader.fields.get(i).unwrap_or_default();
                    String::from_utf8_lossy(name).trim().to_string()
                })
                .collect(),
            Some(Raw::Bad {
                first_line, error, ..
            }) => anyhow::bail!(
                "the CSV header on line {first_line} cannot be read: {}",
                error.message
            ),
            None => anyhow::bail!("the CSV input has no header row"),
        };
        let find = |name: &str| header.iter().position(|h| h == name);
        reader.text = find(&columns.text).ok_or_else(|| {
            anyhow::anyhow!(
                "the CSV header has no text column {:?} (columns: {}; delimiter {}); name it \
                 with --text-column, or the delimiter with --delimiter",
                columns.text,
                header.join(", "),
                reader.delimiter.name()
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
        reader.id = optional(&columns.id, "id")?;
        reader.author = optional(&columns.author, "author_id")?;
        reader.header_fields = header.len();
        Ok(reader)
    }

    fn next_physical(&mut self) -> std::io::Result<Option<NumberedLine>> {
        match self.pending.pop_front() {
            Some(line) => Ok(Some(line)),
            None => self.lines.next_line(),
        }
    }

    /// The next line that is not empty (blank lines are not CSV records).
    fn next_nonblank(&mut self) -> std::io::Result<Option<NumberedLine>> {
        loop {
            match self.next_physical()? {
                Some(NumberedLine {
                    line: Line::Bytes(b),
                    ..
                }) if b.is_empty() => continue,
                other => return Ok(other),
            }
        }
    }

    /// The id, when the fields read so far include it.
    fn id_so_far(&self) -> Option<String> {
        let bytes = self.fields.get(self.id?)?;
        let id = std::str::from_utf8(bytes).ok()?.trim();
        (!id.is_empty()).then(|| id.to_string())
    }

    /// The next record, split into fields or found malformed; blank lines are skipped.
    fn next_raw(&mut self) -> std::io::Result<Option<Raw>> {
        let Some(first) = self.next_nonblank()? else {
            return Ok(None);
        };
        let first_line = first.number;
        let bytes = match first.line {
            Line::TooLong { bytes } => {
                return Ok(Some(Raw::Bad {
                    first_line,
                    end_offset: first.end_offset,
                    error: LineError::too_long(bytes, self.limits.max_bytes),
                }))
            }
            Line::Bytes(bytes) => bytes,
        };
        self.fields.clear();
        let mut state = State::FieldStart;
        let delimiter = self.delimiter.0;
        if let Err(column) = split_line(&bytes, delimiter, &mut state, &mut self.fields) {
            let message = format!(
                "line {first_line}, byte {column}: a closing quote is followed by something \
                 else than a delimiter or the line end (a quote inside a quoted field is written \"\")"
            );
            return Ok(Some(self.bad(
                first_line,
                first.end_offset,
                message,
                Vec::new(),
            )));
        }
        // Lines after the first, kept to be read again if the record turns out malformed.
        let mut more: Vec<NumberedLine> = Vec::new();
        let mut record_bytes = bytes.len();
        let mut end_offset = first.end_offset;
        let open = format!("a quoted field of the record starting on line {first_line}");
        while state == State::Quoted {
            if more.len() as u64 + 1 >= self.limits.max_lines {
                let message = format!(
                    "{open} runs past {} lines (--max-record-lines) without closing",
                    self.limits.max_lines
                );
                return Ok(Some(self.bad(first_line, first.end_offset, message, more)));
            }
            let Some(next) = self.next_physical()? else {
                let message = format!("{open} is still open at the end of the input");
                return Ok(Some(self.bad(first_line, first.end_offset, message, more)));
            };
            let line = match &next.line {
                Line::Bytes(b) if record_bytes + 1 + b.len() <= self.limits.max_bytes => b,
                _ => {
                    let message = format!(
                        "{open} runs past {} bytes (--max-line-bytes) without closing",
                        self.limits.max_bytes
                    );
                    more.push(next);
                    return Ok(Some(self.bad(first_line, first.end_offset, message, more)));
                }
            };
            record_bytes += 1 + line.len();
            self.fields.data.push(b'\n');
            let split = split_line(line, delimiter, &mut state, &mut self.fields);
            let number = next.number;
            end_offset = next.end_offset;
            more.push(next);
            if let Err(column) = split {
                let message = format!(
                    "{open} closes on line {number} at byte {column} with a quote followed by \
                     something else than a delimiter or the line end: the quote was probably \
                     never closed"
                );
                return Ok(Some(self.bad(first_line, first.end_offset, message, more)));
            }
        }
        self.fields.end_field();
        // (While the header itself is read, there is no field count to hold it to.)
        let reading_header = self.header_fields == 0;
        if !more.is_empty() && !reading_header && self.fields.len() != self.header_fields {
            let message = format!(
                "the record spans lines {first_line}-{} through a quoted field and has {} \
                 fields, the header {}: the quote was probably never closed",
                more.last().map_or(first_line, |l| l.number),
                self.fields.len(),
                self.header_fields
            );
            return Ok(Some(self.bad(first_line, first.end_offset, message, more)));
        }
        Ok(Some(Raw::Fields {
            first_line,
            end_offset,
        }))
    }

    /// A malformed record: its first line is answered with `message`, and the lines read
    /// after it are read again.
    fn bad(
        &mut self,
        first_line: u64,
        end_offset: u64,
        message: String,
        more: Vec<NumberedLine>,
    ) -> Raw {
        let id = self.id_so_far();
        for line in more.into_iter().rev() {
            self.pending.push_front(line);
        }
        Raw::Bad {
            first_line,
            end_offset,
            error: LineError::new(ErrorCode::BadQuote, message).with_id(id),
        }
    }

    fn comment(&self) -> Result<Comment, LineError> {
        let field = |i: Option<usize>, what: &str| -> Result<Option<String>, LineError> {
            match i.and_then(|i| self.fields.get(i)) {
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
        if self.fields.len() != self.header_fields {
            return Err(LineError::new(
                ErrorCode::FieldCount,
                format!(
                    "{} fields, the header has {}",
                    self.fields.len(),
                    self.header_fields
                ),
            )
            .with_id(id));
        }
        let author_id = field(self.author, "author").map_err(|e| e.with_id(id.clone()))?;
        let text = match self.fields.get(self.text) {
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

impl<R: BufRead + Send> RecordReader for CsvReader<R> {
    fn next_record(&mut self) -> anyhow::Result<Option<Record>> {
        let Some(raw) = self.next_raw()? else {
            return Ok(None);
        };
        self.records += 1;
        let (first_line, end_offset, comment) = match raw {
            Raw::Fields {
                first_line,
                end_offset,
            } => (first_line, end_offset, self.comment()),
            Raw::Bad {
                first_line,
                end_offset,
                error,
            } => (first_line, end_offset, Err(error)),
        };
        Ok(Some(Record {
            line: self.records,
            source_line: Some(first_line),
            offset: end_offset,
            comment,
        }))
    }

    fn skip(&mut self, n: u64) -> anyhow::Result<u64> {
        let mut skipped = 0;
        while skipped < n && self.next_raw()?.is_some() {
            self.records += 1;
            skipped += 1;
        }
        Ok(skipped)
    }

    fn offset(&self) -> u64 {
        self.lines.offset()
    }

    fn delimiter(&self) -> Option<Delimiter> {
        Some(self.delimiter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: CsvLimits = CsvLimits {
        max_bytes: 1 << 20,
        max_lines: 100,
    };

    fn columns() -> CsvColumns {
        CsvColumns {
            text: "text".into(),
            id: None,
            author: None,
        }
    }

    fn reader(data: &str, limits: CsvLimits) -> CsvReader<&[u8]> {
        CsvReader::new(data.as_bytes(), &columns(), None, limits).unwrap()
    }

    /// Every record: (record number, physical line, id, text or error code).
    fn read_all(data: &str, limits: CsvLimits) -> Vec<(u64, u64, String, String)> {
        let mut r = reader(data, limits);
        let mut out = Vec::new();
        while let Some(record) = r.next_record().unwrap() {
            let (id, what) = match record.comment {
                Ok(c) => (c.id.unwrap_or_default(), c.text),
                Err(e) => (e.id.unwrap_or_default(), e.code.as_str().to_string()),
            };
            out.push((record.line, record.source_line.unwrap(), id, what));
        }
        // Skipping counts the same records as reading them.
        let mut again = reader(data, limits);
        assert_eq!(again.skip(u64::MAX).unwrap(), out.len() as u64);
        out
    }

    fn row(line: u64, source: u64, id: &str, what: &str) -> (u64, u64, String, String) {
        (line, source, id.to_string(), what.to_string())
    }

    #[test]
    fn csv_records_span_lines_and_keep_their_first_line() {
        let data =
            "id,text\n1,\"two\nlines, one comma\"\n2,\"\"\n\n3,a,b\n4,\"say \"\"hi\"\"\"\r\n";
        assert_eq!(
            read_all(data, LIMITS),
            [
                row(1, 2, "1", "two\nlines, one comma"),
                row(2, 4, "2", "empty_text"),
                row(3, 6, "3", "field_count"),
                row(4, 7, "4", "say \"hi\""),
            ]
        );
    }

    #[test]
    fn an_unclosed_quote_answers_its_line_and_swallows_nothing() {
        // 15 rows; row 5 opens a quote it never closes, and row 9 has a stray quote that
        // would close it.
        let mut data = String::from("id,text\n");
        for i in 1..=15 {
            match i {
                5 => data.push_str("5,\"never closed\n"),
                9 => data.push_str("9,\"quoted\" too\n"),
                _ => data.push_str(&format!("{i},comment {i}\n")),
            }
        }
        let got = read_all(&data, LIMITS);
        assert_eq!(got.len(), 15, "{got:?}");
        for (i, (line, source, id, what)) in got.iter().enumerate() {
            let n = i as u64 + 1;
            assert_eq!(
                (*line, *source, id.as_str()),
                (n, n + 1, n.to_string().as_str())
            );
            let expected = match n {
                5 | 9 => "bad_quote".to_string(),
                _ => format!("comment {n}"),
            };
            assert_eq!(what, &expected, "record {n}");
        }
    }

    #[test]
    fn a_quote_open_at_the_end_or_past_a_cap_is_bad() {
        let at_end = "id,text\n1,ok\n2,\"open\n3,after\n";
        assert_eq!(
            read_all(at_end, LIMITS),
            [
                row(1, 2, "1", "ok"),
                row(2, 3, "2", "bad_quote"),
                row(3, 4, "3", "after")
            ]
        );
        // Closed on the fourth line, and the field count is right: fine within 4 lines,
        // malformed with a cap of 3 lines or of 20 bytes.
        let long = "id,text\n1,\"a\nb\nc\nd\"\n";
        assert_eq!(read_all(long, LIMITS), [row(1, 2, "1", "a\nb\nc\nd")]);
        let four = CsvLimits {
            max_bytes: 1 << 20,
            max_lines: 4,
        };
        assert_eq!(read_all(long, four).len(), 1);
        let three = CsvLimits {
            max_bytes: 1 << 20,
            max_lines: 3,
        };
        let small = CsvLimits {
            max_bytes: 10,
            max_lines: 100,
        };
        for limits in [three, small] {
            let got = read_all(long, limits);
            assert_eq!(got[0], row(1, 2, "1", "bad_quote"));
            assert_eq!(
                got.len(),
                4,
                "each line after the bad one is read again: {got:?}"
            );
        }
        // A line over the byte cap is answered line_too_long.
        let huge = format!("id,text\n1,{}\n2,ok\n", "x".repeat(50));
        assert_eq!(
            read_all(&huge, small),
            [row(1, 2, "", "line_too_long"), row(2, 3, "2", "ok")]
        );
    }

    #[test]
    fn semicolon_and_tab_separated_records_are_read() {
        let semicolons = "\u{feff}id;text\n1;\"Bună, mersi\"\n2;Привет\n";
        assert_eq!(
            read_all(semicolons, LIMITS),
            [row(1, 2, "1", "Bună, mersi"), row(2, 3, "2", "Привет")]
        );
        let tabs = "id\ttext\n1\thello, there\n";
        assert_eq!(read_all(tabs, LIMITS), [row(1, 2, "1", "hello, there")]);
        // Given, it wins over the header: here the whole line is one column.
        let err = CsvReader::new(
            "id;text\n".as_bytes(),
            &columns(),
            Some(Delimiter(b',')),
            LIMITS,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("--delimiter"), "{err}");
    }
}
