//! The servers exit by themselves when their owner dies without running any destructor (SIGKILL): they
//! watch their stdin pipe, whose write end only the owner held.
//!
//! The owner here is this same test binary, re-executed with an environment variable that turns the
//! `owner_process` test into "start a backend, print its pid, wait to be killed".

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dynamo_backends::{BackendKind, BackendOptions, start};

const OWNER_ENV: &str = "DYNAMO_BACKENDS_TEST_OWNER_KIND";

/// Not a test on its own: does something only when re-executed by `server_outlives_no_sigkilled_owner`.
#[tokio::test]
async fn owner_process() {
    let Ok(kind) = std::env::var(OWNER_ENV) else {
        return;
    };
    let options = BackendOptions {
        kind: kind.parse().expect("a backend kind"),
        ..BackendOptions::default()
    };
    let backend = start(&options).await.expect("backend starts");
    println!("SERVER_PID={}", backend.pid().expect("a process"));
    // Wait to be SIGKILLed; the backend is never dropped.
    std::future::pending::<()>().await;
}

/// Whether `pid` has exited: gone, or a zombie waiting for a reaper that is not us.
fn exited(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn server_exits_after_owner_is_sigkilled(kind: BackendKind) {
    let mut owner = Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "owner_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(OWNER_ENV, kind.as_str())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("re-execute the test binary");
    let stdout = owner.stdout.take().expect("piped");
    let (pid_tx, pid_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // libtest prints "test owner_process ... " on the same line first.
            if let Some((_, pid)) = line.split_once("SERVER_PID=") {
                let _ = pid_tx.send(pid.trim().parse::<u32>().expect("a pid"));
            }
        }
    });
    let server_pid = match pid_rx.recv_timeout(Duration::from_secs(120)) {
        Ok(pid) => pid,
        Err(err) => {
            let _ = owner.kill();
            panic!("the owner process never reported its server pid: {err}");
        }
    };
    assert!(!exited(server_pid), "the server runs while its owner lives");

    owner.kill().expect("SIGKILL the owner");
    owner.wait().expect("reap the owner");

    let deadline = Instant::now() + Duration::from_secs(15);
    while !exited(server_pid) {
        assert!(
            Instant::now() < deadline,
            "{kind} server {server_pid} still runs 15 s after its owner was SIGKILLed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let left: Vec<u32> = common::processes_in_group(server_pid)
        .into_iter()
        .filter(|pid| !exited(*pid))
        .collect();
    assert!(
        left.is_empty(),
        "processes left in group {server_pid}: {left:?}"
    );
}

#[test]
fn dynalite_exits_when_its_owner_is_sigkilled() {
    if std::env::var_os(OWNER_ENV).is_some() {
        return;
    }
    server_exits_after_owner_is_sigkilled(BackendKind::Dynalite);
}

#[test]
fn moto_exits_when_its_owner_is_sigkilled() {
    if std::env::var_os(OWNER_ENV).is_some() {
        return;
    }
    server_exits_after_owner_is_sigkilled(BackendKind::Moto);
}
