//! One child process that this crate owns: its own process group, stdin held open as a lifeline, output
//! drained into a bounded tail for error messages, and the whole group killed on drop.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::BackendError;

/// How many lines of the child's output are kept for error messages.
const OUTPUT_TAIL_LINES: usize = 40;

/// How long a polite stop (stdin closed, SIGTERM) may take before the group is killed.
const GRACEFUL_STOP: Duration = Duration::from_secs(5);

/// A running server process.
///
/// Three independent mechanisms make sure it does not outlive its owner:
/// - `Drop` kills the whole process group (SIGKILL) and reaps the leader;
/// - the child is the leader of a new process group, so a Ctrl-C in the terminal reaches only the harness
///   (which then stops the group itself) and a group kill also reaches anything the server spawned;
/// - the child's stdin is a pipe whose write end only this value holds: the server is started under a
///   watchdog that exits at stdin EOF, so if the harness dies without running any destructor (SIGKILL, abort,
///   a `static` never dropped), the kernel closes the pipe and the server exits by itself.
pub(crate) struct ManagedChild {
    program: &'static str,
    command_line: String,
    child: Child,
    /// Kept only to be closed: dropping it is the "please exit" signal the watchdog listens for.
    lifeline: Option<ChildStdin>,
    output: Arc<Mutex<VecDeque<String>>>,
    reaped: bool,
}

impl ManagedChild {
    /// Starts `command` as `program` (a short name used in messages) in a new process group.
    pub(crate) fn spawn(program: &'static str, mut command: Command) -> Result<Self, BackendError> {
        let command_line = describe(&command);
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn().map_err(|source| BackendError::Spawn {
            command: command_line.clone(),
            source,
        })?;
        let output = Arc::new(Mutex::new(VecDeque::with_capacity(OUTPUT_TAIL_LINES)));
        // Both pipes must be drained continuously: a chatty server (moto logs every request) would block on a
        // full pipe otherwise. The threads end by themselves when the pipes close.
        if let Some(stdout) = child.stdout.take() {
            drain_into_tail(stdout, Arc::clone(&output));
        }
        if let Some(stderr) = child.stderr.take() {
            drain_into_tail(stderr, Arc::clone(&output));
        }
        let lifeline = child.stdin.take();
        Ok(ManagedChild {
            program,
            command_line,
            child,
            lifeline,
            output,
            reaped: false,
        })
    }

    pub(crate) fn program(&self) -> &'static str {
        self.program
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn command_line(&self) -> &str {
        &self.command_line
    }

    /// The last lines the child printed (stdout and stderr interleaved).
    pub(crate) fn output_tail(&self) -> String {
        let lines = self
            .output
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        lines
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The exit status if the child has exited, without reaping it. Not reaping matters: while the leader is
    /// an unreaped zombie its pid (= the process group id) cannot be reused, so a later group kill can never
    /// hit an unrelated process.
    pub(crate) fn exit_status_if_exited(&self) -> Option<String> {
        // SAFETY: waitid with a zeroed siginfo_t out-parameter, for our own child's pid; WNOWAIT leaves the
        // child waitable.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let rc = libc::waitid(
                libc::P_PID,
                self.child.id(),
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            if rc != 0 || info.si_pid() == 0 {
                return None;
            }
            Some(match info.si_code {
                libc::CLD_EXITED => format!("exit code {}", info.si_status()),
                _ => format!("killed by signal {}", info.si_status()),
            })
        }
    }

    /// Stops politely: closes stdin (the watchdog exits), sends SIGTERM to the group, waits up to a few
    /// seconds, then kills the group and reaps the leader.
    pub(crate) async fn stop(mut self) {
        self.lifeline = None;
        self.signal_group(libc::SIGTERM);
        let deadline = Instant::now() + GRACEFUL_STOP;
        while self.exit_status_if_exited().is_none() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // Drop does the rest: SIGKILL to whatever is left in the group, then reap. Reaping a process that has
        // exited or was just SIGKILLed does not block for any noticeable time, so doing it inline is fine.
        drop(self);
    }

    fn signal_group(&self, signal: libc::c_int) {
        if self.reaped {
            return;
        }
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on the process group we created; the unreaped leader pins the group id.
        unsafe {
            libc::kill(-pgid, signal);
        }
    }

    /// Kills the group and reaps the leader; safe to call more than once.
    fn kill_and_reap(&mut self) {
        if self.reaped {
            return;
        }
        self.lifeline = None;
        self.signal_group(libc::SIGKILL);
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for ManagedChild {
    fn drop(&mut self) {
        self.kill_and_reap();
    }
}

fn drain_into_tail(pipe: impl Read + Send + 'static, tail: Arc<Mutex<VecDeque<String>>>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            let text = String::from_utf8_lossy(&line).trim_end().to_string();
            line.clear();
            let mut lines = tail.lock().unwrap_or_else(|poison| poison.into_inner());
            if lines.len() == OUTPUT_TAIL_LINES {
                lines.pop_front();
            }
            lines.push_back(text);
        }
    });
}

/// `program arg arg ...` for messages.
pub(crate) fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Finds `program` on PATH, like `command -v`.
pub(crate) fn find_on_path(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// A port on 127.0.0.1 that was free a moment ago. Another process may take it before the server binds it;
/// callers that did not get a fixed port retry with a new one when the server reports the address in use.
pub(crate) fn free_local_port() -> Result<u16, BackendError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|source| BackendError::io("binding a free port on", "127.0.0.1", source))
}

/// Whether process `pid` itself holds a socket listening on TCP `port` (IPv4 or IPv6).
///
/// Used after a readiness probe succeeds: between choosing a free port and the server binding it another
/// process may have taken the port, and then the probe would have been answered by a stranger.
pub(crate) fn listens_on(pid: u32, port: u16) -> bool {
    let listening_inodes: Vec<String> = ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let local_port = fields.get(1)?.rsplit_once(':')?.1;
                    let listening = *fields.get(3)? == "0A";
                    (listening && u16::from_str_radix(local_port, 16).ok()? == port)
                        .then(|| fields.get(9).map(|inode| inode.to_string()))
                        .flatten()
                })
                .collect::<Vec<_>>()
        })
        .collect();
    if listening_inodes.is_empty() {
        return false;
    }
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target
                .strip_prefix("socket:[")
                .and_then(|rest| rest.strip_suffix(']'))
                .map(str::to_string)
        })
        .any(|inode| listening_inodes.contains(&inode))
}
