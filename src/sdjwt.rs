//! SD-JWT (RFC 9901): selective-disclosure JWTs.
//!
//! Issuance turns a claim tree, with some members and array elements marked disclosable,
//! into an issuer-signed JWT whose payload carries only salted digests of those claims
//! (`_sd`, `{"...": digest}`) plus the disclosures that reveal them. A holder presents a
//! subset of the disclosures, optionally with a key-binding JWT (KB-JWT). A verifier
//! checks every disclosure against a digest in the signed payload.
//!
//! Pure format code: the caller supplies keys, randomness and the time.

use crate::jose::jws::{self, UnverifiedJws};
use crate::jose::{self, b64u_decode, b64u_encode, CompactJws, Es256PublicKey, Es256Signer};
pub use crate::salt::{RandomPool, SaltSource};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// The only digest algorithm: `_sd_alg: sha-256`.
pub const SD_ALG: &str = "sha-256";
/// `typ` of a key-binding JWT.
pub const KB_JWT_TYP: &str = "kb+jwt";
/// Largest SD-JWT (issuer JWT, disclosures and KB-JWT) accepted before decoding.
pub const MAX_SD_JWT_LEN: usize = 64 * 1024;
/// Most disclosures accepted in one SD-JWT.
pub const MAX_DISCLOSURES: usize = 512;
/// Deepest nesting of objects, arrays and disclosures that processing follows.
pub const MAX_DEPTH: usize = 32;
/// Most digests (real and decoy) accepted in one payload, disclosures included.
pub const MAX_DIGESTS: usize = 4096;
/// Salt length in bytes (128 bits, RFC 9901 §9.3).
pub const SALT_LEN: usize = 16;

mod disclosure;
mod encode;
mod format;
mod key_binding;
mod present;
mod process;

pub use disclosure::*;
pub use encode::*;
pub use format::*;
pub use key_binding::*;
pub use present::*;
pub use process::*;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn signer() -> Es256Signer {
        Es256Signer::generate().unwrap().0
    }

    fn header() -> Map<String, Value> {
        json!({"alg": "ES256", "typ": "example+sd-jwt"})
            .as_object()
            .unwrap()
            .clone()
    }

    fn verify_all(text: &str, key: &Es256PublicKey) -> Result<Map<String, Value>, String> {
        let sd = SdJwt::parse(text).map_err(|e| format!("{e:?}"))?;
        let mut payload = None;
        for jws in sd.issuer_jws().map_err(|e| format!("{e:?}"))? {
            let verified = jws.verify(key).map_err(|e| format!("{e:?}"))?;
            payload.get_or_insert(
                serde_json::from_slice(verified.payload()).map_err(|e| format!("{e:?}"))?,
            );
        }
        let payload = payload.ok_or("no signature")?;
        process_disclosures(payload, &sd.disclosures).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn issue_select_verify() {
        let s = signer();
        let h = header();
        let members = vec![
            Member::plain("iss", "https://issuer.example"),
            Member::disclosable("name", "张三"),
            Member::disclosable("code", "11010519491231002X"),
        ];
        let issued = issue(&[(&h, &s)], &members).unwrap().compact();
        let all = verify_all(&issued, &s.public_key()).unwrap();
        assert_eq!(all["name"], "张三");
        let p = present(&issued, &Selection::top_level(["name"]), None).unwrap();
        let some = verify_all(&p, &s.public_key()).unwrap();
        assert_eq!(some["name"], "张三");
        assert!(!some.contains_key("code"));
        assert!(!some.contains_key("_sd"));
    }

    #[test]
    fn processing_is_strict() {
        let s = signer();
        let h = header();
        let members = vec![Member::disclosable("a", 1), Member::disclosable("b", 2)];
        let issued = issue(&[(&h, &s)], &members).unwrap();
        let compact = issued.compact();
        let key = s.public_key();
        // Duplicate disclosure.
        let dup = format!("{compact}{}~", issued.disclosures[0]);
        assert!(verify_all(&dup, &key).unwrap_err().contains("Duplicate"));
        // Foreign disclosure.
        let other = issue(&[(&h, &s)], &members).unwrap();
        let foreign = format!("{compact}{}~", other.disclosures[0]);
        assert!(verify_all(&foreign, &key)
            .unwrap_err()
            .contains("Unreferenced"));
        // Altered disclosure.
        let altered_d = b64u_encode(br#"["c2FsdA","a",2]"#);
        let altered = compact.replacen(&issued.disclosures[0], &altered_d, 1);
        assert!(verify_all(&altered, &key)
            .unwrap_err()
            .contains("Unreferenced"));
        // Empty disclosure.
        let empty = format!("{compact}~");
        assert!(verify_all(&empty, &key)
            .unwrap_err()
            .contains("EmptyDisclosure"));
    }

    #[test]
    fn name_conflict_and_wrong_kind() {
        let s = signer();
        let h = header();
        // Build by hand: payload with visible "a" and a digest disclosing "a" again.
        let d = b64u_encode(br#"["c2FsdHNhbHRzYWx0","a",2]"#);
        let payload = json!({"a": 1, "_sd": [disclosure_digest(&d)]});
        let jwt = jose::sign_compact(
            serde_json::to_vec(&h).unwrap().as_slice(),
            payload.to_string().as_bytes(),
            &s,
        )
        .unwrap();
        let text = format!("{jwt}~{d}~");
        assert!(verify_all(&text, &s.public_key())
            .unwrap_err()
            .contains("NameConflict"));
        // Element disclosure referenced from _sd.
        let e = b64u_encode(br#"["c2FsdHNhbHRzYWx0",2]"#);
        let payload = json!({"_sd": [disclosure_digest(&e)]});
        let jwt = jose::sign_compact(
            serde_json::to_vec(&h).unwrap().as_slice(),
            payload.to_string().as_bytes(),
            &s,
        )
        .unwrap();
        let text = format!("{jwt}~{e}~");
        assert!(verify_all(&text, &s.public_key())
            .unwrap_err()
            .contains("WrongKind"));
        // The same digest twice.
        let payload = json!({"_sd": [disclosure_digest(&d), disclosure_digest(&d)]});
        let jwt = jose::sign_compact(
            serde_json::to_vec(&h).unwrap().as_slice(),
            payload.to_string().as_bytes(),
            &s,
        )
        .unwrap();
        let text = format!("{jwt}~");
        assert!(verify_all(&text, &s.public_key())
            .unwrap_err()
            .contains("DuplicateDigest"));
    }

    #[test]
    fn key_binding_round_trip_and_failures() {
        let s = signer();
        let holder = signer();
        let h = header();
        let issued = issue(&[(&h, &s)], &[Member::disclosable("a", 1)])
            .unwrap()
            .compact();
        let params = KeyBindingParams {
            aud: "https://verifier.example",
            nonce: "n-123",
            iat: 1_700_000_000,
        };
        let p = present(&issued, &Selection::All, Some((&holder, params))).unwrap();
        let sd = SdJwt::parse(&p).unwrap();
        let check = KeyBindingCheck {
            aud: Some("https://verifier.example"),
            nonce: Some("n-123"),
            at: 1_700_000_010,
            skew: 60,
            max_age: 300,
        };
        let kb = sd.kb_jwt.as_deref().unwrap();
        let input = sd.sd_hash_input();
        verify_key_binding(kb, &holder.public_key(), &input, &check).unwrap();
        let wrong_aud = KeyBindingCheck {
            aud: Some("other"),
            ..check
        };
        assert!(matches!(
            verify_key_binding(kb, &holder.public_key(), &input, &wrong_aud),
            Err(KeyBindingError::Audience { .. })
        ));
        let wrong_nonce = KeyBindingCheck {
            nonce: Some("n-124"),
            ..check
        };
        assert!(matches!(
            verify_key_binding(kb, &holder.public_key(), &input, &wrong_nonce),
            Err(KeyBindingError::Nonce)
        ));
        let late = KeyBindingCheck {
            at: 1_700_001_000,
            ..check
        };
        assert!(matches!(
            verify_key_binding(kb, &holder.public_key(), &input, &late),
            Err(KeyBindingError::TooOld { .. })
        ));
        // Dropping a disclosure after binding breaks sd_hash.
        let dropped = SdJwt {
            disclosures: vec![],
            ..sd.clone()
        };
        assert!(matches!(
            verify_key_binding(kb, &holder.public_key(), &dropped.sd_hash_input(), &check),
            Err(KeyBindingError::SdHash)
        ));
        assert!(matches!(
            verify_key_binding(kb, &s.public_key(), &input, &check),
            Err(KeyBindingError::Jws(_))
        ));
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z一-鿿]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// sign → verify: every disclosable member comes back intact when all are disclosed,
        /// and none when nothing is.
        #[test]
        fn sign_verify_round_trip(values in prop::collection::btree_map("[a-z]{1,6}", (arb_value(), any::<bool>()), 0..6)) {
            let s = signer();
            let h = header();
            let members: Vec<Member> = values.iter().map(|(k, (v, sd))| Member {
                name: k.clone(), value: Claim::Value(v.clone()), disclosable: *sd,
            }).collect();
            let issued = issue(&[(&h, &s)], &members).unwrap().compact();
            let claims = verify_all(&issued, &s.public_key()).unwrap();
            for (k, (v, _)) in &values {
                prop_assert_eq!(&claims[k], v);
            }
            let none = present(&issued, &Selection::Nothing, None).unwrap();
            let claims = verify_all(&none, &s.public_key()).unwrap();
            for (k, (v, sd)) in &values {
                if *sd { prop_assert!(!claims.contains_key(k)); } else { prop_assert_eq!(&claims[k], v); }
            }
        }

        /// encode → decode of one disclosure.
        #[test]
        fn disclosure_round_trip(name in "[a-z_]{1,8}", v in arb_value()) {
            let json = serde_json::to_vec(&json!(["c2FsdA", name, v])).unwrap();
            let d = decode_disclosure(&b64u_encode(json)).unwrap();
            prop_assert_eq!(d.name.as_deref(), Some(name.as_str()));
            prop_assert_eq!(d.value, v);
        }

        /// Arbitrary text never panics the parser or processor.
        #[test]
        fn parse_never_panics(text in "[A-Za-z0-9_~.{}\\[\\]\":-]{0,200}") {
            if let Ok(sd) = SdJwt::parse(&text) {
                if let Ok(p) = sd.unverified_payload() {
                    let _ = process_disclosures(p, &sd.disclosures);
                }
            }
        }
    }
}
