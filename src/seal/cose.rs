//! The COSE_Sign1 envelope (RFC 9052) of a seal, and the canonical CBOR it is made of.

use super::error::DecodeError;
use super::KID_LEN;
use coset::cbor::value::{Integer, Value};
use coset::AsCborValue as _;

/// CBOR tag of a COSE_Sign1.
const COSE_SIGN1_TAG: u64 = 18;
/// COSE header labels.
const HEADER_ALG: i128 = 1;
const HEADER_CRIT: i128 = 2;
const HEADER_KID: i128 = 4;
/// COSE algorithm ES256.
const ALG_ES256: i128 = -7;

pub(super) fn int(i: i128) -> Value {
    // Every claim key and header label used here fits a CBOR integer.
    Value::Integer(Integer::try_from(i).unwrap_or(Integer::from(0u8)))
}

/// One CBOR item that is all of `bytes` and in its canonical encoding (shortest heads,
/// definite lengths — what re-encoding it gives).
pub(super) fn canonical_item(bytes: &[u8], layer: &'static str) -> Result<Value, DecodeError> {
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
pub(super) fn envelope(cose: &[u8]) -> Result<([u8; KID_LEN], coset::CoseSign1), DecodeError> {
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
pub(super) fn int_keyed(
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

fn describe(v: &Value) -> String {
    match v {
        Value::Integer(i) => i128::from(*i).to_string(),
        Value::Text(t) => format!("{t:?}"),
        _ => "a non-integer".into(),
    }
}
