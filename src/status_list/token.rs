//! Status List Tokens: signing a list as a `statuslist+jwt`, and parsing, validating
//! and verifying one (draft-ietf-oauth-status-list §5, §8).

use super::*;

/// The claims of a Status List Token besides the list itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenClaims {
    /// `sub`: the list's URI, equal to the `uri` in the licences' [`StatusReference`].
    pub sub: String,
    /// `iat`: when the token was issued, seconds since the epoch.
    pub iat: i64,
    /// `exp`: when it stops being usable (recommended); must be after `iat`.
    pub exp: Option<i64>,
    /// `ttl`: how long, in seconds, it may be cached before refetching (recommended);
    /// must be positive.
    pub ttl: Option<u64>,
    /// `iss`, optional (the draft no longer requires it; the licences carry one).
    pub iss: Option<String>,
    /// `status_list.aggregation_uri`: where the issuer lists all its Status List Tokens.
    pub aggregation_uri: Option<String>,
}

#[derive(Serialize)]
struct PayloadOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    sub: &'a str,
    iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u64>,
    status_list: ListOut<'a>,
}

#[derive(Serialize)]
struct ListOut<'a> {
    bits: u8,
    lst: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    aggregation_uri: Option<&'a str>,
}

/// Signs `list` as a Status List Token.
///
/// `header` carries what the caller chooses (`kid`, `x5c`); `typ` is set to
/// `statuslist+jwt` and `alg` to `ES256` when absent. The header must pass the crate's
/// JWS policy (ES256 only; no `jwk`, `jku`, `x5u`, `crit`), so nothing is signed that
/// [`verify_token`] would refuse; the same holds for the claims and the token's size.
pub fn sign_token(
    list: &StatusList,
    claims: &TokenClaims,
    header: &Map<String, Value>,
    signer: &Es256Signer,
) -> Result<String, StatusListError> {
    check_uri(&claims.sub)?;
    if let Some(agg) = &claims.aggregation_uri {
        check_uri(agg)?;
    }
    if claims.ttl == Some(0) {
        return Err(StatusListError::InvalidClaim {
            name: "ttl",
            reason: "must be a positive number of seconds",
        });
    }
    if claims.exp.is_some_and(|exp| exp <= claims.iat) {
        return Err(StatusListError::InvalidClaim {
            name: "exp",
            reason: "must be after iat",
        });
    }
    let mut header = header.clone();
    header
        .entry("alg")
        .or_insert_with(|| Value::String(jose::ES256.into()));
    header.insert("typ".into(), Value::String(TYP.into()));
    let header = serde_json::to_vec(&header).map_err(StatusListError::Claims)?;
    jose::parse_header(&header).map_err(StatusListError::Jws)?;

    let lst = list.encode_lst()?;
    let payload = PayloadOut {
        iss: claims.iss.as_deref(),
        sub: &claims.sub,
        iat: claims.iat,
        exp: claims.exp,
        ttl: claims.ttl,
        status_list: ListOut {
            bits: list.bits(),
            lst: &lst,
            aggregation_uri: claims.aggregation_uri.as_deref(),
        },
    };
    let payload = serde_json::to_vec(&payload).map_err(StatusListError::Claims)?;
    let token = jose::sign_compact(&header, &payload, signer).map_err(StatusListError::Sign)?;
    if token.len() > MAX_TOKEN_LEN {
        return Err(StatusListError::TokenTooLarge {
            size: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    Ok(token)
}

/// What a relying party requires of a Status List Token (draft §8.3).
#[derive(Debug, Clone, Copy)]
pub struct Validation<'a> {
    expected_sub: &'a str,
    at: i64,
    max_age: Option<u64>,
    skew: i64,
    max_entries: usize,
}

impl<'a> Validation<'a> {
    /// The token must be about `expected_sub` (the `uri` of the licence's reference) and
    /// usable at `at` (seconds since the epoch). No skew, no `max_age`, at most
    /// [`MAX_ENTRIES`] entries.
    pub fn new(expected_sub: &'a str, at: i64) -> Self {
        Self {
            expected_sub,
            at,
            max_age: None,
            skew: 0,
            max_entries: MAX_ENTRIES,
        }
    }

    /// Local freshness policy (§8.3 4b): reject a token issued more than `seconds` ago.
    pub fn max_age(mut self, seconds: u64) -> Self {
        self.max_age = Some(seconds);
        self
    }

    /// Allowed clock skew for `nbf`, `iat`, `exp`, `ttl` and `max_age`, clamped to
    /// `0..=MAX_SKEW`.
    pub fn skew(mut self, seconds: i64) -> Self {
        self.skew = seconds.clamp(0, MAX_SKEW);
        self
    }

    /// Most entries accepted, clamped to [`MAX_ENTRIES`]: the inflate cap.
    pub fn max_entries(mut self, entries: usize) -> Self {
        self.max_entries = entries.min(MAX_ENTRIES);
        self
    }
}

/// A Status List Token whose header passed the policy checks and whose signature has
/// not been checked yet: read its header to choose the key, then [`UnverifiedToken::verify`].
#[derive(Debug, Clone)]
pub struct UnverifiedToken<'a> {
    pub(super) jws: UnverifiedJws<'a>,
}

/// Reads `token` with the one JWS reader ([`UnverifiedJws`]): its size, three canonical
/// base64url parts, its header policy (ES256; no `jwk`, `jku`, `x5u`, `crit`) and its
/// `typ`. The list itself is inflated only after the signature verifies.
///
/// `typ` must be `statuslist+jwt`, compared ASCII case-insensitively, with or without the
/// `application/` prefix (RFC 7515 §4.1.9).
pub fn parse_token(token: &str) -> Result<UnverifiedToken<'_>, StatusListError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(StatusListError::TokenTooLarge {
            size: token.len(),
            max: MAX_TOKEN_LEN,
        });
    }
    let jws = UnverifiedJws::parse_capped(token, MAX_TOKEN_LEN).map_err(StatusListError::Jws)?;
    let header = jws.header();
    let typ_ok = header.typ.as_deref().is_some_and(|t| {
        let t = strip_prefix_ignore_case(t, "application/").unwrap_or(t);
        t.eq_ignore_ascii_case(TYP)
    });
    if !typ_ok {
        return Err(StatusListError::WrongTyp {
            found: header.typ.clone(),
        });
    }
    Ok(UnverifiedToken { jws })
}

fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

#[derive(Deserialize)]
struct PayloadIn {
    #[serde(default)]
    iss: Option<String>,
    sub: String,
    iat: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    exp: Option<i64>,
    #[serde(default)]
    ttl: Option<u64>,
    status_list: ListIn,
}

#[derive(Deserialize)]
struct ListIn {
    bits: u64,
    lst: String,
    #[serde(default)]
    aggregation_uri: Option<String>,
}

impl UnverifiedToken<'_> {
    /// The protected header (already checked against the policy): `kid`, `x5c`.
    pub fn header(&self) -> &jose::Header {
        self.jws.header()
    }

    /// Verifies the signature with `key`, then the claims against `validation`, and only
    /// then inflates the list.
    pub fn verify(
        &self,
        key: &Es256PublicKey,
        validation: &Validation<'_>,
    ) -> Result<VerifiedStatusList, StatusListError> {
        let verified = self.jws.verify(key).map_err(|e| match e {
            JwsError::Signature(_) => StatusListError::BadSignature,
            other => StatusListError::Jws(other),
        })?;
        let p: PayloadIn =
            serde_json::from_slice(verified.payload()).map_err(StatusListError::Claims)?;
        check_bits(p.status_list.bits)?;
        if p.ttl == Some(0) {
            return Err(StatusListError::InvalidClaim {
                name: "ttl",
                reason: "must be a positive number of seconds",
            });
        }
        if p.sub != validation.expected_sub {
            return Err(StatusListError::SubMismatch {
                expected: validation.expected_sub.to_owned(),
                found: p.sub,
            });
        }
        check_times(&p, validation)?;
        // Signature and claims hold: only now is the list worth inflating.
        let bits = u8::try_from(p.status_list.bits).map_err(|_| StatusListError::InvalidBits {
            bits: p.status_list.bits,
        })?;
        let list = StatusList::decode_lst(bits, &p.status_list.lst, validation.max_entries)?;
        Ok(VerifiedStatusList {
            list,
            sub: p.sub,
            iss: p.iss,
            iat: p.iat,
            exp: p.exp,
            ttl: p.ttl,
            aggregation_uri: p.status_list.aggregation_uri,
            checked_at: validation.at,
        })
    }
}

fn check_times(p: &PayloadIn, v: &Validation<'_>) -> Result<(), StatusListError> {
    let at = v.at;
    let late = at.saturating_add(v.skew); // latest clock reading we grant the issuer
    let early = at.saturating_sub(v.skew); // earliest clock reading we grant the verifier
    if p.iat > late {
        return Err(StatusListError::NotYetValid {
            not_before: p.iat,
            at,
        });
    }
    if let Some(nbf) = p.nbf {
        if nbf > late {
            return Err(StatusListError::NotYetValid {
                not_before: nbf,
                at,
            });
        }
    }
    if let Some(exp) = p.exp {
        // RFC 7519 §4.1.4: not accepted on or after `exp`.
        if exp <= early {
            return Err(StatusListError::Expired { exp, at });
        }
    }
    if let Some(ttl) = p.ttl {
        if p.iat.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)) < early {
            return Err(StatusListError::Stale {
                iat: p.iat,
                ttl,
                at,
            });
        }
    }
    if let Some(max_age) = v.max_age {
        if p.iat
            .saturating_add(i64::try_from(max_age).unwrap_or(i64::MAX))
            < early
        {
            return Err(StatusListError::TooOld {
                iat: p.iat,
                max_age,
                at,
            });
        }
    }
    Ok(())
}

/// Verifies a Status List Token: [`parse_token`], then [`UnverifiedToken::verify`] with
/// `key` (which the caller chose, e.g. from the header's `x5c` chain or `kid`).
pub fn verify_token(
    token: &str,
    key: &Es256PublicKey,
    validation: &Validation<'_>,
) -> Result<VerifiedStatusList, StatusListError> {
    parse_token(token)?.verify(key, validation)
}

/// A status list whose token passed every check. Only [`UnverifiedToken::verify`] (and so
/// [`verify_token`]) can make one.
#[derive(Debug, Clone)]
pub struct VerifiedStatusList {
    list: StatusList,
    sub: String,
    iss: Option<String>,
    iat: i64,
    exp: Option<i64>,
    ttl: Option<u64>,
    aggregation_uri: Option<String>,
    checked_at: i64,
}

impl VerifiedStatusList {
    /// The status a licence's reference points to: its `uri` must be this list's `sub`
    /// and its `idx` inside the list (§8.3 step 6: otherwise no statement can be made).
    pub fn status(&self, reference: &StatusReference) -> Result<Status, StatusListError> {
        if reference.uri() != self.sub {
            return Err(StatusListError::SubMismatch {
                expected: reference.uri().to_owned(),
                found: self.sub.clone(),
            });
        }
        self.get(reference.idx())
    }

    /// The status of entry `idx`.
    pub fn get(&self, idx: u64) -> Result<Status, StatusListError> {
        usize::try_from(idx)
            .ok()
            .and_then(|i| self.list.get(i))
            .ok_or(StatusListError::IndexOutOfRange {
                index: idx,
                len: self.list.len(),
            })
    }

    /// The decoded list.
    pub fn list(&self) -> &StatusList {
        &self.list
    }

    /// `sub`: the list's URI.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// `iss`, if present.
    pub fn iss(&self) -> Option<&str> {
        self.iss.as_deref()
    }

    /// `iat`.
    pub fn issued_at(&self) -> i64 {
        self.iat
    }

    /// `exp`, if present.
    pub fn expires_at(&self) -> Option<i64> {
        self.exp
    }

    /// `ttl`, if present.
    pub fn ttl(&self) -> Option<u64> {
        self.ttl
    }

    /// `status_list.aggregation_uri`, if present.
    pub fn aggregation_uri(&self) -> Option<&str> {
        self.aggregation_uri.as_deref()
    }

    /// The time the checks were made for.
    pub fn checked_at(&self) -> i64 {
        self.checked_at
    }

    /// When to fetch a fresh copy at the latest: the earlier of `iat + ttl` and `exp`
    /// (§13.7); `None` when the token has neither.
    pub fn refresh_at(&self) -> Option<i64> {
        let by_ttl = self.ttl.map(|t| {
            self.iat
                .saturating_add(i64::try_from(t).unwrap_or(i64::MAX))
        });
        match (by_ttl, self.exp) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
