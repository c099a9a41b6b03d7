//! The registered claims of a licence and their consistency with the issuer certificate.

use super::error::{IssuerMismatch, VerifyError};
use crate::jose;
use crate::licence::identifier::LicenceId;
use crate::licence::LicenceType;
use crate::pki::IssuerInfo;
use crate::profile::{CNF, EXP, IAT, ISS, LICENCE_ID, NBF, STATUS, VCT};
use crate::status_list::StatusReference;
use serde_json::{Map, Value};

/// The registered claims, moved out of the signed payload (never from disclosures).
pub(super) struct Registered {
    pub(super) iss: String,
    pub(super) iat: i64,
    pub(super) nbf: i64,
    pub(super) exp: Option<i64>,
    pub(super) vct: String,
    pub(super) licence_id: String,
    pub(super) cnf: Option<Cnf>,
    pub(super) status: Option<StatusReference>,
}

#[derive(serde::Deserialize)]
pub(super) struct Cnf {
    pub(super) jwk: jose::Jwk,
}

impl Registered {
    pub(super) fn take_from(p: &mut Map<String, Value>) -> Result<Self, VerifyError> {
        fn string(p: &mut Map<String, Value>, name: &'static str) -> Result<String, VerifyError> {
            match p.remove(name) {
                Some(Value::String(s)) => Ok(s),
                _ => Err(VerifyError::MissingClaim { name }),
            }
        }
        fn number(
            p: &mut Map<String, Value>,
            name: &'static str,
        ) -> Result<Option<i64>, VerifyError> {
            match p.remove(name) {
                None => Ok(None),
                Some(v) => v
                    .as_i64()
                    .map(Some)
                    .ok_or(VerifyError::MissingClaim { name }),
            }
        }
        Ok(Self {
            iss: string(p, ISS)?,
            iat: number(p, IAT)?.ok_or(VerifyError::MissingClaim { name: IAT })?,
            nbf: number(p, NBF)?.ok_or(VerifyError::MissingClaim { name: NBF })?,
            exp: number(p, EXP)?,
            vct: string(p, VCT)?,
            licence_id: string(p, LICENCE_ID)?,
            cnf: p
                .remove(CNF)
                .map(serde_json::from_value)
                .transpose()
                .map_err(VerifyError::Claims)?,
            status: p
                .remove(STATUS)
                .map(serde_json::from_value)
                .transpose()
                .map_err(VerifyError::Claims)?,
        })
    }
}

pub(super) fn check_issuer(
    info: &IssuerInfo,
    reg: &Registered,
    id: &LicenceId,
    licence_type: LicenceType,
) -> Result<(), VerifyError> {
    if reg.iss != info.agency.issuer_uri {
        return Err(VerifyError::IssuerMismatch {
            reason: IssuerMismatch::Iss {
                iss: reg.iss.clone(),
                certificate: info.agency.issuer_uri.clone(),
            },
        });
    }
    if id.issuer() != &info.agency.code {
        return Err(VerifyError::IssuerMismatch {
            reason: IssuerMismatch::Identifier {
                in_identifier: id.issuer().to_string(),
                certificate: info.agency.code.to_string(),
            },
        });
    }
    if id.type_code() != licence_type.code() {
        return Err(VerifyError::IssuerMismatch {
            reason: IssuerMismatch::Type {
                in_identifier: id.type_code().to_owned(),
                vct: licence_type.vct(),
            },
        });
    }
    Ok(())
}
