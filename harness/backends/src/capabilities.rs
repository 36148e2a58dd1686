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

/// One thing a backend can or cannot do, by the name scenario files use in `requires:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    TtlApi,
    AttributeUpdatesValueIsPut,
    BinaryViaAttributeUpdates,
    DeletesExpiredItems,
    TtlSweepOnDemand,
    TtlSweepAsAws,
    ValidatesKeys,
    ScanFilterSkipsMismatchedTypes,
}

impl Capability {
    /// Every capability, in the order reports list them.
    pub const ALL: [Capability; 8] = [
        Self::TtlApi,
        Self::AttributeUpdatesValueIsPut,
        Self::BinaryViaAttributeUpdates,
        Self::DeletesExpiredItems,
        Self::TtlSweepOnDemand,
        Self::TtlSweepAsAws,
        Self::ValidatesKeys,
        Self::ScanFilterSkipsMismatchedTypes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TtlApi => "ttl_api",
            Self::AttributeUpdatesValueIsPut => "attribute_updates_value_is_put",
            Self::BinaryViaAttributeUpdates => "binary_via_attribute_updates",
            Self::DeletesExpiredItems => "deletes_expired_items",
            Self::TtlSweepOnDemand => "ttl_sweep_on_demand",
            Self::TtlSweepAsAws => "ttl_sweep_as_aws",
            Self::ValidatesKeys => "validates_keys",
            Self::ScanFilterSkipsMismatchedTypes => "scan_filter_skips_mismatched_types",
        }
    }

    /// What it means for a backend to lack it.
    pub fn absence(self) -> &'static str {
        match self {
            Self::TtlApi => "UpdateTimeToLive is an unknown operation here",
            Self::AttributeUpdatesValueIsPut => {
                "an AttributeUpdates entry with a Value and no Action is not stored, so every session the SDK \
                 writes is lost"
            }
            Self::BinaryViaAttributeUpdates => {
                "B values written through AttributeUpdates do not read back byte-exact"
            }
            Self::DeletesExpiredItems => "no TTL process of its own runs by itself",
            Self::TtlSweepOnDemand => {
                "no TTL process to run on demand; ttl_sweep steps play DynamoDB's rules in the harness"
            }
            Self::TtlSweepAsAws => "its TTL process does not apply DynamoDB's rules",
            Self::ValidatesKeys => {
                "empty keys and keys over 2048 bytes are stored instead of refused"
            }
            Self::ScanFilterSkipsMismatchedTypes => {
                "a ScanFilter on a String attribute compared with a Number fails the Scan"
            }
        }
    }

    /// The allowed names, for error messages.
    pub fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Capability {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|capability| capability.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "`{text}` names no backend capability; they are: {}",
                    Self::names()
                )
            })
    }
}

/// Scenario files name capabilities by their string; an unknown one fails to load, listing the allowed ones.
impl<'de> serde::Deserialize<'de> for Capability {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Which of DynamoDB's TTL rules a backend's own TTL process applies (measured by sweeping seeded items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlRules {
    /// Only Number values count: an item whose `expires` is a String stays.
    pub numbers_only: bool,
    /// An expiry more than five years in the past is ignored: the item stays.
    pub skips_ancient: bool,
    /// A locked session is deleted like any other (the lock attribute means nothing to TTL).
    pub ignores_lock: bool,
}

impl TtlRules {
    /// DynamoDB's own rules, which the harness applies where a backend has no TTL process to run.
    pub const AWS: TtlRules = TtlRules {
        numbers_only: true,
        skips_ancient: true,
        ignores_lock: true,
    };

    /// The rules this process breaks, in words.
    pub fn differences(&self) -> Vec<&'static str> {
        let mut broken = Vec::new();
        if !self.numbers_only {
            broken.push("deletes items whose expiry is a String");
        }
        if !self.skips_ancient {
            broken.push("deletes items whose expiry lies more than five years in the past");
        }
        if !self.ignores_lock {
            broken.push("keeps locked items past their expiry");
        }
        broken
    }
}

/// What a backend supports, as far as the session handlers care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// UpdateTimeToLive/DescribeTimeToLive work (dynalite answers UnknownOperationException).
    pub ttl_api: bool,
    /// An `AttributeUpdates` entry with a `Value` and no `Action` is a PUT, as the SDK relies on for
    /// `expires` and `data`.
    pub attribute_updates_value_is_put: bool,
    /// B values written through legacy `AttributeUpdates` (`{"Value": {"B": ..}}`, no `Action`) read back
    /// byte-exact (moto corrupts them).
    pub binary_via_attribute_updates: bool,
    /// A TTL process deletes expired items by itself (false for every local backend).
    pub deletes_expired_items: bool,
    /// The backend's own TTL deletion can be run on demand at a given time (dynoxide); elsewhere the
    /// harness plays DynamoDB's rules for `ttl_sweep` steps.
    pub ttl_sweep_on_demand: bool,
    /// The rules of the TTL process `ttl_sweep` steps run (the harness's are DynamoDB's).
    pub ttl_rules: TtlRules,
    /// Keys DynamoDB refuses (empty, or over 2048 bytes) are refused with ValidationException (moto stores
    /// them).
    pub validates_keys: bool,
    /// A ScanFilter comparing a Number with an item whose attribute is a String skips that item, as DynamoDB
    /// does (moto answers HTTP 500).
    pub scan_filter_skips_mismatched_types: bool,
}

impl Capabilities {
    /// What real DynamoDB documents (not measured there: a scratch table needs permissions the plugin's IAM
    /// policy rightly does not grant).
    pub const AWS: Capabilities = Capabilities {
        ttl_api: true,
        attribute_updates_value_is_put: true,
        binary_via_attribute_updates: true,
        deletes_expired_items: true,
        ttl_sweep_on_demand: false,
        ttl_rules: TtlRules::AWS,
        validates_keys: true,
        scan_filter_skips_mismatched_types: true,
    };

    /// Whether the backend has `capability`.
    pub fn has(&self, capability: Capability) -> bool {
        match capability {
            Capability::TtlApi => self.ttl_api,
            Capability::AttributeUpdatesValueIsPut => self.attribute_updates_value_is_put,
            Capability::BinaryViaAttributeUpdates => self.binary_via_attribute_updates,
            Capability::DeletesExpiredItems => self.deletes_expired_items,
            Capability::TtlSweepOnDemand => self.ttl_sweep_on_demand,
            Capability::TtlSweepAsAws => self.ttl_rules == TtlRules::AWS,
            Capability::ValidatesKeys => self.validates_keys,
            Capability::ScanFilterSkipsMismatchedTypes => self.scan_filter_skips_mismatched_types,
        }
    }

    /// The capabilities it lacks, in [`Capability::ALL`] order.
    pub fn missing(&self) -> Vec<Capability> {
        Capability::ALL
            .into_iter()
            .filter(|capability| !self.has(*capability))
            .collect()
    }

    /// One line per capability, for terminal output.
    pub fn describe(&self) -> Vec<String> {
        Capability::ALL
            .iter()
            .map(|capability| match self.has(*capability) {
                true => format!("{capability}: yes"),
                false if *capability == Capability::TtlSweepAsAws => format!(
                    "{capability}: no (its TTL process {})",
                    self.ttl_rules.differences().join("; ")
                ),
                false => format!("{capability}: no ({})", capability.absence()),
            })
            .collect()
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = Capability::ALL
            .iter()
            .map(|capability| format!("{capability}={}", self.has(*capability)))
            .collect();
        f.write_str(&parts.join(" "))
    }
}

/// A backend's own TTL deletion, run on demand as if the time were `now` (Unix seconds).
#[async_trait::async_trait]
pub trait TtlSweeper: Send + Sync {
    /// Deletes what the backend's TTL process deletes at `now`; returns how many items went.
    async fn sweep_at(&self, now: i64) -> Result<usize, BackendError>;
}

/// Measures every capability but `deletes_expired_items` on a scratch table that is deleted afterwards.
/// `deletes_expired_items` cannot be measured quickly (AWS's TTL sweep takes up to days), so the caller says;
/// `sweeper` is the backend's own TTL deletion where it can be run on demand, whose rules are measured too.
pub async fn measure_capabilities(
    client: &Client,
    deletes_expired_items: bool,
    sweeper: Option<&dyn TtlSweeper>,
) -> Result<Capabilities, BackendError> {
    let spec = TableSpec::named(scratch_table_name());
    create_session_table(client, &spec).await?;
    let measured = async {
        wait_until_active(client, &spec.name, Duration::from_secs(120)).await?;
        let ttl_api = probe_ttl_api(client, &spec).await?;
        let attribute_updates_value_is_put =
            probe_attribute_updates_value_is_put(client, &spec).await?;
        let binary_via_attribute_updates =
            probe_binary_via_attribute_updates(client, &spec).await?;
        let validates_keys = probe_validates_keys(client, &spec).await?;
        let scan_filter_skips_mismatched_types =
            probe_scan_filter_mismatched_types(client, &spec).await?;
        let ttl_rules = match sweeper {
            Some(sweeper) if ttl_api => probe_ttl_rules(client, &spec, sweeper).await?,
            _ => TtlRules::AWS,
        };
        Ok(Capabilities {
            ttl_api,
            attribute_updates_value_is_put,
            binary_via_attribute_updates,
            deletes_expired_items,
            ttl_sweep_on_demand: sweeper.is_some() && ttl_api,
            ttl_rules,
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

/// `expires` and `data` written the SDK's way (`AttributeUpdates` entries with a `Value` and no `Action`) must
/// both read back: DynamoDB takes a missing `Action` as PUT.
async fn probe_attribute_updates_value_is_put(
    client: &Client,
    spec: &TableSpec,
) -> Result<bool, BackendError> {
    let key = AttributeValue::S("put-probe".into());
    client
        .update_item()
        .table_name(&spec.name)
        .key(&spec.hash_key, key.clone())
        .attribute_updates(
            &spec.ttl_attribute,
            AttributeValueUpdate::builder()
                .value(AttributeValue::N("1234".into()))
                .build(),
        )
        .attribute_updates(
            "data",
            AttributeValueUpdate::builder()
                .value(AttributeValue::S("probe".into()))
                .build(),
        )
        .send()
        .await
        .map_err(|err| BackendError::dynamo("UpdateItem (capability probe)", err))?;
    let item = get_probe_item(client, spec, key).await?;
    Ok(
        item.get(&spec.ttl_attribute) == Some(&AttributeValue::N("1234".into()))
            && item.get("data") == Some(&AttributeValue::S("probe".into())),
    )
}

async fn get_probe_item(
    client: &Client,
    spec: &TableSpec,
    key: AttributeValue,
) -> Result<std::collections::HashMap<String, AttributeValue>, BackendError> {
    Ok(client
        .get_item()
        .table_name(&spec.name)
        .key(&spec.hash_key, key)
        .consistent_read(true)
        .send()
        .await
        .map_err(|err| BackendError::dynamo("GetItem (capability probe)", err))?
        .item
        .unwrap_or_default())
}

/// DynamoDB's TTL rules (spec §6 C76): an expired Number goes, locked or not; a String and an expiry more
/// than five years old stay. Seeds one item of each kind, runs the backend's sweep and sees what is left.
async fn probe_ttl_rules(
    client: &Client,
    spec: &TableSpec,
    sweeper: &dyn TtlSweeper,
) -> Result<TtlRules, BackendError> {
    const FIVE_YEARS: i64 = 5 * 365 * 24 * 3600;
    let now = 1_800_000_000;
    let seeds = [
        (
            "ttl-number",
            AttributeValue::N((now - 100).to_string()),
            false,
        ),
        (
            "ttl-string",
            AttributeValue::S((now - 100).to_string()),
            false,
        ),
        (
            "ttl-ancient",
            AttributeValue::N((now - FIVE_YEARS - 86_400).to_string()),
            false,
        ),
        (
            "ttl-locked",
            AttributeValue::N((now - 100).to_string()),
            true,
        ),
    ];
    for (id, expires, locked) in &seeds {
        let mut put = client
            .put_item()
            .table_name(&spec.name)
            .item(&spec.hash_key, AttributeValue::S((*id).into()))
            .item(&spec.ttl_attribute, expires.clone());
        if *locked {
            put = put.item("lock", AttributeValue::N("1".into()));
        }
        put.send()
            .await
            .map_err(|err| BackendError::dynamo("PutItem (capability probe)", err))?;
    }
    sweeper.sweep_at(now).await?;
    let mut left = std::collections::HashSet::new();
    for (id, _, _) in &seeds {
        if !get_probe_item(client, spec, AttributeValue::S((*id).into()))
            .await?
            .is_empty()
        {
            left.insert(*id);
        }
    }
    Ok(TtlRules {
        numbers_only: left.contains("ttl-string") && !left.contains("ttl-number"),
        skips_ancient: left.contains("ttl-ancient"),
        ignores_lock: !left.contains("ttl-locked"),
    })
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
