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
        History {
            brand_answers: answers_in(thread).count(),
            follow_ups: follow_ups(thread),
            source: HistorySource::Thread,
        }
    }

    /// From the counts a store keeps of the author.
    pub fn from_store(brand_answers: u64, follow_ups: u64) -> History {
        History {
            brand_answers: brand_answers as usize,
            follow_ups: follow_ups as usize,
            source: HistorySource::Store,
        }
    }

    /// The fuller of two accounts of the same conversation: the store's when it knows of more
    /// brand answers than the thread shows (answers through another request or replica), the
    /// thread's otherwise (the store also records what threads show, so it is never behind for
    /// long).
    pub fn or_stored(self, stored: Option<History>) -> History {
        match stored {
            Some(s) if s.brand_answers > self.brand_answers => s,
            _ => self,
        }
    }
}

/// The brand's answers in a thread: its messages after the author's first (a brand message
/// before any is the post being commented on).
pub fn answers_in(thread: &[ThreadMessage]) -> impl Iterator<Item = &ThreadMessage> {
    let after_author = thread
        .iter()
        .position(|m| !m.from_brand)
        .map_or(thread.len(), |i| i + 1);
    thread[after_author..].iter().filter(|m| m.from_brand)
}

/// The author's messages after the brand's first answer.
fn follow_ups(thread: &[ThreadMessage]) -> usize {
    let after_author = thread
        .iter()
        .position(|m| !m.from_brand)
        .map_or(thread.len(), |i| i + 1);
    let rest = &thread[after_author..];
    match rest.iter().position(|m| m.from_brand) {
        Some(answer) => rest[answer..].iter().filter(|m| !m.from_brand).count(),
        None => 0,
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
        let thread = [
            msg("New menu!", true),
            msg("It's awful", false),
            msg("Sorry, DM us", true),
        ];
        let answers: Vec<&str> = answers_in(&thread).map(|m| m.text.as_str()).collect();
        assert_eq!(answers, ["Sorry, DM us"]);
    }

    #[test]
    fn the_store_wins_only_when_it_knows_more_answers() {
        let thread = History::from_thread(&[msg("late", false), msg("sorry", true)]);
        assert_eq!(thread.or_stored(None), thread);
        assert_eq!(thread.or_stored(Some(History::from_store(1, 3))), thread);
        let stored = History::from_store(2, 1);
        assert_eq!(thread.or_stored(Some(stored)), stored);
        assert_eq!(stored.source, HistorySource::Store);
    }
}
