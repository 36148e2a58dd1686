//! Running one goose attack: its configuration (built as goose's own command line, so every option is checked
//! by goose), on a tokio runtime of its own so the generator's CPU can be measured apart from the wire proxy's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use goose::GooseAttack;
use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::metrics::GooseMetrics;
use tokio::sync::oneshot;

use super::cpu::{self, ThreadCpu};
use super::profile::Profile;
use super::scenarios;
use super::transactions::{Shared, USER_AGENT};

/// One attack's settings, resolved from the profile and the command line.
#[derive(Debug, Clone)]
pub struct AttackPlan {
    pub base_url: String,
    pub users: usize,
    pub hatch_rate: f64,
    pub duration: Duration,
    pub iterations: Option<usize>,
    /// Goose's HTML report.
    pub html_report: std::path::PathBuf,
    /// Worker threads of the generator's runtime (goose's own loop runs on one more).
    pub threads: usize,
    /// Per-request timeout; a lock wait can hold a request for `max_lock_wait_time` (10 s by default).
    pub request_timeout: Duration,
}

impl AttackPlan {
    /// Goose's command line for the plan. Coordinated-omission mitigation is on (average cadence), so a stall
    /// of the subject shows in the percentiles instead of being hidden by users waiting for it. The telnet
    /// controller is turned off (the WebSocket one is off by default): a run opens no port of its own.
    fn goose_args(&self) -> Vec<String> {
        let mut args = vec![
            "--host".to_owned(),
            self.base_url.clone(),
            "--users".to_owned(),
            self.users.to_string(),
            "--increase-rate".to_owned(),
            format!("{}", self.hatch_rate),
            "--co-mitigation".to_owned(),
            "average".to_owned(),
            "--report-file".to_owned(),
            self.html_report.display().to_string(),
            "--timeout".to_owned(),
            format!("{}", self.request_timeout.as_secs().max(1)),
            "--no-telnet".to_owned(),
            "--no-print-metrics".to_owned(),
            "--quiet".to_owned(),
        ];
        match self.iterations {
            Some(n) => args.extend(["--iterations".to_owned(), n.to_string()]),
            None => args.extend([
                "--run-time".to_owned(),
                format!("{}s", self.duration.as_secs().max(1)),
            ]),
        }
        args
    }
}

/// What the attack thread hands back.
pub struct AttackOutcome {
    pub metrics: GooseMetrics,
    /// CPU of every generator thread (goose's loop, its users, the HTTP client's blocking work).
    pub generator_cpu: Option<Duration>,
    pub wall: Duration,
}

/// A started attack. Await [`RunningAttack::done`] (cancel the attack with `goose::trigger_killswitch`), then
/// [`RunningAttack::join`].
pub struct RunningAttack {
    receiver: oneshot::Receiver<anyhow::Result<AttackOutcome>>,
    thread: std::thread::JoinHandle<()>,
}

impl RunningAttack {
    /// Resolves when the attack thread has sent its outcome (an error if the thread died without one).
    pub fn done(&mut self) -> &mut oneshot::Receiver<anyhow::Result<AttackOutcome>> {
        &mut self.receiver
    }

    /// Joins the thread; the outcome is sent last thing on it, so after [`RunningAttack::done`] this is
    /// immediate.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Starts the attack on a thread named `load-gen` with its own runtime.
pub fn start(
    plan: &AttackPlan,
    profile: &Profile,
    shared: &Arc<Shared>,
) -> anyhow::Result<RunningAttack> {
    if let Some(dir) = plan.html_report.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let configuration = GooseConfiguration::parse_args_default(&plan.goose_args())
        .map_err(|e| anyhow::anyhow!("goose refused the run's settings: {e}"))?;
    let scenarios = scenarios::build(profile, shared)?;
    let threads = plan.threads.max(1);
    let timeout = plan.request_timeout;
    let (sender, receiver) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("load-gen".to_owned())
        .spawn(move || {
            let result = run_on_own_runtime(configuration, scenarios, threads, timeout);
            let _ = sender.send(result);
        })
        .context("starting the load generator thread")?;
    Ok(RunningAttack { receiver, thread })
}

fn run_on_own_runtime(
    configuration: GooseConfiguration,
    scenarios: Vec<goose::goose::Scenario>,
    threads: usize,
    timeout: Duration,
) -> anyhow::Result<AttackOutcome> {
    let cpu = ThreadCpu::default();
    let on_stop = cpu.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .thread_name("load-gen-worker")
        .on_thread_stop(move || on_stop.add_current_thread())
        .enable_all()
        .build()
        .context("building the load generator's runtime")?;
    let started = Instant::now();
    let metrics = runtime.block_on(async move {
        let mut attack = GooseAttack::initialize_with_config(configuration)?
            // One client without a cookie store, shared by all users (one connection pool): cookies are kept
            // per user by the transactions.
            .set_client_builder_without_cookies(
                GooseClientBuilder::new()
                    .without_cookies()
                    .user_agent(USER_AGENT)
                    .timeout(timeout)
                    .gzip(false),
            )?;
        for scenario in scenarios {
            attack = attack.register_scenario(scenario);
        }
        attack.execute().await
    });
    let wall = started.elapsed();
    // Workers add their CPU as they stop; shutdown waits for them.
    runtime.shutdown_timeout(Duration::from_secs(10));
    let own = cpu::current_thread_cpu();
    let generator_cpu = own.map(|own| own + cpu.total());
    let metrics = metrics.map_err(|e| anyhow::anyhow!("goose: {e}"))?;
    Ok(AttackOutcome {
        metrics,
        generator_cpu,
        wall,
    })
}
