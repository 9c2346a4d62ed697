//! Ids that make writes idempotent: the same comment (or reply) sent twice gets the same id,
//! so a retried request or a resumed archive is recorded once.

use crate::comment::Comment;
use sha2::{Digest, Sha256};

/// The decision's id: from the comment's id where it has one (platform ids are unique), else
/// from its author, text and thread. `d-` and 24 hex digits (96 bits).
pub fn decision_id(comment: &Comment) -> String {
    let mut hash = Sha256::new();
    match &comment.id {
        Some(id) => field(&mut hash, "comment", id),
        None => {
            field(
                &mut hash,
                "author",
                comment.author_id.as_deref().unwrap_or(""),
            );
            field(&mut hash, "text", &comment.text);
            for message in &comment.thread {
                let from = if message.from_brand {
                    "brand"
                } else {
                    "author"
                };
                field(&mut hash, from, &message.text);
            }
        }
    }
    hex_id("d-", hash)
}

/// A brand reply's id when the caller gives none: from its author, the comment it answers
/// and its text (a reply seen in a thread also by its place there).
pub fn reply_id(author_id: &str, comment_id: Option<&str>, text: &str, place: usize) -> String {
    let mut hash = Sha256::new();
    field(&mut hash, "author", author_id);
    field(&mut hash, "comment", comment_id.unwrap_or(""));
    field(&mut hash, "text", text);
    field(&mut hash, "place", &place.to_string());
    hex_id("r-", hash)
}

/// A verdict's id: the same verdict on the same decision is recorded once.
pub(super) fn feedback_id(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        field(&mut hash, "part", part);
    }
    hex_id("f-", hash)
}

/// Each field is tagged and length-prefixed, so no two inputs hash alike by shifting text
/// between fields.
fn field(hash: &mut Sha256, tag: &str, value: &str) {
    hash.update(tag.as_bytes());
    hash.update((value.len() as u64).to_le_bytes());
    hash.update(value.as_bytes());
}

fn hex_id(prefix: &str, hash: Sha256) -> String {
    let digest = hash.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comment::ThreadMessage;

    fn comment(id: Option<&str>, author: Option<&str>, text: &str) -> Comment {
        Comment {
            id: id.map(String::from),
            author_id: author.map(String::from),
            text: text.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_comment_id_decides_the_decision_id() {
        let a = decision_id(&comment(Some("c-1"), Some("u-1"), "late"));
        assert_eq!(
            a,
            decision_id(&comment(Some("c-1"), Some("u-2"), "other text"))
        );
        assert_ne!(a, decision_id(&comment(Some("c-2"), Some("u-1"), "late")));
        assert!(a.starts_with("d-") && a.len() == 26, "{a}");
    }

    #[test]
    fn without_an_id_author_text_and_thread_decide_it() {
        let base = comment(None, Some("u-1"), "late");
        let id = decision_id(&base);
        assert_eq!(id, decision_id(&base.clone()));
        assert_ne!(id, decision_id(&comment(None, Some("u-2"), "late")));
        assert_ne!(id, decision_id(&comment(None, Some("u-1"), "later")));
        let mut threaded = base.clone();
        threaded.thread.push(ThreadMessage {
            text: "sorry".into(),
            from_brand: true,
        });
        assert_ne!(id, decision_id(&threaded));
        // Text moved between fields is not the same input.
        assert_ne!(
            decision_id(&comment(None, Some("ab"), "c")),
            decision_id(&comment(None, Some("a"), "bc"))
        );
    }
}
