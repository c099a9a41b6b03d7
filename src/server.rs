//! The HTTP service: public verification, licence status, status lists and the trust list.
//!
//! `fn app(state) -> Router`; every answer that is not a success is the JSON error shape
//! `{ "error": { "code", "message" } }` with a stable code — axum's own rejections included.

mod agency;
mod auth;
mod conn;
mod error;
pub(crate) use auth::Agency;
pub(crate) use error::blocking;
pub use error::ApiError;
mod ledger_api;
pub mod metrics;
pub mod openapi;
mod public;
pub mod schema;
pub use public::trust_list_document;
mod ratelimit;
mod track;
pub mod web;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use std::sync::Arc;

mod photo;
mod print;
mod state;
pub use state::{AppState, AppStateBuilder};

/// Largest request body accepted (but for images, see [`crate::scan::MAX_IMAGE_BYTES`]).
pub const MAX_BODY: usize = 128 * 1024;

/// Free space on the ledger's filesystem below which the service is not ready, MiB.
pub const DEFAULT_MIN_FREE_MB: u64 = 32;

/// Readiness and request-log settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ops {
    /// Free bytes on the ledger's filesystem below which `/readyz` answers 503.
    pub min_free_bytes: u64,
    /// Log one in this many successful requests (1: all, 0: none); failures always.
    pub request_log_sample: u32,
}

impl Default for Ops {
    fn default() -> Self {
        Self {
            min_free_bytes: DEFAULT_MIN_FREE_MB << 20,
            request_log_sample: 1,
        }
    }
}

/// Whether a request answered `status` is logged, one in `sample` successes being logged.
fn sampled(status: u16, sample: u32) -> bool {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEEN: AtomicU32 = AtomicU32::new(0);
    if status >= 400 || sample == 1 {
        return true;
    }
    sample != 0 && SEEN.fetch_add(1, Ordering::Relaxed).is_multiple_of(sample)
}

/// Limits that keep the service answering under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests handled at once; more are shed at once with 503 (no queue to build up).
    pub max_concurrent: usize,
    /// Longest a request may take before it is answered 408.
    pub timeout: std::time::Duration,
    /// Largest request body, bytes (a batch may be `max_batch` times larger, up to 16 MiB).
    pub max_body: usize,
    /// Most licences in one batch request.
    pub max_batch: usize,
    /// Public endpoints: sustained requests per second per client address (0 = no limit).
    pub rate_per_second: u32,
    /// Public endpoints: burst per client address.
    pub rate_burst: u32,
    /// Connections open at once; more are answered 503 `too_many_connections` and closed.
    pub max_connections: usize,
    /// Connections open at once from one client address; more are answered 429
    /// `too_many_connections` and closed.
    pub max_connections_per_client: usize,
    /// Longest a client may take to send a request's head (request line and headers): from
    /// the connection's accept for its first request, from the first byte for later ones.
    pub header_read_timeout: std::time::Duration,
    /// Longest a keep-alive connection may wait for its next request (or stall a body or a
    /// response) before it is closed.
    pub idle_timeout: std::time::Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_concurrent: 512,
            timeout: std::time::Duration::from_secs(10),
            max_body: MAX_BODY,
            max_batch: 100,
            rate_per_second: 100,
            rate_burst: 200,
            max_connections: 768,
            max_connections_per_client: 64,
            header_read_timeout: std::time::Duration::from_secs(10),
            idle_timeout: std::time::Duration::from_secs(60),
        }
    }
}

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; rate limited per client address.
    Public,
    /// An agency with its bearer token.
    Agency,
    /// Health and metrics probes: not rate limited.
    Operations,
    /// The counter page's static files: not rate limited.
    Page,
}

/// One endpoint the router serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// HTTP method.
    pub method: Method,
    /// Path pattern, axum syntax (`{name}` for a parameter).
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// Largest request body it accepts, bytes.
    pub body_limit: usize,
}

type Handler = MethodRouter<Arc<AppState>>;

/// Every endpoint with its handler: the one table the router is built from (and that the
/// OpenAPI test compares with the document).
fn table(limits: &Limits) -> Vec<(Endpoint, Handler)> {
    use Access::{Agency, Operations, Public};
    // A batch may carry `max_batch` bodies, up to 16 MiB, but never less than one body.
    let batch_body = limits
        .max_body
        .saturating_mul(limits.max_batch)
        .min(16 << 20)
        .max(limits.max_body);
    let e = |method: Method, path: &'static str, access: Access, handler: Handler| {
        let body_limit = match path {
            "/v1/licences/batch" => batch_body,
            "/v1/verify/image" => crate::scan::MAX_IMAGE_BYTES,
            _ => limits.max_body,
        };
        (
            Endpoint {
                method,
                path,
                access,
                body_limit,
            },
            handler,
        )
    };
    let mut table = vec![
        e(Method::GET, "/healthz", Operations, get(public::healthz)),
        e(Method::GET, "/readyz", Operations, get(public::readyz)),
        e(Method::GET, "/metrics", Operations, get(public::metrics)),
        e(Method::GET, "/openapi.json", Public, get(openapi::serve)),
        e(Method::POST, "/v1/verify", Public, post(public::verify)),
        e(Method::POST, "/v1/verify/image", Public, photo::route()),
        e(
            Method::GET,
            "/v1/licences/{identifier}/status",
            Public,
            get(public::licence_status),
        ),
        e(
            Method::GET,
            "/v1/status-lists/{issuer}/{list}",
            Public,
            get(public::status_list),
        ),
        e(
            Method::GET,
            "/v1/trust-list",
            Public,
            get(public::trust_list),
        ),
        e(
            Method::GET,
            "/.well-known/jwt-vc-issuer/{*issuer_path}",
            Public,
            get(public::jwt_vc_issuer),
        ),
        e(
            Method::GET,
            "/v1/ledger/checkpoint",
            Public,
            get(ledger_api::ledger_checkpoint),
        ),
        e(
            Method::GET,
            "/v1/ledger/proof/inclusion",
            Public,
            get(ledger_api::inclusion_proof),
        ),
        e(
            Method::GET,
            "/v1/ledger/proof/consistency",
            Public,
            get(ledger_api::consistency_proof),
        ),
        e(
            Method::POST,
            "/v1/licences",
            Agency,
            post(agency::issue_licence),
        ),
        e(
            Method::GET,
            "/v1/licences/{identifier}/qr",
            Agency,
            get(print::licence_qr),
        ),
        e(
            Method::GET,
            "/v1/licences/{identifier}/print",
            Agency,
            get(print::licence_print),
        ),
        e(
            Method::POST,
            "/v1/licences/batch",
            Agency,
            post(agency::issue_batch),
        ),
        e(
            Method::POST,
            "/v1/licences/{identifier}/revoke",
            Agency,
            post(agency::revoke),
        ),
        e(
            Method::POST,
            "/v1/licences/{identifier}/suspend",
            Agency,
            post(agency::suspend),
        ),
        e(
            Method::POST,
            "/v1/licences/{identifier}/reinstate",
            Agency,
            post(agency::reinstate),
        ),
    ];
    for (path, _) in web::paths() {
        table.push(e(Method::GET, path, Access::Page, web::handler(path)));
    }
    table
}

/// Every endpoint the router serves, in the order it registers them.
pub fn endpoints() -> Vec<Endpoint> {
    table(&Limits::default())
        .into_iter()
        .map(|(e, _)| e)
        .collect()
}

/// The router.
pub fn app(state: Arc<AppState>) -> Router {
    let limits = state.limits;
    let limiter = ratelimit::Limiter::new(limits.rate_per_second, limits.rate_burst);
    let mut router = Router::new();
    for (endpoint, handler) in table(&limits) {
        // A declared Content-Length over the limit is refused before the body is read;
        // a body that runs over it while streaming is cut off at the limit.
        let handler: Handler = handler.layer(DefaultBodyLimit::max(endpoint.body_limit));
        // (The photo route refuses a declared size itself, with its own error code.)
        let handler: Handler = if endpoint.path == "/v1/verify/image" {
            handler
        } else {
            handler.layer(tower_http::limit::RequestBodyLimitLayer::new(
                endpoint.body_limit,
            ))
        };
        let handler = match (endpoint.access, &limiter) {
            (Access::Public, Some(l)) => handler.route_layer(axum::middleware::from_fn_with_state(
                l.clone(),
                ratelimit::limit,
            )),
            _ => handler,
        };
        router = router.route(endpoint.path, handler);
    }
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            tower::ServiceBuilder::new()
                // Outermost, so timed-out and shed requests are counted and logged too; it
                // also refuses over-long targets and headers, and gives every error the
                // JSON shape.
                .layer(track::TrackLayer::new(state.clone()))
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                // `Router::layer` wraps every route on its own: the limit must share one
                // semaphore across them to bound the whole service.
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    limits.max_concurrent.max(1),
                ))
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    StatusCode::REQUEST_TIMEOUT,
                    limits.timeout,
                )),
        )
        .with_state(state)
}

/// Serves `app(state)` on `listener` (with each client's address, for rate limiting) until
/// `shutdown` completes; requests in flight are finished first. Connections are capped and
/// timed by `state.limits`, and every request head is checked before hyper parses it (see
/// `conn.rs`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    conn::serve(listener, state, shutdown).await
}

/// Longest request target (path and query) accepted.
pub const MAX_URI: usize = 4096;
/// Most header bytes (names and values) accepted in one request.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Most headers accepted in one request.
pub const MAX_HEADERS: usize = 100;

/// Load shedding's answer: 503, try again.
async fn overloaded(_: tower::BoxError) -> ApiError {
    ApiError::overloaded()
}

async fn not_found() -> ApiError {
    ApiError::not_found("not_found", "no such endpoint; see /openapi.json")
}

async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::response::IntoResponse;

    #[tokio::test]
    async fn error_responses_without_json_get_the_json_shape() {
        for (status, code) in [
            (StatusCode::REQUEST_TIMEOUT, "timeout"),
            (StatusCode::SERVICE_UNAVAILABLE, "overloaded"),
            (StatusCode::BAD_REQUEST, "bad_request"),
        ] {
            let plain = (status, "plain text").into_response();
            let res = track::json_errors(plain);
            assert_eq!(res.status(), status);
            let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(v["error"]["code"], code);
        }
        // Successes and JSON errors pass through untouched.
        let ok = track::json_errors((StatusCode::OK, "fine").into_response());
        let body = axum::body::to_bytes(ok.into_body(), 1 << 16).await.unwrap();
        assert_eq!(&body[..], b"fine");
        let shaped = track::json_errors(not_found().await.into_response());
        let body = axum::body::to_bytes(shaped.into_body(), 1 << 16)
            .await
            .unwrap();
        assert!(String::from_utf8_lossy(&body).contains("no such endpoint"));
    }

    #[test]
    fn a_body_limit_over_the_batch_cap_is_accepted_not_a_panic() {
        for max_body in [1024, MAX_BODY, 32 << 20, 64 << 20] {
            let limits = Limits {
                max_body,
                ..Limits::default()
            };
            let batch = table(&limits)
                .into_iter()
                .find(|(e, _)| e.path == "/v1/licences/batch")
                .map(|(e, _)| e.body_limit)
                .unwrap();
            assert!(batch >= max_body, "{max_body}: {batch}");
            assert!(batch <= (16 << 20).max(max_body), "{max_body}: {batch}");
        }
    }

    #[test]
    fn request_logs_are_sampled_but_failures_always_logged() {
        assert!((0..50).all(|_| sampled(200, 1)));
        assert!((0..50).all(|_| sampled(503, 0) && sampled(404, 1000)));
        assert!((0..50).all(|_| !sampled(200, 0)));
        let logged = (0..1000).filter(|_| sampled(200, 10)).count();
        assert!((99..=101).contains(&logged), "{logged}");
    }

    #[tokio::test]
    async fn overload_is_a_503_in_the_json_shape() {
        let res = overloaded("full".into()).await.into_response();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
