//! Keyword matching, the grammar of the policy's keyword lists: keywords match whole words,
//! ignoring case and diacritics (`comandă` = `comanda`, `ş`/`ș` = `s`, `ё` = `е`); a word
//! ending in `*` matches any word it begins (`livr*` → `livrare`, `livrați`); a keyword of
//! several words matches them in a row.

use super::policy_schema::PerLang;
use crate::labels::Lang;
use std::fmt;

/// Lowercases and strips the diacritics that vary in practice: Romanian comments are often
/// typed without them or with cedillas, Russian ones with `е` for `ё`.
fn fold(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase().map(|c| match c {
        'ă' | 'â' => 'a',
        'î' => 'i',
        'ș' | 'ş' => 's',
        'ț' | 'ţ' => 't',
        'ё' => 'е',
        other => other,
    })
}

/// The folded words of a text: runs of letters and digits.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.chars().flat_map(fold).collect())
        .collect()
}

/// One word of a keyword.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    text: String,
    prefix: bool,
}

impl Pattern {
    fn matches(&self, word: &str) -> bool {
        if self.prefix {
            word.starts_with(&self.text)
        } else {
            word == self.text
        }
    }
}

/// A keyword of the policy, compiled for matching.
#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    source: String,
    patterns: Vec<Pattern>,
}

impl Keyword {
    /// Compiles a keyword as written in the policy; `None` when it has nothing to match.
    pub fn parse(source: &str) -> Option<Keyword> {
        let mut patterns = Vec::new();
        for piece in source.split_whitespace() {
            let prefix = piece.ends_with('*');
            let mut parts = words(piece.trim_end_matches('*'))
                .into_iter()
                .map(|text| Pattern {
                    text,
                    prefix: false,
                })
                .collect::<Vec<_>>();
            if let Some(last) = parts.last_mut() {
                last.prefix = prefix;
            }
            patterns.extend(parts);
        }
        (!patterns.is_empty()).then(|| Keyword {
            source: source.to_string(),
            patterns,
        })
    }

    fn found_in(&self, words: &[String]) -> bool {
        words.windows(self.patterns.len()).any(|window| {
            window
                .iter()
                .zip(&self.patterns)
                .all(|(word, pattern)| pattern.matches(word))
        })
    }
}

/// A keyword that occurred in a comment, and the language list it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct KeywordMatch {
    pub keyword: String,
    pub lang: Lang,
}

impl fmt::Display for KeywordMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\" ({})", self.keyword, self.lang)
    }
}

/// One keyword list of the policy, compiled per language.
#[derive(Debug, Clone)]
pub struct KeywordList {
    /// Indexed like [`Lang::ALL`].
    by_lang: Vec<Vec<Keyword>>,
}

impl KeywordList {
    /// Compiles a validated list (keywords without words were rejected by validation).
    pub fn compile(list: &PerLang) -> Self {
        KeywordList {
            by_lang: Lang::ALL
                .iter()
                .map(|&lang| {
                    list.get(lang)
                        .iter()
                        .filter_map(|k| Keyword::parse(k))
                        .collect()
                })
                .collect(),
        }
    }

    /// The first keyword of the comment's language, or else of English, found in `words`.
    /// English is searched too because brand and shopping words ("order", "refund") are
    /// often written in English in every language; the other lists are not, because a word
    /// of one language can be an everyday word of another (Russian transliterated `sud`,
    /// "court", is Romanian for "south").
    pub fn find(&self, lang: Lang, words: &[String]) -> Option<KeywordMatch> {
        let english = (lang != Lang::En).then_some(Lang::En);
        std::iter::once(lang).chain(english).find_map(|lang| {
            self.by_lang[lang.index()]
                .iter()
                .find(|k| k.found_in(words))
                .map(|k| KeywordMatch {
                    keyword: k.source.clone(),
                    lang,
                })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(lang: Lang, keywords: &[&str]) -> KeywordList {
        let mut per_lang = PerLang::default();
        *per_lang.get_mut(lang) = keywords.iter().map(|k| k.to_string()).collect();
        KeywordList::compile(&per_lang)
    }

    fn found(list: &KeywordList, lang: Lang, text: &str) -> Option<String> {
        list.find(lang, &words(text)).map(|m| m.keyword)
    }

    #[test]
    fn keywords_ignore_case_and_romanian_diacritics() {
        let ro = list(Lang::Ro, &["comandă", "protecția consumatorului"]);
        assert_eq!(
            found(&ro, Lang::Ro, "Unde e COMANDA mea?"),
            Some("comandă".into())
        );
        assert_eq!(
            found(&ro, Lang::Ro, "merg la Protectia Consumatorului"),
            Some("protecția consumatorului".into())
        );
        // Cedilla forms, as typed on older keyboards.
        assert_eq!(
            found(&ro, Lang::Ro, "protecţia consumatorului"),
            Some("protecția consumatorului".into())
        );
    }

    #[test]
    fn whole_words_unless_star() {
        let en = list(Lang::En, &["court", "track*"]);
        assert_eq!(found(&en, Lang::En, "thanks for the courtesy"), None);
        assert_eq!(
            found(&en, Lang::En, "see you in court!"),
            Some("court".into())
        );
        assert_eq!(
            found(&en, Lang::En, "tracking number?"),
            Some("track*".into())
        );
    }

    #[test]
    fn words_in_a_row_and_yo_folding() {
        let ru = list(Lang::Ru, &["когда придёт", "i'll sue"]);
        assert!(found(&ru, Lang::Ru, "Когда придет заказ?").is_some());
        assert!(found(&ru, Lang::Ru, "придет когда").is_none());
        assert!(found(&ru, Lang::Ru, "I'll SUE you").is_some());
    }

    #[test]
    fn english_list_applies_to_every_language_but_not_the_reverse() {
        let per_lang = PerLang {
            en: vec!["refund".into()],
            ru: vec!["sud".into()],
            ..PerLang::default()
        };
        let lists = KeywordList::compile(&per_lang);
        let hit = lists.find(Lang::Bg, &words("искам refund")).unwrap();
        assert_eq!((hit.keyword.as_str(), hit.lang), ("refund", Lang::En));
        assert!(found(&lists, Lang::Ro, "livrați în sud?").is_none());
        assert!(found(&lists, Lang::Ru, "podam v sud").is_some());
    }

    #[test]
    fn keyword_without_letters_does_not_compile() {
        assert!(Keyword::parse("!!").is_none());
        assert!(Keyword::parse(" * ").is_none());
        assert!(Keyword::parse("ОЗПП").is_some());
    }
}
