//! Status List Tokens on arbitrary input, three ways: the input as a token
//! (`status_list::parse_token`, then `verify` against a test key); the input as the
//! payload of a token validly signed here (so that the fuzzer reaches the claim checks and
//! the capped inflate behind the signature); and the input as the zlib bytes of an `lst`
//! (`StatusList::decode_lst` for every bit size). Nothing may panic; only an ES256
//! `statuslist+jwt` header is read; what verifies is about the expected `sub` and
//! re-signs to a token that verifies to the same list; a decoded `lst` re-encodes to a
//! list with the same entries.

#![no_main]

use elicense::jose::{self, Es256Signer};
use elicense::status_list::{self, StatusList, TokenClaims, Validation};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The `sub` every token is checked against, and the verification time.
const SUB: &str = "https://ledger.example.gov.cn/status/1";
const AT: i64 = 1_767_196_800;
/// Most entries accepted (the inflate cap follows from it).
const MAX_ENTRIES: usize = 1 << 16;

fn key() -> &'static Es256Signer {
    static KEY: OnceLock<Es256Signer> = OnceLock::new();
    KEY.get_or_init(|| match Es256Signer::generate() {
        Ok((k, _)) => k,
        Err(e) => panic!("no test key: {e}"),
    })
}

fn validation() -> Validation<'static> {
    Validation::new(SUB, AT).max_entries(MAX_ENTRIES)
}

fn check_token(text: &str) {
    let Ok(unverified) = status_list::parse_token(text) else {
        return;
    };
    assert_eq!(unverified.header().alg, "ES256", "a non-ES256 header was read");
    let typ = unverified.header().typ.as_deref().unwrap_or_default();
    assert!(
        typ.to_ascii_lowercase().ends_with("statuslist+jwt"),
        "typ {typ:?} was read"
    );
    if let Ok(list) = unverified.verify(&key().public_key(), &validation()) {
        assert_eq!(list.sub(), SUB);
    }
}

fn check_payload(payload: &[u8]) {
    let header = br#"{"alg":"ES256","typ":"statuslist+jwt"}"#;
    let Ok(token) = jose::sign_compact(header, payload, key()) else {
        return;
    };
    let verified = match status_list::verify_token(&token, &key().public_key(), &validation()) {
        Ok(v) => v,
        Err(e) => {
            let _ = (e.code(), e.to_string());
            return;
        }
    };
    assert_eq!(verified.sub(), SUB, "a token about another list verified");
    let claims = TokenClaims {
        sub: SUB.into(),
        iat: AT,
        ..TokenClaims::default()
    };
    let again = match status_list::sign_token(verified.list(), &claims, &Default::default(), key()) {
        Ok(t) => t,
        Err(e) => panic!("a verified list does not re-sign: {e}"),
    };
    match status_list::verify_token(&again, &key().public_key(), &validation()) {
        Ok(v) => assert_eq!(v.list(), verified.list(), "the list changed on re-signing"),
        Err(e) => panic!("a re-signed list does not verify: {e}"),
    }
}

fn check_lst(compressed: &[u8]) {
    let lst = jose::b64u_encode(compressed);
    for bits in [1, 2, 4, 8] {
        if let Ok(list) = StatusList::decode_lst(bits, &lst, MAX_ENTRIES) {
            let again = match list.encode_lst() {
                Ok(l) => l,
                Err(e) => panic!("a decoded list does not encode: {e}"),
            };
            match StatusList::decode_lst(bits, &again, MAX_ENTRIES) {
                Ok(back) => assert_eq!(back, list, "the list changed on re-encoding"),
                Err(e) => panic!("a re-encoded list does not decode: {e}"),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check_token(text);
    }
    check_payload(data);
    check_lst(data);
});
