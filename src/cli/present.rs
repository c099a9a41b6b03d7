//! `elicense present` (a presentation: chosen disclosures, optional key binding) and
//! `elicense keygen` (the holder key pair).

use super::io::{fail, read_input, write_output, Failure};
use clap::Args;
use elicense::jose::Es256Signer;
use elicense::keys;
use elicense::sdjwt::{self, Selection};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// Arguments of `present`.
#[derive(Args, Debug)]
pub struct PresentArgs {
    /// The issued licence, or - for standard input.
    pub licence: PathBuf,
    /// Claims to disclose, comma-separated (e.g. holder_name,business_scope). One of
    /// --disclose, --all or --none is required.
    #[arg(long, value_delimiter = ',', conflicts_with_all = ["all", "none"])]
    pub disclose: Vec<String>,
    /// Disclose every claim.
    #[arg(long, conflicts_with = "none")]
    pub all: bool,
    /// Disclose no claim: the presentation shows only what is always visible (type,
    /// issuer, identifier, validity).
    #[arg(long)]
    pub none: bool,
    /// Holder private key (from `elicense keygen`) to add a key-binding JWT; requires
    /// --aud and --nonce (the verifier's audience and nonce, which the JWT signs).
    #[arg(long, requires_all = ["aud", "nonce"])]
    pub holder_key: Option<PathBuf>,
    /// The verifier's audience, for key binding (with --holder-key and --nonce).
    #[arg(long, requires = "holder_key")]
    pub aud: Option<String>,
    /// The verifier's nonce, for key binding (with --holder-key and --aud).
    #[arg(long, requires = "holder_key")]
    pub nonce: Option<String>,
    /// Where to write the presentation (default: standard output).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

/// `keygen`: writes a new holder private key to `out`, prints its public JWK.
pub fn keygen(out: &Path) -> Result<(), Failure> {
    let (signer, der) = Es256Signer::generate()?;
    let pem = zeroize::Zeroizing::new(keys::pem_encode(&der, "PRIVATE KEY"));
    keys::write_new(out, pem.as_bytes(), 0o600)?;
    println!("{}", serde_json::to_string(&signer.public_key().to_jwk())?);
    Ok(())
}

/// Runs `present`.
pub fn present(args: PresentArgs) -> Result<(), Failure> {
    let text = read_input(&args.licence)?;
    let selection = if args.all {
        Selection::All
    } else if args.none {
        Selection::Nothing
    } else if args.disclose.is_empty() {
        // Silently writing a presentation that discloses nothing surprised people.
        let names = disclosable(text.trim());
        return Err(fail(
            "say which claims to disclose: none of --disclose, --all or --none was given",
            format!(
                "pass --disclose NAME,NAME (this licence can disclose: {}), --all, or --none for a presentation that discloses nothing",
                if names.is_empty() { "?".to_owned() } else { names.join(",") }
            ),
        ));
    } else {
        Selection::top_level(args.disclose.iter().map(String::as_str))
    };
    let holder = match &args.holder_key {
        Some(path) => {
            // The same rule as agency keys: refused if group or others can read it.
            let pem = keys::read_secret(path)?;
            let der = keys::pem_decode_secret(&pem, "PRIVATE KEY").ok_or_else(|| {
                fail(
                    format!("{} has no PEM PRIVATE KEY block", path.display()),
                    "create a holder key with `elicense keygen --out holder.key.pem`",
                )
            })?;
            Some(Es256Signer::from_pkcs8(&der)?)
        }
        None => None,
    };
    check_presentation(text.trim(), &args.disclose, holder.as_ref())?;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let kb = match (&holder, &args.aud, &args.nonce) {
        (Some(h), Some(aud), Some(nonce)) => Some((
            h,
            sdjwt::KeyBindingParams {
                aud,
                nonce,
                iat: now,
            },
        )),
        _ => None,
    };
    let out = sdjwt::present(text.trim(), &selection, kb)?;
    write_output(args.out.as_deref(), &out)
}

/// Refuses `--disclose` names the licence does not have and a holder key that is not the
/// one the licence is bound to: both would silently make a useless presentation.
fn check_presentation(
    text: &str,
    disclose: &[String],
    holder: Option<&Es256Signer>,
) -> Result<(), Failure> {
    let Ok(sd) = sdjwt::SdJwt::parse(text) else {
        return Ok(()); // sdjwt::present reports it
    };
    let payload = sd.unverified_payload().unwrap_or_default();
    let disclosable: std::collections::BTreeSet<String> = disclosable(text).into_iter().collect();
    let unknown: Vec<&str> = disclose
        .iter()
        .filter(|n| !disclosable.contains(n.as_str()) && !payload.contains_key(n.as_str()))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = disclosable.iter().map(String::as_str).collect();
        return Err(fail(
            format!("the licence has no claim {}", unknown.join(", ")),
            format!("it can disclose: {}", names.join(", ")),
        ));
    }
    if let Some(h) = holder {
        let bound = payload
            .get("cnf")
            .and_then(|c| c.get("jwk"))
            .and_then(|j| serde_json::from_value::<elicense::jose::Jwk>(j.clone()).ok())
            .and_then(|j| j.public_key().ok());
        match bound {
            None => return Err(fail(
                "the licence names no holder key (cnf), so it cannot be presented with key binding",
                "drop --holder-key, or have the licence re-issued with holder_key in the request",
            )),
            Some(k) if k != h.public_key() => return Err(fail(
                "--holder-key is not the key this licence is bound to",
                "use the key from the `elicense keygen` whose JWK was in the request's holder_key",
            )),
            Some(_) => {}
        }
    }
    Ok(())
}

/// The names of the claims the licence in `text` can disclose (none if it does not parse).
fn disclosable(text: &str) -> Vec<String> {
    let Ok(sd) = sdjwt::SdJwt::parse(text) else {
        return Vec::new();
    };
    let names: std::collections::BTreeSet<String> = sd
        .disclosures
        .iter()
        .filter_map(|d| sdjwt::decode_disclosure(d).ok()?.name)
        .collect();
    names.into_iter().collect()
}
