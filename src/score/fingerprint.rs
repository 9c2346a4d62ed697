//! Which input an output answers. When a run starts an output it records, beside it in
//! `<output>.tact-score.json`, the input's name, size and a SHA-256 of its first 64 KiB, and
//! the reading settings that decide which bytes make record *i*; `--resume` compares them
//! with the input at hand and refuses any difference, since continuing would append the
//! answers of one archive to those of another.

use super::input::{InputFormat, Reading};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How much of the input's beginning is hashed.
pub const HEAD_BYTES: usize = 64 << 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFingerprint {
    /// The input's canonical path, or `-` for stdin.
    pub input: String,
    /// Its size in bytes, when it is a regular file.
    pub bytes: Option<u64>,
    /// SHA-256 (hex) of its first `head_bytes` bytes.
    pub head_sha256: String,
    pub head_bytes: u64,
    pub format: String,
    /// The CSV delimiter in force (given or sniffed).
    pub delimiter: Option<String>,
    pub max_line_bytes: u64,
    /// CSV only.
    pub max_record_lines: Option<u64>,
    /// The shard this output answers (`--shard`), and the line it starts at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardSpan>,
    /// The last line answered, once the run finished (shards only: what `merge` checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done: Option<u64>,
}

/// Where a shard's answers sit among the input's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardSpan {
    pub index: u64,
    pub count: u64,
    /// The input line (record) the shard's first answer is for.
    pub first_line: u64,
}

/// Reads the input's first [`HEAD_BYTES`] bytes (fewer at its end), to be hashed and then
/// read again before the rest.
pub fn read_head(input: &mut dyn Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(HEAD_BYTES);
    input.take(HEAD_BYTES as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Where the fingerprint of `output` is kept.
pub fn sidecar_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".tact-score.json");
    PathBuf::from(name)
}

impl InputFingerprint {
    /// `input`: the path given (`-` for stdin); `bytes`: its size when a regular file.
    pub fn new(input: &Path, bytes: Option<u64>, head: &[u8], reading: &Reading) -> Self {
        let csv = reading.format == InputFormat::Csv;
        InputFingerprint {
            input: if input.as_os_str() == "-" {
                "-".to_string()
            } else {
                std::fs::canonicalize(input)
                    .unwrap_or_else(|_| input.to_path_buf())
                    .display()
                    .to_string()
            },
            bytes,
            head_sha256: format!("{:x}", Sha256::digest(head)),
            head_bytes: head.len() as u64,
            format: reading.format.name().to_string(),
            delimiter: reading.delimiter.map(|d| d.name().to_string()),
            max_line_bytes: reading.max_line_bytes as u64,
            max_record_lines: csv.then_some(reading.max_record_lines),
            shard: None,
            done: None,
        }
    }

    /// The fingerprint recorded beside `output`.
    pub fn read(output: &Path) -> anyhow::Result<InputFingerprint> {
        let path = sidecar_path(output);
        let json = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {}, which records the input that {} answers",
                path.display(),
                output.display()
            )
        })?;
        serde_json::from_str(&json).with_context(|| format!("reading {}", path.display()))
    }

    /// Records this fingerprint for `output` (written whole, then renamed into place).
    pub fn write(&self, output: &Path) -> anyhow::Result<()> {
        let path = sidecar_path(output);
        let partial = {
            let mut name = path.as_os_str().to_owned();
            name.push(".partial");
            PathBuf::from(name)
        };
        let json = serde_json::to_string_pretty(self).expect("plain data");
        std::fs::write(&partial, json + "\n")
            .and_then(|()| std::fs::rename(&partial, &path))
            .with_context(|| {
                format!(
                    "writing {}, which records the input that {} answers",
                    path.display(),
                    output.display()
                )
            })
    }

    /// Refuses to resume `output` unless it was started on this same input, read alike.
    pub fn check(&self, output: &Path) -> anyhow::Result<()> {
        let path = sidecar_path(output);
        let recorded = match std::fs::read_to_string(&path) {
            Ok(json) => serde_json::from_str::<InputFingerprint>(&json)
                .with_context(|| format!("reading {}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "cannot resume {}: {} is missing, so nothing says which input it answers \
                 (use --overwrite to start again)",
                output.display(),
                path.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mut differences = self.differences(&recorded);
        if self.shard != recorded.shard {
            let show = |s: Option<ShardSpan>| {
                s.map_or("none".to_string(), |s| format!("{}/{}", s.index, s.count))
            };
            differences.push(format!(
                "--shard {} then, {} now",
                show(recorded.shard),
                show(self.shard)
            ));
        }
        if differences.is_empty() {
            return Ok(());
        }
        bail!(
            "{} answers {}, not {}: {} (use --overwrite to start again, or resume with the \
             input and settings it was started with)",
            output.display(),
            recorded.input,
            self.input,
            differences.join("; ")
        )
    }

    /// What differs in the input and how it is read, "then" being the recorded fingerprint
    /// and "now" this one.
    pub fn differences(&self, then: &InputFingerprint) -> Vec<String> {
        let mut out = Vec::new();
        let mut differ = |what: &str, then: String, now: String| {
            if then != now {
                out.push(format!("{what} {then} then, {now} now"));
            }
        };
        let show = |v: Option<String>| v.unwrap_or_else(|| "none".into());
        differ("input", then.input.clone(), self.input.clone());
        differ(
            "size",
            show(then.bytes.map(|b| format!("{b} bytes"))),
            show(self.bytes.map(|b| format!("{b} bytes"))),
        );
        differ(
            "SHA-256 of the first 64 KiB",
            then.head_sha256.clone(),
            self.head_sha256.clone(),
        );
        differ("--format", then.format.clone(), self.format.clone());
        differ(
            "--delimiter",
            show(then.delimiter.clone()),
            show(self.delimiter.clone()),
        );
        differ(
            "--max-line-bytes",
            then.max_line_bytes.to_string(),
            self.max_line_bytes.to_string(),
        );
        differ(
            "--max-record-lines",
            show(then.max_record_lines.map(|n| n.to_string())),
            show(self.max_record_lines.map(|n| n.to_string())),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::input::Delimiter;

    fn reading() -> Reading {
        Reading {
            format: InputFormat::Jsonl,
            delimiter: None,
            max_line_bytes: 1 << 20,
            max_record_lines: 100,
        }
    }

    #[test]
    fn resume_checks_name_size_head_and_settings() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("a.jsonl");
        std::fs::write(&input, "x").unwrap();
        let output = dir.path().join("out.jsonl");
        let started = InputFingerprint::new(&input, Some(10), b"first lines", &reading());
        started.write(&output).unwrap();
        started.check(&output).unwrap();

        let other_head = InputFingerprint::new(&input, Some(10), b"other lines", &reading());
        let err = other_head.check(&output).unwrap_err().to_string();
        assert!(err.contains("SHA-256 of the first 64 KiB"), "{err}");
        assert!(!err.contains("size"), "{err}");

        let other_name = InputFingerprint::new(&output, Some(10), b"first lines", &reading());
        let err = other_name.check(&output).unwrap_err().to_string();
        assert!(
            err.contains("out.jsonl now") && err.contains("a.jsonl then"),
            "{err}"
        );

        let csv = Reading {
            format: InputFormat::Csv,
            delimiter: Some(Delimiter(b';')),
            ..reading()
        };
        let err = InputFingerprint::new(&input, Some(11), b"first lines", &csv)
            .check(&output)
            .unwrap_err()
            .to_string();
        for said in [
            "size 10 bytes then, 11 bytes now",
            "--format jsonl then, csv now",
            "--delimiter none then, ; now",
        ] {
            assert!(err.contains(said), "{said} in {err}");
        }

        std::fs::remove_file(sidecar_path(&output)).unwrap();
        let err = started.check(&output).unwrap_err().to_string();
        assert!(
            err.contains("out.jsonl.tact-score.json is missing"),
            "{err}"
        );
    }
}
