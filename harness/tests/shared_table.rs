//! `conform --table NAME`: the catalogue on one table the run did not create, as on real AWS, tried on a
//! loopback server. The cases pass; the run leaves none of its items behind and touches nobody else's; it
//! prints its calls and the request-unit estimate.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use dynamo_backends::{BackendKind, BackendOptions, BackendTarget, TableSpec};

const TABLE: &str = "operators_sessions";

/// Someone else's session on the same table, written before the run.
const OTHER_KEY: &str = "otherappCAKEPHP_keepme";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_on_a_shared_table_passes_and_leaves_it_as_it_was() {
    let backend = dynamo_backends::start(&BackendOptions::for_kind(
        BackendKind::Dynoxide,
        &BackendTarget::default(),
        Arc::new(|_: &str| {}),
    ))
    .await
    .expect("dynoxide starts");
    let client = aws_sdk_dynamodb::Client::new(&backend.sdk_config());
    dynamo_backends::provision_table(&client, backend.capabilities(), &TableSpec::named(TABLE))
        .await
        .expect("the operator's table");
    client
        .put_item()
        .table_name(TABLE)
        .item("id", AttributeValue::S(OTHER_KEY.to_owned()))
        .item("data", AttributeValue::S("theirs".to_owned()))
        .send()
        .await
        .expect("seeding another app's item");

    let report = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
        .args([
            "conform",
            "--subjects",
            "rust,rust-http",
            "--group",
            "B,E,K",
        ])
        .args([
            "--backend",
            "endpoint",
            "--endpoint",
            backend.endpoint_url(),
        ])
        .args(["--table", TABLE, "--report"])
        .arg(report.path())
        .env_remove("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT")
        .env_remove("DYNAMO_HARNESS_YES_REAL_AWS")
        .kill_on_drop(true)
        .output()
        .await
        .expect("the harness runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");

    let summary = stdout
        .lines()
        .find(|l| l.contains(" passed, "))
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    let passed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_default();
    assert!(passed >= 20, "{summary}");
    assert!(summary.contains(" 0 failed"), "{summary}");
    // Both faces ran: handler cases on rust, web cases on rust-http.
    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(report.path().join("results.json")).expect("results.json"),
    )
    .expect("results.json is JSON");
    for subject in ["rust", "rust-http"] {
        let passed = results["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .filter(|c| c["subject"] == subject && c["status"] == "pass")
            .count();
        assert!(passed >= 5, "{subject} passed {passed} cases: {stdout}");
    }
    assert!(
        stdout.contains("garbage collection scans the whole table"),
        "the gc cases are skipped with the reason: {stdout}"
    );
    let estimate = stdout
        .lines()
        .find(|l| l.starts_with("estimated request units: "))
        .unwrap_or_else(|| panic!("no estimate line: {stdout}"));
    assert!(
        estimate.contains(" read, ") && estimate.contains(" write "),
        "{estimate}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("calls: ")),
        "no call count line: {stdout}"
    );
    assert!(
        stdout.contains(&format!("table {TABLE}: removed the run's ")),
        "{stdout}"
    );

    let left: Vec<String> = client
        .scan()
        .table_name(TABLE)
        .consistent_read(true)
        .send()
        .await
        .expect("scanning the table afterwards")
        .items
        .unwrap_or_default()
        .iter()
        .filter_map(|item| item.get("id")?.as_s().ok().cloned())
        .collect();
    assert_eq!(left, [OTHER_KEY], "only the other app's item is left");
    backend.shutdown().await.expect("dynoxide stops");
}
