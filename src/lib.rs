//! # elicense — electronic licences (电子证照)
//!
//! Government agencies issue licences as SD-JWT VCs (RFC 9901, draft-ietf-oauth-sd-jwt-vc)
//! signed with ES256 under an agency X.509 PKI, identified by GB/T 36904 identifiers.
//! Anyone holding the root certificate can verify them with standard libraries.
//!
//! The data's way through the crate:
//!
//! ```text
//! request ─► licence (model + GB code checks) ─► issue ─► sdjwt + seal (sign) ─► caller
//! bytes ─► verify: sdjwt or seal (parse strictly) ─► pki (resolve issuer, validate chain)
//!        ─► signature ─► disclosures ─► status ─► validity window
//!        ─► VerifiedLicence / VerifyError
//! seal ─► qr (SVG / PNG) ─► print (A4 page)
//! ```
//!
//! Pure format modules (`jose`, `sdjwt`, `seal`, `licence`, `qr`) do no I/O and take time
//! as an argument; `keys` owns the files; only [`verify`] can construct a
//! [`verify::VerifiedLicence`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod issue;
pub mod jose;
pub mod keys;
pub mod ledger;
pub mod licence;
pub mod note;
pub mod pki;
pub mod print;
pub mod profile;
pub mod publish;
pub mod qr;
pub mod salt;
pub mod scan;
pub mod sdjwt;
pub mod seal;
pub mod server;
pub mod settings;
pub mod status_list;
pub mod tokens;
pub mod verdict;
pub mod verify;
pub mod zlib;
