//! Installing the servers' packages into a per-user cache folder, once, at the pinned versions.
//!
//! Each install lives in its own folder (`<cache>/dynamo-harness/<tool>-<version>/`) and is complete only
//! when its `.complete` marker exists. An exclusive `flock` around the install means that several test
//! binaries (or a test and a CLI) provisioning at the same moment do the work once; an install interrupted
//! half-way has no marker and is redone from scratch next time.

pub(crate) mod npm;
pub(crate) mod pip;

use std::collections::VecDeque;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};

use crate::{BackendError, Progress};

/// Overrides the cache root (default: the platform cache folder, e.g. `~/.cache`).
pub const CACHE_DIR_ENV: &str = "DYNAMO_HARNESS_CACHE_DIR";

/// `<cache>/dynamo-harness`, created if missing.
pub fn cache_root() -> Result<PathBuf, BackendError> {
    let root = match std::env::var_os(CACHE_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => dirs::cache_dir()
            .unwrap_or_else(std::env::temp_dir)
            .join("dynamo-harness"),
    };
    std::fs::create_dir_all(&root)
        .map_err(|e| BackendError::io("creating cache folder", &root, e))?;
    Ok(root)
}

/// Returns `<cache root>/<name>`, running `install` into it first unless a previous install completed.
/// `install` gets an empty folder and must fill it; only after it succeeds is the folder marked complete.
pub(crate) async fn ensure_installed<F, Fut>(
    name: &str,
    install: F,
) -> Result<PathBuf, BackendError>
where
    F: FnOnce(PathBuf) -> Fut,
    Fut: std::future::Future<Output = Result<(), BackendError>>,
{
    let root = cache_root()?;
    let dir = root.join(name);
    let marker = dir.join(".complete");
    if marker.exists() {
        return Ok(dir);
    }
    let lock_path = root.join(format!("{name}.lock"));
    let _lock = lock_exclusive(lock_path).await?;
    // Someone else may have finished while we waited for the lock.
    if marker.exists() {
        return Ok(dir);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .map_err(|e| BackendError::io("removing incomplete install", &dir, e))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| BackendError::io("creating", &dir, e))?;
    install(dir.clone()).await?;
    std::fs::write(&marker, b"").map_err(|e| BackendError::io("writing", &marker, e))?;
    Ok(dir)
}

/// Holds an exclusive advisory lock until dropped (closing the file releases it).
struct InstallLock {
    _locked: File,
}

async fn lock_exclusive(path: PathBuf) -> Result<InstallLock, BackendError> {
    // flock blocks for as long as another process installs (a minute, the first time), so it runs on the
    // blocking pool rather than stalling the async runtime.
    tokio::task::spawn_blocking(move || {
        let file =
            File::create(&path).map_err(|e| BackendError::io("creating lock file", &path, e))?;
        // SAFETY: flock(2) on a file descriptor we own for the duration of the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(BackendError::io(
                "locking",
                &path,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(InstallLock { _locked: file })
    })
    .await
    .expect("the lock task does not panic")
}

/// Runs a provisioning command to completion, passing each output line to `progress` (prefixed with
/// `label`) and keeping the last lines for the error if it fails.
pub(crate) async fn run_logged(
    label: &str,
    mut command: tokio::process::Command,
    progress: &Progress,
) -> Result<(), BackendError> {
    const TAIL: usize = 30;
    let command_line = crate::process::describe(command.as_std());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Own group, killed if this future is dropped (e.g. Ctrl-C during a first install).
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|source| BackendError::Spawn {
        command: command_line.clone(),
        source,
    })?;
    // Both streams feed one channel so their lines keep roughly the order they were printed in.
    let (lines_tx, mut lines_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    forward_lines(child.stdout.take().expect("piped"), lines_tx.clone());
    forward_lines(child.stderr.take().expect("piped"), lines_tx);
    let mut tail = VecDeque::with_capacity(TAIL);
    while let Some(line) = lines_rx.recv().await {
        if !line.trim().is_empty() {
            progress(&format!("{label}: {line}"));
        }
        if tail.len() == TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
    let status = child.wait().await.map_err(|source| BackendError::Spawn {
        command: command_line.clone(),
        source,
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(BackendError::CommandFailed {
            command: command_line,
            status: status.to_string(),
            output_tail: Vec::from(tail).join("\n"),
        })
    }
}

fn forward_lines(
    pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
    sink: tokio::sync::mpsc::UnboundedSender<String>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if sink.send(line).is_err() {
                break;
            }
        }
    });
}

/// Writes `contents` to `path` unless it already holds exactly that (write to a temporary name, then rename,
/// so a concurrent reader never sees half a file).
pub(crate) fn write_if_changed(path: &Path, contents: &str) -> Result<(), BackendError> {
    if std::fs::read_to_string(path).is_ok_and(|existing| existing == contents) {
        return Ok(());
    }
    let temporary = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&temporary, contents).map_err(|e| BackendError::io("writing", &temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| BackendError::io("renaming into place", path, e))
}
