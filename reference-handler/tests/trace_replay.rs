//! Replays the handler calls behind the PHP SDK's wire traces (`fixtures/sdk-traces`) through the
//! recording proxy and compares the DynamoDB calls, call by call, after the traces' normalisation.
//!
//! The handler calls are derived from each trace (which PHP engine callbacks CakePHP or the CLI script
//! made; see the comments per test). Data written is taken from the trace's own request bodies, with the
//! `<NOW+d>` tokens turned back into times. Items a scenario started from are seeded from the trace's
//! first response. The tests share one table named as in the traces, so they run one at a time.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::types::AttributeValue;
use dynamo_backends::{BackendKind, TableSpec, provision_table, shared_backend};
use dynamo_session::{RetryPolicy, SessionClient, SessionConfig, SessionHandler, SystemClock};
use dynamo_wire::expect::{
    Bindings, ExpectedCall, expected_from_records, match_calls, observed_calls, resolve_now,
};
use dynamo_wire::{NormaliseOptions, WireProxy, WireRecord, normalise, read_trace};
use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};

const TABLE: &str = "dynamo_cakephp_sessions";
static SERIAL: Mutex<()> = Mutex::const_new(());
static IDS: AtomicU32 = AtomicU32::new(0);

/// A PHP-style session id: 26 characters of `[a-v0-9]`, which normalisation turns into `<SID1>`.
fn php_id() -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    let mut n =
        (u64::from(std::process::id()) << 20) | u64::from(IDS.fetch_add(1, Ordering::SeqCst));
    let mut id = String::from("rust");
    while id.len() < 26 {
        id.push(DIGITS[(n % 32) as usize] as char);
        n /= 32;
    }
    id
}

fn now() -> i64 {
    dynamo_session::Clock::now_unix(&SystemClock)
}

struct Replay {
    _serial: MutexGuard<'static, ()>,
    raw: aws_sdk_dynamodb::Client,
    proxy: WireProxy,
    trace: Vec<WireRecord>,
    id: String,
    /// The second the replayed request "runs" in: every `<NOW+d>` in seeded or written data is taken
    /// relative to it, so data written "in the same second" (b1) is byte-identical however long the
    /// replay takes.
    t0: i64,
}

impl Replay {
    async fn start(name: &str) -> Replay {
        let serial = SERIAL.lock().await;
        let backend = shared_backend(BackendKind::Dynoxide)
            .await
            .expect("dynoxide starts");
        let raw = aws_sdk_dynamodb::Client::new(&backend.sdk_config());
        provision_table(&raw, backend.capabilities(), &TableSpec::named(TABLE))
            .await
            .expect("table");
        clear_table(&raw).await;
        let proxy = WireProxy::start(backend.endpoint_url())
            .await
            .expect("proxy");
        let path = format!(
            "{}/../fixtures/sdk-traces/{name}.jsonl",
            env!("CARGO_MANIFEST_DIR")
        );
        let trace = read_trace(&path).expect("trace");
        Replay {
            _serial: serial,
            raw,
            proxy,
            trace,
            id: php_id(),
            t0: now(),
        }
    }

    fn key(&self) -> String {
        format!("CAKEPHP_{}", self.id)
    }

    /// A handler configured as COmanage configures it (gc_maxlifetime 86400), on the system clock.
    fn handler(&self, locking: bool) -> SessionHandler {
        let client = SessionClient::from_static(
            &self.proxy.endpoint_url(),
            "us-east-1",
            "test",
            "test",
            RetryPolicy::php_default(),
        );
        let config = SessionConfig::builder(86_400)
            .table_name(TABLE)
            .locking(locking)
            .build()
            .expect("config");
        let mut h = SessionHandler::with_clock(client, config, Arc::new(SystemClock));
        h.open("", "CAKEPHP");
        h
    }

    /// The record with `i` (1-based, as in the file).
    fn record(&self, i: u64) -> &WireRecord {
        self.trace.iter().find(|r| r.i == i).expect("record")
    }

    /// The data a recorded UpdateItem wrote, with times made absolute again.
    fn data_of(&self, i: u64) -> Vec<u8> {
        let s = self.record(i).request["AttributeUpdates"]["data"]["Value"]["S"]
            .as_str()
            .expect("S data");
        resolve_now(s, self.t0).into_bytes()
    }

    /// Seeds the item a recorded GetItem or lock UpdateItem returned (without the lock it just set).
    async fn seed_from_response(&self, i: u64, drop_lock: bool) {
        self.seed_aged(i, drop_lock, 0).await;
    }

    /// As [`Self::seed_from_response`], with the times inside the data `age` seconds older: the
    /// normalisation snaps `<NOW+d>` to multiples of 60 within 2 s, so a trace cannot show that the
    /// previous request wrote its `Config.time` a second earlier.
    async fn seed_aged(&self, i: u64, drop_lock: bool, age: i64) {
        let response = &self.record(i).response;
        let item = response
            .get("Item")
            .or_else(|| response.get("Attributes"))
            .expect("an item in the response");
        let mut attrs = std::collections::HashMap::new();
        for (name, value) in item.as_object().expect("item") {
            if drop_lock && name == "lock" {
                continue;
            }
            let at = if name == "data" {
                self.t0 - age
            } else {
                self.t0
            };
            attrs.insert(name.clone(), self.attribute(value, at));
        }
        self.raw
            .put_item()
            .table_name(TABLE)
            .set_item(Some(attrs))
            .send()
            .await
            .expect("seed");
    }

    fn attribute(&self, typed: &Value, at: i64) -> AttributeValue {
        let (ty, v) = typed
            .as_object()
            .and_then(|m| m.iter().next())
            .expect("typed value");
        let text =
            resolve_now(v.as_str().expect("scalar"), at).replace("CAKEPHP_<SID1>", &self.key());
        match ty.as_str() {
            "S" => AttributeValue::S(text),
            "N" => AttributeValue::N(text),
            other => panic!("unexpected attribute type {other}"),
        }
    }

    /// Matches what the proxy recorded against the trace's calls (lock retries whatever their count).
    fn compare(&self) {
        self.compare_with(&expected_from_records(&self.trace, TABLE));
    }

    fn compare_with(&self, expected: &[ExpectedCall]) {
        let records = self.proxy.take_records();
        if let Err(diff) = match_calls(
            expected,
            &observed_calls(&records),
            &mut Bindings::default(),
        ) {
            let actual = normalise(&records, &NormaliseOptions::default()).unwrap_or(records);
            panic!("{diff}\nactual:\n{}", dynamo_wire::format_trace(&actual));
        }
    }
}

async fn clear_table(raw: &aws_sdk_dynamodb::Client) {
    let items = raw
        .scan()
        .table_name(TABLE)
        .send()
        .await
        .expect("scan")
        .items
        .unwrap_or_default();
    for item in items {
        let key = item.get("id").cloned().expect("id");
        raw.delete_item()
            .table_name(TABLE)
            .key("id", key)
            .send()
            .await
            .expect("delete");
    }
}

/// `php scripts/cli_session_demo.php`: start (new id, no item), set, write_close; restart, read-only,
/// write_close; restart, counter++, write_close; restart, session_destroy. One handler object.
async fn cli_session_demo(name: &str, locking: bool) {
    let r = Replay::start(name).await;
    let mut h = r.handler(locking);
    let id = r.id.clone();
    assert_eq!(h.read(&id).await.unwrap(), b"");
    let d1 = r.data_of(2);
    h.write(&id, &d1).await.unwrap();
    h.close(&id).await.unwrap();
    assert_eq!(h.read(&id).await.unwrap(), d1);
    h.write(&id, &d1).await.unwrap();
    h.close(&id).await.unwrap();
    assert_eq!(h.read(&id).await.unwrap(), d1);
    let d2 = r.data_of(6);
    h.write(&id, &d2).await.unwrap();
    h.close(&id).await.unwrap();
    assert_eq!(h.read(&id).await.unwrap(), d2);
    h.destroy(&id).await.unwrap();
    h.close(&id).await.unwrap();
    r.compare();
}

#[tokio::test]
async fn trace_cli_session_demo() {
    cli_session_demo("cli_session_demo", false).await;
}

#[tokio::test]
async fn trace_cli_session_demo_locking() {
    cli_session_demo("cli_session_demo_locking", true).await;
}

/// `cli_close_demo.php abort`: session_start on an existing session, then session_abort (close only).
async fn cli_abort(name: &str, locking: bool) {
    let r = Replay::start(name).await;
    r.seed_from_response(1, true).await;
    let mut h = r.handler(locking);
    assert!(!h.read(&r.id).await.unwrap().is_empty());
    h.close(&r.id).await.unwrap();
    r.compare();
}

#[tokio::test]
async fn trace_x_cli_abort() {
    cli_abort("x_cli_abort", false).await;
}

#[tokio::test]
async fn trace_f_x_cli_abort() {
    cli_abort("f_x_cli_abort", true).await;
}

/// First writing request without a cookie: read of a new id (nothing there), write of CakePHP's data.
async fn first_request(name: &str, locking: bool) {
    let r = Replay::start(name).await;
    let mut h = r.handler(locking);
    assert_eq!(h.read(&r.id).await.unwrap(), b"");
    h.write(&r.id, &r.data_of(2)).await.unwrap();
    h.close(&r.id).await.unwrap();
    r.compare();
}

#[tokio::test]
async fn trace_a_first_request_no_cookie() {
    first_request("a_first_request_no_cookie", false).await;
}

#[tokio::test]
async fn trace_f_a_first_request_no_cookie() {
    first_request("f_a_first_request_no_cookie", true).await;
}

/// A request on an existing session: read, then write what CakePHP wrote (unchanged data gives a
/// TOUCH, as in b1; changed data a PUTD, as in b2, c, c2 and the stale-lock case). `age`: how many
/// seconds before this request the item was written (b2 runs 1 s after the previous write, so its
/// `Config.time` differs although both normalise to `<NOW+28800>`).
async fn read_then_write(name: &str, locking: bool, age: i64) {
    let r = Replay::start(name).await;
    r.seed_aged(1, true, age).await;
    if name.contains("stale_lock") {
        r.raw
            .update_item()
            .table_name(TABLE)
            .key("id", AttributeValue::S(r.key()))
            .attribute_updates(
                "lock",
                aws_sdk_dynamodb::types::AttributeValueUpdate::builder()
                    .value(AttributeValue::N("1".into()))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let mut h = r.handler(locking);
    let read = h.read(&r.id).await.unwrap();
    let written = r.record(2).request["AttributeUpdates"]
        .get("data")
        .map(|_| r.data_of(2))
        .unwrap_or(read);
    h.write(&r.id, &written).await.unwrap();
    h.close(&r.id).await.unwrap();
    r.compare();
}

#[tokio::test]
async fn trace_b1_read_same_second() {
    read_then_write("b1_read_same_second", false, 0).await;
}

#[tokio::test]
async fn trace_b2_read_next_second() {
    read_then_write("b2_read_next_second", false, 1).await;
}

#[tokio::test]
async fn trace_c_change() {
    read_then_write("c_change", false, 0).await;
}

#[tokio::test]
async fn trace_c2_delete_key() {
    read_then_write("c2_delete_key", false, 0).await;
}

#[tokio::test]
async fn trace_f_b1_read_same_second() {
    read_then_write("f_b1_read_same_second", true, 0).await;
}

#[tokio::test]
async fn trace_f_b2_read_next_second() {
    read_then_write("f_b2_read_next_second", true, 1).await;
}

#[tokio::test]
async fn trace_f_c_change() {
    read_then_write("f_c_change", true, 0).await;
}

#[tokio::test]
async fn trace_f_c2_delete_key() {
    read_then_write("f_c2_delete_key", true, 0).await;
}

#[tokio::test]
async fn trace_f0_nolock_stale_lock_item() {
    read_then_write("f0_nolock_stale_lock_item", false, 1).await;
}

/// CakeSession::destroy(): read, write unchanged (TOUCH), then (a fresh handler, as CakePHP builds one
/// per restart) read again, destroy, close.
async fn logout(name: &str, locking: bool) {
    let r = Replay::start(name).await;
    r.seed_from_response(1, true).await;
    let mut h = r.handler(locking);
    let data = h.read(&r.id).await.unwrap();
    h.write(&r.id, &data).await.unwrap();
    h.close(&r.id).await.unwrap();
    let mut h = r.handler(locking);
    h.read(&r.id).await.unwrap();
    h.destroy(&r.id).await.unwrap();
    h.close(&r.id).await.unwrap();
    r.compare();
}

#[tokio::test]
async fn trace_d_logout_destroy() {
    logout("d_logout_destroy", false).await;
}

#[tokio::test]
async fn trace_f_d_logout_destroy() {
    logout("f_d_logout_destroy", true).await;
}

/// Item seeded with expires <NOW-3600>: the read deletes it and returns '', CakePHP writes fresh Config.
async fn expired(name: &str, locking: bool) {
    let r = Replay::start(name).await;
    r.seed_from_response(1, true).await;
    let mut h = r.handler(locking);
    assert_eq!(h.read(&r.id).await.unwrap(), b"");
    h.write(&r.id, &r.data_of(3)).await.unwrap();
    h.close(&r.id).await.unwrap();
    r.compare();
}

#[tokio::test]
async fn trace_e_expired_item() {
    expired("e_expired_item", false).await;
}

#[tokio::test]
async fn trace_f_e_expired_item() {
    expired("f_e_expired_item", true).await;
}

/// Two overlapping requests on one session without locking: A reads, B reads, B writes, A writes.
#[tokio::test]
async fn trace_f0_nolock_concurrent_same_session() {
    let r = Replay::start("f0_nolock_concurrent_same_session").await;
    r.seed_from_response(1, true).await;
    let (mut a, mut b) = (r.handler(false), r.handler(false));
    a.read(&r.id).await.unwrap();
    b.read(&r.id).await.unwrap();
    b.write(&r.id, &r.data_of(3)).await.unwrap();
    a.write(&r.id, &r.data_of(4)).await.unwrap();
    r.compare();
}

/// The same with locking: B's lock attempts fail with ConditionalCheckFailedException until A's write
/// removes the lock. The number of failed attempts depends on timing, so runs of them are collapsed.
#[tokio::test]
async fn trace_f_concurrent_same_session() {
    let r = Replay::start("f_concurrent_same_session").await;
    r.seed_from_response(1, true).await;
    let mut a = r.handler(true);
    a.read(&r.id).await.unwrap();
    let (mut b, id) = (r.handler(true), r.id.clone());
    let b_data = r.data_of(37);
    let b_task = tokio::spawn(async move {
        let read = b.read(&id).await.unwrap();
        b.write(&id, &b_data).await.unwrap();
        read
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let a_data = r.data_of(35);
    a.write(&r.id, &a_data).await.unwrap();
    assert_eq!(b_task.await.unwrap(), a_data, "B reads what A wrote");
    r.compare();
}

/// SessionHandler::garbageCollect() over 20 live, 35 expired and 5 expired-and-locked items.
///
/// The Scan is compared exactly. Which keys land in which BatchWriteItem follows the backend's Scan
/// order (moto returned insertion order, dynalite hash order), so the batches are compared as sizes
/// (25 then 10), as the set of keys, and against the order of this run's own Scan response.
#[tokio::test]
async fn trace_g_garbage_collect() {
    let r = Replay::start("g_garbage_collect").await;
    let t = now();
    for i in 1..=60 {
        let (id, expires, lock) = match i {
            1..=20 => (format!("CAKEPHP_gc-live-{i:02}"), t + 86_400, false),
            21..=55 => (format!("CAKEPHP_gc-expired-{i:02}"), t - 3600, false),
            _ => (format!("CAKEPHP_gc-expired-locked-{i:02}"), t - 3600, true),
        };
        let mut put = r
            .raw
            .put_item()
            .table_name(TABLE)
            .item("id", AttributeValue::S(id))
            .item("expires", AttributeValue::N(expires.to_string()))
            .item("data", AttributeValue::S("x|s:1:\"y\";".into()));
        if lock {
            put = put.item("lock", AttributeValue::N("1".into()));
        }
        put.send().await.unwrap();
    }
    let h = r.handler(false);
    let report = h.garbage_collect().await.unwrap();
    assert!(report.is_complete());
    let records = r.proxy.take_records();
    let ops: Vec<&str> = records.iter().map(|c| c.op.as_str()).collect();
    assert_eq!(ops, ["Scan", "BatchWriteItem", "BatchWriteItem"]);
    match_calls(
        &expected_from_records(&r.trace[..1], TABLE),
        &observed_calls(&records[..1]),
        &mut Bindings::default(),
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let actual = normalise(&records, &NormaliseOptions::default()).unwrap();
    let keys = |rec: &WireRecord| -> Vec<String> {
        rec.request["RequestItems"][TABLE]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                d["DeleteRequest"]["Key"]["id"]["S"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    let sizes = |calls: &[WireRecord]| calls[1..].iter().map(|c| keys(c).len()).collect::<Vec<_>>();
    assert_eq!(sizes(&actual), sizes(&r.trace));
    let mut expected_keys: Vec<String> = r.trace[1..].iter().flat_map(keys).collect();
    let actual_keys: Vec<String> = actual[1..].iter().flat_map(keys).collect();
    let scanned: Vec<String> = actual[0].response["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"]["S"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actual_keys, scanned, "deletes follow the Scan order");
    let mut sorted = actual_keys.clone();
    sorted.sort();
    expected_keys.sort();
    assert_eq!(sorted, expected_keys);
    assert_eq!(
        r.raw.scan().table_name(TABLE).send().await.unwrap().count,
        25
    );
}

/// a0 / f_a0: a request that only views the session without a cookie makes no handler call at all
/// (CakePHP starts no session), so nothing is sent.
#[tokio::test]
async fn trace_a0_view_no_cookie() {
    for name in ["a0_view_no_cookie", "f_a0_view_no_cookie"] {
        let r = Replay::start(name).await;
        let _h = r.handler(name.starts_with("f_"));
        r.compare();
    }
}
