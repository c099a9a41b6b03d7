//! Service metrics in the Prometheus text format: requests by route and status, request
//! latency histograms by route, and verification verdicts by code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Latency histogram bucket bounds, seconds.
const BUCKETS: [f64; 10] = [
    0.000_25, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 1.0,
];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Inner {
    /// By route, then status: looked up by `&str`, so a request allocates nothing once
    /// its route has been seen.
    requests: BTreeMap<String, BTreeMap<u16, u64>>,
    latency: BTreeMap<String, Histogram>,
    verdicts: BTreeMap<String, u64>,
    connections_refused: BTreeMap<&'static str, u64>,
    connections_timed_out: u64,
}

/// Counters shared by the handlers.
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
    open_connections: AtomicUsize,
}

impl Metrics {
    /// Records one request to `route` (the matched route pattern, never the raw path, so
    /// identifiers do not end up in metrics) answered `status` after `took`.
    pub fn request(&self, route: &str, status: u16, took: Duration) {
        let mut m = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let by_status = match m.requests.get_mut(route) {
            Some(s) => s,
            None => m.requests.entry(route.to_owned()).or_default(),
        };
        *by_status.entry(status).or_default() += 1;
        let h = match m.latency.get_mut(route) {
            Some(h) => h,
            None => m.latency.entry(route.to_owned()).or_default(),
        };
        let secs = took.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Records one verification verdict, by its code (`valid`, `status_unknown`, or the
    /// invalid reason's code).
    pub fn verdict(&self, verdict: &crate::verdict::Verdict) {
        let mut m = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let code = verdict.code();
        match m.verdicts.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                m.verdicts.insert(code.to_owned(), 1);
            }
        }
    }

    /// A connection was admitted.
    pub fn connection_opened(&self) {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
    }

    /// An admitted connection closed.
    pub fn connection_closed(&self) {
        let _ = self
            .open_connections
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }

    /// Connections being served now.
    pub fn open_connections(&self) -> usize {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// A connection over a cap (`total` or `per_client`) was answered and closed.
    pub fn connection_refused(&self, cap: &'static str) {
        let mut m = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        *m.connections_refused.entry(cap).or_default() += 1;
    }

    /// A connection was closed on its header-read timeout, or for a stalled body or response.
    pub fn connection_timed_out(&self) {
        let mut m = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        m.connections_timed_out += 1;
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let m = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        out.push_str("# HELP elicense_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE elicense_http_requests_total counter\n");
        for ((route, status), n) in m
            .requests
            .iter()
            .flat_map(|(r, by)| by.iter().map(move |(s, n)| ((r, s), n)))
        {
            let _ = writeln!(
                out,
                "elicense_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        out.push_str(
            "# HELP elicense_http_request_duration_seconds HTTP request latency by route.\n",
        );
        out.push_str("# TYPE elicense_http_request_duration_seconds histogram\n");
        for (route, h) in &m.latency {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "elicense_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "elicense_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "elicense_http_request_duration_seconds_sum{{route=\"{route}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "elicense_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                h.count
            );
        }
        out.push_str("# HELP elicense_verdicts_total Verification verdicts by code.\n");
        out.push_str("# TYPE elicense_verdicts_total counter\n");
        for (code, n) in &m.verdicts {
            let _ = writeln!(out, "elicense_verdicts_total{{verdict=\"{code}\"}} {n}");
        }
        out.push_str("# HELP elicense_open_connections Client connections being served.\n");
        out.push_str("# TYPE elicense_open_connections gauge\n");
        let _ = writeln!(out, "elicense_open_connections {}", self.open_connections());
        out.push_str(
            "# HELP elicense_connections_refused_total Connections over a cap, answered and closed.\n",
        );
        out.push_str("# TYPE elicense_connections_refused_total counter\n");
        for (cap, n) in &m.connections_refused {
            let _ = writeln!(
                out,
                "elicense_connections_refused_total{{cap=\"{cap}\"}} {n}"
            );
        }
        out.push_str("# HELP elicense_connections_timed_out_total Connections closed on the header-read timeout or a stalled body or response.\n");
        out.push_str("# TYPE elicense_connections_timed_out_total counter\n");
        let _ = writeln!(
            out,
            "elicense_connections_timed_out_total {}",
            m.connections_timed_out
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_histograms_render() {
        let m = Metrics::default();
        m.request("/v1/verify", 200, Duration::from_micros(300));
        m.request("/v1/verify", 200, Duration::from_millis(3));
        m.request("/v1/verify", 400, Duration::from_micros(100));
        let forged = crate::verdict::Verdict::invalid(&crate::verify::VerifyError::BadSignature, 0);
        let revoked = crate::verdict::Verdict::invalid(
            &crate::verify::VerifyError::Revoked {
                at: 0,
                from_list: false,
                reason: crate::ledger::Reason::Unspecified,
                admin_status: None,
            },
            0,
        );
        m.verdict(&forged);
        m.verdict(&revoked);
        m.verdict(&forged);
        let text = m.render();
        assert!(
            text.contains("elicense_http_requests_total{route=\"/v1/verify\",status=\"200\"} 2")
        );
        assert!(
            text.contains("elicense_http_requests_total{route=\"/v1/verify\",status=\"400\"} 1")
        );
        assert!(text.contains(
            "elicense_http_request_duration_seconds_bucket{route=\"/v1/verify\",le=\"0.0005\"} 2"
        ));
        assert!(text.contains(
            "elicense_http_request_duration_seconds_bucket{route=\"/v1/verify\",le=\"+Inf\"} 3"
        ));
        assert!(text.contains("elicense_verdicts_total{verdict=\"bad_signature\"} 2"));
        assert!(text.contains("elicense_verdicts_total{verdict=\"revoked\"} 1"));
        m.connection_opened();
        m.connection_opened();
        m.connection_closed();
        m.connection_refused("per_client");
        let text = m.render();
        assert!(text.contains("elicense_open_connections 1\n"), "{text}");
        assert!(text.contains("elicense_connections_refused_total{cap=\"per_client\"} 1"));
    }
}
