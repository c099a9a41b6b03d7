//! Reading a QR code from a photo: the time to scan a generated 1080p photo of a
//! seal-sized code (PNG or JPEG bytes → text), next to raw ring ECDSA P-256 verify,
//! measured in the same run on one core.
//!
//! `cargo bench --bench scan` (or `cargo bench --bench scan -- --runs 50`).
//! Rows: scan of the JPEG photo and of the same photo as PNG; a photo without a code
//! (the worst case: every attempt fails); the same code and no code in a 12 MP phone
//! photo (4032 × 3024, searched at 2048 px first); the 1080p image decode alone, to show
//! where the time goes; a 1080p photo of a real business licence's seal scanned and
//! verified, and that seal's text verified alone; raw ring verify. Each row is the median of `--runs` runs (default 15).
//!
//! The photo is the kind the image tests read (`tests/common/photo.rs`): a 700-character
//! `EL1:` text at level Q (version 21, 101 modules), 6 px modules, turned 12°, mildly
//! tilted, unevenly lit, blurred and noised.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/photo.rs"]
mod photo;

use elicense::scan::scan;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, UnparsedPublicKey};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// The median time of `runs` calls of `f` (after one warm-up call).
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// One measured row: what, and one run of it.
type Row<'a> = (&'a str, Box<dyn FnMut() + 'a>);

fn main() {
    let mut runs = 15usize;
    let args: Vec<String> = std::env::args().collect();
    for w in args.windows(2) {
        if w[0] == "--runs" {
            runs = w[1].parse().unwrap_or(runs);
        }
    }

    let mut rng = photo::Rng::new(1080);
    let text = photo::seal_like_text(&mut rng, 700);
    let (n, dark) = photo::modules(&text);
    let shot = photo::Shot {
        width: 1920,
        height: 1080,
        module_px: 6.0,
        angle: 12.0,
        tilt: (0.1 / 600.0, 0.05 / 600.0),
        margin: 20.0,
        paper: 225.0,
        ink: 30.0,
        table: 80.0,
        shade: 0.25,
        light: (0.3, 0.2),
        blur: 1.0,
        noise: 6.0,
        jpeg: Some(85),
        seed: 7,
    };
    let img = photo::photograph(n, &dark, &shot);
    let jpeg = photo::encode(&img, Some(85));
    let png = photo::encode(&img, None);
    let empty = photo::encode(&photo::clutter(3, 1920, 1080), Some(85));
    // A phone camera's 12 MP photo of the same code, filling about a third of the width.
    let big_shot = photo::Shot {
        width: 4032,
        height: 3024,
        module_px: 11.0,
        tilt: (0.1 / 1200.0, 0.05 / 1200.0),
        blur: 1.5,
        ..shot.clone()
    };
    let big = photo::encode(&photo::photograph(n, &dark, &big_shot), Some(85));
    let big_empty = photo::encode(&photo::clutter(4, 4032, 3024), Some(85));
    assert_eq!(scan(&big).unwrap().text, text);
    assert_eq!(scan(&jpeg).unwrap().text, text);
    assert_eq!(scan(&png).unwrap().text, text);
    assert!(scan(&empty).is_err());

    // A real paper seal (business licence, issued here), photographed the same way.
    let dir = tempfile::tempdir().unwrap();
    let store = elicense::keys::KeyStore::new(dir.path());
    let now = time::OffsetDateTime::now_utc();
    store.init_root("Bench Root", now, 20).unwrap();
    let code = elicense::licence::codes::Uscc::parse("11350100MB00000012").unwrap();
    store
        .add_agency(
            &elicense::pki::AgencyIdentity {
                name: "示例市市场监督管理局".into(),
                code: code.clone(),
                issuer_uri: "https://elicense.example/agencies/11350100MB00000012".into(),
            },
            now,
            elicense::keys::add_years(now, 5).unwrap(),
        )
        .unwrap();
    let issuer = elicense::issue::Issuer::new(store.agency_key(&code).unwrap()).unwrap();
    let verifier = elicense::verify::Verifier::new(store.trust_store().unwrap());
    let request: elicense::licence::LicenceRequest =
        serde_json::from_str(include_str!("../fixtures/requests/business_licence.json")).unwrap();
    let at = now.unix_timestamp();
    let seal = issuer.issue(&request, at).unwrap().seal;
    let (seal_n, seal_dark) = photo::modules(&seal);
    let seal_photo = photo::encode(&photo::photograph(seal_n, &seal_dark, &shot), Some(85));
    let opts = elicense::verify::Options::at(at);
    let scan_and_verify = || {
        let text = scan(&seal_photo).unwrap().text;
        verifier.verify(&text, &opts).unwrap()
    };
    assert_eq!(scan_and_verify().id().to_string(), {
        let v = verifier.verify(&seal, &opts).unwrap();
        v.id().to_string()
    });

    // Raw ring on a message of about a seal's signed size.
    let rng = SystemRandom::new();
    let pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pair = EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        pkcs8.as_ref(),
        &rng,
    )
    .unwrap();
    let msg = vec![b'a'; 400];
    let sig = pair.sign(&rng, &msg).unwrap();
    let public = UnparsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        pair.public_key().as_ref().to_vec(),
    );

    println!(
        "1920×1080 photo of a {}-character code ({n} modules with quiet zone): JPEG {} KiB, PNG {} KiB; median of {runs} runs",
        text.len(),
        jpeg.len() / 1024,
        png.len() / 1024
    );
    let rows: Vec<Row<'_>> = vec![
        (
            "scan + verify, JPEG photo of a real seal",
            Box::new(|| {
                black_box(scan_and_verify());
            }),
        ),
        (
            "verify the seal's text alone",
            Box::new(|| {
                black_box(verifier.verify(black_box(&seal), &opts).unwrap());
            }),
        ),
        (
            "scan, JPEG photo",
            Box::new(|| {
                black_box(scan(black_box(&jpeg)).unwrap());
            }),
        ),
        (
            "scan, PNG photo",
            Box::new(|| {
                black_box(scan(black_box(&png)).unwrap());
            }),
        ),
        (
            "scan, JPEG without a code",
            Box::new(|| {
                black_box(scan(black_box(&empty)).unwrap_err());
            }),
        ),
        (
            "scan, 12 MP JPEG photo",
            Box::new(|| {
                black_box(scan(black_box(&big)).unwrap());
            }),
        ),
        (
            "scan, 12 MP JPEG without a code",
            Box::new(|| {
                black_box(scan(black_box(&big_empty)).unwrap_err());
            }),
        ),
        (
            "JPEG decode to luma alone",
            Box::new(|| {
                black_box(
                    image::load_from_memory(black_box(&jpeg))
                        .unwrap()
                        .into_luma8(),
                );
            }),
        ),
        (
            "raw ring ECDSA P-256 verify",
            Box::new(|| {
                public
                    .verify(black_box(&msg), black_box(sig.as_ref()))
                    .unwrap();
            }),
        ),
    ];
    let mut measured = Vec::new();
    for (what, mut f) in rows {
        let t = median(runs, &mut f);
        println!("{what:<32} {:>10.3} ms", t.as_secs_f64() * 1e3);
        measured.push((what, t));
    }
    if let (Some((_, scan_t)), Some((_, ring_t))) = (
        measured.first(),
        measured.iter().find(|(w, _)| w.starts_with("raw ring")),
    ) {
        println!(
            "a photo scan costs {:.0} raw verifies",
            scan_t.as_secs_f64() / ring_t.as_secs_f64()
        );
    }
}
