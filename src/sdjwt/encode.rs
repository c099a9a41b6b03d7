//! Issuance: claim trees with disclosable parts, salts, the encoder and the signed SD-JWT (RFC 9901 §4).

use super::*;

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
