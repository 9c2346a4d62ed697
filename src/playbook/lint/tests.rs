//! Tests of the linter: each kind fires on a real draft and not on a good reply, spans are in
//! characters, messages follow the reply's language, and the policy rejects a template that
//! breaks a guideline.

use super::*;
use crate::playbook::Policy;

fn linter() -> Linter {
    Policy::default_policy().linter()
}

fn lint(reply: &str, intent: Option<Intent>, lang: Option<Lang>) -> Report {
    linter().lint(&Draft {
        reply,
        intent,
        lang,
        ..Draft::default()
    })
}

fn kinds(report: &Report) -> Vec<Kind> {
    report.findings.iter().map(|f| f.kind).collect()
}

/// The text a finding points at.
fn spanned(reply: &str, finding: &Finding) -> String {
    let [start, end] = finding.span;
    reply.chars().skip(start).take(end - start).collect()
}

const COMPLAINT: Option<Intent> = Some(Intent::Complaint);

/// One bad draft per kind (in four languages between them), and the words it must point at.
#[test]
fn each_kind_fires_on_a_real_draft_and_points_at_its_sentence() {
    let cases: [(&str, Kind, &str); 9] = [
        (
            "Sorry about this. You should have checked the parcel in front of the courier. DM us the order number and we'll refund you today.",
            Kind::Accusing,
            "You should have checked the parcel in front of the courier.",
        ),
        (
            "Ne pare rău. Sincer, ne-am săturat de comentarii de genul ăsta. Vă sunăm mâine.",
            Kind::Emotional,
            "Sincer, ne-am săturat de comentarii de genul ăsta.",
        ),
        (
            "Съжаляваме. Явно инструкцията ви е дошла сложна, а там има и картинки. Пишете ни на лично и ще ви върнем парите днес.",
            Kind::Insulting,
            "Явно инструкцията ви е дошла сложна, а там има и картинки.",
        ),
        (
            "Извините. Обращений очень много, ваше не единственное. Пришлите номер заказа в личку, вернём деньги сегодня.",
            Kind::Dismissive,
            "Обращений очень много, ваше не единственное.",
        ),
        (
            "Sorry! At least you know the spare works now 😅 Bring the car in tomorrow at our cost.",
            Kind::JokingAboutProblem,
            "At least you know the spare works now 😅",
        ),
        (
            "Ne pare rău. Vă rugăm să contactați echipa de suport, vom analiza situația.",
            Kind::VagueDeflection,
            "Vă rugăm să contactați echipa de suport, vom analiza situația.",
        ),
        (
            "Ne pare rău! Cardul 4256 7800 1123 4590 a fost deblocat acum 10 minute.",
            Kind::PersonalData,
            "Cardul 4256 7800 1123 4590",
        ),
        (
            "Съжаляваме! Пратката за ж.к. Дъбника, бл. 12, вх. Б, ап. 27 тръгна днес.",
            Kind::PersonalData,
            "ж.к. Дъбника, бл. 12",
        ),
        (
            "Sorry to hear that. REFUNDS TAKE UP TO 30 DAYS, NOT BEFORE!!!",
            Kind::Shouting,
            "REFUNDS TAKE UP TO 30 DAYS, NOT BEFORE!!!",
        ),
    ];
    for (reply, kind, pointed) in cases {
        let report = lint(reply, COMPLAINT, None);
        let finding = report
            .findings
            .iter()
            .find(|f| f.kind == kind)
            .unwrap_or_else(|| panic!("{kind} not found in {reply:?}: {:?}", kinds(&report)));
        assert_eq!(spanned(reply, finding), pointed, "{kind}");
        assert!(!report.ok);
    }
}

#[test]
fn good_replies_pass_in_every_language() {
    let good = [
        ("We're sorry, that shouldn't have happened. DM us your order number and we'll refund the full £42 today.", COMPLAINT),
        ("Ne cerem scuze pentru întârziere. Trimiteți-ne AWB-ul în mesaj privat și îl punem pe prima cursă de mâine dimineață.", COMPLAINT),
        ("Извиняваме се за забавянето. Връщането е пуснато днес, сумата ще бъде по сметката ви до 3 работни дни.", COMPLAINT),
        ("Нам очень жаль. Пришлите номер заказа в личку — завтра курьер привезёт другой размер.", COMPLAINT),
        ("Yes, the airport shuttle runs every 30 minutes from 5am to midnight, free for guests.", Some(Intent::Question)),
        ("Guilty, it's a catchy one 😄 Thanks for watching!", Some(Intent::Troll)),
        ("Write to us at support@acme.example or call +40 21 000 0000 and we'll sort it out today. Sorry!", COMPLAINT),
    ];
    for (reply, intent) in good {
        let report = lint(reply, intent, None);
        assert!(report.ok, "{reply:?}: {:?}", kinds(&report));
    }
}

#[test]
fn a_complaint_needs_an_apology_and_a_next_step() {
    let report = lint(
        "Thanks for the feedback, we appreciate it.",
        COMPLAINT,
        None,
    );
    assert_eq!(
        kinds(&report),
        [Kind::MissingApology, Kind::MissingNextStep]
    );
    assert_eq!(
        report.rsr,
        Rsr {
            respond: true,
            apologise: false,
            resolve: false
        }
    );
    // The same words under a question are a fine answer.
    let report = lint(
        "Yes, we'll pass it to the venue manager.",
        Some(Intent::Question),
        None,
    );
    assert!(!kinds(&report).contains(&Kind::MissingApology));
    // A next step inside an accusing sentence does not count.
    let report = lint(
        "Sorry. Payments made after 5pm are processed the next business day, so technically you paid late.",
        COMPLAINT,
        None,
    );
    assert_eq!(kinds(&report), [Kind::Accusing, Kind::MissingNextStep]);
}

#[test]
fn wrong_language_is_judged_against_the_comment() {
    let reply =
        "We're sorry! Send us your order number privately and we'll ship a replacement tomorrow.";
    let report = linter().lint(&Draft {
        reply,
        comment: Some("Comanda mea nu a ajuns nici azi, e a treia oară când scriu."),
        intent: COMPLAINT,
        ..Draft::default()
    });
    assert_eq!(kinds(&report), [Kind::WrongLanguage]);
    assert_eq!(report.findings[0].span, [0, reply.chars().count()]);
    assert!(lint(reply, COMPLAINT, Some(Lang::En)).ok);
}

#[test]
fn messages_are_in_the_replys_language_and_never_hold_the_data() {
    let cases = [
        (
            "Sorry! We've resent them to priya.shah@hotmail.co.uk today.",
            "personal data",
        ),
        (
            "Ne cerem scuze. Le-am retrimis pe mihai.dobre@yahoo.com azi.",
            "date personale",
        ),
        (
            "Извиняваме се. Изпратихме ги отново на n.todorova@gmail.com днес.",
            "лични данни",
        ),
        (
            "Приносим извинения. Отправили повторно на a.kuznetsov@yandex.ru сегодня.",
            "личные данные",
        ),
    ];
    for (reply, words) in cases {
        let report = lint(reply, COMPLAINT, None);
        assert_eq!(kinds(&report), [Kind::PersonalData], "{reply}");
        let finding = &report.findings[0];
        assert!(finding.message.contains(words), "{}", finding.message);
        assert!(!finding.message.contains('@') && !finding.suggestion.contains('@'));
        assert!(spanned(reply, finding).contains('@'));
    }
}

#[test]
fn spans_count_characters_not_bytes() {
    // Cyrillic letters are two bytes each in UTF-8, the emoji four.
    let reply = "🙂 Съжаляваме. ТОВА НЕ Е ВЯРНО И НИКОГА НЕ Е БИЛО!!!";
    let report = lint(reply, Some(Intent::Misinformation), None);
    let shouting = report
        .findings
        .iter()
        .find(|f| f.kind == Kind::Shouting)
        .unwrap();
    assert_eq!(shouting.span, [14, reply.chars().count()]);
}

#[test]
fn the_heads_scores_add_what_phrases_miss() {
    let reply = "Well, that is a new one. We will see what can be done!";
    let calm = lint(reply, Some(Intent::Other), None);
    assert!(calm.ok, "{:?}", kinds(&calm));
    let scores = ReplyScores {
        negative: 0.99,
        abusive: 0.9,
        sentences: Vec::new(),
    };
    let report = lint_scored(reply, Intent::Other, &scores);
    assert_eq!(kinds(&report), [Kind::Emotional, Kind::Insulting]);
}

/// The reply head's scores per sentence, `p` for `kind` in sentence `at`, low elsewhere.
fn head_scores(reply: &str, kind: Kind, at: usize, p: f64) -> ReplyScores {
    let sentences = super::sentences(reply)
        .into_iter()
        .enumerate()
        .map(|(i, span)| super::SentenceFaults {
            span,
            faults: vec![(kind, if i == at { p } else { 0.1 })],
        })
        .collect();
    ReplyScores {
        negative: 0.1,
        abusive: 0.01,
        sentences,
    }
}

/// The report on `reply` answering a comment of `intent`, with the model's `scores`.
fn lint_scored(reply: &str, intent: Intent, scores: &ReplyScores) -> Report {
    linter().lint(&Draft {
        reply,
        intent: Some(intent),
        scores: Some(scores),
        ..Draft::default()
    })
}

#[test]
fn the_reply_head_finds_its_kind_in_the_sentence_it_is_sure_of() {
    let reply = "Thank you for the photos. Honestly, some people expect miracles for ten pounds.";
    let sure = head_scores(reply, Kind::Insulting, 1, 0.8);
    let report = lint_scored(reply, Intent::Complaint, &sure);
    let insulting = report
        .findings
        .iter()
        .find(|f| f.kind == Kind::Insulting)
        .expect("the head's kind is found");
    assert_eq!(insulting.span, super::sentences(reply)[1]);
    let unsure = head_scores(reply, Kind::Insulting, 1, 0.4);
    let report = lint_scored(reply, Intent::Complaint, &unsure);
    assert!(
        !kinds(&report).contains(&Kind::Insulting),
        "{:?}",
        kinds(&report)
    );
}

#[test]
fn the_reply_heads_jokes_count_under_a_problem_and_deflections_without_a_next_step() {
    let reply = "Looks like the pizza wanted a holiday too. Our team will look into it.";
    let run = |kind, at, intent| {
        let report = lint_scored(reply, intent, &head_scores(reply, kind, at, 0.9));
        kinds(&report).contains(&kind)
    };
    assert!(run(Kind::JokingAboutProblem, 0, Intent::Complaint));
    assert!(!run(Kind::JokingAboutProblem, 0, Intent::Praise));
    assert!(run(Kind::VagueDeflection, 1, Intent::Complaint));
    let concrete =
        "Sorry. Our team will look into it. Send us the order number by DM and we refund it today.";
    let scores = head_scores(concrete, Kind::VagueDeflection, 1, 0.9);
    let report = lint_scored(concrete, Intent::Complaint, &scores);
    assert!(
        !kinds(&report).contains(&Kind::VagueDeflection),
        "a concrete next step elsewhere in the reply: {:?}",
        kinds(&report)
    );
}

#[test]
fn sentences_are_character_spans_without_their_spaces() {
    let reply = "Ne pare rău. Vă sunăm mâine!  Mulțumim";
    let spans = super::sentences(reply);
    let chars: Vec<char> = reply.chars().collect();
    let texts: Vec<String> = spans
        .iter()
        .map(|[a, b]| chars[*a..*b].iter().collect())
        .collect();
    assert_eq!(texts, ["Ne pare rău.", "Vă sunăm mâine!", "Mulțumim"]);
}

#[test]
fn latin_typed_bulgarian_matches_the_cyrillic_phrases() {
    let report = lint(
        "Izvinyavame se. Tryabvashe da proverite pratkata pri kuriera.",
        COMPLAINT,
        Some(Lang::Bg),
    );
    assert!(
        kinds(&report).contains(&Kind::Accusing),
        "{:?}",
        kinds(&report)
    );
    assert!(report.rsr.apologise);
}

#[test]
fn a_policy_whose_template_breaks_a_guideline_is_refused_naming_it() {
    let bad = "\"Ne pare rău pentru ce s-a întâmplat și vă mulțumim că ne-ați spus.";
    let text = crate::playbook::DEFAULT_POLICY_TOML.replacen(
        bad,
        "\"Trebuia să citiți termenii. Ne pare rău, dar nu putem face nimic.",
        1,
    );
    assert_ne!(text, crate::playbook::DEFAULT_POLICY_TOML);
    let error = Policy::from_toml_str(&text).unwrap_err().to_string();
    assert!(error.contains("templates.resolve.ro #1"), "{error}");
    assert!(error.contains("accusing"), "{error}");
}

#[test]
fn an_empty_phrase_is_refused_naming_it() {
    let text =
        crate::playbook::DEFAULT_POLICY_TOML.replacen("\"sick of\",", "\"sick of\", \"!!\",", 1);
    let error = Policy::from_toml_str(&text).unwrap_err().to_string();
    assert!(error.contains("lint.phrases.emotional.en #2"), "{error}");
}

#[test]
fn every_default_template_passes_the_linter() {
    let policy = Policy::default_policy();
    let linter = policy.linter();
    let mut linted = 0;
    for &action in crate::labels::Action::ALL {
        let intent = match action {
            crate::labels::Action::Resolve => Intent::Complaint,
            crate::labels::Action::Answer => Intent::Question,
            crate::labels::Action::Thank => Intent::Praise,
            crate::labels::Action::Correct => Intent::Misinformation,
            _ => Intent::Other,
        };
        for &lang in Lang::ALL {
            for template in policy.templates.get(action).get(lang) {
                let reply = crate::playbook::placeholders::fill(template, &policy.brand).unwrap();
                let report = linter.lint(&Draft {
                    reply: &reply,
                    intent: Some(intent),
                    lang: Some(lang),
                    ..Draft::default()
                });
                assert!(
                    report.ok,
                    "{action}.{lang}: {reply:?}: {:?}",
                    kinds(&report)
                );
                if action == crate::labels::Action::Resolve {
                    assert!(report.rsr.apologise && report.rsr.resolve, "{reply:?}");
                }
                linted += 1;
            }
        }
    }
    assert_eq!(linted, 7 * 4 * 3);
}

#[test]
fn the_brands_own_line_is_a_next_step_not_personal_data() {
    let ours =
        "Sorry about the bill. Call our billing team on 0800 046 7712 and they will go through it.";
    let report = lint(ours, COMPLAINT, None);
    assert!(report.ok, "{:?}", kinds(&report));
    let theirs =
        "Sorry about the bill. Our engineer rang 07700 900482 twice, so the visit is booked.";
    assert!(kinds(&lint(theirs, COMPLAINT, None)).contains(&Kind::PersonalData));
}

#[test]
fn a_time_of_day_is_a_concrete_next_step() {
    let reply = "Простите за задержку. Мастер придёт в среду с 10:00 до 13:00.";
    let report = lint(reply, COMPLAINT, None);
    assert!(report.ok, "{:?}", kinds(&report));
    assert!(report.rsr.resolve);
}

#[test]
fn a_reply_in_a_language_the_detector_does_not_know_is_still_the_wrong_one() {
    for reply in [
        "Lamentamos mucho lo ocurrido. Le devolveremos el dinero hoy mismo.",
        "Excuses voor het ongemak. De dubbele betaling wordt binnen 3 werkdagen teruggestort.",
    ] {
        assert_eq!(
            kinds(&lint(reply, COMPLAINT, Some(Lang::En))),
            [Kind::WrongLanguage]
        );
    }
    let english = "Sorry about the double charge. We refund it to your card today.";
    assert!(lint(english, COMPLAINT, Some(Lang::En)).ok);
}

#[test]
fn a_reply_in_another_language_is_not_judged_for_apology_or_next_step() {
    let reply = "Благодарим за отзыв, посмотрим.";
    assert_eq!(
        kinds(&lint(reply, COMPLAINT, Some(Lang::En))),
        [Kind::WrongLanguage]
    );
}

#[test]
fn a_company_mailbox_and_an_amount_are_not_personal_data() {
    let reply = "Съжаляваме! Пратете снимка на claims@sigurnost.bg, а годишната карта е 540 лв. – ще я удължим до утре.";
    let report = lint(reply, COMPLAINT, None);
    assert!(report.ok, "{:?}", kinds(&report));
    let theirs = "Sorry! We wrote to elena.koleva84@abv.bg and refund it today.";
    assert!(kinds(&lint(theirs, COMPLAINT, None)).contains(&Kind::PersonalData));
}
