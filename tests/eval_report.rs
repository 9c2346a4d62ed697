//! `tact eval --report` end to end on the real model and a small labelled file
//! (`tests/fixtures/eval_report.jsonl`: brand records of the four languages and two public
//! corpora): every image the page shows exists and is a well-formed SVG, every number on the
//! page is the `--json` number at its key, the bootstrap follows its seed, a model compared
//! with itself differs by nothing, and `--no-texts` leaves every record text out of the folder.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const FIXTURE: &str = "tests/fixtures/eval_report.jsonl";

/// Runs `tact eval FIXTURE --json --report DIR ARGS…`; its JSON `report`.
fn report(dir: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tact"))
        .args(["eval", FIXTURE, "--json", "--bootstrap", "200", "--report"])
        .arg(dir)
        .args(args)
        .output()
        .expect("tact runs");
    assert!(
        out.status.success(),
        "tact failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["report"].take()
}

/// The record texts of the fixture.
fn texts() -> Vec<String> {
    std::fs::read_to_string(FIXTURE)
        .unwrap()
        .lines()
        .map(|l| tact::data::parse_record(l).unwrap().text)
        .collect()
}

/// Every file in `dir`, by name, as text.
fn files(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect()
}

/// Each `data-key` on the page with the text it shows.
fn tagged(page: &str) -> Vec<(String, String)> {
    page.split(r#"data-key=""#)
        .skip(1)
        .map(|rest| {
            let (key, rest) = rest.split_once('"').unwrap();
            let shown = rest[1..].split_once('<').unwrap().0;
            (key.to_string(), shown.to_string())
        })
        .collect()
}

/// Every figure (with its interval) of the summary and per-source tables.
fn figures(report: &Value) -> Vec<(String, &Value)> {
    let mut all = Vec::new();
    for table in ["summary", "by_source"] {
        for (group, summary) in report[table].as_object().unwrap() {
            for (metric, figure) in summary["metrics"].as_object().unwrap() {
                all.push((format!("{table}/{group}/{metric}"), figure));
            }
        }
    }
    all
}

#[test]
fn the_page_shows_the_json_figures_and_a_model_against_itself_differs_by_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let report = report(dir.path(), &["--seed", "1", "--baseline", "models"]);
    let files = files(dir.path());
    let page = &files.iter().find(|(n, _)| n == "index.html").unwrap().1;

    // Every image the page shows is in the folder, and every SVG there is on the page.
    let shown: Vec<&str> = page
        .split(r#"<img src=""#)
        .skip(1)
        .map(|rest| rest.split_once('"').unwrap().0)
        .collect();
    let svgs: Vec<&(String, String)> = files.iter().filter(|(n, _)| n.ends_with(".svg")).collect();
    assert_eq!(shown.len(), svgs.len());
    // Intent and action heatmaps for all and four languages, for the model and the baseline;
    // three reliability diagrams; automation curves for all and four languages.
    assert_eq!(svgs.len(), 2 * 2 * 5 + 3 + 5);
    for (name, svg) in svgs {
        assert!(shown.contains(&name.as_str()), "{name} is not on the page");
        let doc = roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        assert!(
            doc.root_element().children().count() > 10,
            "{name} is empty"
        );
    }
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "the page fetches nothing"
    );

    // The numbers on the page are the JSON's.
    let keys = tagged(page);
    assert!(keys.len() > 300, "{} numbers on the page", keys.len());
    for (key, text) in &keys {
        let value = report
            .pointer(key)
            .unwrap_or_else(|| panic!("{key} is not in the JSON"));
        let expected = match value.as_u64() {
            Some(n) => n.to_string(),
            None => format!("{:.3}", value.as_f64().unwrap()),
        };
        assert_eq!(&expected, text, "{key}");
    }
    for needed in [
        "/summary/all/metrics/intent_macro_f1/low",
        "/summary/bg/metrics/action_accuracy/comparison/difference/high",
        "/by_source/bg_toxic_data/metrics/abusive_f1/value",
        "/model/automation/ru/policy/coverage_at_95",
    ] {
        assert!(keys.iter().any(|(k, _)| k == needed), "{needed} not shown");
    }
    assert_eq!(report["summary"]["all"]["records"], 34);

    // The same model as baseline: every difference and its interval is 0.
    let figures = figures(&report);
    assert!(figures.len() > 30);
    for (name, figure) in figures {
        let comparison = &figure["comparison"];
        assert_eq!(comparison["baseline"]["value"], figure["value"], "{name}");
        for end in ["value", "low", "high"] {
            assert_eq!(comparison["difference"][end], 0.0, "{name} {end}");
        }
        assert_eq!(comparison["excludes_zero"], false, "{name}");
    }
    // The worst confusions show (cut) texts of the fixture.
    let examples = report["worst_confusions"][0]["examples"]
        .as_array()
        .unwrap();
    assert!(!examples.is_empty());
    let first = examples[0].as_str().unwrap().trim_end_matches('…');
    assert!(texts().iter().any(|t| t.starts_with(first)));
}

#[test]
fn the_bootstrap_follows_its_seed_and_no_texts_leaves_every_text_out() {
    let (with_texts, without, other_seed) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let first = report(with_texts.path(), &["--seed", "9"]);
    let again = report(without.path(), &["--seed", "9", "--no-texts"]);
    let other = report(other_seed.path(), &["--seed", "10"]);
    assert_eq!(first["summary"], again["summary"]);
    assert_eq!(first["by_source"], again["by_source"]);
    assert_ne!(first["summary"], other["summary"]);
    // Only the intervals move with the seed.
    assert_eq!(
        first["summary"]["all"]["metrics"]["action_accuracy"]["value"],
        other["summary"]["all"]["metrics"]["action_accuracy"]["value"]
    );

    // The start of each text long enough not to occur in a page by chance ("ok", "+").
    let starts: Vec<String> = texts()
        .iter()
        .filter(|t| t.chars().count() >= 12)
        .map(|t| t.chars().take(24).collect())
        .collect();
    let leaked = |dir: &Path| -> usize {
        files(dir)
            .iter()
            .map(|(_, body)| starts.iter().filter(|s| body.contains(s.as_str())).count())
            .sum()
    };
    assert!(
        leaked(with_texts.path()) > 0,
        "the page with texts shows some"
    );
    assert_eq!(leaked(without.path()), 0);
    assert_eq!(again["texts"], false);
}

#[test]
fn report_flags_are_checked_before_the_model_loads() {
    let out = Command::new(env!("CARGO_BIN_EXE_tact"))
        .args(["eval", FIXTURE, "--no-texts"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--report"));

    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tact"))
        .args(["eval", FIXTURE, "--report"])
        .arg(dir.path().join("report"))
        .arg("--baseline")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--baseline") && stderr.contains("no heads.json"),
        "{stderr}"
    );
    assert!(!dir.path().join("report").exists(), "nothing is written");
}
