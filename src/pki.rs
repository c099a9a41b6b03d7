//! The agency PKI: a government root CA, agency issuer ("document signer") certificates
//! under it, and the trust store a verifier resolves issuers with.
//!
//! Certificates are generated with rcgen, path-validated with rustls-webpki
//! (`verify_for_usage` with this project's licence-signing EKU), and read with
//! x509-parser for KeyUsage and the fields shown to users. No I/O: the key store
//! ([`crate::keys`]) reads and writes the files.

use crate::jose::{self, b64u_encode, Es256PublicKey};
use crate::licence::codes::Uscc;
use ::time::OffsetDateTime;
use rustls_pki_types::{CertificateDer, UnixTime};
use x509_parser::prelude::{FromDer as _, GeneralName, X509Certificate};

/// The licence-signing extended key usage, `2.25.147690894728942401010712561941806226707`:
/// an OID under the UUID arc (ITU-T X.667), so no registration was needed to mint it.
pub const LICENCE_SIGNING_EKU: &str = "2.25.147690894728942401010712561941806226707";

/// DER content octets of [`LICENCE_SIGNING_EKU`] (no tag or length).
pub const LICENCE_SIGNING_EKU_DER: &[u8] = &[
    0x69, 0x81, 0xde, 0x9c, 0x9d, 0xd3, 0xd1, 0xa5, 0xba, 0xb4, 0xdd, 0x9b, 0xb0, 0xcb, 0x81, 0xf7,
    0xf2, 0xea, 0xba, 0x13,
];

/// `organizationIdentifier` (X.520), which carries the agency's USCC as `NTRCN-<USCC>`.
const ORGANIZATION_IDENTIFIER: &[u64] = &[2, 5, 4, 97];
/// Prefix of `organizationIdentifier` for a national trade register number in China
/// (ETSI EN 319 412-1 semantics).
pub const ORG_ID_PREFIX: &str = "NTRCN-";

/// Most certificates accepted in an `x5c` chain.
pub const MAX_CHAIN_LEN: usize = 4;
/// Largest single certificate accepted.
pub const MAX_CERT_LEN: usize = 8 * 1024;

/// The key id of a certificate: the first 8 bytes of SHA-256 over its DER.
pub fn kid(cert_der: &[u8]) -> [u8; 8] {
    let h = jose::sha256(cert_der);
    let mut out = [0u8; 8];
    out.copy_from_slice(&h[..8]);
    out
}

/// [`kid`] in base64url, as JOSE headers carry it.
pub fn kid_b64(cert_der: &[u8]) -> String {
    b64u_encode(kid(cert_der))
}

/// Who an agency is, as its issuer certificate says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgencyIdentity {
    /// The agency's name (e.g. 示例市市场监督管理局).
    pub name: String,
    /// Its Unified Social Credit Code.
    pub code: Uscc,
    /// Its issuer identifier (`iss`), carried as a URI subjectAltName.
    pub issuer_uri: String,
}

/// A new key pair and certificate, PEM encoded.
pub struct Generated {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The PKCS#8 private key, PEM. Secret.
    pub key_pem: zeroize::Zeroizing<String>,
}

impl std::fmt::Debug for Generated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generated")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"[secret key elided]")
            .finish()
    }
}

fn p256_key() -> Result<rcgen::KeyPair, PkiError> {
    rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(PkiError::Generate)
}

fn random_serial() -> Result<rcgen::SerialNumber, PkiError> {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| PkiError::Randomness)?;
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x01; // and with no leading zero byte
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

/// Creates a root CA: P-256, CA:true with pathLen 0, keyCertSign and cRLSign.
pub fn generate_root(
    name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Generated, PkiError> {
    let key = p256_key()?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CountryName, "CN");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, name);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    let cert = params.self_signed(&key).map_err(PkiError::Generate)?;
    Ok(Generated {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: zeroize::Zeroizing::new(key.serialize_pem()),
    })
}

/// Creates an agency issuer certificate under the root: CA:false, digitalSignature only,
/// the licence-signing EKU, the agency's name and USCC in the subject, its issuer URI as
/// a subjectAltName, SKI and AKI.
pub fn generate_issuer(
    agency: &AgencyIdentity,
    root_cert_der: &[u8],
    root_key_pem: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<Generated, PkiError> {
    let root_not_after = parse_cert(root_cert_der)
        .map_err(|_| PkiError::BadRoot)?
        .validity()
        .not_after
        .timestamp();
    if not_after.unix_timestamp() > root_not_after {
        return Err(PkiError::OutlivesRoot {
            not_after: not_after.unix_timestamp(),
            root_not_after,
        });
    }
    let root_key = rcgen::KeyPair::from_pem(root_key_pem).map_err(PkiError::Generate)?;
    let root_der = CertificateDer::from(root_cert_der.to_vec());
    let issuer =
        rcgen::Issuer::from_ca_cert_der(&root_der, root_key).map_err(PkiError::Generate)?;
    let key = p256_key()?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CountryName, "CN");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, agency.name.as_str());
    params.distinguished_name.push(
        rcgen::DnType::CustomDnType(ORGANIZATION_IDENTIFIER.to_vec()),
        format!("{ORG_ID_PREFIX}{}", agency.code),
    );
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, agency.name.as_str());
    let uri = rcgen::string::Ia5String::try_from(agency.issuer_uri.as_str())
        .map_err(PkiError::Generate)?;
    params.subject_alt_names = vec![rcgen::SanType::URI(uri)];
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.custom_extensions = vec![eku_extension()];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(PkiError::Generate)?;
    Ok(Generated {
        cert_pem: cert.pem(),
        cert_der: cert.der().to_vec(),
        key_pem: zeroize::Zeroizing::new(key.serialize_pem()),
    })
}

/// extKeyUsage ::= SEQUENCE { KeyPurposeId } with the licence-signing OID. rcgen's
/// `ExtendedKeyUsagePurpose::Other` holds arcs as `u64`, too small for a UUID arc.
fn eku_extension() -> rcgen::CustomExtension {
    let oid_len = LICENCE_SIGNING_EKU_DER.len() as u8;
    let mut content = vec![0x30, oid_len + 2, 0x06, oid_len];
    content.extend_from_slice(LICENCE_SIGNING_EKU_DER);
    rcgen::CustomExtension::from_oid_content(&[2, 5, 29, 37], content)
}

/// What a verifier knows of an issuer certificate once it is parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerInfo {
    /// The agency.
    pub agency: AgencyIdentity,
    /// The certificate's key id, base64url.
    pub kid: String,
    /// The signing key.
    pub public_key: Es256PublicKey,
    /// notBefore, seconds since the epoch.
    pub not_before: i64,
    /// notAfter, seconds since the epoch.
    pub not_after: i64,
    /// SHA-256 of the certificate DER, hex — what a person compares with the trust list.
    pub fingerprint: String,
}

fn parse_cert(der: &[u8]) -> Result<X509Certificate<'_>, ChainError> {
    if der.len() > MAX_CERT_LEN {
        return Err(ChainError::CertificateTooLarge {
            size: der.len(),
            max: MAX_CERT_LEN,
        });
    }
    let (rest, cert) = X509Certificate::from_der(der).map_err(|_| ChainError::Malformed {
        reason: "not a DER X.509 certificate",
    })?;
    if !rest.is_empty() {
        return Err(ChainError::Malformed {
            reason: "trailing bytes after the certificate",
        });
    }
    Ok(cert)
}

/// The signing key and validity period of a certificate: all that is read from a
/// certificate before its chain is known to be trusted (the rest of its profile is checked
/// only afterwards, so a forgery under a foreign root is reported as untrusted).
fn read_signing_key(der: &[u8]) -> Result<(Es256PublicKey, (i64, i64)), ChainError> {
    let cert = parse_cert(der)?;
    Ok((
        cert_p256_key(&cert)?,
        (
            cert.validity().not_before.timestamp(),
            cert.validity().not_after.timestamp(),
        ),
    ))
}

fn cert_p256_key(cert: &X509Certificate<'_>) -> Result<Es256PublicKey, ChainError> {
    let spki = cert.public_key();
    let p256 = x509_parser::oid_registry::OID_EC_P256;
    let is_p256 = spki.algorithm.algorithm == x509_parser::oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY
        && spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            .is_some_and(|o| o == p256);
    if !is_p256 {
        return Err(ChainError::NotP256);
    }
    Es256PublicKey::from_sec1(&spki.subject_public_key.data).map_err(|_| ChainError::NotP256)
}

/// Reads an issuer certificate: P-256 key, digitalSignature KeyUsage, not a CA, the
/// agency name, USCC and issuer URI. Does not decide trust.
pub fn read_issuer(der: &[u8]) -> Result<IssuerInfo, ChainError> {
    let cert = parse_cert(der)?;
    let public_key = cert_p256_key(&cert)?;
    let ku = cert
        .key_usage()
        .map_err(|_| ChainError::Malformed {
            reason: "unreadable KeyUsage",
        })?
        .ok_or(ChainError::KeyUsage)?;
    if !ku.value.digital_signature() || ku.value.key_cert_sign() {
        return Err(ChainError::KeyUsage);
    }
    if cert.is_ca() {
        return Err(ChainError::KeyUsage);
    }
    let subject = cert.subject();
    let name = subject
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .ok_or(ChainError::Malformed {
            reason: "no common name in subject",
        })?
        .to_owned();
    let org_id_oid =
        x509_parser::der_parser::oid::Oid::from(ORGANIZATION_IDENTIFIER).map_err(|_| {
            ChainError::Malformed {
                reason: "organizationIdentifier OID",
            }
        })?;
    let org_id = subject
        .iter_attributes()
        .find(|a| a.attr_type() == &org_id_oid)
        .and_then(|a| a.as_str().ok())
        .ok_or(ChainError::Malformed {
            reason: "no organizationIdentifier (USCC) in subject",
        })?;
    let code = org_id
        .strip_prefix(ORG_ID_PREFIX)
        .and_then(|c| Uscc::parse(c).ok())
        .ok_or(ChainError::Malformed {
            reason: "organizationIdentifier is not NTRCN-<valid USCC>",
        })?;
    let issuer_uri = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .and_then(|san| {
            san.value.general_names.iter().find_map(|g| match g {
                GeneralName::URI(u) => Some((*u).to_owned()),
                _ => None,
            })
        })
        .ok_or(ChainError::Malformed {
            reason: "no URI subjectAltName (the issuer identifier)",
        })?;
    Ok(IssuerInfo {
        agency: AgencyIdentity {
            name,
            code,
            issuer_uri,
        },
        kid: kid_b64(der),
        public_key,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
        fingerprint: hex(&jose::sha256(der)),
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

mod trust;
pub use trust::{IssuerChain, Resolved, TrustStore};

/// Why an issuer certificate chain is not trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// Neither `x5c` nor `kid`.
    #[error("the licence names no issuer certificate (no x5c and no kid)")]
    NoIssuerReference,
    /// A `kid` that no trusted issuer certificate has.
    #[error("no trusted issuer certificate has kid {kid:?}")]
    UnknownKid {
        /// The kid.
        kid: String,
    },
    /// Too many or no certificates.
    #[error("x5c has {found} certificates; 1 to {max} are accepted")]
    ChainLength {
        /// Found.
        found: usize,
        /// Limit.
        max: usize,
    },
    /// A certificate over the size cap.
    #[error("a certificate of {size} bytes exceeds the {max}-byte limit")]
    CertificateTooLarge {
        /// Size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// Not a well-formed issuer certificate.
    #[error("malformed issuer certificate: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// Not a P-256 key.
    #[error("the issuer certificate's key is not an EC P-256 key")]
    NotP256,
    /// KeyUsage is not digitalSignature-only on an end-entity certificate.
    #[error("the issuer certificate is not for signing (KeyUsage digitalSignature, CA:false)")]
    KeyUsage,
    /// The chain does not lead to a trusted root.
    #[error("the issuer certificate does not chain to a trusted root")]
    UntrustedRoot,
    /// A certificate had expired at the signing time.
    #[error("the issuer certificate had expired when the licence was signed ({at} > notAfter {not_after})")]
    Expired {
        /// Signing time.
        at: i64,
        /// notAfter.
        not_after: i64,
    },
    /// A certificate was not yet valid at the signing time.
    #[error("the issuer certificate was not yet valid when the licence was signed ({at} < notBefore {not_before})")]
    NotYetValid {
        /// Signing time.
        at: i64,
        /// notBefore.
        not_before: i64,
    },
    /// The root certificate itself was not valid at the signing time.
    #[error("the root certificate was not valid when the licence was signed ({at} outside {not_before}..{not_after})")]
    RootNotValid {
        /// Signing time.
        at: i64,
        /// Root notBefore.
        not_before: i64,
        /// Root notAfter.
        not_after: i64,
    },
    /// The licence-signing EKU is missing.
    #[error("the issuer certificate lacks the licence-signing extended key usage")]
    MissingEku,
    /// Any other path-validation failure.
    #[error("issuer certificate chain is invalid")]
    Webpki(#[source] webpki::Error),
}

impl ChainError {
    fn from_webpki(e: webpki::Error, at: i64) -> Self {
        let secs = |t: UnixTime| i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
        match e {
            webpki::Error::UnknownIssuer => Self::UntrustedRoot,
            webpki::Error::CertExpired { not_after, .. } => Self::Expired {
                at,
                not_after: secs(not_after),
            },
            webpki::Error::CertNotValidYet { not_before, .. } => Self::NotYetValid {
                at,
                not_before: secs(not_before),
            },
            webpki::Error::RequiredEkuNotFoundContext(_) => Self::MissingEku,
            #[allow(deprecated)]
            webpki::Error::RequiredEkuNotFound => Self::MissingEku,
            other => Self::Webpki(other),
        }
    }

    /// True when the issuer is unknown or unanchored (as opposed to a broken chain).
    pub fn is_untrusted(&self) -> bool {
        matches!(
            self,
            Self::NoIssuerReference | Self::UnknownKid { .. } | Self::UntrustedRoot
        )
    }
}

/// Certificate generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// rcgen refused.
    #[error("certificate generation failed")]
    Generate(#[source] rcgen::Error),
    /// The random source failed.
    #[error("the system random source failed")]
    Randomness,
    /// The root certificate does not parse.
    #[error("the root certificate does not parse")]
    BadRoot,
    /// The issuer certificate would be valid after its root expires.
    #[error("the agency certificate would be valid until {}, after the root expires ({}); choose fewer --years", crate::licence::format_time(*not_after), crate::licence::format_time(*root_not_after))]
    OutlivesRoot {
        /// Requested notAfter.
        not_after: i64,
        /// The root's notAfter.
        root_not_after: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn eku_constant_matches_its_dotted_form() {
        // Decode the base-128 arcs with u128: the UUID arc does not fit in u64.
        let (first, rest) = LICENCE_SIGNING_EKU_DER.split_first().unwrap();
        let mut arcs = vec![u128::from(*first / 40), u128::from(*first % 40)];
        let mut acc: u128 = 0;
        for b in rest {
            acc = (acc << 7) | u128::from(b & 0x7f);
            if b & 0x80 == 0 {
                arcs.push(acc);
                acc = 0;
            }
        }
        let dotted: Vec<String> = arcs.iter().map(u128::to_string).collect();
        assert_eq!(dotted.join("."), LICENCE_SIGNING_EKU);
    }

    fn agency(code: &str) -> AgencyIdentity {
        AgencyIdentity {
            name: "示例市市场监督管理局".into(),
            code: Uscc::parse(code).unwrap(),
            issuer_uri: "https://elicense.example/agencies/x".into(),
        }
    }

    #[test]
    fn generated_chain_validates_and_reads_back() {
        let root = generate_root(
            "Test Root",
            datetime!(2020-01-01 0:00 UTC),
            datetime!(2040-01-01 0:00 UTC),
        )
        .unwrap();
        let a = agency("91350100M000100Y43");
        let iss = generate_issuer(
            &a,
            &root.cert_der,
            &root.key_pem,
            datetime!(2024-01-01 0:00 UTC),
            datetime!(2029-01-01 0:00 UTC),
        )
        .unwrap();
        let info = read_issuer(&iss.cert_der).unwrap();
        assert_eq!(info.agency, a);
        assert_eq!(info.kid, kid_b64(&iss.cert_der));
        let store = TrustStore::new(vec![root.cert_der.clone()], vec![]).unwrap();
        let x5c = vec![jose::b64_encode(&iss.cert_der)];
        let c = store.candidates(Some(&x5c), None).unwrap();
        let at = datetime!(2025-01-01 0:00 UTC).unix_timestamp();
        store.validate(&c[0], at).unwrap();
        // Cached after the first success, but still time-checked.
        let c = store.candidates(Some(&x5c), Some(&info.kid)).unwrap();
        assert!(c[0]
            .chain
            .validated
            .load(std::sync::atomic::Ordering::Acquire));
        store.validate(&c[0], at).unwrap();
        let late = datetime!(2030-01-01 0:00 UTC).unix_timestamp();
        assert!(matches!(
            store.validate(&c[0], late),
            Err(ChainError::Expired { .. })
        ));
        // A root is not an issuer.
        assert!(matches!(
            read_issuer(&root.cert_der),
            Err(ChainError::KeyUsage)
        ));
        // Another root does not anchor it.
        let other = generate_root(
            "Other Root",
            datetime!(2020-01-01 0:00 UTC),
            datetime!(2040-01-01 0:00 UTC),
        )
        .unwrap();
        // Only the issuer that chains to a root of the store is published as trusted.
        let both = TrustStore::new(
            vec![root.cert_der.clone()],
            vec![iss.cert_der.clone(), {
                let stray = generate_issuer(
                    &agency("91440300708461136T"),
                    &other.cert_der,
                    &other.key_pem,
                    datetime!(2024-01-01 0:00 UTC),
                    datetime!(2029-01-01 0:00 UTC),
                )
                .unwrap();
                stray.cert_der
            }],
        )
        .unwrap();
        assert_eq!(both.issuers().count(), 2);
        let trusted = both.trusted_issuers();
        assert_eq!(trusted.len(), 1);
        assert_eq!(trusted[0].1.kid, info.kid);
        let store2 = TrustStore::new(vec![other.cert_der], vec![]).unwrap();
        let c = store2.candidates(Some(&x5c), None).unwrap();
        assert!(matches!(
            store2.validate(&c[0], at),
            Err(ChainError::UntrustedRoot)
        ));
    }
}
