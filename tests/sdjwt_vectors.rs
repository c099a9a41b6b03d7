//! Round-trips the shared SD-JWT test vectors through `elicense::sdjwt`.
//!
//! Each directory under `fixtures/vectors/sd-jwt/testcases` (copied into this repository
//! with its licence and source) holds a `specification.yml`: the claims to issue (`!sd` marks a member or
//! array element as selectively disclosable), what the holder discloses, and the claims a
//! verifier must end up with. `settings.yml` there supplies the keys, identifiers, nonce
//! and times. For every case this test issues, serializes, presents (with key binding
//! where asked), verifies and compares the processed claims with the expected ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::jose::{self, Es256PublicKey, Es256Signer, Jwk};
use elicense::sdjwt::{
    self, Claim, DisclosureError, Element, KeyBindingCheck, KeyBindingError, KeyBindingParams,
    Member, SdJwt, Selection, Serialization, Signature,
};
use serde_json::{Map, Value as Json};
use serde_yaml::Value as Yaml;
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// How many test case directories the vector set has.
const EXPECTED_CASES: usize = 17;

/// Claims added by the test around the user claims; not compared with the expectation.
const ENVELOPE_CLAIMS: [&str; 4] = ["iss", "iat", "exp", "cnf"];

// ---------------------------------------------------------------------------------------
// Loading the vectors
// ---------------------------------------------------------------------------------------

fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/vectors/sd-jwt/testcases");
    assert!(
        dir.is_dir(),
        "SD-JWT test vectors not found at {}: they belong in this repository \
         (fixtures/vectors/sd-jwt)",
        dir.display()
    );
    dir
}

fn load_yaml(path: &Path) -> Yaml {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

fn case_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.join("specification.yml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn get<'y>(y: &'y Yaml, key: &str) -> Option<&'y Yaml> {
    y.get(key)
}

fn get_str(y: &Yaml, key: &str) -> String {
    get(y, key)
        .and_then(Yaml::as_str)
        .unwrap_or_else(|| panic!("missing string {key:?} in {y:?}"))
        .to_owned()
}

fn get_i64(y: &Yaml, key: &str) -> i64 {
    get(y, key)
        .and_then(Yaml::as_i64)
        .unwrap_or_else(|| panic!("missing integer {key:?} in {y:?}"))
}

// ---------------------------------------------------------------------------------------
// YAML → JSON, claim trees and selections
// ---------------------------------------------------------------------------------------

/// `Some(inner)` if `y` carries the `!sd` tag; panics on any other tag.
fn sd_tagged(y: &Yaml) -> Option<&Yaml> {
    match y {
        Yaml::Tagged(t) if t.tag == "sd" => Some(&t.value),
        Yaml::Tagged(t) => panic!("unknown YAML tag {} on {:?}", t.tag, t.value),
        _ => None,
    }
}

/// Strips an `!sd` tag, reporting whether there was one.
fn untag(y: &Yaml) -> (bool, &Yaml) {
    match sd_tagged(y) {
        Some(inner) => (true, inner),
        None => (false, y),
    }
}

fn key_string(k: &Yaml) -> String {
    match untag(k).1 {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        other => panic!("YAML mapping key {other:?} is not a string"),
    }
}

fn number(n: &serde_yaml::Number) -> Json {
    if let Some(i) = n.as_i64() {
        Json::from(i)
    } else if let Some(u) = n.as_u64() {
        Json::from(u)
    } else {
        let f = n.as_f64().unwrap();
        serde_json::Number::from_f64(f)
            .map(Json::Number)
            .unwrap_or_else(|| panic!("{f} has no JSON representation"))
    }
}

/// Plain YAML to JSON. `!sd` tags are dropped if `strip_sd`, rejected otherwise.
fn to_json(y: &Yaml, strip_sd: bool) -> Json {
    match y {
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(*b),
        Yaml::Number(n) => number(n),
        Yaml::String(s) => Json::String(s.clone()),
        Yaml::Sequence(items) => Json::Array(items.iter().map(|i| to_json(i, strip_sd)).collect()),
        Yaml::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    assert!(
                        strip_sd || sd_tagged(k).is_none(),
                        "unexpected !sd tag on key {k:?}"
                    );
                    (key_string(k), to_json(v, strip_sd))
                })
                .collect(),
        ),
        Yaml::Tagged(_) => match sd_tagged(y) {
            Some(inner) if strip_sd => to_json(inner, strip_sd),
            _ => panic!("unexpected tag in plain YAML: {y:?}"),
        },
    }
}

/// The claim tree for an (untagged) YAML value.
fn claim(y: &Yaml) -> Claim {
    match y {
        Yaml::Mapping(m) => Claim::Object(m.iter().map(|(k, v)| member(k, v)).collect()),
        Yaml::Sequence(items) => Claim::Array(items.iter().map(element).collect()),
        Yaml::Tagged(_) => panic!("!sd in a position that is neither a key nor an element: {y:?}"),
        other => Claim::Value(to_json(other, false)),
    }
}

/// A member is disclosable if its key carries `!sd` (`!sd name: value`) or, should it
/// occur, its value does (`name: !sd value`).
fn member(k: &Yaml, v: &Yaml) -> Member {
    let (key_sd, _) = untag(k);
    let (value_sd, v) = untag(v);
    Member {
        name: key_string(k),
        value: claim(v),
        disclosable: key_sd || value_sd,
    }
}

fn element(y: &Yaml) -> Element {
    let (disclosable, v) = untag(y);
    Element {
        value: claim(v),
        disclosable,
    }
}

/// `true` → All; a mapping or sequence → choose inside (and disclose the node itself if it
/// is disclosable); `false`, null and any other scalar (e.g. the string `None`) → Nothing.
fn selection(y: &Yaml) -> Selection {
    match untag(y).1 {
        Yaml::Bool(true) => Selection::All,
        Yaml::Mapping(m) => Selection::Object(
            m.iter()
                .map(|(k, v)| (key_string(k), selection(v)))
                .collect(),
        ),
        Yaml::Sequence(items) => Selection::Array(items.iter().map(selection).collect()),
        _ => Selection::Nothing,
    }
}

// ---------------------------------------------------------------------------------------
// Settings and keys
// ---------------------------------------------------------------------------------------

struct Settings {
    issuer: String,
    verifier: String,
    nonce: String,
    iat: i64,
    exp: i64,
    key_settings: Yaml,
}

impl Settings {
    fn load(dir: &Path) -> Self {
        let y = load_yaml(&dir.join("settings.yml"));
        let ids = get(&y, "identifiers").expect("settings.yml: identifiers");
        Self {
            issuer: get_str(ids, "issuer"),
            verifier: get_str(ids, "verifier"),
            nonce: get_str(&y, "key_binding_nonce"),
            iat: get_i64(&y, "iat"),
            exp: get_i64(&y, "exp"),
            key_settings: get(&y, "key_settings")
                .expect("settings.yml: key_settings")
                .clone(),
        }
    }
}

struct IssuerKey {
    signer: Es256Signer,
    public: Es256PublicKey,
    kid: Option<Json>,
}

/// A JWK from YAML; `kid` (which [`Jwk`] does not model) is returned beside it.
fn jwk(y: &Yaml) -> (Jwk, Option<Json>) {
    let json = to_json(y, false);
    let kid = json.get("kid").cloned();
    let jwk: Jwk = serde_json::from_value(json).unwrap_or_else(|e| panic!("bad JWK {y:?}: {e}"));
    (jwk, kid)
}

fn signer(y: &Yaml) -> (Es256Signer, Option<Json>) {
    let (jwk, kid) = jwk(y);
    let signer = Es256Signer::from_jwk(&jwk).unwrap_or_else(|e| panic!("unusable JWK: {e}"));
    assert_eq!(
        signer.public_key(),
        jwk.public_key().unwrap(),
        "d does not match x/y"
    );
    (signer, kid)
}

/// The issuer keys and holder key for a case: `settings_override` may give the keys at its
/// top level (`issuer_keys`) or nested like settings.yml (`key_settings.issuer_keys`).
fn case_keys(settings: &Settings, spec: &Yaml) -> (Vec<IssuerKey>, Es256Signer) {
    let over = get(spec, "settings_override");
    let source = over
        .and_then(|o| get(o, "key_settings").or(Some(o)))
        .filter(|s| get(s, "issuer_keys").is_some())
        .unwrap_or(&settings.key_settings);
    let issuer_keys = get(source, "issuer_keys")
        .and_then(Yaml::as_sequence)
        .expect("issuer_keys is a list")
        .iter()
        .map(|k| {
            let (signer, kid) = signer(k);
            IssuerKey {
                public: signer.public_key(),
                signer,
                kid,
            }
        })
        .collect::<Vec<_>>();
    assert!(!issuer_keys.is_empty(), "no issuer keys");
    let holder_yaml = get(source, "holder_key")
        .or_else(|| get(&settings.key_settings, "holder_key"))
        .expect("holder_key");
    (issuer_keys, signer(holder_yaml).0)
}

// ---------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------

/// Where verification stopped. The payloads are read only through `Debug`, in messages.
#[allow(dead_code)]
#[derive(Debug)]
enum Failure {
    Format(sdjwt::FormatError),
    Signature(jose::JwsError),
    Disclosure(DisclosureError),
    KeyBinding(KeyBindingError),
    Other(String),
}

struct Verified {
    header: jose::Header,
    serialization: Serialization,
    signatures: usize,
    claims: Map<String, Json>,
}

/// Parses, checks every signature (key by `kid` if it names one of `keys`, else by the
/// signature's position), processes the disclosures and, if `kb` is given, checks the
/// KB-JWT against the holder key in `cnf.jwk`. Without `kb`, a KB-JWT is an error.
fn verify(
    text: &str,
    keys: &[IssuerKey],
    kb: Option<&KeyBindingCheck<'_>>,
) -> Result<Verified, Failure> {
    let sd = SdJwt::parse(text).map_err(Failure::Format)?;
    if sd.signatures.len() != keys.len() {
        return Err(Failure::Other(format!(
            "{} signatures for {} issuer keys",
            sd.signatures.len(),
            keys.len()
        )));
    }
    // Every signature through the reader `Verifier` uses: decoded once, then verified
    // under the key its `kid` names (else the key at its position).
    let mut first = None;
    for (i, jws) in sd
        .issuer_jws()
        .map_err(Failure::Signature)?
        .iter()
        .enumerate()
    {
        let by_kid = jws
            .header()
            .kid_str()
            .and_then(|kid| keys.iter().find(|k| k.kid.as_ref() == Some(&kid.into())));
        let key = by_kid.or_else(|| keys.get(i)).expect("a key per signature");
        let verified = jws.verify(&key.public).map_err(Failure::Signature)?;
        if first.is_none() {
            let payload: Map<String, Json> = serde_json::from_slice(verified.payload())
                .map_err(|e| Failure::Signature(jose::JwsError::PayloadJson(e)))?;
            first = Some((verified.header().clone(), payload));
        }
    }
    let (header, payload) = first.ok_or(Failure::Signature(jose::JwsError::Structure))?;
    let claims =
        sdjwt::process_disclosures(payload, &sd.disclosures).map_err(Failure::Disclosure)?;
    match (kb, sd.kb_jwt.as_deref()) {
        (Some(check), Some(kb_jwt)) => {
            let jwk = claims
                .get("cnf")
                .and_then(|c| c.get("jwk"))
                .ok_or(Failure::KeyBinding(KeyBindingError::NoHolderKey))?;
            let jwk: Jwk = serde_json::from_value(jwk.clone())
                .map_err(|e| Failure::Other(format!("cnf.jwk: {e}")))?;
            let holder = jwk
                .public_key()
                .map_err(|e| Failure::KeyBinding(KeyBindingError::HolderKey(e)))?;
            sdjwt::verify_key_binding(kb_jwt, &holder, &sd.sd_hash_input(), check)
                .map_err(Failure::KeyBinding)?;
        }
        (Some(_), None) => return Err(Failure::KeyBinding(KeyBindingError::Missing)),
        (None, Some(_)) => return Err(Failure::Other("unexpected KB-JWT".into())),
        (None, None) => {}
    }
    Ok(Verified {
        header,
        serialization: sd.serialization,
        signatures: sd.signatures.len(),
        claims,
    })
}

// ---------------------------------------------------------------------------------------
// One test case
// ---------------------------------------------------------------------------------------

struct CaseRun {
    settings: Settings,
    issuer_keys: Vec<IssuerKey>,
    key_binding: bool,
    serialization: Serialization,
    /// The issued SD-JWT, serialized, with every disclosure.
    issued: String,
    /// The holder's presentation.
    presentation: String,
}

impl CaseRun {
    fn kb_check(&self) -> KeyBindingCheck<'_> {
        KeyBindingCheck {
            aud: Some(&self.settings.verifier),
            nonce: Some(&self.settings.nonce),
            at: self.settings.iat,
            skew: 60,
            max_age: 300,
        }
    }

    fn verify_presentation(&self, text: &str) -> Result<Verified, Failure> {
        let check = self.kb_check();
        verify(text, &self.issuer_keys, self.key_binding.then_some(&check))
    }
}

/// Issues, serializes and presents one case (no verification).
fn build_case(dir: &Path, name: &str) -> (CaseRun, Yaml) {
    let settings = Settings::load(dir);
    let spec = load_yaml(&dir.join(name).join("specification.yml"));
    let (issuer_keys, holder) = case_keys(&settings, &spec);
    let key_binding = match get(&spec, "key_binding") {
        None | Some(Yaml::Null) => false,
        Some(Yaml::Bool(b)) => *b,
        Some(other) => panic!("{name}: key_binding {other:?} is not a boolean"),
    };

    // Claims: envelope first, then the user claims, then the holder key.
    let mut members = vec![
        Member::plain("iss", settings.issuer.as_str()),
        Member::plain("iat", settings.iat),
        Member::plain("exp", settings.exp),
    ];
    match get(&spec, "user_claims").expect("user_claims") {
        Yaml::Mapping(m) => members.extend(m.iter().map(|(k, v)| member(k, v))),
        other => panic!("{name}: user_claims is not a mapping: {other:?}"),
    }
    if key_binding {
        let jwk = serde_json::to_value(holder.public_key().to_jwk()).unwrap();
        let mut cnf = Map::new();
        cnf.insert("jwk".into(), jwk);
        members.push(Member::plain("cnf", Json::Object(cnf)));
    }

    // Headers: typ, then extra_header_parameters, then the key's kid.
    let extra = get(&spec, "extra_header_parameters").map(|y| to_json(y, false));
    let headers: Vec<Map<String, Json>> = issuer_keys
        .iter()
        .map(|k| {
            let mut h = Map::new();
            h.insert("alg".into(), Json::from(jose::ES256));
            h.insert("typ".into(), Json::from("example+sd-jwt"));
            if let Some(Json::Object(extra)) = &extra {
                h.extend(extra.clone());
            }
            if let Some(kid) = &k.kid {
                h.insert("kid".into(), kid.clone());
            }
            h
        })
        .collect();
    let signers: Vec<(&Map<String, Json>, &Es256Signer)> = headers
        .iter()
        .zip(&issuer_keys)
        .map(|(h, k)| (h, &k.signer))
        .collect();
    let issued = sdjwt::issue(&signers, &members).unwrap_or_else(|e| panic!("{name}: issue: {e}"));

    let format = get(&spec, "serialization_format")
        .map(|f| f.as_str().expect("serialization_format is a string"))
        .unwrap_or("compact");
    let serialization = match (format, issuer_keys.len()) {
        ("compact", 1) => Serialization::Compact,
        ("json", 1) => Serialization::JsonFlattened,
        ("json", _) => Serialization::JsonGeneral,
        (f, n) => panic!("{name}: cannot serialize as {f:?} with {n} issuer keys"),
    };
    let issued_text = match serialization {
        Serialization::Compact => issued.compact(),
        json => {
            let sd = SdJwt {
                serialization: json,
                payload_b64: Cow::Borrowed(&issued.payload_b64),
                signatures: issued
                    .signatures
                    .iter()
                    .map(|(h, s)| Signature {
                        protected_b64: Cow::Borrowed(h),
                        signature_b64: Cow::Borrowed(s),
                    })
                    .collect(),
                disclosures: issued
                    .disclosures
                    .iter()
                    .map(|d| Cow::Borrowed(d.as_str()))
                    .collect(),
                kb_jwt: None,
            };
            if json == Serialization::JsonFlattened {
                sd.to_json_flattened().to_string()
            } else {
                sd.to_json_general().to_string()
            }
        }
    };

    let sel = selection(get(&spec, "holder_disclosed_claims").unwrap_or(&Yaml::Null));
    let params = KeyBindingParams {
        aud: &settings.verifier,
        nonce: &settings.nonce,
        iat: settings.iat,
    };
    let presentation = sdjwt::present(&issued_text, &sel, key_binding.then_some((&holder, params)))
        .unwrap_or_else(|e| panic!("{name}: present: {e}"));

    let run = CaseRun {
        settings,
        issuer_keys,
        key_binding,
        serialization,
        issued: issued_text,
        presentation,
    };
    (run, spec)
}

/// The envelope claims must be as issued; returns the rest.
fn user_part(run: &CaseRun, mut claims: Map<String, Json>) -> Result<Json, String> {
    let s = &run.settings;
    for (name, want) in [
        ("iss", Json::from(s.issuer.as_str())),
        ("iat", Json::from(s.iat)),
        ("exp", Json::from(s.exp)),
    ] {
        if claims.get(name) != Some(&want) {
            return Err(format!("{name} is {:?}, expected {want}", claims.get(name)));
        }
    }
    if claims.contains_key("cnf") != run.key_binding {
        return Err(format!("cnf present: {}", claims.contains_key("cnf")));
    }
    for name in ENVELOPE_CLAIMS {
        claims.remove(name);
    }
    Ok(Json::Object(claims))
}

/// Runs one case end to end; `Err` describes the first mismatch.
fn run_case(dir: &Path, name: &str) -> Result<(), String> {
    let (run, spec) = build_case(dir, name);

    // The issuance itself: right shape, and with everything disclosed it yields every
    // user claim.
    let full = verify(&run.issued, &run.issuer_keys, None)
        .map_err(|e| format!("issued SD-JWT does not verify: {e:?}"))?;
    if full.serialization != run.serialization || full.signatures != run.issuer_keys.len() {
        return Err(format!(
            "issued as {:?} with {} signatures",
            full.serialization, full.signatures
        ));
    }
    let all_claims = to_json(get(&spec, "user_claims").unwrap(), true);
    let got = user_part(&run, full.claims)?;
    if got != all_claims {
        return Err(format!(
            "fully disclosed issuance gives\n  {got}\nexpected\n  {all_claims}"
        ));
    }

    // The presentation.
    let verified = run
        .verify_presentation(&run.presentation)
        .map_err(|e| format!("presentation does not verify: {e:?}"))?;
    if verified.serialization != run.serialization {
        return Err(format!(
            "presented as {:?}, issued as {:?}",
            verified.serialization, run.serialization
        ));
    }
    if verified.header.typ.as_deref() != Some("example+sd-jwt") {
        return Err(format!("typ is {:?}", verified.header.typ));
    }
    let want_kid = get(&spec, "extra_header_parameters")
        .and_then(|e| get(e, "kid"))
        .map(|k| to_json(k, false))
        .or_else(|| run.issuer_keys[0].kid.clone());
    if verified.header.kid != want_kid {
        return Err(format!(
            "kid is {:?}, expected {want_kid:?}",
            verified.header.kid
        ));
    }
    let got = user_part(&run, verified.claims)?;
    let want = to_json(
        get(&spec, "expect_verified_user_claims").expect("expect_verified_user_claims"),
        false,
    );
    if got != want {
        return Err(format!("verified claims\n  {got}\nexpected\n  {want}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[test]
fn sd_jwt_vectors_round_trip() {
    let dir = vectors_dir();
    let names = case_names(&dir);
    let mut failures = Vec::new();
    for name in &names {
        match run_case(&dir, name) {
            Ok(()) => println!("sd-jwt vector {name}: ok"),
            Err(e) => {
                println!("sd-jwt vector {name}: FAILED: {e}");
                failures.push(name.clone());
            }
        }
    }
    let passed = names.len() - failures.len();
    println!(
        "sd-jwt vectors: {passed} passed, {} failed, {} cases",
        failures.len(),
        names.len()
    );
    assert!(failures.is_empty(), "failing SD-JWT vectors: {failures:?}");
    assert_eq!(
        names.len(),
        EXPECTED_CASES,
        "expected {EXPECTED_CASES} SD-JWT test cases, found {names:?}"
    );
}

/// Re-serializes `sd` in its own serialization.
fn serialize(sd: &SdJwt<'_>) -> String {
    match sd.serialization {
        Serialization::Compact => sd.to_compact(),
        Serialization::JsonFlattened => sd.to_json_flattened().to_string(),
        Serialization::JsonGeneral => sd.to_json_general().to_string(),
    }
}

#[test]
fn key_binding_rejects_wrong_nonce_and_dropped_disclosure() {
    let dir = vectors_dir();
    for name in [
        "key_binding",
        "header_mod",
        "json_serialization_flattened",
        "json_serialization_general",
    ] {
        let (run, _) = build_case(&dir, name);
        assert!(run.key_binding, "{name}: not a key-binding case");
        run.verify_presentation(&run.presentation)
            .unwrap_or_else(|e| panic!("{name}: presentation does not verify: {e:?}"));

        // The verifier expects a different nonce.
        let check = KeyBindingCheck {
            nonce: Some("0987654321"),
            ..run.kb_check()
        };
        let err = verify(&run.presentation, &run.issuer_keys, Some(&check)).err();
        assert!(
            matches!(err, Some(Failure::KeyBinding(KeyBindingError::Nonce))),
            "{name}: wrong nonce gave {err:?}"
        );

        // A disclosure removed after the KB-JWT was signed: every remaining disclosure is
        // still valid, but sd_hash no longer matches.
        let mut sd = SdJwt::parse(&run.presentation).unwrap();
        assert!(sd.kb_jwt.is_some(), "{name}: no KB-JWT");
        assert!(sd.disclosures.len() >= 2, "{name}: too few disclosures");
        sd.disclosures.pop();
        let cut = serialize(&sd);
        let err = run.verify_presentation(&cut).err();
        assert!(
            matches!(err, Some(Failure::KeyBinding(KeyBindingError::SdHash))),
            "{name}: dropped disclosure gave {err:?}"
        );
    }
}

#[test]
fn foreign_disclosure_is_unreferenced() {
    let dir = vectors_dir();
    let (run, _) = build_case(&dir, "object_data_types");
    let (other, _) = build_case(&dir, "recursions");
    assert_eq!(run.serialization, Serialization::Compact);
    assert!(!run.key_binding);
    assert!(
        run.presentation.ends_with('~'),
        "a presentation without KB ends with ~"
    );
    let own = SdJwt::parse(&run.presentation).unwrap().disclosures.len();
    let foreign = SdJwt::parse(&other.issued).unwrap().disclosures[0].to_string();
    let text = format!("{}{foreign}~", run.presentation);
    let err = run.verify_presentation(&text).err();
    assert!(
        matches!(
            err,
            Some(Failure::Disclosure(DisclosureError::Unreferenced { index })) if index == own
        ),
        "foreign disclosure gave {err:?}"
    );
}
