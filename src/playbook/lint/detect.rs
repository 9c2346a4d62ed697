//! The detectors: each kind of finding from the reply's words (the policy's phrase lists),
//! its shape (capitals, exclamation marks, emoji), its personal data, its language against
//! the comment's, and the encoder's scores of it when given (its sentiment and abusive heads,
//! the reply head per sentence); then RSR from what is left.

use super::messages::message;
use super::text::{Phrase, Text, Word};
use super::{Draft, Finding, Kind, Linter, Lists, Report, Rsr};
use crate::labels::{Intent, Lang};
use crate::playbook::personal::{self, PersonalKind};
use std::ops::Range;

/// Emoji that laugh or wink: under a problem they read as a joke about it.
const LAUGHING: &[char] = &[
    '😂', '🤣', '😅', '😆', '😄', '😁', '😃', '😀', '😉', '😜', '😝', '🙃', '😬', '🤪', '😹',
];

/// Emoji that mock the person they answer.
const MOCKING: &[char] = &['🤡', '🖕', '🙄'];

/// Whether a finding of `kind` makes its sentence unfit to count as a next step: a vague
/// referral is no step, and a date or channel in a sentence that blames the customer is the
/// rule they broke ("you should have called us by Friday"). A joke, a dig or capitals next to a
/// concrete step leave the step a step (and are findings of their own).
fn spoils_sentence(kind: Kind) -> bool {
    matches!(kind, Kind::Accusing | Kind::VagueDeflection)
}

/// Findings before they become [`Finding`]s: a kind and the characters it points at.
type Found = Vec<(Kind, Range<usize>)>;

/// The commonest English words: a sentence of English has several of them.
const ENGLISH_FUNCTION_WORDS: &[&str] = &[
    "the", "a", "an", "and", "or", "to", "of", "in", "on", "at", "for", "with", "by", "from", "is",
    "are", "was", "be", "it", "this", "that", "you", "your", "we", "our", "us", "i", "will", "can",
    "have", "has", "not", "please", "sorry", "thanks", "if", "so", "but", "as", "we'll", "we're",
    "we've", "you're", "it's", "do", "get", "up", "out", "all", "any",
];

/// Whether a reply the detector took for English (it knows four languages) has the function
/// words of English: one in Spanish, French or Welsh has almost none of them.
fn reads_as_english(text: &Text) -> bool {
    let words = text.words.len();
    let english = (text.words.iter())
        .filter(|w| ENGLISH_FUNCTION_WORDS.contains(&w.folded.as_str()))
        .count();
    words < 5 || english * 10 >= words
}

/// Letters in the text: a reply with too few of them has no language to get wrong.
fn letters(text: &Text) -> usize {
    text.chars.iter().filter(|c| c.is_alphabetic()).count()
}

pub(super) fn lint(linter: &Linter, draft: &Draft) -> Report {
    let reply_lang = crate::lang::detect(draft.reply);
    let expected = draft
        .lang
        .or_else(|| draft.comment.map(crate::lang::detect));
    let text = Text::new(draft.reply, reply_lang);
    let lists = &linter.lists[reply_lang.index()];
    let mut found: Vec<(Kind, Range<usize>)> = Vec::new();

    for (kind, list) in [
        (Kind::Accusing, &lists.accusing),
        (Kind::Emotional, &lists.emotional),
        (Kind::Insulting, &lists.insulting),
        (Kind::Dismissive, &lists.dismissive),
    ] {
        found.extend(sentences_with(&text, list).map(|s| (kind, s)));
    }
    found.extend(
        text.chars
            .iter()
            .enumerate()
            .filter(|(_, c)| MOCKING.contains(c))
            .map(|(i, _)| (Kind::Insulting, text.sentence_at(i))),
    );
    let learned = learned(linter, draft);
    found.extend(
        learned
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k,
                    Kind::Accusing | Kind::Emotional | Kind::Insulting | Kind::Dismissive
                )
            })
            .cloned(),
    );
    if let Some(scores) = draft.scores {
        if scores.abusive >= linter.insulting_abusive {
            found.push((Kind::Insulting, text.whole()));
        }
        if scores.negative >= linter.emotional_negative && text.chars.contains(&'!') {
            found.push((Kind::Emotional, text.whole()));
        }
    }
    let apology: Vec<usize> = sentences_with(&text, &lists.apology)
        .map(|s| text.sentence_index(s.start))
        .collect();
    let problem = match draft.intent {
        Some(intent) => matches!(intent, Intent::Complaint | Intent::Request),
        None => !apology.is_empty() || draft.comment.is_none(),
    };
    if problem {
        found.extend(jokes(&text, lists).map(|s| (Kind::JokingAboutProblem, s)));
        found.extend(learned_of(&learned, Kind::JokingAboutProblem));
    }
    found.extend(shouting(linter, &text).map(|s| (Kind::Shouting, s)));
    let (personal, brand_lines) = personal_data(linter, draft.reply, &text, lists);
    found.extend(personal);

    let next_steps: Vec<Range<usize>> = sentences_with(&text, &lists.next_step)
        .chain(contacts(&text))
        .chain(brand_lines)
        .chain(clock_times(&text))
        .collect();
    let spoiled = |s: &Range<usize>| {
        found
            .iter()
            .any(|(k, f)| spoils_sentence(*k) && overlaps(f, s))
    };
    let concrete = next_steps.iter().any(|s| !spoiled(s));
    if !concrete {
        found.extend(
            sentences_with(&text, &lists.vague_deflection).map(|s| (Kind::VagueDeflection, s)),
        );
        found.extend(learned_of(&learned, Kind::VagueDeflection));
    }
    let concrete = concrete && !found.iter().any(|(k, _)| *k == Kind::VagueDeflection);

    let wrong_language = expected.is_some_and(|e| {
        (reply_lang != e && letters(&text) >= 3)
            || (e == Lang::En && reply_lang == Lang::En && !reads_as_english(&text))
    });
    if wrong_language {
        found.push((Kind::WrongLanguage, text.whole()));
    }
    // A reply in another language is rewritten whole; its apology and next step are read in
    // the words of a language it may not be in, so they are not judged.
    let complaint = !wrong_language
        && match draft.intent {
            Some(intent) => intent == Intent::Complaint,
            None => !apology.is_empty(),
        };
    if complaint && apology.is_empty() {
        found.push((Kind::MissingApology, text.whole()));
    }
    if complaint && !concrete {
        found.push((Kind::MissingNextStep, text.whole()));
    }

    let rsr = Rsr {
        respond: !text.whole().is_empty(),
        apologise: !apology.is_empty() && problem,
        resolve: concrete || (!complaint && answers(draft.intent, &found)),
    };
    Report::from_found(found, reply_lang, rsr)
}

impl Report {
    /// One finding per kind and span, in reading order.
    fn from_found(mut found: Vec<(Kind, Range<usize>)>, lang: Lang, rsr: Rsr) -> Report {
        // What is missing from the whole reply comes after what is wrong in its sentences.
        let whole = |kind: Kind| {
            matches!(
                kind,
                Kind::MissingApology | Kind::MissingNextStep | Kind::WrongLanguage
            )
        };
        found.sort_by_key(|(kind, span)| (whole(*kind), span.start, *kind, span.end));
        found.dedup_by(|a, b| a.0 == b.0 && overlaps(&a.1, &b.1));
        let findings: Vec<Finding> = found
            .into_iter()
            .map(|(kind, span)| {
                let (message, suggestion) = message(kind, lang);
                Finding {
                    kind,
                    severity: kind.severity(),
                    span: [span.start, span.end],
                    message: message.to_string(),
                    suggestion: suggestion.to_string(),
                }
            })
            .collect();
        Report {
            ok: findings.is_empty(),
            findings,
            rsr,
        }
    }
}

/// The sentences where the reply head is sure enough of a kind.
fn learned(linter: &Linter, draft: &Draft) -> Vec<(Kind, Range<usize>)> {
    let Some(scores) = draft.scores else {
        return Vec::new();
    };
    scores
        .sentences
        .iter()
        .flat_map(|s| {
            s.faults
                .iter()
                .filter(|(_, p)| *p >= linter.head_min)
                .map(|(kind, _)| (*kind, s.span[0]..s.span[1]))
        })
        .collect()
}

fn learned_of(
    learned: &[(Kind, Range<usize>)],
    kind: Kind,
) -> impl Iterator<Item = (Kind, Range<usize>)> + '_ {
    learned.iter().filter(move |(k, _)| *k == kind).cloned()
}

/// A plain answer resolves a question, request or rumour when nothing in it deflects or
/// belittles.
fn answers(intent: Option<Intent>, found: &[(Kind, Range<usize>)]) -> bool {
    let answerable = matches!(
        intent,
        Some(Intent::Question | Intent::Request | Intent::Misinformation | Intent::Other)
    );
    answerable
        && !found.iter().any(|(k, _)| {
            matches!(
                k,
                Kind::VagueDeflection | Kind::Insulting | Kind::Dismissive | Kind::Shouting
            )
        })
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The sentences in which any phrase of `list` occurs, each once.
fn sentences_with<'t>(
    text: &'t Text,
    list: &'t [Phrase],
) -> impl Iterator<Item = Range<usize>> + 't {
    let mut seen: Vec<Range<usize>> = list
        .iter()
        .flat_map(|p| p.find_all(text))
        .map(|m| text.sentence_at(m.start))
        .collect();
    seen.sort_by_key(|s| s.start);
    seen.dedup();
    seen.into_iter()
}

/// Sentences with a joke: a laughing emoji, or a joking phrase.
fn jokes<'t>(text: &'t Text, lists: &'t Lists) -> impl Iterator<Item = Range<usize>> + 't {
    let emoji = text
        .chars
        .iter()
        .enumerate()
        .filter(|(_, c)| LAUGHING.contains(c))
        .map(|(i, _)| text.sentence_at(i));
    let mut all: Vec<Range<usize>> = emoji.chain(sentences_with(text, &lists.joking)).collect();
    all.sort_by_key(|s| s.start);
    all.dedup();
    all.into_iter()
}

/// A word written in capitals (two letters or more, no digits).
fn capitals(text: &Text, word: &Range<usize>) -> bool {
    let w = &text.chars[word.clone()];
    w.len() >= 2 && w.iter().all(|c| c.is_alphabetic()) && w.iter().all(|c| c.is_uppercase())
}

/// Sentences that shout: a run of capitalised words with `shout_min_letters` letters, or a
/// capitalised word of three letters or more with `shout_min_exclamations` `!` in a row.
fn shouting<'t>(linter: &'t Linter, text: &'t Text) -> impl Iterator<Item = Range<usize>> + 't {
    let mut out = Vec::new();
    let mut run_letters = 0;
    for word in &text.words {
        if capitals(text, &word.chars) {
            run_letters += word.chars.len();
            if run_letters >= linter.shout_min_letters {
                out.push(text.sentence_at(word.chars.start));
            }
        } else {
            run_letters = 0;
        }
    }
    for sentence in &text.sentences {
        let chars = &text.chars[sentence.clone()];
        let bangs = chars
            .split(|c| *c != '!')
            .map(<[char]>::len)
            .max()
            .unwrap_or(0);
        let loud_word = text.words.iter().any(|w| {
            overlaps(&w.chars, sentence) && w.chars.len() >= 3 && capitals(text, &w.chars)
        });
        if bangs >= linter.shout_min_exclamations && loud_word {
            out.push(sentence.clone());
        }
    }
    out.sort_by_key(|s| s.start);
    out.dedup();
    out.into_iter()
}

/// Personal data in the reply: what `personal` finds (phones, e-mails, cards, IBANs, national
/// IDs, passports), and a word of the `personal` list (an address, a birth date, an ID) with a
/// number right after it. The span covers the datum; the message never repeats it. Also the
/// sentences that give the brand's own line instead: a phone number or e-mail address after a
/// `brand_line` phrase is a channel, not the customer's; so is a company mailbox.
fn personal_data(
    linter: &Linter,
    reply: &str,
    text: &Text,
    lists: &Lists,
) -> (Found, Vec<Range<usize>>) {
    let to_char = |byte: usize| reply[..byte].chars().count();
    let line_ends: Vec<usize> = lists
        .brand_line
        .iter()
        .flat_map(|p| p.find_all(text))
        .map(|m| m.end)
        .collect();
    // The rest of the sentence after each brand_line phrase; a number or an address there is
    // the brand's.
    let announced: Vec<Range<usize>> = line_ends
        .iter()
        .map(|&end| end..text.sentence_at(end.saturating_sub(1)).end)
        .collect();
    let mut out = Vec::new();
    for (kind, bytes) in personal::locate(reply, &linter.published) {
        let span = to_char(bytes.start)..to_char(bytes.end);
        let contact = matches!(kind, PersonalKind::Phone | PersonalKind::Email);
        let brands = contact && announced.iter().any(|a| a.contains(&span.start));
        let mailbox = kind == PersonalKind::Email && personal::company_mailbox(&reply[bytes]);
        if !brands && !mailbox {
            out.push((Kind::PersonalData, span));
        }
    }
    // (A sentence with an e-mail address is a channel already: `contacts`.)
    let brand_lines = announced
        .iter()
        .filter(|a| {
            text.chars[(*a).clone()]
                .iter()
                .filter(|c| c.is_ascii_digit())
                .count()
                >= 6
        })
        .map(|a| text.sentence_at(a.start.saturating_sub(1)))
        .collect();
    for phrase in &lists.personal {
        for m in phrase.find_all(text) {
            let digits = |w: &Word| w.folded.chars().any(|c| c.is_ascii_digit());
            let after: Vec<&Word> = text
                .words
                .iter()
                .skip_while(|w| w.chars.start < m.end)
                .collect();
            // The last number within three words, then the digit groups that continue it.
            // An amount or a duration ("карта е 540 лв.", "до 1 рабочего дня") is not an ID.
            let end = after
                .iter()
                .take(3)
                .rposition(|w| digits(w))
                .and_then(|last| {
                    let run = after[last..].iter().take_while(|w| digits(w)).count();
                    let unit = after.get(last + run).is_some_and(|w| is_unit(text, w));
                    (!unit).then(|| after[last + run - 1].chars.end)
                });
            if let Some(end) = end {
                out.push((Kind::PersonalData, m.start..end));
            }
        }
    }
    (out, brand_lines)
}

/// Words of money and time: a number before one is an amount or a duration.
#[rustfmt::skip]
const UNITS: &[&str] = &[
    "лв", "lei", "leu", "ron", "руб", "₽", "€", "eur", "евро", "$", "£", "%", "ден", "дни",
    "дн", "рабоч", "работн", "час", "мин", "zi", "zile", "ore", "minut", "day", "hour", "min",
    "week", "недел", "săptăm", "седмиц", "месяц", "месец", "lun", "month",
];

/// Whether `word` (as written: Cyrillic words are folded to a Latin skeleton) is a unit.
fn is_unit(text: &Text, word: &Word) -> bool {
    let written: String = text.chars[word.chars.clone()].iter().collect();
    let written = written.to_lowercase();
    UNITS.iter().any(|u| written.starts_with(u))
}

/// Sentences that name a time of day ("at 10:30", "с 8:00 до 22:00"): when something will
/// happen or where one can go, a concrete part of a next step.
fn clock_times(text: &Text) -> impl Iterator<Item = Range<usize>> + '_ {
    let c = &text.chars;
    (1..c.len().saturating_sub(1))
        .filter(move |&i| {
            c[i] == ':'
                && c[i - 1].is_ascii_digit()
                && c[i + 1].is_ascii_digit()
                && c.get(i + 2).is_some_and(|d| d.is_ascii_digit())
        })
        .map(move |i| text.sentence_at(i))
}

/// E-mail addresses, web addresses and phone numbers the reply gives: a concrete channel.
/// (Brand contacts here; the customer's own are personal data, found separately.)
fn contacts(text: &Text) -> impl Iterator<Item = Range<usize>> + '_ {
    text.sentences
        .iter()
        .filter(move |s| {
            let sentence: String = text.chars[(*s).clone()].iter().collect();
            sentence.contains('@') || sentence.contains("http") || sentence.contains("www.")
        })
        .cloned()
}
