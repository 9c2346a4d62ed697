//! Store benchmark: decisions recorded per second and per-decision cost, for groups of 1, 8
//! and 32 decisions per transaction (what one request, and what a busy server's group commit
//! write), on SQLite and, with `--postgres URL` (a database it may fill), on PostgreSQL.
//! Each decision has its own author id among 1,000 and its history is read first, as
//! `tact serve` does.
//!
//!     cargo bench --bench store_write -- [--postgres postgres://tact@127.0.0.1:5432/bench]

use clap::Parser;
use std::time::Instant;
use tact::comment::Comment;
use tact::labels::Lang;
use tact::playbook::{Playbook, Policy};
use tact::store::{Location, NewDecision, Origin, Retention, Store};

#[derive(Parser, Debug)]
struct Args {
    /// A PostgreSQL database to run on as well.
    #[arg(long)]
    postgres: Option<String>,
    /// Decisions per group size.
    #[arg(long, default_value_t = 4096)]
    decisions: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let dir = tempfile::tempdir()?;
    let mut locations = vec![("sqlite", Location::Sqlite(dir.path().join("bench.db")))];
    if let Some(url) = args.postgres {
        locations.push(("postgres", Location::Postgres(url)));
    }
    let playbook = Playbook::new(Policy::default_policy());
    let scores = tact::comment::Scores {
        intent: [0.1, 0.1, 0.6, 0.05, 0.05, 0.04, 0.03, 0.02, 0.01],
        sentiment: [0.7, 0.2, 0.1],
        abusive: 0.02,
        labels: None,
        follow_up: None,
    };
    println!(
        "| store | decisions per transaction | decisions/s | µs per decision (read + write) |"
    );
    println!("|---|---|---|---|");
    let run_id = std::process::id();
    for (name, location) in locations {
        let store = runtime.block_on(Store::open(location, Retention::default()))?;
        for group in [1usize, 8, 32] {
            let batches: Vec<Vec<NewDecision>> = (0..args.decisions / group)
                .map(|b| {
                    (0..group)
                        .map(|i| {
                            let n = b * group + i;
                            let comment = Comment {
                                id: Some(format!("bench-{run_id}-{group}-{n}")),
                                author_id: Some(format!("bench-author-{}", n % 1000)),
                                text: "My order never arrived, third time I write!".into(),
                                ..Default::default()
                            };
                            let decision = playbook.decide(&comment, Lang::En, &scores);
                            NewDecision::for_comment(
                                Origin::Http,
                                &comment,
                                decision,
                                ("bench", "bench"),
                                false,
                            )
                        })
                        .collect()
                })
                .collect();
            let started = Instant::now();
            runtime.block_on(async {
                for batch in &batches {
                    let authors: Vec<&str> = batch
                        .iter()
                        .filter_map(|d| d.author_id.as_deref())
                        .collect();
                    store.author_counts(&authors).await?;
                    store.record_decisions(batch).await?;
                }
                anyhow::Ok(())
            })?;
            let seconds = started.elapsed().as_secs_f64();
            let n = (batches.len() * group) as f64;
            println!(
                "| {name} | {group} | {:.0} | {:.0} |",
                n / seconds,
                seconds * 1e6 / n
            );
        }
        runtime.block_on(store.close());
    }
    Ok(())
}
