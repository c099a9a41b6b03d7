//! Per-client rate limit on the public endpoints (GCRA, from the `governor` crate), keyed by
//! the client's IP address as the connection shows it.
//!
//! Behind a reverse proxy every client shares the proxy's address: rate-limit at the proxy
//! there, or set `limits.rate_per_second = 0` here.

use super::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Forget clients idle long enough to be back at full burst, every this many requests.
const PRUNE_EVERY: u64 = 4096;

/// The shared limiter.
#[derive(Clone)]
pub(super) struct Limiter {
    inner: Arc<RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>>,
    seen: Arc<AtomicU64>,
}

impl Limiter {
    /// A limiter allowing `per_second` sustained and `burst` at once per client; `None` when
    /// `per_second` is 0 (no limit).
    pub(super) fn new(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Some(Self {
            inner: Arc::new(RateLimiter::keyed(
                Quota::per_second(rate).allow_burst(burst),
            )),
            seen: Arc::new(AtomicU64::new(0)),
        })
    }

    /// `Ok` if `client` may make a request now, else the seconds until it may.
    fn check(&self, client: IpAddr) -> Result<(), u64> {
        if self.seen.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.inner.retain_recent();
        }
        self.inner.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// Middleware: 429 with `Retry-After` for a client over its rate.
pub(super) async fn limit(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    match limiter.check(client) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let mut res = ApiError::rate_limited(format!(
                "too many requests from this address; retry in {wait} s"
            ))
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&wait.max(1).to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_is_told_when_to_retry_and_others_are_not_affected() {
        let l = Limiter::new(1, 3).unwrap();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(l.check(a), Ok(()));
        }
        let wait = l.check(a).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
        assert_eq!(l.check(b), Ok(()));
        assert!(Limiter::new(0, 10).is_none());
    }
}
