//! The compact paper seal: a licence as COSE_Sign1 (RFC 9052) over CWT claims (RFC 8392),
//! compressed with zlib and written in Base45 (RFC 9285) behind the prefix `EL1:`, so that
//! it fits a QR code in alphanumeric mode. `docs/seal.md` fixes the format.
//!
//! Pure format code: bytes in, typed values out; no I/O, no clock. [`decode`] caps every
//! size before decoding the next layer, checks that each layer is in its one canonical
//! form with nothing after it, and returns an [`UnverifiedSeal`]; only the verify pipeline
//! decides whether one is genuine.

use crate::jose::{Es256PublicKey, Es256Signer, SignatureError, ES256_SIGNATURE_LEN};
use crate::zlib::{self, InflateError};
use coset::{iana, TaggedCborSerializable as _};

mod claims;
mod cose;
mod error;

use claims::parse_claims;
pub use claims::SealClaims;
use cose::envelope;
pub use error::{CborWriteError, CoseStructureError, DecodeError, EncodeError};

/// The text prefix; its `1` is the seal format version.
pub const PREFIX: &str = "EL1:";
/// Longest seal text accepted (prefix included), in bytes.
pub const MAX_TEXT_LEN: usize = 4096;
/// Largest zlib stream accepted (after Base45 decoding).
pub const MAX_COMPRESSED_LEN: usize = 3000;
/// Largest COSE_Sign1 accepted (after inflating): the decompression-bomb guard.
pub const MAX_COSE_LEN: usize = 8192;
/// Length of a key id: the first 8 bytes of SHA-256 over the issuer certificate.
pub const KID_LEN: usize = 8;

/// Signs `claims` as a seal under the certificate with key id `kid`, with `signer` (the
/// certificate's key). Refuses a seal that [`decode`] would not accept.
pub fn encode(
    claims: &SealClaims,
    kid: [u8; KID_LEN],
    signer: &Es256Signer,
) -> Result<String, EncodeError> {
    let mut payload = Vec::new();
    coset::cbor::ser::into_writer(&claims.to_cbor()?, &mut payload)
        .map_err(|e| EncodeError::Cbor(CborWriteError(e.to_string())))?;
    let protected = coset::HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .key_id(kid.to_vec())
        .build();
    let sign1 = coset::CoseSign1Builder::new()
        .protected(protected)
        .payload(payload)
        .try_create_signature(b"", |tbs| signer.sign(tbs).map(|s| s.to_vec()))
        .map_err(EncodeError::Sign)?
        .build();
    let cose = sign1
        .to_tagged_vec()
        .map_err(|e| EncodeError::Cbor(CborWriteError(e.to_string())))?;
    if cose.len() > MAX_COSE_LEN {
        return Err(EncodeError::TooLarge {
            layer: "COSE_Sign1",
            size: cose.len(),
            max: MAX_COSE_LEN,
        });
    }
    let compressed = deflate(&cose)?;
    if compressed.len() > MAX_COMPRESSED_LEN {
        return Err(EncodeError::TooLarge {
            layer: "compressed seal",
            size: compressed.len(),
            max: MAX_COMPRESSED_LEN,
        });
    }
    let text = format!("{PREFIX}{}", base45::encode(&compressed));
    if text.len() > MAX_TEXT_LEN {
        return Err(EncodeError::TooLarge {
            layer: "seal text",
            size: text.len(),
            max: MAX_TEXT_LEN,
        });
    }
    Ok(text)
}

/// A seal that parsed strictly, not yet verified: its key id, claims, and what was signed.
#[derive(Debug, Clone)]
pub struct UnverifiedSeal {
    kid: [u8; KID_LEN],
    claims: SealClaims,
    tbs: Vec<u8>,
    signature: [u8; ES256_SIGNATURE_LEN],
}

impl UnverifiedSeal {
    /// The key id of the certificate that claims to have signed it (a hint only).
    pub fn kid(&self) -> [u8; KID_LEN] {
        self.kid
    }

    /// What it says (not yet trusted).
    pub fn claims(&self) -> &SealClaims {
        &self.claims
    }

    /// The claims, moved out.
    pub fn into_claims(self) -> SealClaims {
        self.claims
    }

    /// The COSE Sig_structure `["Signature1", protected, h'', payload]` that was signed.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.tbs
    }

    /// Checks the ES256 signature with `key`.
    pub fn verify_signature(&self, key: &Es256PublicKey) -> Result<(), SignatureError> {
        key.verify(&self.tbs, &self.signature)
    }
}

/// Decodes a seal text strictly: the prefix, canonical Base45, one zlib stream inflated
/// under [`MAX_COSE_LEN`], one canonical COSE_Sign1 (ES256, an 8-byte kid, nothing else in
/// its headers), and the CWT claims in deterministic order with no unknown key.
pub fn decode(text: &str) -> Result<UnverifiedSeal, DecodeError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(DecodeError::TooLarge {
            layer: "seal text",
            size: text.len(),
            max: MAX_TEXT_LEN,
        });
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| DecodeError::Prefix {
            found: text.chars().take(PREFIX.len()).collect(),
        })?;
    // Base45: 3 characters per 2 bytes, so the size is known before decoding.
    let compressed_len = body.len() / 3 * 2 + usize::from(body.len() % 3 == 2);
    if compressed_len > MAX_COMPRESSED_LEN {
        return Err(DecodeError::TooLarge {
            layer: "compressed seal",
            size: compressed_len,
            max: MAX_COMPRESSED_LEN,
        });
    }
    let compressed = base45::decode(body).map_err(DecodeError::Base45)?;
    // Triples above 65535 are refused by the decoder; a final pair above 255 it truncates,
    // and that is the only other way for Base45 not to re-encode to itself.
    if let [.., a, b] = body.as_bytes() {
        let digit = |c: &u8| base45::alphabet::decode(*c).map(u32::from);
        if body.len() % 3 == 2 && digit(a).zip(digit(b)).is_none_or(|(a, b)| a + 45 * b > 255) {
            return Err(DecodeError::NotCanonical { layer: "Base45" });
        }
    }
    let cose = inflate(&compressed)?;
    let (kid, sign1) = envelope(&cose)?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or(DecodeError::DetachedPayload)?;
    let claims = parse_claims(payload)?;
    let signature: [u8; ES256_SIGNATURE_LEN] =
        sign1
            .signature
            .as_slice()
            .try_into()
            .map_err(|_| DecodeError::SignatureLength {
                found: sign1.signature.len(),
            })?;
    Ok(UnverifiedSeal {
        kid,
        claims,
        // Over the protected header's bytes as received (coset keeps them).
        tbs: sign1.tbs_data(b""),
        signature,
    })
}

/// One zlib stream of `data`, at the best compression level.
fn deflate(data: &[u8]) -> Result<Vec<u8>, EncodeError> {
    zlib::deflate(data, zlib::BEST).map_err(EncodeError::Compress)
}

/// Inflates one zlib stream into at most `MAX_COSE_LEN` + 1 bytes (then it stops: the
/// decompression-bomb guard), and refuses a stream that ends early or has bytes after it.
fn inflate(compressed: &[u8]) -> Result<Vec<u8>, DecodeError> {
    zlib::inflate(compressed, MAX_COSE_LEN).map_err(|e| match e {
        InflateError::TooLarge { max } => DecodeError::TooLarge {
            layer: "inflated seal",
            size: max + 1,
            max,
        },
        InflateError::Truncated => DecodeError::Truncated,
        InflateError::Trailing { bytes } => DecodeError::Trailing {
            layer: "zlib stream",
            bytes,
        },
        other => DecodeError::Inflate(other),
    })
}

#[cfg(test)]
mod tests {
    use super::claims::{CLAIM_IAT, CLAIM_NBF, CLAIM_STATUS};
    use super::cose::int;
    use super::*;
    use crate::licence::codes::Uscc;
    use crate::licence::identifier::LicenceId;
    use crate::licence::LicenceRequest;
    use crate::status_list::StatusReference;
    use coset::cbor::value::Value;
    use std::io::Write as _;

    fn claims() -> SealClaims {
        let req: LicenceRequest =
            serde_json::from_str(include_str!("../fixtures/requests/business_licence.json"))
                .unwrap();
        let licence = req
            .validate(&Uscc::parse("11350100MB00000012").unwrap())
            .unwrap();
        let status =
            StatusReference::new(123_456, "https://elicense.example/v1/status-lists/X/0").unwrap();
        SealClaims::from_licence(
            &licence,
            "https://elicense.example/agencies/11350100MB00000012",
            1_767_196_800,
            Some(&status),
        )
    }

    fn signer() -> Es256Signer {
        Es256Signer::generate().unwrap().0
    }

    #[test]
    fn round_trip_and_signature() {
        let key = signer();
        let c = claims();
        let text = encode(&c, [7; 8], &key).unwrap();
        assert!(text.starts_with(PREFIX));
        let seal = decode(&text).unwrap();
        assert_eq!(seal.claims(), &c);
        assert_eq!(seal.kid(), [7; 8]);
        seal.verify_signature(&key.public_key()).unwrap();
        assert!(seal.verify_signature(&signer().public_key()).is_err());
    }

    /// The COSE bytes inside a seal, and a seal made of other COSE bytes.
    fn cose_of(text: &str) -> Vec<u8> {
        inflate(&base45::decode(&text[PREFIX.len()..]).unwrap()).unwrap()
    }

    fn seal_of(cose: &[u8]) -> String {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(cose).unwrap();
        format!("{PREFIX}{}", base45::encode(z.finish().unwrap()))
    }

    fn resign(sign1: coset::CoseSign1, key: &Es256Signer) -> String {
        let b = coset::CoseSign1Builder::new()
            .protected(sign1.protected.header)
            .unprotected(sign1.unprotected)
            .payload(sign1.payload.unwrap())
            .create_signature(b"", |tbs| key.sign(tbs).unwrap().to_vec())
            .build();
        seal_of(&b.to_tagged_vec().unwrap())
    }

    #[test]
    fn untagged_is_accepted_and_trailing_bytes_are_not() {
        let key = signer();
        let text = encode(&claims(), [1; 8], &key).unwrap();
        let cose = cose_of(&text);
        assert_eq!(cose[0], 0xd2, "tag 18");
        let untagged = seal_of(&cose[1..]);
        decode(&untagged)
            .unwrap()
            .verify_signature(&key.public_key())
            .unwrap();
        let mut trailing = cose.clone();
        trailing.push(0);
        assert!(matches!(
            decode(&seal_of(&trailing)),
            Err(DecodeError::Trailing { .. })
        ));
        // Bytes after the zlib stream.
        let mut compressed = base45::decode(&text[PREFIX.len()..]).unwrap();
        compressed.push(0);
        let extra = format!("{PREFIX}{}", base45::encode(&compressed));
        assert!(matches!(
            decode(&extra),
            Err(DecodeError::Trailing {
                layer: "zlib stream",
                ..
            })
        ));
        // A truncated zlib stream.
        let compressed = base45::decode(&text[PREFIX.len()..]).unwrap();
        let cut = format!(
            "{PREFIX}{}",
            base45::encode(&compressed[..compressed.len() - 5])
        );
        assert!(matches!(decode(&cut), Err(DecodeError::Truncated)));
        // A wrong Adler-32.
        let mut bad_sum = compressed.clone();
        let last = bad_sum.len() - 1;
        bad_sum[last] ^= 1;
        let bad_sum = format!("{PREFIX}{}", base45::encode(&bad_sum));
        assert!(matches!(decode(&bad_sum), Err(DecodeError::Inflate(_))));
        // Another tag.
        let mut other_tag = cose.clone();
        other_tag[0] = 0xd1;
        assert!(matches!(
            decode(&seal_of(&other_tag)),
            Err(DecodeError::Tag { tag: 17 })
        ));
    }

    #[test]
    fn header_policy() {
        let key = signer();
        let text = encode(&claims(), [1; 8], &key).unwrap();
        let sign1 = coset::CoseSign1::from_tagged_slice(&cose_of(&text)).unwrap();

        let mut es384 = sign1.clone();
        es384.protected.header.alg = Some(coset::Algorithm::Assigned(iana::Algorithm::ES384));
        assert!(matches!(
            decode(&resign(es384, &key)),
            Err(DecodeError::Algorithm { alg }) if alg == "-35"
        ));

        let mut crit = sign1.clone();
        crit.protected.header.crit = vec![coset::RegisteredLabelWithPrivate::Assigned(
            iana::HeaderParameter::Alg,
        )];
        assert!(matches!(
            decode(&resign(crit, &key)),
            Err(DecodeError::Crit)
        ));

        let mut short_kid = sign1.clone();
        short_kid.protected.header.key_id = vec![1; 7];
        assert!(matches!(
            decode(&resign(short_kid, &key)),
            Err(DecodeError::KidLength { found: 7 })
        ));

        let mut unprotected = sign1.clone();
        unprotected.unprotected.key_id = vec![1; 8];
        assert!(matches!(
            decode(&resign(unprotected, &key)),
            Err(DecodeError::UnprotectedHeader)
        ));

        let mut extra = sign1.clone();
        extra.protected.header.content_type =
            Some(coset::ContentType::Text("application/cwt".into()));
        let e = decode(&resign(extra, &key));
        assert!(
            matches!(e, Err(DecodeError::UnknownHeader { label: 3 })),
            "{e:?}"
        );

        let mut detached = sign1.clone();
        detached.payload = None;
        assert!(matches!(
            decode(&seal_of(&detached.to_tagged_vec().unwrap())),
            Err(DecodeError::DetachedPayload)
        ));

        let mut short_sig = sign1;
        short_sig.signature.pop();
        assert!(matches!(
            decode(&seal_of(&short_sig.to_tagged_vec().unwrap())),
            Err(DecodeError::SignatureLength { found: 63 })
        ));
    }

    /// Re-signs a seal with claims `map` (any CBOR).
    fn with_claims(map: Value, key: &Es256Signer) -> String {
        let mut payload = Vec::new();
        coset::cbor::ser::into_writer(&map, &mut payload).unwrap();
        let sign1 = coset::CoseSign1Builder::new()
            .protected(
                coset::HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES256)
                    .key_id(vec![1; 8])
                    .build(),
            )
            .payload(payload)
            .create_signature(b"", |tbs| key.sign(tbs).unwrap().to_vec())
            .build();
        seal_of(&sign1.to_tagged_vec().unwrap())
    }

    fn claim_map() -> Vec<(Value, Value)> {
        match claims().to_cbor().unwrap() {
            Value::Map(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn claims_are_strict() {
        let key = signer();
        assert!(decode(&with_claims(Value::Map(claim_map()), &key)).is_ok());

        let mut swapped = claim_map();
        swapped.swap(1, 2);
        assert!(matches!(
            decode(&with_claims(Value::Map(swapped), &key)),
            Err(DecodeError::KeyOrder { .. })
        ));

        let mut dup = claim_map();
        dup.insert(1, dup[0].clone());
        assert!(matches!(
            decode(&with_claims(Value::Map(dup), &key)),
            Err(DecodeError::KeyOrder { key: 1, .. })
        ));

        let mut unknown = claim_map();
        unknown.insert(1, (int(2), Value::Text("sub".into())));
        assert!(matches!(
            decode(&with_claims(Value::Map(unknown), &key)),
            Err(DecodeError::UnknownClaim { key: 2 })
        ));

        let mut no_iat = claim_map();
        no_iat.retain(|(k, _)| k != &int(CLAIM_IAT));
        assert!(matches!(
            decode(&with_claims(Value::Map(no_iat), &key)),
            Err(DecodeError::MissingClaim { .. })
        ));

        let mut text_iat = claim_map();
        for (k, v) in &mut text_iat {
            if k == &int(CLAIM_IAT) {
                *v = Value::Text("1767196800".into());
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(text_iat), &key)),
            Err(DecodeError::ClaimType { claim: "iat", .. })
        ));

        let mut negative = claim_map();
        for (k, v) in &mut negative {
            if k == &int(CLAIM_NBF) {
                *v = int(-1);
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(negative), &key)),
            Err(DecodeError::ClaimType { claim: "nbf", .. })
        ));

        let mut fewer = claim_map();
        if let Some((_, Value::Array(parts))) = fewer.last_mut() {
            if let Value::Array(fields) = &mut parts[3] {
                fields.pop();
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(fewer), &key)),
            Err(DecodeError::FieldCount {
                found: 4,
                expected: 5
            })
        ));

        let mut null_required = claim_map();
        if let Some((_, Value::Array(parts))) = null_required.last_mut() {
            if let Value::Array(fields) = &mut parts[3] {
                fields[0] = Value::Null;
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(null_required), &key)),
            Err(DecodeError::Field {
                field: "entity_type"
            })
        ));

        let mut extra_status_member = claim_map();
        for (k, v) in &mut extra_status_member {
            if k == &int(CLAIM_STATUS) {
                if let Value::Map(m) = v {
                    m.push((Value::Text("other".into()), Value::Null));
                }
            }
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(extra_status_member), &key)),
            Err(DecodeError::Structure { .. })
        ));

        let mut unknown_type = claim_map();
        if let Some((_, Value::Array(parts))) = unknown_type.last_mut() {
            // A valid identifier of type 9999: the check character must still match.
            let id = LicenceId::new(
                "9999",
                Uscc::parse("11350100MB00000012").unwrap(),
                "20240301000123",
                1,
            )
            .unwrap();
            parts[0] = Value::Text(id.to_string());
        }
        assert!(matches!(
            decode(&with_claims(Value::Map(unknown_type), &key)),
            Err(DecodeError::UnknownType { .. })
        ));
    }

    #[test]
    fn non_canonical_cbor_is_refused() {
        let key = signer();
        // iat written with an 8-byte head instead of 4 bytes.
        let mut payload = Vec::new();
        coset::cbor::ser::into_writer(&Value::Map(claim_map()), &mut payload).unwrap();
        let iat = u32::try_from(claims().iat).unwrap().to_be_bytes();
        let short = [&[0x06, 0x1a][..], &iat].concat();
        let at = payload
            .windows(6)
            .position(|w| w == short)
            .expect("iat as a 4-byte head");
        let mut long = payload[..at + 1].to_vec();
        long.extend_from_slice(&[0x1b, 0, 0, 0, 0]);
        long.extend_from_slice(&payload[at + 2..]);
        let sign1 = coset::CoseSign1Builder::new()
            .protected(
                coset::HeaderBuilder::new()
                    .algorithm(iana::Algorithm::ES256)
                    .key_id(vec![1; 8])
                    .build(),
            )
            .payload(long)
            .create_signature(b"", |tbs| key.sign(tbs).unwrap().to_vec())
            .build();
        assert!(matches!(
            decode(&seal_of(&sign1.to_tagged_vec().unwrap())),
            Err(DecodeError::NotCanonical {
                layer: "CWT claims"
            })
        ));
    }

    #[test]
    fn caps_come_before_decoding() {
        let long = format!("{PREFIX}{}", "0".repeat(MAX_TEXT_LEN));
        assert!(matches!(
            decode(&long),
            Err(DecodeError::TooLarge {
                layer: "seal text",
                ..
            })
        ));
        // A zlib bomb: 1 MB of zeros compresses to about 1 KB; reading stops at the cap.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = z.finish().unwrap();
        assert!(bomb.len() < MAX_COMPRESSED_LEN);
        assert!(matches!(
            decode(&format!("{PREFIX}{}", base45::encode(&bomb))),
            Err(DecodeError::TooLarge {
                layer: "inflated seal",
                size,
                ..
            }) if size > MAX_COSE_LEN && size <= 2 * MAX_COSE_LEN
        ));
        assert!(matches!(
            decode("EL2:ABC"),
            Err(DecodeError::Prefix { found }) if found == "EL2:"
        ));
        assert!(matches!(decode("EL1:abc"), Err(DecodeError::Base45(_))));
        // "GGW" is 0xFFFF + 1 and cannot be Base45 of two bytes; ":Z" is above 255.
        assert!(decode("EL1:GGW").is_err());
        assert!(matches!(
            decode("EL1::Z"),
            Err(DecodeError::NotCanonical { layer: "Base45" })
        ));
    }

    #[test]
    fn encoder_refuses_what_decoders_would_not_accept() {
        let key = signer();
        let mut c = claims();
        c.fields.pop();
        assert!(matches!(
            encode(&c, [0; 8], &key),
            Err(EncodeError::FieldCount { .. })
        ));
        let mut c = claims();
        c.nbf = -1;
        assert!(matches!(
            encode(&c, [0; 8], &key),
            Err(EncodeError::NegativeTime { claim: "nbf", .. })
        ));
        // Incompressible text beyond the caps.
        let mut c = claims();
        let noise: String = (0..6000u32)
            .map(|i| {
                char::from_u32(0x4e00 + (i.wrapping_mul(2_654_435_761) >> 20) % 0x5000).unwrap()
            })
            .collect();
        c.fields[4] = Some(noise);
        assert!(matches!(
            encode(&c, [0; 8], &key),
            Err(EncodeError::TooLarge { .. })
        ));
    }
}
