//! The accept loop: connections, their limits and their timeouts.
//!
//! Every accepted connection is either served or answered at once and closed, so open
//! file descriptors stay bounded:
//! - at most `limits.max_connections` are served at once (more: `503 too_many_connections`),
//!   at most `limits.max_connections_per_client` from one client address (more: `429`);
//! - each served connection is HTTP/1.1 by hyper over a [`Stream`] that checks every request
//!   head first (the JSON error shape for what hyper would refuse with an empty body) and
//!   enforces the header-read and idle timeouts;
//! - an accept error (EMFILE when the process is out of file descriptors, …) is logged and
//!   survived: the loop backs off briefly and goes on;
//! - on shutdown the loop stops accepting, every connection finishes its request in flight
//!   and closes, and the loop waits for them (up to a deadline).

mod framing;
mod stream;

use super::{AppState, Limits};
use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use framing::Refusal;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use stream::{Stream, TimedOut};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tower::ServiceExt as _;

/// Connections over a cap being answered at once; beyond this they are closed unanswered.
const REFUSING_AT_ONCE: usize = 64;
/// Longest an over-cap answer may take, writing and lingering.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
/// Pause after an accept error that is not about one connection (e.g. EMFILE).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// Longest the loop waits, at shutdown, for connections to finish.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// Serves `app(state)` on `listener` until `shutdown` completes; see the module docs.
pub(super) async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.limits;
    let router = super::app(state.clone());
    let caps = Caps::new(&limits);
    let refusing = Arc::new(Semaphore::new(REFUSING_AT_ONCE));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .keep_alive(true)
        // A client's end of stream is only acted on between requests: the stream reports it
        // there, after a refused head, so the answers to earlier requests are written first.
        .half_close(true)
        // Backstop only: the stream's own timers are tighter (see stream.rs).
        .header_read_timeout(limits.header_read_timeout + limits.idle_timeout);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut logs = Throttles::default();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => match caps.admit(peer.ip(), &state) {
                    Ok(ticket) => {
                        tasks.spawn(connection(
                            socket,
                            peer,
                            router.clone(),
                            builder.clone(),
                            limits,
                            stopped.clone(),
                            ticket,
                        ));
                    }
                    Err(over) => {
                        state.metrics.connection_refused(over.label());
                        logs.over_cap(over, peer, &limits);
                        // Answered if few are being answered already, else just closed.
                        if let Ok(permit) = refusing.clone().try_acquire_owned() {
                            tasks.spawn(refuse(socket, over, permit));
                        }
                    }
                },
                Err(e) if is_about_one_connection(&e) => {
                    tracing::debug!(target: "elicense::http", error = %e, "accept: connection gone before it was accepted");
                }
                Err(e) => {
                    logs.accept_error(&e, &limits);
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
    drop(listener);
    stop.send_replace(true);
    let deadline = DRAIN_DEADLINE.max(limits.timeout);
    let drained = tokio::time::timeout(deadline, async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            target: "elicense::http",
            open = tasks.len(),
            "shutdown: connections still open after {} s are closed",
            deadline.as_secs()
        );
        tasks.shutdown().await;
    }
    Ok(())
}

/// Serves one connection with hyper until it ends, then closes it.
async fn connection(
    socket: TcpStream,
    peer: SocketAddr,
    router: axum::Router,
    builder: http1::Builder,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
    ticket: Ticket,
) {
    let _ = socket.set_nodelay(true);
    let io = TokioIo::new(Stream::new(
        socket,
        limits.header_read_timeout,
        limits.idle_timeout,
    ));
    // The rate limiter and the request log read the client's address from here.
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            Box::pin(router.clone().oneshot(req))
        });
    let mut conn = builder.serve_connection(io, service);
    let mut stopping = false;
    let served = loop {
        tokio::select! {
            r = std::future::poll_fn(|cx| conn.poll_without_shutdown(cx)) => break r,
            _ = stopped.wait_for(|s| *s), if !stopping => {
                stopping = true;
                std::pin::Pin::new(&mut conn).graceful_shutdown();
            }
        }
    };
    if let Err(e) = served {
        tracing::debug!(target: "elicense::http", client = %peer.ip(), error = %e, "connection ended with an error");
    }
    let (refusal, timed_out) = conn.into_parts().io.into_inner().finish().await;
    if let Some(r) = refusal {
        ticket
            .state
            .metrics
            .request("unparsed", r.status.as_u16(), Duration::ZERO);
        // At most a line a second: a client can send garbage on many fresh connections.
        let allowed = REFUSED_HEADS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allow();
        if let Some(suppressed) = allowed {
            tracing::info!(
                target: "elicense::http",
                route = "unparsed",
                status = r.status.as_u16(),
                code = r.code,
                client = %peer.ip(),
                suppressed,
                "request refused before routing"
            );
        }
    }
    if let Some(t) = timed_out {
        tracing::debug!(target: "elicense::http", client = %peer.ip(), reason = ?t, "connection closed on its timeout");
        if t != TimedOut::Idle {
            ticket.state.metrics.connection_timed_out();
        }
    }
}

/// Which connection cap a new connection is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Over {
    Total,
    PerClient,
}

impl Over {
    fn label(self) -> &'static str {
        match self {
            Over::Total => "total",
            Over::PerClient => "per_client",
        }
    }

    fn refusal(self) -> Refusal {
        match self {
            Over::Total => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_connections",
                "the service has as many connections open as it serves (limits.max_connections); retry shortly",
            ),
            Over::PerClient => Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_connections",
                "this client address has as many connections open as one may (limits.max_connections_per_client); reuse an open connection or close one",
            ),
        }
    }
}

/// Answers a connection over a cap and closes it.
async fn refuse(mut socket: TcpStream, over: Over, _permit: OwnedSemaphorePermit) {
    let answer = over.refusal().response("retry-after: 1\r\n");
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        socket.write_all(&answer).await?;
        socket.shutdown().await?;
        // Read what the client sent until it closes, so that closing does not reset the
        // connection before it has read the answer.
        let mut sink = [0u8; 4096];
        while socket.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// The connection caps.
struct Caps {
    total: Arc<Semaphore>,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    per_client_max: usize,
}

/// One admitted connection: gives its place back when dropped.
struct Ticket {
    _total: OwnedSemaphorePermit,
    client: IpAddr,
    per_client: Arc<Mutex<HashMap<IpAddr, usize>>>,
    state: Arc<AppState>,
}

impl Caps {
    fn new(limits: &Limits) -> Self {
        Self {
            total: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            per_client: Arc::new(Mutex::new(HashMap::new())),
            per_client_max: limits.max_connections_per_client.max(1),
        }
    }

    fn admit(&self, client: IpAddr, state: &Arc<AppState>) -> Result<Ticket, Over> {
        let client = client.to_canonical();
        let mut counts = self
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let count = counts.get(&client).copied().unwrap_or(0);
        if count >= self.per_client_max {
            return Err(Over::PerClient);
        }
        let permit = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Over::Total)?;
        counts.insert(client, count + 1);
        state.metrics.connection_opened();
        Ok(Ticket {
            _total: permit,
            client,
            per_client: self.per_client.clone(),
            state: state.clone(),
        })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut counts = self
            .per_client
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.client);
            }
        }
        self.state.metrics.connection_closed();
    }
}

/// Accept errors that concern only the connection being accepted.
fn is_about_one_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    )
}

/// Log lines about request heads refused before routing (shared by every connection).
static REFUSED_HEADS: std::sync::Mutex<Throttle> = std::sync::Mutex::new(Throttle {
    last: None,
    suppressed: 0,
});

/// At most one log line a second for each kind of trouble, with how many were not logged.
#[derive(Debug, Default)]
struct Throttle {
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// `Some(suppressed since the last line)` if a line may be logged now.
    fn allow(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1))
        {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}

#[derive(Debug, Default)]
struct Throttles {
    total: Throttle,
    per_client: Throttle,
    accept: Throttle,
}

impl Throttles {
    fn over_cap(&mut self, over: Over, peer: SocketAddr, limits: &Limits) {
        let (throttle, cap, key) = match over {
            Over::Total => (
                &mut self.total,
                limits.max_connections,
                "limits.max_connections",
            ),
            Over::PerClient => (
                &mut self.per_client,
                limits.max_connections_per_client,
                "limits.max_connections_per_client",
            ),
        };
        if let Some(suppressed) = throttle.allow() {
            tracing::warn!(
                target: "elicense::http",
                client = %peer.ip(),
                cap,
                suppressed,
                "connection refused: {key} = {cap} reached (raise it if this load is legitimate)"
            );
        }
    }

    fn accept_error(&mut self, e: &std::io::Error, limits: &Limits) {
        let Some(suppressed) = self.accept.allow() else {
            return;
        };
        // EMFILE / ENFILE (the same numbers on Linux, the BSDs and macOS).
        if matches!(e.raw_os_error(), Some(23 | 24)) {
            tracing::error!(
                target: "elicense::http",
                error = %e,
                suppressed,
                "accept failed: out of file descriptors; raise the open-file limit (ulimit -n, systemd LimitNOFILE) well above limits.max_connections = {}, or lower it",
                limits.max_connections
            );
        } else {
            tracing::error!(
                target: "elicense::http",
                error = %e,
                suppressed,
                "accept failed; retrying"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_throttle_logs_once_a_second_and_counts_the_rest() {
        let mut t = Throttle::default();
        assert_eq!(t.allow(), Some(0));
        assert_eq!(t.allow(), None);
        assert_eq!(t.allow(), None);
        t.last = t.last.map(|l| l - Duration::from_secs(2));
        assert_eq!(t.allow(), Some(2));
    }

    #[test]
    fn over_cap_answers_are_the_json_shape() {
        for (over, status) in [(Over::Total, 503), (Over::PerClient, 429)] {
            let text = String::from_utf8(over.refusal().response("retry-after: 1\r\n")).unwrap();
            assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text}");
            assert!(text.contains("\r\nretry-after: 1\r\n"), "{text}");
            assert!(text.contains("\"code\":\"too_many_connections\""), "{text}");
        }
    }
}
