//! The Prometheus metrics of the service (served at `/metrics` in the OpenMetrics text format,
//! which Prometheus scrapes): requests by route and status, their duration, the queue depth,
//! batch sizes, and where a comment's time goes (tokenisation, queue, inference).
//!
//! One registry per [`Metrics`] value rather than a global one, so that every app built by
//! the tests counts on its own.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::time::Duration;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's path pattern (`unmatched` for unknown paths, to bound the label's values).
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StoreLabels {
    /// `recall` (reading authors' histories) or `record` (writing the audit log).
    pub op: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub request_time: Family<RouteLabels, Histogram>,
    pub queue_depth: Gauge,
    pub comments: Counter,
    pub truncated: Counter,
    pub abandoned: Counter,
    pub expired: Counter,
    pub batch_size: Histogram,
    pub batch_tokens: Histogram,
    pub tokenization_time: Histogram,
    pub queue_time: Histogram,
    pub inference_time: Histogram,
    pub store_time: Family<StoreLabels, Histogram>,
    pub store_unavailable: Family<StoreLabels, Counter>,
    pub store_group: Family<StoreLabels, Histogram>,
}

/// 0.25 ms to ~16 s, doubling.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_25, 2.0, 17))
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("tact");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route and status",
            requests.clone(),
        );
        let request_time =
            Family::<RouteLabels, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time from receiving a request to answering it, by route",
            request_time.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Comments waiting for the model (when scraped)",
            queue_depth.clone(),
        );
        let comments = Counter::default();
        registry.register(
            "comments",
            "Comments decided or classified",
            comments.clone(),
        );
        let truncated = Counter::default();
        registry.register(
            "comments_truncated",
            "Comments longer than the token limit, judged on their beginning",
            truncated.clone(),
        );
        let abandoned = Counter::default();
        registry.register(
            "comments_abandoned",
            "Queued comments dropped unrun because their request timed out or went away",
            abandoned.clone(),
        );
        let expired = Counter::default();
        registry.register(
            "comments_expired",
            "Queued comments dropped unrun (503 overloaded) because they could not be run within the queue's wait bound",
            expired.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 8));
        registry.register(
            "batch_size",
            "Comments per forward pass",
            batch_size.clone(),
        );
        let batch_tokens = Histogram::new(exponential_buckets(16.0, 2.0, 10));
        registry.register(
            "batch_tokens",
            "Padded tokens per forward pass (comments x longest)",
            batch_tokens.clone(),
        );
        let tokenization_time = seconds_histogram();
        registry.register(
            "tokenization_duration_seconds",
            "Time to detect the language and tokenise a request's comments",
            tokenization_time.clone(),
        );
        let queue_time = seconds_histogram();
        registry.register(
            "queue_duration_seconds",
            "Time a comment waited for its forward pass",
            queue_time.clone(),
        );
        let inference_time = seconds_histogram();
        registry.register(
            "inference_duration_seconds",
            "Time of one forward pass",
            inference_time.clone(),
        );
        let store_time =
            Family::<StoreLabels, Histogram>::new_with_constructor(seconds_histogram as fn() -> _);
        registry.register(
            "store_duration_seconds",
            "Time of one store operation of a decide request, by operation",
            store_time.clone(),
        );
        let store_unavailable = Family::<StoreLabels, Counter>::default();
        registry.register(
            "store_unavailable",
            "Decide requests answered without the store (history \"unavailable\"): it failed or did not answer in time, by operation",
            store_unavailable.clone(),
        );
        let store_group = Family::<StoreLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(1.0, 2.0, 9))) as fn() -> _,
        );
        registry.register(
            "store_group_size",
            "Requests served by one store query (recall) or one transaction (record)",
            store_group.clone(),
        );
        Metrics {
            registry,
            requests,
            request_time,
            queue_depth,
            comments,
            truncated,
            abandoned,
            expired,
            batch_size,
            batch_tokens,
            tokenization_time,
            queue_time,
            inference_time,
            store_time,
            store_unavailable,
            store_group,
        }
    }

    /// One store operation of a decide request: its time, and whether it failed.
    pub fn record_store(&self, op: &'static str, time: Duration, ok: bool) {
        let labels = StoreLabels { op };
        self.store_time
            .get_or_create(&labels)
            .observe(time.as_secs_f64());
        if !ok {
            self.store_unavailable.get_or_create(&labels).inc();
        }
    }

    pub fn record_batch(&self, size: usize, padded_tokens: usize, time: Duration) {
        self.batch_size.observe(size as f64);
        self.batch_tokens.observe(padded_tokens as f64);
        self.inference_time.observe(time.as_secs_f64());
    }

    pub fn record_request(&self, route: &str, status: u16, time: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                status,
            })
            .inc();
        self.request_time
            .get_or_create(&RouteLabels {
                route: route.to_string(),
            })
            .observe(time.as_secs_f64());
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
