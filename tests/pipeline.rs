//! Real comments in each language through the real encoder, the committed heads and the
//! default playbook: clear-cut cases must get the action the playbook calls for.

mod common;

use tact::comment::{Comment, ThreadMessage};
use tact::labels::{Action, Lang};

fn comment(id: &str, text: &str) -> Comment {
    Comment {
        id: Some(id.into()),
        text: text.into(),
        ..Default::default()
    }
}

#[test]
fn clear_cases_in_every_language() {
    let cases = [
        ("ro-1", "Am primit aspiratorul ieri și deja nu mai pornește, e al doilea defect în două luni. Vreau să mi se rezolve problema!", Lang::Ro, Action::Resolve),
        ("ro-2", "Mulțumesc frumos pentru livrarea rapidă, produsele au venit perfect ambalate! 😍", Lang::Ro, Action::Thank),
        ("bg-1", "Благодаря ви много, обслужването беше страхотно и поръчката дойде на следващия ден!", Lang::Bg, Action::Thank),
        ("bg-2", "Печелете по 500 лева на ден от вкъщи!!! Пишете ми на лично, линк в профила 💰💰", Lang::Bg, Action::Hide),
        ("ru-1", "Зарабатывай от 3000 рублей в день без вложений! Переходи по ссылке в профиле 💸", Lang::Ru, Action::Hide),
        ("ru-2", "Спасибо огромное, курьер приехал вовремя и всё было отлично упаковано!", Lang::Ru, Action::Thank),
        ("en-1", "Do you deliver to Leeds on Sundays?", Lang::En, Action::Answer),
        ("en-2", "The blender I got yesterday leaks all over the counter and the lid is cracked. Really disappointed.", Lang::En, Action::Resolve),
    ];
    let p = common::pipeline();
    let comments: Vec<Comment> = cases.iter().map(|c| comment(c.0, c.1)).collect();
    let decided = p.decide_all(comments, 8).unwrap();
    for (case, d) in cases.iter().zip(&decided) {
        let d = &d.decision;
        assert_eq!(d.lang, case.2, "language of {}", case.1);
        assert_eq!(
            d.action, case.3,
            "{}: {} (rule {:?}, reasons {:?})",
            case.0, case.1, d.rule, d.reasons
        );
        if tact::playbook::action_replies(d.action) {
            assert!(
                d.reply
                    .as_ref()
                    .is_some_and(|r| r.template.contains(&format!(".{}.", case.2))),
                "reply in {:?}: {:?}",
                case.2,
                d.reply
            );
        }
    }
}

#[test]
fn abuse_is_removed_not_answered() {
    let p = common::pipeline();
    let d = p
        .decide_all(
            vec![comment(
                "ab-1",
                "You stupid idiot admin, go f*** yourself, your mother is a whore",
            )],
            1,
        )
        .unwrap();
    let d = &d[0].decision;
    assert!(
        matches!(d.action, Action::DeleteAndBan | Action::Hide),
        "{:?} {:?}",
        d.action,
        d.reasons
    );
    assert!(d.reply.is_none());
}

#[test]
fn the_brand_already_answered_and_the_author_keeps_attacking() {
    let p = common::pipeline();
    let mut c = comment("rsra-1", "Tot nu mi-a venit comanda!!! Sunteți niște incompetenți, nu ați rezolvat nimic de două săptămâni.");
    c.author_id = Some("u-1".into());
    c.thread = vec![
        ThreadMessage {
            text: "Comanda mea nu a venit de două săptămâni".into(),
            from_brand: false,
        },
        ThreadMessage {
            text: "Ne pare rău! V-am scris în privat ca să verificăm comanda.".into(),
            from_brand: true,
        },
        ThreadMessage {
            text: "Nu m-a contactat nimeni".into(),
            from_brand: false,
        },
        ThreadMessage {
            text: "Colegii vă sună azi până la ora 17.".into(),
            from_brand: true,
        },
    ];
    let d = p.decide_all(vec![c], 1).unwrap();
    let d = &d[0].decision;
    assert_eq!(d.action, Action::Wait, "{:?}", d.reasons);
    assert!(d.reply.is_none());
}
