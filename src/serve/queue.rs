//! The bounded queue between the handlers and the model thread, and how a batch is chosen.
//!
//! A handler pushes one job per comment, all of a request's comments or none. A request is
//! refused at once (429) rather than queued when it would take the queue past its capacity
//! in comments, or when the work already waiting, its own and one forward pass would keep it
//! longer than the maximum wait — estimated from the model's recent speed in tokens per
//! second, so that admitted requests keep their latency however overloaded the server is, on
//! any machine. Each admitted comment gets a deadline: admitted + the maximum wait, or, for a
//! request bigger than that which an empty queue took, half as long again as it should take.
//!
//! The model thread takes one batch per forward pass, oldest comment first, so the estimate
//! that admitted a comment (everything ahead of it, first in first out) is the wait it gets:
//!
//! - The batch is anchored on the oldest waiting comment; the others join oldest first, each
//!   one that fits the token budget (comments × longest, what a padded forward pass costs: it
//!   bounds how long one pass holds the model), the batch size, and keeps padding under a
//!   quarter of the real tokens (on a CPU, padding costs as much as real tokens, more than
//!   batching saves). A newer comment of a handy length can join a pass, never push an older
//!   one out of it.
//! - A comment that can no longer finish by its deadline (now + one pass is past it) is
//!   answered `Expired` and dropped before it costs a forward pass; jobs whose requester has
//!   gone (timed out, disconnected) are dropped unrun.

use crate::classify::Classified;
use crate::pipeline::Prepared;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A batch's padded tokens may be at most this many times its real tokens.
const MAX_PADDING_RATIO: f64 = 1.25;

/// Why a comment got no scores.
#[derive(Debug, Clone, PartialEq)]
pub enum JobError {
    /// It could not have been run by its deadline; dropped unrun after waiting this long.
    Expired { waited: Duration },
    /// Its forward pass failed; the message says why.
    Failed(String),
}

pub type Reply = oneshot::Sender<Result<Inferred, JobError>>;

/// One comment waiting for the model.
pub struct Job {
    pub prepared: Prepared,
    pub enqueued_at: Instant,
    pub reply: Reply,
    /// When its forward pass must be over (set when admitted); none before the model's speed
    /// is known.
    deadline: Option<Instant>,
}

impl Job {
    pub fn tokens(&self) -> usize {
        self.prepared.tokens.ids.len()
    }

    pub fn new(prepared: Prepared, reply: Reply) -> Self {
        let now = Instant::now();
        Job {
            prepared,
            enqueued_at: now,
            reply,
            deadline: None,
        }
    }
}

/// A comment back from the model, with where its time went.
pub struct Inferred {
    pub prepared: Prepared,
    pub classified: Classified,
    pub queue_time: Duration,
    pub inference_time: Duration,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The request does not fit the queue's capacity or its maximum wait now; what is waiting
    /// should be done in about `retry_after_secs`.
    Full { depth: usize, retry_after_secs: u64 },
    /// The model thread has stopped taking work.
    Closed,
}

/// What [`Queue::next_batch`] hands the model thread.
pub struct Batch {
    pub jobs: Vec<Job>,
    /// Jobs dropped unrun because nobody waits for them any more.
    pub abandoned: usize,
    /// Jobs dropped unrun (and answered `Expired`) because they could not meet their deadline.
    pub expired: usize,
}

#[derive(Debug, Clone, Copy)]
pub struct BatchLimits {
    pub max_batch_size: usize,
    pub max_batch_tokens: usize,
}

/// How fast the model thread gets through comments, in real tokens per second: moving
/// averages of the tokens and of the time of recent forward passes (about the last ten), so
/// that big passes weigh more than small ones, whose fixed costs would understate the speed.
#[derive(Default)]
pub struct Throughput(Mutex<Option<(f64, f64)>>);

impl Throughput {
    pub fn record(&self, tokens: usize, seconds: f64) {
        if seconds <= 0.0 || tokens == 0 {
            return;
        }
        let mut averages = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (tokens_before, seconds_before) = averages.unwrap_or((tokens as f64, seconds));
        *averages = Some((
            0.9 * tokens_before + 0.1 * tokens as f64,
            0.9 * seconds_before + 0.1 * seconds,
        ));
    }

    fn tokens_per_second(&self) -> Option<f64> {
        let averages = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        averages.map(|(tokens, seconds)| tokens / seconds)
    }

    /// How long a forward pass takes lately; zero before the first one.
    fn seconds_per_pass(&self) -> f64 {
        let averages = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        averages.map_or(0.0, |(_, seconds)| seconds)
    }
}

pub struct Queue {
    state: Mutex<State>,
    not_empty: Condvar,
    capacity: usize,
    max_wait: Duration,
    throughput: Arc<Throughput>,
}

struct State {
    /// Oldest first.
    jobs: VecDeque<Job>,
    /// Real tokens of the waiting jobs.
    tokens: usize,
    closed: bool,
}

impl Queue {
    pub fn new(capacity: usize, max_wait: Duration, throughput: Arc<Throughput>) -> Self {
        Queue {
            state: Mutex::new(State {
                jobs: VecDeque::with_capacity(capacity),
                tokens: 0,
                closed: false,
            }),
            not_empty: Condvar::new(),
            capacity,
            max_wait,
            throughput,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind; carry on with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Jobs waiting.
    pub fn depth(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Whether `n` more jobs would fit now, their tokens not yet known (a cheap check before
    /// tokenising a request).
    pub fn has_room_for(&self, n: usize) -> Result<(), Refused> {
        let state = self.lock();
        self.check_room(&state, n, 0).map(|_| ())
    }

    /// Admits or refuses; when admitted, the seconds the request should take to be run (`None`
    /// before the model's speed is known).
    fn check_room(
        &self,
        state: &State,
        jobs: usize,
        tokens: usize,
    ) -> Result<Option<f64>, Refused> {
        if state.closed {
            return Err(Refused::Closed);
        }
        let speed = self.throughput.tokens_per_second();
        let seconds = |tokens: usize| speed.map_or(0.0, |speed| tokens as f64 / speed);
        let too_many = state.jobs.len() + jobs > self.capacity;
        // Everything ahead, the request itself, and the pass under way when it arrives.
        let wait = seconds(state.tokens + tokens) + self.throughput.seconds_per_pass();
        // An empty queue takes any request, or a big one could never get in.
        let too_long = !state.jobs.is_empty() && wait > self.max_wait.as_secs_f64();
        if too_many || too_long {
            return Err(Refused::Full {
                depth: state.jobs.len(),
                retry_after_secs: (seconds(state.tokens).ceil() as u64).clamp(1, 60),
            });
        }
        Ok(speed.map(|_| wait))
    }

    /// Admits all of `jobs`, or none.
    pub fn push_all(&self, mut jobs: Vec<Job>) -> Result<(), Refused> {
        let tokens: usize = jobs.iter().map(Job::tokens).sum();
        let mut state = self.lock();
        let expected = self.check_room(&state, jobs.len(), tokens)?;
        state.tokens += tokens;
        let deadline = expected.map(|seconds| {
            Instant::now() + self.max_wait.max(Duration::from_secs_f64(1.5 * seconds))
        });
        for job in &mut jobs {
            job.deadline = deadline;
        }
        state.jobs.extend(jobs);
        drop(state);
        self.not_empty.notify_one();
        Ok(())
    }

    /// No more jobs are admitted; the model thread finishes those waiting, then stops.
    pub fn close(&self) {
        self.lock().closed = true;
        self.not_empty.notify_all();
    }

    /// Blocks until there is work (or jobs were dropped: then the batch may be empty);
    /// `None` once the queue is closed and empty.
    pub fn next_batch(&self, limits: BatchLimits) -> Option<Batch> {
        let mut state = self.lock();
        loop {
            let before = state.jobs.len();
            state.jobs.retain(|job| !job.reply.is_closed());
            let abandoned = before - state.jobs.len();
            let expired = state.expire(Instant::now(), self.throughput.seconds_per_pass());
            state.tokens = state.jobs.iter().map(Job::tokens).sum();
            // Reported even when nothing is left to run, so the metrics see the drop.
            if !state.jobs.is_empty() || abandoned > 0 || expired > 0 {
                let jobs = state.take_batch(limits);
                return Some(Batch {
                    jobs,
                    abandoned,
                    expired,
                });
            }
            if state.closed {
                return None;
            }
            state = self
                .not_empty
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl State {
    /// Answers `Expired` to, and drops, the jobs that one more pass would take past their
    /// deadline; returns how many.
    fn expire(&mut self, now: Instant, seconds_per_pass: f64) -> usize {
        let finish = now + Duration::from_secs_f64(seconds_per_pass);
        let expired = |job: &Job| job.deadline.is_some_and(|deadline| finish > deadline);
        // The usual case, before every pass: nothing to drop, nothing to rebuild.
        if !self.jobs.iter().any(expired) {
            return 0;
        }
        let before = self.jobs.len();
        let mut kept = VecDeque::with_capacity(before);
        for job in self.jobs.drain(..) {
            if expired(&job) {
                let waited = now.saturating_duration_since(job.enqueued_at);
                let _ = job.reply.send(Err(JobError::Expired { waited }));
            } else {
                kept.push_back(job);
            }
        }
        self.jobs = kept;
        before - self.jobs.len()
    }

    fn take_batch(&mut self, limits: BatchLimits) -> Vec<Job> {
        let lengths: Vec<usize> = self.jobs.iter().map(Job::tokens).collect();
        let chosen = plan_batch(&lengths, limits);
        let batch = take_indices(&mut self.jobs, &chosen);
        self.tokens -= batch.iter().map(Job::tokens).sum::<usize>();
        batch
    }
}

/// Removes the jobs at `indices` (ascending), keeping the others in order.
fn take_indices(jobs: &mut VecDeque<Job>, indices: &[usize]) -> Vec<Job> {
    let mut taken = Vec::with_capacity(indices.len());
    let mut kept = VecDeque::with_capacity(jobs.len());
    let mut next = indices.iter().peekable();
    for (i, job) in jobs.drain(..).enumerate() {
        if next.peek() == Some(&&i) {
            next.next();
            taken.push(job);
        } else {
            kept.push_back(job);
        }
    }
    *jobs = kept;
    taken
}

/// Chooses a batch from the token lengths of the waiting jobs, oldest first: the oldest, then
/// each next one that still fits. Returns ascending indices; empty only when nothing waits.
pub fn plan_batch(lengths: &[usize], limits: BatchLimits) -> Vec<usize> {
    let Some(&first) = lengths.first() else {
        return Vec::new();
    };
    let mut chosen = vec![0];
    let (mut longest, mut real) = (first, first);
    for (i, &len) in lengths.iter().enumerate().skip(1) {
        if chosen.len() >= limits.max_batch_size.max(1) {
            break;
        }
        let padded = (chosen.len() + 1) * longest.max(len);
        if padded <= limits.max_batch_tokens
            && padded as f64 <= MAX_PADDING_RATIO * (real + len) as f64
        {
            chosen.push(i);
            longest = longest.max(len);
            real += len;
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comment::Comment;
    use crate::labels::Lang;
    use crate::model::Tokens;

    fn limits(max_batch_size: usize, max_batch_tokens: usize) -> BatchLimits {
        BatchLimits {
            max_batch_size,
            max_batch_tokens,
        }
    }

    fn job(tokens: usize) -> (Job, oneshot::Receiver<Result<Inferred, JobError>>) {
        let (reply, receiver) = oneshot::channel();
        let prepared = Prepared {
            comment: Comment {
                text: "x".repeat(tokens),
                ..Comment::default()
            },
            lang: Lang::En,
            tokens: Tokens {
                ids: vec![0; tokens],
                truncated: false,
                cut: None,
            },
        };
        (Job::new(prepared, reply), receiver)
    }

    fn lengths(batch: &Batch) -> Vec<usize> {
        batch
            .jobs
            .iter()
            .map(|j| j.prepared.tokens.ids.len())
            .collect()
    }

    #[test]
    fn everything_waiting_goes_in_when_it_fits() {
        assert_eq!(plan_batch(&[10, 12, 9, 11], limits(32, 4096)), [0, 1, 2, 3]);
        assert_eq!(plan_batch(&[], limits(32, 4096)), Vec::<usize>::new());
    }

    #[test]
    fn the_batch_size_caps_the_batch_oldest_first() {
        assert_eq!(plan_batch(&[10, 12, 8, 30, 9], limits(3, 4096)), [0, 1, 2]);
    }

    #[test]
    fn the_token_budget_counts_padding() {
        // 3 × 120 = 360 fits; the fourth would make it 4 × 120 = 480.
        assert_eq!(plan_batch(&[100, 120, 90, 95], limits(32, 400)), [0, 1, 2]);
        // 2 × 160 = 320 would not fit 300: the newer, shorter ones go in instead.
        assert_eq!(plan_batch(&[100, 160, 90, 95], limits(32, 300)), [0, 2, 3]);
    }

    #[test]
    fn short_and_long_comments_are_not_padded_together() {
        assert_eq!(
            plan_batch(&[20, 250, 20, 240, 20], limits(32, 4096)),
            [0, 2, 4]
        );
        assert_eq!(plan_batch(&[250, 20, 20, 240], limits(32, 4096)), [0, 3]);
    }

    #[test]
    fn the_oldest_goes_in_even_alone_over_budget() {
        assert_eq!(plan_batch(&[300, 10, 10], limits(32, 256)), [0]);
    }

    #[test]
    fn a_newer_comment_never_pushes_an_older_one_out_of_a_pass() {
        let queue = queue(16);
        // Arrival order: two of 200 tokens, one of 10, two more of 200.
        let mut replies = Vec::new();
        for tokens in [200, 200, 10, 200, 200] {
            let (job, reply) = job(tokens);
            queue.push_all(vec![job]).unwrap();
            replies.push(reply);
        }
        let passes: Vec<Vec<usize>> = (0..3)
            .map(|_| lengths(&queue.next_batch(limits(2, 4096)).unwrap()))
            .collect();
        assert_eq!(passes, [vec![200, 200], vec![10], vec![200, 200]]);
        assert_eq!(queue.depth(), 0, "all taken");
    }

    fn queue(capacity: usize) -> Queue {
        Queue::new(
            capacity,
            Duration::from_secs(1),
            Arc::new(Throughput::default()),
        )
    }

    #[test]
    fn requests_are_admitted_whole_or_refused() {
        let queue = queue(3);
        let (a, _ra) = job(5);
        let (b, _rb) = job(5);
        assert_eq!(queue.push_all(vec![a, b]), Ok(()));
        let (c, _rc) = job(5);
        let (d, _rd) = job(5);
        let full = Refused::Full {
            depth: 2,
            retry_after_secs: 1,
        };
        assert_eq!(queue.has_room_for(2), Err(full));
        let full = Refused::Full {
            depth: 2,
            retry_after_secs: 1,
        };
        assert_eq!(queue.push_all(vec![c, d]), Err(full));
        assert_eq!(queue.depth(), 2, "a refused request leaves nothing behind");
        queue.close();
        let (e, _re) = job(5);
        assert_eq!(queue.push_all(vec![e]), Err(Refused::Closed));
    }

    #[test]
    fn requests_that_would_wait_too_long_are_refused() {
        let throughput = Arc::new(Throughput::default());
        throughput.record(50, 0.5);
        let queue = Queue::new(64, Duration::from_secs(1), throughput);
        let (first, _r1) = job(150);
        assert_eq!(
            queue.push_all(vec![first]),
            Ok(()),
            "an empty queue takes anything"
        );
        let (second, _r2) = job(10);
        // 160 tokens at 100 tokens/s and a pass of 1 s: 2.6 s > 1 s.
        let refused = Refused::Full {
            depth: 1,
            retry_after_secs: 2,
        };
        assert_eq!(queue.push_all(vec![second]), Err(refused));
        queue.next_batch(limits(32, 4096)).unwrap();
        let (third, _r3) = job(40);
        assert_eq!(queue.push_all(vec![third]), Ok(()));
        let (fourth, _r4) = job(10);
        assert_eq!(
            queue.push_all(vec![fourth]),
            Ok(()),
            "50 tokens (0.5 s) and a pass of 0.5 s: 1 s"
        );
    }

    #[test]
    fn batches_skip_abandoned_jobs_and_drain_after_close() {
        let queue = queue(8);
        let (a, ra) = job(5);
        let (b, rb) = job(7);
        let (c, _rc) = job(6);
        queue.push_all(vec![a, b, c]).unwrap();
        drop(rb);
        let batch = queue.next_batch(limits(2, 4096)).unwrap();
        assert_eq!(batch.abandoned, 1);
        assert_eq!(lengths(&batch), [5, 6]);
        let (d, rd) = job(5);
        queue.push_all(vec![d]).unwrap();
        drop(rd);
        let batch = queue.next_batch(limits(2, 4096)).unwrap();
        assert_eq!(
            (batch.jobs.len(), batch.abandoned, batch.expired),
            (0, 1, 0)
        );
        drop(ra);
        queue.close();
        assert!(queue.next_batch(limits(2, 4096)).is_none());
    }

    #[test]
    fn comments_that_would_miss_their_deadline_are_dropped_before_a_pass() {
        // Passes take 0.3 s; the wait bound is 1 s.
        let throughput = Arc::new(Throughput::default());
        throughput.record(30, 0.3);
        let queue = Queue::new(64, Duration::from_secs(1), throughput);
        let (old, mut old_reply) = job(5);
        queue.push_all(vec![old]).unwrap();
        std::thread::sleep(Duration::from_millis(750));
        let (new, mut new_reply) = job(5);
        queue.push_all(vec![new]).unwrap();
        // 0.75 s waited + a 0.3 s pass is past the old one's deadline, not the new one's.
        let batch = queue.next_batch(limits(32, 4096)).unwrap();
        assert_eq!((lengths(&batch), batch.expired), (vec![5], 1));
        match old_reply.try_recv() {
            Ok(Err(JobError::Expired { waited })) => {
                assert!(waited >= Duration::from_millis(750), "{waited:?}")
            }
            other => panic!("expected Expired, got {:?}", other.map(|r| r.err())),
        }
        assert!(
            new_reply.try_recv().is_err(),
            "the new one is in the batch, unanswered"
        );
    }

    #[test]
    fn a_big_request_an_empty_queue_took_gets_the_time_it_needs() {
        // 100 tokens a second, passes of 0.1 s: 300 tokens need 3 s, past the 1 s bound.
        let throughput = Arc::new(Throughput::default());
        throughput.record(10, 0.1);
        let queue = Queue::new(64, Duration::from_secs(1), throughput);
        let (jobs, _replies): (Vec<Job>, Vec<_>) = (0..3).map(|_| job(100)).unzip();
        queue.push_all(jobs).unwrap();
        std::thread::sleep(Duration::from_millis(1200));
        let batch = queue.next_batch(limits(1, 4096)).unwrap();
        assert_eq!(
            (batch.jobs.len(), batch.expired),
            (1, 0),
            "1.2 s is within 1.5 × 3.1 s"
        );
    }
}
