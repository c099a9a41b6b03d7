//! The ledger on sled: every issuance and status change as an event, committed atomically
//! with the licence record, the status-list allocation and the Merkle tree hashes, and
//! acknowledged only once flushed to disk (group commit).
//!
//! **What is seen is what is durable.** No reader — a licence's status, verification, the
//! status lists signed for publication, checkpoints, proofs, the size in `/readyz` — sees a
//! change before the sync that makes it durable has returned ([`super::view`]). A write that
//! fails leaves the ledger refusing changes ([`LedgerError::Unavailable`]) with readers still
//! on the last durable state, until [`Ledger::recover`] reopens it from disk.
//!
//! Keys in the one sled tree:
//!
//! ```text
//! e ‖ seq (u64 BE)                         event, canonical JSON (a Merkle leaf)
//! h ‖ index (u64 BE)                       stored Merkle hash (leaves and complete subtrees)
//! l ‖ licence id                           licence record (JSON)
//! i ‖ issuer ‖ 0 ‖ list (u32 BE) ‖ idx (u64 BE)   status-list slot → licence id
//! c ‖ size (u64 BE)                        signed checkpoint (C2SP signed note)
//! s ‖ licence id                           the licence's paper seal (`EL1:…`), for printing
//! t ‖ licence id                           the issued licence and its request's digest (JSON)
//! m ‖ "size"                               number of events (u64 BE)
//! ```

pub use super::error::LedgerError;
use super::event::{Action, AdminStatus, Event, EventKind, LicenceRecord, Reason, MAX_NOTE_LEN};
use super::flush::GroupFlush;
use super::merkle::{self, Hash, HashReader, MerkleError};
use super::storage::StorageCause;
use super::view::Masks;
use crate::jose::b64u_encode;
use crate::licence::codes::Uscc;
use crate::licence::identifier::LicenceId;
use crate::salt::{RandomPool, SaltSource as _};
use crate::status_list::Status;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

mod commit;
mod layout;
mod lists;
mod open;
mod readers;

use layout::{
    checkpoint_key, copy_key, event_key, hash_key, record_key, seal_key, slot_key, DbHashes,
    SIZE_KEY,
};
use lists::{list_entry, ListState, LIST_FILL_LIMIT};
pub use lists::{LIST_CAPACITY, STATUS_BITS};
pub(crate) use open::{db_error, open_db};
use open::{load_writer, open_store};

/// sled's page cache unless configured: enough for the working set of a small server's
/// ledger (records, recent events and hashes), and a bound on its memory.
pub const DEFAULT_CACHE_BYTES: u64 = 64 << 20;

/// Where a licence's status lives: list `list` of its issuer, entry `idx`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusSlot {
    /// The list number.
    pub list: u32,
    /// The entry.
    pub idx: u64,
}

/// Proof that a change is on disk: its position in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// The event's sequence number (its leaf index).
    pub seq: u64,
    /// The event's leaf hash.
    pub leaf: Hash,
    /// The tree size once it was appended.
    pub tree_size: u64,
}

/// The licence as issued, kept beside its record so that a retried issuance (the same
/// request again, after a lost answer) gets the same licence back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IssuedCopy {
    /// The SD-JWT VC, every disclosure included.
    pub sd_jwt: String,
    /// SHA-256 of the canonical JSON of the request it was issued from, base64url.
    pub request_digest: String,
}

/// How the ledger uses memory and disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerOptions {
    /// sled's page cache, bytes (the bulk of the ledger's memory under write load).
    pub cache_bytes: u64,
}

impl Default for LedgerOptions {
    fn default() -> Self {
        Self {
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }
}

/// A status-list entry change waiting for its event to be durable.
#[derive(Debug)]
struct StatusChange {
    seq: u64,
    issuer: String,
    list: u32,
    idx: u64,
    status: Status,
}

/// What only the single writer touches (and the readers of durable statuses).
#[derive(Debug)]
struct Writer {
    /// Events appended (applied to sled or pending): the next event's sequence number.
    next_seq: u64,
    /// Events applied to sled (not necessarily on disk).
    applied: u64,
    /// Events on disk: the tree size readers see.
    durable: u64,
    /// Set when a write failed: memory and sled no longer match the disk, so every
    /// change is refused until [`Ledger::recover`] reloads the state from disk.
    failed: Option<StorageCause>,
    prev: Option<Hash>,
    lists: HashMap<(String, u32), ListState>,
    current: HashMap<String, u32>,
    /// Events committed in memory, not yet in sled: the next flush leader applies them
    /// as one batch (sled 0.34 writes out its io buffer twice per `apply_batch`).
    pending: sled::Batch,
    pending_records: HashMap<String, LicenceRecord>,
    pending_hashes: HashMap<u64, Hash>,
    pending_slots: HashSet<Vec<u8>>,
    /// What the flush leader is applying right now, outside the writer lock: still
    /// consulted by writers until it is in sled.
    applying: Staged,
    /// Status changes of events not yet durable, in sequence order.
    undurable: VecDeque<StatusChange>,
    /// Checkpoints stored but not yet synced (kept after a failed sync, until reopened).
    unsynced_checkpoints: HashSet<u64>,
    /// Lists with durable changes since the last [`Ledger::take_changed_lists`].
    changed: BTreeSet<(String, u32)>,
}

/// Records, hashes and slots of a batch being applied.
#[derive(Debug, Default)]
struct Staged {
    records: HashMap<String, LicenceRecord>,
    hashes: HashMap<u64, Hash>,
    slots: HashSet<Vec<u8>>,
}

/// Stored hashes, the pending and applying ones first.
struct PendingHashes<'a>(&'a sled::Db, &'a HashMap<u64, Hash>, &'a HashMap<u64, Hash>);

impl HashReader for PendingHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, MerkleError> {
        indexes
            .iter()
            .map(|&i| match self.1.get(&i).or_else(|| self.2.get(&i)) {
                Some(h) => Ok(*h),
                None => DbHashes(self.0).read_hashes(&[i]).map(|v| v[0]),
            })
            .collect()
    }
}

/// The open database and its log file (for `fdatasync`).
#[derive(Debug)]
struct Store {
    db: sled::Db,
    log: std::fs::File,
}

/// The ledger.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    options: LedgerOptions,
    /// `None` only while [`Ledger::recover`] swaps the database.
    store: RwLock<Option<Arc<Store>>>,
    writer: Mutex<Writer>,
    /// Licences whose newest changes are not durable yet (see [`super::view`]).
    masks: Mutex<Masks>,
    flush: GroupFlush,
    random: RandomPool,
    /// Held by whoever applies pending events (a flush leader, a checkpoint write, a
    /// recovery), so there is only ever one batch in `applying`.
    apply: Mutex<()>,
}

impl Ledger {
    /// Opens (or creates) the ledger in `dir` with the default options.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        Self::open_with(dir, LedgerOptions::default())
    }

    /// Opens (or creates) the ledger in `dir`, restoring the writer's state from disk.
    pub fn open_with(dir: &Path, options: LedgerOptions) -> Result<Self, LedgerError> {
        let store = open_store(dir, &options)?;
        let writer = load_writer(&store.db)?;
        let flush = GroupFlush::default();
        flush.recovered(writer.durable);
        Ok(Self {
            dir: dir.to_owned(),
            options,
            store: RwLock::new(Some(Arc::new(store))),
            writer: Mutex::new(writer),
            masks: Mutex::new(Masks::default()),
            flush,
            random: RandomPool::default(),
            apply: Mutex::new(()),
        })
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn masks(&self) -> MutexGuard<'_, Masks> {
        self.masks.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn store(&self) -> Result<Arc<Store>, LedgerError> {
        self.store
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                self.unavailable(StorageCause::Io("the ledger is being reopened".into()))
            })
    }

    fn unavailable(&self, cause: StorageCause) -> LedgerError {
        LedgerError::Unavailable {
            cause,
            dir: self.dir.clone(),
        }
    }

    /// A sled error as a ledger error, naming the storage cause when there is one.
    fn db_error(&self, e: sled::Error) -> LedgerError {
        db_error(&self.dir, e)
    }

    /// Number of events on disk (the Merkle tree size readers can prove against).
    pub fn size(&self) -> u64 {
        self.writer().durable
    }

    /// How many flushes group commit has performed.
    pub fn flushes(&self) -> u64 {
        self.flush.flushes()
    }

    /// Why the ledger takes no changes now (a write failed and it was not reopened since).
    pub fn failure(&self) -> Option<StorageCause> {
        self.writer().failed.clone()
    }

    /// Draws a fresh status-list slot for `issuer`'s next licence: at random inside the
    /// issuer's current list, never one used before. The slot is held in memory and
    /// becomes permanent when the issuance is recorded.
    pub fn reserve(&self, issuer: &Uscc) -> Result<StatusSlot, LedgerError> {
        let mut w = self.writer();
        if let Some(cause) = &w.failed {
            return Err(self.unavailable(cause.clone()));
        }
        let issuer = issuer.as_str().to_owned();
        let mut list_no = *w.current.get(&issuer).unwrap_or(&0);
        loop {
            let state = list_entry(&mut w.lists, &issuer, list_no)?;
            if state.count < LIST_FILL_LIMIT {
                break;
            }
            list_no = list_no.checked_add(1).ok_or(LedgerError::ListsExhausted)?;
        }
        w.current.insert(issuer.clone(), list_no);
        let state = list_entry(&mut w.lists, &issuer, list_no)?;
        for _ in 0..64 {
            let mut b = [0u8; 8];
            self.random
                .fill(&mut b)
                .map_err(|_| LedgerError::Randomness)?;
            let idx = u64::from_le_bytes(b) % LIST_CAPACITY;
            if !state.is_used(idx) {
                state.mark(idx);
                return Ok(StatusSlot { list: list_no, idx });
            }
        }
        Err(LedgerError::Randomness)
    }

    /// Records the issuance of `id` in `slot` (from [`reserve`](Self::reserve)); returns
    /// once it is on disk.
    pub fn record_issued(
        &self,
        id: &LicenceId,
        slot: StatusSlot,
        jwt_digest: &str,
        actor: &str,
        at: i64,
    ) -> Result<Receipt, LedgerError> {
        self.record_issued_licence(id, slot, jwt_digest, None, None, actor, at)
    }

    /// [`record_issued`](Self::record_issued), keeping the licence's paper seal beside the
    /// record (in the same atomic batch; not a Merkle leaf) so that it can be printed later.
    pub fn record_issued_with_seal(
        &self,
        id: &LicenceId,
        slot: StatusSlot,
        jwt_digest: &str,
        seal: Option<&str>,
        actor: &str,
        at: i64,
    ) -> Result<Receipt, LedgerError> {
        self.record_issued_licence(id, slot, jwt_digest, seal, None, actor, at)
    }

    /// [`record_issued_with_seal`](Self::record_issued_with_seal), keeping the issued
    /// licence itself too (`copy`), so that a retry of the same request can be answered
    /// with it ([`issued_copy`](Self::issued_copy)).
    #[allow(clippy::too_many_arguments)]
    pub fn record_issued_licence(
        &self,
        id: &LicenceId,
        slot: StatusSlot,
        jwt_digest: &str,
        seal: Option<&str>,
        copy: Option<&IssuedCopy>,
        actor: &str,
        at: i64,
    ) -> Result<Receipt, LedgerError> {
        let issuer = id.issuer().as_str();
        let licence_id = id.to_string();
        let store = self.store()?;
        let copy = copy
            .map(serde_json::to_vec)
            .transpose()
            .map_err(LedgerError::Encode)?;
        let in_flight = self.flush.writer();
        let mut w = self.writer();
        if let Some(cause) = &w.failed {
            return Err(self.unavailable(cause.clone()));
        }
        if w.pending_records.contains_key(&licence_id)
            || w.applying.records.contains_key(&licence_id)
            || self.stored_record(&store.db, &licence_id)?.is_some()
        {
            return Err(LedgerError::AlreadyIssued { licence_id });
        }
        let reserved = w
            .lists
            .get(&(issuer.to_owned(), slot.list))
            .is_some_and(|l| l.is_used(slot.idx));
        let key = slot_key(issuer, slot.list, slot.idx);
        let taken = w.pending_slots.contains(&key)
            || w.applying.slots.contains(&key)
            || store.db.contains_key(&key).map_err(|e| self.db_error(e))?;
        if !reserved || taken {
            return Err(LedgerError::SlotNotReserved {
                list: slot.list,
                idx: slot.idx,
            });
        }
        let event = Event {
            seq: w.next_seq,
            prev: w.prev.map(b64u_encode).unwrap_or_default(),
            kind: EventKind::Issued,
            licence_id: licence_id.clone(),
            issuer: issuer.to_owned(),
            actor: actor.to_owned(),
            at,
            reason: None,
            admin_status: None,
            note: None,
            list: Some(slot.list),
            idx: Some(slot.idx),
            jwt_digest: Some(jwt_digest.to_owned()),
        };
        let record = LicenceRecord::from_issued(&event).ok_or(LedgerError::Corrupt {
            what: "issued event without its slot".into(),
        })?;
        // Only once the event is staged: a refused append leaves nothing behind in the
        // batch. (Still under the writer lock, so these join the event's batch.)
        let (receipt, generation) = self.append(&store.db, &mut w, &event, None, &record)?;
        w.pending.insert(key.clone(), licence_id.as_bytes());
        w.pending_slots.insert(key);
        if let Some(seal) = seal {
            w.pending.insert(seal_key(&licence_id), seal.as_bytes());
        }
        if let Some(copy) = copy {
            w.pending.insert(copy_key(&licence_id), copy);
        }
        drop(w);
        drop(in_flight);
        self.wait_durable(receipt, generation)
    }

    /// Applies a status change by agency `actor` to licence `licence_id`; returns once it
    /// is on disk, with the licence's new record.
    #[allow(clippy::too_many_arguments)]
    pub fn change(
        &self,
        licence_id: &str,
        action: Action,
        actor: &Uscc,
        reason: Option<Reason>,
        admin_status: Option<AdminStatus>,
        note: Option<&str>,
        at: i64,
    ) -> Result<(Receipt, LicenceRecord), LedgerError> {
        if let Some(a) = admin_status {
            if a.action() != action {
                return Err(LedgerError::AdminStatusMismatch {
                    admin_status: a,
                    action: action.name(),
                });
            }
        }
        if let (Some(a), Some(r)) = (admin_status, reason) {
            if r != a.reason() {
                return Err(LedgerError::ReasonContradicts {
                    reason: r.name(),
                    admin_status: a,
                });
            }
        }
        let reason = reason
            .or(admin_status.map(AdminStatus::reason))
            .unwrap_or(match action {
                Action::Suspend => Reason::CertificateHold,
                Action::Reinstate => Reason::RemoveFromCrl,
                Action::Revoke => Reason::Unspecified,
            });
        if !reason.fits(action) {
            return Err(LedgerError::ReasonMismatch {
                reason: reason.name(),
                action: action.name(),
            });
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE_LEN) {
            return Err(LedgerError::NoteTooLong { max: MAX_NOTE_LEN });
        }
        let store = self.store()?;
        let in_flight = self.flush.writer();
        let mut w = self.writer();
        if let Some(cause) = &w.failed {
            return Err(self.unavailable(cause.clone()));
        }
        let pending = w
            .pending_records
            .get(licence_id)
            .or_else(|| w.applying.records.get(licence_id))
            .cloned();
        let record = match pending {
            Some(r) => Some(r),
            None => self.stored_record(&store.db, licence_id)?,
        }
        .ok_or_else(|| LedgerError::UnknownLicence {
            licence_id: licence_id.to_owned(),
        })?;
        if record.issuer != actor.as_str() {
            return Err(LedgerError::NotYourLicence {
                licence_id: licence_id.to_owned(),
                issuer: record.issuer,
                actor: actor.to_string(),
            });
        }
        let event = Event {
            seq: w.next_seq,
            prev: w.prev.map(b64u_encode).unwrap_or_default(),
            kind: action.kind(),
            licence_id: licence_id.to_owned(),
            issuer: record.issuer.clone(),
            actor: actor.to_string(),
            at,
            reason: Some(reason),
            admin_status,
            note: note.map(str::to_owned),
            list: None,
            idx: None,
            jwt_digest: None,
        };
        let next = record
            .after(&event)
            .map_err(|source| LedgerError::Transition {
                licence_id: licence_id.to_owned(),
                state: record.state,
                action: action.name(),
                source,
            })?;
        let (receipt, generation) = self.append(&store.db, &mut w, &event, Some(record), &next)?;
        drop(w);
        drop(in_flight);
        self.wait_durable(receipt, generation).map(|r| (r, next))
    }

    /// Writes one event with everything that depends on it, atomically, and returns its
    /// receipt with the group-commit generation it was committed in. `before` is the
    /// licence's record before the event (as the writer sees it).
    fn append(
        &self,
        db: &sled::Db,
        w: &mut Writer,
        event: &Event,
        before: Option<LicenceRecord>,
        record: &LicenceRecord,
    ) -> Result<(Receipt, u64), LedgerError> {
        let bytes = event.to_bytes().map_err(LedgerError::Encode)?;
        let leaf = merkle::leaf_hash(&bytes);
        let hashes = merkle::hashes_to_store(
            w.next_seq,
            leaf,
            &PendingHashes(db, &w.pending_hashes, &w.applying.hashes),
        )
        .map_err(LedgerError::Merkle)?;
        let first = merkle::stored_hash_index(0, w.next_seq);
        let rec = serde_json::to_vec(record).map_err(LedgerError::Encode)?;
        // The last step that can fail; nothing is staged until it has succeeded.
        let list = list_entry(&mut w.lists, &record.issuer, record.list)?;
        list.mark(record.idx);
        for (i, h) in hashes.iter().enumerate() {
            w.pending.insert(&hash_key(first + i as u64), &h[..]);
            w.pending_hashes.insert(first + i as u64, *h);
        }
        w.pending.insert(&event_key(event.seq), bytes);
        w.pending.insert(record_key(&record.licence_id), rec);
        w.pending_records
            .insert(record.licence_id.clone(), record.clone());
        let size = w.next_seq + 1;
        w.pending.insert(SIZE_KEY, &size.to_be_bytes());
        w.next_seq = size;
        w.prev = Some(leaf);
        w.undurable.push_back(StatusChange {
            seq: event.seq,
            issuer: record.issuer.clone(),
            list: record.list,
            idx: record.idx,
            status: record.state.status(),
        });
        // Readers keep seeing the record as it was until this event is durable. With no
        // change pending, what the writer read (from sled) is durable.
        self.masks().staged(event.seq, before, record.clone());
        let generation = self.flush.committed(size);
        Ok((
            Receipt {
                seq: event.seq,
                leaf,
                tree_size: size,
            },
            generation,
        ))
    }

    /// The record as the writer sees it (pending changes included).
    fn stored_record(
        &self,
        db: &sled::Db,
        licence_id: &str,
    ) -> Result<Option<LicenceRecord>, LedgerError> {
        let Some(v) = db
            .get(record_key(licence_id))
            .map_err(|e| self.db_error(e))?
        else {
            return Ok(None);
        };
        serde_json::from_slice(&v)
            .map(Some)
            .map_err(|e| LedgerError::CorruptRecord {
                key: licence_id.to_owned(),
                source: e,
            })
    }

    fn within_log(&self, size: u64) -> Result<Arc<Store>, LedgerError> {
        let durable = self.size();
        if size > durable {
            return Err(LedgerError::BeyondLog { size, durable });
        }
        self.store()
    }

    /// Stores a signed checkpoint for tree size `size` (durably) and returns the note now
    /// stored for that size: the first one stored wins, so a note once served is never
    /// replaced by another signature over the same tree. Readers see it once it is synced.
    pub fn store_checkpoint(&self, size: u64, note: &str) -> Result<String, LedgerError> {
        let store = self.within_log(size)?;
        {
            let mut w = self.writer();
            if let Some(cause) = &w.failed {
                return Err(self.unavailable(cause.clone()));
            }
            w.unsynced_checkpoints.insert(size);
        }
        let key = checkpoint_key(size);
        let kept = match store
            .db
            .compare_and_swap(key, None::<&[u8]>, Some(note.as_bytes()))
            .map_err(|e| self.db_error(e))?
        {
            Ok(()) => note.to_owned(),
            Err(existing) => existing
                .current
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_else(|| note.to_owned()),
        };
        // On failure the size stays hidden (and the ledger failed) until it is reopened.
        self.write_pending_and_sync()?;
        self.writer().unsynced_checkpoints.remove(&size);
        Ok(kept)
    }
}
