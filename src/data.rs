//! Labelled records (SPEC §5) and the deterministic splits that keep evaluation honest.
//!
//! A file is read line by line; a line that is not a valid record is reported with its line
//! number and skipped, never fatal. Every record belongs to one [`Split`] by a stable hash of
//! its id, so `tact train` and `tact eval` agree on which records the heads never saw.

use crate::comment::ThreadMessage;
use crate::labels::{Action, Intent, Lang, Sentiment};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One labelled record; every label is optional.
#[derive(Debug, Clone, Deserialize)]
pub struct Record {
    pub id: String,
    pub text: String,
    pub lang: Lang,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub sentiment: Option<Sentiment>,
    #[serde(default)]
    pub labels: BTreeMap<String, u8>,
    #[serde(default)]
    pub intent: Option<Intent>,
    #[serde(default)]
    pub action: Option<Action>,
    #[serde(default)]
    pub author_id: Option<String>,
    #[serde(default)]
    pub thread: Vec<ThreadMessage>,
}

impl Record {
    /// The record as a comment to decide on, its language left for tact to detect (as serving
    /// does for a comment without `lang`).
    pub fn comment(&self) -> crate::comment::Comment {
        crate::comment::Comment {
            id: Some(self.id.clone()),
            text: self.text.clone(),
            lang: None,
            author_id: self.author_id.clone(),
            thread: self.thread.clone(),
        }
    }
}

/// The binary labels of SPEC §5 that tact scores.
pub const BINARY_LABELS: &[&str] = &[
    "abusive",
    "complaint",
    "spam",
    "question",
    "request",
    "misinformation",
];

/// A line that could not be read as a record.
#[derive(Debug, Clone)]
pub struct BadLine {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Parses one JSON line into a record, checking what serde cannot.
pub fn parse_record(line: &str) -> Result<Record, String> {
    let r: Record = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if r.text.trim().is_empty() {
        return Err("empty text".into());
    }
    for (name, v) in &r.labels {
        if *v > 1 {
            return Err(format!("label {name} = {v} is not 0 or 1"));
        }
    }
    Ok(r)
}

/// Reads a JSON Lines file; bad lines are returned alongside the records, not fatal.
pub fn read_records(path: &Path) -> std::io::Result<(Vec<Record>, Vec<BadLine>)> {
    let file = std::fs::File::open(path)?;
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in std::io::BufReader::new(file).split(b'\n').enumerate() {
        let line = line?;
        let bad_line = |message: String| BadLine {
            file: path.to_path_buf(),
            line: i + 1,
            message,
        };
        match std::str::from_utf8(&line) {
            Err(e) => bad.push(bad_line(format!("invalid UTF-8: {e}"))),
            Ok(s) if s.trim().is_empty() => bad.push(bad_line("blank line".into())),
            Ok(s) => match parse_record(s) {
                Ok(r) => records.push(r),
                Err(m) => bad.push(bad_line(m)),
            },
        }
    }
    Ok((records, bad))
}

/// Which part of the data a record belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Fits the heads (70%).
    Train,
    /// Fits the temperatures, early stopping and the playbook's thresholds (10%).
    Calib,
    /// Never seen by training, calibration or tuning: every reported figure (20%).
    Test,
}

/// FNV-1a 64: small, and stable across Rust versions and platforms (std's hasher is not).
pub fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

pub fn split_of(id: &str) -> Split {
    match fnv1a(id) % 10 {
        0 | 1 => Split::Test,
        2 => Split::Calib,
        _ => Split::Train,
    }
}

/// Keeps at most `max` records: those with the lowest hash of their id, so the sample is the
/// same on every run and machine. The kept records stay in file order.
pub fn stable_sample(records: &mut Vec<Record>, max: usize) {
    if max == 0 {
        records.clear();
    } else if records.len() > max {
        let mut keys: Vec<u64> = records
            .iter()
            .map(|r| fnv1a(&format!("sample:{}", r.id)))
            .collect();
        keys.sort_unstable();
        let cutoff = keys[max - 1];
        records.retain(|r| fnv1a(&format!("sample:{}", r.id)) <= cutoff);
        records.truncate(max);
    }
}

/// The corpora's binary labels that the `labels` head scores on its own (every binary label
/// but `abusive`, which has a head of its own).
pub const CORPUS_LABELS: [&str; 5] = ["complaint", "spam", "question", "request", "misinformation"];

/// Which intents' probability answers a binary label of SPEC §5 (`abusive` has its own head).
///
/// `request` in the corpora means "asks the brand for something" (banking77 and Bitext mix
/// how-to questions with transactional asks), so it is answered by question + request.
pub fn intents_for_label(label: &str) -> Option<&'static [Intent]> {
    Some(match label {
        "complaint" => &[Intent::Complaint],
        "spam" => &[Intent::Spam],
        "question" => &[Intent::Question],
        "request" => &[Intent::Request, Intent::Question],
        "misinformation" => &[Intent::Misinformation],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_lines_are_reported_with_numbers() {
        let dir = std::env::temp_dir().join(format!("tact-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.jsonl");
        let good = r#"{"id":"a","text":"hello","lang":"en","sentiment":"positive"}"#;
        let body = format!(
            "{good}\n{{oops\n\n{}\n{}\n",
            r#"{"id":"b","text":" ","lang":"en"}"#, r#"{"id":"c","text":"x","lang":"fr"}"#
        );
        std::fs::write(&p, [body.as_bytes(), b"\xff\n"].concat()).unwrap();
        let (records, bad) = read_records(&p).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].sentiment, Some(Sentiment::Positive));
        let lines: Vec<usize> = bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6]);
        assert!(bad[2].message.contains("empty text"));
    }

    #[test]
    fn splits_are_stable_and_proportioned() {
        assert_eq!(fnv1a("a"), 0xaf63dc4c8601ec8c);
        let n = 10_000;
        let test = (0..n)
            .filter(|i| split_of(&format!("id-{i}")) == Split::Test)
            .count();
        assert!((1800..2200).contains(&test), "{test}");
    }
}
