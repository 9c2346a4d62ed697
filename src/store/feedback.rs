//! Moderators' verdicts on decisions, and the overrides as labelled records for training.

use super::authors::{add_answer, add_reply, parse};
use super::ids::feedback_id;
use super::records::{
    FeedbackOutcome, NewFeedback, NewReply, OverrideRecord, StoredFeedback, Verdict,
};
use super::time::{now_ms, rfc3339};
use super::{Store, StoreError};
use sqlx::AnyPool;
use sqlx::Row;
use std::collections::HashMap;

const INSERT_FEEDBACK: &str =
    "INSERT INTO feedback (feedback_id, decision_id, author_id, given_at, verdict, \
     action, intent, sentiment, reply_text, moderator) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (feedback_id) DO NOTHING";

const SELECT_FEEDBACK: &str =
    "SELECT feedback_id, given_at, verdict, action, intent, sentiment, reply_text, \
     moderator FROM feedback WHERE decision_id = $1 ORDER BY given_at, feedback_id";

/// Every override whose comment text is still stored, oldest first; the latest verdict on a
/// decision is the one exported.
const SELECT_OVERRIDES: &str =
    "SELECT f.decision_id, f.action, f.intent, f.sentiment, d.text, d.lang, \
     d.comment_id FROM feedback f JOIN decisions d ON d.decision_id = f.decision_id \
     WHERE f.verdict = 'overridden' ORDER BY f.given_at, f.feedback_id";

impl Store {
    /// Records a verdict once (the same verdict on the same decision again changes nothing);
    /// `None` if the decision is not in the audit log. A reply reported as sent counts as the
    /// brand's answer to the author.
    pub async fn record_feedback(
        &self,
        new: &NewFeedback,
    ) -> Result<Option<FeedbackOutcome>, StoreError> {
        let now = now_ms();
        let label = |l: Option<&'static str>| l.unwrap_or("");
        let id = feedback_id(&[
            &new.decision_id,
            new.verdict.as_str(),
            label(new.action.map(|a| a.as_str())),
            label(new.intent.map(|i| i.as_str())),
            label(new.sentiment.map(|s| s.as_str())),
            new.reply.as_deref().unwrap_or(""),
            new.moderator.as_deref().unwrap_or(""),
        ]);
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let author: Option<Option<String>> =
            sqlx::query_scalar("SELECT author_id FROM decisions WHERE decision_id = $1")
                .bind(&new.decision_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(author) = author else {
            return Ok(None);
        };
        let recorded = sqlx::query(INSERT_FEEDBACK)
            .bind(&id)
            .bind(&new.decision_id)
            .bind(author.as_deref())
            .bind(now)
            .bind(new.verdict.as_str())
            .bind(new.action.map(|a| a.as_str()))
            .bind(new.intent.map(|i| i.as_str()))
            .bind(new.sentiment.map(|s| s.as_str()))
            .bind(new.reply.as_deref())
            .bind(new.moderator.as_deref())
            .execute(&mut *tx)
            .await?
            .rows_affected()
            == 1;
        if let (true, Verdict::ReplySent, Some(author)) = (recorded, new.verdict, &author) {
            let reply = NewReply {
                reply_id: format!("r-{}", &id[2..]),
                author_id: author.clone(),
                comment_id: None,
                text: new.reply.clone(),
                sent_at: now,
            };
            if add_reply(&mut tx, &reply, "feedback", self.text_expiry(now)).await? {
                add_answer(&mut tx, author, now).await?;
            }
        }
        tx.commit().await?;
        Ok(Some(FeedbackOutcome {
            feedback_id: id,
            recorded,
        }))
    }

    /// The overrides as labelled records (SPEC §5), and how many could not be exported
    /// because their comment's text was not stored or has expired.
    pub async fn overrides(&self) -> Result<(Vec<OverrideRecord>, usize), StoreError> {
        let rows = sqlx::query(SELECT_OVERRIDES).fetch_all(&self.pool).await?;
        // Rows come oldest first: a later verdict on a decision replaces an earlier one, and
        // the records keep the order of their verdicts.
        let mut latest: HashMap<String, (usize, Option<OverrideRecord>)> = HashMap::new();
        for (order, row) in rows.into_iter().enumerate() {
            let decision_id: String = row.try_get("decision_id")?;
            let text: Option<String> = row.try_get("text")?;
            let action: Option<String> = row.try_get("action")?;
            let record = match (text, action) {
                (Some(text), Some(action)) => {
                    let comment_id: Option<String> = row.try_get("comment_id")?;
                    let label = |name: &str| -> Result<Option<String>, StoreError> {
                        Ok(row.try_get(name)?)
                    };
                    Some(OverrideRecord {
                        id: comment_id.unwrap_or_else(|| decision_id.clone()),
                        text,
                        lang: row.try_get("lang")?,
                        source: "feedback".to_string(),
                        action: parse(action)?,
                        intent: label("intent")?.map(parse).transpose()?,
                        sentiment: label("sentiment")?.map(parse).transpose()?,
                    })
                }
                _ => None,
            };
            latest.insert(decision_id, (order, record));
        }
        let skipped = latest.values().filter(|(_, r)| r.is_none()).count();
        let mut records: Vec<(usize, OverrideRecord)> = latest
            .into_values()
            .filter_map(|(order, r)| Some((order, r?)))
            .collect();
        records.sort_by_key(|(order, _)| *order);
        Ok((records.into_iter().map(|(_, r)| r).collect(), skipped))
    }
}

/// The verdicts on one decision, oldest first.
pub(super) async fn feedback_of(
    pool: &AnyPool,
    decision_id: &str,
) -> Result<Vec<StoredFeedback>, StoreError> {
    let mut all = Vec::new();
    for row in sqlx::query(SELECT_FEEDBACK)
        .bind(decision_id)
        .fetch_all(pool)
        .await?
    {
        let label = |name: &str| -> Result<Option<String>, StoreError> { Ok(row.try_get(name)?) };
        all.push(StoredFeedback {
            feedback_id: row.try_get("feedback_id")?,
            given_at: rfc3339(row.try_get("given_at")?),
            verdict: match row.try_get::<String, _>("verdict")?.as_str() {
                "accepted" => Verdict::Accepted,
                "overridden" => Verdict::Overridden,
                "reply_sent" => Verdict::ReplySent,
                other => return Err(StoreError::Corrupt(format!("unknown verdict {other:?}"))),
            },
            action: label("action")?.map(parse).transpose()?,
            intent: label("intent")?.map(parse).transpose()?,
            sentiment: label("sentiment")?.map(parse).transpose()?,
            reply: label("reply_text")?,
            moderator: label("moderator")?,
        });
    }
    Ok(all)
}
