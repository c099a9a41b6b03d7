//! The verification pipeline — the only place a [`VerifiedLicence`] is made.
//!
//! ```text
//! bytes ─► size cap ─► SD-JWT parse (strict) ─► header policy (ES256, typ, no jwk/jku)
//!       ─► issuer resolution (x5c / kid) ─► signature ─► claims ─► chain valid at iat
//!       ─► issuer consistency ─► disclosures ─► key binding ─► status ─► validity window
//! ```
//!
//! A paper seal (`EL1:…`) takes the same path from its own strict decoder on
//! (`verify/seal.rs`).
//!
//! Each step fails with the most specific [`VerifyError`]. Time is an argument.

use crate::jose;
use crate::jose::jws::{self, CompactJws, JwsError, UnverifiedJws};
use crate::ledger::{AdminStatus, Ledger, LicenceState, Reason};
use crate::licence::codes::Uscc;
use crate::licence::identifier::LicenceId;
use crate::licence::{self, FieldSpec, LicenceType};
use crate::pki::{ChainError, IssuerInfo, Resolved, TrustStore};
use crate::sdjwt::{self, DisclosureError, FormatError, KeyBindingError, SdJwt, Serialization};
use crate::status_list::{self, Status, StatusReference};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

mod seal;

/// Default allowed clock skew between issuer, holder and verifier, seconds.
pub const DEFAULT_SKEW: i64 = 300;
/// Largest clock skew a verifier may allow, seconds (one hour).
pub const MAX_SKEW: i64 = 3600;
/// Default oldest acceptable key-binding JWT, seconds.
pub const DEFAULT_KB_MAX_AGE: i64 = 600;

/// Verifies licences against a trust store.
#[derive(Debug)]
pub struct Verifier {
    trust: TrustStore,
    skew: i64,
    kb_max_age: i64,
    headers: RwLock<HashMap<u64, Vec<Arc<KnownSigner>>>>,
}

/// A protected header that already led to a valid signature and chain: seen again
/// byte for byte, it needs no decoding, policy check or issuer resolution.
#[derive(Debug)]
struct KnownSigner {
    header: jws::KnownHeader,
    signer: Resolved,
}

/// Most distinct protected headers remembered (one or two per issuer certificate).
const MAX_KNOWN_HEADERS: usize = 4096;

/// A cheap bucket key for a protected header: its length and last 24 bytes (inside the
/// certificate's signature when `x5c` is present). The full bytes are compared on a hit.
fn header_bucket(h: &str) -> u64 {
    let tail = &h.as_bytes()[h.len().saturating_sub(24)..];
    tail.iter()
        .fold(0xcbf2_9ce4_8422_2325 ^ h.len() as u64, |acc, b| {
            (acc ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        })
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

/// What is known of a verified licence's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LicenceStatus {
    /// Not revoked or suspended, according to `source` at `as_of`.
    Valid {
        /// `ledger` or `status_list`.
        source: &'static str,
        /// When the source said so.
        #[serde(serialize_with = "ser_time")]
        as_of: i64,
    },
    /// The signature is valid, but the status could not be established.
    Unknown {
        /// Why not.
        reason: String,
    },
    /// The caller did not ask for a status check.
    NotChecked,
}

/// A licence that passed every check. Only [`Verifier::verify`] can make one.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedLicence {
    licence_id: LicenceId,
    #[serde(rename = "type")]
    licence_type: TypeView,
    issuer: IssuerView,
    #[serde(serialize_with = "ser_time")]
    issued_at: i64,
    #[serde(serialize_with = "ser_time")]
    valid_from: i64,
    #[serde(serialize_with = "ser_opt_time")]
    valid_until: Option<i64>,
    holder: HolderView,
    fields: Vec<FieldView>,
    key_bound: bool,
    holder_bound: bool,
    status: LicenceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reference: Option<StatusReference>,
    #[serde(serialize_with = "ser_time")]
    checked_at: i64,
    #[serde(skip)]
    claims: Map<String, Value>,
}

fn ser_time<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&licence::format_time(*t))
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Serialize)]
struct TypeView {
    code: &'static str,
    slug: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct IssuerView {
    name: String,
    code: Uscc,
    iss: String,
    kid: String,
    certificate_sha256: String,
}

#[derive(Debug, Clone, Serialize)]
struct HolderView {
    name: Option<String>,
    id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct FieldView {
    key: &'static str,
    label_zh: &'static str,
    label_en: &'static str,
    value: String,
}

impl VerifiedLicence {
    /// The identifier.
    pub fn id(&self) -> &LicenceId {
        &self.licence_id
    }
    /// The issuing agency's name.
    pub fn issuer_name(&self) -> &str {
        &self.issuer.name
    }
    /// The issuing agency's USCC.
    pub fn issuer_code(&self) -> &Uscc {
        &self.issuer.code
    }
    /// The licence type's Chinese name.
    pub fn type_name_zh(&self) -> &'static str {
        self.licence_type.name_zh
    }
    /// Holder name, if disclosed.
    pub fn holder_name(&self) -> Option<&str> {
        self.holder.name.as_deref()
    }
    /// Holder code, if disclosed.
    pub fn holder_id(&self) -> Option<&str> {
        self.holder.id.as_deref()
    }
    /// Disclosed face fields as `(key, Chinese label, value)`.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &'static str, &str)> {
        self.fields
            .iter()
            .map(|f| (f.key, f.label_zh, f.value.as_str()))
    }
    /// The processed claims other than the holder and face fields (those are in
    /// [`holder_name`](Self::holder_name), [`holder_id`](Self::holder_id) and
    /// [`fields`](Self::fields)).
    pub fn other_claims(&self) -> &Map<String, Value> {
        &self.claims
    }
    /// Signing time (`iat`).
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }
    /// End of validity (`exp`), if any.
    pub fn not_after(&self) -> Option<i64> {
        self.valid_until
    }
    /// Whether a key-binding JWT proved the holder presented it.
    pub fn key_bound(&self) -> bool {
        self.key_bound
    }
    /// What is known of its revocation status.
    pub fn status(&self) -> &LicenceStatus {
        &self.status
    }
    /// Where its status is published (`status.status_list`), if it carries a reference.
    pub fn status_reference(&self) -> Option<&StatusReference> {
        self.status_reference.as_ref()
    }
    /// Whether the licence names a holder key (`cnf`): if so, a verifier that needs to know
    /// the holder is present should require key binding (pass `aud` and `nonce`).
    pub fn holder_bound(&self) -> bool {
        self.holder_bound
    }
}

/// The registered claims, moved out of the signed payload (never from disclosures).
struct Registered {
    iss: String,
    iat: i64,
    nbf: i64,
    exp: Option<i64>,
    vct: String,
    licence_id: String,
    cnf: Option<Cnf>,
    status: Option<StatusReference>,
}

// Claim names read from the signed payload only; a disclosure may not reuse them.
use crate::profile::REGISTERED;

#[derive(serde::Deserialize)]
struct Cnf {
    jwk: jose::Jwk,
}

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
            .get("iat")
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
    fn finish(
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

    fn check_status(
        &self,
        id: &LicenceId,
        issuer: &IssuerInfo,
        reference: Option<&StatusReference>,
        opts: &Options<'_>,
    ) -> Result<LicenceStatus, VerifyError> {
        let unknown = |reason: String| Ok(LicenceStatus::Unknown { reason });
        match opts.status {
            StatusCheck::NotChecked => Ok(LicenceStatus::NotChecked),
            StatusCheck::Ledger(ledger) => {
                let record = match ledger.record(&id.to_string()) {
                    Ok(Some(r)) => r,
                    Ok(None) => return unknown("this ledger has no record of the licence".into()),
                    Err(e) => return unknown(format!("the ledger could not be read: {e}")),
                };
                if record.issuer != issuer.agency.code.as_str()
                    || reference.is_some_and(|r| r.idx() != record.idx)
                {
                    return unknown(
                        "the ledger records another licence under this identifier".into(),
                    );
                }
                let when = record.changed_at;
                match record.state {
                    LicenceState::Valid => Ok(LicenceStatus::Valid {
                        source: "ledger",
                        as_of: opts.at,
                    }),
                    LicenceState::Revoked => Err(VerifyError::Revoked {
                        at: when,
                        from_list: false,
                        reason: record.reason.unwrap_or(Reason::Unspecified),
                        admin_status: record.admin_status,
                    }),
                    LicenceState::Suspended => Err(VerifyError::Suspended {
                        at: when,
                        from_list: false,
                        reason: record.reason.unwrap_or(Reason::CertificateHold),
                        admin_status: record.admin_status,
                    }),
                }
            }
            StatusCheck::Lists(tokens) => {
                let Some(reference) = reference else {
                    return unknown("the licence carries no status-list reference".into());
                };
                let mut last_problem = None;
                for token in tokens {
                    match self.read_status_list(token, reference, issuer, opts.at) {
                        Ok(Some(list)) => {
                            return match list.status(reference) {
                                Ok(Status::Valid) => Ok(LicenceStatus::Valid {
                                    source: "status_list",
                                    as_of: list.issued_at(),
                                }),
                                Ok(Status::Invalid) => Err(VerifyError::Revoked {
                                    at: list.issued_at(),
                                    from_list: true,
                                    reason: Reason::Unspecified,
                                    admin_status: None,
                                }),
                                Ok(Status::Suspended) => Err(VerifyError::Suspended {
                                    at: list.issued_at(),
                                    from_list: true,
                                    reason: Reason::CertificateHold,
                                    admin_status: None,
                                }),
                                Ok(other) => unknown(format!(
                                    "the status list gives the application-specific status {}",
                                    other.as_u8()
                                )),
                                Err(e) => unknown(format!("the status list cannot answer: {e}")),
                            };
                        }
                        Ok(None) => {}
                        Err(problem) => last_problem = Some(problem),
                    }
                }
                unknown(last_problem.unwrap_or_else(|| {
                    format!("no status list for {} is at hand", reference.uri())
                }))
            }
        }
    }

    /// A status-list token for `reference`, if `token` is one: signed by a certificate of
    /// the licence's own agency that chains to a trusted root, fresh at `at`.
    /// `Ok(None)` when the token is for another list; `Err` says why a token for this list
    /// cannot be used (stale, expired, not the agency's …).
    fn read_status_list(
        &self,
        token: &str,
        reference: &StatusReference,
        issuer: &IssuerInfo,
        at: i64,
    ) -> Result<Option<status_list::VerifiedStatusList>, String> {
        let Ok(unverified) = status_list::parse_token(token) else {
            return Ok(None);
        };
        let header = unverified.header();
        let Ok(candidates) = self
            .trust
            .candidates(header.x5c.as_deref(), header.kid_str())
        else {
            return Ok(None);
        };
        let validation = status_list::Validation::new(reference.uri(), at).skew(self.skew);
        let mut last = None;
        for candidate in &candidates {
            match unverified.verify(candidate.public_key(), &validation) {
                Ok(list) => {
                    let signer = self
                        .trust
                        .validate(candidate, list.issued_at())
                        .map_err(|e| format!("the status list's signer is not trusted: {e}"))?;
                    if signer.agency.code != issuer.agency.code {
                        return Err(format!(
                            "the status list for {} is signed by {}, not by the licence's issuer",
                            reference.uri(),
                            signer.agency.code
                        ));
                    }
                    return Ok(Some(list));
                }
                Err(status_list::StatusListError::SubMismatch { .. }) => return Ok(None),
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) => Err(format!(
                "the status list for {} cannot be used: {e}",
                reference.uri()
            )),
            None => Ok(None),
        }
    }

    fn known_header(&self, header_b64: &str) -> Option<Arc<KnownSigner>> {
        let map = self.headers.read().ok()?;
        map.get(&header_bucket(header_b64))?
            .iter()
            .find(|k| k.header.text() == header_b64)
            .cloned()
    }

    fn remember_header(&self, header: jws::KnownHeader, signer: &Resolved) {
        let header_b64 = header.text();
        if let Ok(mut map) = self.headers.write() {
            if map.values().map(Vec::len).sum::<usize>() >= MAX_KNOWN_HEADERS {
                return;
            }
            let bucket = map.entry(header_bucket(header_b64)).or_default();
            if !bucket.iter().any(|k| k.header.text() == header_b64) {
                bucket.push(Arc::new(KnownSigner {
                    header,
                    signer: signer.clone(),
                }));
            }
        }
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

impl Registered {
    fn take_from(p: &mut Map<String, Value>) -> Result<Self, VerifyError> {
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
            iss: string(p, "iss")?,
            iat: number(p, "iat")?.ok_or(VerifyError::MissingClaim { name: "iat" })?,
            nbf: number(p, "nbf")?.ok_or(VerifyError::MissingClaim { name: "nbf" })?,
            exp: number(p, "exp")?,
            vct: string(p, "vct")?,
            licence_id: string(p, "licence_id")?,
            cnf: p
                .remove("cnf")
                .map(serde_json::from_value)
                .transpose()
                .map_err(VerifyError::Claims)?,
            status: p
                .remove("status")
                .map(serde_json::from_value)
                .transpose()
                .map_err(VerifyError::Claims)?,
        })
    }
}

fn check_issuer(
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

fn build(
    info: &IssuerInfo,
    t: LicenceType,
    id: LicenceId,
    reg: &Registered,
    mut claims: Map<String, Value>,
    (key_bound, holder_bound, status): (bool, bool, LicenceStatus),
    at: i64,
) -> VerifiedLicence {
    let mut text = |k: &str| match claims.remove(k) {
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            claims.insert(k.to_owned(), other);
            None
        }
        None => None,
    };
    let holder = HolderView {
        name: text(licence::HOLDER_NAME),
        id: text(licence::HOLDER_ID),
    };
    let fields = t
        .fields()
        .iter()
        .filter_map(|f: &'static FieldSpec| {
            text(f.key).map(|value| FieldView {
                key: f.key,
                label_zh: f.zh,
                label_en: f.en,
                value,
            })
        })
        .collect();
    VerifiedLicence {
        licence_id: id,
        licence_type: TypeView {
            code: t.code(),
            slug: t.slug(),
            name_zh: t.name_zh(),
            name_en: t.name_en(),
        },
        issuer: IssuerView {
            name: info.agency.name.clone(),
            code: info.agency.code.clone(),
            iss: info.agency.issuer_uri.clone(),
            kid: info.kid.clone(),
            certificate_sha256: info.fingerprint.clone(),
        },
        issued_at: reg.iat,
        valid_from: reg.nbf,
        valid_until: reg.exp,
        holder,
        fields,
        key_bound,
        holder_bound,
        status,
        status_reference: reg.status.clone(),
        checked_at: at,
        claims,
    }
}

fn jws_error(e: JwsError) -> VerifyError {
    match e {
        JwsError::UnsupportedAlgorithm { alg } => VerifyError::UnsupportedAlgorithm { alg },
        JwsError::ForbiddenHeader { name } => VerifyError::ForbiddenHeader { name },
        other => VerifyError::Malformed(FormatError::Jws(other)),
    }
}

fn chain_error(e: ChainError) -> VerifyError {
    if e.is_untrusted() {
        VerifyError::UntrustedIssuer(e)
    } else {
        VerifyError::BadChain(e)
    }
}

/// An error and its causes on one line (skipping causes already in the message).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let text = c.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        src = c.source();
    }
    s
}

/// How the issuer named in a licence differs from its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerMismatch {
    /// `iss` is not the certificate's URI.
    Iss {
        /// The claim.
        iss: String,
        /// The certificate's URI.
        certificate: String,
    },
    /// The identifier names another agency.
    Identifier {
        /// USCC in the identifier.
        in_identifier: String,
        /// USCC in the certificate.
        certificate: String,
    },
    /// The identifier's type code does not match `vct`.
    Type {
        /// Type code in the identifier.
        in_identifier: String,
        /// The `vct`.
        vct: &'static str,
    },
}

impl std::fmt::Display for IssuerMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Iss { iss, certificate } => {
                write!(
                    f,
                    "iss {iss:?} is not the certificate's issuer {certificate:?}"
                )
            }
            Self::Identifier {
                in_identifier,
                certificate,
            } => write!(
                f,
                "the identifier names agency {in_identifier} but the certificate is {certificate}'s"
            ),
            Self::Type { in_identifier, vct } => write!(
                f,
                "the identifier's type code {in_identifier} does not match vct {vct}"
            ),
        }
    }
}

/// "revoked on 〈time〉 (reason)" from the ledger; from a status list, which carries the
/// state but not when it changed, "revoked as of 〈the list's signing time〉".
fn status_text(
    what: &str,
    at: i64,
    from_list: bool,
    reason: Reason,
    admin_status: Option<crate::ledger::AdminStatus>,
) -> String {
    let why = format!(
        "{}{}",
        admin_status
            .map(|a| format!("{}, ", a.zh()))
            .unwrap_or_default(),
        reason.name()
    );
    let at = licence::format_time(at);
    match (from_list, what) {
        (true, "suspended") => format!(
            "suspended as of {at}, the status list's signing time (a status list does not carry the suspension time)"
        ),
        (true, _) => format!(
            "{what} as of {at}, the status list's signing time (a status list does not carry the revocation time)"
        ),
        (false, "suspended") => format!("suspended since {at} ({why})"),
        (false, _) => format!("{what} on {at} ({why})"),
    }
}

/// Why a licence is not valid — the most specific reason found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// Over the size cap; nothing was decoded.
    #[error("the licence is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// Not a well-formed SD-JWT.
    #[error("malformed licence: {0}")]
    Malformed(#[source] FormatError),
    /// Not a well-formed paper seal.
    #[error("malformed seal: {0}")]
    MalformedSeal(#[source] crate::seal::DecodeError),
    /// `typ` is not `dc+sd-jwt`.
    #[error("the token type is {typ:?}, not an SD-JWT VC (\"dc+sd-jwt\")")]
    WrongType {
        /// What was found.
        typ: Option<String>,
    },
    /// Payload not JSON.
    #[error("malformed licence: the payload is not a JSON object")]
    Payload(#[source] serde_json::Error),
    /// A registered claim missing or mistyped.
    #[error("malformed licence: claim `{name}` is missing or of the wrong type")]
    MissingClaim {
        /// The claim.
        name: &'static str,
    },
    /// `cnf` is not `{ "jwk": <EC P-256 JWK> }`.
    #[error("malformed licence: cnf is not a holder JWK")]
    Claims(#[source] serde_json::Error),
    /// The header's `kid` is not a string.
    #[error("the header kid is not a string")]
    KidNotString,
    /// The header's `kid` is not the signing certificate's.
    #[error("the header kid {kid:?} does not match the signing certificate's kid {certificate:?}")]
    KidMismatch {
        /// The header kid.
        kid: String,
        /// The certificate's kid.
        certificate: String,
    },
    /// A `vct` this service does not know.
    #[error("unknown licence type {vct:?}")]
    UnknownType {
        /// The vct.
        vct: String,
    },
    /// The identifier fails its checks.
    #[error("the licence identifier is invalid")]
    Identifier(#[source] crate::licence::identifier::IdentifierError),
    /// `alg` is not ES256.
    #[error("unsupported algorithm {alg:?}: licences are signed with ES256 only")]
    UnsupportedAlgorithm {
        /// The alg.
        alg: String,
    },
    /// A header that would let the token choose its own key.
    #[error("the licence header carries `{name}`, which is never accepted")]
    ForbiddenHeader {
        /// The header.
        name: &'static str,
    },
    /// No trusted root or known issuer.
    #[error("untrusted issuer: {0}")]
    UntrustedIssuer(#[source] ChainError),
    /// The chain reaches a root but is not valid.
    #[error("bad issuer certificate chain: {0}")]
    BadChain(#[source] ChainError),
    /// The signature does not verify.
    #[error("bad signature: the licence was altered or not signed by the certificate it names")]
    BadSignature,
    /// iss or identifier disagree with the certificate.
    #[error("issuer mismatch: {reason}")]
    IssuerMismatch {
        /// How.
        reason: IssuerMismatch,
    },
    /// A disclosure does not match the signed digests.
    #[error("disclosure mismatch: {0}")]
    Disclosure(#[source] DisclosureError),
    /// Key binding failed.
    #[error("key binding failed: {0}")]
    KeyBinding(#[source] KeyBindingError),
    /// Revoked (final).
    #[error("{}", status_text("revoked", *at, *from_list, *reason, *admin_status))]
    Revoked {
        /// When (with `from_list`: when the list that says so was signed).
        at: i64,
        /// Whether this comes from a status list, which carries the state but not when it
        /// changed: then `at` is the list's signing time ("revoked as of").
        from_list: bool,
        /// RFC 5280 reason.
        reason: Reason,
        /// Chinese administrative status, if recorded.
        admin_status: Option<AdminStatus>,
    },
    /// Suspended (暂扣) for now.
    #[error("{}", status_text("suspended", *at, *from_list, *reason, *admin_status))]
    Suspended {
        /// Since when (with `from_list`: when the list that says so was signed).
        at: i64,
        /// Whether this comes from a status list (see [`VerifyError::Revoked`]).
        from_list: bool,
        /// RFC 5280 reason.
        reason: Reason,
        /// Chinese administrative status, if recorded.
        admin_status: Option<AdminStatus>,
    },
    /// Not valid yet.
    #[error("not yet valid: valid from {} (checked at {})", licence::format_time(*not_before), licence::format_time(*at))]
    NotYetValid {
        /// Check time.
        at: i64,
        /// Start of validity.
        not_before: i64,
    },
    /// Expired.
    #[error("expired on {} (checked at {})", licence::format_time(*not_after), licence::format_time(*at))]
    Expired {
        /// Check time.
        at: i64,
        /// End of validity.
        not_after: i64,
    },
}

impl VerifyError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::MalformedSeal(crate::seal::DecodeError::UnknownType { .. }) => "unknown_type",
            Self::Malformed(_)
            | Self::MalformedSeal(_)
            | Self::WrongType { .. }
            | Self::Payload(_)
            | Self::Claims(_)
            | Self::MissingClaim { .. }
            | Self::KidMismatch { .. }
            | Self::KidNotString
            | Self::Identifier(_) => "malformed",
            Self::UnknownType { .. } => "unknown_type",
            Self::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
            Self::ForbiddenHeader { .. } => "forbidden_header",
            Self::UntrustedIssuer(_) => "untrusted_issuer",
            Self::BadChain(
                ChainError::Expired { .. }
                | ChainError::NotYetValid { .. }
                | ChainError::RootNotValid { .. },
            ) => "certificate_not_valid_at_signing",
            Self::BadChain(_) => "bad_chain",
            Self::BadSignature => "bad_signature",
            Self::IssuerMismatch { .. } => "issuer_mismatch",
            Self::Disclosure(_) => "disclosure_mismatch",
            Self::KeyBinding(_) => "key_binding_failed",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Revoked { .. } => "revoked",
            Self::Suspended { .. } => "suspended",
            Self::Expired { .. } => "expired",
        }
    }

    /// Whether the licence is a forgery or altered (as opposed to genuine but expired,
    /// not yet valid, or presented without the required key binding).
    pub fn is_not_genuine(&self) -> bool {
        !matches!(
            self,
            Self::NotYetValid { .. }
                | Self::Expired { .. }
                | Self::KeyBinding(_)
                | Self::Revoked { .. }
                | Self::Suspended { .. }
        )
    }
}
