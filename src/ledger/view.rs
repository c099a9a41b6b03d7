//! What readers may see: the durable view of the ledger.
//!
//! A change is staged, applied to sled (where sled's readers would see it) and only then
//! synced to disk. Until the sync has returned, readers must not see it: a status answer, a
//! signed status list or a checkpoint that showed it could be contradicted after a failed
//! write or a crash. So every licence with a change not yet durable is *masked*: readers get
//! its last durable record instead of what sled holds, and the status lists readers sign
//! take the change only once it is durable ([`Masks::durable_upto`]).

use super::event::LicenceRecord;
use std::collections::{HashMap, VecDeque};

/// The records of licences with changes not yet on disk.
#[derive(Debug, Default)]
pub struct Masks {
    by_licence: HashMap<String, Mask>,
}

#[derive(Debug)]
struct Mask {
    /// The last durable record (`None`: the issuance itself is not durable yet).
    durable: Option<LicenceRecord>,
    /// The changes not yet durable, oldest first: sequence number and the record after.
    pending: VecDeque<(u64, LicenceRecord)>,
}

impl Masks {
    /// What a reader may see of `licence_id`: `Some(durable record)` when the licence has a
    /// change not yet on disk (the inner `None`: not issued as far as readers know), `None`
    /// when what is stored is durable.
    pub fn visible(&self, licence_id: &str) -> Option<Option<LicenceRecord>> {
        self.by_licence.get(licence_id).map(|m| m.durable.clone())
    }

    /// Notes that the change `seq` of `after.licence_id` is staged. `durable` is the record
    /// readers see now (used only when the licence had no change pending).
    pub fn staged(&mut self, seq: u64, durable: Option<LicenceRecord>, after: LicenceRecord) {
        let mask = self
            .by_licence
            .entry(after.licence_id.clone())
            .or_insert_with(|| Mask {
                durable,
                pending: VecDeque::new(),
            });
        mask.pending.push_back((seq, after));
    }

    /// Every change with a sequence number below `size` is on disk: readers may see it.
    pub fn durable_upto(&mut self, size: u64) {
        self.by_licence.retain(|_, m| {
            while m.pending.front().is_some_and(|(seq, _)| *seq < size) {
                if let Some((_, r)) = m.pending.pop_front() {
                    m.durable = Some(r);
                }
            }
            !m.pending.is_empty()
        });
    }

    /// How many licences are masked.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_licence.len()
    }

    /// Whether no licence is masked.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.by_licence.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::event::LicenceState;

    fn record(id: &str, state: LicenceState) -> LicenceRecord {
        LicenceRecord {
            licence_id: id.to_owned(),
            issuer: "i".into(),
            list: 0,
            idx: 1,
            jwt_digest: String::new(),
            issued_at: 0,
            state,
            changed_at: 0,
            reason: None,
            admin_status: None,
            last_seq: 0,
        }
    }

    #[test]
    fn a_change_is_visible_only_once_durable() {
        let mut m = Masks::default();
        // Issued (seq 5) and revoked (seq 6) before either is on disk.
        m.staged(5, None, record("a", LicenceState::Valid));
        m.staged(
            6,
            Some(record("a", LicenceState::Valid)),
            record("a", LicenceState::Revoked),
        );
        assert_eq!(m.visible("a"), Some(None));
        assert_eq!(m.visible("b"), None);
        // The issuance is on disk, the revocation not yet.
        m.durable_upto(6);
        assert_eq!(
            m.visible("a").flatten().map(|r| r.state),
            Some(LicenceState::Valid)
        );
        m.durable_upto(7);
        assert_eq!(m.visible("a"), None);
        assert!(m.is_empty());
    }

    #[test]
    fn a_failed_write_leaves_the_durable_record() {
        let mut m = Masks::default();
        let valid = record("a", LicenceState::Valid);
        m.staged(9, Some(valid.clone()), record("a", LicenceState::Revoked));
        // The sync of seq 9 failed: nothing marks it durable, so readers keep the old state.
        m.durable_upto(9);
        assert_eq!(m.visible("a"), Some(Some(valid)));
        assert_eq!(m.len(), 1);
    }
}
