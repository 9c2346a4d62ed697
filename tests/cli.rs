//! The `tact` binary end to end on the real model: classify, decide, policy, eval and bench
//! (bad lines reported by number and skipped, JSON shape of the report), and garbage refused
//! with the flag, file or line at fault named (settings, empty input, unusable heads or
//! folders).

mod common;

use std::path::PathBuf;
use std::process::Command;

fn tact() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tact"))
}

/// Runs a command that must fail; its stdout and stderr.
fn run_err(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().expect("tact runs");
    assert!(
        !out.status.success(),
        "tact succeeded: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A labelled file of `n` brand records whose ids fall in `split`.
fn records_of_split(dir: &std::path::Path, split: tact::data::Split, n: usize) -> PathBuf {
    let text = std::fs::read_to_string("datasets/brand/en.jsonl").unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| {
            let r = tact::data::parse_record(l).unwrap();
            tact::data::split_of(&r.id) == split
        })
        .take(n)
        .collect();
    let path = dir.join(format!("{split:?}.jsonl"));
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("tact runs");
    assert!(
        out.status.success(),
        "tact failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn classify_prints_probabilities_that_sum_to_one() {
    let out = run_ok(tact().args([
        "classify",
        "Comanda mea nu a ajuns nici azi, e a treia oară când vă scriu!",
    ]));
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["lang"], "ro");
    let intents = v["scores"]["intent"].as_object().unwrap();
    assert_eq!(intents.len(), 9);
    let sum: f64 = intents.values().map(|p| p.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-3, "{sum}");
    let abusive = v["scores"]["abusive"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&abusive));
}

#[test]
fn decide_gives_the_spec_decision_with_a_thread() {
    let dir = std::env::temp_dir().join(format!("tact-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let thread = dir.join("thread.json");
    std::fs::write(
        &thread,
        r#"[{"text": "my parcel never came", "from_brand": false},
            {"text": "Sorry! We've sent you a DM to check the order.", "from_brand": true},
            {"text": "nobody wrote to me", "from_brand": false},
            {"text": "Our team will call you today before 5pm.", "from_brand": true}]"#,
    )
    .unwrap();
    let out = run_ok(
        tact()
            .args([
                "decide",
                "still nothing, you are useless and a total scam company, worst service ever",
            ])
            .arg("--thread")
            .arg(&thread)
            .args(["--id", "c-9", "--lang", "en"]),
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let d: serde_json::Value = serde_json::from_str(&out).unwrap();
    for field in [
        "id",
        "lang",
        "intent",
        "sentiment",
        "scores",
        "action",
        "confidence",
        "responder",
        "channel",
        "respond_within_minutes",
        "priority",
        "rule",
        "reasons",
        "guideline",
        "needs_review",
        "reply",
    ] {
        assert!(d.get(field).is_some(), "missing {field} in {d}");
    }
    assert_eq!(d["id"], "c-9");
    assert_eq!(d["lang"], "en");
    assert!(d["reasons"].as_array().is_some_and(|r| !r.is_empty()));
}

#[test]
fn policy_prints_the_policy_and_rejects_a_bad_file() {
    let out = run_ok(tact().arg("policy"));
    assert!(out.contains("[thresholds]"), "{out}");
    let dir = std::env::temp_dir().join(format!("tact-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        out.replacen("[thresholds]", "[thresholds]\nnot_a_threshold = 2.0", 1),
    )
    .unwrap();
    let res = tact()
        .arg("policy")
        .arg("--policy")
        .arg(&bad)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!res.status.success());
    let err = String::from_utf8_lossy(&res.stderr);
    assert!(err.contains("bad.toml"), "{err}");
}

#[test]
fn eval_reports_bad_lines_and_the_json_shape() {
    let dir = std::env::temp_dir().join(format!("tact-eval-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("labelled.jsonl");
    let lines = [
        r#"{"id": "e1", "text": "Thank you so much, the delivery was super fast!", "lang": "en", "source": "t", "sentiment": "positive", "intent": "praise", "action": "thank", "labels": {"abusive": 0}}"#,
        r#"{"id": "e2", "text": "broken json"#,
        r#"{"id": "e3", "text": "Unde este comanda mea 5531? Aștept de două săptămâni.", "lang": "ro", "source": "t", "sentiment": "negative", "intent": "request", "labels": {"request": 1}}"#,
        "",
        r#"{"id": "e5", "text": "Earn $500 a day from home, DM me now!!!", "lang": "en", "source": "t", "intent": "spam", "labels": {"spam": 1}}"#,
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let out = tact().args(["eval", "--json"]).arg(&file).output().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("labelled.jsonl:2:"), "{stderr}");
    assert!(stderr.contains("labelled.jsonl:4: blank line"), "{stderr}");
    assert!(stderr.contains("2 bad lines skipped"), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["records"], 3);
    assert_eq!(r["sentiment"]["n"], 2);
    assert_eq!(r["intent"]["n"], 3);
    assert_eq!(r["intent"]["by_lang"]["ro"]["n"], 1);
    assert_eq!(r["action"]["n"], 1);
    assert_eq!(r["labels"]["spam"]["n"], 1);
    assert!(
        r["labels"]["abusive"]["auc"].is_null(),
        "one class only: AUC undefined"
    );
    assert!(r["ece"].as_f64().is_some());
    assert!(r["texts_per_second"].as_f64().unwrap() > 0.0);
    let confusion = r["intent"]["confusion"].as_object().unwrap();
    let total: u64 = confusion
        .values()
        .flat_map(|row| row.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 3);
}

#[test]
fn bench_json_reports_speed_memory_and_agreement_with_f32() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(
        &corpus,
        "Comanda mea nu a ajuns nici azi!\n\nКога ще пристигне поръчката ми?\n\
         Спасибо, всё пришло вовремя 👍\nDo you deliver to Leeds on Sundays?\n\
         Ati schimbat reteta si acum e mai proasta.\nWorst service ever, refund me now.\n",
    )
    .unwrap();
    let out = run_ok(tact().arg("bench").arg("--corpus").arg(&corpus).args([
        "--batch",
        "4",
        "--runs",
        "1",
        "--latency-texts",
        "3",
        "--json",
    ]));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["texts"], 6, "the blank line is skipped");
    assert_eq!(r["batch"], 4);
    for key in [
        "encoder_texts_per_s",
        "encoder_tokens_per_s",
        "batch1_texts_per_s",
        "batch1_p50_ms",
        "pipeline_texts_per_s",
        "peak_rss_mb",
    ] {
        let v = r[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {r}"));
        assert!(v > 0.0, "{key} = {v}");
    }
    assert!(r["encoder_tokens_per_s"].as_f64() > r["encoder_texts_per_s"].as_f64());
    if r["weight_format"] == "f32" {
        assert!(r["accuracy"].is_null(), "f32 is its own reference");
    } else {
        let min = r["accuracy"]["min_cosine"].as_f64().unwrap();
        assert!(min >= 0.99, "cosine to f32 {min}");
        assert_eq!(r["accuracy"]["texts"], 6);
    }
}

#[test]
fn train_refits_the_heads_on_the_tuned_encoder_and_keeps_its_adapters() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::brand_sample_file("ro", 120, dir.path());
    let out = dir.path().join("heads");
    run_ok(
        tact()
            .args(["train", "--epochs", "2", "--hidden", "16", "--out"])
            .arg(&out)
            .arg("--cache-dir")
            .arg(dir.path().join("cache"))
            .arg(&data),
    );
    // The committed heads carry adapters: the new heads were fitted on the tuned encoder's
    // vectors, so they keep the same adapters, byte for byte.
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("heads.json")).unwrap()).unwrap();
    let committed: serde_json::Value =
        serde_json::from_str(tact::model::heads::HEADS_JSON).unwrap();
    assert_eq!(card["adapters"], committed["adapters"]);
    // …with the facts of how they were trained, and a follow-up head of their own.
    assert_eq!(card["training"]["tune"], committed["training"]["tune"]);
    assert_eq!(card["follow_up_head"], true);
    assert!(
        card["adapters"].is_object(),
        "the committed heads are tuned"
    );
    let ours = tact::model::Adapters::load(
        &out,
        &serde_json::from_value(card["adapters"].clone()).unwrap(),
    )
    .unwrap();
    let theirs = tact::model::Adapters::load(
        std::path::Path::new("models"),
        &serde_json::from_value(committed["adapters"].clone()).unwrap(),
    )
    .unwrap();
    assert_eq!(ours.digest(), theirs.digest());
    let scores = run_ok(
        tact()
            .args(["classify", "Mulțumesc, a ajuns repede!", "--heads-dir"])
            .arg(&out),
    );
    let v: serde_json::Value = serde_json::from_str(scores.trim()).unwrap();
    assert!(v["scores"]["intent"]["praise"].as_f64().is_some());
}

#[test]
fn calibrate_writes_the_decision_map_into_the_card_and_eval_decides_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let heads = dir.path().join("heads");
    std::fs::create_dir_all(&heads).unwrap();
    for file in ["heads.json", "heads.safetensors", "adapters.safetensors"] {
        std::fs::copy(std::path::Path::new("models").join(file), heads.join(file)).unwrap();
    }
    let cache = dir.path().join("cache");
    // Too few calibration records: a clear error, the card untouched.
    let few = common::brand_sample_file("en", 40, dir.path());
    let out = tact()
        .args(["calibrate", "--heads"])
        .arg(&heads)
        .arg("--cache")
        .arg("--cache-dir")
        .arg(&cache)
        .arg(&few)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 50 are needed"), "{stderr}");

    let data = common::brand_sample_file("en", 900, dir.path());
    run_ok(
        tact()
            .args(["calibrate", "--heads"])
            .arg(&heads)
            .arg("--cache")
            .arg("--cache-dir")
            .arg(&cache)
            .arg(&data),
    );
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(heads.join("heads.json")).unwrap()).unwrap();
    let map = &card["decisions"];
    assert!(map["slope"].as_f64().unwrap() > 0.0, "{map}");
    let confidences = map["confidences"].as_array().unwrap();
    assert!(confidences.len() >= 50);
    assert_eq!(
        map["policy_digest"],
        tact::playbook::Policy::default_policy().digest()
    );

    // eval decides with the map: calibrated confidences, one row per decided record.
    let rows = dir.path().join("decisions.jsonl");
    let report = run_ok(
        tact()
            .args(["eval", "--json", "--split", "calib", "--heads-dir"])
            .arg(&heads)
            .arg("--cache")
            .arg("--cache-dir")
            .arg(&cache)
            .arg("--decisions")
            .arg(&rows)
            .arg(&data),
    );
    let r: serde_json::Value = serde_json::from_str(&report).unwrap();
    let action = &r["action"];
    let n = action["n"].as_u64().unwrap();
    assert_eq!(n as usize, confidences.len());
    assert!(action["confidence_ece"].as_f64().unwrap() < 0.2);
    let all = &action["automation"]["all"];
    for key in [
        "automated",
        "automated_accuracy",
        "coverage_at_95",
        "coverage_at_97",
    ] {
        let v = all[key].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{key} {v}");
    }
    assert!(action["by_action"]["wait"]["recall"].as_f64().is_some());
    assert!(r["language_detection"]["en latin"]["n"].as_u64().unwrap() > 0);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&rows)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len() as u64, n);
    let calibrated: Vec<f64> = lines
        .iter()
        .map(|l| l["decision"]["confidence"].as_f64().unwrap())
        .collect();
    // The map's confidences are the calibration split's decisions, so they match eval's.
    let mut mine: Vec<f64> = calibrated.clone();
    mine.sort_by(|a, b| b.total_cmp(a));
    for (a, b) in mine.iter().zip(confidences) {
        assert!((a - b.as_f64().unwrap()).abs() < 1e-3, "{a} vs {b}");
    }
    assert!(lines
        .iter()
        .all(|l| l["gold"].is_string() && l["text"].is_string()));
}

#[test]
fn train_and_tune_refuse_garbage_settings_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::brand_sample_file("en", 20, dir.path());
    let out = dir.path().join("heads");
    // (arguments, an environment variable, the flag the error names)
    type Case<'a> = (&'a [&'a str], Option<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 6] = [
        (
            &["train", "--learning-rate", "NaN"],
            None,
            "'--learning-rate <LEARNING_RATE>'",
        ),
        (
            &["train"],
            Some(("TACT_TRAIN_LEARNING_RATE", "1e6")),
            "'--learning-rate <LEARNING_RATE>'",
        ),
        (&["train", "--epochs", "0"], None, "'--epochs <EPOCHS>'"),
        (
            &["train", "--corpus-label-weight", "inf"],
            None,
            "'--corpus-label-weight <CORPUS_LABEL_WEIGHT>'",
        ),
        (
            &["tune", "--weight-decay=NaN"],
            None,
            "'--weight-decay <WEIGHT_DECAY>'",
        ),
        (
            &["tune", "--batch-size", "0"],
            None,
            "'--batch-size <BATCH_SIZE>'",
        ),
    ];
    for (args, env, flag) in cases {
        let mut cmd = tact();
        cmd.args(args).arg("--out").arg(&out).arg(&data);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let (_, stderr) = run_err(&mut cmd);
        assert!(stderr.contains("invalid value"), "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(!out.exists(), "{args:?}: refused before any work");
    }
}

#[test]
fn train_refuses_data_without_training_records_and_an_out_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let out = dir.path().join("heads");
    let test_only = records_of_split(dir.path(), tact::data::Split::Test, 20);
    let (_, stderr) = run_err(
        tact()
            .args(["train", "--epochs", "1", "--hidden", "8", "--out"])
            .arg(&out)
            .arg("--cache-dir")
            .arg(&cache)
            .arg(&test_only),
    );
    assert!(
        stderr.contains("error: no training records: none of the 20 records of"),
        "{stderr}"
    );
    assert!(!out.join("heads.json").exists());

    let data = common::brand_sample_file("en", 120, dir.path());
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let (_, stderr) = run_err(
        tact()
            .args(["train", "--epochs", "1", "--hidden", "8", "--out"])
            .arg(file.join("heads"))
            .arg("--cache-dir")
            .arg(&cache)
            .arg(&data),
    );
    assert!(
        stderr.contains(&format!(
            "error: --out {}: cannot create the directory",
            file.join("heads").display()
        )),
        "{stderr}"
    );
    assert!(
        !stderr.contains("epoch"),
        "refused before training: {stderr}"
    );
}

#[test]
fn heads_with_a_non_finite_weight_are_refused_at_load_naming_file_and_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let heads = dir.path().join("heads");
    std::fs::create_dir_all(&heads).unwrap();
    for file in ["heads.json", "adapters.safetensors"] {
        std::fs::copy(std::path::Path::new("models").join(file), heads.join(file)).unwrap();
    }
    let mut tensors =
        candle_core::safetensors::load("models/heads.safetensors", &candle_core::Device::Cpu)
            .unwrap();
    let t = &tensors["abusive.out.bias"];
    let nan = candle_core::Tensor::full(f32::NAN, t.shape(), &candle_core::Device::Cpu).unwrap();
    tensors.insert("abusive.out.bias".into(), nan);
    let weights = heads.join("heads.safetensors");
    candle_core::safetensors::save(&tensors, &weights).unwrap();
    for command in ["decide", "classify"] {
        let (stdout, stderr) = run_err(
            tact()
                .args([command, "a comment", "--heads-dir"])
                .arg(&heads),
        );
        assert!(stdout.is_empty(), "{stdout}");
        assert!(
            stderr.contains(&format!(
                "heads {}: tensor abusive.out.bias holds a non-finite value (NaN at index 0 of 1)",
                weights.display()
            )),
            "{command}: {stderr}"
        );
    }
}

#[test]
fn decide_refuses_an_empty_comment_and_skips_blank_stdin_lines() {
    for text in ["", "  \t "] {
        let (stdout, stderr) = run_err(tact().args(["decide", text]));
        assert!(stdout.is_empty(), "{stdout}");
        assert!(stderr.contains("error: TEXT: empty"), "{stderr}");
    }
    let out = common::run_with_stdin(
        tact().arg("decide"),
        "where is my order 5531?\n\n   \nthank you, it came fast\n".as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1), "blank lines make the run fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stdin line 2: empty; skipped"), "{stderr}");
    assert!(stderr.contains("stdin line 3: empty; skipped"), "{stderr}");
    let decisions: Vec<serde_json::Value> = serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(decisions.len(), 2, "the other lines are decided");
    assert!(decisions.iter().all(|d| d["action"].is_string()));
}

#[test]
fn eval_with_nothing_to_measure_says_so_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let (stdout, stderr) = run_err(tact().arg("eval").arg(&empty));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "error: nothing to measure: no usable record in {}",
            empty.display()
        )),
        "{stderr}"
    );
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{oops\n\n").unwrap();
    let (_, stderr) = run_err(tact().args(["eval", "--split", "test"]).arg(&bad));
    assert!(stderr.contains("bad.jsonl:1:"), "{stderr}");
    assert!(
        stderr.contains("nothing to measure: no usable record of the test split in"),
        "{stderr}"
    );
    assert!(stderr.contains("(2 bad lines skipped)"), "{stderr}");
}

#[test]
fn a_missing_policy_file_is_reported_with_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::brand_sample_file("en", 5, dir.path());
    let missing = dir.path().join("missing.toml");
    let (_, stderr) = run_err(tact().arg("eval").arg("--policy").arg(&missing).arg(&data));
    assert!(
        stderr.contains(&format!("cannot read policy file {}", missing.display())),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
}

#[test]
fn a_model_directory_that_cannot_be_written_names_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    // Under a regular file no folder can be made, whoever runs the test (root too).
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let (_, stderr) = run_err(
        tact()
            .args(["classify", "hello", "--model-dir"])
            .arg(file.join("tact")),
    );
    assert!(
        stderr.contains(&format!(
            "cannot write to the model directory {}",
            file.join("tact").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("--model-dir / TACT_MODEL_DIR"), "{stderr}");
}

#[test]
fn a_reader_that_stops_early_ends_the_output_quietly() {
    use std::io::{BufRead, BufReader, Write};
    for args in [&["classify"][..], &["decide"][..], &["score", "-"][..]] {
        let mut child = tact()
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Far more output than a pipe holds, so tact is still writing when the reader goes.
        let lines = "Unde e comanda mea? Aștept de o săptămână.\n".repeat(2000);
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || stdin.write_all(lines.as_bytes()));
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?}: no output");
        // The reader is gone (as `| head -1` would be).
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(
            !stderr.contains("error") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}
