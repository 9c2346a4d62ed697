//! The real encoder against an independent implementation (tools/reference_encoder.py, a
//! float64 numpy forward pass), plus the properties batching and pooling must keep.

mod common;

use common::{cosine, encoder};
use serde::Deserialize;
use tact::model::{CpuTier, Encoder, WeightFormat};

#[derive(Deserialize)]
struct Fixture {
    sentences: Vec<Reference>,
}

#[derive(Deserialize)]
struct Reference {
    lang: String,
    text: String,
    token_ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/reference_embeddings.json")).unwrap()
}

fn check_against_reference(format: WeightFormat, min_cosine: f32) {
    let enc = encoder(format);
    let refs = fixture().sentences;
    assert!(refs.len() >= 8);
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let got = enc.embed(&texts).unwrap();
    for (r, v) in refs.iter().zip(&got) {
        assert_eq!(
            enc.tokenize(&r.text).unwrap().ids,
            r.token_ids,
            "tokens of {:?}",
            r.text
        );
        let c = cosine(v, &r.embedding);
        assert!(
            c >= min_cosine,
            "{format:?} {} cosine {c} < {min_cosine}: {}",
            r.lang,
            r.text
        );
    }
}

#[test]
fn f32_weights_match_the_reference() {
    check_against_reference(WeightFormat::F32, 0.999);
}

#[test]
fn int8_kernels_stay_close_to_the_reference() {
    check_against_reference(WeightFormat::Int8, 0.99);
}

#[test]
fn q4_matmul_stays_close_to_the_reference() {
    check_against_reference(WeightFormat::Q4, 0.99);
}

#[test]
fn batching_changes_nothing() {
    for format in [WeightFormat::F32, WeightFormat::Int8] {
        let enc = encoder(format);
        let refs = fixture().sentences;
        let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
        let batched = enc.embed(&texts).unwrap();
        for (t, b) in texts.iter().zip(&batched) {
            let alone = enc.embed(&[t]).unwrap().remove(0);
            let c = cosine(&alone, b);
            assert!(
                c > 0.99999,
                "{format}: batched vs alone cosine {c} for {t:?}"
            );
        }
    }
}

/// Every 8th comment of the brand set (all four languages, emoji, typos, Latin-script
/// Cyrillic), plus one text long enough to be cut.
fn brand_sample() -> Vec<String> {
    let mut texts = Vec::new();
    for lang in ["ro", "bg", "ru", "en"] {
        let path = format!("{}/datasets/brand/{lang}.jsonl", env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read_to_string(&path).unwrap();
        for line in data.lines().step_by(8) {
            let record: serde_json::Value = serde_json::from_str(line).unwrap();
            texts.push(record["text"].as_str().unwrap().to_string());
        }
    }
    texts.push("Am comandat un telefon și a venit cu ecranul spart. ".repeat(60));
    texts
}

#[test]
fn int8_vectors_follow_the_f32_encoder_on_brand_comments() {
    let texts = brand_sample();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    assert!(texts.len() > 200);
    let (fast, reference) = (encoder(WeightFormat::Int8), encoder(WeightFormat::F32));
    let mut worst = (1.0f32, "");
    for chunk in texts.chunks(32) {
        let (got, want) = (fast.embed(chunk).unwrap(), reference.embed(chunk).unwrap());
        for ((g, w), t) in got.iter().zip(&want).zip(chunk) {
            let c = cosine(g, w);
            if c < worst.0 {
                worst = (c, t);
            }
        }
    }
    assert!(worst.0 >= 0.99, "cosine {} for {:?}", worst.0, worst.1);
}

/// Loads the int8 encoder on `tier`'s kernels and `threads` threads.
fn load_int8(tier: CpuTier, threads: usize) -> Result<Encoder, tact::model::ModelError> {
    let f = common::files();
    let config = tact::model::EncoderConfig {
        format: WeightFormat::Int8,
        max_tokens: 512,
        threads,
        cpu_tier: tier,
        adapters: None,
    };
    Encoder::load(&f.weights, &f.tokenizer, &config)
}

/// The int8 encoder on `tier`'s kernels, or `None` (said on stderr) where this CPU lacks them.
fn int8_on(tier: CpuTier) -> Option<Encoder> {
    if !tier.is_available() {
        eprintln!("SKIPPED: this CPU cannot run the {tier} kernels, so they are not tested");
        return None;
    }
    Some(load_int8(tier, 0).unwrap())
}

#[test]
fn every_simd_tier_follows_the_f32_encoder_on_brand_comments() {
    let texts = brand_sample();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let reference = encoder(WeightFormat::F32);
    let want: Vec<Vec<f32>> = texts
        .chunks(32)
        .flat_map(|chunk| reference.embed(chunk).unwrap())
        .collect();
    for tier in [CpuTier::Avx512Vnni, CpuTier::AvxVnni, CpuTier::Avx2] {
        let Some(fast) = int8_on(tier) else { continue };
        assert_eq!(fast.cpu_tier(), Some(tier));
        let got = texts
            .chunks(32)
            .flat_map(|chunk| fast.embed(chunk).unwrap());
        let (worst, text) = got
            .zip(&want)
            .zip(&texts)
            .map(|((g, w), t)| (cosine(&g, w), t))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap();
        eprintln!(
            "{tier}: min cosine to f32 {worst:.5} over {} texts",
            texts.len()
        );
        assert!(worst >= 0.999, "{tier}: cosine {worst} for {text:?}");
    }
}

#[test]
fn the_eight_bit_tiers_give_the_same_vectors_bit_for_bit() {
    // Same 8-bit activations, exact integer sums, f32 steps in the same order: the AVX-512,
    // AVX-VNNI and plain kernels must agree to the bit (AVX2 quantises to 0..=254, so differs).
    let texts: Vec<String> = fixture().sentences.into_iter().map(|r| r.text).collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    let plain = int8_on(CpuTier::Plain).unwrap().embed(&texts).unwrap();
    for tier in [CpuTier::Avx512Vnni, CpuTier::AvxVnni] {
        if let Some(fast) = int8_on(tier) {
            assert_eq!(fast.embed(&texts).unwrap(), plain, "{tier} vs plain");
        }
    }
}

#[test]
fn a_tier_this_cpu_lacks_is_refused_at_load() {
    let Some(missing) = CpuTier::ALL.into_iter().find(|t| !t.is_available()) else {
        eprintln!("SKIPPED: this CPU has every tier, so none can be refused");
        return;
    };
    let err = load_int8(missing, 0).err().unwrap();
    assert!(err.to_string().contains("cannot run"), "{err}");
}

#[test]
fn int8_gives_the_same_vectors_on_any_thread_count() {
    let one = load_int8(CpuTier::detect(), 1).unwrap();
    assert_eq!(one.threads(), 1);
    let texts = brand_sample();
    let texts: Vec<&str> = texts.iter().take(40).map(String::as_str).collect();
    let pooled = encoder(WeightFormat::Int8).embed(&texts).unwrap();
    assert_eq!(
        one.embed(&texts).unwrap(),
        pooled,
        "1 thread vs the default pool"
    );
}

#[test]
fn paraphrases_are_closer_than_unrelated_text() {
    let enc = encoder(WeightFormat::F32);
    let paraphrases = [
        "Comanda mea nu a ajuns nici după două săptămâni.",
        "Поръчката ми не е пристигнала и след две седмици.",
        "Мой заказ так и не пришёл спустя две недели.",
        "My order still hasn't arrived after two weeks.",
    ];
    let unrelated = "The weather in the mountains is lovely this spring.";
    let mut all: Vec<&str> = paraphrases.to_vec();
    all.push(unrelated);
    let v = enc.embed(&all).unwrap();
    for i in 0..4 {
        let to_unrelated = cosine(&v[i], &v[4]);
        for j in 0..4 {
            if i != j {
                let c = cosine(&v[i], &v[j]);
                assert!(
                    c > to_unrelated,
                    "{} ~ {}: {c} <= {to_unrelated}",
                    all[i],
                    all[j]
                );
            }
        }
    }
}

#[test]
fn long_text_is_truncated_and_says_so() {
    let enc = encoder(WeightFormat::F32);
    let long = "foarte ".repeat(5000);
    let t = enc.tokenize(&long).unwrap();
    assert_eq!(t.ids.len(), enc.max_tokens());
    assert!(t.truncated);
    assert_eq!(*t.ids.last().unwrap(), 2, "ends with </s>");
    assert!(!enc.tokenize("scurt").unwrap().truncated);
    assert_eq!(enc.embed(&[&long]).unwrap()[0].len(), 384);
}

#[test]
fn a_long_text_is_read_head_and_tail_so_its_last_paragraph_counts() {
    let enc = encoder(WeightFormat::F32);
    let ending = "the blender I got yesterday leaks, I want a refund";
    let text = format!(
        "Some background. {} {ending}",
        "We liked the shop. ".repeat(200)
    );
    let t = enc.tokenize(&text).unwrap();
    let cut = t.cut.expect("cut");
    assert_eq!(t.ids.len(), enc.max_tokens());
    let max = enc.max_tokens();
    assert_eq!((cut.head, cut.tail), (max / 4, max - max / 4));
    assert!(cut.total > 800, "{}", cut.total);
    // The tail's tokens are the ending's, as tokenised on its own (after the shared prefix).
    // The tokens every text starts with: `<s>` and the `query: ` prefix.
    let (a, b) = (
        enc.tokenize("a").unwrap().ids,
        enc.tokenize("b").unwrap().ids,
    );
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let alone = enc.tokenize(ending).unwrap().ids;
    let ending_ids = &alone[prefix..];
    assert!(
        t.ids.ends_with(ending_ids),
        "the last tokens are not the ending's"
    );
    // The head keeps the opening and the special start token.
    assert_eq!(t.ids[..prefix], alone[..prefix]);
    // A megabyte without spaces costs a bounded tokenisation and still keeps both ends.
    let huge = format!("{} {ending}", "x".repeat(1 << 20));
    let t = enc.tokenize(&huge).unwrap();
    assert!(t.truncated && t.ids.ends_with(ending_ids));
}

#[test]
fn middle_layers_come_from_the_same_pass_on_both_engines() {
    let texts = [
        "The parcel never came and nobody answers the phone.",
        "Thanks, all sorted now!",
        "Ați greșit comanda, din nou.",
    ];
    let (fast, reference) = (encoder(WeightFormat::Int8), encoder(WeightFormat::F32));
    let mut middles = Vec::new();
    for enc in [fast, reference] {
        let h = enc.hidden_size();
        let tokens: Vec<_> = texts.iter().map(|t| enc.tokenize(t).unwrap()).collect();
        let read = enc.embed_tokens_at(&tokens, &[4, 12]).unwrap();
        let whole = enc.embed_tokens(&tokens).unwrap();
        for (r, w) in read.iter().zip(&whole) {
            assert_eq!(r.len(), 2 * h);
            // The last layer's block is the sentence embedding itself, not a second pass.
            assert_eq!(&r[h..], &w[..]);
            let norm: f32 = r[..h].iter().map(|v| v * v).sum::<f32>().sqrt();
            assert!((norm - 1.0).abs() < 1e-4, "a unit mean: {norm}");
            assert!(cosine(&r[..h], w) < 0.99, "layer 4 is not the last layer");
        }
        middles.push(read);
        for bad in [0, 13] {
            let e = enc
                .embed_tokens_at(&tokens, &[bad])
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("layer {bad} is not in 1..=12")), "{e}");
        }
    }
    for (int8, f32) in middles[0].iter().zip(&middles[1]) {
        let h = int8.len() / 2;
        let c = cosine(&int8[..h], &f32[..h]);
        assert!(c > 0.99, "layer 4, int8 against f32: cosine {c}");
    }
}
