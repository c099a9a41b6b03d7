//! The agency API: bearer-token authentication, issuance, status changes.

use super::auth::Agency;
use super::{blocking, ApiError, AppState};
use crate::ledger::Action;
use crate::licence::identifier::LicenceId;
use crate::licence::LicenceRequest;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;

pub(super) fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    allow_empty: bool,
) -> Result<Option<T>, ApiError> {
    let body = body?;
    if body.is_empty() && allow_empty {
        return Ok(None);
    }
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| ApiError::bad_request("bad_json", e.to_string()))
}

/// `POST /v1/licences` (agency): issue one licence, recorded in the ledger.
#[utoipa::path(post, path = "/v1/licences", tag = "agency", security(("agency_token" = [])), request_body(content = crate::licence::LicenceRequest, content_type = "application/json"), responses((status = 201, description = "Issued and recorded: `licence_id` and `sd_jwt`", body = serde_json::Value), (status = 200, description = "The same request was recorded before (a retry after a lost answer): the licence recorded then, with `replayed: true`", body = serde_json::Value), (status = 503, description = "The ledger cannot take writes (`storage_full`, `storage_read_only`, …): the change may not be recorded; send the same request again once /readyz is 200", body = super::schema::ErrorBody), (status = 401, description = "No, unknown or revoked token", body = super::schema::ErrorBody), (status = 403, description = "Not your licence, or no signing key for your agency", body = super::schema::ErrorBody), (status = 400, description = "Invalid request", body = super::schema::ErrorBody), (status = 409, description = "The identifier was issued from a different request: choose a new serial (or version)", body = super::schema::ErrorBody)))]
pub(super) async fn issue_licence(
    State(state): State<Arc<AppState>>,
    Agency(agency): Agency,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let request: LicenceRequest = json_body(body, false)?
        .ok_or_else(|| ApiError::bad_request("bad_json", "send the licence request as JSON"))?;
    let s = state.clone();
    let issued = blocking(move || {
        let issuer = s.issuers.get(agency.as_str()).ok_or_else(no_signing_key)?;
        Ok::<_, ApiError>(issuer.issue_recorded(
            &s.ledger,
            &request,
            (s.now)(),
            &s.public_url,
            agency.as_str(),
        )?)
    })
    .await??;
    // A retry of a request already recorded gets the same licence, 200 instead of 201.
    let status = if issued.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(json!({
            "licence_id": issued.id.to_string(),
            "sd_jwt": issued.sd_jwt,
            "replayed": issued.replayed,
        })),
    )
        .into_response())
}

/// Body of a batch issuance.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct BatchRequest {
    /// The licence requests, at most `limits.max_batch`.
    requests: Vec<LicenceRequest>,
}

/// `POST /v1/licences/batch` (agency): issue many licences in one request.
///
/// Every request is checked first (including duplicate serials within the batch): if any
/// fails, nothing is issued and the answer names each failing index. Then all are issued
/// in parallel (their ledger commits share fsyncs); the answer lists each licence.
///
/// Each licence is recorded on its own, not the batch as a whole: after a crash or a lost
/// answer some may be recorded and others not. Sending the same batch again is safe: those
/// already recorded come back as they were (`replayed: true`), the rest are issued.
#[utoipa::path(post, path = "/v1/licences/batch", tag = "agency", security(("agency_token" = [])), request_body(content = BatchRequest, content_type = "application/json"), responses((status = 201, description = "All issued: `results` lists each licence by index", body = serde_json::Value), (status = 200, description = "Some failed while recording: `results` gives each index a licence or an error", body = serde_json::Value), (status = 401, description = "No, unknown or revoked token", body = super::schema::ErrorBody), (status = 403, description = "Not your licence, or no signing key for your agency", body = super::schema::ErrorBody), (status = 422, description = "Too many or no requests, or some invalid: nothing issued; `error.details` names each index", body = super::schema::ErrorBody)))]
pub(super) async fn issue_batch(
    State(state): State<Arc<AppState>>,
    Agency(agency): Agency,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Response, ApiError> {
    let batch: BatchRequest = json_body(body, false)?.ok_or_else(|| {
        ApiError::bad_request("bad_json", "send {\"requests\": [licence request, …]}")
    })?;
    let max = state.limits.max_batch;
    if batch.requests.is_empty() || batch.requests.len() > max {
        return Err(ApiError::unprocessable(
            "bad_batch_size",
            format!(
                "a batch holds 1 to {max} requests, not {}; split it",
                batch.requests.len()
            ),
        ));
    }
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, r) in batch.requests.iter().enumerate() {
        match r.validate(&agency) {
            Err(e) => {
                problems.push(json!({ "index": i, "message": crate::verify::error_chain(&e) }))
            }
            Ok(l) => {
                if !seen.insert(l.id.to_string()) {
                    problems.push(json!({ "index": i, "message": format!("{} appears twice in the batch", l.id) }));
                }
            }
        }
    }
    if !problems.is_empty() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": {
                "code": "invalid_requests",
                "message": format!("{} of {} requests are invalid; nothing was issued", problems.len(), batch.requests.len()),
                "details": problems,
            }})),
        )
            .into_response());
    }
    let s = state.clone();
    let results = blocking(move || {
        let issuer = s.issuers.get(agency.as_str()).ok_or_else(no_signing_key)?;
        let at = (s.now)();
        let requests = batch.requests;
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .clamp(2, 8)
            .min(requests.len());
        let chunk = requests.len().div_ceil(threads.max(1));
        let mut results: Vec<Value> = Vec::with_capacity(requests.len());
        std::thread::scope(|scope| {
            let handles: Vec<_> = requests
                .chunks(chunk.max(1))
                .enumerate()
                .map(|(c, part)| {
                    let agency = &agency;
                    let s = &s;
                    scope.spawn(move || {
                        part.iter()
                            .enumerate()
                            .map(|(j, r)| {
                                let index = c * chunk + j;
                                match issuer.issue_recorded(
                                    &s.ledger,
                                    r,
                                    at,
                                    &s.public_url,
                                    agency.as_str(),
                                ) {
                                    Ok(issued) => json!({
                                        "index": index,
                                        "licence_id": issued.id.to_string(),
                                        "sd_jwt": issued.sd_jwt,
                                        "replayed": issued.replayed,
                                    }),
                                    Err(e) => {
                                        let e = ApiError::from(e);
                                        json!({ "index": index, "error": { "code": e.code(), "message": e.message() } })
                                    }
                                }
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for h in handles {
                match h.join() {
                    Ok(part) => results.extend(part),
                    Err(_) => results.push(json!({ "error": { "code": "internal_error", "message": "a worker failed" } })),
                }
            }
        });
        Ok::<_, ApiError>(results)
    })
    .await??;
    let failed = results.iter().filter(|r| r.get("error").is_some()).count();
    let status = if failed == 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "issued": results.len() - failed, "failed": failed, "results": results })),
    )
        .into_response())
}

fn no_signing_key() -> ApiError {
    ApiError::forbidden(
        "no_signing_key",
        "this service holds no signing key for your agency",
    )
}

/// Body of a status change.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ChangeRequest {
    /// 暂扣 / 撤销 / 吊销 / 注销, or an RFC 5280 reason name (e.g. `keyCompromise`).
    #[serde(default)]
    reason: Option<String>,
    /// A note kept with the event (at most 500 characters).
    #[serde(default)]
    note: Option<String>,
}

/// `POST /v1/licences/{identifier}/revoke|suspend|reinstate` (agency, own licences only).
async fn change_licence(
    State(state): State<Arc<AppState>>,
    Agency(agency): Agency,
    Path(identifier): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
    action: Action,
) -> Result<Json<Value>, ApiError> {
    let id = LicenceId::parse(&identifier)?;
    let change: ChangeRequest = json_body(body, true)?.unwrap_or_default();
    let (reason, admin) = match change.reason.as_deref() {
        None => (None, None),
        Some(text) => crate::ledger::event::parse_reason_text(text).ok_or_else(|| {
            ApiError::bad_request(
                "bad_request",
                format!(
                    "unknown reason {text:?}: use 暂扣/撤销/吊销/注销 or an RFC 5280 reason name"
                ),
            )
        })?,
    };
    let s = state.clone();
    let actor = agency.to_string();
    let (receipt, record) = blocking(move || {
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
    .await??;
    tracing::info!(
        target: "elicense::agency",
        agency = %actor,
        action = action.name(),
        event = receipt.seq,
        "status change recorded"
    );
    Ok(Json(json!({
        "licence_id": record.licence_id,
        "state": record.state,
        "event": receipt.seq,
        "tree_size": receipt.tree_size,
    })))
}

macro_rules! change_endpoint {
    ($name:ident, $action:expr, $path:literal, $what:literal) => {
        #[doc = concat!("`POST ", $path, "` (agency): ", $what)]
        #[utoipa::path(post, path = $path, tag = "agency", security(("agency_token" = [])),
            params(("identifier" = String, Path, description = "GB/T 36904 licence identifier")),
            request_body(content = ChangeRequest, content_type = "application/json", description = "Optional; an empty body is fine"),
            responses(
                (status = 200, description = "Recorded in the ledger: the new state and the event's sequence number", body = serde_json::Value),
                (status = 400, description = "Bad identifier, reason or note", body = super::schema::ErrorBody),
                (status = 401, description = "No, unknown or revoked token", body = super::schema::ErrorBody),
                (status = 403, description = "Another agency's licence: nothing recorded", body = super::schema::ErrorBody),
                (status = 404, description = "Unknown licence", body = super::schema::ErrorBody),
                (status = 409, description = "Not allowed from the licence's current state", body = super::schema::ErrorBody),
            ))]
        pub(super) async fn $name(
            state: State<Arc<AppState>>,
            agency: Agency,
            identifier: Path<String>,
            body: Result<Bytes, axum::extract::rejection::BytesRejection>,
        ) -> Result<Json<Value>, ApiError> {
            change_licence(state, agency, identifier, body, $action).await
        }
    };
}

change_endpoint!(
    revoke,
    Action::Revoke,
    "/v1/licences/{identifier}/revoke",
    "revoke a licence for good (撤销/吊销/注销)."
);
change_endpoint!(
    suspend,
    Action::Suspend,
    "/v1/licences/{identifier}/suspend",
    "suspend a licence (暂扣)."
);
change_endpoint!(
    reinstate,
    Action::Reinstate,
    "/v1/licences/{identifier}/reinstate",
    "reinstate a suspended licence."
);
