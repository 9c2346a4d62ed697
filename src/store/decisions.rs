//! The audit log: recording decisions (and, with each, the author's history and the brand's
//! answers its thread shows) and reading one back.

use super::authors::add_reply;
use super::batch::{
    add_labels, insert_decisions, record_unanswered, update_authors, AuthorDelta, DecisionRow,
    ONE_STATEMENT_ROWS,
};
use super::feedback::feedback_of;
use super::ids::reply_id;
use super::records::{NewDecision, NewReply, StoredDecision};
use super::time::{now_ms, rfc3339};
use super::{Location, Store, StoreError};
use crate::labels::{Action, Intent};
use crate::playbook::{Decision, RuleId};
use sqlx::Row;
use std::collections::{BTreeMap, HashSet};

const SELECT_DECISION: &str =
    "SELECT decision_id, decided_at, origin, comment_id, author_id, model, policy, \
     decision, text, thread, text_expires_at FROM decisions WHERE decision_id = $1";

impl Store {
    /// Records the decisions in one transaction, each once: a decision id already in the log
    /// (or earlier in the batch) is left as it is and changes no history. Returns, per
    /// decision, whether it was new. The authors' histories change as if the decisions had
    /// been recorded one by one, in order: each comment's thread answers count before it.
    pub async fn record_decisions(&self, batch: &[NewDecision]) -> Result<Vec<bool>, StoreError> {
        let now = now_ms();
        let expires = self.text_expiry(now);
        let rows = batch
            .iter()
            .map(|new| decision_row(new, now, expires))
            .collect::<Result<Vec<_>, _>>()?;
        let answered = batch
            .iter()
            .any(|new| new.author_id.is_some() && !new.thread_answers.is_empty());
        if matches!(self.location(), Location::Postgres(_))
            && !answered
            && rows.len() <= ONE_STATEMENT_ROWS
        {
            // One round trip instead of a transaction's five: on a server sharing the
            // model's cores, each waits to be scheduled.
            let mut seen = HashSet::new();
            let firsts: Vec<&DecisionRow> =
                rows.iter().filter(|r| seen.insert(r.decision_id)).collect();
            let mut inserted = record_unanswered(&self.pool, &firsts, now).await?;
            return Ok(batch
                .iter()
                .map(|new| inserted.remove(&new.decision_id))
                .collect());
        }
        let _gate = self.write_gate().await;
        let mut tx = self.pool.begin().await?;
        let mut inserted = insert_decisions(&mut tx, &rows).await?;
        // Only the first of two equal ids in a batch is new.
        let recorded: Vec<bool> = batch
            .iter()
            .map(|new| inserted.remove(&new.decision_id))
            .collect();
        let mut authors: Vec<AuthorFold> = Vec::new();
        for (new, _) in batch.iter().zip(&recorded).filter(|(_, &r)| r) {
            let Some(author) = new.author_id.as_deref() else {
                continue;
            };
            let mut answers = 0;
            for (place, answer) in new.thread_answers.iter().enumerate() {
                // Not by the comment: the next comment's thread repeats the same answers.
                let reply = NewReply {
                    reply_id: reply_id(author, None, answer, place),
                    author_id: author.to_string(),
                    comment_id: new.comment_id.clone(),
                    text: Some(answer.clone()),
                    sent_at: now,
                };
                answers += i64::from(add_reply(&mut tx, &reply, "thread", expires).await?);
            }
            let fold = match authors.iter_mut().find(|f| f.author == author) {
                Some(fold) => fold,
                None => {
                    authors.push(AuthorFold::new(author));
                    authors.last_mut().expect("just pushed")
                }
            };
            fold.add(&new.decision, answers);
        }
        // In one order for every writer (replicas write at once): rows are locked in it, so
        // two transactions cannot each hold an author the other waits for.
        authors.sort_by(|a, b| a.author.cmp(b.author));
        let deltas: Vec<AuthorDelta> = authors.iter().map(AuthorFold::delta).collect();
        update_authors(&mut tx, &deltas, now).await?;
        let labels: Vec<(&str, &str, &str, i64)> = authors
            .iter()
            .flat_map(|f| {
                f.labels
                    .iter()
                    .map(|((kind, label), n)| (f.author, *kind, *label, *n))
            })
            .collect();
        add_labels(&mut tx, &labels).await?;
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
            thread: stored_thread(row.try_get("thread")?)?,
            text_expires_at: expires.map(rfc3339),
            feedback: feedback_of(&self.pool, decision_id).await?,
        }))
    }
}

/// One author's new comments in a batch, in order.
struct AuthorFold<'a> {
    author: &'a str,
    comments: i64,
    answers: i64,
    hostile: i64,
    /// Comments (and hostile ones) at or after the batch's first brand answer.
    after_answer: i64,
    hostile_after_answer: i64,
    labels: BTreeMap<(&'static str, &'static str), i64>,
}

impl<'a> AuthorFold<'a> {
    fn new(author: &'a str) -> Self {
        AuthorFold {
            author,
            comments: 0,
            answers: 0,
            hostile: 0,
            after_answer: 0,
            hostile_after_answer: 0,
            labels: BTreeMap::new(),
        }
    }

    /// A comment, after the brand answers its thread showed for the first time.
    fn add(&mut self, d: &Decision, answers: i64) {
        let hostile = i64::from(is_hostile(d.rule, d.action, d.intent.label));
        self.comments += 1;
        self.hostile += hostile;
        self.answers += answers;
        if self.answers > 0 {
            self.after_answer += 1;
            self.hostile_after_answer += hostile;
        }
        for key in [
            ("action", d.action.as_str()),
            ("intent", d.intent.label.as_str()),
        ] {
            *self.labels.entry(key).or_default() += 1;
        }
    }

    fn delta(&self) -> AuthorDelta<'a> {
        AuthorDelta {
            author_id: self.author,
            comments: self.comments,
            hostile: self.hostile,
            brand_answers: self.answers,
            after_answer: self.after_answer,
            hostile_after_answer: self.hostile_after_answer,
        }
    }
}

fn decision_row(
    new: &NewDecision,
    now: i64,
    expires: Option<i64>,
) -> Result<DecisionRow<'_>, StoreError> {
    let d = &new.decision;
    Ok(DecisionRow {
        decision_id: &new.decision_id,
        decided_at: now,
        origin: new.origin.as_str(),
        comment_id: new.comment_id.as_deref(),
        author_id: new.author_id.as_deref(),
        model: &new.model,
        policy: &new.policy,
        lang: d.lang.as_str(),
        intent: d.intent.label.as_str(),
        sentiment: d.sentiment.label.as_str(),
        action: d.action.as_str(),
        rule: d.rule.as_str(),
        confidence: d.confidence,
        needs_review: i64::from(d.needs_review),
        decision: serde_json::to_string(&StoredJson(d))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        text: new.text.as_deref().filter(|_| expires.is_some()),
        thread: new.thread.as_deref().filter(|_| expires.is_some()),
        text_expires_at: expires,
        hostile: is_hostile(d.rule, d.action, d.intent.label),
    })
}

/// A stored thread, back as JSON.
pub(super) fn stored_thread(
    thread: Option<String>,
) -> Result<Option<serde_json::Value>, StoreError> {
    thread
        .map(|t| serde_json::from_str(&t).map_err(|e| StoreError::Corrupt(e.to_string())))
        .transpose()
}

/// The author kept attacking: the playbook said wait (RSRA), or read abuse or trolling.
fn is_hostile(rule: RuleId, action: Action, intent: Intent) -> bool {
    rule == RuleId::RsraWait
        || action == Action::DeleteAndBan
        || matches!(intent, Intent::Troll | Intent::Abuse)
}

/// The decision as stored: without the comment's id, which lives in its own column (and is
/// blanked when the author is forgotten).
struct StoredJson<'a>(&'a Decision);

impl serde::Serialize for StoredJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut value = serde_json::to_value(self.0).map_err(serde::ser::Error::custom)?;
        if let Some(object) = value.as_object_mut() {
            object.remove("id");
        }
        value.serialize(serializer)
    }
}
