//! Integer matrix multiplication for the int8 encoder's linear layers.
//!
//! Weights are int8 with one scale per output column, packed once at load in the order the
//! instruction `vpdpbusd` reads them (4 consecutive inputs of each column), which is also the
//! order AVX2's `vpmaddubsw` + `vpmaddwd` read. Activations are quantised per row (per token)
//! to u8 over the row's own [min, max] with a zero point (the instructions multiply unsigned
//! by signed bytes, and GELU outputs are far from symmetric, so this keeps twice the
//! resolution a symmetric scale would): to 0..=255, or to 0..=127 on the AVX2 tier (see
//! [`super::tiles`]). The zero point's share of each sum, zero point × Σₖ w, comes from a
//! per-column sum computed at load and is subtracted. Sums are exact int32 (the kernels of
//! every [`CpuTier`] give the plain loop's sums bit for bit) until the epilogue turns them
//! back into f32 and adds the bias (plus GELU or a residual), so the only rounding is the two
//! quantisations.

use super::ops::{self, simd_twin};
use super::tiles::{activation_max, integer_tile, Tile, BLOCK_COLS, BLOCK_STEP, TILE_ROWS};
use crate::model::cpu_tier::CpuTier;
use rayon::prelude::*;
use std::ops::Range;

/// A linear layer `y = x·Wᵀ + b` with int8 weights, packed for [`matmul`].
pub struct Int8Linear {
    pub inputs: usize,
    pub outputs: usize,
    /// `[outputs/64][inputs/4][64][4]`: for each block, 4 consecutive inputs of each column.
    packed: Vec<i8>,
    /// Per output column: the weight scale.
    scale: Vec<f32>,
    /// Per output column: Σ of its int8 weights (times a row's zero point: its share of a sum).
    weight_sum: Vec<i32>,
    bias: Vec<f32>,
}

impl Int8Linear {
    /// Layer widths must be multiples of this (see [`Int8Linear::new`]).
    pub const BLOCK_COLS: usize = BLOCK_COLS;

    /// Quantises `weight` (`[outputs][inputs]`, row-major as in PyTorch) per output column.
    pub fn new(weight: &[f32], bias: Vec<f32>, outputs: usize, inputs: usize) -> Self {
        assert!(
            outputs.is_multiple_of(BLOCK_COLS) && inputs.is_multiple_of(4),
            "layer {outputs}×{inputs} is not a multiple of {BLOCK_COLS}×4"
        );
        assert_eq!(weight.len(), outputs * inputs);
        assert_eq!(bias.len(), outputs);
        let mut packed = vec![0i8; outputs * inputs];
        let mut scale = vec![0f32; outputs];
        let mut weight_sum = vec![0i32; outputs];
        for (n, row) in weight.chunks_exact(inputs).enumerate() {
            let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            scale[n] = if max > 0.0 { max / 127.0 } else { 1.0 };
            let (block, col) = (n / BLOCK_COLS, n % BLOCK_COLS);
            let mut sum = 0i32;
            for (k, &v) in row.iter().enumerate() {
                let q = (v / scale[n]).round().clamp(-127.0, 127.0) as i8;
                sum += q as i32;
                packed[block * inputs * BLOCK_COLS + (k / 4) * BLOCK_STEP + col * 4 + k % 4] = q;
            }
            weight_sum[n] = sum;
        }
        Self {
            inputs,
            outputs,
            packed,
            scale,
            weight_sum,
            bias,
        }
    }

    fn blocks(&self) -> usize {
        self.outputs / BLOCK_COLS
    }
}

/// Rows of activations quantised to u8, one scale and zero point per row; reused across calls.
#[derive(Default)]
pub struct QuantizedRows {
    pub cols: usize,
    data: Vec<u8>,
    scale: Vec<f32>,
    zero: Vec<i32>,
}

impl QuantizedRows {
    pub fn rows(&self) -> usize {
        self.scale.len()
    }

    /// Quantises `x` (`rows × cols`, row-major) per row over the row's [min, max] to the
    /// range `tier`'s matmul kernel takes, rows split over the current rayon pool.
    pub fn quantize(&mut self, tier: CpuTier, x: &[f32], cols: usize) {
        let levels = activation_max(tier) as f32;
        let rows = x.len() / cols;
        self.cols = cols;
        self.data.resize(rows * cols, 0);
        self.scale.resize(rows, 0.0);
        self.zero.resize(rows, 0);
        let per_part = rows.div_ceil(rayon::current_num_threads()).max(1);
        x.par_chunks(per_part * cols)
            .zip(self.data.par_chunks_mut(per_part * cols))
            .zip(self.scale.par_chunks_mut(per_part))
            .zip(self.zero.par_chunks_mut(per_part))
            .for_each(|(((x, data), scale), zero)| {
                quantize_rows(tier, x, cols, levels, data, scale, zero)
            });
    }
}

simd_twin! {
    fn quantize_rows(
        x: &[f32],
        cols: usize,
        levels: f32,
        data: &mut [u8],
        scale: &mut [f32],
        zero: &mut [i32],
    ) {
        let rows = x.chunks_exact(cols).zip(data.chunks_exact_mut(cols));
        for (((row, out), s), z) in rows.zip(scale).zip(zero) {
            let (lo, hi) = (ops::min(row).min(0.0), ops::max(row).max(0.0));
            // The range always holds 0, so 0 is exact and the zero point is in 0..=levels.
            *s = if hi > lo { (hi - lo) / levels } else { 1.0 };
            let inv = 1.0 / *s;
            *z = (-lo * inv).round() as i32;
            let zf = *z as f32;
            for (o, v) in out.iter_mut().zip(row) {
                let q = v * inv + zf;
                let q = if q > levels { levels } else if q < 0.0 { 0.0 } else { q };
                // Adding 2²³ rounds to the nearest integer (ties to even) and leaves it in the
                // low mantissa bits: unlike a float → int cast, this vectorises.
                *o = (q + 8_388_608.0).to_bits() as u8;
            }
        }
    }
}

/// What happens to each output after `x·Wᵀ + b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epilogue {
    /// `out = x·Wᵀ + b`
    Bias,
    /// `out = gelu(x·Wᵀ + b)`
    BiasGelu,
    /// `out += x·Wᵀ + b` (`out` holds the residual stream)
    AddTo,
}

/// `out = epilogue(a·Wᵀ + b)`, `out` being `a.rows() × w.outputs`, on the current rayon pool's
/// threads (each takes a share of the column blocks), with `tier`'s kernels (`a` quantised
/// for the same tier).
pub fn matmul(
    tier: CpuTier,
    a: &QuantizedRows,
    w: &Int8Linear,
    out: &mut [f32],
    epilogue: Epilogue,
) {
    assert_eq!(a.cols, w.inputs, "activation width vs layer inputs");
    assert_eq!(out.len(), a.rows() * w.outputs, "output size");
    let parts = rayon::current_num_threads().clamp(1, w.blocks());
    let out = SharedMut(out.as_mut_ptr());
    (0..parts).into_par_iter().for_each(|p| {
        let blocks = w.blocks() * p / parts..w.blocks() * (p + 1) / parts;
        // SAFETY: each part writes only its own column blocks of `out`.
        unsafe { matmul_blocks(tier, a, w, out, epilogue, blocks) }
    });
}

/// A pointer into an output that several threads write disjoint parts of (column blocks in
/// [`matmul`], (rows, head) sections in attention).
#[derive(Clone, Copy)]
pub(super) struct SharedMut(pub(super) *mut f32);
// SAFETY: every user hands its writers disjoint parts.
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

/// # Safety
/// No other thread may touch `out`'s columns in `blocks` meanwhile.
unsafe fn matmul_blocks(
    tier: CpuTier,
    a: &QuantizedRows,
    w: &Int8Linear,
    out: SharedMut,
    epilogue: Epilogue,
    blocks: Range<usize>,
) {
    let mut tile: Tile = [[0i32; BLOCK_COLS]; TILE_ROWS];
    let k = a.cols;
    for row0 in (0..a.rows()).step_by(TILE_ROWS) {
        let rows = TILE_ROWS.min(a.rows() - row0);
        for block in blocks.clone() {
            let packed = &w.packed[block * k * BLOCK_COLS..(block + 1) * k * BLOCK_COLS];
            let first = block * BLOCK_COLS;
            let weight_sum = &w.weight_sum[first..first + BLOCK_COLS];
            integer_tile(
                tier,
                &a.data[row0 * k..],
                rows,
                k,
                packed,
                weight_sum,
                &mut tile,
            );
            for (r, sums) in tile[..rows].iter().enumerate() {
                let row = row0 + r;
                let dst =
                    std::slice::from_raw_parts_mut(out.0.add(row * w.outputs + first), BLOCK_COLS);
                finish(
                    tier,
                    sums,
                    a.scale[row],
                    a.zero[row],
                    &w.scale[first..first + BLOCK_COLS],
                    weight_sum,
                    &w.bias[first..first + BLOCK_COLS],
                    dst,
                    epilogue,
                );
            }
        }
    }
}

simd_twin! {
    /// Integer sums → f32 outputs for one row of a tile.
    fn finish(
        sums: &[i32; BLOCK_COLS],
        row_scale: f32,
        row_zero: i32,
        scale: &[f32],
        weight_sum: &[i32],
        bias: &[f32],
        dst: &mut [f32],
        epilogue: Epilogue,
    ) {
        let values = sums.iter().zip(weight_sum).zip(scale).zip(bias);
        match epilogue {
            Epilogue::Bias => {
                for (d, (((s, o), c), b)) in dst.iter_mut().zip(values) {
                    *d = (s - row_zero * o) as f32 * (row_scale * c) + b;
                }
            }
            Epilogue::BiasGelu => {
                for (d, (((s, o), c), b)) in dst.iter_mut().zip(values) {
                    *d = ops::gelu((s - row_zero * o) as f32 * (row_scale * c) + b);
                }
            }
            Epilogue::AddTo => {
                for (d, (((s, o), c), b)) in dst.iter_mut().zip(values) {
                    *d += (s - row_zero * o) as f32 * (row_scale * c) + b;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weights(outputs: usize, inputs: usize) -> Vec<f32> {
        (0..outputs * inputs)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 0.1)
            .collect()
    }

    fn activations(rows: usize, cols: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| ((i * 104_729 % 2003) as f32 / 1001.0 - 1.0) * 3.0)
            .collect()
    }

    /// f32 reference: x·Wᵀ + b.
    fn reference(x: &[f32], w: &[f32], b: &[f32], cols: usize) -> Vec<f32> {
        x.chunks_exact(cols)
            .flat_map(|row| {
                w.chunks_exact(cols)
                    .zip(b)
                    .map(|(wr, b)| row.iter().zip(wr).map(|(a, b)| a * b).sum::<f32>() + b)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// The tiers this CPU runs; the others are reported as skipped.
    fn tiers_here() -> Vec<CpuTier> {
        CpuTier::ALL
            .into_iter()
            .filter(|t| {
                t.is_available() || {
                    eprintln!(
                        "SKIPPED: this CPU cannot run the {t} kernels, so they are not tested"
                    );
                    false
                }
            })
            .collect()
    }

    #[test]
    fn matmul_is_close_to_f32_on_every_tier_and_row_count() {
        let (outputs, inputs) = (128, 96);
        let w = weights(outputs, inputs);
        let b: Vec<f32> = (0..outputs).map(|i| i as f32 * 0.01).collect();
        let layer = Int8Linear::new(&w, b.clone(), outputs, inputs);
        for tier in tiers_here() {
            for rows in [1, 5, 6, 7, 13] {
                let x = activations(rows, inputs);
                let mut q = QuantizedRows::default();
                q.quantize(tier, &x, inputs);
                let mut out = vec![0f32; rows * outputs];
                matmul(tier, &q, &layer, &mut out, Epilogue::Bias);
                let want = reference(&x, &w, &b, inputs);
                let (mut err, mut norm) = (0f32, 0f32);
                for (g, r) in out.iter().zip(&want) {
                    err += (g - r) * (g - r);
                    norm += r * r;
                }
                let relative = (err / norm).sqrt();
                assert!(
                    relative < 0.01,
                    "{tier}, rows {rows}: relative error {relative}"
                );
            }
        }
    }

    #[test]
    fn every_tier_gives_the_plain_loops_outputs_bit_for_bit() {
        let (outputs, inputs) = (192, 384);
        let layer = Int8Linear::new(
            &weights(outputs, inputs),
            vec![0.5; outputs],
            outputs,
            inputs,
        );
        let x = activations(11, inputs);
        for tier in tiers_here() {
            let mut q = QuantizedRows::default();
            q.quantize(tier, &x, inputs);
            assert!(q.data.iter().all(|&v| v <= activation_max(tier)));
            for epilogue in [Epilogue::Bias, Epilogue::BiasGelu, Epilogue::AddTo] {
                let mut got = vec![0.25f32; 11 * outputs];
                let mut want = got.clone();
                matmul(tier, &q, &layer, &mut got, epilogue);
                matmul(CpuTier::Plain, &q, &layer, &mut want, epilogue);
                assert_eq!(got, want, "{tier}, {epilogue:?}");
            }
        }
    }

    #[test]
    fn epilogues_apply_gelu_and_residual() {
        let (outputs, inputs) = (64, 8);
        let w = weights(outputs, inputs);
        let b = vec![0.25; outputs];
        let layer = Int8Linear::new(&w, b.clone(), outputs, inputs);
        let x = activations(2, inputs);
        let mut q = QuantizedRows::default();
        let tier = CpuTier::detect();
        q.quantize(tier, &x, inputs);
        let mut plain = vec![0f32; 2 * outputs];
        matmul(tier, &q, &layer, &mut plain, Epilogue::Bias);
        let mut gelu = vec![0f32; 2 * outputs];
        matmul(tier, &q, &layer, &mut gelu, Epilogue::BiasGelu);
        let mut residual = vec![1.5f32; 2 * outputs];
        matmul(tier, &q, &layer, &mut residual, Epilogue::AddTo);
        for i in 0..plain.len() {
            assert!((gelu[i] - ops::gelu(plain[i])).abs() < 1e-6);
            assert!((residual[i] - (plain[i] + 1.5)).abs() < 1e-5);
        }
    }
}
