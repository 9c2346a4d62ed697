//! A decision put together from the rule that fired: the reply chosen and filled, the
//! language fallback, a long text's cut, review from the calibrated confidence, and the
//! Decision JSON's shape.

use super::fixtures::*;
use super::*;
use crate::labels::{Action, Intent};

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
    // Every wire field and no other: the list the OpenAPI schema publishes.
    let mut expected = Decision::FIELDS;
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

#[test]
fn a_long_text_says_it_was_read_head_and_tail() {
    let s = scores(Intent::Complaint, 0.9);
    let c = comment("c-11", "…");
    let d = playbook().decide_input(&Input {
        comment: &c,
        lang: Lang::En,
        scores: &s,
        history: None,
        cut: Some(Cut {
            head: 64,
            tail: 192,
            total: 700,
        }),
    });
    assert!(d
        .reasons
        .contains(&"long text: read its first 64 and last 192 of 700 tokens".to_string()));
}

#[test]
fn review_follows_the_policys_automation_accuracy() {
    // Uncalibrated, a decision needs review below automated_accuracy (0.90) itself.
    let unsure = decide("Mersi", Lang::Ro, &scores(Intent::Praise, 0.85));
    assert!(unsure.needs_review);
    assert_eq!(unsure.responder, Some(Responder::Agent));
    assert!(unsure.reasons.contains(
        &"confidence 0.85 < 0.90 (automated decisions 90% right): needs review".to_string()
    ));
    let sure = decide("Mersi", Lang::Ro, &scores(Intent::Praise, 0.95));
    assert!(!sure.needs_review);
    assert_eq!(sure.responder, Some(Responder::Bot));

    // Calibrated: the confidence is the probability of being right, and the cut-off keeps
    // the automated decisions at the target on the calibration split.
    let calibration = Calibration {
        slope: 1.0,
        intercept: -1.0,
        offsets: Default::default(),
        confidences: vec![0.99, 0.97, 0.95, 0.9, 0.6, 0.4],
        policy_digest: Policy::default_policy().digest(),
    };
    let book = playbook().calibrated(Some(calibration.clone()));
    assert_eq!(book.review_below(), calibration.cutoff(0.90));
    let d = book.decide(
        &comment("c-1", "Mersi"),
        Lang::Ro,
        &scores(Intent::Praise, 0.95),
    );
    assert!((d.confidence - f64::from(calibration.apply(Action::Thank, 0.95))).abs() < 1e-4);
    assert_eq!(d.needs_review, (d.confidence as f32) < book.review_below());
}
