//! A whole load run: backend → raw ceiling → for each subject and locking mode: proxy, subject → for each user
//! count: one goose attack, with the proxy drained as it goes → one [`RunRecord`] per point.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use dynamo_backends::{BackendKind, BackendOptions, Progress};
use dynamo_wire::WireProxy;
use serde::{Deserialize, Serialize};

use super::amplification::Amplification;
use super::attack::{self, AttackPlan};
use super::baseline::Comparison;
use super::ceiling::{self, Ceiling};
use super::cost::CostPerRequest;
use super::cpu::{self, CpuShare};
use super::metrics::{GooseSummary, WireTally};
use super::profile::{CeilingSpec, Profile, ScenarioKind};
use super::setup;
use super::threshold::RuleOutcome;
use super::transactions::Shared;
use crate::environment::{APP_TABLE, Backdrop, TtlProcessChoice, backdrop_of, table};
use crate::subject::{Level, SubjectEnv, SubjectSettings};

/// The subject that is a running deployment, given by URL.
pub const URL_SUBJECT: &str = "url";

/// Past the profile's time bound, the run is stopped; this long after that, the harness gives up on it.
const STOP_GRACE: Duration = Duration::from_secs(30);

/// Everything a `load` or `compare` run needs.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    pub profile: Profile,
    /// `rust-http`, `php-http`, or `url` (with `url` set).
    pub subjects: Vec<String>,
    /// The user counts to run, in order.
    pub users: Vec<usize>,
    /// Full-load time of each point.
    pub duration: Duration,
    /// Locking settings to run each subject with, in order.
    pub locking: Vec<bool>,
    pub backend: BackendKind,
    /// The endpoint URL and container image, for the kinds that use them.
    pub target: dynamo_backends::BackendTarget,
    /// For the `url` subject.
    pub url: Option<String>,
    pub report_dir: PathBuf,
    pub settings: SubjectSettings,
    pub generator_threads: usize,
    pub request_timeout: Duration,
}

/// How a point ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Ran,
    /// The subject cannot run here (reason given); nothing was measured.
    Skipped,
    /// The harness could not complete the point (reason given).
    Failed,
}

/// One point: a subject, a locking mode, a user count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub subject: String,
    pub locking: bool,
    pub users: usize,
    pub status: RunStatus,
    pub reason: Option<String>,
    /// Requests per second in goose's full-load window.
    pub requests_per_s: Option<f64>,
    pub goose: Option<GooseSummary>,
    /// Every HTTP request the users made, ramp-up included (the denominator of calls per request).
    pub requests_total: u64,
    pub failures_total: u64,
    /// DynamoDB calls seen by the proxy while the users ran; `None` for a subject the proxy does not see.
    pub wire: Option<WireTally>,
    pub calls_per_request: Option<f64>,
    pub calls_per_request_by_op: BTreeMap<String, f64>,
    /// ConditionalCheckFailed answers (lock attempts that found the lock taken) per request.
    pub ccf_per_request: Option<f64>,
    /// The backend's raw ceiling, measured right before this point's users started...
    pub ceiling: Option<Ceiling>,
    /// ...and right after they stopped.
    pub ceiling_after: Option<Ceiling>,
    /// The mean of the two: the reference for this point.
    pub ceiling_pairs_per_s: Option<f64>,
    /// What the backend could serve for this subject: ceiling calls/s ÷ calls per request.
    pub bound_requests_per_s: Option<f64>,
    /// `requests_per_s ÷ bound_requests_per_s`: the share of the backend's ceiling the subject reached.
    pub ceiling_fraction: Option<f64>,
    pub hot: Option<HotOutcome>,
    pub gc: Option<GcOutcome>,
    pub generator_cpu: Option<CpuShare>,
    /// The harness process as a whole: generator plus wire proxy.
    pub harness_cpu: Option<CpuShare>,
    /// CPU per request, part by part (generator, proxy, app, backend), beside what the machine had.
    #[serde(default)]
    pub cost: Option<CostPerRequest>,
    /// Goose's HTML report, relative to the report folder.
    pub html_report: Option<String>,
    /// Why the run ended before its time, when it did (Ctrl-C, max_requests, the harness's time bound).
    pub stopped: Option<String>,
}

/// The shared-session check of a hot-session run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotOutcome {
    pub increments_ok: u64,
    /// The counter read back after the run; `None` if the session lost it altogether.
    pub final_counter: Option<u64>,
    /// Successful increments the counter does not show (spec §6 C53).
    pub lost_updates: u64,
    /// Lock attempts that found the lock taken (ConditionalCheckFailed on UpdateItem); 0 without locking.
    pub lock_waits: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GcOutcome {
    pub sweeps: u64,
    pub batch_deletes: u64,
    pub seeded_expired: usize,
    /// Browse reads that found their (live) session gone.
    pub sessions_lost: u64,
}

/// Everything a run produced: the data behind summary.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    pub profile: Profile,
    pub backend: Option<String>,
    /// Why the runs have no ceiling, when they have none.
    pub ceiling_note: Option<String>,
    pub duration_s: u64,
    pub started_unix: u64,
    pub cores: usize,
    pub runs: Vec<RunRecord>,
    /// How php-http was served (`php-fpm8.2 (4 children, pm = static) behind nginx`), when it ran.
    #[serde(default)]
    pub php_server: Option<String>,
    /// DynamoDB calls per successful request with locking and without, for each subject and user count that ran
    /// both ways.
    #[serde(default)]
    pub amplification: Vec<Amplification>,
    /// The `--threshold` rules and how each fared.
    #[serde(default)]
    pub thresholds: Vec<RuleOutcome>,
    /// This run beside `--baseline`.
    #[serde(default)]
    pub baseline: Option<Comparison>,
}

/// What a run reports as it goes.
pub enum Event<'a> {
    /// A phase starts: `backend dynalite`, `ceiling`, `subject rust-http`, ...
    Phase(&'a str),
    /// About once a second while users run.
    Tick(&'a Tick),
    Done(&'a RunRecord),
}

/// A progress sample.
#[derive(Debug, Clone)]
pub struct Tick {
    pub label: String,
    pub elapsed: Duration,
    /// Ramp-up plus full load: when the users should stop.
    pub planned: Duration,
    pub requests: u64,
    pub failures: u64,
    /// Requests per second since the previous tick.
    pub recent_rps: f64,
    pub calls_per_request: Option<f64>,
}

/// Runs the request. Subjects that cannot start are reported as skipped; a broken backend is an error.
pub async fn run(
    request: &LoadRequest,
    progress: Progress,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> anyhow::Result<LoadReport> {
    let started_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let needs_backend = request.subjects.iter().any(|s| s != URL_SUBJECT);
    let mut report = LoadReport {
        profile: request.profile.clone(),
        backend: None,
        ceiling_note: None,
        duration_s: request.duration.as_secs(),
        started_unix,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        runs: Vec::new(),
        php_server: None,
        amplification: Vec::new(),
        thresholds: Vec::new(),
        baseline: None,
    };
    let backend = match needs_backend {
        true => {
            on_event(Event::Phase(&format!(
                "backend {}: starting",
                request.backend
            )));
            let backend = dynamo_backends::start(&BackendOptions::for_kind(
                request.backend,
                &request.target,
                progress,
            ))
            .await
            .with_context(|| format!("starting the {} backend", request.backend))?;
            Some(backend)
        }
        false => {
            report.ceiling_note = Some(
                "no backend: the url subject's DynamoDB traffic does not pass through the harness"
                    .to_owned(),
            );
            None
        }
    };
    let backdrop = match &backend {
        Some(backend) => Some(backdrop_of(backend.as_ref(), TtlProcessChoice::Auto).await?),
        None => None,
    };
    if let Some(backdrop) = &backdrop {
        report.backend = Some(backdrop.backend_name.clone());
        table::provision(
            &backdrop.client,
            &backdrop.capabilities,
            APP_TABLE,
            "id",
            "expires",
        )
        .await?;
    }

    for name in &request.subjects {
        // A deployment's locking mode is its own business: the url subject runs once, labelled unlocked.
        let variants = match name == URL_SUBJECT {
            true => &[false][..],
            false => &request.locking[..],
        };
        for &locking in variants {
            let runs = match interrupted() {
                true => skipped_points(
                    request,
                    name,
                    locking,
                    "interrupted",
                    RunStatus::Skipped,
                    on_event,
                ),
                false => run_subject(request, name, locking, backdrop.as_ref(), on_event).await,
            };
            report.runs.extend(runs);
        }
    }

    if let Some(backend) = backend {
        tokio::time::timeout(Duration::from_secs(10), backend.shutdown())
            .await
            .context("the backend did not stop within 10 s")??;
    }
    report.amplification = super::amplification::pairs(&report);
    if request.subjects.iter().any(|s| s == "php-http")
        && report
            .runs
            .iter()
            .any(|r| r.subject == "php-http" && r.status == RunStatus::Ran)
    {
        report.php_server = crate::subject::php_http::choose_server(&request.settings)
            .ok()
            .map(|choice| choice.describe(&request.settings));
    }
    Ok(report)
}

/// A tokio runtime of its own for one part of a run (the wire proxy, the subject's app), its threads named so
/// that their CPU can be told apart from the rest of the harness's ([`cpu::sample`]).
struct OwnRuntime {
    handle: tokio::runtime::Handle,
    /// A multi-threaded runtime, stopped when dropped...
    runtime: Option<tokio::runtime::Runtime>,
    /// ...or a single thread driving a current-thread runtime until this is dropped.
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl OwnRuntime {
    /// `cores` worker threads named `thread_name`.
    fn new(thread_name: &str) -> anyhow::Result<OwnRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
            .thread_name(thread_name)
            .enable_all()
            .build()
            .with_context(|| format!("building the {thread_name} runtime"))?;
        Ok(OwnRuntime {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
            stop: None,
        })
    }

    /// One thread named `thread_name` running every task: no hand-offs between threads, for a part whose
    /// tasks are short and many (the proxy's calls), at one core's worth of throughput.
    fn single_thread(thread_name: &str) -> anyhow::Result<OwnRuntime> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .thread_name(thread_name)
            .enable_all()
            .build()
            .with_context(|| format!("building the {thread_name} runtime"))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(thread_name.to_owned())
            .spawn(move || {
                runtime.block_on(async {
                    let _ = stopped.await;
                });
                runtime.shutdown_background();
            })
            .with_context(|| format!("starting the {thread_name} thread"))?;
        Ok(OwnRuntime {
            handle,
            runtime: None,
            stop: Some(stop),
        })
    }

    /// Runs `future` on this runtime (so whatever it spawns lives there) and waits for it from the caller's.
    async fn run<F>(&self, future: F) -> anyhow::Result<F::Output>
    where
        F: std::future::Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle
            .spawn(future)
            .await
            .context("a task of the harness's own runtime panicked")
    }
}

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which async code must not; whatever is left is stopped in the background.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A record for every user count of a subject that did not run, each reported as it is made.
fn skipped_points(
    request: &LoadRequest,
    name: &str,
    locking: bool,
    reason: &str,
    status: RunStatus,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<RunRecord> {
    request
        .users
        .iter()
        .map(|&users| {
            let record = RunRecord::empty(name, locking, users, status, Some(reason.to_owned()));
            on_event(Event::Done(&record));
            record
        })
        .collect()
}

/// Whether the user asked to stop (Ctrl-C, which goose turns into its killswitch once it has run).
fn interrupted() -> bool {
    goose::is_killswitch_triggered()
}

/// Where a subject's web app is, and the proxy in front of its DynamoDB, if the harness owns one.
struct Target<'a> {
    name: &'a str,
    locking: bool,
    base_url: String,
    proxy: Option<&'a WireProxy>,
    backdrop: Option<&'a Backdrop>,
}

async fn run_subject(
    request: &LoadRequest,
    name: &str,
    locking: bool,
    backdrop: Option<&Backdrop>,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<RunRecord> {
    let lock_label = if locking { " (locking)" } else { "" };
    on_event(Event::Phase(&format!(
        "subject {name}{lock_label}: starting"
    )));
    let skip_all = |reason: String, status: RunStatus| {
        skipped_points(request, name, locking, &reason, status, on_event)
    };

    if name == URL_SUBJECT {
        let Some(url) = &request.url else {
            return skip_all("the url subject needs --url".to_owned(), RunStatus::Skipped);
        };
        let target = Target {
            name,
            locking,
            base_url: url.trim_end_matches('/').to_owned(),
            proxy: None,
            backdrop: None,
        };
        return run_points(request, &target, on_event).await;
    }

    let Some(backdrop) = backdrop else {
        return skip_all("no backend was started".to_owned(), RunStatus::Failed);
    };
    // The proxy and the app each on a runtime of their own, so each one's CPU per request can be reported. The
    // proxy's is one thread (its calls are short and many: no hand-offs between threads) and it records counts
    // only; the two took about a quarter off its CPU per call (rust-http, browse, 8 users: 91 → 67 µs), most of
    // what is left being loopback TCP in the kernel.
    let runtimes = OwnRuntime::single_thread(cpu::PROXY_THREADS)
        .and_then(|proxy| Ok((proxy, OwnRuntime::new(cpu::APP_THREADS)?)));
    let (proxy_runtime, app_runtime) = match runtimes {
        Ok(runtimes) => runtimes,
        Err(error) => return skip_all(format!("{error:#}"), RunStatus::Failed),
    };
    let upstream = backdrop.upstream_url.clone();
    let started = proxy_runtime
        .run(async move { WireProxy::start(&upstream).await })
        .await;
    let proxy = match started {
        Ok(Ok(proxy)) => {
            // Load only counts calls: no JSON trees of bodies nobody reads.
            proxy.set_counts_only(true);
            proxy
        }
        Ok(Err(error)) => {
            return skip_all(
                format!("starting the wire proxy: {error}"),
                RunStatus::Failed,
            );
        }
        Err(error) => return skip_all(format!("{error:#}"), RunStatus::Failed),
    };
    let env = SubjectEnv {
        dynamodb_endpoint: proxy.endpoint_url(),
        region: backdrop.region.clone(),
        access_key: backdrop.access_key.clone(),
        secret_key: backdrop.secret_key.clone(),
        table: APP_TABLE.to_owned(),
    };
    let settings = SubjectSettings {
        locking,
        ..request.settings.clone()
    };
    let subject = {
        let name = name.to_owned();
        app_runtime
            .run(async move { crate::subject::start(&name, &env, &settings).await })
            .await
    };
    let subject = match subject {
        Ok(subject) => subject,
        Err(error) => {
            proxy.shutdown().await;
            return skip_all(format!("starting {name}: {error:#}"), RunStatus::Failed);
        }
    };
    let records = match (subject.unsupported(Level::Http), subject.http_base_url()) {
        (Some(reason), _) => skip_all(reason, RunStatus::Skipped),
        (None, None) => skip_all(format!("{name} has no HTTP face"), RunStatus::Skipped),
        (None, Some(base_url)) => {
            let target = Target {
                name,
                locking,
                base_url,
                proxy: Some(&proxy),
                backdrop: Some(backdrop),
            };
            run_points(request, &target, on_event).await
        }
    };
    match app_runtime.run(subject.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("warning: stopping subject {name}: {error:#}"),
        Err(error) => eprintln!("warning: stopping subject {name}: {error:#}"),
    }
    proxy.shutdown().await;
    drop(app_runtime);
    drop(proxy_runtime);
    records
}

async fn run_points(
    request: &LoadRequest,
    target: &Target<'_>,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Vec<RunRecord> {
    let mut records = Vec::new();
    for &users in &request.users {
        if interrupted() {
            let record = RunRecord::empty(
                target.name,
                target.locking,
                users,
                RunStatus::Skipped,
                Some("interrupted".to_owned()),
            );
            on_event(Event::Done(&record));
            records.push(record);
            continue;
        }
        let record = match run_point(request, target, users, on_event).await {
            Ok(record) => record,
            Err(error) => RunRecord::empty(
                target.name,
                target.locking,
                users,
                RunStatus::Failed,
                Some(format!("{error:#}")),
            ),
        };
        on_event(Event::Done(&record));
        records.push(record);
    }
    records
}

/// File-name-safe label of a point: `rust-http-locking-u8`.
pub fn point_label(subject: &str, locking: bool, users: usize) -> String {
    let lock = if locking { "-locking" } else { "" };
    format!("{subject}{lock}-u{users}")
}

async fn run_point(
    request: &LoadRequest,
    target: &Target<'_>,
    users: usize,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> anyhow::Result<RunRecord> {
    let profile = &request.profile;
    let label = point_label(target.name, target.locking, users);
    let http = setup::harness_client()?;
    // A target that does not answer fails the point at once, rather than after a run of connection errors.
    setup::check_health(&http, &target.base_url).await?;

    if profile.seed_expired > 0
        && let Some(backdrop) = target.backdrop
    {
        setup::seed_expired(&backdrop.client, APP_TABLE, profile.seed_expired, &label).await?;
    }
    let shared = Shared::new(profile.max_requests);
    let hot_cookie = match profile.has(ScenarioKind::HotSession) {
        true => {
            let cookie = setup::prime_hot_session(&http, &target.base_url).await?;
            *shared.hot_cookie.lock().unwrap_or_else(|p| p.into_inner()) = Some(cookie.clone());
            Some(cookie)
        }
        false => None,
    };

    // The ceiling is measured right before the users start and again right after they stop: on a shared
    // machine what else runs changes over minutes, and a ratio is only meaningful between numbers taken under
    // the same conditions. The two measurements bracket the load; their mean is the reference.
    let ceiling = measure_ceiling(target, &profile.ceiling, &label, "before", on_event).await?;

    let html_name = format!("goose-{label}.html");
    let plan = AttackPlan {
        base_url: target.base_url.clone(),
        users,
        hatch_rate: profile.hatch_rate_for(users),
        duration: request.duration,
        iterations: profile.iterations,
        html_report: request.report_dir.join(&html_name),
        threads: request.generator_threads,
        request_timeout: request.request_timeout,
    };
    let planned = profile.ramp_up(users) + request.duration;
    // The hard bound: the plan, and one request timeout for the last requests to come back.
    let bound = planned + request.request_timeout;

    // Calls made before the users start (priming) are not theirs.
    if let Some(proxy) = target.proxy {
        proxy.take_records();
    }
    let mut tally = WireTally::default();
    let process_before = cpu::process_cpu();
    let parts_before = cpu::sample();
    let started = Instant::now();
    let mut running = attack::start(&plan, profile, &shared)?;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stopped: Option<String> = None;
    let mut last = (Instant::now(), 0u64);
    let outcome = loop {
        tokio::select! {
            outcome = running.done() => break outcome,
            _ = ticker.tick() => {
                // Draining keeps the proxy's record buffer to about a second of calls, however long the run.
                if let Some(proxy) = target.proxy {
                    tally.absorb(&proxy.take_records());
                }
                let elapsed = started.elapsed();
                let requests = shared.requests.load(Ordering::Relaxed);
                let now = Instant::now();
                let recent_rps = (requests - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-3);
                last = (now, requests);
                on_event(Event::Tick(&Tick {
                    label: label.clone(),
                    elapsed,
                    planned,
                    requests,
                    failures: shared.failures.load(Ordering::Relaxed),
                    recent_rps,
                    calls_per_request: target.proxy.map(|_| tally.calls as f64 / requests.max(1) as f64),
                }));
                if elapsed > bound && stopped.is_none() {
                    stopped = Some(format!("stopped by the harness after {} s", bound.as_secs()));
                    goose::trigger_killswitch("the run passed its time bound");
                }
                if elapsed > bound + STOP_GRACE {
                    anyhow::bail!(
                        "the load generator did not stop within {} s of being told to",
                        STOP_GRACE.as_secs()
                    );
                }
            }
        }
    };
    let wall = started.elapsed();
    let process_after = cpu::process_cpu();
    let parts_used = cpu::sample().since(&parts_before);
    running.join();
    let outcome = outcome.context("the load generator thread died")??;
    if let Some(proxy) = target.proxy {
        tally.absorb(&proxy.take_records());
    }
    let requests_total = shared.requests.load(Ordering::Relaxed);
    if stopped.is_none() && goose::is_killswitch_triggered() {
        stopped = Some(if requests_total >= profile.max_requests {
            format!("stopped at max_requests ({})", profile.max_requests)
        } else {
            "interrupted (Ctrl-C)".to_owned()
        });
    }
    // Our own stops are not the user's: clear them so the next point runs. A Ctrl-C stays set.
    if stopped
        .as_deref()
        .is_some_and(|s| !s.starts_with("interrupted"))
    {
        goose::reset_killswitch();
    }

    let hot = match &hot_cookie {
        Some(cookie) => {
            let final_counter = setup::read_counter(&http, &target.base_url, cookie).await?;
            let increments_ok = shared.increments_ok.load(Ordering::Relaxed);
            Some((increments_ok, final_counter))
        }
        None => None,
    };
    // Already warm: the load itself was the warm-up.
    let after_spec = CeilingSpec {
        warmup_s: 0.0,
        ..profile.ceiling.clone()
    };
    // After a Ctrl-C the measurement would stop at once and read as zero.
    let ceiling_after = match ceiling.is_some() && !interrupted() {
        true => measure_ceiling(target, &after_spec, &label, "after", on_event).await?,
        false => None,
    };
    let ceiling_pairs_per_s = match (&ceiling, &ceiling_after) {
        (Some(before), Some(after)) => Some((before.pairs_per_s + after.pairs_per_s) / 2.0),
        (Some(only), None) | (None, Some(only)) => Some(only.pairs_per_s),
        (None, None) => None,
    };

    let goose = GooseSummary::of(&outcome.metrics);
    let requests_per_s = goose.requests_per_s();
    let wire = target.proxy.map(|_| tally);
    let per_request = |n: u64| n as f64 / requests_total.max(1) as f64;
    let calls_per_request = wire.as_ref().map(|w| per_request(w.calls));
    // Two DynamoDB calls per ceiling pair.
    let bound_requests_per_s = match (ceiling_pairs_per_s, calls_per_request) {
        (Some(pairs), Some(cpr)) if cpr > 0.0 => Some(pairs * 2.0 / cpr),
        _ => None,
    };
    let hot = hot.map(|(increments_ok, final_counter)| HotOutcome {
        increments_ok,
        final_counter,
        lost_updates: increments_ok.saturating_sub(final_counter.unwrap_or(0)),
        lock_waits: wire.as_ref().map_or(0, |w| {
            w.by_op
                .get("UpdateItem")
                .map_or(0, |t| t.conditional_check_failed)
        }),
    });
    let gc = profile.has(ScenarioKind::Gc).then(|| GcOutcome {
        sweeps: shared.gc_runs.load(Ordering::Relaxed),
        batch_deletes: wire.as_ref().map_or(0, |w| w.batch_deletes),
        seeded_expired: if target.backdrop.is_some() {
            profile.seed_expired
        } else {
            0
        },
        sessions_lost: shared.sessions_lost.load(Ordering::Relaxed),
    });
    Ok(RunRecord {
        subject: target.name.to_owned(),
        locking: target.locking,
        users,
        status: RunStatus::Ran,
        reason: None,
        requests_per_s: Some(requests_per_s),
        requests_total,
        failures_total: shared.failures.load(Ordering::Relaxed),
        calls_per_request,
        calls_per_request_by_op: wire
            .as_ref()
            .map(|w| {
                w.by_op
                    .iter()
                    .map(|(op, t)| (op.clone(), per_request(t.calls)))
                    .collect()
            })
            .unwrap_or_default(),
        ccf_per_request: wire
            .as_ref()
            .map(|w| per_request(w.conditional_check_failed())),
        bound_requests_per_s,
        ceiling_fraction: bound_requests_per_s.map(|b| requests_per_s / b),
        ceiling,
        ceiling_after,
        ceiling_pairs_per_s,
        hot,
        gc,
        generator_cpu: outcome.generator_cpu.map(|c| CpuShare::of(c, outcome.wall)),
        harness_cpu: match (process_before, process_after) {
            (Some(before), Some(after)) => Some(CpuShare::of(after.saturating_sub(before), wall)),
            _ => None,
        },
        cost: Some(CostPerRequest::of(
            &parts_used,
            outcome.generator_cpu,
            requests_total,
            wall,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        )),
        html_report: plan.html_report.is_file().then_some(html_name),
        goose: Some(goose),
        wire,
        stopped,
    })
}

/// Measures the ceiling on the target's backend, if the harness has one, and says so on the progress output.
async fn measure_ceiling(
    target: &Target<'_>,
    spec: &CeilingSpec,
    label: &str,
    when: &str,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> anyhow::Result<Option<Ceiling>> {
    let Some(backdrop) = target.backdrop else {
        return Ok(None);
    };
    let ceiling = ceiling::measure(&backdrop.client, APP_TABLE, spec)
        .await
        .with_context(|| format!("measuring the backend's raw ceiling {when} the load"))?;
    on_event(Event::Phase(&format!(
        "  {label}: backend ceiling {when}: {:.0} GetItem+UpdateItem pairs/s ({} at a time, {:.1} s)",
        ceiling.pairs_per_s, ceiling.concurrency, ceiling.elapsed_s
    )));
    Ok(Some(ceiling))
}

impl RunRecord {
    /// How far the ceiling moved between before and after the load, as a share of the lower one.
    pub fn ceiling_drift(&self) -> Option<f64> {
        let (before, after) = (self.ceiling.as_ref()?, self.ceiling_after.as_ref()?);
        let low = before.pairs_per_s.min(after.pairs_per_s);
        (low > 0.0).then(|| (before.pairs_per_s - after.pairs_per_s).abs() / low)
    }

    pub(crate) fn empty(
        subject: &str,
        locking: bool,
        users: usize,
        status: RunStatus,
        reason: Option<String>,
    ) -> Self {
        RunRecord {
            subject: subject.to_owned(),
            locking,
            users,
            status,
            reason,
            requests_per_s: None,
            goose: None,
            requests_total: 0,
            failures_total: 0,
            wire: None,
            calls_per_request: None,
            calls_per_request_by_op: BTreeMap::new(),
            ccf_per_request: None,
            ceiling: None,
            ceiling_after: None,
            ceiling_pairs_per_s: None,
            bound_requests_per_s: None,
            ceiling_fraction: None,
            hot: None,
            gc: None,
            generator_cpu: None,
            harness_cpu: None,
            cost: None,
            html_report: None,
            stopped: None,
        }
    }

    /// `rust-http`, or `rust-http (locking)`.
    pub fn series(&self) -> String {
        match self.locking {
            true => format!("{} (locking)", self.subject),
            false => self.subject.clone(),
        }
    }
}
