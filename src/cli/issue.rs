//! `elicense issue`: a licence from a JSON request, recorded in the ledger, with its seal.

use super::io::{fail, parse_time, read_input, seal_path, write_output, Failure};
use super::ledger as cli_ledger;
use clap::Args;
use elicense::issue::Issuer;
use elicense::jose::{Es256Signer, Jwk};
use elicense::keys::{self, KeyStore};
use elicense::licence::codes::Uscc;
use elicense::licence::LicenceRequest;
use std::path::{Path, PathBuf};

/// Arguments of `issue`.
#[derive(Args, Debug)]
pub struct IssueArgs {
    /// The request file, or - for standard input.
    pub request: PathBuf,
    /// The issuing agency's Unified Social Credit Code.
    #[arg(long)]
    pub agency: String,
    /// Where to write the licence (default: standard output). Its paper seal goes
    /// beside it, as <name>.seal.txt.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Where to write the paper seal (EL1:…, what the QR code holds); default: beside
    /// --out, or not written when the licence goes to standard output (the ledger
    /// keeps it: `elicense qr ID`).
    #[arg(long)]
    pub seal_out: Option<PathBuf>,
    /// Signing time, RFC 3339 or seconds since the epoch (default: now).
    #[arg(long)]
    pub at: Option<String>,
    /// Do not record the licence in the ledger (it then carries no status reference
    /// and can never be revoked).
    #[arg(long)]
    pub no_ledger: bool,
    /// The holder's public key, for key binding: the key file `elicense keygen --out`
    /// wrote, or its public JWK (the JSON `keygen` prints) in a file. Put into the
    /// request's `holder_key`.
    #[arg(long)]
    pub holder_key: Option<PathBuf>,
}

/// Runs `issue`.
pub fn issue(
    store: &KeyStore,
    data: &Path,
    public_url: &str,
    args: IssueArgs,
) -> Result<(), Failure> {
    let IssueArgs {
        request,
        agency,
        out,
        seal_out,
        at,
        no_ledger,
        holder_key,
    } = args;
    let text = read_input(&request)?;
    let mut req: LicenceRequest = serde_json::from_str(&text).map_err(|e| {
        fail(
            format!("{}: not a valid licence request: {e}", request.display()),
            "see fixtures/requests/*.json for the request format",
        )
    })?;
    if let Some(path) = &holder_key {
        let jwk = holder_jwk(path)?;
        match &req.holder_key {
            Some(k) if *k != jwk => {
                return Err(fail(
                    format!(
                        "{} already has another holder_key than {}",
                        request.display(),
                        path.display()
                    ),
                    "drop --holder-key, or remove holder_key from the request",
                ))
            }
            _ => req.holder_key = Some(jwk),
        }
    }
    let code = Uscc::parse(&agency)?;
    let issuer = Issuer::new(store.agency_key(&code)?)?;
    let iat = parse_time(at.as_deref())?;
    let issued = if no_ledger {
        issuer.issue(&req, iat)?
    } else {
        let ledger = cli_ledger::open_ledger(data)?;
        issuer.issue_recorded(&ledger, &req, iat, public_url, code.as_str())?
    };
    write_output(out.as_deref(), &issued.sd_jwt)?;
    let seal_out = seal_out.or_else(|| out.as_deref().map(seal_path));
    let seal_out = seal_out.filter(|_| !issued.seal.is_empty());
    if let Some(p) = &seal_out {
        std::fs::write(p, format!("{}\n", issued.seal)).map_err(|e| {
            fail(
                format!("{}: {e}", p.display()),
                "the licence was issued; choose a writable --seal-out, or print the seal later with `elicense qr ID`",
            )
        })?;
    }
    if issued.replayed {
        eprintln!(
            "already issued (same request): the licence recorded then, {} (signed {}); written again, nothing new recorded",
            issued.id,
            elicense::licence::format_time(issued.iat)
        );
    } else if no_ledger {
        eprintln!(
            "issued {} (not recorded: no status, cannot be revoked)",
            issued.id
        );
    } else {
        eprintln!("issued {} and recorded it in {}", issued.id, data.display());
    }
    match (&seal_out, no_ledger) {
        (Some(p), _) => eprintln!(
            "paper seal ({} characters) in {}; `elicense qr {} --out x.png` makes its QR code",
            issued.seal.len(),
            p.display(),
            p.display()
        ),
        (None, false) => eprintln!(
            "paper seal kept in the ledger; `elicense qr {} --out x.png` makes its QR code",
            issued.id
        ),
        (None, true) => eprintln!("paper seal not written (pass --seal-out)"),
    }
    Ok(())
}

/// The public JWK in `path`: a holder key PEM (from `elicense keygen --out`) or a JWK file.
fn holder_jwk(path: &Path) -> Result<Jwk, Failure> {
    let hint = "pass the key file `elicense keygen --out holder.key.pem` wrote, or a file with the public JWK it printed";
    let text = read_input(path)?;
    if text.contains("-----BEGIN") {
        // The same rule as agency keys: refused if group or others can read it.
        let pem = keys::read_secret(path)?;
        let der = keys::pem_decode_secret(&pem, "PRIVATE KEY").ok_or_else(|| {
            fail(
                format!("{} has no PEM PRIVATE KEY block", path.display()),
                hint,
            )
        })?;
        return Ok(Es256Signer::from_pkcs8(&der)?.public_key().to_jwk());
    }
    let jwk: Jwk = serde_json::from_str(&text)
        .map_err(|e| fail(format!("{}: not a JWK: {e}", path.display()), hint))?;
    if jwk.public_key().is_err() {
        return Err(fail(
            format!("{} is not an EC P-256 public key", path.display()),
            hint,
        ));
    }
    Ok(jwk)
}
