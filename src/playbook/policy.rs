//! The policy: every threshold, deadline, responder, keyword list and reply template the
//! playbook applies, as data. The default is compiled in from `default_policy.toml`; a brand
//! replaces it with its own file. A policy is validated when it is read, so a [`Policy`] value
//! is always one the playbook can apply: every rule can fire, and every reply it may need
//! exists in every language.
//!
//! This file loads a policy and is the one way to get a [`Policy`]; the file's serde structs
//! are `policy_schema.rs`, their checks `validate.rs`, the error both report
//! `policy_error.rs`.

use super::policy_error::PolicyError;
use super::policy_schema::PolicyFile;
use super::vocabulary::RuleId;
use crate::labels::Action;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The default policy's text, as `tact policy` prints it before canonicalisation.
pub const DEFAULT_POLICY_TOML: &str = include_str!("default_policy.toml");

/// A validated policy. Build it with [`Policy::default_policy`], [`Policy::from_toml_str`] or
/// [`Policy::load`]; there is no other way, so a `Policy` is always one the playbook can apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    file: PolicyFile,
}

/// Read access to the validated contents, for the playbook's modules.
impl std::ops::Deref for Policy {
    type Target = PolicyFile;

    fn deref(&self) -> &PolicyFile {
        &self.file
    }
}

impl Policy {
    /// The policy compiled into tact.
    pub fn default_policy() -> Policy {
        Policy::from_toml_str(DEFAULT_POLICY_TOML).expect("the default policy is valid")
    }

    /// Parses and validates a policy.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text)?;
        file.validate()?;
        Ok(Policy { file })
    }

    /// Reads, parses and validates a policy file; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Policy::from_toml_str(&text).map_err(|source| PolicyError::InFile {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    /// The action a rule decides under this policy.
    pub fn action_of(&self, rule: RuleId) -> Action {
        self.rules.get(rule).action
    }

    /// The reply linter of this policy (its `[lint]` was checked when the policy was read).
    pub fn linter(&self) -> super::lint::Linter {
        super::lint::Linter::new(&self.lint, &self.brand)
            .expect("a validated policy's [lint] compiles")
    }

    /// The accuracy wanted from automated decisions.
    pub fn automated_accuracy(&self) -> f64 {
        self.thresholds.automated_accuracy
    }

    /// The canonical TOML of the policy: every key, in a fixed order, without comments.
    /// Reading it back gives the same policy.
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(&self.file).expect("a policy is plain TOML data")
    }

    /// sha256 (hex) of [`Policy::to_toml_string`]: identifies the policy in force regardless
    /// of the comments and layout of the file it came from.
    pub fn digest(&self) -> String {
        Sha256::digest(self.to_toml_string().as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

#[cfg(test)]
mod tests;
