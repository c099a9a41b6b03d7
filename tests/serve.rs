//! `elicense serve` as an operator runs it: the real binary on a fresh directory (demo PKI
//! and ledger created), settings from a TOML file, JSON logs, SIGTERM, restart.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::Path;

mod common;

use common::binary::{agent, call, elicense, serve, stop};

const CRATE: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn serve_on_a_fresh_directory_issues_revokes_logs_and_restarts_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("elicense.toml"),
        "bind = \"127.0.0.1:0\"\nlog_format = \"json\"\npublic_url = \"http://licences.example\"\n\n[limits]\nmax_batch = 10\n",
    )
    .unwrap();
    let r = serve(dir.path(), &["--config", "elicense.toml"]);
    assert!(
        dir.path().join("keys/root.crt.pem").exists(),
        "{}",
        r.stdout
    );
    assert!(dir.path().join("data").is_dir());
    let agency = r
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("agency "))
        .and_then(|l| l.split(':').next())
        .unwrap_or_else(|| panic!("no agency in the banner:\n{}", r.stdout))
        .to_owned();

    // A token made with the CLI while the service runs.
    let out = elicense(dir.path())
        .args(["agency", "token", "create", "--agency", &agency])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("elt_"))
        .unwrap()
        .to_owned();

    let request =
        std::fs::read_to_string(Path::new(CRATE).join("fixtures/requests/business_licence.json"))
            .unwrap();
    let (status, issued) = call(
        agent()
            .post(&format!("{}/v1/licences", r.url))
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", "application/json")
            .send(&request),
    );
    assert_eq!(status, 201, "{issued}");
    let id = issued["licence_id"].as_str().unwrap().to_owned();
    let licence = issued["sd_jwt"].as_str().unwrap().to_owned();
    // The public URL from the settings file is in the licence's status reference.
    let (_, v) = call(
        agent()
            .post(&format!("{}/v1/verify", r.url))
            .header("content-type", "text/plain")
            .send(&licence),
    );
    assert_eq!(v["verdict"], "valid", "{v}");
    assert!(
        v["status_reference"]["status_list"]["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://licences.example/v1/status-lists/")),
        "{v}"
    );
    let (status, body) = call(
        agent()
            .post(&format!("{}/v1/licences/{id}/revoke", r.url))
            .header("authorization", &format!("Bearer {token}"))
            .send("{\"reason\": \"撤销\"}"),
    );
    assert_eq!(status, 200, "{body}");
    // max_batch from the file applies.
    let eleven = format!("{{\"requests\": [{}]}}", [request.as_str(); 11].join(","));
    let (status, body) = call(
        agent()
            .post(&format!("{}/v1/licences/batch", r.url))
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", "application/json")
            .send(&eleven),
    );
    assert_eq!(
        (status, &body["error"]["code"]),
        (422, &Value::from("bad_batch_size")),
        "{body}"
    );

    let (code, stdout, stderr) = stop(r);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stdout.contains("ledger flushed"), "{stdout}");
    // One JSON log line per request, with a request id and the route pattern; no secrets,
    // no identifiers, no licence text.
    let lines: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request")
        .collect();
    assert!(requests.len() >= 4, "{stderr}");
    assert!(requests
        .iter()
        .all(|l| l["fields"]["request_id"].is_string()));
    assert!(requests
        .iter()
        .any(|l| l["fields"]["route"] == "/v1/licences/{identifier}/revoke"));
    assert!(lines
        .iter()
        .any(|l| l["fields"]["message"] == "status change recorded"));
    for secret in [token.as_str(), id.as_str(), &licence[..40]] {
        assert!(!stderr.contains(secret), "logged {secret:?}:\n{stderr}");
    }

    // Restarted: the revocation is still there.
    let r = serve(
        dir.path(),
        &["--config", "elicense.toml", "--log-format", "off"],
    );
    let (_, v) = call(
        agent()
            .post(&format!("{}/v1/verify", r.url))
            .header("content-type", "text/plain")
            .send(&licence),
    );
    assert_eq!(v["reason"]["code"], "revoked", "{v}");
    let (code, _, stderr) = stop(r);
    assert_eq!(code, 0);
    assert!(stderr.trim().is_empty(), "logs were off: {stderr}");
}

#[test]
fn a_bad_settings_file_is_refused_with_the_key_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "[limits]\nmax_concurent = 3\n").unwrap();
    let out = elicense(dir.path())
        .args(["serve", "--config", "bad.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("max_concurent") && err.contains("elicense.example.toml"),
        "{err}"
    );
    let out = elicense(dir.path())
        .args(["serve", "--config", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = elicense(dir.path())
        .args(["serve", "--timeout-secs", "0", "--bind", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("limits.timeout_secs"));
    // Nothing was created by the refused runs.
    assert!(!dir.path().join("keys").exists());
    let help = elicense(dir.path())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--config",
        "--bind",
        "--rate-per-second",
        "--max-body-bytes",
        "ELICENSE_BIND",
        "--public-url",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
    }
}
