//! What a run did, printed on stderr at the end: lines answered, decisions, errors by code,
//! decisions by action and by language, and the speed.

use super::answer::Answer;
use super::audit::AuditTally;
use super::input::ErrorCode;
use crate::labels::{Action, Lang};
use std::collections::BTreeMap;
use std::fmt;

/// Counts over the answers written by this run.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    pub lines: u64,
    pub decided: u64,
    /// Decided on the beginning of a text longer than the token limit.
    pub truncated: u64,
    pub errors_by_code: BTreeMap<ErrorCode, u64>,
    pub actions: BTreeMap<Action, u64>,
    pub languages: BTreeMap<Lang, u64>,
}

impl Tally {
    pub fn count(&mut self, answer: &Answer) {
        self.lines += 1;
        match &answer.outcome {
            Ok(decided) => {
                self.decided += 1;
                self.truncated += u64::from(decided.truncated);
                *self.actions.entry(decided.decision.action).or_default() += 1;
                *self.languages.entry(decided.decision.lang).or_default() += 1;
            }
            Err(e) => *self.errors_by_code.entry(e.code).or_default() += 1,
        }
    }

    pub fn errors(&self) -> u64 {
        self.errors_by_code.values().sum()
    }
}

/// The end-of-run report.
#[derive(Debug, Clone)]
pub struct Summary {
    pub tally: Tally,
    /// Lines already answered by an earlier run (`--resume`); this run started after them.
    pub resumed_after: u64,
    /// The first line this output answers (a shard's; 1 otherwise).
    pub first_line: u64,
    /// Seconds spent loading the model, before the first line was read.
    pub load_secs: f64,
    /// Seconds from the first line read to the last answer written.
    pub run_secs: f64,
    /// What went to the store (`--store`).
    pub stored: Option<AuditTally>,
}

impl Summary {
    /// Decided texts per second of the run (reading, model and writing overlap in it).
    pub fn texts_per_s(&self) -> f64 {
        self.tally.decided as f64 / self.run_secs.max(1e-9)
    }
}

fn counts<K: fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    if map.is_empty() {
        return "none".to_string();
    }
    // Largest first, so the eye finds what matters; ties in label order.
    let mut items: Vec<(&K, &u64)> = map.iter().collect();
    items.sort_by(|a, b| b.1.cmp(a.1));
    items
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.tally;
        let first = self.first_line + self.resumed_after;
        let last = first + t.lines - u64::from(t.lines > 0);
        writeln!(f, "tact score summary")?;
        if self.resumed_after > 0 {
            writeln!(
                f,
                "  resumed    lines {}-{} were already answered",
                self.first_line,
                first - 1
            )?;
        }
        if t.lines == 0 {
            writeln!(f, "  lines      0 (nothing left to answer)")?;
        } else {
            writeln!(f, "  lines      {} (lines {first}-{last})", t.lines)?;
        }
        writeln!(
            f,
            "  decided    {} ({} on a truncated text)",
            t.decided, t.truncated
        )?;
        writeln!(
            f,
            "  errors     {} ({})",
            t.errors(),
            counts(&t.errors_by_code)
        )?;
        writeln!(f, "  actions    {}", counts(&t.actions))?;
        writeln!(f, "  languages  {}", counts(&t.languages))?;
        if let Some(stored) = &self.stored {
            writeln!(
                f,
                "  store      {} decisions recorded, {} already there ({})",
                stored.recorded, stored.already_there, stored.store
            )?;
        }
        write!(
            f,
            "  speed      {:.1} texts/s ({} decided in {:.1} s; model loaded in {:.1} s before)",
            self.texts_per_s(),
            t.decided,
            self.run_secs,
            self.load_secs
        )
    }
}
