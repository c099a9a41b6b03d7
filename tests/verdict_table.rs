//! The golden table of verdicts shared by the Rust verifier and the counter page's offline
//! verifier (`web/offline.js`): `fixtures/verdicts/table.json`.
//!
//! Every case is an input (a paper seal, or an SD-JWT of the same licence), the signed
//! status lists at hand, the time of checking and the verdict the Rust [`Verifier`] gives
//! (the `POST /v1/verify` answer, [`Verdict`] as JSON). The file also carries the trust list
//! (`GET /v1/trust-list` for the TEST-ONLY keys in `fixtures/keys/`) and the licence types
//! (`GET /licence-types.json`), which is all `offline.js` needs.
//!
//! Here every case is verified again and must give exactly its recorded verdict; the table
//! is also generated afresh (signatures differ, ECDSA being randomised) and must describe
//! the same cases with the same verdicts, so a change to the generator or to the verifier
//! fails until the table is regenerated on purpose:
//! `UPDATE_GOLDEN=1 cargo test --test verdict_table`.
//!
//! `tests/browser/verdicts.test.mjs` (Node) and `tests/browser/run.mjs` (Chromium), run
//! from `tests/browser.rs`, check the seal cases with `offline.js`: same `verdict`, same
//! reason code, same licence and status.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use elicense::issue::{status_list_uri, IssuedLicence, Issuer};
use elicense::licence::codes::Uscc;
use elicense::licence::LicenceRequest;
use elicense::status_list::{Status, StatusList, StatusReference};
use elicense::verdict::Verdict;
use elicense::verify::{Options, StatusCheck, Verifier};
use serde_json::{json, Map, Value};
use std::path::PathBuf;

/// The time of checking, 2026-01-01T00:00:00+08:00 (as the golden licences).
const NOW: i64 = common::FIXED_AT;
/// Signing time of the licences, 2025-06-01T10:00:00+08:00.
const IAT: i64 = 1_748_743_200;
/// Where status lists are published (written into the licences).
const BASE: &str = "https://elicense.example";
const A: &str = "11350100MB00000012";
const B: &str = "11440300MB00000022";
const OTHER_ROOT_AGENCY: &str = "11310000MB0000004M";
const HOLDER: &str = "示例科技有限公司";
const DAY: i64 = 86_400;

fn table_path() -> PathBuf {
    common::crate_dir().join("fixtures/verdicts/table.json")
}

fn request(name: &str, serial: &str) -> LicenceRequest {
    let p = common::crate_dir().join(format!("fixtures/requests/{name}.json"));
    let mut r: LicenceRequest = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    r.serial = serial.to_owned();
    r
}

/// The TEST-ONLY issuers: agencies A and B under the trusted root, and one under a root
/// nobody trusts here.
struct Issuers {
    a: Issuer,
    b: Issuer,
    foreign: Issuer,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn issuers() -> Issuers {
    let (dir, store) = common::private_fixture_keys();
    let (other_dir, other) =
        common::private_copy(&common::crate_dir().join("fixtures/keys/other-root"));
    let issuer = |s: &elicense::keys::KeyStore, code: &str| {
        Issuer::new(s.agency_key(&Uscc::parse(code).unwrap()).unwrap()).unwrap()
    };
    Issuers {
        a: issuer(&store, A),
        b: issuer(&store, B),
        foreign: issuer(&other, OTHER_ROOT_AGENCY),
        _dirs: (dir, other_dir),
    }
}

/// A status list of `statuses` (index = position), signed by `issuer` for `uri`.
fn list(issuer: &Issuer, uri: &str, statuses: &[u8], iat: i64, valid_for: i64, ttl: u64) -> String {
    let mut l = StatusList::new(2, 16).unwrap();
    for (i, s) in statuses.iter().enumerate() {
        l.set(i, Status::from_u8(*s)).unwrap();
    }
    issuer
        .sign_status_list(&l, uri, iat, valid_for, ttl)
        .unwrap()
}

/// The seal text with one character in its middle replaced by another Base45 character.
fn tamper_text(seal: &str) -> String {
    let mut chars: Vec<char> = seal.chars().collect();
    let at = chars.len() / 2;
    chars[at] = if chars[at] == '5' { '6' } else { '5' };
    chars.into_iter().collect()
}

/// One case before its verdict is known.
struct Case {
    name: &'static str,
    what: &'static str,
    format: &'static str,
    input: String,
    now: i64,
    lists: Vec<String>,
}

/// The cases, freshly signed.
fn cases(i: &Issuers) -> Vec<Case> {
    let uri_a = status_list_uri(BASE, A, 0);
    let uri_b = status_list_uri(BASE, B, 0);
    let issue = |issuer: &Issuer, r: &LicenceRequest, idx: u64, uri: &str| -> IssuedLicence {
        let reference = StatusReference::new(idx, uri).unwrap();
        issuer.issue_with_status(r, IAT, Some(&reference)).unwrap()
    };
    let valid = issue(
        &i.a,
        &request("business_licence", "20250601000001"),
        0,
        &uri_a,
    );
    let revoked = issue(
        &i.a,
        &request("business_licence", "20250601000002"),
        1,
        &uri_a,
    );
    let suspended = issue(
        &i.a,
        &request("business_licence", "20250601000003"),
        2,
        &uri_a,
    );
    let mut ended = request("food_business_permit", "JY13501020000901");
    ended.valid_from = "2024-12-01".into();
    ended.valid_until = Some("2025-11-30".into());
    let expired = issue(&i.a, &ended, 3, &uri_a);
    let mut later = request("business_licence", "20250601000005");
    later.valid_from = "2026-06-01".into();
    let not_yet = issue(&i.a, &later, 4, &uri_a);
    let of_b = issue(
        &i.b,
        &request("business_licence", "20250601000006"),
        0,
        &uri_b,
    );
    let forged = issue(
        &i.foreign,
        &request("business_licence", "20250601000007"),
        5,
        &uri_a,
    );

    // A's list: 0 valid, 1 revoked, 2 suspended, the rest valid; fresh at NOW (signed an
    // hour before, ttl a day, usable a week).
    let fresh_a = list(&i.a, &uri_a, &[0, 1, 2], NOW - 3600, 7 * DAY, DAY as u64);
    let fresh_b = list(&i.b, &uri_b, &[0], NOW - 3600, 7 * DAY, DAY as u64);
    // Signed three days ago with a ttl of one day (exp still ahead): out of date.
    let stale_a = list(
        &i.a,
        &uri_a,
        &[0, 1, 2],
        NOW - 3 * DAY,
        30 * DAY,
        DAY as u64,
    );
    // Past its exp (and its ttl).
    let expired_a = list(
        &i.a,
        &uri_a,
        &[0, 1, 2],
        NOW - 10 * DAY,
        2 * DAY,
        DAY as u64,
    );
    // Out of date by 100 s: within the 300 s clock skew both verifiers grant, still fresh;
    // out of date by 400 s: past it.
    let within_skew_a = list(
        &i.a,
        &uri_a,
        &[0, 1, 2],
        NOW - DAY - 100,
        30 * DAY,
        DAY as u64,
    );
    let past_skew_a = list(
        &i.a,
        &uri_a,
        &[0, 1, 2],
        NOW - DAY - 400,
        30 * DAY,
        DAY as u64,
    );
    // For A's URI, but signed by agency B.
    let by_b = list(&i.b, &uri_a, &[0, 1, 2], NOW - 3600, 7 * DAY, DAY as u64);

    let case = |name, what, format, input: &str, lists: &[&String]| Case {
        name,
        what,
        format,
        input: input.to_owned(),
        now: NOW,
        lists: lists.iter().map(|s| (*s).clone()).collect(),
    };
    let both = [&fresh_a, &fresh_b];
    vec![
        case(
            "valid",
            "a valid seal, fresh status list",
            "seal",
            &valid.seal,
            &both,
        ),
        case(
            "valid_other_agency",
            "agency B's seal against B's own list",
            "seal",
            &of_b.seal,
            &both,
        ),
        case(
            "revoked",
            "revoked in the fresh list",
            "seal",
            &revoked.seal,
            &both,
        ),
        case(
            "suspended",
            "suspended in the fresh list",
            "seal",
            &suspended.seal,
            &both,
        ),
        case(
            "expired",
            "valid until 2025-11-30, not revoked",
            "seal",
            &expired.seal,
            &both,
        ),
        case(
            "not_yet_valid",
            "valid from 2026-06-01",
            "seal",
            &not_yet.seal,
            &both,
        ),
        case(
            "forged",
            "signed by an agency of a root not in the trust list",
            "seal",
            &forged.seal,
            &both,
        ),
        case(
            "tampered",
            "a byte of the signed payload changed (holder name)",
            "seal",
            &common::tamper_seal_payload(&valid.seal, HOLDER, "示例科技无限公司"),
            &both,
        ),
        case(
            "tampered_text",
            "a character of the seal text changed",
            "seal",
            &tamper_text(&valid.seal),
            &both,
        ),
        case(
            "stale_list",
            "the only list is past iat + ttl",
            "seal",
            &valid.seal,
            &[&stale_a],
        ),
        case(
            "list_within_skew",
            "the only list is 100 s past iat + ttl, within the clock skew: fresh",
            "seal",
            &valid.seal,
            &[&within_skew_a],
        ),
        case(
            "list_past_skew",
            "the only list is 400 s past iat + ttl, past the clock skew: out of date",
            "seal",
            &valid.seal,
            &[&past_skew_a],
        ),
        case(
            "stale_list_revoked",
            "a revoked licence, the only list out of date: not revoked, unknown",
            "seal",
            &revoked.seal,
            &[&stale_a],
        ),
        case(
            "expired_list",
            "the only list is past its exp",
            "seal",
            &valid.seal,
            &[&expired_a],
        ),
        case(
            "no_list",
            "no status list at hand",
            "seal",
            &valid.seal,
            &[],
        ),
        case(
            "list_of_another_agency",
            "the list for the licence's URI is signed by another agency",
            "seal",
            &valid.seal,
            &[&by_b],
        ),
        case(
            "sd_jwt_valid",
            "the valid licence as an SD-JWT VC",
            "sd_jwt",
            &valid.sd_jwt,
            &both,
        ),
        case(
            "sd_jwt_revoked",
            "the revoked licence as an SD-JWT VC",
            "sd_jwt",
            &revoked.sd_jwt,
            &both,
        ),
        case(
            "sd_jwt_stale_list",
            "the valid SD-JWT VC, the only list out of date",
            "sd_jwt",
            &valid.sd_jwt,
            &[&stale_a],
        ),
    ]
}

/// What the Rust verifier says of `input` with `lists` at `now`: the `POST /v1/verify` JSON.
fn verdict(verifier: &Verifier, input: &str, lists: &[String], now: i64) -> Value {
    let opts = Options::at(now).with_status(StatusCheck::Lists(lists));
    serde_json::to_value(Verdict::new(verifier.verify(input, &opts), now)).unwrap()
}

fn uri_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value =
        serde_json::from_slice(&elicense::jose::b64u_decode(payload).unwrap()).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

/// The table: trust list, licence types and the cases with their verdicts.
fn table(verifier: &Verifier, cases: &[Case]) -> Value {
    let cases: Vec<Value> = cases
        .iter()
        .map(|c| {
            let lists: Map<String, Value> = c
                .lists
                .iter()
                .map(|t| (uri_of(t), Value::String(t.clone())))
                .collect();
            json!({
                "name": c.name,
                "what": c.what,
                "format": c.format,
                "input": c.input,
                "now": c.now,
                "status_lists": lists,
                "expected": verdict(verifier, &c.input, &c.lists, c.now),
            })
        })
        .collect();
    json!({
        "about": "TEST-ONLY golden verdicts (keys in fixtures/keys/, never for real licences). \
                  Checked by tests/verdict_table.rs (Rust) and tests/browser/verdicts.test.mjs, \
                  tests/browser/run.mjs (web/offline.js); regenerate with \
                  UPDATE_GOLDEN=1 cargo test --test verdict_table",
        "trust_list": elicense::server::trust_list_document(verifier.trust()),
        "types": elicense::server::web::licence_types(),
        "cases": cases,
    })
}

/// A case without what differs from one signing to the next: its input, its lists (but
/// their URIs) and the messages (a damaged seal's checksum, say). The stored inputs are
/// checked against the full verdicts, messages included.
fn described(case: &Value) -> Value {
    let mut c = case.clone();
    let o = c.as_object_mut().unwrap();
    o.remove("input");
    let uris: Vec<String> = o["status_lists"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    o.insert("status_lists".into(), json!(uris));
    if let Some(reason) = o["expected"]
        .get_mut("reason")
        .and_then(Value::as_object_mut)
    {
        reason.remove("message");
    }
    if let Some(status) = o["expected"]
        .get_mut("status")
        .and_then(Value::as_object_mut)
    {
        status.remove("reason");
    }
    c
}

#[test]
fn the_golden_verdict_table_is_what_the_verifier_says() {
    let verifier = common::verifier();
    let fresh = table(&verifier, &cases(&issuers()));
    let path = table_path();
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&fresh).unwrap() + "\n").unwrap();
        println!("wrote {}", path.display());
    }
    let stored: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let again = "regenerate it on purpose with UPDATE_GOLDEN=1 cargo test --test verdict_table";

    // Every stored case still gets exactly its verdict.
    let mut wrong = Vec::new();
    for c in stored["cases"].as_array().unwrap() {
        let lists: Vec<String> = c["status_lists"]
            .as_object()
            .unwrap()
            .values()
            .map(|t| t.as_str().unwrap().to_owned())
            .collect();
        let got = verdict(
            &verifier,
            c["input"].as_str().unwrap(),
            &lists,
            c["now"].as_i64().unwrap(),
        );
        let code = got["reason"]["code"].as_str().unwrap_or("");
        println!(
            "{:<24} {} {code}",
            c["name"].as_str().unwrap(),
            got["verdict"]
        );
        if got != c["expected"] {
            wrong.push(format!(
                "{}: the table says {}, the verifier {got}",
                c["name"], c["expected"]
            ));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{again}");

    // And the table is up to date: the same cases, lists, trust list and types.
    assert_eq!(
        stored["trust_list"], fresh["trust_list"],
        "the trust list changed; {again}"
    );
    assert_eq!(
        stored["types"], fresh["types"],
        "the licence types changed; {again}"
    );
    let described_cases = |t: &Value| -> Vec<Value> {
        t["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(described)
            .collect()
    };
    let (stored_cases, fresh_cases) = (described_cases(&stored), described_cases(&fresh));
    let differing: Vec<String> = fresh_cases
        .iter()
        .filter(|c| !stored_cases.contains(c))
        .map(|c| c["name"].to_string())
        .collect();
    assert!(
        differing.is_empty() && stored_cases.len() == fresh_cases.len(),
        "the table is out of date (cases {differing:?}; {} stored, {} generated); {again}",
        stored_cases.len(),
        fresh_cases.len()
    );
    covers_every_verdict_the_offline_verifier_must_agree_on(&stored);
}

/// The cases item 2 of issue 10 names, with the verdicts both verifiers must give.
fn covers_every_verdict_the_offline_verifier_must_agree_on(stored: &Value) {
    let of = |name: &str| -> (String, String) {
        let c = stored["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no case {name}"));
        let e = &c["expected"];
        (
            e["verdict"].as_str().unwrap().to_owned(),
            e["reason"]["code"].as_str().unwrap_or("").to_owned(),
        )
    };
    let pair = |v: &str, c: &str| (v.to_owned(), c.to_owned());
    assert_eq!(of("valid"), pair("valid", ""));
    assert_eq!(of("revoked"), pair("invalid", "revoked"));
    assert_eq!(of("suspended"), pair("invalid", "suspended"));
    assert_eq!(of("expired"), pair("invalid", "expired"));
    assert_eq!(of("forged"), pair("invalid", "untrusted_issuer"));
    // The clock skew on a list's freshness is the same on both sides.
    assert_eq!(of("list_within_skew"), pair("valid", ""));
    assert_eq!(
        of("list_past_skew"),
        pair("status_unknown", "status_unavailable")
    );
    assert_eq!(of("tampered"), pair("invalid", "bad_signature"));
    assert_eq!(
        of("stale_list"),
        pair("status_unknown", "status_unavailable")
    );
    assert_eq!(
        of("stale_list_revoked"),
        pair("status_unknown", "status_unavailable")
    );
    assert_eq!(
        of("expired_list"),
        pair("status_unknown", "status_unavailable")
    );
    // A seal and an SD-JWT of one licence get one verdict.
    assert_eq!(of("sd_jwt_valid"), of("valid"));
    assert_eq!(of("sd_jwt_revoked"), of("revoked"));
    assert_eq!(of("sd_jwt_stale_list"), of("stale_list"));
}
