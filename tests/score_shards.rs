//! Archives scored in shards (`tact score --shard I/N`, then `tact score merge`), through the
//! binary and the real encoder: four shard processes on a 20,000-line archive with bad lines
//! merge into exactly the output of one run; a shard killed with kill -9 and resumed still
//! merges cleanly; a missing shard makes `merge` fail naming its lines; a CSV record whose
//! quoted newlines straddle a shard boundary is answered exactly once.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn tact() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tact"));
    cmd.env_remove("TACT_HEADS_DIR")
        .env_remove("TACT_SCORE_SHARD");
    cmd
}

fn ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("tact runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn shard(input: &Path, i: usize, n: usize, output: &Path) -> Command {
    let mut cmd = tact();
    cmd.arg("score")
        .arg(input)
        .args(["--shard", &format!("{i}/{n}")])
        .arg("-o")
        .arg(output)
        .args(["--threads", "1"]);
    cmd
}

fn merge(outputs: &[PathBuf], to: &Path) -> Output {
    tact()
        .args(["score", "merge"])
        .args(outputs)
        .arg("-o")
        .arg(to)
        .output()
        .expect("tact runs")
}

/// 20,000 comments, with an invalid JSON line, a blank line and a non-object mixed in.
fn archive(path: &Path) {
    let texts = [
        "Comanda mea nu a ajuns nici după două săptămâni, ce se întâmplă?",
        "Мерси за бързата доставка!",
        "Когда откроется магазин на Тверской?",
        "Do you deliver to Cluj on Sundays?",
        "lol",
        "The blender leaks all over the counter. Fix it.",
    ];
    let lines: Vec<String> = (1..=20_000)
        .map(|i| match i % 997 {
            13 => "{not json".to_string(),
            500 => String::new(),
            700 => "[1, 2]".to_string(),
            _ => serde_json::json!({"id": format!("c-{i}"), "text": format!("{} #{i}", texts[i % 6])})
                .to_string(),
        })
        .collect();
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

fn lines_of(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

#[test]
fn four_shards_merge_into_one_run_even_after_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    archive(&input);
    let whole = dir.path().join("whole.jsonl");
    ok(tact().arg("score").arg(&input).arg("-o").arg(&whole));
    assert_eq!(lines_of(&whole), 20_000);

    let parts: Vec<PathBuf> = (0..4)
        .map(|i| dir.path().join(format!("part-{i}.jsonl")))
        .collect();
    // Shards 0, 2 and 3 run side by side; shard 1 is killed mid-run.
    let mut others: Vec<Child> = [0, 2, 3]
        .iter()
        .map(|&i| {
            shard(&input, i, 4, &parts[i])
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut killed = shard(&input, 1, 4, &parts[1])
        .args(["--window", "16", "--batch-size", "8"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while lines_of(&parts[1]) < 100 {
        assert!(start.elapsed() < Duration::from_secs(300), "no output");
        assert!(
            killed.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    killed.kill().unwrap(); // SIGKILL
    killed.wait().unwrap();
    for child in &mut others {
        assert!(child.wait().unwrap().success());
    }
    let cut = lines_of(&parts[1]);
    assert!(cut < 4_000, "the kill landed mid-shard ({cut} lines)");

    // Unfinished: merge names the lines it lacks.
    let refused = merge(&parts, &dir.path().join("merged.jsonl"));
    assert_eq!(refused.status.code(), Some(2));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("shard 1/4")
            && message.contains("is unfinished")
            && message.contains("--resume"),
        "{message}"
    );

    ok(shard(&input, 1, 4, &parts[1]).arg("--resume"));
    let merged = dir.path().join("merged.jsonl");
    let out = merge(&parts, &merged);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("lines 1-20000, each answered once"));
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&whole).unwrap(),
        "the shards' answers are the single run's, line for line"
    );

    // A missing shard: the lines between its neighbours are named.
    let first_of_3 = first_line(&parts[3]);
    let last_of_1 = first_line(&parts[2]) - 1;
    let missing = merge(
        &[parts[0].clone(), parts[1].clone(), parts[3].clone()],
        &dir.path().join("missing.jsonl"),
    );
    assert_eq!(missing.status.code(), Some(2));
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(
        message.contains(&format!(
            "shard 2/4 is missing: lines {}-{} are not answered",
            last_of_1 + 1,
            first_of_3 - 1
        )),
        "{message}"
    );
    // A shard given twice, and an output of another input, are refused too.
    let twice = merge(
        &[parts[0].clone(), parts[0].clone()],
        &dir.path().join("x.jsonl"),
    );
    assert!(String::from_utf8_lossy(&twice.stderr).contains("shard 0/4 is given twice"));
    let foreign = merge(&[whole], &dir.path().join("x.jsonl"));
    assert!(String::from_utf8_lossy(&foreign.stderr).contains("was not scored with --shard"));
}

/// The first line a shard's output answers.
fn first_line(output: &Path) -> u64 {
    let text = std::fs::read_to_string(output).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    first["line"].as_u64().unwrap()
}

#[test]
fn a_csv_record_across_a_shard_boundary_is_answered_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.csv");
    let mut csv = String::from("id,text\n");
    for i in 1..=40 {
        csv.push_str(&format!(
            "c-{i},\"Do you deliver to Cluj, on Sunday {i}?\"\n"
        ));
    }
    // A long quoted comment of many lines, some of which look like records: the middle of
    // the file falls inside it.
    let mut long = String::new();
    for k in 0..60 {
        long.push_str(&format!(
            "c-fake-{k},line {k} of one \"\"quoted\"\" comment\n"
        ));
    }
    csv.push_str(&format!("c-41,\"{long}\"\n"));
    for i in 42..=80 {
        csv.push_str(&format!("c-{i},Thanks for the quick refund {i}\n"));
    }
    std::fs::write(&input, &csv).unwrap();
    let middle = csv.len() / 2;
    let long_at = csv.find("c-41,").unwrap();
    assert!(
        (long_at..long_at + long.len()).contains(&middle),
        "the boundary falls inside the quoted record"
    );

    let whole = dir.path().join("whole.csv");
    ok(tact().arg("score").arg(&input).arg("-o").arg(&whole));
    let parts: Vec<PathBuf> = (0..2)
        .map(|i| dir.path().join(format!("part-{i}.csv")))
        .collect();
    for (i, part) in parts.iter().enumerate() {
        ok(&mut shard(&input, i, 2, part));
    }
    let merged = dir.path().join("merged.csv");
    let out = merge(&parts, &merged);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    let answered = std::fs::read_to_string(&merged).unwrap();
    assert_eq!(
        answered.matches("c-41,").count(),
        1,
        "the long record is answered once"
    );
    assert!(
        !answered.contains("c-fake-"),
        "no line inside it was read as a record"
    );
}
