//! The int8 engine: the encoder's forward pass with int8 linear layers ([`gemm`], integer
//! kernels in [`tiles`]) and hand-written f32 attention and norms ([`ops`]), the fast path on
//! x86-64 CPUs with AVX2 or better. Each kernel runs the instruction set of the engine's
//! [`CpuTier`], chosen at load. It reads the weights file, the token embeddings and the tier
//! from the model layer and imports nothing else from it.
//!
//! A batch is never padded: the texts' tokens are laid end to end as one `[tokens, hidden]`
//! matrix, the linear layers run over all of it at once, and attention runs per text. So a
//! batch costs what its real tokens cost, however unequal its lengths. Work is split over a
//! rayon pool of its own (column blocks of each matmul, (text, head) pairs of attention,
//! rows of the norms); the whole pass runs inside that pool so the splits stay cheap.

mod gemm;
mod ops;
mod tiles;

use super::cpu_tier::CpuTier;
use super::embeddings::TokenEmbeddings;
use super::lora::{dense_weight, matrix_shape, Adapters};
use super::q4file::{Q4File, Shape};
use super::tokens::Tokens;
use super::{LayerMeans, ModelError};
use gemm::{matmul, Epilogue, Int8Linear, QuantizedRows, SharedMut};
use ops::simd_twin;
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
    fn apply(&self, tier: CpuTier, x: &mut [f32], eps: f32) {
        let h = self.weight.len();
        let rows_per_part = (x.len() / h).div_ceil(rayon::current_num_threads()).max(1);
        x.par_chunks_mut(rows_per_part * h)
            .for_each(|part| norm_rows(tier, part, &self.weight, &self.bias, eps));
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
    tier: CpuTier,
}

fn linear(
    file: &Q4File,
    layer: usize,
    matrix: &str,
    adapters: Option<&Adapters>,
) -> Result<Int8Linear, ModelError> {
    let (rows, cols) = matrix_shape(&file.shape, matrix).expect("a known matrix");
    let bias = file.f32s(&format!("l{layer}.{matrix}.b"), rows)?;
    Ok(Int8Linear::new(
        &dense_weight(file, layer, matrix, adapters)?,
        bias,
        rows,
        cols,
    ))
}

impl Int8Bert {
    /// `threads`: the pool's size (0 = one per core); `tier`: the kernels' instruction set,
    /// which this CPU must have. Adapters, when given, are merged into the weights before
    /// they are quantised.
    pub fn load(
        file: &Q4File,
        threads: usize,
        tier: CpuTier,
        adapters: Option<&Adapters>,
    ) -> Result<Self, ModelError> {
        let tier = tier.check()?;
        let s = file.shape;
        let (h, ff) = (s.hidden, s.intermediate);
        let block = Int8Linear::BLOCK_COLS;
        if s.heads == 0
            || h % s.heads != 0
            || !(h / s.heads).is_multiple_of(TILE_COLS)
            || !h.is_multiple_of(block)
            || !ff.is_multiple_of(block)
        {
            return Err(ModelError::Config(format!(
                "the int8 encoder needs a head size that is a multiple of {TILE_COLS} and layer \
                 widths that are multiples of {block}; this model has {} heads over {h} \
                 dimensions and {ff} in its feed-forward layers (use --weights f32)",
                s.heads
            )));
        }
        let layers = (0..s.layers)
            .map(|l| {
                let name = |n: &str| format!("l{l}.{n}");
                let mut qkv = Vec::with_capacity(3 * h * h);
                let mut qkv_bias = Vec::with_capacity(3 * h);
                for part in ["q", "k", "v"] {
                    qkv.extend(dense_weight(file, l, part, adapters)?);
                    qkv_bias.extend(file.f32s(&format!("{}.b", name(part)), h)?);
                }
                Ok(Layer {
                    qkv: Int8Linear::new(&qkv, qkv_bias, 3 * h, h),
                    attention_out: linear(file, l, "ao", adapters)?,
                    attention_norm: Norm::load(file, &name("aln"), h)?,
                    ffn_in: linear(file, l, "fi", adapters)?,
                    ffn_out: linear(file, l, "fo", adapters)?,
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
            tier,
        })
    }

    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        self.pool.install(work)
    }

    pub fn threads(&self) -> usize {
        self.pool.current_num_threads()
    }

    pub fn tier(&self) -> CpuTier {
        self.tier
    }

    /// Per text, the unit means of the hidden states after each of `at` layers (counted from
    /// 1, each at most the encoder's depth), concatenated in the order of `at`.
    pub fn embed_at(&self, batch: &[&Tokens], at: &[usize]) -> Result<Vec<Vec<f32>>, ModelError> {
        let h = self.shape.hidden;
        let mut means = LayerMeans::new(at);
        self.pool.install(|| {
            self.run(batch, means.deepest(), &mut |done, x, starts| {
                if means.wants(done) {
                    means.keep(done, unit_means(x, starts, h));
                }
            })
        })?;
        Ok(means.per_text(batch.len()))
    }

    /// The hidden states of every token after the first `layers` layers, one `[len × hidden]`
    /// vector per text: what `tact tune` trains the upper layers on.
    pub fn hidden_states(
        &self,
        batch: &[&Tokens],
        layers: usize,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        self.pool.install(|| {
            let (x, starts) = self.run(batch, layers.min(self.layers.len()), &mut |_, _, _| {})?;
            let h = self.shape.hidden;
            Ok(starts
                .windows(2)
                .map(|w| x[w[0] * h..w[1] * h].to_vec())
                .collect())
        })
    }

    /// Embeds the batch's tokens end to end and runs the first `layers` layers over them,
    /// showing `after_layer` the states after each (layers done, states, text starts);
    /// returns the hidden states and where each text starts (plus the end).
    fn run(
        &self,
        batch: &[&Tokens],
        layers: usize,
        after_layer: &mut AfterLayer,
    ) -> Result<(Vec<f32>, Vec<usize>), ModelError> {
        let (s, tier) = (self.shape, self.tier);
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
        self.embedding_norm.apply(tier, &mut x, eps);

        let mut quantized = QuantizedRows::default();
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut mid = vec![0f32; tokens * s.intermediate];
        for (done, layer) in (1..).zip(&self.layers[..layers]) {
            quantized.quantize(tier, &x, h);
            matmul(tier, &quantized, &layer.qkv, &mut qkv, Epilogue::Bias);
            self.attention(&qkv, &starts, &mut context);
            quantized.quantize(tier, &context, h);
            matmul(
                tier,
                &quantized,
                &layer.attention_out,
                &mut x,
                Epilogue::AddTo,
            );
            layer.attention_norm.apply(tier, &mut x, eps);
            quantized.quantize(tier, &x, h);
            matmul(
                tier,
                &quantized,
                &layer.ffn_in,
                &mut mid,
                Epilogue::BiasGelu,
            );
            quantized.quantize(tier, &mid, s.intermediate);
            matmul(tier, &quantized, &layer.ffn_out, &mut x, Epilogue::AddTo);
            layer.output_norm.apply(tier, &mut x, eps);
            after_layer(done, &x, &starts);
        }
        Ok((x, starts))
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
        let out = SharedMut(context.as_mut_ptr());
        shares.into_par_iter().for_each(|items| {
            let mut scratch = Vec::new();
            for (text, head) in items {
                let rows = starts[text]..starts[text + 1];
                // SAFETY: each (text, head) writes only its own rows × head columns.
                unsafe {
                    attend(
                        self.tier,
                        qkv,
                        rows,
                        head,
                        head_dim,
                        s.hidden,
                        out,
                        &mut scratch,
                    )
                };
            }
        });
    }
}

/// Attention of one head over one text's rows.
///
/// # Safety
/// No other thread may write `out`'s section for these rows and this head meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn attend(
    tier: CpuTier,
    qkv: &[f32],
    rows: std::ops::Range<usize>,
    head: usize,
    head_dim: usize,
    hidden: usize,
    out: SharedMut,
    scratch: &mut Vec<f32>,
) {
    let (len, padded) = (rows.len(), rows.len().next_multiple_of(TILE_COLS));
    scratch.clear();
    scratch.resize(head_dim * padded + len * padded + len * head_dim, 0.0);
    let (keys_t, rest) = scratch.split_at_mut(head_dim * padded);
    let (probs, ctx) = rest.split_at_mut(len * padded);
    let head_cols = Columns {
        stride: 3 * hidden,
        query: head * head_dim,
        key: hidden + head * head_dim,
        value: 2 * hidden + head * head_dim,
    };
    attend_head(
        tier,
        &qkv[rows.start * 3 * hidden..rows.end * 3 * hidden],
        head_cols,
        head_dim,
        keys_t,
        probs,
        ctx,
    );
    for (r, row) in rows.enumerate() {
        let dst =
            std::slice::from_raw_parts_mut(out.0.add(row * hidden + head * head_dim), head_dim);
        dst.copy_from_slice(&ctx[r * head_dim..(r + 1) * head_dim]);
    }
}

/// Where one head's query, key and value columns sit in a row of the `qkv` matrix.
#[derive(Clone, Copy)]
struct Columns {
    stride: usize,
    query: usize,
    key: usize,
    value: usize,
}

/// Columns per register tile in attention: one 16-lane register per row.
const TILE_COLS: usize = 16;
/// Rows per register tile in attention.
const TILE_ROWS: usize = 4;

simd_twin! {
    /// `ctx = softmax(Q·Kᵀ/√d)·V` for one head of one text. `qkv` holds the text's rows only;
    /// `keys_t` (`[head_dim][padded]`, zero beyond the text) and `probs` (`[len][padded]`) are
    /// scratch; `ctx` is `[len][head_dim]`.
    fn attend_head(
        qkv: &[f32],
        cols: Columns,
        head_dim: usize,
        keys_t: &mut [f32],
        probs: &mut [f32],
        ctx: &mut [f32],
    ) {
        let len = qkv.len() / cols.stride;
        let padded = keys_t.len() / head_dim;
        for (j, row) in qkv.chunks_exact(cols.stride).enumerate() {
            for (d, &v) in row[cols.key..cols.key + head_dim].iter().enumerate() {
                keys_t[d * padded + j] = v;
            }
        }
        let scale = 1.0 / (head_dim as f32).sqrt();
        for i0 in (0..len).step_by(TILE_ROWS) {
            let q = &qkv[i0 * cols.stride + cols.query..];
            for j0 in (0..padded).step_by(TILE_COLS) {
                let tile = tile_dispatch(len - i0, q, cols.stride, &keys_t[j0..], padded, head_dim);
                for (r, t) in tile.iter().take(len - i0).enumerate() {
                    let dst = &mut probs[(i0 + r) * padded + j0..][..TILE_COLS];
                    dst.iter_mut().zip(t).for_each(|(p, t)| *p = t * scale);
                }
            }
        }
        for row in probs.chunks_exact_mut(padded) {
            ops::softmax(&mut row[..len]);
        }
        for i0 in (0..len).step_by(TILE_ROWS) {
            for c0 in (0..head_dim).step_by(TILE_COLS) {
                let v = &qkv[cols.value + c0..];
                let tile = tile_dispatch(len - i0, &probs[i0 * padded..], padded, v, cols.stride, len);
                for (r, t) in tile.iter().take(len - i0).enumerate() {
                    ctx[(i0 + r) * head_dim + c0..][..TILE_COLS].copy_from_slice(t);
                }
            }
        }
    }
}

/// [`tile`] for `min(rows, TILE_ROWS)` rows; the rest of the result is zero.
#[inline(always)]
fn tile_dispatch(
    rows: usize,
    a: &[f32],
    a_stride: usize,
    b: &[f32],
    b_stride: usize,
    depth: usize,
) -> [[f32; TILE_COLS]; TILE_ROWS] {
    let mut out = [[0f32; TILE_COLS]; TILE_ROWS];
    match rows {
        1 => out[..1].copy_from_slice(&tile::<1>(a, a_stride, b, b_stride, depth)),
        2 => out[..2].copy_from_slice(&tile::<2>(a, a_stride, b, b_stride, depth)),
        3 => out[..3].copy_from_slice(&tile::<3>(a, a_stride, b, b_stride, depth)),
        _ => out = tile::<TILE_ROWS>(a, a_stride, b, b_stride, depth),
    }
    out
}

/// `out[r][c] = Σₖ a[r·a_stride + k] · b[k·b_stride + c]` for `R` rows and 16 columns, the
/// sums kept in registers.
#[inline(always)]
fn tile<const R: usize>(
    a: &[f32],
    a_stride: usize,
    b: &[f32],
    b_stride: usize,
    depth: usize,
) -> [[f32; TILE_COLS]; R] {
    let mut acc = [[0f32; TILE_COLS]; R];
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[r * a_stride..r * a_stride + depth]);
    for k in 0..depth {
        let bk: &[f32; TILE_COLS] = b[k * b_stride..k * b_stride + TILE_COLS]
            .try_into()
            .unwrap();
        for r in 0..R {
            let av = rows[r][k];
            for c in 0..TILE_COLS {
                acc[r][c] += av * bk[c];
            }
        }
    }
    acc
}

/// What [`Int8Bert::run`] shows after each layer: layers done, hidden states, text starts.
type AfterLayer<'a> = dyn FnMut(usize, &[f32], &[usize]) + 'a;

/// Per text (rows `starts[i]..starts[i + 1]` of `x`), the mean of its rows, L2-normalised.
fn unit_means(x: &[f32], starts: &[usize], h: usize) -> Vec<Vec<f32>> {
    starts
        .windows(2)
        .map(|w| {
            // The sum has the mean's direction; normalising makes it the unit mean.
            let mut sum = vec![0f32; h];
            for row in x[w[0] * h..w[1] * h].chunks_exact(h) {
                sum.iter_mut().zip(row).for_each(|(m, v)| *m += v);
            }
            let norm = sum.iter().map(|v| v * v).sum::<f32>().sqrt();
            sum.iter_mut().for_each(|m| *m /= norm);
            sum
        })
        .collect()
}
