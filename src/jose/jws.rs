//! The one reader of compact JWS (RFC 7515 §7.1): every signed token that comes from
//! outside — the SD-JWT issuer JWT, the key-binding JWT, Status List Tokens — is split,
//! size-capped and decoded here, once, and verified here.
//!
//! ```text
//! text ─► CompactJws::split (cap, exactly three non-empty parts)
//!      ─► UnverifiedJws (canonical base64url; header policy; payload and signature bytes)
//!      ─► UnverifiedJws::verify(key) ─► VerifiedJws
//! ```
//!
//! Strictness: no padding, no whitespace, canonical trailing bits; `alg` must be ES256;
//! the `jwk`, `jku`, `x5u` and `crit` headers and repeated known members are refused; an
//! ES256 signature is exactly 64 bytes. Pure format code: no I/O, no clock.

use super::ES256_SIGNATURE_LEN;
use super::{Base64Error, Es256PublicKey, Es256Signer, KeyError, SignatureError, ES256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use std::borrow::Cow;
use std::sync::Arc;

/// Largest compact JWS accepted before any decoding (issuer certificate chains included).
pub const MAX_JWS_LEN: usize = 32 * 1024;

/// The protected header of a JWS, as far as this crate reads it.
///
/// Unknown members are ignored unless they are among the forbidden ones.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// The algorithm; must be `ES256`.
    pub alg: String,
    /// The media type of the complete token.
    #[serde(default)]
    pub typ: Option<String>,
    /// Key id hint; any JSON value (only strings are meaningful to this crate).
    #[serde(default)]
    pub kid: Option<serde_json::Value>,
    /// The signer's certificate chain, leaf first, base64 DER.
    #[serde(default)]
    pub x5c: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    jwk: bool,
    #[serde(default, deserialize_with = "present")]
    jku: bool,
    #[serde(default, deserialize_with = "present")]
    x5u: bool,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// A member that is there, whatever its value (`null` included).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| true)
}

impl Header {
    /// The `kid` as a string, if it is one.
    pub fn kid_str(&self) -> Option<&str> {
        self.kid.as_ref().and_then(|v| v.as_str())
    }
}

/// A compact JWS split into its three parts, nothing decoded yet.
#[derive(Debug, Clone, Copy)]
pub struct CompactJws<'a> {
    /// The base64url protected header.
    pub header_b64: &'a str,
    /// The base64url payload.
    pub payload_b64: &'a str,
    /// The base64url signature.
    pub signature_b64: &'a str,
    /// `header.payload`: the bytes the signature covers.
    pub signing_input: &'a str,
}

impl<'a> CompactJws<'a> {
    /// Splits `token` (at most [`MAX_JWS_LEN`] bytes) into exactly three non-empty
    /// dot-separated parts.
    pub fn split(token: &'a str) -> Result<Self, JwsError> {
        Self::split_capped(token, MAX_JWS_LEN)
    }

    /// [`split`](Self::split) with another size cap (Status List Tokens are larger).
    pub fn split_capped(token: &'a str, max: usize) -> Result<Self, JwsError> {
        if token.len() > max {
            return Err(JwsError::TooLarge {
                size: token.len(),
                max,
            });
        }
        let mut parts = token.splitn(4, '.');
        let header_b64 = parts.next().unwrap_or_default();
        let payload_b64 = parts.next().ok_or(JwsError::Structure)?;
        let signature_b64 = parts.next().ok_or(JwsError::Structure)?;
        if parts.next().is_some() {
            return Err(JwsError::Structure);
        }
        check_non_empty(header_b64, payload_b64, signature_b64)?;
        let signing_input = token
            .get(..header_b64.len() + 1 + payload_b64.len())
            .ok_or(JwsError::Structure)?;
        Ok(Self {
            header_b64,
            payload_b64,
            signature_b64,
            signing_input,
        })
    }
}

fn check_non_empty(header: &str, payload: &str, signature: &str) -> Result<(), JwsError> {
    for (part, text) in [
        ("header", header),
        ("payload", payload),
        ("signature", signature),
    ] {
        if text.is_empty() {
            return Err(JwsError::Empty { part });
        }
    }
    Ok(())
}

/// A protected header that the reader decoded and checked before, with its exact
/// base64url text: a token whose header is the same text reuses it instead of decoding
/// it again. Only [`UnverifiedJws::known_header`] makes one.
#[derive(Debug, Clone)]
pub struct KnownHeader {
    text: Box<str>,
    header: Arc<Header>,
}

impl KnownHeader {
    /// The base64url text of the header.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The decoded header.
    pub fn header(&self) -> &Header {
        &self.header
    }
}

/// The decoded signature: 64 bytes, or (kept so that verification reports it) another
/// length.
#[derive(Debug, Clone)]
enum SignatureBytes {
    Es256([u8; ES256_SIGNATURE_LEN]),
    OtherLength(Vec<u8>),
}

/// A compact JWS decoded once: the checked protected header, the payload bytes, the
/// signing input and the signature. Nothing in it is trusted until [`verify`](Self::verify)
/// succeeds.
#[derive(Debug, Clone)]
pub struct UnverifiedJws<'a> {
    header: Arc<Header>,
    payload: Vec<u8>,
    signing_input: Cow<'a, str>,
    header_len: usize,
    signature: SignatureBytes,
}

impl<'a> UnverifiedJws<'a> {
    /// Splits (at most [`MAX_JWS_LEN`] bytes) and decodes a compact JWS.
    pub fn parse(token: &'a str) -> Result<Self, JwsError> {
        Self::from_compact(CompactJws::split(token)?, None)
    }

    /// [`parse`](Self::parse) with another size cap.
    pub fn parse_capped(token: &'a str, max: usize) -> Result<Self, JwsError> {
        Self::from_compact(CompactJws::split_capped(token, max)?, None)
    }

    /// Decodes split parts. If `known` is the same header text, its decoded header is
    /// reused instead of decoding the header again.
    pub fn from_compact(
        parts: CompactJws<'a>,
        known: Option<&KnownHeader>,
    ) -> Result<Self, JwsError> {
        Self::decode(
            parts.header_b64,
            parts.payload_b64,
            parts.signature_b64,
            Cow::Borrowed(parts.signing_input),
            known,
        )
    }

    /// Decodes the three parts of a JWS in the JSON serialization (RFC 7515 §7.2), where
    /// they arrive separately; the signing input is built from them.
    pub fn from_parts(
        header_b64: &str,
        payload_b64: &str,
        signature_b64: &str,
        known: Option<&KnownHeader>,
    ) -> Result<UnverifiedJws<'static>, JwsError> {
        check_non_empty(header_b64, payload_b64, signature_b64)?;
        let mut input = String::with_capacity(header_b64.len() + 1 + payload_b64.len());
        input.push_str(header_b64);
        input.push('.');
        input.push_str(payload_b64);
        UnverifiedJws::decode(
            header_b64,
            payload_b64,
            signature_b64,
            Cow::Owned(input),
            known,
        )
    }

    fn decode<'s>(
        header_b64: &str,
        payload_b64: &str,
        signature_b64: &str,
        signing_input: Cow<'s, str>,
        known: Option<&KnownHeader>,
    ) -> Result<UnverifiedJws<'s>, JwsError> {
        let header = match known {
            Some(k) if &*k.text == header_b64 => Arc::clone(&k.header),
            _ => Arc::new(parse_header(&decode_part("header", header_b64)?)?),
        };
        let payload = decode_part("payload", payload_b64)?;
        let signature = decode_signature(signature_b64)?;
        Ok(UnverifiedJws {
            header,
            payload,
            signing_input,
            header_len: header_b64.len(),
            signature,
        })
    }

    /// The protected header, checked against the policy (ES256; no `jwk`, `jku`, `x5u`,
    /// `crit`) but not yet covered by a verified signature.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The protected header's base64url text.
    pub fn header_b64(&self) -> &str {
        self.signing_input
            .get(..self.header_len)
            .unwrap_or_default()
    }

    /// The header with its text, to pass to later parses of tokens with the same header.
    pub fn known_header(&self) -> KnownHeader {
        KnownHeader {
            text: self.header_b64().into(),
            header: Arc::clone(&self.header),
        }
    }

    /// The payload bytes, unverified: for checks that must come before the signature
    /// (well-formedness) and for holders inspecting their own tokens.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// `header.payload`: the bytes the signature covers.
    pub fn signing_input(&self) -> &str {
        &self.signing_input
    }

    /// The decoded signature bytes.
    pub fn signature(&self) -> &[u8] {
        match &self.signature {
            SignatureBytes::Es256(s) => s,
            SignatureBytes::OtherLength(s) => s,
        }
    }

    /// Verifies the ES256 signature with `key`; a signature of another length than 64
    /// bytes fails here, before any arithmetic.
    pub fn verify(&self, key: &Es256PublicKey) -> Result<VerifiedJws<'_>, JwsError> {
        key.verify(self.signing_input.as_bytes(), self.signature())
            .map_err(JwsError::Signature)?;
        Ok(VerifiedJws {
            header: &self.header,
            payload: &self.payload,
        })
    }
}

/// A JWS whose signature verified under the key given to [`UnverifiedJws::verify`], the
/// only way to make one.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedJws<'v> {
    header: &'v Header,
    payload: &'v [u8],
}

impl<'v> VerifiedJws<'v> {
    /// The signed protected header.
    pub fn header(&self) -> &'v Header {
        self.header
    }

    /// The signed payload bytes.
    pub fn payload(&self) -> &'v [u8] {
        self.payload
    }
}

/// Decodes a payload without verifying anything (holders inspecting their own tokens).
pub fn unverified_payload(payload_b64: &str) -> Result<Vec<u8>, JwsError> {
    decode_part("payload", payload_b64)
}

fn decode_part(part: &'static str, text: &str) -> Result<Vec<u8>, JwsError> {
    super::b64u_decode(text).map_err(|source| JwsError::Base64 { part, source })
}

/// The 86 characters of a 64-byte signature decode straight into an array; anything else
/// is decoded in full so the error (or the wrong length) is reported exactly.
fn decode_signature(text: &str) -> Result<SignatureBytes, JwsError> {
    let mut out = [0u8; ES256_SIGNATURE_LEN];
    if text.len() == 86 {
        if let Ok(ES256_SIGNATURE_LEN) = URL_SAFE_NO_PAD.decode_slice(text, &mut out) {
            return Ok(SignatureBytes::Es256(out));
        }
    }
    let bytes = decode_part("signature", text)?;
    Ok(
        match <[u8; ES256_SIGNATURE_LEN]>::try_from(bytes.as_slice()) {
            Ok(sig) => SignatureBytes::Es256(sig),
            Err(_) => SignatureBytes::OtherLength(bytes),
        },
    )
}

/// Parses a protected header and enforces this crate's header policy.
pub fn parse_header(bytes: &[u8]) -> Result<Header, JwsError> {
    let header: Header = serde_json::from_slice(bytes).map_err(JwsError::HeaderJson)?;
    check_header_policy(&header)?;
    Ok(header)
}

fn check_header_policy(header: &Header) -> Result<(), JwsError> {
    if header.alg != ES256 {
        return Err(JwsError::UnsupportedAlgorithm {
            alg: header.alg.to_string(),
        });
    }
    for (present, name) in [
        (header.jwk, "jwk"),
        (header.jku, "jku"),
        (header.x5u, "x5u"),
        (header.crit, "crit"),
    ] {
        if present {
            return Err(JwsError::ForbiddenHeader { name });
        }
    }
    Ok(())
}

/// Signs a compact JWS with `header` and `payload` (both already serialized JSON).
pub fn sign_compact(header: &[u8], payload: &[u8], key: &Es256Signer) -> Result<String, KeyError> {
    let mut out = String::with_capacity((header.len() + payload.len()) * 4 / 3 + 100);
    URL_SAFE_NO_PAD.encode_string(header, &mut out);
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(payload, &mut out);
    let sig = key.sign(out.as_bytes())?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(sig, &mut out);
    Ok(out)
}

/// Why a JWS was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwsError {
    /// Over the size cap; nothing was decoded.
    #[error("the token is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not three dot-separated parts.
    #[error("a compact JWS has exactly three parts separated by '.'")]
    Structure,
    /// A part is empty.
    #[error("the JWS {part} is empty")]
    Empty {
        /// Which part.
        part: &'static str,
    },
    /// A part is not canonical base64url.
    #[error("the JWS {part} is not canonical base64url")]
    Base64 {
        /// Which part.
        part: &'static str,
        /// The decoding error.
        #[source]
        source: Base64Error,
    },
    /// The header is not a JSON object of the expected shape.
    #[error("the JWS header is not valid JSON of the expected shape")]
    HeaderJson(#[source] serde_json::Error),
    /// The payload is not a JSON object.
    #[error("the JWS payload is not a JSON object")]
    PayloadJson(#[source] serde_json::Error),
    /// `alg` is not ES256.
    #[error("algorithm {alg:?} is not accepted; only ES256 is")]
    UnsupportedAlgorithm {
        /// The `alg` found.
        alg: String,
    },
    /// A header that would let the token choose its own key or rules.
    #[error("the `{name}` header is not accepted")]
    ForbiddenHeader {
        /// The header's name.
        name: &'static str,
    },
    /// The signature did not verify.
    #[error(transparent)]
    Signature(SignatureError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::b64u_encode;

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let (signer, _) = Es256Signer::generate().unwrap();
        let token = sign_compact(br#"{"alg":"ES256"}"#, b"hello", &signer).unwrap();
        let jws = UnverifiedJws::parse(&token).unwrap();
        let verified = jws.verify(&signer.public_key()).unwrap();
        assert_eq!(verified.header().alg, "ES256");
        assert_eq!(verified.payload(), b"hello");
        let mut bad = token.clone().into_bytes();
        let n = bad.len();
        bad[n - 3] = if bad[n - 3] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(matches!(
            UnverifiedJws::parse(&bad).and_then(|j| j.verify(&signer.public_key()).map(|_| ())),
            Err(JwsError::Signature(_)) | Err(JwsError::Base64 { .. })
        ));
    }

    #[test]
    fn header_policy() {
        for (h, want) in [
            (r#"{"alg":"none"}"#, "UnsupportedAlgorithm"),
            (r#"{"alg":"HS256"}"#, "UnsupportedAlgorithm"),
            (r#"{"alg":"es256"}"#, "UnsupportedAlgorithm"),
            (r#"{"alg":"ES256","jwk":{}}"#, "ForbiddenHeader"),
            (r#"{"alg":"ES256","jku":"https://x"}"#, "ForbiddenHeader"),
            (r#"{"alg":"ES256","x5u":"https://x"}"#, "ForbiddenHeader"),
            (r#"{"alg":"ES256","crit":["b64"]}"#, "ForbiddenHeader"),
            (r#"{"alg":"ES256","jwk":null}"#, "ForbiddenHeader"),
            (r#"{"alg":"ES256","crit":null}"#, "ForbiddenHeader"),
            (r#"{"alg":"ES256","alg":"ES256"}"#, "HeaderJson"),
            (r#"{"alg":"ES256"} x"#, "HeaderJson"),
            (r#"[]"#, "HeaderJson"),
        ] {
            let err = parse_header(h.as_bytes()).unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{h}: {err:?}");
        }
        assert!(parse_header(br#"{"alg":"ES256","kid":42,"typ":"x"}"#).is_ok());
    }

    #[test]
    fn parts_are_decoded_once_and_checked() {
        let (signer, _) = Es256Signer::generate().unwrap();
        let token = sign_compact(br#"{"alg":"ES256","kid":"k"}"#, b"{}", &signer).unwrap();
        let jws = UnverifiedJws::parse(&token).unwrap();
        assert_eq!(jws.signature().len(), 64);
        assert_eq!(jws.payload(), b"{}");
        assert_eq!(
            format!("{}.{}", jws.signing_input(), b64u_encode(jws.signature())),
            token
        );
        // The same header text reuses the decoded header.
        let known = jws.known_header();
        let parts = CompactJws::split(&token).unwrap();
        let again = UnverifiedJws::from_compact(parts, Some(&known)).unwrap();
        assert!(Arc::ptr_eq(&again.header, &jws.header));
        again.verify(&signer.public_key()).unwrap();
        // The JSON serialization's parts give the same reader.
        let from_parts = UnverifiedJws::from_parts(
            parts.header_b64,
            parts.payload_b64,
            parts.signature_b64,
            None,
        )
        .unwrap();
        assert_eq!(from_parts.signing_input(), parts.signing_input);
        from_parts.verify(&signer.public_key()).unwrap();
        // A short signature is read, and refused at verification.
        let short = format!("{}.{}", parts.signing_input, b64u_encode([1u8; 63]));
        let short = UnverifiedJws::parse(&short).unwrap();
        let err = short.verify(&signer.public_key()).map(|_| ());
        assert!(matches!(
            err,
            Err(JwsError::Signature(SignatureError::Length { found: 63 }))
        ));
        for bad in [
            format!("{token}."),
            format!(".{}", &token[token.find('.').unwrap()..]),
            format!("{}=", token),
            token.replace('.', ". "),
        ] {
            assert!(UnverifiedJws::parse(&bad).is_err(), "{bad}");
        }
        assert!(matches!(
            UnverifiedJws::parse_capped(&token, 10),
            Err(JwsError::TooLarge { max: 10, .. })
        ));
    }
}
