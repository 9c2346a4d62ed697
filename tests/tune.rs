//! `tact tune` end to end on the real encoder: the LoRA forward pass it trains equals the
//! merged encoder that serving runs, a tiny run lowers the loss, a run stopped and resumed
//! writes the same files as one that was not, and adapters load or fail precisely.

mod common;

use std::path::{Path, PathBuf};
use tact::classify::{Classifier, ModelConfig};
use tact::model::lora::{AdapterCard, MATRICES};
use tact::model::q4file::Q4File;
use tact::model::{Adapters, Encoder, EncoderConfig, WeightFormat};
use tact::objective::Rng;
use tact::tune::{net::UpperLayers, TuneConfig};

fn card(layers: std::ops::Range<usize>) -> AdapterCard {
    AdapterCard {
        file: "adapters.safetensors".into(),
        rank: 4,
        alpha: 8.0,
        layers: layers.collect(),
        matrices: MATRICES.iter().map(|m| m.to_string()).collect(),
    }
}

/// Upper layers whose adapters are far from zero, so merging has something to get wrong.
fn perturbed(file: &Q4File, card: &AdapterCard) -> UpperLayers {
    let mut rng = Rng(11);
    let upper = UpperLayers::new(file, card, 0.0, &mut rng).unwrap();
    for (_, var) in &upper.vars {
        let n = var.as_tensor().elem_count();
        let v: Vec<f32> = (0..n).map(|_| rng.uniform() * 0.05).collect();
        let t = candle_core::Tensor::from_vec(
            v,
            var.as_tensor().shape().clone(),
            &candle_core::Device::Cpu,
        )
        .unwrap();
        var.set(&t).unwrap();
    }
    upper
}

#[test]
fn lora_merged_into_the_encoder_equals_the_unmerged_forward_pass() {
    let f = common::files();
    let file = Q4File::read(&f.weights).unwrap();
    let layers = file.shape.layers;
    // Every layer tuned: what enters the first one is the embeddings, exact in both paths.
    let card = card(0..layers);
    let upper = perturbed(&file, &card);
    let adapters = Adapters::from_tensors(card, &upper.tensors()).unwrap();
    let load = |format, adapters: Option<Adapters>| {
        Encoder::load(
            &f.weights,
            &f.tokenizer,
            &EncoderConfig {
                format,
                max_tokens: 128,
                threads: 0,
                cpu_tier: tact::model::CpuTier::detect(),
                adapters,
            },
        )
        .unwrap()
    };
    let merged_f32 = load(WeightFormat::F32, Some(adapters.clone()));
    let merged_int8 = load(WeightFormat::Int8, Some(adapters));
    let plain = common::encoder(WeightFormat::F32);
    let texts = [
        "Comanda 5531 nu a ajuns nici azi, ce se întâmplă?",
        "Благодаря ви, всичко пристигна навреме!",
        "Верните деньги за заказ, это уже третий раз",
        "great, third delivery delay this month, love it 🙃",
    ];
    let tokens: Vec<_> = texts
        .iter()
        .map(|t| merged_int8.tokenize(t).unwrap())
        .collect();
    let embedded = merged_int8.hidden_states(&tokens, 0).unwrap();
    let states: Vec<&[f32]> = embedded.iter().map(Vec::as_slice).collect();
    let unmerged = upper
        .forward(&states, None)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    let from_f32 = merged_f32.embed(&texts).unwrap();
    let from_int8 = merged_int8.embed(&texts).unwrap();
    let before = plain.embed(&texts).unwrap();
    for i in 0..texts.len() {
        let exact = common::cosine(&unmerged[i], &from_f32[i]);
        assert!(
            exact > 0.99999,
            "text {i}: merged f32 vs unmerged cosine {exact}"
        );
        let served = common::cosine(&unmerged[i], &from_int8[i]);
        assert!(
            served > 0.999,
            "text {i}: merged int8 vs unmerged cosine {served}"
        );
        let moved = common::cosine(&unmerged[i], &before[i]);
        assert!(
            moved < 0.999,
            "text {i}: the adapters should change the vector (cosine {moved})"
        );
    }
}

fn tiny_config(data: PathBuf, out: &Path, checkpoints: &Path) -> TuneConfig {
    TuneConfig {
        data: vec![data],
        out_dir: out.to_path_buf(),
        checkpoint_dir: checkpoints.to_path_buf(),
        resume: false,
        max_per_source: 10_000,
        max_calib_per_source: 10_000,
        brand_repeat: 1,
        max_train_tokens: 48,
        layers: 1,
        rank: 4,
        alpha: 8.0,
        dropout: 0.1,
        epochs: 3,
        batch_size: 16,
        lr_adapters: 2e-3,
        lr_heads: 5e-3,
        warmup: 0.1,
        clip: 1.0,
        weight_decay: 0.01,
        hidden: 32,
        corpus_label_weight: 0.5,
        seed: 5,
        threads: 0,
        cpu_tier: tact::model::CpuTier::detect(),
        checkpoint_minutes: 60.0,
        head_epochs: 5,
        stop_after: None,
        command: "test".into(),
    }
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

#[test]
fn a_tiny_tune_lowers_the_loss_and_resuming_gives_the_same_models() {
    let tmp = tempfile::tempdir().unwrap();
    let data = common::brand_sample_file("en", 160, tmp.path());
    let (out_a, out_b) = (tmp.path().join("a"), tmp.path().join("b"));
    let whole = tiny_config(data.clone(), &out_a, &tmp.path().join("ck-a"));
    let summary = tact::tune::run(common::files(), &whole).unwrap();
    let l = &summary.epoch_losses;
    assert_eq!(l.len(), 3);
    assert!(l[2] < l[0], "calibration loss should fall: {l:?}");

    // The same run, stopped after 5 steps and resumed (as after kill -9: a new process
    // reading the checkpoint).
    let ck = tmp.path().join("ck-b");
    let stopped = TuneConfig {
        stop_after: Some(5),
        ..tiny_config(data.clone(), &out_b, &ck)
    };
    assert_eq!(
        tact::tune::run(common::files(), &stopped)
            .unwrap()
            .stopped_at,
        Some(5)
    );
    assert!(!out_b.join("adapters.safetensors").exists());
    let resumed = TuneConfig {
        resume: true,
        ..tiny_config(data, &out_b, &ck)
    };
    let done = tact::tune::run(common::files(), &resumed).unwrap();
    assert!(done.stopped_at.is_none());
    assert_eq!(done.epoch_losses, summary.epoch_losses);
    for name in ["adapters.safetensors", "heads.safetensors"] {
        assert!(
            read(&out_a, name) == read(&out_b, name),
            "{name} differs after resuming"
        );
    }

    // What it wrote serves: the heads' card names the adapters, and the classifier merges them.
    let card: serde_json::Value = serde_json::from_slice(&read(&out_a, "heads.json")).unwrap();
    assert_eq!(card["adapters"]["layers"], serde_json::json!([11]));
    let tuned = Classifier::load(&ModelConfig {
        heads_dir: Some(out_a.clone()),
        ..common::config()
    })
    .unwrap();
    assert!(tuned.heads.adapters.is_some());
    let scores = tuned
        .classify(&["Order 5531 still hasn't shipped, can you check?"], 8)
        .unwrap();
    assert!(
        scores[0].scores.labels.is_some(),
        "the tuned heads score the corpus labels"
    );

    // A card that names adapters the directory lacks fails, naming the file.
    std::fs::remove_file(out_a.join("adapters.safetensors")).unwrap();
    let err = Classifier::load(&ModelConfig {
        heads_dir: Some(out_a.clone()),
        ..common::config()
    })
    .err()
    .expect("missing adapters must fail")
    .to_string();
    assert!(err.contains("adapters.safetensors"), "{err}");
    // Without adapters in the card the directory still serves: the plain encoder.
    let mut plain: serde_json::Value = card.clone();
    plain.as_object_mut().unwrap().remove("adapters");
    std::fs::write(out_a.join("heads.json"), plain.to_string()).unwrap();
    let c = Classifier::load(&ModelConfig {
        heads_dir: Some(out_a),
        ..common::config()
    })
    .unwrap();
    assert!(c.heads.adapters.is_none());
}

#[test]
fn bad_settings_are_refused_before_any_work() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tiny_config(tmp.path().join("none.jsonl"), tmp.path(), tmp.path());
    // Under a regular file no folder can be made, whoever runs the test (root too).
    std::fs::write(tmp.path().join("file"), "x").unwrap();
    let unwritable_out = tmp.path().join("file/models");
    let cases: Vec<(TuneConfig, &str)> = vec![
        (
            TuneConfig {
                lr_adapters: f64::NAN,
                ..base.clone()
            },
            "--lr-adapters",
        ),
        (
            TuneConfig {
                lr_heads: 1e6,
                ..base.clone()
            },
            "--lr-heads",
        ),
        (
            TuneConfig {
                dropout: 1.0,
                ..base.clone()
            },
            "--dropout",
        ),
        (
            TuneConfig {
                rank: 0,
                ..base.clone()
            },
            "--rank",
        ),
        (
            TuneConfig {
                lr_adapters: 1.5,
                ..base.clone()
            },
            "--lr-adapters must be a finite number in (0, 1]",
        ),
        (
            TuneConfig {
                weight_decay: f64::NAN,
                ..base.clone()
            },
            "--weight-decay must be a finite number ≥ 0, got NaN",
        ),
        (
            TuneConfig {
                layers: 13,
                ..base.clone()
            },
            "--layers 13",
        ),
        (
            TuneConfig {
                out_dir: unwritable_out.clone(),
                ..base.clone()
            },
            "--out",
        ),
    ];
    for (cfg, flag) in cases {
        let data = common::brand_sample_file("en", 160, tmp.path());
        let err = tact::tune::run(
            common::files(),
            &TuneConfig {
                data: vec![data],
                ..cfg
            },
        )
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains(flag), "{flag}: {err}");
    }
}
