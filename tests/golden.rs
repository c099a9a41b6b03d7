//! Golden licences: fixtures issued once with the committed TEST-ONLY keys in
//! `fixtures/keys/`, named `<expected outcome>__<what was done>.sdjwt`. They must keep
//! verifying (or failing, with exactly that reason) at a fixed time, forever: a change
//! that breaks one breaks every licence already issued.
//!
//! Add new fixtures (existing keys and files are kept, never rewritten):
//! `ELICENSE_REGENERATE=1 cargo test --test golden -- --ignored regenerate`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::issue::Issuer;
use elicense::jose::{self, b64u_decode, b64u_encode, Es256Signer};
use elicense::keys::{self, KeyStore};
use elicense::licence::codes::Uscc;
use elicense::licence::identifier::LicenceId;
use elicense::licence::LicenceRequest;
use elicense::pki::AgencyIdentity;
use elicense::sdjwt::{self, Selection};
use elicense::verify::{Options, Verifier};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use time::macros::datetime;

/// Signing time of every golden licence: 2025-06-01T10:00:00+08:00.
const IAT: i64 = 1_748_743_200;
/// Verification time of the table: 2026-01-01T00:00:00+08:00.
const FIXED_AT: i64 = 1_767_196_800;

const AGENCY_A: &str = "11350100MB00000012";
const AGENCY_B: &str = "11440300MB00000022";
const AGENCY_EXPIRED: &str = "11110000MB00000035";
const AGENCY_OTHER_ROOT: &str = "11310000MB0000004M";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn licences_dir() -> PathBuf {
    crate_dir().join("fixtures/licences")
}

fn verifier() -> Verifier {
    Verifier::new(
        KeyStore::new(crate_dir().join("fixtures/keys"))
            .trust_store()
            .unwrap(),
    )
}

#[test]
fn golden_licences_verify_with_the_expected_outcome() {
    let verifier = verifier();
    let opts = Options::at(FIXED_AT);
    let mut entries: Vec<_> = std::fs::read_dir(licences_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sdjwt"))
        .collect();
    entries.sort();
    let mut outcomes = std::collections::BTreeSet::new();
    let mut wrong = Vec::new();
    for path in &entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let (expected, _) = name
            .split_once("__")
            .expect("fixture named <outcome>__<what>");
        let text = std::fs::read_to_string(path).unwrap();
        let got = match verifier.verify(text.trim(), &opts) {
            Ok(v) => {
                assert!(v.id().to_string().starts_with("1.2.156.3005.2."));
                "valid".to_owned()
            }
            Err(e) => e.code().to_owned(),
        };
        println!("{name:<60} → {got}");
        if got != expected {
            wrong.push(format!("{name}: expected {expected}, got {got}"));
        }
        outcomes.insert(expected.to_owned());
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(entries.len() >= 25, "only {} fixtures", entries.len());
    for needed in [
        "valid",
        "bad_signature",
        "disclosure_mismatch",
        "untrusted_issuer",
        "certificate_not_valid_at_signing",
        "unsupported_algorithm",
        "forbidden_header",
        "malformed",
        "expired",
        "not_yet_valid",
        "issuer_mismatch",
        "key_binding_failed",
    ] {
        assert!(outcomes.contains(needed), "no fixture for {needed}");
    }
}

#[test]
fn golden_business_licence_content_is_stable() {
    let text =
        std::fs::read_to_string(licences_dir().join("valid__business_licence.sdjwt")).unwrap();
    let v = verifier()
        .verify(text.trim(), &Options::at(FIXED_AT))
        .unwrap();
    assert_eq!(
        v.id().to_string(),
        "1.2.156.3005.2.1001.11350100MB00000012.20240301000123.1.S"
    );
    assert_eq!(v.holder_name(), Some("示例科技有限公司"));
    assert_eq!(v.holder_id(), Some("91350100M000100Y43"));
    assert_eq!(v.issuer_name(), "示例市市场监督管理局");
    assert_eq!(v.issued_at(), IAT);
    assert_eq!(v.not_after(), None);
    assert_eq!(v.fields().count(), 6);
    // The same licence long after: permanent licences do not expire.
    let later = Options::at(FIXED_AT + 10 * 365 * 86400);
    assert!(verifier().verify(text.trim(), &later).is_ok());
}

// ---------------------------------------------------------------------------------------
// Generator
// ---------------------------------------------------------------------------------------

fn request(name: &str) -> LicenceRequest {
    let p = crate_dir().join(format!("fixtures/requests/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn chmod_keys(dir: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    for entry in walk(dir) {
        if entry.to_string_lossy().ends_with(".key.pem") {
            std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn agency(code: &str, name: &str) -> AgencyIdentity {
    AgencyIdentity {
        name: name.into(),
        code: Uscc::parse(code).unwrap(),
        issuer_uri: format!("https://elicense.example/agencies/{code}"),
    }
}

fn parts(token: &str) -> (Map<String, Value>, Map<String, Value>, String, Vec<String>) {
    let mut split = token.split('~');
    let jwt = split.next().unwrap();
    let rest: Vec<String> = split.map(str::to_owned).collect();
    let mut j = jwt.split('.');
    let h = serde_json::from_slice(&b64u_decode(j.next().unwrap()).unwrap()).unwrap();
    let p = serde_json::from_slice(&b64u_decode(j.next().unwrap()).unwrap()).unwrap();
    (h, p, j.next().unwrap().to_owned(), rest)
}

fn join(
    header: &Map<String, Value>,
    payload: &Map<String, Value>,
    sig: &str,
    rest: &[String],
) -> String {
    let mut s = format!(
        "{}.{}.{}",
        b64u_encode(serde_json::to_vec(header).unwrap()),
        b64u_encode(serde_json::to_vec(payload).unwrap()),
        sig
    );
    for r in rest {
        s.push('~');
        s.push_str(r);
    }
    s
}

fn resign(
    header: &Map<String, Value>,
    payload: &Map<String, Value>,
    key: &Es256Signer,
    rest: &[String],
) -> String {
    let jwt = jose::sign_compact(
        &serde_json::to_vec(header).unwrap(),
        &serde_json::to_vec(payload).unwrap(),
        key,
    )
    .unwrap();
    let mut s = jwt;
    for r in rest {
        s.push('~');
        s.push_str(r);
    }
    s
}

#[test]
#[ignore = "regenerates the committed golden fixtures; run only on purpose"]
fn regenerate() {
    if std::env::var("ELICENSE_REGENERATE").as_deref() != Ok("1") {
        panic!("set ELICENSE_REGENERATE=1 to overwrite fixtures/keys and fixtures/licences");
    }
    let keys_dir = crate_dir().join("fixtures/keys");
    let out = licences_dir();
    std::fs::create_dir_all(&out).unwrap();

    // TEST-ONLY PKI, created once.
    let store = KeyStore::new(&keys_dir);
    let other = KeyStore::new(keys_dir.join("other-root"));
    let a = agency(AGENCY_A, "示例市市场监督管理局");
    let b = agency(AGENCY_B, "样例市市场监督管理局");
    let c = agency(AGENCY_EXPIRED, "已过期测试局 (expired test agency)");
    let d = agency(AGENCY_OTHER_ROOT, "不受信任测试局 (untrusted test agency)");
    if !store.has_root() {
        store
            .init_root(
                "elicense TEST-ONLY Root CA (不可用于生产)",
                datetime!(2024-01-01 0:00 UTC),
                20,
            )
            .unwrap();
        store
            .add_agency(
                &a,
                datetime!(2024-01-01 0:00 UTC),
                datetime!(2034-01-01 0:00 UTC),
            )
            .unwrap();
        store
            .add_agency(
                &b,
                datetime!(2024-01-01 0:00 UTC),
                datetime!(2034-01-01 0:00 UTC),
            )
            .unwrap();
        store
            .add_agency(
                &c,
                datetime!(2024-01-01 0:00 UTC),
                datetime!(2025-01-01 0:00 UTC),
            )
            .unwrap();
        other
            .init_root(
                "Untrusted TEST-ONLY Root",
                datetime!(2024-01-01 0:00 UTC),
                20,
            )
            .unwrap();
        other
            .add_agency(
                &d,
                datetime!(2024-01-01 0:00 UTC),
                datetime!(2034-01-01 0:00 UTC),
            )
            .unwrap();
        let (_, holder_der) = Es256Signer::generate().unwrap();
        std::fs::write(
            keys_dir.join("holder.key.pem"),
            keys::pem_encode(&holder_der, "PRIVATE KEY"),
        )
        .unwrap();
        std::fs::write(
            keys_dir.join("README.md"),
            "TEST-ONLY keys for the golden fixtures. Never use them for real licences.\n\
             Add fixtures with `ELICENSE_REGENERATE=1 cargo test --test golden -- --ignored regenerate`.\n",
        )
        .unwrap();
    }
    chmod_keys(&keys_dir);
    let holder = Es256Signer::from_pkcs8(
        &keys::pem_decode(
            &std::fs::read_to_string(keys_dir.join("holder.key.pem")).unwrap(),
            "PRIVATE KEY",
        )
        .unwrap(),
    )
    .unwrap();

    let key_a = store.agency_key(&a.code).unwrap();
    let key_b = store.agency_key(&b.code).unwrap();
    let key_c = store.agency_key(&c.code).unwrap();
    let key_d = other.agency_key(&d.code).unwrap();
    let signer_a = Es256Signer::from_pkcs8(
        &keys::pem_decode(
            &std::fs::read_to_string(keys_dir.join(format!("agencies/{AGENCY_A}.key.pem")))
                .unwrap(),
            "PRIVATE KEY",
        )
        .unwrap(),
    )
    .unwrap();
    let cert_b = key_b.cert_der.clone();
    let kid_b = key_b.info.kid.clone();
    let (cert_c, kid_c, signer_c) = (key_c.cert_der.clone(), key_c.info.kid.clone(), key_c.signer);
    let issuer_a = Issuer::new(key_a).unwrap();
    let issuer_d = Issuer::new(key_d).unwrap();
    // Golden files are never rewritten: only missing ones are added.
    let write = |name: &str, text: &str| {
        let path = out.join(format!("{name}.sdjwt"));
        if !path.exists() {
            std::fs::write(path, format!("{text}\n")).unwrap();
            println!("added {name}");
        }
    };

    // Valid.
    let bl = issuer_a
        .issue(&request("business_licence"), IAT)
        .unwrap()
        .sd_jwt;
    write("valid__business_licence", &bl);
    let food = issuer_a
        .issue(&request("food_business_permit"), IAT)
        .unwrap()
        .sd_jwt;
    write("valid__food_business_permit", &food);
    let teacher = issuer_a
        .issue(&request("teacher_qualification"), IAT)
        .unwrap()
        .sd_jwt;
    write("valid__teacher_qualification", &teacher);
    let shown = sdjwt::present(
        &bl,
        &Selection::top_level(["holder_name", "business_scope"]),
        None,
    )
    .unwrap();
    write("valid__presentation_two_claims", &shown);
    let none = sdjwt::present(&bl, &Selection::Nothing, None).unwrap();
    write("valid__presentation_nothing_disclosed", &none);
    let (mut h, p, _, rest) = parts(&bl);
    h.remove("x5c");
    write("valid__kid_only_no_x5c", &resign(&h, &p, &signer_a, &rest));

    // Key binding.
    let mut bound_req = request("business_licence");
    bound_req.serial = "20240301000124".into();
    bound_req.holder_key = Some(holder.public_key().to_jwk());
    let bound = issuer_a.issue(&bound_req, IAT).unwrap().sd_jwt;
    let kb = sdjwt::KeyBindingParams {
        aud: "https://bank.example/verifier",
        nonce: "golden-nonce-1",
        iat: FIXED_AT - 60,
    };
    let presented = sdjwt::present(
        &bound,
        &Selection::top_level(["holder_name"]),
        Some((&holder, kb)),
    )
    .unwrap();
    write("valid__key_bound_presentation", &presented);
    let mut segs: Vec<&str> = presented.split('~').collect();
    segs.remove(1);
    write(
        "key_binding_failed__disclosure_dropped_after_binding",
        &segs.join("~"),
    );
    let kb_jwt = presented.rsplit('~').next().unwrap();
    write(
        "key_binding_failed__kb_jwt_on_licence_without_holder_key",
        &format!("{bl}{kb_jwt}"),
    );
    let (stranger, _) = Es256Signer::generate().unwrap();
    let by_stranger = sdjwt::present(
        &bound,
        &Selection::top_level(["holder_name"]),
        Some((&stranger, kb)),
    )
    .unwrap();
    write("key_binding_failed__signed_by_another_key", &by_stranger);

    // Altered bytes.
    let (h, mut p, sig, rest) = parts(&bl);
    p.insert(
        "licence_id".into(),
        json!("1.2.156.3005.2.1001.11350100MB00000012.20240301000999.1.X"),
    );
    write("bad_signature__payload_altered", &join(&h, &p, &sig, &rest));
    let (mut h, p, sig, rest) = parts(&bl);
    h.insert("kid".into(), json!("AAAAAAAAAAA"));
    write(
        "bad_signature__header_kid_altered",
        &join(&h, &p, &sig, &rest),
    );
    let (h, p, sig, rest) = parts(&bl);
    let mut raw = b64u_decode(&sig).unwrap();
    raw[10] ^= 0x01;
    write(
        "bad_signature__signature_altered",
        &join(&h, &p, &b64u_encode(raw), &rest),
    );
    let (mut h, p, sig, rest) = parts(&bl);
    h.insert("x5c".into(), json!([jose::b64_encode(&cert_b)]));
    write(
        "bad_signature__x5c_swapped_for_other_agency",
        &join(&h, &p, &sig, &rest),
    );

    let segs: Vec<&str> = bl.split('~').collect();
    let first = sdjwt::decode_disclosure(segs[1]).unwrap();
    let forged =
        b64u_encode(serde_json::to_vec(&json!([first.salt, first.name, "伪造有限公司"])).unwrap());
    write(
        "disclosure_mismatch__disclosure_altered",
        &bl.replacen(segs[1], &forged, 1),
    );
    write(
        "disclosure_mismatch__disclosure_duplicated",
        &format!("{bl}{}~", segs[1]),
    );
    let food_d = food.split('~').nth(1).unwrap();
    write(
        "disclosure_mismatch__disclosure_from_another_licence",
        &format!("{bl}{food_d}~"),
    );

    // Wrong issuer.
    write(
        "untrusted_issuer__agency_under_another_root",
        &issuer_d
            .issue(&request("business_licence"), IAT)
            .unwrap()
            .sd_jwt,
    );
    let dl = issuer_d
        .issue(&request("food_business_permit"), IAT)
        .unwrap()
        .sd_jwt;
    let (mut h, p, _, rest) = parts(&dl);
    h.remove("x5c");
    let key_d2 = other.agency_key(&d.code).unwrap();
    write(
        "untrusted_issuer__unknown_kid_no_x5c",
        &resign(&h, &p, &key_d2.signer, &rest),
    );
    let (mut h, mut p, _, rest) = parts(&bl);
    h.insert("x5c".into(), json!([jose::b64_encode(&cert_c)]));
    h.insert("kid".into(), json!(kid_c));
    p.insert("iss".into(), json!(c.issuer_uri));
    let id_c = LicenceId::new("1001", c.code.clone(), "20240301000123", 1).unwrap();
    p.insert("licence_id".into(), json!(id_c.to_string()));
    write(
        "certificate_not_valid_at_signing__agency_cert_expired_before_iat",
        &resign(&h, &p, &signer_c, &rest),
    );
    let (h, mut p, _, rest) = parts(&bl);
    let id_b = LicenceId::new("1001", b.code.clone(), "20240301000123", 1).unwrap();
    p.insert("licence_id".into(), json!(id_b.to_string()));
    write(
        "issuer_mismatch__identifier_names_another_agency",
        &resign(&h, &p, &signer_a, &rest),
    );
    let (h, mut p, _, rest) = parts(&bl);
    p.insert("iss".into(), json!(b.issuer_uri));
    write(
        "issuer_mismatch__iss_is_another_agency",
        &resign(&h, &p, &signer_a, &rest),
    );
    let (h, mut p, _, rest) = parts(&bl);
    p.insert(
        "vct".into(),
        json!("urn:elicense:vct:food_business_permit:1"),
    );
    write(
        "issuer_mismatch__vct_does_not_match_type_code",
        &resign(&h, &p, &signer_a, &rest),
    );

    // Header policy.
    let (mut h, p, sig, rest) = parts(&bl);
    h.insert("alg".into(), json!("none"));
    write(
        "unsupported_algorithm__alg_none",
        &join(&h, &p, &sig, &rest),
    );
    let (mut h, p, sig, rest) = parts(&bl);
    h.insert("alg".into(), json!("HS256"));
    write("unsupported_algorithm__hs256", &join(&h, &p, &sig, &rest));
    let (mut h, p, _, rest) = parts(&bl);
    h.remove("x5c");
    h.insert(
        "jwk".into(),
        serde_json::to_value(stranger.public_key().to_jwk()).unwrap(),
    );
    write(
        "forbidden_header__embedded_jwk",
        &resign(&h, &p, &stranger, &rest),
    );
    let (mut h, p, _, rest) = parts(&bl);
    h.insert("kid".into(), json!(kid_b));
    write(
        "malformed__kid_names_another_certificate",
        &resign(&h, &p, &signer_a, &rest),
    );
    let (mut h, p, _, rest) = parts(&bl);
    h.insert("typ".into(), json!("JWT"));
    write("malformed__wrong_typ", &resign(&h, &p, &signer_a, &rest));
    write("malformed__truncated", &bl[..bl.find('~').unwrap() / 2]);
    write("malformed__empty_disclosure", &format!("{bl}~"));
    write("malformed__not_base64", &bl.replacen('.', ".%%%", 1));

    // Validity window.
    let mut r = request("food_business_permit");
    r.serial = "JY13501020000457".into();
    r.valid_from = "2024-12-01".into();
    r.valid_until = Some("2025-11-30".into());
    write(
        "expired__food_permit_ended_2025_11_30",
        &issuer_a.issue(&r, IAT).unwrap().sd_jwt,
    );
    let mut r = request("business_licence");
    r.serial = "20260601000001".into();
    r.valid_from = "2026-06-01".into();
    write(
        "not_yet_valid__valid_from_2026_06_01",
        &issuer_a.issue(&r, IAT).unwrap().sd_jwt,
    );
}
