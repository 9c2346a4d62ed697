//! `--cpu-features` / `TACT_CPU_FEATURES` end to end: `tact bench` runs and reports the tier
//! it was given, and a CPU without AVX2 kernels (forced with `plain`) gets the f32 encoder by
//! default, saying so on stderr.

mod common;

use common::harness::tact;
use tact::model::CpuTier;

/// `tact bench --json` on three short texts with `args` and `envs`; the report and stderr.
fn bench(args: &[&str], envs: &[(&str, &str)]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus.txt");
    std::fs::write(
        &corpus,
        "Comanda mea nu a ajuns nici azi!\nКога ще пристигне поръчката ми?\nRefund me now.\n",
    )
    .unwrap();
    let out = tact()
        .arg("bench")
        .arg("--corpus")
        .arg(&corpus)
        .args(["--runs", "1", "--latency-texts", "1", "--json"])
        .args(args)
        .env_remove("TACT_WEIGHTS")
        .env_remove("TACT_CPU_FEATURES")
        .envs(envs.iter().copied())
        .output()
        .expect("tact runs");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "tact failed: {stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

#[test]
fn a_forced_tier_runs_and_is_reported_with_its_agreement_to_f32() {
    let best = CpuTier::detect();
    for (tier, flag) in [(CpuTier::Avx2, "avx2"), (CpuTier::AvxVnni, "avx-vnni")] {
        if !tier.is_available() {
            eprintln!("SKIPPED: this CPU cannot run the {tier} kernels, so they are not tested");
            continue;
        }
        // Once by the flag, once by the variable.
        let (by_flag, _) = bench(&["--cpu-features", flag], &[]);
        let (by_env, _) = bench(&[], &[("TACT_CPU_FEATURES", flag)]);
        for r in [by_flag, by_env] {
            assert_eq!(r["weight_format"], "int8");
            assert_eq!(r["cpu_tier"], flag);
            assert_eq!(r["cpu_best"], best.name());
            // The bound of tests/cli.rs: these few texts go through the committed heads'
            // adapters, where even the AVX-512 tier is at 0.997; tests/encoder.rs holds every
            // tier to 0.999 on the plain encoder over 971 brand comments.
            let min = r["accuracy"]["min_cosine"].as_f64().unwrap();
            assert!(min >= 0.99, "{flag}: cosine to f32 {min}");
        }
    }
}

#[test]
fn without_simd_kernels_the_default_is_f32_and_the_log_says_why() {
    let (r, stderr) = bench(&["--cpu-features", "plain", "--skip-accuracy"], &[]);
    assert_eq!(r["weight_format"], "f32");
    assert!(r["cpu_tier"].is_null(), "candle runs: {r}");
    assert!(stderr.contains("no AVX2 kernels"), "{stderr}");
    // Asking for int8 anyway runs the plain loops.
    let (r, _) = bench(
        &[
            "--cpu-features",
            "plain",
            "--weights",
            "int8",
            "--skip-accuracy",
        ],
        &[],
    );
    assert_eq!(
        (&r["weight_format"], &r["cpu_tier"]),
        (&"int8".into(), &"plain".into())
    );
}

#[test]
fn an_unknown_tier_is_refused_naming_the_flag() {
    let out = tact()
        .args(["bench", "--cpu-features", "avx1024"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("--cpu-features"), "{stderr}");
}
