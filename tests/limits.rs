//! Size caps, work bounds and the less travelled rejection paths, through the public API:
//! each cap refuses input one step past it; a trusted-root certificate without the
//! licence-signing EKU is refused; an altered token is refused even when its header is
//! already known to the verifier.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use elicense::jose::{self, b64u_encode, Es256Signer};
use elicense::pki::{ChainError, MAX_CERT_LEN, MAX_CHAIN_LEN};
use elicense::sdjwt::{
    self, DisclosureError, FormatError, KeyBindingCheck, KeyBindingError, SdJwt, MAX_DEPTH,
    MAX_DIGESTS, MAX_DISCLOSURES, MAX_SD_JWT_LEN,
};
use elicense::verify::{Options, VerifyError};
use serde_json::{json, Value};
use std::borrow::Cow;

fn opts() -> Options<'static> {
    Options::at(FIXED_AT)
}

#[test]
fn input_over_the_sd_jwt_cap_is_refused_before_decoding() {
    let big = "A".repeat(MAX_SD_JWT_LEN + 1);
    let e = verifier().verify(&big, &opts()).unwrap_err();
    assert_eq!(e.code(), "too_large", "{e}");
}

#[test]
fn issuer_jwt_over_the_jws_cap_is_malformed() {
    let jwt = format!("{}.{}.{}~", "A".repeat(jose::MAX_JWS_LEN), "B", "C");
    assert!(matches!(
        SdJwt::parse(&jwt),
        Err(FormatError::Jws(jose::JwsError::TooLarge { .. }))
    ));
}

#[test]
fn more_disclosures_than_the_cap_are_refused() {
    let bl = golden("valid__business_licence");
    let mut many = bl.clone();
    for _ in 0..=MAX_DISCLOSURES {
        many.push_str("WyJhIiwxXQ~");
    }
    assert!(matches!(
        SdJwt::parse(&many),
        Err(FormatError::TooManyDisclosures { .. })
    ));
    assert_eq!(
        verifier().verify(&many, &opts()).unwrap_err().code(),
        "malformed"
    );
}

#[test]
fn nesting_deeper_than_the_cap_is_refused() {
    let mut v = json!(1);
    for _ in 0..=MAX_DEPTH {
        v = json!([v]);
    }
    let payload = json!({ "deep": v }).as_object().unwrap().clone();
    assert!(matches!(
        sdjwt::process_disclosures(payload, &[]),
        Err(DisclosureError::TooDeep { .. })
    ));
}

#[test]
fn more_digests_than_the_cap_are_refused() {
    let digests: Vec<Value> = (0..=MAX_DIGESTS as u32)
        .map(|i| Value::String(b64u_encode(jose::sha256(&i.to_be_bytes()))))
        .collect();
    let payload = json!({ "_sd": digests }).as_object().unwrap().clone();
    assert!(matches!(
        sdjwt::process_disclosures(payload, &[]),
        Err(DisclosureError::TooManyDigests { .. })
    ));
}

#[test]
fn digests_must_be_canonical_sha256_values() {
    for bad in ["short", &"A".repeat(44), &format!("{}=", "A".repeat(42))] {
        let payload = json!({ "_sd": [bad] }).as_object().unwrap().clone();
        assert!(
            matches!(
                sdjwt::process_disclosures(payload, &[]),
                Err(DisclosureError::Malformed { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn only_sha256_is_accepted_as_sd_alg() {
    let payload = json!({ "_sd_alg": "sha-512" }).as_object().unwrap().clone();
    assert!(matches!(
        sdjwt::process_disclosures(payload, &[]),
        Err(DisclosureError::UnsupportedDigestAlgorithm { .. })
    ));
}

#[test]
fn reserved_names_cannot_be_disclosed() {
    for name in ["_sd", "..."] {
        let d = b64u_encode(json!(["c2FsdHNhbHRzYWx0", name, 1]).to_string());
        assert!(matches!(
            sdjwt::decode_disclosure(&d),
            Err(DisclosureError::ReservedName { .. })
        ));
        let payload = json!({ "_sd": [sdjwt::disclosure_digest(&d)] })
            .as_object()
            .unwrap()
            .clone();
        assert!(sdjwt::process_disclosures(payload, &[Cow::Owned(d)]).is_err());
    }
}

#[test]
fn x5c_longer_than_the_cap_is_refused() {
    let bl = golden("valid__business_licence");
    let (mut h, p, rest) = split(&bl);
    let leaf = h["x5c"][0].clone();
    h.insert("x5c".into(), Value::Array(vec![leaf; MAX_CHAIN_LEN + 1]));
    let (stranger, _) = Es256Signer::generate().unwrap();
    let e = verifier()
        .verify(&sign(&h, &p, &stranger, &rest), &opts())
        .unwrap_err();
    assert!(
        matches!(e, VerifyError::BadChain(ChainError::ChainLength { .. })),
        "{e:?}"
    );
}

#[test]
fn certificate_over_the_cap_is_refused() {
    let bl = golden("valid__business_licence");
    let (mut h, p, rest) = split(&bl);
    h.insert(
        "x5c".into(),
        json!([jose::b64_encode(vec![0x30u8; MAX_CERT_LEN + 1])]),
    );
    let (stranger, _) = Es256Signer::generate().unwrap();
    let e = verifier()
        .verify(&sign(&h, &p, &stranger, &rest), &opts())
        .unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::BadChain(ChainError::CertificateTooLarge { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn altered_tokens_are_refused_when_their_header_is_already_known() {
    let v = verifier();
    let bl = golden("valid__business_licence");
    v.verify(&bl, &opts()).unwrap(); // the header is now known
    let (_, mut p, rest) = split(&bl);
    let header_b64 = bl.split('.').next().unwrap();
    let sig = bl.split('~').next().unwrap().rsplit('.').next().unwrap();
    p.insert("nbf".into(), json!(0));
    let mut altered = format!(
        "{header_b64}.{}.{sig}",
        b64u_encode(serde_json::to_vec(&p).unwrap())
    );
    for r in &rest {
        altered.push('~');
        altered.push_str(r);
    }
    assert_eq!(
        v.verify(&altered, &opts()).unwrap_err().code(),
        "bad_signature"
    );
    // The same header over a payload signed by someone else.
    let (stranger, _) = Es256Signer::generate().unwrap();
    let forged_sig = stranger
        .sign(format!("{header_b64}.{}", altered.split('.').nth(1).unwrap()).as_bytes())
        .unwrap();
    let forged = altered.replacen(sig, &b64u_encode(forged_sig), 1);
    assert_eq!(
        v.verify(&forged, &opts()).unwrap_err().code(),
        "bad_signature"
    );
    // And the genuine one still verifies.
    v.verify(&bl, &opts()).unwrap();
}

#[test]
fn a_trusted_root_certificate_without_the_licence_eku_cannot_sign_licences() {
    // A certificate from the TEST-ONLY root, like an agency's but without the EKU.
    let keys = crate_dir().join("fixtures/keys");
    let root_pem = std::fs::read_to_string(keys.join("root.crt.pem")).unwrap();
    let root_key =
        rcgen::KeyPair::from_pem(&std::fs::read_to_string(keys.join("root.key.pem")).unwrap())
            .unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(&root_pem, root_key).unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "示例市市场监督管理局");
    params.distinguished_name.push(
        rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]),
        "NTRCN-11350100MB00000012",
    );
    params.subject_alt_names = vec![rcgen::SanType::URI(
        "https://elicense.example/agencies/11350100MB00000012"
            .try_into()
            .unwrap(),
    )];
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    params.not_before = time::macros::datetime!(2024-01-01 0:00 UTC);
    params.not_after = time::macros::datetime!(2034-01-01 0:00 UTC);
    let cert = params.signed_by(&key, &issuer).unwrap();
    let signer = Es256Signer::from_pkcs8(&key.serialize_der()).unwrap();

    let bl = golden("valid__business_licence");
    let (mut h, p, rest) = split(&bl);
    h.insert("x5c".into(), json!([jose::b64_encode(cert.der())]));
    h.insert("kid".into(), json!(elicense::pki::kid_b64(cert.der())));
    let e = verifier()
        .verify(&sign(&h, &p, &signer, &rest), &opts())
        .unwrap_err();
    assert!(
        matches!(e, VerifyError::BadChain(ChainError::MissingEku)),
        "{e:?}"
    );
}

#[test]
fn key_binding_jwt_needs_its_type_and_a_plausible_time() {
    let (holder, _) = Es256Signer::generate().unwrap();
    let input = "h.p.s~";
    let check = KeyBindingCheck {
        aud: Some("aud"),
        nonce: Some("n"),
        at: FIXED_AT,
        skew: 60,
        max_age: 300,
    };
    let payload = |iat: i64| {
        json!({"iat": iat, "aud": "aud", "nonce": "n", "sd_hash": sdjwt::disclosure_digest(input)})
            .to_string()
    };
    let wrong_typ = jose::sign_compact(
        br#"{"alg":"ES256","typ":"JWT"}"#,
        payload(FIXED_AT).as_bytes(),
        &holder,
    )
    .unwrap();
    assert!(matches!(
        sdjwt::verify_key_binding(&wrong_typ, &holder.public_key(), input, &check),
        Err(KeyBindingError::Type { .. })
    ));
    let future = jose::sign_compact(
        br#"{"alg":"ES256","typ":"kb+jwt"}"#,
        payload(FIXED_AT + 3600).as_bytes(),
        &holder,
    )
    .unwrap();
    assert!(matches!(
        sdjwt::verify_key_binding(&future, &holder.public_key(), input, &check),
        Err(KeyBindingError::InFuture { .. })
    ));
    let good = jose::sign_compact(
        br#"{"alg":"ES256","typ":"kb+jwt"}"#,
        payload(FIXED_AT).as_bytes(),
        &holder,
    )
    .unwrap();
    sdjwt::verify_key_binding(&good, &holder.public_key(), input, &check).unwrap();
}

#[test]
fn skew_is_bounded() {
    let v = verifier().with_skew(i64::MAX);
    // Expired on 2025-12-01 (valid_until 2025-11-30): still expired with the largest skew.
    let e = v
        .verify(&golden("expired__food_permit_ended_2025_11_30"), &opts())
        .unwrap_err();
    assert_eq!(e.code(), "expired");
}

#[test]
fn json_serialization_with_two_signatures_is_not_a_licence() {
    let bl = golden("valid__business_licence");
    let sd = SdJwt::parse(&bl).unwrap();
    let mut two = sd.clone();
    two.signatures.push(two.signatures[0].clone());
    two.serialization = sdjwt::Serialization::JsonGeneral;
    let text = two.to_json_general().to_string();
    let e = verifier().verify(&text, &opts()).unwrap_err();
    assert_eq!(e.code(), "malformed", "{e}");
    // One signature in the flattened form is accepted.
    let flat = sd.to_json_flattened().to_string();
    verifier().verify(&flat, &opts()).unwrap();
}

fn request() -> elicense::licence::LicenceRequest {
    serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("fixtures/requests/business_licence.json"))
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn issuance_refuses_what_would_never_verify() {
    use elicense::issue::{IssueError, Issuer};
    use elicense::licence::codes::Uscc;
    let (_dir, store) = private_fixture_keys();
    // The expired agency (certificate 2024-01-01 … 2025-01-01) cannot sign at the golden time.
    let expired = Issuer::new(
        store
            .agency_key(&Uscc::parse("11110000MB00000035").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(matches!(
        expired.issue(&request(), 1_748_743_200),
        Err(IssueError::CertificateNotValid { .. })
    ));
    // Nor can it backdate before its certificate existed.
    let a = Issuer::new(
        store
            .agency_key(&Uscc::parse("11350100MB00000012").unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(matches!(
        a.issue(&request(), 1_600_000_000),
        Err(IssueError::CertificateNotValid { .. })
    ));
    // A licence already expired when issued.
    let mut r = request();
    r.valid_until = Some("2024-12-31".into());
    assert!(matches!(
        a.issue(&r, 1_748_743_200),
        Err(IssueError::AlreadyExpired { .. })
    ));
    // A holder key with its private part.
    let (holder, _) = Es256Signer::generate().unwrap();
    let mut r = request();
    let mut jwk = holder.public_key().to_jwk();
    jwk.d = Some("c2VjcmV0".into());
    r.holder_key = Some(jwk);
    assert!(matches!(
        a.issue(&r, 1_748_743_200),
        Err(IssueError::Request(
            elicense::licence::RequestError::PrivateHolderKey
        ))
    ));
}

#[test]
fn an_agency_key_that_does_not_match_its_certificate_is_refused() {
    use elicense::keys::KeyStoreError;
    use elicense::licence::codes::Uscc;
    let (dir, store) = private_fixture_keys();
    // Put agency B's key in place of agency A's.
    let agencies = dir.path().join("agencies");
    std::fs::copy(
        agencies.join("11440300MB00000022.key.pem"),
        agencies.join("11350100MB00000012.key.pem"),
    )
    .unwrap();
    assert!(matches!(
        store.agency_key(&Uscc::parse("11350100MB00000012").unwrap()),
        Err(KeyStoreError::KeyMismatch { .. })
    ));
}

#[test]
fn a_disclosure_cannot_carry_a_registered_claim() {
    let (_dir, store) = private_fixture_keys();
    let a = store
        .agency_key(&elicense::licence::codes::Uscc::parse("11350100MB00000012").unwrap())
        .unwrap();
    let bl = golden("valid__business_licence");
    for name in ["exp", "iss", "licence_id", "cnf"] {
        let (h, mut p, mut rest) = split(&bl);
        let d = b64u_encode(json!(["c2FsdHNhbHRzYWx0c2FsdA", name, 1]).to_string());
        p["_sd"]
            .as_array_mut()
            .unwrap()
            .push(Value::String(sdjwt::disclosure_digest(&d)));
        rest.insert(0, d);
        let token = sign(&h, &p, &a.signer, &rest);
        let e = verifier().verify(&token, &opts()).unwrap_err();
        assert_eq!(e.code(), "disclosure_mismatch", "{name}: {e}");
    }
}
