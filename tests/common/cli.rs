//! The real `elicense` binary run as a command: its exit code and output, checked for
//! panics and signals, with assertions that print the whole run when they fail.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_elicense");
pub const CRATE: &str = env!("CARGO_MANIFEST_DIR");

/// A file under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(CRATE).join("fixtures").join(rel)
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub args: Vec<String>,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn describe(&self) -> String {
        format!(
            "elicense {:?} exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{}", self.describe());
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout should contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stdout_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stdout.contains(needle),
            "stdout should not contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr should contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    #[track_caller]
    pub fn stderr_lacks(&self, needle: &str) -> &Self {
        assert!(
            !self.stderr.contains(needle),
            "stderr should not contain {needle:?}\n{}",
            self.describe()
        );
        self
    }

    /// An operator error: exit 2, an `error: …` line, and on standard output nothing —
    /// or, when `--json` was asked for, a JSON document with `verdict: error`.
    #[track_caller]
    pub fn expect_error(&self) -> &Self {
        self.expect_code(2);
        assert!(
            self.stderr.starts_with("error: "),
            "errors start with `error: `\n{}",
            self.describe()
        );
        if !self.stdout.is_empty() {
            let v: Value = serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
                panic!(
                    "an error prints nothing on stdout, or JSON ({e})\n{}",
                    self.describe()
                )
            });
            assert_eq!(v["verdict"], "error", "{}", self.describe());
            assert!(v["error"]["message"].is_string(), "{}", self.describe());
        }
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{}", self.describe()))
    }
}

/// Runs the binary in `cwd`, feeding `stdin` if given (write errors are ignored: the
/// binary may stop reading early). Every run is checked for panics and signals.
pub fn run_in(cwd: &Path, args: &[&str], stdin: Option<Vec<u8>>) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .current_dir(cwd)
        .env_remove("ELICENSE_KEYS")
        .env_remove("ELICENSE_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("spawn elicense");
    let writer = stdin.map(|bytes| {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        })
    });
    let out = child.wait_with_output().expect("wait for elicense");
    if let Some(w) = writer {
        w.join().expect("stdin writer thread");
    }
    let r = Run {
        args: args.iter().map(|s| (*s).to_owned()).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        out.status.code().is_some(),
        "killed by a signal\n{}",
        r.describe()
    );
    assert!(
        !r.stderr.contains("panicked") && r.code != 101,
        "the binary panicked\n{}",
        r.describe()
    );
    r
}

pub fn run(cwd: &Path, args: &[&str]) -> Run {
    run_in(cwd, args, None)
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}
