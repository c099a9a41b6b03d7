//! The counter verification page (窗口核验页面): static assets compiled into the binary.
//!
//! `GET /` serves the page; its scripts, style sheet, icon, manifest and service worker are
//! served from the site root (the service worker's scope is the whole origin), and the
//! vendored QR decoder (jsQR, unmodified, see `web/vendor/README.md`) from
//! `/vendor/jsQR.js`. Every asset carries a strict Content-Security-Policy (scripts only
//! from this origin, no inline script, `connect-src 'self'`), an ETag, and
//! `Cache-Control: no-cache`, so browsers and the service worker revalidate on each load
//! and an updated page reaches the counters.
//!
//! `GET /licence-types.json` gives the face-field labels of every licence type, from
//! [`LicenceType`], so the page can label a seal's fields when it verifies offline.

use crate::jose::{b64u_encode, sha256};
use crate::licence::{HolderKind, LicenceType};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use serde_json::{json, Value};
use std::sync::OnceLock;

/// The Content-Security-Policy of every page asset.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; \
     manifest-src 'self'; worker-src 'self'; media-src 'self' blob:; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One file of the page.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        path: "/",
        content_type: "text/html; charset=utf-8",
        body: include_bytes!("../../web/index.html"),
    },
    Asset {
        path: "/app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/app.js"),
    },
    Asset {
        path: "/offline.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/offline.js"),
    },
    Asset {
        path: "/i18n.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/i18n.js"),
    },
    Asset {
        path: "/vendor/jsQR.js",
        content_type: "text/javascript; charset=utf-8",
        // Third-party QR decoder (jsQR, Apache-2.0), unmodified: see web/vendor/README.md.
        body: include_bytes!("../../web/vendor/jsQR.js"),
    },
    Asset {
        path: "/sw.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("../../web/sw.js"),
    },
    Asset {
        path: "/style.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("../../web/style.css"),
    },
    Asset {
        path: "/icon.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("../../web/icon.svg"),
    },
    Asset {
        path: "/manifest.webmanifest",
        content_type: "application/manifest+json",
        body: include_bytes!("../../web/manifest.webmanifest"),
    },
];

/// Every path the page serves, with its content type.
pub fn paths() -> impl Iterator<Item = (&'static str, &'static str)> {
    ASSETS
        .iter()
        .map(|a| (a.path, a.content_type))
        .chain([("/licence-types.json", "application/json")])
}

/// The `GET` handler of one of [`paths`].
pub fn handler<S: Clone + Send + Sync + 'static>(path: &'static str) -> MethodRouter<S> {
    get(move |headers: HeaderMap| async move { serve(path, &headers) })
}

/// An asset's bytes, content type and ETag, computed once.
struct Prepared {
    path: &'static str,
    content_type: &'static str,
    body: Bytes,
    etag: String,
}

fn prepared() -> &'static [Prepared] {
    static PREPARED: OnceLock<Vec<Prepared>> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let types = Bytes::from(serde_json::to_vec(&licence_types()).unwrap_or_default());
        ASSETS
            .iter()
            .map(|a| (a.path, a.content_type, Bytes::from_static(a.body)))
            .chain([("/licence-types.json", "application/json", types)])
            .map(|(path, content_type, body)| Prepared {
                etag: format!("\"{}\"", &b64u_encode(sha256(&body))[..22]),
                path,
                content_type,
                body,
            })
            .collect()
    })
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(asset) = prepared().iter().find(|a| a.path == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    // Revalidate every time (cheap with the ETag): a new release reaches the page and the
    // service worker at the next load.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, v);
    }
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    if matches {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    (StatusCode::OK, h, asset.body.clone()).into_response()
}

/// Every licence type's code, names, holder kind and the face fields a paper seal carries,
/// in the order of a seal's field values ([`LicenceType::seal_fields`]).
pub fn licence_types() -> Value {
    let types: Vec<Value> = LicenceType::ALL
        .iter()
        .map(|t| {
            json!({
                "code": t.code(),
                "slug": t.slug(),
                "name_zh": t.name_zh(),
                "name_en": t.name_en(),
                "holder_kind": match t.holder_kind() {
                    HolderKind::Organisation => "organisation",
                    HolderKind::Person => "person",
                },
                "fields": t.seal_fields().iter().map(|f| json!({
                    "key": f.key,
                    "label_zh": f.zh,
                    "label_en": f.en,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "types": types })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_distinct_path_and_etag() {
        let p = prepared();
        assert_eq!(p.len(), ASSETS.len() + 1);
        for (i, a) in p.iter().enumerate() {
            assert!(!a.body.is_empty(), "{} is empty", a.path);
            for b in &p[i + 1..] {
                assert_ne!(a.path, b.path);
                assert_ne!(a.etag, b.etag, "{} and {}", a.path, b.path);
            }
        }
    }

    #[test]
    fn the_page_loads_no_inline_script() {
        let html = std::str::from_utf8(ASSETS[0].body).unwrap();
        // Every <script> names a source on this origin; none has a body or a handler.
        for part in html.split("<script").skip(1) {
            let tag_end = part.find('>').unwrap();
            assert!(part[..tag_end].contains("src=\"/"), "inline script: {part}");
            assert!(part[tag_end + 1..].trim_start().starts_with("</script>"));
        }
        assert!(!html.contains(" onclick="), "inline handler");
        assert!(!html.contains(" style="), "inline style");
    }

    #[test]
    fn licence_types_list_every_type_with_labels() {
        let v = licence_types();
        let types = v["types"].as_array().unwrap();
        assert_eq!(types.len(), LicenceType::ALL.len());
        for (t, j) in LicenceType::ALL.iter().zip(types) {
            assert_eq!(j["code"], t.code());
            assert_eq!(j["fields"].as_array().unwrap().len(), t.seal_fields().len());
            assert!(j["fields"][0]["label_zh"].is_string());
        }
    }
}
