//! The moderators' page with a full queue: 500 decisions waiting (with texts and threads) in a
//! SQLite store, a real `tact serve` on loopback, and the time to the queue on screen.
//! Prints the server's time for each thing the page loads (median of 20), and, where
//! chromedriver and Chromium are installed, the browser's time from navigation start to the
//! queue rendered (the page's `tact-queue-shown` mark; median of 7 loads).
//!
//!     cargo bench --bench review_page -- [--items 500]

#[path = "../tests/common/browser.rs"]
mod browser;
#[path = "../tests/common/served.rs"]
mod served;

use clap::Parser;
use std::time::{Duration, Instant};
use tact::comment::{Comment, Scores, ThreadMessage};
use tact::labels::Lang;
use tact::playbook::{Playbook, Policy};
use tact::store::{Location, NewDecision, Origin, Retention, Store};

const KEY: &str = "bench-key";

#[derive(Parser, Debug)]
struct Args {
    /// Decisions waiting in the queue.
    #[arg(long, default_value_t = 500)]
    items: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("queue.db");
    seed(&path, args.items).await?;
    let location = format!("sqlite:{}", path.display());
    let server = served::start(&["--store", &location, "--store-text", "--api-key", KEY]).await;
    let http = reqwest::Client::new();
    println!(
        "{} decisions waiting; tact serve on loopback (SQLite, --store-text)",
        args.items
    );
    println!("| what the page loads | bytes | median ms | p90 ms |");
    println!("|---|---|---|---|");
    for path in [
        "/ui",
        "/ui/app.js",
        "/ui/app.css",
        "/v1/info",
        "/v1/queue",
        "/v1/figures",
    ] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..20 {
            let started = Instant::now();
            let response = http.get(server.url(path)).bearer_auth(KEY).send().await?;
            anyhow::ensure!(response.status() == 200, "{path}: {}", response.status());
            bytes = response.bytes().await?.len();
            times.push(started.elapsed());
        }
        let (median, p90) = quantiles(&mut times);
        println!("| `{path}` | {bytes} | {median:.1} | {p90:.1} |");
    }
    match browser_load(&server).await {
        Ok(Some((median, p90))) => println!(
            "Chromium (headless), navigation start → queue on screen: median {median:.0} ms, p90 {p90:.0} ms (7 loads)"
        ),
        Ok(None) => println!("Chromium or chromedriver not installed: no browser figure"),
        Err(e) => println!("the browser run failed: {e:#}"),
    }
    Ok(())
}

/// `items` decisions that wait for a person, in four languages, some with a thread.
async fn seed(path: &std::path::Path, items: usize) -> anyhow::Result<()> {
    let retention = Retention {
        store_text: true,
        ..Retention::default()
    };
    let store = Store::open(Location::Sqlite(path.to_path_buf()), retention).await?;
    let playbook = Playbook::new(Policy::default_policy());
    let langs = [Lang::Ro, Lang::Bg, Lang::Ru, Lang::En];
    let mut batch = Vec::new();
    for n in 0..items {
        let mut intent = [0.02f32; 9];
        intent[n % 9] = 0.84;
        let scores = Scores {
            intent,
            sentiment: [0.5, 0.3, 0.2],
            abusive: 0.05,
            labels: None,
            follow_up: None,
        };
        let thread = if n % 3 == 0 {
            vec![
                ThreadMessage {
                    text: format!("Order {n} has not arrived yet, any news?"),
                    from_brand: false,
                },
                ThreadMessage {
                    text: "We are checking with the courier and will write back today.".into(),
                    from_brand: true,
                },
            ]
        } else {
            Vec::new()
        };
        let comment = Comment {
            id: Some(format!("c-{n}")),
            author_id: Some(format!("u-{}", n % 97)),
            text: format!(
                "Comment {n}: the parcel came two days late and the box was damaged, what now?"
            ),
            thread,
            ..Default::default()
        };
        let mut decision = playbook.decide(&comment, langs[n % 4], &scores);
        decision.needs_review = true;
        batch.push(NewDecision::for_comment(
            Origin::Http,
            &comment,
            decision,
            ("bench", "bench"),
            true,
        ));
    }
    for chunk in batch.chunks(64) {
        store.record_decisions(chunk).await?;
    }
    store.close().await;
    Ok(())
}

/// Loads the page with the key already in the tab and reads when the queue was shown.
async fn browser_load(server: &served::Served) -> anyhow::Result<Option<(f64, f64)>> {
    let Some(chromium) = browser::Browser::find() else {
        return Ok(None);
    };
    let (_driver, client) = chromium.open().await;
    client.goto(&server.url("/ui")).await?;
    client
        .execute(
            &format!("sessionStorage.setItem('tact-api-key', '{KEY}')"),
            vec![],
        )
        .await?;
    let mut times = Vec::new();
    for _ in 0..7 {
        client.refresh().await?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let shown = client
                .execute(
                    "const m = performance.getEntriesByName('tact-queue-shown'); \
                     return m.length ? m[0].startTime : null",
                    vec![],
                )
                .await?;
            if let Some(ms) = shown.as_f64() {
                times.push(Duration::from_secs_f64(ms / 1000.0));
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "the queue was never shown");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    client.close().await?;
    Ok(Some(quantiles(&mut times)))
}

/// Median and 90th percentile, in milliseconds.
fn quantiles(times: &mut [Duration]) -> (f64, f64) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.9))
}
