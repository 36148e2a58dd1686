//! `dynamo-harness conform`: the catalogue against subjects and backends, as a matrix.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Args;
use dynamo_backends::BackendKind;
use indicatif::{ProgressBar, ProgressStyle};

use crate::conform::plan::{self, Event, Plan};
use crate::conform::result::{Status, Summary};
use crate::conform::runner::RunOptions;
use crate::report;
use crate::scenario::{self, Case};
use crate::subject::{KNOWN_SUBJECTS, SubjectSettings};

/// Run the conformance catalogue against session handlers and report a case × subject × backend matrix.
///
/// Every case of scenarios/conformance (plus any --scenarios folders) is played against every subject on every
/// backend. Each case gets a fresh table; every DynamoDB call goes through a recording proxy and is compared with
/// the SDK's semantics. Exit status: 0 when nothing failed, 1 when a case failed, 2 when the run itself broke.
#[derive(Debug, Args)]
pub struct ConformArgs {
    /// Subjects to test, comma-separated: rust, php, php-http, rust-http; a pair of web apps such as
    /// php-http+rust-http shares one table and runs the cross-app cases (log in on one, continue on the other).
    #[arg(long, value_delimiter = ',', default_value = "rust")]
    pub subjects: Vec<String>,

    /// Backends to run on, comma-separated: dynalite (embedded default), moto, container, endpoint.
    #[arg(long = "backend", value_delimiter = ',', default_value = "dynalite")]
    pub backends: Vec<BackendKind>,

    /// With --backend endpoint: the DynamoDB URL (else COMANAGE_REGISTRY_DYNAMODB_ENDPOINT, else AWS).
    #[arg(long)]
    pub endpoint: Option<String>,

    /// Only cases whose id matches: an id (C12), a glob (C1*, TRACE-*), or several, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub filter: Vec<String>,

    /// Only these groups (the spec's letters, or named groups such as traces), comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub group: Vec<String>,

    /// Extra scenario folders, loaded beside the built-in catalogue (same format, no code changes).
    #[arg(long = "scenarios", value_name = "DIR")]
    pub scenarios: Vec<PathBuf>,

    /// Leave out the built-in catalogue (run only --scenarios folders).
    #[arg(long)]
    pub no_builtin: bool,

    /// Report folder: results.json, junit.xml, summary.md and the wire trace of every case.
    #[arg(long, value_name = "DIR", default_value = "reports/conform")]
    pub report: PathBuf,

    /// Also run cases marked slow (the SDK's full retry backoff, tens of seconds each).
    #[arg(long)]
    pub slow: bool,

    /// The composer vendor folder for the PHP subjects (else $DYNAMO_SESSION_VENDOR, else
    /// fixtures/cakephp-app/vendor).
    #[arg(long, value_name = "DIR", env = "DYNAMO_SESSION_VENDOR")]
    pub php_vendor: Option<PathBuf>,

    /// Run the web apps' handlers in locking mode.
    #[arg(long)]
    pub locking: bool,

    /// List every skipped case with its reason (default: one line per reason).
    #[arg(long, short)]
    pub verbose: bool,

    /// List the cases that would run, and stop.
    #[arg(long)]
    pub list: bool,
}

pub async fn run(args: ConformArgs) -> anyhow::Result<ExitCode> {
    for subject in &args.subjects {
        if !crate::subject::is_known(subject) {
            let known: Vec<String> = KNOWN_SUBJECTS
                .iter()
                .map(|(name, what)| format!("  {name:<10} {what}"))
                .collect();
            anyhow::bail!(
                "unknown subject `{subject}`; the subjects are:\n{}",
                known.join("\n")
            );
        }
    }
    let mut dirs = Vec::new();
    if !args.no_builtin {
        dirs.push(scenario::builtin_dir());
    }
    dirs.extend(args.scenarios.iter().cloned());
    if dirs.is_empty() {
        anyhow::bail!("--no-builtin needs at least one --scenarios folder");
    }
    let cases: Vec<Case> = scenario::load_dirs(&dirs)?
        .into_iter()
        .filter(|case| selected(case, &args.filter, &args.group))
        .collect();
    if cases.is_empty() {
        anyhow::bail!(
            "no case matches --filter {:?} --group {:?}",
            args.filter,
            args.group
        );
    }
    if args.list {
        for case in &cases {
            println!(
                "{:<28} {:<8} {:?} {}",
                case.id, case.group, case.level, case.title
            );
        }
        println!("{} cases", cases.len());
        return Ok(ExitCode::SUCCESS);
    }

    let total = cases.len() * args.subjects.len() * args.backends.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let tally = Arc::new(Mutex::new(Summary::default()));
    let on_event = {
        let bar = bar.clone();
        let tally = Arc::clone(&tally);
        move |event: Event<'_>| match event {
            Event::Backend(name) => bar.println(format!("backend {name}: starting")),
            Event::Subject(name) => bar.set_message(format!("subject {name}")),
            Event::CaseDone(result) => {
                let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
                match result.status {
                    Status::Pass => tally.pass += 1,
                    Status::Fail => tally.fail += 1,
                    Status::Skip => tally.skip += 1,
                }
                bar.set_message(format!(
                    "{} {}@{} ({})",
                    result.id,
                    result.subject,
                    result.backend,
                    tally.line()
                ));
                bar.inc(1);
            }
        }
    };
    let progress_bar = bar.clone();
    let progress: dynamo_backends::Progress =
        Arc::new(move |line: &str| progress_bar.println(format!("  {line}")));
    let plan = Plan {
        cases,
        subjects: args.subjects.clone(),
        backends: args.backends.clone(),
        endpoint: args.endpoint.clone(),
        options: RunOptions { slow: args.slow },
        settings: SubjectSettings {
            php_vendor: args.php_vendor.clone(),
            locking: args.locking,
            ..SubjectSettings::default()
        },
    };
    let mut results = plan::run(&plan, progress, &on_event).await?;
    bar.finish_and_clear();
    report::write_folder(&args.report, &mut results)?;
    print!("{}", report::terminal::render(&results, args.verbose));
    println!("report: {}", args.report.display());
    let summary = Summary::of(&results);
    Ok(if summary.fail > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn selected(case: &Case, filters: &[String], groups: &[String]) -> bool {
    let id_ok = filters.is_empty()
        || filters
            .iter()
            .any(|f| crate::conform::matcher::match_glob(f, &case.id));
    let group_ok = groups.is_empty() || groups.iter().any(|g| g.eq_ignore_ascii_case(&case.group));
    id_ok && group_ok
}
