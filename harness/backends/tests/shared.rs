//! `shared_dynalite`: one server per test binary, usable from every `#[tokio::test]` (each has its own runtime).

mod common;

use aws_sdk_dynamodb::Client;
use dynamo_backends::shared_dynalite;

#[tokio::test]
async fn first_test_uses_the_shared_server() {
    let backend = shared_dynalite().await.expect("dynalite starts");
    common::exercise_session_calls(backend.as_ref(), &common::unique_table("shared_a")).await;
}

#[tokio::test]
async fn second_test_gets_the_same_server() {
    let first = shared_dynalite().await.expect("dynalite starts");
    let second = shared_dynalite().await.expect("dynalite starts");
    assert_eq!(first.pid(), second.pid());
    assert_eq!(first.endpoint_url(), second.endpoint_url());
    common::exercise_session_calls(second.as_ref(), &common::unique_table("shared_b")).await;
    Client::new(&second.sdk_config())
        .list_tables()
        .send()
        .await
        .expect("a client built in this test's runtime works");
}
