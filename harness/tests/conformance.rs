//! The whole catalogue against the `rust` subject on the embedded backend, one test per case (libtest-mimic),
//! so a failure names its case: `cargo test -p dynamo-harness --test conformance -- C12`.

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use dynamo_backends::{BackendKind, BackendOptions};
use dynamo_harness::conform::plan::{TtlProcessChoice, backdrop_of, must_run_alone};
use dynamo_harness::conform::result::Status;
use dynamo_harness::conform::runner::{RunOptions, run_case, skip_reason};
use dynamo_harness::scenario::{self, Case};
use dynamo_harness::subject::Level;
use dynamo_harness::subject::rust::RustSubject;
use libtest_mimic::{Arguments, Failed, Trial};

fn main() -> std::process::ExitCode {
    let args = Arguments::from_args();
    let cases =
        scenario::load_dirs(&[scenario::builtin_dir()]).expect("the built-in catalogue loads");
    let runtime = Arc::new(
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime"),
    );
    // One dynoxide for the whole binary; every case makes its own table and proxy, so trials run in parallel
    // (a case that must run alone takes `ALONE` exclusively, as `conform --jobs` does).
    let backend = runtime
        .block_on(dynamo_backends::start(&BackendOptions {
            kind: BackendKind::Dynoxide,
            ..BackendOptions::default()
        }))
        .expect("dynoxide starts");
    let backdrop = Arc::new(
        runtime
            .block_on(backdrop_of(backend.as_ref(), TtlProcessChoice::Auto))
            .expect("the backend's credentials"),
    );
    let subject = Arc::new(RustSubject::new());
    let options = RunOptions::default();

    let trials: Vec<Trial> = cases
        .into_iter()
        .filter(|case| case.level == Level::Handler)
        .enumerate()
        .map(|(sequence, case)| trial(case, sequence, &runtime, &backdrop, &subject, &options))
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    drop(backend);
    conclusion.exit_code()
}

/// Cases take it shared; one that must run alone takes it exclusively.
static ALONE: RwLock<()> = RwLock::new(());

/// Held for the length of a trial.
#[allow(dead_code)]
enum Guard {
    Alone(RwLockWriteGuard<'static, ()>),
    Shared(RwLockReadGuard<'static, ()>),
}

fn trial(
    case: Case,
    sequence: usize,
    runtime: &Arc<tokio::runtime::Runtime>,
    backdrop: &Arc<dynamo_harness::conform::runner::Backdrop>,
    subject: &Arc<RustSubject>,
    options: &RunOptions,
) -> Trial {
    let name = format!("{}::{}", case.group, case.id);
    // A skipped case is an ignored test whose name carries the reason, so `cargo test` says why.
    if let Some(reason) = skip_reason(&case, subject.as_ref(), options) {
        return Trial::test(format!("{name} (skipped: {reason})"), || Ok(()))
            .with_ignored_flag(true);
    }
    let runtime = Arc::clone(runtime);
    let backdrop = Arc::clone(backdrop);
    let subject = Arc::clone(subject);
    let options = options.clone();
    Trial::test(name, move || {
        let alone = must_run_alone(&case, &backdrop);
        let _guard = match alone {
            true => Guard::Alone(ALONE.write().unwrap_or_else(|p| p.into_inner())),
            false => Guard::Shared(ALONE.read().unwrap_or_else(|p| p.into_inner())),
        };
        let result = runtime.block_on(run_case(
            &case,
            subject.as_ref(),
            &backdrop,
            None,
            &options,
            sequence,
        ));
        match result.status {
            Status::Pass | Status::Skip => Ok(()),
            Status::Fail => Err(Failed::from(format!(
                "{}\n{}",
                result.reason.unwrap_or_default(),
                result.diff.unwrap_or_default()
            ))),
        }
    })
}
