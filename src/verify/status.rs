//! A licence's revocation status: from the ledger at hand, or from cached status lists.

use super::error::VerifyError;
use super::verified::LicenceStatus;
use super::verifier::{Options, StatusCheck, Verifier};
use crate::ledger::{LicenceState, Reason};
use crate::licence::identifier::LicenceId;
use crate::pki::IssuerInfo;
use crate::status_list::{self, Status, StatusReference};

impl Verifier {
    pub(super) fn check_status(
        &self,
        id: &LicenceId,
        issuer: &IssuerInfo,
        reference: Option<&StatusReference>,
        opts: &Options<'_>,
    ) -> Result<LicenceStatus, VerifyError> {
        let unknown = |reason: String| Ok(LicenceStatus::Unknown { reason });
        match opts.status {
            StatusCheck::NotChecked => Ok(LicenceStatus::NotChecked),
            StatusCheck::Ledger(ledger) => {
                let record = match ledger.record(&id.to_string()) {
                    Ok(Some(r)) => r,
                    Ok(None) => return unknown("this ledger has no record of the licence".into()),
                    Err(e) => return unknown(format!("the ledger could not be read: {e}")),
                };
                if record.issuer != issuer.agency.code.as_str()
                    || reference.is_some_and(|r| r.idx() != record.idx)
                {
                    return unknown(
                        "the ledger records another licence under this identifier".into(),
                    );
                }
                let when = record.changed_at;
                match record.state {
                    LicenceState::Valid => Ok(LicenceStatus::Valid {
                        source: "ledger",
                        as_of: opts.at,
                    }),
                    LicenceState::Revoked => Err(VerifyError::Revoked {
                        at: when,
                        from_list: false,
                        reason: record.reason.unwrap_or(Reason::Unspecified),
                        admin_status: record.admin_status,
                    }),
                    LicenceState::Suspended => Err(VerifyError::Suspended {
                        at: when,
                        from_list: false,
                        reason: record.reason.unwrap_or(Reason::CertificateHold),
                        admin_status: record.admin_status,
                    }),
                }
            }
            StatusCheck::Lists(tokens) => {
                let Some(reference) = reference else {
                    return unknown("the licence carries no status-list reference".into());
                };
                let mut last_problem = None;
                for token in tokens {
                    match self.read_status_list(token, reference, issuer, opts.at) {
                        Ok(Some(list)) => {
                            return match list.status(reference) {
                                Ok(Status::Valid) => Ok(LicenceStatus::Valid {
                                    source: "status_list",
                                    as_of: list.issued_at(),
                                }),
                                Ok(Status::Invalid) => Err(VerifyError::Revoked {
                                    at: list.issued_at(),
                                    from_list: true,
                                    reason: Reason::Unspecified,
                                    admin_status: None,
                                }),
                                Ok(Status::Suspended) => Err(VerifyError::Suspended {
                                    at: list.issued_at(),
                                    from_list: true,
                                    reason: Reason::CertificateHold,
                                    admin_status: None,
                                }),
                                Ok(other) => unknown(format!(
                                    "the status list gives the application-specific status {}",
                                    other.as_u8()
                                )),
                                Err(e) => unknown(format!("the status list cannot answer: {e}")),
                            };
                        }
                        Ok(None) => {}
                        Err(problem) => last_problem = Some(problem),
                    }
                }
                unknown(last_problem.unwrap_or_else(|| {
                    format!("no status list for {} is at hand", reference.uri())
                }))
            }
        }
    }

    /// A status-list token for `reference`, if `token` is one: signed by a certificate of
    /// the licence's own agency that chains to a trusted root, fresh at `at`.
    /// `Ok(None)` when the token is for another list; `Err` says why a token for this list
    /// cannot be used (stale, expired, not the agency's …).
    fn read_status_list(
        &self,
        token: &str,
        reference: &StatusReference,
        issuer: &IssuerInfo,
        at: i64,
    ) -> Result<Option<status_list::VerifiedStatusList>, String> {
        let Ok(unverified) = status_list::parse_token(token) else {
            return Ok(None);
        };
        let header = unverified.header();
        let Ok(candidates) = self
            .trust
            .candidates(header.x5c.as_deref(), header.kid_str())
        else {
            return Ok(None);
        };
        let validation = status_list::Validation::new(reference.uri(), at).skew(self.skew);
        let mut last = None;
        for candidate in &candidates {
            match unverified.verify(candidate.public_key(), &validation) {
                Ok(list) => {
                    let signer = self
                        .trust
                        .validate(candidate, list.issued_at())
                        .map_err(|e| format!("the status list's signer is not trusted: {e}"))?;
                    if signer.agency.code != issuer.agency.code {
                        return Err(format!(
                            "the status list for {} is signed by {}, not by the licence's issuer",
                            reference.uri(),
                            signer.agency.code
                        ));
                    }
                    return Ok(Some(list));
                }
                Err(status_list::StatusListError::SubMismatch { .. }) => return Ok(None),
                // Not this candidate's signature: try the next one.
                Err(e @ status_list::StatusListError::BadSignature) => last = Some(e),
                // Signed by this candidate but unusable (stale, expired, …): that is the
                // reason, not another candidate's bad signature.
                Err(e) => return Err(unusable(reference, &e)),
            }
        }
        match last {
            Some(e) => Err(unusable(reference, &e)),
            None => Ok(None),
        }
    }
}

fn unusable(reference: &StatusReference, e: &status_list::StatusListError) -> String {
    format!(
        "the status list for {} cannot be used: {e}",
        reference.uri()
    )
}
