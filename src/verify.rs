//! The verification pipeline — the only place a [`VerifiedLicence`] is made.
//!
//! ```text
//! bytes ─► size cap ─► SD-JWT parse (strict) ─► header policy (ES256, typ, no jwk/jku)
//!       ─► issuer resolution (x5c / kid) ─► signature ─► claims ─► chain valid at iat
//!       ─► issuer consistency ─► disclosures ─► key binding ─► status ─► validity window
//! ```
//!
//! A paper seal (`EL1:…`) takes the same path from its own strict decoder on
//! (`verify/seal.rs`).
//!
//! Each step fails with the most specific [`VerifyError`]. Time is an argument.

mod claims;
mod error;
mod header;
mod seal;
mod status;
mod verified;
mod verifier;

pub use error::{error_chain, IssuerMismatch, VerifyError};
pub use verified::{LicenceStatus, VerifiedLicence};
pub use verifier::{Options, StatusCheck, Verifier, DEFAULT_KB_MAX_AGE, DEFAULT_SKEW, MAX_SKEW};
