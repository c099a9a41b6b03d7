//! GB 32100-2015 统一社会信用代码 (Unified Social Credit Code): [`Uscc`].

use super::alphabet::{digit_value, uscc_value, CharClass, USCC_ALPHABET};
use super::check::{check_len, split_last};
use super::error::{CodeError, CodeKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// GB 32100-2015 weights for positions 1..=17 (3^(i-1) mod 31).
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Value of the character at 1-based `position` of a USCC, enforcing the
/// digit-only region code in positions 3–8.
fn uscc_value_at(position: usize, c: char) -> Result<u32, CodeError> {
    let (value, expected) = if (3..=8).contains(&position) {
        (digit_value(c), CharClass::RegionDigit)
    } else {
        (uscc_value(c), CharClass::UsccChar)
    };
    value.ok_or(CodeError::InvalidChar {
        kind: CodeKind::Uscc,
        position,
        found: c,
        expected,
    })
}

/// Check character of the first 17 characters; the length must already be
/// known to be 17.
fn uscc_check_of(first17: &str) -> Result<char, CodeError> {
    let mut sum: u32 = 0;
    for ((index, c), weight) in first17.chars().enumerate().zip(USCC_WEIGHTS) {
        sum += uscc_value_at(index + 1, c)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    Ok(char::from(USCC_ALPHABET[check as usize]))
}

/// Computes the GB 32100-2015 check character (position 18) for the first
/// 17 characters of a Unified Social Credit Code.
///
/// # Errors
///
/// [`CodeError::Length`] unless `first17` has exactly 17 characters;
/// [`CodeError::InvalidChar`] for a character outside the GB 32100 alphabet
/// or a non-digit in positions 3–8.
pub fn uscc_check_char(first17: &str) -> Result<char, CodeError> {
    check_len(CodeKind::Uscc, first17, Uscc::LEN - 1)?;
    uscc_check_of(first17)
}

/// A valid GB 32100-2015 统一社会信用代码 (Unified Social Credit Code).
///
/// Invariant: 18 characters of `0123456789ABCDEFGHJKLMNPQRTUWXY`, digits in
/// positions 3–8, and a correct check character in position 18.
///
/// Serialises as the plain 18-character string; deserialising validates.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Uscc(String);

impl Uscc {
    /// Number of characters in a USCC.
    pub const LEN: usize = 18;

    /// Parses and validates a USCC.
    ///
    /// # Errors
    ///
    /// [`CodeError::Length`], [`CodeError::InvalidChar`] or
    /// [`CodeError::CheckChar`] (naming the expected check character).
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        check_len(CodeKind::Uscc, s, Self::LEN)?;
        let Some((first17, found)) = split_last(s) else {
            return Err(CodeError::Length {
                kind: CodeKind::Uscc,
                expected: Self::LEN,
                found: 0,
            });
        };
        let expected = uscc_check_of(first17)?;
        uscc_value_at(Self::LEN, found)?;
        if found != expected {
            return Err(CodeError::CheckChar {
                kind: CodeKind::Uscc,
                expected,
                found,
            });
        }
        Ok(Self(s.to_owned()))
    }

    /// The code as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Positions 3–8: the administrative region code of the registering
    /// authority.
    #[must_use]
    pub fn region_code(&self) -> &str {
        self.0.get(2..8).unwrap_or_default()
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Uscc {
    type Error = CodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Uscc> for String {
    fn from(code: Uscc) -> Self {
        code.0
    }
}

impl AsRef<str> for Uscc {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
