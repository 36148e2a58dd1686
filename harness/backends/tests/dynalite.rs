//! dynalite for real: provisioning, the session handler's calls, capabilities, teardown.

mod common;

use dynamo_backends::{BackendKind, BackendOptions, start};

fn dynalite() -> BackendOptions {
    BackendOptions {
        kind: BackendKind::Dynalite,
        ..BackendOptions::default()
    }
}

#[tokio::test]
async fn session_calls_work_and_shutdown_leaves_no_process() {
    let backend = start(&dynalite()).await.expect("dynalite starts");
    assert_eq!(backend.kind(), BackendKind::Dynalite);
    assert!(backend.endpoint_url().starts_with("http://127.0.0.1:"));
    let pid = backend.pid().expect("dynalite is a process");
    common::exercise_session_calls(backend.as_ref(), &common::unique_table("sessions")).await;
    backend.shutdown().await.expect("shutdown");
    common::assert_nothing_left(pid);
}

#[tokio::test]
async fn capabilities_are_measured() {
    let backend = start(&dynalite()).await.expect("dynalite starts");
    let caps = backend.capabilities();
    assert!(!caps.ttl_api, "dynalite has no UpdateTimeToLive");
    assert!(
        caps.binary_via_attribute_updates,
        "dynalite keeps B values byte-exact"
    );
    assert!(!caps.deletes_expired_items);
}

#[tokio::test]
async fn drop_kills_the_server() {
    let backend = start(&dynalite()).await.expect("dynalite starts");
    let pid = backend.pid().expect("dynalite is a process");
    assert!(common::process_exists(pid));
    drop(backend);
    common::assert_nothing_left(pid);
}
