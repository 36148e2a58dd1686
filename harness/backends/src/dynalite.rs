//! dynalite: `node --require <stdin-watchdog.js> <pkg>/cli.js --host 127.0.0.1 --port N ...`, in memory.

use std::process::Command;
use std::time::Duration;

use crate::provision::npm::ensure_dynalite;
use crate::server::{ServerLaunch, start_server};
use crate::{Backend, BackendError, BackendKind, BackendOptions};

pub(crate) async fn start(opts: &BackendOptions) -> Result<Box<dyn Backend>, BackendError> {
    let install = ensure_dynalite(&opts.progress).await?;
    let command_for_port = |port: u16| {
        let mut command = Command::new(&install.node);
        command
            .arg("--require")
            .arg(&install.watchdog_js)
            .arg(&install.cli_js)
            .args(["--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            // Table state changes are instant: nothing in a test should wait for CREATING -> ACTIVE.
            .args([
                "--createTableMs",
                "0",
                "--deleteTableMs",
                "0",
                "--updateTableMs",
                "0",
            ]);
        command
    };
    start_server(
        ServerLaunch {
            kind: BackendKind::Dynalite,
            program: "dynalite",
            command_for_port: &command_for_port,
            ready_within: Duration::from_secs(30),
        },
        opts,
    )
    .await
}
