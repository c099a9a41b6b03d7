//! `elicense ledger verify`: recompute everything from the stored events — the hash chain,
//! every stored Merkle hash, the licence records, the status-list slots, the stored paper
//! seals, and every signed checkpoint — and name the first inconsistency.

use super::checkpoint::{self, NoteVerifier};
use super::event::{Event, EventFormatError, EventKind, LicenceRecord, TransitionError};
use super::merkle::{self, Hash};
use super::storage;
use super::store::{self, Ledger};
use crate::jose::b64u_encode;
use std::collections::HashMap;
use std::path::Path;

/// What a clean check covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrityReport {
    /// Events checked.
    pub events: u64,
    /// Licences replayed.
    pub licences: usize,
    /// Checkpoints whose signature and root were checked.
    pub checkpoints: usize,
    /// The tree head over all events.
    pub root: Hash,
}

/// The first inconsistency found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IntegrityError {
    /// The database failed.
    #[error("ledger database error")]
    Db(#[source] sled::Error),
    /// The ledger could not be read.
    #[error("the ledger could not be read")]
    Ledger(#[source] Box<super::LedgerError>),
    /// [`verify_dir`] could not open the database in the directory (held by another
    /// process, read-only, missing …): nothing was checked.
    #[error("the ledger's database could not be opened")]
    Open(#[source] Box<super::LedgerError>),
    /// A sequence number has no event.
    #[error("event {seq} is missing (deleted?)")]
    EventMissing {
        /// The missing sequence number.
        seq: u64,
    },
    /// An event stored under another event's position.
    #[error("the event stored at position {position} says it is event {seq} (reordered?)")]
    EventOutOfPlace {
        /// Where it is stored.
        position: u64,
        /// What it says.
        seq: u64,
    },
    /// Event bytes that are not a canonical event.
    #[error("event {seq} is corrupt")]
    EventCorrupt {
        /// The event.
        seq: u64,
        /// How.
        #[source]
        source: EventFormatError,
    },
    /// `prev` is not the previous event's leaf hash.
    #[error("event {seq} does not chain to event {}: its prev hash is wrong (altered or reordered)", seq.saturating_sub(1))]
    BrokenChain {
        /// The event.
        seq: u64,
    },
    /// A stored Merkle hash differs from the one recomputed from the events.
    #[error("the Merkle hashes stored for event {seq} do not match its bytes (event altered?)")]
    HashMismatch {
        /// The event whose hashes differ.
        seq: u64,
    },
    /// The stored tree size is not the number of events.
    #[error("the ledger says it holds {stored} events but {found} are stored")]
    SizeMismatch {
        /// What the metadata says.
        stored: u64,
        /// What is there.
        found: u64,
    },
    /// A status change to an unknown licence.
    #[error("event {seq} changes licence {licence_id}, which was never issued")]
    UnknownLicence {
        /// The event.
        seq: u64,
        /// The identifier.
        licence_id: String,
    },
    /// A licence issued twice, or a slot used twice.
    #[error(
        "event {seq} issues {licence_id}, but the licence or its status slot was already issued"
    )]
    DuplicateIssue {
        /// The event.
        seq: u64,
        /// The identifier.
        licence_id: String,
    },
    /// A transition the state machine forbids.
    #[error("event {seq} is an illegal change of {licence_id}")]
    IllegalTransition {
        /// The event.
        seq: u64,
        /// The identifier.
        licence_id: String,
        /// Why.
        #[source]
        source: TransitionError,
    },
    /// A stored record that the events do not produce.
    #[error("the stored record of {licence_id} differs from what its events produce")]
    RecordMismatch {
        /// The identifier.
        licence_id: String,
    },
    /// A stored status slot that the events do not produce.
    #[error("a stored status-list slot differs from what the events produce ({detail})")]
    SlotMismatch {
        /// Which.
        detail: String,
    },
    /// A stored paper seal that is not a seal of an issued licence under its key.
    #[error("the stored paper seal of {licence_id} {problem}")]
    SealMismatch {
        /// The licence it is stored under.
        licence_id: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A checkpoint whose signature does not verify.
    #[error("the checkpoint for size {size} does not verify")]
    CheckpointInvalid {
        /// The tree size it is stored under.
        size: u64,
        /// Why.
        #[source]
        source: checkpoint::SignedCheckpointError,
    },
    /// A checkpoint whose root differs from the recomputed one.
    #[error("the signed checkpoint for size {size} has another root than the events produce: the log was rewritten")]
    CheckpointMismatch {
        /// The tree size.
        size: u64,
    },
}

/// Recomputes the ledger from its events. Checkpoints are checked against `verifiers`
/// (the log's public keys) and must carry `origin`.
pub fn verify_ledger(
    ledger: &Ledger,
    origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<IntegrityReport, IntegrityError> {
    let db = ledger
        .db()
        .map_err(|e| IntegrityError::Ledger(Box::new(e)))?;
    verify_db(&db, origin, verifiers)
}

/// [`verify_ledger`] on the ledger stored in `dir`, which must not be open: reads the
/// database itself, so it works even when the ledger would not open (a corrupt record, say)
/// and trusts nothing a ledger keeps in memory. Snapshots the database left unfinished are
/// removed first, as opening a [`Ledger`] does. [`IntegrityError::Open`] if the database
/// cannot be opened (its [`LedgerError::storage_cause`](super::LedgerError::storage_cause)
/// names why).
pub fn verify_dir(
    dir: &Path,
    origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<IntegrityReport, IntegrityError> {
    match storage::remove_unfinished_snapshots(dir) {
        Ok(removed) if !removed.is_empty() => tracing::warn!(
            target: "elicense::ledger",
            files = ?removed,
            "removed unfinished sled snapshots before checking the ledger"
        ),
        // A directory this process cannot change: opening it fails below with the cause.
        Ok(_) | Err(_) => {}
    }
    let db = store::open_db(&sled::Config::new().path(dir), dir)
        .map_err(|e| IntegrityError::Open(Box::new(e)))?;
    verify_db(&db, origin, verifiers)
}

/// The check on an open database.
fn verify_db(
    db: &sled::Db,
    origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<IntegrityReport, IntegrityError> {
    let mut hashes: Vec<Hash> = Vec::new();
    let mut records: HashMap<String, LicenceRecord> = HashMap::new();
    let mut slots: HashMap<(String, u32, u64), String> = HashMap::new();
    let mut prev: Option<Hash> = None;
    let mut position = 0u64;
    for item in db.scan_prefix(b"e") {
        let (key, bytes) = item.map_err(IntegrityError::Db)?;
        let key_seq = key
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(u64::MAX);
        if key_seq != position {
            return Err(IntegrityError::EventMissing { seq: position });
        }
        let event = Event::from_bytes(&bytes).map_err(|source| IntegrityError::EventCorrupt {
            seq: position,
            source,
        })?;
        if event.seq != position {
            return Err(IntegrityError::EventOutOfPlace {
                position,
                seq: event.seq,
            });
        }
        if event.prev != prev.map(b64u_encode).unwrap_or_default() {
            return Err(IntegrityError::BrokenChain { seq: position });
        }
        let leaf = merkle::leaf_hash(&bytes);
        let new = merkle::hashes_to_store(position, leaf, &hashes)
            .map_err(|_| IntegrityError::HashMismatch { seq: position })?;
        let first = merkle::stored_hash_index(0, position);
        for (i, h) in new.iter().enumerate() {
            let stored = db
                .get(hash_key(first + i as u64))
                .map_err(IntegrityError::Db)?;
            if stored.as_deref() != Some(&h[..]) {
                return Err(IntegrityError::HashMismatch { seq: position });
            }
        }
        hashes.extend(new);
        replay(&event, &mut records, &mut slots)?;
        prev = Some(leaf);
        position += 1;
    }
    let stored_size = match db.get(b"msize").map_err(IntegrityError::Db)? {
        None if position == 0 => 0,
        None => u64::MAX,
        Some(v) => v
            .as_ref()
            .try_into()
            .map(u64::from_be_bytes)
            .unwrap_or(u64::MAX),
    };
    if stored_size != position {
        return Err(IntegrityError::SizeMismatch {
            stored: stored_size,
            found: position,
        });
    }
    compare_records(db, &records, &slots)?;
    let mut checkpoints = Vec::new();
    for item in db.scan_prefix(b"c") {
        let (k, v) = item.map_err(IntegrityError::Db)?;
        let size = k
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(u64::MAX);
        checkpoints.push((size, String::from_utf8_lossy(&v).into_owned()));
    }
    for (size, note) in &checkpoints {
        let cp = checkpoint::open_checkpoint(note, origin, verifiers).map_err(|source| {
            IntegrityError::CheckpointInvalid {
                size: *size,
                source,
            }
        })?;
        let c = cp.checkpoint();
        let root = if c.size <= position {
            merkle::tree_hash(c.size, &hashes).ok()
        } else {
            None
        };
        if c.size != *size || root != Some(c.root) {
            return Err(IntegrityError::CheckpointMismatch { size: *size });
        }
    }
    Ok(IntegrityReport {
        events: position,
        licences: records.len(),
        checkpoints: checkpoints.len(),
        root: merkle::tree_hash(position, &hashes)
            .map_err(|_| IntegrityError::HashMismatch { seq: position })?,
    })
}

fn hash_key(index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'h';
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn replay(
    e: &Event,
    records: &mut HashMap<String, LicenceRecord>,
    slots: &mut HashMap<(String, u32, u64), String>,
) -> Result<(), IntegrityError> {
    match e.kind {
        EventKind::Issued => {
            let record =
                LicenceRecord::from_issued(e).ok_or_else(|| IntegrityError::DuplicateIssue {
                    seq: e.seq,
                    licence_id: e.licence_id.clone(),
                })?;
            let slot = (record.issuer.clone(), record.list, record.idx);
            if records.contains_key(&e.licence_id) || slots.contains_key(&slot) {
                return Err(IntegrityError::DuplicateIssue {
                    seq: e.seq,
                    licence_id: e.licence_id.clone(),
                });
            }
            slots.insert(slot, e.licence_id.clone());
            records.insert(e.licence_id.clone(), record);
        }
        _ => {
            let current =
                records
                    .get(&e.licence_id)
                    .ok_or_else(|| IntegrityError::UnknownLicence {
                        seq: e.seq,
                        licence_id: e.licence_id.clone(),
                    })?;
            let next = current
                .after(e)
                .map_err(|source| IntegrityError::IllegalTransition {
                    seq: e.seq,
                    licence_id: e.licence_id.clone(),
                    source,
                })?;
            records.insert(e.licence_id.clone(), next);
        }
    }
    Ok(())
}

fn compare_records(
    db: &sled::Db,
    records: &HashMap<String, LicenceRecord>,
    slots: &HashMap<(String, u32, u64), String>,
) -> Result<(), IntegrityError> {
    let mut stored_records = 0usize;
    for item in db.scan_prefix(b"l") {
        let (key, value) = item.map_err(IntegrityError::Db)?;
        let id = String::from_utf8_lossy(&key[1..]).into_owned();
        let stored: Option<LicenceRecord> = serde_json::from_slice(&value).ok();
        if stored.as_ref() != records.get(&id) {
            return Err(IntegrityError::RecordMismatch { licence_id: id });
        }
        stored_records += 1;
    }
    if stored_records != records.len() {
        let missing = records
            .keys()
            .find(|id| db.get(record_key(id)).ok().flatten().is_none())
            .cloned()
            .unwrap_or_default();
        return Err(IntegrityError::RecordMismatch {
            licence_id: missing,
        });
    }
    let mut stored_slots = 0usize;
    for item in db.scan_prefix(b"i") {
        let (key, value) = item.map_err(IntegrityError::Db)?;
        let parsed = parse_slot_key(&key);
        let id = String::from_utf8_lossy(&value).into_owned();
        if parsed.as_ref().and_then(|k| slots.get(k)) != Some(&id) {
            return Err(IntegrityError::SlotMismatch {
                detail: format!("slot for {id}"),
            });
        }
        stored_slots += 1;
    }
    if stored_slots != slots.len() {
        return Err(IntegrityError::SlotMismatch {
            detail: format!("{} slots stored, {} issued", stored_slots, slots.len()),
        });
    }
    // Seals are side records (not Merkle leaves): each must belong to an issued licence and
    // name it. Their signatures are the agency's, checked whenever one is verified.
    for item in db.scan_prefix(b"s") {
        let (key, value) = item.map_err(IntegrityError::Db)?;
        let licence_id = String::from_utf8_lossy(&key[1..]).into_owned();
        let mismatch = |problem| IntegrityError::SealMismatch {
            licence_id: licence_id.clone(),
            problem,
        };
        if !records.contains_key(&licence_id) {
            return Err(mismatch("belongs to no issued licence"));
        }
        let text = std::str::from_utf8(&value).map_err(|_| mismatch("is not text"))?;
        let seal = crate::seal::decode(text).map_err(|_| mismatch("does not decode"))?;
        if seal.claims().licence_id.to_string() != licence_id {
            return Err(mismatch("names another licence"));
        }
    }
    Ok(())
}

fn record_key(id: &str) -> Vec<u8> {
    let mut k = vec![b'l'];
    k.extend_from_slice(id.as_bytes());
    k
}

fn parse_slot_key(key: &[u8]) -> Option<(String, u32, u64)> {
    let rest = key.get(1..)?;
    let zero = rest.iter().position(|b| *b == 0)?;
    let issuer = std::str::from_utf8(&rest[..zero]).ok()?.to_owned();
    let tail = rest.get(zero + 1..)?;
    if tail.len() != 12 {
        return None;
    }
    let list = u32::from_be_bytes(tail[..4].try_into().ok()?);
    let idx = u64::from_be_bytes(tail[4..].try_into().ok()?);
    Some((issuer, list, idx))
}
