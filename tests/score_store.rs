//! `tact score --store` end to end, through the binary, the real encoder and a real store
//! (SQLite; PostgreSQL too where `TACT_TEST_POSTGRES` names a server): every decision recorded
//! once with origin `score`, a rerun and `--resume` counting nothing twice, an author's earlier
//! line read as history by their later one, `TACT_STORE` leaving scoring alone, and a store
//! that fails mid-run stopping it with a correct output that `--resume` continues.

mod common;

use common::harness::{answers, runtime, stderr, succeeds, tact};
use serde_json::Value;
use tact::store::{Location, Retention, Store};

/// Rows in the audit log, counted in SQL.
async fn decision_rows(url: &str) -> i64 {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM decisions")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    n
}

/// The hostile follow-up is decided `wait` only when its author's earlier line (whose thread
/// shows the brand's answer) is in the store: they are in the same window.
const ARCHIVE: &[&str] = &[
    r#"{"id": "s-1", "text": "My order 5531 never arrived, third time I write!", "author_id": "u-1", "thread": [{"text": "My order 5531 never arrived.", "from_brand": false}, {"text": "Sorry! Could you DM us the order number?", "from_brand": true}]}"#,
    r#"{"id": "s-2", "text": "Still nothing. Typical, you are hopeless.", "lang": "en", "author_id": "u-1"}"#,
    r#"{"id": "s-3", "text": "Do you deliver to Cluj on Sundays?", "author_id": "u-2"}"#,
    r#"{"id": "s-4", "text": "broken"#,
    r#"{"text": "Still nothing. Typical, you are hopeless.", "lang": "en"}"#,
];

/// Scores [`ARCHIVE`] into `location` three times (fresh, `--overwrite`, `--resume` after a
/// cut) and checks what the store holds after each; `url` reads the rows in SQL.
fn records_each_decision_once(location: &str, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let output = dir.path().join("out.jsonl");
    std::fs::write(&input, ARCHIVE.join("\n") + "\n").unwrap();
    // Runs `tact score` into the store; its summary.
    let score = |extra: Option<&str>| {
        let mut cmd = tact();
        cmd.arg("score")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .arg(format!("--store={location}"))
            .args(extra);
        stderr(&succeeds(&mut cmd))
    };
    let stored = |summary: &str, recorded: u64, already: u64| {
        let line = format!("store      {recorded} decisions recorded, {already} already there");
        assert!(summary.contains(&line), "{summary}");
    };

    stored(&score(None), 4, 0);
    let first = answers(&output);
    assert_eq!(first.len(), 5);
    assert_eq!(first[3]["error"]["code"], "invalid_json");
    assert!(first[3].get("decision_id").is_none());
    assert_eq!(first[1]["action"], "wait", "{}", first[1]);
    assert_eq!(first[1]["rule"], "rsra-wait");
    let ids: Vec<&str> = [0, 1, 2, 4]
        .iter()
        .map(|&i| first[i]["decision_id"].as_str().expect("a decision id"))
        .collect();

    let rt = runtime();
    let location = Location::parse(location).unwrap();
    let check_store = || {
        rt.block_on(async {
            let store = Store::open(location.clone(), Retention::default())
                .await
                .unwrap();
            for (id, comment) in ids
                .iter()
                .zip([Some("s-1"), Some("s-2"), Some("s-3"), None])
            {
                let stored = store.decision(id).await.unwrap().expect("recorded");
                assert_eq!(stored.origin, "score");
                assert_eq!(stored.comment_id.as_deref(), comment);
                assert!(
                    stored.text.is_none(),
                    "texts are kept only with --store-text"
                );
            }
            let author = store.author("u-1").await.unwrap().expect("u-1's history");
            assert_eq!(author.counts.comments, 2);
            assert_eq!(author.counts.brand_answers, 1);
            store.close().await;
            assert_eq!(decision_rows(url).await, 4);
        })
    };
    check_store();

    stored(&score(Some("--overwrite")), 0, 4);
    assert_eq!(answers(&output)[1]["decision_id"], ids[1]);
    check_store();

    // Cut after line 2, as an interruption would.
    let text = std::fs::read_to_string(&output).unwrap();
    let two: String = text.split_inclusive('\n').take(2).collect();
    std::fs::write(&output, two).unwrap();
    stored(&score(Some("--resume")), 0, 2);
    assert_eq!(answers(&output).len(), 5);
    check_store();
}

#[test]
fn every_decision_is_recorded_once_in_sqlite_and_histories_count_within_a_window() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let location = format!("sqlite:{}", db.display());
    records_each_decision_once(&location, &format!("sqlite://{}", db.display()));

    // Without --store the same follow-up has no history (TACT_STORE is serve's: it does not
    // turn the store on here).
    let input = dir.path().join("one.jsonl");
    let output = dir.path().join("one.out.jsonl");
    std::fs::write(&input, format!("{}\n", ARCHIVE[1])).unwrap();
    let elsewhere = dir.path().join("serve.db");
    succeeds(
        tact()
            .arg("score")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .env("TACT_STORE", format!("sqlite:{}", elsewhere.display())),
    );
    let alone = &answers(&output)[0];
    assert_eq!(alone["action"], "resolve", "{alone}");
    assert_eq!(alone["rule"], "complaint-rsr");
    assert!(alone.get("decision_id").is_none());
    assert!(!elsewhere.exists());
}

#[test]
fn every_decision_is_recorded_once_in_postgres() {
    let Some(url) = runtime().block_on(common::postgres::fresh_database()) else {
        return;
    };
    records_each_decision_once(&url, &url);
}

#[test]
fn a_store_that_fails_mid_run_stops_it_and_resume_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    let url = format!("sqlite://{}", db.display());
    let rt = runtime();
    // The store refuses every decision after the first.
    let refuse = "CREATE TRIGGER refuse AFTER INSERT ON decisions \
                  WHEN (SELECT COUNT(*) FROM decisions) > 1 \
                  BEGIN SELECT RAISE(ABORT, 'refused by the test'); END";
    let sql = |statement: &'static str| {
        rt.block_on(async {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
            sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
            conn.close().await.unwrap();
        })
    };
    rt.block_on(async {
        let store = Store::open(Location::Sqlite(db.clone()), Retention::default())
            .await
            .unwrap();
        store.close().await;
    });
    sql(refuse);

    let input = dir.path().join("in.jsonl");
    let output = dir.path().join("out.jsonl");
    let lines: Vec<String> = (1..=3)
        .map(|i| {
            serde_json::json!({"id": format!("f-{i}"), "text": format!("Do you deliver to Cluj on Sundays? #{i}"), "author_id": format!("u-{i}")})
                .to_string()
        })
        .collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let store_flag = format!("--store=sqlite:{}", db.display());
    let score = || {
        let mut cmd = tact();
        cmd.arg("score")
            .arg(&input)
            .arg("-o")
            .arg(&output)
            .args(["--window", "1"])
            .arg(&store_flag);
        cmd
    };

    let out = score().output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "answers lines 1-1; --resume goes on from there: recording decisions in the store sqlite:{}",
            db.display()
        )),
        "{err}"
    );
    assert!(err.contains("refused by the test"), "{err}");
    let written = answers(&output);
    assert_eq!(written.len(), 1, "only the recorded line is answered");
    assert_eq!(written[0]["id"], "f-1");

    sql("DROP TRIGGER refuse");
    let out = succeeds(score().arg("--resume"));
    assert!(
        stderr(&out).contains("store      2 decisions recorded, 0 already there"),
        "{}",
        stderr(&out)
    );
    let ids: Vec<Value> = answers(&output).iter().map(|a| a["id"].clone()).collect();
    assert_eq!(ids, ["f-1", "f-2", "f-3"]);
    assert_eq!(rt.block_on(decision_rows(&url)), 3);
}
