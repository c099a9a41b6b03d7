//! The one error type of the HTTP layer and its conversions from the pipelines' errors.
//!
//! Every failure answers `{ "error": { "code", "message" } }` with a stable code. Handlers
//! use `?` on a pipeline's error ([`LedgerError`], [`IssueError`], [`ScanError`], a body
//! rejection, a blocking task's [`JoinError`]) and get its mapping here, or one of the
//! constructors named after the status for errors of the request itself.

use crate::issue::IssueError;
use crate::ledger::LedgerError;
use crate::licence::identifier::IdentifierError;
use crate::scan::{ScanError, MAX_IMAGE_BYTES};
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use tokio::task::JoinError;

/// A failed request: HTTP status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 400: the request is wrong (`code` says how).
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 `unauthorized`.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// 403.
    pub(crate) fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// 404.
    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 405 `method_not_allowed`.
    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not accept that method",
        )
    }

    /// 409.
    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// 413.
    pub(crate) fn too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, code, message)
    }

    /// 413 `image_too_large`: an image over [`MAX_IMAGE_BYTES`].
    pub(crate) fn image_too_large() -> Self {
        Self::too_large(
            "image_too_large",
            format!(
                "the image is larger than the {MAX_IMAGE_BYTES} bytes accepted: send a smaller photo (a JPEG of about 2000 pixels across is plenty)"
            ),
        )
    }

    /// 414 `uri_too_long`.
    pub(crate) fn uri_too_long(message: impl Into<String>) -> Self {
        Self::new(StatusCode::URI_TOO_LONG, "uri_too_long", message)
    }

    /// 415 `unsupported_media_type`.
    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        )
    }

    /// 422.
    pub(crate) fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 429 `rate_limited`.
    pub(crate) fn rate_limited(message: impl Into<String>) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
    }

    /// 431 (`too_many_headers`, `headers_too_large`).
    pub(crate) fn headers_too_large(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, code, message)
    }

    /// 503: something this service depends on cannot answer now; retrying may help.
    pub(crate) fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
    }

    /// 503 `overloaded`: load shedding.
    pub(crate) fn overloaded() -> Self {
        Self::unavailable("overloaded", "the service is at capacity; retry shortly")
    }

    /// 500 `internal_error`: a bug. The cause is logged (at ERROR), never sent.
    pub(crate) fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(target: "elicense::http", error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "the service failed to answer this request; it is logged",
        )
    }

    /// 500 with a code and a message for the operator: data this service keeps is damaged.
    pub(crate) fn corrupt_data(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, code, message)
    }

    /// An error response that was not JSON (a timeout, a framework rejection), given the
    /// JSON shape with a code for its status.
    pub(crate) fn of_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::REQUEST_TIMEOUT => "timeout",
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::SERVICE_UNAVAILABLE => "overloaded",
            StatusCode::TOO_MANY_REQUESTS => "rate_limited",
            StatusCode::NOT_FOUND => "not_found",
            StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
            s if s.is_client_error() => "bad_request",
            _ => "internal_error",
        };
        Self::new(status, code, status.canonical_reason().unwrap_or("error"))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

/// A ledger refusal or failure: storage causes are 503 with the cause's code (and, for a
/// failed write, the advice to retry once `/readyz` is 200); a proof beyond the log is 400.
impl From<LedgerError> for ApiError {
    fn from(e: LedgerError) -> Self {
        let (status, code) = match &e {
            LedgerError::UnknownLicence { .. } => (StatusCode::NOT_FOUND, "unknown_licence"),
            LedgerError::NotYourLicence { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            LedgerError::Transition { .. } => (StatusCode::CONFLICT, "illegal_transition"),
            LedgerError::AlreadyIssued { .. } => (StatusCode::CONFLICT, "already_issued"),
            LedgerError::ReasonMismatch { .. }
            | LedgerError::AdminStatusMismatch { .. }
            | LedgerError::ReasonContradicts { .. }
            | LedgerError::NoteTooLong { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            LedgerError::Storage { cause, .. } | LedgerError::Unavailable { cause, .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, cause.code())
            }
            LedgerError::BeyondLog { .. } => (StatusCode::BAD_REQUEST, "beyond_log"),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "ledger_unavailable"),
        };
        // Storage and database failures are explained to the operator in the log; the client
        // gets the cause without the server's paths or database error text.
        let message = match &e {
            LedgerError::Transition { source, .. } => format!("{e}: {source}"),
            LedgerError::Storage { cause, .. } => format!(
                "{}. The change may not have been recorded: send the same request again once /readyz answers 200 (a retried issuance returns the licence if it was recorded)",
                cause.explain_public()
            ),
            LedgerError::Unavailable { cause, .. } => format!(
                "the ledger takes no changes since a write failed: {}; the change was not recorded",
                cause.explain_public()
            ),
            LedgerError::Db(_) | LedgerError::Corrupt { .. } | LedgerError::CorruptRecord { .. } => {
                tracing::error!(target: "elicense::ledger", error = %crate::verify::error_chain(&e), "ledger read failed");
                "the ledger could not be read; the operator has been told (ERROR log)".into()
            }
            _ => e.to_string(),
        };
        Self::new(status, code, message)
    }
}

/// An issuance that failed: the ledger's mapping, 409 for a serial already taken, else 400.
impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::Ledger(l) => l.into(),
            e @ IssueError::SerialTaken { .. } => Self::conflict("already_issued", e.to_string()),
            other => Self::bad_request("bad_request", crate::verify::error_chain(&other)),
        }
    }
}

/// An image that gave no text.
impl From<ScanError> for ApiError {
    fn from(e: ScanError) -> Self {
        let status = match e {
            ScanError::TooLarge { .. }
            | ScanError::TooManyPixels { .. }
            | ScanError::DecoderLimit(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ScanError::UnsupportedFormat => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ScanError::Corrupt { .. } => StatusCode::BAD_REQUEST,
            ScanError::NoQrFound | ScanError::Unreadable => StatusCode::UNPROCESSABLE_ENTITY,
        };
        Self::new(status, e.code(), e.to_string())
    }
}

/// A body that could not be read: 413 `body_too_large` over the limit, else 400 `bad_body`.
impl From<BytesRejection> for ApiError {
    fn from(e: BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Self::too_large(
                "body_too_large",
                "the body is larger than this endpoint accepts (see limits.max_body_bytes)",
            )
        } else {
            Self::bad_request("bad_body", e.body_text())
        }
    }
}

/// A licence identifier that fails its checks: 400 `bad_identifier`.
impl From<IdentifierError> for ApiError {
    fn from(e: IdentifierError) -> Self {
        Self::bad_request("bad_identifier", e.to_string())
    }
}

/// A blocking task that panicked or was cancelled: a bug, 500 `internal_error`, logged.
impl From<JoinError> for ApiError {
    fn from(e: JoinError) -> Self {
        Self::internal(&e)
    }
}

/// Runs `f` on the blocking pool; a panic in it is 500 `internal_error` (logged at ERROR).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    Ok(tokio::task::spawn_blocking(f).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_in_a_blocking_task_is_an_internal_error_not_busy() {
        let e = blocking(|| -> u8 { panic!("bug") }).await.unwrap_err();
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(e.code(), "internal_error");
        assert!(
            !e.message().contains("bug"),
            "the cause is logged, not sent"
        );
    }

    #[test]
    fn storage_failures_are_503_with_their_cause_and_beyond_log_is_400() {
        let e: ApiError = LedgerError::BeyondLog {
            size: 5,
            durable: 3,
        }
        .into();
        assert_eq!(
            (e.status(), e.code()),
            (StatusCode::BAD_REQUEST, "beyond_log")
        );
    }
}
