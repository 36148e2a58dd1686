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
}

impl Capabilities {
    /// One line per capability, for terminal output.
    pub fn describe(&self) -> Vec<String> {
        let yes_no = |flag: bool| if flag { "yes" } else { "no" };
        vec![
            format!(
                "ttl_api: {}{}",
                yes_no(self.ttl_api),
                if self.ttl_api {
                    ""
                } else {
                    " (UpdateTimeToLive is an unknown operation here)"
                }
            ),
            format!(
                "binary_via_attribute_updates: {}{}",
                yes_no(self.binary_via_attribute_updates),
                if self.binary_via_attribute_updates {
                    ""
                } else {
                    " (B values written through AttributeUpdates do not read back byte-exact)"
                }
            ),
            format!(
                "deletes_expired_items: {}{}",
                yes_no(self.deletes_expired_items),
                if self.deletes_expired_items {
                    ""
                } else {
                    " (no TTL process; scenarios sweep expired items themselves)"
                }
            ),
        ]
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ttl_api={} binary_via_attribute_updates={} deletes_expired_items={}",
            self.ttl_api, self.binary_via_attribute_updates, self.deletes_expired_items
        )
    }
}

/// Measures `ttl_api` and `binary_via_attribute_updates` on a scratch table that is deleted afterwards.
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
        Ok(Capabilities {
            ttl_api,
            binary_via_attribute_updates,
            deletes_expired_items,
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
