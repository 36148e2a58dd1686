//! The handler-operations protocol, version [`PROTOCOL_VERSION`] (docs/handler-protocol.md, with its JSON Schema
//! docs/handler-protocol.schema.json): how a conformance harness drives a session handler one operation at a
//! time and sees what PHP code calling the SDK's `Aws\DynamoDb\SessionHandler` would see.
//!
//! * [`HandlerRequest`], [`HandlerResponse`], [`PhpException`], [`ClientSpec`], [`ClockSpec`]: the messages, one
//!   JSON object per line; bytes travel as `{"b64": ...}` ([`bytes_value`], [`value_bytes`]).
//! * [`Hello`]: the handshake a worker process answers before any other request.
//! * [`CompatSession`] and [`CompatHandler`]: the reference handler (`dynamo-session`) answering the protocol
//!   with the PHP SDK's observable outcomes.
//!
//! This lives apart from `dynamo-session` so that a service using the handler does not carry the harness's
//! protocol.

#![warn(missing_docs)]

mod compat;
mod hello;
mod messages;
#[cfg(test)]
mod schema;

pub use compat::{CompatHandler, CompatSession};
pub use hello::{HELLO_REQUEST, Hello, HelloCan, PROTOCOL_VERSION, is_hello};
pub use messages::{
    ClientSpec, ClockSpec, HandlerRequest, HandlerResponse, PhpException,
    UNSUPPORTED_CONFIGURATION, bytes_value, value_bytes,
};
