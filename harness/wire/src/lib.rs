//! DynamoDB wire traces: records, normalisation, and the recording proxy.
