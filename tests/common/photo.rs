//! Synthetic photos of QR codes, for the image tests and the scan benchmark.
//!
//! A QR code laid out by the project (`elicense::qr::SealQr`, level Q) holding seal-like text
//! is printed on a sheet of paper lying on a table, and photographed: rotated, scaled,
//! perspective-warped, unevenly lit, blurred, noised, and saved as PNG or JPEG. Every
//! photo is determined by its seed.
//!
//! Include with `#[path = "common/photo.rs"] mod photo;`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use image::{DynamicImage, ExtendedColorType, GrayImage, ImageEncoder as _};
use qrcode::{Color, EcLevel, QrCode};

/// SplitMix64: a small deterministic generator, so a seed names one photo forever.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x005e_ed0f_e11c_e45e)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `[lo, hi)`.
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64)
    }
    /// Uniform in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.range(0.0, 1.0) < p
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.range(f64::MIN_POSITIVE, 1.0);
        let v = self.range(0.0, 1.0);
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The QR alphanumeric alphabet, which is Base45's (RFC 9285).
pub const BASE45: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// `EL1:` and `len` random Base45 characters: the shape of a seal.
pub fn seal_like_text(rng: &mut Rng, len: usize) -> String {
    let mut s = String::from("EL1:");
    for _ in 0..len {
        s.push(char::from(BASE45[rng.below(BASE45.len() as u64) as usize]));
    }
    s
}

/// The modules of `text` as the project lays out a seal's QR code (`elicense::qr::SealQr`:
/// level Q) with a 4-module quiet zone: (side, dark?).
pub fn modules(text: &str) -> (usize, Vec<bool>) {
    // Text that is no seal (lower case, `~`: an SD-JWT, a URL) is laid out by the same
    // encoder in byte mode, for the not-a-licence cases.
    let (n0, dark) = match elicense::qr::SealQr::new(text) {
        Ok(code) => (code.width(), code.modules()),
        Err(_) => {
            let code = QrCode::with_error_correction_level(text, EcLevel::Q).unwrap();
            let dark = code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect();
            (code.width(), dark)
        }
    };
    let n = n0 + 8;
    let mut out = vec![false; n * n];
    for y in 0..n0 {
        for x in 0..n0 {
            out[(y + 4) * n + x + 4] = dark[y * n0 + x];
        }
    }
    (n, out)
}

/// How one photo is taken.
#[derive(Debug, Clone)]
pub struct Shot {
    /// Picture width, pixels.
    pub width: u32,
    /// Picture height, pixels.
    pub height: u32,
    /// Module size, pixels (before perspective).
    pub module_px: f64,
    /// Rotation, degrees.
    pub angle: f64,
    /// Perspective terms (per pixel from the code's centre).
    pub tilt: (f64, f64),
    /// Paper around the code, modules on each side.
    pub margin: f64,
    /// Paper and ink brightness.
    pub paper: f64,
    /// Ink brightness.
    pub ink: f64,
    /// Table brightness.
    pub table: f64,
    /// Fall-off of the light towards the far corner (0 = even).
    pub shade: f64,
    /// Where the light is brightest, as fractions of the picture.
    pub light: (f64, f64),
    /// Gaussian blur sigma, pixels.
    pub blur: f32,
    /// Gaussian noise standard deviation, grey levels.
    pub noise: f64,
    /// JPEG quality, or PNG when `None`.
    pub jpeg: Option<u8>,
    /// Seed of the noise.
    pub seed: u64,
}

impl Shot {
    /// A random hand-held photo of a code `n` modules across (quiet zone included),
    /// fitting in `width` × `height`.
    pub fn random(rng: &mut Rng, n: usize, width: u32, height: u32) -> Self {
        let angle = match rng.below(3) {
            0 => rng.below(4) as f64 * 90.0 + rng.range(-4.0, 4.0),
            1 => rng.range(-15.0, 15.0),
            _ => rng.range(0.0, 360.0),
        };
        let side_max = f64::from(width.min(height));
        let strength = rng.range(0.0, 0.35);
        // A 45° code needs √2 its side; the near edge of a tilted code grows.
        let turned = angle.to_radians().sin().abs() + angle.to_radians().cos().abs();
        let module_px = rng
            .range(3.0, 9.0)
            .min(0.9 * side_max / (n as f64 * turned * (1.0 + strength)));
        let dir = rng.range(0.0, std::f64::consts::TAU);
        let side = module_px * n as f64;
        Self {
            width,
            height,
            module_px,
            angle,
            tilt: (strength * dir.cos() / side, strength * dir.sin() / side),
            margin: rng.range(2.0, 40.0),
            paper: rng.range(185.0, 250.0),
            ink: rng.range(5.0, 70.0),
            table: rng.range(30.0, 150.0),
            shade: rng.range(0.0, 0.45),
            light: (rng.range(0.0, 1.0), rng.range(0.0, 1.0)),
            // Blur in proportion to the modules: a camera that cannot resolve them
            // cannot be asked to read them.
            blur: rng.range(0.4, (0.3 * module_px).clamp(0.5, 1.8)) as f32,
            noise: rng.range(0.0, 12.0),
            jpeg: if rng.chance(0.6) {
                Some(rng.range(45.0, 96.0) as u8)
            } else {
                None
            },
            seed: rng.next_u64(),
        }
    }
}

/// A 3×3 projective map.
#[derive(Debug, Clone, Copy)]
struct Homography([f64; 9]);

impl Homography {
    fn mul(self, o: Self) -> Self {
        let (a, b) = (self.0, o.0);
        let mut m = [0.0; 9];
        for r in 0..3 {
            for c in 0..3 {
                m[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
            }
        }
        Self(m)
    }
    fn apply(self, x: f64, y: f64) -> (f64, f64) {
        let m = self.0;
        let w = m[6] * x + m[7] * y + m[8];
        (
            (m[0] * x + m[1] * y + m[2]) / w,
            (m[3] * x + m[4] * y + m[5]) / w,
        )
    }
    /// The inverse, by the adjugate.
    fn inverse(self) -> Self {
        let [a, b, c, d, e, f, g, h, i] = self.0;
        let det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g);
        let adj = [
            e * i - f * h,
            c * h - b * i,
            b * f - c * e,
            f * g - d * i,
            a * i - c * g,
            c * d - a * f,
            d * h - e * g,
            b * g - a * h,
            a * e - b * d,
        ];
        Self(adj.map(|v| v / det))
    }
}

/// The picture `shot` takes of the code `(n, dark)`.
pub fn photograph(n: usize, dark: &[bool], shot: &Shot) -> GrayImage {
    let (w, h) = (f64::from(shot.width), f64::from(shot.height));
    let half = n as f64 / 2.0;
    let (s, c) = shot.angle.to_radians().sin_cos();
    let m = shot.module_px;
    // Module coordinates → centred, scaled, rotated → tilted → placed in the middle.
    let centre = Homography([1.0, 0.0, -half, 0.0, 1.0, -half, 0.0, 0.0, 1.0]);
    let rotate = Homography([m * c, -m * s, 0.0, m * s, m * c, 0.0, 0.0, 0.0, 1.0]);
    let tilt = Homography([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, shot.tilt.0, shot.tilt.1, 1.0]);
    let place = Homography([1.0, 0.0, w / 2.0, 0.0, 1.0, h / 2.0, 0.0, 0.0, 1.0]);
    let inv = place.mul(tilt).mul(rotate).mul(centre).inverse().0;
    let nf = n as f64;
    let (lx, ly) = (shot.light.0 * w, shot.light.1 * h);
    let far = w * w + h * h;
    let (width, height) = (shot.width as usize, shot.height as usize);
    let mut px = vec![0u8; width * height];
    // Written for speed in unoptimized test builds: the projective map is stepped along
    // each row instead of recomputed.
    for (y, row) in px.chunks_exact_mut(width).enumerate() {
        let yf = y as f64 + 0.5;
        let mut nu = inv[0] * 0.5 + inv[1] * yf + inv[2];
        let mut nv = inv[3] * 0.5 + inv[4] * yf + inv[5];
        let mut nw = inv[6] * 0.5 + inv[7] * yf + inv[8];
        let dy2 = (yf - ly) * (yf - ly);
        for (x, out) in row.iter_mut().enumerate() {
            let (u, v) = (nu / nw, nv / nw);
            nu += inv[0];
            nv += inv[3];
            nw += inv[6];
            let surface = if u >= 0.0 && v >= 0.0 && u < nf && v < nf {
                if dark[v as usize * n + u as usize] {
                    shot.ink
                } else {
                    shot.paper
                }
            } else if u > -shot.margin
                && v > -shot.margin
                && u < nf + shot.margin
                && v < nf + shot.margin
            {
                shot.paper
            } else {
                shot.table
            };
            let dx = x as f64 + 0.5 - lx;
            let r2 = ((dx * dx + dy2) / far).min(1.0);
            *out = (surface * (1.0 - shot.shade * r2)) as u8;
        }
    }
    let img = GrayImage::from_raw(shot.width, shot.height, px).unwrap();
    let mut img = DynamicImage::ImageLuma8(img).blur(shot.blur).into_luma8();
    if shot.noise > 0.0 {
        let mut rng = Rng::new(shot.seed);
        // Irwin–Hall: four uniforms from one draw, summed, are close enough to normal.
        let scale = shot.noise * 3f64.sqrt() / 65536.0;
        for p in img.iter_mut() {
            let r = rng.next_u64();
            let sum = (r & 0xffff) + ((r >> 16) & 0xffff) + ((r >> 32) & 0xffff) + (r >> 48);
            let v = f64::from(*p) + (sum as f64 - 131_070.0) * scale;
            *p = v.clamp(0.0, 255.0) as u8;
        }
    }
    img
}

/// The picture as PNG, or JPEG of the given quality.
pub fn encode(img: &GrayImage, jpeg: Option<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let (w, h) = img.dimensions();
    match jpeg {
        Some(q) => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
            .encode(img.as_raw(), w, h, ExtendedColorType::L8)
            .unwrap(),
        None => image::codecs::png::PngEncoder::new(&mut out)
            .write_image(img.as_raw(), w, h, ExtendedColorType::L8)
            .unwrap(),
    }
    out
}

/// A photo of a code holding `text`, from `seed`: (file bytes, how it was taken).
pub fn photo_of(text: &str, seed: u64, width: u32, height: u32) -> (Vec<u8>, Shot) {
    let (n, dark) = modules(text);
    let mut rng = Rng::new(seed);
    let shot = Shot::random(&mut rng, n, width, height);
    let img = photograph(n, &dark, &shot);
    (encode(&img, shot.jpeg), shot)
}

/// A photo-like picture with no code in it: soft blobs of light and shade, edges and
/// noise.
pub fn clutter(seed: u64, width: u32, height: u32) -> GrayImage {
    let mut rng = Rng::new(seed);
    let blobs: Vec<(f64, f64, f64, f64)> = (0..12)
        .map(|_| {
            (
                rng.range(0.0, f64::from(width)),
                rng.range(0.0, f64::from(height)),
                rng.range(20.0, 200.0),
                rng.range(-90.0, 90.0),
            )
        })
        .collect();
    let mut img = GrayImage::new(width, height);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (x, y) = (f64::from(x), f64::from(y));
        let mut v = 128.0;
        for &(bx, by, r, a) in &blobs {
            let d2 = ((x - bx).powi(2) + (y - by).powi(2)) / (r * r);
            v += if d2 < 1.0 { a } else { a * 0.3 / d2 };
        }
        v += 12.0 * rng.normal();
        px.0[0] = v.clamp(0.0, 255.0) as u8;
    }
    img
}

/// A blank, unevenly lit page.
pub fn blank_page(width: u32, height: u32) -> GrayImage {
    GrayImage::from_fn(width, height, |x, y| {
        let r2 = (f64::from(x).powi(2) + f64::from(y).powi(2))
            / (f64::from(width).powi(2) + f64::from(height).powi(2));
        image::Luma([(235.0 * (1.0 - 0.3 * r2)) as u8])
    })
}

/// A PNG whose header declares `width` × `height` (8-bit grey) followed by a few bytes
/// of image data and the end: small however large it claims to be.
pub fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of a few zero rows.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Small photos of a short code (160 × 160, as PNG and as JPEG): inputs to mutate in
/// fuzzing, which must stay quick to read.
pub fn small_code_photos() -> Vec<(&'static str, Vec<u8>)> {
    let (n, dark) = modules("EL1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK");
    let shot = Shot {
        width: 160,
        height: 160,
        module_px: 3.0,
        angle: 8.0,
        tilt: (0.0, 0.0),
        margin: 4.0,
        paper: 230.0,
        ink: 30.0,
        table: 100.0,
        shade: 0.1,
        light: (0.5, 0.5),
        blur: 0.5,
        noise: 2.0,
        jpeg: None,
        seed: 1,
    };
    let img = photograph(n, &dark, &shot);
    vec![
        ("code.png", encode(&img, None)),
        ("code.jpg", encode(&img, Some(80))),
    ]
}
