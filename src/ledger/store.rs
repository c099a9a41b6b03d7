//! The ledger on sled: every issuance and status change as an event, committed atomically
//! with the licence record, the status-list allocation and the Merkle tree hashes, and
//! acknowledged only once flushed to disk (group commit).
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
//! m ‖ "size"                               number of events (u64 BE)
//! ```

use super::event::{
    Action, AdminStatus, Event, EventKind, LicenceRecord, LicenceState, Reason, TransitionError,
    MAX_NOTE_LEN,
};
use super::flush::GroupFlush;
use super::merkle::{self, Hash, HashReader, MerkleError};
use crate::jose::b64u_encode;
use crate::licence::codes::Uscc;
use crate::licence::identifier::LicenceId;
use crate::sdjwt::{RandomPool, SaltSource as _};
use crate::status_list::StatusList;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Entries per status list. Indices are drawn at random inside a list; a new list is
/// opened when one is half full, so drawing stays cheap and indices reveal no order.
pub const LIST_CAPACITY: u64 = 1 << 20;
/// Fill level at which an issuer's next list is opened.
const LIST_FILL_LIMIT: u64 = LIST_CAPACITY / 2;
/// Bits per status-list entry: 0 valid, 1 revoked, 2 suspended.
pub const STATUS_BITS: u8 = 2;

const SIZE_KEY: &[u8] = b"msize";

fn event_key(seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'e';
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn hash_key(index: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'h';
    k[1..].copy_from_slice(&index.to_be_bytes());
    k
}

fn record_key(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(b'l');
    k.extend_from_slice(id.as_bytes());
    k
}

fn seal_key(id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(b's');
    k.extend_from_slice(id.as_bytes());
    k
}

fn slot_key(issuer: &str, list: u32, idx: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(2 + issuer.len() + 12);
    k.push(b'i');
    k.extend_from_slice(issuer.as_bytes());
    k.push(0);
    k.extend_from_slice(&list.to_be_bytes());
    k.extend_from_slice(&idx.to_be_bytes());
    k
}

fn checkpoint_key(size: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = b'c';
    k[1..].copy_from_slice(&size.to_be_bytes());
    k
}

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

/// One issuer list's allocation and statuses, kept in memory.
#[derive(Debug)]
struct ListState {
    /// One bit per index: allocated (reserved or recorded).
    used: Vec<u64>,
    count: u64,
    statuses: StatusList,
}

impl ListState {
    fn new() -> Result<Self, LedgerError> {
        Ok(Self {
            used: vec![0; (LIST_CAPACITY / 64) as usize],
            count: 0,
            statuses: StatusList::new(STATUS_BITS, LIST_CAPACITY as usize)
                .map_err(LedgerError::StatusList)?,
        })
    }

    fn is_used(&self, idx: u64) -> bool {
        self.used
            .get((idx / 64) as usize)
            .is_some_and(|w| w & (1 << (idx % 64)) != 0)
    }

    fn mark(&mut self, idx: u64) {
        if let Some(w) = self.used.get_mut((idx / 64) as usize) {
            if *w & (1 << (idx % 64)) == 0 {
                *w |= 1 << (idx % 64);
                self.count += 1;
            }
        }
    }
}

/// What only the single writer touches.
#[derive(Debug)]
struct Writer {
    /// Events appended (applied to sled or pending): the next event's sequence number.
    next_seq: u64,
    /// Events applied to sled: the tree size readers (roots, proofs, events) may see.
    size: u64,
    /// Set when a group write failed: memory no longer matches disk, so every further
    /// operation is refused until the ledger is reopened.
    failed: bool,
    prev: Option<Hash>,
    lists: HashMap<(String, u32), ListState>,
    current: HashMap<String, u32>,
    /// Events committed in memory, not yet in sled: the next flush leader applies them
    /// as one batch (sled 0.34 writes out its io buffer twice per `apply_batch`).
    pending: sled::Batch,
    pending_records: HashMap<String, LicenceRecord>,
    pending_hashes: HashMap<u64, Hash>,
    pending_slots: std::collections::HashSet<Vec<u8>>,
    /// What the flush leader is applying right now, outside the writer lock: still
    /// consulted by writers until it is in sled.
    applying: Staged,
    /// Lists changed since the last [`Ledger::take_changed_lists`].
    changed: std::collections::BTreeSet<(String, u32)>,
}

/// Records, hashes and slots of a batch being applied.
#[derive(Debug, Default)]
struct Staged {
    records: HashMap<String, LicenceRecord>,
    hashes: HashMap<u64, Hash>,
    slots: std::collections::HashSet<Vec<u8>>,
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

/// The ledger.
#[derive(Debug)]
pub struct Ledger {
    db: sled::Db,
    writer: Mutex<Writer>,
    flush: GroupFlush,
    random: RandomPool,
    log: std::fs::File,
    /// Held by whoever applies pending events (a flush leader, or a checkpoint write), so
    /// there is only ever one batch in `applying`.
    apply: Mutex<()>,
}

/// Reads stored Merkle hashes from sled.
struct DbHashes<'a>(&'a sled::Db);

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

impl Ledger {
    /// Opens (or creates) the ledger in `dir`, restoring the writer's state from disk.
    pub fn open(dir: &Path) -> Result<Self, LedgerError> {
        let db = open_db(dir)?;
        // The database's own files are synced on every commit; their directory entries (new
        // at the first open) are made durable here, once.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| LedgerError::Db(e.into()))?;
        let size = match db.get(SIZE_KEY).map_err(LedgerError::Db)? {
            None => 0,
            Some(v) => {
                u64::from_be_bytes(v.as_ref().try_into().map_err(|_| LedgerError::Corrupt {
                    what: "the stored tree size is not 8 bytes".into(),
                })?)
            }
        };
        let prev = if size == 0 {
            None
        } else {
            Some(
                DbHashes(&db)
                    .read_hashes(&[merkle::stored_hash_index(0, size - 1)])
                    .map_err(LedgerError::Merkle)?[0],
            )
        };
        let mut writer = Writer {
            next_seq: size,
            size,
            failed: false,
            prev,
            lists: HashMap::new(),
            current: HashMap::new(),
            pending: sled::Batch::default(),
            pending_records: HashMap::new(),
            pending_hashes: HashMap::new(),
            pending_slots: Default::default(),
            applying: Staged::default(),
            changed: std::collections::BTreeSet::new(),
        };
        for item in db.scan_prefix(b"l") {
            let (k, v) = item.map_err(LedgerError::Db)?;
            let r: LicenceRecord =
                serde_json::from_slice(&v).map_err(|e| LedgerError::CorruptRecord {
                    key: String::from_utf8_lossy(&k[1..]).into_owned(),
                    source: e,
                })?;
            let list = list_entry(&mut writer.lists, &r.issuer, r.list)?;
            list.mark(r.idx);
            list.statuses
                .set(r.idx as usize, r.state.status())
                .map_err(LedgerError::StatusList)?;
            let cur = writer.current.entry(r.issuer.clone()).or_insert(r.list);
            *cur = (*cur).max(r.list);
        }
        // Lists found on disk need a first signature from this process.
        writer.changed = writer.lists.keys().cloned().collect();
        let log = std::fs::File::open(dir.join("db")).map_err(|e| LedgerError::Db(e.into()))?;
        let flush = GroupFlush::default();
        flush.recovered(size);
        Ok(Self {
            db,
            writer: Mutex::new(writer),
            flush,
            random: RandomPool::default(),
            log,
            apply: Mutex::new(()),
        })
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of events on disk (the Merkle tree size readers can prove against).
    pub fn size(&self) -> u64 {
        self.writer().size
    }

    /// How many flushes group commit has performed.
    pub fn flushes(&self) -> u64 {
        self.flush.flushes()
    }

    /// Draws a fresh status-list slot for `issuer`'s next licence: at random inside the
    /// issuer's current list, never one used before. The slot is held in memory and
    /// becomes permanent when the issuance is recorded.
    pub fn reserve(&self, issuer: &Uscc) -> Result<StatusSlot, LedgerError> {
        let mut w = self.writer();
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
        self.record_issued_with_seal(id, slot, jwt_digest, None, actor, at)
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
        let issuer = id.issuer().as_str();
        let licence_id = id.to_string();
        let in_flight = self.flush.writer();
        let mut w = self.writer();
        if w.failed {
            return Err(LedgerError::Poisoned);
        }
        if w.pending_records.contains_key(&licence_id)
            || w.applying.records.contains_key(&licence_id)
            || self.get_record(&licence_id)?.is_some()
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
            || self.db.contains_key(&key).map_err(LedgerError::Db)?;
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
        let receipt = self.append(&mut w, &event, &record)?;
        w.pending.insert(key.clone(), licence_id.as_bytes());
        w.pending_slots.insert(key);
        if let Some(seal) = seal {
            w.pending.insert(seal_key(&licence_id), seal.as_bytes());
        }
        drop(w);
        drop(in_flight);
        self.wait_durable(receipt)
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
        let in_flight = self.flush.writer();
        let mut w = self.writer();
        if w.failed {
            return Err(LedgerError::Poisoned);
        }
        let pending = w
            .pending_records
            .get(licence_id)
            .or_else(|| w.applying.records.get(licence_id))
            .cloned();
        let record = match pending {
            Some(r) => Some(r),
            None => self.get_record(licence_id)?,
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
        let receipt = self.append(&mut w, &event, &next)?;
        drop(w);
        drop(in_flight);
        self.wait_durable(receipt).map(|r| (r, next))
    }

    /// Writes one event with everything that depends on it, atomically.
    fn append(
        &self,
        w: &mut Writer,
        event: &Event,
        record: &LicenceRecord,
    ) -> Result<Receipt, LedgerError> {
        let bytes = event.to_bytes().map_err(LedgerError::Encode)?;
        let leaf = merkle::leaf_hash(&bytes);
        let hashes = merkle::hashes_to_store(
            w.next_seq,
            leaf,
            &PendingHashes(&self.db, &w.pending_hashes, &w.applying.hashes),
        )
        .map_err(LedgerError::Merkle)?;
        let first = merkle::stored_hash_index(0, w.next_seq);
        let rec = serde_json::to_vec(record).map_err(LedgerError::Encode)?;
        // The last step that can fail; nothing is staged until it has succeeded.
        let list = list_entry(&mut w.lists, &record.issuer, record.list)?;
        list.statuses
            .set(record.idx as usize, record.state.status())
            .map_err(LedgerError::StatusList)?;
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
        w.changed.insert((record.issuer.clone(), record.list));
        self.flush.committed(size);
        Ok(Receipt {
            seq: event.seq,
            leaf,
            tree_size: size,
        })
    }

    fn wait_durable(&self, r: Receipt) -> Result<Receipt, LedgerError> {
        self.flush
            .wait_durable(r.tree_size, || self.write_pending_and_sync())?;
        Ok(r)
    }

    /// Applies every pending event as one atomic batch, then puts everything on stable
    /// storage: sled's flush, then `fdatasync` of its log (sled 0.34's flush ends in
    /// `sync_file_range`, which neither empties the disk's write cache nor records the
    /// file's new size: spacejam/sled#1452).
    fn write_pending_and_sync(&self) -> Result<(), LedgerError> {
        let _one_applier = self.apply.lock().unwrap_or_else(PoisonError::into_inner);
        // Take the pending group under the writer lock, apply it without the lock (writers
        // go on appending, and still see it through `applying`), then publish the new size.
        let (batch, target) = {
            let mut w = self.writer();
            if w.failed {
                return Err(LedgerError::Poisoned);
            }
            if w.size < w.next_seq {
                w.applying = Staged {
                    records: std::mem::take(&mut w.pending_records),
                    hashes: std::mem::take(&mut w.pending_hashes),
                    slots: std::mem::take(&mut w.pending_slots),
                };
                (Some(std::mem::take(&mut w.pending)), w.next_seq)
            } else {
                (None, w.size)
            }
        };
        if let Some(batch) = batch {
            let applied = self.db.apply_batch(batch);
            let mut w = self.writer();
            if let Err(e) = applied {
                // Memory has moved past what is on disk: refuse everything until a
                // reopen reloads the state from disk.
                w.failed = true;
                return Err(LedgerError::Db(e));
            }
            w.size = target;
            w.applying = Staged::default();
        }
        self.db.flush().map_err(LedgerError::Db)?;
        self.log.sync_data().map_err(|e| LedgerError::Db(e.into()))
    }

    fn get_record(&self, licence_id: &str) -> Result<Option<LicenceRecord>, LedgerError> {
        let Some(v) = self
            .db
            .get(record_key(licence_id))
            .map_err(LedgerError::Db)?
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

    /// The licence's record, if it was issued here.
    pub fn record(&self, licence_id: &str) -> Result<Option<LicenceRecord>, LedgerError> {
        self.get_record(licence_id)
    }

    /// The paper seal kept with the licence's issuance, if it was issued with one.
    pub fn seal(&self, licence_id: &str) -> Result<Option<String>, LedgerError> {
        let Some(v) = self.db.get(seal_key(licence_id)).map_err(LedgerError::Db)? else {
            return Ok(None);
        };
        String::from_utf8(v.to_vec())
            .map(Some)
            .map_err(|_| LedgerError::Corrupt {
                what: format!("the stored seal of {licence_id} is not text"),
            })
    }

    /// The event at `seq`.
    pub fn event(&self, seq: u64) -> Result<Option<Event>, LedgerError> {
        let Some(v) = self.db.get(event_key(seq)).map_err(LedgerError::Db)? else {
            return Ok(None);
        };
        Event::from_bytes(&v)
            .map(Some)
            .map_err(|e| LedgerError::Corrupt {
                what: format!("event {seq}: {e}"),
            })
    }

    /// The events about one licence, oldest first.
    pub fn history(&self, licence_id: &str) -> Result<Vec<Event>, LedgerError> {
        // Events are few per licence but not indexed by licence: follow the log back from
        // the record's last event would need back-links; a scan is fine for an audit view.
        let mut out = Vec::new();
        for item in self.db.scan_prefix(b"e") {
            let (_, v) = item.map_err(LedgerError::Db)?;
            let e = Event::from_bytes(&v).map_err(|e| LedgerError::Corrupt {
                what: format!("event: {e}"),
            })?;
            if e.licence_id == licence_id {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The status list `list` of `issuer` as it stands (a copy).
    pub fn status_list(&self, issuer: &Uscc, list: u32) -> Option<StatusList> {
        self.writer()
            .lists
            .get(&(issuer.as_str().to_owned(), list))
            .map(|l| l.statuses.clone())
    }

    /// The lists changed since the last call, as `(issuer, list)`; every list that has an
    /// entry counts as changed at open. Publishers re-sign just these, so any number of
    /// changes between two calls share one signature.
    pub fn take_changed_lists(&self) -> Vec<(String, u32)> {
        std::mem::take(&mut self.writer().changed)
            .into_iter()
            .collect()
    }

    /// Whether `issuer`'s list `list` has changes no publisher has signed yet.
    pub fn list_changed(&self, issuer: &str, list: u32) -> bool {
        self.writer().changed.contains(&(issuer.to_owned(), list))
    }

    /// Marks lists as changed again (a publisher could not sign them yet).
    pub fn mark_lists_changed(&self, lists: impl IntoIterator<Item = (String, u32)>) {
        self.writer().changed.extend(lists);
    }

    /// The status lists each issuer has, as `(issuer, list)`.
    pub fn lists(&self) -> Vec<(String, u32)> {
        let mut v: Vec<_> = self.writer().lists.keys().cloned().collect();
        v.sort();
        v
    }

    /// The Merkle tree head (RFC 9162 MTH) at `size`.
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        merkle::tree_hash(size, &DbHashes(&self.db)).map_err(LedgerError::Merkle)
    }

    /// Inclusion proof of event `seq` in the tree of `size` events.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        merkle::inclusion_proof(seq, size, &DbHashes(&self.db)).map_err(LedgerError::Merkle)
    }

    /// Consistency proof between tree sizes `old` and `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError> {
        merkle::consistency_proof(old, new, &DbHashes(&self.db)).map_err(LedgerError::Merkle)
    }

    /// Stores a signed checkpoint for tree size `size` (durably) and returns the note now
    /// stored for that size: the first one stored wins, so a note once served is never
    /// replaced by another signature over the same tree.
    pub fn store_checkpoint(&self, size: u64, note: &str) -> Result<String, LedgerError> {
        if self.writer().failed {
            return Err(LedgerError::Poisoned);
        }
        let key = checkpoint_key(size);
        let kept = match self
            .db
            .compare_and_swap(key, None::<&[u8]>, Some(note.as_bytes()))
            .map_err(LedgerError::Db)?
        {
            Ok(()) => note.to_owned(),
            Err(existing) => existing
                .current
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_else(|| note.to_owned()),
        };
        if let Err(e) = self.write_pending_and_sync() {
            // Not known to be on disk: take it back, so it is not served as stored.
            if kept == note {
                let _ = self.db.remove(key);
            }
            return Err(e);
        }
        Ok(kept)
    }

    /// The newest stored checkpoint, as `(size, signed note)`.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, LedgerError> {
        self.db
            .scan_prefix(b"c")
            .next_back()
            .map(stored_checkpoint)
            .transpose()
    }

    /// Every stored checkpoint, as `(size, signed note)`, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<(u64, String)>, LedgerError> {
        self.db.scan_prefix(b"c").map(stored_checkpoint).collect()
    }

    /// The raw database, for the integrity checker and for tests that tamper with it.
    pub fn db(&self) -> &sled::Db {
        &self.db
    }
}

/// Opens sled in `dir`. sled's background threads can hold the directory lock for a
/// moment after a previous handle was dropped, so a held lock is retried for up to 2 s.
fn open_db(dir: &Path) -> Result<sled::Db, LedgerError> {
    let config = sled::Config::new().path(dir).flush_every_ms(Some(1000));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(LedgerError::Db(e)),
        }
    }
}

fn stored_checkpoint(
    item: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<(u64, String), LedgerError> {
    let (k, v) = item.map_err(LedgerError::Db)?;
    let size = k
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or(LedgerError::Corrupt {
            what: "checkpoint key".into(),
        })?;
    Ok((size, String::from_utf8_lossy(&v).into_owned()))
}

fn list_entry<'a>(
    lists: &'a mut HashMap<(String, u32), ListState>,
    issuer: &str,
    list: u32,
) -> Result<&'a mut ListState, LedgerError> {
    use std::collections::hash_map::Entry;
    Ok(match lists.entry((issuer.to_owned(), list)) {
        Entry::Occupied(e) => e.into_mut(),
        Entry::Vacant(e) => e.insert(ListState::new()?),
    })
}

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The database failed.
    #[error("ledger database error (is another elicense process using the data directory?)")]
    Db(#[source] sled::Error),
    /// A stored record does not parse.
    #[error("stored record {key} is corrupt; run `elicense ledger verify`")]
    CorruptRecord {
        /// Which record.
        key: String,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// Stored data is inconsistent.
    #[error("ledger data is corrupt: {what}; run `elicense ledger verify`")]
    Corrupt {
        /// What.
        what: String,
    },
    /// No such licence.
    #[error("no licence {licence_id} in the ledger; check the identifier (elicense status ID)")]
    UnknownLicence {
        /// The identifier.
        licence_id: String,
    },
    /// Issued twice.
    #[error(
        "licence {licence_id} is already in the ledger; a re-issue needs a new version number"
    )]
    AlreadyIssued {
        /// The identifier.
        licence_id: String,
    },
    /// Another agency's licence.
    #[error("licence {licence_id} was issued by {issuer}; agency {actor} cannot change it")]
    NotYourLicence {
        /// The identifier.
        licence_id: String,
        /// Its issuer.
        issuer: String,
        /// Who tried.
        actor: String,
    },
    /// A transition the state does not allow.
    #[error("cannot {action} licence {licence_id}, which is {state:?}")]
    Transition {
        /// The identifier.
        licence_id: String,
        /// Its state.
        state: LicenceState,
        /// The action.
        action: &'static str,
        /// Why not.
        #[source]
        source: TransitionError,
    },
    /// A reason that does not fit the action.
    #[error("reason {reason} does not fit {action}")]
    ReasonMismatch {
        /// The reason.
        reason: &'static str,
        /// The action.
        action: &'static str,
    },
    /// An administrative status that is another action.
    #[error("{} is not a reason to {action}", admin_status.zh())]
    AdminStatusMismatch {
        /// The status.
        admin_status: AdminStatus,
        /// The action.
        action: &'static str,
    },
    /// A reason that is not the administrative status's own.
    #[error("reason {reason} contradicts {}, which means {}; give one or the other", admin_status.zh(), admin_status.reason().name())]
    ReasonContradicts {
        /// The reason.
        reason: &'static str,
        /// The status.
        admin_status: AdminStatus,
    },
    /// Note too long.
    #[error("the note is longer than {max} characters")]
    NoteTooLong {
        /// Limit.
        max: usize,
    },
    /// A group write failed earlier; the in-memory state is no longer trusted.
    #[error("an earlier ledger write failed; restart elicense to reload the ledger from disk")]
    Poisoned,
    /// A slot that was not reserved here.
    #[error("status slot {list}/{idx} was not reserved by this ledger or is already used")]
    SlotNotReserved {
        /// List.
        list: u32,
        /// Index.
        idx: u64,
    },
    /// No list numbers left.
    #[error("the issuer has used every status list")]
    ListsExhausted,
    /// The random source failed.
    #[error("the system random source failed")]
    Randomness,
    /// Encoding failed.
    #[error("could not encode a ledger record")]
    Encode(#[source] serde_json::Error),
    /// Merkle tree failure.
    #[error("Merkle tree error")]
    Merkle(#[source] MerkleError),
    /// Status list failure.
    #[error("status list error")]
    StatusList(#[source] crate::status_list::StatusListError),
}
