//! `elicense serve`: settings resolved from flags, environment and file, then the HTTP API
//! until SIGINT or SIGTERM.

use super::demo::ensure_demo_pki;
use super::io::Failure;
use super::ledger as cli_ledger;
use clap::Args;
use elicense::issue::Issuer;
use elicense::keys::KeyStore;
use elicense::verify::Verifier;
use std::path::PathBuf;
use std::process::ExitCode;
use time::OffsetDateTime;

/// `serve --help`, after the options.
pub const SERVE_HELP: &str = "\
Settings come from, highest first: flags, environment variables (ELICENSE_*), the TOML file
given with --config (see elicense.example.toml for every key), built-in defaults.

Agencies call the agency API with a bearer token: elicense agency token create --agency <USCC>
Stop with Ctrl-C or SIGTERM: requests in flight finish and the ledger is flushed.";

/// `serve` settings; each overrides the settings file.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Settings file (TOML); see elicense.example.toml.
    #[arg(long, env = "ELICENSE_CONFIG")]
    config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "ELICENSE_BIND")]
    bind: Option<String>,
    /// Request logs on standard error [default: text].
    #[arg(long, env = "ELICENSE_LOG_FORMAT")]
    log_format: Option<elicense::settings::LogFormat>,
    /// Requests handled at once; more get 503 at once [default: 512].
    #[arg(long, env = "ELICENSE_MAX_CONCURRENT")]
    max_concurrent: Option<usize>,
    /// Seconds before a request is answered 408 [default: 10].
    #[arg(long, env = "ELICENSE_TIMEOUT_SECS")]
    timeout_secs: Option<u64>,
    /// Largest request body in bytes [default: 131072].
    #[arg(long, env = "ELICENSE_MAX_BODY_BYTES")]
    max_body_bytes: Option<usize>,
    /// Most licences in one batch issuance [default: 100].
    #[arg(long, env = "ELICENSE_MAX_BATCH")]
    max_batch: Option<usize>,
    /// Public endpoints: requests per second per client address, 0 for no limit [default: 100].
    #[arg(long, env = "ELICENSE_RATE_PER_SECOND")]
    rate_per_second: Option<u32>,
    /// Public endpoints: burst per client address [default: 200].
    #[arg(long, env = "ELICENSE_RATE_BURST")]
    rate_burst: Option<u32>,
    /// Connections open at once; more get 503 and are closed. Keep it below the open-file
    /// limit (ulimit -n) [default: 768].
    #[arg(long, env = "ELICENSE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Connections open at once from one client address; more get 429 [default: 64].
    #[arg(long, env = "ELICENSE_MAX_CONNECTIONS_PER_CLIENT")]
    max_connections_per_client: Option<usize>,
    /// Seconds a client may take to send a request's headers [default: 10].
    #[arg(long, env = "ELICENSE_HEADER_READ_TIMEOUT_SECS")]
    header_read_timeout_secs: Option<u64>,
    /// Seconds an idle keep-alive connection is kept open [default: 60].
    #[arg(long, env = "ELICENSE_IDLE_TIMEOUT_SECS")]
    idle_timeout_secs: Option<u64>,
    /// Seconds a relying party may cache a status list (its ttl) [default: 3600].
    #[arg(long, env = "ELICENSE_STATUS_LIST_TTL")]
    status_list_ttl: Option<u64>,
    /// Seconds a signed status list stays valid [default: 86400].
    #[arg(long, env = "ELICENSE_STATUS_LIST_VALIDITY")]
    status_list_validity: Option<u64>,
    /// The ledger's page cache in MiB, the bound on its memory under write load [default: 64].
    #[arg(long, env = "ELICENSE_LEDGER_CACHE_MB")]
    ledger_cache_mb: Option<u64>,
    /// Free MiB on the ledger's filesystem below which /readyz answers 503 [default: 32].
    #[arg(long, env = "ELICENSE_LEDGER_MIN_FREE_MB")]
    ledger_min_free_mb: Option<u64>,
    /// Log one in N successful requests (1 = all, 0 = none); failures are always logged [default: 1].
    #[arg(long, env = "ELICENSE_REQUEST_LOG_SAMPLE")]
    request_log_sample: Option<u32>,
    /// Worker threads serving requests [default: the number of cores].
    #[arg(long, env = "ELICENSE_WORKERS")]
    workers: Option<usize>,
}

/// `serve`: the HTTP API, until SIGINT or SIGTERM.
pub fn serve(
    keys: Option<PathBuf>,
    data: Option<PathBuf>,
    public_url: Option<String>,
    log_origin: Option<String>,
    args: ServeArgs,
) -> Result<ExitCode, Failure> {
    use elicense::server::AppState;
    use elicense::settings::{
        Layer, LedgerLayer, LimitsLayer, LogFormat, Settings, StatusListsLayer,
    };
    use std::sync::Arc;
    let file = match &args.config {
        None => Layer::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Failure {
                hint: Some(format!(
                    "check the path given with --config or ELICENSE_CONFIG ({}); elicense.example.toml shows every key",
                    path.display()
                )),
                error: Box::new(e),
            })?;
            Layer::from_toml(path, &text).map_err(|e| Failure {
                hint: Some(
                    "fix the named key; elicense.example.toml lists every key with its default"
                        .into(),
                ),
                error: Box::new(e),
            })?
        }
    };
    let flags = Layer {
        bind: args.bind,
        keys,
        data,
        public_url,
        log_origin,
        log_format: args.log_format,
        limits: LimitsLayer {
            max_concurrent: args.max_concurrent,
            timeout_secs: args.timeout_secs,
            max_body_bytes: args.max_body_bytes,
            max_batch: args.max_batch,
            rate_per_second: args.rate_per_second,
            rate_burst: args.rate_burst,
            max_connections: args.max_connections,
            max_connections_per_client: args.max_connections_per_client,
            header_read_timeout_secs: args.header_read_timeout_secs,
            idle_timeout_secs: args.idle_timeout_secs,
        },
        status_lists: StatusListsLayer {
            ttl_secs: args.status_list_ttl,
            validity_secs: args.status_list_validity,
        },
        ledger: LedgerLayer {
            cache_mb: args.ledger_cache_mb,
            min_free_mb: args.ledger_min_free_mb,
        },
        request_log_sample: args.request_log_sample,
        workers: args.workers,
    };
    let settings = Settings::resolve(&[&flags, &file]).map_err(|e| Failure {
        hint: Some(
            "see `elicense serve --help` and elicense.example.toml for the accepted values".into(),
        ),
        error: Box::new(e),
    })?;
    match settings.log_format {
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Text => tracing_subscriber::fmt()
            .compact()
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Off => {}
    }
    let store = KeyStore::new(&settings.keys);
    if !store.has_root() {
        ensure_demo_pki(&store, OffsetDateTime::now_utc())?;
    }
    let mut issuers = std::collections::HashMap::new();
    for (_, info) in store.agencies()? {
        match store.agency_key(&info.agency.code) {
            Ok(key) => {
                issuers.insert(info.agency.code.to_string(), Issuer::new(key)?);
            }
            Err(e) => eprintln!("note: agency {} cannot sign here: {e}", info.agency.code),
        }
    }
    let ledger = Arc::new(cli_ledger::open_ledger_with(
        &settings.data,
        elicense::ledger::LedgerOptions {
            cache_bytes: settings.ledger_cache_mb << 20,
        },
    )?);
    let codes: Vec<String> = issuers.keys().cloned().collect();
    let state = AppState::builder(
        Verifier::new(store.trust_store()?),
        ledger.clone(),
        elicense::tokens::TokenStore::new(store.dir()),
        settings.public_url.clone(),
    )
    .publisher(elicense::publish::StatusPublisher::new(
        &settings.public_url,
        i64::try_from(settings.status_list_validity).unwrap_or(i64::MAX),
        settings.status_list_ttl,
    ))
    .issuers(issuers)
    .clock(|| OffsetDateTime::now_utc().unix_timestamp())
    .log_signer(Some(store.ledger_signer(&settings.log_origin)?))
    .limits(settings.limits)
    .ops(elicense::server::Ops {
        min_free_bytes: settings.ledger_min_free_mb << 20,
        request_log_sample: settings.request_log_sample,
    })
    .build();
    // A failed write leaves the ledger refusing changes; this reopens it once the disk
    // can take writes again (probing every RECOVER_EVERY).
    let stop_recovery = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let recovery = {
        let (ledger, stop) = (ledger.clone(), stop_recovery.clone());
        std::thread::Builder::new()
            .name("ledger-recovery".into())
            .spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(RECOVER_EVERY);
                    if ledger.failure().is_some() {
                        let _ = ledger.recover();
                    }
                }
            })?
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(settings.workers)
        .enable_all()
        .build()?;
    let bind = settings.bind.clone();
    let events = ledger.size();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .map_err(|e| Failure {
                hint: Some(format!(
                    "is another process using {bind}? choose another with --bind or ELICENSE_BIND"
                )),
                error: Box::new(e),
            })?;
        let addr = listener.local_addr()?;
        println!("elicense serving on http://{addr}");
        println!("  keys: {}   ledger: {} ({} events)", settings.keys.display(), settings.data.display(), events);
        println!("  public URL (in new licences' status URIs): {}", settings.public_url);
        for code in &codes {
            println!("  agency {code}: issue with a token from `elicense agency token create --agency {code}`");
        }
        println!("  API description: http://{addr}/openapi.json");
        elicense::server::serve(listener, state, shutdown_signal()).await?;
        Ok::<_, Failure>(())
    })?;
    stop_recovery.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = recovery.join();
    // Every acknowledged change is on disk already; this flush only tidies up. A ledger
    // whose write failed has nothing acknowledged to lose: say so in the log, exit 0.
    match ledger.flush() {
        Ok(()) => {
            tracing::info!(
                target: "elicense::serve",
                events = ledger.size(),
                "stopped: requests in flight finished, ledger flushed"
            );
            println!("elicense stopped; requests in flight finished, ledger flushed");
        }
        Err(e) => {
            tracing::error!(
                target: "elicense::serve",
                events = ledger.size(),
                "stopped; the final ledger flush failed ({e}); every acknowledged change was already on disk"
            );
            println!("elicense stopped; the final ledger flush failed, but every acknowledged change was already on disk");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How often `serve` probes a failed ledger's disk to reopen it.
const RECOVER_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
