//! [`WeightFormat`]: how the encoder's linear layers hold and multiply their weights, and
//! which format this CPU runs best.

/// How the linear layers' weights are held and multiplied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WeightFormat {
    /// Int8 weights (one scale per output), u8 activations (one scale per token), integer dot
    /// products with AVX-512 VNNI; unpadded batches. The default where the CPU has VNNI.
    Int8,
    /// Dequantised to f32 at load; candle's f32 matmuls. The reference, and the default on
    /// CPUs without VNNI.
    F32,
    /// Kept as Q4_0 blocks; candle's quantised matmul (activations quantised to Q8_0).
    Q4,
}

impl WeightFormat {
    /// The fastest format this CPU runs well.
    pub fn best_for_this_cpu() -> Self {
        if super::int8::has_vnni() {
            WeightFormat::Int8
        } else {
            WeightFormat::F32
        }
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
