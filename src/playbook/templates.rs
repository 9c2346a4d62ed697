//! Suggested replies: every template of the policy filled once, and one of an action's
//! variants chosen per comment. The choice is a stable hash of the comment's id, so a page does
//! not show one canned line everywhere while the same comment always gets the same reply.

use super::decision::Reply;
use super::placeholders::fill;
use super::policy::Policy;
use crate::labels::{Action, Lang};
use std::collections::BTreeMap;

/// 64-bit FNV-1a: tiny, and stable across Rust versions and platforms, unlike std's
/// `DefaultHasher`, so a comment keeps its reply variant across releases.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A reply chosen for a comment, and the language it had to fall back to, if any.
pub struct Chosen {
    pub reply: Reply,
    pub fell_back_to: Option<Lang>,
}

/// Every template of a policy, filled once when the playbook is built.
#[derive(Debug, Clone)]
pub struct Replies {
    filled: BTreeMap<(Action, Lang), Vec<String>>,
    fallback_lang: Option<Lang>,
}

impl Replies {
    /// Fills a validated policy's templates (validation filled each of them once already).
    pub fn fill_all(policy: &Policy) -> Self {
        let mut filled = BTreeMap::new();
        for &action in Action::ALL {
            for &lang in Lang::ALL {
                let variants: Vec<String> = policy
                    .templates
                    .get(action)
                    .get(lang)
                    .iter()
                    .map(|t| fill(t, &policy.brand).expect("validated templates fill"))
                    .collect();
                if !variants.is_empty() {
                    filled.insert((action, lang), variants);
                }
            }
        }
        Replies {
            filled,
            fallback_lang: policy.fallback_lang,
        }
    }

    /// The variant of `action` for a comment, in `lang` or else in the fallback language;
    /// `key` (the comment's id, or its text when it has none) picks the variant.
    pub fn choose(&self, action: Action, lang: Lang, key: &str) -> Option<Chosen> {
        let (used_lang, variants) = std::iter::once(lang)
            .chain(self.fallback_lang)
            .find_map(|l| self.filled.get(&(action, l)).map(|v| (l, v)))?;
        let index = (fnv1a(key.as_bytes()) % variants.len() as u64) as usize;
        Some(Chosen {
            reply: Reply {
                text: variants[index].clone(),
                template: format!("{action}.{used_lang}.{}", index + 1),
            },
            fell_back_to: (used_lang != lang).then_some(used_lang),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }
}
