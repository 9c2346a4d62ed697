//! Reply-template placeholders: filling `{brand}`, `{support_email}`, `{support_phone}` and
//! `{hours}` from the policy's `[brand]`, and why a template cannot be filled. Validation
//! fills every template once; the playbook's replies are filled the same way.

use super::policy_schema::Brand;

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
}
