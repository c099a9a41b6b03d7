//! Check characters of the Chinese identification codes that appear on
//! electronic licences (电子证照).
//!
//! * [`Uscc`]: GB 32100-2015 统一社会信用代码 (Unified Social Credit Code),
//!   the code of an organisation that holds or issues a licence.
//! * [`ResidentId`]: GB 11643-1999 公民身份号码 (citizen / resident ID number),
//!   the code of a natural person who holds a licence.
//! * [`HolderCode`]: either of the two, chosen from the shape of the text.
//! * [`iso7064_mod37_36`]: the ISO/IEC 7064 MOD 37,36 hybrid check character
//!   used by GB/T 36904 licence identifiers (see the sibling `identifier`
//!   module).
//!
//! Everything in this module is pure: no I/O, no clock and no global state.
//! Parsing is strict. Nothing is trimmed, case-folded or reformatted; an
//! input that is not already in canonical form is rejected with a
//! [`CodeError`] whose message says how to correct it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The ISO/IEC 7064 alphanumeric alphabet; a character's index is its value.
const BASE36_ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// The GB 32100-2015 code alphabet (no I, O, S, V, Z); index = value.
const USCC_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// GB 32100-2015 weights for positions 1..=17 (3^(i-1) mod 31).
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// GB 11643-1999 weights for positions 1..=17 (2^(18-i) mod 11).
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Earliest birth year accepted in a [`ResidentId`].
pub const MIN_BIRTH_YEAR: u16 = 1900;

// ---------------------------------------------------------------------------
// Error types
// ---------------------------------------------------------------------------

/// Which identification code a value or an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodeKind {
    /// GB 32100-2015 统一社会信用代码 (Unified Social Credit Code).
    Uscc,
    /// GB 11643-1999 公民身份号码 (resident ID number).
    ResidentId,
    /// GB/T 36904 电子证照标识 (licence identifier). Errors from
    /// [`iso7064_mod37_36`] are reported under this kind, as that check
    /// character protects licence identifiers.
    LicenceIdentifier,
}

impl CodeKind {
    /// The Chinese name of the code, e.g. `统一社会信用代码`.
    #[must_use]
    pub const fn chinese_name(self) -> &'static str {
        match self {
            Self::Uscc => "统一社会信用代码",
            Self::ResidentId => "公民身份号码",
            Self::LicenceIdentifier => "电子证照标识",
        }
    }

    /// The English name of the code, e.g. `Unified Social Credit Code`.
    #[must_use]
    pub const fn english_name(self) -> &'static str {
        match self {
            Self::Uscc => "Unified Social Credit Code",
            Self::ResidentId => "resident ID number",
            Self::LicenceIdentifier => "licence identifier",
        }
    }

    /// What to do when the check character does not match.
    const fn reread_advice(self) -> &'static str {
        match self {
            Self::Uscc => "re-read the code from the licence",
            Self::ResidentId => "re-read the number from the identity card",
            Self::LicenceIdentifier => "re-read the identifier from the licence",
        }
    }
}

impl fmt::Display for CodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.chinese_name(), self.english_name())
    }
}

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

/// Extra advice appended to an invalid-character message when the fix is
/// obvious (lowercase letter, full-width character, blank or separator).
struct CharHint {
    found: char,
    expected: CharClass,
}

impl fmt::Display for CharHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.found;
        let upper = c.to_ascii_uppercase();
        if c.is_ascii_lowercase() && self.expected.contains(upper) {
            return write!(f, " — letters must be uppercase: write '{upper}'");
        }
        // Full-width forms U+FF01..=U+FF5E map onto ASCII 0x21..=0x7E.
        if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
            let ascii = char::from_u32(u32::from(c) - 0xFEE0).map(|a| a.to_ascii_uppercase());
            if let Some(a) = ascii.filter(|a| self.expected.contains(*a)) {
                return write!(f, " — use half-width (ASCII) characters: write '{a}'");
            }
        }
        if c.is_whitespace() || matches!(c, '-' | '.' | '_' | '/') {
            return f.write_str(" — remove spaces and separators");
        }
        Ok(())
    }
}

/// Why a code was rejected.
///
/// Every message names the code, says what is wrong and how to correct it.
/// Positions are 1-based and counted in characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The code does not have the required number of characters.
    #[error(
        "{kind}: expected {expected} characters but {found} were given — \
         check for missing, extra or blank characters"
    )]
    Length {
        /// Which code was being parsed.
        kind: CodeKind,
        /// Number of characters required.
        expected: usize,
        /// Number of characters given.
        found: usize,
    },

    /// A character is not allowed at its position.
    #[error(
        "{kind}: character {position} is {found:?} but must be {expected}{hint}",
        hint = CharHint { found: *.found, expected: *.expected }
    )]
    InvalidChar {
        /// Which code was being parsed.
        kind: CodeKind,
        /// 1-based character position of the offending character.
        position: usize,
        /// The offending character.
        found: char,
        /// What is allowed at this position.
        expected: CharClass,
    },

    /// The final check character does not match the rest of the code.
    #[error(
        "{kind} check character is {expected:?} but the code ends in {found:?} — {advice}",
        advice = kind.reread_advice()
    )]
    CheckChar {
        /// Which code was being parsed.
        kind: CodeKind,
        /// The check character computed from the other characters.
        expected: char,
        /// The check character that was given.
        found: char,
    },

    /// Positions 7–14 of a resident ID are not a real date in or after 1900.
    #[error(
        "{kind}: positions 7-14 give the birth date {year:04}-{month:02}-{day:02}, \
         which is not a real calendar date on or after 1900-01-01 — \
         re-read the number from the identity card",
        kind = CodeKind::ResidentId
    )]
    InvalidBirthDate {
        /// Year digits (positions 7–10).
        year: u16,
        /// Month digits (positions 11–12).
        month: u8,
        /// Day digits (positions 13–14).
        day: u8,
    },

    /// A holder code looked like a resident ID but is valid neither as a
    /// resident ID nor as a USCC.
    #[error(
        "valid neither as a {rid} nor as a {uscc} — {as_resident_id}; {as_uscc}",
        rid = CodeKind::ResidentId,
        uscc = CodeKind::Uscc
    )]
    NotAHolderCode {
        /// Why it is not a valid resident ID.
        as_resident_id: Box<CodeError>,
        /// Why it is not a valid USCC.
        as_uscc: Box<CodeError>,
    },
}

// ---------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------

/// Value of `c` in the ISO/IEC 7064 alphanumeric alphabet (`0-9A-Z`).
pub(crate) fn base36_value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(u32::from(c) - u32::from('0')),
        'A'..='Z' => Some(u32::from(c) - u32::from('A') + 10),
        _ => None,
    }
}

/// Value of `c` in the GB 32100 alphabet.
fn uscc_value(c: char) -> Option<u32> {
    let byte = u8::try_from(c).ok()?;
    let index = USCC_ALPHABET.iter().position(|&a| a == byte)?;
    u32::try_from(index).ok()
}

fn check_len(kind: CodeKind, s: &str, expected: usize) -> Result<(), CodeError> {
    let found = s.chars().count();
    if found == expected {
        Ok(())
    } else {
        Err(CodeError::Length {
            kind,
            expected,
            found,
        })
    }
}

fn digit_value(c: char) -> Option<u32> {
    c.to_digit(10).filter(|_| c.is_ascii_digit())
}

/// Splits `s` into everything but the last character, and the last character.
fn split_last(s: &str) -> Option<(&str, char)> {
    let mut chars = s.chars();
    let last = chars.next_back()?;
    Some((chars.as_str(), last))
}

// ---------------------------------------------------------------------------
// ISO/IEC 7064 MOD 37,36
// ---------------------------------------------------------------------------

/// ISO/IEC 7064 MOD 37,36 check character of already-mapped values (each
/// must be below 36). Infallible building block for [`iso7064_mod37_36`].
pub(crate) fn mod37_36_check_of_values<I>(values: I) -> char
where
    I: IntoIterator<Item = u32>,
{
    // Hybrid system with M = 36: P starts at M; for each value a,
    // S = (P + a) mod M (0 read as M) and the next P = 2S mod (M + 1).
    let mut p: u32 = 36;
    for a in values {
        let s = match (p + a) % 36 {
            0 => 36,
            s => s,
        };
        p = (2 * s) % 37;
    }
    // The check character c makes (P + c) mod M equal to 1.
    let check = (37 - p) % 36;
    char::from(BASE36_ALPHABET[check as usize])
}

/// Computes the ISO/IEC 7064 MOD 37,36 (hybrid system) check character of
/// `data`.
///
/// `data` must consist of `0-9` and uppercase `A-Z` (values 0–35); the
/// result is in the same alphabet. An empty `data` is accepted (its check
/// character is `'1'`).
///
/// # Errors
///
/// [`CodeError::InvalidChar`] (with kind [`CodeKind::LicenceIdentifier`])
/// for the first character outside `0-9A-Z`, including lowercase letters.
pub fn iso7064_mod37_36(data: &str) -> Result<char, CodeError> {
    let mut values = Vec::with_capacity(data.len());
    for (index, c) in data.chars().enumerate() {
        let value = base36_value(c).ok_or(CodeError::InvalidChar {
            kind: CodeKind::LicenceIdentifier,
            position: index + 1,
            found: c,
            expected: CharClass::Alphanumeric,
        })?;
        values.push(value);
    }
    Ok(mod37_36_check_of_values(values))
}

/// Whether `data_with_check` ends in the correct ISO/IEC 7064 MOD 37,36
/// check character for the characters before it.
///
/// Returns `false` for an empty string and for any character outside
/// `0-9A-Z`.
#[must_use]
pub fn iso7064_mod37_36_valid(data_with_check: &str) -> bool {
    match split_last(data_with_check) {
        Some((data, check)) => iso7064_mod37_36(data).is_ok_and(|expected| expected == check),
        None => false,
    }
}

// ---------------------------------------------------------------------------
// GB 32100-2015 统一社会信用代码
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// GB 11643-1999 公民身份号码
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Holder code
// ---------------------------------------------------------------------------

/// Which kind of code a [`HolderCode`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HolderKind {
    /// An organisation, identified by its 统一社会信用代码.
    Uscc,
    /// A natural person, identified by their 公民身份号码.
    ResidentId,
}

impl From<HolderKind> for CodeKind {
    fn from(kind: HolderKind) -> Self {
        match kind {
            HolderKind::Uscc => Self::Uscc,
            HolderKind::ResidentId => Self::ResidentId,
        }
    }
}

impl fmt::Display for HolderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        CodeKind::from(*self).fmt(f)
    }
}

/// The code of a licence holder: an organisation's USCC or a person's
/// resident ID number.
///
/// Serialises as the plain code string; deserialising runs
/// [`HolderCode::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum HolderCode {
    /// An organisation.
    Uscc(Uscc),
    /// A natural person.
    ResidentId(ResidentId),
}

impl HolderCode {
    /// Parses a holder code, deciding the kind from its shape.
    ///
    /// Text shaped like a resident ID (17 ASCII digits followed by a digit
    /// or `X`/`x`) is read as a [`ResidentId`]. Because an all-digit USCC
    /// (or one ending in `X`) has that same shape, such text that is not a
    /// valid resident ID is then tried as a [`Uscc`]. In the rare case that
    /// the text is valid as both, it is read as a resident ID; callers that
    /// know which kind they expect should use [`Uscc::parse`] or
    /// [`ResidentId::parse`] directly. Any other text is read as a USCC.
    ///
    /// # Errors
    ///
    /// The [`Uscc`] parse error for text not shaped like a resident ID, or
    /// [`CodeError::NotAHolderCode`] carrying both errors when
    /// resident-ID-shaped text is valid as neither.
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        if !looks_like_resident_id(s) {
            return Uscc::parse(s).map(Self::Uscc);
        }
        match ResidentId::parse(s) {
            Ok(id) => Ok(Self::ResidentId(id)),
            Err(as_resident_id) => match Uscc::parse(s) {
                Ok(code) => Ok(Self::Uscc(code)),
                Err(as_uscc) => Err(CodeError::NotAHolderCode {
                    as_resident_id: Box::new(as_resident_id),
                    as_uscc: Box::new(as_uscc),
                }),
            },
        }
    }

    /// The code as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Uscc(code) => code.as_str(),
            Self::ResidentId(id) => id.as_str(),
        }
    }

    /// Which kind of code this is.
    #[must_use]
    pub fn kind(&self) -> HolderKind {
        match self {
            Self::Uscc(_) => HolderKind::Uscc,
            Self::ResidentId(_) => HolderKind::ResidentId,
        }
    }
}

fn looks_like_resident_id(s: &str) -> bool {
    let bytes = s.as_bytes();
    match bytes.split_last() {
        Some((last, first17)) => {
            bytes.len() == ResidentId::LEN
                && first17.iter().all(u8::is_ascii_digit)
                && (last.is_ascii_digit() || matches!(last, b'X' | b'x'))
        }
        None => false,
    }
}

impl From<Uscc> for HolderCode {
    fn from(code: Uscc) -> Self {
        Self::Uscc(code)
    }
}

impl From<ResidentId> for HolderCode {
    fn from(id: ResidentId) -> Self {
        Self::ResidentId(id)
    }
}

impl fmt::Display for HolderCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HolderCode {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for HolderCode {
    type Error = CodeError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<HolderCode> for String {
    fn from(code: HolderCode) -> Self {
        match code {
            HolderCode::Uscc(c) => c.into(),
            HolderCode::ResidentId(id) => id.into(),
        }
    }
}

impl AsRef<str> for HolderCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;

    /// USCCs whose check characters were verified both by this module and
    /// by an independent Python computation of GB 32100-2015.
    const GOOD_USCCS: [&str; 5] = [
        "91350100M000100Y43",
        "91110000600037341L",
        "91440300708461136T",
        "9144030071526726XG",
        "91110108551385082Q",
    ];

    /// Resident ID numbers whose check characters were verified both by this
    /// module and by an independent Python computation of GB 11643-1999.
    /// The first is the example printed in GB 11643-1999 itself.
    const GOOD_RESIDENT_IDS: [&str; 3] = [
        "11010519491231002X",
        "11010119900307803X",
        "110101199003071970",
    ];

    const USCC_CHARS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

    fn deserialize<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, DeError> {
        let de: StrDeserializer<'_, DeError> = s.into_deserializer();
        T::deserialize(de)
    }

    fn replace_at(s: &str, index: usize, c: char) -> String {
        s.chars()
            .enumerate()
            .map(|(i, old)| if i == index { c } else { old })
            .collect()
    }

    fn with_resident_check(first17: &str) -> String {
        let check = resident_id_check_char(first17).unwrap();
        format!("{first17}{check}")
    }

    // --- ISO/IEC 7064 MOD 37,36 -------------------------------------------

    #[test]
    fn mod37_36_published_vector() {
        // Worked example from python-stdnum's iso7064.mod_37_36 documentation.
        assert_eq!(iso7064_mod37_36("A12425GABC1234002"), Ok('M'));
        assert!(iso7064_mod37_36_valid("A12425GABC1234002M"));
        assert!(!iso7064_mod37_36_valid("A12425GABC1234002N"));
    }

    #[test]
    fn mod37_36_edge_cases() {
        assert_eq!(iso7064_mod37_36(""), Ok('1'));
        assert!(iso7064_mod37_36_valid("1"));
        assert!(!iso7064_mod37_36_valid(""));
        assert!(!iso7064_mod37_36_valid("a12425gabc1234002m"));
        assert!(!iso7064_mod37_36_valid("A12425GABC1234002m"));
    }

    #[test]
    fn mod37_36_rejects_lowercase_and_symbols_with_1_based_position() {
        assert_eq!(
            iso7064_mod37_36("12a"),
            Err(CodeError::InvalidChar {
                kind: CodeKind::LicenceIdentifier,
                position: 3,
                found: 'a',
                expected: CharClass::Alphanumeric,
            })
        );
        let err = iso7064_mod37_36("-").unwrap_err();
        assert!(matches!(
            err,
            CodeError::InvalidChar {
                position: 1,
                found: '-',
                ..
            }
        ));
        let message = iso7064_mod37_36("ab").unwrap_err().to_string();
        assert!(message.contains("write 'A'"), "{message}");
    }

    #[test]
    fn mod37_36_detects_every_single_substitution() {
        for data in [
            "A12425GABC1234002",
            "0",
            "ZZZZ",
            "JYXK91350100M000100Y43ZJ20240001",
        ] {
            let good = format!("{data}{}", iso7064_mod37_36(data).unwrap());
            assert!(iso7064_mod37_36_valid(&good));
            for index in 0..good.len() {
                for c in BASE36_ALPHABET.iter().map(|&b| char::from(b)) {
                    let bad = replace_at(&good, index, c);
                    if bad != good {
                        assert!(!iso7064_mod37_36_valid(&bad), "{bad} accepted");
                    }
                }
            }
        }
    }

    // --- USCC ---------------------------------------------------------------

    #[test]
    fn known_good_usccs_parse() {
        for code in GOOD_USCCS {
            let uscc = Uscc::parse(code).unwrap();
            assert_eq!(uscc.as_str(), code);
            assert_eq!(uscc.to_string(), code);
            assert_eq!(code.parse::<Uscc>().unwrap(), uscc);
            assert_eq!(String::from(uscc.clone()), code);
            let (first17, check) = split_last(code).unwrap();
            assert_eq!(uscc_check_char(first17), Ok(check));
        }
        assert_eq!(
            Uscc::parse("91350100M000100Y43").unwrap().region_code(),
            "350100"
        );
    }

    #[test]
    fn usccs_built_with_check_char_parse() {
        for first17 in [
            "11100000000013127",
            "5100000050000000D",
            "Y1110000MA0000001",
            "N2110105MA01ABCDE",
        ] {
            let check = uscc_check_char(first17).unwrap();
            let code = format!("{first17}{check}");
            assert!(Uscc::parse(&code).is_ok(), "{code}");
        }
    }

    #[test]
    fn uscc_with_wrong_check_names_expected_char() {
        // Often quoted as an example, but its check character is really 'X'.
        assert_eq!(
            Uscc::parse("911100001000060089"),
            Err(CodeError::CheckChar {
                kind: CodeKind::Uscc,
                expected: 'X',
                found: '9',
            })
        );
        assert!(Uscc::parse("91110000100006008X").is_ok());
    }

    #[test]
    fn every_single_char_corruption_of_a_uscc_is_rejected() {
        let extra = "IOSVZabc ";
        for code in GOOD_USCCS {
            let original_check = code.chars().last().unwrap();
            for index in 0..Uscc::LEN {
                for c in USCC_CHARS.chars().chain(extra.chars()) {
                    let bad = replace_at(code, index, c);
                    if bad == code {
                        continue;
                    }
                    let err = Uscc::parse(&bad).unwrap_err();
                    if index == Uscc::LEN - 1 && USCC_CHARS.contains(c) {
                        assert_eq!(
                            err,
                            CodeError::CheckChar {
                                kind: CodeKind::Uscc,
                                expected: original_check,
                                found: c,
                            }
                        );
                    }
                    if (2..8).contains(&index) && !c.is_ascii_digit() {
                        assert!(matches!(
                            err,
                            CodeError::InvalidChar {
                                expected: CharClass::RegionDigit,
                                ..
                            }
                        ));
                    }
                }
            }
        }
    }

    #[test]
    fn uscc_length_and_alphabet_errors() {
        assert_eq!(
            Uscc::parse("91350100M000100Y4"),
            Err(CodeError::Length {
                kind: CodeKind::Uscc,
                expected: 18,
                found: 17,
            })
        );
        assert!(matches!(
            Uscc::parse(""),
            Err(CodeError::Length { found: 0, .. })
        ));
        assert!(matches!(
            Uscc::parse("91350100M000100Y433"),
            Err(CodeError::Length { found: 19, .. })
        ));
        // Length is counted in characters, not bytes.
        assert!(matches!(
            Uscc::parse("91350100M000100Y4三"),
            Err(CodeError::InvalidChar {
                position: 18,
                found: '三',
                ..
            })
        ));
        for letter in ['I', 'O', 'S', 'V', 'Z'] {
            let bad = replace_at("91350100M000100Y43", 8, letter);
            assert!(matches!(
                Uscc::parse(&bad),
                Err(CodeError::InvalidChar {
                    position: 9,
                    expected: CharClass::UsccChar,
                    ..
                })
            ));
        }
        assert!(matches!(
            uscc_check_char("91350100M000100Y43"),
            Err(CodeError::Length {
                expected: 17,
                found: 18,
                ..
            })
        ));
    }

    #[test]
    fn uscc_messages_explain_the_fix() {
        let lower = Uscc::parse("91350100m000100Y43").unwrap_err().to_string();
        assert!(lower.contains("character 9"), "{lower}");
        assert!(lower.contains("write 'M'"), "{lower}");
        let full_width = Uscc::parse("9135０100M000100Y43").unwrap_err().to_string();
        assert!(full_width.contains("half-width"), "{full_width}");
        assert!(full_width.contains("write '0'"), "{full_width}");
        let region = Uscc::parse("9135A100M000100Y43").unwrap_err().to_string();
        assert!(region.contains("administrative region code"), "{region}");
        let blank = Uscc::parse("9135 100M000100Y43").unwrap_err().to_string();
        assert!(blank.contains("remove spaces"), "{blank}");
        let length = Uscc::parse("9135").unwrap_err().to_string();
        assert!(length.contains("18") && length.contains('4'), "{length}");
    }

    #[test]
    fn check_char_message_names_expected_char() {
        let message = Uscc::parse("91350100M000100Y44").unwrap_err().to_string();
        assert_eq!(
            message,
            "统一社会信用代码 (Unified Social Credit Code) check character is '3' but the code \
             ends in '4' — re-read the code from the licence"
        );
        let message = ResidentId::parse("110105194912310020")
            .unwrap_err()
            .to_string();
        assert!(message.contains("check character is 'X'"), "{message}");
        assert!(message.contains("ends in '0'"), "{message}");
    }

    #[test]
    fn uscc_serde_validates() {
        let uscc: Uscc = deserialize("91350100M000100Y43").unwrap();
        assert_eq!(uscc.as_str(), "91350100M000100Y43");
        let err = deserialize::<Uscc>("91350100M000100Y44").unwrap_err();
        assert!(err.to_string().contains("check character is '3'"), "{err}");
        assert!(deserialize::<Uscc>("").is_err());
    }

    // --- Resident ID --------------------------------------------------------

    #[test]
    fn known_good_resident_ids_parse() {
        for number in GOOD_RESIDENT_IDS {
            let id = ResidentId::parse(number).unwrap();
            assert_eq!(id.as_str(), number);
            assert_eq!(id.to_string(), number);
            assert_eq!(number.parse::<ResidentId>().unwrap(), id);
            assert_eq!(String::from(id.clone()), number);
            let (first17, check) = split_last(number).unwrap();
            assert_eq!(resident_id_check_char(first17), Ok(check));
        }
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(id.region_code(), "110105");
        assert_eq!(
            id.birth_date(),
            BirthDate {
                year: 1949,
                month: 12,
                day: 31
            }
        );
        assert_eq!(id.birth_date().to_string(), "1949-12-31");
    }

    #[test]
    fn resident_id_debug_masks_birth_date() {
        let id = ResidentId::parse("11010519491231002X").unwrap();
        assert_eq!(format!("{id:?}"), "ResidentId(\"110105********002X\")");
        let holder = HolderCode::from(id);
        assert!(!format!("{holder:?}").contains("19491231"));
    }

    #[test]
    fn resident_id_before_1900_is_rejected() {
        // GB 11643-1999's other example: valid check digit, born 1880.
        assert_eq!(resident_id_check_char("44052418800101001"), Ok('4'));
        assert_eq!(
            ResidentId::parse("440524188001010014"),
            Err(CodeError::InvalidBirthDate {
                year: 1880,
                month: 1,
                day: 1
            })
        );
    }

    #[test]
    fn resident_id_birth_dates() {
        let ok = ["19000101", "20000229", "20040229", "19991231", "20240131"];
        let bad = [
            "18991231", "19000229", "20010229", "21000229", "19900431", "19900001", "19901301",
            "19900100", "19900132", "00000000",
        ];
        for date in ok {
            let number = with_resident_check(&format!("110101{date}123"));
            assert!(ResidentId::parse(&number).is_ok(), "{date} rejected");
        }
        for date in bad {
            let number = with_resident_check(&format!("110101{date}123"));
            let err = ResidentId::parse(&number).unwrap_err();
            assert!(
                matches!(err, CodeError::InvalidBirthDate { .. }),
                "{date}: {err:?}"
            );
            assert!(err.to_string().contains("real calendar date"), "{err}");
        }
    }

    #[test]
    fn resident_id_lowercase_x_is_rejected_with_advice() {
        let err = ResidentId::parse("11010519491231002x").unwrap_err();
        assert_eq!(
            err,
            CodeError::InvalidChar {
                kind: CodeKind::ResidentId,
                position: 18,
                found: 'x',
                expected: CharClass::ResidentIdCheck,
            }
        );
        assert!(err.to_string().contains("uppercase: write 'X'"), "{err}");
    }

    #[test]
    fn every_single_char_corruption_of_a_resident_id_is_rejected() {
        let replacements = "0123456789Xx A";
        for number in GOOD_RESIDENT_IDS {
            let original_check = number.chars().last().unwrap();
            for index in 0..ResidentId::LEN {
                for c in replacements.chars() {
                    let bad = replace_at(number, index, c);
                    if bad == number {
                        continue;
                    }
                    let err = ResidentId::parse(&bad).unwrap_err();
                    if index == ResidentId::LEN - 1 && CharClass::ResidentIdCheck.contains(c) {
                        assert_eq!(
                            err,
                            CodeError::CheckChar {
                                kind: CodeKind::ResidentId,
                                expected: original_check,
                                found: c,
                            }
                        );
                    } else if index < ResidentId::LEN - 1 && c.is_ascii_digit() {
                        assert!(matches!(err, CodeError::CheckChar { .. }), "{bad}: {err:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn resident_id_shape_errors() {
        assert!(matches!(
            ResidentId::parse("11010519491231002"),
            Err(CodeError::Length {
                expected: 18,
                found: 17,
                ..
            })
        ));
        assert!(matches!(
            ResidentId::parse("1101051949123100XX"),
            Err(CodeError::InvalidChar {
                position: 17,
                expected: CharClass::Digit,
                ..
            })
        ));
        assert!(matches!(
            resident_id_check_char("1101051949123100"),
            Err(CodeError::Length {
                expected: 17,
                found: 16,
                ..
            })
        ));
    }

    #[test]
    fn resident_id_serde_validates() {
        let id: ResidentId = deserialize("11010519491231002X").unwrap();
        assert_eq!(id.as_str(), "11010519491231002X");
        assert!(deserialize::<ResidentId>("110105194912310029").is_err());
    }

    // --- Holder code --------------------------------------------------------

    #[test]
    fn holder_code_by_shape() {
        let person = HolderCode::parse("11010519491231002X").unwrap();
        assert_eq!(person.kind(), HolderKind::ResidentId);
        assert_eq!(person.as_str(), "11010519491231002X");
        let org = HolderCode::parse("91350100M000100Y43").unwrap();
        assert_eq!(org.kind(), HolderKind::Uscc);
        assert_eq!(org.to_string(), "91350100M000100Y43");
        assert_eq!(String::from(org), "91350100M000100Y43");
    }

    #[test]
    fn holder_code_all_digit_uscc_falls_back_to_uscc() {
        for code in ["911100001000060005", "91110000100006008X"] {
            let holder = HolderCode::parse(code).unwrap();
            assert_eq!(holder.kind(), HolderKind::Uscc, "{code}");
            assert_eq!(holder.as_str(), code);
        }
    }

    #[test]
    fn holder_code_valid_as_both_reads_as_resident_id() {
        let both = "110105199006180254";
        assert!(Uscc::parse(both).is_ok());
        assert!(ResidentId::parse(both).is_ok());
        assert_eq!(
            HolderCode::parse(both).unwrap().kind(),
            HolderKind::ResidentId
        );
    }

    #[test]
    fn holder_code_errors() {
        let err = HolderCode::parse("110105194912310029").unwrap_err();
        let CodeError::NotAHolderCode {
            as_resident_id,
            as_uscc,
        } = &err
        else {
            unreachable!("unexpected {err:?}")
        };
        assert_eq!(
            **as_resident_id,
            CodeError::CheckChar {
                kind: CodeKind::ResidentId,
                expected: 'X',
                found: '9',
            }
        );
        assert!(matches!(
            **as_uscc,
            CodeError::CheckChar {
                kind: CodeKind::Uscc,
                ..
            }
        ));
        let message = err.to_string();
        assert!(message.contains("公民身份号码") && message.contains("统一社会信用代码"));
        // Not resident-ID shaped: the USCC error is returned as is.
        assert!(matches!(
            HolderCode::parse("91350100M000100Y44"),
            Err(CodeError::CheckChar {
                kind: CodeKind::Uscc,
                expected: '3',
                ..
            })
        ));
        let lower_x = HolderCode::parse("11010519491231002x")
            .unwrap_err()
            .to_string();
        assert!(lower_x.contains("write 'X'"), "{lower_x}");
    }

    #[test]
    fn holder_code_serde() {
        let holder: HolderCode = deserialize("9144030071526726XG").unwrap();
        assert_eq!(holder.kind(), HolderKind::Uscc);
        let holder: HolderCode = deserialize("11010119900307803X").unwrap();
        assert_eq!(holder.kind(), HolderKind::ResidentId);
        assert!(deserialize::<HolderCode>("nonsense").is_err());
    }

    #[test]
    fn code_kind_display_names_both_languages() {
        assert_eq!(
            CodeKind::Uscc.to_string(),
            "统一社会信用代码 (Unified Social Credit Code)"
        );
        assert_eq!(
            CodeKind::ResidentId.to_string(),
            "公民身份号码 (resident ID number)"
        );
        assert_eq!(
            CodeKind::LicenceIdentifier.to_string(),
            "电子证照标识 (licence identifier)"
        );
        assert_eq!(HolderKind::Uscc.to_string(), CodeKind::Uscc.to_string());
    }

    // --- Properties ---------------------------------------------------------

    fn uscc_first17() -> impl Strategy<Value = String> {
        let letter = prop::sample::select(USCC_CHARS.chars().collect::<Vec<_>>());
        let digit = prop::sample::select("0123456789".chars().collect::<Vec<_>>());
        (
            prop::collection::vec(letter.clone(), 2),
            prop::collection::vec(digit, 6),
            prop::collection::vec(letter, 9),
        )
            .prop_map(|(a, b, c)| a.into_iter().chain(b).chain(c).collect())
    }

    proptest! {
        #[test]
        fn random_uscc_with_computed_check_parses(first17 in uscc_first17()) {
            let check = uscc_check_char(&first17).unwrap();
            let code = format!("{first17}{check}");
            let parsed = Uscc::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            let holder = HolderCode::parse(&code).unwrap();
            prop_assert_eq!(holder.as_str(), code.as_str());
        }

        #[test]
        fn random_resident_id_with_valid_date_parses(
            region in "[0-9]{6}",
            year in 1900u16..=2099,
            month in 1u8..=12,
            day in 1u8..=28,
            seq in "[0-9]{3}",
        ) {
            let number = with_resident_check(&format!("{region}{year:04}{month:02}{day:02}{seq}"));
            let id = ResidentId::parse(&number).unwrap();
            prop_assert_eq!(id.birth_date(), BirthDate { year, month, day });
            prop_assert_eq!(HolderCode::parse(&number).unwrap().kind(), HolderKind::ResidentId);
        }

        #[test]
        fn parsers_never_panic(s in any::<String>()) {
            let _ = Uscc::parse(&s);
            let _ = ResidentId::parse(&s);
            let _ = HolderCode::parse(&s);
            let _ = iso7064_mod37_36(&s);
            let _ = iso7064_mod37_36_valid(&s);
        }

        #[test]
        fn parsers_never_panic_on_near_misses(s in "[0-9A-Zaxz ]{16,19}") {
            // Anything accepted is returned unchanged (canonical form).
            let accepted = [
                Uscc::parse(&s).map(|c| c.to_string()),
                ResidentId::parse(&s).map(|c| c.to_string()),
                HolderCode::parse(&s).map(|c| c.to_string()),
            ];
            for text in accepted.into_iter().flatten() {
                prop_assert_eq!(&text, &s);
            }
        }
    }
}
