//! Shared check-character code: length and shape checks, and the ISO/IEC 7064 MOD 37,36
//! hybrid check character of GB/T 36904 licence identifiers.

use super::alphabet::{base36_value, CharClass, BASE36_ALPHABET};
use super::error::{CodeError, CodeKind};

pub(super) fn check_len(kind: CodeKind, s: &str, expected: usize) -> Result<(), CodeError> {
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

/// Splits `s` into everything but the last character, and the last character.
pub(super) fn split_last(s: &str) -> Option<(&str, char)> {
    let mut chars = s.chars();
    let last = chars.next_back()?;
    Some((chars.as_str(), last))
}

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
