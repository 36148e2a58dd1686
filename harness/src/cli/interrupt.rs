//! Ctrl-C (SIGINT) for the long-running commands: they end with exit status 130, the shell's convention for
//! "interrupted", and `conform` still writes the report of the cases that finished.
//!
//! [`until_interrupted`] (conform) races a command's work against SIGINT. When the signal wins, the work's
//! future is dropped, which stops everything it started: backends and subjects kill their children on drop,
//! and dynoxide's thread ends with its handle.
//!
//! [`until_interrupted_gently`] (load, compare) asks the work to stop instead and waits for it, so the points
//! that ran are reported; a second Ctrl-C drops it. For load, asking is goose's killswitch, which the load
//! runner already treats as "stop, report what ran". Once goose runs it takes SIGINT over (its handler
//! replaces ours) and triggers the killswitch itself; [`load_was_interrupted`] reads either afterwards.

use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dynamo_backends::BackendKind;
use tokio::signal::unix::{SignalKind, signal};

use crate::conform::plan::Event;
use crate::conform::result::CaseResult;
use crate::scenario::Case;

/// The exit status of an interrupted run (128 + SIGINT).
pub const EXIT_INTERRUPTED: u8 = 130;

/// How a raced piece of work ended.
#[derive(Debug)]
pub enum Outcome<T> {
    Done(T),
    Interrupted,
}

/// Runs `work` until it completes or SIGINT arrives. The handler is installed before `work` is first polled,
/// so a Ctrl-C at any moment after this call is seen.
pub async fn until_interrupted<F: Future>(work: F) -> anyhow::Result<Outcome<F::Output>> {
    use anyhow::Context as _;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(tokio::select! {
        biased;
        _ = sigint.recv() => Outcome::Interrupted,
        output = work => Outcome::Done(output),
    })
}

/// How gently interrupted work ended.
#[derive(Debug)]
pub enum Gentle<T> {
    /// It finished, having been asked to stop or not.
    Done { output: T, interrupted: bool },
    /// A second Ctrl-C came before it finished: it was dropped.
    Abandoned,
}

/// Set once a SIGINT reached [`until_interrupted_gently`].
static SIGINT_SEEN: AtomicBool = AtomicBool::new(false);

/// Runs `work`; the first SIGINT calls `ask_stop` (and again every 50 ms until `work` ends, for work that
/// clears its stop flag when a phase starts, as goose does when an attack begins) and waits for `work`, a
/// second one drops it.
pub async fn until_interrupted_gently<F: Future>(
    work: F,
    ask_stop: fn(),
) -> anyhow::Result<Gentle<F::Output>> {
    use anyhow::Context as _;
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut work = std::pin::pin!(work);
    tokio::select! {
        biased;
        _ = sigint.recv() => {}
        output = &mut work => return Ok(Gentle::Done { output, interrupted: false }),
    }
    SIGINT_SEEN.store(true, Ordering::SeqCst);
    eprintln!("interrupted (Ctrl-C): stopping; Ctrl-C again to stop at once without a report");
    let mut again = tokio::time::interval(Duration::from_millis(50));
    loop {
        tokio::select! {
            biased;
            _ = sigint.recv() => return Ok(Gentle::Abandoned),
            output = &mut work => return Ok(Gentle::Done { output, interrupted: true }),
            _ = again.tick() => ask_stop(),
        }
    }
}

/// Asks a load run to stop: goose's killswitch, which the runner and goose both watch.
pub fn stop_goose() {
    if !goose::is_killswitch_triggered() {
        goose::trigger_killswitch("SIGINT received");
    }
}

/// Whether the user stopped a load run with Ctrl-C: seen by [`until_interrupted_gently`], or by goose once it
/// had taken the signal over. (The runner resets the killswitch after its own stops, max_requests and the
/// time bound, so what is left set is the user's.)
pub fn load_was_interrupted() -> bool {
    SIGINT_SEEN.load(Ordering::SeqCst) || goose::is_killswitch_triggered()
}

/// The results of the cases that finished, collected from the run's events, for the report of an
/// interrupted run.
#[derive(Default)]
pub struct Finished {
    results: Mutex<Vec<CaseResult>>,
}

impl Finished {
    /// Keeps a copy of every `CaseDone`; call it from the run's event callback.
    pub fn note(&self, event: &Event<'_>) {
        if let Event::CaseDone(result) = event {
            self.results
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((*result).clone());
        }
    }

    /// The results so far, in the order a complete run reports them: backend, subject, case.
    pub fn in_order(
        &self,
        backends: &[BackendKind],
        subjects: &[String],
        cases: &[Case],
    ) -> Vec<CaseResult> {
        let mut results =
            std::mem::take(&mut *self.results.lock().unwrap_or_else(|p| p.into_inner()));
        fn index<T>(items: &[T], hit: impl Fn(&T) -> bool) -> usize {
            items.iter().position(hit).unwrap_or(usize::MAX)
        }
        results.sort_by_key(|result| {
            (
                index(backends, |b| b.as_str() == result.backend),
                index(subjects, |s| *s == result.subject),
                index(cases, |c| c.id == result.id),
            )
        });
        results
    }
}
