//! What the ledger's storage can do right now, and why it cannot: the real cause of a failed
//! open or write (no space, read-only, permissions, the lock held by another process), the
//! probe that tells when a failed disk can take writes again, and the read-only copy that
//! lets audit commands read a ledger they cannot write.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Bytes the probe writes (and syncs) before a failed ledger is reopened: two of sled's
/// 512 KiB segments, so a disk with a few kilobytes free is not taken for a working one.
pub const PROBE_BYTES: usize = 1 << 20;

/// The probe file's name, inside the data directory (removed after each probe).
pub const PROBE_FILE: &str = ".elicense-probe";

/// Why the ledger's storage cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageCause {
    /// The filesystem is full (ENOSPC, or EDQUOT: over quota).
    NoSpace,
    /// The filesystem is mounted read-only (EROFS).
    ReadOnly,
    /// This user may not write the data directory (EACCES, EPERM).
    PermissionDenied,
    /// Another process holds the ledger's lock.
    Locked {
        /// The process holding it, when the system says (Linux `/proc/locks`).
        pid: Option<u32>,
    },
    /// Any other I/O failure (a failing disk, say), with the system's words.
    Io(String),
}

impl StorageCause {
    /// A stable code for the cause (API error codes, metrics, logs).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSpace => "storage_full",
            Self::ReadOnly => "storage_read_only",
            Self::PermissionDenied => "storage_permission_denied",
            Self::Locked { .. } => "ledger_locked",
            Self::Io(_) => "storage_failed",
        }
    }

    /// What the cause is and how to remove it, for the data directory `dir` (for the
    /// operator: logs and the CLI).
    pub fn explain(&self, dir: &Path) -> String {
        self.describe(&dir.display())
    }

    /// [`explain`](Self::explain) without the server's paths or system error text, for
    /// answers to clients.
    pub fn explain_public(&self) -> String {
        match self {
            Self::Io(_) => {
                "the ledger's storage failed; the operator has been told (ERROR log)".into()
            }
            _ => self.describe(&"(the ledger's data directory)"),
        }
    }

    fn describe(&self, dir: &dyn std::fmt::Display) -> String {
        match self {
            Self::NoSpace => format!(
                "no space left on the filesystem of the ledger ({dir}); free space there (or grow the volume); \
                 elicense probes the disk every few seconds and takes writes again by itself once it can"
            ),
            Self::ReadOnly => format!(
                "the ledger directory {dir} is on a read-only filesystem; remount it read-write or give a writable --data \
                 directory (read-only commands such as `elicense ledger verify` and `elicense status` work on a read-only copy)"
            ),
            Self::PermissionDenied => format!(
                "this user may not write the ledger directory {dir}; run elicense as the directory's owner or fix its \
                 permissions (read-only commands such as `elicense ledger verify` work on a read-only copy)"
            ),
            Self::Locked { pid: Some(pid) } => format!(
                "the ledger in {dir} is in use by another elicense process (PID {pid}); only one process can open it: \
                 while `elicense serve` runs, change licences through its HTTP API, or stop it first"
            ),
            Self::Locked { pid: None } => format!(
                "the ledger in {dir} is in use by another elicense process; only one process can open it: \
                 while `elicense serve` runs, change licences through its HTTP API, or stop it first"
            ),
            Self::Io(e) => format!(
                "the ledger's storage in {dir} failed ({e}); check the disk (`dmesg`, `df -h {dir}`), then restart elicense"
            ),
        }
    }

    /// The cause of an I/O error, if it is one of the named kinds (`None`: another error).
    pub fn of_io(e: &std::io::Error) -> Self {
        // ENOSPC 28, EDQUOT 122, EROFS 30, EACCES 13, EPERM 1 (Linux numbering).
        match e.raw_os_error() {
            Some(28 | 122) => return Self::NoSpace,
            Some(30) => return Self::ReadOnly,
            Some(13 | 1) => return Self::PermissionDenied,
            _ => {}
        }
        match e.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Self::NoSpace,
            std::io::ErrorKind::ReadOnlyFilesystem => Self::ReadOnly,
            std::io::ErrorKind::PermissionDenied => Self::PermissionDenied,
            _ => Self::Io(e.to_string()),
        }
    }

    /// The cause of a sled error met while using the ledger in `dir`; `None` when the
    /// error is not about storage (corruption, say).
    pub fn of_sled(e: &sled::Error, dir: &Path) -> Option<Self> {
        match e {
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                Some(Self::Locked {
                    pid: lock_holder(&dir.join("db")),
                })
            }
            sled::Error::Io(io) => Some(Self::of_io(io)),
            _ => None,
        }
    }
}

/// The process holding an advisory lock on `file`, read from Linux's `/proc/locks`
/// (`1: FLOCK ADVISORY WRITE <pid> <major>:<minor>:<inode> 0 EOF`); `None` elsewhere or
/// when no line names the file's inode.
pub fn lock_holder(file: &Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt as _;
    let inode = std::fs::metadata(file).ok()?.ino();
    let locks = std::fs::read_to_string("/proc/locks").ok()?;
    let me = std::process::id();
    locks.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "1:" "FLOCK" "ADVISORY" "WRITE" pid dev:inode start end (a "->" marks a waiter).
        let fields: Vec<&str> = fields.into_iter().filter(|f| *f != "->").collect();
        let pid: u32 = fields.get(4)?.parse().ok()?;
        let ino: u64 = fields.get(5)?.rsplit(':').next()?.parse().ok()?;
        (ino == inode && pid != me).then_some(pid)
    })
}

/// Removes snapshot files sled left unfinished (`snap.<lsn>.generating`), returning their
/// names. sled 0.34 writes a snapshot to such a file, syncs it and only then renames it; but
/// when it opens a database it takes the last `snap.` file by name, an unfinished one
/// included, and refuses a truncated one as corrupt. A snapshot write cut short (no space
/// left, a crash) would so leave a ledger that never opens again, although its log is whole.
/// An unfinished snapshot holds nothing the log does not: removing it is always safe.
pub fn remove_unfinished_snapshots(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut removed = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            std::fs::remove_file(entry.path())?;
            removed.push(name);
        }
    }
    Ok(removed)
}

/// Free bytes for an unprivileged writer on the filesystem holding `dir`, and whether it is
/// mounted read-only.
pub fn free_space(dir: &Path) -> std::io::Result<(u64, bool)> {
    let st = rustix::fs::statvfs(dir).map_err(std::io::Error::from)?;
    let read_only = st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY);
    Ok((st.f_bavail.saturating_mul(st.f_frsize), read_only))
}

/// Writes, syncs and removes [`PROBE_BYTES`] in `dir`: whether the ledger could write
/// there now. The cause when not.
pub fn probe(dir: &Path) -> Result<(), StorageCause> {
    let path = dir.join(PROBE_FILE);
    let result = (|| {
        let mut f = std::fs::File::create(&path)?;
        let chunk = vec![0u8; 64 * 1024];
        for _ in 0..PROBE_BYTES / chunk.len() {
            f.write_all(&chunk)?;
        }
        f.sync_all()
    })();
    let _ = std::fs::remove_file(&path);
    result.map_err(|e| StorageCause::of_io(&e))
}

/// A copy of a ledger directory that this process can open, for reading a ledger whose
/// directory is read-only (a backup, a mounted snapshot). Removed when dropped.
#[derive(Debug)]
pub struct ReadOnlyCopy {
    path: PathBuf,
}

impl ReadOnlyCopy {
    /// Copies the files of `dir` (sled keeps a flat directory with one `blobs/` folder)
    /// into a new directory under the system's temporary directory.
    pub fn of(dir: &Path) -> std::io::Result<Self> {
        let mut nonce = [0u8; 8];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| std::io::Error::other("the system random source failed"))?;
        let path = std::env::temp_dir().join(format!(
            "elicense-ro-{}-{}",
            std::process::id(),
            crate::jose::b64u_encode(nonce)
        ));
        let copy = Self { path };
        copy_tree(dir, &copy.path, 0)?;
        Ok(copy)
    }

    /// Where the copy is.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ReadOnlyCopy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn copy_tree(from: &Path, to: &Path, depth: u32) -> std::io::Result<()> {
    if depth > 4 {
        return Err(std::io::Error::other(format!(
            "{} is nested too deeply for a ledger directory",
            from.display()
        )));
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target, depth + 1)?;
        } else if kind.is_file() && entry.file_name() != PROBE_FILE {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_are_named_by_their_cause() {
        let e = |n| std::io::Error::from_raw_os_error(n);
        assert_eq!(StorageCause::of_io(&e(28)), StorageCause::NoSpace);
        assert_eq!(StorageCause::of_io(&e(122)), StorageCause::NoSpace);
        assert_eq!(StorageCause::of_io(&e(30)), StorageCause::ReadOnly);
        assert_eq!(StorageCause::of_io(&e(13)), StorageCause::PermissionDenied);
        assert!(matches!(StorageCause::of_io(&e(5)), StorageCause::Io(_)));
        let dir = Path::new("/srv/data");
        assert!(StorageCause::NoSpace.explain(dir).contains("no space left"));
        for cause in [
            StorageCause::NoSpace,
            StorageCause::ReadOnly,
            StorageCause::Locked { pid: Some(42) },
            StorageCause::Io("I/O error at /srv/data/db".into()),
        ] {
            assert!(!cause.explain_public().contains("/srv/data"), "{cause:?}");
        }
        assert!(StorageCause::NoSpace
            .explain_public()
            .contains("no space left"));
        assert!(StorageCause::ReadOnly.explain(dir).contains("read-only"));
        assert!(StorageCause::Locked { pid: Some(42) }
            .explain(dir)
            .contains("PID 42"));
        let codes: std::collections::HashSet<_> = [
            StorageCause::NoSpace,
            StorageCause::ReadOnly,
            StorageCause::PermissionDenied,
            StorageCause::Locked { pid: None },
            StorageCause::Io(String::new()),
        ]
        .iter()
        .map(StorageCause::code)
        .collect();
        assert_eq!(codes.len(), 5);
    }

    #[test]
    fn a_lock_held_by_another_process_is_found_with_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db");
        std::fs::write(&file, b"x").unwrap();
        // flock(1) from util-linux holds the lock in a child process.
        let Ok(mut child) = std::process::Command::new("flock")
            .arg("-x")
            .arg(&file)
            .args(["sleep", "5"])
            .spawn()
        else {
            eprintln!("SKIPPED: no flock(1) here");
            return;
        };
        let mut found = None;
        for _ in 0..100 {
            found = lock_holder(&file);
            if found.is_some() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        // flock(1) takes the lock itself, then runs `sleep` as its child.
        assert_eq!(found, Some(child.id()));
    }

    #[test]
    fn the_probe_writes_and_removes_its_file() {
        let dir = tempfile::tempdir().unwrap();
        probe(dir.path()).unwrap();
        assert!(!dir.path().join(PROBE_FILE).exists());
        let (free, ro) = free_space(dir.path()).unwrap();
        assert!(free > 0);
        assert!(!ro);
        assert!(probe(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn unfinished_snapshots_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "db",
            "conf",
            "snap.0000000000007AF0",
            "snap.000000000007FBA2.generating",
        ] {
            std::fs::write(dir.path().join(f), b"").unwrap();
        }
        let removed = remove_unfinished_snapshots(dir.path()).unwrap();
        assert_eq!(removed, ["snap.000000000007FBA2.generating"]);
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["conf", "db", "snap.0000000000007AF0"]);
        assert!(remove_unfinished_snapshots(&dir.path().join("none"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_read_only_copy_holds_the_files_and_goes_away() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db"), b"abc").unwrap();
        std::fs::create_dir(dir.path().join("blobs")).unwrap();
        std::fs::write(dir.path().join("blobs/1"), b"blob").unwrap();
        let copy = ReadOnlyCopy::of(dir.path()).unwrap();
        assert_eq!(std::fs::read(copy.path().join("db")).unwrap(), b"abc");
        assert_eq!(std::fs::read(copy.path().join("blobs/1")).unwrap(), b"blob");
        let p = copy.path().to_owned();
        drop(copy);
        assert!(!p.exists());
    }
}
