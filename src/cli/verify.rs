//! `elicense verify`: a licence, presentation or paper seal, and its verdict.

use super::io::{parse_time, read_input, report, Failure};
use super::ledger as cli_ledger;
use super::{sniff, trust};
use clap::Args;
use elicense::keys::KeyStore;
use elicense::licence;
use elicense::verify::{self, error_chain, LicenceStatus, Options, StatusCheck, Verifier};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `verify --help`, after the options: exactly when each exit code is reached.
pub const AFTER_HELP: &str = "\
Exit codes:
  0 valid: genuine (signed by a trusted issuer, unaltered), within its validity, and its
    status is known to be neither revoked nor suspended — from the ledger in --data, or
    from a --status-list signed by the issuer and still fresh. (A licence issued with
    --no-ledger carries no status reference: its signature is all there is to check.)
  1 the licence is invalid: not genuine, expired or not yet valid, revoked or suspended,
    an issuer this verifier cannot check (CANNOT CHECK: pass --root and --trust-list);
    or status unknown: the signature is valid, but no ledger and no fresh status list
    answered (offline, fetch the status list at the licence's status URI and pass it
    with --status-list FILE).
  2 an error (bad input, missing keys…).

A verifier with only the issuing service's root certificate:
  elicense verify --root root.crt.pem --trust-list trust-list.json --status-list list.jwt FILE
  (trust-list.json: GET /v1/trust-list; list.jwt: GET on the licence's status URI)";

/// Arguments of `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// The licence or presentation file, or - for standard input.
    pub input: PathBuf,
    /// Verification time, RFC 3339 or seconds since the epoch (default: now).
    #[arg(long)]
    pub at: Option<String>,
    /// Allowed clock skew in seconds (at most 3600).
    #[arg(long, default_value_t = verify::DEFAULT_SKEW,
          value_parser = clap::value_parser!(i64).range(0..=verify::MAX_SKEW))]
    pub skew: i64,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
    /// Require key binding to this audience.
    #[arg(long)]
    pub aud: Option<String>,
    /// Require key binding with this nonce.
    #[arg(long)]
    pub nonce: Option<String>,
    /// Trust these root certificates (PEM) instead of the key store's.
    #[arg(long)]
    pub root: Vec<PathBuf>,
    /// Trust the issuers of this trust list (the JSON of GET /v1/trust-list) that chain to
    /// the root: what a verifier with only the root needs to check a paper seal, which
    /// names its issuer by kid alone. An issuer that does not chain is refused and named.
    #[arg(long)]
    pub trust_list: Vec<PathBuf>,
    /// Check status offline against these cached status-list tokens (statuslist+jwt, as
    /// GET on the licence's status URI returns them); only a list still fresh counts.
    #[arg(long)]
    pub status_list: Vec<PathBuf>,
    /// Do not consult the ledger in --data even if there is one.
    #[arg(long)]
    pub no_ledger: bool,
}

/// Runs `verify`: 0 valid, 1 invalid (or status unknown), 2 an error — as JSON on standard
/// output too when `--json` was asked for.
pub fn verify(store: &KeyStore, data: &Path, args: VerifyArgs) -> Result<ExitCode, Failure> {
    let json = args.json;
    verify_command(store, data, args).or_else(|f| {
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
    })
}

fn verify_command(store: &KeyStore, data: &Path, args: VerifyArgs) -> Result<ExitCode, Failure> {
    let trust = trust::trust_store(store, &args.root, &args.trust_list)?;
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
                    let ledger = if args.no_ledger {
                        "ledger not consulted (--no-ledger)".to_owned()
                    } else {
                        format!("no ledger in {}", data.display())
                    };
                    format!(
                        "{ledger} and no --status-list for {}: fetch that status list and pass it with --status-list FILE to know",
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
                print_invalid(&mut out, &e, &args, text.trim());
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// The text verdict of a licence that is not valid: what it is, why, and what to do.
fn print_invalid(out: &mut impl Write, e: &verify::VerifyError, args: &VerifyArgs, text: &str) {
    use elicense::pki::ChainError;
    use verify::VerifyError;
    let mut message = error_chain(e);
    let label = match e {
        VerifyError::Revoked { .. } => "REVOKED 已撤销",
        VerifyError::Suspended { .. } => "SUSPENDED 已暂扣",
        // Not forged: signed by someone this verifier does not know.
        VerifyError::UntrustedIssuer(_) => "CANNOT CHECK 无法核验",
        e if e.is_not_genuine() => "NOT GENUINE 非真实证照",
        _ => "INVALID 无效",
    };
    if let VerifyError::UntrustedIssuer(_) = e {
        message = format!("issuer unknown — {message}");
    }
    let _ = writeln!(out, "{label}  [{}]  {message}", e.code());
    match e {
        VerifyError::UntrustedIssuer(ChainError::UnknownKid { .. }) if !args.root.is_empty() => {
            let _ = writeln!(
                out,
                "  what to do: this licence names its issuer only by kid (a paper seal always does); \
                 --root has no agency certificates: add --trust-list trust-list.json (GET /v1/trust-list \
                 of the issuing service), or verify with --keys DIR holding them"
            );
        }
        VerifyError::UntrustedIssuer(_) => {
            let _ = writeln!(
                out,
                "  what to do: it is not shown to be forged, only not checkable here: verify with the \
                 issuing service's root (--root ROOT.pem) and its trust list (--trust-list FILE, \
                 GET /v1/trust-list), or ask the issuing agency"
            );
        }
        _ => {}
    }
    if e.code() == "malformed" {
        if let Some(what) = sniff::looks_like(text) {
            let _ = writeln!(out, "  hint: {what}");
        }
    }
}
