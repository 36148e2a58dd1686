//! The command line: one module per subcommand, each with its clap arguments and a `run`.

pub mod backend;
pub mod bench;
pub mod conform;
pub mod doctor;
pub mod interrupt;
pub mod load;
pub mod worker;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use dynamo_backends::BackendTarget;

/// Conformance, fault and load harness for DynamoDB-backed PHP session handlers.
///
/// Starts a DynamoDB-compatible backend, runs session handlers (the AWS SDK for PHP handler through the
/// DynamoSession CakePHP plugin, the Rust reference handler, ...) against it, and checks them against the
/// SDK's semantics.
#[derive(Debug, Parser)]
#[command(name = "dynamo-harness", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start, provision and stop DynamoDB-compatible backends.
    #[command(subcommand)]
    Backend(backend::BackendCommand),
    /// Run the conformance catalogue against handlers and report a case x subject x backend matrix.
    Conform(conform::ConformArgs),
    /// Drive a goose load profile through one HTTP subject and report session throughput.
    Load(load::LoadArgs),
    /// Run one load profile against several HTTP subjects and report them side by side.
    Compare(load::CompareArgs),
    /// Benchmarks that print ratios measured in one run (backends against each other, --jobs speed-up).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Check a session table and the credentials the plugin would use on it: key schema, TTL, billing, each
    /// action of the seed IAM policy, latency, and the session settings.
    Doctor(doctor::DoctorArgs),
    /// Run the reference handler as a handler-operations worker, for cmd: subjects.
    ///
    /// Reads JSON requests from stdin, one per line, and answers each with one JSON line on stdout
    /// (docs/handler-protocol.md, version 1, hello included); exits 0 at the end of stdin. The handler reads the
    /// system clock as bent by new_handler's and set_clock's "clock". In conform:
    /// --subjects 'rust,cmd:rust-worker=dynamo-harness worker'.
    Worker(worker::WorkerArgs),
}

/// Runs the parsed command on a fresh tokio runtime and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Backend(command) = &cli.command {
        // `backend up --backend endpoint` reads --yes-real-aws and --ca-file from the environment, as
        // conform's backends do; they go there before the runtime's threads exist.
        // SAFETY: no other thread exists yet: the runtime and dynoxide's thread start below.
        unsafe { doctor::export_remote_env(command.remote()) };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Backend(command) => backend::run(command).await,
            Command::Conform(args) => conform::run(args).await,
            Command::Load(args) => load::run_load(args).await,
            Command::Compare(args) => load::run_compare(args).await,
            Command::Bench(command) => bench::run(command).await,
            Command::Doctor(args) => doctor::run(args).await,
            Command::Worker(args) => worker::run(args).await,
        }
    })
}

/// Where the backends that need one find their server; each option applies only to its own kind.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// With --backend endpoint: the DynamoDB URL (else COMANAGE_REGISTRY_DYNAMODB_ENDPOINT, else real AWS).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// With --backend container: the image, NAME:TAG, serving the DynamoDB API on the container's port 8000
    /// (default: Amazon's DynamoDB Local at the tag pinned in ci/versions.env).
    #[arg(long, value_name = "NAME:TAG", env = "DYNAMO_HARNESS_CONTAINER_IMAGE")]
    pub image: Option<String>,
}

impl TargetArgs {
    pub fn target(&self) -> BackendTarget {
        BackendTarget {
            endpoint: self.endpoint.clone(),
            image: self.image.clone(),
        }
    }
}
