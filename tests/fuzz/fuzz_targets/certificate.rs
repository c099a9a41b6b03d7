//! `pki::read_issuer` on arbitrary bytes (meant to be X.509 DER): never panics, and what
//! it accepts is described consistently with the bytes it was given.

#![no_main]

use elicense::pki;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let info = match pki::read_issuer(data) {
        Ok(info) => info,
        Err(e) => {
            let _ = (e.to_string(), e.is_untrusted());
            return;
        }
    };
    assert_eq!(info.kid, pki::kid_b64(data), "kid is not the certificate's");
    assert_eq!(info.fingerprint.len(), 64, "fingerprint is not hex SHA-256");
    assert_eq!(
        info.agency.code.as_str().len(),
        18,
        "agency code is not a USCC"
    );
});
