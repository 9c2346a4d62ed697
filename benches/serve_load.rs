//! Load benchmark of a running `tact serve`: throughput and latency at fixed concurrencies
//! with single-comment requests, one client sending batches for comparison, and open-loop
//! overload runs at multiples of the sustainable rate (2× and 10× by default), which must
//! answer 429s while the requests they admit keep their latency: the summary gives each one's
//! goodput (answers per second) as a share of capacity, and the admitted requests' p99. Loopback only, bounded in time and
//! count. Usage (docs/serve.md has the figures):
//!
//!     cargo bench --bench serve_load -- --url http://127.0.0.1:8080

use clap::Parser;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Load benchmark of a running `tact serve` (loopback only)")]
struct Args {
    /// The server; must be on this machine (127.0.0.0/8, localhost or ::1).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// One comment per line.
    #[arg(long, default_value = "../shared/bench/corpus.txt")]
    corpus: std::path::PathBuf,
    /// Closed-loop clients, one run each.
    #[arg(long, value_delimiter = ',', default_value = "1,8,32")]
    concurrency: Vec<usize>,
    /// Length of each run.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Comments per request of the single-client batch run (0: skip it).
    #[arg(long, default_value_t = 32)]
    batch: usize,
    /// Open-loop overload runs, each offering this many times the best single-comment
    /// throughput of the closed-loop runs (`--overload-factor` alone: skip them).
    #[arg(long, value_delimiter = ',', num_args = 0.., default_value = "2,10")]
    overload_factor: Vec<f64>,

    /// Give each comment a fresh id and one of this many author ids, as a moderation tool
    /// would: with a store on, each decision then reads a history and writes an audit-log
    /// entry (0: bare texts).
    #[arg(long, default_value_t = 0)]
    authors: usize,

    /// Bearer key, when the server has one.
    #[arg(long, env = "TACT_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Requests any one run may send, whatever the rate: keeps a typo from flooding the machine.
const MAX_REQUESTS_PER_RUN: usize = 200_000;

struct Client {
    http: reqwest::Client,
    url: String,
    api_key: Option<String>,
    texts: Vec<String>,
    next_text: AtomicUsize,
    authors: usize,
    /// Makes this run's comment ids unlike those of earlier runs on the same store.
    run_id: u128,
}

impl Client {
    /// The next comment's number and text.
    fn next_text(&self) -> (usize, &str) {
        let i = self.next_text.fetch_add(1, Ordering::Relaxed);
        (i, &self.texts[i % self.texts.len()])
    }

    /// POSTs a body to /v1/decide; returns the status (0 for a transport error) and the
    /// Retry-After of a 429.
    async fn decide(&self, body: String) -> (u16, Option<Duration>) {
        let mut request = self
            .http
            .post(format!("{}/v1/decide", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = &self.api_key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .map(Duration::from_secs);
                // Read the whole answer: the client's latency includes it.
                let _ = response.bytes().await;
                (status, retry_after)
            }
            Err(_) => (0, None),
        }
    }

    fn comment(&self) -> serde_json::Value {
        let (i, text) = self.next_text();
        match self.authors {
            0 => json!({ "text": text }),
            n => json!({
                "text": text,
                "id": format!("load-{}-{i}", self.run_id),
                "author_id": format!("load-author-{}", i % n),
            }),
        }
    }

    fn one_comment(&self) -> String {
        self.comment().to_string()
    }

    fn comments(&self, n: usize) -> String {
        let comments: Vec<_> = (0..n).map(|_| self.comment()).collect();
        json!({ "comments": comments }).to_string()
    }

    /// The sums and counts of the server's batch-size and queue-time histograms.
    async fn snapshot(&self) -> Snapshot {
        let mut request = self.http.get(format!("{}/metrics", self.url));
        if let Some(key) = &self.api_key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let text = match request.send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let value = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0.0)
        };
        Snapshot {
            batch: (value("tact_batch_size_sum"), value("tact_batch_size_count")),
            comments: value("tact_comments_total"),
            queue: (
                value("tact_queue_duration_seconds_sum"),
                value("tact_queue_duration_seconds_count"),
            ),
        }
    }
}

struct Snapshot {
    comments: f64,
    batch: (f64, f64),
    queue: (f64, f64),
}

impl Snapshot {
    fn since(&self, before: &Snapshot) -> ServerSide {
        let mean = |now: (f64, f64), then: (f64, f64)| (now.0 - then.0) / (now.1 - then.1).max(1.0);
        ServerSide {
            mean_batch: mean(self.batch, before.batch),
            mean_queue_ms: mean(self.queue, before.queue) * 1000.0,
            comments: self.comments - before.comments,
        }
    }
}

#[derive(Default)]
struct Outcomes {
    /// Latencies of 200 answers.
    ok: Vec<Duration>,
    /// Latencies of 429 answers.
    refused: Vec<Duration>,
    /// Any other status (0: transport error), with counts.
    other: std::collections::BTreeMap<u16, usize>,
    /// Open loop: how late each request was sent after it was due (the generator's own lag).
    lag: Vec<Duration>,
}

impl Outcomes {
    fn record(&mut self, status: u16, latency: Duration) {
        match status {
            200 => self.ok.push(latency),
            429 => self.refused.push(latency),
            _ => *self.other.entry(status).or_default() += 1,
        }
    }
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Row {
    name: String,
    outcomes: Outcomes,
    seconds: f64,
    comments_per_request: usize,
    server: ServerSide,
}

/// What the server's /metrics say about a run: mean comments per forward pass, and mean
/// time a comment waited in the queue (the client's latency also counts HTTP and the client).
struct ServerSide {
    mean_batch: f64,
    mean_queue_ms: f64,
    /// Comments the server decided or classified.
    comments: f64,
}

impl Row {
    fn ok_per_second(&self) -> f64 {
        self.outcomes.ok.len() as f64 / self.seconds
    }

    fn print(&mut self) {
        self.outcomes.ok.sort();
        self.outcomes.refused.sort();
        let ok = &self.outcomes.ok;
        let other: Vec<String> = self
            .outcomes
            .other
            .iter()
            .map(|(status, n)| format!("{n}×{status}"))
            .collect();
        println!(
            "| {} | {} | {:.1} | {:.1} | {:.0} | {:.0} | {:.0} | {:.0} | {} | {} | {:.1} | {:.0} |",
            self.name,
            ok.len(),
            self.ok_per_second(),
            self.ok_per_second() * self.comments_per_request as f64,
            percentile(ok, 0.5),
            percentile(ok, 0.9),
            percentile(ok, 0.99),
            percentile(ok, 1.0),
            self.outcomes.refused.len(),
            if other.is_empty() {
                "-".to_string()
            } else {
                other.join(" ")
            },
            self.server.mean_batch,
            self.server.mean_queue_ms,
        );
    }
}

/// `clients` clients, each sending its next request as soon as the last is answered (or,
/// after a 429, once its Retry-After has passed).
async fn closed_loop(
    client: &Arc<Client>,
    clients: usize,
    comments_per_request: usize,
    seconds: f64,
) -> Row {
    let before = client.snapshot().await;
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let sent = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (client, outcomes, sent) = (client.clone(), outcomes.clone(), sent.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline
                    && sent.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS_PER_RUN
                {
                    let body = match comments_per_request {
                        1 => client.one_comment(),
                        n => client.comments(n),
                    };
                    let start = Instant::now();
                    let (status, retry_after) = client.decide(body).await;
                    outcomes.lock().unwrap().record(status, start.elapsed());
                    // A well-behaved client waits as told before trying again.
                    if let Some(wait) = retry_after {
                        let until = (Instant::now() + wait).min(deadline);
                        tokio::time::sleep_until(until.into()).await;
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server = client.snapshot().await.since(&before);
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    Row {
        name: if comments_per_request == 1 {
            format!("{clients} client(s), 1 comment/request")
        } else {
            format!("{clients} client(s), {comments_per_request} comments/request")
        },
        outcomes,
        seconds: elapsed,
        comments_per_request,
        server,
    }
}

/// Requests sent at a fixed rate whatever the answers (as independent users would); each
/// one's latency counts from when it was sent, and how late it was sent is kept apart.
async fn open_loop(client: &Arc<Client>, rate: f64, seconds: f64) -> Row {
    let before = client.snapshot().await;
    let outcomes = Arc::new(Mutex::new(Outcomes::default()));
    let total = ((rate * seconds) as usize).min(MAX_REQUESTS_PER_RUN);
    let started = Instant::now();
    let mut requests = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let (client, outcomes) = (client.clone(), outcomes.clone());
        requests.push(tokio::spawn(async move {
            // From when it is sent: a generator that falls behind (it shares the CPU) shows
            // in `lag`, not in the server's latency.
            let sent = Instant::now();
            let (status, _) = client.decide(client.one_comment()).await;
            let mut outcomes = outcomes.lock().unwrap();
            outcomes.record(status, sent.elapsed());
            outcomes.lag.push(sent - due);
        }));
    }
    for request in requests {
        request.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let server = client.snapshot().await.since(&before);
    let outcomes = std::mem::take(&mut *outcomes.lock().unwrap());
    Row {
        name: format!("open loop at {rate:.0} requests/s, 1 comment/request"),
        outcomes,
        seconds: elapsed,
        comments_per_request: 1,
        server,
    }
}

fn check_loopback(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let host = parsed.host_str().unwrap_or("");
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "{url}: this benchmark only targets this machine (loopback)"
        ))
    }
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    check_loopback(&args.url)?;
    let corpus = std::fs::read_to_string(&args.corpus)
        .map_err(|e| format!("{}: {e}", args.corpus.display()))?;
    let texts: Vec<String> = corpus
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if texts.is_empty() {
        return Err(format!("{}: no comments", args.corpus.display()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let client = Arc::new(Client {
            http: reqwest::Client::new(),
            url: args.url.trim_end_matches('/').to_string(),
            api_key: args.api_key.clone(),
            texts,
            next_text: AtomicUsize::new(0),
            authors: args.authors,
            run_id: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        });
        let ready = client.http.get(format!("{}/ready", client.url)).send().await;
        if !ready.is_ok_and(|r| r.status().is_success()) {
            return Err(format!("{}/ready does not answer 200", client.url));
        }
        println!(
            "{} cores; load average before: {}",
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_average()
        );
        // Warm the connection pool and the server's allocator.
        closed_loop(&client, 4, 1, 1.0).await;
        println!("| run | 200s | requests/s | comments/s | p50 ms | p90 ms | p99 ms | max ms | 429s | other | mean batch | mean queue ms |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
        let mut sustainable: f64 = 0.0;
        for &clients in &args.concurrency {
            let mut row = closed_loop(&client, clients, 1, args.seconds).await;
            sustainable = sustainable.max(row.ok_per_second());
            row.print();
        }
        if args.batch > 1 {
            closed_loop(&client, 1, args.batch, args.seconds)
                .await
                .print();
        }
        let mut overloads = Vec::new();
        for &factor in args.overload_factor.iter().filter(|&&f| f > 0.0) {
            if sustainable > 0.0 {
                let mut row = open_loop(&client, sustainable * factor, args.seconds).await;
                row.print();
                overloads.push((factor, row));
            }
        }
        if !overloads.is_empty() {
            println!();
            println!("capacity (best closed-loop run): {sustainable:.0} comments/s");
            println!("| offered | goodput (200s/s) | share of capacity | server-side comments/s | admitted p50 / p99 ms | 429s | 503s | sent late p99 ms |");
            println!("|---|---|---|---|---|---|---|---|");
            for (factor, row) in &mut overloads {
                row.outcomes.lag.sort();
                println!(
                    "| {factor}× | {:.0} | {:.0}% | {:.0} | {:.0} / {:.0} | {} | {} | {:.0} |",
                    row.ok_per_second(),
                    100.0 * row.ok_per_second() / sustainable,
                    row.server.comments / row.seconds,
                    percentile(&row.outcomes.ok, 0.5),
                    percentile(&row.outcomes.ok, 0.99),
                    row.outcomes.refused.len(),
                    row.outcomes.other.get(&503).copied().unwrap_or(0),
                    percentile(&row.outcomes.lag, 0.99),
                );
            }
        }
        println!("load average after: {}", load_average());
        Ok(())
    })
}

/// The 1, 5 and 15-minute load averages (Linux), to tell whether other work shared the CPU.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_string())
}
