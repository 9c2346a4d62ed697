//! `tact feedback export` end to end: decisions recorded by `tact score --store --store-text`,
//! moderators' overrides given through the store's API, the export read by `tact eval` and
//! `tact train`; an override whose text has expired is skipped and counted; a store that is
//! not there is named.
//! On SQLite, and on PostgreSQL where `TACT_TEST_POSTGRES` names a server.

mod common;

use common::harness::{runtime, stderr, succeeds, tact};
use serde_json::Value;
use tact::labels::{Action, Intent, Sentiment};
use tact::store::{Location, NewFeedback, Retention, Store, Verdict};

fn override_of(decision_id: &str, action: Action, intent: Option<Intent>) -> NewFeedback {
    NewFeedback {
        decision_id: decision_id.to_string(),
        verdict: Verdict::Overridden,
        action: Some(action),
        intent,
        sentiment: intent.map(|_| Sentiment::Negative),
        reply: None,
        moderator: Some("m-1".into()),
    }
}

/// Scores two comments into `location` keeping their texts, overrides both, exports them and
/// evaluates the export; then expires the texts and exports nothing, two skipped.
fn overrides_are_exported_for_eval(location: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let decisions = dir.path().join("decisions.jsonl");
    std::fs::write(
        &input,
        "{\"id\": \"f-1\", \"text\": \"My order 5531 never arrived, third time I write!\", \"author_id\": \"u-7\"}\n\
         {\"id\": \"f-2\", \"text\": \"Do you deliver to Cluj on Sundays?\", \"author_id\": \"u-8\"}\n",
    )
    .unwrap();
    succeeds(
        tact()
            .arg("score")
            .arg(&input)
            .arg("-o")
            .arg(&decisions)
            .arg(format!("--store={location}"))
            .arg("--store-text"),
    );
    let ids: Vec<String> = std::fs::read_to_string(&decisions)
        .unwrap()
        .lines()
        .map(|l| {
            let answer: Value = serde_json::from_str(l).unwrap();
            answer["decision_id"].as_str().unwrap().to_string()
        })
        .collect();

    let rt = runtime();
    let store = rt.block_on(async {
        let store = Store::open(Location::parse(location).unwrap(), Retention::default())
            .await
            .unwrap();
        let escalate = override_of(&ids[0], Action::Escalate, Some(Intent::Complaint));
        assert!(store.record_feedback(&escalate).await.unwrap().is_some());
        let answer = override_of(&ids[1], Action::Answer, None);
        assert!(store.record_feedback(&answer).await.unwrap().is_some());
        store
    });

    let export = dir.path().join("feedback.jsonl");
    let out = succeeds(
        tact()
            .args(["feedback", "export", "--store", location, "-o"])
            .arg(&export),
    );
    assert!(
        stderr(&out).contains(&format!(
            "2 overrides written to {}; 0 skipped",
            export.display()
        )),
        "{}",
        stderr(&out)
    );
    let mut records: Vec<Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Two verdicts given in the same millisecond have no order between them.
    records.sort_by_key(|r| r["id"].as_str().unwrap_or("").to_string());
    assert_eq!(
        records[0],
        serde_json::json!({"id": "f-1", "text": "My order 5531 never arrived, third time I write!",
            "lang": "en", "source": "feedback", "action": "escalate", "intent": "complaint",
            "sentiment": "negative"})
    );
    assert_eq!(
        records[1],
        serde_json::json!({"id": "f-2", "text": "Do you deliver to Cluj on Sundays?",
            "lang": "en", "source": "feedback", "action": "answer"})
    );

    let out = succeeds(tact().args(["eval", "--json"]).arg(&export));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["records"], 2, "{report}");
    assert_eq!(report["action"]["n"], 2);
    assert_eq!(report["intent"]["n"], 1);

    // `tact train` reads both records too (two are too few to train on: it then stops for
    // want of calibration records, which is its own check).
    let out = tact()
        .arg("train")
        .arg(&export)
        .arg("--out")
        .arg(dir.path().join("models"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .output()
        .unwrap();
    assert!(
        stderr(&out)
            .contains("2 train and 0 calibration records from 1 files (0 bad lines skipped)"),
        "{}",
        stderr(&out)
    );

    // Once the texts have expired, the overrides cannot be exported: counted, not written.
    rt.block_on(async {
        assert_eq!(store.expire_texts(i64::MAX).await.unwrap(), 2);
        store.close().await;
    });
    let out = succeeds(tact().args(["feedback", "export", "--store", location]));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("0 overrides written to stdout; 2 skipped"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn overrides_in_sqlite_are_exported_as_records_that_eval_and_train_read() {
    let dir = tempfile::tempdir().unwrap();
    overrides_are_exported_for_eval(&format!("sqlite:{}", dir.path().join("s.db").display()));

    let missing = dir.path().join("missing.db");
    let out = tact()
        .args(["feedback", "export", "--store"])
        .arg(format!("sqlite:{}", missing.display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!(
            "there is no store at sqlite:{}",
            missing.display()
        )),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists(), "no store is created by exporting");
}

#[test]
fn overrides_in_postgres_are_exported_as_records_that_eval_and_train_read() {
    if let Some(url) = runtime().block_on(common::postgres::fresh_database()) {
        overrides_are_exported_for_eval(&url);
    }
}
