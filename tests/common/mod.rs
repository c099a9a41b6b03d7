//! Helpers shared by the integration tests: the golden fixtures, the TEST-ONLY trust
//! store, and re-signing edited tokens.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::jose::{self, Es256Signer};
use elicense::keys::KeyStore;
use elicense::verify::Verifier;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The golden table's verification time: 2026-01-01T00:00:00+08:00.
pub const FIXED_AT: i64 = 1_767_196_800;

/// The crate root.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A golden licence from `fixtures/licences/`.
pub fn golden(name: &str) -> String {
    std::fs::read_to_string(crate_dir().join(format!("fixtures/licences/{name}.sdjwt")))
        .unwrap()
        .trim()
        .to_owned()
}

/// A verifier trusting the TEST-ONLY root and agencies in `fixtures/keys/`.
pub fn verifier() -> Verifier {
    Verifier::new(
        KeyStore::new(crate_dir().join("fixtures/keys"))
            .trust_store()
            .unwrap(),
    )
}

/// Splits a compact SD-JWT into its header and payload objects and the parts after the JWT.
pub fn split(token: &str) -> (Map<String, Value>, Map<String, Value>, Vec<String>) {
    let mut parts = token.split('~');
    let jwt = parts.next().unwrap();
    let rest = parts.map(str::to_owned).collect();
    let mut j = jwt.split('.');
    let h = serde_json::from_slice(&jose::b64u_decode(j.next().unwrap()).unwrap()).unwrap();
    let p = serde_json::from_slice(&jose::b64u_decode(j.next().unwrap()).unwrap()).unwrap();
    (h, p, rest)
}

/// Signs `h`.`p` with `key` and appends the parts after the JWT again.
pub fn sign(
    h: &Map<String, Value>,
    p: &Map<String, Value>,
    key: &Es256Signer,
    rest: &[String],
) -> String {
    let mut s = jose::sign_compact(
        &serde_json::to_vec(h).unwrap(),
        &serde_json::to_vec(p).unwrap(),
        key,
    )
    .unwrap();
    for r in rest {
        s.push('~');
        s.push_str(r);
    }
    s
}

/// A copy of a fixture key directory with its private keys at 0600 (git keeps no modes).
pub fn private_copy(src: &Path) -> (tempfile::TempDir, KeyStore) {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    for sub in ["", "agencies"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(src.join(sub)).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                let to = dir.path().join(sub).join(p.file_name().unwrap());
                std::fs::copy(&p, &to).unwrap();
                if to.to_string_lossy().ends_with(".key.pem") {
                    std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600)).unwrap();
                }
            }
        }
    }
    let ks = KeyStore::new(dir.path());
    (dir, ks)
}

/// [`private_copy`] of the main TEST-ONLY key store.
pub fn private_fixture_keys() -> (tempfile::TempDir, KeyStore) {
    private_copy(&crate_dir().join("fixtures/keys"))
}

/// Changes the database of the closed ledger in `dir` behind its back, as someone with write
/// access to its files would, and flushes. The ledger must have been dropped: sled's threads
/// may hold the directory's lock a moment longer, so a held lock is waited for (up to 2 s).
pub fn tamper_closed_ledger<T>(dir: &Path, tamper: impl FnOnce(&sled::Db) -> T) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let db = loop {
        match sled::open(dir) {
            Ok(db) => break db,
            Err(e) if std::time::Instant::now() >= deadline => {
                panic!("the ledger in {} is still open: {e}", dir.display())
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    };
    let out = tamper(&db);
    db.flush().unwrap();
    out
}

pub mod binary;
pub mod cli;
/// The paper seal `seal` with `from` replaced by `to` (of the same length in bytes) inside
/// its signed payload, re-compressed and re-encoded: it still reads as a seal, but its
/// signature no longer holds.
pub fn tamper_seal_payload(seal: &str, from: &str, to: &str) -> String {
    use flate2::{read::ZlibDecoder, write::ZlibEncoder, Compression};
    use std::io::{Read as _, Write as _};
    let (from, to) = (from.as_bytes(), to.as_bytes());
    assert_eq!(from.len(), to.len());
    let compressed = base45::decode(seal.strip_prefix("EL1:").unwrap()).unwrap();
    let mut cose = Vec::new();
    ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut cose)
        .unwrap();
    let at = cose
        .windows(from.len())
        .position(|w| w == from)
        .expect("the text to change is in the seal");
    cose[at..at + from.len()].copy_from_slice(to);
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(&cose).unwrap();
    format!("EL1:{}", base45::encode(z.finish().unwrap()))
}

pub mod server;
