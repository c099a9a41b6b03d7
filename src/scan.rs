//! Reading the QR code in a photo: PNG or JPEG bytes → the text the code holds.
//!
//! ```text
//! bytes ─► byte cap ─► sniff PNG / JPEG (magic bytes) ─► header: width × height caps
//!       ─► decode (image, with its allocation limits) ─► luma (alpha over white)
//!       ─► find + decode the QR (rxing): working copy ≤ 2048 px, then half size, then
//!          full size ─► text
//! ```
//!
//! Every cap is checked before the pixels are decoded: the body length first, then the
//! dimensions the header declares. Pure: no I/O, no clock.
//!
//! A PNG cut short is [`ScanError::Corrupt`]; a JPEG cut short inside its image data is
//! not (the JPEG decoder fills in what is missing), and reads as whatever remains of the
//! picture.

use image::{ImageReader, Limits};
use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::qrcode::cpp_port::QrReader;
use rxing::qrcode::QRCodeReader;
use rxing::{
    BarcodeFormat, Binarizer, BinaryBitmap, DecodeHints, Exceptions, Luma8Source, RXingResult,
    Reader,
};
use std::io::Cursor;

/// Largest image accepted, bytes (a phone photo as JPEG is 2–6 MiB).
pub const MAX_IMAGE_BYTES: usize = 8 * 1024 * 1024;
/// Largest width or height accepted, pixels.
pub const MAX_SIDE: u32 = 12_000;
/// Most pixels accepted (width × height): 40 megapixels.
pub const MAX_PIXELS: u64 = 40_000_000;
/// Most memory the image decoder may allocate at once, bytes.
pub const MAX_DECODER_ALLOC: u64 = 384 * 1024 * 1024;
/// Images whose longer side is above this are first searched at this size.
pub const WORK_SIDE: u32 = 2048;

/// What [`scan`] accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanLimits {
    /// Largest input, bytes.
    pub max_bytes: usize,
    /// Largest width or height, pixels.
    pub max_side: u32,
    /// Most pixels (width × height).
    pub max_pixels: u64,
}

impl Default for ScanLimits {
    fn default() -> Self {
        Self {
            max_bytes: MAX_IMAGE_BYTES,
            max_side: MAX_SIDE,
            max_pixels: MAX_PIXELS,
        }
    }
}

/// The image formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// PNG.
    Png,
    /// JPEG (JFIF / Exif).
    Jpeg,
}

impl ImageKind {
    /// The format of `bytes` from its magic bytes, if it is one read here.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Self::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(Self::Jpeg)
        } else {
            None
        }
    }

    /// The media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }

    fn format(self) -> image::ImageFormat {
        match self {
            Self::Png => image::ImageFormat::Png,
            Self::Jpeg => image::ImageFormat::Jpeg,
        }
    }
}

impl std::fmt::Display for ImageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Png => "PNG",
            Self::Jpeg => "JPEG",
        })
    }
}

/// A QR code read from an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    /// The text the code holds.
    pub text: String,
    /// The image's format.
    pub kind: ImageKind,
    /// The image's width, pixels.
    pub width: u32,
    /// The image's height, pixels.
    pub height: u32,
}

/// Why no text could be read from an image.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The input is larger than the byte cap.
    #[error("the image is {bytes} bytes, more than the {max} accepted: send a smaller photo (a JPEG of about 2000 pixels across is plenty)")]
    TooLarge {
        /// Its size.
        bytes: usize,
        /// The cap.
        max: usize,
    },
    /// The header declares more pixels than accepted.
    #[error("the image is {width}×{height} pixels, more than the {max_side} per side or {max_pixels} in all accepted: send a smaller photo")]
    TooManyPixels {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// The per-side cap.
        max_side: u32,
        /// The total cap.
        max_pixels: u64,
    },
    /// Decoding would need more memory than the decoder is allowed.
    #[error("the image needs more memory to decode than allowed: send a smaller or 8-bit photo")]
    DecoderLimit(#[source] image::ImageError),
    /// Neither PNG nor JPEG.
    #[error("not a PNG or JPEG image: send a photo or screenshot as PNG or JPEG")]
    UnsupportedFormat,
    /// The bytes start like a PNG or JPEG but do not decode: damaged, truncated, or in an
    /// encoding the decoder does not read (zune-jpeg reports arithmetic-coded, lossless and
    /// 12-bit JPEG as undecodable, not as unsupported).
    #[error("the {kind} image is damaged, incomplete, or in an encoding not read here (such as arithmetic-coded JPEG): send it again as an ordinary PNG or JPEG")]
    Corrupt {
        /// The format it claimed.
        kind: ImageKind,
        /// The decoder's complaint.
        #[source]
        source: image::ImageError,
    },
    /// No QR code was found.
    #[error("no QR code found: photograph the whole code, flat, in focus and well lit, filling about a third of the picture")]
    NoQrFound,
    /// A QR code was found but its modules could not be read back (damaged, blurred or
    /// too small).
    #[error(
        "a QR code was found but could not be read: photograph it closer, in focus, without glare"
    )]
    Unreadable,
}

impl ScanError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } | Self::TooManyPixels { .. } | Self::DecoderLimit(_) => {
                "image_too_large"
            }
            Self::UnsupportedFormat => "unsupported_image",
            Self::Corrupt { .. } => "corrupt_image",
            Self::NoQrFound => "no_qr_found",
            Self::Unreadable => "qr_unreadable",
        }
    }
}

/// Reads the QR code in a PNG or JPEG image, with the default [`ScanLimits`].
pub fn scan(bytes: &[u8]) -> Result<Scanned, ScanError> {
    scan_with(bytes, &ScanLimits::default())
}

/// Reads the QR code in a PNG or JPEG image.
pub fn scan_with(bytes: &[u8], limits: &ScanLimits) -> Result<Scanned, ScanError> {
    let (kind, luma) = decode_luma(bytes, limits)?;
    let (width, height) = luma.dimensions();
    let text = find_qr(&luma)?;
    Ok(Scanned {
        text,
        kind,
        width,
        height,
    })
}

/// The image's dimensions from its header alone, after the byte cap and format sniff.
pub fn dimensions(bytes: &[u8], limits: &ScanLimits) -> Result<(ImageKind, u32, u32), ScanError> {
    if bytes.len() > limits.max_bytes {
        return Err(ScanError::TooLarge {
            bytes: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let kind = ImageKind::sniff(bytes).ok_or(ScanError::UnsupportedFormat)?;
    // The header is read without the side limits, so that an oversized image is reported
    // with its declared size rather than as a decoder failure.
    let (width, height) = reader(bytes, kind, None)
        .into_dimensions()
        .map_err(|e| decode_error(kind, e))?;
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(ScanError::TooManyPixels {
            width,
            height,
            max_side: limits.max_side,
            max_pixels: limits.max_pixels,
        });
    }
    Ok((kind, width, height))
}

/// A reader for `kind`, its allocations capped, and its sides when `limits` are given.
fn reader<'a>(
    bytes: &'a [u8],
    kind: ImageKind,
    limits: Option<&ScanLimits>,
) -> ImageReader<Cursor<&'a [u8]>> {
    let mut r = ImageReader::new(Cursor::new(bytes));
    r.set_format(kind.format());
    let mut l = Limits::default();
    l.max_image_width = limits.map(|l| l.max_side);
    l.max_image_height = limits.map(|l| l.max_side);
    l.max_alloc = Some(MAX_DECODER_ALLOC);
    r.limits(l);
    r
}

fn decode_error(kind: ImageKind, e: image::ImageError) -> ScanError {
    match e {
        image::ImageError::Limits(_) => ScanError::DecoderLimit(e),
        source => ScanError::Corrupt { kind, source },
    }
}

/// Decodes to 8-bit luma, transparent pixels over white (a screenshot's transparent
/// background is light, as paper is).
fn decode_luma(
    bytes: &[u8],
    limits: &ScanLimits,
) -> Result<(ImageKind, image::GrayImage), ScanError> {
    let (kind, _, _) = dimensions(bytes, limits)?;
    let img = reader(bytes, kind, Some(limits))
        .decode()
        .map_err(|e| decode_error(kind, e))?;
    let luma = if img.color().has_alpha() {
        let la = img.into_luma_alpha8();
        let mut luma = image::GrayImage::new(la.width(), la.height());
        for (out, p) in luma.pixels_mut().zip(la.pixels()) {
            let [l, a] = p.0;
            let (l, a) = (u32::from(l), u32::from(a));
            // (l·a + 255·(255 − a)) / 255 is at most 255.
            out.0[0] = u8::try_from((l * a + 255 * (255 - a)) / 255).unwrap_or(u8::MAX);
        }
        luma
    } else {
        img.into_luma8()
    };
    Ok((kind, luma))
}

/// What the attempts on one image saw.
#[derive(Default)]
struct Seen {
    /// A code was located but its data did not decode.
    unreadable: bool,
}

/// Sizes tried, as fractions of the working copy, in order: as it is, then smaller
/// (noise, blur and JPEG blocks shrink with it), then larger (small modules grow).
const SCALES: [f64; 5] = [1.0, 0.75, 0.5, 1.25, 1.5];

/// Finds and decodes the QR code: on a working copy at most [`WORK_SIDE`] across, at
/// each of [`SCALES`] with both binarizers; last at full size when the working copy was a
/// reduction (a code small in a large photo).
fn find_qr(luma: &image::GrayImage) -> Result<String, ScanError> {
    let mut seen = Seen::default();
    let (w, h) = luma.dimensions();
    if w == 0 || h == 0 {
        return Err(ScanError::NoQrFound);
    }
    let long = w.max(h);
    let work = if long > WORK_SIDE {
        resized(luma, f64::from(WORK_SIDE) / f64::from(long))
    } else {
        None
    };
    let first = work.as_ref().unwrap_or(luma);
    for k in SCALES {
        let (fw, fh) = first.dimensions();
        if f64::from(fw.min(fh)) * k < 100.0 {
            continue;
        }
        let scaled;
        let img = if k == 1.0 {
            first
        } else {
            match resized(first, k) {
                Some(s) => {
                    scaled = s;
                    &scaled
                }
                None => continue,
            }
        };
        for hybrid in [true, false] {
            if let Some(t) = attempt(img, hybrid, &mut seen) {
                return Ok(t);
            }
        }
    }
    if work.is_some() {
        if let Some(t) = attempt(luma, true, &mut seen) {
            return Ok(t);
        }
    }
    Err(if seen.unreadable {
        ScanError::Unreadable
    } else {
        ScanError::NoQrFound
    })
}

/// `luma` scaled by `k`: reductions by image's box filter, enlargements bilinear (image's
/// general resampler is several times slower for this simple case).
fn resized(luma: &image::GrayImage, k: f64) -> Option<image::GrayImage> {
    let (w, h) = luma.dimensions();
    let nw = ((f64::from(w) * k).round() as u32).max(1);
    let nh = ((f64::from(h) * k).round() as u32).max(1);
    if k < 1.0 {
        // Straight from the borrowed image: no copy of the whole photo first.
        return Some(image::imageops::thumbnail(luma, nw, nh));
    }
    // For each output column (row): the source column (row) before it, and the weight of
    // the one after, in 256ths.
    let axis = |n: u32, from: u32| -> Vec<(usize, u32)> {
        (0..n)
            .map(|i| {
                let p = ((f64::from(i) + 0.5) * f64::from(from) / f64::from(n) - 0.5).max(0.0);
                let i0 = (p.floor() as u32).min(from - 1);
                let f = ((p - f64::from(i0)) * 256.0) as u32;
                (i0 as usize, f.min(256))
            })
            .collect()
    };
    let (xs, ys) = (axis(nw, w), axis(nh, h));
    let (wu, hu) = (w as usize, h as usize);
    let src = luma.as_raw();
    let mut out = Vec::with_capacity(nw as usize * nh as usize);
    for &(y0, fy) in &ys {
        let y1 = (y0 + 1).min(hu - 1);
        let (r0, r1) = (&src[y0 * wu..(y0 + 1) * wu], &src[y1 * wu..(y1 + 1) * wu]);
        for &(x0, fx) in &xs {
            let x1 = (x0 + 1).min(wu - 1);
            let top = u32::from(r0[x0]) * (256 - fx) + u32::from(r0[x1]) * fx;
            let bottom = u32::from(r1[x0]) * (256 - fx) + u32::from(r1[x1]) * fx;
            // At most 255·256·256, shifted back to 0..=255.
            out.push(((top * (256 - fy) + bottom * fy) >> 16) as u8);
        }
    }
    image::GrayImage::from_raw(nw, nh, out)
}

/// One attempt: the local (hybrid) or global-histogram binarizer, then both of rxing's
/// QR readers. A panic inside the decoder counts as unreadable, never as a crash.
fn attempt(luma: &image::GrayImage, hybrid: bool, seen: &mut Seen) -> Option<String> {
    let (w, h) = luma.dimensions();
    let source = Luma8Source::new_with_slice(luma.as_raw(), w, h).ok()?;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        if hybrid {
            read(&mut BinaryBitmap::new(HybridBinarizer::new(source)))
        } else {
            read(&mut BinaryBitmap::new(GlobalHistogramBinarizer::new(
                source,
            )))
        }
    }));
    match result {
        Ok(Ok(r)) if *r.getBarcodeFormat() == BarcodeFormat::QR_CODE => {
            Some(r.getText().to_owned())
        }
        Ok(Ok(_)) => None,
        Ok(Err(errors)) => {
            seen.unreadable |= errors.iter().any(located_but_unreadable);
            None
        }
        Err(_) => {
            seen.unreadable = true;
            None
        }
    }
}

fn read<B: Binarizer>(bitmap: &mut BinaryBitmap<B>) -> Result<RXingResult, Vec<Exceptions>> {
    let hints = DecodeHints {
        TryHarder: Some(true),
        PossibleFormats: Some([BarcodeFormat::QR_CODE].into_iter().collect()),
        ..DecodeHints::default()
    };
    let first = match QrReader.decode_with_hints(bitmap, &hints) {
        Ok(r) => return Ok(r),
        Err(e) => e,
    };
    match QRCodeReader.decode_with_hints(bitmap, &hints) {
        Ok(r) => Ok(r),
        Err(second) => Err(vec![first, second]),
    }
}

/// Errors that mean a symbol was located and sampled, but its bits did not decode.
fn located_but_unreadable(e: &Exceptions) -> bool {
    matches!(
        e,
        Exceptions::ChecksumException(_)
            | Exceptions::ReedSolomonException(_)
            | Exceptions::FormatException(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_only_png_and_jpeg() {
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(&[0xff, 0xd8, 0xff, 0xe0]),
            Some(ImageKind::Jpeg)
        );
        for other in [&b"GIF89a"[..], b"RIFF....WEBP", b"BM", b"", b"\x89PNG"] {
            assert_eq!(ImageKind::sniff(other), None, "{other:?}");
        }
    }

    #[test]
    fn byte_cap_comes_before_anything_else() {
        let limits = ScanLimits {
            max_bytes: 4,
            ..ScanLimits::default()
        };
        let e = scan_with(b"not an image at all", &limits).unwrap_err();
        assert!(
            matches!(e, ScanError::TooLarge { bytes: 19, max: 4 }),
            "{e:?}"
        );
        assert_eq!(e.code(), "image_too_large");
        let e = scan(b"not an image at all").unwrap_err();
        assert!(matches!(e, ScanError::UnsupportedFormat), "{e:?}");
    }
}
