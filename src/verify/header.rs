//! The header cache: a protected header already seen with a valid signature and chain
//! needs no decoding, policy check or issuer resolution again.

use super::verifier::{KnownSigner, Verifier};
use crate::jose::jws;
use crate::pki::Resolved;
use std::sync::Arc;

/// Most distinct protected headers remembered (one or two per issuer certificate).
const MAX_KNOWN_HEADERS: usize = 4096;

/// A cheap bucket key for a protected header: its length and last 24 bytes (inside the
/// certificate's signature when `x5c` is present). The full bytes are compared on a hit.
fn header_bucket(h: &str) -> u64 {
    let tail = &h.as_bytes()[h.len().saturating_sub(24)..];
    tail.iter()
        .fold(0xcbf2_9ce4_8422_2325 ^ h.len() as u64, |acc, b| {
            (acc ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
        })
}

impl Verifier {
    pub(super) fn known_header(&self, header_b64: &str) -> Option<Arc<KnownSigner>> {
        let map = self.headers.read().ok()?;
        map.get(&header_bucket(header_b64))?
            .iter()
            .find(|k| k.header.text() == header_b64)
            .cloned()
    }

    pub(super) fn remember_header(&self, header: jws::KnownHeader, signer: &Resolved) {
        let header_b64 = header.text();
        if let Ok(mut map) = self.headers.write() {
            if map.values().map(Vec::len).sum::<usize>() >= MAX_KNOWN_HEADERS {
                return;
            }
            let bucket = map.entry(header_bucket(header_b64)).or_default();
            if !bucket.iter().any(|k| k.header.text() == header_b64) {
                bucket.push(Arc::new(KnownSigner {
                    header,
                    signer: signer.clone(),
                }));
            }
        }
    }
}
