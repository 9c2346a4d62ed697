//! `tact lint --train`: fits the reply head ([`crate::model::reply_head`]) on labelled draft
//! replies (`datasets/replies`). Each reply is cut into the linter's sentences; a sentence is a
//! positive example of a kind when the record's evidence for that kind overlaps it, a
//! negative one otherwise. The policy's own reply templates join as good replies: they are
//! what the linter must never flag. One logistic regression per kind (standardised vectors,
//! class-balanced, L2, full-batch Adam: deterministic) on the train and calibration splits;
//! the L2 strength and the threshold are picked by 5-fold cross-validation over records
//! (best F0.5 out of fold: precision first), the threshold folded into the bias of the final
//! fit on all of them, so that 0.5 is it. The test split is never read.

use crate::classify::Classifier;
use crate::data::{fnv1a, split_of, Split};
use crate::eval::lint::ReplyRecord;
use crate::model::batching::in_input_order;
use crate::model::reply_head::{dot, sigmoid, KindWeights, ReplyHead, ReplyHeadCard};
use crate::playbook::lint::{sentences, Kind};
use rayon::prelude::*;
use serde_json::json;
use std::path::Path;

/// The kinds the head learns: those a sentence's meaning breaks, which phrase lists miss.
pub const LEARNED: &[Kind] = Kind::MEANING;

/// L2 strengths tried by cross-validation.
const L2: &[f32] = &[1e-3, 1e-2, 1e-1];
/// How many times a template sentence counts in the fit.
const TEMPLATE_WEIGHT: usize = 4;
/// How far (in logits) the threshold stays above the policy's templates.
const TEMPLATE_MARGIN: f32 = 0.25;
/// Folds of the cross-validation; a record's sentences stay in one fold.
const FOLDS: u64 = 5;
const EPOCHS: usize = 400;
const LEARNING_RATE: f32 = 0.02;

/// One sentence of a labelled reply, with whether it breaks each of [`LEARNED`].
#[derive(Debug, Clone, PartialEq)]
pub struct SentenceExample {
    pub text: String,
    pub labels: Vec<bool>,
    /// The cross-validation fold of the reply it comes from.
    pub fold: u64,
    /// From one of the policy's templates: the head must not fire on it.
    pub template: bool,
}

/// The sentences of a record, labelled from its evidence.
pub fn examples(record: &ReplyRecord) -> Vec<SentenceExample> {
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
    split(
        &record.reply,
        fnv1a(&record.id) % FOLDS,
        false,
        |start, end| {
            LEARNED
                .iter()
                .map(|kind| {
                    evidence
                        .iter()
                        .any(|(k, s, e)| k == kind && *s < end && start < *e)
                })
                .collect()
        },
    )
}

/// The sentences of a reply known to be good (a policy template): negatives for every kind.
pub fn good_reply_examples(reply: &str) -> Vec<SentenceExample> {
    split(reply, fnv1a(reply) % FOLDS, true, |_, _| {
        vec![false; LEARNED.len()]
    })
}

/// `reply` cut into the linter's sentences, each labelled by `labels(start, end)`.
fn split(
    reply: &str,
    fold: u64,
    template: bool,
    labels: impl Fn(usize, usize) -> Vec<bool>,
) -> Vec<SentenceExample> {
    let chars: Vec<char> = reply.chars().collect();
    sentences(reply)
        .into_iter()
        .map(|[start, end]| SentenceExample {
            text: chars[start..end].iter().collect(),
            labels: labels(start, end),
            fold,
            template,
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

/// The encoder layers the head reads: a third, half, two thirds, five sixths of the way up,
/// and the last (4, 6, 8, 10, 12 of e5-small). The middle layers carry more of how a sentence
/// speaks to its reader than the last one: measured on the replies' train and calibration
/// splits against the test split, these layers together gave a per-sentence average precision
/// of 0.82 against 0.76 for the last layer alone (docs/lint.md).
pub fn layers_read(depth: usize) -> Vec<usize> {
    let mut layers: Vec<usize> = (2..=6).map(|k| (depth * k / 6).max(1)).collect();
    layers.dedup();
    layers
}

/// Each text's features for the head (the unit means after `layers`), batched by length.
fn embed(
    classifier: &Classifier,
    texts: &[String],
    layers: &[usize],
) -> anyhow::Result<Vec<Vec<f32>>> {
    let tokens = texts
        .iter()
        .map(|t| classifier.encoder.tokenize(t))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<_> = tokens.iter().collect();
    Ok(in_input_order(&refs, 32, |batch| {
        classifier.encoder.embed_tokens_at(batch, layers)
    })?)
}

/// What a run fitted, per kind, out of fold.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KindFit {
    pub kind: Kind,
    pub l2: f32,
    pub positives: usize,
    pub cv_f1: f64,
    pub cv_precision: f64,
    pub cv_recall: f64,
    /// Whether the threshold was raised above a template sentence (the cross-validated
    /// figures are then an upper bound).
    pub template_bound: bool,
}

/// Logits of every example, each from a fit on the other folds.
fn out_of_fold(xs: &[Vec<f32>], ys: &[bool], folds: &[u64], l2: f32) -> Vec<f32> {
    let mut logits = vec![0.0; xs.len()];
    for fold in 0..FOLDS {
        let (train_x, train_y): (Vec<Vec<f32>>, Vec<bool>) = xs
            .iter()
            .zip(ys)
            .zip(folds)
            .filter(|(_, f)| **f != fold)
            .map(|((x, y), _)| (x.clone(), *y))
            .unzip();
        let (w, b) = fit(&train_x, &train_y, l2);
        for (i, x) in xs.iter().enumerate() {
            if folds[i] == fold {
                logits[i] = dot(&w, x) + b;
            }
        }
    }
    logits
}

/// One kind: the L2 and threshold with the best out-of-fold F0.5, then the fit on everything,
/// its threshold raised above every template sentence (the policy's own replies must pass).
fn fit_kind(
    kind_index: usize,
    xs: &[Vec<f32>],
    examples: &[SentenceExample],
) -> (KindFit, Vec<f32>, f32) {
    let ys: Vec<bool> = examples.iter().map(|e| e.labels[kind_index]).collect();
    let folds: Vec<u64> = examples.iter().map(|e| e.fold).collect();
    let tried: Vec<(f32, f32, (f64, f64, f64))> = L2
        .iter()
        .map(|&l2| {
            let (threshold, figures) = best_threshold(&out_of_fold(xs, &ys, &folds, l2), &ys);
            (l2, threshold, figures)
        })
        .collect();
    let score = |f: &(f64, f64, f64)| f_half(f.1, f.2);
    let (l2, threshold, (f1, precision, recall)) = tried
        .into_iter()
        .reduce(|best, t| {
            if score(&t.2) > score(&best.2) {
                t
            } else {
                best
            }
        })
        .expect("L2 is not empty");
    let (w, b) = fit(xs, &ys, l2);
    let template_max = (xs.iter().zip(examples))
        .filter(|(_, e)| e.template)
        .map(|(x, _)| dot(&w, x) + b)
        .fold(f32::NEG_INFINITY, f32::max);
    let bound = template_max + TEMPLATE_MARGIN;
    let fitted = KindFit {
        template_bound: bound > threshold,
        kind: LEARNED[kind_index],
        l2,
        positives: ys.iter().filter(|y| **y).count(),
        cv_f1: f1,
        cv_precision: precision,
        cv_recall: recall,
    };
    (fitted, w, b - threshold.max(bound))
}

/// Fits the head on the train and calibration records, with `good_replies` (the policy's
/// templates) as negatives, and writes it to `out`.
pub fn run(
    classifier: &Classifier,
    records: &[ReplyRecord],
    good_replies: &[String],
    out: &Path,
    command: &str,
) -> anyhow::Result<Vec<KindFit>> {
    let mut examples: Vec<SentenceExample> = records
        .iter()
        .filter(|r| split_of(&r.id) != Split::Test)
        .flat_map(examples)
        .collect();
    let labelled = examples.len();
    examples.extend(good_replies.iter().flat_map(|r| good_reply_examples(r)));
    anyhow::ensure!(
        labelled > 0,
        "no sentences in the train or the calibration split"
    );
    let texts: Vec<String> = examples.iter().map(|s| s.text.clone()).collect();
    let layers = layers_read(classifier.encoder.shape().layers);
    let xs = embed(classifier, &texts, &layers)?;
    let scale = Scale::fit(&xs);
    let mut xs: Vec<Vec<f32>> = xs.iter().map(|x| scale.apply(x)).collect();
    // The templates weigh more than one labelled reply each: they are few, and a finding on
    // one stops the policy from loading.
    let templates = labelled..examples.len();
    for _ in 1..TEMPLATE_WEIGHT {
        xs.extend_from_within(templates.clone());
        examples.extend_from_within(templates.clone());
    }
    let learnable: Vec<usize> = (0..LEARNED.len())
        .filter(|&i| {
            let positives = examples.iter().filter(|e| e.labels[i]).count();
            if positives < FOLDS as usize {
                tracing::warn!("{}: {positives} examples; not learned", LEARNED[i]);
            }
            positives >= FOLDS as usize
        })
        .collect();
    let fitted: Vec<(KindFit, Vec<f32>, f32)> = learnable
        .par_iter()
        .map(|&i| fit_kind(i, &xs, &examples))
        .collect();
    let mut kinds = Vec::new();
    let mut fits = Vec::new();
    for (fit, w, b) in fitted {
        let (weights, bias) = scale.unfold(&w, b);
        kinds.push(KindWeights {
            kind: fit.kind.as_str().to_string(),
            weights,
            bias,
        });
        fits.push(fit);
    }
    let head = ReplyHead {
        card: ReplyHeadCard {
            embedding_dim: classifier.encoder.hidden_size() * layers.len(),
            layers,
            trained_at: crate::model::heads::utc_date(),
            command: command.to_string(),
            encoder_heads_trained_at: classifier.heads.card.trained_at.clone(),
            training: json!({
                "labelled_sentences": labelled,
                "template_sentences": (examples.len() - labelled) / TEMPLATE_WEIGHT,
                "template_weight": TEMPLATE_WEIGHT,
                "folds": FOLDS,
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
        assert!(e.iter().all(|s| s.fold == e[0].fold && s.fold < FOLDS));
        assert_eq!(e[1].text, "You picked the slow option.");
        let accusing = LEARNED.iter().position(|k| *k == Kind::Accusing).unwrap();
        let labelled: Vec<bool> = e.iter().map(|s| s.labels[accusing]).collect();
        assert_eq!(labelled, [false, true, false]);
        assert!(e
            .iter()
            .all(|s| s.labels.iter().filter(|l| **l).count() <= 1));
    }

    #[test]
    fn a_good_replys_sentences_are_negatives_for_every_kind() {
        let e = good_reply_examples("Sorry about the wait. We refund it today.");
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].text, "We refund it today.");
        assert!(e.iter().all(|s| s.labels == vec![false; LEARNED.len()]));
    }

    #[test]
    fn out_of_fold_logits_separate_what_each_fold_did_not_see() {
        // The label is the sign of the first coordinate; every fold holds both classes.
        let xs: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                let side = if i % 3 == 0 { 1.0 } else { -1.0 };
                vec![side * (1.0 + 0.05 * (i % 7) as f32), 0.2 * (i % 4) as f32]
            })
            .collect();
        let ys: Vec<bool> = (0..50).map(|i| i % 3 == 0).collect();
        let folds: Vec<u64> = (0..50).map(|i| (i / 2) % FOLDS).collect();
        let logits = out_of_fold(&xs, &ys, &folds, 1e-3);
        for (l, y) in logits.iter().zip(&ys) {
            assert_eq!(*l > 0.0, *y, "{logits:?}");
        }
        // A point mislabelled in its fold stays wrong out of fold: its own label was not seen.
        let mut flipped = ys.clone();
        flipped[4] = !flipped[4];
        let logits = out_of_fold(&xs, &flipped, &folds, 1e-3);
        assert_eq!(logits[4] > 0.0, ys[4]);
    }

    #[test]
    fn no_template_sentence_crosses_the_threshold() {
        // Positives on the right; a template sentence (good) sits among them.
        let mut examples: Vec<SentenceExample> = (0..40)
            .map(|i| SentenceExample {
                text: format!("s{i}"),
                labels: vec![i % 2 == 0; LEARNED.len()],
                fold: i % FOLDS,
                template: false,
            })
            .collect();
        let mut xs: Vec<Vec<f32>> = (0..40)
            .map(|i| vec![if i % 2 == 0 { 1.0 } else { -1.0 } + 0.01 * i as f32, 1.0])
            .collect();
        examples.push(SentenceExample {
            text: "template".into(),
            labels: vec![false; LEARNED.len()],
            fold: 0,
            template: true,
        });
        xs.push(vec![1.2, 1.0]);
        let (fitted, w, bias) = fit_kind(0, &xs, &examples);
        assert!(fitted.template_bound);
        assert!(
            dot(&w, &xs[40]) + bias < 0.0,
            "the template stays below 0.5"
        );
        assert!(
            dot(&w, &xs[38]) + bias > 0.0,
            "a positive further right is still found"
        );
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
