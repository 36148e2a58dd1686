//! dynoxide, served inside this process: a fresh in-memory database per backend value, on a thread of its own
//! with its own Tokio runtime, so the server outlives whichever runtime started it (a `#[tokio::test]`'s, a
//! shared `static`'s) and a blocking SQLite call never stalls the caller's runtime.
//!
//! The database reads time only for its TTL process, through [`SweepClock`]: the system's time, except while a
//! [`TtlSweeper::sweep_at`] runs, when it reads the time the caller gave (the case's clock). Sweeps are
//! serialised, so two cases never see each other's time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::SdkConfig;
use dynoxide::Database;
use dynoxide::storage_backend::Clock;

use crate::capabilities::TtlSweeper;
use crate::sdk::{LOCAL_REGION, local_config, probe_client};
use crate::{
    Backend, BackendError, BackendKind, BackendOptions, Capabilities, measure_capabilities,
};

/// How long a stop waits for requests still in flight before the server's runtime is dropped anyway.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// Worker threads of the server's runtime: the database serialises requests behind one lock, so more would
/// only add contention on a small machine; two let one request parse while another runs.
const SERVER_THREADS: usize = 2;

/// The system's time, or a pinned time while a sweep runs.
#[derive(Default)]
struct SweepClock {
    /// Unix seconds to report; [`FOLLOW_SYSTEM`] for the system's time.
    pinned: AtomicI64,
}

const FOLLOW_SYSTEM: i64 = i64::MIN;

impl SweepClock {
    fn new() -> Self {
        SweepClock {
            pinned: AtomicI64::new(FOLLOW_SYSTEM),
        }
    }

    fn system_secs_f64() -> f64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    }
}

impl Clock for SweepClock {
    fn now_unix_secs(&self) -> u64 {
        self.now_unix_secs_f64().max(0.0) as u64
    }

    fn now_unix_secs_f64(&self) -> f64 {
        match self.pinned.load(Ordering::SeqCst) {
            FOLLOW_SYSTEM => Self::system_secs_f64(),
            pinned => pinned as f64,
        }
    }
}

/// The database and its clock: what a sweep needs.
struct Embedded {
    db: Database,
    clock: Arc<SweepClock>,
    /// One sweep at a time: each pins the clock to its own time.
    sweeping: tokio::sync::Mutex<()>,
}

#[async_trait::async_trait]
impl TtlSweeper for Embedded {
    async fn sweep_at(&self, now: i64) -> Result<usize, BackendError> {
        let _one_at_a_time = self.sweeping.lock().await;
        self.clock.pinned.store(now, Ordering::SeqCst);
        let db = self.db.clone();
        let swept = tokio::task::spawn_blocking(move || db.sweep_ttl()).await;
        self.clock.pinned.store(FOLLOW_SYSTEM, Ordering::SeqCst);
        match swept {
            Ok(Ok(deleted)) => Ok(deleted),
            Ok(Err(error)) => Err(BackendError::Embedded(format!("TTL sweep: {error}"))),
            Err(error) => Err(BackendError::Embedded(format!(
                "TTL sweep panicked: {error}"
            ))),
        }
    }
}

pub(crate) async fn start(opts: &BackendOptions) -> Result<Box<dyn Backend>, BackendError> {
    let clock = Arc::new(SweepClock::new());
    let db = Database::memory_with_clock(clock.clone()).map_err(|error| {
        BackendError::Embedded(format!("opening an in-memory database: {error}"))
    })?;
    let host = opts
        .listen_host
        .unwrap_or(std::net::IpAddr::from([127, 0, 0, 1]));
    let address = SocketAddr::new(host, opts.port.unwrap_or(0));
    // Whatever it listens on, this process reaches it on loopback.
    let listener = std::net::TcpListener::bind(address)
        .map_err(|source| BackendError::Embedded(format!("binding {address}: {source}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|error| BackendError::Embedded(format!("listening on {address}: {error}")))?;
    let port = listener
        .local_addr()
        .map_err(|error| BackendError::Embedded(format!("listening on {address}: {error}")))?
        .port();
    let server = ServerThread::spawn(listener, db.clone())?;
    let endpoint = format!("http://127.0.0.1:{port}");
    (opts.progress)(&format!(
        "dynoxide (in process) serving on {address}, at {endpoint}"
    ));
    let config = local_config(&endpoint);
    let embedded = Arc::new(Embedded {
        db,
        clock,
        sweeping: tokio::sync::Mutex::new(()),
    });
    let capabilities =
        measure_capabilities(&probe_client(&config), false, Some(embedded.as_ref())).await?;
    Ok(Box::new(DynoxideBackend {
        endpoint,
        config,
        capabilities,
        embedded,
        server,
    }))
}

/// The thread that serves HTTP until told to stop.
struct ServerThread {
    stop: Option<tokio::sync::watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl ServerThread {
    fn spawn(listener: std::net::TcpListener, db: Database) -> Result<Self, BackendError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(SERVER_THREADS)
            .thread_name("dynoxide")
            .enable_all()
            .build()
            .map_err(|error| BackendError::Embedded(format!("starting its runtime: {error}")))?;
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let thread = std::thread::Builder::new()
            .name("dynoxide-server".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            tracing::error!("dynoxide: cannot listen: {error}");
                            return;
                        }
                    };
                    let mut graceful = stopped.clone();
                    let shutdown = async move {
                        let _ = graceful.wait_for(|stop| *stop).await;
                    };
                    // A request that never finishes would hold a graceful stop forever: after the grace
                    // period the runtime is dropped with whatever is still running.
                    let forced = async {
                        let _ = stopped.wait_for(|stop| *stop).await;
                        tokio::time::sleep(STOP_GRACE).await;
                    };
                    tokio::select! {
                        served = dynoxide::server::serve_with_shutdown(listener, db, shutdown) => {
                            if let Err(error) = served {
                                tracing::error!("dynoxide: {error}");
                            }
                        }
                        () = forced => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_millis(100));
            })
            .map_err(|error| BackendError::Embedded(format!("starting its thread: {error}")))?;
        Ok(ServerThread {
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Stops serving and waits for the thread (at most about [`STOP_GRACE`]).
    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop();
    }
}

struct DynoxideBackend {
    endpoint: String,
    config: SdkConfig,
    capabilities: Capabilities,
    embedded: Arc<Embedded>,
    server: ServerThread,
}

#[async_trait::async_trait]
impl Backend for DynoxideBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Dynoxide
    }

    fn endpoint_url(&self) -> &str {
        &self.endpoint
    }

    fn region(&self) -> &str {
        LOCAL_REGION
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    fn sdk_config(&self) -> SdkConfig {
        self.config.clone()
    }

    fn ttl_sweeper(&self) -> Option<Arc<dyn TtlSweeper>> {
        Some(self.embedded.clone())
    }

    async fn shutdown(mut self: Box<Self>) -> Result<(), BackendError> {
        // Joining blocks for up to the grace period: not on the caller's runtime threads.
        let mut server = std::mem::replace(
            &mut self.server,
            ServerThread {
                stop: None,
                thread: None,
            },
        );
        tokio::task::spawn_blocking(move || server.stop())
            .await
            .map_err(|error| BackendError::Embedded(format!("stopping: {error}")))
    }
}
