//! `tact lint --train`: fits the reply head ([`crate::model::reply_head`]) on labelled draft
//! replies (`datasets/replies`). Each reply is cut into the linter's sentences; a sentence is a
//! positive example of a kind when the record's evidence for that kind overlaps it, a
//! negative one otherwise. One logistic regression per kind on the train split (standardised
//! vectors, class-balanced, L2, full-batch Adam: deterministic); the L2 strength and the
//! threshold are picked on the calibration split (best F0.5 per kind: precision first) and the threshold folded
//! into the bias, so that 0.5 is it. The test split is never read.

use crate::classify::Classifier;
use crate::data::{split_of, Split};
use crate::eval::lint::ReplyRecord;
use crate::model::batching::in_input_order;
use crate::model::reply_head::{dot, sigmoid, KindWeights, ReplyHead, ReplyHeadCard};
use crate::playbook::lint::{sentences, Kind};
use serde_json::json;
use std::path::Path;

/// The kinds the head learns: those a sentence's meaning breaks, which phrase lists miss.
pub const LEARNED: &[Kind] = &[
    Kind::Accusing,
    Kind::Emotional,
    Kind::Insulting,
    Kind::Dismissive,
    Kind::JokingAboutProblem,
    Kind::VagueDeflection,
];

/// L2 strengths tried on the calibration split.
const L2: &[f32] = &[1e-3, 1e-2, 1e-1];
const EPOCHS: usize = 400;
const LEARNING_RATE: f32 = 0.02;

/// One sentence of a labelled reply, with whether it breaks each of [`LEARNED`].
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceExample {
    pub text: String,
    pub labels: Vec<bool>,
}

/// The sentences of a record, labelled from its evidence.
pub fn examples(record: &ReplyRecord) -> Vec<SentenceExample> {
    let chars: Vec<char> = record.reply.chars().collect();
    let evidence: Vec<(Kind, usize, usize)> = record
        .evidence
        .iter()
        .filter_map(|(kind, quote)| {
            let kind = Kind::parse(kind)?;
            let byte = record.reply.find(quote.as_str())?;
            let start = record.reply[..byte].chars().count();
            Some((kind, start, start + quote.chars().count()))
        })
        .collect();
    sentences(&record.reply)
        .into_iter()
        .map(|[start, end]| SentenceExample {
            text: chars[start..end].iter().collect(),
            labels: LEARNED
                .iter()
                .map(|kind| {
                    evidence
                        .iter()
                        .any(|(k, s, e)| k == kind && *s < end && start < *e)
                })
                .collect(),
        })
        .collect()
}

/// Standardisation of the train vectors, folded into the weights at the end.
struct Scale {
    mean: Vec<f32>,
    std: Vec<f32>,
}

impl Scale {
    fn fit(xs: &[Vec<f32>]) -> Scale {
        let dim = xs[0].len();
        let n = xs.len() as f32;
        let mut mean = vec![0.0; dim];
        for x in xs {
            for (m, v) in mean.iter_mut().zip(x) {
                *m += v / n;
            }
        }
        let mut var = vec![0.0; dim];
        for x in xs {
            for ((s, v), m) in var.iter_mut().zip(x).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        let std = var.into_iter().map(|v: f32| v.sqrt().max(1e-6)).collect();
        Scale { mean, std }
    }

    fn apply(&self, x: &[f32]) -> Vec<f32> {
        x.iter()
            .zip(&self.mean)
            .zip(&self.std)
            .map(|((v, m), s)| (v - m) / s)
            .collect()
    }

    /// Weights over standardised vectors → weights over raw vectors.
    fn unfold(&self, w: &[f32], b: f32) -> (Vec<f32>, f32) {
        let raw: Vec<f32> = w.iter().zip(&self.std).map(|(w, s)| w / s).collect();
        let bias = b - dot(&raw, &self.mean);
        (raw, bias)
    }
}

/// Class-balanced, L2-regularised logistic regression by full-batch Adam.
pub fn fit(xs: &[Vec<f32>], ys: &[bool], l2: f32) -> (Vec<f32>, f32) {
    let dim = xs[0].len();
    let positives = ys.iter().filter(|y| **y).count().max(1) as f32;
    let negatives = (ys.len() as f32 - positives).max(1.0);
    // Each class weighs half of the loss.
    let weight = |y: bool| if y { 0.5 / positives } else { 0.5 / negatives };
    let mut params = vec![0.0f32; dim + 1];
    let (mut m, mut v) = (vec![0.0f32; dim + 1], vec![0.0f32; dim + 1]);
    let (beta1, beta2) = (0.9f32, 0.999f32);
    for step in 1..=EPOCHS {
        let mut grad = vec![0.0f32; dim + 1];
        for (x, &y) in xs.iter().zip(ys) {
            let p = sigmoid(dot(&params[..dim], x) + params[dim]);
            let g = weight(y) * (p - if y { 1.0 } else { 0.0 });
            for (gi, xi) in grad.iter_mut().zip(x) {
                *gi += g * xi;
            }
            grad[dim] += g;
        }
        for (gi, w) in grad.iter_mut().zip(&params).take(dim) {
            *gi += l2 * w;
        }
        let (c1, c2) = (1.0 - beta1.powi(step as i32), 1.0 - beta2.powi(step as i32));
        for i in 0..=dim {
            m[i] = beta1 * m[i] + (1.0 - beta1) * grad[i];
            v[i] = beta2 * v[i] + (1.0 - beta2) * grad[i] * grad[i];
            params[i] -= LEARNING_RATE * (m[i] / c1) / ((v[i] / c2).sqrt() + 1e-8);
        }
    }
    let bias = params[dim];
    params.truncate(dim);
    (params, bias)
}

/// F1, precision and recall of `scores >= threshold`.
fn f1_at(scores: &[f32], ys: &[bool], threshold: f32) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for (s, y) in scores.iter().zip(ys) {
        match (*s >= threshold, *y) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, true) => fn_ += 1.0,
            _ => {}
        }
    }
    let precision = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
    let recall = if tp + fn_ > 0.0 { tp / (tp + fn_) } else { 0.0 };
    let f1 = if tp > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    (f1, precision, recall)
}

/// F0.5 from precision and recall: a false finding on a good reply costs a moderator more
/// (it teaches them to ignore the linter) than a missed one.
fn f_half(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        1.25 * precision * recall / (0.25 * precision + recall)
    }
}

/// The logit threshold with the best F0.5 (ties: the higher, for precision), with its F1,
/// precision and recall.
pub fn best_threshold(logits: &[f32], ys: &[bool]) -> (f32, (f64, f64, f64)) {
    let mut candidates: Vec<f32> = logits.to_vec();
    candidates.sort_by(f32::total_cmp);
    candidates.dedup();
    let mut best = (f32::INFINITY, (0.0, 0.0, 0.0));
    let mut best_score = 0.0;
    for &t in &candidates {
        let figures = f1_at(logits, ys, t);
        let score = f_half(figures.1, figures.2);
        if score >= best_score {
            best = (t, figures);
            best_score = score;
        }
    }
    best
}

/// Sentence vectors of `texts`, batched by length.
fn embed(classifier: &Classifier, texts: &[String]) -> anyhow::Result<Vec<Vec<f32>>> {
    let tokens = texts
        .iter()
        .map(|t| classifier.encoder.tokenize(t))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<_> = tokens.iter().collect();
    Ok(in_input_order(&refs, 32, |batch| {
        classifier.encoder.embed_tokens(batch)
    })?)
}

/// One L2 strength's fit: (L2, weights, bias, threshold, calibration F1/precision/recall).
type Candidate = (f32, Vec<f32>, f32, f32, (f64, f64, f64));

/// What a run fitted, per kind, on the calibration split.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KindFit {
    pub kind: Kind,
    pub l2: f32,
    pub train_positives: usize,
    pub calib_positives: usize,
    pub calib_f1: f64,
    pub calib_precision: f64,
    pub calib_recall: f64,
}

/// Fits the head on the train and calibration records and writes it to `out`.
pub fn run(
    classifier: &Classifier,
    records: &[ReplyRecord],
    out: &Path,
    command: &str,
) -> anyhow::Result<Vec<KindFit>> {
    let part = |split: Split| -> Vec<SentenceExample> {
        records
            .iter()
            .filter(|r| split_of(&r.id) == split)
            .flat_map(examples)
            .collect()
    };
    let (train, calib) = (part(Split::Train), part(Split::Calib));
    anyhow::ensure!(
        !train.is_empty() && !calib.is_empty(),
        "no sentences in the train or the calibration split"
    );
    let texts = |e: &[SentenceExample]| e.iter().map(|s| s.text.clone()).collect::<Vec<_>>();
    let (train_x, calib_x) = (
        embed(classifier, &texts(&train))?,
        embed(classifier, &texts(&calib))?,
    );
    let scale = Scale::fit(&train_x);
    let train_x: Vec<Vec<f32>> = train_x.iter().map(|x| scale.apply(x)).collect();
    let calib_x: Vec<Vec<f32>> = calib_x.iter().map(|x| scale.apply(x)).collect();
    let mut kinds = Vec::new();
    let mut fits = Vec::new();
    for (i, &kind) in LEARNED.iter().enumerate() {
        let train_y: Vec<bool> = train.iter().map(|e| e.labels[i]).collect();
        let calib_y: Vec<bool> = calib.iter().map(|e| e.labels[i]).collect();
        let count = |ys: &[bool]| ys.iter().filter(|y| **y).count();
        if count(&train_y) == 0 || count(&calib_y) == 0 {
            tracing::warn!("{kind}: no example in the train or calibration split; not learned");
            continue;
        }
        let mut best: Option<Candidate> = None;
        for &l2 in L2 {
            let (w, b) = fit(&train_x, &train_y, l2);
            let logits: Vec<f32> = calib_x.iter().map(|x| dot(&w, x) + b).collect();
            let (threshold, figures) = best_threshold(&logits, &calib_y);
            if best
                .as_ref()
                .is_none_or(|b| f_half(figures.1, figures.2) > f_half(b.4 .1, b.4 .2))
            {
                best = Some((l2, w, b, threshold, figures));
            }
        }
        let (l2, w, b, threshold, (f1, precision, recall)) = best.expect("L2 is not empty");
        let (weights, bias) = scale.unfold(&w, b - threshold);
        kinds.push(KindWeights {
            kind: kind.as_str().to_string(),
            weights,
            bias,
        });
        fits.push(KindFit {
            kind,
            l2,
            train_positives: count(&train_y),
            calib_positives: count(&calib_y),
            calib_f1: f1,
            calib_precision: precision,
            calib_recall: recall,
        });
    }
    let head = ReplyHead {
        card: ReplyHeadCard {
            embedding_dim: classifier.encoder.hidden_size(),
            trained_at: crate::model::heads::utc_date(),
            command: command.to_string(),
            encoder_heads_trained_at: classifier.heads.card.trained_at.clone(),
            training: json!({
                "train_sentences": train.len(),
                "calib_sentences": calib.len(),
                "epochs": EPOCHS,
                "kinds": fits,
            }),
        },
        kinds,
    };
    head.save(out)?;
    Ok(fits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{Intent, Lang};
    use crate::playbook::lint::Rsr;

    #[test]
    fn a_sentence_is_positive_for_the_kinds_whose_evidence_it_holds() {
        let record = ReplyRecord {
            id: "r".into(),
            lang: Lang::En,
            comment: "late again".into(),
            comment_intent: Intent::Complaint,
            reply: "Sorry. You picked the slow option. We refund it today.".into(),
            kinds: vec![Kind::Accusing],
            evidence: [("accusing".to_string(), "picked the slow".to_string())].into(),
            rsr: Rsr {
                respond: true,
                apologise: true,
                resolve: true,
            },
        };
        let e = examples(&record);
        assert_eq!(e.len(), 3);
        assert_eq!(e[1].text, "You picked the slow option.");
        let accusing = LEARNED.iter().position(|k| *k == Kind::Accusing).unwrap();
        let labelled: Vec<bool> = e.iter().map(|s| s.labels[accusing]).collect();
        assert_eq!(labelled, [false, true, false]);
        assert!(e
            .iter()
            .all(|s| s.labels.iter().filter(|l| **l).count() <= 1));
    }

    #[test]
    fn logistic_regression_separates_a_separable_set_and_the_threshold_keeps_it() {
        // Two clusters in 3-d; the first coordinate separates them.
        let xs: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let side = if i % 4 == 0 { 1.0 } else { -1.0 };
                vec![side + 0.1 * (i % 3) as f32, 0.3 * (i % 5) as f32, 1.0]
            })
            .collect();
        let ys: Vec<bool> = (0..40).map(|i| i % 4 == 0).collect();
        let scale = Scale::fit(&xs);
        let z: Vec<Vec<f32>> = xs.iter().map(|x| scale.apply(x)).collect();
        let (w, b) = fit(&z, &ys, 1e-3);
        let logits: Vec<f32> = z.iter().map(|x| dot(&w, x) + b).collect();
        let (t, (f1, _, _)) = best_threshold(&logits, &ys);
        assert_eq!(f1, 1.0);
        let (raw, bias) = scale.unfold(&w, b - t);
        for (x, y) in xs.iter().zip(&ys) {
            assert_eq!(sigmoid(dot(&raw, x) + bias) >= 0.5 - 1e-4, *y, "{x:?}");
        }
    }
}
