//! The revocation ledger: every issuance and status change, durable and tamper-evident.
//!
//! Events are leaves of an RFC 9162 Merkle tree ([`merkle`]) stored in sled ([`store`]);
//! the tree head is published as a C2SP signed-note checkpoint ([`checkpoint`]); status
//! changes follow the state machine in [`event`]; writes are acknowledged only once on
//! disk, with concurrent writers sharing flushes ([`flush`]).

pub mod checkpoint;
mod error;
pub mod event;
pub mod flush;
pub mod integrity;
pub mod merkle;
pub mod storage;
pub mod store;
mod view;

pub use event::{Action, AdminStatus, Event, EventKind, LicenceRecord, LicenceState, Reason};
pub use storage::StorageCause;
pub use store::{IssuedCopy, Ledger, LedgerError, LedgerOptions, Receipt, StatusSlot};
