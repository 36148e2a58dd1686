//! The load path end to end, briefly: dynalite, the raw ceiling, rust-http behind the wire proxy, goose users
//! browsing and incrementing one shared session, without and with locking, and the reports.
//!
//! One test function on purpose: goose keeps process-wide state (its killswitch), so two attacks must not run
//! at once in one test binary.

use std::collections::BTreeMap;
use std::time::Duration;

use dynamo_backends::BackendKind;
use dynamo_harness::load::profile::{
    CeilingSpec, LockingMode, Profile, ScenarioKind, ScenarioSpec,
};
use dynamo_harness::load::{self, LoadRequest, RunStatus, report};
use dynamo_harness::subject::SubjectSettings;

fn smoke_profile() -> Profile {
    let scenario = |kind, mix: &[(&str, usize)]| ScenarioSpec {
        kind,
        weight: 1,
        mix: mix
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect::<BTreeMap<_, _>>(),
        wait_ms: None,
    };
    Profile {
        name: "smoke".to_owned(),
        description: "browse and a hot session, two users each".to_owned(),
        users: 4,
        hatch_rate: Some(8.0),
        duration_s: 2,
        iterations: None,
        max_requests: 200_000,
        locking: LockingMode::Both,
        compare_users: vec![4],
        seed_expired: 0,
        ceiling: CeilingSpec {
            warmup_s: 0.0,
            duration_s: 0.5,
            concurrency: 2,
            max_pairs: 10_000,
        },
        scenarios: vec![
            scenario(ScenarioKind::Browse, &[("read", 5), ("write", 1)]),
            scenario(ScenarioKind::HotSession, &[]),
        ],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_http_on_dynalite_runs_and_reports() {
    let reports = tempfile::tempdir().unwrap();
    let profile = smoke_profile();
    let request = LoadRequest {
        subjects: vec!["rust-http".to_owned(), load::URL_SUBJECT.to_owned()],
        users: vec![profile.users],
        duration: Duration::from_secs(profile.duration_s),
        locking: profile.locking.variants(),
        backend: BackendKind::Dynoxide,
        target: Default::default(),
        url: None,
        report_dir: reports.path().to_owned(),
        settings: SubjectSettings::default(),
        generator_threads: 1,
        request_timeout: Duration::from_secs(15),
        profile,
    };
    let progress = dynamo_backends::silent_progress();
    // Bounded: ceiling, ramp-up and run of two points, plus backend start-up.
    let outcome = tokio::time::timeout(
        Duration::from_secs(120),
        load::run(&request, progress, &|_| {}),
    )
    .await
    .expect("the smoke run finishes in two minutes")
    .expect("the smoke run");

    let rust: Vec<_> = outcome
        .runs
        .iter()
        .filter(|r| r.subject == "rust-http")
        .collect();
    assert_eq!(
        rust.len(),
        2,
        "one point without locking, one with: {:#?}",
        outcome.runs
    );
    for run in &rust {
        assert_eq!(run.status, RunStatus::Ran, "{run:#?}");
        assert!(run.requests_total > 0, "{run:#?}");
        assert_eq!(run.failures_total, 0, "{run:#?}");
        assert!(run.requests_per_s.unwrap() > 0.0);
        let ceiling = run.ceiling.as_ref().expect("a ceiling before every point");
        assert!(
            ceiling.pairs_per_s > 0.0 && ceiling.errors == 0,
            "{ceiling:?}"
        );
        let ops = &run.calls_per_request_by_op;
        assert!(ops.contains_key("UpdateItem"), "{ops:?}");
        assert!(run.calls_per_request.unwrap() >= 1.0, "{run:#?}");
        assert!(run.ceiling_fraction.unwrap() > 0.0);
        let generator = run.generator_cpu.as_ref().expect("generator CPU on Linux");
        assert!(
            generator.cpu_s > 0.0 && generator.share < 1.0,
            "{generator:?}"
        );
        assert!(
            reports
                .path()
                .join(run.html_report.as_ref().unwrap())
                .is_file()
        );
        let hot = run.hot.as_ref().expect("the shared-session check");
        assert!(hot.increments_ok > 0);
        let counter = hot.final_counter.expect("the counter survives");
        assert_eq!(hot.lost_updates, hot.increments_ok.saturating_sub(counter));
    }
    let locked = rust.iter().find(|r| r.locking).unwrap();
    let hot = locked.hot.as_ref().unwrap();
    assert_eq!(
        hot.lost_updates, 0,
        "locking serialises the increments: {hot:?}"
    );

    let url = outcome
        .runs
        .iter()
        .find(|r| r.subject == load::URL_SUBJECT)
        .unwrap();
    assert_eq!(url.status, RunStatus::Skipped);
    assert!(url.reason.as_deref().unwrap().contains("--url"));

    report::write_folder(reports.path(), &outcome).unwrap();
    let summary = std::fs::read_to_string(reports.path().join("summary.md")).unwrap();
    assert!(summary.contains("| rust-http (locking) | 4 |"), "{summary}");
    assert!(summary.contains("skipped [1]"), "{summary}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.path().join("summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 3);
    assert!(
        report::problems(&outcome).is_empty(),
        "{:?}",
        report::problems(&outcome)
    );
}
