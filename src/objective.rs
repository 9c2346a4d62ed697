//! The training objective shared by `tact train` (heads on frozen vectors) and `tact tune`
//! (heads and LoRA adapters together): targets built from partial labels, the heads' losses,
//! seeded initialisation and temperature fitting.
//!
//! Records carry partial labels and each trains only what it carries: an `intent` is a 9-way
//! target of the intent head; `sentiment` and `abusive` train their own heads; the corpora's
//! binary labels (`complaint`, `spam`, `question`, `request`, `misinformation`) train the
//! `labels` head, one sigmoid each, so a missing label is unknown rather than 0 and the
//! English-only corpus labels no longer pull the nine brand intents their way.

use crate::data::{Record, CORPUS_LABELS};
use crate::model::heads::HeadNets;
use candle_core::{Device, Tensor, D};
use candle_nn::VarMap;

pub struct ClassTarget {
    pub row: usize,
    pub class: u32,
}

pub struct BinaryTarget {
    pub row: usize,
    pub y: f32,
}

pub struct LabelTarget {
    pub row: usize,
    /// Index into [`CORPUS_LABELS`].
    pub label: u32,
    pub y: f32,
}

/// What a set of records asks of the heads; `row` indexes the matrix of their vectors.
#[derive(Default)]
pub struct Targets {
    pub intent: Vec<ClassTarget>,
    pub sentiment: Vec<ClassTarget>,
    pub abusive: Vec<BinaryTarget>,
    pub labels: Vec<LabelTarget>,
    /// Follow-ups after a brand answer that carry an action: 1 when it is `wait` (RSRA).
    pub follow_up: Vec<BinaryTarget>,
}

impl Targets {
    pub fn add(&mut self, r: &Record, row: usize) {
        if let Some(action) = r.action {
            let answered = crate::playbook::History::from_thread(&r.thread).brand_answers > 0;
            if answered {
                let y = (action == crate::labels::Action::Wait) as u8 as f32;
                self.follow_up.push(BinaryTarget { row, y });
            }
        }
        if let Some(intent) = r.intent {
            self.intent.push(ClassTarget {
                row,
                class: intent.index() as u32,
            });
        }
        if let Some(s) = r.sentiment {
            self.sentiment.push(ClassTarget {
                row,
                class: s.index() as u32,
            });
        }
        for (label, &v) in &r.labels {
            if label == "abusive" {
                self.abusive.push(BinaryTarget { row, y: v as f32 });
            } else if let Some(k) = CORPUS_LABELS.iter().position(|l| l == label) {
                self.labels.push(LabelTarget {
                    row,
                    label: k as u32,
                    y: v as f32,
                });
            }
        }
    }

    pub fn of(records: &[&Record]) -> Self {
        let mut t = Targets::default();
        records.iter().enumerate().for_each(|(i, r)| t.add(r, i));
        t
    }
}

/// Weights of the heads' losses in the sum that is minimised.
#[derive(Debug, Clone, Copy)]
pub struct LossWeights {
    /// The corpora's binary labels, against 1 for each other head.
    pub labels: f32,
}

/// A small deterministic generator for shuffling, sampling and initialisation (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [-1, 1).
    pub fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
    pub fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            xs.swap(i, (self.next_u64() % (i as u64 + 1)) as usize);
        }
    }
}

fn rows_tensor(x: &Tensor, rows: impl Iterator<Item = usize>) -> candle_core::Result<Tensor> {
    let idx: Vec<u32> = rows.map(|r| r as u32).collect();
    let n = idx.len();
    x.index_select(&Tensor::from_vec(idx, n, &Device::Cpu)?, 0)
}

fn cpu<T: candle_core::WithDType>(
    v: Vec<T>,
    shape: impl Into<candle_core::Shape>,
) -> candle_core::Result<Tensor> {
    Tensor::from_vec(v, shape, &Device::Cpu)
}

/// Mean negative log-likelihood of a softmax head.
fn class_loss(logits: &Tensor, t: &[ClassTarget], temp: f64) -> candle_core::Result<Tensor> {
    let logp = candle_nn::ops::log_softmax(&(logits / temp)?, D::Minus1)?;
    let classes = cpu(t.iter().map(|t| t.class).collect(), (t.len(), 1))?;
    logp.gather(&classes, 1)?.squeeze(1)?.neg()?.mean_all()
}

/// Mean binary cross-entropy with logits `z` (stable: max(z,0) − z·y + ln(1 + e^{−|z|})).
fn bce(z: &Tensor, y: Vec<f32>) -> candle_core::Result<Tensor> {
    let n = y.len();
    let y = cpu(y, n)?;
    ((z.relu()? - (z * &y)?)? + (z.abs()?.neg()?.exp()? + 1.0)?.log()?)?.mean_all()
}

/// Heads, in the order of [`Temperatures`](crate::model::heads::Temperatures).
pub const HEADS: usize = 5;

/// One head's loss (0 intent, 1 sentiment, 2 abusive, 3 labels, 4 follow-up) at a
/// temperature; `None` when no target asks anything of that head.
pub fn head_loss(
    nets: &HeadNets,
    x: &Tensor,
    t: &Targets,
    head: usize,
    temp: f64,
) -> candle_core::Result<Option<Tensor>> {
    let logits = |mlp: &crate::model::heads::Mlp, rows: Vec<usize>| {
        mlp.logits(&rows_tensor(x, rows.into_iter())?)
    };
    Ok(match head {
        0 if !t.intent.is_empty() => {
            let z = logits(&nets.intent, t.intent.iter().map(|t| t.row).collect())?;
            Some(class_loss(&z, &t.intent, temp)?)
        }
        1 if !t.sentiment.is_empty() => {
            let z = logits(&nets.sentiment, t.sentiment.iter().map(|t| t.row).collect())?;
            Some(class_loss(&z, &t.sentiment, temp)?)
        }
        2 if !t.abusive.is_empty() => {
            let z = logits(&nets.abusive, t.abusive.iter().map(|t| t.row).collect())?;
            Some(bce(
                &(z.squeeze(1)? / temp)?,
                t.abusive.iter().map(|t| t.y).collect(),
            )?)
        }
        3 if !t.labels.is_empty() => match &nets.labels {
            Some(head) => {
                let z = logits(head, t.labels.iter().map(|t| t.row).collect())?;
                let cols = cpu(
                    t.labels.iter().map(|t| t.label).collect(),
                    (t.labels.len(), 1),
                )?;
                let z = (z.gather(&cols, 1)?.squeeze(1)? / temp)?;
                Some(bce(&z, t.labels.iter().map(|t| t.y).collect())?)
            }
            None => None,
        },
        4 if !t.follow_up.is_empty() => match &nets.follow_up {
            Some(head) => {
                let z = logits(head, t.follow_up.iter().map(|t| t.row).collect())?;
                Some(bce(
                    &(z.squeeze(1)? / temp)?,
                    t.follow_up.iter().map(|t| t.y).collect(),
                )?)
            }
            None => None,
        },
        _ => None,
    })
}

/// The sum that training minimises: every head's mean loss, the labels head weighted.
pub fn total_loss(
    nets: &HeadNets,
    x: &Tensor,
    t: &Targets,
    w: LossWeights,
) -> candle_core::Result<Tensor> {
    let mut total: Option<Tensor> = None;
    for head in 0..HEADS {
        if let Some(l) = head_loss(nets, x, t, head, 1.0)? {
            let l = if head == 3 { (l * w.labels as f64)? } else { l };
            total = Some(match total {
                Some(sum) => (sum + l)?,
                None => l,
            });
        }
    }
    total.ok_or_else(|| candle_core::Error::Msg("a batch with no targets".into()))
}

/// Calibration losses of each head at temperature 1 (0 where a head has no targets).
pub fn head_losses(nets: &HeadNets, x: &Tensor, t: &Targets) -> candle_core::Result<[f32; HEADS]> {
    let mut out = [0f32; HEADS];
    for (head, o) in out.iter_mut().enumerate() {
        if let Some(l) = head_loss(nets, x, t, head, 1.0)? {
            *o = l.to_scalar()?;
        }
    }
    Ok(out)
}

/// Temperature scaling: per head, the T of a grid (0.5 to 4.0) that minimises its loss on `t`.
pub fn fit_temperatures(
    nets: &HeadNets,
    x: &Tensor,
    t: &Targets,
) -> candle_core::Result<[f64; HEADS]> {
    let grid: Vec<f64> = (10..=80).map(|k| k as f64 * 0.05).collect();
    let mut temps = [1.0f64; HEADS];
    for (head, temp) in temps.iter_mut().enumerate() {
        let mut best = (f32::MAX, 1.0);
        for &g in &grid {
            if let Some(l) = head_loss(nets, x, t, head, g)? {
                let l = l.to_scalar::<f32>()?;
                if l < best.0 {
                    best = (l, g);
                }
            }
        }
        *temp = best.1;
    }
    Ok(temps)
}

/// Every head parameter, initialised from the seeded generator (candle's CPU generator cannot
/// be seeded): U(−1/√fan_in, 1/√fan_in), as PyTorch's `nn.Linear` does. `HeadNets::new` then
/// finds them in the map instead of drawing its own; the map holds the parameters to optimise.
pub fn seeded_heads(
    rng: &mut Rng,
    dim: usize,
    hidden: usize,
    labels_head: bool,
    follow_up_head: bool,
) -> candle_core::Result<(VarMap, HeadNets)> {
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().unwrap();
        for (head, outputs) in HeadNets::names(labels_head, follow_up_head) {
            for (layer, rows, cols) in [("hidden", hidden, dim), ("out", outputs, hidden)] {
                let bound = 1.0 / (cols as f32).sqrt();
                let mut init =
                    |n: usize| -> Vec<f32> { (0..n).map(|_| rng.uniform() * bound).collect() };
                let w = cpu(init(rows * cols), (rows, cols))?;
                let b = cpu(init(rows), rows)?;
                data.insert(
                    format!("{head}.{layer}.weight"),
                    candle_core::Var::from_tensor(&w)?,
                );
                data.insert(
                    format!("{head}.{layer}.bias"),
                    candle_core::Var::from_tensor(&b)?,
                );
            }
        }
    }
    let vb = candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &Device::Cpu);
    let nets = HeadNets::new(vb, dim, hidden, labels_head, follow_up_head)?;
    Ok((varmap, nets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record {
        crate::data::parse_record(json).unwrap()
    }

    #[test]
    fn each_label_trains_only_its_head() {
        let a = record(
            r#"{"id":"a","text":"x","lang":"en","intent":"spam","sentiment":"neutral","labels":{"abusive":0}}"#,
        );
        let b = record(r#"{"id":"b","text":"y","lang":"en","labels":{"complaint":1,"request":0}}"#);
        let t = Targets::of(&[&a, &b]);
        assert_eq!(t.intent.len(), 1);
        assert_eq!(t.sentiment.len(), 1);
        assert_eq!(t.abusive.len(), 1);
        let labels: Vec<(usize, u32, f32)> =
            t.labels.iter().map(|l| (l.row, l.label, l.y)).collect();
        assert_eq!(labels, vec![(1, 0, 1.0), (1, 3, 0.0)]);
        assert!(t.follow_up.is_empty());
    }

    #[test]
    fn a_follow_up_after_a_brand_answer_trains_the_follow_up_head() {
        let thread = r#"[{"text":"late again","from_brand":false},{"text":"Sorry, DM us","from_brand":true}]"#;
        let wait = record(&format!(
            r#"{{"id":"w","text":"forget it","lang":"en","action":"wait","thread":{thread}}}"#
        ));
        let calm = record(&format!(
            r#"{{"id":"c","text":"order 4411, thanks","lang":"en","action":"acknowledge","thread":{thread}}}"#
        ));
        // The brand's own post opening a thread is not an answer.
        let post = record(
            r#"{"id":"p","text":"love it","lang":"en","action":"thank","thread":[{"text":"New menu!","from_brand":true}]}"#,
        );
        let t = Targets::of(&[&wait, &calm, &post]);
        let ys: Vec<(usize, f32)> = t.follow_up.iter().map(|t| (t.row, t.y)).collect();
        assert_eq!(ys, vec![(0, 1.0), (1, 0.0)]);
    }

    #[test]
    fn losses_fall_when_the_heads_learn_and_temperatures_are_fitted() {
        let mut rng = Rng(7);
        let (varmap, nets) = seeded_heads(&mut rng, 4, 8, true, true).unwrap();
        let recs: Vec<Record> = (0..16)
            .map(|i| {
                let (intent, c) = if i % 2 == 0 { ("praise", 1) } else { ("complaint", 0) };
                record(&format!(r#"{{"id":"{i}","text":"t","lang":"en","intent":"{intent}","sentiment":"neutral","labels":{{"abusive":{c},"spam":{c}}}}}"#))
            })
            .collect();
        let x: Vec<f32> = (0..16)
            .flat_map(|i| {
                if i % 2 == 0 {
                    [1.0, 0.0, 0.5, 0.0]
                } else {
                    [0.0, 1.0, 0.0, 0.5]
                }
            })
            .collect();
        let x = cpu(x, (16, 4)).unwrap();
        let t = Targets::of(&recs.iter().collect::<Vec<_>>());
        let w = LossWeights { labels: 0.5 };
        let before = total_loss(&nets, &x, &t, w)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        let mut opt = candle_nn::AdamW::new_lr(varmap.all_vars(), 0.05).unwrap();
        for _ in 0..50 {
            candle_nn::Optimizer::backward_step(&mut opt, &total_loss(&nets, &x, &t, w).unwrap())
                .unwrap();
        }
        let after = total_loss(&nets, &x, &t, w)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(after < before * 0.5, "{before} -> {after}");
        let temps = fit_temperatures(&nets, &x, &t).unwrap();
        let l1 = head_losses(&nets, &x, &t).unwrap();
        // Head 4 (follow-ups) has no targets here: no record answers a brand.
        assert!(head_loss(&nets, &x, &t, 4, 1.0).unwrap().is_none());
        for head in 0..HEADS - 1 {
            let fitted = head_loss(&nets, &x, &t, head, temps[head])
                .unwrap()
                .unwrap()
                .to_scalar::<f32>()
                .unwrap();
            assert!(
                fitted <= l1[head] + 1e-6,
                "head {head}: {fitted} > {}",
                l1[head]
            );
        }
    }
}
