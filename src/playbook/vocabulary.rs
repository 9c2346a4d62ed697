//! The playbook's vocabulary: the small types every part of it speaks — rule ids, who
//! responds, where, how urgently, and which actions reply at all. Plain enums with their wire
//! names; they import nothing else of the playbook, so everything else may import them.

use crate::labels::Action;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A rule's stable id, as reported in decisions. It names the rule as shipped: a policy that
/// changes the rule's action keeps the id, so logs and evaluations stay comparable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleId {
    AbuseDelete,
    SpamHide,
    PersonalDataHide,
    ComplaintEscalate,
    RsraWait,
    AbuseReview,
    ComplaintRsr,
    MisinformationCorrect,
    TrollIgnore,
    AnswerBot,
    AnswerAgent,
    PraiseThank,
    OtherAcknowledge,
    UncertainEscalate,
}

impl RuleId {
    /// Every rule, in order of precedence.
    pub const ALL: &'static [RuleId] = &[
        RuleId::AbuseDelete,
        RuleId::SpamHide,
        RuleId::PersonalDataHide,
        RuleId::ComplaintEscalate,
        RuleId::RsraWait,
        RuleId::AbuseReview,
        RuleId::ComplaintRsr,
        RuleId::MisinformationCorrect,
        RuleId::TrollIgnore,
        RuleId::AnswerBot,
        RuleId::AnswerAgent,
        RuleId::PraiseThank,
        RuleId::OtherAcknowledge,
        RuleId::UncertainEscalate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleId::AbuseDelete => "abuse-delete",
            RuleId::AbuseReview => "abuse-review",
            RuleId::SpamHide => "spam-hide",
            RuleId::PersonalDataHide => "personal-data-hide",
            RuleId::ComplaintEscalate => "complaint-escalate",
            RuleId::RsraWait => "rsra-wait",
            RuleId::ComplaintRsr => "complaint-rsr",
            RuleId::MisinformationCorrect => "misinformation-correct",
            RuleId::TrollIgnore => "troll-ignore",
            RuleId::AnswerBot => "answer-bot",
            RuleId::AnswerAgent => "answer-agent",
            RuleId::PraiseThank => "praise-thank",
            RuleId::OtherAcknowledge => "other-acknowledge",
            RuleId::UncertainEscalate => "uncertain-escalate",
        }
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who should carry out a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Responder {
    /// An automatic answer; only ever chosen for confident decisions.
    Bot,
    /// A member of the moderation team.
    Agent,
    /// A calm, experienced person (angry authors, legal or safety matters).
    Senior,
}

impl Responder {
    pub fn as_str(self) -> &'static str {
        match self {
            Responder::Bot => "bot",
            Responder::Agent => "agent",
            Responder::Senior => "senior",
        }
    }
}

/// Where the reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Public,
    Private,
    /// Answer publicly, then move to DM / e-mail / phone for order or account details.
    PublicThenPrivate,
    /// Nothing is posted (ignore, wait, hide, delete and ban).
    None,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Public => "public",
            Channel::Private => "private",
            Channel::PublicThenPrivate => "public_then_private",
            Channel::None => "none",
        }
    }
}

/// How the decision ranks in the moderation queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    Low,
    Normal,
    High,
    Urgent,
}

/// Whether an action posts something, and so takes reply templates, a responder and a channel.
pub fn action_replies(action: Action) -> bool {
    !matches!(
        action,
        Action::Wait | Action::Ignore | Action::Hide | Action::DeleteAndBan
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_names_match_their_serde_names() {
        for r in [Responder::Bot, Responder::Agent, Responder::Senior] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
        for c in [
            Channel::Public,
            Channel::Private,
            Channel::PublicThenPrivate,
            Channel::None,
        ] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
        assert_eq!(serde_json::to_value(Priority::Urgent).unwrap(), "urgent");
    }

    #[test]
    fn only_silent_actions_have_no_reply() {
        let silent: Vec<Action> = Action::ALL
            .iter()
            .copied()
            .filter(|&a| !action_replies(a))
            .collect();
        assert_eq!(
            silent,
            [
                Action::Wait,
                Action::Ignore,
                Action::Hide,
                Action::DeleteAndBan
            ]
        );
    }
}
