//! The `conform` command end to end, as a user outside the team runs it: their own scenario folder, loaded beside
//! (or instead of) the built-in catalogue with `--scenarios`, no code changes, a report folder written.

use std::process::Command;

const OUTSIDE_CASES: &str = r#"
group: outside
title: cases written by someone outside the team
defaults:
  config: {table_name: "{table}"}
  gc_maxlifetime: 600
  open: {name: MYAPP}
cases:
  - id: OUT-1
    title: a write then a read through a custom session name
    steps:
      - read: {id: s1}
        expect: {value: ""}
      - write: {id: s1, data: "k|s:1:\"v\";"}
        expect: {value: true, warnings: []}
    expect:
      calls:
        - {op: GetItem, request: {TableName: "{table}", Key: {id: {S: MYAPP_s1}}, ConsistentRead: true}}
        - op: UpdateItem
          request:
            TableName: "{table}"
            Key: {id: {S: MYAPP_s1}}
            AttributeUpdates:
              expires: {Value: {N: "<NOW+600>"}}
              lock: {Action: DELETE}
              data: {Value: {S: "k|s:1:\"v\";"}}
      table:
        - {id: {S: MYAPP_s1}, expires: {N: "<NOW+600>"}, data: {S: "k|s:1:\"v\";"}}
  - id: OUT-2
    title: an expectation that does not hold is reported as a failure
    steps:
      - read: {id: s2}
        expect: {value: "not there"}
"#;

#[test]
fn a_scenario_folder_from_outside_runs_without_code_changes() {
    let scenarios = tempfile::tempdir().unwrap();
    std::fs::write(scenarios.path().join("outside.yaml"), OUTSIDE_CASES).unwrap();
    let report = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
        .args([
            "conform",
            "--no-builtin",
            "--subjects",
            "rust",
            "--scenarios",
        ])
        .arg(scenarios.path())
        .arg("--report")
        .arg(report.path())
        .output()
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // OUT-2 fails on purpose: the exit status says so, and the report names the step and the values.
    assert_eq!(
        output.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("1 passed, 1 failed, 0 skipped"), "{stdout}");
    assert!(
        stdout.contains(r#"step 1:read: return value: expected "not there", got """#),
        "{stdout}"
    );

    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.path().join("results.json")).unwrap())
            .unwrap();
    assert_eq!(
        results["summary"],
        serde_json::json!({"pass": 1, "fail": 1, "skip": 0})
    );
    let first = &results["cases"][0];
    assert_eq!(first["id"], "OUT-1");
    assert_eq!(first["status"], "pass");
    let trace = report.path().join(first["trace"].as_str().unwrap());
    let recorded = dynamo_wire::read_trace(&trace).unwrap();
    assert_eq!(
        recorded.iter().map(|r| r.op.as_str()).collect::<Vec<_>>(),
        ["GetItem", "UpdateItem"]
    );
    let junit = std::fs::read_to_string(report.path().join("junit.xml")).unwrap();
    assert!(
        junit.contains(r#"<testsuite name="rust on dynoxide" tests="2" failures="1""#),
        "{junit}"
    );
    let summary = std::fs::read_to_string(report.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("**1 passed, 1 failed, 0 skipped**"),
        "{summary}"
    );
}
