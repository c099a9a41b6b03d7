//! `elicense verify`: a licence, presentation or paper seal, and its verdict.

use super::io::{fail, parse_time, read_input, read_named, report, Failure};
use super::ledger as cli_ledger;
use clap::Args;
use elicense::keys::{self, KeyStore};
use elicense::licence;
use elicense::verify::{self, error_chain, LicenceStatus, Options, StatusCheck, Verifier};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    /// Check status offline against these cached status-list tokens (statuslist+jwt).
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
                let mut j = serde_json::to_value(&v)?;
                j["verdict"] = if unknown.is_some() {
                    "status_unknown".into()
                } else {
                    "valid".into()
                };
                if let Some(reason) = &unknown {
                    j["status"]["reason"] = reason.clone().into();
                }
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
                let j = serde_json::json!({
                    "verdict": "invalid",
                    "reason": { "code": e.code(), "message": error_chain(&e) },
                    "checked_at": licence::format_time(at),
                });
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
