//! Why a licence is not valid: [`VerifyError`], [`IssuerMismatch`] and [`error_chain`].

use crate::jose::jws::JwsError;
use crate::ledger::{AdminStatus, Reason};
use crate::licence;
use crate::pki::ChainError;
use crate::sdjwt::{DisclosureError, FormatError, KeyBindingError};

pub(super) fn jws_error(e: JwsError) -> VerifyError {
    match e {
        JwsError::UnsupportedAlgorithm { alg } => VerifyError::UnsupportedAlgorithm { alg },
        JwsError::ForbiddenHeader { name } => VerifyError::ForbiddenHeader { name },
        other => VerifyError::Malformed(FormatError::Jws(other)),
    }
}

pub(super) fn chain_error(e: ChainError) -> VerifyError {
    if e.is_untrusted() {
        VerifyError::UntrustedIssuer(e)
    } else {
        VerifyError::BadChain(e)
    }
}

/// An error and its causes on one line (skipping causes already in the message).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = c.source();
    }
    s
}

/// How the issuer named in a licence differs from its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerMismatch {
    /// `iss` is not the certificate's URI.
    Iss {
        /// The claim.
        iss: String,
        /// The certificate's URI.
        certificate: String,
    },
    /// The identifier names another agency.
    Identifier {
        /// USCC in the identifier.
        in_identifier: String,
        /// USCC in the certificate.
        certificate: String,
    },
    /// The identifier's type code does not match `vct`.
    Type {
        /// Type code in the identifier.
        in_identifier: String,
        /// The `vct`.
        vct: &'static str,
    },
}

impl std::fmt::Display for IssuerMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Iss { iss, certificate } => {
                write!(
                    f,
                    "iss {iss:?} is not the certificate's issuer {certificate:?}"
                )
            }
            Self::Identifier {
                in_identifier,
                certificate,
            } => write!(
                f,
                "the identifier names agency {in_identifier} but the certificate is {certificate}'s"
            ),
            Self::Type { in_identifier, vct } => write!(
                f,
                "the identifier's type code {in_identifier} does not match vct {vct}"
            ),
        }
    }
}

/// "revoked on 〈time〉 (reason)" from the ledger; from a status list, which carries the
/// state but not when it changed, "revoked as of 〈the list's signing time〉".
fn status_text(
    what: &str,
    at: i64,
    from_list: bool,
    reason: Reason,
    admin_status: Option<crate::ledger::AdminStatus>,
) -> String {
    let why = format!(
        "{}{}",
        admin_status
            .map(|a| format!("{}, ", a.zh()))
            .unwrap_or_default(),
        reason.name()
    );
    let at = licence::format_time(at);
    match (from_list, what) {
        (true, "suspended") => format!(
            "suspended as of {at}, the status list's signing time (a status list does not carry the suspension time)"
        ),
        (true, _) => format!(
            "{what} as of {at}, the status list's signing time (a status list does not carry the revocation time)"
        ),
        (false, "suspended") => format!("suspended since {at} ({why})"),
        (false, _) => format!("{what} on {at} ({why})"),
    }
}

/// Why a licence is not valid — the most specific reason found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Over the size cap; nothing was decoded.
    #[error("the licence is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// Not a well-formed SD-JWT.
    #[error("malformed licence: {0}")]
    Malformed(#[source] FormatError),
    /// Not a well-formed paper seal.
    #[error("malformed seal: {0}")]
    MalformedSeal(#[source] crate::seal::DecodeError),
    /// `typ` is not `dc+sd-jwt`.
    #[error("the token type is {typ:?}, not an SD-JWT VC (\"dc+sd-jwt\")")]
    WrongType {
        /// What was found.
        typ: Option<String>,
    },
    /// Payload not JSON.
    #[error("malformed licence: the payload is not a JSON object")]
    Payload(#[source] serde_json::Error),
    /// A registered claim missing or mistyped.
    #[error("malformed licence: claim `{name}` is missing or of the wrong type")]
    MissingClaim {
        /// The claim.
        name: &'static str,
    },
    /// `cnf` is not `{ "jwk": <EC P-256 JWK> }`.
    #[error("malformed licence: cnf is not a holder JWK")]
    Claims(#[source] serde_json::Error),
    /// The header's `kid` is not a string.
    #[error("the header kid is not a string")]
    KidNotString,
    /// The header's `kid` is not the signing certificate's.
    #[error("the header kid {kid:?} does not match the signing certificate's kid {certificate:?}")]
    KidMismatch {
        /// The header kid.
        kid: String,
        /// The certificate's kid.
        certificate: String,
    },
    /// A `vct` this service does not know.
    #[error("unknown licence type {vct:?}")]
    UnknownType {
        /// The vct.
        vct: String,
    },
    /// The identifier fails its checks.
    #[error("the licence identifier is invalid")]
    Identifier(#[source] crate::licence::identifier::IdentifierError),
    /// `alg` is not ES256.
    #[error("unsupported algorithm {alg:?}: licences are signed with ES256 only")]
    UnsupportedAlgorithm {
        /// The alg.
        alg: String,
    },
    /// A header that would let the token choose its own key.
    #[error("the licence header carries `{name}`, which is never accepted")]
    ForbiddenHeader {
        /// The header.
        name: &'static str,
    },
    /// No trusted root or known issuer.
    #[error("untrusted issuer: {0}")]
    UntrustedIssuer(#[source] ChainError),
    /// The chain reaches a root but is not valid.
    #[error("bad issuer certificate chain: {0}")]
    BadChain(#[source] ChainError),
    /// The signature does not verify.
    #[error("bad signature: the licence was altered or not signed by the certificate it names")]
    BadSignature,
    /// iss or identifier disagree with the certificate.
    #[error("issuer mismatch: {reason}")]
    IssuerMismatch {
        /// How.
        reason: IssuerMismatch,
    },
    /// A disclosure does not match the signed digests.
    #[error("disclosure mismatch: {0}")]
    Disclosure(#[source] DisclosureError),
    /// Key binding failed.
    #[error("key binding failed: {0}")]
    KeyBinding(#[source] KeyBindingError),
    /// Revoked (final).
    #[error("{}", status_text("revoked", *at, *from_list, *reason, *admin_status))]
    Revoked {
        /// When (with `from_list`: when the list that says so was signed).
        at: i64,
        /// Whether this comes from a status list, which carries the state but not when it
        /// changed: then `at` is the list's signing time ("revoked as of").
        from_list: bool,
        /// RFC 5280 reason.
        reason: Reason,
        /// Chinese administrative status, if recorded.
        admin_status: Option<AdminStatus>,
    },
    /// Suspended (暂扣) for now.
    #[error("{}", status_text("suspended", *at, *from_list, *reason, *admin_status))]
    Suspended {
        /// Since when (with `from_list`: when the list that says so was signed).
        at: i64,
        /// Whether this comes from a status list (see [`VerifyError::Revoked`]).
        from_list: bool,
        /// RFC 5280 reason.
        reason: Reason,
        /// Chinese administrative status, if recorded.
        admin_status: Option<AdminStatus>,
    },
    /// Not valid yet.
    #[error("not yet valid: valid from {} (checked at {})", licence::format_time(*not_before), licence::format_time(*at))]
    NotYetValid {
        /// Check time.
        at: i64,
        /// Start of validity.
        not_before: i64,
    },
    /// Expired.
    #[error("expired on {} (checked at {})", licence::format_time(*not_after), licence::format_time(*at))]
    Expired {
        /// Check time.
        at: i64,
        /// End of validity.
        not_after: i64,
    },
}

impl VerifyError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::MalformedSeal(crate::seal::DecodeError::UnknownType { .. }) => "unknown_type",
            Self::Malformed(_)
            | Self::MalformedSeal(_)
            | Self::WrongType { .. }
            | Self::Payload(_)
            | Self::Claims(_)
            | Self::MissingClaim { .. }
            | Self::KidMismatch { .. }
            | Self::KidNotString
            | Self::Identifier(_) => "malformed",
            Self::UnknownType { .. } => "unknown_type",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::ForbiddenHeader { .. } => "forbidden_header",
            Self::UntrustedIssuer(_) => "untrusted_issuer",
            Self::BadChain(
                ChainError::Expired { .. }
                | ChainError::NotYetValid { .. }
                | ChainError::RootNotValid { .. },
            ) => "certificate_not_valid_at_signing",
            Self::BadChain(_) => "bad_chain",
            Self::BadSignature => "bad_signature",
            Self::IssuerMismatch { .. } => "issuer_mismatch",
            Self::Disclosure(_) => "disclosure_mismatch",
            Self::KeyBinding(_) => "key_binding_failed",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Revoked { .. } => "revoked",
            Self::Suspended { .. } => "suspended",
            Self::Expired { .. } => "expired",
        }
    }

    /// Whether the licence is a forgery or altered (as opposed to genuine but expired,
    /// not yet valid, or presented without the required key binding).
    pub fn is_not_genuine(&self) -> bool {
        !matches!(
            self,
            Self::NotYetValid { .. }
                | Self::Expired { .. }
                | Self::KeyBinding(_)
                | Self::Revoked { .. }
                | Self::Suspended { .. }
        )
    }
}
