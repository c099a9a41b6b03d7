//! `elicense demo`: a demo PKI, the fixture licences issued and verified, a forgery caught,
//! a revocation shown.

use super::io::Failure;
use super::ledger as cli_ledger;
use elicense::issue::Issuer;
use elicense::keys::{self, KeyStore};
use elicense::ledger::Action;
use elicense::licence::codes::Uscc;
use elicense::licence::LicenceRequest;
use elicense::pki::AgencyIdentity;
use elicense::sdjwt;
use elicense::verify::{self, Options, StatusCheck, Verifier};
use std::path::Path;
use std::process::ExitCode;
use time::OffsetDateTime;

/// Demo agency (示例市市场监督管理局) used by `demo` and the embedded default.
const DEMO_AGENCY_CODE: &str = "11350100MB00000012";
const DEMO_AGENCY_NAME: &str = "示例市市场监督管理局";
const DEMO_REQUESTS: [(&str, &str); 3] = [
    (
        "business_licence",
        include_str!("../../fixtures/requests/business_licence.json"),
    ),
    (
        "food_business_permit",
        include_str!("../../fixtures/requests/food_business_permit.json"),
    ),
    (
        "teacher_qualification",
        include_str!("../../fixtures/requests/teacher_qualification.json"),
    ),
];

/// Runs `demo`: 0 when every verdict is the expected one.
pub fn demo(store: &KeyStore, data: &Path, public_url: &str) -> Result<ExitCode, Failure> {
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
pub fn ensure_demo_pki(store: &KeyStore, now: OffsetDateTime) -> Result<Uscc, Failure> {
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

/// Replaces the first disclosure with one for the same claim but another value.
fn tamper_disclosure(sd_jwt: &str) -> String {
    let mut parts: Vec<String> = sd_jwt.split('~').map(str::to_owned).collect();
    if let Some(d) = parts.get(1).and_then(|d| sdjwt::decode_disclosure(d).ok()) {
        let forged = serde_json::json!([d.salt, d.name, "伪造 forged"]);
        parts[1] = elicense::jose::b64u_encode(forged.to_string());
    }
    parts.join("~")
}
