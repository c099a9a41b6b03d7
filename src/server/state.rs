//! What the handlers share, built once with [`AppState::builder`].

use super::metrics::Metrics;
use super::{Limits, Ops};
use crate::issue::Issuer;
use crate::ledger::checkpoint::NoteSigner;
use crate::ledger::Ledger;
use crate::publish::StatusPublisher;
use crate::tokens::TokenStore;
use crate::verify::Verifier;
use std::collections::HashMap;
use std::sync::Arc;

/// What the handlers share. Fields are the server's own; build it with
/// [`AppState::builder`].
pub struct AppState {
    /// Verifies licences.
    pub(super) verifier: Verifier,
    /// The ledger (status source and store).
    pub(super) ledger: Arc<Ledger>,
    /// Signs and keeps the status lists.
    pub(super) publisher: StatusPublisher,
    /// Agencies whose keys this service holds, by USCC.
    pub(super) issuers: HashMap<String, Issuer>,
    /// The current time, seconds since the epoch (injected so tests can move it).
    pub(super) now: Box<dyn Fn() -> i64 + Send + Sync>,
    /// Agency API tokens (hashes only), re-read on every agency request so a revocation
    /// takes effect at once.
    pub(super) tokens: TokenStore,
    /// Public base URL, for the status-list URIs of newly issued licences.
    pub(super) public_url: String,
    /// The ledger's checkpoint signer (log name = its origin), if this service holds it.
    pub(super) log_signer: Option<NoteSigner>,
    /// Request limits.
    pub(super) limits: Limits,
    /// Counters served at `/metrics`.
    pub(super) metrics: Metrics,
    /// Readiness and logging settings.
    pub(super) ops: Ops,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("issuers", &self.issuers.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// A builder for a service that verifies with `verifier` against `ledger`, reads agency
    /// tokens from `tokens` and writes `public_url` into new licences' status-list URIs.
    /// Unless set: no agency keys, the system clock, no log signer, default limits and
    /// settings, and status lists valid 1 day with a 1-hour ttl.
    pub fn builder(
        verifier: Verifier,
        ledger: Arc<Ledger>,
        tokens: TokenStore,
        public_url: impl Into<String>,
    ) -> AppStateBuilder {
        let public_url = public_url.into();
        AppStateBuilder {
            state: Self {
                verifier,
                ledger,
                publisher: StatusPublisher::new(&public_url, 86_400, 3_600),
                issuers: HashMap::new(),
                now: Box::new(system_now),
                tokens,
                public_url,
                log_signer: None,
                limits: Limits::default(),
                metrics: Metrics::default(),
                ops: Ops::default(),
            },
        }
    }

    /// The service's counters (those served at `/metrics`).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The request limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Builds an [`AppState`]; see [`AppState::builder`].
#[derive(Debug)]
#[must_use]
pub struct AppStateBuilder {
    state: AppState,
}

impl AppStateBuilder {
    /// Signs and keeps the status lists.
    pub fn publisher(mut self, publisher: StatusPublisher) -> Self {
        self.state.publisher = publisher;
        self
    }

    /// Agencies whose keys this service holds, by USCC.
    pub fn issuers(mut self, issuers: HashMap<String, Issuer>) -> Self {
        self.state.issuers = issuers;
        self
    }

    /// The clock: seconds since the epoch.
    pub fn clock(mut self, now: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.state.now = Box::new(now);
        self
    }

    /// The ledger's checkpoint signer.
    pub fn log_signer(mut self, signer: Option<NoteSigner>) -> Self {
        self.state.log_signer = signer;
        self
    }

    /// Request limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.state.limits = limits;
        self
    }

    /// Readiness and request-log settings.
    pub fn ops(mut self, ops: Ops) -> Self {
        self.state.ops = ops;
        self
    }

    /// The state, ready to share.
    pub fn build(self) -> Arc<AppState> {
        Arc::new(self.state)
    }
}
