//! The command line: one module per subcommand, each with its clap arguments and a `run`.

pub mod backend;
pub mod conform;
pub mod load;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
}

/// Runs the parsed command on a fresh tokio runtime and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Backend(command) => backend::run(command).await,
            Command::Conform(args) => conform::run(args).await,
            Command::Load(args) => load::run_load(args).await,
            Command::Compare(args) => load::run_compare(args).await,
        }
    })
}
