//! `POST /v1/verify/image`: verify the licence in the QR code of a photo (a paper licence
//! or a phone screen).
//!
//! The body is the image itself, `Content-Type: image/png` or `image/jpeg`, at most
//! [`MAX_IMAGE_BYTES`]. The code's text goes through the same verification and gets the
//! same answer as `POST /v1/verify`, plus a `scan` member describing the image. An image
//! that yields no licence is a 4xx with a stable code:
//!
//! | code | status | when |
//! | --- | --- | --- |
//! | `unsupported_media_type` | 415 | the content type is not `image/png` or `image/jpeg` |
//! | `image_too_large` | 413 | more bytes, pixels or decoder memory than accepted |
//! | `unsupported_image` | 415 | the bytes are neither PNG nor JPEG |
//! | `corrupt_image` | 400 | a damaged or truncated PNG or JPEG |
//! | `no_qr_found` | 422 | no QR code in the picture |
//! | `qr_unreadable` | 422 | a QR code was found but could not be decoded |
//! | `not_a_licence` | 422 | the code holds text that is not a licence |

use super::{ApiError, AppState};
use crate::scan::{scan, Scanned, MAX_IMAGE_BYTES};
use crate::verdict::Verdict;
use crate::verify::{Options, StatusCheck, VerifyError};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::routing::{post, MethodRouter};
use axum::Json;
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

/// The route, with its own body limit (images are larger than the service's default).
pub(super) fn route() -> MethodRouter<Arc<AppState>> {
    post(verify_image)
        .layer(DefaultBodyLimit::max(MAX_IMAGE_BYTES))
        .route_layer(axum::middleware::from_fn(declared_size))
}

/// Refuses an image whose declared `Content-Length` is over the cap before reading it.
async fn declared_size(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_IMAGE_BYTES as u64) {
        return ApiError::image_too_large().into_response();
    }
    next.run(req).await
}

/// Images decoded at once, one per core: decoding a large photo takes a few hundred
/// megabytes, so the rest wait (and are answered 408 if that takes too long).
fn scans() -> &'static Semaphore {
    static SCANS: OnceLock<Semaphore> = OnceLock::new();
    SCANS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

/// Whether verification failed because the text is not a licence in any form this
/// service reads (as opposed to a licence that is invalid). A QR code's text reaches the
/// verifier intact (the code carries its own error correction), so text that does not
/// even parse was never a licence.
fn not_a_licence(e: &VerifyError) -> bool {
    matches!(e, VerifyError::Malformed(_) | VerifyError::TooLarge { .. })
}

/// The answer of `/v1/verify/image`: the verdict, as `/v1/verify` gives it, and what was
/// scanned.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ImageVerdict {
    /// The verdict on the licence in the QR code.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// The image.
    pub scan: ScanInfo,
}

/// The image a licence was read from.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ScanInfo {
    /// `image/png` or `image/jpeg`.
    pub media_type: &'static str,
    /// Width, pixels.
    pub width: u32,
    /// Height, pixels.
    pub height: u32,
}

#[utoipa::path(post, path = "/v1/verify/image", tag = "public",
    request_body(description = "A photo of a paper licence or a phone screen showing its QR code", content(
        (Vec<u8> = "image/png"), (Vec<u8> = "image/jpeg"))),
    responses(
        (status = 200, description = "The verdict for the licence in the QR code, as `/v1/verify` gives it, plus `scan` (media type, width, height)", body = ImageVerdict),
        (status = 400, description = "`corrupt_image`: a damaged or truncated PNG or JPEG", body = super::schema::ErrorBody),
        (status = 413, description = "`image_too_large`: too many bytes or pixels", body = super::schema::ErrorBody),
        (status = 415, description = "`unsupported_media_type` or `unsupported_image`: not a PNG or JPEG", body = super::schema::ErrorBody),
        (status = 422, description = "`no_qr_found`, `qr_unreadable` or `not_a_licence`", body = super::schema::ErrorBody),
        (status = 429, description = "Rate limited", body = super::schema::ErrorBody),
    ))]
pub(super) async fn verify_image(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ImageVerdict>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !matches!(essence, "image/png" | "image/jpeg") {
        return Err(ApiError::unsupported_media_type(
            "send the photo itself as the body, with Content-Type image/png or image/jpeg",
        ));
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::image_too_large()
        } else {
            e.into()
        }
    })?;
    // (The semaphore is never closed: failing to acquire it would be a bug.)
    let permit = scans()
        .acquire()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let s = state.clone();
    let verdict = super::blocking(move || {
        let _permit = permit;
        let Scanned {
            text,
            kind,
            width,
            height,
        } = scan(&body)?;
        drop(body);
        let opts = Options {
            at: (s.now)(),
            aud: None,
            nonce: None,
            status: StatusCheck::Ledger(&s.ledger),
        };
        let result = s.verifier.verify(&text, &opts);
        if let Err(e) = &result {
            if not_a_licence(e) {
                return Err(ApiError::unprocessable(
                    "not_a_licence",
                    format!(
                        "the QR code was read, but it does not hold a licence ({e}): photograph the licence's own code"
                    ),
                ));
            }
        }
        Ok(ImageVerdict {
            verdict: Verdict::new(result, opts.at),
            scan: ScanInfo {
                media_type: kind.media_type(),
                width,
                height,
            },
        })
    })
    .await??;
    state.metrics.verdict(&verdict.verdict);
    Ok(Json(verdict))
}
