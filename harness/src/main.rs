//! `dynamo-harness`: conformance, fault and load harness for DynamoDB-backed PHP session handlers.

use clap::Parser;
use dynamo_harness::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
