//! JOSE primitives: strict base64url, ES256 keys and signatures, and compact JWS.
//!
//! Pure format code: bytes in, typed values out; no I/O, no clock.
//!
//! The signature algorithm is fixed by this code: ES256 (ECDSA P-256 with SHA-256, the
//! signature as raw `r ‖ s`, 64 bytes, RFC 7518 §3.4). A token's `alg` header is checked
//! against it and never used to choose a verifier; `none`, HMAC and every other algorithm
//! are rejected, and so are the `jwk`, `jku`, `x5u` and `crit` headers, which would let a
//! token name its own key or impose rules this verifier does not implement.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
use std::fmt;

pub mod jws;
pub mod sm2;
pub mod suite;

pub use jws::{
    parse_header, sign_compact, CompactJws, Header, JwsError, UnverifiedJws, VerifiedJws,
    MAX_JWS_LEN,
};
pub use sm2::{Sm2PublicKey, Sm2Signer, DEFAULT_SIGNER_ID};
pub use suite::{PublicKey, Signer, Suite};

/// The only signature algorithm this crate signs or verifies with.
pub const ES256: &str = "ES256";

/// Length of an ES256 signature: `r ‖ s`, 32 bytes each.
pub const ES256_SIGNATURE_LEN: usize = 64;

/// Base64url without padding (RFC 7515 §2), for output.
pub fn b64u_encode(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Strict base64url decoding: no padding, no whitespace, canonical trailing bits.
pub fn b64u_decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    URL_SAFE_NO_PAD.decode(text).map_err(Base64Error)
}

/// Strict standard base64 with padding (used by `x5c`, RFC 7515 §4.1.6).
pub fn b64_decode(text: &str) -> Result<Vec<u8>, Base64Error> {
    STANDARD.decode(text).map_err(Base64Error)
}

/// Standard base64 with padding, for `x5c` output.
pub fn b64_encode(bytes: impl AsRef<[u8]>) -> String {
    STANDARD.encode(bytes)
}

/// Text that is not canonical base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not canonical base64: {0}")]
pub struct Base64Error(#[source] base64::DecodeError);

/// SHA-256 of `data` (the `sha2` crate: SHA-NI when the CPU has it, and cheaper than
/// ring's digest context for the short disclosures hashed on every issue and verify).
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

/// An ES256 signing key. Its `Debug` never shows the secret.
pub struct Es256Signer {
    pair: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl fmt::Debug for Es256Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Es256Signer")
            .field("public_key", &b64u_encode(self.pair.public_key().as_ref()))
            .field("secret", &"[secret key elided]")
            .finish()
    }
}

impl Es256Signer {
    /// Loads a P-256 key from PKCS#8 DER.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(Self { pair, rng })
    }

    /// Loads a P-256 key from its JWK parts: the private scalar `d` and the public point.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        let d = jwk.d.as_deref().ok_or(KeyError::MissingPrivate)?;
        let d = zeroize::Zeroizing::new(b64u_decode(d).map_err(KeyError::Encoding)?);
        let public = jwk.public_key()?;
        let rng = ring::rand::SystemRandom::new();
        let pair = EcdsaKeyPair::from_private_key_and_public_key(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &d,
            public.as_bytes(),
            &rng,
        )
        .map_err(|e| KeyError::Rejected(e.to_string()))?;
        Ok(Self { pair, rng })
    }

    /// Generates a new key; returns it with its PKCS#8 DER encoding (secret: store with care).
    pub fn generate() -> Result<(Self, zeroize::Zeroizing<Vec<u8>>), KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| KeyError::Rejected("key generation failed".into()))?;
        let der = zeroize::Zeroizing::new(doc.as_ref().to_vec());
        Ok((Self::from_pkcs8(&der)?, der))
    }

    /// The matching public key.
    pub fn public_key(&self) -> Es256PublicKey {
        let mut point = [0u8; 65];
        point.copy_from_slice(self.pair.public_key().as_ref());
        Es256PublicKey { point }
    }

    /// Signs `message`, returning the raw 64-byte `r ‖ s` signature.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; ES256_SIGNATURE_LEN], KeyError> {
        let sig = self
            .pair
            .sign(&self.rng, message)
            .map_err(|_| KeyError::Rejected("signing failed".into()))?;
        let mut out = [0u8; ES256_SIGNATURE_LEN];
        out.copy_from_slice(sig.as_ref());
        Ok(out)
    }
}

/// A P-256 public key as an uncompressed SEC1 point (`0x04 ‖ x ‖ y`).
#[derive(Clone, PartialEq, Eq)]
pub struct Es256PublicKey {
    point: [u8; 65],
}

impl fmt::Debug for Es256PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Es256PublicKey({})", b64u_encode(self.point))
    }
}

impl Es256PublicKey {
    /// From an uncompressed SEC1 point. The point's validity is checked at verification.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        let point: [u8; 65] = bytes
            .try_into()
            .map_err(|_| KeyError::PointLength { found: bytes.len() })?;
        if point[0] != 0x04 {
            return Err(KeyError::NotUncompressed);
        }
        Ok(Self { point })
    }

    /// The uncompressed point.
    pub fn as_bytes(&self) -> &[u8] {
        &self.point
    }

    /// Verifies a raw `r ‖ s` ES256 signature over `message`.
    ///
    /// High-S signatures are accepted (RFC 7515 A.3 is one); anything but exactly 64
    /// bytes is rejected before the arithmetic.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
        if sig.len() != ES256_SIGNATURE_LEN {
            return Err(SignatureError::Length { found: sig.len() });
        }
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.point[..])
            .verify(message, sig)
            .map_err(|_| SignatureError::Invalid)
    }

    /// The public JWK (`kty: EC`, `crv: P-256`).
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: b64u_encode(&self.point[1..33]),
            y: b64u_encode(&self.point[33..]),
            d: None,
        }
    }
}

/// An EC P-256 JSON Web Key (RFC 7517), public or private. `Debug` hides `d`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Jwk {
    /// Key type; must be `EC`.
    pub kty: String,
    /// Curve; must be `P-256`.
    pub crv: String,
    /// The x coordinate, base64url.
    pub x: String,
    /// The y coordinate, base64url.
    pub y: String,
    /// The private scalar, base64url; present only in private keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("d", &self.d.as_ref().map(|_| "[secret elided]"))
            .finish()
    }
}

impl Jwk {
    /// The public key this JWK names; `kty` must be `EC` and `crv` `P-256`.
    pub fn public_key(&self) -> Result<Es256PublicKey, KeyError> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(KeyError::NotP256 {
                kty: self.kty.clone(),
                crv: self.crv.clone(),
            });
        }
        let x = b64u_decode(&self.x).map_err(KeyError::Encoding)?;
        let y = b64u_decode(&self.y).map_err(KeyError::Encoding)?;
        if x.len() != 32 || y.len() != 32 {
            return Err(KeyError::PointLength {
                found: 1 + x.len() + y.len(),
            });
        }
        let mut point = [0u8; 65];
        point[0] = 0x04;
        point[1..33].copy_from_slice(&x);
        point[33..].copy_from_slice(&y);
        Ok(Es256PublicKey { point })
    }

    /// The same key without its private part.
    pub fn to_public(&self) -> Jwk {
        Jwk {
            d: None,
            ..self.clone()
        }
    }
}

/// A key that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// ring rejected the key material.
    #[error("the key was rejected: {0}")]
    Rejected(String),
    /// A private operation needs `d`.
    #[error("the JWK has no private part `d`")]
    MissingPrivate,
    /// Not base64url.
    #[error("key material is not base64url")]
    Encoding(#[source] Base64Error),
    /// Only EC P-256 keys are supported.
    #[error("only EC P-256 keys are supported, not kty={kty} crv={crv}")]
    NotP256 {
        /// The `kty` found.
        kty: String,
        /// The `crv` found.
        crv: String,
    },
    /// An uncompressed P-256 point is 65 bytes.
    #[error("a P-256 public point is 65 bytes, found {found}")]
    PointLength {
        /// The length found.
        found: usize,
    },
    /// Compressed points are not accepted.
    #[error("the public point is not in uncompressed form")]
    NotUncompressed,
}

/// A signature that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// ES256 signatures are exactly 64 bytes.
    #[error("an ES256 signature is 64 bytes, found {found}")]
    Length {
        /// The length found.
        found: usize,
    },
    /// The signature does not match the message and key.
    #[error("the signature does not match the signed data and the signer's key")]
    Invalid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64u_decode("Zm9v").unwrap(), b"foo");
        assert!(b64u_decode("Zm9v=").is_err(), "padding");
        assert!(b64u_decode("Zm9 v").is_err(), "whitespace");
        assert!(b64u_decode("Zm8").is_ok());
        assert!(b64u_decode("Zm9").is_err(), "non-canonical trailing bits");
        assert!(b64u_decode("Zm+v").is_err(), "standard alphabet");
    }

    #[test]
    fn jwk_round_trip() {
        let (signer, _) = Es256Signer::generate().unwrap();
        let jwk = signer.public_key().to_jwk();
        assert_eq!(jwk.public_key().unwrap(), signer.public_key());
        let text = format!(
            "{:?}",
            Jwk {
                d: Some("secret".into()),
                ..jwk
            }
        );
        assert!(!text.contains("secret\""), "{text}");
    }

    #[test]
    fn signer_debug_hides_secret() {
        let (signer, der) = Es256Signer::generate().unwrap();
        let text = format!("{signer:?}");
        assert!(text.contains("elided"));
        assert!(!text.contains(&b64u_encode(&der[..])));
    }
}
