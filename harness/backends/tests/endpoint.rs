//! The endpoint backend pointed at a server that is already running (a dynalite started here stands in for
//! "any URL"): it measures the server like the others and leaves it running when shut down.

mod common;

use dynamo_backends::{BackendError, BackendKind, BackendOptions, shared_dynalite, start};

#[tokio::test]
async fn an_existing_server_is_measured_used_and_left_running() {
    let server = shared_dynalite().await.expect("dynalite starts");
    let backend = start(&BackendOptions {
        kind: BackendKind::Endpoint,
        endpoint: Some(server.endpoint_url().to_string()),
        ..BackendOptions::default()
    })
    .await
    .expect("endpoint backend connects");
    assert_eq!(backend.endpoint_url(), server.endpoint_url());
    assert_eq!(backend.capabilities(), server.capabilities());
    assert_eq!(
        backend.pid(),
        None,
        "the endpoint backend starts no process"
    );
    common::exercise_session_calls(backend.as_ref(), &common::unique_table("endpoint")).await;
    backend.shutdown().await.expect("nothing to stop");
    let pid = server.pid().expect("dynalite is a process");
    assert!(
        common::process_exists(pid),
        "the server behind the endpoint keeps running"
    );
}

#[tokio::test]
async fn an_endpoint_nobody_listens_on_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let error = start(&BackendOptions {
        kind: BackendKind::Endpoint,
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        ..BackendOptions::default()
    })
    .await
    .err()
    .expect("nothing listens there");
    assert!(
        matches!(
            error,
            BackendError::Dynamo {
                operation: "ListTables",
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn an_endpoint_url_with_a_local_kind_is_rejected() {
    let error = start(&BackendOptions {
        kind: BackendKind::Dynalite,
        endpoint: Some("http://127.0.0.1:1".into()),
        ..BackendOptions::default()
    })
    .await
    .err()
    .expect("invalid combination");
    assert!(matches!(error, BackendError::InvalidOptions(_)), "{error}");
}
