//! The ledger over HTTP: signed checkpoints, inclusion and consistency proofs.

use super::{blocking, ApiError, AppState};
use crate::jose::b64_encode;
use crate::ledger::LedgerError;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// `GET /v1/ledger/checkpoint`: the newest signed checkpoint (C2SP signed note), signing a
/// fresh one first if the log grew and this service holds the log key.
#[utoipa::path(get, path = "/v1/ledger/checkpoint", tag = "ledger", responses((status = 200, description = "The newest signed checkpoint (C2SP signed note)", content_type = "text/plain", body = String), (status = 404, description = "No checkpoint yet", body = super::schema::ErrorBody), (status = 429, description = "Rate limited", body = super::schema::ErrorBody)))]
pub(super) async fn ledger_checkpoint(
    State(state): State<Arc<AppState>>,
) -> Result<Response, ApiError> {
    let s = state.clone();
    let note = blocking(move || -> Result<Option<String>, ApiError> {
        let unavailable =
            |_| ApiError::unavailable("ledger_unavailable", "the ledger could not be read");
        let latest = s.ledger.latest_checkpoint().map_err(unavailable)?;
        let size = s.ledger.size();
        match (&s.log_signer, latest) {
            (Some(signer), latest) if latest.as_ref().is_none_or(|(n, _)| *n < size) => {
                let root = s.ledger.root_at(size).map_err(unavailable)?;
                let cp = crate::ledger::checkpoint::Checkpoint::new(signer.name(), size, root);
                let note = crate::ledger::checkpoint::sign_checkpoint(&cp, signer)
                    .map_err(|e| ApiError::unavailable("signing_failed", e.to_string()))?;
                match s.ledger.store_checkpoint(size, &note) {
                    Ok(stored) => Ok(Some(stored)),
                    // Not stored durably, so not served: the newest stored one still is.
                    Err(e) if e.storage_cause().is_some() => Ok(latest.map(|(_, note)| note)),
                    Err(e) => Err(unavailable(e)),
                }
            }
            (_, latest) => Ok(latest.map(|(_, note)| note)),
        }
    })
    .await??;
    let note = note.ok_or_else(|| {
        ApiError::not_found("no_checkpoint", "the ledger has no signed checkpoint yet")
    })?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], note).into_response())
}

pub(super) fn query_u64(
    q: &HashMap<String, String>,
    name: &'static str,
) -> Result<Option<u64>, ApiError> {
    q.get(name)
        .map(|v| {
            v.parse().map_err(|_| {
                ApiError::bad_request("bad_query", format!("{name} must be a whole number"))
            })
        })
        .transpose()
}

pub(super) fn proof_error(e: LedgerError) -> ApiError {
    match e {
        LedgerError::Merkle(m) => ApiError::bad_request("bad_proof_request", m.to_string()),
        other => other.into(),
    }
}

/// `GET /v1/ledger/proof/inclusion?seq=N[&size=M]`.
#[utoipa::path(get, path = "/v1/ledger/proof/inclusion", tag = "ledger", params(("seq" = u64, Query, description = "Event sequence number"), ("size" = Option<u64>, Query, description = "Tree size (default: current)")), responses((status = 200, description = "RFC 9162 inclusion proof", body = serde_json::Value), (status = 400, description = "Bad query", body = super::schema::ErrorBody), (status = 429, description = "Rate limited", body = super::schema::ErrorBody)))]
pub(super) async fn inclusion_proof(
    State(state): State<Arc<AppState>>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let seq = query_u64(&q, "seq")?.ok_or_else(|| {
        ApiError::bad_request("bad_query", "give ?seq=N (and optionally &size=M)")
    })?;
    let current = state.ledger.size();
    let size = query_u64(&q, "size")?.unwrap_or(current);
    if seq >= size || size > current {
        return Err(ApiError::bad_request(
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
        .ok_or_else(|| ApiError::not_found("unknown_event", "no such event"))?;
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
#[utoipa::path(get, path = "/v1/ledger/proof/consistency", tag = "ledger", params(("from" = u64, Query, description = "Older tree size"), ("to" = u64, Query, description = "Newer tree size")), responses((status = 200, description = "RFC 9162 consistency proof", body = serde_json::Value), (status = 400, description = "Bad query", body = super::schema::ErrorBody), (status = 429, description = "Rate limited", body = super::schema::ErrorBody)))]
pub(super) async fn consistency_proof(
    State(state): State<Arc<AppState>>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (Some(from), Some(to)) = (query_u64(&q, "from")?, query_u64(&q, "to")?) else {
        return Err(ApiError::bad_request("bad_query", "give ?from=OLD&to=NEW"));
    };
    let current = state.ledger.size();
    if from > to || to > current {
        return Err(ApiError::bad_request(
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
