//! The CWT claims of a seal (RFC 8392): [`SealClaims`], their CBOR map and its strict
//! reading.

use super::cose::{canonical_item, int, int_keyed};
use super::error::{DecodeError, EncodeError};
use crate::licence::identifier::LicenceId;
use crate::licence::{Licence, LicenceType};
use crate::status_list::StatusReference;
use coset::cbor::value::Value;

/// CWT claim keys.
pub(super) const CLAIM_ISS: i128 = 1;
pub(super) const CLAIM_EXP: i128 = 4;
pub(super) const CLAIM_NBF: i128 = 5;
pub(super) const CLAIM_IAT: i128 = 6;
pub(super) const CLAIM_STATUS: i128 = 65535;
pub(super) const CLAIM_LICENCE: i128 = -65537;

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
    pub(super) fn to_cbor(&self) -> Result<Value, EncodeError> {
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

pub(super) fn parse_claims(payload: &[u8]) -> Result<SealClaims, DecodeError> {
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
