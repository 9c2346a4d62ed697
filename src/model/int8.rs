//! The encoder's forward pass with int8 linear layers ([`super::gemm`]) and hand-written f32
//! attention and norms ([`super::ops`]): the fast path on CPUs with AVX-512 VNNI.
//!
//! A batch is never padded: the texts' tokens are laid end to end as one `[tokens, hidden]`
//! matrix, the linear layers run over all of it at once, and attention runs per text. So a
//! batch costs what its real tokens cost, however unequal its lengths. Work is split over a
//! rayon pool of its own (column blocks of each matmul, (text, head) pairs of attention,
//! rows of the norms); the whole pass runs inside that pool so the splits stay cheap.

use super::encoder::{TokenEmbeddings, Tokens};
use super::gemm::{matmul, Epilogue, Int8Linear, QuantizedRows};
use super::ops::{self, simd_twin};
use super::q4file::{dequantize_q4, Q4File, Shape};
use super::ModelError;
use rayon::prelude::*;

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Norm {
    fn load(file: &Q4File, name: &str, size: usize) -> Result<Self, ModelError> {
        Ok(Self {
            weight: file.f32s(&format!("{name}.w"), size)?,
            bias: file.f32s(&format!("{name}.b"), size)?,
        })
    }

    /// Normalises every row of `x` in place, rows split over the pool.
    fn apply(&self, x: &mut [f32], eps: f32) {
        let h = self.weight.len();
        let rows_per_part = (x.len() / h).div_ceil(rayon::current_num_threads()).max(1);
        x.par_chunks_mut(rows_per_part * h)
            .for_each(|part| norm_rows(part, &self.weight, &self.bias, eps));
    }
}

simd_twin! {
    fn norm_rows(x: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
        for row in x.chunks_exact_mut(weight.len()) {
            ops::layer_norm(row, weight, bias, eps);
        }
    }
}

struct Layer {
    /// Query, key and value stacked: one matmul gives `[tokens, 3 × hidden]`.
    qkv: Int8Linear,
    attention_out: Int8Linear,
    attention_norm: Norm,
    ffn_in: Int8Linear,
    ffn_out: Int8Linear,
    output_norm: Norm,
}

pub struct Int8Bert {
    pub shape: Shape,
    embeddings: TokenEmbeddings,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    pool: rayon::ThreadPool,
}

/// Loads one linear layer of the file, dequantised, as `[rows][cols]` f32.
fn dense(file: &Q4File, name: &str, rows: usize, cols: usize) -> Result<Vec<f32>, ModelError> {
    let mut w = vec![0f32; rows * cols];
    dequantize_q4(file.q4_blocks(&format!("{name}.w"), rows, cols)?, &mut w);
    Ok(w)
}

fn linear(file: &Q4File, name: &str, rows: usize, cols: usize) -> Result<Int8Linear, ModelError> {
    let bias = file.f32s(&format!("{name}.b"), rows)?;
    Ok(Int8Linear::new(
        &dense(file, name, rows, cols)?,
        bias,
        rows,
        cols,
    ))
}

impl Int8Bert {
    /// `threads`: the pool's size (0 = one per core).
    pub fn load(file: &Q4File, threads: usize) -> Result<Self, ModelError> {
        let s = file.shape;
        let (h, ff) = (s.hidden, s.intermediate);
        let layers = (0..s.layers)
            .map(|l| {
                let name = |n: &str| format!("l{l}.{n}");
                let mut qkv = Vec::with_capacity(3 * h * h);
                let mut qkv_bias = Vec::with_capacity(3 * h);
                for part in ["q", "k", "v"] {
                    qkv.extend(dense(file, &name(part), h, h)?);
                    qkv_bias.extend(file.f32s(&format!("{}.b", name(part)), h)?);
                }
                Ok(Layer {
                    qkv: Int8Linear::new(&qkv, qkv_bias, 3 * h, h),
                    attention_out: linear(file, &name("ao"), h, h)?,
                    attention_norm: Norm::load(file, &name("aln"), h)?,
                    ffn_in: linear(file, &name("fi"), ff, h)?,
                    ffn_out: linear(file, &name("fo"), h, ff)?,
                    output_norm: Norm::load(file, &name("oln"), h)?,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("tact-encoder-{i}"))
            .build()
            .map_err(|e| ModelError::Config(format!("encoder threads: {e}")))?;
        Ok(Self {
            shape: s,
            embeddings: TokenEmbeddings::load(file)?,
            embedding_norm: Norm::load(file, "emb.ln", h)?,
            layers,
            pool,
        })
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    /// Sentence embeddings (mean over tokens, L2-normalised) for a batch.
    pub fn embed(&self, batch: &[Tokens]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.pool.install(|| self.embed_in_pool(batch))
    }

    fn embed_in_pool(&self, batch: &[Tokens]) -> Result<Vec<Vec<f32>>, ModelError> {
        let s = self.shape;
        let (h, eps) = (s.hidden, s.layer_norm_eps);
        let mut starts = Vec::with_capacity(batch.len() + 1);
        starts.push(0);
        for t in batch {
            if t.ids.is_empty() || t.ids.len() > s.max_positions {
                return Err(ModelError::Inference(format!(
                    "sequence length {} is not in 1..={}",
                    t.ids.len(),
                    s.max_positions
                )));
            }
            starts.push(starts.last().unwrap() + t.ids.len());
        }
        let tokens = *starts.last().unwrap();

        let mut x = vec![0f32; tokens * h];
        for (t, start) in batch.iter().zip(&starts) {
            for (p, &id) in t.ids.iter().enumerate() {
                self.embeddings
                    .write(id, p, &mut x[(start + p) * h..(start + p + 1) * h])?;
            }
        }
        self.embedding_norm.apply(&mut x, eps);

        let mut quantized = QuantizedRows::default();
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut mid = vec![0f32; tokens * s.intermediate];
        for layer in &self.layers {
            quantized.quantize(&x, h);
            matmul(&quantized, &layer.qkv, &mut qkv, Epilogue::Bias);
            self.attention(&qkv, &starts, &mut context);
            quantized.quantize(&context, h);
            matmul(&quantized, &layer.attention_out, &mut x, Epilogue::AddTo);
            layer.attention_norm.apply(&mut x, eps);
            quantized.quantize(&x, h);
            matmul(&quantized, &layer.ffn_in, &mut mid, Epilogue::BiasGelu);
            quantized.quantize(&mid, s.intermediate);
            matmul(&quantized, &layer.ffn_out, &mut x, Epilogue::AddTo);
            layer.output_norm.apply(&mut x, eps);
        }

        Ok(starts
            .windows(2)
            .map(|w| {
                let mut mean = vec![0f32; h];
                for row in x[w[0] * h..w[1] * h].chunks_exact(h) {
                    mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
                }
                let norm = mean.iter().map(|v| v * v).sum::<f32>().sqrt();
                mean.iter_mut().for_each(|m| *m /= norm);
                mean
            })
            .collect())
    }

    /// Self-attention per text and head: `qkv` is `[tokens, q | k | v]`, `context` `[tokens, hidden]`.
    fn attention(&self, qkv: &[f32], starts: &[usize], context: &mut [f32]) {
        let s = self.shape;
        let heads = s.heads;
        let head_dim = s.hidden / heads;
        // Work items (text, head), split into equal shares of the quadratic cost.
        let cost: usize = starts
            .windows(2)
            .map(|w| (w[1] - w[0]).pow(2))
            .sum::<usize>()
            * heads;
        let parts = rayon::current_num_threads();
        let mut shares: Vec<Vec<(usize, usize)>> = vec![Vec::new(); parts];
        let mut done = 0;
        for (text, w) in starts.windows(2).enumerate() {
            for head in 0..heads {
                let part = (done * parts / cost.max(1)).min(parts - 1);
                shares[part].push((text, head));
                done += (w[1] - w[0]).pow(2);
            }
        }
        let out = SharedContext(context.as_mut_ptr());
        shares.into_par_iter().for_each(|items| {
            let mut scratch = Vec::new();
            for (text, head) in items {
                let rows = starts[text]..starts[text + 1];
                // SAFETY: each (text, head) writes only its own rows × head columns.
                unsafe { attend(qkv, rows, head, head_dim, s.hidden, out, &mut scratch) };
            }
        });
    }
}

/// A pointer to the context matrix; writers own disjoint (rows, head) sections.
#[derive(Clone, Copy)]
struct SharedContext(*mut f32);
// SAFETY: see `Int8Bert::attention`.
unsafe impl Send for SharedContext {}
unsafe impl Sync for SharedContext {}

/// Attention of one head over one text's rows.
///
/// # Safety
/// No other thread may write `out`'s section for these rows and this head meanwhile.
unsafe fn attend(
    qkv: &[f32],
    rows: std::ops::Range<usize>,
    head: usize,
    head_dim: usize,
    hidden: usize,
    out: SharedContext,
    scratch: &mut Vec<f32>,
) {
    let len = rows.len();
    let stride = 3 * hidden;
    // Keys transposed ([head_dim][len]) so each score row is a sum of contiguous rows.
    scratch.clear();
    scratch.resize(head_dim * len + len + head_dim, 0.0);
    let (keys_t, rest) = scratch.split_at_mut(head_dim * len);
    let (scores, ctx) = rest.split_at_mut(len);
    for (j, row) in rows.clone().enumerate() {
        let k = &qkv[row * stride + hidden + head * head_dim..][..head_dim];
        for (d, &v) in k.iter().enumerate() {
            keys_t[d * len + j] = v;
        }
    }
    let scale = 1.0 / (head_dim as f32).sqrt();
    for row in rows.clone() {
        let q = &qkv[row * stride + head * head_dim..][..head_dim];
        attend_row(
            q,
            keys_t,
            qkv,
            rows.start,
            stride,
            hidden + hidden + head * head_dim,
            scale,
            scores,
            ctx,
        );
        let dst =
            std::slice::from_raw_parts_mut(out.0.add(row * hidden + head * head_dim), head_dim);
        dst.copy_from_slice(ctx);
    }
}

simd_twin! {
    /// One query row: scores against every key, softmax, weighted sum of the values.
    fn attend_row(
        q: &[f32],
        keys_t: &[f32],
        qkv: &[f32],
        first_row: usize,
        stride: usize,
        value_col: usize,
        scale: f32,
        scores: &mut [f32],
        ctx: &mut [f32],
    ) {
        let len = scores.len();
        scores.fill(0.0);
        for (d, &qd) in q.iter().enumerate() {
            let qd = qd * scale;
            for (s, k) in scores.iter_mut().zip(&keys_t[d * len..(d + 1) * len]) {
                *s += qd * k;
            }
        }
        ops::softmax(scores);
        ctx.fill(0.0);
        for (j, &p) in scores.iter().enumerate() {
            let v = &qkv[(first_row + j) * stride + value_col..][..ctx.len()];
            for (c, v) in ctx.iter_mut().zip(v) {
                *c += p * v;
            }
        }
    }
}
