//! DynamoDB Local through testcontainers. Skipped, with the reason printed, where no Docker engine answers.

mod common;

use dynamo_backends::{BackendError, BackendKind, BackendOptions, docker_available, start};

#[tokio::test]
async fn session_calls_work_on_dynamodb_local() {
    if let Err(why) = docker_available().await {
        eprintln!("SKIPPED container backend test: {why}");
        return;
    }
    let backend = start(&BackendOptions {
        kind: BackendKind::Container,
        ..BackendOptions::default()
    })
    .await
    .expect("container starts");
    let caps = *backend.capabilities();
    assert!(caps.ttl_api, "DynamoDB Local has the TTL API");
    assert!(caps.binary_via_attribute_updates);
    assert!(!caps.deletes_expired_items);
    common::exercise_session_calls(backend.as_ref(), &common::unique_table("sessions")).await;
    backend.shutdown().await.expect("container removed");
}

#[tokio::test]
async fn without_docker_start_says_so_plainly() {
    if docker_available().await.is_ok() {
        eprintln!(
            "SKIPPED: a Docker engine answers here, so the no-Docker message cannot be checked"
        );
        return;
    }
    let error = start(&BackendOptions {
        kind: BackendKind::Container,
        ..BackendOptions::default()
    })
    .await
    .err()
    .expect("no Docker, no container");
    assert!(
        matches!(error, BackendError::DockerUnavailable { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("no Docker engine answered"), "{message}");
    assert!(message.contains("--backend dynalite"), "{message}");
}
