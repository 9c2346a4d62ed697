//! Authors' histories: the counts the playbook reads (RSRA), the summary the API shows, the
//! brand's replies that make "answered" known across requests, and forgetting an author.

use super::batch::in_lists;
use super::records::{
    ranked, AuthorCounts, AuthorSummary, Forgotten, NewReply, RecentDecision, RecentReply,
};
use super::time::rfc3339;
use super::{Store, StoreError};
use sqlx::any::Any;
use sqlx::{Row, Transaction};
use std::collections::{BTreeMap, HashMap};

/// A brand answer to an author (who may be new to the store).
const ADD_ANSWER: &str = "INSERT INTO authors (author_id, first_seen, last_seen, comments, \
     brand_answers, last_answered_at, follow_ups, hostile_follow_ups) \
     VALUES ($1, $2, $2, 0, 1, $2, 0, 0) \
     ON CONFLICT (author_id) DO UPDATE SET brand_answers = authors.brand_answers + 1, \
        last_answered_at = excluded.last_answered_at";

const INSERT_REPLY: &str =
    "INSERT INTO replies (reply_id, author_id, comment_id, sent_at, origin, text, \
     text_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (reply_id) DO NOTHING";

/// Followed by an `IN` list (see `batch::in_lists`).
const SELECT_COUNTS: &str = "SELECT author_id, comments, brand_answers, follow_ups, \
     hostile_follow_ups FROM authors WHERE author_id IN ";

const SELECT_AUTHOR: &str = "SELECT first_seen, last_seen, comments, brand_answers, follow_ups, \
     hostile_follow_ups, last_answered_at FROM authors WHERE author_id = $1";

const SELECT_LABELS: &str = "SELECT kind, label, n FROM author_labels WHERE author_id = $1";

const SELECT_RECENT_DECISIONS: &str =
    "SELECT decision_id, decided_at, action, intent, rule FROM decisions \
     WHERE author_id = $1 ORDER BY decided_at DESC, decision_id LIMIT 20";

const SELECT_RECENT_REPLIES: &str = "SELECT reply_id, sent_at, origin FROM replies \
     WHERE author_id = $1 ORDER BY sent_at DESC, reply_id LIMIT 20";

pub(super) async fn add_answer(
    tx: &mut Transaction<'_, Any>,
    author_id: &str,
    at: i64,
) -> Result<(), StoreError> {
    sqlx::query(ADD_ANSWER)
        .bind(author_id)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Inserts a reply unless its id is known; `true` if it was new.
pub(super) async fn add_reply(
    tx: &mut Transaction<'_, Any>,
    reply: &NewReply,
    origin: &str,
    text_expires_at: Option<i64>,
) -> Result<bool, StoreError> {
    let text = text_expires_at.and(reply.text.as_deref());
    let inserted = sqlx::query(INSERT_REPLY)
        .bind(&reply.reply_id)
        .bind(&reply.author_id)
        .bind(reply.comment_id.as_deref())
        .bind(reply.sent_at)
        .bind(origin)
        .bind(text)
        .bind(text.and(text_expires_at))
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

impl Store {
    /// The history counts of each author the store knows (authors it does not know are absent).
    pub async fn author_counts(
        &self,
        author_ids: &[&str],
    ) -> Result<HashMap<String, AuthorCounts>, StoreError> {
        let mut ids = author_ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let mut counts = HashMap::new();
        for (list, ids) in in_lists(&ids) {
            let sql = format!("{SELECT_COUNTS}{list}");
            let mut query = sqlx::query(&sql);
            for id in ids {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await? {
                counts.insert(row.try_get("author_id")?, counts_of(&row)?);
            }
        }
        Ok(counts)
    }

    /// Records a brand reply (once by its id); `true` if it was new. The author's history
    /// counts it as an answer.
    pub async fn record_reply(&self, reply: &NewReply) -> Result<bool, StoreError> {
        let expires = self.text_expiry(super::now_ms());
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let inserted = add_reply(&mut tx, reply, "api", expires).await?;
        if inserted {
            add_answer(&mut tx, &reply.author_id, reply.sent_at).await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// What the store knows of an author; `None` if nothing.
    pub async fn author(&self, author_id: &str) -> Result<Option<AuthorSummary>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(row) = sqlx::query(SELECT_AUTHOR)
            .bind(author_id)
            .fetch_optional(&mut *conn)
            .await?
        else {
            return Ok(None);
        };
        let mut by_kind: HashMap<String, BTreeMap<String, u64>> = HashMap::new();
        for label in sqlx::query(SELECT_LABELS)
            .bind(author_id)
            .fetch_all(&mut *conn)
            .await?
        {
            let n: i64 = label.try_get("n")?;
            by_kind
                .entry(label.try_get("kind")?)
                .or_default()
                .insert(label.try_get("label")?, n.max(0) as u64);
        }
        let mut recent_decisions = Vec::new();
        for d in sqlx::query(SELECT_RECENT_DECISIONS)
            .bind(author_id)
            .fetch_all(&mut *conn)
            .await?
        {
            recent_decisions.push(RecentDecision {
                decision_id: d.try_get("decision_id")?,
                decided_at: rfc3339(d.try_get("decided_at")?),
                action: parse(d.try_get("action")?)?,
                intent: parse(d.try_get("intent")?)?,
                rule: d.try_get("rule")?,
            });
        }
        let mut recent_replies = Vec::new();
        for r in sqlx::query(SELECT_RECENT_REPLIES)
            .bind(author_id)
            .fetch_all(&mut *conn)
            .await?
        {
            recent_replies.push(RecentReply {
                reply_id: r.try_get("reply_id")?,
                sent_at: rfc3339(r.try_get("sent_at")?),
                origin: r.try_get("origin")?,
            });
        }
        let last_answered: Option<i64> = row.try_get("last_answered_at")?;
        Ok(Some(AuthorSummary {
            author_id: author_id.to_string(),
            first_seen: rfc3339(row.try_get("first_seen")?),
            last_seen: rfc3339(row.try_get("last_seen")?),
            counts: counts_of(&row)?,
            last_answered_at: last_answered.map(rfc3339),
            actions: ranked(by_kind.remove("action").unwrap_or_default()),
            intents: ranked(by_kind.remove("intent").unwrap_or_default()),
            recent_decisions,
            recent_replies,
        }))
    }

    /// Removes everything personal the store holds about an author, in one transaction: the
    /// history, the brand's replies to them, the author, comment id and text of their
    /// decisions, and the reply texts in verdicts on those decisions.
    pub async fn forget(&self, author_id: &str) -> Result<Forgotten, StoreError> {
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let texts: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM decisions WHERE author_id = $1 AND text IS NOT NULL",
        )
        .bind(author_id)
        .fetch_one(&mut *tx)
        .await?;
        let feedback = execute(
            &mut tx,
            "UPDATE feedback SET reply_text = NULL, author_id = NULL WHERE author_id = $1",
            author_id,
        )
        .await?;
        let forgotten = Forgotten {
            decisions: execute(
                &mut tx,
                "UPDATE decisions SET author_id = NULL, comment_id = NULL, text = NULL, \
                 thread = NULL, text_expires_at = NULL WHERE author_id = $1",
                author_id,
            )
            .await?,
            texts: texts.max(0) as u64,
            replies: execute(
                &mut tx,
                "DELETE FROM replies WHERE author_id = $1",
                author_id,
            )
            .await?,
            history: execute(
                &mut tx,
                "DELETE FROM authors WHERE author_id = $1",
                author_id,
            )
            .await?,
            feedback,
        };
        execute(
            &mut tx,
            "DELETE FROM author_labels WHERE author_id = $1",
            author_id,
        )
        .await?;
        tx.commit().await?;
        Ok(forgotten)
    }
}

async fn execute(
    tx: &mut Transaction<'_, Any>,
    sql: &'static str,
    author_id: &str,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(sql)
        .bind(author_id)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

fn counts_of(row: &sqlx::any::AnyRow) -> Result<AuthorCounts, StoreError> {
    let count = |name: &str| -> Result<u64, StoreError> {
        let n: i64 = row.try_get(name)?;
        Ok(n.max(0) as u64)
    };
    Ok(AuthorCounts {
        comments: count("comments")?,
        brand_answers: count("brand_answers")?,
        follow_ups: count("follow_ups")?,
        hostile_follow_ups: count("hostile_follow_ups")?,
    })
}

pub(super) fn parse<L: std::str::FromStr>(value: String) -> Result<L, StoreError> {
    value
        .parse()
        .map_err(|_| StoreError::Corrupt(format!("unknown label {value:?}")))
}
