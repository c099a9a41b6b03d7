//! `LicenceId::parse` on arbitrary text; what parses prints back exactly as given, and
//! survives its serde form.

#![no_main]

use elicense::licence::identifier::LicenceId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let id = match LicenceId::parse(text) {
        Ok(id) => id,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    assert_eq!(
        id.to_string(),
        text,
        "identifier does not print back as parsed"
    );
    let json = match serde_json::to_string(&id) {
        Ok(json) => json,
        Err(e) => panic!("identifier does not serialize: {e}"),
    };
    match serde_json::from_str::<LicenceId>(&json) {
        Ok(again) => assert_eq!(again, id, "serde round trip changed the identifier"),
        Err(e) => panic!("serialized identifier does not deserialize: {e} ({json})"),
    }
    let _ = (
        id.type_code(),
        id.issuer(),
        id.serial(),
        id.version(),
        id.check_char(),
    );
});
