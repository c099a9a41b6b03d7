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

mod alphabet;
mod check;
mod error;
mod resident_id;
mod uscc;

pub(crate) use alphabet::base36_value;
pub use alphabet::CharClass;
pub(crate) use check::mod37_36_check_of_values;
pub use check::{iso7064_mod37_36, iso7064_mod37_36_valid};
pub use error::{CodeError, CodeKind};
pub use resident_id::{resident_id_check_char, BirthDate, ResidentId, MIN_BIRTH_YEAR};
pub use uscc::{uscc_check_char, Uscc};

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
    use super::alphabet::BASE36_ALPHABET;
    use super::check::split_last;
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
