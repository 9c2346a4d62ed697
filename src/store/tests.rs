//! One suite, run on both implementations: each test runs on a fresh SQLite file and on a
//! fresh PostgreSQL database (from `TACT_TEST_POSTGRES`, see `tests/common/postgres.rs`).

use super::*;
use crate::comment::Comment;
use crate::labels::{Action, Intent, Lang, Sentiment};
use crate::playbook::{Decision, Playbook, Policy};
use std::future::Future;

/// Runs `test` on a fresh SQLite store and on a fresh PostgreSQL database.
pub(super) fn on_both<F, Fut>(retention: Retention, test: F)
where
    F: Fn(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    runtime.block_on(async {
        let sqlite = Store::open(Location::Sqlite(dir.path().join("t.db")), retention)
            .await
            .unwrap();
        test(sqlite).await;
        if let Some(url) = test_postgres::fresh_database().await {
            let pg = Store::open(Location::Postgres(url), retention)
                .await
                .unwrap();
            test(pg).await;
        }
    });
}

/// A throwaway database per test (shared with the integration tests).
#[path = "../../tests/common/postgres.rs"]
mod test_postgres;

fn decided(text: &str, intent: Intent) -> Decision {
    let playbook = Playbook::new(Policy::default_policy());
    let mut scores = crate::playbook::fixtures::scores(intent, 0.9);
    scores.sentiment = [0.8, 0.1, 0.1];
    playbook.decide(
        &Comment {
            text: text.into(),
            ..Default::default()
        },
        Lang::En,
        &scores,
    )
}

pub(super) fn new_decision(id: &str, author: Option<&str>, intent: Intent) -> NewDecision {
    let comment = Comment {
        id: Some(id.to_string()),
        author_id: author.map(String::from),
        text: format!("comment {id}"),
        ..Default::default()
    };
    NewDecision {
        decision_id: decision_id(&comment),
        origin: Origin::Http,
        comment_id: comment.id.clone(),
        author_id: comment.author_id.clone(),
        text: Some(comment.text.clone()),
        thread: None,
        thread_answers: vec![],
        decision: decided(&comment.text, intent),
        model: "test-model".into(),
        policy: "test-policy".into(),
    }
}

pub(super) fn keep_text() -> Retention {
    Retention {
        store_text: true,
        ..Retention::default()
    }
}

#[test]
fn a_decision_is_recorded_once_and_read_back() {
    on_both(Retention::default(), |store| async move {
        let new = new_decision("c-1", Some("u-1"), Intent::Complaint);
        assert_eq!(
            store
                .record_decisions(std::slice::from_ref(&new))
                .await
                .unwrap(),
            [true]
        );
        // A retry changes nothing, history included.
        assert_eq!(
            store
                .record_decisions(std::slice::from_ref(&new))
                .await
                .unwrap(),
            [false]
        );
        let stored = store.decision(&new.decision_id).await.unwrap().unwrap();
        assert_eq!(stored.comment_id.as_deref(), Some("c-1"));
        assert_eq!(stored.author_id.as_deref(), Some("u-1"));
        assert_eq!(
            (stored.model.as_str(), stored.policy.as_str()),
            ("test-model", "test-policy")
        );
        assert_eq!(stored.decision["action"], new.decision.action.as_str());
        assert_eq!(stored.decision["rule"], new.decision.rule.as_str());
        assert!(
            stored.decision.get("id").is_none(),
            "the comment id lives in its own column"
        );
        assert_eq!(stored.text, None, "texts are kept only with --store-text");
        let counts = store.author_counts(&["u-1", "nobody"]).await.unwrap();
        assert_eq!(counts.len(), 1);
        assert_eq!(counts["u-1"].comments, 1);
        assert!(store.decision("d-unknown").await.unwrap().is_none());
    });
}

#[test]
fn a_brand_answer_makes_the_next_comment_a_follow_up() {
    on_both(Retention::default(), |store| async move {
        store
            .record_decisions(&[new_decision("c-1", Some("u-1"), Intent::Complaint)])
            .await
            .unwrap();
        let reply = NewReply {
            reply_id: reply_id("u-1", Some("c-1"), "We are sorry", 0),
            author_id: "u-1".into(),
            comment_id: Some("c-1".into()),
            text: Some("We are sorry".into()),
            sent_at: now_ms(),
        };
        assert!(store.record_reply(&reply).await.unwrap());
        assert!(!store.record_reply(&reply).await.unwrap(), "once by its id");
        store
            .record_decisions(&[new_decision("c-2", Some("u-1"), Intent::Troll)])
            .await
            .unwrap();
        let counts = store.author_counts(&["u-1"]).await.unwrap()["u-1"];
        assert_eq!(
            counts,
            AuthorCounts {
                comments: 2,
                brand_answers: 1,
                follow_ups: 1,
                hostile_follow_ups: 1
            }
        );
        let summary = store.author("u-1").await.unwrap().unwrap();
        assert_eq!(summary.recent_decisions.len(), 2);
        assert_eq!(summary.recent_replies.len(), 1);
        assert!(summary.last_answered_at.is_some());
        assert_eq!(summary.intents.iter().map(|l| l.count).sum::<u64>(), 2);
        assert!(store.author("nobody").await.unwrap().is_none());
    });
}

#[test]
fn answers_seen_in_a_thread_count_once_across_requests() {
    on_both(Retention::default(), |store| async move {
        let mut first = new_decision("c-1", Some("u-1"), Intent::Complaint);
        first.thread_answers = vec!["Please DM us".into()];
        // The next comment's thread repeats the first answer and adds one: two in all.
        let mut second = new_decision("c-2", Some("u-1"), Intent::Complaint);
        second.thread_answers = vec!["Please DM us".into(), "We sent a voucher".into()];
        store.record_decisions(&[first, second]).await.unwrap();
        let counts = store.author_counts(&["u-1"]).await.unwrap()["u-1"];
        assert_eq!(counts.brand_answers, 2);
        assert_eq!(counts.follow_ups, 2);
    });
}

#[test]
fn feedback_is_recorded_once_and_overrides_export_as_labelled_records() {
    on_both(keep_text(), |store| async move {
        let new = new_decision("c-1", Some("u-1"), Intent::Complaint);
        store
            .record_decisions(std::slice::from_ref(&new))
            .await
            .unwrap();
        let verdict = NewFeedback {
            decision_id: new.decision_id.clone(),
            verdict: Verdict::Overridden,
            action: Some(Action::Wait),
            intent: Some(Intent::Troll),
            sentiment: Some(Sentiment::Negative),
            reply: None,
            moderator: Some("ana".into()),
        };
        let first = store.record_feedback(&verdict).await.unwrap().unwrap();
        assert!(first.recorded);
        let again = store.record_feedback(&verdict).await.unwrap().unwrap();
        assert_eq!(
            (again.feedback_id, again.recorded),
            (first.feedback_id, false)
        );
        let unknown = NewFeedback {
            decision_id: "d-none".into(),
            ..verdict.clone()
        };
        assert!(store.record_feedback(&unknown).await.unwrap().is_none());
        let (records, skipped) = store.overrides().await.unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(records.len(), 1);
        let r = &records[0];
        assert_eq!((r.id.as_str(), r.text.as_str()), ("c-1", "comment c-1"));
        assert_eq!(
            (r.action, r.intent, r.sentiment),
            (Action::Wait, Some(Intent::Troll), Some(Sentiment::Negative))
        );
        let stored = store.decision(&new.decision_id).await.unwrap().unwrap();
        assert_eq!(stored.feedback.len(), 1);
        assert_eq!(stored.feedback[0].verdict, Verdict::Overridden);
    });
}

#[test]
fn a_reply_reported_as_sent_is_the_brands_answer() {
    on_both(Retention::default(), |store| async move {
        let new = new_decision("c-1", Some("u-1"), Intent::Complaint);
        store
            .record_decisions(std::slice::from_ref(&new))
            .await
            .unwrap();
        let sent = NewFeedback {
            decision_id: new.decision_id.clone(),
            verdict: Verdict::ReplySent,
            action: None,
            intent: None,
            sentiment: None,
            reply: Some("Sorry, a courier is on the way".into()),
            moderator: None,
        };
        store.record_feedback(&sent).await.unwrap().unwrap();
        store.record_feedback(&sent).await.unwrap().unwrap();
        let counts = store.author_counts(&["u-1"]).await.unwrap()["u-1"];
        assert_eq!(counts.brand_answers, 1);
        // Without a stored text, an override cannot be exported, and says so.
        let over = NewFeedback {
            verdict: Verdict::Overridden,
            action: Some(Action::Answer),
            reply: None,
            ..sent
        };
        store.record_feedback(&over).await.unwrap().unwrap();
        let (records, skipped) = store.overrides().await.unwrap();
        assert_eq!((records.len(), skipped), (0, 1));
    });
}

#[test]
fn forgetting_removes_everything_personal_in_one_go() {
    on_both(keep_text(), |store| async move {
        let mine = new_decision("c-1", Some("u-1"), Intent::Complaint);
        let other = new_decision("c-2", Some("u-2"), Intent::Praise);
        store
            .record_decisions(&[mine.clone(), other.clone()])
            .await
            .unwrap();
        let reply = NewReply {
            reply_id: "r-1".into(),
            author_id: "u-1".into(),
            comment_id: Some("c-1".into()),
            text: Some("Sorry".into()),
            sent_at: now_ms(),
        };
        store.record_reply(&reply).await.unwrap();
        let sent = NewFeedback {
            decision_id: mine.decision_id.clone(),
            verdict: Verdict::ReplySent,
            action: None,
            intent: None,
            sentiment: None,
            reply: Some("Sorry again".into()),
            moderator: None,
        };
        store.record_feedback(&sent).await.unwrap().unwrap();
        let forgotten = store.forget("u-1").await.unwrap();
        assert_eq!(
            forgotten,
            Forgotten {
                history: 1,
                decisions: 1,
                texts: 1,
                replies: 2,
                feedback: 1
            }
        );
        assert!(store.author("u-1").await.unwrap().is_none());
        let kept = store.decision(&mine.decision_id).await.unwrap().unwrap();
        assert_eq!(
            (kept.author_id, kept.comment_id, kept.text),
            (None, None, None)
        );
        assert_eq!(kept.feedback[0].reply, None);
        assert_eq!(kept.decision["action"], mine.decision.action.as_str());
        // Others are untouched; forgetting again finds nothing.
        assert!(store.author("u-2").await.unwrap().is_some());
        let theirs = store.decision(&other.decision_id).await.unwrap().unwrap();
        assert_eq!(theirs.text.as_deref(), Some("comment c-2"));
        assert_eq!(store.forget("u-1").await.unwrap(), Forgotten::default());
    });
}

#[test]
fn texts_expire_after_the_retention() {
    let retention = Retention {
        store_text: true,
        keep_text: std::time::Duration::from_secs(60),
    };
    on_both(retention, |store| async move {
        let new = new_decision("c-1", Some("u-1"), Intent::Question);
        store
            .record_decisions(std::slice::from_ref(&new))
            .await
            .unwrap();
        let stored = store.decision(&new.decision_id).await.unwrap().unwrap();
        assert_eq!(stored.text.as_deref(), Some("comment c-1"));
        assert!(stored.text_expires_at.is_some());
        assert_eq!(store.expire_texts(now_ms()).await.unwrap(), 0, "not yet");
        assert_eq!(store.expire_texts(now_ms() + 61_000).await.unwrap(), 1);
        let stored = store.decision(&new.decision_id).await.unwrap().unwrap();
        assert_eq!((stored.text, stored.text_expires_at), (None, None));
    });
}

#[test]
fn locations_parse_and_hide_passwords() {
    assert_eq!(
        Location::parse("sqlite:/tmp/x.db").unwrap(),
        Location::Sqlite("/tmp/x.db".into())
    );
    assert_eq!(
        Location::parse("/tmp/y.db").unwrap(),
        Location::Sqlite("/tmp/y.db".into())
    );
    let pg = Location::parse("postgres://tact:secret@db:5432/tact").unwrap();
    assert_eq!(pg.describe(), "postgres://tact@db:5432/tact");
    let err = Location::parse("mysql://x").unwrap_err();
    assert!(err.contains("sqlite:PATH") && err.contains("off"), "{err}");
}

#[test]
fn a_batch_counts_as_its_decisions_one_by_one() {
    on_both(Retention::default(), |store| async move {
        let first = new_decision("c-1", Some("u-1"), Intent::Complaint);
        let mut answered = new_decision("c-2", Some("u-1"), Intent::Troll);
        answered.thread_answers = vec!["Please DM us".into()];
        let after = new_decision("c-3", Some("u-1"), Intent::Abuse);
        let other = new_decision("c-4", Some("u-2"), Intent::Praise);
        let batch = [first.clone(), answered, first.clone(), after, other];
        let recorded = store.record_decisions(&batch).await.unwrap();
        assert_eq!(
            recorded,
            [true, true, false, true, true],
            "a repeated id is new once"
        );
        let counts = store.author_counts(&["u-1", "u-2"]).await.unwrap();
        // The first comment came before any answer; the second came with one.
        assert_eq!(
            counts["u-1"],
            AuthorCounts {
                comments: 3,
                brand_answers: 1,
                follow_ups: 2,
                hostile_follow_ups: 2
            }
        );
        assert_eq!(counts["u-2"].comments, 1);
        let summary = store.author("u-1").await.unwrap().unwrap();
        let intents: u64 = summary.intents.iter().map(|l| l.count).sum();
        assert_eq!((intents, !summary.actions.is_empty()), (3, true));
        // Once answered, a later batch's comments are all follow-ups.
        let later = new_decision("c-5", Some("u-1"), Intent::Question);
        store.record_decisions(&[later]).await.unwrap();
        let counts = store.author_counts(&["u-1"]).await.unwrap()["u-1"];
        assert_eq!((counts.follow_ups, counts.hostile_follow_ups), (3, 2));
    });
}

#[test]
fn a_group_without_answers_counts_as_its_decisions_one_by_one() {
    // On PostgreSQL such a group is one statement, its counts made by the database: they
    // must be what recording the same decisions one at a time gives.
    on_both(Retention::default(), |store| async move {
        let answer = |author: &str| NewReply {
            reply_id: reply_id(author, None, "We are sorry", 0),
            author_id: author.into(),
            comment_id: None,
            text: None,
            sent_at: now_ms(),
        };
        let group = |tag: &str| {
            let (answered, fresh) = (format!("answered-{tag}"), format!("fresh-{tag}"));
            let first = new_decision(&format!("{tag}-1"), Some(&answered), Intent::Troll);
            vec![
                first.clone(),
                new_decision(&format!("{tag}-2"), Some(&fresh), Intent::Complaint),
                first,
                new_decision(&format!("{tag}-3"), None, Intent::Spam),
                new_decision(&format!("{tag}-4"), Some(&answered), Intent::Question),
                new_decision(&format!("{tag}-5"), Some(&fresh), Intent::Abuse),
            ]
        };
        let mut recorded = Vec::new();
        for tag in ["together", "one-by-one"] {
            store
                .record_reply(&answer(&format!("answered-{tag}")))
                .await
                .unwrap();
            let decisions = group(tag);
            if tag == "together" {
                recorded.push(store.record_decisions(&decisions).await.unwrap());
                // A retry of the whole group changes nothing.
                let again = store.record_decisions(&decisions).await.unwrap();
                assert_eq!(again, [false; 6]);
            } else {
                let mut one_by_one = Vec::new();
                for d in &decisions {
                    one_by_one.extend(
                        store
                            .record_decisions(std::slice::from_ref(d))
                            .await
                            .unwrap(),
                    );
                }
                recorded.push(one_by_one);
            }
        }
        assert_eq!(recorded[0], [true, true, false, true, true, true]);
        assert_eq!(recorded[0], recorded[1]);
        for who in ["answered", "fresh"] {
            let [together, alone] = ["together", "one-by-one"].map(|tag| format!("{who}-{tag}"));
            let counts = store.author_counts(&[&together, &alone]).await.unwrap();
            assert_eq!(counts[&together], counts[&alone], "{who}");
            let [a, b] = [&together, &alone].map(|id| store.author(id));
            let (a, b) = (a.await.unwrap().unwrap(), b.await.unwrap().unwrap());
            assert_eq!((&a.actions, &a.intents), (&b.actions, &b.intents), "{who}");
        }
        let counts = store
            .author_counts(&["answered-together", "fresh-together"])
            .await
            .unwrap();
        assert_eq!(
            counts["answered-together"],
            AuthorCounts {
                comments: 2,
                brand_answers: 1,
                follow_ups: 2,
                hostile_follow_ups: 1
            }
        );
        assert_eq!(
            counts["fresh-together"],
            AuthorCounts {
                comments: 2,
                brand_answers: 0,
                follow_ups: 0,
                hostile_follow_ups: 0
            }
        );
        let decided = store.author("fresh-together").await.unwrap().unwrap();
        assert_eq!(decided.recent_decisions.len(), 2);
    });
}
