//! On-disk cache of sentence vectors keyed by a hash of the text, so that retraining the
//! heads or re-evaluating a corpus costs seconds instead of an encoder pass.
//!
//! One append-only file per encoder setting (weight format, token limit, adapters): records of a
//! 16-byte key (the head of sha256 of the text) and the vector as little-endian f32. A torn
//! last record (an interrupted run) is ignored on load and overwritten by the next append.

use crate::model::batching::for_each_batch;
use crate::model::{Encoder, Tokens};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

pub type Key = [u8; 16];

pub fn key(text: &str) -> Key {
    Sha256::digest(text.as_bytes())[..16].try_into().unwrap()
}

pub struct EmbeddingCache {
    path: PathBuf,
    dim: usize,
    vectors: HashMap<Key, Vec<f32>>,
}

impl EmbeddingCache {
    /// Opens (or starts) the cache for this encoder setting under `dir`.
    pub fn open(dir: &Path, enc: &Encoder) -> std::io::Result<Self> {
        let dim = enc.hidden_size();
        // A tuned encoder gives other vectors for the same text: its adapters name the file.
        let tuned = enc
            .adapters_digest()
            .map_or(String::new(), |d| format!("-lora{d}"));
        // "ht": texts over the limit are read head + tail (older files read the head only).
        let name = format!(
            "embeddings-ht-{}-{}-{dim}{tuned}.bin",
            enc.format(),
            enc.max_tokens()
        )
        .to_lowercase();
        let path = dir.join(name);
        let mut vectors = HashMap::new();
        if let Ok(bytes) = std::fs::read(&path) {
            let record = 16 + dim * 4;
            for r in bytes.chunks_exact(record) {
                let v = r[16..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect();
                vectors.insert(r[..16].try_into().unwrap(), v);
            }
        }
        Ok(Self { path, dim, vectors })
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    pub fn get(&self, text: &str) -> Option<&Vec<f32>> {
        self.vectors.get(&key(text))
    }

    /// Embeds every text not yet cached (length-sorted batches), appending as it goes.
    pub fn fill(&mut self, encoder: &Encoder, texts: &[&str], batch: usize) -> anyhow::Result<()> {
        let mut todo: Vec<&str> = texts
            .iter()
            .copied()
            .filter(|t| self.get(t).is_none())
            .collect();
        todo.sort_unstable();
        todo.dedup();
        if todo.is_empty() {
            return Ok(());
        }
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        // Drop a torn tail so that every record stays aligned.
        let record = (16 + self.dim * 4) as u64;
        let len = file.metadata()?.len();
        if len % record != 0 {
            file.set_len(len - len % record)?;
            file.seek(SeekFrom::End(0))?;
        }
        let tokens = todo
            .iter()
            .map(|t| encoder.tokenize(t))
            .collect::<Result<Vec<_>, _>>()?;
        let tokens: Vec<&Tokens> = tokens.iter().collect();
        let start = Instant::now();
        let mut batches = 0usize;
        let mut done = 0usize;
        tracing::info!(texts = todo.len(), cache = %self.path.display(), "embedding");
        for_each_batch(&tokens, batch, |positions, batch| {
            let vectors = encoder.embed_tokens(batch)?;
            let mut buf = Vec::with_capacity(positions.len() * record as usize);
            for (&i, v) in positions.iter().zip(vectors) {
                let k = key(todo[i]);
                buf.extend_from_slice(&k);
                v.iter()
                    .for_each(|x| buf.extend_from_slice(&x.to_le_bytes()));
                self.vectors.insert(k, v);
            }
            file.write_all(&buf)?;
            done += positions.len();
            batches += 1;
            if batches.is_multiple_of(50) {
                let rate = done as f64 / start.elapsed().as_secs_f64();
                let eta = (todo.len() - done) as f64 / rate;
                eprintln!(
                    "embedded {done}/{} texts, {rate:.0} texts/s, ETA {eta:.0} s",
                    todo.len()
                );
            }
            Ok::<_, anyhow::Error>(())
        })?;
        file.flush()?;
        Ok(())
    }
}
