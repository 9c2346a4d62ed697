//! The f32 row operations of the int8 encoder ([`super`]): layer norm, GELU, softmax
//! and the `exp`/`erf` approximations they need.
//!
//! `exp` and `erf` are branch-free polynomials rather than libm calls so that the compiler
//! turns each loop into SIMD code: a scalar `erf` per GELU element was 10–13% of a stock
//! candle profile on this model. Callers in [`super`] run these loops inside functions
//! compiled for AVX-512 and for AVX2 (see [`simd_twin`]), with a plain twin for other CPUs;
//! all compile from the same source, so they compute the same thing.

/// Defines `fn $name(tier, args)` three times from one body — compiled for AVX-512, for
/// AVX2 + FMA, and plain — and runs the twin of `tier` (the AVX2 one serves AVX-VNNI too: only
/// the matmul differs there). The loops inside are what gets vectorised.
macro_rules! simd_twin {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident : $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name(tier: $crate::model::cpu_tier::CpuTier, $($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx512($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            unsafe fn avx2($($arg: $ty),*) $body
            #[allow(clippy::too_many_arguments)]
            fn plain($($arg: $ty),*) $body
            use $crate::model::cpu_tier::CpuTier;
            match tier.usable() {
                // SAFETY: `usable` is a tier whose features this CPU has.
                #[cfg(target_arch = "x86_64")]
                CpuTier::Avx512Vnni => unsafe { avx512($($arg),*) },
                #[cfg(target_arch = "x86_64")]
                CpuTier::AvxVnni | CpuTier::Avx2 => unsafe { avx2($($arg),*) },
                _ => plain($($arg),*),
            }
        }
    };
}
pub(crate) use simd_twin;

/// `e^x` to within 2 ulp on [-87, 88] (Cephes' `expf` polynomial); the input is clamped to that
/// range, which softmax over real tokens never leaves.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = if x < -87.0 { -87.0 } else { x };
    let x = if x > 88.0 { 88.0 } else { x };
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln 2 split in two so that x - n·ln 2 keeps its low bits.
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = 1.987_569_2e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.0e-1;
    let y = p * r * r + r + 1.0;
    // 2ⁿ built from its exponent bits; n + 127 (1..=254) is read off the low mantissa bits of
    // n + 127 + 2²³ because a float → int cast does not vectorise.
    let biased = (n + (127.0 + 8_388_608.0)).to_bits() & 0xff;
    y * f32::from_bits(biased << 23)
}

/// The error function to within 1e-6 (the rational approximation Eigen and XLA use for f32).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = if x < -4.0 { -4.0 } else { x };
    let x = if x > 4.0 { 4.0 } else { x };
    let x2 = x * x;
    let p = -2.726_142_3e-10_f32;
    let p = p * x2 + 2.770_681_4e-8;
    let p = p * x2 - 2.101_024e-6;
    let p = p * x2 - 5.692_506_4e-5;
    let p = p * x2 - 7.349_906_3e-4;
    let p = p * x2 - 2.954_600_1e-3;
    let p = p * x2 - 1.609_603_3e-2;
    let q = -1.456_607_2e-5_f32;
    let q = q * x2 - 2.133_740_6e-4;
    let q = q * x2 - 1.682_827e-3;
    let q = q * x2 - 7.373_329_2e-3;
    let q = q * x2 - 1.426_474e-2;
    x * p / q
}

/// GELU with the exact (erf) form, as BERT and E5 use.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// SIMD width the reductions below keep separate lanes for: the compiler may not reorder a
/// float sum, so a plain `.sum()` runs one element at a time; 16 running lanes vectorise.
const LANES: usize = 16;

/// Folds `map(x)` with `combine` in 16 interleaved lanes, then folds the lanes together
/// (`init` must be `combine`'s identity).
#[inline(always)]
fn reduce(
    x: &[f32],
    init: f32,
    map: impl Fn(f32) -> f32,
    combine: impl Fn(f32, f32) -> f32,
) -> f32 {
    let mut lanes = [init; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks {
        for i in 0..LANES {
            lanes[i] = combine(lanes[i], map(c[i]));
        }
    }
    // Halving folds: 4 dependent steps instead of 16.
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] = combine(lanes[i], lanes[i + width]);
        }
    }
    tail.iter().fold(lanes[0], |a, &v| combine(a, map(v)))
}

/// Σ `map(v)` over `x`.
#[inline(always)]
pub fn sum_of(x: &[f32], map: impl Fn(f32) -> f32) -> f32 {
    reduce(x, 0.0, map, |a, b| a + b)
}

#[inline(always)]
pub fn sum(x: &[f32]) -> f32 {
    sum_of(x, |v| v)
}

#[inline(always)]
pub fn max(x: &[f32]) -> f32 {
    reduce(
        x,
        f32::NEG_INFINITY,
        |v| v,
        |a, b| if b > a { b } else { a },
    )
}

#[inline(always)]
pub fn min(x: &[f32]) -> f32 {
    reduce(x, f32::INFINITY, |v| v, |a, b| if b < a { b } else { a })
}

/// Normalises one row in place to zero mean and unit variance, then scales and shifts it.
#[inline(always)]
pub fn layer_norm(row: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    let var = sum_of(row, |v| (v - mean) * (v - mean)) / n;
    let inv = 1.0 / (var + eps).sqrt();
    for ((v, w), b) in row.iter_mut().zip(weight).zip(bias) {
        *v = (*v - mean) * inv * w + b;
    }
}

/// Softmax of one row in place.
#[inline(always)]
pub fn softmax(row: &mut [f32]) {
    let max = max(row);
    row.iter_mut().for_each(|v| *v = exp(*v - max));
    let inv = 1.0 / sum(row);
    row.iter_mut().for_each(|v| *v *= inv);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn erf_reference(x: f64) -> f64 {
        // erf by its Taylor series, exact to f64 rounding for |x| <= 4 at this many terms.
        let mut term = x;
        let mut sum = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn exp_matches_the_standard_library() {
        for i in -8700..=8800 {
            let x = i as f32 / 100.0;
            let (got, want) = (exp(x) as f64, (x as f64).exp());
            assert!(
                ((got - want) / want).abs() < 1e-6,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert_eq!(exp(-1000.0), exp(-87.0));
        assert!(exp(-1e30) < 1e-37);
    }

    #[test]
    fn erf_is_within_1e6_of_the_series() {
        for i in -600..=600 {
            let x = i as f32 / 100.0;
            let want = if x.abs() > 4.5 {
                x.signum() as f64
            } else {
                erf_reference(x as f64)
            };
            let got = erf(x) as f64;
            assert!((got - want).abs() < 1e-6, "erf({x}) = {got}, want {want}");
        }
    }

    #[test]
    fn lane_reductions_match_sequential_ones() {
        for n in [0, 1, 15, 16, 17, 100, 384] {
            let x: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
                .collect();
            let want_sum: f32 = x.iter().sum();
            assert!((sum(&x) - want_sum).abs() < 1e-3, "sum of {n}");
            assert_eq!(max(&x), x.iter().cloned().fold(f32::NEG_INFINITY, f32::max));
            assert_eq!(min(&x), x.iter().cloned().fold(f32::INFINITY, f32::min));
        }
    }

    #[test]
    fn layer_norm_gives_zero_mean_unit_variance() {
        let mut row: Vec<f32> = (0..384)
            .map(|i| (i as f32 * 0.37).sin() * 5.0 + 2.0)
            .collect();
        let ones = vec![1.0; 384];
        let zeros = vec![0.0; 384];
        layer_norm(&mut row, &ones, &zeros, 1e-12);
        let mean = row.iter().sum::<f32>() / 384.0;
        let var = row.iter().map(|v| v * v).sum::<f32>() / 384.0 - mean * mean;
        assert!(
            mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4,
            "{mean} {var}"
        );
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut row = vec![1.0, 3.0, -2.0, 0.5, 80.0, -90.0];
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(row[4] > 0.99 && row[1] > row[0] && row[0] > row[3] && row[3] > row[2]);
        assert!(row[5] >= 0.0);
    }
}
