//! Group commit, durability and recovery: pending events applied as one batch, flushed
//! and synced, and only then shown to readers; a failed write stops changes until the
//! ledger is reopened from disk.

use super::open::{load_writer, open_store};
use super::{Ledger, LedgerError, Receipt, Staged, Writer};
use crate::ledger::storage::{self, StorageCause};
use crate::ledger::view::Masks;
use std::sync::{Arc, PoisonError};

impl Ledger {
    /// Returns once the change with receipt `r` (committed in group-commit `generation`)
    /// is on disk. If the ledger was reopened after a failed write meanwhile, the change
    /// may be gone: an error, never an acknowledgement.
    pub(super) fn wait_durable(&self, r: Receipt, generation: u64) -> Result<Receipt, LedgerError> {
        self.flush.wait_durable(
            r.tree_size,
            generation,
            || self.write_pending_and_sync(),
            || {
                self.unavailable(StorageCause::Io(
                    "the ledger was reopened after a failed write while this change waited for the disk"
                        .into(),
                ))
            },
        )?;
        Ok(r)
    }

    /// Applies every pending event as one atomic batch, then puts everything on stable
    /// storage: sled's flush, then `fdatasync` of its log (sled 0.34's flush ends in
    /// `sync_file_range`, which neither empties the disk's write cache nor records the
    /// file's new size: spacejam/sled#1452). Only then do readers see the events.
    pub(super) fn write_pending_and_sync(&self) -> Result<(), LedgerError> {
        let _one_applier = self.apply.lock().unwrap_or_else(PoisonError::into_inner);
        let store = self.store()?;
        // Take the pending group under the writer lock, apply it without the lock (writers
        // go on appending, and still see it through `applying`).
        let (batch, target) = {
            let mut w = self.writer();
            if let Some(cause) = &w.failed {
                return Err(self.unavailable(cause.clone()));
            }
            if w.applied < w.next_seq {
                w.applying = Staged {
                    records: std::mem::take(&mut w.pending_records),
                    hashes: std::mem::take(&mut w.pending_hashes),
                    slots: std::mem::take(&mut w.pending_slots),
                };
                (Some(std::mem::take(&mut w.pending)), w.next_seq)
            } else {
                (None, w.applied)
            }
        };
        if let Some(batch) = batch {
            let applied = store.db.apply_batch(batch);
            let mut w = self.writer();
            if let Err(e) = applied {
                return Err(self.fail(&mut w, e));
            }
            w.applied = target;
            w.applying = Staged::default();
        }
        if let Err(e) = store.db.flush() {
            return Err(self.fail(&mut self.writer(), e));
        }
        if let Err(e) = store.log.sync_data() {
            return Err(self.fail(&mut self.writer(), e.into()));
        }
        self.made_durable(target);
        Ok(())
    }

    /// Every event below `size` is on disk: readers may see them.
    fn made_durable(&self, size: u64) {
        let mut w = self.writer();
        if size <= w.durable {
            return;
        }
        w.durable = size;
        while w.undurable.front().is_some_and(|c| c.seq < size) {
            let Some(c) = w.undurable.pop_front() else {
                break;
            };
            if let Some(list) = w.lists.get_mut(&(c.issuer.clone(), c.list)) {
                // The index was checked when the change was staged.
                let _ = list.statuses.set(c.idx as usize, c.status);
            }
            w.changed.insert((c.issuer, c.list));
        }
        self.masks().durable_upto(size);
    }

    /// A write failed: from now on every change is refused and readers stay on the durable
    /// state, until [`recover`](Self::recover). Logged once per failure, at ERROR.
    fn fail(&self, w: &mut Writer, e: sled::Error) -> LedgerError {
        let err = self.db_error(e);
        let cause = err
            .storage_cause()
            .cloned()
            .unwrap_or_else(|| StorageCause::Io(err.to_string()));
        if w.failed.is_none() {
            tracing::error!(
                target: "elicense::ledger",
                cause = cause.code(),
                durable_events = w.durable,
                "ledger write failed; changes are refused until it is reopened: {}",
                cause.explain(&self.dir)
            );
            w.failed = Some(cause);
        }
        err
    }

    /// Reopens a ledger whose write failed, once its storage can take writes again: probes
    /// the disk ([`storage::probe`]), reopens the database and reloads every in-memory state
    /// from what is on disk. `Ok(false)` if nothing had failed; the cause if the storage
    /// still cannot be used.
    pub fn recover(&self) -> Result<bool, LedgerError> {
        let _one_applier = self.apply.lock().unwrap_or_else(PoisonError::into_inner);
        let mut w = self.writer();
        let Some(cause) = w.failed.clone() else {
            return Ok(false);
        };
        storage::probe(&self.dir).map_err(|now| {
            if now != cause {
                tracing::warn!(target: "elicense::ledger", cause = now.code(), "ledger storage still unusable: {}", now.explain(&self.dir));
            }
            self.unavailable(now)
        })?;
        // The old database (with its sticky error) must be closed before the lock frees.
        let old = self
            .store
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(old);
        let reopened = open_store(&self.dir, &self.options).and_then(|store| {
            let writer = load_writer(&store.db)?;
            Ok((store, writer))
        });
        let (store, writer) = match reopened {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(target: "elicense::ledger", "ledger could not be reopened yet: {e}");
                return Err(e);
            }
        };
        let size = writer.durable;
        *w = writer;
        *self.masks() = Masks::default();
        self.flush.reset(size);
        *self.store.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(store));
        tracing::warn!(
            target: "elicense::ledger",
            durable_events = size,
            "ledger reopened after a failed write ({}); taking changes again",
            cause.code()
        );
        Ok(true)
    }

    /// Flushes everything to disk (at shutdown).
    pub fn flush(&self) -> Result<(), LedgerError> {
        if let Some(cause) = self.failure() {
            return Err(self.unavailable(cause));
        }
        self.write_pending_and_sync()
    }
}
