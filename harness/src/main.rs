//! `dynamo-harness`: conformance, fault and load harness for DynamoDB-backed PHP session handlers.

use clap::{CommandFactory as _, FromArgMatches as _};
use dynamo_harness::cli::{Cli, Command, doctor, run};

fn main() -> std::process::ExitCode {
    let cli = parse();
    // Before any thread starts (the environment is shared by all of them, and read by the PHP children).
    prepare_environment(&cli);
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", render_error(&error));
            std::process::ExitCode::from(2)
        }
    }
}

/// The command line, with `--version` naming the catalogue the binary carries (its case count and the
/// bundle's hash); that takes reading the bundled catalogue, so it is done only when asked for.
fn parse() -> Cli {
    let asks_version = std::env::args_os()
        .skip(1)
        .any(|arg| arg == "--version" || arg == "-V");
    let mut command = Cli::command();
    if asks_version {
        let version: &'static str = Box::leak(dynamo_harness::assets::version().into_boxed_str());
        command = command.version(version);
    }
    let matches = command.get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

fn prepare_environment(cli: &Cli) {
    let remote = match &cli.command {
        Command::Conform(args) => Some(&args.remote),
        Command::Load(args) => Some(&args.common.remote),
        Command::Compare(args) => Some(&args.common.remote),
        Command::Doctor(args) => Some(&args.remote),
        _ => None,
    };
    let runs_subjects = matches!(
        cli.command,
        Command::Conform(_) | Command::Load(_) | Command::Compare(_) | Command::Bench(_)
    );
    // SAFETY: no other thread exists yet: the runtime, dynoxide's thread and the children start later.
    unsafe {
        if let Some(remote) = remote {
            doctor::export_remote_env(remote);
        }
        if runs_subjects {
            dynamo_harness::assets::export_plugin_path();
        }
    }
}

/// `{error:#}` without repeats: a cause whose text the message before it already ends with (an error that
/// prints its source, then that source again) is left out.
fn render_error(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|last| last.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::render_error;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read /x: {source}")]
    struct Repeats {
        source: std::io::Error,
    }

    #[test]
    fn a_cause_is_printed_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let text = io.to_string();
        let error = anyhow::Error::new(Repeats { source: io }).context("loading the catalogue");
        assert_eq!(
            render_error(&error),
            format!("loading the catalogue: cannot read /x: {text}")
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(render_error(&plain), "outer: inner");
    }
}
