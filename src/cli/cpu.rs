//! `--cpu-features` / `TACT_CPU_FEATURES`: which instruction set the int8 kernels run, the
//! best this CPU has or a lower one forced (to test or measure that tier on a bigger CPU).
//! Resolved once at start into a [`CpuTier`] that is handed down to the encoder.

use crate::model::{CpuTier, WeightFormat};
use clap::{Args, ValueEnum};

/// A value of `--cpu-features`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CpuFeatures {
    /// The best tier this CPU has.
    Auto,
    /// AVX-512 VNNI.
    Avx512,
    /// AVX-VNNI (256-bit `vpdpbusd`).
    AvxVnni,
    /// AVX2 + FMA.
    Avx2,
    /// No SIMD: the default weights become f32; `--weights int8` runs plain loops (slowly).
    Plain,
}

#[derive(Args, Debug, Clone)]
pub struct CpuArgs {
    /// Instruction set of the int8 encoder's kernels: auto (the best this CPU has), or a
    /// tier the CPU has: avx512, avx-vnni, avx2, plain.
    #[arg(long, env = "TACT_CPU_FEATURES", value_enum, default_value_t = CpuFeatures::Auto)]
    pub cpu_features: CpuFeatures,
}

impl CpuArgs {
    /// The tier asked for; an error if this CPU lacks it.
    pub fn tier(&self) -> anyhow::Result<CpuTier> {
        let asked = match self.cpu_features {
            CpuFeatures::Auto => return Ok(CpuTier::detect()),
            CpuFeatures::Avx512 => CpuTier::Avx512Vnni,
            CpuFeatures::AvxVnni => CpuTier::AvxVnni,
            CpuFeatures::Avx2 => CpuTier::Avx2,
            CpuFeatures::Plain => CpuTier::Plain,
        };
        Ok(asked.check()?)
    }

    /// The tier, and the weight format: `weights` if given, else the best for the tier
    /// (logged, since on a CPU without AVX2 it is the ten times slower f32 path).
    pub fn resolve(
        &self,
        weights: Option<WeightFormat>,
    ) -> anyhow::Result<(CpuTier, WeightFormat)> {
        let tier = self.tier()?;
        let format = weights.unwrap_or_else(|| {
            let best = WeightFormat::best_for(tier);
            if best == WeightFormat::F32 {
                tracing::warn!(
                    "no AVX2 kernels ({tier}; this CPU's best is {}): the encoder runs on \
                     candle f32, about ten times slower than int8",
                    CpuTier::detect()
                );
            }
            best
        });
        if format == WeightFormat::Int8 {
            tracing::info!("int8 encoder kernels: {tier}");
        }
        Ok((tier, format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_the_detected_tier_and_a_missing_tier_is_refused() {
        let args = |cpu_features| CpuArgs { cpu_features };
        assert_eq!(args(CpuFeatures::Auto).tier().unwrap(), CpuTier::detect());
        let (tier, format) = args(CpuFeatures::Plain).resolve(None).unwrap();
        assert_eq!((tier, format), (CpuTier::Plain, WeightFormat::F32));
        let forced = args(CpuFeatures::Plain).resolve(Some(WeightFormat::Int8));
        assert_eq!(forced.unwrap().1, WeightFormat::Int8);
        for (flag, tier) in [
            (CpuFeatures::Avx512, CpuTier::Avx512Vnni),
            (CpuFeatures::AvxVnni, CpuTier::AvxVnni),
            (CpuFeatures::Avx2, CpuTier::Avx2),
        ] {
            match args(flag).resolve(None) {
                Ok(got) => assert_eq!(got, (tier, WeightFormat::Int8)),
                Err(e) => {
                    assert!(!tier.is_available());
                    assert!(e.to_string().contains("cannot run"), "{e}");
                }
            }
        }
    }
}
