//! The issuance pipeline: request → licence (checked) → SD-JWT VC signed by the agency,
//! and the same claims as a compact paper seal ([`crate::seal`]).

use crate::jose::{self, Es256Signer};
use crate::keys::AgencyKey;
use crate::ledger::{IssuedCopy, Ledger, LedgerError};
use crate::licence::{identifier::LicenceId, Licence, LicenceRequest, RequestError};
use crate::pki::IssuerInfo;
use crate::sdjwt;
use crate::seal::{self, SealClaims};
use crate::status_list::{self, StatusList, StatusListError, StatusReference, TokenClaims};
use serde_json::{Map, Value};

/// `typ` of an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc); the profile's [`crate::profile::TYP`].
pub use crate::profile::TYP as SD_JWT_VC_TYP;

/// An agency ready to sign: its key, certificate chain and prebuilt JOSE header.
#[derive(Debug)]
pub struct Issuer {
    signer: Es256Signer,
    info: IssuerInfo,
    /// Key id of the issuer certificate, as the seal carries it.
    kid: [u8; seal::KID_LEN],
    header_b64: String,
    /// `alg`, `kid`, `x5c` for the agency's status-list tokens.
    list_header: Map<String, Value>,
    salts: crate::salt::RandomPool,
}

/// A freshly issued licence.
#[derive(Debug, Clone)]
pub struct IssuedLicence {
    /// Its identifier.
    pub id: LicenceId,
    /// The SD-JWT VC, compact serialization, all disclosures included.
    pub sd_jwt: String,
    /// The same licence as a paper seal (`EL1:…`, for a QR code).
    pub seal: String,
    /// Signing time.
    pub iat: i64,
    /// Whether this is the licence recorded earlier for the same request (a retry),
    /// not a new one.
    pub replayed: bool,
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
        let mut list_header = header.clone();
        list_header.remove("typ");
        Ok(Self {
            header_b64: sdjwt::encode_header(&header).map_err(IssueError::Encode)?,
            list_header,
            kid: crate::pki::kid(&key.cert_der),
            signer: key.signer,
            info: key.info,
            salts: crate::salt::RandomPool::default(),
        })
    }

    /// What the issuer certificate says.
    pub fn info(&self) -> &IssuerInfo {
        &self.info
    }

    /// Issues `request` at time `iat` (seconds since the epoch), without a status reference.
    pub fn issue(&self, request: &LicenceRequest, iat: i64) -> Result<IssuedLicence, IssueError> {
        self.issue_with_status(request, iat, None)
    }

    /// Issues `request` at `iat` carrying `status` (`status.status_list {idx, uri}`).
    pub fn issue_with_status(
        &self,
        request: &LicenceRequest,
        iat: i64,
        status: Option<&StatusReference>,
    ) -> Result<IssuedLicence, IssueError> {
        let licence = self.check(request, iat)?;
        self.sign(licence, iat, status)
    }

    /// Everything that can refuse a request before anything is signed or recorded.
    fn check(&self, request: &LicenceRequest, iat: i64) -> Result<Licence, IssueError> {
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
        Ok(licence)
    }

    /// Signs a checked licence: the SD-JWT VC and its paper seal.
    fn sign(
        &self,
        licence: Licence,
        iat: i64,
        status: Option<&StatusReference>,
    ) -> Result<IssuedLicence, IssueError> {
        let id = licence.id.clone();
        let seal_claims =
            SealClaims::from_licence(&licence, &self.info.agency.issuer_uri, iat, status);
        let seal = seal::encode(&seal_claims, self.kid, &self.signer).map_err(IssueError::Seal)?;
        // A seal is for printing: one no QR code can hold is refused here, not at the
        // printer after the licence is recorded.
        if seal.len() > crate::qr::MAX_CHARS {
            return Err(IssueError::Seal(seal::EncodeError::NotPrintable {
                chars: seal.len(),
                max: crate::qr::MAX_CHARS,
            }));
        }
        let members = licence.into_claims(&self.info.agency.issuer_uri, iat, status);
        let issued = sdjwt::issue_with_encoded_headers(
            &[(&self.header_b64, &self.signer)],
            &members,
            &self.salts,
        )
        .map_err(IssueError::Encode)?;
        Ok(IssuedLicence {
            id,
            sd_jwt: issued.compact(),
            seal,
            iat,
            replayed: false,
        })
    }
}

/// SHA-256 of a request's canonical JSON, base64url: how a retry is told from a different
/// request for the same identifier.
pub fn request_digest(request: &LicenceRequest) -> Result<String, IssueError> {
    let bytes = serde_json::to_vec(request).map_err(IssueError::Digest)?;
    Ok(jose::b64u_encode(jose::sha256(&bytes)))
}

/// The URI of an issuer's status list: `<base>/v1/status-lists/<USCC>/<list>`.
pub fn status_list_uri(base: &str, issuer: &str, list: u32) -> String {
    format!(
        "{}/v1/status-lists/{issuer}/{list}",
        base.trim_end_matches('/')
    )
}

/// The licence recorded for `id`, when it was issued from the request with `digest`.
fn replay(ledger: &Ledger, id: &LicenceId, digest: &str) -> Result<IssuedLicence, IssueError> {
    let key = id.to_string();
    let copy = ledger.issued_copy(&key).map_err(IssueError::Ledger)?;
    let record = ledger.record(&key).map_err(IssueError::Ledger)?;
    match (copy, record) {
        (Some(copy), Some(record)) if copy.request_digest == digest => Ok(IssuedLicence {
            id: id.clone(),
            sd_jwt: copy.sd_jwt,
            seal: ledger
                .seal(&key)
                .map_err(IssueError::Ledger)?
                .unwrap_or_default(),
            iat: record.issued_at,
            replayed: true,
        }),
        (Some(_), _) => Err(IssueError::SerialTaken { licence_id: key }),
        // Recorded before copies were kept, or still being recorded by another request.
        _ => Err(IssueError::Ledger(LedgerError::AlreadyIssued {
            licence_id: key,
        })),
    }
}

impl Issuer {
    /// Issues `request` and records it in `ledger`: a fresh status-list slot is drawn, the
    /// licence is signed carrying its status reference (under `status_base`), and the
    /// issuance (with the seal, for printing later) is on disk before this returns.
    pub fn issue_recorded(
        &self,
        ledger: &Ledger,
        request: &LicenceRequest,
        iat: i64,
        status_base: &str,
        actor: &str,
    ) -> Result<IssuedLicence, IssueError> {
        // A request that would be refused draws no status-list slot.
        let licence = self.check(request, iat)?;
        let id = licence.id.clone();
        let digest = request_digest(request)?;
        if ledger
            .record(&id.to_string())
            .map_err(IssueError::Ledger)?
            .is_some()
        {
            return replay(ledger, &id, &digest);
        }
        let code = &self.info.agency.code;
        let slot = ledger.reserve(code).map_err(IssueError::Ledger)?;
        let uri = status_list_uri(status_base, code.as_str(), slot.list);
        let reference = StatusReference::new(slot.idx, uri).map_err(IssueError::StatusList)?;
        let issued = self.sign(licence, iat, Some(&reference))?;
        let copy = IssuedCopy {
            sd_jwt: issued.sd_jwt.clone(),
            request_digest: digest.clone(),
        };
        match ledger.record_issued_licence(
            &issued.id,
            slot,
            &issued.jwt_digest(),
            Some(&issued.seal),
            Some(&copy),
            actor,
            iat,
        ) {
            Ok(_) => Ok(issued),
            // The same request arrived twice at once: the first one recorded wins.
            Err(LedgerError::AlreadyIssued { .. }) => replay(ledger, &id, &digest),
            Err(e) => Err(IssueError::Ledger(e)),
        }
    }

    /// Signs a Token Status List for `list` published at `uri`, valid for `valid_for`
    /// seconds from `iat`, to be re-fetched after `ttl` seconds.
    pub fn sign_status_list(
        &self,
        list: &StatusList,
        uri: &str,
        iat: i64,
        valid_for: i64,
        ttl: u64,
    ) -> Result<String, IssueError> {
        let claims = TokenClaims {
            sub: uri.to_owned(),
            iat,
            exp: Some(iat.saturating_add(valid_for)),
            ttl: Some(ttl),
            iss: Some(self.info.agency.issuer_uri.clone()),
            ..TokenClaims::default()
        };
        status_list::sign_token(list, &claims, &self.list_header, &self.signer)
            .map_err(IssueError::StatusList)
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
    /// Building or signing the paper seal failed (a licence too large for one, say).
    #[error("could not make the licence's paper seal: {0}")]
    Seal(#[source] seal::EncodeError),
    /// The ledger refused or failed.
    #[error("the ledger did not record the licence: {0}")]
    Ledger(#[source] LedgerError),
    /// The identifier is taken by a licence issued from another request.
    #[error("licence {licence_id} was already issued from a different request: to issue another licence choose a new `serial` (or a higher `version` for a new version of this one); to get the issued licence back, send the identical request again")]
    SerialTaken {
        /// The identifier.
        licence_id: String,
    },
    /// The request could not be encoded for its digest.
    #[error("could not encode the request")]
    Digest(#[source] serde_json::Error),
    /// The status reference or status list could not be made.
    #[error("status list error: {0}")]
    StatusList(#[source] StatusListError),
}
