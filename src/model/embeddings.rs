//! The encoder's input embeddings (word + position + token type, before their layer norm),
//! shared by both engines: the word table stays Q4_0 and only the rows a batch uses are
//! dequantised (250k rows would be 384 MB as f32).

use super::q4file::{dequantize_q4, Q4File, Q4_BLOCK, Q4_BLOCK_BYTES};
use super::ModelError;

/// Word + position + token-type embeddings, before their layer norm; shared by both backends.
pub(super) struct TokenEmbeddings {
    vocab: usize,
    hidden: usize,
    /// Q4_0 blocks of the [vocab, hidden] word-embedding table.
    word_blocks: Vec<u8>,
    /// Position embeddings + token-type 0 embedding, folded: [max_positions, hidden].
    position_and_type: Vec<f32>,
}

impl TokenEmbeddings {
    pub(super) fn load(file: &Q4File) -> Result<Self, ModelError> {
        let s = file.shape;
        let h = s.hidden;
        let word_blocks = file.q4_blocks("emb.word", s.vocab, h)?.to_vec();
        let mut position_and_type = file.f32s("emb.pos", s.max_positions * h)?;
        let token_type = file.f32s("emb.type", s.type_vocab * h)?;
        for row in position_and_type.chunks_exact_mut(h) {
            row.iter_mut()
                .zip(&token_type[..h])
                .for_each(|(p, t)| *p += t);
        }
        Ok(Self {
            vocab: s.vocab,
            hidden: h,
            word_blocks,
            position_and_type,
        })
    }

    /// Writes the embedding of token `id` at position `pos` into `out` (`hidden` long).
    pub(super) fn write(&self, id: u32, pos: usize, out: &mut [f32]) -> Result<(), ModelError> {
        let (id, h) = (id as usize, self.hidden);
        if id >= self.vocab {
            return Err(ModelError::Inference(format!(
                "token id {id} outside the vocabulary"
            )));
        }
        let row_bytes = h / Q4_BLOCK * Q4_BLOCK_BYTES;
        dequantize_q4(&self.word_blocks[id * row_bytes..(id + 1) * row_bytes], out);
        let pos = &self.position_and_type[pos * h..(pos + 1) * h];
        out.iter_mut().zip(pos).for_each(|(o, e)| *o += e);
        Ok(())
    }
}
