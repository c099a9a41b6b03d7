//! The OpenAPI 3.1 document, generated from the handlers' annotations (utoipa) and served
//! at `/openapi.json`.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

pub use super::schema::{ErrorBody, ErrorDetail, NotReadyBody, VerifyRequest};

struct AgencyToken;

impl Modify for AgencyToken {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "agency_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An agency API token (`elt_…`), made with `elicense agency token create`",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "elicense",
        description = "Electronic licences (电子证照): verify SD-JWT VC licences, check their status, fetch signed status lists and the trust list; agencies issue and change their own licences. Every error is `{\"error\": {\"code\", \"message\"}}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        super::public::healthz,
        super::public::readyz,
        super::public::metrics,
        serve,
        super::public::verify,
        super::photo::verify_image,
        super::public::licence_status,
        super::public::status_list,
        super::public::trust_list,
        super::public::jwt_vc_issuer,
        super::ledger_api::ledger_checkpoint,
        super::ledger_api::inclusion_proof,
        super::ledger_api::consistency_proof,
        super::agency::issue_licence,
        super::agency::issue_batch,
        super::agency::revoke,
        super::agency::suspend,
        super::agency::reinstate,
        super::print::licence_qr,
        super::print::licence_print,
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        NotReadyBody,
        VerifyRequest,
        crate::verdict::Verdict,
        crate::verdict::ReasonBody,
        crate::verdict::LicenceFace,
        super::photo::ImageVerdict,
    )),
    modifiers(&AgencyToken),
    tags(
        (name = "public", description = "For anyone: verification, status, status lists, trust list (rate limited per client)"),
        (name = "agency", description = "For issuing agencies, with a bearer token: issue, revoke, suspend, reinstate — own licences only"),
        (name = "ledger", description = "The tamper-evident ledger: signed checkpoints and Merkle proofs"),
        (name = "operations", description = "Health, readiness and metrics"),
        (name = "counter page", description = "The counter verification page and its files (served from the binary)"),
    )
)]
struct ApiDoc;

/// The OpenAPI document: the annotated API endpoints, and the counter page's files.
pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
    use utoipa::openapi::{ContentBuilder, ResponseBuilder};
    let mut doc = ApiDoc::openapi();
    for (path, content_type) in super::web::paths() {
        let what = if path == "/" {
            "The counter verification page (窗口核验页面)".to_owned()
        } else {
            format!("A file of the counter page ({content_type})")
        };
        let operation = OperationBuilder::new()
            .tag("counter page")
            .summary(Some(what))
            .response(
                "200",
                ResponseBuilder::new()
                    .description("The file, with an ETag; Cache-Control: no-cache")
                    .content(content_type, ContentBuilder::new().build())
                    .build(),
            )
            .response(
                "304",
                ResponseBuilder::new()
                    .description("Not modified (If-None-Match)")
                    .build(),
            )
            .build();
        doc.paths
            .paths
            .insert(path.to_owned(), PathItem::new(HttpMethod::Get, operation));
    }
    doc
}

/// `GET /openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "This OpenAPI 3.1 document", body = serde_json::Value)))]
pub(super) async fn serve() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    // Fixed for the life of the process: built and serialized once.
    static DOC: std::sync::OnceLock<axum::body::Bytes> = std::sync::OnceLock::new();
    let body = DOC.get_or_init(|| serde_json::to_vec(&document()).unwrap_or_default().into());
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.clone(),
    )
        .into_response()
}
