//! `dynamo-harness backend ...`: start a DynamoDB-compatible backend with the session table, for people,
//! scripts and other tools (a PHP app, the plugin's tests) to use until Ctrl-C.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use dynamo_backends::{
    Backend, BackendKind, BackendOptions, TableSpec, provision_table, stderr_progress,
};
use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(Debug, Subcommand)]
pub enum BackendCommand {
    /// Start a backend, create the session table, print where it is, keep it up until Ctrl-C.
    ///
    /// Prints the endpoint, the table and the capabilities measured at start, then a line `ready`; scripts
    /// can wait for that line. Ctrl-C (or SIGTERM) stops the server and everything it started. Even if this
    /// process is killed outright, the server notices (it watches its stdin) and exits.
    ///
    /// The first start of dynalite or moto installs it (npm or pip, pinned in ci/versions.env) into
    /// ~/.cache/dynamo-harness (override with DYNAMO_HARNESS_CACHE_DIR); that takes a minute once.
    Up(UpArgs),
}

/// The backend kinds, with their help text.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// dynoxide, served inside this process, in memory: nothing to install, TTL API. The default.
    Dynoxide,
    /// dynalite (npm, needs node): fast, in memory, no TTL API.
    Dynalite,
    /// moto's server (PyPI, needs python3 and python3-venv): TTL API, slow, corrupts B values written
    /// through AttributeUpdates.
    Moto,
    /// A container through testcontainers (needs a running Docker engine): DynamoDB Local, or --image.
    Container,
    /// An already running endpoint (--endpoint URL or COMANAGE_REGISTRY_DYNAMODB_ENDPOINT), or real AWS
    /// when no URL is given (region and credentials from COMANAGE_REGISTRY_DYNAMODB_* or aws-config).
    Endpoint,
}

impl From<KindArg> for BackendKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Dynoxide => BackendKind::Dynoxide,
            KindArg::Dynalite => BackendKind::Dynalite,
            KindArg::Moto => BackendKind::Moto,
            KindArg::Container => BackendKind::Container,
            KindArg::Endpoint => BackendKind::Endpoint,
        }
    }
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Which backend to start.
    #[arg(long, value_enum, default_value = "dynoxide")]
    backend: KindArg,
    #[command(flatten)]
    target: super::TargetArgs,
    /// Port on 127.0.0.1 for dynoxide, dynalite, moto or the container (default: a free one).
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// With --backend dynoxide: the address to listen on instead of 127.0.0.1. Only for a container image,
    /// whose own network the server must answer on (`0.0.0.0`); the container backend publishes the port on
    /// the host's loopback only.
    #[arg(long, value_name = "IP")]
    listen_host: Option<std::net::IpAddr>,
    /// Create no table: serve only (a container image's server, whose tables each run creates itself).
    #[arg(long)]
    no_table: bool,
    /// Name of the session table to create (or reuse).
    #[arg(
        long,
        value_name = "NAME",
        env = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE",
        default_value = TableSpec::DEFAULT_NAME
    )]
    table: String,
}

pub async fn run(command: BackendCommand) -> anyhow::Result<ExitCode> {
    match command {
        BackendCommand::Up(args) => up(args).await,
    }
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    // Registered before anything starts, so that a signal arriving at any moment (even right after `ready`)
    // is handled by stopping the backend rather than by the default action, which would skip destructors.
    let mut stop_signals = StopSignals::install()?;
    let options = BackendOptions {
        port: args.port,
        listen_host: args.listen_host,
        ..BackendOptions::for_kind(
            args.backend.into(),
            &args.target.target(),
            stderr_progress(),
        )
    };
    let started = Instant::now();
    // Ctrl-C during a first-time install drops the start future, which kills npm/pip (kill_on_drop).
    let backend = tokio::select! {
        backend = dynamo_backends::start(&options) => {
            backend.with_context(|| format!("could not start the {} backend", options.kind))?
        }
        _ = stop_signals.received() => {
            eprintln!("interrupted while starting the {} backend", options.kind);
            return Ok(ExitCode::from(130));
        }
    };
    let table = match args.no_table {
        true => "none (--no-table)".to_owned(),
        false => {
            let client = aws_sdk_dynamodb::Client::new(&backend.sdk_config());
            provision_table(
                &client,
                backend.capabilities(),
                &TableSpec::named(&args.table),
            )
            .await
            .context("could not provision the session table")?
            .to_string()
        }
    };

    print_summary(backend.as_ref(), &table);
    eprintln!(
        "[backend] up after {:.1} s; Ctrl-C stops it",
        started.elapsed().as_secs_f64()
    );
    println!("ready");

    stop_signals.received().await;
    eprintln!("[backend] stopping {}", backend.kind());
    backend.shutdown().await.context("stopping the backend")?;
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

fn print_summary(backend: &dyn Backend, table: &str) {
    let local = backend.kind() != BackendKind::Endpoint;
    println!("backend:  {}", backend.kind());
    println!("endpoint: {}", backend.endpoint_url());
    println!("region:   {}", backend.region());
    println!("table:    {table}");
    println!("capabilities:");
    for line in backend.capabilities().describe() {
        println!("  {line}");
    }
    println!("for the DynamoSession plugin:");
    if local || backend.endpoint_url().starts_with("http://") {
        println!(
            "  COMANAGE_REGISTRY_DYNAMODB_ENDPOINT={}",
            backend.endpoint_url()
        );
    }
    println!("  COMANAGE_REGISTRY_DYNAMODB_REGION={}", backend.region());
    if local {
        println!("  (any access key and secret work, e.g. test / test)");
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, listened to from the moment `install` returns.
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<Self> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    /// Completes at the next SIGINT or SIGTERM.
    async fn received(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
