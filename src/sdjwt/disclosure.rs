//! Disclosures: their digest, strict decoding and the errors of disclosure processing (RFC 9901 §4.2).

use super::*;

/// The base64url SHA-256 digest of a disclosure string, as it appears in `_sd`.
pub fn disclosure_digest(encoded: &str) -> String {
    b64u_encode(jose::sha256(encoded.as_bytes()))
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
pub(super) struct Claimed {
    pub(super) name: Option<String>,
    pub(super) value: Value,
}

/// [`decode_disclosure`] for the hot path: base64 into a reused buffer, one UTF-8 check,
/// the salt checked but not copied. On failure, the strict decoder names the reason.
pub(super) fn decode_claimed(encoded: &str, buf: &mut Vec<u8>) -> Result<Claimed, DisclosureError> {
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

pub(super) fn ellipsis_digest(v: &Value) -> Option<Result<&str, DisclosureError>> {
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
