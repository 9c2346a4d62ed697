//! Personal data posted in public: phone numbers, e-mail addresses, payment card numbers
//! (Luhn), IBANs (ISO 7064 mod 97), Romanian CNPs, Bulgarian EGNs, Russian SNILS and passport
//! numbers (their check digits, or a passport word beside a 4 + 6 digit number).
//!
//! The detector names the *kind* of datum, never its value: the kind goes into `reasons`, the
//! value must not travel further (logs, metrics). Numbers the brand published itself (its
//! support phone and e-mail) are not the author's data. Order, parcel and flight numbers are
//! left alone: they fail the checksums and the phone shapes.

use std::fmt;
use std::ops::Range;

/// A kind of personal datum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PersonalKind {
    Phone,
    Email,
    Card,
    Iban,
    Cnp,
    Egn,
    Snils,
    Passport,
}

impl PersonalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonalKind::Phone => "a phone number",
            PersonalKind::Email => "an e-mail address",
            PersonalKind::Card => "a payment card number",
            PersonalKind::Iban => "an IBAN",
            PersonalKind::Cnp => "a Romanian personal numeric code (CNP)",
            PersonalKind::Egn => "a Bulgarian personal number (EGN)",
            PersonalKind::Snils => "a Russian SNILS number",
            PersonalKind::Passport => "a passport number",
        }
    }
}

impl fmt::Display for PersonalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the brand published itself, so that quoting it back is not personal data.
#[derive(Debug, Clone, Default)]
pub struct Published {
    /// Digits of the brand's support phone.
    phone_digits: String,
    /// The domain of the brand's support e-mail, lowercased.
    email_domain: String,
}

impl Published {
    pub fn new(phone: Option<&str>, email: Option<&str>) -> Self {
        Published {
            phone_digits: phone
                .unwrap_or_default()
                .chars()
                .filter(char::is_ascii_digit)
                .collect(),
            email_domain: email
                .and_then(|e| e.rsplit_once('@'))
                .map(|(_, domain)| domain.to_lowercase())
                .unwrap_or_default(),
        }
    }
}

/// The kinds of personal data in `text`, each once, in a fixed order.
pub fn find(text: &str, published: &Published) -> Vec<PersonalKind> {
    let mut kinds: Vec<PersonalKind> = locate(text, published)
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// Each personal datum in `text` with where it is (bytes), for pointing at it without
/// repeating it.
pub fn locate(text: &str, published: &Published) -> Vec<(PersonalKind, Range<usize>)> {
    emails(text, published)
        .chain(numbers(text, published))
        .chain(ibans(text))
        .chain(passport(text))
        .collect()
}

/// A company's shared mailboxes: quoting them is not posting one's own address.
#[rustfmt::skip]
const ROLE_MAILBOXES: &[&str] = &[
    "support", "suport", "help", "info", "office", "contact", "contacto", "service",
    "customerservice", "care", "hello", "sales", "noreply", "no-reply", "ajutor", "clienti",
    "reclamatii", "podrska", "helpdesk", "feedback", "press", "pr", "billing",
];

/// Mail services people have their own addresses at.
#[rustfmt::skip]
const FREE_MAIL: &[&str] = &[
    "gmail.", "googlemail.", "yahoo.", "hotmail.", "outlook.", "live.", "icloud.", "aol.",
    "proton", "gmx.", "web.de", "webmail.", "mail.ru", "inbox.ru", "list.ru", "bk.ru",
    "yandex.", "ya.ru", "rambler.", "abv.bg", "dir.bg", "mail.bg", "btinternet.", "sky.com",
    "virginmedia.",
];

/// A company's mailbox that a brand's reply may give: one word of letters (`claims@`,
/// `otkaz@`) at a domain that is not a mail service; `ivan.petrov84@abv.bg` is a person's.
/// Only the linter asks (a brand's own reply): in a customer's comment `ivan@firma.bg` is
/// as likely the writer's own work address, so [`locate`] keeps reporting it there.
pub fn company_mailbox(address: &str) -> bool {
    let address = address.to_lowercase();
    let Some((user, domain)) = address.split_once('@') else {
        return false;
    };
    let at_service = |service: &str| {
        (domain.match_indices(service)).any(|(i, _)| i == 0 || domain[..i].ends_with('.'))
    };
    !user.is_empty()
        && user.chars().all(char::is_alphabetic)
        && !FREE_MAIL.iter().any(|f| at_service(f))
}

fn emails<'a>(
    text: &'a str,
    published: &'a Published,
) -> impl Iterator<Item = (PersonalKind, Range<usize>)> + 'a {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '<' | '>'))
        .filter_map(|token| {
            let start = token.as_ptr() as usize - text.as_ptr() as usize;
            let span = start..start + token.trim_end_matches(['.', '!', '?', ':']).len();
            let (user, domain) = token.split_once('@')?;
            let domain = domain.trim_end_matches(['.', '!', '?', ':']).to_lowercase();
            let valid = !user.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && domain
                    .chars()
                    .all(|c| c.is_alphanumeric() || ".-".contains(c));
            let brand = !published.email_domain.is_empty() && domain == published.email_domain;
            let role = ROLE_MAILBOXES.contains(&user.to_lowercase().as_str());
            (valid && !brand && !role).then_some((PersonalKind::Email, span))
        })
}

/// A run of digits written as one number: digits with single spaces, dashes, dots, slashes
/// or brackets between groups, and whether it opened with `+` or `(`.
struct Number {
    digits: String,
    /// The digit groups' lengths, as written.
    groups: Vec<usize>,
    plus: bool,
    bracket: bool,
    /// Where the number starts in the text (bytes).
    start: usize,
    /// Where it ends (bytes).
    end: usize,
}

fn digit_runs(text: &str) -> Vec<Number> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        let opens = c == '+' || c == '(';
        let digit_next = chars.get(i + 1).is_some_and(|(_, d)| d.is_ascii_digit());
        let boundary = i == 0 || !chars[i - 1].1.is_alphanumeric();
        if !(c.is_ascii_digit() || opens && digit_next) || !boundary {
            i += 1;
            continue;
        }
        let mut number = Number {
            digits: String::new(),
            groups: Vec::new(),
            plus: c == '+',
            bracket: c == '(',
            start,
            end: start,
        };
        if opens {
            i += 1;
        }
        let mut group = 0;
        while i < chars.len() {
            let c = chars[i].1;
            if c.is_ascii_digit() {
                number.digits.push(c);
                number.end = chars[i].0 + 1;
                group += 1;
                i += 1;
                continue;
            }
            // At most two separators between digit groups ("-", " ", ") ", " ("); anything
            // else ends the number.
            let is_separator = |c: char| matches!(c, ' ' | '-' | '.' | '/' | ')' | '(');
            let run = chars[i..]
                .iter()
                .take(3)
                .take_while(|(_, c)| is_separator(*c))
                .count();
            let then_digit = chars.get(i + run).is_some_and(|(_, d)| d.is_ascii_digit());
            if (1..=2).contains(&run) && then_digit && group > 0 {
                number.groups.push(group);
                group = 0;
                i += run;
                continue;
            }
            break;
        }
        if group > 0 {
            number.groups.push(group);
        }
        // A letter glued to the end makes it a code (order AB123, 12kg), not a number.
        let glued = chars.get(i).is_some_and(|(_, c)| c.is_alphabetic());
        if !glued && !number.digits.is_empty() {
            out.push(number);
        }
        i += 1;
    }
    out
}

/// Words that name an order, parcel or account reference: the number after them is one.
const REFERENCE_WORDS: &[&str] = &[
    "colet",
    "awb",
    "comand",
    "factur",
    "order",
    "parcel",
    "tracking",
    "ref",
    "invoice",
    "поръчк",
    "пратк",
    "товарителниц",
    "фактур",
    "заказ",
    "посылк",
    "трек",
    "накладн",
    "zakaz",
    "poruchk",
    "pratk",
    "booking",
    "rezervar",
    "брон",
];

/// The last word before a number (skipping "nr", "no", "#", "№" and punctuation) names a
/// reference.
fn reference_word_before(before: &str) -> bool {
    let words: Vec<&str> = before
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| {
            !w.is_empty() && !matches!(*w, "nr" | "no" | "number" | "numărul" | "номер" | "nomer")
        })
        .collect();
    words
        .last()
        .is_some_and(|w| REFERENCE_WORDS.iter().any(|r| w.starts_with(r)))
}

const PASSPORT_WORDS: [&str; 6] = ["паспорт", "pasport", "passport", "серия", "seria", "seriya"];

/// A passport word followed, within a few words, by 10 digits in all ("серия 4506 номер
/// 123456", "паспорт 45 06 123456").
fn passport(text: &str) -> Option<(PersonalKind, Range<usize>)> {
    let lower = text.to_lowercase();
    PASSPORT_WORDS.iter().find_map(|word| {
        let found = lower.find(word)?;
        let at = found + word.len();
        let window: String = lower[at..].chars().take(40).collect();
        let digits = window.chars().filter(char::is_ascii_digit).count();
        let last_digit = window
            .rfind(|c: char| c.is_ascii_digit())
            .map_or(0, |i| i + 1);
        // Spans are of the text as written; lowercasing keeps these ASCII and Cyrillic
        // letters' lengths.
        let end = (at + last_digit).min(text.len());
        (digits == 10).then_some((PersonalKind::Passport, found..end))
    })
}

fn numbers<'a>(
    text: &'a str,
    published: &'a Published,
) -> impl Iterator<Item = (PersonalKind, Range<usize>)> + 'a {
    let lower = text.to_lowercase();
    digit_runs(text).into_iter().filter_map(move |n| {
        let span = n.start..n.end;
        number_kind(&n, &lower, published).map(|kind| (kind, span))
    })
}

fn number_kind(n: &Number, lower: &str, published: &Published) -> Option<PersonalKind> {
    let d = n.digits.as_str();
    // "parcel 0045119283", "AWB 0712…": a reference, whatever it looks like.
    if reference_word_before(&lower[..n.start.min(lower.len())]) {
        return None;
    }
    if !published.phone_digits.is_empty() && published.phone_digits.ends_with(d) {
        return None;
    }
    if d.len() == 10 && n.groups == [2, 2, 6] {
        return Some(PersonalKind::Passport);
    }
    if (13..=19).contains(&d.len()) && luhn(d) && !d.starts_with('0') {
        return Some(PersonalKind::Card);
    }
    if d.len() == 13 && cnp(d) {
        return Some(PersonalKind::Cnp);
    }
    // A trunk-prefixed phone shape first: a phone that happens to pass the EGN or SNILS
    // check is still named as what it looks like.
    if phone(n) {
        return Some(PersonalKind::Phone);
    }
    if d.len() == 10 && egn(d) {
        return Some(PersonalKind::Egn);
    }
    (d.len() == 11 && snils(d)).then_some(PersonalKind::Snils)
}

/// Toll-free and shared-cost service numbers (UK 0800/03xx/084x/087x, Romanian and Bulgarian
/// 0800/0700/0801, Russian 8 800): a company's lines, not a person's.
const SERVICE_PREFIXES: &[&str] = &[
    "0800", "0801", "0808", "0700", "0701", "0842", "0843", "0844", "0845", "0870", "0871", "0300",
    "0330", "0333", "0343", "0344", "0345", "0370", "8800", "78800",
];

/// International (+…), national trunk (0…, Russian 8…) and North American "(555) 201-3344",
/// not a service number.
fn phone(n: &Number) -> bool {
    let d = n.digits.as_str();
    if SERVICE_PREFIXES.iter().any(|p| d.starts_with(p)) {
        return false;
    }
    let len = d.len();
    (n.plus && (9..=15).contains(&len))
        || (d.starts_with('0') && (len == 10 || len == 11))
        || (d.starts_with('8') && len == 11)
        || (n.bracket && len == 10 && n.groups.first() == Some(&3))
}

fn digit_values(d: &str) -> Vec<u32> {
    d.chars().filter_map(|c| c.to_digit(10)).collect()
}

/// The Luhn check of payment cards.
pub fn luhn(d: &str) -> bool {
    let sum: u32 = digit_values(d)
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &v)| {
            if i % 2 == 1 {
                let doubled = v * 2;
                if doubled > 9 {
                    doubled - 9
                } else {
                    doubled
                }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Romanian CNP: sex/century digit 1–8, a real month, weights 279146358279, mod 11 (10 → 1).
pub fn cnp(d: &str) -> bool {
    let v = digit_values(d);
    let month = v[3] * 10 + v[4];
    if v.len() != 13 || !(1..=8).contains(&v[0]) || !(1..=12).contains(&month) {
        return false;
    }
    let weights = [2, 7, 9, 1, 4, 6, 3, 5, 8, 2, 7, 9];
    let sum: u32 = v.iter().zip(weights).map(|(a, w)| a * w).sum();
    let check = match sum % 11 {
        10 => 1,
        r => r,
    };
    check == v[12]
}

/// Bulgarian EGN: a real month (+20 for 1800s, +40 for 2000s) and day, weights
/// 2,4,8,5,10,9,7,3,6, mod 11 (10 → 0).
pub fn egn(d: &str) -> bool {
    let v = digit_values(d);
    if v.len() != 10 {
        return false;
    }
    let month = v[2] * 10 + v[3];
    let day = v[4] * 10 + v[5];
    let real_month = [0, 20, 40]
        .iter()
        .any(|o| (o + 1..=o + 12).contains(&month));
    if !real_month || !(1..=31).contains(&day) {
        return false;
    }
    let weights = [2, 4, 8, 5, 10, 9, 7, 3, 6];
    let sum: u32 = v.iter().zip(weights).map(|(a, w)| a * w).sum();
    (sum % 11) % 10 == v[9]
}

/// Russian SNILS: Σ digit × (9 − position) over the first 9; below 100 that is the check
/// number, 100 and 101 give 00, above that mod 101 (100 → 00).
pub fn snils(d: &str) -> bool {
    let v = digit_values(d);
    if v.len() != 11 {
        return false;
    }
    let sum: u32 = v[..9]
        .iter()
        .enumerate()
        .map(|(i, a)| a * (9 - i as u32))
        .sum();
    let check = match sum {
        s if s < 100 => s,
        100 | 101 => 0,
        s => match s % 101 {
            100 => 0,
            r => r,
        },
    };
    check == v[9] * 10 + v[10]
}

/// IBAN lengths of the countries tact's users write from, and their neighbours.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("RO", 24),
    ("BG", 22),
    ("GB", 22),
    ("DE", 22),
    ("IE", 22),
    ("MD", 24),
    ("UA", 29),
    ("GR", 27),
    ("FR", 27),
    ("IT", 27),
    ("ES", 24),
    ("NL", 18),
    ("AT", 20),
    ("PL", 28),
    ("HU", 28),
];

/// Byte range of a range of characters (of an uppercased text of the same characters).
fn char_span(text: &str, chars: Range<usize>) -> Range<usize> {
    let byte = |i: usize| text.char_indices().nth(i).map_or(text.len(), |(b, _)| b);
    byte(chars.start)..byte(chars.end)
}

/// ISO 13616 check: move the first four characters to the end, letters to 10…35, mod 97 = 1.
pub fn iban_valid(iban: &str) -> bool {
    let (head, tail) = iban.split_at(4);
    let mut rem: u64 = 0;
    for c in tail.chars().chain(head.chars()) {
        let value = match c.to_digit(36) {
            Some(v) => v as u64,
            None => return false,
        };
        rem = if value < 10 {
            (rem * 10 + value) % 97
        } else {
            (rem * 100 + value) % 97
        };
    }
    rem == 1
}

fn ibans(text: &str) -> impl Iterator<Item = (PersonalKind, Range<usize>)> + '_ {
    let upper: Vec<char> = text.to_uppercase().chars().collect();
    let mut found = None;
    for start in 0..upper.len().saturating_sub(4) {
        let opens = upper[start].is_ascii_uppercase()
            && upper[start + 1].is_ascii_uppercase()
            && upper[start + 2].is_ascii_digit()
            && upper[start + 3].is_ascii_digit()
            && (start == 0 || !upper[start - 1].is_alphanumeric());
        if !opens {
            continue;
        }
        let country: String = upper[start..start + 2].iter().collect();
        let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| *c == country) else {
            continue;
        };
        // Groups of four separated by single spaces are how IBANs are usually written.
        let compact: String = upper[start..]
            .iter()
            .take(len + len / 4 + 1)
            .filter(|c| **c != ' ')
            .take_while(|c| c.is_ascii_alphanumeric())
            .take(len)
            .collect();
        if compact.len() == len && iban_valid(&compact) {
            let written = upper[start..].iter().take(len + len / 4 + 1);
            let mut seen = 0;
            let mut chars = 0;
            for c in written {
                chars += 1;
                if *c != ' ' {
                    seen += 1;
                }
                if seen == len {
                    break;
                }
            }
            found = Some(char_span(text, start..start + chars));
            break;
        }
    }
    found.map(|span| (PersonalKind::Iban, span)).into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<PersonalKind> {
        find(
            text,
            &Published::new(Some("+40 21 000 0000"), Some("support@acme.example")),
        )
    }

    #[test]
    fn finds_each_kind_and_names_only_the_kind() {
        use PersonalKind::*;
        for (text, kind) in [
            ("sunati-ma la 0722 123 456 va rog", Phone),
            ("call me +44 7700 900123", Phone),
            ("мой номер +7 (916) 123-45-67", Phone),
            ("звоните 8 916 123 45 67", Phone),
            ("обадете се на 0888 123 456", Phone),
            ("call (555) 201-3344 after 6", Phone),
            ("write me at ana.pop@gmail.com!", Email),
            ("card 4111 1111 1111 1111 charged twice", Card),
            ("IBAN RO49 AAAA 1B31 0075 9384 0000 pentru retur", Iban),
            ("сметка BG80BNBG96611020345678", Iban),
            ("CNP 1800101221144", Cnp),
            ("ЕГН 7501020018", Egn),
            ("СНИЛС 112-233-445 95", Snils),
            ("паспорт 45 06 123456", Passport),
            ("серия 4506 номер 123456", Passport),
        ] {
            assert_eq!(kinds(text), vec![kind], "{text}");
            assert!(!kind.as_str().chars().any(|c| c.is_ascii_digit()));
        }
    }

    #[test]
    fn order_parcel_price_date_and_the_brands_own_contacts_are_not_personal() {
        for text in [
            "Comanda 55317 nu a ajuns",
            "parcel 44018823 never arrived",
            "AWB 2345678901 stă de 3 zile",
            "paid 1299.99 lei on 12.03.2025",
            "flight W6 3217 delayed 4 hours",
            "I called your +40 21 000 0000 twice",
            "pls verificati coletul 0045119283",
            "Am sunat la 0800 801 900 de trei ori",
            "Звонила на горячую линию 8 800 555-35-35",
            "Rang 0345 300 7788 like the website says",
            "wrote to support@acme.example, nothing",
            "Am scris la support@livrarifoodie.ro acum o săptămână",
            "order #1234567890123 is late",
            "Card ending 1111 was charged",
        ] {
            assert_eq!(kinds(text), vec![], "{text}");
        }
    }

    #[test]
    fn checksums_reject_near_misses() {
        assert!(luhn("4111111111111111") && !luhn("4111111111111112"));
        assert!(cnp("1800101221144") && !cnp("1800101221145"));
        assert!(egn("7501020018") && !egn("7501020019"));
        assert!(snils("11223344595") && !snils("11223344596"));
        assert!(iban_valid("GB82WEST12345698765432") && !iban_valid("GB82WEST12345698765433"));
    }

    #[test]
    fn several_kinds_are_listed_once_each() {
        assert_eq!(
            kinds("ana@x.ro, 0722 123 456, 0733 222 111, CNP 1800101221144"),
            vec![PersonalKind::Phone, PersonalKind::Email, PersonalKind::Cnp]
        );
    }
}
