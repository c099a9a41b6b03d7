//! The outer per-request layer, one hand-written service instead of three `from_fn` /
//! `map_response` middlewares (each of which cloned the whole service stack below it and
//! boxed it and its future on every request):
//!
//! - refuses over-long request targets and header sections before anything else runs
//!   (the guard);
//! - gives every request an id (a well-formed incoming `X-Request-Id`, or one made here),
//!   echoed in the response;
//! - gives any error response that is not already JSON (timeouts, shed load, framework
//!   rejections) the JSON error shape;
//! - counts the request by route pattern and status with its latency, and logs one line
//!   for it. Logs carry the route pattern, never the raw path, query, headers or body:
//!   identifiers, tokens and licence contents stay out of the logs.
//!
//! It sits outermost on every route, so timed-out and shed requests are counted and logged
//! too.

use super::{sampled, ApiError, AppState, MAX_HEADERS, MAX_HEADER_BYTES, MAX_URI};
use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Layer of [`Track`].
#[derive(Clone)]
pub(super) struct TrackLayer {
    state: Arc<AppState>,
}

impl TrackLayer {
    pub(super) fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

impl<S> tower::Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            state: self.state.clone(),
            inner,
        }
    }
}

/// See the module documentation.
#[derive(Clone)]
pub(super) struct Track<S> {
    state: Arc<AppState>,
    inner: S,
}

impl<S> tower::Service<Request> for Track<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The instance that was made ready is the one called: no clone of the stack below.
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The route pattern is an `Arc<str>` inside `MatchedPath`: a reference count, not
        // a copy.
        let route = req.extensions().get::<MatchedPath>().cloned();
        // Taken from a well-formed `X-Request-Id`, or made here; echoed in the response.
        let id = request_id(req.headers().get("x-request-id"));
        let method = req.method().clone();
        let client = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let started = std::time::Instant::now();
        let inner = match guard(&req) {
            Some(refused) => Err(refused),
            None => Ok(self.inner.call(req)),
        };
        let state = self.state.clone();
        Box::pin(async move {
            let res = match inner {
                Ok(fut) => json_errors(fut.await?),
                Err(refused) => refused,
            };
            Ok(finish(&state, res, route, id, &method, client, started))
        })
    }
}

/// Counts, logs and tags the response with its request id.
fn finish(
    state: &AppState,
    mut res: Response,
    route: Option<MatchedPath>,
    id: Option<HeaderValue>,
    method: &axum::http::Method,
    client: Option<std::net::IpAddr>,
    started: std::time::Instant,
) -> Response {
    let elapsed = started.elapsed();
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let status = res.status().as_u16();
    state.metrics.request(route, status, elapsed);
    if sampled(status, state.ops.request_log_sample) {
        let request_id = id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("");
        tracing::info!(
        target: "elicense::http",
        request_id = %request_id,
        method = %method,
        route = %route,
        status,
        micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
        client = ?client,
        "request"
        );
    }
    if let Some(v) = id {
        res.headers_mut().insert("x-request-id", v);
    }
    res
}

/// The request's id: a well-formed incoming one (1–64 of `A–Z a–z 0–9 - _ .`, shared, not
/// copied), else `<random prefix>-<counter>`.
pub(super) fn request_id(incoming: Option<&HeaderValue>) -> Option<HeaderValue> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let given = incoming.filter(|v| {
        (1..=64).contains(&v.len())
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    });
    if let Some(v) = given {
        return Some(v.clone());
    }
    let prefix = PREFIX.get_or_init(|| {
        let mut b = [0u8; 6];
        let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b);
        crate::jose::b64u_encode(b)
    });
    // A `String` becomes the header value without another copy.
    HeaderValue::try_from(format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))).ok()
}

/// Refuses over-long request targets and header sections: the answer, or `None` to go on.
fn guard(req: &Request) -> Option<Response> {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI {
        return Some(
            ApiError::uri_too_long(format!(
                "the request target is {uri_len} bytes; at most {MAX_URI}"
            ))
            .into_response(),
        );
    }
    let count = req.headers().len();
    if count > MAX_HEADERS {
        return Some(
            ApiError::headers_too_large(
                "too_many_headers",
                format!("the request has {count} headers; at most {MAX_HEADERS}"),
            )
            .into_response(),
        );
    }
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Some(
            ApiError::headers_too_large(
                "headers_too_large",
                format!("the headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES}"),
            )
            .into_response(),
        );
    }
    None
}

/// Gives any error response that is not already JSON (timeouts, shed load, framework
/// rejections) the JSON error shape.
pub(super) fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    ApiError::of_status(status).into_response()
}
