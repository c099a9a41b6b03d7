//! Opening the ledger's database and restoring the writer's state from disk.

use super::layout::{DbHashes, SIZE_KEY};
use super::lists::list_entry;
use super::{LedgerError, LedgerOptions, Staged, Store, Writer};
use crate::ledger::event::LicenceRecord;
use crate::ledger::merkle::{self, HashReader};
use crate::ledger::storage::{self, StorageCause};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::path::Path;

/// A sled error met using the ledger in `dir`, naming the storage cause when there is one.
pub(crate) fn db_error(dir: &Path, e: sled::Error) -> LedgerError {
    match StorageCause::of_sled(&e, dir) {
        Some(cause) => LedgerError::Storage {
            cause,
            dir: dir.to_owned(),
            source: e,
        },
        None => LedgerError::Db(e),
    }
}

/// Opens sled in `dir` and its log file. sled's background threads can hold the directory
/// lock for a moment after a previous handle was dropped, so a held lock is retried for up
/// to 2 s. The directory's entries (new at the first open) are made durable here, once.
pub(super) fn open_store(dir: &Path, options: &LedgerOptions) -> Result<Store, LedgerError> {
    match storage::remove_unfinished_snapshots(dir) {
        Ok(removed) if !removed.is_empty() => tracing::warn!(
            target: "elicense::ledger",
            files = ?removed,
            "removed unfinished sled snapshots (a snapshot write was cut short: no space, or a crash)"
        ),
        Ok(_) => {}
        // A directory this process cannot change: opening it fails below with the cause.
        Err(_) => {}
    }
    let config = sled::Config::new()
        .path(dir)
        .cache_capacity(options.cache_bytes)
        .flush_every_ms(Some(1000));
    let db = open_db(&config, dir)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| db_error(dir, e.into()))?;
    let log = std::fs::File::open(dir.join("db")).map_err(|e| db_error(dir, e.into()))?;
    Ok(Store { db, log })
}

/// Opens the database `config` describes (in `dir`), retrying a held lock for up to 2 s:
/// sled's background threads can hold it for a moment after a previous handle was dropped.
pub(crate) fn open_db(config: &sled::Config, dir: &Path) -> Result<sled::Db, LedgerError> {
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
            Err(e) => return Err(db_error(dir, e)),
        }
    }
}

/// The writer's state as it is on disk.
pub(super) fn load_writer(db: &sled::Db) -> Result<Writer, LedgerError> {
    let size = match db.get(SIZE_KEY).map_err(LedgerError::Db)? {
        None => 0,
        Some(v) => u64::from_be_bytes(v.as_ref().try_into().map_err(|_| LedgerError::Corrupt {
            what: "the stored tree size is not 8 bytes".into(),
        })?),
    };
    let prev = if size == 0 {
        None
    } else {
        Some(
            DbHashes(db)
                .read_hashes(&[merkle::stored_hash_index(0, size - 1)])
                .map_err(LedgerError::Merkle)?[0],
        )
    };
    let mut writer = Writer {
        next_seq: size,
        applied: size,
        durable: size,
        failed: None,
        prev,
        lists: HashMap::new(),
        current: HashMap::new(),
        pending: sled::Batch::default(),
        pending_records: HashMap::new(),
        pending_hashes: HashMap::new(),
        pending_slots: HashSet::new(),
        applying: Staged::default(),
        undurable: VecDeque::new(),
        unsynced_checkpoints: HashSet::new(),
        changed: BTreeSet::new(),
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
    Ok(writer)
}
