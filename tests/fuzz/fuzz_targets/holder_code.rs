//! `HolderCode::parse`, `Uscc::parse` and `ResidentId::parse` on arbitrary text: what
//! parses is kept verbatim, and the three parsers agree with each other.

#![no_main]

use elicense::licence::codes::{HolderCode, HolderKind, ResidentId, Uscc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let uscc = Uscc::parse(text);
    let resident = ResidentId::parse(text);
    let holder = HolderCode::parse(text);
    if let Ok(code) = &uscc {
        assert_eq!(code.as_str(), text);
        assert_eq!(code.to_string(), text);
        let _ = code.region_code();
    }
    if let Ok(id) = &resident {
        assert_eq!(id.as_str(), text);
        assert_eq!(id.to_string(), text);
        let _ = (
            id.region_code(),
            id.birth_date().to_string(),
            format!("{id:?}"),
        );
    }
    match &holder {
        Ok(code) => {
            assert_eq!(code.as_str(), text);
            assert_eq!(code.to_string(), text);
            // A valid resident ID always reads as one; otherwise only a valid USCC parses.
            let want = if resident.is_ok() {
                HolderKind::ResidentId
            } else {
                HolderKind::Uscc
            };
            assert_eq!(code.kind(), want, "holder code read as the wrong kind");
            assert!(
                uscc.is_ok() || resident.is_ok(),
                "holder code valid as neither kind"
            );
        }
        Err(e) => {
            let _ = e.to_string();
            assert!(
                uscc.is_err() && resident.is_err(),
                "HolderCode::parse rejected a valid code: {e:?}"
            );
        }
    }
});
