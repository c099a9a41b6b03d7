//! Crash test of the revocation ledger: a child process applies status changes and
//! reports each one the ledger acknowledged; it is killed with SIGKILL at random moments;
//! after every kill, every acknowledged change must be on disk, nothing half-applied,
//! and the integrity checker must pass.
//!
//! The child is this test binary re-executed to run only the ignored test `crash_child`,
//! which does nothing unless `ELICENSE_CRASH_DIR` names the ledger directory.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::ledger::integrity::verify_ledger;
use elicense::ledger::merkle::Hash;
use elicense::ledger::{Action, EventKind, Ledger, LicenceState};
use elicense::licence::codes::Uscc;
use elicense::licence::identifier::LicenceId;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DIR_ENV: &str = "ELICENSE_CRASH_DIR";
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

/// Writes one acknowledgement line and flushes it; called only after the ledger call
/// returned `Ok`.
fn ack(out: &mut impl Write, seq: u64, id: &str, kind: EventKind, state: LicenceState) {
    writeln!(
        out,
        "ack {seq} {id} {} {}",
        kind_name(kind),
        state_name(state)
    )
    .expect("child: write ack");
    out.flush().expect("child: flush ack");
}

/// Writer threads in the child: group commit shares flushes between them, and every
/// acknowledgement must still be durable.
const CHILD_THREADS: u64 = 3;

#[test]
#[ignore = "the child process of acknowledged_changes_survive_sigkill; runs only with ELICENSE_CRASH_DIR set"]
fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_ENV) else {
        return;
    };
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
    std::thread::scope(|scope| {
        for t in 0..CHILD_THREADS {
            let (ledger, agencies, run) = (&ledger, &agencies, &run);
            scope.spawn(move || {
                for n in 0u64.. {
                    let issuer = &agencies[usize::from((n + t) % 3 == 2)];
                    let serial = format!("{run}T{t}N{n}");
                    let id =
                        LicenceId::new("CRASH", issuer.clone(), &serial, 1).expect("licence id");
                    let ids = id.to_string();
                    let at = AT + i64::try_from(start + n).expect("time");
                    let slot = ledger.reserve(issuer).expect("child: reserve");
                    let receipt = ledger
                        .record_issued(&id, slot, "Y3Jhc2gtdGVzdA", "crash-child", at)
                        .expect("child: record_issued");
                    ack(
                        &mut std::io::stdout().lock(),
                        receipt.seq,
                        &ids,
                        EventKind::Issued,
                        LicenceState::Valid,
                    );
                    for action in PATTERNS[usize::try_from((n + t) % 4).expect("index")] {
                        let (receipt, record) = ledger
                            .change(&ids, *action, issuer, None, None, Some("crash test"), at)
                            .expect("child: change");
                        ack(
                            &mut std::io::stdout().lock(),
                            receipt.seq,
                            &ids,
                            action.kind(),
                            record.state,
                        );
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

/// What the child printed: complete lines only (a line without its newline was never
/// fully written), with the arrival time of the `ready` line.
struct ChildOutput {
    acks: Vec<Ack>,
    ready_after: Option<Duration>,
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
        } else if text.starts_with("ready ") {
            out.ready_after = Some(spawned.elapsed());
            let _ = ready.send(());
        } else if text.starts_with("ack") {
            panic!("malformed acknowledgement line {text:?}");
        } else if !text.trim().is_empty() {
            out.other.push(text.to_owned());
        }
    }
    out
}

/// Checks the reopened ledger after a kill: `acks` (those of the last child, or all of
/// them) in detail, `total_acked` against the size, and that the log up to the size seen
/// at the last check (`last`, with its root) is unchanged. Returns the size and root.
fn check_after_restart(
    dir: &Path,
    round: usize,
    acks: &[Ack],
    total_acked: usize,
    last: Option<(u64, Hash)>,
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
    let mut rng = Rng::seeded();
    let seed = rng.0;
    let mut acks: Vec<Ack> = Vec::new();
    let mut seqs: HashSet<u64> = HashSet::new();
    let mut last: Option<(u64, Hash)> = None;
    let mut rounds_with_acks = 0usize;
    let mut killed_before_ready = 0usize;
    let mut startup = Vec::new();
    let mut from_spawn_rounds = 0usize;
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
        last = Some(check_after_restart(
            dir.path(),
            round,
            &output.acks,
            acks.len() + output.acks.len(),
            last,
        ));
        acks.extend(output.acks);
    }
    // Finally every acknowledged change of every round, checked one by one.
    let (size, _) = check_after_restart(dir.path(), ROUNDS, &acks, acks.len(), last);
    let elapsed = started.elapsed();
    startup.sort();
    let median_startup = startup.get(startup.len() / 2).copied().unwrap_or_default();
    println!(
        "crash test: {ROUNDS} SIGKILL rounds (seed {seed:#x}; {from_spawn_rounds} timed from \
         process start), {} acknowledged changes all present, {rounds_with_acks} rounds with \
         acks, {killed_before_ready} kills before the ledger opened, {size} events in the end \
         ({} landed unacknowledged), median child start {median_startup:?}, {elapsed:?}",
        acks.len(),
        size - acks.len() as u64,
    );
    assert!(
        rounds_with_acks * 4 >= ROUNDS && acks.len() >= 50,
        "only {rounds_with_acks} of {ROUNDS} rounds acknowledged any change before the kill \
         (median child start {median_startup:?}): the test did not exercise the ledger"
    );
}
