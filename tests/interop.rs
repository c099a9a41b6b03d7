//! A stranger can verify us: a licence issued by the real `elicense` binary is verified by
//! an implementation that shares no code with this crate (`tests/interop/verify_licence.py`,
//! Python `cryptography` + stdlib only), and `openssl verify` validates the issuer chain.
//!
//! Needs `python3` with `cryptography`, and `openssl`. Without them the test prints
//! `skipped: …` — unless `CI` is set, where it fails (CI installs them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_elicense");
const CRATE: &str = env!("CARGO_MANIFEST_DIR");
const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/interop/verify_licence.py"
);
const AGENCY_NAME: &str = "示例市市场监督管理局";
const AGENCY_CODE: &str = "11350100MB00000012";
const HOLDER_NAME: &str = "示例科技有限公司";

/// Why the external tools cannot be used here, if they cannot.
fn missing_tools() -> Option<String> {
    let mut missing = Vec::new();
    match Command::new("python3")
        .args([
            "-c",
            "import cryptography, cryptography.x509; \
             from cryptography.hazmat.primitives.asymmetric import utils; \
             utils.encode_dss_signature",
        ])
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => missing.push(format!(
            "python3 has no usable `cryptography` ({})",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => missing.push(format!("python3 not runnable ({e})")),
    }
    match Command::new("openssl").arg("version").output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => missing.push(format!("`openssl version` failed ({})", o.status)),
        Err(e) => missing.push(format!("openssl not runnable ({e})")),
    }
    (!missing.is_empty()).then(|| missing.join("; "))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(what: &str, o: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// Runs `elicense --keys <keys> <args…>` in `cwd`; it must succeed.
fn elicense(cwd: &Path, keys: &Path, args: &[&str]) -> Output {
    let o = Command::new(BIN)
        .current_dir(cwd)
        .env_remove("ELICENSE_KEYS")
        .arg("--keys")
        .arg(keys)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}",
        describe(&format!("elicense {args:?}"), &o)
    );
    o
}

fn openssl_verify(root: &Path, cert: &Path) -> Output {
    Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(root)
        .arg(cert)
        .output()
        .unwrap()
}

fn python_verify(licence: &Path, root: &Path) -> Output {
    Command::new("python3")
        .env("PYTHONIOENCODING", "utf-8")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(SCRIPT)
        .arg(licence)
        .arg(root)
        .output()
        .unwrap()
}

/// Replaces the character at `index` by another base64url character (one that keeps the
/// text decodable: any position but the last, whose trailing bits are constrained).
fn flip_char(b64: &str, index: usize) -> String {
    assert!(index + 1 < b64.len(), "not the last character");
    let mut bytes = b64.as_bytes().to_vec();
    bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
    let out = String::from_utf8(bytes).unwrap();
    assert_ne!(out, b64);
    assert!(
        elicense::jose::b64u_decode(&out).is_ok(),
        "the tampered base64 must still decode"
    );
    out
}

/// Writes a tampered copy, runs the Python verifier on it, and expects a clean failure.
fn expect_python_rejects(dir: &Path, name: &str, licence: &str, root: &Path, reason: &str) {
    let path = dir.join(name);
    std::fs::write(&path, format!("{licence}\n")).unwrap();
    let o = python_verify(&path, root);
    let stderr = text(&o.stderr);
    println!("{name}: exit {:?}: {}", o.status.code(), stderr.trim());
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        describe(&format!("python verifier on {name}"), &o)
    );
    assert!(
        stderr.contains("FAILED") && stderr.contains(reason),
        "expected a failure mentioning {reason:?}; {}",
        describe(name, &o)
    );
    assert!(
        !text(&o.stdout).contains(HOLDER_NAME),
        "nothing may be printed as verified"
    );
}

#[test]
fn a_stranger_verifies_an_issued_licence() {
    if let Some(why) = missing_tools() {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but the interop tools are missing: {why}");
        }
        println!("skipped: interop test needs python3 with `cryptography` and openssl: {why}");
        return;
    }
    assert!(
        Path::new(SCRIPT).is_file(),
        "verifier script {SCRIPT} missing"
    );

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let keys = dir.join("keys");
    let request: PathBuf = [CRATE, "fixtures", "requests", "business_licence.json"]
        .iter()
        .collect();
    let licence = dir.join("bl.sdjwt");

    // 1. The real binary: root CA, agency, licence.
    elicense(dir, &keys, &["init"]);
    elicense(
        dir,
        &keys,
        &[
            "agency",
            "add",
            "--name",
            AGENCY_NAME,
            "--code",
            AGENCY_CODE,
        ],
    );
    elicense(
        dir,
        &keys,
        &[
            "issue",
            request.to_str().unwrap(),
            "--agency",
            AGENCY_CODE,
            "--out",
            licence.to_str().unwrap(),
        ],
    );
    let root = keys.join("root.crt.pem");
    let agency_cert = keys.join("agencies").join(format!("{AGENCY_CODE}.crt.pem"));
    let issued = std::fs::read_to_string(&licence).unwrap();
    let issued = issued.trim_end();

    // 2. OpenSSL accepts the agency certificate under our root, and not under another.
    let o = openssl_verify(&root, &agency_cert);
    println!("openssl verify (own root): {}", text(&o.stdout).trim());
    assert!(
        o.status.success() && text(&o.stdout).contains(": OK"),
        "{}",
        describe("openssl verify with the issuing root", &o)
    );
    let other_keys = dir.join("other-keys");
    elicense(dir, &other_keys, &["init"]);
    let other_root = other_keys.join("root.crt.pem");
    let o = openssl_verify(&other_root, &agency_cert);
    println!(
        "openssl verify (other root): {} {}",
        o.status,
        text(&o.stderr)
            .lines()
            .find(|l| l.contains("error"))
            .unwrap_or_default()
    );
    assert!(
        !o.status.success() && !text(&o.stdout).contains(": OK"),
        "{}",
        describe("openssl verify with an unrelated root must fail", &o)
    );

    // 3. The independent Python verifier accepts the licence and shows the holder.
    let o = python_verify(&licence, &root);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        describe("python verifier on the issued licence", &o)
    );
    let out = text(&o.stdout);
    println!("python verifier output:\n{out}");
    assert!(out.contains(HOLDER_NAME), "holder name missing: {out}");
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["disclosed"]["holder_name"], HOLDER_NAME);
    assert_eq!(shown["claims"]["holder_name"], HOLDER_NAME);
    // …and our own verifier agrees.
    elicense(dir, &keys, &["verify", licence.to_str().unwrap()]);

    // The same licence under an unrelated root (same default root name!) is refused.
    expect_python_rejects(
        dir,
        "other-root.sdjwt",
        issued,
        &other_root,
        "does not verify with the root key",
    );

    // Split: jwt ~ disclosures… ~ (empty).
    let parts: Vec<&str> = issued.split('~').collect();
    assert!(parts.len() > 2, "no disclosures in {issued}");
    assert_eq!(parts.last(), Some(&""), "an issued licence ends with '~'");
    let holder_idx = (1..parts.len() - 1)
        .find(|&i| {
            let d = elicense::jose::b64u_decode(parts[i]).unwrap();
            String::from_utf8(d).unwrap().contains(HOLDER_NAME)
        })
        .expect("a disclosure carries the holder name");

    // 4a. One character of the holder-name disclosure changed (still valid base64url).
    let mut p = parts.clone();
    let d = flip_char(parts[holder_idx], parts[holder_idx].len() / 2);
    p[holder_idx] = &d;
    expect_python_rejects(
        dir,
        "disclosure-char.sdjwt",
        &p.join("~"),
        &root,
        "does not match any digest",
    );

    // 4b. A well-formed forged disclosure: same salt and name, another holder.
    let original: serde_json::Value =
        serde_json::from_slice(&elicense::jose::b64u_decode(parts[holder_idx]).unwrap()).unwrap();
    let forged = serde_json::json!([original[0], original[1], "伪造科技有限公司"]);
    let forged = elicense::jose::b64u_encode(forged.to_string());
    let mut p = parts.clone();
    p[holder_idx] = &forged;
    expect_python_rejects(
        dir,
        "disclosure-forged.sdjwt",
        &p.join("~"),
        &root,
        "does not match any digest",
    );

    // 5a. One character of the signed payload changed (still valid base64url).
    let segments: Vec<&str> = parts[0].split('.').collect();
    assert_eq!(segments.len(), 3);
    let payload = flip_char(segments[1], segments[1].len() / 2);
    let jwt = format!("{}.{payload}.{}", segments[0], segments[2]);
    let mut p = parts.clone();
    p[0] = &jwt;
    expect_python_rejects(
        dir,
        "payload-char.sdjwt",
        &p.join("~"),
        &root,
        "signature does not verify",
    );

    // 5b. A well-formed forged payload: another issuer URI, the signature kept.
    let mut claims: serde_json::Value =
        serde_json::from_slice(&elicense::jose::b64u_decode(segments[1]).unwrap()).unwrap();
    claims["iss"] = "https://forger.example".into();
    let payload = elicense::jose::b64u_encode(claims.to_string());
    let jwt = format!("{}.{payload}.{}", segments[0], segments[2]);
    let mut p = parts.clone();
    p[0] = &jwt;
    expect_python_rejects(
        dir,
        "payload-forged.sdjwt",
        &p.join("~"),
        &root,
        "signature does not verify",
    );

    // Our own verifier rejects the tampered copies too (exit 1 = invalid licence).
    for name in [
        "disclosure-char.sdjwt",
        "disclosure-forged.sdjwt",
        "payload-char.sdjwt",
        "payload-forged.sdjwt",
    ] {
        let o = Command::new(BIN)
            .current_dir(dir)
            .env_remove("ELICENSE_KEYS")
            .arg("--keys")
            .arg(&keys)
            .arg("verify")
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            describe(&format!("elicense verify {name}"), &o)
        );
    }
}
