//! The outcome does not depend on `--jobs`: the catalogue at 1 and at the default degree, compared case by
//! case (everything but durations and timing-dependent call counts), and in the same, catalogue order.

use dynamo_backends::{BackendKind, BackendTarget, silent_progress};
use dynamo_harness::cli::conform::DEFAULT_JOBS;
use dynamo_harness::conform::plan::{self, Plan};
use dynamo_harness::conform::result::CaseResult;
use dynamo_harness::conform::runner::RunOptions;
use dynamo_harness::environment::TtlProcessChoice;
use dynamo_harness::scenario;
use dynamo_harness::subject::SubjectSettings;

/// What a result says about the handler, without how long it took.
fn outcome(result: &CaseResult) -> String {
    format!(
        "{} {} {} {:?} {:?} {:?} {:?} {:?} {:?}",
        result.id,
        result.subject,
        result.backend,
        result.status(),
        result.blame(),
        result.reason,
        result.data,
        result.hazards,
        result.returns
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_are_the_same_at_any_degree() {
    let plan = Plan {
        cases: scenario::load_dirs(&[scenario::builtin_dir()]).expect("the catalogue loads"),
        subjects: vec!["rust".to_owned(), "rust-http".to_owned()],
        backends: vec![BackendKind::Dynoxide],
        target: BackendTarget::default(),
        options: RunOptions::default(),
        settings: SubjectSettings::default(),
        ttl_process: TtlProcessChoice::Auto,
    };
    let serial = plan::run(&plan, 1, silent_progress(), &|_| {})
        .await
        .expect("the run at --jobs 1");
    let parallel = plan::run(&plan, usize::from(DEFAULT_JOBS), silent_progress(), &|_| {})
        .await
        .expect("the run at the default degree");
    let serial: Vec<String> = serial.iter().map(outcome).collect();
    let parallel: Vec<String> = parallel.iter().map(outcome).collect();
    assert_eq!(serial.len(), plan.cases.len() * plan.subjects.len());
    for (one, many) in serial.iter().zip(&parallel) {
        assert_eq!(one, many, "--jobs 1 and --jobs {DEFAULT_JOBS} disagree");
    }
    assert_eq!(serial.len(), parallel.len());
}
