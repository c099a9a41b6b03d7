//! Whom `verify` trusts: the root certificates (`--root`, or the key store's) and the
//! issuer certificates they vouch for — the key store's agencies, and the issuers of a
//! published trust list (`--trust-list`, the JSON of `GET /v1/trust-list`), each checked
//! against the roots before it is used.

use super::io::{fail, read_input, read_named, Failure};
use elicense::keys::{self, KeyStore};
use elicense::pki::TrustStore;
use std::path::{Path, PathBuf};

/// The trust store for `verify`: `roots` (PEM files) or, when none, the key store's root and
/// agencies; plus the issuers of each trust list that chain to those roots.
pub fn trust_store(
    store: &KeyStore,
    roots: &[PathBuf],
    trust_lists: &[PathBuf],
) -> Result<TrustStore, Failure> {
    let (roots, mut issuers) = if roots.is_empty() {
        if !store.has_root() {
            return Err(fail(
                format!(
                    "no root certificate to verify with: {} has no {}",
                    store.dir().display(),
                    keys::ROOT_CERT
                ),
                "a verifier passes the issuing service's root certificate: --root ROOT.pem \
                 (with --trust-list FILE, the JSON of GET /v1/trust-list, to check paper seals), \
                 or --keys DIR for a key store that holds it",
            ));
        }
        let t = store.trust_store().map_err(|e| Failure {
            hint: Some(format!(
                "verification needs the root certificate: pass --root root.crt.pem or --keys DIR (now {})",
                store.dir().display()
            )),
            error: Box::new(e),
        })?;
        let roots: Vec<Vec<u8>> = t.roots().map(<[u8]>::to_vec).collect();
        let issuers: Vec<Vec<u8>> = t.issuers().map(|(der, _)| der.to_vec()).collect();
        (roots, issuers)
    } else {
        let mut ders = Vec::new();
        for p in roots {
            let pem = read_named(p, "pass the root CA certificate (keys/root.crt.pem)")?;
            ders.push(keys::pem_decode(&pem, "CERTIFICATE").ok_or_else(|| {
                fail(
                    format!("{} has no PEM CERTIFICATE block", p.display()),
                    "pass the root CA certificate (keys/root.crt.pem)",
                )
            })?);
        }
        (ders, Vec::new())
    };
    for list in trust_lists {
        issuers.extend(trusted_issuers_of(list, &roots)?);
    }
    TrustStore::new(roots, issuers).map_err(Failure::from)
}

/// The issuer certificates (DER) of the trust list in `path` that chain to `roots`; each
/// one that does not is named on standard error and left out.
fn trusted_issuers_of(path: &Path, roots: &[Vec<u8>]) -> Result<Vec<Vec<u8>>, Failure> {
    let how = "pass the JSON of GET /v1/trust-list of the service whose root you trust \
               (curl -o trust-list.json https://…/v1/trust-list)";
    let text = read_input(path)?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| fail(format!("{}: not a trust list: {e}", path.display()), how))?;
    let entries = doc
        .get("issuers")
        .and_then(serde_json::Value::as_array)
        .ok_or_else(|| {
            fail(
                format!(
                    "{}: not a trust list (no \"issuers\" array)",
                    path.display()
                ),
                how,
            )
        })?;
    let mut trusted = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let field = |k: &str| {
            entry
                .get(k)
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?")
        };
        let name = format!(
            "issuer #{i} {} ({}, kid {})",
            field("name"),
            field("code"),
            field("kid")
        );
        let Some(der) = entry
            .get("certificate")
            .and_then(serde_json::Value::as_str)
            .and_then(|b| elicense::jose::b64_decode(b).ok())
        else {
            eprintln!(
                "note: {}: {name} has no base64 \"certificate\"; not trusted",
                path.display()
            );
            continue;
        };
        // Alone with the roots: it is trusted only if it chains to one of them.
        let chains = TrustStore::new(roots.to_vec(), vec![der.clone()])
            .map(|t| !t.trusted_issuers().is_empty())
            .unwrap_or(false);
        if chains {
            trusted.push(der);
        } else {
            eprintln!(
                "note: {}: {name} does not chain to the root certificate given; refused, not trusted",
                path.display()
            );
        }
    }
    if trusted.is_empty() {
        return Err(fail(
            format!(
                "{}: none of its {} issuer certificates chains to the root certificate given",
                path.display(),
                entries.len()
            ),
            "pass the trust list of the service whose root you passed with --root (or --keys)",
        ));
    }
    Ok(trusted)
}
