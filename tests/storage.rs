//! The ledger's storage failing under the real service: a full filesystem (a small tmpfs the
//! test mounts), a read-only one, and the lock held by another process. What is seen must be
//! what is durable — before, during and after the failure, and after a restart — and every
//! message must name the real cause.
//!
//! Mounting needs root (CI runs as root); elsewhere these tests say SKIPPED, unless `CI` is
//! set, where they fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::binary::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    path: PathBuf,
}

impl Tmpfs {
    fn mount(path: &Path, size: &str) -> Option<Self> {
        std::fs::create_dir_all(path).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(Self {
                path: path.to_owned(),
            });
        }
        assert!(
            std::env::var_os("CI").is_none(),
            "cannot mount a tmpfs at {} (CI runs as root and must)",
            path.display()
        );
        eprintln!("SKIPPED: cannot mount a tmpfs here (needs root)");
        None
    }

    fn remount(&self, option: &str) {
        let out = Command::new("mount")
            .args(["-o", &format!("remount,{option}")])
            .arg(&self.path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let plain = Command::new("umount").arg(&self.path).status();
        if !plain.is_ok_and(|s| s.success()) {
            let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        }
    }
}

/// Fills the filesystem holding `dir` with one file until a write fails for lack of space.
fn fill(dir: &Path) -> PathBuf {
    use std::io::Write as _;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0x55u8; 4096];
    loop {
        match f.write_all(&chunk) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    let _ = f.sync_all();
    path
}

fn banner_agency(r: &Running) -> String {
    r.stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("agency "))
        .and_then(|l| l.split(':').next())
        .unwrap_or_else(|| panic!("no agency in the banner:\n{}", r.stdout))
        .to_owned()
}

/// The identifier the fixture business licence gets with `serial`.
fn licence_id(agency: &str, serial: &str) -> String {
    let code = elicense::licence::codes::Uscc::parse(agency).unwrap();
    elicense::licence::identifier::LicenceId::new("1001", code, serial, 1)
        .unwrap()
        .to_string()
}

fn status_of(r: &Running, id: &str) -> (u16, String) {
    let (code, body) = get(r, &format!("/v1/licences/{id}/status"));
    (code, body["state"].as_str().unwrap_or("").to_owned())
}

fn ready(r: &Running) -> (u16, Value) {
    get(r, "/readyz")
}

/// The licence's verdict from its signed status list alone, as an offline relying party
/// gets it: the list fetched over HTTP, then `elicense verify --no-ledger --status-list`.
fn offline_verdict(dir: &Path, r: &Running, licence: &str) -> String {
    let (_, p, _) = common::split(licence);
    let uri = p["status"]["status_list"]["uri"].as_str().unwrap();
    let path = &uri[uri.find("/v1/").unwrap()..];
    let mut res = agent().get(&format!("{}{path}", r.url)).call().unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let token = res.body_mut().read_to_string().unwrap();
    std::fs::write(dir.join("list.jwt"), &token).unwrap();
    std::fs::write(dir.join("licence.sdjwt"), licence).unwrap();
    let out = elicense(dir)
        .args([
            "--keys",
            "keys",
            "verify",
            "--no-ledger",
            "--status-list",
            "list.jwt",
            "licence.sdjwt",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    match out.status.code() {
        Some(0) if text.contains("VALID") => "valid".into(),
        Some(1) if text.contains("REVOKED") => "revoked".into(),
        other => panic!(
            "offline verify: {other:?}\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

fn wait_until(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

const SERVE: [&str; 8] = [
    "--keys",
    "keys",
    "--bind",
    "127.0.0.1:0",
    "--log-format",
    "json",
    "--ledger-min-free-mb",
    "0",
];

fn serve_on(dir: &Path, data: &Path) -> Running {
    let mut args: Vec<&str> = SERVE.to_vec();
    let data = data.to_str().unwrap();
    args.extend(["--data", data]);
    serve(dir, &args)
}

#[test]
fn a_full_disk_shows_nothing_that_is_not_on_disk_and_recovers_once_space_is_freed() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("mnt"), "24m") else {
        return;
    };
    let data = fs.path.join("data");
    let r = serve_on(dir.path(), &data);
    let agency = banner_agency(&r);
    let token = token(dir.path(), "keys", &agency);

    // Two licences while there is room: L1 (to be revoked later) and L2.
    let (code, l1) = post_agency(&r, "/v1/licences", &token, &business_request("5001"));
    assert_eq!(code, 201, "{l1}");
    let (code, l2) = post_agency(&r, "/v1/licences", &token, &business_request("5002"));
    assert_eq!(code, 201, "{l2}");
    let id1 = l1["licence_id"].as_str().unwrap().to_owned();
    let id2 = l2["licence_id"].as_str().unwrap().to_owned();
    let lic1 = l1["sd_jwt"].as_str().unwrap().to_owned();
    assert_eq!(offline_verdict(dir.path(), &r, &lic1), "valid");
    let (code, _) = get(&r, "/v1/ledger/checkpoint");
    assert_eq!(code, 200);

    // The disk fills up. Issue until a write fails: each answered 201 is on disk.
    let filler = fill(&fs.path);
    let mut acked = vec![id1.clone(), id2.clone()];
    let mut failed = None;
    for n in 0..2000 {
        let serial = format!("6{n:04}");
        let (code, body) = post_agency(&r, "/v1/licences", &token, &business_request(&serial));
        match code {
            201 => acked.push(body["licence_id"].as_str().unwrap().to_owned()),
            503 => {
                failed = Some((serial, body));
                break;
            }
            _ => panic!("issuance on a full disk: {code} {body}"),
        }
    }
    let (failed_serial, body) = failed.expect("a write fails on a full disk");
    assert_eq!(body["error"]["code"], "storage_full", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("no space left"), "{message}");
    assert!(!message.contains("another elicense process"), "{message}");
    // The client learns the cause, not the server's paths.
    assert!(!message.contains(data.to_str().unwrap()), "{message}");
    let failed_id = licence_id(&agency, &failed_serial);
    let durable = acked.len() as u64;

    // Nothing of the failed write is visible; later writes are refused with the same cause.
    assert_eq!(
        status_of(&r, &failed_id).0,
        404,
        "the failed issuance is visible"
    );
    let (code, body) = post_agency(
        &r,
        &format!("/v1/licences/{id1}/revoke"),
        &token,
        "{\"reason\":\"吊销\"}",
    );
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (503, Some("storage_full")),
        "{body}"
    );
    assert_eq!(status_of(&r, &id1), (200, "valid".into()));
    assert_eq!(offline_verdict(dir.path(), &r, &lic1), "valid");
    let (code, body) = ready(&r);
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_full", "{body}");
    assert_eq!(body["ledger_size"], durable, "{body}");
    let (code, note) = get(&r, "/v1/ledger/checkpoint");
    assert_eq!(code, 200, "{note}");
    let size: u64 = note
        .as_str()
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        size <= durable,
        "checkpoint of {size} events, {durable} on disk"
    );
    // Reads go on.
    let (_, v) = call(
        agent()
            .post(&format!("{}/v1/verify", r.url))
            .header("content-type", "text/plain")
            .send(&lic1),
    );
    assert_eq!(v["verdict"], "valid", "{v}");

    // Space is freed: the service reopens the ledger by itself and takes writes again.
    std::fs::remove_file(&filler).unwrap();
    wait_until(
        "/readyz 200 after space is freed",
        Duration::from_secs(20),
        || ready(&r).0 == 200,
    );
    let (code, body) = post_agency(
        &r,
        &format!("/v1/licences/{id1}/revoke"),
        &token,
        "{\"reason\":\"吊销\"}",
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(status_of(&r, &id1), (200, "revoked".into()));
    assert_eq!(offline_verdict(dir.path(), &r, &lic1), "revoked");
    // The failed issuance, retried, is issued (or returned, had it reached the disk).
    let (code, body) = post_agency(
        &r,
        "/v1/licences",
        &token,
        &business_request(&failed_serial),
    );
    assert!(code == 201 || code == 200, "{code} {body}");
    let retried = body["licence_id"].as_str().unwrap().to_owned();
    assert_eq!(retried, failed_id);
    let (_, ready_body) = ready(&r);
    let size_before_stop = ready_body["ledger_size"].as_u64().unwrap();

    // The disk fills again; stopped while writes fail, the service exits 0 with clean JSON
    // logs: an ERROR line naming the cause, and the recovery.
    let filler = fill(&fs.path);
    let mut refused = false;
    for n in 0..2000 {
        let (code, _) = post_agency(
            &r,
            "/v1/licences",
            &token,
            &business_request(&format!("7{n:04}")),
        );
        if code == 503 {
            refused = true;
            break;
        }
        assert_eq!(code, 201);
    }
    assert!(refused);
    let (_, ready_body) = ready(&r);
    let size_at_stop = ready_body["ledger_size"].as_u64().unwrap();
    assert!(size_at_stop >= size_before_stop);
    let (code, stdout, stderr) = stop(r);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let lines = json_log_lines(&stderr);
    let errors: Vec<&Value> = lines
        .iter()
        .filter(|l| l["level"] == "ERROR" && l["target"] == "elicense::ledger")
        .collect();
    assert!(
        errors.len() >= 2
            && errors
                .iter()
                .all(|l| l["fields"]["cause"] == "storage_full"),
        "one ERROR line per failure, naming the cause:\n{stderr}"
    );
    assert!(
        lines.iter().any(|l| l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("reopened"))),
        "the recovery is logged:\n{stderr}"
    );
    for secret in [token.as_str(), id1.as_str()] {
        assert!(!stderr.contains(secret), "logged {secret:?}");
    }

    // Restarted with the disk still full, it either serves (not ready) or refuses to start
    // naming the cause; with space again it serves exactly what was on disk.
    let mut args: Vec<&str> = SERVE.to_vec();
    let data_s = data.to_str().unwrap().to_owned();
    args.extend(["--data", &data_s]);
    match try_serve(dir.path(), &args) {
        Ok(r) => {
            assert_eq!(ready(&r).0, 503);
            assert_eq!(status_of(&r, &id1), (200, "revoked".into()));
            stop(r);
        }
        Err((code, out)) => {
            assert_eq!(code, Some(2), "{out}");
            assert!(out.contains("no space left"), "{out}");
        }
    }
    std::fs::remove_file(&filler).unwrap();
    let r = serve_on(dir.path(), &data);
    assert_eq!(ready(&r).0, 200);
    let (_, ready_body) = ready(&r);
    assert_eq!(ready_body["ledger_size"].as_u64().unwrap(), size_at_stop);
    assert_eq!(status_of(&r, &id1), (200, "revoked".into()));
    assert_eq!(status_of(&r, &id2), (200, "valid".into()));
    assert_eq!(offline_verdict(dir.path(), &r, &lic1), "revoked");
    for id in &acked {
        assert_eq!(status_of(&r, id).0, 200, "{id} was acknowledged");
    }
    stop(r);
    let out = elicense(dir.path())
        .args(["--keys", "keys", "--data", &data_s, "ledger", "verify"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = elicense(dir).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_read_only_ledger_is_named_as_such_and_audit_commands_read_a_copy() {
    let dir = tempfile::tempdir().unwrap();
    let Some(fs) = Tmpfs::mount(&dir.path().join("mnt"), "24m") else {
        return;
    };
    let data = fs.path.join("data");
    let data_s = data.to_str().unwrap().to_owned();
    let r = serve_on(dir.path(), &data);
    let agency = banner_agency(&r);
    let token = token(dir.path(), "keys", &agency);
    let (code, issued) = post_agency(&r, "/v1/licences", &token, &business_request("8001"));
    assert_eq!(code, 201, "{issued}");
    let id = issued["licence_id"].as_str().unwrap().to_owned();
    let (code, _) = post_agency(
        &r,
        &format!("/v1/licences/{id}/suspend"),
        &token,
        "{\"reason\":\"暂扣\"}",
    );
    assert_eq!(code, 200);
    stop(r);
    fs.remount("ro");

    // The service refuses to start, naming the cause (not lock contention).
    let mut args: Vec<&str> = SERVE.to_vec();
    args.extend(["--data", &data_s]);
    let (code, out) = try_serve(dir.path(), &args)
        .err()
        .expect("serve on a read-only ledger");
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("read-only filesystem"), "{out}");
    assert!(!out.contains("another elicense process"), "{out}");
    // A change from the CLI likewise.
    let (code, _, err) = run(
        dir.path(),
        &[
            "--keys", "keys", "--data", &data_s, "revoke", &id, "--agency", &agency,
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("read-only filesystem"), "{err}");
    // Reading works, from a copy.
    let (code, out, err) = run(
        dir.path(),
        &["--keys", "keys", "--data", &data_s, "status", &id],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("Suspended"), "{out}");
    assert!(err.contains("read-only"), "{err}");
    let (code, out, err) = run(
        dir.path(),
        &["--keys", "keys", "--data", &data_s, "ledger", "verify"],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("ledger OK: 2 events"), "{out}");
    let (code, out, err) = run(
        dir.path(),
        &[
            "--keys", "keys", "--data", &data_s, "ledger", "proof", "--seq", "1",
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    // Nothing was left behind in the temporary directory.
    let leftovers = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("elicense-ro-"))
        .count();
    assert_eq!(leftovers, 0);
    fs.remount("rw");
}

#[test]
fn the_cli_names_the_process_holding_the_ledger_and_points_to_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let r = serve(dir.path(), &SERVE);
    let agency = banner_agency(&r);
    let token = token(dir.path(), "keys", &agency);
    let (code, issued) = post_agency(&r, "/v1/licences", &token, &business_request("8101"));
    assert_eq!(code, 201);
    let id = issued["licence_id"].as_str().unwrap().to_owned();
    let (code, _, err) = run(
        dir.path(),
        &["--keys", "keys", "revoke", &id, "--agency", &agency],
    );
    assert_eq!(code, Some(2), "{err}");
    let pid = r.child.id();
    assert!(err.contains(&format!("PID {pid}")), "{err}");
    assert!(err.contains("HTTP API"), "{err}");
    assert!(err.contains("/revoke"), "{err}");
    // Nothing was changed.
    assert_eq!(status_of(&r, &id), (200, "valid".into()));
    // `verify` reads the ledger too: it is told how to verify without it (issue 10).
    let licence = issued["sd_jwt"].as_str().unwrap();
    std::fs::write(dir.path().join("l.sdjwt"), licence).unwrap();
    let (code, _, err) = run(dir.path(), &["--keys", "keys", "verify", "l.sdjwt"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains(&format!("PID {pid}")), "{err}");
    assert!(err.contains("--no-ledger --status-list"), "{err}");
    // And that way it works while the server runs.
    let (code, out, err) = run(
        dir.path(),
        &["--keys", "keys", "verify", "--no-ledger", "l.sdjwt"],
    );
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(out.contains("ledger not consulted (--no-ledger)"), "{out}");
    stop(r);
}

#[test]
fn readiness_is_503_while_free_space_is_under_the_setting_and_writes_are_still_tried() {
    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<&str> = SERVE[..6].to_vec();
    // 1 TiB: more than this machine's disk has free.
    args.extend(["--ledger-min-free-mb", "1048576"]);
    let r = serve(dir.path(), &args);
    let (code, body) = ready(&r);
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["error"]["code"], "storage_full", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("less than ledger.min_free_mb"),
        "{message}"
    );
    assert_eq!(body["status"], "not_ready");
    let agency = banner_agency(&r);
    let token = token(dir.path(), "keys", &agency);
    let (code, issued) = post_agency(&r, "/v1/licences", &token, &business_request("9001"));
    assert_eq!(code, 201, "{issued}");
    stop(r);
    // With the default, the same disk is ready.
    let r = serve(dir.path(), &SERVE[..6]);
    assert_eq!(ready(&r).0, 200);
    stop(r);
}
