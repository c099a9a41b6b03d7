//! The real `elicense` binary as an operator runs it: started in a directory, stopped with
//! SIGTERM, driven over HTTP with a real client.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_elicense");

/// A running `elicense serve`.
pub struct Running {
    pub child: Child,
    pub url: String,
    pub stdout: String,
}

/// The binary in `dir`, with no `ELICENSE_*` settings inherited from the test's environment.
pub fn elicense(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir);
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("ELICENSE_") {
            c.env_remove(var);
        }
    }
    c
}

/// Starts `serve` and waits for the banner's last line; `Err` with everything it printed if
/// it exits first.
pub fn try_serve(dir: &Path, extra: &[&str]) -> Result<Running, (Option<i32>, String)> {
    let mut child = elicense(dir)
        .arg("serve")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut url = None;
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            let status = child.wait().unwrap();
            return Err((status.code(), format!("{seen}\n{err}")));
        }
        seen.push_str(&line);
        if let Some(rest) = line.trim().strip_prefix("elicense serving on ") {
            url = Some(rest.to_owned());
        }
        if url.is_some() && line.contains("openapi.json") {
            break;
        }
    }
    child.stdout = Some(out.into_inner());
    Ok(Running {
        child,
        url: url.unwrap(),
        stdout: seen,
    })
}

/// [`try_serve`], which must start.
pub fn serve(dir: &Path, extra: &[&str]) -> Running {
    try_serve(dir, extra).unwrap_or_else(|(code, out)| panic!("serve exited ({code:?}):\n{out}"))
}

/// SIGTERM, then the exit code and everything the process printed (stdout, stderr).
pub fn stop(r: Running) -> (i32, String, String) {
    let status = Command::new("kill")
        .args(["-TERM", &r.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = r.child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        r.stdout + &String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// Status and body (JSON where it is, else the text as a JSON string).
pub fn call(req: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
    let mut r = req.unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

/// GET `path`.
pub fn get(r: &Running, path: &str) -> (u16, Value) {
    call(agent().get(&format!("{}{path}", r.url)).call())
}

/// POST `body` as JSON to `path` with the agency `token`.
pub fn post_agency(r: &Running, path: &str, token: &str, body: &str) -> (u16, Value) {
    call(
        agent()
            .post(&format!("{}{path}", r.url))
            .header("authorization", &format!("Bearer {token}"))
            .header("content-type", "application/json")
            .send(body),
    )
}

/// A new agency API token made with the CLI (`--keys keys`, relative to `dir`).
pub fn token(dir: &Path, keys: &str, agency: &str) -> String {
    let out = elicense(dir)
        .args([
            "--keys", keys, "agency", "token", "create", "--agency", agency,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|w| w.starts_with("elt_"))
        .unwrap()
        .to_owned()
}

/// The fixture business-licence request with another serial.
pub fn business_request(serial: &str) -> String {
    let mut r: Value = serde_json::from_str(include_str!(
        "../../fixtures/requests/business_licence.json"
    ))
    .unwrap();
    r["serial"] = serial.into();
    r.to_string()
}

/// The lines of a JSON log that parse, failing on any that does not.
pub fn json_log_lines(stderr: &str) -> Vec<Value> {
    stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}
