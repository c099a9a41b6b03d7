//! `elicense qr`: a licence's paper seal as a QR code image (PNG or SVG) for printing.

use super::io::{fail, read_input, report, Failure};
use super::ledger as cli_ledger;
use clap::Args;
use elicense::keys::KeyStore;
use elicense::licence::identifier::LicenceId;
use elicense::qr::{SealQr, DEFAULT_MODULE_PX, MAX_MODULE_PX};
use elicense::seal;
use elicense::verify::{error_chain, Options, Verifier};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `qr`.
#[derive(Args, Debug)]
pub struct QrArgs {
    /// A licence identifier (its seal is read from the ledger in --data), or a file with a
    /// seal (EL1:…, as `issue` writes to *.seal.txt) or an SD-JWT licence; - for standard
    /// input.
    pub licence: String,
    /// Where to write the QR code: a .png or .svg file.
    #[arg(long, short)]
    pub out: PathBuf,
    /// PNG pixels per QR module.
    #[arg(long, default_value_t = DEFAULT_MODULE_PX,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_MODULE_PX)))]
    pub module_px: u32,
}

enum Format {
    Png,
    Svg,
}

/// Runs `qr`: 0 written, 1 the licence in the file does not verify, 2 an error.
pub fn qr(store: &KeyStore, data: &Path, args: &QrArgs) -> Result<ExitCode, Failure> {
    let ext = args
        .out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match ext.as_deref() {
        Some("png") => Format::Png,
        Some("svg") => Format::Svg,
        _ => {
            return Err(fail(
                format!("--out {} is neither .png nor .svg", args.out.display()),
                "name the output x.png (an image to print) or x.svg (scales to any size)",
            ))
        }
    };
    let (sealed, id) = match LicenceId::parse(&args.licence) {
        Ok(id) => (stored_seal(data, &id, None)?, id),
        Err(_) => {
            let path = Path::new(&args.licence);
            if args.licence != "-" && !path.exists() {
                return Err(fail(
                    format!(
                        "{} is neither a licence identifier nor a file",
                        args.licence
                    ),
                    "pass an identifier (1.2.156.3005.2.…, see `elicense status`) or a file with a seal or an SD-JWT licence",
                ));
            }
            let text = read_input(path)?;
            let text = text.trim();
            let Some(id) = verified_id(store, text, path)? else {
                return Ok(ExitCode::from(1));
            };
            if text.starts_with(seal::PREFIX) {
                (text.to_owned(), id)
            } else {
                (stored_seal(data, &id, Some(path))?, id)
            }
        }
    };
    let qr = SealQr::new(&sealed)?;
    let bytes = match format {
        Format::Png => qr.to_png(args.module_px)?,
        Format::Svg => qr.to_svg().into_bytes(),
    };
    std::fs::write(&args.out, bytes).map_err(|e| {
        fail(
            format!("{}: {e}", args.out.display()),
            "check that the directory exists and is writable",
        )
    })?;
    println!(
        "wrote {}: QR version {} ({}×{} modules, error correction Q) of the {}-character seal of {id}",
        args.out.display(),
        qr.version(),
        qr.width(),
        qr.width(),
        sealed.len(),
    );
    Ok(ExitCode::SUCCESS)
}

/// The identifier of the licence or seal in `text`, once it verifies (signature and issuer
/// now, status not checked); `None` after reporting why it does not.
fn verified_id(store: &KeyStore, text: &str, path: &Path) -> Result<Option<LicenceId>, Failure> {
    let trust = store.trust_store().map_err(|e| Failure {
        hint: Some(format!(
            "a licence file is verified before it is printed, which needs the root certificate: pass --keys DIR (now {})",
            store.dir().display()
        )),
        error: Box::new(e),
    })?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    match Verifier::new(trust).verify(text, &Options::at(now)) {
        Ok(v) => Ok(Some(v.id().clone())),
        Err(e) => {
            report(&fail(
                format!(
                    "{} does not verify [{}]: {}",
                    path.display(),
                    e.code(),
                    error_chain(&e)
                ),
                "only a genuine, current licence is printed; check it with `elicense verify`",
            ));
            Ok(None)
        }
    }
}

/// The seal the ledger keeps for `id`.
fn stored_seal(data: &Path, id: &LicenceId, from: Option<&Path>) -> Result<String, Failure> {
    let how = match from {
        Some(p) => format!(
            "the seal of {} is written beside it when it is issued with --out (a .seal.txt file): pass that file, or pass --data with the ledger it was issued into",
            p.display()
        ),
        None => "check the identifier (`elicense status ID`) and --data".to_owned(),
    };
    if !cli_ledger::ledger_exists(data) {
        return Err(fail(
            format!("there is no ledger in {}", data.display()),
            how,
        ));
    }
    let ledger = cli_ledger::open_ledger_for_reading(data)?;
    let key = id.to_string();
    if ledger.record(&key)?.is_none() {
        return Err(fail(
            format!("the ledger in {} has no licence {key}", data.display()),
            how,
        ));
    }
    ledger.seal(&key)?.ok_or_else(|| {
        fail(
            format!("the ledger keeps no paper seal for {key}"),
            "it was issued before seals were kept; re-issue it with a new version to print it",
        )
    })
}
