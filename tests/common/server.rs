//! The real server on an ephemeral loopback port (real sled ledger in a temp dir, TEST keys
//! made fresh), and a real HTTP client to drive it.
//!
//! Every test server runs through [`serve`] / [`serve_on`]: `elicense::server::serve`, the
//! real accept loop with its connection limits and timeouts, on a runtime of its own.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::issue::Issuer;
use elicense::keys::{add_years, KeyStore};
use elicense::ledger::Ledger;
use elicense::licence::codes::Uscc;
use elicense::licence::LicenceRequest;
use elicense::pki::AgencyIdentity;
use elicense::publish::StatusPublisher;
use elicense::server::{AppState, Limits};
use elicense::tokens::TokenStore;
use elicense::verify::Verifier;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::macros::datetime;

/// Agency A (holds three licences from the start).
pub const A: &str = "11350100MB00000012";
/// Agency B.
pub const B: &str = "11440300MB00000022";
/// Status-list base URL written into licences.
pub const BASE: &str = "http://127.0.0.1";
/// The server's clock.
pub const NOW: i64 = 1_767_196_800;

/// A running server.
pub struct Server {
    pub url: String,
    pub ledger: Arc<Ledger>,
    pub licences: Vec<(String, String)>,
    /// The paper seals of `licences`, in the same order.
    pub seals: Vec<String>,
    pub tokens: TokenStore,
    pub keys: PathBuf,
    pub data: PathBuf,
    /// The running service's state (its metrics, e.g. open connections).
    pub state: Arc<AppState>,
    running: Running,
    dirs: Option<(tempfile::TempDir, tempfile::TempDir)>,
}

/// `elicense::server::serve` running `state` on a thread with its own runtime; stopped (as on
/// SIGTERM) by [`Running::stop`] or on drop.
pub struct Running {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Serves `state` on a fresh loopback port.
pub fn serve(state: Arc<AppState>) -> Running {
    serve_on(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), state)
}

/// Serves `state` on `listener` (bound beforehand when the port must be known first, e.g.
/// for the status-list URIs written into licences).
pub fn serve_on(listener: std::net::TcpListener, state: Arc<AppState>) -> Running {
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let stop = async move {
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            };
            elicense::server::serve(listener, state, stop)
                .await
                .unwrap();
        });
        // Whatever is left (a connection past the drain deadline) goes with the runtime.
        rt.shutdown_timeout(std::time::Duration::from_secs(2));
    });
    Running {
        url,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

impl Running {
    /// Stops accepting, lets open connections finish (idle keep-alive ones are closed) and
    /// waits for the server to be gone.
    pub fn stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Default limits, rate limit off unless a test turns it on.
pub fn test_limits() -> Limits {
    Limits {
        rate_per_second: 0,
        ..Limits::default()
    }
}

pub fn start() -> Server {
    start_with(test_limits())
}

/// An agency `code` (the demo agency's name) added to `store`, valid for ten years from `t0`.
pub fn add_test_agency(store: &KeyStore, code: &str, t0: time::OffsetDateTime) {
    store
        .add_agency(
            &AgencyIdentity {
                name: "示例市市场监督管理局".into(),
                code: Uscc::parse(code).unwrap(),
                issuer_uri: format!("https://elicense.example/agencies/{code}"),
            },
            t0,
            add_years(t0, 10).unwrap(),
        )
        .unwrap();
}

/// A fresh key store in `dir`: a root named `root` and the agencies `codes`, valid from
/// 2025-01-01 for ten years (the root for twenty).
pub fn test_key_store(dir: &Path, root: &str, codes: &[&str]) -> KeyStore {
    let store = KeyStore::new(dir);
    let t0 = datetime!(2025-01-01 0:00 UTC);
    store.init_root(root, t0, 20).unwrap();
    for code in codes {
        add_test_agency(&store, code, t0);
    }
    store
}

pub fn start_with(limits: Limits) -> Server {
    let keys = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = test_key_store(keys.path(), "Server Test Root", &[A, B]);
    let ledger = Ledger::open(data.path()).unwrap();
    let issuer = Issuer::new(store.agency_key(&Uscc::parse(A).unwrap()).unwrap()).unwrap();
    let mut licences = Vec::new();
    let mut seals = Vec::new();
    for i in 0..3 {
        let mut r: LicenceRequest = serde_json::from_str(include_str!(
            "../../fixtures/requests/business_licence.json"
        ))
        .unwrap();
        r.serial = format!("90000{i}");
        let issued = issuer
            .issue_recorded(&ledger, &r, NOW - 100, BASE, A)
            .unwrap();
        seals.push(issued.seal);
        licences.push((issued.id.to_string(), issued.sd_jwt));
    }
    drop(ledger);
    let mut s = start_in(keys.path(), data.path(), limits);
    s.licences = licences;
    s.seals = seals;
    s.dirs = Some((keys, data));
    s
}

/// Starts a server on existing key and ledger directories (which it does not own).
pub fn start_in(keys: &Path, data: &Path, limits: Limits) -> Server {
    let store = KeyStore::new(keys);
    let ledger = Arc::new(Ledger::open(data).unwrap());
    let mut issuers = HashMap::new();
    for code in [A, B] {
        issuers.insert(
            code.to_owned(),
            Issuer::new(store.agency_key(&Uscc::parse(code).unwrap()).unwrap()).unwrap(),
        );
    }
    let tokens = TokenStore::new(keys);
    let state = AppState::builder(
        Verifier::new(store.trust_store().unwrap()),
        ledger.clone(),
        tokens.clone(),
        BASE,
    )
    .publisher(StatusPublisher::new(BASE, 86_400, 3_600))
    .issuers(issuers)
    .clock(|| NOW)
    .log_signer(Some(
        store.ledger_signer("elicense.example/test-log").unwrap(),
    ))
    .limits(limits)
    .build();
    let running = serve(state.clone());
    Server {
        url: running.url.clone(),
        ledger,
        licences: Vec::new(),
        seals: Vec::new(),
        tokens,
        keys: keys.to_owned(),
        data: data.to_owned(),
        state,
        running,
        dirs: None,
    }
}

impl Server {
    /// Graceful shutdown (as on SIGTERM): waits for the server to finish and releases the
    /// ledger. Gives back the directories it owned, if any.
    pub fn stop(mut self) -> Option<(tempfile::TempDir, tempfile::TempDir)> {
        self.shutdown();
        self.dirs.take()
    }

    fn shutdown(&mut self) {
        self.running.stop();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// A response, read whole.
pub struct Answer {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The error code of a JSON error answer (and checks the shape).
    pub fn error_code(&self) -> String {
        let j = self.json();
        assert!(j["error"]["message"].is_string(), "{}", self.body);
        j["error"]["code"].as_str().unwrap().to_owned()
    }
}

pub fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
    let mut r = r.unwrap();
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    Answer {
        status: r.status().as_u16(),
        headers,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

pub fn post(s: &Server, path: &str, content_type: &str, body: &str) -> Answer {
    answer(
        agent()
            .post(&format!("{}{path}", s.url))
            .header("content-type", content_type)
            .send(body),
    )
}

pub fn get(s: &Server, path: &str) -> Answer {
    answer(agent().get(&format!("{}{path}", s.url)).call())
}

pub fn post_auth(s: &Server, path: &str, token: Option<&str>, body: &str) -> Answer {
    let mut req = agent()
        .post(&format!("{}{path}", s.url))
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", &format!("Bearer {t}"));
    }
    answer(req.send(body))
}

/// Sends raw bytes and reads the status line and body (for requests a client library
/// will not make).
pub fn raw(s: &Server, request: &[u8]) -> (u16, String) {
    let (status, _, body) = raw_with_head(s, request);
    (status, body)
}

/// Like [`raw`], and gives the response head (status line and headers) too.
pub fn raw_with_head(s: &Server, request: &[u8]) -> (u16, String, String) {
    let addr = s.url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                out.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&out);
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head.lines().find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    });
                    if len.is_some_and(|l| body.len() >= l) {
                        break;
                    }
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_owned(), b.to_owned()))
        .unwrap_or_default();
    (status, head, body)
}
