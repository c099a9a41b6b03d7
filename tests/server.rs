//! The real server on an ephemeral loopback port, driven with a real HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::server::*;
use elicense::ledger::Action;
use elicense::licence::codes::Uscc;
use elicense::tokens::TokenStore;
use serde_json::Value;

#[test]
fn verify_revoke_status_and_status_list_over_http() {
    let s = start();
    assert_eq!(get(&s, "/healthz").status, 200);
    assert_eq!(get(&s, "/readyz").json()["ledger_size"], 3);

    let (id, licence) = &s.licences[0];
    // JSON and plain-text bodies.
    let body = serde_json::json!({ "licence": licence }).to_string();
    let a = post(&s, "/v1/verify", "application/json", &body);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["verdict"], "valid", "{}", a.body);
    assert_eq!(a.json()["licence_id"], id.as_str());
    let a = post(&s, "/v1/verify", "text/plain", licence);
    assert_eq!(a.json()["verdict"], "valid");

    // Status: only the status, never holder data.
    let a = get(&s, &format!("/v1/licences/{id}/status"));
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["state"], "valid");
    assert!(!a.body.contains("示例科技"), "{}", a.body);

    // Revoke in the ledger: the verdict and the status follow.
    s.ledger
        .change(
            id,
            Action::Revoke,
            &Uscc::parse(A).unwrap(),
            None,
            None,
            None,
            NOW,
        )
        .unwrap();
    let a = post(&s, "/v1/verify", "text/plain", licence);
    assert_eq!(a.status, 200);
    assert_eq!(a.json()["verdict"], "invalid");
    assert_eq!(a.json()["reason"]["code"], "revoked");
    assert_eq!(
        get(&s, &format!("/v1/licences/{id}/status")).json()["state"],
        "revoked"
    );

    // The status list: type, caching headers, CORS, ETag / 304, and it says revoked.
    let path = format!("/v1/status-lists/{A}/0");
    let a = get(&s, &path);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.headers["content-type"], "application/statuslist+jwt");
    assert_eq!(a.headers["cache-control"], "public, max-age=3600");
    assert_eq!(a.headers["access-control-allow-origin"], "*");
    let etag = a.headers["etag"].clone();
    let again = answer(
        agent()
            .get(&format!("{}{path}", s.url))
            .header("if-none-match", &etag)
            .call(),
    );
    assert_eq!(again.status, 304);
    let list = elicense::status_list::parse_token(&a.body).unwrap();
    assert_eq!(list.header().typ.as_deref(), Some("statuslist+jwt"));

    // The trust list names the agency certificate by kid.
    let t = get(&s, "/v1/trust-list").json();
    assert_eq!(t["issuers"][0]["code"], A);
    assert!(t["issuers"][0]["kid"]
        .as_str()
        .is_some_and(|k| k.len() == 11));
    // The issuer key as a JWK, for a browser that verifies offline with WebCrypto.
    let jwk = &t["issuers"][0]["jwk"];
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert!(jwk.get("d").is_none_or(|d| d.is_null()));
    assert!(
        t["issuers"][0]["not_after_unix"].as_i64() > t["issuers"][0]["not_before_unix"].as_i64()
    );
}

#[test]
fn bad_requests_get_the_json_error_shape_and_a_4xx() {
    let s = start();
    let cases: Vec<(&str, Answer, u16, &str)> = vec![
        ("unknown route", get(&s, "/nope"), 404, "not_found"),
        (
            "wrong method",
            answer(agent().delete(&format!("{}/healthz", s.url)).call()),
            405,
            "method_not_allowed",
        ),
        (
            "bad JSON",
            post(&s, "/v1/verify", "application/json", "{\"licence\": "),
            400,
            "bad_json",
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
            "bad_json",
        ),
        (
            "wrong content type",
            post(&s, "/v1/verify", "image/png", "x"),
            415,
            "unsupported_media_type",
        ),
        (
            "bad identifier",
            get(&s, "/v1/licences/1.2.3/status"),
            400,
            "bad_identifier",
        ),
        (
            "unknown licence",
            get(
                &s,
                "/v1/licences/1.2.156.3005.2.1001.11350100MB00000012.1.1.3/status",
            ),
            404,
            "unknown_licence",
        ),
        (
            "bad list number",
            get(&s, &format!("/v1/status-lists/{A}/x")),
            400,
            "bad_list",
        ),
        (
            "unknown list",
            get(&s, "/v1/status-lists/11440300MB00000022/0"),
            404,
            "unknown_status_list",
        ),
    ];
    for (what, a, status, code) in cases {
        assert_eq!(a.status, status, "{what}: {}", a.body);
        assert_eq!(a.error_code(), code, "{what}");
    }
    // Garbage licences are answered 200 with an invalid verdict, and the server keeps serving.
    for garbage in ["", "x", "~", "a.b.c~", "eyJhbGciOiJub25lIn0.e30.~"] {
        let a = post(&s, "/v1/verify", "text/plain", garbage);
        assert_eq!(a.status, 200, "{garbage:?}: {}", a.body);
        assert_eq!(a.json()["verdict"], "invalid");
    }
    assert_eq!(get(&s, "/healthz").status, 200);
}

#[test]
fn agencies_issue_and_revoke_their_own_licences_over_http() {
    let s = start();
    let (_, token_a) = s.tokens.create(&Uscc::parse(A).unwrap(), NOW).unwrap();
    let request = include_str!("../fixtures/requests/food_business_permit.json");
    let a = post_auth(&s, "/v1/licences", Some(&token_a), request);
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.json()["licence_id"].as_str().unwrap().to_owned();
    let licence = a.json()["sd_jwt"].as_str().unwrap().to_owned();
    assert_eq!(
        post(&s, "/v1/verify", "text/plain", &licence).json()["verdict"],
        "valid"
    );
    // The same request again is a retry: the licence recorded, not a second one. Another
    // request for the same identifier is a conflict.
    let again = post_auth(&s, "/v1/licences", Some(&token_a), request);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json()["sd_jwt"].as_str(), Some(licence.as_str()));
    let mut other: serde_json::Value = serde_json::from_str(request).unwrap();
    other["valid_from"] = "2024-06-02".into();
    assert_eq!(
        post_auth(&s, "/v1/licences", Some(&token_a), &other.to_string()).error_code(),
        "already_issued"
    );

    let a = post_auth(
        &s,
        &format!("/v1/licences/{id}/suspend"),
        Some(&token_a),
        r#"{"reason":"暂扣","note":"待核查"}"#,
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["state"], "suspended");
    let v = post(&s, "/v1/verify", "text/plain", &licence).json();
    assert_eq!(v["reason"]["code"], "suspended");
    let a = post_auth(
        &s,
        &format!("/v1/licences/{id}/revoke"),
        Some(&token_a),
        r#"{"reason":"吊销"}"#,
    );
    assert_eq!(a.json()["state"], "revoked", "{}", a.body);
    assert_eq!(
        post(&s, "/v1/verify", "text/plain", &licence).json()["reason"]["code"],
        "revoked"
    );
    // Revocation is final.
    let a = post_auth(
        &s,
        &format!("/v1/licences/{id}/reinstate"),
        Some(&token_a),
        "",
    );
    assert_eq!(
        (a.status, a.error_code()),
        (409, "illegal_transition".into())
    );
}

#[test]
fn no_wrong_revoked_or_foreign_token_changes_nothing() {
    let s = start();
    let (id, _) = s.licences[0].clone();
    let (_, token_b) = s.tokens.create(&Uscc::parse(B).unwrap(), NOW).unwrap();
    let (revoked, token_revoked) = s.tokens.create(&Uscc::parse(A).unwrap(), NOW).unwrap();
    s.tokens.revoke(&revoked.id, NOW).unwrap();
    let before = s.ledger.size();
    let path = format!("/v1/licences/{id}/revoke");
    for (what, token, status, code) in [
        ("no token", None, 401, "unauthorized"),
        (
            "wrong token",
            Some("elt_not-a-real-token"),
            401,
            "unauthorized",
        ),
        (
            "revoked token",
            Some(token_revoked.as_str()),
            401,
            "unauthorized",
        ),
        (
            "another agency's licence",
            Some(token_b.as_str()),
            403,
            "forbidden",
        ),
    ] {
        let a = post_auth(&s, &path, token, "");
        assert_eq!(a.status, status, "{what}: {}", a.body);
        assert_eq!(a.error_code(), code, "{what}");
    }
    assert_eq!(s.ledger.size(), before, "nothing was recorded");
    assert_eq!(
        get(&s, &format!("/v1/licences/{id}/status")).json()["state"],
        "valid"
    );
    // Issuing without a valid token is refused too.
    let request = include_str!("../fixtures/requests/teacher_qualification.json");
    assert_eq!(post_auth(&s, "/v1/licences", None, request).status, 401);
    assert_eq!(s.ledger.size(), before);
}

#[test]
fn agency_tokens_through_the_cli_are_shown_once_and_stored_as_hashes() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_elicense");
    let run = |args: &[&str]| {
        let out = Command::new(bin)
            .args(["--keys", "k"])
            .args(args)
            .current_dir(dir.path())
            .env_remove("ELICENSE_KEYS")
            .env_remove("ELICENSE_DATA")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(&["init"]).0, Some(0));
    assert_eq!(
        run(&[
            "agency",
            "add",
            "--name",
            "示例市市场监督管理局",
            "--code",
            A
        ])
        .0,
        Some(0)
    );
    // A token for an agency without a key here is refused.
    let (code, _, err) = run(&["agency", "token", "create", "--agency", B]);
    assert_eq!(code, Some(2), "{err}");
    let (code, token, err) = run(&["agency", "token", "create", "--agency", A]);
    assert_eq!(code, Some(0), "{err}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("elt_"), "{token}");
    let stored =
        std::fs::read_to_string(dir.path().join("k").join(elicense::tokens::TOKENS_FILE)).unwrap();
    assert!(!stored.contains(&token));
    let records = TokenStore::new(&dir.path().join("k")).load().unwrap();
    assert_eq!(
        elicense::tokens::authenticate(&records, &token).map(|u| u.to_string()),
        Some(A.to_owned())
    );
    let (_, list, _) = run(&["agency", "token", "list"]);
    assert!(
        list.contains(&records[0].id) && !list.contains(&token),
        "{list}"
    );
    assert_eq!(
        run(&["agency", "token", "revoke", &records[0].id]).0,
        Some(0)
    );
    let records = TokenStore::new(&dir.path().join("k")).load().unwrap();
    assert_eq!(elicense::tokens::authenticate(&records, &token), None);
    assert!(run(&["agency", "token", "list"]).1.contains("revoked"));
}

#[test]
fn checkpoints_and_proofs_over_http_verify() {
    use elicense::ledger::checkpoint::{parse_note, Checkpoint};
    use elicense::ledger::merkle::{verify_consistency, verify_inclusion};
    let s = start();
    let a = get(&s, "/v1/ledger/checkpoint");
    assert_eq!(a.status, 200, "{}", a.body);
    let note = parse_note(&a.body).unwrap();
    let cp = Checkpoint::parse_body(&note.text).unwrap();
    assert_eq!(cp.origin, "elicense.example/test-log");
    assert_eq!(cp.size, 3);
    let b64 = |v: &Value| -> [u8; 32] {
        elicense::jose::b64_decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    for seq in 0..3 {
        let p = get(&s, &format!("/v1/ledger/proof/inclusion?seq={seq}&size=3")).json();
        let proof: Vec<[u8; 32]> = p["inclusion_proof"]
            .as_array()
            .unwrap()
            .iter()
            .map(b64)
            .collect();
        verify_inclusion(seq, 3, &b64(&p["leaf_hash"]), &proof, &cp.root).unwrap();
    }
    let c = get(&s, "/v1/ledger/proof/consistency?from=1&to=3").json();
    let proof: Vec<[u8; 32]> = c["consistency_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(b64)
        .collect();
    verify_consistency(1, 3, &b64(&c["from_root"]), &cp.root, &proof).unwrap();
    for bad in [
        "/v1/ledger/proof/inclusion",
        "/v1/ledger/proof/inclusion?seq=x",
        "/v1/ledger/proof/inclusion?seq=3&size=3",
        "/v1/ledger/proof/inclusion?seq=0&size=99",
        "/v1/ledger/proof/consistency?from=3&to=1",
    ] {
        let a = get(&s, bad);
        assert_eq!(a.status, 400, "{bad}: {}", a.body);
        a.error_code();
    }
}

#[test]
fn a_request_over_the_time_limit_is_a_408_in_the_json_shape() {
    use std::io::{Read as _, Write as _};
    let s = start_with(elicense::server::Limits {
        max_concurrent: 8,
        timeout: std::time::Duration::from_millis(50),
        ..Default::default()
    });
    // A client that announces a body and never finishes sending it.
    let addr = s.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(
            b"POST /v1/verify HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\npartial",
        )
        .unwrap();
    let started = std::time::Instant::now();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = stream.read(&mut buf) {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.ends_with(b"}") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"code\":\"timeout\""), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // And the server still answers everyone else.
    assert_eq!(get(&s, "/healthz").status, 200);
}

#[test]
fn metrics_count_requests_by_route_pattern_and_verdicts() {
    let s = start();
    let (id, licence) = s.licences[0].clone();
    post(&s, "/v1/verify", "text/plain", &licence);
    post(&s, "/v1/verify", "text/plain", "garbage");
    get(&s, &format!("/v1/licences/{id}/status"));
    get(&s, "/nope");
    let m = get(&s, "/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.headers["content-type"].starts_with("text/plain"),
        "{:?}",
        m.headers
    );
    for line in [
        "elicense_http_requests_total{route=\"/v1/verify\",status=\"200\"} 2",
        "elicense_http_requests_total{route=\"/v1/licences/{identifier}/status\",status=\"200\"} 1",
        "elicense_http_requests_total{route=\"unmatched\",status=\"404\"} 1",
        "elicense_verdicts_total{verdict=\"valid\"} 1",
        "elicense_verdicts_total{verdict=\"malformed\"} 1",
        "elicense_http_request_duration_seconds_count{route=\"/v1/verify\"} 2",
    ] {
        assert!(m.body.contains(line), "missing {line}\n{}", m.body);
    }
    assert!(!m.body.contains(&id), "identifiers never reach metrics");
}

#[path = "common/photo.rs"]
mod photo;

fn post_image(s: &Server, content_type: &str, body: &[u8]) -> Answer {
    answer(
        agent()
            .post(&format!("{}/v1/verify/image", s.url))
            .header("content-type", content_type)
            .send(body),
    )
}

/// A PNG photo of a QR code holding `text`, straight and sharp.
fn photo_of_code(text: &str) -> Vec<u8> {
    let (n, dark) = photo::modules(text);
    let shot = photo::Shot {
        width: 800,
        height: 600,
        module_px: 4.0,
        angle: 5.0,
        tilt: (0.0, 0.0),
        margin: 10.0,
        paper: 230.0,
        ink: 25.0,
        table: 90.0,
        shade: 0.2,
        light: (0.5, 0.5),
        blur: 0.6,
        noise: 3.0,
        jpeg: None,
        seed: 5,
    };
    photo::encode(&photo::photograph(n, &dark, &shot), shot.jpeg)
}

/// A phone photo of a printed seal: 1920×1080 JPEG, turned and tilted a little.
fn photo_of_seal(seal: &str) -> Vec<u8> {
    let (n, dark) = photo::modules(seal);
    let shot = photo::Shot {
        width: 1920,
        height: 1080,
        module_px: 6.0,
        angle: 12.0,
        tilt: (0.0002, -0.0001),
        margin: 40.0,
        paper: 225.0,
        ink: 30.0,
        table: 70.0,
        shade: 0.25,
        light: (0.4, 0.6),
        blur: 0.8,
        noise: 4.0,
        jpeg: Some(85),
        seed: 11,
    };
    photo::encode(&photo::photograph(n, &dark, &shot), shot.jpeg)
}

#[test]
fn photos_over_http_get_the_verify_answer_or_a_4xx_saying_why() {
    let s = start();
    // A code that reads fine but holds something else.
    let a = post_image(
        &s,
        "image/png",
        &photo_of_code("HTTPS://SHOP.EXAMPLE/ORDER/12345"),
    );
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(a.error_code(), "not_a_licence");
    assert!(a.json()["error"]["message"]
        .as_str()
        .unwrap()
        .contains("does not hold a licence"));
    // A code that claims to be a paper seal (EL1:) but does not decode is a damaged or
    // forged licence: /v1/verify's answer, invalid and malformed — not "not a licence".
    let mut rng = photo::Rng::new(8);
    let a = post_image(
        &s,
        "image/png",
        &photo_of_code(&photo::seal_like_text(&mut rng, 300)),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["verdict"], "invalid", "{}", a.body);
    assert_eq!(a.json()["reason"]["code"], "malformed", "{}", a.body);

    // A code holding an SD-JWT signed by no one trusted: a licence, though not a valid
    // one, so the answer is /v1/verify's (200, invalid), with where it was read from.
    let b64 = |v: serde_json::Value| elicense::jose::b64u_encode(serde_json::to_vec(&v).unwrap());
    let forged = format!(
        "{}.{}.{}~",
        b64(serde_json::json!({"alg": "ES256", "typ": "dc+sd-jwt", "kid": "AAAAAAAAAAA"})),
        b64(serde_json::json!({"iss": "https://forger.example", "iat": NOW})),
        elicense::jose::b64u_encode([7u8; 64])
    );
    let a = post_image(&s, "image/png", &photo_of_code(&forged));
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_eq!(v["verdict"], "invalid", "{v}");
    assert_ne!(v["reason"]["code"], "malformed", "{v}");
    assert_eq!(v["scan"]["media_type"], "image/png", "{v}");
    assert_eq!(
        (v["scan"]["width"].as_u64(), v["scan"]["height"].as_u64()),
        (Some(800), Some(600))
    );
    // A photo of a real paper seal's QR code: the licence, valid, as /v1/verify says.
    let a = post_image(&s, "image/jpeg", &photo_of_seal(&s.seals[0]));
    assert_eq!(a.status, 200, "{}", a.body);
    let v = a.json();
    assert_eq!(v["verdict"], "valid", "{v}");
    assert_eq!(v["licence_id"], s.licences[0].0.as_str(), "{v}");
    assert_eq!(v["scan"]["media_type"], "image/jpeg", "{v}");
    // Counted as /v1/verify's verdicts are.
    let m = get(&s, "/metrics");
    assert!(m.body.contains("route=\"/v1/verify/image\""), "{}", m.body);

    // A photo with no code, larger than the service's usual body limit: the route has its
    // own.
    let clutter = photo::encode(&photo::clutter(2, 1600, 1200), None);
    assert!(
        clutter.len() > elicense::server::MAX_BODY,
        "{}",
        clutter.len()
    );
    let a = post_image(&s, "image/png", &clutter);
    assert_eq!(a.status, 422, "{}", a.body);
    assert_eq!(a.error_code(), "no_qr_found");
    assert!(a.body.contains("photograph the whole code"), "{}", a.body);

    let mut bad = photo_of_code("HELLO");
    bad.truncate(bad.len() / 2);
    let cases: Vec<(&str, Answer, u16, &str)> = vec![
        (
            "50000 × 50000 declared",
            post_image(&s, "image/png", &photo::png_header_only(50_000, 50_000)),
            413,
            "image_too_large",
        ),
        (
            "truncated PNG",
            post_image(&s, "image/png", &bad),
            400,
            "corrupt_image",
        ),
        (
            "GIF labelled PNG",
            post_image(&s, "image/png", b"GIF89a\x01\x00\x01\x00"),
            415,
            "unsupported_image",
        ),
        (
            "wrong content type",
            post_image(&s, "text/plain", &photo_of_code("HELLO")),
            415,
            "unsupported_media_type",
        ),
        (
            "no content type",
            answer(
                agent()
                    .post(&format!("{}/v1/verify/image", s.url))
                    .send(&b"\x89PNG"[..]),
            ),
            415,
            "unsupported_media_type",
        ),
    ];
    for (what, a, status, code) in cases {
        assert_eq!(a.status, status, "{what}: {}", a.body);
        assert_eq!(a.error_code(), code, "{what}");
    }
    // Over the byte cap, refused from the declared length before anything is read (the
    // client may be sending it still).
    let (status, body) = raw(
        &s,
        format!(
            "POST /v1/verify/image HTTP/1.1\r\nHost: t\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
            elicense::scan::MAX_IMAGE_BYTES + 1
        )
        .as_bytes(),
    );
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("image_too_large"), "{body}");
    // The other routes keep their small limit.
    let (status, body) = raw(
        &s,
        b"POST /v1/verify HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\nContent-Length: 200000\r\n\r\n",
    );
    assert_eq!(status, 413, "{body}");
    assert_eq!(get(&s, "/healthz").status, 200);
}

/// A licence read from the file `issue --out` wrote ends with a newline; sent inside JSON it
/// is the same licence as sent as text/plain (issue 10).
#[test]
fn a_json_licence_with_the_trailing_newline_of_its_file_verifies() {
    let s = start();
    let (id, licence) = &s.licences[0];
    for pasted in [
        format!("{licence}\n"),
        format!("{licence}\r\n"),
        format!("  {licence} \n"),
    ] {
        let body = serde_json::json!({ "licence": pasted }).to_string();
        let a = post(&s, "/v1/verify", "application/json", &body);
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(a.json()["verdict"], "valid", "{}", a.body);
        assert_eq!(a.json()["licence_id"], id.as_str());
    }
}

/// One input gets one JSON verdict, whether it comes as text over HTTP, as a photo of its
/// QR code, or to `elicense verify --json` on the same keys and ledger.
#[test]
fn the_verdict_is_the_same_over_http_photo_and_cli() {
    let s = start();
    let agency = Uscc::parse(A).unwrap();
    s.ledger
        .change(
            &s.licences[1].0,
            Action::Revoke,
            &agency,
            None,
            None,
            None,
            NOW - 10,
        )
        .unwrap();
    let mut tampered = s.seals[2].clone().into_bytes();
    let last = tampered.len() - 3;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let inputs = [s.seals[0].clone(), s.seals[1].clone(), tampered];
    let mut by_http = Vec::new();
    for text in &inputs {
        let a = post(&s, "/v1/verify", "text/plain", text);
        assert_eq!(a.status, 200, "{}", a.body);
        let image = post_image(&s, "image/png", &photo_of_code(text));
        assert_eq!(image.status, 200, "{}", image.body);
        let mut by_photo = image.json();
        assert!(by_photo.as_object_mut().unwrap().remove("scan").is_some());
        assert_eq!(a.json(), by_photo, "HTTP and photo differ");
        by_http.push(a.json());
    }
    let codes: Vec<_> = by_http
        .iter()
        .map(|v| v["reason"]["code"].as_str().unwrap_or("valid").to_owned())
        .collect();
    assert_eq!(codes[..2], ["valid", "revoked"]);
    assert_eq!(by_http[2]["verdict"], "invalid");
    let (keys, data) = (s.keys.clone(), s.data.clone());
    let _dirs = s.stop();
    let work = tempfile::tempdir().unwrap();
    for (text, http) in inputs.iter().zip(&by_http) {
        std::fs::write(work.path().join("licence.txt"), text).unwrap();
        let out = common::binary::elicense(work.path())
            .arg("--keys")
            .arg(&keys)
            .arg("--data")
            .arg(&data)
            .args(["verify", "--json", "--at", &NOW.to_string(), "licence.txt"])
            .output()
            .unwrap();
        let cli: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        assert_eq!(&cli, http, "HTTP and CLI differ");
    }
}
