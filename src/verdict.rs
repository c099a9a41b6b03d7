//! The verdict on a licence: the one answer `POST /v1/verify`, `POST /v1/verify/image`,
//! `elicense verify --json` and the verdict metrics give, built only from the verify
//! pipeline's result.
//!
//! As JSON, `verdict` is `valid`, `status_unknown` or `invalid`:
//!
//! - `valid` and `status_unknown` carry the verified licence's face (identifier, type,
//!   issuer, holder, fields, validity, `status`, `checked_at`); `status_unknown` adds
//!   `reason` — the signature holds, but whether the licence is revoked or suspended could
//!   not be established;
//! - `invalid` carries `reason` and `checked_at` only: nothing of an invalid licence is
//!   repeated back.
//!
//! `reason` is always `{ "code", "message" }`: for `invalid` the code is
//! [`VerifyError::code`] (`revoked`, `expired`, `bad_signature`, …), for `status_unknown`
//! one of [`UnknownReason`]'s codes.

use crate::licence;
use crate::verify::{LicenceStatus, VerifiedLicence, VerifyError};
use serde::Serialize;
use utoipa::ToSchema;

/// What a verification found.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Genuine, in force and (when the licence has a status reference) neither revoked nor
    /// suspended.
    Valid {
        /// The licence's face.
        #[serde(flatten)]
        #[schema(value_type = LicenceFace)]
        licence: Box<VerifiedLicence>,
    },
    /// The signature and validity window hold, but the status is not known.
    StatusUnknown {
        /// The licence's face.
        #[serde(flatten)]
        #[schema(value_type = LicenceFace)]
        licence: Box<VerifiedLicence>,
        /// Why the status is not known.
        #[schema(value_type = ReasonBody)]
        reason: Reason,
    },
    /// Not valid: forged, altered, revoked, suspended, expired, …
    Invalid {
        /// Why not.
        #[schema(value_type = ReasonBody)]
        reason: Reason,
        /// When it was checked (RFC 3339, +08:00).
        checked_at: String,
    },
}

/// Why a licence's status is not known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownReason {
    /// No status source (ledger or status list) was consulted, and the licence carries a
    /// status reference: code `status_not_checked`.
    NotChecked,
    /// The status source could not answer for this licence (no record of it, a stale or
    /// foreign status list, an unreadable ledger …): code `status_unavailable`.
    Unavailable,
}

impl UnknownReason {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::NotChecked => "status_not_checked",
            Self::Unavailable => "status_unavailable",
        }
    }
}

/// A verdict's reason: a stable code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    code: &'static str,
    message: String,
}

impl Reason {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl Verdict {
    /// The verdict on a verification done at `at` (seconds since the epoch).
    pub fn new(result: Result<VerifiedLicence, VerifyError>, at: i64) -> Self {
        match result {
            Ok(v) => Self::verified(v),
            Err(e) => Self::invalid(&e, at),
        }
    }

    /// The verdict on a licence that passed verification: `valid`, or `status_unknown` when
    /// its status could not be established (or was not checked though it has a reference).
    pub fn verified(licence: VerifiedLicence) -> Self {
        let unknown = match licence.status() {
            LicenceStatus::Valid { .. } => None,
            LicenceStatus::Unknown { reason } => Some(Reason {
                code: UnknownReason::Unavailable.code(),
                message: reason.clone(),
            }),
            LicenceStatus::NotChecked => licence.status_reference().map(|r| Reason {
                code: UnknownReason::NotChecked.code(),
                message: format!(
                    "the status was not checked: no ledger and no status list for {}",
                    r.uri()
                ),
            }),
        };
        let licence = Box::new(licence);
        match unknown {
            None => Self::Valid { licence },
            Some(reason) => Self::StatusUnknown { licence, reason },
        }
    }

    /// The verdict on a licence that failed verification at `at`.
    pub fn invalid(e: &VerifyError, at: i64) -> Self {
        Self::Invalid {
            reason: Reason {
                code: e.code(),
                message: crate::verify::error_chain(e),
            },
            checked_at: licence::format_time(at),
        }
    }

    /// `valid`, `status_unknown`, or the invalid reason's code (as counted in the metrics).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Valid { .. } => "valid",
            Self::StatusUnknown { .. } => "status_unknown",
            Self::Invalid { reason, .. } => reason.code,
        }
    }

    /// The reason, unless valid.
    pub fn reason(&self) -> Option<&Reason> {
        match self {
            Self::Valid { .. } => None,
            Self::StatusUnknown { reason, .. } | Self::Invalid { reason, .. } => Some(reason),
        }
    }

    /// The verified licence, unless invalid.
    pub fn licence(&self) -> Option<&VerifiedLicence> {
        match self {
            Self::Valid { licence } | Self::StatusUnknown { licence, .. } => Some(licence),
            Self::Invalid { .. } => None,
        }
    }
}

/// Schema of [`Reason`] (`{ "code", "message" }`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonBody {
    /// Stable code: for `invalid` one of `malformed`, `too_large`, `unknown_type`,
    /// `unsupported_algorithm`, `forbidden_header`, `untrusted_issuer`, `bad_chain`,
    /// `certificate_not_valid_at_signing`, `bad_signature`, `issuer_mismatch`,
    /// `disclosure_mismatch`, `key_binding_failed`, `not_yet_valid`, `revoked`,
    /// `suspended`, `expired`; for `status_unknown` `status_unavailable` or
    /// `status_not_checked`.
    pub code: String,
    /// What was found, for people (English).
    pub message: String,
}

/// Schema of a verified licence's face, as `valid` and `status_unknown` verdicts give it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceFace {
    /// GB/T 36904 identifier.
    pub licence_id: String,
    /// Licence type.
    #[serde(rename = "type")]
    pub licence_type: LicenceTypeFace,
    /// Issuing agency.
    pub issuer: IssuerFace,
    /// Signing time (RFC 3339, +08:00).
    pub issued_at: String,
    /// Start of validity.
    pub valid_from: String,
    /// End of validity; null for a permanent licence.
    pub valid_until: Option<String>,
    /// Holder, if disclosed.
    pub holder: HolderFace,
    /// Disclosed face fields.
    pub fields: Vec<FieldFace>,
    /// Whether a key-binding JWT proved the holder presented it.
    pub key_bound: bool,
    /// Whether the licence names a holder key (`cnf`).
    pub holder_bound: bool,
    /// What is known of its status.
    pub status: StatusFace,
    /// Where its status is published (`{ "status_list": { "idx", "uri" } }`), if anywhere.
    #[schema(value_type = Option<Object>)]
    pub status_reference: Option<serde_json::Value>,
    /// When it was checked.
    pub checked_at: String,
}

/// Schema of a licence type.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceTypeFace {
    /// Type code.
    pub code: String,
    /// URL slug.
    pub slug: String,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// Schema of an issuing agency.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssuerFace {
    /// Name.
    pub name: String,
    /// USCC.
    pub code: String,
    /// Issuer identifier (`iss`).
    pub iss: String,
    /// Signing certificate's key id.
    pub kid: String,
    /// SHA-256 of the signing certificate (base64url).
    pub certificate_sha256: String,
}

/// Schema of the holder.
#[derive(Debug, Serialize, ToSchema)]
pub struct HolderFace {
    /// Name, if disclosed.
    pub name: Option<String>,
    /// Identity code, if disclosed.
    pub id: Option<String>,
}

/// Schema of one face field.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldFace {
    /// Claim name.
    pub key: String,
    /// Chinese label.
    pub label_zh: String,
    /// English label.
    pub label_en: String,
    /// Value.
    pub value: String,
}

/// Schema of a verified licence's status.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusFace {
    /// `valid`, `unknown` or `not_checked`.
    pub state: String,
    /// For `valid`: `ledger` or `status_list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// For `valid`: when the source said so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// For `unknown`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
