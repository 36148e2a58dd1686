//! `load` as a CI gate, end to end: the binary on the default backend (dynoxide, in process) with a tiny profile
//! and one second of load, once breaching a threshold (exit status 1, the rule named on the terminal and in
//! summary.md) and once meeting every rule (exit status 0), the second against the first as its baseline.
//!
//! One test function: the two runs are sequential on purpose (the second reads the first's summary.json).

use std::path::Path;
use std::process::{Command, Output};

const TINY_PROFILE: &str = "\
description: one user browsing for a second, for the gate tests
users: 1
hatch_rate: 4
duration_s: 1
max_requests: 100000
locking: off
ceiling: {warmup_s: 0, duration_s: 0.2, concurrency: 1, max_pairs: 2000}
scenarios:
  - kind: browse
    mix: {read: 4, write: 1}
";

fn harness(args: &[&str], profile: &Path, report: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
        .args(["load", "--subject", "rust-http", "--duration", "1"])
        .arg("--profile")
        .arg(profile)
        .arg("--report")
        .arg(report)
        .args(args)
        .output()
        .expect("the harness runs")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn thresholds_gate_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("tiny.yaml");
    std::fs::write(&profile, TINY_PROFILE).unwrap();

    // A rule no run can meet, beside one every run meets.
    let first = dir.path().join("first");
    let output = harness(
        &["--threshold", "rps>100000000", "--threshold", "p99<30s"],
        &profile,
        &first,
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("rps>100000000 BREACHED: rust-http with 1 users: rps"),
        "{stdout}"
    );
    assert!(stdout.contains("p99<30s: met on 1 point"), "{stdout}");
    let summary = std::fs::read_to_string(first.join("summary.md")).unwrap();
    assert!(summary.contains("## Thresholds"), "{summary}");
    assert!(
        summary.contains("| `rps>100000000` | 1 | **breached**: rust-http with 1 users"),
        "{summary}"
    );
    assert!(summary.contains("| `p99<30s` | 1 | met |"), "{summary}");
    // The cost of a request, part by part, is reported beside the share of the ceiling.
    assert!(summary.contains("## Cost per request"), "{summary}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(first.join("summary.json")).unwrap()).unwrap();
    let cost = &json["runs"][0]["cost"];
    assert!(cost["proxy_us"].as_f64().unwrap() > 0.0, "{cost}");
    assert!(cost["app_us"].as_f64().unwrap() > 0.0, "{cost}");
    assert!(cost["generator_us"].as_f64().unwrap() > 0.0, "{cost}");
    assert_eq!(
        json["thresholds"][0]["breaches"].as_array().unwrap().len(),
        1
    );

    // Rules every run meets, and the first run as the baseline (deltas only: no --max-regression).
    let second = dir.path().join("second");
    let baseline = first.display().to_string();
    let output = harness(
        &[
            "--threshold",
            "p99<30s",
            "--threshold",
            "errors<50%",
            "--threshold",
            "rps>0",
            "--threshold",
            "calls_per_request<=100",
            "--baseline",
            &baseline,
        ],
        &profile,
        &second,
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(!stdout.contains("BREACHED"), "{stdout}");
    assert!(stdout.contains("baseline: "), "{stdout}");
    let summary = std::fs::read_to_string(second.join("summary.md")).unwrap();
    assert!(summary.contains("## Against the baseline"), "{summary}");
    assert!(!summary.contains("## Problems"), "{summary}");
}

#[test]
fn a_bad_rule_is_refused_with_the_metrics() {
    let output = Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
        .args([
            "load",
            "--subject",
            "rust-http",
            "--profile",
            "browse",
            "--threshold",
            "p98<50ms",
        ])
        .output()
        .expect("the harness runs");
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("unknown metric `p98`"), "{stderr}");
    for metric in ["p95", "errors", "rps", "lost_updates", "ccf_per_request"] {
        assert!(stderr.contains(metric), "{metric}: {stderr}");
    }
}
