//! `dynamo-harness load` and `dynamo-harness compare` (issue 7): goose load profiles through the web apps.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use dynamo_backends::BackendKind;
use indicatif::{ProgressBar, ProgressStyle};

use crate::load::{self, Event, LoadRequest, LockingMode, Profile, URL_SUBJECT, profile, report};
use crate::subject::{KNOWN_SUBJECTS, SubjectSettings, is_http};

const AFTER_HELP: &str = "\
Profiles (scenarios/load/*.yaml, format in scenarios/load/README.md):
  browse        each user logs in once, then mostly reads its session
  login-churn   a new session every pass: log in, renew, read, log out
  hot-session   every user increments one shared session's counter: lost updates
                without locking, lock waits with it (runs both by default)
  gc-sweep      browse while POST /gc (garbageCollect) runs every two seconds

Subjects: rust-http (the Rust test app), php-http (the CakePHP app; needs a composer
vendor tree), url (a running deployment, with --url; load only, no DynamoDB metrics).

Every throughput is also given as a share of the backend's raw ceiling, measured in
the same run (GetItem+UpdateItem pairs/s straight from aws-sdk-dynamodb).
Gates (rules apply to every point; --baseline compares point by point):
  --threshold 'p99<50ms' --threshold 'errors<0.1%' --threshold 'rps>500'
  --threshold 'lost_updates=0' --threshold 'calls_per_request<=2.5' ...
  --baseline reports/load/browse --max-regression 10%
Metrics: p50 p90 p95 p99 p999 p99_co (ms|s|us), errors of_ceiling (%), rps,
lost_updates, calls_per_request, ccf_per_request, harness_us_per_request,
lock_amplification.

php-http runs under php-fpm behind nginx where both are installed (Debian: php-fpm,
nginx), else under php -S with a note; --php-server fpm|builtin chooses.

Exit status: 0 when every point ran or was skipped with a reason and every gate held,
1 when a point failed, lost updates despite locking, breached a --threshold or
regressed past --max-regression, 2 when the run itself broke.";

/// The longest `--duration`: a week.
const MAX_DURATION_S: u64 = 7 * 24 * 3600;
/// The longest `--request-timeout`: an hour.
const MAX_REQUEST_TIMEOUT_S: u64 = 3600;
/// A ramp-up this many times the full-load duration (and over [`RAMP_UP_REFUSED_ABOVE`]) is refused.
const RAMP_UP_REFUSED_FACTOR: u32 = 10;
const RAMP_UP_REFUSED_ABOVE: Duration = Duration::from_secs(60);

/// Settings `load` and `compare` share.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Load profile: a name from scenarios/load (browse, login-churn, hot-session, gc-sweep) or a YAML file.
    #[arg(long, short, value_name = "NAME|FILE")]
    pub profile: String,

    /// Extra folders to look for profiles in (same format; a name found there wins over the built-in).
    #[arg(long = "profiles", value_name = "DIR")]
    pub profile_dirs: Vec<PathBuf>,

    /// Seconds of full load per point, after every user started (default: the profile's duration_s); at most
    /// a week.
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u64).range(1..=MAX_DURATION_S))]
    pub duration: Option<u64>,

    /// Run the web apps with the SDK's locking connection: off, on, or both (default: the profile's).
    #[arg(long, value_enum)]
    pub locking: Option<LockingMode>,

    /// Backend the harness starts for rust-http and php-http: dynoxide (default, in process), dynalite, moto,
    /// container, endpoint.
    #[arg(long, default_value = "dynoxide")]
    pub backend: BackendKind,

    #[command(flatten)]
    pub target: super::TargetArgs,

    #[command(flatten)]
    pub remote: super::doctor::RemoteArgs,

    /// For the url subject: the base URL of a running deployment that speaks the harness's HTTP contract.
    /// Load goes to this URL only.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// Report folder: summary.md, summary.json, goose's HTML report per point, plot.svg for compare
    /// [default: reports/load/<profile> or reports/compare/<profile>].
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,

    /// The composer vendor folder for php-http (else $DYNAMO_SESSION_VENDOR, else fixtures/cakephp-app/vendor).
    #[arg(long, value_name = "DIR", env = "DYNAMO_SESSION_VENDOR")]
    pub php_vendor: Option<PathBuf>,

    /// Worker processes of php -S for php-http.
    #[arg(long, value_name = "N")]
    pub php_workers: Option<u32>,

    /// How php-http is served: fpm (php-fpm behind nginx, as in production) or builtin (php -S) [default: fpm
    /// where php-fpm and nginx are both installed, else builtin; or $DYNAMO_HARNESS_PHP_SERVER].
    #[arg(long, value_enum, value_name = "SERVER")]
    pub php_server: Option<crate::subject::php_http::PhpServer>,

    /// php-fpm's pool size for php-http under fpm (pm = static, pm.max_children) [default: 4].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub php_fpm_children: Option<u32>,

    /// A rule every point must meet, METRIC OP VALUE: 'p99<50ms', 'errors<0.1%', 'rps>500',
    /// 'lost_updates=0', 'calls_per_request<=2.5', 'ccf_per_request<0.5' (repeatable; metrics in --help). A
    /// breached rule makes the exit status 1 and is named in summary.md and on the terminal.
    #[arg(long = "threshold", value_name = "RULE")]
    pub thresholds: Vec<load::threshold::Rule>,

    /// An earlier run's report folder (or its summary.json): deltas per metric and point are printed and
    /// written to summary.md.
    #[arg(long, value_name = "DIR")]
    pub baseline: Option<PathBuf>,

    /// With --baseline: fail (exit status 1) when a point's req/s, latency, calls or ConditionalCheckFailed
    /// answers per request, share of ceiling or harness CPU per request is worse by more than this, e.g. 10%.
    #[arg(long, value_name = "PERCENT", requires = "baseline", value_parser = load::threshold::parse_percent)]
    pub max_regression: Option<f64>,

    /// Worker threads of the load generator's own runtime (goose's loop runs on one more).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub generator_threads: usize,

    /// Per-request timeout, seconds (a locking read may wait up to max_lock_wait_time, 10 s by default).
    #[arg(long, value_name = "S", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=MAX_REQUEST_TIMEOUT_S))]
    pub request_timeout: u64,
}

/// Drive a goose load profile through one HTTP subject and report session throughput.
///
/// Starts the backend, measures its raw ceiling, starts the subject's web app behind the harness's wire
/// proxy, runs the profile's goose scenarios against it, and writes summary.md, summary.json and goose's HTML
/// report. Requests/s, latency percentiles (with coordinated-omission mitigation), errors, DynamoDB calls per
/// request by operation, ConditionalCheckFailed answers, lost updates and the generator's CPU are reported.
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct LoadArgs {
    /// The subject: rust-http, php-http, or url (with --url).
    #[arg(long, short)]
    pub subject: String,

    /// Users (default: the profile's).
    #[arg(long, short, value_name = "N")]
    pub users: Option<usize>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// Run the same load profile against several HTTP subjects and report them side by side.
///
/// Every subject runs the profile at every user count on the same backend, whose raw ceiling is measured once
/// at the start. A subject that cannot run here (php-http without a PHP vendor tree, say) is reported as
/// skipped with the reason. Writes summary.md and summary.json with the side-by-side table, goose's HTML
/// report per point, and plot.svg (throughput and p99 latency against users).
#[derive(Debug, Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct CompareArgs {
    /// Subjects, comma-separated: rust-http, php-http, url.
    #[arg(long, value_delimiter = ',', default_value = "rust-http,php-http")]
    pub subjects: Vec<String>,

    /// User counts to sweep, comma-separated (default: the profile's compare_users).
    #[arg(long, value_delimiter = ',', value_name = "N,N,...")]
    pub users: Vec<usize>,

    #[command(flatten)]
    pub common: CommonArgs,
}

pub async fn run_load(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let profile = find_profile(&args.common)?;
    let users = vec![args.users.unwrap_or(profile.users)];
    let report_dir = args
        .common
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports/load").join(&profile.name));
    run(vec![args.subject], users, profile, report_dir, &args.common).await
}

pub async fn run_compare(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let profile = find_profile(&args.common)?;
    let users = match args.users.is_empty() {
        true => profile.compare_users.clone(),
        false => args.users.clone(),
    };
    let report_dir = args
        .common
        .report
        .clone()
        .unwrap_or_else(|| PathBuf::from("reports/compare").join(&profile.name));
    run(args.subjects, users, profile, report_dir, &args.common).await
}

fn find_profile(common: &CommonArgs) -> anyhow::Result<Profile> {
    let mut dirs = vec![load::builtin_dir()];
    dirs.extend(common.profile_dirs.iter().cloned());
    Ok(profile::find(&common.profile, &dirs)?)
}

async fn run(
    subjects: Vec<String>,
    users: Vec<usize>,
    profile: Profile,
    report_dir: PathBuf,
    common: &CommonArgs,
) -> anyhow::Result<ExitCode> {
    quiet_expected_warnings();
    for subject in &subjects {
        check_subject(subject, common)?;
    }
    if users.is_empty() || users.contains(&0) {
        anyhow::bail!("user counts must be at least 1");
    }
    common
        .remote
        .check(common.target.endpoint.as_deref(), &[common.backend])?;
    let duration = Duration::from_secs(common.duration.unwrap_or(profile.duration_s).max(1));
    check_ramp_up(&profile, &users, duration)?;
    let locking = common.locking.unwrap_or(profile.locking).variants();
    // Before minutes of load: a baseline that cannot be read is an error now.
    let baseline = match &common.baseline {
        Some(path) => Some(load::baseline::Baseline::read(path)?),
        None => None,
    };
    let request = LoadRequest {
        subjects,
        users,
        duration,
        locking,
        backend: common.backend,
        target: common.target.target(),
        url: common.url.clone(),
        report_dir: report_dir.clone(),
        settings: SubjectSettings {
            php_vendor: common.php_vendor.clone(),
            php_server_workers: common.php_workers,
            php_server: common.php_server,
            php_fpm_children: common.php_fpm_children,
            ..SubjectSettings::default()
        },
        generator_threads: common.generator_threads,
        request_timeout: Duration::from_secs(common.request_timeout.max(1)),
        profile,
    };

    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
    bar.enable_steady_tick(Duration::from_millis(200));
    // Without a terminal (CI logs) indicatif shows nothing; print plain lines instead, a sample every 5 s.
    let say = {
        let bar = bar.clone();
        move |line: &str| match bar.is_hidden() {
            true => eprintln!("{line}"),
            false => bar.println(line),
        }
    };
    let on_event = {
        let bar = bar.clone();
        let say = say.clone();
        move |event: Event<'_>| match event {
            Event::Phase(phase) => say(phase),
            Event::Tick(tick) => {
                let line = format!(
                    "{} [{:>3}s/{}s] {:>8.1} req/s  {} requests, {} errors{}",
                    tick.label,
                    tick.elapsed.as_secs(),
                    tick.planned.as_secs(),
                    tick.recent_rps,
                    tick.requests,
                    tick.failures,
                    tick.calls_per_request
                        .map_or_else(String::new, |c| format!(", {c:.2} DynamoDB calls/request"))
                );
                match bar.is_hidden() {
                    true if tick.elapsed.as_secs() % 5 == 0 => say(&format!("  {line}")),
                    true => {}
                    false => bar.set_message(line),
                }
            }
            Event::Done(record) => say(&format!(
                "  {} with {} users: {}",
                record.series(),
                record.users,
                outcome_line(record)
            )),
        }
    };
    let progress: dynamo_backends::Progress = Arc::new(move |line: &str| say(&format!("  {line}")));
    let run = load::run(&request, progress, &on_event);
    let stop = super::interrupt::stop_goose;
    let report = match super::interrupt::until_interrupted_gently(run, stop).await? {
        super::interrupt::Gentle::Done { output, .. } => output?,
        super::interrupt::Gentle::Abandoned => {
            bar.finish_and_clear();
            eprintln!("interrupted (Ctrl-C twice): stopped without a report");
            return Ok(ExitCode::from(super::interrupt::EXIT_INTERRUPTED));
        }
    };
    bar.finish_and_clear();
    let mut report = report;
    report.thresholds = load::threshold::evaluate(&common.thresholds, &report);
    report.baseline = baseline
        .as_ref()
        .map(|b| load::baseline::compare(&report, b, common.max_regression));
    report::write_folder(&report_dir, &report)?;
    print!("{}", report::terminal(&report));
    println!("report: {}", report_dir.display());
    if super::interrupt::load_was_interrupted() {
        eprintln!("interrupted (Ctrl-C): the report holds the points that ran");
        return Ok(ExitCode::from(super::interrupt::EXIT_INTERRUPTED));
    }
    Ok(
        match report::problems(&report).is_empty() && report::gate_failures(&report).is_empty() {
            true => ExitCode::SUCCESS,
            false => ExitCode::from(1),
        },
    )
}

/// Refuses a run whose ramp-up (users ÷ the profile's hatch rate) dwarfs the full load asked for, and warns
/// when it is merely longer.
fn check_ramp_up(profile: &Profile, users: &[usize], duration: Duration) -> anyhow::Result<()> {
    let Some(&most) = users.iter().max() else {
        return Ok(());
    };
    let ramp_up = profile.ramp_up(most);
    if ramp_up <= duration {
        return Ok(());
    }
    let what = format!(
        "starting {most} users at the profile's hatch rate of {} users/s takes {:.0} s, against {} s of full load \
         (--duration)",
        profile.hatch_rate_for(most),
        ramp_up.as_secs_f64(),
        duration.as_secs()
    );
    if ramp_up > duration * RAMP_UP_REFUSED_FACTOR && ramp_up > RAMP_UP_REFUSED_ABOVE {
        anyhow::bail!(
            "refused: {what}, so the run would take {:.0} s. Give fewer --users or a longer --duration, or a \
             profile of your own with a higher hatch_rate (--profile FILE)",
            (ramp_up + duration).as_secs_f64()
        );
    }
    eprintln!(
        "warning: {what}; the run takes {:.0} s",
        (ramp_up + duration).as_secs_f64()
    );
    Ok(())
}

/// Sends tracing events to stderr at RUST_LOG's level (default: warnings, but none of the in-process dynoxide
/// server's "error response" ones, which a locking run makes by the thousand: every lock attempt that finds the
/// lock taken). Without a subscriber they would reach goose's logger, which prints warnings on stdout.
fn quiet_expected_warnings() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,dynoxide=error"));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .finish();
    // Already set (a test calling twice, another command first): keep that one.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// One line on how a point went, for the progress output.
fn outcome_line(record: &load::RunRecord) -> String {
    match (record.requests_per_s, &record.reason) {
        (Some(rps), _) => {
            let share = record.ceiling_fraction.map_or_else(String::new, |f| {
                format!(", {:.0}% of the backend's ceiling", f * 100.0)
            });
            format!("{rps:.1} req/s{share}")
        }
        (None, reason) => {
            let status = match record.status {
                load::RunStatus::Ran => "ran",
                load::RunStatus::Skipped => "skipped",
                load::RunStatus::Failed => "failed",
            };
            format!(
                "{status}: {}",
                reason.as_deref().unwrap_or("no reason given")
            )
        }
    }
}

fn check_subject(subject: &str, common: &CommonArgs) -> anyhow::Result<()> {
    if subject == URL_SUBJECT {
        if common.url.is_none() {
            anyhow::bail!("the url subject needs --url <base URL of the deployment>");
        }
        return Ok(());
    }
    if KNOWN_SUBJECTS.iter().any(|(name, _)| *name == subject) && is_http(subject) {
        return Ok(());
    }
    let known: Vec<String> = KNOWN_SUBJECTS
        .iter()
        .filter(|(name, _)| is_http(name))
        .map(|(name, what)| format!("  {name:<10} {what}"))
        .chain(std::iter::once(format!(
            "  {URL_SUBJECT:<10} a running deployment, given with --url"
        )))
        .collect();
    anyhow::bail!(
        "`{subject}` is not an HTTP subject; load runs against:\n{}",
        known.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use crate::cli::{Cli, Command};

    #[test]
    fn load_and_compare_parse() {
        let cli = Cli::try_parse_from([
            "dynamo-harness",
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "browse",
            "--duration",
            "20",
            "--locking",
            "both",
        ])
        .unwrap();
        let Command::Load(args) = cli.command else {
            panic!("not load")
        };
        assert_eq!(args.subject, "rust-http");
        assert_eq!(args.common.duration, Some(20));
        assert_eq!(args.common.locking, Some(super::LockingMode::Both));

        let cli = Cli::try_parse_from([
            "dynamo-harness",
            "compare",
            "--subjects",
            "rust-http,php-http",
            "--profile",
            "hot-session",
            "--users",
            "1,2,4,8",
        ])
        .unwrap();
        let Command::Compare(args) = cli.command else {
            panic!("not compare")
        };
        assert_eq!(args.subjects, ["rust-http", "php-http"]);
        assert_eq!(args.users, [1, 2, 4, 8]);
    }

    #[test]
    fn gates_and_the_php_server_parse() {
        let cli = Cli::try_parse_from([
            "dynamo-harness",
            "compare",
            "--profile",
            "browse",
            "--threshold",
            "p99<50ms",
            "--threshold",
            "errors<0.1%",
            "--baseline",
            "reports/old",
            "--max-regression",
            "10%",
            "--php-server",
            "builtin",
            "--php-fpm-children",
            "8",
        ])
        .unwrap();
        let Command::Compare(args) = cli.command else {
            panic!("not compare")
        };
        let rules: Vec<&str> = args
            .common
            .thresholds
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(rules, ["p99<50ms", "errors<0.1%"]);
        assert_eq!(args.common.max_regression, Some(0.1));
        assert_eq!(
            args.common.php_server,
            Some(crate::subject::php_http::PhpServer::Builtin)
        );
        assert_eq!(args.common.php_fpm_children, Some(8));
        // A limit needs a baseline; a bad rule is refused with what is wrong.
        let parse = |extra: &[&str]| {
            let mut argv = vec![
                "dynamo-harness",
                "load",
                "--subject",
                "rust-http",
                "--profile",
                "browse",
            ];
            argv.extend_from_slice(extra);
            Cli::try_parse_from(argv)
                .map(|_| ())
                .unwrap_err()
                .to_string()
        };
        assert!(parse(&["--max-regression", "10%"]).contains("--baseline"));
        assert!(parse(&["--threshold", "p99<fast"]).contains("does not start with a number"));
    }

    #[test]
    fn non_http_subjects_are_refused_with_the_list() {
        let cli = Cli::try_parse_from([
            "dynamo-harness",
            "load",
            "--subject",
            "rust",
            "--profile",
            "browse",
        ])
        .unwrap();
        let Command::Load(args) = cli.command else {
            panic!("not load")
        };
        let error = super::check_subject("rust", &args.common)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("rust-http") && error.contains("url"),
            "{error}"
        );
        assert!(
            super::check_subject("url", &args.common).is_err(),
            "url needs --url"
        );
    }
}
