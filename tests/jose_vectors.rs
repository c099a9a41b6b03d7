//! ES256 / compact JWS against published test vectors: Wycheproof (ECDSA P-256 in P1363
//! form, and JSON Web Signature), RFC 7515 Appendix A.3, and hand-made hostile tokens.
//!
//! The vectors live in `fixtures/vectors/` (copied with their licences and sources); if
//! they are missing the tests fail (never skip) and say where they are expected.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::jose::{
    self, b64u_decode, b64u_encode, Es256PublicKey, Es256Signer, Jwk, JwsError, SignatureError,
    UnverifiedJws,
};
use serde_json::Value;

/// Verifies a compact JWS on the path `Verifier` takes: the one reader
/// ([`UnverifiedJws::parse`]: split, cap, decode once, header policy), then its
/// [`UnverifiedJws::verify`].
fn verify_compact(token: &str, key: &Es256PublicKey) -> Result<(jose::Header, Vec<u8>), JwsError> {
    let jws = UnverifiedJws::parse(token)?;
    let verified = jws.verify(key)?;
    Ok((verified.header().clone(), verified.payload().to_vec()))
}

/// Where the vectors are: `fixtures/vectors/` in this repository.
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/vectors");

/// The order n of the P-256 group, big-endian.
const P256_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// Reads a JSON vector file under `fixtures/vectors`, failing loudly if it is absent.
fn load_vector(relative: &str) -> Value {
    let path = std::path::Path::new(VECTORS).join(relative);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => panic!(
            "test vector {} cannot be read ({e}): it belongs in this repository \
             (looked in {VECTORS}); these tests never skip silently",
            path.display()
        ),
    };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Lower-case or upper-case hex to bytes; panics on malformed input (the vectors are trusted).
fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A public JWK from a JSON object that may carry extra members (`alg`, `use`, `kid`, `d`…):
/// only `kty`, `crv`, `x` and `y` are taken.
fn public_jwk(value: &Value) -> Jwk {
    let field = |name: &str| {
        value[name]
            .as_str()
            .unwrap_or_else(|| panic!("JWK member {name:?} missing in {value}"))
            .to_owned()
    };
    Jwk {
        kty: field("kty"),
        crv: field("crv"),
        x: field("x"),
        y: field("y"),
        d: None,
    }
}

/// `floor(bytes / 2)` for a big-endian unsigned integer.
fn halve(bytes: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut carry = 0u8;
    for (o, b) in out.iter_mut().zip(bytes) {
        *o = (b >> 1) | (carry << 7);
        carry = b & 1;
    }
    out
}

#[derive(Default)]
struct Tally {
    cases: usize,
    valid: usize,
    invalid: usize,
    acceptable: usize,
    acceptable_accepted: usize,
    mismatches: Vec<String>,
}

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363() {
    let file = load_vector("wycheproof/ecdsa_secp256r1_sha256_p1363_test.json");
    let declared = file["numberOfTests"].as_u64().unwrap() as usize;
    let groups = file["testGroups"].as_array().unwrap();
    let mut t = Tally::default();
    let mut bad_keys = 0usize;
    for group in groups {
        let point = hex(group["publicKey"]["uncompressed"].as_str().unwrap());
        let key = Es256PublicKey::from_sec1(&point);
        if key.is_err() {
            bad_keys += 1;
        }
        for test in group["tests"].as_array().unwrap() {
            t.cases += 1;
            let id = test["tcId"].as_u64().unwrap();
            let msg = hex(test["msg"].as_str().unwrap());
            let sig = hex(test["sig"].as_str().unwrap());
            let accepted = match &key {
                Ok(k) => k.verify(&msg, &sig).is_ok(),
                Err(_) => false,
            };
            let expected = test["result"].as_str().unwrap();
            let ok = match expected {
                "valid" => {
                    t.valid += 1;
                    accepted
                }
                "invalid" => {
                    t.invalid += 1;
                    !accepted
                }
                "acceptable" => {
                    t.acceptable += 1;
                    t.acceptable_accepted += usize::from(accepted);
                    true
                }
                other => panic!("tcId {id}: unknown result {other:?}"),
            };
            if !ok {
                t.mismatches.push(format!(
                    "tcId {id} ({}, flags {}): expected {expected}, accepted = {accepted}{}",
                    test["comment"],
                    test["flags"],
                    if key.is_err() { " [key rejected]" } else { "" }
                ));
            }
        }
    }
    println!(
        "wycheproof ecdsa p1363: {} cases, {} mismatches \
         ({} valid, {} invalid, {} acceptable of which {} accepted; {} groups, {} keys rejected by from_sec1)",
        t.cases,
        t.mismatches.len(),
        t.valid,
        t.invalid,
        t.acceptable,
        t.acceptable_accepted,
        groups.len(),
        bad_keys
    );
    for m in &t.mismatches {
        println!("  mismatch: {m}");
    }
    assert_eq!(t.mismatches.len(), 0, "mismatches: {:#?}", t.mismatches);
    assert_eq!(
        t.cases, declared,
        "numberOfTests disagrees with the tests run"
    );
    assert!(t.valid > 0 && t.invalid > 0, "suspiciously one-sided file");
}

#[test]
fn wycheproof_json_web_signature_es256() {
    let file = load_vector("wycheproof/json_web_signature_test.json");
    let mut found = Vec::new();
    let mut t = Tally::default();
    for group in file["testGroups"].as_array().unwrap() {
        let comment = group["comment"].as_str().unwrap_or_default();
        if comment != "es256" && comment != "SpecialCaseEs256" {
            continue;
        }
        found.push(comment.to_owned());
        let key = public_jwk(&group["public"]).public_key().unwrap();
        for test in group["tests"].as_array().unwrap() {
            t.cases += 1;
            let id = test["tcId"].as_u64().unwrap();
            let jws = test["jws"].as_str().unwrap();
            let outcome = verify_compact(jws, &key);
            let expected = test["result"].as_str().unwrap();
            let ok = match expected {
                "valid" => {
                    t.valid += 1;
                    outcome.is_ok()
                }
                "invalid" => {
                    t.invalid += 1;
                    outcome.is_err()
                }
                "acceptable" => {
                    t.acceptable += 1;
                    t.acceptable_accepted += usize::from(outcome.is_ok());
                    true
                }
                other => panic!("tcId {id}: unknown result {other:?}"),
            };
            if !ok {
                t.mismatches.push(format!(
                    "{comment} tcId {id} ({}): expected {expected}, got {:?}",
                    test["comment"],
                    outcome.map(|(h, p)| (h.alg, p))
                ));
            }
        }
    }
    println!(
        "wycheproof jws es256: {} cases, {} mismatches ({} valid, {} invalid, {} acceptable; groups {:?})",
        t.cases,
        t.mismatches.len(),
        t.valid,
        t.invalid,
        t.acceptable,
        found
    );
    for m in &t.mismatches {
        println!("  mismatch: {m}");
    }
    assert!(
        found.iter().any(|c| c == "es256"),
        "no `es256` group in the file"
    );
    assert!(
        found.iter().any(|c| c == "SpecialCaseEs256"),
        "no `SpecialCaseEs256` group in the file"
    );
    assert_eq!(t.mismatches.len(), 0, "mismatches: {:#?}", t.mismatches);
    assert!(t.valid > 0 && t.invalid > 0);
}

#[test]
fn rfc7515_a3_high_s_signature_verifies() {
    let v = load_vector("rfc7515/a3_es256.json");
    let key = public_jwk(&v["jwk"]).public_key().unwrap();
    let compact = v["compact"].as_str().unwrap();

    let (header, payload) = verify_compact(compact, &key).unwrap();
    assert_eq!(header.alg, "ES256");
    assert_eq!(
        payload,
        v["payload_json_exact"].as_str().unwrap().as_bytes(),
        "the payload must decode to the RFC's exact bytes (CRLF and all)"
    );

    // The RFC's signature is high-S: s > n/2 (n odd, so s > floor(n/2)).
    let sig = b64u_decode(compact.rsplit('.').next().unwrap()).unwrap();
    assert_eq!(sig.len(), 64);
    let half_n = halve(&P256_ORDER);
    assert!(
        sig[32..] > half_n[..],
        "RFC 7515 A.3's s should be high: s = {}",
        b64u_encode(&sig[32..])
    );
    assert!(sig[32..] < P256_ORDER[..], "s must still be below n");
    assert_eq!(
        sig[32..],
        hex(v["derived"]["s_hex"].as_str().unwrap())[..],
        "s disagrees with the vector's derived s_hex"
    );

    // Its low-S twin (r, n - s) verifies too: neither form is preferred.
    let twin = v["derived"]["low_s_twin_signature_b64u"].as_str().unwrap();
    let twin_token = format!("{}.{twin}", v["signing_input"].as_str().unwrap());
    verify_compact(&twin_token, &key).unwrap();

    // The private part yields the same public key, and the pair signs afresh.
    let signer =
        Es256Signer::from_jwk(&serde_json::from_value::<Jwk>(v["jwk"].clone()).unwrap()).unwrap();
    assert_eq!(signer.public_key(), key);
    let fresh = jose::sign_compact(
        v["protected_header_json"].as_str().unwrap().as_bytes(),
        v["payload_json_exact"].as_str().unwrap().as_bytes(),
        &signer,
    )
    .unwrap();
    verify_compact(&fresh, &key).unwrap();
}

/// A token with `header` and a fixed payload, validly signed by `signer`.
fn signed(header: &str, signer: &Es256Signer) -> String {
    jose::sign_compact(header.as_bytes(), br#"{"sub":"x"}"#, signer).unwrap()
}

#[test]
fn hostile_tokens_are_rejected_with_the_right_error() {
    let (signer, _) = Es256Signer::generate().unwrap();
    let key = signer.public_key();
    let good = signed(r#"{"alg":"ES256"}"#, &signer);
    verify_compact(&good, &key).unwrap();
    let (head, sig_b64) = good.rsplit_once('.').unwrap();
    let sig = b64u_decode(sig_b64).unwrap();

    // alg: none — with no signature the empty part is caught first…
    let none_input = format!(
        "{}.{}",
        b64u_encode(br#"{"alg":"none"}"#),
        b64u_encode(br#"{"sub":"x"}"#)
    );
    let r = verify_compact(&format!("{none_input}."), &key);
    assert!(
        matches!(r, Err(JwsError::Empty { part: "signature" })),
        "{r:?}"
    );
    // …and with a perfectly valid ES256 signature the header alone condemns it.
    let none_signed = signed(r#"{"alg":"none"}"#, &signer);
    let r = verify_compact(&none_signed, &key);
    assert!(
        matches!(&r, Err(JwsError::UnsupportedAlgorithm { alg }) if alg == "none"),
        "{r:?}"
    );

    // HS256 keyed with the EC public key bytes (the classic algorithm-confusion attack).
    for secret in [
        key.as_bytes().to_vec(),
        serde_json::to_vec(&key.to_jwk()).unwrap(),
    ] {
        let input = format!(
            "{}.{}",
            b64u_encode(br#"{"alg":"HS256"}"#),
            b64u_encode(br#"{"sub":"x"}"#)
        );
        let mac_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &secret);
        let tag = ring::hmac::sign(&mac_key, input.as_bytes());
        let token = format!("{input}.{}", b64u_encode(tag.as_ref()));
        let r = verify_compact(&token, &key);
        assert!(
            matches!(&r, Err(JwsError::UnsupportedAlgorithm { alg }) if alg == "HS256"),
            "{r:?}"
        );
    }

    // An embedded jwk naming the attacker's own key; the signature is valid for that key.
    let (attacker, _) = Es256Signer::generate().unwrap();
    let jwk_header = format!(
        r#"{{"alg":"ES256","jwk":{}}}"#,
        serde_json::to_string(&attacker.public_key().to_jwk()).unwrap()
    );
    let token = signed(&jwk_header, &attacker);
    for k in [&attacker.public_key(), &key] {
        let r = verify_compact(&token, k);
        assert!(
            matches!(r, Err(JwsError::ForbiddenHeader { name: "jwk" })),
            "{r:?}"
        );
    }

    // Trailing data after the signature.
    let r = verify_compact(&format!("{good}.e30"), &key);
    assert!(matches!(r, Err(JwsError::Structure)), "{r:?}");
    let r = verify_compact(&format!("{good}."), &key);
    assert!(matches!(r, Err(JwsError::Structure)), "{r:?}");
    for junk in ["~", "\n", " ", "=", "A=", "+", "/"] {
        let r = verify_compact(&format!("{good}{junk}"), &key);
        assert!(
            matches!(
                r,
                Err(JwsError::Base64 {
                    part: "signature",
                    ..
                })
            ),
            "{junk:?}: {r:?}"
        );
    }
    // Extra base64 characters that still decode lengthen the signature: 65, 66 bytes.
    for (extra, len) in [("A", 65), ("AA", 66), ("AAAA", 67)] {
        let r = verify_compact(&format!("{good}{extra}"), &key);
        assert!(
            matches!(r, Err(JwsError::Signature(SignatureError::Length { found })) if found == len),
            "{extra:?}: {r:?}"
        );
    }

    // Signatures of 63 and 65 bytes, from the valid one.
    let short = format!("{head}.{}", b64u_encode(&sig[..63]));
    let mut long_sig = sig.clone();
    long_sig.push(0);
    let long = format!("{head}.{}", b64u_encode(&long_sig));
    for (token, len) in [(short, 63), (long, 65)] {
        let r = verify_compact(&token, &key);
        assert!(
            matches!(r, Err(JwsError::Signature(SignatureError::Length { found })) if found == len),
            "{len}: {r:?}"
        );
    }
    // Leading zero padding to 65 bytes is not a 64-byte signature either.
    let mut padded = vec![0u8];
    padded.extend_from_slice(&sig);
    assert_eq!(
        key.verify(head.as_bytes(), &padded),
        Err(SignatureError::Length { found: 65 })
    );
    assert_eq!(
        key.verify(head.as_bytes(), &sig[..63]),
        Err(SignatureError::Length { found: 63 })
    );
    key.verify(head.as_bytes(), &sig).unwrap();

    // The untouched token still verifies (the checks above did not poison anything).
    verify_compact(&good, &key).unwrap();
}
