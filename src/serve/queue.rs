//! The bounded queue between the handlers and the model thread, and how a batch is chosen.
//!
//! A handler pushes one job per comment, all of a request's comments or none. A request is
//! refused at once (429) rather than queued when it would take the queue past its capacity
//! in comments, or when the work already waiting would keep it queued longer than the
//! maximum wait — estimated from the model's recent speed in tokens per second, so that
//! admitted requests keep their latency however overloaded the server is, on any machine.
//! The model thread takes one batch per forward pass:
//!
//! - Each batch is built around one *anchor* job. Requests take turns at anchoring, oldest
//!   first: a request that just anchored a batch goes behind those waiting, so a comment
//!   arriving behind a request of 64 long ones waits for one forward pass, not for all of
//!   them — and the long request still gets every other pass, so nothing starves.
//! - Around the anchor go the waiting comments nearest it in length, as many as fit the token
//!   budget (comments × longest, what a padded forward pass costs: it bounds how long one
//!   pass holds the model) and the batch size, and only while padding stays under a quarter
//!   of the real tokens: on a CPU, padding costs as much as real tokens, more than batching
//!   saves.
//!
//! Jobs whose requester has gone (timed out, disconnected) are dropped unrun.

use crate::classify::Classified;
use crate::pipeline::Prepared;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// A batch's padded tokens may be at most this many times its real tokens.
const MAX_PADDING_RATIO: f64 = 1.25;

/// One comment waiting for the model.
pub struct Job {
    pub prepared: Prepared,
    pub enqueued_at: Instant,
    pub reply: oneshot::Sender<Result<Inferred, String>>,
    /// The request it came in (set when queued).
    request: u64,
}

impl Job {
    pub fn tokens(&self) -> usize {
        self.prepared.tokens.ids.len()
    }

    pub fn new(prepared: Prepared, reply: oneshot::Sender<Result<Inferred, String>>) -> Self {
        Job {
            prepared,
            enqueued_at: Instant::now(),
            reply,
            request: 0,
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
}

pub struct Queue {
    state: Mutex<State>,
    not_empty: Condvar,
    capacity: usize,
    max_wait: Duration,
    throughput: Arc<Throughput>,
}

struct State {
    jobs: VecDeque<Job>,
    /// Real tokens of the waiting jobs.
    tokens: usize,
    closed: bool,
    next_request: u64,
    /// Forward passes planned so far.
    passes: u64,
    /// Each waiting request's turn to anchor a batch: the lowest goes first, ties by age.
    turns: HashMap<u64, u64>,
}

impl Queue {
    pub fn new(capacity: usize, max_wait: Duration, throughput: Arc<Throughput>) -> Self {
        Queue {
            state: Mutex::new(State {
                jobs: VecDeque::with_capacity(capacity),
                tokens: 0,
                closed: false,
                next_request: 0,
                passes: 0,
                turns: HashMap::new(),
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
        self.check_room(&state, n, 0)
    }

    fn check_room(&self, state: &State, jobs: usize, tokens: usize) -> Result<(), Refused> {
        if state.closed {
            return Err(Refused::Closed);
        }
        let speed = self.throughput.tokens_per_second();
        let seconds = |tokens: usize| speed.map_or(0.0, |speed| tokens as f64 / speed);
        let too_many = state.jobs.len() + jobs > self.capacity;
        // An empty queue takes any request, or a big one could never get in.
        let too_long =
            !state.jobs.is_empty() && seconds(state.tokens + tokens) > self.max_wait.as_secs_f64();
        if too_many || too_long {
            return Err(Refused::Full {
                depth: state.jobs.len(),
                retry_after_secs: (seconds(state.tokens).ceil() as u64).clamp(1, 60),
            });
        }
        Ok(())
    }

    /// Admits all of `jobs`, or none.
    pub fn push_all(&self, mut jobs: Vec<Job>) -> Result<(), Refused> {
        let tokens: usize = jobs.iter().map(Job::tokens).sum();
        let mut state = self.lock();
        self.check_room(&state, jobs.len(), tokens)?;
        state.tokens += tokens;
        let request = state.next_request;
        state.next_request += 1;
        // A new request's turn is now: behind those that have not anchored since.
        let turn = state.passes;
        state.turns.insert(request, turn);
        for job in &mut jobs {
            job.request = request;
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

    /// Blocks until there is work (or abandoned jobs were dropped: then the batch may be
    /// empty); `None` once the queue is closed and empty.
    pub fn next_batch(&self, limits: BatchLimits) -> Option<Batch> {
        let mut state = self.lock();
        loop {
            let before = state.jobs.len();
            state.jobs.retain(|job| !job.reply.is_closed());
            let abandoned = before - state.jobs.len();
            state.tokens = state.jobs.iter().map(Job::tokens).sum();
            // Reported even when nothing is left to run, so the metrics see the drop.
            if !state.jobs.is_empty() || abandoned > 0 {
                let jobs = state.take_batch(limits);
                return Some(Batch { jobs, abandoned });
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
    fn take_batch(&mut self, limits: BatchLimits) -> Vec<Job> {
        let Some(anchor) =
            (0..self.jobs.len()).min_by_key(|&i| (self.turns[&self.jobs[i].request], i))
        else {
            self.turns.clear();
            return Vec::new();
        };
        let anchor_request = self.jobs[anchor].request;
        let lengths: Vec<usize> = self.jobs.iter().map(Job::tokens).collect();
        let chosen = plan_batch(&lengths, anchor, limits);
        let batch = take_indices(&mut self.jobs, &chosen);
        self.tokens -= batch.iter().map(Job::tokens).sum::<usize>();
        self.passes += 1;
        // The anchoring request goes behind every request waiting now.
        let after_them = self.passes + 1;
        self.turns.insert(anchor_request, after_them);
        let waiting: HashSet<u64> = self.jobs.iter().map(|job| job.request).collect();
        self.turns.retain(|request, _| waiting.contains(request));
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

/// Chooses a batch around the job at `anchor`, given the token lengths of the waiting jobs
/// (oldest first). Returns ascending indices; the anchor is always chosen, alone if need be.
pub fn plan_batch(lengths: &[usize], anchor: usize, limits: BatchLimits) -> Vec<usize> {
    let mut by_length: Vec<usize> = (0..lengths.len()).collect();
    by_length.sort_by_key(|&i| (lengths[i], i));
    let start = by_length
        .iter()
        .position(|&i| i == anchor)
        .expect("the anchor is one of the jobs");
    // The batch is a run [low, high] of `by_length` around the anchor; it is padded to its
    // last (longest) member.
    let (mut low, mut high) = (start, start);
    let mut real = lengths[anchor];
    let fits = |size: usize, longest: usize, real: usize| {
        let padded = size * longest;
        padded <= limits.max_batch_tokens && padded as f64 <= MAX_PADDING_RATIO * real as f64
    };
    while high - low + 1 < limits.max_batch_size.max(1) {
        let size = high - low + 2;
        let longest = lengths[by_length[high]];
        let shorter = (low > 0).then(|| lengths[by_length[low - 1]]);
        let longer = by_length.get(high + 1).map(|&i| lengths[i]);
        // Padding each would add: a shorter job pads itself, a longer one pads all the others.
        let shorter_waste = shorter.map(|len| longest - len);
        let longer_waste = longer.map(|len| (size - 1) * (len - longest));
        let take_shorter = match (shorter_waste, longer_waste) {
            (Some(s), Some(l)) => s <= l,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        if take_shorter {
            let len = shorter.expect("a shorter job");
            if !fits(size, longest, real + len) {
                break;
            }
            low -= 1;
            real += len;
        } else {
            let len = longer.expect("a longer job");
            if !fits(size, len, real + len) {
                break;
            }
            high += 1;
            real += len;
        }
    }
    let mut chosen = by_length[low..=high].to_vec();
    chosen.sort_unstable();
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

    fn job(tokens: usize) -> (Job, oneshot::Receiver<Result<Inferred, String>>) {
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
        assert_eq!(
            plan_batch(&[10, 12, 9, 11], 0, limits(32, 4096)),
            [0, 1, 2, 3]
        );
    }

    #[test]
    fn the_batch_size_caps_the_batch_nearest_lengths_first() {
        assert_eq!(
            plan_batch(&[10, 12, 8, 30, 9], 0, limits(3, 4096)),
            [0, 2, 4]
        );
    }

    #[test]
    fn the_token_budget_counts_padding() {
        // 3 × 100 = 300 fits; adding the 120-token job would cost 4 × 120 = 480.
        assert_eq!(
            plan_batch(&[100, 120, 90, 95], 0, limits(32, 400)),
            [0, 2, 3]
        );
    }

    #[test]
    fn short_and_long_comments_are_not_padded_together() {
        assert_eq!(
            plan_batch(&[20, 250, 20, 240, 20], 0, limits(32, 4096)),
            [0, 2, 4]
        );
        assert_eq!(
            plan_batch(&[20, 250, 20, 240, 20], 3, limits(32, 4096)),
            [1, 3]
        );
    }

    #[test]
    fn the_anchor_goes_in_even_alone_over_budget() {
        assert_eq!(plan_batch(&[300, 10, 10], 0, limits(32, 256)), [0]);
    }

    #[test]
    fn requests_take_turns_so_a_short_one_waits_one_pass() {
        let queue = queue(16);
        let (long, _long_replies): (Vec<Job>, Vec<_>) = (0..4).map(|_| job(200)).unzip();
        queue.push_all(long).unwrap();
        let (short, _short_reply) = job(10);
        queue.push_all(vec![short]).unwrap();
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
        throughput.record(100, 1.0);
        let queue = Queue::new(64, Duration::from_secs(1), throughput);
        let (first, _r1) = job(150);
        assert_eq!(
            queue.push_all(vec![first]),
            Ok(()),
            "an empty queue takes anything"
        );
        let (second, _r2) = job(10);
        // 160 tokens at 100 tokens/s: 1.6 s > 1 s.
        let refused = Refused::Full {
            depth: 1,
            retry_after_secs: 2,
        };
        assert_eq!(queue.push_all(vec![second]), Err(refused));
        queue.next_batch(limits(32, 4096)).unwrap();
        let (third, _r3) = job(90);
        assert_eq!(queue.push_all(vec![third]), Ok(()));
        let (fourth, _r4) = job(10);
        assert_eq!(queue.push_all(vec![fourth]), Ok(()), "100 tokens: 1 s");
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
        assert_eq!((batch.jobs.len(), batch.abandoned), (0, 1));
        drop(ra);
        queue.close();
        assert!(queue.next_batch(limits(2, 4096)).is_none());
    }
}
