//! A draft reply → the model's scores of it, as the reply linter takes them: the whole reply
//! through the sentiment and abusive heads, and each of its sentences through the reply head.
//! Front ends (CLI, HTTP, evaluator, `tact lint --train`) run the texts through the model as
//! they like (directly, or the server's queue); this owns which texts are scored and how the
//! results are read back.

use crate::classify::{Backend, Classified};
use crate::labels::Sentiment;
use crate::model::{ModelError, ReplyHead};
use crate::playbook::lint::{sentences, Kind, ReplyScores, SentenceFaults};

/// The texts to score for one reply: the whole reply, then each of its sentences.
pub fn texts(reply: &str) -> Vec<String> {
    let chars: Vec<char> = reply.chars().collect();
    std::iter::once(reply.to_string())
        .chain(
            sentences(reply)
                .into_iter()
                .map(|[start, end]| chars[start..end].iter().collect()),
        )
        .collect()
}

/// The linter's kinds the reply head scores, in its order; a kind the playbook does not
/// know is skipped (`None`).
pub fn head_kinds(head: Option<&ReplyHead>) -> Vec<Option<Kind>> {
    head.map_or_else(Vec::new, |h| {
        h.kinds.iter().map(|k| Kind::parse(&k.kind)).collect()
    })
}

/// Reads back the model's results for [`texts`] of `reply` (same order).
pub fn read(reply: &str, classified: &[Classified], kinds: &[Option<Kind>]) -> ReplyScores {
    let Some((whole, per_sentence)) = classified.split_first() else {
        return ReplyScores::default();
    };
    let sentences = sentences(reply)
        .into_iter()
        .zip(per_sentence)
        .map(|(span, c)| SentenceFaults {
            span,
            faults: kinds
                .iter()
                .zip(&c.faults)
                .filter_map(|(kind, p)| kind.map(|k| (k, f64::from(*p))))
                .collect(),
        })
        .collect();
    ReplyScores {
        negative: f64::from(whole.scores.sentiment_of(Sentiment::Negative)),
        abusive: f64::from(whole.scores.abusive),
        sentences,
    }
}

/// Scores replies on a model held by the caller (CLI, evaluator), in batches of `batch_size`.
pub fn score<B: Backend>(
    backend: &B,
    replies: &[&str],
    batch_size: usize,
) -> Result<Vec<ReplyScores>, ModelError> {
    let per_reply: Vec<Vec<String>> = replies.iter().map(|r| texts(r)).collect();
    let tokens = per_reply
        .iter()
        .flatten()
        .map(|t| backend.tokenize(t))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<_> = tokens.iter().collect();
    let classified = crate::model::batching::in_input_order(&refs, batch_size, |batch| {
        backend.classify_tokens(batch)
    })?;
    let kinds = head_kinds(backend.reply_head());
    let mut at = 0;
    Ok(replies
        .iter()
        .zip(&per_reply)
        .map(|(reply, texts)| {
            let scores = read(reply, &classified[at..at + texts.len()], &kinds);
            at += texts.len();
            scores
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_the_reply_then_its_sentences() {
        assert_eq!(
            texts("Sorry! We call you at 5. Thanks"),
            [
                "Sorry! We call you at 5. Thanks",
                "Sorry!",
                "We call you at 5.",
                "Thanks"
            ]
        );
    }
}
