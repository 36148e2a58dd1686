//! `dynamo-harness backend ...`: start a DynamoDB-compatible backend with the session table, for people,
//! scripts and other tools (a PHP app, the plugin's tests) to use until Ctrl-C; with `--record`, also
//! the recording of a running app's DynamoDB traffic per HTTP request ([`record`]).

pub mod record;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use dynamo_backends::{
    Backend, BackendKind, BackendOptions, TableSpec, provision_table, stderr_progress,
};
use dynamo_wire::proxy::UpstreamTls;
use tokio::signal::unix::{Signal, SignalKind, signal};

#[derive(Debug, Subcommand)]
pub enum BackendCommand {
    /// Start a backend, create the session table, print where it is, keep it up until Ctrl-C.
    ///
    /// Prints the endpoint, the table and the capabilities measured at start, then a line `ready`; scripts
    /// can wait for that line. Ctrl-C (or SIGTERM) stops the server and everything it started. Even if this
    /// process is killed outright, the server notices (it watches its stdin) and exits.
    ///
    /// The first start of dynalite or moto installs it (npm or pip, pinned in ci/versions.env) into
    /// ~/.cache/dynamo-harness (override with DYNAMO_HARNESS_CACHE_DIR); that takes a minute once.
    ///
    /// With --record DIR --app URL it records what a running web app (a COmanage Registry with the
    /// DynamoSession plugin, say) does to the table, per HTTP request: the endpoint printed is then a
    /// recording proxy in front of the backend (give it to the app), and a `front:` line names an HTTP
    /// proxy in front of the app (point the browser there). Every DynamoDB call is written at once to
    /// DIR/trace.jsonl in the format of fixtures/sdk-traces (session ids as <SIDn>, times as <NOW+d>), its
    /// step being the HTTP request that made it ("GET /path?query"; "(no request)" when none was in flight;
    /// "A | B" when the session ids cannot tell which of several did); each request becomes a line of
    /// DIR/requests.jsonl (method, path, status, duration, its calls). Ctrl-C prints the totals.
    Up(UpArgs),
}

/// The backend kinds, with their help text.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// dynoxide, served inside this process, in memory: nothing to install, TTL API. The default.
    Dynoxide,
    /// dynalite (npm, needs node): fast, in memory, no TTL API.
    Dynalite,
    /// moto's server (PyPI, needs python3 and python3-venv): TTL API, slow, corrupts B values written
    /// through AttributeUpdates.
    Moto,
    /// A container through testcontainers (needs a running Docker engine): DynamoDB Local, or --image.
    Container,
    /// An already running endpoint (--endpoint URL or COMANAGE_REGISTRY_DYNAMODB_ENDPOINT), or real AWS
    /// when no URL is given (region and credentials from COMANAGE_REGISTRY_DYNAMODB_* or aws-config).
    Endpoint,
}

impl From<KindArg> for BackendKind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::Dynoxide => BackendKind::Dynoxide,
            KindArg::Dynalite => BackendKind::Dynalite,
            KindArg::Moto => BackendKind::Moto,
            KindArg::Container => BackendKind::Container,
            KindArg::Endpoint => BackendKind::Endpoint,
        }
    }
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Which backend to start.
    #[arg(long, value_enum, default_value = "dynoxide")]
    backend: KindArg,
    #[command(flatten)]
    target: super::TargetArgs,
    /// Port on 127.0.0.1 for dynoxide, dynalite, moto or the container (default: a free one).
    #[arg(long, value_name = "N")]
    port: Option<u16>,
    /// With --backend dynoxide: the address to listen on instead of 127.0.0.1. Only for a container image,
    /// whose own network the server must answer on (`0.0.0.0`); the container backend publishes the port on
    /// the host's loopback only.
    #[arg(long, value_name = "IP")]
    listen_host: Option<std::net::IpAddr>,
    /// Create no table: serve only (a container image's server, whose tables each run creates itself).
    #[arg(long)]
    no_table: bool,
    /// Name of the session table to create (or reuse).
    #[arg(
        long,
        value_name = "NAME",
        env = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE",
        default_value = TableSpec::DEFAULT_NAME
    )]
    table: String,
    #[command(flatten)]
    remote: super::doctor::RemoteArgs,
    /// Record the app's DynamoDB calls per HTTP request into DIR (created if missing; it must not hold a
    /// recording already): trace.jsonl and requests.jsonl. Needs --app.
    #[arg(long, value_name = "DIR", requires = "app")]
    record: Option<PathBuf>,
    /// With --record: the running web app, http://HOST:PORT on this machine (localhost, 127.0.0.0/8, ::1).
    /// Configure it with the printed endpoint and table, and browse it through the printed front.
    #[arg(long, value_name = "URL", requires = "record")]
    app: Option<String>,
    /// With --record: the front's port on 127.0.0.1 (default: a free one).
    #[arg(long, value_name = "N", requires = "record")]
    app_port: Option<u16>,
    /// With --record: the session cookie's name, which with `_` prefixes the table's keys (CakePHP's
    /// Session.cookie; CAKEPHP_<id>). Calls are tied to requests by it.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "CAKEPHP",
        requires = "record"
    )]
    session_name: String,
}

impl BackendCommand {
    /// The arguments that go into the environment before any thread starts (see `cli::run`).
    pub fn remote(&self) -> &super::doctor::RemoteArgs {
        match self {
            BackendCommand::Up(args) => &args.remote,
        }
    }
}

pub async fn run(command: BackendCommand) -> anyhow::Result<ExitCode> {
    match command {
        BackendCommand::Up(args) => up(args).await,
    }
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    // Registered before anything starts, so that a signal arriving at any moment (even right after `ready`)
    // is handled by stopping the backend rather than by the default action, which would skip destructors.
    let mut stop_signals = StopSignals::install()?;
    let kind: BackendKind = args.backend.into();
    args.remote
        .check(args.target.endpoint.as_deref(), &[kind])?;
    let recording = match (&args.record, &args.app) {
        (Some(dir), Some(app)) => {
            check_app_url(app)?;
            record::prepare_dir(dir)?;
            Some((dir.clone(), app.clone()))
        }
        _ => None,
    };
    let options = BackendOptions {
        port: args.port,
        listen_host: args.listen_host,
        ..BackendOptions::for_kind(kind, &args.target.target(), stderr_progress())
    };
    let started = Instant::now();
    // Ctrl-C during a first-time install drops the start future, which kills npm/pip (kill_on_drop).
    let backend = tokio::select! {
        backend = dynamo_backends::start(&options) => {
            backend.with_context(|| format!("could not start the {} backend", options.kind))?
        }
        _ = stop_signals.received() => {
            eprintln!("interrupted while starting the {} backend", options.kind);
            return Ok(ExitCode::from(130));
        }
    };
    let table = match args.no_table {
        true => "none (--no-table)".to_owned(),
        false => {
            let client = aws_sdk_dynamodb::Client::new(&backend.sdk_config());
            provision_table(
                &client,
                backend.capabilities(),
                &TableSpec::named(&args.table),
            )
            .await
            .context("could not provision the session table")?
            .to_string()
        }
    };

    let recorder = match &recording {
        Some((dir, app)) => Some(Recording::start(&args, backend.endpoint_url(), dir, app).await?),
        None => None,
    };
    let endpoint = recorder.as_ref().map_or_else(
        || backend.endpoint_url().to_owned(),
        |r| r.proxy.endpoint_url(),
    );
    print_summary(backend.as_ref(), &endpoint, &table);
    if let Some(recording) = &recorder {
        recording.print();
    }
    eprintln!(
        "[backend] up after {:.1} s; Ctrl-C stops it",
        started.elapsed().as_secs_f64()
    );
    println!("ready");

    stop_signals.received().await;
    if let Some(recording) = recorder {
        let totals = recording.stop().await;
        println!("{}", totals_line(&totals));
    }
    eprintln!("[backend] stopping {}", backend.kind());
    backend.shutdown().await.context("stopping the backend")?;
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// The app must be on this machine (the front forwards browsers' session cookies to it) and be given as
/// an origin; checked before anything starts.
fn check_app_url(app: &str) -> anyhow::Result<()> {
    const EXPECTED: &str = "expected http://HOST:PORT with HOST localhost, 127.0.0.0/8 or [::1]";
    let url = reqwest::Url::parse(app)
        .map_err(|e| anyhow::anyhow!("--app {app:?}: not a URL ({e}); {EXPECTED}"))?;
    if url.scheme() != "http" {
        anyhow::bail!(
            "--app {app:?}: the front forwards plain http, not {}; {EXPECTED}",
            url.scheme()
        );
    }
    if !super::doctor::is_loopback_url(app) {
        anyhow::bail!(
            "--app {app:?}: the app must run on this machine: the front forwards browsers' session cookies to \
             it, so it is not pointed at other hosts; {EXPECTED}"
        );
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() {
        anyhow::bail!(
            "--app {app:?}: give the app's origin only: every path is forwarded as the browser sends it; {EXPECTED}"
        );
    }
    Ok(())
}

/// A recording in progress: the proxy before the backend, the front before the app, and the recorder.
struct Recording {
    proxy: dynamo_wire::WireProxy,
    front: dynamo_wire::FrontProxy,
    recorder: Arc<record::Recorder>,
    dir: PathBuf,
}

impl Recording {
    async fn start(
        args: &UpArgs,
        upstream: &str,
        dir: &std::path::Path,
        app: &str,
    ) -> anyhow::Result<Self> {
        let tls = args
            .remote
            .ca_file
            .as_ref()
            .map_or_else(UpstreamTls::from_env, UpstreamTls::with_ca_file);
        let proxy = dynamo_wire::WireProxy::start_with_tls(upstream, &tls)
            .await
            .context("starting the recording proxy")?;
        let recorder = record::Recorder::create(dir, &args.session_name)?;
        proxy.set_sink(Some(recorder.sink()));
        let front = dynamo_wire::FrontProxy::start(
            app,
            args.app_port.unwrap_or(0),
            Arc::clone(&recorder) as Arc<dyn dynamo_wire::FrontObserver>,
        )
        .await
        .with_context(|| format!("starting the front for --app {app}"))?;
        Ok(Recording {
            proxy,
            front,
            recorder,
            dir: dir.to_owned(),
        })
    }

    fn print(&self) {
        println!("recording:");
        println!("  app:      {}", self.front.app_url());
        println!("  front:    {}", self.front.url());
        println!(
            "  trace:    {}",
            self.dir.join(record::TRACE_FILE).display()
        );
        println!(
            "  requests: {}",
            self.dir.join(record::REQUESTS_FILE).display()
        );
        println!("  (configure the app with the endpoint above; browse it through the front)");
    }

    /// Ends the exchanges in flight (each still gets its line), lets the calls in flight return, and
    /// closes the files.
    async fn stop(self) -> record::Totals {
        self.front.shutdown().await;
        self.proxy.shutdown().await;
        self.recorder.finish()
    }
}

/// The closing line: requests, calls, files.
fn totals_line(totals: &record::Totals) -> String {
    let files: Vec<String> = totals
        .files
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let mut line = format!(
        "recorded {} HTTP requests and {} DynamoDB calls",
        totals.requests, totals.calls
    );
    if totals.ambiguous > 0 {
        line.push_str(&format!(
            " ({} not attributable to one request)",
            totals.ambiguous
        ));
    }
    line.push_str(&format!(": {}", files.join(", ")));
    if let Some(error) = &totals.write_error {
        line.push_str(&format!("; INCOMPLETE: {error}"));
    }
    line
}

fn print_summary(backend: &dyn Backend, endpoint: &str, table: &str) {
    let local = backend.kind() != BackendKind::Endpoint;
    let recording = endpoint != backend.endpoint_url();
    println!("backend:  {}", backend.kind());
    println!("endpoint: {endpoint}");
    if recording {
        println!("upstream: {} (not recorded)", backend.endpoint_url());
    }
    println!("region:   {}", backend.region());
    println!("table:    {table}");
    println!("capabilities:");
    for line in backend.capabilities().describe() {
        println!("  {line}");
    }
    println!("for the DynamoSession plugin:");
    if local || recording || endpoint.starts_with("http://") {
        println!("  COMANAGE_REGISTRY_DYNAMODB_ENDPOINT={endpoint}");
    }
    println!("  COMANAGE_REGISTRY_DYNAMODB_REGION={}", backend.region());
    if local {
        println!("  (any access key and secret work, e.g. test / test)");
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, listened to from the moment `install` returns.
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<Self> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    /// Completes at the next SIGINT or SIGTERM.
    async fn received(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
