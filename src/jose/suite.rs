//! Signature suites: ES256 (ECDSA P-256 with SHA-256) and SM2 (SM2 with SM3, the 国密
//! suite), and the keys of either.
//!
//! A suite is a property of a key, never of a token: a verifier takes the suite from the
//! trusted key (the issuer certificate, the trust list, the signed `cnf`), and a token whose
//! `alg` names another suite is refused before any arithmetic. Both suites sign with a raw
//! 64-byte `r ‖ s` in JOSE and COSE. No JOSE or COSE identifier is registered for SM2; the
//! ones chosen here are documented in `docs/sm2.md`.

use super::sm2::{Sm2PublicKey, Sm2Signer};
use super::{b64u_decode, b64u_encode, Es256PublicKey, Es256Signer, Jwk, KeyError, SignatureError};
use std::fmt;
use std::str::FromStr;

/// The JOSE `alg` for SM2 signatures with SM3 over the JWS signing input (private choice,
/// see `docs/sm2.md`).
pub const SM2_JOSE_ALG: &str = "SM2SM3";

/// The COSE `alg` for SM2 with SM3 (a private-use value, RFC 9053 §A: below -65536).
pub const SM2_COSE_ALG: i64 = -65537;

/// The COSE `alg` for ES256 (RFC 9053).
pub const ES256_COSE_ALG: i64 = -7;

/// The JWK `crv` of an SM2 public key (`kty` is `EC`).
pub const SM2_JWK_CRV: &str = "SM2";

/// A signature suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Suite {
    /// ECDSA P-256 with SHA-256 (RFC 7518 `ES256`).
    #[default]
    Es256,
    /// SM2 with SM3 (GB/T 32918.2, GB/T 32905; signer ID per GB/T 35276).
    Sm2,
}

impl Suite {
    /// Both suites, ES256 first.
    pub const ALL: [Suite; 2] = [Suite::Es256, Suite::Sm2];

    /// The name used on the command line, in the trust list and in files: `es256`, `sm2`.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Es256 => "es256",
            Suite::Sm2 => "sm2",
        }
    }

    /// The JOSE `alg` header value.
    pub fn jose_alg(self) -> &'static str {
        match self {
            Suite::Es256 => super::ES256,
            Suite::Sm2 => SM2_JOSE_ALG,
        }
    }

    /// The COSE `alg` value.
    pub fn cose_alg(self) -> i64 {
        match self {
            Suite::Es256 => ES256_COSE_ALG,
            Suite::Sm2 => SM2_COSE_ALG,
        }
    }

    /// The JWK `crv` of its public keys.
    pub fn jwk_crv(self) -> &'static str {
        match self {
            Suite::Es256 => "P-256",
            Suite::Sm2 => SM2_JWK_CRV,
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A suite name that is not `es256` or `sm2`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signature suite `{0}`: use `es256` or `sm2`")]
pub struct UnknownSuite(pub String);

impl FromStr for Suite {
    type Err = UnknownSuite;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "es256" | "p-256" | "p256" => Ok(Suite::Es256),
            "sm2" => Ok(Suite::Sm2),
            _ => Err(UnknownSuite(s.to_owned())),
        }
    }
}

/// A signing key of either suite. `Debug` never shows the secret.
#[derive(Debug)]
pub enum Signer {
    /// ES256.
    Es256(Es256Signer),
    /// SM2 with SM3.
    Sm2(Sm2Signer),
}

impl From<Es256Signer> for Signer {
    fn from(s: Es256Signer) -> Self {
        Signer::Es256(s)
    }
}

impl From<Sm2Signer> for Signer {
    fn from(s: Sm2Signer) -> Self {
        Signer::Sm2(s)
    }
}

impl Signer {
    /// Loads a PKCS#8 key of either suite; the suite is the key's curve.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        match Es256Signer::from_pkcs8(der) {
            Ok(s) => Ok(Signer::Es256(s)),
            Err(es256) => Sm2Signer::from_pkcs8(der)
                .map(Signer::Sm2)
                .map_err(|_| es256),
        }
    }

    /// Loads a private JWK of either suite (`crv` `P-256` or `SM2`).
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        if jwk.kty == "EC" && jwk.crv == SM2_JWK_CRV {
            let d = jwk.d.as_deref().ok_or(KeyError::MissingPrivate)?;
            let d = zeroize::Zeroizing::new(b64u_decode(d).map_err(KeyError::Encoding)?);
            let signer = Sm2Signer::from_scalar(&d)?;
            if signer.public_key() != PublicKey::from_jwk(jwk)?.into_sm2()? {
                return Err(KeyError::Rejected(
                    "the JWK's public point does not match its private scalar".into(),
                ));
            }
            return Ok(Signer::Sm2(signer));
        }
        Es256Signer::from_jwk(jwk).map(Signer::Es256)
    }

    /// Generates a key of `suite`; returns it with its PKCS#8 DER (secret).
    pub fn generate(suite: Suite) -> Result<(Self, zeroize::Zeroizing<Vec<u8>>), KeyError> {
        match suite {
            Suite::Es256 => Es256Signer::generate().map(|(s, d)| (Signer::Es256(s), d)),
            Suite::Sm2 => Sm2Signer::generate().map(|(s, d)| (Signer::Sm2(s), d)),
        }
    }

    /// Its suite.
    pub fn suite(&self) -> Suite {
        match self {
            Signer::Es256(_) => Suite::Es256,
            Signer::Sm2(_) => Suite::Sm2,
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        match self {
            Signer::Es256(s) => PublicKey::Es256(s.public_key()),
            Signer::Sm2(s) => PublicKey::Sm2(s.public_key()),
        }
    }

    /// Signs `message`: the raw 64-byte `r ‖ s`.
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64], KeyError> {
        match self {
            Signer::Es256(s) => s.sign(message),
            Signer::Sm2(s) => s.sign(message),
        }
    }
}

/// A public key of either suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// A P-256 key.
    Es256(Es256PublicKey),
    /// An SM2 key, with its signer ID.
    Sm2(Sm2PublicKey),
}

impl From<Es256PublicKey> for PublicKey {
    fn from(k: Es256PublicKey) -> Self {
        PublicKey::Es256(k)
    }
}

impl From<Sm2PublicKey> for PublicKey {
    fn from(k: Sm2PublicKey) -> Self {
        PublicKey::Sm2(k)
    }
}

impl PublicKey {
    /// Its suite.
    pub fn suite(&self) -> Suite {
        match self {
            PublicKey::Es256(_) => Suite::Es256,
            PublicKey::Sm2(_) => Suite::Sm2,
        }
    }

    /// The uncompressed SEC1 point.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            PublicKey::Es256(k) => k.as_bytes(),
            PublicKey::Sm2(k) => k.as_bytes(),
        }
    }

    /// Verifies a raw `r ‖ s` signature of this key's suite over `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), SignatureError> {
        match self {
            PublicKey::Es256(k) => k.verify(message, sig),
            PublicKey::Sm2(k) => k.verify(message, sig),
        }
    }

    /// The P-256 key, or an error naming the suite found.
    pub fn into_es256(self) -> Result<Es256PublicKey, KeyError> {
        match self {
            PublicKey::Es256(k) => Ok(k),
            PublicKey::Sm2(_) => Err(KeyError::NotP256 {
                kty: "EC".into(),
                crv: SM2_JWK_CRV.into(),
            }),
        }
    }

    /// The SM2 key, or an error naming the suite found.
    pub fn into_sm2(self) -> Result<Sm2PublicKey, KeyError> {
        match self {
            PublicKey::Sm2(k) => Ok(k),
            PublicKey::Es256(_) => Err(KeyError::Rejected("not an SM2 key".into())),
        }
    }

    /// The public JWK: `kty` `EC`, `crv` `P-256` or `SM2`.
    pub fn to_jwk(&self) -> Jwk {
        match self {
            PublicKey::Es256(k) => k.to_jwk(),
            PublicKey::Sm2(k) => Jwk {
                kty: "EC".into(),
                crv: SM2_JWK_CRV.into(),
                x: b64u_encode(&k.as_bytes()[1..33]),
                y: b64u_encode(&k.as_bytes()[33..]),
                d: None,
            },
        }
    }

    /// The key a public JWK names (`crv` `P-256` or `SM2`; SM2 with the default signer
    /// ID). The JWK must come from a trusted place: its `crv` chooses the suite.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        if jwk.kty == "EC" && jwk.crv == SM2_JWK_CRV {
            let x = b64u_decode(&jwk.x).map_err(KeyError::Encoding)?;
            let y = b64u_decode(&jwk.y).map_err(KeyError::Encoding)?;
            if x.len() != 32 || y.len() != 32 {
                return Err(KeyError::PointLength {
                    found: 1 + x.len() + y.len(),
                });
            }
            let mut point = [0u8; 65];
            point[0] = 0x04;
            point[1..33].copy_from_slice(&x);
            point[33..].copy_from_slice(&y);
            return Sm2PublicKey::from_sec1(&point).map(PublicKey::Sm2);
        }
        jwk.public_key().map(PublicKey::Es256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_names_round_trip() {
        for suite in Suite::ALL {
            assert_eq!(suite.name().parse::<Suite>().unwrap(), suite);
        }
        assert!("rsa".parse::<Suite>().is_err());
        assert_eq!(Suite::default(), Suite::Es256);
        assert_ne!(Suite::Es256.cose_alg(), Suite::Sm2.cose_alg());
        assert!(Suite::Sm2.cose_alg() < -65536, "private-use range");
    }

    #[test]
    fn keys_of_both_suites_round_trip_through_pkcs8_and_jwk() {
        for suite in Suite::ALL {
            let (signer, der) = Signer::generate(suite).unwrap();
            assert_eq!(signer.suite(), suite);
            let again = Signer::from_pkcs8(&der).unwrap();
            assert_eq!(again.suite(), suite);
            assert_eq!(again.public_key(), signer.public_key());
            let jwk = signer.public_key().to_jwk();
            assert_eq!(jwk.crv, suite.jwk_crv());
            assert_eq!(PublicKey::from_jwk(&jwk).unwrap(), signer.public_key());
            let sig = signer.sign(b"m").unwrap();
            signer.public_key().verify(b"m", &sig).unwrap();
        }
    }

    #[test]
    fn a_signature_of_one_suite_never_verifies_under_the_other() {
        let (es, _) = Signer::generate(Suite::Es256).unwrap();
        let (sm, _) = Signer::generate(Suite::Sm2).unwrap();
        let es_sig = es.sign(b"m").unwrap();
        let sm_sig = sm.sign(b"m").unwrap();
        assert!(sm.public_key().verify(b"m", &es_sig).is_err());
        assert!(es.public_key().verify(b"m", &sm_sig).is_err());
        // The same point bytes read as the other suite's key are not the same key.
        assert!(
            Sm2PublicKey::from_sec1(es.public_key().as_bytes()).is_err()
                || Sm2PublicKey::from_sec1(es.public_key().as_bytes())
                    .unwrap()
                    .verify(b"m", &es_sig)
                    .is_err()
        );
    }
}
