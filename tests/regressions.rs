//! Regression tests for problems found in review, each named after what it fixed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use elicense::jose::{self, Es256Signer};
use elicense::keys::KeyStore;
use elicense::licence::codes::Uscc;
use elicense::verify::{Options, Verifier};
use serde_json::{json, Map, Value};
use time::macros::datetime;

const IAT: i64 = 1_748_743_200; // 2025-06-01T10:00+08:00

#[test]
fn forgery_under_a_foreign_root_is_untrusted_whatever_its_claims_say() {
    // Before: content checks ran before chain validation, so a forgery signed under the
    // attacker's own CA was reported as malformed / unknown type / bad chain.
    let (_dir, other) = private_copy(&crate_dir().join("fixtures/keys/other-root"));
    let d = other
        .agency_key(&Uscc::parse("11310000MB0000004M").unwrap())
        .unwrap();
    let base = golden("untrusted_issuer__agency_under_another_root");
    type Edit = fn(&mut Map<String, Value>);
    let cases: [(&str, Edit); 5] = [
        ("unknown vct", |p| {
            p.insert("vct".into(), json!("urn:evil"));
        }),
        ("no iss", |p| {
            p.remove("iss");
        }),
        ("bad identifier", |p| {
            p.insert("licence_id".into(), json!("nonsense"));
        }),
        ("negative iat", |p| {
            p.insert("iat".into(), json!(-5));
        }),
        ("no iat", |p| {
            p.remove("iat");
        }),
    ];
    for (what, edit) in cases {
        let (h, mut p, rest) = split(&base);
        edit(&mut p);
        let token = sign(&h, &p, &d.signer, &rest);
        let e = verifier()
            .verify(&token, &Options::at(FIXED_AT))
            .unwrap_err();
        assert_eq!(e.code(), "untrusted_issuer", "{what}: {e}");
    }
}

#[test]
fn a_holder_bound_licence_says_so_even_without_key_binding() {
    // Before: with the KB-JWT stripped, a bound licence verified valid and nothing said
    // it was bound.
    let bound = golden("valid__key_bound_presentation");
    let without_kb = format!("{}~", bound.rsplit_once('~').unwrap().0);
    let v = verifier()
        .verify(&without_kb, &Options::at(FIXED_AT))
        .unwrap();
    assert!(v.holder_bound());
    assert!(!v.key_bound());
    let j = serde_json::to_value(&v).unwrap();
    assert_eq!(j["holder_bound"], true);
    // A verifier that needs the holder passes aud and nonce, and then it fails.
    let strict = Options {
        at: FIXED_AT,
        aud: Some("https://bank.example/verifier"),
        nonce: Some("golden-nonce-1"),
        status: elicense::verify::StatusCheck::NotChecked,
    };
    assert_eq!(
        verifier().verify(&without_kb, &strict).unwrap_err().code(),
        "key_binding_failed"
    );
    let plain = verifier()
        .verify(&golden("valid__business_licence"), &Options::at(FIXED_AT))
        .unwrap();
    assert!(!plain.holder_bound());
}

#[test]
fn the_root_must_be_valid_when_the_licence_is_signed() {
    // Before: webpki does not check a trust anchor's dates and nothing else did, so an
    // agency certificate outliving an expired root kept verifying.
    let root_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut rp = rcgen::CertificateParams::default();
    rp.distinguished_name = rcgen::DistinguishedName::new();
    rp.distinguished_name
        .push(rcgen::DnType::CommonName, "Short-lived Root");
    rp.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    rp.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    rp.not_before = datetime!(2024-01-01 0:00 UTC);
    rp.not_after = datetime!(2025-01-01 0:00 UTC);
    let root = rp.self_signed(&root_key).unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_der(root.der(), root_key).unwrap();
    // An agency certificate (made by hand: `pki::generate_issuer` now refuses this) valid
    // until 2030, past its root.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = rcgen::CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(rcgen::DnType::CommonName, "示例市市场监督管理局");
    p.distinguished_name.push(
        rcgen::DnType::CustomDnType(vec![2, 5, 4, 97]),
        "NTRCN-11350100MB00000012",
    );
    p.subject_alt_names = vec![rcgen::SanType::URI(
        "https://elicense.example/agencies/11350100MB00000012"
            .try_into()
            .unwrap(),
    )];
    p.is_ca = rcgen::IsCa::ExplicitNoCa;
    p.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let oid = elicense::pki::LICENCE_SIGNING_EKU_DER;
    let mut eku = vec![0x30, oid.len() as u8 + 2, 0x06, oid.len() as u8];
    eku.extend_from_slice(oid);
    p.custom_extensions = vec![rcgen::CustomExtension::from_oid_content(
        &[2, 5, 29, 37],
        eku,
    )];
    p.not_before = datetime!(2024-01-01 0:00 UTC);
    p.not_after = datetime!(2030-01-01 0:00 UTC);
    let cert = p.signed_by(&key, &issuer).unwrap();
    let signer = Es256Signer::from_pkcs8(&key.serialize_der()).unwrap();
    let trust = elicense::pki::TrustStore::new(vec![root.der().to_vec()], Vec::new()).unwrap();
    let v = Verifier::new(trust);

    let (mut h, mut pl, rest) = split(&golden("valid__business_licence"));
    h.insert("x5c".into(), json!([jose::b64_encode(cert.der())]));
    h.insert("kid".into(), json!(elicense::pki::kid_b64(cert.der())));
    // Signed while the root was valid: fine.
    pl.insert("iat".into(), json!(1_719_792_000)); // 2024-07-01
    let ok = sign(&h, &pl, &signer, &rest);
    v.verify(&ok, &Options::at(FIXED_AT)).unwrap();
    // Signed after the root expired: refused, with the specific reason.
    pl.insert("iat".into(), json!(IAT));
    let late = sign(&h, &pl, &signer, &rest);
    assert_eq!(
        v.verify(&late, &Options::at(FIXED_AT)).unwrap_err().code(),
        "certificate_not_valid_at_signing"
    );
    // And the old one still verifies after the late one was tried (no stale cache).
    v.verify(&ok, &Options::at(FIXED_AT)).unwrap();
}

#[test]
fn agency_certificates_cannot_be_made_to_outlive_their_root() {
    let dir = tempfile::tempdir().unwrap();
    let ks = KeyStore::new(dir.path());
    let now = time::OffsetDateTime::now_utc();
    ks.init_root("Root", now, 1).unwrap();
    let agency = elicense::pki::AgencyIdentity {
        name: "示例市市场监督管理局".into(),
        code: Uscc::parse("11350100MB00000012").unwrap(),
        issuer_uri: "https://elicense.example/agencies/11350100MB00000012".into(),
    };
    let e = ks
        .add_agency(&agency, now, elicense::keys::add_years(now, 5).unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("after the root expires"), "{e}");
    // Zero years is refused, not a certificate that is never valid.
    let dir2 = tempfile::tempdir().unwrap();
    assert!(KeyStore::new(dir2.path())
        .init_root("Root", now, 0)
        .is_err());
}

#[test]
fn forbidden_headers_are_refused_even_when_null() {
    let (mut h, p, rest) = split(&golden("valid__business_licence"));
    h.insert("jwk".into(), Value::Null);
    let (stranger, _) = Es256Signer::generate().unwrap();
    let e = verifier()
        .verify(&sign(&h, &p, &stranger, &rest), &Options::at(FIXED_AT))
        .unwrap_err();
    assert_eq!(e.code(), "forbidden_header", "{e}");
}

#[test]
fn a_kid_that_is_not_a_string_is_malformed() {
    let (_dir, ks) = private_copy(&crate_dir().join("fixtures/keys"));
    let a = ks
        .agency_key(&Uscc::parse("11350100MB00000012").unwrap())
        .unwrap();
    let (mut h, p, rest) = split(&golden("valid__business_licence"));
    h.insert("kid".into(), json!(42));
    let e = verifier()
        .verify(&sign(&h, &p, &a.signer, &rest), &Options::at(FIXED_AT))
        .unwrap_err();
    assert_eq!(e.code(), "malformed", "{e}");
}

#[test]
fn garbage_after_the_last_tilde_is_malformed_not_a_key_binding_failure() {
    let bl = golden("valid__business_licence");
    let e = verifier()
        .verify(&format!("{bl}garbage"), &Options::at(FIXED_AT))
        .unwrap_err();
    assert_eq!(e.code(), "malformed", "{e}");
}

#[test]
fn nbf_and_sd_alg_are_required() {
    let (_dir, ks) = private_copy(&crate_dir().join("fixtures/keys"));
    let a = ks
        .agency_key(&Uscc::parse("11350100MB00000012").unwrap())
        .unwrap();
    for claim in ["nbf", "_sd_alg"] {
        let (h, mut p, rest) = split(&golden("valid__business_licence"));
        p.remove(claim);
        let e = verifier()
            .verify(&sign(&h, &p, &a.signer, &rest), &Options::at(FIXED_AT))
            .unwrap_err();
        assert_eq!(e.code(), "malformed", "{claim}: {e}");
        assert!(e.to_string().contains(claim), "{claim}: {e}");
    }
}

#[test]
fn valid_until_at_the_end_of_time_is_an_error_not_a_permanent_licence() {
    let mut r: elicense::licence::LicenceRequest = serde_json::from_str(
        &std::fs::read_to_string(crate_dir().join("fixtures/requests/business_licence.json"))
            .unwrap(),
    )
    .unwrap();
    r.valid_until = Some("9999-12-31".into());
    let e = r
        .validate(&Uscc::parse("11350100MB00000012").unwrap())
        .unwrap_err();
    assert!(e.to_string().contains("valid_until"), "{e}");
}

#[test]
fn two_signatures_get_their_own_message() {
    let bl = golden("valid__business_licence");
    let sd = elicense::sdjwt::SdJwt::parse(&bl).unwrap();
    let mut two = sd.clone();
    two.signatures.push(two.signatures[0].clone());
    let e = verifier()
        .verify(&two.to_json_general().to_string(), &Options::at(FIXED_AT))
        .unwrap_err();
    assert!(e.to_string().contains("2 signatures"), "{e}");
}

#[test]
fn a_reason_cannot_contradict_the_administrative_status() {
    use elicense::ledger::{Action, AdminStatus, Ledger, LedgerError, Reason};
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let agency = Uscc::parse("11350100MB00000012").unwrap();
    let id =
        elicense::licence::identifier::LicenceId::new("1001", agency.clone(), "77", 1).unwrap();
    let slot = ledger.reserve(&agency).unwrap();
    ledger
        .record_issued(&id, slot, "digest", "test", 1)
        .unwrap();
    let e = ledger
        .change(
            &id.to_string(),
            Action::Revoke,
            &agency,
            Some(Reason::KeyCompromise),
            Some(AdminStatus::Deregistered),
            None,
            2,
        )
        .unwrap_err();
    assert!(matches!(e, LedgerError::ReasonContradicts { .. }), "{e}");
    assert_eq!(ledger.size(), 1);
}

#[test]
fn ledger_verify_checks_the_stored_size_not_the_open_ledger() {
    use elicense::ledger::integrity::{verify_dir, IntegrityError};
    use elicense::ledger::Ledger;
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let agency = Uscc::parse("11350100MB00000012").unwrap();
    let id =
        elicense::licence::identifier::LicenceId::new("1001", agency.clone(), "78", 1).unwrap();
    let slot = ledger.reserve(&agency).unwrap();
    ledger
        .record_issued(&id, slot, "digest", "test", 1)
        .unwrap();
    drop(ledger);
    verify_dir(dir.path(), "o", &[]).unwrap();
    tamper_closed_ledger(dir.path(), |db| {
        db.insert(b"msize", &99u64.to_be_bytes()).unwrap()
    });
    assert!(matches!(
        verify_dir(dir.path(), "o", &[]),
        Err(IntegrityError::SizeMismatch {
            stored: 99,
            found: 1
        })
    ));
}
