//! The serve engine, as text-embeddings-inference's `Infer`: a handler makes one call
//! ([`Engine::decide`], [`Engine::classify`]) and the engine admits the request (model ready,
//! not shutting down, room in the queue), tokenises its comments off the async workers, queues
//! them for the model thread it owns, awaits their forward passes and decides. Knows nothing of
//! HTTP: its errors ([`EngineError`]) are mapped to responses by the router.

use super::memory::{stored_history, Memory};
use super::metrics::Metrics;
use super::model_thread::{self, ModelStatus};
use super::offload::{map_until_gone, off_runtime, INLINE_BYTES};
use super::queue::{BatchLimits, Inferred, Job, JobError, Queue, Refused, Throughput};
use super::ServeConfig;
use crate::comment::Comment;
use crate::pipeline::{Decided, Pipeline, Prepared};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the model is not ready: {0}")]
    NotReady(String),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the queue is full ({depth} comments waiting)")]
    QueueFull { depth: usize, retry_after_secs: u64 },
    #[error("comments waited {} ms and could not be run within the queue's bound of {} ms", .waited.as_millis(), .bound.as_millis())]
    Expired { waited: Duration, bound: Duration },
    /// The detail is for the log, not for clients.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The detail is for the log, not for clients.
    #[error("{0}")]
    Internal(String),
}

impl From<Refused> for EngineError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Full {
                depth,
                retry_after_secs,
            } => EngineError::QueueFull {
                depth,
                retry_after_secs,
            },
            Refused::Closed => EngineError::ShuttingDown,
        }
    }
}

/// Where a request's time went.
pub struct Timing {
    pub started: Instant,
    pub tokenization: Duration,
    /// The longest any of the request's comments waited for its forward pass.
    pub queue: Duration,
    /// The longest forward pass any of the request's comments went through.
    pub inference: Duration,
}

pub struct Engine {
    queue: Arc<Queue>,
    /// The queue's wait bound, which expired comments are told of.
    max_wait: Duration,
    status: watch::Receiver<ModelStatus>,
    thread: Mutex<Option<JoinHandle<()>>>,
    metrics: Arc<Metrics>,
    log_text: bool,
    shutting_down: AtomicBool,
    /// The store, unless `--store off`.
    memory: Option<Memory>,
}

impl Engine {
    pub fn start(
        config: &ServeConfig,
        memory: Option<Memory>,
        metrics: Arc<Metrics>,
        load: impl FnOnce() -> anyhow::Result<Arc<Pipeline>> + Send + 'static,
    ) -> anyhow::Result<Engine> {
        let throughput = Arc::new(Throughput::default());
        let queue = Arc::new(Queue::new(
            config.max_queue,
            config.max_queue_wait,
            throughput.clone(),
        ));
        let (status_tx, status) = watch::channel(ModelStatus::Loading);
        let limits = BatchLimits {
            max_batch_size: config.max_batch_size,
            max_batch_tokens: config.max_batch_tokens,
        };
        let thread = model_thread::spawn(model_thread::ModelThread {
            load: Box::new(load),
            queue: queue.clone(),
            status: status_tx,
            limits,
            throughput,
            metrics: metrics.clone(),
        })?;
        Ok(Engine {
            queue,
            max_wait: config.max_queue_wait,
            status,
            thread: Mutex::new(Some(thread)),
            metrics,
            log_text: config.log_text,
            shutting_down: AtomicBool::new(false),
            memory,
        })
    }

    pub fn status(&self) -> ModelStatus {
        self.status.borrow().clone()
    }

    pub async fn until_ready(&self) -> Result<(), String> {
        let mut status = self.status.clone();
        let ready = status
            .wait_for(|s| !matches!(s, ModelStatus::Loading))
            .await
            .map_err(|_| "the model thread is gone".to_string())?
            .clone();
        match ready {
            ModelStatus::Ready(_) => Ok(()),
            ModelStatus::Failed(why) => Err(why),
            ModelStatus::Loading | ModelStatus::Stopped => {
                Err("the model thread stopped".to_string())
            }
        }
    }

    /// Completes when the model thread can no longer serve; says why.
    pub async fn until_stopped(&self) -> String {
        let mut status = self.status.clone();
        let result = status
            .wait_for(|s| matches!(s, ModelStatus::Failed(_) | ModelStatus::Stopped))
            .await
            .map(|s| s.clone());
        match result {
            Ok(ModelStatus::Failed(why)) => format!("the model failed to load: {why}"),
            _ => "the model thread stopped".to_string(),
        }
    }

    pub fn queue_depth(&self) -> usize {
        self.queue.depth()
    }

    /// From now on, new requests get `ShuttingDown` while those in flight finish.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// The model, if it can take a request now.
    pub fn admit(&self) -> Result<Arc<Pipeline>, EngineError> {
        if self.is_shutting_down() {
            return Err(EngineError::ShuttingDown);
        }
        match self.status() {
            ModelStatus::Ready(pipeline) => Ok(pipeline),
            ModelStatus::Loading => Err(EngineError::NotReady("loading the model".to_string())),
            ModelStatus::Failed(why) => {
                Err(EngineError::NotReady(format!("it failed to load: {why}")))
            }
            ModelStatus::Stopped => Err(EngineError::NotReady(
                "the model thread stopped".to_string(),
            )),
        }
    }

    /// Scores the comments; the results come in the order given.
    pub async fn classify(
        &self,
        comments: Vec<Comment>,
    ) -> Result<(Vec<Inferred>, Timing), EngineError> {
        let (_, inferred, timing) = self.run_model(comments).await?;
        Ok((inferred, timing))
    }

    pub fn memory(&self) -> Option<&Memory> {
        self.memory.as_ref()
    }

    /// Scores and decides the comments; the decisions come in the order given. The authors'
    /// histories are read from the store while the model runs, and the decisions recorded
    /// (when `record`) before they are returned.
    pub async fn decide(
        &self,
        comments: Vec<Comment>,
        record: bool,
    ) -> Result<(Vec<Decided>, Timing), EngineError> {
        let recall = self.memory.as_ref().map(|m| m.recall(&comments));
        let (pipeline, inferred, timing) = self.run_model(comments).await?;
        let histories = match (&self.memory, recall) {
            (Some(memory), Some(recall)) => Some(memory.histories(recall).await),
            _ => None,
        };
        let recalled = !matches!(histories, Some(None));
        let text_bytes: usize = inferred.iter().map(|i| i.prepared.comment.text.len()).sum();
        let model = pipeline.clone();
        let decide_all = move |inferred: Vec<Inferred>| -> (Vec<Inferred>, Vec<Decided>) {
            let known = histories.flatten();
            let decisions = inferred
                .iter()
                .map(|i| {
                    let stored = stored_history(known.as_ref(), &i.prepared.comment);
                    model.decide_with(&i.prepared, &i.classified, stored)
                })
                .collect();
            (inferred, decisions)
        };
        // The rules read at most 32 KiB of each comment, but a batch of long ones adds up.
        let (inferred, mut decisions) = if text_bytes <= INLINE_BYTES {
            decide_all(inferred)
        } else {
            off_runtime(move |_| decide_all(inferred))
                .await
                .map_err(EngineError::Internal)?
        };
        if let Some(memory) = self.memory.as_ref().filter(|_| record) {
            let prepared: Vec<&Prepared> = inferred.iter().map(|i| &i.prepared).collect();
            memory
                .remember(&pipeline, &prepared, &mut decisions, recalled)
                .await;
        }
        Ok((decisions, timing))
    }

    /// Admits, tokenises off the async workers, queues for the model and waits.
    async fn run_model(
        &self,
        comments: Vec<Comment>,
    ) -> Result<(Arc<Pipeline>, Vec<Inferred>, Timing), EngineError> {
        let started = Instant::now();
        let pipeline = self.admit()?;
        // Refused at once, before any tokenising.
        self.queue.has_room_for(comments.len())?;
        if self.log_text {
            for c in &comments {
                tracing::debug!(id = c.id.as_deref().unwrap_or(""), text = c.text, "comment");
            }
        }
        let tokenizer = pipeline.clone();
        // Only a dropped request stops the work, and then nobody reads this `None`.
        let prepared = off_runtime(move |gone| {
            map_until_gone(comments, gone, |c| tokenizer.prepare(c))
                .map(|all| all.into_iter().collect::<Result<Vec<_>, _>>())
        })
        .await
        .map_err(EngineError::Internal)?
        .ok_or_else(|| EngineError::Internal("tokenising: the request was dropped".to_string()))?
        .map_err(|e| EngineError::Internal(format!("tokenising: {e}")))?;
        let tokenization = started.elapsed();
        let metrics = &self.metrics;
        metrics
            .tokenization_time
            .observe(tokenization.as_secs_f64());
        let inferred = self.infer(prepared).await?;
        metrics.comments.inc_by(inferred.len() as u64);
        let truncated = inferred.iter().filter(|i| i.classified.truncated).count();
        metrics.truncated.inc_by(truncated as u64);
        let longest = |of: fn(&Inferred) -> Duration| inferred.iter().map(of).max();
        let timing = Timing {
            started,
            tokenization,
            queue: longest(|i| i.queue_time).unwrap_or_default(),
            inference: longest(|i| i.inference_time).unwrap_or_default(),
        };
        Ok((pipeline, inferred, timing))
    }

    /// Queues the comments as one request and waits for each one's forward pass; the results
    /// come back in the order given. Dropping the future abandons the queued jobs.
    async fn infer(&self, prepared: Vec<Prepared>) -> Result<Vec<Inferred>, EngineError> {
        let (jobs, replies): (Vec<Job>, Vec<_>) = prepared
            .into_iter()
            .map(|prepared| {
                let (reply, receiver) = oneshot::channel();
                (Job::new(prepared, reply), receiver)
            })
            .unzip();
        self.queue.push_all(jobs)?;
        let mut results = Vec::with_capacity(replies.len());
        for reply in replies {
            let inferred = reply
                .await
                .map_err(|_| EngineError::ShuttingDown)?
                .map_err(|e| match e {
                    JobError::Expired { waited } => EngineError::Expired {
                        waited,
                        bound: self.max_wait,
                    },
                    JobError::Failed(why) => EngineError::Inference(why),
                })?;
            results.push(inferred);
        }
        Ok(results)
    }

    /// Closes the queue, lets the model thread finish what is waiting, and joins it.
    pub async fn stop(&self) {
        self.queue.close();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(thread) = thread {
            // Joining blocks; do it off the async workers.
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

impl Drop for Engine {
    /// An app dropped without [`Engine::stop`] (as in tests) still lets its model thread end.
    fn drop(&mut self) {
        self.queue.close();
    }
}
