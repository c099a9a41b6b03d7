//! One core against one core: `POST /v1/verify` on a server pinned to core 0 with one worker,
//! the load generator on core 1, next to raw ring ES256 verify on core 0 and a minimal Node
//! server (`benches/node/server.mjs`: `node:http` + `jose` `compactVerify` of a plain ES256
//! JWS), all in one run; then unpinned (two workers) against raw verify on both cores, and
//! the in-process licence, seal and issuance rates on core 0.
//!
//! `cargo bench --bench pinned -- --seconds 8` (options: `--seconds 10`, `--connections 32`,
//! `--licences 32`). Needs `wrk`, `taskset`, `node`; runs `npm ci` in benches/node if its
//! node_modules is missing. Issue 10, item 7 goals: pinned ≥ 0.6× raw one-core verify and
//! ≥ 1.25× Node's requests/s, for the SD-JWT and the paper seal; unpinned ≥ 0.6× raw two-core;
//! in-process licence and seal verify ≥ 0.9× raw, issuance ≥ 0.7× raw per signature.
//!
//! How it measures:
//! - The real binary (`CARGO_BIN_EXE_elicense`) makes a key store and ledger in a temp dir
//!   and issues `--licences` distinct business licences (the fixture with its serial
//!   changed) with their paper seals. wrk rotates through them, so a verify cache keyed by
//!   licence would have to hold all of them to hit; with such a cache, report its figure
//!   beside this one, not instead of it.
//! - Raw and in-process rates are measured in a child of this bench re-run under
//!   `taskset -c 0` (one thread; `taskset -c 0,1` and two threads for the two-core rate),
//!   on a message as long as the licence's signing input; the raw one-core rate is taken
//!   before and after the HTTP runs and averaged.
//! - The server is `taskset -c 0 elicense serve --workers 1 --log-format off
//!   --rate-per-second 0`, the load `taskset -c 1 wrk -t1 -cN`; Node is `taskset -c 0 node
//!   server.mjs` verifying JWSs made of the same licences' payloads, signed by a P-256 key.
//!   Each run is preceded by a 1 s warm-up. CPU-µs per request is the server process's
//!   utime+stime (/proc/<pid>/stat, all threads) over the run divided by wrk's request count.
//!
//! Measured 2026-12-04 on the 2-core shared VM (load average 1–6 from other work; the
//! pinned server got 0.59–0.88 of core 0). Last run, `--seconds 6`, after the one-layer
//! `track` service and the borrowed verify body: per request, server CPU: SD-JWT 92.4 µs,
//! paper seal 102.1 µs, Node's plain JWS 119.8 µs; one raw verify 50.0 µs. So by CPU: SD-JWT
//! 0.54× raw and 1.30× Node, seal 0.49× raw and 1.17× Node. Over five runs that session
//! (before and after those changes) SD-JWT was 88.5–92.4 µs, seal 102.1–107.3 µs, Node
//! 119.4–127.4 µs: the changes are below what this machine resolves (±5%). The goals need
//! each request at ≤ 87 µs (0.6× raw binds; 1.25× Node needs ≤ 96 µs).
//!
//! Where the microseconds go (`--perf`, perf record --call-graph dwarf at 999 Hz on the
//! pinned server; % of its samples, µs of a 108.8 µs SD-JWT request):
//! - 62% / 68 µs library `Verifier::verify`: ECDSA 51% / 55 µs (= raw), disclosures
//!   4.5% / 4.9 µs (base64, SHA-256, JSON, BTreeMap inserts), payload parse and checks
//!   4.3% / 4.7 µs, ledger status 1.5% / 1.6 µs. Beyond ECDSA that is 12 µs, against
//!   5 µs in the hot in-process loop: caches are cold after the HTTP and kernel work.
//! - 14% / 15 µs socket write: kernel TCP send, including loopback delivery into wrk's
//!   socket on the sender's core (a loopback cost Node pays too).
//! - 9.6% / 10.5 µs the verdict's JSON: `verdict_json` (VerifiedLicence → serde_json::Value
//!   → add `verdict`) 6.4 µs, then Value → bytes 4.1 µs.
//! - 7.6% / 8.2 µs hyper outside the service; 4.5% / 4.9 µs middleware and handler
//!   outside verify (boxed route service clone, layers, body to String copy).
//! - Across all of it glibc malloc/free is 8% / 8.7 µs (a quarter from JSON building).
//! - Paper seal (122.6 µs): library 80 µs, of which `seal::decode` 22 µs — base45 decode
//!   8.3 µs (the crate's per-character alphabet lookup), inflate 6.0 µs (half rebuilding
//!   Huffman tables, `init_tree`), canonical_item 3.6 µs, parse_claims 3.2 µs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
use std::hint::black_box;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const AGENCY: &str = "11350100MB00000012";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // The child that measures raw (and, on one thread, in-process) rates on its own cores.
    if let Some(i) = args.iter().position(|a| a == "--child-raw") {
        let threads: usize = args[i + 1].parse().unwrap();
        let secs: f64 = args[i + 2].parse().unwrap();
        let msg_len: usize = args[i + 3].parse().unwrap();
        let inproc = args.iter().any(|a| a == "--inproc");
        child_raw(threads, Duration::from_secs_f64(secs), msg_len, inproc);
        return;
    }
    let mut seconds = 10u64;
    let mut connections = 32u32;
    let mut licences = 32usize;
    let mut perf: Option<PathBuf> = None;
    for w in args.windows(2) {
        match w[0].as_str() {
            // Profile the pinned elicense runs: `perf record --call-graph dwarf` on the
            // server, written to <PREFIX>-sdjwt.data and <PREFIX>-seal.data.
            "--perf" => perf = Some(PathBuf::from(&w[1])),
            "--seconds" => seconds = w[1].parse().unwrap_or(seconds),
            "--connections" => connections = w[1].parse().unwrap_or(connections),
            "--licences" => licences = w[1].parse().unwrap_or(licences).max(1),
            _ => {}
        }
    }
    for (tool, arg, pkg) in [
        ("wrk", "--version", "wrk"),
        ("taskset", "--version", "util-linux"),
        ("node", "--version", "Node 20"),
    ] {
        if Command::new(tool).arg(arg).output().is_err() {
            eprintln!("SKIPPED: this benchmark needs {tool} ({pkg})");
            return;
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        eprintln!("SKIPPED: this benchmark pins the server and the load generator to two different cores; this machine has {cores}");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let node_dir = root.join("benches/node");
    if !node_dir.join("node_modules/jose").exists() {
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&node_dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "npm ci in {} failed", node_dir.display());
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_elicense"));

    // The service's key store and ledger, made by the binary as an operator would.
    let tmp = tempfile::tempdir().unwrap();
    let keys = tmp.path().join("keys");
    let data = tmp.path().join("data");
    let cli = |args: &[&str]| {
        let out = Command::new(&bin)
            .arg("--keys")
            .arg(&keys)
            .arg("--data")
            .arg(&data)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "elicense {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    cli(&["init", "--name", "Bench Root"]);
    cli(&[
        "agency",
        "add",
        "--name",
        "示例市市场监督管理局",
        "--code",
        AGENCY,
    ]);
    let fixture =
        std::fs::read_to_string(root.join("fixtures/requests/business_licence.json")).unwrap();
    let started = Instant::now();
    let mut sd_jwts = Vec::new();
    let mut seals = Vec::new();
    for i in 0..licences {
        let serial = format!("20240301{:06}", 123 + i);
        let req = fixture.replace("20240301000123", &serial);
        let req_path = tmp.path().join(format!("req-{i}.json"));
        std::fs::write(&req_path, req).unwrap();
        let out = tmp.path().join(format!("bl-{i}.sdjwt"));
        cli(&[
            "issue",
            req_path.to_str().unwrap(),
            "--agency",
            AGENCY,
            "--out",
            out.to_str().unwrap(),
        ]);
        sd_jwts.push(std::fs::read_to_string(&out).unwrap().trim().to_owned());
        let seal = tmp.path().join(format!("bl-{i}.seal.txt"));
        seals.push(std::fs::read_to_string(&seal).unwrap().trim().to_owned());
    }
    let issue_secs = started.elapsed().as_secs_f64();

    // Node's input: plain ES256 JWSs over the same payloads, signed by a fresh P-256 key.
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let point = pair.public_key().as_ref();
    let jwk = format!(
        "{{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"{}\",\"y\":\"{}\"}}",
        URL_SAFE_NO_PAD.encode(&point[1..33]),
        URL_SAFE_NO_PAD.encode(&point[33..65])
    );
    let jwk_file = tmp.path().join("node-key.jwk");
    std::fs::write(&jwk_file, &jwk).unwrap();
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"ES256","typ":"JWT"}"#);
    let jwss: Vec<String> = sd_jwts
        .iter()
        .map(|l| {
            let jwt = l.split('~').next().unwrap();
            let payload = jwt.split('.').nth(1).unwrap();
            let input = format!("{header}.{payload}");
            let sig = pair.sign(&rng, input.as_bytes()).unwrap();
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
        })
        .collect();
    let jwt = sd_jwts[0].split('~').next().unwrap();
    let signing_input_len = jwt.rfind('.').unwrap();

    let scripts = tmp.path();
    let sd_lua = lua_script(scripts, "sdjwt", &sd_jwts);
    let seal_lua = lua_script(scripts, "seal", &seals);
    let node_lua = lua_script(scripts, "jws", &jwss);

    println!(
        "elicense pinned bench — {cores} cores; wrk -t1 -c{connections} -d{seconds}s on loopback; \
         {licences} distinct business licences ({} bytes, {} disclosures; seal {} chars; signing input {signing_input_len} bytes), issued by the CLI in {issue_secs:.1} s",
        sd_jwts[0].len(),
        sd_jwts[0].matches('~').count().saturating_sub(1),
        seals[0].len(),
    );

    let load_before = loadavg();
    // Raw and in-process on core 0, before the HTTP runs.
    let raw_budget = 2.0;
    let before = run_child_raw(&[0], 1, raw_budget, signing_input_len, true);
    let raw1_before = before["raw_verify"];

    // Pinned elicense: one worker on core 0, wrk on core 1.
    let serve_args = |workers: u32| {
        vec![
            "serve".to_owned(),
            "--workers".into(),
            workers.to_string(),
            "--log-format".into(),
            "off".into(),
            "--rate-per-second".into(),
            "0".into(),
            "--max-connections-per-client".into(),
            connections.max(64).to_string(),
            "--bind".into(),
            "127.0.0.1:0".into(),
        ]
    };
    let perf_out = |what: &str| {
        perf.as_ref().map(|p| {
            let mut name = p.as_os_str().to_owned();
            name.push(format!("-{what}.data"));
            PathBuf::from(name)
        })
    };
    let mut server = Server::start(
        "elicense (pinned)",
        Command::new("taskset")
            .arg("-c")
            .arg("0")
            .arg(&bin)
            .arg("--keys")
            .arg(&keys)
            .arg("--data")
            .arg(&data)
            .args(serve_args(1)),
        "elicense serving on http://",
    );
    check(&server.url, &sd_jwts[0], "\"verdict\":\"valid\"");
    check(&server.url, &seals[0], "\"verdict\":\"valid\"");
    let p_sd = load(
        &server,
        &sd_lua,
        Some(1),
        seconds,
        connections,
        perf_out("sdjwt").as_deref(),
    );
    let p_seal = load(
        &server,
        &seal_lua,
        Some(1),
        seconds,
        connections,
        perf_out("seal").as_deref(),
    );
    server.stop();

    // Node, pinned the same way.
    let mut node = Server::start(
        "node (pinned)",
        Command::new("taskset")
            .arg("-c")
            .arg("0")
            .arg("node")
            .arg(node_dir.join("server.mjs"))
            .env("JWK_FILE", &jwk_file)
            .env("PORT", "0"),
        "listening on ",
    );
    check(&node.url, &jwss[0], "\"verdict\":\"valid\"");
    let p_node = load(&node, &node_lua, Some(1), seconds, connections, None);
    node.stop();

    // Unpinned: two workers, wrk anywhere, against raw verify on both cores.
    let mut server = Server::start(
        "elicense (unpinned)",
        Command::new(&bin)
            .arg("--keys")
            .arg(&keys)
            .arg("--data")
            .arg(&data)
            .args(serve_args(2)),
        "elicense serving on http://",
    );
    let u_sd = load(&server, &sd_lua, None, seconds, connections, None);
    let u_seal = load(&server, &seal_lua, None, seconds, connections, None);
    server.stop();

    let after = run_child_raw(&[0], 1, raw_budget, signing_input_len, false);
    let raw1 = (raw1_before + after["raw_verify"]) / 2.0;
    // One raw verify in CPU-µs (what it costs whatever else shares the core).
    let raw_us = 2e6 / (before["raw_verify_cpu"] + after["raw_verify_cpu"]);
    let raw2 = run_child_raw(&[0, 1], 2, raw_budget, signing_input_len, false)["raw_verify"];

    // The table.
    println!(
        "load average (1 min) before {load_before}, after {} — other work on the machine skews every figure",
        loadavg()
    );
    let mark = |ok: bool| if ok { "met" } else { "NOT met" };
    println!();
    // "server busy": the server's CPU time over the run's wall time, in cores (1.00 = all of
    // core 0 when pinned). Below that, other processes on the machine took the rest, and
    // the CPU-µs columns (µs of raw verify ÷ µs of the request; Node's µs ÷ ours) say what
    // the ratios would be with the core to itself.
    println!("| measure | rate/s | × raw | × Node | goal | | server CPU-µs/req | server busy | by CPU-µs: × raw, × Node |");
    println!("|---|---|---|---|---|---|---|---|---|");
    println!(
        "| raw ring ES256 verify, 1 thread on core 0 | {raw1:.0} (before {raw1_before:.0}, after {:.0}) | 1.00 | | | | {:.1} | | |",
        after["raw_verify"],
        raw_us
    );
    println!(
        "| raw ring ES256 verify, 2 threads on cores 0,1 | {raw2:.0} | 1.00 (2-core) | | | | | | |"
    );
    let node_rps = p_node.rps;
    for (name, l) in [
        ("POST /v1/verify SD-JWT, pinned", &p_sd),
        ("POST /v1/verify paper seal, pinned", &p_seal),
    ] {
        let (r, n) = (l.rps / raw1, l.rps / node_rps);
        println!(
            "| {name} | {:.0} | {r:.2} | {n:.2} | ≥ 0.6× raw, ≥ 1.25× Node | {} | {:.1} | {:.2} | {:.2}, {:.2} |",
            l.rps,
            mark(r >= 0.6 && n >= 1.25),
            l.cpu_us,
            l.busy(),
            raw_us / l.cpu_us,
            p_node.cpu_us / l.cpu_us
        );
    }
    println!(
        "| Node http + jose compactVerify (plain JWS), pinned | {node_rps:.0} | {:.2} | 1.00 | | | {:.1} | {:.2} | {:.2}, 1.00 |",
        node_rps / raw1,
        p_node.cpu_us,
        p_node.busy(),
        raw_us / p_node.cpu_us
    );
    for (name, l) in [
        ("POST /v1/verify SD-JWT, unpinned, 2 workers", &u_sd),
        ("POST /v1/verify paper seal, unpinned, 2 workers", &u_seal),
    ] {
        let r = l.rps / raw2;
        println!(
            "| {name} | {:.0} | {r:.2} (2-core) | | ≥ 0.6× raw 2-core | {} | {:.1} | {:.2} | |",
            l.rps,
            mark(r >= 0.6),
            l.cpu_us,
            l.busy()
        );
    }
    let raw_sign = before["raw_sign"];
    println!(
        "| raw ring ES256 sign, core 0 | {raw_sign:.0} | | | | | {:.1} | | |",
        1e6 / before["raw_sign_cpu"]
    );
    // In-process CPU-µs from the child's own CPU time; the last column compares CPU rates.
    let cpu = |key: &str| before[&format!("{key}_cpu")];
    for (name, key) in [
        ("in-process licence verify, core 0", "licence"),
        ("in-process paper seal verify, core 0", "seal"),
    ] {
        let r = before[key] / raw1_before;
        println!(
            "| {name} | {:.0} | {r:.2} | | ≥ 0.9× raw | {} | {:.1} | | {:.2} |",
            before[key],
            mark(r >= 0.9),
            1e6 / cpu(key),
            cpu(key) / cpu("raw_verify")
        );
    }
    let per_sig = before["issue"] * 2.0 / raw_sign;
    println!(
        "| in-process issuance (2 signatures), core 0 | {:.0} | {per_sig:.2} per signature | | ≥ 0.7× raw sign per signature | {} | {:.1} | | {:.2} |",
        before["issue"],
        mark(per_sig >= 0.7),
        1e6 / cpu("issue"),
        cpu("issue") * 2.0 / cpu("raw_sign")
    );
    println!();
    for (name, l) in [
        ("SD-JWT", &p_sd),
        ("paper seal", &p_seal),
        ("Node JWS", &p_node),
    ] {
        println!(
            "pinned {name}: {:.1} CPU-µs per request = raw ECDSA verify {raw_us:.1} µs + {:.1} µs of everything else; p50 {:.2} ms, p99 {:.2} ms{}",
            l.cpu_us,
            l.cpu_us - raw_us,
            l.p50_ms,
            l.p99_ms,
            if l.errors.is_empty() {
                String::new()
            } else {
                format!("; wrk: {}", l.errors)
            }
        );
    }
    for (name, l) in [("SD-JWT", &u_sd), ("paper seal", &u_seal)] {
        println!(
            "unpinned {name}: {:.1} server CPU-µs per request; p50 {:.2} ms, p99 {:.2} ms{}",
            l.cpu_us,
            l.p50_ms,
            l.p99_ms,
            if l.errors.is_empty() {
                String::new()
            } else {
                format!("; wrk: {}", l.errors)
            }
        );
    }
}

/// A child process killed (and reaped) when dropped, also on panic.
struct Server {
    name: &'static str,
    child: std::process::Child,
    url: String,
}

impl Server {
    /// Starts `cmd` and waits for the stdout line starting `ready` (followed by the
    /// address or port).
    fn start(name: &'static str, cmd: &mut Command, ready: &str) -> Server {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let mut server = Server {
            name,
            child,
            url: String::new(),
        };
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(30);
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix(ready) {
                let rest = rest.trim();
                server.url = if rest.contains(':') {
                    format!("http://{rest}")
                } else {
                    format!("http://127.0.0.1:{rest}")
                };
                break;
            }
            assert!(Instant::now() < deadline, "{name} did not start");
        }
        assert!(!server.url.is_empty(), "{name} exited before it was ready");
        // Keep draining its stdout so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        server
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            eprintln!("stopping {}", self.name);
        }
        self.stop();
    }
}

/// One request; panics unless the answer contains `expect`.
fn check(url: &str, body: &str, expect: &str) {
    let answer = ureq::post(&format!("{url}/v1/verify"))
        .header("content-type", "text/plain")
        .send(body)
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    assert!(answer.contains(expect), "{url}: {answer}");
}

/// A wrk script that POSTs `bodies` as text/plain in turn.
fn lua_script(dir: &Path, name: &str, bodies: &[String]) -> PathBuf {
    let mut s = String::from(
        "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"text/plain\"\nlocal bodies = {\n",
    );
    for b in bodies {
        assert!(!b.contains("]==]"));
        s.push_str(&format!("  [==[{b}]==],\n"));
    }
    s.push_str(concat!(
        "}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n",
        "  return wrk.format(nil, \"/v1/verify\", nil, bodies[i])\nend\n",
        // Answers other than 200 (with the last one's status and body) for the report.
        "local threads = {}\nfunction setup(t) table.insert(threads, t) end\n",
        "bad = 0\nbad_last = \"\"\n",
        "response = function(status, headers, body)\n",
        "  if status ~= 200 then bad = bad + 1; bad_last = status .. \" \" .. string.sub(body, 1, 200) end\nend\n",
        "function done(summary, latency, requests)\n",
        "  for _, t in ipairs(threads) do\n",
        "    if t:get(\"bad\") > 0 then print(\"not 200: \" .. t:get(\"bad\") .. \", last: \" .. t:get(\"bad_last\")) end\n",
        "  end\nend\n",
    ));
    let path = dir.join(format!("{name}.lua"));
    std::fs::write(&path, s).unwrap();
    path
}

struct Load {
    rps: f64,
    cpu_us: f64,
    requests: f64,
    wall_secs: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: String,
}

impl Load {
    /// Server CPU time over wall time, in cores.
    fn busy(&self) -> f64 {
        self.cpu_us * self.requests / 1e6 / self.wall_secs
    }
}

/// A 1 s warm-up, then wrk for `seconds` (on `core` when given), with the server's CPU time.
fn load(
    server: &Server,
    script: &Path,
    core: Option<u32>,
    seconds: u64,
    connections: u32,
    perf: Option<&Path>,
) -> Load {
    let url = format!("{}/v1/verify", server.url);
    let wrk = |secs: u64| {
        let mut cmd = match core {
            Some(c) => {
                let mut cmd = Command::new("taskset");
                cmd.arg("-c").arg(c.to_string()).arg("wrk");
                cmd
            }
            None => Command::new("wrk"),
        };
        cmd.args([
            "-t1".to_owned(),
            format!("-c{connections}"),
            format!("-d{secs}s"),
            "--latency".into(),
            "-s".into(),
        ])
        .arg(script)
        .arg(&url);
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    wrk(1);
    let recorder = perf.map(|out| {
        let child = Command::new("perf")
            .args(["record", "-F", "999", "--call-graph", "dwarf,16384", "-p"])
            .arg(server.pid().to_string())
            .arg("-o")
            .arg(out)
            .args(["--", "sleep"])
            .arg(seconds.to_string())
            .stdout(Stdio::null())
            .spawn()
            .expect("perf (Debian: linux-perf)");
        Server {
            name: "perf",
            child,
            url: String::new(),
        }
    });
    let cpu0 = cpu_ticks(server.pid());
    let t0 = Instant::now();
    let text = wrk(seconds);
    let wall_secs = t0.elapsed().as_secs_f64();
    let cpu1 = cpu_ticks(server.pid());
    if let Some(mut r) = recorder {
        let _ = r.child.wait();
        println!(
            "perf record of {}: {}",
            server.name,
            perf.unwrap().display()
        );
    }
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(|v| v.trim().to_owned())
    };
    let rps: f64 = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    let requests: f64 = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk output:\n{text}"));
    let errors = text
        .lines()
        .filter(|l| {
            l.contains("Non-2xx") || l.contains("Socket errors") || l.starts_with("not 200:")
        })
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("; ");
    Load {
        rps,
        cpu_us: (cpu1 - cpu0) / clock_ticks() * 1e6 / requests,
        requests,
        wall_secs,
        p50_ms: field("50%").map_or(f64::NAN, |v| millis(&v)),
        p99_ms: field("99%").map_or(f64::NAN, |v| millis(&v)),
        errors,
    }
}

/// utime + stime of a process (all its threads), in clock ticks.
fn cpu_ticks(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name in parentheses; utime and stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()
}

/// The 1-minute load average.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "?".into())
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
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

/// Runs this bench again as `taskset -c <cores> <exe> --child-raw …` and reads its rates.
fn run_child_raw(
    cores: &[u32],
    threads: usize,
    secs: f64,
    msg_len: usize,
    inproc: bool,
) -> std::collections::HashMap<String, f64> {
    let list = cores
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut cmd = Command::new("taskset");
    cmd.arg("-c")
        .arg(list)
        .arg(std::env::current_exe().unwrap())
        .args([
            "--child-raw".to_owned(),
            threads.to_string(),
            secs.to_string(),
            msg_len.to_string(),
        ]);
    if inproc {
        cmd.arg("--inproc");
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "raw child: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// Runs `f` repeatedly for about `budget` after a warm-up; prints `name` with operations per
/// second of wall time, and `name_cpu` with operations per second of this process's CPU time.
fn rate(name: &str, budget: Duration, mut f: impl FnMut()) {
    for _ in 0..50 {
        f();
    }
    let cpu0 = cpu_ticks(std::process::id());
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..32 {
            f();
        }
        n += 32;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(std::process::id()) - cpu0) / clock_ticks();
    println!("{name} {}", n as f64 / wall);
    println!("{name}_cpu {}", n as f64 / cpu);
}

/// The child: raw ring verify on `threads` threads; with `inproc` (one thread) also raw
/// sign and the library's licence verify, seal verify and issuance. Prints `name rate` lines.
fn child_raw(threads: usize, budget: Duration, msg_len: usize, inproc: bool) {
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let msg = vec![b'a'; msg_len];
    let sig = pair.sign(&rng, &msg).unwrap();
    let public = pair.public_key().as_ref().to_vec();
    let total = Arc::new(AtomicU64::new(0));
    let cpu0 = cpu_ticks(std::process::id());
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let total = total.clone();
            let (public, sig, msg) = (&public, sig.as_ref(), &msg);
            s.spawn(move || {
                let key = UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public);
                for _ in 0..50 {
                    key.verify(msg, sig).unwrap();
                }
                let mut n = 0u64;
                let begin = Instant::now();
                while begin.elapsed() < budget {
                    for _ in 0..32 {
                        key.verify(black_box(msg), black_box(sig)).unwrap();
                    }
                    n += 32;
                }
                total.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let cpu = (cpu_ticks(std::process::id()) - cpu0) / clock_ticks();
    let n = total.load(Ordering::Relaxed) as f64;
    println!("raw_verify {}", n / secs);
    // Per core: verifications per CPU-second.
    println!("raw_verify_cpu {}", n / cpu);
    if !inproc {
        return;
    }
    rate("raw_sign", budget, || {
        black_box(pair.sign(&rng, black_box(&msg)).unwrap());
    });
    inproc_rates(budget);
}

/// The library in this process: licence verify, seal verify, issuance (one thread).
fn inproc_rates(budget: Duration) {
    use elicense::issue::Issuer;
    use elicense::keys::{add_years, KeyStore};
    use elicense::licence::codes::Uscc;
    use elicense::licence::LicenceRequest;
    use elicense::pki::AgencyIdentity;
    use elicense::verify::{Options, Verifier};
    use time::OffsetDateTime;
    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
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
    let issuer = Issuer::new(store.agency_key(&code).unwrap()).unwrap();
    let verifier = Verifier::new(store.trust_store().unwrap());
    let req: LicenceRequest =
        serde_json::from_str(include_str!("../fixtures/requests/business_licence.json")).unwrap();
    let at = now.unix_timestamp();
    let issued = issuer.issue(&req, at).unwrap();
    let opts = Options::at(at);
    verifier.verify(&issued.sd_jwt, &opts).unwrap();
    verifier.verify(&issued.seal, &opts).unwrap();
    rate("licence", budget, || {
        black_box(verifier.verify(black_box(&issued.sd_jwt), &opts).unwrap());
    });
    rate("seal", budget, || {
        black_box(verifier.verify(black_box(&issued.seal), &opts).unwrap());
    });
    rate("issue", budget, || {
        black_box(issuer.issue(black_box(&req), at).unwrap());
    });
}
