//! A [`Backend`] for tests that stands in for the encoder: one token per word (plus the two
//! specials), the same scores for every text, and failures on demand, so that error, queue and
//! protocol paths run without the encoder's files. Its heads are the committed ones.

use super::{Backend, Classified, EncoderInfo};
use crate::comment::Scores;
use crate::labels::{Intent, Sentiment};
use crate::model::{Heads, ModelError, Tokens, WeightFormat};

pub struct FakeBackend {
    pub heads: Heads,
    /// What every text scores.
    pub scores: Scores,
    /// A text containing this fails to tokenise.
    pub fail_tokenizing: Option<&'static str>,
    /// Every batch fails to score.
    pub fail_scoring: bool,
}

/// A fake whose texts all read as a neutral question, and that never fails.
impl Default for FakeBackend {
    fn default() -> Self {
        let mut intent = [0.0; 9];
        intent[Intent::Question.index()] = 1.0;
        let mut sentiment = [0.0; 3];
        sentiment[Sentiment::Neutral.index()] = 1.0;
        Self {
            heads: Heads::builtin().expect("the committed heads load"),
            scores: Scores {
                intent,
                sentiment,
                abusive: 0.0,
                labels: None,
                follow_up: None,
            },
            fail_tokenizing: None,
            fail_scoring: false,
        }
    }
}

impl Backend for FakeBackend {
    fn tokenize(&self, text: &str) -> Result<Tokens, ModelError> {
        if self.fail_tokenizing.is_some_and(|bad| text.contains(bad)) {
            return Err(ModelError::Inference("tokenizer: fake failure".into()));
        }
        Ok(Tokens {
            ids: vec![1; text.split_whitespace().count() + 2],
            truncated: false,
            cut: None,
        })
    }

    fn classify_tokens(&self, batch: &[&Tokens]) -> Result<Vec<Classified>, ModelError> {
        if self.fail_scoring {
            return Err(ModelError::Inference("fake failure".into()));
        }
        Ok(batch
            .iter()
            .map(|t| Classified {
                scores: self.scores.clone(),
                tokens: t.ids.len(),
                truncated: false,
                cut: None,
                faults: Vec::new(),
            })
            .collect())
    }

    fn heads(&self) -> &Heads {
        &self.heads
    }

    fn reply_head(&self) -> Option<&crate::model::ReplyHead> {
        None
    }

    fn encoder_info(&self) -> EncoderInfo {
        EncoderInfo {
            weight_format: WeightFormat::F32,
            cpu_tier: None,
            hidden_size: self.heads.card.embedding_dim,
            max_tokens: 512,
        }
    }
}
