//! The key layout of the ledger's one sled tree, and the stored Merkle hashes read by it.

use crate::ledger::merkle::{Hash, HashReader, MerkleError};

pub(super) const SIZE_KEY: &[u8] = b"msize";

pub(super) fn event_key(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'e';
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

pub(super) fn hash_key(index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'h';
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn prefixed(prefix: u8, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(prefix);
    k.extend_from_slice(id.as_bytes());
    k
}

pub(super) fn record_key(id: &str) -> Vec<u8> {
    prefixed(b'l', id)
}

pub(super) fn seal_key(id: &str) -> Vec<u8> {
    prefixed(b's', id)
}

pub(super) fn copy_key(id: &str) -> Vec<u8> {
    prefixed(b't', id)
}

pub(super) fn slot_key(issuer: &str, list: u32, idx: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + issuer.len() + 12);
    k.push(b'i');
    k.extend_from_slice(issuer.as_bytes());
    k.push(0);
    k.extend_from_slice(&list.to_be_bytes());
    k.extend_from_slice(&idx.to_be_bytes());
    k
}

pub(super) fn checkpoint_key(size: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'c';
    k[1..].copy_from_slice(&size.to_be_bytes());
    k
}

/// Reads stored Merkle hashes from sled.
pub(super) struct DbHashes<'a>(pub(super) &'a sled::Db);

impl HashReader for DbHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MerkleError> {
        indexes
            .iter()
            .map(|&i| {
                let v = self
                    .0
                    .get(hash_key(i))
                    .map_err(|e| MerkleError::Read(Box::new(e)))?
                    .ok_or(MerkleError::MissingHash { index: i })?;
                v.as_ref()
                    .try_into()
                    .map_err(|_| MerkleError::MissingHash { index: i })
            })
            .collect()
    }
}
