//! `SdJwt::parse` on arbitrary UTF-8, then what a holder or verifier does next with an
//! unverified SD-JWT: decode the payload and process the disclosures. Round trips: the
//! compact form re-serializes to exactly the input; the JSON forms re-serialize to JSON
//! that parses to the same parts.

#![no_main]

use elicense::sdjwt::{self, SdJwt, Serialization};
use libfuzzer_sys::fuzz_target;

/// The parts of a parsed SD-JWT, owned: serialization, payload, (protected, signature)
/// pairs, disclosures, KB-JWT.
type Parts = (
    Serialization,
    String,
    Vec<(String, String)>,
    Vec<String>,
    Option<String>,
);

/// The parts of a parsed SD-JWT, owned, for comparing two parses.
fn parts(sd: &SdJwt<'_>) -> Parts {
    (
        sd.serialization,
        sd.payload_b64.to_string(),
        sd.signatures
            .iter()
            .map(|s| (s.protected_b64.to_string(), s.signature_b64.to_string()))
            .collect(),
        sd.disclosures.iter().map(ToString::to_string).collect(),
        sd.kb_jwt.as_ref().map(ToString::to_string),
    )
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(sd) = SdJwt::parse(text) else {
        return;
    };
    assert!(!sd.signatures.is_empty(), "parsed without a signature");
    if let Ok(payload) = sd.unverified_payload() {
        let _ = sdjwt::process_disclosures(payload, &sd.disclosures);
    }
    let _ = sd.issuer_jwt();
    let _ = sd.sd_hash_input();
    match sd.serialization {
        Serialization::Compact => {
            assert_eq!(sd.to_compact(), text, "compact form does not round-trip");
        }
        Serialization::JsonFlattened | Serialization::JsonGeneral => {
            let json = if sd.serialization == Serialization::JsonFlattened {
                sd.to_json_flattened()
            } else {
                sd.to_json_general()
            };
            let again_text = json.to_string();
            let again = match SdJwt::parse(&again_text) {
                Ok(again) => again,
                Err(e) => panic!("re-serialized JSON does not parse: {e:?}\n{again_text}"),
            };
            assert_eq!(parts(&again), parts(&sd), "JSON form does not round-trip");
        }
    }
});
