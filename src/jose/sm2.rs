//! SM2 signatures with SM3 (GB/T 32918.2, GB/T 32905), through RustCrypto's `sm2` crate.
//!
//! The signature is the raw `r ‖ s`, 32 bytes each, as ES256's is in JOSE. Every SM2
//! signature covers `Z ‖ M`, where `Z` is the SM3 hash of the signer ID and the public key
//! (GB/T 32918.2 §5.5); the signer ID is [`DEFAULT_SIGNER_ID`] (GB/T 35276 §5.1) unless a
//! key is made with another one. Pure code: no I/O, no clock.

use super::{b64u_encode, KeyError, SignatureError};
use sm2::dsa::signature::{Signer as _, Verifier as _};
use sm2::pkcs8::{DecodePrivateKey as _, EncodePrivateKey as _};
use std::fmt;
use zeroize::Zeroizing;

/// The signer ID GB/T 35276 §5.1 prescribes when none is agreed: the ASCII digits
/// `1234567812345678`.
pub const DEFAULT_SIGNER_ID: &str = "1234567812345678";

/// Length of an SM2 signature in JOSE and COSE: `r ‖ s`, 32 bytes each.
pub const SM2_SIGNATURE_LEN: usize = 64;

/// The longest signer ID accepted (the `ENTL` field counts bits in 16 bits).
pub const MAX_SIGNER_ID_LEN: usize = 8191;

/// An SM2 signing key with its signer ID. Its `Debug` never shows the secret.
pub struct Sm2Signer {
    key: sm2::dsa::SigningKey,
    signer_id: String,
}

impl fmt::Debug for Sm2Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sm2Signer")
            .field("public_key", &b64u_encode(self.public_key().as_bytes()))
            .field("signer_id", &self.signer_id)
            .field("secret", &"[secret key elided]")
            .finish()
    }
}

fn check_signer_id(signer_id: &str) -> Result<(), KeyError> {
    if signer_id.len() > MAX_SIGNER_ID_LEN {
        return Err(KeyError::Rejected(format!(
            "an SM2 signer ID is at most {MAX_SIGNER_ID_LEN} bytes, found {}",
            signer_id.len()
        )));
    }
    Ok(())
}

impl Sm2Signer {
    /// Loads an SM2 key from PKCS#8 DER (`id-ecPublicKey` with the SM2 curve), with the
    /// default signer ID.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_pkcs8_with_id(der, DEFAULT_SIGNER_ID)
    }

    /// Loads an SM2 key from PKCS#8 DER with the given signer ID.
    pub fn from_pkcs8_with_id(der: &[u8], signer_id: &str) -> Result<Self, KeyError> {
        check_signer_id(signer_id)?;
        let secret = sm2::SecretKey::from_pkcs8_der(der)
            .map_err(|e| KeyError::Rejected(format!("not an SM2 PKCS#8 key: {e}")))?;
        Self::from_secret(&secret, signer_id)
    }

    /// Loads an SM2 key from its 32-byte private scalar (big-endian), with the default
    /// signer ID.
    pub fn from_scalar(bytes: &[u8]) -> Result<Self, KeyError> {
        let secret = sm2::SecretKey::from_slice(bytes)
            .map_err(|_| KeyError::Rejected("not an SM2 private scalar".into()))?;
        Self::from_secret(&secret, DEFAULT_SIGNER_ID)
    }

    fn from_secret(secret: &sm2::SecretKey, signer_id: &str) -> Result<Self, KeyError> {
        let key = sm2::dsa::SigningKey::new(signer_id, secret)
            .map_err(|_| KeyError::Rejected("the SM2 key or signer ID is unusable".into()))?;
        Ok(Self {
            key,
            signer_id: signer_id.to_owned(),
        })
    }

    /// Generates a new key (system randomness, via ring); returns it with its PKCS#8 DER
    /// encoding (secret: store with care).
    pub fn generate() -> Result<(Self, Zeroizing<Vec<u8>>), KeyError> {
        use ring::rand::SecureRandom as _;
        let rng = ring::rand::SystemRandom::new();
        // A uniformly random 256-bit string is a valid scalar unless it is 0 or ≥ n
        // (probability about 2^-32); draw again in that case.
        for _ in 0..16 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            rng.fill(&mut bytes[..])
                .map_err(|_| KeyError::Rejected("no system randomness".into()))?;
            if let Ok(secret) = sm2::SecretKey::from_slice(&bytes[..]) {
                let der = secret
                    .to_pkcs8_der()
                    .map_err(|e| KeyError::Rejected(format!("PKCS#8 encoding failed: {e}")))?;
                let der = Zeroizing::new(der.as_bytes().to_vec());
                let signer = Self::from_secret(&secret, DEFAULT_SIGNER_ID)?;
                return Ok((signer, der));
            }
        }
        Err(KeyError::Rejected("key generation failed".into()))
    }

    /// The signer ID this key signs with.
    pub fn signer_id(&self) -> &str {
        &self.signer_id
    }

    /// The matching public key, with the same signer ID.
    pub fn public_key(&self) -> Sm2PublicKey {
        let mut point = [0u8; 65];
        point.copy_from_slice(&self.key.verifying_key().to_sec1_bytes());
        Sm2PublicKey {
            point,
            key: self.key.verifying_key().clone(),
            signer_id: self.signer_id.clone(),
        }
    }

    /// Signs `message` (SM3 over `Z ‖ message`), returning the raw 64-byte `r ‖ s`.
    ///
    /// The nonce is derived as RFC 6979 does (HMAC-SM3 over the key and message): no
    /// dependence on a random source at signing time.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; SM2_SIGNATURE_LEN], KeyError> {
        let sig: sm2::dsa::Signature = self
            .key
            .try_sign(message)
            .map_err(|_| KeyError::Rejected("SM2 signing failed".into()))?;
        let mut out = [0u8; SM2_SIGNATURE_LEN];
        out.copy_from_slice(&sig.to_bytes());
        Ok(out)
    }
}

/// An SM2 public key (uncompressed SEC1 point, validated on the curve) with the signer ID
/// its signatures are checked against.
#[derive(Clone)]
pub struct Sm2PublicKey {
    point: [u8; 65],
    key: sm2::dsa::VerifyingKey,
    signer_id: String,
}

impl PartialEq for Sm2PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.point == other.point && self.signer_id == other.signer_id
    }
}
impl Eq for Sm2PublicKey {}

impl fmt::Debug for Sm2PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Sm2PublicKey({}, id={:?})",
            b64u_encode(self.point),
            self.signer_id
        )
    }
}

impl Sm2PublicKey {
    /// From an uncompressed SEC1 point, with the default signer ID. The point must lie on
    /// the SM2 curve (checked here, not at verification).
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, KeyError> {
        Self::from_sec1_with_id(bytes, DEFAULT_SIGNER_ID)
    }

    /// From an uncompressed SEC1 point with the given signer ID.
    pub fn from_sec1_with_id(bytes: &[u8], signer_id: &str) -> Result<Self, KeyError> {
        check_signer_id(signer_id)?;
        let point: [u8; 65] = bytes
            .try_into()
            .map_err(|_| KeyError::PointLength { found: bytes.len() })?;
        if point[0] != 0x04 {
            return Err(KeyError::NotUncompressed);
        }
        let key = sm2::dsa::VerifyingKey::from_sec1_bytes(signer_id, &point)
            .map_err(|_| KeyError::Rejected("not a point on the SM2 curve".into()))?;
        Ok(Self {
            point,
            key,
            signer_id: signer_id.to_owned(),
        })
    }

    /// The same key checked against another signer ID.
    pub fn with_signer_id(&self, signer_id: &str) -> Result<Self, KeyError> {
        Self::from_sec1_with_id(&self.point, signer_id)
    }

    /// The uncompressed point.
    pub fn as_bytes(&self) -> &[u8] {
        &self.point
    }

    /// The signer ID signatures are checked against.
    pub fn signer_id(&self) -> &str {
        &self.signer_id
    }

    /// Verifies a raw `r ‖ s` SM2 signature over `message` (SM3 over `Z ‖ message`).
    /// Anything but exactly 64 bytes, and `r` or `s` outside `[1, n-1]`, is rejected.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
        if sig.len() != SM2_SIGNATURE_LEN {
            return Err(SignatureError::Length { found: sig.len() });
        }
        let sig = sm2::dsa::Signature::from_slice(sig).map_err(|_| SignatureError::Invalid)?;
        self.key
            .verify(message, &sig)
            .map_err(|_| SignatureError::Invalid)
    }

    /// Verifies a DER `SEQUENCE { r INTEGER, s INTEGER }` signature, as X.509 and GB/T
    /// 38540 seals carry them.
    pub fn verify_der(&self, message: &[u8], der: &[u8]) -> Result<(), SignatureError> {
        let sig = sm2::dsa::Signature::from_der(der).map_err(|_| SignatureError::Invalid)?;
        self.key
            .verify(message, &sig)
            .map_err(|_| SignatureError::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let (signer, der) = Sm2Signer::generate().unwrap();
        let public = signer.public_key();
        let sig = signer.sign(b"message").unwrap();
        public.verify(b"message", &sig).unwrap();
        assert_eq!(
            public.verify(b"messagE", &sig),
            Err(SignatureError::Invalid)
        );
        let mut bad = sig;
        bad[10] ^= 1;
        assert_eq!(
            public.verify(b"message", &bad),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            public.verify(b"message", &sig[..63]),
            Err(SignatureError::Length { found: 63 })
        );
        // The signer ID is part of what is signed.
        let other = public.with_signer_id("ALICE123@YAHOO.COM").unwrap();
        assert_eq!(other.verify(b"message", &sig), Err(SignatureError::Invalid));
        // Reloaded from PKCS#8: the same key.
        let again = Sm2Signer::from_pkcs8(&der).unwrap();
        assert_eq!(again.public_key(), public);
    }

    #[test]
    fn zero_and_out_of_range_signatures_are_rejected() {
        let (signer, _) = Sm2Signer::generate().unwrap();
        let public = signer.public_key();
        assert_eq!(
            public.verify(b"m", &[0u8; 64]),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            public.verify(b"m", &[0xff; 64]),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn points_off_the_curve_are_rejected() {
        let (signer, _) = Sm2Signer::generate().unwrap();
        let mut point = signer.public_key().as_bytes().to_vec();
        point[64] ^= 1;
        assert!(Sm2PublicKey::from_sec1(&point).is_err());
        point[0] = 0x02;
        assert!(Sm2PublicKey::from_sec1(&point[..33]).is_err());
    }

    #[test]
    fn a_p256_pkcs8_key_is_not_an_sm2_key() {
        let (_, der) = super::super::Es256Signer::generate().unwrap();
        assert!(Sm2Signer::from_pkcs8(&der).is_err());
    }

    #[test]
    fn debug_hides_the_secret() {
        let (signer, der) = Sm2Signer::generate().unwrap();
        let text = format!("{signer:?}");
        assert!(text.contains("elided"), "{text}");
        assert!(!text.contains(&b64u_encode(&der[..])));
    }
}
