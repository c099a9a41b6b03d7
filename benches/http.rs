//! HTTP load: `POST /v1/verify` requests/s and latency under a separate load generator
//! (`wrk`, Debian package `wrk`) on loopback, next to `GET /healthz` and the raw ring
//! ECDSA P-256 verify rate on every core, all measured in the same run.
//!
//! `cargo bench --bench http` (options: `--seconds 10 --connections 32 --wrk-threads 1`).
//! Goal: verify requests/s ≥ 0.6× the raw verify rate on all cores, p99 ≤ 10 ms.
//! The server runs in this process on a 2-worker runtime with request logs off and no rate
//! limit (a load generator is one client); wrk is a separate process sharing the cores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::issue::Issuer;
use elicense::keys::{add_years, KeyStore};
use elicense::ledger::Ledger;
use elicense::licence::codes::Uscc;
use elicense::licence::LicenceRequest;
use elicense::pki::AgencyIdentity;
use elicense::server::{AppState, Limits};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
use std::collections::HashMap;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const AGENCY: &str = "11350100MB00000012";

struct Load {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: String,
}

fn main() {
    let mut seconds = 10u64;
    let mut connections = 32u32;
    let mut wrk_threads = 1u32;
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(2) {
        match w[0].as_str() {
            "--seconds" => seconds = w[1].parse().unwrap_or(seconds),
            "--connections" => connections = w[1].parse().unwrap_or(connections),
            "--wrk-threads" => wrk_threads = w[1].parse().unwrap_or(wrk_threads),
            _ => {}
        }
    }
    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("SKIPPED: this benchmark needs the load generator wrk (apt-get install wrk)");
        return;
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());

    // The service: a fresh PKI and ledger, one licence recorded in it.
    let keys = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = KeyStore::new(keys.path());
    let now = OffsetDateTime::now_utc();
    store.init_root("Bench Root", now, 20).unwrap();
    let code = Uscc::parse(AGENCY).unwrap();
    store
        .add_agency(
            &AgencyIdentity {
                name: "示例市市场监督管理局".into(),
                code: code.clone(),
                issuer_uri: format!("https://elicense.example/agencies/{AGENCY}"),
            },
            now,
            add_years(now, 5).unwrap(),
        )
        .unwrap();
    let ledger = Arc::new(Ledger::open(data.path()).unwrap());
    let issuer = Issuer::new(store.agency_key(&code).unwrap()).unwrap();
    let req: LicenceRequest =
        serde_json::from_str(include_str!("../fixtures/requests/business_licence.json")).unwrap();
    let licence = issuer
        .issue_recorded(
            &ledger,
            &req,
            now.unix_timestamp(),
            "http://127.0.0.1",
            AGENCY,
        )
        .unwrap()
        .sd_jwt;
    let mut issuers = HashMap::new();
    issuers.insert(AGENCY.to_owned(), issuer);
    let state = AppState::builder(
        elicense::verify::Verifier::new(store.trust_store().unwrap()),
        ledger.clone(),
        elicense::tokens::TokenStore::new(keys.path()),
        "http://127.0.0.1",
    )
    .issuers(issuers)
    .clock(|| OffsetDateTime::now_utc().unix_timestamp())
    .limits(Limits {
        rate_per_second: 0,
        ..Limits::default()
    })
    .build();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            elicense::server::serve(listener, state, std::future::pending())
                .await
                .unwrap();
        });
    });
    let addr = rx.recv().unwrap();
    let url = format!("http://{addr}");

    // The request wrk sends: the licence as text/plain.
    let script_dir = tempfile::tempdir().unwrap();
    let script = script_dir.path().join("verify.lua");
    std::fs::write(
        &script,
        format!(
            "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"text/plain\"\nwrk.body = \"{licence}\"\n"
        ),
    )
    .unwrap();
    let check = ureq::post(&format!("{url}/v1/verify"))
        .header("content-type", "text/plain")
        .send(&licence)
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(check.contains("\"verdict\":\"valid\""), "{check}");

    println!(
        "elicense HTTP load — {cores} cores, wrk -t{wrk_threads} -c{connections} -d{seconds}s on loopback, licence {} bytes",
        licence.len()
    );
    let raw_before = raw_verify_rate(cores, Duration::from_secs(2));
    let health = wrk(&url, "/healthz", None, seconds, connections, wrk_threads);
    let verify = wrk(
        &url,
        "/v1/verify",
        Some(&script),
        seconds,
        connections,
        wrk_threads,
    );
    let raw_after = raw_verify_rate(cores, Duration::from_secs(2));
    let raw = (raw_before + raw_after) / 2.0;

    println!("| measure | requests/s | p50 | p99 |");
    println!("|---|---|---|---|");
    println!(
        "| raw ring P-256 verify, {cores} threads (no HTTP) | {raw:.0}/s (before {raw_before:.0}, after {raw_after:.0}) | | |"
    );
    for (name, l) in [("GET /healthz", &health), ("POST /v1/verify", &verify)] {
        println!(
            "| {name} | {:.0} | {:.2} ms | {:.2} ms |",
            l.rps, l.p50_ms, l.p99_ms
        );
    }
    let ratio = verify.rps / raw;
    println!(
        "verify requests/s ÷ raw {cores}-core verify rate = {ratio:.2} (goal ≥ 0.60: {}); p99 {:.2} ms (goal ≤ 10 ms: {})",
        if ratio >= 0.6 { "met" } else { "NOT met" },
        verify.p99_ms,
        if verify.p99_ms <= 10.0 { "met" } else { "NOT met" },
    );
    println!(
        "verify ÷ healthz requests/s = {:.2}",
        verify.rps / health.rps
    );
    // Where the time goes, in CPU-µs per request on all cores (the load generator's share
    // included): the raw signature check, and the whole request with and without it.
    let us = |rate: f64| cores as f64 * 1e6 / rate;
    println!(
        "CPU per request: verify {:.1} µs = raw ECDSA verify {:.1} µs + HTTP, parsing, status and JSON {:.1} µs; a /healthz request costs {:.1} µs",
        us(verify.rps),
        us(raw),
        us(verify.rps) - us(raw),
        us(health.rps)
    );
    for (name, l) in [("healthz", &health), ("verify", &verify)] {
        if !l.errors.is_empty() {
            println!("wrk reported for {name}: {}", l.errors);
        }
    }
}

/// ES256 verifications per second on `threads` threads, raw ring, no parsing.
fn raw_verify_rate(threads: usize, budget: Duration) -> f64 {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let msg = [7u8; 600];
    let sig = kp.sign(&rng, &msg).unwrap();
    let public = kp.public_key().as_ref().to_vec();
    let total = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let total = total.clone();
            let (public, sig) = (&public, sig.as_ref());
            let msg = &msg;
            s.spawn(move || {
                let key = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public);
                let mut n = 0u64;
                while start.elapsed() < budget {
                    for _ in 0..32 {
                        key.verify(msg, sig).unwrap();
                    }
                    n += 32;
                }
                total.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    total.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn wrk(
    url: &str,
    path: &str,
    script: Option<&std::path::Path>,
    seconds: u64,
    connections: u32,
    threads: u32,
) -> Load {
    let mut cmd = Command::new("wrk");
    cmd.args([
        format!("-t{threads}"),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".into(),
    ]);
    if let Some(s) = script {
        cmd.arg("-s").arg(s);
    }
    cmd.arg(format!("{url}{path}"));
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    let errors = text
        .lines()
        .filter(|l| l.contains("Non-2xx") || l.contains("Socket errors"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Load {
        rps,
        p50_ms: field("50%").map_or(f64::NAN, |v| millis(&v)),
        p99_ms: field("99%").map_or(f64::NAN, |v| millis(&v)),
        errors,
    }
}

/// wrk's "1.23ms" / "456.00us" / "1.02s" in milliseconds.
fn millis(v: &str) -> f64 {
    let (num, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (v, f64::NAN)
    };
    num.trim().parse::<f64>().map_or(f64::NAN, |n| n * scale)
}
