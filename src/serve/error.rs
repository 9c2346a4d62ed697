//! Every way a request can fail, as one type whose response is always
//! `{"error": {"code": "...", "message": "..."}}` with the matching status. The codes are
//! stable (clients branch on them); messages name the field at fault and may change.

use super::api::{ErrorBody, ErrorDetail};
use super::engine::EngineError;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    InvalidUtf8(String),
    #[error("{0}")]
    InvalidJson(String),
    /// A field is missing, empty or of the wrong type; the message starts with its path.
    #[error("{0}")]
    InvalidInput(String),
    #[error("comments: {given} comments, at most {max} per request")]
    TooManyComments { given: usize, max: usize },
    #[error("body: larger than the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("body: not received in full within {} ms", .0.as_millis())]
    BodyTimeout(Duration),
    #[error("content-encoding: {0} is not supported; send the body uncompressed (identity)")]
    UnsupportedEncoding(String),
    #[error("missing or wrong API key: send `Authorization: Bearer <key>`")]
    Unauthorized,
    #[error("no route {0}")]
    NotFound(String),
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
    #[error("the queue is full ({depth} comments waiting); retry after {retry_after_secs} s")]
    QueueFull { depth: usize, retry_after_secs: u64 },
    #[error("the model is not ready: {0}")]
    NotReady(String),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("the request took longer than {} ms", .0.as_millis())]
    Timeout(Duration),
    /// Admitted, but the model fell behind: dropped before its forward pass.
    #[error("overloaded: the comments waited {} ms, past the queue's bound of {} ms, and were not run; retry after {retry_after_secs} s", .waited.as_millis(), .bound.as_millis())]
    Overloaded {
        waited: Duration,
        bound: Duration,
        retry_after_secs: u64,
    },
    #[error("the store is off (`--store off`): nothing is remembered")]
    StoreOff,
    /// The detail is for the log, not for clients.
    #[error("the store is unavailable")]
    StoreUnavailable(String),
    #[error("inference failed: {0}")]
    Inference(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// Every code, for the OpenAPI schema and the docs.
    pub const CODES: &'static [&'static str] = &[
        "invalid_utf8",
        "invalid_json",
        "invalid_input",
        "too_many_comments",
        "body_too_large",
        "body_timeout",
        "unsupported_encoding",
        "unauthorized",
        "not_found",
        "method_not_allowed",
        "queue_full",
        "not_ready",
        "shutting_down",
        "timeout",
        "overloaded",
        "store_off",
        "store_unavailable",
        "inference_failed",
        "internal",
    ];

    pub fn code(&self) -> &'static str {
        match self {
            AppError::InvalidUtf8(_) => "invalid_utf8",
            AppError::InvalidJson(_) => "invalid_json",
            AppError::InvalidInput(_) => "invalid_input",
            AppError::TooManyComments { .. } => "too_many_comments",
            AppError::BodyTooLarge { .. } => "body_too_large",
            AppError::BodyTimeout(_) => "body_timeout",
            AppError::UnsupportedEncoding(_) => "unsupported_encoding",
            AppError::Unauthorized => "unauthorized",
            AppError::NotFound(_) => "not_found",
            AppError::MethodNotAllowed { .. } => "method_not_allowed",
            AppError::QueueFull { .. } => "queue_full",
            AppError::NotReady(_) => "not_ready",
            AppError::ShuttingDown => "shutting_down",
            AppError::Timeout(_) => "timeout",
            AppError::Overloaded { .. } => "overloaded",
            AppError::StoreOff => "store_off",
            AppError::StoreUnavailable(_) => "store_unavailable",
            AppError::Inference(_) => "inference_failed",
            AppError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::InvalidUtf8(_) | AppError::InvalidJson(_) => StatusCode::BAD_REQUEST,
            AppError::InvalidInput(_) | AppError::TooManyComments { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedEncoding(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::NotReady(_)
            | AppError::ShuttingDown
            | AppError::Overloaded { .. }
            | AppError::StoreOff
            | AppError::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            AppError::Inference(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<EngineError> for AppError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NotReady(why) => AppError::NotReady(why),
            EngineError::ShuttingDown => AppError::ShuttingDown,
            EngineError::QueueFull {
                depth,
                retry_after_secs,
            } => AppError::QueueFull {
                depth,
                retry_after_secs,
            },
            EngineError::Expired { waited, bound } => AppError::Overloaded {
                waited,
                bound,
                retry_after_secs: bound.as_secs().max(1),
            },
            EngineError::Inference(why) => AppError::Inference(why),
            EngineError::Internal(why) => AppError::Internal(why),
        }
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        AppError::StoreUnavailable(super::memory::causes(&e))
    }
}

impl AppError {
    /// What the client is told: the whole message, except for internal failures, whose
    /// detail (a file path, an inner error) goes to the log only.
    fn public_message(&self) -> String {
        match self {
            AppError::StoreUnavailable(why) => {
                tracing::error!("the store is unavailable: {why}");
                "store_unavailable: the store did not answer; the details are in the server's log"
                    .to_string()
            }
            AppError::Inference(_) | AppError::Internal(_) => {
                tracing::error!("{self}");
                format!("{}; the details are in the server's log", self.code())
            }
            _ => self.to_string(),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code().to_string(),
                message: self.public_message(),
            },
        };
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match self {
            AppError::QueueFull {
                retry_after_secs, ..
            }
            | AppError::Overloaded {
                retry_after_secs, ..
            } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            AppError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            // The connection may hold the rest of a body nobody will read.
            AppError::ShuttingDown | AppError::BodyTimeout(_) => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once() {
        let errors = [
            AppError::InvalidUtf8(String::new()),
            AppError::InvalidJson(String::new()),
            AppError::InvalidInput(String::new()),
            AppError::TooManyComments { given: 2, max: 1 },
            AppError::BodyTooLarge { limit: 1 },
            AppError::BodyTimeout(Duration::from_secs(1)),
            AppError::UnsupportedEncoding(String::new()),
            AppError::Unauthorized,
            AppError::NotFound(String::new()),
            AppError::MethodNotAllowed {
                method: String::new(),
                path: String::new(),
            },
            AppError::QueueFull {
                depth: 1,
                retry_after_secs: 1,
            },
            AppError::NotReady(String::new()),
            AppError::ShuttingDown,
            AppError::Timeout(Duration::from_secs(1)),
            AppError::Overloaded {
                waited: Duration::from_secs(1),
                bound: Duration::from_secs(1),
                retry_after_secs: 1,
            },
            AppError::StoreOff,
            AppError::StoreUnavailable(String::new()),
            AppError::Inference(String::new()),
            AppError::Internal(String::new()),
        ];
        let codes: Vec<&str> = errors.iter().map(AppError::code).collect();
        assert_eq!(codes, AppError::CODES);
    }

    #[test]
    fn an_expired_comment_is_503_overloaded_with_retry_after() {
        let expired = EngineError::Expired {
            waited: Duration::from_millis(1416),
            bound: Duration::from_secs(1),
        };
        let response = AppError::from(expired).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let message = AppError::from(EngineError::Expired {
            waited: Duration::from_millis(1416),
            bound: Duration::from_secs(1),
        })
        .to_string();
        assert_eq!(
            message,
            "overloaded: the comments waited 1416 ms, past the queue's bound of 1000 ms, and were not run; retry after 1 s"
        );
    }

    #[test]
    fn internal_detail_goes_to_the_log_not_the_client() {
        for error in [
            AppError::Internal("tokenising: /root/.cache/tact/tokenizer.json: bad".to_string()),
            AppError::Inference("matmul: shape [3, 384] vs [2, 384]".to_string()),
        ] {
            let message = error.public_message();
            assert!(
                !message.contains("tact") && !message.contains("384"),
                "{message}"
            );
            assert!(message.ends_with("; the details are in the server's log"));
        }
    }
}
