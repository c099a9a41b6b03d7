//! The licence model: licence types with their face fields, the request an agency issues
//! from, and the claims a licence carries. Pure: no I/O, no clock.

pub mod codes;
pub mod identifier;

use crate::jose::Jwk;
use codes::{CodeError, HolderCode};
use identifier::{IdentifierError, LicenceId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime, UtcOffset};

/// China Standard Time, in which licence dates are written.
pub const CHINA_OFFSET: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// Longest text accepted in one face field.
pub const MAX_FIELD_LEN: usize = 2000;
/// Longest holder name accepted.
pub const MAX_NAME_LEN: usize = 200;

/// Whether a licence is held by an organisation or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HolderKind {
    /// Identified by a Unified Social Credit Code (GB 32100).
    Organisation,
    /// Identified by a resident identity number (GB 11643).
    Person,
}

/// The kind of value a face field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text.
    Text,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
}

/// One field printed on the face of a licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Claim name.
    pub key: &'static str,
    /// Label in Chinese.
    pub zh: &'static str,
    /// Label in English.
    pub en: &'static str,
    /// Whether every licence of the type has it.
    pub required: bool,
    /// Its kind of value.
    pub kind: FieldKind,
}

const fn field(key: &'static str, zh: &'static str, en: &'static str, required: bool) -> FieldSpec {
    FieldSpec {
        key,
        zh,
        en,
        required,
        kind: FieldKind::Text,
    }
}

const fn date_field(key: &'static str, zh: &'static str, en: &'static str) -> FieldSpec {
    FieldSpec {
        key,
        zh,
        en,
        required: true,
        kind: FieldKind::Date,
    }
}

const BUSINESS_FIELDS: &[FieldSpec] = &[
    field("entity_type", "类型", "Entity type", true),
    field(
        "legal_representative",
        "法定代表人",
        "Legal representative",
        true,
    ),
    field("registered_capital", "注册资本", "Registered capital", true),
    date_field("established", "成立日期", "Date of establishment"),
    field("address", "住所", "Domicile", true),
    field("business_scope", "经营范围", "Business scope", true),
];

/// What the paper seal carries of a business licence: every face field but the business
/// scope, whose free text (often hundreds of characters) would not fit a QR code a counter
/// scanner reads reliably. The scope stays in the SD-JWT VC.
const BUSINESS_SEAL_FIELDS: &[FieldSpec] = &[
    BUSINESS_FIELDS[0],
    BUSINESS_FIELDS[1],
    BUSINESS_FIELDS[2],
    BUSINESS_FIELDS[3],
    BUSINESS_FIELDS[4],
];

const FOOD_FIELDS: &[FieldSpec] = &[
    field(
        "legal_representative",
        "法定代表人（负责人）",
        "Legal representative (person in charge)",
        true,
    ),
    field("address", "住所", "Domicile", true),
    field("premises", "经营场所", "Business premises", true),
    field("business_form", "主体业态", "Type of operation", true),
    field("business_items", "经营项目", "Licensed items", true),
    field("permit_number", "许可证编号", "Permit number", true),
    field(
        "supervising_authority",
        "日常监督管理机构",
        "Supervising authority",
        false,
    ),
];

const TEACHER_FIELDS: &[FieldSpec] = &[
    field("sex", "性别", "Sex", true),
    date_field("birth_date", "出生日期", "Date of birth"),
    field("qualification", "资格种类", "Qualification", true),
    field("subject", "任教学科", "Teaching subject", true),
    field("certificate_number", "证书号码", "Certificate number", true),
];

/// A type of licence this service issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LicenceType {
    /// 营业执照 — business licence.
    BusinessLicence,
    /// 食品经营许可证 — food business permit.
    FoodBusinessPermit,
    /// 教师资格证书 — teacher qualification certificate (a personal qualification).
    TeacherQualification,
}

impl LicenceType {
    /// Every type, in a stable order.
    pub const ALL: [LicenceType; 3] = [
        LicenceType::BusinessLicence,
        LicenceType::FoodBusinessPermit,
        LicenceType::TeacherQualification,
    ];

    /// The type code in GB/T 36904 identifiers (this service's type registry).
    pub fn code(self) -> &'static str {
        match self {
            Self::BusinessLicence => "1001",
            Self::FoodBusinessPermit => "2101",
            Self::TeacherQualification => "3201",
        }
    }

    /// The name used in requests and APIs.
    pub fn slug(self) -> &'static str {
        match self {
            Self::BusinessLicence => "business_licence",
            Self::FoodBusinessPermit => "food_business_permit",
            Self::TeacherQualification => "teacher_qualification",
        }
    }

    /// Chinese name.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::BusinessLicence => "营业执照",
            Self::FoodBusinessPermit => "食品经营许可证",
            Self::TeacherQualification => "教师资格证书",
        }
    }

    /// English name.
    pub fn name_en(self) -> &'static str {
        match self {
            Self::BusinessLicence => "Business licence",
            Self::FoodBusinessPermit => "Food business permit",
            Self::TeacherQualification => "Teacher qualification certificate",
        }
    }

    /// The SD-JWT VC type (`vct`).
    pub fn vct(self) -> &'static str {
        match self {
            Self::BusinessLicence => "urn:elicense:vct:business_licence:1",
            Self::FoodBusinessPermit => "urn:elicense:vct:food_business_permit:1",
            Self::TeacherQualification => "urn:elicense:vct:teacher_qualification:1",
        }
    }

    /// Who holds licences of this type.
    pub fn holder_kind(self) -> HolderKind {
        match self {
            Self::TeacherQualification => HolderKind::Person,
            _ => HolderKind::Organisation,
        }
    }

    /// Face fields, in printing order.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Self::BusinessLicence => BUSINESS_FIELDS,
            Self::FoodBusinessPermit => FOOD_FIELDS,
            Self::TeacherQualification => TEACHER_FIELDS,
        }
    }

    /// The face fields the paper seal carries, in order: what counter staff compare with
    /// the paper. All of [`fields`](Self::fields) except long free text (a business
    /// licence's business scope).
    pub fn seal_fields(self) -> &'static [FieldSpec] {
        match self {
            Self::BusinessLicence => BUSINESS_SEAL_FIELDS,
            Self::FoodBusinessPermit => FOOD_FIELDS,
            Self::TeacherQualification => TEACHER_FIELDS,
        }
    }

    /// The type with this `vct`.
    pub fn from_vct(vct: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.vct() == vct)
    }

    /// The type with this identifier type code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }
}

/// Claim names of the holder, common to every type.
pub const HOLDER_NAME: &str = "holder_name";
/// Claim name of the holder's code (USCC or resident ID).
pub const HOLDER_ID: &str = "holder_id";
/// Claim name of the GB/T 36904 identifier.
pub const LICENCE_ID: &str = "licence_id";

/// The licence holder, as the request names them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Holder {
    /// Name of the organisation or person.
    pub name: String,
    /// USCC or resident ID number.
    pub id: String,
}

/// What an agency asks to issue: the input of `elicense issue` and `POST /v1/licences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LicenceRequest {
    /// The licence type.
    #[serde(rename = "type")]
    pub licence_type: LicenceType,
    /// Serial number within the agency and type, `[0-9A-Z]{1,32}`.
    pub serial: String,
    /// Version (re-issues of the same licence increase it).
    #[serde(default = "one")]
    pub version: u32,
    /// The holder.
    pub holder: Holder,
    /// First day of validity, `YYYY-MM-DD` (China time).
    pub valid_from: String,
    /// Last day of validity, `YYYY-MM-DD`; absent for a permanent (长期) licence.
    #[serde(default)]
    pub valid_until: Option<String>,
    /// Face fields by claim name (which ones depend on the type).
    #[schema(value_type = std::collections::HashMap<String, String>)]
    pub fields: BTreeMap<String, String>,
    /// Holder's public key for key binding (`cnf`), EC P-256.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub holder_key: Option<Jwk>,
}

fn one() -> u32 {
    1
}

/// A request that passed every check, ready to become claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Licence {
    /// The identifier.
    pub id: LicenceId,
    /// The type.
    pub licence_type: LicenceType,
    /// Holder name.
    pub holder_name: String,
    /// Holder code.
    pub holder_id: HolderCode,
    /// Start of validity (seconds since the epoch).
    pub not_before: i64,
    /// End of validity, exclusive; `None` for permanent.
    pub not_after: Option<i64>,
    /// Face fields, in the type's printing order.
    pub fields: Vec<(&'static FieldSpec, String)>,
    /// Holder key, if bound.
    pub holder_key: Option<Jwk>,
}

/// Parses `YYYY-MM-DD` (exactly that: four-digit year, two-digit month and day).
pub fn parse_date(text: &str) -> Option<Date> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    let month = time::Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

fn start_of_day(d: Date) -> i64 {
    d.midnight().assume_offset(CHINA_OFFSET).unix_timestamp()
}

impl LicenceRequest {
    /// Checks everything and builds the licence issued by the agency with code `issuer`.
    pub fn validate(&self, issuer: &codes::Uscc) -> Result<Licence, RequestError> {
        let t = self.licence_type;
        let id = LicenceId::new(t.code(), issuer.clone(), &self.serial, self.version)
            .map_err(RequestError::Identifier)?;
        let name = self.holder.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
            return Err(RequestError::HolderName { max: MAX_NAME_LEN });
        }
        let holder_id = HolderCode::parse(&self.holder.id).map_err(RequestError::HolderId)?;
        let kind_ok = matches!(
            (t.holder_kind(), &holder_id),
            (HolderKind::Organisation, HolderCode::Uscc(_))
                | (HolderKind::Person, HolderCode::ResidentId(_))
        );
        if !kind_ok {
            return Err(RequestError::HolderKind {
                licence_type: t.slug(),
                expected: t.holder_kind(),
            });
        }
        let from = parse_date(&self.valid_from).ok_or_else(|| RequestError::Date {
            field: "valid_from".into(),
            value: self.valid_from.clone(),
        })?;
        let until = match &self.valid_until {
            None => None,
            Some(s) => Some(parse_date(s).ok_or_else(|| RequestError::Date {
                field: "valid_until".into(),
                value: s.clone(),
            })?),
        };
        if let Some(u) = until {
            if u < from {
                return Err(RequestError::ValidityOrder {
                    valid_from: self.valid_from.clone(),
                    valid_until: self.valid_until.clone().unwrap_or_default(),
                });
            }
        }
        for key in self.fields.keys() {
            if !t.fields().iter().any(|f| f.key == key) {
                return Err(RequestError::UnknownField {
                    field: key.clone(),
                    licence_type: t.slug(),
                    allowed: t
                        .fields()
                        .iter()
                        .map(|f| f.key)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let mut fields = Vec::with_capacity(t.fields().len());
        for spec in t.fields() {
            match self.fields.get(spec.key).map(|v| v.trim()) {
                None | Some("") if spec.required => {
                    return Err(RequestError::MissingField {
                        field: spec.key,
                        label: spec.zh,
                    })
                }
                None | Some("") => {}
                Some(v) => {
                    if v.chars().count() > MAX_FIELD_LEN {
                        return Err(RequestError::FieldTooLong {
                            field: spec.key,
                            max: MAX_FIELD_LEN,
                        });
                    }
                    if spec.kind == FieldKind::Date && parse_date(v).is_none() {
                        return Err(RequestError::Date {
                            field: spec.key.into(),
                            value: v.into(),
                        });
                    }
                    fields.push((spec, v.to_owned()));
                }
            }
        }
        if let Some(k) = &self.holder_key {
            k.public_key().map_err(RequestError::HolderKey)?;
            if k.d.is_some() {
                return Err(RequestError::PrivateHolderKey);
            }
        }
        let not_after = match until {
            None => None,
            Some(u) => Some(start_of_day(u.next_day().ok_or_else(|| {
                RequestError::Date {
                    field: "valid_until".into(),
                    value: self.valid_until.clone().unwrap_or_default(),
                }
            })?)),
        };
        Ok(Licence {
            id,
            licence_type: t,
            holder_name: name.to_owned(),
            holder_id,
            not_before: start_of_day(from),
            not_after,
            fields,
            holder_key: self.holder_key.clone(),
        })
    }
}

/// Formats seconds since the epoch as an RFC 3339 time in China time.
pub fn format_time(secs: i64) -> String {
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .map(|t| t.to_offset(CHINA_OFFSET))
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

/// A licence request that cannot be issued.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The identifier parts are invalid.
    #[error("invalid licence identifier parts")]
    Identifier(#[source] IdentifierError),
    /// Empty or overlong holder name.
    #[error("holder.name must be 1 to {max} characters")]
    HolderName {
        /// Limit.
        max: usize,
    },
    /// The holder code fails its check.
    #[error("holder.id is not a valid USCC or resident ID number")]
    HolderId(#[source] CodeError),
    /// An organisation's licence for a person or the reverse.
    #[error("a {licence_type} is held by an {expected:?}; holder.id must be a {}", match expected { HolderKind::Organisation => "Unified Social Credit Code (统一社会信用代码)", HolderKind::Person => "resident ID number (公民身份号码)" })]
    HolderKind {
        /// The type.
        licence_type: &'static str,
        /// Who holds it.
        expected: HolderKind,
    },
    /// Not a `YYYY-MM-DD` date.
    #[error("{field} = {value:?} is not a date; write it as YYYY-MM-DD")]
    Date {
        /// Which field.
        field: String,
        /// The value.
        value: String,
    },
    /// Validity ends before it starts.
    #[error("valid_until {valid_until} is before valid_from {valid_from}")]
    ValidityOrder {
        /// Start.
        valid_from: String,
        /// End.
        valid_until: String,
    },
    /// A field the type does not have.
    #[error("field {field:?} is not part of a {licence_type}; its fields are: {allowed}")]
    UnknownField {
        /// The field.
        field: String,
        /// The type.
        licence_type: &'static str,
        /// Allowed names.
        allowed: String,
    },
    /// A required field is missing.
    #[error("field {field:?} ({label}) is required")]
    MissingField {
        /// The field.
        field: &'static str,
        /// Its Chinese label.
        label: &'static str,
    },
    /// A field over the length cap.
    #[error("field {field:?} is longer than {max} characters")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Limit.
        max: usize,
    },
    /// An unusable holder key.
    #[error("holder_key is not a usable EC P-256 public JWK")]
    HolderKey(#[source] crate::jose::KeyError),
    /// A holder key with its private part.
    #[error("holder_key contains the private part \"d\"; send only the public key")]
    PrivateHolderKey,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn request() -> LicenceRequest {
        serde_json::from_value(serde_json::json!({
            "type": "business_licence",
            "serial": "000123",
            "holder": {"name": "示例科技有限公司", "id": "91350100M000100Y43"},
            "valid_from": "2024-03-01",
            "valid_until": "2044-02-29",
            "fields": {
                "entity_type": "有限责任公司",
                "legal_representative": "张三",
                "registered_capital": "壹佰万元整",
                "established": "2024-03-01",
                "address": "示例市示例区示例路1号",
                "business_scope": "软件开发"
            }
        }))
        .unwrap()
    }

    pub(crate) fn agency() -> codes::Uscc {
        codes::Uscc::parse("91350100M000100Y43").unwrap()
    }

    #[test]
    fn request_errors_say_what_to_fix() {
        let mut r = request();
        r.fields.remove("address");
        let e = r.validate(&agency()).unwrap_err().to_string();
        assert!(e.contains("address") && e.contains("住所"), "{e}");

        let mut r = request();
        r.fields.insert("colour".into(), "red".into());
        let e = r.validate(&agency()).unwrap_err().to_string();
        assert!(e.contains("business_scope"), "{e}");

        let mut r = request();
        r.holder.id = "11010519491231002X".into();
        let e = r.validate(&agency()).unwrap_err().to_string();
        assert!(e.contains("Unified Social Credit Code"), "{e}");

        let mut r = request();
        r.valid_until = Some("2023-01-01".into());
        assert!(matches!(
            r.validate(&agency()),
            Err(RequestError::ValidityOrder { .. })
        ));

        let mut r = request();
        r.valid_from = "2024/03/01".into();
        assert!(r
            .validate(&agency())
            .unwrap_err()
            .to_string()
            .contains("YYYY-MM-DD"));
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2024-02-29").is_some());
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "2024/01/01",
            "20240101",
            "２０２４-01-01",
            "2024-01-01 ",
        ] {
            assert!(parse_date(bad).is_none(), "{bad}");
        }
    }
}
