//! Signed notes and checkpoints (C2SP signed-note, tlog-checkpoint) on arbitrary input:
//! `parse_note_bytes`, `verify_note` and `open_checkpoint` against a test key,
//! `Checkpoint::parse_body`, and `NoteVerifier::from_vkey`. Nothing may panic; a parsed
//! note renders back to exactly the input; a parsed checkpoint body serializes back to
//! exactly the input and, signed with the test key, opens to the same checkpoint; a
//! parsed verifier key round-trips through its text form.

#![no_main]

use elicense::ledger::checkpoint::{
    self, Checkpoint, NoteSigner, NoteVerifier,
};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The origin `open_checkpoint` expects.
const ORIGIN: &str = "ledger.example.gov.cn/log";

fn signer() -> &'static NoteSigner {
    static SIGNER: OnceLock<NoteSigner> = OnceLock::new();
    SIGNER.get_or_init(|| match NoteSigner::generate(ORIGIN) {
        Ok((s, _)) => s,
        Err(e) => panic!("no test key: {e}"),
    })
}

fuzz_target!(|data: &[u8]| {
    let verifiers = [signer().verifier()];
    if let Ok(note) = checkpoint::parse_note_bytes(data) {
        match note.render() {
            Ok(text) => assert_eq!(text.as_bytes(), data, "a parsed note renders differently"),
            Err(e) => panic!("a parsed note does not render: {e}"),
        }
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(verified) = checkpoint::verify_note(text, &verifiers) {
        assert!(!verified.verified().is_empty(), "verified without a signature");
    }
    if let Ok(opened) = checkpoint::open_checkpoint(text, ORIGIN, &verifiers) {
        assert_eq!(opened.checkpoint().origin, ORIGIN);
    }
    if let Ok(body) = Checkpoint::parse_body(text) {
        assert_eq!(body.to_body(), text, "a parsed body serializes differently");
        if let Ok(signed) = checkpoint::sign_checkpoint(&body, signer()) {
            match checkpoint::open_checkpoint(&signed, &body.origin, &verifiers) {
                Ok(opened) => assert_eq!(opened.checkpoint(), &body),
                Err(e) => panic!("a signed checkpoint does not open: {e}"),
            }
        }
    }
    if let Ok(vkey) = NoteVerifier::from_vkey(text) {
        match NoteVerifier::from_vkey(&vkey.to_vkey()) {
            Ok(again) => assert_eq!(again, vkey, "a verifier key changed on round trip"),
            Err(e) => panic!("a verifier key's text does not parse: {e}"),
        }
    }
});
