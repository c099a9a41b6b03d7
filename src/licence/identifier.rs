//! GB/T 36904 electronic licence identifiers (电子证照标识).
//!
//! An identifier is a dotted string under the root arc [`ROOT_ARC`]:
//!
//! ```text
//! 1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>
//! ```
//!
//! * type code: 1–32 characters of `0-9A-Z` naming the licence type;
//! * issuer: the issuing agency's 统一社会信用代码 ([`Uscc`]);
//! * serial: 1–32 characters of `0-9A-Z`, unique per type and issuer;
//! * version: a decimal integer 1–9999 without leading zeros;
//! * check: the ISO/IEC 7064 MOD 37,36 check character of
//!   type ‖ issuer ‖ serial ‖ version, concatenated without the dots.
//!
//! Parsing is strict (no trimming, no case folding) and the input length is
//! capped at [`MAX_LEN`] bytes before anything else is looked at.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::codes::{base36_value, mod37_36_check_of_values, CodeError, Uscc};

/// The GB/T 36904 root arc that every licence identifier starts with.
pub const ROOT_ARC: &str = "1.2.156.3005.2";

/// Longest input, in bytes, that [`LicenceId::parse`] will look at. The
/// longest valid identifier is 106 bytes.
pub const MAX_LEN: usize = 160;

/// Longest licence type code, in characters.
pub const MAX_TYPE_CODE_LEN: usize = 32;

/// Longest serial number, in characters.
pub const MAX_SERIAL_LEN: usize = 32;

/// Highest licence version.
pub const MAX_VERSION: u32 = 9999;

/// Number of dot-separated components: 5 of the root arc, then type code,
/// issuer, serial, version and check character.
const COMPONENTS: usize = 10;

/// What is wrong with a type-code or serial component.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ComponentProblem {
    /// The component is empty.
    Empty,
    /// The component has more characters than allowed.
    TooLong {
        /// Number of characters given.
        len: usize,
        /// Maximum number of characters.
        max: usize,
    },
    /// A character outside `0-9A-Z`.
    InvalidChar {
        /// 1-based character position within the component.
        position: usize,
        /// The offending character.
        found: char,
    },
}

impl fmt::Display for ComponentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("is empty"),
            Self::TooLong { len, max } => {
                write!(f, "has {len} characters, more than the maximum of {max}")
            }
            Self::InvalidChar { position, found } => {
                write!(f, "has {found:?} at character {position}")?;
                if found.is_ascii_lowercase() {
                    write!(
                        f,
                        " (letters must be uppercase: write '{}')",
                        found.to_ascii_uppercase()
                    )?;
                }
                Ok(())
            }
        }
    }
}

/// Why a licence identifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifierError {
    /// The input is longer than [`MAX_LEN`] bytes; nothing else was checked.
    #[error(
        "licence identifier is {len} bytes long, more than the {max} accepted — \
         paste only the identifier, without surrounding text"
    )]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// Maximum accepted length in bytes.
        max: usize,
    },

    /// The input does not start with `1.2.156.3005.2.`.
    #[error(
        "licence identifier must start with the GB/T 36904 root arc \
         \"{ROOT_ARC}.\" — check that this is an electronic licence identifier"
    )]
    WrongPrefix,

    /// The input does not have exactly 10 dot-separated components.
    #[error(
        "licence identifier has {found} dot-separated components but must have 10: \
         {ROOT_ARC}.<type code>.<issuer USCC>.<serial>.<version>.<check>"
    )]
    ComponentCount {
        /// Number of components found.
        found: usize,
    },

    /// The licence type code component is invalid.
    #[error(
        "licence type code {problem} — it must be 1 to {MAX_TYPE_CODE_LEN} characters \
         of 0-9 and uppercase A-Z"
    )]
    TypeCode {
        /// What is wrong with it.
        problem: ComponentProblem,
    },

    /// The issuer component is not a valid USCC. The message includes the
    /// underlying [`CodeError`] message.
    #[error("licence identifier issuer component is invalid: {0}")]
    Issuer(#[source] CodeError),

    /// The serial number component is invalid.
    #[error(
        "licence serial number {problem} — it must be 1 to {MAX_SERIAL_LEN} characters \
         of 0-9 and uppercase A-Z"
    )]
    Serial {
        /// What is wrong with it.
        problem: ComponentProblem,
    },

    /// The version component is not an integer 1–9999 in canonical form.
    #[error(
        "licence version is {found:?} but must be a whole number from 1 to {MAX_VERSION} \
         written without leading zeros"
    )]
    Version {
        /// The version as given (the decimal text of the number for
        /// [`LicenceId::new`]).
        found: String,
    },

    /// The last component is not a single character.
    #[error(
        "licence identifier ends in {found:?} but the last component must be a single \
         check character 0-9 or A-Z — re-read the identifier from the licence"
    )]
    CheckComponent {
        /// The last component as given.
        found: String,
    },

    /// The check character does not match the other components.
    #[error(
        "licence identifier check character is {expected:?} but the identifier ends in \
         {found:?} — re-read the identifier from the licence"
    )]
    CheckChar {
        /// The check character computed from the other components.
        expected: char,
        /// The check character that was given.
        found: char,
    },
}

/// Validates a type-code or serial component: 1..=`max` chars of `0-9A-Z`.
fn check_component(s: &str, max: usize) -> Result<(), ComponentProblem> {
    if s.is_empty() {
        return Err(ComponentProblem::Empty);
    }
    let len = s.chars().count();
    if len > max {
        return Err(ComponentProblem::TooLong { len, max });
    }
    match s
        .chars()
        .enumerate()
        .find(|(_, c)| base36_value(*c).is_none())
    {
        Some((index, found)) => Err(ComponentProblem::InvalidChar {
            position: index + 1,
            found,
        }),
        None => Ok(()),
    }
}

fn check_version(version: u32) -> Result<u32, IdentifierError> {
    if (1..=MAX_VERSION).contains(&version) {
        Ok(version)
    } else {
        Err(IdentifierError::Version {
            found: version.to_string(),
        })
    }
}

/// Parses the version component: canonical decimal 1..=9999.
fn parse_version(s: &str) -> Result<u32, IdentifierError> {
    let canonical = !s.is_empty()
        && s.len() <= 4
        && s.bytes().all(|b| b.is_ascii_digit())
        && !s.starts_with('0');
    let error = || IdentifierError::Version {
        found: s.to_owned(),
    };
    if !canonical {
        return Err(error());
    }
    s.parse::<u32>()
        .map_err(|_| error())
        .and_then(check_version)
}

/// A valid GB/T 36904 electronic licence identifier (电子证照标识).
///
/// Construct with [`LicenceId::new`] (computes the check character) or
/// [`LicenceId::parse`] (verifies it). `Display` gives the full dotted form;
/// serde uses that same string and validates on deserialisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LicenceId {
    type_code: String,
    issuer: Uscc,
    serial: String,
    version: u32,
    check: char,
}

impl LicenceId {
    /// Builds an identifier from its components and computes its check
    /// character.
    ///
    /// # Errors
    ///
    /// [`IdentifierError::TypeCode`], [`IdentifierError::Serial`] or
    /// [`IdentifierError::Version`] for an invalid component.
    pub fn new(
        type_code: &str,
        issuer: Uscc,
        serial: &str,
        version: u32,
    ) -> Result<Self, IdentifierError> {
        check_component(type_code, MAX_TYPE_CODE_LEN)
            .map_err(|problem| IdentifierError::TypeCode { problem })?;
        check_component(serial, MAX_SERIAL_LEN)
            .map_err(|problem| IdentifierError::Serial { problem })?;
        let version = check_version(version)?;
        let check = compute_check(type_code, &issuer, serial, version);
        Ok(Self {
            type_code: type_code.to_owned(),
            issuer,
            serial: serial.to_owned(),
            version,
            check,
        })
    }

    /// Parses and fully validates a dotted licence identifier.
    ///
    /// Checks, in order: length cap ([`MAX_LEN`] bytes), root-arc prefix,
    /// component count, type code, issuer USCC, serial, version, and the
    /// check character.
    ///
    /// # Errors
    ///
    /// The first [`IdentifierError`] found, in the order above.
    pub fn parse(s: &str) -> Result<Self, IdentifierError> {
        if s.len() > MAX_LEN {
            return Err(IdentifierError::TooLong {
                len: s.len(),
                max: MAX_LEN,
            });
        }
        let rest = s
            .strip_prefix(ROOT_ARC)
            .and_then(|rest| rest.strip_prefix('.'))
            .ok_or(IdentifierError::WrongPrefix)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts.as_slice() else {
            return Err(IdentifierError::ComponentCount {
                found: parts.len() + (COMPONENTS - 5),
            });
        };
        check_component(type_code, MAX_TYPE_CODE_LEN)
            .map_err(|problem| IdentifierError::TypeCode { problem })?;
        let issuer = Uscc::parse(issuer).map_err(IdentifierError::Issuer)?;
        check_component(serial, MAX_SERIAL_LEN)
            .map_err(|problem| IdentifierError::Serial { problem })?;
        let version = parse_version(version)?;
        let mut check_chars = check.chars();
        let (Some(found), None) = (check_chars.next(), check_chars.next()) else {
            return Err(IdentifierError::CheckComponent {
                found: (*check).to_owned(),
            });
        };
        let expected = compute_check(type_code, &issuer, serial, version);
        if found != expected {
            return Err(IdentifierError::CheckChar { expected, found });
        }
        Ok(Self {
            type_code: (*type_code).to_owned(),
            issuer,
            serial: (*serial).to_owned(),
            version,
            check: expected,
        })
    }

    /// The licence type code.
    #[must_use]
    pub fn type_code(&self) -> &str {
        &self.type_code
    }

    /// The issuing agency's USCC.
    #[must_use]
    pub fn issuer(&self) -> &Uscc {
        &self.issuer
    }

    /// The serial number.
    #[must_use]
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The version, 1–9999.
    #[must_use]
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The ISO/IEC 7064 MOD 37,36 check character.
    #[must_use]
    pub fn check_char(&self) -> char {
        self.check
    }
}

/// MOD 37,36 over type ‖ issuer ‖ serial ‖ version. All components are
/// already validated, so every character maps to a value.
fn compute_check(type_code: &str, issuer: &Uscc, serial: &str, version: u32) -> char {
    let version = version.to_string();
    let values = [type_code, issuer.as_str(), serial, version.as_str()]
        .into_iter()
        .flat_map(str::chars)
        .filter_map(base36_value);
    mod37_36_check_of_values(values)
}

impl fmt::Display for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ROOT_ARC}.{}.{}.{}.{}.{}",
            self.type_code, self.issuer, self.serial, self.version, self.check
        )
    }
}

impl FromStr for LicenceId {
    type Err = IdentifierError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for LicenceId {
    type Error = IdentifierError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<LicenceId> for String {
    fn from(id: LicenceId) -> Self {
        id.to_string()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::super::codes::{uscc_check_char, CodeKind};
    use super::*;
    use proptest::prelude::*;
    use serde::de::value::{Error as DeError, StrDeserializer};
    use serde::de::IntoDeserializer;
    use std::error::Error as _;

    /// Identifiers whose check characters were computed both by this module
    /// and by an independent Python implementation of ISO/IEC 7064 MOD 37,36
    /// (itself checked against the published vector A12425GABC1234002 → M).
    const GOOD_IDS: [&str; 3] = [
        "1.2.156.3005.2.JYXK.91350100M000100Y43.ZJ202400001.1.3",
        "1.2.156.3005.2.YYZZ.91110000600037341L.00000000000000000000000000000001.9999.Y",
        "1.2.156.3005.2.A.91440300708461136T.Z.10.F",
    ];

    fn uscc(s: &str) -> Uscc {
        Uscc::parse(s).unwrap()
    }

    fn replace_at(s: &str, index: usize, c: char) -> String {
        s.chars()
            .enumerate()
            .map(|(i, old)| if i == index { c } else { old })
            .collect()
    }

    fn with_parts(
        type_code: &str,
        issuer: &str,
        serial: &str,
        version: &str,
        check: &str,
    ) -> String {
        format!("{ROOT_ARC}.{type_code}.{issuer}.{serial}.{version}.{check}")
    }

    #[test]
    fn known_good_identifiers_parse_and_display() {
        for text in GOOD_IDS {
            let id = LicenceId::parse(text).unwrap();
            assert_eq!(id.to_string(), text);
            assert_eq!(text.parse::<LicenceId>().unwrap(), id);
            assert_eq!(String::from(id.clone()), text);
        }
        let id = LicenceId::parse(GOOD_IDS[0]).unwrap();
        assert_eq!(id.type_code(), "JYXK");
        assert_eq!(id.issuer().as_str(), "91350100M000100Y43");
        assert_eq!(id.serial(), "ZJ202400001");
        assert_eq!(id.version(), 1);
        assert_eq!(id.check_char(), '3');
    }

    #[test]
    fn new_computes_the_same_check_char() {
        let id = LicenceId::new("JYXK", uscc("91350100M000100Y43"), "ZJ202400001", 1).unwrap();
        assert_eq!(id.to_string(), GOOD_IDS[0]);
        let id = LicenceId::new("A", uscc("91440300708461136T"), "Z", 10).unwrap();
        assert_eq!(id.to_string(), GOOD_IDS[2]);
        assert_eq!(LicenceId::parse(GOOD_IDS[2]).unwrap(), id);
    }

    #[test]
    fn every_single_char_corruption_is_rejected() {
        let replacements: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.az -"
            .chars()
            .collect();
        for text in GOOD_IDS {
            let len = text.chars().count();
            let original_check = text.chars().last().unwrap();
            for index in 0..len {
                for &c in &replacements {
                    let bad = replace_at(text, index, c);
                    if bad == text {
                        continue;
                    }
                    let err = LicenceId::parse(&bad).unwrap_err();
                    if index == len - 1 && c != '.' {
                        assert_eq!(
                            err,
                            IdentifierError::CheckChar {
                                expected: original_check,
                                found: c,
                            },
                            "{bad}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn corruption_in_a_component_is_reported_against_that_component() {
        let text = GOOD_IDS[0];
        // Serial changed: still well-formed, so the check character catches it.
        let bad = text.replace("ZJ202400001", "ZJ202400002");
        assert_eq!(
            LicenceId::parse(&bad),
            Err(IdentifierError::CheckChar {
                expected: LicenceId::new("JYXK", uscc("91350100M000100Y43"), "ZJ202400002", 1)
                    .unwrap()
                    .check_char(),
                found: '3',
            })
        );
        // Issuer changed: the USCC's own check character catches it first.
        let bad = text.replace("91350100M000100Y43", "91350100M000100Y44");
        let err = LicenceId::parse(&bad).unwrap_err();
        assert!(matches!(
            err,
            IdentifierError::Issuer(CodeError::CheckChar {
                kind: CodeKind::Uscc,
                expected: '3',
                found: '4'
            })
        ));
        assert!(err.source().is_some());
        assert!(err.to_string().contains("check character is '3'"), "{err}");
    }

    #[test]
    fn too_long_is_checked_first() {
        let long = "x".repeat(MAX_LEN + 1);
        assert_eq!(
            LicenceId::parse(&long),
            Err(IdentifierError::TooLong {
                len: MAX_LEN + 1,
                max: MAX_LEN,
            })
        );
        let padded = format!("{}{}", GOOD_IDS[0], " ".repeat(MAX_LEN));
        assert!(matches!(
            LicenceId::parse(&padded),
            Err(IdentifierError::TooLong { .. })
        ));
        // Multi-byte characters count as bytes.
        let wide = "证".repeat(MAX_LEN / 3 + 1);
        assert!(matches!(
            LicenceId::parse(&wide),
            Err(IdentifierError::TooLong { .. })
        ));
        let exactly_max = "1".repeat(MAX_LEN);
        assert_eq!(
            LicenceId::parse(&exactly_max),
            Err(IdentifierError::WrongPrefix)
        );
    }

    #[test]
    fn prefix_must_be_exact() {
        for bad in [
            "",
            "1.2.156.3005.2",
            "1.2.156.3005.3.JYXK.91350100M000100Y43.ZJ202400001.1.3",
            "1.2.156.3005.20.JYXK.91350100M000100Y43.ZJ202400001.1.3",
            " 1.2.156.3005.2.JYXK.91350100M000100Y43.ZJ202400001.1.3",
            "urn:1.2.156.3005.2.JYXK.91350100M000100Y43.ZJ202400001.1.3",
            "1.2.156.3005.2:JYXK.91350100M000100Y43.ZJ202400001.1.3",
        ] {
            assert_eq!(
                LicenceId::parse(bad),
                Err(IdentifierError::WrongPrefix),
                "{bad:?}"
            );
        }
        let message = IdentifierError::WrongPrefix.to_string();
        assert!(message.contains("1.2.156.3005.2."), "{message}");
    }

    #[test]
    fn component_count_must_be_ten() {
        let cases = [
            ("1.2.156.3005.2.", 6),
            ("1.2.156.3005.2.JYXK.91350100M000100Y43.ZJ202400001.1", 9),
            (
                "1.2.156.3005.2.JYXK.91350100M000100Y43.ZJ202400001.1.3.",
                11,
            ),
            (
                "1.2.156.3005.2.JYXK.91350100M000100Y43.ZJ.202400001.1.3",
                11,
            ),
        ];
        for (text, found) in cases {
            assert_eq!(
                LicenceId::parse(text),
                Err(IdentifierError::ComponentCount { found }),
                "{text}"
            );
        }
        let message = IdentifierError::ComponentCount { found: 9 }.to_string();
        assert!(message.contains("9") && message.contains("10"), "{message}");
    }

    #[test]
    fn type_code_and_serial_errors() {
        let issuer = "91350100M000100Y43";
        let long = "A".repeat(MAX_TYPE_CODE_LEN + 1);
        let cases = [
            (
                with_parts("", issuer, "S1", "1", "0"),
                ComponentProblem::Empty,
            ),
            (
                with_parts(&long, issuer, "S1", "1", "0"),
                ComponentProblem::TooLong { len: 33, max: 32 },
            ),
            (
                with_parts("jyxk", issuer, "S1", "1", "0"),
                ComponentProblem::InvalidChar {
                    position: 1,
                    found: 'j',
                },
            ),
        ];
        for (text, problem) in cases {
            assert_eq!(
                LicenceId::parse(&text),
                Err(IdentifierError::TypeCode { problem })
            );
        }
        let cases = [
            (
                with_parts("JYXK", issuer, "", "1", "0"),
                ComponentProblem::Empty,
            ),
            (
                with_parts("JYXK", issuer, &long, "1", "0"),
                ComponentProblem::TooLong { len: 33, max: 32 },
            ),
            (
                with_parts("JYXK", issuer, "ZJ-1", "1", "0"),
                ComponentProblem::InvalidChar {
                    position: 3,
                    found: '-',
                },
            ),
        ];
        for (text, problem) in cases {
            assert_eq!(
                LicenceId::parse(&text),
                Err(IdentifierError::Serial { problem })
            );
        }
        let message = LicenceId::parse(&with_parts("jyxk", issuer, "S1", "1", "0"))
            .unwrap_err()
            .to_string();
        assert!(message.contains("write 'J'"), "{message}");
        assert!(matches!(
            LicenceId::new("", uscc(issuer), "S1", 1),
            Err(IdentifierError::TypeCode {
                problem: ComponentProblem::Empty
            })
        ));
        assert!(matches!(
            LicenceId::new("JYXK", uscc(issuer), "中文", 1),
            Err(IdentifierError::Serial { .. })
        ));
    }

    #[test]
    fn version_must_be_canonical_and_in_range() {
        let issuer = "91350100M000100Y43";
        for version in ["0", "01", "10000", "99999", "1a", "", "+1", "-1", "1 ", "٣"] {
            let text = with_parts("JYXK", issuer, "ZJ202400001", version, "0");
            assert_eq!(
                LicenceId::parse(&text),
                Err(IdentifierError::Version {
                    found: version.to_owned()
                }),
                "{version:?}"
            );
        }
        for version in [0, MAX_VERSION + 1, u32::MAX] {
            assert_eq!(
                LicenceId::new("JYXK", uscc(issuer), "ZJ202400001", version),
                Err(IdentifierError::Version {
                    found: version.to_string()
                })
            );
        }
        assert!(LicenceId::new("JYXK", uscc(issuer), "ZJ202400001", MAX_VERSION).is_ok());
        let message = LicenceId::new("JYXK", uscc(issuer), "S", 0)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("1 to 9999") && message.contains("leading zeros"),
            "{message}"
        );
    }

    #[test]
    fn check_component_must_be_one_char() {
        let issuer = "91350100M000100Y43";
        for check in ["", "33", "3 "] {
            let text = with_parts("JYXK", issuer, "ZJ202400001", "1", check);
            assert_eq!(
                LicenceId::parse(&text),
                Err(IdentifierError::CheckComponent {
                    found: check.to_owned()
                })
            );
        }
    }

    #[test]
    fn lowercase_check_char_is_rejected_naming_the_expected_char() {
        let bad = replace_at(GOOD_IDS[1], GOOD_IDS[1].len() - 1, 'y');
        assert_eq!(
            LicenceId::parse(&bad),
            Err(IdentifierError::CheckChar {
                expected: 'Y',
                found: 'y',
            })
        );
    }

    #[test]
    fn check_char_error_message_names_expected_char() {
        let bad = replace_at(GOOD_IDS[0], GOOD_IDS[0].len() - 1, '4');
        let message = LicenceId::parse(&bad).unwrap_err().to_string();
        assert_eq!(
            message,
            "licence identifier check character is '3' but the identifier ends in '4' — \
             re-read the identifier from the licence"
        );
    }

    #[test]
    fn serde_validates() {
        let de: StrDeserializer<'_, DeError> = GOOD_IDS[0].into_deserializer();
        let id = LicenceId::deserialize(de).unwrap();
        assert_eq!(id.to_string(), GOOD_IDS[0]);
        let bad = replace_at(GOOD_IDS[0], GOOD_IDS[0].len() - 1, '4');
        let de: StrDeserializer<'_, DeError> = bad.as_str().into_deserializer();
        let err = LicenceId::deserialize(de).unwrap_err();
        assert!(err.to_string().contains("check character is '3'"), "{err}");
    }

    // --- Properties ---------------------------------------------------------

    fn valid_uscc() -> impl Strategy<Value = Uscc> {
        let alphabet: Vec<char> = "0123456789ABCDEFGHJKLMNPQRTUWXY".chars().collect();
        (
            prop::collection::vec(prop::sample::select(alphabet.clone()), 2),
            "[0-9]{6}",
            prop::collection::vec(prop::sample::select(alphabet), 9),
        )
            .prop_map(|(head, region, tail)| {
                let first17: String = head.into_iter().chain(region.chars()).chain(tail).collect();
                let check = uscc_check_char(&first17).unwrap();
                Uscc::parse(&format!("{first17}{check}")).unwrap()
            })
    }

    fn valid_id() -> impl Strategy<Value = LicenceId> {
        (
            "[0-9A-Z]{1,32}",
            valid_uscc(),
            "[0-9A-Z]{1,32}",
            1u32..=MAX_VERSION,
        )
            .prop_map(|(type_code, issuer, serial, version)| {
                LicenceId::new(&type_code, issuer, &serial, version).unwrap()
            })
    }

    proptest! {
        #[test]
        fn new_display_parse_round_trips(id in valid_id()) {
            let text = id.to_string();
            prop_assert!(text.len() <= 106);
            let parsed = LicenceId::parse(&text).unwrap();
            prop_assert_eq!(&parsed, &id);
            prop_assert_eq!(parsed.to_string(), text);
        }

        #[test]
        fn random_single_substitution_is_rejected(
            id in valid_id(),
            index in any::<prop::sample::Index>(),
            c in prop::sample::select(
                "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.".chars().collect::<Vec<_>>()
            ),
        ) {
            let text = id.to_string();
            // Leave the root arc alone; its corruptions are covered elsewhere.
            let position = ROOT_ARC.len() + 1 + index.index(text.len() - ROOT_ARC.len() - 1);
            let bad = replace_at(&text, position, c);
            prop_assume!(bad != text);
            prop_assert!(LicenceId::parse(&bad).is_err(), "{} accepted", bad);
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = LicenceId::parse(&s);
        }

        #[test]
        fn parse_never_panics_near_the_format(tail in "[0-9A-Za-z.\u{4e00}]{0,120}") {
            let s = format!("{ROOT_ARC}.{tail}");
            // Anything accepted is in canonical form.
            if let Ok(id) = LicenceId::parse(&s) {
                prop_assert_eq!(id.to_string(), s);
            }
        }
    }
}
