//! Parsing and serializing SD-JWTs, compact and JSON (RFC 9901 §4, §8).

use super::*;

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
