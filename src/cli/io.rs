//! Input and output helpers of the CLI, and [`Failure`], an operator error with its hint.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// An error for the operator: what went wrong, and how to fix it.
pub struct Failure {
    /// What went wrong.
    pub error: Box<dyn std::error::Error>,
    /// How to fix it.
    pub hint: Option<String>,
}

impl<E: std::error::Error + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            error: Box::new(e),
            hint: None,
        }
    }
}

/// A failure with a message and how to fix it.
pub fn fail(message: impl Into<String>, hint: impl Into<String>) -> Failure {
    Failure {
        error: message.into().into(),
        hint: Some(hint.into()),
    }
}

/// Prints an operator error: the error, its causes, and how to fix it.
pub fn report(f: &Failure) {
    let mut err = std::io::stderr().lock();
    let message = f.error.to_string();
    let _ = writeln!(err, "error: {message}");
    let mut source = f.error.source();
    while let Some(s) = source {
        // A cause the message already quotes ("…: {0}") is not printed a second time.
        let text = s.to_string();
        if !message.contains(&text) {
            let _ = writeln!(err, "  caused by: {text}");
        }
        source = s.source();
    }
    if let Some(h) = &f.hint {
        let _ = writeln!(err, "  hint: {h}");
    }
}

/// Where `issue --out X` puts the seal: X with its extension replaced by `.seal.txt`.
pub fn seal_path(out: &Path) -> PathBuf {
    out.with_extension("seal.txt")
}

/// `--at`: RFC 3339 or seconds since the epoch; now when absent.
pub fn parse_time(at: Option<&str>) -> Result<i64, Failure> {
    let Some(at) = at else {
        return Ok(OffsetDateTime::now_utc().unix_timestamp());
    };
    if let Ok(secs) = at.parse::<i64>() {
        return Ok(secs);
    }
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| {
            fail(
                format!("--at {at:?} is not a time: {e}"),
                "write it as RFC 3339 (2026-01-31T09:00:00+08:00) or seconds since 1970",
            )
        })
}

/// Largest input file accepted.
pub const MAX_INPUT: u64 = 1024 * 1024;

/// Reads a licence-sized input file, or standard input for `-`, as UTF-8 text.
pub fn read_input(path: &Path) -> Result<String, Failure> {
    let mut buf = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut buf))
    };
    read.map_err(|e| {
        fail(
            format!("{}: {e}", path.display()),
            format!("check the path {}", path.display()),
        )
    })?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(fail(
            format!("{} is larger than {MAX_INPUT} bytes", path.display()),
            "a licence is a few kilobytes; is this the right file?",
        ));
    }
    String::from_utf8(buf).map_err(|e| {
        fail(
            format!("{} is not UTF-8 text: {e}", path.display()),
            "a licence is base64url text (or JSON); is this the right file?",
        )
    })
}

/// Reads a small text file (a key or certificate), naming it in any error.
pub fn read_named(path: &Path, hint: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display()), hint))
}

/// Writes `text` and a newline to `out`, or to standard output (a closed pipe is not an error).
pub fn write_output(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    match out {
        Some(p) => std::fs::write(p, format!("{text}\n")).map_err(Failure::from),
        None => {
            let mut o = std::io::stdout().lock();
            match writeln!(o, "{text}") {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(Failure::from),
            }
        }
    }
}
