//! Facts the rules read besides the model's scores: keyword matches (crisis words, simple
//! requests, private details, insults), personal data, how many words the comment has,
//! shouting, the author's anger, and the author's history with the brand. How a keyword
//! matches is `keywords.rs`'s.
//!
//! A comment longer than twice [`READ_BYTES`] is read on its first and last [`READ_BYTES`],
//! as the model reads a long comment's head and tail: what a rule costs stays bounded however
//! long the comment (a 4 MiB body would otherwise take about a second of matching).

use super::history::History;
use super::keywords::{words, KeywordList, KeywordMatch};
use super::personal::{self, PersonalKind, Published};
use super::policy::Policy;
use super::policy_schema::{Signals, Thresholds};
use crate::comment::{Comment, Scores};
use crate::labels::{Lang, Sentiment};

/// The keyword lists of the policy, compiled, and what the brand published of itself.
#[derive(Debug, Clone)]
pub struct Lexicon {
    pub crisis: KeywordList,
    pub simple_request: KeywordList,
    pub private_details: KeywordList,
    pub abuse: KeywordList,
    pub calm: KeywordList,
    pub published: Published,
}

impl Lexicon {
    pub fn compile(policy: &Policy) -> Self {
        let keywords = &policy.keywords;
        Lexicon {
            crisis: KeywordList::compile(&keywords.crisis),
            simple_request: KeywordList::compile(&keywords.simple_request),
            private_details: KeywordList::compile(&keywords.private_details),
            abuse: KeywordList::compile(&keywords.abuse),
            calm: KeywordList::compile(&keywords.calm),
            published: Published::new(
                policy.brand.support_phone.as_deref(),
                policy.brand.support_email.as_deref(),
            ),
        }
    }
}

/// Everything the rules know about a comment beyond its intent and sentiment scores.
/// Each present fact is a short human-readable description, used in the decision's reasons.
#[derive(Debug)]
pub struct Facts {
    /// A threat, legal, regulator, health or safety word.
    pub crisis: Option<KeywordMatch>,
    /// A word of a simple request a bot can answer (order status, delivery, hours, booking…).
    pub simple_request: Option<KeywordMatch>,
    /// The text carries or asks about order, account or personal details.
    pub private_details: Option<String>,
    /// The author is very angry.
    pub very_angry: Option<String>,
    /// Personal data posted in public, by kind (never the value).
    pub personal_data: Vec<PersonalKind>,
    /// An insult or obscenity of the policy's list.
    pub abuse_word: Option<KeywordMatch>,
    /// A word of a calm, cooperative message (thanks, please, could you…).
    pub calm_word: Option<KeywordMatch>,
    /// The text gives a number long enough to be an order or account number.
    pub gives_number: bool,
    /// Words with letters: an emoji-only comment has none.
    pub words: usize,
    /// The author's conversation with the brand so far.
    pub history: History,
}

impl Facts {
    pub fn gather(
        policy: &Policy,
        lexicon: &Lexicon,
        comment: &Comment,
        lang: Lang,
        scores: &Scores,
        history: History,
    ) -> Facts {
        let text = read_window(&comment.text);
        let words = words(&text);
        let longest_digits = longest_digit_run(&text);
        Facts {
            personal_data: personal::find(&text, &lexicon.published),
            abuse_word: lexicon.abuse.find(lang, &words),
            calm_word: lexicon.calm.find(lang, &words),
            gives_number: longest_digits >= policy.signals.details_min_digits as usize,
            words: words
                .iter()
                .filter(|w| w.chars().any(char::is_alphabetic))
                .count(),
            history,
            crisis: lexicon.crisis.find(lang, &words),
            simple_request: lexicon.simple_request.find(lang, &words),
            private_details: private_details(
                &text,
                longest_digits,
                lexicon.private_details.find(lang, &words),
                &policy.signals,
            ),
            very_angry: very_angry(&text, scores, &policy.thresholds, &policy.signals),
        }
    }
}

/// Bytes of a long comment's beginning, and of its end, that the signals read.
pub const READ_BYTES: usize = 16 * 1024;

/// The text the signals read: all of it, or its first and last [`READ_BYTES`] joined by a
/// line break (so no word, number or address is made up across the cut).
pub fn read_window(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= 2 * READ_BYTES {
        return text.into();
    }
    let mut head = READ_BYTES;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - READ_BYTES;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}\n…\n{}", &text[..head], &text[tail..]).into()
}

fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// Order numbers, phone numbers, e-mail addresses, or a private-details keyword.
fn private_details(
    text: &str,
    longest_digits: usize,
    keyword: Option<KeywordMatch>,
    signals: &Signals,
) -> Option<String> {
    if longest_digits >= signals.details_min_digits as usize {
        return Some(format!("a number of {longest_digits} digits"));
    }
    let has_email = text.split_whitespace().any(|token| {
        token
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && domain.contains('.'))
    });
    if has_email {
        return Some("an e-mail address".to_string());
    }
    keyword.map(|k| format!("the word {k}"))
}

/// Shouting: a run of exclamation marks, or mostly capital letters in a text long enough to
/// tell.
fn shouting(text: &str, signals: &Signals) -> Option<String> {
    let longest_bang_run = text
        .split(|c: char| c != '!')
        .map(str::len)
        .max()
        .unwrap_or(0);
    if longest_bang_run >= signals.shout_min_exclamations as usize {
        return Some(format!("{longest_bang_run} exclamation marks in a row"));
    }
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let capitals = text.chars().filter(|c| c.is_uppercase()).count();
    let share = capitals as f64 / letters.max(1) as f64;
    (letters >= signals.shout_min_letters as usize && share >= signals.shout_caps_ratio)
        .then(|| format!("{:.0}% capital letters", share * 100.0))
}

/// Very angry: strongly negative, and either somewhat abusive or shouting.
fn very_angry(
    text: &str,
    scores: &Scores,
    thresholds: &Thresholds,
    signals: &Signals,
) -> Option<String> {
    let negative = scores.sentiment_of(Sentiment::Negative);
    if f64::from(negative) < thresholds.angry_negative {
        return None;
    }
    let how = if f64::from(scores.abusive) >= thresholds.angry_abusive {
        format!(
            "abusive {:.2} >= {:.2}",
            scores.abusive, thresholds.angry_abusive
        )
    } else {
        shouting(text, signals)?
    };
    Some(format!(
        "sentiment negative {negative:.2} >= {:.2} and {how}",
        thresholds.angry_negative
    ))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_text_is_read_on_its_head_and_tail_only() {
        let short = "a".repeat(2 * READ_BYTES);
        assert_eq!(read_window(&short), short.as_str());
        // Multi-byte letters put both cuts inside a character: they move to its edges.
        let long = format!("phone 0722 123 456 {} ends here", "ж".repeat(READ_BYTES));
        let window = read_window(&long);
        assert!(window.len() <= 2 * READ_BYTES + "\n…\n".len());
        assert!(window.starts_with("phone 0722 123 456 жж"));
        assert!(window.ends_with("жж ends here"));
        let middle = format!("{0} card 4111 1111 1111 1111 {0}", "x ".repeat(READ_BYTES));
        assert!(
            !read_window(&middle).contains("4111"),
            "the middle is not read"
        );
    }
}
