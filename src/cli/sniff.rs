//! What an input that is not a licence looks like, for a verdict of "malformed" to say
//! what the file seems to be instead (a seal with a damaged prefix, JSON, a bare JWS).

use elicense::seal::PREFIX;

/// The Base45 alphabet (RFC 9285) in which a paper seal is written after its prefix.
const BASE45: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// A sentence saying what `text` (which did not parse as a licence) looks like and what to
/// do, or `None` when it looks like nothing in particular.
pub fn looks_like(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return Some(
            "the input is empty: pass the licence file (an SD-JWT or a seal EL1:…)".into(),
        );
    }
    if let Some(at) = text.find(PREFIX).filter(|&at| at > 0) {
        return Some(format!(
            "looks like a paper seal with {at} stray characters before its {PREFIX} prefix: remove them"
        ));
    }
    if text.starts_with('{') || text.starts_with('[') {
        if serde_json::from_str::<serde_json::Value>(text).is_ok_and(|v| v.get("licence").is_some())
        {
            return Some("looks like a JSON body for POST /v1/verify: pass its \"licence\" value, not the JSON".into());
        }
        return Some("looks like JSON, not a licence: pass the licence itself (an SD-JWT eyJ…~…~ or a seal EL1:…)".into());
    }
    if !text.contains('~') && is_compact_jws(text) {
        return Some(
            "looks like a compact JWS (header.payload.signature) without the '~' an SD-JWT ends with: \
             a status list goes to --status-list; a licence is the whole SD-JWT that `issue` wrote"
                .into(),
        );
    }
    let in_base45 = text.chars().filter(|c| BASE45.contains(*c)).count();
    if !text.starts_with(PREFIX) && text.len() >= 20 && in_base45 * 10 >= text.chars().count() * 9 {
        let head: String = text.chars().take(4).collect();
        return Some(format!(
            "looks like a paper seal with a damaged prefix: a seal starts with {PREFIX}, this with {head:?}; rescan the QR code or correct the prefix"
        ));
    }
    None
}

/// Three non-empty base64url parts separated by dots (split by the one JWS reader).
fn is_compact_jws(text: &str) -> bool {
    elicense::jose::CompactJws::split(text).is_ok()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::looks_like;

    #[test]
    fn damaged_seals_json_and_bare_jws_are_told_apart() {
        let seal =
            "EL1:6BFOXN*TS0BI$ZD-PHQ7I9AD66V5B22CH9M9ESI9XBHXK-%69LQOGI.*V76GCV4*XUA2P-FHT-HNXHF";
        assert_eq!(looks_like(seal), None);
        for damaged in [
            seal.replacen("EL1:", "EL2:", 1),
            seal.replacen("EL1:", "E1:", 1),
        ] {
            assert!(
                looks_like(&damaged).is_some_and(|s| s.contains("damaged prefix")),
                "{damaged}"
            );
        }
        assert!(looks_like(&format!("xx{seal}")).is_some_and(|s| s.contains("2 stray")));
        assert!(looks_like("{\"licence\":\"eyJ\"}").is_some_and(|s| s.contains("POST /v1/verify")));
        assert!(looks_like("{\"a\":1}").is_some_and(|s| s.contains("JSON")));
        assert!(looks_like("eyJh.eyJi.c2ln").is_some_and(|s| s.contains("compact JWS")));
        assert_eq!(looks_like("eyJh.eyJi.c2ln~"), None);
        assert_eq!(looks_like("hello world, nothing here"), None);
    }
}
