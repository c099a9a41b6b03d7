//! The whole verification pipeline on arbitrary input, against the TEST-ONLY trust
//! store in `fixtures/keys` at the golden fixtures' fixed time. It must never panic,
//! whatever it is given; the seeds in `corpus/verify` are the golden licences.

#![no_main]

use elicense::keys::KeyStore;
use elicense::verify::{Options, Verifier};
use libfuzzer_sys::fuzz_target;
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

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let verifier = verifier();
    let plain = Options::at(FIXED_AT);
    let _ = verifier.verify(text, &plain);
    // Key binding demanded: the KB-JWT checks run on every input that gets that far.
    let bound = Options {
        at: FIXED_AT,
        aud: Some("https://bank.example/verifier"),
        nonce: Some("golden-nonce-1"),
        status: elicense::verify::StatusCheck::NotChecked,
    };
    if let Err(e) = verifier.verify(text, &bound) {
        let _ = (e.code(), e.is_not_genuine(), e.to_string());
    }
});
