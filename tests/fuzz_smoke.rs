//! Smoke fuzzing on stable, in the normal `cargo test` run: the same parsers and the
//! same properties as the cargo-fuzz targets in `tests/fuzz/` (see its README), driven
//! by proptest instead of libFuzzer.
//!
//! Inputs are random strings and bytes, strings shaped like what each parser expects,
//! and single-byte mutations (flip, insert, delete) of the golden licences in
//! `fixtures/licences/` and of the TEST-ONLY certificates. No input may panic; what
//! parses must round-trip; and a mutation that changes the issuer-signed JWT of a valid
//! licence (everything before the first `~`) must never verify.
//!
//! Failing cases are saved to `tests/fuzz/smoke.proptest-regressions` and replayed
//! first on the next run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::jose::{self, b64u_encode, parse_header, CompactJws, Es256PublicKey, UnverifiedJws};
use elicense::keys::{self, KeyStore};
use elicense::ledger::checkpoint::{self, Checkpoint, NoteSigner, NoteVerifier};
use elicense::licence::codes::{self, HolderCode, HolderKind, ResidentId, Uscc};
use elicense::licence::identifier::LicenceId;
use elicense::pki;
use elicense::scan::{scan_with, ImageKind, ScanError, ScanLimits};
use elicense::sdjwt::{self, Disclosure, SdJwt, Serialization};
use elicense::status_list::{self, Status, StatusList, TokenClaims, Validation};
use elicense::verify::{Options, Verifier};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Verification time of the golden fixtures: 2026-01-01T00:00:00+08:00.
const FIXED_AT: i64 = 1_767_196_800;
/// The audience and nonce of the golden key-bound presentation.
const AUD: &str = "https://bank.example/verifier";
const NONCE: &str = "golden-nonce-1";

/// Cases per property; a few seconds in all in a debug build.
const CASES: u32 = 2048;
/// Cases of mutated golden licences (each verified three times).
const LICENCE_CASES: u32 = 4096;

// ---------------------------------------------------------------------------------------
// Fixtures, loaded once
// ---------------------------------------------------------------------------------------

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn keys_dir() -> PathBuf {
    crate_dir().join("fixtures/keys")
}

struct Fixture {
    name: String,
    /// The licence, trimmed of the trailing newline of the file.
    text: String,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)
    }
}

impl Fixture {
    fn is_valid(&self) -> bool {
        self.name.starts_with("valid__")
    }
}

fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let mut out: Vec<Fixture> = std::fs::read_dir(crate_dir().join("fixtures/licences"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "sdjwt"))
            .map(|p| Fixture {
                name: p.file_stem().unwrap().to_string_lossy().into_owned(),
                text: std::fs::read_to_string(&p).unwrap().trim().to_owned(),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        assert!(out.len() >= 25, "only {} golden licences", out.len());
        out
    })
}

fn valid_fixtures() -> Vec<&'static Fixture> {
    let valid: Vec<_> = fixtures().iter().filter(|f| f.is_valid()).collect();
    assert!(!valid.is_empty(), "no valid golden licence");
    valid
}

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| Verifier::new(KeyStore::new(keys_dir()).trust_store().unwrap()))
}

/// An agency key, to check signatures against.
fn agency_key() -> &'static Es256PublicKey {
    static KEY: OnceLock<Es256PublicKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let (_, info) = KeyStore::new(keys_dir())
            .agencies()
            .unwrap()
            .into_iter()
            .next()
            .expect("an agency in the TEST-ONLY key store");
        info.public_key
    })
}

/// Every certificate at hand, DER: the TEST-ONLY PEM files and the `x5c` chains of the
/// golden licences.
fn certificates() -> &'static [Vec<u8>] {
    static CERTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    CERTS.get_or_init(|| {
        let mut out = Vec::new();
        let mut dirs = vec![keys_dir()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.to_string_lossy().ends_with(".crt.pem") {
                    let pem = std::fs::read_to_string(&path).unwrap();
                    out.push(keys::pem_decode(&pem, "CERTIFICATE").unwrap());
                }
            }
        }
        for f in fixtures() {
            let jwt = f.text.split('~').next().unwrap_or_default();
            let Ok(jws) = UnverifiedJws::parse(jwt) else {
                continue;
            };
            for c in jws.header().x5c.clone().unwrap_or_default() {
                if let Ok(der) = jose::b64_decode(&c) {
                    if !out.contains(&der) {
                        out.push(der);
                    }
                }
            }
        }
        out.sort();
        assert!(out.len() >= 4, "only {} certificates", out.len());
        out
    })
}

#[path = "common/photo.rs"]
mod photo;

/// Small PNG and JPEG photos of a QR code, to mutate.
fn code_photos() -> &'static [(&'static str, Vec<u8>)] {
    static PHOTOS: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    PHOTOS.get_or_init(photo::small_code_photos)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        max_shrink_iters: 512,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/fuzz/smoke.proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// The checks: one per fuzz target, with the same properties
// ---------------------------------------------------------------------------------------

type Parts = (
    Serialization,
    String,
    Vec<(String, String)>,
    Vec<String>,
    Option<String>,
);

fn parts(sd: &SdJwt<'_>) -> Parts {
    (
        sd.serialization,
        sd.payload_b64.to_string(),
        sd.signatures
            .iter()
            .map(|s| (s.protected_b64.to_string(), s.signature_b64.to_string()))
            .collect(),
        sd.disclosures.iter().map(ToString::to_string).collect(),
        sd.kb_jwt.as_ref().map(ToString::to_string),
    )
}

/// `sdjwt_parse`: parse, decode the payload, process the disclosures; re-serialize.
fn check_sdjwt(text: &str) {
    let Ok(sd) = SdJwt::parse(text) else {
        return;
    };
    assert!(!sd.signatures.is_empty(), "parsed without a signature");
    if let Ok(payload) = sd.unverified_payload() {
        let _ = sdjwt::process_disclosures(payload, &sd.disclosures);
    }
    let _ = sd.sd_hash_input();
    match sd.serialization {
        Serialization::Compact => {
            assert_eq!(sd.to_compact(), text, "compact form does not round-trip");
        }
        Serialization::JsonFlattened | Serialization::JsonGeneral => {
            let json = if sd.serialization == Serialization::JsonFlattened {
                sd.to_json_flattened()
            } else {
                sd.to_json_general()
            };
            let again_text = json.to_string();
            let again = SdJwt::parse(&again_text)
                .unwrap_or_else(|e| panic!("re-serialized JSON does not parse: {e:?}"));
            assert_eq!(parts(&again), parts(&sd), "JSON form does not round-trip");
        }
    }
}

/// Distance in units in the last place between two finite floats.
fn ulps(a: f64, b: f64) -> u64 {
    let key = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 {
            i64::MIN - bits
        } else {
            bits
        }
    };
    key(a).abs_diff(key(b))
}

/// JSON equality with floats within `max_ulps` (serde_json without `float_roundtrip`
/// parses some floats up to 2 ULP off; see `disclosure_floats_round_trip_exactly`).
fn same_json(a: &Value, b: &Value, max_ulps: u64) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => ulps(x, y) <= max_ulps,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y, max_ulps))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same_json(vx, vy, max_ulps))
        }
        _ => a == b,
    }
}

fn encode_disclosure(d: &Disclosure) -> String {
    let mut items = vec![Value::String(d.salt.clone())];
    if let Some(name) = &d.name {
        items.push(Value::String(name.clone()));
    }
    items.push(d.value.clone());
    b64u_encode(serde_json::to_vec(&Value::Array(items)).unwrap())
}

fn assert_same_disclosure(got: &Disclosure, want: &Disclosure, max_ulps: u64) {
    assert_eq!(got.salt, want.salt);
    assert_eq!(got.name, want.name);
    assert!(
        same_json(&got.value, &want.value, max_ulps),
        "disclosure value changed in a round trip:\n want {:?}\n  got {:?}",
        want.value,
        got.value
    );
}

/// `disclosure`: decode; re-encode; decode again to the same.
fn check_disclosure(text: &str) {
    let _ = sdjwt::disclosure_digest(text);
    let Ok(first) = sdjwt::decode_disclosure(text) else {
        return;
    };
    let encoded = encode_disclosure(&first);
    let second = sdjwt::decode_disclosure(&encoded)
        .unwrap_or_else(|e| panic!("re-encoded disclosure does not decode: {e:?}"));
    assert_same_disclosure(&second, &first, 0);
}

/// `verify`: both without and with key binding demanded. Returns whether each
/// verified; verifying again gives the same outcome (the header cache changes nothing).
fn check_verify(text: &str) -> (bool, bool) {
    let plain = Options::at(FIXED_AT);
    let bound = Options {
        at: FIXED_AT,
        aud: Some(AUD),
        nonce: Some(NONCE),
        status: elicense::verify::StatusCheck::NotChecked,
    };
    let outcome = |opts: &Options<'_>| match verifier().verify(text, opts) {
        Ok(v) => {
            assert!(v.id().to_string().starts_with("1.2.156.3005.2."));
            Ok(())
        }
        Err(e) => {
            let _ = (e.to_string(), e.is_not_genuine());
            Err(e.code())
        }
    };
    let first = outcome(&plain);
    assert_eq!(outcome(&plain), first, "verifying twice differs");
    let with_kb = outcome(&bound);
    (first.is_ok(), with_kb.is_ok())
}

/// `licence_id`: what parses prints back as given and survives serde.
fn check_licence_id(text: &str) {
    let Ok(id) = LicenceId::parse(text) else {
        return;
    };
    assert_eq!(
        id.to_string(),
        text,
        "identifier does not print back as parsed"
    );
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(serde_json::from_str::<LicenceId>(&json).unwrap(), id);
}

/// `holder_code`: the three parsers keep the text verbatim and agree with each other.
fn check_holder_code(text: &str) {
    let uscc = Uscc::parse(text);
    let resident = ResidentId::parse(text);
    if let Ok(code) = &uscc {
        assert_eq!(code.as_str(), text);
    }
    if let Ok(id) = &resident {
        assert_eq!(id.as_str(), text);
        let _ = (id.birth_date().to_string(), format!("{id:?}"));
    }
    match HolderCode::parse(text) {
        Ok(code) => {
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
            let want = if resident.is_ok() {
                HolderKind::ResidentId
            } else {
                HolderKind::Uscc
            };
            assert_eq!(code.kind(), want, "holder code read as the wrong kind");
            assert!(uscc.is_ok() || resident.is_ok());
        }
        Err(e) => assert!(
            uscc.is_err() && resident.is_err(),
            "HolderCode::parse rejected a valid code: {e:?}"
        ),
    }
}

/// `jws`: the header policy on raw bytes; split, decode (once, canonically: what decodes
/// re-encodes to the same text) and check a compact JWS.
fn check_jws(data: &[u8]) {
    if let Ok(header) = parse_header(data) {
        assert_eq!(header.alg, "ES256", "a non-ES256 header passed the policy");
    }
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jws) = CompactJws::split(token) else {
        return;
    };
    assert_eq!(
        format!(
            "{}.{}.{}",
            jws.header_b64, jws.payload_b64, jws.signature_b64
        ),
        token
    );
    assert_eq!(
        jws.signing_input,
        format!("{}.{}", jws.header_b64, jws.payload_b64)
    );
    let Ok(decoded) = UnverifiedJws::from_compact(jws, None) else {
        return;
    };
    assert_eq!(decoded.header().alg, "ES256");
    assert_eq!(decoded.signing_input(), jws.signing_input);
    assert_eq!(b64u_encode(decoded.payload()), jws.payload_b64);
    assert_eq!(b64u_encode(decoded.signature()), jws.signature_b64);
    let _ = decoded.verify(agency_key());
}

/// `certificate`: what `read_issuer` accepts is described consistently.
fn check_certificate(der: &[u8]) {
    let Ok(info) = pki::read_issuer(der) else {
        return;
    };
    assert_eq!(info.kid, pki::kid_b64(der));
    assert_eq!(info.fingerprint.len(), 64);
    assert_eq!(info.agency.code.as_str().len(), 18);
}

/// Every text check (verification included).
/// The `image_scan` target's check: small caps, as there.
fn check_image(data: &[u8]) {
    let limits = ScanLimits {
        max_bytes: 1 << 20,
        max_side: 1024,
        max_pixels: 1 << 18,
    };
    let sniffed = ImageKind::sniff(data);
    match scan_with(data, &limits) {
        Ok(s) => {
            assert_eq!(Some(s.kind), sniffed, "read as another format");
            assert!(u64::from(s.width) * u64::from(s.height) <= limits.max_pixels);
        }
        Err(e) => {
            let _ = (e.to_string(), e.code());
            if sniffed.is_none() {
                assert!(
                    matches!(e, ScanError::UnsupportedFormat),
                    "not PNG or JPEG, but {e:?}"
                );
            }
        }
    }
}

fn check_text(text: &str) {
    check_sdjwt(text);
    check_disclosure(text);
    check_disclosure(&b64u_encode(text));
    check_licence_id(text);
    check_holder_code(text);
    check_jws(text.as_bytes());
    let _ = check_verify(text);
}

// ---------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: Index, mask: u8 },
    Insert { at: Index, byte: u8 },
    Delete { at: Index },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        (any::<Index>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        any::<Index>().prop_map(|at| Mutation::Delete { at }),
    ]
}

/// Applies `m` inside `bytes[from..]`.
fn mutate_bytes(bytes: &[u8], from: usize, m: &Mutation) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    let span = bytes.len() - from;
    match *m {
        Mutation::Flip { ref at, mask } if span > 0 => bytes[from + at.index(span)] ^= mask,
        Mutation::Insert { ref at, byte } => bytes.insert(from + at.index(span + 1), byte),
        Mutation::Delete { ref at } if span > 0 => {
            bytes.remove(from + at.index(span));
        }
        _ => {}
    }
    bytes
}

/// Applies `m` inside `text[from..]`; invalid UTF-8 is replaced (still a change).
fn mutate(text: &str, from: usize, m: &Mutation) -> String {
    let bytes = mutate_bytes(text.as_bytes(), from, m);
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The issuer-signed JWT: everything before the first `~`.
fn jwt_part(text: &str) -> &str {
    text.split('~').next().unwrap_or_default()
}

/// A mutated licence, with the original: a valid one half the time (those carry the
/// property), anywhere or only after the first `~` (disclosures and KB-JWT, which random
/// positions in the long header rarely hit).
fn mutated_licence() -> impl Strategy<Value = (&'static Fixture, String)> {
    (any::<Index>(), any::<bool>(), any::<bool>(), mutation()).prop_map(
        |(which, valid_only, tail_only, m)| {
            let f = if valid_only {
                *which.get(&valid_fixtures())
            } else {
                which.get(fixtures())
            };
            let from = if tail_only {
                f.text.find('~').unwrap_or(0)
            } else {
                0
            };
            (f, mutate(&f.text, from, &m))
        },
    )
}

fn uscc_char() -> impl Strategy<Value = char> {
    proptest::sample::select(
        "0123456789ABCDEFGHJKLMNPQRTUWXY"
            .chars()
            .collect::<Vec<_>>(),
    )
}

/// A valid USCC: 2 code characters, a 6-digit region, 9 code characters, check.
fn valid_uscc() -> impl Strategy<Value = Uscc> {
    (
        proptest::collection::vec(uscc_char(), 2),
        "[0-9]{6}",
        proptest::collection::vec(uscc_char(), 9),
    )
        .prop_map(|(a, region, b)| {
            let first17: String = a.into_iter().chain(region.chars()).chain(b).collect();
            let check = codes::uscc_check_char(&first17).unwrap();
            Uscc::parse(&format!("{first17}{check}")).unwrap()
        })
}

/// A valid resident ID: region, a real birth date, sequence, check.
fn valid_resident_id() -> impl Strategy<Value = String> {
    ("[0-9]{6}", 1900u16..=2020, 1u8..=12, 1u8..=28, "[0-9]{3}").prop_map(
        |(region, y, m, d, seq)| {
            let first17 = format!("{region}{y:04}{m:02}{d:02}{seq}");
            let check = codes::resident_id_check_char(&first17).unwrap();
            format!("{first17}{check}")
        },
    )
}

/// A finite JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn disclosure() -> impl Strategy<Value = Disclosure> {
    (".{0,24}", proptest::option::of(".{0,12}"), json_value())
        .prop_filter("reserved names", |(_, name, _)| {
            !matches!(name.as_deref(), Some("_sd" | "..."))
        })
        .prop_map(|(salt, name, value)| Disclosure { salt, name, value })
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn golden_inputs_pass_the_checks_and_valid_licences_verify() {
    for f in fixtures() {
        check_sdjwt(&f.text);
        for part in f.text.split('~') {
            check_disclosure(part);
            check_jws(part.as_bytes());
        }
        let (plain, _) = check_verify(&f.text);
        assert_eq!(plain, f.is_valid(), "{}", f.name);
    }
    for der in certificates() {
        check_certificate(der);
    }
    assert!(
        certificates()
            .iter()
            .filter(|d| pki::read_issuer(d).is_ok())
            .count()
            >= 3,
        "the agency certificates should read as issuers"
    );
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn random_strings_do_not_panic(text in any::<String>()) {
        check_text(&text);
    }

    #[test]
    fn shaped_strings_do_not_panic(
        text in prop_oneof![
            "[A-Za-z0-9_.~-]{0,200}",
            "\\{\"payload\":\"[A-Za-z0-9_.~-]{0,20}\",\"(protected|signatures|header)\":.{0,40}\\}",
            "1\\.2\\.156\\.3005\\.2\\.[0-9A-Z.]{0,70}",
            "[0-9A-Z]{16,20}",
            "[0-9Xx]{17,19}",
        ]
    ) {
        check_text(&text);
    }

    #[test]
    fn random_bytes_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        check_jws(&data);
        check_certificate(&data);
        check_disclosure(&b64u_encode(&data));
        if let Ok(text) = std::str::from_utf8(&data) {
            check_text(text);
        }
    }

    #[test]
    fn image_like_bytes_do_not_panic(
        magic in prop_oneof![
            Just(&b""[..]),
            Just(&b"\x89PNG\r\n\x1a\n"[..]),
            Just(&b"\xff\xd8\xff"[..]),
        ],
        data in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = magic.to_vec();
        bytes.extend_from_slice(&data);
        check_image(&bytes);
    }

    #[test]
    fn mutated_images_do_not_panic(which in any::<Index>(), m in mutation(), cut in any::<Index>()) {
        let (_, original) = which.get(code_photos());
        let mut bytes = mutate_bytes(original, 0, &m);
        // A quarter of the cases also lose their tail.
        if cut.index(4) == 0 {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        check_image(&bytes);
    }

    #[test]
    fn mutated_certificates_do_not_panic(which in any::<Index>(), m in mutation()) {
        let der = which.get(certificates());
        let bytes = mutate_bytes(der, 0, &m);
        check_certificate(&bytes);
    }

    #[test]
    fn valid_identifiers_and_codes_round_trip(
        type_code in "[0-9A-Z]{1,32}",
        issuer in valid_uscc(),
        serial in "[0-9A-Z]{1,32}",
        version in 1u32..=9999,
        resident in valid_resident_id(),
        m in mutation(),
    ) {
        let id = LicenceId::new(&type_code, issuer.clone(), &serial, version).unwrap();
        let text = id.to_string();
        prop_assert_eq!(LicenceId::parse(&text).unwrap(), id);
        check_licence_id(&text);
        check_licence_id(&mutate(&text, 0, &m));

        let holder = HolderCode::parse(issuer.as_str()).unwrap();
        prop_assert_eq!(holder.as_str(), issuer.as_str());
        prop_assert_eq!(HolderCode::parse(&resident).unwrap().kind(), HolderKind::ResidentId);
        for code in [issuer.as_str(), resident.as_str()] {
            check_holder_code(code);
            check_holder_code(&mutate(code, 0, &m));
        }
    }

    #[test]
    fn disclosures_round_trip(d in disclosure(), m in mutation()) {
        let encoded = encode_disclosure(&d);
        let decoded = sdjwt::decode_disclosure(&encoded).unwrap();
        assert_same_disclosure(&decoded, &d, 0);
        check_disclosure(&encoded);
        check_disclosure(&mutate(&encoded, 0, &m));
    }
}

proptest! {
    #![proptest_config(config(LICENCE_CASES))]

    #[test]
    fn mutated_licences_do_not_panic_and_never_verify_with_an_altered_jwt(
        (f, mutated) in mutated_licence()
    ) {
        check_sdjwt(&mutated);
        for part in mutated.split('~') {
            check_disclosure(part);
            check_jws(part.as_bytes());
        }
        let (plain, bound) = check_verify(&mutated);
        if f.is_valid() && mutated != f.text {
            prop_assert!(
                jwt_part(&mutated) == jwt_part(&f.text) || (!plain && !bound),
                "{}: verified after its issuer-signed JWT was altered:\n{}",
                f.name,
                mutated
            );
            // Stronger, and holds too: disclosures and KB-JWT are bound by digest and
            // signature, so no change anywhere verifies.
            prop_assert!(
                !plain && !bound,
                "{}: verified after a change to its disclosures or KB-JWT:\n{}",
                f.name,
                mutated
            );
        }
    }
}

/// Float claims decode to exactly the number the issuer wrote (serde_json's
/// `float_roundtrip`; without it some floats parse up to 2 ULP off — found by fuzzing).
#[test]
fn disclosure_floats_round_trip_exactly() {
    let d = Disclosure {
        salt: "salt".into(),
        name: Some("x".into()),
        value: Value::from(1.071_566_039_146_582_6e-75),
    };
    let decoded = sdjwt::decode_disclosure(&encode_disclosure(&d)).unwrap();
    assert_same_disclosure(&decoded, &d, 0);
}

/// Every single-byte deletion, and a bit flip and an insertion at every position, of
/// every valid golden licence (about 57 000 licences): none may verify. About 10 s in a
/// debug build: `cargo test --test fuzz_smoke -- --ignored exhaustive`.
#[test]
#[ignore = "exhaustive: about 10 s in a debug build"]
fn exhaustive_single_byte_mutations_of_valid_licences_never_verify() {
    let mut checked = 0usize;
    for f in valid_fixtures() {
        for at in 0..=f.text.len() {
            let mut variants = vec![{
                let mut b = f.text.clone().into_bytes();
                b.insert(at, b'A');
                b
            }];
            if at < f.text.len() {
                let mut flipped = f.text.clone().into_bytes();
                flipped[at] ^= 1;
                let mut deleted = f.text.clone().into_bytes();
                deleted.remove(at);
                variants.extend([flipped, deleted]);
            }
            for v in variants {
                let Ok(text) = String::from_utf8(v) else {
                    continue;
                };
                if text == f.text {
                    continue;
                }
                let (plain, bound) = check_verify(&text);
                assert!(
                    !plain && !bound,
                    "{} verified after a change at {at}:\n{text}",
                    f.name
                );
                checked += 1;
            }
        }
    }
    println!("{checked} mutations, none verified");
}

// ---------------------------------------------------------------------------------------
// Paper seals: the `seal` target
// ---------------------------------------------------------------------------------------

/// A key to re-sign decoded seals with.
fn seal_signer() -> &'static jose::Es256Signer {
    static KEY: OnceLock<jose::Es256Signer> = OnceLock::new();
    KEY.get_or_init(|| jose::Es256Signer::generate().unwrap().0)
}

/// A seal of the business-licence fixture under the real agency's kid, signed with the
/// test key: it decodes fully and fails only at the signature.
fn sample_seal() -> &'static str {
    static SEAL: OnceLock<String> = OnceLock::new();
    SEAL.get_or_init(|| {
        let code = "11350100MB00000012";
        let request: elicense::licence::LicenceRequest = serde_json::from_str(
            &std::fs::read_to_string(crate_dir().join("fixtures/requests/business_licence.json"))
                .unwrap(),
        )
        .unwrap();
        let licence = request.validate(&Uscc::parse(code).unwrap()).unwrap();
        let pem =
            std::fs::read_to_string(keys_dir().join(format!("agencies/{code}.crt.pem"))).unwrap();
        let kid = pki::kid(&keys::pem_decode(&pem, "CERTIFICATE").unwrap());
        let status = elicense::status_list::StatusReference::new(
            42,
            format!("https://elicense.example/v1/status-lists/{code}/0"),
        )
        .unwrap();
        let claims = elicense::seal::SealClaims::from_licence(
            &licence,
            &format!("https://elicense.example/agencies/{code}"),
            FIXED_AT,
            Some(&status),
        );
        elicense::seal::encode(&claims, kid, seal_signer()).unwrap()
    })
}

/// The seal text of raw COSE bytes (zlib, Base45, prefix), so that generated inputs
/// reach the CBOR layers.
fn wrap_cose(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(bytes).unwrap();
    format!(
        "{}{}",
        elicense::seal::PREFIX,
        base45::encode(z.finish().unwrap())
    )
}

fn cose_of_seal(text: &str) -> Vec<u8> {
    use std::io::Read as _;
    let z = base45::decode(&text[elicense::seal::PREFIX.len()..]).unwrap();
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&z[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// `seal`: no panic anywhere; what decodes re-encodes to a seal with the same claims; a
/// seal not signed by a trusted agency never verifies.
fn check_seal(text: &str) {
    let verified = verifier().verify(text, &Options::at(FIXED_AT));
    if let Err(e) = &verified {
        let _ = (e.code(), e.to_string());
    }
    let Ok(decoded) = elicense::seal::decode(text) else {
        assert!(verified.is_err(), "verified but does not decode: {text}");
        return;
    };
    assert!(verified.is_err(), "a test-key seal verified: {text}");
    let again = elicense::seal::encode(decoded.claims(), decoded.kid(), seal_signer()).unwrap();
    let redecoded = elicense::seal::decode(&again).unwrap();
    assert_eq!(redecoded.claims(), decoded.claims());
    assert!(redecoded
        .verify_signature(&seal_signer().public_key())
        .is_ok());
}

#[test]
fn sample_seal_decodes_and_fails_only_at_the_signature() {
    let e = verifier()
        .verify(sample_seal(), &Options::at(FIXED_AT))
        .unwrap_err();
    assert_eq!(e.code(), "bad_signature");
    check_seal(sample_seal());
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn seal_shaped_strings_do_not_panic(text in "EL1:[0-9A-Z $%*+./:-]{0,600}") {
        check_seal(&text);
    }

    #[test]
    fn random_cose_bytes_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..700)) {
        check_seal(&wrap_cose(&data));
    }

    #[test]
    fn mutated_seals_do_not_panic(
        at in any::<Index>(),
        byte in any::<u8>(),
        how in 0u8..4,
    ) {
        // Mutate the COSE bytes (re-wrapped, to get past zlib) or the text itself.
        let mut cose = cose_of_seal(sample_seal());
        let i = at.index(cose.len());
        match how {
            0 => cose[i] = byte,
            1 => { cose.insert(i, byte); }
            2 => { cose.remove(i); }
            _ => {
                let mut text = sample_seal().as_bytes().to_vec();
                let j = at.index(text.len());
                text[j] = byte;
                if let Ok(t) = String::from_utf8(text) {
                    check_seal(&t);
                }
                return Ok(());
            }
        }
        check_seal(&wrap_cose(&cose));
    }
}

// ---------------------------------------------------------------------------------------
// Status List Tokens (the `status_list` target)
// ---------------------------------------------------------------------------------------

/// The `sub` status tokens are checked against, and the verification time.
const STATUS_SUB: &str = "https://ledger.example.gov.cn/status/1";
/// Most entries the status checks accept (the inflate cap follows from it).
const STATUS_MAX_ENTRIES: usize = 1 << 16;

fn status_validation() -> Validation<'static> {
    Validation::new(STATUS_SUB, FIXED_AT).max_entries(STATUS_MAX_ENTRIES)
}

/// `status_list`, as a token: only an ES256 `statuslist+jwt` header is read; what
/// verifies is about the expected list.
fn check_status_token(text: &str) {
    let Ok(unverified) = status_list::parse_token(text) else {
        return;
    };
    assert_eq!(
        unverified.header().alg,
        "ES256",
        "a non-ES256 header was read"
    );
    let typ = unverified.header().typ.as_deref().unwrap_or_default();
    assert!(
        typ.to_ascii_lowercase().ends_with("statuslist+jwt"),
        "typ {typ:?} was read"
    );
    if let Ok(list) = unverified.verify(&seal_signer().public_key(), &status_validation()) {
        assert_eq!(list.sub(), STATUS_SUB);
    }
}

/// `status_list`, as the payload of a validly signed token: what verifies re-signs to a
/// token that verifies to the same list.
fn check_status_payload(payload: &[u8]) {
    let key = seal_signer();
    let header = br#"{"alg":"ES256","typ":"statuslist+jwt"}"#;
    let Ok(token) = jose::sign_compact(header, payload, key) else {
        return;
    };
    let verified = match status_list::verify_token(&token, &key.public_key(), &status_validation())
    {
        Ok(v) => v,
        Err(e) => {
            let _ = (e.code(), e.to_string());
            return;
        }
    };
    assert_eq!(
        verified.sub(),
        STATUS_SUB,
        "a token about another list verified"
    );
    let claims = TokenClaims {
        sub: STATUS_SUB.into(),
        iat: FIXED_AT,
        ..TokenClaims::default()
    };
    let again =
        status_list::sign_token(verified.list(), &claims, &Default::default(), key).unwrap();
    let back = status_list::verify_token(&again, &key.public_key(), &status_validation()).unwrap();
    assert_eq!(
        back.list(),
        verified.list(),
        "the list changed on re-signing"
    );
}

/// `status_list`, as the zlib bytes of an `lst`: a decoded list re-encodes to itself.
fn check_lst(compressed: &[u8]) {
    let lst = b64u_encode(compressed);
    for bits in [1, 2, 4, 8] {
        if let Ok(list) = StatusList::decode_lst(bits, &lst, STATUS_MAX_ENTRIES) {
            let again = list.encode_lst().unwrap();
            let back = StatusList::decode_lst(bits, &again, STATUS_MAX_ENTRIES).unwrap();
            assert_eq!(back, list, "the list changed on re-encoding");
        }
    }
}

fn check_status(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        check_status_token(text);
    }
    check_status_payload(data);
    check_lst(data);
}

fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = crate_dir().join("tests/fuzz/seeds").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// A valid token of a small list, signed with the test key, and its payload.
fn sample_status_token() -> &'static (String, Vec<u8>) {
    static TOKEN: OnceLock<(String, Vec<u8>)> = OnceLock::new();
    TOKEN.get_or_init(|| {
        let mut list = StatusList::new(2, 64).unwrap();
        list.set(3, Status::Invalid).unwrap();
        list.set(9, Status::Suspended).unwrap();
        let claims = TokenClaims {
            sub: STATUS_SUB.into(),
            iat: FIXED_AT - 60,
            ttl: Some(3600),
            ..TokenClaims::default()
        };
        let token =
            status_list::sign_token(&list, &claims, &Default::default(), seal_signer()).unwrap();
        let jws = CompactJws::split_capped(&token, status_list::MAX_TOKEN_LEN).unwrap();
        let payload = jose::b64u_decode(jws.payload_b64).unwrap();
        (token, payload)
    })
}

/// Status seeds: the draft's token, payload and lists, and the sample token and payload.
fn status_inputs() -> &'static [Vec<u8>] {
    static INPUTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let (token, payload) = sample_status_token();
        let mut out: Vec<Vec<u8>> = seeds("status_list").into_iter().map(|(_, b)| b).collect();
        out.push(token.as_bytes().to_vec());
        out.push(payload.clone());
        out
    })
}

#[test]
fn status_seeds_pass_the_checks_and_the_sample_verifies() {
    for input in status_inputs() {
        check_status(input);
    }
    let (token, payload) = sample_status_token();
    let v = status_list::verify_token(token, &seal_signer().public_key(), &status_validation())
        .unwrap();
    assert_eq!(v.get(3).unwrap(), Status::Invalid);
    assert!(status_list::verify_token(
        &jose::sign_compact(
            br#"{"alg":"ES256","typ":"statuslist+jwt"}"#,
            payload,
            seal_signer()
        )
        .unwrap(),
        &seal_signer().public_key(),
        &status_validation()
    )
    .is_ok());
    // The draft's lists decode (the seeds are what the target starts from).
    assert!(seeds("status_list").len() >= 4);
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn random_status_inputs_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        check_status(&data);
    }

    #[test]
    fn token_shaped_status_strings_do_not_panic(
        text in "[A-Za-z0-9_-]{0,60}\\.[A-Za-z0-9_-]{0,200}\\.[A-Za-z0-9_-]{0,90}",
    ) {
        check_status(text.as_bytes());
    }

    #[test]
    fn mutated_status_inputs_do_not_panic(which in any::<Index>(), m in mutation()) {
        let input = which.get(status_inputs());
        check_status(&mutate_bytes(input, 0, &m));
    }

    #[test]
    fn mutated_sample_token_never_verifies(m in mutation()) {
        let (token, _) = sample_status_token();
        let mutated = mutate(token, 0, &m);
        prop_assume!(&mutated != token);
        prop_assert!(status_list::verify_token(
            &mutated,
            &seal_signer().public_key(),
            &status_validation()
        )
        .is_err());
    }
}

// ---------------------------------------------------------------------------------------
// Signed notes and checkpoints (the `note` target)
// ---------------------------------------------------------------------------------------

/// The origin `open_checkpoint` expects.
const NOTE_ORIGIN: &str = "ledger.example.gov.cn/log";

fn note_signer() -> &'static NoteSigner {
    static SIGNER: OnceLock<NoteSigner> = OnceLock::new();
    SIGNER.get_or_init(|| NoteSigner::generate(NOTE_ORIGIN).unwrap().0)
}

/// `note`: a parsed note renders to the input; a parsed body serializes to the input and,
/// signed, opens to the same checkpoint; a verifier key round-trips.
fn check_note(data: &[u8]) {
    let verifiers = [note_signer().verifier()];
    if let Ok(note) = checkpoint::parse_note_bytes(data) {
        assert_eq!(
            note.render().unwrap().as_bytes(),
            data,
            "a parsed note renders differently"
        );
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(verified) = checkpoint::verify_note(text, &verifiers) {
        assert!(
            !verified.verified().is_empty(),
            "verified without a signature"
        );
    }
    if let Ok(opened) = checkpoint::open_checkpoint(text, NOTE_ORIGIN, &verifiers) {
        assert_eq!(opened.checkpoint().origin, NOTE_ORIGIN);
    }
    if let Ok(body) = Checkpoint::parse_body(text) {
        assert_eq!(body.to_body(), text, "a parsed body serializes differently");
        if let Ok(signed) = checkpoint::sign_checkpoint(&body, note_signer()) {
            let opened = checkpoint::open_checkpoint(&signed, &body.origin, &verifiers).unwrap();
            assert_eq!(opened.checkpoint(), &body);
        }
    }
    if let Ok(vkey) = NoteVerifier::from_vkey(text) {
        assert_eq!(NoteVerifier::from_vkey(&vkey.to_vkey()).unwrap(), vkey);
    }
}

/// A checkpoint signed with the test key.
fn sample_note() -> &'static str {
    static NOTE: OnceLock<String> = OnceLock::new();
    NOTE.get_or_init(|| {
        let mut cp = Checkpoint::new(NOTE_ORIGIN, 42, [7; 32]);
        cp.extensions.push("timestamp 1767196800".into());
        checkpoint::sign_checkpoint(&cp, note_signer()).unwrap()
    })
}

/// Note seeds: published notes, their bodies, a verifier key; the sample and its key.
fn note_inputs() -> &'static [Vec<u8>] {
    static INPUTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let mut out: Vec<Vec<u8>> = seeds("note").into_iter().map(|(_, b)| b).collect();
        out.push(sample_note().as_bytes().to_vec());
        out.push(note_signer().verifier_key().into_bytes());
        out
    })
}

#[test]
fn note_seeds_pass_the_checks_and_the_sample_opens() {
    for input in note_inputs() {
        check_note(input);
    }
    let opened =
        checkpoint::open_checkpoint(sample_note(), NOTE_ORIGIN, &[note_signer().verifier()])
            .unwrap();
    assert_eq!(opened.checkpoint().size, 42);
    assert!(seeds("note").len() >= 6);
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn random_note_inputs_do_not_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_note(&data);
    }

    #[test]
    fn note_shaped_strings_do_not_panic(
        text in "[a-z./]{0,20}\n[0-9]{0,4}\n[A-Za-z0-9+/=]{0,46}\n(\n\u{2014} [a-z./]{1,20} [A-Za-z0-9+/=]{0,100}\n){0,2}",
    ) {
        check_note(text.as_bytes());
    }

    #[test]
    fn mutated_notes_do_not_panic(which in any::<Index>(), m in mutation()) {
        let input = which.get(note_inputs());
        check_note(&mutate_bytes(input, 0, &m));
    }

    #[test]
    fn mutated_sample_note_never_opens(m in mutation()) {
        let mutated = mutate(sample_note(), 0, &m);
        prop_assume!(mutated != sample_note());
        let opened = checkpoint::open_checkpoint(&mutated, NOTE_ORIGIN, &[note_signer().verifier()]);
        // Only a change in the signature block's framing that keeps the signed text and a
        // valid signature could open; then the checkpoint is the signed one.
        if let Ok(o) = opened {
            let body = &sample_note()[..sample_note().find("\n\n").unwrap() + 1];
            prop_assert_eq!(o.note().text(), body);
        }
    }
}
