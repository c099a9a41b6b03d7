//! `scan::scan_with` on arbitrary bytes (meant to be a PNG or JPEG photo of a QR code):
//! never panics, never decodes past its caps, and says what it was given.
//!
//! The caps are smaller than the service's so that each run stays fast: an input of a
//! few bytes can declare a huge image, and the caps must refuse it from the header.

#![no_main]

use elicense::scan::{scan_with, ImageKind, ScanError, ScanLimits};
use libfuzzer_sys::fuzz_target;

const LIMITS: ScanLimits = ScanLimits {
    max_bytes: 1 << 20,
    max_side: 1024,
    max_pixels: 1 << 18,
};

fuzz_target!(|data: &[u8]| {
    let sniffed = ImageKind::sniff(data);
    match scan_with(data, &LIMITS) {
        Ok(s) => {
            assert_eq!(Some(s.kind), sniffed, "read as another format");
            assert!(s.width <= LIMITS.max_side && s.height <= LIMITS.max_side);
            assert!(u64::from(s.width) * u64::from(s.height) <= LIMITS.max_pixels);
        }
        Err(e) => {
            let _ = (e.to_string(), e.code());
            if sniffed.is_none() {
                assert!(
                    matches!(e, ScanError::UnsupportedFormat | ScanError::TooLarge { .. }),
                    "not PNG or JPEG, but {e:?}"
                );
            }
        }
    }
});
