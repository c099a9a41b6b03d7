//! The key store commands: `init` (the root CA) and `agency add | list | token`.

use super::io::Failure;
use clap::Subcommand;
use elicense::keys::{self, KeyStore};
use elicense::licence::{self, codes::Uscc};
use elicense::pki::AgencyIdentity;
use time::OffsetDateTime;

/// `agency …` subcommands.
#[derive(Subcommand, Debug)]
pub enum AgencyCommand {
    /// Create an agency issuer certificate under the root CA. Never overwrites.
    Add {
        /// The agency's name, e.g. 示例市市场监督管理局.
        #[arg(long)]
        name: String,
        /// The agency's Unified Social Credit Code (统一社会信用代码).
        #[arg(long)]
        code: String,
        /// The agency's issuer identifier (`iss`); default https://elicense.example/agencies/<code>.
        #[arg(long)]
        uri: Option<String>,
        /// Validity in years.
        #[arg(long, default_value_t = 5)]
        years: u16,
    },
    /// List the agencies in the key store.
    List,
    /// Manage the agency API's bearer tokens (stored only as hashes).
    #[command(subcommand)]
    Token(TokenCommand),
}

/// `agency token …` subcommands.
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token for an agency; it is printed once and stored only as a hash.
    Create {
        /// The agency (USCC).
        #[arg(long)]
        agency: String,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token id (from `create` or `list`). An older id that starts with `-` is
        /// accepted as it is, or after `--`.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
    /// List tokens (ids, agencies, dates; never the tokens).
    List,
}

/// `init`: the root CA.
pub fn init(store: &KeyStore, name: &str, years: u16) -> Result<(), Failure> {
    let now = OffsetDateTime::now_utc();
    let root = store.init_root(name, now, years)?;
    println!(
        "created root CA {} (kid {})\nnext: elicense agency add --name … --code <USCC>",
        root.cert_path.display(),
        root.kid
    );
    Ok(())
}

/// `agency …`.
pub fn agency(store: &KeyStore, cmd: AgencyCommand) -> Result<(), Failure> {
    match cmd {
        AgencyCommand::Add {
            name,
            code,
            uri,
            years,
        } => {
            let code = Uscc::parse(&code)?;
            let issuer_uri =
                uri.unwrap_or_else(|| format!("https://elicense.example/agencies/{code}"));
            let now = OffsetDateTime::now_utc();
            let agency = AgencyIdentity {
                name,
                code,
                issuer_uri,
            };
            let not_after = keys::add_years(now, years)
                .filter(|_| (1..=50).contains(&years))
                .ok_or(keys::KeyStoreError::Years { years })?;
            let c = store.add_agency(&agency, now, not_after)?;
            println!(
                "created agency certificate {} (kid {})",
                c.cert_path.display(),
                c.kid
            );
        }
        AgencyCommand::Token(cmd) => {
            let tokens = elicense::tokens::TokenStore::new(store.dir());
            let now = OffsetDateTime::now_utc().unix_timestamp();
            match cmd {
                TokenCommand::Create { agency } => {
                    let code = Uscc::parse(&agency)?;
                    store.agency_key(&code)?;
                    let (record, token) = tokens.create(&code, now)?;
                    println!("{token}");
                    eprintln!(
                    "token {} for {code}: shown once, stored only as a hash; send it as `Authorization: Bearer …`",
                    record.id
                );
                }
                TokenCommand::Revoke { id } => {
                    let r = tokens.revoke(&id, now)?;
                    println!("revoked token {} of {}", r.id, r.agency);
                }
                TokenCommand::List => {
                    for r in tokens.load()? {
                        println!(
                            "{}  {}  created {}{}",
                            r.id,
                            r.agency,
                            licence::format_time(r.created),
                            r.revoked
                                .map(|t| format!("  revoked {}", licence::format_time(t)))
                                .unwrap_or_default()
                        );
                    }
                }
            }
        }
        AgencyCommand::List => {
            for (_, info) in store.agencies()? {
                println!(
                    "{}  {}  kid {}  valid {} – {}  iss {}",
                    info.agency.code,
                    info.agency.name,
                    info.kid,
                    licence::format_time(info.not_before),
                    licence::format_time(info.not_after),
                    info.agency.issuer_uri
                );
            }
        }
    }
    Ok(())
}
