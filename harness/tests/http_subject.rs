//! `http:NAME=URL`: a web app the harness did not start. The test starts the Rust test app itself, on a
//! loopback dynoxide and a table of its own, and runs the HTTP cases against it as `http:mine` beside the
//! harness's own `rust-http`: the same cases pass on both, none fails. An app that does not answer is an
//! error of the run that names the subject, with exit status 2.

use std::sync::Arc;

use dynamo_backends::{BackendKind, BackendOptions, BackendTarget, TableSpec};
use tokio::sync::oneshot;

const TABLE: &str = "mine_sessions";

/// HTTP cases an app can be checked on from outside: no other configuration, no faults, no holds waiting for
/// calls (their DynamoDB calls are out of sight and not checked; the answers and the table are).
const CASES: &str = "C77,C78,C79-later,C79-same-second,C80,C81,C82,C83,C84,K-delete-key,K-increment,\
                     C83-login,C83-login-first-request,K-check-delete,K-ops-no-cookie,K-ops-refused,\
                     CM-first-visit,CM-login-cold,TRACE-c_change,TRACE-d_logout_destroy";

/// The run's output, and its report folder (removed when dropped).
async fn conform(
    endpoint: &str,
    subjects: &str,
    filter: &str,
) -> (std::process::Output, tempfile::TempDir) {
    let report = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_dynamo-harness"))
        .args(["conform", "--subjects", subjects, "--filter", filter])
        .args(["--backend", "endpoint", "--endpoint", endpoint])
        .args(["--table", TABLE, "--report"])
        .arg(report.path())
        .env_remove("COMANAGE_REGISTRY_DYNAMODB_ENDPOINT")
        .env_remove("DYNAMO_HARNESS_YES_REAL_AWS")
        .kill_on_drop(true)
        .output()
        .await
        .expect("the harness runs");
    (output, report)
}

/// (subject, case id, status) of a run, from its report.
fn outcomes(stdout: &str) -> Vec<(String, String, String)> {
    let path = stdout
        .lines()
        .find_map(|l| l.strip_prefix("report: "))
        .unwrap_or_else(|| panic!("no report line: {stdout}"));
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{path}/results.json")).unwrap()).unwrap();
    results["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_owned();
            (text("subject"), text("id"), text("status"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_run_elsewhere_passes_what_rust_http_passes() {
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
        .expect("the app's table");

    // The app, as its operator would run it: straight on its table, no harness proxy in between.
    let args = <dynamo_rust_app::Args as clap::Parser>::try_parse_from([
        "dynamo-rust-app",
        "--endpoint-url",
        backend.endpoint_url(),
        "--table",
        TABLE,
    ])
    .expect("the app's flags");
    let state = args.into_state().await.expect("the app's state");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(dynamo_rust_app::serve(listener, state, async move {
        let _ = stopped.await;
    }));

    let subjects = format!("rust-http,http:mine={app_url}");
    let (output, _report) = conform(backend.endpoint_url(), &subjects, CASES).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    let outcomes = outcomes(&stdout);
    let of = |subject: &str| -> Vec<(String, String)> {
        outcomes
            .iter()
            .filter(|(s, _, _)| s == subject)
            .map(|(_, id, status)| (id.clone(), status.clone()))
            .collect()
    };
    let mine = of("mine");
    assert_eq!(mine, of("rust-http"), "{stdout}");
    assert_eq!(mine.len(), CASES.split(',').count(), "{stdout}");
    assert!(mine.iter().all(|(_, status)| status == "pass"), "{stdout}");

    let _ = stop.send(());
    server.await.unwrap().unwrap();

    // Nobody listens there now.
    let gone = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone_url = format!("http://{}", gone.local_addr().unwrap());
    drop(gone);
    let (output, _report) = conform(
        backend.endpoint_url(),
        &format!("http:gone={gone_url}"),
        "C77",
    )
    .await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("subject http:gone") && stderr.contains(&gone_url),
        "{stderr}"
    );
    backend.shutdown().await.expect("dynoxide stops");
}
