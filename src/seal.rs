//! The compact paper seal: a licence as COSE_Sign1 (RFC 9052) over CWT claims (RFC 8392),
//! compressed with zlib and written in Base45 (RFC 9285) behind the prefix `EL1:`, so that
//! it fits a QR code in alphanumeric mode. `docs/seal.md` fixes the format.
//!
//! Pure format code: bytes in, typed values out; no I/O, no clock. [`decode`] caps every
//! size before decoding the next layer, checks that each layer is in its one canonical
//! form with nothing after it, and returns an [`UnverifiedSeal`]; only the verify pipeline
//! decides whether one is genuine.

use crate::jose::{Es256PublicKey, Es256Signer, KeyError, SignatureError, ES256_SIGNATURE_LEN};
use crate::licence::identifier::{IdentifierError, LicenceId};
use crate::licence::{Licence, LicenceType};
use crate::status_list::{StatusListError, StatusReference};
use crate::zlib::{self, InflateError};
use coset::cbor::value::{Integer, Value};
use coset::{iana, AsCborValue as _, TaggedCborSerializable as _};

/// The text prefix; its `1` is the seal format version.
pub const PREFIX: &str = "EL1:";
/// Longest seal text accepted (prefix included), in bytes.
pub const MAX_TEXT_LEN: usize = 4096;
/// Largest zlib stream accepted (after Base45 decoding).
pub const MAX_COMPRESSED_LEN: usize = 3000;
/// Largest COSE_Sign1 accepted (after inflating): the decompression-bomb guard.
pub const MAX_COSE_LEN: usize = 8192;
/// Length of a key id: the first 8 bytes of SHA-256 over the issuer certificate.
pub const KID_LEN: usize = 8;

/// CBOR tag of a COSE_Sign1.
const COSE_SIGN1_TAG: u64 = 18;
/// COSE header labels.
const HEADER_ALG: i128 = 1;
const HEADER_CRIT: i128 = 2;
const HEADER_KID: i128 = 4;
/// COSE algorithm ES256.
const ALG_ES256: i128 = -7;
/// CWT claim keys.
const CLAIM_ISS: i128 = 1;
const CLAIM_EXP: i128 = 4;
const CLAIM_NBF: i128 = 5;
const CLAIM_IAT: i128 = 6;
const CLAIM_STATUS: i128 = 65535;
const CLAIM_LICENCE: i128 = -65537;

/// What a seal says: the licence's face, identifier, validity and status reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealClaims {
    /// The issuer URI (`iss`), as in the SD-JWT VC.
    pub iss: String,
    /// Signing time, seconds since the epoch.
    pub iat: i64,
    /// Start of validity.
    pub nbf: i64,
    /// End of validity (exclusive); `None` for a permanent licence.
    pub exp: Option<i64>,
    /// Where the licence's status is published.
    pub status: Option<StatusReference>,
    /// The identifier.
    pub licence_id: LicenceId,
    /// The type (from the identifier's type code).
    pub licence_type: LicenceType,
    /// Holder name.
    pub holder_name: String,
    /// Holder code (USCC or resident ID), as text.
    pub holder_id: String,
    /// Face field values in the order of [`LicenceType::seal_fields`]; `None` for an absent
    /// optional field.
    pub fields: Vec<Option<String>>,
}

impl SealClaims {
    /// The claims of `licence`, issued by `iss` at `iat` with `status`.
    pub fn from_licence(
        licence: &Licence,
        iss: &str,
        iat: i64,
        status: Option<&StatusReference>,
    ) -> Self {
        let fields = licence
            .licence_type
            .seal_fields()
            .iter()
            .map(|spec| {
                licence
                    .fields
                    .iter()
                    .find(|(s, _)| s.key == spec.key)
                    .map(|(_, v)| v.clone())
            })
            .collect();
        Self {
            iss: iss.to_owned(),
            iat,
            nbf: licence.not_before,
            exp: licence.not_after,
            status: status.cloned(),
            licence_id: licence.id.clone(),
            licence_type: licence.licence_type,
            holder_name: licence.holder_name.clone(),
            holder_id: licence.holder_id.as_str().to_owned(),
            fields,
        }
    }

    /// The face fields with their specs, present ones only, in printing order.
    pub fn present_fields(
        &self,
    ) -> impl Iterator<Item = (&'static crate::licence::FieldSpec, &str)> {
        self.licence_type
            .seal_fields()
            .iter()
            .zip(&self.fields)
            .filter_map(|(spec, v)| Some((spec, v.as_deref()?)))
    }

    /// The CWT claims map, keys in core deterministic order.
    fn to_cbor(&self) -> Result<Value, EncodeError> {
        let time = |t: i64, claim: &'static str| {
            u64::try_from(t)
                .map(|t| Value::Integer(t.into()))
                .map_err(|_| EncodeError::NegativeTime { claim, value: t })
        };
        let expected = self.licence_type.seal_fields().len();
        if self.fields.len() != expected {
            return Err(EncodeError::FieldCount {
                found: self.fields.len(),
                expected,
            });
        }
        if self.licence_id.type_code() != self.licence_type.code() {
            return Err(EncodeError::TypeMismatch {
                type_code: self.licence_id.type_code().to_owned(),
                licence_type: self.licence_type.slug(),
            });
        }
        let mut map = vec![(int(CLAIM_ISS), Value::Text(self.iss.clone()))];
        if let Some(exp) = self.exp {
            map.push((int(CLAIM_EXP), time(exp, "exp")?));
        }
        map.push((int(CLAIM_NBF), time(self.nbf, "nbf")?));
        map.push((int(CLAIM_IAT), time(self.iat, "iat")?));
        if let Some(s) = &self.status {
            map.push((
                int(CLAIM_STATUS),
                Value::Map(vec![(
                    Value::Text("status_list".into()),
                    Value::Map(vec![
                        (Value::Text("idx".into()), Value::Integer(s.idx().into())),
                        (Value::Text("uri".into()), Value::Text(s.uri().to_owned())),
                    ]),
                )]),
            ));
        }
        let fields = self
            .fields
            .iter()
            .map(|f| f.clone().map_or(Value::Null, Value::Text))
            .collect();
        map.push((
            int(CLAIM_LICENCE),
            Value::Array(vec![
                Value::Text(self.licence_id.to_string()),
                Value::Text(self.holder_name.clone()),
                Value::Text(self.holder_id.clone()),
                Value::Array(fields),
            ]),
        ));
        Ok(Value::Map(map))
    }
}

fn int(i: i128) -> Value {
    // Every claim key and header label used here fits a CBOR integer.
    Value::Integer(Integer::try_from(i).unwrap_or(Integer::from(0u8)))
}

/// Signs `claims` as a seal under the certificate with key id `kid`, with `signer` (the
/// certificate's key). Refuses a seal that [`decode`] would not accept.
pub fn encode(
    claims: &SealClaims,
    kid: [u8; KID_LEN],
    signer: &Es256Signer,
) -> Result<String, EncodeError> {
    let mut payload = Vec::new();
    coset::cbor::ser::into_writer(&claims.to_cbor()?, &mut payload)
        .map_err(|e| EncodeError::Cbor(CborWriteError(e.to_string())))?;
    let protected = coset::HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(kid.to_vec())
        .build();
    let sign1 = coset::CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(b"", |tbs| signer.sign(tbs).map(|s| s.to_vec()))
        .map_err(EncodeError::Sign)?
        .build();
    let cose = sign1
        .to_tagged_vec()
        .map_err(|e| EncodeError::Cbor(CborWriteError(e.to_string())))?;
    if cose.len() > MAX_COSE_LEN {
        return Err(EncodeError::TooLarge {
            layer: "COSE_Sign1",
            size: cose.len(),
            max: MAX_COSE_LEN,
        });
    }
    let compressed = deflate(&cose)?;
    if compressed.len() > MAX_COMPRESSED_LEN {
        return Err(EncodeError::TooLarge {
            layer: "compressed seal",
            size: compressed.len(),
            max: MAX_COMPRESSED_LEN,
        });
    }
    let text = format!("{PREFIX}{}", base45::encode(&compressed));
    if text.len() > MAX_TEXT_LEN {
        return Err(EncodeError::TooLarge {
            layer: "seal text",
            size: text.len(),
            max: MAX_TEXT_LEN,
        });
    }
    Ok(text)
}

/// A seal that parsed strictly, not yet verified: its key id, claims, and what was signed.
#[derive(Debug, Clone)]
pub struct UnverifiedSeal {
    kid: [u8; KID_LEN],
    claims: SealClaims,
    tbs: Vec<u8>,
    signature: [u8; ES256_SIGNATURE_LEN],
}

impl UnverifiedSeal {
    /// The key id of the certificate that claims to have signed it (a hint only).
    pub fn kid(&self) -> [u8; KID_LEN] {
        self.kid
    }

    /// What it says (not yet trusted).
    pub fn claims(&self) -> &SealClaims {
        &self.claims
    }

    /// The claims, moved out.
    pub fn into_claims(self) -> SealClaims {
        self.claims
    }

    /// The COSE Sig_structure `["Signature1", protected, h'', payload]` that was signed.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.tbs
    }

    /// Checks the ES256 signature with `key`.
    pub fn verify_signature(&self, key: &Es256PublicKey) -> Result<(), SignatureError> {
        key.verify(&self.tbs, &self.signature)
    }
}

/// Decodes a seal text strictly: the prefix, canonical Base45, one zlib stream inflated
/// under [`MAX_COSE_LEN`], one canonical COSE_Sign1 (ES256, an 8-byte kid, nothing else in
/// its headers), and the CWT claims in deterministic order with no unknown key.
pub fn decode(text: &str) -> Result<UnverifiedSeal, DecodeError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(DecodeError::TooLarge {
            layer: "seal text",
            size: text.len(),
            max: MAX_TEXT_LEN,
        });
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| DecodeError::Prefix {
            found: text.chars().take(PREFIX.len()).collect(),
        })?;
    // Base45: 3 characters per 2 bytes, so the size is known before decoding.
    let compressed_len = body.len() / 3 * 2 + usize::from(body.len() % 3 == 2);
    if compressed_len > MAX_COMPRESSED_LEN {
        return Err(DecodeError::TooLarge {
            layer: "compressed seal",
            size: compressed_len,
            max: MAX_COMPRESSED_LEN,
        });
    }
    let compressed = base45::decode(body).map_err(DecodeError::Base45)?;
    // Triples above 65535 are refused by the decoder; a final pair above 255 it truncates,
    // and that is the only other way for Base45 not to re-encode to itself.
    if let [.., a, b] = body.as_bytes() {
        let digit = |c: &u8| base45::alphabet::decode(*c).map(u32::from);
        if body.len() % 3 == 2 && digit(a).zip(digit(b)).is_none_or(|(a, b)| a + 45 * b > 255) {
            return Err(DecodeError::NotCanonical { layer: "Base45" });
        }
    }
    let cose = inflate(&compressed)?;
    let (kid, sign1) = envelope(&cose)?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or(DecodeError::DetachedPayload)?;
    let claims = parse_claims(payload)?;
    let signature: [u8; ES256_SIGNATURE_LEN] =
        sign1
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| DecodeError::SignatureLength {
                found: sign1.signature.len(),
            })?;
    Ok(UnverifiedSeal {
        kid,
        claims,
        // Over the protected header's bytes as received (coset keeps them).
        tbs: sign1.tbs_data(b""),
        signature,
    })
}

/// One zlib stream of `data`, at the best compression level.
fn deflate(data: &[u8]) -> Result<Vec<u8>, EncodeError> {
    zlib::deflate(data, zlib::BEST).map_err(EncodeError::Compress)
}

/// Inflates one zlib stream into at most `MAX_COSE_LEN` + 1 bytes (then it stops: the
/// decompression-bomb guard), and refuses a stream that ends early or has bytes after it.
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, DecodeError> {
    zlib::inflate(compressed, MAX_COSE_LEN).map_err(|e| match e {
        InflateError::TooLarge { max } => DecodeError::TooLarge {
            layer: "inflated seal",
            size: max + 1,
            max,
        },
        InflateError::Truncated => DecodeError::Truncated,
        InflateError::Trailing { bytes } => DecodeError::Trailing {
            layer: "zlib stream",
            bytes,
        },
        other => DecodeError::Inflate(other),
    })
}

/// One CBOR item that is all of `bytes` and in its canonical encoding (shortest heads,
/// definite lengths — what re-encoding it gives).
fn canonical_item(bytes: &[u8], layer: &'static str) -> Result<Value, DecodeError> {
    let mut rest = bytes;
    let value: Value = coset::cbor::de::from_reader(&mut rest)
        .map_err(|e| DecodeError::Cbor { layer, source: e })?;
    if !rest.is_empty() {
        return Err(DecodeError::Trailing {
            layer,
            bytes: rest.len(),
        });
    }
    let mut again = Vec::with_capacity(bytes.len());
    coset::cbor::ser::into_writer(&value, &mut again)
        .map_err(|_| DecodeError::NotCanonical { layer })?;
    if again != bytes {
        return Err(DecodeError::NotCanonical { layer });
    }
    Ok(value)
}

/// The COSE_Sign1, tagged or not, with its protected header checked: `(kid, sign1)`.
fn envelope(cose: &[u8]) -> Result<([u8; KID_LEN], coset::CoseSign1), DecodeError> {
    let value = canonical_item(cose, "COSE_Sign1")?;
    let inner = match value {
        Value::Tag(COSE_SIGN1_TAG, inner) => *inner,
        Value::Tag(tag, _) => return Err(DecodeError::Tag { tag }),
        other => other,
    };
    let sign1 =
        coset::CoseSign1::from_cbor_value(inner).map_err(|e| DecodeError::Cose(e.into()))?;
    let kid = protected_header(sign1.protected.original_data.as_deref().unwrap_or_default())?;
    if !sign1.unprotected.is_empty() {
        return Err(DecodeError::UnprotectedHeader);
    }
    Ok((kid, sign1))
}

/// The protected header, which must be exactly `{1: -7, 4: h'<8 bytes>'}`.
fn protected_header(bytes: &[u8]) -> Result<[u8; KID_LEN], DecodeError> {
    let Value::Map(entries) = canonical_item(bytes, "protected header")? else {
        return Err(DecodeError::Structure {
            part: "protected header",
            expected: "a map",
        });
    };
    let entries = int_keyed(entries, "protected header")?;
    let mut alg = None;
    let mut kid = None;
    for (label, value) in entries {
        match label {
            HEADER_ALG => alg = Some(value),
            HEADER_CRIT => return Err(DecodeError::Crit),
            HEADER_KID => kid = Some(value),
            other => return Err(DecodeError::UnknownHeader { label: other }),
        }
    }
    match alg {
        Some(Value::Integer(a)) if i128::from(a) == ALG_ES256 => {}
        Some(other) => {
            return Err(DecodeError::Algorithm {
                alg: describe(&other),
            })
        }
        None => return Err(DecodeError::MissingHeader { name: "alg" }),
    }
    match kid {
        Some(Value::Bytes(k)) => k
            .as_slice()
            .try_into()
            .map_err(|_| DecodeError::KidLength { found: k.len() }),
        Some(_) => Err(DecodeError::Structure {
            part: "kid",
            expected: "a byte string",
        }),
        None => Err(DecodeError::MissingHeader { name: "kid" }),
    }
}

/// Entries of a map with integer keys in core deterministic order (RFC 8949 §4.2.1:
/// unsigned keys ascending, then negative keys by magnitude); duplicates refused.
fn int_keyed(
    entries: Vec<(Value, Value)>,
    part: &'static str,
) -> Result<Vec<(i128, Value)>, DecodeError> {
    let order = |k: i128| if k >= 0 { (0u8, k) } else { (1u8, -1 - k) };
    let mut out: Vec<(i128, Value)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let Value::Integer(k) = k else {
            return Err(DecodeError::Structure {
                part,
                expected: "integer keys",
            });
        };
        let k = i128::from(k);
        if let Some((prev, _)) = out.last() {
            if order(*prev) >= order(k) {
                return Err(DecodeError::KeyOrder { part, key: k });
            }
        }
        out.push((k, v));
    }
    Ok(out)
}

/// Entries of a map with exactly the text keys `names`, in that (deterministic) order.
fn text_keyed<const N: usize>(
    value: Value,
    names: [&'static str; N],
    part: &'static str,
) -> Result<[Value; N], DecodeError> {
    let shape = DecodeError::Structure {
        part,
        expected: "a map with exactly the keys of the seal format",
    };
    let Value::Map(entries) = value else {
        return Err(shape);
    };
    if entries.len() != N {
        return Err(shape);
    }
    let mut values = entries.into_iter();
    let mut out: [Value; N] = std::array::from_fn(|_| Value::Null);
    for (slot, name) in out.iter_mut().zip(names) {
        match values.next() {
            Some((Value::Text(k), v)) if k == name => *slot = v,
            _ => {
                return Err(DecodeError::Structure {
                    part,
                    expected: "a map with exactly the keys of the seal format",
                })
            }
        }
    }
    Ok(out)
}

fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Text(t) => format!("{t:?}"),
        _ => "a non-integer".into(),
    }
}

fn text(v: Value, claim: &'static str) -> Result<String, DecodeError> {
    match v {
        Value::Text(t) => Ok(t),
        _ => Err(DecodeError::ClaimType {
            claim,
            expected: "text",
        }),
    }
}

fn time(v: Value, claim: &'static str) -> Result<i64, DecodeError> {
    match v {
        Value::Integer(i) => {
            i64::try_from(i128::from(i))
                .ok()
                .filter(|t| *t >= 0)
                .ok_or(DecodeError::ClaimType {
                    claim,
                    expected: "an unsigned integer of at most 63 bits",
                })
        }
        _ => Err(DecodeError::ClaimType {
            claim,
            expected: "an unsigned integer",
        }),
    }
}

fn parse_claims(payload: &[u8]) -> Result<SealClaims, DecodeError> {
    let Value::Map(entries) = canonical_item(payload, "CWT claims")? else {
        return Err(DecodeError::Structure {
            part: "CWT claims",
            expected: "a map",
        });
    };
    let (mut iss, mut exp, mut nbf, mut iat, mut status, mut licence) =
        (None, None, None, None, None, None);
    for (key, value) in int_keyed(entries, "CWT claims")? {
        match key {
            CLAIM_ISS => iss = Some(text(value, "iss")?),
            CLAIM_EXP => exp = Some(time(value, "exp")?),
            CLAIM_NBF => nbf = Some(time(value, "nbf")?),
            CLAIM_IAT => iat = Some(time(value, "iat")?),
            CLAIM_STATUS => status = Some(status_reference(value)?),
            CLAIM_LICENCE => licence = Some(value),
            other => return Err(DecodeError::UnknownClaim { key: other }),
        }
    }
    let missing = |claim| DecodeError::MissingClaim { claim };
    let Some(Value::Array(parts)) = licence else {
        return Err(match licence {
            None => missing("licence (-65537)"),
            Some(_) => DecodeError::ClaimType {
                claim: "licence (-65537)",
                expected: "an array",
            },
        });
    };
    let [id, holder_name, holder_id, fields]: [Value; 4] =
        parts.try_into().map_err(|_| DecodeError::ClaimType {
            claim: "licence (-65537)",
            expected: "an array of 4",
        })?;
    let licence_id: LicenceId = text(id, "licence identifier")?
        .parse()
        .map_err(DecodeError::Identifier)?;
    let licence_type =
        LicenceType::from_code(licence_id.type_code()).ok_or_else(|| DecodeError::UnknownType {
            type_code: licence_id.type_code().to_owned(),
        })?;
    let Value::Array(fields) = fields else {
        return Err(DecodeError::ClaimType {
            claim: "face fields",
            expected: "an array",
        });
    };
    let specs = licence_type.seal_fields();
    if fields.len() != specs.len() {
        return Err(DecodeError::FieldCount {
            found: fields.len(),
            expected: specs.len(),
        });
    }
    let fields = fields
        .into_iter()
        .zip(specs)
        .map(|(v, spec)| match v {
            Value::Text(t) if !t.is_empty() => Ok(Some(t)),
            Value::Null if !spec.required => Ok(None),
            _ => Err(DecodeError::Field { field: spec.key }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(SealClaims {
        iss: iss.ok_or_else(|| missing("iss (1)"))?,
        iat: iat.ok_or_else(|| missing("iat (6)"))?,
        nbf: nbf.ok_or_else(|| missing("nbf (5)"))?,
        exp,
        status,
        licence_id,
        licence_type,
        holder_name: text(holder_name, "holder name")?,
        holder_id: text(holder_id, "holder id")?,
        fields,
    })
}

fn status_reference(value: Value) -> Result<StatusReference, DecodeError> {
    let [list] = text_keyed(value, ["status_list"], "status (65535)")?;
    let [idx, uri] = text_keyed(list, ["idx", "uri"], "status_list")?;
    let idx = match idx {
        Value::Integer(i) => u64::try_from(i128::from(i)).ok(),
        _ => None,
    }
    .ok_or(DecodeError::ClaimType {
        claim: "status_list.idx",
        expected: "an unsigned integer",
    })?;
    StatusReference::new(idx, text(uri, "status_list.uri")?).map_err(DecodeError::Status)
}

/// A CBOR writer failure (only ever an allocation or a value CBOR cannot hold).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CborWriteError(String);

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::licence::codes::Uscc;
    use crate::licence::LicenceRequest;
    use std::io::Write as _;

    fn claims() -> SealClaims {
        let req: LicenceRequest =
            serde_json::from_str(include_str!("../fixtures/requests/business_licence.json"))
                .unwrap();
        let licence = req
            .validate(&Uscc::parse("11350100MB00000012").unwrap())
            .unwrap();
        let status =
            StatusReference::new(123_456, "https://elicense.example/v1/status-lists/X/0").unwrap();
        SealClaims::from_licence(
            &licence,
            "https://elicense.example/agencies/11350100MB00000012",
            1_767_196_800,
            Some(&status),
        )
    }

    fn signer() -> Es256Signer {
        Es256Signer::generate().unwrap().0
    }

    #[test]
    fn round_trip_and_signature() {
        let key = signer();
        let c = claims();
        let text = encode(&c, [7; 8], &key).unwrap();
        assert!(text.starts_with(PREFIX));
        let seal = decode(&text).unwrap();
        assert_eq!(seal.claims(), &c);
        assert_eq!(seal.kid(), [7; 8]);
        seal.verify_signature(&key.public_key()).unwrap();
        assert!(seal.verify_signature(&signer().public_key()).is_err());
    }

    /// The COSE bytes inside a seal, and a seal made of other COSE bytes.
    fn cose_of(text: &str) -> Vec<u8> {
        inflate(&base45::decode(&text[PREFIX.len()..]).unwrap()).unwrap()
    }

    fn seal_of(cose: &[u8]) -> String {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(cose).unwrap();
        format!("{PREFIX}{}", base45::encode(z.finish().unwrap()))
    }

    fn resign(sign1: coset::CoseSign1, key: &Es256Signer) -> String {
        let b = coset::CoseSign1Builder::new()
            .protected(sign1.protected.header)
            .unprotected(sign1.unprotected)
            .payload(sign1.payload.unwrap())
            .create_signature(b"", |tbs| key.sign(tbs).unwrap().to_vec())
            .build();
        seal_of(&b.to_tagged_vec().unwrap())
    }

    #[test]
    fn untagged_is_accepted_and_trailing_bytes_are_not() {
        let key = signer();
        let text = encode(&claims(), [1; 8], &key).unwrap();
        let cose = cose_of(&text);
        assert_eq!(cose[0], 0xd2, "tag 18");
        let untagged = seal_of(&cose[1..]);
        decode(&untagged)
            .unwrap()
            .verify_signature(&key.public_key())
            .unwrap();
        let mut trailing = cose.clone();
        trailing.push(0);
        assert!(matches!(
            decode(&seal_of(&trailing)),
            Err(DecodeError::Trailing { .. })
        ));
        // Bytes after the zlib stream.
        let mut compressed = base45::decode(&text[PREFIX.len()..]).unwrap();
        compressed.push(0);
        let extra = format!("{PREFIX}{}", base45::encode(&compressed));
        assert!(matches!(
            decode(&extra),
            Err(DecodeError::Trailing {
                layer: "zlib stream",
                ..
            })
        ));
        // A truncated zlib stream.
        let compressed = base45::decode(&text[PREFIX.len()..]).unwrap();
        let cut = format!(
            "{PREFIX}{}",
            base45::encode(&compressed[..compressed.len() - 5])
        );
        assert!(matches!(decode(&cut), Err(DecodeError::Truncated)));
        // A wrong Adler-32.
        let mut bad_sum = compressed.clone();
        let last = bad_sum.len() - 1;
        bad_sum[last] ^= 1;
        let bad_sum = format!("{PREFIX}{}", base45::encode(&bad_sum));
        assert!(matches!(decode(&bad_sum), Err(DecodeError::Inflate(_))));
        // Another tag.
        let mut other_tag = cose.clone();
        other_tag[0] = 0xd1;
        assert!(matches!(
            decode(&seal_of(&other_tag)),
            Err(DecodeError::Tag { tag: 17 })
        ));
    }

    #[test]
    fn header_policy() {
        let key = signer();
        let text = encode(&claims(), [1; 8], &key).unwrap();
        let sign1 = coset::CoseSign1::from_tagged_slice(&cose_of(&text)).unwrap();

        let mut es384 = sign1.clone();
        es384.protected.header.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES384));
        assert!(matches!(
            decode(&resign(es384, &key)),
            Err(DecodeError::Algorithm { alg }) if alg == "-35"
        ));

        let mut crit = sign1.clone();
        crit.protected.header.crit = vec![coset::RegisteredLabelWithPrivate::Assigned(
            iana::HeaderParameter::Alg,
        )];
        assert!(matches!(
            decode(&resign(crit, &key)),
            Err(DecodeError::Crit)
        ));

        let mut short_kid = sign1.clone();
        short_kid.protected.header.key_id = vec![1; 7];
        assert!(matches!(
            decode(&resign(short_kid, &key)),
            Err(DecodeError::KidLength { found: 7 })
        ));

        let mut unprotected = sign1.clone();
        unprotected.unprotected.key_id = vec![1; 8];
        assert!(matches!(
            decode(&resign(unprotected, &key)),
            Err(DecodeError::UnprotectedHeader)
        ));

        let mut extra = sign1.clone();
        extra.protected.header.content_type =
            Some(coset::ContentType::Text("application/cwt".into()));
        let e = decode(&resign(extra, &key));
        assert!(
            matches!(e, Err(DecodeError::UnknownHeader { label: 3 })),
            "{e:?}"
        );

        let mut detached = sign1.clone();
        detached.payload = None;
        assert!(matches!(
            decode(&seal_of(&detached.to_tagged_vec().unwrap())),
            Err(DecodeError::DetachedPayload)
        ));

        let mut short_sig = sign1;
        short_sig.signature.pop();
        assert!(matches!(
            decode(&seal_of(&short_sig.to_tagged_vec().unwrap())),
            Err(DecodeError::SignatureLength { found: 63 })
        ));
    }

    /// Re-signs a seal with claims `map` (any CBOR).
    fn with_claims(map: Value, key: &Es256Signer) -> String {
        let mut payload = Vec::new();
        coset::cbor::ser::into_writer(&map, &mut payload).unwrap();
        let sign1 = coset::CoseSign1Builder::new()
            .protected(
                coset::HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES256)
                    .key_id(vec![1; 8])
                    .build(),
            )
            .payload(payload)
            .create_signature(b"", |tbs| key.sign(tbs).unwrap().to_vec())
            .build();
        seal_of(&sign1.to_tagged_vec().unwrap())
    }

    fn claim_map() -> Vec<(Value, Value)> {
        match claims().to_cbor().unwrap() {
            Value::Map(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn claims_are_strict() {
        let key = signer();
        assert!(decode(&with_claims(Value::Map(claim_map()), &key)).is_ok());

        let mut swapped = claim_map();
        swapped.swap(1, 2);
        assert!(matches!(
            decode(&with_claims(Value::Map(swapped), &key)),
            Err(DecodeError::KeyOrder { .. })
        ));

        let mut dup = claim_map();
        dup.insert(1, dup[0].clone());
        assert!(matches!(
            decode(&with_claims(Value::Map(dup), &key)),
            Err(DecodeError::KeyOrder { key: 1, .. })
        ));

        let mut unknown = claim_map();
        unknown.insert(1, (int(2), Value::Text("sub".into())));
        assert!(matches!(
            decode(&with_claims(Value::Map(unknown), &key)),
            Err(DecodeError::UnknownClaim { key: 2 })
        ));

        let mut no_iat = claim_map();
        no_iat.retain(|(k, _)| k != &int(CLAIM_IAT));
        assert!(matches!(
            decode(&with_claims(Value::Map(no_iat), &key)),
            Err(DecodeError::MissingClaim { .. })
        ));

        let mut text_iat = claim_map();
        for (k, v) in &mut text_iat {
            if k == &int(CLAIM_IAT) {
                *v = Value::Text("1767196800".into());
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(text_iat), &key)),
            Err(DecodeError::ClaimType { claim: "iat", .. })
        ));

        let mut negative = claim_map();
        for (k, v) in &mut negative {
            if k == &int(CLAIM_NBF) {
                *v = int(-1);
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(negative), &key)),
            Err(DecodeError::ClaimType { claim: "nbf", .. })
        ));

        let mut fewer = claim_map();
        if let Some((_, Value::Array(parts))) = fewer.last_mut() {
            if let Value::Array(fields) = &mut parts[3] {
                fields.pop();
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(fewer), &key)),
            Err(DecodeError::FieldCount {
                found: 4,
                expected: 5
            })
        ));

        let mut null_required = claim_map();
        if let Some((_, Value::Array(parts))) = null_required.last_mut() {
            if let Value::Array(fields) = &mut parts[3] {
                fields[0] = Value::Null;
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(null_required), &key)),
            Err(DecodeError::Field {
                field: "entity_type"
            })
        ));

        let mut extra_status_member = claim_map();
        for (k, v) in &mut extra_status_member {
            if k == &int(CLAIM_STATUS) {
                if let Value::Map(m) = v {
                    m.push((Value::Text("other".into()), Value::Null));
                }
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(extra_status_member), &key)),
            Err(DecodeError::Structure { .. })
        ));

        let mut unknown_type = claim_map();
        if let Some((_, Value::Array(parts))) = unknown_type.last_mut() {
            // A valid identifier of type 9999: the check character must still match.
            let id = LicenceId::new(
                "9999",
                Uscc::parse("11350100MB00000012").unwrap(),
                "20240301000123",
                1,
            )
            .unwrap();
            parts[0] = Value::Text(id.to_string());
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(unknown_type), &key)),
            Err(DecodeError::UnknownType { .. })
        ));
    }

    #[test]
    fn non_canonical_cbor_is_refused() {
        let key = signer();
        // iat written with an 8-byte head instead of 4 bytes.
        let mut payload = Vec::new();
        coset::cbor::ser::into_writer(&Value::Map(claim_map()), &mut payload).unwrap();
        let iat = u32::try_from(claims().iat).unwrap().to_be_bytes();
        let short = [&[0x06, 0x1a][..], &iat].concat();
        let at = payload
            .windows(6)
            .position(|w| w == short)
            .expect("iat as a 4-byte head");
        let mut long = payload[..at + 1].to_vec();
        long.extend_from_slice(&[0x1b, 0, 0, 0, 0]);
        long.extend_from_slice(&payload[at + 2..]);
        let sign1 = coset::CoseSign1Builder::new()
            .protected(
                coset::HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES256)
                    .key_id(vec![1; 8])
                    .build(),
            )
            .payload(long)
            .create_signature(b"", |tbs| key.sign(tbs).unwrap().to_vec())
            .build();
        assert!(matches!(
            decode(&seal_of(&sign1.to_tagged_vec().unwrap())),
            Err(DecodeError::NotCanonical {
                layer: "CWT claims"
            })
        ));
    }

    #[test]
    fn caps_come_before_decoding() {
        let long = format!("{PREFIX}{}", "0".repeat(MAX_TEXT_LEN));
        assert!(matches!(
            decode(&long),
            Err(DecodeError::TooLarge {
                layer: "seal text",
                ..
            })
        ));
        // A zlib bomb: 1 MB of zeros compresses to about 1 KB; reading stops at the cap.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = z.finish().unwrap();
        assert!(bomb.len() < MAX_COMPRESSED_LEN);
        assert!(matches!(
            decode(&format!("{PREFIX}{}", base45::encode(&bomb))),
            Err(DecodeError::TooLarge {
                layer: "inflated seal",
                size,
                ..
            }) if size > MAX_COSE_LEN && size <= 2 * MAX_COSE_LEN
        ));
        assert!(matches!(
            decode("EL2:ABC"),
            Err(DecodeError::Prefix { found }) if found == "EL2:"
        ));
        assert!(matches!(decode("EL1:abc"), Err(DecodeError::Base45(_))));
        // "GGW" is 0xFFFF + 1 and cannot be Base45 of two bytes; ":Z" is above 255.
        assert!(decode("EL1:GGW").is_err());
        assert!(matches!(
            decode("EL1::Z"),
            Err(DecodeError::NotCanonical { layer: "Base45" })
        ));
    }

    #[test]
    fn encoder_refuses_what_decoders_would_not_accept() {
        let key = signer();
        let mut c = claims();
        c.fields.pop();
        assert!(matches!(
            encode(&c, [0; 8], &key),
            Err(EncodeError::FieldCount { .. })
        ));
        let mut c = claims();
        c.nbf = -1;
        assert!(matches!(
            encode(&c, [0; 8], &key),
            Err(EncodeError::NegativeTime { claim: "nbf", .. })
        ));
        // Incompressible text beyond the caps.
        let mut c = claims();
        let noise: String = (0..6000u32)
            .map(|i| {
                char::from_u32(0x4e00 + (i.wrapping_mul(2_654_435_761) >> 20) % 0x5000).unwrap()
            })
            .collect();
        c.fields[4] = Some(noise);
        assert!(matches!(
            encode(&c, [0; 8], &key),
            Err(EncodeError::TooLarge { .. })
        ));
    }
}
