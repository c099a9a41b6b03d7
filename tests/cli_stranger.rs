//! The command line as a stranger meets it (issue 10, "One way through"): each test is one
//! stumble a new user had, run through the real binary in a temporary directory, judged by
//! the exit code (0 valid or done, 1 invalid licence, 2 error) and what is printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::cli::{fixture, p, run_in, Run};
use serde_json::Value;
use std::path::PathBuf;

const AGENCY_NAME: &str = "示例市市场监督管理局";
const AGENCY_CODE: &str = "11350100MB00000012";

/// A temporary directory with a key store `keys` (root CA and the demo agency) and the
/// ledger `data`, made through the CLI.
struct Office {
    dir: tempfile::TempDir,
}

impl Office {
    fn new() -> Self {
        let o = Office {
            dir: tempfile::tempdir().unwrap(),
        };
        o.run(&["init"]).expect_code(0);
        o.run(&[
            "agency",
            "add",
            "--name",
            AGENCY_NAME,
            "--code",
            AGENCY_CODE,
        ])
        .expect_code(0);
        o
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs with `--keys keys --data data`.
    fn run(&self, args: &[&str]) -> Run {
        let mut all = vec!["--keys", "keys", "--data", "data"];
        all.extend_from_slice(args);
        run_in(self.dir.path(), &all, None)
    }

    /// Runs in the directory with exactly `args` (a verifier: no key store of its own).
    fn bare(&self, args: &[&str]) -> Run {
        run_in(self.dir.path(), args, None)
    }

    /// Issues the business licence fixture into `out` (and its seal beside it); returns
    /// the identifier.
    fn issue(&self, out: &str) -> String {
        let req = fixture("requests/business_licence.json");
        let r = self.run(&["issue", p(&req), "--agency", AGENCY_CODE, "--out", out]);
        r.expect_code(0);
        issued_id(&r)
    }
}

fn issued_id(r: &Run) -> String {
    r.stderr
        .lines()
        .find_map(|l| l.strip_prefix("issued "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("issued <id>\n{}", r.describe()))
        .to_owned()
}

// ─── 10. token ids that look like options ───────────────────────────────────────────

#[test]
fn token_ids_never_start_with_a_dash_and_old_ones_revoke_with_or_without_double_dash() {
    let o = Office::new();
    for _ in 0..20 {
        let r = o.run(&["agency", "token", "create", "--agency", AGENCY_CODE]);
        r.expect_code(0);
        let id = r
            .stderr
            .strip_prefix("token ")
            .and_then(|s| s.split_whitespace().next())
            .unwrap()
            .to_owned();
        assert!(id.starts_with("tk") && !id.starts_with('-'), "{id}");
        o.run(&["agency", "token", "revoke", &id])
            .expect_code(0)
            .stdout_has(&format!("revoked token {id}"));
    }
    // Token files written before ids had a prefix: an id may start with `-`.
    let file = o.path("keys/agency-tokens.json");
    let mut records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    for id in ["-Ab3_x9Q", "-zz-9_Qa"] {
        records.push(serde_json::json!({
            "id": id, "agency": AGENCY_CODE, "sha256": "x", "created": 1
        }));
    }
    std::fs::write(&file, serde_json::to_vec(&records).unwrap()).unwrap();
    o.run(&["agency", "token", "revoke", "-Ab3_x9Q"])
        .expect_code(0)
        .stdout_has("revoked token -Ab3_x9Q");
    o.run(&["agency", "token", "revoke", "--", "-zz-9_Qa"])
        .expect_code(0)
        .stdout_has("revoked token -zz-9_Qa");
    o.run(&["agency", "token", "list"])
        .expect_code(0)
        .stdout_has("-Ab3_x9Q");
}

/// The trust list as `GET /v1/trust-list` publishes it, of the agency certificates in
/// `certs` (PEM files).
fn trust_list(certs: &[PathBuf]) -> String {
    let issuers: Vec<Value> = certs
        .iter()
        .map(|c| {
            let pem = std::fs::read_to_string(c).unwrap();
            let der = elicense::keys::pem_decode(&pem, "CERTIFICATE").unwrap();
            let info = elicense::pki::read_issuer(&der).unwrap();
            serde_json::json!({
                "kid": info.kid,
                "name": info.agency.name,
                "code": info.agency.code,
                "iss": info.agency.issuer_uri,
                "jwk": info.public_key.to_jwk(),
                "certificate": elicense::jose::b64_encode(&der),
            })
        })
        .collect();
    serde_json::json!({ "roots": [], "issuers": issuers }).to_string()
}

// ─── 1. a genuine seal checked with only the root ───────────────────────────────────

#[test]
fn a_seal_checked_with_the_root_and_the_trust_list_is_genuine_and_without_it_cannot_be_checked() {
    let o = Office::new();
    o.issue("bl.sdjwt");
    // The verifier has the root and the seal, nothing else: not a forgery, just unknown.
    let r = o.bare(&[
        "verify",
        "--root",
        "keys/root.crt.pem",
        "--no-ledger",
        "bl.seal.txt",
    ]);
    r.expect_code(1)
        .stdout_has("CANNOT CHECK 无法核验")
        .stdout_has("issuer unknown")
        .stdout_has("--trust-list")
        .stdout_lacks("NOT GENUINE");
    // With the published trust list the seal's issuer is known: genuine (status unknown
    // offline, so still 1, but the signature is checked).
    let agency = o.path(&format!("keys/agencies/{AGENCY_CODE}.crt.pem"));
    std::fs::write(
        o.path("trust-list.json"),
        trust_list(std::slice::from_ref(&agency)),
    )
    .unwrap();
    o.bare(&[
        "verify",
        "--root",
        "keys/root.crt.pem",
        "--trust-list",
        "trust-list.json",
        "--no-ledger",
        "bl.seal.txt",
    ])
    .expect_code(1)
    .stdout_has("SIGNATURE VALID")
    .stdout_has(AGENCY_NAME)
    .stdout_lacks("CANNOT CHECK");
    // With the ledger too, VALID and exit 0.
    o.run(&[
        "verify",
        "--root",
        "keys/root.crt.pem",
        "--trust-list",
        "trust-list.json",
        "bl.seal.txt",
    ])
    .expect_code(0)
    .stdout_has("VALID 有效");
    // An issuer under another root in the list is refused and named; the others are used.
    let foreign = fixture("keys/other-root/agencies/11310000MB0000004M.crt.pem");
    std::fs::write(o.path("mixed.json"), trust_list(&[foreign.clone(), agency])).unwrap();
    o.run(&[
        "verify",
        "--root",
        "keys/root.crt.pem",
        "--trust-list",
        "mixed.json",
        "bl.seal.txt",
    ])
    .expect_code(0)
    .stderr_has("11310000MB0000004M")
    .stderr_has("does not chain");
    // Only foreign issuers: an error saying whose trust list to pass.
    std::fs::write(o.path("foreign.json"), trust_list(&[foreign])).unwrap();
    o.run(&[
        "verify",
        "--root",
        "keys/root.crt.pem",
        "--trust-list",
        "foreign.json",
        "bl.seal.txt",
    ])
    .expect_code(2)
    .stderr_has("chains to the root")
    .stderr_has("hint:");
    // The JSON verdict keeps its shape and code.
    let j = o
        .bare(&[
            "verify",
            "--root",
            "keys/root.crt.pem",
            "--json",
            "bl.seal.txt",
        ])
        .expect_code(1)
        .json();
    assert_eq!(j["reason"]["code"], "untrusted_issuer", "{j:#}");
}

// ─── 2. offline: when exit 0 is reached ─────────────────────────────────────────────

#[test]
fn verify_help_says_when_exit_0_is_reached_and_no_ledger_is_named_as_skipped() {
    let o = Office::new();
    o.run(&["verify", "--help"])
        .expect_code(0)
        .stdout_has("0 valid")
        .stdout_has("status is known to be neither revoked nor suspended")
        .stdout_has("still fresh")
        .stdout_has("--status-list")
        .stdout_has("status unknown");
    o.issue("bl.sdjwt");
    o.run(&["verify", "--no-ledger", "bl.sdjwt"])
        .expect_code(1)
        .stdout_has("STATUS UNKNOWN")
        .stdout_has("ledger not consulted (--no-ledger)")
        .stdout_lacks("no ledger in");
    // A fresh status list gives exit 0 offline.
    o.run(&[
        "status-list",
        "export",
        "--agency",
        AGENCY_CODE,
        "--out",
        "list.jwt",
    ])
    .expect_code(0);
    o.run(&[
        "verify",
        "--no-ledger",
        "--status-list",
        "list.jwt",
        "bl.sdjwt",
    ])
    .expect_code(0)
    .stdout_has("VALID 有效");
}

// ─── 7. offline revocation: the list's time, not a revocation time ──────────────────

#[test]
fn an_offline_revocation_says_revoked_as_of_the_lists_signing_time() {
    let o = Office::new();
    let id = o.issue("bl.sdjwt");
    o.run(&[
        "revoke",
        &id,
        "--agency",
        AGENCY_CODE,
        "--at",
        "2026-01-02T00:00:00+08:00",
    ])
    .expect_code(0);
    o.run(&[
        "status-list",
        "export",
        "--agency",
        AGENCY_CODE,
        "--out",
        "list.jwt",
    ])
    .expect_code(0);
    o.run(&[
        "verify",
        "--no-ledger",
        "--status-list",
        "list.jwt",
        "bl.sdjwt",
    ])
    .expect_code(1)
    .stdout_has("REVOKED 已撤销")
    .stdout_has("revoked as of")
    .stdout_has("does not carry the revocation time")
    .stdout_lacks("revoked on");
    // Online the ledger knows when.
    o.run(&["verify", "bl.sdjwt"])
        .expect_code(1)
        .stdout_has("revoked on 2026-01-02");
}

// ─── 8. a damaged seal prefix is not "no '~' separator" alone ───────────────────────

#[test]
fn a_seal_with_a_damaged_prefix_json_or_a_bare_jws_is_named_for_what_it_looks_like() {
    let o = Office::new();
    o.issue("bl.sdjwt");
    let seal = std::fs::read_to_string(o.path("bl.seal.txt")).unwrap();
    let sd_jwt = std::fs::read_to_string(o.path("bl.sdjwt")).unwrap();
    let jws = sd_jwt.split('~').next().unwrap().to_owned();
    for (name, text, says) in [
        (
            "el2.txt",
            seal.replacen("EL1:", "EL2:", 1),
            "damaged prefix",
        ),
        ("e1.txt", seal.replacen("EL1:", "E1:", 1), "damaged prefix"),
        (
            "junk.txt",
            format!("##{seal}"),
            "stray characters before its EL1:",
        ),
        (
            "body.json",
            serde_json::json!({ "licence": sd_jwt }).to_string(),
            "POST /v1/verify",
        ),
        (
            "list.json",
            "{\"issuers\": []}".to_owned(),
            "looks like JSON",
        ),
        ("jws.txt", jws, "compact JWS"),
    ] {
        std::fs::write(o.path(name), text).unwrap();
        o.run(&["verify", name])
            .expect_code(1)
            .stdout_has("[malformed]")
            .stdout_has(says);
    }
}

// ─── 9. a verifier without a key store is not told to create a root CA ──────────────

#[test]
fn a_verifier_without_a_key_store_is_told_to_pass_the_root_not_to_run_init() {
    let o = Office::new();
    o.issue("bl.sdjwt");
    o.bare(&["--keys", "nowhere", "verify", "bl.sdjwt"])
        .expect_code(2)
        .stderr_has("--root")
        .stderr_has("--trust-list")
        .stderr_has("--keys")
        .stderr_lacks("elicense init");
}

// ─── 3. present: say what to disclose; key binding needs --aud and --nonce ─────────

#[test]
fn present_without_a_choice_is_refused_naming_the_options_and_its_help_names_aud_and_nonce() {
    let o = Office::new();
    o.issue("bl.sdjwt");
    let r = o.run(&["present", "bl.sdjwt", "--out", "shown.sdjwt"]);
    r.expect_code(2)
        .stderr_has("--disclose")
        .stderr_has("--all")
        .stderr_has("--none")
        .stderr_has("holder_name");
    assert!(!o.path("shown.sdjwt").exists(), "nothing written");
    o.run(&["present", "bl.sdjwt", "--none", "--out", "shown.sdjwt"])
        .expect_code(0);
    o.run(&["verify", "shown.sdjwt"])
        .expect_code(0)
        .stdout_lacks("示例科技有限公司");
    o.run(&["present", "bl.sdjwt", "--none", "--all"])
        .expect_code(2);
    let help = o.run(&["present", "--help"]);
    help.expect_code(0);
    let line = help
        .stdout
        .lines()
        .skip_while(|l| !l.contains("--holder-key"))
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(line.contains("--aud") && line.contains("--nonce"), "{line}");
}

// ─── 4. issue --holder-key ──────────────────────────────────────────────────────────

#[test]
fn issue_takes_the_holder_key_keygen_wrote_or_printed() {
    let o = Office::new();
    let jwk = o.run(&["keygen", "--out", "holder.key.pem"]);
    jwk.expect_code(0);
    std::fs::write(o.path("holder.jwk"), &jwk.stdout).unwrap();
    let req = fixture("requests/business_licence.json");
    for (i, key) in ["holder.key.pem", "holder.jwk"].into_iter().enumerate() {
        // Another serial for each, so both are new licences.
        let mut r: Value = serde_json::from_str(&std::fs::read_to_string(&req).unwrap()).unwrap();
        r["serial"] = format!("HK{i}").into();
        std::fs::write(o.path("req.json"), r.to_string()).unwrap();
        o.run(&[
            "issue",
            "req.json",
            "--agency",
            AGENCY_CODE,
            "--holder-key",
            key,
            "--out",
            "bound.sdjwt",
        ])
        .expect_code(0);
        // Bound: presentable with key binding by that key, checked by the verifier.
        o.run(&[
            "present",
            "bound.sdjwt",
            "--disclose",
            "holder_name",
            "--holder-key",
            "holder.key.pem",
            "--aud",
            "https://bank.example",
            "--nonce",
            "n-1",
            "--out",
            "kb.sdjwt",
        ])
        .expect_code(0);
        o.run(&[
            "verify",
            "kb.sdjwt",
            "--aud",
            "https://bank.example",
            "--nonce",
            "n-1",
        ])
        .expect_code(0)
        .stdout_has("presented by the holder");
    }
    std::fs::write(o.path("nokey.txt"), "hello").unwrap();
    o.run(&[
        "issue",
        p(&req),
        "--agency",
        AGENCY_CODE,
        "--holder-key",
        "nokey.txt",
    ])
    .expect_code(2)
    .stderr_has("keygen");
}

// ─── 5. the same serial again ───────────────────────────────────────────────────────

#[test]
fn the_same_request_again_is_the_licence_recorded_then_and_another_names_serial_once() {
    let o = Office::new();
    let id = o.issue("bl.sdjwt");
    let req = fixture("requests/business_licence.json");
    o.run(&[
        "issue",
        p(&req),
        "--agency",
        AGENCY_CODE,
        "--out",
        "again.sdjwt",
    ])
    .expect_code(0)
    .stderr_has("already issued (same request): the licence recorded then")
    .stderr_has(&id);
    assert_eq!(
        std::fs::read_to_string(o.path("again.sdjwt")).unwrap(),
        std::fs::read_to_string(o.path("bl.sdjwt")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(o.path("again.seal.txt")).unwrap(),
        std::fs::read_to_string(o.path("bl.seal.txt")).unwrap()
    );
    // A different request for the same identifier.
    let mut other: Value = serde_json::from_str(&std::fs::read_to_string(&req).unwrap()).unwrap();
    other["holder"]["name"] = "另一家有限公司".into();
    std::fs::write(o.path("other.json"), other.to_string()).unwrap();
    let r = o.run(&[
        "issue",
        "other.json",
        "--agency",
        AGENCY_CODE,
        "--out",
        "x.sdjwt",
    ]);
    r.expect_code(2)
        .stderr_has("already issued from a different request")
        .stderr_has("`serial`")
        .stderr_has("`version`");
    assert_eq!(
        r.stderr.matches("different request").count(),
        1,
        "{}",
        r.describe()
    );
    assert!(!o.path("x.sdjwt").exists());
}
