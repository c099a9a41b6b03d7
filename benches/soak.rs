//! Ledger memory under a sustained write load: RSS against events, so that the bound set by
//! `ledger.cache_mb` (sled's page cache) is visible.
//!
//! The load runs in a child process (this bench re-executed with `ELICENSE_SOAK_CHILD` set
//! to the data directory), so the RSS reported is the ledger's alone. The child opens the
//! ledger with the given page cache, runs `--writers` threads that each issue a licence
//! (reserve + record with a paper seal), then suspend, reinstate and revoke it, as fast as
//! the ledger acknowledges durable writes, and every `--every` seconds prints
//! `sample <elapsed_s> <events> <rss_kib>` (events = `Ledger::size`, RSS = `VmRSS` of
//! `/proc/self/status`). The parent prints those as a table, then the peak RSS (`VmHWM`),
//! the growth per 1,000 events over the second half of the run, and whether the peak stayed
//! under the bound (page cache + [`OVERHEAD_MIB`]). The reference measured in the same run
//! is raw sled `insert` (300 B) + `flush` on as many threads for [`RAW_SECONDS`]; the
//! ledger's events/s is given as a ratio of it.
//!
//! `cargo bench --bench soak` (or `cargo bench --bench soak -- --seconds 20 --compare`).
//! Options: `--seconds S` of load (default 60), `--writers N` (default 16), `--cache-mb N`
//! page cache (default the crate's, `DEFAULT_CACHE_BYTES`), `--every S` between samples
//! (default 3), `--dir PATH` parent of the fresh data directory (default: the target
//! directory's tmp), `--compare` to run the same load again with sled's own default cache
//! (1024 MiB) for `--compare-seconds S` (default `--seconds`, at most 20). The bench takes
//! about `RAW_SECONDS` + S (+ the compare run) + a second or two to open and close each
//! ledger, and removes its data directories.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::jose::{b64u_encode, sha256};
use elicense::ledger::store::DEFAULT_CACHE_BYTES;
use elicense::ledger::{Action, Ledger, LedgerOptions};
use elicense::licence::codes::Uscc;
use elicense::licence::identifier::LicenceId;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const AGENCY: &str = "11350100MB00000012";
const TYPE_CODE: &str = "1001";
const AT: i64 = 1_767_196_800;
/// Set (to the data directory) in the child process that runs the load.
const CHILD_ENV: &str = "ELICENSE_SOAK_CHILD";
/// sled 0.34's own page cache default, for `--compare`.
const SLED_DEFAULT_CACHE_MB: u64 = 1024;
/// Memory allowed beside the page cache: the process and its threads, sled's io buffers
/// and what it does not count against the cache, the ledger's status lists (2 bit + 1 bit
/// × 2^20 entries each) and batches waiting for a flush. Measured on 2 cores, 16 writers,
/// 64 MiB: RSS is cache + ~40 MiB once the cache is full (~100k events), then grows by
/// ~95 KiB per 1,000 events (memory sled's cache limit does not cover), cache + 82 MiB at
/// 540k events after 60 s; so this bound holds to ~650k events there, and the bench
/// prints where the measured growth would cross it. It is not a bound for ever.
const OVERHEAD_MIB: u64 = 96;
/// Seconds of the raw sled reference.
const RAW_SECONDS: f64 = 1.0;
/// Beyond its load time, how long a child may take to open and close the ledger.
const GRACE: Duration = Duration::from_secs(30);
/// Length of the synthetic paper seal recorded with each issuance (a real one is a few
/// hundred base45 characters).
const SEAL_LEN: usize = 480;

#[derive(Clone)]
struct Opts {
    seconds: f64,
    writers: usize,
    cache_mb: u64,
    every: f64,
    parent: PathBuf,
    compare: bool,
    compare_seconds: Option<f64>,
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        seconds: 60.0,
        writers: 16,
        cache_mb: DEFAULT_CACHE_BYTES >> 20,
        every: 3.0,
        parent: PathBuf::from(env!("CARGO_TARGET_TMPDIR")),
        compare: false,
        compare_seconds: None,
    };
    let args: Vec<String> = std::env::args().collect();
    o.compare = args.iter().any(|a| a == "--compare");
    let secs = |s: &str| s.parse::<f64>().ok().filter(|v| v.is_finite());
    for w in args.windows(2) {
        match w[0].as_str() {
            "--seconds" => o.seconds = secs(&w[1]).unwrap_or(o.seconds).max(1.0),
            "--writers" => o.writers = w[1].parse().unwrap_or(o.writers).max(1),
            "--cache-mb" => o.cache_mb = w[1].parse().unwrap_or(o.cache_mb).max(1),
            "--every" => o.every = secs(&w[1]).unwrap_or(o.every).max(0.2),
            "--dir" => o.parent = PathBuf::from(&w[1]),
            "--compare-seconds" => o.compare_seconds = secs(&w[1]).map(|s| s.max(1.0)),
            _ => {}
        }
    }
    o
}

/// `VmRSS` and `VmHWM` (peak) of a process, KiB; zero where unavailable.
fn rss_kib(status: &str) -> (u64, u64) {
    let text = std::fs::read_to_string(status).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn licence_id(code: &Uscc, serial: u64) -> LicenceId {
    LicenceId::new(TYPE_CODE, code.clone(), &format!("S{serial:010}"), 1).unwrap()
}

/// One writer of the child: issue, suspend, reinstate, revoke, on fresh licences, until
/// `stop`.
fn writer(ledger: &Ledger, code: &Uscc, next: &AtomicU64, stop: &AtomicBool, seal: &str) {
    while !stop.load(Ordering::Relaxed) {
        let serial = next.fetch_add(1, Ordering::Relaxed);
        let id = licence_id(code, serial);
        let text = id.to_string();
        let digest = b64u_encode(sha256(text.as_bytes()));
        let slot = ledger.reserve(code).unwrap();
        ledger
            .record_issued_with_seal(&id, slot, &digest, Some(seal), "soak", AT)
            .unwrap();
        for action in [Action::Suspend, Action::Reinstate, Action::Revoke] {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            ledger
                .change(&text, action, code, None, None, None, AT + 1)
                .unwrap();
        }
    }
}

/// The child: the load, with a sample line every `o.every` seconds and a last one when
/// the writers have stopped, then `done <peak_rss_kib>`.
fn child(dir: &Path, o: &Opts) {
    let options = LedgerOptions {
        cache_bytes: o.cache_mb << 20,
    };
    let ledger = Ledger::open_with(dir, options).unwrap();
    let code = Uscc::parse(AGENCY).unwrap();
    let seal: String = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
        .chars()
        .cycle()
        .take(SEAL_LEN)
        .collect();
    let next = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let sample = || {
        let (rss, _) = rss_kib("/proc/self/status");
        println!(
            "sample {:.3} {} {rss}",
            start.elapsed().as_secs_f64(),
            ledger.size()
        );
    };
    sample();
    let deadline = start + Duration::from_secs_f64(o.seconds);
    let every = Duration::from_secs_f64(o.every);
    let sleep_until = |t: Instant| std::thread::sleep(t.saturating_duration_since(Instant::now()));
    std::thread::scope(|s| {
        for _ in 0..o.writers {
            s.spawn(|| writer(&ledger, &code, &next, &stop, &seal));
        }
        let mut due = start + every;
        while due < deadline {
            sleep_until(due);
            sample();
            due += every;
        }
        sleep_until(deadline);
        stop.store(true, Ordering::Relaxed);
    });
    ledger.flush().unwrap();
    sample();
    let (_, peak) = rss_kib("/proc/self/status");
    println!("done {peak}");
}

#[derive(Clone, Copy)]
struct Sample {
    t: f64,
    events: u64,
    rss_kib: u64,
}

struct Run {
    cache_mb: u64,
    seconds: f64,
    samples: Vec<Sample>,
    peak_kib: u64,
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

impl Run {
    fn first(&self) -> Sample {
        self.samples[0]
    }

    fn last(&self) -> Sample {
        *self.samples.last().unwrap()
    }

    fn rate(&self) -> f64 {
        let (a, b) = (self.first(), self.last());
        (b.events - a.events) as f64 / (b.t - a.t).max(1e-9)
    }

    fn bound_mib(&self) -> u64 {
        self.cache_mb + OVERHEAD_MIB
    }

    /// The highest RSS seen: the kernel's peak if it was read, else the highest sample.
    fn peak(&self) -> u64 {
        let sampled = self.samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
        self.peak_kib.max(sampled)
    }

    /// RSS growth, KiB per 1,000 events, from the first sample at or after half the run
    /// to the last one.
    fn second_half_growth(&self) -> Option<f64> {
        let mid = self.samples.iter().find(|s| s.t >= self.seconds / 2.0)?;
        let end = self.last();
        let events = end.events.checked_sub(mid.events).filter(|&e| e > 0)?;
        Some((end.rss_kib as f64 - mid.rss_kib as f64) * 1000.0 / events as f64)
    }

    /// RSS (KiB) at `events` events, interpolated between the samples around it (the last
    /// sample's if the run did not get that far).
    fn rss_at(&self, events: u64) -> f64 {
        let last = self.last();
        let Some(i) = self.samples.iter().position(|s| s.events >= events) else {
            return last.rss_kib as f64;
        };
        let b = self.samples[i];
        let Some(a) = i.checked_sub(1).map(|j| self.samples[j]) else {
            return b.rss_kib as f64;
        };
        let f = (events - a.events) as f64 / (b.events - a.events).max(1) as f64;
        a.rss_kib as f64 + f * (b.rss_kib as f64 - a.rss_kib as f64)
    }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let mut f = line.strip_prefix("sample ")?.split_whitespace();
    Some(Sample {
        t: f.next()?.parse().ok()?,
        events: f.next()?.parse().ok()?,
        rss_kib: f.next()?.parse().ok()?,
    })
}

/// Runs the load in a child process with `cache_mb` of page cache for `seconds`, printing
/// its samples as they come.
fn soak(o: &Opts, cache_mb: u64, seconds: f64) -> Run {
    std::fs::create_dir_all(&o.parent).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("ledger-soak-")
        .tempdir_in(&o.parent)
        .unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, dir.path())
        .args(["--seconds", &seconds.to_string()])
        .args(["--writers", &o.writers.to_string()])
        .args(["--cache-mb", &cache_mb.to_string()])
        .args(["--every", &o.every.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    println!(
        "\n{cache_mb} MiB page cache, {} writers, {seconds:.0} s (child pid {}):",
        o.writers,
        child.id()
    );
    println!(
        "  {:>7} {:>10} {:>9} {:>14} {:>10}",
        "time s", "events", "RSS MiB", "KiB/1k events", "events/s"
    );
    let deadline = Instant::now() + Duration::from_secs_f64(seconds) + GRACE;
    let mut samples: Vec<Sample> = Vec::new();
    let mut peak_kib = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(s) = parse_sample(&line) {
                    let per_k = samples.first().and_then(|f| {
                        let e = s.events.checked_sub(f.events).filter(|&e| e > 0)?;
                        Some((s.rss_kib as f64 - f.rss_kib as f64) * 1000.0 / e as f64)
                    });
                    let rate = samples.last().map(|p| {
                        (s.events.saturating_sub(p.events)) as f64 / (s.t - p.t).max(1e-9)
                    });
                    println!(
                        "  {:>7.1} {:>10} {:>9.1} {:>14} {:>10}",
                        s.t,
                        s.events,
                        mib(s.rss_kib),
                        per_k.map_or("-".into(), |v| format!("{v:.1}")),
                        rate.map_or("-".into(), |v| format!("{v:.0}")),
                    );
                    samples.push(s);
                } else if let Some(p) = line.strip_prefix("done ") {
                    peak_kib = p.trim().parse().unwrap_or(0);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("soak child did not finish within {seconds} s + {GRACE:?}; killed");
            }
        }
    }
    reader.join().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "soak child failed: {status}");
    assert!(samples.len() >= 2, "soak child printed too few samples");
    drop(dir);
    Run {
        cache_mb,
        seconds,
        samples,
        peak_kib,
    }
}

/// The reference: raw sled `insert` (300 B) + `flush` on `threads` threads for
/// [`RAW_SECONDS`], writes/s.
fn raw_sled(o: &Opts, threads: usize, cache_mb: u64) -> f64 {
    std::fs::create_dir_all(&o.parent).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("ledger-soak-raw-")
        .tempdir_in(&o.parent)
        .unwrap();
    let db = sled::Config::new()
        .path(dir.path())
        .cache_capacity(cache_mb << 20)
        .flush_every_ms(Some(1000))
        .open()
        .unwrap();
    let value = [b'v'; 300];
    let seq = AtomicU64::new(0);
    let write = || {
        let k = seq.fetch_add(1, Ordering::Relaxed);
        db.insert(k.to_be_bytes(), &value[..]).unwrap();
        db.flush().unwrap();
    };
    for _ in 0..20 {
        write();
    }
    let budget = Duration::from_secs_f64(RAW_SECONDS);
    let before = seq.load(Ordering::Relaxed);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                while start.elapsed() < budget {
                    write();
                }
            });
        }
    });
    let rate = (seq.load(Ordering::Relaxed) - before) as f64 / start.elapsed().as_secs_f64();
    drop(db);
    drop(dir);
    rate
}

fn summary(run: &Run, raw: f64) {
    let (first, last) = (run.first(), run.last());
    let peak = run.peak();
    let bound = run.bound_mib();
    println!(
        "  {} MiB cache: {} events in {:.1} s ({:.0} events/s, {:.2}× raw); RSS start {:.1} MiB, end {:.1} MiB, peak {:.1} MiB",
        run.cache_mb,
        last.events,
        last.t,
        run.rate(),
        run.rate() / raw,
        mib(first.rss_kib),
        mib(last.rss_kib),
        mib(peak),
    );
    println!(
        "    growth over the second half: {}",
        run.second_half_growth()
            .map_or("n/a (too few samples)".into(), |g| format!(
                "{g:.1} KiB per 1,000 events"
            ))
    );
    println!(
        "    goal: peak RSS ≤ cache + {OVERHEAD_MIB} MiB = {bound} MiB: {}",
        if peak <= bound << 10 {
            "met"
        } else {
            "NOT met"
        }
    );
    // Memory the page cache does not cover keeps growing slowly once the cache is full:
    // say where that growth would cross the bound.
    if let Some(g) = run.second_half_growth().filter(|&g| g > 0.0) {
        let room = (bound << 10) as f64 - last.rss_kib as f64;
        if room > 0.0 {
            println!(
                "    at that growth RSS would reach the bound at ~{:.0}k events",
                (last.events as f64 + room * 1000.0 / g) / 1000.0
            );
        }
    }
}

fn main() {
    let o = parse_opts();
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(Path::new(&dir), &o);
        return;
    }
    let cores = std::thread::available_parallelism().map_or(0, |c| c.get());
    let compare_seconds = o.compare_seconds.unwrap_or(o.seconds.min(20.0));
    let total = RAW_SECONDS + o.seconds + if o.compare { compare_seconds } else { 0.0 };
    println!(
        "soak bench: {} writers, {} MiB page cache, {:.0} s of load{}, a sample every {:.1} s, {cores} cores; about {total:.0} s in all; data under {}",
        o.writers,
        o.cache_mb,
        o.seconds,
        if o.compare {
            format!(" (then {compare_seconds:.0} s with {SLED_DEFAULT_CACHE_MB} MiB)")
        } else {
            String::new()
        },
        o.every,
        o.parent.display()
    );
    let started = Instant::now();
    let raw = raw_sled(&o, o.writers, o.cache_mb);
    println!(
        "raw sled insert(300 B)+flush, {} threads, {RAW_SECONDS:.0} s: {raw:.0}/s (the reference below)",
        o.writers
    );
    let main_run = soak(&o, o.cache_mb, o.seconds);
    let compare = o
        .compare
        .then(|| soak(&o, SLED_DEFAULT_CACHE_MB, compare_seconds));

    println!("\nsummary (events = ledger size; RSS of the child process alone):");
    summary(&main_run, raw);
    if let Some(c) = &compare {
        summary(c, raw);
        let at = c.last().events.min(main_run.last().events);
        let (a, b) = (main_run.rss_at(at) / 1024.0, c.rss_at(at) / 1024.0);
        println!(
            "  at {at} events: {} MiB cache → {a:.1} MiB RSS, {} MiB cache → {b:.1} MiB RSS ({:+.1} MiB, {:.2}×)",
            main_run.cache_mb,
            c.cache_mb,
            b - a,
            b / a
        );
    }
    println!("total {:.1?}", started.elapsed());
}
