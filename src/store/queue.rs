//! The review queue: the decisions still waiting for a person — flagged for review,
//! escalated, hidden pending review, or with a reply not yet sent — most urgent first, and the
//! figures of the last day that say whether the policy or the model needs work (how much was
//! automated, how often people overrode it, per action and per rule). The moderators' page
//! (`serve::review`) reads both.
//!
//! A decision leaves the queue when a verdict is recorded on it (`accepted` or
//! `overridden`), or, for a reply nobody had to review, when the brand's reply to its comment
//! is recorded (`POST /v1/replies`).

use super::decisions::stored_thread;
use super::time::rfc3339;
use super::{Store, StoreError};
use crate::labels::Action;
use crate::playbook::Priority;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::collections::BTreeMap;

/// Rows read before sorting by urgency: the oldest this many pending decisions of the window.
const MAX_READ: i64 = 2000;

/// Decisions that may wait for a person; the rest leave the queue once decided.
const PENDING: &str = "SELECT d.decision_id, d.decided_at, d.comment_id, d.author_id, \
     d.decision, d.text, d.thread FROM decisions d \
     WHERE d.decided_at >= $1 \
     AND (d.needs_review = 1 OR d.action IN ('escalate', 'hide', 'answer', 'thank', 'resolve', 'correct')) \
     AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.decision_id = d.decision_id \
         AND f.verdict <> 'reply_sent') \
     AND NOT (d.needs_review = 0 AND d.action IN ('answer', 'thank', 'resolve', 'correct') \
         AND EXISTS (SELECT 1 FROM replies r WHERE r.comment_id = d.comment_id \
             AND r.origin <> 'thread'))";

/// Which pending decisions to show.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// Decided at or after this time (milliseconds since the epoch).
    pub since: i64,
    pub lang: Option<String>,
    pub action: Option<Action>,
    pub rule: Option<String>,
    pub author_id: Option<String>,
    /// Items returned, at most.
    pub limit: usize,
}

/// A decision waiting for a person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueItem {
    pub decision_id: String,
    pub decided_at: String,
    /// When the answer is due (`respond_within_minutes` after the decision), if it has a
    /// deadline; milliseconds since the epoch, for the page's clock.
    pub due_at_ms: Option<i64>,
    pub comment_id: Option<String>,
    pub author_id: Option<String>,
    /// Only where texts are stored (`--store-text`).
    pub text: Option<String>,
    pub thread: Option<serde_json::Value>,
    /// The decision as it was returned.
    pub decision: serde_json::Value,
}

/// The queue, most urgent first.
#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    pub items: Vec<QueueItem>,
    /// More decisions match than were returned.
    pub more: bool,
}

/// How often people overrode one action's (or rule's) decisions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverrideRate {
    pub label: String,
    /// Verdicts given (accepted or overridden).
    pub reviewed: u64,
    pub overridden: u64,
    pub rate: f64,
}

/// The figures of a period (the page shows the last day's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub since: String,
    pub decided: u64,
    /// Decided without asking for a person (no review, not escalated).
    pub automated: u64,
    /// Decisions of the period that a person gave a verdict on.
    pub reviewed: u64,
    pub share_automated: f64,
    pub share_reviewed: f64,
    /// Verdicts given in the period, by the decision's action and by its rule.
    pub by_action: Vec<OverrideRate>,
    pub by_rule: Vec<OverrideRate>,
}

impl Store {
    /// The pending decisions that match, most urgent first: by priority, then by deadline,
    /// then oldest first.
    pub async fn queue(&self, filter: &QueueFilter) -> Result<Queue, StoreError> {
        let mut sql = PENDING.to_string();
        let mut values: Vec<&str> = Vec::new();
        let action = filter.action.map(Action::as_str);
        for (column, value) in [
            ("lang", filter.lang.as_deref()),
            ("action", action),
            ("rule", filter.rule.as_deref()),
            ("author_id", filter.author_id.as_deref()),
        ] {
            if let Some(value) = value {
                values.push(value);
                sql.push_str(&format!(" AND d.{column} = ${}", values.len() + 1));
            }
        }
        sql.push_str(&format!(
            " ORDER BY d.decided_at LIMIT ${}",
            values.len() + 2
        ));
        let mut query = sqlx::query(&sql).bind(filter.since);
        for value in values {
            query = query.bind(value);
        }
        let rows = query.bind(MAX_READ).fetch_all(&self.pool).await?;
        let mut items = rows
            .into_iter()
            .map(|row| {
                let decided_at: i64 = row.try_get("decided_at")?;
                let json: String = row.try_get("decision")?;
                let decision: serde_json::Value =
                    serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let due_at_ms = decision["respond_within_minutes"]
                    .as_i64()
                    .map(|minutes| decided_at + minutes * 60_000);
                Ok((
                    decided_at,
                    QueueItem {
                        decision_id: row.try_get("decision_id")?,
                        decided_at: rfc3339(decided_at),
                        due_at_ms,
                        comment_id: row.try_get("comment_id")?,
                        author_id: row.try_get("author_id")?,
                        text: row.try_get("text")?,
                        thread: stored_thread(row.try_get("thread")?)?,
                        decision,
                    },
                ))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        items.sort_by_key(|(decided_at, item)| {
            (
                // Unknown or missing ranks lowest (`None` < `Some`).
                std::cmp::Reverse(Priority::deserialize(&item.decision["priority"]).ok()),
                item.due_at_ms.unwrap_or(i64::MAX),
                *decided_at,
            )
        });
        let more = items.len() > filter.limit;
        items.truncate(filter.limit);
        Ok(Queue {
            items: items.into_iter().map(|(_, item)| item).collect(),
            more,
        })
    }

    /// What was decided since `since` (milliseconds), and what people made of it.
    pub async fn figures(&self, since: i64) -> Result<Figures, StoreError> {
        let mut decided = 0;
        let mut automated = 0;
        let rows = sqlx::query(
            "SELECT action, needs_review, COUNT(*) AS n FROM decisions \
             WHERE decided_at >= $1 GROUP BY action, needs_review",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let n = count(row.try_get("n")?);
            let action: String = row.try_get("action")?;
            let needs_review: i64 = row.try_get("needs_review")?;
            decided += n;
            if needs_review == 0 && action != Action::Escalate.as_str() {
                automated += n;
            }
        }
        let reviewed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM decisions d WHERE d.decided_at >= $1 AND EXISTS \
             (SELECT 1 FROM feedback f WHERE f.decision_id = d.decision_id \
              AND f.verdict <> 'reply_sent')",
        )
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        let reviewed = count(reviewed);
        let verdicts = sqlx::query(
            "SELECT d.action, d.rule, f.verdict, COUNT(*) AS n FROM feedback f \
             JOIN decisions d ON d.decision_id = f.decision_id \
             WHERE f.given_at >= $1 AND f.verdict <> 'reply_sent' \
             GROUP BY d.action, d.rule, f.verdict",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut by_action = RateTable::default();
        let mut by_rule = RateTable::default();
        for row in verdicts {
            let n = count(row.try_get("n")?);
            let overridden = row.try_get::<String, _>("verdict")? == "overridden";
            by_action.add(row.try_get("action")?, n, overridden);
            by_rule.add(row.try_get("rule")?, n, overridden);
        }
        Ok(Figures {
            since: rfc3339(since),
            decided,
            automated,
            reviewed,
            share_automated: share(automated, decided),
            share_reviewed: share(reviewed, decided),
            by_action: by_action.rates(),
            by_rule: by_rule.rates(),
        })
    }
}

/// Verdicts and overrides per label.
#[derive(Default)]
struct RateTable(BTreeMap<String, (u64, u64)>);

impl RateTable {
    fn add(&mut self, label: String, n: u64, overridden: bool) {
        let entry = self.0.entry(label).or_default();
        entry.0 += n;
        if overridden {
            entry.1 += n;
        }
    }

    /// Highest override rate first.
    fn rates(self) -> Vec<OverrideRate> {
        let mut rates: Vec<OverrideRate> = self
            .0
            .into_iter()
            .map(|(label, (reviewed, overridden))| OverrideRate {
                label,
                reviewed,
                overridden,
                rate: share(overridden, reviewed),
            })
            .collect();
        rates.sort_by(|a, b| b.rate.total_cmp(&a.rate).then(b.reviewed.cmp(&a.reviewed)));
        rates
    }
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
