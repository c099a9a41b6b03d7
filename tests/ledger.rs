//! Integration tests of the revocation ledger on a real sled database: the licence life
//! cycle, the transition table, refused changes, status slots, the RFC 9162 Merkle tree,
//! signed checkpoints, and the integrity checker against tampering.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::tamper_closed_ledger;
use elicense::ledger::checkpoint::{self, Checkpoint, NoteSigner, NoteVerifier};
use elicense::ledger::integrity::{verify_dir, verify_ledger, IntegrityError};
use elicense::ledger::merkle::{self, Hash};
use elicense::ledger::store::LIST_CAPACITY;
use elicense::ledger::{
    Action, AdminStatus, Event, EventKind, Ledger, LedgerError, LicenceRecord, LicenceState,
    Reason, Receipt, StatusSlot,
};
use elicense::licence::codes::Uscc;
use elicense::licence::identifier::LicenceId;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::Path;

const AGENCY_A: &str = "11350100MB00000012";
const AGENCY_B: &str = "11440300MB00000022";
const ORIGIN: &str = "elicense.example/ledger";
/// 2026-01-01T00:00+08:00.
const AT: i64 = 1_767_196_800;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

fn uscc(s: &str) -> Uscc {
    Uscc::parse(s).unwrap()
}

fn agency_a() -> Uscc {
    uscc(AGENCY_A)
}

fn agency_b() -> Uscc {
    uscc(AGENCY_B)
}

fn licence(issuer: &Uscc, serial: &str) -> LicenceId {
    LicenceId::new("JYXK", issuer.clone(), serial, 1).unwrap()
}

fn open(dir: &Path) -> Ledger {
    Ledger::open(dir).unwrap()
}

/// A made-up JWT digest, distinct per licence.
fn jwt_digest(id: &LicenceId) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(id.to_string().as_bytes()))
}

/// Reserves a slot and records the issuance of `id`.
fn issue(ledger: &Ledger, id: &LicenceId, at: i64) -> (StatusSlot, Receipt) {
    let slot = ledger.reserve(id.issuer()).unwrap();
    let receipt = ledger
        .record_issued(id, slot, &jwt_digest(id), "operator 张三", at)
        .unwrap();
    (slot, receipt)
}

/// A status change with the default reason and no note.
fn act(
    ledger: &Ledger,
    id: &LicenceId,
    action: Action,
    at: i64,
) -> Result<(Receipt, LicenceRecord), LedgerError> {
    ledger.change(&id.to_string(), action, id.issuer(), None, None, None, at)
}

/// The status-list value of a slot, read from the ledger's in-memory list.
fn status_value(ledger: &Ledger, issuer: &Uscc, slot: StatusSlot) -> u8 {
    let list = ledger
        .status_list(issuer, slot.list)
        .unwrap_or_else(|| panic!("no status list {} for {issuer}", slot.list));
    list.get(usize::try_from(slot.idx).unwrap())
        .unwrap_or_else(|| panic!("slot {} beyond the list", slot.idx))
        .as_u8()
}

fn record(ledger: &Ledger, id: &LicenceId) -> LicenceRecord {
    ledger
        .record(&id.to_string())
        .unwrap()
        .unwrap_or_else(|| panic!("no record for {id}"))
}

fn event_key(seq: u64) -> Vec<u8> {
    let mut k = vec![b'e'];
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn hash_key(index: u64) -> Vec<u8> {
    let mut k = vec![b'h'];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn record_key(id: &str) -> Vec<u8> {
    let mut k = vec![b'l'];
    k.extend_from_slice(id.as_bytes());
    k
}

fn checkpoint_key(size: u64) -> Vec<u8> {
    let mut k = vec![b'c'];
    k.extend_from_slice(&size.to_be_bytes());
    k
}

/// The raw stored bytes of event `seq`.
fn stored_event_bytes(ledger: &Ledger, seq: u64) -> Vec<u8> {
    ledger
        .event_bytes(seq)
        .unwrap()
        .unwrap_or_else(|| panic!("event {seq} not stored"))
}

/// RFC 9162 §2.1.1 leaf hash, computed here rather than by the crate.
fn naive_leaf(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn naive_node(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 9162 §2.1.1 MTH over leaf hashes, by the recursive definition.
fn naive_mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let mut k = 1usize;
            while k * 2 < n {
                k *= 2;
            }
            naive_node(&naive_mth(&leaves[..k]), &naive_mth(&leaves[k..]))
        }
    }
}

/// xorshift64*: deterministic sampling without extra crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Appends events in a fixed pattern: issuances by both agencies and every legal change.
struct Driver {
    licences: Vec<(LicenceId, LicenceState)>,
    serial: u64,
    rng: Rng,
}

impl Driver {
    fn new(seed: u64) -> Self {
        Self {
            licences: Vec::new(),
            serial: 0,
            rng: Rng(seed),
        }
    }

    /// Appends exactly one event; returns its receipt.
    fn step(&mut self, ledger: &Ledger) -> Receipt {
        let at = AT + i64::try_from(ledger.size()).unwrap();
        let live: Vec<usize> = self
            .licences
            .iter()
            .enumerate()
            .filter(|(_, (_, s))| *s != LicenceState::Revoked)
            .map(|(i, _)| i)
            .collect();
        if live.is_empty() || self.rng.below(3) == 0 {
            self.serial += 1;
            let issuer = if self.serial.is_multiple_of(4) {
                agency_b()
            } else {
                agency_a()
            };
            let id = licence(&issuer, &format!("M{:05}", self.serial));
            let (_, receipt) = issue(ledger, &id, at);
            self.licences.push((id, LicenceState::Valid));
            return receipt;
        }
        let i = live[usize::try_from(self.rng.below(live.len() as u64)).unwrap()];
        let (id, state) = self.licences[i].clone();
        let action = match (state, self.rng.below(4)) {
            (LicenceState::Valid, 0) => Action::Revoke,
            (LicenceState::Valid, _) => Action::Suspend,
            (_, 0) => Action::Revoke,
            _ => Action::Reinstate,
        };
        let (receipt, rec) = act(ledger, &id, action, at).unwrap();
        assert_eq!(Ok(rec.state), state.apply(action));
        self.licences[i].1 = rec.state;
        receipt
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ---------------------------------------------------------------------------------------
// 1. Life cycle
// ---------------------------------------------------------------------------------------

#[test]
fn issue_suspend_reinstate_revoke_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = agency_a();
    let id = licence(&a, "ZJ202600001");
    let ids = id.to_string();

    // Issue.
    let ledger = open(dir.path());
    assert_eq!(ledger.size(), 0);
    assert_eq!(ledger.root_at(0).unwrap(), merkle::empty_root());
    let slot = ledger.reserve(&a).unwrap();
    let issued = ledger
        .record_issued(&id, slot, &jwt_digest(&id), "operator 张三", AT)
        .unwrap();
    assert_eq!(issued.seq, 0);
    assert_eq!(issued.tree_size, 1);
    assert_eq!(
        issued.leaf,
        naive_leaf(&stored_event_bytes(&ledger, 0)),
        "the receipt carries the leaf hash of the stored bytes"
    );
    let rec = record(&ledger, &id);
    assert_eq!(rec.licence_id, ids);
    assert_eq!(rec.issuer, AGENCY_A);
    assert_eq!((rec.list, rec.idx), (slot.list, slot.idx));
    assert_eq!(rec.jwt_digest, jwt_digest(&id));
    assert_eq!(rec.issued_at, AT);
    assert_eq!(rec.changed_at, AT);
    assert_eq!(rec.state, LicenceState::Valid);
    assert_eq!(rec.reason, None);
    assert_eq!(rec.admin_status, None);
    assert_eq!(rec.last_seq, 0);
    assert_eq!(status_value(&ledger, &a, slot), 0);
    drop(ledger);

    let ledger = open(dir.path());
    assert_eq!(ledger.size(), 1);
    assert_eq!(record(&ledger, &id), rec);
    assert_eq!(status_value(&ledger, &a, slot), 0);

    // Suspend (暂扣), with a note.
    let (suspended, rec) = ledger
        .change(
            &ids,
            Action::Suspend,
            &a,
            None,
            Some(AdminStatus::Withheld),
            Some("  涉嫌违规，暂扣三十日  "),
            AT + 10,
        )
        .unwrap();
    assert_eq!(suspended.seq, 1);
    assert_eq!(suspended.tree_size, 2);
    assert!(suspended.seq > issued.seq);
    assert_eq!(rec.state, LicenceState::Suspended);
    assert_eq!(rec.reason, Some(Reason::CertificateHold));
    assert_eq!(rec.admin_status, Some(AdminStatus::Withheld));
    assert_eq!(rec.changed_at, AT + 10);
    assert_eq!(rec.issued_at, AT);
    assert_eq!(rec.last_seq, 1);
    assert_eq!(
        record(&ledger, &id),
        rec,
        "returned record is the stored one"
    );
    assert_eq!(status_value(&ledger, &a, slot), 2);
    drop(ledger);

    let ledger = open(dir.path());
    assert_eq!(ledger.size(), 2);
    assert_eq!(record(&ledger, &id), rec);
    assert_eq!(status_value(&ledger, &a, slot), 2);

    // Reinstate, default reason.
    let (reinstated, rec) = ledger
        .change(&ids, Action::Reinstate, &a, None, None, None, AT + 20)
        .unwrap();
    assert_eq!(reinstated.seq, 2);
    assert_eq!(rec.state, LicenceState::Valid);
    assert_eq!(rec.reason, Some(Reason::RemoveFromCrl));
    assert_eq!(rec.admin_status, None);
    assert_eq!(rec.last_seq, 2);
    assert_eq!(record(&ledger, &id), rec);
    assert_eq!(status_value(&ledger, &a, slot), 0);
    drop(ledger);

    let ledger = open(dir.path());
    assert_eq!(ledger.size(), 3);
    assert_eq!(record(&ledger, &id), rec);
    assert_eq!(status_value(&ledger, &a, slot), 0);

    // Revoke (吊销).
    let (revoked, rec) = ledger
        .change(
            &ids,
            Action::Revoke,
            &a,
            None,
            Some(AdminStatus::RevokedAsPenalty),
            None,
            AT + 30,
        )
        .unwrap();
    assert_eq!(revoked.seq, 3);
    assert_eq!(revoked.tree_size, 4);
    assert_eq!(rec.state, LicenceState::Revoked);
    assert_eq!(rec.reason, Some(Reason::PrivilegeWithdrawn));
    assert_eq!(rec.admin_status, Some(AdminStatus::RevokedAsPenalty));
    assert_eq!(rec.last_seq, 3);
    assert_eq!(status_value(&ledger, &a, slot), 1);

    let history = ledger.history(&ids).unwrap();
    let root = ledger.root_at(4).unwrap();
    drop(ledger);

    // History: every event, in order, chained.
    let kinds: Vec<EventKind> = history.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::Issued,
            EventKind::Suspended,
            EventKind::Reinstated,
            EventKind::Revoked
        ]
    );
    let seqs: Vec<u64> = history.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        [issued.seq, suspended.seq, reinstated.seq, revoked.seq]
    );
    assert_eq!(history[0].prev, "");
    assert_eq!(history[0].list, Some(slot.list));
    assert_eq!(history[0].idx, Some(slot.idx));
    assert_eq!(history[0].jwt_digest.as_deref(), Some(&*jwt_digest(&id)));
    assert_eq!(history[0].actor, "operator 张三");
    assert_eq!(history[1].note.as_deref(), Some("涉嫌违规，暂扣三十日"));
    assert_eq!(history[1].admin_status, Some(AdminStatus::Withheld));
    assert_eq!(history[1].actor, AGENCY_A);
    assert_eq!(history[2].reason, Some(Reason::RemoveFromCrl));
    assert_eq!(history[3].reason, Some(Reason::PrivilegeWithdrawn));
    for e in &history {
        assert_eq!(e.licence_id, ids);
        assert_eq!(e.issuer, AGENCY_A);
        assert_eq!(e.at, AT + 10 * i64::try_from(e.seq).unwrap());
    }
    for pair in history.windows(2) {
        let prev_leaf = naive_leaf(&pair[0].to_bytes().unwrap());
        assert_eq!(pair[1].prev, URL_SAFE_NO_PAD.encode(prev_leaf));
    }

    // Reopen: everything is still there.
    let ledger = open(dir.path());
    assert_eq!(ledger.size(), 4);
    assert_eq!(record(&ledger, &id), rec);
    assert_eq!(ledger.history(&ids).unwrap(), history);
    assert_eq!(status_value(&ledger, &a, slot), 1);
    assert_eq!(ledger.root_at(4).unwrap(), root);
    for (seq, e) in history.iter().enumerate() {
        assert_eq!(ledger.event(seq as u64).unwrap().as_ref(), Some(e));
    }
    assert_eq!(ledger.event(4).unwrap(), None);
    assert_eq!(ledger.lists(), vec![(AGENCY_A.to_owned(), slot.list)]);

    // Revocation is final, also after a reopen.
    let err = act(&ledger, &id, Action::Reinstate, AT + 40).unwrap_err();
    assert!(matches!(err, LedgerError::Transition { .. }), "{err:?}");
    assert_eq!(ledger.size(), 4);

    // The log continues where it stopped: seq 4, chained to event 3.
    let next = licence(&a, "ZJ202600002");
    let (_, receipt) = issue(&ledger, &next, AT + 50);
    assert_eq!(receipt.seq, 4);
    let e4 = ledger.event(4).unwrap().unwrap();
    assert_eq!(
        e4.prev,
        URL_SAFE_NO_PAD.encode(naive_leaf(&stored_event_bytes(&ledger, 3)))
    );
    let report = verify_ledger(&ledger, ORIGIN, &[]).unwrap();
    assert_eq!(report.events, 5);
    assert_eq!(report.licences, 2);
}

// ---------------------------------------------------------------------------------------
// 2. Transitions and refused changes
// ---------------------------------------------------------------------------------------

/// Issues a licence and brings it into `state`.
fn licence_in_state(ledger: &Ledger, id: &LicenceId, state: LicenceState) {
    issue(ledger, id, AT);
    match state {
        LicenceState::Valid => {}
        LicenceState::Suspended => {
            act(ledger, id, Action::Suspend, AT + 1).unwrap();
        }
        LicenceState::Revoked => {
            act(ledger, id, Action::Revoke, AT + 1).unwrap();
        }
    }
    assert_eq!(record(ledger, id).state, state);
}

/// Asserts that nothing about `id` or the log changed.
fn assert_unchanged(ledger: &Ledger, size: u64, id: &LicenceId, before: &LicenceRecord) {
    assert_eq!(ledger.size(), size, "a refused change appended an event");
    assert_eq!(
        ledger.event(size).unwrap(),
        None,
        "event stored past the end"
    );
    assert_eq!(
        &record(ledger, id),
        before,
        "a refused change altered the record"
    );
}

#[test]
fn every_state_and_action_follows_the_transition_table() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let mut n = 0;
    for state in LicenceState::ALL {
        for action in Action::ALL {
            n += 1;
            let id = licence(&a, &format!("T{n:03}"));
            licence_in_state(&ledger, &id, state);
            let before = record(&ledger, &id);
            let size = ledger.size();
            let history = ledger.history(&id.to_string()).unwrap();
            let slot = StatusSlot {
                list: before.list,
                idx: before.idx,
            };
            let status_before = status_value(&ledger, &a, slot);
            let at = AT + 100;
            match (state.apply(action), act(&ledger, &id, action, at)) {
                (Ok(next), Ok((receipt, rec))) => {
                    assert_eq!(receipt.seq, size, "{state:?} {action:?}");
                    assert_eq!(receipt.tree_size, size + 1);
                    assert_eq!(ledger.size(), size + 1);
                    assert_eq!(rec.state, next);
                    assert_eq!(rec.last_seq, size);
                    assert_eq!(rec.changed_at, at);
                    assert_eq!(record(&ledger, &id), rec);
                    let e = ledger.event(size).unwrap().unwrap();
                    assert_eq!(e.kind, action.kind());
                    assert_eq!(e.licence_id, id.to_string());
                    assert_eq!(
                        status_value(&ledger, &a, slot),
                        next.status().as_u8(),
                        "{state:?} {action:?}"
                    );
                }
                (Err(want), Err(got)) => {
                    match &got {
                        LedgerError::Transition {
                            licence_id,
                            state: s,
                            action: name,
                            source,
                        } => {
                            assert_eq!(licence_id, &id.to_string());
                            assert_eq!(*s, state);
                            assert_eq!(*name, action.name());
                            assert_eq!(*source, want, "{state:?} {action:?}");
                        }
                        other => panic!("{state:?} {action:?}: wrong error {other:?}"),
                    }
                    assert_unchanged(&ledger, size, &id, &before);
                    assert_eq!(ledger.history(&id.to_string()).unwrap(), history);
                    assert_eq!(status_value(&ledger, &a, slot), status_before);
                }
                (want, got) => panic!("{state:?} {action:?}: expected {want:?}, got {got:?}"),
            }
        }
    }
    assert_eq!(n, 9);
    verify_ledger(&ledger, ORIGIN, &[]).unwrap();
}

#[test]
fn unknown_licence_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let known = licence(&a, "K1");
    issue(&ledger, &known, AT);
    let unknown = licence(&a, "NEVERISSUED");
    for action in Action::ALL {
        let err = act(&ledger, &unknown, action, AT + 1).unwrap_err();
        match err {
            LedgerError::UnknownLicence { licence_id } => {
                assert_eq!(licence_id, unknown.to_string());
            }
            other => panic!("{action:?}: {other:?}"),
        }
        assert_eq!(ledger.size(), 1);
    }
    // Not even a syntactically valid identifier.
    let err = ledger
        .change("not-a-licence", Action::Revoke, &a, None, None, None, AT)
        .unwrap_err();
    assert!(matches!(err, LedgerError::UnknownLicence { .. }), "{err:?}");
    assert_eq!(ledger.size(), 1);
    assert_eq!(ledger.record(&unknown.to_string()).unwrap(), None);
}

#[test]
fn another_agencys_licence_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let b = agency_b();
    let id = licence(&a, "OWNED1");
    issue(&ledger, &id, AT);
    let before = record(&ledger, &id);
    for action in Action::ALL {
        let err = ledger
            .change(&id.to_string(), action, &b, None, None, None, AT + 1)
            .unwrap_err();
        match err {
            LedgerError::NotYourLicence {
                licence_id,
                issuer,
                actor,
            } => {
                assert_eq!(licence_id, id.to_string());
                assert_eq!(issuer, AGENCY_A);
                assert_eq!(actor, AGENCY_B);
            }
            other => panic!("{action:?}: {other:?}"),
        }
        assert_unchanged(&ledger, 1, &id, &before);
    }
    // The owner still can.
    act(&ledger, &id, Action::Suspend, AT + 2).unwrap();
    assert_eq!(ledger.size(), 2);
}

#[test]
fn issuing_the_same_licence_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let id = licence(&a, "TWICE");
    issue(&ledger, &id, AT);
    let before = record(&ledger, &id);
    let slot = ledger.reserve(&a).unwrap();
    let err = ledger
        .record_issued(&id, slot, "other-digest", "operator", AT + 1)
        .unwrap_err();
    match err {
        LedgerError::AlreadyIssued { licence_id } => assert_eq!(licence_id, id.to_string()),
        other => panic!("{other:?}"),
    }
    assert_unchanged(&ledger, 1, &id, &before);
    drop(ledger);

    // Also after a reopen, and also once revoked.
    let ledger = open(dir.path());
    act(&ledger, &id, Action::Revoke, AT + 2).unwrap();
    let before = record(&ledger, &id);
    let slot = ledger.reserve(&a).unwrap();
    let err = ledger
        .record_issued(&id, slot, "other-digest", "operator", AT + 3)
        .unwrap_err();
    assert!(matches!(err, LedgerError::AlreadyIssued { .. }), "{err:?}");
    assert_unchanged(&ledger, 2, &id, &before);
    // A new version is a new licence.
    let v2 = LicenceId::new("JYXK", a.clone(), "TWICE", 2).unwrap();
    let (_, r) = issue(&ledger, &v2, AT + 4);
    assert_eq!(r.seq, 2);
}

#[test]
fn a_slot_that_was_not_reserved_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let b = agency_b();

    let id = licence(&a, "NOSLOT");
    for slot in [
        StatusSlot {
            list: 0,
            idx: 12345,
        },
        StatusSlot { list: 3, idx: 0 },
        StatusSlot {
            list: 0,
            idx: LIST_CAPACITY,
        },
    ] {
        let err = ledger
            .record_issued(&id, slot, "d", "operator", AT)
            .unwrap_err();
        match err {
            LedgerError::SlotNotReserved { list, idx } => {
                assert_eq!((list, idx), (slot.list, slot.idx));
            }
            other => panic!("{slot:?}: {other:?}"),
        }
        assert_eq!(ledger.size(), 0);
        assert_eq!(ledger.record(&id.to_string()).unwrap(), None);
    }

    // A slot reserved for agency A does not serve agency B.
    let slot_a = ledger.reserve(&a).unwrap();
    let id_b = licence(&b, "WRONGISSUER");
    let err = ledger
        .record_issued(&id_b, slot_a, "d", "operator", AT)
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::SlotNotReserved { .. }),
        "{err:?}"
    );
    assert_eq!(ledger.size(), 0);

    // A slot serves one licence only.
    ledger
        .record_issued(&id, slot_a, "d", "operator", AT)
        .unwrap();
    let other = licence(&a, "SAMESLOT");
    let err = ledger
        .record_issued(&other, slot_a, "d", "operator", AT)
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::SlotNotReserved { .. }),
        "{err:?}"
    );
    assert_eq!(ledger.size(), 1);
    drop(ledger);

    // After a reopen the recorded slot is still taken.
    let ledger = open(dir.path());
    let err = ledger
        .record_issued(&other, slot_a, "d", "operator", AT)
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::SlotNotReserved { .. }),
        "{err:?}"
    );
    assert_eq!(ledger.size(), 1);
    verify_ledger(&ledger, ORIGIN, &[]).unwrap();
}

#[test]
fn admin_status_must_match_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let id = licence(&a, "ADMIN1");
    issue(&ledger, &id, AT);
    let before = record(&ledger, &id);
    for admin in AdminStatus::ALL {
        for action in Action::ALL {
            if admin.action() == action {
                continue;
            }
            let err = ledger
                .change(&id.to_string(), action, &a, None, Some(admin), None, AT)
                .unwrap_err();
            match err {
                LedgerError::AdminStatusMismatch {
                    admin_status,
                    action: name,
                } => {
                    assert_eq!(admin_status, admin);
                    assert_eq!(name, action.name());
                }
                other => panic!("{admin:?} {action:?}: {other:?}"),
            }
            assert_unchanged(&ledger, 1, &id, &before);
        }
    }
    // The case the brief names: 暂扣 is not a revocation.
    let err = ledger
        .change(
            &id.to_string(),
            Action::Revoke,
            &a,
            None,
            AdminStatus::parse("暂扣"),
            None,
            AT,
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            LedgerError::AdminStatusMismatch {
                admin_status: AdminStatus::Withheld,
                action: "revoke"
            }
        ),
        "{err:?}"
    );
    assert_unchanged(&ledger, 1, &id, &before);
}

#[test]
fn reason_must_fit_the_action() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let id = licence(&a, "REASON1");
    issue(&ledger, &id, AT);
    let before = record(&ledger, &id);
    let err = ledger
        .change(
            &id.to_string(),
            Action::Revoke,
            &a,
            Some(Reason::CertificateHold),
            None,
            None,
            AT,
        )
        .unwrap_err();
    match err {
        LedgerError::ReasonMismatch { reason, action } => {
            assert_eq!(reason, "certificate_hold");
            assert_eq!(action, "revoke");
        }
        other => panic!("{other:?}"),
    }
    assert_unchanged(&ledger, 1, &id, &before);

    // Every reason that does not fit is refused, whatever the state.
    for reason in Reason::ALL {
        for action in Action::ALL {
            if reason.fits(action) {
                continue;
            }
            let err = ledger
                .change(&id.to_string(), action, &a, Some(reason), None, None, AT)
                .unwrap_err();
            assert!(
                matches!(err, LedgerError::ReasonMismatch { .. }),
                "{reason:?} {action:?}: {err:?}"
            );
            assert_unchanged(&ledger, 1, &id, &before);
        }
    }

    // A fitting explicit reason is stored as given.
    let (_, rec) = ledger
        .change(
            &id.to_string(),
            Action::Revoke,
            &a,
            Some(Reason::KeyCompromise),
            None,
            None,
            AT + 1,
        )
        .unwrap();
    assert_eq!(rec.reason, Some(Reason::KeyCompromise));
    assert_eq!(
        ledger.event(1).unwrap().unwrap().reason,
        Some(Reason::KeyCompromise)
    );
}

#[test]
fn notes_longer_than_500_characters_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let id = licence(&a, "NOTE1");
    issue(&ledger, &id, AT);
    let before = record(&ledger, &id);

    // 501 characters (1503 bytes) is too long, ASCII or not.
    for note in ["证".repeat(501), "x".repeat(501)] {
        let err = ledger
            .change(
                &id.to_string(),
                Action::Suspend,
                &a,
                None,
                None,
                Some(&note),
                AT,
            )
            .unwrap_err();
        match err {
            LedgerError::NoteTooLong { max } => assert_eq!(max, 500),
            other => panic!("{other:?}"),
        }
        assert_unchanged(&ledger, 1, &id, &before);
    }

    // Exactly 500 characters (counted as characters, not bytes) is kept.
    let note = "证".repeat(500);
    ledger
        .change(
            &id.to_string(),
            Action::Suspend,
            &a,
            None,
            None,
            Some(&note),
            AT + 1,
        )
        .unwrap();
    assert_eq!(ledger.event(1).unwrap().unwrap().note, Some(note));
}

#[test]
fn chinese_admin_statuses_map_to_their_reason_codes() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    // Chinese term → (action, RFC 5280 CRLReason code), written out independently.
    let table = [
        ("暂扣", Action::Suspend, EventKind::Suspended, 6u8),
        ("撤销", Action::Revoke, EventKind::Revoked, 9),
        ("吊销", Action::Revoke, EventKind::Revoked, 9),
        ("注销", Action::Revoke, EventKind::Revoked, 5),
    ];
    assert_eq!(table.len(), AdminStatus::ALL.len());
    for (n, (zh, action, kind, code)) in table.into_iter().enumerate() {
        let admin = AdminStatus::parse(zh).unwrap_or_else(|| panic!("{zh} does not parse"));
        assert_eq!(admin.zh(), zh);
        let id = licence(&a, &format!("ZH{n}"));
        issue(&ledger, &id, AT);
        let (receipt, rec) = ledger
            .change(&id.to_string(), action, &a, None, Some(admin), None, AT + 1)
            .unwrap();
        let e = ledger.event(receipt.seq).unwrap().unwrap();
        assert_eq!(e.kind, kind, "{zh}");
        assert_eq!(e.admin_status, Some(admin), "{zh}");
        assert_eq!(e.reason.map(Reason::code), Some(code), "{zh}");
        assert_eq!(rec.reason.map(Reason::code), Some(code), "{zh}");
        assert_eq!(rec.admin_status, Some(admin), "{zh}");
        // And in the stored bytes themselves.
        let json: serde_json::Value =
            serde_json::from_slice(&stored_event_bytes(&ledger, receipt.seq)).unwrap();
        assert_eq!(
            json["admin_status"],
            serde_json::to_value(admin).unwrap(),
            "{zh}"
        );
        let reason: Reason = serde_json::from_value(json["reason"].clone()).unwrap();
        assert_eq!(reason.code(), code, "{zh}");
    }
}

// ---------------------------------------------------------------------------------------
// 3. Status slots
// ---------------------------------------------------------------------------------------

#[test]
fn reserved_slots_are_distinct_random_and_in_range() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let a = agency_a();
    let slots: Vec<StatusSlot> = (0..10_000).map(|_| ledger.reserve(&a).unwrap()).collect();
    let distinct: HashSet<(u32, u64)> = slots.iter().map(|s| (s.list, s.idx)).collect();
    assert_eq!(distinct.len(), slots.len(), "a slot was handed out twice");
    assert!(slots.iter().all(|s| s.idx < LIST_CAPACITY));
    assert!(slots.iter().all(|s| s.list == 0), "list 0 is far from full");
    let idx: Vec<u64> = slots.iter().map(|s| s.idx).collect();
    assert!(
        !idx.windows(2).all(|w| w[0] < w[1]),
        "indices are handed out in increasing order"
    );
    assert!(
        !idx.windows(2).all(|w| w[0] > w[1]),
        "indices are handed out in decreasing order"
    );
    let consecutive = idx.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(consecutive < 10, "{consecutive} consecutive pairs");
    // Spread over the list: every eighth of it is used.
    let mut eighths = [0usize; 8];
    for i in &idx {
        eighths[usize::try_from(i * 8 / LIST_CAPACITY).unwrap()] += 1;
    }
    assert!(eighths.iter().all(|&n| n > 1000), "{eighths:?}");
    // Reservations are in memory only: nothing was appended.
    assert_eq!(ledger.size(), 0);
    // Another issuer has its own lists.
    let b_slot = ledger.reserve(&agency_b()).unwrap();
    assert!(b_slot.idx < LIST_CAPACITY);
}

#[test]
fn recorded_slots_are_never_handed_out_again_after_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let a = agency_a();
    let b = agency_b();
    let mut recorded: HashMap<(String, u32, u64), String> = HashMap::new();
    {
        let ledger = open(dir.path());
        for n in 0..300 {
            let issuer = if n % 5 == 0 { &b } else { &a };
            let id = licence(issuer, &format!("SLOT{n:04}"));
            let (slot, _) = issue(&ledger, &id, AT + n);
            let fresh = recorded
                .insert((issuer.to_string(), slot.list, slot.idx), id.to_string())
                .is_none();
            assert!(fresh, "slot {slot:?} recorded twice");
            // Some licences change status: their slot stays theirs.
            if n % 3 == 0 {
                act(&ledger, &id, Action::Suspend, AT + n).unwrap();
            }
        }
    }
    let ledger = open(dir.path());
    for ((issuer, list, idx), id) in &recorded {
        let rec = ledger.record(id).unwrap().unwrap();
        assert_eq!((&rec.issuer, rec.list, rec.idx), (issuer, *list, *idx));
    }
    // Draw many more slots than were recorded: with 300 of 2^20 slots taken, an
    // allocator that forgot them would hand some out again (≈ 57 expected).
    let mut seen = HashSet::new();
    for n in 0..200_000u32 {
        let issuer = if n % 5 == 0 { &b } else { &a };
        let slot = ledger.reserve(issuer).unwrap();
        let key = (issuer.to_string(), slot.list, slot.idx);
        assert!(
            !recorded.contains_key(&key),
            "recorded slot {key:?} of {} handed out again",
            recorded[&key]
        );
        assert!(seen.insert(key), "slot handed out twice");
    }
    assert_eq!(ledger.size(), 400);
    // Recording into a slot already recorded is refused.
    let ((issuer, list, idx), _) = recorded.iter().find(|(k, _)| k.0 == AGENCY_A).unwrap();
    let id = licence(&uscc(issuer), "REUSE");
    let err = ledger
        .record_issued(
            &id,
            StatusSlot {
                list: *list,
                idx: *idx,
            },
            "d",
            "operator",
            AT,
        )
        .unwrap_err();
    assert!(
        matches!(err, LedgerError::SlotNotReserved { .. }),
        "{err:?}"
    );
    verify_ledger(&ledger, ORIGIN, &[]).unwrap();
}

// ---------------------------------------------------------------------------------------
// 4. Merkle tree
// ---------------------------------------------------------------------------------------

/// Checks roots, inclusion proofs for every leaf and consistency proofs from every older
/// size, all at tree size `size`, against the naively computed tree over `leaves`.
fn check_tree_at(ledger: &Ledger, leaves: &[Hash], size: u64) {
    let n = usize::try_from(size).unwrap();
    let root = ledger.root_at(size).unwrap();
    assert_eq!(root, naive_mth(&leaves[..n]), "root at {size}");
    for seq in 0..size {
        let leaf = &leaves[usize::try_from(seq).unwrap()];
        let proof = ledger.inclusion_proof(seq, size).unwrap();
        merkle::verify_inclusion(seq, size, leaf, &proof, &root)
            .unwrap_or_else(|e| panic!("inclusion of {seq} in {size}: {e}"));
        // The proof is for this leaf at this position only.
        if size > 1 {
            let other = (seq + 1) % size;
            assert!(
                merkle::verify_inclusion(other, size, leaf, &proof, &root).is_err()
                    || leaves[usize::try_from(other).unwrap()] == *leaf,
                "proof of {seq} also proves position {other} in {size}"
            );
        }
        let mut wrong = *leaf;
        wrong[0] ^= 1;
        assert!(merkle::verify_inclusion(seq, size, &wrong, &proof, &root).is_err());
    }
}

fn check_consistency(ledger: &Ledger, leaves: &[Hash], old: u64, new: u64) {
    let old_root = naive_mth(&leaves[..usize::try_from(old).unwrap()]);
    let new_root = naive_mth(&leaves[..usize::try_from(new).unwrap()]);
    assert_eq!(ledger.root_at(old).unwrap(), old_root);
    let proof = ledger.consistency_proof(old, new).unwrap();
    merkle::verify_consistency(old, new, &old_root, &new_root, &proof)
        .unwrap_or_else(|e| panic!("consistency {old} → {new}: {e}"));
    if old > 0 && old < new {
        let mut forged = old_root;
        forged[31] ^= 1;
        assert!(
            merkle::verify_consistency(old, new, &forged, &new_root, &proof).is_err(),
            "consistency {old} → {new} accepts another old root"
        );
    }
}

/// Leaf hashes of every stored event, from the stored bytes (checked to be canonical).
fn leaves_of(ledger: &Ledger) -> Vec<Hash> {
    (0..ledger.size())
        .map(|seq| {
            let bytes = stored_event_bytes(ledger, seq);
            let event = ledger.event(seq).unwrap().unwrap();
            assert_eq!(event.to_bytes().unwrap(), bytes, "event {seq}");
            assert_eq!(event.seq, seq);
            let leaf = merkle::leaf_hash(&event.to_bytes().unwrap());
            assert_eq!(leaf, naive_leaf(&bytes));
            leaf
        })
        .collect()
}

#[test]
fn merkle_proofs_and_roots_match_rfc9162_for_every_size_up_to_40() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let mut driver = Driver::new(0x9E37_79B9_7F4A_7C15);
    let mut leaves: Vec<Hash> = Vec::new();
    check_consistency(&ledger, &leaves, 0, 0);
    for n in 1..=40u64 {
        let receipt = driver.step(&ledger);
        assert_eq!(receipt.seq, n - 1);
        assert_eq!(receipt.tree_size, n);
        let bytes = stored_event_bytes(&ledger, receipt.seq);
        assert_eq!(receipt.leaf, naive_leaf(&bytes));
        leaves.push(naive_leaf(&bytes));
        assert_eq!(leaves_of(&ledger), leaves);
        check_tree_at(&ledger, &leaves, n);
        for old in 0..=n {
            check_consistency(&ledger, &leaves, old, n);
        }
    }
    // Sizes beyond the log are refused, not silently proven.
    assert!(ledger.inclusion_proof(40, 41).is_err());
    assert!(ledger.inclusion_proof(3, 41).is_err());
    assert!(ledger.root_at(41).is_err());
    assert!(ledger.consistency_proof(5, 41).is_err());
    assert!(ledger.consistency_proof(6, 5).is_err());
    verify_ledger(&ledger, ORIGIN, &[]).unwrap();
}

#[test]
fn merkle_proofs_and_roots_match_rfc9162_for_300_events() {
    const N: u64 = 300;
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = open(dir.path());
        let mut driver = Driver::new(0xD1B5_4A32_D192_ED03);
        for _ in 0..N {
            driver.step(&ledger);
        }
        assert!(
            driver.licences.len() > 50,
            "{} licences",
            driver.licences.len()
        );
        assert!(driver.licences.iter().any(|l| l.0.issuer() == &agency_b()));
    }
    // Proofs come from what is on disk.
    let ledger = open(dir.path());
    assert_eq!(ledger.size(), N);
    let leaves = leaves_of(&ledger);
    for size in 0..=N {
        assert_eq!(
            ledger.root_at(size).unwrap(),
            naive_mth(&leaves[..usize::try_from(size).unwrap()]),
            "root at {size}"
        );
    }
    for size in [1, 2, 63, 64, 65, 127, 128, 129, 255, 256, 257, 299, N] {
        check_tree_at(&ledger, &leaves, size);
    }
    for old in 0..=N {
        check_consistency(&ledger, &leaves, old, N);
    }
    let mut rng = Rng(0x0123_4567_89AB_CDEF);
    for _ in 0..400 {
        let new = 1 + rng.below(N);
        let old = rng.below(new + 1);
        check_consistency(&ledger, &leaves, old, new);
    }
    for (old, new) in [
        (1, 2),
        (2, 4),
        (64, 128),
        (128, 256),
        (255, 256),
        (256, 257),
    ] {
        check_consistency(&ledger, &leaves, old, new);
    }
    let report = verify_ledger(&ledger, ORIGIN, &[]).unwrap();
    assert_eq!(report.events, N);
    assert_eq!(report.root, naive_mth(&leaves));
}

#[test]
fn concurrent_writers_get_distinct_dense_positions() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 10;
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    let receipts: Vec<Vec<(u64, String, EventKind)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let ledger = &ledger;
                scope.spawn(move || {
                    let issuer = if t % 2 == 0 { agency_a() } else { agency_b() };
                    let mut mine = Vec::new();
                    for n in 0..PER_THREAD {
                        let id = licence(&issuer, &format!("CONC{t}N{n}"));
                        let (_, r) = issue(ledger, &id, AT);
                        mine.push((r.seq, id.to_string(), EventKind::Issued));
                        let (r, rec) = act(ledger, &id, Action::Suspend, AT + 1).unwrap();
                        assert_eq!(rec.last_seq, r.seq);
                        mine.push((r.seq, id.to_string(), EventKind::Suspended));
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total = (THREADS * PER_THREAD * 2) as u64;
    assert_eq!(ledger.size(), total);
    let mut seqs: Vec<u64> = receipts.iter().flatten().map(|r| r.0).collect();
    for mine in &receipts {
        assert!(
            mine.windows(2).all(|w| w[0].0 < w[1].0),
            "one writer's seqs"
        );
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (0..total).collect::<Vec<_>>(), "positions not dense");
    for (seq, id, kind) in receipts.iter().flatten() {
        let e = ledger.event(*seq).unwrap().unwrap();
        assert_eq!((&e.licence_id, e.kind), (id, *kind));
    }
    assert!(ledger.flushes() <= total, "{} flushes", ledger.flushes());
    let report = verify_ledger(&ledger, ORIGIN, &[]).unwrap();
    assert_eq!(report.events, total);
    assert_eq!(report.licences, THREADS * PER_THREAD);
    drop(ledger);
    let ledger = open(dir.path());
    assert_eq!(ledger.size(), total);
    verify_ledger(&ledger, ORIGIN, &[]).unwrap();
}

// ---------------------------------------------------------------------------------------
// 5. Checkpoints and integrity
// ---------------------------------------------------------------------------------------

fn signer() -> NoteSigner {
    NoteSigner::generate(ORIGIN).unwrap().0
}

fn store_signed_checkpoint(ledger: &Ledger, signer: &NoteSigner, size: u64) -> String {
    let cp = Checkpoint::new(ORIGIN, size, ledger.root_at(size).unwrap());
    let note = checkpoint::sign_checkpoint(&cp, signer).unwrap();
    ledger.store_checkpoint(size, &note).unwrap();
    note
}

#[test]
fn signed_checkpoints_verify_with_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let signer = signer();
    let verifier = signer.verifier();
    let mut driver = Driver::new(42);
    let mut notes = Vec::new();
    {
        let ledger = open(dir.path());
        for n in 1..=30u64 {
            driver.step(&ledger);
            if [1, 7, 16, 23].contains(&n) {
                notes.push((n, store_signed_checkpoint(&ledger, &signer, n)));
                // The checker passes at every stage.
                let report =
                    verify_ledger(&ledger, ORIGIN, std::slice::from_ref(&verifier)).unwrap();
                assert_eq!(report.events, n);
                assert_eq!(report.checkpoints, notes.len());
            }
        }
    }
    let ledger = open(dir.path());
    assert_eq!(ledger.checkpoints().unwrap(), notes);
    assert_eq!(ledger.latest_checkpoint().unwrap(), notes.last().cloned());
    for (size, note) in &notes {
        let cp =
            checkpoint::open_checkpoint(note, ORIGIN, std::slice::from_ref(&verifier)).unwrap();
        assert_eq!(cp.checkpoint().size, *size);
        assert_eq!(cp.checkpoint().root, ledger.root_at(*size).unwrap());
        // Each checkpoint is consistent with the latest tree.
        let proof = ledger.consistency_proof(*size, 30).unwrap();
        merkle::verify_consistency(
            *size,
            30,
            &cp.checkpoint().root,
            &ledger.root_at(30).unwrap(),
            &proof,
        )
        .unwrap();
    }
    let report = verify_ledger(&ledger, ORIGIN, std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(report.events, 30);
    assert_eq!(report.checkpoints, 4);
    assert_eq!(report.licences, driver.licences.len());
    assert_eq!(report.root, ledger.root_at(30).unwrap());
    assert_eq!(report.root, naive_mth(&leaves_of(&ledger)));

    // Checkpoints are checked: not by an unknown key, not for another log.
    let stranger = NoteSigner::generate(ORIGIN).unwrap().0.verifier();
    let err = verify_ledger(&ledger, ORIGIN, &[stranger]).unwrap_err();
    assert!(
        matches!(err, IntegrityError::CheckpointInvalid { size: 1, .. }),
        "{err:?}"
    );
    let err = verify_ledger(&ledger, ORIGIN, &[]).unwrap_err();
    assert!(
        matches!(err, IntegrityError::CheckpointInvalid { size: 1, .. }),
        "{err:?}"
    );
    let err = verify_ledger(
        &ledger,
        "elicense.example/other",
        std::slice::from_ref(&verifier),
    )
    .unwrap_err();
    assert!(
        matches!(err, IntegrityError::CheckpointInvalid { size: 1, .. }),
        "{err:?}"
    );

    // A signed checkpoint for a size the log does not have, or with another root.
    let ahead = checkpoint::sign_checkpoint(
        &Checkpoint::new(ORIGIN, 31, ledger.root_at(30).unwrap()),
        &signer,
    )
    .unwrap();
    // The ledger itself refuses to store one ahead of what is on disk; written into the
    // closed ledger's database behind its back, the checker finds it.
    assert!(matches!(
        ledger.store_checkpoint(31, &ahead),
        Err(elicense::ledger::LedgerError::BeyondLog {
            size: 31,
            durable: 30
        })
    ));
    let wrong_root = checkpoint::sign_checkpoint(
        &Checkpoint::new(ORIGIN, 20, ledger.root_at(19).unwrap()),
        &signer,
    )
    .unwrap();
    drop(ledger);
    tamper_closed_ledger(dir.path(), |db| {
        db.insert(checkpoint_key(31), ahead.as_bytes()).unwrap()
    });
    let err = verify_dir(dir.path(), ORIGIN, std::slice::from_ref(&verifier)).unwrap_err();
    assert!(
        matches!(err, IntegrityError::CheckpointMismatch { size: 31 }),
        "{err:?}"
    );
    tamper_closed_ledger(dir.path(), |db| db.remove(checkpoint_key(31)).unwrap());
    let ledger = open(dir.path());
    ledger.store_checkpoint(20, &wrong_root).unwrap();
    let err = verify_ledger(&ledger, ORIGIN, std::slice::from_ref(&verifier)).unwrap_err();
    assert!(
        matches!(err, IntegrityError::CheckpointMismatch { size: 20 }),
        "{err:?}"
    );
    drop(ledger);
    tamper_closed_ledger(dir.path(), |db| db.remove(checkpoint_key(20)).unwrap());
    // A checkpoint stored under another size than it states.
    let ledger = open(dir.path());
    let (_, note7) = &notes[1];
    ledger.store_checkpoint(8, note7).unwrap();
    let err = verify_ledger(&ledger, ORIGIN, std::slice::from_ref(&verifier)).unwrap_err();
    assert!(
        matches!(err, IntegrityError::CheckpointMismatch { size: 8 }),
        "{err:?}"
    );
    drop(ledger);
    tamper_closed_ledger(dir.path(), |db| db.remove(checkpoint_key(8)).unwrap());
    verify_dir(dir.path(), ORIGIN, std::slice::from_ref(&verifier)).unwrap();
    let ledger = open(dir.path());
    verify_ledger(&ledger, ORIGIN, &[verifier]).unwrap();
}

// ---------------------------------------------------------------------------------------
// 6. Tampering
// ---------------------------------------------------------------------------------------

/// What the base ledger of the tamper tests holds.
struct Base {
    /// Licence identifiers by name.
    ids: HashMap<&'static str, String>,
    /// The revoked event that the alteration tests edit; no later event is about it.
    revoked_seq: u64,
    /// Sizes with a stored signed checkpoint.
    checkpoint_sizes: Vec<u64>,
    size: u64,
    verifier: NoteVerifier,
}

fn build_base(dir: &Path) -> Base {
    let a = agency_a();
    let b = agency_b();
    let signer = signer();
    let ledger = open(dir);
    let mut ids = HashMap::new();
    let names: [(&'static str, &Uscc); 6] = [
        ("L0", &a),
        ("L1", &a),
        ("L2", &b),
        ("L3", &a),
        ("L4", &a),
        ("L5", &b),
    ];
    let lic: HashMap<&str, LicenceId> = names
        .iter()
        .map(|(name, issuer)| (*name, licence(issuer, &format!("TAMPER{name}"))))
        .collect();
    for (name, id) in &lic {
        ids.insert(*name, id.to_string());
    }
    let at = |s: u64| AT + i64::try_from(s).unwrap() * 60;
    let mut checkpoint_sizes = Vec::new();
    let mut revoked_seq = None;
    let steps: [(&str, Option<Action>, Option<AdminStatus>); 16] = [
        ("L0", None, None),                                         // 0
        ("L1", None, None),                                         // 1
        ("L2", None, None),                                         // 2
        ("L0", Some(Action::Suspend), Some(AdminStatus::Withheld)), // 3
        ("L3", None, None),                                         // 4
        (
            "L1",
            Some(Action::Revoke),
            Some(AdminStatus::RevokedAsPenalty),
        ), // 5
        ("L0", Some(Action::Reinstate), None),                      // 6
        ("L2", Some(Action::Suspend), None),                        // 7
        ("L4", None, None),                                         // 8
        ("L3", Some(Action::Revoke), Some(AdminStatus::Deregistered)), // 9
        ("L4", Some(Action::Suspend), None),                        // 10
        ("L2", Some(Action::Revoke), Some(AdminStatus::Rescinded)), // 11
        ("L5", None, None),                                         // 12
        ("L4", Some(Action::Reinstate), None),                      // 13
        ("L5", Some(Action::Suspend), None),                        // 14
        ("L0", Some(Action::Suspend), None),                        // 15
    ];
    for (seq, (name, action, admin)) in steps.into_iter().enumerate() {
        let seq = seq as u64;
        let id = &lic[name];
        let receipt = match action {
            None => issue(&ledger, id, at(seq)).1,
            Some(action) => {
                ledger
                    .change(
                        &id.to_string(),
                        action,
                        id.issuer(),
                        None,
                        admin,
                        Some("审计测试"),
                        at(seq),
                    )
                    .unwrap()
                    .0
            }
        };
        assert_eq!(receipt.seq, seq);
        if name == "L1" && action == Some(Action::Revoke) {
            revoked_seq = Some(seq);
        }
        if [3, 8, 13, 16].contains(&(seq + 1)) {
            store_signed_checkpoint(&ledger, &signer, seq + 1);
            checkpoint_sizes.push(seq + 1);
        }
    }
    let verifier = signer.verifier();
    let report = verify_ledger(&ledger, ORIGIN, std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(report.events, 16);
    assert_eq!(report.licences, 6);
    assert_eq!(report.checkpoints, 4);
    Base {
        ids,
        revoked_seq: revoked_seq.unwrap(),
        checkpoint_sizes,
        size: ledger.size(),
        verifier,
    }
}

/// Rewrites every stored hash and licence record from the stored events, as a forger
/// with write access to the database (but not the log's signing key) would.
fn rewrite_derived_data(db: &sled::Db, size: u64) {
    let mut hashes: Vec<Hash> = Vec::new();
    let mut records: HashMap<String, LicenceRecord> = HashMap::new();
    let mut prev = String::new();
    for seq in 0..size {
        let bytes = db.get(event_key(seq)).unwrap().unwrap();
        let mut event = Event::from_bytes(&bytes).unwrap();
        event.prev = prev;
        let bytes = event.to_bytes().unwrap();
        db.insert(event_key(seq), bytes.as_slice()).unwrap();
        let leaf = naive_leaf(&bytes);
        prev = URL_SAFE_NO_PAD.encode(leaf);
        let first = merkle::stored_hash_index(0, seq);
        let new = merkle::hashes_to_store(seq, leaf, &hashes).unwrap();
        for (i, h) in new.iter().enumerate() {
            db.insert(hash_key(first + i as u64), &h[..]).unwrap();
        }
        hashes.extend(new);
        let next = match event.kind {
            EventKind::Issued => LicenceRecord::from_issued(&event).unwrap(),
            _ => records[&event.licence_id].after(&event).unwrap(),
        };
        records.insert(event.licence_id.clone(), next);
    }
    for (id, rec) in &records {
        db.insert(record_key(id), serde_json::to_vec(rec).unwrap())
            .unwrap();
    }
}

/// Records a failure unless the checker refused the tampered ledger with the right error.
fn check(
    failures: &mut Vec<String>,
    case: &str,
    got: Result<(), IntegrityError>,
    ok: &dyn Fn(&IntegrityError) -> bool,
) {
    match got {
        Err(e) if ok(&e) => println!("tamper {case}: detected: {e}"),
        other => failures.push(format!("{case}: got {other:?}")),
    }
}

/// Copies the closed base ledger, tampers with the copy's database, and runs the checker on
/// the copy's directory, as `elicense ledger verify` does.
fn tampered(
    base_dir: &Path,
    base: &Base,
    tamper: impl FnOnce(&sled::Db),
) -> Result<(), IntegrityError> {
    let copy = tempfile::tempdir().unwrap();
    copy_dir(base_dir, copy.path());
    tamper_closed_ledger(copy.path(), tamper);
    verify_dir(copy.path(), ORIGIN, std::slice::from_ref(&base.verifier)).map(|_| ())
}

#[test]
fn tampering_is_detected_and_the_culprit_named() {
    let base_dir = tempfile::tempdir().unwrap();
    let base = build_base(base_dir.path());
    let k = base.revoked_seq;
    assert_eq!(k, 5);
    assert_eq!(base.size, 16);
    assert_eq!(base.checkpoint_sizes, [3, 8, 13, 16]);
    let l1 = base.ids["L1"].clone();
    let l3 = base.ids["L3"].clone();
    let l4 = base.ids["L4"].clone();
    let mut failures: Vec<String> = Vec::new();

    // Control: an untouched copy verifies.
    tampered(base_dir.path(), &base, |_| {}).unwrap();

    // (a) A revoked event edited to say suspended, still canonical JSON.
    let res = tampered(base_dir.path(), &base, |db| {
        let mut e = Event::from_bytes(&db.get(event_key(k)).unwrap().unwrap()).unwrap();
        assert_eq!(e.kind, EventKind::Revoked);
        e.kind = EventKind::Suspended;
        e.reason = Some(Reason::CertificateHold);
        e.admin_status = Some(AdminStatus::Withheld);
        db.insert(event_key(k), e.to_bytes().unwrap()).unwrap();
    });
    check(
        &mut failures,
        "(a) event edited",
        res,
        &|e| matches!(e, IntegrityError::HashMismatch { seq } if *seq == k),
    );

    // (a') The same edit without re-serializing canonically.
    let res = tampered(base_dir.path(), &base, |db| {
        let bytes = db.get(event_key(k)).unwrap().unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v["kind"] = "suspended".into();
        db.insert(event_key(k), serde_json::to_vec_pretty(&v).unwrap())
            .unwrap();
    });
    check(
        &mut failures,
        "(a') event edited, not canonical",
        res,
        &|e| matches!(e, IntegrityError::EventCorrupt { seq, .. } if *seq == k),
    );

    // (b) An event deleted.
    let res = tampered(base_dir.path(), &base, |db| {
        db.remove(event_key(k)).unwrap().unwrap();
    });
    check(
        &mut failures,
        "(b) event deleted",
        res,
        &|e| matches!(e, IntegrityError::EventMissing { seq } if *seq == k),
    );

    // (b') The last event deleted.
    let res = tampered(base_dir.path(), &base, |db| {
        db.remove(event_key(15)).unwrap().unwrap();
    });
    check(&mut failures, "(b') last event deleted", res, &|e| {
        matches!(
            e,
            IntegrityError::SizeMismatch {
                stored: 16,
                found: 15
            }
        )
    });

    // (c) Two events swapped.
    let res = tampered(base_dir.path(), &base, |db| {
        let e4 = db.get(event_key(4)).unwrap().unwrap();
        let e9 = db.get(event_key(9)).unwrap().unwrap();
        db.insert(event_key(4), e9).unwrap();
        db.insert(event_key(9), e4).unwrap();
    });
    check(&mut failures, "(c) events swapped", res, &|e| {
        matches!(
            e,
            IntegrityError::EventOutOfPlace {
                position: 4,
                seq: 9
            }
        )
    });

    // (c') Two events swapped with their seq fields rewritten to match their new places.
    let res = tampered(base_dir.path(), &base, |db| {
        let mut e4 = Event::from_bytes(&db.get(event_key(4)).unwrap().unwrap()).unwrap();
        let mut e9 = Event::from_bytes(&db.get(event_key(9)).unwrap().unwrap()).unwrap();
        std::mem::swap(&mut e4.seq, &mut e9.seq);
        std::mem::swap(&mut e4.prev, &mut e9.prev);
        db.insert(event_key(4), e9.to_bytes().unwrap()).unwrap();
        db.insert(event_key(9), e4.to_bytes().unwrap()).unwrap();
    });
    check(
        &mut failures,
        "(c') events swapped, renumbered",
        res,
        &|e| matches!(e, IntegrityError::HashMismatch { seq: 4 }),
    );

    // (d) An event altered and every hash, chain link and record rewritten to match:
    // only the signed checkpoints can tell.
    let forge = |db: &sled::Db| {
        let mut e = Event::from_bytes(&db.get(event_key(k)).unwrap().unwrap()).unwrap();
        e.kind = EventKind::Suspended;
        e.reason = Some(Reason::CertificateHold);
        e.admin_status = Some(AdminStatus::Withheld);
        db.insert(event_key(k), e.to_bytes().unwrap()).unwrap();
        rewrite_derived_data(db, 16);
    };
    let first_covering = *base.checkpoint_sizes.iter().find(|s| **s > k).unwrap();
    let res = tampered(base_dir.path(), &base, forge);
    check(
        &mut failures,
        "(d) consistent rewrite",
        res,
        &|e| matches!(e, IntegrityError::CheckpointMismatch { size } if *size == first_covering),
    );
    // Without the checkpoints the forgery is complete (so the test forged it right).
    let res = tampered(base_dir.path(), &base, |db| {
        forge(db);
        for s in [3u64, 8, 13, 16] {
            db.remove(checkpoint_key(s)).unwrap().unwrap();
        }
    });
    if let Err(e) = res {
        failures.push(format!("(d) forgery incomplete, checker said: {e:?}"));
    }
    // Checkpoints before the altered event still verify: drop the covering ones only.
    let res = tampered(base_dir.path(), &base, |db| {
        forge(db);
        for s in [8u64, 13, 16] {
            db.remove(checkpoint_key(s)).unwrap().unwrap();
        }
    });
    if let Err(e) = res {
        failures.push(format!("(d) checkpoint 3 should still verify: {e:?}"));
    }

    // (e) A licence record edited: the revoked L1 made valid again.
    let res = tampered(base_dir.path(), &base, |db| {
        let bytes = db.get(record_key(&l1)).unwrap().unwrap();
        let mut rec: LicenceRecord = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(rec.state, LicenceState::Revoked);
        rec.state = LicenceState::Valid;
        rec.reason = None;
        rec.admin_status = None;
        db.insert(record_key(&l1), serde_json::to_vec(&rec).unwrap())
            .unwrap();
    });
    check(
        &mut failures,
        "(e) record edited",
        res,
        &|e| matches!(e, IntegrityError::RecordMismatch { licence_id } if *licence_id == l1),
    );

    // (f) A licence record deleted.
    let res = tampered(base_dir.path(), &base, |db| {
        db.remove(record_key(&l3)).unwrap().unwrap();
    });
    check(
        &mut failures,
        "(f) record deleted",
        res,
        &|e| matches!(e, IntegrityError::RecordMismatch { licence_id } if *licence_id == l3),
    );

    // (g) A stored Merkle hash altered.
    let res = tampered(base_dir.path(), &base, |db| {
        let index = merkle::stored_hash_index(0, 7);
        let mut h = db.get(hash_key(index)).unwrap().unwrap().to_vec();
        h[0] ^= 0x80;
        db.insert(hash_key(index), h).unwrap();
    });
    check(&mut failures, "(g) stored hash altered", res, &|e| {
        matches!(e, IntegrityError::HashMismatch { seq: 7 })
    });

    // (h) A record for a licence that was never issued.
    let res = tampered(base_dir.path(), &base, |db| {
        let bytes = db.get(record_key(&l1)).unwrap().unwrap();
        let mut rec: LicenceRecord = serde_json::from_slice(&bytes).unwrap();
        rec.licence_id = licence(&agency_a(), "GHOST").to_string();
        rec.idx += 1;
        db.insert(
            record_key(&rec.licence_id),
            serde_json::to_vec(&rec).unwrap(),
        )
        .unwrap();
    });
    let ghost = licence(&agency_a(), "GHOST").to_string();
    check(
        &mut failures,
        "(h) record added",
        res,
        &|e| matches!(e, IntegrityError::RecordMismatch { licence_id } if *licence_id == ghost),
    );

    // (i) A signed checkpoint altered.
    let res = tampered(base_dir.path(), &base, |db| {
        let note = db.get(checkpoint_key(8)).unwrap().unwrap().to_vec();
        let note = String::from_utf8(note)
            .unwrap()
            .replacen("\n8\n", "\n9\n", 1);
        db.insert(checkpoint_key(8), note.as_bytes()).unwrap();
    });
    check(&mut failures, "(i) checkpoint altered", res, &|e| {
        matches!(e, IntegrityError::CheckpointInvalid { size: 8, .. })
    });

    // (j) A status-list slot allocation deleted.
    let res = tampered(base_dir.path(), &base, |db| {
        let bytes = db.get(record_key(&l4)).unwrap().unwrap();
        let rec: LicenceRecord = serde_json::from_slice(&bytes).unwrap();
        let mut key = vec![b'i'];
        key.extend_from_slice(rec.issuer.as_bytes());
        key.push(0);
        key.extend_from_slice(&rec.list.to_be_bytes());
        key.extend_from_slice(&rec.idx.to_be_bytes());
        assert_eq!(db.remove(key).unwrap().as_deref(), Some(l4.as_bytes()));
    });
    check(&mut failures, "(j) slot deleted", res, &|e| {
        matches!(e, IntegrityError::SlotMismatch { .. })
    });

    assert!(
        failures.is_empty(),
        "undetected or misnamed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_first_checkpoint_stored_for_a_size_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(dir.path()).unwrap();
    let first = "elicense.example/test\n0\nAAAA\n\n— first\n";
    let second = "elicense.example/test\n0\nAAAA\n\n— second\n";
    assert_eq!(ledger.store_checkpoint(0, first).unwrap(), first);
    // A second signature over the same tree (two requests racing) does not replace the
    // note already served.
    assert_eq!(ledger.store_checkpoint(0, second).unwrap(), first);
    assert_eq!(
        ledger.latest_checkpoint().unwrap(),
        Some((0, first.to_owned()))
    );
}
