//! The ledger's readers: records, seals, issued copies, events, history, status lists,
//! roots, proofs and checkpoints — what is on disk, never a change not yet durable.

use super::layout::{copy_key, event_key, seal_key, DbHashes};
use super::open::db_error;
use super::{IssuedCopy, Ledger, LedgerError};
use crate::ledger::event::{Event, LicenceRecord};
use crate::ledger::merkle::{self, Hash};
use crate::licence::codes::Uscc;
use crate::status_list::StatusList;
use std::path::Path;

impl Ledger {
    /// The licence's record, if it was issued here, as it is on disk.
    pub fn record(&self, licence_id: &str) -> Result<Option<LicenceRecord>, LedgerError> {
        if let Some(durable) = self.masks().visible(licence_id) {
            return Ok(durable);
        }
        let stored = self.stored_record(&self.store()?.db, licence_id)?;
        // A change staged and applied since the first look is not durable yet.
        if let Some(durable) = self.masks().visible(licence_id) {
            return Ok(durable);
        }
        Ok(stored)
    }

    /// Whether readers may see what is stored beside `licence_id`'s issuance (its seal and
    /// copy): not while the issuance itself is not durable.
    fn issuance_visible(&self, licence_id: &str) -> bool {
        !matches!(self.masks().visible(licence_id), Some(None))
    }

    fn stored_text(&self, key: &[u8], licence_id: &str) -> Result<Option<String>, LedgerError> {
        if !self.issuance_visible(licence_id) {
            return Ok(None);
        }
        let v = self.store()?.db.get(key).map_err(|e| self.db_error(e))?;
        if !self.issuance_visible(licence_id) {
            return Ok(None);
        }
        v.map(|v| {
            String::from_utf8(v.to_vec()).map_err(|_| LedgerError::Corrupt {
                what: format!("the stored copy of {licence_id} is not text"),
            })
        })
        .transpose()
    }

    /// The paper seal kept with the licence's issuance, if it was issued with one.
    pub fn seal(&self, licence_id: &str) -> Result<Option<String>, LedgerError> {
        self.stored_text(&seal_key(licence_id), licence_id)
    }

    /// The licence as issued, if it was issued with its copy kept.
    pub fn issued_copy(&self, licence_id: &str) -> Result<Option<IssuedCopy>, LedgerError> {
        self.stored_text(&copy_key(licence_id), licence_id)?
            .map(|t| {
                serde_json::from_str(&t).map_err(|e| LedgerError::CorruptRecord {
                    key: format!("t{licence_id}"),
                    source: e,
                })
            })
            .transpose()
    }

    /// The event at `seq`, if it is on disk.
    pub fn event(&self, seq: u64) -> Result<Option<Event>, LedgerError> {
        if seq >= self.size() {
            return Ok(None);
        }
        let Some(v) = self
            .store()?
            .db
            .get(event_key(seq))
            .map_err(|e| self.db_error(e))?
        else {
            return Ok(None);
        };
        Event::from_bytes(&v)
            .map(Some)
            .map_err(|e| LedgerError::Corrupt {
                what: format!("event {seq}: {e}"),
            })
    }

    /// The bytes stored for event `seq`, if it is on disk: what its leaf hash is computed
    /// over (RFC 9162 §2.1.1), for a check independent of [`Ledger::event`]'s parsing.
    pub fn event_bytes(&self, seq: u64) -> Result<Option<Vec<u8>>, LedgerError> {
        if seq >= self.size() {
            return Ok(None);
        }
        let v = self
            .store()?
            .db
            .get(event_key(seq))
            .map_err(|e| self.db_error(e))?;
        Ok(v.map(|v| v.to_vec()))
    }

    /// The events about one licence that are on disk, oldest first.
    pub fn history(&self, licence_id: &str) -> Result<Vec<Event>, LedgerError> {
        // Events are few per licence but not indexed by licence: follow the log back from
        // the record's last event would need back-links; a scan is fine for an audit view.
        let size = self.size();
        let store = self.store()?;
        let mut out = Vec::new();
        for item in store.db.range(event_key(0)..event_key(size)) {
            let (_, v) = item.map_err(|e| self.db_error(e))?;
            let e = Event::from_bytes(&v).map_err(|e| LedgerError::Corrupt {
                what: format!("event: {e}"),
            })?;
            if e.licence_id == licence_id {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The status list `list` of `issuer` as it stands on disk (a copy).
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

    /// The Merkle tree head (RFC 9162 MTH) at `size` (at most [`size`](Self::size)).
    pub fn root_at(&self, size: u64) -> Result<Hash, LedgerError> {
        let store = self.within_log(size)?;
        merkle::tree_hash(size, &DbHashes(&store.db)).map_err(LedgerError::Merkle)
    }

    /// Inclusion proof of event `seq` in the tree of `size` events.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        let store = self.within_log(size)?;
        merkle::inclusion_proof(seq, size, &DbHashes(&store.db)).map_err(LedgerError::Merkle)
    }

    /// Consistency proof between tree sizes `old` and `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, LedgerError> {
        let store = self.within_log(new)?;
        merkle::consistency_proof(old, new, &DbHashes(&store.db)).map_err(LedgerError::Merkle)
    }

    fn checkpoint_visible(&self, size: u64) -> bool {
        let w = self.writer();
        size <= w.durable && !w.unsynced_checkpoints.contains(&size)
    }

    /// The newest stored checkpoint on disk, as `(size, signed note)`.
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, LedgerError> {
        let store = self.store()?;
        for item in store.db.scan_prefix(b"c").rev() {
            let (size, note) = stored_checkpoint(&self.dir, item)?;
            if self.checkpoint_visible(size) {
                return Ok(Some((size, note)));
            }
        }
        Ok(None)
    }

    /// Every stored checkpoint on disk, as `(size, signed note)`, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<(u64, String)>, LedgerError> {
        let store = self.store()?;
        let mut out = Vec::new();
        for item in store.db.scan_prefix(b"c") {
            let (size, note) = stored_checkpoint(&self.dir, item)?;
            if self.checkpoint_visible(size) {
                out.push((size, note));
            }
        }
        Ok(out)
    }

    /// The raw database, for the integrity checker. Not public: how the ledger stores its
    /// data is its own business (tests that tamper open a closed ledger's directory).
    pub(crate) fn db(&self) -> Result<sled::Db, LedgerError> {
        Ok(self.store()?.db.clone())
    }
}

fn stored_checkpoint(
    dir: &Path,
    item: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<(u64, String), LedgerError> {
    let (k, v) = item.map_err(|e| db_error(dir, e))?;
    let size = k
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or(LedgerError::Corrupt {
            what: "checkpoint key".into(),
        })?;
    Ok((size, String::from_utf8_lossy(&v).into_owned()))
}
