//! `elicense` — issue and verify electronic licences (电子证照).
//!
//! Exit codes: 0 valid (or success), 1 invalid licence, 2 error.
//!
//! This file holds the command line's clap types and the dispatch; each command lives in
//! its own module under `cli/`.

mod cli;

use clap::{Parser, Subcommand};
use cli::io::{report, Failure};
use cli::{agency, demo, issue, ledger, present, qr, serve, verify};
use elicense::keys::KeyStore;
use elicense::ledger::Action;
use std::path::PathBuf;
use std::process::ExitCode;

const AFTER_HELP: &str = "\
Exit codes: 0 valid (or done), 1 the licence is invalid, 2 an error (bad input, missing keys…).

Quick start:
  elicense init                                   # root CA in keys/
  elicense agency add --name 示例市市场监督管理局 --code 11350100MB00000012
  elicense issue fixtures/requests/business_licence.json --agency 11350100MB00000012 --out bl.sdjwt
  elicense verify bl.sdjwt                        # or the paper seal: elicense verify bl.seal.txt
  elicense qr bl.seal.txt --out bl.png            # its QR code, for printing
  elicense present bl.sdjwt --disclose holder_name,business_scope --out shown.sdjwt";

/// Issue and verify electronic licences (电子证照) as SD-JWT VCs under an agency PKI.
#[derive(Parser, Debug)]
#[command(name = "elicense", version, after_help = AFTER_HELP)]
struct Cli {
    /// Key store directory (root CA and agency keys) [default: keys].
    #[arg(long, global = true, env = "ELICENSE_KEYS")]
    keys: Option<PathBuf>,
    /// Ledger directory (sled database of issuances and status changes) [default: data].
    #[arg(long, global = true, env = "ELICENSE_DATA")]
    data: Option<PathBuf>,
    /// Public base URL of this service, used in licences' status-list URIs
    /// [default: http://127.0.0.1:8080].
    #[arg(long, global = true, env = "ELICENSE_PUBLIC_URL")]
    public_url: Option<String>,
    /// The ledger's log name (origin line of its signed checkpoints)
    /// [default: elicense.example/ledger].
    #[arg(long, global = true, env = "ELICENSE_LOG_ORIGIN")]
    log_origin: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the root CA (P-256, CA:true, pathLen 0) in the key store. Never overwrites.
    Init {
        /// The root CA's name.
        #[arg(long, default_value = "elicense 演示根证书 Demo Root CA")]
        name: String,
        /// Validity in years.
        #[arg(long, default_value_t = 20)]
        years: u16,
    },
    /// Manage issuing agencies.
    #[command(subcommand)]
    Agency(agency::AgencyCommand),
    /// Issue a licence from a JSON request (see fixtures/requests/ for examples).
    Issue(issue::IssueArgs),
    /// Revoke a licence for good (撤销 / 吊销 / 注销).
    Revoke(ledger::ChangeArgs),
    /// Suspend a licence (暂扣) until it is reinstated.
    Suspend(ledger::ChangeArgs),
    /// Reinstate a suspended licence.
    Reinstate(ledger::ChangeArgs),
    /// Show a licence's status and history from the ledger.
    Status(ledger::StatusArgs),
    /// Write a licence's paper seal as a QR code (PNG or SVG) for printing.
    Qr(qr::QrArgs),
    /// The ledger: verify its integrity, sign checkpoints, print proofs.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// Status lists: sign and export an agency's Token Status List.
    #[command(subcommand, name = "status-list")]
    StatusList(ledger::StatusListCommand),
    /// Build a presentation: choose which claims to disclose, optionally with key binding.
    Present(present::PresentArgs),
    /// Create a holder key pair (for key binding): writes the private key, prints the public JWK.
    Keygen {
        /// Where to write the private key (PKCS#8 PEM, mode 0600; never overwritten).
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Verify a licence or presentation and print the verdict.
    #[command(after_help = verify::AFTER_HELP)]
    Verify(verify::VerifyArgs),
    /// Serve the HTTP API (verification, status, status lists, trust list, agency API);
    /// creates the demo PKI in the key store and the ledger if there are none.
    #[command(after_help = serve::SERVE_HELP)]
    Serve(serve::ServeArgs),
    /// Create a demo PKI if missing, issue the fixture licences into the ledger, verify them,
    /// revoke one, print verdicts.
    Demo,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(f) => {
            report(&f);
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    if let Command::Serve(args) = cli.command {
        return serve::serve(cli.keys, cli.data, cli.public_url, cli.log_origin, args);
    }
    let keys_dir = cli.keys.unwrap_or_else(|| "keys".into());
    let data_dir = cli.data.unwrap_or_else(|| "data".into());
    let public_url = cli
        .public_url
        .unwrap_or_else(|| elicense::settings::DEFAULT_PUBLIC_URL.into());
    let log_origin = cli
        .log_origin
        .unwrap_or_else(|| elicense::settings::DEFAULT_LOG_ORIGIN.into());
    let store = KeyStore::new(&keys_dir);
    let data = data_dir.as_path();
    match cli.command {
        Command::Init { name, years } => agency::init(&store, &name, years)?,
        Command::Agency(cmd) => agency::agency(&store, cmd)?,
        Command::Issue(args) => issue::issue(&store, data, &public_url, args)?,
        Command::Present(args) => present::present(args)?,
        Command::Keygen { out } => present::keygen(&out)?,
        Command::Revoke(args) => return ledger::change(data, Action::Revoke, &args),
        Command::Suspend(args) => return ledger::change(data, Action::Suspend, &args),
        Command::Reinstate(args) => return ledger::change(data, Action::Reinstate, &args),
        Command::Status(args) => return ledger::status(data, &args),
        Command::Qr(args) => return qr::qr(&store, data, &args),
        Command::Ledger(cmd) => return ledger::ledger(data, &store, &log_origin, &cmd),
        Command::StatusList(cmd) => return ledger::status_list(data, &store, &public_url, &cmd),
        Command::Verify(args) => return verify::verify(&store, data, args),
        Command::Demo => return demo::demo(&store, data, &public_url),
        // Handled above, before the defaults.
        Command::Serve(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}
