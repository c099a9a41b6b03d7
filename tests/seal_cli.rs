//! `elicense issue` writes the paper seal, `elicense verify` takes it, and `elicense qr`
//! draws it as PNG or SVG — the real binary in a temporary directory, judged by exit codes
//! (0 done, 1 invalid licence, 2 error), its messages and the files it writes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_elicense");
const CRATE: &str = env!("CARGO_MANIFEST_DIR");
const AGENCY: &str = "11350100MB00000012";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(["--keys", "T"])
        .args(args)
        .current_dir(dir)
        .env_remove("ELICENSE_KEYS")
        .env_remove("ELICENSE_DATA")
        .output()
        .unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!r.stderr.contains("panicked"), "{r:?}");
    r
}

#[track_caller]
fn ok(r: Run) -> Run {
    assert_eq!(r.code, 0, "{r:?}");
    r
}

/// A key store with the demo agency, and the business licence issued into the ledger.
fn issued() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(run(d, &["init"]));
    ok(run(
        d,
        &[
            "agency",
            "add",
            "--name",
            "示例市市场监督管理局",
            "--code",
            AGENCY,
        ],
    ));
    let request = format!("{CRATE}/fixtures/requests/business_licence.json");
    let r = ok(run(
        d,
        &["issue", &request, "--agency", AGENCY, "--out", "bl.sdjwt"],
    ));
    assert!(r.stderr.contains("bl.seal.txt"), "{r:?}");
    let id = r
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("issued "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    (dir, id)
}

/// PNG width and height from the IHDR chunk.
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR");
    let be = |b: &[u8]| u32::from_be_bytes(b.try_into().unwrap());
    (be(&bytes[16..20]), be(&bytes[20..24]))
}

/// The QR version from `qr`'s report.
fn version(stdout: &str) -> u32 {
    stdout
        .split("QR version ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no version in {stdout}"))
}

#[test]
fn issue_writes_the_seal_and_verify_takes_it() {
    let (dir, id) = issued();
    let d = dir.path();
    let seal = std::fs::read_to_string(d.join("bl.seal.txt")).unwrap();
    assert!(seal.starts_with("EL1:") && seal.ends_with('\n'), "{seal}");
    let r = ok(run(d, &["verify", "bl.seal.txt"]));
    assert!(r.stdout.starts_with(&format!("VALID 有效  {id}")), "{r:?}");
    assert!(r.stdout.contains("经营范围"), "{r:?}");
    // The same verdict as the SD-JWT, in JSON.
    let by_seal = ok(run(d, &["verify", "bl.seal.txt", "--json"]));
    let by_sd_jwt = ok(run(d, &["verify", "bl.sdjwt", "--json"]));
    let strip = |s: &str| {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        v.as_object_mut().unwrap().remove("checked_at");
        v["status"].as_object_mut().unwrap().remove("as_of");
        v
    };
    assert_eq!(strip(&by_seal.stdout), strip(&by_sd_jwt.stdout));
    // Revoked: both say so.
    ok(run(
        d,
        &["revoke", &id, "--agency", AGENCY, "--reason", "吊销"],
    ));
    for file in ["bl.seal.txt", "bl.sdjwt"] {
        let r = run(d, &["verify", file]);
        assert_eq!(r.code, 1, "{r:?}");
        assert!(r.stdout.starts_with("REVOKED"), "{r:?}");
    }
    // --seal-out puts it elsewhere; to standard output, the ledger keeps it.
    let request = format!("{CRATE}/fixtures/requests/food_business_permit.json");
    let r = ok(run(
        d,
        &[
            "issue",
            &request,
            "--agency",
            AGENCY,
            "--seal-out",
            "food.txt",
        ],
    ));
    assert!(r.stdout.contains('~'), "the SD-JWT on stdout");
    assert!(std::fs::read_to_string(d.join("food.txt"))
        .unwrap()
        .starts_with("EL1:"));
}

#[test]
fn qr_writes_png_and_svg_from_an_identifier_or_a_file() {
    let (dir, id) = issued();
    let d = dir.path();

    let r = ok(run(d, &["qr", &id, "--out", "id.png"]));
    let v = version(&r.stdout);
    assert!((1..=40).contains(&v), "{r:?}");
    let png = std::fs::read(d.join("id.png")).unwrap();
    let (w, h) = png_size(&png);
    // (17 + 4v modules + 2 × 4 quiet) × 8 px.
    assert_eq!((w, h), ((25 + 4 * v) * 8, (25 + 4 * v) * 8));

    let r = ok(run(
        d,
        &["qr", "bl.seal.txt", "--out", "seal.png", "--module-px", "3"],
    ));
    assert_eq!(version(&r.stdout), v);
    let small = std::fs::read(d.join("seal.png")).unwrap();
    assert_eq!(png_size(&small), ((25 + 4 * v) * 3, (25 + 4 * v) * 3));

    ok(run(d, &["qr", "bl.sdjwt", "--out", "sd.svg"]));
    let svg = std::fs::read_to_string(d.join("sd.svg")).unwrap();
    let root = svg.find("<svg").expect("an <svg> root");
    let side = 25 + 4 * v;
    assert!(
        svg[root..].starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
    assert!(svg.trim_end().ends_with("</svg>"));
    // All three name the same seal: the identifier's, the file's and the SD-JWT's.
    ok(run(d, &["qr", &id, "--out", "id.svg"]));
    assert_eq!(std::fs::read_to_string(d.join("id.svg")).unwrap(), svg);
}

#[test]
fn qr_errors_say_how_to_fix_them() {
    let (dir, id) = issued();
    let d = dir.path();
    let r = run(d, &["qr", &id, "--out", "x.gif"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("hint: name the output x.png"), "{r:?}");

    let r = run(d, &["qr", "nope.txt", "--out", "x.png"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("neither a licence identifier nor a file"));

    let unknown = elicense::licence::identifier::LicenceId::new(
        "1001",
        elicense::licence::codes::Uscc::parse(AGENCY).unwrap(),
        "20240301000124",
        1,
    )
    .unwrap()
    .to_string();
    let r = run(d, &["qr", &unknown, "--out", "x.png"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("has no licence") && r.stderr.contains("hint:"));

    // An SD-JWT whose ledger is elsewhere: where to find its seal.
    let r = run(d, &["--data", "other", "qr", "bl.sdjwt", "--out", "x.png"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(".seal.txt"), "{r:?}");

    // A tampered seal is not printed: exit 1, as for an invalid licence.
    let seal = std::fs::read_to_string(d.join("bl.seal.txt")).unwrap();
    let mut t = seal.trim().to_owned().into_bytes();
    let i = t.len() / 2;
    t[i] = if t[i] == b'A' { b'B' } else { b'A' };
    std::fs::write(d.join("bad.seal.txt"), t).unwrap();
    let r = run(d, &["qr", "bad.seal.txt", "--out", "bad.png"]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("does not verify"), "{r:?}");
    assert!(!d.join("bad.png").exists());
}
