//! The counter page (窗口核验页面) in headless Chromium against the real server, and the
//! in-browser seal verifier (`web/offline.js`) under Node's test runner.
//!
//! The server runs on an ephemeral loopback port with a real sled ledger in a tempdir and
//! real clock; licences are issued through the ledger (valid, revoked, suspended, expired)
//! and one seal is altered after signing. `tests/browser/run.mjs` drives Chromium through
//! playwright-core: scanner keystrokes, paste, photo upload, camera scans (Chromium's fake
//! camera, read in the page with the vendored jsQR), language switch, then the
//! server is stopped and the page verifies seals offline. Screenshots of every state go to
//! `<target>/tmp/browser-screenshots/`.
//!
//! Needs `node` (>= 20), `/usr/bin/chromium` (Debian `chromium`; `ELICENSE_CHROMIUM` names
//! another) and `npm ci` in
//! `tests/browser`. Without them the tests print "SKIPPED: …" and pass — unless `CI` is set,
//! where they fail and say what to install.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use elicense::issue::{IssuedLicence, Issuer};
use elicense::keys::KeyStore;
use elicense::ledger::{Action, Ledger};
use elicense::licence::codes::Uscc;
use elicense::licence::LicenceRequest;
use elicense::publish::StatusPublisher;
use elicense::server::AppState;
use elicense::tokens::TokenStore;
use elicense::verify::Verifier;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

const A: &str = "11350100MB00000012";
const B: &str = "11440300MB00000022";
const HOLDER: &str = "示例科技有限公司";
/// Debian's Chromium; `ELICENSE_CHROMIUM` names another.
fn chromium() -> PathBuf {
    std::env::var_os("ELICENSE_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}
const INSTALL: &str = "apt-get install -y chromium chromium-driver fonts-wqy-microhei, Node.js >= 20 with npm, then (cd tests/browser && npm ci)";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn unix_now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Whether the tools are here; if not, skip (or, under CI, fail saying what to install).
fn tools_ready(need_browser: bool) -> bool {
    let mut missing = Vec::new();
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => {
            let v = String::from_utf8_lossy(&o.stdout);
            let major: u32 = v
                .trim()
                .trim_start_matches('v')
                .split('.')
                .next()
                .and_then(|m| m.parse().ok())
                .unwrap_or(0);
            if major < 20 {
                missing.push(format!("node >= 20 (found {})", v.trim()));
            }
        }
        _ => missing.push("node".to_owned()),
    }
    if need_browser {
        if !chromium().exists() {
            missing.push(chromium().display().to_string());
        }
        if !crate_dir()
            .join("tests/browser/node_modules/playwright-core/package.json")
            .exists()
        {
            missing.push("tests/browser/node_modules (npm ci)".to_owned());
        }
    }
    if missing.is_empty() {
        return true;
    }
    let what = missing.join(", ");
    if std::env::var_os("CI").is_some() {
        panic!("browser tests need {what}; install: {INSTALL}");
    }
    // Straight to stderr, past the test harness's capture, so a plain `cargo test` shows it.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: browser tests need {what} (install: {INSTALL})"
    );
    false
}

/// The real server (through the one test harness, `common::server`), stoppable.
struct Server {
    url: String,
    running: common::server::Running,
    _dirs: Vec<tempfile::TempDir>,
}

impl Server {
    /// Stops accepting and closes every open connection.
    fn stop(&mut self) {
        self.running.stop();
    }
}

/// What the tests verify.
struct Licences {
    valid: IssuedLicence,
    revoked: IssuedLicence,
    suspended: IssuedLicence,
    expired: IssuedLicence,
    other_agency: IssuedLicence,
    /// The valid seal with one character of the holder's name changed after signing.
    tampered: String,
}

fn date(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .unwrap()
        .date()
        .to_string()
}

fn request(serial: &str) -> LicenceRequest {
    let mut r: LicenceRequest =
        serde_json::from_str(include_str!("../fixtures/requests/business_licence.json")).unwrap();
    r.serial = serial.to_owned();
    r
}

fn start() -> (Server, Licences) {
    let keys = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = KeyStore::new(keys.path());
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(3 * 365);
    store.init_root("Browser Test Root", t0, 20).unwrap();
    common::server::add_test_agency(&store, A, t0);
    common::server::add_test_agency(&store, B, t0);

    // The port first: the licences' status-list URIs name this server.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());

    let ledger = Arc::new(Ledger::open(data.path()).unwrap());
    let a = Issuer::new(store.agency_key(&Uscc::parse(A).unwrap()).unwrap()).unwrap();
    let b = Issuer::new(store.agency_key(&Uscc::parse(B).unwrap()).unwrap()).unwrap();
    let now = unix_now();
    let issue = |issuer: &Issuer, r: &LicenceRequest, code: &str, iat: i64| {
        issuer.issue_recorded(&ledger, r, iat, &url, code).unwrap()
    };
    let valid = issue(&a, &request("900001"), A, now - 100);
    let revoked = issue(&a, &request("900002"), A, now - 100);
    let suspended = issue(&a, &request("900003"), A, now - 100);
    let mut old = request("900004");
    old.valid_from = date(now - 600 * 86_400);
    old.valid_until = Some(date(now - 30 * 86_400));
    let expired = issue(&a, &old, A, now - 500 * 86_400);
    let other_agency = issue(&b, &request("900005"), B, now - 100);
    let agency_a = Uscc::parse(A).unwrap();
    for (l, action) in [(&revoked, Action::Revoke), (&suspended, Action::Suspend)] {
        ledger
            .change(
                &l.id.to_string(),
                action,
                &agency_a,
                None,
                None,
                None,
                now - 50,
            )
            .unwrap();
    }
    let tampered = common::tamper_seal_payload(&valid.seal, HOLDER, "示例科技无限公司");

    let mut issuers = HashMap::new();
    issuers.insert(A.to_owned(), a);
    issuers.insert(B.to_owned(), b);
    let state = AppState::builder(
        Verifier::new(store.trust_store().unwrap()),
        ledger.clone(),
        TokenStore::new(keys.path()),
        url.clone(),
    )
    .publisher(StatusPublisher::new(url.clone(), 86_400, 3_600))
    .issuers(issuers)
    .clock(unix_now)
    .build();
    let running = common::server::serve_on(listener, state);
    (
        Server {
            url,
            running,
            _dirs: vec![keys, data],
        },
        Licences {
            valid,
            revoked,
            suspended,
            expired,
            other_agency,
            tampered,
        },
    )
}

/// One frame of a YUV4MPEG2 (4:2:0) video: the PNG's grey levels centred on white, in a
/// 4:3 frame with a margin.
fn y4m_frame(png: &[u8]) -> Vec<u8> {
    let img = image::load_from_memory(png).unwrap().to_luma8();
    let height = (img.height().max(img.width()) + 64).next_multiple_of(16);
    let width = (height * 4 / 3).next_multiple_of(16);
    let (dx, dy) = ((width - img.width()) / 2, (height - img.height()) / 2);
    let mut out =
        format!("YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\nFRAME\n").into_bytes();
    for y in 0..height {
        for x in 0..width {
            let inside = x >= dx && y >= dy && x - dx < img.width() && y - dy < img.height();
            out.push(if inside {
                img.get_pixel(x - dx, y - dy).0[0]
            } else {
                255
            });
        }
    }
    out.resize(
        out.len() + 2 * (width as usize / 2) * (height as usize / 2),
        128,
    );
    out
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn get_text(url: &str) -> (u16, String) {
    let mut r = agent().get(url).call().unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap())
}

fn verify_online(server: &Server, licence: &str) -> Value {
    let mut r = agent()
        .post(&format!("{}/v1/verify", server.url))
        .header("content-type", "application/json")
        .send(json!({ "licence": licence }).to_string())
        .unwrap();
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// `<target>/tmp/browser-screenshots/`, emptied: only this run's pictures.
fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-screenshots");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_page_and_its_assets_are_served_with_a_strict_policy() {
    let (server, _) = start();
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/app.js", "text/javascript; charset=utf-8"),
        ("/offline.js", "text/javascript; charset=utf-8"),
        ("/vendor/jsQR.js", "text/javascript; charset=utf-8"),
        ("/sw.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
        ("/licence-types.json", "application/json"),
    ] {
        let r = agent()
            .get(&format!("{}{path}", server.url))
            .call()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let h = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(h("content-type"), content_type, "{path}");
        let csp = h("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h("cache-control"), "no-cache", "{path}");
        let etag = h("etag");
        assert!(etag.starts_with('"'), "{path}: {etag:?}");
        let again = agent()
            .get(&format!("{}{path}", server.url))
            .header("if-none-match", &etag)
            .call()
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
    }
    let (_, html) = get_text(&format!("{}/", server.url));
    assert!(html.contains("<html lang=\"zh-CN\">"), "{html}");
    assert!(html.contains("aria-live=\"assertive\""));
    // The API is unchanged: unknown paths still answer with the JSON error shape.
    let (status, body) = get_text(&format!("{}/no-such-page", server.url));
    assert_eq!(status, 404);
    assert!(body.contains("\"not_found\""), "{body}");
}

/// Runs `web/offline.js` under `node --test` against seals, the trust list and status
/// lists from the real server.
#[test]
fn offline_verifier_agrees_with_the_server_under_node() {
    if !tools_ready(false) {
        return;
    }
    let (server, l) = start();
    // What the server says (the offline verdicts must match).
    let online = |s: &str| verify_online(&server, s);
    assert_eq!(online(&l.valid.seal)["verdict"], "valid");
    assert_eq!(online(&l.revoked.seal)["reason"]["code"], "revoked");
    assert_eq!(online(&l.suspended.seal)["reason"]["code"], "suspended");
    assert_eq!(online(&l.expired.seal)["reason"]["code"], "expired");
    assert_eq!(online(&l.tampered)["reason"]["code"], "bad_signature");

    let (_, trust) = get_text(&format!("{}/v1/trust-list", server.url));
    let (_, types) = get_text(&format!("{}/licence-types.json", server.url));
    let mut lists = serde_json::Map::new();
    for code in [A, B] {
        let uri = format!("{}/v1/status-lists/{code}/0", server.url);
        let (status, token) = get_text(&uri);
        assert_eq!(status, 200, "{token}");
        lists.insert(uri, Value::String(token));
    }
    // A seal from an agency of another PKI (its kid is in no trust list here).
    let foreign_keys = tempfile::tempdir().unwrap();
    let foreign = KeyStore::new(foreign_keys.path());
    let t0 = OffsetDateTime::now_utc() - time::Duration::days(30);
    foreign.init_root("Foreign Root", t0, 20).unwrap();
    common::server::add_test_agency(&foreign, A, t0);
    let foreign_seal = Issuer::new(foreign.agency_key(&Uscc::parse(A).unwrap()).unwrap())
        .unwrap()
        .issue(&request("900009"), unix_now() - 100)
        .unwrap()
        .seal;

    let fixtures = json!({
        "now": unix_now(),
        "trust_list": serde_json::from_str::<Value>(&trust).unwrap(),
        "types": serde_json::from_str::<Value>(&types).unwrap(),
        "status_lists": lists,
        "holder": HOLDER,
        "seals": {
            "valid": l.valid.seal,
            "valid_id": l.valid.id.to_string(),
            "revoked": l.revoked.seal,
            "suspended": l.suspended.seal,
            "expired": l.expired.seal,
            "other_agency": l.other_agency.seal,
            "tampered": l.tampered,
            "foreign": foreign_seal,
            "sd_jwt": l.valid.sd_jwt,
        },
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("offline-fixtures.json");
    std::fs::write(&path, fixtures.to_string()).unwrap();
    let out = Command::new("node")
        .arg("--test")
        .arg(crate_dir().join("tests/browser/offline.test.mjs"))
        .env("ELICENSE_OFFLINE_FIXTURES", &path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "node --test failed");
    let count = |what: &str| -> u32 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("# {what} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(u32::MAX)
    };
    assert_eq!(count("fail"), 0);
    assert!(count("pass") >= 12, "too few node tests ran: {stdout}");
}

/// `fixtures/verdicts/table.json`: the golden verdicts of the Rust verifier (made and checked
/// by tests/verdict_table.rs).
fn golden_table() -> PathBuf {
    crate_dir().join("fixtures/verdicts/table.json")
}

/// How many cases the golden table has.
fn golden_cases() -> usize {
    let table: Value =
        serde_json::from_str(&std::fs::read_to_string(golden_table()).unwrap()).unwrap();
    table["cases"].as_array().unwrap().len()
}

/// Runs `web/offline.js` under `node --test` on every case of the golden verdict table: the
/// same verdict and reason code as the Rust verifier.
#[test]
fn offline_verifier_gives_the_golden_verdicts_under_node() {
    if !tools_ready(false) {
        return;
    }
    let out = Command::new("node")
        .arg("--test")
        .arg(crate_dir().join("tests/browser/verdicts.test.mjs"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "node --test verdicts.test.mjs failed");
    let checked = stdout
        .lines()
        .filter(|l| l.trim_start_matches("# ").starts_with("VERDICT node "))
        .count();
    assert_eq!(
        checked,
        golden_cases(),
        "golden table cases checked under Node"
    );
    assert!(stdout.lines().any(|l| l.trim() == "# fail 0"), "{stdout}");
}

/// The page in headless Chromium: scanner keystrokes, paste, photo, language, offline.
#[test]
fn counter_page_in_headless_chromium() {
    if !tools_ready(true) {
        return;
    }
    let (mut server, l) = start();
    let shots = screenshot_dir();
    let work = tempfile::tempdir().unwrap();
    let qr = elicense::qr::SealQr::new(&l.valid.seal).unwrap();
    let png = work.path().join("valid-seal.png");
    std::fs::write(&png, qr.to_png(6).unwrap()).unwrap();
    // Chromium's fake camera shows this (a Y4M video of the same QR code).
    let camera = work.path().join("camera.y4m");
    std::fs::write(&camera, y4m_frame(&qr.to_png(4).unwrap())).unwrap();
    let cases = json!({
        "valid": l.valid.seal,
        "revoked": l.revoked.seal,
        "suspended": l.suspended.seal,
        "expired": l.expired.seal,
        "tampered": l.tampered,
        "sd_jwt": l.valid.sd_jwt,
        "holder": HOLDER,
        "photo": png,
        "camera": camera,
        "profile": work.path().join("chromium-profile"),
        "chromium": chromium(),
        "table": golden_table(),
    });
    let cases_path = work.path().join("cases.json");
    std::fs::write(&cases_path, cases.to_string()).unwrap();

    let mut child = Command::new("node")
        .arg(crate_dir().join("tests/browser/run.mjs"))
        .arg(format!("{}/", server.url))
        .arg(&cases_path)
        .arg(&shots)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(240);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                println!("{line}");
                if line == "STOP_SERVER" {
                    server.stop();
                    // Nothing answers on the port any more.
                    assert!(agent()
                        .get(&format!("{}/healthz", server.url))
                        .call()
                        .is_err());
                    writeln!(stdin, "STOPPED").unwrap();
                    stdin.flush().unwrap();
                }
                lines.push(line);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("the browser run took over 240 s:\n{}", lines.join("\n"));
            }
        }
    }
    let status = child.wait().unwrap();
    let passed: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("PASS "))
        .map(|l| l.split(':').next().unwrap_or(l))
        .collect();
    let failed: Vec<&String> = lines.iter().filter(|l| l.starts_with("FAIL ")).collect();
    assert!(failed.is_empty(), "browser cases failed: {failed:#?}");
    assert!(status.success(), "run.mjs exited with {status}");
    for case in [
        "scanner_valid",
        "scanner_revoked",
        "scanner_suspended",
        "scanner_expired",
        "scanner_tampered",
        "scanner_garbage",
        "focus_returns_after_click",
        "scan_after_opening_help",
        "paste_sd_jwt",
        "english",
        "photo_upload",
        "photo_drop",
        "scanner_tab_suffix",
        "camera_scan",
        "offline_camera",
        "offline_photo",
        "no_csp_violations",
        "offline_valid",
        "offline_revoked",
        "offline_tampered",
        "offline_sd_jwt",
        "offline_stale_lists",
        "golden_table_offline",
    ] {
        assert!(
            passed.contains(&case),
            "case {case} did not pass: {passed:?}"
        );
    }
    let checked = lines
        .iter()
        .filter(|l| l.starts_with("VERDICT chromium "))
        .count();
    assert_eq!(
        checked,
        golden_cases(),
        "golden table cases checked in Chromium"
    );
    let shots_taken: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("SCREENSHOT "))
        .collect();
    assert!(shots_taken.len() >= 10, "{shots_taken:?}");
    for s in shots_taken {
        let bytes = std::fs::read(s).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{s} is not a PNG");
    }
}
