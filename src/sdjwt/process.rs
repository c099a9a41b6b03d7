//! Processing disclosures against the signed payload's digests (RFC 9901 §7.1).

use super::*;

/// Replaces digests by the disclosed claims (RFC 9901 §7.1 steps 3–5).
///
/// Strict: every disclosure must be referenced exactly once; a digest may appear only
/// once; a disclosed name may not collide with a visible one; `_sd_alg` must be
/// `sha-256`. Returns the processed claims without `_sd` and `_sd_alg`.
pub fn process_disclosures(
    mut payload: Map<String, Value>,
    disclosures: &[Cow<'_, str>],
) -> Result<Map<String, Value>, DisclosureError> {
    match payload.remove("_sd_alg") {
        None => {}
        Some(Value::String(a)) if a == SD_ALG => {}
        Some(other) => {
            return Err(DisclosureError::UnsupportedDigestAlgorithm {
                alg: other.to_string(),
            })
        }
    }
    // Sorted by digest, looked up by binary search: cheaper than hashing for the few
    // dozen disclosures a licence has, and bounded by MAX_DISCLOSURES.
    let mut buf = Vec::with_capacity(256);
    let mut table: Vec<([u8; 32], usize, Option<Claimed>)> = disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| {
            Ok((
                jose::sha256(d.as_bytes()),
                i,
                Some(decode_claimed(d, &mut buf)?),
            ))
        })
        .collect::<Result<_, DisclosureError>>()?;
    table.sort_unstable_by_key(|e| e.0);
    if let Some(w) = table.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(DisclosureError::Duplicate {
            index: w[0].1.max(w[1].1),
        });
    }
    let mut p = Processor {
        table,
        seen: Vec::new(),
    };
    let mut root = Value::Object(payload);
    p.value(&mut root, 0)?;
    // Every digest may appear once in the payload, counting those inside disclosures.
    p.seen.sort_unstable();
    if let Some(w) = p.seen.windows(2).find(|w| w[0] == w[1]) {
        return Err(DisclosureError::DuplicateDigest {
            digest: b64u_encode(w[0]),
        });
    }
    if let Some(index) = p
        .table
        .iter()
        .filter(|(_, _, d)| d.is_some())
        .map(|(_, i, _)| *i)
        .min()
    {
        return Err(DisclosureError::Unreferenced { index });
    }
    match root {
        Value::Object(o) => Ok(o),
        _ => Err(DisclosureError::Malformed {
            reason: "payload is not an object",
        }),
    }
}

struct Processor {
    table: Vec<([u8; 32], usize, Option<Claimed>)>,
    seen: Vec<[u8; 32]>,
}

fn digest_bytes(digest: &str) -> Result<[u8; 32], DisclosureError> {
    let mut out = [0u8; 32];
    match base64::Engine::decode_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        digest,
        &mut out,
    ) {
        Ok(32) if digest.len() == 43 => Ok(out),
        _ => Err(DisclosureError::Malformed {
            reason: "a digest is not a base64url SHA-256 value",
        }),
    }
}

impl Processor {
    fn take(&mut self, digest: &str) -> Result<Option<Claimed>, DisclosureError> {
        let key = digest_bytes(digest)?;
        if self.seen.len() >= MAX_DIGESTS {
            return Err(DisclosureError::TooManyDigests { max: MAX_DIGESTS });
        }
        self.seen.push(key);
        // A repeated digest finds its disclosure already taken; the repeat is reported
        // once every digest has been seen.
        Ok(self
            .table
            .binary_search_by(|e| e.0.cmp(&key))
            .ok()
            .and_then(|i| self.table[i].2.take()))
    }

    fn value(&mut self, v: &mut Value, depth: usize) -> Result<(), DisclosureError> {
        if depth > MAX_DEPTH {
            return Err(DisclosureError::TooDeep { max: MAX_DEPTH });
        }
        match v {
            Value::Object(o) => self.object(o, depth),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for mut item in std::mem::take(items) {
                    let digest = match ellipsis_digest(&item) {
                        Some(d) => Some(d?.to_owned()),
                        None => None,
                    };
                    match digest {
                        Some(d) => {
                            if let Some(disc) = self.take(&d)? {
                                if disc.name.is_some() {
                                    return Err(DisclosureError::WrongKind {
                                        expected: "array element",
                                    });
                                }
                                let mut value = disc.value;
                                self.value(&mut value, depth + 1)?;
                                out.push(value);
                            }
                        }
                        None => {
                            self.value(&mut item, depth + 1)?;
                            out.push(item);
                        }
                    }
                }
                *items = out;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn object(&mut self, o: &mut Map<String, Value>, depth: usize) -> Result<(), DisclosureError> {
        let sd = o.remove("_sd");
        for (_, v) in o.iter_mut() {
            self.value(v, depth + 1)?;
        }
        let Some(sd) = sd else { return Ok(()) };
        let Value::Array(digests) = sd else {
            return Err(DisclosureError::Malformed {
                reason: "_sd is not an array",
            });
        };
        for d in digests {
            let Value::String(d) = d else {
                return Err(DisclosureError::Malformed {
                    reason: "_sd holds a non-string",
                });
            };
            let Some(disc) = self.take(&d)? else { continue };
            let Some(name) = disc.name else {
                return Err(DisclosureError::WrongKind {
                    expected: "object member",
                });
            };
            if o.contains_key(&name) {
                return Err(DisclosureError::NameConflict { name });
            }
            let mut value = disc.value;
            self.value(&mut value, depth + 1)?;
            o.insert(name, value);
        }
        Ok(())
    }
}
