//! Why a ledger operation failed.

use super::event::{AdminStatus, LicenceState, TransitionError};
use super::merkle::MerkleError;
use super::storage::StorageCause;
use std::path::PathBuf;

/// Why a ledger operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The storage cannot be used: the cause named (no space, read-only, permissions, the
    /// lock held by another process, another I/O failure) with what to do about it.
    #[error("{}", cause.explain(dir))]
    Storage {
        /// Why.
        cause: StorageCause,
        /// The data directory.
        dir: PathBuf,
        /// The error met.
        #[source]
        source: sled::Error,
    },
    /// A write failed earlier and the ledger has not been reopened since: nothing is taken
    /// until it is (elicense retries by itself; see `/readyz`).
    #[error("the ledger takes no changes since a write failed: {}; the change was not recorded", cause.explain(dir))]
    Unavailable {
        /// Why the write failed.
        cause: StorageCause,
        /// The data directory.
        dir: PathBuf,
    },
    /// The database failed for another reason than its storage.
    #[error("ledger database error: {0}; run `elicense ledger verify`")]
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
    /// A tree size beyond what is on disk.
    #[error("the log has {durable} events on disk; no proof or root at size {size}")]
    BeyondLog {
        /// The size asked for.
        size: u64,
        /// The durable size.
        durable: u64,
    },
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

impl LedgerError {
    /// The storage cause, when the error is about the ledger's storage.
    pub fn storage_cause(&self) -> Option<&StorageCause> {
        match self {
            Self::Storage { cause, .. } | Self::Unavailable { cause, .. } => Some(cause),
            _ => None,
        }
    }
}
