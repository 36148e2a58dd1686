//! What the conformance catalogue cannot say about the reference handler: its Rust API.
//!
//! The handler's observable behaviour (return values, warnings, exception classes, DynamoDB calls, final table)
//! is specified once, by the YAML catalogue in `scenarios/conformance/`, which `tests/catalogue.rs` plays
//! against this crate through `dynamo_harness::harness!` (the `rust` subject). The tests here check only what that protocol does not carry:
//! typed errors, `GcReport`, config parsing, builder options and retry-policy internals (the protocol's own
//! entry points are tested in `dynamo-session-protocol`). Each says, in one line, why the catalogue cannot express it; the case ids name the catalogue's side.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dynamo_session::{
    Backoff, BatchConfig, ClientErrorKind, FlushLimit, ManualClock, OffsetClock, Operation,
    RetryPolicy, SessionClient, SessionConfig, SessionError, SessionHandler,
};
use serde_json::json;
use support::{Env, n, s};

const K: &str = "CAKEPHP_abc";

fn clock() -> (ManualClock, i64) {
    let c = ManualClock::at_system_now();
    let t = dynamo_session::Clock::now_unix(&c);
    (c, t)
}

/// Seeds `count` expired items `CAKEPHP_<prefix><i>`.
async fn seed_expired(env: &Env, prefix: &str, count: usize, t: i64) {
    for i in 0..count {
        env.put(&[
            ("id", s(&format!("CAKEPHP_{prefix}{i:02}"))),
            ("expires", n(t - 10)),
        ])
        .await;
    }
}

// ---------------------------------------------------------------- A. configuration

// Not in the catalogue: strict `from_sdk_options` and the typed `SessionError::InvalidInput` are Rust API (C06 has PHP's outcome).
#[tokio::test]
async fn c06_empty_table_name_is_refused_strictly_and_typed_lazily() {
    let env = Env::new().await;
    let (c, _) = clock();
    let options = json!({"table_name": ""});
    assert!(SessionConfig::from_sdk_options(options.as_object().unwrap(), 1440).is_err());
    let config =
        SessionConfig::from_sdk_options_as_php(options.as_object().unwrap(), 1440).unwrap();
    let mut h = SessionHandler::with_clock(env.client(), config, Arc::new(c));
    h.open("", "CAKEPHP");
    assert!(matches!(
        h.write("x", b"d").await,
        Err(SessionError::InvalidInput(_))
    ));
    assert!(env.calls().is_empty(), "zero requests");
}

// ---------------------------------------------------------------- B. read

// Not in the catalogue: `SessionError::code()`/`attempts()` and `state().data_read` are Rust API (C18-*, C56, C61, C62-*: read '' silently).
#[tokio::test]
async fn c18_read_failures_are_typed_errors() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))])
        .await;
    for (rules, code, attempts) in [
        (
            json!([{"match": {"op": "GetItem"}, "action": "table_missing"}]),
            "ResourceNotFoundException",
            1,
        ),
        (
            json!([{"match": {"op": "GetItem"}, "action": {"error": {"code": "AccessDeniedException"}}}]),
            "AccessDeniedException",
            1,
        ),
        // PHP's default 10 retries, without the backoff's waiting (C56 waits it out under `conform --slow`).
        (
            json!([{"match": {"op": "GetItem"}, "action": {"throttle": "ProvisionedThroughputExceededException"}, "times": 11}]),
            "ProvisionedThroughputExceededException",
            11,
        ),
    ] {
        env.faults(rules);
        let mut h = env.handler(env.config(), Arc::new(c.clone()));
        let err = h.read("abc").await.unwrap_err();
        assert_eq!((err.code(), err.attempts()), (Some(code), attempts));
        assert!(h.state().data_read.is_empty(), "{code}");
        assert_eq!(env.calls().len(), attempts as usize, "{code}");
        env.faults(json!([]));
    }
}

// ---------------------------------------------------------------- E. garbage_collect

// Not in the catalogue: `GcReport` is Rust API (C38 has the calls and the table).
#[tokio::test]
async fn c38_gc_report_counts_what_it_found_deleted_and_sent() {
    let env = Env::new().await;
    let (c, t) = clock();
    seed_expired(&env, "exp", 26, t).await;
    env.put(&[
        ("id", s("CAKEPHP_locked")),
        ("expires", n(t - 10)),
        ("lock", n(1)),
    ])
    .await;
    let report = env
        .handler(env.config(), Arc::new(c))
        .garbage_collect()
        .await
        .unwrap();
    assert_eq!(
        (report.items_found, report.deleted, report.batches_sent),
        (26, 26, 2)
    );
    assert!(report.is_complete());
    assert_eq!(env.count_items().await, 1, "the locked item stays");
}

// Not in the catalogue: `GcReport::unprocessed_requeued` is Rust API (C39 has the calls BWI(3), BWI(2)).
#[tokio::test]
async fn c39_gc_report_counts_requeued_unprocessed_items() {
    let env = Env::new().await;
    let (c, t) = clock();
    seed_expired(&env, "u", 3, t).await;
    env.faults(
        json!([{"match": {"op": "BatchWriteItem"}, "action": {"unprocessed": 2}, "times": 1}]),
    );
    let report = env
        .handler(env.config(), Arc::new(c))
        .garbage_collect()
        .await
        .unwrap();
    assert_eq!((report.unprocessed_requeued, report.deleted), (2, 3));
    assert_eq!(env.count_items().await, 0);
}

// Not in the catalogue: the `BatchConfig::on_error` callback and `GcReport::failures` are Rust API (C40: null, items remain).
#[tokio::test]
async fn c40_failed_batch_reaches_the_callback_and_the_report() {
    let env = Env::new().await;
    let (c, t) = clock();
    seed_expired(&env, "v", 3, t).await;
    env.faults(json!([{"match": {"op": "BatchWriteItem"}, "action": {"error": {"code": "ValidationException"}}}]));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let batch = BatchConfig {
        on_error: Some(Arc::new(move |f| {
            sink.lock().unwrap().push(f.error.code().map(str::to_owned))
        })),
        ..BatchConfig::default()
    };
    let report = env
        .handler(env.config().batch(batch), Arc::new(c.clone()))
        .garbage_collect()
        .await
        .unwrap();
    assert_eq!(report.failures.len(), 1);
    assert_eq!(report.failures[0].keys.len(), 3);
    assert_eq!(
        *seen.lock().unwrap(),
        [Some("ValidationException".to_owned())]
    );
    assert_eq!(env.count_items().await, 3, "items remain");
}

// Not in the catalogue: the typed error's code, and an exception's `code`, are not matched by the catalogue (C41: class only).
#[tokio::test]
async fn c41_scan_error_is_typed() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.faults(json!([{"match": {"op": "Scan"}, "action": "table_missing"}]));
    let h = env.handler(env.config(), Arc::new(c));
    let err = h.garbage_collect().await.unwrap_err();
    assert_eq!(
        (err.php_class(), err.code()),
        ("DynamoDbException", Some("ResourceNotFoundException"))
    );
}

// Not in the catalogue: the typed `SessionError::InvalidInput` and its message are Rust API (C42-26, C42-1: the class only).
#[tokio::test]
async fn c42_invalid_batch_size_is_a_typed_error_before_any_request() {
    let env = Env::new().await;
    let (c, _) = clock();
    for size in [26, 1] {
        let options = json!({"table_name": env.table, "batch_config": {"batch_size": size}});
        let config =
            SessionConfig::from_sdk_options_as_php(options.as_object().unwrap(), 1440).unwrap();
        let h = SessionHandler::with_clock(env.client(), config, Arc::new(c.clone()));
        match h.garbage_collect().await {
            Err(SessionError::InvalidInput(e)) => {
                assert_eq!(e.message, "\"batch_size\" must be between 2 and 25.")
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(env.calls().is_empty(), "not even a Scan");
}

// Not in the catalogue: `FlushLimit` (a Rust-only bound; PHP loops forever, C43 is skipped) and the `GcReport` counters are Rust API.
#[tokio::test]
async fn c43_persistent_throttling_is_bounded_and_keeps_flushing() {
    let env = Env::new().await;
    let (c, t) = clock();
    seed_expired(&env, "p", 3, t).await;
    env.faults(json!([{"match": {"op": "BatchWriteItem"}, "action": {"throttle": "ProvisionedThroughputExceededException"}}]));
    let batch = BatchConfig {
        final_flush_limit: FlushLimit {
            max_rounds: Some(5),
            deadline: None,
        },
        ..BatchConfig::default()
    };
    let config = env.config().batch(batch).build().unwrap();
    let client = env.client_with(RetryPolicy::php_retries(0));
    let h = SessionHandler::with_clock(client, config, Arc::new(c));
    let report = h.garbage_collect().await.unwrap();
    assert_eq!(report.final_flush_rounds, 5);
    assert_eq!(report.throttled_requeued, 15);
    assert_eq!(report.abandoned.len(), 3);
    assert!(!report.is_complete());
    assert_eq!(
        env.calls()
            .iter()
            .filter(|r| r.op == "BatchWriteItem")
            .count(),
        5
    );
}

// ---------------------------------------------------------------- F. locking

// Not in the catalogue: `SessionError::LockNotAcquired` is Rust API and a step's wall time has no expectation (C46, C47, C49: the calls).
#[tokio::test]
async fn c46_c49_lock_not_acquired_is_a_typed_error_within_the_wait() {
    let env = Env::new().await;
    env.put(&[("id", s(K)), ("lock", n(1))]).await;
    // The deadline is in whole seconds (§1.7: the wait lies between W-1 and W), so a wait of 1 may be one attempt.
    for (wait, max_elapsed) in [
        (1, Duration::from_millis(1500)),
        (0, Duration::from_millis(500)),
    ] {
        let config = env
            .config()
            .locking(true)
            .max_lock_wait_time(wait)
            .min_lock_retry_microtime(10_000)
            .max_lock_retry_microtime(20_000);
        let mut h = env.handler(config, Arc::new(OffsetClock::new(0)));
        let started = Instant::now();
        let result = h.read("abc").await;
        let elapsed = started.elapsed();
        let calls = env.calls();
        match result {
            Err(SessionError::LockNotAcquired { key, attempts, .. }) => {
                assert_eq!(key, K);
                assert_eq!(attempts as usize, calls.len(), "wait {wait}");
                if wait == 0 {
                    assert_eq!(attempts, 1);
                }
            }
            other => panic!("wait {wait}: {other:?}"),
        }
        assert!(
            elapsed <= max_elapsed,
            "wait {wait}: gave up after {elapsed:?}"
        );
    }
}

// ---------------------------------------------------------------- H. faults and retries

// Not in the catalogue: the delays between attempts (`Backoff::Php`) have no expectation; the catalogue asserts counts, not delays.
#[tokio::test]
async fn c56_delays_stay_within_php_bounds() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.faults(json!([{"match": {"op": "GetItem"}, "action": {"throttle": "ThrottlingException"}, "times": 4}]));
    let policy = RetryPolicy::PhpLegacy {
        max_retries: 3,
        backoff: Backoff::Php,
    };
    let mut h = SessionHandler::with_clock(
        env.client_with(policy),
        env.config().build().unwrap(),
        Arc::new(c),
    );
    let started = Instant::now();
    assert!(h.read("abc").await.is_err());
    let elapsed = started.elapsed();
    // 0 + at most 100 + at most 200 ms of sleep.
    assert!(elapsed < Duration::from_millis(300 + 500), "{elapsed:?}");
    let calls = env.calls();
    assert_eq!(calls.len(), 4);
    // The first retry follows at once; no gap exceeds its bound (plus slack for the calls themselves).
    let gaps: Vec<f64> = calls.windows(2).map(|w| w[1].dt_ms - w[0].dt_ms).collect();
    for (gap, bound) in gaps.iter().zip([0.0, 100.0, 200.0]) {
        assert!(*gap <= bound + 150.0, "gaps {gaps:?}");
    }
}

// Not in the catalogue: `ClientErrorKind` is Rust API and an exception's code and message are not matched (C60-*: class AwsException).
#[tokio::test]
async fn c60_crc32_mismatch_is_a_typed_client_error() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))])
        .await;
    env.faults(json!([{"match": {"op": "GetItem"}, "action": "bad_crc32"}]));
    let mut h = env.handler(env.config(), Arc::new(c));
    let err = h.read("abc").await.unwrap_err();
    match &err {
        SessionError::Client(e) => assert_eq!(
            (&e.kind, e.attempts),
            (&ClientErrorKind::ChecksumMismatch, 11)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (err.php_class(), err.code()),
        ("AwsException", Some("ClientChecksumMismatch"))
    );
    let message = err.php_message(&env.proxy.endpoint_url());
    assert!(
        message.starts_with("crc32 mismatch. Expected "),
        "{message}"
    );
}

// Not in the catalogue: the proxy cannot refuse a connection (its `reset` comes after connect); `connection_error` is Rust API (C64-*).
#[tokio::test]
async fn c64_refused_endpoint_is_a_retried_connection_error() {
    let (c, _) = clock();
    let client = SessionClient::from_static(
        "http://127.0.0.1:1",
        "us-east-1",
        "test",
        "test",
        RetryPolicy::php_default().without_backoff(),
    );
    let config = SessionConfig::builder(1440).build().unwrap();
    let mut h = SessionHandler::with_clock(client, config, Arc::new(c));
    match h.read("abc").await {
        Err(SessionError::Service(e)) => assert_eq!((e.connection_error, e.attempts), (true, 11)),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- I. bad input

// Not in the catalogue: `SessionError::NonUtf8Data` and `state().session_written` are Rust API (C66 and its rust deviation).
#[tokio::test]
async fn c66_non_utf8_string_data_is_a_typed_error_without_a_request() {
    let env = Env::new().await;
    let (c, _) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("abc").await.unwrap();
    env.calls();
    assert!(matches!(
        h.write("abc", &[0x80, 0xFF, 0x00, 0xC3]).await,
        Err(SessionError::NonUtf8Data { .. })
    ));
    assert!(env.calls().is_empty());
    assert!(!h.state().session_written);
}

// ---------------------------------------------------------------- typed errors

// Not in the catalogue: `SessionError::operation()` is Rust API (PHP names the operation only inside its message).
#[tokio::test]
async fn operation_is_reported_on_errors() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.faults(json!([{"match": {"op": "DeleteItem"}, "action": {"error": {"code": "AccessDeniedException"}}}]));
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(
        h.destroy("x").await.unwrap_err().operation(),
        Some(Operation::DeleteItem)
    );
}
