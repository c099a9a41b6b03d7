//! Public endpoints: verification, licence status, status lists, trust list, health.

use super::{blocking, ApiError, AppState};
use crate::jose::{b64_encode, b64u_encode, sha256};
use crate::licence::{self, identifier::LicenceId};
use crate::verdict::Verdict;
use crate::verify::{Options, StatusCheck};
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::borrow::Cow;
use std::sync::Arc;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is up", body = serde_json::Value)))]
pub(super) async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Ready: the ledger takes writes; gives its size (events on disk)", body = serde_json::Value), (status = 503, description = "Not ready: a ledger write failed and it is not reopened yet, or its filesystem is read-only or has less free space than `ledger.min_free_mb`; `error.code` names the cause (`storage_full`, `storage_read_only`, …) and `error.message` the remedy. Verification and status reads are still served.", body = super::schema::NotReadyBody)))]
pub(super) async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let size = state.ledger.size();
    match not_ready(&state) {
        None => Json(json!({ "status": "ready", "ledger_size": size })).into_response(),
        Some((code, message)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "error": { "code": code, "message": message },
                "status": "not_ready",
                "ledger_size": size,
            })),
        )
            .into_response(),
    }
}

/// Why the service cannot take writes now, as `(code, message)`.
fn not_ready(state: &AppState) -> Option<(&'static str, String)> {
    use crate::ledger::StorageCause;
    let dir = state.ledger.dir();
    if let Some(cause) = state.ledger.failure() {
        return Some((
            cause.code(),
            format!("a ledger write failed: {}", cause.explain_public()),
        ));
    }
    match crate::ledger::storage::free_space(dir) {
        Ok((_, true)) => Some((
            StorageCause::ReadOnly.code(),
            StorageCause::ReadOnly.explain_public(),
        )),
        Ok((free, false)) if free < state.ops.min_free_bytes => Some((
            StorageCause::NoSpace.code(),
            format!(
                "{} MiB free, less than ledger.min_free_mb ({} MiB): {}",
                free >> 20,
                state.ops.min_free_bytes >> 20,
                StorageCause::NoSpace.explain_public()
            ),
        )),
        Ok(_) => None,
        Err(e) => {
            let cause = StorageCause::of_io(&e);
            Some((cause.code(), cause.explain_public()))
        }
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text exposition: requests by route and status, latency histograms, verdict counts", content_type = "text/plain", body = String)))]
pub(super) async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// The request's `Content-Type`, if any: one shared header value, not a copy of the
/// whole header map as the `HeaderMap` extractor makes.
pub(super) struct ContentType(Option<HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for ContentType {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.headers.get(header::CONTENT_TYPE).cloned()))
    }
}

/// `POST /v1/verify` as JSON, borrowing the licence from the body where it has no escapes
/// (the fields of [`super::schema::VerifyRequest`], its schema).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyBody<'a> {
    #[serde(borrow)]
    licence: Cow<'a, str>,
    #[serde(default)]
    aud: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// A verify request's licence text, `aud` and `nonce`.
type VerifyText<'a> = (Cow<'a, str>, Option<String>, Option<String>);

/// Whether `value` starts with `prefix`, ignoring ASCII case.
fn starts_with_ignore_case(value: &[u8], prefix: &str) -> bool {
    value
        .get(..prefix.len())
        .is_some_and(|v| v.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// The licence text of a verify request (trimmed: a licence pasted from a file ends with
/// the newline `issue --out` writes), borrowed from `body` where it can be, with the
/// request's `aud` and `nonce`.
pub(super) fn body_text<'a>(
    content_type: Option<&HeaderValue>,
    body: &'a [u8],
) -> Result<VerifyText<'a>, ApiError> {
    let content_type = content_type.map_or(&b"text/plain"[..], HeaderValue::as_bytes);
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("bad_body", "the body is not UTF-8"))?;
    if starts_with_ignore_case(content_type, "application/json") {
        let r: VerifyBody<'a> = serde_json::from_str(text).map_err(|e| {
            ApiError::bad_request("bad_json", format!("expected {{\"licence\": \"…\"}}: {e}"))
        })?;
        let licence = match r.licence {
            Cow::Borrowed(l) => Cow::Borrowed(l.trim()),
            Cow::Owned(l) if l.trim().len() == l.len() => Cow::Owned(l),
            Cow::Owned(l) => Cow::Owned(l.trim().to_owned()),
        };
        Ok((licence, r.aud, r.nonce))
    } else if starts_with_ignore_case(content_type, "text/plain")
        || starts_with_ignore_case(content_type, "application/dc+sd-jwt")
    {
        Ok((Cow::Borrowed(text.trim()), None, None))
    } else {
        Err(ApiError::unsupported_media_type(
            "send application/json {\"licence\": …} or the licence as text/plain",
        ))
    }
}

/// The verdict on `licence`, checked now against the ledger.
fn check(state: &AppState, licence: &str, aud: Option<&str>, nonce: Option<&str>) -> Verdict {
    let opts = Options {
        at: (state.now)(),
        aud,
        nonce,
        status: StatusCheck::Ledger(&state.ledger),
    };
    Verdict::new(state.verifier.verify(licence, &opts), opts.at)
}

/// `POST /v1/verify`: 200 with the verdict for any readable request.
#[utoipa::path(post, path = "/v1/verify", tag = "public", request_body(description = "A licence (SD-JWT VC, compact or JSON serialization) or presentation: as JSON `{\"licence\": …}` or the text itself as text/plain", content((super::schema::VerifyRequest = "application/json"), (String = "text/plain"))), responses((status = 200, description = "The verdict: `valid`, `status_unknown` or `invalid` with a reason code; licence face fields when the signature holds", body = crate::verdict::Verdict), (status = 400, description = "Unreadable request", body = super::schema::ErrorBody), (status = 413, description = "Body too large", body = super::schema::ErrorBody), (status = 415, description = "Unsupported content type", body = super::schema::ErrorBody), (status = 429, description = "Rate limited", body = super::schema::ErrorBody)))]
pub(super) async fn verify(
    State(state): State<Arc<AppState>>,
    ContentType(content_type): ContentType,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Verdict>, ApiError> {
    let body = body?;
    let (licence, aud, nonce) = body_text(content_type.as_ref(), &body)?;
    // A licence of ordinary size verifies in well under 100 µs: on the async worker, which
    // saves two thread hand-offs a request. Large inputs (long presentations near the body
    // limit) go to the blocking pool so they never stall other requests.
    let verdict = if licence.len() <= INLINE_VERIFY_MAX {
        check(&state, &licence, aud.as_deref(), nonce.as_deref())
    } else {
        let licence = licence.into_owned();
        let state2 = state.clone();
        blocking(move || check(&state2, &licence, aud.as_deref(), nonce.as_deref())).await?
    };
    state.metrics.verdict(&verdict);
    Ok(Json(verdict))
}

/// Largest licence text verified on the async worker itself (bytes); larger ones go to the
/// blocking pool.
const INLINE_VERIFY_MAX: usize = 16 * 1024;

/// `GET /v1/licences/{identifier}/status`: the status only, never holder data.
#[utoipa::path(get, path = "/v1/licences/{identifier}/status", tag = "public", params(("identifier" = String, Path, description = "GB/T 36904 licence identifier")), responses((status = 200, description = "The licence's state, since when and why — never holder data", body = serde_json::Value), (status = 400, description = "Not a valid identifier (the message names the expected check character)", body = super::schema::ErrorBody), (status = 404, description = "No record of that licence", body = super::schema::ErrorBody), (status = 429, description = "Rate limited", body = super::schema::ErrorBody)))]
pub(super) async fn licence_status(
    State(state): State<Arc<AppState>>,
    Path(identifier): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = LicenceId::parse(&identifier)?;
    let record = state
        .ledger
        .record(&id.to_string())
        .map_err(|_| ApiError::unavailable("ledger_unavailable", "the ledger could not be read"))?
        .ok_or_else(|| {
            ApiError::not_found(
                "unknown_licence",
                "this service has no record of that licence",
            )
        })?;
    Ok(Json(json!({
        "licence_id": record.licence_id,
        "state": record.state,
        "since": licence::format_time(record.changed_at),
        "reason": record.reason.map(|r| r.name()),
        "admin_status": record.admin_status.map(|a| a.zh()),
    })))
}

/// `GET /v1/status-lists/{issuer}/{list}`: the signed Token Status List.
#[utoipa::path(get, path = "/v1/status-lists/{issuer}/{list}", tag = "public", params(("issuer" = String, Path, description = "Issuing agency USCC"), ("list" = u32, Path, description = "List number")), responses((status = 200, description = "Signed Token Status List (`statuslist+jwt`), with ETag, Cache-Control from its ttl, and CORS", content_type = "application/statuslist+jwt", body = String), (status = 304, description = "Not modified (If-None-Match)"), (status = 400, description = "Bad list number", body = super::schema::ErrorBody), (status = 404, description = "No such list", body = super::schema::ErrorBody), (status = 429, description = "Rate limited", body = super::schema::ErrorBody)))]
pub(super) async fn status_list(
    State(state): State<Arc<AppState>>,
    Path((issuer, list)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let list: u32 = list
        .parse()
        .map_err(|_| ApiError::bad_request("bad_list", "the list number is not a number"))?;
    // Re-signing changed lists compresses and signs up to 2^20 entries: off the async
    // workers.
    let s = state.clone();
    let refreshed = blocking(move || {
        let now = (s.now)();
        s.publisher
            .refresh(&s.ledger, &|c| s.issuers.get(c.as_str()), now)
            .map(|_| ())
    })
    .await?;
    // A list whose latest changes could not be signed is not served in its older form
    // (that would hide a revocation); other agencies' lists are.
    if let Err(e) = refreshed {
        tracing::warn!(target: "elicense::publish", error = %crate::verify::error_chain(&e), "status list refresh failed");
        if state.ledger.list_changed(&issuer, list) {
            return Err(ApiError::unavailable(
                "status_list_unavailable",
                "the status list has changes that could not be signed yet; retry shortly",
            ));
        }
    }
    let published = state.publisher.get(&issuer, list).ok_or_else(|| {
        ApiError::not_found(
            "unknown_status_list",
            format!("no status list {list} for {issuer}"),
        )
    })?;
    let etag = published.etag;
    let mut h = HeaderMap::new();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={}", published.ttl)) {
        h.insert(header::CACHE_CONTROL, v);
    }
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, h).into_response());
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/statuslist+jwt"),
    );
    Ok((StatusCode::OK, h, published.token).into_response())
}

/// `GET /v1/trust-list`: roots and issuer certificates with their `kid`.
#[utoipa::path(get, path = "/v1/trust-list", tag = "public", responses((status = 200, description = "Root certificates and issuer certificates with kid, agency, validity and public JWK", body = serde_json::Value), (status = 429, description = "Rate limited", body = super::schema::ErrorBody)))]
pub(super) async fn trust_list(State(state): State<Arc<AppState>>) -> Json<Value> {
    Json(trust_list_document(state.verifier.trust()))
}

/// The body of `GET /v1/trust-list` for `trust`: `{ "roots": [{ certificate, sha256 }],
/// "issuers": [{ kid, name, code, iss, not_before(_unix), not_after(_unix), jwk,
/// certificate }] }`, issuers sorted by agency and kid. The counter page's offline
/// verifier (`web/offline.js`) checks seals against it.
pub fn trust_list_document(trust: &crate::pki::TrustStore) -> Value {
    let roots: Vec<Value> = trust
        .roots()
        .map(|der| json!({ "certificate": b64_encode(der), "sha256": b64u_encode(sha256(der)) }))
        .collect();
    let mut known = trust.trusted_issuers();
    known.sort_by(|a, b| {
        (a.1.agency.code.as_str(), &a.1.kid).cmp(&(b.1.agency.code.as_str(), &b.1.kid))
    });
    let issuers: Vec<Value> = known
        .into_iter()
        .map(|(der, info)| {
            json!({
                "kid": info.kid,
                "name": info.agency.name,
                "code": info.agency.code,
                "iss": info.agency.issuer_uri,
                "not_before": licence::format_time(info.not_before),
                "not_after": licence::format_time(info.not_after),
                "not_before_unix": info.not_before,
                "not_after_unix": info.not_after,
                "jwk": info.public_key.to_jwk(),
                "certificate": b64_encode(der),
            })
        })
        .collect();
    json!({ "roots": roots, "issuers": issuers })
}

/// `GET /.well-known/jwt-vc-issuer/{path}`: SD-JWT VC issuer metadata for the issuer whose
/// `iss` has that path — its identifier and its keys as a JWK Set (each key with its `kid`
/// and certificate in `x5c` (the root is in `/v1/trust-list`), so a verifier can still check it against the root).
#[utoipa::path(get, path = "/.well-known/jwt-vc-issuer/{issuer_path}", tag = "public", params(("issuer_path" = String, Path, description = "The path of the issuer identifier `iss`, e.g. agencies/<USCC>")), responses((status = 200, description = "SD-JWT VC issuer metadata: `issuer` and `jwks`", body = serde_json::Value), (status = 404, description = "No such issuer", body = super::schema::ErrorBody), (status = 429, description = "Rate limited", body = super::schema::ErrorBody)))]
pub(super) async fn jwt_vc_issuer(
    State(state): State<Arc<AppState>>,
    Path(issuer_path): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let trust = state.verifier.trust();
    let path_of = |iss: &str| {
        iss.split_once("://")
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(_, p)| p.trim_end_matches('/').to_owned())
    };
    let wanted = issuer_path.trim_matches('/');
    let mut iss = None;
    let mut keys = Vec::new();
    for (der, info) in trust.trusted_issuers() {
        if path_of(&info.agency.issuer_uri).as_deref() != Some(wanted) {
            continue;
        }
        iss.get_or_insert_with(|| info.agency.issuer_uri.clone());
        let mut jwk = serde_json::to_value(info.public_key.to_jwk()).unwrap_or(Value::Null);
        jwk["kid"] = info.kid.clone().into();
        jwk["alg"] = "ES256".into();
        jwk["use"] = "sig".into();
        jwk["x5c"] = json!([b64_encode(der)]);
        keys.push(jwk);
    }
    let iss = iss.ok_or_else(|| {
        ApiError::not_found(
            "unknown_issuer",
            "no issuer of this service has that identifier; see /v1/trust-list",
        )
    })?;
    Ok(Json(json!({ "issuer": iss, "jwks": { "keys": keys } })))
}
