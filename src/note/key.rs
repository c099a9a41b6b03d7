//! Signed-note keys of type `0x02` (ECDSA P-256): the key ID, the verifier key text
//! `<name>+<key id>+<base64(0x02 ‖ SPKI DER)>`, and the signing key.
//!
//! Pure format code; the key files are kept by `crate::keys`.

use std::fmt;
use std::str::FromStr;

use ring::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};

use super::{check_key_name, KeyId, NoteError, SIG_TYPE_ECDSA};
use crate::jose::{b64_decode, b64_encode, sha256, Es256PublicKey, KeyError};

/// Largest verifier key string accepted.
pub const MAX_VKEY_LEN: usize = 4096;

/// DER `SubjectPublicKeyInfo` prefix of a P-256 key with an uncompressed point:
/// `SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) }`.
/// The 65-byte point `0x04 ‖ x ‖ y` follows.
pub const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// Length of the DER `SubjectPublicKeyInfo` of a P-256 key: prefix and uncompressed point.
pub const P256_SPKI_LEN: usize = P256_SPKI_PREFIX.len() + 65;

/// The DER `SubjectPublicKeyInfo` of a P-256 public key (uncompressed point).
fn p256_spki(public: &Es256PublicKey) -> [u8; P256_SPKI_LEN] {
    let mut out = [0u8; P256_SPKI_LEN];
    out[..P256_SPKI_PREFIX.len()].copy_from_slice(&P256_SPKI_PREFIX);
    out[P256_SPKI_PREFIX.len()..].copy_from_slice(public.as_bytes());
    out
}

/// Signed-note §Signature types, `0x02`: `key ID = SHA-256(SPKI DER)[:4]`.
fn ecdsa_key_id(public: &Es256PublicKey) -> KeyId {
    let digest = sha256(&p256_spki(public));
    [digest[0], digest[1], digest[2], digest[3]]
}

pub(super) fn key_id_hex(id: KeyId) -> String {
    format!("{:08x}", u32::from_be_bytes(id))
}

fn parse_key_id_hex(text: &str) -> Option<KeyId> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok().map(u32::to_be_bytes)
}

/// A trusted note verifier key: name, key ID and P-256 public key (type `0x02`).
///
/// Written as `<name>+<hex key ID>+<base64(0x02 ‖ SPKI DER)>` (its `Display`/`FromStr`).
/// The point is checked to be on the curve only when a signature is verified: a key that
/// is not a valid point verifies nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    pub(super) name: String,
    pub(super) key_id: KeyId,
    pub(super) public: Es256PublicKey,
}

impl NoteVerifier {
    /// A verifier for `public` under `name`; the key ID is computed.
    pub fn new(name: &str, public: Es256PublicKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: ecdsa_key_id(&public),
            public,
        })
    }

    /// Parses a verifier key string, checking the stated key ID against the key.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        if vkey.len() > MAX_VKEY_LEN {
            return Err(NoteError::VkeyFormat);
        }
        // Names contain no '+', so the first two '+' are the separators; base64 may
        // contain more.
        let mut parts = vkey.splitn(3, '+');
        let name = parts.next().unwrap_or_default();
        let id_hex = parts.next().ok_or(NoteError::VkeyFormat)?;
        let key_b64 = parts.next().ok_or(NoteError::VkeyFormat)?;
        check_key_name(name)?;
        let stated = parse_key_id_hex(id_hex).ok_or(NoteError::VkeyKeyId)?;
        let key = b64_decode(key_b64).map_err(|_| NoteError::VkeyEncoding)?;
        let (&sig_type, spki) = key.split_first().ok_or(NoteError::VkeyEncoding)?;
        if sig_type != SIG_TYPE_ECDSA {
            return Err(NoteError::UnsupportedSignatureType { found: sig_type });
        }
        let point = spki
            .strip_prefix(&P256_SPKI_PREFIX[..])
            .ok_or(NoteError::UnsupportedPublicKey)?;
        let public =
            Es256PublicKey::from_sec1(point).map_err(|_| NoteError::UnsupportedPublicKey)?;
        let computed = ecdsa_key_id(&public);
        if computed != stated {
            return Err(NoteError::KeyIdMismatch { stated, computed });
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: computed,
            public,
        })
    }

    /// The verifier key string.
    pub fn to_vkey(&self) -> String {
        let mut key = Vec::with_capacity(1 + P256_SPKI_LEN);
        key.push(SIG_TYPE_ECDSA);
        key.extend_from_slice(&p256_spki(&self.public));
        format!(
            "{}+{}+{}",
            self.name,
            key_id_hex(self.key_id),
            b64_encode(key)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The public key.
    pub fn public_key(&self) -> &Es256PublicKey {
        &self.public
    }

    /// The public key's DER `SubjectPublicKeyInfo`.
    pub fn spki_der(&self) -> [u8; P256_SPKI_LEN] {
        p256_spki(&self.public)
    }

    /// Whether `sig` (DER `ECDSA-Sig-Value`, without the key ID) is this key's ECDSA
    /// P-256 SHA-256 signature of `message`.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, self.public.as_bytes())
            .verify(message, sig)
            .is_ok()
    }
}

impl fmt::Display for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey())
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({})", self.to_vkey())
    }
}

impl FromStr for NoteVerifier {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_vkey(s)
    }
}

/// A note signing key: a key name and a P-256 key producing DER ECDSA signatures.
///
/// Loaded from the same PKCS#8 document as [`crate::jose::Es256Signer`], but with ring's
/// ASN.1 signing algorithm, as type `0x02` requires. `Debug` never shows the secret.
pub struct NoteSigner {
    pub(super) name: String,
    pub(super) key_id: KeyId,
    pub(super) public: Es256PublicKey,
    pair: EcdsaKeyPair,
    rng: ring::rand::SystemRandom,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("vkey", &self.verifier_key())
            .field("secret", &"[secret key elided]")
            .finish()
    }
}

impl NoteSigner {
    /// Loads a P-256 key from PKCS#8 DER to sign under `name`.
    pub fn from_pkcs8(name: &str, pkcs8_der: &[u8]) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let rng = ring::rand::SystemRandom::new();
        let pair =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8_der, &rng)
                .map_err(|e| NoteError::Key(KeyError::Rejected(e.to_string())))?;
        let public =
            Es256PublicKey::from_sec1(pair.public_key().as_ref()).map_err(NoteError::Key)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: ecdsa_key_id(&public),
            public,
            pair,
            rng,
        })
    }

    /// Generates a new key; returns it with its PKCS#8 DER (secret: store with care).
    pub fn generate(name: &str) -> Result<(Self, zeroize::Zeroizing<Vec<u8>>), NoteError> {
        let rng = ring::rand::SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| NoteError::Key(KeyError::Rejected("key generation failed".into())))?;
        let der = zeroize::Zeroizing::new(doc.as_ref().to_vec());
        Ok((Self::from_pkcs8(name, &der)?, der))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID, `SHA-256(SPKI DER)[:4]`.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The public key.
    pub fn public_key(&self) -> &Es256PublicKey {
        &self.public
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            public: self.public.clone(),
        }
    }

    /// The matching verifier key string.
    pub fn verifier_key(&self) -> String {
        self.verifier().to_vkey()
    }

    /// Signs `message` (ECDSA P-256, SHA-256), returning the DER `ECDSA-Sig-Value`.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, NoteError> {
        self.pair
            .sign(&self.rng, message)
            .map(|sig| sig.as_ref().to_vec())
            .map_err(|_| NoteError::Key(KeyError::Rejected("signing failed".into())))
    }
}
