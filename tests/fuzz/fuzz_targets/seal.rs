//! The paper-seal parser on arbitrary input, two ways: the input as seal text
//! (`seal::decode`, then the whole verification pipeline), and the input as the COSE bytes
//! inside a seal (wrapped in zlib and Base45 here, so that the fuzzer reaches the CBOR
//! layers without having to get an adler32 right). Nothing may panic, and what decodes
//! re-encodes (signed with a test key) to a seal that decodes to the same claims.

#![no_main]

use elicense::jose::Es256Signer;
use elicense::keys::KeyStore;
use elicense::seal;
use elicense::verify::{Options, Verifier};
use libfuzzer_sys::fuzz_target;
use std::io::Write as _;
use std::path::Path;
use std::sync::OnceLock;

/// Verification time of the golden fixtures: 2026-01-01T00:00:00+08:00.
const FIXED_AT: i64 = 1_767_196_800;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/keys");
        match KeyStore::new(&dir).trust_store() {
            Ok(trust) => Verifier::new(trust),
            Err(e) => panic!("TEST-ONLY trust store {} unusable: {e}", dir.display()),
        }
    })
}

fn key() -> &'static Es256Signer {
    static KEY: OnceLock<Es256Signer> = OnceLock::new();
    KEY.get_or_init(|| match Es256Signer::generate() {
        Ok((k, _)) => k,
        Err(e) => panic!("no test key: {e}"),
    })
}

fn check(text: &str) {
    let _ = verifier().verify(text, &Options::at(FIXED_AT));
    let decoded = match seal::decode(text) {
        Ok(d) => d,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let again = match seal::encode(decoded.claims(), decoded.kid(), key()) {
        Ok(t) => t,
        Err(e) => panic!("a decoded seal does not re-encode: {e}"),
    };
    match seal::decode(&again) {
        Ok(d) => assert_eq!(d.claims(), decoded.claims(), "claims changed on re-encoding"),
        Err(e) => panic!("a re-encoded seal does not decode: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    if z.write_all(data).is_ok() {
        if let Ok(compressed) = z.finish() {
            check(&format!("{}{}", seal::PREFIX, base45::encode(compressed)));
        }
    }
});
