//! Work bound per comment: times each step one hostile comment goes through (language
//! detection and tokenising, the forward pass of what the token limit keeps, the playbook's
//! signals and decision) on inputs built to be expensive — megabyte-long words, digit runs,
//! emoji, repeated markers — and fails when any step goes over its budget. Usage:
//!
//!     cargo bench --bench hostile_input

use std::time::{Duration, Instant};
use tact::classify::{Classifier, ModelConfig, DEFAULT_MAX_TOKENS};
use tact::comment::Comment;
use tact::model::{fetch, WeightFormat};
use tact::pipeline::Pipeline;
use tact::playbook::{Playbook, Policy};

/// A body may be 4 MiB (`--max-body-bytes`): one comment that big is the worst case.
const SIZE: usize = 4 * 1024 * 1024;

/// What one comment may cost in each step, however it is built: well above what a normal
/// comment costs (microseconds), far below what would let one request hold a core.
const BUDGET: Duration = Duration::from_millis(100);

fn hostile_inputs() -> Vec<(&'static str, String)> {
    let repeat = |unit: &str| unit.repeat(SIZE / unit.len());
    vec![
        ("one word, Latin", repeat("a")),
        ("one word, Cyrillic", repeat("ж")),
        ("one word, Romanian diacritics", repeat("ăîșț")),
        ("digits", repeat("7")),
        ("digits and spaces", repeat("4 ")),
        ("digits and dashes", repeat("0-")),
        ("emoji", repeat("😡")),
        ("at signs", repeat("@")),
        ("e-mail-like", repeat("a@b.")),
        ("plus signs", repeat("+")),
        ("words", repeat("order refund money ")),
        ("url-like", repeat("http://x.")),
        ("newlines", repeat("\n")),
        ("combining marks", repeat("a\u{301}\u{302}\u{303}")),
    ]
}

fn main() {
    let config = ModelConfig {
        model_dir: std::env::var_os("TACT_MODEL_DIR")
            .map(Into::into)
            .unwrap_or_else(fetch::default_model_dir),
        heads_dir: None,
        weight_format: WeightFormat::best_for_this_cpu(),
        cpu_tier: tact::model::CpuTier::detect(),
        max_tokens: DEFAULT_MAX_TOKENS,
        threads: 0,
    };
    let classifier = Classifier::load(&config).expect("the model loads");
    let pipeline =
        Pipeline::new(classifier, Playbook::new(Policy::default_policy())).expect("the pipeline");
    println!(
        "| input ({} MiB) | prepare ms | infer ms | decide ms |",
        SIZE >> 20
    );
    println!("|---|---|---|---|");
    let mut over = Vec::new();
    for (name, text) in hostile_inputs() {
        let comment = Comment {
            text,
            ..Comment::default()
        };
        let started = Instant::now();
        let prepared = pipeline.prepare(comment).expect("prepared");
        let prepare = started.elapsed();
        let started = Instant::now();
        let classified = pipeline.infer(&[&prepared]).expect("inferred");
        let infer = started.elapsed();
        let started = Instant::now();
        let decided = pipeline.decide(&prepared, &classified[0]);
        let decide = started.elapsed();
        std::hint::black_box(decided);
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} |",
            ms(prepare),
            ms(infer),
            ms(decide)
        );
        for (step, took) in [("prepare", prepare), ("infer", infer), ("decide", decide)] {
            if took > BUDGET {
                over.push(format!("{name}: {step} took {:.0} ms", ms(took)));
            }
        }
    }
    if !over.is_empty() {
        eprintln!("over the {} ms budget:", BUDGET.as_millis());
        for line in &over {
            eprintln!("  {line}");
        }
        std::process::exit(1);
    }
    println!("every step within {} ms per comment", BUDGET.as_millis());
}
