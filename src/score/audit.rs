//! `tact score --store`: each decision of the run written to the store's audit log (origin
//! `score`, with the author's history updated, as `tact serve` records them), and each comment
//! decided with its author's history as the store knows it, so RSRA works across an archive.
//!
//! A window's comments are decided in input order, and an author's earlier lines count for
//! their later ones within the window too: decisions are recorded in runs of distinct authors
//! (one transaction each), and when an author comes again the run is recorded and their
//! history read afresh before the comment is decided. Recording is idempotent by decision id,
//! so `--resume` or a rerun counts nothing twice. Scoring is offline: a store that fails is an
//! error that stops the run (unlike serve, which decides on without it).

use crate::classify::Classified;
use crate::pipeline::{Decided, Pipeline, Prepared};
use crate::playbook::History;
use crate::store::{now_ms, AuthorCounts, NewDecision, Origin, Store, StoreConfig, StoreError};
use anyhow::Context;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The store a run records its decisions in.
pub struct Audit {
    /// The store is async; the scorer's threads are not: each call blocks on this runtime.
    runtime: tokio::runtime::Runtime,
    store: Store,
    /// The store's location without a password, for errors.
    described: String,
    /// The model and policy versions, the same for the whole run.
    versions: OnceLock<(String, String)>,
    recorded: AtomicU64,
    already_there: AtomicU64,
}

/// What a run wrote to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTally {
    pub store: String,
    /// Decisions new to the audit log.
    pub recorded: u64,
    /// Decisions whose id the log already held (an earlier run of the same lines).
    pub already_there: u64,
}

impl Audit {
    /// Opens the store, brings its schema up to date and blanks the stored texts whose time is
    /// up.
    pub fn open(config: &StoreConfig) -> anyhow::Result<Audit> {
        let described = config.location.describe();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the store's runtime")?;
        let store = runtime
            .block_on(async {
                let store = Store::open(config.location.clone(), config.retention).await?;
                if config.retention.store_text {
                    store.expire_texts(now_ms()).await?;
                }
                Ok::<_, StoreError>(store)
            })
            .with_context(|| format!("opening the store {described} (--store)"))?;
        Ok(Audit {
            runtime,
            store,
            described,
            versions: OnceLock::new(),
            recorded: AtomicU64::new(0),
            already_there: AtomicU64::new(0),
        })
    }

    /// Decides a window's comments, given in input order with what the model made of them,
    /// and records every decision before returning it.
    pub fn decide_window(
        &self,
        pipeline: &Pipeline,
        window: &[(&Prepared, Classified)],
    ) -> anyhow::Result<Vec<Decided>> {
        let (model, policy) = self.versions.get_or_init(|| {
            let policy = pipeline.playbook.policy().digest();
            (pipeline.model_version(), policy)
        });
        let authors: Vec<&str> = window.iter().filter_map(|(p, _)| author(p)).collect();
        let mut histories = self.counts(&authors)?;
        let mut decided = Vec::with_capacity(window.len());
        let mut run: Vec<NewDecision> = Vec::new();
        let mut run_authors: HashSet<&str> = HashSet::new();
        for (prepared, classified) in window {
            let author = author(prepared);
            if author.is_some_and(|a| run_authors.contains(a)) {
                // The author's earlier line must be in their history before this one is decided.
                self.record(&run)?;
                run.clear();
                let stale: Vec<&str> = run_authors.drain().collect();
                histories.extend(self.counts(&stale)?);
            }
            let stored = author
                .and_then(|a| histories.get(a))
                .map(|c| History::from_store(c.brand_answers, c.follow_ups));
            let mut d = pipeline.decide_with(prepared, classified, stored);
            let new = NewDecision::for_comment(
                Origin::Score,
                &prepared.comment,
                d.decision.clone(),
                (model, policy),
                self.store.retention().store_text,
            );
            d.decision_id = Some(new.decision_id.clone());
            run.push(new);
            run_authors.extend(author);
            decided.push(d);
        }
        self.record(&run)?;
        Ok(decided)
    }

    /// What the run wrote so far.
    pub fn tally(&self) -> AuditTally {
        AuditTally {
            store: self.described.clone(),
            recorded: self.recorded.load(Ordering::Relaxed),
            already_there: self.already_there.load(Ordering::Relaxed),
        }
    }

    /// Closes the store's connections.
    pub fn close(self) {
        self.runtime.block_on(self.store.close());
    }

    fn counts(&self, authors: &[&str]) -> anyhow::Result<HashMap<String, AuthorCounts>> {
        self.runtime
            .block_on(self.store.author_counts(authors))
            .with_context(|| {
                format!(
                    "reading authors' histories from the store {}",
                    self.described
                )
            })
    }

    /// One transaction.
    fn record(&self, decisions: &[NewDecision]) -> anyhow::Result<()> {
        if decisions.is_empty() {
            return Ok(());
        }
        let new = self
            .runtime
            .block_on(self.store.record_decisions(decisions))
            .with_context(|| format!("recording decisions in the store {}", self.described))?;
        let recorded = new.iter().filter(|&&n| n).count() as u64;
        self.recorded.fetch_add(recorded, Ordering::Relaxed);
        self.already_there
            .fetch_add(new.len() as u64 - recorded, Ordering::Relaxed);
        Ok(())
    }
}

fn author(prepared: &Prepared) -> Option<&str> {
    prepared.comment.author_id.as_deref()
}
