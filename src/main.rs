//! `elicense` — issue and verify electronic licences (电子证照).
//!
//! Exit codes: 0 valid (or success), 1 invalid licence, 2 error.

mod cli_ledger;
mod cli_qr;

use clap::{Args, Parser, Subcommand};
use elicense::issue::Issuer;
use elicense::jose::Es256Signer;
use elicense::keys::{self, KeyStore};
use elicense::ledger::Action;
use elicense::licence::codes::Uscc;
use elicense::licence::{self, LicenceRequest};
use elicense::pki::AgencyIdentity;
use elicense::sdjwt::{self, Selection};
use elicense::verify::{self, error_chain, LicenceStatus, Options, StatusCheck, Verifier};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use time::OffsetDateTime;

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
    Agency(AgencyCommand),
    /// Issue a licence from a JSON request (see fixtures/requests/ for examples).
    Issue {
        /// The request file, or - for standard input.
        request: PathBuf,
        /// The issuing agency's Unified Social Credit Code.
        #[arg(long)]
        agency: String,
        /// Where to write the licence (default: standard output). Its paper seal goes
        /// beside it, as <name>.seal.txt.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Where to write the paper seal (EL1:…, what the QR code holds); default: beside
        /// --out, or not written when the licence goes to standard output (the ledger
        /// keeps it: `elicense qr ID`).
        #[arg(long)]
        seal_out: Option<PathBuf>,
        /// Signing time, RFC 3339 or seconds since the epoch (default: now).
        #[arg(long)]
        at: Option<String>,
        /// Do not record the licence in the ledger (it then carries no status reference
        /// and can never be revoked).
        #[arg(long)]
        no_ledger: bool,
    },
    /// Revoke a licence for good (撤销 / 吊销 / 注销).
    Revoke(cli_ledger::ChangeArgs),
    /// Suspend a licence (暂扣) until it is reinstated.
    Suspend(cli_ledger::ChangeArgs),
    /// Reinstate a suspended licence.
    Reinstate(cli_ledger::ChangeArgs),
    /// Show a licence's status and history from the ledger.
    Status(cli_ledger::StatusArgs),
    /// Write a licence's paper seal as a QR code (PNG or SVG) for printing.
    Qr(cli_qr::QrArgs),
    /// The ledger: verify its integrity, sign checkpoints, print proofs.
    #[command(subcommand)]
    Ledger(cli_ledger::LedgerCommand),
    /// Status lists: sign and export an agency's Token Status List.
    #[command(subcommand, name = "status-list")]
    StatusList(cli_ledger::StatusListCommand),
    /// Build a presentation: choose which claims to disclose, optionally with key binding.
    Present(PresentArgs),
    /// Create a holder key pair (for key binding): writes the private key, prints the public JWK.
    Keygen {
        /// Where to write the private key (PKCS#8 PEM, mode 0600; never overwritten).
        #[arg(long, short)]
        out: PathBuf,
    },
    /// Verify a licence or presentation and print the verdict.
    #[command(
        after_help = "Exit codes: 0 valid, 1 the licence is invalid, 2 an error (bad input, missing keys…)."
    )]
    Verify(VerifyArgs),
    /// Serve the HTTP API (verification, status, status lists, trust list, agency API);
    /// creates the demo PKI in the key store and the ledger if there are none.
    #[command(after_help = SERVE_HELP)]
    Serve(ServeArgs),
    /// Create a demo PKI if missing, issue the fixture licences into the ledger, verify them,
    /// revoke one, print verdicts.
    Demo,
}

#[derive(Subcommand, Debug)]
enum AgencyCommand {
    /// Create an agency issuer certificate under the root CA. Never overwrites.
    Add {
        /// The agency's name, e.g. 示例市市场监督管理局.
        #[arg(long)]
        name: String,
        /// The agency's Unified Social Credit Code (统一社会信用代码).
        #[arg(long)]
        code: String,
        /// The agency's issuer identifier (`iss`); default https://elicense.example/agencies/<code>.
        #[arg(long)]
        uri: Option<String>,
        /// Validity in years.
        #[arg(long, default_value_t = 5)]
        years: u16,
    },
    /// List the agencies in the key store.
    List,
    /// Manage the agency API's bearer tokens (stored only as hashes).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a token for an agency; it is printed once and stored only as a hash.
    Create {
        /// The agency (USCC).
        #[arg(long)]
        agency: String,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token id (from `create` or `list`).
        id: String,
    },
    /// List tokens (ids, agencies, dates; never the tokens).
    List,
}

#[derive(Args, Debug)]
struct PresentArgs {
    /// The issued licence, or - for standard input.
    licence: PathBuf,
    /// Claims to disclose, comma-separated (e.g. holder_name,business_scope).
    #[arg(long, value_delimiter = ',', conflicts_with = "all")]
    disclose: Vec<String>,
    /// Disclose every claim.
    #[arg(long)]
    all: bool,
    /// Holder private key (from `elicense keygen`) to add a key-binding JWT.
    #[arg(long, requires_all = ["aud", "nonce"])]
    holder_key: Option<PathBuf>,
    /// The verifier's audience, for key binding.
    #[arg(long, requires = "holder_key")]
    aud: Option<String>,
    /// The verifier's nonce, for key binding.
    #[arg(long, requires = "holder_key")]
    nonce: Option<String>,
    /// Where to write the presentation (default: standard output).
    #[arg(long, short)]
    out: Option<PathBuf>,
}

const SERVE_HELP: &str = "\
Settings come from, highest first: flags, environment variables (ELICENSE_*), the TOML file
given with --config (see elicense.example.toml for every key), built-in defaults.

Agencies call the agency API with a bearer token: elicense agency token create --agency <USCC>
Stop with Ctrl-C or SIGTERM: requests in flight finish and the ledger is flushed.";

/// `serve` settings; each overrides the settings file.
#[derive(Args, Debug)]
struct ServeArgs {
    /// Settings file (TOML); see elicense.example.toml.
    #[arg(long, env = "ELICENSE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "ELICENSE_BIND")]
    bind: Option<String>,
    /// Request logs on standard error [default: text].
    #[arg(long, env = "ELICENSE_LOG_FORMAT")]
    log_format: Option<elicense::settings::LogFormat>,
    /// Requests handled at once; more get 503 at once [default: 512].
    #[arg(long, env = "ELICENSE_MAX_CONCURRENT")]
    max_concurrent: Option<usize>,
    /// Seconds before a request is answered 408 [default: 10].
    #[arg(long, env = "ELICENSE_TIMEOUT_SECS")]
    timeout_secs: Option<u64>,
    /// Largest request body in bytes [default: 131072].
    #[arg(long, env = "ELICENSE_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Most licences in one batch issuance [default: 100].
    #[arg(long, env = "ELICENSE_MAX_BATCH")]
    max_batch: Option<usize>,
    /// Public endpoints: requests per second per client address, 0 for no limit [default: 100].
    #[arg(long, env = "ELICENSE_RATE_PER_SECOND")]
    rate_per_second: Option<u32>,
    /// Public endpoints: burst per client address [default: 200].
    #[arg(long, env = "ELICENSE_RATE_BURST")]
    rate_burst: Option<u32>,
    /// Connections open at once; more get 503 and are closed. Keep it below the open-file
    /// limit (ulimit -n) [default: 768].
    #[arg(long, env = "ELICENSE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Connections open at once from one client address; more get 429 [default: 64].
    #[arg(long, env = "ELICENSE_MAX_CONNECTIONS_PER_CLIENT")]
    max_connections_per_client: Option<usize>,
    /// Seconds a client may take to send a request's headers [default: 10].
    #[arg(long, env = "ELICENSE_HEADER_READ_TIMEOUT_SECS")]
    header_read_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection is kept open [default: 60].
    #[arg(long, env = "ELICENSE_IDLE_TIMEOUT_SECS")]
    idle_timeout_secs: Option<u64>,
    /// Seconds a relying party may cache a status list (its ttl) [default: 3600].
    #[arg(long, env = "ELICENSE_STATUS_LIST_TTL")]
    status_list_ttl: Option<u64>,
    /// Seconds a signed status list stays valid [default: 86400].
    #[arg(long, env = "ELICENSE_STATUS_LIST_VALIDITY")]
    status_list_validity: Option<u64>,
    /// The ledger's page cache in MiB, the bound on its memory under write load [default: 64].
    #[arg(long, env = "ELICENSE_LEDGER_CACHE_MB")]
    ledger_cache_mb: Option<u64>,
    /// Free MiB on the ledger's filesystem below which /readyz answers 503 [default: 32].
    #[arg(long, env = "ELICENSE_LEDGER_MIN_FREE_MB")]
    ledger_min_free_mb: Option<u64>,
    /// Log one in N successful requests (1 = all, 0 = none); failures are always logged [default: 1].
    #[arg(long, env = "ELICENSE_REQUEST_LOG_SAMPLE")]
    request_log_sample: Option<u32>,
}

#[derive(Args, Debug)]
struct VerifyArgs {
    /// The licence or presentation file, or - for standard input.
    input: PathBuf,
    /// Verification time, RFC 3339 or seconds since the epoch (default: now).
    #[arg(long)]
    at: Option<String>,
    /// Allowed clock skew in seconds (at most 3600).
    #[arg(long, default_value_t = verify::DEFAULT_SKEW,
          value_parser = clap::value_parser!(i64).range(0..=verify::MAX_SKEW))]
    skew: i64,
    /// Print the verdict as JSON.
    #[arg(long)]
    json: bool,
    /// Require key binding to this audience.
    #[arg(long)]
    aud: Option<String>,
    /// Require key binding with this nonce.
    #[arg(long)]
    nonce: Option<String>,
    /// Trust these root certificates (PEM) instead of the key store's.
    #[arg(long)]
    root: Vec<PathBuf>,
    /// Check status offline against these cached status-list tokens (statuslist+jwt).
    #[arg(long)]
    status_list: Vec<PathBuf>,
    /// Do not consult the ledger in --data even if there is one.
    #[arg(long)]
    no_ledger: bool,
}

/// An error for the operator: what went wrong, and how to fix it.
struct Failure {
    error: Box<dyn std::error::Error>,
    hint: Option<String>,
}

impl<E: std::error::Error + 'static> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            error: Box::new(e),
            hint: None,
        }
    }
}

fn fail(message: impl Into<String>, hint: impl Into<String>) -> Failure {
    Failure {
        error: message.into().into(),
        hint: Some(hint.into()),
    }
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

/// Prints an operator error: the error, its causes, and how to fix it.
fn report(f: &Failure) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {}", f.error);
    let mut source = f.error.source();
    while let Some(s) = source {
        let _ = writeln!(err, "  caused by: {s}");
        source = s.source();
    }
    if let Some(h) = &f.hint {
        let _ = writeln!(err, "  hint: {h}");
    }
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    if let Command::Serve(args) = cli.command {
        return serve(cli.keys, cli.data, cli.public_url, cli.log_origin, args);
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
        Command::Init { name, years } => {
            let now = OffsetDateTime::now_utc();
            let root = store.init_root(&name, now, years)?;
            println!(
                "created root CA {} (kid {})\nnext: elicense agency add --name … --code <USCC>",
                root.cert_path.display(),
                root.kid
            );
        }
        Command::Agency(AgencyCommand::Add {
            name,
            code,
            uri,
            years,
        }) => {
            let code = Uscc::parse(&code)?;
            let issuer_uri =
                uri.unwrap_or_else(|| format!("https://elicense.example/agencies/{code}"));
            let now = OffsetDateTime::now_utc();
            let agency = AgencyIdentity {
                name,
                code,
                issuer_uri,
            };
            let not_after = keys::add_years(now, years)
                .filter(|_| (1..=50).contains(&years))
                .ok_or(keys::KeyStoreError::Years { years })?;
            let c = store.add_agency(&agency, now, not_after)?;
            println!(
                "created agency certificate {} (kid {})",
                c.cert_path.display(),
                c.kid
            );
        }
        Command::Agency(AgencyCommand::Token(cmd)) => {
            let tokens = elicense::tokens::TokenStore::new(store.dir());
            let now = OffsetDateTime::now_utc().unix_timestamp();
            match cmd {
                TokenCommand::Create { agency } => {
                    let code = Uscc::parse(&agency)?;
                    store.agency_key(&code)?;
                    let (record, token) = tokens.create(&code, now)?;
                    println!("{token}");
                    eprintln!(
                        "token {} for {code}: shown once, stored only as a hash; send it as `Authorization: Bearer …`",
                        record.id
                    );
                }
                TokenCommand::Revoke { id } => {
                    let r = tokens.revoke(&id, now)?;
                    println!("revoked token {} of {}", r.id, r.agency);
                }
                TokenCommand::List => {
                    for r in tokens.load()? {
                        println!(
                            "{}  {}  created {}{}",
                            r.id,
                            r.agency,
                            licence::format_time(r.created),
                            r.revoked
                                .map(|t| format!("  revoked {}", licence::format_time(t)))
                                .unwrap_or_default()
                        );
                    }
                }
            }
        }
        Command::Agency(AgencyCommand::List) => {
            for (_, info) in store.agencies()? {
                println!(
                    "{}  {}  kid {}  valid {} – {}  iss {}",
                    info.agency.code,
                    info.agency.name,
                    info.kid,
                    licence::format_time(info.not_before),
                    licence::format_time(info.not_after),
                    info.agency.issuer_uri
                );
            }
        }
        Command::Issue {
            request,
            agency,
            out,
            seal_out,
            at,
            no_ledger,
        } => {
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
                issuer.issue_recorded(&ledger, &req, iat, &public_url, code.as_str())?
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
        }
        Command::Present(args) => present(args)?,
        Command::Revoke(args) => return cli_ledger::change(data, Action::Revoke, &args),
        Command::Suspend(args) => return cli_ledger::change(data, Action::Suspend, &args),
        Command::Reinstate(args) => return cli_ledger::change(data, Action::Reinstate, &args),
        Command::Status(args) => return cli_ledger::status(data, &args),
        Command::Qr(args) => return cli_qr::qr(&store, data, &args),
        Command::Ledger(cmd) => return cli_ledger::ledger(data, &store, &log_origin, &cmd),
        Command::StatusList(cmd) => {
            return cli_ledger::status_list(data, &store, &public_url, &cmd)
        }
        Command::Keygen { out } => {
            let (signer, der) = Es256Signer::generate()?;
            let pem = zeroize::Zeroizing::new(keys::pem_encode(&der, "PRIVATE KEY"));
            keys::write_new(&out, pem.as_bytes(), 0o600)?;
            println!("{}", serde_json::to_string(&signer.public_key().to_jwk())?);
        }
        Command::Verify(args) => {
            let json = args.json;
            return verify_command(&store, data, args).or_else(|f| {
                if !json {
                    return Err(f);
                }
                // Scripts asked for JSON: JSON on stdout, the usual message on stderr.
                report(&f);
                let j = serde_json::json!({
                    "verdict": "error",
                    "error": { "message": error_chain(f.error.as_ref()), "hint": f.hint },
                });
                println!("{j}");
                Ok(ExitCode::from(2))
            });
        }
        Command::Demo => return demo(&store, data, &public_url),
        // Handled above, before the defaults.
        Command::Serve(_) => {}
    }
    Ok(ExitCode::SUCCESS)
}

fn present(args: PresentArgs) -> Result<(), Failure> {
    let text = read_input(&args.licence)?;
    let selection = if args.all {
        Selection::All
    } else if args.disclose.is_empty() {
        Selection::Nothing
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
    let payload: serde_json::Map<String, serde_json::Value> =
        elicense::jose::b64u_decode(&sd.payload_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
    let disclosable: std::collections::BTreeSet<String> = sd
        .disclosures
        .iter()
        .filter_map(|d| sdjwt::decode_disclosure(d).ok()?.name)
        .collect();
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

fn verify_command(store: &KeyStore, data: &Path, args: VerifyArgs) -> Result<ExitCode, Failure> {
    let trust = if args.root.is_empty() {
        store.trust_store().map_err(|e| Failure {
            hint: Some(format!(
                "verification needs the root certificate: pass --root root.crt.pem or --keys DIR (now {})",
                store.dir().display()
            )),
            error: Box::new(e),
        })?
    } else {
        let mut roots = Vec::new();
        for p in &args.root {
            let pem = read_named(p, "pass the root CA certificate (keys/root.crt.pem)")?;
            roots.push(keys::pem_decode(&pem, "CERTIFICATE").ok_or_else(|| {
                fail(
                    format!("{} has no PEM CERTIFICATE block", p.display()),
                    "pass the root CA certificate (keys/root.crt.pem)",
                )
            })?);
        }
        elicense::pki::TrustStore::new(roots, Vec::new())?
    };
    let verifier = Verifier::new(trust).with_skew(args.skew);
    let text = read_input(&args.input)?;
    let at = parse_time(args.at.as_deref())?;
    let ledger = if !args.no_ledger && cli_ledger::ledger_exists(data) {
        Some(cli_ledger::open_ledger_for_reading(data)?)
    } else {
        None
    };
    let mut lists = Vec::new();
    for p in &args.status_list {
        lists.push(read_input(p)?.trim().to_owned());
    }
    let status = match (&ledger, lists.is_empty()) {
        (Some(l), _) => StatusCheck::Ledger(l),
        (None, false) => StatusCheck::Lists(&lists),
        (None, true) => StatusCheck::NotChecked,
    };
    let opts = Options {
        at,
        aud: args.aud.as_deref(),
        nonce: args.nonce.as_deref(),
        status,
    };
    let result = verifier.verify(text.trim(), &opts);
    let mut out = std::io::stdout().lock();
    match result {
        Ok(v) => {
            // A licence that carries a status reference is valid only once its status is
            // known; without one (issued before the ledger) the signature is all there is.
            let unknown = match v.status() {
                LicenceStatus::Valid { .. } => None,
                LicenceStatus::Unknown { reason } => Some(reason.clone()),
                LicenceStatus::NotChecked => v.status_reference().map(|r| {
                    format!(
                        "no ledger in {} and no --status-list for {}",
                        data.display(),
                        r.uri()
                    )
                }),
            };
            if args.json {
                let j = elicense::verdict::Verdict::verified(v.clone());
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&j)?);
            } else {
                match &unknown {
                    None => {
                        let _ = writeln!(out, "VALID 有效  {}", v.id());
                    }
                    Some(reason) => {
                        let _ = writeln!(
                            out,
                            "SIGNATURE VALID, STATUS UNKNOWN 签章有效，状态未知  {}\n  status   {reason}",
                            v.id()
                        );
                    }
                }
                if let LicenceStatus::Valid { source, as_of } = v.status() {
                    let _ = writeln!(
                        out,
                        "  status   not revoked or suspended ({source}, as of {})",
                        licence::format_time(*as_of)
                    );
                }
                let _ = writeln!(out, "  type     {}", v.type_name_zh());
                let _ = writeln!(out, "  issuer   {} ({})", v.issuer_name(), v.issuer_code());
                if let Some(n) = v.holder_name() {
                    let _ = writeln!(out, "  holder   {n}");
                }
                if let Some(i) = v.holder_id() {
                    let _ = writeln!(out, "  holder id {i}");
                }
                for (_, label, value) in v.fields() {
                    let _ = writeln!(out, "  {label}  {value}");
                }
                let _ = writeln!(
                    out,
                    "  issued   {}\n  expires  {}",
                    licence::format_time(v.issued_at()),
                    v.not_after()
                        .map_or("长期 (permanent)".into(), licence::format_time)
                );
                if v.holder_bound() && !v.key_bound() {
                    let _ = writeln!(
                        out,
                        "  bound to a holder key, but no key-binding JWT was checked: pass --aud and --nonce to require the holder"
                    );
                }
                if v.key_bound() {
                    if args.aud.is_some() && args.nonce.is_some() {
                        let _ = writeln!(out, "  presented by the holder (key binding checked)");
                    } else {
                        let _ = writeln!(
                            out,
                            "  key-binding signature checked, but not its audience and nonce \
                             (pass --aud and --nonce to rule out a replay)"
                        );
                    }
                }
            }
            Ok(if unknown.is_some() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Err(e) => {
            if args.json {
                let j = elicense::verdict::Verdict::invalid(&e, at);
                let _ = writeln!(out, "{}", serde_json::to_string_pretty(&j)?);
            } else {
                let label = match &e {
                    verify::VerifyError::Revoked { .. } => "REVOKED 已撤销",
                    verify::VerifyError::Suspended { .. } => "SUSPENDED 已暂扣",
                    e if e.is_not_genuine() => "NOT GENUINE 非真实证照",
                    _ => "INVALID 无效",
                };
                let _ = writeln!(out, "{label}  [{}]  {}", e.code(), error_chain(&e));
                if matches!(
                    e,
                    verify::VerifyError::UntrustedIssuer(
                        elicense::pki::ChainError::UnknownKid { .. }
                    )
                ) && !args.root.is_empty()
                {
                    let _ = writeln!(
                        out,
                        "  hint: this licence names its issuer only by kid; --root has no agency certificates, so verify with --keys DIR holding them"
                    );
                }
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Demo agency (示例市市场监督管理局) used by `demo` and the embedded default.
const DEMO_AGENCY_CODE: &str = "11350100MB00000012";
const DEMO_AGENCY_NAME: &str = "示例市市场监督管理局";
const DEMO_REQUESTS: [(&str, &str); 3] = [
    (
        "business_licence",
        include_str!("../fixtures/requests/business_licence.json"),
    ),
    (
        "food_business_permit",
        include_str!("../fixtures/requests/food_business_permit.json"),
    ),
    (
        "teacher_qualification",
        include_str!("../fixtures/requests/teacher_qualification.json"),
    ),
];

fn demo(store: &KeyStore, data: &Path, public_url: &str) -> Result<ExitCode, Failure> {
    let now = OffsetDateTime::now_utc();
    let code = ensure_demo_pki(store, now)?;
    let issuer = Issuer::new(store.agency_key(&code)?)?;
    let verifier = Verifier::new(store.trust_store()?);
    let ledger = cli_ledger::open_ledger(data)?;
    let at = now.unix_timestamp();
    let opts = Options::at(at).with_status(StatusCheck::Ledger(&ledger));
    let mut all_ok = true;
    let mut issued_ids = Vec::new();
    for (name, json) in DEMO_REQUESTS {
        let mut req: LicenceRequest = serde_json::from_str(json)?;
        // A fresh serial each run, so the demo can be run again on the same ledger.
        req.serial = format!(
            "{}{:06}",
            &req.serial[..req.serial.len().min(24)],
            ledger.size()
        );
        let issued = issuer.issue_recorded(&ledger, &req, at, public_url, code.as_str())?;
        issued_ids.push((name, issued.id.to_string(), issued.sd_jwt.clone()));
        let verdict = verifier.verify(&issued.sd_jwt, &opts);
        match &verdict {
            Ok(v) => println!(
                "{name:<24} issued {}  → VALID 有效 ({}, {} bytes)",
                v.id(),
                v.holder_name().unwrap_or("?"),
                issued.sd_jwt.len()
            ),
            Err(e) => {
                all_ok = false;
                println!(
                    "{name:<24} issued {} → INVALID [{}] {e}",
                    issued.id,
                    e.code()
                );
            }
        }
        // A forgery: change one disclosed character of the holder's name.
        let tampered = tamper_disclosure(&issued.sd_jwt);
        match verifier.verify(&tampered, &opts) {
            Err(e) => println!("{:<24} tampered copy → NOT GENUINE [{}]", "", e.code()),
            Ok(_) => {
                all_ok = false;
                println!("{:<24} tampered copy → accepted (BUG)", "");
            }
        }
    }
    // The agency revokes the food business permit (吊销): from now on it verifies as revoked.
    if let Some((name, id, sd_jwt)) = issued_ids.get(1) {
        ledger.change(
            id,
            Action::Revoke,
            &code,
            None,
            Some(elicense::ledger::AdminStatus::RevokedAsPenalty),
            Some("演示 demo"),
            at,
        )?;
        match verifier.verify(sd_jwt, &opts) {
            Err(e @ verify::VerifyError::Revoked { .. }) => {
                println!("{name:<24} after 吊销 → REVOKED 已撤销 [{}]", e.code())
            }
            other => {
                all_ok = false;
                println!("{name:<24} after 吊销 → {other:?} (BUG)");
            }
        }
    }
    println!(
        "ledger {}: {} events; `elicense status ID`, `elicense ledger verify` show them",
        data.display(),
        ledger.size()
    );
    Ok(if all_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Creates the demo root CA and demo agency if the key store has none (never overwrites).
fn ensure_demo_pki(store: &KeyStore, now: OffsetDateTime) -> Result<Uscc, Failure> {
    if !store.has_root() {
        let r = store.init_root("elicense 演示根证书 Demo Root CA", now, 20)?;
        println!("created demo root CA {}", r.cert_path.display());
    }
    let code = Uscc::parse(DEMO_AGENCY_CODE)?;
    if !store.agencies()?.iter().any(|(_, i)| i.agency.code == code) {
        let agency = AgencyIdentity {
            name: DEMO_AGENCY_NAME.into(),
            code: code.clone(),
            issuer_uri: format!("https://elicense.example/agencies/{code}"),
        };
        let not_after = keys::add_years(now, 5).ok_or(keys::KeyStoreError::Years { years: 5 })?;
        let c = store.add_agency(&agency, now, not_after)?;
        println!("created demo agency {}", c.cert_path.display());
    }
    Ok(code)
}

/// `serve`: the HTTP API, until SIGINT or SIGTERM.
fn serve(
    keys: Option<PathBuf>,
    data: Option<PathBuf>,
    public_url: Option<String>,
    log_origin: Option<String>,
    args: ServeArgs,
) -> Result<ExitCode, Failure> {
    use elicense::server::AppState;
    use elicense::settings::{
        Layer, LedgerLayer, LimitsLayer, LogFormat, Settings, StatusListsLayer,
    };
    use std::sync::Arc;
    let file = match &args.config {
        None => Layer::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Failure {
                hint: Some(format!(
                    "check the path given with --config or ELICENSE_CONFIG ({}); elicense.example.toml shows every key",
                    path.display()
                )),
                error: Box::new(e),
            })?;
            Layer::from_toml(path, &text).map_err(|e| Failure {
                hint: Some(
                    "fix the named key; elicense.example.toml lists every key with its default"
                        .into(),
                ),
                error: Box::new(e),
            })?
        }
    };
    let flags = Layer {
        bind: args.bind,
        keys,
        data,
        public_url,
        log_origin,
        log_format: args.log_format,
        limits: LimitsLayer {
            max_concurrent: args.max_concurrent,
            timeout_secs: args.timeout_secs,
            max_body_bytes: args.max_body_bytes,
            max_batch: args.max_batch,
            rate_per_second: args.rate_per_second,
            rate_burst: args.rate_burst,
            max_connections: args.max_connections,
            max_connections_per_client: args.max_connections_per_client,
            header_read_timeout_secs: args.header_read_timeout_secs,
            idle_timeout_secs: args.idle_timeout_secs,
        },
        status_lists: StatusListsLayer {
            ttl_secs: args.status_list_ttl,
            validity_secs: args.status_list_validity,
        },
        ledger: LedgerLayer {
            cache_mb: args.ledger_cache_mb,
            min_free_mb: args.ledger_min_free_mb,
        },
        request_log_sample: args.request_log_sample,
    };
    let settings = Settings::resolve(&[&flags, &file]).map_err(|e| Failure {
        hint: Some(
            "see `elicense serve --help` and elicense.example.toml for the accepted values".into(),
        ),
        error: Box::new(e),
    })?;
    match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .compact()
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Off => {}
    }
    let store = KeyStore::new(&settings.keys);
    if !store.has_root() {
        ensure_demo_pki(&store, OffsetDateTime::now_utc())?;
    }
    let mut issuers = std::collections::HashMap::new();
    for (_, info) in store.agencies()? {
        match store.agency_key(&info.agency.code) {
            Ok(key) => {
                issuers.insert(info.agency.code.to_string(), Issuer::new(key)?);
            }
            Err(e) => eprintln!("note: agency {} cannot sign here: {e}", info.agency.code),
        }
    }
    let ledger = Arc::new(cli_ledger::open_ledger_with(
        &settings.data,
        elicense::ledger::LedgerOptions {
            cache_bytes: settings.ledger_cache_mb << 20,
        },
    )?);
    let codes: Vec<String> = issuers.keys().cloned().collect();
    let state = AppState::builder(
        Verifier::new(store.trust_store()?),
        ledger.clone(),
        elicense::tokens::TokenStore::new(store.dir()),
        settings.public_url.clone(),
    )
    .publisher(elicense::publish::StatusPublisher::new(
        &settings.public_url,
        i64::try_from(settings.status_list_validity).unwrap_or(i64::MAX),
        settings.status_list_ttl,
    ))
    .issuers(issuers)
    .clock(|| OffsetDateTime::now_utc().unix_timestamp())
    .log_signer(Some(store.ledger_signer(&settings.log_origin)?))
    .limits(settings.limits)
    .ops(elicense::server::Ops {
        min_free_bytes: settings.ledger_min_free_mb << 20,
        request_log_sample: settings.request_log_sample,
    })
    .build();
    // A failed write leaves the ledger refusing changes; this reopens it once the disk
    // can take writes again (probing every RECOVER_EVERY).
    let stop_recovery = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let recovery = {
        let (ledger, stop) = (ledger.clone(), stop_recovery.clone());
        std::thread::Builder::new()
            .name("ledger-recovery".into())
            .spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(RECOVER_EVERY);
                    if ledger.failure().is_some() {
                        let _ = ledger.recover();
                    }
                }
            })?
    };
    let runtime = tokio::runtime::Runtime::new()?;
    let bind = settings.bind.clone();
    let events = ledger.size();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .map_err(|e| Failure {
                hint: Some(format!(
                    "is another process using {bind}? choose another with --bind or ELICENSE_BIND"
                )),
                error: Box::new(e),
            })?;
        let addr = listener.local_addr()?;
        println!("elicense serving on http://{addr}");
        println!("  keys: {}   ledger: {} ({} events)", settings.keys.display(), settings.data.display(), events);
        println!("  public URL (in new licences' status URIs): {}", settings.public_url);
        for code in &codes {
            println!("  agency {code}: issue with a token from `elicense agency token create --agency {code}`");
        }
        println!("  API description: http://{addr}/openapi.json");
        elicense::server::serve(listener, state, shutdown_signal()).await?;
        Ok::<_, Failure>(())
    })?;
    stop_recovery.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = recovery.join();
    // Every acknowledged change is on disk already; this flush only tidies up. A ledger
    // whose write failed has nothing acknowledged to lose: say so in the log, exit 0.
    match ledger.flush() {
        Ok(()) => {
            tracing::info!(
                target: "elicense::serve",
                events = ledger.size(),
                "stopped: requests in flight finished, ledger flushed"
            );
            println!("elicense stopped; requests in flight finished, ledger flushed");
        }
        Err(e) => {
            tracing::error!(
                target: "elicense::serve",
                events = ledger.size(),
                "stopped; the final ledger flush failed ({e}); every acknowledged change was already on disk"
            );
            println!("elicense stopped; the final ledger flush failed, but every acknowledged change was already on disk");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How often `serve` probes a failed ledger's disk to reopen it.
const RECOVER_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Replaces the first disclosure with one for the same claim but another value.
fn tamper_disclosure(sd_jwt: &str) -> String {
    let mut parts: Vec<String> = sd_jwt.split('~').map(str::to_owned).collect();
    if let Some(d) = parts.get(1).and_then(|d| sdjwt::decode_disclosure(d).ok()) {
        let forged = serde_json::json!([d.salt, d.name, "伪造 forged"]);
        parts[1] = elicense::jose::b64u_encode(forged.to_string());
    }
    parts.join("~")
}

/// Where `issue --out X` puts the seal: X with its extension replaced by `.seal.txt`.
fn seal_path(out: &Path) -> PathBuf {
    out.with_extension("seal.txt")
}

fn parse_time(at: Option<&str>) -> Result<i64, Failure> {
    let Some(at) = at else {
        return Ok(OffsetDateTime::now_utc().unix_timestamp());
    };
    if let Ok(secs) = at.parse::<i64>() {
        return Ok(secs);
    }
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|e| {
            fail(
                format!("--at {at:?} is not a time: {e}"),
                "write it as RFC 3339 (2026-01-31T09:00:00+08:00) or seconds since 1970",
            )
        })
}

/// Largest input file accepted.
const MAX_INPUT: u64 = 1024 * 1024;

fn read_input(path: &Path) -> Result<String, Failure> {
    let mut buf = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut buf))
    };
    read.map_err(|e| {
        fail(
            format!("{}: {e}", path.display()),
            format!("check the path {}", path.display()),
        )
    })?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(fail(
            format!("{} is larger than {MAX_INPUT} bytes", path.display()),
            "a licence is a few kilobytes; is this the right file?",
        ));
    }
    String::from_utf8(buf).map_err(|e| {
        fail(
            format!("{} is not UTF-8 text: {e}", path.display()),
            "a licence is base64url text (or JSON); is this the right file?",
        )
    })
}

/// Reads a small text file (a key or certificate), naming it in any error.
fn read_named(path: &Path, hint: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| fail(format!("{}: {e}", path.display()), hint))
}

fn write_output(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    match out {
        Some(p) => std::fs::write(p, format!("{text}\n")).map_err(Failure::from),
        None => {
            let mut o = std::io::stdout().lock();
            match writeln!(o, "{text}") {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(Failure::from),
            }
        }
    }
}
