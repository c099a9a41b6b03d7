//! The SD-JWT VC profile of a licence (draft-ietf-oauth-sd-jwt-vc): how a checked
//! [`Licence`] becomes the members of an SD-JWT VC payload.
//!
//! Pure format code: no I/O, no clock. The licence model (`crate::licence`) knows
//! nothing of the encoding; this module maps it.

use crate::jose::Jwk;
use crate::licence::{Licence, HOLDER_ID, HOLDER_NAME};
use crate::sdjwt::Member;
use serde_json::Value;

pub use crate::licence::LICENCE_ID;

/// `typ` of an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc).
pub const TYP: &str = "dc+sd-jwt";

/// Claim name of the issuer URI.
pub const ISS: &str = "iss";
/// Claim name of the issuance time (seconds since the epoch).
pub const IAT: &str = "iat";
/// Claim name of the start of validity.
pub const NBF: &str = "nbf";
/// Claim name of the end of validity (exclusive); absent for a permanent licence.
pub const EXP: &str = "exp";
/// Claim name of the verifiable credential type.
pub const VCT: &str = "vct";
/// Claim name of the holder key confirmation (RFC 7800).
pub const CNF: &str = "cnf";
/// Claim name of the Token Status List reference.
pub const STATUS: &str = "status";

/// The registered claims: always in the signed payload, never selectively disclosable,
/// and read from the payload only (a disclosure may not reuse these names).
pub const REGISTERED: [&str; 8] = [ISS, IAT, NBF, EXP, VCT, LICENCE_ID, CNF, STATUS];

/// The `cnf` claim binding the holder key: `{"jwk": <public JWK>}` (RFC 7800 §3.2).
pub fn cnf(holder_key: &Jwk) -> Value {
    serde_json::json!({ "jwk": holder_key.to_public() })
}

impl Licence {
    /// The licence's claims for an SD-JWT VC: registered claims (and the status
    /// reference, if any) visible, holder data and face fields selectively disclosable.
    pub fn claims(
        &self,
        iss: &str,
        iat: i64,
        status: Option<&crate::status_list::StatusReference>,
    ) -> Vec<Member> {
        self.clone().into_claims(iss, iat, status)
    }

    /// [`claims`](Self::claims), moving the licence's strings instead of copying them.
    pub fn into_claims(
        self,
        iss: &str,
        iat: i64,
        status: Option<&crate::status_list::StatusReference>,
    ) -> Vec<Member> {
        let mut m = Vec::with_capacity(10 + self.fields.len());
        m.push(Member::plain(ISS, iss));
        m.push(Member::plain(IAT, iat));
        m.push(Member::plain(NBF, self.not_before));
        if let Some(exp) = self.not_after {
            m.push(Member::plain(EXP, exp));
        }
        m.push(Member::plain(VCT, self.licence_type.vct()));
        m.push(Member::plain(LICENCE_ID, self.id.to_string()));
        if let Some(status) = status {
            m.push(Member::plain(
                STATUS,
                serde_json::to_value(status).unwrap_or(Value::Null),
            ));
        }
        if let Some(k) = &self.holder_key {
            m.push(Member::plain(CNF, cnf(k)));
        }
        m.push(Member::disclosable(HOLDER_NAME, self.holder_name));
        m.push(Member::disclosable(HOLDER_ID, self.holder_id.as_str()));
        for (spec, v) in self.fields {
            m.push(Member::disclosable(spec.key, Value::String(v)));
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use crate::licence::tests::{agency, request};
    use crate::licence::HOLDER_ID;

    #[test]
    fn valid_request_builds_claims() {
        let l = request().validate(&agency()).unwrap();
        assert_eq!(l.not_before, 1_709_222_400); // 2024-03-01T00:00+08:00
        assert_eq!(l.not_after, Some(1_709_222_400 + 7305 * 86400)); // 2044-03-01T00:00+08:00
        let claims = l.claims("https://x", 1, None);
        assert!(claims.iter().any(|m| m.name == "exp" && !m.disclosable));
        assert!(claims.iter().any(|m| m.name == HOLDER_ID && m.disclosable));
    }

    #[test]
    fn permanent_licence_has_no_exp() {
        let mut r = request();
        r.valid_until = None;
        let l = r.validate(&agency()).unwrap();
        assert_eq!(l.not_after, None);
        assert!(!l
            .claims("https://x", 1, None)
            .iter()
            .any(|m| m.name == "exp"));
    }
}
