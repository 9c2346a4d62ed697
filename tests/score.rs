//! `tact score` end to end, through the binary and the real encoder: every kind of bad line
//! answered in place, kill -9 then `--resume`, torn answers repaired, CSV with quotes and
//! embedded newlines, stdin/stdout piping, and threads decided as the service decides them.

mod common;

use common::harness::answers;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tact::comment::Comment;

/// The binary, with the committed heads (never a `TACT_HEADS_DIR` from the caller's shell).
fn tact_score() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tact"));
    cmd.arg("score").env_remove("TACT_HEADS_DIR");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("tact runs");
    if out.status.code() == Some(2) || out.status.code().is_none() {
        panic!("tact failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Comments of varied length in the four languages, with ids `c-1`, `c-2`, ….
fn comments(n: usize) -> Vec<String> {
    let texts = [
        "Comanda mea nu a ajuns nici după două săptămâni, ce se întâmplă?",
        "Мерси за бързата доставка!",
        "Когда откроется магазин на Тверской? Жду уже месяц, никто не отвечает на звонки.",
        "Do you deliver to Cluj on Sundays?",
        "lol",
        "The blender I got yesterday leaks all over the counter and support never called back. Fix it.",
    ];
    (1..=n)
        .map(|i| {
            let text = format!("{} #{i}", texts[i % texts.len()]);
            serde_json::json!({"id": format!("c-{i}"), "text": text}).to_string()
        })
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Every answer is numbered by its position and carries the id of its input line.
fn assert_answers_every_line_once(out: &[Value], ids: &[String]) {
    assert_eq!(out.len(), ids.len(), "one answer per input line");
    for (i, (answer, id)) in out.iter().zip(ids).enumerate() {
        assert_eq!(answer["line"], i as u64 + 1, "answer {i}: {answer}");
        assert_eq!(answer["id"], id.as_str(), "answer {i}: {answer}");
    }
}

#[test]
fn every_kind_of_bad_line_is_answered_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    let long = "word ".repeat(600);
    let mut bytes = Vec::new();
    let lines: Vec<Vec<u8>> = vec![
        br#"{"id": "a", "text": "Super fast delivery, thank you!"}"#.to_vec(),
        b"".to_vec(),
        br#"{"id": "b", "text": "oops"#.to_vec(),
        b"{\"id\": \"c\", \"text\": \"Bun\xff\xfe\"}".to_vec(),
        br#"{"id": "d", "lang": "ro"}"#.to_vec(),
        br#"{"id": "e", "text": "   "}"#.to_vec(),
        br#"{"id": "f", "text": 42}"#.to_vec(),
        br#"["not", "an", "object"]"#.to_vec(),
        br#"{"id": "g", "text": "Bonjour", "lang": "fr"}"#.to_vec(),
        br#"{"id": 8, "text": "Numbered ids are read as labels"}"#.to_vec(),
        b"   \t ".to_vec(),
        format!(r#"{{"id": "long", "text": "{long}"}}"#).into_bytes(),
        b"{\"id\": \"crlf\", \"text\": \"Windows line ending\"}\r".to_vec(),
        br#"{"id": "last", "text": "no newline at the end"}"#.to_vec(),
    ];
    for (i, line) in lines.iter().enumerate() {
        bytes.extend_from_slice(line);
        if i + 1 < lines.len() {
            bytes.push(b'\n');
        }
    }
    std::fs::write(&input, &bytes).unwrap();
    let output = dir.path().join("answers.jsonl");
    let out = run(tact_score().arg(&input).arg("-o").arg(&output));
    assert!(out.status.success(), "{}", stderr(&out));

    let got = answers(&output);
    assert_eq!(got.len(), lines.len());
    for (i, answer) in got.iter().enumerate() {
        assert_eq!(answer["line"], i as u64 + 1);
    }
    let expected_errors = [
        (2, "blank_line", None),
        (3, "invalid_json", None),
        (4, "invalid_utf8", None),
        (5, "missing_text", Some("d")),
        (6, "empty_text", Some("e")),
        (7, "wrong_type", Some("f")),
        (8, "wrong_type", None),
        (9, "wrong_type", Some("g")),
        (11, "blank_line", None),
    ];
    for (line, code, id) in expected_errors {
        let answer = &got[line - 1];
        assert_eq!(answer["error"]["code"], code, "line {line}: {answer}");
        assert!(!answer["error"]["message"].as_str().unwrap().is_empty());
        match id {
            Some(id) => assert_eq!(answer["id"], id, "line {line}"),
            None => assert!(answer.get("id").is_none(), "line {line}: {answer}"),
        }
        assert!(answer.get("action").is_none());
    }
    let decided = [1, 10, 12, 13, 14];
    for line in decided {
        let answer = &got[line - 1];
        assert!(answer.get("error").is_none(), "line {line}: {answer}");
        assert!(answer["action"].is_string() && answer["rule"].is_string());
    }
    assert_eq!(got[9]["id"], "8");
    assert_eq!(got[11]["truncated"], true);
    assert_eq!(got[11]["tokens"], 256);
    assert_eq!(got[0]["truncated"], false);

    let summary = stderr(&out);
    assert!(summary.contains("lines      14 (lines 1-14)"), "{summary}");
    assert!(
        summary.contains("decided    5 (1 on a truncated text)"),
        "{summary}"
    );
    assert!(summary.contains("errors     9 ("), "{summary}");
    for counted in [
        "blank_line 2",
        "wrong_type 3",
        "invalid_json 1",
        "invalid_utf8 1",
        "missing_text 1",
        "empty_text 1",
    ] {
        assert!(summary.contains(counted), "{counted} in {summary}");
    }

    // --strict answers the same lines, then fails the run.
    let strict = run(tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--overwrite", "--strict"]));
    assert_eq!(strict.status.code(), Some(1));
    assert_eq!(answers(&output).len(), lines.len());
}

#[test]
fn kill_9_then_resume_answers_every_line_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    let lines = comments(300);
    write_lines(&input, &lines);
    let ids: Vec<String> = (1..=300).map(|i| format!("c-{i}")).collect();
    let output = dir.path().join("answers.jsonl");

    // Small windows and batches, so answers reach the file often and the kill lands mid-run.
    let mut child = tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--window", "16", "--batch-size", "8"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let written =
        |p: &PathBuf| std::fs::read(p).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count());
    while written(&output) < 40 {
        assert!(start.elapsed() < Duration::from_secs(300), "no output");
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the kill"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before = written(&output);
    assert!(before < 300, "the run was cut short ({before} lines)");

    let out = run(tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--resume"));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_answers_every_line_once(&answers(&output), &ids);
    assert!(
        stderr(&out).contains("were already answered"),
        "{}",
        stderr(&out)
    );

    // Resuming a finished output answers nothing more.
    let again = run(tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--resume"));
    assert!(
        stderr(&again).contains("lines      0"),
        "{}",
        stderr(&again)
    );
    assert_answers_every_line_once(&answers(&output), &ids);
}

#[test]
fn resume_cuts_a_torn_last_answer() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    write_lines(&input, &comments(20));
    let ids: Vec<String> = (1..=20).map(|i| format!("c-{i}")).collect();
    let output = dir.path().join("answers.jsonl");
    run(tact_score().arg(&input).arg("-o").arg(&output));
    let full = std::fs::read_to_string(&output).unwrap();

    // Eleven whole answers and half of the twelfth, as a kill -9 mid-write leaves them.
    let ends: Vec<usize> = full.match_indices('\n').map(|(i, _)| i + 1).collect();
    let torn = ends[10] + (ends[11] - ends[10]) / 2;
    std::fs::write(&output, &full.as_bytes()[..torn]).unwrap();
    let out = run(tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--resume"));
    assert!(
        stderr(&out).contains("lines 1-11 were already answered"),
        "{}",
        stderr(&out)
    );
    let resumed = std::fs::read_to_string(&output).unwrap();
    assert_eq!(
        resumed[..ends[10]],
        full[..ends[10]],
        "whole answers are kept as they were"
    );
    assert_answers_every_line_once(&answers(&output), &ids);

    // A torn answer that ends right before where its newline would be is cut too.
    std::fs::write(&output, &full.as_bytes()[..ends[14] - 1]).unwrap();
    run(tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--resume"));
    assert_answers_every_line_once(&answers(&output), &ids);

    // Someone else's output is refused, not appended to.
    std::fs::write(&output, "{\"line\": 7}\n").unwrap();
    let refused = tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--resume")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(stderr(&refused).contains("not the output of this input"));
}

#[test]
fn an_existing_output_is_kept_and_a_missing_input_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    write_lines(&input, &comments(2));
    let output = dir.path().join("answers.jsonl");
    std::fs::write(&output, "precious\n").unwrap();
    let refused = tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("--resume"),
        "{}",
        stderr(&refused)
    );
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "precious\n");

    let missing = tact_score()
        .arg(dir.path().join("nope.jsonl"))
        .arg("-o")
        .arg(dir.path().join("x.jsonl"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("nope.jsonl"),
        "{}",
        stderr(&missing)
    );
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn csv_with_quotes_and_embedded_newlines() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    let mut data = b"post_id,user,body,likes\n\
        1,u1,\"Hello, is the shop open on Sunday?\",3\n\
        2,u2,\"Line one\nline two, with \"\"quotes\"\"\",0\n\
        3,u3,,1\n\
        4,u4,unquoted, comma,2\n\
        5,u5,\"Bun\xff\",1\n\
        6,u6,\"\xd0\x9c\xd0\xbe\xd0\xb9 \xd0\xb7\xd0\xb0\xd0\xba\xd0\xb0\xd0\xb7\",7\n"
        .to_vec();
    data.extend_from_slice(b"7,u7,\"three\nphysical\nlines\",0\n");
    std::fs::write(&input, &data).unwrap();
    let output = dir.path().join("answers.csv");
    let out = run(tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .args(["--text-column", "body", "--id-column", "post_id"])
        .args(["--author-column", "user"]));
    assert!(out.status.success(), "{}", stderr(&out));

    let (header, rows) = read_csv(&output);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(
        rows.len(),
        7,
        "one row per CSV record, not per physical line"
    );
    // (record, physical line it starts on, error code or "" when decided)
    let expected = [
        (1, 2, ""),
        (2, 3, ""),
        (3, 5, "empty_text"),
        (4, 6, "field_count"),
        (5, 7, "invalid_utf8"),
        (6, 8, ""),
        (7, 9, ""),
    ];
    for (row, (line, source_line, code)) in rows.iter().zip(expected) {
        assert_eq!(row[col("line")], line.to_string(), "{row:?}");
        assert_eq!(row[col("source_line")], source_line.to_string(), "{row:?}");
        assert_eq!(row[col("id")], line.to_string(), "{row:?}");
        assert_eq!(row[col("error_code")], code, "{row:?}");
        assert_eq!(row[col("action")].is_empty(), !code.is_empty(), "{row:?}");
    }
    assert_eq!(rows[5][col("lang")], "ru");

    // The same archive as JSON Lines carries the same numbering, from stdin with --format.
    let out = common::run_with_stdin(
        tact_score()
            .args(["-", "--format", "csv", "--text-column", "body"])
            .args(["--id-column", "post_id"]),
        &data,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(json.len(), 7);
    assert_eq!(json[1]["source_line"], 3);
    assert_eq!(json[3]["error"]["code"], "field_count");
    assert_eq!(json[3]["id"], "4");
}

#[test]
fn resume_cuts_a_csv_answer_torn_inside_quotes() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    write_lines(&input, &comments(8));
    let output = dir.path().join("answers.csv");
    run(tact_score().arg(&input).arg("-o").arg(&output));
    let full = std::fs::read(&output).unwrap();
    let (_, rows) = read_csv(&output);
    assert_eq!(rows.len(), 8);

    // Cut the last row right after an opening quote (the quoted guideline), mid-field.
    let last_row_start = full[..full.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .unwrap()
        + 1;
    let quote = last_row_start
        + full[last_row_start..]
            .iter()
            .position(|&b| b == b'"')
            .expect("a quoted field in the row");
    std::fs::write(&output, &full[..quote + 3]).unwrap();
    let out = run(tact_score()
        .arg(&input)
        .arg("-o")
        .arg(&output)
        .arg("--resume"));
    assert!(
        stderr(&out).contains("lines 1-7 were already answered"),
        "{}",
        stderr(&out)
    );
    let (_, resumed) = read_csv(&output);
    assert_eq!(resumed.len(), 8);
    for (i, row) in resumed.iter().enumerate() {
        assert_eq!(row[0], (i + 1).to_string());
        assert_eq!(row[2], format!("c-{}", i + 1));
    }
}

#[test]
fn stdin_to_stdout() {
    let mut lines = comments(5);
    lines.insert(2, "not json".to_string());
    let out = common::run_with_stdin(
        tact_score().args(["-", "-o", "-"]),
        (lines.join("\n") + "\n").as_bytes(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(got.len(), 6);
    let ids = ["c-1", "c-2", "", "c-3", "c-4", "c-5"];
    for (i, (answer, id)) in got.iter().zip(ids).enumerate() {
        assert_eq!(answer["line"], i as u64 + 1);
        if id.is_empty() {
            assert_eq!(answer["error"]["code"], "invalid_json");
        } else {
            assert_eq!(answer["id"], id);
        }
    }
    assert!(stderr(&out).contains("tact score summary"));
}

#[test]
fn threads_are_decided_as_the_service_decides_them() {
    let thread = serde_json::json!([
        {"text": "Comanda a venit spartă.", "from_brand": false},
        {"text": "Ne pare rău! Ne scrieți numărul comenzii în privat?", "from_brand": true}
    ]);
    let texts = [
        "Tot nimic! Sunteți niște incompetenți, nu mai cumpăr niciodată!!!",
        "Mulțumesc, s-a rezolvat.",
        "Still waiting. This is a joke.",
    ];
    let mut records = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        for with_thread in [true, false] {
            let mut record = serde_json::json!({
                "id": format!("t-{i}-{with_thread}"), "text": text, "author_id": "u-42"
            });
            if with_thread {
                record["thread"] = thread.clone();
            }
            records.push(record.to_string());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("threads.jsonl");
    write_lines(&input, &records);
    let output = dir.path().join("answers.jsonl");
    run(tact_score().arg(&input).arg("-o").arg(&output));
    let got = answers(&output);

    // The service's path, in process: the same pipeline, one batch.
    let pipeline = common::pipeline();
    let comments: Vec<Comment> = records
        .iter()
        .map(|r| serde_json::from_str(r).unwrap())
        .collect();
    assert!(comments[0].thread.len() == 2 && comments[0].author_id.is_some());
    let expected = pipeline.decide_all(comments, 32).unwrap();
    assert_eq!(got.len(), expected.len());
    for (answer, decided) in got.iter().zip(&expected) {
        let mut answer = answer.clone();
        answer.as_object_mut().unwrap().remove("line");
        assert_eq!(answer, serde_json::to_value(decided).unwrap());
    }
}

/// Runs a command expected to be refused: status 2, before any answer is written.
fn refused(cmd: &mut Command) -> String {
    let out = cmd.output().expect("tact runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn an_output_that_is_the_input_is_refused_and_the_archive_kept() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("a.jsonl");
    write_lines(&archive, &comments(3));
    let before = std::fs::read(&archive).unwrap();
    let soft = dir.path().join("soft.jsonl");
    std::os::unix::fs::symlink(&archive, &soft).unwrap();
    let hard = dir.path().join("hard.jsonl");
    std::fs::hard_link(&archive, &hard).unwrap();
    for output in [&archive, &soft, &hard] {
        for mode in ["--overwrite", "--resume"] {
            let err = refused(tact_score().arg(&archive).arg("-o").arg(output).arg(mode));
            assert!(err.contains("is the input"), "{err}");
            assert!(err.contains(&archive.display().to_string()), "{err}");
            assert!(err.contains(&output.display().to_string()), "{err}");
            assert_eq!(
                std::fs::read(&archive).unwrap(),
                before,
                "{output:?} {mode}"
            );
        }
    }
    // stdout appended to the archive would read its own answers forever.
    let append = std::fs::OpenOptions::new()
        .append(true)
        .open(&archive)
        .unwrap();
    let err = refused(tact_score().arg(&archive).args(["-o", "-"]).stdout(append));
    assert!(err.contains("(stdout)"), "{err}");
    assert_eq!(std::fs::read(&archive).unwrap(), before);
}

#[test]
fn a_huge_line_is_answered_line_too_long_and_the_rest_decided() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    let mut lines = comments(3);
    let huge = serde_json::json!({"id": "huge", "text": "spam ".repeat(400_000)}).to_string();
    lines.insert(1, huge);
    write_lines(&input, &lines);
    let output = dir.path().join("answers.jsonl");
    let out = run(tact_score().arg(&input).arg("-o").arg(&output));
    assert!(out.status.success(), "{}", stderr(&out));
    let got = answers(&output);
    assert_eq!(got.len(), 4);
    assert_eq!(got[1]["line"], 2);
    assert_eq!(got[1]["error"]["code"], "line_too_long", "{}", got[1]);
    assert!(got[1]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("over the cap of 1048576 (--max-line-bytes)"));
    for (answer, id) in [(&got[0], "c-1"), (&got[2], "c-2"), (&got[3], "c-3")] {
        assert_eq!(answer["id"], id);
        assert!(answer["action"].is_string(), "{answer}");
    }

    // /dev/zero cut to 8 MB: one line with no newline at all, answered, and the run ends.
    let zeros = dir.path().join("zeros.jsonl");
    std::fs::write(&zeros, vec![0u8; 8 << 20]).unwrap();
    let output = dir.path().join("zeros.out.jsonl");
    let out = run(tact_score()
        .arg(&zeros)
        .arg("-o")
        .arg(&output)
        .args(["--max-line-bytes", "65536"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let got = answers(&output);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["error"]["code"], "line_too_long");
    assert!(got[0]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("8388608 bytes"));
}

#[test]
fn an_unclosed_csv_quote_swallows_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    let mut data = String::from("id,text\n");
    for i in 1..=15 {
        if i == 5 {
            data.push_str("5,\"I ordered two, got one\n");
        } else {
            data.push_str(&format!("{i},\"Where is order {i}, please?\"\n"));
        }
    }
    std::fs::write(&input, &data).unwrap();
    let output = dir.path().join("answers.jsonl");
    let out = run(tact_score().arg(&input).arg("-o").arg(&output));
    assert!(out.status.success(), "{}", stderr(&out));
    let got = answers(&output);
    assert_eq!(got.len(), 15, "one answer per row");
    for (i, answer) in got.iter().enumerate() {
        let n = i as u64 + 1;
        assert_eq!(answer["line"], n);
        assert_eq!(answer["source_line"], n + 1);
        assert_eq!(answer["id"], n.to_string());
        if n == 5 {
            assert_eq!(answer["error"]["code"], "bad_quote", "{answer}");
        } else {
            assert!(answer["action"].is_string(), "{answer}");
        }
    }
}

#[test]
fn resume_refuses_another_input_of_the_same_length() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("monday.jsonl");
    write_lines(&first, &comments(12));
    // Tuesday's export: as many lines, as many bytes, other comments.
    let second = dir.path().join("tuesday.jsonl");
    let tuesday: Vec<String> = comments(12)
        .iter()
        .map(|l| l.replace("Cluj", "Iasi").replace("lol", "wow"))
        .collect();
    write_lines(&second, &tuesday);
    assert_eq!(
        std::fs::metadata(&first).unwrap().len(),
        std::fs::metadata(&second).unwrap().len()
    );
    let output = dir.path().join("answers.jsonl");
    run(tact_score().arg(&first).arg("-o").arg(&output));
    let full = std::fs::read_to_string(&output).unwrap();
    let half: String = full.lines().take(6).map(|l| format!("{l}\n")).collect();
    std::fs::write(&output, &half).unwrap();

    let err = refused(
        tact_score()
            .arg(&second)
            .arg("-o")
            .arg(&output)
            .arg("--resume"),
    );
    assert!(
        err.contains("monday.jsonl") && err.contains("tuesday.jsonl"),
        "{err}"
    );
    assert!(err.contains("SHA-256 of the first 64 KiB"), "{err}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), half);

    // Read otherwise (another line cap can answer other lines), refused too.
    let err = refused(tact_score().arg(&first).arg("-o").arg(&output).args([
        "--resume",
        "--max-line-bytes",
        "4096",
    ]));
    assert!(
        err.contains("--max-line-bytes 1048576 then, 4096 now"),
        "{err}"
    );

    // The input it answers resumes.
    let out = run(tact_score()
        .arg(&first)
        .arg("-o")
        .arg(&output)
        .arg("--resume"));
    assert!(stderr(&out).contains("lines 1-6 were already answered"));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), full);

    // Without the record of its input, an output is not resumed.
    std::fs::remove_file(dir.path().join("answers.jsonl.tact-score.json")).unwrap();
    std::fs::write(&output, &half).unwrap();
    let err = refused(
        tact_score()
            .arg(&first)
            .arg("-o")
            .arg(&output)
            .arg("--resume"),
    );
    assert!(
        err.contains("answers.jsonl.tact-score.json is missing"),
        "{err}"
    );
}

#[test]
fn a_byte_order_mark_before_json_lines_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    let lines = comments(2);
    std::fs::write(&input, format!("\u{feff}{}\n{}\n", lines[0], lines[1])).unwrap();
    let output = dir.path().join("answers.jsonl");
    run(tact_score().arg(&input).arg("-o").arg(&output));
    let ids: Vec<String> = vec!["c-1".into(), "c-2".into()];
    let got = answers(&output);
    assert_answers_every_line_once(&got, &ids);
    assert!(got[0]["action"].is_string(), "{}", got[0]);
}

#[test]
fn semicolon_and_tab_separated_csv_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        ("1", "Bună, comanda nu a ajuns"),
        ("2", "Здравейте; кога отваряте?"),
        ("3", "Thanks, all good"),
    ];
    for (name, delimiter, given) in [
        ("semicolon.csv", ";", None),
        ("tab.csv", "\t", Some("tab")),
        ("tab-env.csv", "\t", None),
    ] {
        let input = dir.path().join(name);
        let mut data = format!("id{delimiter}text\n");
        for (id, text) in rows {
            data.push_str(&format!("{id}{delimiter}\"{text}\"\n"));
        }
        std::fs::write(&input, data).unwrap();
        let output = dir.path().join(format!("{name}.jsonl"));
        let mut cmd = tact_score();
        cmd.arg(&input)
            .arg("-o")
            .arg(&output)
            .env_remove("TACT_SCORE_DELIMITER");
        if let Some(flag) = given {
            cmd.args(["--delimiter", flag]);
        }
        if name == "tab-env.csv" {
            cmd.env("TACT_SCORE_DELIMITER", "tab");
        }
        let out = run(&mut cmd);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let got = answers(&output);
        assert_eq!(got.len(), 3, "{name}");
        for (answer, (id, _)) in got.iter().zip(rows) {
            assert_eq!(answer["id"], id, "{name}: {answer}");
            assert!(answer["action"].is_string(), "{name}: {answer}");
        }
    }
    let err = refused(
        tact_score()
            .arg(dir.path().join("tab.csv"))
            .args(["--delimiter", "|"]),
    );
    assert!(err.contains("--delimiter"), "{err}");
}

#[test]
fn a_full_disk_or_an_unwritable_output_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("archive.jsonl");
    write_lines(&input, &comments(3));

    let err = refused(tact_score().arg(&input).args(["-o", "/dev/full"]));
    assert!(err.contains("writing /dev/full"), "{err}");
    assert!(err.contains("No space left on device"), "{err}");

    // A directory where no file can be created (a file in the way works for root too).
    let in_the_way = dir.path().join("not-a-dir");
    std::fs::write(&in_the_way, "").unwrap();
    let output = in_the_way.join("answers.jsonl");
    let err = refused(tact_score().arg(&input).arg("-o").arg(&output));
    assert!(
        err.contains(&format!("writing {}", output.display())),
        "{err}"
    );

    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes anywhere; the check means something only where the mode holds.
    if std::fs::write(locked.join("probe"), "").is_err() {
        let output = locked.join("answers.jsonl");
        let err = refused(tact_score().arg(&input).arg("-o").arg(&output));
        assert!(
            err.contains(&format!("writing {}", output.display())),
            "{err}"
        );
        assert!(err.contains("Permission denied"), "{err}");
    }
}
