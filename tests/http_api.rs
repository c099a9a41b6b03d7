//! The HTTP service end to end: OpenAPI against the router, batch issuance, issuer
//! metadata, rate limits, request ids, restart persistence, and a wide malformed-request
//! sweep — the real server on loopback, a real HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::server::*;
use elicense::licence::codes::Uscc;
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn token(s: &Server, agency: &str) -> String {
    s.tokens
        .create(&Uscc::parse(agency).unwrap(), NOW)
        .unwrap()
        .1
}

fn business_request(serial: &str) -> Value {
    let mut r: Value =
        serde_json::from_str(include_str!("../fixtures/requests/business_licence.json")).unwrap();
    r["serial"] = serial.into();
    r
}

fn verdict(s: &Server, licence: &str) -> Value {
    let a = post(s, "/v1/verify", "text/plain", licence);
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_the_router_serves() {
    let s = start();
    let a = get(&s, "/openapi.json");
    assert_eq!(a.status, 200);
    let doc = a.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} documents no responses"
            );
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let served: BTreeSet<(String, String)> = elicense::server::endpoints()
        .into_iter()
        .map(|e| (e.method.to_string(), e.path.replace("{*", "{")))
        .collect();
    assert_eq!(documented, served, "router and OpenAPI document differ");
    assert!(served.len() >= 17, "{}", served.len());

    // Every documented operation is really routed: none falls through to the catch-all.
    for (method, path) in &served {
        let concrete = path
            .replace("{identifier}", "1.2.3")
            .replace("{issuer}", A)
            .replace("{list}", "0")
            .replace("{issuer_path}", "agencies/x");
        let url = format!("{}{concrete}", s.url);
        let a = match method.as_str() {
            "GET" => answer(agent().get(&url).call()),
            "POST" => answer(agent().post(&url).send("")),
            other => panic!("unexpected method {other}"),
        };
        assert_ne!(a.status, 405, "{method} {path}: {}", a.body);
        if a.status == 404 {
            assert!(
                !a.body.contains("no such endpoint"),
                "{method} {path} is not routed"
            );
        }
    }
    // Security scheme for the agency API, error schema referenced.
    assert_eq!(
        doc["components"]["securitySchemes"]["agency_token"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());
    assert!(doc["components"]["schemas"]["LicenceRequest"].is_object());
    validate_with_python(&a.body);
}

/// Validates the document against the OpenAPI 3.1 schema with `openapi-spec-validator`
/// (installed by `.ci/run`); outside CI a missing validator is reported and skipped.
fn validate_with_python(doc: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, doc).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, json\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')",
        ])
        .arg(&path)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "valid");
        }
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            if err.contains("No module named 'openapi_spec_validator'")
                && std::env::var_os("CI").is_none()
            {
                eprintln!("SKIPPED OpenAPI schema validation: pip install openapi-spec-validator");
                return;
            }
            panic!("the OpenAPI document does not validate:\n{err}");
        }
        Err(e) => {
            assert!(std::env::var_os("CI").is_none(), "python3 missing: {e}");
            eprintln!("SKIPPED OpenAPI schema validation: no python3 ({e})");
        }
    }
}

#[test]
fn batch_issuance_is_all_checked_first_then_all_recorded() {
    let s = start();
    let t = token(&s, A);
    let size = s.ledger.size();

    let batch = json!({ "requests": (0..5).map(|i| business_request(&format!("B{i}"))).collect::<Vec<_>>() });
    let a = post_auth(&s, "/v1/licences/batch", Some(&t), &batch.to_string());
    assert_eq!(a.status, 201, "{}", a.body);
    let j = a.json();
    assert_eq!(
        (j["issued"].as_u64(), j["failed"].as_u64()),
        (Some(5), Some(0))
    );
    assert_eq!(s.ledger.size(), size + 5);
    let mut indexes = Vec::new();
    for r in j["results"].as_array().unwrap() {
        indexes.push(r["index"].as_u64().unwrap());
        let v = verdict(&s, r["sd_jwt"].as_str().unwrap());
        assert_eq!(v["verdict"], "valid", "{v}");
        assert_eq!(v["licence_id"], r["licence_id"]);
    }
    indexes.sort_unstable();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);

    // One bad request (wrong check character in the holder's USCC) or a duplicate serial:
    // nothing at all is issued, and the answer names the index.
    let mut bad = business_request("C1");
    bad["holder"]["id"] = "91350100M000100Y44".into();
    let batch = json!({ "requests": [business_request("C0"), bad] });
    let a = post_auth(&s, "/v1/licences/batch", Some(&t), &batch.to_string());
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(a.error_code(), "invalid_requests");
    assert_eq!(a.json()["error"]["details"][0]["index"], 1);
    let dup = json!({ "requests": [business_request("D0"), business_request("D0")] });
    let a = post_auth(&s, "/v1/licences/batch", Some(&t), &dup.to_string());
    assert_eq!(a.status, 422, "{}", a.body);
    assert!(a.body.contains("twice"), "{}", a.body);
    // Bounded: empty and over-large batches are refused.
    let a = post_auth(&s, "/v1/licences/batch", Some(&t), "{\"requests\": []}");
    assert_eq!((a.status, a.error_code().as_str()), (422, "bad_batch_size"));
    let big = json!({ "requests": (0..101).map(|i| business_request(&format!("E{i}"))).collect::<Vec<_>>() });
    let a = post_auth(&s, "/v1/licences/batch", Some(&t), &big.to_string());
    assert_eq!((a.status, a.error_code().as_str()), (422, "bad_batch_size"));
    // Without a token: 401.
    let a = post_auth(&s, "/v1/licences/batch", None, &dup.to_string());
    assert_eq!(a.status, 401);
    assert_eq!(
        s.ledger.size(),
        size + 5,
        "nothing recorded by refused batches"
    );
}

#[test]
fn a_retried_issuance_returns_the_licence_already_recorded() {
    let s = start();
    let t = token(&s, A);
    let size = s.ledger.size();
    let request = business_request("R1");
    let first = post_auth(&s, "/v1/licences", Some(&t), &request.to_string());
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.json()["replayed"], false);
    // The answer was lost; the agency sends the same request again (as JSON text with
    // other spacing and member order, which does not matter).
    let mut reordered = serde_json::Map::new();
    for (k, v) in request.as_object().unwrap().iter().rev() {
        reordered.insert(k.clone(), v.clone());
    }
    let again = post_auth(
        &s,
        "/v1/licences",
        Some(&t),
        &serde_json::to_string_pretty(&reordered).unwrap(),
    );
    assert_eq!(again.status, 200, "{}", again.body);
    let (a, b) = (first.json(), again.json());
    assert_eq!(b["replayed"], true);
    assert_eq!(a["licence_id"], b["licence_id"]);
    assert_eq!(
        a["sd_jwt"], b["sd_jwt"],
        "the very licence recorded, not a new one"
    );
    assert_eq!(s.ledger.size(), size + 1, "recorded once");
    assert_eq!(
        verdict(&s, b["sd_jwt"].as_str().unwrap())["verdict"],
        "valid"
    );
    // Another request for the same identifier is a conflict that says what to change.
    let mut other = request.clone();
    other["fields"]["address"] = "福建省示例市鼓楼区另一路1号".into();
    let c = post_auth(&s, "/v1/licences", Some(&t), &other.to_string());
    assert_eq!(
        (c.status, c.error_code().as_str()),
        (409, "already_issued"),
        "{}",
        c.body
    );
    let message = c.json()["error"]["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("`serial`") && message.contains("`version`"),
        "{message}"
    );
    assert!(message.contains("identical request"), "{message}");
    // Printed once in the message, not twice.
    assert_eq!(message.matches("already issued").count(), 1, "{message}");
    // A batch resent after a lost answer: the recorded one comes back, the new one is issued.
    let batch = json!({ "requests": [request, business_request("R2")] });
    let a = post_auth(&s, "/v1/licences/batch", Some(&t), &batch.to_string());
    assert_eq!(a.status, 201, "{}", a.body);
    let j = a.json();
    let mut results: Vec<&Value> = j["results"].as_array().unwrap().iter().collect();
    results.sort_by_key(|r| r["index"].as_u64());
    assert_eq!(results[0]["replayed"], true);
    assert_eq!(results[0]["sd_jwt"], first.json()["sd_jwt"]);
    assert_eq!(results[1]["replayed"], false);
    assert_eq!(s.ledger.size(), size + 2);
    // The same batch once more: nothing new.
    let a = post_auth(&s, "/v1/licences/batch", Some(&t), &batch.to_string());
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["replayed"] == true));
    assert_eq!(s.ledger.size(), size + 2);
    // Another agency's token cannot fetch it by replaying: its requests name its own USCC
    // as issuer, so the identifier differs.
    let tb = token(&s, B);
    let x = post_auth(
        &s,
        "/v1/licences",
        Some(&tb),
        &business_request("R1").to_string(),
    );
    assert_ne!(x.status, 200, "{}", x.body);
}

#[test]
fn issuer_metadata_is_served_under_well_known() {
    let s = start();
    let a = get(&s, &format!("/.well-known/jwt-vc-issuer/agencies/{A}"));
    assert_eq!(a.status, 200, "{}", a.body);
    let j = a.json();
    assert_eq!(
        j["issuer"],
        format!("https://elicense.example/agencies/{A}")
    );
    let key = &j["jwks"]["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["alg"].as_str()),
        (Some("EC"), Some("ES256"))
    );
    assert!(key.get("d").is_none());
    // The kid is the one the licences carry in their header.
    let header = s.licences[0].1.split('.').next().unwrap();
    let header: Value =
        serde_json::from_slice(&elicense::jose::b64u_decode(header).unwrap()).unwrap();
    assert_eq!(key["kid"], header["kid"]);
    let a = get(&s, "/.well-known/jwt-vc-issuer/agencies/nobody");
    assert_eq!((a.status, a.error_code().as_str()), (404, "unknown_issuer"));
}

#[test]
fn public_endpoints_are_rate_limited_per_client_with_retry_after() {
    let s = start_with(elicense::server::Limits {
        rate_per_second: 1,
        rate_burst: 3,
        ..test_limits()
    });
    let statuses: Vec<u16> = (0..5).map(|_| get(&s, "/v1/trust-list").status).collect();
    assert_eq!(&statuses[..3], [200, 200, 200]);
    let a = get(&s, "/v1/trust-list");
    assert_eq!(a.status, 429);
    assert_eq!(a.error_code(), "rate_limited");
    let retry: u64 = a.headers["retry-after"].parse().unwrap();
    assert!((1..=2).contains(&retry));
    // Probes and the authenticated agency API are not counted against the public limit.
    assert_eq!(get(&s, "/healthz").status, 200);
    let t = token(&s, A);
    let (id, _) = &s.licences[0];
    let a = post_auth(&s, &format!("/v1/licences/{id}/suspend"), Some(&t), "");
    assert_eq!(a.status, 200, "{}", a.body);
}

#[test]
fn every_answer_carries_a_request_id() {
    let s = start();
    let a = get(&s, "/healthz");
    let id = a.headers["x-request-id"].clone();
    assert!(!id.is_empty());
    assert_ne!(get(&s, "/healthz").headers["x-request-id"], id);
    let given = answer(
        agent()
            .get(&format!("{}/nope", s.url))
            .header("x-request-id", "caller-123")
            .call(),
    );
    assert_eq!(given.headers["x-request-id"], "caller-123");
    let odd = answer(
        agent()
            .get(&format!("{}/healthz", s.url))
            .header("x-request-id", "has space")
            .call(),
    );
    assert_ne!(odd.headers["x-request-id"], "has space");
}

#[test]
fn a_restarted_server_has_lost_nothing() {
    let s = start();
    let t = token(&s, A);
    let a = post_auth(
        &s,
        "/v1/licences",
        Some(&t),
        &business_request("R1").to_string(),
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let issued = a.json();
    let new_id = issued["licence_id"].as_str().unwrap().to_owned();
    let new_licence = issued["sd_jwt"].as_str().unwrap().to_owned();
    let (revoked_id, revoked) = s.licences[0].clone();
    let (suspended_id, suspended) = s.licences[1].clone();
    let r = post_auth(
        &s,
        &format!("/v1/licences/{revoked_id}/revoke"),
        Some(&t),
        r#"{"reason": "吊销", "note": "restart test"}"#,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post_auth(
        &s,
        &format!("/v1/licences/{suspended_id}/suspend"),
        Some(&t),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let size = s.ledger.size();
    let list_uri = verdict(&s, &new_licence)["status_reference"]["status_list"]["uri"].clone();
    let (keys, data) = (s.keys.clone(), s.data.clone());
    let dirs = s.stop().unwrap();

    let s = start_in(&keys, &data, test_limits());
    assert_eq!(s.ledger.size(), size);
    assert_eq!(get(&s, "/readyz").json()["ledger_size"], size);
    assert_eq!(verdict(&s, &new_licence)["verdict"], "valid");
    let v = verdict(&s, &revoked);
    assert_eq!(v["reason"]["code"], "revoked", "{v}");
    assert_eq!(verdict(&s, &suspended)["reason"]["code"], "suspended");
    let st = get(&s, &format!("/v1/licences/{new_id}/status")).json();
    assert_eq!(st["state"], "valid");
    // The status list served after the restart shows the revocation and the suspension.
    let path = list_uri
        .as_str()
        .unwrap()
        .trim_start_matches(BASE)
        .to_owned();
    assert!(
        path.starts_with(&format!("/v1/status-lists/{A}/")),
        "{path}"
    );
    let a = get(&s, &path);
    assert_eq!(a.status, 200, "{path}: {}", a.body);
    // Offline, from that list alone (no ledger), a verifier reaches the same verdicts.
    let verifier = elicense::verify::Verifier::new(
        elicense::keys::KeyStore::new(&keys).trust_store().unwrap(),
    );
    let lists = [a.body.clone()];
    let opts = elicense::verify::Options::at(NOW)
        .with_status(elicense::verify::StatusCheck::Lists(&lists));
    assert_eq!(
        verifier.verify(&revoked, &opts).unwrap_err().code(),
        "revoked"
    );
    assert_eq!(
        verifier.verify(&suspended, &opts).unwrap_err().code(),
        "suspended"
    );
    let fresh = verifier.verify(&new_licence, &opts).unwrap();
    assert!(
        matches!(
            fresh.status(),
            elicense::verify::LicenceStatus::Valid { .. }
        ),
        "{:?}",
        fresh.status()
    );
    // The token still works, and the history carries the actor.
    let r = post_auth(
        &s,
        &format!("/v1/licences/{suspended_id}/reinstate"),
        Some(&t),
        "",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let history = s.ledger.history(&revoked_id).unwrap();
    assert!(history.iter().all(|e| e.actor == A), "{history:?}");
    drop(s);
    drop(dirs);
}

#[test]
fn forty_kinds_of_bad_request_each_get_a_4xx_in_the_json_error_shape() {
    let s = start();
    let t = token(&s, A);
    let other = token(&s, B);
    let revoked_token = token(&s, A);
    let id = s.tokens.load().unwrap().last().unwrap().id.clone();
    s.tokens.revoke(&id, NOW).unwrap();
    let (own, _) = s.licences[0].clone();
    let size = s.ledger.size();
    let u = |p: &str| format!("{}{p}", s.url);
    let agency_post = |p: &str, tok: Option<&str>, body: &str| post_auth(&s, p, tok, body);
    // The same identifier with another check character.
    let bad_check = {
        let (body, check) = own.split_at(own.len() - 1);
        format!("{body}{}", if check == "0" { "1" } else { "0" })
    };
    let big_batch = json!({ "requests": (0..101).map(|i| business_request(&format!("F{i}"))).collect::<Vec<_>>() }).to_string();
    let mut unknown_type = business_request("G1");
    unknown_type["type"] = "fishing_permit".into();
    let mut bad_holder = business_request("G2");
    bad_holder["holder"]["id"] = "91350100M000100Y44".into();
    let mut missing_field = business_request("G3");
    missing_field["fields"]
        .as_object_mut()
        .unwrap()
        .remove("address");

    let cases: Vec<(&str, Answer, u16)> = vec![
        ("unknown route", get(&s, "/nope"), 404),
        ("unknown deep route", get(&s, "/v1/licences/a/b/c/d"), 404),
        ("double slash", get(&s, "//healthz"), 404),
        (
            "wrong method on a probe",
            answer(agent().delete(&u("/healthz")).call()),
            405,
        ),
        ("GET on verify", get(&s, "/v1/verify"), 405),
        (
            "PUT on licences",
            answer(agent().put(&u("/v1/licences")).send("{}")),
            405,
        ),
        (
            "truncated JSON",
            post(&s, "/v1/verify", "application/json", "{\"licence\": "),
            400,
        ),
        (
            "JSON array",
            post(&s, "/v1/verify", "application/json", "[1,2]"),
            400,
        ),
        (
            "JSON licence not a string",
            post(&s, "/v1/verify", "application/json", "{\"licence\": 5}"),
            400,
        ),
        (
            "JSON without licence",
            post(&s, "/v1/verify", "application/json", "{}"),
            400,
        ),
        (
            "unknown JSON member",
            post(
                &s,
                "/v1/verify",
                "application/json",
                "{\"licence\":\"x\",\"x\":1}",
            ),
            400,
        ),
        (
            "JSON nested too deep",
            post(
                &s,
                "/v1/verify",
                "application/json",
                &("[".repeat(5000) + &"]".repeat(5000)),
            ),
            400,
        ),
        (
            "image content type",
            post(&s, "/v1/verify", "image/gif", "GIF89a"),
            415,
        ),
        (
            "XML content type",
            post(&s, "/v1/verify", "application/xml", "<licence/>"),
            415,
        ),
        (
            "identifier too short",
            get(&s, "/v1/licences/1.2.3/status"),
            400,
        ),
        (
            "identifier wrong check character",
            get(&s, &format!("/v1/licences/{bad_check}/status")),
            400,
        ),
        (
            "identifier not ASCII",
            get(&s, "/v1/licences/%E8%90%A5%E4%B8%9A/status"),
            400,
        ),
        (
            "identifier bad percent-encoding",
            get(&s, "/v1/licences/%FF%FE/status"),
            400,
        ),
        (
            "unknown licence",
            get(
                &s,
                "/v1/licences/1.2.156.3005.2.1001.11350100MB00000012.1.1.3/status",
            ),
            404,
        ),
        (
            "list number not a number",
            get(&s, &format!("/v1/status-lists/{A}/x")),
            400,
        ),
        (
            "list number overflows",
            get(&s, &format!("/v1/status-lists/{A}/99999999999999")),
            400,
        ),
        (
            "unknown list",
            get(&s, &format!("/v1/status-lists/{B}/0")),
            404,
        ),
        (
            "inclusion proof without seq",
            get(&s, "/v1/ledger/proof/inclusion"),
            400,
        ),
        (
            "inclusion proof seq not a number",
            get(&s, "/v1/ledger/proof/inclusion?seq=x"),
            400,
        ),
        (
            "inclusion proof seq past the end",
            get(&s, "/v1/ledger/proof/inclusion?seq=99"),
            400,
        ),
        (
            "inclusion proof bad query encoding",
            get(&s, "/v1/ledger/proof/inclusion?seq=%ZZ"),
            400,
        ),
        (
            "consistency proof backwards",
            get(&s, "/v1/ledger/proof/consistency?from=3&to=1"),
            400,
        ),
        (
            "consistency proof without bounds",
            get(&s, "/v1/ledger/proof/consistency"),
            400,
        ),
        (
            "unknown issuer metadata",
            get(&s, "/.well-known/jwt-vc-issuer/x/y"),
            404,
        ),
        ("no token", agency_post("/v1/licences", None, "{}"), 401),
        (
            "Basic instead of Bearer",
            answer(
                agent()
                    .post(&u("/v1/licences"))
                    .header("authorization", "Basic YTpi")
                    .send("{}"),
            ),
            401,
        ),
        (
            "wrong token",
            agency_post("/v1/licences", Some("elt_not-a-real-token"), "{}"),
            401,
        ),
        (
            "revoked token",
            agency_post(
                "/v1/licences",
                Some(&revoked_token),
                &business_request("H1").to_string(),
            ),
            401,
        ),
        (
            "issue: truncated JSON",
            agency_post("/v1/licences", Some(&t), "{\"type\":"),
            400,
        ),
        (
            "issue: unknown licence type",
            agency_post("/v1/licences", Some(&t), &unknown_type.to_string()),
            400,
        ),
        (
            "issue: holder code with a wrong check character",
            agency_post("/v1/licences", Some(&t), &bad_holder.to_string()),
            400,
        ),
        (
            "issue: missing face field",
            agency_post("/v1/licences", Some(&t), &missing_field.to_string()),
            400,
        ),
        (
            // (The identical request again is a retry, answered with the licence: see
            // http_api::a_retried_issuance_returns_the_licence_already_recorded.)
            "issue: serial already issued from another request",
            agency_post(
                "/v1/licences",
                Some(&t),
                &{
                    let mut r = business_request("900000");
                    r["valid_from"] = "2024-03-02".into();
                    r
                }
                .to_string(),
            ),
            409,
        ),
        (
            "revoke: unknown licence",
            agency_post(
                "/v1/licences/1.2.156.3005.2.1001.11350100MB00000012.77.1.6/revoke",
                Some(&t),
                "",
            ),
            404,
        ),
        (
            "revoke: bad identifier",
            agency_post("/v1/licences/nonsense/revoke", Some(&t), ""),
            400,
        ),
        (
            "revoke: unknown reason",
            agency_post(
                &format!("/v1/licences/{own}/revoke"),
                Some(&t),
                "{\"reason\":\"because\"}",
            ),
            400,
        ),
        (
            "revoke: note too long",
            agency_post(
                &format!("/v1/licences/{own}/revoke"),
                Some(&t),
                &json!({"note": "x".repeat(600)}).to_string(),
            ),
            400,
        ),
        (
            "revoke: another agency's licence",
            agency_post(&format!("/v1/licences/{own}/revoke"), Some(&other), ""),
            403,
        ),
        (
            "reinstate: a licence that is not suspended",
            agency_post(&format!("/v1/licences/{own}/reinstate"), Some(&t), ""),
            409,
        ),
        (
            "batch: empty",
            agency_post("/v1/licences/batch", Some(&t), "{\"requests\":[]}"),
            422,
        ),
        (
            "batch: too many",
            agency_post("/v1/licences/batch", Some(&t), &big_batch),
            422,
        ),
        (
            "batch: not an object",
            agency_post("/v1/licences/batch", Some(&t), "[]"),
            400,
        ),
        (
            "huge header",
            answer(
                agent()
                    .get(&u("/healthz"))
                    .header("x-padding", &"p".repeat(40_000))
                    .call(),
            ),
            431,
        ),
        (
            "over-long URL",
            get(&s, &format!("/v1/licences/{}/status", "1".repeat(5000))),
            414,
        ),
    ];
    assert!(cases.len() >= 40, "{} kinds", cases.len());
    let mut kinds = BTreeSet::new();
    for (what, a, status) in &cases {
        assert_eq!(a.status, *status, "{what}: {}", a.body);
        assert!((400..500).contains(&a.status), "{what}");
        let code = a.error_code();
        assert!(
            !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{what}: {code}"
        );
        assert_eq!(
            a.headers.get("content-type").map(String::as_str),
            Some("application/json"),
            "{what}"
        );
        kinds.insert(*what);
    }
    // Requests a client library will not make: a body larger than it declares it will be,
    // a declared length over the limit, a bad chunked body.
    let raw_cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "body over the limit",
            format!("POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n", 200_000).into_bytes(),
            413,
        ),
        (
            "batch body over its larger limit",
            format!("POST /v1/licences/batch HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {t}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", 64 << 20).into_bytes(),
            413,
        ),
        (
            "declared length over the limit",
            b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 99999999\r\n\r\n".to_vec(),
            413,
        ),
        (
            "invalid UTF-8 body",
            b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\n\xff\xfe\xfd".to_vec(),
            400,
        ),
        (
            "path traversal",
            b"GET /v1/status-lists/../../../etc/passwd HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec(),
            404,
        ),
    ];
    for (what, bytes, status) in raw_cases {
        let (got, body) = raw(&s, &bytes);
        assert_eq!(got, status, "{what}: {body}");
        let j: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert!(j["error"]["code"].is_string(), "{what}: {body}");
        kinds.insert(what);
    }
    // Requests hyper itself would refuse with an empty body: checked before it parses them,
    // they get the JSON shape and a stable code too.
    let many_headers: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let framing_cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "duplicate Content-Length",
            b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc".to_vec(),
            400,
            "duplicate_content_length",
        ),
        (
            "conflicting Content-Length",
            b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd".to_vec(),
            400,
            "conflicting_content_length",
        ),
        (
            "negative Content-Length",
            b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n".to_vec(),
            400,
            "invalid_content_length",
        ),
        (
            "Transfer-Encoding with Content-Length",
            b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n".to_vec(),
            400,
            "conflicting_framing",
        ),
        (
            "obsolete header folding",
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n b\r\n\r\n".to_vec(),
            400,
            "obsolete_line_folding",
        ),
        (
            "bare LF line endings",
            b"GET /healthz HTTP/1.1\nHost: t\n\n".to_vec(),
            400,
            "bad_line_ending",
        ),
        (
            "150 headers",
            format!("GET /healthz HTTP/1.1\r\nHost: t\r\n{many_headers}\r\n").into_bytes(),
            431,
            "too_many_headers",
        ),
        (
            "a 100 KB URI",
            format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(100_000)).into_bytes(),
            414,
            "uri_too_long",
        ),
        (
            "invalid header name",
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n".to_vec(),
            400,
            "invalid_header_name",
        ),
    ];
    for (what, bytes, status, code) in framing_cases {
        let (got, head, body) = raw_with_head(&s, &bytes);
        assert_eq!(got, status, "{what}: {head}\n{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("\r\ncontent-type: application/json"),
            "{what}: {head}"
        );
        let j: Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body}"));
        assert_eq!(j["error"]["code"], code, "{what}: {body}");
        kinds.insert(what);
    }
    assert!(kinds.len() >= 40, "only {} distinct kinds", kinds.len());
    println!(
        "{} distinct kinds of bad request, all 4xx with the JSON error shape",
        kinds.len()
    );
    // Nothing was recorded, and the server keeps serving.
    assert_eq!(s.ledger.size(), size);
    assert_eq!(get(&s, "/healthz").status, 200);
    assert_eq!(verdict(&s, &s.licences[1].1)["verdict"], "valid");
}

#[test]
fn the_concurrency_limit_bounds_the_whole_service_not_each_route() {
    use std::io::Write as _;
    let s = start_with(elicense::server::Limits {
        max_concurrent: 1,
        ..test_limits()
    });
    // One request holds the only slot: it announces a body and sends part of it.
    let addr = s.url.trim_start_matches("http://");
    let mut slow = std::net::TcpStream::connect(addr).unwrap();
    slow.write_all(
        b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\npartial",
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    // Another route is shed at once, in the JSON shape, and counted.
    let a = get(&s, "/v1/trust-list");
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.error_code(), "overloaded");
    drop(slow);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(get(&s, "/healthz").status, 200);
    let m = get(&s, "/metrics").body;
    assert!(m.contains("status=\"503\""), "{m}");
}

/// The members of `schema` (an object, `allOf` of objects or a `$ref` to one) as
/// `(documented, required)`.
fn members(doc: &Value, schema: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return members(doc, &doc["components"]["schemas"][name]);
    }
    let mut documented = BTreeSet::new();
    let mut required = BTreeSet::new();
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let (d, r) = members(doc, part);
        documented.extend(d);
        required.extend(r);
    }
    if let Some(p) = schema["properties"].as_object() {
        documented.extend(p.keys().cloned());
    }
    for r in schema["required"].as_array().into_iter().flatten() {
        required.insert(r.as_str().unwrap().to_owned());
    }
    (documented, required)
}

/// The `Verdict` schema's branch for `verdict` (its `verdict` member's only value).
fn verdict_branch<'a>(doc: &'a Value, verdict: &str) -> &'a Value {
    doc["components"]["schemas"]["Verdict"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| {
            let (d, _) = members(doc, b);
            d.contains("verdict")
                && serde_json::to_string(b)
                    .unwrap()
                    .contains(&format!("\"{verdict}\""))
        })
        .unwrap_or_else(|| panic!("no Verdict branch for {verdict}"))
}

#[test]
fn verdicts_are_what_the_openapi_document_says() {
    let s = start();
    let doc = get(&s, "/openapi.json").json();
    let response = &doc["paths"]["/v1/verify"]["post"]["responses"]["200"]["content"]
        ["application/json"]["schema"]["$ref"];
    assert_eq!(response, "#/components/schemas/Verdict");
    let image = &doc["paths"]["/v1/verify/image"]["post"]["responses"]["200"]["content"]
        ["application/json"]["schema"]["$ref"];
    assert_eq!(image, "#/components/schemas/ImageVerdict");
    let valid = verdict(&s, &s.licences[0].1);
    let invalid = verdict(&s, "not a licence");
    assert_eq!(invalid["verdict"], "invalid");
    for v in [valid, invalid] {
        let (documented, required) =
            members(&doc, verdict_branch(&doc, v["verdict"].as_str().unwrap()));
        let sent: BTreeSet<String> = v.as_object().unwrap().keys().cloned().collect();
        assert!(
            sent.is_subset(&documented),
            "undocumented: {:?}",
            sent.difference(&documented)
        );
        assert!(
            required.is_subset(&sent),
            "missing: {:?}",
            required.difference(&sent)
        );
        if let Some(r) = v.get("reason") {
            let (d, _) = members(&doc, &json!({"$ref": "#/components/schemas/ReasonBody"}));
            let sent: BTreeSet<String> = r.as_object().unwrap().keys().cloned().collect();
            assert_eq!(sent, d);
        }
    }
    // An error answer is the documented error body.
    let e = post(&s, "/v1/verify", "application/json", "{");
    let (documented, _) = members(&doc, &doc["components"]["schemas"]["ErrorBody"]);
    let sent: BTreeSet<String> = e.json().as_object().unwrap().keys().cloned().collect();
    assert_eq!(sent, documented);
}
