//! Language of a comment when the caller does not give one: whatlang restricted to the four
//! languages tact works in, so a Bulgarian sentence is never called Macedonian. Text too short
//! or too mixed to tell falls back to the script: Cyrillic → Russian, Latin → English (the
//! more common reading of an ambiguous short comment on these pages).

use crate::labels::Lang;
use whatlang::{Detector, Lang as W, Script};

pub fn detect(text: &str) -> Lang {
    let detector = Detector::with_allowlist(vec![W::Ron, W::Bul, W::Rus, W::Eng]);
    if let Some(info) = detector.detect(text) {
        return match info.lang() {
            W::Ron => Lang::Ro,
            W::Bul => Lang::Bg,
            W::Rus => Lang::Ru,
            _ => Lang::En,
        };
    }
    match whatlang::detect_script(text) {
        Some(Script::Cyrillic) => Lang::Ru,
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
    fn falls_back_on_script() {
        assert_eq!(detect("👍👍"), Lang::En);
    }
}
