//! The agency's print endpoints: a licence's paper seal as a QR code, and the printable A4
//! page (its HTML is [`crate::print::licence_page`]).

use super::{blocking, Agency, ApiError, AppState};
use crate::ledger::LicenceRecord;
use crate::licence::codes::Uscc;
use crate::licence::identifier::LicenceId;
use crate::print::licence_page;
use crate::qr::{SealQr, DEFAULT_MODULE_PX};
use crate::seal;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

fn unavailable() -> ApiError {
    ApiError::unavailable("ledger_unavailable", "the ledger could not be read")
}

/// The licence's record and stored seal, for the agency that issued it.
fn own_sealed_licence(
    state: &AppState,
    agency: &Uscc,
    identifier: &str,
) -> Result<(LicenceRecord, String), ApiError> {
    let id = LicenceId::parse(identifier)?.to_string();
    let record = state
        .ledger
        .record(&id)
        .map_err(|_| unavailable())?
        .ok_or_else(|| {
            ApiError::not_found(
                "unknown_licence",
                "this service has no record of that licence",
            )
        })?;
    if record.issuer != agency.as_str() {
        return Err(ApiError::forbidden(
            "forbidden",
            format!(
                "licence {id} was issued by {}; an agency prints only its own licences",
                record.issuer
            ),
        ));
    }
    let sealed = state.ledger.seal(&id).map_err(|_| unavailable())?.ok_or_else(|| {
        ApiError::not_found(
            "no_seal",
            "the ledger keeps no paper seal for this licence (issued before seals were kept); re-issue it with a new version to print it",
        )
    })?;
    Ok((record, sealed))
}

fn qr_of(sealed: &str) -> Result<SealQr, ApiError> {
    SealQr::new(sealed).map_err(|e| ApiError::unprocessable("not_printable", e.to_string()))
}

fn private(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body,
    )
        .into_response()
}

/// `GET /v1/licences/{identifier}/qr[?format=svg|png]` (agency, own licences only).
#[utoipa::path(get, path = "/v1/licences/{identifier}/qr", tag = "agency", security(("agency_token" = [])),
    params(("identifier" = String, Path, description = "GB/T 36904 licence identifier"), ("format" = Option<String>, Query, description = "`svg` (default) or `png`")),
    responses((status = 200, description = "The licence's paper seal as a QR code (level Q)", content_type = "image/svg+xml", body = String), (status = 401, description = "No, unknown or revoked token", body = super::schema::ErrorBody), (status = 403, description = "Another agency's licence", body = super::schema::ErrorBody), (status = 404, description = "Unknown licence, or no seal kept for it", body = super::schema::ErrorBody), (status = 400, description = "Bad identifier or query", body = super::schema::ErrorBody)))]
pub(super) async fn licence_qr(
    State(state): State<Arc<AppState>>,
    Agency(agency): Agency,
    Path(identifier): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let png = match q.get("format").map(String::as_str) {
        None | Some("svg") => false,
        Some("png") => true,
        Some(_) => {
            return Err(ApiError::bad_request(
                "bad_query",
                "format is svg (the default) or png",
            ))
        }
    };
    let (_, sealed) = own_sealed_licence(&state, &agency, &identifier)?;
    // Laying out and compressing an image: off the async workers.
    blocking(move || {
        let qr = qr_of(&sealed)?;
        if png {
            let bytes = qr
                .to_png(DEFAULT_MODULE_PX)
                .map_err(|e| ApiError::internal(&e))?;
            Ok(private("image/png", bytes))
        } else {
            Ok(private("image/svg+xml", qr.to_svg()))
        }
    })
    .await?
}

/// `GET /v1/licences/{identifier}/print` (agency, own licences only): the A4 page.
#[utoipa::path(get, path = "/v1/licences/{identifier}/print", tag = "agency", security(("agency_token" = [])),
    params(("identifier" = String, Path, description = "GB/T 36904 licence identifier")),
    responses((status = 200, description = "Printable A4 licence page (HTML) with the face fields in Chinese and English and the QR seal", content_type = "text/html", body = String), (status = 401, description = "No, unknown or revoked token", body = super::schema::ErrorBody), (status = 403, description = "Another agency's licence", body = super::schema::ErrorBody), (status = 404, description = "Unknown licence, or no seal kept for it", body = super::schema::ErrorBody), (status = 400, description = "Bad identifier or query", body = super::schema::ErrorBody)))]
pub(super) async fn licence_print(
    State(state): State<Arc<AppState>>,
    Agency(agency): Agency,
    Path(identifier): Path<String>,
) -> Result<Response, ApiError> {
    let (record, sealed) = own_sealed_licence(&state, &agency, &identifier)?;
    let unverified = seal::decode(&sealed).map_err(|e| {
        ApiError::corrupt_data(
            "corrupt_seal",
            format!("the stored seal does not decode ({e}); run `elicense ledger verify`"),
        )
    })?;
    let kid = crate::jose::b64u_encode(unverified.kid());
    let issuer_name = state
        .verifier
        .trust()
        .issuers()
        .find(|(_, info)| info.kid == kid)
        .map(|(_, info)| info.agency.name.clone())
        .or_else(|| {
            state
                .issuers
                .get(&record.issuer)
                .map(|i| i.info().agency.name.clone())
        })
        .unwrap_or_else(|| record.issuer.clone());
    let page = blocking(move || {
        let qr = qr_of(&sealed)?;
        Ok::<_, ApiError>(licence_page(
            unverified.claims(),
            &issuer_name,
            record.state,
            &qr.to_inline_svg(),
        ))
    })
    .await??;
    Ok(private("text/html; charset=utf-8", page))
}
