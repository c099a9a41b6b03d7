//! The issuers' status lists in memory: each list's allocation and its durable statuses.

use crate::ledger::error::LedgerError;
use crate::status_list::StatusList;
use std::collections::HashMap;

/// Entries per status list. Indices are drawn at random inside a list; a new list is
/// opened when one is half full, so drawing stays cheap and indices reveal no order.
pub const LIST_CAPACITY: u64 = 1 << 20;
/// Fill level at which an issuer's next list is opened.
pub(super) const LIST_FILL_LIMIT: u64 = LIST_CAPACITY / 2;
/// Bits per status-list entry: 0 valid, 1 revoked, 2 suspended.
pub const STATUS_BITS: u8 = 2;

/// One issuer list's allocation and its durable statuses, kept in memory.
#[derive(Debug)]
pub(super) struct ListState {
    /// One bit per index: allocated (reserved or recorded, durable or not).
    pub(super) used: Vec<u64>,
    pub(super) count: u64,
    /// The statuses readers may see (sign, serve): durable changes only.
    pub(super) statuses: StatusList,
}

impl ListState {
    pub(super) fn new() -> Result<Self, LedgerError> {
        Ok(Self {
            used: vec![0; (LIST_CAPACITY / 64) as usize],
            count: 0,
            statuses: StatusList::new(STATUS_BITS, LIST_CAPACITY as usize)
                .map_err(LedgerError::StatusList)?,
        })
    }

    pub(super) fn is_used(&self, idx: u64) -> bool {
        self.used
            .get((idx / 64) as usize)
            .is_some_and(|w| w & (1 << (idx % 64)) != 0)
    }

    pub(super) fn mark(&mut self, idx: u64) {
        if let Some(w) = self.used.get_mut((idx / 64) as usize) {
            if *w & (1 << (idx % 64)) == 0 {
                *w |= 1 << (idx % 64);
                self.count += 1;
            }
        }
    }
}

pub(super) fn list_entry<'a>(
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
