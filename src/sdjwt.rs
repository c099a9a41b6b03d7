//! SD-JWT (RFC 9901): selective-disclosure JWTs.
//!
//! Issuance turns a claim tree, with some members and array elements marked disclosable,
//! into an issuer-signed JWT whose payload carries only salted digests of those claims
//! (`_sd`, `{"...": digest}`) plus the disclosures that reveal them. A holder presents a
//! subset of the disclosures, optionally with a key-binding JWT (KB-JWT). A verifier
//! checks every disclosure against a digest in the signed payload.
//!
//! Pure format code: the caller supplies keys, randomness and the time.

use crate::jose::jws::{self, UnverifiedJws};
use crate::jose::{self, b64u_decode, b64u_encode, CompactJws, Es256PublicKey, Es256Signer};
pub use crate::salt::{RandomPool, SaltSource};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// The only digest algorithm: `_sd_alg: sha-256`.
pub const SD_ALG: &str = "sha-256";
/// `typ` of a key-binding JWT.
pub const KB_JWT_TYP: &str = "kb+jwt";
/// Largest SD-JWT (issuer JWT, disclosures and KB-JWT) accepted before decoding.
pub const MAX_SD_JWT_LEN: usize = 64 * 1024;
/// Most disclosures accepted in one SD-JWT.
pub const MAX_DISCLOSURES: usize = 512;
/// Deepest nesting of objects, arrays and disclosures that processing follows.
pub const MAX_DEPTH: usize = 32;
/// Most digests (real and decoy) accepted in one payload, disclosures included.
pub const MAX_DIGESTS: usize = 4096;
/// Salt length in bytes (128 bits, RFC 9901 §9.3).
pub const SALT_LEN: usize = 16;

/// A claim to issue: a plain JSON value, or an object or array whose parts may be
/// individually disclosable.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// A value with nothing disclosable inside.
    Value(Value),
    /// An object whose members may be disclosable.
    Object(Vec<Member>),
    /// An array whose elements may be disclosable.
    Array(Vec<Element>),
}

/// An object member of a [`Claim`] tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The claim name.
    pub name: String,
    /// The claim value (itself possibly with disclosable parts: recursive disclosure).
    pub value: Claim,
    /// Whether this member is hidden behind a digest.
    pub disclosable: bool,
}

/// An array element of a [`Claim`] tree.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    /// The element value.
    pub value: Claim,
    /// Whether this element is hidden behind a digest.
    pub disclosable: bool,
}

impl Member {
    /// A member that is always visible.
    pub fn plain(name: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            name: name.into(),
            value: Claim::Value(value.into()),
            disclosable: false,
        }
    }

    /// A member hidden behind a digest until disclosed.
    pub fn disclosable(name: impl Into<String>, value: impl Into<Value>) -> Self {
        Self {
            name: name.into(),
            value: Claim::Value(value.into()),
            disclosable: true,
        }
    }
}

/// The base64url SHA-256 digest of a disclosure string, as it appears in `_sd`.
pub fn disclosure_digest(encoded: &str) -> String {
    b64u_encode(jose::sha256(encoded.as_bytes()))
}

fn count_disclosable(members: &[Member]) -> usize {
    fn claim(c: &Claim) -> usize {
        match c {
            Claim::Value(_) => 0,
            Claim::Object(ms) => count_disclosable(ms),
            Claim::Array(es) => es
                .iter()
                .map(|e| usize::from(e.disclosable) + claim(&e.value))
                .sum(),
        }
    }
    members
        .iter()
        .map(|m| usize::from(m.disclosable) + claim(&m.value))
        .sum()
}

struct Encoder<'s> {
    salts: std::slice::ChunksExact<'s, u8>,
    disclosures: Vec<String>,
}

impl Encoder<'_> {
    fn disclose(&mut self, name: Option<&str>, value: &Value) -> Result<String, EncodeError> {
        let salt = self.salts.next().ok_or(EncodeError::Randomness)?;
        let salt = b64u_encode(salt);
        // Tuples serialize as JSON arrays: `[salt, name, value]` or `[salt, value]`.
        let json = match name {
            Some(n) => serde_json::to_vec(&(&salt, n, value)),
            None => serde_json::to_vec(&(&salt, value)),
        }
        .map_err(EncodeError::Json)?;
        let encoded = b64u_encode(json);
        let digest = disclosure_digest(&encoded);
        self.disclosures.push(encoded);
        Ok(digest)
    }

    fn object(&mut self, members: &[Member]) -> Result<Map<String, Value>, EncodeError> {
        let mut out = Map::new();
        let mut digests = Vec::new();
        let mut names: Vec<&str> = Vec::with_capacity(members.len());
        for m in members {
            if m.name == "_sd" || m.name == "..." || m.name == "_sd_alg" {
                return Err(EncodeError::ReservedName {
                    name: m.name.clone(),
                });
            }
            if names.contains(&m.name.as_str()) {
                return Err(EncodeError::DuplicateName {
                    name: m.name.clone(),
                });
            }
            names.push(&m.name);
            match (&m.value, m.disclosable) {
                // A plain value is disclosed straight from the claim tree, without a copy.
                (Claim::Value(v), true) => {
                    digests.push(Value::String(self.disclose(Some(&m.name), v)?));
                }
                (_, true) => {
                    let value = self.claim(&m.value)?;
                    digests.push(Value::String(self.disclose(Some(&m.name), &value)?));
                }
                (_, false) => {
                    let value = self.claim(&m.value)?;
                    out.insert(m.name.clone(), value);
                }
            }
        }
        if !digests.is_empty() {
            // Sorting hides the original order of the claims (RFC 9901 §4.2.4.1).
            digests.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            out.insert("_sd".into(), Value::Array(digests));
        }
        Ok(out)
    }

    fn claim(&mut self, claim: &Claim) -> Result<Value, EncodeError> {
        Ok(match claim {
            Claim::Value(v) => v.clone(),
            Claim::Object(members) => Value::Object(self.object(members)?),
            Claim::Array(elements) => {
                let mut out = Vec::with_capacity(elements.len());
                for e in elements {
                    let value = self.claim(&e.value)?;
                    if e.disclosable {
                        let digest = self.disclose(None, &value)?;
                        let mut m = Map::new();
                        m.insert("...".into(), Value::String(digest));
                        out.push(Value::Object(m));
                    } else {
                        out.push(value);
                    }
                }
                Value::Array(out)
            }
        })
    }
}

/// Turns a claim tree into a payload with digests, and the disclosures for it.
///
/// `_sd_alg` is added at the top level. Salts are 128 bits from `salts`, drawn in one call.
pub fn encode_claims(
    members: &[Member],
    salts: &dyn SaltSource,
) -> Result<(Map<String, Value>, Vec<String>), EncodeError> {
    let n = count_disclosable(members);
    let mut salt_bytes = vec![0u8; n * SALT_LEN];
    salts
        .fill(&mut salt_bytes)
        .map_err(|_| EncodeError::Randomness)?;
    let mut enc = Encoder {
        salts: salt_bytes.chunks_exact(SALT_LEN),
        disclosures: Vec::with_capacity(n),
    };
    let mut payload = enc.object(members)?;
    payload.insert("_sd_alg".into(), Value::String(SD_ALG.into()));
    Ok((payload, enc.disclosures))
}

/// An issued SD-JWT before serialization: one payload, one or more signatures.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The base64url payload.
    pub payload_b64: String,
    /// `(protected header b64url, signature b64url)` per signer.
    pub signatures: Vec<(String, String)>,
    /// The disclosures, in issuance order.
    pub disclosures: Vec<String>,
}

impl Issued {
    /// `<jwt>~<disclosure>~…~` with the first signature (RFC 9901 §4).
    pub fn compact(&self) -> String {
        let (h, s) = self.signatures.first().map_or(("", ""), |(h, s)| (h, s));
        let mut out = String::with_capacity(
            h.len() + self.payload_b64.len() + s.len() + self.disclosures.len() * 64 + 8,
        );
        out.push_str(h);
        out.push('.');
        out.push_str(&self.payload_b64);
        out.push('.');
        out.push_str(s);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d);
            out.push('~');
        }
        out
    }
}

/// Signs `members` as an SD-JWT with each `(header, signer)`; headers must set `alg: ES256`.
pub fn issue(
    signers: &[(&Map<String, Value>, &Es256Signer)],
    members: &[Member],
) -> Result<Issued, EncodeError> {
    let encoded = signers
        .iter()
        .map(|(h, s)| Ok((encode_header(h)?, *s)))
        .collect::<Result<Vec<_>, EncodeError>>()?;
    let refs: Vec<(&str, &Es256Signer)> = encoded.iter().map(|(h, s)| (h.as_str(), *s)).collect();
    issue_with_encoded_headers(&refs, members, &ring::rand::SystemRandom::new())
}

/// A protected header, serialized and base64url-encoded (done once per issuer).
pub fn encode_header(header: &Map<String, Value>) -> Result<String, EncodeError> {
    Ok(b64u_encode(
        serde_json::to_vec(header).map_err(EncodeError::Json)?,
    ))
}

/// [`issue`] with headers already encoded by [`encode_header`].
pub fn issue_with_encoded_headers(
    signers: &[(&str, &Es256Signer)],
    members: &[Member],
    salts: &dyn SaltSource,
) -> Result<Issued, EncodeError> {
    if signers.is_empty() {
        return Err(EncodeError::NoSigner);
    }
    let (payload, disclosures) = encode_claims(members, salts)?;
    let payload_json = serde_json::to_vec(&payload).map_err(EncodeError::Json)?;
    let payload_b64 = b64u_encode(&payload_json);
    let mut signatures = Vec::with_capacity(signers.len());
    let mut input = String::new();
    for (header_b64, signer) in signers {
        input.clear();
        input.push_str(header_b64);
        input.push('.');
        input.push_str(&payload_b64);
        let sig = signer.sign(input.as_bytes()).map_err(EncodeError::Key)?;
        signatures.push(((*header_b64).to_owned(), b64u_encode(sig)));
    }
    Ok(Issued {
        payload_b64,
        signatures,
        disclosures,
    })
}

/// Why an SD-JWT could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// `_sd`, `...` and `_sd_alg` are reserved.
    #[error("claim name {name:?} is reserved by SD-JWT")]
    ReservedName {
        /// The name.
        name: String,
    },
    /// The same claim name twice in one object.
    #[error("claim {name:?} appears twice in the same object")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// The system random source failed.
    #[error("the system random source failed")]
    Randomness,
    /// JSON serialization failed.
    #[error("could not serialize claims")]
    Json(#[source] serde_json::Error),
    /// Signing failed.
    #[error("signing failed")]
    Key(#[source] jose::KeyError),
    /// No signer was given.
    #[error("no signer was given")]
    NoSigner,
}

/// How an SD-JWT was serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Serialization {
    /// `<jwt>~<disclosure>~…~[<kb-jwt>]`.
    Compact,
    /// JWS JSON serialization, flattened (RFC 9901 §8.1).
    JsonFlattened,
    /// JWS JSON serialization, general (RFC 9901 §8.1).
    JsonGeneral,
}

/// One signature over the payload: protected header and signature, base64url.
#[derive(Debug, Clone)]
pub struct Signature<'a> {
    /// The protected header, base64url.
    pub protected_b64: Cow<'a, str>,
    /// The signature, base64url.
    pub signature_b64: Cow<'a, str>,
}

/// A parsed but unverified SD-JWT or SD-JWT+KB.
#[derive(Debug, Clone)]
pub struct SdJwt<'a> {
    /// How it was serialized.
    pub serialization: Serialization,
    /// The payload, base64url.
    pub payload_b64: Cow<'a, str>,
    /// The signatures (exactly one for compact and flattened).
    pub signatures: Vec<Signature<'a>>,
    /// The disclosures, as presented.
    pub disclosures: Vec<Cow<'a, str>>,
    /// The key-binding JWT, if any.
    pub kb_jwt: Option<Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonUnprotected {
    #[serde(default)]
    disclosures: Option<Vec<String>>,
    #[serde(default)]
    kb_jwt: Option<String>,
    #[serde(default, rename = "kid")]
    _kid: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSignature {
    protected: String,
    #[serde(default)]
    header: Option<JsonUnprotected>,
    signature: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSdJwt {
    payload: String,
    #[serde(default)]
    protected: Option<String>,
    #[serde(default)]
    header: Option<JsonUnprotected>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    signatures: Option<Vec<JsonSignature>>,
}

impl<'a> SdJwt<'a> {
    /// Parses the compact form or (if it starts with `{`) the JSON serialization.
    pub fn parse(text: &'a str) -> Result<Self, FormatError> {
        if text.len() > MAX_SD_JWT_LEN {
            return Err(FormatError::TooLarge {
                size: text.len(),
                max: MAX_SD_JWT_LEN,
            });
        }
        if text.starts_with('{') {
            return Self::parse_json(text);
        }
        let mut parts = text.split('~');
        let jwt = parts.next().unwrap_or_default();
        // Every part after the JWT but the last is a disclosure; the last is the KB-JWT
        // (empty when there is none).
        let mut disclosures = Vec::with_capacity(16);
        let mut last = None;
        for part in parts {
            if let Some(prev) = last.replace(part) {
                if prev.is_empty() {
                    return Err(FormatError::EmptyDisclosure);
                }
                if disclosures.len() == MAX_DISCLOSURES {
                    return Err(FormatError::TooManyDisclosures {
                        found: text.matches('~').count() - 1,
                        max: MAX_DISCLOSURES,
                    });
                }
                disclosures.push(Cow::Borrowed(prev));
            }
        }
        let last = last.ok_or(FormatError::NoTilde)?;
        let kb_jwt = (!last.is_empty()).then_some(Cow::Borrowed(last));
        if let Some(kb) = &kb_jwt {
            CompactJws::split(kb).map_err(FormatError::KbJwt)?;
        }
        let jws = CompactJws::split(jwt).map_err(FormatError::Jws)?;
        Ok(Self {
            serialization: Serialization::Compact,
            payload_b64: Cow::Borrowed(jws.payload_b64),
            signatures: vec![Signature {
                protected_b64: Cow::Borrowed(jws.header_b64),
                signature_b64: Cow::Borrowed(jws.signature_b64),
            }],
            disclosures,
            kb_jwt,
        })
    }

    fn parse_json(text: &str) -> Result<SdJwt<'static>, FormatError> {
        let j: JsonSdJwt = serde_json::from_str(text).map_err(FormatError::Json)?;
        let (serialization, sigs, unprotected) = match (j.signatures, j.protected, j.signature) {
            (Some(sigs), None, None) if j.header.is_none() && !sigs.is_empty() => {
                let mut out = Vec::with_capacity(sigs.len());
                let mut first_header = None;
                for (i, s) in sigs.into_iter().enumerate() {
                    if let Some(h) = s.header {
                        if i == 0 {
                            first_header = Some(h);
                        } else if h.disclosures.is_some() || h.kb_jwt.is_some() {
                            // Disclosures ride only with the first signature (RFC 9901 §8.1).
                            return Err(FormatError::JsonShape);
                        }
                    }
                    out.push((s.protected, s.signature));
                }
                (Serialization::JsonGeneral, out, first_header)
            }
            (None, Some(p), Some(s)) => (Serialization::JsonFlattened, vec![(p, s)], j.header),
            _ => return Err(FormatError::JsonShape),
        };
        let (disclosures, kb_jwt) = match unprotected {
            Some(h) => (h.disclosures.unwrap_or_default(), h.kb_jwt),
            None => (Vec::new(), None),
        };
        if disclosures.len() > MAX_DISCLOSURES {
            return Err(FormatError::TooManyDisclosures {
                found: disclosures.len(),
                max: MAX_DISCLOSURES,
            });
        }
        for (p, s) in &sigs {
            for (part, v) in [("header", p), ("signature", s), ("payload", &j.payload)] {
                if v.is_empty() {
                    return Err(FormatError::Jws(jose::JwsError::Empty { part }));
                }
            }
        }
        if disclosures.iter().any(String::is_empty) {
            return Err(FormatError::EmptyDisclosure);
        }
        Ok(SdJwt {
            serialization,
            payload_b64: Cow::Owned(j.payload),
            signatures: sigs
                .into_iter()
                .map(|(p, s)| Signature {
                    protected_b64: Cow::Owned(p),
                    signature_b64: Cow::Owned(s),
                })
                .collect(),
            disclosures: disclosures.into_iter().map(Cow::Owned).collect(),
            kb_jwt: kb_jwt.map(Cow::Owned),
        })
    }

    /// The issuer-signed JWT in compact form (first signature).
    pub fn issuer_jwt(&self) -> String {
        let (h, s) = self.signatures.first().map_or(("", ""), |sig| {
            (sig.protected_b64.as_ref(), sig.signature_b64.as_ref())
        });
        format!("{h}.{}.{s}", self.payload_b64)
    }

    /// The string whose hash a KB-JWT's `sd_hash` holds: `<jwt>~<d1>~…~<dn>~`.
    pub fn sd_hash_input(&self) -> String {
        let mut out = self.issuer_jwt();
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d);
            out.push('~');
        }
        out
    }

    /// Serializes in the compact form.
    pub fn to_compact(&self) -> String {
        let mut out = self.sd_hash_input();
        if let Some(kb) = &self.kb_jwt {
            out.push_str(kb);
        }
        out
    }

    /// Serializes in the flattened JSON form (first signature only).
    pub fn to_json_flattened(&self) -> Value {
        let (protected, signature) = self.signatures.first().map_or(("", ""), |sig| {
            (sig.protected_b64.as_ref(), sig.signature_b64.as_ref())
        });
        let mut header = Map::new();
        header.insert("disclosures".into(), self.disclosures_json());
        if let Some(kb) = &self.kb_jwt {
            header.insert("kb_jwt".into(), Value::String(kb.to_string()));
        }
        serde_json::json!({
            "payload": self.payload_b64,
            "protected": protected,
            "header": header,
            "signature": signature,
        })
    }

    /// Serializes in the general JSON form; disclosures ride with the first signature.
    pub fn to_json_general(&self) -> Value {
        let sigs: Vec<Value> = self
            .signatures
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut v = serde_json::json!({
                    "protected": s.protected_b64,
                    "signature": s.signature_b64,
                });
                if i == 0 {
                    let mut header = Map::new();
                    header.insert("disclosures".into(), self.disclosures_json());
                    if let Some(kb) = &self.kb_jwt {
                        header.insert("kb_jwt".into(), Value::String(kb.to_string()));
                    }
                    v["header"] = Value::Object(header);
                }
                v
            })
            .collect();
        serde_json::json!({ "payload": self.payload_b64, "signatures": sigs })
    }

    fn disclosures_json(&self) -> Value {
        Value::Array(
            self.disclosures
                .iter()
                .map(|d| Value::String(d.to_string()))
                .collect(),
        )
    }

    /// Decodes the payload without verifying anything (for holders and for inspection).
    pub fn unverified_payload(&self) -> Result<Map<String, Value>, FormatError> {
        let bytes = jws::unverified_payload(&self.payload_b64).map_err(FormatError::Jws)?;
        serde_json::from_slice(&bytes).map_err(FormatError::Json)
    }

    /// The issuer-signed JWS of each signature, decoded by the one reader and not yet
    /// verified: check each with [`UnverifiedJws::verify`].
    pub fn issuer_jws(&self) -> Result<Vec<UnverifiedJws<'static>>, jose::JwsError> {
        self.signatures
            .iter()
            .map(|sig| {
                UnverifiedJws::from_parts(
                    &sig.protected_b64,
                    &self.payload_b64,
                    &sig.signature_b64,
                    None,
                )
            })
            .collect()
    }
}

/// An SD-JWT that is not well-formed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// Over the size cap; nothing was decoded.
    #[error("the SD-JWT is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// No `~` separator: a plain JWT, not an SD-JWT.
    #[error("not an SD-JWT: no '~' separator (an SD-JWT ends with '~' or a key-binding JWT)")]
    NoTilde,
    /// An empty disclosure (`~~`).
    #[error("empty disclosure ('~~')")]
    EmptyDisclosure,
    /// Too many disclosures.
    #[error("{found} disclosures, more than the {max} accepted")]
    TooManyDisclosures {
        /// How many were found.
        found: usize,
        /// The cap.
        max: usize,
    },
    /// The issuer JWT is not a well-formed compact JWS.
    #[error("the issuer-signed JWT is malformed")]
    Jws(#[source] jose::JwsError),
    /// JSON serialization that does not parse.
    #[error("not valid JSON of the expected shape")]
    Json(#[source] serde_json::Error),
    /// The part after the last `~` is not a compact JWS.
    #[error("the key-binding JWT (after the last '~') is malformed; an SD-JWT without key binding ends with '~'")]
    KbJwt(#[source] jose::JwsError),
    /// More than one signature where one is expected.
    #[error("the licence carries {count} signatures; a licence has exactly one")]
    MultipleSignatures {
        /// How many.
        count: usize,
    },
    /// JSON serialization with neither or both of the flattened and general members.
    #[error("JSON serialization must be either flattened (protected, signature) or general (signatures)")]
    JsonShape,
}

/// What a holder chooses to disclose, as a tree shaped like the claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Disclose nothing here.
    Nothing,
    /// Disclose this and everything beneath it.
    All,
    /// Disclose this (if disclosable) and choose among an object's members.
    Object(BTreeMap<String, Selection>),
    /// Disclose this (if disclosable) and choose among an array's elements by position.
    Array(Vec<Selection>),
}

impl Selection {
    fn discloses(&self) -> bool {
        !matches!(self, Selection::Nothing)
    }

    fn member(&self, name: &str) -> &Selection {
        match self {
            Selection::All => &Selection::All,
            Selection::Object(m) => m.get(name).unwrap_or(&Selection::Nothing),
            _ => &Selection::Nothing,
        }
    }

    fn element(&self, i: usize) -> &Selection {
        match self {
            Selection::All => &Selection::All,
            Selection::Array(v) => v.get(i).unwrap_or(&Selection::Nothing),
            _ => &Selection::Nothing,
        }
    }

    /// Discloses exactly the named top-level claims (and everything beneath them).
    pub fn top_level<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        Selection::Object(
            names
                .into_iter()
                .map(|n| (n.to_owned(), Selection::All))
                .collect(),
        )
    }
}

/// A decoded disclosure.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    /// The salt.
    pub salt: String,
    /// The claim name (object members) or `None` (array elements).
    pub name: Option<String>,
    /// The disclosed value.
    pub value: Value,
}

/// Decodes one disclosure strictly: base64url of a JSON array `[salt, name, value]` or
/// `[salt, value]`.
pub fn decode_disclosure(encoded: &str) -> Result<Disclosure, DisclosureError> {
    let bytes = b64u_decode(encoded).map_err(|_| DisclosureError::Malformed {
        reason: "not base64url",
    })?;
    let RawDisclosure::<Value>(salt, second, third) =
        serde_json::from_slice(&bytes).map_err(|_| DisclosureError::Malformed {
            reason: "not a JSON array of 2 or 3 elements",
        })?;
    let Value::String(salt) = salt else {
        return Err(DisclosureError::Malformed {
            reason: "salt is not a string",
        });
    };
    let (name, value) = match third {
        None => (None, second),
        Some(value) => {
            let Value::String(name) = second else {
                return Err(DisclosureError::Malformed {
                    reason: "claim name is not a string",
                });
            };
            if name == "_sd" || name == "..." {
                return Err(DisclosureError::ReservedName { name });
            }
            (Some(name), value)
        }
    };
    Ok(Disclosure { salt, name, value })
}

/// A JSON array of exactly 2 or 3 elements, read without building a `Vec`; the first
/// element (the salt) is read as `S`.
struct RawDisclosure<S>(S, Value, Option<Value>);

/// A salt that is checked to be a string but not kept (processing never needs it).
struct SaltCheck;

impl<'de> serde::Deserialize<'de> for SaltCheck {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SaltCheck;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a salt string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SaltCheck, E> {
                Ok(SaltCheck)
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de, S: serde::Deserialize<'de>> serde::Deserialize<'de> for RawDisclosure<S> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<S>(std::marker::PhantomData<S>);
        impl<'de, S: serde::Deserialize<'de>> serde::de::Visitor<'de> for V<S> {
            type Value = RawDisclosure<S>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array of 2 or 3 elements")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::de::Error as _;
                let first = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let second = seq
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                let third = seq.next_element()?;
                if third.is_some() && seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(4, &self));
                }
                Ok(RawDisclosure(first, second, third))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

/// What processing needs of a disclosure: its name (members) and value.
#[derive(Debug)]
struct Claimed {
    name: Option<String>,
    value: Value,
}

/// [`decode_disclosure`] for the hot path: base64 into a reused buffer, one UTF-8 check,
/// the salt checked but not copied. On failure, the strict decoder names the reason.
fn decode_claimed(encoded: &str, buf: &mut Vec<u8>) -> Result<Claimed, DisclosureError> {
    buf.clear();
    let fast = base64::Engine::decode_vec(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        encoded,
        buf,
    )
    .ok()
    .and_then(|()| std::str::from_utf8(buf).ok())
    .and_then(|text| serde_json::from_str::<RawDisclosure<SaltCheck>>(text).ok());
    let Some(RawDisclosure(SaltCheck, second, third)) = fast else {
        let d = decode_disclosure(encoded)?;
        return Ok(Claimed {
            name: d.name,
            value: d.value,
        });
    };
    match third {
        None => Ok(Claimed {
            name: None,
            value: second,
        }),
        Some(value) => match second {
            Value::String(name) if name == "_sd" || name == "..." => {
                Err(DisclosureError::ReservedName { name })
            }
            Value::String(name) => Ok(Claimed {
                name: Some(name),
                value,
            }),
            _ => Err(DisclosureError::Malformed {
                reason: "claim name is not a string",
            }),
        },
    }
}

fn ellipsis_digest(v: &Value) -> Option<Result<&str, DisclosureError>> {
    let o = v.as_object()?;
    let d = o.get("...")?;
    if o.len() != 1 {
        return Some(Err(DisclosureError::Malformed {
            reason: "an array digest object has members besides \"...\"",
        }));
    }
    Some(d.as_str().ok_or(DisclosureError::Malformed {
        reason: "\"...\" is not a string",
    }))
}

/// Chooses the disclosures to present from an issued SD-JWT, by `selection`.
///
/// A disclosure nested inside another is presented only if its parent is.
pub fn select<'s>(
    sd_jwt: &'s SdJwt<'_>,
    selection: &Selection,
) -> Result<Vec<&'s str>, PresentError> {
    let payload = sd_jwt.unverified_payload().map_err(PresentError::Format)?;
    let mut by_digest = HashMap::with_capacity(sd_jwt.disclosures.len());
    for d in &sd_jwt.disclosures {
        let decoded = decode_disclosure(d).map_err(PresentError::Disclosure)?;
        by_digest.insert(disclosure_digest(d), (d.as_ref(), decoded));
    }
    let mut chosen = Vec::new();
    walk_select(
        &Value::Object(payload),
        selection,
        &by_digest,
        &mut chosen,
        0,
    )?;
    Ok(chosen)
}

type DigestTable<'s> = HashMap<String, (&'s str, Disclosure)>;

fn walk_select<'s>(
    value: &Value,
    sel: &Selection,
    table: &DigestTable<'s>,
    chosen: &mut Vec<&'s str>,
    depth: usize,
) -> Result<(), PresentError> {
    if depth > MAX_DEPTH {
        return Err(PresentError::Disclosure(DisclosureError::TooDeep {
            max: MAX_DEPTH,
        }));
    }
    match value {
        Value::Object(o) => {
            if let Some(Value::Array(digests)) = o.get("_sd") {
                for d in digests {
                    let Some((enc, disc)) = d.as_str().and_then(|d| table.get(d)) else {
                        continue; // a decoy, or a disclosure the holder does not have
                    };
                    let name = disc.name.as_deref().unwrap_or_default();
                    let sub = sel.member(name);
                    if sub.discloses() {
                        chosen.push(enc);
                        walk_select(&disc.value, sub, table, chosen, depth + 1)?;
                    }
                }
            }
            for (k, v) in o {
                if k != "_sd" {
                    walk_select(v, sel.member(k), table, chosen, depth + 1)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let sub = sel.element(i);
                match ellipsis_digest(item) {
                    Some(digest) => {
                        let digest = digest.map_err(PresentError::Disclosure)?;
                        if let Some((enc, disc)) = table.get(digest) {
                            if sub.discloses() {
                                chosen.push(enc);
                                walk_select(&disc.value, sub, table, chosen, depth + 1)?;
                            }
                        }
                    }
                    None => walk_select(item, sub, table, chosen, depth + 1)?,
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// What a KB-JWT proves: the holder, this audience, this nonce, at this time.
#[derive(Debug, Clone, Copy)]
pub struct KeyBindingParams<'a> {
    /// The verifier the presentation is for.
    pub aud: &'a str,
    /// The verifier's nonce.
    pub nonce: &'a str,
    /// Presentation time, seconds since the epoch.
    pub iat: i64,
}

/// Builds a presentation: the chosen disclosures and, if `kb` is given, a KB-JWT signed
/// with the holder's key. The result is in the same serialization as `issued`.
pub fn present(
    issued: &str,
    selection: &Selection,
    kb: Option<(&Es256Signer, KeyBindingParams<'_>)>,
) -> Result<String, PresentError> {
    let sd_jwt = SdJwt::parse(issued).map_err(PresentError::Format)?;
    if sd_jwt.kb_jwt.is_some() {
        return Err(PresentError::AlreadyBound);
    }
    let chosen: Vec<Cow<'_, str>> = select(&sd_jwt, selection)?
        .into_iter()
        .map(|s| Cow::Owned(s.to_owned()))
        .collect();
    let mut presentation = SdJwt {
        disclosures: chosen,
        kb_jwt: None,
        ..sd_jwt.clone()
    };
    if let Some((holder, params)) = kb {
        let kb_jwt = key_binding_jwt(&presentation.sd_hash_input(), holder, params)?;
        presentation.kb_jwt = Some(Cow::Owned(kb_jwt));
    }
    Ok(match presentation.serialization {
        Serialization::Compact => presentation.to_compact(),
        Serialization::JsonFlattened => presentation.to_json_flattened().to_string(),
        Serialization::JsonGeneral => presentation.to_json_general().to_string(),
    })
}

/// Signs a KB-JWT over `sd_hash_input` (`<jwt>~<d1>~…~`).
pub fn key_binding_jwt(
    sd_hash_input: &str,
    holder: &Es256Signer,
    params: KeyBindingParams<'_>,
) -> Result<String, PresentError> {
    let header = serde_json::json!({ "alg": jose::ES256, "typ": KB_JWT_TYP });
    let payload = serde_json::json!({
        "iat": params.iat,
        "aud": params.aud,
        "nonce": params.nonce,
        "sd_hash": disclosure_digest(sd_hash_input),
    });
    jose::sign_compact(
        header.to_string().as_bytes(),
        payload.to_string().as_bytes(),
        holder,
    )
    .map_err(PresentError::Key)
}

/// Why a presentation could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PresentError {
    /// The issued SD-JWT is malformed.
    #[error("the licence is malformed")]
    Format(#[source] FormatError),
    /// A disclosure of the issued SD-JWT is malformed.
    #[error("a disclosure is malformed")]
    Disclosure(#[source] DisclosureError),
    /// The input already carries a KB-JWT.
    #[error("the input is already a presentation with key binding; start from the issued licence")]
    AlreadyBound,
    /// Signing the KB-JWT failed.
    #[error("signing the key-binding JWT failed")]
    Key(#[source] jose::KeyError),
}

/// Replaces digests by the disclosed claims (RFC 9901 §7.1 steps 3–5).
///
/// Strict: every disclosure must be referenced exactly once; a digest may appear only
/// once; a disclosed name may not collide with a visible one; `_sd_alg` must be
/// `sha-256`. Returns the processed claims without `_sd` and `_sd_alg`.
pub fn process_disclosures(
    mut payload: Map<String, Value>,
    disclosures: &[Cow<'_, str>],
) -> Result<Map<String, Value>, DisclosureError> {
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(a)) if a == SD_ALG => {}
        Some(other) => {
            return Err(DisclosureError::UnsupportedDigestAlgorithm {
                alg: other.to_string(),
            })
        }
    }
    // Sorted by digest, looked up by binary search: cheaper than hashing for the few
    // dozen disclosures a licence has, and bounded by MAX_DISCLOSURES.
    let mut buf = Vec::with_capacity(256);
    let mut table: Vec<([u8; 32], usize, Option<Claimed>)> = disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Ok((
                jose::sha256(d.as_bytes()),
                i,
                Some(decode_claimed(d, &mut buf)?),
            ))
        })
        .collect::<Result<_, DisclosureError>>()?;
    table.sort_unstable_by_key(|e| e.0);
    if let Some(w) = table.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(DisclosureError::Duplicate {
            index: w[0].1.max(w[1].1),
        });
    }
    let mut p = Processor {
        table,
        seen: Vec::new(),
    };
    let mut root = Value::Object(payload);
    p.value(&mut root, 0)?;
    // Every digest may appear once in the payload, counting those inside disclosures.
    p.seen.sort_unstable();
    if let Some(w) = p.seen.windows(2).find(|w| w[0] == w[1]) {
        return Err(DisclosureError::DuplicateDigest {
            digest: b64u_encode(w[0]),
        });
    }
    if let Some(index) = p
        .table
        .iter()
        .filter(|(_, _, d)| d.is_some())
        .map(|(_, i, _)| *i)
        .min()
    {
        return Err(DisclosureError::Unreferenced { index });
    }
    match root {
        Value::Object(o) => Ok(o),
        _ => Err(DisclosureError::Malformed {
            reason: "payload is not an object",
        }),
    }
}

struct Processor {
    table: Vec<([u8; 32], usize, Option<Claimed>)>,
    seen: Vec<[u8; 32]>,
}

fn digest_bytes(digest: &str) -> Result<[u8; 32], DisclosureError> {
    let mut out = [0u8; 32];
    match base64::Engine::decode_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        digest,
        &mut out,
    ) {
        Ok(32) if digest.len() == 43 => Ok(out),
        _ => Err(DisclosureError::Malformed {
            reason: "a digest is not a base64url SHA-256 value",
        }),
    }
}

impl Processor {
    fn take(&mut self, digest: &str) -> Result<Option<Claimed>, DisclosureError> {
        let key = digest_bytes(digest)?;
        if self.seen.len() >= MAX_DIGESTS {
            return Err(DisclosureError::TooManyDigests { max: MAX_DIGESTS });
        }
        self.seen.push(key);
        // A repeated digest finds its disclosure already taken; the repeat is reported
        // once every digest has been seen.
        Ok(self
            .table
            .binary_search_by(|e| e.0.cmp(&key))
            .ok()
            .and_then(|i| self.table[i].2.take()))
    }

    fn value(&mut self, v: &mut Value, depth: usize) -> Result<(), DisclosureError> {
        if depth > MAX_DEPTH {
            return Err(DisclosureError::TooDeep { max: MAX_DEPTH });
        }
        match v {
            Value::Object(o) => self.object(o, depth),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for mut item in std::mem::take(items) {
                    let digest = match ellipsis_digest(&item) {
                        Some(d) => Some(d?.to_owned()),
                        None => None,
                    };
                    match digest {
                        Some(d) => {
                            if let Some(disc) = self.take(&d)? {
                                if disc.name.is_some() {
                                    return Err(DisclosureError::WrongKind {
                                        expected: "array element",
                                    });
                                }
                                let mut value = disc.value;
                                self.value(&mut value, depth + 1)?;
                                out.push(value);
                            }
                        }
                        None => {
                            self.value(&mut item, depth + 1)?;
                            out.push(item);
                        }
                    }
                }
                *items = out;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn object(&mut self, o: &mut Map<String, Value>, depth: usize) -> Result<(), DisclosureError> {
        let sd = o.remove("_sd");
        for (_, v) in o.iter_mut() {
            self.value(v, depth + 1)?;
        }
        let Some(sd) = sd else { return Ok(()) };
        let Value::Array(digests) = sd else {
            return Err(DisclosureError::Malformed {
                reason: "_sd is not an array",
            });
        };
        for d in digests {
            let Value::String(d) = d else {
                return Err(DisclosureError::Malformed {
                    reason: "_sd holds a non-string",
                });
            };
            let Some(disc) = self.take(&d)? else { continue };
            let Some(name) = disc.name else {
                return Err(DisclosureError::WrongKind {
                    expected: "object member",
                });
            };
            if o.contains_key(&name) {
                return Err(DisclosureError::NameConflict { name });
            }
            let mut value = disc.value;
            self.value(&mut value, depth + 1)?;
            o.insert(name, value);
        }
        Ok(())
    }
}

/// A disclosure that does not match the signed payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisclosureError {
    /// Not a well-formed disclosure.
    #[error("malformed disclosure: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// `_sd` and `...` cannot be disclosed names.
    #[error("a disclosure uses the reserved claim name {name:?}")]
    ReservedName {
        /// The name.
        name: String,
    },
    /// The same disclosure presented twice.
    #[error("disclosure #{index} is presented twice")]
    Duplicate {
        /// Position of the repeat (0-based).
        index: usize,
    },
    /// The same digest appears twice in the payload.
    #[error("digest {digest} appears more than once in the signed payload")]
    DuplicateDigest {
        /// The digest.
        digest: String,
    },
    /// A disclosure whose digest is nowhere in the signed payload: altered or foreign.
    #[error("disclosure #{index} does not match any digest in the signed payload (altered, or from another licence)")]
    Unreferenced {
        /// Position in the presentation (0-based).
        index: usize,
    },
    /// A member disclosure in an array, or an element disclosure in an object.
    #[error("a disclosure is used where an {expected} disclosure belongs")]
    WrongKind {
        /// What was expected there.
        expected: &'static str,
    },
    /// A disclosed name that is already a visible claim.
    #[error("disclosed claim {name:?} collides with a claim of the same name")]
    NameConflict {
        /// The name.
        name: String,
    },
    /// `_sd_alg` other than `sha-256`.
    #[error("digest algorithm {alg} is not supported; only sha-256 is")]
    UnsupportedDigestAlgorithm {
        /// What was found.
        alg: String,
    },
    /// More digests than [`MAX_DIGESTS`].
    #[error("more than {max} digests in the payload")]
    TooManyDigests {
        /// The limit.
        max: usize,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("claims nest deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
}

/// What a verifier expects of a KB-JWT.
#[derive(Debug, Clone, Copy)]
pub struct KeyBindingCheck<'a> {
    /// Expected `aud`, if the verifier checks it.
    pub aud: Option<&'a str>,
    /// Expected `nonce`, if the verifier checks it.
    pub nonce: Option<&'a str>,
    /// Verification time, seconds since the epoch.
    pub at: i64,
    /// Allowed clock skew, seconds.
    pub skew: i64,
    /// Oldest acceptable KB-JWT, seconds before `at`.
    pub max_age: i64,
}

#[derive(serde::Deserialize)]
struct KbPayload {
    iat: i64,
    aud: String,
    nonce: String,
    sd_hash: String,
}

/// Verifies a KB-JWT: `typ`, signature by the holder key, `sd_hash`, `aud`, `nonce`, `iat`.
pub fn verify_key_binding(
    kb_jwt: &str,
    holder: &Es256PublicKey,
    sd_hash_input: &str,
    check: &KeyBindingCheck<'_>,
) -> Result<(), KeyBindingError> {
    let jws = UnverifiedJws::parse(kb_jwt).map_err(KeyBindingError::Jws)?;
    let header = jws.header();
    if header.typ.as_deref() != Some(KB_JWT_TYP) {
        return Err(KeyBindingError::Type {
            typ: header.typ.clone(),
        });
    }
    let verified = jws.verify(holder).map_err(KeyBindingError::Jws)?;
    let p: KbPayload =
        serde_json::from_slice(verified.payload()).map_err(KeyBindingError::Claims)?;
    let expected = disclosure_digest(sd_hash_input);
    if !constant_time_eq(p.sd_hash.as_bytes(), expected.as_bytes()) {
        return Err(KeyBindingError::SdHash);
    }
    if let Some(aud) = check.aud {
        if p.aud != aud {
            return Err(KeyBindingError::Audience {
                expected: aud.to_owned(),
                found: p.aud,
            });
        }
    }
    if let Some(nonce) = check.nonce {
        if !constant_time_eq(p.nonce.as_bytes(), nonce.as_bytes()) {
            return Err(KeyBindingError::Nonce);
        }
    }
    if p.iat > check.at.saturating_add(check.skew) {
        return Err(KeyBindingError::InFuture {
            iat: p.iat,
            at: check.at,
        });
    }
    if p.iat < check.at.saturating_sub(check.max_age) {
        return Err(KeyBindingError::TooOld {
            iat: p.iat,
            at: check.at,
            max_age: check.max_age,
        });
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}

/// A KB-JWT that does not bind this presentation to the holder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyBindingError {
    /// The licence has a holder key but the presentation has no KB-JWT.
    #[error("the licence is bound to a holder key but the presentation has no key-binding JWT")]
    Missing,
    /// The verifier requires key binding but the licence names no holder key (`cnf`).
    #[error("key binding is required but the licence names no holder key (cnf), so it cannot be presented with key binding")]
    NotBindable,
    /// A KB-JWT without a holder key in the licence (`cnf`).
    #[error("a key-binding JWT was presented but the licence names no holder key (cnf)")]
    NoHolderKey,
    /// The holder key in `cnf` is unusable.
    #[error("the holder key in cnf is not a usable P-256 JWK")]
    HolderKey(#[source] jose::KeyError),
    /// The KB-JWT is malformed or its signature fails.
    #[error("the key-binding JWT is invalid")]
    Jws(#[source] jose::JwsError),
    /// `typ` is not `kb+jwt`.
    #[error("the key-binding JWT has typ {typ:?}, expected \"kb+jwt\"")]
    Type {
        /// What was found.
        typ: Option<String>,
    },
    /// Missing or mistyped claims.
    #[error("the key-binding JWT lacks iat, aud, nonce or sd_hash")]
    Claims(#[source] serde_json::Error),
    /// `sd_hash` does not match the presentation.
    #[error(
        "sd_hash does not match this presentation (disclosures added or removed after signing)"
    )]
    SdHash,
    /// Wrong audience.
    #[error("key binding is for audience {found:?}, expected {expected:?}")]
    Audience {
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// Wrong nonce.
    #[error("key-binding nonce does not match the one this verifier issued")]
    Nonce,
    /// Issued in the future.
    #[error("key-binding JWT issued at {iat}, after the verification time {at}")]
    InFuture {
        /// KB-JWT iat.
        iat: i64,
        /// Verification time.
        at: i64,
    },
    /// Too old.
    #[error("key-binding JWT issued at {iat} is older than {max_age}s at {at}")]
    TooOld {
        /// KB-JWT iat.
        iat: i64,
        /// Verification time.
        at: i64,
        /// The limit.
        max_age: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn signer() -> Es256Signer {
        Es256Signer::generate().unwrap().0
    }

    fn header() -> Map<String, Value> {
        json!({"alg": "ES256", "typ": "example+sd-jwt"})
            .as_object()
            .unwrap()
            .clone()
    }

    fn verify_all(text: &str, key: &Es256PublicKey) -> Result<Map<String, Value>, String> {
        let sd = SdJwt::parse(text).map_err(|e| format!("{e:?}"))?;
        let mut payload = None;
        for jws in sd.issuer_jws().map_err(|e| format!("{e:?}"))? {
            let verified = jws.verify(key).map_err(|e| format!("{e:?}"))?;
            payload.get_or_insert(
                serde_json::from_slice(verified.payload()).map_err(|e| format!("{e:?}"))?,
            );
        }
        let payload = payload.ok_or("no signature")?;
        process_disclosures(payload, &sd.disclosures).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn issue_select_verify() {
        let s = signer();
        let h = header();
        let members = vec![
            Member::plain("iss", "https://issuer.example"),
            Member::disclosable("name", "张三"),
            Member::disclosable("code", "11010519491231002X"),
        ];
        let issued = issue(&[(&h, &s)], &members).unwrap().compact();
        let all = verify_all(&issued, &s.public_key()).unwrap();
        assert_eq!(all["name"], "张三");
        let p = present(&issued, &Selection::top_level(["name"]), None).unwrap();
        let some = verify_all(&p, &s.public_key()).unwrap();
        assert_eq!(some["name"], "张三");
        assert!(!some.contains_key("code"));
        assert!(!some.contains_key("_sd"));
    }

    #[test]
    fn processing_is_strict() {
        let s = signer();
        let h = header();
        let members = vec![Member::disclosable("a", 1), Member::disclosable("b", 2)];
        let issued = issue(&[(&h, &s)], &members).unwrap();
        let compact = issued.compact();
        let key = s.public_key();
        // Duplicate disclosure.
        let dup = format!("{compact}{}~", issued.disclosures[0]);
        assert!(verify_all(&dup, &key).unwrap_err().contains("Duplicate"));
        // Foreign disclosure.
        let other = issue(&[(&h, &s)], &members).unwrap();
        let foreign = format!("{compact}{}~", other.disclosures[0]);
        assert!(verify_all(&foreign, &key)
            .unwrap_err()
            .contains("Unreferenced"));
        // Altered disclosure.
        let altered_d = b64u_encode(br#"["c2FsdA","a",2]"#);
        let altered = compact.replacen(&issued.disclosures[0], &altered_d, 1);
        assert!(verify_all(&altered, &key)
            .unwrap_err()
            .contains("Unreferenced"));
        // Empty disclosure.
        let empty = format!("{compact}~");
        assert!(verify_all(&empty, &key)
            .unwrap_err()
            .contains("EmptyDisclosure"));
    }

    #[test]
    fn name_conflict_and_wrong_kind() {
        let s = signer();
        let h = header();
        // Build by hand: payload with visible "a" and a digest disclosing "a" again.
        let d = b64u_encode(br#"["c2FsdHNhbHRzYWx0","a",2]"#);
        let payload = json!({"a": 1, "_sd": [disclosure_digest(&d)]});
        let jwt = jose::sign_compact(
            serde_json::to_vec(&h).unwrap().as_slice(),
            payload.to_string().as_bytes(),
            &s,
        )
        .unwrap();
        let text = format!("{jwt}~{d}~");
        assert!(verify_all(&text, &s.public_key())
            .unwrap_err()
            .contains("NameConflict"));
        // Element disclosure referenced from _sd.
        let e = b64u_encode(br#"["c2FsdHNhbHRzYWx0",2]"#);
        let payload = json!({"_sd": [disclosure_digest(&e)]});
        let jwt = jose::sign_compact(
            serde_json::to_vec(&h).unwrap().as_slice(),
            payload.to_string().as_bytes(),
            &s,
        )
        .unwrap();
        let text = format!("{jwt}~{e}~");
        assert!(verify_all(&text, &s.public_key())
            .unwrap_err()
            .contains("WrongKind"));
        // The same digest twice.
        let payload = json!({"_sd": [disclosure_digest(&d), disclosure_digest(&d)]});
        let jwt = jose::sign_compact(
            serde_json::to_vec(&h).unwrap().as_slice(),
            payload.to_string().as_bytes(),
            &s,
        )
        .unwrap();
        let text = format!("{jwt}~");
        assert!(verify_all(&text, &s.public_key())
            .unwrap_err()
            .contains("DuplicateDigest"));
    }

    #[test]
    fn key_binding_round_trip_and_failures() {
        let s = signer();
        let holder = signer();
        let h = header();
        let issued = issue(&[(&h, &s)], &[Member::disclosable("a", 1)])
            .unwrap()
            .compact();
        let params = KeyBindingParams {
            aud: "https://verifier.example",
            nonce: "n-123",
            iat: 1_700_000_000,
        };
        let p = present(&issued, &Selection::All, Some((&holder, params))).unwrap();
        let sd = SdJwt::parse(&p).unwrap();
        let check = KeyBindingCheck {
            aud: Some("https://verifier.example"),
            nonce: Some("n-123"),
            at: 1_700_000_010,
            skew: 60,
            max_age: 300,
        };
        let kb = sd.kb_jwt.as_deref().unwrap();
        let input = sd.sd_hash_input();
        verify_key_binding(kb, &holder.public_key(), &input, &check).unwrap();
        let wrong_aud = KeyBindingCheck {
            aud: Some("other"),
            ..check
        };
        assert!(matches!(
            verify_key_binding(kb, &holder.public_key(), &input, &wrong_aud),
            Err(KeyBindingError::Audience { .. })
        ));
        let wrong_nonce = KeyBindingCheck {
            nonce: Some("n-124"),
            ..check
        };
        assert!(matches!(
            verify_key_binding(kb, &holder.public_key(), &input, &wrong_nonce),
            Err(KeyBindingError::Nonce)
        ));
        let late = KeyBindingCheck {
            at: 1_700_001_000,
            ..check
        };
        assert!(matches!(
            verify_key_binding(kb, &holder.public_key(), &input, &late),
            Err(KeyBindingError::TooOld { .. })
        ));
        // Dropping a disclosure after binding breaks sd_hash.
        let dropped = SdJwt {
            disclosures: vec![],
            ..sd.clone()
        };
        assert!(matches!(
            verify_key_binding(kb, &holder.public_key(), &dropped.sd_hash_input(), &check),
            Err(KeyBindingError::SdHash)
        ));
        assert!(matches!(
            verify_key_binding(kb, &s.public_key(), &input, &check),
            Err(KeyBindingError::Jws(_))
        ));
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z一-鿿]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// sign → verify: every disclosable member comes back intact when all are disclosed,
        /// and none when nothing is.
        #[test]
        fn sign_verify_round_trip(values in prop::collection::btree_map("[a-z]{1,6}", (arb_value(), any::<bool>()), 0..6)) {
            let s = signer();
            let h = header();
            let members: Vec<Member> = values.iter().map(|(k, (v, sd))| Member {
                name: k.clone(), value: Claim::Value(v.clone()), disclosable: *sd,
            }).collect();
            let issued = issue(&[(&h, &s)], &members).unwrap().compact();
            let claims = verify_all(&issued, &s.public_key()).unwrap();
            for (k, (v, _)) in &values {
                prop_assert_eq!(&claims[k], v);
            }
            let none = present(&issued, &Selection::Nothing, None).unwrap();
            let claims = verify_all(&none, &s.public_key()).unwrap();
            for (k, (v, sd)) in &values {
                if *sd { prop_assert!(!claims.contains_key(k)); } else { prop_assert_eq!(&claims[k], v); }
            }
        }

        /// encode → decode of one disclosure.
        #[test]
        fn disclosure_round_trip(name in "[a-z_]{1,8}", v in arb_value()) {
            let json = serde_json::to_vec(&json!(["c2FsdA", name, v])).unwrap();
            let d = decode_disclosure(&b64u_encode(json)).unwrap();
            prop_assert_eq!(d.name.as_deref(), Some(name.as_str()));
            prop_assert_eq!(d.value, v);
        }

        /// Arbitrary text never panics the parser or processor.
        #[test]
        fn parse_never_panics(text in "[A-Za-z0-9_~.{}\\[\\]\":-]{0,200}") {
            if let Ok(sd) = SdJwt::parse(&text) {
                if let Ok(p) = sd.unverified_payload() {
                    let _ = process_disclosures(p, &sd.disclosures);
                }
            }
        }
    }
}
