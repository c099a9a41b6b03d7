//! Agency API tokens: created and revoked with the CLI, stored only as SHA-256 hashes in
//! `keys/agency-tokens.json` (0600), compared in constant time.

use crate::jose::{b64u_encode, sha256};
use crate::licence::codes::Uscc;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq as _;

/// File name of the token store in the key store directory.
pub const TOKENS_FILE: &str = "agency-tokens.json";
/// Prefix of every token, so a leaked one is recognisable in logs and scanners.
pub const TOKEN_PREFIX: &str = "elt_";
/// Prefix of every token id made since issue 10: an id never starts with `-`, which a
/// command line would take for an option. (Older ids, plain base64url, keep working.)
pub const ID_PREFIX: &str = "tk";

/// One stored token: never the token itself, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    /// Public id, to name the token when revoking it.
    pub id: String,
    /// The agency it acts for (USCC).
    pub agency: String,
    /// SHA-256 of the token, base64url.
    pub sha256: String,
    /// Creation time.
    pub created: i64,
    /// Revocation time, if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<i64>,
}

/// The token store file.
#[derive(Debug, Clone)]
pub struct TokenStore {
    path: PathBuf,
}

impl TokenStore {
    /// The store in key store directory `keys_dir`.
    pub fn new(keys_dir: &Path) -> Self {
        Self {
            path: keys_dir.join(TOKENS_FILE),
        }
    }

    /// All records (none if the file does not exist).
    pub fn load(&self) -> Result<Vec<TokenRecord>, TokenError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| TokenError::Corrupt {
                path: self.path.clone(),
                source: e,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(TokenError::Io {
                path: self.path.clone(),
                source: e,
            }),
        }
    }

    fn save(&self, records: &[TokenRecord]) -> Result<(), TokenError> {
        use std::io::Write as _;
        let io = |e| TokenError::Io {
            path: self.path.clone(),
            source: e,
        };
        let tmp = self.path.with_extension("json.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        let json = serde_json::to_vec_pretty(records).map_err(|e| TokenError::Corrupt {
            path: self.path.clone(),
            source: e,
        })?;
        f.write_all(&json).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        // The rename is durable only once the directory is: a revocation must not come
        // back after a crash.
        // (A bare file name's parent is "": the working directory.)
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)?;
        Ok(())
    }

    /// Creates a token for `agency`; returns its record and the token (shown once).
    pub fn create(&self, agency: &Uscc, now: i64) -> Result<(TokenRecord, String), TokenError> {
        let mut secret = [0u8; 32];
        let rng = ring::rand::SystemRandom::new();
        rng.fill(&mut secret).map_err(|_| TokenError::Randomness)?;
        let token = format!("{TOKEN_PREFIX}{}", b64u_encode(secret));
        let record = TokenRecord {
            id: new_id(&rng)?,
            agency: agency.to_string(),
            sha256: b64u_encode(sha256(token.as_bytes())),
            created: now,
            revoked: None,
        };
        let mut all = self.load()?;
        all.push(record.clone());
        self.save(&all)?;
        Ok((record, token))
    }

    /// Revokes token `id`.
    pub fn revoke(&self, id: &str, now: i64) -> Result<TokenRecord, TokenError> {
        let mut all = self.load()?;
        let r = all
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| TokenError::Unknown { id: id.to_owned() })?;
        r.revoked.get_or_insert(now);
        let out = r.clone();
        self.save(&all)?;
        Ok(out)
    }
}

/// A fresh token id: [`ID_PREFIX`] and 6 random bytes, base64url.
fn new_id(rng: &dyn SecureRandom) -> Result<String, TokenError> {
    let mut id = [0u8; 6];
    rng.fill(&mut id).map_err(|_| TokenError::Randomness)?;
    Ok(format!("{ID_PREFIX}{}", b64u_encode(id)))
}

/// Which agency a presented token acts for, if it is a live token of `records`. Every
/// record is compared, in constant time, whatever matches.
pub fn authenticate(records: &[TokenRecord], presented: &str) -> Option<Uscc> {
    let hash = b64u_encode(sha256(presented.as_bytes()));
    let mut found = None;
    for r in records {
        let same: bool = r.sha256.as_bytes().ct_eq(hash.as_bytes()).into();
        if same && r.revoked.is_none() {
            found = Uscc::parse(&r.agency).ok();
        }
    }
    found
}

/// A token store problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Unreadable or unwritable.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Not a token store.
    #[error("{} is not a token store", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// No such token.
    #[error("no token with id {id}; `elicense agency token list` shows them")]
    Unknown {
        /// The id.
        id: String,
    },
    /// The random source failed.
    #[error("the system random source failed")]
    Randomness,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_never_look_like_command_line_options() {
        // Without the prefix 1 in 64 ids would start with `-`: 10,000 would show ~156.
        let rng = ring::rand::SystemRandom::new();
        for _ in 0..10_000 {
            let id = new_id(&rng).unwrap();
            assert!(id.starts_with(ID_PREFIX) && !id.starts_with('-'), "{id}");
        }
    }

    #[test]
    fn stored_ids_of_the_old_form_still_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let old = r#"[{"id":"-Ab3_x9Q","agency":"11350100MB00000012","sha256":"x","created":1}]"#;
        std::fs::write(dir.path().join(TOKENS_FILE), old).unwrap();
        assert_eq!(store.revoke("-Ab3_x9Q", 5).unwrap().revoked, Some(5));
    }

    #[test]
    fn tokens_authenticate_until_revoked_and_are_stored_only_as_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let store = TokenStore::new(dir.path());
        let a = Uscc::parse("11350100MB00000012").unwrap();
        let (rec, token) = store.create(&a, 1).unwrap();
        let text = std::fs::read_to_string(dir.path().join(TOKENS_FILE)).unwrap();
        assert!(!text.contains(&token), "the token itself is never stored");
        assert_eq!(authenticate(&store.load().unwrap(), &token), Some(a));
        assert_eq!(authenticate(&store.load().unwrap(), "elt_wrong"), None);
        store.revoke(&rec.id, 2).unwrap();
        assert_eq!(authenticate(&store.load().unwrap(), &token), None);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join(TOKENS_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
