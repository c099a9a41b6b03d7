//! The bodies the service sends and accepts that are not a pipeline's own types (the
//! error shape, readiness, the verify request): plain types with their OpenAPI schemas,
//! used by the handlers and listed by [`super::openapi`] without either importing the other.

use utoipa::ToSchema;

/// The JSON error shape every failure answers with.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// Inside [`ErrorBody`].
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `bad_json`, `unauthorized`, `rate_limited`.
    pub code: String,
    /// What went wrong and how to fix it.
    pub message: String,
    /// Only for `invalid_requests` (a batch): each failing request's `index` and `message`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub details: Option<Vec<serde_json::Value>>,
}

/// `/readyz` when not ready: the error shape, plus the readiness and ledger size.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct NotReadyBody {
    /// Why not ready (`storage_full`, `storage_read_only`, …) and the remedy.
    pub error: ErrorDetail,
    /// `not_ready`.
    pub status: String,
    /// Events in the ledger.
    pub ledger_size: u64,
}

/// `POST /v1/verify` as JSON.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// The licence or presentation text.
    pub licence: String,
    /// Expected KB-JWT audience, when checking a key-bound presentation.
    #[serde(default)]
    pub aud: Option<String>,
    /// Expected KB-JWT nonce.
    #[serde(default)]
    pub nonce: Option<String>,
}
