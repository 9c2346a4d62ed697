//! Language of a comment when the caller does not give one.
//!
//! Cyrillic text and Latin text go different ways. lingua, restricted to the four languages
//! tact works in (so a Bulgarian sentence is never called Macedonian), is accurate on short,
//! informal text in its own script — but it cannot know that `kogda pridet moj zakaz` is
//! Russian or `blagodarq mnogo` Bulgarian: Bulgarians and Russians often type in Latin letters
//! ("shlyokavitsa", translit), and lingua's Latin-script models call that Romanian or English.
//! So Latin text (without Romanian diacritics, which settle it) is scored by a character
//! n-gram model of the four languages *as typed in Latin letters* (`models/langid.tsv`, built
//! by `tools/langid_table.py` from the train split of the corpora, Bulgarian and Russian
//! transliterated with the schemes people use); on the project's labelled comments (test
//! split) it places Latin-script Romanian better than lingua (0.993 against 0.979) and English
//! a little worse (0.990 against 0.998), so one model serves all Latin text. Text tact cannot place (emoji
//! only, a bare link) is read as English, the fallback language of the replies.

use crate::labels::Lang;
use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
use std::collections::HashMap;
use std::sync::OnceLock;

fn detector() -> &'static LanguageDetector {
    static DETECTOR: OnceLock<LanguageDetector> = OnceLock::new();
    DETECTOR.get_or_init(|| {
        LanguageDetectorBuilder::from_languages(&[
            Language::Romanian,
            Language::Bulgarian,
            Language::Russian,
            Language::English,
        ])
        .build()
    })
}

/// The n-gram table: per n-gram, its log-probability in each language (order of [`LATIN`]),
/// and per order the log-probability of an n-gram a language never showed.
struct NgramModel {
    logp: HashMap<String, [f32; 4]>,
    unseen: [[f32; 4]; 4],
}

/// The languages of the n-gram table, in its column order.
const LATIN: [Lang; 4] = [Lang::Ro, Lang::Bg, Lang::Ru, Lang::En];
const MAX_ORDER: usize = 4;
const TABLE: &str = include_str!("../models/langid.tsv");

fn model() -> &'static NgramModel {
    static MODEL: OnceLock<NgramModel> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut model = NgramModel {
            logp: HashMap::new(),
            unseen: [[0.0; 4]; MAX_ORDER],
        };
        let column = |lang: &str| LATIN.iter().position(|l| l.as_str() == lang);
        let mut rows = Vec::new();
        for line in TABLE.lines().filter(|l| !l.starts_with('#')) {
            let mut fields = line.split('\t');
            let (Some(lang), Some(gram), Some(lp)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let (Some(col), Ok(lp)) = (column(lang), lp.parse::<f32>()) else {
                continue;
            };
            match gram
                .strip_prefix("#unseen")
                .and_then(|n| n.parse::<usize>().ok())
            {
                Some(n) if (1..=MAX_ORDER).contains(&n) => model.unseen[n - 1][col] = lp,
                _ => rows.push((gram.to_string(), col, lp)),
            }
        }
        for (gram, col, lp) in rows {
            let order = gram.chars().count();
            let unseen = model.unseen[order - 1];
            model.logp.entry(gram).or_insert(unseen)[col] = lp;
        }
        model
    })
}

/// The text as the table was built from it: lowercase, anything but letters, digits and
/// apostrophes one space, links and @mentions dropped.
fn normalise(text: &str) -> String {
    let kept: Vec<&str> = text
        .split_whitespace()
        .filter(|w| {
            !(w.starts_with("http")
                || w.starts_with("www.")
                || w.starts_with('@')
                || w.starts_with('#'))
        })
        .collect();
    let lower = kept.join(" ").to_lowercase();
    let spaced: String = lower
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '\'' {
                c
            } else {
                ' '
            }
        })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The most likely of the four languages for a Latin-script text; `None` without letters.
fn latin_language(text: &str) -> Option<Lang> {
    let model = model();
    let normalised = normalise(text);
    let padded: Vec<char> = format!(" {normalised} ").chars().collect();
    if !padded.iter().any(|c| c.is_alphabetic()) {
        return None;
    }
    let mut score = [0.0f32; 4];
    let mut gram = String::new();
    for n in 1..=MAX_ORDER {
        for window in padded.windows(n) {
            gram.clear();
            gram.extend(window);
            let logp = model
                .logp
                .get(gram.as_str())
                .unwrap_or(&model.unseen[n - 1]);
            for (s, lp) in score.iter_mut().zip(logp) {
                *s += lp;
            }
        }
    }
    let best = (0..4).max_by(|&a, &b| score[a].total_cmp(&score[b]))?;
    Some(LATIN[best])
}

/// Whether the text has Romanian letters with diacritics (then it is not translit).
fn romanian_letters(text: &str) -> bool {
    text.chars().any(|c| {
        matches!(
            c,
            'ă' | 'â' | 'î' | 'ș' | 'ş' | 'ț' | 'ţ' | 'Ă' | 'Â' | 'Î' | 'Ș' | 'Ş' | 'Ț' | 'Ţ'
        )
    })
}

/// Characters of a comment that language detection reads: its opening tells the language, and
/// lingua's cost grows with the square of a word's length, so a megabyte-long comment must not
/// reach it whole.
const DETECTION_WINDOW: usize = 1000;

/// The opening `DETECTION_WINDOW` characters of `text`.
fn window(text: &str) -> &str {
    match text.char_indices().nth(DETECTION_WINDOW) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

pub fn detect(text: &str) -> Lang {
    let text = window(text);
    let cyrillic = text.chars().any(|c| ('\u{0400}'..='\u{04FF}').contains(&c));
    if !cyrillic && !romanian_letters(text) {
        if let Some(lang) = latin_language(text) {
            return lang;
        }
    }
    match detector().detect_language_of(text) {
        Some(Language::Romanian) => Lang::Ro,
        Some(Language::Bulgarian) => Lang::Bg,
        Some(Language::Russian) => Lang::Ru,
        _ => Lang::En,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_four_languages() {
        assert_eq!(
            detect("Bună ziua, când ajunge comanda mea? Aștept de o săptămână."),
            Lang::Ro
        );
        assert_eq!(detect("comanda nu a venit nici azi"), Lang::Ro);
        assert_eq!(
            detect("Здравейте, кога ще пристигне поръчката ми? Чакам вече седмица."),
            Lang::Bg
        );
        assert_eq!(
            detect("Здравствуйте, когда придёт мой заказ? Жду уже неделю."),
            Lang::Ru
        );
        assert_eq!(
            detect("Hello, when will my order arrive? I have been waiting a week."),
            Lang::En
        );
    }

    #[test]
    fn transliterated_bulgarian_and_russian_are_recognised() {
        for text in [
            "blagodarq mnogo",
            "kade mi e poruchkata, chakam ve4e sedmica",
            "6te vi sadq",
            "Kupih si telefon ot vas i ne raboti",
        ] {
            assert_eq!(detect(text), Lang::Bg, "{text}");
        }
        for text in [
            "kogda pridet moj zakaz",
            "spasibo bolshoe",
            "uzhe nedelyu zhdu",
            "vy voobshe rabotaete?",
        ] {
            assert_eq!(detect(text), Lang::Ru, "{text}");
        }
    }

    #[test]
    fn romanian_and_english_in_latin_letters_stay_what_they_are() {
        for (text, lang) in [
            ("mersi mult, ati fost super", Lang::Ro),
            ("nu merge aplicatia de ieri", Lang::Ro),
            ("da sau nu?", Lang::Ro),
            ("wheres my order, still nothing", Lang::En),
            ("ya right, thanks for nothing", Lang::En),
        ] {
            assert_eq!(detect(text), lang, "{text}");
        }
    }

    #[test]
    fn detection_reads_a_bounded_opening_of_any_text() {
        let word = "ы".repeat(1 << 20);
        assert_eq!(window(&word).chars().count(), DETECTION_WINDOW);
        assert_eq!(window("scurt"), "scurt");
        // A megabyte without spaces is still placed, from its opening.
        let long = format!(
            "Здравствуйте, когда придёт мой заказ? {}",
            "а".repeat(1 << 20)
        );
        assert_eq!(detect(&long), Lang::Ru);
    }

    #[test]
    fn text_without_language_falls_back_to_english() {
        assert_eq!(detect("👍👍"), Lang::En);
    }
}
