//! Compact JWS handling on arbitrary input: `parse_header` on the raw bytes, and on
//! UTF-8 the one reader: `CompactJws::split`, `UnverifiedJws::from_compact` (decoded
//! once) and `verify`. What splits joins back to the input; what decodes re-encodes to
//! the same text (canonical base64url).

#![no_main]

use elicense::jose::{b64u_encode, parse_header, CompactJws, Es256PublicKey, UnverifiedJws};
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
    let Ok(decoded) = UnverifiedJws::from_compact(jws, None) else {
        return;
    };
    assert_eq!(decoded.header().alg, "ES256");
    assert_eq!(decoded.signing_input(), jws.signing_input);
    assert_eq!(b64u_encode(decoded.payload()), jws.payload_b64, "payload not canonical");
    assert_eq!(b64u_encode(decoded.signature()), jws.signature_b64, "signature not canonical");
    let _ = decoded.verify(key());
});
