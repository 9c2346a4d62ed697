//! `tact eval --report DIR`: the report's figures and writing them out. This module owns what
//! each record came to ([`Outcome`]), the figures computed from those outcomes ([`Figures`]:
//! a summary per language and per source with bootstrap intervals, confusion matrices,
//! reliability bins, automation curves, the worst confusions), and the report folder
//! (`index.html` and its SVG images). [`bootstrap`] draws the intervals, [`plots`] the images,
//! [`html`] the page. With a baseline, both models' outcomes are over the same records, in the
//! same order, so each resample compares them on the same comments.

pub mod bootstrap;
mod html;
mod plots;

use super::decisions::{automation, Automation, DecisionRow};
use super::{reliability, ReliabilityBin, Scored};
use crate::data::Record;
use crate::labels::{Action, Intent};
use bootstrap::Figure;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing the report: {0}")]
    Io(#[from] std::io::Error),
    #[error("drawing a plot: {0}")]
    Plot(#[from] plotters::drawing::DrawingAreaErrorKind<std::io::Error>),
    #[error("the baseline was measured on {baseline} records, the model on {model}")]
    Mismatch { model: usize, baseline: usize },
}

/// A top prediction beside its gold label (indices into the label set).
#[derive(Debug, Clone, Copy)]
pub struct Pick {
    pub gold: usize,
    pub predicted: usize,
    pub confidence: f32,
}

impl Pick {
    pub fn right(&self) -> bool {
        self.gold == self.predicted
    }
}

/// What one labelled record came to under one model: each labelled task's prediction.
#[derive(Clone)]
pub struct Outcome<'a> {
    pub record: &'a Record,
    pub intent: Option<Pick>,
    pub sentiment: Option<Pick>,
    /// Gold `abusive` label and the abusive head's probability.
    pub abusive: Option<(bool, f32)>,
    pub decision: Option<&'a DecisionRow>,
}

/// Pairs each scored record with its decision row; `rows` are those [`super::evaluate`]
/// returned for `scored`: one per record with a gold action, in the records' order.
pub fn outcomes<'a>(scored: &'a [Scored], rows: &'a [DecisionRow]) -> Vec<Outcome<'a>> {
    let mut rows = rows.iter();
    scored
        .iter()
        .map(|s| {
            let r = s.record;
            let intent = r.intent.map(|gold| {
                let (predicted, confidence) = s.scores.top_intent();
                Pick {
                    gold: gold.index(),
                    predicted: predicted.index(),
                    confidence,
                }
            });
            let sentiment = r.sentiment.map(|gold| {
                let (predicted, confidence) = s.scores.top_sentiment();
                Pick {
                    gold: gold.index(),
                    predicted: predicted.index(),
                    confidence,
                }
            });
            Outcome {
                record: r,
                intent,
                sentiment,
                abusive: r.labels.get("abusive").map(|&y| (y == 1, s.scores.abusive)),
                decision: r.action.and_then(|_| rows.next()),
            }
        })
        .collect()
}

/// How the figures are drawn and what the report may show.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub seed: u64,
    pub resamples: usize,
    /// Example texts in the worst confusions; `false` keeps every record text out.
    pub texts: bool,
}

/// Records of a group and each figure of [`bootstrap::Metric`] with its interval.
#[derive(Debug, Serialize)]
pub struct Summary {
    pub records: usize,
    pub metrics: BTreeMap<&'static str, Figure>,
}

/// Counts with gold in rows and the prediction in columns, over the whole label set.
#[derive(Debug, Serialize)]
pub struct Matrix {
    pub labels: Vec<&'static str>,
    pub counts: Vec<Vec<usize>>,
}

/// The share decided without review against the accuracy of those decisions, as the
/// confidence threshold moves (steps of 0.01), and the figures at the policy's setting.
#[derive(Debug, Serialize)]
pub struct Curve {
    pub points: Vec<CurvePoint>,
    pub policy: Automation,
}

#[derive(Debug, Serialize)]
pub struct CurvePoint {
    pub threshold: f64,
    pub coverage: f64,
    pub accuracy: f64,
}

/// One model's figures that are drawn: keyed by "all" and each language where grouped.
#[derive(Debug, Serialize)]
pub struct Views {
    pub intent_confusion: BTreeMap<String, Matrix>,
    pub action_confusion: BTreeMap<String, Matrix>,
    /// Keyed "intent", "sentiment" and "decision" (the decision's confidence).
    pub reliability: BTreeMap<&'static str, Vec<ReliabilityBin>>,
    pub automation: BTreeMap<String, Curve>,
}

/// A gold label often taken for another, with a few of its records' texts.
#[derive(Debug, Serialize)]
pub struct Confusion {
    pub task: &'static str,
    pub gold: &'static str,
    pub predicted: &'static str,
    pub count: usize,
    pub examples: Vec<String>,
}

/// Everything the report shows; `--json` prints it under `report`.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub seed: u64,
    pub resamples: usize,
    pub texts: bool,
    /// Keyed "all" and each language.
    pub summary: BTreeMap<String, Summary>,
    pub by_source: BTreeMap<String, Summary>,
    pub model: Views,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Views>,
    pub worst_confusions: Vec<Confusion>,
}

/// Confusions listed per task, and example texts shown per confusion.
const WORST_CONFUSIONS: usize = 5;
const EXAMPLES: usize = 3;
/// Characters of an example text shown.
const EXAMPLE_CHARS: usize = 160;

/// The record indices of "all", of each language, and (second) of each source.
type Groups = (BTreeMap<String, Vec<usize>>, BTreeMap<String, Vec<usize>>);

fn groups(outcomes: &[Outcome]) -> Groups {
    let mut by_lang = BTreeMap::from([("all".to_string(), (0..outcomes.len()).collect())]);
    let mut by_source: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, o) in outcomes.iter().enumerate() {
        let lang: &mut Vec<usize> = by_lang.entry(o.record.lang.to_string()).or_default();
        lang.push(i);
        by_source
            .entry(o.record.source.clone())
            .or_default()
            .push(i);
    }
    (by_lang, by_source)
}

/// Computes every figure of the report; `baseline` holds the baseline model's outcomes on the
/// same records.
pub fn figures(
    model: &[Outcome],
    baseline: Option<&[Outcome]>,
    options: &ReportOptions,
) -> Result<Figures, ReportError> {
    if let Some(b) = baseline.filter(|b| b.len() != model.len()) {
        return Err(ReportError::Mismatch {
            model: model.len(),
            baseline: b.len(),
        });
    }
    let (by_lang, by_source) = groups(model);
    let summarise = |groups: &BTreeMap<String, Vec<usize>>| {
        groups
            .iter()
            .map(|(key, indices)| {
                let metrics = bootstrap::figures(model, baseline, indices, key, options);
                let summary = Summary {
                    records: indices.len(),
                    metrics,
                };
                (key.clone(), summary)
            })
            .collect()
    };
    Ok(Figures {
        seed: options.seed,
        resamples: options.resamples,
        texts: options.texts,
        summary: summarise(&by_lang),
        by_source: summarise(&by_source),
        model: views(model, &by_lang),
        baseline: baseline.map(|b| views(b, &by_lang)),
        worst_confusions: worst_confusions(model, options.texts),
    })
}

fn matrix(labels: Vec<&'static str>, picks: impl Iterator<Item = (usize, usize)>) -> Matrix {
    let mut counts = vec![vec![0; labels.len()]; labels.len()];
    for (gold, predicted) in picks {
        counts[gold][predicted] += 1;
    }
    Matrix { labels, counts }
}

fn intent_names() -> Vec<&'static str> {
    Intent::ALL.iter().map(|i| i.as_str()).collect()
}

fn action_names() -> Vec<&'static str> {
    Action::ALL.iter().map(|a| a.as_str()).collect()
}

fn action_pick(row: &DecisionRow) -> (usize, usize) {
    (row.gold.index(), row.decision.action.index())
}

fn views(outcomes: &[Outcome], groups: &BTreeMap<String, Vec<usize>>) -> Views {
    let mut views = Views {
        intent_confusion: BTreeMap::new(),
        action_confusion: BTreeMap::new(),
        reliability: BTreeMap::new(),
        automation: BTreeMap::new(),
    };
    for (key, indices) in groups {
        let group = || indices.iter().map(|&i| &outcomes[i]);
        let intents = group()
            .filter_map(|o| o.intent)
            .map(|p| (p.gold, p.predicted));
        let rows: Vec<&DecisionRow> = group().filter_map(|o| o.decision).collect();
        if group().any(|o| o.intent.is_some()) {
            let m = matrix(intent_names(), intents);
            views.intent_confusion.insert(key.clone(), m);
        }
        if !rows.is_empty() {
            let m = matrix(action_names(), rows.iter().map(|r| action_pick(r)));
            views.action_confusion.insert(key.clone(), m);
            views.automation.insert(key.clone(), curve(&rows));
        }
    }
    let calibration = |pick: fn(&Outcome) -> Option<Pick>| {
        let items: Vec<(f32, bool)> = outcomes
            .iter()
            .filter_map(pick)
            .map(|p| (p.confidence, p.right()))
            .collect();
        reliability(&items)
    };
    views
        .reliability
        .insert("intent", calibration(|o| o.intent));
    views
        .reliability
        .insert("sentiment", calibration(|o| o.sentiment));
    let decisions: Vec<(f32, bool)> = outcomes
        .iter()
        .filter_map(|o| o.decision)
        .map(|r| (r.decision.confidence as f32, r.right()))
        .collect();
    views
        .reliability
        .insert("decision", reliability(&decisions));
    views
}

fn curve(rows: &[&DecisionRow]) -> Curve {
    let points = (0..=100)
        .filter_map(|step| {
            let threshold = step as f64 / 100.0;
            let kept: Vec<bool> = rows
                .iter()
                .filter(|r| r.decision.confidence >= threshold)
                .map(|r| r.right())
                .collect();
            (!kept.is_empty()).then(|| CurvePoint {
                threshold,
                coverage: kept.len() as f64 / rows.len() as f64,
                accuracy: kept.iter().filter(|&&ok| ok).count() as f64 / kept.len() as f64,
            })
        })
        .collect();
    Curve {
        points,
        policy: automation(rows),
    }
}

/// The largest off-diagonal cells of the intent and action matrices (all languages), each with
/// the first few texts it holds, cut to [`EXAMPLE_CHARS`] (none when `texts` is false).
fn worst_confusions(outcomes: &[Outcome], texts: bool) -> Vec<Confusion> {
    let intent = outcomes
        .iter()
        .filter_map(|o| o.intent.map(|p| ((p.gold, p.predicted), o.record)));
    let action = outcomes
        .iter()
        .filter_map(|o| o.decision.map(|r| (action_pick(r), o.record)));
    let mut worst = cells("intent", &intent_names(), intent, texts);
    worst.extend(cells("action", &action_names(), action, texts));
    worst
}

fn cells<'a>(
    task: &'static str,
    names: &[&'static str],
    picks: impl Iterator<Item = ((usize, usize), &'a Record)>,
    texts: bool,
) -> Vec<Confusion> {
    let mut cells: BTreeMap<(usize, usize), Vec<&Record>> = BTreeMap::new();
    for ((gold, predicted), record) in picks.filter(|((g, p), _)| g != p) {
        cells.entry((gold, predicted)).or_default().push(record);
    }
    let mut sorted: Vec<_> = cells.into_iter().collect();
    // Most frequent first; the stable sort keeps label order among equals.
    sorted.sort_by_key(|(_, records)| std::cmp::Reverse(records.len()));
    sorted
        .into_iter()
        .take(WORST_CONFUSIONS)
        .map(|((gold, predicted), records)| Confusion {
            task,
            gold: names[gold],
            predicted: names[predicted],
            count: records.len(),
            examples: records
                .iter()
                .filter(|_| texts)
                .take(EXAMPLES)
                .map(|r| cut(&r.text))
                .collect(),
        })
        .collect()
}

fn cut(text: &str) -> String {
    match text.char_indices().nth(EXAMPLE_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Writes `dir/index.html` and its images (creating `dir`); the paths written, page last.
pub fn write(dir: &Path, figures: &Figures) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (name, svg) in plots::all(figures)? {
        let path = dir.join(name);
        std::fs::write(&path, svg)?;
        written.push(path);
    }
    let page = dir.join("index.html");
    std::fs::write(&page, html::page(figures))?;
    written.push(page);
    Ok(written)
}

/// The image files of the report, one name per figure, shared by [`plots`] and [`html`].
fn confusion_file(baseline: bool, task: &str, group: &str) -> String {
    let prefix = if baseline { "baseline-" } else { "" };
    format!("{prefix}{task}-confusion-{group}.svg")
}

fn reliability_file(kind: &str) -> String {
    format!("reliability-{kind}.svg")
}

fn automation_file(group: &str) -> String {
    format!("automation-{group}.svg")
}

/// Labelled records and scores made up for the report's tests: every fourth record's top
/// intent and sentiment are wrong, and its abusive probability is on the wrong side.
#[cfg(test)]
pub(crate) mod made_up {
    use crate::comment::Scores;
    use crate::data::{parse_record, Record};
    use crate::eval::decisions::DecisionRow;
    use crate::eval::report::{Figures, Outcome, ReportOptions};
    use crate::eval::{evaluate, Scored};
    use crate::playbook::{Playbook, Policy};

    const INTENTS: [(&str, &str, &str); 4] = [
        ("praise", "positive", "thank"),
        ("complaint", "negative", "resolve"),
        ("question", "neutral", "answer"),
        ("spam", "neutral", "hide"),
    ];

    pub fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| {
                let (intent, sentiment, action) = INTENTS[i % INTENTS.len()];
                let lang = ["en", "ro"][i % 2];
                let line = format!(
                    r#"{{"id":"r{i}","text":"secret text number {i}","lang":"{lang}","source":"s{}","intent":"{intent}","sentiment":"{sentiment}","action":"{action}","labels":{{"abusive":{}}}}}"#,
                    i % 3,
                    (i % 5 == 0) as u8
                );
                parse_record(&line).unwrap()
            })
            .collect()
    }

    fn scores(i: usize, r: &Record) -> Scores {
        let wrong = i % 4 == 3;
        let mut intent = [0.02f32; 9];
        let gold = r.intent.unwrap().index();
        intent[if wrong { (gold + 1) % 9 } else { gold }] = 0.84;
        let mut sentiment = [0.1f32; 3];
        let gold = r.sentiment.unwrap().index();
        sentiment[if wrong { (gold + 1) % 3 } else { gold }] = 0.8;
        let abusive = r.labels["abusive"] == 1;
        Scores {
            intent,
            sentiment,
            abusive: if abusive != wrong { 0.9 } else { 0.1 },
            labels: None,
            follow_up: None,
        }
    }

    pub fn scored(records: &[Record]) -> Vec<Scored<'_>> {
        records
            .iter()
            .enumerate()
            .map(|(i, record)| Scored {
                record,
                scores: scores(i, record),
            })
            .collect()
    }

    pub fn decided(scored: &[Scored]) -> Vec<DecisionRow> {
        evaluate(scored, 0, &Playbook::new(Policy::default_policy()), 1.0).1
    }

    /// `test` run on the outcomes of `n` made-up records.
    pub fn with_outcomes<T>(n: usize, test: impl FnOnce(&[Outcome]) -> T) -> T {
        let records = records(n);
        let scored = scored(&records);
        let rows = decided(&scored);
        test(&super::outcomes(&scored, &rows))
    }

    /// The report's figures for `n` made-up records; `compared`: with the model as its own
    /// baseline.
    pub fn figures(n: usize, compared: bool, options: &ReportOptions) -> Figures {
        with_outcomes(n, |o| {
            super::figures(o, compared.then_some(o), options).unwrap()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(texts: bool) -> ReportOptions {
        ReportOptions {
            seed: 1,
            resamples: 50,
            texts,
        }
    }

    #[test]
    fn each_decision_stays_with_its_record() {
        let mut records = made_up::records(12);
        records[4].action = None;
        let scored = made_up::scored(&records);
        let rows = made_up::decided(&scored);
        let outcomes = outcomes(&scored, &rows);
        assert!(outcomes[4].decision.is_none());
        for o in outcomes.iter().filter(|o| o.record.action.is_some()) {
            assert_eq!(o.decision.unwrap().id, o.record.id);
        }
    }

    #[test]
    fn figures_cover_languages_sources_and_both_tasks() {
        let f = made_up::figures(40, false, &options(true));
        assert_eq!(f.summary.keys().collect::<Vec<_>>(), ["all", "en", "ro"]);
        assert_eq!(f.by_source.len(), 3);
        assert_eq!(f.summary["all"].records, 40);
        // 10 of 40 intents and sentiments wrong.
        let sentiment = f.summary["all"].metrics["sentiment_accuracy"].estimate;
        assert_eq!(sentiment.value, 0.75);
        let intent = &f.model.intent_confusion["all"];
        assert_eq!(intent.counts.iter().flatten().sum::<usize>(), 40);
        assert_eq!(
            intent
                .counts
                .iter()
                .enumerate()
                .map(|(i, r)| r[i])
                .sum::<usize>(),
            30
        );
        assert_eq!(f.model.reliability["intent"][8].n, 40); // every confidence is 0.84
        assert!(f.baseline.is_none());
        let worst = &f.worst_confusions[0];
        assert_eq!(worst.task, "intent");
        assert!(!worst.examples.is_empty() && worst.examples[0].starts_with("secret text"));
    }

    #[test]
    fn without_texts_no_example_is_kept() {
        let f = made_up::figures(40, false, &options(false));
        assert!(!f.worst_confusions.is_empty());
        assert!(f.worst_confusions.iter().all(|c| c.examples.is_empty()));
        assert!(!serde_json::to_string(&f).unwrap().contains("secret text"));
    }

    #[test]
    fn the_automation_curve_narrows_as_the_threshold_rises() {
        let records = made_up::records(40);
        let scored = made_up::scored(&records);
        let rows = made_up::decided(&scored);
        let refs: Vec<&DecisionRow> = rows.iter().collect();
        let c = curve(&refs);
        assert_eq!(c.points[0].coverage, 1.0);
        assert!(c.points.windows(2).all(|w| w[1].coverage <= w[0].coverage));
        let right = rows.iter().filter(|r| r.right()).count() as f64;
        assert_eq!(c.points[0].accuracy, right / rows.len() as f64);
    }

    #[test]
    fn a_baseline_on_other_records_is_refused() {
        let err = made_up::with_outcomes(8, |all| {
            figures(all, Some(&all[..5]), &options(true)).unwrap_err()
        });
        assert_eq!(
            err.to_string(),
            "the baseline was measured on 5 records, the model on 8"
        );
    }

    #[test]
    fn long_examples_are_cut_on_a_character_boundary() {
        let text = "ă".repeat(EXAMPLE_CHARS + 5);
        let cut = cut(&text);
        assert_eq!(cut.chars().count(), EXAMPLE_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(super::cut("short"), "short");
    }
}
