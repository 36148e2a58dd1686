//! `dynamo-harness conform`: the catalogue against subjects and backends, as a matrix.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use dynamo_backends::BackendKind;
use indicatif::{ProgressBar, ProgressStyle};

use crate::conform::plan::{self, Event, Plan};
use crate::conform::result::{Status, Summary};
use crate::conform::runner::RunOptions;
use crate::environment::TtlProcessChoice;
use crate::report;
use crate::scenario::{self, Case};
use crate::subject::{KNOWN_SUBJECTS, SubjectSettings};

/// `--jobs` when not given (see its help).
pub const DEFAULT_JOBS: u16 = 16;

/// Run the conformance catalogue against session handlers and report a case × subject × backend matrix.
///
/// Every case of scenarios/conformance (plus any --scenarios folders) is played against every subject on every
/// backend. Each case gets a fresh table (with --table, a key prefix of its own on one existing table); every
/// DynamoDB call goes through a recording proxy and is compared with the SDK's semantics. Exit status: 0 when nothing failed, 1 when a case failed, 2 when the run itself broke.
#[derive(Debug, Args)]
pub struct ConformArgs {
    /// Subjects to test, comma-separated: rust, php, php-http, rust-http; a pair of web apps such as
    /// php-http+rust-http shares one table and runs the cross-app cases (log in on one, continue on the other);
    /// cmd:NAME=COMMAND, any program speaking the handler-operations protocol (docs/handler-protocol.md), e.g.
    /// 'cmd:rust-worker=dynamo-harness worker'; http:NAME=URL, a web app someone else runs speaking the HTTP
    /// contract (docs/seams.md), with --table (its table) and --backend endpoint: cases that need another app
    /// configuration than --locking and --app-cookie say, faults or two apps are skipped, and its DynamoDB
    /// calls, made out of sight, are not checked; an app that does not answer GET /health stops the run (exit
    /// 2).
    #[arg(long, value_delimiter = ',', default_value = "rust")]
    pub subjects: Vec<String>,

    /// Backends to run on, comma-separated: dynoxide (embedded default, in process), dynalite, moto,
    /// container, endpoint.
    #[arg(long = "backend", value_delimiter = ',', default_value = "dynoxide")]
    pub backends: Vec<BackendKind>,

    #[command(flatten)]
    pub target: super::TargetArgs,

    #[command(flatten)]
    pub remote: super::doctor::RemoteArgs,

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

    /// How php-http is served: fpm (php-fpm behind nginx, the default where both are installed) or builtin
    /// (`php -S`); else $DYNAMO_HARNESS_PHP_SERVER.
    #[arg(long, value_enum)]
    pub php_server: Option<crate::subject::php_http::PhpServer>,

    /// php-fpm's pool size for php-http under fpm (default 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub php_fpm_children: Option<u32>,

    /// Run the web apps' handlers in locking mode.
    #[arg(long)]
    pub locking: bool,

    /// List every skipped case with its reason (default: one line per reason).
    #[arg(long, short)]
    pub verbose: bool,

    /// Cases in flight at once (each has its own table; a web app gets one instance per job). 1 plays them one
    /// after another. The default was measured on a 2-core machine: more waits on the SDK's backoff and lock
    /// retries than it computes, so the catalogue's wall time falls until about this many.
    #[arg(long, short = 'j', value_name = "N", default_value_t = DEFAULT_JOBS,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,

    /// Which TTL process `ttl_sweep` steps run: auto (the backend's own where it applies DynamoDB's rules,
    /// measured at start; else the harness's), backend (its own even where it breaks a rule), harness.
    #[arg(long, value_enum, default_value = "auto")]
    pub ttl_process: TtlProcessChoice,

    /// Check scenario folders without running anything (no backend starts): every problem with its
    /// file:line:column and the allowed values, exit 1 if any. With no DIR: the catalogue and --scenarios.
    #[arg(long, value_name = "DIR", num_args = 0..)]
    pub check: Option<Vec<PathBuf>>,

    /// List the cases that would run, and stop.
    #[arg(long)]
    pub list: bool,

    /// Print the JSON Schema of the scenario format, generated from the harness's types, and stop: the
    /// shipped copy is scenarios/scenario.schema.json (`conform --schema > scenarios/scenario.schema.json`);
    /// editors use it to check and complete scenario files (scenarios/conformance/README.md).
    #[arg(long)]
    pub schema: bool,

    /// Play every case on this one existing table instead of a table per case: for real AWS, where an
    /// operator provisions the table (keyed `id`, as fixtures/cloudformation) and a run may not create any.
    /// Needs --backend endpoint. Every key the run writes begins with a random prefix of its own (each case's
    /// longer still), so other runs' and other users' items stay out of sight and untouched; cases that need a
    /// table of their own (another key, none at all) or scan the whole table (garbage collection) are skipped
    /// with the reason, and TTL sweeps are the harness's, over the case's own items. At the end, and after
    /// Ctrl-C, the run deletes its items and prints its DynamoDB calls and an estimate of the request units
    /// they consumed (4 KB per strongly consistent read unit, 1 KB per write unit, from the sizes of the
    /// requests and answers it saw: an estimate, not AWS's bill).
    #[arg(long = "table", visible_alias = "shared-table", value_name = "NAME")]
    pub shared_table: Option<String>,

    /// With http:NAME=URL subjects: the session name (PHP's, = the cookie) that app runs with; its keys are
    /// <it>_<sid>, and the run clears those before each case and at the end, so give the app a table or a
    /// session name of its own. It must end in CAKEPHP, the catalogue's key prefix (e.g. t1CAKEPHP).
    #[arg(long, value_name = "NAME", default_value = "CAKEPHP")]
    pub app_cookie: String,
}

pub async fn run(args: ConformArgs) -> anyhow::Result<ExitCode> {
    if args.schema {
        print!("{}", crate::schema::scenario_schema_json());
        return Ok(ExitCode::SUCCESS);
    }
    for subject in &args.subjects {
        if crate::subject::external::is_external(subject) {
            // Say what is wrong with it rather than list the subjects.
            crate::subject::external::ExternalSpec::parse(subject).map_err(anyhow::Error::msg)?;
        }
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
    args.remote
        .check(args.target.endpoint.as_deref(), &args.backends)?;
    let externals = check_shared_table(&args)?;
    let mut dirs = Vec::new();
    if !args.no_builtin {
        dirs.push(scenario::builtin_dir());
    }
    dirs.extend(args.scenarios.iter().cloned());
    if let Some(check) = &args.check {
        return Ok(check_scenarios(if check.is_empty() {
            &dirs
        } else {
            check
        }));
    }
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
    let progress_view = Arc::new(ProgressView::new(total as u64));
    // What finished, for the report of a run stopped with Ctrl-C.
    let finished = Arc::new(super::interrupt::Finished::default());
    let on_event = {
        let view = Arc::clone(&progress_view);
        let finished = Arc::clone(&finished);
        move |event: Event<'_>| {
            finished.note(&event);
            view.on_event(event)
        }
    };
    let progress: dynamo_backends::Progress = {
        let view = Arc::clone(&progress_view);
        Arc::new(move |line: &str| view.println(&format!("  {line}")))
    };
    for spec in &externals {
        // An app that does not answer is an error of the run (exit 2), not a column of skips.
        crate::subject::external::ExternalApp::probe(spec, args.locking).await?;
    }
    let shared = args
        .shared_table
        .as_deref()
        .map(|name| Arc::new(plan::SharedTable::new(name, &args.app_cookie)));
    let plan = Plan {
        cases,
        subjects: args.subjects.clone(),
        backends: args.backends.clone(),
        target: args.target.target(),
        options: RunOptions {
            slow: args.slow,
            shared: shared.clone(),
        },
        settings: SubjectSettings {
            php_vendor: args.php_vendor.clone(),
            php_server: args.php_server,
            php_fpm_children: args.php_fpm_children,
            locking: args.locking,
            ..SubjectSettings::default()
        },
        ttl_process: args.ttl_process,
    };
    let run = plan::run(&plan, usize::from(args.jobs), progress, &on_event);
    let outcome = super::interrupt::until_interrupted(run).await?;
    progress_view.finish();
    // The run's items go whatever happened, a failed or interrupted run included.
    let removed = match &shared {
        Some(shared) => Some(
            shared
                .remove_run_items(!externals.is_empty())
                .await
                .with_context(|| {
                    format!(
                        "removing the run's items (keys {}*) from table {}",
                        shared.run_prefix, shared.name
                    )
                })?,
        ),
        None => None,
    };
    let (results, interrupted) = match outcome {
        super::interrupt::Outcome::Done(results) => (results?, false),
        super::interrupt::Outcome::Interrupted => (
            finished.in_order(&plan.backends, &plan.subjects, &plan.cases),
            true,
        ),
    };
    report::write_folder(&args.report, &results, &progress_view.backends())?;
    print!("{}", report::terminal::render(&results, args.verbose));
    println!("report: {}", args.report.display());
    if let (Some(shared), Some(removed)) = (&shared, removed) {
        let app = externals.first().map(|spec| spec.label());
        print!(
            "{}",
            shared_table_lines(shared, &results, removed, app.as_deref())
        );
    }
    if interrupted {
        eprintln!(
            "interrupted (Ctrl-C): the report holds the {} of {total} results that finished",
            results.len()
        );
        return Ok(ExitCode::from(super::interrupt::EXIT_INTERRUPTED));
    }
    let summary = Summary::of(&results);
    Ok(if summary.fail > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Refuses what cannot run on a shared table, and returns the `http:` subjects (which need one).
fn check_shared_table(
    args: &ConformArgs,
) -> anyhow::Result<Vec<crate::subject::external::ExternalSpec>> {
    use crate::subject::external::{ExternalSpec, is_external};
    let externals = args
        .subjects
        .iter()
        .filter(|s| is_external(s))
        .map(|s| ExternalSpec::parse(s).map_err(anyhow::Error::msg))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if let Some(first) = externals.first()
        && args.shared_table.is_none()
    {
        anyhow::bail!(
            "subject {} needs --table NAME: the app's own table, which the run seeds and checks (with \
             --backend endpoint --endpoint URL)",
            first.label()
        );
    }
    if externals.len() > 1 {
        anyhow::bail!(
            "one http:NAME=URL subject at a time: each clears the items of its session name (--app-cookie) \
             before every case"
        );
    }
    if args.shared_table.is_some() && args.backends != [BackendKind::Endpoint] {
        anyhow::bail!(
            "--table plays on an existing table: it needs --backend endpoint (the other backends start \
             empty), not --backend {}",
            args.backends
                .iter()
                .map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
    }
    let cookie = &args.app_cookie;
    let expected = crate::conform::http::COOKIE_NAME;
    if !cookie.ends_with(expected) || !cookie.chars().all(|c| c.is_ascii_alphanumeric()) {
        anyhow::bail!(
            "--app-cookie {cookie:?}: letters and digits ending in {expected} (the catalogue's keys are \
             {expected}_<sid>)"
        );
    }
    Ok(externals)
}

/// The closing lines of a shared-table run: what it removed, its calls, and the request units they took.
fn shared_table_lines(
    shared: &plan::SharedTable,
    results: &[crate::conform::result::CaseResult],
    removed: usize,
    external_app: Option<&str>,
) -> String {
    use crate::environment::table::{READ_UNIT, WRITE_UNIT, units};
    let (mut reads, mut writes, mut calls) = (0u64, 0u64, 0u64);
    let size = |v: &serde_json::Value| v.to_string().len() as u64;
    for record in results.iter().flat_map(|r| &r.records) {
        calls += 1;
        match record.op.as_str() {
            // Reads are charged for what they return; writes for the item they write.
            "GetItem" | "BatchGetItem" | "Query" | "Scan" => {
                reads += units(size(&record.response), READ_UNIT)
            }
            "PutItem" | "UpdateItem" | "DeleteItem" | "BatchWriteItem" => {
                writes += units(size(&record.request), WRITE_UNIT)
            }
            _ => {}
        }
    }
    let (own_calls, own_reads, own_writes) = shared.tally.totals();
    let app_keys = external_app
        .map(|app| format!(", and {}_* of {app}", shared.app_cookie))
        .unwrap_or_default();
    format!(
        "table {}: removed the run's {removed} item(s) (keys {}*{app_keys})\n\
         calls: {} ({calls} by the subjects, {own_calls} by the harness: seeds, checks, clean-up)\n\
         estimated request units: {} read, {} write (a read unit per 4 KB read strongly consistent, a write \
         unit per 1 KB written, from the sizes seen: an estimate)\n",
        shared.name,
        shared.run_prefix,
        calls + own_calls,
        reads + own_reads,
        writes + own_writes,
    )
}

/// `--check`: every problem of the folders' scenario files, one per line; exit 1 if any.
fn check_scenarios(dirs: &[PathBuf]) -> ExitCode {
    let (cases, problems) = scenario::check_dirs(dirs);
    for problem in &problems {
        println!("{problem}");
    }
    let folders: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    println!(
        "checked {}: {cases} cases load, {} problem(s)",
        folders.join(", "),
        problems.len()
    );
    match problems.is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    }
}

fn selected(case: &Case, filters: &[String], groups: &[String]) -> bool {
    let id_ok = filters.is_empty()
        || filters
            .iter()
            .any(|f| dynamo_wire::expect::match_glob(f, &case.id));
    let group_ok = groups.is_empty() || groups.iter().any(|g| g.eq_ignore_ascii_case(&case.group));
    id_ok && group_ok
}

/// Shows a run's progress: a bar with cases done, failed and the slowest case still running on a terminal;
/// elsewhere (CI logs) a plain line every few seconds.
struct ProgressView {
    bar: ProgressBar,
    plain: bool,
    state: Mutex<ProgressState>,
}

#[derive(Default)]
struct ProgressState {
    tally: Summary,
    /// Cases running now, by "id subject@backend", with when each started.
    running: Vec<(String, Instant)>,
    /// The backends that came up, in the order they did.
    backends: Vec<report::BackendFacts>,
    last_plain_line: Option<Instant>,
}

/// How often a plain progress line is printed when the output is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

impl ProgressView {
    fn new(total: u64) -> Self {
        let plain = !std::io::stderr().is_terminal();
        let bar = match plain {
            true => ProgressBar::hidden(),
            false => ProgressBar::new(total),
        };
        bar.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_length(total);
        bar.enable_steady_tick(Duration::from_millis(200));
        ProgressView {
            bar,
            plain,
            state: Mutex::new(ProgressState::default()),
        }
    }

    fn println(&self, line: &str) {
        match self.plain {
            true => eprintln!("{line}"),
            false => self.bar.println(line),
        }
    }

    fn on_event(&self, event: Event<'_>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::Backend(name) => self.println(&format!("backend {name}: starting")),
            Event::BackendUp {
                name,
                capabilities,
                ttl_process,
            } => {
                self.println(&format!(
                    "backend {name}: up; ttl_sweep steps run {ttl_process}"
                ));
                for missing in capabilities.missing() {
                    self.println(&format!(
                        "backend {name}: lacks {missing}; failures of cases that depend on it are put down to the backend"
                    ));
                }
                state.backends.push(report::BackendFacts {
                    name: name.to_owned(),
                    capabilities: *capabilities,
                    ttl_process,
                });
            }
            Event::CaseStarted {
                id,
                subject,
                backend,
            } => state
                .running
                .push((format!("{id} {subject}@{backend}"), Instant::now())),
            Event::CaseDone(result) => {
                let key = format!("{} {}@{}", result.id, result.subject, result.backend);
                if let Some(at) = state.running.iter().position(|(k, _)| *k == key) {
                    state.running.remove(at);
                }
                match result.status() {
                    Status::Pass => state.tally.pass += 1,
                    Status::Fail => state.tally.fail += 1,
                    Status::Skip => state.tally.skip += 1,
                }
                self.bar.inc(1);
            }
        }
        let slowest = state
            .running
            .iter()
            .min_by_key(|(_, started)| *started)
            .map(|(key, started)| {
                format!(
                    "; slowest running: {key} ({} s)",
                    started.elapsed().as_secs()
                )
            })
            .unwrap_or_default();
        let message = format!(
            "{} failed, {} running{slowest}",
            state.tally.fail,
            state.running.len()
        );
        self.bar.set_message(message.clone());
        let due = state
            .last_plain_line
            .is_none_or(|at| at.elapsed() >= PLAIN_EVERY);
        if self.plain && due {
            state.last_plain_line = Some(Instant::now());
            eprintln!(
                "conform: {}/{} done: {message}",
                self.bar.position(),
                self.bar.length().unwrap_or_default()
            );
        }
    }

    fn backends(&self) -> Vec<report::BackendFacts> {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .backends
            .clone()
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
