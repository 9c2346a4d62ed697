//! The review queue and the day's figures, on both implementations.

use super::super::tests::{keep_text, new_decision, on_both};
use super::*;
use crate::comment::{Comment, ThreadMessage};
use crate::labels::{Action, Intent};
use crate::playbook::Priority;
use crate::store::{reply_id, NewDecision, NewFeedback, NewReply, Origin, Retention, Verdict};

fn pending(
    id: &str,
    author: &str,
    action: Action,
    priority: Priority,
    minutes: u32,
) -> NewDecision {
    let mut new = new_decision(id, Some(author), Intent::Complaint);
    new.decision.action = action;
    new.decision.priority = priority;
    new.decision.respond_within_minutes = Some(minutes);
    new.decision.needs_review = false;
    new
}

fn all() -> QueueFilter {
    QueueFilter {
        limit: 100,
        ..QueueFilter::default()
    }
}

fn ids(queue: &Queue) -> Vec<&str> {
    queue
        .items
        .iter()
        .map(|i| i.comment_id.as_deref().unwrap())
        .collect()
}

fn verdict(decision_id: &str, verdict: Verdict, action: Option<Action>) -> NewFeedback {
    NewFeedback {
        decision_id: decision_id.to_string(),
        verdict,
        action,
        intent: None,
        sentiment: None,
        reply: None,
        moderator: Some("mod-1".into()),
    }
}

#[test]
fn the_queue_holds_what_waits_for_a_person_most_urgent_first() {
    on_both(Retention::default(), |store| async move {
        let mut reviewed = pending("c-review", "u-1", Action::Resolve, Priority::Normal, 60);
        reviewed.decision.needs_review = true;
        let batch = [
            pending("c-low", "u-1", Action::Answer, Priority::Low, 240),
            pending("c-hide", "u-2", Action::Hide, Priority::Normal, 600),
            reviewed,
            pending("c-urgent", "u-3", Action::Escalate, Priority::Urgent, 15),
            pending("c-soon", "u-2", Action::Thank, Priority::Normal, 5),
            // Nothing for a person to do.
            pending("c-ignore", "u-4", Action::Ignore, Priority::Low, 0),
            pending("c-ban", "u-5", Action::DeleteAndBan, Priority::High, 0),
        ];
        let before = crate::store::now_ms();
        store.record_decisions(&batch).await.unwrap();
        let after = crate::store::now_ms();
        let queue = store.queue(&all()).await.unwrap();
        assert_eq!(
            ids(&queue),
            ["c-urgent", "c-soon", "c-review", "c-hide", "c-low"],
            "by priority, then by deadline"
        );
        assert!(!queue.more);
        let first = &queue.items[0];
        assert_eq!(first.decision["action"], "escalate");
        assert_eq!(first.author_id.as_deref(), Some("u-3"));
        let due = first.due_at_ms.expect("escalations have a deadline");
        assert!((before + 15 * 60_000..=after + 15 * 60_000).contains(&due));

        // A verdict takes an item out; so does the reply sent to an unreviewed answer's
        // comment, but not to one a person must review, and not an answer seen in a thread.
        store
            .record_feedback(&verdict(&batch[3].decision_id, Verdict::Accepted, None))
            .await
            .unwrap()
            .expect("the decision is in the log");
        for (comment, origin_thread) in [("c-soon", false), ("c-review", false), ("c-low", true)] {
            let author = if comment == "c-soon" { "u-2" } else { "u-1" };
            let reply = NewReply {
                reply_id: reply_id(author, Some(comment), "Thanks!", 0),
                author_id: author.into(),
                comment_id: Some(comment.into()),
                text: None,
                sent_at: crate::store::now_ms(),
            };
            if origin_thread {
                // An answer the next comment's thread showed: the brand's reply to an
                // earlier comment, which says nothing about this one.
                let mut next = new_decision("c-next", Some("u-1"), Intent::Praise);
                next.comment_id = Some("c-low".into());
                next.thread_answers = vec!["Thanks!".into()];
                next.decision.action = Action::Ignore;
                store.record_decisions(&[next]).await.unwrap();
            } else {
                store.record_reply(&reply).await.unwrap();
            }
        }
        let queue = store.queue(&all()).await.unwrap();
        assert_eq!(ids(&queue), ["c-review", "c-hide", "c-low"]);

        // Filters, and a limit that leaves some out.
        let only = |f: QueueFilter| {
            let store = &store;
            async move { store.queue(&f).await.unwrap() }
        };
        let hidden = only(QueueFilter {
            action: Some(Action::Hide),
            ..all()
        })
        .await;
        assert_eq!(ids(&hidden), ["c-hide"]);
        let by_author = only(QueueFilter {
            author_id: Some("u-1".into()),
            ..all()
        })
        .await;
        assert_eq!(ids(&by_author), ["c-review", "c-low"]);
        let by_rule = only(QueueFilter {
            rule: Some(batch[0].decision.rule.as_str().to_string()),
            lang: Some("en".into()),
            ..all()
        })
        .await;
        assert_eq!(by_rule.items.len(), 3, "every test decision has one rule");
        let none = only(QueueFilter {
            lang: Some("ro".into()),
            ..all()
        })
        .await;
        assert!(none.items.is_empty());
        let first = only(QueueFilter { limit: 1, ..all() }).await;
        assert_eq!((ids(&first), first.more), (vec!["c-review"], true));
        let later = only(QueueFilter {
            since: crate::store::now_ms() + 60_000,
            ..all()
        })
        .await;
        assert!(later.items.is_empty(), "older than the window");
    });
}

#[test]
fn the_thread_is_kept_with_the_text_and_forgotten_with_it() {
    on_both(keep_text(), |store| async move {
        let comment = Comment {
            id: Some("c-1".into()),
            author_id: Some("u-1".into()),
            text: "Still nothing. Typical.".into(),
            thread: vec![
                ThreadMessage {
                    text: "My order never came".into(),
                    from_brand: false,
                },
                ThreadMessage {
                    text: "We are sorry, we will check".into(),
                    from_brand: true,
                },
            ],
            ..Default::default()
        };
        let mut new = NewDecision::for_comment(
            Origin::Http,
            &comment,
            pending("x", "u-1", Action::Resolve, Priority::High, 60).decision,
            ("m", "p"),
            true,
        );
        new.decision.needs_review = true;
        store.record_decisions(&[new]).await.unwrap();
        let queue = store.queue(&all()).await.unwrap();
        let item = &queue.items[0];
        assert_eq!(item.text.as_deref(), Some("Still nothing. Typical."));
        let thread = item.thread.as_ref().expect("kept with the text");
        assert_eq!(thread[1]["text"], "We are sorry, we will check");
        assert_eq!(thread[1]["from_brand"], true);
        let stored = store.decision(&item.decision_id).await.unwrap().unwrap();
        assert_eq!(stored.thread.as_ref(), Some(thread));

        // Expiry and forgetting blank it with the text.
        store.expire_texts(i64::MAX).await.unwrap();
        let expired = store.decision(&item.decision_id).await.unwrap().unwrap();
        assert_eq!((expired.text, expired.thread), (None, None));
        store.forget("u-1").await.unwrap();
        assert!(store.queue(&all()).await.unwrap().items[0].thread.is_none());
    });
}

#[test]
fn the_figures_count_automation_reviews_and_overrides() {
    on_both(Retention::default(), |store| async move {
        let mut review = pending("c-1", "u-1", Action::Resolve, Priority::High, 60);
        review.decision.needs_review = true;
        let batch = [
            review,
            pending("c-2", "u-2", Action::Thank, Priority::Low, 60),
            pending("c-3", "u-3", Action::Hide, Priority::Normal, 60),
            pending("c-4", "u-4", Action::Escalate, Priority::Urgent, 15),
        ];
        store.record_decisions(&batch).await.unwrap();
        let give = |i: usize, v: Verdict, a: Option<Action>| {
            let store = &store;
            let feedback = verdict(&batch[i].decision_id, v, a);
            async move { store.record_feedback(&feedback).await.unwrap().unwrap() }
        };
        give(0, Verdict::Overridden, Some(Action::Wait)).await;
        give(2, Verdict::Accepted, None).await;
        give(3, Verdict::Overridden, Some(Action::DeleteAndBan)).await;
        let figures = store.figures(0).await.unwrap();
        assert_eq!(
            (figures.decided, figures.automated, figures.reviewed),
            (4, 2, 3)
        );
        assert_eq!(figures.share_automated, 0.5);
        assert_eq!(figures.share_reviewed, 0.75);
        let rate = |label: &str| {
            figures
                .by_action
                .iter()
                .find(|r| r.label == label)
                .map(|r| (r.reviewed, r.overridden))
        };
        assert_eq!(rate("resolve"), Some((1, 1)));
        assert_eq!(rate("hide"), Some((1, 0)));
        assert_eq!(rate("thank"), None, "no verdict on it");
        assert_eq!(figures.by_action[2].label, "hide", "highest rate first");
        let rule = batch[0].decision.rule.as_str();
        assert_eq!(figures.by_rule.len(), 1);
        assert_eq!(
            (
                figures.by_rule[0].label.as_str(),
                figures.by_rule[0].reviewed
            ),
            (rule, 3)
        );
        assert!((figures.by_rule[0].rate - 2.0 / 3.0).abs() < 1e-12);
        let later = store
            .figures(crate::store::now_ms() + 60_000)
            .await
            .unwrap();
        assert_eq!((later.decided, later.share_automated), (0, 0.0));
    });
}
