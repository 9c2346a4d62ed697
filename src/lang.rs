//! Language of a comment when the caller does not give one: lingua restricted to the four
//! languages tact works in (so a Bulgarian sentence is never called Macedonian), which is
//! accurate on short, informal text. Text it cannot place (emoji only, a bare link) is read as
//! English, the fallback language of the reply templates.

use crate::labels::Lang;
use lingua::{Language, LanguageDetector, LanguageDetectorBuilder};
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

pub fn detect(text: &str) -> Lang {
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
    fn text_without_language_falls_back_to_english() {
        assert_eq!(detect("👍👍"), Lang::En);
    }
}
