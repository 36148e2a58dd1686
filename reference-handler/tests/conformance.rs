//! The handler-level cases of spec §6 (A–J) against dynalite, through the recording proxy.
//!
//! Each test is named after the case it covers. Requests are compared exactly (JSON equality) with the
//! shapes of spec §0; time comes from a ManualClock (OffsetClock where a lock wait must elapse).

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use dynamo_session::compat::CompatHandler;
use dynamo_session::{
    Backoff, BatchConfig, ClientErrorKind, CloseAction, DataAttributeType, FlushLimit, ManualClock,
    OffsetClock, Operation, RetryPolicy, SessionClient, SessionConfig, SessionError,
    SessionHandler,
};
use serde_json::{Value, json};
use support::{Env, assert_calls, n, ops, s};

const K: &str = "CAKEPHP_abc";
const BYTES: [u8; 7] = [0x80, 0xFF, 0x00, 0x61, 0x62, 0x63, 0xC3];

fn clock() -> (ManualClock, i64) {
    let c = ManualClock::at_system_now();
    let t = dynamo_session::Clock::now_unix(&c);
    (c, t)
}

fn b64(data: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(data)
}

// ---------------------------------------------------------------- A. configuration and keys

#[tokio::test]
async fn c01_construction_and_open_send_nothing() {
    let env = Env::new().await;
    let (c, _) = clock();
    let config = SessionConfig::from_sdk_options(&serde_json::Map::new(), 1440).unwrap();
    assert_eq!(
        (config.table_name(), config.session_lifetime()),
        ("sessions", 1440)
    );
    let mut h = SessionHandler::with_clock(env.client(), config, Arc::new(c));
    assert!(h.open("", "CAKEPHP"));
    assert!(h.gc(1440));
    assert!(env.calls().is_empty());
}

#[tokio::test]
async fn c02_lifetime_is_fixed_at_construction() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("a").await.unwrap();
    h.write("a", b"x").await.unwrap();
    let calls = env.calls();
    assert_eq!(
        calls[1].request,
        env.putd_req("CAKEPHP_a", t + 1440, json!({"S": "x"}))
    );
}

#[tokio::test]
async fn c03_zero_lifetime_expires_at_once() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config().session_lifetime(0), Arc::new(c));
    h.read("abc").await.unwrap();
    h.write("abc", b"d").await.unwrap();
    env.calls();
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_calls(
        &env.calls(),
        &[
            ("GetItem", env.get_req(K, true)),
            ("DeleteItem", env.del_req(K)),
        ],
    );
    assert!(env.get(K).await.is_none());
    let _ = t;
}

#[tokio::test]
async fn c05_c70_keys_in_requests() {
    let env = Env::new().await;
    let (c, _) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    for (name, id, key) in [
        ("CAKEPHP", "abc", "CAKEPHP_abc"),
        ("", "abc", "abc"),
        ("__N__", "__id__", "N_____id"),
        ("CAKEPHP", "", "CAKEPHP"),
        ("CAKEPHP", "a,b-c", "CAKEPHP_a,b-c"),
    ] {
        h.open("", name);
        h.read(id).await.unwrap();
        assert_calls(&env.calls(), &[("GetItem", env.get_req(key, true))]);
    }
}

#[tokio::test]
async fn c06_empty_table_name_throws_with_zero_requests() {
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
    let mut compat = CompatHandler::from_handler(h);
    let out = compat.write("x", b"d").await;
    let e = out.exception.unwrap();
    assert_eq!(e.class, "InvalidArgumentException");
    assert!(out.warnings.is_empty());
    assert!(env.calls().is_empty(), "zero requests");
}

#[tokio::test]
async fn c07_non_boolean_consistent_read_throws_from_read_only() {
    let env = Env::new().await;
    let (c, _) = clock();
    let options = json!({"table_name": env.table, "consistent_read": 0});
    let config =
        SessionConfig::from_sdk_options_as_php(options.as_object().unwrap(), 1440).unwrap();
    let mut compat = CompatHandler::from_handler({
        let mut h = SessionHandler::with_clock(env.client(), config.clone(), Arc::new(c.clone()));
        h.open("", "CAKEPHP");
        h
    });
    let out = compat.read("x").await;
    assert_eq!(out.exception.unwrap().class, "InvalidArgumentException");
    assert!(env.calls().is_empty(), "zero requests");
    // Writes never send ConsistentRead, and the locking read does not either.
    assert_eq!(compat.write("x", b"d").await.value, Value::Bool(true));
    let locking = SessionConfig::from_sdk_options_as_php(
        json!({"table_name": env.table, "consistent_read": 0, "locking": true})
            .as_object()
            .unwrap(),
        1440,
    )
    .unwrap();
    let mut h = SessionHandler::with_clock(env.client(), locking, Arc::new(c));
    h.open("", "CAKEPHP");
    assert_eq!(h.read("y").await.unwrap(), b"");
    assert_eq!(ops(&env.calls()), ["UpdateItem", "UpdateItem"]);
}

#[tokio::test]
async fn c08_type_b_writes_s() {
    let env = Env::new().await;
    let (c, t) = clock();
    let options = json!({"table_name": env.table, "data_attribute_type": "B"});
    let config = SessionConfig::from_sdk_options(options.as_object().unwrap(), 1440).unwrap();
    let mut h = SessionHandler::with_clock(env.client(), config, Arc::new(c));
    h.open("", "CAKEPHP");
    h.read("x").await.unwrap();
    h.write("x", b"v").await.unwrap();
    assert_eq!(
        env.calls()[1].request,
        env.putd_req("CAKEPHP_x", t + 1440, json!({"S": "v"}))
    );
}

#[tokio::test]
async fn c09_custom_attribute_names() {
    let env = Env::with_hash_key("sid").await;
    let (c, t) = clock();
    let config = env
        .config()
        .hash_key("sid")
        .data_attribute("d")
        .session_lifetime_attribute("ttl");
    let mut h = env.handler(config, Arc::new(c.clone()));
    assert_eq!(h.read("a").await.unwrap(), b"");
    h.write("a", b"v").await.unwrap();
    let item = env.get_by("sid", "CAKEPHP_a").await.unwrap();
    assert_eq!(item.get("d"), Some(&s("v")));
    assert_eq!(item.get("ttl"), Some(&n(t + 1440)));
    // read needs both ttl and d
    let mut h2 = env.handler(
        env.config()
            .hash_key("sid")
            .data_attribute("d")
            .session_lifetime_attribute("ttl"),
        Arc::new(c.clone()),
    );
    assert_eq!(h2.read("a").await.unwrap(), b"v");
    c.advance(2000);
    let _ = h2.garbage_collect().await.unwrap();
    let calls = env.calls();
    let scan = calls.iter().find(|r| r.op == "Scan").unwrap();
    assert_eq!(
        scan.request,
        json!({"TableName": env.table, "AttributesToGet": ["sid"],
               "ScanFilter": {"ttl": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": (t + 2000).to_string()}]},
                              "lock": {"ComparisonOperator": "NULL"}}})
    );
    assert_eq!(
        calls[0].request,
        json!({"TableName": env.table, "Key": {"sid": {"S": "CAKEPHP_a"}}, "ConsistentRead": true})
    );
    assert_eq!(
        calls[1].request,
        json!({"TableName": env.table, "Key": {"sid": {"S": "CAKEPHP_a"}},
               "AttributeUpdates": {"ttl": {"Value": {"N": (t + 1440).to_string()}}, "lock": {"Action": "DELETE"}, "d": {"Value": {"S": "v"}}}})
    );
    assert!(env.get_by("sid", "CAKEPHP_a").await.is_none(), "collected");
}

// ---------------------------------------------------------------- B. read

#[tokio::test]
async fn c10_absent_item_reads_empty_and_creates_nothing() {
    let env = Env::new().await;
    let (c, _) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_calls(&env.calls(), &[("GetItem", env.get_req(K, true))]);
    assert!(env.get(K).await.is_none());
}

#[tokio::test]
async fn c11_live_item_reads_its_data() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))])
        .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"x");
    assert_calls(&env.calls(), &[("GetItem", env.get_req(K, true))]);
}

#[tokio::test]
async fn c12_expired_item_read_deletes_and_returns_empty() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t - 5)), ("data", s("x"))])
        .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_calls(
        &env.calls(),
        &[
            ("GetItem", env.get_req(K, true)),
            ("DeleteItem", env.del_req(K)),
        ],
    );
    assert!(env.get(K).await.is_none());
    assert!(h.state().session_written);
}

#[tokio::test]
async fn c13_expiry_equal_to_now_counts_as_expired() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t)), ("data", s("x"))])
        .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_eq!(ops(&env.calls()), ["GetItem", "DeleteItem"]);
}

#[tokio::test]
async fn c14_item_without_expires_reads_empty_and_stays() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.put(&[("id", s(K)), ("data", s("q"))]).await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_eq!(ops(&env.calls()), ["GetItem"]);
    assert_eq!(env.get(K).await.unwrap().get("data"), Some(&s("q")));
}

#[tokio::test]
async fn c15_item_without_data_reads_empty_and_stays() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100))]).await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_eq!(ops(&env.calls()), ["GetItem"]);
    assert!(env.get(K).await.is_some());
}

#[tokio::test]
async fn c16_binary_item_reads_byte_exact_under_string_config() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[
        ("id", s(K)),
        ("expires", n(t + 100)),
        ("data", AttributeValue::B(Blob::new(BYTES.to_vec()))),
    ])
    .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), BYTES);
}

#[tokio::test]
async fn c17_consistent_read_false_is_sent() {
    let env = Env::new().await;
    let (c, _) = clock();
    let mut h = env.handler(env.config().consistent_read(false), Arc::new(c));
    h.read("abc").await.unwrap();
    assert_calls(&env.calls(), &[("GetItem", env.get_req(K, false))]);
}

#[tokio::test]
async fn c18_read_failures_read_empty_without_warning() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))])
        .await;
    let cases = [
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
        (
            json!([{"match": {"op": "GetItem"}, "action": {"throttle": "ProvisionedThroughputExceededException"}, "times": 11}]),
            "ProvisionedThroughputExceededException",
            11,
        ),
    ];
    for (rules, code, attempts) in cases {
        env.faults(rules);
        let mut h = env.handler(env.config(), Arc::new(c.clone()));
        let err = h.read("abc").await.unwrap_err();
        assert_eq!((err.code(), err.attempts()), (Some(code), attempts));
        assert!(h.state().data_read.is_empty());
        let mut compat =
            CompatHandler::from_handler(env.handler(env.config(), Arc::new(c.clone())));
        env.faults(json!([]));
        env.calls();
        env.faults(match code {
            "ResourceNotFoundException" => json!([{"match": {"op": "GetItem"}, "action": "table_missing"}]),
            "AccessDeniedException" => json!([{"match": {"op": "GetItem"}, "action": {"error": {"code": "AccessDeniedException"}}}]),
            _ => json!([{"match": {"op": "GetItem"}, "action": {"throttle": code}, "times": 11}]),
        });
        let out = compat.read("abc").await;
        assert_eq!(
            (
                out.value.clone(),
                out.warnings.len(),
                out.exception.is_none()
            ),
            (json!({"b64": ""}), 0, true),
            "{code}"
        );
        assert_eq!(env.calls().len(), attempts as usize);
        env.faults(json!([]));
    }
}

#[tokio::test]
async fn c19_failed_expired_delete_warns_and_close_touches() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t - 5)), ("data", s("x"))])
        .await;
    env.faults(json!([{"match": {"op": "DeleteItem"}, "action": {"error": {"code": "AccessDeniedException", "message": "denied"}}}]));
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let out = compat.read("abc").await;
    assert_eq!(out.value, json!({"b64": ""}));
    assert_eq!(out.warnings.len(), 1);
    assert!(out.warnings[0].starts_with("Error deleting session CAKEPHP_abc: Error executing \"DeleteItem\" on \"http://127.0.0.1:"), "{}", out.warnings[0]);
    assert!(
        out.warnings[0].contains("AccessDeniedException (client): denied"),
        "{}",
        out.warnings[0]
    );
    assert!(!compat.handler().state().session_written);
    env.faults(json!([]));
    env.calls();
    assert_eq!(compat.close("abc").await.value, Value::Bool(true));
    assert_calls(&env.calls(), &[("UpdateItem", env.touch_req(K, t + 1440))]);
}

// ---------------------------------------------------------------- C. write and change tracking

#[tokio::test]
async fn c20_first_write_puts_data_expires_and_removes_lock() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("a").await.unwrap(), b"");
    h.write("a", b"a|i:1;").await.unwrap();
    assert_calls(
        &env.calls(),
        &[
            ("GetItem", env.get_req("CAKEPHP_a", true)),
            (
                "UpdateItem",
                env.putd_req("CAKEPHP_a", t + 1440, json!({"S": "a|i:1;"})),
            ),
        ],
    );
    let item = env.get("CAKEPHP_a").await.unwrap();
    assert_eq!(item.len(), 3);
    assert_eq!(
        (item.get("expires"), item.get("data")),
        (Some(&n(t + 1440)), Some(&s("a|i:1;")))
    );
}

#[tokio::test]
async fn c21_unchanged_data_only_touches() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))])
        .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("abc").await.unwrap();
    h.write("abc", b"x").await.unwrap();
    assert_eq!(env.calls()[1].request, env.touch_req(K, t + 1440));
    let item = env.get(K).await.unwrap();
    assert_eq!(
        (item.get("data"), item.get("expires")),
        (Some(&s("x")), Some(&n(t + 1440)))
    );
}

#[tokio::test]
async fn c22_changed_to_empty_deletes_data() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))])
        .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("abc").await.unwrap();
    h.write("abc", b"").await.unwrap();
    assert_eq!(env.calls()[1].request, env.deld_req(K, t + 1440));
    let item = env.get(K).await.unwrap();
    assert_eq!(item.len(), 2);
    assert!(!item.contains_key("data"));
}

#[tokio::test]
async fn c23_empty_write_of_absent_item_creates_it() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("abc").await.unwrap();
    h.write("abc", b"").await.unwrap();
    assert_eq!(env.calls()[1].request, env.touch_req(K, t + 1440));
    let item = env.get(K).await.unwrap();
    assert_eq!(item.len(), 2);
}

#[tokio::test]
async fn c24_other_id_counts_as_changed() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[
        ("id", s("CAKEPHP_A")),
        ("expires", n(t + 100)),
        ("data", s("x")),
    ])
    .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("A").await.unwrap(), b"x");
    h.write("B", b"x").await.unwrap();
    assert_eq!(
        env.calls()[1].request,
        env.putd_req("CAKEPHP_B", t + 1440, json!({"S": "x"}))
    );
    assert_eq!(h.state().open_session_id, "B");
}

#[tokio::test]
async fn c25_data_read_is_not_refreshed_by_write() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))])
        .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("abc").await.unwrap();
    h.write("abc", b"y").await.unwrap();
    h.write("abc", b"x").await.unwrap();
    let calls = env.calls();
    assert_eq!(
        calls[1].request,
        env.putd_req(K, t + 1440, json!({"S": "y"}))
    );
    assert_eq!(calls[2].request, env.touch_req(K, t + 1440));
    assert_eq!(env.get(K).await.unwrap().get("data"), Some(&s("y")));
}

#[tokio::test]
async fn c26_c67_binary_write_is_byte_exact() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(
        env.config().data_attribute_type(DataAttributeType::Binary),
        Arc::new(c),
    );
    h.read("abc").await.unwrap();
    h.write("abc", &BYTES).await.unwrap();
    assert_eq!(
        env.calls()[1].request,
        env.putd_req(K, t + 1440, json!({"B": "gP8AYWJjww=="}))
    );
    assert_eq!(
        env.get(K).await.unwrap().get("data"),
        Some(&AttributeValue::B(Blob::new(BYTES.to_vec())))
    );
    assert_eq!(h.read("abc").await.unwrap(), BYTES);
}

#[tokio::test]
async fn c27_write_validation_error_returns_false_with_warning_after_one_request() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.faults(json!([{"match": {"op": "UpdateItem"}, "action": {"error": {"code": "ValidationException", "message": "nope"}}}]));
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let out = compat.write("x", b"d").await;
    assert_eq!(out.value, Value::Bool(false));
    assert_eq!(out.warnings.len(), 1);
    let w = &out.warnings[0];
    assert!(
        w.starts_with(
            "Error writing session CAKEPHP_x: Error executing \"UpdateItem\" on \"http://127.0.0.1:"
        ),
        "{w}"
    );
    assert!(
        w.contains("resulted in a `400 Bad Request` response"),
        "{w}"
    );
    assert!(w.contains(" ValidationException (client): nope - {"), "{w}");
    assert_eq!(env.calls().len(), 1);
}

#[tokio::test]
async fn c28_zero_string_is_data() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("abc").await.unwrap();
    h.write("abc", b"0").await.unwrap();
    assert_eq!(
        env.calls()[1].request,
        env.putd_req(K, t + 1440, json!({"S": "0"}))
    );
}

// ---------------------------------------------------------------- D. close

#[tokio::test]
async fn c29_close_after_successful_write_sends_nothing() {
    let env = Env::new().await;
    let (c, _) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("abc").await.unwrap();
    h.write("abc", b"x").await.unwrap();
    env.calls();
    assert_eq!(h.close("abc").await.unwrap(), CloseAction::AlreadyWritten);
    assert!(env.calls().is_empty());
}

#[tokio::test]
async fn c30_abort_touches_and_releases_the_lock() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config(), Arc::new(c.clone()));
    h.read("abc").await.unwrap();
    assert_eq!(h.close("abc").await.unwrap(), CloseAction::Touched);
    assert_calls(
        &env.calls(),
        &[
            ("GetItem", env.get_req(K, true)),
            ("UpdateItem", env.touch_req(K, t + 1440)),
        ],
    );
    let mut h = env.handler(env.config().locking(true), Arc::new(c));
    h.read("abc").await.unwrap();
    assert_eq!(env.get(K).await.unwrap().get("lock"), Some(&n(1)));
    h.close("abc").await.unwrap();
    assert_calls(
        &env.calls(),
        &[
            ("UpdateItem", env.lock_req(K)),
            ("UpdateItem", env.touch_req(K, t + 1440)),
        ],
    );
    assert!(!env.get(K).await.unwrap().contains_key("lock"));
}

#[tokio::test]
async fn c31_failed_write_then_close_touches() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.faults(json!([{"match": {"op": "UpdateItem"}, "action": {"error": {"code": "ValidationException"}}, "times": 1}]));
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    compat.read("abc").await;
    assert_eq!(compat.write("abc", b"d").await.value, Value::Bool(false));
    assert_eq!(compat.close("abc").await.value, Value::Bool(true));
    let calls = env.calls();
    assert_eq!(ops(&calls), ["GetItem", "UpdateItem", "UpdateItem"]);
    assert_eq!(calls[2].request, env.touch_req(K, t + 1440));
}

#[tokio::test]
async fn c32_close_outside_a_session_touches_the_bare_name() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    h.close("").await.unwrap();
    assert_calls(
        &env.calls(),
        &[("UpdateItem", env.touch_req("CAKEPHP", t + 1440))],
    );
    assert_eq!(env.get("CAKEPHP").await.unwrap().len(), 2);
}

#[tokio::test]
async fn c33_session_written_survives_into_the_next_cycle() {
    let env = Env::new().await;
    let (c, _) = clock();
    let mut h = env.handler(env.config(), Arc::new(c.clone()));
    h.read("B").await.unwrap();
    h.write("B", b"x").await.unwrap();
    h.close("B").await.unwrap();
    env.calls();
    h.read("C").await.unwrap();
    assert_eq!(h.close("C").await.unwrap(), CloseAction::AlreadyWritten);
    assert_eq!(ops(&env.calls()), ["GetItem"]);
    let mut fresh = env.handler(env.config(), Arc::new(c));
    fresh.read("C").await.unwrap();
    assert_eq!(fresh.close("C").await.unwrap(), CloseAction::Touched);
}

// ---------------------------------------------------------------- E. destroy, gc, garbage_collect

#[tokio::test]
async fn c34_c35_destroy_deletes_present_or_absent() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[
        ("id", s("CAKEPHP_x")),
        ("expires", n(t + 100)),
        ("data", s("d")),
    ])
    .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    h.destroy("x").await.unwrap();
    h.destroy("x").await.unwrap();
    assert_calls(
        &env.calls(),
        &[
            ("DeleteItem", env.del_req("CAKEPHP_x")),
            ("DeleteItem", env.del_req("CAKEPHP_x")),
        ],
    );
    assert!(env.get("CAKEPHP_x").await.is_none());
    assert!(h.state().session_written);
    assert_eq!(h.state().open_session_id, "x");
}

#[tokio::test]
async fn c36_failed_destroy_warns_then_close_recreates() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.faults(json!([{"match": {"op": "DeleteItem"}, "action": {"error": {"code": "AccessDeniedException"}}}]));
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let out = compat.destroy("x").await;
    assert_eq!(out.value, Value::Bool(false));
    assert!(out.warnings[0].starts_with("Error deleting session CAKEPHP_x: "));
    assert_eq!(compat.close("x").await.value, Value::Bool(true));
    let calls = env.calls();
    assert_eq!(calls[1].request, env.touch_req("CAKEPHP_x", t + 1440));
    assert_eq!(env.get("CAKEPHP_x").await.unwrap().len(), 2);
}

#[tokio::test]
async fn c37_gc_is_a_no_op() {
    let env = Env::new().await;
    let (c, _) = clock();
    let h = env.handler(env.config(), Arc::new(c));
    assert!(h.gc(1440));
    assert!(env.calls().is_empty());
}

#[tokio::test]
async fn c38_c74_c76_garbage_collect_pages_filters_and_batches() {
    let env = Env::new().await;
    let (c, t) = clock();
    for i in 0..30 {
        env.put(&[
            ("id", s(&format!("CAKEPHP_exp{i:02}"))),
            ("expires", n(t - 10)),
            ("data", s("x")),
        ])
        .await;
    }
    env.put(&[
        ("id", s("CAKEPHP_locked")),
        ("expires", n(t - 10)),
        ("lock", n(1)),
    ])
    .await;
    env.put(&[("id", s("CAKEPHP_lockonly")), ("lock", n(1))])
        .await;
    env.put(&[("id", s("CAKEPHP_future")), ("expires", n(t + 100))])
        .await;
    env.put(&[("id", s("CAKEPHP_now")), ("expires", n(t))])
        .await;
    env.put(&[
        ("id", s("CAKEPHP_stype")),
        ("expires", s(&(t - 10).to_string())),
        ("data", s("x")),
    ])
    .await;
    // C76: more than five years in the past is still collected.
    env.put(&[
        ("id", s("CAKEPHP_ancient")),
        ("expires", n(t - 6 * 366 * 86400)),
    ])
    .await;
    // Large live items push the Scan past DynamoDB's 1 MB page limit, so it pages.
    let big = "z".repeat(380_000);
    for i in 0..5 {
        env.put(&[
            ("id", s(&format!("CAKEPHP_big{i}"))),
            ("expires", n(t + 1000)),
            ("data", s(&big)),
        ])
        .await;
    }
    let h = env.handler(env.config(), Arc::new(c));
    let report = h.garbage_collect().await.unwrap();
    let calls = env.calls();
    let scans: Vec<_> = calls.iter().filter(|r| r.op == "Scan").collect();
    assert!(scans.len() >= 2, "the Scan pages ({} page)", scans.len());
    let filter = json!({"TableName": env.table, "AttributesToGet": ["id"],
        "ScanFilter": {"expires": {"ComparisonOperator": "LT", "AttributeValueList": [{"N": t.to_string()}]}, "lock": {"ComparisonOperator": "NULL"}}});
    assert_eq!(scans[0].request, filter);
    for pair in scans.windows(2) {
        let mut expected = filter.clone();
        expected["ExclusiveStartKey"] = pair[0].response["LastEvaluatedKey"].clone();
        assert_eq!(pair[1].request, expected);
    }
    let batches: Vec<usize> = calls
        .iter()
        .filter(|r| r.op == "BatchWriteItem")
        .map(|r| {
            r.request["RequestItems"][&env.table]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(batches, [25, 6]);
    assert_eq!(
        (report.items_found, report.deleted, report.batches_sent),
        (31, 31, 2)
    );
    assert!(report.is_complete());
    for key in [
        "CAKEPHP_locked",
        "CAKEPHP_lockonly",
        "CAKEPHP_future",
        "CAKEPHP_now",
        "CAKEPHP_stype",
        "CAKEPHP_big0",
    ] {
        assert!(env.get(key).await.is_some(), "{key} survives");
    }
    assert!(env.get("CAKEPHP_ancient").await.is_none());
    assert_eq!(env.count_items().await, 10);
}

#[tokio::test]
async fn c39_unprocessed_items_are_requeued() {
    let env = Env::new().await;
    let (c, t) = clock();
    for i in 0..3 {
        env.put(&[("id", s(&format!("CAKEPHP_u{i}"))), ("expires", n(t - 10))])
            .await;
    }
    env.faults(
        json!([{"match": {"op": "BatchWriteItem"}, "action": {"unprocessed": 2}, "times": 1}]),
    );
    let report = env
        .handler(env.config(), Arc::new(c))
        .garbage_collect()
        .await
        .unwrap();
    let sizes: Vec<usize> = env
        .calls()
        .iter()
        .filter(|r| r.op == "BatchWriteItem")
        .map(|r| {
            r.request["RequestItems"][&env.table]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    assert_eq!(sizes, [3, 2], "{report:?}");
    assert_eq!((report.unprocessed_requeued, report.deleted), (2, 3));
    assert_eq!(env.count_items().await, 0);
}

#[tokio::test]
async fn c40_failed_batch_is_reported_and_dropped_by_compat() {
    let env = Env::new().await;
    let (c, t) = clock();
    for i in 0..3 {
        env.put(&[("id", s(&format!("CAKEPHP_v{i}"))), ("expires", n(t - 10))])
            .await;
    }
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
    // PHP without an error callback: garbageCollect returns normally.
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let out = compat.garbage_collect().await;
    assert_eq!((out.value, out.exception), (Value::Null, None));
    assert_eq!(compat.last_gc_report().unwrap().failures.len(), 1);
}

#[tokio::test]
async fn c41_scan_error_propagates() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.faults(json!([{"match": {"op": "Scan"}, "action": "table_missing"}]));
    let h = env.handler(env.config(), Arc::new(c.clone()));
    let err = h.garbage_collect().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let e = compat.garbage_collect().await.exception.unwrap();
    assert_eq!(
        (e.class.as_str(), e.code.as_deref()),
        ("DynamoDbException", Some("ResourceNotFoundException"))
    );
}

#[tokio::test]
async fn c42_invalid_batch_size_throws_before_any_request() {
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

#[tokio::test]
async fn c43_persistent_throttling_is_bounded_and_keeps_flushing() {
    let env = Env::new().await;
    let (c, t) = clock();
    for i in 0..3 {
        env.put(&[("id", s(&format!("CAKEPHP_p{i}"))), ("expires", n(t - 10))])
            .await;
    }
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

#[tokio::test]
async fn gc_pool_size_and_autoflush_threshold() {
    let env = Env::new().await;
    let (c, t) = clock();
    for i in 0..7 {
        env.put(&[("id", s(&format!("CAKEPHP_q{i}"))), ("expires", n(t - 10))])
            .await;
    }
    let batch = BatchConfig {
        batch_size: 2,
        pool_size: 2,
        ..BatchConfig::default()
    };
    let report = env
        .handler(env.config().batch(batch), Arc::new(c))
        .garbage_collect()
        .await
        .unwrap();
    let mut sizes: Vec<usize> = env
        .calls()
        .iter()
        .filter(|r| r.op == "BatchWriteItem")
        .map(|r| {
            r.request["RequestItems"][&env.table]
                .as_array()
                .unwrap()
                .len()
        })
        .collect();
    // autoflush at 4 (2 × 2): [2, 2]; final flush of 3: [2, 1]. Within a round the pool may reorder.
    sizes[..2].sort_unstable();
    sizes[2..].sort_unstable();
    assert_eq!(sizes, [2, 2, 1, 2]);
    assert_eq!(report.deleted, 7);
}

// ---------------------------------------------------------------- F. locking

fn locking_config(env: &Env, wait: i64) -> dynamo_session::SessionConfigBuilder {
    env.config()
        .locking(true)
        .max_lock_wait_time(wait)
        .min_lock_retry_microtime(10_000)
        .max_lock_retry_microtime(20_000)
}

#[tokio::test]
async fn c44_lock_read_of_absent_item_creates_it() {
    let env = Env::new().await;
    let mut h = env.handler(locking_config(&env, 1), Arc::new(OffsetClock::new(0)));
    assert_eq!(h.read("L1").await.unwrap(), b"");
    assert_calls(&env.calls(), &[("UpdateItem", env.lock_req("CAKEPHP_L1"))]);
    let item = env.get("CAKEPHP_L1").await.unwrap();
    assert_eq!((item.len(), item.get("lock")), (2, Some(&n(1))));
}

#[tokio::test]
async fn c45_lock_read_then_write_removes_the_lock() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("a"))])
        .await;
    let mut h = env.handler(locking_config(&env, 1), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"a");
    assert_eq!(env.get(K).await.unwrap().get("lock"), Some(&n(1)));
    h.write("abc", b"b").await.unwrap();
    assert_calls(
        &env.calls(),
        &[
            ("UpdateItem", env.lock_req(K)),
            ("UpdateItem", env.putd_req(K, t + 1440, json!({"S": "b"}))),
        ],
    );
    let item = env.get(K).await.unwrap();
    assert!(!item.contains_key("lock"));
    assert_eq!(item.get("data"), Some(&s("b")));
}

#[tokio::test]
async fn c46_c47_held_lock_gives_up_at_the_deadline_then_write_overwrites() {
    let env = Env::new().await;
    let clock = OffsetClock::new(0);
    let t = dynamo_session::Clock::now_unix(&clock);
    env.put(&[
        ("id", s(K)),
        ("expires", n(t + 100)),
        ("data", s("a|i:1;")),
        ("lock", n(1)),
    ])
    .await;
    let mut compat =
        CompatHandler::from_handler(env.handler(locking_config(&env, 1), Arc::new(clock)));
    let started = Instant::now();
    let out = compat.read("abc").await;
    let waited = started.elapsed();
    assert_eq!(
        (out.value, out.warnings.len(), out.exception),
        (json!({"b64": ""}), 0, None)
    );
    assert!(
        waited <= Duration::from_millis(1500),
        "gave up after {waited:?}"
    );
    let calls = env.calls();
    assert!(calls.len() >= 2, "retried: {} attempt(s)", calls.len());
    for r in &calls {
        assert_eq!(
            (r.request.clone(), r.status, r.error_type.as_deref()),
            (
                env.lock_req(K),
                400,
                Some("ConditionalCheckFailedException")
            )
        );
    }
    assert_eq!(
        compat.write("abc", b"b|i:2;").await.value,
        Value::Bool(true)
    );
    let item = env.get(K).await.unwrap();
    assert!(!item.contains_key("lock"));
    assert_eq!(item.get("data"), Some(&s("b|i:2;")));
}

#[tokio::test]
async fn c46_lock_timeout_is_a_typed_error() {
    let env = Env::new().await;
    env.put(&[("id", s(K)), ("lock", n(1))]).await;
    let mut h = env.handler(locking_config(&env, 1), Arc::new(OffsetClock::new(0)));
    match h.read("abc").await {
        Err(SessionError::LockNotAcquired { key, attempts, .. }) => {
            assert_eq!((key.as_str(), attempts >= 2), (K, true))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn c48_other_lock_error_gives_up_at_once() {
    let env = Env::new().await;
    env.faults(json!([{"match": {"op": "UpdateItem"}, "action": {"error": {"code": "ValidationException"}}}]));
    let mut compat = CompatHandler::from_handler(
        env.handler(locking_config(&env, 10), Arc::new(OffsetClock::new(0))),
    );
    let out = compat.read("abc").await;
    assert_eq!(
        (out.value, out.warnings.len(), out.exception),
        (json!({"b64": ""}), 0, None)
    );
    assert_eq!(env.calls().len(), 1);
}

#[tokio::test]
async fn c49_zero_wait_makes_one_attempt() {
    let env = Env::new().await;
    env.put(&[("id", s(K)), ("lock", n(1))]).await;
    let mut h = env.handler(locking_config(&env, 0), Arc::new(OffsetClock::new(0)));
    assert!(matches!(
        h.read("abc").await,
        Err(SessionError::LockNotAcquired { attempts: 1, .. })
    ));
    assert_eq!(env.calls().len(), 1);
}

#[tokio::test]
async fn c50_stale_lock_blocks_gc_but_not_a_standard_reader() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[
        ("id", s(K)),
        ("expires", n(t + 100)),
        ("data", s("d")),
        ("lock", n(1)),
    ])
    .await;
    let mut h = env.handler(env.config(), Arc::new(c.clone()));
    assert_eq!(h.read("abc").await.unwrap(), b"d");
    c.advance(1000);
    let _ = h.garbage_collect().await.unwrap();
    assert!(
        env.get(K).await.is_some(),
        "GC skips locked items whatever expires says"
    );
    c.advance(-1000);
    h.write("abc", b"e").await.unwrap();
    assert!(!env.get(K).await.unwrap().contains_key("lock"));
}

#[tokio::test]
async fn c51_locking_read_of_expired_item_deletes_it() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t - 5)), ("data", s("x"))])
        .await;
    let mut h = env.handler(locking_config(&env, 1), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_calls(
        &env.calls(),
        &[
            ("UpdateItem", env.lock_req(K)),
            ("DeleteItem", env.del_req(K)),
        ],
    );
    assert!(env.get(K).await.is_none());
}

#[tokio::test]
async fn c52_destroy_ignores_the_lock() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.put(&[("id", s(K)), ("lock", n(1))]).await;
    let mut h = env.handler(locking_config(&env, 1), Arc::new(c));
    h.destroy("abc").await.unwrap();
    assert_calls(&env.calls(), &[("DeleteItem", env.del_req(K))]);
    assert!(env.get(K).await.is_none());
}

// ---------------------------------------------------------------- G. concurrency without locking

#[tokio::test]
async fn c53_c54_c55_unlocked_requests_lose_updates_and_resurrect() {
    let env = Env::new().await;
    let (c, t) = clock();
    let seed_item = [("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))];
    let seed = || env.put(&seed_item);
    // C53: both read x; R1 writes x+a; R2 writes x+b; R2 wins.
    seed().await;
    let (mut r1, mut r2) = (
        env.handler(env.config(), Arc::new(c.clone())),
        env.handler(env.config(), Arc::new(c.clone())),
    );
    r1.read("abc").await.unwrap();
    r2.read("abc").await.unwrap();
    r1.write("abc", b"x+a").await.unwrap();
    r2.write("abc", b"x+b").await.unwrap();
    assert_eq!(env.get(K).await.unwrap().get("data"), Some(&s("x+b")));
    // C54: R2 unchanged only touches, R1's change survives.
    seed().await;
    let (mut r1, mut r2) = (
        env.handler(env.config(), Arc::new(c.clone())),
        env.handler(env.config(), Arc::new(c.clone())),
    );
    r1.read("abc").await.unwrap();
    r2.read("abc").await.unwrap();
    r1.write("abc", b"x+a").await.unwrap();
    env.calls();
    r2.write("abc", b"x").await.unwrap();
    assert_eq!(env.calls()[0].request, env.touch_req(K, t + 1440));
    assert_eq!(env.get(K).await.unwrap().get("data"), Some(&s("x+a")));
    // C55: R1 destroys while R2 (which read earlier) writes: the session comes back.
    seed().await;
    let (mut r1, mut r2) = (
        env.handler(env.config(), Arc::new(c.clone())),
        env.handler(env.config(), Arc::new(c)),
    );
    r2.read("abc").await.unwrap();
    r1.read("abc").await.unwrap();
    r1.destroy("abc").await.unwrap();
    r2.write("abc", b"x+b").await.unwrap();
    assert_eq!(env.get(K).await.unwrap().get("data"), Some(&s("x+b")));
}

// ---------------------------------------------------------------- H. faults and retries

#[tokio::test]
async fn c56_eleven_throttles_make_eleven_identical_gets() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.faults(json!([{"match": {"op": "GetItem"}, "action": {"throttle": "ProvisionedThroughputExceededException"}, "times": 11}]));
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let out = compat.read("abc").await;
    assert_eq!((out.value, out.warnings.len()), (json!({"b64": ""}), 0));
    let calls = env.calls();
    assert_eq!(calls.len(), 11);
    assert!(calls.iter().all(|r| r.request == env.get_req(K, true)));
}

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

#[tokio::test]
async fn c57_server_errors_then_success() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.faults(
        json!([{"match": {"op": "UpdateItem"}, "action": {"server_error": 500}, "times": 3}]),
    );
    let mut h = env.handler(env.config(), Arc::new(c));
    h.read("abc").await.unwrap();
    h.write("abc", b"d").await.unwrap();
    let calls = env.calls();
    assert_eq!(calls.len(), 5);
    assert!(
        calls[1..]
            .iter()
            .all(|r| r.request == env.putd_req(K, t + 1440, json!({"S": "d"})))
    );
}

#[tokio::test]
async fn c58_persistent_503_fails_the_write_after_eleven_attempts() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.faults(json!([{"match": {"op": "UpdateItem"}, "action": {"server_error": 503}}]));
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let out = compat.write("abc", b"d").await;
    assert_eq!(out.value, Value::Bool(false));
    assert!(
        out.warnings[0].contains("Server error: `POST http://127.0.0.1:"),
        "{}",
        out.warnings[0]
    );
    assert!(
        out.warnings[0].contains("`503 Service Unavailable`"),
        "{}",
        out.warnings[0]
    );
    assert_eq!(env.calls().len(), 11);
}

#[tokio::test]
async fn c59_mixed_retryable_failures_then_success() {
    let env = Env::new().await;
    let (c, _) = clock();
    env.faults(json!([
        {"match": {"op": "UpdateItem"}, "action": {"throttle": "ThrottlingException"}, "times": 1},
        {"match": {"op": "UpdateItem"}, "action": {"throttle": "RequestLimitExceeded"}, "times": 1},
        {"match": {"op": "UpdateItem"}, "action": {"error": {"code": "TransactionInProgressException"}}, "times": 1},
        {"match": {"op": "UpdateItem"}, "action": "reset", "times": 1}
    ]));
    let mut h = env.handler(env.config(), Arc::new(c));
    h.write("abc", b"d").await.unwrap();
    assert_eq!(env.proxy.fault_hits(), [1, 1, 1, 1]);
    assert_eq!(env.calls().len(), 5);
}

#[tokio::test]
async fn c60_crc32_mismatch_is_retried_then_escapes_as_aws_exception() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("x"))])
        .await;
    env.faults(json!([{"match": {"op": "GetItem"}, "action": "bad_crc32", "times": 1}]));
    let mut h = env.handler(env.config(), Arc::new(c.clone()));
    assert_eq!(h.read("abc").await.unwrap(), b"x");
    assert_eq!(env.calls().len(), 2);
    env.faults(json!([{"match": {"op": "GetItem"}, "action": "bad_crc32"}]));
    let mut h = env.handler(env.config(), Arc::new(c.clone()));
    match h.read("abc").await {
        Err(SessionError::Client(e)) => assert_eq!(
            (e.kind, e.attempts),
            (ClientErrorKind::ChecksumMismatch, 11)
        ),
        other => panic!("{other:?}"),
    }
    env.calls();
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    let e = compat.read("abc").await.exception.unwrap();
    assert_eq!(
        (e.class.as_str(), e.code.as_deref()),
        ("AwsException", Some("ClientChecksumMismatch"))
    );
    assert!(
        e.message.starts_with("crc32 mismatch. Expected "),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn c61_non_throttling_4xx_is_not_retried() {
    let env = Env::new().await;
    let (c, _) = clock();
    for code in [
        "ValidationException",
        "AccessDeniedException",
        "ConditionalCheckFailedException",
        "ResourceNotFoundException",
    ] {
        env.faults(json!([{"match": {"op": "UpdateItem"}, "action": {"error": {"code": code}}}]));
        let mut h = env.handler(env.config(), Arc::new(c.clone()));
        let e = h.write("abc", b"d").await.unwrap_err();
        assert_eq!((e.code(), e.attempts()), (Some(code), 1));
        assert_eq!(env.calls().len(), 1, "{code}");
    }
}

#[tokio::test]
async fn c62_retries_option_sets_the_attempts() {
    let env = Env::new().await;
    let (c, _) = clock();
    for (retries, attempts) in [(0, 1), (2, 3)] {
        env.faults(json!([{"match": {"op": "GetItem"}, "action": {"server_error": 503}}]));
        let client = env.client_with(RetryPolicy::php_retries(retries).without_backoff());
        let mut h =
            SessionHandler::with_clock(client, env.config().build().unwrap(), Arc::new(c.clone()));
        assert_eq!(h.read("abc").await.unwrap_err().attempts(), attempts);
        assert_eq!(env.calls().len(), attempts as usize);
    }
}

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
    let mut compat = CompatHandler::from_handler({
        let mut h = SessionHandler::with_clock(client.clone(), config.clone(), Arc::new(c.clone()));
        h.open("", "CAKEPHP");
        h
    });
    let out = compat.read("abc").await;
    assert_eq!((out.value, out.warnings.len()), (json!({"b64": ""}), 0));
    let out = compat.write("abc", b"d").await;
    assert_eq!(out.value, Value::Bool(false));
    assert!(out.warnings[0].starts_with("Error writing session CAKEPHP_abc: Error executing \"UpdateItem\" on \"http://127.0.0.1:1\"; AWS HTTP error: "));
    let mut h = SessionHandler::with_clock(client, config, Arc::new(c));
    match h.read("abc").await {
        Err(SessionError::Service(e)) => assert_eq!((e.connection_error, e.attempts), (true, 11)),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- I. bad input

#[tokio::test]
async fn c65_oversized_item_fails_and_close_touches() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t + 100)), ("data", s("old"))])
        .await;
    let mut compat = CompatHandler::from_handler(env.handler(env.config(), Arc::new(c)));
    compat.read("abc").await;
    let out = compat.write("abc", &vec![b'a'; 409_600]).await;
    assert_eq!(out.value, Value::Bool(false));
    assert!(
        out.warnings[0].contains("ValidationException"),
        "{}",
        out.warnings[0]
    );
    assert_eq!(compat.close("abc").await.value, Value::Bool(true));
    let calls = env.calls();
    assert_eq!(ops(&calls), ["GetItem", "UpdateItem", "UpdateItem"]);
    assert_eq!(calls[2].request, env.touch_req(K, t + 1440));
    let item = env.get(K).await.unwrap();
    assert_eq!(
        (item.get("data"), item.get("expires")),
        (Some(&s("old")), Some(&n(t + 1440)))
    );
}

#[tokio::test]
async fn c66_non_utf8_string_data_fails_without_request_and_close_touches() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config(), Arc::new(c.clone()));
    h.read("abc").await.unwrap();
    env.calls();
    assert!(matches!(
        h.write("abc", &[0x80, 0xFF, 0x00, 0xC3]).await,
        Err(SessionError::NonUtf8Data { .. })
    ));
    assert!(env.calls().is_empty());
    assert!(!h.state().session_written);
    let mut compat = CompatHandler::from_handler(h);
    let out = compat.write("abc", &[0x80, 0xFF, 0x00, 0xC3]).await;
    assert_eq!(out.value, Value::Bool(false));
    assert!(out.warnings[0].starts_with("Error writing session CAKEPHP_abc: "));
    assert_eq!(compat.close("abc").await.value, Value::Bool(true));
    assert_calls(&env.calls(), &[("UpdateItem", env.touch_req(K, t + 1440))]);
}

#[tokio::test]
async fn c68_empty_key_is_rejected_by_dynamodb() {
    let env = Env::new().await;
    let (c, _) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    h.open("", "");
    let mut compat = CompatHandler::from_handler(h);
    let out = compat.read("").await;
    assert_eq!(
        (out.value, out.warnings.len(), out.exception),
        (json!({"b64": ""}), 0, None)
    );
    let out = compat.write("", b"d").await;
    assert_eq!(out.value, Value::Bool(false));
    assert!(out.warnings[0].starts_with("Error writing session : "));
    let calls = env.calls();
    assert_eq!(calls[0].request, env.get_req("", true));
    assert!(
        calls
            .iter()
            .all(|r| r.error_type.as_deref() == Some("ValidationException"))
    );
}

#[tokio::test]
async fn c69_oversized_key_is_rejected_by_dynamodb() {
    let env = Env::new().await;
    let (c, _) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    let e = h.read(&"k".repeat(2100)).await.unwrap_err();
    assert_eq!((e.code(), e.attempts()), (Some("ValidationException"), 1));
}

#[tokio::test]
async fn c71_outer_underscores_collide() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config(), Arc::new(c));
    h.open("", "");
    h.read("_abc_").await.unwrap();
    h.write("_abc_", b"d").await.unwrap();
    assert_eq!(
        env.calls()[1].request,
        env.putd_req("abc", t + 1440, json!({"S": "d"}))
    );
    assert_eq!(h.read("abc").await.unwrap(), b"d");
}

// ---------------------------------------------------------------- J. expiry representation

#[tokio::test]
async fn c72_long_expired_item_is_deleted_on_read() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t - 3600)), ("data", s("x"))])
        .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_eq!(ops(&env.calls()), ["GetItem", "DeleteItem"]);
}

#[tokio::test]
async fn c73_expires_is_integer_seconds_of_type_n() {
    let env = Env::new().await;
    let (c, t) = clock();
    let mut h = env.handler(env.config().session_lifetime(86_400), Arc::new(c));
    h.write("abc", b"d").await.unwrap();
    let item = env.get(K).await.unwrap();
    assert_eq!(
        item.get("expires"),
        Some(&AttributeValue::N((t + 86_400).to_string()))
    );
}

#[tokio::test]
async fn c74_string_expires_is_expired_for_read() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[
        ("id", s(K)),
        ("expires", s(&(t - 10).to_string())),
        ("data", s("x")),
    ])
    .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"");
    assert_eq!(ops(&env.calls()), ["GetItem", "DeleteItem"]);
}

#[tokio::test]
async fn c75_millisecond_expires_is_live() {
    let env = Env::new().await;
    let (c, t) = clock();
    env.put(&[("id", s(K)), ("expires", n(t * 1000)), ("data", s("x"))])
        .await;
    let mut h = env.handler(env.config(), Arc::new(c));
    assert_eq!(h.read("abc").await.unwrap(), b"x");
}

// ---------------------------------------------------------------- compat protocol end to end

#[tokio::test]
async fn compat_protocol_round_trip() {
    let env = Env::new().await;
    let mut session =
        dynamo_session::compat::CompatSession::new(Arc::new(ManualClock::at_system_now()));
    let new = json!({"op": "new_handler",
        "client": {"endpoint": env.proxy.endpoint_url(), "region": "us-east-1", "key": "k", "secret": "s", "retries": null},
        "config": {"table_name": env.table}, "ini": {"session.gc_maxlifetime": "1440"}});
    let lines = [
        new.to_string(),
        json!({"op": "open", "save_path": "", "name": "CAKEPHP"}).to_string(),
        json!({"op": "read", "id": "abc"}).to_string(),
        json!({"op": "write", "id": "abc", "data_b64": b64(b"a|i:1;")}).to_string(),
        json!({"op": "close", "session_id": "abc"}).to_string(),
        json!({"op": "read", "id": "abc"}).to_string(),
        json!({"op": "destroy", "id": "abc"}).to_string(),
        json!({"op": "gc", "max_lifetime": 1440}).to_string(),
        json!({"op": "garbage_collect"}).to_string(),
    ];
    let mut values = Vec::new();
    for line in lines {
        let out: Value = serde_json::from_str(&session.handle_json(&line).await).unwrap();
        assert_eq!(
            (out["warnings"].clone(), out["exception"].clone()),
            (json!([]), Value::Null),
            "{line}"
        );
        values.push(out["value"].clone());
    }
    assert_eq!(
        values,
        [
            json!(true),
            json!(true),
            json!({"b64": ""}),
            json!(true),
            json!(true),
            json!({"b64": b64(b"a|i:1;")}),
            json!(true),
            json!(true),
            Value::Null
        ]
    );
    assert_eq!(
        ops(&env.calls()),
        ["GetItem", "UpdateItem", "GetItem", "DeleteItem", "Scan"]
    );
}

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
