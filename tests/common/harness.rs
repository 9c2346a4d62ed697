//! The `tact` binary as the store's tests run it (never with the caller's heads or store
//! settings), and a runtime for the store's async API beside it.

use std::path::Path;
use std::process::{Command, Output};

/// The binary, with the committed heads and no store from the caller's environment.
pub fn tact() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tact"));
    cmd.env_remove("TACT_HEADS_DIR")
        .env_remove("TACT_STORE")
        .env_remove("TACT_SCORE_STORE");
    cmd
}

/// Runs a command that must succeed.
pub fn succeeds(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("tact runs");
    assert!(out.status.success(), "tact failed: {}", stderr(&out));
    out
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The answers of a JSON Lines output.
pub fn answers(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every output line is JSON"))
        .collect()
}
