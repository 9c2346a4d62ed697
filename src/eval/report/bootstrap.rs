//! Seeded percentile bootstrap of the summary figures. Each resample draws a group's records
//! with replacement and recomputes every [`Metric`] on them; the 2.5th and 97.5th percentiles
//! of the resampled values are the 95% interval. With a baseline, the same drawn indices
//! are measured under both models (a paired bootstrap), so the interval of the difference
//! leaves out the records' own variation. Resample `b` of a group has its own generator,
//! seeded from the seed, the group and `b`: the figures are the same on any number of threads.

use super::{Outcome, ReportOptions};
use crate::eval::{class_metrics, ece, f1_at_half};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// A summary figure of a group of records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    IntentMacroF1,
    ActionAccuracy,
    SentimentAccuracy,
    AbusiveF1,
    /// Of the top intent and top sentiment together (as `tact eval`'s `ece`).
    Ece,
    /// Of the decision's confidence against the decision being right.
    ConfidenceEce,
}

impl Metric {
    pub const ALL: [Metric; 6] = [
        Metric::IntentMacroF1,
        Metric::ActionAccuracy,
        Metric::SentimentAccuracy,
        Metric::AbusiveF1,
        Metric::Ece,
        Metric::ConfidenceEce,
    ];

    /// The figure's key in the JSON.
    pub fn key(self) -> &'static str {
        match self {
            Metric::IntentMacroF1 => "intent_macro_f1",
            Metric::ActionAccuracy => "action_accuracy",
            Metric::SentimentAccuracy => "sentiment_accuracy",
            Metric::AbusiveF1 => "abusive_f1",
            Metric::Ece => "ece",
            Metric::ConfidenceEce => "confidence_ece",
        }
    }

    /// The figure's name for people.
    pub fn title(self) -> &'static str {
        match self {
            Metric::IntentMacroF1 => "intent macro-F1",
            Metric::ActionAccuracy => "action accuracy",
            Metric::SentimentAccuracy => "sentiment accuracy",
            Metric::AbusiveF1 => "abusive F1",
            Metric::Ece => "ECE (intent + sentiment)",
            Metric::ConfidenceEce => "ECE (decision confidence)",
        }
    }

    /// The figure over the records at `sample` (repeats count again); `None` when none of
    /// them carries the labels it needs.
    pub fn of(self, outcomes: &[Outcome], sample: &[usize]) -> Option<f64> {
        let drawn = || sample.iter().map(|&i| &outcomes[i]);
        let share_right = |right: &mut dyn Iterator<Item = bool>| {
            let (n, hits) = right.fold((0usize, 0usize), |(n, h), ok| (n + 1, h + ok as usize));
            (n > 0).then(|| hits as f64 / n as f64)
        };
        match self {
            Metric::IntentMacroF1 => {
                let pairs: Vec<(usize, usize)> = drawn()
                    .filter_map(|o| o.intent.map(|p| (p.gold, p.predicted)))
                    .collect();
                (!pairs.is_empty()).then(|| class_metrics(&pairs).macro_f1)
            }
            Metric::ActionAccuracy => {
                share_right(&mut drawn().filter_map(|o| o.decision.map(|r| r.right())))
            }
            Metric::SentimentAccuracy => {
                share_right(&mut drawn().filter_map(|o| o.sentiment.map(|p| p.right())))
            }
            Metric::AbusiveF1 => {
                let items: Vec<(bool, f32)> = drawn().filter_map(|o| o.abusive).collect();
                (!items.is_empty()).then(|| f1_at_half(&items).2)
            }
            Metric::Ece => {
                let items: Vec<(f32, bool)> = drawn()
                    .flat_map(|o| [o.intent, o.sentiment])
                    .flatten()
                    .map(|p| (p.confidence, p.right()))
                    .collect();
                (!items.is_empty()).then(|| ece(&items))
            }
            Metric::ConfidenceEce => {
                let items: Vec<(f32, bool)> = drawn()
                    .filter_map(|o| o.decision)
                    .map(|r| (r.decision.confidence as f32, r.right()))
                    .collect();
                (!items.is_empty()).then(|| ece(&items))
            }
        }
    }
}

/// A figure and its 95% bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// The baseline's figure and the model's difference from it (model − baseline).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Comparison {
    pub baseline: Estimate,
    pub difference: Estimate,
    /// 0 lies outside the difference's 95% interval (paired over the same resamples).
    pub excludes_zero: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figure {
    #[serde(flatten)]
    pub estimate: Estimate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comparison: Option<Comparison>,
}

/// SplitMix64: small, fast, and the same sequence everywhere for a seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; its bias is far below a bootstrap's noise).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }
}

/// The indices of resample `b` of `group`.
fn resample(group: &[usize], key: &str, seed: u64, b: usize) -> Vec<usize> {
    let stream = crate::data::fnv1a(key)
        ^ seed.rotate_left(32)
        ^ (b as u64).wrapping_mul(0xd1b5_4a32_d192_ed03);
    let mut rng = SplitMix64(stream);
    (0..group.len())
        .map(|_| group[rng.below(group.len())])
        .collect()
}

/// The `q` quantile of `values` (nearest rank); `None` when empty.
fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    Some(sorted[(last as f64 * q).round() as usize])
}

/// `value` with the 95% interval of the resampled values that are defined.
fn interval(value: f64, resampled: impl Iterator<Item = f64>) -> Estimate {
    let mut sorted: Vec<f64> = resampled.collect();
    sorted.sort_by(f64::total_cmp);
    Estimate {
        value,
        // No defined resample (a tiny group): the interval is the point itself.
        low: quantile(&sorted, 0.025).unwrap_or(value),
        high: quantile(&sorted, 0.975).unwrap_or(value),
    }
}

/// Every metric the group's records allow, with intervals (and the paired comparison with the
/// baseline), keyed by [`Metric::key`]. `key` names the group (it seeds its resamples).
pub fn figures(
    model: &[Outcome],
    baseline: Option<&[Outcome]>,
    group: &[usize],
    key: &str,
    options: &ReportOptions,
) -> BTreeMap<&'static str, Figure> {
    let measure =
        |outcomes: &[Outcome], sample: &[usize]| Metric::ALL.map(|m| m.of(outcomes, sample));
    let draws: Vec<_> = (0..options.resamples)
        .into_par_iter()
        .map(|b| {
            let sample = resample(group, key, options.seed, b);
            (
                measure(model, &sample),
                baseline.map(|o| measure(o, &sample)),
            )
        })
        .collect();
    let model_points = measure(model, group);
    let baseline_points = baseline.map(|o| measure(o, group));
    let mut figures = BTreeMap::new();
    for (m, metric) in Metric::ALL.iter().enumerate() {
        let Some(value) = model_points[m] else {
            continue;
        };
        let estimate = interval(value, draws.iter().filter_map(|d| d.0[m]));
        let comparison = baseline_points.and_then(|points| {
            let base = points[m]?;
            let of_baseline =
                |d: &([Option<f64>; 6], Option<[Option<f64>; 6]>)| d.1.and_then(|b| b[m]);
            let baseline = interval(base, draws.iter().filter_map(of_baseline));
            let differences = draws.iter().filter_map(|d| Some(d.0[m]? - of_baseline(d)?));
            let difference = interval(value - base, differences);
            Some(Comparison {
                baseline,
                difference,
                excludes_zero: difference.low > 0.0 || difference.high < 0.0,
            })
        });
        figures.insert(
            metric.key(),
            Figure {
                estimate,
                comparison,
            },
        );
    }
    figures
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::{made_up, Pick};

    fn options(seed: u64) -> ReportOptions {
        ReportOptions {
            seed,
            resamples: 200,
            texts: false,
        }
    }

    /// Every record of `outcomes`, as one group.
    fn everything(outcomes: &[Outcome]) -> Vec<usize> {
        (0..outcomes.len()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_intervals_and_another_seed_others() {
        let run = |seed| {
            made_up::with_outcomes(60, |o| {
                figures(o, None, &everything(o), "all", &options(seed))
            })
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        assert_eq!(first.len(), Metric::ALL.len());
        for f in first.values() {
            let e = f.estimate;
            assert!(e.low <= e.value && e.value <= e.high, "{e:?}");
        }
        // One sentiment in four wrong: a real spread, not a point.
        let sentiment = first["sentiment_accuracy"].estimate;
        assert!(
            sentiment.low < 0.75 && sentiment.high > 0.75,
            "{sentiment:?}"
        );
    }

    #[test]
    fn a_model_compared_with_itself_differs_by_nothing() {
        let figures = made_up::with_outcomes(60, |o| {
            figures(o, Some(o), &everything(o), "all", &options(3))
        });
        let zero = Estimate {
            value: 0.0,
            low: 0.0,
            high: 0.0,
        };
        for f in figures.values() {
            let c = f.comparison.expect("compared");
            assert_eq!(c.baseline, f.estimate);
            assert_eq!(c.difference, zero);
            assert!(!c.excludes_zero);
        }
    }

    #[test]
    fn a_worse_baseline_differs_outside_the_interval() {
        let figures = made_up::with_outcomes(200, |model| {
            // The baseline gets every sentiment wrong that the model gets right.
            let baseline: Vec<Outcome> = model
                .iter()
                .map(|o| Outcome {
                    sentiment: o.sentiment.map(|p| Pick {
                        predicted: (p.predicted + 1) % 3,
                        ..p
                    }),
                    ..o.clone()
                })
                .collect();
            figures(
                model,
                Some(&baseline),
                &everything(model),
                "all",
                &options(3),
            )
        });
        let sentiment = figures["sentiment_accuracy"].comparison.unwrap();
        assert!(sentiment.excludes_zero);
        assert_eq!(sentiment.difference.value, 0.75 - 0.0);
        assert!(!figures["intent_macro_f1"].comparison.unwrap().excludes_zero);
    }

    #[test]
    fn quantiles_by_nearest_rank() {
        let sorted: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(quantile(&sorted, 0.025), Some(3.0)); // 2.5 rounds away from zero
        assert_eq!(quantile(&sorted, 0.975), Some(98.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
