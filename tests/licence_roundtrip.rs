//! Property tests through the public API: any valid request, issued and verified, comes
//! back with the same identifier, holder and face fields; any presentation discloses
//! exactly what was chosen; and any single-byte change to the issuer-signed JWT is caught.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::issue::Issuer;
use elicense::keys::{add_years, KeyStore};
use elicense::licence::codes::{resident_id_check_char, uscc_check_char, Uscc};
use elicense::licence::{Holder, LicenceRequest, LicenceType};
use elicense::pki::AgencyIdentity;
use elicense::sdjwt::{self, Selection};
use elicense::verify::{Options, Verifier};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use time::macros::datetime;

const USCC_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const AT: i64 = 1_767_196_800; // 2026-01-01T00:00+08:00
const IAT: i64 = 1_748_743_200; // 2025-06-01T10:00+08:00

struct World {
    _dir: tempfile::TempDir,
    issuer: Issuer,
    verifier: Verifier,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::new(dir.path());
        let start = datetime!(2024-01-01 0:00 UTC);
        store.init_root("Property Test Root", start, 20).unwrap();
        let code = Uscc::parse("11350100MB00000012").unwrap();
        store
            .add_agency(
                &AgencyIdentity {
                    name: "示例市市场监督管理局".into(),
                    code: code.clone(),
                    issuer_uri: "https://elicense.example/agencies/11350100MB00000012".into(),
                },
                start,
                add_years(start, 10).unwrap(),
            )
            .unwrap();
        World {
            issuer: Issuer::new(store.agency_key(&code).unwrap()).unwrap(),
            verifier: Verifier::new(store.trust_store().unwrap()),
            _dir: dir,
        }
    })
}

fn uscc() -> impl Strategy<Value = String> {
    (
        prop::sample::select(USCC_ALPHABET),
        prop::sample::select(USCC_ALPHABET),
        "[0-9]{6}",
        prop::collection::vec(prop::sample::select(USCC_ALPHABET), 9),
    )
        .prop_map(|(a, b, region, rest)| {
            let mut s = String::new();
            s.push(a as char);
            s.push(b as char);
            s.push_str(&region);
            s.extend(rest.iter().map(|c| *c as char));
            let check = uscc_check_char(&s).unwrap();
            s.push(check);
            s
        })
}

fn resident_id() -> impl Strategy<Value = String> {
    ("[1-6][0-9]{5}", 1950u16..2005, 1u8..13, 1u8..29, "[0-9]{3}").prop_map(
        |(region, y, m, d, seq)| {
            let s = format!("{region}{y:04}{m:02}{d:02}{seq}");
            let check = resident_id_check_char(&s).unwrap();
            format!("{s}{check}")
        },
    )
}

fn text() -> impl Strategy<Value = String> {
    "[一-龥A-Za-z0-9（）、；，。 \"\\\\]{1,40}".prop_filter("non-blank", |s| !s.trim().is_empty())
}

fn date() -> impl Strategy<Value = String> {
    (1990i32..2025, 1u8..13, 1u8..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

fn request() -> impl Strategy<Value = LicenceRequest> {
    (
        prop::sample::select(LicenceType::ALL.to_vec()),
        "[0-9A-Z]{1,32}",
        1u32..10000,
        text(),
        uscc(),
        resident_id(),
        prop::collection::vec(text(), 8),
        date(),
        prop::option::of(2026i32..2060),
    )
        .prop_map(
            |(t, serial, version, name, org, person, values, from, until)| {
                let id = match t {
                    LicenceType::TeacherQualification => person,
                    _ => org,
                };
                let mut fields = BTreeMap::new();
                for (spec, v) in t.fields().iter().zip(values) {
                    let v = match spec.kind {
                        elicense::licence::FieldKind::Date => "2001-02-03".to_owned(),
                        elicense::licence::FieldKind::Text => v,
                    };
                    fields.insert(spec.key.to_owned(), v);
                }
                LicenceRequest {
                    licence_type: t,
                    serial,
                    version,
                    holder: Holder { name, id },
                    valid_from: from,
                    valid_until: until.map(|y| format!("{y:04}-12-31")),
                    fields,
                    holder_key: None,
                }
            },
        )
}

fn opts() -> Options<'static> {
    Options::at(AT)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn issue_then_verify_returns_the_same_licence(req in request()) {
        let w = world();
        let issued = w.issuer.issue(&req, IAT).unwrap();
        let v = w.verifier.verify(&issued.sd_jwt, &opts()).unwrap();
        prop_assert_eq!(v.id(), &issued.id);
        prop_assert_eq!(v.id().serial(), req.serial.as_str());
        prop_assert_eq!(v.id().version(), req.version);
        prop_assert_eq!(v.holder_name(), Some(req.holder.name.trim()));
        prop_assert_eq!(v.holder_id(), Some(req.holder.id.as_str()));
        let fields: BTreeMap<String, String> =
            v.fields().map(|(k, _, val)| (k.to_owned(), val.to_owned())).collect();
        let expected: BTreeMap<String, String> =
            req.fields.iter().map(|(k, val)| (k.clone(), val.trim().to_owned())).collect();
        prop_assert_eq!(fields, expected);
        prop_assert_eq!(v.issued_at(), IAT);
    }

    #[test]
    fn a_presentation_discloses_exactly_the_chosen_claims(req in request(), mask in any::<u16>()) {
        let w = world();
        let issued = w.issuer.issue(&req, IAT).unwrap();
        let keys: Vec<&str> = req.licence_type.fields().iter().map(|f| f.key).collect();
        let chosen: Vec<&str> = keys.iter().enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0).map(|(_, k)| *k).collect();
        let shown = sdjwt::present(&issued.sd_jwt, &Selection::top_level(chosen.iter().copied()), None).unwrap();
        let v = w.verifier.verify(&shown, &opts()).unwrap();
        let got: Vec<&str> = v.fields().map(|(k, _, _)| k).collect();
        prop_assert_eq!(got, chosen);
        prop_assert_eq!(v.holder_name(), None);
        prop_assert_eq!(v.id(), &issued.id);
    }

    #[test]
    fn any_byte_change_in_the_signed_jwt_is_caught(req in request(), pos in any::<prop::sample::Index>(), byte in 0x21u8..0x7f) {
        let w = world();
        let issued = w.issuer.issue(&req, IAT).unwrap();
        let jwt_len = issued.sd_jwt.find('~').unwrap();
        let i = pos.index(jwt_len);
        let mut bytes = issued.sd_jwt.clone().into_bytes();
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let forged = String::from_utf8(bytes).unwrap();
        prop_assert!(w.verifier.verify(&forged, &opts()).is_err(), "accepted a change at byte {}", i);
    }
}
