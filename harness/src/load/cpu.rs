//! CPU accounting: how much of the machine the load generator itself used.
//!
//! The generator (goose and its users) runs on threads of its own, so its CPU can be told apart from the
//! wire proxy's, which shares the harness process. Each generator thread adds its own `getrusage(RUSAGE_THREAD)`
//! to a shared total when it ends; the process total (`RUSAGE_SELF`) is sampled around the run as well.

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
