//! Service settings: built-in defaults, overridden by a TOML file, overridden by environment
//! variables and command-line flags (the CLI turns those two into one [`Layer`]).
//!
//! Pure: the caller reads the file and passes its text in.

use crate::server::Limits;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Default listen address: loopback only, so a fresh checkout exposes nothing.
pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
/// Default public base URL (used in licences' status-list URIs).
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
/// Default page cache of the ledger, MiB (sled's own default is 1 GiB).
pub const DEFAULT_LEDGER_CACHE_MB: u64 = crate::ledger::store::DEFAULT_CACHE_BYTES >> 20;
pub use crate::server::DEFAULT_MIN_FREE_MB;
/// Default log name of the ledger's checkpoints.
pub const DEFAULT_LOG_ORIGIN: &str = "elicense.example/ledger";

/// The settings a running service uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Address to listen on.
    pub bind: String,
    /// Key store directory.
    pub keys: PathBuf,
    /// Ledger directory.
    pub data: PathBuf,
    /// Public base URL of the service.
    pub public_url: String,
    /// The ledger's log name.
    pub log_origin: String,
    /// How request logs are written.
    pub log_format: LogFormat,
    /// Request limits.
    pub limits: Limits,
    /// Status lists: seconds a relying party may cache one (`ttl`).
    pub status_list_ttl: u64,
    /// Status lists: seconds a signed list stays valid (`exp - iat`).
    pub status_list_validity: u64,
    /// The ledger's page cache, MiB.
    pub ledger_cache_mb: u64,
    /// Free space below which the service reports itself not ready, MiB.
    pub ledger_min_free_mb: u64,
    /// Log one in this many successful requests (1: all; 0: none); failures always.
    pub request_log_sample: u32,
    /// Tokio worker threads that serve requests.
    pub workers: usize,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    Json,
    /// Human-readable lines.
    Text,
    /// No request logs.
    Off,
}

/// One source of settings; every field is optional, the first source that sets a field wins.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Address to listen on, e.g. `0.0.0.0:8080`.
    pub bind: Option<String>,
    /// Key store directory.
    pub keys: Option<PathBuf>,
    /// Ledger directory.
    pub data: Option<PathBuf>,
    /// Public base URL.
    pub public_url: Option<String>,
    /// The ledger's log name.
    pub log_origin: Option<String>,
    /// `json`, `text` or `off`.
    pub log_format: Option<LogFormat>,
    /// Log one in this many successful requests (1 = every request, 0 = none); requests
    /// answered 4xx or 5xx are always logged.
    pub request_log_sample: Option<u32>,
    /// Worker threads serving requests [default: the number of cores].
    pub workers: Option<usize>,
    /// The `[limits]` table.
    #[serde(default)]
    pub limits: LimitsLayer,
    /// The `[status_lists]` table.
    #[serde(default)]
    pub status_lists: StatusListsLayer,
    /// The `[ledger]` table.
    #[serde(default)]
    pub ledger: LedgerLayer,
}

/// The `[ledger]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LedgerLayer {
    /// The ledger's page cache, MiB: the bound on its memory under write load.
    pub cache_mb: Option<u64>,
    /// Free space on the ledger's filesystem below which `/readyz` answers 503, MiB.
    pub min_free_mb: Option<u64>,
}

/// The `[limits]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LimitsLayer {
    /// Requests handled at once; more are answered 503 at once.
    pub max_concurrent: Option<usize>,
    /// Seconds before a request is answered 408.
    pub timeout_secs: Option<u64>,
    /// Largest request body, bytes.
    pub max_body_bytes: Option<usize>,
    /// Most licences in one batch request.
    pub max_batch: Option<usize>,
    /// Public endpoints: sustained requests per second per client address; 0 turns the
    /// rate limit off.
    pub rate_per_second: Option<u32>,
    /// Public endpoints: burst allowance per client address.
    pub rate_burst: Option<u32>,
    /// Connections open at once; more are answered 503 and closed.
    pub max_connections: Option<usize>,
    /// Connections open at once from one client address; more are answered 429 and closed.
    pub max_connections_per_client: Option<usize>,
    /// Seconds a client may take to send a request's head.
    pub header_read_timeout_secs: Option<u64>,
    /// Seconds a keep-alive connection may wait for its next request.
    pub idle_timeout_secs: Option<u64>,
}

/// The `[status_lists]` table.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StatusListsLayer {
    /// Seconds a relying party may cache a list.
    pub ttl_secs: Option<u64>,
    /// Seconds a signed list stays valid.
    pub validity_secs: Option<u64>,
}

/// A settings file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// Not TOML, or an unknown or mistyped key.
    #[error("settings file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said (it names the line and key).
        #[source]
        source: toml::de::Error,
    },
    /// A value out of range.
    #[error("settings: {key} = {value} is out of range ({expected})")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// The value given.
        value: u64,
        /// What is accepted.
        expected: &'static str,
    },
    /// The public URL is not an http(s) URL.
    #[error("settings: public_url {url:?} must start with http:// or https:// and have no query or fragment")]
    PublicUrl {
        /// The value given.
        url: String,
    },
}

impl Layer {
    /// Parses a TOML settings file's text.
    pub fn from_toml(path: &std::path::Path, text: &str) -> Result<Self, SettingsError> {
        toml::from_str(text).map_err(|source| SettingsError::Parse {
            path: path.to_owned(),
            source,
        })
    }
}

macro_rules! first {
    ($layers:expr, $($field:ident).+) => {
        $layers.iter().find_map(|l| l.$($field).+.clone())
    };
}

impl Settings {
    /// Resolves settings from layers, highest priority first, over the defaults.
    pub fn resolve(layers: &[&Layer]) -> Result<Self, SettingsError> {
        let defaults = Limits::default();
        let timeout_secs =
            first!(layers, limits.timeout_secs).unwrap_or(defaults.timeout.as_secs());
        let header_read_secs = first!(layers, limits.header_read_timeout_secs)
            .unwrap_or(defaults.header_read_timeout.as_secs());
        let idle_secs =
            first!(layers, limits.idle_timeout_secs).unwrap_or(defaults.idle_timeout.as_secs());
        let limits = Limits {
            max_concurrent: first!(layers, limits.max_concurrent)
                .unwrap_or(defaults.max_concurrent),
            timeout: Duration::from_secs(timeout_secs),
            max_body: first!(layers, limits.max_body_bytes).unwrap_or(defaults.max_body),
            max_batch: first!(layers, limits.max_batch).unwrap_or(defaults.max_batch),
            rate_per_second: first!(layers, limits.rate_per_second)
                .unwrap_or(defaults.rate_per_second),
            rate_burst: first!(layers, limits.rate_burst).unwrap_or(defaults.rate_burst),
            max_connections: first!(layers, limits.max_connections)
                .unwrap_or(defaults.max_connections),
            max_connections_per_client: first!(layers, limits.max_connections_per_client)
                .unwrap_or(defaults.max_connections_per_client),
            header_read_timeout: Duration::from_secs(header_read_secs),
            idle_timeout: Duration::from_secs(idle_secs),
        };
        let range = |key, value: u64, ok: bool, expected| {
            if ok {
                Ok(())
            } else {
                Err(SettingsError::OutOfRange {
                    key,
                    value,
                    expected,
                })
            }
        };
        let n = limits.max_concurrent as u64;
        range(
            "limits.max_concurrent",
            n,
            (1..=100_000).contains(&n),
            "1 to 100000",
        )?;
        range(
            "limits.timeout_secs",
            timeout_secs,
            (1..=3600).contains(&timeout_secs),
            "1 to 3600",
        )?;
        let n = limits.max_body as u64;
        range(
            "limits.max_body_bytes",
            n,
            (1024..=64 << 20).contains(&n),
            "1 KiB to 64 MiB",
        )?;
        let n = limits.max_batch as u64;
        range(
            "limits.max_batch",
            n,
            (1..=10_000).contains(&n),
            "1 to 10000",
        )?;
        let n = u64::from(limits.rate_burst);
        range("limits.rate_burst", n, n >= 1, "at least 1")?;
        let total = limits.max_connections as u64;
        range(
            "limits.max_connections",
            total,
            (1..=100_000).contains(&total),
            "1 to 100000 (and below the open-file limit, ulimit -n)",
        )?;
        let n = limits.max_connections_per_client as u64;
        range(
            "limits.max_connections_per_client",
            n,
            (1..=total).contains(&n),
            "1 to limits.max_connections",
        )?;
        range(
            "limits.header_read_timeout_secs",
            header_read_secs,
            (1..=300).contains(&header_read_secs),
            "1 to 300",
        )?;
        range(
            "limits.idle_timeout_secs",
            idle_secs,
            (1..=3600).contains(&idle_secs),
            "1 to 3600",
        )?;
        let ttl = first!(layers, status_lists.ttl_secs).unwrap_or(3_600);
        let validity = first!(layers, status_lists.validity_secs).unwrap_or(86_400);
        range(
            "status_lists.ttl_secs",
            ttl,
            (1..=validity).contains(&ttl),
            "1 to validity_secs",
        )?;
        range(
            "status_lists.validity_secs",
            validity,
            (60..=366 * 86_400).contains(&validity),
            "60 s to a year",
        )?;
        let cache_mb = first!(layers, ledger.cache_mb).unwrap_or(DEFAULT_LEDGER_CACHE_MB);
        range(
            "ledger.cache_mb",
            cache_mb,
            (8..=65_536).contains(&cache_mb),
            "8 MiB to 64 GiB",
        )?;
        let min_free_mb = first!(layers, ledger.min_free_mb).unwrap_or(DEFAULT_MIN_FREE_MB);
        range(
            "ledger.min_free_mb",
            min_free_mb,
            min_free_mb <= 1 << 20,
            "0 to 1 TiB",
        )?;
        let sample = first!(layers, request_log_sample).unwrap_or(1);
        let workers = first!(layers, workers).unwrap_or_else(default_workers);
        let n = workers as u64;
        range("workers", n, (1..=1024).contains(&n), "1 to 1024")?;
        let public_url = first!(layers, public_url).unwrap_or_else(|| DEFAULT_PUBLIC_URL.into());
        let scheme_ok = public_url.starts_with("http://") || public_url.starts_with("https://");
        if !scheme_ok
            || public_url.contains(['?', '#'])
            || public_url.chars().any(char::is_whitespace)
        {
            return Err(SettingsError::PublicUrl { url: public_url });
        }
        Ok(Settings {
            bind: first!(layers, bind).unwrap_or_else(|| DEFAULT_BIND.into()),
            keys: first!(layers, keys).unwrap_or_else(|| "keys".into()),
            data: first!(layers, data).unwrap_or_else(|| "data".into()),
            public_url: public_url.trim_end_matches('/').to_owned(),
            log_origin: first!(layers, log_origin).unwrap_or_else(|| DEFAULT_LOG_ORIGIN.into()),
            log_format: first!(layers, log_format).unwrap_or(LogFormat::Text),
            limits,
            status_list_ttl: ttl,
            status_list_validity: validity,
            ledger_cache_mb: cache_mb,
            ledger_min_free_mb: min_free_mb,
            request_log_sample: sample,
            workers,
        })
    }
}

/// Default worker threads: one per core the process may run on.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_any_layer() {
        let s = Settings::resolve(&[]).unwrap();
        assert_eq!(s.bind, DEFAULT_BIND);
        assert_eq!(s.keys, PathBuf::from("keys"));
        assert_eq!(s.limits, Limits::default());
        assert_eq!((s.status_list_ttl, s.status_list_validity), (3_600, 86_400));
    }

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let file = Layer::from_toml(
            "e.toml".as_ref(),
            "bind = \"0.0.0.0:9000\"\npublic_url = \"https://lic.example.gov.cn/\"\n\
             [limits]\nrate_per_second = 5\nmax_concurrent = 64\n",
        )
        .unwrap();
        let flags = Layer {
            bind: Some("127.0.0.1:1".into()),
            ..Layer::default()
        };
        let s = Settings::resolve(&[&flags, &file]).unwrap();
        assert_eq!(s.bind, "127.0.0.1:1");
        assert_eq!(s.public_url, "https://lic.example.gov.cn");
        assert_eq!(s.limits.rate_per_second, 5);
        assert_eq!(s.limits.max_concurrent, 64);
        assert_eq!(s.limits.timeout, Limits::default().timeout);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = Layer::from_toml("x.toml".as_ref(), "[limits]\nmax_conccurent = 3\n").unwrap_err();
        assert!(e.to_string().contains("max_conccurent"), "{e}");
        let e = Layer::from_toml("x.toml".as_ref(), "bind = 3\n").unwrap_err();
        assert!(e.to_string().contains("bind"), "{e}");
        let zero = Layer::from_toml("x.toml".as_ref(), "[limits]\ntimeout_secs = 0\n").unwrap();
        let e = Settings::resolve(&[&zero]).unwrap_err();
        assert!(matches!(
            e,
            SettingsError::OutOfRange {
                key: "limits.timeout_secs",
                ..
            }
        ));
        for (toml, key) in [
            ("max_connections = 0", "limits.max_connections"),
            ("max_connections = 10000000", "limits.max_connections"),
            (
                "max_connections = 10\nmax_connections_per_client = 11",
                "limits.max_connections_per_client",
            ),
            (
                "max_connections_per_client = 0",
                "limits.max_connections_per_client",
            ),
            (
                "header_read_timeout_secs = 0",
                "limits.header_read_timeout_secs",
            ),
            ("idle_timeout_secs = 0", "limits.idle_timeout_secs"),
            ("idle_timeout_secs = 86400", "limits.idle_timeout_secs"),
        ] {
            let layer =
                Layer::from_toml("x.toml".as_ref(), &format!("[limits]\n{toml}\n")).unwrap();
            match Settings::resolve(&[&layer]) {
                Err(SettingsError::OutOfRange { key: k, .. }) => assert_eq!(k, key, "{toml}"),
                other => panic!("{toml}: {other:?}"),
            }
        }
        let url = Layer {
            public_url: Some("ftp://x".into()),
            ..Layer::default()
        };
        assert!(matches!(
            Settings::resolve(&[&url]),
            Err(SettingsError::PublicUrl { .. })
        ));
    }

    #[test]
    fn the_example_file_in_the_repository_parses_and_resolves() {
        let text = include_str!("../elicense.example.toml");
        let layer = Layer::from_toml("elicense.example.toml".as_ref(), text).unwrap();
        let s = Settings::resolve(&[&layer]).unwrap();
        assert_eq!(s.bind, DEFAULT_BIND);
        assert_eq!(s.limits, Limits::default());
        assert_eq!(s.ledger_cache_mb, DEFAULT_LEDGER_CACHE_MB);
        assert_eq!(s.ledger_min_free_mb, DEFAULT_MIN_FREE_MB);
        assert_eq!(s.request_log_sample, 1);
        assert_eq!(s.workers, default_workers());
    }

    #[test]
    fn workers_are_read_and_checked() {
        let file = Layer::from_toml("e.toml".as_ref(), "workers = 3\n").unwrap();
        assert_eq!(Settings::resolve(&[&file]).unwrap().workers, 3);
        let flags = Layer {
            workers: Some(1),
            ..Layer::default()
        };
        assert_eq!(Settings::resolve(&[&flags, &file]).unwrap().workers, 1);
        let zero = Layer {
            workers: Some(0),
            ..Layer::default()
        };
        assert!(matches!(
            Settings::resolve(&[&zero]),
            Err(SettingsError::OutOfRange { key: "workers", .. })
        ));
    }

    #[test]
    fn ledger_and_log_settings_are_read_and_checked() {
        let file = Layer::from_toml(
            "e.toml".as_ref(),
            "request_log_sample = 100\n[ledger]\ncache_mb = 16\nmin_free_mb = 1\n",
        )
        .unwrap();
        let s = Settings::resolve(&[&file]).unwrap();
        assert_eq!(
            (
                s.ledger_cache_mb,
                s.ledger_min_free_mb,
                s.request_log_sample
            ),
            (16, 1, 100)
        );
        let tiny = Layer::from_toml("e.toml".as_ref(), "[ledger]\ncache_mb = 1\n").unwrap();
        assert!(matches!(
            Settings::resolve(&[&tiny]),
            Err(SettingsError::OutOfRange {
                key: "ledger.cache_mb",
                ..
            })
        ));
    }
}
