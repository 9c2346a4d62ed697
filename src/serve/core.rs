//! The core between the HTTP layer and the model: owns the queue and the model thread, tells
//! whether the model is ready, and turns a request's prepared comments into jobs and their
//! results back into one answer per comment, in order. Knows nothing of HTTP: its errors
//! ([`CoreError`]) are mapped to responses by the router.

use super::metrics::Metrics;
use super::model_thread;
use super::queue::{BatchLimits, Inferred, Job, JobError, Queue, Refused, Throughput};
use super::ServeConfig;
use crate::pipeline::{Pipeline, Prepared};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// Where the model thread is.
#[derive(Clone)]
pub enum ModelStatus {
    /// Loading the weights, or warming up.
    Loading,
    Ready(Arc<Pipeline>),
    /// Loading failed; the message says why.
    Failed(String),
    /// The thread has exited (after shutdown, or because it panicked).
    Stopped,
}

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("the queue is full ({depth} comments waiting)")]
    QueueFull { depth: usize, retry_after_secs: u64 },
    #[error("the model is not taking work any more")]
    Closed,
    #[error("comments waited {} ms and could not be run within the queue's bound of {} ms", .waited.as_millis(), .bound.as_millis())]
    Expired { waited: Duration, bound: Duration },
    #[error("inference failed: {0}")]
    Inference(String),
}

impl From<Refused> for CoreError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Full {
                depth,
                retry_after_secs,
            } => CoreError::QueueFull {
                depth,
                retry_after_secs,
            },
            Refused::Closed => CoreError::Closed,
        }
    }
}

pub struct Core {
    queue: Arc<Queue>,
    /// The queue's wait bound, which expired comments are told of.
    max_wait: Duration,
    status: watch::Receiver<ModelStatus>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Core {
    pub fn start(
        config: &ServeConfig,
        metrics: Arc<Metrics>,
        load: impl FnOnce() -> anyhow::Result<Arc<Pipeline>> + Send + 'static,
    ) -> anyhow::Result<Core> {
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
            metrics,
        })?;
        Ok(Core {
            queue,
            max_wait: config.max_queue_wait,
            status,
            thread: Mutex::new(Some(thread)),
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

    /// Refuses at once (before any tokenising) a request the queue cannot take now.
    pub fn check_room(&self, comments: usize) -> Result<(), CoreError> {
        self.queue.has_room_for(comments).map_err(CoreError::from)
    }

    /// Queues the comments as one request and waits for each one's forward pass; the results
    /// come back in the order given. Dropping the future abandons the queued jobs.
    pub async fn infer(&self, prepared: Vec<Prepared>) -> Result<Vec<Inferred>, CoreError> {
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
                .map_err(|_| CoreError::Closed)?
                .map_err(|e| match e {
                    JobError::Expired { waited } => CoreError::Expired {
                        waited,
                        bound: self.max_wait,
                    },
                    JobError::Failed(why) => CoreError::Inference(why),
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

impl Drop for Core {
    /// An app dropped without [`Core::stop`] (as in tests) still lets its model thread end.
    fn drop(&mut self) {
        self.queue.close();
    }
}
