//! The label sets of SPEC §2 and §3: intents, sentiments, actions and languages.
//!
//! These are plain enums shared by every layer (heads, playbook, evaluator, HTTP), so a label
//! is spelled in exactly one place. Their serde names are the wire names of the spec.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Declares a label enum with its wire names, `ALL` in index order, `as_str` and `FromStr`.
macro_rules! label_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in the order the classification heads index them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire name (as in SPEC.md).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// Position in [`Self::ALL`].
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownLabel;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownLabel {
                        kind: stringify!($name),
                        value: s.to_string(),
                        expected: &[$($wire),+],
                    }),
                }
            }
        }
    };
}

/// A label string that is not one of its set.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown {kind} '{value}' (expected one of: {})", expected.join(", "))]
pub struct UnknownLabel {
    pub kind: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

label_enum!(
    /// The primary intent of a comment (SPEC §2).
    Intent {
        Question = "question",
        Request = "request",
        Complaint = "complaint",
        Praise = "praise",
        Misinformation = "misinformation",
        Troll = "troll",
        Abuse = "abuse",
        Spam = "spam",
        Other = "other",
    }
);

label_enum!(
    /// The author's sentiment (SPEC §2).
    Sentiment {
        Negative = "negative",
        Neutral = "neutral",
        Positive = "positive",
    }
);

label_enum!(
    /// What the moderation team should do (SPEC §3).
    Action {
        Answer = "answer",
        Thank = "thank",
        Resolve = "resolve",
        Acknowledge = "acknowledge",
        Correct = "correct",
        Wait = "wait",
        Ignore = "ignore",
        Hide = "hide",
        DeleteAndBan = "delete_and_ban",
        Escalate = "escalate",
    }
);

label_enum!(
    /// The four languages tact works in.
    Lang {
        Ro = "ro",
        Bg = "bg",
        Ru = "ru",
        En = "en",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
            assert_eq!(
                serde_json::to_string(a).unwrap(),
                format!("\"{}\"", a.as_str())
            );
        }
        assert_eq!(Intent::ALL.len(), 9);
        assert_eq!(Intent::Other.index(), 8);
    }

    #[test]
    fn unknown_label_lists_the_choices() {
        let err = "praize".parse::<Intent>().unwrap_err().to_string();
        assert!(err.contains("unknown Intent 'praize'"), "{err}");
        assert!(err.contains("praise"), "{err}");
    }
}
