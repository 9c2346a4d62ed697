//! `tact eval`: measures the model and the playbook on labelled records (SPEC §5).
//!
//! Each metric counts only the records that carry its label. Sentiment and intent get
//! accuracy and macro-F1 (intent also a confusion matrix); each binary label gets precision,
//! recall and F1 at 0.5 and ROC-AUC of the probability that answers it
//! ([`crate::data::intents_for_label`], `abusive` from its own head); actions come from the
//! playbook, thread included, in the language tact detects (as serving does for a comment
//! without `lang`); ECE measures calibration. Everything is also given per language (and per
//! source where sources differ in what a label means). The decisions' own figures (automation
//! curve, confidence calibration, per-action precision and recall) are in [`decisions`]; the
//! HTML report of `--report` (bootstrap intervals, plots, a baseline beside the model) in
//! [`report`].

pub mod decisions;
pub mod lint;
pub mod report;

use crate::comment::Scores;
use crate::data::{intents_for_label, Record, CORPUS_LABELS};
use crate::labels::{Intent, Lang, Sentiment};
use crate::playbook::Playbook;
use decisions::{ActionSection, DecisionRow, Detection};
use serde::Serialize;
use std::collections::BTreeMap;

/// Scores for one record, from the model (directly or through the embedding cache).
pub struct Scored<'a> {
    pub record: &'a Record,
    pub scores: Scores,
}

#[derive(Debug, Serialize)]
pub struct ClassMetrics {
    pub n: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
}

#[derive(Debug, Serialize)]
pub struct ClassSection {
    #[serde(flatten)]
    pub all: ClassMetrics,
    pub by_lang: BTreeMap<Lang, ClassMetrics>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_source: BTreeMap<String, ClassMetrics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confusion: Option<BTreeMap<String, BTreeMap<String, usize>>>,
}

#[derive(Debug, Serialize)]
pub struct BinaryMetrics {
    pub n: usize,
    pub positives: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// `null` when the records hold only one class.
    pub auc: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct BinarySection {
    #[serde(flatten)]
    pub all: BinaryMetrics,
    pub by_lang: BTreeMap<Lang, BinaryMetrics>,
    pub by_source: BTreeMap<String, BinaryMetrics>,
}

#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub records: usize,
    pub skipped_lines: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<ClassSection>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, BinarySection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<ClassSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<ActionSection>,
    /// Language detection against the records' languages, keyed "bg latin", "ro latin", ….
    pub language_detection: BTreeMap<String, Detection>,
    /// Expected calibration error of the top intent and top sentiment (10 equal-width bins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ece: Option<f64>,
    pub texts_per_second: f64,
    /// The figures of `--report`, intervals and baseline comparison included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<report::Figures>,
}

fn class_metrics(pairs: &[(usize, usize)]) -> ClassMetrics {
    let n = pairs.len();
    let correct = pairs.iter().filter(|(g, p)| g == p).count();
    // Macro-F1 over the classes that occur as gold or prediction (as scikit-learn does).
    let mut classes: Vec<usize> = pairs.iter().flat_map(|&(g, p)| [g, p]).collect();
    classes.sort_unstable();
    classes.dedup();
    let f1s: Vec<f64> = classes
        .iter()
        .map(|&c| {
            let tp = pairs.iter().filter(|&&(g, p)| g == c && p == c).count() as f64;
            let fp = pairs.iter().filter(|&&(g, p)| g != c && p == c).count() as f64;
            let fn_ = pairs.iter().filter(|&&(g, p)| g == c && p != c).count() as f64;
            if tp == 0.0 {
                0.0
            } else {
                2.0 * tp / (2.0 * tp + fp + fn_)
            }
        })
        .collect();
    ClassMetrics {
        n,
        accuracy: ratio(correct as f64, n as f64),
        macro_f1: if f1s.is_empty() {
            0.0
        } else {
            f1s.iter().sum::<f64>() / f1s.len() as f64
        },
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        0.0
    } else {
        a / b
    }
}

/// ROC-AUC by the rank-sum formula, ties averaged; `None` when one class is absent.
pub fn roc_auc(items: &[(bool, f32)]) -> Option<f64> {
    let pos = items.iter().filter(|(y, _)| *y).count();
    let neg = items.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    let mut sorted: Vec<(bool, f32)> = items.to_vec();
    sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].1 == sorted[i].1 {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // ranks i+1..=j
        rank_sum += avg_rank * sorted[i..j].iter().filter(|(y, _)| *y).count() as f64;
        i = j;
    }
    Some((rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos * neg) as f64)
}

/// Precision, recall and F1 of "probability ≥ 0.5" against the labels.
fn f1_at_half(items: &[(bool, f32)]) -> (f64, f64, f64) {
    let tp = items.iter().filter(|(y, p)| *y && *p >= 0.5).count() as f64;
    let fp = items.iter().filter(|(y, p)| !*y && *p >= 0.5).count() as f64;
    let positives = items.iter().filter(|(y, _)| *y).count() as f64;
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, positives);
    (
        precision,
        recall,
        ratio(2.0 * precision * recall, precision + recall),
    )
}

fn binary_metrics(items: &[(bool, f32)]) -> BinaryMetrics {
    let (precision, recall, f1) = f1_at_half(items);
    BinaryMetrics {
        n: items.len(),
        positives: items.iter().filter(|(y, _)| *y).count(),
        precision,
        recall,
        f1,
        auc: roc_auc(items),
    }
}

/// One of ten equal-width confidence bins: how many predictions fell in it, their mean
/// confidence and the share of them that was right.
#[derive(Debug, Clone, Serialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub n: usize,
    pub confidence: f64,
    pub accuracy: f64,
}

/// (confidence, correct) pairs in ten equal-width bins (a confidence of 1 goes in the last).
pub fn reliability(items: &[(f32, bool)]) -> Vec<ReliabilityBin> {
    let mut sums = [(0.0f64, 0.0f64, 0usize); 10];
    for &(c, ok) in items {
        let b = ((c * 10.0) as usize).min(9);
        sums[b].0 += c as f64;
        sums[b].1 += ok as u8 as f64;
        sums[b].2 += 1;
    }
    sums.iter()
        .enumerate()
        .map(|(i, &(confidence, right, n))| ReliabilityBin {
            lower: i as f64 / 10.0,
            upper: (i + 1) as f64 / 10.0,
            n,
            confidence: ratio(confidence, n as f64),
            accuracy: ratio(right, n as f64),
        })
        .collect()
}

/// Expected calibration error over (confidence, correct) pairs, 10 equal-width bins.
pub fn ece(items: &[(f32, bool)]) -> f64 {
    let n = items.len() as f64;
    reliability(items)
        .iter()
        .map(|b| ratio(b.n as f64, n) * (b.confidence - b.accuracy).abs())
        .sum()
}

fn group<K: Ord + Clone, T: Clone>(items: &[(K, T)]) -> BTreeMap<K, Vec<T>> {
    let mut m: BTreeMap<K, Vec<T>> = BTreeMap::new();
    for (k, t) in items {
        m.entry(k.clone()).or_default().push(t.clone());
    }
    m
}

/// One scored record for a class head: language, source, gold class, predicted class.
type ClassRow = (Lang, String, usize, usize);
/// One scored record for a binary label: language, source, (gold, probability).
type BinaryRow = (Lang, String, (bool, f32));

fn class_section(rows: &[ClassRow], names: &[&str], with_confusion: bool) -> Option<ClassSection> {
    if rows.is_empty() {
        return None;
    }
    let pairs: Vec<(usize, usize)> = rows.iter().map(|r| (r.2, r.3)).collect();
    let by = |key: &dyn Fn(&ClassRow) -> String| {
        group(
            &rows
                .iter()
                .map(|r| (key(r), (r.2, r.3)))
                .collect::<Vec<_>>(),
        )
    };
    let confusion = with_confusion.then(|| {
        let mut m: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
        for &(g, p) in &pairs {
            *m.entry(names[g].to_string())
                .or_default()
                .entry(names[p].to_string())
                .or_default() += 1;
        }
        m
    });
    let by_lang = group(&rows.iter().map(|r| (r.0, (r.2, r.3))).collect::<Vec<_>>());
    Some(ClassSection {
        all: class_metrics(&pairs),
        by_lang: by_lang
            .iter()
            .map(|(l, p)| (*l, class_metrics(p)))
            .collect(),
        by_source: by(&|r| r.1.clone())
            .iter()
            .map(|(s, p)| (s.clone(), class_metrics(p)))
            .collect(),
        confusion,
    })
}

/// Computes every metric the records allow, and one row per record that carries an action.
/// `playbook` decides those records; `seconds` is the time spent producing the scores.
pub fn evaluate(
    scored: &[Scored],
    skipped_lines: usize,
    playbook: &Playbook,
    seconds: f64,
) -> (EvalReport, Vec<DecisionRow>) {
    let mut sentiment_rows = Vec::new();
    let mut intent_rows = Vec::new();
    let mut calibration = Vec::new();
    let mut binary: BTreeMap<String, Vec<BinaryRow>> = BTreeMap::new();
    let mut rows: Vec<DecisionRow> = Vec::new();
    let mut detected: Vec<(Lang, Lang, &str)> = Vec::new();
    for s in scored {
        let r = s.record;
        let lang = crate::lang::detect(&r.text);
        detected.push((r.lang, lang, &r.text));
        if let Some(gold) = r.sentiment {
            let (pred, conf) = s.scores.top_sentiment();
            sentiment_rows.push((r.lang, r.source.clone(), gold.index(), pred.index()));
            calibration.push((conf, pred == gold));
        }
        if let Some(gold) = r.intent {
            let (pred, conf) = s.scores.top_intent();
            intent_rows.push((r.lang, r.source.clone(), gold.index(), pred.index()));
            calibration.push((conf, pred == gold));
        }
        for (label, &y) in &r.labels {
            let corpus = CORPUS_LABELS.iter().position(|l| l == label);
            let p = if label == "abusive" {
                s.scores.abusive
            } else if let (Some(k), Some(labels)) = (corpus, s.scores.labels) {
                labels[k]
            } else if let Some(intents) = intents_for_label(label) {
                intents.iter().map(|&i| s.scores.intent_of(i)).sum()
            } else {
                continue;
            };
            binary
                .entry(label.clone())
                .or_default()
                .push((r.lang, r.source.clone(), (y == 1, p)));
        }
        if let Some(gold) = r.action {
            let comment = r.comment();
            let decision = playbook.decide(&comment, lang, &s.scores);
            rows.push(DecisionRow {
                id: r.id.clone(),
                source: r.source.clone(),
                lang: r.lang,
                gold,
                follow_up: crate::playbook::History::from_thread(&r.thread).brand_answers > 0,
                text: r.text.clone(),
                decision,
            });
        }
    }
    let intent_names: Vec<&str> = Intent::ALL.iter().map(|i| i.as_str()).collect();
    let sentiment_names: Vec<&str> = Sentiment::ALL.iter().map(|s| s.as_str()).collect();
    let labels = binary
        .into_iter()
        .map(|(label, rows)| {
            let items: Vec<(bool, f32)> = rows.iter().map(|r| r.2).collect();
            let by_lang = group(&rows.iter().map(|r| (r.0, r.2)).collect::<Vec<_>>());
            let by_source = group(&rows.iter().map(|r| (r.1.clone(), r.2)).collect::<Vec<_>>());
            let section = BinarySection {
                all: binary_metrics(&items),
                by_lang: by_lang
                    .iter()
                    .map(|(l, i)| (*l, binary_metrics(i)))
                    .collect(),
                by_source: by_source
                    .iter()
                    .map(|(s, i)| (s.clone(), binary_metrics(i)))
                    .collect(),
            };
            (label, section)
        })
        .collect();
    let sentiment = class_section(&sentiment_rows, &sentiment_names, false);
    let report = EvalReport {
        records: scored.len(),
        skipped_lines,
        sentiment,
        labels,
        intent: class_section(&intent_rows, &intent_names, true),
        action: decisions::action_section(&rows),
        language_detection: decisions::detection_section(&detected),
        ece: (!calibration.is_empty()).then(|| ece(&calibration)),
        texts_per_second: ratio(scored.len() as f64, seconds),
        report: None,
    };
    (report, rows)
}

impl EvalReport {
    /// Aligned tables for people.
    pub fn print_tables(&self) {
        println!(
            "records: {} (skipped lines: {})",
            self.records, self.skipped_lines
        );
        let langs = |m: &BTreeMap<Lang, ClassMetrics>| {
            for (l, c) in m {
                println!(
                    "  {:<28} {:>7} {:>9.3} {:>9.3}",
                    format!("lang {l}"),
                    c.n,
                    c.accuracy,
                    c.macro_f1
                );
            }
        };
        for (name, section) in [("sentiment", &self.sentiment), ("intent", &self.intent)] {
            if let Some(s) = section {
                println!(
                    "\n{:<30} {:>7} {:>9} {:>9}",
                    name, "n", "accuracy", "macro-F1"
                );
                println!(
                    "  {:<28} {:>7} {:>9.3} {:>9.3}",
                    "all", s.all.n, s.all.accuracy, s.all.macro_f1
                );
                langs(&s.by_lang);
                for (src, c) in s.by_source.iter().filter(|_| s.by_source.len() > 1) {
                    println!(
                        "  {:<28} {:>7} {:>9.3} {:>9.3}",
                        src, c.n, c.accuracy, c.macro_f1
                    );
                }
            }
        }
        if let Some(conf) = self.intent.as_ref().and_then(|s| s.confusion.as_ref()) {
            println!("\nintent confusion (rows gold, columns predicted)");
            print!("{:<15}", "");
            Intent::ALL
                .iter()
                .for_each(|i| print!("{:>7.6}", i.as_str()));
            println!();
            for g in Intent::ALL {
                print!("{:<15}", g.as_str());
                for p in Intent::ALL {
                    let n = conf
                        .get(g.as_str())
                        .and_then(|r| r.get(p.as_str()))
                        .copied()
                        .unwrap_or(0);
                    print!("{n:>7}");
                }
                println!();
            }
        }
        if !self.labels.is_empty() {
            println!(
                "\n{:<30} {:>7} {:>6} {:>9} {:>7} {:>7} {:>7}",
                "label", "n", "pos", "precision", "recall", "F1", "AUC"
            );
            let row = |name: &str, b: &BinaryMetrics| {
                let auc = b.auc.map_or("-".to_string(), |a| format!("{a:.3}"));
                println!(
                    "{:<30} {:>7} {:>6} {:>9.3} {:>7.3} {:>7.3} {:>7}",
                    name, b.n, b.positives, b.precision, b.recall, b.f1, auc
                );
            };
            for (label, s) in &self.labels {
                row(label, &s.all);
                s.by_lang
                    .iter()
                    .for_each(|(l, b)| row(&format!("  lang {l}"), b));
                s.by_source
                    .iter()
                    .filter(|_| s.by_source.len() > 1)
                    .for_each(|(src, b)| row(&format!("  {src}"), b));
            }
        }
        if let Some(a) = &self.action {
            decisions::print_action_tables(a);
        }
        if !self.language_detection.is_empty() {
            decisions::print_detection_table(&self.language_detection);
        }
        if let Some(e) = self.ece {
            println!("\nexpected calibration error (top intent + top sentiment): {e:.3}");
        }
        println!("texts/s: {:.1}", self.texts_per_second);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_a_perfect_and_a_useless_ranking() {
        assert_eq!(
            roc_auc(&[(false, 0.1), (true, 0.9), (false, 0.2), (true, 0.8)]),
            Some(1.0)
        );
        assert_eq!(roc_auc(&[(false, 0.5), (true, 0.5)]), Some(0.5));
        assert_eq!(roc_auc(&[(true, 0.5)]), None);
    }

    #[test]
    fn macro_f1_averages_over_seen_classes() {
        // gold 0,0,1,1 ; pred 0,1,1,1 → class0 F1 = 2/3, class1 F1 = 0.8
        let m = class_metrics(&[(0, 0), (0, 1), (1, 1), (1, 1)]);
        assert_eq!(m.accuracy, 0.75);
        assert!((m.macro_f1 - (2.0 / 3.0 + 0.8) / 2.0).abs() < 1e-9);
    }

    #[test]
    fn ece_is_zero_when_confidence_matches_accuracy() {
        let items: Vec<(f32, bool)> = (0..10).map(|i| (0.85, i < 8 || i == 9)).collect(); // 90% right at 0.85
        assert!((ece(&items) - 0.05).abs() < 1e-6);
        assert_eq!(ece(&[(1.0, true)]), 0.0);
    }
}
