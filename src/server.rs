//! The HTTP service: public verification, licence status, status lists and the trust list.
//!
//! `fn app(state) -> Router`; every answer that is not a success is the JSON error shape
//! `{ "error": { "code", "message" } }` with a stable code — axum's own rejections included.

use crate::issue::Issuer;
use crate::jose::{b64_encode, b64u_encode, sha256};
use crate::ledger::Ledger;
use crate::ledger::{Action, AdminStatus, LedgerError, Reason};
use crate::licence::codes::Uscc;
use crate::licence::LicenceRequest;
use crate::licence::{self, identifier::LicenceId};
use crate::publish::StatusPublisher;
use crate::tokens::{authenticate, TokenStore};
use crate::verify::{LicenceStatus, Options, StatusCheck, VerifiedLicence, Verifier, VerifyError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

mod photo;

/// Largest request body accepted (but for images, see [`crate::scan::MAX_IMAGE_BYTES`]).
pub const MAX_BODY: usize = 128 * 1024;

/// What the handlers share.
pub struct AppState {
    /// Verifies licences.
    pub verifier: Verifier,
    /// The ledger (status source and store).
    pub ledger: Arc<Ledger>,
    /// Signs and keeps the status lists.
    pub publisher: StatusPublisher,
    /// Agencies whose keys this service holds, by USCC.
    pub issuers: HashMap<String, Issuer>,
    /// The current time, seconds since the epoch (injected so tests can move it).
    pub now: Box<dyn Fn() -> i64 + Send + Sync>,
    /// Agency API tokens (hashes only), re-read on every agency request so a revocation
    /// takes effect at once.
    pub tokens: TokenStore,
    /// Public base URL, for the status-list URIs of newly issued licences.
    pub public_url: String,
    /// The ledger's checkpoint signer (log name = its origin), if this service holds it.
    pub log_signer: Option<crate::ledger::checkpoint::NoteSigner>,
    /// Request limits.
    pub limits: Limits,
    /// Counters served at `/metrics`.
    pub metrics: crate::metrics::Metrics,
}

/// Limits that keep the service answering under load.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Requests handled at once; more are shed at once with 503 (no queue to build up).
    pub max_concurrent: usize,
    /// Longest a request may take before it is answered 408.
    pub timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent: 512,
            timeout: std::time::Duration::from_secs(10),
        }
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("issuers", &self.issuers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The router.
pub fn app(state: Arc<AppState>) -> Router {
    let limits = state.limits;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/readyz", get(readyz))
        .route("/v1/verify", post(verify))
        .route("/v1/verify/image", photo::route())
        .route("/v1/licences/{identifier}/status", get(licence_status))
        .route(
            "/v1/licences/{identifier}/qr",
            get(crate::print::licence_qr),
        )
        .route(
            "/v1/licences/{identifier}/print",
            get(crate::print::licence_print),
        )
        .route("/v1/status-lists/{issuer}/{list}", get(status_list))
        .route("/v1/trust-list", get(trust_list))
        .route("/v1/licences", post(issue_licence))
        .route("/v1/ledger/checkpoint", get(ledger_checkpoint))
        .route("/v1/ledger/proof/inclusion", get(inclusion_proof))
        .route("/v1/ledger/proof/consistency", get(consistency_proof))
        .route("/v1/licences/{identifier}/{action}", post(change_licence))
        .merge(crate::web::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .layer(
            tower::ServiceBuilder::new()
                // Outermost: whatever answered with an error, it is the JSON shape.
                .layer(axum::middleware::map_response(json_errors))
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(limits.max_concurrent.max(1))
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    limits.timeout,
                )),
        )
        .with_state(state)
}

/// Counts every request by its route pattern and status, with its latency.
async fn track(
    State(state): State<Arc<AppState>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    state
        .metrics
        .request(&route, res.status().as_u16(), started.elapsed());
    res
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

/// Load shedding's answer: 503, try again.
async fn overloaded(_: tower::BoxError) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the service is at capacity; retry shortly",
    )
}

/// Gives any error response that is not already JSON (timeouts, shed load, framework
/// rejections) the JSON error shape.
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let code = match status {
        StatusCode::REQUEST_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::SERVICE_UNAVAILABLE => "overloaded",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        s if s.is_client_error() => "bad_request",
        _ => "internal_error",
    };
    ApiError::new(
        status,
        code,
        status.canonical_reason().unwrap_or("error").to_owned(),
    )
    .into_response()
}

/// A failed request: HTTP status, stable code, message.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such endpoint; see /openapi.json",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(
        json!({ "status": "ready", "ledger_size": state.ledger.size() }),
    ))
}

/// A body that could not be read, as an API error.
fn body_error(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {MAX_BODY} bytes"),
        )
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_body", e.body_text())
    }
}

fn body_text(
    headers: &HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(String, Option<String>, Option<String>), ApiError> {
    let body = body.map_err(body_error)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/plain")
        .to_ascii_lowercase();
    let text = std::str::from_utf8(&body)
        .map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "bad_body", "the body is not UTF-8"))?;
    if content_type.starts_with("application/json") {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct VerifyRequest {
            licence: String,
            #[serde(default)]
            aud: Option<String>,
            #[serde(default)]
            nonce: Option<String>,
        }
        let r: VerifyRequest = serde_json::from_str(text).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_json",
                format!("expected {{\"licence\": \"…\"}}: {e}"),
            )
        })?;
        Ok((r.licence, r.aud, r.nonce))
    } else if content_type.starts_with("text/plain")
        || content_type.starts_with("application/dc+sd-jwt")
    {
        Ok((text.trim().to_owned(), None, None))
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send application/json {\"licence\": …} or the licence as text/plain",
        ))
    }
}

/// `POST /v1/verify`: 200 with the verdict for any readable request.
async fn verify(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let (licence, aud, nonce) = body_text(&headers, body)?;
    let state2 = state.clone();
    let verdict = tokio::task::spawn_blocking(move || {
        let opts = Options {
            at: (state2.now)(),
            aud: aud.as_deref(),
            nonce: nonce.as_deref(),
            status: StatusCheck::Ledger(&state2.ledger),
        };
        verdict_json(state2.verifier.verify(&licence, &opts), opts.at)
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "try again"))?;
    count_verdict(&state, &verdict);
    Ok(Json(verdict))
}

/// The answer of `/v1/verify` for a verification done at `at`.
fn verdict_json(result: Result<VerifiedLicence, VerifyError>, at: i64) -> Value {
    match result {
        Ok(v) => {
            let unknown = match v.status() {
                LicenceStatus::Unknown { reason } => Some(reason.clone()),
                _ => None,
            };
            let mut j = serde_json::to_value(&v).unwrap_or(Value::Null);
            j["verdict"] = if unknown.is_some() {
                "status_unknown".into()
            } else {
                "valid".into()
            };
            j
        }
        Err(e) => json!({
            "verdict": "invalid",
            "reason": { "code": e.code(), "message": e.to_string() },
            "checked_at": licence::format_time(at),
        }),
    }
}

/// Counts a verdict in the metrics.
fn count_verdict(state: &AppState, verdict: &Value) {
    let code = match verdict["verdict"].as_str() {
        Some("invalid") => verdict["reason"]["code"].as_str().unwrap_or("invalid"),
        Some(other) => other,
        None => "unknown",
    };
    state.metrics.verdict(code);
}

/// `GET /v1/licences/{identifier}/status`: the status only, never holder data.
async fn licence_status(
    State(state): State<Arc<AppState>>,
    Path(identifier): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = LicenceId::parse(&identifier)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_identifier", e.to_string()))?;
    let record = state
        .ledger
        .record(&id.to_string())
        .map_err(|_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger_unavailable",
                "the ledger could not be read",
            )
        })?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
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
async fn status_list(
    State(state): State<Arc<AppState>>,
    Path((issuer, list)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let list: u32 = list.parse().map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_list",
            "the list number is not a number",
        )
    })?;
    // Re-signing changed lists compresses and signs up to 2^20 entries: off the async
    // workers.
    let s = state.clone();
    tokio::task::spawn_blocking(move || {
        let now = (s.now)();
        s.publisher
            .refresh(&s.ledger, &|c| s.issuers.get(c.as_str()), now)
            .map(|_| ())
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "try again"))?
    .map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "status_list_unavailable",
            e.to_string(),
        )
    })?;
    let published = state.publisher.get(&issuer, list).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_status_list",
            format!("no status list {list} for {issuer}"),
        )
    })?;
    let etag = format!(
        "\"{}\"",
        &b64u_encode(sha256(published.token.as_bytes()))[..22]
    );
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

/// The agency a request acts for, from its bearer token.
pub(crate) fn agency(state: &AppState, headers: &HeaderMap) -> Result<Uscc, ApiError> {
    let unauthorized =
        |message: &str| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message.to_owned());
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("send Authorization: Bearer <agency token>"))?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| unauthorized("the Authorization header must be `Bearer <token>`"))?;
    let records = state.tokens.load().map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "tokens_unavailable",
            "the token store could not be read",
        )
    })?;
    authenticate(&records, token.trim()).ok_or_else(|| unauthorized("unknown or revoked token"))
}

fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    allow_empty: bool,
) -> Result<Option<T>, ApiError> {
    let body = body.map_err(body_error)?;
    if body.is_empty() && allow_empty {
        return Ok(None);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_json", e.to_string()))
}

fn ledger_error(e: LedgerError) -> ApiError {
    let (status, code) = match &e {
        LedgerError::UnknownLicence { .. } => (StatusCode::NOT_FOUND, "unknown_licence"),
        LedgerError::NotYourLicence { .. } => (StatusCode::FORBIDDEN, "forbidden"),
        LedgerError::Transition { .. } => (StatusCode::CONFLICT, "illegal_transition"),
        LedgerError::AlreadyIssued { .. } => (StatusCode::CONFLICT, "already_issued"),
        LedgerError::ReasonMismatch { .. }
        | LedgerError::AdminStatusMismatch { .. }
        | LedgerError::ReasonContradicts { .. }
        | LedgerError::NoteTooLong { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "ledger_unavailable"),
    };
    let message = match &e {
        LedgerError::Transition { source, .. } => format!("{e}: {source}"),
        _ => e.to_string(),
    };
    ApiError::new(status, code, message)
}

/// `POST /v1/licences` (agency): issue one licence, recorded in the ledger.
async fn issue_licence(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let agency = agency(&state, &headers)?;
    let request: LicenceRequest = json_body(body, false)?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            "send the licence request as JSON",
        )
    })?;
    let s = state.clone();
    let issued = tokio::task::spawn_blocking(move || {
        let issuer = s.issuers.get(agency.as_str()).ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "no_signing_key",
                "this service holds no signing key for your agency",
            )
        })?;
        issuer
            .issue_recorded(
                &s.ledger,
                &request,
                (s.now)(),
                &s.public_url,
                agency.as_str(),
            )
            .map_err(|e| match e {
                crate::issue::IssueError::Ledger(l) => ledger_error(l),
                other => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    crate::verify::error_chain(&other),
                ),
            })
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "try again"))??;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "licence_id": issued.id.to_string(), "sd_jwt": issued.sd_jwt })),
    )
        .into_response())
}

/// Body of a status change.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeRequest {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// `POST /v1/licences/{identifier}/revoke|suspend|reinstate` (agency, own licences only).
async fn change_licence(
    State(state): State<Arc<AppState>>,
    Path((identifier, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let action = match action.as_str() {
        "revoke" => Action::Revoke,
        "suspend" => Action::Suspend,
        "reinstate" => Action::Reinstate,
        _ => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                "the action is revoke, suspend or reinstate",
            ))
        }
    };
    let agency = agency(&state, &headers)?;
    let id = LicenceId::parse(&identifier)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_identifier", e.to_string()))?;
    let change: ChangeRequest = json_body(body, true)?.unwrap_or_default();
    let (reason, admin) = match change.reason.as_deref() {
        None => (None, None),
        Some(text) => match AdminStatus::parse(text) {
            Some(a) => (None, Some(a)),
            None => match Reason::ALL.into_iter().find(|r| r.name() == text) {
                Some(r) => (Some(r), None),
                None => {
                    return Err(ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_request",
                        format!("unknown reason {text:?}: use 暂扣/撤销/吊销/注销 or an RFC 5280 reason name"),
                    ))
                }
            },
        },
    };
    let s = state.clone();
    let (receipt, record) = tokio::task::spawn_blocking(move || {
        s.ledger.change(
            &id.to_string(),
            action,
            &agency,
            reason,
            admin,
            change.note.as_deref(),
            (s.now)(),
        )
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "try again"))?
    .map_err(ledger_error)?;
    Ok(Json(json!({
        "licence_id": record.licence_id,
        "state": record.state,
        "event": receipt.seq,
        "tree_size": receipt.tree_size,
    })))
}

/// `GET /v1/ledger/checkpoint`: the newest signed checkpoint (C2SP signed note), signing a
/// fresh one first if the log grew and this service holds the log key.
async fn ledger_checkpoint(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let s = state.clone();
    let note = tokio::task::spawn_blocking(move || -> Result<Option<String>, ApiError> {
        let unavailable = |_| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ledger_unavailable",
                "the ledger could not be read",
            )
        };
        let latest = s.ledger.latest_checkpoint().map_err(unavailable)?;
        let size = s.ledger.size();
        match (&s.log_signer, latest) {
            (Some(signer), latest) if latest.as_ref().is_none_or(|(n, _)| *n < size) => {
                let root = s.ledger.root_at(size).map_err(unavailable)?;
                let cp = crate::ledger::checkpoint::Checkpoint::new(signer.name(), size, root);
                let note =
                    crate::ledger::checkpoint::sign_checkpoint(&cp, signer).map_err(|e| {
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "signing_failed",
                            e.to_string(),
                        )
                    })?;
                s.ledger
                    .store_checkpoint(size, &note)
                    .map_err(unavailable)?;
                Ok(Some(note))
            }
            (_, latest) => Ok(latest.map(|(_, note)| note)),
        }
    })
    .await
    .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "try again"))??;
    let note = note.ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_checkpoint",
            "the ledger has no signed checkpoint yet",
        )
    })?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

fn query_u64(q: &HashMap<String, String>, name: &'static str) -> Result<Option<u64>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    format!("{name} must be a whole number"),
                )
            })
        })
        .transpose()
}

fn proof_error(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Merkle(m) => {
            ApiError::new(StatusCode::BAD_REQUEST, "bad_proof_request", m.to_string())
        }
        other => ledger_error(other),
    }
}

/// `GET /v1/ledger/proof/inclusion?seq=N[&size=M]`.
async fn inclusion_proof(
    State(state): State<Arc<AppState>>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let seq = query_u64(&q, "seq")?.ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "give ?seq=N (and optionally &size=M)",
        )
    })?;
    let current = state.ledger.size();
    let size = query_u64(&q, "size")?.unwrap_or(current);
    if seq >= size || size > current {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_proof_request",
            format!("need seq < size ≤ {current}"),
        ));
    }
    let proof = state
        .ledger
        .inclusion_proof(seq, size)
        .map_err(proof_error)?;
    let root = state.ledger.root_at(size).map_err(proof_error)?;
    let event = state
        .ledger
        .event(seq)
        .map_err(proof_error)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "unknown_event", "no such event"))?;
    let leaf = crate::ledger::merkle::leaf_hash(&event.to_bytes().unwrap_or_default());
    Ok(Json(json!({
        "seq": seq,
        "tree_size": size,
        "leaf_hash": b64_encode(leaf),
        "root": b64_encode(root),
        "inclusion_proof": proof.iter().map(b64_encode).collect::<Vec<_>>(),
    })))
}

/// `GET /v1/ledger/proof/consistency?from=OLD&to=NEW`.
async fn consistency_proof(
    State(state): State<Arc<AppState>>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (Some(from), Some(to)) = (query_u64(&q, "from")?, query_u64(&q, "to")?) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            "give ?from=OLD&to=NEW",
        ));
    };
    let current = state.ledger.size();
    if from > to || to > current {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_proof_request",
            format!("need from ≤ to ≤ {current}"),
        ));
    }
    let proof = state
        .ledger
        .consistency_proof(from, to)
        .map_err(proof_error)?;
    Ok(Json(json!({
        "from": from,
        "to": to,
        "from_root": b64_encode(state.ledger.root_at(from).map_err(proof_error)?),
        "to_root": b64_encode(state.ledger.root_at(to).map_err(proof_error)?),
        "consistency_proof": proof.iter().map(b64_encode).collect::<Vec<_>>(),
    })))
}

/// `GET /v1/trust-list`: roots and issuer certificates with their `kid`.
async fn trust_list(State(state): State<Arc<AppState>>) -> Json<Value> {
    let trust = state.verifier.trust();
    let roots: Vec<Value> = trust
        .roots()
        .map(|der| json!({ "certificate": b64_encode(der), "sha256": b64u_encode(sha256(der)) }))
        .collect();
    let mut known: Vec<_> = trust.issuers().collect();
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
    Json(json!({ "roots": roots, "issuers": issuers }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_responses_without_json_get_the_json_shape() {
        for (status, code) in [
            (StatusCode::REQUEST_TIMEOUT, "timeout"),
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            (StatusCode::BAD_REQUEST, "bad_request"),
        ] {
            let plain = (status, "plain text").into_response();
            let res = json_errors(plain).await;
            assert_eq!(res.status(), status);
            let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], code);
        }
        // Successes and JSON errors pass through untouched.
        let ok = json_errors((StatusCode::OK, "fine").into_response()).await;
        let body = axum::body::to_bytes(ok.into_body(), 1 << 16).await.unwrap();
        assert_eq!(&body[..], b"fine");
        let shaped = json_errors(not_found().await.into_response()).await;
        let body = axum::body::to_bytes(shaped.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("no such endpoint"));
    }

    #[tokio::test]
    async fn overload_is_a_503_in_the_json_shape() {
        let res = overloaded("full".into()).await.into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
