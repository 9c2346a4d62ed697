//! The reply linter end to end: `POST /v1/lint` through the router (`oneshot`, the real
//! model's app, behind the API key), and `tact lint` (one draft, `--json`, `--eval`,
//! `--train`, `--rules-only`).

mod common;

use axum::body::Body;
use axum::http::{header, Request};
use common::app::{call, post, ready_app};
use serde_json::{json, Value};
use std::process::Command;
use tact::serve::ServeConfig;

const KEY: &str = "lint-key";

fn with_key(mut request: Request<Body>) -> Request<Body> {
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {KEY}").parse().unwrap(),
    );
    request
}

fn kinds(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lint_route_answers_findings_and_refuses_bad_bodies() {
    let config = ServeConfig {
        api_key: Some(KEY.to_string()),
        ..ServeConfig::default()
    };
    let (_, app) = ready_app(config).await;
    let bad = json!({
        "reply": "Trebuia să verificați coletul în fața curierului, așa cum scrie clar în termeni.",
        "comment": "Coletul a ajuns cu televizorul spart.",
        "intent": "complaint"
    });
    call(&app, post("/v1/lint", bad.to_string()))
        .await
        .error(401, "unauthorized");

    let answer = call(&app, with_key(post("/v1/lint", bad.to_string()))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let report = answer.json();
    assert_eq!(report["ok"], false);
    assert_eq!(
        kinds(&report),
        ["accusing", "missing_apology", "missing_next_step"]
    );
    let accusing = &report["findings"][0];
    assert_eq!(accusing["severity"], "error");
    assert_eq!(accusing["span"], json!([0, 80]));
    assert!(accusing["message"].as_str().unwrap().contains("vina"));
    assert_eq!(
        report["rsr"],
        json!({"respond": true, "apologise": false, "resolve": false})
    );

    let good = json!({
        "reply": "Ne pare rău! Trimiteți-ne în privat numărul comenzii și vă trimitem un televizor nou mâine.",
        "comment": "Coletul a ajuns cu televizorul spart.",
        "intent": "complaint"
    });
    let answer = call(&app, with_key(post("/v1/lint", good.to_string()))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["ok"], true, "{}", answer.text);

    call(&app, with_key(post("/v1/lint", "{\"reply\": ")))
        .await
        .error(400, "invalid_json");
    let message = call(
        &app,
        with_key(post(
            "/v1/lint",
            json!({"reply": "ok", "intent": "angry"}).to_string(),
        )),
    )
    .await
    .error(422, "invalid_input");
    assert!(message.starts_with("intent"), "{message}");
    let message = call(
        &app,
        with_key(post("/v1/lint", json!({"reply": "  "}).to_string())),
    )
    .await
    .error(422, "invalid_input");
    assert!(message.starts_with("reply: empty"), "{message}");
    let long = "a".repeat(tact::serve::MAX_LINT_REPLY_CHARS + 1);
    let message = call(
        &app,
        with_key(post("/v1/lint", json!({"reply": long}).to_string())),
    )
    .await
    .error(422, "invalid_input");
    assert!(message.contains("at most"), "{message}");
}

fn tact() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tact"))
}

#[test]
fn the_cli_lints_a_draft_and_measures_the_labelled_replies() {
    let out = tact()
        .args([
            "lint",
            "Сами виноваты, нужно было проверить посылку при курьере!!!",
            "--comment",
            "Посылка пришла разбитой.",
            "--intent",
            "complaint",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a draft with findings exits 1");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = kinds(&report);
    assert!(found.contains(&"accusing".to_string()), "{found:?}");
    assert!(found.contains(&"missing_apology".to_string()), "{found:?}");
    // Messages in the reply's language.
    assert!(report["findings"][0]["message"]
        .as_str()
        .unwrap()
        .contains("клиента"));

    let out = tact()
        .args([
            "lint",
            "Thanks so much, glad you enjoyed it!",
            "--intent",
            "praise",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("ok"));

    // Personal data is pointed at, never printed.
    let out = tact()
        .args([
            "lint",
            "Sorry! We've resent it to priya.shah@hotmail.co.uk today.",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("personal_data"), "{text}");
    assert!(!text.contains("priya.shah"), "{text}");

    let out = tact()
        .args([
            "lint",
            "--eval",
            "datasets/replies",
            "--split",
            "test",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let measured: Value = serde_json::from_slice(&out.stdout).unwrap();
    let records = measured["all"]["records"].as_u64().unwrap();
    let per_lang: u64 = ["ro", "bg", "ru", "en"]
        .iter()
        .map(|l| measured["by_lang"][l]["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records, per_lang);
    assert!(records > 100, "the test part has {records} records");

    let out = tact().args(["lint"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `tact lint --train DATA --out OUT`.
fn train(data: &std::path::Path, out: &std::path::Path) -> std::process::Output {
    tact()
        .args(["lint", "--train"])
        .arg(data)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// `--train` fits the reply head on the train split, picks thresholds on the calibration split
/// and writes `reply_head.json`, which a `--heads-dir` run then uses; data with nothing to fit
/// is refused.
#[test]
fn the_cli_trains_the_reply_head_and_lints_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("datasets/replies/en.jsonl").unwrap();
    let is = |line: &str, split: tact::data::Split| {
        let id = serde_json::from_str::<Value>(line).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        tact::data::split_of(&id) == split
    };
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !is(l, tact::data::Split::Test))
        .take(120)
        .collect();
    let data = dir.path().join("replies.jsonl");
    std::fs::write(&data, lines.join("\n")).unwrap();
    // The committed heads beside the new reply head, as --heads-dir wants them.
    let heads = dir.path().join("heads");
    std::fs::create_dir(&heads).unwrap();
    for file in ["heads.json", "heads.safetensors", "adapters.safetensors"] {
        std::fs::copy(format!("models/{file}"), heads.join(file)).unwrap();
    }
    let out = train(&data, &heads);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("| `accusing` |"), "{table}");
    let head: Value =
        serde_json::from_str(&std::fs::read_to_string(heads.join("reply_head.json")).unwrap())
            .unwrap();
    let learned = head["kinds"].as_array().unwrap();
    assert!(!learned.is_empty());
    // It reads five layers of the encoder, 384 numbers each.
    assert_eq!(head["card"]["layers"], serde_json::json!([4, 6, 8, 10, 12]));
    for k in learned {
        assert_eq!(
            k["weights"].as_array().unwrap().len(),
            5 * 384,
            "{}",
            k["kind"]
        );
    }
    assert!(head["card"]["command"]
        .as_str()
        .unwrap()
        .contains("lint --train"));

    let out = tact()
        .args([
            "lint",
            "As clearly stated in our terms, you should have checked the parcel.",
            "--intent",
            "complaint",
            "--json",
            "--heads-dir",
        ])
        .arg(&heads)
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(kinds(&report).contains(&"accusing".to_string()));

    // A head that reads a layer the encoder lacks is refused at load, naming it.
    let mut deeper = head.clone();
    deeper["card"]["layers"] = serde_json::json!([4, 6, 8, 10, 13]);
    let deeper_dir = dir.path().join("deeper");
    std::fs::create_dir(&deeper_dir).unwrap();
    for file in ["heads.json", "heads.safetensors", "adapters.safetensors"] {
        std::fs::copy(heads.join(file), deeper_dir.join(file)).unwrap();
    }
    std::fs::write(deeper_dir.join("reply_head.json"), deeper.to_string()).unwrap();
    let out = tact()
        .args(["lint", "Sorry about that.", "--heads-dir"])
        .arg(&deeper_dir)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the reply head reads layer 13; the encoder has layers 1..=12"),
        "{stderr}"
    );

    let test_only: Vec<&str> = text
        .lines()
        .filter(|l| is(l, tact::data::Split::Test))
        .collect();
    std::fs::write(&data, test_only.join("\n")).unwrap();
    let out = train(&data, &heads);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no sentences in the train or the calibration split"),
        "{stderr}"
    );
}

#[test]
fn rules_only_lints_without_the_model() {
    let out = tact()
        .args([
            "lint",
            "YOU SHOULD HAVE READ THE TERMS!!!",
            "--rules-only",
            "--model-dir",
            "/nonexistent/tact-model",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(kinds(&report).contains(&"shouting".to_string()));
}

/// Every reply template of the default policy passes the linter with the model's scores too
/// (reading a policy checks them with the rules alone): the reply head and the sentiment and
/// abusive heads must not flag the brand's own replies.
#[test]
fn every_template_passes_with_the_model_scores() {
    let policy = tact::playbook::Policy::default_policy();
    let linter = policy.linter();
    let templates = policy.templates_as_replies();
    assert!(templates.len() >= 40, "{} templates", templates.len());
    let replies: Vec<&str> = templates.iter().map(|t| t.reply.as_str()).collect();
    let scores = tact::reply_scores::score(common::classifier(), &replies, 16).unwrap();
    let broken: Vec<String> = templates
        .iter()
        .zip(&scores)
        .filter_map(|(template, scores)| {
            let report = linter.lint(&tact::playbook::lint::Draft {
                scores: Some(scores),
                ..template.draft()
            });
            let found: Vec<&str> = report.findings.iter().map(|f| f.kind.as_str()).collect();
            (!report.ok).then(|| format!("{}: {found:?} in {:?}", template.key, template.reply))
        })
        .collect();
    assert!(broken.is_empty(), "{broken:#?}");
}
