//! `StandardSessionConnection`: GetItem, the session UpdateItem, DeleteItem (spec §1.5, §1.6).

use std::collections::HashMap;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeAction, AttributeValue, AttributeValueUpdate};

use super::{Connection, Item, LOCK_ATTRIBUTE};
use crate::config::DataAttributeType;
use crate::error::{Operation, SessionError};

/// `GET(k)`: TableName, Key, ConsistentRead — nothing else.
pub(super) async fn read(conn: &Connection, key: &str) -> Result<Item, SessionError> {
    conn.validate(Operation::GetItem)?;
    let (hash, value) = conn.key_attribute(key);
    let request = conn
        .client
        .inner()
        .get_item()
        .table_name(conn.config.table_name())
        .key(hash, value)
        .consistent_read(conn.config.consistent_read());
    let out = conn
        .client
        .send(Operation::GetItem, Some(key), || request.clone().send())
        .await?;
    Ok(out.item.unwrap_or_default())
}

/// `TOUCH` / `PUTD` / `DELD`: AttributeUpdates only, no condition, no ReturnValues.
///
/// PUT entries carry only `Value` (no `Action`), as PHP sends them; DynamoDB's default action is PUT.
pub(super) async fn write(
    conn: &Connection,
    key: &str,
    data: &[u8],
    changed: bool,
) -> Result<(), SessionError> {
    conn.validate(Operation::UpdateItem)?;
    let config = &conn.config;
    // `time()` is read when the request is built; retries resend the same body.
    let expires = conn
        .clock
        .now_unix()
        .saturating_add(config.session_lifetime());
    let mut updates: HashMap<String, AttributeValueUpdate> = HashMap::new();
    updates.insert(
        config.session_lifetime_attribute().to_owned(),
        AttributeValueUpdate::builder()
            .value(AttributeValue::N(expires.to_string()))
            .build(),
    );
    updates.insert(
        LOCK_ATTRIBUTE.to_owned(),
        AttributeValueUpdate::builder()
            .action(AttributeAction::Delete)
            .build(),
    );
    if changed {
        let update = if data.is_empty() {
            AttributeValueUpdate::builder()
                .action(AttributeAction::Delete)
                .build()
        } else {
            let value = match config.data_attribute_type() {
                DataAttributeType::Binary => AttributeValue::B(Blob::new(data.to_vec())),
                DataAttributeType::String => match std::str::from_utf8(data) {
                    Ok(s) => AttributeValue::S(s.to_owned()),
                    // PHP's JSON encoder fails here and sends an empty body (C66). We refuse before
                    // sending: see SessionError::NonUtf8Data.
                    Err(_) => {
                        return Err(SessionError::NonUtf8Data {
                            key: key.to_owned(),
                        });
                    }
                },
            };
            AttributeValueUpdate::builder().value(value).build()
        };
        // Inserted last: when data_attribute equals the lifetime attribute or `lock`, PHP's array
        // assignment also lets the data entry win.
        updates.insert(config.data_attribute().to_owned(), update);
    }
    let (hash, value) = conn.key_attribute(key);
    let request = conn
        .client
        .inner()
        .update_item()
        .table_name(config.table_name())
        .key(hash, value)
        .set_attribute_updates(Some(updates));
    conn.client
        .send(Operation::UpdateItem, Some(key), || request.clone().send())
        .await?;
    Ok(())
}

/// `DEL(k)`: TableName and Key only.
pub(super) async fn delete(conn: &Connection, key: &str) -> Result<(), SessionError> {
    conn.validate(Operation::DeleteItem)?;
    let (hash, value) = conn.key_attribute(key);
    let request = conn
        .client
        .inner()
        .delete_item()
        .table_name(conn.config.table_name())
        .key(hash, value);
    conn.client
        .send(Operation::DeleteItem, Some(key), || request.clone().send())
        .await?;
    Ok(())
}
