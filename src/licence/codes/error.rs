//! Which code a value or an error is about, and why a code was rejected: [`CodeKind`],
//! [`CodeError`].

use super::alphabet::CharClass;
use std::fmt;

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
