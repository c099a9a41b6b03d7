//! The verified licence — what a verification yields — and its status.

use super::claims::Registered;
use crate::licence::codes::Uscc;
use crate::licence::identifier::LicenceId;
use crate::licence::{self, FieldSpec, LicenceType};
use crate::pki::IssuerInfo;
use crate::status_list::StatusReference;
use serde::Serialize;
use serde_json::{Map, Value};

/// What is known of a verified licence's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LicenceStatus {
    /// Not revoked or suspended, according to `source` at `as_of`.
    Valid {
        /// `ledger` or `status_list`.
        source: &'static str,
        /// When the source said so.
        #[serde(serialize_with = "ser_time")]
        as_of: i64,
    },
    /// The signature is valid, but the status could not be established.
    Unknown {
        /// Why not.
        reason: String,
    },
    /// The caller did not ask for a status check.
    NotChecked,
}

/// A licence that passed every check. Only [`Verifier::verify`](super::Verifier::verify) can make one.
#[derive(Debug, Clone, Serialize)]
pub struct VerifiedLicence {
    licence_id: LicenceId,
    #[serde(rename = "type")]
    licence_type: TypeView,
    issuer: IssuerView,
    #[serde(serialize_with = "ser_time")]
    issued_at: i64,
    #[serde(serialize_with = "ser_time")]
    valid_from: i64,
    #[serde(serialize_with = "ser_opt_time")]
    valid_until: Option<i64>,
    holder: HolderView,
    fields: Vec<FieldView>,
    key_bound: bool,
    holder_bound: bool,
    status: LicenceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reference: Option<StatusReference>,
    #[serde(serialize_with = "ser_time")]
    checked_at: i64,
    #[serde(skip)]
    claims: Map<String, Value>,
}

fn ser_time<S: serde::Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&licence::format_time(*t))
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Serialize)]
struct TypeView {
    code: &'static str,
    slug: &'static str,
    name_zh: &'static str,
    name_en: &'static str,
}

#[derive(Debug, Clone, Serialize)]
struct IssuerView {
    name: String,
    code: Uscc,
    iss: String,
    kid: String,
    certificate_sha256: String,
}

#[derive(Debug, Clone, Serialize)]
struct HolderView {
    name: Option<String>,
    id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct FieldView {
    key: &'static str,
    label_zh: &'static str,
    label_en: &'static str,
    value: String,
}

impl VerifiedLicence {
    /// The identifier.
    pub fn id(&self) -> &LicenceId {
        &self.licence_id
    }
    /// The issuing agency's name.
    pub fn issuer_name(&self) -> &str {
        &self.issuer.name
    }
    /// The issuing agency's USCC.
    pub fn issuer_code(&self) -> &Uscc {
        &self.issuer.code
    }
    /// The licence type's Chinese name.
    pub fn type_name_zh(&self) -> &'static str {
        self.licence_type.name_zh
    }
    /// Holder name, if disclosed.
    pub fn holder_name(&self) -> Option<&str> {
        self.holder.name.as_deref()
    }
    /// Holder code, if disclosed.
    pub fn holder_id(&self) -> Option<&str> {
        self.holder.id.as_deref()
    }
    /// Disclosed face fields as `(key, Chinese label, value)`.
    pub fn fields(&self) -> impl Iterator<Item = (&'static str, &'static str, &str)> {
        self.fields
            .iter()
            .map(|f| (f.key, f.label_zh, f.value.as_str()))
    }
    /// The processed claims other than the holder and face fields (those are in
    /// [`holder_name`](Self::holder_name), [`holder_id`](Self::holder_id) and
    /// [`fields`](Self::fields)).
    pub fn other_claims(&self) -> &Map<String, Value> {
        &self.claims
    }
    /// Signing time (`iat`).
    pub fn issued_at(&self) -> i64 {
        self.issued_at
    }
    /// End of validity (`exp`), if any.
    pub fn not_after(&self) -> Option<i64> {
        self.valid_until
    }
    /// Whether a key-binding JWT proved the holder presented it.
    pub fn key_bound(&self) -> bool {
        self.key_bound
    }
    /// What is known of its revocation status.
    pub fn status(&self) -> &LicenceStatus {
        &self.status
    }
    /// Where its status is published (`status.status_list`), if it carries a reference.
    pub fn status_reference(&self) -> Option<&StatusReference> {
        self.status_reference.as_ref()
    }
    /// Whether the licence names a holder key (`cnf`): if so, a verifier that needs to know
    /// the holder is present should require key binding (pass `aud` and `nonce`).
    pub fn holder_bound(&self) -> bool {
        self.holder_bound
    }
}

pub(super) fn build(
    info: &IssuerInfo,
    t: LicenceType,
    id: LicenceId,
    reg: &Registered,
    mut claims: Map<String, Value>,
    (key_bound, holder_bound, status): (bool, bool, LicenceStatus),
    at: i64,
) -> VerifiedLicence {
    let mut text = |k: &str| match claims.remove(k) {
        Some(Value::String(s)) => Some(s),
        Some(other) => {
            claims.insert(k.to_owned(), other);
            None
        }
        None => None,
    };
    let holder = HolderView {
        name: text(licence::HOLDER_NAME),
        id: text(licence::HOLDER_ID),
    };
    let fields = t
        .fields()
        .iter()
        .filter_map(|f: &'static FieldSpec| {
            text(f.key).map(|value| FieldView {
                key: f.key,
                label_zh: f.zh,
                label_en: f.en,
                value,
            })
        })
        .collect();
    VerifiedLicence {
        licence_id: id,
        licence_type: TypeView {
            code: t.code(),
            slug: t.slug(),
            name_zh: t.name_zh(),
            name_en: t.name_en(),
        },
        issuer: IssuerView {
            name: info.agency.name.clone(),
            code: info.agency.code.clone(),
            iss: info.agency.issuer_uri.clone(),
            kid: info.kid.clone(),
            certificate_sha256: info.fingerprint.clone(),
        },
        issued_at: reg.iat,
        valid_from: reg.nbf,
        valid_until: reg.exp,
        holder,
        fields,
        key_bound,
        holder_bound,
        status,
        status_reference: reg.status.clone(),
        checked_at: at,
        claims,
    }
}
