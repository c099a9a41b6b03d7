//! The paper seal end to end: round trips, tampering, the QR size of a business licence,
//! and the same verdict for a seal and the SD-JWT VC of the same licence — through
//! `Verifier::verify` (ledger and offline status lists) and through the real server — and
//! the agency's QR and print endpoints.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{crate_dir, private_copy, private_fixture_keys, tamper_closed_ledger, FIXED_AT};
use elicense::issue::{status_list_uri, IssuedLicence, Issuer};
use elicense::jose::Es256Signer;
use elicense::keys::{AgencyKey, KeyStore};
use elicense::ledger::{Action, Ledger};
use elicense::licence::codes::Uscc;
use elicense::licence::identifier::LicenceId;
use elicense::licence::{LicenceRequest, LicenceType};
use elicense::qr::SealQr;
use elicense::seal::{self, SealClaims};
use elicense::server::AppState;
use elicense::status_list::StatusReference;
use elicense::tokens::TokenStore;
use elicense::verify::{Options, StatusCheck, Verifier};
use proptest::prelude::*;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

const A: &str = "11350100MB00000012";
const B: &str = "11440300MB00000022";
/// The agency under the foreign (untrusted) root in `fixtures/keys/other-root`.
const FOREIGN: &str = "11310000MB0000004M";
const BASE: &str = "https://elicense.example";
/// Issue time of the matrix licences: 2025-06-01T00:00:00+08:00.
const ISSUED_AT: i64 = 1_748_707_200;

fn request(serial: &str) -> LicenceRequest {
    let mut r: LicenceRequest =
        serde_json::from_str(include_str!("../fixtures/requests/business_licence.json")).unwrap();
    r.serial = serial.into();
    r
}

fn agency_key(store: &KeyStore, code: &str) -> AgencyKey {
    store.agency_key(&Uscc::parse(code).unwrap()).unwrap()
}

/// A real ledger in a tempdir, the TEST-ONLY agencies, and the licences of the matrix.
struct World {
    _keys: tempfile::TempDir,
    _foreign_keys: tempfile::TempDir,
    _data: tempfile::TempDir,
    store: KeyStore,
    ledger: Arc<Ledger>,
    a: Issuer,
    verifier: Verifier,
    /// `(case, expected verdict code, licence)`.
    cases: Vec<(&'static str, &'static str, IssuedLicence)>,
}

fn world() -> World {
    let (keys, store) = private_fixture_keys();
    let (foreign_keys, foreign_store) = private_copy(&crate_dir().join("fixtures/keys/other-root"));
    let data = tempfile::tempdir().unwrap();
    let ledger = Arc::new(Ledger::open(data.path()).unwrap());
    let a = Issuer::new(agency_key(&store, A)).unwrap();
    let mut cases = Vec::new();
    let mut issue = |case, code, serial: &str, req: Option<LicenceRequest>| {
        let req = req.unwrap_or_else(|| request(serial));
        let issued = a.issue_recorded(&ledger, &req, ISSUED_AT, BASE, A).unwrap();
        cases.push((case, code, issued));
    };
    issue("valid", "valid", "700001", None);
    issue("revoked", "revoked", "700002", None);
    issue("suspended", "suspended", "700003", None);
    let mut expired = request("700004");
    expired.valid_from = "2025-01-01".into();
    expired.valid_until = Some("2025-12-01".into());
    issue("expired", "expired", "700004", Some(expired));
    let agency = Uscc::parse(A).unwrap();
    for (case, action) in [("revoked", Action::Revoke), ("suspended", Action::Suspend)] {
        let id = cases.iter().find(|c| c.0 == case).unwrap().2.id.to_string();
        ledger
            .change(&id, action, &agency, None, None, None, ISSUED_AT + 10)
            .unwrap();
    }
    // A forgery by an agency under a root nobody trusts.
    let foreign = Issuer::new(agency_key(&foreign_store, FOREIGN)).unwrap();
    let reference = StatusReference::new(5, status_list_uri(BASE, FOREIGN, 0)).unwrap();
    let forged = foreign
        .issue_with_status(&request("700005"), ISSUED_AT, Some(&reference))
        .unwrap();
    cases.push(("forged under a foreign root", "untrusted_issuer", forged));
    // A forgery naming the real agency's certificate, signed with another key.
    let real = agency_key(&store, A);
    let impostor = Issuer::new(AgencyKey {
        signer: agency_key(&foreign_store, FOREIGN).signer,
        cert_der: real.cert_der,
        info: real.info,
    })
    .unwrap();
    let reference = StatusReference::new(6, status_list_uri(BASE, A, 0)).unwrap();
    let forged = impostor
        .issue_with_status(&request("700006"), ISSUED_AT, Some(&reference))
        .unwrap();
    cases.push(("forged with the agency's kid", "bad_signature", forged));
    World {
        verifier: Verifier::new(store.trust_store().unwrap()),
        _keys: keys,
        _foreign_keys: foreign_keys,
        _data: data,
        store,
        ledger,
        a,
        cases,
    }
}

fn verdict(verifier: &Verifier, text: &str, opts: &Options<'_>) -> String {
    match verifier.verify(text, opts) {
        Ok(_) => "valid".into(),
        Err(e) => e.code().into(),
    }
}

/// Signed status lists of every list the ledger has, fresh at the matrix time.
fn status_lists(w: &World) -> Vec<String> {
    w.ledger
        .lists()
        .into_iter()
        .filter(|(issuer, _)| issuer == A)
        .map(|(issuer, list)| {
            let statuses = w
                .ledger
                .status_list(&Uscc::parse(&issuer).unwrap(), list)
                .unwrap();
            w.a.sign_status_list(
                &statuses,
                &status_list_uri(BASE, &issuer, list),
                FIXED_AT - 60,
                86_400,
                3_600,
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn seal_and_sd_jwt_of_a_licence_get_the_same_verdict() {
    let w = world();
    let lists = status_lists(&w);
    let online = Options::at(FIXED_AT).with_status(StatusCheck::Ledger(&w.ledger));
    let offline = Options::at(FIXED_AT).with_status(StatusCheck::Lists(&lists));
    for (case, expected, issued) in &w.cases {
        assert!(issued.seal.starts_with("EL1:"), "{case}");
        for (mode, opts) in [("ledger", &online), ("status lists", &offline)] {
            let by_sd_jwt = verdict(&w.verifier, &issued.sd_jwt, opts);
            let by_seal = verdict(&w.verifier, &issued.seal, opts);
            assert_eq!(by_sd_jwt, *expected, "{case} ({mode}), SD-JWT");
            assert_eq!(by_seal, *expected, "{case} ({mode}), seal");
        }
    }
    // A valid licence verifies to the same licence, field for field, from either form.
    let valid = &w.cases[0].2;
    for opts in [&online, &offline] {
        let from_sd_jwt = w.verifier.verify(&valid.sd_jwt, opts).unwrap();
        let from_seal = w.verifier.verify(&valid.seal, opts).unwrap();
        assert_eq!(
            serde_json::to_value(&from_seal).unwrap(),
            seal_view(serde_json::to_value(&from_sd_jwt).unwrap())
        );
        assert_eq!(from_seal.other_claims(), from_sd_jwt.other_claims());
    }
    // Paper cannot prove its holder: key binding demanded is refused, as for an SD-JWT
    // without a holder key.
    let bound = Options {
        aud: Some("https://bank.example"),
        nonce: Some("n-1"),
        ..Options::at(FIXED_AT)
    };
    assert_eq!(
        verdict(&w.verifier, &valid.seal, &bound),
        verdict(&w.verifier, &valid.sd_jwt, &bound)
    );
    assert_eq!(
        verdict(&w.verifier, &valid.seal, &bound),
        "key_binding_failed"
    );
    // Before its validity or the certificate: not yet valid, for both.
    let early = Options::at(ISSUED_AT - 86_400 * 400);
    assert_eq!(verdict(&w.verifier, &valid.seal, &early), "not_yet_valid");
    assert_eq!(verdict(&w.verifier, &valid.sd_jwt, &early), "not_yet_valid");
}

/// The COSE bytes of a seal and a seal of other COSE bytes (no signing).
fn cose_of(text: &str) -> Vec<u8> {
    let z = base45::decode(&text[seal::PREFIX.len()..]).unwrap();
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(&z[..]), &mut out).unwrap();
    out
}

fn seal_of(cose: &[u8]) -> String {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(cose).unwrap();
    format!("{}{}", seal::PREFIX, base45::encode(z.finish().unwrap()))
}

#[test]
fn tampered_seals_are_rejected() {
    let w = world();
    let valid = &w.cases[0].2.seal;
    let opts = Options::at(FIXED_AT);
    assert_eq!(verdict(&w.verifier, valid, &opts), "valid");

    // Every byte of the COSE_Sign1 is structure, signed, or the signature: any change is
    // refused.
    let cose = cose_of(valid);
    let mut codes: HashMap<String, usize> = HashMap::new();
    for i in 0..cose.len() {
        for mask in [0x01u8, 0x80] {
            let mut t = cose.clone();
            t[i] ^= mask;
            let v = verdict(&w.verifier, &seal_of(&t), &opts);
            assert_ne!(v, "valid", "byte {i} ^ {mask:#x} accepted");
            *codes.entry(v).or_default() += 1;
        }
    }
    println!("COSE byte flips: {codes:?}");
    assert!(codes.contains_key("bad_signature") && codes.contains_key("malformed"));

    // Every character of the text changed to two others. Deflate leaves a few bits of its
    // last byte unused, so a change there can inflate to the very same COSE_Sign1: such a
    // text is accepted only when what was signed is byte for byte what was issued.
    let original = seal::decode(valid).unwrap();
    let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    let (mut rejected, mut same_content) = (0, 0);
    for (i, c) in valid.bytes().enumerate() {
        let pos = alphabet.iter().position(|a| *a == c).unwrap_or(0);
        for step in [1, 22] {
            let mut t = valid.clone().into_bytes();
            t[i] = alphabet[(pos + step) % alphabet.len()];
            let t = String::from_utf8(t).unwrap();
            match w.verifier.verify(&t, &opts) {
                Err(_) => rejected += 1,
                Ok(_) => {
                    let d = seal::decode(&t).unwrap();
                    assert_eq!(d.signed_bytes(), original.signed_bytes(), "char {i}");
                    assert_eq!(cose_of(&t), cose, "char {i}: another COSE_Sign1 accepted");
                    same_content += 1;
                }
            }
        }
    }
    println!("text changes: {rejected} rejected, {same_content} inflate to the issued COSE_Sign1");
    assert!(same_content * 50 < rejected, "{same_content} accepted");

    // Cut short, or with anything after it.
    assert_ne!(
        verdict(&w.verifier, &valid[..valid.len() - 1], &opts),
        "valid"
    );
    assert_ne!(verdict(&w.verifier, &format!("{valid}0"), &opts), "valid");
    assert_eq!(
        verdict(
            &w.verifier,
            &valid.to_lowercase().replacen("el1:", "EL1:", 1),
            &opts
        ),
        "malformed"
    );
}

#[test]
fn business_licence_seal_size_and_qr_version() {
    let w = world();
    let issued =
        w.a.issue_recorded(&w.ledger, &request("20240301000123"), ISSUED_AT, BASE, A)
            .unwrap();
    let compressed = base45::decode(&issued.seal[seal::PREFIX.len()..]).unwrap();
    let qr = SealQr::new(&issued.seal).unwrap();
    println!(
        "business licence seal: {} characters, {} bytes compressed, {} bytes COSE_Sign1 → QR version {} ({}×{} modules) at level Q",
        issued.seal.len(),
        compressed.len(),
        cose_of(&issued.seal).len(),
        qr.version(),
        qr.width(),
        qr.width()
    );
    assert_eq!(qr.width(), 17 + 4 * qr.version() as usize);
    // The goal: a typical business licence's seal fits version 20 at level Q. The business
    // scope stays in the SD-JWT (LicenceType::seal_fields); docs/seal.md, "Size".
    assert!(qr.version() <= 20, "version {}", qr.version());
}

fn arb_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::char::range('\u{4e00}', '\u{9fa5}'),
            proptest::char::range(' ', '~'),
            Just('（'),
            Just('；'),
        ],
        1..max,
    )
    .prop_map(|v| v.into_iter().collect::<String>())
    .prop_filter("non-empty", |s| !s.is_empty())
}

fn arb_claims() -> impl Strategy<Value = SealClaims> {
    (
        proptest::sample::select(LicenceType::ALL.to_vec()),
        "[0-9A-Z]{1,32}",
        1u32..1000,
        arb_text(60),
        proptest::collection::vec(proptest::option::weighted(0.8, arb_text(200)), 7),
        (
            0i64..4_000_000_000,
            0i64..4_000_000_000,
            proptest::option::of(0i64..i64::MAX),
        ),
        proptest::option::of((0u64..u64::MAX, "[a-z]{1,8}:[!-~]{1,80}")),
    )
        .prop_map(
            |(t, serial, version, name, values, (iat, nbf, exp), status)| {
                let id =
                    LicenceId::new(t.code(), Uscc::parse(A).unwrap(), &serial, version).unwrap();
                let fields = t
                    .seal_fields()
                    .iter()
                    .zip(values)
                    .map(|(spec, v)| match v {
                        None if spec.required => Some("必填".to_owned()),
                        v => v,
                    })
                    .collect();
                SealClaims {
                    iss: format!("{BASE}/agencies/{A}"),
                    iat,
                    nbf,
                    exp,
                    status: status.map(|(idx, uri)| StatusReference::new(idx, uri).unwrap()),
                    licence_id: id,
                    licence_type: t,
                    holder_name: name,
                    holder_id: "91350100M000100Y43".into(),
                    fields,
                }
            },
        )
}

fn test_key() -> &'static Es256Signer {
    static KEY: std::sync::OnceLock<Es256Signer> = std::sync::OnceLock::new();
    KEY.get_or_init(|| Es256Signer::generate().unwrap().0)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("tests/seal.proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn encode_decode_round_trip(claims in arb_claims(), kid in any::<[u8; 8]>()) {
        let key = test_key();
        let text = seal::encode(&claims, kid, key).unwrap();
        prop_assert!(text.starts_with(seal::PREFIX));
        prop_assert!(SealQr::new(&text).is_ok() || text.len() > 2420);
        let decoded = seal::decode(&text).unwrap();
        prop_assert_eq!(decoded.kid(), kid);
        prop_assert!(decoded.verify_signature(&key.public_key()).is_ok());
        prop_assert_eq!(decoded.into_claims(), claims);
    }
}

// ─── The real server ───────────────────────────────────────────────────────────────────

struct Server {
    url: String,
    tokens: TokenStore,
    w: World,
    _running: common::server::Running,
}

fn start() -> Server {
    let w = world();
    let mut issuers = HashMap::new();
    issuers.insert(A.to_owned(), Issuer::new(agency_key(&w.store, A)).unwrap());
    issuers.insert(B.to_owned(), Issuer::new(agency_key(&w.store, B)).unwrap());
    let tokens = TokenStore::new(w.store.dir());
    let state = AppState::builder(
        Verifier::new(w.store.trust_store().unwrap()),
        w.ledger.clone(),
        tokens.clone(),
        BASE,
    )
    .issuers(issuers)
    .clock(|| FIXED_AT)
    .build();
    let running = common::server::serve(state);
    Server {
        url: running.url.clone(),
        tokens,
        w,
        _running: running,
    }
}

struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.text()))
    }
}

fn call(req: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = req.unwrap();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    Answer {
        status: r.status().as_u16(),
        headers,
        body: r.body_mut().read_to_vec().unwrap_or_default(),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn get(s: &Server, path: &str, token: Option<&str>) -> Answer {
    let mut r = agent().get(&format!("{}{path}", s.url));
    if let Some(t) = token {
        r = r.header("authorization", &format!("Bearer {t}"));
    }
    call(r.call())
}

fn post(s: &Server, path: &str, token: Option<&str>, content_type: &str, body: &str) -> Answer {
    let mut r = agent()
        .post(&format!("{}{path}", s.url))
        .header("content-type", content_type);
    if let Some(t) = token {
        r = r.header("authorization", &format!("Bearer {t}"));
    }
    call(r.send(body))
}

#[test]
fn server_gives_a_seal_the_verdict_of_its_sd_jwt() {
    let s = start();
    for (case, expected, issued) in &s.w.cases {
        let mut verdicts = Vec::new();
        for text in [&issued.sd_jwt, &issued.seal] {
            let a = post(&s, "/v1/verify", None, "text/plain", text);
            assert_eq!(a.status, 200, "{}", a.text());
            let j = a.json();
            let code = match j["verdict"].as_str() {
                Some("invalid") => j["reason"]["code"].as_str().unwrap().to_owned(),
                Some(v) => v.to_owned(),
                None => panic!("{j}"),
            };
            verdicts.push(code);
        }
        assert_eq!(verdicts, [*expected, *expected], "{case}");
    }
    // The JSON form of a request takes a seal as well, and the licence it shows is the
    // SD-JWT's.
    let valid = &s.w.cases[0].2;
    let body = serde_json::json!({ "licence": valid.seal }).to_string();
    let by_seal = post(&s, "/v1/verify", None, "application/json", &body).json();
    let by_sd_jwt = post(&s, "/v1/verify", None, "text/plain", &valid.sd_jwt).json();
    assert_eq!(by_seal, seal_view(by_sd_jwt));
}

/// What a seal shows of an SD-JWT's verified licence: the same, less the face fields the
/// seal leaves to the SD-JWT (`LicenceType::seal_fields`: a business licence's scope).
fn seal_view(mut v: serde_json::Value) -> serde_json::Value {
    let fields = v["fields"].as_array_mut().unwrap();
    let before = fields.len();
    fields.retain(|f| f["key"] != "business_scope");
    assert_eq!(fields.len() + 1, before, "the fixture has a business scope");
    v
}

#[test]
fn qr_and_print_are_for_the_issuing_agency_only() {
    let s = start();
    let (_, token_a) = s.tokens.create(&Uscc::parse(A).unwrap(), FIXED_AT).unwrap();
    let (_, token_b) = s.tokens.create(&Uscc::parse(B).unwrap(), FIXED_AT).unwrap();
    let valid = &s.w.cases[0].2;
    let id = valid.id.to_string();
    for what in ["qr", "print"] {
        let path = format!("/v1/licences/{id}/{what}");
        let a = get(&s, &path, None);
        assert_eq!(a.status, 401, "{what}: {}", a.text());
        assert_eq!(a.json()["error"]["code"], "unauthorized");
        let a = get(&s, &path, Some("not-a-token"));
        assert_eq!(a.status, 401, "{what}");
        let a = get(&s, &path, Some(&token_b));
        assert_eq!(a.status, 403, "{what}: {}", a.text());
        assert_eq!(a.json()["error"]["code"], "forbidden");
        let unknown = LicenceId::new("1001", Uscc::parse(A).unwrap(), "999999", 1).unwrap();
        let a = get(
            &s,
            &format!("/v1/licences/{unknown}/{what}"),
            Some(&token_a),
        );
        assert_eq!(a.status, 404, "{what}");
        let a = get(&s, &format!("/v1/licences/1.2.3/{what}"), Some(&token_a));
        assert_eq!(a.status, 400, "{what}");
    }

    // The QR code: SVG by default, PNG on request, never cached by intermediaries.
    let a = get(&s, &format!("/v1/licences/{id}/qr"), Some(&token_a));
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.headers["content-type"], "image/svg+xml");
    assert_eq!(a.headers["cache-control"], "private, no-store");
    let svg = a.text();
    let qr = SealQr::new(&valid.seal).unwrap();
    assert_eq!(svg, qr.to_svg());
    assert!(svg.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    let a = get(
        &s,
        &format!("/v1/licences/{id}/qr?format=png"),
        Some(&token_a),
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "image/png");
    assert_eq!(&a.body[..8], b"\x89PNG\r\n\x1a\n");
    let img = image::load_from_memory(&a.body).unwrap();
    assert_eq!(img.width(), img.height());
    assert_eq!(
        img.width() as usize,
        (qr.width() + 8) * elicense::qr::DEFAULT_MODULE_PX as usize
    );
    let a = get(
        &s,
        &format!("/v1/licences/{id}/qr?format=gif"),
        Some(&token_a),
    );
    assert_eq!(a.status, 400);

    // The printable page.
    let a = get(&s, &format!("/v1/licences/{id}/print"), Some(&token_a));
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.headers["content-type"], "text/html; charset=utf-8");
    let page = a.text();
    for needle in [
        "@page { size: A4",
        "营业执照",
        "Business licence",
        "示例科技有限公司",
        "示例市市场监督管理局",
        "经营范围",
        "见电子证照",
        id.as_str(),
        "<svg",
        "有效 Valid",
    ] {
        assert!(page.contains(needle), "page lacks {needle:?}");
    }
    let revoked = &s.w.cases[1].2.id;
    let page = get(&s, &format!("/v1/licences/{revoked}/print"), Some(&token_a)).text();
    assert!(page.contains("已撤销 Revoked"));

    // The POST routes beside them still work: the agency suspends its licence over HTTP.
    let a = post(
        &s,
        &format!("/v1/licences/{id}/suspend"),
        Some(&token_a),
        "application/json",
        "",
    );
    assert_eq!(a.status, 200, "{}", a.text());
    let a = post(&s, "/v1/verify", None, "text/plain", &valid.seal);
    assert_eq!(a.json()["reason"]["code"], "suspended");
}

#[test]
fn ledger_keeps_seals_and_its_check_covers_them() {
    use elicense::ledger::integrity::verify_dir;
    let w = world();
    for (case, _, issued) in &w.cases[..4] {
        assert_eq!(
            w.ledger.seal(&issued.id.to_string()).unwrap().as_deref(),
            Some(issued.seal.as_str()),
            "{case}"
        );
    }
    let verifiers: [elicense::ledger::checkpoint::NoteVerifier; 0] = [];
    let World {
        ledger,
        _data: data,
        cases,
        ..
    } = w;
    // Closed, so its database can be changed behind its back.
    drop(ledger);
    let report = verify_dir(data.path(), "x", &verifiers).unwrap();
    assert_eq!(report.licences, 4);
    // A seal stored under another licence, or for none, is named.
    let first = cases[0].2.id.to_string();
    let second = cases[1].2.seal.clone();
    let mut key = b"s".to_vec();
    key.extend_from_slice(first.as_bytes());
    tamper_closed_ledger(data.path(), |db| {
        db.insert(&key, second.as_bytes()).unwrap()
    });
    let e = verify_dir(data.path(), "x", &verifiers).unwrap_err();
    assert!(e.to_string().contains("names another licence"), "{e}");
    tamper_closed_ledger(data.path(), |db| {
        db.insert(&key, b"EL1:junk".as_slice()).unwrap()
    });
    let e = verify_dir(data.path(), "x", &verifiers).unwrap_err();
    assert!(e.to_string().contains("does not decode"), "{e}");
    tamper_closed_ledger(data.path(), |db| {
        db.remove(&key).unwrap();
        db.insert(b"s1.2.156.3005.2.1001.none", second.as_bytes())
            .unwrap()
    });
    let e = verify_dir(data.path(), "x", &verifiers).unwrap_err();
    assert!(
        e.to_string().contains("belongs to no issued licence"),
        "{e}"
    );
}

#[test]
fn a_licence_whose_seal_no_qr_code_holds_is_refused_before_it_is_recorded() {
    let (_keys, store) = private_fixture_keys();
    let data = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(data.path()).unwrap();
    let a = Issuer::new(agency_key(&store, A)).unwrap();
    let mut r = request("800001");
    // 700 varied CJK characters: about 2100 bytes that zlib cannot shrink, so the seal
    // passes the decoders' 4096-character cap but not a version-40 QR code's 2420.
    let address: String = (0..700u32)
        .map(|i| char::from_u32(0x4e00 + (i.wrapping_mul(2_654_435_761) >> 20) % 0x5000).unwrap())
        .collect();
    r.fields.insert("address".into(), address);
    let size = ledger.size();
    let e = a
        .issue_recorded(&ledger, &r, ISSUED_AT, BASE, A)
        .unwrap_err();
    let text = elicense::verify::error_chain(&e);
    assert!(text.contains("QR code"), "{text}");
    assert_eq!(ledger.size(), size, "nothing recorded");
    let id = r.validate(&Uscc::parse(A).unwrap()).unwrap().id.to_string();
    assert!(ledger.record(&id).unwrap().is_none(), "no record of {id}");
    println!("{text}");
}
