//! CPU accounting: how much of the machine the load generator itself used.
//!
//! The generator (goose and its users) runs on threads of its own, so its CPU can be told apart from the
//! wire proxy's, which shares the harness process. Each generator thread adds its own `getrusage(RUSAGE_THREAD)`
//! to a shared total when it ends; the process total (`RUSAGE_SELF`) is sampled around the run as well.
//!
//! The other parts of a run are told apart by [`sample`]: every thread of the harness from /proc/self/task,
//! grouped by the names the harness gives its runtimes ([`PROXY_THREADS`], [`APP_THREADS`]), and every child
//! process (php-fpm, nginx, php -S, a backend's server) from /proc, grouped by program.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// CPU microseconds used by a set of threads, added as each one ends.
#[derive(Debug, Clone, Default)]
pub struct ThreadCpu(Arc<AtomicU64>);

impl ThreadCpu {
    /// Adds the calling thread's CPU time so far; call it last thing on the thread.
    pub fn add_current_thread(&self) {
        if let Some(used) = current_thread_cpu() {
            self.0.fetch_add(used.as_micros() as u64, Ordering::Relaxed);
        }
    }

    pub fn total(&self) -> Duration {
        Duration::from_micros(self.0.load(Ordering::Relaxed))
    }
}

/// The calling thread's user+system CPU time; `None` where the OS cannot tell per thread.
pub fn current_thread_cpu() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        rusage(libc::RUSAGE_THREAD)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The whole process's user+system CPU time.
pub fn process_cpu() -> Option<Duration> {
    rusage(libc::RUSAGE_SELF)
}

fn rusage(who: libc::c_int) -> Option<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given and reads nothing from it.
    let rc = unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: getrusage returned 0, so it filled the struct (and it started zeroed anyway).
    let usage = unsafe { usage.assume_init() };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Some(Duration::from_micros(
        micros(usage.ru_utime) + micros(usage.ru_stime),
    ))
}

/// Where CPU time went, by part: the harness process's threads grouped by the names their runtimes give them,
/// and the harness's child processes (the PHP app's servers, a backend's server) by program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The load generator's threads (`load-gen*`).
    Generator,
    /// The wire proxy's runtime (`wire-proxy`).
    Proxy,
    /// The subject's runtime (`subject-app`): the in-process app (rust-http).
    InProcessApp,
    /// The in-process backend's threads (`dynoxide*`).
    InProcessBackend,
    /// Every other thread of the harness: its main runtime (progress, ceiling client), blocking pools.
    HarnessOther,
    /// PHP processes: php-fpm's master and pool, or php -S and its workers.
    Php,
    /// nginx in front of php-fpm.
    WebServer,
    /// A backend's server process (node for dynalite, python for moto).
    BackendProcess,
    /// Any other child process.
    OtherProcess,
}

/// Thread names the harness gives its runtimes, so their CPU can be told apart (at most 15 bytes: Linux keeps
/// no more of a thread's name).
pub const GENERATOR_THREADS: &str = "load-gen";
pub const PROXY_THREADS: &str = "wire-proxy";
pub const APP_THREADS: &str = "subject-app";

impl Part {
    fn of_thread(name: &str) -> Part {
        if name.starts_with(GENERATOR_THREADS) {
            Part::Generator
        } else if name.starts_with(PROXY_THREADS) {
            Part::Proxy
        } else if name.starts_with(APP_THREADS) {
            Part::InProcessApp
        } else if name.starts_with("dynoxide") {
            Part::InProcessBackend
        } else {
            Part::HarnessOther
        }
    }

    fn of_process(name: &str) -> Part {
        if name.starts_with("php") {
            Part::Php
        } else if name.starts_with("nginx") {
            Part::WebServer
        } else if name.starts_with("node")
            || name.starts_with("python")
            || name.starts_with("moto")
            || name.starts_with("java")
        {
            Part::BackendProcess
        } else {
            Part::OtherProcess
        }
    }
}

/// CPU ticks so far of every live thread of this process and every live descendant process, by id.
#[derive(Debug, Clone, Default)]
pub struct CpuSample {
    threads: std::collections::HashMap<u32, (Part, u64)>,
    processes: std::collections::HashMap<u32, (Part, u64)>,
}

/// Reads /proc; empty where there is none.
pub fn sample() -> CpuSample {
    let mut out = CpuSample::default();
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.filter_map(Result::ok) {
            let Some(tid) = task
                .file_name()
                .to_str()
                .and_then(|t| t.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(stat) = read_stat(&task.path().join("stat")) {
                out.threads
                    .insert(tid, (Part::of_thread(&stat.comm), stat.ticks));
            }
        }
    }
    let me = std::process::id();
    let mut parent_of = std::collections::HashMap::new();
    let mut stats = std::collections::HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.filter_map(Result::ok) {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            if let Some(stat) = read_stat(&entry.path().join("stat")) {
                parent_of.insert(pid, stat.ppid);
                stats.insert(pid, stat);
            }
        }
    }
    for (pid, stat) in stats {
        // A descendant: some ancestor is this process (bounded walk: /proc can change under us).
        let mut at = stat.ppid;
        for _ in 0..64 {
            if at == me {
                out.processes
                    .insert(pid, (Part::of_process(&stat.comm), stat.ticks));
                break;
            }
            match parent_of.get(&at) {
                Some(&up) if up != at => at = up,
                _ => break,
            }
        }
    }
    out
}

struct Stat {
    comm: String,
    ppid: u32,
    /// utime + stime, in clock ticks.
    ticks: u64,
}

/// `pid (comm) state ppid ... utime stime ...` (proc(5)); the name may hold spaces and parentheses.
fn read_stat(path: &std::path::Path) -> Option<Stat> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // fields[0] is the state (field 3 of the line), so field N is fields[N - 3].
    let ppid = fields.get(1)?.parse().ok()?;
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(Stat {
        comm,
        ppid,
        ticks: utime + stime,
    })
}

/// Clock ticks per second, the unit of /proc's CPU times.
fn ticks_per_s() -> f64 {
    // SAFETY: sysconf has no preconditions; it answers -1 for an unknown name.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 { hz as f64 } else { 100.0 }
}

impl CpuSample {
    /// CPU each part used between `before` and `self`. A thread or process that started in between counts
    /// whole; one that ended in between is lost (the generator's threads are therefore counted apart, as they
    /// end, by [`ThreadCpu`]).
    pub fn since(&self, before: &CpuSample) -> std::collections::BTreeMap<Part, Duration> {
        let hz = ticks_per_s();
        let mut out = std::collections::BTreeMap::new();
        for (now, then) in [
            (&self.threads, &before.threads),
            (&self.processes, &before.processes),
        ] {
            for (id, (part, ticks)) in now {
                let earlier = then.get(id).map_or(0, |(_, t)| *t);
                let used = ticks.saturating_sub(earlier);
                *out.entry(*part).or_insert(Duration::ZERO) +=
                    Duration::from_secs_f64(used as f64 / hz);
            }
        }
        out
    }
}

/// CPU used over a wall-clock span, as a share of everything the machine could have given in that span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuShare {
    pub cpu_s: f64,
    pub wall_s: f64,
    pub cores: usize,
    /// `cpu_s / (wall_s × cores)`, 0 to 1.
    pub share: f64,
}

impl CpuShare {
    pub fn of(cpu: Duration, wall: Duration) -> CpuShare {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_s = cpu.as_secs_f64();
        let wall_s = wall.as_secs_f64();
        CpuShare {
            cpu_s,
            wall_s,
            cores,
            share: if wall_s > 0.0 {
                cpu_s / (wall_s * cores as f64)
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse() {
        let line =
            "4242 (load-gen (x) 1) S 17 4242 4242 0 -1 4194368 1 0 0 0 250 31 0 0 20 0 3 0 9 1 1";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.comm, "load-gen (x) 1");
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.ticks, 281);
        assert_eq!(Part::of_thread(&stat.comm), Part::Generator);
        assert_eq!(Part::of_thread("wire-proxy"), Part::Proxy);
        assert_eq!(Part::of_thread("tokio-runtime-w"), Part::HarnessOther);
        assert_eq!(Part::of_process("php-fpm8.2"), Part::Php);
        assert_eq!(Part::of_process("nginx"), Part::WebServer);
    }

    #[test]
    fn samples_see_a_named_busy_thread() {
        if std::fs::metadata("/proc/self/task").is_err() {
            return;
        }
        let before = sample();
        std::thread::Builder::new()
            .name("wire-proxy-test".to_owned())
            .spawn(move || {
                let start = current_thread_cpu().unwrap_or_default();
                while current_thread_cpu().unwrap_or_default() < start + Duration::from_millis(60) {
                    std::hint::black_box((0..1000).sum::<u64>());
                }
                // Sampled while alive: a thread that has ended is gone from /proc.
                let used = sample().since(&before);
                assert!(
                    used.get(&Part::Proxy).copied().unwrap_or_default()
                        >= Duration::from_millis(30),
                    "{used:?}"
                );
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn a_busy_thread_reports_its_own_cpu() {
        let total = ThreadCpu::default();
        let recorder = total.clone();
        std::thread::spawn(move || {
            // Spin until the thread has used measurable CPU; no sleeping, so all of it is ours.
            let start = current_thread_cpu();
            if start.is_some() {
                while current_thread_cpu().unwrap() < Duration::from_millis(20) {
                    std::hint::black_box((0..1000).sum::<u64>());
                }
            }
            recorder.add_current_thread();
        })
        .join()
        .unwrap();
        if current_thread_cpu().is_some() {
            assert!(total.total() >= Duration::from_millis(20));
            assert!(total.total() < Duration::from_secs(5));
        }
        let share = CpuShare::of(Duration::from_secs(1), Duration::from_secs(2));
        assert!(share.share > 0.0 && share.share <= 0.5);
    }

    /// The attack relies on this: a runtime's worker threads have run `on_thread_stop` by the time
    /// `shutdown_timeout` returns, so their CPU is in the total.
    #[test]
    fn runtime_workers_report_their_cpu_before_shutdown_returns() {
        if current_thread_cpu().is_none() {
            return;
        }
        let total = ThreadCpu::default();
        let on_stop = total.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_stop(move || on_stop.add_current_thread())
            .build()
            .unwrap();
        runtime.block_on(async {
            tokio::spawn(async {
                while current_thread_cpu().unwrap() < Duration::from_millis(30) {
                    std::hint::black_box((0..1000).sum::<u64>());
                }
            })
            .await
            .unwrap();
        });
        runtime.shutdown_timeout(Duration::from_secs(10));
        assert!(
            total.total() >= Duration::from_millis(30),
            "{:?}",
            total.total()
        );
    }
}
