//! What the playbook knows of the author's conversation with the brand before this comment:
//! a plain summary that the request's thread fills today and a store of authors' histories
//! can fill as well (RSRA reads it, never the thread itself).

use crate::comment::ThreadMessage;
use std::fmt;

/// Where a [`History`] came from, for reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistorySource {
    /// The `thread` sent with the comment.
    Thread,
    /// The author's earlier comments as a store remembers them.
    Store,
}

impl fmt::Display for HistorySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HistorySource::Thread => "thread",
            HistorySource::Store => "author history",
        })
    }
}

/// The author's conversation with the brand so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// Times the brand answered this author.
    pub brand_answers: usize,
    /// The author's messages after the brand's first answer (earlier follow-ups).
    pub follow_ups: usize,
    pub source: HistorySource,
}

impl History {
    /// The summary of a thread (SPEC §4). The brand's answers are its messages that follow at
    /// least one message of the author: a brand message before any author message is the post
    /// being commented on, not an answer. The thread is taken to be the brand's conversation
    /// with this comment's author (SPEC §4 gives no author per message).
    pub fn from_thread(thread: &[ThreadMessage]) -> History {
        let mut author_spoke = false;
        let mut history = History {
            brand_answers: 0,
            follow_ups: 0,
            source: HistorySource::Thread,
        };
        for message in thread {
            if !message.from_brand {
                author_spoke = true;
                if history.brand_answers > 0 {
                    history.follow_ups += 1;
                }
            } else if author_spoke {
                history.brand_answers += 1;
            }
        }
        history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str, from_brand: bool) -> ThreadMessage {
        ThreadMessage {
            text: text.into(),
            from_brand,
        }
    }

    #[test]
    fn brand_answers_count_only_replies_to_the_author() {
        // The brand's own post opens the thread: not an answer.
        let post = History::from_thread(&[msg("New menu!", true)]);
        assert_eq!((post.brand_answers, post.follow_ups), (0, 0));
        let h = History::from_thread(&[
            msg("New menu!", true),
            msg("It's awful", false),
            msg("Sorry, DM us", true),
            msg("Still awful", false),
            msg("We sent you a voucher", true),
        ]);
        assert_eq!((h.brand_answers, h.follow_ups), (2, 1));
        assert_eq!(h.source, HistorySource::Thread);
    }
}
