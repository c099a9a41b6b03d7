//! QR codes of paper seals, as SVG or PNG.
//!
//! A seal's text is upper-case Base45 behind `EL1:`, all of it in the QR alphanumeric set,
//! so the encoder uses alphanumeric mode (5.5 bits a character). Error correction is level
//! Q (about 25 % of the code may be damaged), and every image has the 4-module quiet zone
//! scanners need. Pure: text in, image bytes out.

use image::ImageEncoder as _;
use qrcode::{EcLevel, QrCode, Version};

/// Error correction level of every seal's QR code.
pub const EC_LEVEL: EcLevel = EcLevel::Q;
/// Default size of a module in a PNG, pixels (a version-20 code is then 840 px square).
pub const DEFAULT_MODULE_PX: u32 = 8;
/// Largest module size accepted for a PNG, pixels.
pub const MAX_MODULE_PX: u32 = 40;

/// Most characters a QR code holds at level Q in alphanumeric mode (version 40).
pub const MAX_CHARS: usize = 2420;

/// The QR alphanumeric character set (ISO/IEC 18004 §7.4.4), which is also Base45's.
const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// A seal laid out as a QR code.
pub struct SealQr {
    code: QrCode,
}

impl std::fmt::Debug for SealQr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealQr")
            .field("version", &self.version())
            .field("width", &self.width())
            .finish()
    }
}

impl SealQr {
    /// Lays out `seal` (the `EL1:…` text) at level Q, in the smallest version that holds
    /// it.
    pub fn new(seal: &str) -> Result<Self, QrError> {
        if let Some((position, c)) = seal
            .char_indices()
            .find(|(_, c)| !c.is_ascii() || !ALPHANUMERIC.contains(&(*c as u8)))
        {
            return Err(QrError::NotAlphanumeric { position, found: c });
        }
        let code = QrCode::with_error_correction_level(seal, EC_LEVEL).map_err(|e| match e {
            qrcode::types::QrError::DataTooLong => QrError::TooLong { chars: seal.len() },
            other => QrError::Layout(other),
        })?;
        Ok(Self { code })
    }

    /// The QR version (1 to 40; the side is 17 + 4 × version modules).
    pub fn version(&self) -> i16 {
        match self.code.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        }
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.code.width()
    }

    /// The modules row by row, `true` for dark, without the quiet zone (`width()²` of
    /// them): what every rendering draws.
    pub fn modules(&self) -> Vec<bool> {
        self.code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect()
    }

    /// An SVG document, one user unit per module, quiet zone included; it scales to any
    /// size (`width`/`height` are in modules).
    pub fn to_svg(&self) -> String {
        self.code
            .render::<qrcode::render::svg::Color<'_>>()
            .module_dimensions(1, 1)
            .quiet_zone(true)
            .build()
    }

    /// The `<svg>` element alone, for inline use in HTML (no XML declaration).
    pub fn to_inline_svg(&self) -> String {
        let svg = self.to_svg();
        match svg.find("<svg") {
            Some(start) => svg[start..].to_owned(),
            None => svg,
        }
    }

    /// A greyscale PNG with `module_px` pixels a module (1 to [`MAX_MODULE_PX`]), quiet
    /// zone included.
    pub fn to_png(&self, module_px: u32) -> Result<Vec<u8>, QrError> {
        if !(1..=MAX_MODULE_PX).contains(&module_px) {
            return Err(QrError::ModuleSize {
                found: module_px,
                max: MAX_MODULE_PX,
            });
        }
        let img = self
            .code
            .render::<image::Luma<u8>>()
            .module_dimensions(module_px, module_px)
            .quiet_zone(true)
            .build();
        let mut out = Vec::new();
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(
                img.as_raw(),
                img.width(),
                img.height(),
                image::ExtendedColorType::L8,
            )
            .map_err(QrError::Png)?;
        Ok(out)
    }
}

/// Why a seal could not be drawn as a QR code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// A character outside the QR alphanumeric set: not a seal text.
    #[error("character {found:?} at byte {position} is not in the QR alphanumeric set; a seal is upper-case Base45 after \"EL1:\"")]
    NotAlphanumeric {
        /// Where.
        position: usize,
        /// What.
        found: char,
    },
    /// More than a version-40 code holds at level Q.
    #[error("the seal is {chars} characters, more than a QR code holds at error correction level Q (2420); the licence's face fields are too long to print as a QR code")]
    TooLong {
        /// Its length.
        chars: usize,
    },
    /// The encoder refused otherwise.
    #[error("the QR encoder refused the seal")]
    Layout(#[source] qrcode::types::QrError),
    /// A module size out of range.
    #[error("a module of {found} px is not in 1..={max}")]
    ModuleSize {
        /// Requested.
        found: u32,
        /// Limit.
        max: u32,
    },
    /// PNG encoding failed.
    #[error("could not encode the PNG")]
    Png(#[source] image::ImageError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_and_png_with_quiet_zone() {
        let qr = SealQr::new("EL1:6BFOXN*TS0BI$ZD.P9UOL97O4-2HH77HRM3HSZ%").unwrap();
        assert_eq!(qr.width(), 17 + 4 * qr.version() as usize);
        let svg = qr.to_svg();
        let side = qr.width() + 8;
        assert!(
            svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")),
            "{svg}"
        );
        assert!(qr.to_inline_svg().starts_with("<svg"));
        let png = qr.to_png(3).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let img = image::load_from_memory(&png).unwrap();
        assert_eq!(img.width() as usize, side * 3);
        assert!(matches!(qr.to_png(0), Err(QrError::ModuleSize { .. })));
    }

    #[test]
    fn refuses_what_is_not_a_seal_text() {
        assert!(matches!(
            SealQr::new("EL1:abc"),
            Err(QrError::NotAlphanumeric {
                position: 4,
                found: 'a'
            })
        ));
        assert!(matches!(
            SealQr::new(&"A".repeat(MAX_CHARS + 1)),
            Err(QrError::TooLong { chars: 2421 })
        ));
        assert_eq!(SealQr::new(&"A".repeat(MAX_CHARS)).unwrap().version(), 40);
    }
}
