//! One output record per input record, and how it is written: a JSON Lines object (the
//! Decision JSON of SPEC §3 with `line` added, or an error record), or a CSV row with the
//! decision flattened into fixed columns.

use super::input::LineError;
use crate::pipeline::Decided;
use serde::Serialize;

/// The answer to input record `line`.
#[derive(Debug)]
pub struct Answer {
    pub line: u64,
    /// The physical line the record starts on (CSV input only).
    pub source_line: Option<u64>,
    /// Input bytes consumed up to the end of the record (for the progress bar).
    pub offset: u64,
    /// Boxed: error answers, which may wait in numbers behind a slow batch, stay small.
    pub outcome: Result<Box<Decided>, LineError>,
}

#[derive(Serialize)]
struct DecidedJson<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_line: Option<u64>,
    #[serde(flatten)]
    decided: &'a Decided,
}

#[derive(Serialize)]
struct ErrorJson<'a> {
    line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'static str,
    message: &'a str,
}

impl Answer {
    /// Appends the JSON Lines form, newline included, with `line` as the first field.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let written = match &self.outcome {
            Ok(decided) => serde_json::to_writer(&mut *out, &self.decided_json(decided)),
            Err(e) => serde_json::to_writer(&mut *out, &self.error_json(e)),
        };
        written.expect("answers are plain data");
        out.push(b'\n');
    }

    /// The CSV row, in the order of [`csv_header`].
    pub fn to_csv_row(&self) -> Vec<String> {
        let json = match &self.outcome {
            Ok(decided) => serde_json::to_value(self.decided_json(decided)),
            Err(e) => serde_json::to_value(self.error_json(e)),
        }
        .expect("answers are plain data");
        let mut row: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|(_, pointer)| json.pointer(pointer).map(cell).unwrap_or_default())
            .collect();
        // For JSON Lines input the record starts on its own line number.
        if row[1].is_empty() {
            row[1] = self.line.to_string();
        }
        row
    }

    fn decided_json<'a>(&self, decided: &'a Decided) -> DecidedJson<'a> {
        DecidedJson {
            line: self.line,
            source_line: self.source_line,
            decided,
        }
    }

    fn error_json<'a>(&self, e: &'a LineError) -> ErrorJson<'a> {
        ErrorJson {
            line: self.line,
            source_line: self.source_line,
            id: e.id.as_deref(),
            error: ErrorBody {
                code: e.code.as_str(),
                message: &e.message,
            },
        }
    }
}

/// Output CSV columns and where each comes from in the JSON answer.
const CSV_COLUMNS: &[(&str, &str)] = &[
    ("line", "/line"),
    ("source_line", "/source_line"),
    ("id", "/id"),
    ("error_code", "/error/code"),
    ("error_message", "/error/message"),
    ("lang", "/lang"),
    ("action", "/action"),
    ("confidence", "/confidence"),
    ("responder", "/responder"),
    ("channel", "/channel"),
    ("respond_within_minutes", "/respond_within_minutes"),
    ("priority", "/priority"),
    ("rule", "/rule"),
    ("needs_review", "/needs_review"),
    ("intent", "/intent/label"),
    ("intent_confidence", "/intent/confidence"),
    ("sentiment", "/sentiment/label"),
    ("sentiment_confidence", "/sentiment/confidence"),
    ("score_question", "/scores/intent/question"),
    ("score_request", "/scores/intent/request"),
    ("score_complaint", "/scores/intent/complaint"),
    ("score_praise", "/scores/intent/praise"),
    ("score_misinformation", "/scores/intent/misinformation"),
    ("score_troll", "/scores/intent/troll"),
    ("score_abuse", "/scores/intent/abuse"),
    ("score_spam", "/scores/intent/spam"),
    ("score_other", "/scores/intent/other"),
    ("score_negative", "/scores/sentiment/negative"),
    ("score_neutral", "/scores/sentiment/neutral"),
    ("score_positive", "/scores/sentiment/positive"),
    ("score_abusive", "/scores/abusive"),
    ("reasons", "/reasons"),
    ("guideline", "/guideline"),
    ("reply_text", "/reply/text"),
    ("reply_template", "/reply/template"),
    ("tokens", "/tokens"),
    ("truncated", "/truncated"),
];

pub fn csv_header() -> Vec<&'static str> {
    CSV_COLUMNS.iter().map(|(name, _)| *name).collect()
}

/// A JSON value as one CSV cell: strings as they are, `null` empty, lists joined by " | ".
fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(" | "),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::input::ErrorCode;

    #[test]
    fn an_error_record_names_line_id_and_code() {
        let answer = Answer {
            line: 7,
            source_line: None,
            offset: 0,
            outcome: Err(LineError {
                code: ErrorCode::EmptyText,
                message: "the text is empty".into(),
                id: Some("c-7".into()),
            }),
        };
        let mut json = Vec::new();
        answer.write_json(&mut json);
        assert_eq!(
            String::from_utf8(json).unwrap(),
            "{\"line\":7,\"id\":\"c-7\",\"error\":{\"code\":\"empty_text\",\"message\":\"the text is empty\"}}\n"
        );
        let row = answer.to_csv_row();
        assert_eq!(row.len(), csv_header().len());
        assert_eq!(
            &row[..5],
            ["7", "7", "c-7", "empty_text", "the text is empty"]
        );
        assert!(row[5..].iter().all(String::is_empty));
    }
}
