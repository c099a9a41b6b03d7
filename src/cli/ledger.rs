//! The ledger commands of the CLI: status changes, status queries, the log's integrity,
//! checkpoints, proofs and status-list export.

use super::io::{fail, parse_time, write_output, Failure};
use clap::{Args, Subcommand};
use elicense::issue::{status_list_uri, Issuer};
use elicense::jose::b64_encode;
use elicense::keys::KeyStore;
use elicense::ledger::checkpoint::{sign_checkpoint, Checkpoint, NoteVerifier};
use elicense::ledger::integrity::{verify_dir, IntegrityError, IntegrityReport};
use elicense::ledger::storage::ReadOnlyCopy;
use elicense::ledger::{Action, AdminStatus, Ledger, LedgerError, Reason, StorageCause};
use elicense::licence::codes::Uscc;
use elicense::licence::format_time;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `revoke`, `suspend` and `reinstate`.
#[derive(Args, Debug)]
pub struct ChangeArgs {
    /// The licence identifier (1.2.156.3005.2.…).
    pub licence: String,
    /// The agency making the change (its USCC); only the issuing agency may.
    #[arg(long)]
    pub agency: String,
    /// Why: a Chinese administrative status (暂扣 / 撤销 / 吊销 / 注销) or an RFC 5280
    /// reason (key_compromise, superseded, cessation_of_operation, privilege_withdrawn,
    /// certificate_hold, unspecified …).
    #[arg(long)]
    pub reason: Option<String>,
    /// A note kept with the event (at most 500 characters).
    #[arg(long)]
    pub note: Option<String>,
    /// When, RFC 3339 or seconds since the epoch (default: now).
    #[arg(long)]
    pub at: Option<String>,
}

/// `status` arguments.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The licence identifier.
    pub licence: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ledger …` subcommands.
#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Recompute everything from the stored events and name the first inconsistency.
    Verify,
    /// Sign a checkpoint (C2SP signed note) of the current tree and store it.
    Checkpoint,
    /// Print an inclusion proof (--seq) or a consistency proof (--from/--to) as JSON.
    Proof {
        /// Event whose inclusion to prove.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        seq: Option<u64>,
        /// Tree size the proof is for (default: the current size).
        #[arg(long)]
        size: Option<u64>,
        /// Older tree size, for a consistency proof.
        #[arg(long, requires = "to")]
        from: Option<u64>,
        /// Newer tree size, for a consistency proof.
        #[arg(long, requires = "from")]
        to: Option<u64>,
    },
}

/// `status-list …` subcommands.
#[derive(Subcommand, Debug)]
pub enum StatusListCommand {
    /// Sign and write an agency's Token Status List (statuslist+jwt).
    Export {
        /// The agency (USCC).
        #[arg(long)]
        agency: String,
        /// The list number.
        #[arg(long, default_value_t = 0)]
        list: u32,
        /// Where to write the token (default: standard output).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// How long the token is valid, seconds.
        #[arg(long, default_value_t = 86_400)]
        valid_for: i64,
        /// How long verifiers may cache it before fetching again, seconds.
        #[arg(long, default_value_t = 3_600)]
        ttl: u64,
    },
}

/// Opens the ledger in `data`, with a hint when another process holds it.
pub fn open_ledger(data: &Path) -> Result<Ledger, Failure> {
    open_ledger_with(data, elicense::ledger::LedgerOptions::default())
}

/// [`open_ledger`] with options; the error names the real cause (no space, read-only, the
/// lock held by another process) and what to do.
pub fn open_ledger_with(
    data: &Path,
    options: elicense::ledger::LedgerOptions,
) -> Result<Ledger, Failure> {
    Ledger::open_with(data, options).map_err(|e| Failure {
        hint: Some(match e.storage_cause() {
            Some(elicense::ledger::StorageCause::Locked { .. }) => format!(
                "while `elicense serve` runs, use its HTTP API (POST /v1/licences/{{id}}/revoke, …), or verify offline with --no-ledger --status-list; or stop it, or pass another --data than {}",
                data.display()
            ),
            Some(_) => "fix the cause named above, then run the command again".into(),
            None => format!(
                "the ledger in {} could not be opened; `elicense ledger verify --data {}` names the first inconsistency",
                data.display(),
                data.display()
            ),
        }),
        error: Box::new(e),
    })
}

/// A ledger opened for reading: from a temporary copy when its directory is read-only (a
/// backup, a mounted snapshot), which the database cannot open in place.
pub struct ReadLedger {
    ledger: Ledger,
    _copy: Option<ReadOnlyCopy>,
}

impl std::ops::Deref for ReadLedger {
    type Target = Ledger;
    fn deref(&self) -> &Ledger {
        &self.ledger
    }
}

/// Whether opening failed because this process cannot write the directory.
fn cannot_write(e: &LedgerError) -> bool {
    matches!(
        e.storage_cause(),
        Some(StorageCause::ReadOnly | StorageCause::PermissionDenied)
    )
}

fn note_copy(data: &Path) {
    eprintln!(
        "note: {} cannot be written here (read-only); reading a temporary copy of it",
        data.display()
    );
}

/// Opens the ledger in `data` for a command that only reads it.
pub fn open_ledger_for_reading(data: &Path) -> Result<ReadLedger, Failure> {
    match Ledger::open(data) {
        Ok(ledger) => Ok(ReadLedger {
            ledger,
            _copy: None,
        }),
        Err(e) if cannot_write(&e) => {
            note_copy(data);
            let copy = ReadOnlyCopy::of(data).map_err(|e| Failure {
                hint: Some(format!(
                    "copy {} somewhere writable and pass --data with the copy",
                    data.display()
                )),
                error: Box::new(e),
            })?;
            let ledger = open_ledger(copy.path())?;
            Ok(ReadLedger {
                ledger,
                _copy: Some(copy),
            })
        }
        Err(_) => open_ledger(data).map(|ledger| ReadLedger {
            ledger,
            _copy: None,
        }),
    }
}

/// `ledger verify`'s check of the ledger in `data`, straight on its stored data (it trusts
/// nothing a ledger keeps in memory and works on a ledger too damaged to open); on a copy if
/// `data` is read-only. The outer error is a ledger that could not be opened at all.
fn verify_for_reading(
    data: &Path,
    origin: &str,
    verifiers: &[NoteVerifier],
) -> Result<Result<IntegrityReport, IntegrityError>, Failure> {
    let check = |dir: &Path| {
        if let Ok(removed) = elicense::ledger::storage::remove_unfinished_snapshots(dir) {
            for name in removed {
                eprintln!("note: removed {name}, a snapshot the database left unfinished (it would stop the ledger from opening; the log holds everything in it)");
            }
        }
        verify_dir(dir, origin, verifiers)
    };
    match check(data) {
        Err(IntegrityError::Open(e)) if cannot_write(&e) => {
            note_copy(data);
            let copy = ReadOnlyCopy::of(data)?;
            match check(copy.path()) {
                Err(IntegrityError::Open(e)) => Err(Failure {
                    hint: None,
                    error: e,
                }),
                checked => Ok(checked),
            }
        }
        Err(IntegrityError::Open(e)) => Err(Failure {
            hint: Some(
                "while `elicense serve` runs it holds the ledger: stop it first, or check its log with GET /v1/ledger/checkpoint and proofs"
                    .into(),
            ),
            error: e,
        }),
        checked => Ok(checked),
    }
}

/// Whether a ledger exists in `data`.
pub fn ledger_exists(data: &Path) -> bool {
    data.join("conf").exists() || data.join("db").exists()
}

fn parse_reason(
    action: Action,
    text: Option<&str>,
) -> Result<(Option<Reason>, Option<AdminStatus>), Failure> {
    let Some(text) = text else {
        return Ok((None, None));
    };
    elicense::ledger::event::parse_reason_text(text).ok_or_else(|| {
        let names: Vec<&str> = Reason::ALL
            .iter()
            .filter(|r| r.fits(action))
            .map(|r| r.name())
            .collect();
        let admin: Vec<&str> = AdminStatus::ALL
            .iter()
            .filter(|a| a.action() == action)
            .map(|a| a.zh())
            .collect();
        fail(
            format!("unknown reason {text:?}"),
            format!(
                "to {} use one of: {} {}",
                action.name(),
                admin.join(" "),
                names.join(" ")
            ),
        )
    })
}

/// `revoke`, `suspend`, `reinstate`.
pub fn change(data: &Path, action: Action, args: &ChangeArgs) -> Result<ExitCode, Failure> {
    let agency = Uscc::parse(&args.agency)?;
    let (reason, admin) = parse_reason(action, args.reason.as_deref())?;
    let at = parse_time(args.at.as_deref())?;
    let ledger = open_ledger(data)?;
    let (receipt, record) = ledger.change(
        args.licence.trim(),
        action,
        &agency,
        reason,
        admin,
        args.note.as_deref(),
        at,
    )?;
    println!(
        "{} {} — now {:?}; event {} is on disk (tree size {})",
        action.name(),
        record.licence_id,
        record.state,
        receipt.seq,
        receipt.tree_size
    );
    Ok(ExitCode::SUCCESS)
}

/// `status`.
pub fn status(data: &Path, args: &StatusArgs) -> Result<ExitCode, Failure> {
    let ledger = open_ledger_for_reading(data)?;
    let id = args.licence.trim();
    let Some(record) = ledger.record(id)? else {
        return Err(fail(
            format!("no licence {id} in the ledger at {}", data.display()),
            "check the identifier, or pass --data for another ledger",
        ));
    };
    let history = ledger.history(id)?;
    if args.json {
        let j = serde_json::json!({ "record": record, "events": history });
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        println!(
            "{}  {:?}  (issuer {}, list {} index {})",
            record.licence_id, record.state, record.issuer, record.list, record.idx
        );
        for e in history {
            let why = match (e.admin_status, e.reason) {
                (Some(a), Some(r)) => format!(" {} / {}", a.zh(), r.name()),
                (None, Some(r)) => format!(" {}", r.name()),
                _ => String::new(),
            };
            println!(
                "  #{:<6} {}  {:?}{}  by {}{}",
                e.seq,
                format_time(e.at),
                e.kind,
                why,
                e.actor,
                e.note.map(|n| format!("  “{n}”")).unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `ledger …`.
pub fn ledger(
    data: &Path,
    keys: &KeyStore,
    origin: &str,
    cmd: &LedgerCommand,
) -> Result<ExitCode, Failure> {
    if let LedgerCommand::Verify = cmd {
        // Straight on the database, so a ledger too damaged to open can still be examined.
        if !ledger_exists(data) {
            return Err(fail(
                format!("no ledger in {}", data.display()),
                "pass --data DIR, or issue a licence first",
            ));
        }
        let verifiers: Vec<_> = keys.ledger_verifier()?.into_iter().collect();
        return match verify_for_reading(data, origin, &verifiers)? {
            Ok(r) => {
                println!(
                    "ledger OK: {} events, {} licences, {} checkpoints verified; root {}",
                    r.events,
                    r.licences,
                    r.checkpoints,
                    b64_encode(r.root)
                );
                if verifiers.is_empty() && r.checkpoints > 0 {
                    println!(
                        "  (no {} to check checkpoint signatures with)",
                        elicense::keys::LEDGER_VKEY
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                println!("LEDGER INCONSISTENT: {}", elicense::verify::error_chain(&e));
                Ok(ExitCode::from(1))
            }
        };
    }
    let ledger = if let LedgerCommand::Checkpoint = cmd {
        ReadLedger {
            ledger: open_ledger(data)?,
            _copy: None,
        }
    } else {
        open_ledger_for_reading(data)?
    };
    match cmd {
        LedgerCommand::Verify => Ok(ExitCode::SUCCESS),
        LedgerCommand::Checkpoint => {
            let signer = keys.ledger_signer(origin)?;
            let size = ledger.size();
            let root = ledger.root_at(size)?;
            let note = sign_checkpoint(&Checkpoint::new(origin, size, root), &signer)?;
            let stored = ledger.store_checkpoint(size, &note)?;
            print!("{stored}");
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Proof {
            seq,
            size,
            from,
            to,
        } => {
            let j = match (seq, from, to) {
                (Some(seq), _, _) => {
                    let size = size.unwrap_or(ledger.size());
                    let proof = ledger.inclusion_proof(*seq, size)?;
                    let event = ledger.event(*seq)?.ok_or_else(|| {
                        fail(
                            format!("no event {seq}"),
                            "see `elicense status ID` for event numbers",
                        )
                    })?;
                    serde_json::json!({
                        "seq": seq,
                        "tree_size": size,
                        "root": b64_encode(ledger.root_at(size)?),
                        "event": event,
                        "inclusion_proof": proof.iter().map(b64_encode).collect::<Vec<_>>(),
                    })
                }
                (None, Some(old), Some(new)) => {
                    let proof = ledger.consistency_proof(*old, *new)?;
                    serde_json::json!({
                        "from": old,
                        "to": new,
                        "from_root": b64_encode(ledger.root_at(*old)?),
                        "to_root": b64_encode(ledger.root_at(*new)?),
                        "consistency_proof": proof.iter().map(b64_encode).collect::<Vec<_>>(),
                    })
                }
                _ => return Err(fail(
                    "say which proof",
                    "use --seq N [--size M] for inclusion, or --from OLD --to NEW for consistency",
                )),
            };
            println!("{}", serde_json::to_string_pretty(&j)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `status-list export`.
pub fn status_list(
    data: &Path,
    keys: &KeyStore,
    public_url: &str,
    cmd: &StatusListCommand,
) -> Result<ExitCode, Failure> {
    let StatusListCommand::Export {
        agency,
        list,
        out,
        valid_for,
        ttl,
    } = cmd;
    let code = Uscc::parse(agency)?;
    let ledger = open_ledger_for_reading(data)?;
    let statuses = ledger.status_list(&code, *list).ok_or_else(|| {
        fail(
            format!("agency {code} has no status list {list} in this ledger"),
            "lists are created as licences are issued; list 0 is the first",
        )
    })?;
    let issuer = Issuer::new(keys.agency_key(&code)?)?;
    let uri = status_list_uri(public_url, code.as_str(), *list);
    let now = parse_time(None)?;
    let token = issuer.sign_status_list(&statuses, &uri, now, *valid_for, *ttl)?;
    write_output(out.as_deref(), &token)?;
    eprintln!(
        "status list {uri}: {} entries, valid until {}",
        statuses.len(),
        format_time(now + valid_for)
    );
    Ok(ExitCode::SUCCESS)
}
