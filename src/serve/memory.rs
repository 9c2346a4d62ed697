//! What the serve engine remembers through the store: the histories of a request's authors,
//! read while the model runs, and each decision written to the audit log (with the author's
//! history and the brand answers its thread shows) before the answer goes out, so that an
//! acknowledged decision is a recorded one. One writer task records the decisions of all the
//! requests waiting at a time in one transaction (group commit).
//!
//! The store never fails a request: an operation that errs or takes longer than
//! `--store-timeout-ms` leaves the decision to the comment and its thread, marks it
//! `"history": "unavailable"` and counts it in `tact_store_unavailable_total`.

use super::metrics::{Metrics, StoreLabels};
use crate::comment::Comment;
use crate::pipeline::{Decided, HistoryStatus, Pipeline, Prepared};
use crate::playbook::History;
use crate::store::{AuthorCounts, NewDecision, Origin, Store};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

pub struct Memory {
    store: Arc<Store>,
    timeout: Duration,
    metrics: Arc<Metrics>,
    /// The model and policy versions, the same for the life of the server.
    versions: OnceLock<(String, String)>,
    /// To the group writer.
    writes: mpsc::Sender<Pending>,
    /// To the group reader.
    reads: mpsc::Sender<Lookup>,
}

type Counts = HashMap<String, AuthorCounts>;

/// Authors whose histories a request needs, and the request waiting for them.
struct Lookup {
    authors: Vec<String>,
    done: oneshot::Sender<Result<Counts, String>>,
}

/// Decisions to record, and the request waiting for them.
struct Pending {
    batch: Vec<NewDecision>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Requests whose decisions may wait for the writer at once; past it, a request is answered
/// without recording (`unavailable`) rather than queue behind a store that has stopped.
const MAX_PENDING: usize = 1024;
/// Decisions written in one transaction, at most.
const MAX_GROUP: usize = 256;
/// How long a group waits for company under load.
const GATHER: Duration = Duration::from_millis(1);

/// Authors' histories being read (`None`: the comments name no author).
pub struct Recall(Option<Reading>);

struct Reading {
    queued: Result<(), String>,
    answer: oneshot::Receiver<Result<Counts, String>>,
    started: Instant,
}

impl Memory {
    /// Starts the group writer; call within the async runtime.
    pub fn new(store: Arc<Store>, timeout: Duration, metrics: Arc<Metrics>) -> Memory {
        let (writes, pending) = mpsc::channel(MAX_PENDING);
        tokio::spawn(write_groups(store.clone(), pending, metrics.clone()));
        let (reads, lookups) = mpsc::channel(MAX_PENDING);
        tokio::spawn(read_groups(store.clone(), lookups, metrics.clone()));
        Memory {
            store,
            timeout,
            metrics,
            versions: OnceLock::new(),
            writes,
            reads,
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Starts reading the histories of the comments' authors.
    pub fn recall(&self, comments: &[Comment]) -> Recall {
        let mut authors: Vec<String> = comments
            .iter()
            .filter_map(|c| c.author_id.clone())
            .collect();
        authors.sort();
        authors.dedup();
        if authors.is_empty() {
            return Recall(None);
        }
        let (done, answer) = oneshot::channel();
        let queued = self.reads.try_send(Lookup { authors, done });
        Recall(Some(Reading {
            queued: queued.map_err(|_| "the reader's queue is full".to_string()),
            answer,
            started: Instant::now(),
        }))
    }

    /// The histories read, `None` if the store did not answer within the timeout (counted
    /// from when the reading began, while the model ran).
    pub async fn histories(&self, recall: Recall) -> Option<Counts> {
        let Some(reading) = recall.0 else {
            return Some(HashMap::new());
        };
        let started = reading.started;
        let read = async move {
            reading.queued?;
            reading
                .answer
                .await
                .map_err(|_| "the reader stopped".to_string())?
        };
        self.bounded("recall", started, read).await
    }

    /// Records the decisions; marks them `unavailable` if this or the recall failed.
    pub async fn remember(
        &self,
        pipeline: &Pipeline,
        prepared: &[&Prepared],
        decisions: &mut [Decided],
        recalled: bool,
    ) {
        let (model, policy) = self.versions.get_or_init(|| {
            let policy = pipeline.playbook.policy().digest();
            (pipeline.model_version(), policy)
        });
        let keep_text = self.store.retention().store_text;
        let batch: Vec<NewDecision> = prepared
            .iter()
            .zip(decisions.iter_mut())
            .map(|(p, d)| {
                let new = NewDecision::for_comment(
                    Origin::Http,
                    &p.comment,
                    d.decision.clone(),
                    (model, policy),
                    keep_text,
                );
                d.decision_id = Some(new.decision_id.clone());
                new
            })
            .collect();
        let (done, written) = oneshot::channel();
        let queued = self.writes.try_send(Pending { batch, done });
        let write = async move {
            queued.map_err(|_| "the writer's queue is full".to_string())?;
            written
                .await
                .map_err(|_| "the writer stopped".to_string())?
        };
        let recorded = self
            .bounded("record", Instant::now(), write)
            .await
            .is_some();
        if !(recorded && recalled) {
            for d in decisions.iter_mut() {
                d.history = Some(HistoryStatus::Unavailable);
            }
        }
    }

    /// Waits for a store operation begun at `started`, until the timeout past it; `None`
    /// (logged, counted) if it failed.
    async fn bounded<T>(
        &self,
        op: &'static str,
        started: Instant,
        work: impl Future<Output = Result<T, String>>,
    ) -> Option<T> {
        let timeout = self.timeout;
        let deadline = tokio::time::Instant::from_std(started + timeout);
        let outcome = tokio::time::timeout_at(deadline, work).await;
        let result = match outcome {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                tracing::warn!(op, error = e, "the store failed: deciding without it");
                None
            }
            Err(_) => {
                tracing::warn!(
                    op,
                    ms = timeout.as_millis() as u64,
                    "the store did not answer in time: deciding without it"
                );
                None
            }
        };
        self.metrics
            .record_store(op, started.elapsed(), result.is_some());
        result
    }
}

/// The next request for a group. One that came while the last group was in the database is
/// taken at once (its company is already queued); a task that was idle lets the requests
/// that finish together (those one forward pass answered) reach the queue first — under load
/// (the last group had company) a millisecond, a fraction of what a request takes then; a
/// lone request waits for nothing.
async fn next_request<T>(requests: &mut mpsc::Receiver<T>, last_group: usize) -> Option<T> {
    match requests.try_recv() {
        Ok(request) => return Some(request),
        Err(mpsc::error::TryRecvError::Disconnected) => return None,
        Err(mpsc::error::TryRecvError::Empty) => {}
    }
    let request = requests.recv().await?;
    if last_group > 1 {
        tokio::time::sleep(GATHER).await;
    } else {
        tokio::task::yield_now().await;
    }
    Some(request)
}

/// Reads the histories that whichever requests are waiting need, in one query.
async fn read_groups(
    store: Arc<Store>,
    mut lookups: mpsc::Receiver<Lookup>,
    metrics: Arc<Metrics>,
) {
    let mut last_group = 1;
    while let Some(first) = next_request(&mut lookups, last_group).await {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match lookups.try_recv() {
                Ok(next) => group.push(next),
                Err(_) => break,
            }
        }
        last_group = group.len();
        let ids: Vec<&str> = group
            .iter()
            .flat_map(|l| l.authors.iter().map(String::as_str))
            .collect();
        let labels = StoreLabels { op: "recall" };
        metrics
            .store_group
            .get_or_create(&labels)
            .observe(group.len() as f64);
        let outcome = store.author_counts(&ids).await.map_err(|e| causes(&e));
        for waiting in group {
            let answer = match &outcome {
                Ok(all) => Ok(waiting
                    .authors
                    .iter()
                    .filter_map(|a| all.get(a).map(|c| (a.clone(), *c)))
                    .collect()),
                Err(e) => Err(e.clone()),
            };
            // A request that timed out no longer listens.
            let _ = waiting.done.send(answer);
        }
    }
}

/// Writes the decisions of whichever requests are waiting, in one transaction: under load,
/// many requests share a commit (and its statements, see `store::batch`).
async fn write_groups(
    store: Arc<Store>,
    mut pending: mpsc::Receiver<Pending>,
    metrics: Arc<Metrics>,
) {
    let mut last_group = 1;
    while let Some(first) = next_request(&mut pending, last_group).await {
        let mut size = first.batch.len();
        let mut group = vec![first];
        while size < MAX_GROUP {
            match pending.try_recv() {
                Ok(next) => {
                    size += next.batch.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        last_group = group.len();
        let all: Vec<NewDecision> = group
            .iter_mut()
            .flat_map(|p| std::mem::take(&mut p.batch))
            .collect();
        let labels = StoreLabels { op: "record" };
        metrics
            .store_group
            .get_or_create(&labels)
            .observe(group.len() as f64);
        let outcome = store.record_decisions(&all).await;
        let outcome = outcome.map(|_| ()).map_err(|e| causes(&e));
        for waiting in group {
            // A request that timed out no longer listens.
            let _ = waiting.done.send(outcome.clone());
        }
    }
}

/// The author's history as the store knows it.
pub fn stored_history(histories: Option<&Counts>, comment: &Comment) -> Option<History> {
    let counts = histories?.get(comment.author_id.as_deref()?)?;
    Some(History::from_store(counts.brand_answers, counts.follow_ups))
}

/// An error and its causes on one line (store errors name tables and constraints, never
/// values).
pub fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
