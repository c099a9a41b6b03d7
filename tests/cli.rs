//! The command line, end to end: the real `elicense` binary is run in temporary
//! directories and judged by what an operator sees — exit codes (0 valid or done,
//! 1 invalid licence, 2 error) and the text on standard output and standard error.
//!
//! Nothing here writes outside a temporary directory: every run gets its own working
//! directory and an explicit `--keys`, and `ELICENSE_KEYS` is removed from the
//! environment.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::cli::{fixture, p, run, run_in, Run};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

const AGENCY_NAME: &str = "示例市市场监督管理局";
const AGENCY_CODE: &str = "11350100MB00000012";
/// A well-formed USCC of an agency that the fresh key stores below do not contain.
const OTHER_AGENCY_CODE: &str = "11440300MB00000022";
/// Verification time of the golden licences: 2026-01-01T00:00:00+08:00.
const GOLDEN_AT: &str = "1767196800";

const BANK: &str = "https://bank.example";

fn request_path(name: &str) -> PathBuf {
    fixture(&format!("requests/{name}.json"))
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A temporary working directory with a fresh key store `T` holding a root CA and the
/// demo agency, made through the CLI.
struct Fresh {
    dir: tempfile::TempDir,
}

impl Fresh {
    fn new() -> Self {
        let f = Fresh {
            dir: tempfile::tempdir().unwrap(),
        };
        f.run(&["init"])
            .expect_code(0)
            .stdout_has("created root CA")
            .stdout_has("elicense agency add");
        f.run(&[
            "agency",
            "add",
            "--name",
            AGENCY_NAME,
            "--code",
            AGENCY_CODE,
        ])
        .expect_code(0)
        .stdout_has("created agency certificate")
        .stdout_has(AGENCY_CODE);
        f
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs with `--keys T` prepended.
    fn run(&self, args: &[&str]) -> Run {
        self.run_stdin(args, None)
    }

    fn run_stdin(&self, args: &[&str], stdin: Option<Vec<u8>>) -> Run {
        let mut all = vec!["--keys", "T"];
        all.extend_from_slice(args);
        run_in(self.dir.path(), &all, stdin)
    }

    /// Issues `request` as the demo agency into `out`; returns the identifier.
    fn issue(&self, request: &Path, out: &str) -> String {
        let r = self.run(&["issue", p(request), "--agency", AGENCY_CODE, "--out", out]);
        r.expect_code(0).stderr_has("issued 1.2.156.3005.2.");
        assert!(
            r.stdout.is_empty(),
            "--out writes no stdout\n{}",
            r.describe()
        );
        assert!(self.path(out).is_file());
        r.stderr
            .lines()
            .find_map(|l| l.strip_prefix("issued "))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("issued <id>")
            .to_owned()
    }

    fn key_path(&self) -> PathBuf {
        self.path(&format!("T/agencies/{AGENCY_CODE}.key.pem"))
    }
}

fn read_request(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn request_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture("requests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        names.len() >= 3,
        "fixtures/requests has the three examples: {names:?}"
    );
    names
}

// ─── 1. fresh flow ──────────────────────────────────────────────────────────────────

#[test]
fn fresh_key_store_issues_and_verifies_every_fixture_request() {
    let f = Fresh::new();
    f.run(&["agency", "list"])
        .expect_code(0)
        .stdout_has(AGENCY_CODE)
        .stdout_has(AGENCY_NAME)
        .stdout_has(&format!(
            "iss https://elicense.example/agencies/{AGENCY_CODE}"
        ));

    for name in request_names() {
        let request = request_path(&name);
        let req = read_request(&request);
        let holder = req["holder"]["name"].as_str().unwrap().to_owned();
        let out = format!("{name}.sdjwt");
        let id = f.issue(&request, &out);
        assert!(id.contains(AGENCY_CODE), "{id}");

        f.run(&["verify", &out])
            .expect_code(0)
            .stdout_has("VALID")
            .stdout_has(&id)
            .stdout_has(&holder)
            .stdout_has(AGENCY_NAME)
            .stdout_has(AGENCY_CODE)
            .stdout_lacks("INVALID")
            .stdout_lacks("key binding checked");

        let j = f.run(&["verify", "--json", &out]).expect_code(0).json();
        assert_eq!(j["verdict"], "valid", "{j:#}");
        assert_eq!(j["licence_id"], id.as_str(), "{j:#}");
        assert_eq!(j["issuer"]["code"], AGENCY_CODE, "{j:#}");
        assert_eq!(j["issuer"]["name"], AGENCY_NAME, "{j:#}");
        assert_eq!(j["holder"]["name"], holder.as_str(), "{j:#}");
        assert_eq!(j["holder"]["id"], req["holder"]["id"], "{j:#}");
        assert_eq!(j["type"]["slug"], req["type"], "{j:#}");
        assert_eq!(j["key_bound"], false, "{j:#}");
        // Every face field of the request is shown, with its value.
        let fields = j["fields"].as_array().unwrap();
        let req_fields = req["fields"].as_object().unwrap();
        assert_eq!(fields.len(), req_fields.len(), "{j:#}");
        for field in fields {
            let key = field["key"].as_str().unwrap();
            assert_eq!(field["value"], req_fields[key], "{key}");
        }
    }
}

#[test]
fn issue_to_stdout_and_verify_from_stdin() {
    let f = Fresh::new();
    let issued = f.run(&[
        "issue",
        p(&request_path("teacher_qualification")),
        "--agency",
        AGENCY_CODE,
    ]);
    issued.expect_code(0).stderr_has("issued ");
    assert!(issued.stdout.trim().contains('~'), "{}", issued.describe());
    f.run_stdin(&["verify", "-"], Some(issued.stdout.clone().into_bytes()))
        .expect_code(0)
        .stdout_has("VALID")
        .stdout_has("王五");
}

// ─── 2. keys are never overwritten ──────────────────────────────────────────────────

#[test]
fn keys_are_private_and_never_overwritten() {
    let f = Fresh::new();
    let root_key = f.path("T/root.key.pem");
    let root_crt = f.path("T/root.crt.pem");
    assert_eq!(mode(&root_key), 0o600, "root key mode");
    assert_eq!(mode(&f.key_path()), 0o600, "agency key mode");
    let key_before = std::fs::read(&root_key).unwrap();
    let crt_before = std::fs::read(&root_crt).unwrap();
    let agency_before = std::fs::read(f.key_path()).unwrap();

    f.run(&["init"])
        .expect_error()
        .stderr_has("never overwritten")
        .stderr_has("root.crt.pem");
    f.run(&["init", "--name", "Another Root"])
        .expect_error()
        .stderr_has("never overwritten");
    assert_eq!(std::fs::read(&root_key).unwrap(), key_before);
    assert_eq!(std::fs::read(&root_crt).unwrap(), crt_before);
    assert_eq!(mode(&root_key), 0o600);

    f.run(&["agency", "add", "--name", "别的名字", "--code", AGENCY_CODE])
        .expect_error()
        .stderr_has("never overwritten");
    assert_eq!(std::fs::read(f.key_path()).unwrap(), agency_before);

    // Holder keys too.
    let k = f.run(&["keygen", "--out", "holder.key.pem"]);
    k.expect_code(0);
    let holder = f.path("holder.key.pem");
    assert_eq!(mode(&holder), 0o600, "holder key mode");
    let holder_before = std::fs::read(&holder).unwrap();
    f.run(&["keygen", "--out", "holder.key.pem"])
        .expect_error()
        .stderr_has("never overwritten");
    assert_eq!(std::fs::read(&holder).unwrap(), holder_before);
}

// ─── 3. error messages teach ────────────────────────────────────────────────────────

#[test]
fn agency_code_with_a_wrong_check_character_names_the_right_one() {
    let f = Fresh::new();
    // 11350100MB00000012 is valid: its check character is '2'.
    let wrong = "11350100MB00000013";
    f.run(&["agency", "add", "--name", "错码局", "--code", wrong])
        .expect_error()
        .stderr_has("check character is '2'")
        .stderr_has("'3'");
    assert!(!f.path(&format!("T/agencies/{wrong}.crt.pem")).exists());
    assert!(!f.path(&format!("T/agencies/{wrong}.key.pem")).exists());

    // A code of the wrong length says how long it must be.
    f.run(&[
        "agency",
        "add",
        "--name",
        "短码局",
        "--code",
        "11350100MB0000001",
    ])
    .expect_error()
    .stderr_has("18");
}

#[test]
fn agency_add_before_init_says_to_run_init() {
    let dir = tempfile::tempdir().unwrap();
    run(
        dir.path(),
        &[
            "--keys",
            "T",
            "agency",
            "add",
            "--name",
            AGENCY_NAME,
            "--code",
            AGENCY_CODE,
        ],
    )
    .expect_error()
    .stderr_has("elicense init");
    // Listing an empty store is not an error.
    run(dir.path(), &["--keys", "T", "agency", "list"])
        .expect_code(0)
        .stdout_lacks(AGENCY_CODE);
}

#[test]
fn issue_for_an_unknown_agency_says_how_to_add_it() {
    let f = Fresh::new();
    f.run(&[
        "issue",
        p(&request_path("business_licence")),
        "--agency",
        OTHER_AGENCY_CODE,
        "--out",
        "x.sdjwt",
    ])
    .expect_error()
    .stderr_has(OTHER_AGENCY_CODE)
    .stderr_has("elicense agency add");
    assert!(!f.path("x.sdjwt").exists());

    // An --agency that is not a USCC at all is caught before the key store is touched.
    f.run(&[
        "issue",
        p(&request_path("business_licence")),
        "--agency",
        "11350100MB00000013",
    ])
    .expect_error()
    .stderr_has("check character is '2'");
}

#[test]
fn issue_of_a_request_missing_a_required_field_names_the_field() {
    let f = Fresh::new();
    let base = read_request(&request_path("business_licence"));
    for field in ["type", "serial", "holder", "valid_from", "fields"] {
        let mut req = base.clone();
        req.as_object_mut().unwrap().remove(field).unwrap();
        let file = format!("no_{field}.json");
        std::fs::write(f.path(&file), serde_json::to_vec_pretty(&req).unwrap()).unwrap();
        let out = format!("no_{field}.sdjwt");
        f.run(&["issue", &file, "--agency", AGENCY_CODE, "--out", &out])
            .expect_error()
            .stderr_has(&file)
            .stderr_has(&format!("missing field `{field}`"))
            .stderr_has("hint: ")
            .stderr_has("fixtures/requests");
        assert!(!f.path(&out).exists(), "{field}");
    }

    // Not JSON at all: same teaching error.
    std::fs::write(f.path("junk.json"), "type: business_licence\n").unwrap();
    f.run(&["issue", "junk.json", "--agency", AGENCY_CODE])
        .expect_error()
        .stderr_has("not a valid licence request");
}

#[test]
fn verify_of_a_missing_file_is_an_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixture("keys");
    run(
        dir.path(),
        &["--keys", p(&keys), "verify", "no-such-licence.sdjwt"],
    )
    .expect_error()
    .stderr_has("no-such-licence.sdjwt");
    run(
        dir.path(),
        &[
            "--keys",
            p(&keys),
            "verify",
            "--json",
            "no-such-licence.sdjwt",
        ],
    )
    .expect_error();
}

#[test]
fn verify_with_a_bad_time_hints_at_rfc_3339() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixture("keys");
    let licence = fixture("licences/valid__business_licence.sdjwt");
    for bad in ["not-a-time", "2026-01-01", "yesterday"] {
        run(
            dir.path(),
            &["--keys", p(&keys), "verify", "--at", bad, p(&licence)],
        )
        .expect_error()
        .stderr_has(bad)
        .stderr_has("hint: ")
        .stderr_has("RFC 3339");
    }
    // Both accepted forms of the same instant give the same verdict.
    for at in [
        GOLDEN_AT,
        "2026-01-01T00:00:00+08:00",
        "2025-12-31T16:00:00Z",
    ] {
        let j = run(
            dir.path(),
            &[
                "--keys",
                p(&keys),
                "verify",
                "--json",
                "--at",
                at,
                p(&licence),
            ],
        )
        .expect_code(0)
        .json();
        assert_eq!(j["checked_at"], "2026-01-01T00:00:00+08:00", "{at}");
    }
}

#[test]
fn verify_without_a_root_says_where_to_get_one() {
    let dir = tempfile::tempdir().unwrap();
    let licence = fixture("licences/valid__business_licence.sdjwt");
    run(
        dir.path(),
        &["--keys", "empty", "verify", "--at", GOLDEN_AT, p(&licence)],
    )
    .expect_error()
    .stderr_has("root.crt.pem")
    .stderr_has("--root");
    // A --root that is not a certificate.
    std::fs::write(dir.path().join("notacert.pem"), "hello").unwrap();
    run(
        dir.path(),
        &[
            "verify",
            "--root",
            "notacert.pem",
            "--at",
            GOLDEN_AT,
            p(&licence),
        ],
    )
    .expect_error()
    .stderr_has("CERTIFICATE");
}

#[test]
fn world_readable_agency_key_is_refused_with_chmod_600() {
    let f = Fresh::new();
    let key = f.key_path();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    f.run(&[
        "issue",
        p(&request_path("business_licence")),
        "--agency",
        AGENCY_CODE,
        "--out",
        "bl.sdjwt",
    ])
    .expect_error()
    .stderr_has("chmod 600")
    .stderr_has(&format!("{AGENCY_CODE}.key.pem"));
    assert!(!f.path("bl.sdjwt").exists());

    // Group-readable is refused too.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).unwrap();
    f.run(&[
        "issue",
        p(&request_path("business_licence")),
        "--agency",
        AGENCY_CODE,
    ])
    .expect_error()
    .stderr_has("chmod 600");

    // Following the advice fixes it.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    f.issue(&request_path("business_licence"), "bl.sdjwt");
}

// ─── 4. golden licences ─────────────────────────────────────────────────────────────

#[test]
fn golden_licences_give_their_named_verdict_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixture("keys");
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixture("licences"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sdjwt"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "golden licences: {}", files.len());
    let mut valid = 0;
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let (expected, _) = stem.split_once("__").expect("<outcome>__<what>.sdjwt");
        let r = run(
            dir.path(),
            &[
                "--keys",
                p(&keys),
                "verify",
                "--at",
                GOLDEN_AT,
                "--json",
                p(file),
            ],
        );
        let j = r.json();
        if expected == "valid" {
            valid += 1;
            r.expect_code(0);
            assert_eq!(j["verdict"], "valid", "{stem}\n{}", r.describe());
            assert!(
                j["licence_id"]
                    .as_str()
                    .is_some_and(|id| id.starts_with("1.2.156.3005.2.")),
                "{stem}: {j:#}"
            );
        } else {
            r.expect_code(1);
            assert_eq!(j["verdict"], "invalid", "{stem}\n{}", r.describe());
            assert_eq!(j["reason"]["code"], expected, "{stem}\n{}", r.describe());
            assert!(
                j["reason"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{stem}: {j:#}"
            );
            assert_eq!(j["checked_at"], "2026-01-01T00:00:00+08:00", "{stem}");
        }
        // The human-readable verdict agrees with the JSON one.
        let text = run(
            dir.path(),
            &["--keys", p(&keys), "verify", "--at", GOLDEN_AT, p(file)],
        );
        if expected == "valid" {
            text.expect_code(0).stdout_has("VALID 有效");
        } else {
            text.expect_code(1).stdout_has(&format!("[{expected}]"));
            // An issuer this verifier does not know is not a forgery: it cannot be checked.
            let label = if expected == "untrusted_issuer" {
                text.stdout.starts_with("CANNOT CHECK 无法核验")
            } else {
                text.stdout.starts_with("INVALID") || text.stdout.starts_with("NOT GENUINE")
            };
            assert!(label, "{}", text.describe());
        }
    }
    assert!(valid >= 7, "valid golden licences: {valid}");
}

#[test]
fn golden_expired_and_not_yet_valid_are_invalid_but_not_called_forgeries() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixture("keys");
    for (file, code) in [
        ("expired__food_permit_ended_2025_11_30.sdjwt", "expired"),
        (
            "not_yet_valid__valid_from_2026_06_01.sdjwt",
            "not_yet_valid",
        ),
    ] {
        run(
            dir.path(),
            &[
                "--keys",
                p(&keys),
                "verify",
                "--at",
                GOLDEN_AT,
                p(&fixture(&format!("licences/{file}"))),
            ],
        )
        .expect_code(1)
        .stdout_has("INVALID 无效")
        .stdout_has(code)
        .stdout_lacks("NOT GENUINE");
    }
    run(
        dir.path(),
        &[
            "--keys",
            p(&keys),
            "verify",
            "--at",
            GOLDEN_AT,
            p(&fixture("licences/bad_signature__payload_altered.sdjwt")),
        ],
    )
    .expect_code(1)
    .stdout_has("NOT GENUINE");
}

#[test]
fn root_option_replaces_the_key_store() {
    let dir = tempfile::tempdir().unwrap();
    let licence = fixture("licences/valid__business_licence.sdjwt");
    let root = fixture("keys/root.crt.pem");
    // --keys points at nothing: only --root is used.
    let j = run(
        dir.path(),
        &[
            "--keys",
            "nowhere",
            "verify",
            "--root",
            p(&root),
            "--at",
            GOLDEN_AT,
            "--json",
            p(&licence),
        ],
    )
    .expect_code(0)
    .json();
    assert_eq!(j["verdict"], "valid", "{j:#}");
    assert_eq!(j["issuer"]["code"], AGENCY_CODE, "{j:#}");
    assert_eq!(j["holder"]["name"], "示例科技有限公司", "{j:#}");

    run(
        dir.path(),
        &["verify", "--root", p(&root), "--at", GOLDEN_AT, p(&licence)],
    )
    .expect_code(0)
    .stdout_has("VALID")
    .stdout_has("示例科技有限公司");

    // Another root does not vouch for it.
    let other = fixture("keys/other-root/root.crt.pem");
    let j = run(
        dir.path(),
        &[
            "verify",
            "--root",
            p(&other),
            "--at",
            GOLDEN_AT,
            "--json",
            p(&licence),
        ],
    )
    .expect_code(1)
    .json();
    assert_eq!(j["reason"]["code"], "untrusted_issuer", "{j:#}");
}

// ─── 5. presentation ────────────────────────────────────────────────────────────────

#[test]
fn presentation_discloses_only_what_was_chosen() {
    let f = Fresh::new();
    f.issue(&request_path("business_licence"), "bl.sdjwt");
    let req = read_request(&request_path("business_licence"));
    let holder_id = req["holder"]["id"].as_str().unwrap();
    let legal_rep = req["fields"]["legal_representative"].as_str().unwrap();
    let address = req["fields"]["address"].as_str().unwrap();
    let scope = req["fields"]["business_scope"].as_str().unwrap();

    let r = f.run(&[
        "present",
        "bl.sdjwt",
        "--disclose",
        "holder_name,business_scope",
        "--out",
        "shown.sdjwt",
    ]);
    r.expect_code(0);
    assert!(r.stdout.is_empty(), "{}", r.describe());
    let issued = std::fs::read_to_string(f.path("bl.sdjwt")).unwrap();
    let shown = std::fs::read_to_string(f.path("shown.sdjwt")).unwrap();
    assert!(shown.len() < issued.len(), "a presentation is smaller");
    assert!(!shown.contains(holder_id));

    let j = f
        .run(&["verify", "--json", "shown.sdjwt"])
        .expect_code(0)
        .json();
    assert_eq!(j["verdict"], "valid", "{j:#}");
    assert_eq!(j["holder"]["name"], "示例科技有限公司", "{j:#}");
    assert!(j["holder"]["id"].is_null(), "holder id hidden: {j:#}");
    let keys: Vec<&str> = j["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["business_scope"], "{j:#}");
    assert_eq!(j["fields"][0]["value"], scope);
    let all_json = j.to_string();
    assert!(!all_json.contains(holder_id), "{j:#}");
    assert!(!all_json.contains(legal_rep), "{j:#}");
    assert!(!all_json.contains(address), "{j:#}");

    f.run(&["verify", "shown.sdjwt"])
        .expect_code(0)
        .stdout_has("示例科技有限公司")
        .stdout_has(scope)
        .stdout_lacks(holder_id)
        .stdout_lacks(legal_rep)
        .stdout_lacks(address)
        .stdout_lacks("holder id");

    // --all discloses everything; to standard output by default.
    let all = f.run(&["present", "bl.sdjwt", "--all"]);
    all.expect_code(0);
    let j = f
        .run_stdin(&["verify", "--json", "-"], Some(all.stdout.into_bytes()))
        .expect_code(0)
        .json();
    assert_eq!(j["holder"]["id"], holder_id, "{j:#}");
    assert_eq!(j["holder"]["name"], "示例科技有限公司", "{j:#}");
    assert_eq!(
        j["fields"].as_array().unwrap().len(),
        req["fields"].as_object().unwrap().len(),
        "{j:#}"
    );

    // --none: still a valid licence, showing no holder.
    f.run(&["present", "bl.sdjwt", "--none", "--out", "nothing.sdjwt"])
        .expect_code(0);
    let j = f
        .run(&["verify", "--json", "nothing.sdjwt"])
        .expect_code(0)
        .json();
    assert!(j["holder"]["name"].is_null(), "{j:#}");
    assert_eq!(j["fields"].as_array().unwrap().len(), 0, "{j:#}");

    // --all and --disclose contradict each other.
    f.run(&["present", "bl.sdjwt", "--all", "--disclose", "holder_name"])
        .expect_code(2);
}

// ─── 6. key binding ─────────────────────────────────────────────────────────────────

#[test]
fn key_bound_licence_presented_by_the_holder() {
    let f = Fresh::new();
    let k = f.run(&["keygen", "--out", "holder.key.pem"]);
    k.expect_code(0);
    let jwk: Value = serde_json::from_str(k.stdout.trim())
        .unwrap_or_else(|e| panic!("keygen prints a JWK ({e})\n{}", k.describe()));
    assert_eq!(jwk["kty"], "EC", "{jwk}");
    assert_eq!(jwk["crv"], "P-256", "{jwk}");
    assert!(jwk["x"].is_string() && jwk["y"].is_string(), "{jwk}");
    assert!(jwk.get("d").is_none(), "public JWK only: {jwk}");
    assert!(!k.stdout.contains("PRIVATE"), "{}", k.describe());
    let pem = std::fs::read_to_string(f.path("holder.key.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");

    let mut req = read_request(&request_path("business_licence"));
    req["holder_key"] = jwk;
    std::fs::write(f.path("bound.json"), serde_json::to_vec(&req).unwrap()).unwrap();
    f.issue(&f.path("bound.json"), "bound.sdjwt");

    f.run(&[
        "present",
        "bound.sdjwt",
        "--disclose",
        "holder_name",
        "--holder-key",
        "holder.key.pem",
        "--aud",
        BANK,
        "--nonce",
        "n1",
        "--out",
        "p.sdjwt",
    ])
    .expect_code(0);

    f.run(&["verify", "p.sdjwt", "--aud", BANK, "--nonce", "n1"])
        .expect_code(0)
        .stdout_has("VALID")
        .stdout_has("示例科技有限公司")
        .stdout_has("key binding");
    let j = f
        .run(&[
            "verify", "--json", "p.sdjwt", "--aud", BANK, "--nonce", "n1",
        ])
        .expect_code(0)
        .json();
    assert_eq!(j["key_bound"], true, "{j:#}");

    // Another nonce: a replay.
    let r = f.run(&[
        "verify", "--json", "p.sdjwt", "--aud", BANK, "--nonce", "n2",
    ]);
    let j = r.expect_code(1).json();
    assert_eq!(j["verdict"], "invalid", "{j:#}");
    assert_eq!(j["reason"]["code"], "key_binding_failed", "{j:#}");
    assert!(
        j["reason"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nonce")),
        "{j:#}"
    );
    f.run(&["verify", "p.sdjwt", "--aud", BANK, "--nonce", "n2"])
        .expect_code(1)
        .stdout_has("key_binding_failed")
        // A genuine licence shown to the wrong verifier is not a forgery.
        .stdout_lacks("NOT GENUINE");

    // Another audience.
    let j = f
        .run(&[
            "verify",
            "--json",
            "p.sdjwt",
            "--aud",
            "https://evil.example",
            "--nonce",
            "n1",
        ])
        .expect_code(1)
        .json();
    assert_eq!(j["reason"]["code"], "key_binding_failed", "{j:#}");

    // The bound licence without a key-binding JWT, when the verifier asks for one.
    let j = f
        .run(&[
            "verify",
            "--json",
            "bound.sdjwt",
            "--aud",
            BANK,
            "--nonce",
            "n1",
        ])
        .expect_code(1)
        .json();
    assert_eq!(j["reason"]["code"], "key_binding_failed", "{j:#}");

    // Signed with a key that is not the holder's: `present` may refuse outright; if it
    // does not, the verifier must.
    f.run(&["keygen", "--out", "thief.key.pem"]).expect_code(0);
    wrong_key_never_verifies(&f, "bound.sdjwt", "thief.key.pem");

    // A key-bound presentation cannot be re-presented.
    f.run(&["present", "p.sdjwt", "--all"]).expect_error();

    // --holder-key needs both --aud and --nonce.
    f.run(&[
        "present",
        "bound.sdjwt",
        "--holder-key",
        "holder.key.pem",
        "--aud",
        BANK,
    ])
    .expect_code(2)
    .stderr_has("--nonce");
}

#[test]
fn licence_without_holder_key_fails_when_key_binding_is_required() {
    let f = Fresh::new();
    f.issue(&request_path("business_licence"), "bl.sdjwt");
    let j = f
        .run(&["verify", "--json", "bl.sdjwt", "--aud", "x", "--nonce", "y"])
        .expect_code(1)
        .json();
    assert_eq!(j["verdict"], "invalid", "{j:#}");
    assert_eq!(j["reason"]["code"], "key_binding_failed", "{j:#}");
    // Only one of the two also requires it.
    let j = f
        .run(&["verify", "--json", "bl.sdjwt", "--nonce", "y"])
        .expect_code(1)
        .json();
    assert_eq!(j["reason"]["code"], "key_binding_failed", "{j:#}");

    // A KB-JWT added to a licence that names no holder key: refused by `present` or by
    // the verifier.
    f.run(&["keygen", "--out", "h.pem"]).expect_code(0);
    wrong_key_never_verifies(&f, "bl.sdjwt", "h.pem");
}

/// Presents `licence` with `key` for `BANK`/`n1`: either `present` refuses (exit 2,
/// nothing written) or the presentation fails verification with `key_binding_failed`.
fn wrong_key_never_verifies(f: &Fresh, licence: &str, key: &str) {
    let out = format!("{licence}.{key}.presented");
    let r = f.run(&[
        "present",
        licence,
        "--all",
        "--holder-key",
        key,
        "--aud",
        BANK,
        "--nonce",
        "n1",
        "--out",
        &out,
    ]);
    if r.code != 0 {
        r.expect_error();
        assert!(!f.path(&out).exists(), "{}", r.describe());
        return;
    }
    let j = f
        .run(&["verify", "--json", &out, "--aud", BANK, "--nonce", "n1"])
        .expect_code(1)
        .json();
    assert_eq!(j["reason"]["code"], "key_binding_failed", "{j:#}");
}

// ─── 7. standard input and hostile input ────────────────────────────────────────────

/// Deterministic bytes that are not UTF-8 (xorshift; includes NUL and 0xFF).
fn garbage(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    if let Some(b) = out.first_mut() {
        *b = 0xFF;
    }
    out
}

#[test]
fn verify_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixture("keys");
    let licence = std::fs::read(fixture("licences/valid__food_business_permit.sdjwt")).unwrap();
    run_in(
        dir.path(),
        &["--keys", p(&keys), "verify", "--at", GOLDEN_AT, "-"],
        Some(licence.clone()),
    )
    .expect_code(0)
    .stdout_has("VALID")
    .stdout_has("示例餐饮管理有限公司");
    // Same verdict as from the file.
    let from_file = run(
        dir.path(),
        &[
            "--keys",
            p(&keys),
            "verify",
            "--at",
            GOLDEN_AT,
            p(&fixture("licences/valid__food_business_permit.sdjwt")),
        ],
    );
    let from_stdin = run_in(
        dir.path(),
        &["--keys", p(&keys), "verify", "--at", GOLDEN_AT, "-"],
        Some(licence),
    );
    assert_eq!(from_file.stdout, from_stdin.stdout);

    // An invalid one on standard input is exit 1, not an error.
    let bad = std::fs::read(fixture("licences/bad_signature__payload_altered.sdjwt")).unwrap();
    let j = run_in(
        dir.path(),
        &[
            "--keys",
            p(&keys),
            "verify",
            "--at",
            GOLDEN_AT,
            "--json",
            "-",
        ],
        Some(bad),
    )
    .expect_code(1)
    .json();
    assert_eq!(j["reason"]["code"], "bad_signature", "{j:#}");

    // Empty standard input.
    run_in(
        dir.path(),
        &["--keys", p(&keys), "verify", "--at", GOLDEN_AT, "-"],
        Some(Vec::new()),
    )
    .expect_code(1)
    .stdout_has("malformed");
}

#[test]
fn oversized_input_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixture("keys");
    let big = vec![b'a'; 2 * 1024 * 1024];
    std::fs::write(dir.path().join("big.sdjwt"), &big).unwrap();
    run(dir.path(), &["--keys", p(&keys), "verify", "big.sdjwt"])
        .expect_error()
        .stderr_has("larger than");
    run_in(dir.path(), &["--keys", p(&keys), "verify", "-"], Some(big))
        .expect_error()
        .stderr_has("larger than");

    // Valid UTF-8 made of multi-byte characters, cut by the size cap mid-character:
    // still refused with exit 2 (whatever the wording).
    let zh = "证".repeat(700 * 1024);
    std::fs::write(dir.path().join("big_zh.sdjwt"), zh).unwrap();
    run(dir.path(), &["--keys", p(&keys), "verify", "big_zh.sdjwt"]).expect_error();

    // Under the file cap but over the licence cap: invalid, too large.
    let mid = "a".repeat(200 * 1024);
    std::fs::write(dir.path().join("mid.sdjwt"), mid).unwrap();
    let j = run(
        dir.path(),
        &["--keys", p(&keys), "verify", "--json", "mid.sdjwt"],
    )
    .expect_code(1)
    .json();
    assert_eq!(j["reason"]["code"], "too_large", "{j:#}");

    // `issue` and `present` share the cap.
    std::fs::write(dir.path().join("big.json"), vec![b' '; 2 * 1024 * 1024]).unwrap();
    run(
        dir.path(),
        &[
            "--keys",
            p(&keys),
            "issue",
            "big.json",
            "--agency",
            AGENCY_CODE,
        ],
    )
    .expect_error()
    .stderr_has("larger than");
    run(dir.path(), &["present", "big.sdjwt", "--all"])
        .expect_error()
        .stderr_has("larger than");
}

#[test]
fn garbage_is_invalid_or_an_error_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let keys = fixture("keys");
    let mut inputs: Vec<(String, Vec<u8>)> = (0..4)
        .map(|i| {
            (
                format!("random{i}"),
                garbage(64 + 3000 * i, 0x9E37_79B9 + i as u64),
            )
        })
        .collect();
    for text in [
        "~",
        "~~~~~~~~",
        "..~",
        "a.b.c~",
        "a.b.c~d~e.f.g",
        "eyJ.eyJ.~",
        "{}",
        "[]",
        "null",
        "{\"protected\":\"e30\",\"payload\":\"e30\",\"signature\":\"\"}",
        "{\"signatures\":[]}",
        "\u{feff}",
        " \n\t ",
    ] {
        inputs.push((format!("{text:?}"), text.as_bytes().to_vec()));
    }
    inputs.push(("many tildes".into(), vec![b'~'; 60_000]));
    inputs.push(("many dots".into(), vec![b'.'; 60_000]));
    let mut nested = "[".repeat(20_000);
    nested.push_str(&"]".repeat(20_000));
    inputs.push(("deep JSON".into(), nested.into_bytes()));

    for (what, bytes) in inputs {
        std::fs::write(dir.path().join("g.sdjwt"), &bytes).unwrap();
        for args in [
            vec!["--keys", p(&keys), "verify", "--json", "g.sdjwt"],
            vec!["--keys", p(&keys), "verify", "--json", "-"],
        ] {
            let stdin = (args.last() == Some(&"-")).then(|| bytes.clone());
            let r = run_in(dir.path(), &args, stdin);
            match r.code {
                1 => {
                    let j = r.json();
                    assert_eq!(j["verdict"], "invalid", "{what}: {j:#}");
                    assert!(j["reason"]["code"].is_string(), "{what}: {j:#}");
                }
                2 => {
                    r.expect_error();
                }
                _ => panic!("{what}: expected exit 1 or 2\n{}", r.describe()),
            }
        }
        // `present` of garbage is an error, never a panic.
        let r = run(dir.path(), &["present", "g.sdjwt", "--all"]);
        assert_eq!(r.code, 2, "{what}\n{}", r.describe());
    }
}

// ─── 8. demo ────────────────────────────────────────────────────────────────────────

#[test]
fn demo_issues_verifies_and_catches_tampering_reusing_its_keys() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(dir.path(), &["--keys", "T", "demo"]);
    first
        .expect_code(0)
        .stdout_has("created demo root CA")
        .stdout_has("created demo agency");
    let check = |r: &Run| {
        assert_eq!(
            r.stdout.matches("VALID 有效").count(),
            3,
            "three valid licences\n{}",
            r.describe()
        );
        assert_eq!(
            r.stdout.matches("tampered copy → NOT GENUINE").count(),
            3,
            "three forgeries caught\n{}",
            r.describe()
        );
        r.stdout_lacks("BUG").stdout_lacks("INVALID");
        for name in ["示例科技有限公司", "示例餐饮管理有限公司", "王五"] {
            r.stdout_has(name);
        }
        for t in [
            "business_licence",
            "food_business_permit",
            "teacher_qualification",
        ] {
            r.stdout_has(t);
        }
    };
    check(&first);
    let root_key = dir.path().join("T/root.key.pem");
    assert_eq!(mode(&root_key), 0o600);
    assert_eq!(
        mode(&dir.path().join(format!("T/agencies/{AGENCY_CODE}.key.pem"))),
        0o600
    );
    let root_before = std::fs::read(&root_key).unwrap();

    let second = run(dir.path(), &["--keys", "T", "demo"]);
    second.expect_code(0).stdout_lacks("created");
    check(&second);
    assert_eq!(std::fs::read(&root_key).unwrap(), root_before);

    // The demo's key store is an ordinary one.
    run(dir.path(), &["--keys", "T", "agency", "list"])
        .expect_code(0)
        .stdout_has(AGENCY_CODE)
        .stdout_has(AGENCY_NAME);
    // Nothing was written outside the key store and the ledger (the default `data`), and
    // the ledger holds what the demo did.
    let mut entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["T", "data"]);
    run(dir.path(), &["--keys", "T", "ledger", "verify"])
        .expect_code(0)
        .stdout_has("ledger OK");
}

// ─── 9. help ────────────────────────────────────────────────────────────────────────

#[test]
fn help_explains_exit_codes_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let top = run(dir.path(), &["--help"]);
    top.expect_code(0)
        .stdout_has("Exit codes")
        .stdout_has("0 valid")
        .stdout_has("1 the licence is invalid")
        .stdout_has("2 an error");
    for cmd in [
        "init", "agency", "issue", "present", "keygen", "verify", "demo",
    ] {
        top.stdout_has(cmd);
    }
    run(dir.path(), &["verify", "--help"])
        .expect_code(0)
        .stdout_has("--at")
        .stdout_has("RFC 3339")
        .stdout_has("--json")
        .stdout_has("--root")
        .stdout_has("--aud")
        .stdout_has("--nonce");
    run(dir.path(), &["--version"])
        .expect_code(0)
        .stdout_has(env!("CARGO_PKG_VERSION"));
    // Usage errors are exit 2 as well.
    run(dir.path(), &[]).expect_code(2);
    run(dir.path(), &["verify"])
        .expect_code(2)
        .stderr_has("<INPUT>");
    run(dir.path(), &["frobnicate"]).expect_code(2);
}
