//! DynamoDB wire traces: the record format of `fixtures/sdk-traces`, its normalisation, the expectations they are
//! matched against, and the recording, fault-injecting proxy that every subject of the harness talks through.
//!
//! * [`record`]: [`WireRecord`] and JSONL I/O, byte-compatible with the fixtures;
//! * [`mod@normalise`]: the fixtures' replacement rules (session ids, `<NOW+d>` times, relative timing);
//! * [`expect`]: the one expectation engine: placeholders, call sequences, recorded traces as expectations;
//! * [`fault`]: fault rules as scenario data (throttling, errors, 5xx, latency, reset, CRC32, batches);
//! * [`proxy`]: [`WireProxy`], which records calls and applies the fault rules;
//! * [`front`]: [`FrontProxy`], an HTTP front for a web app that reports each request's span, so calls can be
//!   tied to the requests that made them.

pub mod error;
pub mod expect;
pub mod fault;
pub mod front;
pub mod normalise;
pub mod proxy;
pub mod record;
mod serve;

pub use error::WireError;
pub use fault::{FaultAction, FaultMatch, FaultRule, FaultRuleError};
pub use front::{ExchangeEnd, ExchangeStart, FrontObserver, FrontProxy};
pub use normalise::{NormaliseError, NormaliseOptions, format_now, normalise, now_offset};
pub use proxy::{RecordSink, WireProxy};
pub use record::{
    BodyNote, WireRecord, format_trace, parse_trace, read_trace, to_python_json, write_trace,
};
