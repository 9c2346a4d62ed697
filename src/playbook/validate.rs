//! Validation of a policy as it is read: every value in range, every rule able to fire, every
//! outcome fitting its action, every keyword matchable, every reply it may need present and
//! fillable in every language. A `Policy` that exists has passed all of it.

use super::keywords::Keyword;
use super::lint::{Draft, Linter};
use super::placeholders;
use super::policy_error::PolicyError;
use super::policy_schema::PolicyFile;
use super::vocabulary::{action_replies, Channel, RuleId};
use crate::labels::{Action, Intent, Lang};

impl PolicyFile {
    pub(super) fn validate(&self) -> Result<(), PolicyError> {
        self.check_ranges()?;
        self.check_signals()?;
        self.check_every_rule_can_fire()?;
        self.check_outcomes()?;
        self.check_keywords()?;
        self.check_templates()?;
        self.check_lint()
    }

    fn check_ranges(&self) -> Result<(), PolicyError> {
        let thresholds = self
            .thresholds
            .named()
            .map(|(name, value)| (format!("thresholds.{name}"), value));
        let ratios = [
            (
                "signals.shout_caps_ratio".to_string(),
                self.signals.shout_caps_ratio,
            ),
            (
                "lint.emotional_negative".to_string(),
                self.lint.emotional_negative,
            ),
            (
                "lint.insulting_abusive".to_string(),
                self.lint.insulting_abusive,
            ),
            ("lint.head_min".to_string(), self.lint.head_min),
        ];
        match thresholds
            .into_iter()
            .chain(ratios)
            .find(|(_, value)| !(0.0..=1.0).contains(value))
        {
            Some((key, value)) => Err(PolicyError::OutOfRange { key, value }),
            None => Ok(()),
        }
    }

    fn check_signals(&self) -> Result<(), PolicyError> {
        let s = &self.signals;
        let must_be_positive = [
            (
                "min_brand_replies",
                s.min_brand_replies,
                "rsra-wait would silence comments the brand never answered",
            ),
            (
                "details_min_digits",
                s.details_min_digits,
                "every comment would count as carrying private details",
            ),
            (
                "shout_min_exclamations",
                s.shout_min_exclamations,
                "every comment would count as shouting",
            ),
            (
                "ban_min_words",
                s.ban_min_words,
                "an emoji alone could get its author banned",
            ),
        ];
        match must_be_positive
            .into_iter()
            .find(|(_, value, _)| *value == 0)
        {
            Some((name, _, why)) => Err(PolicyError::Zero {
                key: format!("signals.{name}"),
                why,
            }),
            None => Ok(()),
        }
    }

    /// Catches rules that a threshold or an empty list made unreachable.
    fn check_every_rule_can_fire(&self) -> Result<(), PolicyError> {
        let t = &self.thresholds;
        if t.abuse_review >= t.abuse_delete {
            return Err(PolicyError::NeverFires {
                rule: RuleId::AbuseReview,
                why: format!(
                    "thresholds.abuse_review = {} is not below thresholds.abuse_delete = {}",
                    t.abuse_review, t.abuse_delete
                ),
            });
        }
        // A rule tried in order whose threshold is 0 fires on every comment it sees.
        let gates = [
            ("abuse_delete", t.abuse_delete, RuleId::AbuseDelete),
            ("abuse_review", t.abuse_review, RuleId::AbuseReview),
            ("spam", t.spam, RuleId::SpamHide),
            ("complaint", t.complaint, RuleId::ComplaintRsr),
            (
                "misinformation",
                t.misinformation,
                RuleId::MisinformationCorrect,
            ),
            ("troll", t.troll, RuleId::TrollIgnore),
            ("answer", t.answer, RuleId::AnswerAgent),
            ("praise", t.praise, RuleId::PraiseThank),
            ("other", t.other, RuleId::OtherAcknowledge),
        ];
        if let Some((key, _, rule)) = gates.into_iter().find(|(_, value, _)| *value == 0.0) {
            return Err(PolicyError::ShadowsLaterRules { key, rule });
        }
        let empty_lists = [
            (
                self.keywords.crisis.is_empty(),
                RuleId::ComplaintEscalate,
                "keywords.crisis is empty",
            ),
            (
                self.keywords.simple_request.is_empty(),
                RuleId::AnswerBot,
                "keywords.simple_request is empty",
            ),
            (
                self.signals.risky_intents.is_empty(),
                RuleId::UncertainEscalate,
                "signals.risky_intents is empty",
            ),
            (
                self.signals.rsra_intents.is_empty(),
                RuleId::RsraWait,
                "signals.rsra_intents is empty",
            ),
        ];
        match empty_lists.into_iter().find(|(empty, _, _)| *empty) {
            Some((_, rule, why)) => Err(PolicyError::NeverFires {
                rule,
                why: why.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// A replying action needs someone to reply, somewhere, by some time; a silent one none.
    fn check_outcomes(&self) -> Result<(), PolicyError> {
        for &rule in RuleId::ALL {
            let o = self.rules.get(rule);
            let action = o.action;
            // Hiding may be followed by a private message (personal data posted in public).
            let private_after_hide = action == Action::Hide && o.responder.is_some();
            let problem = if private_after_hide && o.channel != Channel::Private {
                Some(format!(
                    "action {action} with a responder replies in private, so its channel must be \"private\""
                ))
            } else if action_replies(action) || private_after_hide {
                if o.responder.is_none() {
                    Some(format!("action {action} replies, so it needs a responder"))
                } else if o.channel == Channel::None || o.details_channel == Some(Channel::None) {
                    Some(format!(
                        "action {action} replies, so its channel cannot be \"none\""
                    ))
                } else if o.respond_within_minutes.is_none() {
                    Some(format!(
                        "action {action} replies, so it needs respond_within_minutes"
                    ))
                } else {
                    None
                }
            } else if o.responder.is_some() || o.angry_responder.is_some() {
                Some(format!(
                    "action {action} posts no reply, so it takes no responder"
                ))
            } else if o.channel != Channel::None || o.details_channel.is_some() {
                Some(format!(
                    "action {action} posts no reply, so its channel must be \"none\""
                ))
            } else if matches!(action, Action::Wait | Action::Ignore)
                && o.respond_within_minutes.is_some()
            {
                Some(format!(
                    "action {action} asks nothing of anyone, so it takes no respond_within_minutes"
                ))
            } else {
                None
            };
            if let Some(why) = problem {
                return Err(PolicyError::Outcome { rule, why });
            }
        }
        Ok(())
    }

    fn check_keywords(&self) -> Result<(), PolicyError> {
        for (list, per_lang) in self.keywords.named() {
            for &lang in Lang::ALL {
                for (i, keyword) in per_lang.get(lang).iter().enumerate() {
                    if Keyword::parse(keyword).is_none() {
                        return Err(PolicyError::EmptyKeyword {
                            key: format!("keywords.{list}.{lang} #{}", i + 1),
                            keyword: keyword.clone(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Every action a rule can decide has replies in every language (or the fallback's), and
    /// every template's placeholders can be filled.
    fn check_templates(&self) -> Result<(), PolicyError> {
        for &rule in RuleId::ALL {
            let outcome = self.rules.get(rule);
            let action = outcome.action;
            let variants = self.templates.get(action);
            if !action_replies(action) && outcome.responder.is_none() {
                continue;
            }
            let has = |lang: Lang| !variants.get(lang).is_empty();
            for &lang in Lang::ALL {
                if !has(lang) && !self.fallback_lang.is_some_and(has) {
                    return Err(PolicyError::MissingTemplates {
                        action,
                        lang,
                        fallback: self.fallback_lang,
                    });
                }
            }
        }
        for &action in Action::ALL {
            for &lang in Lang::ALL {
                for (i, template) in self.templates.get(action).get(lang).iter().enumerate() {
                    placeholders::fill(template, &self.brand).map_err(|problem| {
                        PolicyError::Template {
                            key: format!("templates.{action}.{lang} #{}", i + 1),
                            problem,
                        }
                    })?;
                }
            }
        }
        Ok(())
    }

    /// `[lint]` compiles, and every reply template passes the linter, read as an answer to
    /// the kind of comment its action answers.
    fn check_lint(&self) -> Result<(), PolicyError> {
        for (key, value) in [
            ("shout_min_letters", self.lint.shout_min_letters),
            ("shout_min_exclamations", self.lint.shout_min_exclamations),
        ] {
            if !(1..=1000).contains(&value) {
                return Err(PolicyError::LintCount { key, value });
            }
        }
        let linter =
            Linter::new(&self.lint, &self.brand).map_err(|empty| PolicyError::EmptyPhrase {
                key: empty.key,
                phrase: empty.phrase,
            })?;
        for template in self.templates_as_replies() {
            let report = linter.lint(&template.draft());
            if !report.ok {
                let kinds: Vec<&str> = report.findings.iter().map(|f| f.kind.as_str()).collect();
                return Err(PolicyError::TemplateLint {
                    key: template.key,
                    kinds: kinds.join(", "),
                });
            }
        }
        Ok(())
    }

    /// Every reply template, filled in, with the kind of comment it answers: what the linter
    /// checks when a policy is read (and what a test checks again with the model's scores).
    pub fn templates_as_replies(&self) -> Vec<TemplateReply> {
        let mut replies = Vec::new();
        for &action in Action::ALL {
            for &lang in Lang::ALL {
                for (i, template) in self.templates.get(action).get(lang).iter().enumerate() {
                    replies.push(TemplateReply {
                        key: format!("templates.{action}.{lang} #{}", i + 1),
                        reply: placeholders::fill(template, &self.brand)
                            .expect("check_templates filled every template"),
                        intent: answered_intent(action),
                        lang,
                    });
                }
            }
        }
        replies
    }
}

/// A reply template filled in with the brand's details, as the linter reads it.
#[derive(Debug, Clone)]
pub struct TemplateReply {
    /// `templates.{action}.{lang} #{n}`, as the policy error names it.
    pub key: String,
    pub reply: String,
    /// The kind of comment the template answers.
    pub intent: Intent,
    pub lang: Lang,
}

impl TemplateReply {
    /// The template as a draft answering its kind of comment, in its language.
    pub fn draft(&self) -> Draft<'_> {
        Draft {
            reply: &self.reply,
            intent: Some(self.intent),
            lang: Some(self.lang),
            ..Draft::default()
        }
    }
}

/// The kind of comment an action's replies answer, for linting its templates.
fn answered_intent(action: Action) -> Intent {
    match action {
        Action::Resolve => Intent::Complaint,
        Action::Answer => Intent::Question,
        Action::Thank => Intent::Praise,
        Action::Correct => Intent::Misinformation,
        // A holding line while a senior colleague takes over (threats, legal, close calls):
        // the resolution comes from that colleague.
        Action::Escalate
        | Action::Acknowledge
        | Action::Hide
        | Action::Wait
        | Action::Ignore
        | Action::DeleteAndBan => Intent::Other,
    }
}
