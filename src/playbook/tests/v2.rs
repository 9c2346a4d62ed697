//! Decisions v2: bans only on agreeing evidence, RSRA from the author's history, personal
//! data hidden and answered in private, long texts read head and tail, and a confidence that
//! is calibrated and decides `needs_review` from one policy number.

use super::*;

fn abusive(mut scores: Scores, p: f32) -> Scores {
    scores.abusive = p;
    scores
}

fn follow_up(text: &str) -> Comment {
    Comment {
        thread: answered_thread(),
        ..comment("c-9", text)
    }
}

#[test]
fn a_ban_needs_both_abuse_signals_to_agree() {
    let s = abusive(scores(Intent::Abuse, 0.8), 0.93);
    let d = decide("you are all brainless idiots", Lang::En, &s);
    assert_eq!(
        (d.rule, d.action),
        (RuleId::AbuseDelete, Action::DeleteAndBan)
    );
    assert_eq!(
        d.reasons[..3],
        [
            "abusive 0.93 >= 0.50",
            "intent abuse 0.80 >= 0.50",
            "the stronger 0.93 >= 0.70"
        ]
    );
    assert_eq!(d.confidence, 0.8, "the weaker signal");
    assert_eq!(
        (d.responder, d.channel, d.reply),
        (None, Channel::None, None)
    );
    assert_eq!(d.priority, Priority::Urgent);

    // The head alone, or the intent alone: hidden until a person decides, never banned.
    for s in [
        abusive(split(Intent::Troll, 0.5, Intent::Abuse, 0.2), 0.93),
        abusive(scores(Intent::Abuse, 0.9), 0.1),
    ] {
        let d = decide("you are all brainless idiots", Lang::En, &s);
        assert_eq!((d.rule, d.action), (RuleId::AbuseReview, Action::Hide));
        assert!(d.needs_review);
        assert!(d
            .reasons
            .contains(&"the evidence for a ban does not agree: a person decides".to_string()));
    }
}

#[test]
fn emoji_or_a_single_token_is_never_banned() {
    let s = abusive(scores(Intent::Abuse, 0.95), 0.97);
    for (text, words) in [("😡😡😡", 0), ("🤡", 0), ("idiots!!!", 1)] {
        let d = decide(text, Lang::En, &s);
        assert_eq!(
            (d.rule, d.action),
            (RuleId::AbuseReview, Action::Hide),
            "{text}"
        );
        assert!(d.needs_review);
        let why = format!("{words} word(s): never a ban on emoji or a single token");
        assert!(d.reasons.contains(&why), "{text}: {:?}", d.reasons);
    }
}

#[test]
fn a_policy_insult_with_a_moderate_head_is_enough_for_a_ban() {
    let s = abusive(scores(Intent::Troll, 0.7), 0.65);
    let d = decide("fuck you and your app", Lang::En, &s);
    assert_eq!(d.rule, RuleId::AbuseDelete);
    assert_eq!(
        d.reasons[..2],
        ["abuse word \"fuck you\" (en)", "abusive 0.65 >= 0.60"]
    );
    // Without the word, the same scores are a troll's (the head alone does not override).
    let d = decide("your app is a joke", Lang::En, &s);
    assert_eq!(d.rule, RuleId::TrollIgnore);
}

#[test]
fn the_abusive_head_alone_does_not_override_a_confident_intent() {
    // A Latin-script Bulgarian thank-you that the abusive head misreads.
    let s = abusive(scores(Intent::Praise, 0.9), 0.66);
    let d = decide("blagodarq mnogo, stana super", Lang::Bg, &s);
    assert_eq!((d.rule, d.action), (RuleId::PraiseThank, Action::Thank));
    // With an unsure intent the head still hides the comment for review.
    let unsure = abusive(split(Intent::Praise, 0.4, Intent::Other, 0.3), 0.66);
    assert_eq!(
        decide("blagodarq mnogo", Lang::Bg, &unsure).rule,
        RuleId::AbuseReview
    );
}

#[test]
fn a_short_vague_attack_after_an_answer_is_awaited_without_a_sentiment_gate() {
    // "forget it, you're hopeless": low complaint and troll each, mild sentiment.
    let mut s = split(Intent::Troll, 0.35, Intent::Complaint, 0.3);
    s.sentiment = [0.3, 0.5, 0.2];
    let d = playbook().decide(&follow_up("Lăsați, sunteți iremediabili."), Lang::Ro, &s);
    assert_eq!((d.rule, d.action), (RuleId::RsraWait, Action::Wait));
    assert_eq!(
        (d.responder, d.reply, d.respond_within_minutes),
        (None, None, None)
    );
    assert_eq!(
        d.reasons[0],
        "thread: the brand already answered 1 time(s) and the author comes back"
    );
    assert!(
        d.reasons[1].starts_with("intent complaint+troll+abuse+misinformation 0.7"),
        "{:?}",
        d.reasons
    );
    // The same words without a brand answer are a troll's, not RSRA.
    let first = playbook().decide(
        &comment("c-9", "Lăsați, sunteți iremediabili."),
        Lang::Ro,
        &s,
    );
    assert_ne!(first.rule, RuleId::RsraWait);
}

#[test]
fn the_follow_up_head_decides_rsra_where_the_heads_have_it() {
    // Vague and low on every intent, but the head trained on follow-ups reads the attack.
    let mut s = scores(Intent::Other, 0.8);
    s.follow_up = Some(0.83);
    let d = playbook().decide(&follow_up("yeah right"), Lang::En, &s);
    assert_eq!(d.rule, RuleId::RsraWait);
    assert_eq!(d.reasons[1], "follow-up keeps attacking 0.83 >= 0.50");
    assert_eq!(d.scores.follow_up, Some(0.83));
    // A follow-up the head reads as calm is decided on its intent, however negative.
    let mut s = negative(scores(Intent::Complaint, 0.95), 0.95);
    s.follow_up = Some(0.1);
    let d = playbook().decide(&follow_up("Updated. Now the sound is gone."), Lang::En, &s);
    assert_eq!(d.rule, RuleId::ComplaintRsr);
    // Without a brand answer the head's score is not shown, nor used.
    let d = playbook().decide(&comment("c-9", "yeah right"), Lang::En, &s);
    assert_eq!(d.scores.follow_up, None);
}

#[test]
fn a_calm_follow_up_is_not_silenced() {
    let s = negative(scores(Intent::Complaint, 0.95), 0.95);
    for (text, lang) in [
        (
            "Thanks, but it still doesn't work. Could you check again?",
            Lang::En,
        ),
        ("Comanda 48812, verificați.", Lang::Ro),
        ("Спасибо, но проблема осталась.", Lang::Ru),
    ] {
        let d = playbook().decide(&follow_up(text), lang, &s);
        assert_eq!(d.rule, RuleId::ComplaintRsr, "{text}: {:?}", d.reasons);
    }
    // A new question after the answer is answered.
    let d = playbook().decide(
        &follow_up("Do you deliver on Sundays?"),
        Lang::En,
        &scores(Intent::Question, 0.9),
    );
    assert_eq!(d.action, Action::Answer);
}

#[test]
fn rsra_reads_a_history_that_a_store_fills_without_a_thread() {
    let s = negative(scores(Intent::Complaint, 0.9), 0.9);
    let c = comment("c-10", "Still nothing. Typical.");
    let history = History {
        brand_answers: 2,
        follow_ups: 1,
        source: HistorySource::Store,
    };
    let d = playbook().decide_input(&Input {
        comment: &c,
        lang: Lang::En,
        scores: &s,
        history: Some(history),
        cut: None,
    });
    assert_eq!(d.rule, RuleId::RsraWait);
    assert_eq!(
        d.reasons[0],
        "author history: the brand already answered 2 time(s) and the author comes back"
    );
    // Without a thread or a history, the same comment is a complaint.
    assert_eq!(
        playbook().decide(&c, Lang::En, &s).rule,
        RuleId::ComplaintRsr
    );
}

#[test]
fn genuine_abuse_is_deleted_before_rsra_and_a_crisis_escalates_before_it() {
    let s = abusive(negative(scores(Intent::Abuse, 0.85), 0.95), 0.95);
    let d = playbook().decide(&follow_up("Sunteți niște hoți nenorociți"), Lang::Ro, &s);
    assert_eq!(d.rule, RuleId::AbuseDelete);
    let s = negative(scores(Intent::Complaint, 0.9), 0.9);
    let d = playbook().decide(
        &follow_up("Still broken. My lawyer will hear about this."),
        Lang::En,
        &s,
    );
    assert_eq!(d.rule, RuleId::ComplaintEscalate);
    let d = playbook().decide(&follow_up("Still broken. Unbelievable."), Lang::En, &s);
    assert_eq!(d.rule, RuleId::RsraWait);
}

#[test]
fn personal_data_is_hidden_and_answered_in_private_never_echoed() {
    let s = negative(scores(Intent::Complaint, 0.9), 0.8);
    let text =
        "Nu mi-a venit comanda! Sunați-mă la 0722 123 456 sau ana.pop@gmail.com, CNP 1800101221144";
    let d = decide(text, Lang::Ro, &s);
    assert_eq!((d.rule, d.action), (RuleId::PersonalDataHide, Action::Hide));
    assert_eq!(
        (d.responder, d.channel),
        (Some(Responder::Agent), Channel::Private)
    );
    assert_eq!(
        d.reasons[0],
        "personal data in public: a phone number, an e-mail address, a Romanian personal numeric code (CNP)"
    );
    let json = serde_json::to_string(&d).unwrap();
    for value in ["0722", "123 456", "ana.pop", "1800101221144"] {
        assert!(!json.contains(value), "{value} echoed: {json}");
    }
    let reply = d.reply.unwrap();
    assert!(reply.template.starts_with("hide.ro."), "{}", reply.template);
    // Spam that carries a contact is spam, hidden without a reply.
    let spam = decide(
        "Earn $500/day, write to rich@quick.biz",
        Lang::En,
        &scores(Intent::Spam, 0.9),
    );
    assert_eq!((spam.rule, spam.reply), (RuleId::SpamHide, None));
    // The brand's own contacts are not the author's data.
    let own = decide("I called +40 21 000 0000 twice", Lang::En, &s);
    assert_eq!(own.rule, RuleId::ComplaintRsr);
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
