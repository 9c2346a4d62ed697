//! The integer core of the int8 matmul: exact int32 sums of u8 activations × s8 weights for a
//! tile of up to six rows and one packed block of 64 columns, one kernel per [`CpuTier`].
//!
//! - AVX-512 VNNI: `vpdpbusd` on four 512-bit registers per row, the whole block at once.
//! - AVX-VNNI: the VEX `vpdpbusd` on 256-bit registers, in strips of 16 columns (2 registers
//!   per row, 6 rows: 12 accumulators of the 16 registers VEX code can name); on a CPU whose
//!   512-bit units are full width (Zen 5) each instruction does half the AVX-512 one's work.
//! - AVX2: `vpmaddubsw` multiplies u8 × s8 and adds adjacent pairs into *saturating* int16,
//!   then `vpmaddwd` by 1 widens and adds the pairs into int32. With u8 activations a pair
//!   reaches 2 × 255 × 127 = 64 770 and would saturate. So this tier quantises activations to
//!   0..=254 and multiplies |w| (unsigned, ≤ 127) by (a − 127)·sign(w) (signed, |·| ≤ 127):
//!   a pair is at most 2 × 127 × 127 = 32 258 and fits, and the accumulators start at
//!   127 · Σw so that the sums come out as Σ a·w, exactly. (Quantising activations to 7 bits
//!   instead costs no `vpsignb`, but quadrupled the activations' quantisation noise: the
//!   worst brand comment's cosine to f32 fell from 0.9994 to 0.9977.)
//! - Plain: a loop over the same packed data; the reference every other kernel equals.

use crate::model::cpu_tier::CpuTier;

/// Output columns per packed block: four 16-lane registers.
pub(super) const BLOCK_COLS: usize = 64;
/// Bytes of one block per group of 4 inputs (64 columns × 4 bytes).
pub(super) const BLOCK_STEP: usize = BLOCK_COLS * 4;
/// Rows per register tile: 6 rows × 4 registers = 24 accumulators, leaving room for the
/// weights and the broadcast row in AVX-512's 32 registers.
pub(super) const TILE_ROWS: usize = 6;

pub(super) type Tile = [[i32; BLOCK_COLS]; TILE_ROWS];

/// The largest activation value `tier`'s kernel multiplies exactly (see the module doc).
pub(super) fn activation_max(tier: CpuTier) -> u8 {
    match tier.usable() {
        CpuTier::Avx2 => 2 * AVX2_OFFSET as u8,
        _ => 255,
    }
}

/// What the AVX2 kernel subtracts from activations to make them fit a signed byte.
const AVX2_OFFSET: i32 = 127;

/// Calls `$kernel::<R, ...>($args)` for the run-time row count `$rows` (1..=6).
macro_rules! by_rows {
    ($rows:expr, $kernel:ident$(::<$($g:tt),*>)?($($arg:expr),*)) => {
        match $rows {
            6 => $kernel::<6 $($(, $g)*)?>($($arg),*),
            5 => $kernel::<5 $($(, $g)*)?>($($arg),*),
            4 => $kernel::<4 $($(, $g)*)?>($($arg),*),
            3 => $kernel::<3 $($(, $g)*)?>($($arg),*),
            2 => $kernel::<2 $($(, $g)*)?>($($arg),*),
            _ => $kernel::<1 $($(, $g)*)?>($($arg),*),
        }
    };
}

/// Runs a 256-bit strip kernel over a tile: row groups of `SUB` rows, strips of `REGS`
/// registers (8 columns each).
macro_rules! strips {
    ($kernel:ident, $sub:literal, $regs:literal, $a:expr, $rows:expr, $k:expr, $packed:expr, $sums:expr, $tile:expr) => {
        for row0 in (0..$rows).step_by($sub) {
            let sub = ($rows - row0).min($sub);
            let (a, tile) = (&$a[row0 * $k..], &mut $tile[row0..]);
            for col0 in (0..BLOCK_COLS).step_by(8 * $regs) {
                by_rows!(sub, $kernel::<$regs>(a, $packed, $sums, $k, col0, tile));
            }
        }
    };
}

/// Sums of `rows` rows of `a` (each `k` bytes, at most [`activation_max`]`(tier)`) with the 64
/// columns of one packed block, into `tile[..rows]`; `weight_sum` holds the block's 64 column
/// sums Σw.
pub(super) fn integer_tile(
    tier: CpuTier,
    a: &[u8],
    rows: usize,
    k: usize,
    packed: &[i8],
    weight_sum: &[i32],
    tile: &mut Tile,
) {
    assert!(
        (1..=TILE_ROWS).contains(&rows)
            && k.is_multiple_of(4)
            && a.len() >= rows * k
            && packed.len() >= k / 4 * BLOCK_STEP
            && weight_sum.len() >= BLOCK_COLS
    );
    match tier.usable() {
        // SAFETY (all three): `usable` is a tier whose features this CPU has; the slices were
        // checked to hold `rows` rows of `k` bytes and one packed block.
        #[cfg(target_arch = "x86_64")]
        CpuTier::Avx512Vnni => unsafe { by_rows!(rows, avx512_tile(a, packed, k, tile)) },
        // 6 rows × 2 registers: 12 accumulators, 2 weights and the row. (3 × 4, 2 × 4, 1 × 8
        // and 2 × 8 were 10–45% slower on the 2-vCPU Zen 5 this was tuned on.)
        #[cfg(target_arch = "x86_64")]
        CpuTier::AvxVnni => unsafe {
            strips!(vnni256_strip, 6, 2, a, rows, k, packed, weight_sum, tile)
        },
        // 3 rows × 2 registers: 6 accumulators, 2 weights, 2 |weights|, the row, the constants
        // and the products (2 × 4, 1 × 8, 2 × 2 and 4 × 2 were no faster beyond noise).
        #[cfg(target_arch = "x86_64")]
        CpuTier::Avx2 => unsafe { strips!(avx2_strip, 3, 2, a, rows, k, packed, weight_sum, tile) },
        _ => plain_tile(&a[..rows * k], k, packed, tile),
    }
}

/// The reference: the same sums, one product at a time.
fn plain_tile(a: &[u8], k: usize, packed: &[i8], tile: &mut Tile) {
    for (row, sums) in a.chunks_exact(k).zip(tile.iter_mut()) {
        sums.fill(0);
        for (group, step) in row.chunks_exact(4).zip(packed.chunks_exact(BLOCK_STEP)) {
            for (col, s) in sums.iter_mut().enumerate() {
                let wv = &step[col * 4..col * 4 + 4];
                *s += (0..4).map(|i| group[i] as i32 * wv[i] as i32).sum::<i32>();
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// `ROWS` rows × 64 columns of int32 sums, all in registers until the end.
///
/// # Safety
/// Needs AVX-512 F/BW/VNNI; `a` holds `ROWS` rows of `k` bytes, `packed` one block.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn avx512_tile<const ROWS: usize>(a: &[u8], packed: &[i8], k: usize, tile: &mut Tile) {
    let mut acc = [[_mm512_setzero_si512(); 4]; ROWS];
    let a = a.as_ptr();
    let mut w = packed.as_ptr();
    for group in 0..k / 4 {
        let w0 = _mm512_loadu_si512(w as *const _);
        let w1 = _mm512_loadu_si512(w.add(64) as *const _);
        let w2 = _mm512_loadu_si512(w.add(128) as *const _);
        let w3 = _mm512_loadu_si512(w.add(192) as *const _);
        for (r, acc) in acc.iter_mut().enumerate() {
            let x = _mm512_set1_epi32((a.add(r * k + group * 4) as *const i32).read_unaligned());
            acc[0] = _mm512_dpbusd_epi32(acc[0], x, w0);
            acc[1] = _mm512_dpbusd_epi32(acc[1], x, w1);
            acc[2] = _mm512_dpbusd_epi32(acc[2], x, w2);
            acc[3] = _mm512_dpbusd_epi32(acc[3], x, w3);
        }
        w = w.add(BLOCK_STEP);
    }
    for (r, acc) in acc.iter().enumerate() {
        for (j, v) in acc.iter().enumerate() {
            _mm512_storeu_si512(tile[r][j * 16..].as_mut_ptr() as *mut _, *v);
        }
    }
}

/// Defines a 256-bit strip kernel: `ROWS` rows × the 16 columns of strip `strip` of a block;
/// accumulators start at `$start(column sums)` and `$dot(acc, x, w)` adds four u8 × s8
/// products per lane into `acc`.
macro_rules! strip_kernel {
    (
        $(#[$meta:meta])* $name:ident, $features:literal,
        |$sums:ident| $start:expr,
        |$acc:ident, $x:ident, $w:ident| $dot:expr
    ) => {
        $(#[$meta])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name<const ROWS: usize, const REGS: usize>(
            a: &[u8],
            packed: &[i8],
            weight_sum: &[i32],
            k: usize,
            col0: usize,
            tile: &mut [[i32; BLOCK_COLS]],
        ) {
            let start: [__m256i; REGS] = std::array::from_fn(|j| {
                let $sums = _mm256_loadu_si256(weight_sum[col0 + 8 * j..].as_ptr() as *const _);
                $start
            });
            let mut acc = [start; ROWS];
            let a = a.as_ptr();
            let mut w = packed.as_ptr().add(col0 * 4);
            for group in 0..k / 4 {
                let ws: [__m256i; REGS] =
                    std::array::from_fn(|j| _mm256_loadu_si256(w.add(32 * j) as *const _));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let row = a.add(r * k + group * 4) as *const i32;
                    let x = _mm256_set1_epi32(row.read_unaligned());
                    for (acc, w) in acc.iter_mut().zip(ws) {
                        let ($acc, $x, $w) = (*acc, x, w);
                        *acc = $dot;
                    }
                }
                w = w.add(BLOCK_STEP);
            }
            for (r, acc) in acc.iter().enumerate() {
                for (j, v) in acc.iter().enumerate() {
                    let dst = tile[r][col0 + j * 8..].as_mut_ptr();
                    _mm256_storeu_si256(dst as *mut _, *v);
                }
            }
        }
    };
}

strip_kernel!(
    /// # Safety
    /// Needs AVX2 and AVX-VNNI; `a` holds `ROWS` rows of `k` bytes, `packed` one block.
    vnni256_strip,
    "avx2,avxvnni",
    |_sums| _mm256_setzero_si256(),
    |acc, x, w| _mm256_dpbusd_avx_epi32(acc, x, w)
);

strip_kernel!(
    /// # Safety
    /// Needs AVX2; `a` holds `ROWS` rows of `k` bytes of at most 254, `packed` one block.
    avx2_strip,
    "avx2",
    // Σ a·w = Σ (a − 127)·w + 127·Σw.
    |sums| _mm256_mullo_epi32(sums, _mm256_set1_epi32(AVX2_OFFSET)),
    |acc, x, w| {
        // (a − 127)·sign(w) × |w|: pairs in int16 (at most 2 × 127 × 127, exact), then pairs
        // of pairs in int32. The compiler computes |w| once per weight register and a − 127
        // once per row.
        let signed = _mm256_sign_epi8(_mm256_sub_epi8(x, _mm256_set1_epi8(AVX2_OFFSET as i8)), w);
        let pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(w), signed);
        _mm256_add_epi32(acc, _mm256_madd_epi16(pairs, _mm256_set1_epi16(1)))
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Activations up to `max` and weights over the whole int8 range, extremes included.
    fn data(rows: usize, k: usize, max: u8) -> (Vec<u8>, Vec<i8>, Vec<i32>) {
        let mut a: Vec<u8> = (0..rows * k)
            .map(|i| (i * 104_729 % 2003 % (max as usize + 1)) as u8)
            .collect();
        a[..8].fill(max);
        let mut packed: Vec<i8> = (0..k / 4 * BLOCK_STEP)
            .map(|i| (i * 7919 % 255) as i32 - 127)
            .map(|v| v as i8)
            .collect();
        packed[..8].fill(127);
        packed[8..16].fill(-127);
        let weight_sum = (0..BLOCK_COLS)
            .map(|c| {
                let column = packed.chunks_exact(4).skip(c).step_by(BLOCK_COLS);
                column.flatten().map(|&w| w as i32).sum()
            })
            .collect();
        (a, packed, weight_sum)
    }

    #[test]
    fn every_tier_this_cpu_has_gives_the_plain_loops_sums_exactly() {
        let k = 384;
        for tier in CpuTier::ALL {
            if !tier.is_available() {
                eprintln!("SKIPPED: this CPU cannot run the {tier} kernel, so it is not tested");
                continue;
            }
            let max = activation_max(tier);
            let (a, packed, weight_sum) = data(TILE_ROWS, k, max);
            for rows in 1..=TILE_ROWS {
                let mut got = [[0i32; BLOCK_COLS]; TILE_ROWS];
                let mut want = [[0i32; BLOCK_COLS]; TILE_ROWS];
                integer_tile(tier, &a, rows, k, &packed, &weight_sum, &mut got);
                plain_tile(&a[..rows * k], k, &packed, &mut want);
                assert_eq!(got[..rows], want[..rows], "{tier}, {rows} rows");
            }
        }
    }

    #[test]
    fn the_avx2_tier_takes_activations_up_to_254() {
        assert_eq!(activation_max(CpuTier::Plain), 255);
        if CpuTier::Avx2.is_available() {
            assert_eq!(activation_max(CpuTier::Avx2), 254);
        }
    }
}
