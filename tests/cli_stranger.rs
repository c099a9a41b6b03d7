//! The command line as a stranger meets it (issue 10, "One way through"): each test is one
//! stumble a new user had, run through the real binary in a temporary directory, judged by
//! the exit code (0 valid or done, 1 invalid licence, 2 error) and what is printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_elicense");
const CRATE: &str = env!("CARGO_MANIFEST_DIR");
const AGENCY_NAME: &str = "示例市市场监督管理局";
const AGENCY_CODE: &str = "11350100MB00000012";

fn fixture(rel: &str) -> PathBuf {
    Path::new(CRATE).join("fixtures").join(rel)
}

fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// What one run of the binary produced.
#[derive(Debug)]
struct Run {
    args: Vec<String>,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn describe(&self) -> String {
        format!(
            "elicense {:?} exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{}", self.describe());
        self
    }

    #[track_caller]
    fn out_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout should contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    fn out_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout should not contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    fn err_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr should contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    fn err_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr should not contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.describe()))
    }
}

fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("ELICENSE_KEYS")
        .env_remove("ELICENSE_DATA")
        .stdin(Stdio::null())
        .output()
        .expect("run elicense");
    let r = Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        out.status.code().is_some() && !r.stderr.contains("panicked"),
        "crashed\n{}",
        r.describe()
    );
    r
}

/// A temporary directory with a key store `keys` (root CA and the demo agency) and the
/// ledger `data`, made through the CLI.
struct Office {
    dir: tempfile::TempDir,
}

impl Office {
    fn new() -> Self {
        let o = Office {
            dir: tempfile::tempdir().unwrap(),
        };
        o.run(&["init"]).code(0);
        o.run(&[
            "agency",
            "add",
            "--name",
            AGENCY_NAME,
            "--code",
            AGENCY_CODE,
        ])
        .code(0);
        o
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs with `--keys keys --data data`.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--keys", "keys", "--data", "data"];
        all.extend_from_slice(args);
        run_in(self.dir.path(), &all)
    }

    /// Runs in the directory with exactly `args` (a verifier: no key store of its own).
    fn bare(&self, args: &[&str]) -> Run {
        run_in(self.dir.path(), args)
    }

    /// Issues the business licence fixture into `out` (and its seal beside it); returns
    /// the identifier.
    fn issue(&self, out: &str) -> String {
        let req = fixture("requests/business_licence.json");
        let r = self.run(&["issue", p(&req), "--agency", AGENCY_CODE, "--out", out]);
        r.code(0);
        issued_id(&r)
    }
}

fn issued_id(r: &Run) -> String {
    r.stderr
        .lines()
        .find_map(|l| l.strip_prefix("issued "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("issued <id>\n{}", r.describe()))
        .to_owned()
}

// ─── 10. token ids that look like options ───────────────────────────────────────────

#[test]
fn token_ids_never_start_with_a_dash_and_old_ones_revoke_with_or_without_double_dash() {
    let o = Office::new();
    for _ in 0..20 {
        let r = o.run(&["agency", "token", "create", "--agency", AGENCY_CODE]);
        r.code(0);
        let id = r
            .stderr
            .strip_prefix("token ")
            .and_then(|s| s.split_whitespace().next())
            .unwrap()
            .to_owned();
        assert!(id.starts_with("tk") && !id.starts_with('-'), "{id}");
        o.run(&["agency", "token", "revoke", &id])
            .code(0)
            .out_has(&format!("revoked token {id}"));
    }
    // Token files written before ids had a prefix: an id may start with `-`.
    let file = o.path("keys/agency-tokens.json");
    let mut records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for id in ["-Ab3_x9Q", "-zz-9_Qa"] {
        records.push(serde_json::json!({
            "id": id, "agency": AGENCY_CODE, "sha256": "x", "created": 1
        }));
    }
    std::fs::write(&file, serde_json::to_vec(&records).unwrap()).unwrap();
    o.run(&["agency", "token", "revoke", "-Ab3_x9Q"])
        .code(0)
        .out_has("revoked token -Ab3_x9Q");
    o.run(&["agency", "token", "revoke", "--", "-zz-9_Qa"])
        .code(0)
        .out_has("revoked token -zz-9_Qa");
    o.run(&["agency", "token", "list"])
        .code(0)
        .out_has("-Ab3_x9Q");
}
