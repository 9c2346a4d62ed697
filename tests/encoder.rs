//! The real encoder against an independent implementation (tools/reference_encoder.py, a
//! float64 numpy forward pass), plus the properties batching and pooling must keep.

mod common;

use common::{cosine, encoder};
use serde::Deserialize;
use tact::model::WeightFormat;

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
fn padding_changes_nothing() {
    let enc = encoder(WeightFormat::F32);
    let refs = fixture().sentences;
    let texts: Vec<&str> = refs.iter().map(|r| r.text.as_str()).collect();
    let batched = enc.embed(&texts).unwrap();
    for (t, b) in texts.iter().zip(&batched) {
        let alone = enc.embed(&[t]).unwrap().remove(0);
        let c = cosine(&alone, b);
        assert!(c > 0.99999, "batched vs alone cosine {c} for {t:?}");
    }
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
