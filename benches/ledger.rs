//! The revocation ledger: durable status changes/s (one writer, and many writers sharing
//! flushes through group commit), acknowledgement latency, issuance recording, status
//! lookups, and building + signing a 1,000,000-entry status list — next to the raw sled
//! insert + flush rate measured in the same run, on the same disk, with their ratios.
//! Further raw rows for reading the figures: the same with `fdatasync` of sled's log (sled
//! 0.34's flush is only `sync_file_range`, spacejam/sled#1452), and a 4-key `apply_batch`
//! then flush: the write shape of one ledger event without any ledger logic.
//!
//! `cargo bench --bench ledger` (or `cargo bench --bench ledger -- --seconds 2 --writers 64`).
//! Options: `--seconds S` per timed measure (default 2), `--writers N` concurrent writers
//! (default 64), `--licences N` pre-issued for the lookups (default 10000), `--rounds N`
//! for the status list (default 5), `--dir PATH` parent of the fresh data directories
//! (default: the target directory's tmp, i.e. the project's disk), `--only NAME` to run one
//! measure alone for profiling (raw, change1, changeN, issue1, issueN, lookup, list).
//!
//! Goals (ledger issue): ≥ 20,000 durable status changes/s with concurrent writers and
//! p99 acknowledgement ≤ 5 ms; a 1,000,000-entry 2-bit list built, compressed and signed
//! in ≤ 0.5 s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::jose::{b64u_encode, sha256, Es256Signer};
use elicense::ledger::{Action, Ledger, LicenceState};
use elicense::licence::codes::Uscc;
use elicense::licence::identifier::LicenceId;
use elicense::status_list::{sign_token, Status, StatusList, TokenClaims};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

const AGENCY: &str = "11350100MB00000012";
const TYPE_CODE: &str = "1001";
const AT: i64 = 1_767_196_800;
/// Licences each concurrent writer cycles through.
const PER_WRITER: usize = 16;
/// Licences the single writer cycles through.
const SINGLE_WRITER_LICENCES: usize = 1024;
const LIST_ENTRIES: usize = 1_000_000;

const GOAL_CHANGES: f64 = 20_000.0;
const GOAL_P99_MS: f64 = 5.0;
const GOAL_LIST_MS: f64 = 500.0;

struct Opts {
    budget: Duration,
    writers: usize,
    licences: usize,
    rounds: usize,
    parent: PathBuf,
    only: String,
}

/// xorshift64*: cheap, reproducible picks.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// A fresh data directory on the chosen disk.
fn fresh_dir(o: &Opts, what: &str) -> tempfile::TempDir {
    std::fs::create_dir_all(&o.parent).unwrap();
    tempfile::Builder::new()
        .prefix(&format!("ledger-bench-{what}-"))
        .tempdir_in(&o.parent)
        .unwrap()
}

fn open(dir: &Path) -> Ledger {
    Ledger::open(dir).unwrap()
}

fn licence_id(code: &Uscc, serial: u64) -> LicenceId {
    LicenceId::new(TYPE_CODE, code.clone(), &format!("S{serial:010}"), 1).unwrap()
}

/// Reserves a slot and records the issuance durably; returns the identifier.
fn issue_one(ledger: &Ledger, code: &Uscc, serial: u64) -> String {
    let id = licence_id(code, serial);
    let text = id.to_string();
    let digest = b64u_encode(sha256(text.as_bytes()));
    let slot = ledger.reserve(code).unwrap();
    ledger
        .record_issued(&id, slot, &digest, "bench", AT)
        .unwrap();
    text
}

/// Setup, not timed: issues `n` licences with `threads` concurrent writers (so group commit
/// keeps it short); returns their identifiers.
fn preissue(ledger: &Ledger, code: &Uscc, n: usize, threads: usize) -> Vec<String> {
    let next = AtomicU64::new(0);
    let threads = threads.clamp(1, n.max(1));
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let serial = next.fetch_add(1, Ordering::Relaxed);
                        if serial >= n as u64 {
                            return mine;
                        }
                        mine.push(issue_one(ledger, code, serial));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// Suspend on even passes over a licence set, reinstate on odd ones: every call is a legal
/// transition, and each licence is back to valid after an even number of passes.
fn action_for(i: usize, set: usize) -> Action {
    if (i / set).is_multiple_of(2) {
        Action::Suspend
    } else {
        Action::Reinstate
    }
}

fn expected_state(done: usize, set: usize, pos: usize) -> LicenceState {
    // Changes applied to licence `pos` of a set of `set` cycled `done` times in total.
    let applied = done / set + usize::from(pos < done % set);
    if applied.is_multiple_of(2) {
        LicenceState::Valid
    } else {
        LicenceState::Suspended
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

struct Concurrent {
    rate: f64,
    ops: u64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    flushes: u64,
    /// Process CPU time (all threads, sled's own included) over the timed window.
    cpu: Duration,
}

impl Concurrent {
    fn per_flush(&self) -> f64 {
        self.ops as f64 / self.flushes.max(1) as f64
    }

    fn cpu_us_per_op(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.ops.max(1) as f64
    }
}

/// User + system CPU time of this process so far (Linux `/proc/self/stat`, 100 Hz ticks);
/// zero where unavailable.
fn process_cpu() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    Duration::from_millis(f.iter().sum::<u64>() * 10)
}

/// Runs `op(thread, i)` on `threads` threads for `budget`, timing each call; `flushes`
/// reads the flush counter before and after the timed window.
fn run_concurrent(
    threads: usize,
    budget: Duration,
    flushes: &(dyn Fn() -> u64 + Sync),
    op: &(dyn Fn(usize, usize) + Sync),
) -> (Concurrent, Vec<usize>) {
    let barrier = Barrier::new(threads + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(4096);
                    barrier.wait();
                    let start = Instant::now();
                    let mut i = 0;
                    while start.elapsed() < budget {
                        let t0 = Instant::now();
                        op(t, i);
                        lat.push(t0.elapsed().as_nanos() as u64);
                        i += 1;
                    }
                    (lat, Instant::now())
                })
            })
            .collect();
        let before = flushes();
        barrier.wait();
        let start = Instant::now();
        let cpu0 = process_cpu();
        let mut all = Vec::new();
        let mut end = start;
        let mut counts = Vec::new();
        for h in handles {
            let (lat, e) = h.join().unwrap();
            counts.push(lat.len());
            all.extend(lat);
            end = end.max(e);
        }
        let cpu = process_cpu().saturating_sub(cpu0);
        let after = flushes();
        all.sort_unstable();
        let ops = all.len() as u64;
        (
            Concurrent {
                rate: ops as f64 / (end - start).as_secs_f64(),
                ops,
                p50_ms: percentile(&all, 50.0),
                p99_ms: percentile(&all, 99.0),
                max_ms: all.last().map_or(f64::NAN, |&n| n as f64 / 1e6),
                flushes: after - before,
                cpu,
            },
            counts,
        )
    })
}

/// How a raw write is shaped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Raw {
    /// One `insert` of a 300-byte value, then `flush`.
    Insert,
    /// The same, then `fdatasync` of sled's log file: sled 0.34's `flush` ends in
    /// `sync_file_range`, which flushes neither the disk's write cache nor the file's
    /// metadata (spacejam/sled#1452), so this is the floor for writes that survive a
    /// power cut.
    InsertDatasync,
    /// The shape of one ledger event: an `apply_batch` of 4 keys (300-byte event, 300-byte
    /// record, 32-byte hash, 8-byte size), then `flush`. In sled 0.34 every batch rolls
    /// (writes out) the io buffer before and after its manifest (`PageCache::pin_log`).
    Batch,
}

/// 1. The durable-write floor: one raw sled write + flush per write.
fn raw_sled(o: &Opts, threads: usize, shape: Raw) -> Concurrent {
    let dir = fresh_dir(o, "raw");
    let db = sled::Config::new()
        .path(dir.path())
        .flush_every_ms(Some(1000))
        .open()
        .unwrap();
    let log = std::fs::File::open(dir.path().join("db")).unwrap();
    let value = [b'v'; 300];
    let seq = AtomicU64::new(0);
    let flushes = AtomicU64::new(0);
    let write = || {
        let k = seq.fetch_add(1, Ordering::Relaxed);
        if shape == Raw::Batch {
            let mut b = sled::Batch::default();
            b.insert(&[&b"e"[..], &k.to_be_bytes()].concat()[..], &value[..]);
            b.insert(&[&b"h"[..], &k.to_be_bytes()].concat()[..], &value[..32]);
            b.insert(
                &[&b"l"[..], &(k % 1024).to_be_bytes()].concat()[..],
                &value[..],
            );
            b.insert(&b"msize"[..], &k.to_be_bytes());
            db.apply_batch(b).unwrap();
        } else {
            db.insert(k.to_be_bytes(), &value[..]).unwrap();
        }
        db.flush().unwrap();
        if shape == Raw::InsertDatasync {
            log.sync_data().unwrap();
        }
        flushes.fetch_add(1, Ordering::Relaxed);
    };
    for _ in 0..20 {
        write();
    }
    let (c, _) = run_concurrent(
        threads,
        o.budget,
        &|| flushes.load(Ordering::Relaxed),
        &|_, _| write(),
    );
    if shape != Raw::Batch {
        assert_eq!(db.len() as u64, seq.load(Ordering::Relaxed));
    }
    c
}

/// 2 and 3. Durable status changes, each writer on its own licences.
fn changes(o: &Opts, code: &Uscc, writers: usize) -> (Concurrent, Duration) {
    let dir = fresh_dir(o, "change");
    let ledger = open(dir.path());
    let per = if writers == 1 {
        SINGLE_WRITER_LICENCES
    } else {
        PER_WRITER
    };
    let setup = Instant::now();
    let ids = preissue(&ledger, code, per * writers, o.writers);
    let setup = setup.elapsed();
    let sets: Vec<&[String]> = ids.chunks(per).collect();
    let issued = ledger.size();
    let (c, counts) = run_concurrent(writers, o.budget, &|| ledger.flushes(), &|t, i| {
        let set = sets[t];
        ledger
            .change(
                &set[i % set.len()],
                action_for(i, set.len()),
                code,
                None,
                None,
                None,
                AT + 1,
            )
            .unwrap();
    });
    // Every acknowledged change is in the log, and the licences are where they should be.
    assert_eq!(ledger.size(), issued + c.ops);
    for (t, &done) in counts.iter().enumerate() {
        let set = sets[t];
        for pos in [0, set.len() - 1] {
            let r = ledger.record(&set[pos]).unwrap().unwrap();
            assert_eq!(
                r.state,
                expected_state(done, set.len(), pos),
                "{}",
                set[pos]
            );
        }
    }
    (c, setup)
}

/// 6. Issuance recording: reserve + record_issued, durable.
fn issuance(o: &Opts, code: &Uscc, writers: usize) -> Concurrent {
    let dir = fresh_dir(o, "issue");
    let ledger = open(dir.path());
    let next = AtomicU64::new(0);
    for _ in 0..20 {
        issue_one(&ledger, code, next.fetch_add(1, Ordering::Relaxed));
    }
    let before = ledger.size();
    let (c, _) = run_concurrent(writers, o.budget, &|| ledger.flushes(), &|_, _| {
        issue_one(&ledger, code, next.fetch_add(1, Ordering::Relaxed));
    });
    assert_eq!(ledger.size(), before + c.ops);
    c
}

/// 4. `record(id)` for random issued licences, on `threads` threads; lookups/s in total.
fn lookups(ledger: &Ledger, ids: &[String], threads: usize, budget: Duration) -> f64 {
    let barrier = Barrier::new(threads);
    let total: f64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (t as u64 + 1));
                    let mut pick = || &ids[(rng.next() % ids.len() as u64) as usize];
                    for _ in 0..1000 {
                        black_box(ledger.record(pick()).unwrap());
                    }
                    barrier.wait();
                    let start = Instant::now();
                    let mut n = 0u64;
                    while start.elapsed() < budget {
                        for _ in 0..64 {
                            let r = ledger.record(black_box(pick())).unwrap();
                            assert!(black_box(r).is_some());
                        }
                        n += 64;
                    }
                    n as f64 / start.elapsed().as_secs_f64()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total
}

struct ListTiming {
    build: Duration,
    encode: Duration,
    sign: Duration,
    total: Duration,
    token_len: usize,
}

/// 5. Build a 1,000,000-entry 2-bit list with ~1% revoked/suspended at random, then
///    compress and sign it as a Status List Token with a fresh key (key generation not
///    timed).
fn status_list_round(seed: u64) -> ListTiming {
    let (key, _) = Es256Signer::generate().unwrap();
    let claims = TokenClaims {
        sub: format!("https://elicense.example/status/{AGENCY}/0"),
        iat: AT,
        exp: Some(AT + 86_400),
        ttl: Some(300),
        iss: Some(format!("https://elicense.example/agencies/{AGENCY}")),
        aggregation_uri: None,
    };
    let mut header = serde_json::Map::new();
    header.insert("kid".into(), serde_json::Value::String("bench".into()));
    let mut rng = Rng(seed | 1);

    let start = Instant::now();
    let mut list = StatusList::new(2, LIST_ENTRIES).unwrap();
    for _ in 0..LIST_ENTRIES / 100 {
        let i = (rng.next() % LIST_ENTRIES as u64) as usize;
        let s = if rng.next().is_multiple_of(4) {
            Status::Suspended
        } else {
            Status::Invalid
        };
        list.set(i, s).unwrap();
    }
    let build = start.elapsed();
    let t = Instant::now();
    let token = sign_token(&list, &claims, &header, &key).unwrap();
    let sign = t.elapsed();
    let total = start.elapsed();
    // Compression alone (sign_token compresses too), for the breakdown; not in the total.
    let t = Instant::now();
    black_box(list.encode_lst().unwrap());
    let encode = t.elapsed();
    ListTiming {
        build,
        encode,
        sign,
        total,
        token_len: black_box(token).len(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| {
            let v: Vec<&str> = s.split_whitespace().take(3).collect();
            (v.len() == 3).then(|| v.join(" "))
        })
        .unwrap_or_else(|| "n/a".into())
}

fn line(what: &str, c: &Concurrent) {
    println!(
        "  {what:<36} {:>9.0}/s  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} ops, {} flushes, {:.1}/flush; CPU {:.0} µs/op)",
        c.rate,
        c.p50_ms,
        c.p99_ms,
        c.max_ms,
        c.ops,
        c.flushes,
        c.per_flush(),
        c.cpu_us_per_op()
    );
}

fn main() {
    let mut o = Opts {
        budget: Duration::from_secs_f64(2.0),
        writers: 64,
        licences: 10_000,
        rounds: 5,
        parent: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
        only: String::new(),
    };
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(2) {
        match w[0].as_str() {
            "--seconds" => {
                if let Ok(s) = w[1].parse::<f64>() {
                    o.budget = Duration::from_secs_f64(s.max(0.01));
                }
            }
            "--writers" => o.writers = w[1].parse().unwrap_or(o.writers).max(1),
            "--licences" => o.licences = w[1].parse().unwrap_or(o.licences).max(1),
            "--rounds" => o.rounds = w[1].parse().unwrap_or(o.rounds).max(1),
            "--dir" => o.parent = PathBuf::from(&w[1]),
            "--only" => o.only = w[1].clone(),
            _ => {}
        }
    }
    let run = |name: &str| o.only.is_empty() || o.only == name;
    let code = Uscc::parse(AGENCY).unwrap();
    let n = o.writers;
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());
    println!(
        "ledger bench: {:.1}s per measure, {n} concurrent writers, {cores} cores, load average {} at start; data under {}",
        o.budget.as_secs_f64(),
        load(),
        o.parent.display()
    );
    let started = Instant::now();

    let (mut raw1, mut raw_n, mut raw_sync) = (None, None, None);
    let (mut raw_batch, mut raw_batch_n) = (None, None);
    if run("raw") {
        let c = raw_sled(&o, 1, Raw::Insert);
        line("raw sled insert(300 B)+flush, 1 thread", &c);
        raw1 = Some(c);
        let c = raw_sled(&o, n, Raw::Insert);
        line(&format!("raw sled insert+flush, {n} threads"), &c);
        raw_n = Some(c);
        let c = raw_sled(&o, 1, Raw::InsertDatasync);
        line("raw insert+flush+fdatasync, 1 thread", &c);
        raw_sync = Some(c);
        let c = raw_sled(&o, 1, Raw::Batch);
        line("raw 4-key apply_batch+flush, 1 thread", &c);
        raw_batch = Some(c);
        let c = raw_sled(&o, n, Raw::Batch);
        line(&format!("raw 4-key apply_batch+flush, {n} thr"), &c);
        raw_batch_n = Some(c);
    }
    let mut change1 = None;
    if run("change1") {
        let (c, setup) = changes(&o, &code, 1);
        line("durable changes, 1 writer", &c);
        println!("    (setup: {SINGLE_WRITER_LICENCES} licences pre-issued in {setup:.2?})");
        change1 = Some(c);
    }
    let mut change_n = None;
    if run("changeN") {
        let (c, setup) = changes(&o, &code, n);
        line(&format!("durable changes, {n} writers"), &c);
        println!(
            "    (setup: {} licences pre-issued in {setup:.2?})",
            n * PER_WRITER
        );
        change_n = Some(c);
    }
    let mut lookup = None;
    if run("lookup") {
        let dir = fresh_dir(&o, "lookup");
        let ledger = open(dir.path());
        let t = Instant::now();
        let ids = preissue(&ledger, &code, o.licences, n);
        let setup = t.elapsed();
        let one = lookups(&ledger, &ids, 1, o.budget);
        let two = lookups(&ledger, &ids, 2, o.budget);
        println!(
            "  {:<36} {one:>9.0}/s  (2 threads: {two:.0}/s; {} licences pre-issued in {setup:.2?})",
            "status lookups record(id), 1 thread",
            ids.len()
        );
        lookup = Some((one, two));
    }
    let mut list = None;
    if run("list") {
        let mut rounds: Vec<ListTiming> = (0..o.rounds)
            .map(|r| status_list_round(0xC0FF_EE00 + r as u64))
            .collect();
        rounds.sort_by_key(|r| r.total);
        let best = &rounds[0];
        let median = &rounds[rounds.len() / 2];
        println!(
            "  {:<36} median {:.1} ms, best {:.1} ms  (median round: build {:.1} ms, sign_token {:.1} ms of which zlib-9 ≈ {:.1} ms; token {} B)",
            "1M-entry list build+compress+sign",
            ms(median.total),
            ms(best.total),
            ms(median.build),
            ms(median.sign),
            ms(median.encode),
            median.token_len
        );
        list = Some((ms(median.total), ms(best.total)));
    }
    let (mut issue1, mut issue_n) = (None, None);
    if run("issue1") {
        let c = issuance(&o, &code, 1);
        line("issuance recorded, 1 writer", &c);
        issue1 = Some(c);
    }
    if run("issueN") {
        let c = issuance(&o, &code, n);
        line(&format!("issuance recorded, {n} writers"), &c);
        issue_n = Some(c);
    }

    println!();
    println!(
        "{:<40} {:>12} {:>11}   {:<16} verdict",
        "measure", "value", "vs raw", "goal"
    );
    let raw_rate = raw1.as_ref().map(|c| c.rate);
    let vs_raw = |r: f64| raw_rate.map_or(String::new(), |b| format!("{:.2}× raw", r / b));
    let verdict = |ok: bool| if ok { "ok" } else { "BELOW GOAL" };
    if let Some(c) = &raw1 {
        println!(
            "{:<40} {:>10.0}/s {:>11}",
            "raw sled insert+flush, 1 thread", c.rate, "1.00× raw"
        );
    }
    if let Some(c) = &raw_n {
        println!(
            "{:<40} {:>10.0}/s {:>11}",
            format!("raw sled insert+flush, {n} threads"),
            c.rate,
            vs_raw(c.rate)
        );
    }
    if let Some(c) = &raw_sync {
        println!(
            "{:<40} {:>10.0}/s {:>11}   (true durable floor: sled#1452)",
            "raw sled insert+flush+fdatasync, 1 thr",
            c.rate,
            vs_raw(c.rate)
        );
    }
    if let Some(c) = &raw_batch {
        println!(
            "{:<40} {:>10.0}/s {:>11}   (an event's write shape, no ledger logic)",
            "raw sled 4-key apply_batch+flush, 1 thr",
            c.rate,
            vs_raw(c.rate)
        );
    }
    if let Some(c) = &raw_batch_n {
        println!(
            "{:<40} {:>10.0}/s {:>11}",
            format!("raw sled 4-key batch+flush, {n} thr"),
            c.rate,
            vs_raw(c.rate)
        );
    }
    if let Some(c) = &change1 {
        println!(
            "{:<40} {:>10.0}/s {:>11}",
            "durable changes, 1 writer",
            c.rate,
            vs_raw(c.rate)
        );
    }
    if let Some(c) = &change_n {
        println!(
            "{:<40} {:>10.0}/s {:>11}   {:<16} {}",
            format!("durable changes, {n} writers"),
            c.rate,
            vs_raw(c.rate),
            "≥ 20000/s",
            verdict(c.rate >= GOAL_CHANGES)
        );
        println!(
            "{:<40} {:>9.2} ms {:>11}   {:<16} {}",
            "  acknowledgement p99",
            c.p99_ms,
            "",
            "≤ 5 ms",
            verdict(c.p99_ms <= GOAL_P99_MS)
        );
        println!(
            "{:<40} {:>9.2} ms / {:.2} ms max",
            "  acknowledgement p50", c.p50_ms, c.max_ms
        );
        println!(
            "{:<40} {:>12.1}   ({} flushes for {} changes)",
            "  changes per flush",
            c.per_flush(),
            c.flushes,
            c.ops
        );
        println!(
            "{:<40} {:>9.0} µs   (all threads, sled's included; {} cores)",
            "  process CPU per change",
            c.cpu_us_per_op(),
            cores
        );
    }
    if let Some((one, two)) = lookup {
        println!("{:<40} {one:>10.0}/s", "status lookups, 1 thread");
        println!("{:<40} {two:>10.0}/s", "status lookups, 2 threads");
    }
    if let Some((median, best)) = list {
        println!(
            "{:<40} {median:>9.1} ms {:>11}   {:<16} {}  (best {best:.1} ms)",
            "1M-entry list build+compress+sign",
            "",
            "≤ 500 ms",
            verdict(median <= GOAL_LIST_MS)
        );
    }
    if let Some(c) = &issue1 {
        println!(
            "{:<40} {:>10.0}/s {:>11}",
            "issuance recorded, 1 writer",
            c.rate,
            vs_raw(c.rate)
        );
    }
    if let Some(c) = &issue_n {
        println!(
            "{:<40} {:>10.0}/s {:>11}   ({:.1}/flush, p99 {:.2} ms)",
            format!("issuance recorded, {n} writers"),
            c.rate,
            vs_raw(c.rate),
            c.per_flush(),
            c.p99_ms
        );
    }
    println!(
        "total {:.1?}; load average {} at end",
        started.elapsed(),
        load()
    );
}
