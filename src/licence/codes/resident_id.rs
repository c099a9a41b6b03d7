//! GB 11643-1999 公民身份号码 (resident ID number): [`ResidentId`] and its [`BirthDate`].

use super::alphabet::{digit_value, CharClass};
use super::check::{check_len, split_last};
use super::error::{CodeError, CodeKind};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// GB 11643-1999 weights for positions 1..=17 (2^(18-i) mod 11).
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Earliest birth year accepted in a [`ResidentId`].
pub const MIN_BIRTH_YEAR: u16 = 1900;

/// Digit values of the first 17 characters; the length must already be
/// known to be 17.
fn resident_id_digits(first17: &str) -> Result<[u32; 17], CodeError> {
    let mut digits = [0u32; 17];
    for (slot, (index, c)) in digits.iter_mut().zip(first17.chars().enumerate()) {
        *slot = digit_value(c).ok_or(CodeError::InvalidChar {
            kind: CodeKind::ResidentId,
            position: index + 1,
            found: c,
            expected: CharClass::Digit,
        })?;
    }
    Ok(digits)
}

fn resident_id_check_of(digits: &[u32; 17]) -> char {
    let sum: u32 = digits
        .iter()
        .zip(RESIDENT_ID_WEIGHTS)
        .map(|(d, w)| d * w)
        .sum();
    // Σ(aᵢ·Wᵢ) over all 18 positions (check weight 1) must be ≡ 1 (mod 11).
    match (12 - sum % 11) % 11 {
        10 => 'X',
        check => char::from(b'0' + check as u8),
    }
}

fn is_leap_year(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Reads positions 7–14 and checks they form a real date from 1900 onward.
fn birth_date_of(digits: &[u32; 17]) -> Result<BirthDate, CodeError> {
    let number = |range: std::ops::Range<usize>| -> u32 {
        digits
            .get(range)
            .unwrap_or_default()
            .iter()
            .fold(0, |acc, d| acc * 10 + d)
    };
    // At most 9999 / 99 / 99: the conversions cannot fail.
    let year = u16::try_from(number(6..10)).unwrap_or(u16::MAX);
    let month = u8::try_from(number(10..12)).unwrap_or(u8::MAX);
    let day = u8::try_from(number(12..14)).unwrap_or(u8::MAX);
    if year < MIN_BIRTH_YEAR || day == 0 || day > days_in_month(year, month) {
        return Err(CodeError::InvalidBirthDate { year, month, day });
    }
    Ok(BirthDate { year, month, day })
}

/// Computes the GB 11643-1999 (ISO/IEC 7064 MOD 11-2) check character for
/// the first 17 digits of a resident ID number: `0-9` or `X`.
///
/// Only the digits are checked here, not the birth date.
///
/// # Errors
///
/// [`CodeError::Length`] unless `first17` has exactly 17 characters;
/// [`CodeError::InvalidChar`] for a non-digit.
pub fn resident_id_check_char(first17: &str) -> Result<char, CodeError> {
    check_len(CodeKind::ResidentId, first17, ResidentId::LEN - 1)?;
    Ok(resident_id_check_of(&resident_id_digits(first17)?))
}

/// A calendar date of birth read from a [`ResidentId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BirthDate {
    /// Year, 1900 or later.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of the month, 1–31.
    pub day: u8,
}

impl fmt::Display for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A valid GB 11643-1999 公民身份号码 (resident ID number).
///
/// Invariant: 17 digits and a check character `0-9` or uppercase `X`
/// (MOD 11-2), with positions 7–14 a real date (YYYYMMDD) from 1900 onward.
///
/// Serialises as the plain 18-character string; deserialising validates.
/// `Debug` masks the birth date (positions 7–14) so the number does not leak
/// whole into logs; `Display` and [`ResidentId::as_str`] give it in full.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentId(String);

impl ResidentId {
    /// Number of characters in a resident ID number.
    pub const LEN: usize = 18;

    /// Parses and validates a resident ID number.
    ///
    /// Strict: a lowercase `x` check character is rejected (the message
    /// says to write uppercase `X`).
    ///
    /// # Errors
    ///
    /// [`CodeError::Length`], [`CodeError::InvalidChar`],
    /// [`CodeError::CheckChar`] (naming the expected check character) or
    /// [`CodeError::InvalidBirthDate`].
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        check_len(CodeKind::ResidentId, s, Self::LEN)?;
        let Some((first17, found)) = split_last(s) else {
            return Err(CodeError::Length {
                kind: CodeKind::ResidentId,
                expected: Self::LEN,
                found: 0,
            });
        };
        let digits = resident_id_digits(first17)?;
        if !CharClass::ResidentIdCheck.contains(found) {
            return Err(CodeError::InvalidChar {
                kind: CodeKind::ResidentId,
                position: Self::LEN,
                found,
                expected: CharClass::ResidentIdCheck,
            });
        }
        let expected = resident_id_check_of(&digits);
        if found != expected {
            return Err(CodeError::CheckChar {
                kind: CodeKind::ResidentId,
                expected,
                found,
            });
        }
        birth_date_of(&digits)?;
        Ok(Self(s.to_owned()))
    }

    /// The number as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Positions 1–6: the administrative region code of the place of
    /// registration.
    #[must_use]
    pub fn region_code(&self) -> &str {
        self.0.get(..6).unwrap_or_default()
    }

    /// Positions 7–14: the date of birth.
    #[must_use]
    pub fn birth_date(&self) -> BirthDate {
        let digit = |i: usize| -> u16 {
            self.0
                .as_bytes()
                .get(i)
                .map_or(0, |b| u16::from(b.wrapping_sub(b'0')))
        };
        let number = |from: usize, to: usize| (from..to).fold(0u16, |acc, i| acc * 10 + digit(i));
        BirthDate {
            year: number(6, 10),
            month: u8::try_from(number(10, 12)).unwrap_or_default(),
            day: u8::try_from(number(12, 14)).unwrap_or_default(),
        }
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = self.0.get(..6).unwrap_or_default();
        let tail = self.0.get(14..).unwrap_or_default();
        write!(f, "ResidentId(\"{head}********{tail}\")")
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ResidentId {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for ResidentId {
    type Error = CodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ResidentId> for String {
    fn from(id: ResidentId) -> Self {
        id.0
    }
}

impl AsRef<str> for ResidentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
