//! `elicense issue`: a licence from a JSON request, recorded in the ledger, with its seal.

use super::io::{fail, parse_time, read_input, seal_path, write_output, Failure};
use super::ledger as cli_ledger;
use clap::Args;
use elicense::issue::Issuer;
use elicense::keys::KeyStore;
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
    } = args;
    let text = read_input(&request)?;
    let req: LicenceRequest = serde_json::from_str(&text).map_err(|e| {
        fail(
            format!("{}: not a valid licence request: {e}", request.display()),
            "see fixtures/requests/*.json for the request format",
        )
    })?;
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
    if let Some(p) = &seal_out {
        std::fs::write(p, format!("{}\n", issued.seal)).map_err(|e| {
            fail(
                format!("{}: {e}", p.display()),
                "the licence was issued; choose a writable --seal-out, or print the seal later with `elicense qr ID`",
            )
        })?;
    }
    if no_ledger {
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
