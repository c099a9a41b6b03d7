//! Licences issued/s and verified/s next to raw ring ECDSA P-256 sign/s and verify/s,
//! measured in the same run on one core, with their ratios.
//!
//! `cargo bench` (or `cargo bench --bench throughput -- --seconds 3`).
//! Goals: verify ≥ 0.9× raw verify (chain validation cached per issuer certificate),
//! issue ≥ 0.7× raw sign. Issuing signs twice (the SD-JWT VC and its paper seal), so its
//! ratio to one raw signature is at most 0.5×. Paper seals verified are shown beside raw
//! verify too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use elicense::issue::Issuer;
use elicense::keys::{add_years, KeyStore};
use elicense::licence::codes::Uscc;
use elicense::licence::LicenceRequest;
use elicense::pki::AgencyIdentity;
use elicense::verify::{Options, Verifier};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
use std::hint::black_box;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Runs `f` repeatedly for about `budget`; returns operations per second.
fn rate(budget: Duration, mut f: impl FnMut()) -> f64 {
    // Warm up.
    for _ in 0..50 {
        f();
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        for _ in 0..64 {
            f();
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let mut seconds = 1.0f64;
    let mut rounds = 3;
    let mut only = String::new();
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(2) {
        match w[0].as_str() {
            "--seconds" => seconds = w[1].parse().unwrap_or(seconds),
            "--rounds" => rounds = w[1].parse().unwrap_or(rounds),
            // Profile one loop alone: `--only issue` or `--only verify`.
            "--only" => only = w[1].clone(),
            _ => {}
        }
    }
    let budget = Duration::from_secs_f64(seconds);

    let dir = tempfile::tempdir().unwrap();
    let store = KeyStore::new(dir.path());
    let now = OffsetDateTime::now_utc();
    store.init_root("Bench Root", now, 20).unwrap();
    let code = Uscc::parse("11350100MB00000012").unwrap();
    store
        .add_agency(
            &AgencyIdentity {
                name: "示例市市场监督管理局".into(),
                code: code.clone(),
                issuer_uri: "https://elicense.example/agencies/11350100MB00000012".into(),
            },
            now,
            add_years(now, 5).unwrap(),
        )
        .unwrap();
    let issuer = Issuer::new(store.agency_key(&code).unwrap()).unwrap();
    let verifier = Verifier::new(store.trust_store().unwrap());
    let req: LicenceRequest =
        serde_json::from_str(include_str!("../fixtures/requests/business_licence.json")).unwrap();
    let at = now.unix_timestamp();
    let licence = issuer.issue(&req, at).unwrap().sd_jwt;
    let opts = Options::at(at);
    verifier.verify(&licence, &opts).unwrap();
    // What a bank or platform typically receives: the holder shows three of eight claims.
    let presentation = elicense::sdjwt::present(
        &licence,
        &elicense::sdjwt::Selection::top_level(["holder_name", "holder_id", "business_scope"]),
        None,
    )
    .unwrap();
    verifier.verify(&presentation, &opts).unwrap();
    let seal = issuer.issue(&req, at).unwrap().seal;
    verifier.verify(&seal, &opts).unwrap();

    // Raw ring on a message of the same length as the licence's signing input.
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let jwt_len = licence.find('~').unwrap();
    let signing_input_len = licence[..jwt_len].rfind('.').unwrap();
    let msg = vec![b'a'; signing_input_len];
    let sig = pair.sign(&rng, &msg).unwrap();
    let public = UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref().to_vec(),
    );

    println!(
        "licence: business licence, {} bytes ({} disclosures), seal {} characters; signing input {} bytes; {} round(s) of {:.1}s per measure, best kept",
        licence.len(),
        licence.matches('~').count() - 1,
        seal.len(),
        signing_input_len,
        rounds,
        seconds
    );
    if !only.is_empty() {
        let r = match only.as_str() {
            "issue" => rate(budget, || {
                black_box(issuer.issue(black_box(&req), at).unwrap());
            }),
            "seal" => rate(budget, || {
                black_box(verifier.verify(black_box(&seal), &opts).unwrap());
            }),
            _ => rate(budget, || {
                black_box(verifier.verify(black_box(&licence), &opts).unwrap());
            }),
        };
        println!("{only}: {r:.0}/s");
        return;
    }
    let (mut raw_sign, mut raw_verify, mut issue, mut verify) = (0f64, 0f64, 0f64, 0f64);
    let mut verify_presentation = 0f64;
    let mut verify_seal = 0f64;
    for _ in 0..rounds {
        raw_sign = raw_sign.max(rate(budget, || {
            black_box(pair.sign(&rng, black_box(&msg)).unwrap());
        }));
        issue = issue.max(rate(budget, || {
            black_box(issuer.issue(black_box(&req), at).unwrap());
        }));
        raw_verify = raw_verify.max(rate(budget, || {
            public
                .verify(black_box(&msg), black_box(sig.as_ref()))
                .unwrap();
        }));
        verify = verify.max(rate(budget, || {
            black_box(verifier.verify(black_box(&licence), &opts).unwrap());
        }));
        verify_presentation = verify_presentation.max(rate(budget, || {
            black_box(verifier.verify(black_box(&presentation), &opts).unwrap());
        }));
        verify_seal = verify_seal.max(rate(budget, || {
            black_box(verifier.verify(black_box(&seal), &opts).unwrap());
        }));
    }
    let row = |what: &str, r: f64, base: f64, goal: f64| {
        let ratio = r / base;
        println!(
            "{what:<28} {r:>10.0}/s   {ratio:>5.2}× raw   goal ≥ {goal:.1}×  {}",
            if ratio >= goal { "ok" } else { "BELOW GOAL" }
        );
    };
    println!("{:<28} {raw_sign:>10.0}/s", "raw ring ECDSA P-256 sign");
    println!("{:<28} {raw_verify:>10.0}/s", "raw ring ECDSA P-256 verify");
    row("licences issued", issue, raw_sign, 0.7);
    row("licences verified (8 of 8)", verify, raw_verify, 0.9);
    row(
        "presentations verified (3/8)",
        verify_presentation,
        raw_verify,
        0.9,
    );
    row("seals verified", verify_seal, raw_verify, 0.9);
}
