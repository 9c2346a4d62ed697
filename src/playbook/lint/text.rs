//! The reply as the linter reads it: words folded for matching (case, Romanian diacritics and
//! cedillas, `ё`; Bulgarian and Russian reduced to one Latin skeleton so that Cyrillic phrases
//! match replies typed in Latin letters), each word with its place in the reply in Unicode
//! characters, and sentences; and the phrase grammar of the policy's `[lint]` lists.
//!
//! Phrase grammar (a superset of the keyword lists'): words match whole words; `word*` matches
//! any word it begins; `#` matches a number; `_` matches any one word; `..` lets up to four
//! words pass between the words on either side.

use crate::labels::Lang;
use std::ops::Range;

/// One word of a reply: its folded form and where it is, in characters.
#[derive(Debug, Clone)]
pub struct Word {
    pub folded: String,
    pub chars: Range<usize>,
}

/// A reply split for matching.
#[derive(Debug, Clone)]
pub struct Text {
    pub words: Vec<Word>,
    /// Sentences as character ranges, in order, covering every word.
    pub sentences: Vec<Range<usize>>,
    /// The reply's characters, for spans and casing.
    pub chars: Vec<char>,
}

/// Lowercases and strips the diacritics that vary in practice.
fn fold_char(c: char) -> impl Iterator<Item = char> {
    c.to_lowercase().map(|c| match c {
        'ă' | 'â' | 'á' | 'à' => 'a',
        'î' | 'í' => 'i',
        'ș' | 'ş' => 's',
        'ț' | 'ţ' => 't',
        'é' | 'è' => 'e',
        'ё' => 'е',
        other => other,
    })
}

/// Cyrillic letters in Latin, as Bulgarians and Russians type them.
fn latin_of(c: char) -> &'static str {
    match c {
        'а' => "a",
        'б' => "b",
        'в' => "v",
        'г' => "g",
        'д' => "d",
        'е' | 'э' => "e",
        'ж' => "zh",
        'з' => "z",
        'и' => "i",
        'й' | 'ы' => "y",
        'к' => "k",
        'л' => "l",
        'м' => "m",
        'н' => "n",
        'о' => "o",
        'п' => "p",
        'р' => "r",
        'с' => "s",
        'т' => "t",
        'у' => "u",
        'ф' => "f",
        'х' => "h",
        'ц' => "ts",
        'ч' => "ch",
        'ш' => "sh",
        'щ' => "sht",
        'ъ' => "a",
        'ь' => "",
        'ю' => "yu",
        'я' => "ya",
        _ => "",
    }
}

/// One spelling for the many ways of typing a Bulgarian or Russian word in Latin letters
/// (`blagodarya`, `blagodarq`; `izvinyavame`, `izvinqvame`): Cyrillic is transliterated, then
/// digraphs and their single-letter stand-ins are merged.
fn skeleton(word: &str) -> String {
    let mut latin = String::with_capacity(word.len());
    for c in word.chars() {
        if ('\u{0400}'..='\u{04FF}').contains(&c) {
            latin.push_str(latin_of(c));
        } else {
            latin.push(c);
        }
    }
    const MERGES: [(&str, &str); 14] = [
        ("shch", "s"),
        ("sht", "s"),
        ("sch", "s"),
        ("zh", "z"),
        ("kh", "h"),
        ("ts", "c"),
        ("ch", "c"),
        ("sh", "s"),
        ("yu", "u"),
        ("ju", "u"),
        ("ya", "a"),
        ("ja", "a"),
        ("q", "a"),
        ("w", "v"),
    ];
    let mut out = latin;
    for (from, to) in MERGES {
        out = out.replace(from, to);
    }
    out.replace(['y', 'j'], "i").replace('x', "h")
}

/// The form a word is compared in, for a reply or phrase of `lang`.
pub fn fold_word(word: &str, lang: Lang) -> String {
    let folded: String = word.chars().flat_map(fold_char).collect();
    match lang {
        Lang::Bg | Lang::Ru => skeleton(&folded),
        Lang::Ro | Lang::En => folded,
    }
}

/// Ends a sentence when followed by a space or the end.
fn ends_sentence(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | ';' | '…')
}

impl Text {
    pub fn new(reply: &str, lang: Lang) -> Text {
        let chars: Vec<char> = reply.chars().collect();
        let mut words = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if !chars[i].is_alphanumeric() {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && chars[i].is_alphanumeric() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            words.push(Word {
                folded: fold_word(&word, lang),
                chars: start..i,
            });
        }
        Text {
            words,
            sentences: sentences(&chars),
            chars,
        }
    }

    /// The sentence holding character `at`, without its surrounding spaces.
    pub fn sentence_at(&self, at: usize) -> Range<usize> {
        self.sentences
            .iter()
            .find(|s| s.contains(&at))
            .cloned()
            .unwrap_or(0..self.chars.len())
    }

    /// The sentence number holding character `at`.
    pub fn sentence_index(&self, at: usize) -> usize {
        self.sentences
            .iter()
            .position(|s| s.contains(&at))
            .unwrap_or(0)
    }

    /// The whole reply, trimmed.
    pub fn whole(&self) -> Range<usize> {
        let start = self.chars.iter().position(|c| !c.is_whitespace());
        let end = self.chars.iter().rposition(|c| !c.is_whitespace());
        match (start, end) {
            (Some(s), Some(e)) => s..e + 1,
            _ => 0..0,
        }
    }
}

/// Pictographs and dingbats: emoji, as far as sentences go.
fn is_emoji(c: char) -> bool {
    matches!(c as u32, 0x1F000..=0x1FAFF | 0x2600..=0x27BF)
}

/// Sentences: split after `.`, `!`, `?`, `;` or `…` runs that a space or the end follows, after
/// an emoji that a space and a capital follow (it closes its sentence, as a full stop would),
/// and at line breaks; emoji stay with the sentence they close.
fn sentences(chars: &[char]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let closes = if c == '\n' {
            true
        } else if ends_sentence(c) {
            while i + 1 < chars.len() && ends_sentence(chars[i + 1]) {
                i += 1;
            }
            chars.get(i + 1).is_none_or(|n| n.is_whitespace())
        } else if is_emoji(c) {
            while i + 1 < chars.len() && (is_emoji(chars[i + 1]) || chars[i + 1] == '\u{fe0f}') {
                i += 1;
            }
            let next = chars[i + 1..].iter().find(|n| !n.is_whitespace());
            chars.get(i + 1).is_some_and(|n| n.is_whitespace())
                && next.is_some_and(|n| n.is_uppercase())
        } else {
            false
        };
        if closes {
            push_trimmed(chars, start..i + 1, &mut out);
            start = i + 1;
        }
        i += 1;
    }
    push_trimmed(chars, start..chars.len(), &mut out);
    out
}

fn push_trimmed(chars: &[char], range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let slice = &chars[range.clone()];
    if let (Some(s), Some(e)) = (
        slice.iter().position(|c| !c.is_whitespace()),
        slice.iter().rposition(|c| !c.is_whitespace()),
    ) {
        out.push(range.start + s..range.start + e + 1);
    }
}

/// One element of a phrase.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Word(String),
    Prefix(String),
    Number,
    AnyWord,
    Gap,
}

/// A phrase of the policy's `[lint]` lists, compiled for one language.
#[derive(Debug, Clone, PartialEq)]
pub struct Phrase {
    pub source: String,
    pieces: Vec<Piece>,
}

/// Most words a `..` lets pass.
const GAP_WORDS: usize = 4;

impl Phrase {
    /// Compiles a phrase; `None` when it has no word to match.
    pub fn parse(source: &str, lang: Lang) -> Option<Phrase> {
        let mut pieces = Vec::new();
        for token in source.split_whitespace() {
            match token {
                "#" => pieces.push(Piece::Number),
                "_" => pieces.push(Piece::AnyWord),
                ".." => pieces.push(Piece::Gap),
                _ => {
                    let prefix = token.ends_with('*');
                    let parts: Vec<String> = token
                        .trim_end_matches('*')
                        .split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .map(|w| fold_word(w, lang))
                        .collect();
                    let last = parts.len().saturating_sub(1);
                    for (i, part) in parts.into_iter().enumerate() {
                        pieces.push(if prefix && i == last {
                            Piece::Prefix(part)
                        } else {
                            Piece::Word(part)
                        });
                    }
                }
            }
        }
        let words = pieces
            .iter()
            .any(|p| matches!(p, Piece::Word(_) | Piece::Prefix(_)));
        let ends_well = !matches!(pieces.first(), Some(Piece::Gap))
            && !matches!(pieces.last(), Some(Piece::Gap));
        (words && ends_well).then(|| Phrase {
            source: source.to_string(),
            pieces,
        })
    }

    /// Where the phrase occurs in `text`, as a range of character offsets, each occurrence
    /// once (the earliest end for each start).
    pub fn find_all(&self, text: &Text) -> Vec<Range<usize>> {
        (0..text.words.len())
            .filter_map(|start| {
                let end = self.match_from(&text.words, start, 0)?;
                Some(text.words[start].chars.start..text.words[end - 1].chars.end)
            })
            .collect()
    }

    /// Matches pieces from `piece` on at word `at`; the word index after the match.
    fn match_from(&self, words: &[Word], at: usize, piece: usize) -> Option<usize> {
        let Some(p) = self.pieces.get(piece) else {
            return Some(at);
        };
        if let Piece::Gap = p {
            return (0..=GAP_WORDS)
                .filter(|skip| at + skip <= words.len())
                .find_map(|skip| self.match_from(words, at + skip, piece + 1));
        }
        let word = &words.get(at)?.folded;
        let ok = match p {
            Piece::Word(w) => word == w,
            Piece::Prefix(w) => word.starts_with(w.as_str()),
            Piece::Number => word.chars().any(|c| c.is_ascii_digit()),
            Piece::AnyWord => true,
            Piece::Gap => unreachable!("handled above"),
        };
        if ok {
            self.match_from(words, at + 1, piece + 1)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(phrase: &str, lang: Lang, reply: &str) -> Vec<String> {
        let text = Text::new(reply, lang);
        Phrase::parse(phrase, lang)
            .unwrap()
            .find_all(&text)
            .into_iter()
            .map(|r| text.chars[r].iter().collect())
            .collect()
    }

    #[test]
    fn romanian_diacritics_and_cedillas_fold() {
        assert_eq!(
            found(
                "trebuia să verificați",
                Lang::Ro,
                "Trebuia sa verificati coletul."
            ),
            ["Trebuia sa verificati"]
        );
        assert_eq!(
            found("ne pare rău", Lang::Ro, "Ne pare rău, ne cerem scuze."),
            ["Ne pare rău"]
        );
        assert_eq!(
            found("îmi pare rău", Lang::Ro, "Îmi pare rău"),
            ["Îmi pare rău"]
        );
        assert_eq!(found("ţineţi", Lang::Ro, "Țineți minte"), ["Țineți"]);
    }

    #[test]
    fn cyrillic_phrases_match_latin_typing() {
        assert_eq!(
            found("извиняваме се", Lang::Bg, "Izvinqvame se za zabavyaneto"),
            ["Izvinqvame se"]
        );
        assert_eq!(
            found("приносим извинения", Lang::Ru, "prinosim izvineniya!"),
            ["prinosim izvineniya"]
        );
        assert_eq!(found("Съжаляваме", Lang::Bg, "СЪЖАЛЯВАМЕ!"), ["СЪЖАЛЯВАМЕ"]);
    }

    #[test]
    fn numbers_gaps_prefixes_and_spans_in_characters() {
        assert_eq!(
            found("within # day*", Lang::En, "💸 Refunded within 3 days."),
            ["within 3 days"]
        );
        let text = Text::new("💸 Refunded within 3 days.", Lang::En);
        let phrase = Phrase::parse("within # day*", Lang::En).unwrap();
        // The emoji is one character, so "within" starts at character 11, not byte 14.
        assert_eq!(phrase.find_all(&text), vec![11..24]);
        assert_eq!(
            found(
                "you .. responsible",
                Lang::En,
                "You were solely responsible."
            ),
            ["You were solely responsible"]
        );
        assert!(found("you .. responsible", Lang::En, "We are responsible").is_empty());
        assert!(Phrase::parse(".. you", Lang::En).is_none());
        assert!(Phrase::parse("!!", Lang::En).is_none());
    }

    #[test]
    fn sentences_split_on_end_marks_followed_by_space() {
        let split = |reply: &str| -> Vec<String> {
            let text = Text::new(reply, Lang::En);
            (text.sentences.iter())
                .map(|r| text.chars[r.clone()].iter().collect())
                .collect()
        };
        assert_eq!(
            split("Sorry!! We refund 3.50 today. DM us 😊 ok"),
            ["Sorry!!", "We refund 3.50 today.", "DM us 😊 ok"]
        );
        // An emoji before a capital closes its sentence, as a full stop would.
        assert_eq!(
            split("At least it's cosy 😅🔥 DM us, we refund it today."),
            ["At least it's cosy 😅🔥", "DM us, we refund it today."]
        );
    }
}
