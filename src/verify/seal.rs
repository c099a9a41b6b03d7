//! Paper seals (`EL1:…`) through the verification pipeline:
//!
//! ```text
//! text ─► seal::decode (caps, canonical layers, strict claims) ─► kid ─► trusted issuer
//!      certificates with that kid ─► signature over the Sig_structure ─► chain valid at iat
//!      ─► iss / identifier match the certificate ─► status ─► validity window
//! ```
//!
//! The steps after the claims are the SD-JWT VC's own ([`Verifier::finish`]), so a seal
//! and an SD-JWT of the same licence get the same verdict.

use super::claims::{check_issuer, Registered};
use super::error::{chain_error, VerifyError};
use super::verified::VerifiedLicence;
use super::verifier::{Options, Verifier};
use crate::jose::b64u_encode;
use crate::licence;
use crate::sdjwt::KeyBindingError;
use crate::seal::{self, DecodeError};
use serde_json::{Map, Value};

impl Verifier {
    /// Verifies a paper seal at `opts.at`.
    pub(super) fn verify_seal(
        &self,
        text: &str,
        opts: &Options<'_>,
    ) -> Result<VerifiedLicence, VerifyError> {
        let sealed = seal::decode(text).map_err(decode_error)?;
        // Who claims to have signed it: the trusted issuer certificates with its kid.
        let kid = b64u_encode(sealed.kid());
        let candidates = self
            .trust
            .candidates(None, Some(&kid))
            .map_err(chain_error)?;
        let signer = candidates
            .into_iter()
            .find(|c| sealed.verify_signature(c.public_key()).is_ok())
            .ok_or(VerifyError::BadSignature)?;
        let c = sealed.into_claims();
        let info = self.trust.validate(&signer, c.iat).map_err(chain_error)?;

        let reg = Registered {
            iss: c.iss,
            iat: c.iat,
            nbf: c.nbf,
            exp: c.exp,
            vct: c.licence_type.vct().to_owned(),
            licence_id: c.licence_id.to_string(),
            cnf: None,
            status: c.status,
        };
        check_issuer(info, &reg, &c.licence_id, c.licence_type)?;
        // Paper has no holder to sign a key-binding JWT.
        if opts.aud.is_some() || opts.nonce.is_some() {
            return Err(VerifyError::KeyBinding(KeyBindingError::NotBindable));
        }
        let mut claims = Map::new();
        claims.insert(licence::HOLDER_NAME.into(), Value::String(c.holder_name));
        claims.insert(licence::HOLDER_ID.into(), Value::String(c.holder_id));
        for (spec, value) in c.licence_type.seal_fields().iter().zip(c.fields) {
            if let Some(v) = value {
                claims.insert(spec.key.into(), Value::String(v));
            }
        }
        self.finish(
            info,
            c.licence_type,
            c.licence_id,
            &reg,
            claims,
            (false, false),
            opts,
        )
    }
}

/// A seal decoding error as a verdict: the size cap, algorithm and `crit` refusals keep
/// the codes an SD-JWT gets for the same fault.
fn decode_error(e: DecodeError) -> VerifyError {
    match e {
        DecodeError::TooLarge { size, max, .. } => VerifyError::TooLarge { size, max },
        DecodeError::Algorithm { alg } => VerifyError::UnsupportedAlgorithm { alg },
        DecodeError::Crit => VerifyError::ForbiddenHeader { name: "crit" },
        other => VerifyError::MalformedSeal(other),
    }
}
