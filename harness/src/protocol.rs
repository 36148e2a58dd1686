//! The handler-operations protocol (docs/handler-protocol.md, version [`PROTOCOL_VERSION`]): the messages every
//! handler-level subject answers, in process (`rust`) or as JSON lines over a worker's stdin/stdout (`php`,
//! `cmd:NAME=COMMAND`, `dynamo-harness worker`).
//!
//! The messages, the handshake and the `{"b64": ...}` encoding are defined once, by `dynamo-session-protocol`,
//! whose `CompatSession` also answers them in process; the PHP worker reads and writes the same JSON. The
//! harness names them here.

pub use dynamo_session_protocol::{
    ClientSpec, ClockSpec, HELLO_REQUEST, HandlerRequest, HandlerResponse, Hello, HelloCan,
    PROTOCOL_VERSION, PhpException as ExceptionInfo, bytes_value, is_hello, value_bytes,
};
