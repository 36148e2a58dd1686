//! A backend that is a server process on 127.0.0.1 (dynalite, moto): start on a free port, wait until it
//! answers, measure what it can do, stop it.

use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::SdkConfig;

use crate::process::{ManagedChild, free_local_port, listens_on};
use crate::readiness::wait_for_list_tables;
use crate::sdk::{LOCAL_REGION, local_config, probe_client};
use crate::{
    Backend, BackendError, BackendKind, BackendOptions, Capabilities, measure_capabilities,
};

/// How to start one kind of server.
pub(crate) struct ServerLaunch<'a> {
    pub kind: BackendKind,
    /// Short name for messages, e.g. "dynalite".
    pub program: &'static str,
    /// The command for a given port (the watchdog and every flag included).
    pub command_for_port: &'a dyn Fn(u16) -> Command,
    /// How long the server may take to answer ListTables after it was spawned.
    pub ready_within: Duration,
}

/// Attempts when the port was chosen by us and turned out to be taken by the time the server bound it.
const PORT_ATTEMPTS: usize = 3;

pub(crate) async fn start_server(
    launch: ServerLaunch<'_>,
    opts: &BackendOptions,
) -> Result<Box<dyn Backend>, BackendError> {
    let attempts = if opts.port.is_some() {
        1
    } else {
        PORT_ATTEMPTS
    };
    let mut attempt = 0;
    let (child, endpoint, config) = loop {
        attempt += 1;
        let port = match opts.port {
            Some(port) => port,
            None => free_local_port()?,
        };
        let started = Instant::now();
        let child = ManagedChild::spawn(launch.program, (launch.command_for_port)(port))?;
        let endpoint = format!("http://127.0.0.1:{port}");
        let config = local_config(&endpoint);
        let probe = probe_client(&config);
        match wait_until_ours(&probe, &endpoint, &child, port, launch.ready_within).await {
            Ok(()) => {
                (opts.progress)(&format!(
                    "{} (pid {}) answered at {endpoint} after {} ms",
                    launch.program,
                    child.pid(),
                    started.elapsed().as_millis()
                ));
                break (child, endpoint, config);
            }
            Err(BackendError::ExitedEarly { output_tail, .. })
                if attempt < attempts && mentions_port_in_use(&output_tail) =>
            {
                (opts.progress)(&format!("port {port} was taken meanwhile; trying another"));
            }
            Err(err) => return Err(err),
        }
    };
    let capabilities = measure_capabilities(&probe_client(&config), false, None).await?;
    Ok(Box::new(ServerBackend {
        kind: launch.kind,
        endpoint,
        config,
        capabilities,
        child,
    }))
}

/// Waits for ListTables, then checks that the answer came from our child and not from a process that took
/// the port first (in which case our child is about to exit with "address in use": keep waiting for that).
async fn wait_until_ours(
    probe: &aws_sdk_dynamodb::Client,
    endpoint: &str,
    child: &ManagedChild,
    port: u16,
    within: Duration,
) -> Result<(), BackendError> {
    let deadline = Instant::now() + within;
    let not_ready = |last_error: String| BackendError::NotReady {
        program: child.program(),
        command: child.command_line().to_string(),
        endpoint: endpoint.to_string(),
        waited_secs: within.as_secs(),
        last_error,
        output_tail: child.output_tail(),
    };
    let exited_early = || match child.exit_status_if_exited() {
        Some(status) => Err(BackendError::ExitedEarly {
            program: child.program(),
            command: child.command_line().to_string(),
            status,
            output_tail: child.output_tail(),
        }),
        None => Ok(()),
    };
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        wait_for_list_tables(probe, remaining, exited_early, not_ready).await?;
        if listens_on(child.pid(), port) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(not_ready(format!(
                "port {port} is answered by another process"
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn mentions_port_in_use(output: &str) -> bool {
    output.contains("EADDRINUSE") || output.contains("Address already in use")
}

struct ServerBackend {
    kind: BackendKind,
    endpoint: String,
    config: SdkConfig,
    capabilities: Capabilities,
    child: ManagedChild,
}

#[async_trait::async_trait]
impl Backend for ServerBackend {
    fn kind(&self) -> BackendKind {
        self.kind
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

    fn pid(&self) -> Option<u32> {
        Some(self.child.pid())
    }

    async fn shutdown(self: Box<Self>) -> Result<(), BackendError> {
        self.child.stop().await;
        Ok(())
    }
}
