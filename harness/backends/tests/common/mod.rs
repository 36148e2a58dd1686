//! Shared by the integration tests: the session handler's call shapes against a real server, and the
//! "no process left behind" check.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeValue, AttributeValueUpdate, ComparisonOperator, Condition, PutRequest, WriteRequest,
};
use dynamo_backends::{Backend, TableSpec, TtlStatus, provision_table};

/// A table name unique within this test process.
pub fn unique_table(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

fn s(text: &str) -> AttributeValue {
    AttributeValue::S(text.to_string())
}

fn n(number: i64) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// Provisions a session table and runs the calls the AWS SDK for PHP session handler makes: UpdateItem with
/// legacy AttributeUpdates (no Action), GetItem, Scan with a legacy ScanFilter, BatchWriteItem.
pub async fn exercise_session_calls(backend: &dyn Backend, table: &str) {
    let client = Client::new(&backend.sdk_config());
    let caps = *backend.capabilities();
    let report = provision_table(&client, &caps, &TableSpec::named(table))
        .await
        .expect("provision_table");
    assert!(report.created, "{report}");
    match (&report.ttl, caps.ttl_api) {
        (TtlStatus::Enabled { attribute }, true) => assert_eq!(attribute, "expires"),
        (TtlStatus::Unsupported { .. }, false) => {}
        (ttl, api) => panic!("TTL status {ttl:?} does not match ttl_api={api}"),
    }
    // A second provisioning reuses the table and is idempotent about TTL.
    let again = provision_table(&client, &caps, &TableSpec::named(table))
        .await
        .expect("reprovision");
    assert!(!again.created);
    if caps.ttl_api {
        assert!(
            matches!(again.ttl, TtlStatus::AlreadyEnabled { .. }),
            "{again}"
        );
    }

    // UpdateItem as the PHP SDK's StandardSessionConnection::write sends it: AttributeUpdates, Value only.
    let payload = b"Config|a:1:{s:4:\"time\";i:1;}".to_vec();
    client
        .update_item()
        .table_name(table)
        .key("id", s("CAKEPHP_live"))
        .attribute_updates(
            "expires",
            AttributeValueUpdate::builder()
                .value(n(4_000_000_000))
                .build(),
        )
        .attribute_updates(
            "lock",
            AttributeValueUpdate::builder()
                .action("DELETE".into())
                .build(),
        )
        .attribute_updates(
            "data",
            AttributeValueUpdate::builder()
                .value(AttributeValue::B(Blob::new(payload.clone())))
                .build(),
        )
        .send()
        .await
        .expect("UpdateItem with AttributeUpdates");

    let item = client
        .get_item()
        .table_name(table)
        .key("id", s("CAKEPHP_live"))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
        .expect("the item exists");
    assert_eq!(item.get("expires"), Some(&n(4_000_000_000)));
    if caps.binary_via_attribute_updates {
        assert_eq!(
            item.get("data"),
            Some(&AttributeValue::B(Blob::new(payload)))
        );
    } else {
        // The measured defect (moto): the value comes back, but not as the bytes that were written.
        assert_ne!(
            item.get("data"),
            Some(&AttributeValue::B(Blob::new(payload)))
        );
    }

    // BatchWriteItem: two expired sessions to be found by the GC scan, plus a delete of nothing.
    let expired = |id: &str| {
        WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .item("id", s(id))
                    .item("expires", n(1_000))
                    .item("data", AttributeValue::B(Blob::new(b"x".to_vec())))
                    .build()
                    .expect("item is set"),
            )
            .build()
    };
    let unprocessed = client
        .batch_write_item()
        .request_items(
            table,
            vec![expired("CAKEPHP_old1"), expired("CAKEPHP_old2")],
        )
        .send()
        .await
        .expect("BatchWriteItem")
        .unprocessed_items
        .unwrap_or_default();
    assert!(unprocessed.values().all(Vec::is_empty), "{unprocessed:?}");

    // Scan with a legacy ScanFilter, as the SDK's garbage collection does (expires <= now, lock NULL).
    let scan = client
        .scan()
        .table_name(table)
        .scan_filter(
            "expires",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Le)
                .attribute_value_list(n(2_000_000_000))
                .build()
                .expect("operator is set"),
        )
        .scan_filter(
            "lock",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Null)
                .build()
                .expect("operator is set"),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("Scan with ScanFilter");
    let mut found: Vec<String> = scan
        .items()
        .iter()
        .filter_map(|item: &HashMap<String, AttributeValue>| item.get("id")?.as_s().ok().cloned())
        .collect();
    found.sort();
    assert_eq!(found, ["CAKEPHP_old1", "CAKEPHP_old2"]);

    client
        .delete_table()
        .table_name(table)
        .send()
        .await
        .expect("DeleteTable");
}

/// Whether a process with this pid exists (zombies included).
pub fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The pids of all processes in process group `pgid`.
pub fn processes_in_group(pgid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces, so split after ')'.
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|stat| {
                    let after_comm = stat.rsplit_once(')')?.1.to_string();
                    after_comm.split_whitespace().nth(2)?.parse::<u32>().ok()
                })
                == Some(pgid)
        })
        .collect()
}

/// Asserts that neither the server process nor anything in its process group is left.
pub fn assert_nothing_left(pid: u32) {
    assert!(!process_exists(pid), "server pid {pid} still exists");
    let left = processes_in_group(pid);
    assert!(left.is_empty(), "processes left in group {pid}: {left:?}");
}
