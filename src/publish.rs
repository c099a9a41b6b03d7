//! Publishing status lists: each agency's Token Status Lists, re-signed after changes.
//!
//! Signing is coalesced: [`StatusPublisher::refresh`] re-signs only the lists the ledger
//! reports changed since the previous refresh (however many changes that was), plus lists
//! whose token has used up half its validity or half its `ttl` (after which verifiers
//! holding a copy treat it as stale). The server calls it before serving a list (one
//! refresh at a time: a second caller waits for the lists the first is signing); the CLI
//! after a change.

use crate::issue::{status_list_uri, IssueError, Issuer};
use crate::ledger::{Ledger, LedgerError};
use crate::licence::codes::Uscc;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError, RwLock};

/// A signed status list, as served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The `statuslist+jwt` token.
    pub token: String,
    /// Its HTTP entity tag (quoted), from the token's SHA-256.
    pub etag: String,
    /// When it was signed.
    pub iat: i64,
    /// Seconds verifiers may cache it.
    pub ttl: u64,
}

/// Keeps every agency's current signed status lists.
#[derive(Debug)]
pub struct StatusPublisher {
    base_url: String,
    valid_for: i64,
    ttl: u64,
    tokens: RwLock<HashMap<(String, u32), Published>>,
    /// Held while a refresh signs, so concurrent callers wait for its lists.
    refreshing: Mutex<()>,
}

impl StatusPublisher {
    /// Lists published under `base_url`, valid for `valid_for` seconds, cacheable for `ttl`.
    pub fn new(base_url: impl Into<String>, valid_for: i64, ttl: u64) -> Self {
        Self {
            base_url: base_url.into(),
            valid_for: valid_for.max(1),
            ttl: ttl.max(1),
            tokens: RwLock::new(HashMap::new()),
            refreshing: Mutex::new(()),
        }
    }

    /// Re-signs the lists changed since the last refresh and those past half their
    /// validity or half their `ttl`, whichever comes first, with each list's own agency's key (`issuer_for`). Returns how many were
    /// signed. A list whose agency has no key here is skipped and stays changed; a list
    /// that fails to sign stays changed too, the others are signed, and the first error is
    /// returned.
    pub fn refresh<'i>(
        &self,
        ledger: &Ledger,
        issuer_for: &dyn Fn(&Uscc) -> Option<&'i Issuer>,
        now: i64,
    ) -> Result<usize, PublishError> {
        let _one_at_a_time = self
            .refreshing
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut todo = ledger.take_changed_lists();
        // Verifiers treat a list as stale after `ttl` (and expired at `exp`): re-signing at
        // half of the shorter keeps every served list usable for at least half of it.
        let ttl = i64::try_from(self.ttl).unwrap_or(i64::MAX);
        let max_age = self.valid_for.min(ttl) / 2;
        {
            let tokens = self.tokens.read().unwrap_or_else(PoisonError::into_inner);
            for (key, p) in tokens.iter() {
                if now >= p.iat + max_age && !todo.contains(key) {
                    todo.push(key.clone());
                }
            }
        }
        let mut signed = 0;
        let mut skipped = Vec::new();
        let mut first_error = None;
        for (issuer, list) in todo {
            match self.sign_one(ledger, issuer_for, &issuer, list, now) {
                Ok(true) => signed += 1,
                Ok(false) => skipped.push((issuer, list)),
                Err(e) => {
                    // One list failing does not hold up the others. It stays changed for
                    // the next refresh, unless it can never be signed (a corrupt entry).
                    if !matches!(e, PublishError::Corrupt { .. }) {
                        skipped.push((issuer, list));
                    }
                    first_error.get_or_insert(e);
                }
            }
        }
        ledger.mark_lists_changed(skipped);
        match first_error {
            Some(e) => Err(e),
            None => Ok(signed),
        }
    }

    /// Signs one list; `false` if its agency has no key here or the list is unknown.
    fn sign_one<'i>(
        &self,
        ledger: &Ledger,
        issuer_for: &dyn Fn(&Uscc) -> Option<&'i Issuer>,
        issuer: &str,
        list: u32,
        now: i64,
    ) -> Result<bool, PublishError> {
        let code = Uscc::parse(issuer).map_err(|_| PublishError::Corrupt {
            issuer: issuer.to_owned(),
        })?;
        let (Some(agency), Some(statuses)) = (issuer_for(&code), ledger.status_list(&code, list))
        else {
            return Ok(false);
        };
        let uri = status_list_uri(&self.base_url, issuer, list);
        let token = agency.sign_status_list(&statuses, &uri, now, self.valid_for, self.ttl)?;
        let etag = format!(
            "\"{}\"",
            &crate::jose::b64u_encode(crate::jose::sha256(token.as_bytes()))[..22]
        );
        self.tokens
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                (issuer.to_owned(), list),
                Published {
                    token,
                    etag,
                    iat: now,
                    ttl: self.ttl,
                },
            );
        Ok(true)
    }

    /// The current token of `issuer`'s list `list`.
    pub fn get(&self, issuer: &str, list: u32) -> Option<Published> {
        self.tokens
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(issuer.to_owned(), list))
            .cloned()
    }
}

/// Why publishing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Signing failed.
    #[error("could not sign a status list")]
    Sign(#[from] IssueError),
    /// The ledger failed.
    #[error("the ledger failed")]
    Ledger(#[from] LedgerError),
    /// A list under an issuer code that is not a USCC.
    #[error("the ledger has a status list for {issuer:?}, which is not a USCC; run `elicense ledger verify`")]
    Corrupt {
        /// The stored issuer.
        issuer: String,
    },
}
