//! Compact JWS handling on arbitrary input: `parse_header` on the raw bytes, and on
//! UTF-8 `CompactJws::split`, `header()`, `payload()` and a signature check. What splits
//! joins back to the input.

#![no_main]

use elicense::jose::{parse_header, CompactJws, Es256PublicKey};
use elicense::keys::KeyStore;
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::OnceLock;

/// An agency key from the TEST-ONLY key store, to run signature checks against.
fn key() -> &'static Es256PublicKey {
    static KEY: OnceLock<Es256PublicKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/keys");
        match KeyStore::new(&dir).agencies() {
            Ok(agencies) => match agencies.into_iter().next() {
                Some((_, info)) => info.public_key,
                None => panic!("no agency in {}", dir.display()),
            },
            Err(e) => panic!("TEST-ONLY key store {} unusable: {e}", dir.display()),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(header) = parse_header(data) {
        assert_eq!(header.alg, "ES256", "a non-ES256 header passed the policy");
        let _ = header.kid_str();
    }
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(jws) = CompactJws::split(token) else {
        return;
    };
    assert_eq!(
        format!(
            "{}.{}.{}",
            jws.header_b64, jws.payload_b64, jws.signature_b64
        ),
        token,
        "split parts do not join back to the token"
    );
    assert_eq!(
        jws.signing_input,
        format!("{}.{}", jws.header_b64, jws.payload_b64),
        "signing input is not header.payload"
    );
    if let Ok(header) = jws.header() {
        assert_eq!(header.alg, "ES256");
    }
    let _ = jws.payload();
    let _ = jws.verify_signature(key());
});
