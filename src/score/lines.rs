//! Physical lines of an archive, read with a cap on their length: a line longer than
//! `--max-line-bytes` is skipped to its end without being held, so one huge line (or
//! `/dev/zero`) costs time but never memory beyond the cap and the reader's buffer.

use std::io::BufRead;

/// One physical line, without its `\n` or `\r\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The line's bytes (at most the cap).
    Bytes(Vec<u8>),
    /// A line over the cap, skipped; `bytes` is its length without the line end.
    TooLong { bytes: u64 },
}

/// A line read, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberedLine {
    /// 1-based physical line number.
    pub number: u64,
    /// Input bytes consumed up to the end of this line.
    pub end_offset: u64,
    pub line: Line,
}

pub struct LineReader<R> {
    input: R,
    cap: usize,
    buf: Vec<u8>,
    number: u64,
    offset: u64,
}

impl<R: BufRead> LineReader<R> {
    /// `cap`: the longest line kept, in bytes, without its line end.
    pub fn new(input: R, cap: usize) -> Self {
        LineReader {
            input,
            cap,
            buf: Vec::new(),
            number: 0,
            offset: 0,
        }
    }

    /// The next line, or `None` at the end of the input. A last line without a newline is
    /// a line like any other.
    pub fn next_line(&mut self) -> std::io::Result<Option<NumberedLine>> {
        self.buf.clear();
        // Room for the cap plus a `\r` that belongs to the line end.
        let keep = self.cap.saturating_add(1);
        let mut total: u64 = 0;
        let mut ended_by_newline = false;
        let mut last_byte = None;
        loop {
            let available = match self.input.fill_buf() {
                Ok(available) => available,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            let (take, newline) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            let content = if newline { take - 1 } else { take };
            let room = keep.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&available[..content.min(room)]);
            total += content as u64;
            if content > 0 {
                last_byte = Some(available[content - 1]);
            }
            self.input.consume(take);
            self.offset += take as u64;
            if newline {
                ended_by_newline = true;
                break;
            }
        }
        if total == 0 && !ended_by_newline {
            return Ok(None);
        }
        self.number += 1;
        let mut length = total;
        if last_byte == Some(b'\r') {
            length -= 1;
            if self.buf.len() as u64 == total {
                self.buf.pop();
            }
        }
        let line = if length > self.cap as u64 {
            Line::TooLong { bytes: length }
        } else {
            Line::Bytes(std::mem::take(&mut self.buf))
        };
        Ok(Some(NumberedLine {
            number: self.number,
            end_offset: self.offset,
            line,
        }))
    }

    /// Input bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    fn lines(data: &[u8], cap: usize) -> Vec<Line> {
        let mut reader = LineReader::new(BufReader::with_capacity(4, data), cap);
        let mut out = Vec::new();
        while let Some(l) = reader.next_line().unwrap() {
            assert_eq!(l.number, out.len() as u64 + 1);
            out.push(l.line);
        }
        assert_eq!(reader.offset(), data.len() as u64);
        out
    }

    fn bytes(s: &str) -> Line {
        Line::Bytes(s.as_bytes().to_vec())
    }

    #[test]
    fn line_ends_are_cut_and_a_last_line_needs_no_newline() {
        assert_eq!(
            lines(b"ab\r\n\ncd\nlast", 10),
            [bytes("ab"), bytes(""), bytes("cd"), bytes("last")]
        );
        assert_eq!(lines(b"", 10), []);
        assert_eq!(lines(b"\n", 10), [bytes("")]);
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_to_its_end() {
        assert_eq!(
            lines(b"12345\n123456\n1234567\r\nok", 6),
            [
                bytes("12345"),
                bytes("123456"),
                Line::TooLong { bytes: 7 },
                bytes("ok")
            ]
        );
        // Exactly at the cap with a `\r\n` end: the `\r` is not counted.
        assert_eq!(lines(b"123456\r\n", 6), [bytes("123456")]);
        // A line with no newline at all, as /dev/zero cut to a size gives.
        assert_eq!(lines(&[0u8; 100], 10), [Line::TooLong { bytes: 100 }]);
    }

    /// `n` zero bytes and no newline, made on the fly.
    struct Zeros(u64);

    impl Read for Zeros {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (buf.len() as u64).min(self.0) as usize;
            buf[..n].fill(0);
            self.0 -= n as u64;
            Ok(n)
        }
    }

    #[test]
    fn a_huge_line_never_holds_more_than_the_cap() {
        let cap = 4096;
        let size = 64 << 20;
        let mut reader = LineReader::new(BufReader::with_capacity(1 << 16, Zeros(size)), cap);
        let line = reader.next_line().unwrap().unwrap();
        assert_eq!(line.line, Line::TooLong { bytes: size });
        assert!(
            reader.buf.capacity() <= 2 * (cap + 1),
            "held {} bytes for a {size}-byte line",
            reader.buf.capacity()
        );
        assert!(reader.next_line().unwrap().is_none());
    }
}
