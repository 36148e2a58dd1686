//! moto's server: the venv's python, with a stdin watchdog thread, then `moto.server.main`.

use std::process::Command;
use std::time::Duration;

use crate::provision::pip::ensure_moto;
use crate::server::{ServerLaunch, start_server};
use crate::{Backend, BackendError, BackendKind, BackendOptions};

/// Runs moto's server (the same `main` the `moto_server` script calls) after starting a daemon thread that
/// exits the interpreter when stdin reaches EOF, i.e. when the harness holding the pipe is gone.
/// `os._exit` rather than `sys.exit`: the latter only ends the thread it runs in.
const MOTO_WITH_STDIN_WATCHDOG: &str = "\
import os, sys, threading
def _exit_when_stdin_closes():
    try:
        while sys.stdin.buffer.read(65536):
            pass
    finally:
        os._exit(0)
threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
";

pub(crate) async fn start(opts: &BackendOptions) -> Result<Box<dyn Backend>, BackendError> {
    let python = ensure_moto(&opts.progress).await?;
    let command_for_port = |port: u16| {
        let mut command = Command::new(&python);
        command
            .args(["-c", MOTO_WITH_STDIN_WATCHDOG])
            .args(["-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            // Python buffers its log output when it is not a terminal; unbuffered keeps the error tail useful.
            .env("PYTHONUNBUFFERED", "1");
        command
    };
    start_server(
        ServerLaunch {
            kind: BackendKind::Moto,
            program: "moto",
            command_for_port: &command_for_port,
            // Importing moto takes a few seconds on a slow machine.
            ready_within: Duration::from_secs(60),
        },
        opts,
    )
    .await
}
