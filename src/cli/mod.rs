//! The commands of the `elicense` binary, one module each; `main.rs` holds the clap types
//! of the command line and dispatches to them.

pub mod agency;
pub mod demo;
pub mod io;
pub mod issue;
pub mod ledger;
pub mod present;
pub mod qr;
pub mod serve;
pub mod sniff;
pub mod trust;
pub mod verify;
