//! C2SP signed notes with ECDSA P-256 signatures: the note format, signing and
//! verification, and the verifier-key text format ([`key`]).
//!
//! Pure format code: text in, typed values out; no I/O, no clock. The ledger's
//! checkpoints (`crate::ledger::checkpoint`) are notes whose text is a checkpoint body.
//!
//! # Specifications followed
//!
//! * `c2sp.org/signed-note` ("Note"): the note format (§Format), signature lines and
//!   the rules for unknown and failing signatures (§Signatures), and signature type
//!   `0x02` (§Signature types).
//!
//! # Decisions, with where they come from
//!
//! * **Signature type.** Only `0x02`, "ECDSA signatures as implemented by
//!   github.com/transparency-dev/witness" (signed-note §Signature types), on NIST P-256
//!   (the curve that section says SHOULD be used) with SHA-256. Signed-note §Signature
//!   types asks implementations to "select only the one(s) required for their design";
//!   verifier keys of any other type, Ed25519 included, are refused.
//! * **Signature encoding.** That implementation (`NewECDSAVerifier` in
//!   transparency-dev/formats `note/note_verifier.go`, used by the witness) checks
//!   signatures with Go's `ecdsa.VerifyASN1` over `SHA-256(text)`: the signature is an
//!   ASN.1 DER `ECDSA-Sig-Value` (`SEQUENCE { r INTEGER, s INTEGER }`), **not** raw
//!   `r ‖ s`. This module signs and verifies with ring's
//!   `ECDSA_P256_SHA256_ASN1[_SIGNING]`, whose DER reader rejects non-minimal integers,
//!   long-form lengths that fit the short form, negative values and trailing bytes.
//!   The published Sigstore Rekor and Pixel checkpoints verify (see the tests).
//! * **Public key encoding.** The key material of a type-`0x02` verifier key is the
//!   DER `SubjectPublicKeyInfo` (signed-note §Signature types: "the DER encoded public
//!   key in SPKI format"), for P-256 with the uncompressed point: the fixed 26-byte
//!   prefix [`P256_SPKI_PREFIX`] followed by `0x04 ‖ x ‖ y`, 91 bytes in all (what Go's
//!   `x509.MarshalPKIXPublicKey` writes and `x509.ParsePKIXPublicKey` reads). No point
//!   compression is involved; any other SPKI (other curves, compressed points,
//!   explicit parameters) is refused as unsupported.
//! * **Key ID.** For type `0x02` the key ID is **not** the generic recommended
//!   `SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4]`: signed-note §Signature types says "the key
//!   ID for these signatures is the truncated SHA-256 hash of the DER encoded public key
//!   in SPKI format", so `key ID = SHA-256(SPKI DER)[:4]`, with neither the name nor the
//!   type byte hashed (`keyHashECDSA` in the implementation above). The Rekor key's ID
//!   `c0d23d6a` is checked in the tests, and so is the generic formula on the Ed25519
//!   `PeterNeumann` example of the Go reference implementation.
//! * **Verifier key text.** `<name>+<8 hex digits of the key ID>+<base64(0x02 ‖ SPKI
//!   DER)>`, standard padded base64 (signed-note §Conventions: RFC 4648 §4). The key ID
//!   is written in lower case; either case is read, and it must equal the ID computed
//!   from the key.
//! * **Strict parsing.** Base64 must be canonical (padding present, unused bits zero)
//!   so that every accepted note has exactly one encoding. A note is capped at
//!   [`MAX_NOTE_LEN`] bytes and [`MAX_SIGNATURES`] signature lines (signed-note §Format
//!   requires accepting at least 16).
//! * **Unknown, repeated and failing signatures** (signed-note §Signatures): a signature
//!   whose key name *and* key ID do not both match a configured verifier is ignored
//!   (reported as unverified); every signature that does match is verified, repeated
//!   ones included, and one that fails rejects the whole note (the spec allows or
//!   recommends this, depending on its revision); a note with no verified signature is
//!   rejected. Two configured verifiers with the same name and key ID but different
//!   keys are refused as ambiguous.

use crate::jose::b64_decode;
use crate::jose::b64_encode;
use crate::jose::KeyError;

pub mod key;

pub use key::{NoteSigner, NoteVerifier, MAX_VKEY_LEN, P256_SPKI_LEN, P256_SPKI_PREFIX};

/// The signature type identifier byte of ECDSA (signed-note §Signature types).
pub const SIG_TYPE_ECDSA: u8 = 0x02;

/// Largest signed note (or checkpoint body) accepted, in bytes, before any parsing.
pub const MAX_NOTE_LEN: usize = 1 << 20;

/// Most signature lines accepted in one note (signed-note §Format: at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// A key ID: the first four bytes of a hash, in big-endian order (signed-note §Format).
pub type KeyId = [u8; 4];

/// Em dash (U+2014) and space: the start of every signature line (signed-note §Format).
const SIG_LINE_PREFIX: &str = "\u{2014} ";

// ---------------------------------------------------------------------------------------
// Signed notes (c2sp.org/signed-note)
// ---------------------------------------------------------------------------------------

/// One signature line of a note: `— <name> base64(key ID ‖ signature)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key ID: the first four bytes of the decoded signature.
    pub key_id: KeyId,
    /// The signature proper (for type `0x02`, DER), after the key ID; never empty.
    pub sig: Vec<u8>,
}

/// A signed note split into its text and its signatures, nothing verified.
///
/// Its text must be ignored until [`verify_note`] has checked a trusted signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The text, including its final newline but not the blank separator line.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// The signed note as text (signed-note §Format): the text, a blank line, then one
    /// line per signature. Refuses what [`parse_note`] would refuse.
    pub fn render(&self) -> Result<String, NoteError> {
        check_text(&self.text)?;
        if self.signatures.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        let mut out = String::with_capacity(self.text.len() + 1 + 128 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for (i, s) in self.signatures.iter().enumerate() {
            check_key_name(&s.name)?;
            if s.sig.is_empty() {
                return Err(NoteError::SignatureTooShort {
                    line: i + 1,
                    len: 4,
                });
            }
            let mut blob = Vec::with_capacity(4 + s.sig.len());
            blob.extend_from_slice(&s.key_id);
            blob.extend_from_slice(&s.sig);
            out.push_str(SIG_LINE_PREFIX);
            out.push_str(&s.name);
            out.push(' ');
            out.push_str(&b64_encode(&blob));
            out.push('\n');
        }
        if out.len() > MAX_NOTE_LEN {
            return Err(NoteError::TooLarge {
                size: out.len(),
                max: MAX_NOTE_LEN,
            });
        }
        Ok(out)
    }
}

/// Parses a signed note from bytes: they must be UTF-8, then as [`parse_note`].
pub fn parse_note_bytes(note: &[u8]) -> Result<Note, NoteError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge {
            size: note.len(),
            max: MAX_NOTE_LEN,
        });
    }
    let text = std::str::from_utf8(note).map_err(|_| NoteError::NotUtf8)?;
    parse_note(text)
}

/// Parses a signed note strictly (signed-note §Format), verifying nothing.
///
/// At most [`MAX_NOTE_LEN`] bytes; no ASCII control character but newline; the text
/// ends at the last blank line; then one to [`MAX_SIGNATURES`] lines of em dash, space,
/// a valid key name, space, and the canonical base64 of at least 5 bytes (a 4-byte key
/// ID and a non-empty signature), each ending in a newline.
pub fn parse_note(note: &str) -> Result<Note, NoteError> {
    if note.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge {
            size: note.len(),
            max: MAX_NOTE_LEN,
        });
    }
    check_control(note)?;
    // "The text is separated from the signatures by the last empty line in the note."
    let split = note.rfind("\n\n").ok_or(NoteError::MissingSeparator)?;
    let text = &note[..split + 1];
    let block = &note[split + 2..];
    if block.is_empty() {
        return Err(NoteError::NoSignatures);
    }
    let block = block
        .strip_suffix('\n')
        .ok_or(NoteError::MissingTrailingNewline)?;
    let mut signatures = Vec::new();
    for (i, line) in block.split('\n').enumerate() {
        let number = i + 1;
        if number > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        signatures.push(parse_signature_line(line, number)?);
    }
    Ok(Note {
        text: text.to_owned(),
        signatures,
    })
}

fn parse_signature_line(line: &str, number: usize) -> Result<NoteSignature, NoteError> {
    let rest = line
        .strip_prefix(SIG_LINE_PREFIX)
        .ok_or(NoteError::SignaturePrefix { line: number })?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::SignatureEncoding { line: number })?;
    if b64.is_empty() {
        return Err(NoteError::SignatureEncoding { line: number });
    }
    if !is_valid_key_name(name) {
        return Err(NoteError::SignatureKeyName { line: number });
    }
    let blob = b64_decode(b64).map_err(|_| NoteError::SignatureEncoding { line: number })?;
    if blob.len() < 5 {
        return Err(NoteError::SignatureTooShort {
            line: number,
            len: blob.len(),
        });
    }
    let mut key_id = [0u8; 4];
    key_id.copy_from_slice(&blob[..4]);
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id,
        sig: blob[4..].to_vec(),
    })
}

/// Signed-note §Format: no ASCII control characters other than newline. A byte scan is
/// exact: in UTF-8, bytes below 0x80 only ever encode themselves.
fn check_control(text: &str) -> Result<(), NoteError> {
    match text.bytes().position(|b| b < 0x20 && b != b'\n') {
        Some(offset) => Err(NoteError::ControlCharacter { offset }),
        None => Ok(()),
    }
}

/// A note text: ends in a newline, no control characters other than newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    check_control(text)
}

/// Signed-note §Format: key names are non-empty and contain no Unicode space and no
/// `+`; being part of a note, they contain no control character either.
fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c < '\u{20}')
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if is_valid_key_name(name) {
        Ok(())
    } else {
        Err(NoteError::InvalidKeyName)
    }
}

/// Signs `text` (which must end in a newline) and returns the complete signed note.
pub fn sign_note(text: &str, signer: &NoteSigner) -> Result<String, NoteError> {
    check_text(text)?;
    if text.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge {
            size: text.len(),
            max: MAX_NOTE_LEN,
        });
    }
    let sig = signer.sign(text.as_bytes())?;
    Note {
        text: text.to_owned(),
        signatures: vec![NoteSignature {
            name: signer.name.clone(),
            key_id: signer.key_id,
            sig,
        }],
    }
    .render()
}

/// A note whose text carries at least one valid signature from a configured verifier.
///
/// Only [`verify_note`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedNote {
    text: String,
    verified: Vec<NoteSignature>,
    unverified: Vec<NoteSignature>,
}

impl VerifiedNote {
    /// The verified text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The verified text, by value.
    pub fn into_text(self) -> String {
        self.text
    }

    /// The signatures that matched a verifier and verified (never empty).
    pub fn verified(&self) -> &[NoteSignature] {
        &self.verified
    }

    /// The signatures from keys not configured, ignored as signed-note §Signatures says.
    pub fn unverified(&self) -> &[NoteSignature] {
        &self.unverified
    }
}

/// Parses and verifies a signed note (signed-note §Signatures).
///
/// A signature is from a known key when its key name and key ID both match one of
/// `verifiers`; others are ignored. Every signature from a known key must verify, or the
/// note is rejected; at least one must be present.
pub fn verify_note(note: &str, verifiers: &[NoteVerifier]) -> Result<VerifiedNote, NoteError> {
    let note = parse_note(note)?;
    check_unambiguous(verifiers)?;
    let mut verified = Vec::new();
    let mut unverified = Vec::new();
    for sig in note.signatures {
        match verifiers
            .iter()
            .find(|v| v.key_id == sig.key_id && v.name == sig.name)
        {
            None => unverified.push(sig),
            Some(v) => {
                if !v.verify(note.text.as_bytes(), &sig.sig) {
                    return Err(NoteError::InvalidSignature {
                        name: sig.name,
                        key_id: sig.key_id,
                    });
                }
                verified.push(sig);
            }
        }
    }
    if verified.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(VerifiedNote {
        text: note.text,
        verified,
        unverified,
    })
}

/// Two verifiers with one name and key ID but different keys leave a signature's key
/// undetermined (signed-note §Signatures: the tuple identifies the key).
fn check_unambiguous(verifiers: &[NoteVerifier]) -> Result<(), NoteError> {
    for (i, a) in verifiers.iter().enumerate() {
        for b in &verifiers[i + 1..] {
            if a.name == b.name && a.key_id == b.key_id && a.public != b.public {
                return Err(NoteError::AmbiguousVerifiers {
                    name: a.name.clone(),
                    key_id: a.key_id,
                });
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a note or a key was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Over the size cap; nothing was parsed.
    #[error("the note is {size} bytes, more than the {max} accepted")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The cap.
        max: usize,
    },
    /// Not UTF-8.
    #[error("the note is not UTF-8")]
    NotUtf8,
    /// An ASCII control character other than newline.
    #[error("the note contains a control character at byte {offset}")]
    ControlCharacter {
        /// Byte offset of the first one.
        offset: usize,
    },
    /// No blank line separates the text from the signatures.
    #[error("no blank line separates the note text from its signatures")]
    MissingSeparator,
    /// Nothing follows the blank line.
    #[error("the note has no signatures")]
    NoSignatures,
    /// The last signature line does not end in a newline.
    #[error("the note does not end in a newline")]
    MissingTrailingNewline,
    /// More signature lines than accepted.
    #[error("the note has more than {max} signatures")]
    TooManySignatures {
        /// The cap.
        max: usize,
    },
    /// A signature line does not start with an em dash and a space.
    #[error("signature line {line} does not start with an em dash and a space")]
    SignaturePrefix {
        /// 1-based line number within the signature block.
        line: usize,
    },
    /// A signature line's key name is empty or has a space, `+` or control character.
    #[error("signature line {line} has an invalid key name")]
    SignatureKeyName {
        /// 1-based line number within the signature block.
        line: usize,
    },
    /// A signature line has no signature, or it is not canonical base64.
    #[error("signature line {line} has no canonical base64 signature")]
    SignatureEncoding {
        /// 1-based line number within the signature block.
        line: usize,
    },
    /// A signature decodes to fewer than 5 bytes (a key ID and at least one byte).
    #[error("signature line {line} decodes to {len} bytes; at least 5 are needed")]
    SignatureTooShort {
        /// 1-based line number within the signature block.
        line: usize,
        /// Length decoded.
        len: usize,
    },
    /// A note text to sign does not end in a newline.
    #[error("a note text must end in a newline")]
    TextNotTerminated,
    /// A key name is empty or has a space, `+` or control character.
    #[error("key names are non-empty, without spaces, '+' or control characters")]
    InvalidKeyName,
    /// A verifier key string is not `name+keyid+key` or is too long.
    #[error("a verifier key is <name>+<key id>+<base64 key>")]
    VkeyFormat,
    /// A verifier key's key ID is not 8 hexadecimal digits.
    #[error("a verifier key's key ID is 8 hexadecimal digits")]
    VkeyKeyId,
    /// A verifier key's key material is not canonical base64, or is empty.
    #[error("a verifier key's key material is not canonical base64")]
    VkeyEncoding,
    /// A verifier key of a signature type other than ECDSA (`0x02`).
    #[error("signature type {found:#04x} is not supported; only ECDSA (0x02) is")]
    UnsupportedSignatureType {
        /// The type byte found.
        found: u8,
    },
    /// The key material is not the SPKI of a P-256 key with an uncompressed point.
    #[error("only P-256 public keys in SPKI form with an uncompressed point are supported")]
    UnsupportedPublicKey,
    /// The key ID stated in a verifier key is not the one computed from the key.
    #[error("the verifier key states key ID {stated:02x?} but the key's is {computed:02x?}")]
    KeyIdMismatch {
        /// The key ID written.
        stated: KeyId,
        /// The key ID computed from the key.
        computed: KeyId,
    },
    /// Two configured verifiers share a name and key ID but have different keys.
    #[error("two verifiers named {name:?} share key ID {key_id:02x?} with different keys")]
    AmbiguousVerifiers {
        /// The shared name.
        name: String,
        /// The shared key ID.
        key_id: KeyId,
    },
    /// A signature from a known key does not verify.
    #[error("the signature by {name:?} (key ID {key_id:02x?}) does not verify")]
    InvalidSignature {
        /// The key name.
        name: String,
        /// The key ID.
        key_id: KeyId,
    },
    /// No signature is from a configured verifier.
    #[error("the note has no signature from a known key")]
    NoKnownSignature,
    /// A signing key was rejected, or signing failed.
    #[error("signing key: {0}")]
    Key(#[source] KeyError),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::key::key_id_hex;
    use super::*;
    use crate::jose::{sha256, Es256Signer};
    use proptest::prelude::*;
    use ring::signature::{self, UnparsedPublicKey};

    // Published type-0x02 vectors, as used by transparency-dev/formats
    // note/note_verifier_test.go (the Sigstore Rekor key) and by sigstore clients.
    pub(crate) const REKOR_VKEY: &str = "rekor.sigstore.dev+c0d23d6a+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhtmPtrWm3U1eQXBogSMdGvXwBcK5AW5i0hrZLOC96l+smGNM7nwZ4QvFK/4sueRoVj//QP22Ni4Qt9DPfkWLc=";
    pub(crate) const REKOR_NOTE: &str = "Rekor\n798034\nf+7CoKgXKE/tNys9TTXcr/ad6U/K3xvznmzew9y6SP0=\n\n\u{2014} rekor.sigstore.dev wNI9ajBEAiARInWIWyCdyG27CO6LPnPekyw20qO0YJfoaPaowGp/XgIgc+qEHS3+GKVClgqq20uDLet7MCoTURUCRdxwWBHHufk=\n";
    pub(crate) const REKOR_CHECKPOINT_EXT: &str = "rekor.sigstore.dev - 2605736670972794746\n21428036\nrxnoKyFZlJ7/R6bMh/d3lcqwKqAy5CL1LcNBJP17kgQ=\nTimestamp: 1688058656037355364\n\n\u{2014} rekor.sigstore.dev wNI9ajBFAiEAuDk7uu5Ae8Own/MjhSZNuVzbLuYH2jBMxbSA0WaNDNACIDV4reKpYiOpkwtvazCClnpUuduF2o/th2xR3gRZAUU4\n";
    pub(crate) const PIXEL_VKEY: &str = "pixel6_transparency_log+91c16e30+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABN+4x0Jk1yTwvLFI9A4NDdGZcX0aiWVdWM5XJVy0M4VWD3AvyW5Q6Hs9A0mcDkpUoYgn+KKPNzFC0H3nN3q6JQ8=";
    pub(crate) const PIXEL_NOTE: &str = "DEFAULT\n10\nbsWRucJU5xJPHb5eBdOm6+DM+VelCZBuvtI3sHERJ9Y=\n\n\u{2014} pixel6_transparency_log kcFuMDBFAiEAhqMAP8P6qf6QxtUJhzMhbN+MbZ9dwfUHzGQJmffJHtoCIGD0cNe47dHWBoPwYdgBCepB06/+g5O1FmYjXl06owL4\n";

    // The Ed25519 example of golang.org/x/mod/sumdb/note (type 0x01).
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    const TEXT: &str =
        "example.org/revocations\n42\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    pub(crate) fn signer(name: &str) -> NoteSigner {
        NoteSigner::generate(name).unwrap().0
    }

    /// Replaces the signature block of `note` with `lines` (each without newline).
    fn with_sig_lines(note: &str, lines: &[String]) -> String {
        let n = parse_note(note).unwrap();
        let mut out = n.text;
        out.push('\n');
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
        out
    }

    fn sig_line(name: &str, blob: &[u8]) -> String {
        format!("{SIG_LINE_PREFIX}{name} {}", b64_encode(blob))
    }

    fn blob(key_id: KeyId, sig: &[u8]) -> Vec<u8> {
        let mut b = key_id.to_vec();
        b.extend_from_slice(sig);
        b
    }

    // ---- known answers -------------------------------------------------------------

    #[test]
    fn generic_key_id_formula_matches_the_ed25519_reference_example() {
        // key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]
        let (name, rest) = PETER_VKEY.split_once('+').unwrap();
        let (id_hex, key_b64) = rest.split_once('+').unwrap();
        let key = b64_decode(key_b64).unwrap();
        assert_eq!(key.len(), 33);
        assert_eq!(key[0], 0x01, "type byte then the 32-byte Ed25519 key");
        let mut preimage = name.as_bytes().to_vec();
        preimage.push(0x0a);
        preimage.extend_from_slice(&key);
        let digest = sha256(&preimage);
        assert_eq!(
            key_id_hex([digest[0], digest[1], digest[2], digest[3]]),
            id_hex
        );
        assert_eq!(id_hex, "c74f20a3");

        // The note parser splits the reference note where the Go code does: the
        // signature carries the key ID and verifies over exactly the text.
        let note = parse_note(PETER_NOTE).unwrap();
        assert_eq!(note.signatures.len(), 1);
        let sig = &note.signatures[0];
        assert_eq!(sig.name, "PeterNeumann");
        assert_eq!(key_id_hex(sig.key_id), "c74f20a3");
        assert_eq!(sig.sig.len(), 64);
        UnparsedPublicKey::new(&signature::ED25519, &key[1..])
            .verify(note.text.as_bytes(), &sig.sig)
            .unwrap();
        assert_eq!(note.render().unwrap(), PETER_NOTE);

        // Ed25519 keys are parsed but refused: only type 0x02 is supported.
        assert_eq!(
            NoteVerifier::from_vkey(PETER_VKEY),
            Err(NoteError::UnsupportedSignatureType { found: 0x01 })
        );
    }

    #[test]
    fn ecdsa_key_id_is_the_truncated_hash_of_the_spki() {
        let v = NoteVerifier::from_vkey(REKOR_VKEY).unwrap();
        assert_eq!(v.name(), "rekor.sigstore.dev");
        assert_eq!(v.key_id(), [0xc0, 0xd2, 0x3d, 0x6a]);
        let spki = v.spki_der();
        assert_eq!(spki[..4], [0x30, 0x59, 0x30, 0x13]);
        // Rekor's log ID is the full SHA-256 of this SPKI.
        assert_eq!(
            key_id_hex(v.key_id()),
            "c0d23d6a",
            "SHA-256(SPKI)[:4], without name or type byte"
        );
        assert_eq!(&sha256(&spki)[..4], &v.key_id());
        // The generic formula would give something else: the type-0x02 rule matters.
        let mut generic = b"rekor.sigstore.dev\n\x02".to_vec();
        generic.extend_from_slice(&spki);
        assert_ne!(&sha256(&generic)[..4], &v.key_id());
        // Rendering gives back the published string.
        assert_eq!(v.to_vkey(), REKOR_VKEY);
        assert_eq!(v.to_string(), REKOR_VKEY);
        assert_eq!(REKOR_VKEY.parse::<NoteVerifier>().unwrap(), v);

        let pixel = NoteVerifier::from_vkey(PIXEL_VKEY).unwrap();
        assert_eq!(key_id_hex(pixel.key_id()), "91c16e30");
        assert_eq!(pixel.to_vkey(), PIXEL_VKEY);
    }

    // ---- round trips -----------------------------------------------------------------

    #[test]
    fn sign_parse_verify_round_trip() {
        let s = signer("example.org/revocations");
        let note = sign_note(TEXT, &s).unwrap();
        assert!(note.starts_with(TEXT));
        assert!(note.ends_with('\n'));
        let parsed = parse_note(&note).unwrap();
        assert_eq!(parsed.text, TEXT);
        assert_eq!(parsed.signatures.len(), 1);
        assert_eq!(parsed.signatures[0].name, s.name());
        assert_eq!(parsed.signatures[0].key_id, s.key_id());
        assert_eq!(parsed.render().unwrap(), note);

        let v = NoteVerifier::from_vkey(&s.verifier_key()).unwrap();
        assert_eq!(v, s.verifier());
        let verified = verify_note(&note, &[v]).unwrap();
        assert_eq!(verified.text(), TEXT);
        assert_eq!(verified.verified(), &parsed.signatures[..]);
    }

    #[test]
    fn texts_with_blank_lines_round_trip() {
        let s = signer("a.example/k");
        for text in [
            "\n",
            "a\n\nb\n",
            "a\n\n",
            "a\n\n\n",
            "\u{2014} x y\n",
            "\u{1F600}\n",
        ] {
            let note = sign_note(text, &s).unwrap();
            let v = verify_note(&note, &[s.verifier()]).unwrap();
            assert_eq!(v.text(), text, "{note:?}");
        }
    }

    #[test]
    fn signer_matches_jose_key_and_signs_der_not_raw() {
        let (es, der) = Es256Signer::generate().unwrap();
        let s = NoteSigner::from_pkcs8("example.org/log", &der).unwrap();
        assert_eq!(s.public_key(), &es.public_key());
        let v = s.verifier();

        let der_sig = s.sign(b"msg\n").unwrap();
        assert_eq!(der_sig[0], 0x30);
        assert!(v.verify(b"msg\n", &der_sig));
        assert!(
            es.public_key().verify(b"msg\n", &der_sig).is_err(),
            "not raw r||s"
        );

        let raw = es.sign(b"msg\n").unwrap();
        assert!(es.public_key().verify(b"msg\n", &raw).is_ok());
        assert!(!v.verify(b"msg\n", &raw), "raw r||s is not accepted");
        // The same signature converted to DER (minimal INTEGERs) verifies: same scheme.
        let int = |x: &[u8]| {
            let x = &x[x.iter().position(|&b| b != 0).unwrap_or(31)..];
            if x[0] & 0x80 != 0 {
                [&[0u8][..], x].concat()
            } else {
                x.to_vec()
            }
        };
        assert!(v.verify(b"msg\n", &encode_der(&int(&raw[..32]), &int(&raw[32..]))));
    }

    /// The raw contents of r and s in a short-form DER `ECDSA-Sig-Value`.
    fn split_der(der: &[u8]) -> (&[u8], &[u8]) {
        assert_eq!(der[0], 0x30);
        assert_eq!(der[1] as usize, der.len() - 2);
        assert_eq!(der[2], 0x02);
        let rl = der[3] as usize;
        let r = &der[4..4 + rl];
        assert_eq!(der[4 + rl], 0x02);
        let sl = der[5 + rl] as usize;
        let s = &der[6 + rl..6 + rl + sl];
        assert_eq!(6 + rl + sl, der.len());
        (r, s)
    }

    fn encode_der(r: &[u8], s: &[u8]) -> Vec<u8> {
        let mut out = vec![0x30, (4 + r.len() + s.len()) as u8, 0x02, r.len() as u8];
        out.extend_from_slice(r);
        out.extend_from_slice(&[0x02, s.len() as u8]);
        out.extend_from_slice(s);
        out
    }

    #[test]
    fn non_minimal_or_altered_der_is_rejected() {
        let s = signer("k");
        let v = s.verifier();
        for _ in 0..8 {
            let sig = s.sign(b"m\n").unwrap();
            let (r, sv) = split_der(&sig);
            assert_eq!(encode_der(r, sv), sig, "re-encoding is exact");
            assert!(v.verify(b"m\n", &encode_der(r, sv)));
            // An extra leading zero on r or on s: non-minimal INTEGERs.
            let padded_r: Vec<u8> = [&[0u8][..], r].concat();
            let padded_s: Vec<u8> = [&[0u8][..], sv].concat();
            assert!(!v.verify(b"m\n", &encode_der(&padded_r, sv)));
            assert!(!v.verify(b"m\n", &encode_der(r, &padded_s)));
            // Long-form length where the short form fits.
            let mut long = vec![0x30, 0x81];
            long.extend_from_slice(&sig[1..]);
            assert!(!v.verify(b"m\n", &long));
            // Trailing garbage.
            let mut trailing = sig.clone();
            trailing.push(0);
            assert!(!v.verify(b"m\n", &trailing));
            // r and s swapped.
            assert!(!v.verify(b"m\n", &encode_der(sv, r)));
        }
    }

    // ---- verification semantics --------------------------------------------------------

    #[test]
    fn altered_signature_or_text_fails() {
        let s = signer("example.org/log");
        let note = sign_note(TEXT, &s).unwrap();
        let parsed = parse_note(&note).unwrap();
        let good = &parsed.signatures[0];

        // Text altered.
        let bad = note.replacen("42", "43", 1);
        assert_eq!(
            verify_note(&bad, &[s.verifier()]).unwrap_err(),
            NoteError::InvalidSignature {
                name: s.name().into(),
                key_id: s.key_id()
            }
        );
        // Each byte of the signature altered.
        for i in 0..good.sig.len() {
            let mut sig = good.sig.clone();
            sig[i] ^= 0x01;
            let bad = with_sig_lines(&note, &[sig_line(&good.name, &blob(good.key_id, &sig))]);
            assert!(
                matches!(
                    verify_note(&bad, &[s.verifier()]),
                    Err(NoteError::InvalidSignature { .. })
                ),
                "byte {i}"
            );
        }
        // The signature truncated.
        let bad = with_sig_lines(
            &note,
            &[sig_line(
                &good.name,
                &blob(good.key_id, &good.sig[..good.sig.len() - 1]),
            )],
        );
        assert!(matches!(
            verify_note(&bad, &[s.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn another_key_with_the_same_name_fails() {
        let trusted = signer("example.org/log");
        let other = signer("example.org/log");
        assert_ne!(trusted.key_id(), other.key_id());
        let note = sign_note(TEXT, &other).unwrap();
        // Same name, other key ID: unknown, so ignored, and nothing else verifies.
        assert_eq!(
            verify_note(&note, &[trusted.verifier()]).unwrap_err(),
            NoteError::NoKnownSignature
        );
        // Same name and the trusted key's ID (a forged key ID collision): it is verified
        // with the trusted key, and fails.
        let sig = &parse_note(&note).unwrap().signatures[0];
        let forged = with_sig_lines(
            &note,
            &[sig_line(&sig.name, &blob(trusted.key_id(), &sig.sig))],
        );
        assert!(matches!(
            verify_note(&forged, &[trusted.verifier()]),
            Err(NoteError::InvalidSignature { .. })
        ));
        // The same key under another name is another key too.
        let renamed = with_sig_lines(
            &note,
            &[sig_line("example.org/other", &blob(sig.key_id, &sig.sig))],
        );
        assert_eq!(
            verify_note(&renamed, &[other.verifier()]).unwrap_err(),
            NoteError::NoKnownSignature
        );
    }

    #[test]
    fn unknown_signatures_are_ignored_and_known_ones_all_checked() {
        let log = signer("example.org/log");
        let witness = signer("witness.example/w1");
        let note = sign_note(TEXT, &log).unwrap();
        let log_sig = parse_note(&note).unwrap().signatures.remove(0);
        let w_sig = witness.sign(TEXT.as_bytes()).unwrap();
        let w_line = sig_line(witness.name(), &blob(witness.key_id(), &w_sig));
        let log_line = sig_line(&log_sig.name, &blob(log_sig.key_id, &log_sig.sig));
        let cosigned = with_sig_lines(&note, &[w_line.clone(), log_line.clone()]);

        let v = verify_note(&cosigned, &[log.verifier()]).unwrap();
        assert_eq!(v.verified().len(), 1);
        assert_eq!(v.unverified().len(), 1);
        assert_eq!(v.unverified()[0].name, witness.name());
        let v = verify_note(&cosigned, &[log.verifier(), witness.verifier()]).unwrap();
        assert_eq!(v.verified().len(), 2);
        assert!(v.unverified().is_empty());
        // Only unknown signatures: rejected.
        assert_eq!(
            verify_note(&cosigned, &[]).unwrap_err(),
            NoteError::NoKnownSignature
        );
        // An unknown signature that is garbage is still ignored.
        let junk = sig_line("junk.example", &[1, 2, 3, 4, 5]);
        let v = verify_note(
            &with_sig_lines(&note, &[junk.clone(), log_line.clone()]),
            &[log.verifier()],
        );
        assert!(v.is_ok());

        // A repeated valid signature (ECDSA is randomized: another one) verifies.
        let second = log.sign(TEXT.as_bytes()).unwrap();
        let second_line = sig_line(log.name(), &blob(log.key_id(), &second));
        let twice = with_sig_lines(&note, &[log_line.clone(), second_line]);
        assert_eq!(
            verify_note(&twice, &[log.verifier()])
                .unwrap()
                .verified()
                .len(),
            2
        );
        // The exact same line twice is accepted too.
        let same = with_sig_lines(&note, &[log_line.clone(), log_line.clone()]);
        assert!(verify_note(&same, &[log.verifier()]).is_ok());
        // A valid signature followed by a bad one from the same known key: rejected,
        // whatever the order.
        let bad_line = sig_line(log.name(), &blob(log.key_id(), &w_sig));
        for lines in [
            [log_line.clone(), bad_line.clone()],
            [bad_line.clone(), log_line.clone()],
        ] {
            assert!(matches!(
                verify_note(&with_sig_lines(&note, &lines), &[log.verifier()]),
                Err(NoteError::InvalidSignature { .. })
            ));
        }
        // A bad signature from a known witness rejects the note even though the log's
        // signature is good.
        let bad_w = sig_line(witness.name(), &blob(witness.key_id(), &log_sig.sig));
        assert!(matches!(
            verify_note(
                &with_sig_lines(&note, &[log_line, bad_w]),
                &[log.verifier(), witness.verifier()]
            ),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn ambiguous_verifiers_are_refused() {
        let a = signer("example.org/log");
        let b = signer("example.org/log");
        let note = sign_note(TEXT, &a).unwrap();
        // The same verifier twice is harmless.
        assert!(verify_note(&note, &[a.verifier(), a.verifier()]).is_ok());
        // Same name and key ID, different key: only constructible by forging the ID.
        let forged = NoteVerifier {
            name: a.name().into(),
            key_id: a.key_id(),
            public: b.public_key().clone(),
        };
        assert!(matches!(
            verify_note(&note, &[a.verifier(), forged]),
            Err(NoteError::AmbiguousVerifiers { .. })
        ));
    }

    #[test]
    fn many_signatures_up_to_the_limit() {
        let s = signer("example.org/log");
        let note = sign_note(TEXT, &s).unwrap();
        let sig = parse_note(&note).unwrap().signatures.remove(0);
        let line = sig_line(&sig.name, &blob(sig.key_id, &sig.sig));
        let lines = vec![line.clone(); MAX_SIGNATURES];
        assert!(verify_note(&with_sig_lines(&note, &lines), &[s.verifier()]).is_ok());
        let lines = vec![line; MAX_SIGNATURES + 1];
        assert_eq!(
            parse_note(&with_sig_lines(&note, &lines)).unwrap_err(),
            NoteError::TooManySignatures {
                max: MAX_SIGNATURES
            }
        );
    }

    // ---- strict parsing --------------------------------------------------------------

    #[test]
    fn malformed_notes_are_rejected() {
        let s = signer("example.org/log");
        let note = sign_note(TEXT, &s).unwrap();
        let sig = parse_note(&note).unwrap().signatures.remove(0);
        let b64 = b64_encode(blob(sig.key_id, &sig.sig));
        let good_line = format!("\u{2014} {} {b64}", sig.name);
        use NoteError as E;
        let cases: Vec<(String, NoteError)> = vec![
            // No blank line between text and signatures.
            (format!("{TEXT}{good_line}\n"), E::MissingSeparator),
            (String::new(), E::MissingSeparator),
            // Nothing after the blank line.
            (format!("{TEXT}\n"), E::NoSignatures),
            // No trailing newline.
            (format!("{TEXT}\n{good_line}"), E::MissingTrailingNewline),
            // Control characters, in the text or the signatures; CR included.
            (
                format!("a\tb\n\n{good_line}\n"),
                E::ControlCharacter { offset: 1 },
            ),
            (
                format!("{TEXT}\n{good_line}\r\n"),
                E::ControlCharacter {
                    offset: note.len() - 1,
                },
            ),
            (
                format!("x\0\n\n{good_line}\n"),
                E::ControlCharacter { offset: 1 },
            ),
            // Signature line prefix: hyphen, en dash, no space, two spaces, leading space.
            (
                format!("{TEXT}\n- {} {b64}\n", sig.name),
                E::SignaturePrefix { line: 1 },
            ),
            (
                format!("{TEXT}\n\u{2013} {} {b64}\n", sig.name),
                E::SignaturePrefix { line: 1 },
            ),
            (
                format!("{TEXT}\n\u{2014}{} {b64}\n", sig.name),
                E::SignaturePrefix { line: 1 },
            ),
            (
                format!("{TEXT}\n \u{2014} {} {b64}\n", sig.name),
                E::SignaturePrefix { line: 1 },
            ),
            (
                format!("{TEXT}\n{good_line}\nx\n"),
                E::SignaturePrefix { line: 2 },
            ),
            (
                format!("{TEXT}\n\u{2014}  {} {b64}\n", sig.name),
                E::SignatureKeyName { line: 1 },
            ),
            // Key names: '+', non-ASCII space, empty.
            (
                format!("{TEXT}\n\u{2014} a+b {b64}\n"),
                E::SignatureKeyName { line: 1 },
            ),
            (
                format!("{TEXT}\n\u{2014} a\u{a0}b {b64}\n"),
                E::SignatureKeyName { line: 1 },
            ),
            (
                format!("{TEXT}\n\u{2014} a\u{3000}b {b64}\n"),
                E::SignatureKeyName { line: 1 },
            ),
            // No signature, bad base64, extra spaces.
            (
                format!("{TEXT}\n\u{2014} {}\n", sig.name),
                E::SignatureEncoding { line: 1 },
            ),
            (
                format!("{TEXT}\n\u{2014} {} \n", sig.name),
                E::SignatureEncoding { line: 1 },
            ),
            (
                format!("{TEXT}\n{good_line} \n"),
                E::SignatureEncoding { line: 1 },
            ),
            (
                format!("{TEXT}\n{good_line} x\n"),
                E::SignatureEncoding { line: 1 },
            ),
            // Padding missing (5 bytes need one '='); the URL-safe alphabet.
            (
                format!("{TEXT}\n\u{2014} k AAAAAAA\n"),
                E::SignatureEncoding { line: 1 },
            ),
            (
                format!("{TEXT}\n\u{2014} k AAAAAA-=\n"),
                E::SignatureEncoding { line: 1 },
            ),
            (
                format!("{TEXT}\n\u{2014} {} -{}\n", sig.name, &b64[1..]),
                E::SignatureEncoding { line: 1 },
            ),
            (
                format!("{TEXT}\n\u{2014} {} !!!!\n", sig.name),
                E::SignatureEncoding { line: 1 },
            ),
            // Non-canonical trailing bits: "AAAAAB==" vs "AAAAAA==" (5 bytes: ID + 1).
            (
                format!("{TEXT}\n\u{2014} k AAAAAAB=\n"),
                E::SignatureEncoding { line: 1 },
            ),
            // Too short: 4 bytes (key ID only) and fewer.
            (
                format!("{TEXT}\n\u{2014} k AAAAAA==\n"),
                E::SignatureTooShort { line: 1, len: 4 },
            ),
            (
                format!("{TEXT}\n\u{2014} k AAAA\n"),
                E::SignatureTooShort { line: 1, len: 3 },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_note(&input).unwrap_err(), want, "{input:?}");
            assert!(verify_note(&input, &[s.verifier()]).is_err());
        }
        // The 5-byte minimum is accepted by the parser.
        let n = parse_note(&format!("{TEXT}\n\u{2014} k AAAAAAA=\n")).unwrap();
        assert_eq!(n.signatures[0].sig, [0]);
        // Bytes: invalid UTF-8, and the size cap.
        assert_eq!(parse_note_bytes(b"\xff\n\n").unwrap_err(), E::NotUtf8);
        assert_eq!(
            parse_note_bytes(note.as_bytes()).unwrap(),
            parse_note(&note).unwrap()
        );
        let huge = "a".repeat(MAX_NOTE_LEN + 1);
        assert!(matches!(parse_note(&huge), Err(E::TooLarge { .. })));
        assert!(matches!(
            parse_note_bytes(huge.as_bytes()),
            Err(E::TooLarge { .. })
        ));
    }

    #[test]
    fn signing_refuses_malformed_texts_and_names() {
        let s = signer("k");
        assert_eq!(sign_note("", &s).unwrap_err(), NoteError::TextNotTerminated);
        assert_eq!(
            sign_note("no newline", &s).unwrap_err(),
            NoteError::TextNotTerminated
        );
        assert_eq!(
            sign_note("a\rb\n", &s).unwrap_err(),
            NoteError::ControlCharacter { offset: 1 }
        );
        let (_, der) = NoteSigner::generate("k").unwrap();
        for name in ["", "a b", "a+b", "a\u{2003}b", "a\u{1}b", "a\nb"] {
            assert_eq!(
                NoteSigner::from_pkcs8(name, &der).unwrap_err(),
                NoteError::InvalidKeyName,
                "{name:?}"
            );
        }
        assert!(matches!(
            NoteSigner::from_pkcs8("k", b"not pkcs8"),
            Err(NoteError::Key(_))
        ));
        let bad = Note {
            text: TEXT.into(),
            signatures: vec![],
        };
        assert_eq!(bad.render().unwrap_err(), NoteError::NoSignatures);
        let bad = Note {
            text: TEXT.into(),
            signatures: vec![NoteSignature {
                name: "k".into(),
                key_id: [0; 4],
                sig: vec![],
            }],
        };
        assert!(matches!(
            bad.render(),
            Err(NoteError::SignatureTooShort { .. })
        ));
    }

    #[test]
    fn malformed_verifier_keys_are_rejected() {
        use NoteError as E;
        let (id, key) = REKOR_VKEY
            .strip_prefix("rekor.sigstore.dev+")
            .unwrap()
            .split_once('+')
            .unwrap();
        let raw = b64_decode(key).unwrap();
        let with_key = |bytes: &[u8]| format!("rekor.sigstore.dev+{id}+{}", b64_encode(bytes));
        let cases: Vec<(String, NoteError)> = vec![
            ("rekor.sigstore.dev".into(), E::VkeyFormat),
            (format!("rekor.sigstore.dev+{id}"), E::VkeyFormat),
            (format!("+{id}+{key}"), E::InvalidKeyName),
            (format!("rekor sigstore+{id}+{key}"), E::InvalidKeyName),
            (format!("rekor.sigstore.dev+c0d23d6+{key}"), E::VkeyKeyId),
            (format!("rekor.sigstore.dev+0c0d23d6a+{key}"), E::VkeyKeyId),
            (format!("rekor.sigstore.dev+c0d23d6g+{key}"), E::VkeyKeyId),
            (format!("rekor.sigstore.dev++{key}"), E::VkeyKeyId),
            (format!("rekor.sigstore.dev+{id}+"), E::VkeyEncoding),
            (
                format!("rekor.sigstore.dev+{id}+{}", key.trim_end_matches('=')),
                E::VkeyEncoding,
            ),
            (format!("rekor.sigstore.dev+{id}+{key} "), E::VkeyEncoding),
            (
                format!("rekor.sigstore.dev+00000000+{key}"),
                E::KeyIdMismatch {
                    stated: [0; 4],
                    computed: [0xc0, 0xd2, 0x3d, 0x6a],
                },
            ),
            (
                format!("rekor.sigstore.dev+c0d23d6b+{key}"),
                E::KeyIdMismatch {
                    stated: [0xc0, 0xd2, 0x3d, 0x6b],
                    computed: [0xc0, 0xd2, 0x3d, 0x6a],
                },
            ),
            (
                with_key(&[&[0x01][..], &raw[1..]].concat()),
                E::UnsupportedSignatureType { found: 1 },
            ),
            (with_key(&[0x04]), E::UnsupportedSignatureType { found: 4 }),
            (with_key(&raw[..raw.len() - 1]), E::UnsupportedPublicKey),
            (
                with_key(&[&raw[..], &[0][..]].concat()),
                E::UnsupportedPublicKey,
            ),
            (with_key(&[0x02]), E::UnsupportedPublicKey),
            (
                // A compressed point in place of the uncompressed one.
                with_key(&{
                    let mut k = raw.clone();
                    k[27] = 0x02;
                    k
                }),
                E::UnsupportedPublicKey,
            ),
        ];
        for (vkey, want) in cases {
            assert_eq!(
                NoteVerifier::from_vkey(&vkey).unwrap_err(),
                want,
                "{vkey:?}"
            );
        }
        // The key ID may be written in upper case; it renders in lower case.
        let upper = REKOR_VKEY.replacen("c0d23d6a", "C0D23D6A", 1);
        assert_eq!(
            NoteVerifier::from_vkey(&upper).unwrap().to_vkey(),
            REKOR_VKEY
        );
        assert_eq!(
            NoteVerifier::from_vkey(&"a".repeat(MAX_VKEY_LEN + 1)).unwrap_err(),
            E::VkeyFormat
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let (s, der) = NoteSigner::generate("k").unwrap();
        let text = format!("{s:?}");
        assert!(text.contains("elided"));
        assert!(text.contains(&s.verifier_key()));
        assert!(!text.contains(&b64_encode(&der[..])));
    }

    // ---- properties ------------------------------------------------------------------

    fn arb_text() -> impl Strategy<Value = String> {
        // Lines of printable text, possibly empty, each ending in a newline.
        prop::collection::vec("[^\\x00-\\x1f]{0,12}", 1..5)
            .prop_map(|lines| lines.into_iter().map(|l| l + "\n").collect())
    }

    proptest! {
        #[test]
        fn near_notes_never_panic(
            text in arb_text(),
            lines in prop::collection::vec(
                (
                    prop_oneof![4 => "[a-z./]{1,8}", 1 => "[a-z.+/ \u{a0}]{0,8}"],
                    prop::collection::vec(any::<u8>(), 0..80),
                    prop::bool::weighted(0.9),
                ),
                0..4,
            ),
            tail in prop_oneof![3 => Just(String::new()), 1 => "[\\n\u{2014} ]{1,3}"],
        ) {
            let mut note = text;
            note.push('\n');
            for (name, bytes, dash) in &lines {
                if *dash {
                    note.push_str(SIG_LINE_PREFIX);
                }
                note.push_str(name);
                note.push(' ');
                note.push_str(&b64_encode(bytes));
                note.push('\n');
            }
            note.push_str(&tail);
            if let Ok(parsed) = parse_note(&note) {
                // Whatever parses renders back to itself: one encoding per note.
                prop_assert_eq!(parsed.render().unwrap(), note.clone());
            }
            let _ = verify_note(&note, &[]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn signed_texts_round_trip_and_any_change_fails(
            text in arb_text(),
            pos in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let s = signer("example.org/log");
            let note = sign_note(&text, &s).unwrap();
            let v = verify_note(&note, &[s.verifier()]).unwrap();
            prop_assert_eq!(v.text(), text.as_str());
            // Any single byte changed: rejected (unparseable, unknown or invalid).
            let mut bytes = note.clone().into_bytes();
            let i = pos.index(bytes.len());
            prop_assume!(bytes[i] != byte);
            bytes[i] = byte;
            let mutated = parse_note_bytes(&bytes).and_then(|_| {
                verify_note(std::str::from_utf8(&bytes).unwrap(), &[s.verifier()])
            });
            prop_assert!(mutated.is_err(), "{:?}", String::from_utf8_lossy(&bytes));
        }
    }
}
