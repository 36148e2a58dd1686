//! DynamoDB-compatible servers as values with a lifecycle.
