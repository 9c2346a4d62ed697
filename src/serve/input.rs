//! Reading the body of /v1/decide and /v1/classify. Not axum's `Json`: the bytes are checked
//! step by step so that each failure gets its own status and names the field at fault —
//! invalid UTF-8 or JSON syntax is 400, a missing, empty or ill-typed field or too many
//! comments is 422 (`comments[3].text: missing`), a body over the limit is 413.

use super::api::CommentsRequest;
use super::error::AppError;
use super::AppState;
use crate::comment::Comment;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use serde_json::{Map, Value};

impl FromRequest<AppState> for CommentsRequest {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, AppError> {
        let limit = state.config().max_body_bytes;
        // Refused on the declared size, before waiting for a body that will not be read.
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(AppError::BodyTooLarge { limit });
        }
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => AppError::BodyTooLarge { limit },
                _ => AppError::InvalidJson(format!("body: {}", rejection.body_text())),
            }
        })?;
        parse_comments(&body, state.config().max_comments)
    }
}

/// One comment (SPEC §4), or `{"comments": [...]}` with 1 to `max_comments` of them.
pub fn parse_comments(body: &[u8], max_comments: usize) -> Result<CommentsRequest, AppError> {
    let text = std::str::from_utf8(body).map_err(|e| {
        AppError::InvalidUtf8(format!("body: invalid UTF-8 at byte {}", e.valid_up_to()))
    })?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| AppError::InvalidJson(format!("body: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(AppError::InvalidInput(format!(
            "body: expected a comment object or {{\"comments\": [...]}}, got {}",
            kind(&value)
        )));
    };
    let Some(comments) = object.remove("comments") else {
        return Ok(CommentsRequest::One(parse_comment(object, "")?));
    };
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
                Value::Object(fields) => parse_comment(fields, &path),
                other => Err(AppError::InvalidInput(format!(
                    "{path}: expected a comment object, got {}",
                    kind(&other)
                ))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CommentsRequest::Batch { comments })
}

/// `path` is where the comment sits in the body (`comments[3]`, or empty at the top).
fn parse_comment(fields: Map<String, Value>, path: &str) -> Result<Comment, AppError> {
    let at = |field: &str| match (path.is_empty(), field.is_empty()) {
        (true, true) => "body".to_string(),
        (true, false) => field.to_string(),
        (false, true) => path.to_string(),
        (false, false) => format!("{path}.{field}"),
    };
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
        match parse_comments(br#"{"text": "salut", "lang": "ro"}"#, 3).unwrap() {
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
}
