//! The decisions' side of `tact eval`: action accuracy, each action's precision and recall
//! (`wait` recall, `delete_and_ban` precision), calm follow-ups wrongly sent to `wait`, the
//! calibration of the decision's confidence, and the automation curve — the share of
//! comments decided without review against the accuracy of those decisions. Also language
//! detection per script, and one row per decided record for analysts (`--decisions FILE`).

use super::{ece, group, ratio};
use crate::labels::{Action, Lang};
use crate::playbook::Decision;
use serde::Serialize;
use std::collections::BTreeMap;

/// One record's decision beside its gold action.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionRow {
    pub id: String,
    pub source: String,
    /// The record's language (gold).
    pub lang: Lang,
    pub gold: Action,
    /// The brand had already answered the author in the thread.
    pub follow_up: bool,
    pub text: String,
    pub decision: Decision,
}

impl DecisionRow {
    pub fn right(&self) -> bool {
        self.gold == self.decision.action
    }
}

#[derive(Debug, Serialize)]
pub struct ActionMetrics {
    pub n: usize,
    pub accuracy: f64,
}

fn accuracy(rows: &[&DecisionRow]) -> ActionMetrics {
    ActionMetrics {
        n: rows.len(),
        accuracy: ratio(
            rows.iter().filter(|r| r.right()).count() as f64,
            rows.len() as f64,
        ),
    }
}

#[derive(Debug, Serialize)]
pub struct PrecisionRecall {
    /// Records whose gold action this is.
    pub gold: usize,
    /// Records decided with this action.
    pub decided: usize,
    pub precision: f64,
    pub recall: f64,
}

/// Follow-ups after a brand answer whose gold action is not `wait`, and how many were sent there.
#[derive(Debug, Serialize)]
pub struct CalmFollowUps {
    pub n: usize,
    pub sent_to_wait: usize,
    pub share: f64,
}

/// How much can be automated at what accuracy.
#[derive(Debug, Serialize)]
pub struct Automation {
    pub n: usize,
    /// Share decided without review at the policy's setting, and those decisions' accuracy.
    pub automated: f64,
    pub automated_accuracy: f64,
    /// Accuracy of the decisions sent to review.
    pub reviewed_accuracy: f64,
    /// Largest share that can be automated, most confident first, at 95% / 97% accuracy.
    pub coverage_at_95: f64,
    pub coverage_at_97: f64,
}

#[derive(Debug, Serialize)]
pub struct ActionSection {
    #[serde(flatten)]
    pub all: ActionMetrics,
    pub by_lang: BTreeMap<Lang, ActionMetrics>,
    pub by_action: BTreeMap<Action, PrecisionRecall>,
    pub calm_follow_ups: CalmFollowUps,
    /// ECE of the decision's confidence against its correctness (10 bins).
    pub confidence_ece: f64,
    /// Keyed by "all" and each language.
    pub automation: BTreeMap<String, Automation>,
    pub confusion: BTreeMap<String, BTreeMap<String, usize>>,
}

/// Largest share of `rows` that can be decided without review, most confident first, while
/// those decisions stay at least `target` accurate. Equal confidences go in or out together.
pub fn coverage_at(rows: &[&DecisionRow], target: f64) -> f64 {
    let mut sorted: Vec<&&DecisionRow> = rows.iter().collect();
    sorted.sort_by(|a, b| b.decision.confidence.total_cmp(&a.decision.confidence));
    let (mut right, mut best) = (0usize, 0usize);
    for (k, row) in sorted.iter().enumerate() {
        right += row.right() as usize;
        let group_ends = sorted
            .get(k + 1)
            .is_none_or(|next| next.decision.confidence != row.decision.confidence);
        if group_ends && right as f64 >= target * (k + 1) as f64 {
            best = k + 1;
        }
    }
    ratio(best as f64, rows.len() as f64)
}

pub(super) fn automation(rows: &[&DecisionRow]) -> Automation {
    let (reviewed, automated): (Vec<&DecisionRow>, Vec<&DecisionRow>) =
        rows.iter().partition(|r| r.decision.needs_review);
    Automation {
        n: rows.len(),
        automated: ratio(automated.len() as f64, rows.len() as f64),
        automated_accuracy: accuracy(&automated).accuracy,
        reviewed_accuracy: accuracy(&reviewed).accuracy,
        coverage_at_95: coverage_at(rows, 0.95),
        coverage_at_97: coverage_at(rows, 0.97),
    }
}

pub fn action_section(rows: &[DecisionRow]) -> Option<ActionSection> {
    if rows.is_empty() {
        return None;
    }
    let all: Vec<&DecisionRow> = rows.iter().collect();
    let by_lang = group(&rows.iter().map(|r| (r.lang, r)).collect::<Vec<_>>());
    let by_action = Action::ALL
        .iter()
        .filter_map(|&action| {
            let gold = rows.iter().filter(|r| r.gold == action).count();
            let decided = rows.iter().filter(|r| r.decision.action == action).count();
            let hits = rows
                .iter()
                .filter(|r| r.gold == action && r.right())
                .count();
            (gold + decided > 0).then(|| {
                let pr = PrecisionRecall {
                    gold,
                    decided,
                    precision: ratio(hits as f64, decided as f64),
                    recall: ratio(hits as f64, gold as f64),
                };
                (action, pr)
            })
        })
        .collect();
    let calm: Vec<&DecisionRow> = rows
        .iter()
        .filter(|r| r.follow_up && r.gold != Action::Wait)
        .collect();
    let sent_to_wait = calm
        .iter()
        .filter(|r| r.decision.action == Action::Wait)
        .count();
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in rows {
        *confusion
            .entry(r.gold.to_string())
            .or_default()
            .entry(r.decision.action.to_string())
            .or_default() += 1;
    }
    let confidences: Vec<(f32, bool)> = rows
        .iter()
        .map(|r| (r.decision.confidence as f32, r.right()))
        .collect();
    let mut automations = BTreeMap::from([("all".to_string(), automation(&all))]);
    for (lang, rows) in &by_lang {
        automations.insert(lang.to_string(), automation(rows));
    }
    Some(ActionSection {
        all: accuracy(&all),
        by_lang: by_lang.iter().map(|(l, r)| (*l, accuracy(r))).collect(),
        by_action,
        calm_follow_ups: CalmFollowUps {
            n: calm.len(),
            sent_to_wait,
            share: ratio(sent_to_wait as f64, calm.len() as f64),
        },
        confidence_ece: ece(&confidences),
        automation: automations,
        confusion,
    })
}

/// Language detection against the records' languages, per language and script.
#[derive(Debug, Serialize)]
pub struct Detection {
    pub n: usize,
    pub accuracy: f64,
    /// What it was taken for when wrong.
    pub mistaken_for: BTreeMap<Lang, usize>,
}

/// The script a text is written in: "cyrillic" with any Cyrillic letter, "latin" with any
/// other letter, "none" without letters (emoji, digits).
pub fn script(text: &str) -> &'static str {
    if text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c)) {
        "cyrillic"
    } else if text.chars().any(char::is_alphabetic) {
        "latin"
    } else {
        "none"
    }
}

/// Keyed "bg latin", "ru cyrillic", …; `pairs` are (gold language, detected, text).
pub fn detection_section(pairs: &[(Lang, Lang, &str)]) -> BTreeMap<String, Detection> {
    let keyed: Vec<(String, (Lang, Lang))> = pairs
        .iter()
        .map(|&(gold, found, text)| (format!("{gold} {}", script(text)), (gold, found)))
        .collect();
    group(&keyed)
        .into_iter()
        .map(|(key, pairs)| {
            let mut mistaken_for = BTreeMap::new();
            for &(gold, found) in &pairs {
                if gold != found {
                    *mistaken_for.entry(found).or_default() += 1;
                }
            }
            let right = pairs.iter().filter(|(g, f)| g == f).count();
            let detection = Detection {
                n: pairs.len(),
                accuracy: ratio(right as f64, pairs.len() as f64),
                mistaken_for,
            };
            (key, detection)
        })
        .collect()
}

pub fn print_action_tables(a: &ActionSection) {
    println!("\n{:<30} {:>7} {:>9}", "action", "n", "accuracy");
    println!("  {:<28} {:>7} {:>9.3}", "all", a.all.n, a.all.accuracy);
    for (l, m) in &a.by_lang {
        println!(
            "  {:<28} {:>7} {:>9.3}",
            format!("lang {l}"),
            m.n,
            m.accuracy
        );
    }
    println!(
        "\n{:<30} {:>7} {:>7} {:>9} {:>7}",
        "per action", "gold", "decided", "precision", "recall"
    );
    for (action, m) in &a.by_action {
        println!(
            "  {:<28} {:>7} {:>7} {:>9.3} {:>7.3}",
            action.as_str(),
            m.gold,
            m.decided,
            m.precision,
            m.recall
        );
    }
    let calm = &a.calm_follow_ups;
    println!(
        "calm follow-ups sent to wait: {} of {} ({:.1}%)",
        calm.sent_to_wait,
        calm.n,
        calm.share * 100.0
    );
    println!("decision-confidence ECE: {:.3}", a.confidence_ece);
    println!(
        "\n{:<30} {:>7} {:>9} {:>9} {:>9} {:>8} {:>8}",
        "automation", "n", "automated", "its acc.", "review", "cov@95%", "cov@97%"
    );
    for (key, m) in &a.automation {
        println!(
            "  {:<28} {:>7} {:>9.3} {:>9.3} {:>9.3} {:>8.3} {:>8.3}",
            key,
            m.n,
            m.automated,
            m.automated_accuracy,
            m.reviewed_accuracy,
            m.coverage_at_95,
            m.coverage_at_97
        );
    }
}

pub fn print_detection_table(d: &BTreeMap<String, Detection>) {
    println!(
        "\n{:<30} {:>7} {:>9}  mistaken for",
        "language detection", "n", "accuracy"
    );
    for (key, m) in d {
        let wrong: Vec<String> = m
            .mistaken_for
            .iter()
            .map(|(l, n)| format!("{l} {n}"))
            .collect();
        println!(
            "  {:<28} {:>7} {:>9.3}  {}",
            key,
            m.n,
            m.accuracy,
            wrong.join(", ")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::playbook::{Playbook, Policy};

    fn row(gold: Action, decided: Action, confidence: f64) -> DecisionRow {
        let comment = crate::comment::Comment {
            text: "x".into(),
            ..Default::default()
        };
        let scores = crate::comment::Scores {
            intent: [1.0 / 9.0; 9],
            sentiment: [0.3, 0.4, 0.3],
            abusive: 0.0,
            labels: None,
            follow_up: None,
        };
        let mut decision =
            Playbook::new(Policy::default_policy()).decide(&comment, Lang::En, &scores);
        decision.action = decided;
        decision.confidence = confidence;
        decision.needs_review = confidence < 0.5;
        DecisionRow {
            id: "r".into(),
            source: "s".into(),
            lang: Lang::En,
            gold,
            follow_up: false,
            text: "x".into(),
            decision,
        }
    }

    #[test]
    fn coverage_takes_the_most_confident_while_accuracy_holds() {
        use Action::*;
        // Confidences 0.9 (right), 0.8 (right), 0.7 (wrong), 0.6 (right).
        let rows = [
            row(Answer, Answer, 0.9),
            row(Thank, Thank, 0.8),
            row(Wait, Resolve, 0.7),
            row(Hide, Hide, 0.6),
        ];
        let refs: Vec<&DecisionRow> = rows.iter().collect();
        assert_eq!(coverage_at(&refs, 0.95), 0.5);
        // 3 of 4 right = 0.75 ≥ 0.75: everything.
        assert_eq!(coverage_at(&refs, 0.75), 1.0);
        let section = action_section(&rows).unwrap();
        assert_eq!(section.all.accuracy, 0.75);
        assert_eq!(section.by_action[&Resolve].precision, 0.0);
        assert_eq!(section.by_action[&Wait].recall, 0.0);
        assert_eq!(section.automation["all"].automated, 1.0);
    }

    #[test]
    fn equal_confidences_are_taken_together() {
        use Action::*;
        let rows = [row(Answer, Answer, 0.9), row(Wait, Resolve, 0.9)];
        let refs: Vec<&DecisionRow> = rows.iter().collect();
        assert_eq!(coverage_at(&refs, 0.95), 0.0);
    }

    #[test]
    fn detection_is_reported_per_language_and_script() {
        let pairs = [
            (Lang::Bg, Lang::Bg, "Благодаря"),
            (Lang::Bg, Lang::Ro, "blagodarq"),
            (Lang::Bg, Lang::Bg, "mersi mnogo"),
        ];
        let d = detection_section(&pairs);
        assert_eq!(d["bg cyrillic"].accuracy, 1.0);
        assert_eq!(d["bg latin"].accuracy, 0.5);
        assert_eq!(d["bg latin"].mistaken_for[&Lang::Ro], 1);
        assert_eq!(script("👍"), "none");
    }
}
