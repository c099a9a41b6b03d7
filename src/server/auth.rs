//! Agency authentication: the bearer token names the agency a request acts for.

use super::{ApiError, AppState};
use crate::licence::codes::Uscc;
use crate::tokens::authenticate;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use std::sync::Arc;

/// The agency a request acts for, from its `Authorization: Bearer <token>`; a handler that
/// takes it answers 401 `unauthorized` without a known, unrevoked token.
#[derive(Debug, Clone)]
pub(crate) struct Agency(pub(crate) Uscc);

impl FromRequestParts<Arc<AppState>> for Agency {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        agency(state, &parts.headers).map(Agency)
    }
}

/// The agency a request with `headers` acts for. The token store is re-read every time, so
/// a revoked token is refused at once.
fn agency(state: &AppState, headers: &HeaderMap) -> Result<Uscc, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <agency token>"))?;
    let token = value.strip_prefix("Bearer ").ok_or_else(|| {
        ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
    })?;
    let records = state.tokens.load().map_err(|_| {
        ApiError::unavailable("tokens_unavailable", "the token store could not be read")
    })?;
    authenticate(&records, token.trim())
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked token"))
}
