//! Many decisions in a few statements: the audit-log rows, the authors' counts and their
//! label counts are each written with multi-row statements, so a group of decisions costs about
//! as much as one (what keeps the store's share of a busy server small).
//!
//! Only the shape of a statement is generated here (`($1, $2), ($3, $4)` for two rows of two):
//! every value is a bound parameter. A statement takes up to 64 rows, padded to a power of two
//! with rows that change nothing, so each statement has seven shapes, each prepared once per
//! connection, and a group of decisions is one statement per table.

use super::StoreError;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;
use sqlx::{AnyPool, Row, Transaction};
use std::collections::HashSet;

/// Rows per statement, at most.
const MAX_ROWS: usize = 64;

/// One row of the audit log, its parameters in column order.
pub(super) struct DecisionRow<'a> {
    pub decision_id: &'a str,
    pub decided_at: i64,
    pub origin: &'a str,
    pub comment_id: Option<&'a str>,
    pub author_id: Option<&'a str>,
    pub model: &'a str,
    pub policy: &'a str,
    pub lang: &'a str,
    pub intent: &'a str,
    pub sentiment: &'a str,
    pub action: &'a str,
    pub rule: &'a str,
    pub confidence: f64,
    pub needs_review: i64,
    pub decision: String,
    pub text: Option<&'a str>,
    pub thread: Option<&'a str>,
    pub text_expires_at: Option<i64>,
    /// Whether the decision counts as the author attacking (not a column of the log).
    pub hostile: bool,
}

const DECISION_COLUMNS: &str = "decision_id, decided_at, origin, comment_id, author_id, model, \
     policy, lang, intent, sentiment, action, rule, confidence, needs_review, decision, text, \
     thread, text_expires_at";

const AUTHOR_COLUMNS: &str = "author_id, first_seen, last_seen, comments, brand_answers, \
     last_answered_at, follow_ups, hostile_follow_ups, hostile";

/// A new author's row is the group's; a known one adds it. In `SET`, `authors` is the row as
/// it was, so `authors.brand_answers` says whether the brand had answered before the group.
const AUTHORS_CONFLICT: &str = "ON CONFLICT (author_id) DO UPDATE SET \
     last_seen = excluded.last_seen, \
     comments = authors.comments + excluded.comments, \
     hostile = authors.hostile + excluded.hostile, \
     brand_answers = authors.brand_answers + excluded.brand_answers, \
     last_answered_at = CASE WHEN excluded.brand_answers > 0 \
         THEN excluded.last_seen ELSE authors.last_answered_at END, \
     follow_ups = authors.follow_ups + CASE WHEN authors.brand_answers > 0 \
         THEN excluded.comments ELSE excluded.follow_ups END, \
     hostile_follow_ups = authors.hostile_follow_ups + CASE WHEN authors.brand_answers > 0 \
         THEN excluded.hostile ELSE excluded.hostile_follow_ups END";

const LABELS_CONFLICT: &str = "ON CONFLICT (author_id, kind, label) \
     DO UPDATE SET n = author_labels.n + excluded.n";

/// What a group of comments changes in one author's counts. Which comments are follow-ups
/// depends on whether the brand had answered before the group, which only the database
/// knows: if it had, all of them (and all the hostile ones); if not, those at or after the
/// group's first answer.
pub(super) struct AuthorDelta<'a> {
    pub author_id: &'a str,
    pub comments: i64,
    pub hostile: i64,
    pub brand_answers: i64,
    pub after_answer: i64,
    pub hostile_after_answer: i64,
}

/// Inserts the rows that are not in the log yet; returns the ids inserted.
pub(super) async fn insert_decisions(
    tx: &mut Transaction<'_, Any>,
    rows: &[DecisionRow<'_>],
) -> Result<HashSet<String>, StoreError> {
    let mut inserted = HashSet::new();
    for (chunk, size) in chunks(rows) {
        // Padded with the last row again, which conflicts with itself and is not inserted.
        let sql = format!(
            "INSERT INTO decisions ({DECISION_COLUMNS}) VALUES {} \
             ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id",
            placeholders(size, 18)
        );
        let mut query = sqlx::query(&sql);
        for r in padded_with_last(chunk, size) {
            query = bind_decision(query, r);
        }
        for row in query.fetch_all(&mut **tx).await? {
            inserted.insert(row.try_get("decision_id")?);
        }
    }
    Ok(inserted)
}

/// Rows in one statement of [`record_unanswered`], at most.
pub(super) const ONE_STATEMENT_ROWS: usize = 256;

/// Records a group none of whose threads shows a brand answer, on PostgreSQL, in one statement
/// (no transaction to open and close: a statement is atomic): the rows not in the log yet and,
/// from exactly those, the authors' counts and label counts. With no answer in the group its
/// follow-ups are decided by the database alone (an author the brand had answered), which is
/// what lets the database count them. `rows` hold distinct ids, at most [`ONE_STATEMENT_ROWS`];
/// padded to a power of two with rows of no id, which every part drops. Returns the ids
/// inserted.
pub(super) async fn record_unanswered(
    pool: &AnyPool,
    rows: &[&DecisionRow<'_>],
    now: i64,
) -> Result<HashSet<String>, StoreError> {
    assert!(rows.len() <= ONE_STATEMENT_ROWS, "one statement's rows");
    let size = rows.len().next_power_of_two();
    let now_param = size * 19 + 1;
    // Authors and labels are taken in key order: two writers lock what they share in the
    // same order.
    let sql = format!(
        "WITH v ({DECISION_COLUMNS}, hostile) AS (VALUES {}), \
         ins AS (INSERT INTO decisions ({DECISION_COLUMNS}) \
            SELECT {DECISION_COLUMNS} FROM v WHERE decision_id IS NOT NULL \
            ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id), \
         new AS (SELECT v.* FROM v JOIN ins USING (decision_id) WHERE v.author_id IS NOT NULL), \
         counted AS (INSERT INTO authors ({AUTHOR_COLUMNS}) \
            SELECT author_id, ${now_param}, ${now_param}, COUNT(*), 0, NULL::BIGINT, 0, 0, \
               SUM(hostile)::BIGINT \
            FROM new GROUP BY author_id ORDER BY author_id {AUTHORS_CONFLICT}), \
         labelled AS (INSERT INTO author_labels (author_id, kind, label, n) \
            SELECT author_id, kind, label, COUNT(*) FROM \
               (SELECT author_id, 'action' AS kind, action AS label FROM new \
                UNION ALL SELECT author_id, 'intent', intent FROM new) AS l \
            GROUP BY author_id, kind, label ORDER BY author_id, kind, label {LABELS_CONFLICT}) \
         SELECT decision_id FROM ins",
        placeholders(size, 19)
    );
    let mut query = sqlx::query(&sql);
    for r in rows {
        query = bind_decision(query, r).bind(i64::from(r.hostile));
    }
    for _ in rows.len()..size {
        query = bind_padding(query);
    }
    let mut inserted = HashSet::new();
    for row in query.bind(now).fetch_all(pool).await? {
        inserted.insert(row.try_get("decision_id")?);
    }
    Ok(inserted)
}

type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// Binds a row of the log, in [`DECISION_COLUMNS`]' order.
fn bind_decision<'q>(query: AnyQuery<'q>, r: &'q DecisionRow<'_>) -> AnyQuery<'q> {
    query
        .bind(r.decision_id)
        .bind(r.decided_at)
        .bind(r.origin)
        .bind(r.comment_id)
        .bind(r.author_id)
        .bind(r.model)
        .bind(r.policy)
        .bind(r.lang)
        .bind(r.intent)
        .bind(r.sentiment)
        .bind(r.action)
        .bind(r.rule)
        .bind(r.confidence)
        .bind(r.needs_review)
        .bind(r.decision.as_str())
        .bind(r.text)
        .bind(r.thread)
        .bind(r.text_expires_at)
}

/// A row of no id for [`record_unanswered`]'s padding, each value of its column's type.
fn bind_padding(query: AnyQuery<'_>) -> AnyQuery<'_> {
    let mut query = query.bind(None::<&str>).bind(0i64);
    for _ in 0..5 {
        query = query.bind(None::<&str>);
    }
    for _ in 0..5 {
        query = query.bind("");
    }
    query
        .bind(0f64)
        .bind(0i64)
        .bind("")
        .bind(None::<&str>)
        .bind(None::<&str>)
        .bind(None::<i64>)
        .bind(0i64)
}

/// Adds each author's delta (each author once), creating the authors not seen before, in one
/// statement per 64 authors. Rows are taken in the order given, which callers sort: two
/// writers lock the authors they share in the same order.
pub(super) async fn update_authors(
    tx: &mut Transaction<'_, Any>,
    deltas: &[AuthorDelta<'_>],
    now: i64,
) -> Result<(), StoreError> {
    for (chunk, size) in chunks(deltas) {
        // Padded with rows of no author, which the WHERE drops (SQLite also needs a WHERE to
        // read `ON CONFLICT` after a SELECT).
        let sql = format!(
            "INSERT INTO authors ({AUTHOR_COLUMNS}) \
             SELECT v.column1, v.column2, v.column2, v.column3, v.column5, \
                CASE WHEN v.column5 > 0 THEN v.column2 END, v.column6, v.column7, v.column4 \
             FROM (VALUES {}) AS v WHERE v.column1 IS NOT NULL {AUTHORS_CONFLICT}",
            placeholders(size, 7)
        );
        let mut query = sqlx::query(&sql);
        for d in chunk {
            query = query
                .bind(Some(d.author_id))
                .bind(now)
                .bind(d.comments)
                .bind(d.hostile)
                .bind(d.brand_answers)
                .bind(d.after_answer)
                .bind(d.hostile_after_answer);
        }
        for _ in chunk.len()..size {
            query = query.bind(None::<&str>);
            for _ in 0..6 {
                query = query.bind(0i64);
            }
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Adds to the authors' label counts: (author, `action` or `intent`, label, how many), each
/// key once.
pub(super) async fn add_labels(
    tx: &mut Transaction<'_, Any>,
    counts: &[(&str, &str, &str, i64)],
) -> Result<(), StoreError> {
    for (chunk, size) in chunks(counts) {
        // Padded with rows of no author, which the WHERE drops (SQLite also needs a WHERE to
        // read `ON CONFLICT` after a SELECT).
        let sql = format!(
            "INSERT INTO author_labels (author_id, kind, label, n) \
             SELECT v.column1, v.column2, v.column3, v.column4 FROM (VALUES {}) AS v \
             WHERE v.column1 IS NOT NULL {LABELS_CONFLICT}",
            placeholders(size, 4)
        );
        let mut query = sqlx::query(&sql);
        for &(author, kind, label, n) in chunk {
            query = query.bind(Some(author)).bind(kind).bind(label).bind(n);
        }
        for _ in chunk.len()..size {
            query = query.bind(None::<&str>).bind("").bind("").bind(0i64);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `IN ($1, …)` lists: the ids in chunks of at most 64, each padded to a power of two by
/// repeating its last id (a repeated id matches nothing more).
pub(super) fn in_lists<'a>(ids: &[&'a str]) -> Vec<(String, Vec<&'a str>)> {
    ids.chunks(MAX_ROWS)
        .map(|chunk| {
            let size = chunk.len().next_power_of_two();
            let mut padded = chunk.to_vec();
            padded.resize(size, chunk[chunk.len() - 1]);
            (placeholders(1, size), padded)
        })
        .collect()
}

/// The rows in chunks of at most 64, each with the size its statement has: the next power of
/// two (the statement's rows past the chunk are padding).
fn chunks<T>(rows: &[T]) -> Vec<(&[T], usize)> {
    rows.chunks(MAX_ROWS)
        .map(|chunk| (chunk, chunk.len().next_power_of_two()))
        .collect()
}

/// The chunk's rows, then its last row again up to `size`.
fn padded_with_last<T>(chunk: &[T], size: usize) -> impl Iterator<Item = &T> {
    let last = chunk.last();
    chunk
        .iter()
        .chain(std::iter::repeat_n(last, size - chunk.len()).flatten())
}

/// `($1, …, $cols), ($cols+1, …)` for `rows` rows.
fn placeholders(rows: usize, cols: usize) -> String {
    shaped(
        rows,
        |first| {
            let params: Vec<String> = (first..first + cols).map(|p| format!("${p}")).collect();
            format!("({})", params.join(", "))
        },
        cols,
    )
}

/// `rows` tuples, each made by `tuple` from its first parameter's number.
fn shaped(rows: usize, tuple: impl Fn(usize) -> String, params_per_row: usize) -> String {
    (0..rows)
        .map(|r| tuple(1 + r * params_per_row))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_take_a_few_shapes() {
        assert_eq!(placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
        let sizes: Vec<(usize, usize)> = chunks(&[0; 107])
            .iter()
            .map(|(c, size)| (c.len(), *size))
            .collect();
        assert_eq!(sizes, [(64, 64), (43, 64)]);
        let padded: Vec<&u8> = padded_with_last(&[1, 2, 3], 4).collect();
        assert_eq!(padded, [&1, &2, &3, &3]);
        let lists = in_lists(&["a", "b", "c"]);
        assert_eq!(
            lists,
            [("($1, $2, $3, $4)".to_string(), vec!["a", "b", "c", "c"])]
        );
        assert!(chunks::<u8>(&[]).is_empty());
    }
}
