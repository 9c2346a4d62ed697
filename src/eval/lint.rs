//! `tact lint --eval`: measures the reply linter on labelled draft replies
//! (`datasets/replies/`): precision, recall and support of each kind per language and over
//! all, and how often each part of RSR is judged as labelled. Records belong to the same
//! train / calibration / test splits as every other labelled record (a hash of the id,
//! [`crate::data::split_of`]); the phrase lists are tuned on train and calibration only.

use crate::data::{split_of, Split};
use crate::labels::{Intent, Lang};
use crate::playbook::lint::{Draft, Kind, Linter, ReplyScores, Rsr};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One labelled draft reply (format in `datasets/replies/README.md`).
#[derive(Debug, Clone, Deserialize)]
pub struct ReplyRecord {
    pub id: String,
    /// The comment's language: the reply must be in it.
    pub lang: Lang,
    pub comment: String,
    pub comment_intent: Intent,
    pub reply: String,
    pub kinds: Vec<Kind>,
    /// The words of the reply that break each kind (by kind name).
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
    pub rsr: Rsr,
}

/// Reads the records of `paths` (files, or folders whose `*.jsonl` are read), keeping those
/// of `split`; a line that does not parse is an error naming file and line.
pub fn read_records(
    paths: &[impl AsRef<Path>],
    split: Option<Split>,
) -> Result<Vec<ReplyRecord>, String> {
    let mut files = Vec::new();
    for path in paths {
        let path = path.as_ref();
        if path.is_dir() {
            let mut found: Vec<_> = std::fs::read_dir(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.to_path_buf());
        }
    }
    let mut records = Vec::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let record: ReplyRecord = serde_json::from_str(line)
                .map_err(|e| format!("{} line {}: {e}", file.display(), i + 1))?;
            if split.is_none_or(|s| split_of(&record.id) == s) {
                records.push(record);
            }
        }
    }
    Ok(records)
}

/// Counts of one kind in one group of records.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct KindCounts {
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
}

impl KindCounts {
    /// Records labelled with the kind.
    pub fn support(&self) -> usize {
        self.true_positives + self.false_negatives
    }

    pub fn precision(&self) -> Option<f64> {
        let fired = self.true_positives + self.false_positives;
        (fired > 0).then(|| self.true_positives as f64 / fired as f64)
    }

    pub fn recall(&self) -> Option<f64> {
        let support = self.support();
        (support > 0).then(|| self.true_positives as f64 / support as f64)
    }
}

/// The figures of one group (a language, or all).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Group {
    pub records: usize,
    pub kinds: BTreeMap<Kind, KindCounts>,
    /// Share of records whose `rsr` part is judged as labelled.
    pub rsr_respond: f64,
    pub rsr_apologise: f64,
    pub rsr_resolve: f64,
    /// Records with every kind right (nothing missed, nothing extra).
    pub exact: usize,
}

/// What `--eval` measures: each language and all together, and the records it got wrong.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Measured {
    pub split: Option<Split>,
    pub by_lang: BTreeMap<Lang, Group>,
    pub all: Group,
    /// Every record whose kinds differ from its labels, in input order: where to look when a
    /// phrase list or a threshold is tuned (on the train or calibration split).
    pub wrong: Vec<WrongRecord>,
}

/// A record the linter judged otherwise than its labels.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WrongRecord {
    pub id: String,
    /// Labelled kinds the linter did not find.
    pub missed: Vec<Kind>,
    /// Kinds the linter found that are not labelled.
    pub extra: Vec<Kind>,
}

#[derive(Default)]
struct Tally {
    group: Group,
    rsr_hits: [usize; 3],
}

impl Tally {
    fn add(&mut self, gold: &[Kind], found: &[Kind], gold_rsr: Rsr, rsr: Rsr) {
        self.group.records += 1;
        for &kind in Kind::ALL {
            let counts = self.group.kinds.entry(kind).or_default();
            match (gold.contains(&kind), found.contains(&kind)) {
                (true, true) => counts.true_positives += 1,
                (false, true) => counts.false_positives += 1,
                (true, false) => counts.false_negatives += 1,
                (false, false) => {}
            }
        }
        if Kind::ALL
            .iter()
            .all(|k| gold.contains(k) == found.contains(k))
        {
            self.group.exact += 1;
        }
        self.rsr_hits[0] += usize::from(gold_rsr.respond == rsr.respond);
        self.rsr_hits[1] += usize::from(gold_rsr.apologise == rsr.apologise);
        self.rsr_hits[2] += usize::from(gold_rsr.resolve == rsr.resolve);
    }

    fn finish(mut self) -> Group {
        let n = self.group.records.max(1) as f64;
        self.group.rsr_respond = self.rsr_hits[0] as f64 / n;
        self.group.rsr_apologise = self.rsr_hits[1] as f64 / n;
        self.group.rsr_resolve = self.rsr_hits[2] as f64 / n;
        self.group
    }
}

/// Lints every record as a moderator's draft under its comment (with the comment's labelled
/// intent and language, and the model's scores of the reply when given, one per record) and
/// compares the findings' kinds with the labels.
pub fn evaluate(
    linter: &Linter,
    records: &[ReplyRecord],
    scores: Option<&[ReplyScores]>,
    split: Option<Split>,
) -> Measured {
    let mut all = Tally::default();
    let mut by_lang: BTreeMap<Lang, Tally> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (i, record) in records.iter().enumerate() {
        let report = linter.lint(&Draft {
            reply: &record.reply,
            comment: Some(&record.comment),
            intent: Some(record.comment_intent),
            lang: Some(record.lang),
            scores: scores.map(|s| &s[i]),
        });
        let mut found: Vec<Kind> = report.findings.iter().map(|f| f.kind).collect();
        found.dedup();
        all.add(&record.kinds, &found, record.rsr, report.rsr);
        by_lang
            .entry(record.lang)
            .or_default()
            .add(&record.kinds, &found, record.rsr, report.rsr);
        let missed: Vec<Kind> = (record.kinds.iter())
            .filter(|k| !found.contains(k))
            .copied()
            .collect();
        let extra: Vec<Kind> = (found.iter())
            .filter(|k| !record.kinds.contains(k))
            .copied()
            .collect();
        if !missed.is_empty() || !extra.is_empty() {
            wrong.push(WrongRecord {
                id: record.id.clone(),
                missed,
                extra,
            });
        }
    }
    Measured {
        split,
        by_lang: by_lang.into_iter().map(|(l, t)| (l, t.finish())).collect(),
        all: all.finish(),
        wrong,
    }
}

fn figure(value: Option<f64>) -> String {
    value.map_or("—".to_string(), |v| format!("{v:.2}"))
}

impl Measured {
    /// The table of README's linter section: precision / recall (support) per kind and
    /// language, then RSR agreement.
    pub fn table(&self) -> String {
        let mut groups: Vec<(String, &Group)> = self
            .by_lang
            .iter()
            .map(|(l, g)| (l.to_string(), g))
            .collect();
        groups.push(("all".to_string(), &self.all));
        let mut out = String::from("| kind |");
        for (name, group) in &groups {
            out.push_str(&format!(" {name} (n={}) |", group.records));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(groups.len()));
        out.push('\n');
        for &kind in Kind::ALL {
            out.push_str(&format!("| `{kind}` |"));
            for (_, group) in &groups {
                let c = group.kinds.get(&kind).copied().unwrap_or_default();
                out.push_str(&format!(
                    " {} / {} ({}) |",
                    figure(c.precision()),
                    figure(c.recall()),
                    c.support()
                ));
            }
            out.push('\n');
        }
        for (label, pick) in [
            (
                "rsr respond",
                (|g: &Group| g.rsr_respond) as fn(&Group) -> f64,
            ),
            ("rsr apologise", |g: &Group| g.rsr_apologise),
            ("rsr resolve", |g: &Group| g.rsr_resolve),
            ("all kinds right", |g: &Group| {
                g.exact as f64 / g.records.max(1) as f64
            }),
        ] {
            out.push_str(&format!("| {label} |"));
            for (_, group) in &groups {
                out.push_str(&format!(" {:.2} |", pick(group)));
            }
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::Policy;

    fn record(reply: &str, kinds: Vec<Kind>) -> ReplyRecord {
        ReplyRecord {
            id: "reply-en-1".into(),
            lang: Lang::En,
            comment: "My parcel never arrived and nobody answers the phone.".into(),
            comment_intent: Intent::Complaint,
            reply: reply.into(),
            kinds,
            evidence: BTreeMap::new(),
            rsr: Rsr {
                respond: true,
                apologise: true,
                resolve: false,
            },
        }
    }

    #[test]
    fn counts_hits_misses_and_false_alarms_per_kind() {
        let linter = Policy::default_policy().linter();
        let records = [
            // Caught: missing_next_step; missed nothing else.
            record("Sorry to hear that.", vec![Kind::MissingNextStep]),
            // A false alarm: labelled good, but it has no next step.
            record("We're sorry about this.", vec![]),
        ];
        let measured = evaluate(&linter, &records, None, None);
        let c = measured.all.kinds[&Kind::MissingNextStep];
        assert_eq!(
            (c.true_positives, c.false_positives, c.false_negatives),
            (1, 1, 0)
        );
        assert_eq!(c.precision(), Some(0.5));
        assert_eq!(c.recall(), Some(1.0));
        assert_eq!(measured.by_lang[&Lang::En].records, 2);
        assert_eq!(measured.all.exact, 1);
        assert_eq!(
            measured.wrong,
            [WrongRecord {
                id: "reply-en-1".into(),
                missed: vec![],
                extra: vec![Kind::MissingNextStep],
            }]
        );
        assert!(measured
            .table()
            .contains("| `missing_next_step` | 0.50 / 1.00 (1) |"));
    }

    #[test]
    fn the_models_scores_of_each_reply_are_used_when_given() {
        let linter = Policy::default_policy().linter();
        let reply = "Sorry about that. We will send a courier tomorrow morning.";
        let records = [record(reply, vec![Kind::Dismissive])];
        let sure = ReplyScores {
            negative: 0.1,
            abusive: 0.0,
            sentences: crate::playbook::lint::sentences(reply)
                .into_iter()
                .map(|span| crate::playbook::lint::SentenceFaults {
                    span,
                    faults: vec![(Kind::Dismissive, 0.9)],
                })
                .collect(),
        };
        let without = evaluate(&linter, &records, None, None);
        assert_eq!(without.all.kinds[&Kind::Dismissive].false_negatives, 1);
        let with = evaluate(&linter, &records, Some(&[sure]), None);
        assert_eq!(with.all.kinds[&Kind::Dismissive].true_positives, 1);
    }

    /// The committed set is well formed: unique ids, languages as named, each kind's
    /// evidence a substring of the reply, at most two kinds per reply.
    #[test]
    fn the_labelled_replies_are_well_formed() {
        let records = read_records(&[Path::new("datasets/replies")], None).unwrap();
        assert!(records.len() >= 240, "{} records", records.len());
        let mut ids = std::collections::HashSet::new();
        for r in &records {
            assert!(ids.insert(r.id.clone()), "{}: duplicate id", r.id);
            assert!(r.id.starts_with(&format!("reply-{}-", r.lang)), "{}", r.id);
            assert!(r.kinds.len() <= 2, "{}: {:?}", r.id, r.kinds);
            for (kind, quote) in &r.evidence {
                let kind = Kind::parse(kind).unwrap_or_else(|| panic!("{}: kind {kind}", r.id));
                assert!(r.kinds.contains(&kind), "{}: evidence for {kind}", r.id);
                assert!(
                    r.reply.contains(quote.as_str()),
                    "{}: {kind} evidence",
                    r.id
                );
            }
        }
    }

    #[test]
    fn reads_only_the_split_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("en.jsonl");
        let lines: Vec<String> = (1..=40)
            .map(|i| {
                format!(
                    r#"{{"id":"reply-en-{i:04}","lang":"en","comment":"c","comment_intent":"question","reply":"r","kinds":[],"rsr":{{"respond":true,"apologise":false,"resolve":true}}}}"#
                )
            })
            .collect();
        std::fs::write(&path, lines.join("\n")).unwrap();
        let test = read_records(&[dir.path()], Some(Split::Test)).unwrap();
        assert!(test.iter().all(|r| split_of(&r.id) == Split::Test));
        assert_eq!(read_records(&[&path], None).unwrap().len(), 40);
        std::fs::write(&path, "{not json").unwrap();
        let error = read_records(&[&path], None).unwrap_err();
        assert!(error.contains("en.jsonl line 1"), "{error}");
    }
}
