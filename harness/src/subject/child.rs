//! A child process a subject owns: its own process group, killed group-wide when dropped.
//!
//! Subjects' children have a lifeline as the backends' servers do: the PHP worker exits at the end of its stdin
//! (the protocol pipe), and servers that ignore stdin are started under `sh`, which kills the group when its
//! stdin (held by the harness) closes — so nothing outlives the harness, however it ends.

use std::collections::VecDeque;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const TAIL_LINES: usize = 40;

pub struct OwnedChild {
    child: Child,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// The task collecting the tail, until [`OwnedChild::settle_stderr`] waits for it.
    stderr_task: Option<tokio::task::JoinHandle<()>>,
}

impl OwnedChild {
    /// Spawns `command` with piped stdin and stdout (taken with [`OwnedChild::take_pipes`]) and stderr kept as
    /// a tail for error messages.
    pub fn spawn(mut command: Command) -> std::io::Result<Self> {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_task = child
            .stderr
            .take()
            .map(|stderr| keep_tail(stderr, Arc::clone(&stderr_tail)));
        Ok(OwnedChild {
            child,
            stderr_tail,
            stderr_task,
        })
    }

    /// A server that does not read stdin, wrapped so that it dies with the harness: `sh` starts it in the
    /// background and kills the whole group when its own stdin (our pipe) reaches end of file.
    pub fn spawn_server(
        program: &str,
        args: &[String],
        envs: &[(String, String)],
    ) -> std::io::Result<Self> {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(r#""$@" </dev/null & read _lifeline; kill -KILL 0"#)
            .arg("sh")
            .arg(program)
            .args(args);
        for (key, value) in envs {
            command.env(key, value);
        }
        Self::spawn(command)
    }

    pub fn take_pipes(&mut self) -> Option<(ChildStdin, ChildStdout)> {
        Some((self.child.stdin.take()?, self.child.stdout.take()?))
    }

    pub fn stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The last lines of stderr, for error messages.
    pub fn stderr_tail(&self) -> String {
        let lines = self.stderr_tail.lock().unwrap_or_else(|p| p.into_inner());
        lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// Once the child has ended: waits, at most `limit`, until its stderr is read to the end, so that
    /// [`OwnedChild::stderr_tail`] holds its last words.
    pub async fn settle_stderr(&mut self, limit: std::time::Duration) {
        if let Some(task) = self.stderr_task.take() {
            let _ = tokio::time::timeout(limit, task).await;
        }
    }

    /// The exit status, if the child has ended.
    pub fn try_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the child to end, at most `limit`; `None` if it is still running then.
    pub async fn wait_status(
        &mut self,
        limit: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for OwnedChild {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on the process group this value created; the leader is not reaped yet, so the
            // group id cannot have been reused.
            unsafe {
                libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
            }
        }
        let _ = self.child.start_kill();
        let _ = self.child.try_wait();
    }
}

fn keep_tail(
    pipe: impl AsyncRead + Unpin + Send + 'static,
    tail: Arc<Mutex<VecDeque<String>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // Bytes, not text: a line that is not UTF-8 must not stop the reading (the child would block once the
        // pipe filled).
        let mut pipe = BufReader::new(pipe);
        let mut raw = Vec::new();
        while let Ok(read) = pipe.read_until(b'\n', &mut raw).await
            && read > 0
        {
            let line = String::from_utf8_lossy(&raw)
                .trim_end_matches(['\n', '\r'])
                .to_owned();
            raw.clear();
            let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    })
}
