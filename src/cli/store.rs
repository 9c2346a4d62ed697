//! The store's flags (`tact serve`, `tact score --store`, `tact feedback`), and how they become
//! a [`StoreConfig`].

use crate::store::{Location, Retention, StoreConfig, DEFAULT_RETENTION_DAYS};
use clap::Args;
use std::time::Duration;

/// What the store keeps (where it is, `--store`, is each command's own flag: on by default
/// for `tact serve`, off for `tact score`).
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// Keep comment texts (and the brand's reply texts) in the store, for `--retention-days`;
    /// off by default: texts are personal data. `tact feedback export` needs them.
    #[arg(long, env = "TACT_STORE_TEXT")]
    pub store_text: bool,
    /// Days a stored text is kept before it is blanked.
    #[arg(long, env = "TACT_RETENTION_DAYS", default_value_t = DEFAULT_RETENTION_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub retention_days: u32,
}

/// `--store`: a location, or `None` for `off`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreChoice(pub Option<Location>);

/// `--store`: `sqlite` (the file in the user's data directory), `sqlite:PATH`,
/// `postgres://…`, or `off`.
pub fn parse_location(value: &str) -> Result<StoreChoice, String> {
    match value.trim() {
        "off" | "none" => Ok(StoreChoice(None)),
        other => Location::parse(other).map(|l| StoreChoice(Some(l))),
    }
}

impl StoreArgs {
    /// The store's configuration; `None` where `--store` is `off`.
    pub fn config(&self, choice: &StoreChoice, timeout: Duration) -> Option<StoreConfig> {
        Some(StoreConfig {
            location: choice.0.clone()?,
            retention: Retention {
                store_text: self.store_text,
                keep_text: Duration::from_secs(u64::from(self.retention_days) * 86_400),
            },
            timeout,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_turns_the_store_off_and_other_values_name_a_location() {
        assert_eq!(parse_location("off").unwrap(), StoreChoice(None));
        assert_eq!(
            parse_location("sqlite:/tmp/a.db").unwrap(),
            StoreChoice(Some(Location::Sqlite("/tmp/a.db".into())))
        );
        assert!(parse_location("mysql://x").is_err());
    }
}
