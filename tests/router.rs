//! The router in-process (`tower::ServiceExt::oneshot`, no socket): limits and the one
//! JSON error shape.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use elicense::keys::KeyStore;
use elicense::ledger::Ledger;
use elicense::server::{app, AppState, Limits};
use elicense::tokens::TokenStore;
use elicense::verify::Verifier;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt as _;

struct Fixture {
    state: Arc<AppState>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

fn fixture(limits: Limits) -> Fixture {
    let keys = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = KeyStore::new(keys.path());
    store
        .init_root(
            "Router Test Root",
            time::macros::datetime!(2025-01-01 0:00 UTC),
            20,
        )
        .unwrap();
    let ledger = Arc::new(Ledger::open(data.path()).unwrap());
    let state = AppState::builder(
        Verifier::new(store.trust_store().unwrap()),
        ledger,
        TokenStore::new(keys.path()),
        "http://127.0.0.1",
    )
    .clock(|| 1_767_196_800)
    .limits(limits)
    .build();
    Fixture {
        state,
        _dirs: (keys, data),
    }
}

async fn send(f: &Fixture, req: Request<Body>) -> (StatusCode, Option<String>, Value) {
    let res = app(f.state.clone()).oneshot(req).await.unwrap();
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, content_type, json)
}

fn request(method: Method, uri: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, content_type)
        .body(body.into())
        .unwrap()
}

/// The error shape, exactly: `{"error": {"code", "message"}}`, as JSON.
fn assert_error(answer: &(StatusCode, Option<String>, Value), status: StatusCode, code: &str) {
    let (got, content_type, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert!(
        content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json")),
        "{content_type:?}"
    );
    let outer: Vec<_> = body.as_object().unwrap().keys().collect();
    assert_eq!(outer, ["error"], "{body}");
    let mut inner: Vec<_> = body["error"].as_object().unwrap().keys().collect();
    inner.sort();
    assert_eq!(inner, ["code", "message"], "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn every_refusal_is_the_one_json_error_shape() {
    let f = fixture(Limits {
        max_body: 1024,
        rate_per_second: 0,
        ..Limits::default()
    });
    let get = |uri: &str| request(Method::GET, uri, "text/plain", Body::empty());
    assert_error(
        &send(&f, get("/no-such-page")).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &send(&f, get("/v1/verify")).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let long = format!("/v1/trust-list?{}", "x".repeat(elicense::server::MAX_URI));
    assert_error(
        &send(&f, get(&long)).await,
        StatusCode::URI_TOO_LONG,
        "uri_too_long",
    );
    let big = "x".repeat(2048);
    assert_error(
        &send(&f, request(Method::POST, "/v1/verify", "text/plain", big)).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
    );
    assert_error(
        &send(
            &f,
            request(Method::POST, "/v1/verify", "application/xml", "<a/>"),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_error(
        &send(
            &f,
            request(Method::POST, "/v1/verify", "application/json", "{"),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "bad_json",
    );
    assert_error(
        &send(
            &f,
            request(Method::POST, "/v1/verify/image", "image/gif", "GIF89a"),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_error(
        &send(
            &f,
            request(Method::POST, "/v1/verify/image", "image/png", "not a png"),
        )
        .await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_image",
    );
    // The agency API without a token, and with an unknown one.
    let issue = request(Method::POST, "/v1/licences", "application/json", "{}");
    assert_error(
        &send(&f, issue).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let mut issue = request(
        Method::POST,
        "/v1/licences/x/revoke",
        "application/json",
        "",
    );
    issue
        .headers_mut()
        .insert(header::AUTHORIZATION, "Bearer elt_nope".parse().unwrap());
    assert_error(
        &send(&f, issue).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // A bad identifier is the identifier error.
    assert_error(
        &send(&f, get("/v1/licences/1.2.3/status")).await,
        StatusCode::BAD_REQUEST,
        "bad_identifier",
    );
}

#[tokio::test]
async fn an_unreadable_licence_is_a_verdict_not_an_error() {
    let f = fixture(Limits::default());
    let (status, _, v) = send(
        &f,
        request(Method::POST, "/v1/verify", "text/plain", "not a licence"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["verdict"], "invalid", "{v}");
    assert_eq!(v["reason"]["code"], "malformed", "{v}");
    assert_eq!(v["checked_at"], "2026-01-01T00:00:00+08:00", "{v}");
    let text = f.state.metrics().render();
    assert!(
        text.contains("elicense_verdicts_total{verdict=\"malformed\"} 1"),
        "{text}"
    );
}
