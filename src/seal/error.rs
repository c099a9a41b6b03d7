//! Why a seal could not be made or read: [`EncodeError`], [`DecodeError`].

use crate::jose::KeyError;
use crate::licence::identifier::IdentifierError;
use crate::status_list::StatusListError;
use crate::zlib::{self, InflateError};

/// A CBOR writer failure (only ever an allocation or a value CBOR cannot hold).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CborWriteError(pub(super) String);

/// Why a seal could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A time before 1970 (CWT times are unsigned).
    #[error("claim {claim} is {value}, before 1970; a seal cannot carry it")]
    NegativeTime {
        /// The claim.
        claim: &'static str,
        /// Its value.
        value: i64,
    },
    /// Field values that do not match the type's field list.
    #[error("{found} face field values for a type with {expected} fields")]
    FieldCount {
        /// Values given.
        found: usize,
        /// The type's field count.
        expected: usize,
    },
    /// The identifier's type code is not the type's.
    #[error("the identifier's type code {type_code} is not that of a {licence_type}")]
    TypeMismatch {
        /// Type code in the identifier.
        type_code: String,
        /// The claimed type.
        licence_type: &'static str,
    },
    /// The seal would not fit a QR code (level Q, version 40), so it could not be printed.
    #[error("the licence is too large to print: its seal would be {chars} characters, more than a QR code holds at level Q ({max}); shorten the longest face fields")]
    NotPrintable {
        /// The seal's length.
        chars: usize,
        /// What a QR code holds.
        max: usize,
    },
    /// The seal would exceed a cap that decoders enforce.
    #[error("the licence is too large for a paper seal: the {layer} would be {size} bytes, more than the {max} a verifier accepts; shorten the longest face fields")]
    TooLarge {
        /// Which layer.
        layer: &'static str,
        /// Its size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// CBOR encoding failed.
    #[error("could not encode the seal as CBOR")]
    Cbor(#[source] CborWriteError),
    /// Signing failed.
    #[error("could not sign the seal")]
    Sign(#[source] KeyError),
    /// zlib failed.
    #[error("could not compress the seal")]
    Compress(#[source] zlib::DeflateError),
}

/// A COSE structure error from coset, kept as text (coset's error type is not
/// `std::error::Error` without its `std` feature).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CoseStructureError(String);

impl From<coset::CoseError> for CoseStructureError {
    fn from(e: coset::CoseError) -> Self {
        Self(e.to_string())
    }
}

/// Why a text is not a well-formed seal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Over a size cap; the layer was not decoded.
    #[error("the {layer} is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Which layer.
        layer: &'static str,
        /// Its size (or, for the inflated seal, the cap + 1 where reading stopped).
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not `EL1:`.
    #[error("a seal starts with \"EL1:\", not {found:?}; is this a seal of another version or another QR code?")]
    Prefix {
        /// The first characters found.
        found: String,
    },
    /// Not Base45.
    #[error("the seal is not Base45 (upper-case letters, digits, space and $%*+-./: only)")]
    Base45(#[source] base45::DecodeError),
    /// A layer not in its one canonical encoding.
    #[error("the {layer} is not in its canonical encoding")]
    NotCanonical {
        /// Which layer.
        layer: &'static str,
    },
    /// zlib refused the data (bad header, bad DEFLATE data, wrong Adler-32).
    #[error("the seal is not a valid zlib stream")]
    Inflate(#[source] InflateError),
    /// The zlib stream ends before its end marker and checksum.
    #[error("the seal's zlib stream is cut short")]
    Truncated,
    /// Bytes after a complete item.
    #[error("{bytes} bytes follow the {layer}")]
    Trailing {
        /// Which layer.
        layer: &'static str,
        /// How many.
        bytes: usize,
    },
    /// Not CBOR.
    #[error("the {layer} is not well-formed CBOR")]
    Cbor {
        /// Which layer.
        layer: &'static str,
        /// Why.
        #[source]
        source: coset::cbor::de::Error<std::io::Error>,
    },
    /// A tag other than COSE_Sign1's.
    #[error("CBOR tag {tag} is not a COSE_Sign1 (18)")]
    Tag {
        /// The tag.
        tag: u64,
    },
    /// Not a COSE_Sign1 array.
    #[error("not a COSE_Sign1")]
    Cose(#[source] CoseStructureError),
    /// A part of the wrong shape.
    #[error("the {part} is not {expected}")]
    Structure {
        /// Which part.
        part: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// An algorithm other than ES256.
    #[error("unsupported COSE algorithm {alg}: seals are signed with ES256 (-7) only")]
    Algorithm {
        /// The `alg` found.
        alg: String,
    },
    /// A `crit` header.
    #[error("the seal's protected header carries crit, which is never accepted")]
    Crit,
    /// A protected header label other than alg and kid.
    #[error("unknown protected header label {label}")]
    UnknownHeader {
        /// The label.
        label: i128,
    },
    /// alg or kid missing.
    #[error("the protected header has no {name}")]
    MissingHeader {
        /// Which.
        name: &'static str,
    },
    /// Anything in the unprotected header.
    #[error("the unprotected header must be empty")]
    UnprotectedHeader,
    /// No payload.
    #[error("the seal has no payload (detached payloads are not accepted)")]
    DetachedPayload,
    /// A kid that is not 8 bytes.
    #[error("the kid is {found} bytes, not 8")]
    KidLength {
        /// Its length.
        found: usize,
    },
    /// A signature that is not 64 bytes.
    #[error("the signature is {found} bytes, not 64 (ES256 r‖s)")]
    SignatureLength {
        /// Its length.
        found: usize,
    },
    /// Map keys out of deterministic order, or repeated.
    #[error("key {key} of the {part} is out of order or repeated")]
    KeyOrder {
        /// Which map.
        part: &'static str,
        /// The key.
        key: i128,
    },
    /// A claim key the format does not have.
    #[error("unknown claim key {key}")]
    UnknownClaim {
        /// The key.
        key: i128,
    },
    /// A required claim is missing.
    #[error("claim {claim} is missing")]
    MissingClaim {
        /// Which.
        claim: &'static str,
    },
    /// A claim of the wrong type.
    #[error("claim {claim} is not {expected}")]
    ClaimType {
        /// Which.
        claim: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The identifier fails its checks.
    #[error("the licence identifier is invalid")]
    Identifier(#[source] IdentifierError),
    /// A type code this service does not know.
    #[error("unknown licence type code {type_code}")]
    UnknownType {
        /// The code.
        type_code: String,
    },
    /// Not one value per face field.
    #[error("{found} face field values, but the licence type has {expected} fields")]
    FieldCount {
        /// Values found.
        found: usize,
        /// Fields of the type.
        expected: usize,
    },
    /// A face field value of the wrong type (or a required one missing).
    #[error("face field {field} is not a non-empty text (or null, when optional)")]
    Field {
        /// Which field.
        field: &'static str,
    },
    /// An unusable status reference.
    #[error("the status reference is invalid")]
    Status(#[source] StatusListError),
}
