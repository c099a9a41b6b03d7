//! The issuance pipeline: request → licence (checked) → SD-JWT VC signed by the agency.

use crate::jose::{self, Es256Signer};
use crate::keys::AgencyKey;
use crate::licence::{identifier::LicenceId, LicenceRequest, RequestError};
use crate::pki::IssuerInfo;
use crate::sdjwt;
use serde_json::{Map, Value};

/// `typ` of an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc).
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";

/// An agency ready to sign: its key, certificate chain and prebuilt JOSE header.
#[derive(Debug)]
pub struct Issuer {
    signer: Es256Signer,
    info: IssuerInfo,
    header_b64: String,
    salts: sdjwt::RandomPool,
}

/// A freshly issued licence.
#[derive(Debug, Clone)]
pub struct IssuedLicence {
    /// Its identifier.
    pub id: LicenceId,
    /// The SD-JWT VC, compact serialization, all disclosures included.
    pub sd_jwt: String,
    /// Signing time.
    pub iat: i64,
}

impl IssuedLicence {
    /// SHA-256 of the issuer-signed JWT (the part before the first `~`), base64url: what
    /// the ledger records.
    pub fn jwt_digest(&self) -> String {
        let jwt_len = self.sd_jwt.find('~').unwrap_or(self.sd_jwt.len());
        jose::b64u_encode(jose::sha256(&self.sd_jwt.as_bytes()[..jwt_len]))
    }
}

impl Issuer {
    /// An issuer from an agency key: header `alg: ES256`, `typ: dc+sd-jwt`, `kid`, and
    /// `x5c` with the issuer certificate (the root is not included).
    pub fn new(key: AgencyKey) -> Result<Self, IssueError> {
        let mut header = Map::new();
        header.insert("alg".into(), Value::String(jose::ES256.into()));
        header.insert("typ".into(), Value::String(SD_JWT_VC_TYP.into()));
        header.insert("kid".into(), Value::String(key.info.kid.clone()));
        header.insert(
            "x5c".into(),
            Value::Array(vec![Value::String(jose::b64_encode(&key.cert_der))]),
        );
        Ok(Self {
            header_b64: sdjwt::encode_header(&header).map_err(IssueError::Encode)?,
            signer: key.signer,
            info: key.info,
            salts: sdjwt::RandomPool::default(),
        })
    }

    /// What the issuer certificate says.
    pub fn info(&self) -> &IssuerInfo {
        &self.info
    }

    /// Issues `request` at time `iat` (seconds since the epoch).
    pub fn issue(&self, request: &LicenceRequest, iat: i64) -> Result<IssuedLicence, IssueError> {
        if iat < self.info.not_before || iat > self.info.not_after {
            return Err(IssueError::CertificateNotValid {
                at: iat,
                not_before: self.info.not_before,
                not_after: self.info.not_after,
            });
        }
        let licence = request
            .validate(&self.info.agency.code)
            .map_err(IssueError::Request)?;
        if let Some(exp) = licence.not_after {
            if exp <= iat {
                return Err(IssueError::AlreadyExpired { exp, iat });
            }
        }
        let members = licence.claims(&self.info.agency.issuer_uri, iat);
        let issued = sdjwt::issue_with_encoded_headers(
            &[(&self.header_b64, &self.signer)],
            &members,
            &self.salts,
        )
        .map_err(IssueError::Encode)?;
        Ok(IssuedLicence {
            id: licence.id,
            sd_jwt: issued.compact(),
            iat,
        })
    }
}

/// Why a licence could not be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IssueError {
    /// The request fails a check.
    #[error("the licence request is invalid")]
    Request(#[source] RequestError),
    /// The agency certificate is not valid now.
    #[error("the agency certificate is valid from {} to {}, not at {}; ask the root CA operator for a new one (`elicense agency add`)", crate::licence::format_time(*not_before), crate::licence::format_time(*not_after), crate::licence::format_time(*at))]
    CertificateNotValid {
        /// Signing time.
        at: i64,
        /// Certificate notBefore.
        not_before: i64,
        /// Certificate notAfter.
        not_after: i64,
    },
    /// valid_until is already past.
    #[error("the licence would be expired when issued (valid until {}, issued {}); check valid_until", crate::licence::format_time(*exp), crate::licence::format_time(*iat))]
    AlreadyExpired {
        /// Expiry.
        exp: i64,
        /// Issue time.
        iat: i64,
    },
    /// Building or signing the SD-JWT failed.
    #[error("could not sign the licence")]
    Encode(#[source] sdjwt::EncodeError),
}
