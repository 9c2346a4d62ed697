//! [`WeightFormat`]: how the encoder's linear layers hold and multiply their weights, and
//! which format this CPU runs best.

use super::cpu_tier::CpuTier;

/// How the linear layers' weights are held and multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// Int8 weights (one scale per output), u8 activations (one scale per token), integer dot
    /// products with AVX-512 VNNI, AVX-VNNI or AVX2; unpadded batches. The default where the
    /// CPU has AVX2.
    Int8,
    /// Dequantised to f32 at load; candle's f32 matmuls. The reference, and the default on
    /// CPUs without AVX2.
    F32,
    /// Kept as Q4_0 blocks; candle's quantised matmul (activations quantised to Q8_0).
    Q4,
}

impl WeightFormat {
    /// The fastest format the int8 kernels of `tier` run well: int8 from AVX2 up.
    pub fn best_for(tier: CpuTier) -> Self {
        if tier >= CpuTier::Avx2 {
            WeightFormat::Int8
        } else {
            WeightFormat::F32
        }
    }

    /// [`WeightFormat::best_for`] the best tier this CPU has.
    pub fn best_for_this_cpu() -> Self {
        Self::best_for(CpuTier::detect())
    }

    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::Int8 => "int8",
            WeightFormat::F32 => "f32",
            WeightFormat::Q4 => "q4",
        }
    }
}

impl std::fmt::Display for WeightFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
