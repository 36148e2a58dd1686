//! The container backend through testcontainers, with the image of `DYNAMO_HARNESS_CONTAINER_IMAGE` (default
//! Amazon's DynamoDB Local). Skipped, with the reason printed, where no Docker engine answers, except where
//! `DYNAMO_HARNESS_REQUIRE_DOCKER=1` (CI starts its own engine): there a missing engine fails the test.

mod common;

use dynamo_backends::{BackendError, BackendKind, BackendOptions, docker_available, start};

/// Whether this run promised an engine (CI sets it after starting dockerd).
fn engine_required() -> bool {
    std::env::var("DYNAMO_HARNESS_REQUIRE_DOCKER").is_ok_and(|value| value == "1")
}

fn image() -> Option<String> {
    std::env::var("DYNAMO_HARNESS_CONTAINER_IMAGE")
        .ok()
        .filter(|image| !image.trim().is_empty())
}

#[tokio::test]
async fn session_calls_work_in_the_container() {
    if let Err(why) = docker_available().await {
        assert!(
            !engine_required(),
            "DYNAMO_HARNESS_REQUIRE_DOCKER=1 but no Docker engine answers: {why}"
        );
        eprintln!("SKIPPED container backend test: {why}");
        return;
    }
    let backend = start(&BackendOptions {
        kind: BackendKind::Container,
        image: image(),
        ..BackendOptions::default()
    })
    .await
    .expect("container starts");
    let caps = *backend.capabilities();
    assert!(caps.ttl_api, "the image has the TTL API");
    assert!(caps.attribute_updates_value_is_put);
    assert!(caps.binary_via_attribute_updates);
    assert!(!caps.deletes_expired_items);
    assert!(
        backend.endpoint_url().starts_with("http://127.0.0.1:"),
        "published on loopback only: {}",
        backend.endpoint_url()
    );
    common::exercise_session_calls(backend.as_ref(), &common::unique_table("sessions")).await;
    backend.shutdown().await.expect("container removed");
}

#[tokio::test]
async fn without_docker_start_says_so_plainly() {
    if docker_available().await.is_ok() || engine_required() {
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
    assert!(message.contains("--backend dynoxide"), "{message}");
}

#[tokio::test]
async fn an_image_without_a_tag_is_refused_before_docker_is_asked() {
    let error = start(&BackendOptions {
        kind: BackendKind::Container,
        image: Some("amazon/dynamodb-local".into()),
        ..BackendOptions::default()
    })
    .await
    .err()
    .expect("refused");
    assert!(error.to_string().contains("must be NAME:TAG"), "{error}");
}
