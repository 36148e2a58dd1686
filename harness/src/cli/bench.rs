//! `dynamo-harness bench`: measurements that are ratios within one run, never pass/fail thresholds.
//!
//! - `backends`: each local backend's raw GetItem+UpdateItem ceiling at 1, 8 and 32 pairs in flight, and the
//!   rust catalogue's wall time on it; ratios against the first backend named.
//! - `jobs`: the rust catalogue's wall time on one backend at `--jobs 1` and at the default degree, and their
//!   ratio.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use dynamo_backends::{BackendKind, BackendOptions, BackendTarget, silent_progress};

use crate::conform::plan::{self, Plan};
use crate::conform::result::Summary;
use crate::conform::runner::RunOptions;
use crate::environment::TtlProcessChoice;
use crate::load::ceiling;
use crate::load::profile::CeilingSpec;
use crate::scenario;
use crate::subject::SubjectSettings;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Raw pairs/s at 1, 8 and 32 in flight and the rust catalogue's wall time, per backend, with ratios.
    Backends(BackendsArgs),
    /// The rust catalogue's wall time at --jobs 1 and at the default degree, and the speed-up.
    Jobs(JobsArgs),
}

#[derive(Debug, Args)]
pub struct BackendsArgs {
    /// Backends to compare, comma-separated; ratios are against the first.
    #[arg(
        long = "backend",
        value_delimiter = ',',
        default_value = "dynoxide,dynalite,moto"
    )]
    backends: Vec<BackendKind>,
    /// Seconds each ceiling point is timed (after one second of warm-up).
    #[arg(long, default_value_t = 3.0, value_parser = seconds)]
    seconds: f64,
}

#[derive(Debug, Args)]
pub struct JobsArgs {
    #[arg(long, default_value = "dynoxide")]
    backend: BackendKind,
    /// The degree to compare with --jobs 1 (default: conform's own default).
    #[arg(long, value_parser = clap::value_parser!(u16).range(2..=256))]
    jobs: Option<u16>,
}

fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if (0.5..=60.0).contains(&value) => Ok(value),
        _ => Err(format!("`{text}`: give seconds from 0.5 to 60")),
    }
}

/// In-flight pair counts the ceiling is measured at.
const IN_FLIGHT: [usize; 3] = [1, 8, 32];

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    match command {
        BenchCommand::Backends(args) => backends(args).await,
        BenchCommand::Jobs(args) => jobs(args).await,
    }
}

struct BackendFigures {
    kind: BackendKind,
    pairs_per_s: Vec<f64>,
    catalogue_s: f64,
    summary: Summary,
}

async fn backends(args: BackendsArgs) -> anyhow::Result<ExitCode> {
    let mut figures = Vec::new();
    for kind in &args.backends {
        eprintln!(
            "bench: {kind}: ceiling at {IN_FLIGHT:?} in flight, {} s each",
            args.seconds
        );
        let backend = dynamo_backends::start(&BackendOptions::for_kind(
            *kind,
            &BackendTarget::default(),
            silent_progress(),
        ))
        .await
        .with_context(|| format!("starting {kind}"))?;
        let client = dynamo_backends::client(backend.as_ref());
        let table = "bench_ceiling";
        crate::environment::table::provision(
            &client,
            backend.capabilities(),
            table,
            "id",
            "expires",
        )
        .await?;
        let mut pairs_per_s = Vec::new();
        for in_flight in IN_FLIGHT {
            let spec = CeilingSpec {
                warmup_s: 1.0,
                duration_s: args.seconds,
                concurrency: in_flight,
                max_pairs: 5_000_000,
            };
            let measured = ceiling::measure(&client, table, &spec).await?;
            eprintln!(
                "bench: {kind}: {in_flight:>2} in flight: {:.0} pairs/s",
                measured.pairs_per_s
            );
            pairs_per_s.push(measured.pairs_per_s);
        }
        backend.shutdown().await?;
        eprintln!("bench: {kind}: the rust catalogue");
        let (catalogue_s, summary) =
            catalogue(*kind, usize::from(super::conform::DEFAULT_JOBS)).await?;
        eprintln!("bench: {kind}: {catalogue_s:.1} s ({})", summary.line());
        figures.push(BackendFigures {
            kind: *kind,
            pairs_per_s,
            catalogue_s,
            summary,
        });
    }
    print_backends(&figures);
    Ok(ExitCode::SUCCESS)
}

fn print_backends(figures: &[BackendFigures]) {
    let Some(first) = figures.first() else {
        return;
    };
    println!("raw GetItem+UpdateItem pairs/s, and the rust catalogue's wall time (--jobs default)");
    let header: Vec<String> = IN_FLIGHT
        .iter()
        .map(|n| format!("{n:>2} in flight"))
        .collect();
    println!(
        "| backend | {} | catalogue s | catalogue result |",
        header.join(" | ")
    );
    println!("|---|{}---:|---|", "---:|".repeat(IN_FLIGHT.len()));
    for figure in figures {
        let cells: Vec<String> = figure
            .pairs_per_s
            .iter()
            .map(|p| format!("{p:.0}"))
            .collect();
        println!(
            "| {} | {} | {:.1} | {} |",
            figure.kind,
            cells.join(" | "),
            figure.catalogue_s,
            figure.summary.line()
        );
    }
    for other in &figures[1..] {
        let ratios: Vec<String> = first
            .pairs_per_s
            .iter()
            .zip(&other.pairs_per_s)
            .zip(IN_FLIGHT)
            .map(|((a, b), n)| format!("{:.2}× at {n}", a / b.max(f64::MIN_POSITIVE)))
            .collect();
        println!(
            "{} ÷ {}: pairs/s {}; catalogue {:.2}× faster",
            first.kind,
            other.kind,
            ratios.join(", "),
            other.catalogue_s / first.catalogue_s.max(f64::MIN_POSITIVE)
        );
    }
}

async fn jobs(args: JobsArgs) -> anyhow::Result<ExitCode> {
    let degree = usize::from(args.jobs.unwrap_or(super::conform::DEFAULT_JOBS));
    eprintln!("bench: the rust catalogue on {} at --jobs 1", args.backend);
    let (serial_s, serial) = catalogue(args.backend, 1).await?;
    eprintln!("bench: --jobs 1: {serial_s:.1} s ({})", serial.line());
    eprintln!(
        "bench: the rust catalogue on {} at --jobs {degree}",
        args.backend
    );
    let (parallel_s, parallel) = catalogue(args.backend, degree).await?;
    eprintln!(
        "bench: --jobs {degree}: {parallel_s:.1} s ({})",
        parallel.line()
    );
    println!("rust catalogue on {}", args.backend);
    println!("| --jobs | wall s | result |");
    println!("|---:|---:|---|");
    println!("| 1 | {serial_s:.1} | {} |", serial.line());
    println!("| {degree} | {parallel_s:.1} | {} |", parallel.line());
    println!(
        "speed-up --jobs {degree} over --jobs 1: {:.1}×",
        serial_s / parallel_s.max(f64::MIN_POSITIVE)
    );
    if (serial.pass, serial.fail) != (parallel.pass, parallel.fail) {
        eprintln!(
            "bench: the two runs disagree: {} vs {}",
            serial.line(),
            parallel.line()
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// The built-in catalogue against the rust subject on a fresh backend of `kind`: wall seconds (backend start
/// included) and the tally.
async fn catalogue(kind: BackendKind, jobs: usize) -> anyhow::Result<(f64, Summary)> {
    let cases = scenario::load_dirs(&[scenario::builtin_dir()])?;
    let plan = Plan {
        cases,
        subjects: vec!["rust".to_owned()],
        backends: vec![kind],
        target: BackendTarget::default(),
        options: RunOptions::default(),
        settings: SubjectSettings::default(),
        ttl_process: TtlProcessChoice::Auto,
    };
    let started = Instant::now();
    let results = plan::run(&plan, jobs, silent_progress(), &|_| {}).await?;
    Ok((started.elapsed().as_secs_f64(), Summary::of(&results)))
}
