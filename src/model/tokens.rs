//! Texts → token ids for the encoder: the `query: ` prefix E5 expects, and the head + tail cut
//! of a text over the token limit. Tokenising is apart from inference so that callers can
//! tokenise off the model's thread and group texts by length before batching.

use super::ModelError;
use std::path::Path;
use tokenizers::Tokenizer;

/// E5 was trained with this prefix on queries; classification inputs are queries.
pub const QUERY_PREFIX: &str = "query: ";

/// One tokenised text, ready for the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub ids: Vec<u32>,
    /// The text had more tokens than the limit; the ids are its first and last ones.
    pub truncated: bool,
    /// Where a long text was cut; `None` when it was read whole.
    pub cut: Option<TokenCut>,
}

/// A long text read as its head and its tail: a review's complaint is often in its last
/// paragraph, its topic in its first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCut {
    /// Tokens kept from the start (`<s>` and the prefix included).
    pub head: usize,
    /// Tokens kept from the end (`</s>` included).
    pub tail: usize,
    /// Tokens of the whole text; a lower bound when a very long text was first cut by bytes.
    pub total: usize,
}

/// The E5 tokenizer with the token limit applied.
pub struct QueryTokenizer {
    tokenizer: Tokenizer,
    max_tokens: usize,
}

impl QueryTokenizer {
    /// Reads the tokenizer file; `max_tokens` counts specials and the prefix.
    pub fn load(path: &Path, max_tokens: usize) -> Result<Self, ModelError> {
        let mut tokenizer = Tokenizer::from_file(path).map_err(|e| ModelError::Tokenizer {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        // Texts over the limit are cut in `tokenize` (head + tail), not by the tokenizer.
        tokenizer
            .with_truncation(None)
            .map_err(|e| ModelError::Config(e.to_string()))?;
        tokenizer.with_padding(None);
        Ok(Self {
            tokenizer,
            max_tokens,
        })
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }

    /// Tokenises one text with the `query: ` prefix, keeping at most `max_tokens` tokens: a
    /// longer text keeps its first quarter and its last three quarters of the limit.
    pub fn tokenize(&self, text: &str) -> Result<Tokens, ModelError> {
        // A token spans far fewer than 64 bytes, so keeping that many bytes of each end keeps
        // every token the limit lets through, while a megabyte-long comment costs no more
        // than a long one.
        let keep = self.max_tokens * 64;
        let bytes_cut = text.len() > 2 * keep;
        let input = if bytes_cut {
            let head = floor_char_boundary(text, keep);
            let tail = ceil_char_boundary(text, text.len() - keep);
            format!("{QUERY_PREFIX}{} … {}", &text[..head], &text[tail..])
        } else {
            format!("{QUERY_PREFIX}{text}")
        };
        let enc = self
            .tokenizer
            .encode_fast(input, true)
            .map_err(|e| ModelError::Inference(format!("tokenizer: {e}")))?;
        let ids = enc.get_ids();
        if ids.len() <= self.max_tokens && !bytes_cut {
            return Ok(Tokens {
                ids: ids.to_vec(),
                truncated: false,
                cut: None,
            });
        }
        let max = self.max_tokens.min(ids.len());
        let head = max / 4;
        let tail = max - head;
        let mut kept = ids[..head].to_vec();
        kept.extend_from_slice(&ids[ids.len() - tail..]);
        Ok(Tokens {
            ids: kept,
            truncated: true,
            cut: Some(TokenCut {
                head,
                tail,
                total: ids.len(),
            }),
        })
    }
}

fn ceil_char_boundary(s: &str, min: usize) -> usize {
    (min..=s.len())
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(s.len())
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if max >= s.len() {
        return s.len();
    }
    (0..=max)
        .rev()
        .find(|&i| s.is_char_boundary(i))
        .unwrap_or(0)
}
