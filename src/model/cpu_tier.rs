//! [`CpuTier`]: which instruction set the int8 encoder's kernels run on, what this CPU has,
//! and the check that a tier asked for (to test or measure a lower one) is one the CPU runs.
//!
//! The tier is a plain value handed to the engine at load and down to every kernel call, so
//! one binary runs on any x86-64 CPU and two encoders in one process may run different tiers.
//! The CPU's features are read once, on first use.

/// An instruction-set tier of the int8 kernels, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CpuTier {
    /// No SIMD kernels: the int8 engine runs plain loops (slowly), so the default weights
    /// are candle's f32.
    Plain,
    /// AVX2 + FMA: u8×s8 products with `vpmaddubsw`/`vpmaddwd`, exact on 8-bit activations
    /// (|w| times (a − 127)·sign(w), so no pair sum saturates).
    Avx2,
    /// AVX-VNNI: `vpdpbusd` on 256-bit registers (VEX), 8-bit activations.
    AvxVnni,
    /// AVX-512 F/BW/VL/DQ + VNNI: `vpdpbusd` on 512-bit registers.
    #[serde(rename = "avx512")]
    Avx512Vnni,
}

/// Why a tier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("this CPU cannot run the {asked} kernels (it lacks {missing}); the best it runs is {best}")]
pub struct TierUnavailable {
    pub asked: CpuTier,
    pub missing: &'static str,
    pub best: CpuTier,
}

impl CpuTier {
    /// Every tier, lowest first.
    pub const ALL: [CpuTier; 4] = [
        CpuTier::Plain,
        CpuTier::Avx2,
        CpuTier::AvxVnni,
        CpuTier::Avx512Vnni,
    ];

    /// The name the `--cpu-features` flag and the reports use.
    pub fn name(self) -> &'static str {
        match self {
            CpuTier::Plain => "plain",
            CpuTier::Avx2 => "avx2",
            CpuTier::AvxVnni => "avx-vnni",
            CpuTier::Avx512Vnni => "avx512",
        }
    }

    /// The CPU features this tier's kernels are compiled for, as Linux's /proc/cpuinfo names
    /// them (for error messages).
    fn needs(self) -> &'static str {
        match self {
            CpuTier::Plain => "nothing",
            CpuTier::Avx2 => "avx2 and fma",
            CpuTier::AvxVnni => "avx2, fma and avx_vnni",
            CpuTier::Avx512Vnni => "avx512f/bw/vl/dq, avx512_vnni and fma",
        }
    }

    /// Whether this CPU runs this tier's kernels.
    pub fn is_available(self) -> bool {
        let features = detected();
        match self {
            CpuTier::Plain => true,
            CpuTier::Avx2 => features.avx2,
            CpuTier::AvxVnni => features.avx2 && features.avx_vnni,
            CpuTier::Avx512Vnni => features.avx512_vnni,
        }
    }

    /// The best tier this CPU runs.
    pub fn detect() -> CpuTier {
        *CpuTier::ALL
            .iter()
            .rev()
            .find(|t| t.is_available())
            .unwrap_or(&CpuTier::Plain)
    }

    /// `self` if this CPU runs it, else an error naming what it lacks. Tiers do not nest: a
    /// CPU may have AVX-512 VNNI and not AVX-VNNI (Ice Lake, Zen 4).
    pub fn check(self) -> Result<CpuTier, TierUnavailable> {
        if self.is_available() {
            Ok(self)
        } else {
            Err(TierUnavailable {
                asked: self,
                missing: self.needs(),
                best: CpuTier::detect(),
            })
        }
    }

    /// The highest tier at or below `self` that this CPU runs. The kernels dispatch on this,
    /// so that no value of `CpuTier` can make them execute an instruction the CPU lacks.
    pub fn usable(self) -> CpuTier {
        *CpuTier::ALL[..=self as usize]
            .iter()
            .rev()
            .find(|t| t.is_available())
            .unwrap_or(&CpuTier::Plain)
    }
}

impl std::fmt::Display for CpuTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the kernels need of the CPU, read once.
#[derive(Clone, Copy)]
struct Features {
    avx2: bool,
    avx_vnni: bool,
    avx512_vnni: bool,
}

fn detected() -> Features {
    static FEATURES: std::sync::LazyLock<Features> = std::sync::LazyLock::new(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::is_x86_feature_detected as has;
            let avx2 = has!("avx2") && has!("fma");
            Features {
                avx2,
                avx_vnni: has!("avxvnni"),
                avx512_vnni: avx2
                    && has!("avx512f")
                    && has!("avx512bw")
                    && has!("avx512vl")
                    && has!("avx512dq")
                    && has!("avx512vnni"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Features {
            avx2: false,
            avx_vnni: false,
            avx512_vnni: false,
        }
    });
    *FEATURES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detected_tier_is_available_and_usable_never_exceeds_the_request() {
        let best = CpuTier::detect();
        assert!(best.is_available());
        assert_eq!(CpuTier::Plain.check(), Ok(CpuTier::Plain));
        for tier in CpuTier::ALL {
            let usable = tier.usable();
            assert!(usable <= tier && usable.is_available(), "{tier} → {usable}");
            match tier.check() {
                Ok(t) => assert_eq!((t, usable), (tier, tier)),
                Err(e) => {
                    assert!(!tier.is_available());
                    assert_eq!(e.best, best);
                    assert!(e.to_string().contains(tier.name()), "{e}");
                }
            }
        }
    }
}
