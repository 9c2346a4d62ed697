//! The model's own OS thread: loads the model (seconds), warms it up with one forward pass,
//! says it is ready, then runs one batch after another off the queue until the queue is
//! closed and drained. The forward pass is CPU-bound for tens of milliseconds, which is why it
//! never runs on the async runtime.

use super::metrics::Metrics;
use super::queue::{BatchLimits, Inferred, Job, JobError, Queue, Throughput};
use crate::comment::Comment;
use crate::pipeline::{Pipeline, Prepared};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::watch;

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

pub type Loader = Box<dyn FnOnce() -> anyhow::Result<Arc<Pipeline>> + Send>;

pub struct ModelThread {
    pub load: Loader,
    pub queue: Arc<Queue>,
    pub status: watch::Sender<ModelStatus>,
    pub limits: BatchLimits,
    pub throughput: Arc<Throughput>,
    pub metrics: Arc<Metrics>,
}

pub fn spawn(thread: ModelThread) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("tact-model".to_string())
        .spawn(move || thread.run())
}

/// Marks the model stopped when the thread exits, however it exits (a panic included), unless
/// it already said it failed to load.
struct StatusOnExit(watch::Sender<ModelStatus>);

impl Drop for StatusOnExit {
    fn drop(&mut self) {
        self.0.send_if_modified(|status| {
            let running = matches!(status, ModelStatus::Loading | ModelStatus::Ready(_));
            if running {
                *status = ModelStatus::Stopped;
            }
            running
        });
    }
}

impl ModelThread {
    fn run(self) {
        let ModelThread {
            load,
            queue,
            status,
            limits,
            throughput,
            metrics,
        } = self;
        let status = StatusOnExit(status);
        let started = Instant::now();
        let pipeline = match load().and_then(|p| warm_up(&p).map(|()| p)) {
            Ok(pipeline) => pipeline,
            Err(e) => {
                tracing::error!("loading the model: {e:#}");
                status.0.send_replace(ModelStatus::Failed(format!("{e:#}")));
                // Nothing will serve the queue: refuse whatever comes.
                queue.close();
                return;
            }
        };
        tracing::info!(
            "model loaded and warmed up in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        status.0.send_replace(ModelStatus::Ready(pipeline.clone()));
        while let Some(batch) = queue.next_batch(limits) {
            metrics.abandoned.inc_by(batch.abandoned as u64);
            metrics.expired.inc_by(batch.expired as u64);
            if !batch.jobs.is_empty() {
                run_batch(&pipeline, batch.jobs, &throughput, &metrics);
            }
        }
        tracing::info!("model thread: queue drained, stopping");
    }
}

/// One forward pass, so the first request does not pay for lazy initialisation.
fn warm_up(pipeline: &Pipeline) -> anyhow::Result<()> {
    let prepared = pipeline.prepare(Comment {
        text: "Warming up: is the model ready?".to_string(),
        ..Comment::default()
    })?;
    pipeline.infer(&[&prepared])?;
    Ok(())
}

fn run_batch(pipeline: &Pipeline, jobs: Vec<Job>, throughput: &Throughput, metrics: &Metrics) {
    let started = Instant::now();
    let size = jobs.len();
    let batch: Vec<&Prepared> = jobs.iter().map(|job| &job.prepared).collect();
    let longest = batch.iter().map(|p| p.tokens.ids.len()).max().unwrap_or(0);
    // A panic inside the model fails this batch's requests, not the service.
    let outcome = catch_unwind(AssertUnwindSafe(|| pipeline.infer(&batch)));
    let inference_time = started.elapsed();
    metrics.record_batch(size, size * longest, inference_time);
    let tokens = batch.iter().map(|p| p.tokens.ids.len()).sum();
    throughput.record(tokens, inference_time.as_secs_f64());
    let classified = match outcome {
        Ok(Ok(classified)) if classified.len() == size => classified,
        Ok(Ok(classified)) => {
            let why = format!("{} results for {size} comments", classified.len());
            return fail_all(jobs, &why);
        }
        Ok(Err(e)) => return fail_all(jobs, &e.to_string()),
        Err(_) => return fail_all(jobs, "the model panicked"),
    };
    for (job, classified) in jobs.into_iter().zip(classified) {
        let queue_time = started.saturating_duration_since(job.enqueued_at);
        metrics.queue_time.observe(queue_time.as_secs_f64());
        // The requester may have gone meanwhile; nothing to do then.
        let _ = job.reply.send(Ok(Inferred {
            prepared: job.prepared,
            classified,
            queue_time,
            inference_time,
        }));
    }
}

fn fail_all(jobs: Vec<Job>, why: &str) {
    tracing::error!("inference failed for a batch of {}: {why}", jobs.len());
    for job in jobs {
        let _ = job.reply.send(Err(JobError::Failed(why.to_string())));
    }
}
