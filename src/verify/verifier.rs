//! The verifier, its options and the pipeline: from the text to the verified value.

use super::claims::{check_issuer, Cnf, Registered};
use super::error::{chain_error, jws_error, VerifyError};
use super::verified::{build, VerifiedLicence};
use crate::jose::jws::{self, CompactJws, JwsError, UnverifiedJws};
use crate::ledger::Ledger;
use crate::licence::identifier::LicenceId;
use crate::licence::LicenceType;
use crate::pki::{IssuerInfo, Resolved, TrustStore};
use crate::sdjwt::{self, DisclosureError, FormatError, KeyBindingError, SdJwt, Serialization};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Default allowed clock skew between issuer, holder and verifier, seconds.
pub const DEFAULT_SKEW: i64 = 300;
/// Largest clock skew a verifier may allow, seconds (one hour).
pub const MAX_SKEW: i64 = 3600;
/// Default oldest acceptable key-binding JWT, seconds.
pub const DEFAULT_KB_MAX_AGE: i64 = 600;

/// Verifies licences against a trust store.
#[derive(Debug)]
pub struct Verifier {
    pub(super) trust: TrustStore,
    pub(super) skew: i64,
    pub(super) kb_max_age: i64,
    pub(super) headers: RwLock<HashMap<u64, Vec<Arc<KnownSigner>>>>,
}

/// A protected header that already led to a valid signature and chain: seen again
/// byte for byte, it needs no decoding, policy check or issuer resolution.
#[derive(Debug)]
pub(super) struct KnownSigner {
    pub(super) header: jws::KnownHeader,
    pub(super) signer: Resolved,
}

/// Per-verification options.
#[derive(Debug, Clone, Copy)]
pub struct Options<'a> {
    /// Verification time, seconds since the epoch.
    pub at: i64,
    /// Expected KB-JWT audience; when set, key binding is required.
    pub aud: Option<&'a str>,
    /// Expected KB-JWT nonce; when set, key binding is required.
    pub nonce: Option<&'a str>,
    /// Where revocation status is looked up.
    pub status: StatusCheck<'a>,
}

/// Where a licence's revocation status is checked.
#[derive(Debug, Clone, Copy)]
pub enum StatusCheck<'a> {
    /// Not checked; the verdict says so.
    NotChecked,
    /// The ledger at hand (online): revoked / suspended with reason and time.
    Ledger(&'a Ledger),
    /// Cached Token Status List tokens (offline). A stale, expired or missing list gives
    /// "status unknown", never "valid".
    Lists(&'a [String]),
}

impl<'a> Options<'a> {
    /// The same options, checking status at `status`.
    pub fn with_status<'b>(self, status: StatusCheck<'b>) -> Options<'b>
    where
        'a: 'b,
    {
        Options { status, ..self }
    }
}

// Claim names read from the signed payload only; a disclosure may not reuse them.
use crate::profile::{self, REGISTERED};

impl Options<'static> {
    /// Verify at `at` (seconds since the epoch), without key binding or status check.
    pub fn at(at: i64) -> Self {
        Options {
            at,
            aud: None,
            nonce: None,
            status: StatusCheck::NotChecked,
        }
    }
}

impl Verifier {
    /// A verifier over `trust` with the default skew.
    pub fn new(trust: TrustStore) -> Self {
        Self {
            trust,
            skew: DEFAULT_SKEW,
            kb_max_age: DEFAULT_KB_MAX_AGE,
            headers: RwLock::new(HashMap::new()),
        }
    }

    /// Sets the allowed clock skew in seconds, clamped to `0..=MAX_SKEW`: a larger skew
    /// would quietly accept expired licences.
    pub fn with_skew(mut self, skew: i64) -> Self {
        self.skew = skew.clamp(0, MAX_SKEW);
        self
    }

    /// The trust store.
    pub fn trust(&self) -> &TrustStore {
        &self.trust
    }

    /// Verifies a licence or presentation (`text`), at `opts.at`: an SD-JWT VC, or a paper
    /// seal (`EL1:…`), which goes through the same steps and gives the same verdicts.
    pub fn verify(&self, text: &str, opts: &Options<'_>) -> Result<VerifiedLicence, VerifyError> {
        if text.starts_with(crate::seal::PREFIX) {
            return self.verify_seal(text, opts);
        }
        if text.len() > sdjwt::MAX_SD_JWT_LEN {
            return Err(VerifyError::TooLarge {
                size: text.len(),
                max: sdjwt::MAX_SD_JWT_LEN,
            });
        }
        let sd = SdJwt::parse(text).map_err(VerifyError::Malformed)?;
        let [sig] = sd.signatures.as_slice() else {
            return Err(VerifyError::Malformed(FormatError::MultipleSignatures {
                count: sd.signatures.len(),
            }));
        };
        // The issuer JWT through the one reader, decoded once; a header seen before (same
        // text) is not decoded again, and its issuer is not resolved again.
        let known = self.known_header(&sig.protected_b64);
        let reuse = known.as_ref().map(|k| &k.header);
        let jws = match sd.serialization {
            Serialization::Compact => {
                let jwt_len =
                    sig.protected_b64.len() + sd.payload_b64.len() + sig.signature_b64.len() + 2;
                let parts = text
                    .get(..jwt_len)
                    .ok_or(JwsError::Structure)
                    .and_then(CompactJws::split)
                    .map_err(jws_error)?;
                UnverifiedJws::from_compact(parts, reuse)
            }
            _ => UnverifiedJws::from_parts(
                &sig.protected_b64,
                &sd.payload_b64,
                &sig.signature_b64,
                reuse,
            ),
        }
        .map_err(jws_error)?;
        let mut header_kid = None;
        let candidates = match &known {
            Some(k) => vec![k.signer.clone()],
            None => {
                let header = jws.header();
                if header.typ.as_deref() != Some(crate::profile::TYP) {
                    return Err(VerifyError::WrongType {
                        typ: header.typ.clone(),
                    });
                }
                if header.kid.is_some() && header.kid_str().is_none() {
                    return Err(VerifyError::KidNotString);
                }
                header_kid = header.kid_str().map(str::to_owned);
                // Who claims to have signed it: the x5c leaf's key, or known certificates
                // with that kid. Nothing about them is trusted yet.
                self.trust
                    .candidates(header.x5c.as_deref(), header.kid_str())
                    .map_err(chain_error)?
            }
        };

        // Well-formed payload? Checked first, so garbage is "malformed", not "bad signature".
        let mut payload: Map<String, Value> =
            serde_json::from_slice(jws.payload()).map_err(VerifyError::Payload)?;

        // Who signed it.
        let signer = candidates
            .into_iter()
            .find(|c| jws.verify(c.public_key()).is_ok())
            .ok_or(VerifyError::BadSignature)?;

        // Was the signer entitled to sign, when it says it did? Decided before anything
        // else the payload says, so a forgery under a foreign root is "untrusted issuer"
        // whatever its claims look like. (Without a usable `iat`, trust is decided at the
        // verification time and the missing claim is reported next.)
        let signed_at = payload
            .get(profile::IAT)
            .and_then(Value::as_i64)
            .filter(|t| *t >= 0)
            .unwrap_or(opts.at);
        let info = self
            .trust
            .validate(&signer, signed_at)
            .map_err(chain_error)?;
        // A kid is only a hint, but one that names another certificate than the signer's
        // is an inconsistent header (checked after the signature: an altered header is a
        // bad signature first).
        if let Some(kid) = header_kid {
            if kid != info.kid {
                return Err(VerifyError::KidMismatch {
                    kid,
                    certificate: info.kid.clone(),
                });
            }
        }

        // What it says.
        let reg = Registered::take_from(&mut payload)?;
        let licence_type =
            LicenceType::from_vct(&reg.vct).ok_or_else(|| VerifyError::UnknownType {
                vct: reg.vct.clone(),
            })?;
        let id: LicenceId = reg.licence_id.parse().map_err(VerifyError::Identifier)?;
        check_issuer(info, &reg, &id, licence_type)?;
        if !payload.contains_key("_sd_alg") {
            return Err(VerifyError::MissingClaim { name: "_sd_alg" });
        }
        if known.is_none() {
            self.remember_header(jws.known_header(), &signer);
        }

        // What is disclosed.
        let claims = sdjwt::process_disclosures(payload, &sd.disclosures)
            .map_err(VerifyError::Disclosure)?;
        if let Some(name) = REGISTERED.iter().find(|n| claims.contains_key(**n)) {
            return Err(VerifyError::Disclosure(DisclosureError::NameConflict {
                name: (*name).to_owned(),
            }));
        }
        let key_bound = self.check_key_binding(&sd, reg.cnf.as_ref(), opts)?;
        let holder_bound = reg.cnf.is_some();

        self.finish(
            info,
            licence_type,
            id,
            &reg,
            claims,
            (key_bound, holder_bound),
            opts,
        )
    }

    /// The steps after the signature, chain and claims, shared by SD-JWT VCs and seals:
    /// status, then the validity window, then the verified value.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn finish(
        &self,
        info: &IssuerInfo,
        licence_type: LicenceType,
        id: LicenceId,
        reg: &Registered,
        claims: Map<String, Value>,
        (key_bound, holder_bound): (bool, bool),
        opts: &Options<'_>,
    ) -> Result<VerifiedLicence, VerifyError> {
        // Revoked or suspended? (Before the validity window: a revoked licence is
        // reported as revoked even once it has also expired.)
        let at = opts.at;
        let status = self.check_status(&id, info, reg.status.as_ref(), opts)?;

        // Is it valid now?
        if reg.iat > at.saturating_add(self.skew) {
            return Err(VerifyError::NotYetValid {
                at,
                not_before: reg.iat,
            });
        }
        if reg.nbf > at.saturating_add(self.skew) {
            return Err(VerifyError::NotYetValid {
                at,
                not_before: reg.nbf,
            });
        }
        if let Some(exp) = reg.exp {
            if exp <= at.saturating_sub(self.skew) {
                return Err(VerifyError::Expired { at, not_after: exp });
            }
        }
        Ok(build(
            info,
            licence_type,
            id,
            reg,
            claims,
            (key_bound, holder_bound, status),
            at,
        ))
    }

    fn check_key_binding(
        &self,
        sd: &SdJwt<'_>,
        cnf: Option<&Cnf>,
        opts: &Options<'_>,
    ) -> Result<bool, VerifyError> {
        let required = opts.aud.is_some() || opts.nonce.is_some();
        let kb = match (&sd.kb_jwt, cnf, required) {
            (None, _, false) => return Ok(false),
            (None, None, true) => {
                return Err(VerifyError::KeyBinding(KeyBindingError::NotBindable))
            }
            (None, Some(_), true) => return Err(VerifyError::KeyBinding(KeyBindingError::Missing)),
            (Some(_), None, _) => {
                return Err(VerifyError::KeyBinding(KeyBindingError::NoHolderKey))
            }
            (Some(kb), Some(cnf), _) => (kb, cnf),
        };
        let holder =
            kb.1.jwk
                .public_key()
                .map_err(|e| VerifyError::KeyBinding(KeyBindingError::HolderKey(e)))?;
        let check = sdjwt::KeyBindingCheck {
            aud: opts.aud,
            nonce: opts.nonce,
            at: opts.at,
            skew: self.skew,
            max_age: self.kb_max_age,
        };
        sdjwt::verify_key_binding(kb.0, &holder, &sd.sd_hash_input(), &check)
            .map_err(VerifyError::KeyBinding)?;
        Ok(true)
    }
}
