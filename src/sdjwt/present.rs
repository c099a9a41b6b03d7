//! Presentation: choosing the disclosures to reveal and assembling the presented SD-JWT (RFC 9901 §5).

use super::*;

/// What a holder chooses to disclose, as a tree shaped like the claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Disclose nothing here.
    Nothing,
    /// Disclose this and everything beneath it.
    All,
    /// Disclose this (if disclosable) and choose among an object's members.
    Object(BTreeMap<String, Selection>),
    /// Disclose this (if disclosable) and choose among an array's elements by position.
    Array(Vec<Selection>),
}

impl Selection {
    fn discloses(&self) -> bool {
        !matches!(self, Selection::Nothing)
    }

    fn member(&self, name: &str) -> &Selection {
        match self {
            Selection::All => &Selection::All,
            Selection::Object(m) => m.get(name).unwrap_or(&Selection::Nothing),
            _ => &Selection::Nothing,
        }
    }

    fn element(&self, i: usize) -> &Selection {
        match self {
            Selection::All => &Selection::All,
            Selection::Array(v) => v.get(i).unwrap_or(&Selection::Nothing),
            _ => &Selection::Nothing,
        }
    }

    /// Discloses exactly the named top-level claims (and everything beneath them).
    pub fn top_level<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        Selection::Object(
            names
                .into_iter()
                .map(|n| (n.to_owned(), Selection::All))
                .collect(),
        )
    }
}

/// Chooses the disclosures to present from an issued SD-JWT, by `selection`.
///
/// A disclosure nested inside another is presented only if its parent is.
pub fn select<'s>(
    sd_jwt: &'s SdJwt<'_>,
    selection: &Selection,
) -> Result<Vec<&'s str>, PresentError> {
    let payload = sd_jwt.unverified_payload().map_err(PresentError::Format)?;
    let mut by_digest = HashMap::with_capacity(sd_jwt.disclosures.len());
    for d in &sd_jwt.disclosures {
        let decoded = decode_disclosure(d).map_err(PresentError::Disclosure)?;
        by_digest.insert(disclosure_digest(d), (d.as_ref(), decoded));
    }
    let mut chosen = Vec::new();
    walk_select(
        &Value::Object(payload),
        selection,
        &by_digest,
        &mut chosen,
        0,
    )?;
    Ok(chosen)
}

type DigestTable<'s> = HashMap<String, (&'s str, Disclosure)>;

fn walk_select<'s>(
    value: &Value,
    sel: &Selection,
    table: &DigestTable<'s>,
    chosen: &mut Vec<&'s str>,
    depth: usize,
) -> Result<(), PresentError> {
    if depth > MAX_DEPTH {
        return Err(PresentError::Disclosure(DisclosureError::TooDeep {
            max: MAX_DEPTH,
        }));
    }
    match value {
        Value::Object(o) => {
            if let Some(Value::Array(digests)) = o.get("_sd") {
                for d in digests {
                    let Some((enc, disc)) = d.as_str().and_then(|d| table.get(d)) else {
                        continue; // a decoy, or a disclosure the holder does not have
                    };
                    let name = disc.name.as_deref().unwrap_or_default();
                    let sub = sel.member(name);
                    if sub.discloses() {
                        chosen.push(enc);
                        walk_select(&disc.value, sub, table, chosen, depth + 1)?;
                    }
                }
            }
            for (k, v) in o {
                if k != "_sd" {
                    walk_select(v, sel.member(k), table, chosen, depth + 1)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let sub = sel.element(i);
                match ellipsis_digest(item) {
                    Some(digest) => {
                        let digest = digest.map_err(PresentError::Disclosure)?;
                        if let Some((enc, disc)) = table.get(digest) {
                            if sub.discloses() {
                                chosen.push(enc);
                                walk_select(&disc.value, sub, table, chosen, depth + 1)?;
                            }
                        }
                    }
                    None => walk_select(item, sub, table, chosen, depth + 1)?,
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// What a KB-JWT proves: the holder, this audience, this nonce, at this time.
#[derive(Debug, Clone, Copy)]
pub struct KeyBindingParams<'a> {
    /// The verifier the presentation is for.
    pub aud: &'a str,
    /// The verifier's nonce.
    pub nonce: &'a str,
    /// Presentation time, seconds since the epoch.
    pub iat: i64,
}

/// Builds a presentation: the chosen disclosures and, if `kb` is given, a KB-JWT signed
/// with the holder's key. The result is in the same serialization as `issued`.
pub fn present(
    issued: &str,
    selection: &Selection,
    kb: Option<(&Es256Signer, KeyBindingParams<'_>)>,
) -> Result<String, PresentError> {
    let sd_jwt = SdJwt::parse(issued).map_err(PresentError::Format)?;
    if sd_jwt.kb_jwt.is_some() {
        return Err(PresentError::AlreadyBound);
    }
    let chosen: Vec<Cow<'_, str>> = select(&sd_jwt, selection)?
        .into_iter()
        .map(|s| Cow::Owned(s.to_owned()))
        .collect();
    let mut presentation = SdJwt {
        disclosures: chosen,
        kb_jwt: None,
        ..sd_jwt.clone()
    };
    if let Some((holder, params)) = kb {
        let kb_jwt = key_binding_jwt(&presentation.sd_hash_input(), holder, params)?;
        presentation.kb_jwt = Some(Cow::Owned(kb_jwt));
    }
    Ok(match presentation.serialization {
        Serialization::Compact => presentation.to_compact(),
        Serialization::JsonFlattened => presentation.to_json_flattened().to_string(),
        Serialization::JsonGeneral => presentation.to_json_general().to_string(),
    })
}

/// Why a presentation could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PresentError {
    /// The issued SD-JWT is malformed.
    #[error("the licence is malformed")]
    Format(#[source] FormatError),
    /// A disclosure of the issued SD-JWT is malformed.
    #[error("a disclosure is malformed")]
    Disclosure(#[source] DisclosureError),
    /// The input already carries a KB-JWT.
    #[error("the input is already a presentation with key binding; start from the issued licence")]
    AlreadyBound,
    /// Signing the KB-JWT failed.
    #[error("signing the key-binding JWT failed")]
    Key(#[source] jose::KeyError),
}
