//! Reading the body of /v1/decide and /v1/classify. Not axum's `Json`: the bytes are checked
//! step by step so that each failure gets its own status and names the field at fault —
//! invalid UTF-8 or JSON syntax is 400, a missing, empty or ill-typed field or too many
//! comments is 422 (`comments[3].text: missing`), a body over the limit is 413. Fields tact
//! does not know (`"lnag"`) are listed in an `x-tact-warning` header, or refused (422) with
//! `--strict-fields`.

use super::api::CommentsRequest;
use super::error::AppError;
use super::offload::{off_runtime, INLINE_BYTES};
use super::AppState;
use crate::comment::Comment;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The fields a comment may have (SPEC §4), and a thread message.
const COMMENT_FIELDS: &[&str] = &["id", "text", "lang", "author_id", "thread"];
const MESSAGE_FIELDS: &[&str] = &["text", "from_brand"];

/// A body of /v1/decide or /v1/classify, read.
#[derive(Debug)]
pub struct CommentsBody {
    pub request: CommentsRequest,
    /// Paths of the fields tact does not know (`comments[2].lnag`), ignored.
    pub unknown_fields: Vec<String>,
}

impl CommentsBody {
    /// The `x-tact-warning` header's value, when some fields were ignored.
    pub fn warning(&self) -> Option<String> {
        (!self.unknown_fields.is_empty())
            .then(|| format!("unknown fields ignored: {}", self.unknown_fields.join(", ")))
    }
}

impl FromRequest<AppState> for CommentsBody {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let body = read_body(req, state).await?;
        let parsed = parse_body(body, state.config().max_comments).await?;
        if state.config().strict_fields {
            if let Some(field) = parsed.unknown_fields.first() {
                return Err(AppError::InvalidInput(format!(
                    "{field}: unknown field (--strict-fields); a comment has {}",
                    COMMENT_FIELDS.join(", ")
                )));
            }
        }
        Ok(parsed)
    }
}

/// A small JSON body (the store's routes) read as `T`: the body is read as for comments (size,
/// encoding, time), JSON syntax is the body's fault (400), a missing, unknown or ill-typed
/// field is its own (422, named by its path).
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let body = read_body(req, state).await?;
        let value = json_value(&body)?;
        serde_path_to_error::deserialize(value)
            .map(JsonBody)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = if path == "." {
                    "body".to_string()
                } else {
                    path
                };
                AppError::InvalidInput(format!("{field}: {}", e.into_inner()))
            })
    }
}

/// The request's body, refused on its declared size before it is read, on a compressed
/// encoding, or when it does not arrive within the body read timeout.
async fn read_body(req: Request, state: &AppState) -> Result<Bytes, AppError> {
    let limit = state.config().max_body_bytes;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(AppError::BodyTooLarge { limit });
    }
    let encoding = req
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_string());
    if let Some(encoding) = encoding.filter(|e| !e.eq_ignore_ascii_case("identity")) {
        return Err(AppError::UnsupportedEncoding(encoding));
    }
    let timeout = state.config().body_read_timeout;
    tokio::time::timeout(timeout, Bytes::from_request(req, state))
        .await
        .map_err(|_| AppError::BodyTimeout(timeout))?
        .map_err(|rejection| match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge { limit },
            _ => AppError::InvalidJson(format!("body: {}", rejection.body_text())),
        })
}

/// [`parse_comments`], on the blocking pool when the body is large: parsing megabytes takes
/// milliseconds, not to be spent on a worker that /health and other clients need.
async fn parse_body(body: Bytes, max_comments: usize) -> Result<CommentsBody, AppError> {
    if body.len() <= INLINE_BYTES {
        return parse_comments(&body, max_comments);
    }
    off_runtime(move |_| parse_comments(&body, max_comments))
        .await
        .map_err(AppError::Internal)?
}

/// One comment (SPEC §4), or `{"comments": [...]}` with 1 to `max_comments` of them.
pub fn parse_comments(body: &[u8], max_comments: usize) -> Result<CommentsBody, AppError> {
    let value = json_value(body)?;
    let mut unknown_fields = Vec::new();
    let request = parse_request(value, max_comments, &mut unknown_fields)?;
    Ok(CommentsBody {
        request,
        unknown_fields,
    })
}

/// The body as JSON: invalid UTF-8 or JSON syntax is the body's fault (400); a number no
/// field can hold (`1e999`) is its field's (422).
fn json_value(body: &[u8]) -> Result<Value, AppError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        AppError::InvalidUtf8(format!("body: invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    parse_json(text)
}

/// JSON syntax errors are the body's (400); a number no field can hold (`1e999`) is its
/// field's (422).
fn parse_json(text: &str) -> Result<Value, AppError> {
    let mut json = serde_json::Deserializer::from_str(text);
    let value: Value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path != "." && inner.to_string().starts_with("number out of range") {
            AppError::InvalidInput(format!("{path}: {inner}"))
        } else {
            AppError::InvalidJson(format!("body: {inner}"))
        }
    })?;
    json.end()
        .map_err(|e| AppError::InvalidJson(format!("body: {e}")))?;
    Ok(value)
}

fn parse_request(
    value: Value,
    max_comments: usize,
    unknown: &mut Vec<String>,
) -> Result<CommentsRequest, AppError> {
    let Value::Object(mut object) = value else {
        return Err(AppError::InvalidInput(format!(
            "body: expected a comment object or {{\"comments\": [...]}}, got {}",
            kind(&value)
        )));
    };
    let Some(comments) = object.remove("comments") else {
        return Ok(CommentsRequest::One(parse_comment(object, "", unknown)?));
    };
    unknown.extend(object.keys().filter(|k| *k != "text").cloned());
    if object.contains_key("text") {
        return Err(AppError::InvalidInput(
            "body: send one comment or {\"comments\": [...]}, not both".to_string(),
        ));
    }
    let Value::Array(items) = comments else {
        return Err(AppError::InvalidInput(format!(
            "comments: expected an array of comments, got {}",
            kind(&comments)
        )));
    };
    if items.is_empty() {
        return Err(AppError::InvalidInput(
            "comments: empty; send at least one comment".to_string(),
        ));
    }
    if items.len() > max_comments {
        return Err(AppError::TooManyComments {
            given: items.len(),
            max: max_comments,
        });
    }
    let comments = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("comments[{i}]");
            match item {
                Value::Object(fields) => parse_comment(fields, &path, unknown),
                other => Err(AppError::InvalidInput(format!(
                    "{path}: expected a comment object, got {}",
                    kind(&other)
                ))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CommentsRequest::Batch { comments })
}

/// `path` is where the comment sits in the body (`comments[3]`, or empty at the top); the
/// paths of fields it does not know go to `unknown`.
fn parse_comment(
    fields: Map<String, Value>,
    path: &str,
    unknown: &mut Vec<String>,
) -> Result<Comment, AppError> {
    let at = |field: &str| match (path.is_empty(), field.is_empty()) {
        (true, true) => "body".to_string(),
        (true, false) => field.to_string(),
        (false, true) => path.to_string(),
        (false, false) => format!("{path}.{field}"),
    };
    let unknown_keys = |fields: &Map<String, Value>, known: &[&str]| -> Vec<String> {
        let keys = fields.keys();
        keys.filter(|k| !known.contains(&k.as_str()))
            .cloned()
            .collect()
    };
    unknown.extend(unknown_keys(&fields, COMMENT_FIELDS).iter().map(|k| at(k)));
    if let Some(Value::Array(thread)) = fields.get("thread") {
        for (i, message) in thread.iter().enumerate() {
            if let Value::Object(message) = message {
                let keys = unknown_keys(message, MESSAGE_FIELDS);
                unknown.extend(keys.iter().map(|k| at(&format!("thread[{i}].{k}"))));
            }
        }
    }
    match fields.get("text") {
        None => return Err(AppError::InvalidInput(format!("{}: missing", at("text")))),
        Some(Value::String(text)) if text.trim().is_empty() => {
            return Err(AppError::InvalidInput(format!("{}: empty", at("text"))))
        }
        Some(Value::String(_)) => {}
        Some(other) => {
            return Err(AppError::InvalidInput(format!(
                "{}: expected a string, got {}",
                at("text"),
                kind(other)
            )))
        }
    }
    serde_path_to_error::deserialize(Value::Object(fields)).map_err(|e| {
        let field = e.path().iter().next().map(|_| e.path().to_string());
        AppError::InvalidInput(format!(
            "{}: {}",
            at(field.as_deref().unwrap_or("")),
            e.inner()
        ))
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(body: &str) -> (u16, &'static str, String) {
        let e = parse_comments(body.as_bytes(), 3).unwrap_err();
        (e.status().as_u16(), e.code(), e.to_string())
    }

    #[test]
    fn one_comment_or_a_batch() {
        match parse_comments(br#"{"text": "salut", "lang": "ro"}"#, 3)
            .unwrap()
            .request
        {
            CommentsRequest::One(c) => assert_eq!(
                (c.text.as_str(), c.lang),
                ("salut", Some(crate::labels::Lang::Ro))
            ),
            CommentsRequest::Batch { .. } => panic!("one comment expected"),
        }
        match parse_comments(
            br#"{"comments": [{"text": "a"}, {"text": "b", "id": "2"}]}"#,
            3,
        )
        .unwrap()
        .request
        {
            CommentsRequest::Batch { comments } => {
                assert_eq!(comments.len(), 2);
                assert_eq!(comments[1].id.as_deref(), Some("2"));
            }
            CommentsRequest::One(_) => panic!("a batch expected"),
        }
    }

    #[test]
    fn syntax_and_encoding_errors_are_400() {
        let (status, code, message) = error(r#"{"text": "#);
        assert_eq!((status, code), (400, "invalid_json"));
        assert!(message.starts_with("body: EOF while parsing"), "{message}");
        let e = parse_comments(b"{\"text\": \"\xff\"}", 3).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("invalid_utf8", "body: invalid UTF-8 at byte 10")
        );
    }

    #[test]
    fn field_errors_are_422_and_name_the_field() {
        let cases = [
            (r#"{"id": "c-1"}"#, "text: missing"),
            (r#"{"text": "  "}"#, "text: empty"),
            (r#"{"text": 5}"#, "text: expected a string, got a number"),
            (
                r#"{"text": "a", "lang": "fr"}"#,
                "lang: unknown variant `fr`, expected one of `ro`, `bg`, `ru`, `en`",
            ),
            (
                r#"{"text": "a", "thread": [{"text": 1}]}"#,
                "thread[0].text: invalid type: integer `1`, expected a string",
            ),
            (
                r#"{"comments": [{"text": "a"}, {"id": "b"}]}"#,
                "comments[1].text: missing",
            ),
            (
                r#"{"comments": [{"text": "a"}, "b"]}"#,
                "comments[1]: expected a comment object, got a string",
            ),
            (
                r#"{"comments": [{"text": "a", "thread": "x"}]}"#,
                "comments[0].thread: invalid type: string \"x\", expected a sequence",
            ),
            (
                r#"{"comments": {}}"#,
                "comments: expected an array of comments, got an object",
            ),
            (
                r#"{"comments": []}"#,
                "comments: empty; send at least one comment",
            ),
            (
                "[1]",
                "body: expected a comment object or {\"comments\": [...]}, got an array",
            ),
        ];
        for (body, expected) in cases {
            let (status, code, message) = error(body);
            assert_eq!(
                (status, code, message.as_str()),
                (422, "invalid_input", expected),
                "{body}"
            );
        }
    }

    #[test]
    fn too_many_comments_is_422() {
        let (status, code, message) =
            error(r#"{"comments": [{"text": "a"}, {"text": "b"}, {"text": "c"}, {"text": "d"}]}"#);
        assert_eq!((status, code), (422, "too_many_comments"));
        assert_eq!(message, "comments: 4 comments, at most 3 per request");
    }

    #[test]
    fn a_number_no_field_can_hold_names_its_field() {
        let (status, code, message) = error(r#"{"text": "a", "lang": 1e999}"#);
        assert_eq!((status, code), (422, "invalid_input"));
        assert!(
            message.starts_with("lang: number out of range"),
            "{message}"
        );
        let (_, _, message) =
            error(r#"{"comments": [{"text": "a", "thread": [{"text": 1e999}]}]}"#);
        assert!(
            message.starts_with("comments[0].thread[0].text: number out of range"),
            "{message}"
        );
        let (status, code, message) = error(r#"{"text": "a"} x"#);
        assert_eq!((status, code), (400, "invalid_json"));
        assert!(
            message.starts_with("body: trailing characters"),
            "{message}"
        );
    }

    #[test]
    fn the_known_fields_are_those_of_the_comment_type() {
        let full = Comment {
            id: Some("1".into()),
            text: "a".into(),
            lang: Some(crate::labels::Lang::Ro),
            author_id: Some("u".into()),
            thread: vec![crate::comment::ThreadMessage {
                text: "b".into(),
                from_brand: true,
            }],
        };
        let json = serde_json::to_value(&full).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut known = COMMENT_FIELDS.to_vec();
        known.sort_unstable();
        assert_eq!(keys, known, "COMMENT_FIELDS must follow comment::Comment");
        let message = json["thread"][0].as_object().unwrap();
        let mut keys: Vec<&str> = message.keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut known = MESSAGE_FIELDS.to_vec();
        known.sort_unstable();
        assert_eq!(
            keys, known,
            "MESSAGE_FIELDS must follow comment::ThreadMessage"
        );
    }

    #[test]
    fn unknown_fields_are_listed_with_their_paths() {
        let body = br#"{"comments": [{"text": "a", "lnag": "ro"},
            {"text": "b", "thread": [{"text": "c", "form_brand": true}]}], "extra": 1}"#;
        let parsed = parse_comments(body, 3).unwrap();
        assert_eq!(
            parsed.unknown_fields,
            [
                "extra",
                "comments[0].lnag",
                "comments[1].thread[0].form_brand"
            ]
        );
        assert_eq!(
            parsed.warning().unwrap(),
            "unknown fields ignored: extra, comments[0].lnag, comments[1].thread[0].form_brand"
        );
        let known = br#"{"id": "1", "text": "a", "lang": "ro", "author_id": "u",
            "thread": [{"text": "b", "from_brand": false}]}"#;
        let parsed = parse_comments(known, 3).unwrap();
        assert!(parsed.unknown_fields.is_empty() && parsed.warning().is_none());
    }

    /// On this single-threaded runtime another task runs during the parse only if the parse
    /// is not on the runtime's thread.
    #[tokio::test]
    async fn a_large_body_is_parsed_off_the_async_worker() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        use std::sync::Arc;
        let text = "Comanda a venit spartă și nimeni nu răspunde. ".repeat(1300);
        let comments: Vec<Value> = (0..64)
            .map(|_| serde_json::json!({ "text": text }))
            .collect();
        let body = serde_json::json!({ "comments": comments }).to_string();
        assert!(body.len() > 3_000_000);
        let (ticks, done) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        let ticker = {
            let (ticks, done) = (ticks.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    ticks.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            })
        };
        let parsed = parse_body(Bytes::from(body), 64).await.unwrap();
        let during = ticks.load(Ordering::Relaxed);
        done.store(true, Ordering::Relaxed);
        ticker.await.unwrap();
        assert!(
            matches!(parsed.request, CommentsRequest::Batch { ref comments } if comments.len() == 64)
        );
        assert!(
            during > 0,
            "the runtime's thread was held for the whole parse"
        );
    }
}
