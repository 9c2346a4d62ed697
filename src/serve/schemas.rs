//! OpenAPI schemas of the core's types that the HTTP API carries: the comment (SPEC §4), the
//! decision (SPEC §3) and the label enums. Those types live outside the server and do not
//! depend on utoipa, so their schemas are written here — enum values straight from the label
//! sets — and the tests below check them against real serialised values, so that a field
//! added to a type and not here fails the build's tests.

use crate::comment::{Comment, ThreadMessage};
use crate::labels::{Action, Intent, Lang, Sentiment};
use crate::pipeline::Decided;
use crate::playbook::{Channel, Decision, Priority, Reply, Responder, RuleId, ScoreTable};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::openapi::schema::{Object, OneOfBuilder, Ref, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

type Schemas = Vec<(String, RefOr<Schema>)>;

/// A schema written as JSON. utoipa reads composite keywords (`oneOf`...) back as a plain
/// object and drops them, so only plain objects, arrays and `$ref`s are written this way —
/// which the round-trip check enforces.
fn schema(value: Value) -> RefOr<Schema> {
    let parsed: RefOr<Schema> = serde_json::from_value(value.clone()).expect("a schema");
    debug_assert_eq!(
        serde_json::to_value(&parsed).expect("a schema serialises"),
        value,
        "utoipa kept every keyword"
    );
    parsed
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

/// A reference to a named schema, or `null`.
fn nullable_reference(name: &str) -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(Ref::from_schema_name(name))
        .item(Object::with_type(Type::Null))
        .into()
}

fn probability() -> Value {
    json!({"type": "number", "minimum": 0, "maximum": 1})
}

/// The wire names of enum values, as serde writes them.
fn wire_names<T: Serialize>(values: &[T]) -> Vec<String> {
    values
        .iter()
        .map(|v| match serde_json::to_value(v) {
            Ok(Value::String(name)) => name,
            other => panic!("an enum serialised as {other:?}"),
        })
        .collect()
}

fn add<T: ToSchema>(schemas: &mut Schemas) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

/// Implements the schema of a string enum from its values.
macro_rules! string_enum_schema {
    ($ty:ty, $description:literal, $values:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                schema(json!({
                    "type": "string",
                    "description": $description,
                    "enum": wire_names($values),
                }))
            }
        }
        impl ToSchema for $ty {}
    };
}

string_enum_schema!(Lang, "A language tact works in (ISO 639-1).", Lang::ALL);
string_enum_schema!(
    Intent,
    "The primary intent of a comment (SPEC §2).",
    Intent::ALL
);
string_enum_schema!(
    Sentiment,
    "The author's sentiment (SPEC §2).",
    Sentiment::ALL
);
string_enum_schema!(
    Action,
    "What the moderation team should do (SPEC §3).",
    Action::ALL
);
string_enum_schema!(RuleId, "The playbook rule that decided.", RuleId::ALL);
string_enum_schema!(
    Responder,
    "Who carries out the reply: an automatic answer, a moderator, or a calm senior.",
    &[Responder::Bot, Responder::Agent, Responder::Senior]
);
string_enum_schema!(
    Channel,
    "Where the reply goes.",
    &[
        Channel::Public,
        Channel::Private,
        Channel::PublicThenPrivate,
        Channel::None
    ]
);
string_enum_schema!(
    Priority,
    "How the decision ranks in the moderation queue.",
    &[
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent
    ]
);

impl PartialSchema for ThreadMessage {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "object",
            "description": "An earlier message of the conversation.",
            "required": ["text"],
            "properties": {
                "text": {"type": "string"},
                "from_brand": {"type": "boolean", "default": false,
                               "description": "Written by the brand (an answer)."}
            }
        }))
    }
}
impl ToSchema for ThreadMessage {}

impl PartialSchema for Comment {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "object",
            "description": "A comment to decide on (SPEC §4). Only `text` is required. A text \
                longer than the token limit is decided on its beginning (`truncated: true`).",
            "required": ["text"],
            "properties": {
                "id": {"type": "string", "description": "Echoed in the answer."},
                "text": {"type": "string", "minLength": 1,
                         "description": "Not empty or blank."},
                "lang": {"$ref": "#/components/schemas/Lang",
                         "description": "Detected when absent."},
                "author_id": {"type": "string"},
                "thread": {"type": "array", "items": reference("ThreadMessage"),
                           "description": "What came before in the conversation, oldest \
                               first; how the playbook knows the brand already answered (RSRA)."}
            },
            "example": {"id": "c-1", "text": "Comanda 5531 nu a ajuns nici azi.", "lang": "ro"}
        }))
    }
}
impl ToSchema for Comment {
    fn schemas(schemas: &mut Schemas) {
        add::<Lang>(schemas);
        add::<ThreadMessage>(schemas);
    }
}

fn intent_table() -> Value {
    let properties: serde_json::Map<String, Value> = wire_names(Intent::ALL)
        .into_iter()
        .map(|name| (name, probability()))
        .collect();
    json!({"type": "object", "properties": properties, "required": wire_names(Intent::ALL)})
}

fn sentiment_table() -> Value {
    let properties: serde_json::Map<String, Value> = wire_names(Sentiment::ALL)
        .into_iter()
        .map(|name| (name, probability()))
        .collect();
    json!({"type": "object", "properties": properties, "required": wire_names(Sentiment::ALL)})
}

impl PartialSchema for ScoreTable {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "object",
            "description": "Calibrated probabilities, rounded to 4 decimals.",
            "required": ["intent", "sentiment", "abusive"],
            "properties": {
                "intent": intent_table(),
                "sentiment": sentiment_table(),
                "abusive": probability()
            }
        }))
    }
}
impl ToSchema for ScoreTable {}

impl PartialSchema for Reply {
    fn schema() -> RefOr<Schema> {
        schema(json!({
            "type": "object",
            "description": "A suggested reply in the comment's language.",
            "required": ["text", "template"],
            "properties": {
                "text": {"type": "string"},
                "template": {"type": "string", "description": "`<action>.<lang>.<n>`"}
            }
        }))
    }
}
impl ToSchema for Reply {}

fn labelled(label: &str) -> Value {
    json!({
        "type": "object",
        "required": ["label", "confidence"],
        "properties": {"label": reference(label), "confidence": probability()}
    })
}

impl PartialSchema for Decided {
    fn schema() -> RefOr<Schema> {
        // The decision's fields, then what the service adds about the text it read.
        let required: Vec<&str> = Decision::FIELDS
            .into_iter()
            .chain(["tokens", "truncated"])
            .collect();
        let written = schema(json!({
            "type": "object",
            "description": "What to do with one comment, and why (SPEC §3).",
            "required": required,
            "properties": {
                "id": {"type": ["string", "null"]},
                "lang": reference("Lang"),
                "intent": labelled("Intent"),
                "sentiment": labelled("Sentiment"),
                "scores": reference("ScoreTable"),
                "action": reference("Action"),
                "confidence": probability(),
                "channel": reference("Channel"),
                "respond_within_minutes": {"type": ["integer", "null"], "minimum": 0},
                "priority": reference("Priority"),
                "rule": reference("RuleId"),
                "reasons": {"type": "array", "items": {"type": "string"}},
                "guideline": {"type": "string"},
                "needs_review": {"type": "boolean"},
                "tokens": {"type": "integer", "minimum": 0,
                           "description": "Tokens the model read."},
                "truncated": {"type": "boolean",
                              "description": "The text was longer than the token limit; \
                                  the decision rests on its beginning."},
                "decision_id": {"type": "string",
                                "description": "The id the store records the decision under \
                                    (GET /v1/decisions/{id}, POST /v1/feedback); absent with --store off."},
                "history": {"type": "string", "enum": ["unavailable"],
                            "description": "Present when the store could not be read or written: \
                                the decision rests on the comment and its thread alone and is not in the audit log."}
            }
        }));
        let RefOr::T(Schema::Object(mut object)) = written else {
            unreachable!("written as an object")
        };
        for (field, name) in [("responder", "Responder"), ("reply", "Reply")] {
            object
                .properties
                .insert(field.to_string(), nullable_reference(name));
        }
        RefOr::T(Schema::Object(object))
    }
}
impl ToSchema for Decided {
    fn name() -> std::borrow::Cow<'static, str> {
        "Decision".into()
    }

    fn schemas(schemas: &mut Schemas) {
        add::<Lang>(schemas);
        add::<Intent>(schemas);
        add::<Sentiment>(schemas);
        add::<ScoreTable>(schemas);
        add::<Action>(schemas);
        add::<Responder>(schemas);
        add::<Channel>(schemas);
        add::<Priority>(schemas);
        add::<RuleId>(schemas);
        add::<Reply>(schemas);
    }
}

/// The `code` of an error body: one of [`AppError::CODES`](super::AppError::CODES).
pub fn error_code() -> RefOr<Schema> {
    schema(json!({"type": "string", "enum": super::AppError::CODES}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comment::Scores;
    use crate::playbook::{Decision, Playbook, Policy};
    use std::collections::BTreeSet;

    fn schema_json<T: PartialSchema>() -> Value {
        serde_json::to_value(T::schema()).unwrap()
    }

    fn keys(value: &Value) -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    fn properties(schema: &Value) -> BTreeSet<String> {
        keys(&schema["properties"])
    }

    fn decided(comment: &Comment) -> Decided {
        let scores = Scores {
            intent: [0.05, 0.05, 0.6, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05],
            sentiment: [0.8, 0.15, 0.05],
            abusive: 0.02,
            labels: None,
            follow_up: None,
        };
        let decision: Decision =
            Playbook::new(Policy::default_policy()).decide(comment, Lang::Ro, &scores);
        Decided {
            decision,
            tokens: 12,
            truncated: false,
            decision_id: Some("d-0123".into()),
            history: Some(crate::pipeline::HistoryStatus::Unavailable),
        }
    }

    #[test]
    fn decision_schema_has_exactly_the_fields_of_a_decision() {
        let comment = Comment {
            id: Some("c-1".into()),
            text: "Blenderul primit ieri curge, vreau banii înapoi.".into(),
            ..Comment::default()
        };
        let value = serde_json::to_value(decided(&comment)).unwrap();
        assert!(
            value["reply"].is_object(),
            "a decision with a reply: {value}"
        );
        let schema = schema_json::<Decided>();
        assert_eq!(properties(&schema), keys(&value));
        let required: BTreeSet<String> =
            serde_json::from_value(schema["required"].clone()).unwrap();
        let optional = BTreeSet::from(["decision_id".to_string(), "history".to_string()]);
        let always: BTreeSet<String> = keys(&value).difference(&optional).cloned().collect();
        assert_eq!(required, always, "every other field is always present");
        assert_eq!(keys(&value["intent"]), properties(&labelled("Intent")));
        assert_eq!(keys(&value["reply"]), properties(&schema_json::<Reply>()));
        let scores = schema_json::<ScoreTable>();
        assert_eq!(keys(&value["scores"]), properties(&scores));
        assert_eq!(
            keys(&value["scores"]["intent"]),
            properties(&scores["properties"]["intent"])
        );
        assert_eq!(
            keys(&value["scores"]["sentiment"]),
            properties(&scores["properties"]["sentiment"])
        );
    }

    #[test]
    fn comment_schema_has_exactly_the_fields_of_a_comment() {
        let comment = Comment {
            id: Some("c-1".into()),
            text: "salut".into(),
            lang: Some(Lang::Ro),
            author_id: Some("u-1".into()),
            thread: vec![ThreadMessage {
                text: "earlier".into(),
                from_brand: true,
            }],
        };
        let value = serde_json::to_value(&comment).unwrap();
        assert_eq!(properties(&schema_json::<Comment>()), keys(&value));
        assert_eq!(
            properties(&schema_json::<ThreadMessage>()),
            keys(&value["thread"][0])
        );
        let example: Comment =
            serde_json::from_value(schema_json::<Comment>()["example"].clone()).unwrap();
        assert!(!example.text.is_empty());
    }

    #[test]
    fn enum_schemas_list_values_the_types_accept() {
        fn check<T: ToSchema + serde::de::DeserializeOwned>() {
            let values = schema_json::<T>()["enum"].as_array().unwrap().clone();
            assert!(!values.is_empty());
            for value in values {
                serde_json::from_value::<T>(value.clone())
                    .unwrap_or_else(|e| panic!("{}: {value}: {e}", T::name()));
            }
        }
        check::<Lang>();
        check::<Intent>();
        check::<Sentiment>();
        check::<Action>();
        check::<RuleId>();
        check::<Responder>();
        check::<Channel>();
        check::<Priority>();
        assert_eq!(
            schema_json::<Lang>()["enum"],
            json!(["ro", "bg", "ru", "en"])
        );
    }
}
