//! Suggested replies: filling a template's placeholders from the policy's `[brand]`, and
//! choosing one of an action's variants per comment. The choice is a stable hash of the
//! comment's id, so a page does not show one canned line everywhere while the same comment
//! always gets the same reply.

use super::decision::Reply;
use super::policy::{Brand, Policy};
use crate::labels::{Action, Lang};
use std::collections::BTreeMap;

/// Why a template cannot be filled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateProblem {
    #[error("unknown placeholder {{{0}}} (known: {{brand}}, {{support_email}}, {{support_phone}}, {{hours}})")]
    UnknownPlaceholder(String),
    #[error("{{{0}}} is used but brand.{field} is not set", field = brand_field(.0))]
    Unset(String),
    #[error("a brace that does not open or close a placeholder")]
    UnbalancedBrace,
}

/// The `[brand]` key that fills a placeholder.
fn brand_field(placeholder: &str) -> &str {
    match placeholder {
        "brand" => "name",
        other => other,
    }
}

fn placeholder_value<'b>(brand: &'b Brand, placeholder: &str) -> Result<&'b str, TemplateProblem> {
    let value = match placeholder {
        "brand" => Some(brand.name.as_str()),
        "support_email" => brand.support_email.as_deref(),
        "support_phone" => brand.support_phone.as_deref(),
        "hours" => brand.hours.as_deref(),
        other => return Err(TemplateProblem::UnknownPlaceholder(other.to_string())),
    };
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| TemplateProblem::Unset(placeholder.to_string()))
}

/// Replaces each `{placeholder}` with its `[brand]` value.
pub fn fill(template: &str, brand: &Brand) -> Result<String, TemplateProblem> {
    let mut filled = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(TemplateProblem::UnbalancedBrace);
        }
        filled.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(TemplateProblem::UnbalancedBrace)?;
        let name = &after[..close];
        if name.contains('{') {
            return Err(TemplateProblem::UnbalancedBrace);
        }
        filled.push_str(placeholder_value(brand, name)?);
        rest = &after[close + 1..];
    }
    filled.push_str(rest);
    Ok(filled)
}

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

    fn brand() -> Brand {
        Brand {
            name: "Florăria Ana".into(),
            support_email: Some("ajutor@example.ro".into()),
            support_phone: None,
            hours: Some("09:00–18:00".into()),
        }
    }

    #[test]
    fn fills_placeholders() {
        let text = fill(
            "Echipa {brand}: {support_email} (program: {hours})",
            &brand(),
        );
        assert_eq!(
            text.unwrap(),
            "Echipa Florăria Ana: ajutor@example.ro (program: 09:00–18:00)"
        );
    }

    #[test]
    fn rejects_unknown_unset_and_unbalanced_placeholders() {
        let b = brand();
        assert_eq!(
            fill("write to {suport_email}", &b),
            Err(TemplateProblem::UnknownPlaceholder("suport_email".into()))
        );
        let unset = fill("call {support_phone}", &b).unwrap_err();
        assert_eq!(unset, TemplateProblem::Unset("support_phone".into()));
        assert_eq!(
            unset.to_string(),
            "{support_phone} is used but brand.support_phone is not set"
        );
        for broken in ["{brand", "brand}", "{{brand}}", "{bra{nd}"] {
            assert_eq!(
                fill(broken, &b),
                Err(TemplateProblem::UnbalancedBrace),
                "{broken}"
            );
        }
    }

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        // From the FNV reference test suite.
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x85944171f73967e8);
    }
}
