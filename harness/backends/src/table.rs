//! The session table, provisioned like the plugin's CloudFormation template
//! (`fixtures/cloudformation/dynamo-session-table.yaml`): `id` S HASH, PAY_PER_REQUEST, TTL on `expires`.

use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};

use crate::{BackendError, Capabilities};

/// The environment variable the plugin reads the table name from.
pub const TABLE_NAME_ENV: &str = "COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE";

/// Which table to provision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    pub name: String,
    pub hash_key: String,
    pub ttl_attribute: String,
}

impl TableSpec {
    /// The plugin's default table name.
    pub const DEFAULT_NAME: &'static str = "dynamo_cakephp_sessions";

    /// The default key and TTL attribute with another table name.
    pub fn named(name: impl Into<String>) -> Self {
        TableSpec {
            name: name.into(),
            ..Self::default()
        }
    }

    /// The default spec, with the name from `COMANAGE_REGISTRY_DYNAMODB_PHPSESSIONS_TABLE` when that is set.
    pub fn from_env() -> Self {
        match std::env::var(TABLE_NAME_ENV) {
            Ok(name) if !name.trim().is_empty() => Self::named(name.trim()),
            _ => Self::default(),
        }
    }
}

impl Default for TableSpec {
    fn default() -> Self {
        TableSpec {
            name: Self::DEFAULT_NAME.into(),
            hash_key: "id".into(),
            ttl_attribute: "expires".into(),
        }
    }
}

/// What happened to TTL on the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtlStatus {
    /// UpdateTimeToLive enabled it now.
    Enabled { attribute: String },
    /// It was already enabled on that attribute.
    AlreadyEnabled { attribute: String },
    /// The backend has no TTL API: recorded, not an error.
    Unsupported { reason: String },
}

/// The outcome of [`provision_table`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub table_name: String,
    /// False when the table already existed (with the right key) and was reused.
    pub created: bool,
    pub table_arn: Option<String>,
    pub ttl: TtlStatus,
}

impl fmt::Display for TableReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({})",
            self.table_name,
            if self.created {
                "created"
            } else {
                "already existed"
            }
        )?;
        match &self.ttl {
            TtlStatus::Enabled { attribute } => write!(f, "; TTL enabled on `{attribute}`"),
            TtlStatus::AlreadyEnabled { attribute } => {
                write!(f, "; TTL already enabled on `{attribute}`")
            }
            TtlStatus::Unsupported { reason } => write!(f, "; TTL not enabled: {reason}"),
        }
    }
}

/// Creates the session table (or reuses an existing one with the same hash key), waits until it is ACTIVE
/// and enables TTL where the backend has the API.
pub async fn provision_table(
    client: &Client,
    caps: &Capabilities,
    spec: &TableSpec,
) -> Result<TableReport, BackendError> {
    let created = create_session_table(client, spec).await?;
    let description = wait_until_active(client, &spec.name, Duration::from_secs(300)).await?;
    let hash_key = description
        .key_schema()
        .iter()
        .find(|element| element.key_type() == &KeyType::Hash)
        .map(|element| element.attribute_name().to_string());
    if hash_key.as_deref() != Some(spec.hash_key.as_str()) {
        return Err(BackendError::InvalidOptions(format!(
            "table {} exists with hash key {:?}, not `{}`; use another --table name",
            spec.name, hash_key, spec.hash_key
        )));
    }
    let ttl = if caps.ttl_api {
        enable_ttl(client, spec).await?
    } else {
        TtlStatus::Unsupported {
            reason: "this backend has no UpdateTimeToLive API (measured at start); nothing expires items here"
                .into(),
        }
    };
    Ok(TableReport {
        table_name: spec.name.clone(),
        created,
        table_arn: description.table_arn().map(str::to_string),
        ttl,
    })
}

/// CreateTable with the template's shape; `Ok(false)` if the table already exists.
pub(crate) async fn create_session_table(
    client: &Client,
    spec: &TableSpec,
) -> Result<bool, BackendError> {
    let request = client
        .create_table()
        .table_name(&spec.name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&spec.hash_key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("name and type are set"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(&spec.hash_key)
                .key_type(KeyType::Hash)
                .build()
                .expect("name and key type are set"),
        )
        .billing_mode(BillingMode::PayPerRequest);
    match request.send().await {
        Ok(_) => Ok(true),
        Err(err) if err.code() == Some("ResourceInUseException") => Ok(false),
        Err(err) => Err(BackendError::dynamo("CreateTable", err)),
    }
}

/// Polls DescribeTable until the table is ACTIVE (instant locally, seconds on AWS).
pub(crate) async fn wait_until_active(
    client: &Client,
    table: &str,
    within: Duration,
) -> Result<aws_sdk_dynamodb::types::TableDescription, BackendError> {
    let deadline = Instant::now() + within;
    loop {
        let output = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|err| BackendError::dynamo("DescribeTable", err))?;
        let description = output.table.ok_or_else(|| BackendError::Dynamo {
            operation: "DescribeTable",
            message: format!("no table description for {table}"),
        })?;
        if description.table_status() == Some(&TableStatus::Active) {
            return Ok(description);
        }
        if Instant::now() >= deadline {
            return Err(BackendError::Dynamo {
                operation: "DescribeTable",
                message: format!(
                    "table {table} is still {:?} after {}s",
                    description.table_status(),
                    within.as_secs()
                ),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub(crate) async fn delete_table_quietly(client: &Client, table: &str) {
    if let Err(err) = client.delete_table().table_name(table).send().await {
        tracing::warn!(table, error = %aws_sdk_dynamodb::error::DisplayErrorContext(&err), "could not delete scratch table");
    }
}

async fn enable_ttl(client: &Client, spec: &TableSpec) -> Result<TtlStatus, BackendError> {
    let current = client
        .describe_time_to_live()
        .table_name(&spec.name)
        .send()
        .await
        .map_err(|err| BackendError::dynamo("DescribeTimeToLive", err))?;
    if let Some(description) = current.time_to_live_description() {
        let on = matches!(
            description.time_to_live_status(),
            Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
        );
        if on && description.attribute_name() == Some(spec.ttl_attribute.as_str()) {
            return Ok(TtlStatus::AlreadyEnabled {
                attribute: spec.ttl_attribute.clone(),
            });
        }
    }
    client
        .update_time_to_live()
        .table_name(&spec.name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(&spec.ttl_attribute)
                .build()
                .expect("enabled and attribute_name are set"),
        )
        .send()
        .await
        .map_err(|err| BackendError::dynamo("UpdateTimeToLive", err))?;
    Ok(TtlStatus::Enabled {
        attribute: spec.ttl_attribute.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::TableSpec;

    /// The defaults here and the CloudFormation template operators deploy must describe the same table.
    #[test]
    fn default_spec_matches_the_cloudformation_template() {
        let template = include_str!("../../../fixtures/cloudformation/dynamo-session-table.yaml");
        let spec = TableSpec::default();
        assert!(template.contains(&format!("Default: {}", spec.name)));
        assert!(template.contains(&format!(
            "- AttributeName: {}\n          AttributeType: S",
            spec.hash_key
        )));
        assert!(template.contains(&format!(
            "AttributeName: {}\n          KeyType: HASH",
            spec.hash_key
        )));
        assert!(template.contains(&format!(
            "TimeToLiveSpecification:\n        AttributeName: {}",
            spec.ttl_attribute
        )));
        assert!(template.contains("BillingMode: PAY_PER_REQUEST"));
    }
}
