//! Crash test of the revocation ledger: a child process applies status changes and
//! reports each one the ledger acknowledged; it is killed with SIGKILL at random moments;
//! after every kill, every acknowledged change must be on disk, nothing half-applied,
//! and the integrity checker must pass.
//!
//! While the writers run, a reader thread in the child reads the ledger as the service
//! does — its size, licence records, and the agency's signed status lists, verified as a
//! relying party verifies them — and reports what it saw. After every kill, nothing a
//! reader saw may be missing from the reopened ledger: readers see only durable changes.
//!
//! The child is this test binary re-executed to run only the ignored test `crash_child`,
//! which does nothing unless `ELICENSE_CRASH_DIR` names the ledger directory (and
//! `ELICENSE_CRASH_KEYS` the key store with the agencies' keys).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use elicense::issue::{status_list_uri, Issuer};
use elicense::keys::KeyStore;
use elicense::ledger::integrity::verify_ledger;
use elicense::ledger::merkle::Hash;
use elicense::ledger::{Action, EventKind, Ledger, LicenceState};
use elicense::licence::codes::Uscc;
use elicense::licence::identifier::LicenceId;
use elicense::pki::TrustStore;
use elicense::publish::StatusPublisher;
use elicense::status_list::{self, Status, StatusList, VerifiedStatusList};
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DIR_ENV: &str = "ELICENSE_CRASH_DIR";
/// The key store holding the agencies' keys, made once by the parent.
const KEYS_ENV: &str = "ELICENSE_CRASH_KEYS";
/// Where the status lists are published (their `sub`).
const STATUS_BASE: &str = "https://elicense.example";
const AGENCY_A: &str = "11350100MB00000012";
const AGENCY_B: &str = "11440300MB00000022";
const ORIGIN: &str = "elicense.example/ledger";
const ROUNDS: usize = 80;
/// Kill delays. Counted from the moment the child reports the ledger open, except in about
/// one round in [`FROM_SPAWN_EVERY`] (chosen at random), where they count from the start
/// of the process, so that some kills also land while sled opens and recovers.
const MIN_DELAY_MS: u64 = 5;
const MAX_DELAY_MS: u64 = 60;
const FROM_SPAWN_EVERY: u64 = 4;
/// How long a child may take to open the ledger.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// 2026-01-01T00:00+08:00.
const AT: i64 = 1_767_196_800;

/// xorshift64*, seeded from the clock and the process id.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Self::from_seed(nanos ^ (u64::from(std::process::id()) << 32))
    }

    fn from_seed(seed: u64) -> Self {
        // Never zero: xorshift would stay at zero.
        Self(seed | 1)
    }

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

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Issued => "issued",
        EventKind::Suspended => "suspended",
        EventKind::Reinstated => "reinstated",
        EventKind::Revoked => "revoked",
    }
}

fn parse_kind(s: &str) -> Option<EventKind> {
    [
        EventKind::Issued,
        EventKind::Suspended,
        EventKind::Reinstated,
        EventKind::Revoked,
    ]
    .into_iter()
    .find(|k| kind_name(*k) == s)
}

fn state_name(state: LicenceState) -> &'static str {
    match state {
        LicenceState::Valid => "valid",
        LicenceState::Suspended => "suspended",
        LicenceState::Revoked => "revoked",
    }
}

fn parse_state(s: &str) -> Option<LicenceState> {
    LicenceState::ALL
        .into_iter()
        .find(|st| state_name(*st) == s)
}

/// Base 36, upper case: the alphabet of licence serials.
fn base36(mut n: u64, digits: usize) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = vec![b'0'; digits];
    for slot in out.iter_mut().rev() {
        *slot = ALPHABET[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).unwrap()
}

// ---------------------------------------------------------------------------------------
// The child
// ---------------------------------------------------------------------------------------

/// Status changes applied to each new licence, by licence number modulo 4.
const PATTERNS: [&[Action]; 4] = [
    &[Action::Suspend, Action::Reinstate, Action::Revoke],
    &[Action::Revoke],
    &[Action::Suspend, Action::Revoke],
    &[
        Action::Suspend,
        Action::Reinstate,
        Action::Suspend,
        Action::Reinstate,
    ],
];

/// Writes one whole line and flushes it, so that a killed child leaves only complete
/// lines behind.
fn emit(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").expect("child: write a line");
    out.flush().expect("child: flush a line");
}

/// Writes one acknowledgement line and flushes it; called only after the ledger call
/// returned `Ok`.
fn ack(seq: u64, id: &str, kind: EventKind, state: LicenceState) {
    emit(format_args!(
        "ack {seq} {id} {} {}",
        kind_name(kind),
        state_name(state)
    ));
}

/// Writer threads in the child: group commit shares flushes between them, and every
/// acknowledgement must still be durable.
const CHILD_THREADS: u64 = 3;
/// Licences whose issuance was acknowledged that the reader picks from, newest last.
const RECENT: usize = 32;
/// Random recent licences the reader reads per pass (besides those in flight).
const READS_PER_PASS: usize = 4;
/// Pause between two signings of the status lists in the child (signing and verifying a
/// 2²⁰-entry list takes about 10 ms in a debug build, and shares the CPU with the writers).
const SIGN_EVERY: Duration = Duration::from_millis(10);
/// Pause between two passes of the record reader.
const READ_EVERY: Duration = Duration::from_millis(1);

/// What the writers tell the reader: licences to look at.
struct Shared {
    /// Licences whose issuance was acknowledged, newest last.
    recent: Mutex<VecDeque<String>>,
    /// Per writer, the licence it is changing right now (published before the call).
    in_flight: Vec<Mutex<Option<String>>>,
    /// Slots of licences whose record a reader saw, newest last: (id, issuer, list, idx).
    slots: Mutex<VecDeque<(String, String, u32, u64)>>,
}

impl Shared {
    fn new() -> Self {
        Self {
            recent: Mutex::new(VecDeque::new()),
            in_flight: (0..CHILD_THREADS).map(|_| Mutex::new(None)).collect(),
            slots: Mutex::new(VecDeque::new()),
        }
    }

    fn slot(&self, id: String, issuer: String, list: u32, idx: u64) {
        let mut slots = self.slots.lock().unwrap();
        if !slots.iter().any(|(known, ..)| *known == id) {
            if slots.len() == RECENT {
                slots.pop_front();
            }
            slots.push_back((id, issuer, list, idx));
        }
    }

    fn issued(&self, id: &str) {
        let mut recent = self.recent.lock().unwrap();
        if recent.len() == RECENT {
            recent.pop_front();
        }
        recent.push_back(id.to_owned());
    }

    fn in_flight(&self, t: u64, id: Option<&str>) {
        *self.in_flight[usize::try_from(t).unwrap()].lock().unwrap() = id.map(str::to_owned);
    }

    /// The licences in flight and `n` random recent ones.
    fn pick(&self, rng: &mut Rng, n: usize) -> Vec<String> {
        let mut ids: Vec<String> = self
            .in_flight
            .iter()
            .filter_map(|m| m.lock().unwrap().clone())
            .collect();
        let recent = self.recent.lock().unwrap();
        if !recent.is_empty() {
            for _ in 0..n {
                let i = usize::try_from(rng.below(recent.len() as u64)).unwrap();
                ids.push(recent[i].clone());
            }
        }
        ids
    }
}

/// A signed status list verified as a relying party does: the token's header names its
/// signer (`x5c`), whose signature and claims must hold, whose chain must lead to the
/// trusted root at the list's `iat`, and who must be the list's own agency.
fn verify_list(
    trust: &TrustStore,
    token: &str,
    issuer: &str,
    uri: &str,
) -> Result<VerifiedStatusList, String> {
    let unverified = status_list::parse_token(token).map_err(|e| format!("parse: {e}"))?;
    let header = unverified.header();
    let candidates = trust
        .candidates(header.x5c.as_deref(), header.kid_str())
        .map_err(|e| format!("signer: {e}"))?;
    let validation = status_list::Validation::new(uri, AT);
    let mut last = String::from("no candidate signer");
    for candidate in &candidates {
        match unverified.verify(candidate.public_key(), &validation) {
            Ok(list) => {
                let signer = trust
                    .validate(candidate, list.issued_at())
                    .map_err(|e| format!("chain: {e}"))?;
                if signer.agency.code.as_str() != issuer {
                    return Err(format!("signed by {}, not {issuer}", signer.agency.code));
                }
                return Ok(list);
            }
            Err(e) => last = format!("verify: {e}"),
        }
    }
    Err(last)
}

/// A reader: reads the size, the records of licences recently issued or being changed,
/// and their status-list entries as the publisher would sign them now, and reports each
/// observation; shares the slots it learnt with [`read_signed_lists`].
fn read_records(ledger: &Ledger, shared: &Shared) {
    let mut rng = Rng::seeded();
    loop {
        let size = ledger.size();
        emit(format_args!("size {size}"));
        // The lists as they would be signed now, one copy per list and pass.
        let mut lists: HashMap<(String, u32), Option<StatusList>> = HashMap::new();
        for id in shared.pick(&mut rng, READS_PER_PASS) {
            let Some(record) = ledger.record(&id).expect("child: read a record") else {
                continue;
            };
            emit(format_args!(
                "seen {id} {} {}",
                record.last_seq,
                state_name(record.state)
            ));
            let statuses = lists
                .entry((record.issuer.clone(), record.list))
                .or_insert_with(|| {
                    ledger.status_list(&Uscc::parse(&record.issuer).unwrap(), record.list)
                });
            let status = statuses
                .as_ref()
                .and_then(|l| l.get(usize::try_from(record.idx).unwrap()))
                .expect("child: the licence's status-list entry");
            emit(format_args!(
                "entry {} {} {} {} {id}",
                record.issuer,
                record.list,
                record.idx,
                status.as_u8()
            ));
            shared.slot(id, record.issuer, record.list, record.idx);
        }
        std::thread::sleep(READ_EVERY);
    }
}

/// A reader: signs the agencies' status lists as the service does and verifies them as a
/// relying party does, and reports the entries of the licences whose slots
/// [`read_records`] learnt. (A signed list is printed several milliseconds after the
/// publisher read the ledger — signing and verifying a 2²⁰-entry list in a debug build —
/// by when most changes in flight then are durable: the entries `read_records` reads
/// directly are printed at once.)
fn read_signed_lists(ledger: &Ledger, shared: &Shared, keys: &Path) {
    let store = KeyStore::new(keys);
    let trust = store.trust_store().expect("child: trust store");
    let issuers: HashMap<String, Issuer> = [AGENCY_A, AGENCY_B]
        .into_iter()
        .map(|code| {
            let key = store
                .agency_key(&Uscc::parse(code).unwrap())
                .expect("child: agency key");
            (code.to_owned(), Issuer::new(key).expect("child: issuer"))
        })
        .collect();
    let issuer_for = |code: &Uscc| issuers.get(code.as_str());
    let publisher = StatusPublisher::new(STATUS_BASE, 86_400, 3_600);
    loop {
        let slots = shared.slots.lock().unwrap().clone();
        if slots.is_empty() {
            std::thread::sleep(READ_EVERY);
            continue;
        }
        let began = Instant::now();
        publisher
            .refresh(ledger, &issuer_for, AT)
            .expect("child: sign the status lists");
        let lists: BTreeSet<(&str, u32)> = slots
            .iter()
            .map(|(_, issuer, list, _)| (issuer.as_str(), *list))
            .collect();
        for (issuer, list) in lists {
            // Signed at open (every list counts as changed then) or since.
            let Some(published) = publisher.get(issuer, list) else {
                panic!("child: no signed status list {issuer}/{list}");
            };
            let uri = status_list_uri(STATUS_BASE, issuer, list);
            let verified = verify_list(&trust, &published.token, issuer, &uri)
                .unwrap_or_else(|e| panic!("child: status list {uri} refused: {e}"));
            for (id, _, _, idx) in slots
                .iter()
                .filter(|(_, i, l, _)| i == issuer && *l == list)
            {
                let status = verified.get(*idx).expect("child: index in the list");
                emit(format_args!(
                    "list {issuer} {list} {idx} {} {id}",
                    status.as_u8()
                ));
            }
        }
        emit(format_args!("signed {}", began.elapsed().as_micros()));
        std::thread::sleep(SIGN_EVERY);
    }
}

#[test]
#[ignore = "the child process of acknowledged_changes_survive_sigkill; runs only with ELICENSE_CRASH_DIR set"]
fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
    let keys = std::env::var_os(KEYS_ENV).expect("child: ELICENSE_CRASH_KEYS");
    let ledger = Ledger::open(Path::new(&dir)).expect("child: open the ledger");
    let agencies = [
        Uscc::parse(AGENCY_A).expect("agency A"),
        Uscc::parse(AGENCY_B).expect("agency B"),
    ];
    let start = ledger.size();
    let mut rng = Rng::seeded();
    // Unique per run: the size at start and a random suffix; then thread and counter.
    let run = format!("{}R{}", base36(start, 6), base36(rng.next(), 6));
    {
        let mut out = std::io::stdout().lock();
        // A fresh line: the test harness may have printed a partial one.
        writeln!(out).expect("child: write");
        writeln!(out, "ready {start}").expect("child: write");
        out.flush().expect("child: flush");
    }
    let shared = Shared::new();
    std::thread::scope(|scope| {
        let (ledger, shared) = (&ledger, &shared);
        scope.spawn(move || read_records(ledger, shared));
        scope.spawn(move || read_signed_lists(ledger, shared, Path::new(&keys)));
        for t in 0..CHILD_THREADS {
            let (agencies, run) = (&agencies, &run);
            scope.spawn(move || {
                for n in 0u64.. {
                    let issuer = &agencies[usize::from((n + t) % 3 == 2)];
                    let serial = format!("{run}T{t}N{n}");
                    let id =
                        LicenceId::new("CRASH", issuer.clone(), &serial, 1).expect("licence id");
                    let ids = id.to_string();
                    let at = AT + i64::try_from(start + n).expect("time");
                    let slot = ledger.reserve(issuer).expect("child: reserve");
                    // The reader looks at the licence while its issuance is in flight too
                    // (it must see nothing until it is durable).
                    shared.in_flight(t, Some(&ids));
                    let receipt = ledger
                        .record_issued(&id, slot, "Y3Jhc2gtdGVzdA", "crash-child", at)
                        .expect("child: record_issued");
                    ack(receipt.seq, &ids, EventKind::Issued, LicenceState::Valid);
                    shared.issued(&ids);
                    for action in PATTERNS[usize::try_from((n + t) % 4).expect("index")] {
                        let (receipt, record) = ledger
                            .change(&ids, *action, issuer, None, None, Some("crash test"), at)
                            .expect("child: change");
                        ack(receipt.seq, &ids, action.kind(), record.state);
                    }
                }
            });
        }
    });
}

// ---------------------------------------------------------------------------------------
// The parent
// ---------------------------------------------------------------------------------------

/// One acknowledged change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ack {
    seq: u64,
    licence_id: String,
    kind: EventKind,
    state: LicenceState,
}

fn parse_ack(line: &str) -> Option<Ack> {
    let mut parts = line.strip_prefix("ack ")?.split(' ');
    let ack = Ack {
        seq: parts.next()?.parse().ok()?,
        licence_id: parts.next()?.to_owned(),
        kind: parse_kind(parts.next()?)?,
        state: parse_state(parts.next()?)?,
    };
    parts.next().is_none().then_some(ack)
}

/// A licence record a reader in the child saw.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    licence_id: String,
    last_seq: u64,
    state: LicenceState,
}

/// A licence's entry in a signed status list a reader in the child verified.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    issuer: String,
    list: u32,
    idx: u64,
    status: u8,
    licence_id: String,
}

fn parse_seen(line: &str) -> Option<Seen> {
    let mut parts = line.strip_prefix("seen ")?.split(' ');
    let seen = Seen {
        licence_id: parts.next()?.to_owned(),
        last_seq: parts.next()?.parse().ok()?,
        state: parse_state(parts.next()?)?,
    };
    parts.next().is_none().then_some(seen)
}

/// A `list` line (an entry of a verified signed list) or an `entry` line (read from the
/// ledger's status list, as the publisher would sign it), after the prefix.
fn parse_listed(line: &str) -> Option<Listed> {
    let mut parts = line.split(' ');
    let listed = Listed {
        issuer: parts.next()?.to_owned(),
        list: parts.next()?.parse().ok()?,
        idx: parts.next()?.parse().ok()?,
        status: parts.next()?.parse().ok()?,
        licence_id: parts.next()?.to_owned(),
    };
    parts.next().is_none().then_some(listed)
}

/// What the reader in a child saw while the writers ran.
#[derive(Debug, Default)]
struct Observations {
    sizes: Vec<u64>,
    seen: Vec<Seen>,
    /// Entries of verified signed status lists.
    listed: Vec<Listed>,
    /// Entries of the ledger's status lists, read directly.
    entries: Vec<Listed>,
    /// How long each signing and verifying of the status lists took.
    signing: Vec<Duration>,
}

/// What the child printed: complete lines only (a line without its newline was never
/// fully written), with the arrival time of the `ready` line.
struct ChildOutput {
    acks: Vec<Ack>,
    ready_after: Option<Duration>,
    /// The ledger's size when the child opened it.
    start: Option<u64>,
    observed: Observations,
    other: Vec<String>,
}

fn read_child_stdout(
    stdout: impl Read,
    spawned: Instant,
    ready: std::sync::mpsc::Sender<()>,
) -> ChildOutput {
    let mut reader = BufReader::new(stdout);
    let mut out = ChildOutput {
        acks: Vec::new(),
        ready_after: None,
        start: None,
        observed: Observations::default(),
        other: Vec::new(),
    };
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let Some(text) = line.strip_suffix('\n') else {
            break;
        };
        if let Some(ack) = parse_ack(text) {
            out.acks.push(ack);
        } else if let Some(seen) = parse_seen(text) {
            out.observed.seen.push(seen);
        } else if let Some(listed) = text.strip_prefix("list ").and_then(parse_listed) {
            out.observed.listed.push(listed);
        } else if let Some(entry) = text.strip_prefix("entry ").and_then(parse_listed) {
            out.observed.entries.push(entry);
        } else if let Some(size) = text.strip_prefix("size ").and_then(|n| n.parse().ok()) {
            out.observed.sizes.push(size);
        } else if let Some(us) = text.strip_prefix("signed ").and_then(|n| n.parse().ok()) {
            out.observed.signing.push(Duration::from_micros(us));
        } else if let Some(start) = text.strip_prefix("ready ") {
            out.start = Some(start.parse().expect("the child's start size"));
            out.ready_after = Some(spawned.elapsed());
            let _ = ready.send(());
        } else if ["ack", "seen", "list", "entry", "size", "signed"]
            .iter()
            .any(|p| text.starts_with(p))
        {
            panic!("malformed line from the child {text:?}");
        } else if !text.trim().is_empty() {
            out.other.push(text.to_owned());
        }
    }
    out
}

/// The state a licence is in after an event of `kind`.
fn state_after(kind: EventKind) -> LicenceState {
    match kind {
        EventKind::Issued | EventKind::Reinstated => LicenceState::Valid,
        EventKind::Suspended => LicenceState::Suspended,
        EventKind::Revoked => LicenceState::Revoked,
    }
}

/// Checks what a reader saw while the child ran against the reopened ledger: nothing it
/// saw may have been lost. The child's licences have their events at `start` and after.
fn check_observations(ledger: &Ledger, round: usize, start: u64, observed: &Observations) {
    let size = ledger.size();
    for &seen_size in &observed.sizes {
        assert!(
            seen_size <= size,
            "round {round}: a reader saw {seen_size} events, the reopened ledger holds {size}"
        );
    }
    for s in &observed.seen {
        let id = &s.licence_id;
        let event = ledger.event(s.last_seq).unwrap().unwrap_or_else(|| {
            panic!(
                "round {round}: a reader saw {id} at event {} ({}), which is lost",
                s.last_seq,
                state_name(s.state)
            )
        });
        assert_eq!(
            &event.licence_id, id,
            "round {round}: a reader saw {id} at event {}, which is about another licence",
            s.last_seq
        );
        let record = ledger.record(id).unwrap().unwrap_or_else(|| {
            panic!("round {round}: a reader saw the record of {id}, which is lost")
        });
        assert!(
            record.last_seq >= s.last_seq,
            "round {round}: a reader saw {id} at event {}, the reopened record is at {}",
            s.last_seq,
            record.last_seq
        );
        if record.last_seq == s.last_seq {
            assert_eq!(
                record.state, s.state,
                "round {round}: state of {id} as seen"
            );
        }
        if s.state == LicenceState::Revoked {
            assert_eq!(
                record.state,
                LicenceState::Revoked,
                "round {round}: a reader saw {id} revoked, the reopened ledger has it {}",
                state_name(record.state)
            );
        }
    }
    if observed.listed.is_empty() && observed.entries.is_empty() {
        return;
    }
    // The statuses each of the child's licences durably reached, from its events.
    let mut reached: HashMap<String, HashSet<u8>> = HashMap::new();
    for seq in start..size {
        let event = ledger.event(seq).unwrap().unwrap();
        reached
            .entry(event.licence_id)
            .or_default()
            .insert(state_after(event.kind).status().as_u8());
    }
    let signed = observed.listed.iter().map(|l| ("a signed status list", l));
    let read = observed
        .entries
        .iter()
        .map(|l| ("the ledger's status list", l));
    for (source, l) in signed.chain(read) {
        let id = &l.licence_id;
        let record = ledger.record(id).unwrap().unwrap_or_else(|| {
            panic!("round {round}: a reader knew the slot of {id}, whose record is lost")
        });
        assert_eq!(
            (record.issuer.as_str(), record.list, record.idx),
            (l.issuer.as_str(), l.list, l.idx),
            "round {round}: the slot of {id}"
        );
        let statuses = reached.get(id.as_str());
        assert!(
            statuses.is_some_and(|s| s.contains(&l.status)),
            "round {round}: {source} showed {id} ({}/{} #{}) with status {}, a \
             state it never durably reached (reopened: {}, statuses reached {statuses:?})",
            l.issuer,
            l.list,
            l.idx,
            l.status,
            state_name(record.state)
        );
        if l.status == Status::Invalid.as_u8() {
            assert_eq!(
                record.state,
                LicenceState::Revoked,
                "round {round}: {source} showed {id} revoked, the reopened ledger has it {}",
                state_name(record.state)
            );
        }
    }
}

/// Checks the reopened ledger after a kill: `acks` (those of the last child, or all of
/// them) in detail, `total_acked` against the size, and that the log up to the size seen
/// at the last check (`last`, with its root) is unchanged, and what the last child's
/// reader saw (`observed`, with the size the child started at). Returns the size and root.
fn check_after_restart(
    dir: &Path,
    round: usize,
    acks: &[Ack],
    total_acked: usize,
    last: Option<(u64, Hash)>,
    observed: Option<(u64, &Observations)>,
) -> (u64, Hash) {
    let ledger = Ledger::open(dir)
        .unwrap_or_else(|e| panic!("round {round}: the ledger does not reopen after SIGKILL: {e}"));
    let size = ledger.size();
    assert!(
        size >= total_acked as u64,
        "round {round}: {total_acked} changes acknowledged but the ledger holds {size} events"
    );
    // Nothing that was visible after an earlier restart has gone or changed (with the
    // checker's proof below that the stored hashes are those of the events, an unchanged
    // root means unchanged events: earlier acknowledged changes are still there).
    if let Some((old_size, old_root)) = last {
        assert!(
            size >= old_size,
            "round {round}: the ledger shrank from {old_size} to {size} events"
        );
        assert_eq!(
            ledger.root_at(old_size).unwrap(),
            old_root,
            "round {round}: the first {old_size} events changed"
        );
    }
    // Every acknowledged change is in the log at its position.
    let mut last_acked: HashMap<&str, &Ack> = HashMap::new();
    for a in acks {
        let event = ledger
            .event(a.seq)
            .unwrap_or_else(|e| panic!("round {round}: event {} unreadable: {e}", a.seq))
            .unwrap_or_else(|| {
                panic!(
                    "round {round}: acknowledged event {} ({} {}) is lost",
                    a.seq,
                    kind_name(a.kind),
                    a.licence_id
                )
            });
        assert_eq!(
            (event.licence_id.as_str(), event.kind),
            (a.licence_id.as_str(), a.kind),
            "round {round}: event {} is not the acknowledged one",
            a.seq
        );
        let newer = last_acked
            .get(a.licence_id.as_str())
            .is_none_or(|prev| prev.seq < a.seq);
        assert!(
            newer,
            "round {round}: acks of {} out of order",
            a.licence_id
        );
        last_acked.insert(&a.licence_id, a);
    }
    // Each acknowledged licence's record is at least as far as its last acknowledged
    // change, and its status-list entry agrees with the record.
    for (id, a) in &last_acked {
        let record = ledger
            .record(id)
            .unwrap()
            .unwrap_or_else(|| panic!("round {round}: record of {id} is lost"));
        assert!(
            record.last_seq >= a.seq,
            "round {round}: record of {id} is at event {} but event {} was acknowledged",
            record.last_seq,
            a.seq
        );
        if record.last_seq == a.seq {
            assert_eq!(record.state, a.state, "round {round}: state of {id}");
        }
        if a.state == LicenceState::Revoked {
            assert_eq!(record.state, LicenceState::Revoked, "round {round}: {id}");
        }
        let issuer = Uscc::parse(&record.issuer).unwrap();
        let status = ledger
            .status_list(&issuer, record.list)
            .and_then(|l| l.get(usize::try_from(record.idx).unwrap()))
            .unwrap_or_else(|| panic!("round {round}: no status-list entry for {id}"));
        assert_eq!(
            status.as_u8(),
            record.state.status().as_u8(),
            "round {round}: status-list entry of {id}"
        );
    }
    if let Some((start, observed)) = observed {
        check_observations(&ledger, round, start, observed);
    }
    assert!(
        ledger.checkpoints().unwrap().is_empty(),
        "round {round}: the child stores no checkpoints"
    );
    let report = verify_ledger(&ledger, ORIGIN, &[]).unwrap_or_else(|e| {
        panic!("round {round}: the ledger does not verify after SIGKILL: {e} ({e:?})")
    });
    assert_eq!(report.events, size);
    let root = ledger.root_at(size).unwrap();
    assert_eq!(report.root, root);
    (size, root)
}

#[test]
fn acknowledged_changes_survive_sigkill() {
    let started = Instant::now();
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("cannot locate this test binary to run the child: {e}"));
    let dir = tempfile::tempdir().unwrap();
    let keys = make_keys();
    let mut rng = Rng::seeded();
    let seed = rng.0;
    let mut acks: Vec<Ack> = Vec::new();
    let mut seqs: HashSet<u64> = HashSet::new();
    let mut last: Option<(u64, Hash)> = None;
    let mut rounds_with_acks = 0usize;
    let mut killed_before_ready = 0usize;
    let mut startup = Vec::new();
    let mut from_spawn_rounds = 0usize;
    let (mut sizes_seen, mut records_seen, mut records_seen_changed) = (0usize, 0usize, 0usize);
    let (mut listed, mut listed_changed, mut rounds_with_lists) = (0usize, 0usize, 0usize);
    let (mut entries, mut entries_changed) = (0usize, 0usize);
    let mut signing = Vec::new();
    for round in 0..ROUNDS {
        let delay =
            Duration::from_millis(MIN_DELAY_MS + rng.below(MAX_DELAY_MS - MIN_DELAY_MS + 1));
        let from_spawn = rng.below(FROM_SPAWN_EVERY) == 0;
        from_spawn_rounds += usize::from(from_spawn);
        let spawned = Instant::now();
        let mut child = Command::new(&exe)
            .args([
                "--ignored",
                "--exact",
                "crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(DIR_ENV, dir.path())
            .env(KEYS_ENV, keys.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("round {round}: cannot start the child {exe:?}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || read_child_stdout(stdout, spawned, ready_tx));
        let err_reader = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        if from_spawn {
            std::thread::sleep(delay);
        } else {
            // The channel also closes when the child dies without getting ready: that is
            // reported below as an early exit.
            let ready = ready_rx.recv_timeout(READY_TIMEOUT);
            if ready.is_ok() {
                std::thread::sleep(delay);
            } else if child.try_wait().unwrap().is_none() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("round {round}: the child did not open the ledger within {READY_TIMEOUT:?}");
            }
        }
        let early_exit = child.try_wait().unwrap();
        child
            .kill()
            .unwrap_or_else(|e| panic!("round {round}: cannot SIGKILL the child: {e}"));
        let status = child.wait().unwrap();
        let output = reader.join().unwrap();
        let stderr_text = err_reader.join().unwrap();
        if let Some(status) = early_exit {
            panic!(
                "round {round}: the child exited by itself ({status}) before the kill\n\
                 stdout: {:?}\nstderr: {stderr_text}",
                output.other
            );
        }
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(
                status.signal(),
                Some(9),
                "round {round}: the child was not killed by SIGKILL ({status})"
            );
        }
        #[cfg(not(unix))]
        assert!(!status.success(), "round {round}: child status {status}");
        match output.ready_after {
            Some(t) => startup.push(t),
            None => killed_before_ready += 1,
        }
        if !output.acks.is_empty() {
            rounds_with_acks += 1;
        }
        for a in &output.acks {
            assert!(
                seqs.insert(a.seq),
                "round {round}: seq {} acknowledged twice: an acknowledged event was overwritten",
                a.seq
            );
        }
        let observed = &output.observed;
        if let Some(start) = output.start {
            last = Some(check_after_restart(
                dir.path(),
                round,
                &output.acks,
                acks.len() + output.acks.len(),
                last,
                Some((start, observed)),
            ));
        } else {
            assert!(
                output.acks.is_empty()
                    && observed.seen.is_empty()
                    && observed.listed.is_empty()
                    && observed.entries.is_empty(),
                "round {round}: the child reported before it was ready"
            );
            last = Some(check_after_restart(
                dir.path(),
                round,
                &output.acks,
                acks.len(),
                last,
                None,
            ));
        }
        sizes_seen += observed.sizes.len();
        records_seen += observed.seen.len();
        records_seen_changed += observed
            .seen
            .iter()
            .filter(|s| s.state != LicenceState::Valid)
            .count();
        listed += observed.listed.len();
        listed_changed += observed.listed.iter().filter(|l| l.status != 0).count();
        rounds_with_lists += usize::from(!observed.listed.is_empty());
        entries += observed.entries.len();
        entries_changed += observed.entries.iter().filter(|l| l.status != 0).count();
        signing.extend(observed.signing.iter().copied());
        acks.extend(output.acks);
    }
    // Finally every acknowledged change of every round, checked one by one.
    let (size, _) = check_after_restart(dir.path(), ROUNDS, &acks, acks.len(), last, None);
    let elapsed = started.elapsed();
    startup.sort();
    let median_startup = startup.get(startup.len() / 2).copied().unwrap_or_default();
    signing.sort();
    let median_signing = signing.get(signing.len() / 2).copied().unwrap_or_default();
    println!(
        "crash test: {ROUNDS} SIGKILL rounds (seed {seed:#x}; {from_spawn_rounds} timed from \
         process start), {} acknowledged changes all present, {rounds_with_acks} rounds with \
         acks, {killed_before_ready} kills before the ledger opened, {size} events in the end \
         ({} landed unacknowledged), median child start {median_startup:?}, {elapsed:?}",
        acks.len(),
        size - acks.len() as u64,
    );
    println!(
        "crash test readers: {sizes_seen} sizes, {records_seen} records \
         ({records_seen_changed} suspended or revoked), {entries} status-list entries \
         ({entries_changed} suspended or revoked), {listed} entries of {} verified \
         signed status lists ({listed_changed} suspended or revoked, in {rounds_with_lists} \
         rounds; median signing and verifying {median_signing:?}), none lost after the kill",
        signing.len(),
    );
    assert!(
        rounds_with_acks * 4 >= ROUNDS && acks.len() >= 50,
        "only {rounds_with_acks} of {ROUNDS} rounds acknowledged any change before the kill \
         (median child start {median_startup:?}): the test did not exercise the ledger"
    );
    assert!(
        records_seen >= 200 && records_seen_changed >= 20,
        "readers saw only {records_seen} records ({records_seen_changed} suspended or \
         revoked): the test did not exercise reading during the load"
    );
    assert!(
        entries >= 200 && entries_changed >= 20,
        "readers saw only {entries} status-list entries ({entries_changed} suspended or \
         revoked): the test did not exercise reading during the load"
    );
    assert!(
        listed >= 20 && listed_changed >= 5,
        "readers saw only {listed} entries of signed status lists ({listed_changed} \
         suspended or revoked; median signing {median_signing:?}): the test did not \
         exercise signed lists during the load"
    );
}

/// A key store with a root and both agencies' issuer keys, valid at [`AT`].
fn make_keys() -> tempfile::TempDir {
    let keys = tempfile::tempdir().unwrap();
    common::server::test_key_store(keys.path(), "Crash Test Root", &[AGENCY_A, AGENCY_B]);
    keys
}
