//! The alphabets of the codes and the value of a character in each: [`CharClass`].

use std::fmt;

/// The ISO/IEC 7064 alphanumeric alphabet; a character's index is its value.
pub(super) const BASE36_ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The GB 32100-2015 code alphabet (no I, O, S, V, Z); index = value.
pub(super) const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The set of characters allowed at a given position of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CharClass {
    /// An ASCII digit `0-9`.
    Digit,
    /// An ASCII digit in positions 3–8 of a USCC (administrative region code).
    RegionDigit,
    /// A character of the GB 32100 alphabet: `0-9` and `A-Z` without `I O S V Z`.
    UsccChar,
    /// A resident ID check character: `0-9` or uppercase `X`.
    ResidentIdCheck,
    /// `0-9` or uppercase `A-Z`.
    Alphanumeric,
}

impl CharClass {
    /// Whether `c` belongs to this class.
    #[must_use]
    pub fn contains(self, c: char) -> bool {
        match self {
            Self::Digit | Self::RegionDigit => c.is_ascii_digit(),
            Self::UsccChar => uscc_value(c).is_some(),
            Self::ResidentIdCheck => c.is_ascii_digit() || c == 'X',
            Self::Alphanumeric => base36_value(c).is_some(),
        }
    }
}

impl fmt::Display for CharClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Digit => "a digit 0-9",
            Self::RegionDigit => "a digit 0-9 (positions 3-8 are the administrative region code)",
            Self::UsccChar => "a digit 0-9 or an uppercase letter other than I, O, S, V and Z",
            Self::ResidentIdCheck => "a digit 0-9 or an uppercase 'X'",
            Self::Alphanumeric => "a digit 0-9 or an uppercase letter A-Z",
        })
    }
}

/// Value of `c` in the ISO/IEC 7064 alphanumeric alphabet (`0-9A-Z`).
pub(crate) fn base36_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(u32::from(c) - u32::from('0')),
        'A'..='Z' => Some(u32::from(c) - u32::from('A') + 10),
        _ => None,
    }
}

/// Value of `c` in the GB 32100 alphabet.
pub(super) fn uscc_value(c: char) -> Option<u32> {
    let byte = u8::try_from(c).ok()?;
    let index = USCC_ALPHABET.iter().position(|&a| a == byte)?;
    u32::try_from(index).ok()
}

pub(super) fn digit_value(c: char) -> Option<u32> {
    c.to_digit(10).filter(|_| c.is_ascii_digit())
}
