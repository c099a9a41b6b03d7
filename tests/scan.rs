//! Reading QR codes from photos (`elicense::scan`): a generated set of photos of
//! seal-sized codes, and the images that must be refused, each with the right error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/photo.rs"]
mod photo;

use elicense::scan::{scan, scan_with, ImageKind, ScanError, ScanLimits, MAX_IMAGE_BYTES};
use photo::{Rng, Shot};

/// Photos in the generated set.
const PHOTOS: u64 = 220;
/// The set's seed: the same photos on every run.
const SEED: u64 = 20_260_101;
/// Picture sizes, from a small screenshot to 1080p and 2 MP.
const SIZES: [(u32, u32); 5] = [
    (800, 600),
    (1024, 768),
    (1280, 960),
    (1920, 1080),
    (1600, 1200),
];

struct Outcome {
    index: u64,
    shot: Shot,
    result: Result<(), String>,
    /// Time to take the photo, and to read it.
    timing: (std::time::Duration, std::time::Duration),
}

fn take_and_read(index: u64) -> Outcome {
    let mut rng = Rng::new(SEED.wrapping_mul(1_000_003).wrapping_add(index));
    let len = 600 + rng.below(201) as usize;
    let text = photo::seal_like_text(&mut rng, len);
    let (w, h) = SIZES[(index % SIZES.len() as u64) as usize];
    let t0 = std::time::Instant::now();
    let (bytes, shot) = photo::photo_of(&text, rng.next_u64(), w, h);
    let t1 = std::time::Instant::now();
    let scanned = scan(&bytes);
    let timing = (t1 - t0, t1.elapsed());
    let result = match scanned {
        Ok(s) if s.text == text => {
            let kind = if shot.jpeg.is_some() {
                ImageKind::Jpeg
            } else {
                ImageKind::Png
            };
            assert_eq!((s.kind, s.width, s.height), (kind, w, h));
            Ok(())
        }
        Ok(s) => panic!("photo {index} read as different text: {:?}", s.text),
        Err(e) => {
            if let Ok(dir) = std::env::var("ELICENSE_SCAN_DUMP") {
                let ext = if shot.jpeg.is_some() { "jpg" } else { "png" };
                let _ = std::fs::write(format!("{dir}/photo-{index}.{ext}"), &bytes);
            }
            Err(e.to_string())
        }
    };
    Outcome {
        index,
        shot,
        result,
        timing,
    }
}

#[test]
fn photos_of_seal_sized_codes_decode_at_95_percent_or_better() {
    let started = std::time::Instant::now();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4)) as u64;
    let mut outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    (0..PHOTOS)
                        .filter(|i| i % threads == t)
                        .map(take_and_read)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    outcomes.sort_by_key(|o| o.index);

    // The set covers what it claims to: both formats, small and large modules, quarter
    // turns and arbitrary angles, blur, noise and tilt.
    let count = |f: &dyn Fn(&Shot) -> bool| outcomes.iter().filter(|o| f(&o.shot)).count();
    let quarter = |a: f64| {
        let r = a.rem_euclid(90.0);
        !(3.0..=87.0).contains(&r)
    };
    let coverage = [
        ("JPEG", count(&|s| s.jpeg.is_some())),
        ("PNG", count(&|s| s.jpeg.is_none())),
        ("modules < 4 px", count(&|s| s.module_px < 4.0)),
        ("modules > 6 px", count(&|s| s.module_px > 6.0)),
        ("near a quarter turn", count(&|s| quarter(s.angle))),
        (
            "turned 20–70° off",
            count(&|s| {
                let r = s.angle.rem_euclid(90.0);
                (20.0..=70.0).contains(&r)
            }),
        ),
        ("blur σ > 1 px", count(&|s| s.blur > 1.0)),
        ("noise σ > 6", count(&|s| s.noise > 6.0)),
        (
            "strong tilt",
            count(&|s| {
                let side = s.module_px * 109.0;
                (s.tilt.0.hypot(s.tilt.1)) * side > 0.2
            }),
        ),
        (
            "JPEG quality < 60",
            count(&|s| s.jpeg.is_some_and(|q| q < 60)),
        ),
    ];
    for (what, n) in coverage {
        assert!(n >= 10, "the set has only {n} photos with {what}");
    }

    let taking: std::time::Duration = outcomes.iter().map(|o| o.timing.0).sum();
    let reading: std::time::Duration = outcomes.iter().map(|o| o.timing.1).sum();
    println!(
        "taking the photos: {:.1} s, reading them: {:.1} s (one core, summed)",
        taking.as_secs_f64(),
        reading.as_secs_f64()
    );
    let failed: Vec<&Outcome> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    let read = outcomes.len() - failed.len();
    let rate = read as f64 / outcomes.len() as f64;
    println!(
        "read {read} of {} photos ({:.1}%) in {:.1} s; coverage: {coverage:?}",
        outcomes.len(),
        100.0 * rate,
        started.elapsed().as_secs_f64()
    );
    for o in &failed {
        println!(
            "  photo {} not read ({}): {:?}",
            o.index,
            o.result.as_ref().unwrap_err(),
            o.shot
        );
    }
    assert!(
        rate >= 0.95,
        "only {read} of {} photos read",
        outcomes.len()
    );
}

fn png(img: &image::GrayImage) -> Vec<u8> {
    photo::encode(img, None)
}

fn jpeg(img: &image::GrayImage) -> Vec<u8> {
    photo::encode(img, Some(85))
}

#[test]
fn pictures_without_a_code_are_no_qr_found() {
    let clutter = photo::clutter(7, 1280, 960);
    let page = photo::blank_page(1024, 768);
    for (what, bytes) in [
        ("clutter PNG", png(&clutter)),
        ("clutter JPEG", jpeg(&clutter)),
        ("blank page PNG", png(&page)),
        ("blank page JPEG", jpeg(&page)),
        ("one pixel", png(&image::GrayImage::new(1, 1))),
    ] {
        let e = scan(&bytes).unwrap_err();
        assert!(matches!(e, ScanError::NoQrFound), "{what}: {e:?}");
        assert_eq!(e.code(), "no_qr_found");
        assert!(e.to_string().contains("photograph the whole code"), "{e}");
    }
}

#[test]
fn a_code_with_its_middle_torn_away_is_found_but_unreadable() {
    let mut rng = Rng::new(3);
    let text = photo::seal_like_text(&mut rng, 700);
    let (n, mut dark) = photo::modules(&text);
    // Blank a band across the middle: the finder patterns stay, the data does not.
    for y in n * 2 / 5..n * 3 / 5 {
        for x in 0..n {
            dark[y * n + x] = false;
        }
    }
    let shot = Shot {
        width: 1024,
        height: 768,
        module_px: 6.0,
        angle: 0.0,
        tilt: (0.0, 0.0),
        margin: 10.0,
        paper: 235.0,
        ink: 20.0,
        table: 90.0,
        shade: 0.0,
        light: (0.5, 0.5),
        blur: 0.5,
        noise: 0.0,
        jpeg: None,
        seed: 1,
    };
    let img = photo::photograph(n, &dark, &shot);
    let e = scan(&png(&img)).unwrap_err();
    assert!(matches!(e, ScanError::Unreadable), "{e:?}");
    assert_eq!(e.code(), "qr_unreadable");
}

#[test]
fn a_screenshot_with_a_transparent_background_is_read() {
    let mut rng = Rng::new(4);
    let text = photo::seal_like_text(&mut rng, 650);
    let (n, dark) = photo::modules(&text);
    let m = 5;
    let side = u32::try_from(n * m).unwrap();
    // Dark modules opaque black, everything else fully transparent black.
    let img = image::RgbaImage::from_fn(side, side, |x, y| {
        let (u, v) = (x as usize / m, y as usize / m);
        if dark[v * n + u] {
            image::Rgba([0, 0, 0, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let mut bytes = Vec::new();
    image::DynamicImage::ImageRgba8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    assert_eq!(scan(&bytes).unwrap().text, text);
}

#[test]
fn oversized_images_are_refused_from_the_header_alone() {
    // 50000 × 50000 declared in a PNG of a few dozen bytes: refused before any pixel is
    // allocated (2.5 GB of them).
    let bomb = photo::png_header_only(50_000, 50_000);
    assert!(bomb.len() < 100);
    let e = scan(&bomb).unwrap_err();
    assert!(
        matches!(
            e,
            ScanError::TooManyPixels {
                width: 50_000,
                height: 50_000,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.code(), "image_too_large");
    // Too wide though not too many pixels; too many pixels though no side too long.
    for (w, h) in [(20_000, 10), (8_000, 6_000)] {
        let e = scan(&photo::png_header_only(w, h)).unwrap_err();
        assert!(
            matches!(e, ScanError::TooManyPixels { width, height, .. } if (width, height) == (w, h)),
            "{e:?}"
        );
    }
    // The same for a JPEG: a small one whose frame header is rewritten to 50000 × 50000.
    let mut j = jpeg(&photo::blank_page(16, 16));
    let sof = j.windows(4).position(|w| w == [0xff, 0xc0, 0, 11]).unwrap();
    j[sof + 5..sof + 9].copy_from_slice(&[0xc3, 0x50, 0xc3, 0x50]);
    let e = scan(&j).unwrap_err();
    assert!(
        matches!(
            e,
            ScanError::TooManyPixels {
                width: 50_000,
                height: 50_000,
                ..
            }
        ),
        "{e:?}"
    );

    // More bytes than the cap: refused before the format is even looked at.
    let mut big = b"\x89PNG\r\n\x1a\n".to_vec();
    big.resize(MAX_IMAGE_BYTES + 1, 0);
    let e = scan(&big).unwrap_err();
    assert!(
        matches!(e, ScanError::TooLarge { bytes, max } if bytes == MAX_IMAGE_BYTES + 1 && max == MAX_IMAGE_BYTES),
        "{e:?}"
    );
    assert_eq!(e.code(), "image_too_large");
    // The caps are the caller's to choose.
    let small = ScanLimits {
        max_pixels: 100,
        ..ScanLimits::default()
    };
    let e = scan_with(&png(&photo::blank_page(11, 10)), &small).unwrap_err();
    assert!(matches!(e, ScanError::TooManyPixels { .. }), "{e:?}");
}

#[test]
fn damaged_images_are_corrupt() {
    let img = photo::clutter(9, 320, 240);
    let p = png(&img);
    let j = jpeg(&img);
    let mut bad_crc = p.clone();
    bad_crc[20] ^= 0x01; // inside IHDR: its CRC no longer matches
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("PNG cut in its image data", p[..p.len() / 2].to_vec()),
        ("PNG cut in its header", p[..20].to_vec()),
        ("PNG with a bad header CRC", bad_crc),
        ("PNG signature alone", p[..8].to_vec()),
        ("JPEG cut in its headers", j[..40].to_vec()),
        ("JPEG start marker alone", j[..3].to_vec()),
    ];
    // zune-jpeg fills in a scan cut short instead of failing: such a JPEG decodes to what
    // remains of the picture (here, none of a code).
    let e = scan(&j[..j.len() * 2 / 3]).unwrap_err();
    assert!(
        matches!(e, ScanError::Corrupt { .. } | ScanError::NoQrFound),
        "{e:?}"
    );
    for (what, bytes) in cases {
        let e = scan(&bytes).unwrap_err();
        assert!(matches!(e, ScanError::Corrupt { .. }), "{what}: {e:?}");
        assert_eq!(e.code(), "corrupt_image");
        assert!(
            std::error::Error::source(&e).is_some(),
            "{what}: the decoder's complaint is kept"
        );
    }
}

#[test]
fn a_jpeg_in_an_encoding_not_read_is_refused_as_corrupt() {
    // Marked as arithmetic-coded (SOF9) instead of baseline (SOF0).
    let mut j = jpeg(&photo::clutter(9, 64, 64));
    // The frame header of a one-component image: marker, then its length, 11.
    let sof = j.windows(4).position(|w| w == [0xff, 0xc0, 0, 11]).unwrap();
    j[sof + 1] = 0xc9;
    let e = scan(&j).unwrap_err();
    assert!(
        matches!(
            e,
            ScanError::Corrupt {
                kind: ImageKind::Jpeg,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("arithmetic-coded"), "{e}");
}

#[test]
fn other_bytes_are_unsupported() {
    let mut rng = Rng::new(11);
    let random: Vec<u8> = (0..4096).map(|_| rng.next_u64() as u8).collect();
    let mut gif = b"GIF89a".to_vec();
    gif.extend_from_slice(&random[..100]);
    for (what, bytes) in [
        ("random bytes", random.clone()),
        ("GIF", gif),
        ("empty", Vec::new()),
        ("text", b"EL1:ABC".to_vec()),
    ] {
        let e = scan(&bytes).unwrap_err();
        assert!(matches!(e, ScanError::UnsupportedFormat), "{what}: {e:?}");
        assert_eq!(e.code(), "unsupported_image");
    }
}

#[test]
fn small_fuzzing_seeds_are_readable() {
    for (name, bytes) in photo::small_code_photos() {
        let s = scan(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(s.text.starts_with("EL1:"), "{name}");
    }
}

/// Writes the `image_scan` fuzz target's seeds (see tests/fuzz/README.md).
#[test]
#[ignore = "writes tests/fuzz/seeds/image_scan; run by hand"]
fn write_image_scan_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/seeds/image_scan");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in photo::small_code_photos() {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    std::fs::write(dir.join("huge.png"), photo::png_header_only(50_000, 50_000)).unwrap();
}
