//! What a backend can do, measured on a scratch table rather than assumed from its name.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, AttributeValueUpdate, TimeToLiveSpecification};

use crate::BackendError;
use crate::table::{TableSpec, create_session_table, delete_table_quietly, wait_until_active};

/// What a backend supports, as far as the session handlers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// UpdateTimeToLive/DescribeTimeToLive work (dynalite answers UnknownOperationException).
    pub ttl_api: bool,
    /// B values written through legacy `AttributeUpdates` (`{"Value": {"B": ..}}`, no `Action`) read back
    /// byte-exact (moto corrupts them).
    pub binary_via_attribute_updates: bool,
    /// A TTL process deletes expired items by itself (false for every local backend).
    pub deletes_expired_items: bool,
    /// Keys DynamoDB refuses (empty, or over 2048 bytes) are refused with ValidationException (moto stores
    /// them).
    pub validates_keys: bool,
    /// A ScanFilter comparing a Number with an item whose attribute is a String skips that item, as DynamoDB
    /// does (moto answers HTTP 500).
    pub scan_filter_skips_mismatched_types: bool,
}

impl Capabilities {
    /// Each capability by name, with what its absence means.
    fn entries(&self) -> [(&'static str, bool, &'static str); 5] {
        [
            (
                "ttl_api",
                self.ttl_api,
                "UpdateTimeToLive is an unknown operation here",
            ),
            (
                "binary_via_attribute_updates",
                self.binary_via_attribute_updates,
                "B values written through AttributeUpdates do not read back byte-exact",
            ),
            (
                "deletes_expired_items",
                self.deletes_expired_items,
                "no TTL process; scenarios sweep expired items themselves",
            ),
            (
                "validates_keys",
                self.validates_keys,
                "empty keys and keys over 2048 bytes are stored instead of refused",
            ),
            (
                "scan_filter_skips_mismatched_types",
                self.scan_filter_skips_mismatched_types,
                "a ScanFilter on a String attribute compared with a Number fails the Scan",
            ),
        ]
    }

    /// Whether the backend has the capability of this name; `None` for a name no capability has.
    pub fn has(&self, name: &str) -> Option<bool> {
        self.entries()
            .iter()
            .find(|(entry, _, _)| *entry == name)
            .map(|(_, flag, _)| *flag)
    }

    /// One line per capability, for terminal output.
    pub fn describe(&self) -> Vec<String> {
        self.entries()
            .iter()
            .map(|(name, flag, without)| match flag {
                true => format!("{name}: yes"),
                false => format!("{name}: no ({without})"),
            })
            .collect()
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .entries()
            .iter()
            .map(|(name, flag, _)| format!("{name}={flag}"))
            .collect();
        f.write_str(&parts.join(" "))
    }
}

/// Measures every capability but `deletes_expired_items` on a scratch table that is deleted afterwards.
/// `deletes_expired_items` cannot be measured quickly (AWS's TTL sweep takes up to days), so the caller says.
pub async fn measure_capabilities(
    client: &Client,
    deletes_expired_items: bool,
) -> Result<Capabilities, BackendError> {
    let spec = TableSpec::named(scratch_table_name());
    create_session_table(client, &spec).await?;
    let measured = async {
        wait_until_active(client, &spec.name, Duration::from_secs(120)).await?;
        let ttl_api = probe_ttl_api(client, &spec).await?;
        let binary_via_attribute_updates =
            probe_binary_via_attribute_updates(client, &spec).await?;
        let validates_keys = probe_validates_keys(client, &spec).await?;
        let scan_filter_skips_mismatched_types =
            probe_scan_filter_mismatched_types(client, &spec).await?;
        Ok(Capabilities {
            ttl_api,
            binary_via_attribute_updates,
            deletes_expired_items,
            validates_keys,
            scan_filter_skips_mismatched_types,
        })
    }
    .await;
    delete_table_quietly(client, &spec.name).await;
    measured
}

/// A name no other probe (in this or another process) uses at the same time.
fn scratch_table_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    format!(
        "dynamo_harness_probe_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

async fn probe_ttl_api(client: &Client, spec: &TableSpec) -> Result<bool, BackendError> {
    let specification = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(&spec.ttl_attribute)
        .build()
        .expect("enabled and attribute_name are set");
    match client
        .update_time_to_live()
        .table_name(&spec.name)
        .time_to_live_specification(specification)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .code()
                .is_some_and(|code| code.contains("UnknownOperation")) =>
        {
            Ok(false)
        }
        Err(err) => Err(BackendError::dynamo(
            "UpdateTimeToLive (capability probe)",
            err,
        )),
    }
}

/// Writes every byte value 0..=255 as a B attribute through `AttributeUpdates` with no `Action` (the shape the
/// AWS SDK for PHP's session handler sends) and checks that GetItem returns the same bytes.
async fn probe_binary_via_attribute_updates(
    client: &Client,
    spec: &TableSpec,
) -> Result<bool, BackendError> {
    let written: Vec<u8> = (0..=255).collect();
    client
        .update_item()
        .table_name(&spec.name)
        .key(&spec.hash_key, AttributeValue::S("binary-probe".into()))
        .attribute_updates(
            "data",
            AttributeValueUpdate::builder()
                .value(AttributeValue::B(Blob::new(written.clone())))
                .build(),
        )
        .send()
        .await
        .map_err(|err| BackendError::dynamo("UpdateItem (capability probe)", err))?;
    let item = client
        .get_item()
        .table_name(&spec.name)
        .key(&spec.hash_key, AttributeValue::S("binary-probe".into()))
        .consistent_read(true)
        .send()
        .await
        .map_err(|err| BackendError::dynamo("GetItem (capability probe)", err))?;
    let read_back = item.item().and_then(|item| item.get("data"));
    Ok(matches!(read_back, Some(AttributeValue::B(blob)) if blob.as_ref() == written.as_slice()))
}

/// GetItem with an empty key and with a 2049-byte key: DynamoDB refuses both with ValidationException.
async fn probe_validates_keys(client: &Client, spec: &TableSpec) -> Result<bool, BackendError> {
    for key in [String::new(), "k".repeat(2049)] {
        let refused = match client
            .get_item()
            .table_name(&spec.name)
            .key(&spec.hash_key, AttributeValue::S(key))
            .send()
            .await
        {
            Ok(_) => false,
            Err(err) if err.code() == Some("ValidationException") => true,
            Err(err) => return Err(BackendError::dynamo("GetItem (capability probe)", err)),
        };
        if !refused {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The garbage collector's filter (`expires LT <number>`) over an item whose `expires` is a String.
async fn probe_scan_filter_mismatched_types(
    client: &Client,
    spec: &TableSpec,
) -> Result<bool, BackendError> {
    client
        .put_item()
        .table_name(&spec.name)
        .item(
            &spec.hash_key,
            AttributeValue::S("mixed-types-probe".into()),
        )
        .item(&spec.ttl_attribute, AttributeValue::S("5".into()))
        .send()
        .await
        .map_err(|err| BackendError::dynamo("PutItem (capability probe)", err))?;
    let filter = aws_sdk_dynamodb::types::Condition::builder()
        .comparison_operator(aws_sdk_dynamodb::types::ComparisonOperator::Lt)
        .attribute_value_list(AttributeValue::N("10".into()))
        .build()
        .expect("the comparison operator is set");
    Ok(client
        .scan()
        .table_name(&spec.name)
        .scan_filter(&spec.ttl_attribute, filter)
        .send()
        .await
        .is_ok())
}
