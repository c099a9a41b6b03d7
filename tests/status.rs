//! Verification uses status: online against the ledger (revoked / suspended with reason and
//! time), offline against a cached, signed status list (stale, expired, foreign or missing
//! lists give "status unknown", never "valid").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::issue::{status_list_uri, Issuer};
use elicense::keys::{add_years, KeyStore};
use elicense::ledger::{Action, AdminStatus, Ledger, Reason};
use elicense::licence::codes::Uscc;
use elicense::licence::LicenceRequest;
use elicense::pki::AgencyIdentity;
use elicense::verify::{LicenceStatus, Options, StatusCheck, Verifier, VerifyError};
use time::macros::datetime;

const BASE: &str = "https://elicense.example";
const A: &str = "11350100MB00000012";
const B: &str = "11440300MB00000022";
const T0: i64 = 1_767_196_800; // 2026-01-01T00:00+08:00

struct World {
    _keys: tempfile::TempDir,
    _data: tempfile::TempDir,
    ledger: Ledger,
    a: Issuer,
    b: Issuer,
    verifier: Verifier,
}

fn world() -> World {
    let keys = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let store = KeyStore::new(keys.path());
    let start = datetime!(2025-01-01 0:00 UTC);
    store.init_root("Status Test Root", start, 20).unwrap();
    for (code, name) in [(A, "示例市市场监督管理局"), (B, "样例市市场监督管理局")]
    {
        store
            .add_agency(
                &AgencyIdentity {
                    name: name.into(),
                    code: Uscc::parse(code).unwrap(),
                    issuer_uri: format!("https://elicense.example/agencies/{code}"),
                },
                start,
                add_years(start, 10).unwrap(),
            )
            .unwrap();
    }
    World {
        ledger: Ledger::open(data.path()).unwrap(),
        a: Issuer::new(store.agency_key(&Uscc::parse(A).unwrap()).unwrap()).unwrap(),
        b: Issuer::new(store.agency_key(&Uscc::parse(B).unwrap()).unwrap()).unwrap(),
        verifier: Verifier::new(store.trust_store().unwrap()),
        _keys: keys,
        _data: data,
    }
}

fn request(serial: &str) -> LicenceRequest {
    let mut r: LicenceRequest =
        serde_json::from_str(include_str!("../fixtures/requests/business_licence.json")).unwrap();
    r.serial = serial.into();
    r
}

fn online<'a>(w: &'a World, at: i64) -> Options<'a> {
    Options::at(at).with_status(StatusCheck::Ledger(&w.ledger))
}

#[test]
fn online_status_follows_every_change() {
    let w = world();
    let issued =
        w.a.issue_recorded(&w.ledger, &request("100001"), T0, BASE, A)
            .unwrap();
    let id = issued.id.to_string();
    let agency = Uscc::parse(A).unwrap();

    let v = w
        .verifier
        .verify(&issued.sd_jwt, &online(&w, T0 + 10))
        .unwrap();
    assert!(matches!(
        v.status(),
        LicenceStatus::Valid {
            source: "ledger",
            ..
        }
    ));
    let reference = v.status_reference().unwrap();
    assert!(reference
        .uri()
        .starts_with(&status_list_uri(BASE, A, 0)[..BASE.len()]));

    w.ledger
        .change(
            &id,
            Action::Suspend,
            &agency,
            None,
            Some(AdminStatus::Withheld),
            Some("待查"),
            T0 + 20,
        )
        .unwrap();
    match w.verifier.verify(&issued.sd_jwt, &online(&w, T0 + 30)) {
        Err(VerifyError::Suspended {
            at,
            reason,
            admin_status,
            ..
        }) => {
            assert_eq!(at, T0 + 20);
            assert_eq!(reason, Reason::CertificateHold);
            assert_eq!(admin_status, Some(AdminStatus::Withheld));
        }
        other => panic!("expected suspended, got {other:?}"),
    }

    w.ledger
        .change(&id, Action::Reinstate, &agency, None, None, None, T0 + 40)
        .unwrap();
    w.verifier
        .verify(&issued.sd_jwt, &online(&w, T0 + 50))
        .unwrap();

    w.ledger
        .change(
            &id,
            Action::Revoke,
            &agency,
            None,
            Some(AdminStatus::RevokedAsPenalty),
            None,
            T0 + 60,
        )
        .unwrap();
    let e = w
        .verifier
        .verify(&issued.sd_jwt, &online(&w, T0 + 70))
        .unwrap_err();
    assert_eq!(e.code(), "revoked");
    assert!(e.to_string().contains("吊销"), "{e}");
    assert!(!e.is_not_genuine());

    // Revoked is reported even once the licence has also expired.
    let mut r = request("100002");
    r.valid_until = Some("2026-01-31".into());
    let short = w.a.issue_recorded(&w.ledger, &r, T0, BASE, A).unwrap();
    w.ledger
        .change(
            &short.id.to_string(),
            Action::Revoke,
            &agency,
            Some(Reason::Superseded),
            None,
            None,
            T0 + 5,
        )
        .unwrap();
    let later = T0 + 90 * 86_400;
    assert_eq!(
        w.verifier
            .verify(&short.sd_jwt, &online(&w, later))
            .unwrap_err()
            .code(),
        "revoked"
    );
    // A presentation of a revoked licence is just as revoked.
    let shown = elicense::sdjwt::present(
        &issued.sd_jwt,
        &elicense::sdjwt::Selection::top_level(["holder_name"]),
        None,
    )
    .unwrap();
    assert_eq!(
        w.verifier
            .verify(&shown, &online(&w, T0 + 70))
            .unwrap_err()
            .code(),
        "revoked"
    );
}

#[test]
fn a_licence_unknown_to_the_ledger_has_unknown_status() {
    let w = world();
    let issued = w.a.issue(&request("100003"), T0).unwrap();
    let v = w
        .verifier
        .verify(&issued.sd_jwt, &online(&w, T0 + 10))
        .unwrap();
    assert!(
        matches!(v.status(), LicenceStatus::Unknown { .. }),
        "{:?}",
        v.status()
    );
}

#[test]
fn offline_status_from_a_signed_list() {
    let w = world();
    let agency = Uscc::parse(A).unwrap();
    let good =
        w.a.issue_recorded(&w.ledger, &request("200001"), T0, BASE, A)
            .unwrap();
    let bad =
        w.a.issue_recorded(&w.ledger, &request("200002"), T0, BASE, A)
            .unwrap();
    let held =
        w.a.issue_recorded(&w.ledger, &request("200003"), T0, BASE, A)
            .unwrap();
    w.ledger
        .change(
            &bad.id.to_string(),
            Action::Revoke,
            &agency,
            None,
            None,
            None,
            T0 + 1,
        )
        .unwrap();
    w.ledger
        .change(
            &held.id.to_string(),
            Action::Suspend,
            &agency,
            None,
            None,
            None,
            T0 + 1,
        )
        .unwrap();
    let uri = status_list_uri(BASE, A, 0);
    let list = w.ledger.status_list(&agency, 0).unwrap();
    let token =
        w.a.sign_status_list(&list, &uri, T0 + 100, 86_400, 3_600)
            .unwrap();
    let tokens = vec![token];
    let offline = |at| Options::at(at).with_status(StatusCheck::Lists(&tokens));

    let v = w.verifier.verify(&good.sd_jwt, &offline(T0 + 200)).unwrap();
    assert_eq!(
        v.status(),
        &LicenceStatus::Valid {
            source: "status_list",
            as_of: T0 + 100
        }
    );
    assert_eq!(
        w.verifier
            .verify(&bad.sd_jwt, &offline(T0 + 200))
            .unwrap_err()
            .code(),
        "revoked"
    );
    assert_eq!(
        w.verifier
            .verify(&held.sd_jwt, &offline(T0 + 200))
            .unwrap_err()
            .code(),
        "suspended"
    );

    // Stale (past iat + ttl) and expired (past exp) lists: status unknown, never valid.
    for at in [T0 + 100 + 3_600 + 301, T0 + 100 + 86_400 + 1] {
        let v = w.verifier.verify(&good.sd_jwt, &offline(at)).unwrap();
        assert!(
            matches!(v.status(), LicenceStatus::Unknown { .. }),
            "{at}: {:?}",
            v.status()
        );
        // A stale list cannot make a revoked licence look valid either.
        let r = w.verifier.verify(&bad.sd_jwt, &offline(at));
        assert!(
            matches!(&r, Ok(v) if matches!(v.status(), LicenceStatus::Unknown { .. })),
            "{at}: {r:?}"
        );
    }

    // No list for this URI at hand.
    let none: Vec<String> = Vec::new();
    let v = w
        .verifier
        .verify(
            &good.sd_jwt,
            &Options::at(T0 + 200).with_status(StatusCheck::Lists(&none)),
        )
        .unwrap();
    assert!(matches!(v.status(), LicenceStatus::Unknown { .. }));

    // Another agency signs a list under A's URI, all zeros: it must not clear A's
    // revoked licence.
    let forged_list = elicense::status_list::StatusList::new(2, 1 << 20).unwrap();
    let forged =
        w.b.sign_status_list(&forged_list, &uri, T0 + 100, 86_400, 3_600)
            .unwrap();
    let forged_tokens = vec![forged];
    let r = w.verifier.verify(
        &bad.sd_jwt,
        &Options::at(T0 + 200).with_status(StatusCheck::Lists(&forged_tokens)),
    );
    assert!(
        matches!(&r, Ok(v) if matches!(v.status(), LicenceStatus::Unknown { .. })),
        "{r:?}"
    );

    // A tampered list token is not used.
    let mut tampered = tokens[0].clone();
    let n = tampered.len();
    tampered.replace_range(
        n - 5..n - 4,
        if &tampered[n - 5..n - 4] == "A" {
            "B"
        } else {
            "A"
        },
    );
    let tampered_tokens = vec![tampered];
    let r = w.verifier.verify(
        &bad.sd_jwt,
        &Options::at(T0 + 200).with_status(StatusCheck::Lists(&tampered_tokens)),
    );
    assert!(
        matches!(&r, Ok(v) if matches!(v.status(), LicenceStatus::Unknown { .. })),
        "{r:?}"
    );
}

#[test]
fn status_lists_are_re_signed_after_changes_coalesced() {
    use elicense::publish::StatusPublisher;
    let w = world();
    let agency = Uscc::parse(A).unwrap();
    let a_code = agency.clone();
    let issuer_for = |c: &Uscc| (c == &a_code).then_some(&w.a);
    let no_keys = |_: &Uscc| -> Option<&Issuer> { None };
    let publisher = StatusPublisher::new(BASE, 86_400, 3_600);
    let issued: Vec<_> = (0..5)
        .map(|i| {
            w.a.issue_recorded(&w.ledger, &request(&format!("30000{i}")), T0, BASE, A)
                .unwrap()
        })
        .collect();

    // Without the agency's key nothing is signed, and the list stays pending.
    assert_eq!(publisher.refresh(&w.ledger, &no_keys, T0).unwrap(), 0);
    assert_eq!(publisher.refresh(&w.ledger, &issuer_for, T0).unwrap(), 1);
    assert_eq!(
        publisher.refresh(&w.ledger, &issuer_for, T0 + 1).unwrap(),
        0
    );

    // Four changes, one new signature reflecting all of them.
    for (i, action) in [
        (0, Action::Revoke),
        (1, Action::Revoke),
        (2, Action::Suspend),
        (3, Action::Revoke),
    ] {
        w.ledger
            .change(
                &issued[i].id.to_string(),
                action,
                &agency,
                None,
                None,
                None,
                T0 + 10,
            )
            .unwrap();
    }
    assert_eq!(
        publisher.refresh(&w.ledger, &issuer_for, T0 + 20).unwrap(),
        1
    );
    let published = publisher.get(A, 0).unwrap();
    assert_eq!(published.iat, T0 + 20);
    let tokens = vec![published.token];
    let offline = Options::at(T0 + 30).with_status(StatusCheck::Lists(&tokens));
    let codes: Vec<String> = issued
        .iter()
        .map(|l| match w.verifier.verify(&l.sd_jwt, &offline) {
            Ok(_) => "valid".to_owned(),
            Err(e) => e.code().to_owned(),
        })
        .collect();
    assert_eq!(
        codes,
        ["revoked", "revoked", "suspended", "revoked", "valid"]
    );

    // Unchanged lists are re-signed once half their validity is used up.
    assert_eq!(
        publisher.refresh(&w.ledger, &issuer_for, T0 + 21).unwrap(),
        0
    );
    assert_eq!(
        publisher
            .refresh(&w.ledger, &issuer_for, T0 + 20 + 43_200)
            .unwrap(),
        1
    );
    // … or half their ttl (3600 s), so a served list is never nearly stale.
    let signed = T0 + 20 + 43_200;
    assert_eq!(
        publisher
            .refresh(&w.ledger, &issuer_for, signed + 1_799)
            .unwrap(),
        0
    );
    assert_eq!(
        publisher
            .refresh(&w.ledger, &issuer_for, signed + 1_800)
            .unwrap(),
        1
    );
}
