//! One zlib (RFC 1950) reader and writer for every compressed layer: the paper seal's
//! COSE bytes and the status lists' `lst`.
//!
//! Inflating is capped: output stops one byte past `cap` (the decompression-bomb guard:
//! a bomb costs at most `cap` bytes of work and memory). The zlib header is checked here,
//! the DEFLATE data inflated, and the Adler-32 trailer compared with the output, so each
//! failure has its own error: a bad header, bad DEFLATE data, a stream cut short, a wrong
//! checksum, bytes after the stream.
//!
//! zlib state is large (miniz_oxide's compressor is about 300 KB): one compressor and one
//! decompressor per thread, reset for each use, instead of a fresh allocation (and its
//! page faults) every time. Pure: no I/O.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use std::cell::RefCell;

/// The highest compression level (what both the seal and the status lists use).
pub const BEST: u32 = 9;

/// Smallest step by which the inflate buffer grows.
const INFLATE_STEP: usize = 64 * 1024;

/// Length of the zlib header (CMF, FLG) and of the Adler-32 trailer.
const HEADER_LEN: usize = 2;
const TRAILER_LEN: usize = 4;

thread_local! {
    static DEFLATE: RefCell<Option<(u32, Compress)>> = const { RefCell::new(None) };
    static INFLATE: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// One zlib stream of `data` at `level` (0–9, clamped).
pub fn deflate(data: &[u8], level: u32) -> Result<Vec<u8>, DeflateError> {
    let level = level.min(BEST);
    DEFLATE.with(|cell| {
        let mut fresh = None;
        let mut shared = cell.try_borrow_mut();
        let z = match shared.as_deref_mut() {
            Ok(slot) => {
                if slot.as_ref().is_none_or(|(l, _)| *l != level) {
                    *slot = Some((level, Compress::new(Compression::new(level), true)));
                }
                match slot {
                    Some((_, z)) => z,
                    None => fresh.insert(Compress::new(Compression::new(level), true)),
                }
            }
            // Re-entered on this thread (cannot happen today): a compressor of its own.
            Err(_) => fresh.insert(Compress::new(Compression::new(level), true)),
        };
        z.reset();
        deflate_with(z, data)
    })
}

fn deflate_with(z: &mut Compress, data: &[u8]) -> Result<Vec<u8>, DeflateError> {
    let mut out = Vec::with_capacity(data.len() / 8 + 64);
    loop {
        if out.len() == out.capacity() {
            out.reserve(out.capacity().max(64));
        }
        let done = usize::try_from(z.total_in()).unwrap_or(data.len());
        let before = (z.total_in(), z.total_out());
        let status = z
            .compress_vec(
                data.get(done..).unwrap_or_default(),
                &mut out,
                FlushCompress::Finish,
            )
            .map_err(DeflateError::Compress)?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
        if before == (z.total_in(), z.total_out()) && out.len() < out.capacity() {
            return Err(DeflateError::Incomplete);
        }
    }
}

/// Inflates exactly one complete zlib stream into at most `cap` bytes.
///
/// The output buffer grows geometrically (from four times the input, in steps of at least
/// 64 KiB) but never beyond `cap + 1` bytes; one byte past `cap` is [`InflateError::TooLarge`].
pub fn inflate(compressed: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    let (header, deflated) = match compressed.split_first_chunk::<HEADER_LEN>() {
        Some(split) => split,
        None => return Err(InflateError::Truncated),
    };
    check_header(*header)?;
    INFLATE.with(|cell| {
        let mut fresh = None;
        let mut shared = cell.try_borrow_mut();
        let z = match shared.as_deref_mut() {
            Ok(slot) => slot.get_or_insert_with(|| Decompress::new(false)),
            Err(_) => fresh.insert(Decompress::new(false)),
        };
        z.reset(false);
        let (out, used) = inflate_raw(z, deflated, cap)?;
        let rest = deflated.get(used..).unwrap_or_default();
        let Some((trailer, extra)) = rest.split_first_chunk::<TRAILER_LEN>() else {
            return Err(InflateError::Truncated);
        };
        let expected = u32::from_be_bytes(*trailer);
        let found = adler32(&out);
        if expected != found {
            return Err(InflateError::Checksum { expected, found });
        }
        if !extra.is_empty() {
            return Err(InflateError::Trailing { bytes: extra.len() });
        }
        Ok(out)
    })
}

/// RFC 1950 §2.2: DEFLATE with a window of at most 32 KiB, a valid FCHECK, no preset
/// dictionary.
fn check_header([cmf, flg]: [u8; HEADER_LEN]) -> Result<(), InflateError> {
    let reason = if cmf & 0x0f != 8 {
        "the compression method is not DEFLATE"
    } else if cmf >> 4 > 7 {
        "the window size is over 32 KiB"
    } else if (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
        "the header check bits are wrong"
    } else if flg & 0x20 != 0 {
        "a preset dictionary is required"
    } else {
        return Ok(());
    };
    Err(InflateError::Header { reason })
}

/// Inflates raw DEFLATE data into at most `cap + 1` bytes; returns the output and how
/// many input bytes the DEFLATE stream took.
fn inflate_raw(
    z: &mut Decompress,
    input: &[u8],
    cap: usize,
) -> Result<(Vec<u8>, usize), InflateError> {
    let limit = cap.saturating_add(1);
    let first = input
        .len()
        .saturating_mul(4)
        .clamp(INFLATE_STEP.min(limit), limit);
    let mut out: Vec<u8> = Vec::with_capacity(first);
    loop {
        if out.len() == out.capacity() {
            let grow = out.len().max(INFLATE_STEP).min(limit - out.len());
            out.reserve_exact(grow);
        }
        let consumed = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
        let rest = input.get(consumed..).unwrap_or_default();
        let before = (z.total_in(), z.total_out());
        let status = z
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(InflateError::Data)?;
        if out.len() > cap {
            return Err(InflateError::TooLarge { max: cap });
        }
        match status {
            Status::StreamEnd => break,
            Status::Ok | Status::BufError => {
                let progressed = before != (z.total_in(), z.total_out());
                if !progressed && out.len() < out.capacity() {
                    // All input consumed, output space left, and no end of stream.
                    return Err(InflateError::Truncated);
                }
            }
        }
    }
    let used = usize::try_from(z.total_in()).unwrap_or(usize::MAX);
    Ok((out, used))
}

/// Adler-32 (RFC 1950 §8.2).
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    // 5552 bytes is the most that cannot overflow `b` before the reduction.
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// Why data could not be compressed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeflateError {
    /// zlib failed.
    #[error("zlib compression failed")]
    Compress(#[source] flate2::CompressError),
    /// zlib did not finish its stream.
    #[error("the zlib stream did not end")]
    Incomplete,
}

/// Why bytes are not exactly one zlib stream within the cap.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The two-byte zlib header is not one this reader accepts.
    #[error("bad zlib header: {reason}")]
    Header {
        /// What is wrong.
        reason: &'static str,
    },
    /// The DEFLATE data is invalid.
    #[error("invalid DEFLATE data")]
    Data(#[source] flate2::DecompressError),
    /// The stream ends before its end-of-block marker and checksum.
    #[error("the zlib stream is cut short")]
    Truncated,
    /// The Adler-32 trailer does not match the inflated bytes.
    #[error("the Adler-32 checksum is {found:08x}, the stream says {expected:08x}")]
    Checksum {
        /// The trailer's value.
        expected: u32,
        /// The inflated bytes' checksum.
        found: u32,
    },
    /// Bytes after the end of the stream.
    #[error("{bytes} byte(s) follow the end of the zlib stream")]
    Trailing {
        /// How many.
        bytes: usize,
    },
    /// More than the cap: stopped one byte past it.
    #[error("inflates to more than {max} bytes, the most accepted")]
    TooLarge {
        /// The cap, bytes.
        max: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn reference(data: &[u8], level: u32) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::new(level));
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    #[test]
    fn round_trips_and_matches_the_reference_encoder() {
        for data in [&b""[..], b"a", &[7u8; 100_000], "张三 licence".as_bytes()] {
            for level in [1, 6, BEST] {
                let z = deflate(data, level).unwrap();
                assert_eq!(z, reference(data, level));
                assert_eq!(inflate(&z, data.len()).unwrap(), data);
                // Reused state gives the same bytes.
                assert_eq!(deflate(data, level).unwrap(), z);
            }
        }
    }

    #[test]
    fn adler32_matches_rfc_1950() {
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        let long = vec![0xffu8; 100_000];
        let z = reference(&long, 1);
        let n = z.len();
        assert_eq!(
            u32::from_be_bytes(z[n - 4..].try_into().unwrap()),
            adler32(&long)
        );
    }

    #[test]
    fn every_failure_has_its_error() {
        let data = b"the quick brown fox jumps over the lazy dog".repeat(20);
        let z = deflate(&data, BEST).unwrap();
        let n = z.len();
        let err = |bytes: &[u8], cap| inflate(bytes, cap).unwrap_err();
        assert!(matches!(err(&[], 9999), InflateError::Truncated));
        assert!(matches!(err(&z[..1], 9999), InflateError::Truncated));
        assert!(matches!(err(&z[..2], 9999), InflateError::Truncated));
        assert!(matches!(err(&z[..n - 1], 9999), InflateError::Truncated));
        assert!(matches!(err(&z[..n - 4], 9999), InflateError::Truncated));
        assert!(matches!(
            err(&[&z[..], &[0]].concat(), 9999),
            InflateError::Trailing { bytes: 1 }
        ));
        let mut bad_sum = z.clone();
        bad_sum[n - 1] ^= 1;
        assert!(matches!(err(&bad_sum, 9999), InflateError::Checksum { .. }));
        assert!(matches!(err(&z[2..], 9999), InflateError::Header { .. }));
        let mut dict = z.clone();
        let flg = (dict[1] | 0x20) & 0xe0;
        let fcheck = (31 - (u16::from(dict[0]) << 8 | u16::from(flg)) % 31) % 31;
        dict[1] = flg | u8::try_from(fcheck).unwrap();
        assert!(matches!(err(&dict, 9999), InflateError::Header { .. }));
        assert!(matches!(
            err(&z, data.len() - 1),
            InflateError::TooLarge { max } if max == data.len() - 1
        ));
        assert_eq!(inflate(&z, data.len()).unwrap(), data);
        // A stored block with a bad length complement is bad DEFLATE data.
        let stored = [0x78, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00];
        assert!(matches!(err(&stored, 9999), InflateError::Data(_)));
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let bomb = deflate(&vec![0u8; 16 << 20], BEST).unwrap();
        for cap in [0usize, 1, 1000, 65_536, 250_000] {
            assert!(matches!(
                inflate(&bomb, cap),
                Err(InflateError::TooLarge { max }) if max == cap
            ));
        }
        let exact = deflate(&[7u8; 250_000], BEST).unwrap();
        let out = inflate(&exact, 250_000).unwrap();
        assert!(out.capacity() <= 250_001, "capacity {}", out.capacity());
    }
}
