//! Key binding: making and checking the KB-JWT (RFC 9901 §4.3, §7.3).

use super::*;

/// Signs a KB-JWT over `sd_hash_input` (`<jwt>~<d1>~…~`).
pub fn key_binding_jwt(
    sd_hash_input: &str,
    holder: &Es256Signer,
    params: KeyBindingParams<'_>,
) -> Result<String, PresentError> {
    let header = serde_json::json!({ "alg": jose::ES256, "typ": KB_JWT_TYP });
    let payload = serde_json::json!({
        "iat": params.iat,
        "aud": params.aud,
        "nonce": params.nonce,
        "sd_hash": disclosure_digest(sd_hash_input),
    });
    jose::sign_compact(
        header.to_string().as_bytes(),
        payload.to_string().as_bytes(),
        holder,
    )
    .map_err(PresentError::Key)
}

/// What a verifier expects of a KB-JWT.
#[derive(Debug, Clone, Copy)]
pub struct KeyBindingCheck<'a> {
    /// Expected `aud`, if the verifier checks it.
    pub aud: Option<&'a str>,
    /// Expected `nonce`, if the verifier checks it.
    pub nonce: Option<&'a str>,
    /// Verification time, seconds since the epoch.
    pub at: i64,
    /// Allowed clock skew, seconds.
    pub skew: i64,
    /// Oldest acceptable KB-JWT, seconds before `at`.
    pub max_age: i64,
}

#[derive(serde::Deserialize)]
struct KbPayload {
    iat: i64,
    aud: String,
    nonce: String,
    sd_hash: String,
}

/// Verifies a KB-JWT: `typ`, signature by the holder key, `sd_hash`, `aud`, `nonce`, `iat`.
pub fn verify_key_binding(
    kb_jwt: &str,
    holder: &Es256PublicKey,
    sd_hash_input: &str,
    check: &KeyBindingCheck<'_>,
) -> Result<(), KeyBindingError> {
    let jws = UnverifiedJws::parse(kb_jwt).map_err(KeyBindingError::Jws)?;
    let header = jws.header();
    if header.typ.as_deref() != Some(KB_JWT_TYP) {
        return Err(KeyBindingError::Type {
            typ: header.typ.clone(),
        });
    }
    let verified = jws.verify(holder).map_err(KeyBindingError::Jws)?;
    let p: KbPayload =
        serde_json::from_slice(verified.payload()).map_err(KeyBindingError::Claims)?;
    let expected = disclosure_digest(sd_hash_input);
    if !constant_time_eq(p.sd_hash.as_bytes(), expected.as_bytes()) {
        return Err(KeyBindingError::SdHash);
    }
    if let Some(aud) = check.aud {
        if p.aud != aud {
            return Err(KeyBindingError::Audience {
                expected: aud.to_owned(),
                found: p.aud,
            });
        }
    }
    if let Some(nonce) = check.nonce {
        if !constant_time_eq(p.nonce.as_bytes(), nonce.as_bytes()) {
            return Err(KeyBindingError::Nonce);
        }
    }
    if p.iat > check.at.saturating_add(check.skew) {
        return Err(KeyBindingError::InFuture {
            iat: p.iat,
            at: check.at,
        });
    }
    if p.iat < check.at.saturating_sub(check.max_age) {
        return Err(KeyBindingError::TooOld {
            iat: p.iat,
            at: check.at,
            max_age: check.max_age,
        });
    }
    Ok(())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    bool::from(a.ct_eq(b))
}

/// A KB-JWT that does not bind this presentation to the holder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyBindingError {
    /// The licence has a holder key but the presentation has no KB-JWT.
    #[error("the licence is bound to a holder key but the presentation has no key-binding JWT")]
    Missing,
    /// The verifier requires key binding but the licence names no holder key (`cnf`).
    #[error("key binding is required but the licence names no holder key (cnf), so it cannot be presented with key binding")]
    NotBindable,
    /// A KB-JWT without a holder key in the licence (`cnf`).
    #[error("a key-binding JWT was presented but the licence names no holder key (cnf)")]
    NoHolderKey,
    /// The holder key in `cnf` is unusable.
    #[error("the holder key in cnf is not a usable P-256 JWK")]
    HolderKey(#[source] jose::KeyError),
    /// The KB-JWT is malformed or its signature fails.
    #[error("the key-binding JWT is invalid")]
    Jws(#[source] jose::JwsError),
    /// `typ` is not `kb+jwt`.
    #[error("the key-binding JWT has typ {typ:?}, expected \"kb+jwt\"")]
    Type {
        /// What was found.
        typ: Option<String>,
    },
    /// Missing or mistyped claims.
    #[error("the key-binding JWT lacks iat, aud, nonce or sd_hash")]
    Claims(#[source] serde_json::Error),
    /// `sd_hash` does not match the presentation.
    #[error(
        "sd_hash does not match this presentation (disclosures added or removed after signing)"
    )]
    SdHash,
    /// Wrong audience.
    #[error("key binding is for audience {found:?}, expected {expected:?}")]
    Audience {
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// Wrong nonce.
    #[error("key-binding nonce does not match the one this verifier issued")]
    Nonce,
    /// Issued in the future.
    #[error("key-binding JWT issued at {iat}, after the verification time {at}")]
    InFuture {
        /// KB-JWT iat.
        iat: i64,
        /// Verification time.
        at: i64,
    },
    /// Too old.
    #[error("key-binding JWT issued at {iat} is older than {max_age}s at {at}")]
    TooOld {
        /// KB-JWT iat.
        iat: i64,
        /// Verification time.
        at: i64,
        /// The limit.
        max_age: i64,
    },
}
