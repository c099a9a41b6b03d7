//! Ledger events and licence states: what is recorded, in which canonical bytes, and which
//! status changes are allowed. Pure: no I/O.

use crate::status_list::Status;
use serde::{Deserialize, Serialize};

/// Longest operator note kept with an event.
pub const MAX_NOTE_LEN: usize = 500;

/// What happened to a licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The licence was issued (and given its status-list index).
    Issued,
    /// Temporarily not valid (暂扣).
    Suspended,
    /// Valid again after a suspension.
    Reinstated,
    /// Permanently not valid (撤销 / 吊销 / 注销). Final.
    Revoked,
}

/// A status change an agency asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Suspend a valid licence.
    Suspend,
    /// Reinstate a suspended licence.
    Reinstate,
    /// Revoke a valid or suspended licence.
    Revoke,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 3] = [Action::Suspend, Action::Reinstate, Action::Revoke];

    /// The event it records.
    pub fn kind(self) -> EventKind {
        match self {
            Action::Suspend => EventKind::Suspended,
            Action::Reinstate => EventKind::Reinstated,
            Action::Revoke => EventKind::Revoked,
        }
    }

    /// Its name, as the CLI and API spell it.
    pub fn name(self) -> &'static str {
        match self {
            Action::Suspend => "suspend",
            Action::Reinstate => "reinstate",
            Action::Revoke => "revoke",
        }
    }
}

/// A licence's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceState {
    /// Valid (status-list value 0).
    Valid,
    /// Suspended (status-list value 2).
    Suspended,
    /// Revoked, for good (status-list value 1).
    Revoked,
}

impl LicenceState {
    /// Every state.
    pub const ALL: [LicenceState; 3] = [
        LicenceState::Valid,
        LicenceState::Suspended,
        LicenceState::Revoked,
    ];

    /// Its Token Status List value: 0 valid, 1 invalid (revoked), 2 suspended.
    pub fn status(self) -> Status {
        match self {
            LicenceState::Valid => Status::Valid,
            LicenceState::Revoked => Status::Invalid,
            LicenceState::Suspended => Status::Suspended,
        }
    }

    /// The state after `action`, or why the transition is not allowed.
    pub fn apply(self, action: Action) -> Result<LicenceState, TransitionError> {
        match (self, action) {
            (LicenceState::Revoked, _) => Err(TransitionError::AlreadyRevoked),
            (LicenceState::Valid, Action::Suspend) => Ok(LicenceState::Suspended),
            (LicenceState::Suspended, Action::Suspend) => Err(TransitionError::AlreadySuspended),
            (LicenceState::Suspended, Action::Reinstate) => Ok(LicenceState::Valid),
            (LicenceState::Valid, Action::Reinstate) => Err(TransitionError::NotSuspended),
            (LicenceState::Valid | LicenceState::Suspended, Action::Revoke) => {
                Ok(LicenceState::Revoked)
            }
        }
    }
}

/// A status change that the licence's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransitionError {
    /// Revocation is final.
    #[error("the licence is revoked; revocation is final (issue a new licence instead)")]
    AlreadyRevoked,
    /// Suspending a suspended licence.
    #[error("the licence is already suspended")]
    AlreadySuspended,
    /// Reinstating a licence that is not suspended.
    #[error("the licence is not suspended, so there is nothing to reinstate")]
    NotSuspended,
}

/// RFC 5280 §5.3.1 CRLReason codes used by licence status changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// unspecified (0).
    Unspecified,
    /// keyCompromise (1): the holder's key was compromised.
    KeyCompromise,
    /// affiliationChanged (3).
    AffiliationChanged,
    /// superseded (4): replaced by a newer licence.
    Superseded,
    /// cessationOfOperation (5): the holder stopped operating (注销).
    CessationOfOperation,
    /// certificateHold (6): temporarily withheld (暂扣).
    CertificateHold,
    /// removeFromCRL (8): a hold was lifted (reinstatement).
    RemoveFromCrl,
    /// privilegeWithdrawn (9): the permission was withdrawn (撤销, 吊销).
    PrivilegeWithdrawn,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 8] = [
        Reason::Unspecified,
        Reason::KeyCompromise,
        Reason::AffiliationChanged,
        Reason::Superseded,
        Reason::CessationOfOperation,
        Reason::CertificateHold,
        Reason::RemoveFromCrl,
        Reason::PrivilegeWithdrawn,
    ];

    /// The RFC 5280 CRLReason code.
    pub fn code(self) -> u8 {
        match self {
            Reason::Unspecified => 0,
            Reason::KeyCompromise => 1,
            Reason::AffiliationChanged => 3,
            Reason::Superseded => 4,
            Reason::CessationOfOperation => 5,
            Reason::CertificateHold => 6,
            Reason::RemoveFromCrl => 8,
            Reason::PrivilegeWithdrawn => 9,
        }
    }

    /// The snake_case name used in APIs.
    pub fn name(self) -> &'static str {
        match self {
            Reason::Unspecified => "unspecified",
            Reason::KeyCompromise => "key_compromise",
            Reason::AffiliationChanged => "affiliation_changed",
            Reason::Superseded => "superseded",
            Reason::CessationOfOperation => "cessation_of_operation",
            Reason::CertificateHold => "certificate_hold",
            Reason::RemoveFromCrl => "remove_from_crl",
            Reason::PrivilegeWithdrawn => "privilege_withdrawn",
        }
    }

    /// Which actions may carry this reason.
    pub fn fits(self, action: Action) -> bool {
        match action {
            Action::Suspend => matches!(self, Reason::CertificateHold | Reason::Unspecified),
            Action::Reinstate => matches!(self, Reason::RemoveFromCrl | Reason::Unspecified),
            Action::Revoke => !matches!(self, Reason::CertificateHold | Reason::RemoveFromCrl),
        }
    }
}

/// Chinese administrative statuses, mapped onto actions and RFC 5280 reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminStatus {
    /// 暂扣 — withheld for a time: a suspension (certificateHold).
    Withheld,
    /// 撤销 — the grant is rescinded (e.g. obtained improperly): revocation
    /// (privilegeWithdrawn).
    Rescinded,
    /// 吊销 — revoked as an administrative penalty: revocation (privilegeWithdrawn).
    RevokedAsPenalty,
    /// 注销 — cancelled because the holder ceased (closure, expiry, death): revocation
    /// (cessationOfOperation).
    Deregistered,
}

impl AdminStatus {
    /// Every status.
    pub const ALL: [AdminStatus; 4] = [
        AdminStatus::Withheld,
        AdminStatus::Rescinded,
        AdminStatus::RevokedAsPenalty,
        AdminStatus::Deregistered,
    ];

    /// The Chinese term.
    pub fn zh(self) -> &'static str {
        match self {
            AdminStatus::Withheld => "暂扣",
            AdminStatus::Rescinded => "撤销",
            AdminStatus::RevokedAsPenalty => "吊销",
            AdminStatus::Deregistered => "注销",
        }
    }

    /// The action it is.
    pub fn action(self) -> Action {
        match self {
            AdminStatus::Withheld => Action::Suspend,
            _ => Action::Revoke,
        }
    }

    /// The RFC 5280 reason it maps to.
    pub fn reason(self) -> Reason {
        match self {
            AdminStatus::Withheld => Reason::CertificateHold,
            AdminStatus::Rescinded | AdminStatus::RevokedAsPenalty => Reason::PrivilegeWithdrawn,
            AdminStatus::Deregistered => Reason::CessationOfOperation,
        }
    }

    /// Its snake_case name (as serialized).
    pub fn name(self) -> &'static str {
        match self {
            AdminStatus::Withheld => "withheld",
            AdminStatus::Rescinded => "rescinded",
            AdminStatus::RevokedAsPenalty => "revoked_as_penalty",
            AdminStatus::Deregistered => "deregistered",
        }
    }

    /// Parses the Chinese term or the snake_case name.
    pub fn parse(text: &str) -> Option<AdminStatus> {
        AdminStatus::ALL
            .into_iter()
            .find(|s| s.zh() == text || s.name() == text)
    }
}

/// The reason text an agency gives with a change (CLI `--reason`, API `reason`): an
/// administrative status (暂扣/撤销/吊销/注销 or its snake_case name) or an RFC 5280 reason
/// name. `None` if it is neither.
pub fn parse_reason_text(text: &str) -> Option<(Option<Reason>, Option<AdminStatus>)> {
    if let Some(admin) = AdminStatus::parse(text) {
        return Some((None, Some(admin)));
    }
    Reason::ALL
        .into_iter()
        .find(|r| r.name() == text)
        .map(|r| (Some(r), None))
}

/// One ledger event: a leaf of the Merkle tree. Serialized canonically (fields in this
/// order, absent options omitted) and hashed exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// Position in the log, from 0.
    pub seq: u64,
    /// Leaf hash of the previous event (base64url); empty for the first.
    pub prev: String,
    /// What happened.
    pub kind: EventKind,
    /// The licence identifier.
    pub licence_id: String,
    /// The issuing agency's USCC.
    pub issuer: String,
    /// Who did it (the agency's USCC, or an operator name for the CLI).
    pub actor: String,
    /// When, seconds since the epoch.
    pub at: i64,
    /// Why (status changes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// The Chinese administrative status, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_status: Option<AdminStatus>,
    /// A free-text note from the agency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Status-list number (issuance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<u32>,
    /// Index in the status list (issuance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx: Option<u64>,
    /// SHA-256 of the issuer-signed JWT, base64url (issuance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_digest: Option<String>,
}

impl Event {
    /// The canonical bytes: what is stored and hashed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Parses stored bytes, requiring them to be exactly canonical.
    pub fn from_bytes(bytes: &[u8]) -> Result<Event, EventFormatError> {
        let event: Event = serde_json::from_slice(bytes).map_err(EventFormatError::Json)?;
        if event.to_bytes().map_err(EventFormatError::Json)? != bytes {
            return Err(EventFormatError::NotCanonical);
        }
        Ok(event)
    }
}

/// Stored event bytes that are not a canonical event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventFormatError {
    /// Not JSON of the event shape.
    #[error("not an event")]
    Json(#[source] serde_json::Error),
    /// Parses, but is not in canonical form.
    #[error("event bytes are not in canonical form")]
    NotCanonical,
}

/// What the ledger keeps about one licence (derived from its events).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LicenceRecord {
    /// The identifier.
    pub licence_id: String,
    /// The issuing agency's USCC.
    pub issuer: String,
    /// Status-list number.
    pub list: u32,
    /// Index in the status list.
    pub idx: u64,
    /// SHA-256 of the issuer-signed JWT, base64url.
    pub jwt_digest: String,
    /// Issue time.
    pub issued_at: i64,
    /// Current state.
    pub state: LicenceState,
    /// When the state last changed (the issue time if never).
    pub changed_at: i64,
    /// Reason of the last change, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    /// Administrative status of the last change, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_status: Option<AdminStatus>,
    /// Sequence number of the last event about this licence.
    pub last_seq: u64,
}

impl LicenceRecord {
    /// The record an `issued` event creates.
    pub fn from_issued(e: &Event) -> Option<LicenceRecord> {
        if e.kind != EventKind::Issued {
            return None;
        }
        Some(LicenceRecord {
            licence_id: e.licence_id.clone(),
            issuer: e.issuer.clone(),
            list: e.list?,
            idx: e.idx?,
            jwt_digest: e.jwt_digest.clone()?,
            issued_at: e.at,
            state: LicenceState::Valid,
            changed_at: e.at,
            reason: None,
            admin_status: None,
            last_seq: e.seq,
        })
    }

    /// The record after a status-change event, or why the change is illegal.
    pub fn after(&self, e: &Event) -> Result<LicenceRecord, TransitionError> {
        let action = match e.kind {
            EventKind::Suspended => Action::Suspend,
            EventKind::Reinstated => Action::Reinstate,
            EventKind::Revoked => Action::Revoke,
            EventKind::Issued => return Err(TransitionError::AlreadyRevoked),
        };
        Ok(LicenceRecord {
            state: self.state.apply(action)?,
            changed_at: e.at,
            reason: e.reason,
            admin_status: e.admin_status,
            last_seq: e.seq,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_status_names_are_their_serialized_names() {
        for a in AdminStatus::ALL {
            assert_eq!(serde_json::to_value(a).unwrap(), a.name());
            assert_eq!(AdminStatus::parse(a.name()), Some(a));
            assert_eq!(AdminStatus::parse(a.zh()), Some(a));
        }
    }

    #[test]
    fn transition_table_covers_every_state_and_action() {
        use Action::*;
        use LicenceState::*;
        let expected = [
            (Valid, Suspend, Ok(Suspended)),
            (Valid, Reinstate, Err(TransitionError::NotSuspended)),
            (Valid, Revoke, Ok(Revoked)),
            (Suspended, Suspend, Err(TransitionError::AlreadySuspended)),
            (Suspended, Reinstate, Ok(Valid)),
            (Suspended, Revoke, Ok(Revoked)),
            (Revoked, Suspend, Err(TransitionError::AlreadyRevoked)),
            (Revoked, Reinstate, Err(TransitionError::AlreadyRevoked)),
            (Revoked, Revoke, Err(TransitionError::AlreadyRevoked)),
        ];
        assert_eq!(expected.len(), LicenceState::ALL.len() * Action::ALL.len());
        for (state, action, want) in expected {
            assert_eq!(state.apply(action), want, "{state:?} {action:?}");
        }
    }

    #[test]
    fn admin_statuses_map_onto_actions_and_reasons() {
        for s in AdminStatus::ALL {
            assert!(s.reason().fits(s.action()), "{s:?}");
            assert_eq!(AdminStatus::parse(s.zh()), Some(s));
        }
        assert_eq!(
            AdminStatus::parse("暂扣").map(|s| s.action()),
            Some(Action::Suspend)
        );
        assert_eq!(
            AdminStatus::parse("吊销").map(|s| s.reason().code()),
            Some(9)
        );
        assert_eq!(
            AdminStatus::parse("注销").map(|s| s.reason().code()),
            Some(5)
        );
        assert_eq!(
            AdminStatus::parse("deregistered"),
            Some(AdminStatus::Deregistered)
        );
        assert_eq!(AdminStatus::parse("罚款"), None);
    }

    #[test]
    fn events_are_canonical() {
        let e = Event {
            seq: 7,
            prev: "abc".into(),
            kind: EventKind::Revoked,
            licence_id: "1.2.156.3005.2.1001.11350100MB00000012.1.1.X".into(),
            issuer: "11350100MB00000012".into(),
            actor: "11350100MB00000012".into(),
            at: 1_767_196_800,
            reason: Some(Reason::PrivilegeWithdrawn),
            admin_status: Some(AdminStatus::RevokedAsPenalty),
            note: Some("违法经营".into()),
            list: None,
            idx: None,
            jwt_digest: None,
        };
        let bytes = e.to_bytes().unwrap();
        assert_eq!(Event::from_bytes(&bytes).unwrap(), e);
        // Same content, other member order or spacing: not canonical.
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        assert!(matches!(
            Event::from_bytes(&pretty),
            Err(EventFormatError::NotCanonical)
        ));
    }
}
