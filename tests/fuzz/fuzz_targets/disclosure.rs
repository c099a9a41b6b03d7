//! `decode_disclosure` on arbitrary text; what decodes re-encodes (base64url of the JSON
//! array) and decodes again to the same disclosure.
//!
//! Each input is tried twice: as the encoded disclosure itself, and base64url-encoded
//! (so the fuzzer mutates the JSON directly instead of guessing base64 of JSON).
//!
//! Floats are compared exactly (the crate enables serde_json's `float_roundtrip`; before
//! it did, this target found floats decoding up to 2 ULP off). Set
//! `ELICENSE_FUZZ_LOOSE_FLOATS=1` to allow 2 ULP when fuzzing an older build.

#![no_main]

use elicense::jose::b64u_encode;
use elicense::sdjwt::{decode_disclosure, disclosure_digest, Disclosure};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::sync::OnceLock;

fn strict_floats() -> bool {
    static STRICT: OnceLock<bool> = OnceLock::new();
    *STRICT
        .get_or_init(|| std::env::var_os("ELICENSE_FUZZ_LOOSE_FLOATS").is_none_or(|v| v != "1"))
}

/// Distance in units in the last place between two finite floats.
fn ulps(a: f64, b: f64) -> u64 {
    let key = |x: f64| {
        let bits = x.to_bits() as i64;
        if bits < 0 {
            i64::MIN - bits
        } else {
            bits
        }
    };
    key(a).abs_diff(key(b))
}

/// JSON equality, with floats within 2 ULP unless strict.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() && !strict_floats() => {
            match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => ulps(x, y) <= 2,
                _ => false,
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((kx, vx), (ky, vy))| kx == ky && same(vx, vy))
        }
        _ => a == b,
    }
}

fn encode(d: &Disclosure) -> String {
    let mut items = vec![Value::String(d.salt.clone())];
    if let Some(name) = &d.name {
        items.push(Value::String(name.clone()));
    }
    items.push(d.value.clone());
    match serde_json::to_vec(&Value::Array(items)) {
        Ok(bytes) => b64u_encode(bytes),
        Err(e) => panic!("a decoded disclosure does not serialize: {e}"),
    }
}

fn check(text: &str) {
    let _ = disclosure_digest(text);
    let Ok(first) = decode_disclosure(text) else {
        return;
    };
    let encoded = encode(&first);
    let second = match decode_disclosure(&encoded) {
        Ok(second) => second,
        Err(e) => panic!("re-encoded disclosure does not decode: {e:?} ({encoded})"),
    };
    assert_eq!(second.salt, first.salt);
    assert_eq!(second.name, first.name);
    assert!(
        same(&second.value, &first.value),
        "re-encoded disclosure decodes to another value:\n first {:?}\nsecond {:?}",
        first.value,
        second.value
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        check(text);
    }
    check(&b64u_encode(data));
});
