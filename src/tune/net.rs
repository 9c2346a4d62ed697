//! The part of the encoder that `tact tune` trains: its upper layers in candle, each linear
//! layer frozen with a LoRA adapter beside it, then mean pooling and the heads.
//!
//! The frozen weights are the dequantised Q4_0 ones, as serving merges into. A frozen linear
//! layer is a custom op whose backward pass gives only the input's gradient: candle's matmul
//! would also compute the gradient of the frozen weight, as much work again for nothing.

use crate::model::lora::{dense_weight, matrix_shape, AdapterCard};
use crate::model::q4file::{Q4File, Shape};
use crate::model::ModelError;
use crate::objective::Rng;
use candle_core::{CpuStorage, CustomOp1, DType, Device, Layout, Tensor, Var, D};
use std::collections::HashMap;

/// `y = x·Wᵀ + b` with `W` frozen: forward and the input's gradient only.
#[derive(Clone)]
struct Frozen {
    /// `[outputs, inputs]`, for the backward pass.
    weight: Tensor,
    /// `[inputs, outputs]`, for the forward pass.
    weight_t: Tensor,
    bias: Tensor,
}

impl CustomOp1 for Frozen {
    fn name(&self) -> &'static str {
        "frozen-linear"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, candle_core::Shape)> {
        let (rows, inputs) = layout.shape().dims2()?;
        let x = match layout.contiguous_offsets() {
            Some((start, end)) => &storage.as_slice::<f32>()?[start..end],
            None => candle_core::bail!("frozen-linear needs a contiguous input"),
        };
        let x = Tensor::from_slice(x, (rows, inputs), &Device::Cpu)?;
        let y = x.matmul(&self.weight_t)?.broadcast_add(&self.bias)?;
        let outputs = y.dim(1)?;
        Ok((
            CpuStorage::F32(y.flatten_all()?.to_vec1()?),
            (rows, outputs).into(),
        ))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        Ok(Some(grad_res.matmul(&self.weight)?))
    }
}

/// A frozen linear layer with a LoRA adapter: `x·Wᵀ + b + scale · (x·Aᵀ)·Bᵀ`.
struct AdaptedLinear {
    frozen: Frozen,
    a: Var,
    b: Var,
    scale: f64,
}

impl AdaptedLinear {
    /// `x_dropped` is `x` after dropout (the adapter's input only, as in PEFT).
    fn forward(&self, x: &Tensor, x_dropped: &Tensor) -> candle_core::Result<Tensor> {
        let base = x.apply_op1(self.frozen.clone())?;
        let low = x_dropped
            .matmul(&self.a.as_tensor().t()?)?
            .matmul(&self.b.as_tensor().t()?)?;
        base + (low * self.scale)?
    }
}

struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    /// Layer norm written with differentiable ops (candle's fused one has no backward pass).
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim(D::Minus1)?;
        let normed = centred.broadcast_div(&(var + self.eps)?.sqrt()?)?;
        normed
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)
    }
}

struct Layer {
    linears: HashMap<&'static str, AdaptedLinear>,
    attention_norm: Norm,
    output_norm: Norm,
}

/// The trainable upper layers.
pub struct UpperLayers {
    shape: Shape,
    first: usize,
    layers: Vec<Layer>,
    dropout: f32,
    /// Every adapter factor, by its name in `adapters.safetensors`.
    pub vars: Vec<(String, Var)>,
}

fn cpu_vec(v: Vec<f32>, shape: impl Into<candle_core::Shape>) -> candle_core::Result<Tensor> {
    Tensor::from_vec(v, shape, &Device::Cpu)
}

impl UpperLayers {
    /// Layers `card.layers` of the encoder in `file` (they must be its last ones, in order),
    /// adapters initialised as LoRA does: `A` uniform (Kaiming, a = √5), `B` zero, so the
    /// tuned encoder starts as the plain one.
    pub fn new(
        file: &Q4File,
        card: &AdapterCard,
        dropout: f32,
        rng: &mut Rng,
    ) -> Result<Self, ModelError> {
        let s = file.shape;
        let first = s.layers - card.layers.len();
        if card.layers != (first..s.layers).collect::<Vec<_>>() {
            return Err(ModelError::Config(format!(
                "tuned layers must be the encoder's last ones, got {:?}",
                card.layers
            )));
        }
        let eps = s.layer_norm_eps as f64;
        let mut vars = Vec::new();
        let mut layers = Vec::new();
        for l in first..s.layers {
            let mut linears = HashMap::new();
            for matrix in crate::model::lora::MATRICES {
                let (outputs, inputs) = matrix_shape(&s, matrix).expect("known matrix");
                let w = cpu_vec(dense_weight(file, l, matrix, None)?, (outputs, inputs))?;
                let bias = cpu_vec(file.f32s(&format!("l{l}.{matrix}.b"), outputs)?, outputs)?;
                let frozen = Frozen {
                    weight_t: w.t()?.contiguous()?,
                    weight: w,
                    bias,
                };
                let adapted = card.matrices.iter().any(|m| m == matrix);
                let rank = if adapted { card.rank } else { 0 };
                // Kaiming-uniform with a = √5 gives a bound of 1/√fan_in.
                let bound = 1.0 / (inputs as f32).sqrt();
                let a: Vec<f32> = (0..rank * inputs).map(|_| rng.uniform() * bound).collect();
                let a = Var::from_tensor(&cpu_vec(a, (rank, inputs))?)?;
                let b = Var::zeros((outputs, rank), DType::F32, &Device::Cpu)?;
                if adapted {
                    vars.push((format!("l{l}.{matrix}.a"), a.clone()));
                    vars.push((format!("l{l}.{matrix}.b"), b.clone()));
                }
                linears.insert(
                    matrix,
                    AdaptedLinear {
                        frozen,
                        a,
                        b,
                        scale: if adapted { card.scale() as f64 } else { 0.0 },
                    },
                );
            }
            let norm = |n: &str| -> Result<Norm, ModelError> {
                Ok(Norm {
                    weight: cpu_vec(file.f32s(&format!("l{l}.{n}.w"), s.hidden)?, s.hidden)?,
                    bias: cpu_vec(file.f32s(&format!("l{l}.{n}.b"), s.hidden)?, s.hidden)?,
                    eps,
                })
            };
            layers.push(Layer {
                linears,
                attention_norm: norm("aln")?,
                output_norm: norm("oln")?,
            });
        }
        Ok(Self {
            shape: s,
            first,
            layers,
            dropout,
            vars,
        })
    }

    /// The first tuned layer: the int8 encoder runs the ones below it.
    pub fn first_layer(&self) -> usize {
        self.first
    }

    /// Sentence vectors (mean over real tokens, L2-normalised) from the hidden states that
    /// enter the first tuned layer. `states[i]` is text i's `[len × hidden]`; the batch is
    /// padded to its longest text and masked. `rng`: dropout on the adapters' inputs
    /// (`None`: evaluation, no dropout).
    pub fn forward(&self, states: &[&[f32]], rng: Option<&mut Rng>) -> candle_core::Result<Tensor> {
        let h = self.shape.hidden;
        let heads = self.shape.heads;
        let head_dim = h / heads;
        let n = states.len();
        let len = states.iter().map(|s| s.len() / h).max().unwrap_or(0);
        let mut x = vec![0f32; n * len * h];
        let mut mask = vec![0f32; n * len];
        for (i, s) in states.iter().enumerate() {
            x[i * len * h..i * len * h + s.len()].copy_from_slice(s);
            mask[i * len..i * len + s.len() / h]
                .iter_mut()
                .for_each(|m| *m = 1.0);
        }
        let mut x = cpu_vec(x, (n * len, h))?;
        let mask = cpu_vec(mask, (n, len))?;
        let bias = ((mask.clone() - 1.0)? * 1e9)?.reshape((n, 1, 1, len))?;
        let scale = 1.0 / (head_dim as f64).sqrt();
        let split = |t: Tensor| -> candle_core::Result<Tensor> {
            t.reshape((n, len, heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()
        };
        let mut rng = rng;
        let mut drop = |t: &Tensor| -> candle_core::Result<Tensor> {
            match rng.as_deref_mut() {
                Some(r) if self.dropout > 0.0 => {
                    let keep = 1.0 / (1.0 - self.dropout);
                    let threshold = self.dropout * 2.0 - 1.0;
                    let m: Vec<f32> = (0..t.elem_count())
                        .map(|_| if r.uniform() < threshold { 0.0 } else { keep })
                        .collect();
                    t * cpu_vec(m, t.shape().clone())?
                }
                _ => Ok(t.clone()),
            }
        };
        for layer in &self.layers {
            let lin = |name: &str| &layer.linears[name];
            let xd = drop(&x)?;
            let q = split(lin("q").forward(&x, &xd)?)?;
            let k = split(lin("k").forward(&x, &xd)?)?;
            let v = split(lin("v").forward(&x, &xd)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
            let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((n * len, h))?;
            let attended = lin("ao").forward(&context, &drop(&context)?)?;
            x = layer.attention_norm.forward(&(attended + &x)?)?;
            let mid = lin("fi").forward(&x, &drop(&x)?)?.gelu_erf()?;
            let out = lin("fo").forward(&mid, &drop(&mid)?)?;
            x = layer.output_norm.forward(&(out + &x)?)?;
        }
        let x = x.reshape((n, len, h))?;
        let summed = x.broadcast_mul(&mask.unsqueeze(2)?)?.sum(1)?;
        let norm = summed.sqr()?.sum_keepdim(1)?.sqrt()?;
        summed.broadcast_div(&norm)
    }

    /// The adapters' current values, by name.
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    }
}
