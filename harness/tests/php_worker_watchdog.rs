//! The PHP worker does not outlive the process that started it, even while it blocks in the SDK's retries:
//! a parent is killed with SIGKILL (no chance to clean up) and the worker must be gone within 1.5 s.
//!
//! The parent is a `sh` that starts the worker in the background on a stdin the test holds open, so the end of
//! stdin cannot be what stops it: only the watchdog (fixtures/php-worker/DynamoSessionWorkerWatchdog.php) can.
//! Skipped, with the reason, where php (or, for the real worker, the composer vendor tree) is missing.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

const GONE_WITHIN: Duration = Duration::from_millis(1500);

fn php() -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("php"))
            .find(|candidate| candidate.is_file())
    })
}

fn worker_dir() -> PathBuf {
    dynamo_harness::assets::checkout_root().join("fixtures/php-worker")
}

/// A vendor tree with the AWS SDK and CakePHP, as the php subject looks for one.
fn vendor() -> Option<PathBuf> {
    let root = dynamo_harness::assets::checkout_root();
    std::env::var_os("DYNAMO_SESSION_VENDOR")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            root.join("fixtures/cakephp-app/vendor"),
            root.join("plugin/DynamoSession/Vendor"),
        ])
        .find(|dir| dir.join("autoload.php").is_file())
}

/// `sh` starting `php <script>` in the background on sh's own stdin (a pipe the test holds), and the pid of
/// that php process.
struct Parent {
    sh: Child,
    stdin: ChildStdin,
    stdout: BufReader<std::process::ChildStdout>,
    worker: i32,
}

impl Parent {
    fn start(php: &std::path::Path, script: &std::path::Path, envs: &[(&str, String)]) -> Parent {
        let mut command = Command::new("sh");
        command
            // A background job's stdin is /dev/null unless redirected from a descriptor saved before.
            .arg("-c")
            .arg(r#"exec 3<&0; "$0" "$1" <&3 3<&- & echo "$!"; wait"#)
            .arg(php)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env_remove("DYNAMO_SESSION_WORKER_WATCHDOG");
        for (key, value) in envs {
            command.env(key, value);
        }
        let mut sh = command.spawn().expect("starting sh");
        let stdin = sh.stdin.take().expect("piped");
        let mut stdout = BufReader::new(sh.stdout.take().expect("piped"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("the worker's pid");
        let worker = line.trim().parse().expect("a pid");
        Parent {
            sh,
            stdin,
            stdout,
            worker,
        }
    }

    fn read_line(&mut self) -> String {
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("a line from the worker");
        line
    }

    /// Kills the parent with SIGKILL and returns how long the worker lived on (`None`: still there after 10 s).
    fn kill_and_time_the_worker(mut self) -> Option<Duration> {
        assert!(
            alive(self.worker),
            "the worker must still run before its parent dies"
        );
        self.sh.kill().expect("SIGKILL to sh");
        let killed = Instant::now();
        self.sh.wait().expect("reaping sh");
        let lived = loop {
            if !alive(self.worker) {
                break Some(killed.elapsed());
            }
            if killed.elapsed() > Duration::from_secs(10) {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        if lived.is_none() {
            // SAFETY: kill(2) on the pid this test started; it is still running (not reaped), so not reused.
            unsafe { libc::kill(self.worker, libc::SIGKILL) };
        }
        drop(self.stdin);
        lived
    }
}

/// Running, as opposed to gone or a zombie nobody reaped yet.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

#[test]
fn the_watchdog_kills_a_blocked_process_when_its_parent_dies() {
    let Some(php) = php() else {
        eprintln!("skipped: php is not installed (Debian: apt-get install php-cli)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("blocked.php");
    // Stands in for the worker inside a call: blocked in a 30 s usleep, as in the SDK's retry back-off.
    std::fs::write(
        &script,
        format!(
            "<?php\nrequire {:?};\n$on = DynamoSessionWorkerWatchdog::install();\necho $on ? \"watching\\n\" : \"no watchdog\\n\";\nusleep(30000000);\n",
            worker_dir().join("DynamoSessionWorkerWatchdog.php")
        ),
    )
    .unwrap();
    let mut parent = Parent::start(&php, &script, &[]);
    let ready = parent.read_line();
    assert_eq!(
        ready.trim(),
        "watching",
        "no watchdog started (pcntl and posix are needed)"
    );
    let lived = parent.kill_and_time_the_worker();
    let lived = lived.expect("the process outlived its parent by 10 s");
    assert!(lived < GONE_WITHIN, "the process lived on for {lived:?}");
    eprintln!("the blocked process was gone {lived:?} after its parent's SIGKILL");
}

#[test]
fn the_worker_blocked_in_sdk_retries_dies_with_its_parent() {
    let Some(php) = php() else {
        eprintln!("skipped: php is not installed (Debian: apt-get install php-cli)");
        return;
    };
    let Some(vendor) = vendor() else {
        eprintln!(
            "skipped: no composer vendor tree (set DYNAMO_SESSION_VENDOR, or {})",
            dynamo_harness::subject::php::VENDOR_HINT
        );
        return;
    };
    // A port nobody listens on: every call is refused at once and retried with the SDK's back-off.
    let refused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = refused.local_addr().unwrap().port();
    drop(refused);
    let mut parent = Parent::start(
        &php,
        &worker_dir().join("handler_worker.php"),
        &[("DYNAMO_SESSION_VENDOR", vendor.display().to_string())],
    );
    let new_handler = serde_json::json!({
        "op": "new_handler",
        "client": {"endpoint": format!("http://127.0.0.1:{port}"), "region": "us-east-1", "key": "k",
                   "secret": "s", "retries": 10},
        "config": {"table_name": "sessions"},
        "ini": {},
    });
    writeln!(parent.stdin, "{new_handler}").unwrap();
    let answer = parent.read_line();
    assert!(answer.contains("\"value\":true"), "new_handler: {answer}");
    // 10 retries: tens of seconds of back-off before the read could answer.
    writeln!(parent.stdin, r#"{{"op":"read","id":"abc"}}"#).unwrap();
    parent.stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let lived = parent
        .kill_and_time_the_worker()
        .expect("the worker outlived its parent by 10 s");
    assert!(lived < GONE_WITHIN, "the worker lived on for {lived:?}");
    eprintln!("the worker was gone {lived:?} after its parent's SIGKILL");
}
