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
Exit status: 0 when every point ran or was skipped with a reason, 1 when a point
failed or lost updates despite locking, 2 when the run itself broke.";

/// Settings `load` and `compare` share.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// Load profile: a name from scenarios/load (browse, login-churn, hot-session, gc-sweep) or a YAML file.
    #[arg(long, short, value_name = "NAME|FILE")]
    pub profile: String,

    /// Extra folders to look for profiles in (same format; a name found there wins over the built-in).
    #[arg(long = "profiles", value_name = "DIR")]
    pub profile_dirs: Vec<PathBuf>,

    /// Seconds of full load per point, after every user started (default: the profile's duration_s).
    #[arg(long, value_name = "S")]
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

    /// Worker threads of the load generator's own runtime (goose's loop runs on one more).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub generator_threads: usize,

    /// Per-request timeout, seconds (a locking read may wait up to max_lock_wait_time, 10 s by default).
    #[arg(long, value_name = "S", default_value_t = 30)]
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
    for subject in &subjects {
        check_subject(subject, common)?;
    }
    if users.is_empty() || users.contains(&0) {
        anyhow::bail!("user counts must be at least 1");
    }
    let duration = Duration::from_secs(common.duration.unwrap_or(profile.duration_s).max(1));
    let locking = common.locking.unwrap_or(profile.locking).variants();
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
    let report = load::run(&request, progress, &on_event).await?;
    bar.finish_and_clear();
    report::write_folder(&report_dir, &report)?;
    print!("{}", report::terminal(&report));
    println!("report: {}", report_dir.display());
    Ok(match report::problems(&report).is_empty() {
        true => ExitCode::SUCCESS,
        false => ExitCode::from(1),
    })
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
