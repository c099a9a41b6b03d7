//! The trust store: roots and issuer certificates, and the validation of an issuer's
//! chain to a root at a given time (rustls-webpki, with the project's issuer profile),
//! cached per chain.

use super::{
    parse_cert, read_issuer, read_signing_key, ChainError, IssuerInfo, LICENCE_SIGNING_EKU_DER,
    MAX_CERT_LEN, MAX_CHAIN_LEN,
};
use crate::jose::{self, Es256PublicKey};
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// An issuer certificate chain that has been parsed (and perhaps validated).
#[derive(Debug)]
pub struct IssuerChain {
    /// The `x5c` strings exactly as presented, leaf first.
    x5c: Vec<String>,
    ders: Vec<CertificateDer<'static>>,
    /// The leaf's signing key.
    key: Es256PublicKey,
    /// What the leaf says, if it has the issuer profile (checked only once trusted).
    info: Option<IssuerInfo>,
    /// The intersection of its certificates' validity periods (the root's included once
    /// validated).
    window: (i64, i64),
    /// Set once the chain validated: it then validates at every time inside `window`.
    pub(super) validated: AtomicBool,
}

/// Roots and issuer certificates a verifier trusts, with a cache of validated chains.
///
/// Chain validation is cached per issuer chain: a chain that validated once is valid at
/// every time inside its certificates' common validity window, since nothing else in the
/// path depends on time (revocation is handled by the ledger, not CRLs).
#[derive(Debug)]
pub struct TrustStore {
    roots: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
    /// Each root's SubjectPublicKeyInfo with its validity: webpki does not check a trust
    /// anchor's dates, so this does.
    root_validity: Vec<(Vec<u8>, (i64, i64))>,
    issuers: HashMap<String, Vec<Arc<IssuerChain>>>,
    validated: RwLock<HashMap<String, Vec<Arc<IssuerChain>>>>,
}

/// The signer of a token: its chain, checked against the trust store.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub(super) chain: Arc<IssuerChain>,
}

impl Resolved {
    /// The leaf certificate's signing key (not yet trusted).
    pub fn public_key(&self) -> &Es256PublicKey {
        &self.chain.key
    }

    /// What the leaf certificate says, once [`TrustStore::validate`] accepted the chain.
    pub fn info(&self) -> Option<&IssuerInfo> {
        self.chain
            .validated
            .load(Ordering::Acquire)
            .then_some(self.chain.info.as_ref())
            .flatten()
    }
}

impl TrustStore {
    /// A trust store of `roots` (trust anchors) and known issuer certificates (resolvable by
    /// `kid` alone). Issuer certificates are validated when first used.
    pub fn new(roots: Vec<Vec<u8>>, issuer_certs: Vec<Vec<u8>>) -> Result<Self, ChainError> {
        let roots: Vec<CertificateDer<'static>> =
            roots.into_iter().map(CertificateDer::from).collect();
        let anchors = roots
            .iter()
            .map(|r| {
                webpki::anchor_from_trusted_cert(r)
                    .map(|a| a.to_owned())
                    .map_err(ChainError::Webpki)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let root_validity = roots
            .iter()
            .map(|r| {
                let c = parse_cert(r)?;
                Ok((
                    c.public_key().raw.to_vec(),
                    (
                        c.validity().not_before.timestamp(),
                        c.validity().not_after.timestamp(),
                    ),
                ))
            })
            .collect::<Result<Vec<_>, ChainError>>()?;
        let mut issuers: HashMap<String, Vec<Arc<IssuerChain>>> = HashMap::new();
        for der in issuer_certs {
            let info = read_issuer(&der)?;
            let kid = info.kid.clone();
            let chain = IssuerChain {
                x5c: vec![jose::b64_encode(&der)],
                ders: vec![CertificateDer::from(der)],
                key: info.public_key.clone(),
                window: (info.not_before, info.not_after),
                info: Some(info),
                validated: AtomicBool::new(false),
            };
            issuers.entry(kid).or_default().push(Arc::new(chain));
        }
        Ok(Self {
            roots,
            anchors,
            root_validity,
            issuers,
            validated: RwLock::new(HashMap::new()),
        })
    }

    /// The root certificates, DER.
    pub fn roots(&self) -> impl Iterator<Item = &[u8]> {
        self.roots.iter().map(|r| r.as_ref())
    }

    /// The known issuer certificates (DER) with what they say.
    pub fn issuers(&self) -> impl Iterator<Item = (&[u8], &IssuerInfo)> {
        self.issuers
            .values()
            .flatten()
            .filter_map(|c| Some((c.ders[0].as_ref(), c.info.as_ref()?)))
    }

    /// The known issuer certificates that chain to a trusted root for licence signing (the
    /// chain checked at the certificate's notBefore): what may be published as trusted, for
    /// verifiers that do not validate X.509 themselves (the counter page offline).
    pub fn trusted_issuers(&self) -> Vec<(&[u8], &IssuerInfo)> {
        self.issuers
            .values()
            .flatten()
            .filter_map(|c| {
                let info = c.info.as_ref()?;
                let signer = Resolved { chain: c.clone() };
                self.validate(&signer, c.window.0).ok()?;
                Some((c.ders[0].as_ref(), info))
            })
            .collect()
    }

    /// The candidate signers of a token with this `x5c` and `kid`: the `x5c` leaf if
    /// present, otherwise every known issuer certificate with that `kid`.
    pub fn candidates(
        &self,
        x5c: Option<&[String]>,
        kid: Option<&str>,
    ) -> Result<Vec<Resolved>, ChainError> {
        match x5c {
            Some(x5c) => {
                if x5c.is_empty() || x5c.len() > MAX_CHAIN_LEN {
                    return Err(ChainError::ChainLength {
                        found: x5c.len(),
                        max: MAX_CHAIN_LEN,
                    });
                }
                if let Some(kid) = kid {
                    if let Ok(cache) = self.validated.read() {
                        if let Some(hit) = cache
                            .get(kid)
                            .and_then(|v| v.iter().find(|c| c.x5c.as_slice() == x5c))
                        {
                            return Ok(vec![Resolved { chain: hit.clone() }]);
                        }
                    }
                }
                let ders = x5c
                    .iter()
                    .map(|c| {
                        if c.len() > MAX_CERT_LEN * 4 / 3 + 4 {
                            return Err(ChainError::CertificateTooLarge {
                                size: c.len() * 3 / 4,
                                max: MAX_CERT_LEN,
                            });
                        }
                        jose::b64_decode(c).map(CertificateDer::from).map_err(|_| {
                            ChainError::Malformed {
                                reason: "x5c entry is not standard base64",
                            }
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let (key, mut window) = read_signing_key(&ders[0])?;
                for d in &ders[1..] {
                    let c = parse_cert(d)?;
                    window.0 = window.0.max(c.validity().not_before.timestamp());
                    window.1 = window.1.min(c.validity().not_after.timestamp());
                }
                Ok(vec![Resolved {
                    chain: Arc::new(IssuerChain {
                        x5c: x5c.to_vec(),
                        info: read_issuer(&ders[0]).ok(),
                        ders,
                        key,
                        window,
                        validated: AtomicBool::new(false),
                    }),
                }])
            }
            None => {
                let kid = kid.ok_or(ChainError::NoIssuerReference)?;
                let known = self
                    .issuers
                    .get(kid)
                    .ok_or_else(|| ChainError::UnknownKid {
                        kid: kid.to_owned(),
                    })?;
                Ok(known
                    .iter()
                    .map(|c| Resolved { chain: c.clone() })
                    .collect())
            }
        }
    }

    /// Validates the signer's chain at `at` (the licence's signing time): a path to a
    /// trusted root, every certificate (the root included) valid at `at`, the
    /// licence-signing EKU, and then the issuer profile of the leaf. Returns what the
    /// leaf says.
    pub fn validate<'r>(
        &self,
        signer: &'r Resolved,
        at: i64,
    ) -> Result<&'r IssuerInfo, ChainError> {
        let chain = &signer.chain;
        if chain.validated.load(Ordering::Acquire) && at >= chain.window.0 && at <= chain.window.1 {
            if let Some(info) = &chain.info {
                return Ok(info);
            }
        }
        let leaf = webpki::EndEntityCert::try_from(&chain.ders[0]).map_err(ChainError::Webpki)?;
        let time =
            UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(at).map_err(|_| {
                ChainError::Malformed {
                    reason: "signing time before 1970",
                }
            })?));
        let path = leaf
            .verify_for_usage(
                &[webpki::ring::ECDSA_P256_SHA256],
                &self.anchors,
                &chain.ders[1..],
                time,
                webpki::KeyUsage::required(LICENCE_SIGNING_EKU_DER),
                None,
                None,
            )
            .map_err(|e| ChainError::from_webpki(e, at))?;
        let anchor_spki = path.anchor().subject_public_key_info.as_ref();
        let root = self
            .root_validity
            .iter()
            .find(|(spki, _)| spki_matches(spki, anchor_spki))
            .map(|(_, v)| *v)
            .ok_or(ChainError::UntrustedRoot)?;
        if at < root.0 {
            return Err(ChainError::RootNotValid {
                at,
                not_before: root.0,
                not_after: root.1,
            });
        }
        if at > root.1 {
            return Err(ChainError::RootNotValid {
                at,
                not_before: root.0,
                not_after: root.1,
            });
        }
        // Trusted: now the issuer profile decides (KeyUsage, names, USCC, issuer URI).
        let info = match &chain.info {
            Some(info) => info,
            None => {
                return Err(read_issuer(&chain.ders[0])
                    .err()
                    .unwrap_or(ChainError::KeyUsage))
            }
        };
        // Cache only chains that lie inside their root's validity: the cached window must
        // never reach past it. (Others are validated in full every time.)
        if chain.window.0 < root.0 || chain.window.1 > root.1 {
            return Ok(info);
        }
        chain.validated.store(true, Ordering::Release);
        if let Ok(mut cache) = self.validated.write() {
            let entry = cache.entry(info.kid.clone()).or_default();
            if !entry.iter().any(|c| c.x5c == chain.x5c) {
                entry.push(chain.clone());
            }
        }
        Ok(info)
    }
}

/// webpki gives the anchor's SPKI without its outer SEQUENCE; x509-parser keeps it.
fn spki_matches(full_spki: &[u8], anchor_spki_contents: &[u8]) -> bool {
    full_spki.ends_with(anchor_spki_contents) && full_spki.len() <= anchor_spki_contents.len() + 4
}
