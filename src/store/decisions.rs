//! The audit log: recording decisions (and, with each, the author's history and the brand's
//! answers its thread shows) and reading one back.

use super::authors::{add_reply, upsert_author, AuthorUpdate};
use super::feedback::feedback_of;
use super::ids::reply_id;
use super::records::{NewDecision, NewReply, StoredDecision};
use super::time::{now_ms, rfc3339};
use super::{Store, StoreError};
use crate::labels::{Action, Intent};
use crate::playbook::RuleId;
use sqlx::Row;

const INSERT_DECISION: &str =
    "INSERT INTO decisions (decision_id, decided_at, origin, comment_id, author_id, \
     model, policy, lang, intent, sentiment, action, rule, confidence, needs_review, decision, \
     text, text_expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) \
     ON CONFLICT (decision_id) DO NOTHING";

const SELECT_DECISION: &str =
    "SELECT decision_id, decided_at, origin, comment_id, author_id, model, policy, \
     decision, text, text_expires_at FROM decisions WHERE decision_id = $1";

impl Store {
    /// Records the decisions in one transaction, each once: a decision id already in the log
    /// is left as it is and changes no history. Returns, per decision, whether it was new.
    pub async fn record_decisions(&self, batch: &[NewDecision]) -> Result<Vec<bool>, StoreError> {
        let now = now_ms();
        let expires = self.text_expiry(now);
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let mut recorded = Vec::with_capacity(batch.len());
        for new in batch {
            let d = &new.decision;
            let json = serde_json::to_string(&StoredJson(d))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let inserted = sqlx::query(INSERT_DECISION)
                .bind(&new.decision_id)
                .bind(now)
                .bind(new.origin.as_str())
                .bind(new.comment_id.as_deref())
                .bind(new.author_id.as_deref())
                .bind(&new.model)
                .bind(&new.policy)
                .bind(d.lang.as_str())
                .bind(d.intent.label.as_str())
                .bind(d.sentiment.label.as_str())
                .bind(d.action.as_str())
                .bind(d.rule.as_str())
                .bind(d.confidence)
                .bind(i64::from(d.needs_review))
                .bind(json)
                .bind(expires.map(|_| new.text.as_str()))
                .bind(expires)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                == 1;
            if let (true, Some(author)) = (inserted, &new.author_id) {
                let mut answers = 0;
                for (place, answer) in new.thread_answers.iter().enumerate() {
                    // Not by the comment: the next comment's thread repeats the same answers.
                    let reply = NewReply {
                        reply_id: reply_id(author, None, answer, place),
                        author_id: author.clone(),
                        comment_id: new.comment_id.clone(),
                        text: Some(answer.clone()),
                        sent_at: now,
                    };
                    answers += u64::from(add_reply(&mut tx, &reply, "thread", expires).await?);
                }
                let update = AuthorUpdate {
                    now,
                    comments: 1,
                    new_answers: answers,
                    hostile: is_hostile(d.rule, d.action, d.intent.label),
                    labels: Some((d.action, d.intent.label)),
                };
                upsert_author(&mut tx, author, &update).await?;
            }
            recorded.push(inserted);
        }
        tx.commit().await?;
        Ok(recorded)
    }

    /// One audit-log entry with the verdicts given on it; `None` if there is none by that id.
    pub async fn decision(&self, decision_id: &str) -> Result<Option<StoredDecision>, StoreError> {
        let Some(row) = sqlx::query(SELECT_DECISION)
            .bind(decision_id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let json: String = row.try_get("decision")?;
        let decision =
            serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let expires: Option<i64> = row.try_get("text_expires_at")?;
        Ok(Some(StoredDecision {
            decision_id: row.try_get("decision_id")?,
            decided_at: rfc3339(row.try_get("decided_at")?),
            origin: row.try_get("origin")?,
            comment_id: row.try_get("comment_id")?,
            author_id: row.try_get("author_id")?,
            model: row.try_get("model")?,
            policy: row.try_get("policy")?,
            decision,
            text: row.try_get("text")?,
            text_expires_at: expires.map(rfc3339),
            feedback: feedback_of(&self.pool, decision_id).await?,
        }))
    }
}

/// The author kept attacking: the playbook said wait (RSRA), or read abuse or trolling.
fn is_hostile(rule: RuleId, action: Action, intent: Intent) -> bool {
    rule == RuleId::RsraWait
        || action == Action::DeleteAndBan
        || matches!(intent, Intent::Troll | Intent::Abuse)
}

/// The decision as stored: without the comment's id, which lives in its own column (and is
/// blanked when the author is forgotten).
struct StoredJson<'a>(&'a crate::playbook::Decision);

impl serde::Serialize for StoredJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(self.0).map_err(serde::ser::Error::custom)?;
        if let Some(object) = value.as_object_mut() {
            object.remove("id");
        }
        value.serialize(serializer)
    }
}
