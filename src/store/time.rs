//! The store's clock: milliseconds since the epoch (UTC) in the database, RFC 3339 on the wire.

use ::time::format_description::well_known::Rfc3339;
use ::time::OffsetDateTime;

pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    now.as_millis() as i64
}

/// `2026-12-01T02:31:21.123Z`.
pub fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{ms}ms"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_with_milliseconds() {
        assert_eq!(
            super::rfc3339(1_764_556_281_123),
            "2025-12-01T02:31:21.123Z"
        );
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
