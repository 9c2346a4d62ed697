//! A decision's confidence that means what it says: the rules' raw confidence (the probability
//! mass of what the rule acts on) mapped to the probability that the action is right, fitted
//! on the calibration split of labelled brand comments (`tact calibrate`), and the cut-off
//! below which a decision needs review so that what is automated reaches the policy's
//! `automated_accuracy`.
//!
//! The map is Platt scaling with one intercept per action: `P(right) = σ(slope · logit(raw) +
//! intercept + offset[action])`, the offsets shrunk towards 0 (few comments per action). Plain
//! data, serialised into the heads' card: the model it was fitted with travels with it.

use crate::labels::Action;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A fitted decision-confidence map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub slope: f64,
    pub intercept: f64,
    /// Per-action offsets to the intercept (0 for an action not seen).
    pub offsets: BTreeMap<Action, f64>,
    /// Calibrated confidences of the calibration split's decisions, highest first: the
    /// cut-off for a target accuracy is read from them.
    pub confidences: Vec<f32>,
    /// sha256 of the policy the raw decisions came from.
    pub policy_digest: String,
}

/// One decision of the calibration split: its action, raw confidence, and whether it was right.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub action: Action,
    pub raw: f32,
    pub right: bool,
}

fn logit(p: f32) -> f64 {
    let p = f64::from(p).clamp(0.01, 0.99);
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// How strongly the per-action offsets are pulled to 0.
const OFFSET_PENALTY: f64 = 0.005;

impl Calibration {
    /// The probability that `action`, decided at `raw` confidence, is right.
    pub fn apply(&self, action: Action, raw: f32) -> f32 {
        let offset = self.offsets.get(&action).copied().unwrap_or(0.0);
        sigmoid(self.slope * logit(raw) + self.intercept + offset) as f32
    }

    /// The lowest confidence that is automated when the automated decisions must be `target`
    /// accurate: the largest most-confident share of the calibration split whose mean
    /// calibrated confidence (its expected accuracy) reaches `target`. Above 1 when no share
    /// does.
    pub fn cutoff(&self, target: f64) -> f32 {
        let mut sum = 0.0;
        let mut cut = 1.01;
        for (k, &c) in self.confidences.iter().enumerate() {
            sum += f64::from(c);
            if sum / (k + 1) as f64 >= target {
                cut = c;
            }
        }
        if self.confidences.last() == Some(&cut) {
            // Everything seen qualifies: so does anything below it.
            return 0.0;
        }
        cut
    }

    /// Fits the map by gradient descent on the log-loss (a few parameters, a few hundred
    /// samples: milliseconds).
    pub fn fit(samples: &[Sample], policy_digest: &str) -> Calibration {
        let actions: Vec<Action> = Action::ALL
            .iter()
            .copied()
            .filter(|a| samples.iter().any(|s| s.action == *a))
            .collect();
        let index = |a: Action| actions.iter().position(|&x| x == a).expect("seen");
        let (mut slope, mut intercept) = (1.0, 0.0);
        let mut offsets = vec![0.0; actions.len()];
        let n = samples.len().max(1) as f64;
        for _ in 0..8000 {
            let (mut g_slope, mut g_intercept) = (0.0, 0.0);
            let mut g_offsets = vec![0.0; actions.len()];
            for s in samples {
                let x = logit(s.raw);
                let a = index(s.action);
                let err = sigmoid(slope * x + intercept + offsets[a]) - f64::from(s.right as u8);
                g_slope += err * x / n;
                g_intercept += err / n;
                g_offsets[a] += err / n;
            }
            let rate = 0.5;
            slope -= rate * g_slope;
            intercept -= rate * g_intercept;
            for (o, g) in offsets.iter_mut().zip(g_offsets) {
                *o -= rate * (g + 2.0 * OFFSET_PENALTY * *o);
            }
        }
        let mut calibration = Calibration {
            slope,
            intercept,
            offsets: actions.iter().copied().zip(offsets).collect(),
            confidences: Vec::new(),
            policy_digest: policy_digest.to_string(),
        };
        let mut confidences: Vec<f32> = samples
            .iter()
            .map(|s| calibration.apply(s.action, s.raw))
            .collect();
        confidences.sort_by(|a, b| b.total_cmp(a));
        calibration.confidences = confidences;
        calibration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raw confidences that overstate: at raw 0.9 the answer is right 60% of the time, at raw
    /// 0.6 40%; hides at raw 0.8 are right 95% of the time.
    fn overconfident() -> Vec<Sample> {
        let mut samples = Vec::new();
        for i in 0..100 {
            samples.push(Sample {
                action: Action::Answer,
                raw: 0.9,
                right: i % 10 < 6,
            });
            samples.push(Sample {
                action: Action::Answer,
                raw: 0.6,
                right: i % 10 < 4,
            });
            samples.push(Sample {
                action: Action::Hide,
                raw: 0.8,
                right: i % 20 != 0,
            });
        }
        samples
    }

    #[test]
    fn fitted_confidence_matches_the_observed_accuracy() {
        let c = Calibration::fit(&overconfident(), "p");
        assert!((c.apply(Action::Answer, 0.9) - 0.6).abs() < 0.05, "{c:?}");
        assert!((c.apply(Action::Answer, 0.6) - 0.4).abs() < 0.05);
        assert!((c.apply(Action::Hide, 0.8) - 0.95).abs() < 0.05, "{c:?}");
        assert_eq!(c.confidences.len(), 300);
        assert!(c.confidences.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn cutoff_keeps_the_automated_share_at_the_target() {
        let c = Calibration {
            slope: 1.0,
            intercept: 0.0,
            offsets: BTreeMap::new(),
            confidences: vec![0.99, 0.97, 0.9, 0.8, 0.5],
            policy_digest: "p".into(),
        };
        // Means: 0.99, 0.98, 0.953, 0.915, 0.832.
        assert_eq!(c.cutoff(0.95), 0.9);
        assert_eq!(c.cutoff(0.9), 0.8);
        assert_eq!(c.cutoff(0.5), 0.0);
        assert!(c.cutoff(0.995) > 1.0);
    }
}
