//! Token Status List (draft-ietf-oauth-status-list, checked against -18): revocation and
//! suspension status for licences, published per issuer as signed `statuslist+jwt` tokens.
//!
//! Pure format code: bytes in, typed values out; no I/O, and time is an argument.
//!
//! ```text
//! StatusList ─► encode_lst (zlib, base64url) ─► sign_token ─► "statuslist+jwt"
//! token ─► size cap ─► split ─► header policy (ES256) ─► typ ─► signature ─► claims
//!       ─► sub / nbf / iat / exp / ttl / max_age ─► decode_lst (capped inflate)
//!       ─► VerifiedStatusList ─► status(&StatusReference)
//! ```
//!
//! # The list
//!
//! Every entry is `bits` wide (1, 2, 4 or 8). Entry `i` lives in byte `i / (8 / bits)` at
//! bit offset `(i % (8 / bits)) * bits`, counted from the least significant bit. The byte
//! array is compressed with DEFLATE in the ZLIB format (RFC 1950/1951) and base64url-encoded
//! without padding as the `lst` member of the `status_list` claim.
//!
//! A decoded list has `bytes * 8 / bits` entries: the padding entries of the last byte are
//! addressable and read as whatever the issuer wrote there (zero from [`StatusList::new`]).
//!
//! # Untrusted input
//!
//! * a token is capped at [`MAX_TOKEN_LEN`] before anything is decoded;
//! * the list is inflated only after the signature and every time claim have passed, and
//!   with a hard output cap derived from the caller's `max_entries` (never from anything
//!   the token declares): output grows in steps up to `cap + 1` bytes and the stream is
//!   rejected as soon as it exceeds `cap` — a zlib bomb costs at most `cap` bytes of work;
//! * the zlib stream must be complete, its Adler-32 must match, and nothing may follow it;
//! * base64url is strict (no padding, no whitespace, canonical trailing bits).

use crate::jose::{
    self, Base64Error, Es256PublicKey, Es256Signer, JwsError, KeyError, UnverifiedJws,
};
use crate::zlib::{self, InflateError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

mod token;

pub use token::*;

/// The JWT `typ` of a Status List Token.
pub const TYP: &str = "statuslist+jwt";

/// The media type of a Status List Token in JWT format (the HTTP `Content-Type`).
pub const MEDIA_TYPE: &str = "application/statuslist+jwt";

/// Most entries a list may hold: 2^24 (2 MiB of bytes at 1 bit, 16 MiB at 8 bits).
pub const MAX_ENTRIES: usize = 1 << 24;

/// Largest Status List Token accepted or produced, checked before any decoding.
///
/// A 1,000,000-entry 2-bit list compresses to about 17 KB with 1% of its entries set and
/// about 100 KB with 10%; a 2^24-entry list with 1% set to about 250–570 KB. Lists that
/// would not fit (e.g. millions of random 8-bit values) cannot be signed as one token.
pub const MAX_TOKEN_LEN: usize = 4 * 1024 * 1024;

/// Largest clock skew a [`Validation`] may allow, seconds (one hour).
pub const MAX_SKEW: i64 = 3600;

/// The zlib level [`StatusList::encode_lst`] uses: the highest, as the draft recommends
/// (§4.1). In a release build a 1,000,000-entry 2-bit list compresses in about 13 ms with
/// 1% of its entries set and 90 ms with 10% (levels 6 and 1: 4 and 0.5 ms, 10% and 70%
/// larger).
pub const COMPRESSION_LEVEL: u32 = 9;

/// Bit sizes the draft allows (§4.1).
const ALLOWED_BITS: [u8; 4] = [1, 2, 4, 8];

/// The status of one referenced token (draft §7).
///
/// Values 0, 1 and 2 are the registered ones; every other value is carried as
/// [`Status::Other`]. Equality and hashing go by [`Status::as_u8`], so `Other(1)` equals
/// `Invalid`; [`Status::from_u8`] never produces `Other` for 0, 1 or 2.
#[derive(Debug, Clone, Copy)]
pub enum Status {
    /// 0x00 `VALID`: the licence is valid.
    Valid,
    /// 0x01 `INVALID`: revoked, annulled, recalled or cancelled.
    Invalid,
    /// 0x02 `SUSPENDED`: temporarily invalid.
    Suspended,
    /// Any other value: 0x03 and 0x0C–0x0F are application specific, the rest reserved.
    Other(u8),
}

impl Status {
    /// The status with this numeric value.
    pub fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Valid,
            1 => Self::Invalid,
            2 => Self::Suspended,
            v => Self::Other(v),
        }
    }

    /// The numeric value written into the list.
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Invalid => 1,
            Self::Suspended => 2,
            Self::Other(v) => v,
        }
    }

    /// Whether this is `VALID` (0x00).
    pub fn is_valid(self) -> bool {
        self.as_u8() == 0
    }

    /// Whether the draft reserves this value as application specific (0x03, 0x0C–0x0F).
    pub fn is_application_specific(self) -> bool {
        matches!(self.as_u8(), 0x03 | 0x0C..=0x0F)
    }
}

impl PartialEq for Status {
    fn eq(&self, other: &Self) -> bool {
        self.as_u8() == other.as_u8()
    }
}

impl Eq for Status {}

impl std::hash::Hash for Status {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_u8().hash(state);
    }
}

impl From<u8> for Status {
    fn from(value: u8) -> Self {
        Self::from_u8(value)
    }
}

impl From<Status> for u8 {
    fn from(status: Status) -> Self {
        status.as_u8()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("VALID"),
            Self::Invalid => f.write_str("INVALID"),
            Self::Suspended => f.write_str("SUSPENDED"),
            Self::Other(v) => write!(f, "0x{v:02X}"),
        }
    }
}

/// A packed status list: `len` entries of `bits` bits each.
///
/// Invariants: `bits` ∈ {1, 2, 4, 8}; `len <= MAX_ENTRIES`;
/// `bytes.len() == ceil(len * bits / 8)`.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    len: usize,
    bytes: Vec<u8>,
}

impl fmt::Debug for StatusList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusList")
            .field("bits", &self.bits)
            .field("len", &self.len)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl StatusList {
    /// A list of `len` entries of `bits` bits, all `VALID`.
    pub fn new(bits: u8, len: usize) -> Result<Self, StatusListError> {
        check_bits(u64::from(bits))?;
        if len > MAX_ENTRIES {
            return Err(StatusListError::TooManyEntries {
                len,
                max: MAX_ENTRIES,
            });
        }
        Ok(Self {
            bits,
            len,
            bytes: vec![0; byte_len(len, bits)],
        })
    }

    /// A list over an already packed byte array (e.g. one kept by the ledger); it has
    /// `bytes.len() * 8 / bits` entries.
    pub fn from_bytes(bits: u8, bytes: Vec<u8>) -> Result<Self, StatusListError> {
        check_bits(u64::from(bits))?;
        let per_byte = usize::from(8 / bits);
        let len = bytes.len().saturating_mul(per_byte);
        if len > MAX_ENTRIES {
            return Err(StatusListError::TooManyEntries {
                len,
                max: MAX_ENTRIES,
            });
        }
        Ok(Self { bits, len, bytes })
    }

    /// Bits per entry: 1, 2, 4 or 8.
    pub fn bits(&self) -> u8 {
        self.bits
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The packed bytes (entry 0 in the low bits of byte 0).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Largest value an entry can hold: `2^bits - 1`.
    pub fn max_value(&self) -> u8 {
        mask(self.bits)
    }

    /// The status of entry `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<Status> {
        if index >= self.len {
            return None;
        }
        let (byte, shift) = self.position(index);
        let b = self.bytes.get(byte)?;
        Some(Status::from_u8((b >> shift) & mask(self.bits)))
    }

    /// Sets entry `index` to `status`; fails past the end or if the value needs more
    /// than `bits` bits (e.g. `Suspended` in a 1-bit list).
    pub fn set(&mut self, index: usize, status: Status) -> Result<(), StatusListError> {
        let value = status.as_u8();
        let m = mask(self.bits);
        if value > m {
            return Err(StatusListError::ValueTooWide {
                value,
                bits: self.bits,
            });
        }
        let len = self.len;
        let out_of_range = StatusListError::IndexOutOfRange {
            index: index as u64,
            len,
        };
        if index >= len {
            return Err(out_of_range);
        }
        let (byte, shift) = self.position(index);
        let b = self.bytes.get_mut(byte).ok_or(out_of_range)?;
        *b = (*b & !(m << shift)) | (value << shift);
        Ok(())
    }

    /// Byte index and bit shift of entry `index`.
    fn position(&self, index: usize) -> (usize, u32) {
        let per_byte = usize::from(8 / self.bits);
        // `index % per_byte < 8`, so the shift is at most 7.
        let slot = (index % per_byte) as u32;
        (index / per_byte, slot * u32::from(self.bits))
    }

    /// The `lst` value: the bytes compressed with zlib at [`COMPRESSION_LEVEL`], then
    /// base64url without padding.
    pub fn encode_lst(&self) -> Result<String, StatusListError> {
        let compressed = compress(&self.bytes, COMPRESSION_LEVEL)?;
        Ok(jose::b64u_encode(compressed))
    }

    /// Decodes an `lst` value of a `bits`-bit list holding at most `max_entries` entries
    /// (clamped to [`MAX_ENTRIES`], rounded up to a whole byte).
    ///
    /// Strict base64url; the inflated size is capped at `ceil(max_entries * bits / 8)`
    /// bytes and the stream is rejected the moment it produces more.
    pub fn decode_lst(bits: u8, lst: &str, max_entries: usize) -> Result<Self, StatusListError> {
        check_bits(u64::from(bits))?;
        let compressed = jose::b64u_decode(lst).map_err(StatusListError::Base64)?;
        let cap = byte_len(max_entries.min(MAX_ENTRIES), bits);
        let bytes = inflate_capped(&compressed, cap)?;
        Self::from_bytes(bits, bytes)
    }
}

fn check_bits(bits: u64) -> Result<(), StatusListError> {
    if ALLOWED_BITS.iter().any(|&b| u64::from(b) == bits) {
        Ok(())
    } else {
        Err(StatusListError::InvalidBits { bits })
    }
}

/// `2^bits - 1` for bits in {1, 2, 4, 8}.
fn mask(bits: u8) -> u8 {
    if bits >= 8 {
        u8::MAX
    } else {
        (1u8 << bits) - 1
    }
}

/// Bytes needed for `len` entries of `bits` bits.
fn byte_len(len: usize, bits: u8) -> usize {
    let per_byte = usize::from(8 / bits.max(1));
    len.div_ceil(per_byte)
}

fn compress(bytes: &[u8], level: u32) -> Result<Vec<u8>, StatusListError> {
    zlib::deflate(bytes, level).map_err(|e| StatusListError::Compress(e.to_string()))
}

/// Inflates a complete zlib stream into at most `cap` bytes ([`zlib::inflate`]: the
/// buffer never grows past `cap + 1` bytes; one byte past `cap` is an error).
fn inflate_capped(input: &[u8], cap: usize) -> Result<Vec<u8>, StatusListError> {
    zlib::inflate(input, cap).map_err(|e| match e {
        InflateError::TooLarge { max } => StatusListError::DecompressedTooLarge { max_bytes: max },
        InflateError::Truncated => StatusListError::Truncated,
        InflateError::Trailing { bytes } => StatusListError::TrailingData { extra: bytes },
        other => StatusListError::Zlib(match std::error::Error::source(&other) {
            Some(cause) => format!("{other}: {cause}"),
            None => other.to_string(),
        }),
    })
}

/// The reference a licence carries to its entry (draft §6.2), the value of the `status`
/// claim: `{"status_list": {"idx": 7, "uri": "https://…"}}`.
///
/// Deserializing checks that `uri` looks like an absolute URI (see [`StatusReference::new`])
/// and ignores members it does not know, inside `status_list` and beside it (other status
/// mechanisms).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "StatusClaimRepr", try_from = "StatusClaimRepr")]
pub struct StatusReference {
    idx: u64,
    uri: String,
}

impl StatusReference {
    /// A reference to entry `idx` of the list at `uri`; `uri` must be printable ASCII
    /// without spaces, starting with a scheme (`https:`, `urn:`, …), at most 2048 bytes.
    pub fn new(idx: u64, uri: impl Into<String>) -> Result<Self, StatusListError> {
        let uri = uri.into();
        check_uri(&uri)?;
        Ok(Self { idx, uri })
    }

    /// The index into the list.
    pub fn idx(&self) -> u64 {
        self.idx
    }

    /// The list's URI (the `sub` of its Status List Token).
    pub fn uri(&self) -> &str {
        &self.uri
    }
}

#[derive(Serialize, Deserialize)]
struct StatusClaimRepr {
    status_list: StatusListRefRepr,
}

#[derive(Serialize, Deserialize)]
struct StatusListRefRepr {
    idx: u64,
    uri: String,
}

impl From<StatusReference> for StatusClaimRepr {
    fn from(r: StatusReference) -> Self {
        Self {
            status_list: StatusListRefRepr {
                idx: r.idx,
                uri: r.uri,
            },
        }
    }
}

impl TryFrom<StatusClaimRepr> for StatusReference {
    type Error = StatusListError;

    fn try_from(repr: StatusClaimRepr) -> Result<Self, Self::Error> {
        Self::new(repr.status_list.idx, repr.status_list.uri)
    }
}

const MAX_URI_LEN: usize = 2048;

/// An absolute URI, roughly: `scheme ":" rest`, printable ASCII, no spaces.
fn check_uri(uri: &str) -> Result<(), StatusListError> {
    let bad = || StatusListError::InvalidUri {
        uri: uri.chars().take(80).collect(),
    };
    if uri.len() > MAX_URI_LEN || !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    let (scheme, rest) = uri.split_once(':').ok_or_else(bad)?;
    let mut chars = scheme.bytes();
    let first_ok = chars.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest_ok = chars.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !first_ok || !rest_ok || rest.is_empty() {
        return Err(bad());
    }
    Ok(())
}

/// Why a status list or Status List Token was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// `bits` is not 1, 2, 4 or 8.
    #[error("status lists have 1, 2, 4 or 8 bits per entry, not {bits}")]
    InvalidBits {
        /// The value found.
        bits: u64,
    },
    /// More entries than [`MAX_ENTRIES`].
    #[error("a status list holds at most {max} entries, not {len}")]
    TooManyEntries {
        /// Entries asked for.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// An index past the end of the list.
    #[error("index {index} is outside the status list ({len} entries)")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// Entries in the list.
        len: usize,
    },
    /// A status value that needs more bits than the list has.
    #[error("status value {value} does not fit in {bits} bit(s)")]
    ValueTooWide {
        /// The value.
        value: u8,
        /// Bits per entry.
        bits: u8,
    },
    /// `lst` is not canonical base64url.
    #[error("lst is not canonical base64url")]
    Base64(#[source] Base64Error),
    /// `lst` is not a valid zlib stream (bad header, bad data or bad Adler-32).
    #[error("lst is not a valid zlib stream: {0}")]
    Zlib(String),
    /// The zlib stream ends before its end-of-stream marker and checksum.
    #[error("lst is a truncated zlib stream")]
    Truncated,
    /// Bytes follow the end of the zlib stream.
    #[error("{extra} byte(s) follow the end of the zlib stream in lst")]
    TrailingData {
        /// How many.
        extra: usize,
    },
    /// The list inflates to more than the cap: stopped there (decompression bomb guard).
    #[error("lst inflates to more than {max_bytes} bytes, the most accepted")]
    DecompressedTooLarge {
        /// The cap, bytes.
        max_bytes: usize,
    },
    /// Compression failed (should not happen with an in-memory buffer).
    #[error("compressing the status list failed: {0}")]
    Compress(String),
    /// Over [`MAX_TOKEN_LEN`]; nothing was decoded.
    #[error("the status list token is {size} bytes, more than the {max} accepted")]
    TokenTooLarge {
        /// Size.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not a compact JWS, or a header against the policy (`alg` other than ES256,
    /// `jwk`, `jku`, `x5u`, `crit`), or a part that is not base64url.
    #[error("malformed status list token: {0}")]
    Jws(#[source] JwsError),
    /// `typ` is not `statuslist+jwt`.
    #[error("the token typ is {found:?}, not \"statuslist+jwt\"")]
    WrongTyp {
        /// The `typ` found.
        found: Option<String>,
    },
    /// The signature does not verify with the key given.
    #[error("bad signature: the status list was altered or not signed with this key")]
    BadSignature,
    /// The payload is not a JSON object with `sub`, `iat` and `status_list {bits, lst}`
    /// of the right types (integers for times; a positive integer `ttl`).
    #[error("malformed status list token claims: {0}")]
    Claims(#[source] serde_json::Error),
    /// A claim with a value the draft forbids.
    #[error("claim `{name}` {reason}")]
    InvalidClaim {
        /// The claim.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A URI that is not an absolute URI.
    #[error("{uri:?} is not an absolute URI")]
    InvalidUri {
        /// The value (first 80 characters).
        uri: String,
    },
    /// The token's `sub` is not the list the licence refers to.
    #[error("the status list token is for {found:?}, not {expected:?}")]
    SubMismatch {
        /// The URI expected (the licence's reference).
        expected: String,
        /// The token's `sub`.
        found: String,
    },
    /// `iat` or `nbf` is in the future.
    #[error("the status list token is not valid before {not_before} (checked at {at})")]
    NotYetValid {
        /// `iat` or `nbf`.
        not_before: i64,
        /// The check time.
        at: i64,
    },
    /// `exp` has passed.
    #[error("the status list token expired at {exp} (checked at {at})")]
    Expired {
        /// `exp`.
        exp: i64,
        /// The check time.
        at: i64,
    },
    /// `iat + ttl` has passed: a fresh copy must be fetched.
    #[error("the status list token is stale: issued at {iat} with ttl {ttl} s (checked at {at})")]
    Stale {
        /// `iat`.
        iat: i64,
        /// `ttl`.
        ttl: u64,
        /// The check time.
        at: i64,
    },
    /// Older than the relying party's `max_age`.
    #[error("the status list token was issued at {iat}, more than {max_age} s before {at}")]
    TooOld {
        /// `iat`.
        iat: i64,
        /// The policy.
        max_age: u64,
        /// The check time.
        at: i64,
    },
    /// Signing failed.
    #[error("signing the status list token failed: {0}")]
    Sign(#[source] KeyError),
}

impl StatusListError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidBits { .. } | Self::TooManyEntries { .. } => "malformed",
            Self::IndexOutOfRange { .. } => "index_out_of_range",
            Self::ValueTooWide { .. } => "value_too_wide",
            Self::Base64(_)
            | Self::Zlib(_)
            | Self::Truncated
            | Self::TrailingData { .. }
            | Self::Claims(_)
            | Self::InvalidClaim { .. }
            | Self::InvalidUri { .. } => "malformed",
            Self::DecompressedTooLarge { .. } | Self::TokenTooLarge { .. } => "too_large",
            Self::Compress(_) | Self::Sign(_) => "internal",
            Self::Jws(JwsError::UnsupportedAlgorithm { .. }) => "unsupported_algorithm",
            Self::Jws(JwsError::ForbiddenHeader { .. }) => "forbidden_header",
            Self::Jws(JwsError::TooLarge { .. }) => "too_large",
            Self::Jws(_) => "malformed",
            Self::WrongTyp { .. } => "wrong_typ",
            Self::BadSignature => "bad_signature",
            Self::SubMismatch { .. } => "sub_mismatch",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Expired { .. } => "expired",
            Self::Stale { .. } | Self::TooOld { .. } => "stale",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::Instant;

    const VECTORS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/vectors/status-list/tsl_examples.json"
    );
    const SUB: &str = "https://ledger.example.gov.cn/status/11350100MB00000012/1";
    const IAT: i64 = 1_700_000_000;
    const EXP: i64 = IAT + 86_400;
    const TTL: u64 = 3_600;

    fn vectors() -> Value {
        let text = std::fs::read_to_string(VECTORS).unwrap_or_else(|e| {
            panic!(
                "cannot read {VECTORS}: {e}; it belongs in this repository \
                 (fixtures/vectors/status-list/tsl_examples.json)"
            )
        });
        serde_json::from_str(&text).unwrap()
    }

    /// Deterministic xorshift for big lists (no dependency on an RNG crate).
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
    }

    fn claims() -> TokenClaims {
        TokenClaims {
            sub: SUB.into(),
            iat: IAT,
            exp: Some(EXP),
            ttl: Some(TTL),
            iss: Some("https://amr.example.gov.cn".into()),
            aggregation_uri: None,
        }
    }

    fn header() -> Map<String, Value> {
        let mut h = Map::new();
        h.insert("kid".into(), Value::String("k1".into()));
        h
    }

    fn sample_list() -> StatusList {
        let mut list = StatusList::new(2, 1000).unwrap();
        list.set(0, Status::Invalid).unwrap();
        list.set(7, Status::Suspended).unwrap();
        list.set(999, Status::Other(3)).unwrap();
        list
    }

    fn signer() -> Es256Signer {
        Es256Signer::generate().unwrap().0
    }

    /// Signs `header`/`payload` JSON as given, bypassing `sign_token`'s checks.
    fn raw_token(header: &Value, payload: &Value, key: &Es256Signer) -> String {
        jose::sign_compact(
            &serde_json::to_vec(header).unwrap(),
            &serde_json::to_vec(payload).unwrap(),
            key,
        )
        .unwrap()
    }

    fn good_payload(lst: &str) -> Value {
        serde_json::json!({
            "sub": SUB, "iat": IAT, "exp": EXP, "ttl": TTL,
            "status_list": {"bits": 2, "lst": lst}
        })
    }

    fn typ_header() -> Value {
        serde_json::json!({"alg": "ES256", "typ": TYP})
    }

    fn at(t: i64) -> Validation<'static> {
        Validation::new(SUB, t)
    }

    // ---- the draft's vectors -------------------------------------------------------

    #[test]
    fn draft_vectors_decode_to_the_listed_statuses() {
        let v = vectors();
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 6, "expected the draft's 6 cases");
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let bits = u8::try_from(case["bits"].as_u64().unwrap()).unwrap();
            let size = usize::try_from(case["size_entries"].as_u64().unwrap()).unwrap();
            let lst = case["lst"].as_str().unwrap();
            let list = StatusList::decode_lst(bits, lst, size).unwrap();
            assert_eq!(list.bits(), bits, "{name}");
            assert_eq!(list.len(), size, "{name}");
            assert_eq!(
                list.as_bytes().len() as u64,
                case["decoded_byte_length"].as_u64().unwrap(),
                "{name}"
            );
            let default = case["all_other_indices_status"].as_u64().unwrap();
            let mut expected = vec![u8::try_from(default).unwrap(); size];
            for (idx, status) in case["nonzero_statuses"].as_object().unwrap() {
                let idx: usize = idx.parse().unwrap();
                expected[idx] = u8::try_from(status.as_u64().unwrap()).unwrap();
            }
            if let Some(order) = case["statuses_in_order"].as_array() {
                let order: Vec<u8> = order
                    .iter()
                    .map(|s| u8::try_from(s.as_u64().unwrap()).unwrap())
                    .collect();
                assert_eq!(order, expected, "{name}: listed statuses disagree");
            }
            for (i, want) in expected.iter().enumerate() {
                assert_eq!(list.get(i).unwrap().as_u8(), *want, "{name} index {i}");
            }
            assert_eq!(list.get(size), None, "{name}");
            if let Some(hex) = case["byte_array_hex"].as_array() {
                let bytes: Vec<u8> = hex
                    .iter()
                    .map(|h| {
                        let h = h.as_str().unwrap().trim_start_matches("0x");
                        u8::from_str_radix(h, 16).unwrap()
                    })
                    .collect();
                assert_eq!(list.as_bytes(), bytes.as_slice(), "{name}");
            }
            // Our own encoding of the same list decodes to the same statuses.
            let again = StatusList::decode_lst(bits, &list.encode_lst().unwrap(), size).unwrap();
            assert_eq!(again, list, "{name}");
            // One entry fewer allowed than the list holds: refused, whole bytes aside.
            if size >= 16 {
                let err =
                    StatusList::decode_lst(bits, lst, size - 8 / usize::from(bits)).unwrap_err();
                assert!(
                    matches!(err, StatusListError::DecompressedTooLarge { .. }),
                    "{name}: {err:?}"
                );
            }
        }
        println!("status list vectors: {} cases decoded", cases.len());
    }

    #[test]
    fn draft_example_token_verifies_with_its_key() {
        let v = vectors();
        let t = &v["status_list_jwt"];
        let token = t["compact"].as_str().unwrap();
        let jwk: jose::Jwk = serde_json::from_value(t["verification_jwk"].clone()).unwrap();
        let key = jwk.public_key().unwrap();
        let sub = t["payload"]["sub"].as_str().unwrap();
        let iat = t["payload"]["iat"].as_i64().unwrap();
        let exp = t["payload"]["exp"].as_i64().unwrap();
        let ttl = t["payload"]["ttl"].as_u64().unwrap();

        let unverified = parse_token(token).unwrap();
        assert_eq!(unverified.header().kid_str(), Some("12"));
        let verified = unverified
            .verify(&key, &Validation::new(sub, iat + 60))
            .unwrap();
        assert_eq!(verified.sub(), sub);
        assert_eq!(verified.iss(), Some("https://example.com"));
        assert_eq!(verified.expires_at(), Some(exp));
        assert_eq!(verified.ttl(), Some(ttl));
        assert_eq!(verified.refresh_at(), Some(iat + 43_200));
        let bits: Vec<u8> = (0..16).map(|i| verified.get(i).unwrap().as_u8()).collect();
        assert_eq!(bits, [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]);
        let reference = StatusReference::new(3, sub).unwrap();
        assert_eq!(verified.status(&reference).unwrap(), Status::Invalid);

        // The same token, checked too late, about another list, or with another key.
        let stale = verify_token(token, &key, &Validation::new(sub, iat + 43_201)).unwrap_err();
        assert!(matches!(stale, StatusListError::Stale { .. }), "{stale:?}");
        let expired = verify_token(token, &key, &Validation::new(sub, exp)).unwrap_err();
        assert!(
            matches!(expired, StatusListError::Expired { .. }),
            "{expired:?}"
        );
        let other = verify_token(token, &key, &Validation::new(SUB, iat)).unwrap_err();
        assert!(
            matches!(other, StatusListError::SubMismatch { .. }),
            "{other:?}"
        );
        let wrong =
            verify_token(token, &signer().public_key(), &Validation::new(sub, iat)).unwrap_err();
        assert!(matches!(wrong, StatusListError::BadSignature), "{wrong:?}");

        // The vector's signing key signs tokens this verifier accepts.
        let private = jose::Jwk {
            d: Some(t["signing_jwk_d"].as_str().unwrap().into()),
            ..jwk
        };
        let signer = Es256Signer::from_jwk(&private).unwrap();
        let ours = sign_token(
            verified.list(),
            &TokenClaims {
                sub: sub.into(),
                iat,
                exp: Some(exp),
                ttl: Some(ttl),
                ..TokenClaims::default()
            },
            &header(),
            &signer,
        )
        .unwrap();
        let back = verify_token(&ours, &key, &Validation::new(sub, iat)).unwrap();
        assert_eq!(back.list(), verified.list());
    }

    // ---- the list --------------------------------------------------------------------

    #[test]
    fn draft_figures_pack_as_drawn() {
        let mut one = StatusList::new(1, 16).unwrap();
        for (i, s) in [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
            .iter()
            .enumerate()
        {
            one.set(i, Status::from_u8(*s)).unwrap();
        }
        assert_eq!(one.as_bytes(), [0xB9, 0xA3]);
        let mut two = StatusList::new(2, 12).unwrap();
        for (i, s) in [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].iter().enumerate() {
            two.set(i, Status::from_u8(*s)).unwrap();
        }
        assert_eq!(two.as_bytes(), [0xC9, 0x44, 0xF9]);
    }

    #[test]
    fn get_and_set_at_byte_boundaries() {
        for bits in [1u8, 2, 4, 8] {
            let per_byte = usize::from(8 / bits);
            let len = 3 * per_byte + 1; // a partial last byte
            let mut list = StatusList::new(bits, len).unwrap();
            assert_eq!(list.len(), len);
            assert_eq!(list.as_bytes().len(), 4);
            let top = Status::from_u8(list.max_value());
            for i in [
                0,
                per_byte - 1,
                per_byte,
                2 * per_byte - 1,
                2 * per_byte,
                len - 1,
            ] {
                let mut one = StatusList::new(bits, len).unwrap();
                one.set(i, top).unwrap();
                for j in 0..len {
                    assert_eq!(
                        one.get(j) == Some(top),
                        i == j,
                        "bits {bits}: set {i}, read {j}"
                    );
                }
                let mut bytes = vec![0u8; 4];
                bytes[i / per_byte] = list.max_value() << ((i % per_byte) * usize::from(bits));
                assert_eq!(one.as_bytes(), bytes.as_slice(), "bits {bits} index {i}");
            }
            // Clearing one entry leaves its neighbours, in its byte and the next, alone.
            for i in 0..len {
                list.set(i, top).unwrap();
            }
            list.set(per_byte, Status::Valid).unwrap();
            for j in 0..len {
                assert_eq!(
                    list.get(j) == Some(Status::Valid),
                    j == per_byte,
                    "bits {bits} {j}"
                );
            }
            assert_eq!(list.get(len), None);
            let err = list.set(len, Status::Valid).unwrap_err();
            assert!(
                matches!(err, StatusListError::IndexOutOfRange { index, len: l } if index == len as u64 && l == len),
                "{err:?}"
            );
        }
        // Exact bytes at the boundaries.
        let mut l1 = StatusList::new(1, 16).unwrap();
        l1.set(7, Status::Invalid).unwrap();
        l1.set(8, Status::Invalid).unwrap();
        assert_eq!(l1.as_bytes(), [0x80, 0x01]);
        let mut l2 = StatusList::new(2, 8).unwrap();
        l2.set(3, Status::Other(3)).unwrap();
        l2.set(4, Status::Suspended).unwrap();
        assert_eq!(l2.as_bytes(), [0xC0, 0x02]);
        let mut l4 = StatusList::new(4, 4).unwrap();
        l4.set(1, Status::Other(0x0F)).unwrap();
        l4.set(2, Status::Other(5)).unwrap();
        assert_eq!(l4.as_bytes(), [0xF0, 0x05]);
        let mut l8 = StatusList::new(8, 2).unwrap();
        l8.set(1, Status::Other(200)).unwrap();
        assert_eq!(l8.as_bytes(), [0x00, 200]);
    }

    #[test]
    fn values_too_wide_and_bad_sizes_are_refused() {
        let mut l1 = StatusList::new(1, 8).unwrap();
        assert!(matches!(
            l1.set(0, Status::Suspended),
            Err(StatusListError::ValueTooWide { value: 2, bits: 1 })
        ));
        let mut l2 = StatusList::new(2, 8).unwrap();
        assert!(l2.set(0, Status::Other(3)).is_ok());
        assert!(matches!(
            l2.set(0, Status::Other(4)),
            Err(StatusListError::ValueTooWide { value: 4, bits: 2 })
        ));
        let mut l4 = StatusList::new(4, 8).unwrap();
        assert!(matches!(
            l4.set(0, Status::Other(16)),
            Err(StatusListError::ValueTooWide { .. })
        ));
        let mut l8 = StatusList::new(8, 8).unwrap();
        l8.set(0, Status::Other(255)).unwrap();
        assert_eq!(l8.get(0), Some(Status::Other(255)));
        for bits in [0u8, 3, 5, 6, 7, 9, 16] {
            assert!(matches!(
                StatusList::new(bits, 8),
                Err(StatusListError::InvalidBits { .. })
            ));
            assert!(matches!(
                StatusList::decode_lst(bits, "eNrbuRgAAhcBXQ", 16),
                Err(StatusListError::InvalidBits { .. })
            ));
        }
        assert!(matches!(
            StatusList::new(1, MAX_ENTRIES + 1),
            Err(StatusListError::TooManyEntries { .. })
        ));
        assert_eq!(
            StatusList::new(1, MAX_ENTRIES).unwrap().as_bytes().len(),
            MAX_ENTRIES / 8
        );
        let empty = StatusList::new(1, 0).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.get(0), None);
    }

    #[test]
    fn status_values() {
        for v in 0..=255u8 {
            let s = Status::from_u8(v);
            assert_eq!(s.as_u8(), v);
            assert_eq!(Status::from(v), s);
        }
        assert_eq!(Status::from_u8(0), Status::Valid);
        assert_eq!(Status::from_u8(1), Status::Invalid);
        assert_eq!(Status::from_u8(2), Status::Suspended);
        assert!(matches!(Status::from_u8(3), Status::Other(3)));
        assert_eq!(Status::Other(1), Status::Invalid, "equality goes by value");
        assert!(Status::Valid.is_valid() && !Status::Suspended.is_valid());
        assert!(Status::Other(3).is_application_specific());
        assert!(Status::Other(0x0C).is_application_specific());
        assert!(!Status::Other(4).is_application_specific());
        assert_eq!(Status::Suspended.to_string(), "SUSPENDED");
        assert_eq!(Status::Other(12).to_string(), "0x0C");
    }

    fn round_trip(bits: u8, values: &[u8]) {
        let mut list = StatusList::new(bits, values.len()).unwrap();
        for (i, v) in values.iter().enumerate() {
            list.set(i, Status::from_u8(v & mask(bits))).unwrap();
        }
        let lst = list.encode_lst().unwrap();
        let back = StatusList::decode_lst(bits, &lst, values.len()).unwrap();
        let per_byte = usize::from(8 / bits);
        assert_eq!(back.len(), values.len().div_ceil(per_byte) * per_byte);
        assert_eq!(back.as_bytes(), list.as_bytes());
        for (i, v) in values.iter().enumerate() {
            assert_eq!(back.get(i).unwrap().as_u8(), v & mask(bits));
        }
        for i in values.len()..back.len() {
            assert_eq!(back.get(i), Some(Status::Valid), "padding entries are zero");
        }
        if values.len().is_multiple_of(per_byte) {
            assert_eq!(back, list);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn random_lists_round_trip(
            bits in prop::sample::select(vec![1u8, 2, 4, 8]),
            values in prop::collection::vec(any::<u8>(), 0..4000),
        ) {
            round_trip(bits, &values);
        }

        #[test]
        fn sparse_lists_round_trip(
            bits in prop::sample::select(vec![1u8, 2, 4, 8]),
            len in 1usize..200_000,
            set in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..50),
        ) {
            let mut values = vec![0u8; len];
            for (i, v) in set {
                values[i.index(len)] = v;
            }
            round_trip(bits, &values);
        }

        #[test]
        fn decode_never_panics_on_arbitrary_input(
            bits in prop::sample::select(vec![1u8, 2, 4, 8]),
            bytes in prop::collection::vec(any::<u8>(), 0..300),
        ) {
            let _ = StatusList::decode_lst(bits, &jose::b64u_encode(&bytes), 4096);
        }

        #[test]
        fn corrupted_streams_never_panic(flip in any::<prop::sample::Index>(), xor in 1u8..=255) {
            let lst = sample_list().encode_lst().unwrap();
            let mut raw = jose::b64u_decode(&lst).unwrap();
            let i = flip.index(raw.len());
            raw[i] ^= xor;
            // A flip DEFLATE cannot notice (e.g. in the header's level bits) decodes;
            // Adler-32 catches every single-byte change of the data itself.
            if let Ok(list) = StatusList::decode_lst(2, &jose::b64u_encode(&raw), 1000) {
                let want = sample_list();
                prop_assert_eq!(list.as_bytes(), want.as_bytes());
            }
        }
    }

    #[test]
    fn million_entry_two_bit_list_round_trips() {
        let n = 1_000_000;
        let mut list = StatusList::new(2, n).unwrap();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..n / 100 {
            let i = (rng.next() % n as u64) as usize;
            list.set(i, Status::from_u8(1 + (rng.next() % 3) as u8))
                .unwrap();
        }
        let lst = list.encode_lst().unwrap();
        let back = StatusList::decode_lst(2, &lst, n).unwrap();
        assert_eq!(back, list);
        println!("1,000,000 x 2 bits, 1% set: lst {} chars", lst.len());
    }

    // ---- hostile lst -------------------------------------------------------------------

    #[test]
    fn zlib_bomb_is_stopped_at_the_cap() {
        // 64 MiB of zeros compresses to ~64 KB: a 1000:1 bomb against a 256 KB cap.
        let zeros = vec![0u8; 64 << 20];
        let bomb = jose::b64u_encode(compress(&zeros, 9).unwrap());
        drop(zeros);
        let started = Instant::now();
        let err = StatusList::decode_lst(2, &bomb, 1_000_000).unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(
                err,
                StatusListError::DecompressedTooLarge { max_bytes: 250_000 }
            ),
            "{err:?}"
        );
        println!("64 MiB bomb ({} chars) refused after {took:?}", bomb.len());
        assert!(took.as_secs() < 5, "took {took:?}");

        // The guard never allocates past cap + 1, whatever the stream says.
        let raw = jose::b64u_decode(&bomb).unwrap();
        for cap in [0usize, 1, 1000, 65_536, 250_000] {
            let err = inflate_capped(&raw, cap).unwrap_err();
            assert!(
                matches!(err, StatusListError::DecompressedTooLarge { max_bytes } if max_bytes == cap)
            );
        }
        // Exactly at the cap is fine, and the buffer holds no more than cap + 1 bytes.
        let exact = compress(&vec![7u8; 250_000], 9).unwrap();
        let out = inflate_capped(&exact, 250_000).unwrap();
        assert_eq!(out.len(), 250_000);
        assert!(out.capacity() <= 250_001, "capacity {}", out.capacity());
        assert!(matches!(
            inflate_capped(&exact, 249_999),
            Err(StatusListError::DecompressedTooLarge { .. })
        ));

        // The same bomb in a correctly signed token is refused too (after the claims).
        let key = signer();
        let token = raw_token(&typ_header(), &good_payload(&bomb), &key);
        let err =
            verify_token(&token, &key.public_key(), &at(IAT).max_entries(1_000_000)).unwrap_err();
        assert!(
            matches!(err, StatusListError::DecompressedTooLarge { .. }),
            "{err:?}"
        );
        assert_eq!(err.code(), "too_large");
    }

    #[test]
    fn malformed_lst_is_refused() {
        let good = sample_list().encode_lst().unwrap();
        let raw = jose::b64u_decode(&good).unwrap();
        let cases: Vec<(String, &str)> = vec![
            (String::new(), "Truncated"),
            (format!("{good}="), "Base64"),
            (format!("{good} "), "Base64"),
            (format!(" {good}"), "Base64"),
            (good.replace('_', "/").replace('-', "+") + "+/", "Base64"),
            (jose::b64u_encode(&raw[..raw.len() - 1]), "Truncated|Zlib"),
            (jose::b64u_encode(&raw[..raw.len() / 2]), "Truncated|Zlib"),
            (
                jose::b64u_encode([raw.as_slice(), &[0]].concat()),
                "TrailingData",
            ),
            (format!("{good}{good}"), "TrailingData|Base64"),
            (jose::b64u_encode(&raw[2..]), "Zlib"), // raw DEFLATE, no zlib header
            (
                {
                    let mut bad = raw.clone();
                    let n = bad.len();
                    bad[n - 1] ^= 1; // Adler-32
                    jose::b64u_encode(bad)
                },
                "Zlib",
            ),
        ];
        for (lst, want) in cases {
            let err = StatusList::decode_lst(2, &lst, 1000).unwrap_err();
            let name = format!("{err:?}");
            assert!(
                want.split('|').any(|w| name.starts_with(w)),
                "{lst:?}: want {want}, got {name}"
            );
        }
        // The draft's 2-byte list against a 1-byte cap.
        assert!(matches!(
            StatusList::decode_lst(1, "eNrbuRgAAhcBXQ", 8),
            Err(StatusListError::DecompressedTooLarge { max_bytes: 1 })
        ));
        assert!(StatusList::decode_lst(1, "eNrbuRgAAhcBXQ", 9).is_ok());
    }

    // ---- tokens ------------------------------------------------------------------------

    #[test]
    fn sign_verify_round_trip() {
        let key = signer();
        let list = sample_list();
        let mut c = claims();
        c.aggregation_uri = Some("https://ledger.example.gov.cn/status/all".into());
        let token = sign_token(&list, &c, &header(), &key).unwrap();

        let unverified = parse_token(&token).unwrap();
        assert_eq!(unverified.header().typ.as_deref(), Some(TYP));
        assert_eq!(unverified.header().alg, "ES256");
        assert_eq!(unverified.header().kid_str(), Some("k1"));
        let v = unverified.verify(&key.public_key(), &at(IAT + 10)).unwrap();
        assert_eq!(v.list(), &list);
        assert_eq!(v.sub(), SUB);
        assert_eq!(v.iss(), Some("https://amr.example.gov.cn"));
        assert_eq!(v.issued_at(), IAT);
        assert_eq!(v.expires_at(), Some(EXP));
        assert_eq!(v.ttl(), Some(TTL));
        assert_eq!(
            v.aggregation_uri(),
            Some("https://ledger.example.gov.cn/status/all")
        );
        assert_eq!(v.checked_at(), IAT + 10);
        assert_eq!(v.refresh_at(), Some(IAT + TTL as i64));
        for (idx, want) in [
            (0, Status::Invalid),
            (1, Status::Valid),
            (7, Status::Suspended),
            (999, Status::Other(3)),
        ] {
            let r = StatusReference::new(idx, SUB).unwrap();
            assert_eq!(v.status(&r).unwrap(), want, "idx {idx}");
        }
        // Out of range: no statement can be made (§8.3 step 6).
        let r = StatusReference::new(1000, SUB).unwrap();
        assert!(matches!(
            v.status(&r),
            Err(StatusListError::IndexOutOfRange { index: 1000, .. })
        ));
        assert!(matches!(
            v.get(u64::MAX),
            Err(StatusListError::IndexOutOfRange { .. })
        ));
        // A reference to another list.
        let r = StatusReference::new(0, "https://ledger.example.gov.cn/status/other").unwrap();
        assert!(matches!(
            v.status(&r),
            Err(StatusListError::SubMismatch { .. })
        ));

        // The payload carries exactly the claims asked for.
        let jws = parse_token(&token).unwrap();
        let payload: Value = serde_json::from_slice(jws.jws.payload()).unwrap();
        assert_eq!(payload["status_list"]["bits"], 2);
        assert_eq!(payload["sub"], SUB);
        assert!(payload.get("nbf").is_none());
        let no_options = sign_token(
            &list,
            &TokenClaims {
                sub: SUB.into(),
                iat: IAT,
                ..TokenClaims::default()
            },
            &Map::new(),
            &key,
        )
        .unwrap();
        let v = verify_token(&no_options, &key.public_key(), &at(IAT + 1_000_000)).unwrap();
        assert_eq!(v.refresh_at(), None);
        assert_eq!(v.iss(), None);
    }

    #[test]
    fn tampering_is_caught() {
        let key = signer();
        let token = sign_token(&sample_list(), &claims(), &header(), &key).unwrap();
        let jws = jose::CompactJws::split_capped(&token, MAX_TOKEN_LEN).unwrap();

        // Payload: revoke nobody (entry 0 back to VALID), re-encode, keep the signature.
        let mut payload: Value =
            serde_json::from_slice(&jose::b64u_decode(jws.payload_b64).unwrap()).unwrap();
        let mut list = sample_list();
        list.set(0, Status::Valid).unwrap();
        payload["status_list"]["lst"] = Value::String(list.encode_lst().unwrap());
        let forged = format!(
            "{}.{}.{}",
            jws.header_b64,
            jose::b64u_encode(serde_json::to_vec(&payload).unwrap()),
            jws.signature_b64
        );
        let err = verify_token(&forged, &key.public_key(), &at(IAT)).unwrap_err();
        assert!(matches!(err, StatusListError::BadSignature), "{err:?}");
        assert_eq!(err.code(), "bad_signature");

        // Signature: one character in the middle changed.
        let mut sig = jws.signature_b64.as_bytes().to_vec();
        sig[20] = if sig[20] == b'A' { b'B' } else { b'A' };
        let forged = format!("{}.{}", jws.signing_input, String::from_utf8(sig).unwrap());
        let err = verify_token(&forged, &key.public_key(), &at(IAT)).unwrap_err();
        assert!(matches!(err, StatusListError::BadSignature), "{err:?}");

        // Every single-character change of the token is refused.
        let bytes = token.as_bytes();
        for i in (0..bytes.len()).step_by(7) {
            let mut t = bytes.to_vec();
            t[i] = if t[i] == b'x' { b'y' } else { b'x' };
            let t = String::from_utf8(t).unwrap();
            assert!(
                verify_token(&t, &key.public_key(), &at(IAT)).is_err(),
                "byte {i}"
            );
        }

        // Another key.
        let err = verify_token(&token, &signer().public_key(), &at(IAT)).unwrap_err();
        assert!(matches!(err, StatusListError::BadSignature), "{err:?}");
    }

    #[test]
    fn claims_are_checked_in_time() {
        let key = signer();
        let pk = key.public_key();
        let token = sign_token(&sample_list(), &claims(), &header(), &key).unwrap();
        let check = |v: Validation<'_>| verify_token(&token, &pk, &v);

        assert!(check(at(IAT)).is_ok());
        // Wrong list.
        let err = check(Validation::new(
            "https://ledger.example.gov.cn/status/x/2",
            IAT,
        ))
        .unwrap_err();
        assert!(
            matches!(err, StatusListError::SubMismatch { .. }),
            "{err:?}"
        );
        assert_eq!(err.code(), "sub_mismatch");
        // ttl: fine up to iat + ttl, stale one second later.
        assert!(check(at(IAT + TTL as i64)).is_ok());
        let err = check(at(IAT + TTL as i64 + 1)).unwrap_err();
        assert!(
            matches!(err, StatusListError::Stale { ttl: TTL, .. }),
            "{err:?}"
        );
        assert_eq!(err.code(), "stale");
        // exp: refused on and after exp (RFC 7519 §4.1.4), even with a long ttl.
        let long = TokenClaims {
            ttl: Some(10 * 86_400),
            ..claims()
        };
        let long = sign_token(&sample_list(), &long, &header(), &key).unwrap();
        assert!(verify_token(&long, &pk, &at(EXP - 1)).is_ok());
        let err = verify_token(&long, &pk, &at(EXP)).unwrap_err();
        assert!(
            matches!(err, StatusListError::Expired { exp: EXP, .. }),
            "{err:?}"
        );
        assert_eq!(err.code(), "expired");
        // Issued in the future.
        let err = check(at(IAT - 1)).unwrap_err();
        assert!(
            matches!(err, StatusListError::NotYetValid { .. }),
            "{err:?}"
        );
        // Skew forgives small differences, both ways, and is capped.
        assert!(check(at(IAT - 60).skew(60)).is_ok());
        assert!(check(at(IAT + TTL as i64 + 60).skew(60)).is_ok());
        assert!(
            check(at(IAT - 7200).skew(1_000_000)).is_err(),
            "skew capped at an hour"
        );
        // Local freshness policy.
        assert!(check(at(IAT + 600).max_age(600)).is_ok());
        let err = check(at(IAT + 601).max_age(600)).unwrap_err();
        assert!(
            matches!(err, StatusListError::TooOld { max_age: 600, .. }),
            "{err:?}"
        );
        // A list larger than the relying party accepts.
        let err = check(at(IAT).max_entries(100)).unwrap_err();
        assert!(
            matches!(err, StatusListError::DecompressedTooLarge { max_bytes: 25 }),
            "{err:?}"
        );
        // nbf in the future.
        let lst = sample_list().encode_lst().unwrap();
        let mut p = good_payload(&lst);
        p["nbf"] = serde_json::json!(IAT + 100);
        let t = raw_token(&typ_header(), &p, &key);
        let err = verify_token(&t, &pk, &at(IAT)).unwrap_err();
        assert!(
            matches!(err, StatusListError::NotYetValid { not_before, .. } if not_before == IAT + 100)
        );
    }

    #[test]
    fn headers_are_checked() {
        let key = signer();
        let pk = key.public_key();
        let lst = sample_list().encode_lst().unwrap();
        let payload = good_payload(&lst);
        let cases = [
            (
                serde_json::json!({"alg": "ES256", "typ": "JWT"}),
                "wrong_typ",
            ),
            (
                serde_json::json!({"alg": "ES256", "typ": "dc+sd-jwt"}),
                "wrong_typ",
            ),
            (serde_json::json!({"alg": "ES256"}), "wrong_typ"),
            (serde_json::json!({"alg": "ES256", "typ": 5}), "malformed"),
            (
                serde_json::json!({"alg": "none", "typ": TYP}),
                "unsupported_algorithm",
            ),
            (
                serde_json::json!({"alg": "HS256", "typ": TYP}),
                "unsupported_algorithm",
            ),
            (
                serde_json::json!({"alg": "ES384", "typ": TYP}),
                "unsupported_algorithm",
            ),
            (
                serde_json::json!({"alg": "ES256", "typ": TYP, "jwk": pk.to_jwk()}),
                "forbidden_header",
            ),
            (
                serde_json::json!({"alg": "ES256", "typ": TYP, "crit": ["exp"]}),
                "forbidden_header",
            ),
        ];
        for (h, want) in cases {
            let t = raw_token(&h, &payload, &key);
            let err = verify_token(&t, &pk, &at(IAT)).unwrap_err();
            assert_eq!(err.code(), want, "{h}: {err:?}");
        }
        let t = raw_token(
            &serde_json::json!({"alg": "ES256", "typ": "JWT"}),
            &payload,
            &key,
        );
        assert!(matches!(
            parse_token(&t),
            Err(StatusListError::WrongTyp { found: Some(ref f) }) if f == "JWT"
        ));
        // The media-type spellings of the same typ (RFC 7515 §4.1.9).
        for typ in [
            "application/statuslist+jwt",
            "Application/StatusList+JWT",
            "STATUSLIST+JWT",
        ] {
            let t = raw_token(
                &serde_json::json!({"alg": "ES256", "typ": typ}),
                &payload,
                &key,
            );
            assert!(verify_token(&t, &pk, &at(IAT)).is_ok(), "{typ}");
        }
        // alg none, as such tokens usually come: an empty signature.
        let unsigned = format!(
            "{}.{}.",
            jose::b64u_encode(br#"{"alg":"none","typ":"statuslist+jwt"}"#),
            jose::b64u_encode(serde_json::to_vec(&payload).unwrap())
        );
        assert!(verify_token(&unsigned, &pk, &at(IAT)).is_err());
        let with_sig = format!("{unsigned}AAAA");
        let err = verify_token(&with_sig, &pk, &at(IAT)).unwrap_err();
        assert_eq!(err.code(), "unsupported_algorithm", "{err:?}");
        // Structure and size.
        for bad in ["", "a.b", "a.b.c.d", ".b.c", "a..c"] {
            let err = verify_token(bad, &pk, &at(IAT)).unwrap_err();
            assert!(matches!(err, StatusListError::Jws(_)), "{bad:?}: {err:?}");
        }
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(
            verify_token(&huge, &pk, &at(IAT)),
            Err(StatusListError::TokenTooLarge { .. })
        ));
    }

    #[test]
    fn malformed_claims_are_refused() {
        let key = signer();
        let pk = key.public_key();
        let lst = sample_list().encode_lst().unwrap();
        let base = good_payload(&lst);
        let edit = |f: &dyn Fn(&mut Value)| {
            let mut p = base.clone();
            f(&mut p);
            p
        };
        let cases: Vec<(Value, &str)> = vec![
            (
                edit(&|p| {
                    p.as_object_mut().unwrap().remove("sub");
                }),
                "Claims",
            ),
            (
                edit(&|p| {
                    p.as_object_mut().unwrap().remove("iat");
                }),
                "Claims",
            ),
            (
                edit(&|p| {
                    p.as_object_mut().unwrap().remove("status_list");
                }),
                "Claims",
            ),
            (
                edit(&|p| p["iat"] = serde_json::json!("1700000000")),
                "Claims",
            ),
            (edit(&|p| p["iat"] = serde_json::json!(1.7e9)), "Claims"),
            (edit(&|p| p["exp"] = serde_json::json!(null)), "ok"),
            (edit(&|p| p["ttl"] = serde_json::json!(0)), "InvalidClaim"),
            (edit(&|p| p["ttl"] = serde_json::json!(-5)), "Claims"),
            (edit(&|p| p["sub"] = serde_json::json!(42)), "Claims"),
            (
                edit(&|p| p["status_list"]["bits"] = serde_json::json!(3)),
                "InvalidBits",
            ),
            (
                edit(&|p| p["status_list"]["bits"] = serde_json::json!(258)),
                "InvalidBits",
            ),
            (
                edit(&|p| p["status_list"]["bits"] = serde_json::json!(-1)),
                "Claims",
            ),
            (
                edit(&|p| p["status_list"]["lst"] = serde_json::json!(7)),
                "Claims",
            ),
            (
                edit(&|p| p["status_list"] = serde_json::json!("x")),
                "Claims",
            ),
            (
                edit(&|p| p["status_list"]["lst"] = serde_json::json!("!!")),
                "Base64",
            ),
            // Unknown claims are allowed (§5.1 rule 1).
            (edit(&|p| p["vct"] = serde_json::json!("x")), "ok"),
            (
                edit(&|p| p["status_list"]["x"] = serde_json::json!(1)),
                "ok",
            ),
        ];
        for (p, want) in cases {
            let t = raw_token(&typ_header(), &p, &key);
            let got = match verify_token(&t, &pk, &at(IAT)) {
                Ok(_) => "ok".to_string(),
                Err(e) => format!("{e:?}"),
            };
            assert!(got.starts_with(want), "{p}: want {want}, got {got}");
        }
        // Duplicate members are refused rather than resolved either way.
        let dup = format!(
            r#"{{"sub":"{SUB}","sub":"https://evil.example/1","iat":{IAT},"status_list":{{"bits":2,"lst":"{lst}"}}}}"#
        );
        let t = jose::sign_compact(
            &serde_json::to_vec(&typ_header()).unwrap(),
            dup.as_bytes(),
            &key,
        )
        .unwrap();
        assert!(matches!(
            verify_token(&t, &pk, &at(IAT)),
            Err(StatusListError::Claims(_))
        ));
        // A non-object payload.
        let t =
            jose::sign_compact(&serde_json::to_vec(&typ_header()).unwrap(), b"[1]", &key).unwrap();
        assert!(matches!(
            verify_token(&t, &pk, &at(IAT)),
            Err(StatusListError::Claims(_))
        ));
    }

    #[test]
    fn sign_token_refuses_what_verify_would() {
        let key = signer();
        let list = sample_list();
        let with = |f: &dyn Fn(&mut TokenClaims)| {
            let mut c = claims();
            f(&mut c);
            sign_token(&list, &c, &header(), &key)
        };
        assert!(matches!(
            with(&|c| c.ttl = Some(0)),
            Err(StatusListError::InvalidClaim { name: "ttl", .. })
        ));
        assert!(matches!(
            with(&|c| c.exp = Some(IAT)),
            Err(StatusListError::InvalidClaim { name: "exp", .. })
        ));
        assert!(matches!(
            with(&|c| c.sub = String::new()),
            Err(StatusListError::InvalidUri { .. })
        ));
        assert!(matches!(
            with(&|c| c.sub = "no scheme".into()),
            Err(StatusListError::InvalidUri { .. })
        ));
        assert!(matches!(
            with(&|c| c.aggregation_uri = Some("/relative".into())),
            Err(StatusListError::InvalidUri { .. })
        ));
        for (name, value) in [
            ("alg", Value::String("HS256".into())),
            ("alg", Value::String("none".into())),
            ("jku", Value::String("https://x".into())),
            (
                "jwk",
                serde_json::to_value(key.public_key().to_jwk()).unwrap(),
            ),
        ] {
            let mut h = header();
            h.insert(name.into(), value);
            assert!(
                matches!(
                    sign_token(&list, &claims(), &h, &key),
                    Err(StatusListError::Jws(_))
                ),
                "{name}"
            );
        }
        // A caller's typ is replaced, its x5c kept.
        let mut h = header();
        h.insert("typ".into(), Value::String("JWT".into()));
        h.insert("x5c".into(), serde_json::json!(["MIIB"]));
        let t = sign_token(&list, &claims(), &h, &key).unwrap();
        let u = parse_token(&t).unwrap();
        assert_eq!(u.header().typ.as_deref(), Some(TYP));
        assert_eq!(u.header().x5c.as_deref(), Some(&["MIIB".to_string()][..]));
    }

    #[test]
    fn status_reference_serde() {
        let r = StatusReference::new(7, SUB).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(
            json,
            format!(r#"{{"status_list":{{"idx":7,"uri":"{SUB}"}}}}"#)
        );
        let back: StatusReference = serde_json::from_str(&json).unwrap();
        assert_eq!(back, r);
        assert_eq!((back.idx(), back.uri()), (7, SUB));
        // As found in a licence: other members beside and inside are ignored.
        let claim = serde_json::json!({
            "status_list": {"idx": 0, "uri": "https://example.com/statuslists/1", "x": 1},
            "other_mechanism": {}
        });
        let r: StatusReference = serde_json::from_value(claim).unwrap();
        assert_eq!(r.idx(), 0);
        for bad in [
            r#"{"status_list":{"idx":-1,"uri":"https://x/1"}}"#,
            r#"{"status_list":{"idx":1.5,"uri":"https://x/1"}}"#,
            r#"{"status_list":{"idx":"1","uri":"https://x/1"}}"#,
            r#"{"status_list":{"uri":"https://x/1"}}"#,
            r#"{"status_list":{"idx":1}}"#,
            r#"{"status_list":{"idx":1,"uri":""}}"#,
            r#"{"status_list":{"idx":1,"uri":"not a uri"}}"#,
            r#"{"status_list":{"idx":1,"uri":"1https://x"}}"#,
            r#"{"status_list":{"idx":1,"uri":"https://x/1","idx":2}}"#,
            r#"{"idx":1,"uri":"https://x/1"}"#,
        ] {
            assert!(
                serde_json::from_str::<StatusReference>(bad).is_err(),
                "{bad}"
            );
        }
        assert!(StatusReference::new(1, "urn:uuid:6c5c0a49-b589-431d-bae7-219122a9ec2c").is_ok());
        assert!(StatusReference::new(1, format!("https://x/{}", "a".repeat(3000))).is_err());
    }

    // ---- cost ----------------------------------------------------------------------------

    #[test]
    fn timing_million_entries_build_compress_sign() {
        let n = 1_000_000;
        let key = signer();
        let started = Instant::now();
        let mut list = StatusList::new(2, n).unwrap();
        let mut rng = XorShift(42);
        for _ in 0..n / 100 {
            let i = (rng.next() % n as u64) as usize;
            let s = if rng.next().is_multiple_of(4) {
                Status::Suspended
            } else {
                Status::Invalid
            };
            list.set(i, s).unwrap();
        }
        let built = started.elapsed();
        let token = sign_token(&list, &claims(), &header(), &key).unwrap();
        let total = started.elapsed();
        let t = Instant::now();
        let lst = list.encode_lst().unwrap();
        let compressed = t.elapsed();
        let t = Instant::now();
        let v = verify_token(&token, &key.public_key(), &at(IAT)).unwrap();
        let verified = t.elapsed();
        assert_eq!(v.list(), &list);
        println!(
            "1,000,000 x 2 bits, 1% set: build {built:?}; build + compress + sign {total:?} \
             (compress alone {compressed:?}: {} B zlib, lst {} chars, token {} B); \
             verify + inflate {verified:?}",
            jose::b64u_decode(&lst).unwrap().len(),
            lst.len(),
            token.len()
        );
        for level in [1u32, 6, 9] {
            let t = Instant::now();
            let z = compress(list.as_bytes(), level).unwrap();
            println!("  zlib level {level}: {} B in {:?}", z.len(), t.elapsed());
        }
    }
}
