//! RFC 9162 Merkle tree over the revocation ledger, backed by stored hashes.
//!
//! Hashing is RFC 9162 §2.1.1 with SHA-256: a leaf is `SHA-256(0x00 ‖ d)`, an
//! interior node is `SHA-256(0x01 ‖ left ‖ right)` and the empty tree is
//! `SHA-256("")`. Proofs are the RFC's inclusion proofs (§2.1.3) and
//! consistency proofs (§2.1.4); [`verify_inclusion`] and [`verify_consistency`]
//! are the RFC's verification algorithms (§2.1.3.2, §2.1.4.2).
//!
//! # Stored hashes
//!
//! The ledger never rehashes its records. When record `n` (0-based) is
//! appended, [`hashes_to_store`] returns its leaf hash followed by the hash of
//! every complete subtree that the record completes (one per trailing one bit
//! of `n`). These are appended to the store, so every stored hash has a dense
//! `u64` index:
//!
//! ```text
//! record:  0 | 1       | 2 | 3             | 4 | 5        | ...
//! index:   0 | 1  2    | 3 | 4  5    6     | 7 | 8  9     | ...
//! hash:    L0| L1 N0-1 | L2| L3 N2-3 N0-3  | L4| L5 N4-5  | ...
//! ```
//!
//! The complete subtree at level `L` covering records `[k·2^L, (k+1)·2^L)` is
//! stored at [`stored_hash_index`]`(L, k)`; leaf `n` is at
//! `stored_hash_index(0, n)`, and a tree of `n` records holds
//! [`stored_hash_count`]`(n)` hashes (`2n − popcount(n)`).
//!
//! Every range that appears in an RFC 9162 tree hash or proof is a
//! concatenation of `O(log n)` such complete subtrees, so [`tree_hash`],
//! [`inclusion_proof`] and [`consistency_proof`] each issue one batched
//! [`HashReader::read_hashes`] call for `O(log n)` indexes and do `O(log n)`
//! hashing, whatever the tree size.
//!
//! # Binding sizes
//!
//! An inclusion proof binds a leaf and its index to a root, and a consistency
//! proof binds the old tree to the new root; neither pins the (new) tree size
//! on its own. The proof for leaf 0 of a tree of 5 also verifies, against the
//! same root, as a proof for leaf 0 of a tree of 6, and the consistency proof
//! from 1 to 3 also verifies as one from 1 to 4. Callers must take each
//! `(size, root)` pair from an authenticated source, such as a signed tree
//! head, never a size from one place and a root from another.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// Largest tree size (number of records) this module accepts for reading
/// stored hashes and building proofs (2^62). Every stored-hash index of such
/// a tree fits in a `u64`. Verification functions accept any `u64` size.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// Domain separation prefix of leaf hashes (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain separation prefix of interior node hashes (RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// Errors from reading stored hashes, building proofs and verifying proofs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// The leaf index is not inside the tree (`index >= size`).
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// The old tree size of a consistency proof is larger than the new one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    SizeOrder {
        /// The old (first) tree size.
        old: u64,
        /// The new (second) tree size.
        new: u64,
    },
    /// The tree size exceeds [`MAX_TREE_SIZE`].
    #[error("tree size {size} exceeds the supported maximum {max}")]
    SizeTooLarge {
        /// The requested tree size.
        size: u64,
        /// The largest supported size, [`MAX_TREE_SIZE`].
        max: u64,
    },
    /// A proof has the wrong number of hashes for its index and sizes.
    #[error("proof has {found} hashes, expected {expected}")]
    ProofLength {
        /// The number of hashes a valid proof has.
        expected: usize,
        /// The number of hashes supplied.
        found: usize,
    },
    /// The root recomputed from a proof differs from the expected root (for a
    /// consistency proof: either of the two roots).
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    /// A stored hash needed for the computation is not in the store.
    #[error("stored hash {index} is missing")]
    MissingHash {
        /// The stored-hash index that was not found.
        index: u64,
    },
    /// A [`HashReader`] returned a different number of hashes than requested.
    #[error("hash reader returned {found} hashes for {expected} indexes")]
    ReadCount {
        /// The number of indexes requested.
        expected: usize,
        /// The number of hashes returned.
        found: usize,
    },
    /// The underlying store failed to read hashes.
    #[error("reading stored hashes failed")]
    Read(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl MerkleError {
    /// Wraps a storage error (for instance a sled error) as [`MerkleError::Read`].
    pub fn read<E>(err: E) -> Self
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Self::Read(err.into())
    }
}

/// Source of stored hashes, addressed by [`stored_hash_index`].
///
/// Implemented for `[Hash]` and `Vec<Hash>` (index = position) for in-memory
/// use; the ledger implements it over its database.
pub trait HashReader {
    /// Returns the stored hashes at `indexes`, in the same order and with the
    /// same length as `indexes`. A hash that is not stored must be reported as
    /// [`MerkleError::MissingHash`], a storage failure as
    /// [`MerkleError::Read`].
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MerkleError>;
}

impl HashReader for [Hash] {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MerkleError> {
        indexes
            .iter()
            .map(|&index| {
                usize::try_from(index)
                    .ok()
                    .and_then(|i| self.get(i))
                    .copied()
                    .ok_or(MerkleError::MissingHash { index })
            })
            .collect()
    }
}

impl HashReader for Vec<Hash> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MerkleError> {
        self.as_slice().read_hashes(indexes)
    }
}

/// RFC 9162 leaf hash: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    hasher.finalize().into()
}

/// RFC 9162 interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// RFC 9162 hash of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Number of hashes stored for a tree of `n` records: `2n − popcount(n)`.
///
/// This is also the index at which record `n`'s hashes start. Saturates at
/// `u64::MAX` when the count does not fit (only for `n > 2^63`).
pub fn stored_hash_count(n: u64) -> u64 {
    n.checked_mul(2)
        .map_or(u64::MAX, |twice| twice - u64::from(n.count_ones()))
}

/// Index of the stored hash of the complete subtree at `level` covering
/// records `[n·2^level, (n+1)·2^level)`; `level` 0 is the leaf hash of
/// record `n`.
///
/// The subtree is completed by its last record `m = (n+1)·2^level − 1`,
/// whose hashes start at [`stored_hash_count`]`(m)`, so the index is
/// `stored_hash_count(m) + level`. Saturates at `u64::MAX` when the index does
/// not fit (never for subtrees of trees up to [`MAX_TREE_SIZE`]).
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    checked_stored_hash_index(level, n).unwrap_or(u64::MAX)
}

fn checked_stored_hash_index(level: u32, n: u64) -> Option<u64> {
    let width = 1u64.checked_shl(level)?;
    let last = n.checked_add(1)?.checked_mul(width)?.checked_sub(1)?;
    let base = last
        .checked_mul(2)?
        .checked_sub(u64::from(last.count_ones()))?;
    base.checked_add(u64::from(level))
}

/// Hashes to append to the store when adding record `n` (0-based) whose leaf
/// hash is `leaf`: the leaf hash first, then the hash of each complete subtree
/// the record completes, bottom-up. They belong at indexes
/// `stored_hash_index(0, n)..stored_hash_count(n + 1)`, in order.
///
/// `reader` must hold the hashes of records `0..n`; this reads
/// `trailing_ones(n)` of them (the left siblings).
pub fn hashes_to_store<R>(n: u64, leaf: Hash, reader: &R) -> Result<Vec<Hash>, MerkleError>
where
    R: HashReader + ?Sized,
{
    if n >= MAX_TREE_SIZE {
        return Err(MerkleError::SizeTooLarge {
            size: n.saturating_add(1),
            max: MAX_TREE_SIZE,
        });
    }
    let levels = n.trailing_ones();
    // The level-l subtree holding record n has index n >> l, which is odd for
    // l < levels; its left sibling is (n >> l) - 1.
    let indexes: Vec<u64> = (0..levels)
        .map(|l| stored_hash_index(l, (n >> l) - 1))
        .collect();
    let siblings = read_exact(reader, &indexes)?;
    let mut out = Vec::with_capacity(siblings.len() + 1);
    let mut current = leaf;
    out.push(current);
    for sibling in &siblings {
        current = node_hash(sibling, &current);
        out.push(current);
    }
    Ok(out)
}

/// RFC 9162 Merkle Tree Hash (MTH) of the first `size` records.
///
/// Reads the `popcount(size)` complete subtrees that make up `[0, size)`.
pub fn tree_hash<R>(size: u64, reader: &R) -> Result<Hash, MerkleError>
where
    R: HashReader + ?Sized,
{
    check_size(size)?;
    if size == 0 {
        return Ok(empty_root());
    }
    let mut plan = ReadPlan::default();
    plan.add_range(0, size);
    let mut hashes = plan.execute(reader)?;
    hashes.pop().ok_or(MerkleError::ReadCount {
        expected: 1,
        found: 0,
    })
}

/// RFC 9162 inclusion proof (audit path, §2.1.3.1) of leaf `index` in the
/// tree of the first `size` records, ordered from the leaf's sibling upwards.
///
/// `size` must not exceed the number of records in the store; the leaf
/// `size − 1` is always read, so a store that is too short yields
/// [`MerkleError::MissingHash`].
pub fn inclusion_proof<R>(index: u64, size: u64, reader: &R) -> Result<Vec<Hash>, MerkleError>
where
    R: HashReader + ?Sized,
{
    check_size(size)?;
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    // Walk from the root down to the leaf, recording the sibling range at
    // each split; the proof lists them leaf first.
    let mut siblings = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            siblings.push((lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push((lo, lo + k));
            lo += k;
        }
    }
    let mut plan = ReadPlan::default();
    for &(lo, hi) in siblings.iter().rev() {
        plan.add_range(lo, hi);
    }
    if index == size - 1 {
        // No sibling range reaches the last record: read its leaf hash anyway
        // so that a size beyond the store is reported, not silently proven.
        plan.add_check(stored_hash_index(0, index));
    }
    plan.execute(reader)
}

/// RFC 9162 consistency proof (§2.1.4.1) between the trees of the first `old`
/// and the first `new` records.
///
/// The proof is empty when `old == 0` or `old == new`. `new` must not exceed
/// the number of records in the store.
pub fn consistency_proof<R>(old: u64, new: u64, reader: &R) -> Result<Vec<Hash>, MerkleError>
where
    R: HashReader + ?Sized,
{
    if old > new {
        return Err(MerkleError::SizeOrder { old, new });
    }
    check_size(new)?;
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[lo:hi], b), unrolled: invariant lo < old <= hi. The
    // ranges are collected root first; the proof lists them deepest first.
    let mut parts = Vec::new();
    let (mut lo, mut hi) = (0u64, new);
    let mut whole_old_tree = true;
    loop {
        if old == hi {
            if !whole_old_tree {
                parts.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if old <= lo + k {
            parts.push((lo + k, hi));
            hi = lo + k;
        } else {
            parts.push((lo, lo + k));
            lo += k;
            whole_old_tree = false;
        }
    }
    let mut plan = ReadPlan::default();
    for &(lo, hi) in parts.iter().rev() {
        plan.add_range(lo, hi);
    }
    plan.execute(reader)
}

/// Verifies an inclusion proof with the algorithm of RFC 9162 §2.1.3.2: that
/// `leaf` (a leaf hash) is leaf `index` of the tree of `size` leaves whose
/// root is `root`.
///
/// Work is bounded by the expected proof length (at most 64 hashes).
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    let wrong_length = MerkleError::ProofLength {
        expected,
        found: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof with the algorithm of RFC 9162 §2.1.4.2: that
/// the tree of `old` leaves with root `old_root` is a prefix of the tree of
/// `new` leaves with root `new_root`.
///
/// Edge cases: `old == new` needs an empty proof and equal roots; `old == 0`
/// needs an empty proof and `old_root` equal to [`empty_root`] (every tree
/// extends the empty tree). Work is bounded by the expected proof length
/// (at most 65 hashes).
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), MerkleError> {
    if old > new {
        return Err(MerkleError::SizeOrder { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(MerkleError::ProofLength {
                expected: 0,
                found: proof.len(),
            });
        }
        let expected_old = if old == 0 { empty_root() } else { *new_root };
        if *old_root != expected_old {
            return Err(MerkleError::RootMismatch);
        }
        return Ok(());
    }
    // 0 < old < new.
    let expected = consistency_proof_len(old, new);
    let wrong_length = MerkleError::ProofLength {
        expected,
        found: proof.len(),
    };
    if proof.len() != expected || proof.is_empty() {
        return Err(wrong_length);
    }
    // Step 2: if old is a power of two, old_root is the first path element.
    let (seed, rest) = if old.is_power_of_two() {
        (*old_root, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (*first, rest),
            None => return Err(wrong_length),
        }
    };
    // Steps 3 and 4.
    let mut f_n = old - 1;
    let mut s_n = new - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    // Steps 5 and 6.
    let mut f_r = seed;
    let mut s_r = seed;
    for c in rest {
        if s_n == 0 {
            return Err(wrong_length);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    // Step 7.
    if s_n != 0 {
        return Err(wrong_length);
    }
    if f_r != *old_root || s_r != *new_root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Length of the inclusion proof of leaf `index < size`: one sibling for each
/// level below the point where the paths to `index` and to the last leaf
/// meet, plus one for each level above it where `index`'s subtree is a right
/// child.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let last = size - 1;
    let inner = u64::BITS - (index ^ last).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Length of the consistency proof for `0 < old < new`. After dropping the
/// `trailing_zeros(old)` levels where the old tree's last node is a complete
/// left subtree, the proof is an inclusion path of that node, preceded by the
/// node itself unless `old` is a power of two (then it is `old_root`).
fn consistency_proof_len(old: u64, new: u64) -> usize {
    let shift = old.trailing_zeros();
    let f_n = (old - 1) >> shift;
    let s_n = (new - 1) >> shift;
    let inner = u64::BITS - (f_n ^ s_n).leading_zeros();
    let border = f_n.checked_shr(inner).unwrap_or(0).count_ones();
    let seed = u32::from(!old.is_power_of_two());
    (seed + inner + border) as usize
}

/// Largest power of two strictly smaller than `n` (`n >= 2`): the RFC's `k`.
fn split_point(n: u64) -> u64 {
    let below = n.saturating_sub(1).max(1);
    1u64 << (u64::BITS - 1 - below.leading_zeros())
}

fn check_size(size: u64) -> Result<(), MerkleError> {
    if size > MAX_TREE_SIZE {
        return Err(MerkleError::SizeTooLarge {
            size,
            max: MAX_TREE_SIZE,
        });
    }
    Ok(())
}

/// Reads `indexes` and checks that the reader returned one hash for each.
fn read_exact<R>(reader: &R, indexes: &[u64]) -> Result<Vec<Hash>, MerkleError>
where
    R: HashReader + ?Sized,
{
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    let hashes = reader.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(MerkleError::ReadCount {
            expected: indexes.len(),
            found: hashes.len(),
        });
    }
    Ok(hashes)
}

/// A batch of ranges whose MTHs are computed from one read of stored hashes.
#[derive(Default)]
struct ReadPlan {
    /// Stored-hash indexes to read, range after range.
    indexes: Vec<u64>,
    /// For each range, its span within `indexes`.
    spans: Vec<(usize, usize)>,
}

impl ReadPlan {
    /// Adds the range of records `[lo, hi)`, `lo < hi <= MAX_TREE_SIZE`,
    /// where `lo` is a multiple of the largest power of two not above
    /// `hi − lo` (true of every range in an RFC 9162 tree). Its complete
    /// subtrees, largest first, are the set bits of `hi − lo`.
    fn add_range(&mut self, lo: u64, hi: u64) {
        let start = self.indexes.len();
        let mut pos = lo;
        let mut rest = hi.saturating_sub(lo);
        while rest != 0 {
            let level = u64::BITS - 1 - rest.leading_zeros();
            self.indexes.push(stored_hash_index(level, pos >> level));
            pos += 1 << level;
            rest &= !(1u64 << level);
        }
        self.spans.push((start, self.indexes.len()));
    }

    /// Adds an index that must exist but whose hash is not used.
    fn add_check(&mut self, index: u64) {
        self.indexes.push(index);
    }

    /// Reads all indexes in one call and returns each range's MTH, in the
    /// order the ranges were added.
    fn execute<R>(self, reader: &R) -> Result<Vec<Hash>, MerkleError>
    where
        R: HashReader + ?Sized,
    {
        let hashes = read_exact(reader, &self.indexes)?;
        self.spans
            .iter()
            .map(|&(start, end)| {
                hashes
                    .get(start..end)
                    .map(fold_subtrees)
                    .ok_or(MerkleError::ReadCount {
                        expected: self.indexes.len(),
                        found: hashes.len(),
                    })
            })
            .collect()
    }
}

/// MTH of a range from its complete subtrees, left to right: the RFC splits
/// off the largest subtree on the left each time, so fold from the right.
fn fold_subtrees(subtrees: &[Hash]) -> Hash {
    let mut iter = subtrees.iter().rev();
    match iter.next() {
        None => empty_root(),
        Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;
    use std::collections::HashMap;
    use std::sync::OnceLock;

    // ----- Reference implementation, straight from RFC 9162 §2.1 -----
    //
    // D[lo:hi] is the sub-list of `data` from lo to hi; MTH results are
    // memoized (the recursion revisits the same sub-lists) so the large trees
    // stay fast in debug builds.

    struct Reference<'a> {
        data: &'a [Vec<u8>],
        memo: HashMap<(usize, usize), Hash>,
    }

    impl<'a> Reference<'a> {
        fn new(data: &'a [Vec<u8>]) -> Self {
            Self {
                data,
                memo: HashMap::new(),
            }
        }

        /// Largest power of two smaller than n (n > 1).
        fn k(n: usize) -> usize {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            k
        }

        /// MTH(D[lo:hi]), §2.1.1.
        fn mth(&mut self, lo: usize, hi: usize) -> Hash {
            if let Some(hash) = self.memo.get(&(lo, hi)) {
                return *hash;
            }
            let hash: Hash = match hi - lo {
                0 => Sha256::digest(b"").into(),
                1 => {
                    let mut h = Sha256::new();
                    h.update([0u8]);
                    h.update(&self.data[lo]);
                    h.finalize().into()
                }
                n => {
                    let k = Self::k(n);
                    let left = self.mth(lo, lo + k);
                    let right = self.mth(lo + k, hi);
                    let mut h = Sha256::new();
                    h.update([1u8]);
                    h.update(left);
                    h.update(right);
                    h.finalize().into()
                }
            };
            self.memo.insert((lo, hi), hash);
            hash
        }

        /// PATH(m, D[lo:hi]), §2.1.3.1 (m relative to lo).
        fn path(&mut self, m: usize, lo: usize, hi: usize) -> Vec<Hash> {
            let n = hi - lo;
            if n <= 1 {
                return Vec::new();
            }
            let k = Self::k(n);
            if m < k {
                let mut p = self.path(m, lo, lo + k);
                p.push(self.mth(lo + k, hi));
                p
            } else {
                let mut p = self.path(m - k, lo + k, hi);
                p.push(self.mth(lo, lo + k));
                p
            }
        }

        /// PROOF(m, D_n) = SUBPROOF(m, D_n, true), §2.1.4.1.
        fn proof(&mut self, m: usize, n: usize) -> Vec<Hash> {
            self.subproof(m, 0, n, true)
        }

        /// SUBPROOF(m, D[lo:hi], b) (m relative to lo).
        fn subproof(&mut self, m: usize, lo: usize, hi: usize, b: bool) -> Vec<Hash> {
            let n = hi - lo;
            if m == n {
                return if b {
                    Vec::new()
                } else {
                    vec![self.mth(lo, hi)]
                };
            }
            let k = Self::k(n);
            if m <= k {
                let mut p = self.subproof(m, lo, lo + k, b);
                p.push(self.mth(lo + k, hi));
                p
            } else {
                let mut p = self.subproof(m - k, lo + k, hi, false);
                p.push(self.mth(lo, lo + k));
                p
            }
        }
    }

    // ----- Helpers -----

    fn data(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let bytes = (i as u64).to_le_bytes();
                bytes[..1 + i % 8].to_vec()
            })
            .collect()
    }

    /// Builds the in-memory store by appending every record's hashes.
    fn build_store(d: &[Vec<u8>]) -> Vec<Hash> {
        let mut store: Vec<Hash> = Vec::new();
        for (n, item) in d.iter().enumerate() {
            let n = n as u64;
            assert_eq!(store.len() as u64, stored_hash_index(0, n));
            let hs = hashes_to_store(n, leaf_hash(item), &store).unwrap();
            assert_eq!(
                hs.len() as u64,
                stored_hash_count(n + 1) - stored_hash_count(n)
            );
            store.extend(hs);
        }
        assert_eq!(store.len() as u64, stored_hash_count(d.len() as u64));
        store
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn h(s: &str) -> Hash {
        hex(s).try_into().unwrap()
    }

    fn flip(mut x: Hash, bit: usize) -> Hash {
        x[bit / 8 % 32] ^= 1 << (bit % 8);
        x
    }

    struct Tree {
        data: Vec<Vec<u8>>,
        store: Vec<Hash>,
        /// Reference roots of every prefix, `roots[size]`.
        roots: Vec<Hash>,
    }

    fn tree_5000() -> &'static Tree {
        static TREE: OnceLock<Tree> = OnceLock::new();
        TREE.get_or_init(|| {
            let data = data(5000);
            let store = build_store(&data);
            let mut reference = Reference::new(&data);
            let roots = (0..=data.len())
                .map(|size| reference.mth(0, size))
                .collect();
            Tree { data, store, roots }
        })
    }

    // ----- Known answers -----
    //
    // The 8-leaf reference tree of Certificate Transparency:
    // google/certificate-transparency, cpp/merkletree/merkle_tree_test.cc
    // (kInputs, kSHA256EmptyTreeHash, kSHA256Roots, kSHA256Paths with 1-based
    // leaf numbers, kSHA256Proofs), and transparency-dev/merkle,
    // testonly/constants.go (LeafInputs, NodeHashes, RootHashes).

    const KAT_INPUTS: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    /// Roots of the trees of 0..=8 leaves.
    const KAT_ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    /// NodeHashes()[level][k] of the 8-leaf tree.
    const KAT_NODES: [&[&str]; 4] = [
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
            "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
        ],
        &[
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ],
        &[
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
        &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
    ];

    /// kSHA256Paths, with the C++ 1-based leaf numbers made 0-based.
    const KAT_PATHS: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    /// kSHA256Proofs: (old, new, proof).
    const KAT_CONSISTENCY: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];

    fn kat_data() -> Vec<Vec<u8>> {
        KAT_INPUTS.iter().map(|s| hex(s)).collect()
    }

    #[test]
    fn kat_hash_primitives() {
        assert_eq!(empty_root(), h(KAT_ROOTS[0]));
        assert_eq!(leaf_hash(b""), h(KAT_ROOTS[1]));
        let d = kat_data();
        assert_eq!(
            node_hash(&leaf_hash(&d[0]), &leaf_hash(&d[1])),
            h(KAT_NODES[1][0])
        );
    }

    #[test]
    fn kat_roots_and_stored_nodes() {
        let d = kat_data();
        let store = build_store(&d);
        for (size, root) in KAT_ROOTS.iter().enumerate() {
            assert_eq!(
                tree_hash(size as u64, &store).unwrap(),
                h(root),
                "size {size}"
            );
            assert_eq!(
                Reference::new(&d).mth(0, size),
                h(root),
                "reference, size {size}"
            );
        }
        for (level, nodes) in KAT_NODES.iter().enumerate() {
            for (k, node) in nodes.iter().enumerate() {
                let index = stored_hash_index(level as u32, k as u64) as usize;
                assert_eq!(store[index], h(node), "level {level} node {k}");
            }
        }
    }

    #[test]
    fn kat_inclusion_paths() {
        let d = kat_data();
        let store = build_store(&d);
        for (index, size, path) in KAT_PATHS {
            let want: Vec<Hash> = path.iter().map(|s| h(s)).collect();
            assert_eq!(inclusion_proof(index, size, &store).unwrap(), want);
            let leaf = leaf_hash(&d[index as usize]);
            let root = h(KAT_ROOTS[size as usize]);
            verify_inclusion(index, size, &leaf, &want, &root).unwrap();
        }
        // A single-leaf tree has an empty path.
        assert!(inclusion_proof(0, 1, &store).unwrap().is_empty());
        verify_inclusion(0, 1, &h(KAT_ROOTS[1]), &[], &h(KAT_ROOTS[1])).unwrap();
    }

    #[test]
    fn kat_consistency_proofs() {
        let d = kat_data();
        let store = build_store(&d);
        for (old, new, proof) in KAT_CONSISTENCY {
            let want: Vec<Hash> = proof.iter().map(|s| h(s)).collect();
            assert_eq!(consistency_proof(old, new, &store).unwrap(), want);
            let old_root = h(KAT_ROOTS[old as usize]);
            let new_root = h(KAT_ROOTS[new as usize]);
            verify_consistency(old, new, &old_root, &new_root, &want).unwrap();
        }
    }

    // ----- Stored-hash layout -----

    #[test]
    fn stored_layout_is_dense_and_level_ordered() {
        assert_eq!(stored_hash_count(0), 0);
        let expected = [
            (0, 0, 0),
            (0, 1, 1),
            (1, 0, 2),
            (0, 2, 3),
            (0, 3, 4),
            (1, 1, 5),
            (2, 0, 6),
        ];
        for (level, k, index) in expected {
            assert_eq!(stored_hash_index(level, k), index);
        }
        for size in 0..=300u64 {
            let mut seen = Vec::new();
            for level in 0..10u32 {
                let mut k = 0u64;
                while (k + 1) << level <= size {
                    seen.push(stored_hash_index(level, k));
                    k += 1;
                }
            }
            seen.sort_unstable();
            let all: Vec<u64> = (0..stored_hash_count(size)).collect();
            assert_eq!(seen, all, "size {size}");
        }
        assert_eq!(stored_hash_count(MAX_TREE_SIZE), (1 << 63) - 1);
        assert_eq!(stored_hash_count(u64::MAX), u64::MAX);
        assert_eq!(stored_hash_index(64, 0), u64::MAX);
        assert_eq!(stored_hash_index(0, u64::MAX), u64::MAX);
        assert_eq!(
            stored_hash_index(62, 0),
            stored_hash_count(MAX_TREE_SIZE) - 1
        );
    }

    // ----- Exhaustive comparison with the reference -----

    #[test]
    fn small_trees_match_reference() {
        let d = data(64);
        let store = build_store(&d);
        let mut reference = Reference::new(&d);
        assert_eq!(tree_hash(0, &store).unwrap(), empty_root());
        for size in 1..=64usize {
            let n = size as u64;
            let root = tree_hash(n, &store).unwrap();
            assert_eq!(root, reference.mth(0, size), "root {size}");
            for (index, item) in d.iter().enumerate().take(size) {
                let proof = inclusion_proof(index as u64, n, &store).unwrap();
                assert_eq!(proof, reference.path(index, 0, size), "path {index}/{size}");
                let leaf = leaf_hash(item);
                verify_inclusion(index as u64, n, &leaf, &proof, &root).unwrap();
            }
            for old in 0..=size {
                let proof = consistency_proof(old as u64, n, &store).unwrap();
                let old_root = tree_hash(old as u64, &store).unwrap();
                if old > 0 && old < size {
                    assert_eq!(proof, reference.proof(old, size), "proof {old}/{size}");
                } else {
                    assert!(proof.is_empty());
                }
                verify_consistency(old as u64, n, &old_root, &root, &proof).unwrap();
            }
        }
    }

    #[test]
    fn large_trees_match_reference() {
        // Every index and old size for 1000 and 4097; a stride plus the
        // boundaries for 65_537.
        for (size, stride) in [(1000usize, 1usize), (4097, 1), (65_537, 509)] {
            let d = data(size);
            let store = build_store(&d);
            let mut reference = Reference::new(&d);
            let n = size as u64;
            let root = tree_hash(n, &store).unwrap();
            assert_eq!(root, reference.mth(0, size), "root {size}");
            let mut picks: Vec<usize> = (0..size).step_by(stride).collect();
            picks.extend([1, 2, 3, 4095, 4096, 4097, 32_768, size - 2, size - 1]);
            picks.retain(|&i| i < size);
            for &index in &picks {
                let proof = inclusion_proof(index as u64, n, &store).unwrap();
                assert_eq!(proof, reference.path(index, 0, size), "path {index}/{size}");
                verify_inclusion(index as u64, n, &leaf_hash(&d[index]), &proof, &root).unwrap();
            }
            for &old in picks.iter().filter(|&&old| old > 0) {
                let proof = consistency_proof(old as u64, n, &store).unwrap();
                assert_eq!(proof, reference.proof(old, size), "proof {old}/{size}");
                let old_root = reference.mth(0, old);
                assert_eq!(tree_hash(old as u64, &store).unwrap(), old_root);
                verify_consistency(old as u64, n, &old_root, &root, &proof).unwrap();
            }
        }
    }

    // ----- Tampering -----

    #[test]
    fn tampered_inclusion_proofs_fail() {
        let d = data(64);
        let store = build_store(&d);
        let other_root = leaf_hash(b"another root");
        for size in 1..=64u64 {
            let root = tree_hash(size, &store).unwrap();
            for index in 0..size {
                let leaf = leaf_hash(&d[index as usize]);
                let proof = inclusion_proof(index, size, &store).unwrap();
                for i in 0..proof.len() {
                    for bit in [0, 77, 255] {
                        let mut bad = proof.clone();
                        bad[i] = flip(bad[i], bit);
                        assert!(verify_inclusion(index, size, &leaf, &bad, &root).is_err());
                    }
                }
                assert!(verify_inclusion(index, size, &flip(leaf, 3), &proof, &root).is_err());
                assert!(verify_inclusion(index, size, &leaf, &proof, &flip(root, 200)).is_err());
                assert!(verify_inclusion(index, size, &leaf, &proof, &other_root).is_err());
                // Any other index in the tree.
                for other in 0..size + 2 {
                    if other != index {
                        assert!(
                            verify_inclusion(other, size, &leaf, &proof, &root).is_err(),
                            "index {other} accepted for {index}/{size}"
                        );
                    }
                }
                // Wrong tree sizes, as in the CT reference suite.
                assert!(verify_inclusion(index, size * 2, &leaf, &proof, &root).is_err());
                assert!(verify_inclusion(index, size / 2, &leaf, &proof, &root).is_err());
                assert!(verify_inclusion(index, 0, &leaf, &proof, &root).is_err());
                // Extra, missing and reordered elements.
                let mut longer = proof.clone();
                longer.push(root);
                assert!(verify_inclusion(index, size, &leaf, &longer, &root).is_err());
                let mut prefixed = vec![leaf];
                prefixed.extend_from_slice(&proof);
                assert!(verify_inclusion(index, size, &leaf, &prefixed, &root).is_err());
                if !proof.is_empty() {
                    let shorter = &proof[..proof.len() - 1];
                    assert!(verify_inclusion(index, size, &leaf, shorter, &root).is_err());
                }
                if proof.len() >= 2 && proof[0] != proof[1] {
                    let mut swapped = proof.clone();
                    swapped.swap(0, 1);
                    assert!(verify_inclusion(index, size, &leaf, &swapped, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn tampered_consistency_proofs_fail() {
        let d = data(64);
        let store = build_store(&d);
        let roots: Vec<Hash> = (0..=64).map(|s| tree_hash(s, &store).unwrap()).collect();
        for new in 1..=64u64 {
            let new_root = roots[new as usize];
            for old in 1..new {
                let old_root = roots[old as usize];
                let proof = consistency_proof(old, new, &store).unwrap();
                for i in 0..proof.len() {
                    for bit in [0, 77, 255] {
                        let mut bad = proof.clone();
                        bad[i] = flip(bad[i], bit);
                        assert!(
                            verify_consistency(old, new, &old_root, &new_root, &bad).is_err(),
                            "element {i} of {old}/{new}"
                        );
                    }
                }
                assert!(
                    verify_consistency(old, new, &flip(old_root, 1), &new_root, &proof).is_err()
                );
                assert!(
                    verify_consistency(old, new, &old_root, &flip(new_root, 1), &proof).is_err()
                );
                assert!(verify_consistency(old, new, &new_root, &old_root, &proof).is_err());
                assert!(verify_consistency(old, new, &old_root, &new_root, &[]).is_err());
                // Wrong sizes: every other old size, and new sizes from the CT suite.
                for other in 0..=new + 1 {
                    if other != old {
                        assert!(
                            verify_consistency(other, new, &old_root, &new_root, &proof).is_err(),
                            "old {other} accepted for {old}/{new}"
                        );
                    }
                }
                for other_new in [new * 2, new / 2] {
                    if other_new != new {
                        assert!(
                            verify_consistency(old, other_new, &old_root, &new_root, &proof)
                                .is_err(),
                            "new {other_new} accepted for {old}/{new}"
                        );
                    }
                }
                let mut longer = proof.clone();
                longer.push(proof[proof.len() - 1]);
                assert!(verify_consistency(old, new, &old_root, &new_root, &longer).is_err());
                let shorter = &proof[..proof.len() - 1];
                assert!(verify_consistency(old, new, &old_root, &new_root, shorter).is_err());
                let mut prefixed = vec![proof[0]];
                prefixed.extend_from_slice(&proof);
                assert!(verify_consistency(old, new, &old_root, &new_root, &prefixed).is_err());
            }
        }
    }

    #[test]
    fn consistency_edge_cases() {
        let empty = empty_root();
        let x = leaf_hash(b"x");
        // Equal sizes: empty proof, equal roots.
        verify_consistency(0, 0, &empty, &empty, &[]).unwrap();
        verify_consistency(5, 5, &x, &x, &[]).unwrap();
        assert!(matches!(
            verify_consistency(5, 5, &x, &empty, &[]),
            Err(MerkleError::RootMismatch)
        ));
        assert!(matches!(
            verify_consistency(5, 5, &x, &x, &[x]),
            Err(MerkleError::ProofLength {
                expected: 0,
                found: 1
            })
        ));
        // Old size 0: every tree extends the empty tree.
        verify_consistency(0, 9, &empty, &x, &[]).unwrap();
        assert!(matches!(
            verify_consistency(0, 9, &x, &x, &[]),
            Err(MerkleError::RootMismatch)
        ));
        assert!(matches!(
            verify_consistency(0, 9, &empty, &x, &[x]),
            Err(MerkleError::ProofLength {
                expected: 0,
                found: 1
            })
        ));
        // Time travel.
        assert!(matches!(
            verify_consistency(2, 1, &x, &x, &[]),
            Err(MerkleError::SizeOrder { old: 2, new: 1 })
        ));
        assert!(matches!(
            verify_consistency(1, 2, &x, &x, &[]),
            Err(MerkleError::ProofLength {
                expected: 1,
                found: 0
            })
        ));
    }

    /// Documents the property in the module docs: a proof does not pin the
    /// (new) tree size by itself; the size must come with the root.
    #[test]
    fn proofs_alone_do_not_bind_the_tree_size() {
        let d = data(6);
        let store = build_store(&d);
        let root5 = tree_hash(5, &store).unwrap();
        let proof = inclusion_proof(0, 5, &store).unwrap();
        let leaf = leaf_hash(&d[0]);
        verify_inclusion(0, 5, &leaf, &proof, &root5).unwrap();
        verify_inclusion(0, 6, &leaf, &proof, &root5).unwrap();
        let root6 = tree_hash(6, &store).unwrap();
        assert!(verify_inclusion(0, 6, &leaf, &proof, &root6).is_err());

        let root1 = tree_hash(1, &store).unwrap();
        let root3 = tree_hash(3, &store).unwrap();
        let proof = consistency_proof(1, 3, &store).unwrap();
        verify_consistency(1, 3, &root1, &root3, &proof).unwrap();
        verify_consistency(1, 4, &root1, &root3, &proof).unwrap();
        let root4 = tree_hash(4, &store).unwrap();
        assert!(verify_consistency(1, 4, &root1, &root4, &proof).is_err());
    }

    // ----- Errors -----

    struct FailingReader;

    impl HashReader for FailingReader {
        fn read_hashes(&self, _indexes: &[u64]) -> Result<Vec<Hash>, MerkleError> {
            Err(MerkleError::read(std::io::Error::other("disk on fire")))
        }
    }

    struct ShortReader;

    impl HashReader for ShortReader {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MerkleError> {
            Ok(vec![[0; 32]; indexes.len().saturating_sub(1)])
        }
    }

    #[test]
    fn errors_are_typed() {
        let d = data(10);
        let store = build_store(&d);
        assert!(matches!(
            inclusion_proof(10, 10, &store),
            Err(MerkleError::IndexOutOfRange {
                index: 10,
                size: 10
            })
        ));
        assert!(matches!(
            inclusion_proof(0, 0, &store),
            Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
        ));
        assert!(matches!(
            verify_inclusion(3, 3, &[0; 32], &[], &[0; 32]),
            Err(MerkleError::IndexOutOfRange { index: 3, size: 3 })
        ));
        assert!(matches!(
            verify_inclusion(0, 8, &[0; 32], &[], &[0; 32]),
            Err(MerkleError::ProofLength {
                expected: 3,
                found: 0
            })
        ));
        assert!(matches!(
            consistency_proof(4, 3, &store),
            Err(MerkleError::SizeOrder { old: 4, new: 3 })
        ));
        let too_big = MAX_TREE_SIZE + 1;
        assert!(matches!(
            tree_hash(too_big, &store),
            Err(MerkleError::SizeTooLarge { .. })
        ));
        assert!(matches!(
            inclusion_proof(0, too_big, &store),
            Err(MerkleError::SizeTooLarge { .. })
        ));
        assert!(matches!(
            consistency_proof(1, too_big, &store),
            Err(MerkleError::SizeTooLarge { .. })
        ));
        assert!(matches!(
            hashes_to_store(MAX_TREE_SIZE, [0; 32], &store),
            Err(MerkleError::SizeTooLarge { .. })
        ));
        // Sizes beyond the store are reported, including the last leaf.
        assert!(matches!(
            tree_hash(11, &store),
            Err(MerkleError::MissingHash { .. })
        ));
        assert!(matches!(
            inclusion_proof(10, 11, &store),
            Err(MerkleError::MissingHash { index }) if index == stored_hash_index(0, 10)
        ));
        assert!(matches!(
            inclusion_proof(3, 11, &store),
            Err(MerkleError::MissingHash { .. })
        ));
        assert!(matches!(
            consistency_proof(3, 11, &store),
            Err(MerkleError::MissingHash { .. })
        ));
        assert!(matches!(
            hashes_to_store(15, [0; 32], &store),
            Err(MerkleError::MissingHash { .. })
        ));
        // Reader failures keep their source.
        let err = tree_hash(5, &FailingReader).unwrap_err();
        assert!(matches!(err, MerkleError::Read(_)));
        let source = std::error::Error::source(&err).unwrap();
        assert_eq!(source.to_string(), "disk on fire");
        assert!(matches!(
            inclusion_proof(2, 7, &ShortReader),
            Err(MerkleError::ReadCount { .. })
        ));
        assert!(matches!(
            consistency_proof(2, 7, &ShortReader),
            Err(MerkleError::ReadCount { .. })
        ));
        // Trivial cases need no reads.
        assert_eq!(tree_hash(0, &FailingReader).unwrap(), empty_root());
        assert!(consistency_proof(0, 7, &FailingReader).unwrap().is_empty());
        assert!(inclusion_proof(0, 1, &store).unwrap().is_empty());
        assert_eq!(
            hashes_to_store(0, [7; 32], &FailingReader).unwrap(),
            vec![[7; 32]]
        );
        // Readers can be used as trait objects and slices.
        let dyn_reader: &dyn HashReader = &store;
        assert_eq!(
            tree_hash(10, dyn_reader).unwrap(),
            Reference::new(&d).mth(0, 10)
        );
        assert_eq!(
            tree_hash(10, store.as_slice()).unwrap(),
            Reference::new(&d).mth(0, 10)
        );
    }

    // ----- Huge trees without storage -----

    /// A virtual tree in which every leaf hash is the same: the hash of a
    /// complete subtree depends only on its level, so every stored hash of a
    /// tree of up to `MAX_TREE_SIZE` records can be answered without storage.
    /// Counts reads and rejects indexes beyond the tree.
    struct UniformTree {
        size: u64,
        levels: Vec<Hash>,
        reads: Cell<usize>,
        calls: Cell<usize>,
    }

    impl UniformTree {
        fn new(size: u64) -> Self {
            let mut levels = vec![leaf_hash(b"uniform")];
            for l in 0..63 {
                let below = levels[l];
                levels.push(node_hash(&below, &below));
            }
            Self {
                size,
                levels,
                reads: Cell::new(0),
                calls: Cell::new(0),
            }
        }

        /// Level of the stored hash at `index`: find the record n whose hashes
        /// contain it.
        fn level_of(&self, index: u64) -> Option<u32> {
            let (mut lo, mut hi) = (0u64, self.size);
            // Largest n < size with stored_hash_count(n) <= index.
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if stored_hash_count(mid) <= index {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
            let level = index.checked_sub(stored_hash_count(lo))?;
            (level <= u64::from(lo.trailing_ones())).then_some(level as u32)
        }

        /// MTH of the tree of `size` uniform leaves, by the RFC recursion.
        fn root(&self, size: u64) -> Hash {
            if size == 0 {
                return empty_root();
            }
            if size.is_power_of_two() {
                return self.levels[size.trailing_zeros() as usize];
            }
            let k = 1u64 << (63 - (size - 1).leading_zeros());
            node_hash(
                &self.levels[k.trailing_zeros() as usize],
                &self.root(size - k),
            )
        }
    }

    impl HashReader for UniformTree {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MerkleError> {
            self.calls.set(self.calls.get() + 1);
            self.reads.set(self.reads.get() + indexes.len());
            indexes
                .iter()
                .map(|&index| {
                    self.level_of(index)
                        .map(|l| self.levels[l as usize])
                        .ok_or(MerkleError::MissingHash { index })
                })
                .collect()
        }
    }

    #[test]
    fn huge_trees_use_logarithmic_reads() {
        for size in [
            MAX_TREE_SIZE,
            MAX_TREE_SIZE - 1,
            (1 << 40) + 12345,
            1_000_000_007,
        ] {
            let tree = UniformTree::new(size);
            let root = tree_hash(size, &tree).unwrap();
            assert_eq!(root, tree.root(size));
            assert_eq!(tree.calls.get(), 1);
            assert!(tree.reads.get() <= 64);
            for index in [0, 1, size / 3, size / 2 + 1, size - 2, size - 1] {
                tree.reads.set(0);
                tree.calls.set(0);
                let proof = inclusion_proof(index, size, &tree).unwrap();
                assert_eq!(tree.calls.get(), 1);
                assert!(tree.reads.get() <= 2 * 64, "{} reads", tree.reads.get());
                verify_inclusion(index, size, &tree.levels[0], &proof, &root).unwrap();
            }
            for old in [1, 2, 3, size / 3, size / 2 + 1, size - 1] {
                tree.reads.set(0);
                tree.calls.set(0);
                let proof = consistency_proof(old, size, &tree).unwrap();
                assert_eq!(tree.calls.get(), 1);
                assert!(tree.reads.get() <= 2 * 64, "{} reads", tree.reads.get());
                verify_consistency(old, size, &tree.root(old), &root, &proof).unwrap();
            }
        }
    }

    // ----- Property tests -----

    fn arb_hash() -> impl Strategy<Value = Hash> {
        any::<[u8; 32]>()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn prop_stored_proofs_verify(size in 1u64..=5000, index_seed in any::<u64>(), old_seed in any::<u64>()) {
            let tree = tree_5000();
            let index = index_seed % size;
            let old = old_seed % (size + 1);
            let root = tree_hash(size, &tree.store).unwrap();
            prop_assert_eq!(root, tree.roots[size as usize]);
            let leaf = leaf_hash(&tree.data[index as usize]);
            let proof = inclusion_proof(index, size, &tree.store).unwrap();
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root).is_ok());
            let old_root = tree_hash(old, &tree.store).unwrap();
            let cproof = consistency_proof(old, size, &tree.store).unwrap();
            prop_assert!(verify_consistency(old, size, &old_root, &root, &cproof).is_ok());
        }

        #[test]
        fn prop_huge_proofs_verify(size in 1u64..=MAX_TREE_SIZE, index_seed in any::<u64>(), old_seed in any::<u64>()) {
            let tree = UniformTree::new(size);
            let index = index_seed % size;
            let old = old_seed % (size + 1);
            let root = tree_hash(size, &tree).unwrap();
            prop_assert_eq!(root, tree.root(size));
            let proof = inclusion_proof(index, size, &tree).unwrap();
            prop_assert!(verify_inclusion(index, size, &tree.levels[0], &proof, &root).is_ok());
            let cproof = consistency_proof(old, size, &tree).unwrap();
            prop_assert!(verify_consistency(old, size, &tree.root(old), &root, &cproof).is_ok());
            prop_assert!(tree.reads.get() <= 64 + 2 * 2 * 64);
        }

        #[test]
        fn prop_random_proofs_are_rejected(
            index in any::<u64>(),
            size in any::<u64>(),
            old in any::<u64>(),
            leaf in arb_hash(),
            root_a in arb_hash(),
            root_b in arb_hash(),
            proof in proptest::collection::vec(arb_hash(), 0..80),
        ) {
            prop_assert!(verify_inclusion(index, size, &leaf, &proof, &root_a).is_err());
            prop_assert!(verify_inclusion(index % 70, size % 70, &leaf, &proof, &root_a).is_err());
            prop_assert!(verify_consistency(old, size, &root_a, &root_b, &proof).is_err());
            prop_assert!(verify_consistency(old % 70, size % 70, &root_a, &root_b, &proof).is_err());
            let (small_old, small_new) = (old.min(size), old.max(size));
            prop_assert!(verify_consistency(small_old, small_new, &root_a, &root_b, &proof).is_err());
        }

        #[test]
        fn prop_arbitrary_requests_never_panic(index in any::<u64>(), size in any::<u64>(), old in any::<u64>(), small in 0u64..80) {
            let store = &tree_5000().store;
            let _ = tree_hash(size, store);
            let _ = tree_hash(small, store);
            let _ = inclusion_proof(index, size, store);
            let _ = inclusion_proof(index % 80, small, store);
            let _ = consistency_proof(old, size, store);
            let _ = consistency_proof(old % 80, small, store);
            let _ = hashes_to_store(index, [0; 32], store);
            let _ = stored_hash_index((index % 70) as u32, size);
            let _ = stored_hash_count(size);
        }
    }
}
