//! The playbook's decisions, rule by rule, through [`Playbook::decide`].

mod v2;
use super::*;
use crate::comment::ThreadMessage;
use crate::labels::{Action, Intent};

/// Scores with one dominant intent; the rest of the mass spread evenly, a neutral author.
pub(super) fn scores(intent: Intent, p: f32) -> Scores {
    let mut scores = Scores {
        intent: [(1.0 - p) / 8.0; 9],
        sentiment: [0.2, 0.6, 0.2],
        abusive: 0.02,
        labels: None,
        follow_up: None,
    };
    scores.intent[intent.index()] = p;
    scores
}

/// Sets the negative sentiment, the rest mostly neutral.
pub(super) fn negative(mut scores: Scores, p: f32) -> Scores {
    scores.sentiment = [p, (1.0 - p) * 0.8, (1.0 - p) * 0.2];
    scores
}

/// Scores split between two intents.
pub(super) fn split(a: Intent, pa: f32, b: Intent, pb: f32) -> Scores {
    let mut scores = scores(a, pa);
    let rest = (1.0 - pa - pb) / 7.0;
    for (i, p) in scores.intent.iter_mut().enumerate() {
        if i != a.index() {
            *p = rest;
        }
    }
    scores.intent[b.index()] = pb;
    scores
}

pub(super) fn comment(id: &str, text: &str) -> Comment {
    Comment {
        id: Some(id.to_string()),
        text: text.to_string(),
        ..Comment::default()
    }
}

pub(super) fn answered_thread() -> Vec<ThreadMessage> {
    vec![
        ThreadMessage {
            text: "Comanda a venit spartă.".into(),
            from_brand: false,
        },
        ThreadMessage {
            text: "Ne pare rău! Ne scrieți numărul comenzii în privat?".into(),
            from_brand: true,
        },
    ]
}

pub(super) fn playbook() -> Playbook {
    Playbook::new(Policy::default_policy())
}

pub(super) fn decide(text: &str, lang: Lang, scores: &Scores) -> Decision {
    playbook().decide(&comment("c-1", text), lang, scores)
}

#[test]
fn spam_is_hidden() {
    let d = decide(
        "Earn $500/day from home, DM me",
        Lang::En,
        &scores(Intent::Spam, 0.9),
    );
    assert_eq!((d.rule, d.action), (RuleId::SpamHide, Action::Hide));
    assert_eq!((d.responder, d.reply), (None, None));
    assert_eq!(d.respond_within_minutes, Some(120));
}

#[test]
fn trolls_are_ignored_with_nothing_due() {
    let d = decide(
        "lol nobody buys this garbage",
        Lang::En,
        &scores(Intent::Troll, 0.8),
    );
    assert_eq!((d.rule, d.action), (RuleId::TrollIgnore, Action::Ignore));
    assert_eq!((d.respond_within_minutes, d.reply), (None, None));
    assert_eq!(d.channel, Channel::None);
}

#[test]
fn complaint_gets_rsr_from_an_agent_within_the_hour() {
    let s = negative(scores(Intent::Complaint, 0.91), 0.7);
    let d = decide("Blenderul primit ieri curge.", Lang::Ro, &s);
    assert_eq!((d.rule, d.action), (RuleId::ComplaintRsr, Action::Resolve));
    assert_eq!(d.responder, Some(Responder::Agent));
    assert_eq!(d.channel, Channel::Public);
    assert_eq!(d.respond_within_minutes, Some(60));
    assert_eq!(d.confidence, 0.91);
    assert_eq!(d.reasons, ["intent complaint 0.91 >= 0.50"]);
    assert!(d.guideline.starts_with("RSR"));
    let reply = d.reply.unwrap();
    assert!(
        reply.template.starts_with("resolve.ro."),
        "{}",
        reply.template
    );
    assert!(
        reply.text.contains("Ne pare") || reply.text.contains("scuze"),
        "{}",
        reply.text
    );
}

#[test]
fn complaint_with_order_details_moves_to_a_private_channel() {
    let s = scores(Intent::Complaint, 0.9);
    for (text, lang, fact) in [
        ("Comanda 55317 nu a ajuns", Lang::Ro, "a number of 5 digits"),
        (
            "Мне списали деньги с карты дважды",
            Lang::Ru,
            "the word \"карты\" (ru)",
        ),
        (
            "Nu mi-ați returnat banii pe card",
            Lang::Ro,
            "the word \"card*\" (ro)",
        ),
    ] {
        let d = decide(text, lang, &s);
        assert_eq!(
            d.channel,
            Channel::PublicThenPrivate,
            "{text}: {:?}",
            d.reasons
        );
        let why = format!("private details ({fact}): channel public_then_private");
        assert!(d.reasons.contains(&why), "{text}: {:?}", d.reasons);
    }
    let plain = decide("The blender leaks", Lang::En, &s);
    assert_eq!(plain.channel, Channel::Public);
}

#[test]
fn very_angry_complaint_goes_to_a_senior() {
    let s = negative(scores(Intent::Complaint, 0.9), 0.9);
    let shouting = decide("AM AȘTEPTAT DOUĂ SĂPTĂMÂNI PENTRU NIMIC", Lang::Ro, &s);
    assert_eq!(shouting.responder, Some(Responder::Senior));
    assert!(shouting
        .reasons
        .iter()
        .any(|r| r.contains("capital letters")));
    let bangs = decide("Two weeks and nothing!!!", Lang::En, &s);
    assert_eq!(bangs.responder, Some(Responder::Senior));
    // Negative alone is not "very angry".
    let calm = decide("Two weeks and nothing.", Lang::En, &s);
    assert_eq!(calm.responder, Some(Responder::Agent));
    let mut rude = s.clone();
    rude.abusive = 0.4;
    assert_eq!(
        decide("Two weeks.", Lang::En, &rude).responder,
        Some(Responder::Senior)
    );
}

#[test]
fn crisis_words_on_a_complaint_escalate() {
    let s = negative(scores(Intent::Complaint, 0.7), 0.8);
    for (text, lang) in [
        ("Vă dau în judecată, merg la ANPC", Lang::Ro),
        ("Ще сигнализирам КЗП", Lang::Bg),
        ("Пожалуюсь в Роспотребнадзор", Lang::Ru),
        ("My son got food poisoning from your soup", Lang::En),
        ("shte vi sadq", Lang::Bg),
    ] {
        let d = decide(text, lang, &s);
        assert_eq!(d.rule, RuleId::ComplaintEscalate, "{text}");
        assert_eq!(
            (d.action, d.responder),
            (Action::Escalate, Some(Responder::Senior))
        );
        assert!(d
            .reply
            .unwrap()
            .template
            .starts_with(&format!("escalate.{lang}.")));
    }
    // The same words without a complaint behind them do not escalate.
    let question = decide(
        "Do you deliver to the police station?",
        Lang::En,
        &scores(Intent::Question, 0.9),
    );
    assert_eq!(question.action, Action::Answer);
}

#[test]
fn rsra_needs_an_answer_to_the_author_and_a_new_attack() {
    let s = negative(scores(Intent::Complaint, 0.8), 0.85);
    // The brand's own post opening the thread is not an answer.
    let mut c = comment("c-3", "Your new menu is worse.");
    c.thread = vec![ThreadMessage {
        text: "Our new menu is here!".into(),
        from_brand: true,
    }];
    assert_eq!(
        playbook().decide(&c, Lang::En, &s).rule,
        RuleId::ComplaintRsr
    );
    // A calm follow-up question after the answer is answered.
    c.thread = answered_thread();
    let question = scores(Intent::Question, 0.9);
    assert_eq!(
        playbook().decide(&c, Lang::En, &question).action,
        Action::Answer
    );
}

#[test]
fn misinformation_is_corrected_publicly_within_the_hour() {
    let text = "Închid toate magazinele luna viitoare și păstrează avansurile.";
    let d = decide(text, Lang::Ro, &scores(Intent::Misinformation, 0.8));
    assert_eq!(
        (d.rule, d.action),
        (RuleId::MisinformationCorrect, Action::Correct)
    );
    assert_eq!(
        (d.responder, d.channel),
        (Some(Responder::Agent), Channel::Public)
    );
    assert_eq!(d.respond_within_minutes, Some(60));
    assert!(d.reply.unwrap().template.starts_with("correct.ro."));
}

#[test]
fn a_sure_simple_request_goes_to_a_bot() {
    let s = scores(Intent::Request, 0.95);
    for (text, lang) in [
        ("Cand ajunge comanda mea?", Lang::Ro),
        ("Кога ще пристигне поръчката ми?", Lang::Bg),
        ("kogda pridet moj zakaz?", Lang::Ru),
        ("Are you open on Sunday?", Lang::En),
    ] {
        let d = decide(text, lang, &s);
        assert_eq!(d.rule, RuleId::AnswerBot, "{text}: {:?}", d.reasons);
        assert_eq!(
            (d.action, d.responder),
            (Action::Answer, Some(Responder::Bot))
        );
        assert_eq!(d.respond_within_minutes, Some(5));
    }
}

#[test]
fn complex_unsure_or_angry_questions_go_to_an_agent() {
    let complex = decide(
        "Can your blender crush ice for smoothies?",
        Lang::En,
        &scores(Intent::Question, 0.95),
    );
    assert_eq!(
        (complex.rule, complex.responder),
        (RuleId::AnswerAgent, Some(Responder::Agent))
    );
    assert!(complex
        .reasons
        .contains(&"no bot: not a simple request".to_string()));

    // 0.70 request + 0.0375 question.
    let unsure = decide(
        "Where is my order?",
        Lang::En,
        &scores(Intent::Request, 0.7),
    );
    assert_eq!(unsure.rule, RuleId::AnswerAgent);
    let why = "no bot: confidence 0.74 < 0.85".to_string();
    assert!(unsure.reasons.contains(&why), "{:?}", unsure.reasons);

    let angry = negative(scores(Intent::Request, 0.95), 0.9);
    let d = decide("WHERE IS MY ORDER 5531???!!!", Lang::En, &angry);
    assert_eq!(
        (d.rule, d.responder),
        (RuleId::AnswerAgent, Some(Responder::Senior))
    );
    assert_eq!(d.channel, Channel::PublicThenPrivate);
}

#[test]
fn question_and_request_add_up() {
    let d = decide(
        "Do you have it in blue?",
        Lang::En,
        &split(Intent::Question, 0.4, Intent::Request, 0.4),
    );
    assert_eq!(d.action, Action::Answer);
    assert_eq!(d.confidence, 0.8);
    assert_eq!(d.reasons[0], "intent question+request 0.80 >= 0.50");
}

#[test]
fn praise_is_thanked_by_a_bot_within_a_day() {
    let d = decide(
        "Super fast delivery, thank you!",
        Lang::En,
        &scores(Intent::Praise, 0.9),
    );
    assert_eq!((d.rule, d.action), (RuleId::PraiseThank, Action::Thank));
    assert_eq!(d.responder, Some(Responder::Bot));
    assert_eq!(d.respond_within_minutes, Some(1440));
    assert!(
        d.reply.unwrap().text.contains("Acme"),
        "the brand placeholder is filled"
    );
}

#[test]
fn other_is_acknowledged() {
    let d = decide("@maria uite", Lang::Ro, &scores(Intent::Other, 0.8));
    assert_eq!(
        (d.rule, d.action),
        (RuleId::OtherAcknowledge, Action::Acknowledge)
    );
    assert!(d.reply.unwrap().template.starts_with("acknowledge.ro."));
}

/// The default policy with one line replaced; panics if the line is not there.
pub(super) fn policy_with(line: &str, replacement: &str) -> Policy {
    assert!(DEFAULT_POLICY_TOML.contains(line), "no line {line:?}");
    Policy::from_toml_str(&DEFAULT_POLICY_TOML.replacen(line, replacement, 1)).unwrap()
}

#[test]
fn a_close_call_on_a_risky_intent_is_escalated_when_the_policy_asks() {
    // Off by default (uncertain_margin = 0: it was never right on the calibration split).
    let s = split(Intent::Complaint, 0.42, Intent::Misinformation, 0.38);
    let text = "Am auzit că vindeți produse expirate";
    assert_eq!(decide(text, Lang::Ro, &s).rule, RuleId::ComplaintRsr);
    let book = Playbook::new(policy_with(
        "uncertain_margin = 0.0",
        "uncertain_margin = 0.15",
    ));
    let d = book.decide(&comment("c-1", text), Lang::Ro, &s);
    assert_eq!(
        (d.rule, d.action),
        (RuleId::UncertainEscalate, Action::Escalate)
    );
    assert_eq!(d.responder, Some(Responder::Senior));
    assert!(d.needs_review);
    // Confidence: the mass of the risky intents (complaint, misinformation, abuse).
    let rest = (1.0 - 0.42 - 0.38) / 7.0;
    assert!(
        (d.confidence - (0.8 + rest)).abs() < 1e-4,
        "{}",
        d.confidence
    );
}

#[test]
fn an_unsure_harmless_call_follows_the_top_intent_with_review() {
    let d = decide(
        "ok",
        Lang::En,
        &split(Intent::Praise, 0.45, Intent::Other, 0.35),
    );
    assert_eq!((d.rule, d.action), (RuleId::PraiseThank, Action::Thank));
    assert!(d.needs_review);
    assert_eq!(d.responder, Some(Responder::Agent));
    // A risky top intent far ahead of the runner-up is not a close call.
    let far = decide(
        "hm",
        Lang::En,
        &split(Intent::Complaint, 0.45, Intent::Other, 0.1),
    );
    assert_eq!(far.rule, RuleId::ComplaintRsr);
    assert!(far.needs_review);
}

#[test]
fn reply_variant_is_stable_per_comment_and_spread_over_comments() {
    let book = playbook();
    let s = scores(Intent::Praise, 0.9);
    let template = |id: &str| {
        book.decide(&comment(id, "Mulțumesc!"), Lang::Ro, &s)
            .reply
            .unwrap()
            .template
    };
    let used: std::collections::BTreeSet<String> =
        (0..30).map(|i| template(&format!("c-{i}"))).collect();
    assert_eq!(
        used.into_iter().collect::<Vec<_>>(),
        ["thank.ro.1", "thank.ro.2", "thank.ro.3"]
    );
    assert_eq!(template("c-7"), template("c-7"));
    // Without an id the text picks the variant, still deterministically.
    let anonymous = Comment {
        text: "Mulțumesc!".into(),
        ..Comment::default()
    };
    let first = book.decide(&anonymous, Lang::Ro, &s).reply;
    assert_eq!(first, book.decide(&anonymous, Lang::Ro, &s).reply);
}

#[test]
fn a_language_without_templates_falls_back_and_says_so() {
    let mut table: toml::Table = toml::from_str(DEFAULT_POLICY_TOML).unwrap();
    table["templates"]["thank"]
        .as_table_mut()
        .unwrap()
        .remove("bg");
    table.insert("fallback_lang".into(), "en".into());
    let policy = Policy::from_toml_str(&toml::to_string(&table).unwrap()).unwrap();
    let d = Playbook::new(policy).decide(
        &comment("c-1", "Благодаря!"),
        Lang::Bg,
        &scores(Intent::Praise, 0.9),
    );
    assert!(d.reply.unwrap().template.starts_with("thank.en."));
    assert!(d
        .reasons
        .contains(&"no thank templates in bg: reply in en (fallback_lang)".to_string()));
}

#[test]
fn placeholders_are_filled_from_the_brand() {
    let mut table: toml::Table = toml::from_str(DEFAULT_POLICY_TOML).unwrap();
    table["brand"]["name"] = "Florăria Ana".into();
    table["brand"]["support_email"] = "ajutor@florariaana.ro".into();
    let policy = Policy::from_toml_str(&toml::to_string(&table).unwrap()).unwrap();
    let book = Playbook::new(policy);
    let texts: Vec<String> = (0..12)
        .filter_map(|i| {
            book.decide(
                &comment(&format!("c-{i}"), "?"),
                Lang::Ro,
                &scores(Intent::Complaint, 0.9),
            )
            .reply
        })
        .map(|r| r.text)
        .collect();
    assert!(texts.iter().all(|t| !t.contains('{')), "{texts:?}");
    assert!(
        texts.iter().any(|t| t.contains("ajutor@florariaana.ro")),
        "{texts:?}"
    );
}

#[test]
fn default_templates_cover_every_language_with_concrete_channels() {
    let policy = Policy::default_policy();
    for &action in Action::ALL.iter().filter(|&&a| action_replies(a)) {
        for &lang in Lang::ALL {
            assert!(
                policy.templates.get(action).get(lang).len() >= 3,
                "{action}.{lang}"
            );
        }
    }
    // Never a vague "contact support": each resolve and escalate variant names a channel.
    let concrete = [
        "{support_email}",
        "{support_phone}",
        "privat",
        "лично съобщение",
        "личные сообщения",
        "private message",
    ];
    for action in [Action::Resolve, Action::Escalate] {
        for &lang in Lang::ALL {
            for text in policy.templates.get(action).get(lang) {
                assert!(
                    concrete.iter().any(|c| text.contains(c)),
                    "{action}.{lang}: {text}"
                );
            }
        }
    }
    // Romanian is written with comma-below ș and ț, not the cedilla look-alikes.
    for &action in Action::ALL {
        for text in policy.templates.get(action).get(Lang::Ro) {
            assert!(!text.contains(['ş', 'ţ', 'Ş', 'Ţ']), "{text}");
        }
    }
}

#[test]
fn decision_json_has_the_spec_shape() {
    let d = decide(
        "Blenderul curge.",
        Lang::Ro,
        &negative(scores(Intent::Complaint, 0.91), 0.88),
    );
    let json = serde_json::to_value(&d).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = [
        "id",
        "lang",
        "intent",
        "sentiment",
        "scores",
        "action",
        "confidence",
        "responder",
        "channel",
        "respond_within_minutes",
        "priority",
        "rule",
        "reasons",
        "guideline",
        "needs_review",
        "reply",
    ];
    expected.sort();
    let mut keys_sorted = keys.clone();
    keys_sorted.sort();
    assert_eq!(keys_sorted, expected);
    assert_eq!(json["id"], "c-1");
    assert_eq!(
        json["intent"],
        serde_json::json!({"label": "complaint", "confidence": 0.91})
    );
    assert_eq!(json["sentiment"]["label"], "negative");
    assert_eq!(json["scores"]["intent"]["complaint"], 0.91);
    assert_eq!(json["scores"]["sentiment"]["negative"], 0.88);
    assert_eq!(json["scores"]["intent"].as_object().unwrap().len(), 9);
    assert_eq!(json["action"], "resolve");
    assert_eq!(json["responder"], "agent");
    assert_eq!(json["channel"], "public");
    assert_eq!(json["priority"], "high");
    assert_eq!(json["rule"], "complaint-rsr");
    assert_eq!(json["reasons"][0], "intent complaint 0.91 >= 0.50");
    assert!(json["reply"]["text"].is_string() && json["reply"]["template"].is_string());
    assert_eq!(serde_json::from_value::<Decision>(json).unwrap(), d);

    // No reply due, no id: both null, never missing.
    let quiet = playbook().decide(
        &Comment {
            text: "lol".into(),
            ..Comment::default()
        },
        Lang::En,
        &scores(Intent::Troll, 0.9),
    );
    let json = serde_json::to_value(&quiet).unwrap();
    for key in ["id", "reply", "responder", "respond_within_minutes"] {
        assert!(json[key].is_null(), "{key}: {json}");
    }
    assert_eq!(json["channel"], "none");
    assert_eq!(json["action"], "ignore");
}
